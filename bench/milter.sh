#!/usr/bin/env bash
# bench/milter.sh - delivered mails per second through a private Postfix on loopback, with
# smtp-source (the Postfix load generator), for:
#   none     no milter
#   null     bench/null-milter: negotiates what ticketgate-milter negotiates, does nothing
#   nullh    the same, but making ticketgate's header changes (4 X-Ticket headers, the subject
#            tag): what Postfix pays for those edits, apart from ticketgate's own work
#   tg       ticketgate-milter: every mail goes to a support address and makes a ticket with a
#            durable commit ([store] synchronous = full)
# over a unix socket and over inet (127.0.0.1), in alternating rounds so that drift on a noisy
# machine hits every variant alike. Then the milter's peak RSS while 50 sessions send 20 MB mails.
# Run as root from a built tree: bench/milter.sh   (N, SESSIONS, ROUNDS, BIG_MB, VARIANTS to change)
set -uo pipefail
cd "$(dirname "$0")/.."
srcdir=. top_builddir=${top_builddir:-.}
RIG_PORT=10030
. tests/rig/rig.sh
N=${N:-3000}
SESSIONS=${SESSIONS:-20}
ROUNDS=${ROUNDS:-3}
BIG_MB=${BIG_MB:-20}
BIG_SESSIONS=${BIG_SESSIONS:-50}
MILTER_PORT=10031
NULL="$top_builddir/bench/null-milter"
[ -x "$NULL" ] || make -s bench/null-milter

rig_init
# Replies are not what is measured (they would add Postfix work in one variant only).
rig_config "${BENCH_EXTRA:-}
[limits]
autoreply_limit = 0"
sed -i '/^read_limit/d' "$CONF" # the default, as shipped
postconf -c "$RIG/postfix-conf" -e message_size_limit=0 virtual_mailbox_limit=0

# use_milter KIND TRANSPORT - restart Postfix pointing at that milter (or none).
use_milter() {
    local kind=$1 transport=$2 pf lm
    [ -n "$POSTFIX_PID" ] && kill "$POSTFIX_PID" && wait "$POSTFIX_PID" 2> /dev/null
    POSTFIX_PID=
    rig_stop_milter TERM
    [ -n "${NULL_PID:-}" ] && kill "$NULL_PID" && wait "$NULL_PID" 2> /dev/null
    NULL_PID=
    if [ "$transport" = unix ]; then
        pf="unix:$RIG/milter/milter.sock" lm="unix:$RIG/milter/milter.sock"
    else
        pf="inet:127.0.0.1:$MILTER_PORT" lm="inet:$MILTER_PORT@127.0.0.1"
    fi
    case $kind in
    none) postconf -c "$RIG/postfix-conf" -e "smtpd_milters=" "non_smtpd_milters=" ;;
    null | nullh)
        postconf -c "$RIG/postfix-conf" -e "smtpd_milters=$pf" "non_smtpd_milters=$pf"
        if [ "$kind" = nullh ]; then
            NULL_MILTER_HEADERS=1 "$NULL" "$lm" 2>> "$RIG/null.log" &
        else
            "$NULL" "$lm" 2>> "$RIG/null.log" &
        fi
        NULL_PID=$!
        sleep 0.5
        [ "$transport" = unix ] && chmod 666 "$RIG/milter/milter.sock"
        ;;
    tg)
        postconf -c "$RIG/postfix-conf" -e "smtpd_milters=$pf" "non_smtpd_milters=$pf"
        rig_start_milter -p "$lm"
        ;;
    esac
    rig_start_postfix
}

# measure - delivered mails/s for N mails from SESSIONS parallel sessions.
measure() {
    reset_state
    local start end
    start=$(date +%s.%N)
    smtp-source -s "$SESSIONS" -m "$N" -l 1024 -f customer@example.test -t support@example.org \
        "127.0.0.1:$RIG_PORT" || fail smtp-source
    wait_mail "$N" 600
    end=$(date +%s.%N)
    echo "$N / ($end - $start)" | bc -l
}

