/* tg_attachments.h - the files attached to a parsed mail (GMime): named on the ticket, and
 * carried over to the mail that relays an agent's answer to the customer. */
#ifndef TG_ATTACHMENTS_H
#define TG_ATTACHMENTS_H

#include <gmime/gmime.h>

/* tg_attachments_find - the parts of msg a reader sees as attached files: every part but the
 * body's (body_plain, body_html: the parts the text was read from, or NULL), the unnamed inline
 * text beside them, and signatures. Caller g_ptr_array_unref()s (the parts are msg's). */
GPtrArray *tg_attachments_find(GMimeMessage *msg, GMimeObject *body_plain, GMimeObject *body_html);

/* tg_attachments_names - "name (type, size)" for each part (at most 20, then "... and N more"),
 * one line of valid UTF-8 each, NULL-terminated; NULL when parts is empty. last_cut: the mail
 * was read only in part, so the last part's size is "cut at SIZE". Caller g_strfreev()s. */
char **tg_attachments_names(GPtrArray *parts, int last_cut);

/* tg_attachments_mime - the parts as one multipart/mixed MIME entity with LF line ends, each
 * file base64-encoded (a forwarded message stays as it came: RFC 2046 allows it no encoding);
 * NULL when parts is empty. Changes the parts' transfer encoding. Caller g_free()s. */
char *tg_attachments_mime(GPtrArray *parts);

/* tg_attachments_attach - make msg's body text_part followed by the files of mime (from
 * tg_attachments_mime; NULL or unreadable: text_part alone). */
void tg_attachments_attach(GMimeMessage *msg, GMimeObject *text_part, const char *mime);

#endif
