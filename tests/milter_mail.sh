#!/usr/bin/env bash
# ticketgate-milter inside a real Postfix: what a customer, an agent and the support mailbox see.
set -uo pipefail
RIG_PORT=10025
. "${srcdir:-.}/tests/rig/rig.sh"

rig_init
# escalation: a queue whose first answer is due 3 s after the question, one whose resolution
# is; ann has no chat
rig_config "[queue hurry]
addresses = hurry@example.org
group = l1
sla = blink
[sla blink]
calendar = 24x7
default = 3s
[queue fix]
addresses = fix@example.org
group = l1
sla = mend
[sla mend]
calendar = 24x7
default = - 3s"
sed -i '/^\[general\]/a escalate_every = 1s' "$CONF"
rig_enable_sasl ann s3cret-ann
rig_start_postfix
rig_start_milter
NULL_RETURN_PATH="<>"
. "$srcdir/tests/rig/mail_scenarios.sh"

machine_mail() {
    reset_state
    send_file kate@customer.example support@example.org "$DATA/05-outlook-out-of-office.eml" || fail
    send_file announce@lists.vendor.example support@example.org "$DATA/06-mailing-list.eml" || fail
    send_file '' support@example.org "$DATA/07-dsn-bounce.eml" || fail
    wait_mail 3
    sleep 2 # a reply would have gone out by now (the mailer polls every second)
    [ "$(mail_count)" = 3 ] || fail "an auto-reply went to a machine: $(mail_count) mails"
    check 'len(d) == 3' "$CTL" "${C[@]}" list --json
    [ "$(sql "SELECT count(*) FROM outbox")" = 0 ] || fail "outbox rows for machine mail"
    [ "$(sql "SELECT count(*) FROM events WHERE kind = 'no-auto-reply'")" = 3 ] || fail "no events"
}

followups() {
    reset_state
    send customer@example.test support@example.org --header "Subject: VPN down" \
        --header "Message-Id: <f-1@example.test>" --body "first" || fail swaks
    wait_mail 2
    send customer@example.test support@example.org --header "Subject: Re: [SUP-1] VPN down" \
        --header "Message-Id: <f-2@example.test>" --body "more details" || fail swaks
    send stranger@example.test support@example.org --header "Subject: Re: [SUP-1] VPN down" \
        --header "Message-Id: <f-3@example.test>" --body "me too" || fail swaks
    wait_mail 5 # 3 delivered copies + 2 auto-replies (first mail, stranger's new ticket)
    check 'len(d["messages"]) == 3 and d["messages"][2]["body"].strip() == "more details"
        and d["requester"] == "customer@example.test"' "$CTL" "${C[@]}" show --json SUP-1
    check 'd["requester"] == "stranger@example.test"
        and any(e["kind"] == "reference-refused" for e in d["events"])' \
        "$CTL" "${C[@]}" show --json SUP-2
    check 'sorted(m["headers"]["x-ticket-id"][0] for m in d) == ["SUP-1", "SUP-1", "SUP-2"]
        and sum(m["headers"]["subject"][0].count("[SUP-") for m in d) == 4' \
        mailbox support@example.org
}

same_message_twice() {
    reset_state
    for _ in 1 2; do
        send customer@example.test support@example.org --header "Subject: Twice" \
            --header "Message-Id: <twice@example.test>" --body "same" || fail swaks
    done
    wait_mail 3
    sleep 2
    check 'len(d) == 1' "$CTL" "${C[@]}" list --json
    check 'len(d) == 1' mailbox customer@example.test
    check 'len(d) == 2 and all(m["headers"]["subject"] == ["[SUP-1] Twice"] for m in d)' \
        mailbox support@example.org
}

# mail to the addresses of two queues at once: one ticket, in the queue of the first recipient
# the MTA names; both mailboxes get the mail with the ticket's headers, the customer one reply
two_support_addresses() {
    reset_state
    send customer@example.test sales@example.org,support@example.org \
        --header "Subject: A quote, and a fault" --header "Message-Id: <two-1@example.test>" \
        --body "Both, please." || fail swaks
    wait_mail 3
    sleep 1
    check 'len(d) == 1 and d[0]["queue"] == "sales"' "$CTL" "${C[@]}" list --json
    for to in sales@example.org support@example.org; do
        check 'len(d) == 1 and d[0]["headers"]["x-ticket-id"] == ["SAL-1"]
            and d[0]["headers"]["x-ticket-queue"] == ["sales"]' mailbox "$to"
    done
    check 'len(d) == 1 and "registered as SAL-1" in d[0]["body"]' mailbox customer@example.test
    [ "$(mail_count)" = 3 ] || fail "expected 3 mails, have $(mail_count)"
}

