/* tg_err.c - fill the caller's error record. */
#include <stdarg.h>
#include <stdio.h>

#include "tg_err.h"

int tg_err_set(tg_err *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        /* messages go to logs and terminals, and may quote what a file or a peer sent */
        for (char *c = err->msg; *c; c++)
            if ((unsigned char)*c < ' ' || *c == 0x7f)
                *c = ' ';
        err->code = code;
    }
    return code;
}
