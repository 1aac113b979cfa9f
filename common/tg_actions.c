/* tg_actions.c - agent actions on tickets (see tg_actions.h). */
#include <string.h>

#include "tg_actions.h"
#include "tg_log.h"
#include "tg_notice.h"
#include "tg_template.h"

char *tg_ref_typed(const char *typed)
{
    const char *start = typed + strspn(typed, "[#");
    size_t len = strlen(start);
    while (len > 0 && strchr("]:,.;", start[len - 1]))
        len--;
    return g_ascii_strup(start, (gssize)len);
}

/* ticket_by_ref - the ticket ref (as tg_ref_typed reads it) into *t: TG_OK, TG_ENOTFOUND or a
 * store error. */
static int ticket_by_ref(tg_store *st, const char *ref, const char *lang, tg_ticket *t, tg_err *err)
{
    char *upper = tg_ref_typed(ref);
    int rc = tg_store_ticket_by_ref(st, upper, t, err);
    if (rc == 0)
        rc = tg_err_set(err, TG_ENOTFOUND,
                        TG_SAID(lang, "there is no ticket %s", "обращения %s нет"), upper);
    else if (rc == 1)
        rc = TG_OK;
    g_free(upper);
    return rc;
}

const char *tg_agent_left(const tg_config *cfg, const char *id, const char *lang)
{
    const tg_agent *a = tg_config_agent(cfg, id);
    if (a && a->active)
        return NULL;
    return a ? TG_SAID(lang, "not active", "агент не активен")
             : TG_SAID(lang, "not in the configuration", "агента нет в конфигурации");
}

/* others_ticket - whether agent may act on t, which another agent has: only when take_over and
 * that agent left; else TG_EPERM, with what to do. */
static int others_ticket(const tg_config *cfg, const tg_ticket *t, const char *lang, int take_over,
                         tg_err *err)
{
    const char *why = tg_agent_left(cfg, t->assignee, lang);
    if (!why)
        return tg_err_set(err, TG_EPERM,
                          TG_SAID(lang, "%s is assigned to %s, not to you",
                                  "обращение %s назначено агенту %s, не вам"),
                          t->ref, t->assignee);
    if (!take_over)
        return tg_err_set(err, TG_EPERM,
                          TG_SAID(lang, "%s is assigned to %s, who is %s: take %s first",
                                  "обращение %s назначено агенту %s (%s): сначала take %s"),
                          t->ref, t->assignee, why, t->ref);
    return TG_OK;
}

int tg_ticket_for_agent(const tg_config *cfg, tg_store *st, const char *ref, const tg_agent *agent,
                        const char *lang, int take_over, tg_ticket *t, tg_err *err)
{
    int rc = ticket_by_ref(st, ref, lang, t, err);
    if (rc == TG_OK && t->assignee && strcmp(t->assignee, agent->id) != 0)
        rc = others_ticket(cfg, t, lang, take_over, err);
    if (rc != TG_OK)
        tg_ticket_clear(t);
    return rc;
}

/* finish - commit the action's transaction if rc says it went well, else roll it back and drop
 * the description of what was done. */
static int finish(tg_store *st, int rc, char **done, tg_err *err)
{
    if (rc == TG_OK)
        rc = tg_store_commit(st, err);
    else
        tg_store_rollback(st);
    if (rc != TG_OK) {
        g_free(*done);
        *done = NULL;
    }
    return rc;
}

/* take - the agent takes t, which nobody has, or an agent who left (tg_ticket_for_agent refused
 * anyone else's). */
