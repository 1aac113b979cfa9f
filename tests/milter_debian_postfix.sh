#!/usr/bin/env bash
# README step 3 as a sysadmin does it on Debian: Debian's own master.cf (smtpd, pickup and cleanup
# chrooted in the queue directory), the chroot prepared by Debian's own configure-instance.sh
# (what its init script and systemd unit run), contrib/postfix/main.cf appended as it is, and the
# milter's socket where contrib/ticketgate.conf and the systemd unit put it, served by a user who
# is not root and whose supplementary group is postfix (the unit's User=, SupplementaryGroups=),
# sending its replies with the default mailer command, plain sendmail(1). The other milter tests
# run Postfix unchrooted with a socket path of their own, and sendmail -C as root.
set -uo pipefail
RIG_PORT=10029
. "${srcdir:-.}/tests/rig/rig.sh"
rig_require /usr/lib/postfix/configure-instance.sh /usr/bin/setpriv

MILTER_USER=nobody # stands for the unit's user ticketgate

# as_postfix_default COMMAND... - run COMMAND where /etc/postfix is the rig's configuration, as
# on a server whose Postfix this is: sendmail(1) without -C (which it honours for root only).
# A private mount namespace: the host's /etc/postfix is not touched.
as_postfix_default() {
    unshare -m "$RIG/postfix-default" "$@"
}

rig_init
[ -f /etc/postfix/master.cf ] || fail "no /etc/postfix/master.cf: is Debian's postfix installed?"
SPOOL="$RIG/postfix-spool"
# Debian's master.cf, its smtp listener moved to the rig's port; nothing else changed
sed -E "s|^smtp( +inet +n +- +y +- +- +smtpd)$|127.0.0.1:$RIG_PORT\\1|" /etc/postfix/master.cf \
    > "$RIG/postfix-conf/master.cf"
grep -Eq "^127.0.0.1:$RIG_PORT +inet +n +- +y " "$RIG/postfix-conf/master.cf" ||
    fail "Debian's master.cf has no chrooted smtp listener"
for service in pickup cleanup; do
    grep -Eq "^$service +unix +n +- +y " "$RIG/postfix-conf/master.cf" ||
        fail "Debian's master.cf does not chroot $service"
done
postconf -c "$RIG/postfix-conf" -X smtpd_milters non_smtpd_milters milter_default_action milter_protocol
cat "$srcdir/contrib/postfix/main.cf" >> "$RIG/postfix-conf/main.cf"
MAIL_CONFIG="$RIG/postfix-conf" /usr/lib/postfix/configure-instance.sh - > "$RIG/chroot.log" 2>&1 ||
    fail "configure-instance.sh: $(cat "$RIG/chroot.log")"
cat > "$RIG/postfix-default" <<EOF
#!/bin/sh
mount --bind "$RIG/postfix-conf" /etc/postfix && exec "\$@"
EOF
chmod 755 "$RIG/postfix-default"
[ -f "$SPOOL/etc/services" ] || fail "configure-instance.sh prepared no chroot in $SPOOL"
/usr/sbin/postfix -c "$RIG/postfix-conf" check 2> "$RIG/postfix-check.log" ||
    fail "postfix check: $(cat "$RIG/postfix-check.log")"

# contrib/ticketgate.conf's socket lines, /var/spool/postfix being the rig's queue directory
sed -i -e '/^socket\(_mode\|_group\)\? = /d' -e '/^command = /d' "$CONF" # the mailer's default
grep -E '^socket(_mode|_group)? = ' "$srcdir/contrib/ticketgate.conf" |
    sed "s|/var/spool/postfix/|$SPOOL/|" > "$RIG/socket-lines"
[ "$(wc -l < "$RIG/socket-lines")" = 3 ] || fail "contrib/ticketgate.conf: $(cat "$RIG/socket-lines")"
sed -i "/^\[milter\]/r $RIG/socket-lines" "$CONF"
SOCKET=$(sed -n 's/^socket = unix://p' "$CONF")
# the unit's ExecStartPre, and the directories its StateDirectory= and RuntimeDirectory= give
install -d -o "$MILTER_USER" -g postfix -m 0750 "$(dirname "$SOCKET")"
chown "$MILTER_USER" "$RIG/store" "$RIG/milter"
umask 0007
MILTER_WRAPPER="unshare -m $RIG/postfix-default setpriv --reuid=$MILTER_USER --regid=nogroup --groups=postfix"
rig_start_postfix
rig_start_milter
NULL_RETURN_PATH="<>"
. "$srcdir/tests/rig/mail_scenarios.sh"

