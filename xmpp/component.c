/* component.c - the XEP-0114 stream to the XMPP server: connecting (with the workaround
 * Debian 12's libstrophe needs), reconnecting with capped exponential backoff, and the
 * stanzas every component must answer: disco#info/#items, ping, version, presence. */
#include <string.h>

#include "config.h"
#include "tg_log.h"
#include "tg_sla.h"
#include "tg_template.h"
#include "xmpp.h"

#define NS_DISCO_INFO  "http://jabber.org/protocol/disco#info"
#define NS_DISCO_ITEMS "http://jabber.org/protocol/disco#items"
#define NS_PING        "urn:xmpp:ping"
#define NS_VERSION     "jabber:iq:version"

char *component_bare(const char *jid)
{
    if (!jid)
        return g_strdup("");
    const char *slash = strchr(jid, '/');
    char *bare = g_strndup(jid, slash ? (gsize)(slash - jid) : strlen(jid));
    char *lower = tg_address_lower(bare);
    g_free(bare);
    return lower;
}

/* Clients' stanza ids are short (a counter, a UUID). A longer one is kept as its digest: the
 * message's identity is stored and indexed with every message, and a client could otherwise
 * make each as big as the server's stanza limit, whatever [xmpp] max_body keeps of the text. */
#define MAX_STANZA_ID 128

char *component_message_id(xmpp_stanza_t *st, const char *id, const char *body)
{
    if (!id)
        return NULL;
    char *long_id = strlen(id) > MAX_STANZA_ID
                        ? g_compute_checksum_for_string(G_CHECKSUM_SHA256, id, -1)
                        : NULL;
    const char *to = xmpp_stanza_get_to(st);
    GChecksum *digest = g_checksum_new(G_CHECKSUM_SHA256); /* of "to\nbody", without copying it */
    g_checksum_update(digest, (const guchar *)(to ? to : ""), -1);
    g_checksum_update(digest, (const guchar *)"\n", 1);
    g_checksum_update(digest, (const guchar *)(body ? body : ""), -1);
    char *msg_id = g_strdup_printf("%s/%s/%.16s", xmpp_stanza_get_from(st), long_id ? long_id : id,
                                   g_checksum_get_string(digest));
    g_checksum_free(digest);
    g_free(long_id);
    return msg_id;
}

int component_addressed(xmpp_stanza_t *st)
{
    const char *from = xmpp_stanza_get_from(st), *to = xmpp_stanza_get_to(st);
    return from && *from && to && *to;
}

int component_send(component *c, xmpp_stanza_t *st)
{
    char *text;
    size_t len;
    /* not sent (kept for a later try) when disconnected or when the stanza cannot be written */
    int sent = c->connected && xmpp_stanza_to_text(st, &text, &len) == XMPP_EOK;
    if (sent) {
        g_string_append_len(c->unsent, text, (gssize)len);
        xmpp_free(c->ctx, text);
    }
    xmpp_stanza_release(st);
    return sent;
}

int component_unwritten(const component *c)
{
    return c->unsent->len > 0 || xmpp_conn_send_queue_len(c->conn) > 0;
}

/* component_run_once - hand what component_send collected to libstrophe as one write (one
 * system call for a batch of replies, not one each), then let libstrophe work. */
void component_run_once(component *c, unsigned long timeout_ms)
{
    if (c->unsent->len && c->connected)
        xmpp_send_raw(c->conn, c->unsent->str, c->unsent->len);
    g_string_truncate(c->unsent, 0);
    xmpp_run_once(c->ctx, timeout_ms);
}

/* reply_to - a reply to st from the address st was sent to (xmpp_stanza_reply drops it). */
static xmpp_stanza_t *reply_to(xmpp_stanza_t *st, xmpp_stanza_t *reply)
{
    const char *to = xmpp_stanza_get_to(st);
    if (to)
        xmpp_stanza_set_from(reply, to);
    return reply;
}

xmpp_stanza_t *component_error(xmpp_stanza_t *st, const char *type, const char *condition,
                               const char *text)
{
    return reply_to(st, xmpp_stanza_reply_error(st, type, condition, text));
}

static xmpp_stanza_t *child(xmpp_ctx_t *ctx, xmpp_stanza_t *parent, const char *name,
                            const char *ns)
{
    xmpp_stanza_t *ch = xmpp_stanza_new(ctx);
    xmpp_stanza_set_name(ch, name);
    if (ns)
        xmpp_stanza_set_ns(ch, ns);
    xmpp_stanza_add_child(parent, ch);
    xmpp_stanza_release(ch); /* the parent holds it */
    return ch;
}

/* Servers close the stream of a component that sends a stanza over their limit (Prosody's
 * component_stanza_size_limit: 512 KiB by default); a long mail relayed to a chat customer is cut
 * well below. */
