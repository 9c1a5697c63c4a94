-- Where a backfill of one plan step stands: the last key committed, whether the walk ended,
-- and how many rows it has walked so far.
SELECT last_key, finished, rows_scanned
FROM formwork.backfills
WHERE plan_id = $1 AND step = $2
