# xmpp_scenarios.sh - chat scenarios that every XMPP server must pass the same way, sourced by
# tests/xmpp_chat.sh (Prosody) and tests/xmpp_ejabberd.sh (ejabberd) after their rig is up
# (users carol and ann, agent ann, queue support).

agent_gets_notified_and_replies() {
    reset_state
    # ann may first get notifications kept offline by earlier scenarios: wait for this one
    chat ann "[{\"until\": \"VPN does not connect\", \"timeout\": 30},
               {\"send\": {\"to\": \"$SUPPORT\", \"body\": \"reply SUP-1: Hello Carol, fixed: try again.\"}},
               {\"until\": \"Reply to SUP-1\"}, {\"send\": {\"to\": \"$SUPPORT\", \"body\": \"show sup-1\"}},
               {\"until\": \"SUP-1 [pending]\"}, {\"send\": {\"to\": \"$SUPPORT\", \"body\": \"list\"}},
               {\"until\": \"Your open tickets\"},
               {\"send\": {\"to\": \"$SUPPORT\", \"body\": \"reply SUP-99 hello\"}}, {\"until\": \"SUP-99\"},
               {\"send\": {\"to\": \"$SUPPORT\", \"body\": \"dance\"}}, {\"until\": \"Commands:\"}]" > "$RIG/ann.json" &
    local ann=$!
    sleep 2 # ann is online
    chat carol "[{\"send\": {\"to\": \"$SUPPORT\", \"body\": \"VPN does not connect\"}}, {\"expect\": 2, \"timeout\": 30}]" \
        > "$RIG/carol.json" || fail "carol: $(cat "$RIG/carol.json")"
    wait $ann || fail "ann: $(cat "$RIG/ann.json")"
    check 'm = [x["body"] for x in d["messages"]]; m = m[[i for i, x in enumerate(m) if "VPN does not connect" in x][0]:];
        m[0].startswith("New ticket SUP-1 for you: VPN does not connect\nPriority normal, queue support")
        and m[1] == "Reply to SUP-1 sent to the customer (SUP-1 is now pending)."
        and m[2].startswith("SUP-1 [pending]") and "Hello Carol, fixed" in m[2] and "--- from carol@localhost" in m[2]
        and m[3].startswith("Your open tickets:\nSUP-1 [pending, normal] VPN does not connect")
        and m[4] == "there is no ticket SUP-99" and m[5].startswith("Commands:")' cat "$RIG/ann.json"
    check 'len(d["messages"]) == 2 and "registered as SUP-1" in d["messages"][0]["body"]
        and "Hello Carol, fixed: try again." in d["messages"][1]["body"]
        and d["messages"][1]["from"] == "support@support.localhost"' cat "$RIG/carol.json"
    check 'd[0]["first_response_at"] and d[0]["status"] == "pending" and d[0]["assignee"] == "ann"' \
        "$CTL" "${C[@]}" list --json
    # the supervisor's report counts the chat answered in time
    check 'x = d["channels"][1]; x["channel"] == "xmpp" and x["met"] is True
        and (x["due"], x["in_time"], x["late"], x["waiting"]) == (1, 1, 0, 0)' \
        "$CTL" "${C[@]}" report --from 2000-01-01 --to 2100-01-01 --json
    # carol writes again: ann, online, hears of it; the ticket waits on her again
    chat ann "[{\"until\": \"carol@localhost wrote again\", \"timeout\": 30}]" > "$RIG/ann.json" &
    ann=$!
    sleep 2 # ann is online
    chat carol "[{\"send\": {\"to\": \"$SUPPORT\", \"body\": \"Still no luck\"}}, {\"quiet\": 1}]" \
        > "$RIG/carol.json" || fail "carol: $(cat "$RIG/carol.json")"
    wait $ann || fail "ann: $(cat "$RIG/ann.json")"
    check 'd["messages"][-1]["body"] == "SUP-1: carol@localhost wrote again (VPN does not connect):\nStill no luck\n\nAnswer with: reply SUP-1 <text>"
        and d["messages"][-1]["from"] == "support.localhost"' cat "$RIG/ann.json"
    check 'd[0]["status"] == "open"' "$CTL" "${C[@]}" list --json
}
