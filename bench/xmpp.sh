#!/usr/bin/env bash
# bench/xmpp.sh - chat round trips per second through a private Prosody: a customer's first
# message -> the auto-reply of a new ticket (ticketgate-xmpp, durable commits), against
# bench/echo-component (answers at once, does nothing else), in alternating rounds. Every round
# trip comes from a distinct customer JID (anonymous logins), so every one makes a ticket.
# Two more variants in each round: "reply echo" answers at once, but with a reply of the same
# shape and size as ticketgate's auto-reply (reference and due time, an id, xml:lang) instead of
# the customer's own words: what the server spends on the reply that is asked for; "durable"
# sends that reply only after one real durable write (a 4 KB page and fdatasync, next to the
# store) per batch: the least a component that answers only tickets on disk must wait for on
# this machine's disk.
# Two loads in every round. Round trips per second are measured with CONCURRENCY (200) round trips
# in flight: enough that Prosody is busy all the time with every variant (its share of a core is
# printed), so the rate is the most the server passes with that component, whatever the
# component's reply latency. With 20 in flight ticketgate's latency would be measured a second
# time as a rate: 20 customers who each wait for their answer before asking again make 20 /
# latency round trips per second, and Prosody sat idle a sixth of the time (measured, issue #4).
# The reply latency (p50, p99) is measured with LATENCY_CONCURRENCY (20; 0 skips it) in flight,
# echo and ticketgate only, where the server has time to spare and a reply's latency is the
# component's and the server's work, not the queue before them.
# Run as root from a built tree: bench/xmpp.sh   (SESSIONS, CONCURRENCY, LATENCY_CONCURRENCY,
# ROUNDS to change;
# ECHO_BURN_US=N makes the echo component spend N µs of CPU per message, ECHO_COMMIT_US=N makes it
# answer only after a simulated N µs durable commit (ECHO_COMMIT=block|overlap): see
# echo-component.c, a model of what a given CPU cost and commit latency allow;
# PIN=1 runs Prosody on CPU 0 and the client and the component on CPU 1, to tell a component
# that keeps Prosody waiting from a machine short of CPU;
# PROSODY_GC='{ mode = "generational" }' sets Prosody's Lua garbage collector: with its default
# (incremental) and 9000 sessions connected, Prosody spends about 70 % of its time collecting and
# stalls for 150-200 ms about every 0.3 s, which is most of every variant's mean round trip; with
# generational collection it needs a third of the CPU per round trip, and the component's own
# cost is what shows;
# MODELS='NAME:VAR=VALUE ...;NAME:...' adds, in every round, a run of the durable echo per NAME
# with these variables (ECHO_BURN_US, ECHO_PAGES): a model component that spends the CPU and
# writes the pages ticketgate does per ticket, to tell what a cheaper one would gain, e.g.
# MODELS='tg:ECHO_BURN_US=42 ECHO_PAGES=4.4;half-pages:ECHO_BURN_US=42 ECHO_PAGES=2.3'.
# The "tg" model gives ticketgate's rate within 3 % with 20 in flight; with 200 it gives less
# (the echo component answers what one read brought, ticketgate up to 64 messages at a time))
set -uo pipefail
cd "$(dirname "$0")/.."
srcdir=. top_builddir=${top_builddir:-.}
RIG_PORT=10050
. tests/rig/rig.sh
SESSIONS=${SESSIONS:-6000} # fewer last a second or less: too short to measure on a noisy VM
CONCURRENCY=${CONCURRENCY:-200}
LATENCY_CONCURRENCY=${LATENCY_CONCURRENCY:-20}
ROUNDS=${ROUNDS:-3}
ECHO="$top_builddir/bench/echo-component"
ON_CPU1=()
if [ -n "${PIN:-}" ]; then
    ON_CPU1=(taskset -c 1)
    XMPP_WRAPPER="${XMPP_WRAPPER:-taskset -c 1}"
fi
[ -x "$ECHO" ] || make -s bench/echo-component

rig_init_prosody
[ -z "${PROSODY_GC:-}" ] || sed -i "1i gc = $PROSODY_GC" "$RIG/prosody/prosody.cfg.lua"
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

