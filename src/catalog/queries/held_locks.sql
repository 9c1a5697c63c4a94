-- The relation locks the current session holds (run inside a transaction, before it ends).
SELECT l.mode, c.oid::bigint AS oid
FROM pg_locks l
JOIN pg_class c ON c.oid = l.relation
WHERE l.pid = pg_backend_pid()
  AND l.locktype = 'relation'
  AND l.granted
