/* main.c - ticketgate-milter: options, configuration and reload, privileges, the socket, and
 * the libmilter main loop. Options follow OpenDKIM's: -c -p -u -P -f -n -V. */
#define _GNU_SOURCE /* pthread_setattr_default_np */
#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sysexits.h>
#include <unistd.h>

#include "config.h"
#include "milter.h"
#include "tg_actions.h"
#include "tg_daemon.h"
#include "nodelay.h"
#include "tg_log.h"

#define DEFAULT_CONFIG   SYSCONFDIR "/ticketgate/ticketgate.conf"
#define CONNECTION_STACK (512 * 1024)

static GMutex config_lock;
static tg_config *current;
static char *config_path;

tg_config *milter_config(void)
{
    g_mutex_lock(&config_lock);
    tg_config *cfg = tg_config_ref(current);
    g_mutex_unlock(&config_lock);
    return cfg;
}

/* reload - a new snapshot from the same file; on error the old one stays. */
static void reload(void)
{
    tg_err err = {0};
    tg_config *cfg = tg_config_load(config_path, &err);
    tg_store *st = NULL;
    /* A new store path must work before mail depends on it. */
    if (cfg && strcmp(cfg->store_path, current->store_path) != 0 && !(st = pool_take(cfg, &err))) {
        tg_config_unref(cfg);
        cfg = NULL;
    }
    if (!cfg) {
        tg_error("reload failed, keeping the running configuration: %s", err.msg);
        return;
    }
    tg_config_log_warnings(cfg);
    /* an agent just set inactive: their open tickets are said where it was done */
    if (st || (st = pool_take(cfg, &err)))
        tg_agents_left_behind_log(cfg, st);
    pool_give(cfg, st, 1);
    if (g_strcmp0(cfg->milter_socket, current->milter_socket) != 0 ||
        g_strcmp0(cfg->milter_user, current->milter_user) != 0 ||
        g_strcmp0(cfg->milter_socket_group, current->milter_socket_group) != 0 ||
        cfg->milter_socket_mode != current->milter_socket_mode ||
        g_strcmp0(cfg->milter_pidfile, current->milter_pidfile) != 0)
        tg_warn("reload: [milter] socket, socket_mode, socket_group, user and pidfile take effect "
                "at the next start");
    g_mutex_lock(&config_lock);
    tg_config *old = current;
    current = cfg;
    g_mutex_unlock(&config_lock);
    tg_config_unref(old);
    tg_info("configuration reloaded from %s", config_path);
}

/* signal_main - libmilter owns SIGHUP/SIGTERM/SIGINT (all mean stop); SIGUSR1 is ours. */
static gpointer signal_main(gpointer set)
{
    for (;;) {
        int sig;
        if (sigwait(set, &sig) == 0 && sig == SIGUSR1)
            reload();
    }
    return NULL;
}

/* ---- privileges, socket, pid file ---- */

/* unix_socket_path - the path of a unix:/local: socket spec, or NULL for inet. */
static const char *unix_socket_path(const char *spec)
{
    if (g_str_has_prefix(spec, "unix:"))
        return spec + 5;
    if (g_str_has_prefix(spec, "local:"))
        return spec + 6;
    return spec[0] == '/' ? spec : NULL;
}

/* clear_stale_socket - remove a unix socket left by a dead milter, never a live one. */
static int clear_stale_socket(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct stat sb;
    if (lstat(path, &sb) != 0)
        return 0;
    if (!S_ISSOCK(sb.st_mode)) {
        tg_error("%s exists and is not a socket", path);
        return -1;
    }
    if (strlen(path) >= sizeof sa.sun_path) {
        tg_error("%s: socket path too long", path);
        return -1;
    }
    strcpy(sa.sun_path, path); /* length checked above */
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    int live = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    int refused = errno == ECONNREFUSED;
    if (fd >= 0)
        close(fd);
    if (live) {
        tg_error("%s: another milter is listening there", path);
        return -1;
    }
    if (refused && unlink(path) == 0)
        tg_info("removed stale socket %s", path);
    return 0;
}

/* set_socket_access - mode and group so that the MTA (user postfix) may connect. */
static void set_socket_access(const char *path, const tg_config *cfg)
{
    if (chmod(path, (mode_t)cfg->milter_socket_mode) != 0)
        tg_warn("chmod %s: %s", path, g_strerror(errno));
    if (cfg->milter_socket_group) {
        struct group *gr = getgrnam(cfg->milter_socket_group);
        if (!gr)
            tg_warn("[milter] socket_group %s: no such group", cfg->milter_socket_group);
        else if (chown(path, (uid_t)-1, gr->gr_gid) != 0)
            tg_warn("chgrp %s %s: %s (is the milter's user in that group?)",
                    cfg->milter_socket_group, path, g_strerror(errno));
    }
}

/* check_store - open the store once at startup: a store this binary cannot use is fatal now,
 * not a stream of 451s later. A busy store is only worth a warning. */
static int check_store(const tg_config *cfg)
{
    tg_err err = {0};
    tg_store *st = pool_take(cfg, &err);
    if (!st) {
        tg_log(err.code == TG_ETEMP ? TG_LOG_WARN : TG_LOG_ERR, "%s", err.msg);
        return err.code == TG_ETEMP ? 0 : -1;
    }
    tg_agents_left_behind_log(cfg, st);
    pool_give(cfg, st, 1);
    return 0;
}

