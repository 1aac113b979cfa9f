#!/usr/bin/env bash
# ticketgatectl report as a supervisor reads it: tickets answered in time, answered late, left
# unanswered past their due time, and still waiting, per queue and against the channel's goal.
# The SLA here gives 3 seconds for a first response and 5 for a resolution, so the test lives
# through the due times. With --resolution, the same for resolutions.
set -euo pipefail
top_builddir=${top_builddir:-.}
srcdir=${srcdir:-.}
CTL="$top_builddir/ctl/ticketgatectl"
work=$(mktemp -d /tmp/tg-report-XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

cat > "$work/ticketgate.conf" <<CONF
[general]
timezone = Europe/Moscow
[store]
path = $work/t.db
[rules]
file = $(cd "$srcdir" && pwd)/contrib/rules.conf
[queue support]
addresses = support@example.org
sla = quick
[queue billing]
addresses = billing@example.org
prefix = BIL
sla = quick
[queue partners]
addresses = partners@example.org
prefix = PRT
sla = slow
[sla quick]
calendar = 24x7
default = 3s 5s
[sla slow]
calendar = 24x7
default = 1h 90m
[agent ann]
email = ann@example.org
[report]
goal_email = 50
CONF
C=(-c "$work/ticketgate.conf")

# mail N RCPT - ingest a mail from customer N to RCPT; prints the ticket reference
mail() {
    printf 'From: c%s@customer.example\nTo: %s\nSubject: question %s\nMessage-ID: <q%s@customer.example>\n\nhello\n' \
        "$1" "$2" "$1" "$1" > "$work/$1.eml"
    "$CTL" "${C[@]}" ingest --rcpt "$2" "$work/$1.eml" | awk '{print $2}'
}

answered=$(mail 1 support@example.org)
spam=$(mail 2 support@example.org)
"$CTL" "${C[@]}" reply --agent ann "$answered" "Here is the answer." > /dev/null
"$CTL" "${C[@]}" close --agent ann "$spam" > /dev/null # handled without an answer, in time
forgotten=$(mail 3 support@example.org)
slow=$(mail 4 billing@example.org)
waiting=$(mail 5 partners@example.org)
sleep 4 # past the 3 s due times
"$CTL" "${C[@]}" reply --agent ann "$slow" "Sorry for the wait." > /dev/null
echo "tickets: $answered $spam $forgotten $slow $waiting"

# an hour ago to two hours ahead, in the configured time zone: every due time above is in it
from=$(TZ=Europe/Moscow date -d '-1 hour' '+%F %H:%M')
to=$(TZ=Europe/Moscow date -d '+2 hours' '+%F %H:%M')
"$CTL" "${C[@]}" report --from "$from" --to "$to" > "$work/report"
cat "$work/report"
grep -q "^First responses due $from .. $to (Europe/Moscow)$" "$work/report" || fail "period line"
# all: 5 due, 2 in time (answered, closed), 2 late (forgotten, answered late), 1 waiting
grep -Eq '^email +all +5 +2 +2 +1 +50\.0% +50% +met$' "$work/report" || fail "email total"
grep -Eq '^ +billing +1 +0 +1 +0 +0\.0%' "$work/report" || fail "billing row"
grep -Eq '^ +partners +1 +0 +0 +1 +-$' "$work/report" || fail "partners row"
grep -Eq '^ +support +3 +2 +1 +0 +66\.7%' "$work/report" || fail "support row"
grep -Eq '^xmpp +all +0 +0 +0 +0 +- +80% +-$' "$work/report" || fail "xmpp row"

# the same as JSON, for one queue; a stricter goal is missed
sed 's/^goal_email = 50$/goal_email = 70/' "$work/ticketgate.conf" > "$work/strict.conf"
"$CTL" -c "$work/strict.conf" report --from "$from" --to "$to" --json > "$work/all.json"
"$CTL" -c "$work/strict.conf" report --from "$from" --to "$to" --queue support --json \
  > "$work/support.json"
python3 - "$work/all.json" "$work/support.json" <<'PY'
import json, sys
everything, support = (json.load(open(f)) for f in sys.argv[1:3])
email = everything["channels"][0]
assert email["channel"] == "email" and email["goal"] == 70, email
assert (email["due"], email["in_time"], email["late"], email["waiting"]) == (5, 2, 2, 1), email
assert email["level"] == 50.0 and email["met"] is False, email
assert [q["queue"] for q in email["queues"]] == ["billing", "partners", "support"], email
assert everything["channels"][1]["met"] is None, everything
one = support["channels"][0]
assert (one["due"], one["in_time"], one["late"]) == (3, 2, 1) and one["met"] is False, one
assert [q["queue"] for q in one["queues"]] == ["support"], one
PY
"$CTL" -c "$work/strict.conf" report --from "$from" --to "$to" | grep -Eq '^email .* 70% +MISSED$' \
  || fail "missed goal in text"

# by default the last 7 days up to now: only decided tickets (the waiting one is due later)
"$CTL" "${C[@]}" report | grep -Eq '^email +all +4 +2 +2 +0 ' || fail "default period"

# resolutions: only the closed one in time; answered but open, forgotten, and resolved after
# its due time are late; the partners' one has 90 minutes
sleep 2 # past the 5 s resolution due times
"$CTL" "${C[@]}" resolve --agent ann "$slow" > /dev/null
"$CTL" "${C[@]}" report --resolution --from "$from" --to "$to" > "$work/resolution"
cat "$work/resolution"
grep -q "^Resolutions due $from .. $to (Europe/Moscow)$" "$work/resolution" || fail "resolution period"
grep -Eq '^email +all +5 +1 +3 +1 +25\.0% +50% +MISSED$' "$work/resolution" || fail "resolution total"
grep -Eq '^ +billing +1 +0 +1 +0 +0\.0%' "$work/resolution" || fail "resolution billing"
grep -Eq '^ +partners +1 +0 +0 +1 +-$' "$work/resolution" || fail "resolution partners"
grep -Eq '^ +support +3 +1 +2 +0 +33\.3%' "$work/resolution" || fail "resolution support"
"$CTL" "${C[@]}" report --resolution --from "$from" --to "$to" --json | python3 -c '
import json, sys
r = json.load(sys.stdin)
assert r["target"] == "resolution", r
e = r["channels"][0]
assert (e["due"], e["in_time"], e["late"], e["waiting"], e["met"]) == (5, 1, 3, 1, False), e
'
python3 -c 'import json, sys; assert json.load(open(sys.argv[1]))["target"] == "first_response"' \
  "$work/all.json" || fail "first response target"

# bad options: exit 64 (EX_USAGE) with a message
for bad in "--from 2026-13-01" "--to tomorrow" "--from 2026-11-02 --to 2026-11-01" "--queue nope"; do
    set +e; msg=$("$CTL" "${C[@]}" report $bad 2>&1); rc=$?; set -e
    [ $rc = 64 ] || fail "report $bad: exit $rc"
    echo "$msg" | grep -q '^ticketgatectl report: ' || fail "report $bad: $msg"
done
echo "1 passed, 0 failed"
