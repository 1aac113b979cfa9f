/* tg_store.h - the ticket store. The API speaks in tickets, messages, events and outbox rows;
 * SQL and SQLite stay inside tg_store.c so a second backend can implement the same verbs.
 * A tg_store is one connection: use it from one thread at a time and open one per thread.
 * Any number of connections, in any number of processes, may use one database at once.
 * Every function takes a non-NULL tg_err and returns 0 or a negative TG_E* code (lookups:
 * 1 found, 0 not found); TG_ETEMP means "try again later" (busy, read-only, disk full). */
#ifndef TG_STORE_H
#define TG_STORE_H

#include <stdint.h>

#include "tg_err.h"

typedef struct tg_store tg_store;

typedef struct tg_store_opts {
    int64_t busy_timeout_ms; /* wait this long for a lock before TG_ETEMP */
    int synchronous_full;    /* fsync at every commit (durable) or only at checkpoints */
    int read_only; /* for views: the store must exist with this version's schema; no writes */
} tg_store_opts;

typedef struct tg_ticket {
    int64_t id;
    char *ref, *channel, *source, *queue, *category, *priority, *rule;
    char *requester, *requester_name, *lang, *subject, *status, *assignee, *sla_policy, *tags;
    int64_t created_at, updated_at, first_response_due, resolution_due;
    int64_t first_response_at, resolved_at; /* 0: not yet */
    char *agent_group; /* routed to: a rule's group, else the queue's; NULL: none (or older) */
} tg_ticket;

typedef struct tg_message {
    int64_t id, ticket_id;
    const char *direction; /* "in" customer, "agent" an agent's answer, "out" ours */
    const char *channel, *msg_id, *sender, *subject, *body;
    int64_t created_at;
    int truncated;
    const char *attachments; /* received mail: "name (type, size)" per line; else NULL */
} tg_message;

typedef struct tg_event {
    int64_t ticket_id, at;
    const char *kind, *detail;
} tg_event;

typedef struct tg_outbox {
    int64_t id, ticket_id;
    const char *channel; /* "email" or "xmpp" */
    const char *kind;    /* "autoreply", "relay", "notify", "escalation" */
    const char *recipient, *recipient_name, *sender, *sender_name;
    const char *subject, *body, *in_reply_to, *references, *thread, *lang;
    const char *msg_id;           /* Message-ID (email, without <>) or stanza id */
    const char *stanza_type;      /* xmpp: "chat" or "normal", as the message answered */
    const char *attachments_mime; /* email relay: the agent's files (tg_inbound), until sent */
    const char *status;           /* "pending", "sent", "failed" */
    const char *last_error;
    int64_t attempts, created_at;
    int64_t next_attempt_at; /* when a sender may take it: 0 at once; later, it is leased to
                              * the process that queued it, to send itself */
} tg_outbox;

typedef struct tg_ticket_filter {
    const char *const *statuses; /* NULL-terminated; NULL: any status */
    const char *queue, *assignee;
    int unassigned; /* only tickets nobody has */
    int overdue;    /* first response or resolution due before `now` and not met */
    int64_t now;
    int64_t limit; /* 0: no limit; else the newest limit tickets (still listed oldest first) */
} tg_ticket_filter;

/* tg_store_open - open (creating and migrating) the database at path. */
int tg_store_open(const char *path, const tg_store_opts *opts, tg_store **out, tg_err *err);
void tg_store_close(tg_store *st); /* NULL-safe */

/* tg_store_defer_checkpoints - SQLite copies the WAL back into the database inside the commit
 * that makes it big enough (10,000 pages), holding up whatever waits for that commit. After
 * this call commits no longer do; the caller runs tg_store_checkpoint_if_due when nothing
 * waits on it (ticketgate-xmpp: after the batch's replies were written). */
void tg_store_defer_checkpoints(tg_store *st);
int tg_store_checkpoint_if_due(tg_store *st, tg_err *err);

/* tg_store_copy_to - write a consistent copy of the whole store to path (a missing or empty
 * file) in one read transaction, while other connections go on writing: SQLite's VACUUM INTO,
 * so the copy is compact and complete without a -wal file. A read-only connection will do. The
 * copy is not synced to the disk: the caller does that. */
