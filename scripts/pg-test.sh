#!/usr/bin/env bash
# scripts/pg-test.sh - a private PostgreSQL server for the tests, on loopback, under one directory.
#
# Usage: scripts/pg-test.sh start DIR     initdb (first time) and start; prints the URL
#        scripts/pg-test.sh stop DIR      stop the server and remove its data
#        scripts/pg-test.sh url DIR       print the URL of the server's maintenance database
#        scripts/pg-test.sh createdb DIR  create a fresh database; print its URL
#        scripts/pg-test.sh run DIR CMD.. run CMD with PARLEY_TEST_PG_URL set to the server's URL
#
# The server runs Debian's PostgreSQL binaries as the `postgres` system user when started
# by root (the server refuses to run as root), listens only on 127.0.0.1 on a port that
# was free at start, keeps its unix socket in DIR, trusts loopback connections and keeps
# fsync on, so that commits in tests are as durable as in production.
set -euo pipefail

cmd=${1:-}
dir=${2:-}
[[ -n $cmd && -n $dir ]] || { sed -n '3,8p' "$0" >&2; exit 2; }

bin=
for v in 15 16 17 14 13; do
  [[ -x /usr/lib/postgresql/$v/bin/pg_ctl ]] && { bin=/usr/lib/postgresql/$v/bin; break; }
done
[[ -n $bin ]] || { echo "pg-test: no PostgreSQL server binaries (apt-get install postgresql)" >&2; exit 1; }

data=$dir/data
as_owner() { # runs a server command as the owner of the data directory
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}
url() {
  local port
  port=$(cat "$dir/port" 2>/dev/null) || { echo "pg-test: no server in $dir (start it first)" >&2; exit 1; }
  echo "postgres://postgres@127.0.0.1:$port/${1:-postgres}"
}

case $cmd in
start)
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  data=$dir/data
  if [[ $(id -u) -eq 0 ]]; then chown postgres: "$dir"; fi
  if [[ -f $dir/port ]] && as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    url; exit 0  # already running
  fi
  if [[ ! -f $data/PG_VERSION ]]; then
    rm -rf "$data"
    as_owner "$bin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
      >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
  fi
  for attempt in 1 2 3; do
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    if as_owner "$bin/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 60 start -o \
         "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$dir -c fsync=on \
          -c synchronous_commit=on -c max_connections=300 -c shared_buffers=64MB" >/dev/null; then
      echo "$port" >"$dir/port"
      url
      exit 0
    fi
    echo "pg-test: start on port $port failed (attempt $attempt)" >&2
  done
  tail -20 "$dir/server.log" >&2 || true
  exit 1
  ;;
stop)
  if [[ -f $data/PG_VERSION ]]; then
    as_owner "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$data" "$dir/port"
  ;;
url)
  url
  ;;
createdb)
  name=parley_$(date +%s%N | tail -c 10)_$$_$RANDOM
  psql -X -q -v ON_ERROR_STOP=1 "$(url)" -c "CREATE DATABASE $name" >/dev/null
  url "$name"
  ;;
run)
  shift 2
  PARLEY_TEST_PG_URL=$(url)
  export PARLEY_TEST_PG_URL
  exec "$@"
  ;;
*)
  sed -n '3,8p' "$0" >&2
  exit 2
  ;;
esac
