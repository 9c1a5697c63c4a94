#!/usr/bin/env bash
# Lint benchmark: formwork lint vs squawk on generated migrations of 100k, 200k and 400k
# statements. Needs: python3, hyperfine, GNU time (/usr/bin/time), squawk (pip install
# squawk-cli) on PATH or in $SQUAWK, and a release build (cargo build --release).
set -euo pipefail
cd "$(dirname "$0")/.."
FORMWORK=${FORMWORK:-target/release/formwork}
SQUAWK=${SQUAWK:-squawk}
OUT=${OUT:-target/bench-lint}
command -v "$SQUAWK" >/dev/null || { echo "squawk not found: pip install squawk-cli, or set SQUAWK" >&2; exit 1; }
[ -x "$FORMWORK" ] || { echo "build first: cargo build --release" >&2; exit 1; }
mkdir -p "$OUT"
for n in 100000 200000 400000; do
  [ -f "$OUT/m$n.sql" ] || python3 bench/gen_migration.py "$n" "$OUT/m$n.sql"
done
hyperfine --runs 5 --warmup 1 --ignore-failure --export-markdown "$OUT/hyperfine.md" \
  "$FORMWORK lint --format json $OUT/m100000.sql > /dev/null" \
  "$SQUAWK --reporter json $OUT/m100000.sql > /dev/null"
for n in 100000 200000 400000; do
  /usr/bin/time -f "formwork $n statements: %e s wall, %U s user, %M KB max RSS" \
    "$FORMWORK" lint --format json "$OUT/m$n.sql" > /dev/null || true
  /usr/bin/time -f "squawk   $n statements: %e s wall, %U s user, %M KB max RSS" \
    "$SQUAWK" --reporter json "$OUT/m$n.sql" > /dev/null || true
done