int tg_store_copy_to(tg_store *st, const char *path, tg_err *err);
/* tg_store_quick_check - SQLite's quick_check of the whole file: TG_OK, or TG_ESTORE with the
 * first problem it reports. */
int tg_store_quick_check(tg_store *st, tg_err *err);
/* tg_store_restore_from - replace everything in the store with the copy at path (checked, of a
 * schema this version understands; an older one is migrated after), in one write transaction
 * through the store's WAL with SQLite's online backup: copying the file over the store's instead
 * would have SQLite apply the old WAL beside it to the copy. The ticket ids the store had given
 * are not given again. */
int tg_store_restore_from(tg_store *st, const char *path, tg_err *err);
/* tg_store_purge_finished - delete at most limit tickets that are resolved or closed and were
 * last changed before `before`, with their messages, events, thread addresses and replies, in one
 * transaction; *purged tells how many. Never a ticket with a reply still to send. Their ids, and
 * so their references, are never given again. With limit 0, only counts what it would delete. */
int tg_store_purge_finished(tg_store *st, int64_t before, int64_t limit, int64_t *purged,
                            tg_err *err);
/* tg_store_check_copy - what tg_store_restore_from checks first: TG_EINVAL for a file that is
 * not a ticketgate store (or of a newer version), TG_ESTORE for a damaged one. */
int tg_store_check_copy(const char *path, tg_err *err);

/* Transactions: begin takes the write lock at once (BEGIN IMMEDIATE), so a check followed by
 * an insert cannot race another writer. */
int tg_store_begin(tg_store *st, tg_err *err);
int tg_store_commit(tg_store *st, tg_err *err);
void tg_store_rollback(tg_store *st);
/* tg_store_set_durable - with durable off, commits skip the fsync (WAL keeps them in order, and
 * the next durable commit makes them durable too). For bookkeeping whose loss in a power
 * failure only repeats work, such as outbox claims and "sent" marks. Outside transactions. */
int tg_store_set_durable(tg_store *st, int durable, tg_err *err);
/* Savepoints: units inside one transaction that can be undone alone (group commit). */
int tg_store_savepoint(tg_store *st, tg_err *err);
int tg_store_release(tg_store *st, tg_err *err);
void tg_store_rollback_to(tg_store *st);   /* undo the unit and end it */
int tg_store_in_transaction(tg_store *st); /* false after an error that rolled everything back */

/* tg_store_new_chat_id - an id for a chat message of ours that sorts by time: our ids are
 * indexed, and increasing keys are appended to the index instead of dirtying a random page of
 * it each. Caller g_free()s. */
char *tg_store_new_chat_id(void);

/* Tickets. Lookups return 1 found, 0 not found, or a negative code. */
int tg_store_insert_ticket(tg_store *st, tg_ticket *t, const char *prefix, tg_err *err);
int tg_store_ticket_by_ref(tg_store *st, const char *ref, tg_ticket *out, tg_err *err);
int tg_store_ticket_by_id(tg_store *st, int64_t id, tg_ticket *out, tg_err *err);
/* tg_store_open_chat - the requester's latest new/open/pending chat ticket in queue. */
int tg_store_open_chat(tg_store *st, const char *requester, const char *queue, tg_ticket *out,
                       tg_err *err);
int tg_store_set_status(tg_store *st, int64_t id, const char *status, int64_t now, tg_err *err);
int tg_store_set_assignee(tg_store *st, int64_t id, const char *agent, int64_t now, tg_err *err);
/* tg_store_set_first_response - record the first answer; later answers leave it unchanged. */
int tg_store_set_first_response(tg_store *st, int64_t id, int64_t at, tg_err *err);
int tg_store_count_tickets(tg_store *st, int64_t *count, tg_err *err);
typedef int (*tg_ticket_cb)(const tg_ticket *t, void *ud);
int tg_store_list_tickets(tg_store *st, const tg_ticket_filter *f, tg_ticket_cb cb, void *ud,
                          tg_err *err);
/* tg_store_list_open_tickets - the tickets not resolved or closed that assignee has (NULL: that
 * nobody has), oldest first. */
