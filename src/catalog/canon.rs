//! The canonical byte encoding of a unit, which blake3 then hashes.
//!
//! Every model type writes its fields in a fixed order: strings and lists length-prefixed,
//! options and enums tagged, maps sorted by key (a map's order carries no meaning), and
//! `renamed_from` left out (declaration-only intent). Each `impl` destructures its type
//! completely, so adding a field to the model does not compile until the encoding says what
//! to do with it: a fingerprint cannot silently ignore a new attribute.
//!
//! Written by hand rather than through serde: hashing a 5,000-table model this way takes a few
//! milliseconds, against most of a second through a JSON value.

use indexmap::IndexMap;

use crate::model::*;

/// Something with a canonical encoding.
pub trait Canon {
    fn canon(&self, h: &mut Vec<u8>);
}

fn bytes(h: &mut Vec<u8>, b: &[u8]) {
    h.extend_from_slice(&(b.len() as u64).to_le_bytes());
    h.extend_from_slice(b);
}

fn tag(h: &mut Vec<u8>, t: u8) {
    h.extend_from_slice(&[t]);
}

impl Canon for str {
    fn canon(&self, h: &mut Vec<u8>) {
        bytes(h, self.as_bytes());
    }
}

impl Canon for String {
    fn canon(&self, h: &mut Vec<u8>) {
        self.as_str().canon(h);
    }
}

impl Canon for bool {
    fn canon(&self, h: &mut Vec<u8>) {
        tag(h, *self as u8);
    }
}

impl Canon for i64 {
    fn canon(&self, h: &mut Vec<u8>) {
        h.extend_from_slice(&self.to_le_bytes());
    }
}

impl<T: Canon> Canon for Option<T> {
    fn canon(&self, h: &mut Vec<u8>) {
        match self {
            None => tag(h, 0),
            Some(v) => {
                tag(h, 1);
                v.canon(h);
            }
        }
    }
}

impl<T: Canon> Canon for Vec<T> {
    fn canon(&self, h: &mut Vec<u8>) {
        h.extend_from_slice(&(self.len() as u64).to_le_bytes());
        for v in self {
            v.canon(h);
        }
    }
}

impl<T: Canon> Canon for IndexMap<String, T> {
    fn canon(&self, h: &mut Vec<u8>) {
        let mut keys: Vec<&String> = self.keys().collect();
        keys.sort();
        h.extend_from_slice(&(keys.len() as u64).to_le_bytes());
        for k in keys {
            k.canon(h);
            self[k].canon(h);
        }
    }
}

/// Enums without data: their variant's number, by an exhaustive match so that a new variant
/// must be given one.
macro_rules! unit_enum {
    ($($t:ty { $($v:path => $n:literal),+ $(,)? })+) => {$(
        impl Canon for $t {
            fn canon(&self, h: &mut Vec<u8>) {
                tag(h, match self { $($v => $n),+ });
            }
        }
    )+};
}

unit_enum! {
    RoutineKind { RoutineKind::Function => 0, RoutineKind::Procedure => 1 }
    ArgMode { ArgMode::In => 0, ArgMode::Out => 1, ArgMode::InOut => 2, ArgMode::Variadic => 3 }
    Volatility { Volatility::Immutable => 0, Volatility::Stable => 1, Volatility::Volatile => 2 }
    Parallel { Parallel::Unsafe => 0, Parallel::Restricted => 1, Parallel::Safe => 2 }
    TriggerTiming {
        TriggerTiming::Before => 0,
        TriggerTiming::After => 1,
        TriggerTiming::InsteadOf => 2,
    }
    TriggerEvent {
        TriggerEvent::Insert => 0,
        TriggerEvent::Update => 1,
        TriggerEvent::Delete => 2,
        TriggerEvent::Truncate => 3,
    }
    TriggerState {
        TriggerState::Enabled => 0,
        TriggerState::Disabled => 1,
        TriggerState::Replica => 2,
        TriggerState::Always => 3,
    }
    Persistence { Persistence::Permanent => 0, Persistence::Unlogged => 1 }
    IdentityKind { IdentityKind::Always => 0, IdentityKind::ByDefault => 1 }
    GeneratedKind { GeneratedKind::Stored => 0, GeneratedKind::Virtual => 1 }
    Deferrable {
        Deferrable::NotDeferrable => 0,
        Deferrable::InitiallyImmediate => 1,
        Deferrable::InitiallyDeferred => 2,
    }
    FkAction {
        FkAction::NoAction => 0,
        FkAction::Restrict => 1,
        FkAction::Cascade => 2,
        FkAction::SetNull => 3,
        FkAction::SetDefault => 4,
    }
    FkMatch { FkMatch::Simple => 0, FkMatch::Full => 1 }
}