# fresh_prosody - a new Prosody for each measurement: one that has served a round of thousands
# of sessions spends more CPU per stanza in the next (measured: +40 % by the third round), which
# would be charged to whichever variant runs later.
fresh_prosody() {
    rig_stop_prosody
    rig_start_prosody
    [ -z "${PIN:-}" ] || taskset -pc 0 "$(cat "$RIG/prosody-pid")" > /dev/null
}

# start_echo - the echo component, connected (a fresh Prosody may refuse the first attempt,
# and the echo component does not retry). An attempt given up on may still hold the name for a
# moment (Prosody answers the next one "conflict"): each try waits longer.
start_echo() {
    rm -f "$RIG"/echo.*.log
    for try in 1 2 3 4 5; do
        "${ON_CPU1[@]}" env "$@" "$ECHO" 127.0.0.1 "$COMPONENT_PORT" "$COMPONENT" s3cret 2> "$RIG/echo.$try.log" &
        echo_pid=$!
        for _ in $(seq 100); do
            grep -q 'echo-component: connected' "$RIG/echo.$try.log" && return
            kill -0 "$echo_pid" 2> /dev/null || break
            sleep 0.1
        done
        kill "$echo_pid" 2> /dev/null
        wait "$echo_pid" 2> /dev/null
        sleep "$try"
    done
    fail "echo component did not connect: $(tail -n +1 "$RIG"/echo.*.log)"
}

# load NAME PID - the round trips (in_flight of them at a time), with the CPU that Prosody and the
# component NAME spent on them
load() {
    CPU_PIDS="prosody=$(cat "$RIG/prosody-pid") $1=$2" "${ON_CPU1[@]}" "$PY" bench/chat_load.py "$C2S_PORT" anon.localhost "support@$COMPONENT" "$SESSIONS" "$in_flight"
}

# ticketgate's English auto-reply in this configuration, with a reference of the bench's size
REPLY="Thank you. Your request is registered as SUP-4500; we will answer by Tue 24 Nov 2026 13:00 UTC."
: > "$RIG/echo.jsonl"
: > "$RIG/reply.jsonl"
: > "$RIG/durable.jsonl"
: > "$RIG/tg.jsonl"
: > "$RIG/echo-latency.jsonl"
: > "$RIG/tg-latency.jsonl"
IFS=';' read -r -a models <<< "${MODELS:-}"
for model in "${models[@]}"; do
    [[ $model =~ ^[A-Za-z0-9_-]+:([A-Z_]+=[^ ]+( |$))+$ ]] ||
        fail "MODELS: '$model' is not NAME:VAR=VALUE ..."
    : > "$RIG/model-${model%%:*}.jsonl"
done
# echo_round NAME ENV... - one round of the echo component started with these variables
echo_round() {
    local name=$1
    shift
    fresh_prosody
    start_echo "$@"
    r=$(load echo "$echo_pid")
    kill "$echo_pid"
    wait "$echo_pid" 2> /dev/null
    printf 'round %s %-11s %s\n' "$round" "$name" "$r"
    echo "$r" >> "$RIG/$name.jsonl"
    sleep 1
}
# tg_round NAME - one round of ticketgate-xmpp, with an empty store
tg_round() {
    sql "DELETE FROM outbox; DELETE FROM events; DELETE FROM messages; DELETE FROM tickets;
         DELETE FROM autoreply_log; DELETE FROM thread_addresses;" 2> /dev/null
    fresh_prosody
    rig_start_xmpp
    r=$(load ticketgate "$(xmpp_pid)")
    tickets=$(sql "SELECT count(*) FROM tickets")
    rig_stop_xmpp TERM
    printf 'round %s %-11s %s tickets=%s\n' "$round" "$1" "$r" "$tickets"
    [ "$tickets" = "$SESSIONS" ] || fail "$tickets tickets for $SESSIONS round trips"
    echo "$r" >> "$RIG/$1.jsonl"
}
for round in $(seq "$ROUNDS"); do
    in_flight=$CONCURRENCY
    echo_round echo
    echo_round reply ECHO_REPLY="$REPLY"
    echo_round durable ECHO_REPLY="$REPLY" ECHO_FSYNC="$RIG/store/durable-echo"
    for model in "${models[@]}"; do
        read -r -a vars <<< "${model#*:}"
        echo_round "model-${model%%:*}" ECHO_REPLY="$REPLY" ECHO_FSYNC="$RIG/store/durable-echo" "${vars[@]}"
    done
    tg_round tg
    [ "$LATENCY_CONCURRENCY" -gt 0 ] || continue
    in_flight=$LATENCY_CONCURRENCY
    echo_round echo-latency
    tg_round tg-latency
