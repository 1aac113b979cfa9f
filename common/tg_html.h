/* tg_html.h - readable plain text from an HTML body, for HTML-only mail. */
#ifndef TG_HTML_H
#define TG_HTML_H

#include <stddef.h>

/* tg_html_to_text - tags dropped (script/style/head with their content), block ends as line
 * breaks, entities decoded, blank runs collapsed. Input and output UTF-8; caller g_free()s. */
char *tg_html_to_text(const char *html, size_t len);

#endif
