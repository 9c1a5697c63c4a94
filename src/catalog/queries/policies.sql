-- Row-level security policies of plain tables, one row per policy. Roles come by name (the
-- reader sorts them); PUBLIC (role OID 0 in polroles) reads as 'public', a name no role can have.
-- Expressions are printed by PostgreSQL (pg_get_expr), as view queries are.
SELECT n.nspname::text AS schema,
       c.relname::text AS table_name,
       pol.polname::text AS name,
       pol.polpermissive AS permissive,
       pol.polcmd::text AS command,
       ARRAY(SELECT CASE WHEN r.role = 0 THEN 'public' ELSE a.rolname::text END
             FROM unnest(pol.polroles) AS r(role)
             LEFT JOIN pg_catalog.pg_roles a ON a.oid = r.role
             ) AS roles,
       pg_catalog.pg_get_expr(pol.polqual, pol.polrelid, true) AS using_expr,
       pg_catalog.pg_get_expr(pol.polwithcheck, pol.polrelid, true) AS check_expr,
       d.description AS comment
FROM pg_catalog.pg_policy pol
JOIN pg_catalog.pg_class c ON c.oid = pol.polrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_description d
       ON d.objoid = pol.oid AND d.classoid = 'pg_catalog.pg_policy'::regclass
WHERE c.relkind = 'r' AND NOT c.relispartition
  AND {{user_schema n}}
  AND {{not_extension_member pg_class c.oid}}
ORDER BY 1, 2, 3
