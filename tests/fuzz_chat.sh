#!/usr/bin/env bash
# Hostile chat through ticketgate-xmpp's message, iq and presence handling, intake and sending
# (tests/fuzz_chat.c): 50,000 random stanzas natively, then 2,000 others under valgrind
# (tests/fuzz_lib.sh).
set -uo pipefail
. "${srcdir:-.}/tests/fuzz_lib.sh"
fuzz_run fuzz_chat 50000 2000
