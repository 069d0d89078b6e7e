#!/usr/bin/env bash
# Benchmark (not a test) of webhook delivery on SQLite, against a local receiver on loopback
# (examples/bench_receiver.rs) that answers 200 after 1 ms, then after 50 ms:
#  1. throughput: N deliveries are queued by a bulk run (a user macro with one webhook) while
#     this node sends nothing (outgoing.concurrency 0); then the server restarts with the
#     sender on and the script times how long until every delivery succeeded;
#  2. latency: sequential listener calls, each timed from the call to the moment the
#     receiver saw its webhook.
# Usage: scripts/bench_webhooks.sh [deliveries, default 20000] [latency calls, default 50]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"

N=${1:-20000}
CALLS=${2:-50}
PORT=${BENCH_PORT:-3202}
RPORT=${RECEIVER_PORT:-3299}
OUT=bench/out
mkdir -p "$OUT"
DB="$PWD/$OUT/webhook-bench.db"

as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }
command -v sqlite3 >/dev/null || as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y sqlite3 >/dev/null

if [[ -z "${BENCH_SKIP_BUILD:-}" ]]; then
  cargo leptos build --release >/dev/null
  cargo build --release --features ssr --example bench_receiver >/dev/null
fi
BIN=./target/release/switchyard
RECEIVER=./target/release/examples/bench_receiver
export SWITCHYARD_DATABASE_URL="sqlite://$DB?mode=rwc"
export SWITCHYARD_ADMIN_EMAIL=bench@example.com SWITCHYARD_ADMIN_PASSWORD='bench password 1'
export SWITCHYARD_SECRETS_KEY_FILE="$PWD/$OUT/webhook-bench.key"
export LEPTOS_SITE_ADDR="127.0.0.1:$PORT" RUST_LOG=warn
export SWITCHYARD_OUTGOING_ALLOW_HOSTS=127.0.0.1
export SWITCHYARD_OUTGOING_HOST_RATE_PER_SECOND=1000000 SWITCHYARD_OUTGOING_HOST_RATE_BURST=1000000
export SWITCHYARD_API_RATE_PER_SECOND=1000000 SWITCHYARD_API_RATE_BURST=1000000
q() { sqlite3 "$DB" "$1"; }
base="http://127.0.0.1:$PORT"
jar="$OUT/webhook-cookies.txt"
post() { curl -sf -b "$jar" -c "$jar" -o /dev/null "$base/api/$1" "${@:2}"; }
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
wait_up() { for _ in $(seq 1 200); do curl -sf "$1" >/dev/null && return; sleep 0.05; done; echo "$1 did not come up" >&2; exit 1; }
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

start_server() {
  $BIN serve >>"$OUT/webhook-server.log" 2>&1 &
  server=$!
  pids+=("$server")
  wait_up "$base/healthz"
}

stop_server() { kill "$server"; wait "$server" 2>/dev/null || true; }

start_receiver() {
  RECEIVER_PORT=$RPORT RECEIVER_DELAY_MS=$1 $RECEIVER &
  receiver=$!
  pids+=("$receiver")
  wait_up "http://127.0.0.1:$RPORT/_count"
}

# A fresh database with N users, a user macro whose one webhook posts to the receiver, a filter
# of every user, an API key and a listener running the macro. Leaves the server running.
seed() {
  rm -f "$DB" "$DB"-wal "$DB"-shm "$jar"
  $BIN demo-data --users "$N" >/dev/null
  start_server
  post sign_in --data-urlencode "form[email]=$SWITCHYARD_ADMIN_EMAIL" \
    --data-urlencode "form[password]=$SWITCHYARD_ADMIN_PASSWORD" --data-urlencode "form[next]=/"
  post save_macro --data-urlencode "form[name]=Notify" --data-urlencode "form[key]=notify" \
    --data-urlencode "form[actions][0][slot]=0" --data-urlencode "form[actions][0][kind]=adjust_score" \
    --data-urlencode "form[actions][0][value]=1"
  macro=$(q "SELECT id FROM macros WHERE key = 'notify'")
  post save_webhook --data-urlencode "form[macro_id]=$macro" --data-urlencode "form[name]=Receiver" \
    --data-urlencode "form[method]=POST" --data-urlencode "form[content_type]=json" \
    --data-urlencode "form[url]=http://127.0.0.1:$RPORT/hook/((user.id))" \
    --data-urlencode 'form[body]={"user": ((user.id)), "email": "((user.email))", "score": ((user.score)), "at": "((run.time))"}'
  post save_filter --data-urlencode "form[name]=Everyone" --data-urlencode "form[rows][0][slot]=0" \
    --data-urlencode "form[rows][0][field]=score" --data-urlencode "form[rows][0][op]=gte" \
    --data-urlencode "form[rows][0][value]=-1000000"
  post save_api_key --data-urlencode "form[name]=Bench" --data-urlencode "form[prefix]=bench"
  key=$(curl -sf -b "$jar" "$base/api-keys" | grep -o 'value="bench_[0-9a-f]*"' | head -1 | cut -d'"' -f2)
  post save_listener --data-urlencode "form[name]=Bench" --data-urlencode "form[key]=bench" \
    --data-urlencode "form[macro_id]=$macro" \
    --data-urlencode "form[api_key_id]=$(q "SELECT id FROM api_keys WHERE name = 'Bench'")" \
    --data-urlencode "form[enabled]=on"
  [[ -n "$key" ]] || { echo "could not create the API key" >&2; exit 1; }
}

