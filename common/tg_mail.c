/* tg_mail.c - GMime glue: parse mail into the normalized inbound value, build replies.
 * GMime does MIME structure, transfer decoding, RFC 2047/2231, addresses and references;
 * this file chooses what to keep and converts text to valid UTF-8. */
#include <errno.h>
#include <gmime/gmime.h>
#include <string.h>

#include "tg_attachments.h"
#include "tg_html.h"
#include "tg_mail.h"

static gpointer init_gmime(gpointer unused)
{
    g_mime_init();
    return NULL;
}

static void ensure_init(void)
{
    static GOnce once = G_ONCE_INIT;
    g_once(&once, init_gmime, NULL);
}

/* ---- charset conversion ---- */

/* convert - bytes in charset to UTF-8, each undecodable byte as U+FFFD; NULL if the charset
 * is unknown or (strict) the bytes are not valid in it. */
static char *convert(const char *in, size_t len, const char *charset, int strict)
{
    iconv_t cd = g_mime_iconv_open("UTF-8", charset);
    if (cd == (iconv_t)-1)
        return NULL;
    GString *out = g_string_sized_new(len * 2 + 16);
    char buf[4096];
    char *inp = (char *)in;
    size_t inleft = len;
    int bad = 0;

    while (inleft > 0) {
        char *outp = buf;
        size_t outleft = sizeof buf;
        size_t rc = iconv(cd, &inp, &inleft, &outp, &outleft);
        g_string_append_len(out, buf, outp - buf);
        if (rc == (size_t)-1 && errno != E2BIG) {
            bad = 1;
            if (strict)
                break;
            g_string_append(out, "\xEF\xBF\xBD");
            inp++;
            inleft--;
            iconv(cd, NULL, NULL, NULL, NULL);
        }
    }
    g_mime_iconv_close(cd);
    if (bad && strict) {
        g_string_free(out, TRUE);
        return NULL;
    }
    char *valid = g_utf8_make_valid(out->str, out->len);
    g_string_free(out, TRUE);
    return valid;
}

/* to_utf8 - declared charset first; undeclared or unknown: UTF-8 if valid, else the first
 * fallback that decodes cleanly, else the last fallback with U+FFFD. Caller g_free()s. */
static char *to_utf8(const char *in, size_t len, const char *charset, const char *const *fallbacks)
{
    static const char *const default_fallbacks[] = {"utf-8", "windows-1251", NULL};
    char *s;

    if (len == 0) /* an empty part: its bytes may be NULL, and g_strndup(NULL) is NULL */
        return g_strdup("");
    if (!fallbacks || !fallbacks[0])
        fallbacks = default_fallbacks;
    if (charset && g_ascii_strcasecmp(charset, "us-ascii") != 0 &&
        (s = convert(in, len, charset, 0)))
        return s;
    if (g_utf8_validate(in, (gssize)len, NULL))
        return g_strndup(in, len);
    for (const char *const *f = fallbacks; *f; f++)
        if ((s = convert(in, len, *f, 1)))
            return s;
    return g_utf8_make_valid(in, (gssize)len);
}

/* ---- RFC 2047 workaround ---- */

/* merge_b_words - runs of adjacent "=?cs?B?...?=" words of one charset as a single word.
 * GMime 3.2.13 (Debian 12) joins such runs itself but stops decoding at the first '=' padding,
 * dropping every word after it; a run decoded as one word also keeps a character split across
 * words intact. Caller g_free()s; NULL when nothing needed merging. */
