/* tg_ratelimit.c - flood control per sender (see tg_ratelimit.h). */
#include <glib.h>

#include "tg_ratelimit.h"

typedef struct sender_window {
    int64_t start; /* seconds */
    int64_t count; /* messages in this window */
    int told;      /* TG_RATE_OVER_FIRST was returned in this window */
} sender_window;

struct tg_ratelimit {
    GHashTable *senders; /* sender -> sender_window */
    int64_t last_sweep;
};

tg_ratelimit *tg_ratelimit_new(void)
{
    tg_ratelimit *r = g_new0(tg_ratelimit, 1);
    r->senders = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    return r;
}

void tg_ratelimit_free(tg_ratelimit *r)
{
    if (r) {
        g_hash_table_unref(r->senders);
        g_free(r);
    }
}

/* over - the window that began at start is over at now (or the clock went back before it). */
static int over(int64_t start, int64_t window, int64_t now)
{
    return now - start >= window || now < start;
}

/* sweep - forget every sender whose window is over: remembering it would change nothing, as
 * its next message starts a new window anyway. */
static void sweep(tg_ratelimit *r, int64_t window, int64_t now)
{
    GHashTableIter it;
    gpointer value;
    g_hash_table_iter_init(&it, r->senders);
    while (g_hash_table_iter_next(&it, NULL, &value))
        if (over(((sender_window *)value)->start, window, now))
            g_hash_table_iter_remove(&it);
    r->last_sweep = now;
}

tg_rate tg_ratelimit_hit(tg_ratelimit *r, const char *sender, int64_t limit, int64_t window,
                         int64_t now)
{
    if (over(r->last_sweep, window, now))
        sweep(r, window, now);
    sender_window *w = g_hash_table_lookup(r->senders, sender);
    if (!w) {
        w = g_new0(sender_window, 1);
        w->start = now;
        g_hash_table_insert(r->senders, g_strdup(sender), w);
    } else if (over(w->start, window, now)) {
        *w = (sender_window){.start = now};
    }
    if (++w->count <= limit)
        return TG_RATE_OK;
    if (w->told)
        return TG_RATE_OVER;
    w->told = 1;
    return TG_RATE_OVER_FIRST;
}

size_t tg_ratelimit_senders(const tg_ratelimit *r)
{
    return g_hash_table_size(r->senders);
}
