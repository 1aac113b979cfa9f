#!/usr/bin/env bash
# The README's first command, end to end: ./demo.sh prints two tickets and both auto-replies,
# and ./demo.sh stop leaves no process behind.
set -uo pipefail
top_builddir=$(cd "${top_builddir:-.}" && pwd)
srcdir=$(cd "${srcdir:-.}" && pwd)
dir=$(mktemp -d /var/tmp/tg-demo-XXXXXX)
chmod 755 "$dir" # Postfix and Prosody run as their own users below it
export TG_DEMO_DIR=$dir/demo TG_DEMO_PORT=10070 TG_BUILDDIR=$top_builddir
trap '"$srcdir/demo.sh" stop > /dev/null 2>&1; rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; echo "0 passed, 1 failed"; exit 1; }

"$srcdir/demo.sh" > "$dir/out" 2>&1 || fail "demo.sh: $(tail -30 "$dir/out")"
cat "$dir/out"
grep -q '^SUP-1 .*The printer prints blank pages' "$dir/out" || fail "no mail ticket listed"
grep -q '^SUP-2 .*Не подключается VPN' "$dir/out" || fail "no chat ticket listed"
grep -q '^Auto-Submitted: auto-replied' "$dir/out" || fail "no mail auto-reply"
grep -q 'Your request has been registered as SUP-1' "$dir/out" || fail "auto-reply text"
grep -q 'support@support.localhost: .*зарегистрировано под номером SUP-2' "$dir/out" || fail "chat reply"
grep -q $'\033' "$dir/out" && fail "terminal escapes in output that is not a terminal"

# "try more": every command it prints, run as printed (continued lines joined), in order; each
# must succeed without a word on stderr
python3 - "$dir/out" > "$dir/tries" <<'EOF' || fail "no commands under 'try more'"
import re, sys
lines = open(sys.argv[1]).read().split("== try more\n", 1)[1].splitlines()
label, command = None, ""
for line in lines:
    m = re.match(r"([A-Z][a-z]+):\s+(.*)", line)
    label, text = (m.group(1), m.group(2)) if m else (label, line.strip())
    if label in ("Users", "Logs", "Stop") or (not command and text.startswith("(")):
        continue  # who there is, paths to look at, the stop run below; what a command does
    command += text
    if command.endswith("\\"):
        command = command[:-1]
    else:
        sys.stdout.write(command + "\0")
        command = ""
EOF
tried=0
while IFS= read -r -d '' command; do
    tried=$((tried + 1))
    bash -c "$command" > "$dir/try.$tried.out" 2> "$dir/try.$tried.err" ||
        fail "try-more command failed: $command: $(cat "$dir/try.$tried.out" "$dir/try.$tried.err")"
    [ ! -s "$dir/try.$tried.err" ] || fail "try-more command wrote on stderr: $command: $(cat "$dir/try.$tried.err")"
done < "$dir/tries"
[ "$tried" = 6 ] || fail "$tried try-more commands, not 6: $(tr '\0' '\n' < "$dir/tries")"
grep -q '^SUP-3 .*urgent .*Urgent: the site is down' "$dir/try.5.out" || fail "the tried mail: $(cat "$dir/try.5.out")"
grep -q 'Please restart the VPN client' "$dir/try.4.out" || fail "the customer's answer: $(cat "$dir/try.4.out")"
grep -q '^Hello again' "$dir/try.6.out" && grep -q 'Please restart the VPN client' "$dir/try.6.out" ||
    fail "show SUP-2: $(cat "$dir/try.6.out")"
echo "the $tried commands under 'try more' work as printed"
"$srcdir/demo.sh" stop || fail "demo.sh stop"
left=$(pgrep -f "$dir" || true)
[ -z "$left" ] || fail "processes left: $(ps -o pid,args -p "$left")"
echo "1 passed, 0 failed"
