#!/usr/bin/env bash
# ticketgate-milter inside Sendmail instead of Postfix: the filter line of contrib/sendmail, a
# private Sendmail on loopback (Debian's, unpacked by .ci/install-deps) and swaks. What differs
# between the MTAs is the milter protocol's edges (what Sendmail negotiates and sends, header
# changes, F=T while the filter is down) and submission through Sendmail's own sendmail(8).
set -uo pipefail
RIG_PORT=10028
. "${srcdir:-.}/tests/rig/rig.sh"

rig_init_sendmail
MILTER_WRAPPER="${WITH_HOSTNAME[*]}" rig_start_milter
rig_start_sendmail
# Sendmail's local delivery writes the empty envelope sender as its MAILER-DAEMON name ($n)
NULL_RETURN_PATH="<MAILER-DAEMON>"
. "$srcdir/tests/rig/mail_scenarios.sh"

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
    check 'len(d) == 1' mailbox customer@example.test
}

not_for_support() {
    reset_state
    send customer@example.test someone@example.org --header "Subject: hello" --body "hi" || fail swaks
    wait_mail 1
    check 'len(d) == 1 and "x-ticket-id" not in d[0]["headers"]
        and d[0]["headers"]["subject"] == ["hello"]' mailbox someone@example.org
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
scenario mail_that_killed_the_milter
scenario agent_answer
scenario not_for_support
scenario killed_milter_tempfails
rig_summary