# The socket is the user's, in group postfix, mode 0660: smtpd (user postfix) may connect, and
# nobody else.
socket_access() {
    [ "$(stat -c '%F %U %G %a' "$SOCKET")" = "socket $MILTER_USER postfix 660" ] ||
        fail "socket: $(stat -c '%F %U %G %a' "$SOCKET")"
    [ "$(stat -c %U "/proc/$(milter_pid)")" = "$MILTER_USER" ] || fail "the milter runs as root"
}

# roots SERVICE - the root directory of each running SERVICE process of the rig's Postfix
roots() {
    local pid
    for pid in $(pgrep -P "$POSTFIX_PID" -x "$1"); do
        readlink "/proc/$pid/root"
    done
}

# The mails above went through a chrooted smtpd and cleanup (they stay a while for the next).
postfix_was_chrooted() {
    local service
    for service in smtpd cleanup; do
        [ "$(roots "$service" | sort -u)" = "$SPOOL" ] ||
            fail "$service runs in '$(roots "$service")', not chrooted in $SPOOL"
    done
}

# A web form's mail, handed to sendmail(1) as a PHP form sends it: from the site's own noreply
# address, the visitor in Reply-To. pickup and cleanup, chrooted, pass it to the milter
# (non_smtpd_milters); the visitor is the ticket's requester and gets the auto-reply.
mail_from_sendmail() {
    reset_state
    printf 'From: Web Form <noreply@example.org>\nReply-To: Visitor <visitor@customer.example>\nTo: support@example.org\nSubject: Callback\n\nCall me back, please.\n' |
        as_postfix_default setpriv --reuid=www-data --regid=www-data --clear-groups \
            /usr/sbin/sendmail -f noreply@example.org support@example.org ||
        fail "sendmail(1) refused the mail"
    wait_mail 2
    check 'len(d) == 1 and d[0]["headers"]["x-ticket-id"] == ["SUP-1"]' mailbox support@example.org
    check 'len(d) == 1 and d[0]["subject"] == "Callback" and d[0]["requester"] == "visitor@customer.example"' \
        "$CTL" "${C[@]}" list --json
    check 'len(d) == 1 and "registered as SUP-1" in d[0]["body"]' mailbox visitor@customer.example
    grep -q ': from=<noreply@example.org> requester=<visitor@customer.example> to=<support@example.org> ticket=SUP-1 ' \
        "$RIG/milter.log" || fail "log line: $(grep 'ticket=SUP-1' "$RIG/milter.log")"
}

# A site that runs smtpd and cleanup without the chroot: the same main.cf line finds the socket
# (Postfix's daemons work in the queue directory, chrooted or not).
without_chroot() {
    reset_state
    postconf -c "$RIG/postfix-conf" -F "127.0.0.1:$RIG_PORT/inet/chroot = n" \
        "pickup/unix/chroot = n" "cleanup/unix/chroot = n" || fail postconf
    kill -HUP "$POSTFIX_PID"
    for _ in $(seq 100); do # the chrooted processes finish; new ones start unchrooted
        [ -z "$(roots smtpd)$(roots cleanup)" ] && break
        sleep 0.1
    done
    send customer@example.test support@example.org --header "Subject: No chroot here" \
        --body "Hello" || fail "refused: $(tail -3 "$RIG/swaks.log")"
    wait_mail 2
    [ "$(roots smtpd | sort -u) $(roots cleanup | sort -u)" = "/ /" ] ||
        fail "smtpd in '$(roots smtpd)', cleanup in '$(roots cleanup)'"
    check 'len(d) == 1 and d[0]["subject"] == "No chroot here"' "$CTL" "${C[@]}" list --json
    check 'len(d) == 1 and "registered as SUP-1" in d[0]["body"]' mailbox customer@example.test
}

scenario socket_access
scenario plain_support_mail
scenario russian_mail
scenario postfix_was_chrooted
scenario mail_from_sendmail
scenario without_chroot
rig_summary
