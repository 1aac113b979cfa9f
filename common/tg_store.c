/* tg_store.c - the SQLite backend of the store: WAL mode, a busy timeout, numbered migrations
 * on PRAGMA user_version, and prepared statements cached per connection. All SQL of ticketgate
 * is in this file, and every value reaches SQLite through sqlite3_bind_*. */
#include <glib.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tg_store.h"
#include "tg_walbuf.h"

#define OUTBOX_COLS                                                                                \
    "id, ticket_id, channel, kind, recipient, recipient_name, sender, sender_name, subject,"       \
    " body, in_reply_to, refs, thread, lang, status, attempts, created_at, msg_id, last_error,"    \
    " stanza_type, attachments_mime"

/* Each migration brings the schema from version i to i + 1 and sets user_version itself. */
static const char *const migrations[] = {
    "CREATE TABLE tickets ("
    "  id INTEGER PRIMARY KEY, ref TEXT UNIQUE,"
    "  channel TEXT NOT NULL, source TEXT NOT NULL, queue TEXT NOT NULL, category TEXT,"
    "  priority TEXT NOT NULL, rule TEXT, requester TEXT NOT NULL, requester_name TEXT,"
    "  lang TEXT, subject TEXT NOT NULL, status TEXT NOT NULL, assignee TEXT,"
    "  sla_policy TEXT, tags TEXT, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,"
    "  first_response_due INTEGER, resolution_due INTEGER,"
    "  first_response_at INTEGER, resolved_at INTEGER);"
    "CREATE INDEX tickets_conversation ON tickets(requester, channel, queue, status);"
    "CREATE INDEX tickets_assignee ON tickets(assignee, status);"
    "CREATE INDEX tickets_status ON tickets(status, id);"
    "CREATE TABLE messages ("
    "  id INTEGER PRIMARY KEY, ticket_id INTEGER NOT NULL REFERENCES tickets(id),"
    "  direction TEXT NOT NULL, channel TEXT NOT NULL, msg_id TEXT, sender TEXT,"
    "  subject TEXT, body TEXT, truncated INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL);"
    "CREATE UNIQUE INDEX messages_received ON messages(channel, msg_id)"
    "  WHERE direction IN ('in', 'agent');"
    "CREATE INDEX messages_msgid ON messages(msg_id);"
    "CREATE INDEX messages_ticket ON messages(ticket_id);"
    "CREATE TABLE thread_addresses ("
    "  ticket_id INTEGER NOT NULL REFERENCES tickets(id), address TEXT NOT NULL,"
    "  PRIMARY KEY (ticket_id, address)) WITHOUT ROWID;"
    "CREATE TABLE events ("
    "  id INTEGER PRIMARY KEY, ticket_id INTEGER REFERENCES tickets(id),"
    "  at INTEGER NOT NULL, kind TEXT NOT NULL, detail TEXT);"
    "CREATE INDEX events_ticket ON events(ticket_id);"
    "CREATE TABLE outbox ("
    "  id INTEGER PRIMARY KEY, ticket_id INTEGER REFERENCES tickets(id),"
    "  channel TEXT NOT NULL, kind TEXT NOT NULL, recipient TEXT NOT NULL,"
    "  recipient_name TEXT, sender TEXT, sender_name TEXT, subject TEXT, body TEXT NOT NULL,"
    "  in_reply_to TEXT, refs TEXT, thread TEXT, lang TEXT, msg_id TEXT,"
    "  status TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0,"
    "  next_attempt_at INTEGER NOT NULL DEFAULT 0, last_error TEXT,"
    "  created_at INTEGER NOT NULL, sent_at INTEGER);"
    "CREATE INDEX outbox_pending ON outbox(channel, status, next_attempt_at);"
    "CREATE INDEX outbox_ticket ON outbox(ticket_id);"
    "CREATE TABLE agents (id TEXT PRIMARY KEY, last_assigned_at INTEGER);"
    "CREATE TABLE autoreply_log (address TEXT NOT NULL, at INTEGER NOT NULL);"
    "CREATE INDEX autoreply_log_address ON autoreply_log(address, at);"
    "PRAGMA user_version = 1;",
    /* 2: XMPP replies keep the type of the message they answer (chat or normal). */
    "ALTER TABLE outbox ADD COLUMN stanza_type TEXT;"
    "PRAGMA user_version = 2;",
    /* 3: fewer index entries with random keys (in a big index each one dirties a leaf page of
     * its own: a WAL frame per entry): received messages are found by messages_received, so the
     * message-id index keeps our own only; the conversation index holds chat tickets only. */
    "DROP INDEX IF EXISTS messages_msgid;"
    "CREATE INDEX messages_sent ON messages(msg_id) WHERE direction = 'out';"
    "DROP INDEX IF EXISTS tickets_conversation;"
    "CREATE INDEX tickets_chat ON tickets(requester, queue, status) WHERE channel = 'xmpp';"
    "PRAGMA user_version = 3;",
    /* 4: the index senders claim rows by holds pending rows only: marking a row sent removes
     * its entry instead of moving it, and the index stays as small as the queue, not the
     * history. */
    "DROP INDEX IF EXISTS outbox_pending;"
    "CREATE INDEX outbox_pending ON outbox(channel, next_attempt_at) WHERE status = 'pending';"
    "PRAGMA user_version = 4;",
    /* 5: the agent group the ticket was routed to (a rule's, else its queue's), so that an
     * escalation reaches the group a rule chose. NULL for older tickets: their queue's group. */
    "ALTER TABLE tickets ADD COLUMN agent_group TEXT;"
    "PRAGMA user_version = 5;",
    /* 6: the highest ticket id ever given, raised by purge and restore only, so that the id (and
     * the reference) of a ticket they deleted or took back is never given again: a new ticket's
     * id is one more than this and than every ticket's. */
    "CREATE TABLE ticket_id_floor (id INTEGER NOT NULL);"
    "INSERT INTO ticket_id_floor VALUES ((SELECT coalesce(max(id), 0) FROM tickets));"
    "PRAGMA user_version = 6;",
    /* 7: what was attached to a received message (a line "name (type, size)" each), for agents
     * who read the ticket rather than the mail; the files an agent's answer relays, until sent. */
    "ALTER TABLE messages ADD COLUMN attachments TEXT;"
    "ALTER TABLE outbox ADD COLUMN attachments_mime TEXT;"
    "PRAGMA user_version = 7;",
};

/* A checkpoint reads back and writes into the database every page the WAL holds: with
 * 10,000 pages (about 40 MB of WAL) instead of 1,000 a page changed by many batches is copied
 * once for more of them (bench/xmpp.sh: 1 read and 1 write fewer per ticket, about 5 % more
 * tickets per second). */
#define CHECKPOINT_FRAMES 10000

/* a ticket not resolved or closed whose first response or resolution is due before `now` */
#define OVERDUE(now)                                                                               \
    "(status NOT IN ('resolved', 'closed') AND ((first_response_at IS NULL AND"                    \
    " first_response_due < " now ") OR resolution_due < " now "))"

/* the highest ticket id given so far (see migration 6) */
#define HIGHEST_TICKET_ID                                                                          \
    "max((SELECT coalesce(max(id), 0) FROM tickets),"                                              \
    " coalesce((SELECT id FROM ticket_id_floor), 0))"

/* tg_ticket_filter's: ?1 the statuses wanted, comma-separated */
#define LIST_FILTER                                                                                \
    "(?1 IS NULL OR instr(',' || ?1 || ',', ',' || status || ',') > 0)"                            \
    " AND (?2 IS NULL OR queue = ?2) AND (?3 IS NULL OR assignee = ?3)"                            \
    " AND (?7 = 0 OR assignee IS NULL) AND (?4 = 0 OR " OVERDUE("?5") ")"

#define BACKLOG "status IN (?8, ?9, ?10)"

#define TICKET_COLS                                                                                \
    "id, ref, channel, source, queue, category, priority, rule, requester, requester_name, "       \
    "lang, subject, status, assignee, sla_policy, tags, created_at, updated_at, "                  \
    "first_response_due, resolution_due, first_response_at, resolved_at, agent_group"

enum {
    S_BEGIN,
    S_COMMIT,
    S_ROLLBACK,
    S_SAVEPOINT,
    S_RELEASE,
    S_ROLLBACK_TO,
    S_INSERT_TICKET,
    S_TICKET_BY_REF,
    S_TICKET_BY_ID,
    S_OPEN_CHAT,
    S_SET_STATUS,
    S_SET_ASSIGNEE,
    S_AGENT_ASSIGNED,
    S_SET_FIRST_RESPONSE,
    S_COUNT_TICKETS,
    S_LIST_TICKETS,
    S_LIST_NEWEST,
    S_LIST_BACKLOG,
    S_LIST_BACKLOG_NEWEST,
    S_OPEN_TICKETS_OF,
    S_OPEN_BY_ASSIGNEE,
    S_LIST_UNESCALATED,
    S_LIST_UNRESOLVED_LATE,
    S_INSERT_MESSAGE,
    S_FIND_INBOUND,
    S_FIND_ANY_MESSAGE,
    S_FIND_OWN_MESSAGE,
    S_LIST_MESSAGES,
    S_ADD_THREAD_ADDRESS,
    S_IS_THREAD_ADDRESS,
    S_COUNT_CUT_BEFORE,
    S_ADD_EVENT,
    S_LIST_EVENTS,
    S_ADD_OUTBOX,
    S_LIST_OUTBOX,
    S_COUNT_OUTBOX,
    S_CLAIM_OUTBOX,
    S_OUTBOX_SENT,
    S_OUTBOX_RETRY,
    S_COUNT_AUTOREPLIES,
    S_LOG_AUTOREPLY,
    S_FORGET_AUTOREPLIES,
    S_AGENT_OPEN,
    S_AGENT_LAST,
    S_SERVICE_LEVELS,
    S_RESOLUTION_LEVELS,
    S_COUNT
};

