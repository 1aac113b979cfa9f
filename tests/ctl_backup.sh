#!/usr/bin/env bash
# ticketgatectl backup while tickets are being written, as a cron job takes it beside the
# daemons: every copy is a whole, consistent store (tickets whole, none half-written), readable
# by ticketgate, private (0600), and named only when complete; a backup never replaces a file.
# ticketgatectl restore: the store then has the backup's tickets, lists them and takes new mail
# (with references never given before); what it replaced is kept in a backup; a file that is not
# a store is refused, changing nothing. contrib/cron's jobs: two weeks of backups, a health check.
. "${srcdir:-.}/tests/ctl_lib.sh" backup
MAILS=4000

mkdir -p "$work/store" "$work/backups" "$work/mail"
ctl_config "$work/ticketgate.conf" "$work/store/tickets.db"
C=(-c "$work/ticketgate.conf")
for i in $(seq "$MAILS"); do
    printf 'From: c%d@customer.example\nTo: support@example.org\nSubject: Request %d\nMessage-ID: <%d@customer.example>\n\nThe printer %d is jammed.\n' \
        "$i" "$i" "$i" "$i" > "$work/mail/$i.eml"
done

# broken COPY - what is not whole in a copy: tickets without their mail, creation event or
# auto-reply, and rows of tickets that are not in it.
broken() {
    sqlite3 "$1" "PRAGMA integrity_check" | grep -vx ok
    sqlite3 "$1" "SELECT ref FROM tickets t WHERE
        (SELECT count(*) FROM messages WHERE ticket_id = t.id AND direction = 'in') != 1
        OR (SELECT count(*) FROM events WHERE ticket_id = t.id AND kind = 'created') != 1
        OR (SELECT count(*) FROM outbox WHERE ticket_id = t.id AND kind = 'autoreply') != 1
        UNION ALL SELECT 'message ' || id FROM messages WHERE ticket_id NOT IN (SELECT id FROM tickets)
        UNION ALL SELECT 'event ' || id FROM events WHERE ticket_id NOT IN (SELECT id FROM tickets)
        UNION ALL SELECT 'outbox ' || id FROM outbox WHERE ticket_id NOT IN (SELECT id FROM tickets)
        LIMIT 5"
}

