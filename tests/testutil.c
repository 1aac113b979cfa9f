/* testutil.c - helpers for the Check suites. */
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>

#include "testutil.h"
#include "tg_config.h"

static char *dir;

const char *tu_tmpdir(void)
{
    if (!dir)
        dir = g_dir_make_tmp("tgtest-XXXXXX", NULL);
    return dir;
}

void tu_cleanup(void)
{
    if (!dir)
        return;
    char *cmd = g_strdup_printf("rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    g_free(cmd);
    g_free(dir);
    dir = NULL;
}

char *tu_write(const char *name, const char *text)
{
    char *path = g_build_filename(tu_tmpdir(), name, NULL);
    if (!g_file_set_contents(path, text, -1, NULL))
        abort();
    return path;
}

int64_t tu_local(const char *tzid, const char *when)
{
    int y, mo, d, h, mi;
    if (sscanf(when, "%d-%d-%d %d:%d", &y, &mo, &d, &h, &mi) != 5)
        abort();
    GTimeZone *zone = g_time_zone_new_identifier(tzid);
    GDateTime *dt = g_date_time_new(zone, y, mo, d, h, mi, 0);
    int64_t t = g_date_time_to_unix(dt);
    g_date_time_unref(dt);
    g_time_zone_unref(zone);
    return t;
}

char *tu_format(const char *tzid, int64_t t)
{
    GTimeZone *zone = g_time_zone_new_identifier(tzid);
    GDateTime *utc = g_date_time_new_from_unix_utc(t);
    GDateTime *dt = g_date_time_to_timezone(utc, zone);
    char *s = g_date_time_format(dt, "%Y-%m-%d %H:%M");
    g_date_time_unref(dt);
    g_date_time_unref(utc);
    g_time_zone_unref(zone);
    return s;
}

char *tu_data(const char *name)
{
    const char *srcdir = g_getenv("srcdir");
    return g_build_filename(srcdir ? srcdir : ".", "tests", "data", name, NULL);
}

int tu_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    tu_cleanup();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

GRand *tu_fuzz_rng(unsigned long *iterations)
{
    const char *env = g_getenv("FUZZ_ITERATIONS");
    *iterations = env ? strtoul(env, NULL, 10) : 2000;
    env = g_getenv("FUZZ_SEED");
    return g_rand_new_with_seed(env ? (guint32)strtoul(env, NULL, 10) : 20261124);
}

tg_config *tu_fuzz_config(const char *extra)
{
    char *relative = tu_data("../../contrib/rules.conf");
    char *rules = g_canonicalize_filename(relative, NULL); /* the config's directory is elsewhere */
    g_free(relative);
    char *text = g_strdup_printf("[general]\ntimezone = Europe/Moscow\n[store]\npath = %s/fuzz.db\n"
                                 "synchronous = normal\n[rules]\nfile = %s\n%s",
                                 tu_tmpdir(), rules, extra);
    char *path = tu_write("fuzz.conf", text);
    tg_err err = {0};
    tg_config *cfg = tg_config_load(path, &err);
    if (!cfg)
        fprintf(stderr, "%s\n", err.msg);
    g_free(path);
    g_free(text);
    g_free(rules);
    return cfg;
}
