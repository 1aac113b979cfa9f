/* tg_template.c - template rendering and the built-in reply texts. Russian month and weekday
 * names are spelled here because a server rarely has the ru_RU locale installed. */
#include <string.h>

#include "tg_template.h"

const char *const tg_template_var_names[] = {
    "ref",      "subject",  "due",         "due_resolution", "queue",
    "priority", "category", "company",     "requester",      "requester_name",
    "text",     "agent",    "agent_id",    "excerpt",        "limit",
    "count",    "tickets",  "attachments", "reason",         NULL,
};

const char *const tg_template_names[] = {"autoreply",
                                         "autoreply_chat",
                                         "relay",
                                         "notify",
                                         "followup",
                                         "taken_off",
                                         "escalation",
                                         "escalation_mail",
                                         "escalation_digest",
                                         "escalation_digest_mail",
                                         "resolution_escalation",
                                         "resolution_escalation_mail",
                                         "resolution_escalation_digest",
                                         "resolution_escalation_digest_mail",
                                         "closed_answer",
                                         "closed_answer_mail",
                                         "files_not_sent",
                                         "files_not_sent_mail",
                                         "chat_store_error",
                                         "chat_too_long",
                                         "chat_rate_limit",
                                         NULL};

static const struct builtin {
    const char *name, *lang, *subject, *body;
} builtins[] = {
    {"autoreply", "en", "Re: [{{ref}}] {{subject}}",
     "Hello,\n\n"
     "thank you for contacting {{company}}. Your request has been registered as {{ref}}.\n"
     "We will answer by {{due}}.\n\n"
     "Please keep [{{ref}}] in the subject when you write to us about this request.\n\n"
     "-- \n{{company}} support\n"},
    {"autoreply", "ru", "Re: [{{ref}}] {{subject}}",
     "Здравствуйте!\n\n"
     "Спасибо за обращение в {{company}}. Ваше обращение зарегистрировано под номером {{ref}}.\n"
     "Мы ответим до {{due}}.\n\n"
     "Пожалуйста, сохраняйте [{{ref}}] в теме письма, когда пишете нам по этому вопросу.\n\n"
     "-- \nСлужба поддержки {{company}}\n"},
    {"autoreply_chat", "en", "",
     "Thank you. Your request is registered as {{ref}}; we will answer by {{due}}."},
    {"autoreply_chat", "ru", "",
     "Спасибо! Ваше обращение зарегистрировано под номером {{ref}}; мы ответим до {{due}}."},
    {"relay", "en", "Re: [{{ref}}] {{subject}}",
     "{{text}}\n\n-- \n{{agent}}, {{company}} support\n"},
    {"relay", "ru", "Re: [{{ref}}] {{subject}}",
     "{{text}}\n\n-- \n{{agent}}, служба поддержки {{company}}\n"},
    /* to an agent's chat client when a ticket is assigned */
    {"notify", "en", "",
     "New ticket {{ref}} for you: {{subject}}\n"
     "Priority {{priority}}, queue {{queue}}, first response due {{due}}.\n"
     "From {{requester}}:\n{{excerpt}}{{attachments}}\n\n"
     "Answer with: reply {{ref}} <text>"},
    {"notify", "ru", "",
     "Вам назначено обращение {{ref}}: {{subject}}\n"
     "Приоритет {{priority}}, очередь {{queue}}, ответить до {{due}}.\n"
     "От {{requester}}:\n{{excerpt}}{{attachments}}\n\n"
     "Ответ: reply {{ref}} <текст>"},
    /* to the assignee's chat client when the customer (or someone in the thread) writes again */
    {"followup", "en", "",
     "{{ref}}: {{requester}} wrote again ({{subject}}):\n{{excerpt}}{{attachments}}\n\n"
     "Answer with: reply {{ref}} <text>"},
    {"followup", "ru", "",
     "{{ref}}: {{requester}} написал(а) снова ({{subject}}):\n{{excerpt}}{{attachments}}\n\n"
     "Ответ: reply {{ref}} <текст>"},
    /* to an agent's chat client when a ticket of theirs is given to another, or to nobody */
    {"taken_off", "en", "", "{{ref}} is no longer yours ({{subject}}): {{reason}}."},
    {"taken_off", "ru", "", "Обращение {{ref}} больше не ваше ({{subject}}): {{reason}}."},
    /* to agents' chat clients when a ticket's first answer is overdue (tg_escalate.c) */
    {"escalation", "en", "",
     "Overdue: {{ref}} has no answer yet; the first response was due {{due}}.\n"
     "{{subject}}\nPriority {{priority}}, queue {{queue}}, from {{requester}}."},
    {"escalation", "ru", "",
     "Просрочено: на обращение {{ref}} ещё не ответили; ответить нужно было до {{due}}.\n"
     "{{subject}}\nПриоритет {{priority}}, очередь {{queue}}, от {{requester}}."},
    /* by mail to agents who have no chat (tg_escalate.c). No [REF] tag in the subject: a
     * reply to it must not reach the customer with this notice quoted. */
    {"escalation_mail", "en", "Overdue: {{ref}} {{subject}}",
     "Hello {{agent}},\n\n"
     "ticket {{ref}} has no answer yet; the first response was due {{due}}.\n\n"
     "Subject: {{subject}}\nPriority {{priority}}, queue {{queue}}, from {{requester}}.\n\n"
     "Please answer the customer: reply to their mail tagged [{{ref}}] in the support mailbox,\n"
     "or run: ticketgatectl reply --agent {{agent_id}} {{ref}} \"text\".\n"
     "Do not reply to this notice: it would not reach the customer."},
    {"escalation_mail", "ru", "Просрочено: {{ref}} {{subject}}",
     "Здравствуйте, {{agent}}!\n\n"
     "На обращение {{ref}} ещё не ответили; ответить нужно было до {{due}}.\n\n"
     "Тема: {{subject}}\nПриоритет {{priority}}, очередь {{queue}}, от {{requester}}.\n\n"
     "Пожалуйста, ответьте клиенту: на его письмо с меткой [{{ref}}] в ящике поддержки\n"
     "или командой: ticketgatectl reply --agent {{agent_id}} {{ref}} \"текст\".\n"
     "Не отвечайте на это уведомление: клиент ответа не получит."},
    /* instead of escalation / escalation_mail when one round makes several tickets overdue for
     * the same agent (tg_escalate.c): one notice, one line per ticket */
    {"escalation_digest", "en", "",
     "Overdue: {{count}} tickets have no answer yet (reference, first response due, priority, "
     "subject):\n{{tickets}}"},
    {"escalation_digest", "ru", "",
     "Просрочено: обращений без ответа — {{count}} (номер, срок первого ответа, приоритет, "
     "тема):\n{{tickets}}"},
    {"escalation_digest_mail", "en", "Overdue: {{count}} tickets",
     "Hello {{agent}},\n\n"
     "{{count}} tickets have no answer yet (reference, first response due, priority, subject):\n\n"
     "{{tickets}}\n\n"
     "Please answer the customers: reply to their mail tagged [REF] in the support mailbox,\n"
     "or run: ticketgatectl reply --agent {{agent_id}} REF \"text\".\n"
     "Do not reply to this notice: it would not reach the customers."},
    {"escalation_digest_mail", "ru", "Просрочено обращений: {{count}}",
     "Здравствуйте, {{agent}}!\n\n"
     "Обращений без ответа после срока: {{count}} (номер, срок первого ответа, приоритет, "
     "тема):\n\n"
     "{{tickets}}\n\n"
     "Пожалуйста, ответьте клиентам: на их письма с меткой [НОМЕР] в ящике поддержки\n"
     "или командой: ticketgatectl reply --agent {{agent_id}} НОМЕР \"текст\".\n"
     "Не отвечайте на это уведомление: клиенты ответа не получат."},
    /* the same when a ticket's resolution is overdue (the first answer may have been given) */
    {"resolution_escalation", "en", "",
     "Overdue: {{ref}} is not resolved yet; the resolution was due {{due}}.\n"
     "{{subject}}\nPriority {{priority}}, queue {{queue}}, from {{requester}}."},
    {"resolution_escalation", "ru", "",
     "Просрочено: обращение {{ref}} ещё не решено; решить нужно было до {{due}}.\n"
     "{{subject}}\nПриоритет {{priority}}, очередь {{queue}}, от {{requester}}."},
    {"resolution_escalation_mail", "en", "Not resolved in time: {{ref}} {{subject}}",
     "Hello {{agent}},\n\n"
     "ticket {{ref}} is not resolved yet; the resolution was due {{due}}.\n\n"
     "Subject: {{subject}}\nPriority {{priority}}, queue {{queue}}, from {{requester}}.\n\n"
     "See it with: ticketgatectl show {{ref}}\n"
     "Do not reply to this notice: it would not reach the customer."},
    {"resolution_escalation_mail", "ru", "Не решено в срок: {{ref}} {{subject}}",
     "Здравствуйте, {{agent}}!\n\n"
     "Обращение {{ref}} ещё не решено; решить нужно было до {{due}}.\n\n"
     "Тема: {{subject}}\nПриоритет {{priority}}, очередь {{queue}}, от {{requester}}.\n\n"
     "Подробности: ticketgatectl show {{ref}}\n"
     "Не отвечайте на это уведомление: клиент ответа не получит."},
    {"resolution_escalation_digest", "en", "",
     "Overdue: {{count}} tickets are not resolved yet (reference, resolution due, priority, "
     "subject):\n{{tickets}}"},
    {"resolution_escalation_digest", "ru", "",
     "Просрочено: обращений, не решённых в срок, — {{count}} (номер, срок решения, приоритет, "
     "тема):\n"
     "{{tickets}}"},
    {"resolution_escalation_digest_mail", "en", "Not resolved in time: {{count}} tickets",
     "Hello {{agent}},\n\n"
     "{{count}} tickets are not resolved yet (reference, resolution due, priority, subject):\n\n"
     "{{tickets}}\n\n"
     "See them with: ticketgatectl list --overdue\n"
     "Do not reply to this notice: it would not reach the customers."},
    {"resolution_escalation_digest_mail", "ru", "Не решено в срок обращений: {{count}}",
     "Здравствуйте, {{agent}}!\n\n"
     "Обращений, не решённых в срок: {{count}} (номер, срок решения, приоритет, тема):\n\n"
     "{{tickets}}\n\n"
     "Список: ticketgatectl list --overdue\n"
     "Не отвечайте на это уведомление: клиенты ответа не получат."},
    /* to an agent whose mail answers a closed ticket (kept on it, not relayed) */
    {"closed_answer", "en", "",
     "{{ref}} is closed: your answer was not sent to {{requester}}. It is kept on the ticket; "
     "a closed ticket takes no more answers. To answer, send \"reopen {{ref}}\", then your "
     "answer again."},
    {"closed_answer", "ru", "",
     "Обращение {{ref}} закрыто: ваш ответ не отправлен {{requester}}. Он сохранён в "
     "обращении; закрытое обращение больше не принимает ответов. Чтобы ответить, отправьте "
     "\"reopen {{ref}}\", а затем ответ ещё раз."},
    {"closed_answer_mail", "en", "Not sent: {{ref}} {{subject}}",
     "Hello {{agent}},\n\n"
     "ticket {{ref}} is closed, so your answer was not sent to {{requester}}. It is kept on the "
     "ticket: ticketgatectl show {{ref}}\n\n"
     "A closed ticket takes no more answers. To answer, open it again "
     "(ticketgatectl reopen --agent {{agent_id}} {{ref}}, or \"reopen {{ref}}\" by chat) and send "
     "your answer again.\n"
     "Do not reply to this notice: it would not reach the customer."},
    {"closed_answer_mail", "ru", "Не отправлено: {{ref}} {{subject}}",
     "Здравствуйте, {{agent}}!\n\n"
     "Обращение {{ref}} закрыто, поэтому ваш ответ не отправлен {{requester}}. Он сохранён в "
     "обращении: ticketgatectl show {{ref}}\n\n"
     "Закрытое обращение больше не принимает ответов. Чтобы ответить, откройте его снова "
     "(ticketgatectl reopen --agent {{agent_id}} {{ref}} или \"reopen {{ref}}\" в чате) и "
     "отправьте ответ ещё раз.\n"
     "Не отвечайте на это уведомление: клиент ответа не получит."},
    /* to an agent whose answer by mail went to the customer without its files */
    {"files_not_sent", "en", "",
     "{{ref}}: your answer went to {{requester}} without its files ({{reason}}):{{attachments}}"},
    {"files_not_sent", "ru", "",
     "{{ref}}: ваш ответ отправлен {{requester}} без файлов ({{reason}}):{{attachments}}"},
    {"files_not_sent_mail", "en", "Files not sent: {{ref}} {{subject}}",
     "Hello {{agent}},\n\n"
     "your answer on {{ref}} went to {{requester}} without the files attached to it "
     "({{reason}}):{{attachments}}\n\n"
     "Do not reply to this notice: it would not reach the customer."},
    {"files_not_sent_mail", "ru", "Файлы не отправлены: {{ref}} {{subject}}",
     "Здравствуйте, {{agent}}!\n\n"
     "ваш ответ по {{ref}} отправлен {{requester}} без приложенных к нему файлов "
     "({{reason}}):{{attachments}}\n\n"
     "Не отвечайте на это уведомление: клиент его не получит."},
    /* to a chat customer */
    {"chat_store_error", "en", "",
     "Sorry, we could not register your request just now. Please try again in a few minutes."},
    {"chat_store_error", "ru", "",
     "К сожалению, сейчас не удалось зарегистрировать ваше обращение. Пожалуйста, повторите "
     "через несколько минут."},
    {"chat_too_long", "en", "", "Your message was long: we kept its first {{limit}} characters."},
    {"chat_too_long", "ru", "",
     "Ваше сообщение слишком длинное: мы сохранили первые {{limit}} символов."},
    {"chat_rate_limit", "en", "",
     "You are sending messages faster than we can take them; please wait a minute. Messages "
     "sent meanwhile are not registered."},
    {"chat_rate_limit", "ru", "",
     "Вы отправляете сообщения слишком часто; пожалуйста, подождите минуту. Сообщения, "
     "отправленные за это время, не регистрируются."},
};

