#!/usr/bin/env bash
# ticketgate-milter inside Sendmail instead of Postfix: the filter line of contrib/sendmail, a
# private Sendmail on loopback (Debian's, unpacked by .ci/install-deps) and swaks. What differs
# between the MTAs is the milter protocol's edges (what Sendmail negotiates and sends, header
# changes, F=T while the filter is down) and submission through Sendmail's own sendmail(8).
set -uo pipefail
RIG_PORT=10028
. "${srcdir:-.}/tests/rig/rig.sh"
DATA="$srcdir/tests/data/mail"

rig_init_sendmail
MILTER_WRAPPER="${WITH_HOSTNAME[*]}" rig_start_milter
rig_start_sendmail

plain_support_mail() {
    reset_state
    send customer@example.test support@example.org --header "Subject: Printer is broken" \
        --header "Message-Id: <plain-1@example.test>" --body "It prints blank pages." || fail swaks
    wait_mail 2
    check 'len(d) == 1 and d[0]["headers"]["subject"] == ["[SUP-1] Printer is broken"]
        and d[0]["headers"]["x-ticket-id"] == ["SUP-1"] and d[0]["headers"]["x-ticket-queue"] == ["support"]
        and d[0]["headers"]["x-ticket-priority"] == ["normal"] and "x-ticket-due" in d[0]["headers"]' \
        mailbox support
    # the null return path: Sendmail's local delivery writes it as its MAILER-DAEMON name ($n)
    check 'len(d) == 1 and d[0]["headers"]["auto-submitted"] == ["auto-replied"]
        and d[0]["headers"]["in-reply-to"] == ["<plain-1@example.test>"]
        and d[0]["headers"]["return-path"] == ["<MAILER-DAEMON>"]
        and d[0]["headers"]["subject"] == ["Re: [SUP-1] Printer is broken"]
        and "registered as SUP-1" in d[0]["body"]' \
        mailbox customer
    check 'len(d) == 1 and d[0]["ref"] == "SUP-1" and d[0]["channel"] == "email"
        and d[0]["requester"] == "customer@example.test" and d[0]["subject"] == "Printer is broken"' \
        "$CTL" "${C[@]}" list --json
    [ "$(sql "SELECT status FROM outbox")" = sent ] || fail "outbox row not sent"
    grep -q 'SUP-1 rule=technical decision=new reply=queued' "$RIG/milter.log" || fail "log line"
}

follow_up_and_same_message_twice() {
    reset_state
    send customer@example.test support@example.org --header "Subject: VPN" \
        --header "Message-Id: <twice-1@example.test>" --body "no VPN" || fail swaks
    send customer@example.test support@example.org --header "Subject: VPN" \
        --header "Message-Id: <twice-1@example.test>" --body "no VPN" || fail swaks
    send customer@example.test support@example.org --header "Subject: Re: [SUP-1] VPN" \
        --body "still no VPN" || fail swaks
    wait_mail 4
    sleep 1
    check 'len(d) == 1' "$CTL" "${C[@]}" list --json
    check '[m["direction"] for m in d["messages"]] == ["in", "out", "in"]' "$CTL" "${C[@]}" show --json SUP-1
    check 'len(d) == 1' mailbox customer
}

# 8-bit and encoded headers as Sendmail hands them to the milter: a windows-1251 body under a
# KOI8-R subject, answered in Russian.
russian_mail() {
    reset_state
    send_file petr@customer.ru support@example.org "$DATA/03-cp1251-body-koi8-subject.eml" || fail swaks
    wait_mail 2
    check 'len(d) == 1 and d[0]["subject"] == "Ошибка при оплате" and d[0]["lang"] == "ru"' \
        "$CTL" "${C[@]}" list --json
    check 'len(d) == 1 and "Ваше обращение зарегистрировано под номером SUP-1" in d[0]["body"]
        and d[0]["headers"]["subject"] == ["Re: [SUP-1] Ошибка при оплате"]' mailbox petr
    check 'd["messages"][0]["body"].startswith("Здравствуйте!\nПри оплате картой выходит ошибка 0x51.")' \
        "$CTL" "${C[@]}" show --json SUP-1
}

# An agent answers by mail: recorded on the ticket and relayed to the customer through Sendmail.
agent_answer() {
    reset_state
    send customer@example.test support@example.org --header "Subject: Reset my password" \
        --header "Message-Id: <a-1@example.test>" --body "please" || fail swaks
    wait_mail 2
    send ann@example.org support@example.org --header "Subject: Re: [SUP-1] Reset my password" \
        --body "Done: check your inbox." || fail swaks
    wait_mail 4 # the agent's mail to the support mailbox, and the relay to the customer
    check 'len(d) == 1 and d[0]["status"] == "pending" and d[0]["first_response_at"]
        and d[0]["assignee"] == "ann"' "$CTL" "${C[@]}" list --json
    check 'r = [m for m in d if "Done: check your inbox." in m["body"]];
        len(d) == 2 and len(r) == 1 and "auto-submitted" not in r[0]["headers"]
        and "[SUP-1]" in r[0]["headers"]["subject"][0]
        and r[0]["headers"]["return-path"] == ["<support@example.org>"]' mailbox customer
}

not_for_support() {
    reset_state
    send customer@example.test someone@example.org --header "Subject: hello" --body "hi" || fail swaks
    wait_mail 1
    check 'len(d) == 1 and "x-ticket-id" not in d[0]["headers"]
        and d[0]["headers"]["subject"] == ["hello"]' mailbox someone
    [ "$(sql "SELECT count(*) FROM tickets") $(sql "SELECT count(*) FROM events")" = "0 0" ] ||
        fail "a trace in the store"
}

# F=T: while the filter is down Sendmail refuses with a temporary error; the client's retry
# after the restart makes one ticket.
killed_milter_tempfails() {
    reset_state
    rig_stop_milter KILL
    send customer@example.test support@example.org --header "Subject: while down" \
        --header "Message-Id: <down-1@example.test>" --body "keep me"
    grep -q '^<\*\* *4[0-9][0-9]' "$RIG/swaks.log" || fail "no 4xx: $(tail -5 "$RIG/swaks.log")"
    [ "$(mail_count)" = 0 ] || fail "delivered without the filter"
    MILTER_WRAPPER="${WITH_HOSTNAME[*]}" rig_start_milter
    send customer@example.test support@example.org --header "Subject: while down" \
        --header "Message-Id: <down-1@example.test>" --body "keep me" || fail "retry refused"
    wait_mail 2
    check 'len(d) == 1 and d[0]["subject"] == "while down"' "$CTL" "${C[@]}" list --json
}

scenario plain_support_mail
scenario follow_up_and_same_message_twice
scenario russian_mail
scenario agent_answer
scenario not_for_support
scenario killed_milter_tempfails
rig_summary
