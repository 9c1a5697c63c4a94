-- Indexes of plain tables, one row per index with its keys as parallel arrays (one element
-- per index column, key columns first, then INCLUDE columns). Indexes backing a constraint are
-- flagged so they are attached to the constraint rather than listed as indexes.
-- {{nulls_not_distinct}} is indnullsnotdistinct on PostgreSQL 15+ and false before.
SELECT n.nspname::text AS schema,
       c.relname::text AS table_name,
       ic.relname::text AS name,
       i.indisunique AS is_unique,
       i.indisvalid AS is_valid,
       am.amname::text AS method,
       i.indnkeyatts::int AS key_count,
       {{nulls_not_distinct}} AS nulls_not_distinct,
       pg_catalog.pg_get_expr(i.indpred, i.indrelid, true) AS predicate,
       EXISTS (SELECT 1 FROM pg_catalog.pg_constraint con
               WHERE con.conindid = i.indexrelid AND con.conrelid = i.indrelid
                 AND con.contype IN ('p', 'u', 'x')) AS backs_constraint,
       ARRAY(SELECT CASE WHEN i.indkey[k.k - 1] = 0
                         THEN pg_catalog.pg_get_indexdef(i.indexrelid, k.k, true) END
             FROM generate_series(1, i.indnatts) AS k(k) ORDER BY k.k) AS key_exprs,
       ARRAY(SELECT ta.attname::text
             FROM generate_series(1, i.indnatts) AS k(k)
             LEFT JOIN pg_catalog.pg_attribute ta
                    ON ta.attrelid = i.indrelid AND ta.attnum = i.indkey[k.k - 1]
             ORDER BY k.k) AS key_columns,
       ARRAY(SELECT COALESCE(i.indoption[k.k - 1], 0)::int
             FROM generate_series(1, i.indnatts) AS k(k) ORDER BY k.k) AS key_options,
       ARRAY(SELECT CASE WHEN opc.opcdefault OR opc.oid IS NULL THEN NULL
                         WHEN opc.opcnamespace = 'pg_catalog'::regnamespace THEN opc.opcname::text
                         ELSE opn.nspname::text || '.' || opc.opcname::text END
             FROM generate_series(1, i.indnatts) AS k(k)
             LEFT JOIN pg_catalog.pg_opclass opc
                    ON opc.oid = i.indclass[k.k - 1] AND k.k <= i.indnkeyatts
             LEFT JOIN pg_catalog.pg_namespace opn ON opn.oid = opc.opcnamespace
             ORDER BY k.k) AS key_opclasses,
       ARRAY(SELECT CASE WHEN co.oid IS NULL THEN NULL
                         WHEN co.oid = COALESCE(ta.attcollation, it.typcollation) THEN NULL
                         WHEN co.collnamespace = 'pg_catalog'::regnamespace THEN co.collname::text
                         ELSE con.nspname::text || '.' || co.collname::text END
             FROM generate_series(1, i.indnatts) AS k(k)
             LEFT JOIN pg_catalog.pg_attribute ta
                    ON ta.attrelid = i.indrelid AND ta.attnum = i.indkey[k.k - 1]
             LEFT JOIN pg_catalog.pg_attribute ia
                    ON ia.attrelid = i.indexrelid AND ia.attnum = k.k
             LEFT JOIN pg_catalog.pg_type it ON it.oid = ia.atttypid
             LEFT JOIN pg_catalog.pg_collation co
                    ON co.oid = i.indcollation[k.k - 1] AND k.k <= i.indnkeyatts
             LEFT JOIN pg_catalog.pg_namespace con ON con.oid = co.collnamespace
             ORDER BY k.k) AS key_collations,
       d.description AS comment
FROM pg_catalog.pg_index i
JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
JOIN pg_catalog.pg_class c ON c.oid = i.indrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_am am ON am.oid = ic.relam
LEFT JOIN pg_catalog.pg_description d
       ON d.objoid = ic.oid AND d.classoid = 'pg_catalog.pg_class'::regclass AND d.objsubid = 0
WHERE c.relkind = 'r' AND NOT c.relispartition
  AND {{user_schema n}}
  AND {{not_extension_member pg_class c.oid}}
ORDER BY 1, 2, 3