not_for_support() {
    reset_state
    send customer@example.test someone@example.org --header "Subject: Hello" \
        --header "X-Ticket-ID: SUP-99" --body "not a ticket" || fail swaks
    wait_mail 1
    check 'len(d) == 1 and d[0]["headers"]["subject"] == ["Hello"]
        and d[0]["headers"]["x-ticket-id"] == ["SUP-99"]' mailbox someone@example.org
    [ "$(sql "SELECT (SELECT count(*) FROM tickets) + (SELECT count(*) FROM events)")" = 0 ] ||
        fail "a trace in the store"
}

forged_headers_replaced() {
    reset_state
    send customer@example.test 'Support+billing@Example.ORG' --header "Subject: Invoice" \
        --header "X-Ticket-Priority: urgent" --header "X-Ticket-ID: SUP-42" --body "x" || fail swaks
    wait_mail 2
    check 'len(d) == 1 and d[0]["headers"]["x-ticket-priority"] == ["normal"]
        and d[0]["headers"]["x-ticket-id"] == ["SUP-1"]' mailbox support+billing@example.org
}

agent_by_smtp_login() {
    reset_state
    send customer@example.test support@example.org --header "Subject: Invoice is wrong" \
        --header "Message-Id: <l-1@example.test>" --body "twice the amount" || fail swaks
    wait_mail 2
    # Ann writes from her home address, but logged in to SMTP as ann (Postfix passes
    # {auth_authen} = ann@rig.localdomain, listed as her login in the rig's configuration)
    send ann.home@customer.example support@example.org --auth PLAIN --auth-user ann \
        --auth-password s3cret-ann --header "Subject: Re: [SUP-1] Invoice is wrong" \
        --body "Corrected, sorry." || fail "swaks with AUTH: $(tail -5 "$RIG/swaks.log")"
    wait_mail 4
    check 'len(d) == 1 and d[0]["status"] == "pending" and d[0]["first_response_at"]' \
        "$CTL" "${C[@]}" list --json
    check 'r = [m for m in d if "Corrected, sorry." in m["body"]];
        len(d) == 2 and len(r) == 1 and "[SUP-1]" in r[0]["headers"]["subject"][0]' \
        mailbox customer@example.test
    # the same mail without the login is a stranger's: a new ticket, SUP-1 untouched
    send ann.home@customer.example support@example.org \
        --header "Subject: Re: [SUP-1] Invoice is wrong" --body "Corrected again." || fail swaks
    wait_mail 6
    check 'len(d) == 2 and [t["status"] for t in d] == ["pending", "new"]' "$CTL" "${C[@]}" list --json
}

own_reply_never_a_ticket() {
    reset_state
    # A requester whose address is another queue's: no auto-reply goes to it, but an agent's
    # answer is relayed, and passes the milter again (non_smtpd_milters) to a support address.
    send sales@example.org support@example.org --header "Subject: From sales" --body "x" || fail
    wait_mail 1
    send ann@example.org support@example.org --header "Subject: Re: [SUP-1] From sales" \
        --body "answer" || fail
    wait_mail 3
    sleep 2
    check 'len(d) == 1' "$CTL" "${C[@]}" list --json
    [ "$(mail_count)" = 3 ] || fail "mail loop: $(mail_count) mails"
    grep -q 'decision=duplicate reply=none elapsed=[0-9.]*ms note=our own message' "$RIG/milter.log" ||
        fail "our relay was not recognized"
}

reload_keeps_old_on_error() {
    reset_state
    cp "$CONF" "$RIG/good.conf"
    echo "[queue broken" >> "$CONF"
    kill -USR1 "$(milter_pid)"
    for _ in $(seq 50); do grep -q 'reload failed' "$RIG/milter.log" && break; sleep 0.1; done
    grep -q "reload failed, keeping the running configuration: $CONF:" "$RIG/milter.log" ||
        fail "bad reload not reported"
    send customer@example.test support@example.org --header "Subject: still works" --body x || fail
    wait_mail 2
    # a good reload takes effect: new mail to sales is now a sales ticket with prefix HR
    sed 's/^\[queue sales\]$/[queue sales]\nprefix = HR/' "$RIG/good.conf" > "$CONF"
    kill -USR1 "$(milter_pid)"
    for _ in $(seq 50); do grep -q 'configuration reloaded' "$RIG/milter.log" && break; sleep 0.1; done
    send customer@example.test sales@example.org --header "Subject: price" --body x || fail
    wait_mail 4
    check 'sorted(t["ref"] for t in d) == ["HR-2", "SUP-1"]' "$CTL" "${C[@]}" list --json
    cp "$RIG/good.conf" "$CONF"
}

