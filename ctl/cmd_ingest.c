/* cmd_ingest.c - ticketgatectl ingest: the full intake on mail files, for tests and for MTAs
 * that can only pipe. Exit status: 0, EX_DATAERR (bad input), EX_TEMPFAIL (retry later). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "json.h"
#include "tg_intake.h"
#include "tg_mail.h"

typedef struct job {
    tg_config *cfg;
    char **files;
    int n_files;
    const char *rcpt, *sender;
    gint next;    /* atomic: the next file to take */
    char **lines; /* JSON per file */
    char **texts; /* a human line per file */
    int *status;
} job;

void ctl_decision_json(GString *out, const tg_decision *d)
{
    int first = 1;
    g_string_append_c(out, '{');
    json_kv_str(out, &first, "decision", tg_intake_kind_name(d->kind));
    json_kv_str(out, &first, "ref", d->ref);
    json_kv_str(out, &first, "queue", d->queue);
    json_kv_str(out, &first, "category", d->category);
    json_kv_str(out, &first, "priority", d->priority);
    json_kv_str(out, &first, "status", d->status);
    json_kv_str(out, &first, "rule", d->rule);
    json_kv_str(out, &first, "rule_why", d->rule_why);
    json_kv_str(out, &first, "sla_policy", d->sla_policy);
    json_kv_time(out, &first, "first_response_due", d->first_response_due);
    json_kv_time(out, &first, "resolution_due", d->resolution_due);
    json_kv_str(out, &first, "assignee", d->assignee);
    json_kv_str(out, &first, "assignment", d->assign_note);
    json_kv_int(out, &first, "reply_queued", d->reply_queued);
    json_kv_str(out, &first, "no_reply_reason", d->no_reply_reason);
    json_kv_str(out, &first, "reply_subject", d->reply_subject);
    json_kv_str(out, &first, "reply_text", d->reply_text);
    json_kv_str(out, &first, "note", d->note);
    g_string_append(out, ",\"headers\":{");
    int hfirst = 1;
    for (size_t i = 0; i < d->n_headers; i++)
        json_kv_str(out, &hfirst, d->headers[i].name, d->headers[i].value);
    g_string_append(out, "}}");
}

/* read_input - the whole file (or stdin for "-"), refusing more than max bytes. */
static int read_input(const char *path, int64_t max, GByteArray **out, char **error)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        *error = g_strdup_printf("%s: %s", path, g_strerror(errno));
        return TG_EINVAL;
    }
    GByteArray *buf = g_byte_array_new();
    guint8 chunk[65536];
    size_t n;
    int rc = TG_OK;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        g_byte_array_append(buf, chunk, (guint)n);
        if ((int64_t)buf->len > max) {
            *error = g_strdup_printf("%s: larger than max_message_size (%lld bytes)", path,
                                     (long long)max);
            rc = TG_EINVAL;
            break;
        }
    }
    if (rc == TG_OK && ferror(f)) {
        *error = g_strdup_printf("%s: read error", path);
        rc = TG_EINVAL;
    }
    if (f != stdin)
        fclose(f);
    if (rc != TG_OK)
        g_byte_array_unref(buf);
    else
        *out = buf;
    return rc;
}

/* pick_recipient - the queue address: --rcpt, else the first support address in To/Cc. */
static const char *pick_recipient(const job *j, const tg_inbound *in)
{
    if (j->rcpt)
        return j->rcpt;
    for (char **a = in->recipients; a && *a; a++)
        if (tg_config_is_support_address(j->cfg, *a))
            return *a;
    return NULL;
}

/* decision_text - "SUP-12 new queue=support priority=high rule=outage reply=queued". */
static char *decision_text(const char *path, const tg_decision *d)
{
    if (!d->ref) /* not a ticket */
        return g_strdup_printf("%s: %s: %s", path, tg_intake_kind_name(d->kind),
                               d->note ? d->note : "-");
    char *due = ctl_time(d->first_response_due);
    char *s = g_strdup_printf(
        "%s: %s %s queue=%s priority=%s rule=%s due=%s assignee=%s reply=%s%s%s", path, d->ref,
        tg_intake_kind_name(d->kind), d->queue, d->priority, d->rule ? d->rule : "-", due,
        d->assignee ? d->assignee : "-", d->reply_queued ? "queued" : "none",
        d->no_reply_reason ? ": " : "", d->no_reply_reason ? d->no_reply_reason : "");
    g_free(due);
    return s;
}