# the store is made, then written by two processes of four threads each while backups are
# taken, one after another, until the writing is over
"$CTL" "${C[@]}" ingest "$work/mail/1.eml" > /dev/null
ls "$work"/mail/*.eml | grep -v '/1\.eml$' > "$work/todo"
split -n l/2 "$work/todo" "$work/part."
for part in "$work"/part.*; do
    xargs "$CTL" "${C[@]}" ingest --jobs 4 < "$part" > /dev/null 2>> "$work/ingest.err" &
done
copies=0
while [ -n "$(jobs -pr)" ]; do
    copies=$((copies + 1))
    "$CTL" "${C[@]}" backup "$work/backups/$copies.db" >> "$work/backup.out" || fail "backup failed"
done
wait || fail "ingest: $(cat "$work/ingest.err")"
[ "$(sqlite3 "$work/store/tickets.db" "SELECT count(*) FROM tickets")" = "$MAILS" ] || fail "ingest"

during=0 last=0
for copy in $(seq -f "$work/backups/%g.db" "$copies"); do
    problems=$(broken "$copy")
    [ -z "$problems" ] || fail "$copy is not whole: $problems"
    n=$(sqlite3 "$copy" "SELECT count(*) FROM tickets")
    [ "$n" -ge "$last" ] || fail "$copy has $n tickets, the one before $last"
    [ "$n" -gt 1 ] && [ "$n" -lt "$MAILS" ] && during=$((during + 1))
    grep -qx "$copy: $n tickets, .* MB, checked" "$work/backup.out" || fail "not reported: $copy $n"
    [ "$(stat -c %a "$copy")" = 600 ] || fail "$copy is mode $(stat -c %a "$copy")"
    last=$n
done
[ "$(ls "$work"/backups/*.db | wc -l)" = "$copies" ] || fail "$copies backups taken, files: $(ls "$work/backups")"
[ "$during" -ge 2 ] || fail "$during backups of $copies were taken while tickets were written"
[ -z "$(ls -A "$work/backups" | grep -v '^[0-9]*\.db$')" ] ||
    fail "left beside the backups: $(ls -A "$work/backups")"
echo "$copies copies, $during while tickets were written, each whole"

# into a directory: named after the store and the time
"$CTL" "${C[@]}" backup "$work/backups" > "$work/named.out"
named=$(ls "$work"/backups/tickets-*.db)
[[ $named =~ /tickets-[0-9]{8}-[0-9]{6}\.db$ ]] || fail "backup into a directory: $named"
grep -qx "$named: $MAILS tickets, .* MB, checked" "$work/named.out" || fail "$(cat "$work/named.out")"

# the nightly job of contrib/cron, run by sh as cron runs it (with this test's directory and
# configuration): a new backup, and those older than two weeks deleted, whatever the store is
# called (tickets.db here, not the shipped ticketgate.db)
nightly=$(grep -m1 'ticketgatectl backup' "$srcdir/contrib/cron/ticketgate" | sed -E 's/^([^ ]+ +){6}//')
nightly=${nightly//\/var\/backups\/ticketgate/$work/nightly}
nightly=${nightly//ticketgatectl /$CTL -c $work/ticketgate.conf }
mkdir -m 0700 "$work/nightly"
"$CTL" "${C[@]}" backup "$work/nightly" > /dev/null
"$CTL" "${C[@]}" backup "$work/nightly" > /dev/null
old=($(ls "$work"/nightly/*.db))
touch -d '15 days ago' "${old[0]}"
touch -d '13 days ago' "${old[1]}"
sh -c "$nightly" || fail "the nightly job failed: $nightly"
left=$(ls "$work"/nightly)
[ ! -e "${old[0]}" ] && [ -e "${old[1]}" ] && [ "$(echo "$left" | wc -l)" = 2 ] ||
    fail "after the nightly job ($nightly): $left"
echo "contrib/cron's nightly job: one backup made, the one older than two weeks deleted"

cp "$named" "$work/full.db"
[ -z "$(broken "$work/full.db")" ] || fail "full.db is not whole"

# never replaces a file (exit 73), whatever it is: a backup, the store itself
for existing in "$work/full.db" "$work/store/tickets.db"; do
    before=$(md5sum < "$existing")
    set +e; msg=$("$CTL" "${C[@]}" backup "$existing" 2>&1); rc=$?; set -e
    [ $rc = 73 ] || fail "backup onto $existing: exit $rc"
    [ "$msg" = "ticketgatectl backup: $existing exists; a backup never replaces a file" ] ||
        fail "backup onto $existing: $msg"
    [ "$(md5sum < "$existing")" = "$before" ] || fail "$existing was changed"
done
set +e; msg=$("$CTL" "${C[@]}" backup "$work/missing/x.db" 2>&1); rc=$?; set -e
[ $rc = 73 ] && [ "$msg" = "ticketgatectl backup: cannot create a file in $work/missing: No such file or directory" ] ||
    fail "backup into a missing directory: exit $rc: $msg"
# no store: the view's error, and no file
ctl_config "$work/none.conf" "$work/nowhere.db"
set +e; msg=$("$CTL" -c "$work/none.conf" backup "$work/none.db" 2>&1); rc=$?; set -e
[ $rc = 70 ] && [[ $msg == "ticketgatectl: store $work/nowhere.db does not exist"* ]] ||
    fail "backup without a store: exit $rc: $msg"
[ ! -e "$work/none.db" ] && [ ! -e "$work/nowhere.db" ] || fail "backup without a store made a file"

# contrib/cron's hourly job: says nothing while all is well (cron mails nothing), and what is
# wrong once when something is
hourly=$(grep -m1 'ticketgatectl status' "$srcdir/contrib/cron/ticketgate" | sed -E 's/^([^ ]+ +){6}//')
out=$(sh -c "${hourly//ticketgatectl /$CTL -c $work/ticketgate.conf }" 2>&1) || fail "hourly job: $out"
[ -z "$out" ] || fail "the hourly job spoke while all is well: $out"
out=$(sh -c "${hourly//ticketgatectl /$CTL -c $work/none.conf }" 2>&1) && fail "the hourly job without a store: exit 0"
[ "$out" = "ticketgatectl: store $work/nowhere.db does not exist (a daemon makes it at its first start)" ] ||
    fail "the hourly job without a store said: $out"

# read permission is enough: a backup user who may only read the store
chmod 755 "$work" && chmod 755 "$work/store" && chmod 644 "$work"/store/*
mkdir "$work/nobody" && chown nobody "$work/nobody"
runuser -u nobody -- "$CTL" "${C[@]}" backup "$work/nobody/t.db" | grep -q "$MAILS tickets" ||
    fail "backup by a reader"

# restore: the backup's tickets replace the store's, which are kept in a backup beside it first
copy="$work/backups/2.db"
n=$(sqlite3 "$copy" "SELECT count(*) FROM tickets")
"$CTL" "${C[@]}" restore "$copy" > "$work/restore.out" || fail "restore: $(cat "$work/restore.out")"
kept=$(ls "$work"/store/tickets-before-restore-*.db)
[ "$(cat "$work/restore.out")" = "$work/store/tickets.db: $n tickets from $copy; the $MAILS it held are in $kept" ] ||
    fail "restore said: $(cat "$work/restore.out")"
"$CTL" "${C[@]}" list --json | python3 -c "import json, sys; sys.exit(len(json.load(sys.stdin)) != $n)" ||
    fail "the restored store does not list $n tickets"
[ -z "$(broken "$work/store/tickets.db")" ] && [ -z "$(broken "$kept")" ] || fail "not whole after the restore"
[ "$(sqlite3 "$kept" "SELECT count(*) FROM tickets")" = "$MAILS" ] || fail "kept copy"
[ "$(stat -c %a "$kept")" = 600 ] || fail "kept copy is mode $(stat -c %a "$kept")"
[ "$(sqlite3 "$work/store/tickets.db" "PRAGMA journal_mode")" = wal ] || fail "restored store not in WAL mode"
printf 'From: new@customer.example\nTo: support@example.org\nSubject: After the restore\nMessage-ID: <new@customer.example>\n\nHello.\n' > "$work/new.eml"
# its reference is one never given: not that of a ticket made after the backup
"$CTL" "${C[@]}" ingest "$work/new.eml" | grep -q "SUP-$((MAILS + 1)) new" || fail "no new reference after the restore"
[ "$(sqlite3 "$work/store/tickets.db" "SELECT count(*) FROM tickets")" = $((n + 1)) ] || fail "restore"

# what cannot be restored is refused, and the store is left as it was
sqlite3 "$work/other.db" "CREATE TABLE t(x)"
echo "not a database" > "$work/garbage.db"
for bad in "$work/missing.db:66:$work/missing.db: no such file" \
    "$work/garbage.db:65:$work/garbage.db is not a ticketgate store: file is not a database" \
    "$work/other.db:65:$work/other.db is not a ticketgate store this version can read (schema version 0)"; do
    IFS=: read -r file code want <<< "$bad"
    set +e; msg=$("$CTL" "${C[@]}" restore "$file" 2>&1); rc=$?; set -e
    [ "$rc" = "$code" ] && [ "$msg" = "ticketgatectl restore: $want" ] || fail "restore $file: exit $rc: $msg"
done
[ "$(sqlite3 "$work/store/tickets.db" "SELECT count(*) FROM tickets")" = $((n + 1)) ] || fail "changed by a refused restore"
[ "$(ls "$work"/store/tickets-before-restore-*.db)" = "$kept" ] || fail "a refused restore kept a copy"

# undone by restoring what was kept; and on a new machine, into a store not made yet
"$CTL" "${C[@]}" restore "$kept" | grep -q ": $MAILS tickets from $kept; the $((n + 1)) it held are in " ||
    fail "restore of the kept copy"
ctl_config "$work/new.conf" "$work/new-machine/tickets.db"
mkdir "$work/new-machine"
[ "$("$CTL" -c "$work/new.conf" restore "$copy")" = "$work/new-machine/tickets.db: $n tickets from $copy" ] ||
    fail "restore into a new store"
[ -z "$(broken "$work/new-machine/tickets.db")" ] || fail "new store not whole"
echo "1 passed, 0 failed"
