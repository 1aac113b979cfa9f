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

#endif
