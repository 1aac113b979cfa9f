#!/usr/bin/env bash
# Benchmark: ticketgatectl on a store of a year's tickets (BIG, 1,000,000 unless set: one every
# 31 s, a tenth of a per cent of them still open, the rest resolved or closed; three agents, one of
# whom left): how long what supervisors and cron run takes, and the same filters straight in
# sqlite3 as the baseline (what the query costs without ticketgatectl's formatting). A listing
# that sorts or scans more than it should shows as a ratio far above the others (list --limit
# once sorted all 1,000,000 tickets to print 20: 7.9 s instead of 35 ms).
# Usage: bench/ctl.sh [BUILD_DIR]      (not part of make check)
set -euo pipefail
build=${1:-.}
CTL="$build/ctl/ticketgatectl"
src=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/tg-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT
BIG=${BIG:-1000000}

cat > "$work/c.conf" <<CONF
[general]
timezone = Europe/Moscow
[store]
path = $work/big.db
[rules]
file = $src/contrib/rules.conf
[queue support]
addresses = support@example.org
group = l1
[queue billing]
addresses = billing@example.org
group = l1
[agent ann]
email = ann@example.org
groups = l1
[agent bob]
email = bob@example.org
groups = l1
active = false
CONF
# the schema, made as the daemons make it: by one ingested mail
printf 'From: a@customer.example\nTo: support@example.org\nSubject: first\nMessage-ID: <first@x>\n\nhello\n' \
    > "$work/first.eml"
"$CTL" -c "$work/c.conf" ingest "$work/first.eml" > /dev/null
sqlite3 "$work/big.db" <<SQL
PRAGMA synchronous = OFF;
BEGIN;
DELETE FROM outbox; DELETE FROM events; DELETE FROM messages; DELETE FROM thread_addresses;
DELETE FROM autoreply_log; DELETE FROM tickets;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $BIG)
INSERT INTO tickets (id, ref, channel, source, queue, category, priority, rule, requester, lang,
                     subject, status, assignee, sla_policy, created_at, updated_at,
                     first_response_due, resolution_due, first_response_at, resolved_at)
SELECT i, 'SUP-' || i, CASE WHEN i % 3 = 0 THEN 'xmpp' ELSE 'email' END, 'external',
       CASE WHEN i % 5 = 0 THEN 'billing' ELSE 'support' END, 'technical',
       CASE i % 4 WHEN 0 THEN 'urgent' WHEN 1 THEN 'high' WHEN 2 THEN 'normal' ELSE 'low' END,
       'technical', 'c' || (i % 50000) || '@customer.example', 'en', 'request ' || i,
       CASE WHEN i > $BIG - 1000 THEN (CASE i % 3 WHEN 0 THEN 'new' WHEN 1 THEN 'open' ELSE 'pending' END)
            WHEN i % 7 = 0 THEN 'resolved' ELSE 'closed' END,
       CASE i % 3 WHEN 0 THEN 'ann' WHEN 1 THEN 'bob' END, 'standard',
       strftime('%s', 'now', '-1 year') + i * 31536000 / $BIG, strftime('%s', 'now', '-1 year') + i * 31536000 / $BIG,
       strftime('%s', 'now', '-1 year') + i * 31536000 / $BIG + 14400,
       strftime('%s', 'now', '-1 year') + i * 31536000 / $BIG + 86400,
       CASE WHEN i > $BIG - 1000 THEN NULL ELSE strftime('%s', 'now', '-1 year') + i * 31536000 / $BIG + i % 20000 END,
       CASE WHEN i > $BIG - 1000 THEN NULL ELSE strftime('%s', 'now', '-1 year') + i * 31536000 / $BIG + 50000 END
FROM n;
INSERT INTO messages (ticket_id, direction, channel, msg_id, sender, subject, body, created_at)
SELECT id, 'in', channel, 'm' || id || '@customer.example', requester, subject,
       'Hello, this is a request.', created_at FROM tickets;
INSERT INTO events (ticket_id, at, kind, detail) SELECT id, created_at, 'created', 'bulk' FROM tickets;
COMMIT;
SQL
echo "store: $BIG tickets, $(($(stat -c %s "$work/big.db") / 1048576)) MB"

ms() { # ms COMMAND... -> milliseconds it took (output to /dev/null)
    local t0 t1
    t0=$(date +%s%N)
    "$@" > /dev/null || [ $? = 1 ] # status exits 1 when something needs attention
    t1=$(date +%s%N)
    echo $(((t1 - t0) / 1000000))
}
# run LABEL SQL CTL-ARGS... - ticketgatectl against sqlite3 running about the same query
run() {
    local label=$1 sql=$2
    shift 2
    local tg base
    tg=$(ms "$CTL" -c "$work/c.conf" "$@")
    base=$(ms sqlite3 "$work/big.db" "$sql")
    printf '%-44s %7d ms   sqlite3 alone %6d ms\n' "$label" "$tg" "$base"
}
open_="status IN ('new', 'open', 'pending')"
run "list (every ticket)" "SELECT * FROM tickets ORDER BY id" list
run "list --limit 20" "SELECT * FROM tickets ORDER BY id DESC LIMIT 20" list --limit 20
run "list --status new,open,pending" "SELECT * FROM tickets WHERE $open_ ORDER BY id" \
    list --status new,open,pending
run "list --overdue" "SELECT * FROM tickets WHERE $open_ AND first_response_at IS NULL ORDER BY id" \
    list --overdue
run "list --assignee - --status new,open,pending" \
    "SELECT * FROM tickets WHERE assignee IS NULL AND $open_ ORDER BY id" \
    list --assignee - --status new,open,pending
run "status" "SELECT count(*), sum($open_) FROM tickets" status
run "report (last month)" "SELECT count(*) FROM tickets WHERE first_response_due > strftime('%s', 'now', '-1 month')" \
    report --from "$(date -d '-1 month' +%F)" --to "$(date +%F)"
run "show SUP-500000" "SELECT * FROM messages WHERE ticket_id = 500000" show SUP-500000
run "assign --from bob - (his open tickets)" "SELECT count(*) FROM tickets WHERE assignee = 'bob' AND $open_" \
    assign --from bob -