static int ingest_one(job *j, tg_store *st, const char *path, char **line, char **text)
{
    GByteArray *bytes = NULL;
    tg_inbound *in = NULL;
    tg_decision dec;
    tg_err err = {0};
    char *error = NULL;
    int rc = read_input(path, j->cfg->max_message_size, &bytes, &error);

    if (rc == TG_OK) {
        tg_mail_opts opts = {.envelope_sender = j->sender,
                             .fallback_charsets = (const char *const *)j->cfg->fallback_charsets,
                             .max_text_size = (size_t)j->cfg->max_text_size,
                             .max_headers = (size_t)j->cfg->max_headers};
        rc = tg_mail_parse((const char *)bytes->data, bytes->len, &opts, &in, &err);
        if (rc == TG_OK) {
            const char *rcpt = pick_recipient(j, in);
            in->recipient = tg_address_lower(rcpt);
            rc = tg_intake_process(j->cfg, st, in, g_get_real_time() / G_USEC_PER_SEC, &dec, &err);
        }
        if (rc != TG_OK)
            error = g_strdup_printf("%s: %s", path, err.msg);
    }
    if (rc == TG_OK) {
        GString *out = g_string_new(NULL);
        ctl_decision_json(out, &dec);
        *line = g_string_free(out, FALSE);
        *text = decision_text(path, &dec);
        tg_decision_clear(&dec);
    } else {
        GString *out = g_string_new("{\"error\":");
        json_str(out, error);
        g_string_append_printf(out, ",\"temporary\":%s}", rc == TG_ETEMP ? "true" : "false");
        *line = g_string_free(out, FALSE);
        *text = g_strdup_printf("%s: %s: %s", path, rc == TG_ETEMP ? "temporary failure" : "failed",
                                error);
        fprintf(stderr, "ticketgatectl: ingest: %s\n", error);
    }
    g_free(error);
    tg_inbound_free(in);
    if (bytes)
        g_byte_array_unref(bytes);
    return rc;
}

static gpointer worker(gpointer data)
{
    job *j = data;
    int status = EX_OK;
    tg_store *st = ctl_open_store(j->cfg, &status);
    for (int i; (i = g_atomic_int_add(&j->next, 1)) < j->n_files;) {
        if (!st) {
            j->status[i] = status;
            j->lines[i] = g_strdup("{\"error\":\"store unavailable\",\"temporary\":true}");
            j->texts[i] = g_strdup_printf("%s: store unavailable", j->files[i]);
            continue;
        }
        j->status[i] = ctl_exit_for(ingest_one(j, st, j->files[i], &j->lines[i], &j->texts[i]));
    }
    tg_store_close(st);
    return NULL;
}

int cmd_ingest(tg_config *cfg, int argc, char **argv)
{
    char *channel = NULL, *rcpt = NULL, *sender = NULL;
    int jobs = 1, as_json = 0;
    GOptionEntry entries[] = {
        {"channel", 0, 0, G_OPTION_ARG_STRING, &channel, "channel of the input (email)", "C"},
        {"rcpt", 0, 0, G_OPTION_ARG_STRING, &rcpt, "envelope recipient (selects the queue)", "A"},
        {"sender", 0, 0, G_OPTION_ARG_STRING, &sender, "envelope sender (\"\" = null sender)", "A"},
        {"jobs", 'j', 0, G_OPTION_ARG_INT, &jobs, "parallel workers (default 1)", "N"},
        {"json", 0, 0, G_OPTION_ARG_NONE, &as_json, "print decisions as a JSON array", NULL},
        {NULL, 0, 0, 0, NULL, NULL, NULL}};
    int status = EX_OK;

    if (!ctl_parse_options("ingest", "FILE...|-", entries, &argc, &argv))
        return EX_USAGE;
    if (argc < 2)
        status = ctl_usage_error("ingest", "no input files (use - for standard input)");
    else if (jobs < 1 || jobs > 64)
        status = ctl_usage_error("ingest", "--jobs must be 1..64");
    else if (channel && strcmp(channel, "email") != 0)
        status = ctl_usage_error("ingest", "only --channel email can be ingested from files");
    if (status != EX_OK)
        goto out;

    job j = {cfg, argv + 1, argc - 1, rcpt, sender, 0, NULL, NULL, NULL};
    j.lines = g_new0(char *, j.n_files);
    j.texts = g_new0(char *, j.n_files);
    j.status = g_new0(int, j.n_files);
    if (jobs > j.n_files)
        jobs = j.n_files;
    GThread **threads = g_new0(GThread *, jobs);
    for (int t = 0; t < jobs; t++)
        threads[t] = g_thread_new("ingest", worker, &j);
    for (int t = 0; t < jobs; t++)
        g_thread_join(threads[t]);
    g_free(threads);

    if (as_json)
        printf("[");
    for (int i = 0; i < j.n_files; i++) {
        if (as_json)
            printf("%s%s\n", i ? "," : "", j.lines[i]);
        else
            printf("%s\n", j.texts[i]);
        /* The worst status wins, and "retry later" is worse than "bad input" for a pipe. */
        if (j.status[i] == EX_TEMPFAIL || (status == EX_OK && j.status[i] != EX_OK))
            status = j.status[i];
        g_free(j.lines[i]);
        g_free(j.texts[i]);
    }
    if (as_json)
        printf("]\n");
    g_free(j.lines);
    g_free(j.texts);
    g_free(j.status);
out:
    g_free(channel);
    g_free(rcpt);
    g_free(sender);
    return status;
}
