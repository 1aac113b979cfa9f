/* check_mail.c - the golden corpus (tests/data/mail/NAME.eml -> NAME.expected) and replies.
 * TG_UPDATE_GOLDEN=1 rewrites the .expected files; review the diff before committing. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include <gmime/gmime.h>

#include "testutil.h"
#include "tg_html.h"
#include "tg_log.h"
#include "tg_mail.h"

static char *render(const tg_inbound *in)
{
    GString *out = g_string_new(NULL);
    char *recipients = in->recipients ? g_strjoinv(", ", in->recipients) : g_strdup("");
    char *refs = in->references ? g_strjoinv(" ", in->references) : g_strdup("");
    char *attachments = in->attachments ? g_strjoinv("; ", in->attachments) : g_strdup("-");
    g_string_append_printf(
        out,
        "sender: %s\nauthor: %s\nsender_name: %s\nrecipients: %s\nsubject: %s\nlang: %s\n"
        "message_id: %s%s\nin_reply_to: %s\nreferences: %s\nsubject_tag: %s\n"
        "machine: %s\ntruncated: %d\nattachments: %s\ntext:\n%s\n",
        in->sender, in->author ? in->author : "-", in->sender_name ? in->sender_name : "-",
        recipients, in->subject, in->lang, in->message_id,
        in->message_id_synthetic ? " (synthetic)" : "", in->in_reply_to ? in->in_reply_to : "-",
        refs, in->subject_tag ? in->subject_tag : "-", in->machine ? in->machine_reason : "no",
        in->text_truncated, attachments, in->text);
    g_free(attachments);
    g_free(recipients);
    g_free(refs);
    return g_string_free(out, FALSE);
}

START_TEST(test_golden_corpus)
{
    char *dirpath = tu_data("mail");
    GDir *dir = g_dir_open(dirpath, 0, NULL);
    const char *name;
    int n = 0;
    ck_assert_ptr_nonnull(dir);
    while ((name = g_dir_read_name(dir))) {
        if (!g_str_has_suffix(name, ".eml"))
            continue;
        char *path = g_build_filename(dirpath, name, NULL);
        char *base = g_strndup(name, strlen(name) - 4);
        char *expected_path = g_strdup_printf("%s/%s.expected", dirpath, base);
        char *data = NULL, *expected = NULL;
        gsize len;
        tg_inbound *in = NULL;
        ck_assert(g_file_get_contents(path, &data, &len, NULL));
        tg_mail_opts opts = {.envelope_sender = strstr(name, "dsn") ? "" : NULL};
        ck_assert_int_eq(tg_mail_parse(data, len, &opts, &in, NULL), 0);
        char *got = render(in);
        if (g_getenv("TG_UPDATE_GOLDEN"))
            g_file_set_contents(expected_path, got, -1, NULL);
        ck_assert_msg(g_file_get_contents(expected_path, &expected, NULL, NULL), "missing %s",
                      expected_path);
        ck_assert_msg(strcmp(got, expected) == 0, "%s:\n--- got\n%s--- expected\n%s", name, got,
                      expected);
        n++;
        g_free(got);
        g_free(expected);
        g_free(data);
        g_free(path);
        g_free(base);
        g_free(expected_path);
        tg_inbound_free(in);
    }
    g_dir_close(dir);
    g_free(dirpath);
    ck_assert_int_ge(n, 10);
}
END_TEST

START_TEST(test_text_cap_on_character_boundary)
{
    GString *mail = g_string_new("From: a@b.example\nSubject: long\nContent-Type: text/plain; "
                                 "charset=utf-8\n\n");
    for (int i = 0; i < 3000; i++)
        g_string_append(mail, "ж");
    tg_mail_opts opts = {.max_text_size = 1025};
    tg_inbound *in = NULL;
    ck_assert_int_eq(tg_mail_parse(mail->str, mail->len, &opts, &in, NULL), 0);
    ck_assert_int_eq(in->text_truncated, 1);
    ck_assert_int_eq(strlen(in->text), 1024);
    ck_assert(g_utf8_validate(in->text, -1, NULL));
    tg_inbound_free(in);
    g_string_free(mail, TRUE);
}
END_TEST

START_TEST(test_recipients_are_capped)
{
    GString *mail = g_string_new("From: a@b.example\nTo: support@example.org");
    for (int i = 0; i < 5000; i++)
        g_string_append_printf(mail, ",\n u%d@c.example", i);
    g_string_append(mail, "\nSubject: many\n\nhi\n");
    tg_inbound *in = NULL;
    ck_assert_int_eq(tg_mail_parse(mail->str, mail->len, NULL, &in, NULL), 0);
    ck_assert_int_eq(g_strv_length(in->recipients), 100);
    ck_assert_str_eq(in->recipients[0], "support@example.org");
    tg_inbound_free(in);
    g_string_free(mail, TRUE);
}
END_TEST

/* A To/Cc address with a control character in it (a quoted local part with a bare CR or a tab,
 * found by fuzz_mail) is no address anyone writes from: it is dropped, as such a From is, and
 * never stored as an address of the ticket's thread. */
