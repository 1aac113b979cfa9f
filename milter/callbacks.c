/* callbacks.c - the libmilter callbacks: thin glue between the MTA and common/intake.
 * One thread per MTA connection; per-connection state lives in the libmilter private pointer.
 * Each connection pins the configuration snapshot it started with, so a reload (SIGUSR1)
 * never changes the rules under a message in progress. */
#include <string.h>

#include "message.h"
#include "milter.h"
#include "protocol.h"
#include "tg_intake.h"
#include "tg_log.h"
#include "tg_mail.h"

typedef struct conn {
    tg_config *cfg;
    unsigned long steps; /* protocol flags agreed with the MTA */
    milter_message *msg; /* the message in progress, or NULL */
} conn;

static conn *conn_of(SMFICTX *ctx)
{
    return smfi_getpriv(ctx);
}

/* no_reply - what a callback returns when it has nothing to say: SMFIS_NOREPLY if the MTA
 * agreed not to wait for an answer to this step, SMFIS_CONTINUE otherwise. */
static sfsistat no_reply(const conn *c, unsigned long nr_flag)
{
    return c && (c->steps & nr_flag) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static void drop_message(conn *c)
{
    if (c) {
        message_free(c->msg);
        c->msg = NULL;
    }
}

static sfsistat on_negotiate(SMFICTX *ctx, unsigned long actions, unsigned long steps,
                             unsigned long unused2, unsigned long unused3,
                             unsigned long *want_actions, unsigned long *want_steps,
                             unsigned long *want2, unsigned long *want3)
{
    if ((actions & TG_MILTER_ACTIONS) != TG_MILTER_ACTIONS) {
        tg_error("the MTA does not allow adding and changing headers: milter disabled");
        return SMFIS_REJECT;
    }
    conn *c = g_new0(conn, 1);
    c->cfg = milter_config();
    c->steps = tg_milter_negotiate(steps);
    smfi_setpriv(ctx, c);
    *want_actions = TG_MILTER_ACTIONS;
    *want_steps = c->steps;
    *want2 = *want3 = 0;
    return SMFIS_CONTINUE;
}

static sfsistat on_envfrom(SMFICTX *ctx, char **argv)
{
    conn *c = conn_of(ctx);
    if (!c) /* an MTA that skipped negotiation */
        return SMFIS_ACCEPT;
    drop_message(c);
    c->msg = message_new(argv[0], smfi_getsymval(ctx, "{auth_authen}"), (size_t)c->cfg->read_limit);
    return no_reply(c, SMFIP_NR_MAIL);
}

static sfsistat on_envrcpt(SMFICTX *ctx, char **argv)
{
    conn *c = conn_of(ctx);
    if (c && c->msg && !c->msg->support_rcpt) {
        char *rcpt = message_strip_brackets(argv[0]);
        if (tg_config_queue_for(c->cfg, "email", rcpt))
            c->msg->support_rcpt = tg_address_lower(rcpt);
        g_free(rcpt);
    }
    return no_reply(c, SMFIP_NR_RCPT);
}

/* on_data - all recipients are known: mail for nobody at the help desk passes untouched,
 * before the MTA sends us its content. */
static sfsistat on_data(SMFICTX *ctx)
{
    conn *c = conn_of(ctx);
    if (!c || !c->msg || !c->msg->support_rcpt) {
        drop_message(c);
        return SMFIS_ACCEPT;
    }
    return SMFIS_CONTINUE;
}

static sfsistat on_header(SMFICTX *ctx, char *name, char *value)
{
    conn *c = conn_of(ctx);
    if (c && c->msg)
        message_add_header(c->msg, name, value);
    return no_reply(c, SMFIP_NR_HDR);
}

static sfsistat on_body(SMFICTX *ctx, unsigned char *data, size_t len)
{
    conn *c = conn_of(ctx);
    if (c && c->msg)
        message_add_body(c->msg, data, len);
    return no_reply(c, SMFIP_NR_BODY);
}

/* carries_tag - subject already holds [REF] (any case). */
static int carries_tag(const char *subject, const char *ref)
{
    char *bracketed = g_strdup_printf("[%s]", ref);
    char *tag = g_ascii_strdown(bracketed, -1), *subject_lc = g_ascii_strdown(subject, -1);
    int tagged = strstr(subject_lc, tag) != NULL;
    g_free(bracketed);
    g_free(tag);
    g_free(subject_lc);
    return tagged;
}

/* mark_copy - the delivered copy: our X-Ticket-* headers replace any that came in, and a new
 * ticket's subject gets its tag (unless it already carries it). */
static void mark_copy(SMFICTX *ctx, const conn *c, const tg_inbound *in, const tg_decision *d)
{
    const milter_message *m = c->msg;
    int ok = 1;
    for (int i = 0; i < TG_N_TICKET_HEADERS; i++)
        for (int n = m->ticket_headers[i]; n > 0; n--)
            ok &= smfi_chgheader(ctx, (char *)tg_ticket_header_names[i], n, NULL) == MI_SUCCESS;
    for (size_t i = 0; i < d->n_headers; i++)
        ok &= smfi_addheader(ctx, d->headers[i].name, d->headers[i].value) == MI_SUCCESS;

    if ((d->kind == TG_INTAKE_NEW || d->kind == TG_INTAKE_DUPLICATE) && d->ref &&
        strcmp(c->cfg->subject_tag, "off") != 0 && !carries_tag(in->subject, d->ref)) {
        char *subject = message_tagged_subject(m->subject, d->ref, c->cfg->subject_tag);
        if (m->subject)
            ok &= smfi_chgheader(ctx, "Subject", 1, subject) == MI_SUCCESS;
        else
            ok &= smfi_addheader(ctx, "Subject", subject) == MI_SUCCESS;
        g_free(subject);
    }
    if (!ok)
        tg_warn("%s: the MTA refused a header change", d->ref ? d->ref : in->message_id);
}

static void log_decision(const char *qid, const milter_message *m, const tg_inbound *in,
                         const tg_decision *d, double ms)
{
    char *reply = d->reply_queued      ? g_strdup("queued")
                  : d->no_reply_reason ? g_strdup_printf("none (%s)", d->no_reply_reason)
                  : d->kind == TG_INTAKE_AGENT_REPLY ? g_strdup("relayed")
                                                     : g_strdup("none");
    /* from= is the From address, as a reader of the MTA's log knows the mail by; requester= the
     * Reply-To address that is answered instead, when there is one */
    char *requester = in->author ? g_strdup_printf(" requester=<%s>", in->sender) : g_strdup("");
    tg_info("%s: from=<%s>%s to=<%s> ticket=%s rule=%s decision=%s reply=%s elapsed=%.1fms%s%s",
            qid, in->author ? in->author : in->sender, requester, m->support_rcpt,
            d->ref ? d->ref : "-", d->rule ? d->rule : "-", tg_intake_kind_name(d->kind), reply, ms,
            d->note ? " note=" : "", d->note ? d->note : "");
    g_free(requester);
    g_free(reply);
}

/* store_failed - intake could not write: tempfail so the MTA keeps the mail and retries, or
 * (on_store_error = accept) let it through without a ticket. */
static sfsistat store_failed(SMFICTX *ctx, const conn *c, const char *qid, const tg_inbound *in,
                             const tg_err *err)
{
    int accept = strcmp(c->cfg->on_store_error, "accept") == 0;
    tg_error("%s: from=<%s> to=<%s> store error, %s: %s", qid, in->sender, c->msg->support_rcpt,
             accept ? "accepted without a ticket" : "tempfail", err->msg);
    if (accept)
        return SMFIS_CONTINUE;
    smfi_setreply(ctx, "451", "4.3.0", "Ticket store temporarily unavailable, try again later");
    return SMFIS_TEMPFAIL;
}

static sfsistat on_eom(SMFICTX *ctx)
{
    conn *c = conn_of(ctx);
    /* No support recipient: normally accepted at DATA already, but an MTA may skip that step. */
    if (!c || !c->msg || !c->msg->support_rcpt) {
        drop_message(c);
        return SMFIS_CONTINUE;
    }
    milter_message *m = c->msg;
    const char *qid = smfi_getsymval(ctx, "i");
    qid = qid ? qid : "NOQUEUE";
    const tg_config *cfg = c->cfg;
    sfsistat result = SMFIS_CONTINUE;
    tg_inbound *in = NULL;
    tg_decision d = {0};
    tg_err err = {0};

    message_finish(m);
    tg_mail_opts opts = {.envelope_sender = m->envelope_sender,
                         .recipient = m->support_rcpt,
                         .fallback_charsets = (const char *const *)cfg->fallback_charsets,
                         .max_text_size = (size_t)cfg->max_text_size,
                         .max_headers = (size_t)cfg->max_headers,
                         .full_size = m->total};
    if (tg_mail_parse((const char *)m->raw->data, m->raw->len, &opts, &in, &err) != TG_OK) {
        tg_warn("%s: to=<%s> not a mail message (%s): delivered without a ticket", qid,
                m->support_rcpt, err.msg);
        goto out;
    }
    in->auth_user = g_strdup(m->auth_user);

    tg_intake_job job = {.in = in, .now = g_get_real_time() / G_USEC_PER_SEC};
    if (committer_process(cfg, &job) != TG_OK) {
        result = store_failed(ctx, c, qid, in, &job.err);
        goto out;
    }
    d = job.dec;
    mark_copy(ctx, c, in, &d);
    log_decision(qid, m, in, &d, (double)(g_get_monotonic_time() - m->started) / 1000.0);
    if (d.reply_queued || d.kind == TG_INTAKE_AGENT_REPLY)
        mailer_kick();
out:
    tg_decision_clear(&d);
    tg_inbound_free(in);
    drop_message(c);
    return result;
}

/* on_abort - the MTA dropped the message (RSET, disconnect, its own rejection); Postfix also
 * sends it after we answered eom, so it must be harmless to repeat. */
static sfsistat on_abort(SMFICTX *ctx)
{
    drop_message(conn_of(ctx));
    return SMFIS_CONTINUE;
}

/* on_close - once per connection; it may be the only callback, so priv may be NULL. */
static sfsistat on_close(SMFICTX *ctx)
{
    conn *c = conn_of(ctx);
    if (c) {
        drop_message(c);
        tg_config_unref(c->cfg);
        g_free(c);
        smfi_setpriv(ctx, NULL);
    }
    return SMFIS_CONTINUE;
}

struct smfiDesc milter_callbacks = {
    .xxfi_name = "ticketgate",
    .xxfi_version = SMFI_VERSION,
    .xxfi_flags = TG_MILTER_ACTIONS,
    .xxfi_envfrom = on_envfrom,
    .xxfi_envrcpt = on_envrcpt,
    .xxfi_header = on_header,
    .xxfi_body = on_body,
    .xxfi_eom = on_eom,
    .xxfi_abort = on_abort,
    .xxfi_close = on_close,
    .xxfi_data = on_data,
    .xxfi_negotiate = on_negotiate,
};
