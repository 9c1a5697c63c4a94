-- User-defined types: enums with their labels in sort order; domains, composite and range types
-- are only named (not managed yet). Array types, table row types and multiranges (made
-- implicitly with their range) are not listed.
SELECT n.nspname::text AS schema,
       t.typname::text AS name,
       t.typtype::text AS kind,
       CASE WHEN t.typtype = 'e' THEN
            ARRAY(SELECT e.enumlabel::text FROM pg_catalog.pg_enum e
                  WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder)
       END AS labels,
       d.description AS comment
FROM pg_catalog.pg_type t
JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
LEFT JOIN pg_catalog.pg_class c ON c.oid = t.typrelid
LEFT JOIN pg_catalog.pg_description d
       ON d.objoid = t.oid AND d.classoid = 'pg_catalog.pg_type'::regclass AND d.objsubid = 0
WHERE {{user_schema n}}
  AND (t.typtype IN ('e', 'd', 'r') OR (t.typtype = 'c' AND c.relkind = 'c'))
  AND {{not_extension_member pg_type t.oid}}
ORDER BY 1, 2