static char *merge_b_words(const char *raw)
{
    static GRegex *word_re;
    static gsize once;
    if (g_once_init_enter(&once)) {
        /* RAW: a raw header is bytes, not always UTF-8, and GRegex's UTF-8 mode does not check
         * its subject: with invalid UTF-8 its JIT code read and wrote out of bounds (a crash
         * found by tests/fuzz_mail) */
        word_re = g_regex_new("=\\?([^?\\s]+)\\?[Bb]\\?([A-Za-z0-9+/=]*)\\?=",
                              G_REGEX_RAW | G_REGEX_OPTIMIZE, 0, NULL);
        g_once_init_leave(&once, 1);
    }
    GMatchInfo *mi = NULL;
    GString *out = g_string_new(NULL);
    GByteArray *run = g_byte_array_new();
    char *run_charset = NULL;
    int run_words = 0, merged = 0;
    gint prev_end = 0, run_end = 0;

    g_regex_match(word_re, raw, 0, &mi);
    for (; g_match_info_matches(mi); g_match_info_next(mi, NULL)) {
        gint start, end;
        g_match_info_fetch_pos(mi, 0, &start, &end);
        char *charset = g_match_info_fetch(mi, 1), *text = g_match_info_fetch(mi, 2);
        gboolean adjacent = run_words > 0 && g_ascii_strcasecmp(charset, run_charset) == 0 &&
                            strspn(raw + run_end, " \t\r\n") == (size_t)(start - run_end);
        if (!adjacent) {
            if (run_words > 0) { /* flush the previous run */
                char *b64 = g_base64_encode(run->data, run->len);
                g_string_append_printf(out, "=?%s?B?%s?=", run_charset, b64);
                g_free(b64);
            }
            g_string_append_len(out, raw + prev_end, start - prev_end);
            g_byte_array_set_size(run, 0);
            g_free(run_charset);
            run_charset = g_strdup(charset);
            run_words = 0;
        } else {
            merged = 1;
        }
        gsize n = 0;
        guchar *bytes = g_base64_decode(text, &n);
        g_byte_array_append(run, bytes, (guint)n);
        g_free(bytes);
        run_words++;
        run_end = prev_end = end;
        g_free(charset);
        g_free(text);
    }
    if (run_words > 0) {
        char *b64 = g_base64_encode(run->data, run->len);
        g_string_append_printf(out, "=?%s?B?%s?=", run_charset, b64);
        g_free(b64);
    }
    g_string_append(out, raw + prev_end);
    g_match_info_free(mi);
    g_byte_array_unref(run);
    g_free(run_charset);
    if (!merged) {
        g_string_free(out, TRUE);
        return NULL;
    }
    return g_string_free(out, FALSE);
}

/* raw_header - the undecoded value of the first header called name, or NULL. */
static const char *raw_header(GMimeMessage *msg, const char *name)
{
    GMimeHeader *h =
        g_mime_header_list_get_header(g_mime_object_get_header_list(GMIME_OBJECT(msg)), name);
    return h ? g_mime_header_get_raw_value(h) : NULL;
}

/* ---- text ---- */

/* part_bytes - the decoded (transfer encoding undone) content of part. */
static GByteArray *part_bytes(GMimePart *part)
{
    GMimeDataWrapper *content = g_mime_part_get_content(part);
    GByteArray *bytes = g_byte_array_new();
    if (content) {
        GMimeStream *mem = g_mime_stream_mem_new_with_byte_array(bytes);
        g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(mem), FALSE);
        g_mime_data_wrapper_write_to_stream(content, mem);
        g_object_unref(mem);
    }
    return bytes;
}

typedef struct body_search {
    GMimePart *plain, *html;
} body_search;

static void find_body(GMimeObject *parent, GMimeObject *part, gpointer data)
{
    body_search *bs = data;
    if (!GMIME_IS_PART(part) || g_mime_part_is_attachment(GMIME_PART(part)))
        return;
    GMimeContentType *ct = g_mime_object_get_content_type(part);
    if (!bs->plain && g_mime_content_type_is_type(ct, "text", "plain"))
        bs->plain = GMIME_PART(part);
    else if (!bs->html && g_mime_content_type_is_type(ct, "text", "html"))
        bs->html = GMIME_PART(part);
}

/* cap_utf8 - cut s to at most max bytes on a character boundary; 1 if cut. */
static int cap_utf8(char *s, size_t max)
{
    size_t len = strlen(s);
    if (len <= max)
        return 0;
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
        max--;
    s[max] = '\0';
    return 1;
}

/* tidy_text - CRLF to LF, no trailing blank lines. In place. */
static void tidy_text(char *s)
{
    char *w = s;
    for (char *r = s; *r; r++)
        if (!(r[0] == '\r' && r[1] == '\n'))
            *w++ = *r;
    *w = '\0';
    while (w > s && (w[-1] == '\n' || w[-1] == ' ' || w[-1] == '\t'))
        *--w = '\0';
}

/* construct - GMime's message of data, or NULL when it cannot make one. */
static GMimeMessage *construct(const char *data, size_t len, GMimeParserOptions *po)
{
    GMimeStream *stream = g_mime_stream_mem_new_with_buffer(data, len);
    GMimeParser *parser = g_mime_parser_new_with_stream(stream);
    GMimeMessage *msg = g_mime_parser_construct_message(parser, po);
    g_object_unref(parser);
    g_object_unref(stream);
    return msg;
}

