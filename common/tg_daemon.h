/* tg_daemon.h - what both daemons do at startup the same way: read their options, become their
 * user, write their pid file. Errors go to the log (tg_log), naming what was asked for. Startup
 * only. */
#ifndef TG_DAEMON_H
#define TG_DAEMON_H

#include <glib.h>

/* The options both daemons take, with OpenDKIM's letters: -c -u -P -f -n -V. */
typedef struct tg_daemon_opts {
    char *config, *user, *pidfile; /* NULL when not given */
    gboolean foreground, check_only, version;
} tg_daemon_opts;

/* tg_daemon_parse - argv into o, plus a daemon's own options (extra: NULL-terminated, or
 * NULL). On a usage error prints "NAME: why (see --help)" to stderr and returns -1. */
int tg_daemon_parse(const char *name, const char *summary, const GOptionEntry *extra,
                    tg_daemon_opts *o, int *argc, char ***argv);
void tg_daemon_opts_clear(tg_daemon_opts *o);

/* tg_daemon_become - run as spec, "user" or "user:group" (supplementary groups of user, then
 * gid, then uid). Nothing to do when already that user. 0, or -1 after logging why. */
int tg_daemon_become(const char *spec);

/* tg_daemon_write_pidfile - "PID\n" into path. 0, or -1 after logging why. */
int tg_daemon_write_pidfile(const char *path);

#endif
