//! Plans for the rendering and `formwork show` tests: a realistic multi-step change and an
//! empty one, with a fixed formwork version so their ids (and the snapshots) stay put.
#![allow(dead_code)]

use formwork::catalog::fingerprint::Fingerprint;
use formwork::model::{ObjectKind, QualifiedName, Unmanaged};
use formwork::plan::{
    Assignment, Backfill, BatchKey, HazardKind, KeyColumn, LockMode, Phase, Plan, PlanBuilder,
    Step, TableEstimate, TargetIdentity,
};

pub fn fp(b: u8) -> Fingerprint {
    Fingerprint([b; 32])
}

pub fn users() -> QualifiedName {
    QualifiedName::new("public", "users")
}

pub fn events() -> QualifiedName {
    QualifiedName::new("public", "events")
}

/// A table whose name holds characters that mean something in Markdown and HTML.
pub fn odd() -> QualifiedName {
    QualifiedName::new("billing", "audit|log<v2>*`x`")
}

fn target() -> TargetIdentity {
    TargetIdentity {
        system_identifier: "7301234567890123456".into(),
        database: "app".into(),
    }
}

/// Make `users.email` required and indexed online, widen `events.id`, validate a check on an
/// oddly named table, then drop an old column: expand and contract steps, a concurrent index
/// build outside a transaction, scans, a rewrite, estimates and unmanaged objects.
pub fn sample_plan() -> Plan {
    PlanBuilder::new(target(), 15, fp(1), fp(8))
        .formwork_version("0.1.0")
        .estimates(vec![
            TableEstimate {
                table: users(),
                rows: 2_100_000,
                pages: 157_286,
            },
            TableEstimate {
                table: events(),
                rows: 850,
                pages: 12,
            },
            TableEstimate {
                table: odd(),
                rows: -1,
                pages: 0,
            },
        ])
        .unmanaged(vec![
            Unmanaged {
                kind: ObjectKind::Function,
                name: "public.audit_trigger()".into(),
            },
            Unmanaged {
                kind: ObjectKind::Trigger,
                name: "set_updated_at on public.events".into(),
            },
        ])
        .step(
            Step::new(
                "ALTER TABLE public.users ADD COLUMN email text",
                Phase::Expand,
                fp(2),
            )
            .description("add column public.users.email")
            .lock(LockMode::AccessExclusive, users())
            .lock_timeout_ms(2_000)
            .statement_timeout_ms(10_000),
        )
        .step(
            Step::backfill(
                Backfill {
                    table: users(),
                    key: BatchKey::Columns(vec![KeyColumn {
                        name: "id".into(),
                        data_type: "bigint".into(),
                    }]),
                    set: vec![Assignment {
                        column: "email".into(),
                        expression: "lower(login) || '@example.com'".into(),
                    }],
                    predicate: Some("\"email\" IS NULL".into()),
                },
                Phase::Expand,
                fp(2),
            )
            .description("fill public.users.email in existing rows, in batches")
            .lock(LockMode::RowExclusive, users())
            .lock_timeout_ms(2_000),
        )
        .step(
            Step::new(
                "ALTER TABLE public.users ADD CONSTRAINT users_email_not_null CHECK (email IS NOT NULL) NOT VALID",
                Phase::Expand,
                fp(3),
            )
            .description("add check users_email_not_null on public.users, not yet validated")
            .lock(LockMode::AccessExclusive, users()),
        )
        .step(
            Step::new(
                "ALTER TABLE public.users VALIDATE CONSTRAINT users_email_not_null",
                Phase::Expand,
                fp(4),
            )
            .description("validate check users_email_not_null on public.users")
            .lock(LockMode::ShareUpdateExclusive, users())
            .scans(users())
            .hazard(HazardKind::LongRunning, "reads every row of public.users"),
        )
        .step(
            Step::new(
                "CREATE INDEX CONCURRENTLY users_email_idx ON public.users USING btree (email)",
                Phase::Expand,
                fp(5),
            )
            .description("create index users_email_idx on public.users")
            .non_transactional()
            .lock(LockMode::ShareUpdateExclusive, users())
            .scans(users()),
        )
        .step(
            Step::new(
                "ALTER TABLE public.events ALTER COLUMN id TYPE bigint",
                Phase::Expand,
                fp(6),
            )
            .description("change type of public.events.id to bigint")
            .lock(LockMode::AccessExclusive, events())
            .rewrites(events())
            .statement_timeout_ms(600_000),
        )
        .step(
            Step::new(
                "ALTER TABLE billing.\"audit|log<v2>*`x`\"\n    VALIDATE CONSTRAINT \"amount_positive\" -- ``` not a fence",
                Phase::Expand,
                fp(7),
            )
            .description("validate check amount_positive on billing.audit|log<v2>*`x`")
            .lock(LockMode::ShareUpdateExclusive, odd())
            .scans(odd()),
        )
        .step(
            Step::new(
                "ALTER TABLE public.users DROP COLUMN legacy_email",
                Phase::Contract,
                fp(8),
            )
            .description("drop column public.users.legacy_email")
            .lock(LockMode::AccessExclusive, users())
            .hazard(HazardKind::DeletesData, "drops column public.users.legacy_email")
            .hazard(
                HazardKind::BreaksCompatibility,
                "the previous application version may still read legacy_email",
            ),
        )
        .build()
        .expect("the sample plan is valid")
}

/// A plan with nothing to do, against a database with one unmanaged object.
pub fn empty_plan() -> Plan {
    PlanBuilder::new(target(), 15, fp(1), fp(1))
        .formwork_version("0.1.0")
        .unmanaged(vec![Unmanaged {
            kind: ObjectKind::Function,
            name: "public.audit_trigger()".into(),
        }])
        .build()
        .expect("the empty plan is valid")
}

/// A plan far too long for one pull-request comment: `steps` index builds, and as many
/// unmanaged functions.
pub fn huge_plan(steps: u8, unmanaged: usize) -> Plan {
    let mut builder = PlanBuilder::new(target(), 15, fp(0), fp(steps))
        .formwork_version("0.1.0")
        .unmanaged(
            (0..unmanaged)
                .map(|i| Unmanaged {
                    kind: ObjectKind::Function,
                    name: format!("public.helper_{i:05}(integer, text, timestamp with time zone)"),
                })
                .collect(),
        );
    for n in 1..=steps {
        let table = QualifiedName::new("public", format!("table_{n:03}"));
        builder = builder.step(
            Step::new(
                format!(
                    "CREATE INDEX CONCURRENTLY table_{n:03}_created_at_idx ON public.table_{n:03} \
                     USING btree (created_at, tenant_id, id) WHERE deleted_at IS NULL"
                ),
                Phase::Expand,
                fp(n),
            )
            .description(format!(
                "create index table_{n:03}_created_at_idx on {table}"
            ))
            .non_transactional()
            .lock(LockMode::ShareUpdateExclusive, table.clone())
            .scans(table),
        );
    }
    builder.build().expect("the huge plan is valid")
}