static int take(const tg_config *cfg, tg_store *st, const tg_ticket *t, const tg_agent *agent,
                const char *lang, int64_t now, char **done, tg_err *err)
{
    if (t->assignee && strcmp(t->assignee, agent->id) == 0) {
        *done =
            g_strdup_printf(TG_SAID(lang, "%s is already yours", "обращение %s уже ваше"), t->ref);
        return TG_OK;
    }
    char *detail = t->assignee ? g_strdup_printf("%s (was %s, %s)", agent->id, t->assignee,
                                                 tg_agent_left(cfg, t->assignee, NULL))
                               : g_strdup(agent->id);
    int rc = tg_store_set_assignee(st, t->id, agent->id, now, err);
    if (rc == TG_OK)
        rc = tg_store_add_event(st, t->id, now, "assigned", detail, err);
    g_free(detail);
    if (t->assignee)
        *done = g_strdup_printf(TG_SAID(lang, "%s is now yours (it was %s's, %s)",
                                        "обращение %s теперь ваше (оно было у %s: %s)"),
                                t->ref, t->assignee, tg_agent_left(cfg, t->assignee, lang));
    else
        *done =
            g_strdup_printf(TG_SAID(lang, "%s is now yours", "обращение %s теперь ваше"), t->ref);
    return rc;
}

/* release - the agent gives t back to nobody, for the group to take. */
static int release(tg_store *st, const tg_ticket *t, const tg_agent *agent, const char *lang,
                   int64_t now, char **done, tg_err *err)
{
    if (!t->assignee) {
        *done = g_strdup_printf(
            TG_SAID(lang, "%s is nobody's already", "обращение %s и так ни за кем не закреплено"),
            t->ref);
        return TG_OK;
    }
    char *detail = g_strdup_printf("by %s (was %s)", agent->id, t->assignee);
    int rc = tg_store_set_assignee(st, t->id, NULL, now, err);
    if (rc == TG_OK)
        rc = tg_store_add_event(st, t->id, now, "unassigned", detail, err);
    g_free(detail);
    *done = g_strdup_printf(TG_SAID(lang, "%s is no longer yours, and nobody has it now",
                                    "обращение %s больше не ваше, и сейчас оно ни за кем не "
                                    "закреплено"),
                            t->ref);
    return rc;
}

/* move_to - t's status becomes status, by the agent, who then has t if nobody did. */
static int move_to(tg_store *st, const tg_ticket *t, const char *status, const tg_agent *agent,
                   const char *lang, int64_t now, char **done, tg_err *err)
{
    if (strcmp(t->status, status) == 0) {
        *done = g_strdup_printf(TG_SAID(lang, "%s is already %s", "у обращения %s уже статус %s"),
                                t->ref, status);
        return TG_OK;
    }
    char *detail = g_strdup_printf("%s -> %s (by %s)", t->status, status, agent->id);
    int rc = tg_store_set_status(st, t->id, status, now, err);
    if (rc == TG_OK)
        rc = tg_store_add_event(st, t->id, now, "status", detail, err);
    if (rc == TG_OK && !t->assignee)
        rc = tg_store_set_assignee(st, t->id, agent->id, now, err);
    g_free(detail);
    *done = g_strdup_printf(TG_SAID(lang, "%s is now %s", "у обращения %s теперь статус %s"),
                            t->ref, status);
    return rc;
}

/* apply - action on t, in the caller's transaction; *done says what came of it. Only reopen
 * touches a closed ticket, and it touches only a finished one. */
static int apply(const tg_config *cfg, tg_store *st, tg_ticket *t, const tg_agent *agent,
                 const char *lang, tg_action action, int64_t now, char **done, tg_err *err)
{
    int closed = strcmp(t->status, "closed") == 0;
    int finished = closed || strcmp(t->status, "resolved") == 0;
    if (action == TG_ACT_REOPEN && !finished) {
        *done = g_strdup_printf(TG_SAID(lang, "%s is %s, not resolved or closed: nothing to reopen",
                                        "у обращения %s статус %s, оно не решено и не закрыто: "
                                        "открывать нечего"),
                                t->ref, t->status);
        return TG_OK;
    }
    if (action != TG_ACT_REOPEN && closed)
        return tg_err_set(err, TG_EINVAL, TG_SAID(lang, "%s is closed", "обращение %s закрыто"),
                          t->ref);
    switch (action) {
    case TG_ACT_TAKE:
        return take(cfg, st, t, agent, lang, now, done, err);
    case TG_ACT_RELEASE:
        return release(st, t, agent, lang, now, done, err);
    case TG_ACT_RESOLVE:
        return move_to(st, t, "resolved", agent, lang, now, done, err);
    case TG_ACT_CLOSE:
        return move_to(st, t, "closed", agent, lang, now, done, err);
    case TG_ACT_REOPEN:
        return move_to(st, t, "open", agent, lang, now, done, err);
    }
    return tg_err_set(err, TG_EINVAL, "unknown action %d", (int)action);
}