static const char *const sql[S_COUNT] = {
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
    [S_SAVEPOINT] = "SAVEPOINT unit",
    [S_RELEASE] = "RELEASE unit",
    [S_ROLLBACK_TO] = "ROLLBACK TO unit",
    /* The reference is written with the row: the id is the next rowid, which the write lock of
     * the transaction keeps ours (an UPDATE afterwards cost as much again as the insert). */
    [S_INSERT_TICKET] =
        "INSERT INTO tickets (id, ref, channel, source, queue, category, priority, rule, requester,"
        " requester_name, lang, subject, status, assignee, sla_policy, tags, created_at,"
        " updated_at, first_response_due, resolution_due, agent_group)"
        " VALUES (" HIGHEST_TICKET_ID " + 1, ?18 || '-' || (" HIGHEST_TICKET_ID " + 1),"
        " ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?15, ?16, ?17, ?19)",
    [S_TICKET_BY_REF] = "SELECT " TICKET_COLS " FROM tickets WHERE ref = ?1",
    [S_TICKET_BY_ID] = "SELECT " TICKET_COLS " FROM tickets WHERE id = ?1",
    /* One index seek per open status: status IN (...) would build a temporary B-tree of the
     * three values at every run, and ORDER BY id DESC LIMIT 1 a sort. */
    [S_OPEN_CHAT] = "SELECT " TICKET_COLS " FROM tickets WHERE id = (SELECT max(id) FROM ("
                    " SELECT max(id) AS id FROM tickets WHERE requester = ?1 AND channel = 'xmpp'"
                    "  AND queue = ?2 AND status = 'new' UNION ALL"
                    " SELECT max(id) FROM tickets WHERE requester = ?1 AND channel = 'xmpp'"
                    "  AND queue = ?2 AND status = 'open' UNION ALL"
                    " SELECT max(id) FROM tickets WHERE requester = ?1 AND channel = 'xmpp'"
                    "  AND queue = ?2 AND status = 'pending'))",
    [S_SET_STATUS] = "UPDATE tickets SET status = ?2, updated_at = ?3,"
                     " resolved_at = CASE WHEN ?2 IN ('resolved', 'closed')"
                     "   THEN coalesce(resolved_at, ?3) ELSE NULL END WHERE id = ?1",
    [S_SET_ASSIGNEE] = "UPDATE tickets SET assignee = ?2, updated_at = ?3 WHERE id = ?1",
    [S_AGENT_ASSIGNED] =
        "INSERT INTO agents (id, last_assigned_at) VALUES (?1, ?2)"
        " ON CONFLICT (id) DO UPDATE SET last_assigned_at = excluded.last_assigned_at",
    [S_SET_FIRST_RESPONSE] = "UPDATE tickets SET first_response_at = ?2, updated_at = ?2"
                             " WHERE id = ?1 AND first_response_at IS NULL",
    [S_COUNT_TICKETS] = "SELECT count(*) FROM tickets",
    [S_LIST_TICKETS] = "SELECT " TICKET_COLS " FROM tickets WHERE " LIST_FILTER " ORDER BY id",
    /* read from the end, and only the newest sorted back */
    [S_LIST_NEWEST] = "SELECT * FROM (SELECT " TICKET_COLS " FROM tickets WHERE " LIST_FILTER
                      " ORDER BY id DESC LIMIT ?6) ORDER BY id",
    /* the same, when only tickets of the backlog are wanted (in the statuses ?8-?10): by the
     * status index, so the history is not read */
    [S_LIST_BACKLOG] =
        "SELECT " TICKET_COLS " FROM tickets WHERE " BACKLOG " AND " LIST_FILTER " ORDER BY id",
    [S_LIST_BACKLOG_NEWEST] = "SELECT * FROM (SELECT " TICKET_COLS " FROM tickets WHERE " BACKLOG
                              " AND " LIST_FILTER " ORDER BY id DESC LIMIT ?6) ORDER BY id",
    /* by the assignee index: an agent's history, or the store's, is not read */
    [S_OPEN_TICKETS_OF] = "SELECT " TICKET_COLS " FROM tickets WHERE assignee IS ?1"
                          " AND status IN ('new', 'open', 'pending') ORDER BY id",
    /* by the status index: the backlog is read, not the history */
    [S_OPEN_BY_ASSIGNEE] = "SELECT assignee, count(*) FROM tickets"
                           " WHERE status IN ('new', 'open', 'pending') AND assignee IS NOT NULL"
                           " GROUP BY assignee ORDER BY assignee",
    /* new and open only: a pending ticket was answered; by the status index, so the backlog is
     * read, not the history */
    [S_LIST_UNESCALATED] =
        "SELECT " TICKET_COLS " FROM tickets AS t"
        " WHERE status IN ('new', 'open') AND first_response_at IS NULL"
        " AND first_response_due > ?1 AND first_response_due <= ?2"
        " AND NOT EXISTS (SELECT 1 FROM events WHERE ticket_id = t.id AND kind = 'escalated')"
        " ORDER BY first_response_due, id LIMIT ?3",
    [S_LIST_UNRESOLVED_LATE] = "SELECT " TICKET_COLS " FROM tickets AS t"
                               " WHERE status IN ('new', 'open', 'pending')"
                               " AND resolution_due > ?1 AND resolution_due <= ?2"
                               " AND NOT EXISTS (SELECT 1 FROM events WHERE ticket_id = t.id"
                               "                 AND kind = 'escalated-resolution')"
                               " ORDER BY resolution_due, id LIMIT ?3",
    [S_INSERT_MESSAGE] = "INSERT INTO messages (ticket_id, direction, channel, msg_id, sender,"
                         " subject, body, truncated, created_at, attachments)"
                         " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    [S_FIND_INBOUND] = "SELECT ticket_id FROM messages WHERE channel = ?1 AND msg_id = ?2"
                       " AND direction IN ('in', 'agent')",
    /* received ones by messages_received, ours by messages_sent: the first of either */
    [S_FIND_ANY_MESSAGE] =
        "SELECT ticket_id FROM messages WHERE id = (SELECT min(id) FROM ("
        " SELECT min(id) AS id FROM messages WHERE channel = ?1 AND msg_id = ?2"
        "  AND direction IN ('in', 'agent') UNION ALL"
        " SELECT min(id) FROM messages WHERE msg_id = ?2 AND channel = ?1 AND direction = 'out'))",
    [S_FIND_OWN_MESSAGE] = "SELECT ticket_id FROM messages WHERE msg_id = ?2 AND channel = ?1"
                           " AND direction = 'out' LIMIT 1",
    [S_LIST_MESSAGES] = "SELECT id, ticket_id, direction, channel, msg_id, sender, subject, body,"
                        " created_at, truncated, attachments FROM messages WHERE ticket_id = ?1"
                        " ORDER BY id",
    [S_ADD_THREAD_ADDRESS] = "INSERT OR IGNORE INTO thread_addresses (ticket_id, address)"
                             " VALUES (?1, lower(?2))",
    [S_IS_THREAD_ADDRESS] = "SELECT 1 FROM thread_addresses WHERE ticket_id = ?1"
                            " AND address = lower(?2)",
    [S_COUNT_CUT_BEFORE] = "SELECT count(*) FROM messages WHERE ticket_id = ?1"
                           " AND direction = 'in' AND truncated = 1 AND id <"
                           " (SELECT id FROM messages WHERE channel = ?2 AND msg_id = ?3"
                           "  AND direction IN ('in', 'agent'))",
    [S_ADD_EVENT] = "INSERT INTO events (ticket_id, at, kind, detail) VALUES (?1, ?2, ?3, ?4)",
    [S_LIST_EVENTS] = "SELECT ticket_id, at, kind, detail FROM events WHERE ticket_id = ?1"
                      " ORDER BY id",
    [S_ADD_OUTBOX] =
        "INSERT INTO outbox (ticket_id, channel, kind, recipient, recipient_name,"
        " sender, sender_name, subject, body, in_reply_to, refs, thread, lang,"
        " msg_id, stanza_type, created_at, next_attempt_at, attachments_mime)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,"
        " ?18)",
    [S_LIST_OUTBOX] = "SELECT " OUTBOX_COLS " FROM outbox WHERE ticket_id = ?1 ORDER BY id",
    [S_COUNT_OUTBOX] = "SELECT count(*) FROM outbox WHERE ?1 IS NULL OR status = ?1",
    /* One statement, so two senders never claim the same row; the lease (next_attempt_at in
     * the future) hides the row until it is marked, or until the lease ends after a crash. */
    [S_CLAIM_OUTBOX] = "UPDATE outbox SET next_attempt_at = ?3 WHERE id IN ("
                       "  SELECT id FROM outbox WHERE channel = ?1 AND status = 'pending'"
                       "  AND next_attempt_at <= ?2 ORDER BY next_attempt_at, id LIMIT ?4)"
                       " RETURNING " OUTBOX_COLS,
    /* the files went with it: the names stay on the message */
    [S_OUTBOX_SENT] = "UPDATE outbox SET status = 'sent', sent_at = ?2, attempts = attempts + 1,"
                      " last_error = NULL, attachments_mime = NULL WHERE id = ?1",
    [S_OUTBOX_RETRY] = "UPDATE outbox SET attempts = attempts + 1, last_error = ?2,"
                       " next_attempt_at = ?3,"
                       " status = CASE WHEN ?4 THEN 'failed' ELSE 'pending' END WHERE id = ?1",
    [S_COUNT_AUTOREPLIES] = "SELECT count(*) FROM autoreply_log WHERE address = lower(?1)"
                            " AND at >= ?2",
    [S_LOG_AUTOREPLY] = "INSERT INTO autoreply_log (address, at) VALUES (lower(?1), ?2)",
    /* oldest rows first (rowids follow time): a chunk finds its rows at the start */
    [S_FORGET_AUTOREPLIES] = "DELETE FROM autoreply_log WHERE rowid IN"
                             " (SELECT rowid FROM autoreply_log WHERE at < ?1 ORDER BY rowid"
                             " LIMIT ?2)",
    [S_AGENT_OPEN] = "SELECT (SELECT count(*) FROM tickets WHERE assignee = ?1 AND status = 'new')"
                     " + (SELECT count(*) FROM tickets WHERE assignee = ?1 AND status = 'open')"
                     " + (SELECT count(*) FROM tickets WHERE assignee = ?1 AND status = 'pending')",
    [S_AGENT_LAST] = "SELECT last_assigned_at FROM agents WHERE id = ?1",
    /* A ticket is handled at its first answer, or when it was resolved or closed without one
     * (a spam ticket closed at once was dealt with; one closed late was not). */
    [S_SERVICE_LEVELS] = "SELECT channel, queue, count(*),"
                         " sum(handled IS NOT NULL AND handled <= first_response_due),"
                         " sum(coalesce(handled, ?3) > first_response_due),"
                         " sum(handled IS NULL AND ?3 <= first_response_due)"
                         " FROM (SELECT channel, queue, first_response_due,"
                         "   coalesce(first_response_at, resolved_at) AS handled FROM tickets"
                         "   WHERE first_response_due >= ?1 AND first_response_due < ?2)"
                         " GROUP BY channel, queue ORDER BY channel, queue",
    /* the same for resolutions: resolved_at is kept while a ticket is resolved or closed */
    [S_RESOLUTION_LEVELS] = "SELECT channel, queue, count(*),"
                            " sum(resolved_at IS NOT NULL AND resolved_at <= resolution_due),"
                            " sum(coalesce(resolved_at, ?3) > resolution_due),"
                            " sum(resolved_at IS NULL AND ?3 <= resolution_due)"
                            " FROM tickets WHERE resolution_due >= ?1 AND resolution_due < ?2"
                            " GROUP BY channel, queue ORDER BY channel, queue",
};

