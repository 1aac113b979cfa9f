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
"$srcdir/demo.sh" stop || fail "demo.sh stop"
left=$(pgrep -f "$dir" || true)
[ -z "$left" ] || fail "processes left: $(ps -o pid,args -p "$left")"
echo "1 passed, 0 failed"
