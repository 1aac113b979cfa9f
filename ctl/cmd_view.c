/* cmd_view.c - ticketgatectl list and show: tickets as people and scripts read them. */
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "json.h"
#include "tg_actions.h"

static void ticket_json(GString *out, const tg_ticket *t)
{
    int first = 1;
    g_string_append_c(out, '{');
    json_kv_str(out, &first, "ref", t->ref);
    json_kv_int(out, &first, "id", t->id);
    json_kv_str(out, &first, "channel", t->channel);
    json_kv_str(out, &first, "source", t->source);
    json_kv_str(out, &first, "queue", t->queue);
    json_kv_str(out, &first, "category", t->category);
    json_kv_str(out, &first, "priority", t->priority);
    json_kv_str(out, &first, "rule", t->rule);
    json_kv_str(out, &first, "status", t->status);
    json_kv_str(out, &first, "requester", t->requester);
    json_kv_str(out, &first, "requester_name", t->requester_name);
    json_kv_str(out, &first, "lang", t->lang);
    json_kv_str(out, &first, "subject", t->subject);
    json_kv_str(out, &first, "assignee", t->assignee);
    json_kv_str(out, &first, "group", t->agent_group);
    json_kv_str(out, &first, "sla_policy", t->sla_policy);
    json_kv_str(out, &first, "tags", t->tags);
    json_kv_time(out, &first, "created_at", t->created_at);
    json_kv_time(out, &first, "first_response_due", t->first_response_due);
    json_kv_time(out, &first, "resolution_due", t->resolution_due);
    json_kv_time(out, &first, "first_response_at", t->first_response_at);
    json_kv_time(out, &first, "resolved_at", t->resolved_at);
    g_string_append_c(out, '}');
}

/* The text listing's columns are as wide as their widest value, so that long refs (SUP-1000000),
 * queue or agent names do not shift the rest; the subject, last, is not padded. Rows are kept
 * with their fields between FIELD_END bytes, and padded once all are read. */
#define LIST_COLUMNS 7
#define FIELD_END    "\x1f"

typedef struct list_state {
    int as_json, n;
    GString *out;
    glong width[LIST_COLUMNS - 1]; /* in characters: names may be Cyrillic */
} list_state;

/* add_row - fields (LIST_COLUMNS of them) as a row of the text listing; a row is one line, and
 * FIELD_END only ends fields, whatever a subject holds. */
static void add_row(list_state *ls, const char *const *fields)
{
    for (int i = 0; i < LIST_COLUMNS; i++) {
        for (const char *c = fields[i]; *c;) {
            size_t n = strcspn(c, "\r\n" FIELD_END);
            g_string_append_len(ls->out, c, (gssize)n);
            if (!c[n])
                break;
            g_string_append_c(ls->out, ' ');
            c += n + 1;
        }
        if (i < LIST_COLUMNS - 1) {
            ls->width[i] = MAX(ls->width[i], g_utf8_strlen(fields[i], -1));
            g_string_append(ls->out, FIELD_END);
        }
    }
    g_string_append_c(ls->out, '\n');
}

/* print_aligned - the rows add_row kept, to out, each field padded to its column's width. */
static void print_aligned(const list_state *ls, FILE *out)
{
    int col = 0;
    for (const char *field = ls->out->str; *field;) {
        size_t n = strcspn(field, "\n" FIELD_END);
        fwrite(field, 1, n, out);
        if (field[n] == '\n') { /* after the subject */
            putc('\n', out);
            col = 0;
        } else {
            glong pad = ls->width[col++] - g_utf8_strlen(field, (gssize)n) + 1;
            for (glong i = 0; i < pad; i++)
                putc(' ', out);
        }
        field += n + 1;
    }
}

static int list_one(const tg_ticket *t, void *ud)
{
    list_state *ls = ud;
    if (ls->as_json) {
        g_string_append(ls->out, ls->n ? ",\n" : "\n");
        ticket_json(ls->out, t);
    } else {
        char *due = ctl_time(t->first_response_at ? t->resolution_due : t->first_response_due);
        const char *row[LIST_COLUMNS] = {
            t->ref, t->status, t->priority, t->queue, t->assignee ? t->assignee : "-",
            due,    t->subject};
        add_row(ls, row);
        g_free(due);
    }
    ls->n++;
    return 0;
}

