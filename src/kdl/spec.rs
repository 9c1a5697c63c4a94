//! The shape of the language in one table: which node may appear where, its arguments, its
//! properties and their types.
//!
//! The loader checks every node against this table (unknown names with a did-you-mean, arity,
//! value types, duplicate properties) before it looks at meaning; `fmt` and the writer take the
//! canonical property order from it; `docs/kdl.md` embeds the reference generated from it (a
//! test keeps the two equal). Adding a construct is one entry here plus its meaning in `load`.
//!
//! This table does not say what a node means: cross-references, defaults and conflicts are
//! `load`'s business.

/// Where a node may appear: the block it is a child of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ctx {
    /// The top of a file.
    Root,
    Schema,
    Enum,
    Table,
    Column,
    /// `primary-key` and `unique` blocks (they take `include`).
    Key,
    Index,
    Exclude,
    View,
    /// `function` and `procedure` blocks.
    Function,
    Trigger,
    /// A row-level security `policy` block.
    Policy,
    MaterializedView,
    Domain,
    Composite,
    Sequence,
    /// Nodes that take no children block.
    Leaf,
}

impl Ctx {
    /// How a message names this block.
    pub fn describe(self) -> &'static str {
        match self {
            Ctx::Root => "at the top of a file",
            Ctx::Schema => "in a schema block",
            Ctx::Enum => "in an enum block",
            Ctx::Table => "in a table block",
            Ctx::Column => "in a column block",
            Ctx::Key => "in a primary-key or unique block",
            Ctx::Index => "in an index block",
            Ctx::Exclude => "in an exclude block",
            Ctx::View => "in a view block",
            Ctx::Function => "in a function or procedure block",
            Ctx::Trigger => "in a trigger block",
            Ctx::Policy => "in a policy block",
            Ctx::MaterializedView => "in a materialized-view block",
            Ctx::Domain => "in a domain block",
            Ctx::Composite => "in a composite block",
            Ctx::Sequence => "in a sequence block",
            Ctx::Leaf => "here",
        }
    }
}

/// The type a value must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    Str,
    /// A 64-bit signed integer.
    Int,
    Bool,
    /// A string from a fixed list.
    Choice(&'static [&'static str]),
}

