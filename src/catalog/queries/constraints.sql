-- Primary keys, unique, foreign key, check and exclusion constraints of plain and partitioned
-- tables, and the local ones of partitions (those inherited from the parent are the parent's).
-- PostgreSQL 18 also keeps NOT NULL constraints here (contype 'n'); they are read from
-- pg_attribute.attnotnull instead, so the contype list below leaves them out on purpose.
-- Index-backed details (INCLUDE columns, exclusion elements, NULLS NOT DISTINCT) come from
-- indexes.sql through index_name.
SELECT n.nspname::text AS schema,
       c.relname::text AS table_name,
       con.conname::text AS name,
       con.contype::text AS kind,
       con.condeferrable AS deferrable,
       con.condeferred AS deferred,
       con.convalidated AS validated,
       con.connoinherit AS no_inherit,
       ARRAY(SELECT a.attname::text
             FROM unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
             JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
             ORDER BY k.ord) AS columns,
       fn.nspname::text AS ref_schema,
       fc.relname::text AS ref_table,
       ARRAY(SELECT a.attname::text
             FROM unnest(con.confkey) WITH ORDINALITY AS k(attnum, ord)
             JOIN pg_catalog.pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum
             ORDER BY k.ord) AS ref_columns,
       con.confupdtype::text AS on_update,
       con.confdeltype::text AS on_delete,
       con.confmatchtype::text AS match_type,
       CASE WHEN con.contype = 'c' THEN pg_catalog.pg_get_expr(con.conbin, con.conrelid, true) END
           AS check_expr,
       ARRAY(SELECT CASE WHEN o.oprnamespace = 'pg_catalog'::regnamespace THEN o.oprname::text
                         ELSE onsp.nspname::text || '.' || o.oprname::text END
             FROM unnest(con.conexclop) WITH ORDINALITY AS x(opr, ord)
             JOIN pg_catalog.pg_operator o ON o.oid = x.opr
             JOIN pg_catalog.pg_namespace onsp ON onsp.oid = o.oprnamespace
             ORDER BY x.ord) AS exclusion_ops,
       CASE WHEN con.contype IN ('p', 'u', 'x') THEN ic.relname::text END AS index_name,
       d.description AS comment
FROM pg_catalog.pg_constraint con
JOIN pg_catalog.pg_class c ON c.oid = con.conrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_class fc ON fc.oid = con.confrelid AND con.contype = 'f'
LEFT JOIN pg_catalog.pg_namespace fn ON fn.oid = fc.relnamespace
LEFT JOIN pg_catalog.pg_class ic ON ic.oid = con.conindid
LEFT JOIN pg_catalog.pg_description d
       ON d.objoid = con.oid AND d.classoid = 'pg_catalog.pg_constraint'::regclass
      AND d.objsubid = 0
WHERE con.contype IN ('p', 'u', 'f', 'c', 'x')
  -- Temporal keys (18+: WITHOUT OVERLAPS, PERIOD) are not managed; unmanaged.sql lists them.
  AND NOT {{conperiod}}
  AND c.relkind IN ('r', 'p') AND (NOT c.relispartition OR con.conislocal)
  AND {{user_schema n}}
  AND {{not_extension_member pg_class c.oid}}
ORDER BY 1, 2, 3
