/* sender.c - sends the xmpp rows of the outbox (auto-replies, agents' answers, notifications)
 * while connected. libstrophe drops what it has not written when the stream goes away, so a
 * row is marked sent only once the send queue has drained with the stream still up; otherwise
 * it goes out again after the reconnect. A reply may thus, rarely, arrive twice; never zero. */
#include "tg_log.h"
#include "xmpp.h"

#define BATCH      64
#define LEASE      30      /* seconds a claimed row stays hidden from another sender */
#define FLUSH_WAIT 2000000 /* µs to wait for libstrophe to write a batch */

void sender_drain(component *c)
{
    tg_outbox rows[BATCH];
    tg_err err = {0};
    int64_t now = g_get_real_time() / G_USEC_PER_SEC;

    if (!c->connected)
        return;
    /* One claim and one commit for the whole batch, neither waiting for the disk: losing them
     * in a power failure only sends a reply again. The fsync belongs to the tickets. */
    tg_store_set_durable(c->st, 0, &err);
    int n = tg_store_claim_outbox_rows(c->st, "xmpp", now, now + LEASE, rows, BATCH, &err);
    if (n <= 0) {
        if (n < 0)
            tg_warn("sender: %s", err.msg);
        tg_store_set_durable(c->st, 1, &err);
        return;
    }
    for (int i = 0; i < n; i++) {
        tg_outbox *r = &rows[i];
        component_send(c, component_message(c, r->sender, r->recipient, r->stanza_type, r->msg_id,
                                            r->body, r->thread, r->lang));
    }
    gint64 until = g_get_monotonic_time() + FLUSH_WAIT;
    while (c->connected && xmpp_conn_send_queue_len(c->conn) > 0 && g_get_monotonic_time() < until)
        xmpp_run_once(c->ctx, 1); /* it writes first, then waits this long for input */
    int written = c->connected && xmpp_conn_send_queue_len(c->conn) == 0;
    int rc = tg_store_begin(c->st, &err);
    for (int i = 0; i < n && rc == TG_OK; i++)
        rc = written ? tg_store_outbox_sent(c->st, rows[i].id, now, &err)
                     : tg_store_outbox_retry(c->st, rows[i].id,
                                             "stream closed before it was written", now, 0, &err);
    if (rc == TG_OK)
        rc = tg_store_commit(c->st, &err);
    else
        tg_store_rollback(c->st);
    if (rc != TG_OK) /* the rows come back when their lease ends: sent again, never lost */
        tg_error("sender: cannot record %d row(s): %s", n, err.msg);
    tg_store_set_durable(c->st, 1, &err);
    for (int i = 0; i < n; i++) {
        if (written && rc == TG_OK)
            tg_info("xmpp: %s to=<%s> sent", rows[i].kind, rows[i].recipient);
        tg_outbox_clear(&rows[i]);
    }
    if (!written)
        tg_warn("sender: %d message(s) not confirmed written; they go out after reconnecting", n);
}