# A file attached to a mail is named on its ticket, for agents who read the ticket in
# ticketgatectl or their chat client rather than the mail.
attachment_named() {
    reset_state
    head -c 5000 /dev/urandom > "$RIG/screen.png"
    send customer@example.test support@example.org --header "Subject: Error on screen" \
        --body "See the screenshot." --attach-type image/png --attach-name screen.png \
        --attach @"$RIG/screen.png" || fail swaks
    wait_mail 2
    check 'm = d["messages"][0]; m["body"] == "See the screenshot."
        and m["attachments"] == ["screen.png (image/png, 5.0 kB)"]' "$CTL" "${C[@]}" show --json SUP-1
    "$CTL" "${C[@]}" show SUP-1 | grep -qx '\[attached: screen.png (image/png, 5.0 kB)\]' ||
        fail "show: $("$CTL" "${C[@]}" show SUP-1)"
}

# An agent's files go to the customer with the answer, the same bytes.
agent_answer_with_files() {
    reset_state
    send customer@example.test support@example.org --header "Subject: Need the manual" \
        --body "Where is it?" || fail swaks
    wait_mail 2
    head -c 20000 /dev/urandom > "$RIG/manual.pdf"
    send ann@example.org support@example.org --header "Subject: Re: [SUP-1] Need the manual" \
        --body "Here it is." --attach-type application/pdf --attach-name manual.pdf \
        --attach @"$RIG/manual.pdf" || fail swaks
    wait_mail 4
    local sum
    sum=$(sha256sum < "$RIG/manual.pdf" | cut -d' ' -f1)
    check 'r = [m for m in d if "Here it is." in m["body"]]; len(r) == 1
        and r[0]["attachments"] == [{"name": "manual.pdf", "type": "application/pdf", "size": 20000,
                                     "sha256": "'"$sum"'"}]
        and "[SUP-1]" in r[0]["headers"]["subject"][0]' mailbox customer@example.test
    check '[m["attachments"] for m in d["messages"]] ==
        [[], [], ["manual.pdf (application/pdf, 20.0 kB)"], ["manual.pdf (application/pdf, 20.0 kB)"]]
        and [m["direction"] for m in d["messages"]] == ["in", "out", "agent", "out"]' \
        "$CTL" "${C[@]}" show --json SUP-1
    # marked sent once sendmail(1) has exited, which can be just after the delivery
    for _ in $(seq 50); do
        [ "$(sql "SELECT count(*) FROM outbox WHERE attachments_mime IS NOT NULL")" = 0 ] && return 0
        sleep 0.1
    done
    fail "the files are kept after sending"
}

big_mail() {
    reset_state
    # ~600 KB, over the rig's read_limit of 256K: the ticket keeps the start, the copy is whole
    { printf 'From: customer@example.test\nTo: support@example.org\nSubject: huge log\n'
      printf 'Message-Id: <big-1@example.test>\n\nThe log follows.\n'
      for i in $(seq 20000); do echo "line $i of the log, padded to look like a real one"; done
    } > "$RIG/big.eml"
    send_file customer@example.test support@example.org "$RIG/big.eml" || fail swaks
    wait_mail 2
    check 'e = [x["detail"] for x in d["events"] if x["kind"] == "truncated"];
        any("only the first part was read, the rest was counted" in x for x in e)
        and d["messages"][0]["body"].startswith("The log follows.")' "$CTL" "${C[@]}" show --json SUP-1
    check 'len(d) == 1 and "line 20000 of the log" in d[0]["body"]' mailbox support@example.org
}