#define MAX_STANZA    (512 * 1024)
#define MAX_CHAT_TEXT (64 * 1024)

/* xml_text - text as XML 1.0 can carry it: C0 controls other than tab, LF and CR, and the
 * noncharacters U+FFFE and U+FFFF, are not allowed even escaped, and one of them (a form feed
 * from a mail, say) would make the server close our stream, again at each resend. Controls
 * become spaces, the two noncharacters and invalid UTF-8 U+FFFD; the text is cut at
 * MAX_CHAT_TEXT bytes on a character boundary. Caller g_free()s. */
static char *xml_text(const char *text)
{
    char *valid = g_utf8_make_valid(text ? text : "", -1);
    for (char *p = valid; *p; p++) {
        if ((unsigned char)*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r')
            *p = ' ';
        else if ((unsigned char)p[0] == 0xef && (unsigned char)p[1] == 0xbf &&
                 ((unsigned char)p[2] & 0xfe) == 0xbe)
            p[2] = '\xbd'; /* EF BF BE/BF, U+FFFE/U+FFFF -> EF BF BD, U+FFFD */
    }
    if (strlen(valid) > MAX_CHAT_TEXT) {
        const char *end = g_utf8_find_prev_char(valid, valid + MAX_CHAT_TEXT + 1);
        char *cut = g_strdup_printf("%.*s [...]", (int)(end - valid), valid);
        g_free(valid);
        valid = cut;
    }
    return valid;
}

/* text_child - <name>text</name> added to parent; returns it (the parent holds it). */
static xmpp_stanza_t *text_child(xmpp_ctx_t *ctx, xmpp_stanza_t *parent, const char *name,
                                 const char *text)
{
    xmpp_stanza_t *el = child(ctx, parent, name, NULL);
    xmpp_stanza_t *t = xmpp_stanza_new(ctx);
    char *safe = xml_text(text);
    xmpp_stanza_set_text(t, safe);
    g_free(safe);
    xmpp_stanza_add_child(el, t);
    xmpp_stanza_release(t);
    return el;
}

xmpp_stanza_t *component_message(component *c, const char *from, const char *to, const char *type,
                                 const char *id, const char *body, const char *thread,
                                 const char *lang)
{
    xmpp_stanza_t *m = xmpp_message_new(c->ctx, type ? type : "chat", to, id);
    xmpp_stanza_set_from(m, from);
    if (lang)
        xmpp_stanza_set_attribute(m, "xml:lang", lang);
    char *safe = xml_text(body);
    xmpp_message_set_body(m, safe);
    g_free(safe);
    if (thread)
        text_child(c->ctx, m, "thread", thread);
    return m;
}

char *component_unsendable(component *c, xmpp_stanza_t *st)
{
    char *text = NULL;
    size_t len = 0;
    if (xmpp_stanza_to_text(st, &text, &len) != XMPP_EOK)
        return g_strdup("cannot be written as XML");
    char *why = NULL;
    xmpp_stanza_t *back = NULL;
    if (len > MAX_STANZA)
        why = g_strdup_printf("%zu bytes: over the %d a server takes", len, MAX_STANZA);
    else if (!(back = xmpp_stanza_new_from_string(c->ctx, text)))
        why = g_strdup("not valid XML: the server would close the stream over it");
    if (back)
        xmpp_stanza_release(back);
    xmpp_free(c->ctx, text);
    return why;
}

/* ---- iq ---- */

int component_on_iq(xmpp_conn_t *conn, xmpp_stanza_t *st, void *ud)
{
    component *c = ud;
    const char *type = xmpp_stanza_get_type(st);
    if (!type || (strcmp(type, "get") != 0 && strcmp(type, "set") != 0))
        return 1; /* result and error are never answered */
    if (!component_addressed(st))
        return 1;
    xmpp_stanza_t *query = xmpp_stanza_get_children(st);
    while (query && !xmpp_stanza_is_tag(query))
        query = xmpp_stanza_get_next(query);
    const char *ns = query ? xmpp_stanza_get_ns(query) : NULL;
    int get = strcmp(type, "get") == 0;
    xmpp_stanza_t *reply;

    if (get && ns && strcmp(ns, NS_DISCO_INFO) == 0) {
        reply = reply_to(st, xmpp_stanza_reply(st));
        xmpp_stanza_set_type(reply, "result");
        xmpp_stanza_t *q = child(c->ctx, reply, "query", NS_DISCO_INFO);
        xmpp_stanza_t *id = child(c->ctx, q, "identity", NULL);
        xmpp_stanza_set_attribute(id, "category", "component");
        xmpp_stanza_set_attribute(id, "type", "generic");
        char *name = g_strdup_printf("%s help desk", c->cfg->company);
        xmpp_stanza_set_attribute(id, "name", name);
        g_free(name);
        const char *features[] = {NS_DISCO_INFO, NS_DISCO_ITEMS, NS_PING, NS_VERSION};
        for (size_t i = 0; i < G_N_ELEMENTS(features); i++)
            xmpp_stanza_set_attribute(child(c->ctx, q, "feature", NULL), "var", features[i]);
    } else if (get && ns && strcmp(ns, NS_DISCO_ITEMS) == 0) {
        reply = reply_to(st, xmpp_stanza_reply(st));
        xmpp_stanza_set_type(reply, "result");
        child(c->ctx, reply, "query", NS_DISCO_ITEMS);
    } else if (get && ns && strcmp(ns, NS_PING) == 0) {
        reply = reply_to(st, xmpp_stanza_reply(st));
        xmpp_stanza_set_type(reply, "result");
    } else if (get && ns && strcmp(ns, NS_VERSION) == 0) {
        reply = reply_to(st, xmpp_stanza_reply(st));
        xmpp_stanza_set_type(reply, "result");
        xmpp_stanza_t *q = child(c->ctx, reply, "query", NS_VERSION);
        text_child(c->ctx, q, "name", "ticketgate-xmpp");
        text_child(c->ctx, q, "version", PACKAGE_VERSION);
    } else {
        reply = component_error(st, "cancel", "service-unavailable", NULL);
    }
    component_send(c, reply);
    return 1;
}

/* ---- presence ---- */

/* status_child - a <status/> in lang (NULL: the default, English). */
static void status_child(xmpp_ctx_t *ctx, xmpp_stanza_t *p, const char *lang, const char *text)
{
    xmpp_stanza_t *status = text_child(ctx, p, "status", text);
    if (lang)
        xmpp_stanza_set_attribute(status, "xml:lang", lang);
}

/* presence_for - our presence as to's queue: available in its business hours, else away with
 * the next opening in the status; in English and in Russian (RFC 6121 4.7.2.2: a client shows
 * the status in its user's language). */
static xmpp_stanza_t *presence_for(component *c, const char *from, const char *to)
{
    const tg_queue *q = tg_config_queue_for(c->cfg, "xmpp", from);
    if (!q)
        q = tg_config_default_queue(c->cfg);
    const tg_calendar *cal = tg_sla_policy_calendar(q->policy);
    int64_t now = g_get_real_time() / G_USEC_PER_SEC;
    int64_t open = tg_calendar_next_open(cal, now);
    xmpp_stanza_t *p = xmpp_presence_new(c->ctx);
    xmpp_stanza_set_from(p, from);
    xmpp_stanza_set_to(p, to);
    if (open != now) {
        text_child(c->ctx, p, "show", "away");
        for (int ru = 0; ru <= 1; ru++) {
            char *when = tg_format_due(open, tg_calendar_zone(cal), ru ? "ru" : "en");
            char *status = g_strdup_printf(
                ru ? "Сейчас не работаем; ответим с %s" : "Closed now; we answer from %s", when);
            status_child(c->ctx, p, ru ? "ru" : NULL, status);
            g_free(status);
            g_free(when);
        }
    } else {
        status_child(c->ctx, p, NULL, "Open: write to us");
        status_child(c->ctx, p, "ru", "Работаем: пишите");
    }
    return p;
}

int component_on_presence(xmpp_conn_t *conn, xmpp_stanza_t *st, void *ud)
{
    component *c = ud;
    const char *type = xmpp_stanza_get_type(st);
    const char *from = xmpp_stanza_get_from(st), *to = xmpp_stanza_get_to(st);
    if (!type || !component_addressed(st))
        return 1;
    char *bare_to = component_bare(to);
    if (strcmp(type, "subscribe") == 0) {
        xmpp_stanza_t *ok = xmpp_presence_new(c->ctx);
        xmpp_stanza_set_type(ok, "subscribed");
        xmpp_stanza_set_from(ok, bare_to);
        xmpp_stanza_set_to(ok, from);
        component_send(c, ok);
        component_send(c, presence_for(c, bare_to, from));
    } else if (strcmp(type, "probe") == 0) {
        component_send(c, presence_for(c, bare_to, from));
    } else if (strcmp(type, "unsubscribe") == 0) {
        xmpp_stanza_t *ok = xmpp_presence_new(c->ctx);
        xmpp_stanza_set_type(ok, "unsubscribed");
        xmpp_stanza_set_from(ok, bare_to);
        xmpp_stanza_set_to(ok, from);
        component_send(c, ok);
    }
    g_free(bare_to);
    return 1;
}

/* ---- the connection ---- */

static void on_connection(xmpp_conn_t *conn, xmpp_conn_event_t event, int error,
                          xmpp_stream_error_t *stream_error, void *ud)
{
    component *c = ud;
    c->connecting = 0;
    if (event == XMPP_CONN_CONNECT) {
        c->connected = 1;
        c->stream++;
        c->backoff = 1;
        c->last_drain = 0; /* send what waited at once */
        tg_info("connected to %s:%lld as %s", c->cfg->xmpp_server, (long long)c->cfg->xmpp_port,
                c->cfg->xmpp_domain);
        return;
    }
    int was = c->connected;
    c->connected = 0;
    g_string_truncate(c->unsent, 0); /* was for the stream that closed */
    /* A wrong secret or a second instance will not fix itself: wait the longest. */
    int refused = stream_error && (stream_error->type == XMPP_SE_NOT_AUTHORIZED ||
                                   stream_error->type == XMPP_SE_CONFLICT);
    if (refused)
        c->backoff = c->cfg->xmpp_reconnect_max;
    c->next_connect = g_get_monotonic_time() + c->backoff * G_USEC_PER_SEC;
    if (refused)
        tg_error("%s:%lld refused component %s: %s; retrying in %llds", c->cfg->xmpp_server,
                 (long long)c->cfg->xmpp_port, c->cfg->xmpp_domain,
                 stream_error->type == XMPP_SE_CONFLICT
                     ? "conflict (another component is connected with this name)"
                     : "not-authorized (check [xmpp] secret and the server's component_secret)",
                 (long long)c->backoff);
    else
        tg_warn("%s %s:%lld%s%s; retrying in %llds",
                was ? "disconnected from" : "cannot connect to", c->cfg->xmpp_server,
                (long long)c->cfg->xmpp_port, error ? ": " : "", error ? g_strerror(error) : "",
                (long long)c->backoff);
    c->backoff = MIN(c->backoff * 2, c->cfg->xmpp_reconnect_max);
}

static void strophe_log(void *ud, xmpp_log_level_t level, const char *area, const char *msg)
{
    if (level >= XMPP_LEVEL_WARN)
        tg_log(level == XMPP_LEVEL_WARN ? TG_LOG_WARN : TG_LOG_ERR, "libstrophe %s: %s", area, msg);
}

static xmpp_log_t logger = {strophe_log, NULL};

int component_init(component *c, tg_err *err)
{
    xmpp_initialize();
    c->ctx = xmpp_ctx_new(NULL, &logger);
    c->conn = xmpp_conn_new(c->ctx);
    if (!c->ctx || !c->conn)
        return tg_err_set(err, TG_ENOMEM, "cannot set up libstrophe");
    xmpp_conn_set_jid(c->conn, c->cfg->xmpp_domain);
    xmpp_conn_set_pass(c->conn, c->secret);
    /* User handlers survive reconnects; they are added once. */
    xmpp_handler_add(c->conn, component_on_iq, NULL, "iq", NULL, c);
    xmpp_handler_add(c->conn, component_on_presence, NULL, "presence", NULL, c);
    xmpp_handler_add(c->conn, chat_on_message, NULL, "message", NULL, c);
    c->backoff = 1;
    c->pending = g_ptr_array_new();
    c->unsent = g_string_new(NULL);
    c->rates = tg_ratelimit_new();
    c->out = sender_new();
    return TG_OK;
}

/* component_connect - one connection attempt; the outcome arrives in on_connection. */
void component_connect(component *c)
{
    const char *host = c->cfg->xmpp_server;
    unsigned short port = (unsigned short)c->cfg->xmpp_port;
    c->connecting = 1;
    if (xmpp_connect_component(c->conn, host, port, on_connection, c) != XMPP_EOK) {
        c->connecting = 0;
        c->next_connect = g_get_monotonic_time() + c->backoff * G_USEC_PER_SEC;
        tg_warn("cannot start connecting to %s:%u; retrying in %llds", host, port,
                (long long)c->backoff);
        c->backoff = MIN(c->backoff * 2, c->cfg->xmpp_reconnect_max);
        return;
    }
    /* libstrophe 0.12.2 (Debian 12) allocates stream-management state only in
     * xmpp_connect_client(), and stanza handling dereferences it: a plain component dies with
     * SIGSEGV on the server's <handshake/>. Calling xmpp_connect_client() on the connection that
     * is already connecting allocates that state and returns XMPP_EINVOP without touching the
     * connection. Needed on every attempt: the state is freed at each disconnect. Covered by
     * tests/xmpp_chat.sh (connect and reconnect). */
    xmpp_connect_client(c->conn, host, port, on_connection, c);
}

void component_free(component *c)
{
    if (c->conn)
        xmpp_conn_release(c->conn);
    if (c->ctx)
        xmpp_ctx_free(c->ctx);
    xmpp_shutdown();
    if (c->pending) {
        chat_free_pending(c);
        g_ptr_array_unref(c->pending);
    }
    tg_ratelimit_free(c->rates);
    if (c->unsent)
        g_string_free(c->unsent, TRUE);
    sender_free(c->out);
}
