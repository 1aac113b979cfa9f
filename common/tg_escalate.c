/* tg_escalate.c - escalation of tickets that missed an SLA target (see tg_escalate.h). */
#include <string.h>

#include "tg_escalate.h"
#include "tg_notice.h"
#include "tg_template.h"

static int collect(const tg_ticket *t, void *ud)
{
    g_ptr_array_add(ud, tg_ticket_dup(t));
    return 0;
}

static int can_be_told(const tg_config *cfg, const tg_ticket *t, const tg_agent *a)
{
    return tg_notice_reachable(cfg, t, a, 1) != NULL;
}

/* whom_to_tell - the agent who has t, if they can be told (by chat, else by mail); else the
 * active agents of the group t was routed to, or all active agents when there is none. */
static GPtrArray *whom_to_tell(const tg_config *cfg, const tg_ticket *t)
{
    GPtrArray *agents = g_ptr_array_new();
    const tg_agent *assignee = t->assignee ? tg_config_agent(cfg, t->assignee) : NULL;
    if (can_be_told(cfg, t, assignee)) {
        g_ptr_array_add(agents, (gpointer)assignee);
        return agents;
    }
    for (guint i = 0; i < cfg->agents->len; i++) {
        const tg_agent *a = cfg->agents->pdata[i];
        if (can_be_told(cfg, t, a) && tg_config_agent_serves(cfg, a, t))
            g_ptr_array_add(agents, (gpointer)a);
    }
    return agents;
}

/* What is escalated for each target: the event that marks it done and how it reads. */
static const struct escalation {
    tg_sla_target target;
    const char *event, *what;
} escalations[] = {
    {TG_TARGET_FIRST_RESPONSE, "escalated", "first answer"},
    {TG_TARGET_RESOLUTION, "escalated-resolution", "resolution"},
};

/* What one agent is told in this round: one notice about one ticket, or a list of several. */
typedef struct notice {
    const tg_agent *agent;
    GPtrArray *tickets; /* of const tg_ticket *, earliest due first */
    const char *told_by;
} notice;

static void notice_free(notice *n)
{
    g_ptr_array_unref(n->tickets);
    g_free(n);
}

static notice *notice_for(GPtrArray *notices, const tg_agent *a)
{
    for (guint i = 0; i < notices->len; i++) {
        notice *n = notices->pdata[i];
        if (n->agent == a)
            return n;
    }
    notice *n = g_new0(notice, 1);
    n->agent = a;
    n->tickets = g_ptr_array_new();
    g_ptr_array_add(notices, n);
    return n;
}

/* record - t's event, saying how each of its agents was told; *line for the log. */
static int record(tg_store *st, const struct escalation *e, const tg_ticket *t, GPtrArray *agents,
                  GPtrArray *notices, GTimeZone *zone, int64_t now, char **line, tg_err *err)
{
    GString *told = g_string_new(NULL);
    for (guint i = 0; i < agents->len; i++) {
        notice *n = notice_for(notices, agents->pdata[i]);
        g_string_append_printf(told, "%s%s (%s)", i ? ", " : "", n->agent->id, n->told_by);
    }
    char *due = tg_format_due(tg_ticket_due(t, e->target), zone, "en");
    char *detail =
        g_strdup_printf("%s was due %s; %s%s", e->what, due,
                        agents->len ? "told " : "no agent to tell by chat or mail", told->str);
    int rc = tg_store_add_event(st, t->id, now, e->event, detail, err);
    if (rc == TG_OK)
        *line = g_strdup_printf("%s: %s", t->ref, detail);
    g_free(detail);
    g_free(due);
    g_string_free(told, TRUE);
    return rc;
}

/* escalate - the tickets that missed e's target: one notice per agent for all of them, then an
 * event per ticket. *full: the batch was full (more may be waiting). */
static int escalate(const tg_config *cfg, tg_store *st, const struct escalation *e, GTimeZone *zone,
                    int64_t now, GPtrArray *lines, int *full, tg_err *err)
{
    GPtrArray *overdue = g_ptr_array_new_with_free_func((GDestroyNotify)tg_ticket_free);
    int rc = tg_store_list_unescalated(st, e->target, now - TG_ESCALATE_LOOKBACK, now,
                                       TG_ESCALATE_BATCH, collect, overdue, err);
    *full = overdue->len >= TG_ESCALATE_BATCH;
    GPtrArray *audiences = g_ptr_array_new_with_free_func((GDestroyNotify)g_ptr_array_unref);
    GPtrArray *notices = g_ptr_array_new_with_free_func((GDestroyNotify)notice_free);
    for (guint i = 0; i < overdue->len && rc == TG_OK; i++) {
        GPtrArray *agents = whom_to_tell(cfg, overdue->pdata[i]);
        for (guint j = 0; j < agents->len; j++)
            g_ptr_array_add(notice_for(notices, agents->pdata[j])->tickets, overdue->pdata[i]);
        g_ptr_array_add(audiences, agents);
    }
    for (guint i = 0; i < notices->len && rc == TG_OK; i++) {
        notice *n = notices->pdata[i];
        rc = tg_notice_overdue(cfg, st, n->agent, e->target,
                               (const tg_ticket *const *)n->tickets->pdata, n->tickets->len, now,
                               &n->told_by, err);
    }
    for (guint i = 0; i < overdue->len && rc == TG_OK; i++) {
        char *line = NULL;
        rc = record(st, e, overdue->pdata[i], audiences->pdata[i], notices, zone, now, &line, err);
        if (line)
            g_ptr_array_add(lines, line);
    }
    g_ptr_array_unref(notices);
    g_ptr_array_unref(audiences);
    g_ptr_array_unref(overdue);
    return rc;
}

int tg_escalate_overdue(const tg_config *cfg, tg_store *st, int64_t now, GPtrArray **done,
                        int *more, tg_err *err)
{
    GPtrArray *lines = g_ptr_array_new_with_free_func(g_free);
    GTimeZone *zone = g_time_zone_new_identifier(cfg->timezone);
    if (!zone)
        zone = g_time_zone_new_utc();
    int any_full = 0;
    int rc = tg_store_begin(st, err);
    for (size_t i = 0; i < G_N_ELEMENTS(escalations) && rc == TG_OK; i++) {
        int full = 0;
        rc = escalate(cfg, st, &escalations[i], zone, now, lines, &full, err);
        any_full |= full;
    }
    if (rc == TG_OK)
        rc = tg_store_commit(st, err);
    else
        tg_store_rollback(st);
    g_time_zone_unref(zone);
    if (rc != TG_OK) {
        g_ptr_array_unref(lines);
        lines = NULL;
    }
    if (more)
        *more = rc == TG_OK && any_full;
    *done = lines;
    return rc;
}