int tg_store_list_open_tickets(tg_store *st, const char *assignee, tg_ticket_cb cb, void *ud,
                               tg_err *err);
/* tg_store_count_open_by_assignee - cb(assignee, tickets) for each agent who has tickets not
 * resolved or closed, in the order of their ids; a nonzero return from cb stops. */
typedef int (*tg_assignee_count_cb)(const char *assignee, int64_t tickets, void *ud);
int tg_store_count_open_by_assignee(tg_store *st, tg_assignee_count_cb cb, void *ud, tg_err *err);
void tg_ticket_clear(tg_ticket *t);           /* frees the strings, NULL-safe fields */
tg_ticket *tg_ticket_dup(const tg_ticket *t); /* a copy; tg_ticket_free() it */
void tg_ticket_free(tg_ticket *t);            /* NULL-safe */
/* The two SLA targets of a ticket. */
typedef enum tg_sla_target {
    TG_TARGET_FIRST_RESPONSE,
    TG_TARGET_RESOLUTION,
} tg_sla_target;
/* tg_ticket_due - when t's target is due (-1: no target). */
int64_t tg_ticket_due(const tg_ticket *t, tg_sla_target target);
/* tg_store_list_unescalated - tickets that missed target, due in (due_after, due_before] and
 * not escalated for it yet, earliest due first, at most limit; cb returns non-zero to stop.
 * First response: new or open tickets without an answer and without an "escalated" event.
 * Resolution: tickets not resolved or closed (pending ones too) without an
 * "escalated-resolution" event. */
int tg_store_list_unescalated(tg_store *st, tg_sla_target target, int64_t due_after,
                              int64_t due_before, int64_t limit, tg_ticket_cb cb, void *ud,
                              tg_err *err);

/* Messages and threads. */
int tg_store_add_message(tg_store *st, tg_message *m, tg_err *err);
/* tg_store_find_message - ticket of the received (in/agent) message (channel, msg_id). */
int tg_store_find_message(tg_store *st, const char *channel, const char *msg_id, int64_t *ticket_id,
                          tg_err *err);
/* tg_store_find_thread - ticket of any message, ours or the customer's, with this id. */
int tg_store_find_thread(tg_store *st, const char *channel, const char *msg_id, int64_t *ticket_id,
                         tg_err *err);
/* tg_store_find_own_message - ticket of the message we sent (direction out) with this id. */
int tg_store_find_own_message(tg_store *st, const char *channel, const char *msg_id,
                              int64_t *ticket_id, tg_err *err);
int tg_store_add_thread_address(tg_store *st, int64_t ticket_id, const char *address, tg_err *err);
int tg_store_is_thread_address(tg_store *st, int64_t ticket_id, const char *address, tg_err *err);
typedef int (*tg_message_cb)(const tg_message *m, void *ud);
int tg_store_list_messages(tg_store *st, int64_t ticket_id, tg_message_cb cb, void *ud,
                           tg_err *err);
/* tg_store_count_cut_before - the customer's messages on the ticket whose text was cut, stored
 * before the received message (channel, msg_id). */
int tg_store_count_cut_before(tg_store *st, int64_t ticket_id, const char *channel,
                              const char *msg_id, int64_t *count, tg_err *err);

/* Events. */
int tg_store_add_event(tg_store *st, int64_t ticket_id, int64_t at, const char *kind,
                       const char *detail, tg_err *err);
typedef int (*tg_event_cb)(const tg_event *e, void *ud);
int tg_store_list_events(tg_store *st, int64_t ticket_id, tg_event_cb cb, void *ud, tg_err *err);

/* Outbox and auto-reply accounting. A row with ticket_id 0 belongs to no ticket (a notice
 * about several). */
int tg_store_add_outbox(tg_store *st, tg_outbox *row, tg_err *err);
typedef int (*tg_outbox_cb)(const tg_outbox *row, void *ud);
int tg_store_list_outbox(tg_store *st, int64_t ticket_id, tg_outbox_cb cb, void *ud, tg_err *err);
/* tg_store_claim_outbox - take the oldest due pending row of channel and hide it from other
 * senders until lease_until: 1 with *out (caller frees it with tg_outbox_clear), 0 none due.
 * Mark the row with tg_store_outbox_sent or _retry; a crash leaves it to go out after the lease. */
