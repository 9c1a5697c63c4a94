-- Domains with a NOT NULL or a CHECK: adding a column of one rewrites the table.
SELECT DISTINCT t.typname::text AS name
FROM pg_catalog.pg_type t
WHERE t.typtype = 'd'
  AND (t.typnotnull
       OR EXISTS (SELECT 1 FROM pg_catalog.pg_constraint c WHERE c.contypid = t.oid))
