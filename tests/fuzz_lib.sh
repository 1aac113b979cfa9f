# fuzz_lib.sh - sourced by the fuzz tests. fuzz_run PROGRAM NATIVE UNDER_VALGRIND: NATIVE
# iterations of tests/PROGRAM, then UNDER_VALGRIND others (another seed) under valgrind's
# memcheck, which must find no invalid access and no definite leak. Not uninitialised values:
# PCRE2's JIT, which the rules and GRegex use, branches on the bytes it reads past a subject's
# end, hundreds of times with such input, in code with no object that no suppression can single
# out. Exits with the outcome.
fuzz_run() {
    local fuzz="${top_builddir:-.}/tests/$1" passed=0 failed=0
    export srcdir=${srcdir:-.}
    if FUZZ_ITERATIONS=$2 "$fuzz"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
    if FUZZ_ITERATIONS=$3 FUZZ_SEED=7 valgrind -q --error-exitcode=9 --undef-value-errors=no \
        --leak-check=full --errors-for-leak-kinds=definite \
        --suppressions="$srcdir/tests/rig/valgrind.supp" "$fuzz"; then
        passed=$((passed + 1))
    else
        echo "FAIL: valgrind"
        failed=$((failed + 1))
    fi
    echo "$passed passed, $failed failed"
    [ "$failed" = 0 ]
    exit
}