int tg_store_claim_outbox(tg_store *st, const char *channel, int64_t now, int64_t lease_until,
                          tg_outbox *out, tg_err *err);
/* tg_store_claim_outbox_rows - the same for up to max rows at once, oldest first, into out[];
 * returns how many (0: none due) or a negative code. */
int tg_store_claim_outbox_rows(tg_store *st, const char *channel, int64_t now, int64_t lease_until,
                               tg_outbox *out, int max, tg_err *err);
void tg_outbox_clear(tg_outbox *row);
/* tg_outbox_copy - *dst = a copy of src with strings of its own; free with tg_outbox_clear. */
void tg_outbox_copy(tg_outbox *dst,
                    const tg_outbox *src); /* only for rows from tg_store_claim_outbox */
int tg_store_outbox_sent(tg_store *st, int64_t id, int64_t now, tg_err *err);
/* tg_store_outbox_retry - count a failed attempt: try again at next_attempt, or mark the row
 * failed (give_up: next_attempt is then the time it was given up, which monitoring counts by);
 * error is kept either way. */
int tg_store_outbox_retry(tg_store *st, int64_t id, const char *error, int64_t next_attempt,
                          int give_up, tg_err *err);
int tg_store_count_outbox(tg_store *st, const char *status, int64_t *count, tg_err *err);
/* The replies of one channel, as monitoring sees them (ticketgatectl status). */
typedef struct tg_outbox_health {
    int64_t waiting;        /* replies still to send */
    int64_t oldest_waiting; /* when the oldest of them was queued; 0: none */
    int64_t failed;         /* replies given up since `since` */
    char *last_error;       /* the newest of those failures' error, or NULL; g_free() it */
} tg_outbox_health;
int tg_store_outbox_health(tg_store *st, const char *channel, int64_t since, tg_outbox_health *out,
                           tg_err *err);
/* The tickets, as monitoring sees them: all, those not resolved or closed, those of them overdue
 * at `now` (as list --overdue) and those of them nobody has, and when the newest was made (0:
 * none). */
typedef struct tg_ticket_health {
    int64_t tickets, unfinished, overdue, unassigned, newest;
} tg_ticket_health;
int tg_store_ticket_health(tg_store *st, int64_t now, tg_ticket_health *out, tg_err *err);
int tg_store_count_autoreplies(tg_store *st, const char *address, int64_t since, int64_t *count,
                               tg_err *err);
int tg_store_log_autoreply(tg_store *st, const char *address, int64_t at, tg_err *err);
/* tg_store_forget_autoreplies - delete at most limit auto-reply records made before `before`,
 * oldest first; *forgotten says how many. */
int tg_store_forget_autoreplies(tg_store *st, int64_t before, int64_t limit, int64_t *forgotten,
                                tg_err *err);

/* Agents: load for assignment. */
int tg_store_agent_load(tg_store *st, const char *agent, int64_t *open_tickets,
                        int64_t *last_assigned, tg_err *err);

/* Service levels: the first responses (or resolutions) due in a period, per channel and queue.
 * A ticket is handled at its first answer, or, without one, when it was resolved or closed; it
 * is resolved when it was last resolved or closed (a reopened ticket is not). */
typedef struct tg_service_level {
    const char *channel, *queue;
    int64_t due;     /* tickets whose target is due in the period */
    int64_t in_time; /* handled (resolved) by the due time */
    int64_t late;    /* handled after it, or not yet and the due time has passed */
    int64_t waiting; /* not handled yet, the due time still ahead */
} tg_service_level;
typedef int (*tg_service_level_cb)(const tg_service_level *row, void *ud);
/* tg_store_service_levels - one row per channel and queue with a target due in [from, to),
 * ordered by channel and queue; now decides late or waiting. */
int tg_store_service_levels(tg_store *st, tg_sla_target target, int64_t from, int64_t to,
                            int64_t now, tg_service_level_cb cb, void *ud, tg_err *err);

/* tg_store_schema_version - the version this binary creates and understands. */
int tg_store_schema_version(void);

#endif
