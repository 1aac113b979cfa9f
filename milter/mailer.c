/* mailer.c - the mailer thread: sends the email rows of the outbox through the configured
 * sendmail(1)-compatible command, one process per mail. A row is marked sent only when the
 * command exited 0; failures are retried with doubling delays and end as "failed" with the
 * error kept. Rows claimed by a process that died go out again once their lease ends. */
#include <string.h>
#include <unistd.h>

#include <gio/gio.h>

#include "milter.h"
#include "tg_housekeeping.h"
#include "tg_log.h"
#include "tg_mail.h"

static GMutex lock;
static GCond wake;
static int kicked, stopping;
static GThread *thread;

void mailer_kick(void)
{
    g_mutex_lock(&lock);
    kicked = 1;
    g_cond_signal(&wake);
    g_mutex_unlock(&lock);
}

/* ---- running the command ---- */

typedef struct command_run {
    int done;
    GError *error;
} command_run;

static void communicated(GObject *proc, GAsyncResult *res, gpointer ud)
{
    command_run *cr = ud;
    g_subprocess_communicate_finish(G_SUBPROCESS(proc), res, NULL, NULL, &cr->error);
    cr->done = 1;
}

static gboolean timed_out(gpointer proc)
{
    g_subprocess_force_exit(proc);
    return G_SOURCE_REMOVE;
}

/* stderr_file - an unlinked temporary file for the command's stderr, or -1. Not a pipe: a
 * command that fails before reading its input (sendmail with a broken configuration) breaks
 * the stdin pipe, and g_subprocess_communicate then stops before reading what it said. */
static int stderr_file(void)
{
    char *path = NULL;
    int fd = g_file_open_tmp("ticketgate-mailer-XXXXXX", &path, NULL);
    if (fd >= 0)
        unlink(path);
    g_free(path);
    return fd;
}

/* first_line - the first line of what the command wrote to fd, for the row's error. */
static char *first_line(int fd)
{
    char buf[301];
    ssize_t len = fd >= 0 ? pread(fd, buf, sizeof buf - 1, 0) : -1;
    if (len <= 0)
        return g_strdup("");
    buf[len] = '\0';
    buf[strcspn(buf, "\r\n")] = '\0';
    return g_utf8_make_valid(buf, -1);
}

/* run_command - feed input to argv; NULL on success, else what went wrong (caller frees). */
static char *run_command(char **argv, GBytes *input, int64_t timeout_s)
{
    GError *error = NULL;
    int err_fd = stderr_file();
    GSubprocessLauncher *launcher = g_subprocess_launcher_new(
        G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
        (err_fd < 0 ? G_SUBPROCESS_FLAGS_STDERR_SILENCE : 0));
    if (err_fd >= 0)
        g_subprocess_launcher_take_stderr_fd(launcher, dup(err_fd));
    GSubprocess *proc = g_subprocess_launcher_spawnv(launcher, (const char *const *)argv, &error);
    g_object_unref(launcher);
    if (!proc) {
        char *why = g_strdup_printf("cannot run %s: %s", argv[0], error->message);
        g_error_free(error);
        if (err_fd >= 0)
            close(err_fd);
        return why;
    }
    /* A private main context, so the timeout can stop a hung command. */
    GMainContext *ctx = g_main_context_new();
    g_main_context_push_thread_default(ctx);
    command_run cr = {0};
    g_subprocess_communicate_async(proc, input, NULL, communicated, &cr);
    GSource *timer = g_timeout_source_new_seconds((guint)timeout_s);
    g_source_set_callback(timer, timed_out, proc, NULL);
    g_source_attach(timer, ctx);
    while (!cr.done)
        g_main_context_iteration(ctx, TRUE);
    g_source_destroy(timer);
    g_source_unref(timer);
    g_subprocess_wait(proc, NULL, NULL);
    g_main_context_pop_thread_default(ctx);
    g_main_context_unref(ctx);

    /* The exit status says more than a broken pipe from a command that did not read. */
    char *why = NULL, *said = first_line(err_fd);
    const char *sep = *said ? ": " : "";
    if (!g_subprocess_get_if_exited(proc))
        why = g_strdup_printf("%s killed by signal %d (timeout %llds)%s%s", argv[0],
                              g_subprocess_get_term_sig(proc), (long long)timeout_s, sep, said);
    else if (g_subprocess_get_exit_status(proc) != 0)
        why = g_strdup_printf("%s exited %d%s%s", argv[0], g_subprocess_get_exit_status(proc), sep,
                              said);
    else if (cr.error)
        why = g_strdup_printf("%s: %s", argv[0], cr.error->message);
    g_free(said);
    g_clear_error(&cr.error);
    if (err_fd >= 0)
        close(err_fd);
    g_object_unref(proc);
    return why;
}

