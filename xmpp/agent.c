/* agent.c - commands agents send to the component by chat. A reply goes through intake like
 * an agent's e-mail answer (first response, status, relay on the ticket's channel); the other
 * commands are tg_actions. Every command gets an answer, in plain text. */
#include <string.h>

#include "tg_actions.h"
#include "tg_intake.h"
#include "tg_log.h"
#include "tg_template.h"
#include "xmpp.h"

/* Agents are answered in their [agent] lang, like their notices; the commands stay English. */
static const char help_en[] =
    "Commands:\n"
    "  list              your open tickets, overdue first\n"
    "  unassigned        your groups' tickets that nobody works on\n"
    "  show REF          a ticket with its messages\n"
    "  take REF          make a ticket that unassigned lists yours\n"
    "  reply REF text    answer the customer (by chat or e-mail, as they wrote)\n"
    "  resolve REF       mark it resolved\n"
    "  close REF         close it\n"
    "  reopen REF        open a resolved or closed ticket again\n"
    "  release REF       give your ticket back: nobody has it, your group may take it\n"
    "  help              this text";
static const char help_ru[] =
    "Команды:\n"
    "  list                ваши открытые обращения, просроченные первыми\n"
    "  unassigned          обращения ваших групп, над которыми никто не работает\n"
    "  show НОМЕР          обращение с его сообщениями\n"
    "  take НОМЕР          взять себе обращение из списка unassigned\n"
    "  reply НОМЕР текст   ответить клиенту (в чат или по почте, как он писал)\n"
    "  resolve НОМЕР       отметить решённым\n"
    "  close НОМЕР         закрыть\n"
    "  reopen НОМЕР        снова открыть решённое или закрытое\n"
    "  release НОМЕР       вернуть своё обращение: его сможет взять ваша группа\n"
    "  help                эта справка";

/* answer - text to the agent who sent st, tagged with the agent's language. */
static void answer(component *c, const tg_agent *agent, xmpp_stanza_t *st, const char *text)
{
    char *from = component_bare(xmpp_stanza_get_to(st));
    const char *type = xmpp_stanza_get_type(st);
    component_send(c, component_message(c, from, xmpp_stanza_get_from(st), type ? type : "chat",
                                        NULL, text, NULL, TG_SAID(agent->lang, "en", "ru")));
    g_free(from);
}

/* store_down - the answer when the store cannot be reached; logged for the administrator. */
static void store_down(component *c, const tg_agent *agent, xmpp_stanza_t *st, const char *what,
                       const tg_err *err)
{
    answer(c, agent, st,
           TG_SAID(agent->lang,
                   "Sorry, the ticket store is not available now; nothing was done. Try again "
                   "shortly.",
                   "Извините, хранилище обращений сейчас недоступно; ничего не сделано. "
                   "Попробуйте чуть позже."));
    tg_error("agent %s: %s: %s", agent->id, what, err->msg);
}

static char *format_time(const tg_config *cfg, const tg_agent *agent, int64_t t)
{
    GTimeZone *zone = g_time_zone_new_identifier(cfg->timezone);
    if (!zone)
        zone = g_time_zone_new_utc();
    char *s = tg_format_due(t, zone, TG_SAID(agent->lang, "en", "ru"));
    g_time_zone_unref(zone);
    return s;
}

/* Most tickets `unassigned` lists; the rest are counted. */
#define UNASSIGNED_SHOWN 20

/* append_tickets - a line per ticket of list (at most max), as `list` and `unassigned` show them:
 * reference, OVERDUE, status, priority, subject, the next due time, and who had it if they left. */
static void append_tickets(GString *out, component *c, const tg_agent *agent, GPtrArray *list,
                           guint max, int64_t now)
{
    const char *lang = agent->lang;
    for (guint i = 0; i < list->len && i < max; i++) {
        const tg_ticket *t = list->pdata[i];
        int64_t due = t->first_response_at <= 0 ? t->first_response_due : t->resolution_due;
        char *when = format_time(c->cfg, agent, due);
        g_string_append_printf(
            out, TG_SAID(lang, "\n%s%s [%s, %s] %s (due %s)", "\n%s%s [%s, %s] %s (до %s)"), t->ref,
            due > 0 && due < now ? TG_SAID(lang, " OVERDUE", " ПРОСРОЧЕНО") : "", t->status,
            t->priority, t->subject, when);
        if (t->assignee && strcmp(t->assignee, agent->id) != 0) /* one who left: unassigned */
            g_string_append_printf(out, TG_SAID(lang, " (%s's: %s)", " (у %s: %s)"), t->assignee,
                                   tg_agent_left(c->cfg, t->assignee, lang));
        g_free(when);
    }
    if (list->len > max)
        g_string_append_printf(out, TG_SAID(lang, "\n... and %u more", "\n... и ещё %u"),
                               list->len - max);
}

