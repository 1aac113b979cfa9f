# rig.sh - sourced by the integration tests: a private Postfix (or Sendmail) with
# ticketgate-milter, and/or a private Prosody (or ejabberd) with ticketgate-xmpp, on loopback in
# a temporary directory, started and stopped by PID. Needs root (the MTAs' daemons), what
# .ci/install-deps installs (and the Sendmail it unpacks), and RIG_PORT set to a base port no
# other test uses (the test uses RIG_PORT and RIG_PORT + 1000, + 1001).
# Scenarios: `scenario NAME` runs the shell function NAME in a subshell and counts the result
# (after a failure, the servers the test started are started again if they are down);
# `rig_summary` prints "N passed, M failed" (the line .ci/run sums) and sets the exit status.

top_builddir=$(cd "${top_builddir:-.}" && pwd)
srcdir=$(cd "${srcdir:-.}" && pwd)
RIG_SRC="$srcdir/tests/rig"
MILTER="$top_builddir/milter/ticketgate-milter"
CTL="$top_builddir/ctl/ticketgatectl"
PY=/usr/bin/python3 # the Debian python, which has the test modules
: "${RIG_PORT:?set RIG_PORT}"
RIG_PASSED=0
RIG_FAILED=0
POSTFIX_PID=
# how to start again each server the test itself started (rig_recover), in the order started
declare -A RIG_RESTART=()
RIG_RESTART_ORDER=()

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

log() { echo "--- $*"; }

# rig_require FILE... - root and these programs, or fail (never skip).
rig_require() {
    local missing=
    [ "$(id -u)" = 0 ] || missing="root"
    for f in "$@"; do
        [ -x "$f" ] || missing="$missing $f"
    done
    if [ -n "$missing" ]; then
        # CI has all of this: a missing piece is a failure there, not a skip.
        echo "integration test needs:$missing (see .ci/install-deps)"
        echo "0 passed, 1 failed"
        exit 1
    fi
}

# rig_dir - the test's directory, removed at exit (kept with RIG_KEEP=1). A caller that sets
# RIG itself (the demo) owns the directory and what runs in it.
rig_dir() {
    if [ -z "${RIG:-}" ]; then
        RIG=$(mktemp -d /var/tmp/tg-rig-XXXXXX) # on disk: the tests use chattr
        trap rig_cleanup EXIT
    fi
    chmod 755 "$RIG"
    mkdir -p "$RIG/milter" "$RIG/store"
    CONF="$RIG/ticketgate.conf"
    C=(-c "$CONF")
}

# rig_init - the directory tree and a Postfix configuration for this test.
rig_init() {
    rig_require /usr/lib/postfix/sbin/master /usr/sbin/postfix /usr/bin/swaks
    rig_dir
    mkdir -p "$RIG/postfix-conf" "$RIG/postfix-log" "$RIG/postfix-mail" "$RIG/postfix-spool"
    install -d -o postfix "$RIG/postfix-data"
    chown nobody:nogroup "$RIG/postfix-mail"
    sed "s|@RIG@|$RIG|g" "$RIG_SRC/postfix-main.cf" > "$RIG/postfix-conf/main.cf"
    sed "s|@PORT@|$RIG_PORT|g" "$RIG_SRC/postfix-master.cf" > "$RIG/postfix-conf/master.cf"
    cat >> "$RIG/postfix-conf/main.cf" <<EOF
smtpd_milters = unix:$RIG/milter/milter.sock
non_smtpd_milters = \$smtpd_milters
milter_default_action = tempfail
milter_protocol = 6
EOF
    /usr/sbin/postfix -c "$RIG/postfix-conf" check 2> "$RIG/postfix-check.log" ||
        fail "postfix check: $(cat "$RIG/postfix-check.log")"
    MAILDIR="$RIG/postfix-mail/Maildir"
    rig_config
}

