/* tg_err.h - error codes and the caller-owned error text every module fills.
 * Functions return 0 or a negative TG_E* code and describe the problem in a tg_err. */
#ifndef TG_ERR_H
#define TG_ERR_H

enum {
    TG_OK = 0,
    TG_EINVAL = -1,    /* bad input: a config/rule error, a message we cannot use */
    TG_ENOMEM = -2,    /* out of memory or over a configured limit */
    TG_ETEMP = -3,     /* temporary: store busy past the timeout, read-only, disk full */
    TG_ESTORE = -4,    /* permanent store problem: schema newer than this binary, corrupt */
    TG_ENOTFOUND = -5, /* no such ticket, agent, ... */
    TG_EPERM = -6,     /* not allowed: not the agent's ticket, ... */
};

typedef struct tg_err {
    int code;
    char msg[512];
} tg_err;

/* tg_err_set - record code and message in err (NULL-safe), the message on one line (control
 * characters as spaces); returns code. */
int tg_err_set(tg_err *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
