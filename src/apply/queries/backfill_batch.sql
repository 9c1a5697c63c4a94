-- One batch committed: sent inside the batch's own transaction, so the record and the rows it
-- describes commit together or not at all.
UPDATE formwork.backfills
SET last_key = $3,
    finished = $4,
    rows_scanned = rows_scanned + $5,
    rows_updated = rows_updated + $6,
    batches = batches + CASE WHEN $5 > 0 OR $6 > 0 OR NOT $4 THEN 1 ELSE 0 END,
    updated_at = now()
WHERE plan_id = $1 AND step = $2
