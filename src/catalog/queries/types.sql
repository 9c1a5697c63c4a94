-- User-defined types: enums with their labels in sort order; domains with their base type,
-- default, NOT NULL and CHECK constraints (PostgreSQL 17+ also keeps domain NOT NULL rows in
-- pg_constraint, contype 'n': typnotnull says the same, so only CHECKs are read there);
-- composite types with their attributes in order; range types with their pg_range row.
-- Array types, table row types and multiranges (made implicitly with their range) are not
-- listed. Collations and operator classes print bare in pg_catalog, qualified elsewhere, and
-- only when they are not the underlying type's default.
SELECT n.nspname::text AS schema,
       t.typname::text AS name,
       t.typtype::text AS kind,
       CASE WHEN t.typtype = 'e' THEN
            ARRAY(SELECT e.enumlabel::text FROM pg_catalog.pg_enum e
                  WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder)
       END AS labels,
       d.description AS comment,
       CASE WHEN t.typtype = 'd' THEN pg_catalog.format_type(t.typbasetype, t.typtypmod) END
           AS base_type,
       t.typnotnull AS not_null,
       CASE WHEN t.typtype = 'd' THEN pg_catalog.pg_get_expr(t.typdefaultbin, 0, true) END
           AS default_expr,
       CASE WHEN t.typtype = 'd' AND t.typcollation <> 0 AND t.typcollation <> bt.typcollation THEN
            CASE WHEN co.collnamespace = 'pg_catalog'::regnamespace THEN co.collname::text
                 ELSE cn.nspname::text || '.' || co.collname::text END
       END AS collation,
       ARRAY(SELECT con.conname::text FROM pg_catalog.pg_constraint con
             WHERE con.contypid = t.oid AND con.contype = 'c' ORDER BY con.conname)
           AS check_names,
       ARRAY(SELECT pg_catalog.pg_get_expr(con.conbin, 0, true) FROM pg_catalog.pg_constraint con
             WHERE con.contypid = t.oid AND con.contype = 'c' ORDER BY con.conname)
           AS check_exprs,
       ARRAY(SELECT con.convalidated FROM pg_catalog.pg_constraint con
             WHERE con.contypid = t.oid AND con.contype = 'c' ORDER BY con.conname)
           AS check_valid,
       ARRAY(SELECT a.attname::text FROM pg_catalog.pg_attribute a
             WHERE a.attrelid = t.typrelid AND t.typtype = 'c' AND a.attnum > 0
               AND NOT a.attisdropped ORDER BY a.attnum) AS attr_names,
       ARRAY(SELECT pg_catalog.format_type(a.atttypid, a.atttypmod) FROM pg_catalog.pg_attribute a
             WHERE a.attrelid = t.typrelid AND t.typtype = 'c' AND a.attnum > 0
               AND NOT a.attisdropped ORDER BY a.attnum) AS attr_types,
       ARRAY(SELECT CASE WHEN a.attcollation <> 0 AND a.attcollation <> at.typcollation THEN
                         CASE WHEN ac.collnamespace = 'pg_catalog'::regnamespace
                              THEN ac.collname::text
                              ELSE acn.nspname::text || '.' || ac.collname::text END
                    END
             FROM pg_catalog.pg_attribute a
             JOIN pg_catalog.pg_type at ON at.oid = a.atttypid
             LEFT JOIN pg_catalog.pg_collation ac ON ac.oid = a.attcollation
             LEFT JOIN pg_catalog.pg_namespace acn ON acn.oid = ac.collnamespace
             WHERE a.attrelid = t.typrelid AND t.typtype = 'c' AND a.attnum > 0
               AND NOT a.attisdropped ORDER BY a.attnum) AS attr_collations,
       CASE WHEN t.typtype = 'r' THEN pg_catalog.format_type(r.rngsubtype, NULL) END AS subtype,
       CASE WHEN t.typtype = 'r' AND NOT opc.opcdefault THEN
            CASE WHEN opc.opcnamespace = 'pg_catalog'::regnamespace THEN opc.opcname::text
                 ELSE opcn.nspname::text || '.' || opc.opcname::text END
       END AS subtype_opclass,
       CASE WHEN t.typtype = 'r' AND r.rngcollation <> 0 AND r.rngcollation <> st.typcollation THEN
            CASE WHEN rc.collnamespace = 'pg_catalog'::regnamespace THEN rc.collname::text
                 ELSE rcn.nspname::text || '.' || rc.collname::text END
       END AS range_collation,
       CASE WHEN r.rngcanonical <> 0 THEN r.rngcanonical::regproc::text END AS canonical,
       CASE WHEN r.rngsubdiff <> 0 THEN r.rngsubdiff::regproc::text END AS subtype_diff,
       CASE WHEN t.typtype = 'r' THEN mt.typname::text END AS multirange
FROM pg_catalog.pg_type t
JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
LEFT JOIN pg_catalog.pg_class c ON c.oid = t.typrelid
LEFT JOIN pg_catalog.pg_type bt ON bt.oid = t.typbasetype AND t.typtype = 'd'
LEFT JOIN pg_catalog.pg_collation co ON co.oid = t.typcollation AND t.typtype = 'd'
LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
LEFT JOIN pg_catalog.pg_range r ON r.rngtypid = t.oid AND t.typtype = 'r'
LEFT JOIN pg_catalog.pg_type st ON st.oid = r.rngsubtype
LEFT JOIN pg_catalog.pg_type mt ON mt.oid = r.rngmultitypid
LEFT JOIN pg_catalog.pg_opclass opc ON opc.oid = r.rngsubopc
LEFT JOIN pg_catalog.pg_namespace opcn ON opcn.oid = opc.opcnamespace
LEFT JOIN pg_catalog.pg_collation rc ON rc.oid = r.rngcollation
LEFT JOIN pg_catalog.pg_namespace rcn ON rcn.oid = rc.collnamespace
LEFT JOIN pg_catalog.pg_description d
       ON d.objoid = t.oid AND d.classoid = 'pg_catalog.pg_type'::regclass AND d.objsubid = 0
WHERE {{user_schema n}}
  AND (t.typtype IN ('e', 'd', 'r') OR (t.typtype = 'c' AND c.relkind = 'c'))
  AND {{not_extension_member pg_type t.oid}}
ORDER BY 1, 2
