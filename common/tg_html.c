/* tg_html.c - HTML to text. Neither GMime nor GLib converts HTML, and a full HTML parser would
 * be a new dependency for a best-effort rendering; this keeps to what a ticket needs. */
#include <glib.h>
#include <string.h>

#include "tg_html.h"

static const struct {
    const char *name;
    gunichar ch;
} entities[] = {
    {"amp", '&'},       {"lt", '<'},       {"gt", '>'},       {"quot", '"'},     {"apos", '\''},
    {"nbsp", ' '},      {"laquo", 0xAB},   {"raquo", 0xBB},   {"mdash", 0x2014}, {"ndash", 0x2013},
    {"hellip", 0x2026}, {"copy", 0xA9},    {"reg", 0xAE},     {"trade", 0x2122}, {"euro", 0x20AC},
    {"bull", 0x2022},   {"ldquo", 0x201C}, {"rdquo", 0x201D}, {"lsquo", 0x2018}, {"rsquo", 0x2019},
    {"bdquo", 0x201E},  {"shy", 0},        {"zwnj", 0},       {"times", 0xD7},
};

/* decode_entity - p points after '&'; appends the character and returns bytes consumed
 * (0 if not an entity we know). */
static size_t decode_entity(const char *p, const char *end, GString *out)
{
    const char *semi = memchr(p, ';', MIN((size_t)(end - p), 12));
    if (!semi)
        return 0;
    gunichar ch = 0;
    size_t n = semi - p;
    if (n > 1 && p[0] == '#') {
        char *stop;
        char *num = g_strndup(p + 1, n - 1);
        ch = (gunichar)(num[0] == 'x' || num[0] == 'X' ? g_ascii_strtoull(num + 1, &stop, 16)
                                                       : g_ascii_strtoull(num, &stop, 10));
        int ok = *stop == '\0' && g_unichar_validate(ch) && ch != 0;
        g_free(num);
        if (!ok)
            ch = 0xFFFD;
    } else {
        size_t i;
        for (i = 0; i < G_N_ELEMENTS(entities); i++)
            if (strlen(entities[i].name) == n && strncmp(entities[i].name, p, n) == 0)
                break;
        if (i == G_N_ELEMENTS(entities))
            return 0;
        ch = entities[i].ch;
    }
    if (ch)
        g_string_append_unichar(out, ch);
    return n + 1;
}

/* tag_name - lower-case name of the tag starting at p (after '<' and an optional '/'). */
static void tag_name(const char *p, const char *end, char *name, size_t size)
{
    size_t i = 0;
    while (p < end && i + 1 < size && g_ascii_isalnum(*p))
        name[i++] = g_ascii_tolower(*p++);
    name[i] = '\0';
}

static int is_block(const char *name)
{
    static const char *const blocks[] = {"br", "p",  "div",        "tr", "li",  "h1",
                                         "h2", "h3", "h4",         "h5", "h6",  "table",
                                         "ul", "ol", "blockquote", "hr", "pre", NULL};
    return g_strv_contains(blocks, name);
}

/* skip_to_close - past "</name>" (case-insensitive) from p, or end. */
static const char *skip_to_close(const char *p, const char *end, const char *name)
{
    size_t n = strlen(name);
    for (; p + n + 2 < end; p++)
        if (p[0] == '<' && p[1] == '/' && g_ascii_strncasecmp(p + 2, name, n) == 0) {
            const char *gt = memchr(p, '>', end - p);
            return gt ? gt + 1 : end;
        }
    return end;
}

char *tg_html_to_text(const char *html, size_t len)
{
    GString *raw = g_string_sized_new(len / 2 + 16);
    const char *p = html, *end = html + len;

    while (p < end) {
        if (*p == '<') {
            if (p + 4 <= end && strncmp(p, "<!--", 4) == 0) {
                const char *close = g_strstr_len(p + 4, end - p - 4, "-->");
                p = close ? close + 3 : end;
                continue;
            }
            char name[16];
            int closing = p + 1 < end && p[1] == '/';
            tag_name(p + 1 + closing, end, name, sizeof name);
            const char *gt = memchr(p, '>', end - p);
            p = gt ? gt + 1 : end;
            if (!closing && (strcmp(name, "script") == 0 || strcmp(name, "style") == 0 ||
                             strcmp(name, "head") == 0 || strcmp(name, "title") == 0))
                p = skip_to_close(p, end, name);
            else if (is_block(name))
                g_string_append_c(raw, '\n');
            else if (strcmp(name, "td") == 0 || strcmp(name, "th") == 0)
                g_string_append_c(raw, ' ');
            continue;
        }
        if (*p == '&') {
            size_t used = decode_entity(p + 1, end, raw);
            if (used) {
                p += used + 1;
                continue;
            }
        }
        g_string_append_c(raw, g_ascii_isspace(*p) ? ' ' : *p);
        p++;
    }

    /* Collapse blanks: one space between words, at most one empty line between blocks. */
    GString *out = g_string_sized_new(raw->len);
    int newlines = 2, space = 0;
    for (const char *q = raw->str; *q; q++) {
        if (*q == '\n') {
            if (newlines < 2)
                g_string_append_c(out, '\n');
            newlines++;
            space = 0;
        } else if (*q == ' ') {
            space = 1;
        } else {
            if (space && newlines == 0)
                g_string_append_c(out, ' ');
            g_string_append_c(out, *q);
            newlines = space = 0;
        }
    }
    while (out->len && out->str[out->len - 1] == '\n')
        g_string_truncate(out, out->len - 1);
    g_string_free(raw, TRUE);
    return g_string_free(out, FALSE);
}