throughput() {
  local delay=$1
  start_receiver "$delay"
  SWITCHYARD_OUTGOING_CONCURRENCY=0 seed
  post start_bulk_run --data-urlencode "form[filter_id]=$(q "SELECT id FROM filters WHERE name = 'Everyone'")" \
    --data-urlencode "form[macro_id]=$macro" --data-urlencode "form[confirm]=on"
  while [[ $(q "SELECT COUNT(*) FROM jobs WHERE status IN ('queued', 'running')") -gt 0 ]]; do sleep 0.2; done
  stop_server
  local queued
  queued=$(q "SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'queued'")
  local t0
  t0=$(date +%s%N)
  start_server
  while [[ $(q "SELECT COUNT(*) FROM webhook_deliveries WHERE status IN ('queued', 'sending')") -gt 0 ]]; do sleep 0.05; done
  local ms
  ms=$(ms_since "$t0")
  local ok seen rss
  ok=$(q "SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'succeeded'")
  seen=$(curl -sf "http://127.0.0.1:$RPORT/_count")
  rss=$(( $(ps -o rss= -p "$server" | tr -d ' ') / 1024 ))
  echo "| ${delay} ms | $queued | $((ms / 1000)).$(( (ms % 1000) / 100 )) s | $(( ok * 1000 / (ms > 0 ? ms : 1) )) | $ok succeeded, receiver saw $seen | $rss MB |"
  stop_server
  kill "$receiver"; wait "$receiver" 2>/dev/null || true
}

latency() {
  start_receiver 1
  seed
  local sent=()
  local user
  user=$(q "SELECT email FROM users WHERE role = 'participant' LIMIT 1")
  for _ in $(seq 1 "$CALLS"); do
    sent+=("$(date +%s%N)")
    curl -sf -o /dev/null -X POST "$base/api/v1/userMacroListeners/bench?find=$user&apiKey=$key"
    sleep 0.1
  done
  sleep 1
  mapfile -t arrived < <(curl -sf "http://127.0.0.1:$RPORT/_arrivals")
  (( ${#arrived[@]} == CALLS )) || { echo "receiver saw ${#arrived[@]} of $CALLS" >&2; exit 1; }
  for i in $(seq 0 $((CALLS - 1))); do echo $(( (arrived[i] - sent[i]) / 1000 )); done | sort -n >"$OUT/webhook-latency.txt"
  local p50 p99 max
  p50=$(awk -v n="$CALLS" 'NR == int(n * 0.5 + 0.5) { printf "%.1f", $1 / 1000 }' "$OUT/webhook-latency.txt")
  p99=$(awk -v n="$CALLS" 'NR == int(n * 0.99 + 0.5) { printf "%.1f", $1 / 1000 }' "$OUT/webhook-latency.txt")
  max=$(tail -1 "$OUT/webhook-latency.txt" | awk '{ printf "%.1f", $1 / 1000 }')
  echo
  echo "From a listener call (answered 200 within its budget) to its webhook reaching the receiver, $CALLS sequential calls:"
  echo
  echo "| p50 ms | p99 ms | max ms |"
  echo "| --- | --- | --- |"
  echo "| $p50 | $p99 | $max |"
  stop_server
  kill "$receiver"; wait "$receiver" 2>/dev/null || true
}

: >"$OUT/webhook-server.log"
echo "Webhook deliveries, SQLite, one process (64 in flight), receiver on loopback:"
echo
echo "| receiver answers after | deliveries queued | all sent in | deliveries/s | result | resident memory |"
echo "| --- | --- | --- | --- | --- | --- |"
throughput 1
throughput 50
latency
