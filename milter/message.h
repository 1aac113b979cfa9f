/* message.h - one mail as the milter receives it, piece by piece: the envelope, then the header
 * block and body kept up to a byte limit (memory per connection stays bounded), with every
 * byte counted. Used by one connection thread at a time. */
#ifndef TG_MILTER_MESSAGE_H
#define TG_MILTER_MESSAGE_H

#include <glib.h>
#include <stddef.h>

#include "tg_intake.h"

typedef struct milter_message {
    char *envelope_sender; /* MAIL FROM without <>; "" the null sender */
    char *auth_user;       /* {auth_authen}, or NULL */
    char *support_rcpt;    /* the first RCPT that is a support address, or NULL */
    GByteArray *raw;       /* header block + body, LF line ends, at most limit bytes */
    size_t limit, total;   /* total: bytes received, kept or not */
    int in_body, pending_cr;
    char *subject;                           /* first Subject value as received (raw), or NULL */
    int ticket_headers[TG_N_TICKET_HEADERS]; /* how many of each tg_ticket_header_names came in */
    gint64 started;                          /* g_get_monotonic_time() at MAIL FROM */
} milter_message;

milter_message *message_new(const char *envelope_sender, const char *auth_user, size_t limit);
void message_free(milter_message *m); /* NULL-safe */
void message_add_header(milter_message *m, const char *name, const char *value);
void message_add_body(milter_message *m, const unsigned char *data, size_t len);
/* message_finish - end the header block if no body came; the raw bytes are then complete. */
void message_finish(milter_message *m);

/* message_tagged_subject - the raw subject with [ref] at position ("start" or "end"). */
char *message_tagged_subject(const char *raw_subject, const char *ref, const char *position);

/* message_strip_brackets - "<a@b>" -> "a@b", "<>" -> ""; caller g_free()s. */
char *message_strip_brackets(const char *address);

#endif
