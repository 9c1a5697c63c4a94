-- Which server and database this is, and the roles it has (grants must name existing ones). pg_control_system() needs a privilege ordinary roles may
-- lack; then the system identifier is left empty rather than failing the whole introspection.
SELECT current_setting('server_version_num')::int AS version_num,
       CASE WHEN pg_catalog.has_function_privilege('pg_catalog.pg_control_system()', 'EXECUTE')
            THEN (SELECT system_identifier::text FROM pg_catalog.pg_control_system())
            ELSE '' END AS system_identifier,
       current_database()::text AS database,
       ARRAY(SELECT r.rolname::text FROM pg_catalog.pg_roles r ORDER BY 1) AS roles
