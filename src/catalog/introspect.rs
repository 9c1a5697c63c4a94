//! The catalog queries and the assembly of their rows into a [`Model`].
//!
//! Every query goes through [`Reader::query`], and the list of queries is fixed
//! ([`QUERY_COUNT`]): introspection cost grows with the size of the rows, never with the number
//! of round trips. Where catalogs differ between PostgreSQL 14 and 18 the SQL is chosen by
//! `server_version_num` (see [`expand`]); differences that need no new columns (PostgreSQL 18's
//! NOT NULL rows in pg_constraint, virtual generated columns) are handled in the queries and
//! in the assembly below.

use std::collections::HashMap;

use indexmap::IndexMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio_postgres::{Client, Row};

mod user_types;

use super::{Catalog, CatalogError, ServerInfo};
use crate::model::*;
use crate::pg::connect::ConnInfo;

const SERVER: &str = include_str!("queries/server.sql");
const SCHEMAS: &str = include_str!("queries/schemas.sql");
const EXTENSIONS: &str = include_str!("queries/extensions.sql");
const TYPES: &str = include_str!("queries/types.sql");
const SEQUENCES: &str = include_str!("queries/sequences.sql");
const RELATIONS: &str = include_str!("queries/relations.sql");
const COLUMNS: &str = include_str!("queries/columns.sql");
const INDEXES: &str = include_str!("queries/indexes.sql");
const CONSTRAINTS: &str = include_str!("queries/constraints.sql");
const UNMANAGED: &str = include_str!("queries/unmanaged.sql");
const FUNCTIONS: &str = include_str!("queries/functions.sql");
const TRIGGERS: &str = include_str!("queries/triggers.sql");
const POLICIES: &str = include_str!("queries/policies.sql");
const PRIVILEGES: &str = include_str!("queries/privileges.sql");

/// The number of catalog queries one introspection runs, whatever the size of the schema
/// (session set-up statements not counted).
pub const QUERY_COUNT: usize = 14;

/// Read the whole schema of the database `client` is connected to.
pub async fn introspect(client: &Client) -> Result<Catalog, CatalogError> {
    introspect_counted(client).await.map(|(c, _)| c)
}

/// As [`introspect`], also returning how many catalog queries were sent (always
/// [`QUERY_COUNT`]; exposed so tests can hold the code to it).
pub async fn introspect_counted(client: &Client) -> Result<(Catalog, usize), CatalogError> {
    // The simple protocol matters here: in it an implicit transaction starts with the statement,
    // so the two timestamps are equal exactly when no transaction block is open. (In the
    // extended protocol the statement timestamp is reset at Bind and they always differ.)
    let setup = client
        .simple_query(
            "SELECT pg_catalog.current_setting('search_path'), \
             pg_catalog.statement_timestamp() <> pg_catalog.transaction_timestamp()",
        )
        .await
        .map_err(|e| query_error("session setup", e))?;
    let (prior_path, in_transaction) = setup
        .iter()
        .find_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => Some((
                r.get(0).unwrap_or_default().to_string(),
                r.get(1) == Some("t"),
            )),
            _ => None,
        })
        .ok_or_else(|| CatalogError::Unexpected("session setup returned no row".into()))?;
    // Our own read-only snapshot when the session is idle; inside the caller's transaction we
    // must not commit it, so only the search_path is changed and restored.
    if !in_transaction {
        client
            .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await
            .map_err(|e| query_error("session setup", e))?;
    }
    let set_path = "SELECT pg_catalog.set_config('search_path', $1, true)";
    let mut result = match client.execute(set_path, &[&""]).await {
        Ok(_) => {
            let count = AtomicUsize::new(0);
            fetch_and_assemble(&[client], &count)
                .await
                .map(|c| (c, count.load(Ordering::Relaxed)))
        }
        Err(e) => Err(query_error("session setup", e)),
    };
    let finish = if in_transaction {
        client.execute(set_path, &[&prior_path]).await.map(|_| ())
    } else if result.is_ok() {
        client.batch_execute("COMMIT").await
    } else {
        client.batch_execute("ROLLBACK").await
    };
    if let Err(e) = finish
        && result.is_ok()
    {
        result = Err(query_error("session reset", e));
    }
    result
}

/// As [`introspect`], for a whole database read from outside any transaction: the queries run
/// side by side on up to `connections` connections (at most [`MAX_CONNECTIONS`] are useful)
/// that share one snapshot, as `pg_dump -j` does. The first connection opens a read-only
/// REPEATABLE READ transaction and exports its snapshot; the others import it. The result is
/// the one [`introspect`] gives on the same database.
///
/// Only the first connection is required: when the server refuses more connections or
/// snapshot export (a connection pooler, for instance), the rest runs on fewer.
pub async fn introspect_parallel(
    conn: &ConnInfo,
    connections: usize,
) -> Result<Catalog, CatalogError> {
    introspect_parallel_counted(conn, connections)
        .await
        .map(|(c, _, _)| c)
}

