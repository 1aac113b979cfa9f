/* check_rules.c - the rule language, the shipped rule file, and config loading errors. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <glib/gstdio.h>

#include "testutil.h"
#include "tg_config.h"
#include "tg_rules.h"
#include "tg_sla.h"

static tg_inbound *message(const char *subject, const char *text, const char *from)
{
    tg_inbound *in = tg_inbound_new("email");
    g_free(in->subject);
    g_free(in->text);
    g_free(in->sender);
    in->subject = g_strdup(subject);
    in->text = g_strdup(text);
    in->sender = g_strdup(from);
    return in;
}

static const char *const rule_file =
    "[rule vip]\n"
    "if = from ~ '@vip\\.example$' and not subject ~ 'test'\n"
    "priority = high\n"
    "\n"
    "[rule outage]\n"
    "if = subject ~ 'АВАРИЯ|outage' or (header \"X-Priority\" ~ '^1' and body ~ 'down')\n"
    "priority = urgent\n"
    "category = urgent\n"
    "tags = urgent, pager\n"
    "\n"
    "[rule chat]\n"
    "if = channel = 'XMPP'\n"
    "category = chat\n"
    "auto_reply = false\n";

static const struct classify_case {
    const char *subject, *text, *from, *want_rule;
} classify_cases[] = {
    {"Hello", "", "boss@vip.example", "vip"},
    {"a test", "", "boss@vip.example", "default"},
    {"Авария на складе", "", "x@y.example", "outage"}, /* caseless Cyrillic */
    {"OUTAGE", "", "x@y.example", "outage"},
    {"help", "server is down", "x@y.example", "outage"}, /* header and body */
    {"help", "server is up", "x@y.example", "default"},
};

START_TEST(test_classify)
{
    const struct classify_case *c = &classify_cases[_i];
    char *path = tu_write("rules.conf", rule_file);
    tg_err err = {0};
    tg_rules *rules = tg_rules_load(path, NULL, &err);
    ck_assert_msg(rules != NULL, "%s", err.msg);
    tg_inbound *in = message(c->subject, c->text, c->from);
    in->headers = g_new0(tg_header, 1);
    in->headers[0] = (tg_header){g_strdup("X-Priority"), g_strdup("1 (Highest)")};
    in->n_headers = 1;
    tg_verdict v;
    tg_rules_classify(rules, in, &v);
    ck_assert_msg(strcmp(v.action->rule, c->want_rule) == 0, "[%s] got %s, want %s", c->subject,
                  v.action->rule, c->want_rule);
    if (strcmp(c->want_rule, "outage") == 0) {
        ck_assert_str_eq(v.action->priority, "urgent");
        ck_assert_str_eq(v.action->tags[1], "pager");
        ck_assert_msg(strstr(v.why, "matched"), "why: %s", v.why);
    }
    tg_inbound_free(in);
    tg_rules_free(rules);
    g_free(path);
}
END_TEST

START_TEST(test_channel_equality_and_no_reply)
{
    char *path = tu_write("rules.conf", rule_file);
    tg_rules *rules = tg_rules_load(path, NULL, NULL);
    tg_inbound *in = message("hi", "", "x@y.example");
    g_free(in->channel);
    in->channel = g_strdup("xmpp");
    tg_verdict v;
    tg_rules_classify(rules, in, &v);
    ck_assert_str_eq(v.action->rule, "chat");
    ck_assert_int_eq(v.action->no_auto_reply, 1);
    tg_inbound_free(in);
    tg_rules_free(rules);
    g_free(path);
}
END_TEST

static const struct error_case {
    const char *text, *want; /* want: a part of the message, including the line */
} error_cases[] = {
    {"[rule a]\nif = subjet ~ 'x'\n", "rules.conf:2: [rule a] if: column 6: unknown field"},
    {"[rule a]\nif = subject ~ '(unclosed'\n", "rules.conf:2: [rule a] if:"},
    {"[rule a]\n\nif = subject ~ 'x' or\n", "rules.conf:3: [rule a] if:"},
    {"[rule a]\npriority = critical\n", "rules.conf:2: [rule a] priority: \"critical\" is not"},
    {"[rule a]\ncolour = red\n", "rules.conf:2: [rule a] colour: unknown key"},
    {"[rule a]\n[rule b]\nif = subject ~ 'x'\n", "rules.conf:2: [rule b]: can never match"},
    {"[policy a]\n", "rules.conf:1: [policy a]: expected a [rule NAME] section"},
    {"[rule a]\nthis line is junk\n", "rules.conf:2:"},
};

