#!/usr/bin/env bash
# Load benchmark (not a test) of the listener endpoint on SQLite: wrk with 64 connections
# posts to POST /api/v1/userMacroListeners/{key} for random customers (the Jira way: key
# in the query string). The server answers 202 at once (time budget 0) after queueing each
# run durably; afterwards the script waits for the worker to drain the queue and checks that
# every 202 became exactly one completed run (nothing lost, nothing twice).
# Usage: scripts/bench_listener.sh [duration, default 20s] [connections, default 64]
# (BENCH_WRK_THREADS sets wrk's threads, default 2; BENCH_SKIP_BUILD=1 uses the last build;
# SWITCHYARD_WORKER_CONCURRENCY=0 measures accepting alone: a restarted server drains the queue).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"

DURATION=${1:-20s}
CONNS=${2:-64}
PORT=${BENCH_PORT:-3201}
# wrk's threads: one per core unless BENCH_WRK_THREADS says otherwise.
THREADS=${BENCH_WRK_THREADS:-2}
OUT=bench/out
mkdir -p "$OUT"
DB="$PWD/$OUT/listener-bench.db"
rm -f "$DB" "$DB"-wal "$DB"-shm

as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }
command -v wrk >/dev/null || as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y wrk >/dev/null
command -v sqlite3 >/dev/null || as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y sqlite3 >/dev/null

[[ -n "${BENCH_SKIP_BUILD:-}" ]] || cargo leptos build --release >/dev/null
BIN=./target/release/switchyard
export SWITCHYARD_DATABASE_URL="sqlite://$DB?mode=rwc"
export SWITCHYARD_ADMIN_EMAIL=bench@example.com SWITCHYARD_ADMIN_PASSWORD='bench password 1'
export LEPTOS_SITE_ADDR="127.0.0.1:$PORT" RUST_LOG=warn
export SWITCHYARD_LISTENER_SYNC_BUDGET_MS=0
export SWITCHYARD_API_RATE_PER_SECOND=1000000 SWITCHYARD_API_RATE_BURST=1000000
q() { sqlite3 "$DB" "$1"; }

$BIN demo-data --users 1000 >/dev/null
$BIN serve >"$OUT/listener-server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done

# Seed 000 through the admin server functions, as a manager would in the browser.
jar="$OUT/listener-cookies.txt"
base="http://127.0.0.1:$PORT"
post() { curl -sf -b "$jar" -c "$jar" -o /dev/null "$base/api/$1" "${@:2}"; }
post sign_in --data-urlencode "form[email]=$SWITCHYARD_ADMIN_EMAIL" \
  --data-urlencode "form[password]=$SWITCHYARD_ADMIN_PASSWORD" --data-urlencode "form[next]=/"
post save_api_key --data-urlencode "form[name]=Bench" --data-urlencode "form[prefix]=bench"
key=$(curl -sf -b "$jar" "$base/api-keys" | grep -o 'value="bench_[0-9a-f]*"' | head -1 | cut -d'"' -f2)
post save_filter --data-urlencode "form[name]=Customers" --data-urlencode "form[rows][0][slot]=0" \
  --data-urlencode "form[rows][0][field]=team" --data-urlencode "form[rows][0][op]=is" \
  --data-urlencode "form[rows][0][value]=Customers"
post save_macro --data-urlencode "form[name]=Bench point" --data-urlencode "form[key]=bench-point" \
  --data-urlencode "form[actions][0][slot]=0" --data-urlencode "form[actions][0][kind]=adjust_score" \
  --data-urlencode "form[actions][0][value]=1"
post save_listener --data-urlencode "form[name]=Bench" --data-urlencode "form[key]=bench" \
  --data-urlencode "form[filter_id]=$(q "SELECT id FROM filters WHERE name = 'Customers'")" \
  --data-urlencode "form[macro_id]=$(q "SELECT id FROM macros WHERE key = 'bench-point'")" \
  --data-urlencode "form[api_key_id]=$(q "SELECT id FROM api_keys WHERE name = 'Bench'")" \
  --data-urlencode "form[enabled]=on"
[[ -n "$key" ]] || { echo "could not create the API key" >&2; exit 1; }

