#!/usr/bin/env bash
# Abuse benchmark (not a test) of the listener endpoint on SQLite, default settings: wrk with
# 64 connections floods it with refused calls (unknown listener keys, no API key) for 20 s,
# while a second wrk with 2 connections sends valid calls (202, queued durably) from another
# caller. Both callers sit behind a trusted proxy on loopback (`trusted_proxies = 127.0.0.0/8`)
# and are told apart by `X-Forwarded-For` (the addresses are documentation ranges, only ever
# written in a header; every connection goes to 127.0.0.1). Reports the valid calls' latency,
# how many rows the database gained for the flood, and the server's memory before and after.
# Usage: scripts/bench_refused.sh [duration, default 20s] (BENCH_SKIP_BUILD=1 uses the last build;
# BENCH_NO_FLOOD=1 runs the valid calls alone, the baseline)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"

DURATION=${1:-20s}
PORT=${BENCH_PORT:-3202}
OUT=bench/out
mkdir -p "$OUT"
DB="$PWD/$OUT/refused-bench.db"
rm -f "$DB" "$DB"-wal "$DB"-shm

as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }
command -v wrk >/dev/null || as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y wrk >/dev/null
command -v sqlite3 >/dev/null || as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y sqlite3 >/dev/null

[[ -n "${BENCH_SKIP_BUILD:-}" ]] || cargo leptos build --release >/dev/null
BIN=./target/release/switchyard
export SWITCHYARD_DATABASE_URL="sqlite://$DB?mode=rwc"
export SWITCHYARD_ADMIN_EMAIL=bench@example.com SWITCHYARD_ADMIN_PASSWORD='bench password 1'
export LEPTOS_SITE_ADDR="127.0.0.1:$PORT" RUST_LOG=warn
export SWITCHYARD_TRUSTED_PROXIES=127.0.0.0/8
# The one setting changed from the defaults besides the proxy: the valid caller's key may make
# more than 20 calls a second (its own rate limit would refuse most of them otherwise).
export SWITCHYARD_API_RATE_PER_SECOND=1000000 SWITCHYARD_API_RATE_BURST=1000000
q() { sqlite3 "$DB" "$1"; }

$BIN demo-data --users 200 >/dev/null
$BIN serve >"$OUT/refused-server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done

jar="$OUT/refused-cookies.txt"
base="http://127.0.0.1:$PORT"
post() { curl -sf -b "$jar" -c "$jar" -o /dev/null "$base/api/$1" "${@:2}"; }
post sign_in --data-urlencode "form[email]=$SWITCHYARD_ADMIN_EMAIL" \
  --data-urlencode "form[password]=$SWITCHYARD_ADMIN_PASSWORD" --data-urlencode "form[next]=/"
post save_api_key --data-urlencode "form[name]=Bench" --data-urlencode "form[prefix]=bench"
key=$(curl -sf -b "$jar" "$base/api-keys" | grep -o 'value="bench_[0-9a-f]*"' | head -1 | cut -d'"' -f2)
post save_macro --data-urlencode "form[name]=Bench point" --data-urlencode "form[key]=bench-point" \
  --data-urlencode "form[actions][0][slot]=0" --data-urlencode "form[actions][0][kind]=adjust_score" \
  --data-urlencode "form[actions][0][value]=1"
post save_listener --data-urlencode "form[name]=Bench" --data-urlencode "form[key]=bench" \
  --data-urlencode "form[macro_id]=$(q "SELECT id FROM macros WHERE key = 'bench-point'")" \
  --data-urlencode "form[api_key_id]=$(q "SELECT id FROM api_keys WHERE name = 'Bench'")" \
  --data-urlencode "form[enabled]=on"
[[ -n "$key" ]] || { echo "could not create the API key" >&2; exit 1; }

emails=$(q "SELECT '\"' || email || '\",' FROM users WHERE role = 'participant' LIMIT 100" | tr -d '\n')
valid="$OUT/refused-valid.lua"
flood="$OUT/refused-flood.lua"
report='function done(summary, latency, requests)
  io.write(string.format("REQUESTS %d\n", summary.requests))
  io.write(string.format("RPS %.0f\n", summary.requests / (summary.duration / 1e6)))
  io.write(string.format("P50 %.2f\nP99 %.2f\nMAX %.2f\n", latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
  io.write(string.format("ERRORS %d\nSTATUS %d\n", summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout, summary.errors.status))
end'
cat >"$valid" <<LUA
local emails = { $emails }
local requests = {}
function init(args)
  for i, e in ipairs(emails) do
    requests[i] = wrk.format("POST", "/api/v1/userMacroListeners/bench?find=" .. e .. "&apiKey=$key",
      { ["X-Forwarded-For"] = "192.0.2.10" })
  end
end
function request() return requests[math.random(#requests)] end
$report
LUA
cat >"$flood" <<LUA
local requests = {}
function init(args)
  for i = 1, 500 do
    requests[i] = wrk.format("POST", "/api/v1/userMacroListeners/guess" .. i .. "?find=x@example.com",
      { ["X-Forwarded-For"] = "198.51.100.66" })
  end
end
function request() return requests[math.random(#requests)] end
$report
LUA

rows_before=$(q "SELECT COUNT(*) FROM listener_calls")
rss_before=$(ps -o rss= -p $pid | tr -d ' ')
wrk -t1 -c2 -d"$DURATION" --timeout 10s -s "$valid" "$base/" >"$OUT/refused-valid.txt" &
valid_pid=$!
if [[ -n "${BENCH_NO_FLOOD:-}" ]]; then
  # The baseline: the valid calls alone.
  printf 'REQUESTS 0\nRPS 0\nP50 -\nP99 -\nMAX -\n' >"$OUT/refused-flood.txt"
else
  wrk -t1 -c64 -d"$DURATION" --timeout 10s -s "$flood" "$base/" >"$OUT/refused-flood.txt"
fi
wait $valid_pid
rss_during=$(ps -o rss= -p $pid | tr -d ' ')
# The flood's counts reach the database at the next minute's flush (or at shutdown).
kill -TERM $pid; wait $pid || true
trap - EXIT
accepted=$(q "SELECT COUNT(*) FROM listener_calls WHERE status < 300")
refused_rows=$(q "SELECT COUNT(*) FROM listener_calls WHERE status >= 400")
refused_calls=$(q "SELECT COALESCE(SUM(repeats), 0) FROM listener_calls WHERE status >= 400")
get() { awk -v k="$1" '$1 == k { print $2 }' "$2"; }
v="$OUT/refused-valid.txt" f="$OUT/refused-flood.txt"

echo "Refused-call flood, SQLite, default settings but trusted_proxies (the two callers) and the valid key's rate limit raised, $DURATION:"
echo
echo "| stream | connections | requests/s | p50 ms | p99 ms | max ms | answers read |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
echo "| valid calls (200/202) | 2 | $(get RPS $v) | $(get P50 $v) | $(get P99 $v) | $(get MAX $v) | $(get REQUESTS $v) |"
echo "| refused calls (401/429) | 64 | $(get RPS $f) | $(get P50 $f) | $(get P99 $f) | $(get MAX $f) | $(get REQUESTS $f) |"
echo
echo "The database gained $refused_rows row(s) for $refused_calls refused calls and $accepted rows for the $accepted accepted ones (listener log; rows before: $rows_before); server resident memory $((rss_before / 1024)) MB before, $((rss_during / 1024)) MB after the flood."
if (( refused_rows > 10 )); then
  echo "MISMATCH: refused calls were written one by one" >&2
  exit 1
fi
