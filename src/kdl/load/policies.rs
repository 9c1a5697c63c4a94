//! Row-level security in a table block: the `row-level-security` flags and `policy` nodes.
//!
//! Only the declaration's meaning is checked here (duplicates, conflicting role lists); the
//! expressions are SQL that the scratch database judges, and role names are not looked up
//! (roles live outside any one database).

use super::{Checked, FileCtx, Key, Loader, Problem, ProblemKind};
use crate::model::{Policy, PolicyCommand, QualifiedName, RowSecurity, Table};

impl Loader {
    /// `row-level-security enabled=#true forced=#false`.
    pub(super) fn row_security(
        &mut self,
        f: &FileCtx,
        table: &QualifiedName,
        t: &mut Table,
        c: &Checked<'_>,
    ) {
        if !self.declare(
            Key::RowSecurity(table.schema.clone(), table.name.clone()),
            f,
            c.name_span(),
            format!("row-level security of table `{table}`"),
        ) {
            return;
        }
        t.row_security = RowSecurity {
            enabled: c.prop_bool("enabled").unwrap_or(true),
            forced: c.flag("forced"),
        };
    }

    /// `policy "name" as=... for=... to=... using=... with-check=...`, roles in `to=` or in a
    /// `to` child (not both).
    pub(super) fn policy(
        &mut self,
        f: &FileCtx,
        table: &QualifiedName,
        c: &Checked<'_>,
    ) -> Option<Policy> {
        let (name, span) = self.name_arg(f, c, 0)?;
        if !self.declare(
            Key::Policy(table.schema.clone(), table.name.clone(), name.clone()),
            f,
            span,
            format!("policy `{name}` on table `{table}`"),
        ) {
            return None;
        }
        let mut roles: Vec<String> = Vec::new();
        let mut listed = false;
        if let Some(role) = c.prop_str("to") {
            if self.valid_name(f, role, c.prop_span("to")) {
                roles.push(role.to_string());
            }
            listed = true;
        }
        for ch in self.children(f, c) {
            if ch.spec.name != "to" {
                continue;
            }
            if listed {
                self.push(
                    Problem::new(
                        ProblemKind::Conflict,
                        f,
                        ch.name_span(),
                        format!("policy `{name}` on table `{table}` lists its roles twice"),
                    )
                    .label("second list of roles")
                    .help("keep either `to=` or one `to` child with every role"),
                );
                continue;
            }
            listed = true;
            for (role, rspan) in ch.rest_strs(0) {
                if self.valid_name(f, role, rspan) {
                    roles.push(role.to_string());
                }
            }
        }
        if roles.is_empty() {
            roles.push(Policy::PUBLIC.to_string());
        }
        roles.sort();
        roles.dedup();
        let command = match c.prop_str("for") {
            Some("select") => PolicyCommand::Select,
            Some("insert") => PolicyCommand::Insert,
            Some("update") => PolicyCommand::Update,
            Some("delete") => PolicyCommand::Delete,
            _ => PolicyCommand::All,
        };
        Some(Policy {
            name,
            permissive: c.prop_str("as") != Some("restrictive"),
            command,
            roles,
            using: c.prop_string("using"),
            with_check: c.prop_string("with-check"),
            comment: c.prop_string("comment"),
            renamed_from: c.prop_string("renamed-from"),
        })
    }
}
