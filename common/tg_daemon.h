/* tg_daemon.h - what both daemons do at startup the same way: become their user, write their
 * pid file. Errors go to the log (tg_log), naming what was asked for. Startup only. */
#ifndef TG_DAEMON_H
#define TG_DAEMON_H

/* tg_daemon_become - run as spec, "user" or "user:group" (supplementary groups of user, then
 * gid, then uid). Nothing to do when already that user. 0, or -1 after logging why. */
int tg_daemon_become(const char *spec);

/* tg_daemon_write_pidfile - "PID\n" into path. 0, or -1 after logging why. */
int tg_daemon_write_pidfile(const char *path);

#endif