/* header_line - line (up to its LF) is a header field "Name: ..." (RFC 5322 field name). */
static int header_line(const char *line, const char *end)
{
    const char *p = line;
    for (; p < end; p++) {
        unsigned char c = (unsigned char)*p;
        if (c <= ' ' || c >= 127 || c == ':')
            break;
    }
    return p > line && p < end && *p == ':';
}

/* end_headers_at_first_odd_line - data with an empty line inserted before the first line of its
 * header block that is neither a field nor a continuation of one (and after a header block that
 * runs to the end), which makes that line and the rest the body. */
static GByteArray *end_headers_at_first_odd_line(const char *data, size_t len)
{
    const char *end = data + len, *line = data;
    GByteArray *out = g_byte_array_sized_new((guint)len + 2);
    while (line < end) {
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        const char *next = eol ? eol + 1 : end;
        int blank = line[0] == '\n' || (line[0] == '\r' && line + 1 < end && line[1] == '\n');
        int continuation = line > data && (line[0] == ' ' || line[0] == '\t');
        if (blank)
            break;
        if (!continuation && !header_line(line, next)) {
            g_byte_array_append(out, (const guint8 *)data, (guint)(line - data));
            g_byte_array_append(out, (const guint8 *)"\n", 1);
            g_byte_array_append(out, (const guint8 *)line, (guint)(end - line));
            return out;
        }
        line = next;
    }
    g_byte_array_append(out, (const guint8 *)data, (guint)len);
    if (line >= end) /* no body at all: end the header block */
        g_byte_array_append(out, (const guint8 *)"\n\n", 2);
    return out;
}

/* body_text - the text of the message's body part, which *bs tells. */
static char *body_text(GMimeMessage *msg, const tg_mail_opts *o, body_search *bs)
{
    GMimeObject *top = g_mime_message_get_mime_part(msg);
    if (!top)
        return g_strdup("");
    if (GMIME_IS_MULTIPART(top))
        g_mime_multipart_foreach(GMIME_MULTIPART(top), find_body, bs);
    else
        find_body(NULL, top, bs);

    GMimePart *part = bs->plain ? bs->plain : bs->html;
    if (!part)
        return g_strdup("");
    GByteArray *bytes = part_bytes(part);
    const char *charset = g_mime_object_get_content_type_parameter(GMIME_OBJECT(part), "charset");
    char *text = to_utf8((const char *)bytes->data, bytes->len, charset, o->fallback_charsets);
    g_byte_array_unref(bytes);
    if (!bs->plain) {
        char *plain = tg_html_to_text(text, strlen(text));
        g_free(text);
        text = plain;
    }
    tidy_text(text);
    return text;
}

/* ---- headers and addresses ---- */

/* clean_value - a header value as valid UTF-8 with line breaks and controls as spaces. */
static char *clean_value(const char *v, const tg_mail_opts *o)
{
    return tg_one_line(to_utf8(v, strlen(v), NULL, o->fallback_charsets));
}

/* At most this many To/Cc addresses are kept: each becomes a thread address of the ticket. */
#define MAX_RECIPIENTS 100

/* mailbox_address - the mailbox's address, lower-cased; "" when it has none or holds control
 * characters (a broken field: no address to answer or to recognize). Caller g_free()s. */
static char *mailbox_address(InternetAddressMailbox *mb)
{
    char *a = tg_address_lower(internet_address_mailbox_get_addr(mb));
    if (!a)
        return g_strdup("");
    for (const char *c = a; *c; c++)
        if ((unsigned char)*c < ' ' || *c == 0x7f) {
            g_free(a);
            return g_strdup("");
        }
    return a;
}

/* add_addresses - the usable addresses of a To/Cc list (groups opened) onto list. */
static void add_addresses(GPtrArray *list, InternetAddressList *addrs)
{
    for (int i = 0; addrs && i < internet_address_list_length(addrs); i++) {
        if (list->len >= MAX_RECIPIENTS)
            return;
        InternetAddress *ia = internet_address_list_get_address(addrs, i);
        if (INTERNET_ADDRESS_IS_MAILBOX(ia)) {
            char *a = mailbox_address(INTERNET_ADDRESS_MAILBOX(ia));
            if (strchr(a, '@'))
                g_ptr_array_add(list, a);
            else
                g_free(a);
        } else if (INTERNET_ADDRESS_IS_GROUP(ia)) {
            add_addresses(list, internet_address_group_get_members(INTERNET_ADDRESS_GROUP(ia)));
        }
    }
}