/// As [`introspect_parallel`], also returning how many catalog queries were sent and on how
/// many connections.
pub async fn introspect_parallel_counted(
    conn: &ConnInfo,
    connections: usize,
) -> Result<(Catalog, usize, usize), CatalogError> {
    const BEGIN: &str = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
    // The columns query sorts some 50,000 wide rows on a 5,000-table schema, which spills to
    // disk at the default work_mem of 4 MB. Transaction-local, so nothing outlives the read.
    const SET_PATH: &str = "SELECT pg_catalog.set_config('search_path', '', true); \
                            SET LOCAL work_mem = '64MB'";
    let leader = conn.connect().await?;
    leader
        .batch_execute(&format!("{BEGIN}; {SET_PATH}"))
        .await
        .map_err(|e| query_error("session setup", e))?;
    let mut others = Vec::new();
    let wanted = connections.clamp(1, MAX_CONNECTIONS);
    if wanted > 1
        && let Ok(row) = leader
            .query_one("SELECT pg_catalog.pg_export_snapshot()", &[])
            .await
        && let Ok(snapshot) = row.try_get::<_, String>(0)
    {
        let join = format!(
            "{BEGIN}; SET TRANSACTION SNAPSHOT {}; {SET_PATH}",
            crate::sql::quote_literal(&snapshot)
        );
        for _ in 1..wanted {
            let Ok(client) = conn.connect().await else {
                break;
            };
            if client.batch_execute(&join).await.is_err() {
                break;
            }
            others.push(client);
        }
    }
    let clients: Vec<&Client> = std::iter::once(&leader).chain(others.iter()).collect();
    let used = clients.len();
    let count = AtomicUsize::new(0);
    let catalog = fetch_and_assemble(&clients, &count).await?;
    // Read-only transactions: closing the other sessions ends theirs; the leader's, whose
    // snapshot they imported, ends last.
    drop(clients);
    drop(others);
    leader
        .batch_execute("COMMIT")
        .await
        .map_err(|e| query_error("session reset", e))?;
    Ok((catalog, count.load(Ordering::Relaxed), used))
}

fn query_error(query: &'static str, e: tokio_postgres::Error) -> CatalogError {
    let message = match e.as_db_error() {
        Some(db) => db.message().to_string(),
        None => e.to_string(),
    };
    CatalogError::Query { query, message }
}

fn get<'a, T: tokio_postgres::types::FromSql<'a>>(
    row: &'a Row,
    idx: impl tokio_postgres::row::RowIndex + std::fmt::Display + Copy,
) -> Result<T, CatalogError> {
    row.try_get(idx)
        .map_err(|e| CatalogError::Unexpected(format!("column {idx}: {e}")))
}