struct tg_store {
    sqlite3 *db;
    char *path;
    int synchronous_full; /* as opened; tg_store_set_durable may relax it for a while */
    int wal_frames;       /* the WAL's size after the last commit, when checkpoints are deferred */
    sqlite3_stmt *stmts[S_COUNT];
};

int tg_store_schema_version(void)
{
    return (int)G_N_ELEMENTS(migrations);
}

/* fail - map the connection's last error to TG_ETEMP (retry later) or TG_ESTORE. */
static int fail(tg_store *st, tg_err *err, const char *doing)
{
    int code = sqlite3_extended_errcode(st->db);
    int rc;
    switch (code & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_READONLY:
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_NOMEM:
    case SQLITE_PROTOCOL:
        rc = TG_ETEMP;
        break;
    default:
        rc = TG_ESTORE;
        break;
    }
    return tg_err_set(err, rc, "store %s: %s: %s", st->path, doing, sqlite3_errmsg(st->db));
}

/* prepare - the cached statement id, reset and unbound; NULL with err set. */
static sqlite3_stmt *prepare(tg_store *st, int id, tg_err *err)
{
    sqlite3_stmt *s = st->stmts[id];
    if (!s) {
        if (sqlite3_prepare_v3(st->db, sql[id], -1, SQLITE_PREPARE_PERSISTENT, &s, NULL) !=
            SQLITE_OK) {
            fail(st, err, "prepare");
            return NULL;
        }
        st->stmts[id] = s;
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return s;
}

static void bind_text(sqlite3_stmt *s, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(s, i);
}

/* bind_time - Unix time, or NULL for "not set" (<= 0 means unset for optional times). */
static void bind_time(sqlite3_stmt *s, int i, int64_t v)
{
    if (v > 0)
        sqlite3_bind_int64(s, i, v);
    else
        sqlite3_bind_null(s, i);
}

/* run - step a statement that returns no rows. */
static int run(tg_store *st, sqlite3_stmt *s, tg_err *err, const char *doing)
{
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? TG_OK : fail(st, err, doing);
}

/* count_query - a statement returning one integer. */
static int count_query(tg_store *st, sqlite3_stmt *s, int64_t *out, tg_err *err, const char *doing)
{
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) {
        rc = fail(st, err, doing);
        sqlite3_reset(s);
        return rc;
    }
    *out = sqlite3_column_type(s, 0) == SQLITE_NULL ? 0 : sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    return TG_OK;
}

static int exec_plain(tg_store *st, const char *text, tg_err *err, const char *doing)
{
    return sqlite3_exec(st->db, text, NULL, NULL, NULL) == SQLITE_OK ? TG_OK : fail(st, err, doing);
}

/* enable_wal - switch the file to WAL (persistent, so usually already done). Changing the mode
 * takes an exclusive lock without calling the busy handler: connections opening a new file at
 * the same moment retry here within the busy timeout. */
static int enable_wal(tg_store *st, int64_t timeout_ms, tg_err *err)
{
    gint64 deadline = g_get_monotonic_time() + timeout_ms * 1000;
    for (;;) {
        sqlite3_stmt *s = NULL;
        int rc = sqlite3_prepare_v2(st->db, "PRAGMA journal_mode = WAL", -1, &s, NULL);
        if (rc == SQLITE_OK)
            rc = sqlite3_step(s);
        /* An in-memory database (explain without a store) stays in "memory" mode. */
        int usable = rc == SQLITE_ROW &&
                     (g_ascii_strcasecmp((const char *)sqlite3_column_text(s, 0), "wal") == 0 ||
                      g_ascii_strcasecmp((const char *)sqlite3_column_text(s, 0), "memory") == 0);
        sqlite3_finalize(s);
        if (usable)
            return TG_OK;
        if (rc == SQLITE_ROW)
            return tg_err_set(err, TG_ESTORE, "store %s: cannot use WAL mode here", st->path);
        if ((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED)
            return fail(st, err, "enable WAL");
        if (g_get_monotonic_time() > deadline)
            return fail(st, err, "enable WAL");
        g_usleep(10000);
    }
}

static int user_version(tg_store *st, int64_t *v, tg_err *err)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK)
        return fail(st, err, "read schema version");
    int rc = count_query(st, s, v, err, "read schema version");
    sqlite3_finalize(s);
    return rc;
}

