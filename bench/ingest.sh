#!/usr/bin/env bash
# Benchmark: ticketgatectl ingest throughput (tickets/s) for small mails, and how the cost
# changes from an empty store to one holding 1,000,000 tickets (100,000 open, 20 of them the
# agent's: an agent's open tickets are counted at every assignment). All figures from one run.
# Usage: bench/ingest.sh [BUILD_DIR]      (not part of make check)
set -euo pipefail
build=${1:-.}
CTL="$build/ctl/ticketgatectl"
src=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/tg-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT
N=${N:-10000}
PROBE=${PROBE:-1000}
BIG=${BIG:-1000000}

config() { # $1 db, $2 synchronous
  cat > "$work/$(basename "$1").conf" <<CONF
[general]
timezone = Europe/Moscow
[store]
path = $1
synchronous = $2
busy_timeout = 60s
[rules]
file = $src/contrib/rules.conf
[queue support]
addresses = support@example.org
group = l1
[agent ann]
email = ann@example.org
groups = l1
max_open = 100000
CONF
  echo "$work/$(basename "$1").conf"
}

mails() { # $1 dir, $2 count, $3 tag
  mkdir -p "$1"
  for i in $(seq 1 "$2"); do
    printf 'From: Customer %d <c%d@customer.example>\nTo: support@example.org\nSubject: Request %d: login fails\nMessage-ID: <%d.%s@customer.example>\nContent-Type: text/plain; charset=utf-8\n\nHello, I cannot log in since this morning (%d).\n' \
      "$i" "$i" "$i" "$i" "$3" "$i" > "$1/$i.eml"
  done
}

rate() { # $1 conf, $2 dir, $3 jobs -> tickets/s
  local t0 t1
  t0=$(date +%s.%N)
  find "$2" -name '*.eml' -print0 | xargs -0 "$CTL" -c "$1" ingest --jobs "$3" > /dev/null \
    || { echo "ingest failed" >&2; kill $$; }
  t1=$(date +%s.%N)
  python3 -c "print(f'{$(find "$2" -name '*.eml' | wc -l) / ($t1 - $t0):.0f}')"
}

mails "$work/m" "$N" run
echo "== $N small mails (one ticket each), ticketgatectl ingest"
for sync in full normal; do
  for jobs in 1 2 4; do
    conf=$(config "$work/s-$sync-$jobs.db" "$sync")
    echo "synchronous=$sync jobs=$jobs: $(rate "$conf" "$work/m" "$jobs") tickets/s"
  done
done

echo "== empty store vs $BIG tickets ($PROBE mails each, synchronous=full, jobs=2)"
mails "$work/p" "$PROBE" probe
empty=$(config "$work/empty.db" full)
"$CTL" -c "$empty" check-config > /dev/null
r_empty=$(rate "$empty" "$work/p" 2)
big=$(config "$work/big.db" full)
"$CTL" -c "$big" list --limit 1 > /dev/null   # creates the schema
sqlite3 "$work/big.db" <<SQL
PRAGMA synchronous = OFF;
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $BIG)
INSERT INTO tickets (id, ref, channel, source, queue, category, priority, rule, requester, lang,
                     subject, status, assignee, sla_policy, created_at, updated_at,
                     first_response_due, resolution_due)
SELECT i, 'SUP-' || i, 'email', 'external', 'support', 'technical', 'normal', 'technical',
       'old' || (i % 50000) || '@customer.example', 'en', 'old request ' || i,
       CASE WHEN i % 10 = 0 THEN 'open' ELSE 'closed' END,
       CASE WHEN i % 50000 = 0 THEN 'ann' END, 'standard',
       1700000000 + i, 1700000000 + i, 1700003600 + i, 1700086400 + i FROM n;
INSERT INTO messages (ticket_id, direction, channel, msg_id, sender, subject, body, created_at)
SELECT id, 'in', 'email', 'old' || id || '@customer.example', requester, subject,
       'Hello, this is an old request.', created_at FROM tickets;
INSERT INTO events (ticket_id, at, kind, detail) SELECT id, created_at, 'created', 'bulk' FROM tickets;
COMMIT;
SQL
r_big=$(rate "$big" "$work/p" 2)
echo "empty store: $r_empty tickets/s"
echo "$BIG tickets: $r_big tickets/s (ratio $(python3 -c "print(f'{$r_big / $r_empty:.2f}')"))"
ls -l "$work/big.db" | awk '{printf "store size with %s tickets: %.0f MB\n", "'"$BIG"'", $5 / 1048576}'
