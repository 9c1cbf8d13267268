#!/usr/bin/env bash
# Runs a command with CHATWIRE_TEST_DATABASE_URL pointing at a throwaway PostgreSQL server on 127.0.0.1,
# which is stopped and deleted afterwards. Without arguments it runs the storage tests.
#
#   scripts/test-postgres.sh               # npx vitest run src/storage
#   scripts/test-postgres.sh npm test      # any command
#
# Needs PostgreSQL's server programs (Debian/Ubuntu: apt-get install postgresql; macOS: brew install
# postgresql), found under /usr/lib/postgresql/*/bin, on PATH, or in PG_BINDIR. Run as root, the server
# runs as the `postgres` user, since PostgreSQL refuses to run as root.
set -euo pipefail
cd "$(dirname "$0")/.."

find_bindir() {
  if [[ -n "${PG_BINDIR:-}" ]]; then
    echo "$PG_BINDIR"
    return
  fi
  local debian
  debian=$(compgen -G '/usr/lib/postgresql/*/bin/initdb' | sort -V | tail -n 1 || true)
  if [[ -n "$debian" ]]; then
    dirname "$debian"
  elif command -v initdb >/dev/null; then
    dirname "$(command -v initdb)"
  elif command -v pg_config >/dev/null; then
    pg_config --bindir
  else
    return 1
  fi
}

if ! bindir=$(find_bindir) || [[ ! -x "$bindir/initdb" ]]; then
  echo "test-postgres: PostgreSQL's initdb not found; install PostgreSQL or set PG_BINDIR" >&2
  exit 1
fi

if [[ $(id -u) -eq 0 ]] && ! id postgres >/dev/null 2>&1; then
  echo "test-postgres: run as root, the server needs a 'postgres' user to run as (PostgreSQL refuses root)" >&2
  exit 1
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/chatwire-pg.XXXXXX")
if [[ $(id -u) -eq 0 ]]; then
  chown postgres: "$dir"
  # In the server's own folder, so it never needs to read the caller's working directory.
  as_owner() { (cd "$dir" && runuser -u postgres -- "$@"); }
else
  as_owner() { "$@"; }
fi

cleanup() {
  if [[ -f "$dir/data/postmaster.pid" ]]; then
    as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -s stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

port=$(node -e '
  const server = require("node:net").createServer().listen(0, "127.0.0.1", () => {
    console.log(server.address().port);
    server.close();
  });')

# Durability is not wanted from a server that is deleted afterwards: no fsync, at init or at run.
if ! as_owner "$bindir/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C -N >"$dir/initdb.log" 2>&1; then
  cat "$dir/initdb.log" >&2
  exit 1
fi
if ! as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -s \
  -o "-h 127.0.0.1 -p $port -k $dir -F" start >/dev/null; then
  cat "$dir/server.log" >&2
  exit 1
fi
"$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d postgres \
  -c "create role chatwire_test login password 'chatwire_test'" \
  -c "create database chatwire_test owner chatwire_test"

# amcheck (PostgreSQL's own corruption checks, used by the crash-consistency tests) needs a superuser to
# install; where the server has no contrib modules, those tests say so and check the rows only.
"$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d chatwire_test \
  -c "create extension amcheck" \
  -c "grant execute on all functions in schema public to chatwire_test" >/dev/null 2>&1 ||
  echo "test-postgres: amcheck is not available on this server" >&2

export CHATWIRE_TEST_DATABASE_URL="postgres://chatwire_test:chatwire_test@127.0.0.1:$port/chatwire_test"
echo "test-postgres: PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on 127.0.0.1:$port for this run"

if [[ $# -eq 0 ]]; then
  set -- npx vitest run src/storage
fi
"$@"
