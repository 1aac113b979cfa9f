#!/usr/bin/env bash
# ticketgatectl as a user drives it: check-config, ingest exit statuses, list/show/explain.
. "${srcdir:-.}/tests/ctl_lib.sh" ctl
data="$srcdir/tests/data/mail"
ctl_config "$work/ticketgate.conf" "$work/t.db"
C=(-c "$work/ticketgate.conf")

"$CTL" "${C[@]}" check-config | grep -q 'ok: 1 queue(s), 1 agent(s), 6 rule(s)' || fail check-config

# the shipped example config is valid, without a warning but the one that its store's directory
# (/var/lib/ticketgate, made at installation) is not there on this machine
"$CTL" -c "$(cd "$srcdir" && pwd)/contrib/ticketgate.conf" check-config 2> "$work/warnings" |
    grep -q 'ok: 2 queue(s), 2 agent(s)' || fail "contrib/ticketgate.conf"
[ -d /var/lib/ticketgate ] || sed -i '/\[store\] path: the directory \/var\/lib\/ticketgate does not exist, so the daemons cannot make or open the store$/d' "$work/warnings"
[ ! -s "$work/warnings" ] || fail "contrib/ticketgate.conf: $(cat "$work/warnings")"

# a broken config names file and line, exit 78 (EX_CONFIG)
printf '[store]\nsynchronous = sometimes\n' > "$work/bad.conf"
set +e; msg=$("$CTL" -c "$work/bad.conf" check-config 2>&1); rc=$?; set -e
[ $rc = 78 ] || fail "bad config exit $rc"
echo "$msg" | grep -q "bad.conf:2: \[store\] synchronous" || fail "bad config message: $msg"
# an address or a chat name in two queues: the second would never see it
printf '[store]\npath = %s\n[queue support]\naddresses = help@example.org\n[queue billing]\naddresses = billing@example.org, Help@Example.org\n' \
    "$work/t.db" > "$work/dup-address.conf"
printf '[store]\npath = %s\n[queue support]\nxmpp = support\n[queue billing]\naddresses = billing@example.org\nxmpp = support\n' \
    "$work/t.db" > "$work/dup-xmpp.conf"
for dup in "dup-address:6:addresses: help@example.org" "dup-xmpp:7:xmpp: support"; do
    IFS=: read -r conf line what <<< "$dup"
    set +e; msg=$("$CTL" -c "$work/$conf.conf" check-config 2>&1); rc=$?; set -e
    [ $rc = 78 ] && [ "$msg" = "ticketgatectl: $work/$conf.conf:$line: [queue billing] $what is already in [queue support]: each belongs to one queue" ] ||
        fail "$what in two queues: exit $rc: $msg"
done

# an address or login of two agents: the second's mail, chat or login would count as the first's
for dup in "jid = bob@chat.example.org:email = ANN@example.org:email: ann@example.org" \
    "email = bob@example.org:jid = Ann@Example.org:jid: ann@example.org" \
    "email = bob@example.org:login = ann:login: ann"; do
    IFS=: read -r first second what <<< "$dup"
    printf '[store]\npath = %s\n[queue support]\naddresses = help@example.org\n[agent ann]\nemail = ann@example.org\n[agent bob]\n%s\n%s\n' \
        "$work/t.db" "$first" "$second" > "$work/dup-agent.conf"
    set +e; msg=$("$CTL" -c "$work/dup-agent.conf" check-config 2>&1); rc=$?; set -e
    [ $rc = 78 ] && [ "$msg" = "ticketgatectl: $work/dup-agent.conf:9: [agent bob] $what is already [agent ann]'s" ] ||
        fail "$what of two agents: exit $rc: $msg"
done

# a queue or a rule routing to a group no agent is in: valid (a team not set up yet), but said,
# by check-config and by each daemon when it loads the file
printf '[rule vip]\nif = from ~ "@vip\\.example"\ngroup = vip\n' > "$work/group-rules.conf"
printf '[store]\npath = %s\n[rules]\nfile = group-rules.conf\n[queue support]\naddresses = help@example.org\nxmpp = support\ngroup = L1\n[agent ann]\nemail = ann@example.org\ngroups = l1\n[xmpp]\ndomain = help.example.org\nsecret = s\n' \
    "$work/t.db" > "$work/group.conf"