/* first_mailbox - the first usable mailbox of a From list. */
static InternetAddressMailbox *first_mailbox(InternetAddressList *addrs)
{
    for (int i = 0; addrs && i < internet_address_list_length(addrs); i++) {
        InternetAddress *ia = internet_address_list_get_address(addrs, i);
        if (INTERNET_ADDRESS_IS_MAILBOX(ia)) {
            const char *a = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia));
            if (a && strchr(a, '@') && a[0] != '@')
                return INTERNET_ADDRESS_MAILBOX(ia);
        }
    }
    return NULL;
}

/* Longer message ids are not kept: a reply names the customer's in In-Reply-To and References,
 * where an id cannot be folded, and a header line may hold 998 bytes (RFC 5322 2.1.1); real ones
 * are under 100. The store would otherwise keep and index each as big as the MTA's header limit. */
#define MAX_MESSAGE_ID 250

/* usable_id - a message id we keep: UTF-8, one word, no angle brackets, not too long. */
static int usable_id(const char *id)
{
    return id && *id && strlen(id) <= MAX_MESSAGE_ID && !strpbrk(id, " \t\r\n<>") &&
           g_utf8_validate(id, -1, NULL);
}

static char **parse_ids(GMimeParserOptions *po, const char *value)
{
    GMimeReferences *refs = value ? g_mime_references_parse(po, value) : NULL;
    int n = refs ? g_mime_references_length(refs) : 0;
    GPtrArray *kept = g_ptr_array_new();
    for (int i = 0; i < n; i++)
        if (usable_id(g_mime_references_get_message_id(refs, i)))
            g_ptr_array_add(kept, g_strdup(g_mime_references_get_message_id(refs, i)));
    /* Keep the last 20: a long thread's newest ids are the ones we may know. */
    if (kept->len > 20) {
        for (guint i = 0; i < kept->len - 20; i++)
            g_free(g_ptr_array_index(kept, i));
        g_ptr_array_remove_range(kept, 0, kept->len - 20);
    }
    char **ids = NULL;
    if (kept->len > 0) {
        g_ptr_array_add(kept, NULL);
        ids = (char **)g_ptr_array_free(kept, FALSE);
    } else {
        g_ptr_array_free(kept, TRUE);
    }
    if (refs)
        g_mime_references_free(refs);
    return ids;
}

/* ---- machine-generated mail ---- */

static int token_in(const char *value, const char *const *tokens)
{
    char **parts = g_strsplit_set(value, ",; \t", -1);
    int found = 0;
    for (char **p = parts; *p && !found; p++)
        for (const char *const *t = tokens; *t && !found; t++)
            found = g_ascii_strcasecmp(*p, *t) == 0;
    g_strfreev(parts);
    return found;
}

static int robot_local_part(const char *address)
{
    static const char *const exact[] = {"mailer-daemon", "postmaster", NULL};
    static const char *const prefixes[] = {"noreply",      "no-reply",     "no_reply", "donotreply",
                                           "do-not-reply", "do_not_reply", NULL};
    const char *at = strchr(address, '@');
    if (!at)
        return 0;
    char *local = g_ascii_strdown(address, at - address);
    int robot = g_strv_contains(exact, local);
    for (const char *const *p = prefixes; *p && !robot; p++)
        robot = g_str_has_prefix(local, *p);
    g_free(local);
    return robot;
}

