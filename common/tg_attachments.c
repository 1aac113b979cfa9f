/* tg_attachments.c - attached files of a parsed mail (see tg_attachments.h). */
#include <string.h>

#include "tg_attachments.h"
#include "tg_inbound.h"

/* At most this many attachments are named; a line says how many more there were. */
#define MAX_ATTACHMENTS_LISTED 20
/* characters of an attachment's name kept */
#define MAX_ATTACHMENT_NAME 100

typedef struct search {
    GObject *body_plain, *body_html;
    GPtrArray *parts;
} search;

/* signature_type - a part that signs the message (S/MIME, OpenPGP): no attachment to a reader. */
static int signature_type(GMimeContentType *ct)
{
    return g_mime_content_type_is_type(ct, "application", "pkcs7-signature") ||
           g_mime_content_type_is_type(ct, "application", "x-pkcs7-signature") ||
           g_mime_content_type_is_type(ct, "application", "pgp-signature");
}

static void find_part(GMimeObject *parent, GMimeObject *part, gpointer data)
{
    search *s = data;
    if (!GMIME_IS_PART(part) && !GMIME_IS_MESSAGE_PART(part))
        return; /* a multipart: foreach visits its parts */
    if (G_OBJECT(part) == s->body_plain || G_OBJECT(part) == s->body_html)
        return;
    GMimeContentType *ct = g_mime_object_get_content_type(part);
    if (signature_type(ct))
        return;
    /* unnamed inline text is the body in another form (the HTML of an alternative) or a
     * piece of it, which a mail client shows as text, not as an attachment */
    if (GMIME_IS_PART(part) && g_mime_content_type_is_type(ct, "text", "*") &&
        !g_mime_part_is_attachment(GMIME_PART(part)) && !g_mime_part_get_filename(GMIME_PART(part)))
        return;
    g_ptr_array_add(s->parts, part);
}

GPtrArray *tg_attachments_find(GMimeMessage *msg, GMimeObject *body_plain, GMimeObject *body_html)
{
    search s = {G_OBJECT(body_plain), G_OBJECT(body_html), g_ptr_array_new()};
    GMimeObject *top = g_mime_message_get_mime_part(msg);
    if (top && GMIME_IS_MULTIPART(top))
        g_mime_multipart_foreach(GMIME_MULTIPART(top), find_part, &s);
    else if (top)
        find_part(NULL, top, &s);
    return s.parts;
}

/* one_clean_line - s as valid UTF-8 with line breaks and other controls as spaces, cut at max
 * characters ("..." after). Caller g_free()s. */
static char *one_clean_line(const char *s, glong max)
{
    char *line = tg_one_line(g_utf8_make_valid(s ? s : "", -1));
    if (g_utf8_strlen(line, -1) > max) {
        char *cut = g_utf8_substring(line, 0, max);
        g_free(line);
        line = g_strconcat(cut, "...", NULL);
        g_free(cut);
    }
    return line;
}

/* part_name - what the sender called the part: its file name (GMime decodes RFC 2231 and
 * 2047), for a forwarded message its subject; "(no name)" if nothing. */
static char *part_name(GMimeObject *part)
{
    const char *name = NULL;
    if (GMIME_IS_PART(part)) {
        name = g_mime_part_get_filename(GMIME_PART(part));
    } else {
        name = g_mime_object_get_content_disposition_parameter(part, "filename");
        GMimeMessage *inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(part));
        if (!name && inner)
            name = g_mime_message_get_subject(inner);
    }
    char *line = one_clean_line(name, MAX_ATTACHMENT_NAME);
    if (!*line) {
        g_free(line);
        line = g_strdup("(no name)");
    }
    return line;
}

/* part_size - "3.0 kB": the part's content as the reader gets it (transfer encoding undone; a
 * forwarded message whole). */
