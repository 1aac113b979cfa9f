/* fuzz_mail.c - hostile mail through the whole mail path: the corpus of tests/data/mail, mutated
 * at random (bytes flipped, inserted, cut, repeated; broken encoded words, charsets, boundaries
 * and transfer encodings spliced in; parts nested deep), is parsed as the milter parses it, taken
 * in on a real store with the shipped rules, and answered with a reply built as the mailer builds
 * it. Nothing may crash, and what comes out must hold what the rest of ticketgate relies on:
 * valid UTF-8, no line breaks in single-line fields, the kept text within its limit, and a reply
 * whose header block has only the fields we write, each once, with no line over 998 bytes.
 * FUZZ_ITERATIONS (default 2000) and FUZZ_SEED (default 20261124) reproduce a run; a failure
 * prints the seed, the iteration and the mutant's file; with FUZZ_LAST=FILE each mutant is
 * written there first, for a crash. Run under valgrind by fuzz_mail.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "tg_intake.h"
#include "tg_mail.h"

#define NOW 1795503600 /* Tue 24 Nov 2026 10:00 MSK */

static GRand *rng;
static unsigned long iteration;
static int failures;

static const char *const snippets[] = {
    "Subject: =?utf-8?B?0J/RgNC40LLQtdGC?= =?koi8-r?Q?=F0=D2=C9?=\n",
    "Subject: =?x-unknown?Q?abc?= =?utf-8?B?####?= =?utf-8?Q?a=0Ab=0Dc?=\n",
    "Subject: [SUP-1] [SUP-99999999999999999999] Re: Fwd: \n",
    "Content-Type: multipart/mixed; boundary=\"b\"\n\n--b\nContent-Type: text/plain\n\nx\n--b--\n",
    "Content-Type: multipart/alternative; boundary=\"\"\n",
    "Content-Transfer-Encoding: base64\n",
    "Content-Transfer-Encoding: quoted-printable\n",
    "Content-Type: text/plain; charset=\"utf-7\"\n",
    "Content-Type: text/html; charset=windows-1251\n\n<html><script>x</script><p>\xcf\xf0\xe8",
    "Content-Type: message/rfc822\n\n",
    "Content-Disposition: attachment; filename*0*=utf-8''%FF%FE; filename*1=x\n",
    "From: \"=?utf-8?Q?A=0ABcc:_x@y?=\" <a@b>\n",
    "From: <>\n",
    "From: a@b, c@d, \"\\\"\" <@>\n",
    "Reply-To: \"=?utf-8?Q?V=0D=0ABcc:_x@y?=\" <v@c>\n",
    "Reply-To: undisclosed:;, <>, support@example.org\n",
    "Reply-To: =?koi8-r?B?8NLJ?= <\x01x@y>\n",
    "To: support@example.org, =?utf-8?B?AAAA?= <x@y>\n",
    "Message-ID: <a@b\n",
    "Message-ID: <>\n",
    "In-Reply-To: <\r\nBcc: x@y>\n",
    "References: <1@x> <2@x> <3@x> <<>> <\n",
    "Auto-Submitted: auto-replied\n",
    "X-Priority: 1\n",
    "=?utf-8?B?\n",
    "\n\n--b\n\n--b--\n",
};

/* insert_bytes - n bytes into a at position at (GLib has no insert for byte arrays). */
static void insert_bytes(GByteArray *a, guint at, const guint8 *bytes, guint n)
{
    guint len = a->len;
    if (n == 0) /* bytes may then be NULL, which memcpy must not see */
        return;
    g_byte_array_set_size(a, len + n);
    memmove(a->data + at + n, a->data + at, len - at);
    memcpy(a->data + at, bytes, n);
}

