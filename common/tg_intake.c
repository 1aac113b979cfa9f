/* tg_intake.c - the intake pipeline (see tg_intake.h and DESIGN.md "The flow"). */
#include <string.h>

#include "tg_assign.h"
#include "tg_intake.h"
#include "tg_log.h"
#include "tg_mail.h"
#include "tg_notice.h"
#include "tg_template.h"

/* One intake run: inputs, the decision being filled, and the store. */
typedef struct run {
    const tg_config *cfg;
    tg_store *st;
    const tg_inbound *in;
    int64_t now;
    tg_decision *dec;
    tg_err *err;
    int64_t lease_until; /* tg_intake_job.lease_until */
} run;

const char *const tg_ticket_header_names[TG_N_TICKET_HEADERS] = {
    [TG_HDR_ID] = "X-Ticket-ID",
    [TG_HDR_QUEUE] = "X-Ticket-Queue",
    [TG_HDR_PRIORITY] = "X-Ticket-Priority",
    [TG_HDR_DUE] = "X-Ticket-Due",
};

const char *tg_intake_kind_name(tg_intake_kind kind)
{
    static const char *const names[] = {"new", "follow-up", "duplicate", "agent-reply", "ignored"};
    return names[kind];
}

void tg_decision_clear(tg_decision *d)
{
    char *strs[] = {d->ref,
                    d->queue,
                    d->category,
                    d->priority,
                    d->status,
                    d->assignee,
                    d->sla_policy,
                    d->rule,
                    d->rule_why,
                    d->due_text,
                    d->no_reply_reason,
                    d->reply_subject,
                    d->reply_text,
                    d->assign_note,
                    d->note};
    for (size_t i = 0; i < G_N_ELEMENTS(strs); i++)
        g_free(strs[i]);
    for (size_t i = 0; i < d->n_headers; i++) {
        g_free(d->headers[i].name);
        g_free(d->headers[i].value);
    }
    if (d->leased_reply) {
        tg_outbox_clear(d->leased_reply);
        g_free(d->leased_reply);
    }
    memset(d, 0, sizeof *d);
}

static int event(run *r, int64_t ticket, const char *kind, const char *detail)
{
    return tg_store_add_event(r->st, ticket, r->now, kind, detail, r->err);
}

