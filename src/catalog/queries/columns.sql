-- Columns of plain and partitioned tables, in attnum order (a partition's columns are its
-- parent's and are not read). Types print schema-qualified for user types
-- because introspection runs with an empty search_path. attgenerated 's' is stored, 'v'
-- (PostgreSQL 18) virtual; a generated column's expression lives in pg_attrdef like a default.
SELECT n.nspname::text AS schema,
       c.relname::text AS table_name,
       a.attname::text AS name,
       pg_catalog.format_type(a.atttypid, a.atttypmod) AS data_type,
       a.attnotnull AS not_null,
       pg_catalog.pg_get_expr(ad.adbin, ad.adrelid, true) AS default_expr,
       a.attidentity::text AS identity,
       a.attgenerated::text AS generated,
       CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation THEN
            CASE WHEN co.collnamespace = 'pg_catalog'::regnamespace THEN co.collname::text
                 ELSE cn.nspname::text || '.' || co.collname::text END
       END AS collation,
       d.description AS comment
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation
LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
LEFT JOIN pg_catalog.pg_description d
       ON d.objoid = c.oid AND d.classoid = 'pg_catalog.pg_class'::regclass
      AND d.objsubid = a.attnum
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND a.attnum > 0 AND NOT a.attisdropped
  AND {{user_schema n}}
  AND {{not_extension_member pg_class c.oid}}
ORDER BY 1, 2, a.attnum