score_before=$(q "SELECT COALESCE(SUM(score), 0) FROM users")
emails=$(q "SELECT '\"' || u.email || '\",' FROM users u JOIN team_memberships m ON m.user_id = u.id
            JOIN teams t ON t.id = m.team_id WHERE t.name = 'Customers' LIMIT 200" | tr -d '\n')
lua="$OUT/listener-bench.lua"
# The requests are formatted once, and wrk reads no answer into Lua (a `response` function
# would cost wrk a Lua table per answer, CPU the server then lacks): what each call was
# answered comes from the listener log, which logs every call with its status.
cat >"$lua" <<LUA
local emails = { $emails }
local requests = {}
function init(args)
  for i, e in ipairs(emails) do
    requests[i] = wrk.format("POST", "/api/v1/userMacroListeners/bench?find=" .. e .. "&apiKey=$key")
  end
end
function request() return requests[math.random(#requests)] end
function done(summary, latency, requests)
  io.write(string.format("REQUESTS %d\n", summary.requests))
  io.write(string.format("RPS %.0f\n", summary.requests / (summary.duration / 1e6)))
  io.write(string.format("P50 %.2f\nP99 %.2f\nMAX %.2f\n", latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
  io.write(string.format("ERRORS %d\nHTTP_ERRORS %d\n", summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout, summary.errors.status))
end
LUA

# CPU time (user + system, clock ticks) of the server, or of its thread named $2.
ticks() {
  local stat=/proc/$1/stat
  [[ -z "${2:-}" ]] || stat=$(grep -lx "$2" /proc/"$1"/task/*/comm | head -1 | sed 's/comm$/stat/')
  awk '{ sub(/.*\) /, ""); print $12 + $13 }' "$stat"
}
cpu_before=$(ticks $pid) writer_before=$(ticks $pid sqlite-writes)
result="$OUT/listener-wrk.txt"
wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --timeout 10s -s "$lua" "$base/" >"$result"
cpu_ticks=$(( $(ticks $pid) - cpu_before )) writer_ticks=$(( $(ticks $pid sqlite-writes) - writer_before ))
done_during=$(q "SELECT COUNT(*) FROM jobs WHERE status = 'done'")
if [[ "${SWITCHYARD_WORKER_CONCURRENCY:-}" == 0 ]]; then
  # Accepting only: the queue is drained by a second server with workers (a restart).
  kill $pid; wait $pid || true
  env -u SWITCHYARD_WORKER_CONCURRENCY $BIN serve >>"$OUT/listener-server.log" 2>&1 &
  pid=$!
fi
started=$(date +%s%N)
while [[ $(q "SELECT COUNT(*) FROM jobs WHERE status IN ('queued', 'running')") -gt 0 ]]; do sleep 0.2; done
drain_ms=$(( ($(date +%s%N) - started) / 1000000 ))
rss_kb=$(ps -o rss= -p $pid | tr -d ' ')

# Every call the server answered, by the status its log row says it was answered with (calls
# still in flight when wrk stopped are among them; wrk counted them as unfinished).
accepted=$(q "SELECT COUNT(*) FROM listener_calls WHERE status = 202")
others=$(q "SELECT COUNT(*) FROM listener_calls WHERE status <> 202")
jobs=$(q "SELECT COUNT(*) FROM jobs WHERE status = 'done'")
runs=$(q "SELECT COUNT(*) FROM macro_runs WHERE status = 'completed'")
points=$(( $(q "SELECT COALESCE(SUM(score), 0) FROM users") - score_before ))
get() { awk -v k="$1" '$1 == k { print $2 }' "$result"; }

echo "Listener endpoint, SQLite, wrk -t$THREADS -c$CONNS -d$DURATION (every answer 202, queued durably):"
echo
echo "| requests/s | p50 ms | p99 ms | max ms | answers read by wrk | 202 answers logged | other answers logged | socket errors |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
echo "| $(get RPS) | $(get P50) | $(get P99) | $(get MAX) | $(get REQUESTS) | $accepted | $others | $(get ERRORS) |"
echo
echo "During the load the workers completed $done_during runs; afterwards they drained the queue in $((drain_ms / 1000)).$(( (drain_ms % 1000) / 100 )) s: in all $jobs jobs done, $runs runs completed, $points points added for $accepted accepted calls; server resident memory $((rss_kb / 1024)) MB."
hz=$(getconf CLK_TCK)
echo "Server CPU during the load: $(( cpu_ticks * 1000000 / hz / $accepted )) µs per accepted call, of which the SQLite writing thread $(( writer_ticks * 1000000 / hz / $accepted )) µs (user + system time)."
if [[ "$others" == 0 && "$(get HTTP_ERRORS)" == 0 && "$accepted" == "$jobs" && "$jobs" == "$runs" \
      && "$runs" == "$points" ]] && (( $(get REQUESTS) <= accepted )); then
  echo "Nothing lost, nothing run twice."
else
  echo "MISMATCH: answers, accepted calls, jobs, runs and points differ" >&2
  exit 1
fi