int tg_ticket_act(const tg_config *cfg, tg_store *st, const char *ref, const tg_agent *agent,
                  const char *lang, tg_action action, int64_t now, char **done, tg_err *err)
{
    tg_ticket t = {0};
    *done = NULL;
    int rc = tg_store_begin(st, err);
    if (rc != TG_OK)
        return rc;
    if ((rc = tg_ticket_for_agent(cfg, st, ref, agent, lang, action == TG_ACT_TAKE, &t, err)) ==
        TG_OK)
        rc = apply(cfg, st, &t, agent, lang, action, now, done, err);
    rc = finish(st, rc, done, err);
    tg_ticket_clear(&t);
    return rc;
}

typedef struct first_message {
    char *text;
    char **attachments;
} first_message;

/* first_words - the customer's first message, for the new assignee's notice. */
static int first_words(const tg_message *m, void *ud)
{
    first_message *first = ud;
    if (strcmp(m->direction, "in") != 0)
        return 0;
    first->text = g_strdup(m->body);
    first->attachments = m->attachments ? g_strsplit(m->attachments, "\n", -1) : NULL;
    return 1;
}

/* reassign - give ticket t to agent (NULL: nobody), with its event and the agent's notice. */
static int reassign(const tg_config *cfg, tg_store *st, tg_ticket *t, const tg_agent *agent,
                    const char *by, int64_t now, char **done, tg_err *err)
{
    const char *to = agent ? agent->id : NULL;
    if (strcmp(t->status, "closed") == 0)
        return tg_err_set(err, TG_EINVAL, "%s is closed", t->ref);
    if (g_strcmp0(t->assignee, to) == 0) {
        *done = to ? g_strdup_printf("%s is already assigned to %s", t->ref, to)
                   : g_strdup_printf("%s is already unassigned", t->ref);
        return TG_OK;
    }
    char *was = t->assignee; /* the ticket's now: t->assignee becomes `to` below */
    char *detail = to ? g_strdup_printf("%s by %s (was %s)", to, by, was ? was : "nobody")
                      : g_strdup_printf("by %s (was %s)", by, was ? was : "nobody");
    int rc = tg_store_set_assignee(st, t->id, to, now, err);
    if (rc == TG_OK)
        rc = tg_store_add_event(st, t->id, now, to ? "assigned" : "unassigned", detail, err);
    g_free(detail);
    t->assignee = g_strdup(to);
    first_message first = {0};
    if (rc == TG_OK && to)
        rc = tg_store_list_messages(st, t->id, first_words, &first, err);
    if (rc == TG_OK && to)
        rc = tg_notice_assignee(cfg, st, t, first.text, first.attachments, now, err);
    const tg_agent *had = was ? tg_config_agent(cfg, was) : NULL;
    if (rc == TG_OK && had) /* so that they stop working on it */
        rc = tg_notice_taken_off(cfg, st, t, had, now, err);
    g_free(was);
    g_free(first.text);
    g_strfreev(first.attachments);
    *done = to ? g_strdup_printf("%s is now assigned to %s", t->ref, to)
               : g_strdup_printf("%s is now unassigned", t->ref);
    return rc;
}

