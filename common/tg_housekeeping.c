/* tg_housekeeping.c - the daemons' periodic work besides intake (see tg_housekeeping.h). */
#include "tg_housekeeping.h"
#include "tg_escalate.h"
#include "tg_intake.h"
#include "tg_log.h"

static int due(int64_t last, int64_t every_s)
{
    return !last || g_get_monotonic_time() - last >= every_s * G_USEC_PER_SEC;
}

static void forget_old_autoreplies(tg_housekeeping *hk, const tg_config *cfg, tg_store *st)
{
    if (!due(hk->last_forget, TG_FORGET_EVERY))
        return;
    hk->last_forget = g_get_monotonic_time();
    int64_t n = 0;
    tg_err err = {0};
    if (tg_intake_forget_autoreplies(cfg, st, g_get_real_time() / G_USEC_PER_SEC, &n, &err) !=
        TG_OK)
        tg_warn("%s", err.msg);
    if (n)
        tg_info("auto-reply records older than %llds forgotten: %lld",
                (long long)cfg->autoreply_window, (long long)n);
}

/* escalate - one batch; the timer restarts only when the batch was not full. */
static int escalate(tg_housekeeping *hk, const tg_config *cfg, tg_store *st)
{
    if (cfg->escalate_every <= 0 || !due(hk->last_escalate, cfg->escalate_every))
        return 0;
    GPtrArray *done = NULL;
    int more = 0;
    tg_err err = {0};
    if (tg_escalate_overdue(cfg, st, g_get_real_time() / G_USEC_PER_SEC, &done, &more, &err) !=
        TG_OK) {
        tg_warn("escalation: %s; trying again in %llds", err.msg, (long long)cfg->escalate_every);
        hk->last_escalate = g_get_monotonic_time();
        return 0;
    }
    for (guint i = 0; i < done->len; i++)
        tg_info("escalated %s", (const char *)done->pdata[i]);
    int flags = done->len ? TG_HOUSEKEEPING_QUEUED : 0;
    if (!more)
        hk->last_escalate = g_get_monotonic_time();
    else
        flags |= TG_HOUSEKEEPING_MORE;
    g_ptr_array_unref(done);
    return flags;
}

int tg_housekeeping_run(tg_housekeeping *hk, const tg_config *cfg, tg_store *st)
{
    forget_old_autoreplies(hk, cfg, st);
    return escalate(hk, cfg, st);
}