impl Ty {
    pub fn describe(self) -> String {
        match self {
            Ty::Str => "a string".into(),
            Ty::Int => "an integer".into(),
            Ty::Bool => "#true or #false".into(),
            Ty::Choice(c) => format!(
                "one of {}",
                c.iter()
                    .map(|c| format!("\"{c}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Arg {
    pub name: &'static str,
    pub ty: Ty,
}

#[derive(Debug, Clone, Copy)]
pub struct Prop {
    pub name: &'static str,
    pub ty: Ty,
    pub required: bool,
    pub doc: &'static str,
}

#[derive(Debug, Clone, Copy)]
pub struct NodeSpec {
    /// The block this node appears in.
    pub parent: Ctx,
    pub name: &'static str,
    /// The block its children are checked against (`Leaf`: it takes none).
    pub ctx: Ctx,
    /// Positional arguments, in order.
    pub args: &'static [Arg],
    /// Any number of further arguments of this shape.
    pub rest: Option<Arg>,
    /// Fewest arguments accepted (counting `args` and `rest`).
    pub min_args: usize,
    /// Properties, in canonical order.
    pub props: &'static [Prop],
    pub summary: &'static str,
}

impl NodeSpec {
    pub fn max_args(&self) -> Option<usize> {
        if self.rest.is_some() {
            None
        } else {
            Some(self.args.len())
        }
    }

    pub fn prop(&self, name: &str) -> Option<&'static Prop> {
        self.props.iter().find(|p| p.name == name)
    }

    /// The argument spec at position `i`.
    pub fn arg(&self, i: usize) -> Option<Arg> {
        self.args.get(i).copied().or(self.rest)
    }

    /// `column <name> <type>` style signature for messages and docs.
    pub fn signature(&self) -> String {
        let mut s = self.name.to_string();
        for (i, a) in self.args.iter().enumerate() {
            if i < self.min_args {
                s.push_str(&format!(" <{}>", a.name));
            } else {
                s.push_str(&format!(" [<{}>]", a.name));
            }
        }
        if let Some(r) = self.rest {
            if self.min_args > self.args.len() {
                s.push_str(&format!(" <{}>...", r.name));
            } else {
                s.push_str(&format!(" [<{}>...]", r.name));
            }
        }
        s
    }
}

const fn s(name: &'static str) -> Arg {
    Arg { name, ty: Ty::Str }
}

const fn p(name: &'static str, ty: Ty, doc: &'static str) -> Prop {
    Prop {
        name,
        ty,
        required: false,
        doc,
    }
}

const fn req(name: &'static str, ty: Ty, doc: &'static str) -> Prop {
    Prop {
        name,
        ty,
        required: true,
        doc,
    }
}

const RENAMED: Prop = p(
    "renamed-from",
    Ty::Str,
    "previous name; the planner renames instead of dropping and creating",
);
pub const RENAME_CHOICES: &[&str] = &["expand-contract", "atomic"];
const RENAME: Prop = p(
    "rename",
    Ty::Choice(RENAME_CHOICES),
    "how a table or column with renamed-from is renamed: expand-contract (default; the old name keeps working until the contract phase) or atomic (one RENAME, for applications that tolerate it)",
);
const COMMENT: Prop = p("comment", Ty::Str, "COMMENT ON text");
pub const DEFERRABLE_CHOICES: &[&str] = &["not-deferrable", "immediate", "deferred"];
const DEFERRABLE: Prop = p(
    "deferrable",
    Ty::Choice(DEFERRABLE_CHOICES),
    "DEFERRABLE INITIALLY IMMEDIATE / DEFERRED (default not-deferrable)",
);
pub const FK_ACTIONS: &[&str] = &[
    "no-action",
    "restrict",
    "cascade",
    "set-null",
    "set-default",
];
pub const POLICY_COMMANDS: &[&str] = &["all", "select", "insert", "update", "delete"];
pub const POLICY_KINDS: &[&str] = &["permissive", "restrictive"];
pub const SEQ_TYPES: &[&str] = &["smallint", "integer", "bigint"];
pub const IDENTITY_KINDS: &[&str] = &["always", "by-default"];

const SEQ_AS: Prop = p(
    "as",
    Ty::Choice(SEQ_TYPES),
    "data type (default bigint; for identity: the column's type)",
);
const SEQ_START: Prop = p("start", Ty::Int, "START WITH");
const SEQ_INCREMENT: Prop = p("increment", Ty::Int, "INCREMENT BY");
const SEQ_MIN: Prop = p("min-value", Ty::Int, "MINVALUE");
const SEQ_MAX: Prop = p("max-value", Ty::Int, "MAXVALUE");
const SEQ_CACHE: Prop = p("cache", Ty::Int, "CACHE");
const SEQ_CYCLE: Prop = p("cycle", Ty::Bool, "CYCLE");

const KEY_OPTIONS: [Prop; 4] = [
    p(
        "opclass",
        Ty::Str,
        "operator class, when not the type's default",
    ),
    p("collation", Ty::Str, "COLLATE, when not the column's"),
    p("desc", Ty::Bool, "descending order"),
    p(
        "nulls",
        Ty::Choice(&["first", "last"]),
        "NULLS FIRST / LAST, when not the direction's default",
    ),
];
const WITH: Prop = req(
    "with",
    Ty::Str,
    "the operator compared with (`=`, `&&`, ...)",
);

/// What `allow-data-loss` may name, in the language's spelling.
pub const DATA_LOSS_KINDS: &[&str] = &[
    "table",
    "column",
    "enum",
    "enum-value",
    "sequence",
    "extension",
    "type",
    "attribute",
];

/// `allow-data-loss <kind> <name> [<member>]`, the same shape at both levels; which kinds go
/// where and how many names each takes is checked by `load`, which can say so precisely.
const DATA_LOSS_ARGS: &[Arg] = &[
    Arg {
        name: "kind",
        ty: Ty::Choice(DATA_LOSS_KINDS),
    },
    s("name"),
    s("member"),
];

const GRANT_PROPS: &[Prop] = &[
    req(
        "to",
        Ty::Str,
        "the role that receives the privileges, or \"public\" for every role",
    ),
    p(
        "grant-option",
        Ty::Bool,
        "WITH GRANT OPTION: the role may grant them on",
    ),
];

/// `grant <privilege>... to=<role>`, the same shape on every object that takes privileges.
const fn grant_node(parent: Ctx) -> NodeSpec {
    NodeSpec {
        parent,
        name: "grant",
        ctx: Ctx::Leaf,
        args: &[],
        rest: Some(s("privilege")),
        min_args: 1,
        props: GRANT_PROPS,
        summary: "privileges a role holds (GRANT): `SELECT`, `INSERT`, ..., or `ALL`; see \
                  Privileges",
    }
}

const fn data_loss_node(parent: Ctx, summary: &'static str) -> NodeSpec {
    NodeSpec {
        parent,
        name: "allow-data-loss",
        ctx: Ctx::Leaf,
        args: DATA_LOSS_ARGS,
        rest: None,
        min_args: 2,
        props: &[],
        summary,
    }
}

const INDEX_PROPS: &[Prop] = &[
    RENAMED,
    p("unique", Ty::Bool, "UNIQUE index"),
    p("method", Ty::Str, "access method (default btree)"),
    p("where", Ty::Str, "partial index predicate (SQL)"),
    p(
        "nulls-not-distinct",
        Ty::Bool,
        "NULLS NOT DISTINCT (unique indexes)",
    ),
    COMMENT,
];

/// Every node of the language.
pub static NODES: &[NodeSpec] = &[
    NodeSpec {
        parent: Ctx::Root,
        name: "extension",
        ctx: Ctx::Leaf,
        args: &[s("name")],
        rest: None,
        min_args: 1,
        props: &[
            p(
                "schema",
                Ty::Str,
                "schema the extension's objects live in (default public)",
            ),
            p(
                "version",
                Ty::Str,
                "version to install (default: the default version)",
            ),
            COMMENT,
        ],
        summary: "CREATE EXTENSION",
    },
    NodeSpec {
        parent: Ctx::Root,
        name: "schema",
        ctx: Ctx::Schema,
        args: &[s("name")],
        rest: None,
        min_args: 1,
        props: &[COMMENT],
        summary: "a schema and the objects in it; may be repeated across files",
    },
    data_loss_node(
        Ctx::Root,
        "accept that the plan drops an extension and what it owns: \
                  `allow-data-loss \"extension\" <name>`; see Destructive changes",
    ),
    NodeSpec {
        parent: Ctx::Schema,
        name: "enum",
        ctx: Ctx::Enum,
        args: &[s("name")],
        rest: Some(s("value")),
        min_args: 1,
        props: &[RENAMED, COMMENT],
        summary: "an enum type; values as arguments, or as `value` children",
    },
    NodeSpec {
        parent: Ctx::Enum,
        name: "value",
        ctx: Ctx::Leaf,
        args: &[s("label")],
        rest: None,
        min_args: 1,
        props: &[RENAMED],
        summary: "one enum label (the long form, for renamed-from)",
    },
    NodeSpec {
        parent: Ctx::Enum,
        name: "removed",
        ctx: Ctx::Leaf,
        args: &[s("label")],
        rest: None,
        min_args: 1,
        props: &[req(
            "replaced-by",
            Ty::Str,
            "the declared value that rows holding the removed one get",
        )],
        summary: "a value the enum no longer has, and the value its rows get instead (the \
                  type is rebuilt; see docs/online.md, Enum value removal)",
    },
    NodeSpec {
        parent: Ctx::Schema,
        name: "sequence",
        ctx: Ctx::Sequence,
        args: &[s("name")],
        rest: None,
        min_args: 1,
        props: &[
            RENAMED,
            SEQ_AS,
            SEQ_START,
            SEQ_INCREMENT,
            SEQ_MIN,
            SEQ_MAX,
            SEQ_CACHE,
            SEQ_CYCLE,
            p(
                "owned-by",
                Ty::Str,
                "`table.column` or `schema.table.column` (OWNED BY)",
            ),
            COMMENT,
        ],
        summary: "a standalone sequence",
    },
    grant_node(Ctx::Schema),
    NodeSpec {
        parent: Ctx::Schema,
        name: "default-grant",
        ctx: Ctx::Leaf,
        args: &[],
        rest: Some(s("privilege")),
        min_args: 1,
        props: &[
            req(
                "on",
                Ty::Choice(crate::model::DEFAULT_GRANT_KINDS),
                "the kind of objects it applies to",
            ),
            GRANT_PROPS[0],
            req(
                "for-role",
                Ty::Str,
                "the role whose objects created in this schema get the privileges",
            ),
            GRANT_PROPS[1],
        ],
        summary: "privileges that objects a role creates in this schema get (ALTER DEFAULT \
                  PRIVILEGES ... IN SCHEMA); see Privileges",
    },
    grant_node(Ctx::Sequence),
    grant_node(Ctx::Table),
    grant_node(Ctx::Column),
    grant_node(Ctx::View),
    NodeSpec {
        parent: Ctx::Schema,
        name: "table",
        ctx: Ctx::Table,
        args: &[s("name")],
        rest: None,
        min_args: 1,
        props: &[
            RENAMED,
            RENAME,
            p("unlogged", Ty::Bool, "UNLOGGED table"),
            COMMENT,
            p(
                "partition-by",
                Ty::Str,
                "makes it a partitioned table with this key, as PostgreSQL prints it: \
                 `RANGE (created_at)`, `LIST (region)`, `HASH (id)`; see Partitioned tables",
            ),
            p(
                "partition-of",
                Ty::Str,
                "makes it a partition of this table (`table` or `schema.table`); its columns \
                 are the parent's, so it declares only its own constraints and indexes",
            ),
            p(
                "bound",
                Ty::Str,
                "a partition's bound: `FOR VALUES FROM (...) TO (...)`, `FOR VALUES IN (...)`, \
                 `FOR VALUES WITH (modulus m, remainder r)` or `DEFAULT`",
            ),
        ],
        summary: "a table with its columns, constraints and indexes",
    },
    NodeSpec {
        parent: Ctx::Schema,
        name: "view",
        ctx: Ctx::View,
        args: &[s("name"), s("query")],
        rest: None,
        min_args: 2,
        props: &[RENAMED, COMMENT],
        summary: "a view; the query is SQL text",
    },
    NodeSpec {
        parent: Ctx::Schema,
        name: "materialized-view",
        ctx: Ctx::MaterializedView,
        args: &[s("name"), s("query")],
        rest: None,
        min_args: 2,
        props: &[
            RENAMED,
            p(
                "with-data",
                Ty::Bool,
                "#false creates it WITH NO DATA (unreadable until refreshed); default #true",
            ),
            COMMENT,
        ],
        summary: "a materialized view; the query is SQL text, indexes and storage options are children",
    },
    NodeSpec {
        parent: Ctx::MaterializedView,
        name: "index",
        ctx: Ctx::Index,
        args: &[s("name")],
        rest: Some(s("column")),
        min_args: 1,
        props: INDEX_PROPS,
        summary: "an index of the materialized view, as in a table; a unique one on plain columns without `where` lets it be refreshed CONCURRENTLY",
    },
    NodeSpec {
        parent: Ctx::MaterializedView,
        name: "option",
        ctx: Ctx::Leaf,
        args: &[s("name"), s("value")],
        rest: None,
        min_args: 2,
        props: &[],
        summary: "a storage parameter (WITH (...): fillfactor, autovacuum_enabled, ...)",
    },
    data_loss_node(
        Ctx::Schema,
        "accept that the plan loses data in this schema: kind \"table\", \"enum\" or \
                  \"sequence\" and its name (dropped), \"column\" with the table and column \
                  (dropped or its type narrowed), \"enum-value\" with the enum and value \
                  (removed), \"type\" and the name of a domain, composite or range type \
                  (dropped), \"attribute\" with the composite type and attribute (dropped); see \
                  Destructive changes",
    ),
    NodeSpec {
        parent: Ctx::Schema,
        name: "domain",
        ctx: Ctx::Domain,
        args: &[s("name"), s("type")],
        rest: None,
        min_args: 2,
        props: &[
            RENAMED,
            p(
                "not-null",
                Ty::Bool,
                "NOT NULL: values of the domain cannot be null (domains allow null by default)",
            ),
            p("default", Ty::Str, "DEFAULT expression (SQL)"),
            p(
                "collation",
                Ty::Str,
                "COLLATE, when not the base type's default",
            ),
            COMMENT,
        ],
        summary: "a domain over a base type; CHECK constraints as `check` children",
    },
    NodeSpec {
        parent: Ctx::Domain,
        name: "check",
        ctx: Ctx::Leaf,
        args: &[s("name"), s("expression")],
        rest: None,
        min_args: 2,
        props: &[
            RENAMED,
            p(
                "not-valid",
                Ty::Bool,
                "NOT VALID: values already stored are not checked",
            ),
        ],
        summary: "a CHECK constraint of the domain; the expression is SQL text naming the value \
                  `VALUE`",
    },
    NodeSpec {
        parent: Ctx::Schema,
        name: "composite",
        ctx: Ctx::Composite,
        args: &[s("name")],
        rest: None,
        min_args: 1,
        props: &[RENAMED, COMMENT],
        summary: "a composite type (CREATE TYPE ... AS); attributes as children, in order",
    },
    NodeSpec {
        parent: Ctx::Composite,
        name: "attribute",
        ctx: Ctx::Leaf,
        args: &[s("name"), s("type")],
        rest: None,
        min_args: 2,
        props: &[
            RENAMED,
            p("collation", Ty::Str, "COLLATE, when not the type's default"),
        ],
        summary: "an attribute of the composite type; the type is SQL text",
    },
    NodeSpec {
        parent: Ctx::Schema,
        name: "range",
        ctx: Ctx::Leaf,
        args: &[s("name")],
        rest: None,
        min_args: 1,
        props: &[
            RENAMED,
            req(
                "subtype",
                Ty::Str,
                "the type of the range's bounds (SUBTYPE)",
            ),
            p(
                "subtype-opclass",
                Ty::Str,
                "btree operator class of the subtype, when not its default",
            ),
            p(
                "collation",
                Ty::Str,
                "COLLATION of the bounds, when not the subtype's default",
            ),
            p("canonical", Ty::Str, "CANONICAL function"),
            p("subtype-diff", Ty::Str, "SUBTYPE_DIFF function"),
            p(
                "multirange",
                Ty::Str,
                "name of the multirange type (default: PostgreSQL's, `range` replaced by \
                 `multirange` or `_multirange` appended)",
            ),
            COMMENT,
        ],
        summary: "a range type (CREATE TYPE ... AS RANGE)",
    },
    NodeSpec {
        parent: Ctx::View,
        name: "option",
        ctx: Ctx::Leaf,
        args: &[s("name"), s("value")],
        rest: None,
        min_args: 2,
        props: &[],
        summary: "a WITH (...) option of the view (security_barrier, check_option, ...)",
    },
    NodeSpec {
        parent: Ctx::Table,
        name: "column",
        ctx: Ctx::Column,
        args: &[s("name"), s("type")],
        rest: None,
        min_args: 2,
        props: &[
            RENAMED,
            RENAME,
            p(
                "nullable",
                Ty::Bool,
                "#true allows NULL; columns are NOT NULL by default",
            ),
            p("default", Ty::Str, "DEFAULT expression (SQL)"),
            p(
                "identity",
                Ty::Choice(IDENTITY_KINDS),
                "GENERATED ALWAYS / BY DEFAULT AS IDENTITY (short form)",
            ),
            p(
                "generated",
                Ty::Str,
                "GENERATED ALWAYS AS (expression) STORED (short form)",
            ),
            p("collation", Ty::Str, "COLLATE, when not the type's default"),
            p(
                "backfill",
                Ty::Str,
                "SQL expression that fills the column in existing rows when it is added to a table that has rows (declaration-only, like renamed-from)",
            ),
            p(
                "using",
                Ty::Str,
                "SQL expression over the row's columns as they were that converts existing values when the column's type changes, instead of the cast (declaration-only, like renamed-from)",
            ),
            COMMENT,
        ],
        summary: "a column; the type is SQL text",
    },
    NodeSpec {
        parent: Ctx::Column,
        name: "identity",
        ctx: Ctx::Leaf,
        args: &[Arg {
            name: "kind",
            ty: Ty::Choice(IDENTITY_KINDS),
        }],
        rest: None,
        min_args: 1,
        props: &[
            SEQ_AS,
            SEQ_START,
            SEQ_INCREMENT,
            SEQ_MIN,
            SEQ_MAX,
            SEQ_CACHE,
            SEQ_CYCLE,
        ],
        summary: "an identity column with sequence options",
    },
    NodeSpec {
        parent: Ctx::Column,
        name: "generated",
        ctx: Ctx::Leaf,
        args: &[s("expression")],
        rest: None,
        min_args: 1,
        props: &[p(
            "kind",
            Ty::Choice(&["stored", "virtual"]),
            "STORED (default) or VIRTUAL (PostgreSQL 18+)",
        )],
        summary: "a generated column",
    },
    NodeSpec {
        parent: Ctx::Table,
        name: "primary-key",
        ctx: Ctx::Key,
        args: &[],
        rest: Some(s("column")),
        min_args: 1,
        props: &[
            p(
                "name",
                Ty::Str,
                "constraint name (default `<table>_pkey`, as PostgreSQL names it)",
            ),
            RENAMED,
            DEFERRABLE,
            COMMENT,
        ],
        summary: "the primary key",
    },
    NodeSpec {
        parent: Ctx::Table,
        name: "unique",
        ctx: Ctx::Key,
        args: &[s("name")],
        rest: Some(s("column")),
        min_args: 2,
        props: &[
            RENAMED,
            p("nulls-not-distinct", Ty::Bool, "NULLS NOT DISTINCT"),
            DEFERRABLE,
            COMMENT,
        ],
        summary: "a unique constraint",
    },
    NodeSpec {
        parent: Ctx::Key,
        name: "include",
        ctx: Ctx::Leaf,
        args: &[],
        rest: Some(s("column")),
        min_args: 1,
        props: &[],
        summary: "INCLUDE (non-key columns)",
    },
    NodeSpec {
        parent: Ctx::Table,
        name: "foreign-key",
        ctx: Ctx::Leaf,
        args: &[s("name")],
        rest: Some(s("column")),
        min_args: 2,
        props: &[
            RENAMED,
            req(
                "references",
                Ty::Str,
                "`table`, `table(col, ...)` or `schema.table(col, ...)`",
            ),
            p("on-delete", Ty::Choice(FK_ACTIONS), "ON DELETE action"),
            p("on-update", Ty::Choice(FK_ACTIONS), "ON UPDATE action"),
            p(
                "match",
                Ty::Choice(&["simple", "full"]),
                "MATCH SIMPLE (default) or FULL",
            ),
            DEFERRABLE,
            p(
                "not-valid",
                Ty::Bool,
                "NOT VALID: existing rows are not checked",
            ),
            COMMENT,
        ],
        summary: "a foreign key",
    },
    NodeSpec {
        parent: Ctx::Table,
        name: "check",
        ctx: Ctx::Leaf,
        args: &[s("name"), s("expression")],
        rest: None,
        min_args: 2,
        props: &[
            RENAMED,
            p("no-inherit", Ty::Bool, "NO INHERIT"),
            p(
                "not-valid",
                Ty::Bool,
                "NOT VALID: existing rows are not checked",
            ),
            COMMENT,
        ],
        summary: "a check constraint; the expression is SQL text",
    },
    NodeSpec {
        parent: Ctx::Table,
        name: "exclude",
        ctx: Ctx::Exclude,
        args: &[s("name")],
        rest: None,
        min_args: 1,
        props: &[
            RENAMED,
            p("method", Ty::Str, "index access method (default btree)"),
            p("where", Ty::Str, "WHERE predicate (SQL)"),
            DEFERRABLE,
            COMMENT,
        ],
        summary: "an exclusion constraint; elements are children",
    },
    NodeSpec {
        parent: Ctx::Exclude,
        name: "column",
        ctx: Ctx::Leaf,
        args: &[s("name")],
        rest: None,
        min_args: 1,
        props: &[
            WITH,
            KEY_OPTIONS[0],
            KEY_OPTIONS[1],
            KEY_OPTIONS[2],
            KEY_OPTIONS[3],
        ],
        summary: "an element that is a column",
    },
    NodeSpec {
        parent: Ctx::Exclude,
        name: "expression",
        ctx: Ctx::Leaf,
        args: &[s("sql")],
        rest: None,
        min_args: 1,
        props: &[
            WITH,
            KEY_OPTIONS[0],
            KEY_OPTIONS[1],
            KEY_OPTIONS[2],
            KEY_OPTIONS[3],
        ],
        summary: "an element that is an expression",
    },
    NodeSpec {
        parent: Ctx::Exclude,
        name: "include",
        ctx: Ctx::Leaf,
        args: &[],
        rest: Some(s("column")),
        min_args: 1,
        props: &[],
        summary: "INCLUDE (non-key columns)",
    },
    NodeSpec {
        parent: Ctx::Table,
        name: "index",
        ctx: Ctx::Index,
        args: &[s("name")],
        rest: Some(s("column")),
        min_args: 1,
        props: INDEX_PROPS,
        summary: "an index; plain column keys as arguments, anything else as children",
    },
    NodeSpec {
        parent: Ctx::Table,
        name: "row-level-security",
        ctx: Ctx::Leaf,
        args: &[],
        rest: None,
        min_args: 0,
        props: &[
            p(
                "enabled",
                Ty::Bool,
                "ENABLE ROW LEVEL SECURITY (default #true when the node is there)",
            ),
            p(
                "forced",
                Ty::Bool,
                "FORCE ROW LEVEL SECURITY: policies apply to the table's owner too",
            ),
        ],
        summary: "the table's row-level security flags (off when the node is absent)",
    },
    NodeSpec {
        parent: Ctx::Table,
        name: "policy",
        ctx: Ctx::Policy,
        args: &[s("name")],
        rest: None,
        min_args: 1,
        props: &[
            RENAMED,
            p(
                "as",
                Ty::Choice(POLICY_KINDS),
                "AS PERMISSIVE (default) or RESTRICTIVE",
            ),
            p(
                "for",
                Ty::Choice(POLICY_COMMANDS),
                "the command it applies to (default all)",
            ),
            p(
                "to",
                Ty::Str,
                "the one role it applies to (default public: every role); several roles go in a `to` child",
            ),
            p(
                "using",
                Ty::Str,
                "USING expression (SQL): rows visible or affected",
            ),
            p(
                "with-check",
                Ty::Str,
                "WITH CHECK expression (SQL): rows that may be written",
            ),
            COMMENT,
        ],
        summary: "a row-level security policy (CREATE POLICY)",
    },
    NodeSpec {
        parent: Ctx::Policy,
        name: "to",
        ctx: Ctx::Leaf,
        args: &[],
        rest: Some(s("role")),
        min_args: 1,
        props: &[],
        summary: "the roles a policy applies to, by name (`public` for every role)",
    },
    NodeSpec {
        parent: Ctx::Index,
        name: "column",
        ctx: Ctx::Leaf,
        args: &[s("name")],
        rest: None,
        min_args: 1,
        props: &KEY_OPTIONS,
        summary: "a key that is a column",
    },
    NodeSpec {
        parent: Ctx::Index,
        name: "expression",
        ctx: Ctx::Leaf,
        args: &[s("sql")],
        rest: None,
        min_args: 1,
        props: &KEY_OPTIONS,
        summary: "a key that is an expression",
    },
    NodeSpec {
        parent: Ctx::Index,
        name: "include",
        ctx: Ctx::Leaf,
        args: &[],
        rest: Some(s("column")),
        min_args: 1,
        props: &[],
        summary: "INCLUDE (non-key columns)",
    },
];

pub const VOLATILITIES: &[&str] = &["immutable", "stable", "volatile"];
pub const PARALLEL_SAFETY: &[&str] = &["unsafe", "restricted", "safe"];
pub const ARG_MODES: &[&str] = &["in", "out", "inout", "variadic"];
pub const TRIGGER_STATES: &[&str] = &["enabled", "disabled", "replica", "always"];
const LANGUAGE: Prop = req("language", Ty::Str, "LANGUAGE (`sql`, `plpgsql`, ...)");
const SECURITY_DEFINER: Prop = p(
    "security-definer",
    Ty::Bool,
    "SECURITY DEFINER (runs with the owner's privileges)",
);
const PUBLIC_EXECUTE: Prop = p(
    "public-execute",
    Ty::Bool,
    "whether every role may call it (PostgreSQL's default EXECUTE for PUBLIC, default #true); \
     #false revokes it, in the transaction that creates the routine; see Privileges",
);
const TRIGGER_EVENTS: &str =
    "events separated by spaces, commas or `or`: insert, update, delete, truncate";

const TRIGGER_PROPS: &[Prop] = &[
    RENAMED,
    p("before", Ty::Str, TRIGGER_EVENTS),
    p("after", Ty::Str, TRIGGER_EVENTS),
    p("instead-of", Ty::Str, TRIGGER_EVENTS),
    p(
        "for-each",
        Ty::Choice(&["row", "statement"]),
        "FOR EACH ROW or STATEMENT (default statement)",
    ),
    req(
        "function",
        Ty::Str,
        "the trigger function, `name` (in the table's schema) or `schema.name`",
    ),
    p("when", Ty::Str, "WHEN condition (SQL, over OLD and NEW)"),
    p(
        "state",
        Ty::Choice(TRIGGER_STATES),
        "when it fires: enabled (default), disabled, replica (only for replication \
                 sessions) or always",
    ),
    p(
        "constraint",
        Ty::Bool,
        "CREATE CONSTRAINT TRIGGER (AFTER, FOR EACH ROW)",
    ),
    DEFERRABLE,
    p(
        "old-table",
        Ty::Str,
        "REFERENCING OLD TABLE AS (transition table)",
    ),
    p(
        "new-table",
        Ty::Str,
        "REFERENCING NEW TABLE AS (transition table)",
    ),
    COMMENT,
];

/// Functions, procedures and triggers (kept apart from [`NODES`] only to keep that table
/// readable; [`all`] is the language).
pub static ROUTINE_NODES: &[NodeSpec] = &[
    NodeSpec {
        parent: Ctx::Schema,
        name: "function",
        ctx: Ctx::Function,
        args: &[s("name")],
        rest: None,
        min_args: 1,
        props: &[
            RENAMED,
            req(
                "returns",
                Ty::Str,
                "the result type (SQL: `integer`, `SETOF text`, `TABLE(id bigint)`, `trigger`)",
            ),
            LANGUAGE,
            p(
                "volatility",
                Ty::Choice(VOLATILITIES),
                "IMMUTABLE, STABLE or VOLATILE (default volatile)",
            ),
            p("strict", Ty::Bool, "STRICT (NULL in, NULL out)"),
            SECURITY_DEFINER,
            p("leakproof", Ty::Bool, "LEAKPROOF"),
            p(
                "parallel",
                Ty::Choice(PARALLEL_SAFETY),
                "PARALLEL UNSAFE, RESTRICTED or SAFE (default unsafe)",
            ),
            p(
                "cost",
                Ty::Int,
                "COST (default 100, 1 for C and internal functions)",
            ),
            p(
                "rows",
                Ty::Int,
                "ROWS of a set-returning function (default 1000)",
            ),
            PUBLIC_EXECUTE,
            COMMENT,
        ],
        summary: "a function; overloads are told apart by their argument types, the body is \
                  a `body` child",
    },
    NodeSpec {
        parent: Ctx::Schema,
        name: "procedure",
        ctx: Ctx::Function,
        args: &[s("name")],
        rest: None,
        min_args: 1,
        props: &[RENAMED, LANGUAGE, SECURITY_DEFINER, PUBLIC_EXECUTE, COMMENT],
        summary: "a procedure (CALL); arguments, body, settings and grants as for a function",
    },
    NodeSpec {
        parent: Ctx::Function,
        name: "argument",
        ctx: Ctx::Leaf,
        args: &[s("name"), s("type")],
        rest: None,
        min_args: 2,
        props: &[
            p(
                "mode",
                Ty::Choice(ARG_MODES),
                "IN, OUT, INOUT or VARIADIC (default in)",
            ),
            p("default", Ty::Str, "DEFAULT expression (SQL)"),
        ],
        summary: "an argument, in order; the name \"\" for an unnamed one",
    },
    NodeSpec {
        parent: Ctx::Function,
        name: "body",
        ctx: Ctx::Leaf,
        args: &[s("sql")],
        rest: None,
        min_args: 1,
        props: &[],
        summary: "the body as text (a raw string `#\"...\"#` suits several lines); for \
                  language sql also a SQL-standard `BEGIN ATOMIC ... END` or `RETURN ...`",
    },
    NodeSpec {
        parent: Ctx::Function,
        name: "set",
        ctx: Ctx::Leaf,
        args: &[s("name"), s("value")],
        rest: None,
        min_args: 2,
        props: &[],
        summary: "a setting while the function runs (`set \"search_path\" \"pg_catalog, public\"`)",
    },
    grant_node(Ctx::Function),
    NodeSpec {
        parent: Ctx::Table,
        name: "trigger",
        ctx: Ctx::Trigger,
        args: &[s("name")],
        rest: None,
        min_args: 1,
        props: TRIGGER_PROPS,
        summary: "a trigger on the table; exactly one of before=, after= or instead-of=",
    },
    NodeSpec {
        parent: Ctx::View,
        name: "trigger",
        ctx: Ctx::Trigger,
        args: &[s("name")],
        rest: None,
        min_args: 1,
        props: TRIGGER_PROPS,
        summary: "a trigger on the view (usually instead-of= with for-each=\"row\"); as in a table",
    },
    NodeSpec {
        parent: Ctx::Trigger,
        name: "update-of",
        ctx: Ctx::Leaf,
        args: &[],
        rest: Some(s("column")),
        min_args: 1,
        props: &[],
        summary: "UPDATE OF: the columns whose update fires the trigger",
    },
    NodeSpec {
        parent: Ctx::Trigger,
        name: "arguments",
        ctx: Ctx::Leaf,
        args: &[],
        rest: Some(s("value")),
        min_args: 1,
        props: &[],
        summary: "arguments passed to the function (TG_ARGV), as strings",
    },
];

/// Every node of the language.
pub fn all() -> impl Iterator<Item = &'static NodeSpec> {
    NODES.iter().chain(ROUTINE_NODES.iter())
}

/// The spec of `name` in block `parent`.
pub fn find(parent: Ctx, name: &str) -> Option<&'static NodeSpec> {
    all().find(|n| n.parent == parent && n.name == name)
}

/// Names allowed in a block, for did-you-mean.
pub fn names_in(parent: Ctx) -> impl Iterator<Item = &'static str> {
    all().filter(move |n| n.parent == parent).map(|n| n.name)
}

/// Blocks where a node of this name exists, for "belongs in ..." hints.
pub fn parents_of(name: &str) -> Vec<Ctx> {
    all().filter(|n| n.name == name).map(|n| n.parent).collect()
}

/// The reference section of `docs/kdl.md`, generated from [`NODES`].
pub fn reference_markdown() -> String {
    let mut out = String::new();
    let mut parents: Vec<Ctx> = Vec::new();
    for n in all() {
        if !parents.contains(&n.parent) {
            parents.push(n.parent);
        }
    }
    for parent in parents {
        out.push_str(&format!("\n#### {}\n\n", capitalize(parent.describe())));
        for n in all().filter(|n| n.parent == parent) {
            node_reference(&mut out, n);
        }
    }
    out
}

fn node_reference(out: &mut String, n: &NodeSpec) {
    {
        out.push_str(&format!("- `{}`: {}.\n", n.signature(), n.summary));
        for pr in n.props {
            out.push_str(&format!(
                "  - `{}=` {}{}: {}.\n",
                pr.name,
                pr.ty.describe(),
                if pr.required { ", required" } else { "" },
                pr.doc
            ));
        }
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}
