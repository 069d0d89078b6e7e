#!/usr/bin/env bash
# Seed 000 end to end on the release build, then the operator's proof: a person goes through
# an import (named again in another case), a comment about them on someone else's profile, a
# webhook that carries their email and name in URL, header and body to a receiver that is not
# there (the failure and its URL are logged), an email to them through an SMTP server that is
# not there either, an email and name change, and refused and accepted listener calls; then a
# GDPR request from "Jira" removes them through the seed-000 listener, whose macro also tells
# the CRM (webhook) and the person (email) about the erasure — sealed while they retry, erased
# once given up — and `switchyard erasure-check` must find no form of any email or name they
# had, in the database, its file or its WAL, right after the call and once the notifications
# were given up. Everything stays on 127.0.0.1.
# Usage: scripts/check_erasure.sh (BENCH_SKIP_BUILD=1 uses the last release build)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"

PORT=${CHECK_PORT:-3203}
OUT=bench/out
mkdir -p "$OUT"
DB="$PWD/$OUT/erasure-check.db"
rm -f "$DB" "$DB"-wal "$DB"-shm
command -v sqlite3 >/dev/null || { echo "sqlite3 is needed (apt-get install sqlite3)" >&2; exit 2; }

[[ -n "${BENCH_SKIP_BUILD:-}" ]] || cargo leptos build --release >/dev/null
BIN=./target/release/switchyard
export SWITCHYARD_DATABASE_URL="sqlite://$DB?mode=rwc"
export SWITCHYARD_ADMIN_EMAIL=cm@example.com SWITCHYARD_ADMIN_PASSWORD='check password 1'
export LEPTOS_SITE_ADDR="127.0.0.1:$PORT" RUST_LOG=info
export SWITCHYARD_OUTGOING_ALLOW_HOSTS=127.0.0.1 SWITCHYARD_OUTGOING_RETRY_SCHEDULE="0s, 1s"
# Port 9 (discard) has nobody listening here: every email is refused and retried.
export SWITCHYARD_SMTP_HOST=127.0.0.1 SWITCHYARD_SMTP_PORT=9 SWITCHYARD_SMTP_SECURITY=none
q() { sqlite3 "$DB" "$1"; }

$BIN demo-data --users 20 >/dev/null
$BIN serve >"$OUT/erasure-server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done

jar="$OUT/erasure-cookies.txt"
base="http://127.0.0.1:$PORT"
post() { curl -sf -b "$jar" -c "$jar" -o /dev/null "$base/api/$1" "${@:2}"; }
post sign_in --data-urlencode "form[email]=$SWITCHYARD_ADMIN_EMAIL" \
  --data-urlencode "form[password]=$SWITCHYARD_ADMIN_PASSWORD" --data-urlencode "form[next]=/"
customers=$(q "SELECT id FROM teams WHERE name = 'Customers'")

# The person, as a manager creates them.
post save_user --data-urlencode "form[email]=Zoë.Quinn+Beta@Example.com" \
  --data-urlencode "form[first_name]=Zoë" --data-urlencode "form[last_name]=Quinn-Ørsted" \
  --data-urlencode "form[team_ids][]=$customers" 2>/dev/null \
  || post save_user --data-urlencode "form[email]=Zoe.Quinn+Beta@Example.com" \
    --data-urlencode "form[first_name]=Zoë" --data-urlencode "form[last_name]=Quinn-Ørsted" \
    --data-urlencode "form[team_ids][]=$customers"
first_email=$(q "SELECT email FROM users WHERE last_name = 'Quinn-Ørsted'")
id=$(q "SELECT id FROM users WHERE last_name = 'Quinn-Ørsted'")
[[ -n "$id" ]] || { echo "could not create the person" >&2; exit 1; }
# An import that names them again, in upper case.
printf 'email,first_name,last_name\n%s,ZOË,QUINN-ØRSTED\n' "${first_email^^}" >"$OUT/erasure-import.csv"
curl -sf -b "$jar" -o /dev/null -H 'Sec-Fetch-Site: same-origin' \
  -F "file=@$OUT/erasure-import.csv;type=text/csv" "$base/users/import/upload"
# A manager's note about them on someone else's profile.
other=$(q "SELECT id FROM users WHERE role = 'participant' AND id <> $id LIMIT 1")
post comment_on_user --data-urlencode "form[user_id]=$other" \
  --data-urlencode "form[body]=Same household as Zoë Quinn-Ørsted, $first_email"
# A macro whose webhook carries them to a receiver that is not there.
post save_macro --data-urlencode "form[name]=Sync CRM" --data-urlencode "form[key]=sync-crm" \
  --data-urlencode "form[actions][0][slot]=0" --data-urlencode "form[actions][0][kind]=adjust_score" \
  --data-urlencode "form[actions][0][value]=1" --data-urlencode "form[show_in_user_actions]=on"
sync=$(q "SELECT id FROM macros WHERE key = 'sync-crm'")
post save_webhook --data-urlencode "form[macro_id]=$sync" --data-urlencode "form[name]=crm" \
  --data-urlencode "form[method]=POST" --data-urlencode "form[content_type]=json" \
  --data-urlencode "form[url]=http://127.0.0.1:9/crm?who=((user.email))" \
  --data-urlencode "form[headers]=X-Who: ((user.email))" \
  --data-urlencode 'form[body]={"email": "((user.email))", "name": "((user.first_name)) ((user.last_name))"}'
post save_webhook --data-urlencode "form[macro_id]=$sync" --data-urlencode "form[kind]=email" \
  --data-urlencode "form[name]=welcome" --data-urlencode "form[email_subject]=Hi ((user.first_name))" \
  --data-urlencode "form[body]=Dear ((user.first_name)) ((user.last_name)), welcome."
