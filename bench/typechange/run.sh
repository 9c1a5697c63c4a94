#!/usr/bin/env bash
# Type change benchmark: `integer` to `bigint` on the primary key of a busy table, a plain
# `ALTER TABLE ... ALTER COLUMN id TYPE bigint` next to formwork's expand and contract plan.
#
# A table `t` of ROWS rows (id integer primary key, note text, amount integer not null) takes a
# pgbench load (pgload: CLIENTS clients, each transaction reads one row by id and updates its
# note, so every write goes through the old shape while the change runs). For each run the
# table is reset (a fresh database copied from a template), then the change runs under the
# load:
#
#   naive     ALTER TABLE t ALTER COLUMN id TYPE bigint, with psql (no lock_timeout): the table
#             and its primary key index are rewritten under ACCESS EXCLUSIVE
#   formwork  `formwork plan --db URL --dir AFTER --out plan.bin` before the load (planning only
#             reads the catalog; its scratch databases live on the same server through
#             --dev-url), then `formwork apply plan.bin --db URL --auto-approve --phase all`
#             under the load: shadow column, sync trigger, batched backfill, unique index built
#             concurrently, NOT NULL through a validated check, the swap (primary key attached
#             with USING INDEX) under the short lock_timeout, then the old column dropped
#
#   idle      no change: `sleep IDLE_S` under the same load, to show what the machine alone does
#             to the load's latency (other work on a shared machine shows here)
#
# RUNS rounds, each running idle, naive then formwork, so a change in the machine's load hits
# all three.
# The load runs NAIVE_LOAD_S seconds around the naive change and FORMWORK_LOAD_S around
# formwork's (the change must end before the load does; the script says so when it did not).
#
# pgload reports the worst latency of transactions that overlapped the change and the clients
# a failed transaction aborted; the script adds the p99 of the transactions that overlapped
# the change (from pgbench's per-transaction logs), the change's duration and, after each run,
# checks that every id survived (count and sum of the ids, before and after).
#
#   cargo build --release && bench/typechange/run.sh          # 2,000,000 rows, 3 rounds
#   ROWS=100000 RUNS=1 FORMWORK_LOAD_S=30 bench/typechange/run.sh   # a quick look
#
# Prints a markdown table on standard output (progress on standard error). Starts its own
# throwaway cluster (as the `postgres` OS user when run as root, fsync off) and removes it on
# exit. Needs PostgreSQL server binaries (PG_BIN or the newest /usr/lib/postgresql/*/bin),
# pgbench, python3 and the load tool (PGLOAD, default /work/shared/tools/pgload).
set -euo pipefail
cd "$(dirname "$0")/../.."

ROWS=${ROWS:-2000000}
RUNS=${RUNS:-3}
NAIVE_LOAD_S=${NAIVE_LOAD_S:-30}
IDLE_S=${IDLE_S:-10}
FORMWORK_LOAD_S=${FORMWORK_LOAD_S:-240}
CLIENTS=${CLIENTS:-4}
FORMWORK=${FORMWORK:-target/release/formwork}
PGLOAD=${PGLOAD:-/work/shared/tools/pgload}
PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)}
PORT=${PORT:-54341}
[ -x "$FORMWORK" ] || { echo "build first: cargo build --release" >&2; exit 1; }
[ -x "$PGLOAD" ] || { echo "the load tool is missing: set PGLOAD" >&2; exit 1; }
FORMWORK=$(realpath "$FORMWORK")
REAL_PGBENCH=${PGBENCH:-$PG_BIN/pgbench}

. bench/lib/cluster.sh
start_cluster typechange "$PORT" -c fsync=off -c shared_buffers=512MB
export PGHOST=$work PGPORT=$PORT PGUSER=postgres
psql() { "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
url() { echo "host=$work port=$PORT user=postgres dbname=$1"; }
log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }

