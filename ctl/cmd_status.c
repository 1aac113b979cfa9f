/* cmd_status.c - ticketgatectl status: is ticketgate healthy, for a sysadmin or a monitoring
 * check. The store's size, whether tickets still come in, and per channel the replies still to
 * send and those given up. Exit status 1 when something needs a person: a reply given up in the
 * last 24 hours, one waiting longer than --max-wait (a stopped daemon, a broken sendmail), or
 * open tickets of an agent who is no longer active. */
#include <stdio.h>
#include <sys/stat.h>

#include "ctl.h"
#include "json.h"
#include "tg_actions.h"
#include "tg_sla.h"

#define RECENT (24 * 3600) /* failures older than this were seen to */

static const char *const channels[] = {"email", "xmpp"};

/* file_size - bytes, 0 when there is no such file */
static int64_t file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (int64_t)sb.st_size : 0;
}

/* span - "12 s", "15 min", "3 h 5 min", "2 d 4 h". Caller g_free()s. */
static char *span(int64_t s)
{
    if (s < 60)
        return g_strdup_printf("%lld s", (long long)(s < 0 ? 0 : s));
    if (s < 3600)
        return g_strdup_printf("%lld min", (long long)(s / 60));
    if (s < 86400)
        return g_strdup_printf("%lld h %lld min", (long long)(s / 3600),
                               (long long)(s % 3600 / 60));
    return g_strdup_printf("%lld d %lld h", (long long)(s / 86400), (long long)(s % 86400 / 3600));
}

typedef struct health {
    tg_ticket_health tickets;
    tg_outbox_health replies[G_N_ELEMENTS(channels)];
    GPtrArray *attention; /* what needs a person, one line each */
} health;

/* read_health - everything status shows, and what of it needs attention. */
static int read_health(const tg_config *cfg, tg_store *st, int64_t now, int64_t max_wait, health *h,
                       tg_err *err)
{
    int rc = tg_store_ticket_health(st, now, &h->tickets, err);
    if (rc == TG_OK)
        rc = tg_agents_left_behind(cfg, st, h->attention, err);
    for (size_t i = 0; rc == TG_OK && i < G_N_ELEMENTS(channels); i++) {
        tg_outbox_health *r = &h->replies[i];
        if ((rc = tg_store_outbox_health(st, channels[i], now - RECENT, r, err)) != TG_OK)
            break;
        if (r->failed > 0)
            g_ptr_array_add(h->attention, g_strdup_printf("%lld %s %s given up in the last 24 h",
                                                          (long long)r->failed, channels[i],
                                                          r->failed == 1 ? "reply" : "replies"));
        if (r->waiting > 0 && now - r->oldest_waiting > max_wait) {
            char *waited = span(now - r->oldest_waiting), *limit = span(max_wait);
            g_ptr_array_add(h->attention,
                            g_strdup_printf("the oldest %s reply has waited %s (more than %s)",
                                            channels[i], waited, limit));
            g_free(waited);
            g_free(limit);
        }
    }
    return rc;
}

static void print_text(const char *store_path, int64_t now, const health *h)
{
    char *wal = g_strconcat(store_path, "-wal", NULL);
    printf("store    %s: %.1f MB, log %.1f MB\n", store_path, file_size(store_path) / 1e6,
           file_size(wal) / 1e6);
    g_free(wal);
    char *newest = ctl_time(h->tickets.newest);
    printf("tickets  %lld, %lld not resolved or closed, %lld of them overdue, %lld nobody has; "
           "newest %s\n",
           (long long)h->tickets.tickets, (long long)h->tickets.unfinished,
           (long long)h->tickets.overdue, (long long)h->tickets.unassigned, newest);
    g_free(newest);
    for (size_t i = 0; i < G_N_ELEMENTS(channels); i++) {
        const tg_outbox_health *r = &h->replies[i];
        printf("%-8s %lld replies to send", channels[i], (long long)r->waiting);
        if (r->waiting > 0) {
            char *waited = span(now - r->oldest_waiting);
            printf(", the oldest queued %s ago", waited);
            g_free(waited);
        }
        printf("; %lld given up in the last 24 h", (long long)r->failed);
        if (r->last_error)
            printf(", the last: %s", r->last_error);
        printf("\n");
    }
    if (h->attention->len == 0)
        printf("ok\n");
    for (guint i = 0; i < h->attention->len; i++)
        printf("attention: %s\n", (const char *)g_ptr_array_index(h->attention, i));
}