/* migrate - bring the schema to this version's; a read-only connection only checks it. */
static int migrate(tg_store *st, int read_only, tg_err *err)
{
    int64_t v;
    int rc;
    const int64_t latest = tg_store_schema_version();

    if ((rc = user_version(st, &v, err)) != TG_OK)
        return rc;
    if (v > latest)
        return tg_err_set(err, TG_ESTORE,
                          "store %s has schema version %lld, newer than this ticketgate "
                          "understands (%lld): upgrade ticketgate",
                          st->path, (long long)v, (long long)latest);
    if (v == latest)
        return TG_OK;
    if (read_only)
        return tg_err_set(err, TG_ESTORE,
                          "store %s has schema version %lld, older than this ticketgate's "
                          "(%lld): start ticketgate-milter or ticketgate-xmpp to upgrade it",
                          st->path, (long long)v, (long long)latest);
    if ((rc = exec_plain(st, "BEGIN IMMEDIATE", err, "begin migration")) != TG_OK)
        return rc;
    /* Another process may have migrated while we waited for the lock. */
    if ((rc = user_version(st, &v, err)) != TG_OK)
        goto fail;
    for (; v < latest; v++)
        if ((rc = exec_plain(st, migrations[v], err, "migrate schema")) != TG_OK)
            goto fail;
    return exec_plain(st, "COMMIT", err, "commit migration");
fail:
    sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

/* configure_sqlite - once per process, before the first connection: no memory statistics (they
 * take a global mutex on every one of SQLite's allocations, hundreds per ticket), and the VFS
 * that writes a commit's WAL frames in a few system calls, not two per page (tg_walbuf.h). */
static gpointer configure_sqlite(gpointer unused)
{
    (void)unused;
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    tg_walbuf_register();
    return NULL;
}

/* directory_problem - the store at path cannot be opened because of its directory (missing, or
 * not writable when writing): TG_ETEMP with err saying so (SQLite says only "unable to open
 * database file"), else TG_OK. */
static int directory_problem(const char *path, int writing, tg_err *err)
{
    char *dir = g_path_get_dirname(path);
    int rc = TG_OK;
    if (!g_file_test(dir, G_FILE_TEST_IS_DIR))
        rc = tg_err_set(err, TG_ETEMP, "store %s: its directory %s does not exist", path, dir);
    else if (writing && access(dir, W_OK | X_OK) != 0) /* the WAL and shared memory go there */
        rc = tg_err_set(err, TG_ETEMP, "store %s: this user (uid %u) cannot write in %s", path,
                        (unsigned)geteuid(), dir);
    g_free(dir);
    return rc;
}

int tg_store_open(const char *path, const tg_store_opts *opts, tg_store **out, tg_err *err)
{
    static const tg_store_opts defaults = {.busy_timeout_ms = 10000, .synchronous_full = 1};
    static GOnce configured = G_ONCE_INIT;
    tg_store *st = g_new0(tg_store, 1);
    int rc;

    g_once(&configured, configure_sqlite, NULL);
    if (!opts)
        opts = &defaults;
    st->path = g_strdup(path);
    *out = NULL;
    if (opts->read_only && !g_file_test(path, G_FILE_TEST_EXISTS)) {
        rc = tg_err_set(err, TG_ESTORE,
                        "store %s does not exist (a daemon makes it at its first start)", path);
        goto fail;
    }
    int flags = opts->read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    const char *vfs = sqlite3_vfs_find(TG_WALBUF_VFS) ? TG_WALBUF_VFS : NULL;
    if (sqlite3_open_v2(path, &st->db, flags | SQLITE_OPEN_NOMUTEX, vfs) != SQLITE_OK) {
        if ((rc = directory_problem(path, !opts->read_only, err)) == TG_OK)
            rc = st->db ? fail(st, err, "open")
                        : tg_err_set(err, TG_ETEMP, "store %s: cannot open", path);
        goto fail;
    }
    sqlite3_busy_timeout(st->db, (int)opts->busy_timeout_ms);
    sqlite3_extended_result_codes(st->db, 1);
    /* The WAL file is kept (empty after the last close's checkpoint) instead of deleted: a
     * commit that has to grow the file waits for its size to reach the disk as well (measured
     * here: 380 µs per commit while the WAL grows, 240 µs once it is full size), and a restart
     * would otherwise start the growing over. */
    int persist_wal = 1;
    if (!opts->read_only)
        sqlite3_file_control(st->db, "main", SQLITE_FCNTL_PERSIST_WAL, &persist_wal);
    st->synchronous_full = opts->synchronous_full;
    if ((!opts->read_only && (rc = enable_wal(st, opts->busy_timeout_ms, err)) != TG_OK) ||
        (rc = exec_plain(st,
                         opts->synchronous_full ? "PRAGMA synchronous = FULL"
                                                : "PRAGMA synchronous = NORMAL",
                         err, "set synchronous")) != TG_OK ||
        (rc = exec_plain(st, "PRAGMA foreign_keys = ON", err, "foreign keys")) != TG_OK ||
        /* statement journals and sorts in memory: no temp files under /var/tmp per batch */
        (rc = exec_plain(st, "PRAGMA temp_store = MEMORY", err, "temp store")) != TG_OK ||
        (rc = exec_plain(st, "PRAGMA wal_autocheckpoint = " G_STRINGIFY(CHECKPOINT_FRAMES), err,
                         "set checkpoint size")) != TG_OK ||
        (rc = migrate(st, opts->read_only, err)) != TG_OK)
        goto fail;
    *out = st;
    return TG_OK;
fail:
    tg_store_close(st);
    return rc;
}

/* note_wal_size - the WAL hook of a store whose checkpoints are deferred (it replaces SQLite's
 * automatic checkpoint): only remember the log's size. */
static int note_wal_size(void *store, sqlite3 *db, const char *name, int frames)
{
    (void)db;
    (void)name;
    ((tg_store *)store)->wal_frames = frames;
    return SQLITE_OK;
}

void tg_store_defer_checkpoints(tg_store *st)
{
    sqlite3_wal_hook(st->db, note_wal_size, st);
}

int tg_store_checkpoint_if_due(tg_store *st, tg_err *err)
{
    if (st->wal_frames < CHECKPOINT_FRAMES)
        return TG_OK;
    st->wal_frames = 0; /* the next commit tells the size again: after a full checkpoint the
                         * log starts over, else (a reader holds old pages) it is tried again */
    int rc = sqlite3_wal_checkpoint_v2(st->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    if (rc == SQLITE_BUSY) /* another connection is checkpointing */
        return TG_OK;
    return rc == SQLITE_OK ? TG_OK : fail(st, err, "checkpoint");
}

int tg_store_copy_to(tg_store *st, const char *path, tg_err *err)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(st->db, "VACUUM INTO ?1", -1, &s, NULL) != SQLITE_OK)
        return fail(st, err, "prepare copy");
    bind_text(s, 1, path);
    int rc = run(st, s, err, "copy");
    sqlite3_finalize(s);
    return rc;
}

int tg_store_quick_check(tg_store *st, tg_err *err)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(st->db, "PRAGMA quick_check(1)", -1, &s, NULL) != SQLITE_OK)
        return fail(st, err, "prepare check");
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW)
        rc = fail(st, err, "check");
    else if (strcmp((const char *)sqlite3_column_text(s, 0), "ok") != 0)
        rc = tg_err_set(err, TG_ESTORE, "store %s is damaged: %s", st->path,
                        (const char *)sqlite3_column_text(s, 0));
    else
        rc = TG_OK;
    sqlite3_finalize(s);
    return rc;
}

