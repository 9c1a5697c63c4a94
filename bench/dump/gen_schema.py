#!/usr/bin/env python3
"""Write the dump benchmark schema to stdout: N tables (default 5,000) in schema `bench`.

Each table has 10 columns, a primary key, 2 secondary indexes and a foreign key to the
previous table (the first one references itself), so introspection sees every kind of
relationship at scale.

    bench/dump/gen_schema.py 5000 > /tmp/bench.sql
"""
import sys


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    out = sys.stdout
    out.write("CREATE SCHEMA bench;\n")
    for i in range(n):
        parent = i - 1 if i > 0 else 0
        out.write(
            f"""CREATE TABLE bench.t{i:05d} (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    parent_id bigint REFERENCES bench.t{parent:05d} (id) ON DELETE CASCADE,
    name text NOT NULL,
    email varchar(200),
    amount numeric(12,2) NOT NULL DEFAULT 0,
    quantity integer NOT NULL DEFAULT 1,
    active boolean NOT NULL DEFAULT true,
    tags text[],
    created_at timestamptz NOT NULL DEFAULT now(),
    payload jsonb
);
CREATE INDEX t{i:05d}_name_idx ON bench.t{i:05d} (name);
CREATE INDEX t{i:05d}_parent_created_idx ON bench.t{i:05d} (parent_id, created_at DESC);
"""
        )


if __name__ == "__main__":
    main()
