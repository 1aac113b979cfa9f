/* tg_log.h - one-line log records to syslog (daemons) or stderr (foreground, tools).
 * Never log message bodies or secrets. Safe from any thread. */
#ifndef TG_LOG_H
#define TG_LOG_H

typedef enum { TG_LOG_DEBUG, TG_LOG_INFO, TG_LOG_WARN, TG_LOG_ERR } tg_log_level;

/* tg_log_open - send records to syslog under ident, or to stderr when to_stderr. */
void tg_log_open(const char *ident, int to_stderr, tg_log_level min_level);
void tg_log(tg_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define tg_debug(...) tg_log(TG_LOG_DEBUG, __VA_ARGS__)
#define tg_info(...)  tg_log(TG_LOG_INFO, __VA_ARGS__)
#define tg_warn(...)  tg_log(TG_LOG_WARN, __VA_ARGS__)
#define tg_error(...) tg_log(TG_LOG_ERR, __VA_ARGS__)

#endif