impl Canon for Extension {
    fn canon(&self, h: &mut Vec<u8>) {
        let Extension {
            name,
            schema,
            version,
            comment,
        } = self;
        name.canon(h);
        schema.canon(h);
        version.canon(h);
        comment.canon(h);
    }
}

impl Canon for QualifiedName {
    fn canon(&self, h: &mut Vec<u8>) {
        let QualifiedName { schema, name } = self;
        schema.canon(h);
        name.canon(h);
    }
}

impl Canon for Enum {
    fn canon(&self, h: &mut Vec<u8>) {
        let Enum {
            name,
            values,
            comment,
            renamed_from: _,
        } = self;
        name.canon(h);
        h.extend_from_slice(&(values.len() as u64).to_le_bytes());
        for EnumValue {
            name,
            renamed_from: _,
        } in values
        {
            name.canon(h);
        }
        comment.canon(h);
    }
}

impl Canon for SequenceOptions {
    fn canon(&self, h: &mut Vec<u8>) {
        let SequenceOptions {
            data_type,
            start,
            increment,
            min_value,
            max_value,
            cache,
            cycle,
        } = self;
        data_type.canon(h);
        start.canon(h);
        increment.canon(h);
        min_value.canon(h);
        max_value.canon(h);
        cache.canon(h);
        cycle.canon(h);
    }
}

impl Canon for ColumnRef {
    fn canon(&self, h: &mut Vec<u8>) {
        let ColumnRef { table, column } = self;
        table.canon(h);
        column.canon(h);
    }
}

impl Canon for Sequence {
    fn canon(&self, h: &mut Vec<u8>) {
        let Sequence {
            name,
            options,
            owned_by,
            comment,
            renamed_from: _,
            grants,
        } = self;
        name.canon(h);
        options.canon(h);
        owned_by.canon(h);
        comment.canon(h);
        grants_canon(grants, h);
    }
}

impl Canon for Identity {
    fn canon(&self, h: &mut Vec<u8>) {
        let Identity { kind, options } = self;
        kind.canon(h);
        options.canon(h);
    }
}

impl Canon for Generated {
    fn canon(&self, h: &mut Vec<u8>) {
        let Generated { expression, kind } = self;
        expression.canon(h);
        kind.canon(h);
    }
}

impl Canon for Column {
    fn canon(&self, h: &mut Vec<u8>) {
        let Column {
            name,
            data_type,
            not_null,
            default,
            identity,
            generated,
            collation,
            comment,
            renamed_from: _,
            grants,
        } = self;
        name.canon(h);
        data_type.canon(h);
        not_null.canon(h);
        default.canon(h);
        identity.canon(h);
        generated.canon(h);
        collation.canon(h);
        comment.canon(h);
        grants_canon(grants, h);
    }
}

impl Canon for PrimaryKey {
    fn canon(&self, h: &mut Vec<u8>) {
        let PrimaryKey {
            name,
            columns,
            include,
            deferrable,
            comment,
            renamed_from: _,
        } = self;
        name.canon(h);
        columns.canon(h);
        include.canon(h);
        deferrable.canon(h);
        comment.canon(h);
    }
}

impl Canon for Unique {
    fn canon(&self, h: &mut Vec<u8>) {
        let Unique {
            name,
            columns,
            include,
            nulls_not_distinct,
            deferrable,
            comment,
            renamed_from: _,
        } = self;
        name.canon(h);
        columns.canon(h);
        include.canon(h);
        nulls_not_distinct.canon(h);
        deferrable.canon(h);
        comment.canon(h);
    }
}

impl Canon for ForeignKey {
    fn canon(&self, h: &mut Vec<u8>) {
        let ForeignKey {
            name,
            columns,
            references,
            referenced_columns,
            on_delete,
            on_update,
            match_type,
            deferrable,
            valid,
            comment,
            renamed_from: _,
        } = self;
        name.canon(h);
        columns.canon(h);
        references.canon(h);
        referenced_columns.canon(h);
        on_delete.canon(h);
        on_update.canon(h);
        match_type.canon(h);
        deferrable.canon(h);
        valid.canon(h);
        comment.canon(h);
    }
}

impl Canon for Check {
    fn canon(&self, h: &mut Vec<u8>) {
        let Check {
            name,
            expression,
            no_inherit,
            valid,
            comment,
            renamed_from: _,
        } = self;
        name.canon(h);
        expression.canon(h);
        no_inherit.canon(h);
        valid.canon(h);
        comment.canon(h);
    }
}

impl Canon for IndexKey {
    fn canon(&self, h: &mut Vec<u8>) {
        let IndexKey {
            target,
            collation,
            opclass,
            descending,
            nulls_first,
        } = self;
        match target {
            IndexKeyTarget::Column(c) => {
                tag(h, 0);
                c.canon(h);
            }
            IndexKeyTarget::Expression(e) => {
                tag(h, 1);
                e.canon(h);
            }
        }
        collation.canon(h);
        opclass.canon(h);
        descending.canon(h);
        match nulls_first {
            None => tag(h, 0),
            Some(false) => tag(h, 1),
            Some(true) => tag(h, 2),
        }
    }
}