# deeply_nested_mail - multiparts nested 40,000 deep; the read limit keeps ~5,000 levels and
# GMime parses 1024 of them, on a connection thread with its small stack (CONNECTION_STACK in
# milter/main.c; 96 KiB crashed here, 160 KiB did not): ticketed, delivered, and the milter
# answers the next mail.
deeply_nested_mail() {
    reset_state
    "$PY" -c '
import sys
n = 40000
sys.stdout.write("From: customer@example.test\nTo: support@example.org\nSubject: nested\n"
                 "Message-Id: <nested-1@example.test>\nMIME-Version: 1.0\n")
for i in range(n):
    sys.stdout.write("Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n" % (i, i))
sys.stdout.write("Content-Type: text/plain\n\nat the bottom\n")
for i in reversed(range(n)):
    sys.stdout.write("--b%d--\n" % i)' > "$RIG/nested.eml"
    send_file customer@example.test support@example.org "$RIG/nested.eml" || fail swaks
    send customer@example.test support@example.org --header "Subject: after" --body x || fail
    check 'sorted(t["subject"] for t in d) == ["after", "nested"]' "$CTL" "${C[@]}" list --json
    kill -0 "$(milter_pid)" || fail "the milter died"
    # the delivered copy is tagged and whole (Python's mail parser would not go this deep)
    local copy=
    for _ in $(seq 100); do
        copy=$(grep -l '^Subject: \[SUP-1\] nested$' "$MAILDIR"/new/* 2> /dev/null) && break
        sleep 0.1
    done
    [ -n "$copy" ] || fail "no tagged copy delivered"
    grep -q '^--b39999--$' "$copy" || fail "the delivered copy is cut"
}

# notice_escalated_once QUEUE SUBJECT REF NOTICE-SUBJECT EVENT WHAT BODY-CHECK - a mail to
# QUEUE@example.org makes ticket REF, which then misses an SLA target: ann, who has no chat,
# gets exactly one automatic notice about REF by mail from the queue's address, with
# NOTICE-SUBJECT and BODY-CHECK (an expression on d[0]); the ticket gets exactly one
# escalation event, EVENT "WHAT was due ...; told ann (mail)", and the log says so.
notice_escalated_once() {
    local queue=$1 subject=$2 ref=$3 notice_subject=$4 event=$5 what=$6 body_check=$7
    send customer@example.test "$queue@example.org" --header "Subject: $subject" \
        --header "Message-Id: <$ref@example.test>" --body "All of it." || fail swaks
    wait_mail 3 30 # the tagged copy, the auto-reply, the notice to ann
    sleep 3        # escalate_every = 1s: a second notice would be here by now
    QUEUE=$queue REF=$ref NOTICE_SUBJECT=$notice_subject check \
        'len(d) == 1 and d[0]["headers"]["subject"] == [os.environ["NOTICE_SUBJECT"]]
        and d[0]["headers"]["auto-submitted"] == ["auto-generated"]
        and d[0]["headers"]["return-path"] == [os.environ["NULL_RETURN_PATH"]]
        and os.environ["QUEUE"] + "@example.org" in d[0]["headers"]["from"][0]
        and d[0]["headers"]["x-ticket-id"] == [os.environ["REF"]]
        and '"$body_check" mailbox ann@example.org
    [ "$(mail_count)" = 3 ] || fail "$(mail_count) mails, not 3"
    check 'len(d) == 1' "$CTL" "${C[@]}" list --json # the notice made no ticket
    EVENT=$event WHAT=$what check \
        'e = [(x["kind"], x["detail"]) for x in d["events"] if x["kind"].startswith("escalated")];
        len(e) == 1 and e[0][0] == os.environ["EVENT"] and re.fullmatch(os.environ["WHAT"]
            + r" was due .* \d\d:\d\d \S+\x3b told ann \(mail\)", e[0][1])' \
        "$CTL" "${C[@]}" show --json "$ref"
    grep -q "escalated $ref: $what was due .*; told ann (mail)" "$RIG/milter.log" ||
        fail "no escalation logged"
}

# An overdue ticket is escalated once, by mail since its agent has no chat: an automatic
# notice from the queue's address that a reply to cannot reach the customer (no tag).
overdue_ticket_escalated_by_mail() {
    reset_state
    notice_escalated_once hurry "Server down" HUR-1 "Overdue: HUR-1 Server down" escalated \
        "first answer" 'd[0]["body"].startswith("Hello Ann Agent,\n\nticket HUR-1 has no answer yet")
        and "ticketgatectl reply --agent ann HUR-1" in d[0]["body"]'

    # ann answers the notice anyway: delivered to the support mailbox as it is, no ticket of
    # hers, no auto-reply to her, nothing relayed to the customer
    local notice
    notice=$(mailbox ann@example.org | "$PY" -c 'import json, sys; print(json.load(sys.stdin)[0]["headers"]["message-id"][0])')
    send ann@example.org hurry@example.org --header "Subject: Re: Overdue: HUR-1 Server down" \
        --header "In-Reply-To: $notice" --header "Message-Id: <ann-answer@example.org>" \
        --body "On it." || fail swaks
    wait_mail 4 30
    sleep 3 # an auto-reply or a relayed answer would be here by now
    [ "$(mail_count)" = 4 ] || fail "$(mail_count) mails, not 4"
    check 'm = [x for x in d if x["headers"]["message-id"] == ["<ann-answer@example.org>"]];
        len(m) == 1 and m[0]["headers"]["subject"] == ["Re: Overdue: HUR-1 Server down"]
        and "x-ticket-id" not in m[0]["headers"]' mailbox hurry@example.org
    check 'len(d) == 1 and d[0]["ref"] == "HUR-1" and d[0]["status"] == "new"' \
        "$CTL" "${C[@]}" list --json
    grep -q "decision=ignored reply=none .* note=agent ann answered notice ${notice//[<>]/}: not a ticket" \
        "$RIG/milter.log" || fail "the answer to the notice was not logged as ignored"
}

# A ticket not resolved by its resolution due time is escalated too (here it has no first
# response target, so that is all that happens).
overdue_resolution_escalated() {
    reset_state
    notice_escalated_once fix "Broken link" FIX-1 "Not resolved in time: FIX-1 Broken link" \
        escalated-resolution resolution \
        '"ticket FIX-1 is not resolved yet\x3b the resolution was due " in d[0]["body"]'
}

# Tickets that fall due together are listed in one notice per agent, not one mail per ticket:
# two tickets taken in (ticketgatectl ingest) while no daemon runs are both overdue when the
# milter starts, and its first escalation round finds them together.
overdue_tickets_listed_in_one_mail() {
    reset_state
    rig_stop_milter TERM
    local n
    for n in 1 2; do
        printf 'From: customer@example.test\nTo: hurry@example.org\nSubject: Outage %s\nMessage-Id: <list-%s@example.test>\n\nAll of it.\n' \
            "$n" "$n" > "$RIG/list-$n.eml"
    done
    "$CTL" "${C[@]}" ingest "$RIG/list-1.eml" "$RIG/list-2.eml" > /dev/null || fail ingest
    sleep 4 # the SLA is 3 s
    rig_start_milter
    wait_mail 3 30 # the two auto-replies, one notice to ann
    sleep 3        # escalate_every = 1s: a second notice would be here by now
    check 'len(d) == 1 and d[0]["headers"]["subject"] == ["Overdue: 2 tickets"]
        and "x-ticket-id" not in d[0]["headers"]
        and d[0]["headers"]["auto-submitted"] == ["auto-generated"]
        and d[0]["headers"]["return-path"] == [os.environ["NULL_RETURN_PATH"]]
        and re.search(r"^HUR-1 \| .* \| \w+ \| Outage 1\nHUR-2 \| .* \| \w+ \| Outage 2$",
            d[0]["body"], re.M)
        and "ticketgatectl reply --agent ann REF" in d[0]["body"]' mailbox ann@example.org
    [ "$(mail_count)" = 3 ] || fail "$(mail_count) mails, not 3"
    for n in 1 2; do
        check 'e = [x["detail"] for x in d["events"] if x["kind"] == "escalated"];
            len(e) == 1 and e[0].endswith("told ann (mail)")' "$CTL" "${C[@]}" show --json "HUR-$n"
    done
}

scenario plain_support_mail
scenario russian_mail
scenario mail_that_killed_the_milter
scenario machine_mail
scenario followups
scenario same_message_twice
scenario two_support_addresses
scenario not_for_support
scenario forged_headers_replaced
scenario agent_answer
scenario agent_by_smtp_login
scenario own_reply_never_a_ticket
scenario reload_keeps_old_on_error
scenario attachment_named
scenario agent_answer_with_files
scenario big_mail
scenario deeply_nested_mail
scenario overdue_ticket_escalated_by_mail
scenario overdue_tickets_listed_in_one_mail
scenario overdue_resolution_escalated
rig_summary
