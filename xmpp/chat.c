/* chat.c - messages to the component. A customer's message is checked (body, rate, size),
 * turned into a tg_inbound and queued; chat_flush then runs intake on everything queued in one
 * transaction (group commit) and the auto-replies leave through the outbox. Agents' messages
 * are commands (agent.c). */
#include <stdio.h>
#include <string.h>

#include "tg_intake.h"
#include "tg_log.h"
#include "tg_ratelimit.h"
#include "tg_template.h"
#include "xmpp.h"

typedef struct chat_msg {
    tg_inbound *in;
    char *reply_from, *reply_to; /* our address and the customer's full JID */
} chat_msg;

static void chat_msg_free(chat_msg *m)
{
    tg_inbound_free(m->in);
    g_free(m->reply_from);
    g_free(m->reply_to);
    g_free(m);
}

void chat_free_pending(component *c)
{
    for (guint i = 0; i < c->pending->len; i++)
        chat_msg_free(c->pending->pdata[i]);
    g_ptr_array_set_size(c->pending, 0);
}

/* notice - a message of ours to the customer outside any ticket, from a template. */
static void notice(component *c, const chat_msg *m, const char *template, const char *limit)
{
    const char *subject, *body;
    const char *lang = tg_config_template(c->cfg, template, m->in->lang, &subject, &body);
    tg_template_var vars[] = {{"limit", limit}, {"company", c->cfg->company}};
    char *text = tg_template_render(body, vars, G_N_ELEMENTS(vars));
    component_send(c, component_message(c, m->reply_from, m->reply_to, m->in->stanza_type, NULL,
                                        text, m->in->thread_id, lang));
    g_free(text);
}

/* count_rate - count a customer's message against [xmpp] rate_limit. */
static tg_rate count_rate(component *c, const char *jid)
{
    return tg_ratelimit_hit(c->rates, jid, c->cfg->xmpp_rate_limit, c->cfg->xmpp_rate_window,
                            g_get_real_time() / G_USEC_PER_SEC);
}

/* A thread id is a short token (XEP-0201: a UUID, say). A longer one is not kept, and the reply
 * goes without one: it is stored with the reply, and cut it would name another thread. */
#define MAX_THREAD_ID 256

/* first_line - the subject of a chat ticket: its first non-empty line, at most 100 chars. */
static char *first_line(const char *text)
{
    while (*text == '\n' || *text == ' ' || *text == '\r')
        text++;
    size_t len = strcspn(text, "\r\n");
    const char *end = text + len;
    if (g_utf8_strlen(text, (gssize)len) > 100)
        end = g_utf8_offset_to_pointer(text, 100);
    return g_strndup(text, (gsize)(end - text));
}

/* to_inbound - the normalized message: sender bare JID, first line as subject, the stanza's
 * identity (component_message_id) for deduplication. */
static tg_inbound *to_inbound(component *c, xmpp_stanza_t *st, const char *from_bare,
                              const char *to_bare, char *body)
{
    tg_inbound *in = tg_inbound_new("xmpp");
    size_t max = (size_t)c->cfg->xmpp_max_body;
    char *valid = g_utf8_make_valid(body, -1);
    int cut = strlen(valid) > max;
    if (cut) {
        const char *end = valid + max;
        while (end > valid && !g_utf8_validate(valid, end - valid, NULL))
            end--;
        valid[end - valid] = '\0';
    }
    in->recipient = g_strdup(to_bare);
    tg_inbound_take(&in->sender, g_strdup(from_bare));
    in->reply_address = g_strdup(xmpp_stanza_get_from(st));
    tg_inbound_take(&in->text, valid);
    in->text_truncated = cut;
    in->original_size = strlen(body);
    tg_inbound_take(&in->subject, first_line(valid));
    const char *id = xmpp_stanza_get_id(st);
    xmpp_stanza_t *origin = xmpp_stanza_get_child_by_ns(st, "urn:xmpp:sid:0");
    if (origin && xmpp_stanza_get_attribute(origin, "id"))
        id = xmpp_stanza_get_attribute(origin, "id");
    in->message_id = component_message_id(st, id, in->text); /* as kept: bounded work */
    if (!in->message_id) {
        in->message_id = g_uuid_string_random();
        in->message_id_synthetic = 1;
    }
    xmpp_stanza_t *thread = xmpp_stanza_get_child_by_name(st, "thread");
    char *thread_text = thread ? xmpp_stanza_get_text(thread) : NULL;
    if (thread_text) {
        if (strlen(thread_text) <= MAX_THREAD_ID)
            in->thread_id = g_strdup(thread_text);
        xmpp_free(c->ctx, thread_text);
    }
    const char *type = xmpp_stanza_get_type(st);
    in->stanza_type = g_strdup(type ? type : "normal");
    /* Russian for a text mostly in Cyrillic, whatever its tag: servers stamp the client's stream
     * language (often "en") on every message that names none. Else the tag's language. */
    const char *guessed = tg_guess_lang(valid);
    /* libstrophe's parser keeps an attribute's local name only (0.12.2): xml:lang is "lang" */
    char *tagged = strcmp(guessed, "ru") != 0
                       ? tg_language_of_tag(xmpp_stanza_get_attribute(st, "lang"))
                       : NULL;
    tg_inbound_take(&in->lang, tagged ? tagged : g_strdup(guessed));
    in->recipients = g_new0(char *, 1);
    return in;
}

