# A throwaway PostgreSQL cluster for a benchmark script; source it, then
#
#   start_cluster NAME PORT [-c setting=value ...]
#
# initdb into a fresh directory ($work, which the script may use for its own files), starts the
# server on a unix socket there with the extra settings, and stops and removes it all when the
# script exits. As root the server runs as the `postgres` OS user: initdb refuses root. Needs
# PG_BIN.

start_cluster() {
  local name=$1 port=$2
  shift 2
  work=$(mktemp -d "/tmp/formwork-bench-$name.XXXXXX")
  chmod 755 "$work"
  as_pg=()
  if [ "$(id -u)" = 0 ]; then
    chown postgres "$work"
    as_pg=(runuser -u postgres --)
  fi
  trap stop_cluster EXIT
  "${as_pg[@]}" "$PG_BIN/initdb" -D "$work/data" -U postgres --auth=trust >/dev/null
  "${as_pg[@]}" "$PG_BIN/pg_ctl" -D "$work/data" -l "$work/server.log" -w \
    -o "-k $work -p $port -c listen_addresses='' $*" start >/dev/null
}

stop_cluster() {
  "${as_pg[@]}" "$PG_BIN/pg_ctl" -D "$work/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