/* statuses_wanted - --status "new,pending" as a list, or NULL after saying what is wrong in *bad
 * (a status no ticket has). */
static char **statuses_wanted(const char *arg, char **bad)
{
    static const char *const known[] = {"new", "open", "pending", "resolved", "closed", NULL};
    char **wanted = g_strsplit(arg, ",", -1);
    if (!*wanted) { /* --status "" */
        *bad = g_strdup("--status names no status (new, open, pending, resolved, closed)");
        g_strfreev(wanted);
        return NULL;
    }
    for (char **w = wanted; *w; w++) {
        g_strstrip(*w);
        if (!g_strv_contains(known, *w)) {
            *bad = g_strdup_printf("unknown status \"%s\" (new, open, pending, resolved, closed; "
                                   "several with commas)",
                                   *w);
            g_strfreev(wanted);
            return NULL;
        }
    }
    return wanted;
}

int cmd_list(tg_config *cfg, int argc, char **argv)
{
    char *status_f = NULL, *queue = NULL, *assignee = NULL;
    int overdue = 0, as_json = 0, limit = 0;
    GOptionEntry entries[] = {
        {"status", 0, 0, G_OPTION_ARG_STRING, &status_f,
         "only tickets in this status (several: new,open,pending)", "S"},
        {"queue", 0, 0, G_OPTION_ARG_STRING, &queue, "only this queue", "Q"},
        {"assignee", 0, 0, G_OPTION_ARG_STRING, &assignee,
         "only this agent's tickets (-: those nobody has)", "A"},
        {"overdue", 0, 0, G_OPTION_ARG_NONE, &overdue, "only tickets past a due time", NULL},
        {"limit", 0, 0, G_OPTION_ARG_INT, &limit, "only the newest N tickets", "N"},
        {"json", 0, 0, G_OPTION_ARG_NONE, &as_json, "JSON array", NULL},
        {NULL, 0, 0, 0, NULL, NULL, NULL}};
    int status = EX_OK;

    if (!ctl_parse_options("list", "", entries, &argc, &argv))
        return EX_USAGE;
    char *bad = NULL, **statuses = status_f ? statuses_wanted(status_f, &bad) : NULL;
    g_free(status_f);
    if (argc > 1 || bad || limit < 0) {
        status = ctl_usage_error("list", bad         ? bad
                                         : limit < 0 ? "--limit must not be negative"
                                                     : "unexpected argument");
        g_free(bad);
        g_free(queue);
        g_free(assignee);
        return status;
    }
    tg_store *st = ctl_open_view(cfg, &status);
    if (st) {
        int nobody = g_strcmp0(assignee, "-") == 0; /* as in `assign REF -` */
        tg_ticket_filter f = {.statuses = (const char *const *)statuses,
                              .queue = queue,
                              .assignee = nobody ? NULL : assignee,
                              .unassigned = nobody,
                              .overdue = overdue,
                              .now = g_get_real_time() / G_USEC_PER_SEC,
                              .limit = limit};
        list_state ls = {as_json, 0, g_string_new(as_json ? "[" : ""), {0}};
        static const char *const heading[LIST_COLUMNS] = {"REF",      "STATUS", "PRIO",   "QUEUE",
                                                          "ASSIGNEE", "DUE",    "SUBJECT"};
        if (!as_json)
            add_row(&ls, heading);
        tg_err err = {0};
        int rc = tg_store_list_tickets(st, &f, list_one, &ls, &err);
        if (rc != TG_OK) {
            fprintf(stderr, "ticketgatectl list: %s\n", err.msg);
            status = ctl_exit_for(rc);
        } else {
            if (as_json) {
                g_string_append(ls.out, "\n]\n");
                fputs(ls.out->str, stdout);
            } else {
                print_aligned(&ls, stdout);
            }
        }
        g_string_free(ls.out, TRUE);
        tg_store_close(st);
    }
    g_strfreev(statuses);
    g_free(queue);
    g_free(assignee);
    return status;
}

