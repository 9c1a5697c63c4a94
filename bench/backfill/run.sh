#!/usr/bin/env bash
# Backfill benchmark: formwork's batched backfill next to one `UPDATE` of the whole table.
#
# For each run, a fresh table of ROWS rows (bigint primary key, a text payload; VACUUM ANALYZE
# and CHECKPOINT after loading) gets a new nullable column `token uuid` with the volatile
# default gen_random_uuid(), filled in every existing row:
#
#   update     ALTER TABLE ADD COLUMN token uuid; ALTER COLUMN token SET DEFAULT ...;
#              then, timed: UPDATE items SET token = gen_random_uuid() WHERE token IS NULL
#   formwork   formwork plan (add nullable, set default, backfill) and formwork apply; timed:
#              the backfill step (its step-done event), worst batch from its last progress event
#
# Both fill the same rows with the same expression on the same server; the two are interleaved
# (update first in odd runs, formwork first in even ones) so that a shared, noisy machine
# weighs on both alike. Rows per second and worst batch are reported per run and as the
# median of RUNS.
#
#   cargo build && bench/backfill/run.sh           # 2,000,000 rows, 3 runs
#   ROWS=200000 RUNS=1 bench/backfill/run.sh       # a quick look
#   APPLY_ARGS="--backfill-target-ms 20" bench/backfill/run.sh
#
# Starts its own throwaway cluster (as the `postgres` OS user when run as root), with the
# server's defaults (fsync and synchronous_commit on: a batch commit costs what it costs in
# production), and removes it on exit. Needs PostgreSQL server binaries (PG_BIN or the newest
# /usr/lib/postgresql/*/bin) and python3.
set -euo pipefail
cd "$(dirname "$0")/../.."

ROWS=${ROWS:-2000000}
RUNS=${RUNS:-3}
FORMWORK=${FORMWORK:-target/debug/formwork}
PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)}
PORT=${PORT:-54341}
APPLY_ARGS=${APPLY_ARGS:-}
[ -x "$FORMWORK" ] || { echo "build first: cargo build" >&2; exit 1; }

. bench/lib/cluster.sh
start_cluster backfill "$PORT"
psql() { "$PG_BIN/psql" -X -q -h "$work" -p "$PORT" -U postgres -v ON_ERROR_STOP=1 "$@"; }
url="postgresql://postgres@/bench?host=$work&port=$PORT"
export FORMWORK_DEV_URL="postgresql://postgres@/postgres?host=$work&port=$PORT"

mkdir -p "$work/schemas"
cat >"$work/schemas/public.kdl" <<'KDL'
schema "public" {
    table "items" {
        column "id" "bigint"
        column "payload" "text"
        column "token" "uuid" nullable=#true default="gen_random_uuid()"
        primary-key "id"
    }
}
KDL

fresh_table() {
  psql -d postgres -c "DROP DATABASE IF EXISTS bench" -c "CREATE DATABASE bench"
  psql -d bench <<SQL
CREATE TABLE items (id bigint PRIMARY KEY, payload text NOT NULL);
INSERT INTO items SELECT g, md5(g::text) FROM generate_series(1, $ROWS) g;
VACUUM ANALYZE items;
CHECKPOINT;
SQL
}

run_update() { # run number
  fresh_table
  psql -d bench -c "ALTER TABLE items ADD COLUMN token uuid" \
    -c "ALTER TABLE items ALTER COLUMN token SET DEFAULT gen_random_uuid()"
  local ms
  ms=$(psql -d bench -At <<'SQL'
SELECT clock_timestamp() AS t0 \gset
UPDATE items SET token = gen_random_uuid() WHERE token IS NULL;
SELECT round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) * 1000);
SQL
)
  local nulls
  nulls=$(psql -d bench -At -c "SELECT count(*) FROM items WHERE token IS NULL")
  [ "$nulls" = 0 ] || { echo "update left $nulls rows unfilled" >&2; exit 1; }
  # One statement: its only batch is the whole table.
  printf 'update\t%s\t%s\t%s\t1\n' "$1" "$ms" "$ms" >>"$work/results.tsv"
}

run_formwork() { # run number
  fresh_table
  local id
  "$FORMWORK" plan --db "$url" --dir "$work/schemas" --out "$work/plan.bin" --format json \
    >"$work/plan.json" || [ $? = 2 ]
  id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$work/plan.json")
  # shellcheck disable=SC2086
  "$FORMWORK" apply "$work/plan.bin" --db "$url" --approve "$id" --log-format json $APPLY_ARGS \
    >"$work/apply.jsonl"
  local nulls
  nulls=$(psql -d bench -At -c "SELECT count(*) FROM items WHERE token IS NULL")
  [ "$nulls" = 0 ] || { echo "formwork left $nulls rows unfilled" >&2; exit 1; }
  python3 - "$1" "$work/apply.jsonl" >>"$work/results.tsv" <<'PY'
import json, sys
run, path = sys.argv[1], sys.argv[2]
events = [json.loads(l) for l in open(path) if l.strip()]
last = [e for e in events if e.get("event") == "backfill-progress" and e["done"]][-1]
step = last["step"]
done = [e for e in events if e.get("event") == "step-done" and e["step"] == step][-1]
print(f"formwork\t{run}\t{done['elapsed_ms']}\t{last['worst_batch_ms']}\t{last['batches']}")
PY
}

echo "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}'), $(date -u '+%Y-%m-%d %H:%M UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "$ROWS rows; formwork apply $APPLY_ARGS; median of $RUNS interleaved runs"
: >"$work/results.tsv"
for run in $(seq 1 "$RUNS"); do
  if [ $((run % 2)) = 1 ]; then
    run_update "$run"
    run_formwork "$run"
  else
    run_formwork "$run"
    run_update "$run"
  fi
  tail -2 "$work/results.tsv" >&2
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$ROWS" "$work/results.tsv" <<'PY'
import statistics, sys
rows, path = int(sys.argv[1]), sys.argv[2]
by = {}
for line in open(path):
    tool, run, ms, worst, batches = line.split("\t")
    by.setdefault(tool, []).append((int(run), float(ms), float(worst), int(batches)))
print("| tool | run | seconds | rows/s | worst batch (ms) | batches |")
print("|---|---:|---:|---:|---:|---:|")
for tool in ("update", "formwork"):
    for run, ms, worst, batches in by[tool]:
        print(f"| {tool} | {run} | {ms/1000:.2f} | {rows/(ms/1000):,.0f} | {worst:.0f} | {batches} |")
med = {t: statistics.median(ms for _, ms, _, _ in v) for t, v in by.items()}
worst = max(w for _, _, w, _ in by["formwork"])
print()
print(f"median rows/s: update {rows/(med['update']/1000):,.0f}, formwork "
      f"{rows/(med['formwork']/1000):,.0f} ({med['update']/med['formwork']*100:.0f}% of the "
      f"single UPDATE); worst formwork batch over all runs {worst:.0f} ms")
PY
