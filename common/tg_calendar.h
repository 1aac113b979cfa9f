/* tg_calendar.h - business time on a calendar: a time zone, working hours per weekday,
 * holiday dates, or round the clock. Built at config load, read-only after; threads share it.
 * Times are Unix seconds (UTC). */
#ifndef TG_CALENDAR_H
#define TG_CALENDAR_H

#include <glib.h>
#include <stdint.h>

#include "tg_err.h"

typedef struct tg_calendar tg_calendar;

/* tg_calendar_new - a calendar in zone tzid ("Europe/Moscow", "UTC", "+03:00") with no
 * working hours yet; always_open makes it 24x7. Caller frees. NULL with err on a bad zone. */
tg_calendar *tg_calendar_new(const char *name, const char *tzid, int always_open, tg_err *err);
void tg_calendar_free(tg_calendar *cal); /* NULL-safe */

/* tg_calendar_set_hours - working hours of weekday (1 = Monday .. 7 = Sunday) from a spec
 * such as "09:00-18:00" or "09:00-13:00, 14:00-18:00" or "" / "closed". */
int tg_calendar_set_hours(tg_calendar *cal, int weekday, const char *spec, tg_err *err);

/* tg_calendar_add_holiday - a non-working date, "YYYY-MM-DD". */
int tg_calendar_add_holiday(tg_calendar *cal, const char *date, tg_err *err);

/* tg_calendar_check - a calendar must have working time in some weekday. */
int tg_calendar_check(const tg_calendar *cal, tg_err *err);

/* tg_calendar_add - the instant when `seconds` of working time after start have passed.
 * Start outside hours counts from the next opening. -1 if no working time within 10 years. */
int64_t tg_calendar_add(const tg_calendar *cal, int64_t start, int64_t seconds);

/* tg_calendar_next_open - t itself when working time, else the next opening (-1: none). */
int64_t tg_calendar_next_open(const tg_calendar *cal, int64_t t);

/* tg_calendar_day_length - working seconds of an average working day (86400 when 24x7), so
 * "1d" of an SLA means one working day. */
int64_t tg_calendar_day_length(const tg_calendar *cal);

const char *tg_calendar_name(const tg_calendar *cal);
GTimeZone *tg_calendar_zone(const tg_calendar *cal); /* borrowed */

#endif