post run_macro --data-urlencode "form[macro_id]=$sync" --data-urlencode "form[user_id]=$id" \
  --data-urlencode "form[confirm]=on"
# They change their email and name.
post save_user --data-urlencode "form[id]=$id" --data-urlencode "form[email]=zq.new@example.org" \
  --data-urlencode "form[first_name]=Zoe" --data-urlencode "form[last_name]=Quinn" \
  --data-urlencode "form[role]=participant" --data-urlencode "form[score]=1" \
  --data-urlencode "form[team_ids][]=$customers"
# Seed 000: API key, removal macro, filter on Customers, listener "deleteuser".
post save_api_key --data-urlencode "form[name]=Jira" --data-urlencode "form[prefix]=jira"
key=$(curl -sf -b "$jar" "$base/api-keys" | grep -o 'value="jira_[0-9a-f]*"' | head -1 | cut -d'"' -f2)
post save_filter --data-urlencode "form[name]=Customers" --data-urlencode "form[rows][0][slot]=0" \
  --data-urlencode "form[rows][0][field]=team" --data-urlencode "form[rows][0][op]=is" \
  --data-urlencode "form[rows][0][value]=Customers"
post save_macro --data-urlencode "form[name]=Delete user" --data-urlencode "form[key]=delete-user" \
  --data-urlencode "form[actions][0][slot]=0" --data-urlencode "form[actions][0][kind]=remove_user" \
  --data-urlencode "form[include_on_dashboard]=on"
# The removal tells the CRM whom to erase, and the person that they were erased.
remove=$(q "SELECT id FROM macros WHERE key = 'delete-user'")
post save_webhook --data-urlencode "form[macro_id]=$remove" --data-urlencode "form[name]=erase in crm" \
  --data-urlencode "form[method]=POST" --data-urlencode "form[content_type]=json" \
  --data-urlencode "form[url]=http://127.0.0.1:9/erase?who=((user.email))" \
  --data-urlencode "form[headers]=X-Who: ((user.first_name)) ((user.last_name))" \
  --data-urlencode 'form[body]={"erase": "((user.email))"}'
post save_webhook --data-urlencode "form[macro_id]=$remove" --data-urlencode "form[kind]=email" \
  --data-urlencode "form[name]=confirm" --data-urlencode "form[email_subject]=((user.first_name)), you are erased" \
  --data-urlencode "form[body]=We erased ((user.email))."
post save_listener --data-urlencode "form[name]=GDPR removal" --data-urlencode "form[key]=deleteuser" \
  --data-urlencode "form[filter_id]=$(q "SELECT id FROM filters WHERE name = 'Customers'")" \
  --data-urlencode "form[macro_id]=$(q "SELECT id FROM macros WHERE key = 'delete-user'")" \
  --data-urlencode "form[api_key_id]=$(q "SELECT id FROM api_keys WHERE name = 'Jira'")" \
  --data-urlencode "form[enabled]=on"
[[ -n "$key" ]] || { echo "could not create the API key" >&2; exit 1; }
ids=(--email "$first_email" --email zq.new@example.org --name "Zoë Quinn-Ørsted" --name "Zoe Quinn")
sleep 2   # the failing webhook has tried and retried by now
before=$($BIN erasure-check "${ids[@]}" | grep -c '^\(table\|file\) ' || true)
echo "before the removal the checker finds the person in $before places"
(( before >= 5 )) || { echo "the checker should have found the person before the removal" >&2; exit 1; }
# A call with a wrong key, then the real request (the email in another case).
curl -s -o /dev/null -X POST "$base/api/v1/userMacroListeners/deleteuser?find=zq.new@example.org&apiKey=wrong"
answer=$(curl -s -w ' %{http_code}' -X POST "$base/api/v1/userMacroListeners/deleteuser?find=ZQ.New@Example.org&apiKey=$key")
echo "seed-000 listener answered: $answer"
echo "before the check: $(q "SELECT COUNT(*) FROM users WHERE id = $id") user row, $(q "SELECT COUNT(*) FROM webhook_deliveries") deliveries, $(q "SELECT COUNT(*) FROM webhook_attempts") attempts, $(q "SELECT COUNT(*) FROM audit_log") audit entries, $(q "SELECT COUNT(*) FROM user_imports") import report"
# The operator's proof, with the server still running (its WAL open): right away, the only
# places left are the notifications waiting sealed (the check opens them with the key file and
# says so); once they were given up (and erased), nothing.
status=0
right_away=$($BIN erasure-check "${ids[@]}" || true)
echo "$right_away"
if echo "$right_away" | grep '^\(table\|file\) ' | grep -vq '^table webhook_deliveries.body (sealed, '; then
  echo "right after the removal, something but the sealed notifications still holds the person" >&2
  status=1
fi
for _ in $(seq 1 100); do
  [[ $(q "SELECT COUNT(*) FROM webhook_deliveries WHERE sealed AND erased_at IS NULL") == 0 ]] && break
  sleep 0.1
done
echo "the removal's notifications: $(q "SELECT group_concat(webhook_name || ' ' || status || CASE WHEN erased_at IS NOT NULL THEN ' (erased)' ELSE '' END, ', ') FROM webhook_deliveries WHERE sealed")"
echo "its receipt: $(q "SELECT counts FROM erasure_receipts")"
$BIN erasure-check "${ids[@]}" || status=$?
if grep -qiE "zq\.new|quinn" "$OUT/erasure-server.log"; then
  echo "the server's own log names the person" >&2
  exit 1
fi
exit $status
