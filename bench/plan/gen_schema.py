#!/usr/bin/env python3
"""Plan benchmark schema and its KDL edits.

    bench/plan/gen_schema.py sql N > schema.sql
        N tables in schema `app`, in groups of ten that look like an application: identity
        and serial keys, 3 enums shared by all tables, foreign keys (to the group's first
        table and to the previous table), CHECK constraints, unique and partial indexes, and
        a view per group that joins two of its tables.

    bench/plan/gen_schema.py change DIR PERCENT
        Edit the KDL that `formwork dump` wrote into DIR so PERCENT % of the tables change:
        one third get a nullable column, one third an index, one third a CHECK.
        Prints how many tables were changed.

    bench/plan/gen_schema.py split SRC DST
        Rewrite a dumped schema file (one `schema` block) as one file per table in DST, each
        wrapping its table in its own `schema "app" { ... }` block; enums, sequences and views
        go in one more file. The loader merges schema blocks across files.
"""
import os
import re
import sys


def gen_sql(n: int) -> str:
    out = ["CREATE SCHEMA app;"]
    out.append("CREATE TYPE app.status AS ENUM ('draft', 'active', 'suspended', 'closed');")
    out.append("CREATE TYPE app.priority AS ENUM ('low', 'normal', 'high', 'urgent');")
    out.append("CREATE TYPE app.channel AS ENUM ('web', 'mobile', 'api', 'batch');")
    for i in range(n):
        t = f"app.t{i:05d}"
        group_head = i - i % 10
        fk_head = (
            f"    head_id bigint REFERENCES app.t{group_head:05d} (id) ON DELETE CASCADE,\n"
            if i != group_head
            else ""
        )
        fk_prev = (
            f"    prev_id integer REFERENCES app.t{i - 1:05d} (ref) ON DELETE SET NULL,\n"
            if i % 10 != 0
            else ""
        )
        out.append(
            f"""CREATE TABLE {t} (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ref serial NOT NULL UNIQUE,
{fk_head}{fk_prev}    name text NOT NULL,
    email varchar(320),
    status app.status NOT NULL DEFAULT 'draft',
    priority app.priority NOT NULL DEFAULT 'normal',
    channel app.channel,
    amount numeric(12,2) NOT NULL DEFAULT 0 CHECK (amount >= 0),
    quantity integer NOT NULL DEFAULT 1,
    tags text[] NOT NULL DEFAULT '{{}}',
    payload jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz,
    CONSTRAINT t{i:05d}_quantity_positive CHECK (quantity > 0),
    CONSTRAINT t{i:05d}_name_nonempty CHECK (name <> '')
);
CREATE INDEX t{i:05d}_status_created_idx ON {t} (status, created_at DESC);
CREATE INDEX t{i:05d}_live_idx ON {t} (created_at) WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX t{i:05d}_email_key ON {t} (lower(email)) WHERE email IS NOT NULL;"""
        )
        if i % 10 == 9 or i == n - 1:
            if i != group_head:
                out.append(
                    f"""CREATE VIEW app.v{group_head:05d} AS
SELECT h.id, h.name, c.id AS child_id, c.status, c.amount
FROM app.t{group_head:05d} h JOIN {t} c ON c.head_id = h.id
WHERE c.deleted_at IS NULL;"""
                )
    return "\n".join(out) + "\n"


TABLE_RE = re.compile(r'^(\s*)table "(t\d{5})" \{\s*$')


def change(directory: str, percent: float) -> int:
    files = [os.path.join(directory, f) for f in os.listdir(directory) if f.endswith(".kdl")]
    names = []
    for f in files:
        for line in open(f):
            m = TABLE_RE.match(line)
            if m:
                names.append(m.group(2))
    names.sort()
    step = max(1, round(100 / percent))
    chosen = {name: k for k, name in enumerate(names[::step])}
    for f in files:
        lines = open(f).read().split("\n")
        out = []
        for line in lines:
            out.append(line)
            m = TABLE_RE.match(line)
            if not m or m.group(2) not in chosen:
                continue
            ind, name = m.group(1) + "    ", m.group(2)
            kind = chosen[name] % 3
            if kind == 0:
                out.append(f'{ind}column "bench_note" "text" nullable=#true')
            elif kind == 1:
                out.append(f'{ind}index "{name}_bench_idx" "quantity" "amount"')
            else:
                out.append(f'{ind}check "{name}_bench_check" "quantity < 1000000"')
        open(f, "w").write("\n".join(out))
    return len(chosen)


def split(src: str, dst: str) -> int:
    """One file per top-level child of the single schema block."""
    lines = open(src).read().split("\n")
    start = next(i for i, l in enumerate(lines) if l.startswith("schema "))
    header = lines[start]
    end = max(i for i, l in enumerate(lines) if l == "}")
    os.makedirs(dst, exist_ok=True)
    rest, count, block, name = [], 0, [], None
    for line in lines[start + 1 : end]:
        if block:
            block.append(line)
            if line == "    }":
                open(os.path.join(dst, f"{name}.kdl"), "w").write(
                    header + "\n" + "\n".join(block) + "\n}\n"
                )
                count += 1
                block = []
            continue
        m = TABLE_RE.match(line)
        if m and line.startswith("    table "):
            block, name = [line], m.group(2)
        else:
            rest.append(line)
    open(os.path.join(dst, "_rest.kdl"), "w").write(header + "\n" + "\n".join(rest) + "\n}\n")
    return count + 1


def main() -> None:
    cmd = sys.argv[1] if len(sys.argv) > 1 else "sql"
    if cmd == "sql":
        sys.stdout.write(gen_sql(int(sys.argv[2]) if len(sys.argv) > 2 else 2000))
    elif cmd == "change":
        print(change(sys.argv[2], float(sys.argv[3])))
    elif cmd == "split":
        print(split(sys.argv[2], sys.argv[3]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
