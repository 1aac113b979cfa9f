/* tg_escalate.c - escalation of tickets whose first answer is overdue (see tg_escalate.h). */
#include <string.h>

#include "tg_escalate.h"
#include "tg_intake.h"
#include "tg_template.h"

static int collect(const tg_ticket *t, void *ud)
{
    g_ptr_array_add(ud, tg_ticket_dup(t));
    return 0;
}

static int can_be_told(const tg_config *cfg, const tg_ticket *t, const tg_agent *a)
{
    return tg_intake_agent_reachable(cfg, t, a, 1) != NULL;
}

/* whom_to_tell - the agent who has t, if they can be told (by chat, else by mail); else the
 * active agents of the group t was routed to (a rule's, else the queue's: tickets older than
 * schema 5 have none stored), or all active agents when there is none. */
static GPtrArray *whom_to_tell(const tg_config *cfg, const tg_ticket *t)
{
    GPtrArray *agents = g_ptr_array_new();
    const tg_agent *assignee = t->assignee ? tg_config_agent(cfg, t->assignee) : NULL;
    if (can_be_told(cfg, t, assignee)) {
        g_ptr_array_add(agents, (gpointer)assignee);
        return agents;
    }
    const tg_queue *q = tg_config_queue(cfg, t->queue);
    const char *group = t->agent_group ? t->agent_group : q ? q->group : NULL;
    for (guint i = 0; i < cfg->agents->len; i++) {
        const tg_agent *a = cfg->agents->pdata[i];
        if (can_be_told(cfg, t, a) &&
            (!group || (a->groups && g_strv_contains((const char *const *)a->groups, group))))
            g_ptr_array_add(agents, (gpointer)a);
    }
    return agents;
}

/* escalate - tell whom_to_tell about t and record it; *line says what was done. */
static int escalate(const tg_config *cfg, tg_store *st, const tg_ticket *t, GTimeZone *zone,
                    int64_t now, char **line, tg_err *err)
{
    GPtrArray *agents = whom_to_tell(cfg, t);
    GString *told = g_string_new(NULL);
    int rc = TG_OK;
    for (guint i = 0; i < agents->len && rc == TG_OK; i++) {
        const tg_agent *a = agents->pdata[i];
        const char *told_by = NULL;
        rc = tg_intake_notify_agent(cfg, st, t, a, "escalation", NULL, 1, now, &told_by, err);
        g_string_append_printf(told, "%s%s (%s)", i ? ", " : "", a->id, told_by);
    }
    char *due = tg_format_due(t->first_response_due, zone, "en");
    char *detail =
        g_strdup_printf("first answer was due %s; %s%s", due,
                        agents->len ? "told " : "no agent to tell by chat or mail", told->str);
    if (rc == TG_OK)
        rc = tg_store_add_event(st, t->id, now, "escalated", detail, err);
    if (rc == TG_OK)
        *line = g_strdup_printf("%s: %s", t->ref, detail);
    g_free(detail);
    g_free(due);
    g_string_free(told, TRUE);
    g_ptr_array_unref(agents);
    return rc;
}

int tg_escalate_overdue(const tg_config *cfg, tg_store *st, int64_t now, GPtrArray **done,
                        tg_err *err)
{
    GPtrArray *overdue = g_ptr_array_new_with_free_func((GDestroyNotify)tg_ticket_free);
    GPtrArray *lines = g_ptr_array_new_with_free_func(g_free);
    GTimeZone *zone = g_time_zone_new_identifier(cfg->timezone);
    if (!zone)
        zone = g_time_zone_new_utc();
    int rc = tg_store_begin(st, err);
    if (rc == TG_OK)
        rc = tg_store_list_unescalated(st, now - TG_ESCALATE_LOOKBACK, now, TG_ESCALATE_BATCH,
                                       collect, overdue, err);
    for (guint i = 0; i < overdue->len && rc == TG_OK; i++) {
        char *line = NULL;
        rc = escalate(cfg, st, overdue->pdata[i], zone, now, &line, err);
        if (line)
            g_ptr_array_add(lines, line);
    }
    if (rc == TG_OK)
        rc = tg_store_commit(st, err);
    else
        tg_store_rollback(st);
    g_time_zone_unref(zone);
    g_ptr_array_unref(overdue);
    if (rc != TG_OK) {
        g_ptr_array_unref(lines);
        lines = NULL;
    }
    *done = lines;
    return rc;
}
