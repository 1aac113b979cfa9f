/* main.c - ticketgate-xmpp: options, configuration and reload, privileges, and the loop that
 * drives libstrophe, intake and the outbox in one thread. Options as ticketgate-milter's. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "config.h"
#include "tg_actions.h"
#include "tg_daemon.h"
#include "tg_log.h"
#include "xmpp.h"

#define DEFAULT_CONFIG SYSCONFDIR "/ticketgate/ticketgate.conf"
#define TICK_MS        50 /* longest wait in libstrophe before looking at signals and the queue */
#define MAX_BATCH      64 /* chat messages waiting for intake at which read_arrived stops reading */

volatile sig_atomic_t xmpp_stop_requested, xmpp_reload_requested;

static void on_signal(int sig)
{
    if (sig == SIGUSR1 || sig == SIGHUP) /* HUP too: no libmilter here to claim it */
        xmpp_reload_requested = 1;
    else
        xmpp_stop_requested = 1;
}

/* read_secret - [xmpp] secret, or the first line of secret_file (kept out of argv and logs). */
static char *read_secret(const tg_config *cfg, tg_err *err)
{
    if (cfg->xmpp_secret_file) {
        char *text = NULL;
        GError *error = NULL;
        if (!g_file_get_contents(cfg->xmpp_secret_file, &text, NULL, &error)) {
            tg_err_set(err, TG_EINVAL, "%s: [xmpp] secret_file: %s", cfg->path, error->message);
            g_error_free(error);
            return NULL;
        }
        text[strcspn(text, "\r\n")] = '\0';
        if (!*text) { /* the server would refuse it, and say only not-authorized */
            tg_err_set(err, TG_EINVAL, "%s: [xmpp] secret_file: %s: its first line is empty",
                       cfg->path, cfg->xmpp_secret_file);
            g_free(text);
            return NULL;
        }
        return text;
    }
    if (cfg->xmpp_secret)
        return g_strdup(cfg->xmpp_secret);
    tg_err_set(err, TG_EINVAL, "%s: [xmpp] needs secret or secret_file", cfg->path);
    return NULL;
}

/* load_config - the snapshot plus what this daemon needs beyond every program: [xmpp] domain
 * and the secret (*secret, caller frees). NULL with err. */
static tg_config *load_config(const char *path, char **secret, tg_err *err)
{
    tg_config *cfg = tg_config_load(path, err);
    if (!cfg)
        return NULL;
    if (!cfg->xmpp_domain) {
        tg_err_set(err, TG_EINVAL,
                   "%s: [xmpp] domain is not set (the component's name, such as "
                   "help.example.org)",
                   path);
    } else if ((*secret = read_secret(cfg, err))) {
        tg_config_log_warnings(cfg);
        return cfg;
    }
    tg_config_unref(cfg);
    return NULL;
}

/* reload - a new snapshot; the stream keeps its name and secret (a change needs a restart).
 * A file with an error, or naming a store that cannot be opened, leaves everything as it was. */
static void reload(component *c)
{
    tg_err err = {0};
    char *secret = NULL;
    tg_store *st = NULL;
    tg_config *cfg = load_config(c->config_path, &secret, &err);
    if (cfg && strcmp(cfg->store_path, c->cfg->store_path) != 0 &&
        !(st = tg_config_open_store(cfg, &err))) {
        tg_config_unref(cfg);
        cfg = NULL;
    }
    if (!cfg) {
        tg_error("reload failed, keeping the running configuration: %s", err.msg);
        g_free(secret);
        return;
    }
    if (strcmp(cfg->xmpp_domain, c->cfg->xmpp_domain) != 0 || strcmp(secret, c->secret) != 0)
        tg_warn("reload: [xmpp] domain and secret take effect at the next start");
    if (st) {
        tg_store_close(c->st);
        tg_store_defer_checkpoints(st);
        c->st = st;
    }
    tg_config_unref(c->cfg);
    c->cfg = cfg;
    g_free(secret);
    /* an agent just set inactive: their open tickets are said where it was done */
    tg_agents_left_behind_log(c->cfg, c->st);
    tg_info("configuration reloaded from %s", c->config_path);
}

/* read_arrived - libstrophe reads at most 4 KB per turn, about a dozen chat messages: read on,
 * without waiting, while reads bring messages, so that what has already arrived makes one batch
 * (one commit, one disk flush) instead of one per 4 KB. bench/xmpp.sh with 200 customers in
 * flight: 11 % more round trips per second, p99 50 -> 30 ms. */
static void read_arrived(component *c)
{
    guint before = 0;
    while (c->connected && c->pending->len > before && c->pending->len < MAX_BATCH) {
        before = c->pending->len;
        component_run_once(c, 0);
    }
}

