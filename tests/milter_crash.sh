#!/usr/bin/env bash
# ticketgate-milter stopped while mail comes in over many SMTP connections, then started again
# (DESIGN.md, failure semantics). The sending side retries what got a temporary error, as every
# MTA does; in the end every mail was accepted, made exactly one whole ticket and reached the
# support mailbox once, and its sender got the auto-reply of that ticket and of no other: killed
# (SIGKILL), perhaps twice; stopped (SIGTERM), once.
set -uo pipefail
RIG_PORT=10080
. "${srcdir:-.}/tests/rig/rig.sh"
MAILS=400
CONNECTIONS=10

rig_init
# a reply the killed mailer had taken goes out when its lease ends, timeout + 60 s later (the
# sendmail it had started may still be running): a shorter timeout keeps the wait short
sed -i '/^\[mailer\]/a timeout = 5s' "$CONF"
rig_start_postfix
rig_start_milter

# retrying_mta - MAILS mails from distinct senders over CONNECTIONS parallel SMTP connections
# (one mail per connection); a 4xx or a lost connection is tried again after 0.3 s, for up to
# two minutes. Prints {"accepted", "retried", "refused": [[mail, code]...]}.
retrying_mta() {
    "$PY" - "$RIG_PORT" "$MAILS" "$CONNECTIONS" <<'PYEOF'
import json, queue, smtplib, sys, threading, time
port, mails, connections = (int(a) for a in sys.argv[1:4])
todo = queue.Queue()
for i in range(mails):
    todo.put(i)
accepted, retried, refused, lock = [0], [0], [], threading.Lock()

def message(i):
    return (f"From: c{i}@example.test\r\nTo: support@example.org\r\nSubject: crash mail {i}\r\n"
            f"Message-Id: <crash-{i}@example.test>\r\n\r\nThe printer {i} is jammed.\r\n")

def send(i):
    deadline, tries = time.time() + 120, 0
    while True:
        tries += 1
        try:
            s = smtplib.SMTP("127.0.0.1", port, timeout=60)
            try:
                s.sendmail(f"c{i}@example.test", ["support@example.org"], message(i))
            finally:
                # the mail is the server's once DATA got its 250, as every MTA counts it: what
                # QUIT answers (a 421 from a server going down) is no reason to send it again
                try:
                    s.quit()
                except (OSError, smtplib.SMTPException):
                    s.close()
            return 250, tries
        except smtplib.SMTPRecipientsRefused as e:
            code = list(e.recipients.values())[0][0]
        except smtplib.SMTPResponseException as e:
            code = e.smtp_code
        except (OSError, smtplib.SMTPServerDisconnected):
            code = 421
        if not 400 <= code < 500 or time.time() > deadline:
            return code, tries
        time.sleep(0.3)

def worker():
    while True:
        try:
            i = todo.get_nowait()
        except queue.Empty:
            return
        code, tries = send(i)
        with lock:
            accepted[0] += code == 250
            retried[0] += tries > 1
            if code != 250:
                refused.append([i, code])

threads = [threading.Thread(target=worker) for _ in range(connections)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(json.dumps({"accepted": accepted[0], "retried": retried[0], "refused": refused}))
PYEOF
}

# MAX_TWICE=N mail_and_stop SIGNAL - the mail, the milter stopped with SIGNAL in its middle and
# started again a second later, and what the store and the mailboxes show afterwards.
mail_and_stop() {
    retrying_mta > "$RIG/mta.json" &
    local mta=$!
    rig_stop_mid_load milter "$1" 100 "$MAILS"
    sleep 1 # new connections are refused with a temporary error meanwhile
    rig_start_milter
    wait "$mta" || fail "smtp client"
    check "d['accepted'] == $MAILS and not d['refused'] and d['retried'] > 0" cat "$RIG/mta.json"

    [ "$(sql "PRAGMA integrity_check")" = ok ] || fail "integrity: $(sql "PRAGMA integrity_check")"
    [ "$(sql "SELECT count(*) || ' ' || count(DISTINCT requester) FROM tickets")" = "$MAILS $MAILS" ] ||
        fail "tickets: $(sql "SELECT count(*), count(DISTINCT requester) FROM tickets")"
    local broken
    broken=$(rig_incomplete_tickets)
    [ -z "$broken" ] || fail "not whole: $broken"

    # the replies: a row the killed mailer had taken goes out when its lease ends; a reply that
    # met the dead milter in Postfix's pickup waits in the queue (flushed here, as an admin would)
    log "$(sql "SELECT count(*) FROM outbox WHERE status != 'sent'") replies to send"
    for _ in $(seq 120); do
        /usr/sbin/postqueue -c "$RIG/postfix-conf" -f 2> /dev/null
        [ "$(sql "SELECT count(*) FROM outbox WHERE status != 'sent'")" = 0 ] && queue_empty && break
        sleep 1
    done
    [ "$(sql "SELECT count(*) FROM outbox WHERE status != 'sent'")" = 0 ] ||
        fail "replies not sent: $(sql "SELECT id, status, attempts, last_error FROM outbox
            WHERE status != 'sent' LIMIT 5")"
    queue_empty || fail "mail left in Postfix's queue"
    log "all sent"
    sleep 2 # the last delivery
    sql "SELECT requester, ref FROM tickets" > "$RIG/refs.txt"
    mailbox > "$RIG/mailbox.json"
    # more copies of a mail than mails (seen once): whose were they? Same queue ids in the copies'
    # Received fields: Postfix delivered one queued mail twice; different ones: it was sent twice
    "$PY" - "$RIG/mailbox.json" <<'PYEOF'
import collections, json, re, sys
copies = collections.defaultdict(list)
for m in json.load(open(sys.argv[1])):
    if m["headers"].get("delivered-to") == ["support@example.org"]:
        ids = [x.group(1) for r in m["raw_headers"].get("received", []) for x in [re.search(r"\bid (\w+)", r)] if x]
        copies[m["headers"].get("message-id", ["?"])[0]].append(ids)
doubled = [(mid, ids) for mid, ids in copies.items() if len(ids) > 1]
for mid, ids in doubled[:5]:
    print(f"{mid}: {len(ids)} copies, queue ids in their Received fields: {ids}")
if doubled:
    print(f"{len(doubled)} mails delivered more than once")
PYEOF
    # replies: per customer, the references each mail to them names
    check 'mine = dict(line.strip().split("|") for line in open(os.environ["RIG"] + "/refs.txt"));
        support = [m for m in d if m["headers"].get("delivered-to") == ["support@example.org"]];
        ids = {m["headers"]["message-id"][0] for m in support};
        others = [m for m in d if m not in support];
        replies = {j: [set(re.findall(r"SUP-[0-9]+", m["headers"].get("subject", [""])[0] + m["body"]))
                       for m in others if m["headers"].get("delivered-to") == [j]] for j in mine};
        wrong = [(j, r) for j in mine for refs in replies[j] for r in refs if r != mine[j]];
        print("support mails", len(support), "customers answered", sum(1 for j in mine if replies[j]),
              "answered twice", sum(1 for j in mine if len(replies[j]) > 1));
        len(support) == len(ids) == int(os.environ["MAILS"]) and not wrong
        and all({mine[j]} in replies[j] for j in mine)
        and sum(1 for j in mine if len(replies[j]) > 1) <= int(os.environ["MAX_TWICE"])' cat "$RIG/mailbox.json"
}

killed_while_mail_arrives() {
    MAX_TWICE=$MAILS mail_and_stop KILL
}

stopped_while_mail_arrives() {
    reset_state
    MAX_TWICE=0 mail_and_stop TERM
}

export RIG MAILS
scenario killed_while_mail_arrives
scenario stopped_while_mail_arrives
rig_summary