/// Expands the `{{...}}` placeholders of the query files: the filters every query shares
/// (kept in one place here) and the columns that depend on the server version.
///
/// - `{{user_schema n}}`: `n` is a user schema (not a system schema, not `formwork`).
/// - `{{not_extension_member catalog expr}}`: the object `expr` of `pg_catalog.catalog` is not
///   part of an extension.
/// - `{{nulls_not_distinct}}`: `i.indnullsnotdistinct` on PostgreSQL 15+, `false` before.
/// - `{{conperiod}}`: `con.conperiod` (a temporal key, `WITHOUT OVERLAPS` or `PERIOD`) on
///   PostgreSQL 18+, `false` before.
pub fn expand(sql: &str, version_num: i32) -> String {
    let mut out = String::with_capacity(sql.len() + 512);
    let mut rest = sql;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        let words: Vec<&str> = after[..end].split_whitespace().collect();
        match words.as_slice() {
            ["user_schema", n] => out.push_str(&format!(
                "{n}.nspname NOT IN ('pg_catalog', 'information_schema', 'formwork') \
                 AND {n}.nspname !~ '^pg_toast' AND {n}.nspname !~ '^pg_temp_'"
            )),
            ["not_extension_member", catalog, expr] => out.push_str(&format!(
                "NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend ext \
                 WHERE ext.classid = 'pg_catalog.{catalog}'::regclass \
                 AND ext.objid = {expr} AND ext.deptype = 'e')"
            )),
            ["nulls_not_distinct"] => out.push_str(if version_num >= 150000 {
                "i.indnullsnotdistinct"
            } else {
                "false"
            }),
            ["conperiod"] => out.push_str(if version_num >= 180000 {
                "con.conperiod"
            } else {
                "false"
            }),
            _ => {
                out.push_str("{{");
                out.push_str(&after[..end]);
                out.push_str("}}");
            }
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

/// (schema, table, column).
type ColumnKey = (String, String, String);
/// A sequence as stored: data type, start/increment/min/max/cache, cycle.
type RawSequence = (String, [i64; 5], bool);

/// The rows of the catalog queries after the server's, all fetched before assembly so that the
/// queries can run side by side on several connections.
struct Rows {
    schemas: Vec<Row>,
    extensions: Vec<Row>,
    types: Vec<Row>,
    sequences: Vec<Row>,
    relations: Vec<Row>,
    columns: Vec<Row>,
    indexes: Vec<Row>,
    constraints: Vec<Row>,
    unmanaged: Vec<Row>,
    functions: Vec<Row>,
    triggers: Vec<Row>,
    policies: Vec<Row>,
    privileges: Vec<Row>,
}

/// How many groups [`fetch`] splits the queries into: more connections than this would idle.
pub const MAX_CONNECTIONS: usize = 3;

/// One catalog query, counted.
async fn query(
    count: &AtomicUsize,
    client: &Client,
    name: &'static str,
    sql: &str,
    version_num: i32,
) -> Result<Vec<Row>, CatalogError> {
    count.fetch_add(1, Ordering::Relaxed);
    let sql = expand(sql, version_num);
    client
        .query(&sql, &[])
        .await
        .map_err(|e| query_error(name, e))
}

/// Run every catalog query on `clients` (at least one), which must all see the same snapshot
/// with the empty `search_path` set, then assemble the model.
///
/// On large schemas three queries take nearly all the time (indexes, columns, constraints; in
/// that order). Each starts one of [`MAX_CONNECTIONS`] groups, the cheap queries follow the
/// lightest, and group `i` runs on `clients[i % clients.len()]`: three connections run the
/// groups side by side, a single one runs them all (pipelined) in the one session.
async fn fetch_and_assemble(
    clients: &[&Client],
    count: &AtomicUsize,
) -> Result<Catalog, CatalogError> {
    let on = |i: usize| clients[i % clients.len().max(1)];
    let Some(leader) = clients.first() else {
        return Err(CatalogError::Unexpected(
            "no connection to read with".into(),
        ));
    };
    let rows = query(count, leader, "server", SERVER, 0).await?;
    let row = rows
        .first()
        .ok_or_else(|| CatalogError::Unexpected("server query returned no row".into()))?;
    let server = ServerInfo {
        version_num: get(row, "version_num")?,
        system_identifier: get::<Option<String>>(row, "system_identifier")?.unwrap_or_default(),
        database: get(row, "database")?,
    };
    let roles: Vec<String> = get(row, "roles")?;
    let v = server.version_num;
    let (indexes, columns, rest) = tokio::try_join!(
        query(count, on(0), "indexes", INDEXES, v),
        query(count, on(1), "columns", COLUMNS, v),
        async {
            let c = on(2);
            Ok::<_, CatalogError>((
                query(count, c, "constraints", CONSTRAINTS, v).await?,
                query(count, c, "schemas", SCHEMAS, v).await?,
                query(count, c, "extensions", EXTENSIONS, v).await?,
                query(count, c, "types", TYPES, v).await?,
                query(count, c, "sequences", SEQUENCES, v).await?,
                query(count, c, "relations", RELATIONS, v).await?,
                query(count, c, "unmanaged", UNMANAGED, v).await?,
                query(count, c, "functions", FUNCTIONS, v).await?,
                query(count, c, "triggers", TRIGGERS, v).await?,
                query(count, c, "policies", POLICIES, v).await?,
                query(count, c, "privileges", PRIVILEGES, v).await?,
            ))
        }
    )?;
    let (
        constraints,
        schemas,
        extensions,
        types,
        sequences,
        relations,
        unmanaged,
        functions,
        triggers,
        policies,
        privileges,
    ) = rest;
    Reader::assemble(
        server,
        roles,
        Rows {
            schemas,
            extensions,
            types,
            sequences,
            relations,
            columns,
            indexes,
            constraints,
            unmanaged,
            functions,
            triggers,
            policies,
            privileges,
        },
    )
}

struct Reader;

/// Index details kept for the constraint an index backs.
struct IndexInfo {
    method: String,
    keys: Vec<IndexKey>,
    include: Vec<String>,
    predicate: Option<String>,
    nulls_not_distinct: bool,
}

/// The comment `public` has in a new database (PostgreSQL 11 and later).
const PUBLIC_DEFAULT_COMMENT: &str = "standard public schema";

impl Reader {
    fn assemble(
        server: ServerInfo,
        roles: Vec<String>,
        rows: Rows,
    ) -> Result<Catalog, CatalogError> {
        let mut model = Model::default();
        let mut unmanaged = Vec::new();
        let mut note = |kind: ObjectKind, name: String| unmanaged.push(Unmanaged { kind, name });

        for row in rows.schemas {
            let name: String = get(&row, "name")?;
            let mut comment: Option<String> = get(&row, "comment")?;
            // Every new database's `public` carries this comment; a declaration should not have
            // to repeat it, nor see a plan that removes it. It reads as no comment.
            if name == "public" && comment.as_deref() == Some(PUBLIC_DEFAULT_COMMENT) {
                comment = None;
            }
            model.schemas.insert(
                name.clone(),
                Schema {
                    name,
                    comment,
                    ..Schema::default()
                },
            );
        }

        for row in rows.extensions {
            let name: String = get(&row, "name")?;
            model.extensions.insert(
                name.clone(),
                Extension {
                    name,
                    schema: get(&row, "schema")?,
                    version: get(&row, "version")?,
                    comment: get(&row, "comment")?,
                },
            );
        }

        for row in rows.types {
            let schema: String = get(&row, "schema")?;
            let name: String = get(&row, "name")?;
            let qualified = format!("{schema}.{name}");
            match get::<String>(&row, "kind")?.as_str() {
                "e" => {
                    let Some(s) = model.schemas.get_mut(&schema) else {
                        continue;
                    };
                    let labels: Vec<String> = get(&row, "labels")?;
                    s.enums.insert(
                        name.clone(),
                        Enum {
                            name,
                            values: labels
                                .into_iter()
                                .map(|l| EnumValue {
                                    name: l,
                                    renamed_from: None,
                                })
                                .collect(),
                            comment: get(&row, "comment")?,
                            renamed_from: None,
                        },
                    );
                }
                "d" | "c" | "r" => {
                    let Some(s) = model.schemas.get_mut(&schema) else {
                        continue;
                    };
                    user_types::read(s, name, &row)?;
                }
                _ => note(ObjectKind::Other, format!("type {qualified}")),
            }
        }

        // Identity sequences belong to their column; remember them by column.
        let mut identity_seqs: HashMap<ColumnKey, RawSequence> = HashMap::new();
        for row in rows.sequences {
            let schema: String = get(&row, "schema")?;
            let name: String = get(&row, "name")?;
            let data_type: String = get(&row, "data_type")?;
            let numbers = [
                get::<i64>(&row, "start")?,
                get::<i64>(&row, "increment")?,
                get::<i64>(&row, "min_value")?,
                get::<i64>(&row, "max_value")?,
                get::<i64>(&row, "cache")?,
            ];
            let cycle: bool = get(&row, "cycle")?;
            let owner_kind: Option<String> = get(&row, "owner_kind")?;
            let owner = match (
                get::<Option<String>>(&row, "owner_schema")?,
                get::<Option<String>>(&row, "owner_table")?,
                get::<Option<String>>(&row, "owner_column")?,
            ) {
                (Some(s), Some(t), Some(c)) => Some((s, t, c)),
                _ => None,
            };
            if owner_kind.as_deref() == Some("i")
                && let Some(owner) = owner
            {
                identity_seqs.insert(owner, (data_type, numbers, cycle));
                continue;
            }
            let Some(s) = model.schemas.get_mut(&schema) else {
                continue;
            };
            s.sequences.insert(
                name.clone(),
                Sequence {
                    grants: Vec::new(),
                    name,
                    options: normalize_sequence(&data_type, "bigint", numbers, cycle),
                    owned_by: owner.map(|(s, t, c)| ColumnRef {
                        table: QualifiedName::new(s, t),
                        column: c,
                    }),
                    comment: get(&row, "comment")?,
                    renamed_from: None,
                },
            );
        }

        for row in rows.relations {
            let schema: String = get(&row, "schema")?;
            let name: String = get(&row, "name")?;
            let qualified = format!("{schema}.{name}");
            let kind: String = get(&row, "kind")?;
            let is_partition: bool = get(&row, "is_partition")?;
            let mut options: Vec<String> = get(&row, "options")?;
            // The catalog keeps options in the order they were last set; name order makes
            // equal schemas read (and dump) identically.
            options.sort_by(|a, b| option_name(a).cmp(option_name(b)));
            let managed = matches!(kind.as_str(), "r" | "p" | "v");
            if !managed && get::<bool>(&row, "has_grants")? {
                note(ObjectKind::Grant, format!("privileges on {qualified}"));
            }
            let row_security = RowSecurity {
                enabled: get(&row, "row_security")?,
                forced: get(&row, "force_row_security")?,
            };
            // Managed on plain tables (below); on other relations it is left alone.
            if !row_security.is_off() && (kind != "r" || is_partition) {
                note(
                    ObjectKind::Policy,
                    format!("row-level security enabled on {qualified}"),
                );
            }
            let Some(s) = model.schemas.get_mut(&schema) else {
                continue;
            };
            match (kind.as_str(), is_partition) {
                ("r" | "p", _) => {
                    let inherits: Vec<String> = get(&row, "inherits")?;
                    if !inherits.is_empty() {
                        note(
                            ObjectKind::Other,
                            format!("inheritance of {qualified} from {}", inherits.join(", ")),
                        );
                    }
                    if !options.is_empty() {
                        note(
                            ObjectKind::Other,
                            format!("storage options ({}) on {qualified}", options.join(", ")),
                        );
                    }
                    let persistence = match get::<String>(&row, "persistence")?.as_str() {
                        "u" => Persistence::Unlogged,
                        _ => Persistence::Permanent,
                    };
                    let partition_of = match (
                        get::<Option<String>>(&row, "parent_schema")?,
                        get::<Option<String>>(&row, "parent_name")?,
                        get::<Option<String>>(&row, "partition_bound")?,
                    ) {
                        (Some(ps), Some(pn), Some(bound)) => Some(Partition {
                            parent: QualifiedName::new(ps, pn),
                            bound,
                        }),
                        _ => None,
                    };
                    s.tables.insert(
                        name.clone(),
                        Table {
                            name,
                            persistence,
                            comment: get(&row, "comment")?,
                            partition_by: get(&row, "partition_key")?,
                            partition_of,
                            row_security,
                            ..Table::default()
                        },
                    );
                }
                ("v", _) => {
                    let query: String =
                        get::<Option<String>>(&row, "view_query")?.unwrap_or_default();
                    let query = query.trim().trim_end_matches(';').trim_end().to_string();
                    let options = options_map(&options);
                    s.views.insert(
                        name.clone(),
                        View {
                            grants: Vec::new(),
                            name,
                            query,
                            options,
                            comment: get(&row, "comment")?,
                            renamed_from: None,
                            triggers: Default::default(),
                        },
                    );
                }
                ("f", _) => note(ObjectKind::ForeignTable, qualified),
                ("m", _) => {
                    let query: String =
                        get::<Option<String>>(&row, "view_query")?.unwrap_or_default();
                    s.materialized_views.insert(
                        name.clone(),
                        MaterializedView {
                            name,
                            query: query.trim().trim_end_matches(';').trim_end().to_string(),
                            options: options_map(&options),
                            populated: get(&row, "populated")?,
                            indexes: IndexMap::new(),
                            comment: get(&row, "comment")?,
                            renamed_from: None,
                        },
                    );
                }
                _ => note(ObjectKind::Other, format!("relation {qualified}")),
            }
        }

        for row in rows.columns {
            let schema: String = get(&row, "schema")?;
            let table: String = get(&row, "table_name")?;
            let name: String = get(&row, "name")?;
            let data_type: String = get(&row, "data_type")?;
            let expr: Option<String> = get(&row, "default_expr")?;
            let generated = match get::<String>(&row, "generated")?.as_str() {
                "s" => Some(GeneratedKind::Stored),
                "v" => Some(GeneratedKind::Virtual),
                _ => None,
            };
            let identity_kind = match get::<String>(&row, "identity")?.as_str() {
                "a" => Some(IdentityKind::Always),
                "d" => Some(IdentityKind::ByDefault),
                _ => None,
            };
            let identity = identity_kind.map(|kind| {
                let key = (schema.clone(), table.clone(), name.clone());
                let options = match identity_seqs.get(&key) {
                    Some((seq_type, numbers, cycle)) => {
                        normalize_sequence(seq_type, &data_type, *numbers, *cycle)
                    }
                    None => SequenceOptions::default(),
                };
                Identity { kind, options }
            });
            let (default, generated) = match generated {
                Some(kind) => (
                    None,
                    Some(Generated {
                        expression: expr.unwrap_or_default(),
                        kind,
                    }),
                ),
                None => (expr, None),
            };
            let Some(t) = table_mut(&mut model, &schema, &table) else {
                continue;
            };
            t.columns.insert(
                name.clone(),
                Column {
                    grants: Vec::new(),
                    name,
                    data_type,
                    not_null: get(&row, "not_null")?,
                    default,
                    identity,
                    generated,
                    collation: get(&row, "collation")?,
                    comment: get(&row, "comment")?,
                    renamed_from: None,
                },
            );
        }

        let mut constraint_indexes: HashMap<(String, String), IndexInfo> = HashMap::new();
        for row in rows.indexes {
            let schema: String = get(&row, "schema")?;
            let table: String = get(&row, "table_name")?;
            let name: String = get(&row, "name")?;
            let (keys, include) = index_keys(&row)?;
            let info = IndexInfo {
                method: get(&row, "method")?,
                keys,
                include,
                predicate: get(&row, "predicate")?,
                nulls_not_distinct: get(&row, "nulls_not_distinct")?,
            };
            if get::<bool>(&row, "backs_constraint")? {
                constraint_indexes.insert((schema, name), info);
                continue;
            }
            let indexes = match model.schemas.get_mut(&schema) {
                Some(s) if s.tables.contains_key(&table) => &mut s.tables[&table].indexes,
                Some(s) => match s.materialized_views.get_mut(&table) {
                    Some(m) => &mut m.indexes,
                    None => continue,
                },
                None => continue,
            };
            indexes.insert(
                name.clone(),
                Index {
                    name,
                    unique: get(&row, "is_unique")?,
                    method: info.method,
                    keys: info.keys,
                    include: info.include,
                    predicate: info.predicate,
                    nulls_not_distinct: info.nulls_not_distinct,
                    valid: get(&row, "is_valid")?,
                    comment: get(&row, "comment")?,
                    renamed_from: None,
                },
            );
        }

        for row in rows.constraints {
            let schema: String = get(&row, "schema")?;
            let table: String = get(&row, "table_name")?;
            let name: String = get(&row, "name")?;
            let kind: String = get(&row, "kind")?;
            let columns: Vec<String> = get(&row, "columns")?;
            let comment: Option<String> = get(&row, "comment")?;
            let deferrable = match (
                get::<bool>(&row, "deferrable")?,
                get::<bool>(&row, "deferred")?,
            ) {
                (false, _) => Deferrable::NotDeferrable,
                (true, false) => Deferrable::InitiallyImmediate,
                (true, true) => Deferrable::InitiallyDeferred,
            };
            let index = match get::<Option<String>>(&row, "index_name")? {
                Some(i) => constraint_indexes.remove(&(schema.clone(), i)),
                None => None,
            };
            let Some(t) = table_mut(&mut model, &schema, &table) else {
                continue;
            };
            let include = index
                .as_ref()
                .map(|i| i.include.clone())
                .unwrap_or_default();
            match kind.as_str() {
                "p" => {
                    t.primary_key = Some(PrimaryKey {
                        name,
                        columns,
                        include,
                        deferrable,
                        comment,
                        renamed_from: None,
                    })
                }
                "u" => {
                    t.uniques.insert(
                        name.clone(),
                        Unique {
                            name,
                            columns,
                            include,
                            nulls_not_distinct: index.is_some_and(|i| i.nulls_not_distinct),
                            deferrable,
                            comment,
                            renamed_from: None,
                        },
                    );
                }
                "f" => {
                    let references = QualifiedName::new(
                        get::<Option<String>>(&row, "ref_schema")?.unwrap_or_default(),
                        get::<Option<String>>(&row, "ref_table")?.unwrap_or_default(),
                    );
                    t.foreign_keys.insert(
                        name.clone(),
                        ForeignKey {
                            name,
                            columns,
                            references,
                            referenced_columns: get(&row, "ref_columns")?,
                            on_delete: fk_action(&get::<String>(&row, "on_delete")?),
                            on_update: fk_action(&get::<String>(&row, "on_update")?),
                            match_type: match get::<String>(&row, "match_type")?.as_str() {
                                "f" => FkMatch::Full,
                                _ => FkMatch::Simple,
                            },
                            deferrable,
                            valid: get(&row, "validated")?,
                            comment,
                            renamed_from: None,
                        },
                    );
                }
                "c" => {
                    t.checks.insert(
                        name.clone(),
                        Check {
                            name,
                            expression: get::<Option<String>>(&row, "check_expr")?
                                .unwrap_or_default(),
                            no_inherit: get(&row, "no_inherit")?,
                            valid: get(&row, "validated")?,
                            comment,
                            renamed_from: None,
                        },
                    );
                }
                "x" => {
                    let Some(index) = index else {
                        return Err(CatalogError::Unexpected(format!(
                            "exclusion constraint {name} on {schema}.{table} has no index"
                        )));
                    };
                    let ops: Vec<String> = get(&row, "exclusion_ops")?;
                    let elements = index
                        .keys
                        .into_iter()
                        .zip(ops)
                        .map(|(key, operator)| ExclusionElement { key, operator })
                        .collect();
                    t.exclusions.insert(
                        name.clone(),
                        Exclusion {
                            name,
                            method: index.method,
                            elements,
                            include: index.include,
                            predicate: index.predicate,
                            deferrable,
                            comment,
                            renamed_from: None,
                        },
                    );
                }
                _ => {}
            }
        }

        super::routines::functions(&mut model, rows.functions)?;
        super::routines::triggers(&mut model, rows.triggers, &mut note)?;
        for row in rows.policies {
            let schema: String = get(&row, "schema")?;
            let table: String = get(&row, "table_name")?;
            let Some(t) = table_mut(&mut model, &schema, &table) else {
                continue;
            };
            let mut roles: Vec<String> = get::<Vec<Option<String>>>(&row, "roles")?
                .into_iter()
                .flatten()
                .collect();
            // Byte order, as declarations sort them (the server's collation may differ).
            roles.sort();
            roles.dedup();
            let policy = Policy {
                name: get(&row, "name")?,
                permissive: get(&row, "permissive")?,
                command: match get::<String>(&row, "command")?.as_str() {
                    "r" => PolicyCommand::Select,
                    "a" => PolicyCommand::Insert,
                    "w" => PolicyCommand::Update,
                    "d" => PolicyCommand::Delete,
                    _ => PolicyCommand::All,
                },
                roles,
                using: get(&row, "using_expr")?,
                with_check: get(&row, "check_expr")?,
                comment: get(&row, "comment")?,
                renamed_from: None,
            };
            t.policies.insert(policy.name.clone(), policy);
        }

        for row in rows.unmanaged {
            let kind = match get::<String>(&row, "kind")?.as_str() {
                "function" => ObjectKind::Function,
                "procedure" => ObjectKind::Procedure,
                "aggregate" => ObjectKind::Aggregate,
                "trigger" => ObjectKind::Trigger,
                "policy" => ObjectKind::Policy,
                "rule" => ObjectKind::Rule,
                "event trigger" => ObjectKind::EventTrigger,
                "publication" => ObjectKind::Publication,
                "subscription" => ObjectKind::Subscription,
                "grant" => ObjectKind::Grant,
                _ => ObjectKind::Other,
            };
            note(kind, get(&row, "name")?);
        }

        for row in rows.privileges {
            if let Some(object) = attach_grant(&mut model, &row)? {
                // An object the model does not hold (an identity's sequence, say): its
                // privileges are not managed, and saying so beats dropping them silently.
                note(ObjectKind::Grant, format!("privileges on {object}"));
            }
        }
        for s in model.schemas.values_mut() {
            normalize_grants(&mut s.grants);
            normalize_default_grants(&mut s.default_grants);
            s.sequences
                .values_mut()
                .for_each(|q| normalize_grants(&mut q.grants));
            s.views
                .values_mut()
                .for_each(|v| normalize_grants(&mut v.grants));
            s.functions
                .values_mut()
                .for_each(|f| normalize_grants(&mut f.grants));
            for t in s.tables.values_mut() {
                normalize_grants(&mut t.grants);
                t.columns
                    .values_mut()
                    .for_each(|c| normalize_grants(&mut c.grants));
            }
        }

        unmanaged.sort();
        unmanaged.dedup();
        Ok(Catalog {
            model,
            unmanaged,
            server,
            roles: Some(roles),
        })
    }
}

/// `name=value` reloptions by name.
fn options_map(options: &[String]) -> IndexMap<String, String> {
    options
        .iter()
        .map(|o| match o.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (o.clone(), String::new()),
        })
        .collect()
}

/// Put one row of privileges.sql on its object. When the model does not hold the object,
/// its description (`sequence public.t_id_seq`) is returned instead.
fn attach_grant(model: &mut Model, row: &Row) -> Result<Option<String>, CatalogError> {
    let kind: String = get(row, "kind")?;
    let schema: String = get(row, "schema")?;
    let name: String = get(row, "name")?;
    let grant = Grant {
        grantee: match get::<Option<String>>(row, "grantee")? {
            None => Grantee::Public,
            Some(role) => Grantee::Role(role),
        },
        privileges: get(row, "privileges")?,
        with_grant_option: get(row, "grantable")?,
    };
    let column: Option<String> = get(row, "column_name")?;
    let object = match &column {
        Some(c) => format!("column {schema}.{name}.{c}"),
        None if kind == "schema" => format!("schema {schema}"),
        None => format!("{kind} {schema}.{name}"),
    };
    let Some(s) = model.schemas.get_mut(&schema) else {
        return Ok(Some(object));
    };
    if kind == "default" {
        s.default_grants.push(DefaultGrant {
            for_role: name,
            on: column.unwrap_or_default(),
            grant,
        });
        return Ok(None);
    }
    let list = match kind.as_str() {
        "schema" => Some(&mut s.grants),
        "sequence" => s.sequences.get_mut(&name).map(|q| &mut q.grants),
        "view" => s.views.get_mut(&name).map(|v| &mut v.grants),
        "table" => s.tables.get_mut(&name).map(|t| &mut t.grants),
        "column" => s
            .tables
            .get_mut(&name)
            .and_then(|t| t.columns.get_mut(column.as_deref().unwrap_or_default()))
            .map(|c| &mut c.grants),
        "function" | "procedure" => match s.functions.get_mut(&name) {
            Some(f) => Some(&mut f.grants),
            // formwork's own routines are not the user's objects, whatever default privileges
            // gave them; any other routine the model leaves out with the default access list
            // has nothing anyone granted, so nothing to report.
            None if get::<bool>(row, "default_acl")?
                || super::routines::is_transitional(name.split('(').next().unwrap_or_default()) =>
            {
                return Ok(None);
            }
            None => None,
        },
        _ => None,
    };
    Ok(match list {
        Some(list) => {
            list.push(grant);
            None
        }
        None => Some(object),
    })
}

/// The name of a `name=value` reloption.
fn option_name(option: &str) -> &str {
    option.split_once('=').map_or(option, |(name, _)| name)
}

fn table_mut<'m>(model: &'m mut Model, schema: &str, table: &str) -> Option<&'m mut Table> {
    model.schemas.get_mut(schema)?.tables.get_mut(table)
}