START_TEST(test_rule_errors)
{
    char *path = tu_write("rules.conf", error_cases[_i].text);
    tg_err err = {0};
    ck_assert_ptr_null(tg_rules_load(path, NULL, &err));
    ck_assert_msg(strstr(err.msg, error_cases[_i].want), "got \"%s\", want \"%s\"", err.msg,
                  error_cases[_i].want);
    g_free(path);
}
END_TEST

/* A catastrophic pattern on a large text is abandoned at the match limit, quickly. */
START_TEST(test_catastrophic_pattern_is_cut_off)
{
    char *path = tu_write("rules.conf", "[rule evil]\nif = body ~ '^(a+)+$'\npriority = high\n");
    tg_rules_limits limits = {100000, 1000};
    tg_rules *rules = tg_rules_load(path, &limits, NULL);
    GString *text = g_string_new(NULL);
    for (int i = 0; i < 20000; i++)
        g_string_append_c(text, 'a');
    g_string_append_c(text, 'b');
    tg_inbound *in = message("x", text->str, "x@y.example");
    tg_verdict v;
    gint64 t0 = g_get_monotonic_time();
    tg_rules_classify(rules, in, &v);
    gint64 elapsed = g_get_monotonic_time() - t0;
    ck_assert_str_eq(v.action->rule, "default");
    ck_assert_int_eq(v.cut_off, 1);
    ck_assert_msg(elapsed < 5 * G_USEC_PER_SEC, "took %lld us", (long long)elapsed);
    tg_inbound_free(in);
    g_string_free(text, TRUE);
    tg_rules_free(rules);
    g_free(path);
}
END_TEST

/* The shipped rule file encodes the service-standard table in Russian and English. */
static const struct shipped_case {
    const char *subject, *text, *category;
} shipped_cases[] = {
    {"СРОЧНО: сайт лежит", "", "urgent"},
    {"Urgent: production outage", "", "urgent"},
    {"Ошибка при оплате", "выходит ошибка", "technical"},
    {"Login problem", "I cannot log in, error 500", "technical"},
    {"Вопрос", "Подскажите, как изменить тариф", "consultation"},
    {"Question about invoices", "How do I download them", "consultation"},
    {"Жалоба на оператора", "", "complaint"},
    {"Complaint", "This is unacceptable", "complaint"},
    {"Спасибо!", "Всё заработало", "thanks"},
    {"Thank you", "all good now", "thanks"},
    {"Hello", "Please call me back", "general"},
};

START_TEST(test_shipped_rules)
{
    const struct shipped_case *c = &shipped_cases[_i];
    const char *srcdir = g_getenv("srcdir");
    char *path = g_build_filename(srcdir ? srcdir : ".", "contrib", "rules.conf", NULL);
    tg_err err = {0};
    tg_rules *rules = tg_rules_load(path, NULL, &err);
    ck_assert_msg(rules != NULL, "%s", err.msg);
    tg_inbound *in = message(c->subject, c->text, "customer@example.net");
    tg_verdict v;
    tg_rules_classify(rules, in, &v);
    ck_assert_msg(g_strcmp0(v.action->category, c->category) == 0, "[%s] got %s (rule %s), want %s",
                  c->subject, v.action->category, v.action->rule, c->category);
    tg_inbound_free(in);
    tg_rules_free(rules);
    g_free(path);
}
END_TEST

/* ---- config ---- */

static const struct config_error_case {
    const char *text, *want;
} config_errors[] = {
    {"[store]\nbusy_timeout = soon\n",
     "t.conf:2: [store] busy_timeout: \"soon\" is not a duration"},
    {"[store]\nsynchronous = off\n", "t.conf:2: [store] synchronous: \"off\" is not one of"},
    {"[limits]\n\nmax_text_size = 1\n", "t.conf:3: [limits] max_text_size: 1 is out of range"},
    {"[general]\ntimezone = Nowhere/City\n", "t.conf:2: [general] timezone: unknown time zone"},
    {"[general]\ncolour = red\n", "t.conf:2: [general] colour: unknown directive"},
    {"[queues]\n", "t.conf:1: [queues]: unknown section"},
    {"[queue sales]\nsla = gold\n", "t.conf:2: [queue sales] sla: no [sla gold] section"},
    {"[calendar office]\nmon = 9-18\n", "t.conf:2: [calendar office] mon:"},
    {"[sla gold]\npriority:urgent = fast\n", "t.conf:2: [sla gold] priority:urgent:"},
    {"[agent bob]\nname = Bob\n", "t.conf:1: [agent bob]: an agent needs an email or a jid"},
    {"[template autoreply]\nbody = {{reff}}\n",
     "t.conf:2: [template autoreply] body: unknown variable"},
    {"junk line\n", "t.conf:1:"},
    /* empty values name nothing (an empty agent email crashed every program) */
    {"[agent bob]\nemail =\njid = bob@example.org\n", "t.conf:2: [agent bob] email: empty"},
    {"[queue s]\nprefix = \n", "t.conf:2: [queue s] prefix: empty"},
    {"[store]\npath =\n", "t.conf:2: [store] path: empty"},
    {"[calendar c]\ntimezone =\n", "t.conf:2: [calendar c] timezone: empty"},
    /* addresses that nothing could ever match */
    {"[agent bob]\njid = bob\n", "t.conf:2: [agent bob] jid: \"bob\" is not an address"},
    {"[agent bob]\njid = bob@example.org/phone\n", "jid: \"bob@example.org/phone\" is a full JID"},
    {"[agent bob]\nemail = Bob Smith <bob@example.org>\n",
     "t.conf:2: [agent bob] email: \"Bob Smith <bob@example.org>\" has a space"},
    {"[queue s]\naddresses = support@example.org, help\n",
     "t.conf:2: [queue s] addresses: \"help\" is not an address"},
    {"[queue s]\nxmpp = support@help.example.org\n",
     "t.conf:2: [queue s] xmpp: \"support@help.example.org\" is not a local part"},
    {"# a key before any section\n\ntimezone = UTC\n[general]\n",
     "t.conf:3: Key file does not start with a group"},
};