/* machine_reasons - every signal that the message was written by a program. */
static char *machine_reasons(const tg_inbound *in, GMimeMessage *msg)
{
    static const char *const precedence[] = {"bulk", "junk", "list", NULL};
    static const char *const suppress[] = {"all", "autoreply", NULL};
    GString *why = g_string_new(NULL);
    const char *v;

#define REASON(...)                                                                                \
    do {                                                                                           \
        if (why->len)                                                                              \
            g_string_append(why, "; ");                                                            \
        g_string_append_printf(why, __VA_ARGS__);                                                  \
    } while (0)

    if ((v = tg_inbound_header(in, "Auto-Submitted"))) {
        char *kind = g_ascii_strdown(v, strcspn(v, "; \t("));
        if (strcmp(kind, "no") != 0)
            REASON("Auto-Submitted: %s", kind);
        g_free(kind);
    }
    if ((v = tg_inbound_header(in, "Precedence")) && token_in(v, precedence))
        REASON("Precedence: %s", v);
    if (tg_inbound_header(in, "List-Id"))
        REASON("List-Id present");
    if (tg_inbound_header(in, "List-Unsubscribe"))
        REASON("List-Unsubscribe present");
    if ((v = tg_inbound_header(in, "X-Auto-Response-Suppress")) && token_in(v, suppress))
        REASON("X-Auto-Response-Suppress: %s", v);
    if (tg_inbound_header(in, "X-Autoreply") || tg_inbound_header(in, "X-Autorespond"))
        REASON("X-Autoreply present");
    if (in->envelope_sender && !*in->envelope_sender)
        REASON("null envelope sender");
    if (!*in->sender)
        REASON("no usable sender address");
    else if (strlen(in->sender) > TG_MAIL_MAX_ADDRESS)
        REASON("sender address of %zu bytes, longer than an address may be", strlen(in->sender));
    else if (robot_local_part(in->sender))
        REASON("sender %s is a robot address", in->sender);
    GMimeObject *top = g_mime_message_get_mime_part(msg);
    if (top &&
        g_mime_content_type_is_type(g_mime_object_get_content_type(top), "multipart", "report"))
        REASON("delivery or read report (multipart/report)");
#undef REASON
    return why->len ? g_string_free(why, FALSE) : (g_string_free(why, TRUE), NULL);
}

/* header_mailbox - the first usable mailbox of the address field name (From, Reply-To), read
 * again after merge_b_words when GMime would lose encoded words of its display name. *again is
 * a list for the caller to unref, or NULL. */
static InternetAddressMailbox *header_mailbox(GMimeMessage *msg, GMimeParserOptions *po,
                                              const char *name, InternetAddressList **again)
{
    InternetAddressList *list =
        strcmp(name, "From") == 0 ? g_mime_message_get_from(msg) : g_mime_message_get_reply_to(msg);
    const char *raw = raw_header(msg, name);
    char *fixed = raw ? merge_b_words(raw) : NULL;
    *again = fixed ? internet_address_list_parse(po, fixed) : NULL;
    g_free(fixed);
    return first_mailbox(*again ? *again : list);
}

/* read_sender - whom the request is from and whom we answer: Reply-To when it names another
 * address than From (a web form sends From: noreply@ with the visitor in Reply-To; RFC 5322
 * 3.6.2: replies go there), else From, else the envelope sender. The From address is then kept
 * as the author: agents and our own addresses are known by it, whatever Reply-To says. */
static void read_sender(GMimeMessage *msg, GMimeParserOptions *po, const tg_mail_opts *o,
                        tg_inbound *in)
{
    InternetAddressList *from_again, *reply_again;
    InternetAddressMailbox *from = header_mailbox(msg, po, "From", &from_again);
    InternetAddressMailbox *reply_to = header_mailbox(msg, po, "Reply-To", &reply_again);
    char *from_address = from ? mailbox_address(from) : NULL;
    char *reply_address = reply_to ? mailbox_address(reply_to) : NULL;
    InternetAddressMailbox *answered = from;
    if (reply_address && *reply_address &&
        (!from_address || g_ascii_strcasecmp(reply_address, from_address) != 0)) {
        answered = reply_to;
        in->author = from_address ? from_address : g_strdup("");
        tg_inbound_take(&in->sender, reply_address);
    } else if (from_address) {
        tg_inbound_take(&in->sender, from_address);
        g_free(reply_address);
    } else {
        g_free(reply_address);
        if (o->envelope_sender && strchr(o->envelope_sender, '@'))
            tg_inbound_take(&in->sender, tg_address_lower(o->envelope_sender));
    }
    const char *name = answered ? internet_address_get_name(INTERNET_ADDRESS(answered)) : NULL;
    if (name && *name)
        in->sender_name = clean_value(name, o);
    if (from_again)
        g_object_unref(from_again);
    if (reply_again)
        g_object_unref(reply_again);
}