START_TEST(test_recipients_with_control_characters_dropped)
{
    const char mail[] = "From: a@b.example\n"
                        "To: \"a\rb\"@example.org, support@example.org\n"
                        "Cc: \"tab\there\"@c.example, Colleague <colleague@c.example>\n"
                        "Subject: odd\n\nhi\n";
    tg_inbound *in = NULL;
    ck_assert_int_eq(tg_mail_parse(mail, sizeof mail - 1, NULL, &in, NULL), 0);
    ck_assert_int_eq(g_strv_length(in->recipients), 2);
    ck_assert_str_eq(in->recipients[0], "support@example.org");
    ck_assert_str_eq(in->recipients[1], "colleague@c.example");
    tg_inbound_free(in);
}
END_TEST

/* Attachments are named with their type and size; the body's own parts and signatures are
 * not attachments; names are one clean line. */
START_TEST(test_attachments_listed)
{
    GString *pdf = g_string_new(NULL);
    for (int i = 0; i < 1000; i++) /* 3,000 bytes decoded */
        g_string_append(pdf, i % 19 == 18 ? "QUFB\n" : "QUFB");
    char *mail = g_strdup_printf(
        "From: a@b.example\nSubject: files\nMIME-Version: 1.0\n"
        "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; boundary=s\n\n"
        "--s\nContent-Type: multipart/mixed; boundary=m\n\n"
        "--m\nContent-Type: multipart/alternative; boundary=a\n\n"
        "--a\nContent-Type: text/plain; charset=utf-8\n\nSee the files.\n"
        "--a\nContent-Type: text/html; charset=utf-8\n\n<p>See the files.</p>\n--a--\n"
        "--m\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n"
        "Content-Disposition: attachment; filename*=windows-1251''%%D1%%F7%%E5%%F2.pdf\n\n%s\n"
        "--m\nContent-Type: image/png; name=logo.png\nContent-Transfer-Encoding: base64\n"
        "Content-Disposition: inline; filename=logo.png\n\niVBO\n"
        "--m\nContent-Type: text/plain; charset=utf-8\n"
        "Content-Disposition: attachment; filename=\"=?utf-8?Q?a=0D=0AX-Injected:_1.txt?=\"\n\n"
        "log\n"
        "--m\nContent-Type: message/rfc822\n\n"
        "From: c@d.example\nSubject: =?utf-8?B?0JfQsNC60LDQtyA1?=\n\nforwarded\n"
        "--m--\n"
        "--s\nContent-Type: application/pkcs7-signature; name=smime.p7s\n\nsig\n--s--\n",
        pdf->str);
    tg_inbound *in = NULL;
    ck_assert_int_eq(tg_mail_parse(mail, strlen(mail), NULL, &in, NULL), 0);
    ck_assert_str_eq(in->text, "See the files.");
    ck_assert_ptr_nonnull(in->attachments);
    ck_assert_int_eq(g_strv_length(in->attachments), 4);
    ck_assert_str_eq(in->attachments[0], "Счет.pdf (application/pdf, 3.0 kB)");
    ck_assert_str_eq(in->attachments[1], "logo.png (image/png, 3 bytes)");
    ck_assert_str_eq(in->attachments[2], "a  X-Injected: 1.txt (text/plain, 3 bytes)");
    ck_assert_msg(g_str_has_prefix(in->attachments[3], "Заказ 5 (message/rfc822, "), "%s",
                  in->attachments[3]);
    tg_inbound_free(in);
    g_free(mail);

    /* a plain mail has none; a mail that is only a file has that one, without text */
    in = NULL;
    const char *plain = "From: a@b.example\nSubject: hi\n\nhello\n";
    ck_assert_int_eq(tg_mail_parse(plain, strlen(plain), NULL, &in, NULL), 0);
    ck_assert_ptr_null(in->attachments);
    tg_inbound_free(in);
    const char *only_file = "From: a@b.example\nSubject: scan\nContent-Type: image/jpeg\n\nxyz\n";
    ck_assert_int_eq(tg_mail_parse(only_file, strlen(only_file), NULL, &in, NULL), 0);
    ck_assert_str_eq(in->text, "");
    ck_assert_str_eq(in->attachments[0], "(no name) (image/jpeg, 4 bytes)");
    ck_assert_ptr_null(in->attachments[1]);
    tg_inbound_free(in);
    /* only the first part of the mail was read (the milter's read_limit): the last file is cut */
    tg_mail_opts cut = {.full_size = 1 << 20};
    ck_assert_int_eq(tg_mail_parse(only_file, strlen(only_file), &cut, &in, NULL), 0);
    ck_assert_str_eq(in->attachments[0], "(no name) (image/jpeg, cut at 4 bytes)");
    tg_inbound_free(in);

    /* at most 20 named, then how many more; long names cut */
    GString *many = g_string_new("From: a@b.example\nSubject: many\n"
                                 "Content-Type: multipart/mixed; boundary=m\n\n");
    for (int i = 0; i < 25; i++) {
        g_string_append(many, "--m\nContent-Type: application/octet-stream\n"
                              "Content-Disposition: attachment; filename=");
        for (int j = 0; j < 30; j++)
            g_string_append_printf(many, "f%02d_", i);
        g_string_append(many, "\n\nx\n");
    }
    g_string_append(many, "--m--\n");
    ck_assert_int_eq(tg_mail_parse(many->str, many->len, NULL, &in, NULL), 0);
    ck_assert_int_eq(g_strv_length(in->attachments), 21);
    ck_assert_str_eq(in->attachments[20], "... and 5 more");
    ck_assert(g_str_has_prefix(in->attachments[0], "f00_f00_"));
    ck_assert_msg(strstr(in->attachments[0], "f00_... (application/octet-stream, 1 byte)"), "%s",
                  in->attachments[0]);
    ck_assert_int_eq(g_utf8_strlen(in->attachments[0], -1),
                     100 + strlen("... (application/octet-stream, 1 byte)"));
    tg_inbound_free(in);
    g_string_free(many, TRUE);
    g_string_free(pdf, TRUE);
}
END_TEST

