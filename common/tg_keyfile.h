/* tg_keyfile.h - an INI file read with GKeyFile, plus the line numbers GKeyFile does not
 * keep, so every error can say "file:line: [group] key: problem". One owner, not shared. */
#ifndef TG_KEYFILE_H
#define TG_KEYFILE_H

#include <glib.h>

#include "tg_err.h"

typedef struct tg_keyfile {
    GKeyFile *kf;
    char *path;
    char **lines; /* the file's text, for locating groups and keys */
} tg_keyfile;

/* tg_keyfile_load - parse path; NULL with err ("file:line: ...") on a syntax error. */
tg_keyfile *tg_keyfile_load(const char *path, tg_err *err);
void tg_keyfile_free(tg_keyfile *kf); /* NULL-safe */

/* tg_keyfile_line - 1-based line of key in group (of the group header when key is NULL); 0. */
int tg_keyfile_line(const tg_keyfile *kf, const char *group, const char *key);

/* tg_keyfile_fail - set err to "path:line: [group] key: <fmt>" and return TG_EINVAL. */
int tg_keyfile_fail(const tg_keyfile *kf, tg_err *err, const char *group, const char *key,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* tg_split_list - "a, b; c" -> {"a", "b", "c", NULL}, blanks dropped; g_strfreev(). */
char **tg_split_list(const char *raw);

/* tg_keyfile_locale_string - the value of key[locale] exactly (no fallback), or NULL. */
char *tg_keyfile_locale_string(const tg_keyfile *kf, const char *group, const char *key,
                               const char *locale);

#endif
