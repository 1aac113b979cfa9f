/* testutil.h - small helpers shared by the Check suites. */
#ifndef TESTUTIL_H
#define TESTUTIL_H

#include <check.h>
#include <glib.h>
#include <stdint.h>

/* tu_tmpdir - a fresh temporary directory (removed by tu_cleanup). */
const char *tu_tmpdir(void);
void tu_cleanup(void);
/* tu_write - write text to dir/name; returns the path (g_free). */
char *tu_write(const char *name, const char *text);
/* tu_local - Unix time of local "YYYY-MM-DD HH:MM" in zone tzid. */
int64_t tu_local(const char *tzid, const char *when);
/* tu_format - t as local "YYYY-MM-DD HH:MM" in zone tzid (g_free). */
char *tu_format(const char *tzid, int64_t t);
/* tu_data - path of a file under tests/data (g_free). */
char *tu_data(const char *name);

/* tu_run - run the suite, remove the temporary directory; the exit status for main. */
int tu_run(Suite *s);

/* The fuzz tests' common ground. tu_fuzz_rng - the generator FUZZ_SEED names (default
 * 20261124), and FUZZ_ITERATIONS (default 2000) in *iterations. tu_fuzz_config - a configuration
 * with the shipped rules, Moscow time, a store in the temporary directory, and the sections in
 * extra; NULL, said on stderr, when it cannot be loaded. */
GRand *tu_fuzz_rng(unsigned long *iterations);
struct tg_config *tu_fuzz_config(const char *extra);

#endif
