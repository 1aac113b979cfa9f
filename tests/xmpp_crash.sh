#!/usr/bin/env bash
# ticketgate-xmpp stopped in the middle of a burst of new customers, then started again
# (DESIGN.md, failure semantics): killed (SIGKILL), the store holds whole tickets only, no
# customer has two, no customer is told a reference that is not their own ticket's, every
# ticket's auto-reply reaches its customer once the component is back (those the killed one had
# taken when their 30 s lease ends), and no more messages go unanswered than were in flight when
# it died (XEP-0114 has no acknowledgements: those are the customers' to send again). Stopped
# (SIGTERM, as by systemctl restart), the same, and no message is lost at all: what arrives until
# the server has closed the stream becomes tickets, and none is answered twice.
# And the sysadmin's side of it: backups taken with ticketgatectl during a burst hold whole
# tickets only; one restored (component stopped) is what the component works on after its start,
# giving no reference twice.
set -uo pipefail
RIG_PORT=10085
. "${srcdir:-.}/tests/rig/rig.sh"
CUSTOMERS=3000
IN_FLIGHT=20

rig_init_prosody
rig_xmpp_config
rig_start_prosody
rig_start_xmpp

# QUIET=S MAX_LOST=N MAX_TWICE=M burst_and_stop SIGNAL - the burst, the component stopped with
# SIGNAL in its middle and started again a second later, and what customers and the store show
# once nothing has arrived for S seconds.
burst_and_stop() {
    local signal=$1
    "$PY" "$RIG_SRC/burst.py" "$C2S_PORT" anon.localhost "support@$COMPONENT" "$CUSTOMERS" \
        "$IN_FLIGHT" "$QUIET" > "$RIG/burst.json" &
    local burst=$!
    rig_stop_mid_load xmpp "$signal" 500 "$CUSTOMERS"
    sleep 1 # customers who write now are told by the server that the service is unavailable
    rig_start_xmpp
    wait "$burst" || fail "burst client: $(head -c 500 "$RIG/burst.json")"

    [ "$(sql "PRAGMA integrity_check")" = ok ] || fail "integrity: $(sql "PRAGMA integrity_check")"
    local broken
    broken=$(rig_incomplete_tickets)
    [ -z "$broken" ] || fail "not whole: $broken"
    [ "$(sql "SELECT count(*) - count(DISTINCT requester) FROM tickets")" = 0 ] ||
        fail "a customer with two tickets"
    [ "$(sql "SELECT count(*) FROM outbox WHERE status != 'sent'")" = 0 ] ||
        fail "not sent: $(sql "SELECT ref, kind, outbox.status, next_attempt_at - strftime('%s')
            FROM outbox JOIN tickets ON tickets.id = ticket_id WHERE outbox.status != 'sent' LIMIT 5")"

    sql "SELECT requester, ref FROM tickets" > "$RIG/refs.txt"
    # told: per customer, the reference each reply names
    check 'owner = {r: j for j, r in (line.strip().split("|") for line in open(os.environ["RIG"] + "/refs.txt"))};
        mine = {j: r for r, j in owner.items()};
        told = {c["jid"]: [m.group(0) for m in (re.search(r"SUP-[0-9]+", b) for b in c["replies"]) if m]
                for c in d};
        wrong = [(j, r) for j, rs in told.items() for r in rs if owner.get(r) != j];
        unanswered = [j for j in mine if mine[j] not in told.get(j, [])];
        lost = [c["jid"] for c in d if c["jid"] not in mine and not c["errors"]];
        print("tickets", len(mine), "bounced", sum(1 for c in d if c["errors"]), "lost", len(lost),
              "told twice", sum(1 for rs in told.values() if len(rs) > 1));
        not wrong and not unanswered and len(mine) + len(lost) <= len(d) and len(lost) <= int(os.environ["MAX_LOST"])
        and sum(1 for rs in told.values() if len(rs) > 1) <= int(os.environ["MAX_TWICE"])' \
        cat "$RIG/burst.json"
}

killed_mid_burst() {
    # the replies the killed one had taken come 30 s later: the customers wait for them
    QUIET=35 MAX_LOST=$IN_FLIGHT MAX_TWICE=$CUSTOMERS burst_and_stop KILL
}

stopped_mid_burst() {
    reset_state
    QUIET=5 MAX_LOST=0 MAX_TWICE=0 burst_and_stop TERM
}

backed_up_mid_burst() {
    reset_state
    mkdir -p "$RIG/backups"
    "$PY" "$RIG_SRC/burst.py" "$C2S_PORT" anon.localhost "support@$COMPONENT" 2000 "$IN_FLIGHT" 2 \
        > "$RIG/burst.json" &
    local burst=$! copies=0 during=0 middle= n copy
    for _ in $(seq 1200); do # the customers log in first
        [ "$(sql "SELECT count(*) FROM tickets")" -gt 0 ] && break
        sleep 0.05
    done
    while kill -0 "$burst" 2> /dev/null; do
        copies=$((copies + 1))
        "$CTL" "${C[@]}" backup "$RIG/backups/$copies.db" > /dev/null || fail "backup $copies"
    done
    wait "$burst" || fail "burst client"
    for copy in $(seq -f "$RIG/backups/%g.db" "$copies"); do
        [ "$(sql "PRAGMA integrity_check" "$copy")" = ok ] || fail "$copy: integrity"
        [ -z "$(rig_incomplete_tickets "$copy")" ] || fail "$copy not whole: $(rig_incomplete_tickets "$copy")"
        n=$(sql "SELECT count(*) FROM tickets" "$copy")
        if [ "$n" -gt 0 ] && [ "$n" -lt 2000 ]; then
            during=$((during + 1))
            middle=${middle:-$copy}
        fi
    done
    log "$copies backups, $during of them with some of the 2000 tickets"
    [ "$during" -ge 2 ] || fail "too few backups in the middle of the burst"

    # restored with the component stopped: it starts on the backup's tickets, and new customers
    # get references never given before (none of a ticket made after the backup)
    copy=$middle
    local customer highest
    customer=$(sql "SELECT requester FROM tickets ORDER BY id DESC LIMIT 1")
    highest=$(sql "SELECT max(id) FROM tickets")
    rig_stop_xmpp TERM
    "$CTL" "${C[@]}" restore "$copy" | grep -q "$(sql "SELECT count(*) FROM tickets" "$copy") tickets from" ||
        fail "restore"
    [ -z "$(sql "SELECT 1 FROM tickets WHERE requester = '$customer'")" ] || fail "not the backup's tickets"
    rig_start_xmpp
    "$PY" "$RIG_SRC/burst.py" "$C2S_PORT" anon.localhost "support@$COMPONENT" 3 3 2 > "$RIG/after.json" ||
        fail "customers after the restore"
    check 'all(len(c["replies"]) == 1 and "SUP-" in c["replies"][0] for c in d)' cat "$RIG/after.json"
    [ "$(sql "SELECT count(*) FROM tickets")" = $(($(sql "SELECT count(*) FROM tickets" "$copy") + 3)) ] ||
        fail "tickets after the restore"
    [ "$(sql "SELECT count(*) FROM tickets WHERE id > $highest")" = 3 ] ||
        fail "references given again: $(sql "SELECT group_concat(ref) FROM tickets WHERE id > $(sql "SELECT max(id) FROM tickets" "$copy")")"
}

export RIG
scenario killed_mid_burst
scenario stopped_mid_burst
scenario backed_up_mid_burst
rig_summary