int tg_template_builtin(const char *name, const char *lang, const char **subject, const char **body)
{
    const struct builtin *fallback = NULL;
    for (size_t i = 0; i < G_N_ELEMENTS(builtins); i++) {
        if (strcmp(builtins[i].name, name) != 0)
            continue;
        if (lang && strcmp(builtins[i].lang, lang) == 0) {
            fallback = &builtins[i];
            break;
        }
        if (!fallback || strcmp(builtins[i].lang, "en") == 0)
            fallback = &builtins[i];
    }
    if (!fallback)
        return 0;
    *subject = fallback->subject;
    *body = fallback->body;
    return 1;
}

static int known_var(const char *name, size_t len)
{
    for (const char *const *v = tg_template_var_names; *v; v++)
        if (strlen(*v) == len && strncmp(*v, name, len) == 0)
            return 1;
    return 0;
}

char *tg_template_render(const char *text, const tg_template_var *vars, size_t n_vars)
{
    GString *out = g_string_sized_new(strlen(text) + 128);
    const char *p = text;

    for (;;) {
        const char *open = strstr(p, "{{");
        const char *close = open ? strstr(open + 2, "}}") : NULL;
        if (!close) {
            g_string_append(out, p);
            break;
        }
        g_string_append_len(out, p, open - p);
        const char *name = open + 2;
        size_t len = close - name;
        size_t i;
        for (i = 0; i < n_vars; i++)
            if (strlen(vars[i].name) == len && strncmp(vars[i].name, name, len) == 0)
                break;
        if (i < n_vars)
            g_string_append(out, vars[i].value ? vars[i].value : "");
        else
            g_string_append_len(out, open, close + 2 - open);
        p = close + 2;
    }
    return g_string_free(out, FALSE);
}