/* mutate - one random change to mail. */
static void mutate(GByteArray *mail)
{
    static const char alphabet[] = "\0\r\n =?\"<>\\;:@\x80\xd0\xff\t";
    guint len = mail->len;
    guint at = len ? (guint)g_rand_int_range(rng, 0, (gint32)len) : 0;
    switch (g_rand_int_range(rng, 0, 8)) {
    case 0: /* flip a byte */
        if (len)
            mail->data[at] = (guint8)g_rand_int_range(rng, 0, 256);
        break;
    case 1: { /* insert odd bytes */
        guint8 bytes[16];
        guint n = (guint)g_rand_int_range(rng, 1, 17);
        for (guint i = 0; i < n; i++)
            bytes[i] = (guint8)alphabet[g_rand_int_range(rng, 0, sizeof alphabet - 1)];
        insert_bytes(mail, at, bytes, n);
        break;
    }
    case 2: { /* cut a piece out */
        guint n = (guint)g_rand_int_range(rng, 1, 200);
        if (len)
            g_byte_array_remove_range(mail, at, MIN(len - at, n));
        break;
    }
    case 3: { /* repeat a piece */
        guint n = (guint)g_rand_int_range(rng, 1, 400);
        n = MIN(len - at, n);
        guint8 *copy = g_memdup2(mail->data + at, n);
        insert_bytes(mail, (guint)g_rand_int_range(rng, 0, (gint32)len + 1), copy, n);
        g_free(copy);
        break;
    }
    case 4: /* end early */
        g_byte_array_set_size(mail, at);
        break;
    case 5:
    case 6: { /* a hostile line at the start of a line */
        const char *s = snippets[g_rand_int_range(rng, 0, G_N_ELEMENTS(snippets))];
        while (at > 0 && mail->data[at - 1] != '\n')
            at--;
        insert_bytes(mail, at, (const guint8 *)s, (guint)strlen(s));
        break;
    }
    case 7: { /* nested deep in multiparts, or one very long line */
        if (g_rand_boolean(rng)) {
            int depth = g_rand_int_range(rng, 1, 80);
            for (int i = 0; i < depth; i++) {
                char *head = g_strdup_printf("Content-Type: multipart/mixed; boundary=\"n%d\"\n\n"
                                             "--n%d\n",
                                             i, i);
                char *tail = g_strdup_printf("\n--n%d--\n", i);
                g_byte_array_prepend(mail, (const guint8 *)head, (guint)strlen(head));
                g_byte_array_append(mail, (const guint8 *)tail, (guint)strlen(tail));
                g_free(head);
                g_free(tail);
            }
        } else {
            guint n = (guint)g_rand_int_range(rng, 1000, 70000);
            guint8 *line = g_malloc(n);
            memset(line, g_rand_boolean(rng) ? 'a' : 0xd0, n);
            insert_bytes(mail, at, line, n);
            g_free(line);
        }
        break;
    }
    }
}

/* problem - a failed check: said, and the mutant kept in the working directory. */
static void problem(const GByteArray *mail, const char *what, const char *detail)
{
    char *kept = g_strdup_printf("fuzz-failure-%lu.eml", iteration);
    g_file_set_contents(kept, (const char *)mail->data, mail->len, NULL);
    fprintf(stderr, "FAIL: iteration %lu (FUZZ_SEED=%s): %s: %.200s (mutant kept in %s)\n",
            iteration, g_getenv("FUZZ_SEED") ? g_getenv("FUZZ_SEED") : "20261124", what,
            detail ? detail : "", kept);
    failures++;
    g_free(kept);
}

/* line_field - a field that must be valid UTF-8 on one line (NULL is fine). */
static void line_field(const GByteArray *mail, const char *name, const char *v)
{
    if (v && !g_utf8_validate(v, -1, NULL))
        problem(mail, name, "not UTF-8");
    else if (v && strpbrk(v, "\r\n"))
        problem(mail, name, v);
}

static void check_inbound(const GByteArray *mail, const tg_inbound *in, size_t max_text)
{
    line_field(mail, "subject", in->subject);
    line_field(mail, "sender", in->sender);
    line_field(mail, "sender_name", in->sender_name);
    line_field(mail, "message_id", in->message_id);
    line_field(mail, "in_reply_to", in->in_reply_to);
    line_field(mail, "subject_tag", in->subject_tag);
    for (char **r = in->references; r && *r; r++)
        line_field(mail, "reference", *r);
    for (char **r = in->recipients; r && *r; r++)
        line_field(mail, "recipient", *r);
    for (size_t i = 0; i < in->n_headers; i++) {
        line_field(mail, "header name", in->headers[i].name);
        if (!g_utf8_validate(in->headers[i].value, -1, NULL))
            problem(mail, "header value", "not UTF-8");
    }
    if (!g_utf8_validate(in->text, -1, NULL))
        problem(mail, "text", "not UTF-8");
    if (strlen(in->text) > max_text)
        problem(mail, "text", "longer than max_text_size");
}

/* check_reply - the header block of a built reply: only our fields, each once, short lines. */
static void check_reply(const GByteArray *mail, const GByteArray *reply)
{
    static const char *const ours[] = {"From",
                                       "To",
                                       "Subject",
                                       "Date",
                                       "Message-Id",
                                       "In-Reply-To",
                                       "References",
                                       "MIME-Version",
                                       "Content-Type",
                                       "Content-Transfer-Encoding",
                                       "Content-Language",
                                       "Auto-Submitted",
                                       "X-Auto-Response-Suppress",
                                       "X-Ticket-ID"};
    int seen[G_N_ELEMENTS(ours)] = {0};
    char *text = g_strndup((const char *)reply->data, reply->len);
    char *end = strstr(text, "\n\n");
    if (!end) {
        problem(mail, "reply", "no header block");
        g_free(text);
        return;
    }
    *end = '\0';
    char **lines = g_strsplit(text, "\n", -1);
    for (char **l = lines; *l; l++) {
        if (strlen(*l) > 998 || strchr(*l, '\r'))
            problem(mail, "reply header line", *l);
        if (**l == ' ' || **l == '\t')
            continue; /* folded */
        size_t k;
        for (k = 0; k < G_N_ELEMENTS(ours); k++)
            if (g_ascii_strncasecmp(*l, ours[k], strlen(ours[k])) == 0 &&
                (*l)[strlen(ours[k])] == ':')
                break;
        if (k == G_N_ELEMENTS(ours) || ++seen[k] > 1)
            problem(mail, "reply header", *l);
    }
    g_strfreev(lines);
    g_free(text);
}

