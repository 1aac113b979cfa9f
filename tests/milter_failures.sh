#!/usr/bin/env bash
# ticketgate-milter when things go wrong: a store that cannot be written (read-only, locked, its
# disk full), a killed milter, a mailer command that fails, replies left behind by a crash.
# Nothing may be lost or doubled.
set -uo pipefail
RIG_PORT=10026
. "${srcdir:-.}/tests/rig/rig.sh"

rig_init
rig_start_postfix
rig_start_milter

# expect_451 - the last swaks transaction was refused with a temporary error at end of data.
expect_451() {
    tail -20 "$RIG/swaks.log" | grep -q "^<\*\* *$1" || fail "no $1 at the SMTP client: $(tail -5 "$RIG/swaks.log")"
}

# retry_taken_once MESSAGE-ID - the client sends the refused mail "during" again: it becomes a
# ticket beside "before", once, and both are answered.
retry_taken_once() {
    send customer@example.test support@example.org --header "Subject: during" \
        --header "Message-Id: <$1>" --body "keep me" || fail "retry refused"
    wait_mail 4
    sleep 1
    check 'sorted(t["subject"] for t in d) == ["before", "during"]' "$CTL" "${C[@]}" list --json
    [ "$(mail_count)" = 4 ] || fail "expected 4 mails, have $(mail_count)"
}

store_read_only() {
    reset_state
    send customer@example.test support@example.org --header "Subject: before" --body x || fail
    wait_mail 2
    # read-only from now on, even for connections already open (chattr affects open files)
    chattr +i "$RIG/store/tickets.db" "$RIG/store/tickets.db-wal" || fail chattr
    send customer@example.test support@example.org --header "Subject: during" \
        --header "Message-Id: <ro-1@example.test>" --body "keep me"
    chattr -i "$RIG/store/tickets.db" "$RIG/store/tickets.db-wal"
    expect_451 '451 4.3.0 Ticket store temporarily unavailable'
    grep -q 'store error, tempfail' "$RIG/milter.log" || fail "no log line"
    [ "$(sql "SELECT count(*) FROM tickets")" = 1 ] || fail "a ticket from the refused mail"
    [ "$(mail_count)" = 2 ] || fail "the refused mail was delivered"
    # the client retries the same message once the store is writable
    retry_taken_once ro-1@example.test
}

store_locked() {
    reset_state
    # another writer holds the store longer than busy_timeout (2 s)
    sqlite3 "$RIG/store/tickets.db" "BEGIN IMMEDIATE; SELECT 1; SELECT count(*) FROM tickets;" \
        ".system sleep 4" "COMMIT;" > /dev/null &
    local locker=$!
    sleep 0.5
    send customer@example.test support@example.org --header "Subject: locked" \
        --header "Message-Id: <lock-1@example.test>" --body x
    expect_451 '451 4.3.0'
    wait $locker
    send customer@example.test support@example.org --header "Subject: locked" \
        --header "Message-Id: <lock-1@example.test>" --body x || fail "retry refused"
    wait_mail 2
    check 'len(d) == 1 and d[0]["subject"] == "locked"' "$CTL" "${C[@]}" list --json
}

# store_disk_full - the store's file system fills up: the mail is refused with a 451, and taken
# once space is back (the same milter, no restart). The store moves to a 4 MB tmpfs for it.
store_disk_full() {
    reset_state
    local full="$RIG/full"
    mkdir -p "$full" && mount -t tmpfs -o size=4m tmpfs "$full" || fail "mount a tmpfs on $full"
    # whatever happens, the next scenario finds the store where it was and the milter running
    trap "rig_stop_milter; sed -i 's|^path = $full/|path = $RIG/store/|' '$CONF'; umount '$full'; rig_start_milter" EXIT
    rig_stop_milter
    sed -i "s|^path = $RIG/store/|path = $full/|" "$CONF"
    rig_start_milter
    send customer@example.test support@example.org --header "Subject: before" --body x || fail
    wait_mail 2
    dd if=/dev/zero of="$full/filler" bs=64k 2> /dev/null # until the file system is full
    [ "$(df --output=avail "$full" | tail -1 | tr -d " ")" = 0 ] || fail "$full is not full: $(df "$full")"
    send customer@example.test support@example.org --header "Subject: during" \
        --header "Message-Id: <full-1@example.test>" --body "keep me"
    expect_451 '451 4.3.0 Ticket store temporarily unavailable'
    # the log says why, for the sysadmin
    grep -q 'store error, tempfail: .*database or disk is full' "$RIG/milter.log" ||
        fail "no log line: $(grep error "$RIG/milter.log")"
    check 'sorted(t["subject"] for t in d) == ["before"]' "$CTL" "${C[@]}" list --json
    [ "$(mail_count)" = 2 ] || fail "the refused mail was delivered"
    # room again: the client's retry makes the ticket, once
    rm "$full/filler"
    retry_taken_once full-1@example.test
}