done
# Medians over the rounds. CPU per round trip is the client's, Prosody's and the component's
# together; "cores busy" is that CPU times the rate. When both variants keep the machine equally
# busy, the rate ratio follows the CPU ratio: then only less CPU per ticket raises it. "Prosody
# alone" is the share of one core Prosody (single-threaded) was busy: near 1 it is the limit,
# lower it waited for the component or the client.
echo "round trips per second, $CONCURRENCY in flight:"
"$PY" - "$RIG/echo.jsonl" "$RIG/reply.jsonl" "$RIG/durable.jsonl" "$RIG/tg.jsonl" \
    "$RIG/echo-latency.jsonl" "$RIG/tg-latency.jsonl" "$RIG"/model-*.jsonl "$LATENCY_CONCURRENCY" <<'EOF'
import json, os, statistics, sys
runs = [[json.loads(line) for line in open(f)] for f in sys.argv[1:7]]
models = [(os.path.basename(f)[:-len(".jsonl")], [json.loads(line) for line in open(f)])
          for f in sys.argv[7:-1] if os.path.exists(f)]
med = lambda rs, key: statistics.median(r[key] for r in rs)
cpu = lambda rs: statistics.median(sum(r["cpu_ms"].values()) / r["round_trips"] for r in rs)
def show(name, rs):
    parts = ", ".join(f"{k} {statistics.median(r['cpu_ms'][k] / r['round_trips'] for r in rs):.3f}"
                      for k in rs[0]["cpu_ms"])
    sys_parts = ", ".join(f"{k} {statistics.median(r['sys_ms'][k] / r['round_trips'] for r in rs):.3f}"
                          for k in rs[0]["sys_ms"])
    print(f"{name}: median {med(rs, 'per_second'):.1f} round trips/s "
          f"{[r['per_second'] for r in rs]}, p50 {med(rs, 'p50_ms')} ms, p95 {med(rs, 'p95_ms')} ms, "
          f"p99 {med(rs, 'p99_ms')} ms, mean {med(rs, 'mean_ms')} ms; "
          f"CPU {cpu(rs):.3f} ms per round trip ({parts}; of it in the kernel: {sys_parts}), "
          f"cores busy {med(rs, 'per_second') * cpu(rs) / 1000:.2f}, Prosody alone "
          f"{statistics.median(r['cpu_ms']['prosody'] / (r['seconds'] * 1000) for r in rs):.2f}")
for name, rs in list(zip(("echo component", "reply echo", "durable echo", "ticketgate-xmpp"),
                         runs)) + models:
    show(name, rs)
echo, reply, durable, tg, echo_latency, tg_latency = runs
# Each round's ratio compares runs a minute apart; this VM's speed drifts over longer spans.
for name, num, den in (("ticketgate/echo", tg, echo), ("reply echo/echo", reply, echo),
                       ("durable echo/echo", durable, echo), ("ticketgate/reply echo", tg, reply),
                       ("ticketgate/durable echo", tg, durable)) + tuple(
                          (name + "/echo", rs, echo) for name, rs in models):
    pairs = [n["per_second"] / d["per_second"] for n, d in zip(num, den)]
    print(f"ratio {name}: {med(num, 'per_second') / med(den, 'per_second'):.2f}"
          f" (CPU per round trip {cpu(num):.3f} against {cpu(den):.3f} ms); per round"
          f" {[round(p, 2) for p in pairs]}, median {statistics.median(pairs):.2f}")
if tg_latency:
    print(f"reply latency, {sys.argv[-1]} in flight:")
    show("echo component", echo_latency)
    show("ticketgate-xmpp", tg_latency)
    print(f"  p50 {med(tg_latency, 'p50_ms')} against {med(echo_latency, 'p50_ms')} ms, p99"
          f" {med(tg_latency, 'p99_ms')} against {med(echo_latency, 'p99_ms')} ms; round trips/s"
          f" {med(tg_latency, 'per_second') / med(echo_latency, 'per_second'):.2f} of the echo's"
          f" (customers who wait for each answer: this rate is 1 / latency)")
EOF