/* ---- show ---- */

typedef struct show_state {
    int as_json, n;
    GString *out;
} show_state;

static void separator(show_state *ss)
{
    if (ss->as_json && ss->n++)
        g_string_append_c(ss->out, ',');
}

static int show_message(const tg_message *m, void *ud)
{
    show_state *ss = ud;
    char **attachments = g_strsplit(m->attachments ? m->attachments : "", "\n", -1);
    separator(ss);
    if (ss->as_json) {
        int first = 1;
        g_string_append_c(ss->out, '{');
        json_kv_str(ss->out, &first, "direction", m->direction);
        json_kv_str(ss->out, &first, "channel", m->channel);
        json_kv_str(ss->out, &first, "message_id", m->msg_id);
        json_kv_str(ss->out, &first, "sender", m->sender);
        json_kv_str(ss->out, &first, "subject", m->subject);
        json_kv_str(ss->out, &first, "body", m->body);
        json_kv_int(ss->out, &first, "truncated", m->truncated);
        json_kv_time(ss->out, &first, "at", m->created_at);
        json_kv_strv(ss->out, &first, "attachments", attachments);
        g_string_append_c(ss->out, '}');
    } else {
        char *at = ctl_time(m->created_at);
        g_string_append_printf(ss->out, "\n--- %s %s from %s (%s)%s\n%s\n", at, m->direction,
                               m->sender ? m->sender : "-", m->channel,
                               m->truncated ? " [text cut]" : "", m->body ? m->body : "");
        for (char **a = attachments; *a; a++)
            g_string_append_printf(ss->out, "[attached: %s]\n", *a);
        g_free(at);
    }
    g_strfreev(attachments);
    return 0;
}

static int show_event(const tg_event *e, void *ud)
{
    show_state *ss = ud;
    separator(ss);
    if (ss->as_json) {
        int first = 1;
        g_string_append_c(ss->out, '{');
        json_kv_time(ss->out, &first, "at", e->at);
        json_kv_str(ss->out, &first, "kind", e->kind);
        json_kv_str(ss->out, &first, "detail", e->detail);
        g_string_append_c(ss->out, '}');
    } else {
        char *at = ctl_time(e->at);
        g_string_append_printf(ss->out, "  %s  %-16s %s\n", at, e->kind,
                               e->detail ? e->detail : "");
        g_free(at);
    }
    return 0;
}

static int show_outbox(const tg_outbox *o, void *ud)
{
    show_state *ss = ud;
    separator(ss);
    if (ss->as_json) {
        int first = 1;
        g_string_append_c(ss->out, '{');
        json_kv_str(ss->out, &first, "kind", o->kind);
        json_kv_str(ss->out, &first, "channel", o->channel);
        json_kv_str(ss->out, &first, "recipient", o->recipient);
        json_kv_str(ss->out, &first, "subject", o->subject);
        json_kv_str(ss->out, &first, "body", o->body);
        json_kv_str(ss->out, &first, "message_id", o->msg_id);
        json_kv_str(ss->out, &first, "status", o->status);
        json_kv_int(ss->out, &first, "attempts", o->attempts);
        json_kv_str(ss->out, &first, "last_error", o->last_error);
        g_string_append_c(ss->out, '}');
    } else {
        g_string_append_printf(ss->out, "  %-9s %-5s to %s: %s [%s%s%s]\n", o->kind, o->channel,
                               o->recipient, o->subject && *o->subject ? o->subject : "(chat)",
                               o->status, o->last_error ? ": " : "",
                               o->last_error ? o->last_error : "");
    }
    return 0;
}

