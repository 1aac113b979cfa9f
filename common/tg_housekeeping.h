/* tg_housekeeping.h - what both daemons do now and then besides intake, on their own timers:
 * every TG_FORGET_EVERY seconds the auto-reply records the per-sender limit no longer reads are
 * deleted, and every [general] escalate_every tickets that missed their first response or
 * resolution target are escalated (once per target, whichever daemon gets to it). Each step logs
 * what it did. */
#ifndef TG_HOUSEKEEPING_H
#define TG_HOUSEKEEPING_H

#include <stdint.h>

#include "tg_config.h"
#include "tg_store.h"

typedef struct tg_housekeeping {
    int64_t last_forget, last_escalate; /* monotonic µs; 0: not yet */
} tg_housekeeping;

enum {
    TG_HOUSEKEEPING_QUEUED = 1, /* notices were queued in the outbox: send them */
    TG_HOUSEKEEPING_MORE = 2,   /* a full batch was escalated: call again for the rest */
};

/* tg_housekeeping_run - the steps that are due, one escalation batch at most (in its own short
 * transactions, never inside the caller's); TG_HOUSEKEEPING_* flags. */
int tg_housekeeping_run(tg_housekeeping *hk, const tg_config *cfg, tg_store *st);

#endif