fn fk_action(code: &str) -> FkAction {
    match code {
        "r" => FkAction::Restrict,
        "c" => FkAction::Cascade,
        "n" => FkAction::SetNull,
        "d" => FkAction::SetDefault,
        _ => FkAction::NoAction,
    }
}

/// Key columns/expressions with their options, and the INCLUDE columns, from the parallel
/// arrays of indexes.sql.
fn index_keys(row: &Row) -> Result<(Vec<IndexKey>, Vec<String>), CatalogError> {
    let key_count = get::<i32>(row, "key_count")?.max(0) as usize;
    let exprs: Vec<Option<String>> = get(row, "key_exprs")?;
    let columns: Vec<Option<String>> = get(row, "key_columns")?;
    let options: Vec<i32> = get(row, "key_options")?;
    let opclasses: Vec<Option<String>> = get(row, "key_opclasses")?;
    let collations: Vec<Option<String>> = get(row, "key_collations")?;
    let mut keys = Vec::new();
    let mut include = Vec::new();
    for (i, column) in columns.iter().enumerate() {
        if i >= key_count {
            if let Some(c) = column {
                include.push(c.clone());
            }
            continue;
        }
        let target = match (column, exprs.get(i).cloned().flatten()) {
            (Some(c), _) => IndexKeyTarget::Column(c.clone()),
            (None, Some(e)) => IndexKeyTarget::Expression(e),
            (None, None) => {
                return Err(CatalogError::Unexpected(
                    "index key with neither column nor expression".into(),
                ));
            }
        };
        let option = options.get(i).copied().unwrap_or(0);
        // indoption bit 0: DESC; bit 1: NULLS FIRST.
        let descending = option & 1 != 0;
        let nulls_first = option & 2 != 0;
        keys.push(IndexKey {
            target,
            collation: collations.get(i).cloned().flatten(),
            opclass: opclasses.get(i).cloned().flatten(),
            descending,
            nulls_first: (nulls_first != descending).then_some(nulls_first),
        });
    }
    Ok((keys, include))
}