/* cmd_list - the agent's open tickets, and the count of their groups' tickets that nobody has
 * (they would learn of those only once overdue). */
static void cmd_list(component *c, const tg_agent *agent, xmpp_stanza_t *st)
{
    tg_err err = {0};
    int64_t now = g_get_real_time() / G_USEC_PER_SEC;
    GPtrArray *list = tg_agent_open_tickets(c->st, agent, now, &err), *unassigned = NULL;
    if (list)
        unassigned = tg_agent_unassigned_tickets(c->cfg, c->st, agent, now, &err);
    if (!unassigned) {
        store_down(c, agent, st, "list", &err);
        if (list)
            g_ptr_array_unref(list);
        return;
    }
    const char *lang = agent->lang;
    GString *out = g_string_new(
        list->len ? TG_SAID(lang, "Your open tickets:", "Ваши открытые обращения:")
                  : TG_SAID(lang, "You have no open tickets.", "У вас нет открытых обращений."));
    append_tickets(out, c, agent, list, list->len, now);
    if (unassigned->len)
        g_string_append_printf(
            out,
            TG_SAID(lang,
                    "\nTickets of your groups that nobody works on: %u (unassigned lists them).",
                    "\nОбращений ваших групп, над которыми никто не работает: %u (список: "
                    "unassigned)."),
            unassigned->len);
    answer(c, agent, st, out->str);
    g_string_free(out, TRUE);
    g_ptr_array_unref(list);
    g_ptr_array_unref(unassigned);
}

/* cmd_unassigned - the tickets of the agent's groups that nobody has, to take one. */
static void cmd_unassigned(component *c, const tg_agent *agent, xmpp_stanza_t *st)
{
    tg_err err = {0};
    int64_t now = g_get_real_time() / G_USEC_PER_SEC;
    GPtrArray *list = tg_agent_unassigned_tickets(c->cfg, c->st, agent, now, &err);
    if (!list) {
        store_down(c, agent, st, "unassigned", &err);
        return;
    }
    const char *lang = agent->lang;
    GString *out = g_string_new(
        list->len
            ? TG_SAID(
                  lang, "Nobody works on these tickets of your groups (take REF to take one):",
                  "Над этими обращениями ваших групп никто не работает (take НОМЕР, чтобы взять):")
            : TG_SAID(lang, "Every ticket of your groups has an agent at work on it.",
                      "У всех обращений ваших групп есть исполнитель."));
    append_tickets(out, c, agent, list, UNASSIGNED_SHOWN, now);
    answer(c, agent, st, out->str);
    g_string_free(out, TRUE);
    g_ptr_array_unref(list);
}

/* A chat client shows show's answer as one message: a long ticket is shown by its first
 * message (the request) and as many of its latest as fit this many bytes, the ones between
 * counted. Each message is cut at SHOW_MESSAGE_CHARS. */
#define SHOW_BUDGET        (16 * 1024)
#define SHOW_MESSAGE_CHARS 300

/* direction_said - who a message of the ticket is from, as show puts it before the sender. */
static const char *direction_said(const char *direction, const char *lang)
{
    if (strcmp(direction, "in") == 0)
        return TG_SAID(lang, "from", "от");
    if (strcmp(direction, "agent") == 0)
        return TG_SAID(lang, "agent", "агент");
    return TG_SAID(lang, "to customer,", "клиенту,");
}

typedef struct shown {
    GPtrArray *messages; /* each as show prints it */
    const char *lang;
} shown;

