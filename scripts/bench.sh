#!/usr/bin/env bash
# Benchmark (not a test): loads 100,000 users into a fresh SQLite database, then measures
# the server render time of the users page (release build, sequential requests over
# loopback, signed in) and the size of the WASM bundle (raw and gzip -9).
# Usage: scripts/bench.sh [users] [requests per URL]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"

USERS=${1:-100000}
N=${2:-50}
PORT=${BENCH_PORT:-3200}
OUT=bench/out
mkdir -p "$OUT"
DB="$PWD/$OUT/bench.db"
rm -f "$DB" "$DB"-wal "$DB"-shm

cargo leptos build --release >/dev/null
BIN=./target/release/switchyard
export SWITCHYARD_DATABASE_URL="sqlite://$DB?mode=rwc"
export SWITCHYARD_ADMIN_EMAIL=bench@example.com SWITCHYARD_ADMIN_PASSWORD='bench password 1'
export LEPTOS_SITE_ADDR="127.0.0.1:$PORT" RUST_LOG=warn

start=$(date +%s)
$BIN demo-data --users "$USERS" >/dev/null
load_secs=$(( $(date +%s) - start ))

$BIN serve >"$OUT/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done

jar="$OUT/cookies.txt"
curl -sf -c "$jar" -o /dev/null \
  --data-urlencode "form[email]=$SWITCHYARD_ADMIN_EMAIL" \
  --data-urlencode "form[password]=$SWITCHYARD_ADMIN_PASSWORD" \
  "http://127.0.0.1:$PORT/api/sign_in"

measure() {
  local path=$1 times=()
  for _ in 1 2 3; do curl -sf -b "$jar" -o /dev/null "http://127.0.0.1:$PORT$path"; done
  for _ in $(seq 1 "$N"); do
    times+=("$(curl -sf -b "$jar" -o /dev/null -w '%{time_total}' "http://127.0.0.1:$PORT$path")")
  done
  printf '%s\n' "${times[@]}" | sort -n | awk -v path="$path" '
    { t[NR] = $1 * 1000 }
    END { printf "| `%s` | %.1f | %.1f | %.1f |\n", path, t[int(NR/2)+1], t[int(NR*0.95)], t[NR] }'
}

echo "Users page, $USERS users in SQLite, $N sequential requests each (ms: median, p95, max):"
echo
echo "| request | median ms | p95 ms | max ms |"
echo "| --- | --- | --- | --- |"
measure "/users"
measure "/users?page=1000"
measure "/users?q=hopper"
measure "/users?team=2"
measure "/users?q=nobody-at-all"
echo
rss_kb=$(ps -o rss= -p $pid | tr -d ' ')
echo "Server resident memory after the run: $((rss_kb / 1024)) MB; loading $USERS users took ${load_secs} s."
echo
wasm=target/site/pkg/switchyard.wasm
raw=$(stat -c %s "$wasm")
gz=$(gzip -9 -c "$wasm" | wc -c)
css=$(stat -c %s target/site/pkg/switchyard.css)
js=$(stat -c %s target/site/pkg/switchyard.js)
echo "Release bundle: switchyard.wasm $((raw / 1024)) KiB raw, $((gz / 1024)) KiB gzip -9; switchyard.js $((js / 1024)) KiB; switchyard.css $((css / 1024)) KiB."