static int eventf(run *r, int64_t ticket, const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int eventf(run *r, int64_t ticket, const char *kind, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *detail = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    int rc = event(r, ticket, kind, detail);
    g_free(detail);
    return rc;
}

static void add_header(tg_decision *d, int which, const char *value)
{
    if (d->n_headers < G_N_ELEMENTS(d->headers)) {
        d->headers[d->n_headers].name = g_strdup(tg_ticket_header_names[which]);
        d->headers[d->n_headers].value = g_strdup(value);
        d->n_headers++;
    }
}

/* fill_from_ticket - the decision fields a ticket determines. */
static void fill_from_ticket(tg_decision *d, const tg_ticket *t)
{
    d->ticket_id = t->id;
    d->ref = g_strdup(t->ref);
    d->queue = g_strdup(t->queue);
    d->category = g_strdup(t->category);
    d->priority = g_strdup(t->priority);
    d->status = g_strdup(t->status);
    d->assignee = g_strdup(t->assignee);
    d->sla_policy = g_strdup(t->sla_policy);
    d->rule = g_strdup(t->rule);
    d->first_response_due = t->first_response_due;
    d->resolution_due = t->resolution_due;
}

static int store_inbound(run *r, int64_t ticket, const char *direction)
{
    char *attachments = r->in->attachments ? g_strjoinv("\n", r->in->attachments) : NULL;
    tg_message m = {.ticket_id = ticket,
                    .direction = direction,
                    .channel = r->in->channel,
                    .msg_id = r->in->message_id,
                    .sender = r->in->sender,
                    .subject = r->in->subject,
                    .body = r->in->text,
                    .created_at = r->now,
                    .truncated = r->in->text_truncated,
                    .attachments = attachments};
    int rc = tg_store_add_message(r->st, &m, r->err);
    g_free(attachments);
    if (rc == TG_OK && r->in->text_truncated)
        rc = eventf(r, ticket, "truncated", "message %s: text cut at %zu bytes of a %zu-byte %s",
                    r->in->message_id, strlen(r->in->text), r->in->original_size,
                    strcmp(r->in->channel, "xmpp") == 0 ? "chat message" : "mail");
    if (rc == TG_OK && r->in->read_cut)
        rc = eventf(r, ticket, "truncated",
                    "message %s: %zu bytes; only the first part was read, the rest was counted",
                    r->in->message_id, r->in->original_size);
    return rc;
}

/* remember_thread - the To/Cc addresses of an inbound mail may write on the ticket later. */
static int remember_thread(run *r, int64_t ticket)
{
    int rc = TG_OK;
    for (char **a = r->in->recipients; rc == TG_OK && a && *a; a++)
        if (!tg_config_is_support_address(r->cfg, *a))
            rc = tg_store_add_thread_address(r->st, ticket, *a, r->err);
    return rc;
}

/* ---- finding the ticket of a follow-up ---- */

/* find_thread_ticket - the ticket named by the subject tag, the In-Reply-To/References ids, or
 * (chat) the sender's open conversation on this queue: 1 with *t, 0 none, or an error. */
static int find_thread_ticket(run *r, const tg_queue *queue, tg_ticket *t)
{
    const tg_inbound *in = r->in;
    int64_t id;
    int rc;

    if (in->subject_tag && (rc = tg_store_ticket_by_ref(r->st, in->subject_tag, t, r->err)) != 0)
        return rc;
    const char *ids[24] = {in->in_reply_to};
    size_t n = in->in_reply_to ? 1 : 0;
    for (char **ref = in->references; ref && *ref && n < G_N_ELEMENTS(ids); ref++)
        ids[n++] = *ref;
    for (size_t i = 0; i < n; i++) {
        rc = tg_store_find_thread(r->st, in->channel, ids[i], &id, r->err);
        if (rc != 0)
            return rc < 0 ? rc : tg_store_ticket_by_id(r->st, id, t, r->err);
    }
    if (strcmp(in->channel, "xmpp") == 0)
        return tg_store_open_chat(r->st, in->sender, queue->name, t, r->err);
    return 0;
}

/* entitled - the sender may write on t: its requester, an address of its thread, or an agent. */
static int entitled(run *r, const tg_ticket *t, const tg_agent *agent)
{
    if (agent || g_ascii_strcasecmp(t->requester, r->in->sender) == 0)
        return 1;
    return *r->in->sender ? tg_store_is_thread_address(r->st, t->id, r->in->sender, r->err) : 0;
}

/* answered_notice - the id of our notice to an agent that in answers, or NULL. Such an answer
 * carries no ticket tag (the notices have none, so that it cannot reach a customer); as a new
 * ticket it would be the agent's own request, auto-replied and counted in the reports. */
static const char *answered_notice(const tg_inbound *in)
{
    if (strcmp(in->channel, "email") != 0)
        return NULL;
    if (tg_mail_is_notice_id(in->in_reply_to))
        return in->in_reply_to;
    for (char **ref = in->references; ref && *ref; ref++)
        if (tg_mail_is_notice_id(*ref))
            return *ref;
    return NULL;
}

/* sender_agent - the agent who sent in: by address (From, whatever Reply-To says), or by an
 * authenticated login. */
static const tg_agent *sender_agent(run *r)
{
    const tg_agent *a = tg_config_agent_for(r->cfg, r->in->author ? r->in->author : r->in->sender);
    if (!a && r->in->auth_user)
        a = tg_config_agent_by_login(r->cfg, r->in->auth_user);
    return a;
}

static int append_followup(run *r, tg_ticket *t)
{
    int rc = store_inbound(r, t->id, "in");
    if (rc == TG_OK)
        rc = remember_thread(r, t->id);
    if (rc == TG_OK)
        rc = eventf(r, t->id, "follow-up", "from %s, message %s", r->in->sender, r->in->message_id);
    /* an agent who answers from a chat client sees the conversation there */
    if (rc == TG_OK)
        rc = tg_notice_followup(r->cfg, r->st, t, r->in->sender, r->in->text, r->in->attachments,
                                r->now, r->err);
    /* The customer wrote: a resolved ticket is open again, a pending one waits on us. */
    if (rc == TG_OK && (strcmp(t->status, "resolved") == 0 || strcmp(t->status, "pending") == 0)) {
        rc = tg_store_set_status(r->st, t->id, "open", r->now, r->err);
        if (rc == TG_OK)
            rc = eventf(r, t->id, "status", "%s -> open (customer follow-up)", t->status);
        g_free(t->status);
        t->status = g_strdup("open");
    }
    r->dec->kind = TG_INTAKE_FOLLOWUP;
    fill_from_ticket(r->dec, t);
    add_header(r->dec, TG_HDR_ID, t->ref);
    return rc;
}

/* queue_outgoing - put row in the outbox with a fresh message id, and keep a copy in the
 * ticket's messages so that an answer naming that id joins the ticket and our own mail coming
 * back through the MTA is recognized. */
static int queue_outgoing(run *r, tg_outbox *row, int keep_copy)
{
    const char *domain = row->sender ? tg_address_domain(row->sender) : "";
    char *msg_id = strcmp(row->channel, "email") == 0
                       ? tg_mail_new_message_id(*domain ? domain : "ticketgate.invalid")
                       : tg_store_new_chat_id();
    row->msg_id = msg_id;
    int rc = tg_store_add_outbox(r->st, row, r->err);
    if (rc == TG_OK && row->next_attempt_at > r->now) { /* leased: the caller sends it */
        r->dec->leased_reply = g_new(tg_outbox, 1);
        tg_outbox_copy(r->dec->leased_reply, row);
    }
    if (rc == TG_OK && keep_copy) {
        /* a relay that takes the agent's files names them, as the agent's message does */
        char *files = row->attachments_mime && r->in->attachments
                          ? g_strjoinv("\n", r->in->attachments)
                          : NULL;
        tg_message m = {.ticket_id = row->ticket_id,
                        .direction = "out",
                        .channel = row->channel,
                        .msg_id = msg_id,
                        .sender = row->sender,
                        .subject = row->subject,
                        .body = row->body,
                        .created_at = r->now,
                        .attachments = files};
        rc = tg_store_add_message(r->st, &m, r->err);
        g_free(files);
    }
    row->msg_id = NULL;
    g_free(msg_id);
    return rc;
}

static char *join_references(const tg_inbound *in)
{
    GString *refs = g_string_new(NULL);
    for (char **ref = in->references; ref && *ref; ref++)
        g_string_append_printf(refs, "%s%s", refs->len ? " " : "", *ref);
    if (!in->message_id_synthetic)
        g_string_append_printf(refs, "%s%s", refs->len ? " " : "", in->message_id);
    return g_string_free(refs, FALSE);
}

/* files_kept_back - an agent's answer with files, relayed without them (by chat, or its mail
 * was read only in part): the event, the agent told, the note for the log. */
static int files_kept_back(run *r, const tg_ticket *t, const tg_agent *agent,
                           tg_files_kept_back why)
{
    const char *told_by = NULL;
    const char *said = why == TG_FILES_BY_CHAT ? "a chat ticket" : "the mail was read only in part";
    int rc = tg_notice_files_not_sent(r->cfg, r->st, t, agent, r->in->attachments, why, r->now,
                                      &told_by, r->err);
    if (rc == TG_OK)
        rc = eventf(r, t->id, "files-not-relayed", "agent %s, message %s: %s%s%s", agent->id,
                    r->in->message_id, said, told_by ? "; told by " : "", told_by ? told_by : "");
    r->dec->note =
        g_strdup_printf("agent %s's files not relayed on %s: %s", agent->id, t->ref, said);
    return rc;
}

/* closed_answer - an agent's mail on a closed ticket: kept on it (so that the same mail again is
 * a duplicate) but not relayed, and the agent told so; a ticket of the agent's, as any other
 * sender's message on a closed ticket makes, would have the answer reach nobody. */
static int closed_answer(run *r, const tg_ticket *t, const tg_agent *agent)
{
    const char *told_by = NULL;
    int rc = store_inbound(r, t->id, "agent");
    if (rc == TG_OK)
        rc = tg_notice_closed_answer(r->cfg, r->st, t, agent, r->now, &told_by, r->err);
    if (rc == TG_OK)
        rc =
            eventf(r, t->id, "answer-refused",
                   "agent %s by %s, message %s: closed, not relayed%s%s", agent->id, r->in->channel,
                   r->in->message_id, told_by ? "; told by " : "", told_by ? told_by : "");
    r->dec->kind = TG_INTAKE_IGNORED;
    fill_from_ticket(r->dec, t);
    r->dec->note =
        g_strdup_printf("agent %s answered closed %s: kept on it, not relayed", agent->id, t->ref);
    return rc;
}

/* agent_answer - an agent's message on a ticket: the first response, and relayed on. */
static int agent_answer(run *r, tg_ticket *t, const tg_agent *agent)
{
    const tg_queue *queue = tg_config_queue(r->cfg, t->queue);
    int rc = store_inbound(r, t->id, "agent");
    if (rc == TG_OK)
        rc = tg_store_set_first_response(r->st, t->id, r->now, r->err);
    if (rc == TG_OK && !t->assignee)
        rc = tg_store_set_assignee(r->st, t->id, agent->id, r->now, r->err);
    if (rc == TG_OK && strcmp(t->status, "pending") != 0) {
        rc = tg_store_set_status(r->st, t->id, "pending", r->now, r->err);
        if (rc == TG_OK)
            rc = eventf(r, t->id, "status", "%s -> pending (agent answered)", t->status);
        g_free(t->status);
        t->status = g_strdup("pending");
    }
    if (!t->assignee)
        t->assignee = g_strdup(agent->id);
    if (rc == TG_OK)
        rc = eventf(r, t->id, "replied", "agent %s by %s, message %s", agent->id, r->in->channel,
                    r->in->message_id);
    if (rc != TG_OK)
        return rc;

    const char *subject_t, *body_t;
    const char *lang = tg_config_template(r->cfg, "relay", t->lang, &subject_t, &body_t);
    tg_template_var vars[] = {
        {"ref", t->ref},        {"subject", t->subject},      {"text", r->in->text},
        {"agent", agent->name}, {"company", r->cfg->company}, {"queue", t->queue}};
    char *subject = tg_template_render(subject_t, vars, G_N_ELEMENTS(vars));
    char *body = tg_template_render(body_t, vars, G_N_ELEMENTS(vars));
    char *refs = join_references(r->in);
    char *jid = tg_config_queue_jid(r->cfg, queue);
    int by_mail = strcmp(t->channel, "email") == 0;
    /* files go with a mail, if they were read whole */
    int with_files = by_mail && !r->in->read_cut;
    tg_outbox row = {.ticket_id = t->id,
                     .channel = t->channel,
                     .kind = "relay",
                     .recipient = t->requester,
                     .recipient_name = t->requester_name,
                     .sender = by_mail ? tg_config_queue_address(queue) : jid,
                     .sender_name = queue && queue->from_name ? queue->from_name : r->cfg->company,
                     .subject = subject,
                     .body = body,
                     .in_reply_to = r->in->in_reply_to,
                     .references = refs,
                     .lang = lang,
                     .attachments_mime = with_files ? r->in->attachments_mime : NULL,
                     .created_at = r->now};
    rc = queue_outgoing(r, &row, 1);
    if (rc == TG_OK && r->in->attachments && !with_files)
        rc = files_kept_back(r, t, agent, by_mail ? TG_FILES_CUT : TG_FILES_BY_CHAT);
    g_free(jid);
    g_free(subject);
    g_free(body);
    g_free(refs);
    r->dec->kind = TG_INTAKE_AGENT_REPLY;
    fill_from_ticket(r->dec, t);
    add_header(r->dec, TG_HDR_ID, t->ref);
    return rc;
}

/* ---- new tickets ---- */

static int assign(run *r, tg_ticket *t, const tg_rule_action *action, const tg_queue *queue)
{
    const tg_agent *named = action->assignee ? tg_config_agent(r->cfg, action->assignee) : NULL;
    const char *group = t->agent_group;
    char reason[200] = "";
    int rc;

    if (named && named->active) {
        t->assignee = g_strdup(named->id);
        r->dec->assign_note = g_strdup_printf("assigned to %s by rule %s", named->id, action->rule);
    } else if (!group) {
        r->dec->assign_note =
            g_strdup_printf("unassigned: queue %s names no agent group", queue->name);
    } else {
        GArray *cands = g_array_new(FALSE, TRUE, sizeof(tg_assign_candidate));
        for (guint i = 0; i < r->cfg->agents->len; i++) {
            const tg_agent *a = g_ptr_array_index(r->cfg->agents, i);
            if (!a->groups || !g_strv_contains((const char *const *)a->groups, group))
                continue;
            tg_assign_candidate c = {a->id, a->active, 0, a->max_open, 0};
            if ((rc = tg_store_agent_load(r->st, a->id, &c.open_tickets, &c.last_assigned,
                                          r->err)) != TG_OK) {
                g_array_free(cands, TRUE);
                return rc;
            }
            g_array_append_val(cands, c);
        }
        int pick = tg_assign_pick((tg_assign_candidate *)(void *)cands->data, cands->len, reason,
                                  sizeof reason);
        if (pick >= 0) {
            tg_assign_candidate *c = &g_array_index(cands, tg_assign_candidate, pick);
            t->assignee = g_strdup(c->agent);
            r->dec->assign_note =
                g_strdup_printf("assigned to %s (group %s, %lld open of %lld)", c->agent, group,
                                (long long)c->open_tickets, (long long)c->max_open);
        } else {
            r->dec->assign_note = g_strdup_printf("unassigned: group %s: %s", group, reason);
        }
        g_array_free(cands, TRUE);
    }
    if (named && !named->active && !t->assignee) {
        char *note = g_strdup_printf("%s (agent %s named by rule %s is inactive)",
                                     r->dec->assign_note, named->id, action->rule);
        g_free(r->dec->assign_note);
        r->dec->assign_note = note;
    }
    if (t->assignee && (rc = tg_store_set_assignee(r->st, t->id, t->assignee, r->now, r->err)))
        return rc;
    return event(r, t->id, t->assignee ? "assigned" : "unassigned", r->dec->assign_note);
}

int tg_intake_forget_autoreplies(const tg_config *cfg, tg_store *st, int64_t now,
                                 int64_t *forgotten, tg_err *err)
{
    enum { CHUNK = 1000 }; /* rows per transaction: intake waits for one chunk at most */
    *forgotten = 0;
    for (;;) {
        int64_t n = 0;
        int rc = tg_store_forget_autoreplies(st, now - cfg->autoreply_window, CHUNK, &n, err);
        *forgotten += n;
        if (rc != TG_OK || n < CHUNK)
            return rc;
    }
}

/* counts_autoreplies - whether the per-sender auto-reply limit applies to in's channel. It
 * stops loops between our auto-replies and a mail robot's. A chat cannot loop that way (what a
 * customer writes to an open ticket joins it unanswered) and floods meet [xmpp] rate_limit:
 * there the limit would only leave a customer's new ticket without its reference. */
static int counts_autoreplies(const tg_inbound *in)
{
    return strcmp(in->channel, "xmpp") != 0;
}

/* no_reply_reason - why the new ticket gets no auto-reply, or NULL to send one. */
static int no_reply_reason(run *r, const tg_rule_action *action, char **why)
{
    const tg_inbound *in = r->in;
    int64_t sent = 0;
    *why = NULL;

    if (in->machine)
        *why = g_strdup_printf("machine-generated: %s", in->machine_reason);
    else if (action->no_auto_reply)
        *why = g_strdup_printf("rule %s: auto_reply = false", action->rule);
    else if (!*in->sender)
        *why = g_strdup("no usable sender address");
    else if (tg_config_is_support_address(r->cfg, in->sender))
        *why = g_strdup_printf("sender %s is our own support address", in->sender);
    else if (in->author && tg_config_is_support_address(r->cfg, in->author))
        *why = g_strdup_printf("author %s is our own support address", in->author);
    else if (r->cfg->autoreply_limit == 0)
        *why = g_strdup("auto-replies are off ([limits] autoreply_limit = 0)");
    else if (counts_autoreplies(in)) {
        int rc = tg_store_count_autoreplies(r->st, in->sender, r->now - r->cfg->autoreply_window,
                                            &sent, r->err);
        if (rc != TG_OK)
            return rc;
        if (sent >= r->cfg->autoreply_limit)
            *why = g_strdup_printf("sender %s already got %lld auto-replies in %llds (limit %lld)",
                                   in->sender, (long long)sent, (long long)r->cfg->autoreply_window,
                                   (long long)r->cfg->autoreply_limit);
    }
    return TG_OK;
}

static int queue_autoreply(run *r, const tg_ticket *t, const tg_queue *queue, GTimeZone *zone)
{
    const tg_inbound *in = r->in;
    int chat = strcmp(in->channel, "xmpp") == 0;
    const char *subject_t, *body_t;
    char *due_res = tg_format_due(t->resolution_due, zone, t->lang);
    tg_template_var vars[] = {
        {"ref", t->ref},
        {"subject", t->subject},
        {"due", r->dec->due_text},
        {"due_resolution", due_res},
        {"queue", t->queue},
        {"priority", t->priority},
        {"category", t->category},
        {"company", r->cfg->company},
        {"requester", t->requester},
        {"requester_name", t->requester_name ? t->requester_name : ""},
    };
    const char *lang = tg_config_template(r->cfg, chat ? "autoreply_chat" : "autoreply", t->lang,
                                          &subject_t, &body_t);
    r->dec->reply_subject = tg_template_render(subject_t, vars, G_N_ELEMENTS(vars));
    r->dec->reply_text = tg_template_render(body_t, vars, G_N_ELEMENTS(vars));
    g_free(due_res);

    char *refs = join_references(in);
    tg_outbox row = {.ticket_id = t->id,
                     .channel = in->channel,
                     .kind = "autoreply",
                     .recipient = in->reply_address ? in->reply_address : in->sender,
                     .recipient_name = in->sender_name,
                     .sender = chat ? in->recipient : tg_config_queue_address(queue),
                     .sender_name = queue->from_name ? queue->from_name : r->cfg->company,
                     .subject = r->dec->reply_subject,
                     .body = r->dec->reply_text,
                     .in_reply_to = in->message_id_synthetic ? NULL : in->message_id,
                     .references = refs,
                     .thread = in->thread_id,
                     .stanza_type = in->stanza_type,
                     .lang = lang,
                     .created_at = r->now,
                     .next_attempt_at = r->lease_until};
    int rc = queue_outgoing(r, &row, 1);
    g_free(refs);
    if (rc == TG_OK && counts_autoreplies(in))
        rc = tg_store_log_autoreply(r->st, in->sender, r->now, r->err);
    if (rc == TG_OK)
        rc = eventf(r, t->id, "auto-reply", "queued to %s by %s", in->sender, in->channel);
    r->dec->reply_queued = rc == TG_OK;
    return rc;
}

static int new_ticket(run *r, const tg_queue *queue, const char *refused)
{
    const tg_inbound *in = r->in;
    tg_verdict v;
    tg_ticket t = {0};
    int rc;

    tg_rules_classify(r->cfg->rules, in, &v);
    const tg_rule_action *action = v.action;
    if (action->queue)
        queue = tg_config_queue(r->cfg, action->queue);
    const tg_sla_policy *policy =
        action->sla ? tg_config_policy(r->cfg, action->sla) : queue->policy;
    GTimeZone *zone = tg_calendar_zone(tg_sla_policy_calendar(policy));
    tg_sla_due due;

    t.channel = g_strdup(in->channel);
    t.source = g_strdup(tg_config_is_internal(r->cfg, in->sender) ? "internal" : "external");
    t.queue = g_strdup(queue->name);
    t.category = g_strdup(action->category ? action->category : "general");
    t.priority = g_strdup(action->priority ? action->priority : "normal");
    t.rule = g_strdup(action->rule);
    t.requester = g_strdup(in->sender);
    t.requester_name = g_strdup(in->sender_name);
    t.lang = g_strdup(in->lang);
    /* without the customer's "Re:"/"Fwd:": our replies add their own before the tag */
    const char *subject = tg_subject_without_reply_prefixes(in->subject);
    t.subject = g_strdup(*subject ? subject : "(no subject)");
    t.status = g_strdup("new");
    t.sla_policy = g_strdup(tg_sla_policy_name(policy));
    t.tags = action->tags ? g_strjoinv(",", (char **)action->tags) : NULL;
    t.agent_group = g_strdup(action->group ? action->group : queue->group);
    t.created_at = r->now;
    tg_sla_compute(policy, t.channel, t.category, t.priority, r->now, &due);
    t.first_response_due = due.first_response;
    t.resolution_due = due.resolution;

    if ((rc = tg_store_insert_ticket(r->st, &t, queue->prefix, r->err)) != TG_OK ||
        (rc = store_inbound(r, t.id, "in")) != TG_OK || (rc = remember_thread(r, t.id)) != TG_OK)
        goto out;
    rc = eventf(r, t.id, "created", "%s from %s, message %s%s%s", in->channel, in->sender,
                in->message_id, in->recipient ? ", to " : "", in->recipient ? in->recipient : "");
    if (rc == TG_OK && refused) {
        r->dec->note = g_strdup_printf("sender %s may not write on %s: opened a new ticket",
                                       in->sender, refused);
        rc = event(r, t.id, "reference-refused", r->dec->note);
    }
    if (rc == TG_OK)
        rc = eventf(r, t.id, "classified", "rule %s: %s; queue %s, category %s, priority %s",
                    action->rule, v.why, t.queue, t.category, t.priority);
    if (rc == TG_OK && v.cut_off)
        rc = eventf(r, t.id, "rule-limit", "%d pattern(s) abandoned at the match limit", v.cut_off);
    r->dec->due_text = tg_format_due(t.first_response_due, zone, t.lang);
    if (rc == TG_OK) {
        char *res = tg_format_due(t.resolution_due, zone, "en");
        char *fr = tg_format_due(t.first_response_due, zone, "en");
        rc = eventf(r, t.id, "sla", "policy %s: first response by %s, resolution by %s",
                    t.sla_policy, fr, res);
        g_free(res);
        g_free(fr);
    }
    if (rc == TG_OK)
        rc = assign(r, &t, action, queue);
    if (rc == TG_OK)
        rc = tg_notice_assignee(r->cfg, r->st, &t, in->text, in->attachments, r->now, r->err);
    if (rc == TG_OK)
        rc = no_reply_reason(r, action, &r->dec->no_reply_reason);
    if (rc == TG_OK && r->dec->no_reply_reason)
        rc = event(r, t.id, "no-auto-reply", r->dec->no_reply_reason);
    else if (rc == TG_OK)
        rc = queue_autoreply(r, &t, queue, zone);
    if (rc != TG_OK)
        goto out;

    r->dec->kind = TG_INTAKE_NEW;
    fill_from_ticket(r->dec, &t);
    r->dec->rule_why = g_strdup(v.why);
    add_header(r->dec, TG_HDR_ID, t.ref);
    add_header(r->dec, TG_HDR_QUEUE, t.queue);
    add_header(r->dec, TG_HDR_PRIORITY, t.priority);
    if (t.first_response_due >= 0) {
        char *date = tg_format_rfc5322(t.first_response_due, zone);
        add_header(r->dec, TG_HDR_DUE, date);
        g_free(date);
    }
out:
    tg_ticket_clear(&t);
    return rc;
}

/* ---- the pipeline ---- */

/* seen_before - 1 when the message was taken before (the MTA or the client sent it again) or
 * is our own coming back (non_smtpd_milters): the decision says so, with its ticket in *t; 0
 * when it is new; <0 on a store error. */
static int seen_before(run *r, tg_ticket *t)
{
    const tg_inbound *in = r->in;
    int64_t ticket_id;
    int own = 0;
    int rc = tg_store_find_message(r->st, in->channel, in->message_id, &ticket_id, r->err);
    if (rc == 0) {
        own = 1;
        rc = tg_store_find_own_message(r->st, in->channel, in->message_id, &ticket_id, r->err);
    }
    if (rc != 1)
        return rc;
    if ((rc = tg_store_ticket_by_id(r->st, ticket_id, t, r->err)) == 0)
        rc = tg_err_set(r->err, TG_ESTORE, "message %s names a missing ticket", in->message_id);
    if (rc != 1)
        return rc;
    r->dec->kind = TG_INTAKE_DUPLICATE;
    fill_from_ticket(r->dec, t);
    if (own)
        r->dec->note = g_strdup_printf("our own message %s came back: ignored", in->message_id);
    else
        add_header(r->dec, TG_HDR_ID, t->ref);
    return 1;
}

static int pipeline(run *r)
{
    const tg_inbound *in = r->in;
    tg_ticket t = {0};
    char *refused = NULL; /* a reference the sender may not use, for the new ticket's events */
    int rc;

    if ((rc = seen_before(r, &t)) != 0) {
        if (rc == 1)
            rc = TG_OK;
        goto out;
    }

    const tg_queue *queue = tg_config_queue_for(r->cfg, in->channel, in->recipient);
    if (!queue)
        queue = tg_config_default_queue(r->cfg);
    const tg_agent *agent = sender_agent(r);

    if ((rc = find_thread_ticket(r, queue, &t)) < 0)
        goto out;
    if (rc == 1) {
        int closed = strcmp(t.status, "closed") == 0;
        int is_requester = g_ascii_strcasecmp(t.requester, in->sender) == 0;
        if (!closed && (rc = entitled(r, &t, agent)) != 0) {
            if (rc == 1)
                rc = agent && !is_requester ? agent_answer(r, &t, agent) : append_followup(r, &t);
            goto out;
        }
        if (closed && agent && !is_requester) {
            rc = closed_answer(r, &t, agent);
            goto out;
        }
        /* Not entitled, or the ticket is closed: a new ticket. Its requester writing again is
         * ordinary; anyone else's use of the reference is recorded. */
        if (!is_requester)
            refused = g_strdup_printf(closed ? "%s (closed)" : "%s", t.ref);
    }
    const char *notice = agent ? answered_notice(in) : NULL;
    if (notice) {
        r->dec->kind = TG_INTAKE_IGNORED;
        r->dec->note = g_strdup_printf("agent %s answered notice %s: not a ticket, not relayed",
                                       agent->id, notice);
        rc = TG_OK;
        goto out;
    }
    rc = new_ticket(r, queue, refused);
out:
    tg_ticket_clear(&t);
    g_free(refused);
    return rc;
}

typedef enum { COMMIT, DRY_RUN, ANSWER_ONLY } process_mode;

static int process(const tg_config *cfg, tg_store *st, const tg_inbound *in, int64_t now,
                   tg_decision *dec, process_mode mode, tg_err *err)
{
    run r = {cfg, st, in, now, dec, err, 0};
    memset(dec, 0, sizeof *dec);

    int rc = tg_store_begin(st, err);
    if (rc != TG_OK)
        return rc;
    rc = pipeline(&r);
    if (rc == TG_OK && mode == ANSWER_ONLY && dec->kind != TG_INTAKE_AGENT_REPLY &&
        dec->kind != TG_INTAKE_DUPLICATE)
        rc =
            tg_err_set(err, TG_EINVAL, "%s: not taken as an answer (%s); nothing was sent",
                       in->subject_tag ? in->subject_tag : "the message", /* not dec->ref: undone */
                       tg_intake_kind_name(dec->kind));
    if (rc == TG_OK && mode != DRY_RUN)
        rc = tg_store_commit(st, err);
    else
        tg_store_rollback(st);
    if (rc != TG_OK)
        tg_decision_clear(dec);
    return rc;
}

int tg_intake_process(const tg_config *cfg, tg_store *st, const tg_inbound *in, int64_t now,
                      tg_decision *dec, tg_err *err)
{
    return process(cfg, st, in, now, dec, COMMIT, err);
}

int tg_intake_answer(const tg_config *cfg, tg_store *st, const tg_inbound *in, int64_t now,
                     tg_decision *dec, tg_err *err)
{
    return process(cfg, st, in, now, dec, ANSWER_ONLY, err);
}

/* run_isolated - the jobs in the open transaction, each in a savepoint: a job that fails is
 * undone alone. Returns TG_OK, or the error that ended the transaction. */
static int run_isolated(const tg_config *cfg, tg_store *st, tg_intake_job **jobs, size_t n,
                        tg_err *err)
{
    for (size_t i = 0; i < n; i++) {
        tg_intake_job *j = jobs[i];
        run r = {cfg, st, j->in, j->now, &j->dec, &j->err, j->lease_until};
        j->rc = tg_store_savepoint(st, &j->err);
        if (j->rc == TG_OK && (j->rc = pipeline(&r)) == TG_OK)
            j->rc = tg_store_release(st, &j->err);
        if (j->rc != TG_OK) {
            tg_decision_clear(&j->dec);
            /* Some errors (disk full, I/O) end the whole transaction: then all fail. */
            if (!tg_store_in_transaction(st)) {
                *err = j->err;
                return j->rc;
            }
            tg_store_rollback_to(st);
        }
    }
    return TG_OK;
}

/* run_together - the jobs in the open transaction without savepoints (SQLite copies every page
 * a savepoint touches: a tenth of the work of a chat ticket). Returns TG_OK when every job
 * succeeded; otherwise the caller rolls back and runs them isolated. */
static int run_together(const tg_config *cfg, tg_store *st, tg_intake_job **jobs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        tg_intake_job *j = jobs[i];
        run r = {cfg, st, j->in, j->now, &j->dec, &j->err, j->lease_until};
        if ((j->rc = pipeline(&r)) != TG_OK)
            return j->rc;
    }
    return TG_OK;
}