want="$work/group.conf:8: [queue support] group L1: no agent is in it, so its tickets stay unassigned
$work/group-rules.conf:1: [rule vip] group vip: no agent is in it, so its tickets stay unassigned"
for program in "$CTL -c $work/group.conf check-config" "$top_builddir/milter/ticketgate-milter -n -c $work/group.conf" \
    "$top_builddir/xmpp/ticketgate-xmpp -n -c $work/group.conf"; do
    $program > /dev/null 2> "$work/warnings" || fail "$program: exit $?: $(cat "$work/warnings")"
    [ "$(sed 's/^[a-z-]*: warning: //' "$work/warnings")" = "$want" ] || fail "$program warned: $(cat "$work/warnings")"
done

# explain writes nothing, and tells the rule, the due time and the reply
"$CTL" "${C[@]}" explain "$data/03-cp1251-body-koi8-subject.eml" > "$work/explain"
grep -q 'rule       technical' "$work/explain" || fail "explain rule: $(cat "$work/explain")"
grep -q 'Ошибка при оплате' "$work/explain" || fail "explain subject"
grep -q 'auto-reply   would be sent' "$work/explain" || fail "explain reply"
[ ! -e "$work/t.db" ] || fail "explain created the store"

# looking at a store that is not there (a mistyped path) says so, exit 70, and makes none
for view in list "show SUP-1" report; do
    set +e; msg=$("$CTL" "${C[@]}" $view 2>&1); rc=$?; set -e
    [ $rc = 70 ] || fail "$view without a store: exit $rc"
    echo "$msg" | grep -q "^ticketgatectl: store $work/t.db does not exist" || fail "$view: $msg"
done
[ ! -e "$work/t.db" ] || fail "a view created the store"

