-- Whether the journal tables exist (before the first apply they do not).
SELECT pg_catalog.to_regclass('formwork.steps') IS NOT NULL
   AND pg_catalog.to_regclass('formwork.plans') IS NOT NULL AS present
