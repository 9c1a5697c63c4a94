#!/usr/bin/env bash
# Dump benchmark: `formwork dump` next to `pg_dump --schema-only` on the same 5,000-table
# database, runs interleaved (formwork, pg_dump, formwork, ...), median of RUNS runs each, wall
# time and peak RSS from GNU time.
#
#   cargo build --release && bench/dump/run.sh            # 5,000 tables, 5 runs
#   TABLES=500 RUNS=3 bench/dump/run.sh                   # a quick look
#
# Starts its own throwaway cluster (as the `postgres` OS user when run as root) and removes it
# on exit. Needs PostgreSQL server binaries (PG_BIN or the newest /usr/lib/postgresql/*/bin),
# pg_dump, python3 and GNU time (`apt-get install time`).
set -euo pipefail
cd "$(dirname "$0")/../.."

TABLES=${TABLES:-5000}
RUNS=${RUNS:-5}
FORMWORK=${FORMWORK:-target/release/formwork}
PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)}
PG_DUMP=${PG_DUMP:-$PG_BIN/pg_dump}
PORT=${PORT:-54329}
[ -x "$PG_DUMP" ] || PG_DUMP=$(command -v pg_dump)
[ -x "$FORMWORK" ] || { echo "build first: cargo build --release" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "GNU time is missing: apt-get install time" >&2; exit 1; }

. bench/lib/cluster.sh
start_cluster dump "$PORT" -c fsync=off -c max_locks_per_transaction=256
conn="host=$work port=$PORT user=postgres dbname=bench"

"$PG_BIN/psql" -X -q -h "$work" -p "$PORT" -U postgres -d postgres -c "CREATE DATABASE bench"
python3 bench/dump/gen_schema.py "$TABLES" >"$work/schema.sql"
"$PG_BIN/psql" -X -q -h "$work" -p "$PORT" -U postgres -d bench -v ON_ERROR_STOP=1 \
  -f "$work/schema.sql"
"$PG_BIN/psql" -X -q -h "$work" -p "$PORT" -U postgres -d bench -c "VACUUM ANALYZE" 2>/dev/null

measure() { # name, command...
  local name=$1
  shift
  /usr/bin/time -v "$@" 2>"$work/time.txt" >/dev/null
  python3 - "$name" "$work/time.txt" >>"$work/results.tsv" <<'PY'
import sys
name, path = sys.argv[1], sys.argv[2]
wall = rss = None
for line in open(path):
    line = line.strip()
    if line.startswith("Elapsed (wall clock) time"):
        t = line.rsplit(" ", 1)[1].split(":")
        wall = sum(float(x) * 60 ** i for i, x in enumerate(reversed(t)))
    elif line.startswith("Maximum resident set size"):
        rss = int(line.rsplit(" ", 1)[1])
    elif line.startswith("Exit status") and line.rsplit(" ", 1)[1] != "0":
        sys.exit(f"{name} failed: " + open(path).read())
print(f"{name}\t{wall}\t{rss}")
PY
}

: >"$work/results.tsv"
for i in $(seq "$RUNS"); do
  rm -rf "$work/kdl"
  measure formwork "$FORMWORK" dump --db "$conn" --out "$work/kdl"
  measure pg_dump "$PG_DUMP" --schema-only -d "$conn" -f "$work/pg_dump.sql"
done

echo "tables: $TABLES, runs: $RUNS, $(nproc) cores, PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}')"
echo "formwork: $FORMWORK dump --db '<conn>' --out DIR ($(find "$work/kdl" -type f | wc -l) files, $(du -sh "$work/kdl" | cut -f1))"
echo "pg_dump:  $PG_DUMP --schema-only -d '<conn>' -f FILE ($(du -sh "$work/pg_dump.sql" | cut -f1))"
python3 - "$work/results.tsv" <<'PY'
import statistics, sys
rows = [l.split("\t") for l in open(sys.argv[1]).read().splitlines()]
print("| tool | median wall (s) | min–max wall (s) | median peak RSS (MB) |")
print("|---|---|---|---|")
med = {}
for tool in ("formwork", "pg_dump"):
    walls = [float(r[1]) for r in rows if r[0] == tool]
    rss = [int(r[2]) / 1024 for r in rows if r[0] == tool]
    med[tool] = statistics.median(walls)
    print(f"| {tool} | {med[tool]:.2f} | {min(walls):.2f}–{max(walls):.2f} | {statistics.median(rss):.0f} |")
print(f"\nformwork / pg_dump wall time: {med['formwork'] / med['pg_dump']:.2f}")
PY