/* ---- one row ---- */

/* deliver - build row's mail and hand it to the command; NULL on success, else the error,
 * with *permanent set when trying again cannot help. */
static char *deliver(const tg_config *cfg, tg_store *st, const tg_outbox *row, int64_t now,
                     int *permanent)
{
    tg_ticket t = {0};
    tg_err err = {0};
    GByteArray *mail = NULL;
    char **argv = NULL, *why = NULL;
    int argc = 0;

    *permanent = 1;
    if (!row->sender)
        return g_strdup("the queue has no e-mail address to send from");
    /* a notice about several tickets belongs to none: it gets no X-Ticket-ID */
    if (row->ticket_id && tg_store_ticket_by_id(st, row->ticket_id, &t, &err) < 0) {
        *permanent = 0;
        return g_strdup(err.msg);
    }
    int autoreply = strcmp(row->kind, "autoreply") == 0;
    /* to an agent, made by a program */
    int notice = strcmp(row->kind, "escalation") == 0 || strcmp(row->kind, "notice") == 0;
    tg_mail_reply r = {.from_addr = row->sender,
                       .from_name = row->sender_name,
                       .to_addr = row->recipient,
                       .to_name = row->recipient_name,
                       .subject = row->subject,
                       .body = row->body,
                       .message_id = row->msg_id,
                       .in_reply_to = row->in_reply_to,
                       .references = row->references,
                       .auto_submitted = autoreply ? "auto-replied"
                                         : notice  ? "auto-generated"
                                                   : NULL,
                       .ticket_ref = t.ref,
                       .lang = row->lang,
                       .attachments_mime = row->attachments_mime,
                       .date = now};
    if (tg_mail_build(&r, &mail, &err) != TG_OK) {
        why = g_strdup(err.msg);
        goto out;
    }
    *permanent = 0; /* a reload may fix the command */
    GError *error = NULL;
    if (!g_shell_parse_argv(cfg->mailer_command, &argc, &argv, &error)) {
        why = g_strdup_printf("[mailer] command: %s", error->message);
        g_error_free(error);
        goto out;
    }
    /* RFC 3834: auto-replies and notices go out with the null sender, so nothing answers them
     * back. */
    GStrvBuilder *b = g_strv_builder_new();
    g_strv_builder_addv(b, (const char **)argv);
    const char *envelope_from = autoreply || notice ? "<>" : row->sender;
    const char *tail[] = {"-i", "-f", envelope_from, "--", row->recipient, NULL};
    g_strv_builder_addv(b, tail);
    char **full = g_strv_builder_end(b);
    g_strv_builder_unref(b);
    GBytes *input = g_bytes_new(mail->data, mail->len);
    why = run_command(full, input, cfg->mailer_timeout);
    g_bytes_unref(input);
    g_strfreev(full);
out:
    if (mail)
        g_byte_array_unref(mail);
    g_strfreev(argv);
    tg_ticket_clear(&t);
    return why;
}