int tg_intake_batch_run(const tg_config *cfg, tg_store *st, tg_intake_job **jobs, size_t n,
                        tg_err *err)
{
    for (size_t i = 0; i < n; i++)
        memset(&jobs[i]->dec, 0, sizeof jobs[i]->dec);
    int rc = tg_store_begin(st, err);
    if (rc != TG_OK || run_together(cfg, st, jobs, n) == TG_OK)
        return rc;
    /* A job failed and left its writes half done: start again, each job on its own. */
    tg_store_rollback(st);
    for (size_t i = 0; i < n; i++) {
        tg_decision_clear(&jobs[i]->dec);
        jobs[i]->err = (tg_err){0};
    }
    if ((rc = tg_store_begin(st, err)) != TG_OK)
        return rc;
    return run_isolated(cfg, st, jobs, n, err);
}

int tg_intake_batch_commit(tg_store *st, tg_intake_job **jobs, size_t n, int rc, tg_err *err)
{
    if (rc == TG_OK)
        rc = tg_store_commit(st, err);
    else
        tg_store_rollback(st);
    for (size_t i = 0; i < n && rc != TG_OK; i++) {
        jobs[i]->rc = rc;
        jobs[i]->err = *err;
        tg_decision_clear(&jobs[i]->dec);
    }
    return rc;
}

size_t tg_intake_process_batch(const tg_config *cfg, tg_store *st, tg_intake_job **jobs, size_t n)
{
    tg_err err = {0};
    int rc = tg_intake_batch_run(cfg, st, jobs, n, &err);
    tg_intake_batch_commit(st, jobs, n, rc, &err);
    size_t ok = 0;
    for (size_t i = 0; i < n; i++)
        ok += jobs[i]->rc == TG_OK;
    return ok;
}

int tg_intake_explain(const tg_config *cfg, tg_store *st, const tg_inbound *in, int64_t now,
                      tg_decision *dec, tg_err *err)
{
    return process(cfg, st, in, now, dec, DRY_RUN, err);
}