/* decoded_files - "name:content" of every file in a tg_attachments_mime entity, for comparing
 * files rather than the entity (whose boundary differs each time). */
static GString *decoded_files(const char *mime)
{
    GString *out = g_string_new(NULL);
    GMimeStream *stream = g_mime_stream_mem_new_with_buffer(mime, strlen(mime));
    GMimeParser *parser = g_mime_parser_new_with_stream(stream);
    GMimeObject *top = g_mime_parser_construct_part(parser, NULL);
    ck_assert(GMIME_IS_MULTIPART(top));
    for (int i = 0; i < g_mime_multipart_get_count(GMIME_MULTIPART(top)); i++) {
        GMimePart *part = GMIME_PART(g_mime_multipart_get_part(GMIME_MULTIPART(top), i));
        GByteArray *bytes = g_byte_array_new();
        GMimeStream *mem = g_mime_stream_mem_new_with_byte_array(bytes);
        g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(mem), FALSE);
        g_mime_data_wrapper_write_to_stream(g_mime_part_get_content(part), mem);
        g_string_append_printf(out, "%s:", g_mime_part_get_filename(part));
        g_string_append_len(out, (const char *)bytes->data, bytes->len);
        g_object_unref(mem);
        g_byte_array_unref(bytes);
    }
    g_object_unref(top);
    g_object_unref(parser);
    g_object_unref(stream);
    return out;
}