/* small_connection_stacks - the threads started from now on are libmilter's, one per SMTP
 * session. glibc keeps 40 MiB of ended threads' stacks for reuse: five of the default 8 MiB.
 * With 20 sessions at once most new threads then map a fresh stack, fault its pages in, and
 * unmap it at the end (0.05-0.1 ms of CPU per mail on the benchmark VM). 512 KiB lets it keep
 * 80. The deepest work here needs ~128 KiB: GMime nests at most 1024 parts, and a mail nested
 * that deep is tested (deeply_nested_mail in tests/milter_mail.sh). Call it after our own
 * threads have started; they keep the default. */
static int small_connection_stacks(tg_err *err)
{
    pthread_attr_t attr;
    int rc = pthread_attr_init(&attr);
    if (rc == 0) {
        rc = pthread_attr_setstacksize(&attr, CONNECTION_STACK);
        rc = rc ? rc : pthread_setattr_default_np(&attr);
        pthread_attr_destroy(&attr);
    }
    if (rc != 0)
        return tg_err_set(err, TG_ENOMEM, "cannot set the connection threads' stack size: %s",
                          g_strerror(rc));
    return TG_OK;
}

int main(int argc, char **argv)
{
    char *sock = NULL;
    tg_daemon_opts o = {0};
    GOptionEntry own[] = {{"socket", 'p', 0, G_OPTION_ARG_STRING, &sock,
                           "listen on unix:/path or inet:port@host (overrides [milter] socket)",
                           "SOCKET"},
                          {NULL}};
    int status = EX_OK;
    if (tg_daemon_parse("ticketgate-milter", "- turn support mail into tickets", own, &o, &argc,
                        &argv) != 0)
        return EX_USAGE;
    if (o.version) {
        unsigned major, minor, patch;
        smfi_version(&major, &minor, &patch);
        printf("ticketgate-milter %s (libmilter %u.%u.%u)\n", PACKAGE_VERSION, major, minor, patch);
        return EX_OK;
    }

    tg_log_open("ticketgate-milter", o.foreground || o.check_only, TG_LOG_INFO);
    config_path = g_strdup(o.config ? o.config : DEFAULT_CONFIG);
    tg_err err = {0};
    if (!(current = tg_config_load(config_path, &err))) {
        fprintf(stderr, "ticketgate-milter: %s\n", err.msg);
        return EX_CONFIG;
    }
    tg_config_log_warnings(current);
    if (o.check_only) {
        printf("%s: OK\n", config_path);
        return EX_OK;
    }
    /* Copies: a reload frees the snapshot these came from. */
    char *spec = g_strdup(sock ? sock : current->milter_socket);
    char *run_as = g_strdup(o.user ? o.user : current->milter_user);
    char *pid_path = g_strdup(o.pidfile ? o.pidfile : current->milter_pidfile);
    const char *sock_path = unix_socket_path(spec);

    if (smfi_register(milter_callbacks) == MI_FAILURE || smfi_setconn(spec) == MI_FAILURE) {
        fprintf(stderr, "ticketgate-milter: cannot use socket %s\n", spec);
        return EX_USAGE;
    }
    if (!o.foreground && daemon(0, 0) != 0) {
        fprintf(stderr, "ticketgate-milter: daemon: %s\n", g_strerror(errno));
        return EX_OSERR;
    }
    if ((run_as && tg_daemon_become(run_as) != 0) || (sock_path && clear_stale_socket(sock_path))) {
        status = EX_NOPERM;
        goto out;
    }
    if (smfi_opensocket(false) == MI_FAILURE) {
        tg_error("cannot listen on %s (does its directory exist and is it writable?)", spec);
        status = EX_UNAVAILABLE;
        goto out;
    }
    if (sock_path)
        set_socket_access(sock_path, current);
    else if (tg_milter_nodelay_listeners() == 0)
        tg_warn("%s: could not set TCP_NODELAY: expect ~40 ms per message", spec);
    if (pid_path && tg_daemon_write_pidfile(pid_path) != 0) {
        g_clear_pointer(&pid_path, g_free); /* not ours to remove */
        status = EX_CONFIG;
        goto out;
    }
    if (check_store(current) != 0) {
        status = EX_CONFIG;
        goto out;
    }

    /* Block the signals before any thread starts, so that they reach only the threads that
     * wait for them: SIGUSR1 ours, the stop signals libmilter's (else the default action of
     * SIGTERM, delivered to our mailer thread, would kill the process mid-message). */
    static sigset_t usr1;
    sigset_t all;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    all = usr1;
    sigaddset(&all, SIGHUP);
    sigaddset(&all, SIGTERM);
    sigaddset(&all, SIGINT);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    g_thread_unref(g_thread_new("signals", signal_main, &usr1));
    if (mailer_start(&err) != TG_OK || small_connection_stacks(&err) != TG_OK) {
        tg_error("%s", err.msg);
        status = EX_OSERR;
        goto out;
    }
    tg_info("ticketgate-milter %s listening on %s (config %s)", PACKAGE_VERSION, spec, config_path);
    stop_watchdog_start(sock_path, pid_path);
    if (smfi_main() != MI_SUCCESS)
        status = EX_SOFTWARE;
    if (!stop_watchdog_main_returned())
        for (;;)
            pause(); /* the watchdog is ending the process */
    tg_info("stopping");
    mailer_stop();
    if (sock_path)
        unlink(sock_path); /* ours: a clean stop leaves nothing to look stale */
out:
    if (pid_path)
        unlink(pid_path);
    pool_close_all();
    tg_config_unref(current);
    g_free(spec);
    g_free(run_as);
    g_free(pid_path);
    g_free(sock);
    tg_daemon_opts_clear(&o);
    g_free(config_path);
    return status;
}
