#!/usr/bin/env bash
# ticketgatectl purge, as a cron job runs it for data retention: resolved and closed tickets
# unchanged for more than N days are deleted with all their rows; open ones, recent ones and those
# with a reply still to send stay; no reference is given twice afterwards, not even the newest
# ticket's; --dry-run only counts; a store of 1,500 old tickets is purged a chunk at a time.
. "${srcdir:-.}/tests/ctl_lib.sh" purge
ctl_config "$work/ticketgate.conf" "$work/t.db"
C=(-c "$work/ticketgate.conf")
q() { sqlite3 "$work/t.db" "$1"; }
mail() { # FILE FROM SUBJECT [MESSAGE-ID]
    printf 'From: %s\nTo: support@example.org\nSubject: %s\nMessage-ID: <%s>\n\nThe printer is jammed.\n' \
        "$2" "$3" "${4:-$RANDOM.$RANDOM@customer.example}" > "$1"
}
days_ago() { echo $(($(date +%s) - $1 * 86400)); }

for i in 1 2 3 4 5 6; do mail "$work/$i.eml" "c$i@customer.example" "Request $i" "$i@customer.example"; done
"$CTL" "${C[@]}" ingest "$work"/[1-6].eml > /dev/null
q "UPDATE outbox SET status = 'sent'" # as the milter's mailer would have done
"$CTL" "${C[@]}" resolve --agent ann SUP-1 > /dev/null
"$CTL" "${C[@]}" close --agent ann SUP-2 > /dev/null
"$CTL" "${C[@]}" reply --agent ann SUP-4 "We are on it." > /dev/null # a reply nobody has sent yet
"$CTL" "${C[@]}" close --agent ann SUP-4 > /dev/null
"$CTL" "${C[@]}" close --agent ann SUP-5 > /dev/null
"$CTL" "${C[@]}" close --agent ann SUP-6 > /dev/null
# 40 days pass for all but SUP-5 (SUP-3 open, SUP-4 with its pending reply, SUP-6 the newest)
q "UPDATE tickets SET updated_at = $(days_ago 40) WHERE ref != 'SUP-5'"
rows() { q "SELECT (SELECT count(*) FROM messages WHERE ticket_id IN ($1)) || ' ' ||
    (SELECT count(*) FROM events WHERE ticket_id IN ($1)) || ' ' ||
    (SELECT count(*) FROM outbox WHERE ticket_id IN ($1)) || ' ' ||
    (SELECT count(*) FROM thread_addresses WHERE ticket_id IN ($1))"; }
kept_before=$(rows "3, 4, 5")
[ "$(rows "1, 2, 6" | cut -d' ' -f1-3)" != "0 0 0" ] || fail "nothing to purge in the setup"

[[ $("$CTL" "${C[@]}" purge --older-than 30 --dry-run) == "would purge 3 resolved or closed tickets unchanged since "* ]] ||
    fail "dry run: $("$CTL" "${C[@]}" purge --older-than 30 --dry-run)"
[ "$(q "SELECT count(*) FROM tickets")" = 6 ] || fail "the dry run deleted"
[ "$("$CTL" "${C[@]}" purge --older-than 50)" = "purged 0 resolved or closed tickets unchanged since $(TZ=Europe/Moscow date -d @"$(days_ago 50)" '+%Y-%m-%d %H:%M %Z')" ] ||
    fail "purge --older-than 50"
[[ $("$CTL" "${C[@]}" purge --older-than 30) == "purged 3 resolved or closed tickets unchanged since "* ]] ||
    fail "purge"
[ "$(q "SELECT group_concat(ref, ' ') FROM (SELECT ref FROM tickets ORDER BY id)")" = "SUP-3 SUP-4 SUP-5" ] ||
    fail "left: $(q "SELECT group_concat(ref, ' ') FROM tickets")"
[ "$(rows "1, 2, 6")" = "0 0 0 0" ] || fail "rows of purged tickets left: $(rows "1, 2, 6")"
[ "$(rows "3, 4, 5")" = "$kept_before" ] || fail "rows of kept tickets changed"
[ "$(q "PRAGMA integrity_check")" = ok ] && [ -z "$(q "PRAGMA foreign_key_check")" ] || fail "integrity"
set +e; "$CTL" "${C[@]}" show SUP-1 > /dev/null 2>&1; rc=$?; set -e
[ $rc = 66 ] || fail "show of a purged ticket: exit $rc"

# the customer of a purged ticket writes again, with its tag: a new ticket, with a reference
# never given before (not SUP-6, the newest ticket's until the purge)
mail "$work/again.eml" c1@customer.example "Re: [SUP-1] Request 1"
"$CTL" "${C[@]}" ingest "$work/again.eml" | grep -q 'SUP-7 new' || fail "after the purge: $("$CTL" "${C[@]}" show SUP-7)"

# usage
for args in "" "--older-than 0" "--older-than 36501" "--older-than 30 extra"; do
    set +e; "$CTL" "${C[@]}" purge $args > /dev/null 2>&1; rc=$?; set -e
    [ $rc = 64 ] || fail "purge $args: exit $rc"
done

# 1,500 old closed tickets (and the rest) go a chunk at a time; numbering goes on
mkdir "$work/many"
for i in $(seq 1500); do mail "$work/many/$i.eml" "m$i@customer.example" "Many $i" "m$i@customer.example"; done
"$CTL" "${C[@]}" ingest --jobs 4 "$work"/many/*.eml > /dev/null
q "UPDATE outbox SET status = 'sent'; UPDATE tickets SET status = 'closed', updated_at = $(days_ago 400)"
[[ $("$CTL" "${C[@]}" purge --older-than 365) == "purged 1504 resolved or closed tickets unchanged since "* ]] ||
    fail "purge of many"
[ "$(q "SELECT (SELECT count(*) FROM tickets) + (SELECT count(*) FROM messages) + (SELECT count(*) FROM events)")" = 0 ] ||
    fail "left after purging all"
mail "$work/last.eml" last@customer.example "After all"
"$CTL" "${C[@]}" ingest "$work/last.eml" | grep -q 'SUP-1508 new' || fail "numbering after purging all"
echo "1 passed, 0 failed"