START_TEST(test_config_errors)
{
    char *rules = tu_write("rules.conf", "[rule default]\n");
    char *text = g_strdup_printf("%s\n[rules]\nfile = %s\n", config_errors[_i].text, rules);
    char *path = tu_write("t.conf", text);
    tg_err err = {0};
    ck_assert_ptr_null(tg_config_load(path, &err));
    ck_assert_msg(strstr(err.msg, config_errors[_i].want), "got \"%s\", want \"%s\"", err.msg,
                  config_errors[_i].want);
    g_free(rules);
    g_free(text);
    g_free(path);
}
END_TEST

/* A rules file that is not there is reported at the line that names it, or (left to its
 * default) without a line: there is none. */
START_TEST(test_rules_file_missing)
{
    tg_err err = {0};
    char *named = tu_write("named.conf", "[general]\ncompany = X\n[rules]\nfile = nothere.conf\n");
    ck_assert_ptr_null(tg_config_load(named, &err));
    char *want = g_strdup_printf("%s:4: [rules] file: ", named);
    ck_assert_msg(g_str_has_prefix(err.msg, want) &&
                      g_str_has_suffix(err.msg, "nothere.conf: no such file"),
                  "got \"%s\"", err.msg);
    g_free(want);
    /* a directory of its own, where no rules.conf is */
    char *dir = g_build_filename(tu_tmpdir(), "no-rules", NULL);
    g_mkdir(dir, 0700);
    char *rules = g_build_filename(dir, "rules.conf", NULL);
    char *unnamed = tu_write("no-rules/unnamed.conf", "[general]\ncompany = X\n");
    ck_assert_ptr_null(tg_config_load(unnamed, &err));
    want = g_strdup_printf("%s: [rules] file: %s: no such file", unnamed, rules);
    ck_assert_str_eq(err.msg, want);
    g_free(want);
    g_free(rules);
    g_free(dir);
    g_free(named);
    g_free(unnamed);
}
END_TEST

