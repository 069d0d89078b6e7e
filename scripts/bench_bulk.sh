#!/usr/bin/env bash
# Benchmark (not a test) of a bulk feedback macro on SQLite: 10,000 Bug Reports in the demo
# project, a feedback filter selecting them all and a feedback macro of three actions (set the
# status, add a comment, adjust the submitter's score), started through the admin server
# function as the browser's "Perform action" does. Reports how long queueing took (the server
# function's answer), how long until every run was done, and checks that each ticket got its
# comment exactly once.
# Usage: scripts/bench_bulk.sh [tickets, default 10000]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"

TICKETS=${1:-10000}
PORT=${BENCH_PORT:-3203}
OUT=bench/out
mkdir -p "$OUT"
DB="$PWD/$OUT/bulk-bench.db"
rm -f "$DB" "$DB"-wal "$DB"-shm

as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }
command -v sqlite3 >/dev/null || as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y sqlite3 >/dev/null

[[ -n "${BENCH_SKIP_BUILD:-}" ]] || cargo leptos build --release >/dev/null
BIN=./target/release/switchyard
export SWITCHYARD_DATABASE_URL="sqlite://$DB?mode=rwc"
export SWITCHYARD_ADMIN_EMAIL=bench@example.com SWITCHYARD_ADMIN_PASSWORD='bench password 1'
export LEPTOS_SITE_ADDR="127.0.0.1:$PORT" RUST_LOG=warn
q() { sqlite3 "$DB" "$1"; }

$BIN demo-data --users 100 >/dev/null
# The tickets themselves are written straight into the database: this measures the bulk run,
# not ticket creation (scripts/bench_source.sh measures that).
type_id=$(q "SELECT id FROM feedback_types WHERE name = 'Bug Report'")
q "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $TICKETS),
   people AS (SELECT id, ROW_NUMBER() OVER (ORDER BY id) - 1 AS k FROM users WHERE role = 'participant')
   INSERT INTO tickets (project_id, feedback_type_id, title, description, status_id, team_id,
     author_user_id, author_label, field_values, visibility, popularity, created_at, updated_at)
   SELECT t.project_id, t.id, 'Crash ' || i, 'Steps ' || i,
     (SELECT MIN(id) FROM feedback_statuses WHERE feedback_type_id = t.id), NULL,
     (SELECT id FROM people WHERE k = i % (SELECT COUNT(*) FROM people)),
     'Bench user', '{}', 'public', 0, p.created_at, p.created_at
   FROM n, feedback_types t JOIN projects p ON p.id = t.project_id WHERE t.id = $type_id"

$BIN serve >"$OUT/bulk-server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done

jar="$OUT/bulk-cookies.txt"
base="http://127.0.0.1:$PORT"
post() { curl -sf -b "$jar" -c "$jar" -o /dev/null "$base/api/$1" "${@:2}"; }
post sign_in --data-urlencode "form[email]=$SWITCHYARD_ADMIN_EMAIL" \
  --data-urlencode "form[password]=$SWITCHYARD_ADMIN_PASSWORD" --data-urlencode "form[next]=/"
post save_filter --data-urlencode "form[scope]=feedback" --data-urlencode "form[name]=All bugs" \
  --data-urlencode "form[rows][0][slot]=0" --data-urlencode "form[rows][0][field]=type" \
  --data-urlencode "form[rows][0][op]=is" --data-urlencode "form[rows][0][value]=Bug Report"
post save_macro --data-urlencode "form[scope]=feedback" --data-urlencode "form[name]=Triage" \
  --data-urlencode "form[key]=triage" \
  --data-urlencode "form[actions][0][slot]=0" --data-urlencode "form[actions][0][kind]=set_status" \
  --data-urlencode "form[actions][0][value]=Open" \
  --data-urlencode "form[actions][1][slot]=1" --data-urlencode "form[actions][1][kind]=add_ticket_comment" \
  --data-urlencode "form[actions][1][value]=Thanks, we are looking into it." \
  --data-urlencode "form[actions][2][slot]=2" --data-urlencode "form[actions][2][kind]=adjust_submitter_score" \
  --data-urlencode "form[actions][2][value]=1"
filter_id=$(q "SELECT id FROM filters WHERE name = 'All bugs'")
macro_id=$(q "SELECT id FROM macros WHERE key = 'triage'")
[[ -n "$filter_id" && -n "$macro_id" ]] || { echo "could not create the filter or the macro" >&2; exit 1; }

start=$(date +%s.%N)
post start_bulk_run --data-urlencode "form[filter_id]=$filter_id" \
  --data-urlencode "form[macro_id]=$macro_id" --data-urlencode "form[confirm]=on"
queued=$(date +%s.%N)
bulk=$(q "SELECT MAX(id) FROM bulk_runs")
while [[ $(q "SELECT COUNT(*) FROM macro_runs WHERE bulk_run_id = $bulk AND finished_at IS NULL") != 0 ]]; do
  sleep 0.2
done
done_at=$(date +%s.%N)
rss_kb=$(ps -o rss= -p $pid | tr -d ' ')

total=$(q "SELECT total FROM bulk_runs WHERE id = $bulk")
completed=$(q "SELECT COUNT(*) FROM macro_runs WHERE bulk_run_id = $bulk AND status = 'completed'")
comments=$(q "SELECT COUNT(*) FROM ticket_comments")
twice=$(q "SELECT COUNT(*) FROM (SELECT ticket_id FROM ticket_comments GROUP BY ticket_id HAVING COUNT(*) > 1)")
opened=$(q "SELECT COUNT(*) FROM tickets t JOIN feedback_statuses s ON s.id = t.status_id WHERE s.name = 'Open'")
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

echo "Bulk feedback macro, SQLite, $TICKETS tickets, 3 actions each, 4 workers:"
echo
echo "| tickets | queued in s | all done in s | runs/s | completed | comments | tickets now Open |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
echo "| $total | $(secs "$start" "$queued") | $(secs "$start" "$done_at") | $(awk -v n="$total" -v a="$start" -v b="$done_at" 'BEGIN { printf "%.0f", n / (b - a) }') | $completed | $comments | $opened |"
echo
echo "Server resident memory $((rss_kb / 1024)) MB."
if [[ "$completed" == "$total" && "$comments" == "$total" && "$twice" == 0 ]]; then
  echo "Every ticket ran once."
else
  echo "MISMATCH: $completed runs completed, $comments comments, $twice tickets commented twice, of $total" >&2
  exit 1
fi