char *tg_template_unknown_var(const char *text)
{
    for (const char *open = strstr(text, "{{"); open; open = strstr(open + 2, "{{")) {
        const char *close = strstr(open + 2, "}}");
        if (!close)
            return NULL;
        if (!known_var(open + 2, close - open - 2))
            return g_strndup(open + 2, close - open - 2);
    }
    return NULL;
}

static const char *const en_months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
static const char *const en_days[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};

char *tg_format_rfc5322(int64_t t, GTimeZone *zone)
{
    GDateTime *utc = g_date_time_new_from_unix_utc(t);
    GDateTime *dt = g_date_time_to_timezone(utc, zone);
    int offset = (int)(g_date_time_get_utc_offset(dt) / G_TIME_SPAN_MINUTE);
    char *s = g_strdup_printf(
        "%s, %02d %s %d %02d:%02d:%02d %c%02d%02d", en_days[g_date_time_get_day_of_week(dt) - 1],
        g_date_time_get_day_of_month(dt), en_months[g_date_time_get_month(dt) - 1],
        g_date_time_get_year(dt), g_date_time_get_hour(dt), g_date_time_get_minute(dt),
        g_date_time_get_second(dt), offset < 0 ? '-' : '+', ABS(offset) / 60, ABS(offset) % 60);
    g_date_time_unref(dt);
    g_date_time_unref(utc);
    return s;
}

