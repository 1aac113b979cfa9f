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
    int n = 0, rc;
    int64_t now = g_get_real_time() / G_USEC_PER_SEC;

    while (c->connected && n < BATCH &&
           (rc = tg_store_claim_outbox(c->st, "xmpp", now, now + LEASE, &rows[n], &err)) == 1) {
        tg_outbox *r = &rows[n++];
        component_send(c, component_message(c, r->sender, r->recipient, r->stanza_type, r->msg_id,
                                            r->body, r->thread, r->lang));
    }
    if (n == 0) {
        if (err.code)
            tg_warn("sender: %s", err.msg);
        return;
    }
    gint64 until = g_get_monotonic_time() + FLUSH_WAIT;
    while (c->connected && xmpp_conn_send_queue_len(c->conn) > 0 && g_get_monotonic_time() < until)
        xmpp_run_once(c->ctx, 10);
    int written = c->connected && xmpp_conn_send_queue_len(c->conn) == 0;
    for (int i = 0; i < n; i++) {
        tg_outbox *r = &rows[i];
        rc = written ? tg_store_outbox_sent(c->st, r->id, now, &err)
                     : tg_store_outbox_retry(c->st, r->id, "stream closed before it was written",
                                             now, 0, &err);
        if (rc != TG_OK)
            tg_error("sender: row %lld: %s", (long long)r->id, err.msg);
        else if (written)
            tg_info("xmpp: %s to=<%s> sent", r->kind, r->recipient);
        tg_outbox_clear(r);
    }
    if (!written)
        tg_warn("sender: %d message(s) not confirmed written; they go out after reconnecting", n);
}