sendmail_submission_queued() {
    reset_state
    # Local submission (sendmail(1), non_smtpd_milters): the mail waits in Postfix's queue
    # while the store is read-only and is delivered once after a flush.
    chattr +i "$RIG/store/tickets.db" "$RIG/store/tickets.db-wal" || fail chattr
    printf 'From: local@example.test\nTo: support@example.org\nSubject: queued\nMessage-Id: <q-1@example.test>\n\nbody\n' |
        /usr/sbin/sendmail -C "$RIG/postfix-conf" -f local@example.test support@example.org
    sleep 2
    [ "$(mail_count)" = 0 ] || fail "delivered while the store was read-only"
    chattr -i "$RIG/store/tickets.db" "$RIG/store/tickets.db-wal"
    /usr/sbin/postqueue -c "$RIG/postfix-conf" -f
    /usr/sbin/postfix -c "$RIG/postfix-conf" flush 2> /dev/null
    wait_mail 2 90
    check 'len(d) == 1 and d[0]["subject"] == "queued"' "$CTL" "${C[@]}" list --json
    check 'len(d) == 1 and d[0]["headers"]["x-ticket-id"] == ["SUP-1"]' mailbox support@example.org
}

kill_9() {
    reset_state
    rig_stop_milter KILL
    send customer@example.test support@example.org --header "Subject: while down" \
        --header "Message-Id: <k-1@example.test>" --body x
    expect_451 '4[0-9][0-9] 4\.'
    [ "$(sql "SELECT count(*) FROM tickets")" = 0 ] || fail "ticket without milter"
    [ -S "$RIG/milter/milter.sock" ] || fail "test expects the dead milter's socket left behind"
    rig_start_milter
    grep -q 'removed stale socket' "$RIG/milter.log" || fail "stale socket not reported"
    send customer@example.test support@example.org --header "Subject: while down" \
        --header "Message-Id: <k-1@example.test>" --body x || fail "after restart"
    wait_mail 2
    check 'len(d) == 1' "$CTL" "${C[@]}" list --json
}

live_socket_kept() {
    # a second milter on the same socket must refuse, not steal it
    if "$MILTER" "${C[@]}" -f > "$RIG/second.log" 2>&1; then
        fail "second milter started"
    fi
    grep -q 'another milter is listening there' "$RIG/second.log" || fail "$(cat "$RIG/second.log")"
    kill -0 "$(milter_pid)" || fail "first milter gone"
}

replies_left_by_a_crash() {
    reset_state
    rig_stop_milter KILL
    # tickets taken in while no mailer runs (ticketgatectl ingest, or a milter that died
    # before sending): their replies are in the outbox
    for i in 1 2 3; do
        printf 'From: c%s@example.test\nTo: support@example.org\nSubject: offline %s\nMessage-Id: <off-%s@example.test>\n\nx\n' \
            "$i" "$i" "$i" | "$CTL" "${C[@]}" ingest - > /dev/null || fail ingest
    done
    [ "$(sql "SELECT count(*) FROM outbox WHERE status = 'pending'")" = 3 ] || fail "outbox"
    rig_start_milter
    wait_mail 3
    check 'len(d) == 1 and "offline 2" in d[0]["headers"]["subject"][0]' mailbox c2@example.test
    [ "$(sql "SELECT count(*) FROM outbox WHERE status = 'sent'")" = 3 ] || fail "not marked sent"
}

