/* xmpp.h - the parts of ticketgate-xmpp and the state they share. The component is one thread
 * around libstrophe's event loop: handlers queue what arrives, and the main loop runs intake
 * on it in batches (one commit for all that arrived together) and sends the outbox. */
#ifndef TG_XMPP_H
#define TG_XMPP_H

#include <glib.h>
#include <signal.h>
#include <strophe.h>

#include "tg_config.h"
#include "tg_housekeeping.h"
#include "tg_inbound.h"
#include "tg_ratelimit.h"
#include "tg_store.h"

typedef struct sender sender;

typedef struct component {
    xmpp_ctx_t *ctx;
    xmpp_conn_t *conn;
    tg_config *cfg;
    char *config_path, *secret;
    tg_store *st;
    int connected;        /* the server accepted our handshake */
    unsigned stream;      /* counts the connections made: which stream a stanza was queued on */
    int connecting;       /* a connection attempt is under way */
    int64_t next_connect; /* monotonic µs of the next attempt */
    int64_t backoff;      /* seconds before the next attempt after a failure */
    int64_t last_drain;   /* monotonic µs of the last look at the outbox */
    tg_housekeeping housekeeping; /* escalation and old auto-reply records */
    GPtrArray *pending;           /* chat_msg * waiting for intake */
    GString *unsent;              /* stanzas sent in this loop turn, for libstrophe at its end */
    tg_ratelimit *rates;          /* messages per customer (bare JID) in its rate window */
    sender *out;                  /* outbox rows claimed and sent, not yet recorded */
} component;

extern volatile sig_atomic_t xmpp_stop_requested, xmpp_reload_requested;

/* component.c - the stream: connect, reconnect with backoff, disco/ping/version, presence. */
int component_init(component *c, tg_err *err);
void component_connect(component *c);
void component_free(component *c);
/* component_send - send st with from set (libstrophe's replies drop it and Prosody needs it);
 * dropped, and 0 returned, while disconnected. Takes ownership of st. What is sent in one loop
 * turn goes to libstrophe together, in component_run_once. */
int component_send(component *c, xmpp_stanza_t *st);
/* component_run_once - pass on what was sent, then xmpp_run_once: write, wait, read. */
void component_run_once(component *c, unsigned long timeout_ms);
/* component_unwritten - something sent is not yet written to the socket. */
int component_unwritten(const component *c);
/* component_message - a chat message of the given type (chat/normal) with body, thread, lang. */
xmpp_stanza_t *component_message(component *c, const char *from, const char *to, const char *type,
                                 const char *id, const char *body, const char *thread,
                                 const char *lang);
/* component_error - an error reply to st, from the address st was sent to (Prosody drops a
 * component's stanza without a from, and libstrophe's replies have none). */
xmpp_stanza_t *component_error(xmpp_stanza_t *st, const char *type, const char *condition,
                               const char *text);
/* component_unsendable - why the server would close our stream over st (not XML it can parse,
 * or over its size limit), or NULL when st can go. Caller g_free()s. */
char *component_unsendable(component *c, xmpp_stanza_t *st);
/* component_message_id - what identifies a received message for the store's duplicate check:
 * the sender's full JID (stanza ids are only unique per client), the id, and a digest of the
 * recipient and the body. A resent stanza has all of them the same; a client that starts its ids
 * over at each login (with the same resource) reuses an id with another text or for another
 * queue, which is another message. NULL without an id; caller g_free()s. */
char *component_message_id(xmpp_stanza_t *st, const char *id, const char *body);
/* component_addressed - st has a from and a to. A server sets both on what it routes to us:
 * without them there is no one to answer, or it was not for us, and it is ignored. */
int component_addressed(xmpp_stanza_t *st);
/* component_on_iq - libstrophe's handler of iq stanzas: disco#info and #items, ping and version
 * answered, other get/set refused with service-unavailable, result and error never answered. */
int component_on_iq(xmpp_conn_t *conn, xmpp_stanza_t *st, void *ud);
/* component_on_presence - subscribe -> subscribed and our presence, probe -> our presence,
 * unsubscribe -> unsubscribed; anything else is not answered. */
int component_on_presence(xmpp_conn_t *conn, xmpp_stanza_t *st, void *ud);
/* component_bare - the bare JID of jid, lower case; caller g_free()s. */
char *component_bare(const char *jid);

/* chat.c - customers and agents talking to the component. */
int chat_on_message(xmpp_conn_t *conn, xmpp_stanza_t *st, void *ud);
void chat_flush(component *c); /* run intake on what arrived; answer store failures */
void chat_free_pending(component *c);

/* agent.c - commands from agents: help, list, show, take, reply, resolve, close. */
void agent_command(component *c, const tg_agent *agent, xmpp_stanza_t *st, const char *body);

/* sender.c - the xmpp rows of the outbox, sent only while connected. */
#define SEND_LEASE 30 /* seconds a row taken for sending stays hidden from other senders */
sender *sender_new(void);
void sender_free(sender *s);
/* sender_note_written - after component_run_once: what libstrophe wrote is due to be recorded. */
void sender_note_written(component *c);
/* sender_has_records - rows written, or lost with their stream, wait to be recorded. */
int sender_has_records(const component *c);
/* sender_join_transaction - inside an intake batch's open transaction, in a savepoint of its
 * own (its failure never fails the tickets): record what was written (or lost with its stream)
 * and claim the next rows. sender_after_commit then sends the claimed rows, or, when the
 * transaction was not committed, forgets the claims and keeps the records for next time. */
void sender_join_transaction(component *c);
void sender_after_commit(component *c, int committed);
/* sender_send_leased - send a committed row that intake queued leased to us (an auto-reply),
 * and record it like a claimed one. */
void sender_send_leased(component *c, const tg_outbox *row);
/* sender_drain - the same in a transaction of its own (no intake batch to join). */
void sender_drain(component *c);
/* sender_finish - at stop: let libstrophe write what it holds, record it, claim nothing. */
void sender_finish(component *c);

#endif