/* An agent's files go out with the relayed answer: the reply built with them reads back with
 * the same text and the same files, byte for byte; the stored form is 7-bit text. */
START_TEST(test_attachments_relayed)
{
    GString *mail = g_string_new(
        "From: ann@example.org\nSubject: Re: [SUP-1] Manual\nMIME-Version: 1.0\n"
        "Content-Type: multipart/mixed; boundary=m\n\n"
        "--m\nContent-Type: text/plain; charset=utf-8\n\nThe manual is attached.\n"
        "--m\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n"
        "Content-Disposition: attachment; filename*=utf-8''%D0%98%D0%BD%D1%81%D1%82%D1%80.pdf\n\n");
    for (int i = 0; i < 300; i++) /* every byte value, 256 * 3 bytes a round */
        g_string_append(mail,
                        i % 2 ? "gIGCg4SFhoeIiYqLjI2Oj5CRkpOUlZaXmJmam5ydnp+goaKjpKWmp6ipqqus\n"
                              : "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKiss\n");
    g_string_append(mail, "--m\nContent-Type: text/plain; charset=koi8-r; name=notes.txt\n"
                          "Content-Transfer-Encoding: 8bit\nContent-Disposition: attachment\n\n"
                          "\xf0\xd2\xc9\xd7\xc5\xd4\n--m--\n");
    tg_inbound *agent = NULL;
    ck_assert_int_eq(tg_mail_parse(mail->str, mail->len, NULL, &agent, NULL), 0);
    ck_assert_ptr_nonnull(agent->attachments_mime);
    for (const char *p = agent->attachments_mime; *p; p++)
        ck_assert_msg((unsigned char)*p < 0x80, "8-bit byte in the stored files");

    tg_mail_reply r = {.from_addr = "support@example.org",
                       .to_addr = "maria@customer.ru",
                       .subject = "Re: [SUP-1] Manual",
                       .body = "The manual is attached.\n\n-- \nAnn\n",
                       .lang = "en",
                       .attachments_mime = agent->attachments_mime,
                       .date = 1795000000};
    GByteArray *out = NULL;
    ck_assert_int_eq(tg_mail_build(&r, &out, NULL), 0);
    tg_inbound *customer = NULL;
    ck_assert_int_eq(tg_mail_parse((const char *)out->data, out->len, NULL, &customer, NULL), 0);
    ck_assert_str_eq(customer->text, "The manual is attached.\n\n-- \nAnn");
    ck_assert_ptr_nonnull(customer->attachments);
    ck_assert_int_eq(g_strv_length(customer->attachments), 2);
    ck_assert_str_eq(customer->attachments[0], "Инстр.pdf (application/pdf, 13.5 kB)");
    ck_assert_str_eq(customer->attachments[0], agent->attachments[0]);
    ck_assert_str_eq(customer->attachments[1], agent->attachments[1]);
    /* the same bytes */
    GString *sent = decoded_files(agent->attachments_mime);
    GString *got = decoded_files(customer->attachments_mime);
    ck_assert_int_eq(sent->len, strlen("Инстр.pdf:") + 300 * 45 + strlen("notes.txt:") + 6);
    ck_assert(g_string_equal(sent, got));
    ck_assert(memcmp(got->str + got->len - 16, "notes.txt:\xf0\xd2\xc9\xd7\xc5\xd4", 16) == 0);
    g_string_free(sent, TRUE);
    g_string_free(got, TRUE);
    char *built = g_strndup((const char *)out->data, out->len);
    ck_assert_ptr_nonnull(strstr(built, "Content-Type: multipart/mixed"));
    ck_assert_ptr_nonnull(strstr(built, "Content-Language: en"));
    g_free(built);
    tg_inbound_free(customer);
    g_byte_array_unref(out);

    /* no files, or unreadable ones: the text alone */
    r.attachments_mime = "garbage";
    ck_assert_int_eq(tg_mail_build(&r, &out, NULL), 0);
    ck_assert_int_eq(tg_mail_parse((const char *)out->data, out->len, NULL, &customer, NULL), 0);
    ck_assert_ptr_null(customer->attachments);
    ck_assert_str_eq(customer->text, "The manual is attached.\n\n-- \nAnn");
    tg_inbound_free(customer);
    g_byte_array_unref(out);
    tg_inbound_free(agent);
    g_string_free(mail, TRUE);
}
END_TEST

