/* tg_intake.h - the one pipeline both channels call. In ONE store transaction it deduplicates,
 * finds the ticket a follow-up belongs to (checking the sender may use it), classifies, computes
 * SLA due times, assigns, writes ticket + message + events, and queues the auto-reply in the
 * outbox. A failure leaves nothing behind. */
#ifndef TG_INTAKE_H
#define TG_INTAKE_H

#include <stdint.h>

#include "tg_config.h"
#include "tg_err.h"
#include "tg_inbound.h"
#include "tg_store.h"

typedef enum {
    TG_INTAKE_NEW,         /* a new ticket */
    TG_INTAKE_FOLLOWUP,    /* appended to the requester's ticket */
    TG_INTAKE_DUPLICATE,   /* seen before: nothing written */
    TG_INTAKE_AGENT_REPLY, /* an agent's answer on a ticket, relayed to the requester */
    TG_INTAKE_IGNORED,     /* not a ticket (an agent answering a notice): nothing written */
} tg_intake_kind;

/* The headers intake sets on a delivered copy; a channel removes copies of them that came from
 * outside, so that nobody forges a priority. */
enum { TG_HDR_ID, TG_HDR_QUEUE, TG_HDR_PRIORITY, TG_HDR_DUE, TG_N_TICKET_HEADERS };
extern const char *const tg_ticket_header_names[TG_N_TICKET_HEADERS];

typedef struct tg_decision {
    tg_intake_kind kind;
    int64_t ticket_id;
    char *ref, *queue, *category, *priority, *status, *assignee, *sla_policy;
    char *rule, *rule_why;      /* new tickets: the rule that classified it and why */
    int64_t first_response_due; /* -1: no target */
    int64_t resolution_due;
    char *due_text;        /* first-response due, as the customer reads it */
    int reply_queued;      /* an auto-reply is in the outbox */
    char *no_reply_reason; /* why not, when not */
    char *reply_subject, *reply_text;
    tg_outbox *leased_reply; /* the auto-reply as queued, when the job asked for a lease */
    char *assign_note;       /* who was assigned and why, or why nobody */
    char *note;              /* anything else worth a log line: refused reference, cut text */
    tg_header headers[TG_N_TICKET_HEADERS]; /* for the delivered copy (tg_ticket_header_names) */
    size_t n_headers;
} tg_decision;

/* tg_intake_process - run the pipeline on in at time now and commit. TG_ETEMP: the store could
 * not take it now (the caller retries: 4xx, EX_TEMPFAIL). Caller clears *dec. */
int tg_intake_process(const tg_config *cfg, tg_store *st, const tg_inbound *in, int64_t now,
                      tg_decision *dec, tg_err *err);

/* One message of a batch: input, and what became of it. */
typedef struct tg_intake_job {
    const tg_inbound *in;
    int64_t now;
    int64_t lease_until; /* nonzero: the auto-reply is queued leased to the caller until then,
                          * for it to send at once after the commit (dec.leased_reply) */
    tg_decision dec;     /* filled when rc is TG_OK; caller clears */
    int rc;
    tg_err err;
} tg_intake_job;

/* tg_intake_process_batch - tg_intake_process for n messages in ONE transaction: one fsync for
 * all (group commit). A message that fails is undone alone (the batch runs again with a
 * savepoint per message; savepoints are not free, so only then); if the commit fails, every job
 * fails with its code. Returns the number of jobs that succeeded. */
size_t tg_intake_process_batch(const tg_config *cfg, tg_store *st, tg_intake_job **jobs, size_t n);

/* The same in two steps, for a caller with writes of its own to share the batch's commit (the
 * chat component records what it sent and claims what to send next): tg_intake_batch_run
 * begins the transaction and runs the jobs; it returns TG_OK with the transaction still open,
 * or the error that ended it. The caller writes, then passes that code (or its own failure) to
 * tg_intake_batch_commit, which commits (or rolls back) and returns TG_OK when all was
 * committed; when the transaction is lost, every job fails with err and its code. */
int tg_intake_batch_run(const tg_config *cfg, tg_store *st, tg_intake_job **jobs, size_t n,
                        tg_err *err);
int tg_intake_batch_commit(tg_store *st, tg_intake_job **jobs, size_t n, int rc, tg_err *err);

/* tg_intake_answer - tg_intake_process for an agent's answer: committed only when taken as one
 * (or as a duplicate of one); otherwise rolled back with TG_EINVAL, where tg_intake_process
 * would have made a new ticket of the agent's and auto-replied to the agent. */
int tg_intake_answer(const tg_config *cfg, tg_store *st, const tg_inbound *in, int64_t now,
                     tg_decision *dec, tg_err *err);

/* tg_intake_explain - the same pipeline, rolled back: what would happen, nothing written. */
int tg_intake_explain(const tg_config *cfg, tg_store *st, const tg_inbound *in, int64_t now,
                      tg_decision *dec, tg_err *err);

/* tg_intake_forget_autoreplies - the per-sender reply limit looks back [limits]
 * autoreply_window only: older records of auto-replies are deleted, a chunk per transaction.
 * *forgotten counts them. The daemons call it every TG_FORGET_EVERY seconds. */
#define TG_FORGET_EVERY INT64_C(3600) /* seconds */
int tg_intake_forget_autoreplies(const tg_config *cfg, tg_store *st, int64_t now,
                                 int64_t *forgotten, tg_err *err);

void tg_decision_clear(tg_decision *dec);
const char *tg_intake_kind_name(tg_intake_kind kind);

#endif
