# ctl_lib.sh - sourced by the ticketgatectl tests (`. tests/ctl_lib.sh NAME`): the program, a
# work directory /tmp/tg-NAME-* removed at exit (after stopping the test's background jobs),
# fail, and the configuration they share.
set -euo pipefail
top_builddir=${top_builddir:-.}
srcdir=$(cd "${srcdir:-.}" && pwd)
CTL="$top_builddir/ctl/ticketgatectl"
work=$(mktemp -d "/tmp/tg-$1-XXXXXX")
trap 'kill $(jobs -p) 2> /dev/null || true; rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# ctl_config FILE STORE - one support queue for the group l1 with agent ann, the shipped rules
ctl_config() {
    cat > "$1" <<CONF
[general]
company = Example Ltd
timezone = Europe/Moscow
[store]
path = $2
[rules]
file = $srcdir/contrib/rules.conf
[queue support]
addresses = support@example.org
group = l1
[agent ann]
email = ann@example.org
groups = l1
CONF
}
