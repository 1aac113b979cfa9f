# mail_scenarios.sh - scenarios that every MTA must pass the same way, sourced by
# tests/milter_mail.sh (Postfix), tests/milter_debian_postfix.sh (Debian's chrooted Postfix) and
# tests/milter_sendmail.sh (Sendmail) after their rig is up.
# NULL_RETURN_PATH: how the MTA's local delivery writes an empty envelope sender.
DATA="$srcdir/tests/data/mail"
export NULL_RETURN_PATH

plain_support_mail() {
    reset_state
    send customer@example.test support@example.org --header "Subject: Printer is broken" \
        --header "Message-Id: <plain-1@example.test>" --body "It prints blank pages." || fail swaks
    wait_mail 2
    check 'len(d) == 1 and d[0]["headers"]["subject"] == ["[SUP-1] Printer is broken"]
        and d[0]["headers"]["x-ticket-id"] == ["SUP-1"] and d[0]["headers"]["x-ticket-queue"] == ["support"]
        and d[0]["headers"]["x-ticket-priority"] == ["normal"] and "x-ticket-due" in d[0]["headers"]' \
        mailbox support@example.org
    check 'len(d) == 1 and d[0]["headers"]["auto-submitted"] == ["auto-replied"]
        and d[0]["headers"]["in-reply-to"] == ["<plain-1@example.test>"]
        and d[0]["headers"]["return-path"] == [os.environ["NULL_RETURN_PATH"]]
        and d[0]["headers"]["subject"] == ["Re: [SUP-1] Printer is broken"]
        and d[0]["headers"]["x-ticket-id"] == ["SUP-1"]
        and "registered as SUP-1" in d[0]["body"]
        and re.search(r"We will answer by .*\d\d:\d\d", d[0]["body"])' \
        mailbox customer@example.test
    check 'len(d) == 1 and d[0]["ref"] == "SUP-1" and d[0]["channel"] == "email"
        and d[0]["requester"] == "customer@example.test" and d[0]["subject"] == "Printer is broken"' \
        "$CTL" "${C[@]}" list --json
    # the reply is marked sent, and its due time is the ticket's
    [ "$(sql "SELECT status FROM outbox")" = sent ] || fail "outbox row not sent"
    grep -q 'SUP-1 rule=technical decision=new reply=queued' "$RIG/milter.log" || fail "log line"
}

russian_mail() {
    reset_state
    send_file petr@customer.ru support@example.org "$DATA/03-cp1251-body-koi8-subject.eml" || fail swaks
    send_file shop@customer.example support@example.org "$DATA/02-html-only.eml" || fail swaks
    wait_mail 4
    check 'sorted(t["subject"] for t in d) == ["Вопрос по заказу", "Ошибка при оплате"]
        and all(t["lang"] == "ru" for t in d)' "$CTL" "${C[@]}" list --json
    check 'len(d) == 1 and "Пётр Иванов" in d[0]["headers"]["to"][0]
        and "Ваше обращение зарегистрировано под номером SUP-1" in d[0]["body"]
        and d[0]["headers"]["subject"] == ["Re: [SUP-1] Ошибка при оплате"]' mailbox petr@customer.ru
    check 'd["messages"][0]["body"].startswith("Здравствуйте!\nПри оплате картой выходит ошибка 0x51.")' \
        "$CTL" "${C[@]}" show --json SUP-1
}

# An agent answers by mail: recorded on the ticket and relayed to the customer.
# Mail that used to kill the milter, and so every support mail after it until the MTA gave up
# (found by tests/fuzz_mail): one with no body at all, and one with raw 8-bit bytes inside
# something like an encoded word. Both make tickets and are answered; the milter lives on.
mail_that_killed_the_milter() {
    reset_state
    send_file ivan@customer.ru support@example.org "$DATA/11-empty-body.eml" || fail swaks
    send_file anna@customer.ru support@example.org "$DATA/12-raw-bytes-in-encoded-word.eml" || fail swaks
    kill -0 "$(milter_pid)" || fail "the milter died"
    wait_mail 4
    check 'sorted((t["requester"], t["subject"]) for t in d) ==
        [("anna@customer.ru", "=?UTF=я >Ђ\"Р"), ("ivan@customer.ru", "Принтер не печатает")]' \
        "$CTL" "${C[@]}" list --json
    check 'len(d) == 1 and "зарегистрировано под номером SUP-" in d[0]["body"]' mailbox ivan@customer.ru
    check 'len(d) == 1 and "registered as SUP-" in d[0]["body"]' mailbox anna@customer.ru
}

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
    # two mails: the auto-reply and the relay (Maildir names do not keep their order)
    check 'r = [m for m in d if "Done: check your inbox." in m["body"]];
        len(d) == 2 and len(r) == 1 and "auto-submitted" not in r[0]["headers"]
        and "[SUP-1]" in r[0]["headers"]["subject"][0]
        and r[0]["headers"]["return-path"] == ["<support@example.org>"]' \
        mailbox customer@example.test
    # an answer on a closed ticket is kept on it, not relayed, and ann is told; no ticket of hers
    "$CTL" "${C[@]}" close --agent ann SUP-1 > /dev/null || fail "close"
    send ann@example.org support@example.org --header "Subject: Re: [SUP-1] Reset my password" \
        --header "Message-Id: <a-late@example.org>" --body "One more thing." || fail swaks
    wait_mail 6 # her mail to the support mailbox, and the notice to her
    sleep 2     # a relay would be here by now
    [ "$(mail_count)" = 6 ] || fail "$(mail_count) mails, not 6"
    check 'len(d) == 2' mailbox customer@example.test
    check 'n = [m for m in d if m["headers"]["subject"] == ["Not sent: SUP-1 Reset my password"]];
        len(n) == 1 and "ticket SUP-1 is closed, so your answer was not sent to customer@example.test"
            in n[0]["body"] and "ticketgatectl reopen --agent ann SUP-1" in n[0]["body"]
        and n[0]["headers"]["auto-submitted"] == ["auto-generated"]' \
        mailbox ann@example.org
    check 'len(d) == 1 and d[0]["status"] == "closed"' "$CTL" "${C[@]}" list --json
    check '"One more thing." in d["messages"][-1]["body"]
        and d["events"][-1]["kind"] == "answer-refused"' "$CTL" "${C[@]}" show --json SUP-1
    grep -q "decision=ignored reply=none .* note=agent ann answered closed SUP-1: kept on it" \
        "$RIG/milter.log" || fail "the answer on a closed ticket was not logged as ignored"
}
