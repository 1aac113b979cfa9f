#!/usr/bin/env bash
# Hostile mail through parsing, intake and the reply (tests/fuzz_mail.c): 3,000 mutants of the
# corpus natively, then 150 others under valgrind's memcheck, which must find no invalid access
# and no definite leak. (Not uninitialised values: PCRE2's JIT, which the rules and GRegex use,
# branches on the bytes it reads past a subject's end, hundreds of times with such input, in code
# with no object that no suppression can single out.)
set -uo pipefail
top_builddir=${top_builddir:-.}
export srcdir=${srcdir:-.}
FUZZ="$top_builddir/tests/fuzz_mail"
passed=0 failed=0
if FUZZ_ITERATIONS=3000 "$FUZZ"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
if FUZZ_ITERATIONS=150 FUZZ_SEED=7 valgrind -q --error-exitcode=9 --undef-value-errors=no --leak-check=full \
    --errors-for-leak-kinds=definite --suppressions="$srcdir/tests/rig/valgrind.supp" "$FUZZ"; then
    passed=$((passed + 1))
else
    echo "FAIL: valgrind"
    failed=$((failed + 1))
fi
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
