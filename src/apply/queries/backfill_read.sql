-- Where a backfill of one plan step stands: the last key committed, whether the walk ended,
-- its counters, the longest and the latest batch (milliseconds holding locks, rows), and the
-- pacing the next batch starts from (rows, rows per millisecond).
SELECT last_key, finished, rows_scanned, rows_updated, batches, worst_batch_ms,
       last_batch_ms, last_batch_rows, batch_rows, rate
FROM formwork.backfills
WHERE plan_id = $1 AND step = $2