/* run - until SIGTERM: connect when due, let libstrophe work, then intake and the outbox. */
static void run(component *c)
{
    while (!xmpp_stop_requested) {
        if (xmpp_reload_requested) {
            xmpp_reload_requested = 0;
            reload(c);
        }
        gint64 now = g_get_monotonic_time();
        if (!c->connected && !c->connecting && now >= c->next_connect)
            component_connect(c);
        component_run_once(c, TICK_MS); /* writes what is queued, then reads what arrives */
        read_arrived(c);
        sender_note_written(c);
        /* here, with the last batch's replies written, not in the commit that held them */
        tg_err err = {0};
        if (tg_store_checkpoint_if_due(c->st, &err) != TG_OK)
            tg_warn("%s", err.msg);
        int arrived = c->pending->len > 0;
        chat_flush(c); /* also records what was sent and sends the next replies */
        /* a full escalation batch is followed by the next at the next turn */
        if (tg_housekeeping_run(&c->housekeeping, c->cfg, c->st) & TG_HOUSEKEEPING_QUEUED)
            c->last_drain = 0; /* the notices go out now */
        /* The outbox also gets rows from other processes (ticketgatectl, the milter's relays to
         * chat customers): look at least once a second, and record what was written as soon
         * as nothing new arrives. */
        if (g_get_monotonic_time() - c->last_drain >= G_USEC_PER_SEC ||
            (!arrived && sender_has_records(c))) {
            sender_drain(c);
            c->last_drain = g_get_monotonic_time();
        }
    }
    tg_info("stopping");
    sender_finish(c);
    if (c->connected || c->connecting) {
        xmpp_disconnect(c->conn);
        gint64 until = g_get_monotonic_time() + 2 * G_USEC_PER_SEC;
        while ((c->connected || c->connecting) && g_get_monotonic_time() < until)
            component_run_once(c, TICK_MS);
    }
    /* The server routes messages to us until it has our stream's end: what was read meanwhile
     * becomes tickets too. Their replies cannot go out on this stream: the sender puts them back
     * in the outbox, due at the next connection. */
    if (c->pending->len) {
        tg_info("%u message(s) that arrived while stopping are kept; their replies go out after "
                "the next start",
                c->pending->len);
        chat_flush(c);
        sender_finish(c);
    }
}

int main(int argc, char **argv)
{
    tg_daemon_opts o = {0};
    if (tg_daemon_parse("ticketgate-xmpp", "- turn chats with the support JID into tickets", NULL,
                        &o, &argc, &argv) != 0)
        return EX_USAGE;
    if (o.version) {
        printf("ticketgate-xmpp %s (libstrophe)\n", PACKAGE_VERSION);
        return EX_OK;
    }

    tg_log_open("ticketgate-xmpp", o.foreground || o.check_only, TG_LOG_INFO);
    component c = {.config_path = g_strdup(o.config ? o.config : DEFAULT_CONFIG)};
    tg_err err = {0};
    if (!(c.cfg = load_config(c.config_path, &c.secret, &err))) {
        fprintf(stderr, "ticketgate-xmpp: %s\n", err.msg);
        return EX_CONFIG;
    }
    if (o.check_only) {
        printf("%s: OK\n", c.config_path);
        return EX_OK;
    }
    char *run_as = g_strdup(o.user ? o.user : c.cfg->xmpp_user);
    char *pid_path = g_strdup(o.pidfile ? o.pidfile : c.cfg->xmpp_pidfile);
    int status = EX_OK;
    if (!o.foreground && daemon(0, 0) != 0) {
        fprintf(stderr, "ticketgate-xmpp: daemon: %s\n", g_strerror(errno));
        return EX_OSERR;
    }
    if (run_as && tg_daemon_become(run_as) != 0) {
        status = EX_NOPERM;
        goto out;
    }
    if (pid_path && tg_daemon_write_pidfile(pid_path) != 0) {
        g_clear_pointer(&pid_path, g_free); /* not ours to remove */
        status = EX_CANTCREAT;
        goto out;
    }
    if (!(c.st = tg_config_open_store(c.cfg, &err))) {
        tg_error("%s", err.msg);
        status = err.code == TG_ETEMP ? EX_TEMPFAIL : EX_CONFIG;
        goto out;
    }
    tg_store_defer_checkpoints(c.st);
    tg_agents_left_behind_log(c.cfg, c.st);
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (component_init(&c, &err) != TG_OK) {
        tg_error("%s", err.msg);
        status = EX_SOFTWARE;
        goto out;
    }
    tg_info("ticketgate-xmpp %s: component %s on %s:%lld (config %s)", PACKAGE_VERSION,
            c.cfg->xmpp_domain, c.cfg->xmpp_server, (long long)c.cfg->xmpp_port, c.config_path);
    run(&c);
out:
    if (pid_path)
        unlink(pid_path);
    component_free(&c);
    tg_store_close(c.st);
    tg_config_unref(c.cfg);
    if (c.secret)
        memset(c.secret, 0, strlen(c.secret));
    g_free(c.secret);
    g_free(c.config_path);
    g_free(run_as);
    g_free(pid_path);
    tg_daemon_opts_clear(&o);
    return status;
}
