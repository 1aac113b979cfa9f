#!/usr/bin/env bash
# ticketgate-milter under valgrind: several messages over one SMTP connection, transactions
# aborted by RSET and by a client that disconnects in the middle of DATA. Every complete mail
# makes exactly one ticket, the aborted ones none, and nothing leaks.
set -uo pipefail
RIG_PORT=10027
. "${srcdir:-.}/tests/rig/rig.sh"

rig_init
rig_start_postfix
VG_LOG="$RIG/valgrind.log"
MILTER_WRAPPER="valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite
    --show-leak-kinds=definite --error-exitcode=99
    --suppressions=$RIG_SRC/valgrind.supp --log-file=$VG_LOG"
# valgrind makes the milter ~50x slower than Postfix expects by default
postconf -c "$RIG/postfix-conf" -e milter_content_timeout=600s milter_command_timeout=120s
rig_start_milter

# The SMTP client: Python's smtplib and a raw socket, so that each step is explicit.
sessions() {
    "$PY" - "$RIG_PORT" <<'EOF'
import smtplib, socket, sys, time
port = int(sys.argv[1])

def mail(n, to="support@example.org"):
    return (f"From: c{n}@example.test\r\nTo: {to}\r\nSubject: session mail {n}\r\n"
            f"Message-Id: <s{n}@example.test>\r\n\r\nbody {n}\r\n" + "x" * 70 * n + "\r\n")

s = smtplib.SMTP("127.0.0.1", port, timeout=300)
s.ehlo("client.test")
# three messages over one connection, an aborted one between them
s.sendmail("c1@example.test", ["support@example.org"], mail(1))
s.mail("c9@example.test"); s.rcpt("support@example.org"); s.rset()   # aborted by RSET
s.sendmail("c2@example.test", ["support@example.org", "other@example.test"], mail(2))
s.sendmail("c3@example.test", ["nobody@example.test"], mail(3, "nobody@example.test"))
s.sendmail("c4@example.test", ["support@example.org"], mail(4))
s.quit()

# a client that disconnects in the middle of DATA
raw = socket.create_connection(("127.0.0.1", port), timeout=300)
f = raw.makefile("rwb")
def cmd(line):
    f.write(line.encode() + b"\r\n"); f.flush()
    while True:
        reply = f.readline()
        if reply[3:4] != b"-":
            return reply
f.readline()
cmd("EHLO client.test"); cmd("MAIL FROM:<c8@example.test>"); cmd("RCPT TO:<support@example.org>")
assert cmd("DATA").startswith(b"354")
f.write(mail(8).encode()[:60]); f.flush()
time.sleep(1)
raw.close()
EOF
}

sessions_and_aborts() {
    sessions || fail "smtp client"
    wait_mail 5 60 # mails 1, 2 (two recipients), 3 and 4
    for _ in $(seq 600); do
        [ "$(sql "SELECT count(*) FROM outbox WHERE status = 'sent'")" = 3 ] && break
        sleep 0.1
    done
    check 'sorted(t["subject"] for t in d) == ["session mail 1", "session mail 2", "session mail 4"]' \
        "$CTL" "${C[@]}" list --json
    wait_mail 8 60 # and the three auto-replies
}

no_leaks() {
    rig_stop_milter TERM
    # only memcheck's own reports (==PID==); valgrind's notes (--PID--) are not findings
    grep -q '^==[0-9]*== ' "$VG_LOG" && fail "valgrind: $(head -60 "$VG_LOG")"
    grep -q stopping "$RIG/milter.log" || fail "milter did not stop cleanly"
}

scenario sessions_and_aborts
scenario no_leaks
rig_summary
