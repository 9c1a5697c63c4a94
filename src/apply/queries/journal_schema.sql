-- formwork's journal of applies, created on the first apply. The `formwork` schema is left out
-- of introspection, so the journal never shows up in a fingerprint, a dump or a diff.
CREATE SCHEMA IF NOT EXISTS formwork;

CREATE TABLE IF NOT EXISTS formwork.plans (
    plan_id             text PRIMARY KEY,
    source_fingerprint  text NOT NULL,
    desired_fingerprint text NOT NULL,
    steps_total         integer NOT NULL,
    expand_steps        integer NOT NULL,
    -- running | expand-done | applied | failed
    status              text NOT NULL,
    started_at          timestamptz NOT NULL DEFAULT now(),
    finished_at         timestamptz,
    error               text
);

-- The contract steps' descriptions, so `formwork status` can list what an expand-only apply
-- left to do. Added to journals created before it existed.
ALTER TABLE formwork.plans ADD COLUMN IF NOT EXISTS contract_steps text[] NOT NULL DEFAULT '{}';

CREATE TABLE IF NOT EXISTS formwork.steps (
    plan_id      text NOT NULL REFERENCES formwork.plans (plan_id),
    step         integer NOT NULL,
    description  text NOT NULL,
    -- running | done | failed
    status       text NOT NULL,
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    attempts     integer NOT NULL DEFAULT 0,
    lock_wait_ms bigint NOT NULL DEFAULT 0,
    error        text,
    PRIMARY KEY (plan_id, step)
);

-- Progress of backfill steps, written in the same transaction as each batch, so a killed
-- apply resumes after the last batch that committed.
CREATE TABLE IF NOT EXISTS formwork.backfills (
    plan_id      text NOT NULL,
    step         integer NOT NULL,
    -- the last key done, as text per key column (ctid walks: next block, pass, rows filled)
    last_key     text[],
    finished     boolean NOT NULL DEFAULT false,
    rows_scanned bigint NOT NULL DEFAULT 0,
    rows_updated bigint NOT NULL DEFAULT 0,
    batches      bigint NOT NULL DEFAULT 0,
    runs         integer NOT NULL DEFAULT 1,
    -- pacing, so the next round (or a resumed apply) continues where this one was
    worst_batch_ms  bigint NOT NULL DEFAULT 0,
    last_batch_ms   bigint NOT NULL DEFAULT 0,
    last_batch_rows bigint NOT NULL DEFAULT 0,
    batch_rows   bigint,
    rate         float8,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (plan_id, step)
);