START_TEST(test_config_defaults_and_lookups)
{
    tu_write("rules.conf", "[rule r]\nif = subject ~ 'x'\nqueue = billing\n");
    char *path =
        tu_write("t.conf", "[queue support]\naddresses = Support@Example.org\n"
                           "[queue billing]\naddresses = billing@example.org\n"
                           "xmpp = billing\nprefix = BIL\n"
                           "[agent ann]\nemail = Ann@Example.org\ngroups = support\nname =\n"
                           "[template autoreply]\nsubject[ru] = Обращение {{ref}}\n");
    tg_err err = {0};
    tg_config *cfg = tg_config_load(path, &err);
    ck_assert_msg(cfg != NULL, "%s", err.msg);
    ck_assert_str_eq(cfg->default_queue, "support");
    ck_assert_str_eq(cfg->synchronous, "full");
    ck_assert_int_eq(cfg->busy_timeout, 10);
    ck_assert_int_eq(cfg->max_text_size, 256 * 1024);
    ck_assert_str_eq(tg_config_queue_for(cfg, "email", "SUPPORT+urgent@example.org")->name,
                     "support");
    ck_assert_str_eq(tg_config_queue_for(cfg, "xmpp", "Billing@help.example.org")->name, "billing");
    ck_assert_ptr_null(tg_config_queue_for(cfg, "xmpp", "help.example.org"));
    ck_assert_ptr_null(tg_config_queue_for(cfg, "xmpp", "support@help.example.org"));
    ck_assert_ptr_null(tg_config_queue_for(cfg, "email", "sales@example.org"));
    ck_assert_str_eq(tg_config_queue(cfg, "support")->prefix, "SUP");
    ck_assert_str_eq(tg_config_agent_for(cfg, "ann@example.ORG")->id, "ann");
    ck_assert_str_eq(tg_config_agent_for(cfg, "ann@example.org")->name, "ann"); /* name empty */
    ck_assert_ptr_nonnull(tg_config_policy(cfg, "standard"));
    const char *subject, *body;
    ck_assert_str_eq(tg_config_template(cfg, "autoreply", "ru", &subject, &body), "ru");
    ck_assert_str_eq(subject, "Обращение {{ref}}");
    ck_assert_ptr_nonnull(strstr(body, "Здравствуйте")); /* body keeps the built-in */
    /* unknown language: English, and the reply says so */
    ck_assert_str_eq(tg_config_template(cfg, "autoreply", "de", &subject, &body), "en");
    ck_assert_str_eq(subject, "Re: [{{ref}}] {{subject}}");
    ck_assert_str_eq(tg_rules_action(cfg->rules, 0)->queue, "billing");
    tg_config_unref(cfg);
    g_free(path);

    /* A rule naming a queue that does not exist is refused with the rule's line. */
    tu_write("rules.conf", "\n[rule r]\nqueue = nowhere\n");
    path = tu_write("t.conf", "[queue support]\n");
    ck_assert_ptr_null(tg_config_load(path, &err));
    ck_assert_msg(strstr(err.msg, "rules.conf:2: [rule r]: no queue \"nowhere\""), "%s", err.msg);
    g_free(path);
}
END_TEST

/* The built-in standard policy on the built-in business calendar (Mon-Fri 09-18 in [general]
 * timezone): chats are answered within 90 s whatever rule classified them, mail within 4 h (1 h
 * urgent); the category sets the resolution. */
static const struct standard_case {
    const char *channel, *category, *priority;
    int64_t fr, res; /* seconds after Tue 24 Nov 2026 10:00 MSK */
} standard_cases[] = {
    {"xmpp", "technical", "normal", 90, 24 * 3600},
    {"xmpp", "consultation", "normal", 90, 2 * 24 * 3600},
    {"xmpp", "general", "normal", 90, 3 * 24 * 3600},
    {"xmpp", "technical", "urgent", 90, 4 * 3600},
    {"email", "technical", "normal", 4 * 3600, 24 * 3600},
    {"email", "complaint", "normal", 4 * 3600, 3 * 24 * 3600},
    {"email", "general", "urgent", 3600, 4 * 3600},
};

START_TEST(test_standard_policy)
{
    const struct standard_case *c = &standard_cases[_i];
    tu_write("rules.conf", "[rule default]\n");
    char *path = tu_write("t.conf", "[general]\ntimezone = Europe/Moscow\n[queue support]\n");
    tg_err err = {0};
    tg_config *cfg = tg_config_load(path, &err);
    ck_assert_msg(cfg != NULL, "%s", err.msg);
    const int64_t created = 1795503600; /* Tue 24 Nov 2026 10:00 MSK */
    tg_sla_due due;
    tg_sla_compute(tg_config_policy(cfg, "standard"), c->channel, c->category, c->priority, created,
                   &due);
    ck_assert_msg(due.first_response - created == c->fr && due.resolution - created == c->res,
                  "%s/%s/%s: first response +%llds, resolution +%llds; want +%llds, +%llds",
                  c->channel, c->category, c->priority, (long long)(due.first_response - created),
                  (long long)(due.resolution - created), (long long)c->fr, (long long)c->res);
    tg_config_unref(cfg);
    g_free(path);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("rules");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, test_classify, 0, G_N_ELEMENTS(classify_cases));
    tcase_add_test(tc, test_channel_equality_and_no_reply);
    tcase_add_loop_test(tc, test_rule_errors, 0, G_N_ELEMENTS(error_cases));
    tcase_add_test(tc, test_catastrophic_pattern_is_cut_off);
    tcase_add_loop_test(tc, test_shipped_rules, 0, G_N_ELEMENTS(shipped_cases));
    tcase_add_loop_test(tc, test_config_errors, 0, G_N_ELEMENTS(config_errors));
    tcase_add_test(tc, test_config_defaults_and_lookups);
    tcase_add_test(tc, test_rules_file_missing);
    tcase_add_loop_test(tc, test_standard_policy, 0, G_N_ELEMENTS(standard_cases));
    suite_add_tcase(s, tc);
    return tu_run(s);
}
