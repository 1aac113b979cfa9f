/* cmd_explain.c - ticketgatectl explain: what intake would do with a mail, writing nothing.
 * It runs the real pipeline inside a transaction and rolls it back; without a store file it
 * uses an empty in-memory one, so rules can be tried before anything is installed. */
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "json.h"
#include "tg_mail.h"

static void inbound_json(GString *out, const tg_inbound *in)
{
    int first = 1;
    g_string_append_c(out, '{');
    json_kv_str(out, &first, "channel", in->channel);
    json_kv_str(out, &first, "recipient", in->recipient);
    json_kv_str(out, &first, "sender", in->sender);
    json_kv_str(out, &first, "sender_name", in->sender_name);
    json_kv_str(out, &first, "author", in->author);
    json_kv_str(out, &first, "subject", in->subject);
    json_kv_str(out, &first, "lang", in->lang);
    json_kv_str(out, &first, "message_id", in->message_id);
    json_kv_int(out, &first, "message_id_synthetic", in->message_id_synthetic);
    json_kv_str(out, &first, "in_reply_to", in->in_reply_to);
    json_kv_str(out, &first, "subject_tag", in->subject_tag);
    json_kv_int(out, &first, "machine", in->machine);
    json_kv_str(out, &first, "machine_reason", in->machine_reason);
    json_kv_int(out, &first, "text_truncated", in->text_truncated);
    json_kv_str(out, &first, "text", in->text);
    json_kv_strv(out, &first, "recipients", in->recipients);
    json_kv_strv(out, &first, "references", in->references);
    json_kv_strv(out, &first, "attachments", in->attachments);
    g_string_append_c(out, '}');
}

static void print_text(const tg_inbound *in, const tg_decision *d)
{
    char *fr = ctl_time(d->first_response_due), *res = ctl_time(d->resolution_due);
    printf("message\n  from       %s%s%s%s\n  to         %s\n  subject    %s\n"
           "  language   %s\n  message-id %s%s\n  in-reply-to %s\n  tag        %s\n"
           "  machine    %s\n  text       %zu bytes%s\n",
           in->sender, in->sender_name ? " (" : "", in->sender_name ? in->sender_name : "",
           in->sender_name ? ")" : "", in->recipient ? in->recipient : "(default queue)",
           in->subject, in->lang, in->message_id, in->message_id_synthetic ? " (synthesized)" : "",
           in->in_reply_to ? in->in_reply_to : "-", in->subject_tag ? in->subject_tag : "-",
           in->machine ? in->machine_reason : "no", strlen(in->text),
           in->text_truncated ? " (cut at the limit)" : "");
    for (char **a = in->attachments; a && *a; a++)
        printf("  attached   %s\n", *a);
    if (in->author) /* Reply-To named whom to answer */
        printf("  author     %s (From; answered at Reply-To)\n", *in->author ? in->author : "-");
    printf("decision     %s%s%s\n", tg_intake_kind_name(d->kind), d->ref ? " " : "",
           d->ref ? d->ref : "");
    if (!d->ref) { /* not a ticket */
        printf("  note       %s\nauto-reply   none: not a ticket\n", d->note ? d->note : "-");
        goto out;
    }
    if (d->rule)
        printf("  rule       %s: %s\n", d->rule, d->rule_why ? d->rule_why : "(existing ticket)");
    printf("  queue      %s, category %s, priority %s\n  SLA        %s: first response by %s, "
           "resolution by %s\n  assignment %s\n",
           d->queue, d->category, d->priority, d->sla_policy ? d->sla_policy : "-", fr, res,
           d->assign_note ? d->assign_note
           : d->assignee  ? d->assignee
                          : "-");
    if (d->note)
        printf("  note       %s\n", d->note);
    if (d->reply_queued)
        printf("auto-reply   would be sent\n  subject    %s\n%s\n", d->reply_subject,
               d->reply_text);
    else
        printf("auto-reply   none: %s\n",
               d->no_reply_reason ? d->no_reply_reason : "not a new ticket");
out:
    g_free(fr);
    g_free(res);
}

int cmd_explain(tg_config *cfg, int argc, char **argv)
{
    char *rcpt = NULL, *sender = NULL, *data = NULL;
    int as_json = 0, status = EX_OK;
    gsize len = 0;
    GOptionEntry entries[] = {
        {"rcpt", 0, 0, G_OPTION_ARG_STRING, &rcpt, "envelope recipient (selects the queue)", "A"},
        {"sender", 0, 0, G_OPTION_ARG_STRING, &sender, "envelope sender", "A"},
        {"json", 0, 0, G_OPTION_ARG_NONE, &as_json, "JSON object", NULL},
        {NULL, 0, 0, 0, NULL, NULL, NULL}};
    tg_inbound *in = NULL;
    tg_store *st = NULL;
    tg_err err = {0};
    GError *gerr = NULL;

    if (!ctl_parse_options("explain", "FILE", entries, &argc, &argv)) {
        status = EX_USAGE;
        goto out;
    }
    if (argc != 2) {
        status = ctl_usage_error("explain",
                                 "usage: explain [--rcpt ADDR] [--sender ADDR] [--json] FILE");
        goto out;
    }
    if (!g_file_get_contents(argv[1], &data, &len, &gerr)) {
        fprintf(stderr, "ticketgatectl explain: %s\n", gerr->message);
        g_error_free(gerr);
        status = EX_NOINPUT;
        goto out;
    }
    tg_mail_opts opts = {.envelope_sender = sender,
                         .fallback_charsets = (const char *const *)cfg->fallback_charsets,
                         .max_text_size = (size_t)cfg->max_text_size,
                         .max_headers = (size_t)cfg->max_headers};
    int rc = tg_mail_parse(data, len, &opts, &in, &err);
    if (rc == TG_OK) {
        const char *to = rcpt;
        for (char **a = in->recipients; !to && a && *a; a++)
            if (tg_config_is_support_address(cfg, *a))
                to = *a;
        in->recipient = tg_address_lower(to);
        if (g_file_test(cfg->store_path, G_FILE_TEST_EXISTS)) {
            st = ctl_open_store(cfg, &status);
            if (!st)
                goto out;
        } else if ((rc = tg_store_open(":memory:", NULL, &st, &err)) != TG_OK) {
            goto fail;
        }
        tg_decision d;
        rc = tg_intake_explain(cfg, st, in, g_get_real_time() / G_USEC_PER_SEC, &d, &err);
        if (rc == TG_OK) {
            if (as_json) {
                GString *out = g_string_new("{\"message\":");
                inbound_json(out, in);
                g_string_append(out, ",\"decision\":");
                ctl_decision_json(out, &d);
                g_string_append(out, "}\n");
                fputs(out->str, stdout);
                g_string_free(out, TRUE);
            } else {
                print_text(in, &d);
            }
            tg_decision_clear(&d);
        }
    }
fail:
    if (rc != TG_OK) {
        fprintf(stderr, "ticketgatectl explain: %s: %s\n", argv[1], err.msg);
        status = ctl_exit_for(rc);
    }
out:
    tg_store_close(st);
    tg_inbound_free(in);
    g_free(data);
    g_free(rcpt);
    g_free(sender);
    return status;
}
