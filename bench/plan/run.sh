#!/usr/bin/env bash
# Plan benchmark: `formwork plan` next to `pg_dump --schema-only` on the same database, at
# several sizes. For each size: load bench/plan/gen_schema.py's schema, `formwork dump` it to a
# KDL directory, derive a copy with 1% of the tables changed and a copy split into one file per
# table, then time interleaved runs (median of RUNS) of:
#
#   pg_dump      pg_dump --schema-only                             (reference)
#   plan-same    formwork plan --db URL --dir KDL --out FILE       (no change: exit 0)
#   plan-1pct    the same on the changed copy                      (changes: exit 2)
#   plan-split   no change, one file per table                     (exit 0)
#
# Wall time and peak RSS come from GNU time. `formwork plan` starts its own throwaway scratch
# cluster each run, as it does for a user without --dev-url; set PLAN_ARGS="--dev-url URL" to
# measure with a standing scratch server instead.
#
#   cargo build --release && bench/plan/run.sh              # 500, 2,000 and 5,000 tables, 5 runs
#   SIZES=500 RUNS=3 bench/plan/run.sh                      # a quick look
#
# Starts its own throwaway cluster for the target database (as the `postgres` OS user when run
# as root) and removes it on exit. Needs PostgreSQL server binaries (PG_BIN or the newest
# /usr/lib/postgresql/*/bin), pg_dump, python3 and GNU time (`apt-get install time`).
set -euo pipefail
cd "$(dirname "$0")/../.."

SIZES=${SIZES:-500 2000 5000}
RUNS=${RUNS:-5}
CHANGE_PERCENT=${CHANGE_PERCENT:-1}
FORMWORK=${FORMWORK:-target/release/formwork}
PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)}
PG_DUMP=${PG_DUMP:-$PG_BIN/pg_dump}
PORT=${PORT:-54339}
PLAN_ARGS=${PLAN_ARGS:-}
[ -x "$PG_DUMP" ] || PG_DUMP=$(command -v pg_dump)
[ -x "$FORMWORK" ] || { echo "build first: cargo build --release" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "GNU time is missing: apt-get install time" >&2; exit 1; }

. bench/lib/cluster.sh
start_cluster plan "$PORT" -c fsync=off -c max_locks_per_transaction=1024
psql() { "$PG_BIN/psql" -X -q -h "$work" -p "$PORT" -U postgres -v ON_ERROR_STOP=1 "$@"; }

measure() { # name, expected exit status, command...
  local name=$1 expect=$2
  shift 2
  /usr/bin/time -v "$@" 2>"$work/time.txt" >"$work/out.txt" || true
  python3 - "$name" "$expect" "$work/time.txt" "$work/out.txt" >>"$work/results.tsv" <<'PY'
import sys
name, expect, path, out = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
wall = rss = status = None
for line in open(path):
    line = line.strip()
    if line.startswith("Elapsed (wall clock) time"):
        t = line.rsplit(" ", 1)[1].split(":")
        wall = sum(float(x) * 60 ** i for i, x in enumerate(reversed(t)))
    elif line.startswith("Maximum resident set size"):
        rss = int(line.rsplit(" ", 1)[1])
    elif line.startswith("Exit status"):
        status = line.rsplit(" ", 1)[1]
if status != expect:
    sys.exit(f"{name} exited {status}, expected {expect}:\n" + open(path).read()[-3000:]
             + open(out).read()[-2000:])
print(f"{name}\t{wall}\t{rss}")
PY
}

echo "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}'), $(date -u '+%Y-%m-%d %H:%M UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "formwork plan --db URL --dir DIR --out FILE $PLAN_ARGS; pg_dump --schema-only; median of $RUNS interleaved runs"
for n in $SIZES; do
  db="bench_$n"
  conn="host=$work port=$PORT user=postgres dbname=$db"
  psql -d postgres -c "CREATE DATABASE $db"
  python3 bench/plan/gen_schema.py sql "$n" >"$work/schema_$n.sql"
  psql -d "$db" -f "$work/schema_$n.sql"
  psql -d "$db" -c "VACUUM ANALYZE" 2>/dev/null
  kdl="$work/kdl_$n"
  "$FORMWORK" dump --db "$conn" --out "$kdl" >/dev/null 2>&1
  cp -r "$kdl" "$kdl.changed"
  changed=$(python3 bench/plan/gen_schema.py change "$kdl.changed" "$CHANGE_PERCENT")
  split_files=$(python3 bench/plan/gen_schema.py split "$kdl/app.kdl" "$kdl.split")
  for f in "$kdl"/*.kdl; do
    [ "$(basename "$f")" = app.kdl ] || cp "$f" "$kdl.split/"
  done

  : >"$work/results.tsv"
  for _ in $(seq "$RUNS"); do
    measure pg_dump 0 "$PG_DUMP" --schema-only -d "$conn" -f "$work/pg_dump.sql"
    # shellcheck disable=SC2086
    measure plan-same 0 "$FORMWORK" plan --db "$conn" --dir "$kdl" --out "$work/plan.bin" $PLAN_ARGS
    # shellcheck disable=SC2086
    measure plan-1pct 2 "$FORMWORK" plan --db "$conn" --dir "$kdl.changed" --out "$work/plan.bin" $PLAN_ARGS
    # shellcheck disable=SC2086
    measure plan-split 0 "$FORMWORK" plan --db "$conn" --dir "$kdl.split" --out "$work/plan.bin" $PLAN_ARGS
  done
  echo
  echo "### $n tables ($changed changed in plan-1pct; split into $split_files files; KDL $(du -sh "$kdl" | cut -f1), pg_dump output $(du -sh "$work/pg_dump.sql" | cut -f1))"
  echo
  python3 - "$work/results.tsv" <<'PY'
import statistics, sys
rows = [l.split("\t") for l in open(sys.argv[1]).read().splitlines()]
print("| run | median wall (s) | min–max wall (s) | median peak RSS (MB) | / pg_dump |")
print("|---|---|---|---|---|")
med = {}
for name in ("pg_dump", "plan-same", "plan-1pct", "plan-split"):
    walls = [float(r[1]) for r in rows if r[0] == name]
    rss = [int(r[2]) / 1024 for r in rows if r[0] == name]
    med[name] = statistics.median(walls)
    ratio = med[name] / med["pg_dump"]
    print(f"| {name} | {med[name]:.2f} | {min(walls):.2f}–{max(walls):.2f} | {statistics.median(rss):.0f} | {ratio:.2f} |")
PY
  psql -d postgres -c "DROP DATABASE $db"
  rm -rf "$kdl" "$kdl.changed" "$kdl.split"
done
