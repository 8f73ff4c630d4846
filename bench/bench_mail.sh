#!/usr/bin/env bash
# bench_mail.sh - messages per second through Postfix -> LMTP -> parley, against a discarding Postfix.
#
# Starts parley (SQLite, a marketplace, one seller with an alias, C buyers with an order and a
# thread each) and a private Postfix (tests/mail/*.cf.in, loopback) whose transport sends the
# relay domain to parley's LMTP listener. Postfix's smtp-source is the load: C sessions at once,
# one per buyer, each sending N/C mails from the buyer's address to the seller's alias. The clock
# runs until every message is committed (counted in the database). Then the same load goes to
# the same Postfix with the relay domain's transport set to discard:, timed until Postfix has
# discarded every mail: the ratio is parley's cost. LMTP-side latency comes from Postfix's log
# (delays=a/b/c/d: c+d is connection setup plus the LMTP conversation up to parley's 250, which
# parley sends only after the commit). Needs root, postfix, sqlite3 (scripts/deps.sh test).
#
# Usage: bench/bench_mail.sh [N [C]]   (PARLEY_BIN: the parley executable, default build/parley)
set -euo pipefail
N=${1:-2000}
C=${2:-10}
LEN=${LEN:-400}
HERE=$(cd "$(dirname "$0")/.." && pwd)
BIN=${PARLEY_BIN:-$HERE/build/parley}
RELAY=relay.example.com
SOURCE=/usr/sbin/smtp-source
[[ $(id -u) -eq 0 ]] || { echo "bench_mail: needs root (Postfix's master)" >&2; exit 2; }
for t in postfix sqlite3 "$SOURCE" "$BIN"; do command -v "$t" >/dev/null || { echo "bench_mail: $t missing" >&2; exit 2; }; done
PER=$(( N / C )); N=$(( PER * C ))

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
W=$(mktemp -d /tmp/parley-bench-mail.XXXXXX); chmod 755 "$W"
PF=$W/postfix; DB=$W/parley.db; PARLEY_PID=
cleanup() {
  postfix -c "$PF" stop >/dev/null 2>&1 || true
  [[ -n $PARLEY_PID ]] && kill "$PARLEY_PID" 2>/dev/null && wait "$PARLEY_PID" 2>/dev/null || true
  rm -rf "$W"
}
trap cleanup EXIT

# ---- parley with demo-like data --------------------------------------------------------------
{
  echo '{"type":"marketplace","id":"ATVPDKIKX0DER","name":"Example US","domains":["example.com"],"locale":"en-US"}'
  echo '{"type":"seller","id":"S1","marketplace":"ATVPDKIKX0DER","name":"Acme Tools","email":"support@acme.test"}'
  for i in $(seq 1 "$C"); do
    echo "{\"type\":\"buyer\",\"id\":\"B$i\",\"name\":\"Buyer $i\",\"email\":\"buyer$i@mail.test\",\"locale\":\"en-US\"}"
    echo "{\"type\":\"order\",\"id\":\"112-0000000-$(printf %07d "$i")\",\"marketplace\":\"ATVPDKIKX0DER\",\"seller\":\"S1\",\"buyer\":\"B$i\",\"status\":\"delivered\",\"purchased_at\":\"2026-10-01T10:00:00Z\"}"
  done
} > "$W/import.jsonl"
"$BIN" import --db "$DB" "$W/import.jsonl" >/dev/null 2>&1
SMTP=$(port); SUBMIT=$(port)
"$BIN" serve --db "$DB" --listen 127.0.0.1:0 --lmtp 127.0.0.1:0 --smtp-relay "smtp://127.0.0.1:$SUBMIT" \
  --mail-domain parley.example.com --log-format off > "$W/parley.log" 2>&1 &
PARLEY_PID=$!
for _ in $(seq 1 300); do grep -q "listening on http" "$W/parley.log" && break; sleep 0.1; done
HTTP=$(sed -n 's/.*listening on http:\/\/[0-9.]*:\([0-9]*\).*/\1/p' "$W/parley.log" | head -1)
LMTP=$(sed -n 's/.*LMTP\/SMTP on [0-9.]*:\([0-9]*\).*/\1/p' "$W/parley.log" | head -1)
[[ -n $HTTP && -n $LMTP ]] || { cat "$W/parley.log"; exit 1; }
for i in $(seq 1 "$C"); do   # a thread per buyer, opened over the API as a buyer would
  tok=$("$BIN" admin token create --db "$DB" --buyer "B$i")
  curl -sf -o /dev/null -H "Authorization: Bearer $tok" -H 'Content-Type: application/json' \
    -d "{\"order_id\":\"112-0000000-$(printf %07d "$i")\",\"topic\":\"product_question\",\"text\":\"Hello from buyer $i\"}" \
    "http://127.0.0.1:$HTTP/v1/threads"