static int show_message(const tg_message *m, void *ud)
{
    shown *sh = ud;
    const char *body = m->body ? m->body : "";
    glong chars = g_utf8_strlen(body, -1);
    /* characters, not bytes: stays valid; and never past the end (GLib does not check) */
    char *text = g_utf8_substring(body, 0, MIN(chars, SHOW_MESSAGE_CHARS));
    GString *out = g_string_new(NULL);
    g_string_append_printf(out, "\n--- %s %s:\n%s%s", direction_said(m->direction, sh->lang),
                           m->sender ? m->sender : "", text,
                           chars > SHOW_MESSAGE_CHARS ? " [...]" : "");
    char **attachments = g_strsplit(m->attachments ? m->attachments : "", "\n", -1);
    for (char **a = attachments; *a; a++)
        g_string_append_printf(out, TG_SAID(sh->lang, "\n[attached: %s]", "\n[вложение: %s]"), *a);
    g_strfreev(attachments);
    g_free(text);
    g_ptr_array_add(sh->messages, g_string_free(out, FALSE));
    return 0;
}

/* append_messages - the first message, then the latest that fit SHOW_BUDGET with it (the last
 * one always). */
static void append_messages(GString *out, GPtrArray *messages, const char *lang)
{
    guint n = messages->len, latest = n; /* messages[latest..n) are shown */
    size_t used = n ? strlen(messages->pdata[0]) : 0;
    while (latest > 1 && (latest == n || used + strlen(messages->pdata[latest - 1]) <= SHOW_BUDGET))
        used += strlen(messages->pdata[--latest]);
    if (n)
        g_string_append(out, messages->pdata[0]);
    if (latest > 1)
        g_string_append_printf(out,
                               TG_SAID(lang, "\n--- (messages in between not shown: %u)",
                                       "\n--- (не показаны сообщения между ними: %u)"),
                               latest - 1);
    for (guint i = MAX(latest, 1); i < n; i++)
        g_string_append(out, messages->pdata[i]);
}

static void cmd_show(component *c, const tg_agent *agent, xmpp_stanza_t *st, const char *ref)
{
    tg_ticket t = {0};
    tg_err err = {0};
    const char *lang = agent->lang;
    int rc = tg_ticket_for_agent(c->cfg, c->st, ref, agent, lang, 1, &t, &err);
    if (rc == TG_ETEMP || rc == TG_ESTORE)
        store_down(c, agent, st, "show", &err);
    else if (rc != TG_OK)
        answer(c, agent, st, err.msg); /* none, or another agent's */
    if (rc != TG_OK)
        return;
    char *due = format_time(c->cfg, agent, t.first_response_due);
    GString *out = g_string_new(NULL);
    shown sh = {g_ptr_array_new_with_free_func(g_free), lang};
    g_string_append_printf(
        out,
        TG_SAID(lang, "%s [%s] %s, %s, queue %s, from %s, first response due %s%s\n%s",
                "%s [%s] %s, %s, очередь %s, от %s, первый ответ до %s%s\n%s"),
        t.ref, t.status, t.priority, t.channel, t.queue, t.requester, due,
        t.first_response_at > 0 ? TG_SAID(lang, " (answered)", " (ответ дан)") : "", t.subject);
    if (tg_store_list_messages(c->st, t.id, show_message, &sh, &err) != TG_OK)
        g_string_append_printf(
            out, TG_SAID(lang, "\n(messages unavailable: %s)", "\n(сообщения недоступны: %s)"),
            err.msg);
    else
        append_messages(out, sh.messages, lang);
    answer(c, agent, st, out->str);
    g_string_free(out, TRUE);
    g_ptr_array_unref(sh.messages);
    g_free(due);
    tg_ticket_clear(&t);
}