/* open_copy - the copy at path, read-only, checked whole and of a schema this version knows. */
static int open_copy(tg_store *copy, tg_err *err)
{
    int64_t v;
    int rc;
    if (sqlite3_open_v2(copy->path, &copy->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        return copy->db ? fail(copy, err, "open")
                        : tg_err_set(err, TG_ETEMP, "%s: cannot open", copy->path);
    if ((rc = tg_store_quick_check(copy, err)) != TG_OK &&
        sqlite3_errcode(copy->db) == SQLITE_NOTADB)
        return tg_err_set(err, TG_EINVAL, "%s is not a ticketgate store: %s", copy->path,
                          sqlite3_errmsg(copy->db));
    if (rc != TG_OK || (rc = user_version(copy, &v, err)) != TG_OK)
        return rc;
    int64_t tickets_tables = 0;
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(
            copy->db,
            "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'tickets'", -1, &s,
            NULL) != SQLITE_OK)
        return fail(copy, err, "read schema");
    rc = count_query(copy, s, &tickets_tables, err, "read schema");
    sqlite3_finalize(s);
    if (rc != TG_OK)
        return rc;
    if (v < 1 || v > tg_store_schema_version() || tickets_tables != 1)
        return tg_err_set(err, TG_EINVAL,
                          "%s is not a ticketgate store this version can read "
                          "(schema version %lld)",
                          copy->path, (long long)v);
    return TG_OK;
}

int tg_store_check_copy(const char *path, tg_err *err)
{
    tg_store copy = {.path = (char *)path};
    int rc = open_copy(&copy, err);
    sqlite3_close(copy.db);
    return rc;
}

int tg_store_restore_from(tg_store *st, const char *path, tg_err *err)
{
    tg_store copy = {.path = (char *)path};
    int64_t highest = 0;
    sqlite3_stmt *s = NULL;
    int rc = open_copy(&copy, err);
    if (rc == TG_OK) {
        if (sqlite3_prepare_v2(st->db, "SELECT " HIGHEST_TICKET_ID, -1, &s, NULL) != SQLITE_OK)
            rc = fail(st, err, "prepare restore");
        else
            rc = count_query(st, s, &highest, err, "read the highest ticket id");
        sqlite3_finalize(s);
    }
    if (rc == TG_OK) {
        sqlite3_backup *b = sqlite3_backup_init(st->db, "main", copy.db, "main");
        if (!b)
            rc = fail(st, err, "restore");
        else {
            int step = sqlite3_backup_step(b, -1); /* all pages at once, in one transaction */
            rc = sqlite3_backup_finish(b);
            rc = step == SQLITE_DONE && rc == SQLITE_OK ? TG_OK : fail(st, err, "restore");
        }
    }
    sqlite3_close(copy.db);
    if (rc != TG_OK || (rc = migrate(st, 0, err)) != TG_OK)
        return rc;
    /* the ids the store had given stay given: the tickets made after the backup, gone now,
     * keep their references to themselves */
    if (sqlite3_prepare_v2(st->db, "UPDATE ticket_id_floor SET id = max(id, ?1)", -1, &s, NULL) !=
        SQLITE_OK)
        return fail(st, err, "prepare restore");
    sqlite3_bind_int64(s, 1, highest);
    rc = run(st, s, err, "keep the ticket ids given");
    sqlite3_finalize(s);
    return rc;
}

/* the tickets tg_store_purge_finished may delete, ?1 the time before which they last changed */
#define PURGEABLE                                                                                  \
    " FROM tickets WHERE status IN ('resolved', 'closed') AND updated_at < ?1"                     \
    " AND NOT EXISTS"                                                                              \
    " (SELECT 1 FROM outbox WHERE ticket_id = tickets.id AND status = 'pending')"

int tg_store_purge_finished(tg_store *st, int64_t before, int64_t limit, int64_t *purged,
                            tg_err *err)
{
    static const char *const deletes[] = {
        "DELETE FROM messages WHERE ticket_id IN temp.purged",
        "DELETE FROM events WHERE ticket_id IN temp.purged",
        "DELETE FROM outbox WHERE ticket_id IN temp.purged",
        "DELETE FROM thread_addresses WHERE ticket_id IN temp.purged",
        "DELETE FROM tickets WHERE id IN temp.purged",
    };
    sqlite3_stmt *s = NULL;
    int rc;
    *purged = 0;
    if (limit == 0) {
        if (sqlite3_prepare_v2(st->db, "SELECT count(*)" PURGEABLE, -1, &s, NULL) != SQLITE_OK)
            return fail(st, err, "prepare purge");
        sqlite3_bind_int64(s, 1, before);
        rc = count_query(st, s, purged, err, "count purgeable tickets");
        sqlite3_finalize(s);
        return rc;
    }
    if ((rc = exec_plain(st, "CREATE TEMP TABLE IF NOT EXISTS purged (id INTEGER PRIMARY KEY)", err,
                         "prepare purge")) != TG_OK ||
        (rc = tg_store_begin(st, err)) != TG_OK)
        return rc;
    /* the ids of the tickets deleted here, the newest too, are never given again */
    if ((rc = exec_plain(st, "DELETE FROM temp.purged", err, "purge")) != TG_OK ||
        (rc = exec_plain(st, "UPDATE ticket_id_floor SET id = " HIGHEST_TICKET_ID, err, "purge")) !=
            TG_OK)
        goto fail;
    if (sqlite3_prepare_v2(st->db,
                           "INSERT INTO temp.purged SELECT id" PURGEABLE " ORDER BY id LIMIT ?2",
                           -1, &s, NULL) != SQLITE_OK) {
        rc = fail(st, err, "prepare purge");
        goto fail;
    }
    sqlite3_bind_int64(s, 1, before);
    sqlite3_bind_int64(s, 2, limit);
    rc = run(st, s, err, "choose tickets to purge");
    sqlite3_finalize(s);
    for (size_t i = 0; rc == TG_OK && i < G_N_ELEMENTS(deletes); i++)
        rc = exec_plain(st, deletes[i], err, "purge");
    if (rc != TG_OK)
        goto fail;
    *purged = sqlite3_changes(st->db); /* of the last: the tickets */
    return tg_store_commit(st, err);
fail:
    tg_store_rollback(st);
    return rc;
}

void tg_store_close(tg_store *st)
{
    if (!st)
        return;
    for (int i = 0; i < S_COUNT; i++)
        sqlite3_finalize(st->stmts[i]);
    sqlite3_close(st->db);
    g_free(st->path);
    g_free(st);
}

int tg_store_begin(tg_store *st, tg_err *err)
{
    sqlite3_stmt *s = prepare(st, S_BEGIN, err);
    return s ? run(st, s, err, "begin") : err->code;
}

int tg_store_commit(tg_store *st, tg_err *err)
{
    sqlite3_stmt *s = prepare(st, S_COMMIT, err);
    int rc = s ? run(st, s, err, "commit") : err->code;
    if (rc != TG_OK)
        tg_store_rollback(st);
    return rc;
}

void tg_store_rollback(tg_store *st)
{
    if (!sqlite3_get_autocommit(st->db)) {
        sqlite3_stmt *s = prepare(st, S_ROLLBACK, NULL);
        if (s)
            run(st, s, NULL, "rollback");
    }
}

int tg_store_set_durable(tg_store *st, int durable, tg_err *err)
{
    if (!st->synchronous_full)
        return TG_OK;
    return exec_plain(st, durable ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL",
                      err, "set synchronous");
}

int tg_store_in_transaction(tg_store *st)
{
    return !sqlite3_get_autocommit(st->db);
}

int tg_store_savepoint(tg_store *st, tg_err *err)
{
    sqlite3_stmt *s = prepare(st, S_SAVEPOINT, err);
    return s ? run(st, s, err, "savepoint") : err->code;
}

int tg_store_release(tg_store *st, tg_err *err)
{
    sqlite3_stmt *s = prepare(st, S_RELEASE, err);
    return s ? run(st, s, err, "release savepoint") : err->code;
}

void tg_store_rollback_to(tg_store *st)
{
    sqlite3_stmt *s = prepare(st, S_ROLLBACK_TO, NULL);
    if (s && run(st, s, NULL, "roll back to savepoint") == TG_OK &&
        (s = prepare(st, S_RELEASE, NULL)))
        run(st, s, NULL, "release savepoint");
}

/* ---- tickets ---- */

static char *col_text(sqlite3_stmt *s, int i)
{
    const unsigned char *v = sqlite3_column_text(s, i);
    return v ? g_strdup((const char *)v) : NULL;
}

static void read_ticket(sqlite3_stmt *s, tg_ticket *t)
{
    char **strs[] = {&t->ref,      &t->channel, &t->source,    &t->queue,          &t->category,
                     &t->priority, &t->rule,    &t->requester, &t->requester_name, &t->lang,
                     &t->subject,  &t->status,  &t->assignee,  &t->sla_policy,     &t->tags};
    t->id = sqlite3_column_int64(s, 0);
    for (size_t i = 0; i < G_N_ELEMENTS(strs); i++)
        *strs[i] = col_text(s, (int)i + 1);
    t->created_at = sqlite3_column_int64(s, 16);
    t->updated_at = sqlite3_column_int64(s, 17);
    t->first_response_due =
        sqlite3_column_type(s, 18) == SQLITE_NULL ? -1 : sqlite3_column_int64(s, 18);
    t->resolution_due =
        sqlite3_column_type(s, 19) == SQLITE_NULL ? -1 : sqlite3_column_int64(s, 19);
    t->first_response_at = sqlite3_column_int64(s, 20);
    t->resolved_at = sqlite3_column_int64(s, 21);
    t->agent_group = col_text(s, 22);
}

void tg_ticket_clear(tg_ticket *t)
{
    char *strs[] = {t->ref,        t->channel, t->source,    t->queue,          t->category,
                    t->priority,   t->rule,    t->requester, t->requester_name, t->lang,
                    t->subject,    t->status,  t->assignee,  t->sla_policy,     t->tags,
                    t->agent_group};
    for (size_t i = 0; i < G_N_ELEMENTS(strs); i++)
        g_free(strs[i]);
    memset(t, 0, sizeof *t);
}

tg_ticket *tg_ticket_dup(const tg_ticket *t)
{
    tg_ticket *copy = g_memdup2(t, sizeof *t);
    char **strs[] = {
        &copy->ref,        &copy->channel, &copy->source,    &copy->queue,          &copy->category,
        &copy->priority,   &copy->rule,    &copy->requester, &copy->requester_name, &copy->lang,
        &copy->subject,    &copy->status,  &copy->assignee,  &copy->sla_policy,     &copy->tags,
        &copy->agent_group};
    for (size_t i = 0; i < G_N_ELEMENTS(strs); i++)
        *strs[i] = g_strdup(*strs[i]);
    return copy;
}

void tg_ticket_free(tg_ticket *t)
{
    if (t) {
        tg_ticket_clear(t);
        g_free(t);
    }
}

/* one_ticket - step s; 1 with *out filled, 0 when no row, or an error. */
static int one_ticket(tg_store *st, sqlite3_stmt *s, tg_ticket *out, tg_err *err)
{
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        read_ticket(s, out);
        rc = 1;
    } else {
        rc = rc == SQLITE_DONE ? 0 : fail(st, err, "read ticket");
    }
    sqlite3_reset(s);
    return rc;
}

int tg_store_insert_ticket(tg_store *st, tg_ticket *t, const char *prefix, tg_err *err)
{
    sqlite3_stmt *s = prepare(st, S_INSERT_TICKET, err);
    if (!s)
        return err->code;
    const char *texts[] = {t->channel, t->source,    t->queue,          t->category, t->priority,
                           t->rule,    t->requester, t->requester_name, t->lang,     t->subject,
                           t->status,  t->assignee,  t->sla_policy,     t->tags};
    for (size_t i = 0; i < G_N_ELEMENTS(texts); i++)
        bind_text(s, (int)i + 1, texts[i]);
    sqlite3_bind_int64(s, 15, t->created_at);
    bind_time(s, 16, t->first_response_due);
    bind_time(s, 17, t->resolution_due);
    bind_text(s, 18, prefix);
    bind_text(s, 19, t->agent_group);
    int rc = run(st, s, err, "insert ticket");
    if (rc != TG_OK)
        return rc;
    t->id = sqlite3_last_insert_rowid(st->db);
    t->updated_at = t->created_at;
    g_free(t->ref);
    t->ref = g_strdup_printf("%s-%lld", prefix, (long long)t->id);
    return TG_OK;
}

