/* tg_daemon.c - startup steps shared by ticketgate-milter and ticketgate-xmpp. */
#include <errno.h>
#include <glib.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <unistd.h>

#include "tg_daemon.h"
#include "tg_log.h"

int tg_daemon_parse(const char *name, const char *summary, const GOptionEntry *extra,
                    tg_daemon_opts *o, int *argc, char ***argv)
{
    GOptionEntry entries[] = {
        {"config", 'c', 0, G_OPTION_ARG_FILENAME, &o->config, "configuration file", "FILE"},
        {"user", 'u', 0, G_OPTION_ARG_STRING, &o->user, "run as user[:group]", "USER"},
        {"pidfile", 'P', 0, G_OPTION_ARG_FILENAME, &o->pidfile, "write the process id here",
         "FILE"},
        {"foreground", 'f', 0, G_OPTION_ARG_NONE, &o->foreground,
         "stay in the foreground, log to stderr", NULL},
        {"check", 'n', 0, G_OPTION_ARG_NONE, &o->check_only, "check the configuration and exit",
         NULL},
        {"version", 'V', 0, G_OPTION_ARG_NONE, &o->version, "print the version and exit", NULL},
        {NULL}};
    GOptionContext *oc = g_option_context_new(summary);
    GError *error = NULL;
    g_option_context_add_main_entries(oc, entries, NULL);
    if (extra)
        g_option_context_add_main_entries(oc, extra, NULL);
    int ok = g_option_context_parse(oc, argc, argv, &error);
    g_option_context_free(oc);
    if (!ok) {
        fprintf(stderr, "%s: %s (see --help)\n", name, error->message);
        g_error_free(error);
        return -1;
    }
    return 0;
}

void tg_daemon_opts_clear(tg_daemon_opts *o)
{
    g_free(o->config);
    g_free(o->user);
    g_free(o->pidfile);
    *o = (tg_daemon_opts){0};
}

int tg_daemon_become(const char *spec)
{
    char **parts = g_strsplit(spec, ":", 2);
    struct passwd *pw = getpwnam(parts[0]);
    int rc = -1;
    if (!pw) {
        tg_error("-u %s: no such user", parts[0]);
        goto out;
    }
    gid_t gid = pw->pw_gid;
    if (parts[1]) {
        struct group *gr = getgrnam(parts[1]);
        if (!gr) {
            tg_error("-u %s: no such group %s", spec, parts[1]);
            goto out;
        }
        gid = gr->gr_gid;
    }
    if (getuid() == pw->pw_uid && getgid() == gid) {
        rc = 0;
        goto out;
    }
    if (initgroups(pw->pw_name, gid) != 0 || setgid(gid) != 0 || setuid(pw->pw_uid) != 0) {
        tg_error("cannot become %s: %s (run as root, or drop -u)", spec, g_strerror(errno));
        goto out;
    }
    rc = 0;
out:
    g_strfreev(parts);
    return rc;
}

int tg_daemon_write_pidfile(const char *path)
{
    char pid[32];
    GError *error = NULL;
    snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (!g_file_set_contents(path, pid, -1, &error)) {
        tg_error("pid file: %s", error->message);
        g_error_free(error);
        return -1;
    }
    return 0;
}