impl Canon for ExclusionElement {
    fn canon(&self, h: &mut Vec<u8>) {
        let ExclusionElement { key, operator } = self;
        key.canon(h);
        operator.canon(h);
    }
}

impl Canon for Exclusion {
    fn canon(&self, h: &mut Vec<u8>) {
        let Exclusion {
            name,
            method,
            elements,
            include,
            predicate,
            deferrable,
            comment,
            renamed_from: _,
        } = self;
        name.canon(h);
        method.canon(h);
        elements.canon(h);
        include.canon(h);
        predicate.canon(h);
        deferrable.canon(h);
        comment.canon(h);
    }
}

impl Canon for Index {
    fn canon(&self, h: &mut Vec<u8>) {
        let Index {
            name,
            unique,
            method,
            keys,
            include,
            predicate,
            nulls_not_distinct,
            valid,
            comment,
            renamed_from: _,
        } = self;
        name.canon(h);
        unique.canon(h);
        method.canon(h);
        keys.canon(h);
        include.canon(h);
        predicate.canon(h);
        nulls_not_distinct.canon(h);
        valid.canon(h);
        comment.canon(h);
    }
}

impl Canon for Table {
    fn canon(&self, h: &mut Vec<u8>) {
        let Table {
            name,
            persistence,
            columns,
            primary_key,
            uniques,
            foreign_keys,
            checks,
            exclusions,
            indexes,
            comment,
            renamed_from: _,
            triggers,
            row_security,
            policies,
            grants,
            partition_by,
            partition_of,
        } = self;
        name.canon(h);
        persistence.canon(h);
        columns.canon(h);
        primary_key.canon(h);
        uniques.canon(h);
        foreign_keys.canon(h);
        checks.canon(h);
        exclusions.canon(h);
        indexes.canon(h);
        comment.canon(h);
        grants_canon(grants, h);
        // Only tables with triggers encode them, so the fingerprints of tables without any
        // stay what they were before triggers were managed.
        if !triggers.is_empty() {
            tag(h, 0x7);
            triggers.canon(h);
        }
        // Row-level security came later: encoded only when present, so that the fingerprint
        // of a table without it is what it always was. The trailing section cannot be
        // confused with anything else, since the fixed fields end before it.
        if !row_security.is_off() || !policies.is_empty() {
            "row-security".canon(h);
            row_security.enabled.canon(h);
            row_security.forced.canon(h);
            policies.canon(h);
        }
        // Appended only when present, so that the fingerprints of plain tables stay what
        // they were before partitioning was managed.
        if partition_by.is_some() || partition_of.is_some() {
            tag(h, 0x50);
            partition_by.canon(h);
            match partition_of {
                None => tag(h, 0),
                Some(p) => {
                    tag(h, 1);
                    p.parent.schema.canon(h);
                    p.parent.name.canon(h);
                    p.bound.canon(h);
                }
            }
        }
    }
}

impl Canon for Policy {
    fn canon(&self, h: &mut Vec<u8>) {
        let Policy {
            name,
            permissive,
            command,
            roles,
            using,
            with_check,
            comment,
            renamed_from: _,
        } = self;
        name.canon(h);
        permissive.canon(h);
        command.keyword().canon(h);
        roles.canon(h);
        using.canon(h);
        with_check.canon(h);
        comment.canon(h);
    }
}

impl Canon for View {
    fn canon(&self, h: &mut Vec<u8>) {
        let View {
            name,
            query,
            options,
            comment,
            renamed_from: _,
            triggers,
            grants,
        } = self;
        name.canon(h);
        query.canon(h);
        options.canon(h);
        comment.canon(h);
        grants_canon(grants, h);
        // As for tables: views without triggers keep the encoding they had.
        if !triggers.is_empty() {
            tag(h, 0x7);
            triggers.canon(h);
        }
    }
}

/// Grants as the set of (grantee, privilege, grant option) they give, so that two lists saying
/// the same in different groupings encode alike.
pub(crate) fn grants_canon(grants: &[Grant], h: &mut Vec<u8>) {
    let set = exploded(grants);
    h.extend_from_slice(&(set.len() as u64).to_le_bytes());
    for (grantee, privilege, option) in set {
        grantee.canon(h);
        privilege.canon(h);
        option.canon(h);
    }
}

