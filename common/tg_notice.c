/* tg_notice.c - notices to agents (see tg_notice.h). */
#include <string.h>

#include "tg_mail.h"
#include "tg_notice.h"
#include "tg_template.h"

/* A subject longer than this is cut in a digest line: the list is for finding tickets. */
#define DIGEST_SUBJECT_CHARS 80

/* excerpt - the first lines of text, for a notification. */
static char *excerpt(const char *text)
{
    GString *out = g_string_new(NULL);
    int lines = 0;
    for (const char *p = text; *p && lines < 5 && out->len < 400; p++) {
        g_string_append_c(out, *p);
        lines += *p == '\n';
    }
    while (out->len && (out->str[out->len - 1] == '\n' || out->str[out->len - 1] == ' '))
        g_string_truncate(out, out->len - 1);
    if (!g_utf8_validate(out->str, -1, NULL)) { /* cut inside a character */
        char *valid = g_utf8_make_valid(out->str, -1);
        g_string_assign(out, valid);
        g_free(valid);
    }
    return g_string_free(out, FALSE);
}

/* attachment_lines - "\n[attached: NAME]" for each of attachments (NULL: none), in lang: the
 * {{attachments}} of a notification, which follows the excerpt. */
static char *attachment_lines(char *const *attachments, const char *lang)
{
    GString *out = g_string_new(NULL);
    for (char *const *n = attachments; n && *n; n++)
        g_string_append_printf(out, TG_SAID(lang, "\n[attached: %s]", "\n[вложение: %s]"), *n);
    return g_string_free(out, FALSE);
}

/* mail_sender - the address a notice about t is mailed from: its queue's, else the first
 * address of any queue (an agent's answer to it reaches ticketgate); NULL when none has one. */
static const char *mail_sender(const tg_config *cfg, const tg_ticket *t)
{
    const char *own = tg_config_queue_address(tg_config_queue(cfg, t->queue));
    for (guint i = 0; !own && i < cfg->queues->len; i++)
        own = tg_config_queue_address(cfg->queues->pdata[i]);
    return own;
}

/* due_text - t's target due time as agent lang reads it, in the time zone of the calendar it
 * was computed on. */
static char *due_text(const tg_config *cfg, const tg_ticket *t, tg_sla_target target,
                      const char *lang)
{
    const tg_sla_policy *policy = t->sla_policy ? tg_config_policy(cfg, t->sla_policy) : NULL;
    GTimeZone *zone = policy ? g_time_zone_ref(tg_calendar_zone(tg_sla_policy_calendar(policy)))
                             : g_time_zone_new_identifier(cfg->timezone);
    if (!zone)
        zone = g_time_zone_new_utc();
    char *due = tg_format_due(tg_ticket_due(t, target), zone, lang);
    g_time_zone_unref(zone);
    return due;
}

static const char *agent_lang(const tg_agent *a)
{
    return a->lang ? a->lang : "en";
}

/* agent_called - how notices name agent a: its name, else its id. */
static const char *agent_called(const tg_agent *a)
{
    return a->name ? a->name : a->id;
}

/* queue_notice - an outbox row of this kind to a, the way how says, rendered from template name
 * (NAME_mail for mail) with vars; about ticket_id, or none when 0. t gives the queue whose
 * address mail goes out from. */
static int queue_notice(const tg_config *cfg, tg_store *st, int64_t ticket_id, const tg_ticket *t,
                        const tg_agent *a, const char *how, const char *kind, const char *name,
                        const tg_template_var *vars, size_t n_vars, int64_t now, tg_err *err)
{
    int chat = strcmp(how, "chat") == 0;
    const char *subject_t, *body_t;
    char *template = chat ? g_strdup(name) : g_strconcat(name, "_mail", NULL);
    tg_config_template(cfg, template, agent_lang(a), &subject_t, &body_t);
    char *subject = chat ? NULL : tg_template_render(subject_t, vars, n_vars);
    char *body = tg_template_render(body_t, vars, n_vars);
    const char *sender = chat ? cfg->xmpp_domain : mail_sender(cfg, t);
    char *msg_id = chat ? tg_store_new_chat_id() : tg_mail_new_notice_id(tg_address_domain(sender));
    tg_outbox row = {.ticket_id = ticket_id,
                     .channel = chat ? "xmpp" : "email",
                     .kind = kind,
                     .recipient = chat ? a->jid : a->email,
                     .recipient_name = a->name,
                     .sender = sender,
                     .sender_name = chat ? NULL : cfg->company,
                     .subject = subject,
                     .body = body,
                     .msg_id = msg_id,
                     .lang = chat ? NULL : agent_lang(a),
                     .created_at = now};
    int rc = tg_store_add_outbox(st, &row, err);
    g_free(msg_id);
    g_free(body);
    g_free(subject);
    g_free(template);
    return rc;
}

