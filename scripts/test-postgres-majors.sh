#!/usr/bin/env bash
# Runs the test suite on each supported PostgreSQL major besides Debian's (default: 14 16 17
# 18), with PG_BIN pointing the throwaway clusters at that major's server binaries. Those
# builds have no pg_dump: the one test that needs it says it skipped when the pg_dump on PATH
# is older than the server.
#
# Every test target runs except tests/online.rs: those tests measure lock waits of a
# concurrent workload against time bounds, which says something on a quiet machine and on one
# major (15, in the README's test command); run four more times back to back on a small CI
# machine they would measure the machine.
#
#   scripts/test-postgres-majors.sh [major...]
set -euo pipefail
cd "$(dirname "$0")/.."

majors=("$@")
[ ${#majors[@]} -gt 0 ] || majors=(14 16 17 18)
installed=$(scripts/install-postgres-majors.sh "${majors[@]}")
targets=(--lib --examples)
for t in tests/*.rs; do
  name=$(basename "$t" .rs)
  [ "$name" = online ] || targets+=(--test "$name")
done
failed=()
while read -r major bin; do
  echo "=== PostgreSQL $major ($bin)"
  if ! PG_BIN=$bin cargo test --locked --no-fail-fast "${targets[@]}"; then
    failed+=("$major")
  fi
done <<<"$installed"
if [ ${#failed[@]} -gt 0 ]; then
  echo "test-postgres-majors: the suite failed on PostgreSQL ${failed[*]}" >&2
  exit 1
fi
echo "test-postgres-majors: the suite passed on PostgreSQL ${majors[*]}"