START_TEST(test_empty_input)
{
    tg_inbound *in = NULL;
    tg_err err = {0};
    ck_assert_int_eq(tg_mail_parse("", 0, NULL, &in, &err), TG_EINVAL);
    ck_assert_ptr_null(in);
}
END_TEST

/* A reply must carry RFC 3834 headers, encode the subject, and never let CR/LF from the
 * customer's data start a header of its own. */
START_TEST(test_build_reply)
{
    tg_mail_reply r = {.from_addr = "support@example.org",
                       .from_name = "Поддержка",
                       .to_addr = "maria@customer.ru",
                       .to_name = "Evil\r\nBcc: victim@example.com",
                       .subject = "Re: [SUP-7] Не работает\r\nX-Injected: yes",
                       .body = "Ваше обращение зарегистрировано.\n",
                       .in_reply_to = "m1@customer.ru",
                       .references = "m0@customer.ru bad<id m1@customer.ru",
                       .auto_submitted = "auto-replied",
                       .ticket_ref = "SUP-7",
                       .lang = "ru",
                       .date = 1795000000};
    GByteArray *out = NULL;
    ck_assert_int_eq(tg_mail_build(&r, &out, NULL), 0);
    char *text = g_strndup((const char *)out->data, out->len);
    ck_assert_ptr_nonnull(strstr(text, "\nAuto-Submitted: auto-replied\n"));
    ck_assert_ptr_nonnull(strstr(text, "\nIn-Reply-To: <m1@customer.ru>\n"));
    ck_assert_ptr_nonnull(strstr(text, "\nReferences: <m0@customer.ru> <m1@customer.ru>\n"));
    ck_assert_ptr_nonnull(strstr(text, "\nX-Ticket-ID: SUP-7\n"));
    ck_assert_ptr_nonnull(strstr(text, "charset=utf-8"));
    ck_assert_ptr_null(strstr(text, "\nBcc:"));
    ck_assert_ptr_null(strstr(text, "\nX-Injected:"));
    ck_assert_ptr_null(strstr(text, "\r"));
    /* The header block is 7-bit: every non-ASCII word went through RFC 2047. */
    const char *end_of_headers = strstr(text, "\n\n");
    ck_assert_ptr_nonnull(end_of_headers);
    for (const char *p = text; p < end_of_headers; p++)
        ck_assert_msg((unsigned char)*p < 0x80, "raw 8-bit byte in the reply's headers");
    ck_assert_ptr_nonnull(strstr(text, "=?UTF-8?b?") ? strstr(text, "=?UTF-8?b?")
                                                     : strstr(text, "=?utf-8?b?"));

    /* Read back: GMime decodes what we wrote to the same words. */
    tg_inbound *in = NULL;
    ck_assert_int_eq(tg_mail_parse(text, strlen(text), NULL, &in, NULL), 0);
    ck_assert_str_eq(in->subject, "Re: [SUP-7] Не работает  X-Injected: yes");
    ck_assert_str_eq(in->sender_name, "Поддержка");
    ck_assert_str_eq(in->text, "Ваше обращение зарегистрировано.");
    ck_assert_str_eq(in->subject_tag, "SUP-7");
    ck_assert_int_eq(in->machine, 1); /* our own reply is machine-generated */
    tg_inbound_free(in);
    g_free(text);
    g_byte_array_unref(out);

    r.to_addr = "not an address";
    ck_assert_int_eq(tg_mail_build(&r, &out, NULL), TG_EINVAL);
    char *local = g_strnfill(250, 'a');
    char *long_address = g_strdup_printf("%s@customer.ru", local);
    r.to_addr = long_address; /* longer than an SMTP path may be */
    ck_assert_int_eq(tg_mail_build(&r, &out, NULL), TG_EINVAL);
    g_free(long_address);
    g_free(local);
}
END_TEST

