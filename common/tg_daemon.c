/* tg_daemon.c - startup steps shared by ticketgate-milter and ticketgate-xmpp. */
#include <errno.h>
#include <glib.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <unistd.h>

#include "tg_daemon.h"
#include "tg_log.h"

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
