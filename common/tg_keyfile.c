/* tg_keyfile.c - GKeyFile with line numbers for error messages. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tg_keyfile.h"

/* is_group_line - the line is "[name]" (after leading blanks); *name gets a copy if so. */
static int is_group_line(const char *line, char **name)
{
    while (g_ascii_isspace(*line))
        line++;
    const char *end = strrchr(line, ']');
    if (*line != '[' || !end)
        return 0;
    if (name)
        *name = g_strndup(line + 1, end - line - 1);
    return 1;
}

/* line_key_is - the line sets key (optionally with a [locale] suffix). */
static int line_key_is(const char *line, const char *key)
{
    while (g_ascii_isspace(*line))
        line++;
    size_t n = strlen(key);
    if (strncmp(line, key, n) != 0)
        return 0;
    line += n;
    while (*line == ' ' || *line == '\t')
        line++;
    return *line == '=' || *line == '[';
}

int tg_keyfile_line(const tg_keyfile *kf, const char *group, const char *key)
{
    int in_group = 0, group_line = 0;

    for (int i = 0; kf->lines[i]; i++) {
        char *name = NULL;
        if (is_group_line(kf->lines[i], &name)) {
            in_group = group && strcmp(name, group) == 0;
            if (in_group && !group_line)
                group_line = i + 1;
            g_free(name);
            if (in_group && !key)
                return i + 1;
            continue;
        }
        if (in_group && key && line_key_is(kf->lines[i], key))
            return i + 1;
    }
    return group_line;
}

int tg_keyfile_fail(const tg_keyfile *kf, tg_err *err, const char *group, const char *key,
                    const char *fmt, ...)
{
    char what[400];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    int line = tg_keyfile_line(kf, group, key);
    char *where = line ? g_strdup_printf("%s:%d", kf->path, line) : g_strdup(kf->path);
    tg_err_set(err, TG_EINVAL, "%s: [%s]%s%s: %s", where, group ? group : "", key ? " " : "",
               key ? key : "", what);
    g_free(where);
    return TG_EINVAL;
}

/* syntax_error_line - GKeyFile names no line; find the first line it cannot have accepted (a
 * key before any [section] too), or 0. */
static int syntax_error_line(char **lines)
{
    int in_group = 0;
    for (int i = 0; lines[i]; i++) {
        const char *l = lines[i];
        while (g_ascii_isspace(*l))
            l++;
        if (!*l || *l == '#')
            continue;
        if (is_group_line(l, NULL))
            in_group = 1;
        else if (*l == '[' || !strchr(l, '=') || *l == '=' || !in_group)
            return i + 1;
    }
    return 0;
}

tg_keyfile *tg_keyfile_load(const char *path, tg_err *err)
{
    char *text = NULL;
    gsize len = 0;
    GError *gerr = NULL;

    if (!g_file_get_contents(path, &text, &len, &gerr)) {
        tg_err_set(err, TG_EINVAL, "%s: %s", path, gerr->message);
        g_error_free(gerr);
        return NULL;
    }
    tg_keyfile *kf = g_new0(tg_keyfile, 1);
    kf->path = g_strdup(path);
    kf->kf = g_key_file_new();
    kf->lines = g_strsplit(text, "\n", -1);
    if (!g_key_file_load_from_data(kf->kf, text, len, G_KEY_FILE_KEEP_TRANSLATIONS, &gerr)) {
        int line = syntax_error_line(kf->lines);
        if (line)
            tg_err_set(err, TG_EINVAL, "%s:%d: %s", path, line, gerr->message);
        else
            tg_err_set(err, TG_EINVAL, "%s: %s", path, gerr->message);
        g_error_free(gerr);
        g_free(text);
        tg_keyfile_free(kf);
        return NULL;
    }
    g_free(text);
    return kf;
}

void tg_keyfile_free(tg_keyfile *kf)
{
    if (!kf)
        return;
    g_key_file_free(kf->kf);
    g_strfreev(kf->lines);
    g_free(kf->path);
    g_free(kf);
}

char **tg_split_list(const char *raw)
{
    char **items = g_strsplit_set(raw ? raw : "", ";,", -1);
    size_t k = 0;
    for (size_t i = 0; items[i]; i++) {
        char *item = g_strstrip(items[i]);
        if (*item)
            items[k++] = item;
        else
            g_free(item);
    }
    items[k] = NULL;
    return items;
}

char *tg_keyfile_locale_string(const tg_keyfile *kf, const char *group, const char *key,
                               const char *locale)
{
    char *found = g_key_file_get_locale_for_key(kf->kf, group, key, locale);
    char *value = NULL;
    if (found && strcmp(found, locale) == 0)
        value = g_key_file_get_locale_string(kf->kf, group, key, locale, NULL);
    g_free(found);
    return value;
}
