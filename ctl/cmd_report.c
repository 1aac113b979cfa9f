/* cmd_report.c - ticketgatectl report: service levels for supervisors. For the tickets whose
 * first response (with --resolution: resolution) was due in a period: how many were handled in
 * time, late, or are still waiting, per channel (against its goal from [report]) and per queue.
 * Level = in time / (in time + late): tickets still waiting are not decided yet. */
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "json.h"

#define DEFAULT_DAYS 7

typedef struct counts {
    int64_t due, in_time, late, waiting;
} counts;

typedef struct queue_level {
    char *queue;
    counts n;
} queue_level;

typedef struct channel_level {
    const char *channel;
    int64_t goal; /* percent */
    counts n;
    GArray *queues; /* queue_level */
} channel_level;

typedef struct report {
    channel_level channels[2]; /* email, xmpp */
    const char *only_queue;
    tg_sla_target target;
} report;

static void queue_level_clear(void *p)
{
    g_free(((queue_level *)p)->queue);
}

static int add_row(const tg_service_level *row, void *ud)
{
    report *r = ud;
    if (r->only_queue && strcmp(row->queue, r->only_queue) != 0)
        return 0;
    for (size_t i = 0; i < G_N_ELEMENTS(r->channels); i++) {
        channel_level *c = &r->channels[i];
        if (strcmp(row->channel, c->channel) != 0)
            continue;
        queue_level q = {g_strdup(row->queue), {row->due, row->in_time, row->late, row->waiting}};
        g_array_append_val(c->queues, q);
        c->n.due += row->due;
        c->n.in_time += row->in_time;
        c->n.late += row->late;
        c->n.waiting += row->waiting;
    }
    return 0;
}

/* level - percent handled in time of the decided tickets; -1 when none is decided yet. */
static double level(const counts *n)
{
    int64_t decided = n->in_time + n->late;
    return decided ? 100.0 * (double)n->in_time / (double)decided : -1;
}

/* goal_met - 1 when the level reaches goal percent, 0 when not, -1 when no ticket is decided
 * yet. In integers, so that a level shown rounded to the goal is not misjudged. */
static int goal_met(const counts *n, int64_t goal)
{
    int64_t decided = n->in_time + n->late;
    return decided ? n->in_time * 100 >= goal * decided : -1;
}

/* parse_when - "YYYY-MM-DD" (midnight) or "YYYY-MM-DD HH:MM" (or with a T) in zone. */
static int parse_when(const char *text, GTimeZone *zone, int64_t *out)
{
    int y, mo, d, h = 0, mi = 0, end = 0;
    char sep = ' ';
    int date_only = sscanf(text, "%4d-%2d-%2d%n", &y, &mo, &d, &end) == 3 && !text[end];
    if (!date_only &&
        !(sscanf(text, "%4d-%2d-%2d%c%2d:%2d%n", &y, &mo, &d, &sep, &h, &mi, &end) == 6 &&
          !text[end] && (sep == ' ' || sep == 'T')))
        return 0;
    GDateTime *dt = g_date_time_new(zone, y, mo, d, h, mi, 0); /* NULL when out of range */
    if (!dt)
        return 0;
    *out = g_date_time_to_unix(dt);
    g_date_time_unref(dt);
    return 1;
}

/* parse_period - [from, to) from the options: an error message, or NULL. */
static const char *parse_period(const char *from_s, const char *to_s, GTimeZone *zone, int64_t now,
                                int64_t *from, int64_t *to)
{
    *to = now;
    if (to_s && !parse_when(to_s, zone, to))
        return "--to: expected YYYY-MM-DD or YYYY-MM-DD HH:MM";
    *from = *to - DEFAULT_DAYS * 86400;
    if (from_s && !parse_when(from_s, zone, from))
        return "--from: expected YYYY-MM-DD or YYYY-MM-DD HH:MM";
    return *from < *to ? NULL : "--from must be before --to";
}

static char *format_when(int64_t t, GTimeZone *zone)
{
    GDateTime *dt = g_date_time_new_from_unix_utc(t);
    GDateTime *local = g_date_time_to_timezone(dt, zone);
    char *s = g_date_time_format(local, "%Y-%m-%d %H:%M");
    g_date_time_unref(local);
    g_date_time_unref(dt);
    return s;
}

static void counts_json(GString *out, int *first, const counts *n)
{
    char num[32];
    json_kv_int(out, first, "due", n->due);
    json_kv_int(out, first, "in_time", n->in_time);
    json_kv_int(out, first, "late", n->late);
    json_kv_int(out, first, "waiting", n->waiting);
    double l = level(n);
    json_key(out, first, "level");
    g_string_append(out, l >= 0 ? g_ascii_formatd(num, sizeof num, "%.1f", l) : "null");
}

static void report_json(GString *out, const report *r, int64_t from, int64_t to, const char *tz)
{
    int first = 1;
    g_string_append_c(out, '{');
    json_kv_time(out, &first, "from", from);
    json_kv_time(out, &first, "to", to);
    json_kv_str(out, &first, "timezone", tz);
    json_kv_str(out, &first, "target",
                r->target == TG_TARGET_RESOLUTION ? "resolution" : "first_response");
    json_key(out, &first, "channels");
    g_string_append_c(out, '[');
    for (size_t i = 0; i < G_N_ELEMENTS(r->channels); i++) {
        const channel_level *c = &r->channels[i];
        int cf = 1;
        g_string_append(out, i ? ",{" : "{");
        json_kv_str(out, &cf, "channel", c->channel);
        json_kv_int(out, &cf, "goal", c->goal);
        counts_json(out, &cf, &c->n);
        int met = goal_met(&c->n, c->goal);
        json_key(out, &cf, "met");
        g_string_append(out, met < 0 ? "null" : met ? "true" : "false");
        json_key(out, &cf, "queues");
        g_string_append_c(out, '[');
        for (guint k = 0; k < c->queues->len; k++) {
            const queue_level *q = &g_array_index(c->queues, queue_level, k);
            int qf = 1;
            g_string_append(out, k ? ",{" : "{");
            json_kv_str(out, &qf, "queue", q->queue);
            counts_json(out, &qf, &q->n);
            g_string_append_c(out, '}');
        }
        g_string_append(out, "]}");
    }
    g_string_append(out, "]}\n");
}