# The per-sender reply limit looks back an hour: older records are deleted when the mailer
# starts (and hourly), the recent ones kept.
old_reply_records_forgotten() {
    reset_state
    rig_stop_milter TERM
    sql "INSERT INTO autoreply_log VALUES ('old@example.test', strftime('%s', 'now') - 7200),
         ('new@example.test', strftime('%s', 'now') - 60)"
    rig_start_milter
    for _ in $(seq 50); do
        grep -q 'auto-reply records older than 3600s forgotten: 1' "$RIG/milter.log" && break
        sleep 0.1
    done
    grep -q 'auto-reply records older than 3600s forgotten: 1' "$RIG/milter.log" || fail "not logged"
    [ "$(sql "SELECT group_concat(address) FROM autoreply_log")" = new@example.test ] ||
        fail "left: $(sql "SELECT address FROM autoreply_log")"
}

mailer_retries_then_gives_up() {
    reset_state
    # a command that fails once, then works
    cat > "$RIG/flaky-sendmail" <<EOF
#!/bin/sh
if [ ! -e $RIG/milter/flaky.once ]; then
    touch $RIG/milter/flaky.once
    echo "flaky: queue file write error" >&2
    exit 75
fi
exec /usr/sbin/sendmail -C $RIG/postfix-conf "\$@"
EOF
    chmod 755 "$RIG/flaky-sendmail"
    cp "$CONF" "$RIG/good.conf"
    sed -i "s|^command = .*|command = $RIG/flaky-sendmail|" "$CONF"
    kill -USR1 "$(milter_pid)"
    sleep 0.5
    send customer@example.test support@example.org --header "Subject: flaky" --body x || fail
    wait_mail 2 20
    check 'len(d) == 1' mailbox customer@example.test
    [ "$(sql "SELECT attempts || ' ' || status || ' ' || ifnull(last_error, '-') FROM outbox")" = "2 sent -" ] ||
        fail "outbox: $(sql "SELECT * FROM outbox")"
    grep -q 'attempt 1 of 10: .*flaky-sendmail exited 75: flaky: queue file write error; will retry' \
        "$RIG/milter.log" || fail "retry not logged"
    "$CTL" "${C[@]}" status | grep -qx 'ok' || fail "status after a retry: $("$CTL" "${C[@]}" status)"

    # a command that always fails: marked failed after max_attempts, error kept
    sed -i "s|^command = .*|command = /bin/false|; s|^\[mailer\]$|[mailer]\nmax_attempts = 2|" "$CONF"
    kill -USR1 "$(milter_pid)"
    sleep 0.5
    send other@example.test support@example.org --header "Subject: never" --body x || fail
    for _ in $(seq 100); do
        [ "$(sql "SELECT status FROM outbox WHERE recipient = 'other@example.test'")" = failed ] && break
        sleep 0.1
    done
    [ "$(sql "SELECT attempts || ' ' || status || ' ' || last_error FROM outbox WHERE recipient = 'other@example.test'")" = "2 failed /bin/false exited 1" ] ||
        fail "outbox: $(sql "SELECT * FROM outbox")"
    "$CTL" "${C[@]}" show SUP-2 | grep -q 'failed: /bin/false exited 1' || fail "show"
    # monitoring is told: exit status 1, the reply given up and why
    local rc=0
    "$CTL" "${C[@]}" status > "$RIG/status.txt" || rc=$?
    [ "$rc" = 1 ] && grep -qx 'email    0 replies to send; 1 given up in the last 24 h, the last: /bin/false exited 1' "$RIG/status.txt" &&
        grep -qx 'attention: 1 email reply given up in the last 24 h' "$RIG/status.txt" ||
        fail "status after a reply was given up: exit $rc: $(cat "$RIG/status.txt")"
    cp "$RIG/good.conf" "$CONF"
    kill -USR1 "$(milter_pid)"
}

store_error_accept() {
    reset_state
    cp "$CONF" "$RIG/good.conf"
    sed -i 's/^read_limit = 256K$/read_limit = 256K\non_store_error = accept/' "$CONF"
    kill -USR1 "$(milter_pid)"
    sleep 0.5
    chattr +i "$RIG/store/tickets.db" "$RIG/store/tickets.db-wal" || fail chattr
    send customer@example.test support@example.org --header "Subject: accepted anyway" --body x
    local rc=$?
    chattr -i "$RIG/store/tickets.db" "$RIG/store/tickets.db-wal"
    cp "$RIG/good.conf" "$CONF"
    kill -USR1 "$(milter_pid)"
    [ $rc = 0 ] || fail "refused: $(tail -5 "$RIG/swaks.log")"
    wait_mail 1
    grep -q 'store error, accepted without a ticket' "$RIG/milter.log" || fail "not logged"
    [ "$(sql "SELECT count(*) FROM tickets")" = 0 ] || fail "a ticket"
}

