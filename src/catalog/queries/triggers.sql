-- User triggers (not the internal ones behind foreign keys), one row each. Only triggers on
-- ordinary tables and views are modelled; the others are listed as unmanaged when the rows are
-- assembled, and formwork's own transitional triggers are told apart by name there.
-- tgtype bits: 1 row, 2 before, 4 insert, 8 delete, 16 update, 32 truncate, 64 instead of.
SELECT n.nspname::text AS schema,
       c.relname::text AS table_name,
       c.relkind::text AS relkind,
       t.tgname::text AS name,
       t.tgtype::int4 AS tgtype,
       t.tgenabled::text AS enabled,
       fn.nspname::text AS function_schema,
       f.proname::text AS function_name,
       t.tgargs AS args,
       t.tgnargs::int4 AS nargs,
       COALESCE((SELECT pg_catalog.array_agg(a.attname::text ORDER BY k.i)
                 FROM pg_catalog.unnest(t.tgattr::pg_catalog.int2[]) WITH ORDINALITY AS k(attnum, i)
                 JOIN pg_catalog.pg_attribute a
                   ON a.attrelid = t.tgrelid AND a.attnum = k.attnum),
                '{}'::text[]) AS update_of,
       t.tgconstraint <> 0 AS is_constraint,
       t.tgdeferrable AS is_deferrable,
       t.tginitdeferred AS initially_deferred,
       t.tgoldtable::text AS old_table,
       t.tgnewtable::text AS new_table,
       pg_catalog.pg_get_triggerdef(t.oid) AS definition,
       pg_catalog.obj_description(t.oid, 'pg_trigger') AS comment
FROM pg_catalog.pg_trigger t
JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_proc f ON f.oid = t.tgfoid
JOIN pg_catalog.pg_namespace fn ON fn.oid = f.pronamespace
WHERE NOT t.tgisinternal
  -- A partition's copy of its partitioned table's trigger follows that trigger.
  AND t.tgparentid = 0
  AND {{user_schema n}}
  AND {{not_extension_member pg_class c.oid}}
ORDER BY 1, 2, 4
