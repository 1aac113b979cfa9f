#!/usr/bin/env bash
# Every directive in the code's table is documented in ticketgate.conf(5) under its section and
# shown in contrib/ticketgate.conf; every option of the programs is in their man page; the
# systemd units of contrib/ pass `systemd-analyze verify` (no unknown or misspelt directive); the
# installed man pages name the configuration file this build reads.
set -uo pipefail
top_builddir=${top_builddir:-.}
srcdir=${srcdir:-.}
CTL="$top_builddir/ctl/ticketgatectl"
work=$(mktemp -d /tmp/tg-doc-XXXXXX)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0
problem() { echo "FAIL: $*"; failed=$((failed + 1)); }

# (no configuration needed: the list is what one reads before writing it)
"$CTL" -c /nonexistent directives > "$work/directives" || problem "ticketgatectl directives"
[ "$(wc -l < "$work/directives")" -gt 40 ] || problem "too few directives listed"

# "[section] key" pairs documented in the man page: .SS [section] then .B key lines
awk '/^\.SS \[/ { sub(/^\.SS /, ""); section = $0; next }
     /^\.SH/ { section = "" }
     section != "" && /^\.B [a-z_]+$/ { print section "|" $2 }' \
    "$srcdir/doc/ticketgate.conf.5" > "$work/documented"
# "[section] key" pairs in the example config, commented or not
awk '/^\[/ { s = $0; sub(/ [^]]*\]/, " NAME]", s); if (s !~ /NAME/) s = $0; section = s; next }
     /^#? ?[a-z_]+ = / { k = $0; sub(/^# ?/, "", k); sub(/ = .*/, "", k); print section "|" k }' \
    "$srcdir/contrib/ticketgate.conf" > "$work/example"

while IFS='|' read -r section key; do
    grep -qxF "$section|$key" "$work/documented" || problem "$section $key is not in ticketgate.conf(5)"
    grep -qxF "$section|$key" "$work/example" || problem "$section $key is not in contrib/ticketgate.conf"
done < <(sed 's/^\(\[[^]]*\]\) \([a-z_]*\) = .*/\1|\2/' "$work/directives")
[ "$failed" = 0 ] && passed=$((passed + 1))

# options: every short option in --help is in the program's man page
before=$failed
for prog in milter/ticketgate-milter:ticketgate-milter.8 xmpp/ticketgate-xmpp:ticketgate-xmpp.8; do
    bin="$top_builddir/${prog%%:*}" page="$srcdir/doc/${prog##*:}"
    opts=$("$bin" --help | sed -n 's/^ *-\([a-zA-Z]\), --.*/\1/p' | grep -v '^h$')
    [ -n "$opts" ] || problem "$bin --help lists no options"
    for o in $opts; do
        grep -q "^\.B.* \\\\-$o\b\|^\.BI \\\\-$o " "$page" || problem "-$o of $bin is not in $page"
    done
done
for cmd in $("$CTL" --help | sed -n 's/^  \([a-z][a-z|-]*\).*/\1/p' | tr '|' ' '); do
    grep -q "^\.B.*$(echo "$cmd" | sed 's/-/\\\\-/g')" "$srcdir/doc/ticketgatectl.1" ||
        problem "ticketgatectl $cmd is not in ticketgatectl.1"
done
# every option of every ticketgatectl command (its --help, which needs no configuration) is
# in the usage and in the man page's entry for the command
before=$failed
"$CTL" --help > "$work/usage"
for cmd in $(sed -n 's/^  \([a-z][a-z|-]*\).*/\1/p' "$work/usage" | tr '|' ' '); do
    "$CTL" -c /nonexistent "$cmd" --help > "$work/help" || problem "ticketgatectl $cmd --help failed"
    for o in $(sed -n 's/^  \(-[a-zA-Z], \)\{0,1\}--\([a-z][a-z-]*\).*/\2/p' "$work/help" | grep -vx help); do
        awk -v c="$cmd" '$1 ~ "(^|[|])" c "([|]|$)" { print }' "$work/usage" | grep -q -- "--$o\b" ||
            problem "ticketgatectl $cmd --$o is not in ticketgatectl --help"
        grep "^\.B.*\b$cmd\b" "$srcdir/doc/ticketgatectl.1" | sed 's/\\-/-/g' | grep -q -- "--$o\b" ||
            problem "ticketgatectl $cmd --$o is not in ticketgatectl.1"
    done
done
# the cron file of contrib/ runs ticketgatectl commands and options that exist
while read -r cmd opts; do
    "$CTL" -c /nonexistent "$cmd" --help > "$work/help" 2> /dev/null || problem "contrib/cron: no command $cmd"
    for o in $(echo "$opts" | grep -o -- '--[a-z-]*'); do
        grep -q -- "$o\b" "$work/help" || problem "contrib/cron: ticketgatectl $cmd has no $o"
    done
done < <(sed -n 's/.*ticketgatectl \([a-z-]*\)\(.*\)/\1 \2/p' "$srcdir/contrib/cron/ticketgate")
[ "$failed" = "$before" ] && passed=$((passed + 1))

# systemd units: verified with the built programs in place of the installed ones, and the man
# pages their Documentation= names in a man tree of their own
before=$failed
mkdir -p "$work/units" "$work/man/man1" "$work/man/man5" "$work/man/man8"
cp "$srcdir"/doc/*.1 "$work/man/man1/"
cp "$srcdir"/doc/*.5 "$work/man/man5/"
cp "$srcdir"/doc/*.8 "$work/man/man8/"
for unit in "$srcdir"/contrib/systemd/*.service; do
    sed -e "s|/usr/sbin/ticketgate-milter|$(cd "$top_builddir" && pwd)/milter/ticketgate-milter|g" \
        -e "s|/usr/sbin/ticketgate-xmpp|$(cd "$top_builddir" && pwd)/xmpp/ticketgate-xmpp|g" \
        "$unit" > "$work/units/$(basename "$unit")"
done
if ! command -v systemd-analyze > /dev/null; then
    problem "systemd-analyze is not installed (see .ci/install-deps)"
elif ! MANPATH="$work/man" SYSTEMD_LOG_COLOR=0 systemd-analyze verify "$work"/units/*.service \
    > "$work/verify.log" 2>&1 || [ -s "$work/verify.log" ]; then
    problem "systemd-analyze verify: $(cat "$work/verify.log")"
fi
[ "$failed" = "$before" ] && passed=$((passed + 1))

# the man pages this build installs give the configuration file the programs read by default
before=$failed
default=$("$CTL" --help 2>&1 | sed -n 's/^-c FILE defaults to //p')
[ -n "$default" ] || problem "ticketgatectl --help does not name its default configuration"
for page in ticketgatectl.1 ticketgate-milter.8 ticketgate-xmpp.8 ticketgate.conf.5; do
    grep -qF "$default" "$top_builddir/man/$page" ||
        problem "man/$page does not name $default (the default of this build)"
done
[ "$failed" = "$before" ] && passed=$((passed + 1))
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
