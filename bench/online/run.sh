#!/usr/bin/env bash
# Online benchmark: what a schema change does to traffic on a busy table, the naive DDL next to
# formwork's plan.
#
# A table `t` of ROWS rows (id bigint primary key, note text, account_id, status enum,
# email varchar(20)) takes a pgbench load (pgload: 4 clients, each transaction reads one row by
# id and updates its note). For each change the table is reset (a fresh database copied from a
# template), then the change runs under the load:
#
#   naive     the DDL as a hand-written migration would run it, with psql (no lock_timeout)
#   formwork  `formwork plan --db URL --dir AFTER --out plan.bin` before the load (planning only
#             reads the catalog; its scratch databases live on the same server through
#             --dev-url), then `formwork apply plan.bin --db URL --auto-approve --phase all`
#             under the load
#
# pgload reports the worst latency of transactions that overlapped the change (during_worst),
# the p99 of the whole load window (it includes the 2 s before the change and the time after
# it) and aborted clients (a failed transaction aborts its pgbench client). The script adds the
# p99 of the transactions that overlapped the change, from pgbench's logs, and times the change
# itself (without the plan, and without the long transaction of the lock-queue case).
#
# Then the lock queue: a transaction holds ACCESS SHARE on `t` for HOLD_S seconds
# (`BEGIN; SELECT count(*) FROM t; SELECT pg_sleep(HOLD_S); COMMIT`) and a metadata-only change
# (ADD COLUMN, nullable) arrives 0.5 s after it. Without a lock_timeout the ALTER waits for the
# whole transaction, and every query queued behind it waits with it. formwork's step gives up
# after its lock_timeout and retries, so queries should wait about the timeout.
#
#   cargo build --release && bench/online/run.sh                  # 2,000,000 rows
#   ROWS=50000 LOAD_S=10 bench/online/run.sh                      # a quick look
#   ONLY="create-index lock-queue" ROWS=50000 bench/online/run.sh # some changes only
#   FORMWORK=/path/to/formwork FORMWORK_COMMIT=abc1234 bench/online/run.sh  # another build
#
# Prints a markdown table on standard output (progress on standard error). Starts its own
# throwaway cluster (as the `postgres` OS user when run as root, fsync off) and removes it on
# exit. Needs PostgreSQL server binaries (PG_BIN or the newest /usr/lib/postgresql/*/bin),
# pgbench, python3 and the load tool (PGLOAD, default /work/shared/tools/pgload).
set -euo pipefail
cd "$(dirname "$0")/../.."

ROWS=${ROWS:-2000000}
LOAD_S=${LOAD_S:-30}
HOLD_S=${HOLD_S:-10}
CLIENTS=${CLIENTS:-4}
ONLY=${ONLY:-}
FORMWORK=${FORMWORK:-target/release/formwork}
PGLOAD=${PGLOAD:-/work/shared/tools/pgload}
PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)}
PORT=${PORT:-54331}
[ -x "$FORMWORK" ] || { echo "build first: cargo build --release" >&2; exit 1; }
[ -x "$PGLOAD" ] || { echo "the load tool is missing: set PGLOAD" >&2; exit 1; }
FORMWORK=$(realpath "$FORMWORK")
REAL_PGBENCH=${PGBENCH:-$PG_BIN/pgbench}

. bench/lib/cluster.sh
start_cluster online "$PORT" -c fsync=off -c shared_buffers=512MB
export PGHOST=$work PGPORT=$PORT PGUSER=postgres
psql() { "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
url() { echo "host=$work port=$PORT user=postgres dbname=$1"; }
log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }

log "loading $ROWS rows into the template"
psql -d postgres -c "CREATE DATABASE tpl"
psql -d tpl <<SQL
CREATE TYPE status AS ENUM ('active', 'suspended', 'closed');
CREATE TABLE accounts (id bigint PRIMARY KEY, name text NOT NULL);
INSERT INTO accounts SELECT i, 'account ' || i FROM generate_series(1, 1000) AS i;
CREATE TABLE t (
    id bigint PRIMARY KEY,
    note text,
    account_id bigint NOT NULL,
    status status NOT NULL DEFAULT 'active',
    email varchar(20)
);
INSERT INTO t
SELECT i, 'n' || i, i % 1000 + 1, (ARRAY['active', 'suspended', 'closed'])[i % 3 + 1]::status,
       'u' || i || '@x.example'
