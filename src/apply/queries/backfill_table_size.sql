-- The planner statistics of a table ($1: its quoted, qualified name): estimated rows
-- (-1 when never analyzed) and pages. Used for the ETA and to size ctid ranges.
SELECT c.reltuples::float8, c.relpages::int8
FROM pg_class c
WHERE c.oid = $1::text::regclass
