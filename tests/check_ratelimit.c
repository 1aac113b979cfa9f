/* check_ratelimit.c - flood control per sender: the limit per window, one notice per window,
 * and the memory it keeps only for the senders of the last window. */
#include <check.h>
#include <stdio.h>

#include "testutil.h"
#include "tg_ratelimit.h"

START_TEST(test_limit_per_window)
{
    tg_ratelimit *r = tg_ratelimit_new();
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(tg_ratelimit_hit(r, "ann@example.test", 3, 60, 1000 + i), TG_RATE_OK);
    ck_assert_int_eq(tg_ratelimit_hit(r, "ann@example.test", 3, 60, 1010), TG_RATE_OVER_FIRST);
    ck_assert_int_eq(tg_ratelimit_hit(r, "ann@example.test", 3, 60, 1020), TG_RATE_OVER);
    ck_assert_int_eq(tg_ratelimit_hit(r, "ann@example.test", 3, 60, 1059), TG_RATE_OVER);
    /* another sender has a window of its own */
    ck_assert_int_eq(tg_ratelimit_hit(r, "bob@example.test", 3, 60, 1030), TG_RATE_OK);
    /* ann's window began at 1000: a new one at 1060, with a new notice when over again */
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(tg_ratelimit_hit(r, "ann@example.test", 3, 60, 1060), TG_RATE_OK);
    ck_assert_int_eq(tg_ratelimit_hit(r, "ann@example.test", 3, 60, 1061), TG_RATE_OVER_FIRST);
    /* a clock set back starts a new window rather than blocking the sender until it catches up */
    ck_assert_int_eq(tg_ratelimit_hit(r, "ann@example.test", 3, 60, 500), TG_RATE_OK);
    tg_ratelimit_free(r);
}
END_TEST

/* A web chat with anonymous logins: every visitor a new JID. Only the last window's are kept. */
START_TEST(test_forgets_past_windows)
{
    tg_ratelimit *r = tg_ratelimit_new();
    char jid[64];
    for (int minute = 0; minute < 10; minute++) {
        for (int i = 0; i < 1000; i++) {
            snprintf(jid, sizeof jid, "%d-%d@anon.example.test", minute, i);
            ck_assert_int_eq(tg_ratelimit_hit(r, jid, 20, 60, 60 * minute + i % 60), TG_RATE_OK);
        }
        ck_assert_uint_le(tg_ratelimit_senders(r), 2000);
    }
    ck_assert_uint_ge(tg_ratelimit_senders(r), 1000);
    /* one message long after: everyone before it is forgotten */
    tg_ratelimit_hit(r, "late@example.test", 20, 60, 10000);
    ck_assert_uint_eq(tg_ratelimit_senders(r), 1);
    /* a sender over the limit is not forgotten while its window lasts */
    for (int i = 0; i < 21; i++)
        tg_ratelimit_hit(r, "flood@example.test", 20, 60, 10010);
    tg_ratelimit_hit(r, "other@example.test", 20, 60, 10061); /* sweeps: late's window is over */
    ck_assert_uint_eq(tg_ratelimit_senders(r), 2);
    ck_assert_int_eq(tg_ratelimit_hit(r, "flood@example.test", 20, 60, 10065), TG_RATE_OVER);
    tg_ratelimit_free(r);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ratelimit");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_limit_per_window);
    tcase_add_test(tc, test_forgets_past_windows);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
