-- The relation locks the current session holds (run inside a transaction, before it ends).
-- Not joined to pg_class: a relation the transaction dropped is gone from it, but its lock is
-- still held.
SELECT l.mode, l.relation::bigint AS oid
FROM pg_locks l
WHERE l.pid = pg_backend_pid()
  AND l.locktype = 'relation'
  AND l.granted
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