log "loading $ROWS rows into the template"
psql -d postgres -c "CREATE DATABASE tpl"
psql -d tpl <<SQL
CREATE TABLE t (id integer PRIMARY KEY, note text, amount integer NOT NULL);
INSERT INTO t SELECT i, 'n' || i, i % 10000 FROM generate_series(1, $ROWS) AS i;
VACUUM ANALYZE;
SQL
"$FORMWORK" dump --db "$(url tpl)" --out "$work/before" 2>/dev/null
mkdir -p "$work/after"
python3 - "$work/before/public.kdl" "$work/after/public.kdl" <<'PY'
import sys
src, dst = sys.argv[1:]
text = open(src).read()
old, new = 'column "id" "integer"', 'column "id" "bigint"'
if text.count(old) != 1:
    sys.exit(f"cannot derive the changed declaration: {old!r} not once in the dump")
open(dst, "w").write(text.replace(old, new))
PY
NAIVE="ALTER TABLE t ALTER COLUMN id TYPE bigint"
ids() { psql -d run -At -c "SELECT count(id) || ' ' || sum(id) FROM t"; }

reset_db() {
  psql -d postgres -c "DROP DATABASE IF EXISTS run" -c "CREATE DATABASE run TEMPLATE tpl STRATEGY FILE_COPY"
  psql -d run -c "CHECKPOINT"
}

cat >"$work/change.sh" <<'SH'
#!/usr/bin/env bash
# change.sh COMMAND...: run COMMAND, write its duration and exit status to $CHANGE_OUT.
t0=$(date +%s.%N)
"$@" >>"$CHANGE_LOG" 2>&1
rc=$?
t1=$(date +%s.%N)
echo "$t0 $t1 $rc" >"$CHANGE_OUT"
exit $rc
SH
chmod +x "$work/change.sh"
export CHANGE_OUT=$work/change.out CHANGE_LOG=$work/change.log

# pgload reports the p99 of its whole window; to get the p99 of the transactions that overlapped
# the change, it runs pgbench through this wrapper, which keeps the per-transaction logs.
cat >"$work/pgbench.sh" <<SH
#!/usr/bin/env bash
"$REAL_PGBENCH" "\$@"
rc=\$?
rm -rf "$work/txlog" && mkdir -p "$work/txlog" && cp tx* "$work/txlog/" 2>/dev/null
exit \$rc
SH
chmod +x "$work/pgbench.sh"
export PGBENCH=$work/pgbench.sh