int tg_ticket_assign(const tg_config *cfg, tg_store *st, const char *ref, const tg_agent *agent,
                     const char *by, int64_t now, char **done, tg_err *err)
{
    tg_ticket t = {0};
    *done = NULL;
    if (agent && !agent->active)
        return tg_err_set(err, TG_EINVAL, "agent %s is not active", agent->id);
    int rc = tg_store_begin(st, err);
    if (rc != TG_OK)
        return rc;
    if ((rc = ticket_by_ref(st, ref, NULL, &t, err)) == TG_OK)
        rc = reassign(cfg, st, &t, agent, by, now, done, err);
    rc = finish(st, rc, done, err);
    tg_ticket_clear(&t);
    return rc;
}

int tg_agent_reply(const tg_config *cfg, tg_store *st, const tg_agent *agent, const char *lang,
                   const char *channel, const char *ref, const char *text, const char *msg_id,
                   int64_t now, tg_decision *dec, tg_err *err)
{
    tg_ticket t = {0};
    memset(dec, 0, sizeof *dec);
    if (!text || !*text)
        return tg_err_set(err, TG_EINVAL,
                          TG_SAID(lang, "the reply has no text", "в ответе нет текста"));
    int rc = tg_ticket_for_agent(cfg, st, ref, agent, lang, 0, &t, err);
    if (rc != TG_OK)
        return rc;
    const char *from = agent->jid && strcmp(channel, "xmpp") == 0 ? agent->jid
                       : agent->email                             ? agent->email
                                                                  : agent->id;
    /* What intake would not take as an answer, said plainly before anything is written. */
    if (strcmp(t.status, "closed") == 0)
        rc = tg_err_set(err, TG_EINVAL,
                        TG_SAID(lang,
                                "%s is closed: it takes no more answers; nothing was sent "
                                "(reopen %s first to answer)",
                                "обращение %s закрыто: ответы на него больше не принимаются; "
                                "ничего не отправлено (чтобы ответить, сначала reopen %s)"),
                        t.ref, t.ref);
    else if (g_ascii_strcasecmp(t.requester, from) == 0)
        rc = tg_err_set(err, TG_EINVAL,
                        TG_SAID(lang, "%s is your own request; nothing was sent",
                                "обращение %s — ваше собственное; ничего не отправлено"),
                        t.ref);
    if (rc != TG_OK) {
        tg_ticket_clear(&t);
        return rc;
    }
    tg_inbound *in = tg_inbound_new(channel);
    tg_inbound_take(&in->sender, g_strdup(from));
    tg_inbound_take(&in->subject, g_strdup(t.subject));
    in->subject_tag = g_strdup(t.ref); /* names the ticket, as a tag in a mail subject does */
    tg_inbound_take(&in->text, g_utf8_make_valid(text, -1));
    tg_inbound_take(&in->lang, g_strdup(t.lang));
    in->recipients = g_new0(char *, 1);
    in->auth_user = g_strdup(agent->id);
    in->message_id = msg_id ? g_strdup(msg_id) : g_uuid_string_random();
    in->message_id_synthetic = !msg_id;
    rc = tg_intake_answer(cfg, st, in, now, dec, err);
    tg_inbound_free(in);
    tg_ticket_clear(&t);
    return rc;
}

/* What open_tickets keeps: every ticket, or those of the groups of agent `serving`. */
typedef struct collect {
    GPtrArray *out;
    const tg_config *cfg;
    const tg_agent *serving;
} collect;

static int keep(const tg_ticket *t, void *ud)
{
    collect *c = ud;
    if (!c->serving || tg_config_agent_serves(c->cfg, c->serving, t))
        g_ptr_array_add(c->out, tg_ticket_dup(t));
    return 0;
}

/* next_due - the deadline the agent must meet next: first response, then resolution. */
static int64_t next_due(const tg_ticket *t)
{
    return t->first_response_at <= 0 && t->first_response_due > 0 ? t->first_response_due
                                                                  : t->resolution_due;
}

