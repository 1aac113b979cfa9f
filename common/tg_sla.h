/* tg_sla.h - SLA policies: first-response and resolution targets per priority, category and
 * channel, counted on a calendar. Built at config load, read-only after; threads share it. */
#ifndef TG_SLA_H
#define TG_SLA_H

#include <stdint.h>

#include "tg_calendar.h"
#include "tg_err.h"

typedef struct tg_sla_policy tg_sla_policy;

typedef struct tg_sla_due {
    int64_t first_response; /* Unix time, or -1 when the policy sets no target */
    int64_t resolution;
} tg_sla_due;

/* tg_sla_policy_new - an empty policy counting on cal (borrowed: must outlive the policy). */
tg_sla_policy *tg_sla_policy_new(const char *name, const tg_calendar *cal);
void tg_sla_policy_free(tg_sla_policy *pol); /* NULL-safe */

/* tg_sla_policy_set - add a target line. selector: "default", or terms joined by '+' from
 * "priority:P", "category:C", "channel:X"; targets: "FIRST [RESOLUTION]", "-" = unset.
 * A target is working time on the calendar: 90s, 30m, 4h, 1h30m, and d = one working day
 * (3d = three working days; on a 24x7 calendar 1d = 24 h). */
int tg_sla_policy_set(tg_sla_policy *pol, const char *selector, const char *targets, tg_err *err);

/* tg_sla_compute - due times for a ticket created at `created`. For each target the matching
 * line with most terms wins; on a tie priority beats category beats channel. */
void tg_sla_compute(const tg_sla_policy *pol, const char *channel, const char *category,
                    const char *priority, int64_t created, tg_sla_due *out);

const char *tg_sla_policy_name(const tg_sla_policy *pol);
const tg_calendar *tg_sla_policy_calendar(const tg_sla_policy *pol);

/* tg_parse_duration - "90s", "30m", "4h", "1h30m", "2d" (d = 24 h) or plain seconds. */
int tg_parse_duration(const char *s, int64_t *seconds);

#endif