static char *part_size(GMimeObject *part)
{
    GMimeStream *counter = g_mime_stream_null_new();
    if (GMIME_IS_PART(part)) {
        GMimeDataWrapper *content = g_mime_part_get_content(GMIME_PART(part));
        if (content)
            g_mime_data_wrapper_write_to_stream(content, counter);
    } else {
        g_mime_object_write_to_stream(part, NULL, counter);
    }
    char *size = g_format_size(GMIME_STREAM_NULL(counter)->written);
    g_object_unref(counter);
    /* GLib puts a no-break space (2 bytes) before the unit: a plain one reads the same, and
     * greps */
    char *nbsp = strstr(size, "\u00a0");
    if (nbsp) {
        *nbsp = ' ';
        memmove(nbsp + 1, nbsp + 2, strlen(nbsp + 2) + 1);
    }
    return size;
}

char **tg_attachments_names(GPtrArray *parts, int last_cut)
{
    if (parts->len == 0)
        return NULL;
    GPtrArray *lines = g_ptr_array_new();
    for (guint i = 0; i < parts->len && i < MAX_ATTACHMENTS_LISTED; i++) {
        GMimeObject *part = parts->pdata[i];
        char *name = part_name(part), *size = part_size(part);
        char *type = g_mime_content_type_get_mime_type(g_mime_object_get_content_type(part));
        char *clean_type = one_clean_line(type, MAX_ATTACHMENT_NAME);
        int cut = last_cut && i == parts->len - 1;
        g_ptr_array_add(
            lines, g_strdup_printf("%s (%s, %s%s)", name, clean_type, cut ? "cut at " : "", size));
        g_free(clean_type);
        g_free(type);
        g_free(size);
        g_free(name);
    }
    if (parts->len > MAX_ATTACHMENTS_LISTED)
        g_ptr_array_add(lines,
                        g_strdup_printf("... and %u more", parts->len - MAX_ATTACHMENTS_LISTED));
    g_ptr_array_add(lines, NULL);
    return (char **)g_ptr_array_free(lines, FALSE);
}

char *tg_attachments_mime(GPtrArray *parts)
{
    if (parts->len == 0)
        return NULL;
    GMimeMultipart *mixed = g_mime_multipart_new_with_subtype("mixed");
    for (guint i = 0; i < parts->len; i++) {
        GMimeObject *part = parts->pdata[i];
        /* 7-bit text for the store; a forwarded message cannot be encoded (RFC 2046 5.2.1) */
        if (GMIME_IS_PART(part))
            g_mime_part_set_content_encoding(GMIME_PART(part), GMIME_CONTENT_ENCODING_BASE64);
        g_mime_multipart_add(mixed, part);
    }
    GByteArray *bytes = g_byte_array_new();
    GMimeStream *mem = g_mime_stream_mem_new_with_byte_array(bytes);
    g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(mem), FALSE);
    GMimeFormatOptions *fo = g_mime_format_options_new();
    g_mime_format_options_set_newline_format(fo, GMIME_NEWLINE_FORMAT_UNIX);
    g_mime_object_write_to_stream(GMIME_OBJECT(mixed), fo, mem);
    g_mime_format_options_free(fo);
    g_object_unref(mem);
    g_object_unref(mixed);
    g_byte_array_append(bytes, (const guint8 *)"", 1);
    return (char *)g_byte_array_free(bytes, FALSE);
}

void tg_attachments_attach(GMimeMessage *msg, GMimeObject *text_part, const char *mime)
{
    GMimeObject *files = NULL;
    if (mime) {
        GMimeStream *stream = g_mime_stream_mem_new_with_buffer(mime, strlen(mime));
        GMimeParser *parser = g_mime_parser_new_with_stream(stream);
        files = g_mime_parser_construct_part(parser, NULL);
        g_object_unref(parser);
        g_object_unref(stream);
    }
    if (files && GMIME_IS_MULTIPART(files)) {
        g_mime_multipart_insert(GMIME_MULTIPART(files), 0, text_part);
        g_mime_message_set_mime_part(msg, files);
    } else {
        g_mime_message_set_mime_part(msg, text_part);
    }
    if (files)
        g_object_unref(files);
}
