#!/usr/bin/env bash
# bench/xmpp.sh - chat round trips per second through a private Prosody: a customer's first
# message -> the auto-reply of a new ticket (ticketgate-xmpp, durable commits), against
# bench/echo-component (answers at once, does nothing else), in alternating rounds. Every round
# trip comes from a distinct customer JID (anonymous logins), so every one makes a ticket.
# Run as root from a built tree: bench/xmpp.sh   (SESSIONS, CONCURRENCY, ROUNDS to change)
set -uo pipefail
cd "$(dirname "$0")/.."
srcdir=. top_builddir=${top_builddir:-.}
RIG_PORT=10050
. tests/rig/rig.sh
SESSIONS=${SESSIONS:-1000}
CONCURRENCY=${CONCURRENCY:-20}
ROUNDS=${ROUNDS:-3}
ECHO="$top_builddir/bench/echo-component"
[ -x "$ECHO" ] || make -s bench/echo-component

rig_init_prosody
cat >> "$RIG/prosody/prosody.cfg.lua" <<EOF

VirtualHost "anon.localhost"
  authentication = "anonymous"
  allow_anonymous_s2s = false
EOF
# the component section must stay last: move it after the new host
sed -i '/^Component "support.localhost"/,/component_secret/d' "$RIG/prosody/prosody.cfg.lua"
printf '\nComponent "support.localhost"\n  component_secret = "s3cret"\n' >> "$RIG/prosody/prosody.cfg.lua"
cat > "$CONF" <<EOF
[store]
path = $RIG/store/tickets.db
synchronous = ${SYNCHRONOUS:-full}
[rules]
file = $srcdir/contrib/rules.conf
[xmpp]
port = $COMPONENT_PORT
domain = $COMPONENT
secret = s3cret
[queue support]
xmpp = support
EOF
rig_start_prosody

# load NAME PID - the round trips, with the CPU that Prosody and the component NAME spent on them
load() {
    CPU_PIDS="prosody=$(cat "$RIG/prosody-pid") $1=$2" "$PY" bench/chat_load.py "$C2S_PORT" anon.localhost "support@$COMPONENT" "$SESSIONS" "$CONCURRENCY"
}

declare -A rate p50 p99
for round in $(seq "$ROUNDS"); do
    "$ECHO" 127.0.0.1 "$COMPONENT_PORT" "$COMPONENT" s3cret 2> "$RIG/echo.log" &
    echo_pid=$!
    sleep 1
    r=$(load echo "$echo_pid")
    kill "$echo_pid"
    wait "$echo_pid" 2> /dev/null
    echo "round $round echo        $r"
    rate[echo]="${rate[echo]:-} $(echo "$r" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["per_second"])')"
    sleep 1

    sql "DELETE FROM outbox; DELETE FROM events; DELETE FROM messages; DELETE FROM tickets;
         DELETE FROM autoreply_log; DELETE FROM thread_addresses;" 2> /dev/null
    rig_start_xmpp
    r=$(load ticketgate "$(xmpp_pid)")
    tickets=$(sql "SELECT count(*) FROM tickets")
    rig_stop_xmpp TERM
    echo "round $round ticketgate  $r  tickets=$tickets"
    rate[tg]="${rate[tg]:-} $(echo "$r" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["per_second"])')"
done
"$PY" - "${rate[echo]}" "${rate[tg]}" <<'EOF'
import statistics, sys
echo, tg = ([float(x) for x in a.split()] for a in sys.argv[1:3])
print(f"echo component: median {statistics.median(echo):.1f} round trips/s {echo}")
print(f"ticketgate-xmpp: median {statistics.median(tg):.1f} round trips/s {tg}")
print(f"ratio ticketgate/echo: {statistics.median(tg) / statistics.median(echo):.2f}")
EOF