/* A subject with text that looks like the start of an encoded word: GMime 3.2 used to drop it and
 * fold inside the next word without the leading space, which ended the header there (found by
 * tests/fuzz_mail). Every line of the header block is a field of ours or a folded one. */
START_TEST(test_reply_subject_with_encoded_word_lookalike)
{
    tg_mail_reply r = {.from_addr = "support@example.org",
                       .to_addr = "petr@customer.ru",
                       .to_name = "=?koi8-r?B?Пётр",
                       .subject = "Re: [SUP-9] =?KOI8-R?Q? оплате картой выходит ошибка 0x51.",
                       .body = "x\n",
                       .date = 1795000000};
    GByteArray *out = NULL;
    ck_assert_int_eq(tg_mail_build(&r, &out, NULL), 0);
    char *text = g_strndup((const char *)out->data, out->len);
    *strstr(text, "\n\n") = '\0';
    char **lines = g_strsplit(text, "\n", -1);
    for (char **l = lines; *l; l++)
        ck_assert_msg(**l == ' ' || **l == '\t' || g_regex_match_simple("^[A-Za-z-]+: ", *l, 0, 0),
                      "not a header line: %s", *l);
    g_strfreev(lines);
    g_free(text);

    tg_inbound *in = NULL;
    ck_assert_int_eq(tg_mail_parse((const char *)out->data, out->len, NULL, &in, NULL), 0);
    /* the words all there, in order (GMime may double a space between encoded words) */
    ck_assert(g_regex_match_simple("^Re: \\[SUP-9\\] = \\?KOI8-R\\?Q\\? +оплате картой выходит "
                                   "ошибка 0x51\\.$",
                                   in->subject, 0, 0));
    ck_assert_str_eq(in->sender, "support@example.org");
    tg_inbound_free(in);
    g_byte_array_unref(out);
}
END_TEST

static const struct html_case {
    const char *html, *text;
} html_cases[] = {
    {"<p>a</p><p>b</p>", "a\n\nb"},
    {"x&amp;y &lt;z&gt; &#1046;&#x416; &unknown;", "x&y <z> ЖЖ &unknown;"},
    {"<style>p{}</style><script>1</script>visible<!-- hidden -->", "visible"},
    {"one<br>two<br/><br>three", "one\ntwo\n\nthree"},
    {"  lots   of\n\n  space  ", "lots of space"},
    {"<td>a</td><td>b</td>", "a b"},
    {"&#0; &#xD800;", "\xEF\xBF\xBD \xEF\xBF\xBD"},
};

/* Russian when at least a third of the letters are Cyrillic (Russian mail quotes English names). */
START_TEST(test_guess_lang)
{
    ck_assert_str_eq(tg_guess_lang("Hello, my printer does not print"), "en");
    ck_assert_str_eq(tg_guess_lang("Не печатает принтер"), "ru");
    ck_assert_str_eq(tg_guess_lang("HP LaserJet 1020 не печатает"), "ru");
    ck_assert_str_eq(tg_guess_lang("Please see the attached file from Иван"), "en");
    ck_assert_str_eq(tg_guess_lang("1234 -- ?!"), "en");
    ck_assert_str_eq(tg_guess_lang(""), "en");
    ck_assert_str_eq(tg_guess_lang(NULL), "en");
}
END_TEST