FROM generate_series(1, $ROWS) AS i;
VACUUM ANALYZE;
SQL
"$FORMWORK" dump --db "$(url tpl)" --out "$work/before" 2>/dev/null

# after/ for a change: the dumped declaration with one edit (old -> new, once).
derive() { # name old new
  mkdir -p "$work/after-$1"
  python3 - "$work/before/public.kdl" "$work/after-$1/public.kdl" "$2" "$3" <<'PY'
import sys
src, dst, old, new = sys.argv[1:]
text = open(src).read()
# The first occurrence inside table t, else the first anywhere (the enum is declared before t).
at = text.find(old, max(text.find('table "t" {'), 0))
at = at if at >= 0 else text.find(old)
if at < 0:
    sys.exit(f"cannot derive the changed declaration: {old!r} not in the dump")
open(dst, "w").write(text[:at] + new + text[at + len(old):])
PY
}
pk='        primary-key "id"'
derive create-index "$pk" "$pk"$'\n        index "t_account_id_idx" "account_id"'
derive add-unique "$pk" "$pk"$'\n        unique "t_email_key" "email"'
derive add-foreign-key "$pk" "$pk"$'\n        foreign-key "t_account_id_fkey" "account_id" references="public.accounts(id)"'
derive add-check "$pk" "$pk"$'\n        check "t_account_id_positive" "account_id > 0"'
derive set-not-null 'column "email" "character varying(20)" nullable=#true' 'column "email" "character varying(20)"'
derive add-column-default "$pk" $'        column "flag" "boolean" default="false"\n'"$pk"
derive widen-varchar '"character varying(20)"' '"character varying(100)"'
derive enum-add-value '"active" "suspended" "closed"' '"active" "suspended" "closed" "archived"'
derive lock-queue "$pk" $'        column "extra" "text" nullable=#true\n'"$pk"

declare -A naive=(
  [create-index]="CREATE INDEX t_account_id_idx ON t (account_id)"
  [add-unique]="ALTER TABLE t ADD CONSTRAINT t_email_key UNIQUE (email)"
  [add-foreign-key]="ALTER TABLE t ADD CONSTRAINT t_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts (id)"
  [add-check]="ALTER TABLE t ADD CONSTRAINT t_account_id_positive CHECK (account_id > 0)"
  [set-not-null]="ALTER TABLE t ALTER COLUMN email SET NOT NULL"
  [add-column-default]="ALTER TABLE t ADD COLUMN flag boolean NOT NULL DEFAULT false"
  [widen-varchar]="ALTER TABLE t ALTER COLUMN email TYPE varchar(100)"
  [enum-add-value]="ALTER TYPE status ADD VALUE 'archived'"
  [lock-queue]="ALTER TABLE t ADD COLUMN extra text"
)
changes=(create-index add-unique add-foreign-key add-check set-not-null add-column-default
  widen-varchar enum-add-value lock-queue)

reset_db() {
  psql -d postgres -c "DROP DATABASE IF EXISTS run" -c "CREATE DATABASE run TEMPLATE tpl STRATEGY FILE_COPY"
  psql -d run -c "CHECKPOINT"
}

# The command pgload runs: the change itself, timed on its own (the lock-queue case also waits
# for the long transaction, which is not part of the change).
cat >"$work/change.sh" <<'SH'
#!/usr/bin/env bash
# change.sh KIND HOLD_S -- COMMAND...: run COMMAND (behind a long transaction when KIND is
# lock-queue), write its duration and exit status to $CHANGE_OUT.
kind=$1 hold=$2; shift 3
holder=
if [ "$kind" = lock-queue ]; then
  "$PG_BIN/psql" -X -q -d run -c "BEGIN" -c "SELECT count(*) FROM t" -c "SELECT pg_sleep($hold)" -c "COMMIT" >/dev/null &
  holder=$!
  sleep 0.5
