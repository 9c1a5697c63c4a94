-- Privileges on schemas, tables, views, sequences and columns, and default privileges in
-- schemas (kind `default`, the role they are for as `name`, the object kind as `column_name`):
-- one row per object, grantee and grant option, with the privileges in an array. The owner's own entries are left out (the
-- model holds no owners; see model::privileges), and so is the `public` schema, whose access
-- list each major initialises differently. Rows for objects the model does not hold are
-- ignored by the assembly.
WITH user_ns AS (
    SELECT n.oid, n.nspname, n.nspowner, n.nspacl
    FROM pg_catalog.pg_namespace n WHERE {{user_schema n}}
), acl AS (
    SELECT 'schema' AS kind, n.nspname AS schema, n.nspname AS name, NULL::name AS col,
           n.nspowner AS owner, n.nspacl AS acl
    FROM user_ns n
    WHERE n.nspacl IS NOT NULL AND n.nspname <> 'public'
    UNION ALL
    SELECT CASE c.relkind WHEN 'S' THEN 'sequence' WHEN 'v' THEN 'view' ELSE 'table' END,
           n.nspname, c.relname, NULL, c.relowner, c.relacl
    FROM pg_catalog.pg_class c
    JOIN user_ns n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'v', 'S') AND NOT c.relispartition AND c.relacl IS NOT NULL
      AND {{not_extension_member pg_class c.oid}}
    UNION ALL
    SELECT 'column', n.nspname, c.relname, a.attname, c.relowner, a.attacl
    FROM pg_catalog.pg_attribute a
    JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
    JOIN user_ns n ON n.oid = c.relnamespace
    WHERE c.relkind = 'r' AND NOT c.relispartition AND a.attnum > 0 AND NOT a.attisdropped
      AND a.attacl IS NOT NULL
      AND {{not_extension_member pg_class c.oid}}
    UNION ALL
    -- In-schema default privileges only add to the server-wide ones (listed as unmanaged).
    SELECT 'default', n.nspname, pg_catalog.pg_get_userbyid(d.defaclrole),
           CASE d.defaclobjtype WHEN 'r' THEN 'tables' WHEN 'S' THEN 'sequences'
                                WHEN 'f' THEN 'functions' WHEN 'T' THEN 'types' END,
           NULL, d.defaclacl
    FROM pg_catalog.pg_default_acl d
    JOIN user_ns n ON n.oid = d.defaclnamespace
    WHERE d.defaclobjtype IN ('r', 'S', 'f', 'T')
)
SELECT acl.kind,
       acl.schema::text AS schema,
       acl.name::text AS name,
       acl.col::text AS column_name,
       CASE WHEN e.grantee = 0 THEN NULL ELSE pg_catalog.pg_get_userbyid(e.grantee)::text END
           AS grantee,
       e.is_grantable AS grantable,
       array_agg(e.privilege_type::text ORDER BY e.privilege_type) AS privileges
FROM acl, LATERAL pg_catalog.aclexplode(acl.acl) e
WHERE e.grantee IS DISTINCT FROM acl.owner
GROUP BY 1, 2, 3, 4, 5, 6
ORDER BY 1, 2, 3, 4, 5, 6
