/* tg_calendar.c - business-time arithmetic. Local wall-clock intervals are turned into UTC
 * instants day by day with GDateTime, so DST changes and odd offsets are GLib's business. */
#include <stdio.h>
#include <string.h>

#include "tg_calendar.h"

#define MAX_INTERVALS 8
#define SEARCH_DAYS   3660

typedef struct interval {
    int start_min; /* minutes after local midnight */
    int end_min;   /* exclusive; 1440 = midnight at the end of the day */
} interval;

struct tg_calendar {
    char *name;
    GTimeZone *zone;
    int always_open;
    interval hours[8][MAX_INTERVALS]; /* [weekday 1..7] */
    int n_hours[8];
    GHashTable *holidays; /* julian day -> 1 */
};

tg_calendar *tg_calendar_new(const char *name, const char *tzid, int always_open, tg_err *err)
{
    GTimeZone *zone = g_time_zone_new_identifier(tzid && *tzid ? tzid : "UTC");
    if (!zone) {
        tg_err_set(err, TG_EINVAL, "unknown time zone \"%s\"", tzid);
        return NULL;
    }
    tg_calendar *cal = g_new0(tg_calendar, 1);
    cal->name = g_strdup(name);
    cal->zone = zone;
    cal->always_open = always_open;
    cal->holidays = g_hash_table_new(NULL, NULL);
    return cal;
}

void tg_calendar_free(tg_calendar *cal)
{
    if (!cal)
        return;
    g_free(cal->name);
    g_time_zone_unref(cal->zone);
    g_hash_table_destroy(cal->holidays);
    g_free(cal);
}

/* parse_clock - "HH:MM" (00:00 .. 24:00) to minutes; -1 if malformed. */
static int parse_clock(const char *s)
{
    int h, m, used = 0;
    if (sscanf(s, "%2d:%2d%n", &h, &m, &used) != 2 || s[used] != '\0')
        return -1;
    if (h < 0 || m < 0 || m > 59 || h > 24 || (h == 24 && m != 0))
        return -1;
    return h * 60 + m;
}

int tg_calendar_set_hours(tg_calendar *cal, int weekday, const char *spec, tg_err *err)
{
    int rc = TG_OK;
    char **parts = NULL;

    cal->n_hours[weekday] = 0;
    parts = g_strsplit(spec ? spec : "", ",", -1);
    if (!parts[0] || (!parts[1] && (g_ascii_strcasecmp(g_strstrip(parts[0]), "closed") == 0 ||
                                    parts[0][0] == '\0')))
        goto out;
    for (char **p = parts; *p; p++) {
        char *range = g_strstrip(*p);
        char *dash = strchr(range, '-');
        int from, to;
        if (!dash) {
            rc = tg_err_set(err, TG_EINVAL, "\"%s\" is not a range like 09:00-18:00", range);
            goto out;
        }
        *dash = '\0';
        from = parse_clock(g_strstrip(range));
        to = parse_clock(g_strstrip(dash + 1));
        if (from < 0 || to < 0 || to <= from) {
            rc =
                tg_err_set(err, TG_EINVAL, "bad working hours \"%s-%s\" (HH:MM-HH:MM, start < end)",
                           range, dash + 1);
            goto out;
        }
        int n = cal->n_hours[weekday];
        if (n == MAX_INTERVALS) {
            rc = tg_err_set(err, TG_EINVAL, "more than %d intervals in a day", MAX_INTERVALS);
            goto out;
        }
        if (n > 0 && from < cal->hours[weekday][n - 1].end_min) {
            rc = tg_err_set(err, TG_EINVAL, "intervals must be in order and not overlap");
            goto out;
        }
        cal->hours[weekday][n] = (interval){from, to};
        cal->n_hours[weekday] = n + 1;
    }
out:
    g_strfreev(parts);
    return rc;
}

int tg_calendar_add_holiday(tg_calendar *cal, const char *date, tg_err *err)
{
    int y, m, d, used = 0;
    if (sscanf(date, "%4d-%2d-%2d%n", &y, &m, &d, &used) != 3 || date[used] != '\0' ||
        !g_date_valid_dmy(d, m, y))
        return tg_err_set(err, TG_EINVAL, "\"%s\" is not a date like 2026-12-31", date);
    GDate *gd = g_date_new_dmy(d, m, y);
    g_hash_table_add(cal->holidays, GUINT_TO_POINTER(g_date_get_julian(gd)));
    g_date_free(gd);
    return TG_OK;
}

int tg_calendar_check(const tg_calendar *cal, tg_err *err)
{
    if (cal->always_open)
        return TG_OK;
    for (int wd = 1; wd <= 7; wd++)
        if (cal->n_hours[wd] > 0)
            return TG_OK;
    return tg_err_set(err, TG_EINVAL, "calendar \"%s\" has no working hours on any day", cal->name);
}

/* local_instant - Unix time of minute-of-day `min` on local date day (1440 = next midnight). */
static int64_t local_instant(const tg_calendar *cal, const GDate *day, int min)
{
    GDate d = *day;
    if (min >= 1440) {
        g_date_add_days(&d, 1);
        min -= 1440;
    }
    GDateTime *dt = g_date_time_new(cal->zone, g_date_get_year(&d), g_date_get_month(&d),
                                    g_date_get_day(&d), min / 60, min % 60, 0);
    int64_t t = g_date_time_to_unix(dt);
    g_date_time_unref(dt);
    return t;
}

int64_t tg_calendar_add(const tg_calendar *cal, int64_t start, int64_t seconds)
{
    if (cal->always_open)
        return start + seconds;

    GDateTime *utc = g_date_time_new_from_unix_utc(start);
    GDateTime *local = g_date_time_to_timezone(utc, cal->zone);
    GDate day;
    g_date_clear(&day, 1);
    g_date_set_dmy(&day, g_date_time_get_day_of_month(local), g_date_time_get_month(local),
                   g_date_time_get_year(local));
    g_date_time_unref(local);
    g_date_time_unref(utc);

    int64_t now = start, left = seconds;
    for (int i = 0; i < SEARCH_DAYS; i++, g_date_add_days(&day, 1)) {
        int wd = g_date_get_weekday(&day);
        if (g_hash_table_contains(cal->holidays, GUINT_TO_POINTER(g_date_get_julian(&day))))
            continue;
        for (int k = 0; k < cal->n_hours[wd]; k++) {
            int64_t open = local_instant(cal, &day, cal->hours[wd][k].start_min);
            int64_t close = local_instant(cal, &day, cal->hours[wd][k].end_min);
            if (close <= now)
                continue;
            if (open < now)
                open = now;
            if (left < close - open)
                return open + left;
            left -= close - open;
            if (left == 0)
                return close;
        }
    }
    return -1;
}

int64_t tg_calendar_next_open(const tg_calendar *cal, int64_t t)
{
    return tg_calendar_add(cal, t, 0);
}

int64_t tg_calendar_day_length(const tg_calendar *cal)
{
    int64_t minutes = 0, days = 0;
    if (cal->always_open)
        return 86400;
    for (int wd = 1; wd <= 7; wd++) {
        for (int k = 0; k < cal->n_hours[wd]; k++)
            minutes += cal->hours[wd][k].end_min - cal->hours[wd][k].start_min;
        days += cal->n_hours[wd] > 0;
    }
    return days ? minutes * 60 / days : 0;
}

const char *tg_calendar_name(const tg_calendar *cal)
{
    return cal->name;
}

GTimeZone *tg_calendar_zone(const tg_calendar *cal)
{
    return cal->zone;
}