int cmd_show(tg_config *cfg, int argc, char **argv)
{
    int as_json = 0, status = EX_OK;
    GOptionEntry entries[] = {{"json", 0, 0, G_OPTION_ARG_NONE, &as_json, "JSON object", NULL},
                              {NULL, 0, 0, 0, NULL, NULL, NULL}};

    if (!ctl_parse_options("show", "REF", entries, &argc, &argv))
        return EX_USAGE;
    if (argc != 2)
        return ctl_usage_error("show", "usage: show [--json] REF");
    tg_store *st = ctl_open_view(cfg, &status);
    if (!st)
        return status;

    tg_ticket t = {0};
    tg_err err = {0};
    char *ref = tg_ref_typed(argv[1]);
    int rc = tg_store_ticket_by_ref(st, ref, &t, &err);
    if (rc == 0) {
        fprintf(stderr, "ticketgatectl show: no ticket %s\n", ref);
        status = EX_NOINPUT;
    } else if (rc < 0) {
        fprintf(stderr, "ticketgatectl show: %s\n", err.msg);
        status = ctl_exit_for(rc);
    } else {
        show_state ss = {as_json, 0, g_string_new(NULL)};
        if (as_json) {
            ticket_json(ss.out, &t);
            g_string_truncate(ss.out, ss.out->len - 1); /* reopen the object */
            g_string_append(ss.out, ",\"messages\":[");
        } else {
            char *created = ctl_time(t.created_at), *fr_due = ctl_time(t.first_response_due),
                 *res_due = ctl_time(t.resolution_due), *fr_at = ctl_time(t.first_response_at);
            g_string_append_printf(
                ss.out,
                "%s  %s\nstatus %s, priority %s, category %s, queue %s, "
                "channel %s (%s)\nrequester %s%s%s%s, language %s\n"
                "assignee %s (group %s), rule %s, SLA %s\ncreated %s; first response "
                "due %s (done %s); resolution due %s\n",
                t.ref, t.subject, t.status, t.priority, t.category, t.queue, t.channel, t.source,
                t.requester, t.requester_name ? " (" : "", t.requester_name ? t.requester_name : "",
                t.requester_name ? ")" : "", t.lang, t.assignee ? t.assignee : "-",
                t.agent_group ? t.agent_group : "-", t.rule, t.sla_policy, created, fr_due, fr_at,
                res_due);
            g_free(created);
            g_free(fr_due);
            g_free(res_due);
            g_free(fr_at);
        }
        rc = tg_store_list_messages(st, t.id, show_message, &ss, &err);
        g_string_append(ss.out, as_json ? "],\"events\":[" : "\nevents:\n");
        ss.n = 0;
        if (rc == TG_OK)
            rc = tg_store_list_events(st, t.id, show_event, &ss, &err);
        g_string_append(ss.out, as_json ? "],\"outbox\":[" : "\nreplies:\n");
        ss.n = 0;
        if (rc == TG_OK)
            rc = tg_store_list_outbox(st, t.id, show_outbox, &ss, &err);
        if (as_json)
            g_string_append(ss.out, "]}\n");
        if (rc != TG_OK) {
            fprintf(stderr, "ticketgatectl show: %s\n", err.msg);
            status = ctl_exit_for(rc);
        } else {
            fputs(ss.out->str, stdout);
        }
        g_string_free(ss.out, TRUE);
    }
    tg_ticket_clear(&t);
    g_free(ref);
    tg_store_close(st);
    return status;
}

/* cmd_directives - every configuration directive with its type, default and bounds. */
int cmd_directives(tg_config *cfg, int argc, char **argv)
{
    for (size_t i = 0; i < tg_config_directive_count(); i++) {
        tg_directive_info d;
        tg_config_directive_info(i, &d);
        const char *named =
            strcmp(d.section, "queue") == 0 || strcmp(d.section, "agent") == 0 ? " NAME" : "";
        printf("[%s%s] %s = %s  (%s", d.section, named, d.key, d.def ? d.def : "", d.type);
        if (d.choices)
            printf(": %s", d.choices);
        if (d.bounded)
            printf(d.min || d.max ? ", %lld..%lld" : "", (long long)d.min, (long long)d.max);
        printf(")\n");
    }
    return EX_OK;
}