# rig_enable_sasl USER PASSWORD - SMTP AUTH (PLAIN, LOGIN) in the private Postfix, with Cyrus
# SASL and a sasldb of its own holding one account; before rig_start_postfix.
rig_enable_sasl() {
    rig_require /usr/sbin/saslpasswd2
    # Debian's Postfix reads $config_directory/sasl/smtpd.conf (cyrus_sasl_config_path is unused)
    local dir="$RIG/postfix-conf/sasl"
    mkdir -p "$dir"
    cat > "$dir/smtpd.conf" <<EOF
pwcheck_method: auxprop
auxprop_plugin: sasldb
mech_list: PLAIN LOGIN
sasldb_path: $dir/sasldb2
EOF
    echo "$2" | saslpasswd2 -p -c -f "$dir/sasldb2" -u rig.localdomain "$1" || fail "saslpasswd2 $1"
    chown postfix "$dir/sasldb2" # smtpd reads it as the mail owner
    postconf -c "$RIG/postfix-conf" -e smtpd_sasl_auth_enable=yes smtpd_sasl_type=cyrus \
        smtpd_sasl_path=smtpd smtpd_sasl_local_domain=rig.localdomain
}

# rig_config [EXTRA] - the ticketgate configuration; EXTRA is appended (more sections).
rig_config() {
    cat > "$CONF" <<EOF
[general]
company = Example Ltd
timezone = Europe/Moscow
[store]
path = $RIG/store/tickets.db
busy_timeout = 2s
[rules]
file = $srcdir/contrib/rules.conf
[milter]
socket = unix:$RIG/milter/milter.sock
socket_mode = 0666
read_limit = 256K
[mailer]
command = /usr/sbin/sendmail -C $RIG/postfix-conf
retry_delay = 1s
poll_interval = 1s
[queue support]
addresses = support@example.org
group = l1
from_name = Example Support
[queue sales]
addresses = sales@example.org
[agent ann]
name = Ann Agent
email = ann@example.org
login = ann@rig.localdomain
groups = l1
${1:-}
EOF
}

rig_start_postfix() {
    /usr/lib/postfix/sbin/master -c "$RIG/postfix-conf" -s &
    POSTFIX_PID=$!
    echo "$POSTFIX_PID" > "$RIG/postfix-pid"
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$RIG_PORT") 2>/dev/null && return 0
        sleep 0.1
    done
    fail "postfix did not listen on 127.0.0.1:$RIG_PORT: $(tail -5 "$RIG/postfix-log/maillog")"
}

# start_daemon NAME READY-LINE COMMAND... - start a ticketgate daemon in the foreground, logging
# to NAME.log, and wait until it logs READY-LINE once more. Its PID is kept in NAME-pid:
# scenarios run in subshells and may restart it.
start_daemon() {
    local name=$1 ready=$2 before
    shift 2
    rig_remember_start "$name" start_daemon "$name" "$ready" "$@"
    before=$(grep -c "$ready" "$RIG/$name.log" 2>/dev/null)
    "$@" >> "$RIG/$name.log" 2>&1 &
    echo $! > "$RIG/$name-pid"
    for _ in $(seq 300); do
        [ "$(grep -c "$ready" "$RIG/$name.log")" -gt "${before:-0}" ] && return 0
        kill -0 "$(cat "$RIG/$name-pid")" 2>/dev/null || fail "$name died: $(tail -5 "$RIG/$name.log")"
        sleep 0.1
    done
    fail "$name did not start: $(tail -5 "$RIG/$name.log")"
}

# rig_remember_start NAME COMMAND... - how rig_recover starts NAME again. Only the test's own
# starts count, not a scenario's (scenarios run in subshells, and may start a server with
# options of their own).
rig_remember_start() {
    [ "$BASH_SUBSHELL" = 0 ] || return 0
    [ -n "${RIG_RESTART[$1]:-}" ] || RIG_RESTART_ORDER+=("$1")
    RIG_RESTART[$1]=$(printf '%q ' "${@:2}")
}

# rig_alive NAME - the server whose PID is kept in $RIG/NAME-pid is running.
rig_alive() {
    kill -0 "$(cat "$RIG/$1-pid" 2>/dev/null)" 2>/dev/null
}

