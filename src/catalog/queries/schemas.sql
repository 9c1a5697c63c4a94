-- User schemas: not system schemas, not formwork's own, not created by an extension.
SELECT n.nspname::text AS name,
       d.description AS comment
FROM pg_catalog.pg_namespace n
LEFT JOIN pg_catalog.pg_description d
       ON d.objoid = n.oid AND d.classoid = 'pg_catalog.pg_namespace'::regclass AND d.objsubid = 0
WHERE {{user_schema n}}
  AND {{not_extension_member pg_namespace n.oid}}
ORDER BY 1
