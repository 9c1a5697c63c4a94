-- Functions and procedures, one row each, with their arguments as parallel arrays (in
-- declaration order, OUT arguments included, TABLE columns left to the result). Aggregates and
-- window functions are left to unmanaged.sql; formwork's own transitional functions are told
-- apart by name when the rows are assembled.
SELECT n.nspname::text AS schema,
       p.proname::text AS name,
       p.prokind::text AS kind,
       l.lanname::text AS language,
       CASE WHEN p.prosqlbody IS NOT NULL THEN pg_catalog.pg_get_function_sqlbody(p.oid)
            ELSE p.prosrc END AS body,
       pg_catalog.pg_get_function_result(p.oid) AS returns,
       p.provolatile::text AS volatility,
       p.proisstrict AS strict,
       p.prosecdef AS security_definer,
       p.proleakproof AS leakproof,
       p.proparallel::text AS parallel,
       p.procost::float8 AS cost,
       p.prorows::float8 AS rows,
       p.proretset AS returns_set,
       COALESCE(p.proconfig, '{}'::text[]) AS config,
       pg_catalog.obj_description(p.oid, 'pg_proc') AS comment,
       COALESCE(args.names, '{}'::text[]) AS arg_names,
       COALESCE(args.modes, '{}'::text[]) AS arg_modes,
       COALESCE(args.types, '{}'::text[]) AS arg_types,
       COALESCE(args.defaults, '{}'::text[]) AS arg_defaults
FROM pg_catalog.pg_proc p
JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
JOIN pg_catalog.pg_language l ON l.oid = p.prolang
LEFT JOIN LATERAL (
    SELECT pg_catalog.array_agg(COALESCE(p.proargnames[a.i], '') ORDER BY a.i) AS names,
           pg_catalog.array_agg(COALESCE(p.proargmodes[a.i], 'i')::text ORDER BY a.i) AS modes,
           pg_catalog.array_agg(pg_catalog.format_type(a.t, NULL) ORDER BY a.i) AS types,
           pg_catalog.array_agg(pg_catalog.pg_get_function_arg_default(p.oid, a.i::int4)
                                ORDER BY a.i) AS defaults
    FROM pg_catalog.unnest(COALESCE(p.proallargtypes, p.proargtypes::pg_catalog.oid[]))
         WITH ORDINALITY AS a(t, i)
    WHERE COALESCE(p.proargmodes[a.i], 'i') <> 't'
) args ON true
WHERE {{user_schema n}}
  AND p.prokind IN ('f', 'p')
  AND {{not_extension_member pg_proc p.oid}}
  -- Constructors PostgreSQL makes with a range type (and its multirange) belong to the type.
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend dep
                  WHERE dep.classid = 'pg_catalog.pg_proc'::regclass AND dep.objid = p.oid
                    AND dep.deptype = 'i')
ORDER BY 1, 2, pg_catalog.pg_get_function_identity_arguments(p.oid)
