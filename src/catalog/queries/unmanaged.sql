-- Objects formwork does not manage yet, as (kind, readable name) pairs, so that `dump` and
-- `plan` can say what they leave alone. Relation kinds, types, row-level security flags of
-- relations other than plain tables, grants on unmanaged relations and table inheritance are
-- reported from relations.sql and types.sql. Privileges on schemas, tables, views, sequences,
-- table columns, functions and procedures, and default privileges in a schema, are managed
-- (privileges.sql).
-- Everything owned by an extension and everything in system schemas is left out.
WITH user_ns AS (
    SELECT n.oid, n.nspname FROM pg_catalog.pg_namespace n WHERE {{user_schema n}}
)
SELECT CASE p.prokind WHEN 'a' THEN 'aggregate' ELSE 'function' END AS kind,
       CASE p.prokind WHEN 'w' THEN 'window ' ELSE '' END
           || n.nspname::text || '.' || p.proname::text
           || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')' AS name
FROM pg_catalog.pg_proc p
JOIN user_ns n ON n.oid = p.pronamespace
-- Functions and procedures are managed (functions.sql); triggers too (triggers.sql).
WHERE p.prokind IN ('a', 'w')
  AND {{not_extension_member pg_proc p.oid}}
UNION ALL
SELECT 'policy', pol.polname::text || ' on ' || n.nspname::text || '.' || c.relname::text
FROM pg_catalog.pg_policy pol
JOIN pg_catalog.pg_class c ON c.oid = pol.polrelid
JOIN user_ns n ON n.oid = c.relnamespace
-- Policies of plain tables are managed (policies.sql); those of other relations are not.
WHERE (c.relkind <> 'r' OR c.relispartition)
  AND {{not_extension_member pg_class c.oid}}
UNION ALL
SELECT 'rule', r.rulename::text || ' on ' || n.nspname::text || '.' || c.relname::text
FROM pg_catalog.pg_rewrite r
JOIN pg_catalog.pg_class c ON c.oid = r.ev_class
JOIN user_ns n ON n.oid = c.relnamespace
WHERE r.rulename <> '_RETURN'
  AND {{not_extension_member pg_class c.oid}}
UNION ALL
SELECT 'event trigger', et.evtname::text
FROM pg_catalog.pg_event_trigger et
WHERE {{not_extension_member pg_event_trigger et.oid}}
UNION ALL
SELECT 'publication', pub.pubname::text FROM pg_catalog.pg_publication pub
UNION ALL
SELECT 'subscription', s.subname::text
FROM pg_catalog.pg_subscription s
WHERE s.subdbid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())
UNION ALL
SELECT 'grant', 'default privileges for role ' || pg_catalog.pg_get_userbyid(da.defaclrole)::text
FROM pg_catalog.pg_default_acl da
WHERE da.defaclnamespace = 0
UNION ALL
SELECT 'grant', 'privileges on column ' || n.nspname::text || '.' || c.relname::text
           || '.' || a.attname::text
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
JOIN user_ns n ON n.oid = c.relnamespace
WHERE a.attacl IS NOT NULL AND a.attnum > 0 AND NOT a.attisdropped
  AND (c.relkind NOT IN ('r', 'p') OR c.relispartition)
  AND {{not_extension_member pg_class c.oid}}
UNION ALL
-- Privileges on functions and procedures are managed (privileges.sql); those on aggregates
-- and window functions, which are not managed themselves, are not.
SELECT 'grant', CASE p.prokind WHEN 'a' THEN 'privileges on aggregate '
                               ELSE 'privileges on window function ' END || n.nspname::text || '.' || p.proname::text
           || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')'
FROM pg_catalog.pg_proc p
JOIN user_ns n ON n.oid = p.pronamespace
WHERE p.proacl IS NOT NULL AND p.prokind IN ('a', 'w')
  AND {{not_extension_member pg_proc p.oid}}
UNION ALL
SELECT 'grant', 'privileges on type ' || n.nspname::text || '.' || t.typname::text
FROM pg_catalog.pg_type t
JOIN user_ns n ON n.oid = t.typnamespace
WHERE t.typacl IS NOT NULL
  AND {{not_extension_member pg_type t.oid}}
UNION ALL
SELECT 'other', 'temporal key ' || con.conname::text || ' on ' || n.nspname::text || '.'
           || c.relname::text
FROM pg_catalog.pg_constraint con
JOIN pg_catalog.pg_class c ON c.oid = con.conrelid
JOIN user_ns n ON n.oid = c.relnamespace
WHERE {{conperiod}}
  AND {{not_extension_member pg_class c.oid}}
UNION ALL
SELECT 'other', 'collation ' || n.nspname::text || '.' || co.collname::text
FROM pg_catalog.pg_collation co
JOIN user_ns n ON n.oid = co.collnamespace
WHERE {{not_extension_member pg_collation co.oid}}
UNION ALL
SELECT 'other', 'statistics object ' || n.nspname::text || '.' || st.stxname::text
FROM pg_catalog.pg_statistic_ext st
JOIN user_ns n ON n.oid = st.stxnamespace
UNION ALL
SELECT 'other', 'operator ' || n.nspname::text || '.' || o.oprname::text
FROM pg_catalog.pg_operator o
JOIN user_ns n ON n.oid = o.oprnamespace
WHERE {{not_extension_member pg_operator o.oid}}
UNION ALL
SELECT 'other', 'text search configuration ' || n.nspname::text || '.' || cfg.cfgname::text
FROM pg_catalog.pg_ts_config cfg
JOIN user_ns n ON n.oid = cfg.cfgnamespace
WHERE {{not_extension_member pg_ts_config cfg.oid}}
UNION ALL
SELECT 'other', 'foreign server ' || fs.srvname::text
FROM pg_catalog.pg_foreign_server fs
WHERE {{not_extension_member pg_foreign_server fs.oid}}
ORDER BY 1, 2
