/* tg_mail.h - RFC 5322 mail to tg_inbound, and replies to RFC 5322 bytes, with GMime.
 * Reentrant: any thread may parse or build at once (GMime is initialized once, lazily). */
#ifndef TG_MAIL_H
#define TG_MAIL_H

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

#include "tg_err.h"
#include "tg_inbound.h"

/* the longest address a reply can go to: RFC 5321's path of 256 octets, without its <> */
#define TG_MAIL_MAX_ADDRESS 254

typedef struct tg_mail_opts {
    const char *envelope_sender;          /* MAIL FROM: NULL unknown, "" null sender */
    const char *recipient;                /* RCPT TO that selected the queue, or NULL */
    const char *const *fallback_charsets; /* for undeclared 8-bit text; NULL: utf-8, windows-1251 */
    size_t max_text_size;                 /* cap on kept text, bytes; 0: 256 KiB */
    size_t max_headers;                   /* header fields kept for rules; 0: 500 */
    size_t full_size; /* when data is only the first part of a bigger mail: its whole size */
} tg_mail_opts;

/* tg_mail_parse - normalize a message. Never fails on odd input (that is what mail is); only
 * on no input at all. Caller frees *out with tg_inbound_free. */
int tg_mail_parse(const char *data, size_t len, const tg_mail_opts *opts, tg_inbound **out,
                  tg_err *err);

typedef struct tg_mail_reply {
    const char *from_addr, *from_name; /* our support address */
    const char *to_addr, *to_name;     /* the customer */
    const char *subject, *body;        /* UTF-8 */
    const char *message_id;            /* without <>; NULL: generated */
    const char *in_reply_to;           /* without <>, or NULL */
    const char *references;            /* space-separated ids without <>, or NULL */
    const char *auto_submitted;        /* "auto-replied" for RFC 3834 replies, or NULL */
    const char *ticket_ref;            /* X-Ticket-ID, or NULL */
    const char *lang;                  /* Content-Language, or NULL */
    const char *attachments_mime;      /* files to attach (tg_inbound.attachments_mime), or NULL */
    int64_t date;                      /* Unix time */
} tg_mail_reply;

/* tg_mail_build - the reply as RFC 5322 bytes with LF line ends (as sendmail(1) takes them).
 * Every value is encoded by GMime; CR/LF and controls in values are replaced, ids that are
 * not plain msg-ids are left out. Caller frees *out with g_byte_array_unref. */
int tg_mail_build(const tg_mail_reply *r, GByteArray **out, tg_err *err);

/* tg_mail_new_message_id - "<time>.<random>@domain" without the brackets (sorts by time);
 * caller g_free()s. */
char *tg_mail_new_message_id(const char *domain);
/* tg_mail_new_notice_id - the same for a notice to an agent: "notice.<time>.<random>@domain".
 * Agents are asked not to answer notices; tg_mail_is_notice_id recognizes an answer to one by
 * its In-Reply-To or References without a lookup (notices are not kept as messages). */
char *tg_mail_new_notice_id(const char *domain);
int tg_mail_is_notice_id(const char *id);

#endif