/// Default privileges as the set of (for role, kind, grantee, privilege, grant option).
pub(crate) fn default_grants_canon(grants: &[DefaultGrant], h: &mut Vec<u8>) {
    let set = exploded_defaults(grants);
    h.extend_from_slice(&(set.len() as u64).to_le_bytes());
    for (role, on, grantee, privilege, option) in set {
        role.canon(h);
        on.canon(h);
        grantee.canon(h);
        privilege.canon(h);
        option.canon(h);
    }
}

impl Canon for Grantee {
    fn canon(&self, h: &mut Vec<u8>) {
        match self {
            Grantee::Public => tag(h, 0),
            Grantee::Role(r) => {
                tag(h, 1);
                r.canon(h);
            }
        }
    }
}

impl Canon for DomainCheck {
    fn canon(&self, h: &mut Vec<u8>) {
        let DomainCheck {
            name,
            expression,
            valid,
            renamed_from: _,
        } = self;
        name.canon(h);
        expression.canon(h);
        valid.canon(h);
    }
}

impl Canon for Domain {
    fn canon(&self, h: &mut Vec<u8>) {
        let Domain {
            name,
            base_type,
            collation,
            default,
            not_null,
            checks,
            comment,
            renamed_from: _,
        } = self;
        name.canon(h);
        base_type.canon(h);
        collation.canon(h);
        default.canon(h);
        not_null.canon(h);
        checks.canon(h);
        comment.canon(h);
    }
}

impl Canon for CompositeAttribute {
    fn canon(&self, h: &mut Vec<u8>) {
        let CompositeAttribute {
            name,
            data_type,
            collation,
            renamed_from: _,
        } = self;
        name.canon(h);
        data_type.canon(h);
        collation.canon(h);
    }
}

impl Canon for CompositeType {
    fn canon(&self, h: &mut Vec<u8>) {
        let CompositeType {
            name,
            attributes,
            comment,
            renamed_from: _,
        } = self;
        name.canon(h);
        attributes.canon(h);
        comment.canon(h);
    }
}

impl Canon for RangeType {
    fn canon(&self, h: &mut Vec<u8>) {
        let RangeType {
            name,
            subtype,
            subtype_opclass,
            collation,
            canonical,
            subtype_diff,
            multirange,
            comment,
            renamed_from: _,
        } = self;
        name.canon(h);
        subtype.canon(h);
        subtype_opclass.canon(h);
        collation.canon(h);
        canonical.canon(h);
        subtype_diff.canon(h);
        multirange.canon(h);
        comment.canon(h);
    }
}

impl Canon for MaterializedView {
    fn canon(&self, h: &mut Vec<u8>) {
        let MaterializedView {
            name,
            query,
            options,
            populated,
            indexes,
            comment,
            renamed_from: _,
        } = self;
        name.canon(h);
        query.canon(h);
        options.canon(h);
        populated.canon(h);
        indexes.canon(h);
        comment.canon(h);
    }
}

impl Canon for FunctionArg {
    fn canon(&self, h: &mut Vec<u8>) {
        let FunctionArg {
            name,
            mode,
            data_type,
            default,
        } = self;
        name.canon(h);
        mode.canon(h);
        data_type.canon(h);
        default.canon(h);
    }
}

impl Canon for Function {
    fn canon(&self, h: &mut Vec<u8>) {
        let Function {
            name,
            kind,
            arguments,
            returns,
            language,
            body,
            volatility,
            strict,
            security_definer,
            leakproof,
            parallel,
            cost,
            rows,
            config,
            comment,
            grants,
            renamed_from: _,
        } = self;
        name.canon(h);
        kind.canon(h);
        arguments.canon(h);
        returns.canon(h);
        language.canon(h);
        body.canon(h);
        volatility.canon(h);
        strict.canon(h);
        security_definer.canon(h);
        leakproof.canon(h);
        parallel.canon(h);
        cost.canon(h);
        rows.canon(h);
        config.canon(h);
        comment.canon(h);
        // Privileges came later: only routines whose access list is not PostgreSQL's default
        // encode it, so the fingerprints of the others stay what they were.
        if exploded(grants) != exploded(&Function::default_grants()) {
            tag(h, 0x61);
            grants_canon(grants, h);
        }
    }
}

impl Canon for Trigger {
    fn canon(&self, h: &mut Vec<u8>) {
        let Trigger {
            name,
            timing,
            events,
            update_of,
            for_each_row,
            when,
            function,
            arguments,
            state,
            constraint,
            deferrable,
            old_table,
            new_table,
            comment,
            renamed_from: _,
        } = self;
        name.canon(h);
        timing.canon(h);
        events.canon(h);
        update_of.canon(h);
        for_each_row.canon(h);
        when.canon(h);
        function.canon(h);
        arguments.canon(h);
        state.canon(h);
        constraint.canon(h);
        deferrable.canon(h);
        old_table.canon(h);
        new_table.canon(h);
        comment.canon(h);
    }
}