/* row_text - the counts of one row, without the line's end: a channel's row adds its goal. */
static void row_text(GString *out, const char *channel, const char *queue, const counts *n)
{
    double l = level(n);
    char pct[16] = "-";
    if (l >= 0)
        g_snprintf(pct, sizeof pct, "%.1f%%", l);
    g_string_append_printf(out, "%-8s %-12s %7lld %8lld %6lld %8lld %7s", channel, queue,
                           (long long)n->due, (long long)n->in_time, (long long)n->late,
                           (long long)n->waiting, pct);
}

static void report_text(GString *out, const report *r, int64_t from, int64_t to, GTimeZone *zone,
                        const char *tz)
{
    char *a = format_when(from, zone), *b = format_when(to, zone);
    g_string_append_printf(out, "%s due %s .. %s (%s)\n",
                           r->target == TG_TARGET_RESOLUTION ? "Resolutions" : "First responses", a,
                           b, tz);
    g_free(a);
    g_free(b);
    g_string_append_printf(out, "%-8s %-12s %7s %8s %6s %8s %7s %5s\n", "CHANNEL", "QUEUE", "DUE",
                           "IN TIME", "LATE", "WAITING", "LEVEL", "GOAL");
    for (size_t i = 0; i < G_N_ELEMENTS(r->channels); i++) {
        const channel_level *c = &r->channels[i];
        int met = goal_met(&c->n, c->goal);
        row_text(out, c->channel, r->only_queue ? r->only_queue : "all", &c->n);
        g_string_append_printf(out, " %4lld%%  %s\n", (long long)c->goal,
                               met < 0 ? "-"
                               : met   ? "met"
                                       : "MISSED");
        for (guint k = 0; !r->only_queue && c->queues->len > 1 && k < c->queues->len; k++) {
            const queue_level *q = &g_array_index(c->queues, queue_level, k);
            row_text(out, "", q->queue, &q->n);
            g_string_append_c(out, '\n');
        }
    }
}

int cmd_report(tg_config *cfg, int argc, char **argv)
{
    char *from_s = NULL, *to_s = NULL, *queue = NULL;
    int as_json = 0, resolution = 0;
    GOptionEntry entries[] = {
        {"from", 0, 0, G_OPTION_ARG_STRING, &from_s,
         "start of the period: YYYY-MM-DD [HH:MM] [7 days before --to]", "DATE"},
        {"to", 0, 0, G_OPTION_ARG_STRING, &to_s, "end of the period (not included) [now]", "DATE"},
        {"queue", 0, 0, G_OPTION_ARG_STRING, &queue, "only this queue", "Q"},
        {"resolution", 0, 0, G_OPTION_ARG_NONE, &resolution,
         "resolutions instead of first responses", NULL},
        {"json", 0, 0, G_OPTION_ARG_NONE, &as_json, "one JSON object", NULL},
        {NULL, 0, 0, 0, NULL, NULL, NULL}};
    int status = EX_OK;

    if (!ctl_parse_options("report", "", entries, &argc, &argv))
        return EX_USAGE;
    GTimeZone *zone = g_time_zone_new_identifier(cfg->timezone);
    int64_t now = g_get_real_time() / G_USEC_PER_SEC, from, to;
    const char *bad =
        argc > 1 ? "unexpected argument" : parse_period(from_s, to_s, zone, now, &from, &to);
    if (!bad && queue && !tg_config_queue(cfg, queue))
        bad = "--queue: no such queue in the configuration";
    if (bad)
        status = ctl_usage_error("report", bad);

    tg_store *st = status == EX_OK ? ctl_open_view(cfg, &status) : NULL;
    if (st) {
        report r = {{{"email", cfg->report_goal_email, {0}, NULL},
                     {"xmpp", cfg->report_goal_xmpp, {0}, NULL}},
                    queue,
                    resolution ? TG_TARGET_RESOLUTION : TG_TARGET_FIRST_RESPONSE};
        for (size_t i = 0; i < G_N_ELEMENTS(r.channels); i++) {
            r.channels[i].queues = g_array_new(FALSE, TRUE, sizeof(queue_level));
            g_array_set_clear_func(r.channels[i].queues, queue_level_clear);
        }
        tg_err err = {0};
        int rc = tg_store_service_levels(st, r.target, from, to, now, add_row, &r, &err);
        if (rc != TG_OK) {
            fprintf(stderr, "ticketgatectl report: %s\n", err.msg);
            status = ctl_exit_for(rc);
        } else {
            GString *out = g_string_new(NULL);
            if (as_json)
                report_json(out, &r, from, to, cfg->timezone);
            else
                report_text(out, &r, from, to, zone, cfg->timezone);
            fputs(out->str, stdout);
            g_string_free(out, TRUE);
        }
        for (size_t i = 0; i < G_N_ELEMENTS(r.channels); i++)
            g_array_unref(r.channels[i].queues);
        tg_store_close(st);
    }
    g_time_zone_unref(zone);
    g_free(from_s);
    g_free(to_s);
    g_free(queue);
    return status;
}
