-- Who holds formwork's advisory lock in this database ($1: high 32 bits of the key, $2: low).
SELECT l.pid, coalesce(a.application_name, '') AS application_name,
       coalesce(a.backend_start::text, '') AS since
  FROM pg_catalog.pg_locks l
  LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
 WHERE l.locktype = 'advisory' AND l.granted
   AND l.database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())
   AND l.classid::bigint = $1 AND l.objid::bigint = $2 AND l.objsubid = 1
 LIMIT 1
