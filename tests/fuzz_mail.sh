#!/usr/bin/env bash
# Hostile mail through parsing, intake and the reply (tests/fuzz_mail.c): 3,000 mutants of the
# corpus natively, then 150 others under valgrind (tests/fuzz_lib.sh).
set -uo pipefail
. "${srcdir:-.}/tests/fuzz_lib.sh"
fuzz_run fuzz_mail 3000 150
