/* check_calendar.c - business-time arithmetic and SLA due times. */
#include <check.h>
#include <stdlib.h>

#include "testutil.h"
#include "tg_calendar.h"
#include "tg_sla.h"

#define BERLIN "Europe/Berlin"

static tg_calendar *office(const char *hours)
{
    tg_calendar *cal = tg_calendar_new("office", BERLIN, 0, NULL);
    for (int wd = 1; wd <= 5; wd++)
        ck_assert_int_eq(tg_calendar_set_hours(cal, wd, hours, NULL), 0);
    ck_assert_int_eq(tg_calendar_add_holiday(cal, "2026-12-25", NULL), 0);
    return cal;
}

static const struct add_case {
    const char *name, *hours, *start;
    const char *add; /* duration */
    const char *want;
} add_cases[] = {
    {"within the day", "09:00-18:00", "2026-11-24 10:00", "2h", "2026-11-24 12:00"},
    {"crosses the end of the day", "09:00-18:00", "2026-11-24 17:00", "2h", "2026-11-25 10:00"},
    {"crosses the weekend", "09:00-18:00", "2026-11-27 17:00", "2h", "2026-11-30 10:00"},
    {"starts on a Saturday", "09:00-18:00", "2026-11-28 12:00", "1h", "2026-11-30 10:00"},
    {"starts before opening", "09:00-18:00", "2026-11-24 07:00", "1h", "2026-11-24 10:00"},
    {"starts after closing", "09:00-18:00", "2026-11-24 19:30", "30m", "2026-11-25 09:30"},
    {"skips a holiday", "09:00-18:00", "2026-12-24 17:00", "2h", "2026-12-28 10:00"},
    {"several days", "09:00-18:00", "2026-11-23 09:00", "24h", "2026-11-25 15:00"},
    {"ends exactly at closing", "09:00-18:00", "2026-11-24 09:00", "9h", "2026-11-24 18:00"},
    {"zero at closing time waits", "09:00-18:00", "2026-11-24 18:00", "0", "2026-11-25 09:00"},
    {"lunch break", "09:00-13:00, 14:00-18:00", "2026-11-24 12:30", "1h", "2026-11-24 14:30"},
    {"midnight: round-the-clock weekdays", "00:00-24:00", "2026-11-27 23:00", "2h",
     "2026-11-30 01:00"},
    {"midnight: starts at midnight", "09:00-18:00", "2026-11-23 00:00", "1h", "2026-11-23 10:00"},
    {"DST ends between Friday and Monday", "09:00-18:00", "2026-10-23 17:00", "2h",
     "2026-10-26 10:00"},
    {"DST begins between Friday and Monday", "09:00-18:00", "2026-03-27 17:30", "1h",
     "2026-03-30 09:30"},
};

START_TEST(test_add)
{
    const struct add_case *c = &add_cases[_i];
    tg_calendar *cal = office(c->hours);
    int64_t secs;
    ck_assert_int_eq(tg_parse_duration(c->add, &secs), 0);
    char *got = tu_format(BERLIN, tg_calendar_add(cal, tu_local(BERLIN, c->start), secs));
    ck_assert_msg(g_strcmp0(got, c->want) == 0, "%s: %s + %s = %s, want %s", c->name, c->start,
                  c->add, got, c->want);
    g_free(got);
    tg_calendar_free(cal);
}
END_TEST

/* A Sunday-only round-the-clock calendar sees the 25-hour and 23-hour days of DST. */
START_TEST(test_dst_day_lengths)
{
    tg_calendar *cal = tg_calendar_new("sundays", BERLIN, 0, NULL);
    tg_calendar_set_hours(cal, 7, "00:00-24:00", NULL);
    int64_t autumn = tu_local(BERLIN, "2026-10-25 00:00");
    char *got = tu_format(BERLIN, tg_calendar_add(cal, autumn, 24 * 3600));
    ck_assert_str_eq(got, "2026-10-25 23:00"); /* 25 h that day: 24 h ends at 23:00 */
    g_free(got);
    int64_t spring = tu_local(BERLIN, "2026-03-29 00:00");
    got = tu_format(BERLIN, tg_calendar_add(cal, spring, 23 * 3600));
    ck_assert_str_eq(got, "2026-03-30 00:00"); /* 23 h that day: all of it */
    g_free(got);
    ck_assert_int_eq(tg_calendar_add(cal, spring, 23 * 3600) - spring, 23 * 3600);
    tg_calendar_free(cal);
}
END_TEST

START_TEST(test_24x7_and_next_open)
{
    tg_calendar *always = tg_calendar_new("24x7", "Europe/Moscow", 1, NULL);
    int64_t t = tu_local("Europe/Moscow", "2026-11-28 03:00");
    ck_assert_int_eq(tg_calendar_add(always, t, 4 * 3600), t + 4 * 3600);
    tg_calendar_free(always);

    tg_calendar *cal = office("09:00-18:00");
    ck_assert_int_eq(tg_calendar_next_open(cal, tu_local(BERLIN, "2026-11-24 10:00")),
                     tu_local(BERLIN, "2026-11-24 10:00"));
    ck_assert_int_eq(tg_calendar_next_open(cal, tu_local(BERLIN, "2026-11-28 10:00")),
                     tu_local(BERLIN, "2026-11-30 09:00"));
    tg_calendar_free(cal);
}
END_TEST

