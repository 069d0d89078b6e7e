#!/usr/bin/env bash
# Load benchmark (not a test) of ticket creation through an external source on SQLite: wrk
# with 64 connections posts a Salesforce-style JSON body to POST /api/v1/externalSources/{key}
# of the demo project's Bug Report type (title, description, a choice field). Every 201 is a
# ticket committed before the answer; afterwards the script checks that the tickets counted
# in the database match the 201 answers (nothing lost, nothing twice).
# Usage: scripts/bench_source.sh [duration, default 20s] [connections, default 64]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"

DURATION=${1:-20s}
CONNS=${2:-64}
PORT=${BENCH_PORT:-3202}
OUT=bench/out
mkdir -p "$OUT"
DB="$PWD/$OUT/source-bench.db"
rm -f "$DB" "$DB"-wal "$DB"-shm

as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }
command -v wrk >/dev/null || as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y wrk >/dev/null
command -v sqlite3 >/dev/null || as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y sqlite3 >/dev/null

[[ -n "${BENCH_SKIP_BUILD:-}" ]] || cargo leptos build --release >/dev/null
BIN=./target/release/switchyard
export SWITCHYARD_DATABASE_URL="sqlite://$DB?mode=rwc"
export SWITCHYARD_ADMIN_EMAIL=bench@example.com SWITCHYARD_ADMIN_PASSWORD='bench password 1'
export LEPTOS_SITE_ADDR="127.0.0.1:$PORT" RUST_LOG=warn
export SWITCHYARD_API_RATE_PER_SECOND=1000000 SWITCHYARD_API_RATE_BURST=1000000
q() { sqlite3 "$DB" "$1"; }

$BIN demo-data --users 1000 >/dev/null
$BIN serve >"$OUT/source-server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done

# The source, through the admin server functions, as a manager would set it up in the browser.
jar="$OUT/source-cookies.txt"
base="http://127.0.0.1:$PORT"
post() { curl -sf -b "$jar" -c "$jar" -o /dev/null "$base/api/$1" "${@:2}"; }
post sign_in --data-urlencode "form[email]=$SWITCHYARD_ADMIN_EMAIL" \
  --data-urlencode "form[password]=$SWITCHYARD_ADMIN_PASSWORD" --data-urlencode "form[next]=/"
post save_api_key --data-urlencode "form[name]=Salesforce" --data-urlencode "form[prefix]=sf"
key=$(curl -sf -b "$jar" "$base/api-keys" | grep -o 'value="sf_[0-9a-f]*"' | head -1 | cut -d'"' -f2)
[[ -n "$key" ]] || { echo "could not create the API key" >&2; exit 1; }
post save_external_source --data-urlencode "form[project_id]=$(q "SELECT id FROM projects LIMIT 1")" \
  --data-urlencode "form[feedback_type_id]=$(q "SELECT id FROM feedback_types WHERE name = 'Bug Report'")" \
  --data-urlencode "form[name]=Salesforce" --data-urlencode "form[key]=salesforce" \
  --data-urlencode "form[api_key_id]=$(q "SELECT id FROM api_keys WHERE name = 'Salesforce'")" \
  --data-urlencode "form[submitter]=$SWITCHYARD_ADMIN_EMAIL" \
  --data-urlencode "form[mapping]=$(printf 'Subject = title\nDetails = description\nPriority__c = severity')" \
  --data-urlencode "form[enabled]=on"
[[ -n "$(q "SELECT id FROM external_sources WHERE key = 'salesforce'")" ]] || { echo "could not create the source" >&2; exit 1; }

lua="$OUT/source-bench.lua"
cat >"$lua" <<LUA
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) counts = {} end
function request()
  local body = '{"Subject":"Thermostat reboots at night","Details":"Every night at 3 am, since 2.1.","Priority__c":"High"}'
  return wrk.format("POST", "/api/v1/externalSources/salesforce",
    { ["Content-Type"] = "application/json", ["X-Api-Key"] = "$key" }, body)
end
function response(status, headers, body) counts[status] = (counts[status] or 0) + 1 end
function done(summary, latency, requests)
  local all = {}
  for _, t in ipairs(threads) do
    for status, n in pairs(t:get("counts")) do all[status] = (all[status] or 0) + n end
  end
  for status, n in pairs(all) do io.write(string.format("STATUS %d %d\n", status, n)) end
  io.write(string.format("RPS %.0f\n", summary.requests / (summary.duration / 1e6)))
  io.write(string.format("P50 %.2f\nP99 %.2f\nMAX %.2f\n", latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
  io.write(string.format("ERRORS %d\n", summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.status + summary.errors.timeout))
end
LUA

result="$OUT/source-wrk.txt"
wrk -t2 -c"$CONNS" -d"$DURATION" --timeout 10s -s "$lua" "$base/" >"$result"
sleep 1
rss_kb=$(ps -o rss= -p $pid | tr -d ' ')
created=$(awk '$1 == "STATUS" && $2 == 201 { print $3 }' "$result")
others=$(awk '$1 == "STATUS" && $2 != 201 { n += $3 } END { print n + 0 }' "$result")
tickets=$(q "SELECT COUNT(*) FROM tickets")
get() { awk -v k="$1" '$1 == k { print $2 }' "$result"; }

echo "External source, SQLite, wrk -t2 -c$CONNS -d$DURATION (every answer 201, the ticket committed first):"
echo
echo "| requests/s | p50 ms | p99 ms | max ms | 201 answers | other answers | socket errors |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
echo "| $(get RPS) | $(get P50) | $(get P99) | $(get MAX) | ${created:-0} | $others | $(get ERRORS) |"
echo
echo "$tickets tickets in the database for ${created:-0} answers 201; server resident memory $((rss_kb / 1024)) MB."
# Calls still in flight when wrk stops are committed without wrk reading the answer.
if (( ${created:-0} <= tickets && tickets <= ${created:-0} + CONNS )); then
  echo "Nothing lost."
else
  echo "MISMATCH: answers 201 and tickets differ" >&2
  exit 1
fi
