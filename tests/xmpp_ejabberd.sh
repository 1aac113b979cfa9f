#!/usr/bin/env bash
# ticketgate-xmpp on ejabberd instead of Prosody: the listener of contrib/ejabberd/ticketgate.yml,
# a private ejabberd on loopback and real clients (slixmpp). What differs between the servers is
# the component protocol's edges: the handshake, stanzas routed to and from the component's JIDs,
# a refused secret and the server going away. The agent scenario is shared with the Prosody test
# (tests/rig/xmpp_scenarios.sh); tests/xmpp_chat.sh covers the rest on Prosody.
set -uo pipefail
RIG_PORT=10060
. "${srcdir:-.}/tests/rig/rig.sh"
. "${srcdir:-.}/tests/rig/xmpp_scenarios.sh"
SUPPORT="support@$COMPONENT"

rig_init_ejabberd alice carol dave ann
rig_xmpp_config
rig_start_xmpp

first_message_and_follow_up() {
    reset_state
    chat alice "[{\"send\": {\"to\": \"$SUPPORT\", \"body\": \"Мой принтер сломан\\nПечатает пустые листы\", \"lang\": \"ru\", \"thread\": \"t-1\"}},
                 {\"expect\": 1}, {\"send\": {\"to\": \"$SUPPORT\", \"body\": \"Это HP 1020\", \"thread\": \"t-1\"}},
                 {\"quiet\": 2}]" > "$RIG/alice.json" || fail "client: $(cat "$RIG/alice.json")"
    check 'len(d["messages"]) == 1 and "SUP-1" in d["messages"][0]["body"]
        and "Ваше обращение зарегистрировано" in d["messages"][0]["body"]
        and d["messages"][0]["from"] == "support@support.localhost"
        and d["messages"][0]["type"] == "chat" and d["messages"][0]["thread"] == "t-1"' cat "$RIG/alice.json"
    check 'len(d) == 1 and d[0]["channel"] == "xmpp" and d[0]["requester"] == "alice@localhost"
        and d[0]["subject"] == "Мой принтер сломан"' "$CTL" "${C[@]}" list --json
    check '[m["direction"] for m in d["messages"]] == ["in", "out", "in"]
        and d["messages"][2]["body"] == "Это HP 1020"' "$CTL" "${C[@]}" show --json SUP-1
}

service_discovery() {
    chat alice "[{\"disco\": \"$COMPONENT\"}, {\"ping\": \"$COMPONENT\"}, {\"version\": \"$COMPONENT\"},
                 {\"unknown_iq\": \"$COMPONENT\"}, {\"subscribe\": \"$SUPPORT\"}]" \
        > "$RIG/disco.json" || fail "client: $(cat "$RIG/disco.json")"
    check 'i = {x["kind"]: x for x in d["iq"]};
        "urn:xmpp:ping" in i["disco"]["features"] and i["disco"]["identities"][0][0] == "component"
        and i["ping"]["ping"] == "pong" and i["version"]["name"] == "ticketgate-xmpp"
        and i["unknown_iq"]["error"] == "service-unavailable"' cat "$RIG/disco.json"
    check 'types = [x["type"] for x in d["presence"] if x["from"].startswith("support@")];
        "subscribed" in types and len(types) >= 2' cat "$RIG/disco.json"
}

ejabberd_restart_delivers_pending_once() {
    reset_state
    chat dave "[{\"send\": {\"to\": \"$SUPPORT\", \"body\": \"first question\"}}, {\"expect\": 1}]" > /dev/null || fail dave
    rig_stop_ejabberd
    for _ in $(seq 50); do grep -q 'disconnected from' "$RIG/xmpp.log" && break; sleep 0.1; done
    grep -q 'disconnected from' "$RIG/xmpp.log" || fail "the component did not notice: $(tail -3 "$RIG/xmpp.log")"
    "$CTL" "${C[@]}" reply --agent ann SUP-1 "answer one" > /dev/null || fail "ctl reply"
    "$CTL" "${C[@]}" reply --agent ann SUP-1 "answer two" > /dev/null || fail "ctl reply"
    local before
    before=$(grep -c 'connected to' "$RIG/xmpp.log")
    rig_start_ejabberd
    for _ in $(seq 150); do [ "$(grep -c 'connected to' "$RIG/xmpp.log")" -gt "$before" ] && break; sleep 0.1; done
    [ "$(grep -c 'connected to' "$RIG/xmpp.log")" -gt "$before" ] || fail "no reconnect: $(tail -3 "$RIG/xmpp.log")"
    # dave was offline when they went out: ejabberd keeps them for him
    chat dave '[{"expect": 2, "timeout": 20}, {"quiet": 3}]' > "$RIG/dave.json" || fail "dave: $(cat "$RIG/dave.json")"
    check '[m["body"].split("\n")[0] for m in d["messages"]] == ["answer one", "answer two"]' cat "$RIG/dave.json"
    [ "$(sql "SELECT count(*) FROM outbox WHERE kind = 'relay' AND status = 'sent'")" = 2 ] ||
        fail "relays not marked sent: $(sql "SELECT kind, status FROM outbox")"
}

# A wrong secret: ejabberd refuses the handshake; the component says so and does not hammer it.
wrong_secret_is_reported() {
    printf 'not-the-secret\n' > "$RIG/wrong-secret"
    sed "s|^secret_file = .*|secret_file = $RIG/wrong-secret|" "$CONF" > "$RIG/wrong.conf"
    "$top_builddir/xmpp/ticketgate-xmpp" -c "$RIG/wrong.conf" -f > "$RIG/wrong.log" 2>&1 &
    local wrong=$!
    for _ in $(seq 100); do grep -q 'refused component' "$RIG/wrong.log" && break; sleep 0.1; done
    sleep 2
    kill $wrong
    wait $wrong
    grep -q 'refused component support.localhost: not-authorized' "$RIG/wrong.log" || fail "$(cat "$RIG/wrong.log")"
    [ "$(grep -c 'refused component' "$RIG/wrong.log")" -le 2 ] || fail "retried fast: $(cat "$RIG/wrong.log")"
    grep -q 'not-the-secret' "$RIG/wrong.log" && fail "the secret is in the log"
    # the running component was not disturbed
    chat alice "[{\"ping\": \"$COMPONENT\"}]" > "$RIG/ping.json" || fail "ping: $(cat "$RIG/ping.json")"
}

# Two ticketgate-xmpp with one configuration, for a sysadmin who wants no single point of
# failure: ejabberd (unlike Prosody) lets both connect and spreads the stanzas between them. Each
# customer still gets one ticket and one auto-reply, and an agent's answer arrives once.
two_components_share_the_work() {
    reset_state
    local who sends before1 before2
    before1=$(grep -c ' ticket=' "$RIG/xmpp.log")
    before2=$(grep -c ' ticket=' "$RIG/xmpp2.log" 2> /dev/null)
    start_daemon xmpp2 'connected to' "$top_builddir/xmpp/ticketgate-xmpp" "${C[@]}" -f \
        -P "$RIG/milter/xmpp2.pid"
    for who in alice carol dave; do
        sends=$(for i in 2 3 4 5 6 7 8; do printf ', {"send": {"to": "%s", "body": "more %s"}}' "$SUPPORT" "$i"; done)
        chat "$who" "[{\"send\": {\"to\": \"$SUPPORT\", \"body\": \"question from $who\"}}, {\"expect\": 1}
                      $sends, {\"quiet\": 2}]" > "$RIG/$who.json" || fail "$who: $(cat "$RIG/$who.json")"
        check 'len(d["messages"]) == 1 and "SUP-" in d["messages"][0]["body"]' cat "$RIG/$who.json"
    done
    [ "$(sql "SELECT count(*) || ' ' || count(DISTINCT requester) FROM tickets")" = "3 3" ] ||
        fail "tickets: $(sql "SELECT ref, requester FROM tickets")"
    [ "$(sql "SELECT count(*) FROM messages WHERE direction = 'in'")" = 24 ] || fail "messages"
    [ "$(sql "SELECT count(*) FROM outbox WHERE kind = 'autoreply'")" = 3 ] || fail "auto-replies"
    log "messages taken by the first: $(($(grep -c ' ticket=' "$RIG/xmpp.log") - before1)), by the second: $(($(grep -c ' ticket=' "$RIG/xmpp2.log") - ${before2:-0}))"
    [ "$(grep -c ' ticket=' "$RIG/xmpp.log")" -gt "$before1" ] &&
        [ "$(grep -c ' ticket=' "$RIG/xmpp2.log")" -gt "${before2:-0}" ] || fail "one component took all"
    local ref
    ref=$(sql "SELECT ref FROM tickets WHERE requester = 'alice@localhost'")
    "$CTL" "${C[@]}" reply --agent ann "$ref" "The answer" > /dev/null || fail "ctl reply"
    chat alice '[{"expect": 1, "timeout": 20}, {"quiet": 3}]' > "$RIG/alice.json" || fail "alice"
    check 'len(d["messages"]) == 1 and d["messages"][0]["body"].startswith("The answer")' cat "$RIG/alice.json"
    # one of them stopped (an upgrade, a crash): the other takes everything
    stop_daemon xmpp2 TERM
    chat carol "[{\"send\": {\"to\": \"$SUPPORT\", \"body\": \"new question\", \"thread\": \"t-9\"}},
                 {\"quiet\": 2}]" > /dev/null || fail carol
    [ "$(sql "SELECT count(*) FROM messages WHERE direction = 'in'")" = 25 ] ||
        fail "not taken after the other stopped"
}

clean_stop() {
    rig_stop_xmpp TERM
    grep -q 'stopping' "$RIG/xmpp.log" || fail "no clean stop"
}

scenario first_message_and_follow_up
scenario agent_gets_notified_and_replies
scenario service_discovery
scenario ejabberd_restart_delivers_pending_once
scenario wrong_secret_is_reported
scenario two_components_share_the_work
scenario clean_stop
rig_summary