static gint by_urgency(gconstpointer a, gconstpointer b, gpointer now_p)
{
    const tg_ticket *x = *(tg_ticket *const *)a, *y = *(tg_ticket *const *)b;
    int64_t now = *(int64_t *)now_p, dx = next_due(x), dy = next_due(y);
    int ox = dx > 0 && dx<now, oy = dy> 0 && dy < now;
    if (ox != oy)
        return oy - ox;
    if (dx != dy)
        return dx <= 0 ? 1 : dy <= 0 ? -1 : (dx < dy ? -1 : 1);
    return x->id < y->id ? -1 : 1;
}

/* open_tickets - the unresolved tickets of the n assignees (NULL: nobody's) that c keeps, most
 * urgent first. */
static GPtrArray *open_tickets(tg_store *st, const char *const *assignees, guint n, collect *c,
                               int64_t now, tg_err *err)
{
    c->out = g_ptr_array_new_with_free_func((GDestroyNotify)tg_ticket_free);
    for (guint i = 0; i < n; i++) {
        if (tg_store_list_open_tickets(st, assignees[i], keep, c, err) != TG_OK) {
            g_ptr_array_unref(c->out);
            return NULL;
        }
    }
    g_ptr_array_sort_with_data(c->out, by_urgency, &now);
    return c->out;
}

GPtrArray *tg_agent_open_tickets(tg_store *st, const tg_agent *agent, int64_t now, tg_err *err)
{
    collect c = {0};
    const char *mine[] = {agent->id};
    return open_tickets(st, mine, 1, &c, now, err);
}

/* What the store's count of open tickets per agent tells of the agents who left: their ids (into
 * ids), or a line each for the administrator (into said); either may be NULL. */
typedef struct left_agents {
    const tg_config *cfg;
    GPtrArray *ids, *said;
} left_agents;

static int note_left(const char *assignee, int64_t tickets, void *ud)
{
    left_agents *l = ud;
    const char *why = tg_agent_left(l->cfg, assignee, NULL);
    if (why && l->ids)
        g_ptr_array_add(l->ids, g_strdup(assignee));
    if (why && l->said)
        g_ptr_array_add(l->said,
                        g_strdup_printf("%lld open %s of %s, who is %s: ticketgatectl assign "
                                        "--from %s AGENT (or -) gives them to others",
                                        (long long)tickets, tickets == 1 ? "ticket" : "tickets",
                                        assignee, why, assignee));
    return 0;
}

GPtrArray *tg_agent_unassigned_tickets(const tg_config *cfg, tg_store *st, const tg_agent *agent,
                                       int64_t now, tg_err *err)
{
    collect c = {.cfg = cfg, .serving = agent};
    left_agents left = {cfg, g_ptr_array_new_with_free_func(g_free), NULL};
    g_ptr_array_add(left.ids, NULL); /* nobody's tickets, then those of each agent who left */
    GPtrArray *tickets = NULL;
    if (tg_store_count_open_by_assignee(st, note_left, &left, err) == TG_OK)
        tickets =
            open_tickets(st, (const char *const *)left.ids->pdata, left.ids->len, &c, now, err);
    g_ptr_array_unref(left.ids);
    return tickets;
}

int tg_agents_left_behind(const tg_config *cfg, tg_store *st, GPtrArray *said, tg_err *err)
{
    left_agents left = {cfg, NULL, said};
    return tg_store_count_open_by_assignee(st, note_left, &left, err);
}

void tg_agents_left_behind_log(const tg_config *cfg, tg_store *st)
{
    tg_err err = {0};
    GPtrArray *said = g_ptr_array_new_with_free_func(g_free);
    if (tg_agents_left_behind(cfg, st, said, &err) != TG_OK)
        tg_warn("could not count the open tickets of each agent: %s", err.msg);
    for (guint i = 0; i < said->len; i++)
        tg_warn("%s", (const char *)said->pdata[i]);
    g_ptr_array_unref(said);
}
