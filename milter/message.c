/* message.c - the milter's view of one mail in transit (see message.h). */
#include <string.h>

#include "message.h"

milter_message *message_new(const char *envelope_sender, const char *auth_user, size_t limit)
{
    milter_message *m = g_new0(milter_message, 1);
    m->envelope_sender = message_strip_brackets(envelope_sender);
    m->auth_user = auth_user && *auth_user ? g_strdup(auth_user) : NULL;
    m->raw = g_byte_array_new();
    m->limit = limit;
    m->started = g_get_monotonic_time();
    return m;
}

void message_free(milter_message *m)
{
    if (!m)
        return;
    g_free(m->envelope_sender);
    g_free(m->auth_user);
    g_free(m->support_rcpt);
    g_byte_array_unref(m->raw);
    g_free(m->subject);
    g_free(m);
}

/* keep - append what still fits under the limit; count everything. */
static void keep(milter_message *m, const void *data, size_t len)
{
    m->total += len;
    if (m->raw->len < m->limit)
        g_byte_array_append(m->raw, data, (guint)MIN(len, m->limit - m->raw->len));
}

void message_add_header(milter_message *m, const char *name, const char *value)
{
    for (int i = 0; i < TG_N_TICKET_HEADERS; i++)
        if (g_ascii_strcasecmp(name, tg_ticket_header_names[i]) == 0)
            m->ticket_headers[i]++;
    if (!m->subject && g_ascii_strcasecmp(name, "Subject") == 0)
        m->subject = g_strdup(value);
    keep(m, name, strlen(name));
    keep(m, ": ", 2);
    keep(m, value, strlen(value));
    keep(m, "\n", 1);
}

static void end_headers(milter_message *m)
{
    if (!m->in_body) {
        keep(m, "\n", 1);
        m->in_body = 1;
    }
}

/* The MTA sends the body with CRLF line ends; GMime and the stored text want LF. A CR that ends
 * a chunk waits for the next one to know whether an LF follows. */
void message_add_body(milter_message *m, const unsigned char *data, size_t len)
{
    end_headers(m);
    size_t start = 0;
    if (m->pending_cr && len > 0 && data[0] != '\n')
        keep(m, "\r", 1);
    m->pending_cr = 0;
    for (size_t i = 0; i < len; i++) {
        if (data[i] != '\r')
            continue;
        if (i + 1 == len) {
            keep(m, data + start, i - start);
            m->pending_cr = 1;
            return;
        }
        if (data[i + 1] == '\n') {
            keep(m, data + start, i - start);
            start = i + 1;
        }
    }
    keep(m, data + start, len - start);
}

void message_finish(milter_message *m)
{
    end_headers(m);
    if (m->pending_cr)
        keep(m, "\r", 1);
    m->pending_cr = 0;
}

char *message_tagged_subject(const char *raw_subject, const char *ref, const char *position)
{
    const char *subject = raw_subject ? raw_subject : "";
    while (*subject == ' ' || *subject == '\t')
        subject++;
    if (!*subject)
        return g_strdup_printf("[%s]", ref);
    if (strcmp(position, "end") == 0)
        return g_strdup_printf("%s [%s]", subject, ref);
    return g_strdup_printf("[%s] %s", ref, subject);
}

char *message_strip_brackets(const char *address)
{
    if (!address)
        return NULL;
    size_t len = strlen(address);
    if (len >= 2 && address[0] == '<' && address[len - 1] == '>')
        return g_strndup(address + 1, len - 2);
    return g_strdup(address);
}