char *tg_format_due(int64_t t, GTimeZone *zone, const char *lang)
{
    static const char *const ru_months[] = {"января",   "февраля", "марта",  "апреля",
                                            "мая",      "июня",    "июля",   "августа",
                                            "сентября", "октября", "ноября", "декабря"};
    static const char *const ru_days[] = {"пн", "вт", "ср", "чт", "пт", "сб", "вс"};
    int ru = lang && strcmp(lang, "ru") == 0;

    if (t < 0)
        return g_strdup(ru ? "в ближайшее время" : "as soon as possible");
    GDateTime *utc = g_date_time_new_from_unix_utc(t);
    GDateTime *dt = g_date_time_to_timezone(utc, zone);
    int wd = g_date_time_get_day_of_week(dt) - 1, mon = g_date_time_get_month(dt) - 1;
    const char *abbrev = g_date_time_get_timezone_abbreviation(dt);
    char *s;
    if (ru)
        s = g_strdup_printf("%s, %d %s %d, %02d:%02d %s", ru_days[wd],
                            g_date_time_get_day_of_month(dt), ru_months[mon],
                            g_date_time_get_year(dt), g_date_time_get_hour(dt),
                            g_date_time_get_minute(dt), abbrev);
    else
        s = g_strdup_printf("%s %d %s %d %02d:%02d %s", en_days[wd],
                            g_date_time_get_day_of_month(dt), en_months[mon],
                            g_date_time_get_year(dt), g_date_time_get_hour(dt),
                            g_date_time_get_minute(dt), abbrev);
    g_date_time_unref(dt);
    g_date_time_unref(utc);
    return s;
}
