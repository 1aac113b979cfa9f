/* tg_inbound.c - the normalized message value and small helpers on it. */
#include <glib.h>
#include <string.h>

#include "tg_inbound.h"

tg_inbound *tg_inbound_new(const char *channel)
{
    tg_inbound *in = g_new0(tg_inbound, 1);
    in->channel = g_strdup(channel);
    in->subject = g_strdup("");
    in->text = g_strdup("");
    in->sender = g_strdup("");
    in->lang = g_strdup("en");
    return in;
}

void tg_inbound_take(char **field, char *value)
{
    g_free(*field);
    *field = value;
}

void tg_inbound_free(tg_inbound *in)
{
    if (!in)
        return;
    g_free(in->channel);
    g_free(in->recipient);
    g_strfreev(in->recipients);
    g_strfreev(in->attachments);
    g_free(in->attachments_mime);
    g_free(in->sender);
    g_free(in->author);
    g_free(in->reply_address);
    g_free(in->sender_name);
    g_free(in->envelope_sender);
    g_free(in->subject);
    g_free(in->text);
    g_free(in->message_id);
    g_free(in->in_reply_to);
    g_strfreev(in->references);
    g_free(in->subject_tag);
    g_free(in->thread_id);
    g_free(in->stanza_type);
    g_free(in->lang);
    g_free(in->machine_reason);
    g_free(in->auth_user);
    for (size_t i = 0; i < in->n_headers; i++) {
        g_free(in->headers[i].name);
        g_free(in->headers[i].value);
    }
    g_free(in->headers);
    g_free(in);
}

const char *tg_inbound_header(const tg_inbound *in, const char *name)
{
    for (size_t i = 0; i < in->n_headers; i++)
        if (g_ascii_strcasecmp(in->headers[i].name, name) == 0)
            return in->headers[i].value;
    return NULL;
}

const char *tg_guess_lang(const char *utf8)
{
    size_t cyrillic = 0, latin = 0;

    for (const char *p = utf8; p && *p; p = g_utf8_next_char(p)) {
        if ((unsigned char)*p < 0x80) { /* most text: no Unicode tables needed */
            latin += g_ascii_isalpha(*p) != 0;
            continue;
        }
        gunichar c = g_utf8_get_char(p);
        if (!g_unichar_isalpha(c))
            continue;
        if (g_unichar_get_script(c) == G_UNICODE_SCRIPT_CYRILLIC)
            cyrillic++;
        else if (c < 0x80)
            latin++;
    }
    /* Russian mail quotes English product names; a third Cyrillic letters is Russian. */
    return cyrillic > 0 && cyrillic * 2 >= latin ? "ru" : "en";
}

char *tg_language_of_tag(const char *tag)
{
    size_t len = 0;
    while (tag && g_ascii_isalpha(tag[len]))
        len++;
    if (len < 2 || len > 8 || !strchr("-_", tag[len])) /* '\0' too; "ru_RU" from a POSIX locale */
        return NULL;
    return g_ascii_strdown(tag, (gssize)len);
}

char *tg_find_subject_tag(const char *subject)
{
    for (const char *p = subject ? strchr(subject, '[') : NULL; p; p = strchr(p + 1, '[')) {
        const char *q = p + 1;
        if (!g_ascii_isalpha(*q))
            continue;
        while (g_ascii_isalnum(*q))
            q++;
        if (*q != '-' || !g_ascii_isdigit(q[1]))
            continue;
        q++;
        while (g_ascii_isdigit(*q))
            q++;
        if (*q == ']')
            return g_ascii_strup(p + 1, q - p - 1);
    }
    return NULL;
}

const char *tg_subject_without_reply_prefixes(const char *subject)
{
    static GRegex *prefixes_re;
    static gsize once;
    if (g_once_init_enter(&once)) {
        /* as English, German and Russian mail clients write them, with counts ("Re[2]:",
         * "Re^2:", "Re(2):"); subjects are valid UTF-8 (tg_inbound), so CASELESS folds Cyrillic */
        prefixes_re = g_regex_new("(?:\\s*(?:re|fwd?|aw|wg|отв|ответ|пересл)\\s*"
                                  "(?:\\[\\d+\\]|\\(\\d+\\)|\\^\\d+)?\\s*:)+\\s*",
                                  G_REGEX_CASELESS | G_REGEX_ANCHORED, 0, NULL);
        g_once_init_leave(&once, 1);
    }
    GMatchInfo *mi = NULL;
    gint end = 0;
    if (g_regex_match(prefixes_re, subject, 0, &mi))
        g_match_info_fetch_pos(mi, 0, NULL, &end);
    g_match_info_free(mi);
    return subject + end;
}

char *tg_one_line(char *s)
{
    for (char *p = s; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
    return g_strstrip(s);
}

const char *tg_address_domain(const char *address)
{
    const char *at = address ? strrchr(address, '@') : NULL;
    return at ? at + 1 : "";
}

char *tg_address_lower(const char *address)
{
    /* Nearly every address is ASCII, and g_utf8_strdown costs some 20 times more per call:
     * it runs for every address of every message. */
    if (!address)
        return NULL;
    for (const char *p = address; *p; p++)
        if ((unsigned char)*p >= 0x80)
            return g_utf8_strdown(address, -1);
    return g_ascii_strdown(address, -1);
}
