/* tg_ratelimit.h - flood control per sender: how many messages each sender sent in its current
 * window (a fixed window of `window` seconds from the first message after the last one ended).
 * In memory only, and only for the senders of the last window: a sender whose window is over
 * is forgotten (swept at most once a window), so a component that meets a new JID for every
 * visitor (anonymous logins of a web chat) does not grow for as long as it runs. */
#ifndef TG_RATELIMIT_H
#define TG_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

typedef struct tg_ratelimit tg_ratelimit;

typedef enum {
    TG_RATE_OK,         /* within the limit */
    TG_RATE_OVER_FIRST, /* the first message over the limit in this window: say so, once */
    TG_RATE_OVER,       /* over the limit again in the same window: drop it quietly */
} tg_rate;

tg_ratelimit *tg_ratelimit_new(void);
void tg_ratelimit_free(tg_ratelimit *r);

/* tg_ratelimit_hit - count one message from sender at now (seconds) against limit messages
 * per window seconds (given on each call, so a reload applies at once). */
tg_rate tg_ratelimit_hit(tg_ratelimit *r, const char *sender, int64_t limit, int64_t window,
                         int64_t now);

/* tg_ratelimit_senders - how many senders are remembered now. */
size_t tg_ratelimit_senders(const tg_ratelimit *r);

#endif
