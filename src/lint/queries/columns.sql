-- Column types as format_type prints them, and whether the column is already NOT NULL or
-- proven non-null by a validated CHECK (col IS NOT NULL).
SELECT n.nspname AS schema, c.relname AS table, a.attname AS column,
       format_type(a.atttypid, a.atttypmod) AS type,
       a.attnotnull OR EXISTS (
           SELECT 1 FROM pg_constraint k
           WHERE k.conrelid = c.oid AND k.contype = 'c' AND k.convalidated
             AND k.conkey = ARRAY[a.attnum]
             AND pg_get_constraintdef(k.oid) ~* ('^CHECK \(\(?' || regexp_replace(quote_ident(a.attname), '([.*+?^$(){}|\[\]\\])', '\\\1', 'g') || ' IS NOT NULL\)?\)$')
       ) AS not_null
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE a.attnum > 0 AND NOT a.attisdropped
  AND c.relkind IN ('r', 'p')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg_toast%'
