-- Privileges on schemas, tables, views, sequences, columns, functions and procedures, and
-- default privileges in schemas (kind `default`, the role they are for as `name`, the object
-- kind as `column_name`): one row per object, grantee and grant option, with the privileges in
-- an array. The owner's own entries are left out (the model holds no owners; see
-- model::privileges), and so is the `public` schema, whose access list each major initialises
-- differently. A routine is named by its key in the model, `name(type, ...)` over its input
-- arguments; its NULL access list is read as PostgreSQL's default (EXECUTE for PUBLIC), flagged
-- `default_acl` so that routines the model does not hold (formwork's own transitional ones) are
-- not reported for it. Aggregates and window functions are left to unmanaged.sql. Rows for
-- objects the model does not hold are otherwise ignored by the assembly and listed as unmanaged.
WITH user_ns AS (
    SELECT n.oid, n.nspname, n.nspowner, n.nspacl
    FROM pg_catalog.pg_namespace n WHERE {{user_schema n}}
), acl AS (
    SELECT 'schema' AS kind, n.nspname AS schema, n.nspname::text AS name, NULL::name AS col,
           n.nspowner AS owner, n.nspacl AS acl, false AS default_acl
    FROM user_ns n
    WHERE n.nspacl IS NOT NULL AND n.nspname <> 'public'
    UNION ALL
    SELECT CASE c.relkind WHEN 'S' THEN 'sequence' WHEN 'v' THEN 'view' ELSE 'table' END,
           n.nspname, c.relname::text, NULL, c.relowner, c.relacl, false
    FROM pg_catalog.pg_class c
    JOIN user_ns n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'v', 'S') AND c.relacl IS NOT NULL
      AND {{not_extension_member pg_class c.oid}}
    UNION ALL
    SELECT 'column', n.nspname, c.relname::text, a.attname, c.relowner, a.attacl, false
    FROM pg_catalog.pg_attribute a
    JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
    JOIN user_ns n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND a.attnum > 0 AND NOT a.attisdropped
      AND a.attacl IS NOT NULL
      AND {{not_extension_member pg_class c.oid}}
    UNION ALL
    -- In-schema default privileges only add to the server-wide ones (listed as unmanaged).
    SELECT 'default', n.nspname, pg_catalog.pg_get_userbyid(d.defaclrole)::text,
           CASE d.defaclobjtype WHEN 'r' THEN 'tables' WHEN 'S' THEN 'sequences'
                                WHEN 'f' THEN 'functions' WHEN 'T' THEN 'types' END,
           NULL, d.defaclacl, false
    FROM pg_catalog.pg_default_acl d
    JOIN user_ns n ON n.oid = d.defaclnamespace
    WHERE d.defaclobjtype IN ('r', 'S', 'f', 'T')
    UNION ALL
    SELECT CASE p.prokind WHEN 'p' THEN 'procedure' ELSE 'function' END, n.nspname,
           p.proname::text || '(' || pg_catalog.array_to_string(ARRAY(
               -- As functions.sql reads the arguments: OUT and TABLE ones are not in the key.
               SELECT pg_catalog.format_type(a.t, NULL)
               FROM pg_catalog.unnest(COALESCE(p.proallargtypes, p.proargtypes::pg_catalog.oid[]))
                    WITH ORDINALITY AS a(t, i)
               WHERE COALESCE(p.proargmodes[a.i], 'i') IN ('i', 'b', 'v')
               ORDER BY a.i), ', ') || ')',
           NULL, p.proowner, COALESCE(p.proacl, pg_catalog.acldefault('f', p.proowner)),
           p.proacl IS NULL
    FROM pg_catalog.pg_proc p
    JOIN user_ns n ON n.oid = p.pronamespace
    WHERE p.prokind IN ('f', 'p')
      AND {{not_extension_member pg_proc p.oid}}
)
SELECT acl.kind,
       acl.schema::text AS schema,
       acl.name::text AS name,
       acl.col::text AS column_name,
       CASE WHEN e.grantee = 0 THEN NULL ELSE pg_catalog.pg_get_userbyid(e.grantee)::text END
           AS grantee,
       e.is_grantable AS grantable,
       acl.default_acl,
       array_agg(e.privilege_type::text ORDER BY e.privilege_type) AS privileges
FROM acl, LATERAL pg_catalog.aclexplode(acl.acl) e
WHERE e.grantee IS DISTINCT FROM acl.owner
GROUP BY 1, 2, 3, 4, 5, 6, 7
ORDER BY 1, 2, 3, 4, 5, 6, 7
