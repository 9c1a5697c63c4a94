-- A run of a backfill starts (or resumes): count the runs, so a resume is visible.
INSERT INTO formwork.backfills AS b (plan_id, step)
VALUES ($1, $2)
ON CONFLICT (plan_id, step) DO UPDATE SET runs = b.runs + 1, updated_at = now()