/* retry_at - doubling delays from retry_delay, capped at retry_max_delay. */
static int64_t retry_at(const tg_config *cfg, int64_t attempts, int64_t now)
{
    int64_t delay = cfg->mailer_retry_delay;
    for (int64_t i = 1; i < attempts && delay < cfg->mailer_retry_max_delay; i++)
        delay *= 2;
    return now + MIN(delay, cfg->mailer_retry_max_delay);
}

/* send_due - send every row due now; stops early when asked to stop. 0 if the store failed. */
static int send_due(const tg_config *cfg, tg_store *st)
{
    tg_err err = {0};
    for (;;) {
        g_mutex_lock(&lock);
        int stop = stopping;
        g_mutex_unlock(&lock);
        if (stop)
            return 1;
        int64_t now = g_get_real_time() / G_USEC_PER_SEC;
        tg_outbox row;
        int rc =
            tg_store_claim_outbox(st, "email", now, now + cfg->mailer_timeout + 60, &row, &err);
        if (rc <= 0) {
            if (rc < 0)
                tg_warn("mailer: %s", err.msg);
            return rc == 0;
        }
        int permanent = 0;
        char *why = deliver(cfg, st, &row, now, &permanent);
        int64_t attempts = row.attempts + 1;
        if (!why) {
            rc = tg_store_outbox_sent(st, row.id, now, &err);
            tg_info("mailer: %s to=<%s> msgid=<%s> sent", row.kind, row.recipient, row.msg_id);
        } else {
            int give_up = permanent || attempts >= cfg->mailer_max_attempts;
            int64_t next = give_up ? now : retry_at(cfg, attempts, now);
            rc = tg_store_outbox_retry(st, row.id, why, next, give_up, &err);
            tg_log(give_up ? TG_LOG_ERR : TG_LOG_WARN,
                   "mailer: %s to=<%s> attempt %lld of %lld: %s%s", row.kind, row.recipient,
                   (long long)attempts, (long long)cfg->mailer_max_attempts, why,
                   give_up ? "; giving up" : "; will retry");
        }
        if (rc != TG_OK)
            tg_error("mailer: cannot record the outcome for row %lld: %s", (long long)row.id,
                     err.msg);
        g_free(why);
        tg_outbox_clear(&row);
        if (rc != TG_OK)
            return 0;
    }
}

static gpointer mailer_main(gpointer unused)
{
    tg_housekeeping housekeeping = {0};
    for (;;) {
        tg_config *cfg = milter_config();
        tg_err err = {0};
        tg_store *st = pool_take(cfg, &err); /* each round: a reload may name another store */
        if (st) {
            /* escalation batches until done: the notices go out in this round */
            while (tg_housekeeping_run(&housekeeping, cfg, st) & TG_HOUSEKEEPING_MORE)
                ;
            pool_give(cfg, st, send_due(cfg, st));
        } else
            tg_warn("mailer: %s", err.msg);

        gint64 until = g_get_monotonic_time() + cfg->mailer_poll_interval * G_USEC_PER_SEC;
        tg_config_unref(cfg);
        g_mutex_lock(&lock);
        while (!kicked && !stopping)
            if (!g_cond_wait_until(&wake, &lock, until))
                break;
        kicked = 0;
        int stop = stopping;
        g_mutex_unlock(&lock);
        if (stop)
            return NULL;
    }
}

int mailer_start(tg_err *err)
{
    GError *error = NULL;
    thread = g_thread_try_new("mailer", mailer_main, NULL, &error);
    if (!thread) {
        tg_err_set(err, TG_ENOMEM, "cannot start the mailer thread: %s", error->message);
        g_error_free(error);
        return TG_ENOMEM;
    }
    return TG_OK;
}

void mailer_stop(void)
{
    if (!thread)
        return;
    g_mutex_lock(&lock);
    stopping = 1;
    g_cond_signal(&wake);
    g_mutex_unlock(&lock);
    g_thread_join(thread);
    thread = NULL;
}