int tg_store_ticket_by_ref(tg_store *st, const char *ref, tg_ticket *out, tg_err *err)
{
    sqlite3_stmt *s = prepare(st, S_TICKET_BY_REF, err);
    if (!s)
        return err->code;
    bind_text(s, 1, ref);
    return one_ticket(st, s, out, err);
}

char *tg_store_new_chat_id(void)
{
    return g_strdup_printf("%014" G_GINT64_MODIFIER "x-%08" G_GINT32_MODIFIER "x",
                           g_get_real_time(), g_random_int());
}

int tg_store_ticket_by_id(tg_store *st, int64_t id, tg_ticket *out, tg_err *err)
{
    sqlite3_stmt *s = prepare(st, S_TICKET_BY_ID, err);
    if (!s)
        return err->code;
    sqlite3_bind_int64(s, 1, id);
    return one_ticket(st, s, out, err);
}

int tg_store_open_chat(tg_store *st, const char *requester, const char *queue, tg_ticket *out,
                       tg_err *err)
{
    sqlite3_stmt *s = prepare(st, S_OPEN_CHAT, err);
    if (!s)
        return err->code;
    bind_text(s, 1, requester);
    bind_text(s, 2, queue);
    return one_ticket(st, s, out, err);
}

int tg_store_set_status(tg_store *st, int64_t id, const char *status, int64_t now, tg_err *err)
{
    sqlite3_stmt *s = prepare(st, S_SET_STATUS, err);
    if (!s)
        return err->code;
    sqlite3_bind_int64(s, 1, id);
    bind_text(s, 2, status);
    sqlite3_bind_int64(s, 3, now);
    return run(st, s, err, "set status");
}

int tg_store_set_assignee(tg_store *st, int64_t id, const char *agent, int64_t now, tg_err *err)
{
    sqlite3_stmt *s = prepare(st, S_SET_ASSIGNEE, err);
    if (!s)
        return err->code;
    sqlite3_bind_int64(s, 1, id);
    bind_text(s, 2, agent);
    sqlite3_bind_int64(s, 3, now);
    int rc = run(st, s, err, "assign");
    if (rc != TG_OK || !agent)
        return rc;
    if (!(s = prepare(st, S_AGENT_ASSIGNED, err)))
        return err->code;
    bind_text(s, 1, agent);
    sqlite3_bind_int64(s, 2, now);
    return run(st, s, err, "record assignment");
}

int tg_store_set_first_response(tg_store *st, int64_t id, int64_t at, tg_err *err)
{
    sqlite3_stmt *s = prepare(st, S_SET_FIRST_RESPONSE, err);
    if (!s)
        return err->code;
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int64(s, 2, at);
    return run(st, s, err, "set first response");
}

int tg_store_count_tickets(tg_store *st, int64_t *count, tg_err *err)
{
    sqlite3_stmt *s = prepare(st, S_COUNT_TICKETS, err);
    return s ? count_query(st, s, count, err, "count tickets") : err->code;
}

/* each_ticket - step the bound statement s, handing each row to cb until it returns non-zero. */
static int each_ticket(tg_store *st, sqlite3_stmt *s, tg_ticket_cb cb, void *ud, tg_err *err,
                       const char *what)
{
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        tg_ticket t = {0};
        read_ticket(s, &t);
        int stop = cb(&t, ud);
        tg_ticket_clear(&t);
        if (stop)
            break;
    }
    rc = rc == SQLITE_DONE || rc == SQLITE_ROW ? TG_OK : fail(st, err, what);
    sqlite3_reset(s);
    return rc;
}

/* backlog_wanted - whether f wants only tickets of the backlog (new, open, pending): the statuses
 * it names are among those, or it wants overdue tickets, which only those can be. If so, the
 * statuses to read fill backlog (NULL: none more). */
static int backlog_wanted(const tg_ticket_filter *f, const char *backlog[3])
{
    static const char *const not_done[] = {"new", "open", "pending", NULL};
    const char *const *want = f->statuses ? f->statuses : f->overdue ? not_done : NULL;
    if (!want || !want[0])
        return 0;
    int n = 0;
    for (; *want; want++) {
        if (!g_strv_contains(not_done, *want)) {
            if (f->overdue) /* none of those is overdue */
                continue;
            return 0;
        }
        int again = 0;
        for (int i = 0; i < n; i++)
            again |= strcmp(backlog[i], *want) == 0;
        if (!again)
            backlog[n++] = *want;
    }
    while (n < 3)
        backlog[n++] = NULL;
    return 1;
}

int tg_store_list_tickets(tg_store *st, const tg_ticket_filter *f, tg_ticket_cb cb, void *ud,
                          tg_err *err)
{
    const char *backlog[3];
    int by_status = backlog_wanted(f, backlog);
    sqlite3_stmt *s = prepare(st,
                              by_status ? (f->limit > 0 ? S_LIST_BACKLOG_NEWEST : S_LIST_BACKLOG)
                                        : (f->limit > 0 ? S_LIST_NEWEST : S_LIST_TICKETS),
                              err);
    if (!s)
        return err->code;
    for (int i = 0; by_status && i < 3; i++)
        bind_text(s, 8 + i, backlog[i]);
    char *statuses = f->statuses ? g_strjoinv(",", (char **)f->statuses) : NULL;
    bind_text(s, 1, statuses);
    bind_text(s, 2, f->queue);
    bind_text(s, 3, f->assignee);
    sqlite3_bind_int(s, 4, f->overdue);
    sqlite3_bind_int64(s, 5, f->now);
    sqlite3_bind_int64(s, 6, f->limit);
    sqlite3_bind_int(s, 7, f->unassigned);
    int rc = each_ticket(st, s, cb, ud, err, "list tickets");
    g_free(statuses);
    return rc;
}

int tg_store_list_open_tickets(tg_store *st, const char *assignee, tg_ticket_cb cb, void *ud,
                               tg_err *err)
{
    sqlite3_stmt *s = prepare(st, S_OPEN_TICKETS_OF, err);
    if (!s)
        return err->code;
    bind_text(s, 1, assignee);
    return each_ticket(st, s, cb, ud, err, "list open tickets");
}

int tg_store_count_open_by_assignee(tg_store *st, tg_assignee_count_cb cb, void *ud, tg_err *err)
{
    sqlite3_stmt *s = prepare(st, S_OPEN_BY_ASSIGNEE, err);
    if (!s)
        return err->code;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        if (cb((const char *)sqlite3_column_text(s, 0), sqlite3_column_int64(s, 1), ud))
            break;
    rc = rc == SQLITE_DONE || rc == SQLITE_ROW ? TG_OK : fail(st, err, "count open tickets");
    sqlite3_reset(s);
    return rc;
}

int64_t tg_ticket_due(const tg_ticket *t, tg_sla_target target)
{
    return target == TG_TARGET_RESOLUTION ? t->resolution_due : t->first_response_due;
}

int tg_store_list_unescalated(tg_store *st, tg_sla_target target, int64_t due_after,
                              int64_t due_before, int64_t limit, tg_ticket_cb cb, void *ud,
                              tg_err *err)
{
    sqlite3_stmt *s = prepare(
        st, target == TG_TARGET_RESOLUTION ? S_LIST_UNRESOLVED_LATE : S_LIST_UNESCALATED, err);
    if (!s)
        return err->code;
    sqlite3_bind_int64(s, 1, due_after);
    sqlite3_bind_int64(s, 2, due_before);
    sqlite3_bind_int64(s, 3, limit);
    return each_ticket(st, s, cb, ud, err, "list overdue tickets");
}

/* ---- messages, threads, events ---- */

int tg_store_add_message(tg_store *st, tg_message *m, tg_err *err)
{
    sqlite3_stmt *s = prepare(st, S_INSERT_MESSAGE, err);
    if (!s)
        return err->code;
    sqlite3_bind_int64(s, 1, m->ticket_id);
    bind_text(s, 2, m->direction);
    bind_text(s, 3, m->channel);
    bind_text(s, 4, m->msg_id);
    bind_text(s, 5, m->sender);
    bind_text(s, 6, m->subject);
    bind_text(s, 7, m->body);
    sqlite3_bind_int(s, 8, m->truncated);
    sqlite3_bind_int64(s, 9, m->created_at);
    bind_text(s, 10, m->attachments);
    int rc = run(st, s, err, "insert message");
    if (rc == TG_OK)
        m->id = sqlite3_last_insert_rowid(st->db);
    return rc;
}