/// Sequence options with every value equal to PostgreSQL's default for the data type and
/// direction replaced by `None` (see [`SequenceOptions`]). `numbers` is start, increment,
/// minimum, maximum, cache; `default_type` is the type assumed when none is declared (`bigint`
/// for a sequence, the column's type for an identity).
pub fn normalize_sequence(
    data_type: &str,
    default_type: &str,
    numbers: [i64; 5],
    cycle: bool,
) -> SequenceOptions {
    let [start, increment, min, max, cache] = numbers;
    let (type_min, type_max) = match data_type {
        "smallint" => (i16::MIN as i64, i16::MAX as i64),
        "integer" => (i32::MIN as i64, i32::MAX as i64),
        _ => (i64::MIN, i64::MAX),
    };
    let ascending = increment > 0;
    let default_min = if ascending { 1 } else { type_min };
    let default_max = if ascending { type_max } else { -1 };
    let default_start = if ascending { min } else { max };
    SequenceOptions {
        data_type: (data_type != default_type).then(|| data_type.to_string()),
        start: (start != default_start).then_some(start),
        increment: (increment != 1).then_some(increment),
        min_value: (min != default_min).then_some(min),
        max_value: (max != default_max).then_some(max),
        cache: (cache != 1).then_some(cache),
        cycle,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_sequence_options_normalize_to_none() {
        let o = normalize_sequence("bigint", "bigint", [1, 1, 1, i64::MAX, 1], false);
        assert_eq!(o, SequenceOptions::default());
        let serial = normalize_sequence("integer", "integer", [1, 1, 1, i32::MAX as i64, 1], false);
        assert_eq!(serial, SequenceOptions::default());
        let down = normalize_sequence("bigint", "bigint", [-1, -1, i64::MIN, -1, 1], false);
        assert_eq!(down.increment, Some(-1));
        assert_eq!(
            (down.start, down.min_value, down.max_value),
            (None, None, None)
        );
    }

    #[test]
    fn non_default_sequence_options_are_kept() {
        let o = normalize_sequence("integer", "bigint", [100, 5, 10, 1000, 20], true);
        assert_eq!(o.data_type.as_deref(), Some("integer"));
        assert_eq!(o.start, Some(100));
        assert_eq!(o.increment, Some(5));
        assert_eq!(o.min_value, Some(10));
        assert_eq!(o.max_value, Some(1000));
        assert_eq!(o.cache, Some(20));
        assert!(o.cycle);
        // A start equal to a non-default minimum is still the default start.
        let s = normalize_sequence("bigint", "bigint", [10, 1, 10, i64::MAX, 1], false);
        assert_eq!((s.start, s.min_value), (None, Some(10)));
    }

    #[test]
    fn index_query_adapts_to_the_server_version() {
        assert!(expand(INDEXES, 150000).contains("i.indnullsnotdistinct AS"));
        assert!(expand(INDEXES, 140010).contains("false AS nulls_not_distinct"));
    }

    #[test]
    fn every_placeholder_in_every_query_is_expanded() {
        for sql in [
            SERVER,
            SCHEMAS,
            EXTENSIONS,
            TYPES,
            SEQUENCES,
            RELATIONS,
            COLUMNS,
            INDEXES,
            CONSTRAINTS,
            UNMANAGED,
            POLICIES,
        ] {
            let expanded = expand(sql, 180000);
            assert!(!expanded.contains("{{"), "{expanded}");
        }
    }
}
