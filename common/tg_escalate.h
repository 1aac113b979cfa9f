/* tg_escalate.h - a ticket that misses its first response target is escalated once (an
 * "escalated" event), and once more if it then misses its resolution target (an
 * "escalated-resolution" event): each time with a notice (by chat, else by mail) to the agent
 * who has the ticket or, when nobody has it, to the active agents of the group it was routed
 * to (every active agent when there is none). An agent who is to be told of several tickets in
 * one round gets one notice listing them (templates NAME_digest), so that a Monday morning of
 * tickets that all fell due at 09:00 is one message, not one per ticket. Both daemons run it
 * (tg_housekeeping). */
#ifndef TG_ESCALATE_H
#define TG_ESCALATE_H

#include <glib.h>
#include <stdint.h>

#include "tg_config.h"
#include "tg_err.h"
#include "tg_store.h"

/* Only tickets that became overdue within this many seconds are escalated: turning escalation
 * on over an old store, or starting after a long stop, does not flood the agents. */
#define TG_ESCALATE_LOOKBACK (24 * 3600)
/* At most this many tickets per target in one transaction (the caller comes back for the
 * rest); also the most lines a digest notice has. */
#define TG_ESCALATE_BATCH 100

/* tg_escalate_overdue - escalate the tickets overdue at now, in one transaction. On success
 * *done holds one line per ticket for the log ("SUP-12: first answer was due Mon 23 Nov 2026
 * 10:00 MSK; told ann (chat), bob (mail)", "SUP-9: resolution was due ..."); caller
 * g_ptr_array_unref()s it. *more (if not NULL): a batch was full, call again for the rest. */
int tg_escalate_overdue(const tg_config *cfg, tg_store *st, int64_t now, GPtrArray **done,
                        int *more, tg_err *err);

#endif