# rig_recover - start again each server the test started that is no longer running. A scenario
# that stopped one and failed before starting it again would otherwise fail every later one.
rig_recover() {
    local name
    for name in "${RIG_RESTART_ORDER[@]}"; do
        rig_alive "$name" && continue
        log "starting $name again"
        eval "${RIG_RESTART[$name]}"
    done
}

# stop_pid PID SECONDS - TERM to a server of the rig, KILL if it is still there after SECONDS.
stop_pid() {
    local pid=$1
    [ -n "$pid" ] || return 0
    kill "$pid" 2>/dev/null || true
    for _ in $(seq $(($2 * 10))); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
}

# stop_daemon NAME [SIGNAL] - stop it (TERM by default) and wait until the process is gone.
stop_daemon() {
    local pid
    pid=$(cat "$RIG/$1-pid" 2>/dev/null)
    [ -n "$pid" ] || return 0
    kill "-${2:-TERM}" "$pid" 2>/dev/null || true
    for _ in $(seq 300); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        show_threads "$pid"
        fail "$1 $pid still running"
    fi
    wait "$pid" 2>/dev/null || true
    rm -f "$RIG/$1-pid"
}

# show_threads PID - where each thread of a daemon that did not stop waits: the kernel's view,
# and the stacks when gdb is installed (what to look at when this fails once in CI).
show_threads() {
    local t
    for t in /proc/"$1"/task/*; do
        echo "thread $(basename "$t") $(cat "$t/comm" 2>/dev/null): $(cat "$t/wchan" 2>/dev/null)"
    done
    command -v gdb > /dev/null &&
        gdb -p "$1" -batch -ex 'thread apply all bt' 2>&1 | grep -E '^(Thread|#)' | head -200
}

# rig_start_milter [OPTIONS] - the milter (MILTER_WRAPPER: valgrind, for example).
rig_start_milter() {
    start_daemon milter 'listening on' ${MILTER_WRAPPER:-} "$MILTER" "${C[@]}" -f \
        -P "$RIG/milter/milter.pid" "$@"
}

milter_pid() {
    cat "$RIG/milter-pid" 2>/dev/null
}

rig_stop_milter() {
    stop_daemon milter "$@"
}

# rig_start_detached READY-LINE COMMAND... - start a daemon without -f, as sysadmins do: it
# detaches, and logs to syslog. Its syslog goes to $RIG/syslog.log: COMMAND runs in a private
# mount namespace whose /dev is a tmpfs holding the host's null, zero, full, random, urandom,
# tty, shm and pts, and, as log, the socket of the rig's receiver (tests/rig/syslog.py). The
# host's /dev is not touched. Waits until READY-LINE is logged; the daemon's pid file (-P) must
# be $RIG/detached.pid.
rig_start_detached() {
    local ready=$1
    shift
    if [ ! -s "$RIG/syslog-pid" ]; then
        "$PY" "$RIG_SRC/syslog.py" "$RIG/log.sock" "$RIG/syslog.log" > "$RIG/syslog.ready" &
        echo $! > "$RIG/syslog-pid"
        for _ in $(seq 50); do
            grep -q ready "$RIG/syslog.ready" && break
            sleep 0.1
        done
    fi
    local before
    before=$(grep -c "$ready" "$RIG/syslog.log" 2>/dev/null)
    unshare --mount --propagation private sh -c '
        set -e
        rig=$1
        shift
        mkdir -p "$rig/hostdev"
        mount --bind /dev "$rig/hostdev"
        mount -t tmpfs -o mode=755 tmpfs /dev
        for n in null zero full random urandom tty; do
            touch "/dev/$n"
            mount --bind "$rig/hostdev/$n" "/dev/$n"
        done
        for d in shm pts; do
            mkdir "/dev/$d"
            mount --bind "$rig/hostdev/$d" "/dev/$d"
        done
        touch /dev/log
        mount --bind "$rig/log.sock" /dev/log
        exec "$@"' sh "$RIG" "$@" > "$RIG/detached.out" 2>&1 ||
        fail "$1 did not start: $(cat "$RIG/detached.out")"
    for _ in $(seq 100); do
        [ "$(grep -c "$ready" "$RIG/syslog.log" 2>/dev/null)" -gt "${before:-0}" ] && return 0
        sleep 0.1
    done
    fail "$1 did not log '$ready' to syslog: $(tail -5 "$RIG/syslog.log" 2>/dev/null)"
}

# rig_stop_detached - TERM the daemon of rig_start_detached and wait until it is gone.
rig_stop_detached() {
    local pid
    pid=$(cat "$RIG/detached.pid" 2>/dev/null)
    if [ -n "$pid" ]; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -0 "$pid" 2>/dev/null && fail "detached daemon $pid still running"
    fi
    return 0
}

# rig_detached_pid - the pid of the daemon of rig_start_detached, checked to have detached (a
# session of its own, as daemon(3) leaves it).
rig_detached_pid() {
    local pid
    pid=$(cat "$RIG/detached.pid")
    [ "$(ps -o sid= -p "$pid" | tr -d ' ')" = "$pid" ] ||
        fail "not detached: $(ps -o pid,ppid,sid,cmd -p "$pid")"
    echo "$pid"
}

# rig_stop_detached_cleanly NAME PID - it wrote nothing to the terminal, stops on TERM logging
# "stopping" to syslog, and removes its pid file; then the syslog receiver stops too.
rig_stop_detached_cleanly() {
    [ ! -s "$RIG/detached.out" ] || fail "wrote to the terminal: $(cat "$RIG/detached.out")"
    rig_stop_detached
    rig_wait_syslog "$1\\[$2\\]: info: stopping"
    rig_stop_syslog
    [ ! -e "$RIG/detached.pid" ] || fail "pid file left"
}

# rig_wait_syslog PATTERN - until a line of $RIG/syslog.log matches (grep -E), or fail.
rig_wait_syslog() {
    for _ in $(seq 50); do
        grep -Eq "$1" "$RIG/syslog.log" 2>/dev/null && return 0
        sleep 0.1
    done
    fail "not in syslog: $1; got: $(tail -5 "$RIG/syslog.log" 2>/dev/null)"
}

# rig_stop_syslog - the receiver of rig_start_detached.
rig_stop_syslog() {
    [ -s "$RIG/syslog-pid" ] && kill "$(cat "$RIG/syslog-pid")" 2>/dev/null
    rm -f "$RIG/syslog-pid"
}

rig_stop_postfix() {
    local pid
    pid=$(cat "$RIG/postfix-pid" 2>/dev/null) || return 0
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    rm -f "$RIG/postfix-pid"
}

rig_cleanup() {
    local status=$?
    rig_stop_milter KILL >/dev/null 2>&1 || true
    rig_stop_xmpp KILL >/dev/null 2>&1 || true
    (rig_stop_detached) >/dev/null 2>&1 || true
    rig_stop_syslog
    rig_stop_prosody >/dev/null 2>&1 || true
    rig_stop_ejabberd >/dev/null 2>&1 || true
    rig_stop_sendmail >/dev/null 2>&1 || true
    [ -z "${RIG_OWN_EPMD:-}" ] || epmd -kill >/dev/null 2>&1 || true
    rig_stop_postfix >/dev/null 2>&1 || true
    if [ "$status" != 0 ] || [ "$RIG_FAILED" != 0 ] || [ -n "${RIG_KEEP:-}" ]; then
        [ -f "$RIG/milter.log" ] && { echo "=== milter.log"; tail -50 "$RIG/milter.log"; }
        [ -f "$RIG/xmpp.log" ] && { echo "=== xmpp.log"; tail -50 "$RIG/xmpp.log"; }
        [ -d "$RIG/postfix-log" ] && { echo "=== maillog"; tail -50 "$RIG/postfix-log/maillog"; }
        [ -f "$RIG/prosody/prosody.log" ] && { echo "=== prosody.log"; tail -30 "$RIG/prosody/prosody.log"; }
        [ -f "$RIG/ejabberd/logs/ejabberd.log" ] && { echo "=== ejabberd.log"; tail -30 "$RIG/ejabberd/logs/ejabberd.log"; }
    fi
    [ -n "${RIG_KEEP:-}" ] || rm -rf "$RIG"
}

# send FROM TO [SWAKS OPTIONS] - one SMTP transaction; prints swaks' transcript to swaks.log.
send() {
    local from=$1 to=$2
    shift 2
    swaks --server "127.0.0.1:$RIG_PORT" --from "$from" --to "$to" --helo client.test \
        --timeout 60 "$@" >> "$RIG/swaks.log" 2>&1
}

# send_file FROM TO FILE - send a whole message file as its DATA.
send_file() {
    send "$1" "$2" --data "$3"
}

mail_count() {
    find "$MAILDIR/new" -type f 2>/dev/null | wc -l
}

# wait_mail N [SECONDS] - until at least N mails have been delivered.
wait_mail() {
    local n=$1 i
    for i in $(seq $((${2:-20} * 10))); do
        [ "$(mail_count)" -ge "$n" ] && return 0
        sleep 0.1
    done
    fail "expected $n delivered mails, have $(mail_count)"
}

# mailbox [ADDRESS] - the delivered mails (to ADDRESS) as JSON, see mailbox.py.
mailbox() {
    "$PY" "$RIG_SRC/mailbox.py" "$MAILDIR" "$@"
}

# queue_empty - true when Postfix holds no mail.
queue_empty() {
    [ -z "$(find "$RIG/postfix-spool/incoming" "$RIG/postfix-spool/active" \
        "$RIG/postfix-spool/deferred" "$RIG/postfix-spool/maildrop" -type f 2>/dev/null)" ]
}

# sql QUERY [DATABASE] - in the rig's store, or in another (a backup)
sql() {
    # wait for the daemons' write transactions (slow under valgrind) instead of failing at once
    sqlite3 -cmd ".timeout 20000" "${2:-$RIG/store/tickets.db}" "$1"
}

# reset_state - forget delivered mail and tickets between scenarios (daemons keep running).
reset_state() {
    [ -z "${MAILDIR:-}" ] || rm -f "$MAILDIR"/new/* "$MAILDIR"/cur/* 2>/dev/null || true
    [ -s "$RIG/store/tickets.db" ] || return 0 # no daemon has made the store yet
    # A daemon records a row it sent (claimed: pending, leased into the future) within a second
    # or so. Emptied before that, the row's id goes to one of the next scenario's rows, which
    # that record then marks sent unsent. Wait for them (at most 5 s: a row waiting for a retry
    # looks the same).
    for _ in $(seq 50); do
        [ "$(sql "SELECT count(*) FROM outbox WHERE status = 'pending'
                  AND next_attempt_at > CAST(strftime('%s') AS INTEGER)")" = 0 ] && break
        sleep 0.1
    done
    sql "DELETE FROM outbox; DELETE FROM events; DELETE FROM messages; DELETE FROM thread_addresses;
         DELETE FROM autoreply_log; DELETE FROM agents; DELETE FROM tickets;" ||
        fail "could not empty the store between scenarios"
}

# rig_stop_mid_load NAME SIGNAL AT OF - stop the daemon NAME (milter, xmpp) with SIGNAL once
# the store holds AT tickets of the OF a load in the background will make; fails unless that was
# in its middle (at least AT made, at least AT still to come).
rig_stop_mid_load() {
    local name=$1 signal=$2 at=$3 of=$4 made=0
    for _ in $(seq 1200); do
        made=$(sql "SELECT count(*) FROM tickets" 2> /dev/null)
        [ "${made:-0}" -ge "$at" ] && break
        sleep 0.05
    done
    stop_daemon "$name" "$signal"
    log "$name stopped ($signal) with ${made:-0} tickets in the store"
    [ "${made:-0}" -ge "$at" ] && [ "$made" -le $((of - at)) ] ||
        fail "$name was not stopped in the middle of the load (${made:-0} of $of tickets)"
}

# rig_incomplete_tickets [DATABASE] - what a crash must never leave (DESIGN.md): tickets without
# their message in, auto-reply (message out, outbox row and event) or created event, and rows
# whose ticket is missing. Prints up to 10 of them; nothing when all is whole.
rig_incomplete_tickets() {
    sql "SELECT ref FROM tickets t WHERE
        (SELECT count(*) FROM messages WHERE ticket_id = t.id AND direction = 'in') != 1
        OR (SELECT count(*) FROM messages WHERE ticket_id = t.id AND direction = 'out') != 1
        OR (SELECT count(*) FROM outbox WHERE ticket_id = t.id AND kind = 'autoreply') != 1
        OR (SELECT count(*) FROM events WHERE ticket_id = t.id AND kind = 'created') != 1
        OR (SELECT count(*) FROM events WHERE ticket_id = t.id AND kind = 'auto-reply') != 1
        UNION ALL SELECT 'message ' || id FROM messages WHERE ticket_id NOT IN (SELECT id FROM tickets)
        UNION ALL SELECT 'outbox ' || id FROM outbox WHERE ticket_id NOT IN (SELECT id FROM tickets)
        UNION ALL SELECT 'event ' || id FROM events WHERE ticket_id NOT IN (SELECT id FROM tickets)
        LIMIT 10" "${1:-}"
}

# check PYTHON-EXPR JSON-PRODUCING-COMMAND... - assert on JSON; `d` is the parsed value.
check() {
    local expr=$1
    shift
    # EXPR may start with statements: "x = d[0]; x['a'] == 1"
    "$@" | CHECK_EXPR="$expr" "$PY" -c "
import json, os, re, sys
d = json.load(sys.stdin)
*pre, last = os.environ['CHECK_EXPR'].split(';')
exec(';'.join(x.strip() for x in pre))
if not eval('(' + last.strip() + ')'):
    print('assertion failed: ' + os.environ['CHECK_EXPR'] + '\\n' + json.dumps(d, ensure_ascii=False, indent=1)[:4000])
    sys.exit(1)
" || fail "check: $expr"
}

scenario() {
    # ONLY="name ..." runs just those scenarios (when debugging)
    local only
    only=" $(echo ${ONLY:-}) " # any whitespace between names
    [ -n "${ONLY:-}" ] && [[ "$only" != *" $1 "* ]] && return 0
    log "scenario $1"
    if ("$1"); then
        RIG_PASSED=$((RIG_PASSED + 1))
        echo "PASS: $1"
    else
        RIG_FAILED=$((RIG_FAILED + 1))
        echo "FAIL: $1"
        (rig_recover) || log "the servers could not be started again after $1"
    fi
}

rig_summary() {
    echo "$RIG_PASSED passed, $RIG_FAILED failed"
    [ "$RIG_FAILED" = 0 ]
}

# ---- Sendmail instead of Postfix (tests/milter_sendmail.sh) ----

# Debian's sendmail-bin and sendmail-cf, unpacked by .ci/install-deps (Sendmail cannot be
# installed beside Postfix).
SENDMAIL_ROOT=/opt/ticketgate-ci/sendmail
SENDMAIL="$SENDMAIL_ROOT/usr/libexec/sendmail/sendmail"
# Sendmail sleeps a minute at each start on a host whose name has no domain: it and the milter
# (whose mailer runs it) get one of their own (see with-hostname.sh).
WITH_HOSTNAME=(unshare --uts "$RIG_SRC/with-hostname.sh" rig.localdomain)

# rig_init_sendmail - the directory tree, a sendmail.cf built from tests/rig/sendmail.mc, and a
# ticketgate configuration whose mailer submits through this Sendmail.
rig_init_sendmail() {
    rig_require "$SENDMAIL" /usr/bin/m4 /usr/bin/unshare /usr/bin/swaks
    rig_dir
    local sm="$RIG/sendmail"
    mkdir -p "$sm/queue" "$sm/mail"
    chmod 700 "$sm/queue"
    MAILDIR="$sm/mail"
    printf 'hosts files\naliases files\n' > "$sm/service.switch"
    printf '127.0.0.1 localhost rig.localdomain\n' > "$sm/hosts"
    printf 'postmaster: root\n' > "$sm/aliases"
    : > "$sm/statistics"
    sed -e "s|@CF@|$SENDMAIL_ROOT/usr/share/sendmail/cf|" -e "s|@RIG@|$RIG|g" \
        -e "s|@RIG_SRC@|$RIG_SRC|g" -e "s|@RIG_PORT@|$RIG_PORT|" "$RIG_SRC/sendmail.mc" |
        m4 > "$sm/sendmail.cf" 2> "$sm/m4.log" || fail "m4: $(cat "$sm/m4.log")"
    "${WITH_HOSTNAME[@]}" "$SENDMAIL" -C "$sm/sendmail.cf" -bi > "$sm/newaliases.log" 2>&1 ||
        fail "sendmail -bi: $(cat "$sm/newaliases.log")"
    rig_config
    sed -i "s|^command = .*|command = $SENDMAIL -C $sm/sendmail.cf|" "$CONF"
}

rig_start_sendmail() {
    "${WITH_HOSTNAME[@]}" "$SENDMAIL" -C "$RIG/sendmail/sendmail.cf" -bd -L sm-rig ||
        fail "sendmail -bd"
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$RIG_PORT") 2>/dev/null && return 0
        sleep 0.1
    done
    fail "sendmail did not listen on 127.0.0.1:$RIG_PORT"
}

# rig_stop_sendmail - the daemon (the first line of its pid file).
rig_stop_sendmail() {
    stop_pid "$(head -1 "$RIG/sendmail/sendmail.pid" 2>/dev/null)" 10
    rm -f "$RIG/sendmail/sendmail.pid"
}

# ---- XMPP: Prosody and ticketgate-xmpp ----

C2S_PORT=$((RIG_PORT + 1000))
COMPONENT_PORT=$((RIG_PORT + 1001))
COMPONENT=support.localhost

# rig_init_prosody USER... - a Prosody configuration with these users (password "pw").
rig_init_prosody() {
    rig_require /usr/bin/prosody /usr/bin/prosodyctl "$PY"
    "$PY" -c 'import slixmpp' 2> /dev/null || fail "python3-slixmpp is not installed"
    rig_dir
    mkdir -p "$RIG/prosody/data" "$RIG/prosody/certs"
    sed -e "s|@RIG@|$RIG|g" -e "s|@C2S_PORT@|$C2S_PORT|" -e "s|@COMPONENT_PORT@|$COMPONENT_PORT|" \
        "$RIG_SRC/prosody.cfg.lua" > "$RIG/prosody/prosody.cfg.lua"
    for user in "$@"; do
        prosodyctl --config "$RIG/prosody/prosody.cfg.lua" register "$user" localhost pw ||
            fail "prosodyctl register $user"
    done
}

rig_start_prosody() {
    rig_remember_start prosody rig_start_prosody
    prosody -F --config "$RIG/prosody/prosody.cfg.lua" > "$RIG/prosody/console.log" 2>&1 &
    echo $! > "$RIG/prosody-pid"
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$COMPONENT_PORT") 2>/dev/null && return 0
        sleep 0.1
    done
    fail "prosody did not listen: $(tail -5 "$RIG/prosody/console.log")"
}

rig_stop_prosody() {
    stop_pid "$(cat "$RIG/prosody-pid" 2>/dev/null)" 10
    rm -f "$RIG/prosody-pid"
}

# rig_xmpp_config [EXTRA] - the component's configuration for the XMPP tests (Prosody and
# ejabberd alike); EXTRA is appended (more sections).
rig_xmpp_config() {
    printf 's3cret\n' > "$RIG/secret"
    cat > "$CONF" <<EOF
[general]
company = Example Ltd
timezone = Europe/Moscow
[store]
path = $RIG/store/tickets.db
[rules]
file = $srcdir/contrib/rules.conf
[xmpp]
port = $COMPONENT_PORT
domain = $COMPONENT
secret_file = $RIG/secret
reconnect_max = 4s
max_body = 4K
rate_limit = 20
[queue support]
addresses = support@example.org
xmpp = support
group = l1
[agent ann]
name = Ann Agent
email = ann@example.org
jid = ann@localhost
groups = l1
${1:-}
EOF
}

# rig_start_xmpp - the component in the foreground; returns once it has connected.
rig_start_xmpp() {
    start_daemon xmpp 'connected to' ${XMPP_WRAPPER:-} "$top_builddir/xmpp/ticketgate-xmpp" \
        "${C[@]}" -f -P "$RIG/milter/xmpp.pid" "$@"
}

xmpp_pid() {
    cat "$RIG/xmpp-pid" 2>/dev/null
}

rig_stop_xmpp() {
    stop_daemon xmpp "$@"
}

# ---- XMPP on ejabberd instead of Prosody (the same ports; tests/xmpp_ejabberd.sh) ----

EJABBERD_NODE="tg$RIG_PORT@localhost"

# ejabberdctl_rig COMMAND... - ejabberdctl on this test's node, configuration, spool and logs.
# (ejabberdctl runs ejabberd as the ejabberd user: $RIG/ejabberd is that user's.)
ejabberdctl_rig() {
    ejabberdctl --config "$RIG/ejabberd/ejabberd.yml" --ctl-config "$RIG/ejabberd/ejabberdctl.cfg" \
        --spool "$RIG/ejabberd/spool" --logs "$RIG/ejabberd/logs" --node "$EJABBERD_NODE" "$@"
}

# rig_init_ejabberd USER... - start a private ejabberd with these users (password "pw").
rig_init_ejabberd() {
    rig_require /usr/sbin/ejabberdctl /usr/bin/epmd "$PY"
    "$PY" -c 'import slixmpp' 2> /dev/null || fail "python3-slixmpp is not installed"
    rig_dir
    mkdir -p "$RIG/ejabberd/spool" "$RIG/ejabberd/logs"
    sed -e "s|@C2S_PORT@|$C2S_PORT|" -e "s|@COMPONENT_PORT@|$COMPONENT_PORT|" \
        "$RIG_SRC/ejabberd.yml" > "$RIG/ejabberd/ejabberd.yml"
    printf 'EJABBERD_PID_PATH=%s\nERL_EPMD_ADDRESS=127.0.0.1\n' "$RIG/ejabberd/ejabberd.pid" \
        > "$RIG/ejabberd/ejabberdctl.cfg"
    chown -R ejabberd: "$RIG/ejabberd"
    # epmd, Erlang's name server, is started by the first node: stop it at the end if it was ours
    epmd -names > /dev/null 2>&1 || RIG_OWN_EPMD=1
    rig_start_ejabberd
    for user in "$@"; do
        ejabberdctl_rig register "$user" localhost pw > /dev/null || fail "ejabberdctl register $user"
    done
}

rig_start_ejabberd() {
    ejabberdctl_rig start || fail "ejabberdctl start"
    ejabberdctl_rig started # waits until the node has started (or failed to)
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$COMPONENT_PORT") 2>/dev/null && return 0
        sleep 0.1
    done
    fail "ejabberd did not listen: $(tail -5 "$RIG/ejabberd/logs/ejabberd.log")"
}

# rig_stop_ejabberd - TERM to the Erlang VM (it stops cleanly), KILL after 20 s.
rig_stop_ejabberd() {
    stop_pid "$(cat "$RIG/ejabberd/ejabberd.pid" 2>/dev/null)" 20
    rm -f "$RIG/ejabberd/ejabberd.pid"
}

# chat USER STEPS-JSON - run the scripted client as USER@localhost; prints its JSON.
chat() {
    "$PY" "$RIG_SRC/chat.py" "$C2S_PORT" "$1@localhost" pw "$2" 2>> "$RIG/chat.err"
}