fi
t0=$(date +%s.%N)
"$@" >>"$CHANGE_LOG" 2>&1
rc=$?
t1=$(date +%s.%N)
echo "$t0 $t1 $rc" >"$CHANGE_OUT"
[ -z "$holder" ] || wait "$holder"
exit $rc
SH
chmod +x "$work/change.sh"
export PG_BIN CHANGE_OUT=$work/change.out CHANGE_LOG=$work/change.log

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
for change in "${changes[@]}"; do
  if [ -n "$ONLY" ] && [[ " $ONLY " != *" $change "* ]]; then continue; fi
  for how in naive formwork; do
    reset_db
    note=""
    if [ "$how" = naive ]; then
      cmd=("$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -d run -c "${naive[$change]}")
    else
      p0=$(date +%s.%N)
      set +e
      "$FORMWORK" plan --db "$(url run)" --dir "$work/after-$change" --out "$work/plan.bin" \
        --dev-url "$(url postgres)" >"$work/plan-$change.txt" 2>&1
      prc=$?
      if [ $prc = 1 ]; then
        # No online form yet: the plan says so; measure what it would run when accepted.
        note="needs --allow-blocking; "
        "$FORMWORK" plan --db "$(url run)" --dir "$work/after-$change" --out "$work/plan.bin" \
          --dev-url "$(url postgres)" --allow-blocking >"$work/plan-$change.txt" 2>&1
        prc=$?
      fi
      set -e
      p1=$(date +%s.%N)
      [ $prc = 2 ] || { log "plan for $change failed ($prc)"; cat "$work/plan-$change.txt" >&2; exit 1; }
      note+="plan $(python3 -c "print(f'{$p1 - $p0:.1f}')") s"
      cmd=("$FORMWORK" apply "$work/plan.bin" --db "$(url run)" --auto-approve --phase all)
    fi
    log "$change / $how"
    echo "== $change / $how" >>"$work/change.log"
    rm -f "$work/change.out"
    out=$("$PGLOAD" -d run -t public.t -r "$ROWS" -s "$LOAD_S" -c "$CLIENTS" -- \
      "$work/change.sh" "$change" "$HOLD_S" -- "${cmd[@]}" | tail -1)
    read -r t0 t1 change_rc <"$work/change.out" || { t0=0; t1=0; change_rc=?; }
    during=$(python3 - "$work/txlog" "$t0" "$t1" "$LOAD_S" <<'PY'
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
# The load runs LOAD_S seconds from 2 s before the change: a longer change outlives it.
short = " load_ended_first=1" if t1 - t0 > load_s - 2 else ""
print(f"during_p99_ms={p99:.0f} during_txns={len(during)} change_s={t1 - t0:.2f}{short}")
PY
)
    log "  $out $during rc=$change_rc"
    printf '%s\t%s\t%s %s\t%s\t%s\n' "$change" "$how" "$out" "$during" "$change_rc" "$note" \
      >>"$work/results.tsv"
  done
done

echo "rows: $ROWS, load: pgload -c $CLIENTS -s $LOAD_S, $(nproc) cores, PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}'), formwork $("$FORMWORK" --version | awk '{print $2}')"
echo "formwork binary: $FORMWORK, built $(date -u -r "$FORMWORK" +%Y-%m-%dT%H:%MZ), source commit ${FORMWORK_COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}; run $(date -u +%Y-%m-%dT%H:%MZ)"
echo
python3 - "$work/results.tsv" "$HOLD_S" <<'PY'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
hold = sys.argv[2]
labels = {
    "create-index": "create index", "add-unique": "add unique constraint",
    "add-foreign-key": "add foreign key", "add-check": "add check",
    "set-not-null": "set not null", "add-column-default": "add column with default",
    "widen-varchar": "varchar(20) → varchar(100)", "enum-add-value": "enum add value",
    "lock-queue": f"lock queue: add column behind a {hold} s transaction",
}
def notes(note, m):
    yield note
    if "load_ended_first" in m:
        yield "the load ended before the change (raise LOAD_S)"
print("| change | how | worst latency during change (ms) | p99 during change (ms) | p99 of the whole load (ms) | failed clients | transactions during change | change (s) | change exit | notes |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
for change, how, out, rc, note in rows:
    m = dict(kv.split("=", 1) for kv in out.split())
    print(f"| {labels.get(change, change)} | {how} | {m.get('during_worst_ms', '?')} | {m.get('during_p99_ms', '?')} | "
          f"{m.get('p99_ms', '?')} | {m.get('failed_clients', '?')} | {m.get('during_txns', '?')} | "
          f"{m.get('change_s', '?')} | {rc} | {'; '.join(n for n in notes(note, m) if n)} |")
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