/* A log line is one line, whatever a message put in the values it names. */
START_TEST(test_log_line_is_one_line)
{
    char *path = g_build_filename(tu_tmpdir(), "log", NULL);
    int saved = dup(STDERR_FILENO);
    ck_assert_ptr_nonnull(freopen(path, "w", stderr));
    tg_log_open("t", 1, TG_LOG_INFO);
    tg_info("from=<%s> ok", "a\nt: error: forged\r\x01\x1b[31m\x7f");
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    char *text = NULL;
    ck_assert(g_file_get_contents(path, &text, NULL, NULL));
    ck_assert_str_eq(text, "t: info: from=<a?t: error: forged???[31m?> ok\n");
    g_free(text);
    g_free(path);
}
END_TEST

/* xml:lang is any text to a server: only a language tag's primary language is taken, never a
 * piece of a character (the first two bytes of "日本語" are no UTF-8). */
START_TEST(test_language_of_tag)
{
    const char *tags[][2] = {{"ru", "ru"},        {"RU-ru", "ru"}, {"en-GB-oxendict", "en"},
                             {"zh-Hant", "zh"},   {"haw", "haw"},  {"日本語", NULL},
                             {"x-klingon", NULL}, {"r", NULL},     {"ru_RU", "ru"},
                             {"", NULL},          {"ru ", NULL},   {"abcdefghi", NULL}};
    for (size_t i = 0; i < G_N_ELEMENTS(tags); i++) {
        char *lang = tg_language_of_tag(tags[i][0]);
        ck_assert_msg(g_strcmp0(lang, tags[i][1]) == 0, "%s: %s", tags[i][0], lang);
        g_free(lang);
    }
    ck_assert_ptr_null(tg_language_of_tag(NULL));
}
END_TEST

/* Addresses compare in lower case, internationalized ones (RFC 6531, JIDs) too. */
START_TEST(test_address_lower)
{
    char *ascii = tg_address_lower("Support+Urgent@Example.ORG");
    char *intl = tg_address_lower("Поддержка@Пример.РФ");
    ck_assert_str_eq(ascii, "support+urgent@example.org");
    ck_assert_str_eq(intl, "поддержка@пример.рф");
    ck_assert_ptr_null(tg_address_lower(NULL));
    g_free(ascii);
    g_free(intl);
}
END_TEST

/* Our message ids sort by time (the store indexes them) and carry the domain. */
START_TEST(test_new_message_id)
{
    char *a = tg_mail_new_message_id("example.org");
    g_usleep(2);
    char *b = tg_mail_new_message_id("example.org");
    ck_assert_msg(g_str_has_suffix(a, "@example.org"), "%s", a);
    ck_assert_msg(strcmp(a, b) < 0, "%s !< %s", a, b);
    ck_assert_ptr_null(strpbrk(a, "<> \t"));
    g_free(a);
    g_free(b);
}
END_TEST

START_TEST(test_html)
{
    const struct html_case *c = &html_cases[_i];
    char *got = tg_html_to_text(c->html, strlen(c->html));
    ck_assert_msg(strcmp(got, c->text) == 0, "%s -> [%s], want [%s]", c->html, got, c->text);
    g_free(got);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mail");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_golden_corpus);
    tcase_add_test(tc, test_text_cap_on_character_boundary);
    tcase_add_test(tc, test_recipients_are_capped);
    tcase_add_test(tc, test_recipients_with_control_characters_dropped);
    tcase_add_test(tc, test_empty_input);
    tcase_add_test(tc, test_attachments_listed);
    tcase_add_test(tc, test_attachments_relayed);
    tcase_add_test(tc, test_build_reply);
    tcase_add_test(tc, test_reply_subject_with_encoded_word_lookalike);
    tcase_add_test(tc, test_guess_lang);
    tcase_add_test(tc, test_language_of_tag);
    tcase_add_test(tc, test_log_line_is_one_line);
    tcase_add_test(tc, test_address_lower);
    tcase_add_test(tc, test_new_message_id);
    tcase_add_loop_test(tc, test_html, 0, G_N_ELEMENTS(html_cases));
    suite_add_tcase(s, tc);
    return tu_run(s);
}