/* synthetic_id - a stable id for a message without Message-ID, so a retry still dedups. */
static char *synthetic_id(const tg_inbound *in, const char *date)
{
    GChecksum *sum = g_checksum_new(G_CHECKSUM_SHA256);
    const char *parts[] = {in->sender, date ? date : "", in->subject, in->text};
    for (size_t i = 0; i < G_N_ELEMENTS(parts); i++)
        g_checksum_update(sum, (const guchar *)parts[i], strlen(parts[i]) + 1);
    char *id = g_strdup_printf("%.32s@ticketgate.invalid", g_checksum_get_string(sum));
    g_checksum_free(sum);
    return id;
}

int tg_mail_parse(const char *data, size_t len, const tg_mail_opts *opts, tg_inbound **out,
                  tg_err *err)
{
    static const tg_mail_opts no_opts;
    const tg_mail_opts *o = opts ? opts : &no_opts;
    size_t max_text = o->max_text_size ? o->max_text_size : 256 * 1024;
    size_t max_headers = o->max_headers ? o->max_headers : 500;

    *out = NULL;
    if (!data || len == 0)
        return tg_err_set(err, TG_EINVAL, "empty message");
    ensure_init();

    GMimeParserOptions *po = g_mime_parser_options_new();
    const char *fallbacks[8] = {"utf-8", "windows-1251", NULL};
    if (o->fallback_charsets && o->fallback_charsets[0]) {
        size_t i = 0;
        for (; i < 7 && o->fallback_charsets[i]; i++)
            fallbacks[i] = o->fallback_charsets[i];
        fallbacks[i] = NULL;
    }
    g_mime_parser_options_set_fallback_charsets(po, fallbacks);
    g_mime_parser_options_set_rfc2047_compliance_mode(po, GMIME_RFC_COMPLIANCE_LOOSE);
    g_mime_parser_options_set_address_compliance_mode(po, GMIME_RFC_COMPLIANCE_LOOSE);
    g_mime_parser_options_set_parameter_compliance_mode(po, GMIME_RFC_COMPLIANCE_LOOSE);
    GMimeMessage *msg = construct(data, len, po);
    if (!msg) {
        /* a header block GMime gives up on (a first line that is no header, a mail cut inside
         * its header): read it as the MTAs do, the headers ending at the first line that is
         * none, so that the customer's words still make a ticket */
        GByteArray *repaired = end_headers_at_first_odd_line(data, len);
        msg = construct((const char *)repaired->data, repaired->len, po);
        if (!msg) { /* not even that (a field name of thousands of bytes): all of it is body */
            g_byte_array_set_size(repaired, 0);
            g_byte_array_append(repaired, (const guint8 *)"\n", 1);
            g_byte_array_append(repaired, (const guint8 *)data, (guint)len);
            msg = construct((const char *)repaired->data, repaired->len, po);
        }
        g_byte_array_unref(repaired);
    }
    if (!msg) {
        g_mime_parser_options_free(po);
        return tg_err_set(err, TG_EINVAL, "not a mail message");
    }

    tg_inbound *in = tg_inbound_new("email");
    in->original_size = MAX(len, o->full_size);
    in->read_cut = o->full_size > len;
    in->envelope_sender = g_strdup(o->envelope_sender);
    in->recipient = tg_address_lower(o->recipient);

    GMimeHeaderList *hl = g_mime_object_get_header_list(GMIME_OBJECT(msg));
    int nh = g_mime_header_list_get_count(hl);
    in->n_headers = MIN((size_t)nh, max_headers);
    in->headers = g_new0(tg_header, in->n_headers + 1);
    for (size_t i = 0; i < in->n_headers; i++) {
        GMimeHeader *h = g_mime_header_list_get_header_at(hl, (int)i);
        const char *value = g_mime_header_get_value(h);
        in->headers[i].name = clean_value(g_mime_header_get_name(h), o);
        in->headers[i].value = clean_value(value ? value : "", o);
    }

    read_sender(msg, po, o, in);

    GPtrArray *rcpts = g_ptr_array_new();
    add_addresses(rcpts, g_mime_message_get_addresses(msg, GMIME_ADDRESS_TYPE_TO));
    add_addresses(rcpts, g_mime_message_get_addresses(msg, GMIME_ADDRESS_TYPE_CC));
    g_ptr_array_add(rcpts, NULL);
    in->recipients = (char **)g_ptr_array_free(rcpts, FALSE);

    const char *raw_subject = raw_header(msg, "Subject");
    char *merged = raw_subject ? merge_b_words(raw_subject) : NULL;
    char *decoded = merged ? g_mime_utils_header_decode_text(po, merged) : NULL;
    const char *subject = decoded ? decoded : g_mime_message_get_subject(msg);
    g_free(in->subject);
    in->subject = clean_value(subject ? subject : "", o);
    g_free(merged);
    g_free(decoded);
    g_free(in->text);
    body_search bs = {0};
    in->text = body_text(msg, o, &bs);
    GPtrArray *files = tg_attachments_find(msg, GMIME_OBJECT(bs.plain), GMIME_OBJECT(bs.html));
    in->attachments = tg_attachments_names(files, in->read_cut);
    in->attachments_mime = tg_attachments_mime(files);
    g_ptr_array_unref(files);
    in->text_truncated = cap_utf8(in->text, max_text);

    const char *mid = g_mime_message_get_message_id(msg);
    if (usable_id(mid)) {
        in->message_id = g_strdup(mid);
    } else {
        in->message_id = synthetic_id(in, tg_inbound_header(in, "Date"));
        in->message_id_synthetic = 1;
    }
    char **irt = parse_ids(po, g_mime_object_get_header(GMIME_OBJECT(msg), "In-Reply-To"));
    if (irt && irt[0])
        in->in_reply_to = g_strdup(irt[0]);
    g_strfreev(irt);
    in->references = parse_ids(po, g_mime_object_get_header(GMIME_OBJECT(msg), "References"));
    in->subject_tag = tg_find_subject_tag(in->subject);

    char *sample = g_strconcat(in->subject, "\n", in->text, NULL);
    g_free(in->lang);
    in->lang = g_strdup(tg_guess_lang(sample));
    g_free(sample);
    in->machine_reason = machine_reasons(in, msg);
    in->machine = in->machine_reason != NULL;

    g_object_unref(msg);
    g_mime_parser_options_free(po);
    *out = in;
    return TG_OK;
}