const char *tg_notice_reachable(const tg_config *cfg, const tg_ticket *t, const tg_agent *a,
                                int by_mail)
{
    if (!a || !a->active)
        return NULL;
    if (a->jid && cfg->xmpp_domain)
        return "chat";
    if (by_mail && a->email && mail_sender(cfg, t))
        return "mail";
    return NULL;
}

/* What a notice about one ticket says besides the ticket's own fields. */
typedef struct notice_what {
    const char *kind, *name;  /* outbox row kind; template (NAME_mail by mail) */
    tg_sla_target target;     /* whose due time {{due}} is */
    const char *text;         /* {{excerpt}}: its first lines, or NULL */
    char *const *attachments; /* {{attachments}}, or NULL */
    const char *reason;       /* {{reason}}, in the agent's language, or NULL */
    const char *writer;       /* {{requester}} when not the ticket's: who wrote, or NULL */
    int by_mail;              /* mail when chat cannot reach the agent */
} notice_what;

/* notice_about - a notice about t to a (reference, priority, due time, subject, and what w
 * says); *told_by as for tg_notice_overdue. */
static int notice_about(const tg_config *cfg, tg_store *st, const tg_ticket *t, const tg_agent *a,
                        const notice_what *w, int64_t now, const char **told_by, tg_err *err)
{
    const char *how = tg_notice_reachable(cfg, t, a, w->by_mail);
    *told_by = NULL;
    if (!how)
        return TG_OK;
    char *due = due_text(cfg, t, w->target, agent_lang(a));
    char *lines = excerpt(w->text ? w->text : "");
    char *attached = attachment_lines(w->attachments, agent_lang(a));
    tg_template_var vars[] = {{"ref", t->ref},
                              {"subject", t->subject},
                              {"priority", t->priority},
                              {"queue", t->queue},
                              {"due", due},
                              {"requester", w->writer ? w->writer : t->requester},
                              {"excerpt", lines},
                              {"attachments", attached},
                              {"agent", agent_called(a)},
                              {"agent_id", a->id},
                              {"company", cfg->company},
                              {"reason", w->reason ? w->reason : ""}};
    int rc = queue_notice(cfg, st, t->id, t, a, how, w->kind, w->name, vars, G_N_ELEMENTS(vars),
                          now, err);
    if (rc == TG_OK)
        *told_by = how;
    g_free(attached);
    g_free(lines);
    g_free(due);
    return rc;
}

/* digest_lines - one line per ticket: "SUP-12 | Mon 23 Nov 2026 10:00 MSK | high | Subject". */
static char *digest_lines(const tg_config *cfg, const tg_ticket *const *tickets, size_t n,
                          tg_sla_target target, const char *lang)
{
    GString *out = g_string_new(NULL);
    for (size_t i = 0; i < n; i++) {
        const tg_ticket *t = tickets[i];
        char *due = due_text(cfg, t, target, lang);
        const char *subject = t->subject ? t->subject : "";
        glong chars = g_utf8_strlen(subject, -1);
        int cut = chars > DIGEST_SUBJECT_CHARS;
        char *shown = g_utf8_substring(subject, 0, cut ? DIGEST_SUBJECT_CHARS - 1 : chars);
        g_string_append_printf(out, "%s%s | %s | %s | %s%s", i ? "\n" : "", t->ref, due,
                               t->priority, shown, cut ? "…" : "");
        g_free(shown);
        g_free(due);
    }
    return g_string_free(out, FALSE);
}

/* digest - ONE notice to a listing the n tickets, from template NAME_digest. */
static int digest(const tg_config *cfg, tg_store *st, const tg_agent *a, const char *name,
                  tg_sla_target target, const tg_ticket *const *tickets, size_t n, int64_t now,
                  const char **told_by, tg_err *err)
{
    const char *how = tg_notice_reachable(cfg, tickets[0], a, 1);
    *told_by = NULL;
    if (!how)
        return TG_OK;
    char *count = g_strdup_printf("%zu", n);
    char *list = digest_lines(cfg, tickets, n, target, agent_lang(a));
    char *template = g_strconcat(name, "_digest", NULL);
    tg_template_var vars[] = {{"count", count},
                              {"tickets", list},
                              {"agent", agent_called(a)},
                              {"agent_id", a->id},
                              {"company", cfg->company}};
    int rc = queue_notice(cfg, st, 0, tickets[0], a, how, "escalation", template, vars,
                          G_N_ELEMENTS(vars), now, err);
    if (rc == TG_OK)
        *told_by = how;
    g_free(template);
    g_free(list);
    g_free(count);
    return rc;
}