static int find_ticket_of(tg_store *st, int which, const char *channel, const char *msg_id,
                          int64_t *ticket_id, tg_err *err)
{
    sqlite3_stmt *s = prepare(st, which, err);
    if (!s)
        return err->code;
    bind_text(s, 1, channel);
    bind_text(s, 2, msg_id);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *ticket_id = sqlite3_column_int64(s, 0);
        rc = 1;
    } else {
        rc = rc == SQLITE_DONE ? 0 : fail(st, err, "find message");
    }
    sqlite3_reset(s);
    return rc;
}

int tg_store_find_message(tg_store *st, const char *channel, const char *msg_id, int64_t *ticket_id,
                          tg_err *err)
{
    return find_ticket_of(st, S_FIND_INBOUND, channel, msg_id, ticket_id, err);
}

/* tg_store_find_thread - ticket of any message, ours or theirs, with this id (In-Reply-To). */
int tg_store_find_thread(tg_store *st, const char *channel, const char *msg_id, int64_t *ticket_id,
                         tg_err *err)
{
    return find_ticket_of(st, S_FIND_ANY_MESSAGE, channel, msg_id, ticket_id, err);
}

int tg_store_find_own_message(tg_store *st, const char *channel, const char *msg_id,
                              int64_t *ticket_id, tg_err *err)
{
    return find_ticket_of(st, S_FIND_OWN_MESSAGE, channel, msg_id, ticket_id, err);
}

int tg_store_list_messages(tg_store *st, int64_t ticket_id, tg_message_cb cb, void *ud, tg_err *err)
{
    sqlite3_stmt *s = prepare(st, S_LIST_MESSAGES, err);
    int rc;
    if (!s)
        return err->code;
    sqlite3_bind_int64(s, 1, ticket_id);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        tg_message m = {
            .id = sqlite3_column_int64(s, 0),
            .ticket_id = sqlite3_column_int64(s, 1),
            .direction = (const char *)sqlite3_column_text(s, 2),
            .channel = (const char *)sqlite3_column_text(s, 3),
            .msg_id = (const char *)sqlite3_column_text(s, 4),
            .sender = (const char *)sqlite3_column_text(s, 5),
            .subject = (const char *)sqlite3_column_text(s, 6),
            .body = (const char *)sqlite3_column_text(s, 7),
            .created_at = sqlite3_column_int64(s, 8),
            .truncated = sqlite3_column_int(s, 9),
            .attachments = (const char *)sqlite3_column_text(s, 10),
        };
        if (cb(&m, ud))
            break;
    }
    rc = rc == SQLITE_DONE || rc == SQLITE_ROW ? TG_OK : fail(st, err, "list messages");
    sqlite3_reset(s);
    return rc;
}

int tg_store_add_thread_address(tg_store *st, int64_t ticket_id, const char *address, tg_err *err)
{
    sqlite3_stmt *s = prepare(st, S_ADD_THREAD_ADDRESS, err);
    if (!s)
        return err->code;
    sqlite3_bind_int64(s, 1, ticket_id);
    bind_text(s, 2, address);
    return run(st, s, err, "add thread address");
}

int tg_store_is_thread_address(tg_store *st, int64_t ticket_id, const char *address, tg_err *err)
{
    sqlite3_stmt *s = prepare(st, S_IS_THREAD_ADDRESS, err);
    if (!s)
        return err->code;
    sqlite3_bind_int64(s, 1, ticket_id);
    bind_text(s, 2, address);
    int rc = sqlite3_step(s);
    rc = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : fail(st, err, "check thread address");
    sqlite3_reset(s);
    return rc;
}

int tg_store_count_cut_before(tg_store *st, int64_t ticket_id, const char *channel,
                              const char *msg_id, int64_t *count, tg_err *err)
{
    sqlite3_stmt *s = prepare(st, S_COUNT_CUT_BEFORE, err);
    if (!s)
        return err->code;
    sqlite3_bind_int64(s, 1, ticket_id);
    bind_text(s, 2, channel);
    bind_text(s, 3, msg_id);
    return count_query(st, s, count, err, "count cut messages");
}

int tg_store_add_event(tg_store *st, int64_t ticket_id, int64_t at, const char *kind,
                       const char *detail, tg_err *err)
{
    sqlite3_stmt *s = prepare(st, S_ADD_EVENT, err);
    if (!s)
        return err->code;
    sqlite3_bind_int64(s, 1, ticket_id);
    sqlite3_bind_int64(s, 2, at);
    bind_text(s, 3, kind);
    bind_text(s, 4, detail);
    return run(st, s, err, "add event");
}

int tg_store_list_events(tg_store *st, int64_t ticket_id, tg_event_cb cb, void *ud, tg_err *err)
{
    sqlite3_stmt *s = prepare(st, S_LIST_EVENTS, err);
    int rc;
    if (!s)
        return err->code;
    sqlite3_bind_int64(s, 1, ticket_id);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        tg_event e = {sqlite3_column_int64(s, 0), sqlite3_column_int64(s, 1),
                      (const char *)sqlite3_column_text(s, 2),
                      (const char *)sqlite3_column_text(s, 3)};
        if (cb(&e, ud))
            break;
    }
    rc = rc == SQLITE_DONE || rc == SQLITE_ROW ? TG_OK : fail(st, err, "list events");
    sqlite3_reset(s);
    return rc;
}

/* ---- outbox ---- */

int tg_store_add_outbox(tg_store *st, tg_outbox *row, tg_err *err)
{
    sqlite3_stmt *s = prepare(st, S_ADD_OUTBOX, err);
    if (!s)
        return err->code;
    if (row->ticket_id)
        sqlite3_bind_int64(s, 1, row->ticket_id);
    else
        sqlite3_bind_null(s, 1);
    const char *texts[] = {row->channel,     row->kind,        row->recipient, row->recipient_name,
                           row->sender,      row->sender_name, row->subject,   row->body,
                           row->in_reply_to, row->references,  row->thread,    row->lang,
                           row->msg_id,      row->stanza_type};
    for (size_t i = 0; i < G_N_ELEMENTS(texts); i++)
        bind_text(s, (int)i + 2, texts[i]);
    sqlite3_bind_int64(s, 16, row->created_at);
    sqlite3_bind_int64(s, 17, row->next_attempt_at ? row->next_attempt_at : row->created_at);
    bind_text(s, 18, row->attachments_mime);
    int rc = run(st, s, err, "queue reply");
    if (rc == TG_OK)
        row->id = sqlite3_last_insert_rowid(st->db);
    return rc;
}

/* read_outbox - the OUTBOX_COLS of the current row; the strings live until the next step. */
static void read_outbox(sqlite3_stmt *s, tg_outbox *row)
{
#define T(i) ((const char *)sqlite3_column_text(s, i))
    *row = (tg_outbox){
        .id = sqlite3_column_int64(s, 0),
        .ticket_id = sqlite3_column_int64(s, 1),
        .channel = T(2),
        .kind = T(3),
        .recipient = T(4),
        .recipient_name = T(5),
        .sender = T(6),
        .sender_name = T(7),
        .subject = T(8),
        .body = T(9),
        .in_reply_to = T(10),
        .references = T(11),
        .thread = T(12),
        .lang = T(13),
        .status = T(14),
        .attempts = sqlite3_column_int64(s, 15),
        .created_at = sqlite3_column_int64(s, 16),
        .msg_id = T(17),
        .last_error = T(18),
        .stanza_type = T(19),
        .attachments_mime = T(20),
    };
#undef T
}

int tg_store_list_outbox(tg_store *st, int64_t ticket_id, tg_outbox_cb cb, void *ud, tg_err *err)
{
    sqlite3_stmt *s = prepare(st, S_LIST_OUTBOX, err);
    int rc;
    if (!s)
        return err->code;
    sqlite3_bind_int64(s, 1, ticket_id);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        tg_outbox row;
        read_outbox(s, &row);
        if (cb(&row, ud))
            break;
    }
    rc = rc == SQLITE_DONE || rc == SQLITE_ROW ? TG_OK : fail(st, err, "list outbox");
    sqlite3_reset(s);
    return rc;
}

static gint by_row_id(gconstpointer a, gconstpointer b)
{
    int64_t x = ((const tg_outbox *)a)->id, y = ((const tg_outbox *)b)->id;
    return x < y ? -1 : x > y;
}

int tg_store_claim_outbox_rows(tg_store *st, const char *channel, int64_t now, int64_t lease_until,
                               tg_outbox *out, int max, tg_err *err)
{
    sqlite3_stmt *s = prepare(st, S_CLAIM_OUTBOX, err);
    int rc, n = 0;
    if (!s)
        return err->code;
    bind_text(s, 1, channel);
    sqlite3_bind_int64(s, 2, now);
    sqlite3_bind_int64(s, 3, lease_until);
    sqlite3_bind_int(s, 4, max);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW && n < max) {
        tg_outbox row;
        read_outbox(s, &row);
        tg_outbox_copy(&out[n++], &row);
    }
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        rc = fail(st, err, "claim outbox rows");
        sqlite3_reset(s);
        while (n > 0)
            tg_outbox_clear(&out[--n]);
        return rc;
    }
    /* The update happened at the first step; the reset ends the statement. RETURNING gives
     * no order: oldest first, as queued. */
    sqlite3_reset(s);
    qsort(out, (size_t)n, sizeof *out, by_row_id);
    return n;
}