/* ---- building replies ---- */

/* one_line - a value for a header we write: CR, LF and other controls as spaces, and "=?" as
 * "= ?": text that looks like the start of an encoded word makes GMime 3.2's encoder drop it and
 * fold inside the next word, without the leading space (a broken header; tests/fuzz_mail found
 * it with a subject that began "=?KOI8-R?Q? оплате"). Caller g_free()s. */
static char *one_line(const char *v)
{
    char *valid = g_utf8_make_valid(v ? v : "", -1);
    GString *s = g_string_sized_new(strlen(valid));
    for (const char *p = valid; *p; p++) {
        g_string_append_c(s, (unsigned char)*p < 0x20 || *p == 0x7f ? ' ' : *p);
        if (p[0] == '=' && p[1] == '?')
            g_string_append_c(s, ' ');
    }
    g_free(valid);
    return g_string_free(s, FALSE);
}

/* plain_msgid - a msg-id we can write between <> without it changing the header. */
static int plain_msgid(const char *id)
{
    if (!id || !*id || strlen(id) > 250 || !strchr(id, '@'))
        return 0;
    for (const char *p = id; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f || *p == '<' || *p == '>')
            return 0;
    return 1;
}

/* add_mailbox - like g_mime_message_add_mailbox, but names are encoded as UTF-8 (GMime would
 * pick the smallest charset, e.g. iso-8859-5 for Cyrillic). */
static void add_mailbox(GMimeMessage *msg, GMimeAddressType type, const char *name,
                        const char *addr)
{
    InternetAddress *ia = internet_address_mailbox_new(name && *name ? name : NULL, addr);
    internet_address_set_charset(ia, "utf-8");
    internet_address_list_add(g_mime_message_get_addresses(msg, type), ia);
    g_object_unref(ia);
}

#define NOTICE_ID_PREFIX "notice."

static char *new_id(const char *prefix, const char *domain)
{
    /* Time first: the store indexes our message ids, and ids that increase are appended to the
     * index, where random ones (as GMime makes them) dirty a page of it for every reply. */
    return g_strdup_printf("%s%014" G_GINT64_MODIFIER "x.%08" G_GINT32_MODIFIER "x@%s", prefix,
                           g_get_real_time(), g_random_int(),
                           domain && *domain ? domain : "localhost");
}

char *tg_mail_new_message_id(const char *domain)
{
    return new_id("", domain);
}

char *tg_mail_new_notice_id(const char *domain)
{
    return new_id(NOTICE_ID_PREFIX, domain);
}

