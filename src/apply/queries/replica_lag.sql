-- The largest replay lag of any replica streaming from this server, in milliseconds (0 when
-- there is none, or when every replica has caught up and reports no lag).
SELECT COALESCE(max(EXTRACT(epoch FROM replay_lag)), 0)::float8 * 1000
FROM pg_stat_replication
