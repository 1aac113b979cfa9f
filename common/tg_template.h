/* tg_template.h - reply texts with {{variables}}, built-in English and Russian defaults,
 * and due times written for a customer in their language and the calendar's time zone. */
#ifndef TG_TEMPLATE_H
#define TG_TEMPLATE_H

#include <glib.h>
#include <stdint.h>
#include <string.h>

typedef struct tg_template_var {
    const char *name;
    const char *value;
} tg_template_var;

/* The variables a template may use; anything else is a config error. */
extern const char *const tg_template_var_names[];

/* tg_template_render - text with each {{name}} replaced; unknown names are left as written.
 * Caller g_free()s. */
char *tg_template_render(const char *text, const tg_template_var *vars, size_t n_vars);

/* tg_template_unknown_var - the first {{name}} in text that is not a known variable
 * (caller g_free()s), or NULL when all are known. */
char *tg_template_unknown_var(const char *text);

/* tg_template_builtin - the default subject and body of template name in lang ("en"/"ru"),
 * or 0 when there is none. Static strings. */
int tg_template_builtin(const char *name, const char *lang, const char **subject,
                        const char **body);

/* The names of the built-in templates, NULL-terminated. */
extern const char *const tg_template_names[];

/* TG_SAID - the text in lang: ru for "ru", else en. A macro, so that a format string chosen
 * by it is still checked against its arguments. */
#define TG_SAID(lang, en, ru) ((lang) && strcmp((lang), "ru") == 0 ? (ru) : (en))

/* tg_format_due - "Tue 24 Nov 2026 13:00 MSK" / "вт, 24 ноября 2026, 13:00 MSK"; for t < 0 the
 * language's "as soon as possible". Caller g_free()s. */
char *tg_format_due(int64_t t, GTimeZone *zone, const char *lang);

/* tg_format_rfc5322 - "Tue, 24 Nov 2026 13:00:00 +0300" in zone. Caller g_free()s. */
char *tg_format_rfc5322(int64_t t, GTimeZone *zone);

#endif
