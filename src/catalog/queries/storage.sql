-- User relations with their storage file: a table whose relfilenode changed was rewritten.
SELECT c.oid::bigint AS oid, n.nspname AS schema, c.relname AS name,
       c.relkind::text AS kind, c.relfilenode::bigint AS filenode
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
