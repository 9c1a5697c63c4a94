#!/usr/bin/env python3
"""Generate a large, deterministic migration file of mixed PostgreSQL statements.

Usage: gen_migration.py N OUT.sql

The mix resembles hand-written migrations and Alembic output: column additions with
constant, stable and volatile defaults, index builds (plain and concurrent), constraints
(validating and NOT VALID + VALIDATE), SET NOT NULL, type changes, table creation with
foreign keys, data backfills, function bodies in dollar quotes, comments and explicit
transactions. Safe and unsafe statements are both present, so linters report findings.
"""
import random
import sys


def main() -> None:
    n = int(sys.argv[1])
    out = open(sys.argv[2], "w")
    rnd = random.Random(42)
    tables = [f"t{i}" for i in range(200)]
    written = 0
    in_tx = False

    def emit(s: str) -> None:
        nonlocal written
        out.write(s)
        out.write(";\n")
        written += 1

    emit("SET lock_timeout = '2s'")
    while written < n:
        if not in_tx and rnd.random() < 0.05:
            emit("BEGIN")
            in_tx = True
        elif in_tx and rnd.random() < 0.08:
            emit("COMMIT")
            in_tx = False
            continue
        t = rnd.choice(tables)
        c = f"c{rnd.randrange(1000)}"
        k = rnd.randrange(16)
        if rnd.random() < 0.1:
            out.write(f"-- migration step {written}: change {t}.{c}\n")
        if k == 0:
            emit(f"ALTER TABLE {t} ADD COLUMN {c} integer")
        elif k == 1:
            emit(f"ALTER TABLE {t} ADD COLUMN {c} timestamptz NOT NULL DEFAULT now()")
        elif k == 2:
            emit(f"ALTER TABLE {t} ADD COLUMN {c} uuid DEFAULT gen_random_uuid()")
        elif k == 3:
            emit(f"CREATE INDEX {t}_{c}_idx ON {t} ({c})")
        elif k == 4:
            if in_tx:
                emit(f"CREATE INDEX {t}_{c}_idx2 ON {t} USING btree ({c}, id)")
            else:
                emit(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {t}_{c}_cidx ON {t} ({c})")
        elif k == 5:
            emit(f"ALTER TABLE {t} ADD CONSTRAINT {t}_{c}_check CHECK ({c} > 0) NOT VALID")
        elif k == 6:
            emit(f"ALTER TABLE {t} VALIDATE CONSTRAINT {t}_{c}_check")
        elif k == 7:
            emit(f"ALTER TABLE {t} ALTER COLUMN {c} SET NOT NULL")
        elif k == 8:
            emit(f"ALTER TABLE {t} ALTER COLUMN {c} TYPE varchar(255)")
        elif k == 9:
            other = rnd.choice(tables)
            emit(f"ALTER TABLE {t} ADD CONSTRAINT {t}_{c}_fkey FOREIGN KEY ({c}) REFERENCES {other} (id)")
        elif k == 10:
            emit(
                f"CREATE TABLE IF NOT EXISTS {t}_{written} (\n"
                f"    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n"
                f"    {c} text NOT NULL DEFAULT '',\n"
                f"    owner_id bigint REFERENCES {rnd.choice(tables)} (id),\n"
                f"    created_at timestamptz NOT NULL DEFAULT now()\n)"
            )
        elif k == 11:
            emit(f"UPDATE {t} SET {c} = 0 WHERE {c} IS NULL AND id BETWEEN {written} AND {written + 1000}")
        elif k == 12:
            emit(f"INSERT INTO {t} (id, {c}) VALUES ({written}, 'it''s value {written}')")
        elif k == 13:
            emit(
                f"CREATE OR REPLACE FUNCTION {t}_touch_{written}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
                f"BEGIN\n    NEW.{c} := now(); -- keep in sync; not a statement end\n    RETURN NEW;\nEND\n$$"
            )
        elif k == 14:
            emit(f"COMMENT ON COLUMN {t}.{c} IS 'Column {c}; added by step {written}'")
        else:
            emit(f"ALTER TABLE {t} ALTER COLUMN {c} SET STATISTICS 500, SET (fillfactor = 90)")
    if in_tx:
        emit("COMMIT")
    out.close()


if __name__ == "__main__":
    main()
