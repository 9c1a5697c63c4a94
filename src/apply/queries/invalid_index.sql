-- Whether index $2 in schema $1 exists and is INVALID (what a failed concurrent build leaves).
SELECT NOT i.indisvalid AS invalid
  FROM pg_catalog.pg_index i
  JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = $1 AND c.relname = $2
