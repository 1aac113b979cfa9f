#!/usr/bin/env bash
# Two ticketgatectl processes with four threads each ingest into one SQLite store:
#  - 2,000 distinct mails -> exactly 2,000 tickets, no error surfaced;
#  - the same 200 mails ingested by both at once -> 200 tickets and 200 auto-replies.
set -euo pipefail
top_builddir=${top_builddir:-.}
srcdir=${srcdir:-.}
CTL="$top_builddir/ctl/ticketgatectl"
work=$(mktemp -d /tmp/tg-conc-XXXXXX)
trap 'rm -rf "$work"' EXIT

write_config() { # $1 = database
  cat > "$work/ticketgate.conf" <<CONF
[general]
timezone = Europe/Moscow
[store]
path = $1
synchronous = normal
busy_timeout = 60s
[rules]
file = $(cd "$srcdir" && pwd)/contrib/rules.conf
[queue support]
addresses = support@example.org
CONF
}

make_mails() { # $1 = dir, $2 = count
  mkdir -p "$1"
  for i in $(seq 1 "$2"); do
    printf 'From: Customer %d <c%d@customer.example>\nTo: support@example.org\nSubject: Request %d: не работает вход\nMessage-ID: <%d.%s@customer.example>\nContent-Type: text/plain; charset=utf-8\n\nЗдравствуйте, запрос номер %d.\n' \
      "$i" "$i" "$i" "$i" "$(basename "$1")" "$i" > "$1/$i.eml"
  done
}

count() { sqlite3 "$1" "$2"; }

# --- 2,000 distinct mails, two processes ---
make_mails "$work/a" 2000
write_config "$work/a.db"
ls "$work"/a/*.eml | sort -t/ -k2 > "$work/all"
head -n 1000 "$work/all" > "$work/half1"
tail -n 1000 "$work/all" > "$work/half2"
xargs "$CTL" -c "$work/ticketgate.conf" ingest --jobs 4 < "$work/half1" > "$work/out1" 2> "$work/err1" &
p1=$!
xargs "$CTL" -c "$work/ticketgate.conf" ingest --jobs 4 < "$work/half2" > "$work/out2" 2> "$work/err2" &
p2=$!
wait $p1 || { echo "process 1 failed:"; cat "$work/err1"; exit 1; }
wait $p2 || { echo "process 2 failed:"; cat "$work/err2"; exit 1; }
[ ! -s "$work/err1" ] && [ ! -s "$work/err2" ] || { echo "errors surfaced:"; cat "$work/err1" "$work/err2"; exit 1; }
tickets=$(count "$work/a.db" "SELECT count(*) FROM tickets")
refs=$(count "$work/a.db" "SELECT count(DISTINCT ref) FROM tickets")
news=$(cat "$work/out1" "$work/out2" | grep -c ' new ')
echo "distinct: tickets=$tickets refs=$refs new-decisions=$news"
[ "$tickets" = 2000 ] && [ "$refs" = 2000 ] && [ "$news" = 2000 ]

# --- the same 200 mails twice, at once ---
make_mails "$work/b" 200
write_config "$work/b.db"
"$CTL" -c "$work/ticketgate.conf" ingest --jobs 4 "$work"/b/*.eml > "$work/out3" 2>&1 &
p1=$!
"$CTL" -c "$work/ticketgate.conf" ingest --jobs 4 "$work"/b/*.eml > "$work/out4" 2>&1 &
p2=$!
wait $p1 && wait $p2
tickets=$(count "$work/b.db" "SELECT count(*) FROM tickets")
replies=$(count "$work/b.db" "SELECT count(*) FROM outbox WHERE kind = 'autoreply'")
dups=$(cat "$work/out3" "$work/out4" | grep -c ' duplicate ')
echo "twice: tickets=$tickets replies=$replies duplicate-decisions=$dups"
[ "$tickets" = 200 ] && [ "$replies" = 200 ] && [ "$dups" = 200 ]
# --- a brand-new store opened by 16 threads of two processes at the same instant ---
write_config "$work/c.db"
make_mails "$work/c" 32
"$CTL" -c "$work/ticketgate.conf" ingest --jobs 16 "$work"/c/[0-9].eml "$work"/c/1*.eml > /dev/null 2> "$work/err5" &
p1=$!
"$CTL" -c "$work/ticketgate.conf" ingest --jobs 16 "$work"/c/[2-3]*.eml > /dev/null 2> "$work/err6" &
p2=$!
wait $p1 && wait $p2 || { echo "opening a new store concurrently failed:"; cat "$work/err5" "$work/err6"; exit 1; }
[ "$(count "$work/c.db" "SELECT count(*) FROM tickets")" = 32 ]
echo "1 passed, 0 failed"
