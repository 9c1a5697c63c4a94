-- Sequences with their options and, when a column owns them, that column: deptype 'a' is
-- OWNED BY (serial), 'i' is an identity column's internal sequence.
SELECT n.nspname::text AS schema,
       c.relname::text AS name,
       pg_catalog.format_type(s.seqtypid, NULL) AS data_type,
       s.seqstart AS start,
       s.seqincrement AS increment,
       s.seqmin AS min_value,
       s.seqmax AS max_value,
       s.seqcache AS cache,
       s.seqcycle AS cycle,
       dep.deptype::text AS owner_kind,
       tn.nspname::text AS owner_schema,
       tc.relname::text AS owner_table,
       ta.attname::text AS owner_column,
       d.description AS comment
FROM pg_catalog.pg_sequence s
JOIN pg_catalog.pg_class c ON c.oid = s.seqrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_depend dep
       ON dep.classid = 'pg_catalog.pg_class'::regclass AND dep.objid = c.oid
      AND dep.refclassid = 'pg_catalog.pg_class'::regclass AND dep.refobjsubid > 0
      AND dep.deptype IN ('a', 'i')
LEFT JOIN pg_catalog.pg_class tc ON tc.oid = dep.refobjid
LEFT JOIN pg_catalog.pg_namespace tn ON tn.oid = tc.relnamespace
LEFT JOIN pg_catalog.pg_attribute ta ON ta.attrelid = dep.refobjid AND ta.attnum = dep.refobjsubid
LEFT JOIN pg_catalog.pg_description d
       ON d.objoid = c.oid AND d.classoid = 'pg_catalog.pg_class'::regclass AND d.objsubid = 0
WHERE {{user_schema n}}
  AND {{not_extension_member pg_class c.oid}}
ORDER BY 1, 2
