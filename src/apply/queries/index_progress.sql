-- Progress of the index build session $1 is running, if any (PostgreSQL 12 and later).
SELECT phase, blocks_done, blocks_total, tuples_done, tuples_total
  FROM pg_catalog.pg_stat_progress_create_index
 WHERE pid = $1