static void cmd_reply(component *c, const tg_agent *agent, xmpp_stanza_t *st, const char *ref,
                      const char *text)
{
    tg_err err = {0};
    tg_decision d = {0};
    const char *lang = agent->lang;
    if (!*text) {
        answer(c, agent, st, TG_SAID(lang, "Usage: reply REF text", "Формат: reply НОМЕР текст"));
        return;
    }
    const char *id = xmpp_stanza_get_id(st);
    char *command = g_strconcat(ref, " ", text, NULL); /* another ticket, another reply */
    char *msg_id = component_message_id(st, id, command);
    g_free(command);
    int rc = tg_agent_reply(c->cfg, c->st, agent, lang, "xmpp", ref, text, msg_id,
                            g_get_real_time() / G_USEC_PER_SEC, &d, &err);
    if (rc == TG_ETEMP || rc == TG_ESTORE) {
        store_down(c, agent, st, "reply", &err);
    } else if (rc != TG_OK) {
        answer(c, agent, st, err.msg); /* not theirs, closed, ... */
    } else if (d.kind == TG_INTAKE_DUPLICATE) {
        answer(c, agent, st,
               TG_SAID(lang, "That reply was already sent.", "Этот ответ уже отправлен."));
    } else {
        char *ok =
            g_strdup_printf(TG_SAID(lang, "Reply to %s sent to the customer (%s is now %s).",
                                    "Ответ по %s отправлен клиенту (у %s теперь статус %s)."),
                            d.ref, d.ref, d.status);
        answer(c, agent, st, ok);
        g_free(ok);
        tg_info("agent %s replied on %s", agent->id, d.ref);
        c->last_drain = 0;
    }
    tg_decision_clear(&d);
    g_free(msg_id);
}

static void cmd_act(component *c, const tg_agent *agent, xmpp_stanza_t *st, tg_action act,
                    const char *ref)
{
    tg_err err = {0};
    char *done = NULL;
    int rc = tg_ticket_act(c->cfg, c->st, ref, agent, agent->lang, act,
                           g_get_real_time() / G_USEC_PER_SEC, &done, &err);
    if (rc == TG_ETEMP || rc == TG_ESTORE)
        store_down(c, agent, st, ref, &err);
    else
        answer(c, agent, st, rc == TG_OK ? done : err.msg);
    g_free(done);
}

/* skip_space - p past white space (Unicode's too: a client may send a no-break space). */
static const char *skip_space(const char *p)
{
    while (*p && g_unichar_isspace(g_utf8_get_char(p)))
        p = g_utf8_next_char(p);
    return p;
}

/* take_word - the word at *p, up to white space; *p moves past it and the white space after.
 * Caller g_free()s. */
static char *take_word(const char **p)
{
    const char *end = *p;
    while (*end && !g_unichar_isspace(g_utf8_get_char(end)))
        end = g_utf8_next_char(end);
    char *word = g_strndup(*p, (gsize)(end - *p));
    *p = skip_space(end);
    return word;
}

void agent_command(component *c, const tg_agent *agent, xmpp_stanza_t *st, const char *body)
{
    /* "reply REF text...": only the first two words are commands; the text keeps its own line
     * breaks and spacing. Read word by word, not split whole: GLib 2.74's GRegex checks the
     * whole subject's UTF-8 at every match, and splitting a 1 MB paste took 50 s. Valid UTF-8
     * first: the walk below steps by characters. */
    char *valid = g_utf8_make_valid(body, -1);
    const char *rest = skip_space(valid);
    char *word = take_word(&rest), *cmd = g_ascii_strdown(word, -1);
    char *ref = *rest ? take_word(&rest) : NULL;
    char *text = g_strchomp(valid + (rest - valid));

    if (strcmp(cmd, "list") == 0) {
        cmd_list(c, agent, st);
    } else if (strcmp(cmd, "unassigned") == 0) {
        cmd_unassigned(c, agent, st);
    } else if (ref && strcmp(cmd, "show") == 0) {
        cmd_show(c, agent, st, ref);
    } else if (ref && strcmp(cmd, "reply") == 0) {
        cmd_reply(c, agent, st, ref, text);
    } else if (ref && strcmp(cmd, "take") == 0) {
        cmd_act(c, agent, st, TG_ACT_TAKE, ref);
    } else if (ref && strcmp(cmd, "resolve") == 0) {
        cmd_act(c, agent, st, TG_ACT_RESOLVE, ref);
    } else if (ref && strcmp(cmd, "close") == 0) {
        cmd_act(c, agent, st, TG_ACT_CLOSE, ref);
    } else if (ref && strcmp(cmd, "reopen") == 0) {
        cmd_act(c, agent, st, TG_ACT_REOPEN, ref);
    } else if (ref && strcmp(cmd, "release") == 0) {
        cmd_act(c, agent, st, TG_ACT_RELEASE, ref);
    } else {
        answer(c, agent, st, TG_SAID(agent->lang, help_en, help_ru));
    }
    g_free(word);
    g_free(cmd);
    g_free(ref);
    g_free(valid);
}