int tg_mail_is_notice_id(const char *id)
{
    return id && g_str_has_prefix(id, NOTICE_ID_PREFIX);
}

int tg_mail_build(const tg_mail_reply *r, GByteArray **out, tg_err *err)
{
    ensure_init();
    *out = NULL;
    if (!r->to_addr || !strchr(r->to_addr, '@') || strpbrk(r->to_addr, " \t\r\n<>,;\"") ||
        strlen(r->to_addr) > TG_MAIL_MAX_ADDRESS)
        return tg_err_set(err, TG_EINVAL, "reply recipient \"%s\" is not an address",
                          r->to_addr ? r->to_addr : "");

    GMimeMessage *msg = g_mime_message_new(TRUE);
    GMimeObject *obj = GMIME_OBJECT(msg);
    char *from_name = one_line(r->from_name), *to_name = one_line(r->to_name);
    char *subject = one_line(r->subject);

    add_mailbox(msg, GMIME_ADDRESS_TYPE_FROM, from_name, r->from_addr);
    add_mailbox(msg, GMIME_ADDRESS_TYPE_TO, to_name, r->to_addr);
    g_mime_message_set_subject(msg, subject, "utf-8");
    GDateTime *date = g_date_time_new_from_unix_utc(r->date);
    g_mime_message_set_date(msg, date);
    g_date_time_unref(date);
    char *id = plain_msgid(r->message_id) ? g_strdup(r->message_id)
                                          : tg_mail_new_message_id(tg_address_domain(r->from_addr));
    g_mime_message_set_message_id(msg, id);
    g_free(id);

    if (plain_msgid(r->in_reply_to)) {
        char *v = g_strdup_printf("<%s>", r->in_reply_to);
        g_mime_object_set_header(obj, "In-Reply-To", v, NULL);
        g_free(v);
    }
    if (r->references) {
        GString *refs = g_string_new(NULL);
        char **ids = g_strsplit(r->references, " ", -1);
        for (char **i = ids; *i; i++)
            if (plain_msgid(*i))
                g_string_append_printf(refs, "%s<%s>", refs->len ? " " : "", *i);
        if (refs->len)
            g_mime_object_set_header(obj, "References", refs->str, NULL);
        g_strfreev(ids);
        g_string_free(refs, TRUE);
    }
    if (r->auto_submitted) {
        g_mime_object_set_header(obj, "Auto-Submitted", r->auto_submitted, NULL);
        /* Ask Exchange and others not to answer our answer. */
        g_mime_object_set_header(obj, "X-Auto-Response-Suppress", "All", NULL);
    }
    if (r->ticket_ref) {
        char *ref = one_line(r->ticket_ref);
        g_mime_object_set_header(obj, "X-Ticket-ID", ref, "utf-8");
        g_free(ref);
    }

    GMimeTextPart *part = g_mime_text_part_new_with_subtype("plain");
    g_mime_text_part_set_charset(part, "utf-8");
    char *body = g_utf8_make_valid(r->body ? r->body : "", -1);
    GMimeStream *content = g_mime_stream_mem_new_with_buffer(body, strlen(body));
    GMimeDataWrapper *wrapper =
        g_mime_data_wrapper_new_with_stream(content, GMIME_CONTENT_ENCODING_DEFAULT);
    g_mime_part_set_content(GMIME_PART(part), wrapper);
    g_mime_part_set_content_encoding(GMIME_PART(part), GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
    if (r->lang)
        g_mime_object_set_header(GMIME_OBJECT(part), "Content-Language", r->lang, NULL);
    tg_attachments_attach(msg, GMIME_OBJECT(part), r->attachments_mime);
    g_object_unref(wrapper);
    g_object_unref(content);
    g_object_unref(part);
    g_free(body);

    GByteArray *bytes = g_byte_array_new();
    GMimeStream *mem = g_mime_stream_mem_new_with_byte_array(bytes);
    g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(mem), FALSE);
    GMimeFormatOptions *fo = g_mime_format_options_new();
    g_mime_format_options_set_newline_format(fo, GMIME_NEWLINE_FORMAT_UNIX);
    g_mime_object_write_to_stream(obj, fo, mem);
    g_mime_format_options_free(fo);
    g_object_unref(mem);
    g_object_unref(msg);
    g_free(from_name);
    g_free(to_name);
    g_free(subject);
    *out = bytes;
    return TG_OK;
}
