#!/usr/bin/env bash
# Hostile configurations through the loader every program uses (tests/fuzz_config.c): 3,000
# mutants of the shipped ticketgate.conf and rules.conf natively, then 100 others under valgrind
# (tests/fuzz_lib.sh).
set -uo pipefail
. "${srcdir:-.}/tests/fuzz_lib.sh"
fuzz_run fuzz_config 3000 100