# ingest the corpus: tickets for all, replies only to people
"$CTL" "${C[@]}" ingest --json "$data"/*.eml > "$work/ingest.json"
python3 - "$work/ingest.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
kinds = [x["decision"] for x in d]
assert len(d) == 17, d
replied = {x["ref"] for x in d if x["reply_queued"]}
silent = [x["no_reply_reason"] for x in d if not x["reply_queued"] and x["decision"] == "new"]
# out-of-office, mailing list, bounce, no header block, and a robot in Reply-To
assert len(silent) == 5, silent
# a web form's mail (From noreply@, the visitor in Reply-To) is answered
assert [x["reply_queued"] for x in d if x["reply_subject"] and "1042" in x["reply_subject"]] == [1], d
assert any("Auto-Submitted" in s for s in silent), silent
follow = [x for x in d if x["decision"] == "follow-up"]
assert len(follow) == 1 and follow[0]["ref"] == "SUP-1", follow   # the reply with [sup-1]
PY

# the WAL file is kept after the last program closed the store: later commits do not wait for
# it to grow again
[ -s "$work/t.db-wal" ] || fail "the WAL file was not kept"

# list --json shows them; show prints messages and events
"$CTL" "${C[@]}" list --json | python3 -c '
import json, sys
t = json.load(sys.stdin)
assert len(t) == 16, len(t)
ru = [x for x in t if x["subject"] == "Ошибка при оплате"][0]
assert ru["lang"] == "ru" and ru["category"] == "technical" and ru["requester_name"] == "Пётр Иванов", ru
'
"$CTL" "${C[@]}" show SUP-1 | grep -q 'follow-up' || fail "show SUP-1"
# times as the customers are told them: in [general] timezone (Europe/Moscow here)
"$CTL" "${C[@]}" list | grep -Eq '^SUP-1 .* 20[0-9]{2}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2} MSK ' ||
    fail "list: $("$CTL" "${C[@]}" list | head -3)"
"$CTL" "${C[@]}" show --json sup-1 | python3 -c 'import json,sys; t=json.load(sys.stdin); m = [x["direction"] for x in t["messages"]]; assert m == ["in", "out", "in"], m; assert t["outbox"][0]["kind"] == "autoreply" and t["outbox"][0]["message_id"] == t["messages"][1]["message_id"], t'
# a reference as people copy it: from a subject, with '#', or followed by ':'
for typed in "[sup-1]" "#SUP-1" "SUP-1:"; do
    "$CTL" "${C[@]}" show "$typed" | grep -q '^SUP-1 ' || fail "show $typed"
done
set +e; "$CTL" "${C[@]}" show SUP-999 2>/dev/null; rc=$?; set -e
[ $rc = 66 ] || fail "show unknown ref exit $rc"

# bad input: exit 65; store unusable: exit 75 so an MTA pipe retries
: > "$work/empty.eml"
set +e; "$CTL" "${C[@]}" ingest "$work/empty.eml" >/dev/null 2>&1; rc=$?; set -e
[ $rc = 65 ] || fail "empty mail exit $rc"
# another process holds the write lock past busy_timeout: exit 75 (EX_TEMPFAIL), nothing written
sed 's/^\[store\]$/[store]\nbusy_timeout = 1s/' "$work/ticketgate.conf" > "$work/impatient.conf"
printf 'BEGIN IMMEDIATE;\nINSERT INTO events (at, kind) VALUES (0, %s);\n.shell sleep 4\nROLLBACK;\n' "'lock'" \
  | sqlite3 "$work/t.db" &
locker=$!
sleep 1
before=$(sqlite3 "$work/t.db" "SELECT count(*) FROM tickets")
printf 'From: x@customer.example\nSubject: locked\nMessage-ID: <lock@x>\n\nhi\n' > "$work/lock.eml"
set +e; "$CTL" -c "$work/impatient.conf" ingest "$work/lock.eml" >/dev/null 2>&1; rc=$?; set -e
wait $locker
[ $rc = 75 ] || fail "locked store exit $rc"
[ "$(sqlite3 "$work/t.db" "SELECT count(*) FROM tickets")" = "$before" ] || fail "partial write"
"$CTL" "${C[@]}" ingest "$work/lock.eml" | grep -q ' new ' || fail "retry after the lock"

# a supervisor gives a ticket to another agent, who is told by chat; or to nobody
cat "$work/ticketgate.conf" - > "$work/team.conf" <<'CONF'
[agent bob]
email = bob@example.org
jid = bob@chat.example.org
[agent zoe]
email = zoe@example.org
active = false
[agent olga]
jid = olga@chat.example.org
lang = ru
[xmpp]
domain = support.example.org
CONF
T=(-c "$work/team.conf")
[ "$("$CTL" "${T[@]}" assign sup-2 bob)" = "SUP-2 is now assigned to bob" ] || fail "assign to bob"
"$CTL" "${T[@]}" show --json SUP-2 | python3 -c '
import json, sys
t = json.load(sys.stdin)
assert t["assignee"] == "bob", t["assignee"]
e = t["events"][-1]
assert e["kind"] == "assigned" and e["detail"].startswith("bob by ticketgatectl (was "), e
n = [o for o in t["outbox"] if o["kind"] == "notify"]
assert len(n) == 1 and n[0]["recipient"] == "bob@chat.example.org" and n[0]["channel"] == "xmpp", n
assert n[0]["body"].startswith("New ticket SUP-2 for you: ") and "From " in n[0]["body"], n
'
[ "$("$CTL" "${T[@]}" assign SUP-2 bob)" = "SUP-2 is already assigned to bob" ] || fail "assign again"
# an agent with lang = ru is told in Russian
[ "$("$CTL" "${T[@]}" assign SUP-2 olga)" = "SUP-2 is now assigned to olga" ] || fail "assign to olga"
"$CTL" "${T[@]}" show --json SUP-2 | python3 -c '
import json, re, sys
n = [o for o in json.load(sys.stdin)["outbox"] if o["recipient"] == "olga@chat.example.org"]
assert len(n) == 1 and n[0]["body"].startswith("Вам назначено обращение SUP-2: "), n
assert re.search(r"ответить до (пн|вт|ср|чт|пт|сб|вс), \d+ [а-я]+ \d{4}, \d\d:\d\d", n[0]["body"]), n
'
[ "$("$CTL" "${T[@]}" assign SUP-2 -)" = "SUP-2 is now unassigned" ] || fail "assign to nobody"
[ "$("$CTL" "${T[@]}" list --json | python3 -c 'import json,sys; print([x["assignee"] for x in json.load(sys.stdin) if x["ref"] == "SUP-2"][0])')" = None ] \
  || fail "still assigned"
# an agent takes a ticket nobody has and gives it back
[ "$("$CTL" "${T[@]}" take --agent bob SUP-2)" = "SUP-2 is now yours" ] || fail "take SUP-2"
[ "$("$CTL" "${T[@]}" release --agent bob SUP-2)" = "SUP-2 is no longer yours, and nobody has it now" ] ||
    fail "release SUP-2"
# status counts the tickets as list sees them
"$CTL" "${T[@]}" status --json | python3 -c '
import json, subprocess, sys
def listed(*opts):
    return json.loads(subprocess.run(sys.argv[1:] + ["list", "--json", *opts], capture_output=True, check=True).stdout)
s = json.load(sys.stdin)
open_ = [t for t in listed() if t["status"] not in ("resolved", "closed")]
want = {"tickets": len(listed()), "unfinished": len(open_), "overdue": len(listed("--overdue")),
        "unassigned": len([t for t in open_ if t["assignee"] is None])}
assert want["unassigned"] > 0 and {k: s[k] for k in want} == want, (s, want)
' "$CTL" "${T[@]}" || fail "status counts"
"$CTL" "${T[@]}" status | grep -Eq "^tickets  [0-9]+, [0-9]+ not resolved or closed, [0-9]+ of them overdue, [1-9][0-9]* nobody has; newest " ||
    fail "status: $("$CTL" "${T[@]}" status)"
# the open tickets of an agent who left (active = false, or removed from the configuration) need
# a person: status says whose and what to run; assign --from gives them all back to the group
"$CTL" "${T[@]}" assign SUP-2 bob > /dev/null || fail "assign SUP-2 bob"
attention() { "$CTL" "$@" status --json | python3 -c 'import json, sys; print("\n".join(json.load(sys.stdin)["attention"]))' || true; }
sed 's/^\[agent bob\]$/[agent bob]\nactive = false/' "$work/team.conf" > "$work/left.conf"
[ "$(attention -c "$work/left.conf")" = "1 open ticket of bob, who is not active: ticketgatectl assign --from bob AGENT (or -) gives them to others" ] ||
    fail "status of an inactive agent's tickets: $(attention -c "$work/left.conf")"
[ "$(attention "${C[@]}")" = "1 open ticket of bob, who is not in the configuration: ticketgatectl assign --from bob AGENT (or -) gives them to others" ] ||
    fail "status of a removed agent's tickets: $(attention "${C[@]}")"
set +e; "$CTL" -c "$work/left.conf" status > /dev/null; rc=$?; set -e
[ $rc = 1 ] || fail "status exit $rc with an inactive agent's tickets"
[ "$("$CTL" "${C[@]}" assign --from bob -)" = "SUP-2 is now unassigned" ] || fail "assign --from bob -"
[ -z "$(attention -c "$work/left.conf")" ] || fail "still: $(attention -c "$work/left.conf")"
[ "$("$CTL" "${C[@]}" assign --from bob -)" = "bob has no open tickets" ] || fail "assign --from bob - again"
# --assignee - lists exactly the tickets nobody has
"$CTL" "${T[@]}" list --json | python3 -c '
import json, subprocess, sys
nobodys = [x["ref"] for x in json.load(sys.stdin) if x["assignee"] is None]
got = [x["ref"] for x in json.loads(subprocess.run(sys.argv[1:], capture_output=True, check=True).stdout)]
assert "SUP-2" in got and got == nobodys, (got, nobodys)
' "$CTL" "${T[@]}" list --assignee - --json || fail "list --assignee -"
"$CTL" "${T[@]}" close --agent ann SUP-3 > /dev/null
# --from -: every open ticket nobody has, to one agent
"$CTL" "${T[@]}" list --assignee - --status new,open,pending --json | python3 -c '
import json, subprocess, sys
nobodys = ["%s is now assigned to ann" % x["ref"] for x in json.load(sys.stdin)]
got = subprocess.run(sys.argv[1:], capture_output=True, check=True, text=True).stdout.splitlines()
assert "SUP-2 is now assigned to ann" in got and got == nobodys, (got, nobodys)
' "$CTL" "${T[@]}" assign --from - ann || fail "assign --from - ann"
[ "$("$CTL" "${T[@]}" assign --from - ann)" = "every open ticket has an agent" ] || fail "assign --from - again"
"$CTL" "${T[@]}" assign SUP-2 - > /dev/null || fail "SUP-2 back to nobody"
# --status takes several statuses; --limit keeps the newest, listed oldest first
"$CTL" "${T[@]}" resolve --agent ann SUP-4 > /dev/null
"$CTL" "${T[@]}" reply --agent ann SUP-5 "Noted" > /dev/null # pending
sqlite3 "$work/t.db" "UPDATE tickets SET first_response_due = first_response_due - 864000,
    resolution_due = resolution_due - 864000 WHERE ref IN ('SUP-5', 'SUP-6')" # overdue
"$CTL" "${T[@]}" list --json | python3 -c '
import itertools, json, subprocess, sys
every = json.load(sys.stdin)
def refs(*opts):
    return [x["ref"] for x in json.loads(subprocess.run(sys.argv[1:] + ["list", "--json", *opts], capture_output=True, check=True).stdout)]
present = sorted({x["status"] for x in every})
overdue = refs("--overdue")
assert {"new", "pending", "resolved"} <= set(present) and overdue, (present, overdue)
# every set of statuses: those of the backlog alone are read by another statement
for k in range(1, len(present) + 1):
    for some in itertools.combinations(present, k):
        want = [x["ref"] for x in every if x["status"] in some]
        assert refs("--status", ",".join(some)) == want, (some, want)
        assert refs("--status", ",".join(some), "--limit", "1") == want[-1:], (some, want)
        assert refs("--status", ",".join(some), "--overdue") == [r for r in overdue if r in want], some
assert refs("--status", "new,new") == refs("--status", "new")
assert refs("--limit", "2") == [x["ref"] for x in every][-2:], every
' "$CTL" "${T[@]}" || fail "list --status S,S / --limit / --overdue"
for bad in 'new,opne:unknown status "opne" (new, open, pending, resolved, closed; several with commas)' \
           ':--status names no status (new, open, pending, resolved, closed)'; do
    set +e; msg=$("$CTL" "${T[@]}" list --status "${bad%%:*}" 2>&1); rc=$?; set -e
    [ "$rc" = 64 ] && [ "$msg" = "ticketgatectl list: ${bad#*:}" ] ||
        fail "list --status '${bad%%:*}': exit $rc: $msg"
done
for bad in "SUP-2 zoe:65:agent zoe is not active" "SUP-2 nobody:65:no \[agent nobody\]" \
           "SUP-999 bob:66:there is no ticket SUP-999" "SUP-3 bob:65:SUP-3 is closed" "SUP-2:64:usage"; do
    set +e; msg=$("$CTL" "${T[@]}" assign ${bad%%:*} 2>&1); rc=$?; set -e
    want=${bad#*:}
    [ "$rc" = "${want%%:*}" ] || fail "assign ${bad%%:*}: exit $rc"
    echo "$msg" | grep -q "^ticketgatectl assign: .*${want#*:}" || fail "assign ${bad%%:*}: $msg"
done
[ "$(sqlite3 "$work/t.db" "SELECT count(*) FROM outbox WHERE kind = 'notify'")" = 3 ] || fail "notices" # bob twice, olga
# a reply that would not be an answer is refused with the reason, and leaves no trace: before,
# a reply on a closed ticket made a new ticket of the agent's, auto-replied to the agent
printf 'From: ann@example.org\nTo: support@example.org\nSubject: Toner for the 3rd floor\n\nPlease order.\n' |
    "$CTL" "${C[@]}" ingest - > /dev/null || fail "ann's own request"
own=$(sqlite3 "$work/t.db" "SELECT ref FROM tickets WHERE requester = 'ann@example.org'")
before=$(sqlite3 "$work/t.db" "SELECT count(*) || ' ' || (SELECT count(*) FROM outbox) || ' ' ||
    (SELECT count(*) FROM messages) FROM tickets")
for bad in "SUP-3:65:SUP-3 is closed: it takes no more answers; nothing was sent (reopen SUP-3 first to answer)" \
           "$own:65:$own is your own request; nothing was sent"; do
    set +e; msg=$("$CTL" "${C[@]}" reply --agent ann "${bad%%:*}" "Here is the answer" 2>&1); rc=$?; set -e
    want=${bad#*:}
    [ "$rc" = "${want%%:*}" ] && [ "$msg" = "ticketgatectl reply: ${want#*:}" ] ||
        fail "reply ${bad%%:*}: exit $rc: $msg"
done
[ "$(sqlite3 "$work/t.db" "SELECT count(*) || ' ' || (SELECT count(*) FROM outbox) || ' ' ||
    (SELECT count(*) FROM messages) FROM tickets")" = "$before" ] || fail "a refused reply left rows"
# a ticket closed by mistake is opened again, by its agent only; then it takes answers
set +e; msg=$("$CTL" "${T[@]}" reopen --agent bob SUP-3 2>&1); rc=$?; set -e
[ "$rc" = 77 ] && [ "$msg" = "ticketgatectl reopen: SUP-3 is assigned to ann, not to you" ] ||
    fail "reopen by bob: exit $rc: $msg"
[ "$("$CTL" "${C[@]}" reopen --agent ann sup-3)" = "SUP-3 is now open" ] || fail "reopen"
[ "$("$CTL" "${C[@]}" reopen --agent ann SUP-3)" = \
  "SUP-3 is open, not resolved or closed: nothing to reopen" ] || fail "reopen an open ticket"
"$CTL" "${C[@]}" show --json SUP-3 | python3 -c '
import json, sys
t = json.load(sys.stdin)
assert t["status"] == "open" and t["resolved_at"] is None, t
assert [e["detail"] for e in t["events"] if e["kind"] == "status"][-1] == "closed -> open (by ann)", t["events"]
'
"$CTL" "${C[@]}" reply --agent ann SUP-3 "Here is the answer" > /dev/null || fail "reply after reopen"
# list's text columns line up whatever their width: here an agent id longer than the heading's
printf '[agent konstantin.petrov]\nemail = kp@example.org\ngroups = l1\n' |
    cat "$work/ticketgate.conf" - > "$work/wide.conf"
"$CTL" -c "$work/wide.conf" assign SUP-4 konstantin.petrov > /dev/null || fail "assign to a long id"
"$CTL" -c "$work/wide.conf" list | python3 -c '
import sys
rows = sys.stdin.read().splitlines()
starts = [rows[0].index(h) for h in ("STATUS", "PRIO", "QUEUE", "ASSIGNEE", "DUE", "SUBJECT")]
assert len(rows) == 19 and any(" konstantin.petrov " in r for r in rows), rows
for r in rows:
    assert all(r[s - 1] == " " and r[s:s + 1] != " " for s in starts), (starts, r)
' || fail "list columns: $("$CTL" -c "$work/wide.conf" list | head -5)"
# a supervisor who may only read the store (while a daemon holds it open) sees the tickets; a
# change is refused with the reason
chmod 755 "$work"
chmod 644 "$work/ticketgate.conf" "$work/t.db"
python3 -c 'import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1]); db.execute("SELECT count(*) FROM tickets").fetchall()
time.sleep(30)' "$work/t.db" &
holder=$!
for _ in $(seq 50); do [ -e "$work/t.db-shm" ] && break; sleep 0.1; done
runuser -u nobody -- "$CTL" "${C[@]}" list --json | python3 -c '
import json, sys; assert len(json.load(sys.stdin)) == 18' || fail "list as a reader"
set +e; msg=$(runuser -u nobody -- "$CTL" "${C[@]}" resolve --agent ann SUP-2 2>&1); rc=$?; set -e
kill $holder; wait $holder 2> /dev/null || true
[ $rc != 0 ] && echo "$msg" | grep -q "readonly" || fail "resolve as a reader: exit $rc: $msg"
# and with no program holding it (the kept -wal and -shm files are readable like the database)
runuser -u nobody -- "$CTL" "${C[@]}" list --json | python3 -c '
import json, sys; assert len(json.load(sys.stdin)) == 18' || fail "list as a reader, store closed"
echo "1 passed, 0 failed"
