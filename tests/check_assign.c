/* check_assign.c - the assignment strategy and reply templates. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "tg_assign.h"
#include "tg_template.h"

static const struct pick_case {
    const char *name;
    tg_assign_candidate c[3];
    size_t n;
    const char *want; /* agent, or NULL with a reason containing `reason` */
    const char *reason;
} pick_cases[] = {
    {"least loaded", {{"ann", 1, 3, 10, 0}, {"bob", 1, 1, 10, 0}}, 2, "bob", NULL},
    {"tie: assigned longest ago", {{"ann", 1, 2, 10, 500}, {"bob", 1, 2, 10, 100}}, 2, "bob", NULL},
    {"tie on both: by name", {{"bob", 1, 2, 10, 0}, {"ann", 1, 2, 10, 0}}, 2, "ann", NULL},
    {"inactive skipped", {{"ann", 0, 0, 10, 0}, {"bob", 1, 5, 10, 0}}, 2, "bob", NULL},
    {"full skipped", {{"ann", 1, 10, 10, 0}, {"bob", 1, 9, 10, 0}}, 2, "bob", NULL},
    {"nobody eligible",
     {{"ann", 0, 0, 10, 0}, {"bob", 1, 10, 10, 0}},
     2,
     NULL,
     "1 inactive, 1 at their limit"},
    {"empty group", {{0}}, 0, NULL, "no agent in the group"},
};

START_TEST(test_pick)
{
    const struct pick_case *pc = &pick_cases[_i];
    char reason[200] = "";
    int i = tg_assign_pick(pc->c, pc->n, reason, sizeof reason);
    if (pc->want) {
        ck_assert_msg(i >= 0 && strcmp(pc->c[i].agent, pc->want) == 0, "%s: got %s", pc->name,
                      i >= 0 ? pc->c[i].agent : "nobody");
    } else {
        ck_assert_int_eq(i, -1);
        ck_assert_msg(strstr(reason, pc->reason), "%s: reason \"%s\"", pc->name, reason);
    }
}
END_TEST

static const struct render_case {
    const char *text, *want;
} render_cases[] = {
    {"Ticket {{ref}} due {{due}}", "Ticket SUP-7 due tomorrow"},
    {"{{ref}}{{ref}}", "SUP-7SUP-7"},
    {"keep {{unknown}} and {{ broken", "keep {{unknown}} and {{ broken"},
    {"{{subject}}", "Тема {{ref}}"}, /* values are not expanded again */
    {"", ""},
};

START_TEST(test_render)
{
    tg_template_var vars[] = {{"ref", "SUP-7"}, {"due", "tomorrow"}, {"subject", "Тема {{ref}}"}};
    char *got = tg_template_render(render_cases[_i].text, vars, G_N_ELEMENTS(vars));
    ck_assert_str_eq(got, render_cases[_i].want);
    g_free(got);
}
END_TEST

START_TEST(test_unknown_var_and_builtins)
{
    char *bad = tg_template_unknown_var("{{ref}} {{dew}}");
    ck_assert_str_eq(bad, "dew");
    g_free(bad);
    ck_assert_ptr_null(tg_template_unknown_var("{{ref}} {{due}}"));
    for (const char *const *name = tg_template_names; *name; name++) {
        const char *subject, *body;
        ck_assert(tg_template_builtin(*name, "ru", &subject, &body));
        ck_assert_ptr_null(tg_template_unknown_var(subject));
        ck_assert_ptr_null(tg_template_unknown_var(body));
    }
}
END_TEST

static const struct due_case {
    const char *zone, *local, *lang, *want;
} due_cases[] = {
    {"Europe/Moscow", "2026-11-24 13:00", "en", "Tue 24 Nov 2026 13:00 MSK"},
    {"Europe/Moscow", "2026-11-24 13:00", "ru", "вт, 24 ноября 2026, 13:00 MSK"},
    {"Europe/Berlin", "2026-07-05 09:30", "ru", "вс, 5 июля 2026, 09:30 CEST"},
};

START_TEST(test_format_due)
{
    const struct due_case *c = &due_cases[_i];
    GTimeZone *zone = g_time_zone_new_identifier(c->zone);
    char *got = tg_format_due(tu_local(c->zone, c->local), zone, c->lang);
    ck_assert_str_eq(got, c->want);
    g_free(got);
    got = tg_format_due(-1, zone, c->lang);
    ck_assert_str_eq(got, strcmp(c->lang, "ru") == 0 ? "в ближайшее время" : "as soon as possible");
    g_free(got);
    g_time_zone_unref(zone);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("assign");
    TCase *tc = tcase_create("core");
    tcase_add_loop_test(tc, test_pick, 0, G_N_ELEMENTS(pick_cases));
    tcase_add_loop_test(tc, test_render, 0, G_N_ELEMENTS(render_cases));
    tcase_add_test(tc, test_unknown_var_and_builtins);
    tcase_add_loop_test(tc, test_format_due, 0, G_N_ELEMENTS(due_cases));
    suite_add_tcase(s, tc);
    return tu_run(s);
}