check_option() {
    "$MILTER" "${C[@]}" -n | grep -q ": OK$" || fail "-n on a good file"
    printf '[milter]\nsocket_mode = 999\n' > "$RIG/bad.conf"
    "$MILTER" -c "$RIG/bad.conf" -n 2> "$RIG/bad.out"
    [ $? = 78 ] || fail "-n exit status"
    grep -q "bad.conf:2: \[milter\] socket_mode: \"999\" is not an octal mode" "$RIG/bad.out" ||
        fail "$(cat "$RIG/bad.out")"
    "$MILTER" -V | grep -q '^ticketgate-milter [0-9.]* (libmilter' || fail "-V"
}

# The inet transport, with Postfix's syntax on one side and libmilter's on the other.
inet_socket() {
    reset_state
    local port=$((RIG_PORT + 2000))
    rig_stop_milter
    postconf -c "$RIG/postfix-conf" -e "smtpd_milters=inet:127.0.0.1:$port"
    /usr/sbin/postfix -c "$RIG/postfix-conf" reload 2> /dev/null || fail "postfix reload"
    rig_start_milter -p "inet:$port@127.0.0.1"
    grep -q 'could not set TCP_NODELAY' "$RIG/milter.log" && fail "no TCP_NODELAY"
    send customer@example.test support@example.org --header "Subject: over tcp" --body x
    local rc=$?
    rig_stop_milter
    postconf -c "$RIG/postfix-conf" -e "smtpd_milters=unix:$RIG/milter/milter.sock"
    /usr/sbin/postfix -c "$RIG/postfix-conf" reload 2> /dev/null
    rig_start_milter
    [ $rc = 0 ] || fail "refused over inet: $(tail -5 "$RIG/swaks.log")"
    wait_mail 1
    check 'len(d) == 1 and d[0]["subject"] == "over tcp"' "$CTL" "${C[@]}" list --json
}

# -u: privileges are dropped before the socket is opened; the store is the user's.
runs_as_user() {
    reset_state
    rig_stop_milter
    chown -R nobody:nogroup "$RIG/store" "$RIG/milter"
    rig_start_milter -u nobody:nogroup
    [ "$(awk '/^Uid:/ {print $2}' "/proc/$(milter_pid)/status")" = 65534 ] || fail "still root"
    [ "$(stat -c %U:%a "$RIG/milter/milter.sock")" = nobody:666 ] || fail "socket owner/mode"
    send customer@example.test support@example.org --header "Subject: as nobody" --body x || fail
    wait_mail 1
    check 'len(d) == 1' "$CTL" "${C[@]}" list --json
    rig_stop_milter
    chown -R root:root "$RIG/store" "$RIG/milter"
    rig_start_milter
}

# Without -f, as an init script starts it: detached (a session of its own, named by its pid
# file), one line per message to syslog with the mail facility, a clean stop on TERM.
detached_logs_to_syslog() {
    reset_state
    rig_stop_milter TERM
    rig_start_detached 'listening on' "$MILTER" "${C[@]}" -P "$RIG/detached.pid"
    local pid
    pid=$(rig_detached_pid) || exit 1
    send customer@example.test support@example.org --header "Subject: logged" --body x || fail send
    wait_mail 1
    # <22>: facility mail (2 * 8) + severity info (6)
    rig_wait_syslog "^<22>.*ticketgate-milter\[$pid\]: info: [^ ]+: from=<customer@example.test> .*ticket=SUP-1 "
    rig_stop_detached_cleanly ticketgate-milter "$pid"
    rig_start_milter
}

clean_shutdown() {
    rig_stop_milter TERM
    grep -q 'stopping' "$RIG/milter.log" || fail "no clean stop"
    [ ! -e "$RIG/milter/milter.pid" ] || fail "pid file left"
    [ ! -e "$RIG/milter/milter.sock" ] || fail "socket left"
    rig_start_milter
}

scenario store_read_only
scenario store_locked
scenario store_disk_full
scenario sendmail_submission_queued
scenario kill_9
scenario live_socket_kept
scenario replies_left_by_a_crash
scenario old_reply_records_forgotten
scenario mailer_retries_then_gives_up
scenario inet_socket
scenario store_error_accept
scenario check_option
scenario runs_as_user
scenario detached_logs_to_syslog
scenario clean_shutdown
rig_summary
