-- Size estimates of the named tables: pg_class.reltuples and relpages, as VACUUM, ANALYZE and
-- CREATE INDEX last left them. $1 and $2 are parallel arrays of schema and table names; a name
-- that is not a table, partitioned table or materialized view is simply absent from the result.
-- reltuples is -1 for a table never vacuumed or analyzed (PostgreSQL 14 and later) and a float:
-- it is rounded to a whole number of rows here.
SELECT n.nspname::text AS schema,
       c.relname::text AS name,
       round(c.reltuples)::int8 AS rows,
       c.relpages::int8 AS pages
FROM (SELECT DISTINCT w.schema, w.name
      FROM unnest($1::text[], $2::text[]) AS w(schema, name)) AS wanted
JOIN pg_catalog.pg_namespace n ON n.nspname = wanted.schema
JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = wanted.name
WHERE c.relkind IN ('r', 'p', 'm')
ORDER BY 1, 2
