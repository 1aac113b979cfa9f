/* sender.c - sends the xmpp rows of the outbox (auto-replies, agents' answers, notifications)
 * while connected. A row is claimed (leased, so no other sender takes it), handed to
 * libstrophe, and recorded as sent only once libstrophe's queue has drained on the stream it
 * was handed to: xmpp_send only queues, and what is queued is dropped when the stream goes
 * away. Rows whose stream closed first go back to the outbox and out after the reconnect. A
 * reply may thus, rarely, arrive twice; never zero.
 *
 * The auto-replies of this component's own intake are not claimed: intake queues them already
 * leased to us and chat_flush hands them over after the commit (sender_send_leased).
 *
 * A row of the outbox (made by any process) that the server would close the stream over is not
 * sent but given up, with the reason: sent, it would close the stream again after every
 * reconnect, and no chat would go out.
 *
 * When messages are arriving, the records and the next claims share the transaction of their
 * intake batch (chat_flush), so a busy component commits once per batch; otherwise
 * sender_drain makes a transaction of its own. */
#include "tg_log.h"
#include "xmpp.h"

#define BATCH      64
#define FLUSH_WAIT 2000000 /* µs to wait at stop for libstrophe to write what it holds */

/* What the transaction being built records of a row. */
typedef enum { KEEP, RECORD_SENT, BACK_TO_OUTBOX, GIVE_UP } outcome;

/* A row handed to libstrophe, waiting to be recorded. */
typedef struct sent_row {
    int64_t id;
    char *kind, *recipient;
    unsigned stream; /* component.stream it was queued on */
    int written;     /* libstrophe's queue drained on that stream since */
    outcome outcome;
    char *unsendable; /* not sent: why the server would not take it */
} sent_row;

struct sender {
    GArray *sent; /* sent_row */
    tg_outbox *claimed;
    int n_claimed;
};

static void sent_row_clear(void *p)
{
    sent_row *r = p;
    g_free(r->kind);
    g_free(r->recipient);
    g_free(r->unsendable);
}

sender *sender_new(void)
{
    sender *s = g_new0(sender, 1);
    s->sent = g_array_new(FALSE, TRUE, sizeof(sent_row));
    g_array_set_clear_func(s->sent, sent_row_clear);
    s->claimed = g_new0(tg_outbox, BATCH);
    return s;
}

static void drop_claimed(sender *s)
{
    for (int i = 0; i < s->n_claimed; i++)
        tg_outbox_clear(&s->claimed[i]);
    s->n_claimed = 0;
}

void sender_free(sender *s)
{
    if (!s)
        return;
    drop_claimed(s);
    g_free(s->claimed);
    g_array_unref(s->sent);
    g_free(s);
}

void sender_note_written(component *c)
{
    if (!c->connected || component_unwritten(c))
        return;
    for (guint i = 0; i < c->out->sent->len; i++) {
        sent_row *r = &g_array_index(c->out->sent, sent_row, i);
        r->written |= r->stream == c->stream;
    }
}

int sender_has_records(const component *c)
{
    for (guint i = 0; i < c->out->sent->len; i++) {
        const sent_row *r = &g_array_index(c->out->sent, sent_row, i);
        if (r->written || r->unsendable || !c->connected || r->stream != c->stream)
            return 1;
    }
    return 0;
}

/* in_transaction - inside an open transaction: record what was written (or lost with its
 * stream), and, if claim, claim the next rows for sender_after_commit to send. */
static int in_transaction(component *c, int claim, tg_err *err)
{
    sender *s = c->out;
    int64_t now = g_get_real_time() / G_USEC_PER_SEC;
    int rc = TG_OK;

    for (guint i = 0; i < s->sent->len && rc == TG_OK; i++) {
        sent_row *r = &g_array_index(s->sent, sent_row, i);
        int gone = !c->connected || r->stream != c->stream;
        r->outcome = r->unsendable ? GIVE_UP
                     : r->written  ? RECORD_SENT
                     : gone        ? BACK_TO_OUTBOX
                                   : KEEP;
        if (r->outcome == RECORD_SENT)
            rc = tg_store_outbox_sent(c->st, r->id, now, err);
        else if (r->outcome == GIVE_UP)
            rc = tg_store_outbox_retry(c->st, r->id, r->unsendable, now, 1, err);
        else if (r->outcome == BACK_TO_OUTBOX)
            rc = tg_store_outbox_retry(c->st, r->id, "stream closed before it was written", now, 0,
                                       err);
    }
    if (rc == TG_OK && claim && c->connected) {
        int n = tg_store_claim_outbox_rows(c->st, "xmpp", now, now + SEND_LEASE, s->claimed, BATCH,
                                           err);
        if (n < 0)
            rc = err->code;
        else
            s->n_claimed = n;
        if (n == BATCH) /* more may be waiting: look again at once */
            c->last_drain = 0;
    }
    return rc;
}

