#!/usr/bin/env bash
# ticketgate-xmpp with a real Prosody and real clients (slixmpp): what customers and agents see.
set -uo pipefail
RIG_PORT=${RIG_PORT:-10040} # tests/xmpp_valgrind.sh runs some scenarios again on another port
. "${srcdir:-.}/tests/rig/rig.sh"
. "${srcdir:-.}/tests/rig/xmpp_scenarios.sh"
SUPPORT="support@$COMPONENT"

# erin and fred each write in one scenario only (big_body_and_flood, language_from_xml_lang): the
# component's rate window (in memory, 60 s) holds none of their messages, and the server has no
# answers kept for them from earlier scenarios to hand over at their login
rig_init_prosody alice boris carol dave erin fred ann vera
rig_xmpp_config "$(cat <<EOF
# an agent who reads Russian, in a group no queue uses (ann keeps getting every ticket)
[agent vera]
name = Вера
jid = vera@localhost
groups = ru-desk
lang = ru
# presence: one queue closed for holidays around today (UTC), one open round the clock
[queue night]
xmpp = night
sla = holiday
[queue allday]
xmpp = allday
sla = round
[calendar shut]
timezone = UTC
mon = 00:00-24:00
tue = 00:00-24:00
wed = 00:00-24:00
thu = 00:00-24:00
fri = 00:00-24:00
sat = 00:00-24:00
sun = 00:00-24:00
holidays = $(date -u -d yesterday +%F), $(date -u +%F), $(date -u -d tomorrow +%F)
[sla holiday]
calendar = shut
default = 4h
[sla round]
calendar = 24x7
default = 4h
# escalation: a queue whose first answer is due 3 s after the question
[queue hurry]
xmpp = hurry
group = l1
sla = blink
[sla blink]
calendar = 24x7
default = 3s
EOF
)"
sed -i '/^\[general\]/a escalate_every = 1s' "$CONF"
if [ -n "${XMPP_VALGRIND:-}" ]; then
    XMPP_WRAPPER="valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite
        --show-leak-kinds=definite --suppressions=$RIG_SRC/valgrind.supp --log-file=$RIG/valgrind.log"
fi
rig_start_prosody
# an auto-reply record older than [limits] autoreply_window, for old_reply_records_forgotten
# (the component's first start makes the store; it deletes such records when it starts)
rig_start_xmpp
rig_stop_xmpp TERM
sql "INSERT INTO autoreply_log VALUES ('old@localhost', strftime('%s', 'now') - 7200)"
rig_start_xmpp

# The component, like the milter, deletes the records the reply limit no longer looks at.
old_reply_records_forgotten() {
    for _ in $(seq 50); do
        grep -q 'auto-reply records older than 3600s forgotten: 1' "$RIG/xmpp.log" && break
        sleep 0.1
    done
    grep -q 'auto-reply records older than 3600s forgotten: 1' "$RIG/xmpp.log" || fail "not logged"
    [ "$(sql "SELECT count(*) FROM autoreply_log WHERE address = 'old@localhost'")" = 0 ] ||
        fail "old record kept"
}

