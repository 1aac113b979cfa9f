#!/usr/bin/env bash
# Hostile chat through ticketgate-xmpp's message handling, intake and sending (tests/fuzz_chat.c):
# 20,000 random stanzas natively, then 2,000 others under valgrind's memcheck, which must find no
# invalid access and no definite leak (uninitialised values are not checked, for the reason
# fuzz_mail.sh gives: PCRE2's JIT).
set -uo pipefail
top_builddir=${top_builddir:-.}
export srcdir=${srcdir:-.}
FUZZ="$top_builddir/tests/fuzz_chat"
passed=0 failed=0
if FUZZ_ITERATIONS=20000 "$FUZZ"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
if FUZZ_ITERATIONS=2000 FUZZ_SEED=7 valgrind -q --error-exitcode=9 --undef-value-errors=no --leak-check=full \
    --errors-for-leak-kinds=definite --suppressions="$srcdir/tests/rig/valgrind.supp" "$FUZZ"; then
    passed=$((passed + 1))
else
    echo "FAIL: valgrind"
    failed=$((failed + 1))
fi
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
