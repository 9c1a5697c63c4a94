-- Primary keys, unique, foreign key, check and exclusion constraints of plain tables.
-- PostgreSQL 18 also keeps NOT NULL constraints here (contype 'n'); they are read from
-- pg_attribute.attnotnull instead, so the contype list below leaves them out on purpose.
-- Index-backed details (INCLUDE columns, exclusion elements, NULLS NOT DISTINCT) come from
-- indexes.sql through index_name.
--
-- Shape: the constraints are filtered once, their key arrays unnested set-wise and aggregated
-- per constraint (as in indexes.sql); correlated ARRAY(...) subqueries per constraint cost a
-- small plan each on large schemas. Element names come from scalar subqueries, which are
-- always index probes (as a join the planner tends to hash all of pg_attribute), and a key
-- whose name is not found is left out, as the join it replaces did.
WITH con AS (
    SELECT con.oid, con.conrelid, con.confrelid, con.conkey, con.confkey, con.conexclop,
           n.nspname, c.relname, con.conname, con.contype, con.condeferrable, con.condeferred,
           con.convalidated, con.connoinherit, con.confupdtype, con.confdeltype,
           con.confmatchtype, con.conbin, con.conindid
    FROM pg_catalog.pg_constraint con
    JOIN pg_catalog.pg_class c ON c.oid = con.conrelid
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE con.contype IN ('p', 'u', 'f', 'c', 'x')
      AND c.relkind = 'r' AND NOT c.relispartition
      AND {{user_schema n}}
      AND {{not_extension_member pg_class c.oid}}
),
key_names AS (
    -- Key columns (side 'k', of conrelid) and referenced columns (side 'f', of confrelid).
    SELECT k.oid, k.side,
           array_agg(k.attname::text ORDER BY k.ord) FILTER (WHERE k.attname IS NOT NULL)
               AS names
    FROM (SELECT con.oid, s.side, u.ord,
                 (SELECT a.attname FROM pg_catalog.pg_attribute a
                  WHERE a.attrelid = s.rel AND a.attnum = u.attnum) AS attname
          FROM con
          CROSS JOIN LATERAL (VALUES ('k', con.conrelid, con.conkey),
                                     ('f', con.confrelid, con.confkey)) AS s(side, rel, attnums)
          CROSS JOIN LATERAL unnest(s.attnums) WITH ORDINALITY AS u(attnum, ord)) k
    GROUP BY k.oid, k.side
),
ex_ops AS (
    SELECT con.oid,
           array_agg(CASE WHEN o.oprnamespace = 'pg_catalog'::regnamespace THEN o.oprname::text
                          ELSE onsp.nspname::text || '.' || o.oprname::text END
                     ORDER BY x.ord) AS exclusion_ops
    FROM con
    CROSS JOIN LATERAL unnest(con.conexclop) WITH ORDINALITY AS x(opr, ord)
    JOIN pg_catalog.pg_operator o ON o.oid = x.opr
    JOIN pg_catalog.pg_namespace onsp ON onsp.oid = o.oprnamespace
    GROUP BY con.oid
)
SELECT con.nspname::text AS schema,
       con.relname::text AS table_name,
       con.conname::text AS name,
       con.contype::text AS kind,
       con.condeferrable AS deferrable,
       con.condeferred AS deferred,
       con.convalidated AS validated,
       con.connoinherit AS no_inherit,
       COALESCE(keys.names, '{}') AS columns,
       fn.nspname::text AS ref_schema,
       fc.relname::text AS ref_table,
       COALESCE(ref_keys.names, '{}') AS ref_columns,
       con.confupdtype::text AS on_update,
       con.confdeltype::text AS on_delete,
       con.confmatchtype::text AS match_type,
       CASE WHEN con.contype = 'c' THEN pg_catalog.pg_get_expr(con.conbin, con.conrelid, true) END
           AS check_expr,
       COALESCE(ex_ops.exclusion_ops, '{}') AS exclusion_ops,
       CASE WHEN con.contype IN ('p', 'u', 'x') THEN ic.relname::text END AS index_name,
       d.description AS comment
FROM con
LEFT JOIN key_names keys ON keys.oid = con.oid AND keys.side = 'k'
LEFT JOIN key_names ref_keys ON ref_keys.oid = con.oid AND ref_keys.side = 'f'
LEFT JOIN ex_ops ON ex_ops.oid = con.oid
LEFT JOIN pg_catalog.pg_class fc ON fc.oid = con.confrelid AND con.contype = 'f'
LEFT JOIN pg_catalog.pg_namespace fn ON fn.oid = fc.relnamespace
LEFT JOIN pg_catalog.pg_class ic ON ic.oid = con.conindid
LEFT JOIN pg_catalog.pg_description d
       ON d.objoid = con.oid AND d.classoid = 'pg_catalog.pg_constraint'::regclass
      AND d.objsubid = 0
ORDER BY 1, 2, 3