first_message_and_follow_up() {
    reset_state
    chat alice "[{\"send\": {\"to\": \"$SUPPORT\", \"body\": \"My printer is broken\\nIt prints blank pages\", \"thread\": \"t-1\"}},
                 {\"expect\": 1}, {\"send\": {\"to\": \"$SUPPORT\", \"body\": \"It is an HP 1020\", \"thread\": \"t-1\"}},
                 {\"quiet\": 2}]" > "$RIG/alice.json" || fail "client: $(cat "$RIG/alice.json")"
    check 'len(d["messages"]) == 1 and "registered as SUP-1" in d["messages"][0]["body"]
        and re.search(r"answer by .*\d\d:\d\d", d["messages"][0]["body"])
        and d["messages"][0]["from"] == "support@support.localhost"
        and d["messages"][0]["type"] == "chat" and d["messages"][0]["thread"] == "t-1"' cat "$RIG/alice.json"
    check 'len(d) == 1 and d[0]["channel"] == "xmpp" and d[0]["requester"] == "alice@localhost"
        and d[0]["subject"] == "My printer is broken"' "$CTL" "${C[@]}" list --json
    check '[m["direction"] for m in d["messages"]] == ["in", "out", "in"]
        and d["messages"][2]["body"] == "It is an HP 1020"' "$CTL" "${C[@]}" show --json SUP-1
    # what arrived is recorded as sent (not left leased, to go out again): the reply, and ann's
    # notices of the new ticket and of the follow-up
    [ "$(sql "SELECT group_concat(kind || ' ' || status || ' ' || attempts) FROM
              (SELECT * FROM outbox ORDER BY kind)")" = "autoreply sent 1,notify sent 1,notify sent 1" ] ||
        fail "outbox: $(sql "SELECT kind, status, attempts FROM outbox")"
    [ "$(sql "SELECT recipient || ': ' || body FROM outbox WHERE kind = 'notify' ORDER BY id DESC LIMIT 1")" = \
      "ann@localhost: SUP-1: alice@localhost wrote again (My printer is broken):
It is an HP 1020

Answer with: reply SUP-1 <text>" ] || fail "follow-up notice: $(sql "SELECT body FROM outbox")"
}

# Nobody answered in time: the agent who has the ticket is told once, and the event says so.
overdue_ticket_is_escalated() {
    reset_state
    chat ann '[{"until": "Overdue: HUR-1", "timeout": 30}, {"quiet": 3}]' > "$RIG/ann.json" &
    local ann=$!
    sleep 2 # ann is online
    chat dave "[{\"send\": {\"to\": \"hurry@$COMPONENT\", \"body\": \"The printer is on fire\"}},
                {\"expect\": 1}]" > "$RIG/dave.json" || fail "dave: $(cat "$RIG/dave.json")"
    wait $ann || fail "ann: $(cat "$RIG/ann.json")"
    # (no ";" in the expressions: check splits statements there)
    check 'm = [x["body"] for x in d["messages"] if "HUR-1" in x["body"]];
        len(m) == 2 and m[0].startswith("New ticket HUR-1 for you: The printer is on fire")
        and re.fullmatch(r"Overdue: HUR-1 has no answer yet\x3b the first response was due .* \d\d:\d\d \S+\.\n"
                         r"The printer is on fire\nPriority normal, queue hurry, from dave@localhost\.", m[1])' \
        cat "$RIG/ann.json"
    check 'e = [x["detail"] for x in d["events"] if x["kind"] == "escalated"];
        len(e) == 1 and re.fullmatch(r"first answer was due .* \d\d:\d\d \S+\x3b told ann \(chat\)", e[0])' \
        "$CTL" "${C[@]}" show --json HUR-1
    grep -q 'escalated HUR-1: first answer was due .*; told ann (chat)' "$RIG/xmpp.log" ||
        fail "no escalation logged"
}

# The auto-reply answers the resource that wrote (RFC 6121 5.1), not every device of the
# customer: sent to the bare JID, Prosody would hand it to the laptop too.
reply_goes_to_the_writing_resource() {
    reset_state
    "$PY" "$RIG_SRC/chat.py" "$C2S_PORT" alice@localhost/laptop pw '[{"quiet": 4}]' \
        > "$RIG/laptop.json" 2>> "$RIG/chat.err" &
    local laptop=$!
    sleep 1
    "$PY" "$RIG_SRC/chat.py" "$C2S_PORT" alice@localhost/phone pw \
        "[{\"send\": {\"to\": \"$SUPPORT\", \"body\": \"Sent from my phone\"}}, {\"expect\": 1}]" \
        > "$RIG/phone.json" 2>> "$RIG/chat.err" || fail "phone: $(cat "$RIG/phone.json")"
    wait "$laptop" || fail "the laptop got a message: $(cat "$RIG/laptop.json")"
    check '"registered as SUP-1" in d["messages"][0]["body"]' cat "$RIG/phone.json"
    [ "$(sql "SELECT recipient FROM outbox WHERE kind = 'autoreply'")" = alice@localhost/phone ] ||
        fail "outbox: $(sql "SELECT kind, recipient FROM outbox")"
}

# The per-sender auto-reply limit ([limits] autoreply_limit, 5 by default) stops mail loops; a
# chat customer who has reached it (here by mails to the same address) still gets the reference
# of a new chat ticket, and chat replies are not counted.
new_chat_ticket_answered_past_mail_limit() {
    reset_state
    sql "INSERT INTO autoreply_log SELECT 'boris@localhost', strftime('%s', 'now') - 60
         FROM (SELECT 1 UNION SELECT 2 UNION SELECT 3 UNION SELECT 4 UNION SELECT 5)"
    chat boris "[{\"send\": {\"to\": \"$SUPPORT\", \"body\": \"My sixth question today\"}},
                 {\"expect\": 1}]" > "$RIG/boris.json" || fail "boris: $(cat "$RIG/boris.json")"
    check 'len(d["messages"]) == 1 and "registered as SUP-1" in d["messages"][0]["body"]' \
        cat "$RIG/boris.json"
    [ "$(sql "SELECT count(*) FROM autoreply_log WHERE address = 'boris@localhost'")" = 5 ] ||
        fail "chat reply counted: $(sql "SELECT * FROM autoreply_log")"
}

# A stanza sent again (same client, id and text: a resend after a reconnect) is one message; an
# id used again with another text is another message: clients that start their ids over at each
# login, with a fixed resource, must not have their next questions or answers dropped.
stanza_ids_used_again() {
    reset_state
    local alice=("$PY" "$RIG_SRC/chat.py" "$C2S_PORT" alice@localhost/desk pw)
    local ann=("$PY" "$RIG_SRC/chat.py" "$C2S_PORT" ann@localhost/desk pw)
    "${alice[@]}" "[{\"send\": {\"to\": \"$SUPPORT\", \"body\": \"The scanner jams\", \"id\": \"m1\"}}, {\"expect\": 1},
                    {\"send\": {\"to\": \"$SUPPORT\", \"body\": \"The scanner jams\", \"id\": \"m1\"}}, {\"quiet\": 2}]" \
        > "$RIG/alice.json" 2>> "$RIG/chat.err" || fail "alice: $(cat "$RIG/alice.json")"
    check 'len(d["messages"]) == 1 and "registered as SUP-1" in d["messages"][0]["body"]' cat "$RIG/alice.json"
    # the next login: the same id, a new question on the open ticket, and the first words again
    # to another queue: a ticket there
    "${alice[@]}" "[{\"send\": {\"to\": \"$SUPPORT\", \"body\": \"It jams on every page\", \"id\": \"m1\"}},
                    {\"send\": {\"to\": \"allday@$COMPONENT\", \"body\": \"The scanner jams\", \"id\": \"m1\"}},
                    {\"expect\": 1}, {\"quiet\": 2}]" \
        > "$RIG/alice.json" 2>> "$RIG/chat.err" || fail "alice: $(cat "$RIG/alice.json")"
    check 'len(d["messages"]) == 1 and d["messages"][0]["from"] == "allday@support.localhost"' \
        cat "$RIG/alice.json"
    # the agent: a reply sent twice goes out once; the same id in the next login is a new reply
    "${ann[@]}" "[{\"send\": {\"to\": \"$SUPPORT\", \"body\": \"reply SUP-1 Try the other tray.\", \"id\": \"a1\"}},
                  {\"until\": \"Reply to SUP-1 sent\"},
                  {\"send\": {\"to\": \"$SUPPORT\", \"body\": \"reply SUP-1 Try the other tray.\", \"id\": \"a1\"}},
                  {\"until\": \"already sent\"}]" > "$RIG/ann.json" 2>> "$RIG/chat.err" || fail "ann: $(cat "$RIG/ann.json")"
    "${ann[@]}" "[{\"send\": {\"to\": \"$SUPPORT\", \"body\": \"reply SUP-1 Does it work now?\", \"id\": \"a1\"}},
                  {\"until\": \"Reply to SUP-1 sent\"}]" > "$RIG/ann.json" 2>> "$RIG/chat.err" || fail "ann: $(cat "$RIG/ann.json")"
    check '[m["body"] for m in d["messages"] if m["direction"] != "out"] == ["The scanner jams",
        "It jams on every page", "Try the other tray.", "Does it work now?"]' "$CTL" "${C[@]}" show --json SUP-1
    # relayed to alice once each (the first line: the signature follows)
    [ "$(sql "SELECT group_concat(substr(body, 1, instr(body, char(10)) - 1), '|') FROM
              (SELECT body FROM outbox WHERE kind = 'relay' ORDER BY id)")" = \
        "Try the other tray.|Does it work now?" ] || fail "relays: $(sql "SELECT kind, body FROM outbox")"
    [ "$(sql "SELECT group_concat(queue) FROM (SELECT queue FROM tickets ORDER BY id)")" = support,allday ] ||
        fail "tickets: $(sql "SELECT ref, queue FROM tickets")"
    # an id and a thread far longer than any client's, the message sent twice: one ticket, one
    # reply; the id is kept as its digest, the thread not at all (the reply goes without it)
    "${alice[@]}" "$("$PY" -c 'import json, sys
m = {"send": {"to": sys.argv[1], "body": "The fax is silent", "id": "i" * 20000, "thread": "t" * 20000}}
print(json.dumps([m, {"until": "registered as"}, m, {"quiet": 2}]))' "night@$COMPONENT")" > "$RIG/alice.json" 2>> "$RIG/chat.err" ||
        fail "alice: $(head -c 300 "$RIG/alice.json")"
    check 'r = [m for m in d["messages"] if "registered as" in m["body"]];
        len(r) == 1 and r[0]["thread"] is None' cat "$RIG/alice.json"
    [ "$(sql "SELECT count(*) FROM messages WHERE body = 'The fax is silent' AND length(msg_id) < 200")" = 1 ] ||
        fail "kept: $(sql "SELECT count(*), max(length(msg_id)) FROM messages WHERE body = 'The fax is silent'")"
    [ "$(sql "SELECT count(*) FROM outbox WHERE thread IS NOT NULL AND length(thread) > 256")" = 0 ] ||
        fail "a long thread kept in the outbox"
}

russian_customer() {
    reset_state
    chat boris "[{\"send\": {\"to\": \"$SUPPORT\", \"body\": \"Не печатает принтер\", \"lang\": \"ru\"}},
                 {\"expect\": 1}]" > "$RIG/boris.json" || fail "client: $(cat "$RIG/boris.json")"
    check '"Ваше обращение зарегистрировано под номером SUP-1" in d["messages"][0]["body"]
        and d["messages"][0]["lang"] == "ru"' cat "$RIG/boris.json"
    check 'd[0]["lang"] == "ru"' "$CTL" "${C[@]}" list --json
}

# the language is the message's xml:lang where it names one (libstrophe hands it over as "lang"),
# except for a text mostly in Cyrillic, which is Russian whatever its tag (a message without one
# arrives with the client's stream language, "en" here); the reply is tagged with the language it
# is written in. A tag that names no language (xml:lang is any text to the server; the first
# bytes of "日本語" are no UTF-8) is ignored, and the component keeps its stream.
language_from_xml_lang() {
    reset_state
    local drops
    drops=$(grep -c 'disconnected from' "$RIG/xmpp.log")
    # each waits for its own reference: a customer answered while offline in an earlier scenario
    # gets that answer at login first
    chat boris "[{\"send\": {\"to\": \"$SUPPORT\", \"body\": \"HP LaserJet 1020\", \"lang\": \"ru-RU\"}},
                 {\"until\": \"SUP-1\"}]" > "$RIG/boris.json" || fail "boris: $(cat "$RIG/boris.json")"
    chat carol "[{\"send\": {\"to\": \"$SUPPORT\", \"body\": \"Не печатает принтер\", \"lang\": \"日本語\"}},
                 {\"until\": \"SUP-2\"}]" > "$RIG/carol.json" || fail "carol: $(cat "$RIG/carol.json")"
    chat dave "[{\"send\": {\"to\": \"$SUPPORT\", \"body\": \"Der Drucker druckt nicht\", \"lang\": \"de\"}},
                {\"until\": \"SUP-3\"}]" > "$RIG/dave.json" || fail "dave: $(cat "$RIG/dave.json")"
    chat fred "[{\"send\": {\"to\": \"$SUPPORT\", \"body\": \"Принтер HP не печатает\", \"lang\": \"en\"}},
                {\"until\": \"SUP-4\"}]" > "$RIG/fred.json" || fail "fred: $(cat "$RIG/fred.json")"
    check 'm = d["messages"][-1]; "зарегистрировано под номером SUP-1" in m["body"] and m["lang"] == "ru"' \
        cat "$RIG/boris.json"
    check 'm = d["messages"][-1]; "зарегистрировано под номером SUP-2" in m["body"] and m["lang"] == "ru"' \
        cat "$RIG/carol.json"
    check 'm = d["messages"][-1]; "registered as SUP-3" in m["body"] and m["lang"] == "en"' cat "$RIG/dave.json"
    check 'm = d["messages"][-1]; "зарегистрировано под номером SUP-4" in m["body"] and m["lang"] == "ru"' \
        cat "$RIG/fred.json"
    check '[t["lang"] for t in sorted(d, key=lambda t: t["id"])] == ["ru", "ru", "de", "ru"]' \
        "$CTL" "${C[@]}" list --json
    [ "$(grep -c 'disconnected from' "$RIG/xmpp.log")" = "$drops" ] || fail "the component lost its stream"
}

queue_addresses_and_message_types() {
    reset_state
    # the bare component address is the default queue's, a queue's local part is that queue's, an
    # unknown local part is an error; a "normal" message is answered as "normal"
    chat boris "[{\"send\": {\"to\": \"$COMPONENT\", \"type\": \"normal\", \"body\": \"Question to the service\"}},
                 {\"expect\": 1}, {\"send\": {\"to\": \"nobody@$COMPONENT\", \"body\": \"hello?\"}},
                 {\"expect\": 2}, {\"send\": {\"to\": \"night@$COMPONENT\", \"body\": \"At night\"}},
                 {\"expect\": 3}]" > "$RIG/boris.json" || fail "boris: $(cat "$RIG/boris.json")"
    check 'm = d["messages"];
        m[0]["type"] == "normal" and m[0]["from"] == "support.localhost" and "registered as SUP-1" in m[0]["body"]
        and m[1]["type"] == "error" and m[1]["error"] == "item-not-found" and m[1]["from"] == "nobody@support.localhost"
        and m[2]["type"] == "chat" and m[2]["from"] == "night@support.localhost" and "registered as" in m[2]["body"]' \
        cat "$RIG/boris.json"
    check '[(t["queue"], t["channel"], t["requester"]) for t in d] ==
        [("support", "xmpp", "boris@localhost"), ("night", "xmpp", "boris@localhost")]' "$CTL" "${C[@]}" list --json
}

agent_reply_on_email_ticket() {
    reset_state
    local drops
    drops=$(grep -c 'disconnected from' "$RIG/xmpp.log")
    # a mail whose text has characters XML cannot carry (a form feed, a ^A, U+FFFE and U+FFFF,
    # valid UTF-8 all): the agent's notification and `show` must not break the component's stream
    printf 'From: John Smith <john.smith@customer.example>\nTo: support@example.org\nSubject: Cannot log in \357\277\276\nMessage-ID: <ctl-1@customer.example>\nContent-Type: text/plain; charset=utf-8\n\nPage one\fpage two \001 end \357\277\277\n' \
        > "$RIG/control.eml"
    "$CTL" "${C[@]}" ingest "$RIG/control.eml" > /dev/null || fail ingest
    chat ann "[{\"until\": \"Page one page two\"}, {\"send\": {\"to\": \"$SUPPORT\", \"body\": \"show SUP-1\"}},
               {\"until\": \"SUP-1 [new]\"}]" > "$RIG/ann-show.json" || fail "ann: $(cat "$RIG/ann-show.json")"
    [ "$(grep -c 'disconnected from' "$RIG/xmpp.log")" = "$drops" ] || fail "the component lost its stream"
    chat ann "[{\"send\": {\"to\": \"$SUPPORT\", \"body\": \"reply SUP-1 Please reset your password.\"}},
               {\"until\": \"Reply to SUP-1 sent\"}]" > "$RIG/ann.json" || fail "ann: $(cat "$RIG/ann.json")"
    check 'r = [o for o in d["outbox"] if o["kind"] == "relay"];
        len(r) == 1 and r[0]["channel"] == "email" and "[SUP-1]" in r[0]["subject"]
        and r[0]["recipient"] == "john.smith@customer.example"
        and "Please reset your password." in r[0]["body"] and r[0]["status"] == "pending"' \
        "$CTL" "${C[@]}" show --json SUP-1
    # a reply on a closed ticket is refused and leaves nothing (it made a ticket of the agent's
    # whose auto-reply had no sender, and the component died at each attempt to send it)
    chat ann "[{\"send\": {\"to\": \"$SUPPORT\", \"body\": \"close SUP-1\"}}, {\"until\": \"now closed\"},
               {\"send\": {\"to\": \"$SUPPORT\", \"body\": \"reply SUP-1 One more thing.\"}},
               {\"until\": \"SUP-1 is closed: it takes no more answers; nothing was sent (reopen SUP-1 first to answer)\"}, {\"quiet\": 2},
               {\"send\": {\"to\": \"$SUPPORT\", \"body\": \"list\"}}, {\"until\": \"no open tickets\"}]" \
        > "$RIG/ann-closed.json" || fail "ann: $(cat "$RIG/ann-closed.json")"
    [ "$(sql "SELECT count(*) FROM tickets")" = 1 ] || fail "tickets: $(sql "SELECT ref, requester FROM tickets")"
    kill -0 "$(cat "$RIG/xmpp-pid")" || fail "the component died"
    # closed by mistake: reopened, it takes the answer
    chat ann "[{\"send\": {\"to\": \"$SUPPORT\", \"body\": \"reopen SUP-1\"}}, {\"until\": \"SUP-1 is now open\"},
               {\"send\": {\"to\": \"$SUPPORT\", \"body\": \"reply SUP-1 One more thing.\"}},
               {\"until\": \"Reply to SUP-1 sent\"}]" > "$RIG/ann-reopen.json" || fail "ann: $(cat "$RIG/ann-reopen.json")"
    check 'r = [o["body"] for o in d["outbox"] if o["kind"] == "relay"];
        d["status"] != "closed" and len(r) == 2 and "One more thing." in r[1]' "$CTL" "${C[@]}" show --json SUP-1
}

# nobodys_mail_ticket NAME FROM SUBJECT TEXT - SUP-1, a mail ticket (Message-ID <NAME@...>) that
# a supervisor took off its agent: nobody has it
nobodys_mail_ticket() {
    printf 'From: %s\nTo: support@example.org\nSubject: %s\nMessage-ID: <%s@customer.example>\n\n%s\n' \
        "$2" "$3" "$1" "$4" > "$RIG/$1.eml"
    "$CTL" "${C[@]}" ingest "$RIG/$1.eml" > /dev/null || fail ingest
    "$CTL" "${C[@]}" assign SUP-1 - > /dev/null || fail "assign SUP-1 -"
}

long_ticket_shown_by_its_ends() {
    reset_state
    # a mail ticket that nobody has (so that no agent hears of each follow-up), then 80
    # follow-ups of 300 characters: 28 KB of messages for show, too much for one chat message
    nobodys_mail_ticket long-0 'John Smith <john.smith@customer.example>' "Slow VPN" \
        "The VPN is slow since Monday."
    local i
    for i in $(seq 80); do
        printf 'From: John Smith <john.smith@customer.example>\nTo: support@example.org\nSubject: Re: [SUP-1] Slow VPN\nMessage-ID: <long-%d@customer.example>\n\nmeasurement %d: %0300d\n' \
            "$i" "$i" 0 > "$RIG/long-$i.eml"
    done
    "$CTL" "${C[@]}" ingest "$RIG"/long-{1..80}.eml > /dev/null || fail "ingest follow-ups"
    check 'len(d["messages"]) == 82' "$CTL" "${C[@]}" show --json SUP-1 # and the auto-reply
    chat ann "[{\"send\": {\"to\": \"$SUPPORT\", \"body\": \"show SUP-1\"}}, {\"until\": \"SUP-1 [new]\"}]" \
        > "$RIG/ann-show.json" || fail "ann: $(cat "$RIG/ann-show.json")"
    # the request, how many are left out (the auto-reply among them), and the latest, up to the last
    check 'import re; m = [x["body"] for x in d["messages"] if x["body"].startswith("SUP-1 [new]")][0];
        shown = re.findall(r"measurement (\d+):", m); hidden = re.search(r"messages in between not shown: (\d+)\)", m);
        "The VPN is slow since Monday." in m and hidden and len(m) < 17000
        and shown == [str(i) for i in range(81 - len(shown), 81)] and 30 < len(shown) < 80
        and int(hidden.group(1)) == 81 - len(shown) and m.endswith("0" * 200 + " [...]")' cat "$RIG/ann-show.json"
}

prosody_restart_delivers_pending_once() {
    reset_state
    chat dave "[{\"send\": {\"to\": \"$SUPPORT\", \"body\": \"first question\"}}, {\"expect\": 1}]" > /dev/null || fail dave
    # the auto-reply and ann's notice recorded as sent first (under valgrind that takes a while):
    # what is pending during the outage is then only what is made during it
    for _ in $(seq 100); do
        [ "$(sql "SELECT count(*) FROM outbox WHERE status != 'sent'")" = 0 ] && break
        sleep 0.1
    done
    rig_stop_prosody
    for _ in $(seq 50); do grep -q 'disconnected from' "$RIG/xmpp.log" && break; sleep 0.1; done
    # answers given while the server is down (from a shell; a mail relay would do the same)
    "$CTL" "${C[@]}" reply --agent ann SUP-1 "answer one" > /dev/null || fail "ctl reply"
    "$CTL" "${C[@]}" reply --agent ann SUP-1 "answer two" > /dev/null || fail "ctl reply"
    sleep 1
    [ "$(sql "SELECT count(*) FROM outbox WHERE status = 'pending' AND kind = 'relay'")" = 2 ] ||
        fail "replies not pending: $(sql "SELECT kind, status, last_error FROM outbox")"
    # what monitoring sees meanwhile: replies waiting too long, exit status 1
    sleep 2
    local rc=0
    "$CTL" "${C[@]}" status --max-wait 1s --json > "$RIG/status.json" || rc=$?
    [ "$rc" = 1 ] || fail "status during the outage: exit $rc"
    check 'd["replies"]["xmpp"]["waiting"] == 2
        and any(a.startswith("the oldest xmpp reply has waited ") for a in d["attention"])' cat "$RIG/status.json"
    local before
    before=$(grep -c 'connected to' "$RIG/xmpp.log")
    rig_start_prosody
    for _ in $(seq 150); do [ "$(grep -c 'connected to' "$RIG/xmpp.log")" -gt "$before" ] && break; sleep 0.1; done
    [ "$(grep -c 'connected to' "$RIG/xmpp.log")" -gt "$before" ] || fail "no reconnect"
    chat dave '[{"expect": 2, "timeout": 20}, {"quiet": 3}]' > "$RIG/dave.json" || fail "dave: $(cat "$RIG/dave.json")"
    check '[m["body"].split("\n")[0] for m in d["messages"]] == ["answer one", "answer two"]' cat "$RIG/dave.json"
    [ "$(sql "SELECT count(*) FROM outbox WHERE kind = 'relay' AND status = 'sent'")" = 2 ] ||
        fail "relays not marked sent: $(sql "SELECT kind, status FROM outbox")"
    check 'd["replies"]["xmpp"]["waiting"] == 0' "$CTL" "${C[@]}" status --json
}

# rows the server would close our stream over (made elsewhere: ticketgate's own text is kept
# sendable) are given up with the reason instead of being sent after every reconnect, forever;
# the stream stays up and other replies still go out
unsendable_rows_given_up() {
    reset_state
    chat dave "[{\"send\": {\"to\": \"$SUPPORT\", \"body\": \"first question\"}}, {\"expect\": 1}]" > /dev/null || fail dave
    local drops amps
    drops=$(grep -c 'disconnected from' "$RIG/xmpp.log")
    amps="replace(hex(zeroblob(35000)), '0', '&')" # 70,000 characters that are 5 bytes escaped
    sql "INSERT INTO outbox (ticket_id, channel, kind, recipient, sender, body, thread, created_at)
        VALUES (1, 'xmpp', 'relay', 'dave@localhost' || char(1), '$SUPPORT', 'bad address', NULL, 0),
               (1, 'xmpp', 'relay', 'dave@localhost', '$SUPPORT', $amps, $amps, 0)"
    "$CTL" "${C[@]}" reply --agent ann SUP-1 "answer after" > /dev/null || fail "ctl reply"
    chat dave '[{"until": "answer after", "timeout": 20}, {"quiet": 2}]' > "$RIG/dave.json" ||
        fail "dave: $(head -c 2000 "$RIG/dave.json")"
    check 'len(d["messages"]) == 1' cat "$RIG/dave.json"
    for _ in $(seq 50); do
        [ "$(sql "SELECT count(*) FROM outbox WHERE status = 'failed'")" = 2 ] && break
        sleep 0.1
    done
    [[ "$(sql "SELECT group_concat(last_error, ' | ') FROM outbox WHERE status = 'failed' ORDER BY id")" =~ \
        ^"not valid XML: the server would close the stream over it | "6[0-9]{5}" bytes: over the 524288 a server takes"$ ]] ||
        fail "rows: $(sql "SELECT id, status, attempts, last_error FROM outbox")"
    [ "$(grep -c 'disconnected from' "$RIG/xmpp.log")" = "$drops" ] || fail "the component lost its stream"
    local rc=0 # and monitoring is told
    "$CTL" "${C[@]}" status > "$RIG/status.txt" || rc=$?
    [ "$rc" = 1 ] && grep -q "xmpp .*2 given up in the last 24 h" "$RIG/status.txt" ||
        fail "status: exit $rc: $(cat "$RIG/status.txt")"
}

long_reply_is_cut() {
    reset_state
    local drops
    drops=$(grep -c 'disconnected from' "$RIG/xmpp.log")
    chat alice "[{\"send\": {\"to\": \"$SUPPORT\", \"body\": \"Please send me the whole manual\"}}, {\"expect\": 1}]" \
        > /dev/null || fail alice
    # 200 KB of answer: relayed to chat cut below the server's stanza limit, not a lost stream
    "$PY" -c 'print("Chapter one. " * 17000)' | "$CTL" "${C[@]}" reply --agent ann SUP-1 - > /dev/null ||
        fail "ctl reply"
    chat alice '[{"until": "[...]", "timeout": 20}]' > "$RIG/alice-long.json" ||
        fail "alice: $(head -c 300 "$RIG/alice-long.json")"
    check 'b = [m["body"] for m in d["messages"] if "Chapter one" in m["body"]][0];
        b.endswith(" [...]") and 60000 < len(b.encode()) <= 64 * 1024 + 6' cat "$RIG/alice-long.json"
    # the agent pastes 1 MB of log into a reply by chat: answered and relayed at once (reading the
    # command once split the whole text with GRegex, which took 50 s for 1 MB, all chat waiting)
    "$PY" -c 'print("log line\n" * 110000)' > "$RIG/paste.txt"
    chat ann "[{\"send\": {\"to\": \"$SUPPORT\", \"body\": \"reply SUP-1 \", \"body_file\": \"$RIG/paste.txt\"}},
               {\"until\": \"Reply to SUP-1 sent\", \"timeout\": 20}]" > "$RIG/ann-paste.json" ||
        fail "ann: $(head -c 300 "$RIG/ann-paste.json")"
    chat alice '[{"until": "log line", "timeout": 20}]' > "$RIG/alice-paste.json" ||
        fail "alice: $(head -c 300 "$RIG/alice-paste.json")"
    check 'b = [m["body"] for m in d["messages"] if "log line" in m["body"]][0];
        "log line\nlog line" in b and b.endswith(" [...]")' cat "$RIG/alice-paste.json"
    [ "$(grep -c 'disconnected from' "$RIG/xmpp.log")" = "$drops" ] || fail "the component lost its stream"
}

service_discovery() {
    chat alice "[{\"disco\": \"$COMPONENT\"}, {\"items\": \"$COMPONENT\"}, {\"ping\": \"$COMPONENT\"},
                 {\"version\": \"$COMPONENT\"}, {\"unknown_iq\": \"$COMPONENT\"}, {\"subscribe\": \"$SUPPORT\"},
                 {\"subscribe\": \"night@$COMPONENT\"}, {\"subscribe\": \"allday@$COMPONENT\"}]" \
        > "$RIG/disco.json" || fail "client: $(cat "$RIG/disco.json")"
    check 'i = {x["kind"]: x for x in d["iq"]};
        i["disco"]["features"] == sorted(["http://jabber.org/protocol/disco#info",
            "http://jabber.org/protocol/disco#items", "urn:xmpp:ping", "jabber:iq:version"])
        and i["disco"]["identities"][0][0] == "component"
        and i["items"]["items"] == [] and i["ping"]["ping"] == "pong"
        and i["version"]["name"] == "ticketgate-xmpp"
        and i["unknown_iq"]["error"] == "service-unavailable"' cat "$RIG/disco.json"
    # the presence of each queue follows its calendar: closed (holidays yesterday to tomorrow,
    # open from 00:00 UTC after them), round the clock, and "business" (Mon-Fri 09-18 Moscow),
    # which depends on when the test runs
    check 'p = {x["from"].split("@")[0]: x for x in d["presence"] if x["type"] != "subscribed"};
        p["night"]["show"] == "away" and p["night"]["status"].startswith("Closed now")
        and re.search(r"we answer from .* 00:00", p["night"]["status"])
        and p["night"]["status_ru"].startswith("Сейчас не работаем")
        and re.search(r"ответим с [а-я]{2}, \d+ [а-я]+ \d{4}, 00:00", p["night"]["status_ru"])
        and p["allday"]["show"] == "" and p["allday"]["status"] == "Open: write to us"
        and p["allday"]["status_ru"] == "Работаем: пишите"' cat "$RIG/disco.json"
    if [ "$(TZ=Europe/Moscow date +%u)" -le 5 ] && [ "$(TZ=Europe/Moscow date +%H)" -ge 9 ] &&
        [ "$(TZ=Europe/Moscow date +%H)" -lt 18 ]; then
        check 'p = [x for x in d["presence"] if x["from"] == "support@support.localhost" and x["type"] != "subscribed"];
            p[0]["show"] == "" and p[0]["status"] == "Open: write to us"' cat "$RIG/disco.json"
    else
        check 'p = [x for x in d["presence"] if x["from"] == "support@support.localhost" and x["type"] != "subscribed"];
            p[0]["show"] == "away" and "we answer from" in p[0]["status"] and "09:00" in p[0]["status"]' cat "$RIG/disco.json"
    fi
}

# An agent with lang = ru is answered in Russian (the commands stay English). The ticket is a
# mail with a file attached: the notice and show name it.
russian_agent() {
    reset_state
    "$CTL" "${C[@]}" ingest "$srcdir/tests/data/mail/10-invalid-utf8-rfc2231.eml" > /dev/null ||
        fail "ingest"
    chat vera "[{\"send\": {\"to\": \"$SUPPORT\", \"body\": \"list\"}}, {\"until\": \"обращений\"},
                {\"send\": {\"to\": \"$SUPPORT\", \"body\": \"show SUP-1\"}}, {\"until\": \"не вам\"},
                {\"send\": {\"to\": \"$SUPPORT\", \"body\": \"show SUP-99\"}}, {\"until\": \"SUP-99\"},
                {\"send\": {\"to\": \"$SUPPORT\", \"body\": \"dance\"}}, {\"until\": \"Команды:\"}]" \
        > "$RIG/vera.json" || fail "vera: $(cat "$RIG/vera.json")"
    check 'm = [(x["body"], x["lang"]) for x in d["messages"]];
        m[0] == ("У вас нет открытых обращений.", "ru") and m[1] == ("обращение SUP-1 назначено агенту ann, не вам", "ru")
        and m[2][0] == "обращения SUP-99 нет" and m[3][0].startswith("Команды:\n  list ")' cat "$RIG/vera.json"
    # given the ticket by a supervisor: told in Russian, lists it with a Russian due time, resolves it
    "$CTL" "${C[@]}" assign SUP-1 vera > /dev/null || fail "assign"
    chat vera "[{\"until\": \"Вам назначено обращение SUP-1\", \"timeout\": 20},
                {\"send\": {\"to\": \"$SUPPORT\", \"body\": \"list\"}}, {\"until\": \"Ваши открытые\"},
                {\"send\": {\"to\": \"$SUPPORT\", \"body\": \"show SUP-1\"}}, {\"until\": \"Broken bytes\"},
                {\"send\": {\"to\": \"$SUPPORT\", \"body\": \"resolve [sup-1]\"}}, {\"until\": \"статус\"}]" \
        > "$RIG/vera.json" || fail "vera: $(cat "$RIG/vera.json")"
    check 'm = [x["body"] for x in d["messages"]]; m = m[[i for i, x in enumerate(m) if "Вам назначено" in x][0]:];
        m[0].endswith("Broken bytes: \ufffd( and \ufffd\ufffd end.\n[вложение: лог.txt (text/plain, 31 bytes)]\n\nОтвет: reply SUP-1 <текст>")
        and m[1].startswith("Ваши открытые обращения:\nSUP-1 [new, normal] ") and " (до " in m[1] and " MSK)" in m[1]
        and "end.\n[вложение: лог.txt (text/plain, 31 bytes)]\n--- клиенту" in m[2]
        and m[3] == "у обращения SUP-1 теперь статус resolved"' cat "$RIG/vera.json"
}

# A ticket nobody has (its agent taken off it, and told so) is offered to the agents of its group
# by `unassigned`, and `list` counts it; taken, it is off that list; released, nobody has it
# again. vera's group is not its group.
agent_takes_unassigned() {
    reset_state
    nobodys_mail_ticket free-1 'Kim <kim@customer.example>' "Printer offline" "It says offline."
    chat ann "[{\"until\": \"Printer offline): it was taken off you\", \"timeout\": 20},
               {\"send\": {\"to\": \"$SUPPORT\", \"body\": \"list\"}}, {\"until\": \"unassigned lists them\"},
               {\"send\": {\"to\": \"$SUPPORT\", \"body\": \"unassigned\"}}, {\"until\": \"take REF\"},
               {\"send\": {\"to\": \"$SUPPORT\", \"body\": \"take SUP-1\"}}, {\"until\": \"now yours\"},
               {\"send\": {\"to\": \"$SUPPORT\", \"body\": \"unassigned\"}}, {\"until\": \"at work on it\"}]" \
        > "$RIG/ann-free.json" || fail "ann: $(cat "$RIG/ann-free.json")"
    check 'n = [x["body"] for x in d["messages"]];
        assert "SUP-1 is no longer yours (Printer offline): it was taken off you, and nobody has it now." in n, n;
        m = [x for x in n if not x.startswith(("New ticket SUP-1", "SUP-1 is no longer yours"))];
        m[0] == "You have no open tickets.\nTickets of your groups that nobody works on: 1 (unassigned lists them)."
        and m[1].startswith("Nobody works on these tickets of your groups (take REF to take one):\nSUP-1 [new, normal] Printer offline (due ")
        and m[2] == "SUP-1 is now yours" and m[3] == "Every ticket of your groups has an agent at work on it."' \
        cat "$RIG/ann-free.json"
    check 'd["assignee"] == "ann"' "$CTL" "${C[@]}" show --json SUP-1
    # given back, it is nobody's again: for vera too, but not of her group
    chat ann "[{\"send\": {\"to\": \"$SUPPORT\", \"body\": \"release SUP-1\"}}, {\"until\": \"nobody has it now\"}]" \
        > "$RIG/ann-release.json" || fail "ann: $(cat "$RIG/ann-release.json")"
    check 'd["messages"][-1]["body"] == "SUP-1 is no longer yours, and nobody has it now"' cat "$RIG/ann-release.json"
    check 'd["assignee"] is None and d["events"][-1]["kind"] == "unassigned"' "$CTL" "${C[@]}" show --json SUP-1
    chat vera "[{\"send\": {\"to\": \"$SUPPORT\", \"body\": \"unassigned\"}}, {\"until\": \"исполнитель\"}]" \
        > "$RIG/vera-free.json" || fail "vera: $(cat "$RIG/vera-free.json")"
    check 'd["messages"][-1]["body"] == "У всех обращений ваших групп есть исполнитель."' cat "$RIG/vera-free.json"
}

big_body_and_flood() {
    reset_state
    local rss_before rss_after
    rss_before=$(awk '/^VmRSS:/ {print $2}' "/proc/$(xmpp_pid)/status")
    "$PY" -c 'print("x" * (1024 * 1024))' > "$RIG/big.txt"
    chat erin "[{\"send\": {\"to\": \"$SUPPORT\", \"body\": \"big report \", \"body_file\": \"$RIG/big.txt\"}},
                {\"expect\": 2, \"timeout\": 30},
                {\"flood\": {\"to\": \"$SUPPORT\", \"count\": 100, \"body\": \"more\"}}, {\"sleep\": 3},
                {\"ping\": \"$COMPONENT\"}]" > "$RIG/erin.json" || fail "erin: $(head -c 2000 "$RIG/erin.json")"
    rss_after=$(awk '/^VmRSS:/ {print $2}' "/proc/$(xmpp_pid)/status")
    check 'b = [m["body"] for m in d["messages"]];
        any("registered as SUP-1" in x for x in b) and any("we kept its first 4096" in x for x in b)
        and sum("faster than we can take them" in x for x in b) == 1 and len(b) == 3
        and d["iq"][0]["ping"] == "pong"' cat "$RIG/erin.json"
    check 'len(d) == 1' "$CTL" "${C[@]}" list --json
    # 1 big + 19 of the flood within the rate limit, all on the one open conversation
    [ "$(sql "SELECT count(*) FROM messages WHERE direction = 'in'")" = 20 ] ||
        fail "messages kept: $(sql "SELECT count(*) FROM messages WHERE direction = 'in'")"
    [ "$(sql "SELECT max(length(body)) FROM messages WHERE direction = 'in'")" -le 4096 ] || fail "not cut"
    [ $((rss_after - rss_before)) -lt 20000 ] || fail "grew from $rss_before to $rss_after KB"
}

# A customer told their message was cut is told once per ticket, not at every long paste.
long_paste_told_once_per_ticket() {
    reset_state
    "$PY" -c 'print("y" * 10000)' > "$RIG/long.txt"
    local paste="{\"send\": {\"to\": \"$SUPPORT\", \"body\": \"log \", \"body_file\": \"$RIG/long.txt\"}}"
    # two pastes at once (they may share an intake batch), then one more on the same ticket
    chat boris "[$paste, $paste, {\"expect\": 2}, $paste, {\"quiet\": 2}]" > "$RIG/boris.json" ||
        fail "boris: $(head -c 2000 "$RIG/boris.json")"
    check 'b = [m["body"] for m in d["messages"]]; len(b) == 2
        and sum("registered as SUP-1" in x for x in b) == 1 and sum("we kept its first 4096" in x for x in b) == 1' \
        cat "$RIG/boris.json"
    [ "$(sql "SELECT count(*) FROM events WHERE kind = 'truncated'
        AND detail LIKE '%text cut at 4096 bytes of a 10005-byte chat message'")" = 3 ] ||
        fail "events: $(sql "SELECT detail FROM events WHERE kind = 'truncated'")"
    # after the ticket is closed, a paste opens a new ticket: told again
    "$CTL" "${C[@]}" close --agent ann SUP-1 > /dev/null || fail "close SUP-1"
    chat boris "[$paste, {\"expect\": 2}, {\"quiet\": 1}]" > "$RIG/boris.json" ||
        fail "boris: $(head -c 2000 "$RIG/boris.json")"
    check 'b = [m["body"] for m in d["messages"]]; len(b) == 2
        and any("registered as SUP-2" in x for x in b) and any("we kept its first 4096" in x for x in b)' \
        cat "$RIG/boris.json"
}

store_failure_tells_customer() {
    reset_state
    # read-only from now on, also for the component's open connection (chattr affects open files)
    chattr +i "$RIG/store/tickets.db" "$RIG/store/tickets.db-wal" || fail chattr
    local status=0
    chat carol "[{\"send\": {\"to\": \"$SUPPORT\", \"body\": \"Is anyone there?\"}}, {\"expect\": 1}]" \
        > "$RIG/carol.json" || status=$?
    chattr -i "$RIG/store/tickets.db" "$RIG/store/tickets.db-wal" # before any fail: rm needs it
    [ "$status" = 0 ] || fail "carol: $(cat "$RIG/carol.json")"
    check 'len(d["messages"]) == 1 and "could not register your request" in d["messages"][0]["body"]
        and "SUP-" not in d["messages"][0]["body"]' cat "$RIG/carol.json"
    [ "$(sql "SELECT count(*) FROM tickets") $(sql "SELECT count(*) FROM messages")" = "0 0" ] ||
        fail "half-written: $(sql "SELECT count(*) FROM tickets"), $(sql "SELECT count(*) FROM messages")"
    grep -q 'from=<carol@localhost> store error' "$RIG/xmpp.log" || fail "no store error logged"
    # writable again: the same question now makes one ticket and its reply, sent once
    chat carol "[{\"send\": {\"to\": \"$SUPPORT\", \"body\": \"Is anyone there?\"}}, {\"expect\": 1}, {\"quiet\": 2}]" \
        > "$RIG/carol.json" || fail "carol: $(cat "$RIG/carol.json")"
    check 'len(d["messages"]) == 1 and "registered as SUP-" in d["messages"][0]["body"]' cat "$RIG/carol.json"
    check 'len(d) == 1 and d[0]["requester"] == "carol@localhost"' "$CTL" "${C[@]}" list --json
    [ "$(sql "SELECT group_concat(status) FROM outbox WHERE kind = 'autoreply'")" = sent ] ||
        fail "outbox: $(sql "SELECT kind, status, last_error FROM outbox")"
}

reload_and_bad_secret() {
    reset_state
    # kate has a ticket, then leaves the configuration: the reload says what to do about it
    printf '[agent kate]\njid = kate@localhost\n' >> "$CONF"
    nobodys_mail_ticket left-1 'Kim <kim@customer.example>' "Scanner jams" "It jams."
    "$CTL" "${C[@]}" assign SUP-1 kate > /dev/null || fail "assign SUP-1 kate"
    sed -i -e '/^\[agent kate\]$/,$d' -e 's/^rate_limit = 20$/rate_limit = 21/' "$CONF"
    kill -USR1 "$(xmpp_pid)"
    for _ in $(seq 50); do grep -q 'configuration reloaded' "$RIG/xmpp.log" && break; sleep 0.1; done
    grep -q 'configuration reloaded' "$RIG/xmpp.log" || fail "no reload"
    grep -q "warning: 1 open ticket of kate, who is not in the configuration: ticketgatectl assign --from kate AGENT (or -) gives them to others" \
        "$RIG/xmpp.log" || fail "kate's ticket not said: $(grep warning "$RIG/xmpp.log")"
    # and her colleagues need no supervisor for it: it is offered to them, and ann takes it (the
    # answers are found by their text: notices of earlier scenarios may come first, from offline)
    chat ann "[{\"send\": {\"to\": \"$SUPPORT\", \"body\": \"unassigned\"}}, {\"until\": \"take REF to take one\"},
               {\"send\": {\"to\": \"$SUPPORT\", \"body\": \"resolve SUP-1\"}}, {\"until\": \"take SUP-1 first\"},
               {\"send\": {\"to\": \"$SUPPORT\", \"body\": \"take SUP-1\"}}, {\"until\": \"now yours (it was\"}]" \
        > "$RIG/ann-left.json" || fail "ann: $(cat "$RIG/ann-left.json")"
    check 'n = [x["body"] for x in d["messages"]];
        u = [b for b in n if b.startswith("Nobody works on these tickets of your groups")];
        len(u) == 1 and u[0].startswith("Nobody works on these tickets of your groups (take REF to take one):\nSUP-1 [new, normal] Scanner jams (due ")
        and u[0].endswith(") (kate\x27s: not in the configuration)")
        and "SUP-1 is assigned to kate, who is not in the configuration: take SUP-1 first" in n
        and "SUP-1 is now yours (it was kate\x27s, not in the configuration)" in n' cat "$RIG/ann-left.json"
    check 'd["assignee"] == "ann" and d["status"] == "new"' "$CTL" "${C[@]}" show --json SUP-1
    # a second component with the same name is refused (conflict) and says so
    "$top_builddir/xmpp/ticketgate-xmpp" "${C[@]}" -f > "$RIG/second.log" 2>&1 &
    local second=$!
    for _ in $(seq 50); do grep -q 'refused component' "$RIG/second.log" && break; sleep 0.1; done
    kill $second; wait $second
    grep -q 'refused component support.localhost: conflict' "$RIG/second.log" || fail "$(cat "$RIG/second.log")"
    grep -q 's3cret' "$RIG/xmpp.log" "$RIG/second.log" && fail "the secret is in a log"
    return 0
}

check_option() {
    "$top_builddir/xmpp/ticketgate-xmpp" "${C[@]}" -n | grep -q ": OK$" || fail "-n on a good file"
    grep -v '^secret_file' "$CONF" > "$RIG/nosecret.conf"
    "$top_builddir/xmpp/ticketgate-xmpp" -c "$RIG/nosecret.conf" -n 2> "$RIG/nosecret.out"
    [ $? = 78 ] || fail "-n exit status"
    grep -q '\[xmpp\] needs secret or secret_file' "$RIG/nosecret.out" || fail "$(cat "$RIG/nosecret.out")"
    # a secret file whose first line is empty: said at once, not as the server's not-authorized
    printf '\ns3cret\n' > "$RIG/blank-secret"
    sed "s|^secret_file = .*|secret_file = $RIG/blank-secret|" "$CONF" > "$RIG/blank.conf"
    "$top_builddir/xmpp/ticketgate-xmpp" -c "$RIG/blank.conf" -n 2> "$RIG/blank.out"
    [ $? = 78 ] || fail "-n exit status with a blank secret"
    grep -qx "ticketgate-xmpp: $RIG/blank.conf: \[xmpp\] secret_file: $RIG/blank-secret: its first line is empty" \
        "$RIG/blank.out" || fail "$(cat "$RIG/blank.out")"
}

runs_as_user() {
    reset_state
    rig_stop_xmpp
    # the secret stays root's (read before privileges are dropped); the store becomes nobody's
    chmod 600 "$RIG/secret"
    chown -R nobody:nogroup "$RIG/store" "$RIG/milter"
    rig_start_xmpp -u nobody:nogroup
    [ "$(awk '/^Uid:/ {print $2}' "/proc/$(xmpp_pid)/status")" = 65534 ] || fail "still root"
    chat alice "[{\"send\": {\"to\": \"$SUPPORT\", \"body\": \"as nobody\"}}, {\"expect\": 1}]" \
        > "$RIG/alice.json" || fail "alice: $(cat "$RIG/alice.json")"
    check '"registered as SUP-1" in d["messages"][0]["body"]' cat "$RIG/alice.json"
    rig_stop_xmpp
    chown -R root:root "$RIG/store" "$RIG/milter"
    rig_start_xmpp
}

# Without -f, as an init script starts it: detached (a session of its own, named by its pid
# file), one line per customer message to syslog (facility mail, like the milter), a clean stop.
detached_logs_to_syslog() {
    reset_state
    rig_stop_xmpp
    rig_start_detached 'connected to' "$top_builddir/xmpp/ticketgate-xmpp" "${C[@]}" \
        -P "$RIG/detached.pid"
    local pid
    pid=$(rig_detached_pid) || exit 1
    chat alice "[{\"send\": {\"to\": \"$SUPPORT\", \"body\": \"logged\"}}, {\"expect\": 1}]" \
        > "$RIG/alice.json" || fail "alice: $(cat "$RIG/alice.json")"
    # <22>: facility mail (2 * 8) + severity info (6)
    rig_wait_syslog "^<22>.*ticketgate-xmpp\[$pid\]: info: xmpp: from=<alice@localhost> .*ticket=SUP-1 "
    rig_stop_detached_cleanly ticketgate-xmpp "$pid"
    rig_start_xmpp
}

# README step 4 as a sysadmin does it: contrib/prosody/ticketgate.cfg.lua dropped into the conf.d
# of Debian's own prosody.cfg.lua (included after VirtualHost "localhost") of a running Prosody,
# then the snippet's commands: a reload, which alone starts no new component (Prosody 0.12), and
# `prosodyctl shell host activate`. Prosody must take the snippet's options (the component port,
# changed here) without a restart, and the component must log in with the snippet's secret for
# the snippet's domain. A Prosody of its own on two more ports, as user prosody (Debian's
# configuration does not let it run as root), in a directory that user may enter; stopped and
# removed whatever the outcome.
contrib_prosody_snippet() {
    local dir rc
    dir=$(mktemp -d /var/tmp/tg-debian-prosody-XXXXXX)
    (snippet_prosody "$dir")
    rc=$?
    stop_pid "$(cat "$dir/setpriv.pid" 2> /dev/null)" 10
    rm -rf "$dir"
    return $rc
}

# wait_port PORT - until something listens on 127.0.0.1:PORT (10 s at most)
wait_port() {
    for _ in $(seq 100); do
        (exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null && return 0
        sleep 0.1
    done
    return 1
}

# wait_log FILE TEXT - until FILE has a line with TEXT (10 s at most)
wait_log() {
    for _ in $(seq 100); do
        grep -qF "$2" "$1" 2> /dev/null && return 0
        sleep 0.1
    done
    return 1
}

snippet_prosody() {
    local dir=$1 c2s=$((COMPONENT_PORT + 1)) port=$((COMPONENT_PORT + 2))
    mkdir -p "$dir/conf.d" "$dir/data"
    sed -e "s|^pidfile = .*|pidfile = \"$dir/prosody.pid\"; data_path = \"$dir/data\"|" \
        -e "s|/var/log/prosody/|$dir/|g" -e "s|^Include \"conf.d/|Include \"$dir/conf.d/|" \
        /etc/prosody/prosody.cfg.lua > "$dir/prosody.cfg.lua"
    grep -q "^Include \"$dir/conf.d/" "$dir/prosody.cfg.lua" ||
        fail "Debian's prosody.cfg.lua has no conf.d Include"
    # loopback and this test's ports, in the server-wide section (before the first VirtualHost)
    # like Debian's own settings
    sed -i "0,/^VirtualHost /s//c2s_ports = { $c2s }; c2s_interfaces = { \"127.0.0.1\" }; s2s_ports = { }; http_ports = { }; https_ports = { }; c2s_direct_tls_ports = { }\n&/" \
        "$dir/prosody.cfg.lua"
    grep -q "^c2s_ports = { $c2s }" "$dir/prosody.cfg.lua" || fail "Debian's prosody.cfg.lua has no VirtualHost"
    chown -R prosody: "$dir"
    setpriv --reuid=prosody --regid=prosody --init-groups prosody -F --config "$dir/prosody.cfg.lua" \
        > "$dir/console.log" 2>&1 &
    echo $! > "$dir/setpriv.pid" # setpriv execs: this is Prosody
    # Prosody listens before it writes its pid file (seen once, while valgrind and ejabberd ran
    # beside it: the port was open, the pid file not yet there): wait for both
    local started=
    for _ in $(seq 600); do
        [ -s "$dir/prosody.pid" ] && (exec 3<> "/dev/tcp/127.0.0.1/$c2s") 2> /dev/null && started=1 && break
        sleep 0.1
    done
    [ -n "$started" ] || fail "Prosody did not start: $(tail -5 "$dir/prosody.log")"
    sed -e "s/5347/$port/" -e 's|change-me: the content of /etc/ticketgate/xmpp.secret|s3cret|' \
        "$srcdir/contrib/prosody/ticketgate.cfg.lua" > "$dir/conf.d/ticketgate.cfg.lua"
    chown prosody: "$dir/conf.d/ticketgate.cfg.lua"
    # the snippet's two commands (systemctl reload is prosodyctl reload's signal)
    local prosodyctl=(setpriv --reuid=prosody --regid=prosody --init-groups
        prosodyctl --config "$dir/prosody.cfg.lua")
    "${prosodyctl[@]}" reload > "$dir/reload.log" 2>&1 &&
        wait_log "$dir/prosody.log" "Reloading configuration file" ||
        fail "prosodyctl reload: $(cat "$dir/reload.log")"
    "${prosodyctl[@]}" shell host activate help.example.org > "$dir/activate.log" 2>&1 ||
        fail "prosodyctl shell host activate: $(cat "$dir/activate.log")"
    wait_port "$port" ||
        fail "no component port $port after the reload: $(tail -15 "$dir/prosody.log")"
    sed -e "s/^port = .*/port = $port/" -e "s/^domain = .*/domain = help.example.org/" \
        -e "s|^path = .*|path = $RIG/snippet.db|" "$CONF" > "$RIG/snippet.conf"
    start_daemon snippet-xmpp 'connected to\|refused component' "$top_builddir/xmpp/ticketgate-xmpp" \
        -c "$RIG/snippet.conf" -f -P "$RIG/snippet-xmpp.pid"
    stop_daemon snippet-xmpp
    grep -q "connected to 127.0.0.1:$port as help.example.org" "$RIG/snippet-xmpp.log" ||
        fail "snippet: $(tail -3 "$RIG/snippet-xmpp.log")"
}

clean_stop() {
    rig_stop_xmpp TERM
    grep -q 'stopping' "$RIG/xmpp.log" || fail "no clean stop"
    [ ! -e "$RIG/milter/xmpp.pid" ] || fail "pid file left"
    if [ -n "${XMPP_VALGRIND:-}" ]; then
        # memcheck's findings are the ==PID== lines; its notes (--PID--) are not
        grep -q '^==[0-9]*== ' "$RIG/valgrind.log" && fail "valgrind: $(head -60 "$RIG/valgrind.log")"
    fi
    return 0
}

scenario old_reply_records_forgotten
scenario first_message_and_follow_up
scenario reply_goes_to_the_writing_resource
scenario stanza_ids_used_again
scenario new_chat_ticket_answered_past_mail_limit
scenario russian_customer
scenario language_from_xml_lang
scenario queue_addresses_and_message_types
scenario agent_gets_notified_and_replies
scenario overdue_ticket_is_escalated
scenario agent_reply_on_email_ticket
scenario long_ticket_shown_by_its_ends
scenario prosody_restart_delivers_pending_once
scenario unsendable_rows_given_up
scenario long_reply_is_cut
scenario service_discovery
scenario russian_agent
scenario agent_takes_unassigned
scenario big_body_and_flood
scenario long_paste_told_once_per_ticket
scenario store_failure_tells_customer
scenario reload_and_bad_secret
scenario check_option
scenario runs_as_user
scenario detached_logs_to_syslog
scenario contrib_prosody_snippet
scenario clean_stop
rig_summary
