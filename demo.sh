#!/usr/bin/env bash
# demo.sh - ticketgate on this machine in one command, as root on Debian 12:
# installs the Debian packages it needs (if missing), builds, starts a private Postfix and a
# private Prosody on loopback (non-standard ports, everything under one directory), both
# ticketgate daemons, sends one support mail and one chat message, and shows what happened.
# Everything keeps running; `./demo.sh stop` stops every process it started.
#
#   ./demo.sh            start (again: stops the previous demo first)
#   ./demo.sh stop       stop it
# Environment: TG_DEMO_DIR (/var/tmp/ticketgate-demo), TG_DEMO_PORT (SMTP port, 10525; chat
# uses it + 1000, the component port + 1001), TG_BUILDDIR (where the programs are built).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
RIG=${TG_DEMO_DIR:-/var/tmp/ticketgate-demo}
RIG_PORT=${TG_DEMO_PORT:-10525}
srcdir=$here
top_builddir=${TG_BUILDDIR:-$here}

# say TEXT - a heading, in bold on a terminal
if [ -t 1 ]; then
    say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
else
    say() { printf '\n== %s\n' "$*"; }
fi

if [ "${1:-start}" = stop ]; then
    [ -d "$RIG" ] || { echo "no demo in $RIG"; exit 0; }
    . "$here/tests/rig/rig.sh"
    rig_stop_xmpp TERM
    rig_stop_milter TERM
    rig_stop_prosody
    rig_stop_postfix
    left=$(pgrep -f "$RIG" || true)
    [ -z "$left" ] || { echo "still running: $left"; exit 1; }
    echo "demo stopped; its files stay in $RIG (rm -rf it when done)"
    exit 0
fi

[ "$(id -u)" = 0 ] || { echo "run the demo as root (it starts a private Postfix)"; exit 1; }
# the packages the build and the demo need; installs only what is missing
bash "$here/.ci/install-deps" || exit 1
if [ ! -x "$top_builddir/milter/ticketgate-milter" ] || [ ! -x "$top_builddir/xmpp/ticketgate-xmpp" ]; then
    say "building"
    (cd "$here" && ./bootstrap && ./configure && make -j2) > "$here/demo-build.log" 2>&1 ||
        { tail -30 "$here/demo-build.log"; echo "build failed: see demo-build.log"; exit 1; }
fi
[ -d "$RIG" ] && "$0" stop > /dev/null
rm -rf "$RIG"
mkdir -p "$RIG"

. "$here/tests/rig/rig.sh"
say "starting Postfix (SMTP 127.0.0.1:$RIG_PORT), Prosody (chat 127.0.0.1:$C2S_PORT) and ticketgate in $RIG"
rig_init
rig_init_prosody customer ann
printf 's3cret\n' > "$RIG/xmpp.secret"
chmod 600 "$RIG/xmpp.secret"
cat > "$CONF" <<EOF
# The demo's configuration; contrib/ticketgate.conf shows every directive.
[general]
company = Example Ltd
timezone = Europe/Moscow
[store]
path = $RIG/store/tickets.db
[rules]
file = $here/contrib/rules.conf
[milter]
socket = unix:$RIG/milter/milter.sock
socket_mode = 0666
[mailer]
command = /usr/sbin/sendmail -C $RIG/postfix-conf
poll_interval = 1s
[xmpp]
port = $COMPONENT_PORT
domain = $COMPONENT
secret_file = $RIG/xmpp.secret
[queue support]
addresses = support@example.test
xmpp = support
from_name = Example Support
group = l1
[agent ann]
name = Ann Agent
email = ann@example.test
jid = ann@localhost
groups = l1
EOF
rig_start_postfix
rig_start_milter
rig_start_prosody
rig_start_xmpp
trap - EXIT # from here on everything keeps running

say "a customer writes to support@example.test"
swaks --server "127.0.0.1:$RIG_PORT" --from customer@example.test --to support@example.test \
    --header "Subject: The printer prints blank pages" \
    --body "Hello, since this morning our printer prints only blank pages. What can we do?" \
    > "$RIG/swaks.log" 2>&1 || { tail "$RIG/swaks.log"; exit 1; }
echo "sent (the SMTP dialogue is in $RIG/swaks.log)"

say "a customer writes to support@$COMPONENT by chat"
chat customer "[{\"send\": {\"to\": \"support@$COMPONENT\", \"body\": \"Привет! Не подключается VPN, ошибка 809.\", \"lang\": \"ru\"}}, {\"expect\": 1, \"timeout\": 20}]" \
    > "$RIG/chat.json" || { cat "$RIG/chat.json"; exit 1; }
echo "sent"

for _ in $(seq 300); do
    [ "$(mailbox customer@example.test | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))')" -ge 1 ] && break
    sleep 0.1
done

say "the tickets:  ticketgatectl -c $CONF list"
"$CTL" "${C[@]}" list

say "the auto-reply in the mail customer's mailbox ($MAILDIR)"
mailbox customer@example.test | "$PY" -c '
import json, sys
for m in json.load(sys.stdin):
    for h in ("from", "to", "subject", "date", "auto-submitted", "in-reply-to", "x-ticket-id"):
        for v in m["headers"].get(h, []):
            print(f"{h.title()}: {v}")
    print()
    print(m["body"])'

say "the reply the chat customer got"
"$PY" -c 'import json, sys; [print(m["from"] + ": " + m["body"]) for m in json.load(open(sys.argv[1]))["messages"]]' \
    "$RIG/chat.json"

say "try more"
# tests/demo.sh runs every command below as printed: keep each one working
cat <<EOF
Users:     customer@localhost and the agent ann@localhost, password "pw", on 127.0.0.1:$C2S_PORT
Mail:      swaks --server 127.0.0.1:$RIG_PORT --from you@example.test --to support@example.test \\
             --header "Subject: Urgent: the site is down" --body "Nothing works"
           (mail for *@example.test lands in $MAILDIR/new)
Chat:      $PY $RIG_SRC/chat.py $C2S_PORT customer@localhost pw \\
             '[{"send": {"to": "support@$COMPONENT", "body": "Hello again"}}, {"quiet": 3}]'
           (it joins SUP-2, the customer's open ticket: no second auto-reply)
Agent:     $PY $RIG_SRC/chat.py $C2S_PORT ann@localhost pw \\
             '[{"send": {"to": "support@$COMPONENT", "body": "reply SUP-2 Please restart the VPN client."}}, {"until": "Reply to SUP-2"}]'
           (ann gets the notifications of her new tickets first; "help" lists her commands)
Customer:  $PY $RIG_SRC/chat.py $C2S_PORT customer@localhost pw '[{"until": "VPN client"}]'
           (the agent's answer, kept by Prosody until the customer comes back)
Look:      $CTL -c $CONF list
           $CTL -c $CONF show SUP-2
Logs:      $RIG/milter.log  $RIG/xmpp.log  $RIG/postfix-log/maillog  $RIG/prosody/prosody.log
Stop:      ${TG_DEMO_DIR:+TG_DEMO_DIR=$RIG }$here/demo.sh stop
EOF
