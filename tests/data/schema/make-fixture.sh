#!/bin/sh
# make-fixture.sh - makes the databases that tests/cli/test_migrate.py upgrades: the demo
# marketplace plus a little traffic of each kind, written by the parley given (the
# release whose schema the fixture stands for). Run from the repository root:
#   tests/data/schema/make-fixture.sh build/parley tests/data/schema/v12 [postgres://.../db]
# SQLite (no URL): <out>.db.gz. PostgreSQL (an empty database's URL): <out>.pg.sql.gz, a
# plain pg_dump. Both: <out>.key (a test key: it seals only the demo's addresses) and
# <out>.tokens.json (the demo's test tokens); a PostgreSQL fixture made after a SQLite
# one must be given the same key file, which it uses. v12 was made by the release at
# e6b6151.
set -eu
bin=$1 out=$2 pg=${3:-}
dir=$(mktemp -d)
pid=
trap '[ -z "$pid" ] || kill $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
db=$dir/f.db
keyopt=
if [ -n "$pg" ]; then
  db=$pg
  cp "$out.key" "$dir/f.key"
  chmod 600 "$dir/f.key" # parley refuses a key file others may read
  keyopt="--key-file $dir/f.key"
fi
tokens=$dir/tokens.json
"$bin" demo --db "$db" $keyopt --tokens "$tokens" >/dev/null
"$bin" admin --db "$db" $keyopt spapi-credentials --seller S1 >/dev/null
"$bin" serve --db "$db" $keyopt --listen 127.0.0.1:0 --smtp-relay off >"$dir/out" 2>&1 &
pid=$!
while ! grep -q 'listening on' "$dir/out"; do kill -0 $pid; sleep 0.1; done
url=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$dir/out")
tok() { python3 -c "import json,sys;d=json.load(open('$tokens'));print(eval(sys.argv[1]))" "$1"; }
B1=$(tok "d['buyers']['B1']"); A=$(tok "d['agents']['Maya Lopez']['token']")
T1=$(tok "d['threads'][0]['id']")
post() { curl -sSf -H "Authorization: Bearer $1" -H 'Content-Type: application/json' -d "$3" "$url$2" >/dev/null; }
post "$B1" "/v1/threads/$T1/messages" '{"text":"Does it come with a charger? fixture-buyer-question"}'
post "$A" "/v1/threads/$T1/notes" '{"text":"check the stock first"}'
post "$A" "/v1/threads/$T1/messages" '{"text":"Yes, a charger is in the box. fixture-seller-answer"}'
post "$A" "/v1/templates" '{"name":"Fixture","purpose":"other","critical":false,"variants":{"en":"Thank you for your question about {{order_id}}."}}'
post "$A" "/v1/agents/1/addresses" '{"email":"maya@s1-fixture.example"}'
kill $pid; wait $pid || true
pid=
if [ -n "$pg" ]; then
  pg_dump --no-owner --no-privileges "$pg" | gzip -9 >"$out.pg.sql.gz"
  cp "$tokens" "$out.pg.tokens.json"
  echo "PostgreSQL fixture -> $out.pg.sql.gz"
  exit 0
fi
sqlite3 "$db" 'PRAGMA wal_checkpoint(TRUNCATE); VACUUM;' >/dev/null
gzip -9c "$db" >"$out.db.gz"
cp "$db.key" "$out.key"
cp "$tokens" "$out.tokens.json"
echo "schema version $(sqlite3 "$db" 'PRAGMA user_version') -> $out.db.gz"