: >"$work/results.tsv"
for run in $(seq 1 "$RUNS"); do
  for how in idle naive formwork; do
    reset_db
    before_ids=$(ids)
    note=""
    if [ "$how" = idle ]; then
      load_s=$((IDLE_S + 5))
      cmd=(sleep "$IDLE_S")
    elif [ "$how" = naive ]; then
      load_s=$NAIVE_LOAD_S
      cmd=("$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -d run -c "$NAIVE")
    else
      load_s=$FORMWORK_LOAD_S
      p0=$(date +%s.%N)
      set +e
      "$FORMWORK" plan --db "$(url run)" --dir "$work/after" --out "$work/plan.bin" \
        --dev-url "$(url postgres)" >"$work/plan.txt" 2>&1
      prc=$?
      set -e
      p1=$(date +%s.%N)
      [ $prc = 2 ] || { log "plan failed ($prc)"; cat "$work/plan.txt" >&2; exit 1; }
      steps=$(grep -m1 -oE '[0-9]+ steps' "$work/plan.txt" || echo "? steps")
      note+="plan $(python3 -c "print(f'{$p1 - $p0:.1f}')") s, $steps"
      cmd=("$FORMWORK" apply "$work/plan.bin" --db "$(url run)" --auto-approve --phase all)
    fi
    log "round $run / $how (load $load_s s)"
    echo "== round $run / $how" >>"$work/change.log"
    rm -f "$work/change.out"
    out=$("$PGLOAD" -d run -t public.t -r "$ROWS" -s "$load_s" -c "$CLIENTS" -- \
      "$work/change.sh" "${cmd[@]}" | tail -1)
    read -r t0 t1 change_rc <"$work/change.out" || { t0=0; t1=0; change_rc=?; }
    during=$(python3 - "$work/txlog" "$t0" "$t1" "$load_s" <<'PY'
import glob, os, sys
logs, t0, t1, load_s = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
during = []
for f in glob.glob(os.path.join(logs, "tx*")):
    for line in open(f):
        p = line.split()
        if len(p) < 6:
            continue
        ms = int(p[2]) / 1000.0
        end = int(p[4]) + int(p[5]) / 1e6
        if end >= t0 and end - ms / 1000.0 <= t1:  # overlapped the change (as pgload counts)
            during.append(ms)
during.sort()
p99 = during[max(0, int(len(during) * 0.99) - 1)] if during else -1
over100 = sum(1 for ms in during if ms > 100)
# The load runs load_s seconds from 2 s before the change: a longer change outlives it.
short = " load_ended_first=1" if t1 - t0 > load_s - 2 else ""
print(f"during_p99_ms={p99:.0f} during_txns={len(during)} over_100ms={over100} change_s={t1 - t0:.2f}{short}")
PY
)
    after_type=$(psql -d run -At -c "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 't'::regclass AND attname = 'id'")
    [ "$(ids)" = "$before_ids" ] || note+="${note:+; }IDS CHANGED"
    log "  $out $during rc=$change_rc id=$after_type load=$(cut -d' ' -f1 /proc/loadavg)"
    printf '%s\t%s\t%s %s\t%s\t%s\t%s\n' "$run" "$how" "$out" "$during" "$change_rc" \
      "$after_type" "$note" >>"$work/results.tsv"
  done
done

echo "rows: $ROWS, load: pgload -c $CLIENTS (naive -s $NAIVE_LOAD_S, formwork -s $FORMWORK_LOAD_S), $(nproc) cores, PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}'), formwork $("$FORMWORK" --version | awk '{print $2}')"
echo "formwork binary: $FORMWORK, built $(date -u -r "$FORMWORK" +%Y-%m-%dT%H:%MZ), source commit ${FORMWORK_COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}; run $(date -u +%Y-%m-%dT%H:%MZ), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
python3 - "$work/results.tsv" <<'PY'
import statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
cols = ["during_worst_ms", "during_p99_ms", "over_100ms", "failed_clients", "during_txns", "change_s"]
print("| round | how | worst latency during change (ms) | p99 during change (ms) | transactions over 100 ms | failed clients | transactions during change | change (s) | change exit | id after | notes |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|")
by_how = {}
for run, how, out, rc, typ, note in rows:
    m = dict(kv.split("=", 1) for kv in out.split())
    by_how.setdefault(how, []).append(m)
    notes = [note] if note else []
    if "load_ended_first" in m:
        notes.append("the load ended before the change (raise the load time)")
    print(f"| {run} | {how} | " + " | ".join(m.get(c, "?") for c in cols) + f" | {rc} | {typ} | {'; '.join(notes)} |")
if all(len(v) > 1 for v in by_how.values()):
    print()
    print("| median of the rounds | worst (ms) | p99 (ms) | over 100 ms | failed clients | change (s) |")
    print("|---|---:|---:|---:|---:|---:|")
    for how, ms in by_how.items():
        med = lambda c: statistics.median(float(m.get(c, "nan")) for m in ms)
        print(f"| {how} | {med('during_worst_ms'):.0f} | {med('during_p99_ms'):.0f} | {med('over_100ms'):.0f} | {med('failed_clients'):.0f} | {med('change_s'):.2f} |")
PY
if grep -q . "$work/change.log"; then
  echo
  echo "<details><summary>output of the changes</summary>"
  echo
  echo '```'
  grep -E '^== |done in|^applied plan|retry|ERROR|error' "$work/change.log" | cut -c1-200
  echo '```'
  echo "</details>"
fi