int tg_notice_overdue(const tg_config *cfg, tg_store *st, const tg_agent *a, tg_sla_target target,
                      const tg_ticket *const *tickets, size_t n, int64_t now, const char **told_by,
                      tg_err *err)
{
    const char *name = target == TG_TARGET_RESOLUTION ? "resolution_escalation" : "escalation";
    *told_by = NULL;
    if (n == 0)
        return TG_OK;
    if (n == 1)
        return notice_about(
            cfg, st, tickets[0], a,
            &(notice_what){.kind = "escalation", .name = name, .target = target, .by_mail = 1}, now,
            told_by, err);
    return digest(cfg, st, a, name, target, tickets, n, now, told_by, err);
}

/* tell_assignee - what w says, about t, to the agent who has t (nobody when nobody has it). */
static int tell_assignee(const tg_config *cfg, tg_store *st, const tg_ticket *t,
                         const notice_what *w, int64_t now, tg_err *err)
{
    const tg_agent *a = t->assignee ? tg_config_agent(cfg, t->assignee) : NULL;
    const char *told_by;
    return notice_about(cfg, st, t, a, w, now, &told_by, err);
}

int tg_notice_assignee(const tg_config *cfg, tg_store *st, const tg_ticket *t, const char *text,
                       char *const *attachments, int64_t now, tg_err *err)
{
    notice_what w = {.kind = "notify",
                     .name = "notify",
                     .target = TG_TARGET_FIRST_RESPONSE,
                     .text = text,
                     .attachments = attachments};
    return tell_assignee(cfg, st, t, &w, now, err);
}

int tg_notice_followup(const tg_config *cfg, tg_store *st, const tg_ticket *t, const char *who,
                       const char *text, char *const *attachments, int64_t now, tg_err *err)
{
    notice_what w = {.kind = "notify",
                     .name = "followup",
                     .target = TG_TARGET_FIRST_RESPONSE,
                     .text = text,
                     .attachments = attachments,
                     .writer = who};
    return tell_assignee(cfg, st, t, &w, now, err);
}

int tg_notice_taken_off(const tg_config *cfg, tg_store *st, const tg_ticket *t, const tg_agent *a,
                        int64_t now, tg_err *err)
{
    const char *lang = agent_lang(a);
    const tg_agent *now_has = t->assignee ? tg_config_agent(cfg, t->assignee) : NULL;
    char *reason =
        now_has ? g_strdup_printf(TG_SAID(lang, "it was given to %s", "его передали агенту %s"),
                                  agent_called(now_has))
                : g_strdup(TG_SAID(lang, "it was taken off you, and nobody has it now",
                                   "его сняли с вас, и сейчас оно ни за кем не закреплено"));
    notice_what w = {.kind = "notice",
                     .name = "taken_off",
                     .target = TG_TARGET_FIRST_RESPONSE,
                     .reason = reason};
    const char *told_by;
    int rc = notice_about(cfg, st, t, a, &w, now, &told_by, err);
    g_free(reason);
    return rc;
}

int tg_notice_closed_answer(const tg_config *cfg, tg_store *st, const tg_ticket *t,
                            const tg_agent *a, int64_t now, const char **told_by, tg_err *err)
{
    notice_what w = {.kind = "notice",
                     .name = "closed_answer",
                     .target = TG_TARGET_FIRST_RESPONSE,
                     .by_mail = 1};
    return notice_about(cfg, st, t, a, &w, now, told_by, err);
}

int tg_notice_files_not_sent(const tg_config *cfg, tg_store *st, const tg_ticket *t,
                             const tg_agent *a, char *const *attachments, tg_files_kept_back why,
                             int64_t now, const char **told_by, tg_err *err)
{
    const char *lang = agent_lang(a);
    notice_what w = {.kind = "notice",
                     .name = "files_not_sent",
                     .target = TG_TARGET_FIRST_RESPONSE,
                     .attachments = attachments,
                     .reason =
                         why == TG_FILES_BY_CHAT
                             ? TG_SAID(lang, "the customer wrote by chat, which takes no files",
                                       "клиент писал в чат, файлы туда не передаются")
                             : TG_SAID(lang,
                                       "the mail is bigger than [milter] read_limit: only "
                                       "its beginning was read",
                                       "письмо больше [milter] read_limit: прочитано "
                                       "только его начало"),
                     .by_mail = 1};
    return notice_about(cfg, st, t, a, &w, now, told_by, err);
}