int tg_store_claim_outbox(tg_store *st, const char *channel, int64_t now, int64_t lease_until,
                          tg_outbox *out, tg_err *err)
{
    return tg_store_claim_outbox_rows(st, channel, now, lease_until, out, 1, err);
}

void tg_outbox_copy(tg_outbox *dst, const tg_outbox *src)
{
    *dst = *src;
    const char **strs[] = {
        &dst->channel,         &dst->kind,        &dst->recipient,  &dst->recipient_name,
        &dst->sender,          &dst->sender_name, &dst->subject,    &dst->body,
        &dst->in_reply_to,     &dst->references,  &dst->thread,     &dst->lang,
        &dst->status,          &dst->msg_id,      &dst->last_error, &dst->stanza_type,
        &dst->attachments_mime};
    for (size_t i = 0; i < G_N_ELEMENTS(strs); i++)
        *strs[i] = g_strdup(*strs[i]);
}

void tg_outbox_clear(tg_outbox *row)
{
    const char *strs[] = {
        row->channel,         row->kind,        row->recipient,  row->recipient_name,
        row->sender,          row->sender_name, row->subject,    row->body,
        row->in_reply_to,     row->references,  row->thread,     row->lang,
        row->status,          row->msg_id,      row->last_error, row->stanza_type,
        row->attachments_mime};
    for (size_t i = 0; i < G_N_ELEMENTS(strs); i++)
        g_free((char *)strs[i]);
    memset(row, 0, sizeof *row);
}

int tg_store_outbox_sent(tg_store *st, int64_t id, int64_t now, tg_err *err)
{
    sqlite3_stmt *s = prepare(st, S_OUTBOX_SENT, err);
    if (!s)
        return err->code;
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int64(s, 2, now);
    return run(st, s, err, "mark reply sent");
}

int tg_store_outbox_retry(tg_store *st, int64_t id, const char *error, int64_t next_attempt,
                          int give_up, tg_err *err)
{
    sqlite3_stmt *s = prepare(st, S_OUTBOX_RETRY, err);
    if (!s)
        return err->code;
    sqlite3_bind_int64(s, 1, id);
    bind_text(s, 2, error);
    sqlite3_bind_int64(s, 3, next_attempt);
    sqlite3_bind_int(s, 4, give_up != 0);
    return run(st, s, err, "mark reply for retry");
}

int tg_store_count_outbox(tg_store *st, const char *status, int64_t *count, tg_err *err)
{
    sqlite3_stmt *s = prepare(st, S_COUNT_OUTBOX, err);
    if (!s)
        return err->code;
    bind_text(s, 1, status);
    return count_query(st, s, count, err, "count outbox");
}

/* one_row - run an ad hoc statement (bound by the caller) that returns one row; 1 with the row
 * ready to read, or a negative code. The caller finalizes it. */
static int one_row(tg_store *st, sqlite3_stmt *s, const char *doing, tg_err *err)
{
    return sqlite3_step(s) == SQLITE_ROW ? 1 : fail(st, err, doing);
}

int tg_store_outbox_health(tg_store *st, const char *channel, int64_t since, tg_outbox_health *out,
                           tg_err *err)
{
    /* the waiting ones by the pending index; the failed ones by a scan of the outbox */
    static const char query[] =
        "SELECT (SELECT count(*) FROM outbox WHERE channel = ?1 AND status = 'pending'),"
        " (SELECT min(created_at) FROM outbox WHERE channel = ?1 AND status = 'pending'),"
        " (SELECT count(*) FROM outbox WHERE channel = ?1 AND status = 'failed'"
        "  AND next_attempt_at >= ?2),"
        " (SELECT last_error FROM outbox WHERE channel = ?1 AND status = 'failed'"
        "  AND next_attempt_at >= ?2 ORDER BY next_attempt_at DESC, id DESC LIMIT 1)";
    sqlite3_stmt *s = NULL;
    memset(out, 0, sizeof *out);
    if (sqlite3_prepare_v2(st->db, query, -1, &s, NULL) != SQLITE_OK)
        return fail(st, err, "prepare outbox health");
    bind_text(s, 1, channel);
    sqlite3_bind_int64(s, 2, since);
    int rc = one_row(st, s, "read outbox health", err);
    if (rc == 1) {
        out->waiting = sqlite3_column_int64(s, 0);
        out->oldest_waiting = sqlite3_column_int64(s, 1); /* NULL reads as 0 */
        out->failed = sqlite3_column_int64(s, 2);
        out->last_error = g_strdup((const char *)sqlite3_column_text(s, 3));
        rc = TG_OK;
    }
    sqlite3_finalize(s);
    return rc;
}

int tg_store_ticket_health(tg_store *st, int64_t now, tg_ticket_health *out, tg_err *err)
{
    static const char query[] =
        "SELECT (SELECT count(*) FROM tickets),"
        " (SELECT count(*) FROM tickets WHERE status NOT IN ('resolved', 'closed')),"
        " (SELECT count(*) FROM tickets WHERE assignee IS NULL"
        "  AND status IN ('new', 'open', 'pending')),"
        " (SELECT created_at FROM tickets ORDER BY id DESC LIMIT 1),"
        " (SELECT count(*) FROM tickets WHERE " OVERDUE("?1") ")";
    sqlite3_stmt *s = NULL;
    memset(out, 0, sizeof *out);
    if (sqlite3_prepare_v2(st->db, query, -1, &s, NULL) != SQLITE_OK)
        return fail(st, err, "prepare ticket health");
    sqlite3_bind_int64(s, 1, now);
    int rc = one_row(st, s, "read ticket health", err);
    if (rc == 1) {
        out->tickets = sqlite3_column_int64(s, 0);
        out->unfinished = sqlite3_column_int64(s, 1);
        out->unassigned = sqlite3_column_int64(s, 2);
        out->newest = sqlite3_column_int64(s, 3);
        out->overdue = sqlite3_column_int64(s, 4);
        rc = TG_OK;
    }
    sqlite3_finalize(s);
    return rc;
}

int tg_store_count_autoreplies(tg_store *st, const char *address, int64_t since, int64_t *count,
                               tg_err *err)
{
    sqlite3_stmt *s = prepare(st, S_COUNT_AUTOREPLIES, err);
    if (!s)
        return err->code;
    bind_text(s, 1, address);
    sqlite3_bind_int64(s, 2, since);
    return count_query(st, s, count, err, "count auto-replies");
}

int tg_store_forget_autoreplies(tg_store *st, int64_t before, int64_t limit, int64_t *forgotten,
                                tg_err *err)
{
    sqlite3_stmt *s = prepare(st, S_FORGET_AUTOREPLIES, err);
    if (!s)
        return err->code;
    sqlite3_bind_int64(s, 1, before);
    sqlite3_bind_int64(s, 2, limit);
    int rc = run(st, s, err, "forget old auto-replies");
    *forgotten = rc == TG_OK ? sqlite3_changes(st->db) : 0;
    return rc;
}

int tg_store_log_autoreply(tg_store *st, const char *address, int64_t at, tg_err *err)
{
    sqlite3_stmt *s = prepare(st, S_LOG_AUTOREPLY, err);
    if (!s)
        return err->code;
    bind_text(s, 1, address);
    sqlite3_bind_int64(s, 2, at);
    return run(st, s, err, "log auto-reply");
}

int tg_store_agent_load(tg_store *st, const char *agent, int64_t *open_tickets,
                        int64_t *last_assigned, tg_err *err)
{
    sqlite3_stmt *s = prepare(st, S_AGENT_OPEN, err);
    int rc;
    if (!s)
        return err->code;
    bind_text(s, 1, agent);
    if ((rc = count_query(st, s, open_tickets, err, "count agent tickets")) != TG_OK)
        return rc;
    if (!(s = prepare(st, S_AGENT_LAST, err)))
        return err->code;
    bind_text(s, 1, agent);
    rc = sqlite3_step(s);
    *last_assigned = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? TG_OK : fail(st, err, "read agent");
    sqlite3_reset(s);
    return rc;
}

int tg_store_service_levels(tg_store *st, tg_sla_target target, int64_t from, int64_t to,
                            int64_t now, tg_service_level_cb cb, void *ud, tg_err *err)
{
    sqlite3_stmt *s =
        prepare(st, target == TG_TARGET_RESOLUTION ? S_RESOLUTION_LEVELS : S_SERVICE_LEVELS, err);
    int rc;
    if (!s)
        return err->code;
    sqlite3_bind_int64(s, 1, from);
    sqlite3_bind_int64(s, 2, to);
    sqlite3_bind_int64(s, 3, now);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        tg_service_level row = {(const char *)sqlite3_column_text(s, 0),
                                (const char *)sqlite3_column_text(s, 1),
                                sqlite3_column_int64(s, 2),
                                sqlite3_column_int64(s, 3),
                                sqlite3_column_int64(s, 4),
                                sqlite3_column_int64(s, 5)};
        if (cb(&row, ud))
            break;
    }
    rc = rc == SQLITE_DONE || rc == SQLITE_ROW ? TG_OK : fail(st, err, "service levels");
    sqlite3_reset(s);
    return rc;
}