done
ALIAS=$(sqlite3 "$DB" "SELECT alias FROM sellers WHERE id='S1'")

# ---- the private Postfix -----------------------------------------------------------------------
mkdir -p "$PF"/{queue,data,mail/acme.test,mail/mail.test}
chown postfix:postfix "$PF/data"; chown -R 65534:65534 "$PF/mail"
for f in main master; do
  sed -e "s#@DIR@#$PF#g" -e "s#@SMTP_PORT@#$SMTP#g" -e "s#@SUBMIT_PORT@#$SUBMIT#g" -e "s#@RELAY@#$RELAY#g" \
    "$HERE/tests/mail/$f.cf.in" > "$PF/$f.cf"
done
echo "support@acme.test acme.test/support" > "$PF/vmailbox"
echo "/^Received:/ IGNORE" > "$PF/parley_header_checks"
echo "$RELAY lmtp:inet:127.0.0.1:$LMTP" > "$PF/transport"
postfix -c "$PF" start >/dev/null 2>&1
for _ in $(seq 1 300); do (exec 3<>"/dev/tcp/127.0.0.1/$SMTP") 2>/dev/null && break; sleep 0.1; done

load() {   # C sessions at once, one per buyer, PER mails each
  local pids=()
  for i in $(seq 1 "$C"); do
    "$SOURCE" -s 1 -m "$PER" -l "$LEN" -f "buyer$i@mail.test" -t "$ALIAS" -M bench.mail.test \
      "127.0.0.1:$SMTP" & pids+=($!)
  done
  wait "${pids[@]}"
}
now() { date +%s.%N; }
count_msgs() { sqlite3 -cmd ".timeout 5000" "$DB" "SELECT count(*) FROM messages WHERE direction='buyer'"; }
pct() {   # percentiles (ms) of the numbers on stdin (seconds)
  sort -g | awk '{v[NR]=$1} END {if (!NR) {print "n/a"; exit}
    split("50 90 99", p, " "); s="";
    for (k=1;k<=3;k++){i=int(NR*p[k]/100+0.999); if(i<1)i=1; s=s sprintf("p%s %.0f ms  ",p[k],v[i]*1000)}
    printf "%smax %.0f ms (n=%d)\n", s, v[NR]*1000, NR}'
}

# ---- parley ----------------------------------------------------------------------------------------
BASE=$(count_msgs)
T0=$(now)
load
T_SENT=$(now)
while (( $(count_msgs) < BASE + N )); do
  sleep 0.2
  if awk -v t0="$T0" -v n="$(now)" 'BEGIN{exit !(n-t0>1800)}'; then echo "bench_mail: timed out" >&2; exit 1; fi
done
T1=$(now)
P_S=$(awk -v a="$T0" -v b="$T1" 'BEGIN{printf "%.2f", b-a}')
P_RATE=$(awk -v s="$P_S" -v n="$N" 'BEGIN{printf "%.0f", n/s}')
P_ACC=$(awk -v a="$T0" -v b="$T_SENT" 'BEGIN{printf "%.2f", b-a}')
LAT=$(grep " relay=127.0.0.1\[127.0.0.1\]:$LMTP," "$PF/maillog" | grep -o 'delays=[0-9./]*' |
      awk -F'[=/]' '{print $4+$5}' | pct)
DEFERRED=$(grep -c "relay=127.0.0.1\[127.0.0.1\]:$LMTP.*status=deferred" "$PF/maillog" || true)

# ---- the discarding baseline -----------------------------------------------------------------------
echo "$RELAY discard:" > "$PF/transport"
postfix -c "$PF" reload >/dev/null 2>&1; sleep 2
D_BASE=$(grep -c "relay=none.*status=sent (.*$RELAY" "$PF/maillog" || true)
T0=$(now)
load
while (( $(grep -c "relay=none.*status=sent (.*$RELAY" "$PF/maillog" || true) < D_BASE + N )); do sleep 0.2; done
T1=$(now)
D_S=$(awk -v a="$T0" -v b="$T1" 'BEGIN{printf "%.2f", b-a}')
D_RATE=$(awk -v s="$D_S" -v n="$N" 'BEGIN{printf "%.0f", n/s}')

echo "bench_mail: $N mails of ~$LEN bytes, $C smtp-source sessions (one per buyer), SQLite, forwards to the seller on"
echo "  Postfix -> LMTP -> parley: ${P_S} s until all committed = ${P_RATE} msgs/s (smtp-source done after ${P_ACC} s; ${DEFERRED} LMTP deferrals)"
echo "  LMTP latency (Postfix delays c+d, to parley's 250 after commit): $LAT"
echo "  Postfix -> discard:        ${D_S} s = ${D_RATE} msgs/s"
awk -v p="$P_RATE" -v d="$D_RATE" 'BEGIN{printf "  ratio: discard / parley = %.1f (parley path at %.0f%% of Postfix alone)\n", d/p, 100*p/d}'