int chat_on_message(xmpp_conn_t *conn, xmpp_stanza_t *st, void *ud)
{
    component *c = ud;
    const char *type = xmpp_stanza_get_type(st);
    /* Errors are never answered; groupchat and headline are not conversations with us. */
    if (type && strcmp(type, "chat") != 0 && strcmp(type, "normal") != 0)
        return 1;
    if (!component_addressed(st))
        return 1;
    const char *from = xmpp_stanza_get_from(st), *to = xmpp_stanza_get_to(st);
    char *body = xmpp_message_get_body(st);
    if (!body || !*body) { /* chat states, receipts */
        if (body)
            xmpp_free(c->ctx, body);
        return 1;
    }
    char *from_bare = component_bare(from);
    char *to_bare = component_bare(to);
    const tg_agent *agent = tg_config_agent_for(c->cfg, from_bare);
    tg_rate rate = TG_RATE_OK;

    if (agent) {
        agent_command(c, agent, st, body);
    } else if (strchr(to_bare, '@') && !tg_config_queue_for(c->cfg, "xmpp", to_bare)) {
        tg_info("xmpp: from=<%s> to=<%s>: no queue has this address: refused (item-not-found)",
                from_bare, to_bare);
        component_send(c, component_error(st, "cancel", "item-not-found",
                                          "No help desk queue at this address"));
    } else if ((rate = count_rate(c, from_bare)) != TG_RATE_OK) {
        if (rate == TG_RATE_OVER_FIRST) {
            chat_msg m = {.reply_from = to_bare, .reply_to = (char *)from};
            m.in = tg_inbound_new("xmpp");
            tg_inbound_take(&m.in->lang, g_strdup(tg_guess_lang(body)));
            m.in->stanza_type = g_strdup(type ? type : "normal");
            notice(c, &m, "chat_rate_limit", NULL);
            tg_inbound_free(m.in);
            tg_warn("%s: over the rate limit (%lld in %llds): messages dropped", from_bare,
                    (long long)c->cfg->xmpp_rate_limit, (long long)c->cfg->xmpp_rate_window);
        }
    } else {
        chat_msg *m = g_new0(chat_msg, 1);
        m->in = to_inbound(c, st, from_bare, to_bare, body);
        m->reply_from = g_strdup(to_bare);
        m->reply_to = g_strdup(from);
        g_ptr_array_add(c->pending, m);
    }
    xmpp_free(c->ctx, body);
    g_free(from_bare);
    g_free(to_bare);
    return 1;
}

/* first_cut - m, just stored on d's ticket, is the first of the customer's messages there to be
 * cut: they are told once per ticket, not at every long paste. */
static int first_cut(component *c, const chat_msg *m, const tg_decision *d)
{
    int64_t before = 0;
    tg_err err = {0};
    if (!m->in->text_truncated || (d->kind != TG_INTAKE_NEW && d->kind != TG_INTAKE_FOLLOWUP))
        return 0; /* not cut, or a duplicate: told when it first came */
    const char *id = m->in->message_id;
    if (tg_store_count_cut_before(c->st, d->ticket_id, "xmpp", id, &before, &err) != TG_OK) {
        tg_warn("%s: %s", d->ref, err.msg);
        return 0;
    }
    return before == 0;
}

void chat_flush(component *c)
{
    guint n = c->pending->len;
    if (!n)
        return;
    tg_intake_job *jobs = g_new0(tg_intake_job, n);
    tg_intake_job **ptrs = g_new(tg_intake_job *, n);
    int64_t now = g_get_real_time() / G_USEC_PER_SEC;
    for (guint i = 0; i < n; i++) {
        jobs[i].in = ((chat_msg *)c->pending->pdata[i])->in;
        jobs[i].now = now;
        jobs[i].lease_until = now + SEND_LEASE; /* the auto-reply: sent below, not claimed */
        ptrs[i] = &jobs[i];
    }
    tg_err err = {0};
    int rc = tg_intake_batch_run(c->cfg, c->st, ptrs, n, &err);
    if (rc == TG_OK) /* the sender's records and claims share the commit */
        sender_join_transaction(c);
    rc = tg_intake_batch_commit(c->st, ptrs, n, rc, &err);
    sender_after_commit(c, rc == TG_OK);
    for (guint i = 0; i < n; i++) {
        chat_msg *m = c->pending->pdata[i];
        tg_decision *d = &jobs[i].dec;
        if (jobs[i].rc != TG_OK) {
            tg_error("%s: from=<%s> store error: %s", m->in->message_id, m->in->sender,
                     jobs[i].err.msg);
            notice(c, m, "chat_store_error", NULL);
            continue;
        }
        tg_info("xmpp: from=<%s> to=<%s> ticket=%s rule=%s decision=%s reply=%s%s%s", m->in->sender,
                m->in->recipient, d->ref, d->rule ? d->rule : "-", tg_intake_kind_name(d->kind),
                d->reply_queued ? "queued" : "none", d->note ? " note=" : "",
                d->note ? d->note : "");
        if (d->leased_reply)
            sender_send_leased(c, d->leased_reply);
        if (first_cut(c, m, d)) {
            char limit[32];
            snprintf(limit, sizeof limit, "%lld", (long long)c->cfg->xmpp_max_body);
            notice(c, m, "chat_too_long", limit);
        }
        tg_decision_clear(d);
    }
    g_free(ptrs);
    g_free(jobs);
    chat_free_pending(c);
}