declare -A total
variants=${VARIANTS:-"none/unix null/unix nullh/unix tg/unix null/inet tg/inet"}
for round in $(seq "$ROUNDS"); do
    for v in $variants; do
        use_milter "${v%/*}" "${v#*/}"
        read -ra cpu0 < /proc/stat
        rate=$(measure) || exit 1
        read -ra cpu1 < /proc/stat
        # the share of both cores that was busy during the round (waiting for the disk is idle)
        busy=$((cpu1[1] + cpu1[2] + cpu1[3] + cpu1[6] + cpu1[7]))
        busy=$((busy - cpu0[1] - cpu0[2] - cpu0[3] - cpu0[6] - cpu0[7]))
        idle=$((cpu1[4] + cpu1[5] - cpu0[4] - cpu0[5]))
        cpu= pid=
        if [ "${v%/*}" = tg ]; then
            tickets=$(sql "SELECT count(*) FROM tickets")
            [ "$tickets" = "$N" ] || fail "$v: $tickets tickets for $N mails"
            pid=$(milter_pid)
        fi
        [ "${v%/*}" != tg ] && [ "${v%/*}" != none ] && pid=$NULL_PID
        # CPU of the milter process over the whole run, per mail
        [ -n "$pid" ] && cpu=$(awk '{printf "  milter cpu %.2f ms/mail (user %.2f, system %.2f)",
            ($14 + $15) * 10 / '"$N"', $14 * 10 / '"$N"', $15 * 10 / '"$N"'}' "/proc/$pid/stat")
        printf 'round %d %-10s %8.1f msgs/s  machine %d %% busy%s\n' "$round" "$v" "$rate" \
            $((100 * busy / (busy + idle))) "$cpu"
        total[$v]=$(echo "${total[$v]:-0} + $rate" | bc -l)
    done
done
mean() { echo "${total[$1]} / $ROUNDS" | bc -l; }
# ratio A B - mean rate of A over mean rate of B, or "-" when one of them was not measured
ratio() {
    [ -n "${total[$1]:-}" ] && [ -n "${total[$2]:-}" ] || { echo -; return; }
    printf '%.2f' "$(echo "$(mean "$1") / $(mean "$2")" | bc -l)"
}
echo
for v in $variants; do
    case ${v%/*} in
    none) printf '%-10s %8.1f msgs/s (mean of %d rounds, %d mails, %d sessions, 1 KB)\n' "$v" \
        "$(mean "$v")" "$ROUNDS" "$N" "$SESSIONS" ;;
    tg) printf '%-10s %8.1f msgs/s   tg/none %s   tg/null %s   tg/nullh %s\n' "$v" "$(mean "$v")" \
        "$(ratio "$v" none/unix)" "$(ratio "$v" "null/${v#*/}")" "$(ratio "$v" "nullh/${v#*/}")" ;;
    *) printf '%-10s %8.1f msgs/s\n' "$v" "$(mean "$v")" ;;
    esac
done

# Peak memory: BIG_SESSIONS sessions at once, each one BIG_MB mail.
use_milter tg unix
reset_state
big_start=$(date +%s)
smtp-source -s "$BIG_SESSIONS" -m "$BIG_SESSIONS" -l $((BIG_MB * 1024 * 1024)) \
    -f customer@example.test -t support@example.org "127.0.0.1:$RIG_PORT" || fail smtp-source
wait_mail "$BIG_SESSIONS" 900
hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$(milter_pid)/status")
tickets=$(sql "SELECT count(*) FROM tickets")
cut=$(sql "SELECT count(*) FROM events WHERE kind = 'truncated'
    AND detail LIKE '%only the first part was read%'")
printf 'peak RSS %d KB (%.1f MB) with %d sessions of %d MB mails, %d s; %s tickets, %s read-limit events\n' \
    "$hwm" "$(echo "$hwm / 1024" | bc -l)" "$BIG_SESSIONS" "$BIG_MB" $(($(date +%s) - big_start)) \
    "$tickets" "$cut"
rig_stop_milter TERM