static const struct bad_case {
    const char *spec;
} bad_hours[] = {{"9-18"}, {"18:00-09:00"}, {"09:00-25:00"}, {"09:00-12:00,11:00-13:00"}, {"x"}};

START_TEST(test_bad_hours)
{
    tg_calendar *cal = tg_calendar_new("c", "UTC", 0, NULL);
    tg_err err = {0};
    ck_assert_int_eq(tg_calendar_set_hours(cal, 1, bad_hours[_i].spec, &err), TG_EINVAL);
    ck_assert_msg(err.msg[0], "no message for %s", bad_hours[_i].spec);
    tg_calendar_free(cal);
}
END_TEST

START_TEST(test_bad_zone_and_empty_calendar)
{
    tg_err err = {0};
    ck_assert_ptr_null(tg_calendar_new("c", "Mars/Olympus", 0, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "Mars/Olympus"));
    tg_calendar *cal = tg_calendar_new("c", "UTC", 0, NULL);
    ck_assert_int_eq(tg_calendar_check(cal, &err), TG_EINVAL);
    ck_assert_int_eq(tg_calendar_add(cal, 0, 60), -1);
    tg_calendar_free(cal);
}
END_TEST

/* ---- SLA policies ---- */

static const struct sla_case {
    const char *channel, *category, *priority;
    const char *want_fr, *want_res;
} sla_cases[] = {
    /* created Tue 2026-11-24 10:00 on a 09:00-18:00 Mon-Fri calendar */
    {"email", "general", "normal", "2026-11-24 14:00", "2026-11-27 10:00"},   /* 3 working days */
    {"email", "technical", "normal", "2026-11-24 14:00", "2026-11-25 10:00"}, /* 1 working day */
    {"email", "consultation", "normal", "2026-11-24 14:00", "2026-11-26 10:00"},
    {"email", "technical", "urgent", "2026-11-24 11:00", "2026-11-24 14:00"},
    {"xmpp", "general", "normal", "2026-11-24 10:01", "2026-11-27 10:00"},
    {"xmpp", "general", "urgent", "2026-11-24 10:30", "2026-11-24 14:00"},
};

START_TEST(test_sla)
{
    const struct sla_case *c = &sla_cases[_i];
    tg_calendar *cal = office("09:00-18:00");
    tg_sla_policy *pol = tg_sla_policy_new("standard", cal);
    static const char *const lines[][2] = {
        {"default", "4h 3d"},
        {"channel:xmpp", "90s -"},
        {"priority:urgent", "1h 4h"},
        {"category:technical", "4h 1d"},
        {"category:consultation", "4h 2d"},
        {"channel:xmpp+priority:urgent", "30m"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(lines); i++)
        ck_assert_int_eq(tg_sla_policy_set(pol, lines[i][0], lines[i][1], NULL), 0);
    tg_sla_due due;
    tg_sla_compute(pol, c->channel, c->category, c->priority, tu_local(BERLIN, "2026-11-24 10:00"),
                   &due);
    char *fr = tu_format(BERLIN, due.first_response), *res = tu_format(BERLIN, due.resolution);
    ck_assert_msg(g_strcmp0(fr, c->want_fr) == 0 && g_strcmp0(res, c->want_res) == 0,
                  "%s/%s/%s: got %s %s, want %s %s", c->channel, c->category, c->priority, fr, res,
                  c->want_fr, c->want_res);
    g_free(fr);
    g_free(res);
    tg_sla_policy_free(pol);
    tg_calendar_free(cal);
}
END_TEST

START_TEST(test_sla_errors_and_durations)
{
    tg_sla_policy *pol = tg_sla_policy_new("p", NULL);
    tg_err err = {0};
    ck_assert_int_eq(tg_sla_policy_set(pol, "colour:red", "4h", &err), TG_EINVAL);
    ck_assert_int_eq(tg_sla_policy_set(pol, "default", "4 hours", &err), TG_EINVAL);
    ck_assert_int_eq(tg_sla_policy_set(pol, "default", "", &err), TG_EINVAL);
    ck_assert_int_eq(tg_sla_policy_set(pol, "default", "4h1d", &err), TG_EINVAL);
    tg_sla_policy_free(pol);
    int64_t s;
    ck_assert_int_eq(tg_parse_duration("1h30m", &s), 0);
    ck_assert_int_eq(s, 5400);
    ck_assert_int_eq(tg_parse_duration("90s", &s), 0);
    ck_assert_int_eq(s, 90);
    ck_assert_int_eq(tg_parse_duration("2d", &s), 0);
    ck_assert_int_eq(s, 172800);
    ck_assert_int_eq(tg_parse_duration("1h30", &s), TG_EINVAL);
    ck_assert_int_eq(tg_parse_duration("h", &s), TG_EINVAL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("calendar");
    TCase *tc = tcase_create("core");
    tcase_add_loop_test(tc, test_add, 0, G_N_ELEMENTS(add_cases));
    tcase_add_test(tc, test_dst_day_lengths);
    tcase_add_test(tc, test_24x7_and_next_open);
    tcase_add_loop_test(tc, test_bad_hours, 0, G_N_ELEMENTS(bad_hours));
    tcase_add_test(tc, test_bad_zone_and_empty_calendar);
    tcase_add_loop_test(tc, test_sla, 0, G_N_ELEMENTS(sla_cases));
    tcase_add_test(tc, test_sla_errors_and_durations);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