/* answer - intake on the store, then the reply the mailer would send. */
static void answer(const GByteArray *mail, const tg_config *cfg, tg_store *st, const tg_inbound *in)
{
    tg_decision d = {0};
    tg_err err = {0};
    int rc = tg_intake_process(cfg, st, in, NOW, &d, &err);
    if (rc != TG_OK && rc != TG_EINVAL) {
        problem(mail, "intake", err.msg);
        return;
    }
    if (rc == TG_OK && d.reply_text && !g_utf8_validate(d.reply_text, -1, NULL))
        problem(mail, "reply text", "not UTF-8");
    char *refs = in->references ? g_strjoinv(" ", in->references) : NULL;
    tg_mail_reply r = {.from_addr = "support@example.org",
                       .from_name = "Example Support",
                       .to_addr = in->sender,
                       .to_name = in->sender_name,
                       .subject = d.reply_subject ? d.reply_subject : in->subject,
                       .body = d.reply_text ? d.reply_text : in->text,
                       .in_reply_to = in->message_id,
                       .references = refs,
                       .auto_submitted = "auto-replied",
                       .ticket_ref = d.ref,
                       .lang = in->lang,
                       .date = NOW};
    GByteArray *reply = NULL;
    if (tg_mail_build(&r, &reply, &err) == TG_OK)
        check_reply(mail, reply);
    else if (err.code != TG_EINVAL) /* a sender that is no address gets no reply */
        problem(mail, "reply", err.msg);
    if (reply)
        g_byte_array_unref(reply);
    g_free(refs);
    tg_decision_clear(&d);
}

static GPtrArray *load_corpus(void)
{
    GPtrArray *corpus = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
    char *dirpath = tu_data("mail");
    GDir *dir = g_dir_open(dirpath, 0, NULL);
    const char *name;
    while (dir && (name = g_dir_read_name(dir))) {
        char *path = g_build_filename(dirpath, name, NULL);
        char *data;
        gsize len;
        if (g_str_has_suffix(name, ".eml") && g_file_get_contents(path, &data, &len, NULL))
            g_ptr_array_add(corpus, g_bytes_new_take(data, len));
        g_free(path);
    }
    if (dir)
        g_dir_close(dir);
    g_free(dirpath);
    return corpus;
}

int main(void)
{
    unsigned long iterations;
    rng = tu_fuzz_rng(&iterations);
    GPtrArray *corpus = load_corpus();
    tg_config *cfg = tu_fuzz_config("[queue support]\naddresses = support@example.org\ngroup = l1\n"
                                    "[agent ann]\nemail = ann@example.org\ngroups = l1\n");
    tg_err err = {0};
    tg_store *st = cfg ? tg_config_open_store(cfg, &err) : NULL;
    if (corpus->len == 0 || !st) {
        fprintf(stderr, "fuzz_mail: no corpus, configuration or store: %s\n", err.msg);
        return 1;
    }
    for (iteration = 0; iteration < iterations && failures < 10; iteration++) {
        GBytes *seed = g_ptr_array_index(corpus, g_rand_int_range(rng, 0, (gint32)corpus->len));
        gsize len;
        const guint8 *data = g_bytes_get_data(seed, &len);
        GByteArray *mail = g_byte_array_new();
        g_byte_array_append(mail, data, (guint)len);
        for (int n = g_rand_int_range(rng, 1, 7); n > 0; n--)
            mutate(mail);
        if (g_getenv("FUZZ_LAST")) /* the mutant a crash leaves behind */
            g_file_set_contents(g_getenv("FUZZ_LAST"), (const char *)mail->data, mail->len, NULL);
        size_t max_text = (size_t)g_rand_int_range(rng, 1024, 65536);
        tg_mail_opts opts = {.envelope_sender = g_rand_boolean(rng) ? NULL : "",
                             .recipient = "support@example.org",
                             .max_text_size = max_text};
        tg_inbound *in = NULL;
        if (tg_mail_parse((const char *)mail->data, mail->len, &opts, &in, &err) != TG_OK) {
            if (mail->len > 0) /* only no input at all may be refused */
                problem(mail, "parse", err.msg);
        } else {
            check_inbound(mail, in, max_text);
            answer(mail, cfg, st, in);
        }
        tg_inbound_free(in);
        g_byte_array_unref(mail);
    }
    printf("%lu mutants of %u mails parsed, taken in and answered; %d failed\n", iteration,
           corpus->len, failures);
    tg_store_close(st);
    tg_config_unref(cfg);
    g_ptr_array_unref(corpus);
    g_rand_free(rng);
    tu_cleanup();
    return failures ? 1 : 0;
}