static void print_json(const char *store_path, const health *h)
{
    GString *out = g_string_new("{");
    int first = 1;
    char *wal = g_strconcat(store_path, "-wal", NULL);
    json_kv_str(out, &first, "store", store_path);
    json_kv_int(out, &first, "size", file_size(store_path));
    json_kv_int(out, &first, "log_size", file_size(wal));
    g_free(wal);
    json_kv_int(out, &first, "tickets", h->tickets.tickets);
    json_kv_int(out, &first, "unfinished", h->tickets.unfinished);
    json_kv_int(out, &first, "overdue", h->tickets.overdue);
    json_kv_int(out, &first, "unassigned", h->tickets.unassigned);
    json_kv_time(out, &first, "newest", h->tickets.newest);
    json_key(out, &first, "replies");
    g_string_append_c(out, '{');
    int first_channel = 1;
    for (size_t i = 0; i < G_N_ELEMENTS(channels); i++) {
        const tg_outbox_health *r = &h->replies[i];
        int f = 1;
        json_key(out, &first_channel, channels[i]);
        g_string_append_c(out, '{');
        json_kv_int(out, &f, "waiting", r->waiting);
        json_kv_time(out, &f, "oldest_waiting", r->oldest_waiting);
        json_kv_int(out, &f, "given_up_24h", r->failed);
        json_kv_str(out, &f, "last_error", r->last_error);
        g_string_append_c(out, '}');
    }
    g_string_append_c(out, '}');
    json_key(out, &first, "attention");
    g_string_append_c(out, '[');
    for (guint i = 0; i < h->attention->len; i++) {
        if (i > 0)
            g_string_append_c(out, ',');
        json_str(out, g_ptr_array_index(h->attention, i));
    }
    g_string_append(out, "]}");
    printf("%s\n", out->str);
    g_string_free(out, TRUE);
}

int cmd_status(tg_config *cfg, int argc, char **argv)
{
    char *max_wait_text = NULL;
    gboolean as_json = FALSE;
    GOptionEntry entries[] = {
        {"max-wait", 0, 0, G_OPTION_ARG_STRING, &max_wait_text,
         "a reply waiting longer needs attention (10m)", "DURATION"},
        {"json", 0, 0, G_OPTION_ARG_NONE, &as_json, "print one JSON object", NULL},
        {NULL}};
    int status = EX_USAGE;
    int64_t max_wait = 600;
    if (!ctl_parse_options("status", "", entries, &argc, &argv))
        goto out;
    if (argc != 1 ||
        (max_wait_text && (tg_parse_duration(max_wait_text, &max_wait) != 0 || max_wait < 1))) {
        status = ctl_usage_error("status", "usage: status [--max-wait DURATION] [--json]");
        goto out;
    }
    tg_store *st = ctl_open_view(cfg, &status);
    if (!st)
        goto out;
    health h = {.attention = g_ptr_array_new_with_free_func(g_free)};
    int64_t now = g_get_real_time() / G_USEC_PER_SEC;
    tg_err err = {0};
    int rc = read_health(cfg, st, now, max_wait, &h, &err);
    if (rc != TG_OK) {
        fprintf(stderr, "ticketgatectl status: %s\n", err.msg);
        status = ctl_exit_for(rc);
    } else {
        if (as_json)
            print_json(cfg->store_path, &h);
        else
            print_text(cfg->store_path, now, &h);
        status = h.attention->len > 0 ? 1 : EX_OK;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(channels); i++)
        g_free(h.replies[i].last_error);
    g_ptr_array_free(h.attention, TRUE);
    tg_store_close(st);
out:
    g_free(max_wait_text);
    return status;
}
