-- Indexes of plain tables and materialized views, one row per index with its keys as parallel arrays (one element
-- per index column, key columns first, then INCLUDE columns). Indexes backing a constraint are
-- flagged so they are attached to the constraint rather than listed as indexes.
-- {{nulls_not_distinct}} is indnullsnotdistinct on PostgreSQL 15+ and false before.
--
-- Shape: the index columns of all indexes are unnested once and joined set-wise, then
-- aggregated per index. (Correlated ARRAY(...) subqueries per index cost a small plan per
-- index and key kind and made this the slowest catalog query on large schemas.) indclass,
-- indcollation and indoption only cover key columns, so INCLUDE positions come out NULL.
WITH idx AS (
    SELECT i.indexrelid, i.indrelid, i.indkey, i.indclass, i.indcollation, i.indoption,
           n.nspname, c.relname AS table_name, ic.relname AS index_name
    FROM pg_catalog.pg_index i
    JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
    JOIN pg_catalog.pg_class c ON c.oid = i.indrelid
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'm') AND NOT c.relispartition
      AND {{user_schema n}}
      AND {{not_extension_member pg_class c.oid}}
),
cols AS (
    -- Scalar subqueries rather than joins for the two pg_attribute lookups: they are always
    -- index probes, where a join tempts the planner into hashing all of pg_attribute.
    SELECT idx.indexrelid, idx.nspname, idx.table_name, idx.index_name,
           k.ord, k.attnum, k.opclass, k.coll, k.opt,
           (SELECT ta.attname FROM pg_catalog.pg_attribute ta
            WHERE ta.attrelid = idx.indrelid AND ta.attnum = k.attnum AND k.attnum <> 0)
               AS attname,
           COALESCE((SELECT ta.attcollation FROM pg_catalog.pg_attribute ta
                     WHERE ta.attrelid = idx.indrelid AND ta.attnum = k.attnum
                       AND k.attnum <> 0),
                    (SELECT it.typcollation FROM pg_catalog.pg_attribute ia
                     JOIN pg_catalog.pg_type it ON it.oid = ia.atttypid
                     WHERE ia.attrelid = idx.indexrelid AND ia.attnum = k.ord))
               AS default_collation
    FROM idx
    CROSS JOIN LATERAL unnest(idx.indkey::int2[], idx.indclass::oid[],
                              idx.indcollation::oid[], idx.indoption::int2[])
               WITH ORDINALITY AS k(attnum, opclass, coll, opt, ord)
),
keys AS (
    SELECT cols.indexrelid, cols.nspname, cols.table_name, cols.index_name,
           array_agg(CASE WHEN cols.attnum = 0
                          THEN pg_catalog.pg_get_indexdef(cols.indexrelid, cols.ord::int, true) END
                     ORDER BY cols.ord) AS key_exprs,
           array_agg(cols.attname::text ORDER BY cols.ord) AS key_columns,
           array_agg(COALESCE(cols.opt, 0)::int ORDER BY cols.ord) AS key_options,
           array_agg(CASE WHEN opc.opcdefault OR opc.oid IS NULL THEN NULL
                          WHEN opc.opcnamespace = 'pg_catalog'::regnamespace THEN opc.opcname::text
                          ELSE opn.nspname::text || '.' || opc.opcname::text END
                     ORDER BY cols.ord) AS key_opclasses,
           array_agg(CASE WHEN co.oid IS NULL THEN NULL
                          WHEN co.oid = cols.default_collation THEN NULL
                          WHEN co.collnamespace = 'pg_catalog'::regnamespace THEN co.collname::text
                          ELSE con.nspname::text || '.' || co.collname::text END
                     ORDER BY cols.ord) AS key_collations
    FROM cols
    LEFT JOIN pg_catalog.pg_opclass opc ON opc.oid = cols.opclass
    LEFT JOIN pg_catalog.pg_namespace opn ON opn.oid = opc.opcnamespace
    LEFT JOIN pg_catalog.pg_collation co ON co.oid = cols.coll
    LEFT JOIN pg_catalog.pg_namespace con ON con.oid = co.collnamespace
    GROUP BY cols.indexrelid, cols.nspname, cols.table_name, cols.index_name
)
SELECT keys.nspname::text AS schema,
       keys.table_name::text AS table_name,
       keys.index_name::text AS name,
       i.indisunique AS is_unique,
       i.indisvalid AS is_valid,
       am.amname::text AS method,
       i.indnkeyatts::int AS key_count,
       {{nulls_not_distinct}} AS nulls_not_distinct,
       pg_catalog.pg_get_expr(i.indpred, i.indrelid, true) AS predicate,
       EXISTS (SELECT 1 FROM pg_catalog.pg_constraint con
               WHERE con.conindid = i.indexrelid AND con.conrelid = i.indrelid
                 AND con.contype IN ('p', 'u', 'x')) AS backs_constraint,
       keys.key_exprs,
       keys.key_columns,
       keys.key_options,
       keys.key_opclasses,
       keys.key_collations,
       d.description AS comment
FROM keys
JOIN pg_catalog.pg_index i ON i.indexrelid = keys.indexrelid
JOIN pg_catalog.pg_class ic ON ic.oid = keys.indexrelid
JOIN pg_catalog.pg_am am ON am.oid = ic.relam
LEFT JOIN pg_catalog.pg_description d
       ON d.objoid = keys.indexrelid AND d.classoid = 'pg_catalog.pg_class'::regclass
      AND d.objsubid = 0
ORDER BY 1, 2, 3
