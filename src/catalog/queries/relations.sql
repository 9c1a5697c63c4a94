-- Tables, views, materialized views and the relation kinds formwork does not manage yet
-- (partitioned tables, partitions, foreign tables), with view definitions and options.
SELECT n.nspname::text AS schema,
       c.relname::text AS name,
       c.relkind::text AS kind,
       c.relispartition AS is_partition,
       c.relpersistence::text AS persistence,
       c.relrowsecurity AS row_security,
       c.relforcerowsecurity AS force_row_security,
       (c.relacl IS NOT NULL) AS has_grants,
       COALESCE(c.reloptions, '{}')::text[] AS options,
       CASE WHEN c.relkind IN ('v', 'm') THEN pg_catalog.pg_get_viewdef(c.oid, true) END
           AS view_query,
       c.relispopulated AS populated,
       ARRAY(SELECT pn.nspname::text || '.' || pc.relname::text
             FROM pg_catalog.pg_inherits i
             JOIN pg_catalog.pg_class pc ON pc.oid = i.inhparent
             JOIN pg_catalog.pg_namespace pn ON pn.oid = pc.relnamespace
             WHERE i.inhrelid = c.oid AND NOT c.relispartition
             ORDER BY i.inhseqno) AS inherits,
       d.description AS comment
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_description d
       ON d.objoid = c.oid AND d.classoid = 'pg_catalog.pg_class'::regclass AND d.objsubid = 0
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND {{user_schema n}}
  AND {{not_extension_member pg_class c.oid}}
ORDER BY 1, 2
