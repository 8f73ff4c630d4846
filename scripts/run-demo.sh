#!/usr/bin/env bash
# scripts/run-demo.sh BIN DB LISTEN - loads the demo marketplace once and serves it.
set -euo pipefail
bin=$1 db=$2 listen=$3
if [[ ! -f $db ]]; then
  "$bin" demo --db "$db" >/dev/null
fi
url="http://$listen"
cat <<MSG

parley is starting with the demo marketplace ($db).
  Web message center:  $url/   (sign in with an e-mail address and password below)
  API:                 $url/v1   (docs/api.md)
  Health and metrics:  $url/healthz  $url/metrics
  API tokens:          $db.tokens.json (operator, each agent, each buyer)

Demo accounts (e-mail, password; also in $db.accounts.txt):
$(cat "$db.accounts.txt" 2>/dev/null || echo "  (none: this database is older than accounts; start afresh, below)")

Try it:
  TOKEN=\$(python3 -c "import json;print(json.load(open('$db.tokens.json'))['buyers']['B1'])")
  curl -s -H "Authorization: Bearer \$TOKEN" $url/v1/threads

Stop with Ctrl-C. Start afresh with: rm -r $db* && make run
MSG
# Compiled policy databases are kept beside the demo database: the next start with
# the same rules reads them instead of compiling (seconds).
exec "$bin" serve --db "$db" --listen "$listen" --policy-cache "$db.policy-cache"
