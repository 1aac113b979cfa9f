/* tg_log.c - logging backend. Configured once at startup, then read-only. */
#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>

#include "tg_log.h"

static int log_to_stderr = 1;
static tg_log_level log_min = TG_LOG_INFO;
static const char *log_ident = "ticketgate";

void tg_log_open(const char *ident, int to_stderr, tg_log_level min_level)
{
    log_ident = ident;
    log_to_stderr = to_stderr;
    log_min = min_level;
    if (!to_stderr)
        openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

void tg_log(tg_log_level level, const char *fmt, ...)
{
    static const int prio[] = {LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERR};
    static const char *name[] = {"debug", "info", "warning", "error"};
    char line[1024];
    va_list ap;

    if (level < log_min)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    /* One event, one line: an address or a text from a message never starts a line of its own
     * (a forged log entry) or puts a control character on a terminal. */
    for (char *p = line; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    if (log_to_stderr)
        fprintf(stderr, "%s: %s: %s\n", log_ident, name[level], line);
    else
        syslog(prio[level], "%s: %s", name[level], line);
}