void sender_join_transaction(component *c)
{
    tg_err err = {0};
    int rc = tg_store_savepoint(c->st, &err);
    if (rc == TG_OK && (rc = in_transaction(c, 1, &err)) == TG_OK)
        rc = tg_store_release(c->st, &err);
    if (rc != TG_OK) { /* undone alone: the tickets of the batch still commit */
        tg_warn("sender: %s (the outbox is looked at again within a second)", err.msg);
        if (tg_store_in_transaction(c->st))
            tg_store_rollback_to(c->st);
        sender_after_commit(c, 0);
    }
}

/* send_row - o as a chat message, tracked until recorded; with check, only if the server would
 * take it (intake's own auto-replies, sent leased, are ticketgate's text: not parsed again). */
static void send_row(component *c, const tg_outbox *o, int check)
{
    const char *from = o->sender ? o->sender : c->cfg->xmpp_domain; /* rows made elsewhere */
    xmpp_stanza_t *m = component_message(c, from, o->recipient, o->stanza_type, o->msg_id, o->body,
                                         o->thread, o->lang);
    char *unsendable = check ? component_unsendable(c, m) : NULL;
    if (unsendable)
        xmpp_stanza_release(m);
    else
        component_send(c, m);
    sent_row r = {o->id, g_strdup(o->kind), g_strdup(o->recipient), c->stream, 0, KEEP, unsendable};
    g_array_append_val(c->out->sent, r);
}

void sender_after_commit(component *c, int committed)
{
    sender *s = c->out;
    int back = 0;
    for (guint i = 0; i < s->sent->len;) {
        sent_row *r = &g_array_index(s->sent, sent_row, i);
        if (!committed || r->outcome == KEEP) {
            r->outcome = KEEP; /* rolled back: recorded next time, or sent again after the lease */
            i++;
            continue;
        }
        if (r->outcome == RECORD_SENT)
            tg_info("xmpp: %s to=<%s> sent", r->kind, r->recipient);
        else if (r->outcome == GIVE_UP)
            tg_error("xmpp: %s %lld to=<%s> given up: %s", r->kind, (long long)r->id, r->recipient,
                     r->unsendable);
        back += r->outcome == BACK_TO_OUTBOX;
        g_array_remove_index(s->sent, i);
    }
    if (back)
        tg_warn("sender: %d message(s) not written before the stream closed; they go out after "
                "reconnecting",
                back);
    for (int i = 0; committed && i < s->n_claimed; i++)
        send_row(c, &s->claimed[i], 1);
    drop_claimed(s);
}

void sender_send_leased(component *c, const tg_outbox *o)
{
    send_row(c, o, 0);
}

/* record - a transaction of our own for the records (and claims), not waiting for the disk:
 * losing it in a power failure only sends a reply again. The fsync belongs to the tickets. */
static void record(component *c, int claim)
{
    tg_err err = {0};
    tg_store_set_durable(c->st, 0, &err);
    int rc = tg_store_begin(c->st, &err);
    if (rc == TG_OK)
        rc = in_transaction(c, claim, &err);
    if (rc == TG_OK)
        rc = tg_store_commit(c->st, &err);
    else
        tg_store_rollback(c->st);
    if (rc != TG_OK) /* the rows come back when their lease ends: sent again, never lost */
        tg_error("sender: %s", err.msg);
    sender_after_commit(c, rc == TG_OK);
    tg_store_set_durable(c->st, 1, &err);
}

void sender_drain(component *c)
{
    if (c->connected || sender_has_records(c))
        record(c, 1);
}

void sender_finish(component *c)
{
    gint64 until = g_get_monotonic_time() + FLUSH_WAIT;
    while (c->connected && component_unwritten(c) && g_get_monotonic_time() < until)
        component_run_once(c, 1); /* it writes first, then waits this long for input */
    sender_note_written(c);
    if (sender_has_records(c))
        record(c, 0);
}
