/* tg_config.c - load, check and hold a configuration snapshot.
 * Fixed keys come from one typed table (section, key, type, default, bounds); named sections
 * ([queue NAME], [agent NAME], [calendar NAME], [sla NAME], [template NAME]) are read by the
 * same table code into their own structs. Relative paths are relative to the config file. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "tg_config.h"
#include "tg_keyfile.h"
#include "tg_log.h"
#include "tg_template.h"

#define EMPTY_VALUE "empty: give a value, or leave the line out for the default"

/* T_STRING and T_PATH name something and may not be empty (left out, the default holds); T_TEXT
 * is words for people (a company's or an agent's name), which may be. */
typedef enum {
    T_STRING,
    T_PATH,
    T_LIST,
    T_INT,
    T_SIZE,
    T_DURATION,
    T_BOOL,
    T_ENUM,
    T_MODE,
    T_TEXT
} dtype;

typedef struct directive {
    const char *section, *key;
    dtype type;
    const char *def;     /* default as it would be written in the file; NULL: unset */
    int64_t min, max;    /* numbers, sizes (bytes) and durations (seconds) */
    const char *choices; /* T_ENUM: "a|b|c" */
    size_t offset;       /* into tg_config, tg_queue or tg_agent */
} directive;

#define C(f) offsetof(tg_config, f)
#define Q(f) offsetof(tg_queue, f)
#define A(f) offsetof(tg_agent, f)
#define BIG  INT64_C(1) << 40

static const directive directives[] = {
    {"general", "company", T_TEXT, "Support", 0, 0, NULL, C(company)},
    {"general", "internal_domains", T_LIST, NULL, 0, 0, NULL, C(internal_domains)},
    {"general", "default_queue", T_STRING, NULL, 0, 0, NULL, C(default_queue)},
    {"general", "timezone", T_STRING, "UTC", 0, 0, NULL, C(timezone)},
    {"general", "escalate_every", T_DURATION, "1m", 0, 86400, NULL, C(escalate_every)},
    {"store", "path", T_PATH, "/var/lib/ticketgate/ticketgate.db", 0, 0, NULL, C(store_path)},
    {"store", "busy_timeout", T_DURATION, "10s", 0, 600, NULL, C(busy_timeout)},
    {"store", "synchronous", T_ENUM, "full", 0, 0, "full|normal", C(synchronous)},
    {"rules", "file", T_PATH, "rules.conf", 0, 0, NULL, C(rules_file)},
    {"limits", "max_message_size", T_SIZE, "50M", 1024, BIG, NULL, C(max_message_size)},
    {"limits", "max_text_size", T_SIZE, "256K", 1024, 64 << 20, NULL, C(max_text_size)},
    {"limits", "max_headers", T_INT, "500", 10, 100000, NULL, C(max_headers)},
    {"limits", "autoreply_limit", T_INT, "5", 0, 100000, NULL, C(autoreply_limit)},
    {"limits", "autoreply_window", T_DURATION, "1h", 1, 30 * 86400, NULL, C(autoreply_window)},
    {"limits", "regex_match_limit", T_INT, "1000000", 1000, 1000000000, NULL, C(regex_match_limit)},
    {"limits", "regex_depth_limit", T_INT, "10000", 100, 10000000, NULL, C(regex_depth_limit)},
    {"mail", "fallback_charsets", T_LIST, "utf-8;windows-1251", 0, 0, NULL, C(fallback_charsets)},
    {"milter", "socket", T_STRING, "unix:/run/ticketgate/milter.sock", 0, 0, NULL,
     C(milter_socket)},
    {"milter", "socket_mode", T_MODE, "0660", 0, 0777, NULL, C(milter_socket_mode)},
    {"milter", "socket_group", T_STRING, NULL, 0, 0, NULL, C(milter_socket_group)},
    {"milter", "user", T_STRING, NULL, 0, 0, NULL, C(milter_user)},
    {"milter", "pidfile", T_PATH, NULL, 0, 0, NULL, C(milter_pidfile)},
    {"milter", "on_store_error", T_ENUM, "tempfail", 0, 0, "tempfail|accept", C(on_store_error)},
    {"milter", "subject_tag", T_ENUM, "start", 0, 0, "start|end|off", C(subject_tag)},
    {"milter", "read_limit", T_SIZE, "1M", 64 << 10, 64 << 20, NULL, C(read_limit)},
    {"mailer", "command", T_STRING, "/usr/sbin/sendmail", 0, 0, NULL, C(mailer_command)},
    {"mailer", "timeout", T_DURATION, "60s", 1, 3600, NULL, C(mailer_timeout)},
    {"mailer", "max_attempts", T_INT, "10", 1, 1000, NULL, C(mailer_max_attempts)},
    {"mailer", "retry_delay", T_DURATION, "1m", 1, 86400, NULL, C(mailer_retry_delay)},
    {"mailer", "retry_max_delay", T_DURATION, "1h", 1, 7 * 86400, NULL, C(mailer_retry_max_delay)},
    {"mailer", "poll_interval", T_DURATION, "5s", 1, 3600, NULL, C(mailer_poll_interval)},
    {"xmpp", "server", T_STRING, "127.0.0.1", 0, 0, NULL, C(xmpp_server)},
    {"xmpp", "port", T_INT, "5347", 1, 65535, NULL, C(xmpp_port)},
    {"xmpp", "domain", T_STRING, NULL, 0, 0, NULL, C(xmpp_domain)},
    {"xmpp", "secret", T_STRING, NULL, 0, 0, NULL, C(xmpp_secret)},
    {"xmpp", "secret_file", T_PATH, NULL, 0, 0, NULL, C(xmpp_secret_file)},
    {"xmpp", "user", T_STRING, NULL, 0, 0, NULL, C(xmpp_user)},
    {"xmpp", "pidfile", T_PATH, NULL, 0, 0, NULL, C(xmpp_pidfile)},
    {"xmpp", "reconnect_max", T_DURATION, "60s", 1, 3600, NULL, C(xmpp_reconnect_max)},
    {"xmpp", "max_body", T_SIZE, "16K", 256, 1 << 20, NULL, C(xmpp_max_body)},
    {"xmpp", "rate_limit", T_INT, "20", 1, 100000, NULL, C(xmpp_rate_limit)},
    {"xmpp", "rate_window", T_DURATION, "1m", 1, 86400, NULL, C(xmpp_rate_window)},
    {"report", "goal_email", T_INT, "80", 1, 100, NULL, C(report_goal_email)},
    {"report", "goal_xmpp", T_INT, "80", 1, 100, NULL, C(report_goal_xmpp)},
    {"queue", "addresses", T_LIST, NULL, 0, 0, NULL, Q(addresses)},
    {"queue", "xmpp", T_LIST, NULL, 0, 0, NULL, Q(xmpp)},
    {"queue", "prefix", T_STRING, NULL, 0, 0, NULL, Q(prefix)},
    {"queue", "group", T_STRING, NULL, 0, 0, NULL, Q(group)},
    {"queue", "sla", T_STRING, "standard", 0, 0, NULL, Q(sla)},
    {"queue", "from_name", T_TEXT, NULL, 0, 0, NULL, Q(from_name)},
    {"agent", "name", T_TEXT, NULL, 0, 0, NULL, A(name)},
    {"agent", "email", T_STRING, NULL, 0, 0, NULL, A(email)},
    {"agent", "jid", T_STRING, NULL, 0, 0, NULL, A(jid)},
    {"agent", "login", T_LIST, NULL, 0, 0, NULL, A(logins)},
    {"agent", "groups", T_LIST, NULL, 0, 0, NULL, A(groups)},
    {"agent", "max_open", T_INT, "20", 0, 100000, NULL, A(max_open)},
    {"agent", "active", T_BOOL, "true", 0, 0, NULL, A(active)},
    {"agent", "lang", T_ENUM, "en", 0, 0, "en|ru", A(lang)},
};

/* ---- the table, for documentation ---- */

static const char *const type_names[] = {"string",   "path",    "list",   "integer",    "size",
                                         "duration", "boolean", "choice", "octal mode", "string"};

size_t tg_config_directive_count(void)
{
    return G_N_ELEMENTS(directives);
}

void tg_config_directive_info(size_t i, tg_directive_info *out)
{
    const directive *d = &directives[i];
    *out = (tg_directive_info){.section = d->section,
                               .key = d->key,
                               .type = type_names[d->type],
                               .def = d->def,
                               .choices = d->choices,
                               .min = d->min,
                               .max = d->max,
                               .bounded = d->type == T_INT || d->type == T_SIZE ||
                                          d->type == T_DURATION || d->type == T_MODE};
}

/* ---- reading values ---- */

static int parse_size(const char *s, int64_t *out)
{
    char *end;
    guint64 n = g_ascii_strtoull(s, &end, 10);
    int64_t mult = 1;
    if (end == s)
        return TG_EINVAL;
    switch (g_ascii_toupper(*end)) {
    case '\0':
        break;
    case 'K':
        mult = 1024;
        end++;
        break;
    case 'M':
        mult = 1024 * 1024;
        end++;
        break;
    case 'G':
        mult = 1024 * 1024 * 1024;
        end++;
        break;
    default:
        return TG_EINVAL;
    }
    if (*end && !(g_ascii_toupper(*end) == 'B' && !end[1]))
        return TG_EINVAL;
    if (n > (guint64)(INT64_MAX / mult))
        return TG_EINVAL;
    *out = (int64_t)n * mult;
    return TG_OK;
}

/* resolve_path - value relative to the config file's directory. */
static char *resolve_path(const char *config_path, const char *value)
{
    if (g_path_is_absolute(value))
        return g_strdup(value);
    char *dir = g_path_get_dirname(config_path);
    char *full = g_build_filename(dir, value, NULL);
    g_free(dir);
    return full;
}

/* set_value - parse raw (the default when the key is absent) into the field of d in base. */
static int set_value(tg_keyfile *kf, const char *group, const directive *d, const char *raw,
                     void *base, tg_err *err)
{
    void *field = (char *)base + d->offset;
    int64_t n = 0;

    if (raw && !*raw && (d->type == T_STRING || d->type == T_PATH))
        return tg_keyfile_fail(kf, err, group, d->key, "%s", EMPTY_VALUE);
    switch (d->type) {
    case T_STRING:
    case T_TEXT:
        *(char **)field = g_strdup(raw);
        return TG_OK;
    case T_PATH:
        *(char **)field = raw ? resolve_path(kf->path, raw) : NULL;
        return TG_OK;
    case T_LIST:
        *(char ***)field = tg_split_list(raw);
        return TG_OK;
    case T_BOOL:
        if (g_ascii_strcasecmp(raw, "true") == 0 || g_ascii_strcasecmp(raw, "yes") == 0)
            *(int *)field = 1;
        else if (g_ascii_strcasecmp(raw, "false") == 0 || g_ascii_strcasecmp(raw, "no") == 0)
            *(int *)field = 0;
        else
            return tg_keyfile_fail(kf, err, group, d->key, "\"%s\" is not true or false", raw);
        return TG_OK;
    case T_ENUM: {
        char **choices = g_strsplit(d->choices, "|", -1);
        int ok = g_strv_contains((const char *const *)choices, raw);
        g_strfreev(choices);
        if (!ok)
            return tg_keyfile_fail(kf, err, group, d->key, "\"%s\" is not one of %s", raw,
                                   d->choices);
        *(char **)field = g_strdup(raw);
        return TG_OK;
    }
    case T_INT: {
        char *end;
        n = g_ascii_strtoll(raw, &end, 10);
        if (end == raw || *end)
            return tg_keyfile_fail(kf, err, group, d->key, "\"%s\" is not a number", raw);
        break;
    }
    case T_SIZE:
        if (parse_size(raw, &n) != TG_OK)
            return tg_keyfile_fail(kf, err, group, d->key,
                                   "\"%s\" is not a size such as 512K, 25M or 1048576", raw);
        break;
    case T_MODE: {
        char *end;
        n = g_ascii_strtoll(raw, &end, 8);
        if (end == raw || *end)
            return tg_keyfile_fail(kf, err, group, d->key,
                                   "\"%s\" is not an octal mode such as 0660", raw);
        break;
    }
    case T_DURATION:
        if (tg_parse_duration(raw, &n) != TG_OK)
            return tg_keyfile_fail(kf, err, group, d->key,
                                   "\"%s\" is not a duration such as 90s, 30m, 4h or 1h30m", raw);
        break;
    }
    if (n < d->min || n > d->max)
        return tg_keyfile_fail(kf, err, group, d->key, "%s is out of range %lld..%lld", raw,
                               (long long)d->min, (long long)d->max);
    *(int64_t *)field = n;
    return TG_OK;
}

/* read_section - every table row of kind into base; unknown keys in group are errors. */
static int read_section(tg_keyfile *kf, const char *group, const char *kind, void *base,
                        tg_err *err)
{
    char **keys = g_key_file_get_keys(kf->kf, group, NULL, NULL);
    int rc = TG_OK;

    for (char **k = keys; keys && *k; k++) {
        size_t i;
        for (i = 0; i < G_N_ELEMENTS(directives); i++)
            if (strcmp(directives[i].section, kind) == 0 && strcmp(directives[i].key, *k) == 0)
                break;
        if (i == G_N_ELEMENTS(directives)) {
            rc = tg_keyfile_fail(kf, err, group, *k, "unknown directive (see ticketgate.conf(5))");
            goto out;
        }
    }
    for (size_t i = 0; i < G_N_ELEMENTS(directives); i++) {
        const directive *d = &directives[i];
        if (strcmp(d->section, kind) != 0)
            continue;
        char *raw = g_key_file_get_string(kf->kf, group, d->key, NULL);
        if (raw)
            g_strstrip(raw);
        rc = set_value(kf, group, d, raw ? raw : d->def, base, err);
        g_free(raw);
        if (rc != TG_OK)
            goto out;
    }
out:
    g_strfreev(keys);
    return rc;
}

/* ---- named sections ---- */

static void queue_free(gpointer p)
{
    tg_queue *q = p;
    g_free(q->name);
    g_strfreev(q->addresses);
    g_strfreev(q->xmpp);
    g_free(q->prefix);
    g_free(q->group);
    g_free(q->sla);
    g_free(q->from_name);
    g_free(q);
}

static void agent_free(gpointer p)
{
    tg_agent *a = p;
    g_free(a->id);
    g_free(a->name);
    g_free(a->email);
    g_free(a->jid);
    g_free(a->lang);
    g_strfreev(a->logins);
    g_strfreev(a->groups);
    g_free(a);
}

static void template_free(gpointer p)
{
    tg_template *t = p;
    g_free(t->name);
    g_free(t->lang);
    g_free(t->subject);
    g_free(t->body);
    g_free(t);
}

/* address_flaw - why s cannot be a mail address or a bare JID as the configuration names them
 * (local@domain, nothing around it), or NULL. jid: a resource is a flaw too (agents are known by
 * their bare JID, whatever client they write from). */
static const char *address_flaw(const char *s, int jid)
{
    const char *at = strrchr(s, '@');
    for (const char *c = s; *c; c++)
        if ((unsigned char)*c <= ' ' || *c == 0x7f)
            return "has a space or a control character in it";
    if (!at || at == s || !at[1])
        return "is not an address such as support@example.org";
    if (jid && strchr(s, '/'))
        return "is a full JID: give the bare one, without /resource";
    return NULL;
}

static void lower_all(char **items)
{
    for (; items && *items; items++) {
        char *lower = tg_address_lower(*items);
        g_free(*items);
        *items = lower;
    }
}

/* queue_claiming - the queue before q whose addresses (or, with xmpp, local parts) name name. */
static const tg_queue *queue_claiming(const tg_config *cfg, const tg_queue *q, int xmpp,
                                      const char *name)
{
    for (guint i = 0; i < cfg->queues->len; i++) {
        const tg_queue *other = g_ptr_array_index(cfg->queues, i);
        char **names = xmpp ? other->xmpp : other->addresses;
        if (other == q)
            return NULL;
        if (names && g_strv_contains((const char *const *)names, name))
            return other;
    }
    return NULL;
}

/* claim_once - refuse an address or chat name that an earlier queue has: mail to it would go to
 * that queue only, and this one would silently never see it. */
static int claim_once(const tg_config *cfg, tg_keyfile *kf, const char *group, const tg_queue *q,
                      int xmpp, tg_err *err)
{
    for (char **n = xmpp ? q->xmpp : q->addresses; n && *n; n++) {
        const tg_queue *owner = queue_claiming(cfg, q, xmpp, *n);
        if (owner)
            return tg_keyfile_fail(kf, err, group, xmpp ? "xmpp" : "addresses",
                                   "%s is already in [queue %s]: each belongs to one queue", *n,
                                   owner->name);
    }
    return TG_OK;
}

static int load_queue(tg_config *cfg, tg_keyfile *kf, const char *group, const char *name,
                      tg_err *err)
{
    tg_queue *q = g_new0(tg_queue, 1);
    q->name = g_strdup(name);
    g_ptr_array_add(cfg->queues, q);
    int rc = read_section(kf, group, "queue", q, err);
    if (rc != TG_OK)
        return rc;
    lower_all(q->addresses);
    lower_all(q->xmpp);
    const char *flaw;
    for (char **a = q->addresses; a && *a; a++)
        if ((flaw = address_flaw(*a, 0)))
            return tg_keyfile_fail(kf, err, group, "addresses", "\"%s\" %s", *a, flaw);
    for (char **l = q->xmpp; l && *l; l++)
        if (strpbrk(*l, "@/ \t\"&'<>:"))
            return tg_keyfile_fail(kf, err, group, "xmpp",
                                   "\"%s\" is not a local part such as support (the domain is "
                                   "[xmpp] domain)",
                                   *l);
    if ((rc = claim_once(cfg, kf, group, q, 0, err)) != TG_OK ||
        (rc = claim_once(cfg, kf, group, q, 1, err)) != TG_OK)
        return rc;
    if (!q->prefix)
        q->prefix = g_ascii_strup(name, MIN(strlen(name), 3));
    for (const char *p = q->prefix; *p; p++)
        if (!g_ascii_isalnum(*p) || !g_ascii_isupper(q->prefix[0]))
            return tg_keyfile_fail(kf, err, group, "prefix",
                                   "\"%s\" must be upper-case letters and digits, starting "
                                   "with a letter",
                                   q->prefix);
    return TG_OK;
}

/* agent_unique - refuse an address or login by which an earlier agent is found already: the
 * lookups take the first agent, so this one's mail, chat or login would count as that one's. */
static int agent_unique(const tg_config *cfg, tg_keyfile *kf, const char *group, const tg_agent *a,
                        tg_err *err)
{
    const char *keys[] = {"email", "jid"};
    const char *addresses[] = {a->email, a->jid};
    for (size_t i = 0; i < G_N_ELEMENTS(keys); i++) {
        const tg_agent *other = addresses[i] ? tg_config_agent_for(cfg, addresses[i]) : a;
        if (other && other != a)
            return tg_keyfile_fail(kf, err, group, keys[i], "%s is already [agent %s]'s",
                                   addresses[i], other->id);
    }
    for (char **l = a->logins; l && *l; l++) {
        const tg_agent *other = tg_config_agent_by_login(cfg, *l);
        if (other && other != a)
            return tg_keyfile_fail(kf, err, group, "login", "%s is already [agent %s]'s", *l,
                                   other->id);
    }
    return TG_OK;
}

static int load_agent(tg_config *cfg, tg_keyfile *kf, const char *group, const char *id,
                      tg_err *err)
{
    tg_agent *a = g_new0(tg_agent, 1);
    a->id = g_strdup(id);
    g_ptr_array_add(cfg->agents, a);
    int rc = read_section(kf, group, "agent", a, err);
    if (rc != TG_OK)
        return rc;
    if (!a->email && !a->jid)
        return tg_keyfile_fail(kf, err, group, NULL, "an agent needs an email or a jid");
    const char *flaw;
    if (a->email && (flaw = address_flaw(a->email, 0)))
        return tg_keyfile_fail(kf, err, group, "email", "\"%s\" %s", a->email, flaw);
    if (a->jid && (flaw = address_flaw(a->jid, 1)))
        return tg_keyfile_fail(kf, err, group, "jid", "\"%s\" %s", a->jid, flaw);
    if (!a->name || !*a->name) { /* how notices and relays call the agent */
        g_free(a->name);
        a->name = g_strdup(id);
    }
    char *lower = a->email ? g_ascii_strdown(a->email, -1) : NULL;
    g_free(a->email);
    a->email = lower;
    lower = a->jid ? g_ascii_strdown(a->jid, -1) : NULL;
    g_free(a->jid);
    a->jid = lower;
    return agent_unique(cfg, kf, group, a, err);
}

static const char *const weekday_keys[] = {NULL, "mon", "tue", "wed", "thu", "fri", "sat", "sun"};

static int load_calendar(tg_config *cfg, tg_keyfile *kf, const char *group, const char *name,
                         tg_err *err)
{
    char **keys = g_key_file_get_keys(kf->kf, group, NULL, NULL);
    char *tz = g_key_file_get_string(kf->kf, group, "timezone", NULL);
    int always = 0, rc = TG_OK;
    tg_err sub;
    tg_calendar *cal = NULL;

    for (char **k = keys; *k; k++) {
        int known =
            strcmp(*k, "timezone") == 0 || strcmp(*k, "always") == 0 || strcmp(*k, "holidays") == 0;
        for (int wd = 1; wd <= 7; wd++)
            known |= strcmp(*k, weekday_keys[wd]) == 0;
        if (!known) {
            rc = tg_keyfile_fail(kf, err, group, *k,
                                 "unknown key (timezone, always, mon..sun, holidays)");
            goto out;
        }
    }
    if (g_key_file_has_key(kf->kf, group, "always", NULL)) {
        GError *gerr = NULL;
        always = g_key_file_get_boolean(kf->kf, group, "always", &gerr);
        if (gerr) {
            g_error_free(gerr);
            rc = tg_keyfile_fail(kf, err, group, "always", "expected true or false");
            goto out;
        }
    }
    if (tz && !*g_strstrip(tz)) {
        rc = tg_keyfile_fail(kf, err, group, "timezone", "%s", EMPTY_VALUE);
        goto out;
    }
    if (!(cal = tg_calendar_new(name, tz ? tz : cfg->timezone, always, &sub))) {
        rc = tg_keyfile_fail(kf, err, group, "timezone", "%s", sub.msg);
        goto out;
    }
    for (int wd = 1; wd <= 7; wd++) {
        char *spec = g_key_file_get_string(kf->kf, group, weekday_keys[wd], NULL);
        if (!spec && wd <= 5)
            spec = g_strdup("09:00-18:00");
        rc = tg_calendar_set_hours(cal, wd, spec, &sub);
        g_free(spec);
        if (rc != TG_OK) {
            rc = tg_keyfile_fail(kf, err, group, weekday_keys[wd], "%s", sub.msg);
            goto out;
        }
    }
    char *holidays = g_key_file_get_string(kf->kf, group, "holidays", NULL);
    char **days = tg_split_list(holidays);
    g_free(holidays);
    for (char **d = days; d && *d && rc == TG_OK; d++)
        if (*g_strstrip(*d) && (rc = tg_calendar_add_holiday(cal, *d, &sub)) != TG_OK)
            rc = tg_keyfile_fail(kf, err, group, "holidays", "%s", sub.msg);
    g_strfreev(days);
    if (rc == TG_OK && (rc = tg_calendar_check(cal, &sub)) != TG_OK)
        rc = tg_keyfile_fail(kf, err, group, NULL, "%s", sub.msg);
out:
    if (rc == TG_OK)
        g_ptr_array_add(cfg->calendars, cal);
    else
        tg_calendar_free(cal);
    g_free(tz);
    g_strfreev(keys);
    return rc;
}

static const tg_calendar *find_calendar(const tg_config *cfg, const char *name)
{
    for (guint i = 0; i < cfg->calendars->len; i++)
        if (strcmp(tg_calendar_name(g_ptr_array_index(cfg->calendars, i)), name) == 0)
            return g_ptr_array_index(cfg->calendars, i);
    return NULL;
}

static int load_policy(tg_config *cfg, tg_keyfile *kf, const char *group, const char *name,
                       tg_err *err)
{
    char *calname = g_key_file_get_string(kf->kf, group, "calendar", NULL);
    const tg_calendar *cal = find_calendar(cfg, calname ? g_strstrip(calname) : "business");
    char **keys = g_key_file_get_keys(kf->kf, group, NULL, NULL);
    int rc = TG_OK;

    if (!cal) {
        rc = tg_keyfile_fail(kf, err, group, "calendar", "no calendar \"%s\"", calname);
        goto out;
    }
    tg_sla_policy *pol = tg_sla_policy_new(name, cal);
    g_ptr_array_add(cfg->policies, pol);
    for (char **k = keys; *k; k++) {
        if (strcmp(*k, "calendar") == 0)
            continue;
        char *v = g_key_file_get_string(kf->kf, group, *k, NULL);
        tg_err sub;
        rc = tg_sla_policy_set(pol, *k, v ? v : "", &sub);
        g_free(v);
        if (rc != TG_OK) {
            rc = tg_keyfile_fail(kf, err, group, *k, "%s", sub.msg);
            goto out;
        }
    }
out:
    g_free(calname);
    g_strfreev(keys);
    return rc;
}

/* add_template - one (name, lang) text, replacing an earlier one. */
static void add_template(tg_config *cfg, const char *name, const char *lang, const char *subject,
                         const char *body)
{
    for (guint i = 0; i < cfg->templates->len; i++) {
        tg_template *t = g_ptr_array_index(cfg->templates, i);
        if (strcmp(t->name, name) == 0 && strcmp(t->lang, lang) == 0) {
            g_ptr_array_remove_index(cfg->templates, i);
            break;
        }
    }
    tg_template *t = g_new0(tg_template, 1);
    *t = (tg_template){g_strdup(name), g_strdup(lang), g_strdup(subject), g_strdup(body)};
    g_ptr_array_add(cfg->templates, t);
}

static int load_template(tg_config *cfg, tg_keyfile *kf, const char *group, const char *name,
                         tg_err *err)
{
    static const char *const langs[] = {"en", "ru"};
    char **keys = g_key_file_get_keys(kf->kf, group, NULL, NULL);
    int rc = TG_OK;

    if (!g_strv_contains(tg_template_names, name)) {
        char *names = g_strjoinv(", ", (char **)tg_template_names);
        rc = tg_keyfile_fail(kf, err, group, NULL, "unknown template (%s)", names);
        g_free(names);
        goto out;
    }
    for (char **k = keys; *k; k++) {
        if (strncmp(*k, "subject", 7) != 0 && strncmp(*k, "body", 4) != 0) {
            rc = tg_keyfile_fail(kf, err, group, *k,
                                 "unknown key (subject, body, subject[ru], ...)");
            goto out;
        }
    }
    for (size_t i = 0; i < G_N_ELEMENTS(langs); i++) {
        const char *def_subject, *def_body;
        tg_template_builtin(name, langs[i], &def_subject, &def_body);
        /* Exact locale only: "subject" alone is English, "subject[ru]" Russian. */
        char *lkey_s = g_strdup_printf("subject[%s]", langs[i]);
        char *lkey_b = g_strdup_printf("body[%s]", langs[i]);
        const char *skey = i == 0 ? "subject" : lkey_s, *bkey = i == 0 ? "body" : lkey_b;
        char *subject = i == 0 ? g_key_file_get_string(kf->kf, group, "subject", NULL)
                               : tg_keyfile_locale_string(kf, group, "subject", langs[i]);
        char *body = i == 0 ? g_key_file_get_string(kf->kf, group, "body", NULL)
                            : tg_keyfile_locale_string(kf, group, "body", langs[i]);
        const char *bad_key = NULL;
        char *bad = NULL;
        if (subject && (bad = tg_template_unknown_var(subject)))
            bad_key = skey;
        else if (body && (bad = tg_template_unknown_var(body)))
            bad_key = bkey;
        if (bad_key)
            rc = tg_keyfile_fail(kf, err, group, bad_key, "unknown variable {{%s}}", bad);
        else if (subject || body)
            add_template(cfg, name, langs[i], subject ? subject : def_subject,
                         body ? body : def_body);
        g_free(bad);
        g_free(subject);
        g_free(body);
        g_free(lkey_s);
        g_free(lkey_b);
        if (rc != TG_OK)
            goto out;
    }
out:
    g_strfreev(keys);
    return rc;
}

/* ---- built-ins and cross-checks ---- */

static void add_builtins(tg_config *cfg)
{
    if (!find_calendar(cfg, "24x7"))
        g_ptr_array_add(cfg->calendars, tg_calendar_new("24x7", cfg->timezone, 1, NULL));
    if (!find_calendar(cfg, "business")) {
        tg_calendar *cal = tg_calendar_new("business", cfg->timezone, 0, NULL);
        for (int wd = 1; wd <= 5; wd++)
            tg_calendar_set_hours(cal, wd, "09:00-18:00", NULL);
        g_ptr_array_add(cfg->calendars, cal);
    }
}

/* The service-standard table: urgent 4 h, technical problem 24 h (one working day),
 * consultation 48 h (two), complaint or thanks 72 h (three) to resolve; the first answer by
 * mail within 4 h (1 h when urgent), by chat within 90 s whatever the request. The category
 * lines set the resolution only ("-"): with a first response of their own they would win over
 * channel:xmpp (category beats channel) and give most chats 4 h. */
static void add_standard_policy(tg_config *cfg)
{
    static const char *const lines[][2] = {
        {"default", "4h 3d"},                    /* answered in 4 h, resolved in 3 working days */
        {"channel:xmpp", "90s"},                 /* but chats answered in 90 s */
        {"priority:urgent", "1h 4h"},            /* urgent mail: 1 h, resolved in 4 h */
        {"channel:xmpp+priority:urgent", "90s"}, /* urgent chat: still 90 s */
        {"category:technical", "- 1d"},          /* resolution only, from here on */
        {"category:consultation", "- 2d"},
        {"category:complaint", "- 3d"},
        {"category:thanks", "- 3d"},
    };
    if (tg_config_policy(cfg, "standard"))
        return;
    tg_sla_policy *pol = tg_sla_policy_new("standard", find_calendar(cfg, "business"));
    for (size_t i = 0; i < G_N_ELEMENTS(lines); i++)
        tg_sla_policy_set(pol, lines[i][0], lines[i][1], NULL);
    g_ptr_array_add(cfg->policies, pol);
}

/* group_has_agent - whether an agent's groups name group (active or not: that changes). */
static int group_has_agent(const tg_config *cfg, const char *group)
{
    for (guint i = 0; i < cfg->agents->len; i++) {
        const tg_agent *a = g_ptr_array_index(cfg->agents, i);
        if (a->groups && g_strv_contains((const char *const *)a->groups, group))
            return 1;
    }
    return 0;
}

/* warn_empty_groups - a queue or rule that routes to a group no agent is in: its tickets stay
 * unassigned and its escalations reach nobody. A typo, most often; a team not set up yet, else. */
static void warn_empty_groups(tg_config *cfg, tg_keyfile *kf)
{
    static const char why[] = "no agent is in it, so its tickets stay unassigned";
    for (guint i = 0; i < cfg->queues->len; i++) {
        const tg_queue *q = g_ptr_array_index(cfg->queues, i);
        if (!q->group || group_has_agent(cfg, q->group))
            continue;
        char *section = g_strdup_printf("queue %s", q->name);
        g_ptr_array_add(cfg->warnings, g_strdup_printf("%s:%d: [%s] group %s: %s", cfg->path,
                                                       tg_keyfile_line(kf, section, "group"),
                                                       section, q->group, why));
        g_free(section);
    }
    for (size_t i = 0; i < tg_rules_count(cfg->rules); i++) {
        const tg_rule_action *a = tg_rules_action(cfg->rules, i);
        if (a->group && !group_has_agent(cfg, a->group))
            g_ptr_array_add(cfg->warnings, g_strdup_printf("%s:%d: [rule %s] group %s: %s",
                                                           tg_rules_path(cfg->rules), a->line,
                                                           a->rule, a->group, why));
    }
}

static int check_references(tg_config *cfg, tg_keyfile *kf, tg_err *err)
{
    for (guint i = 0; i < cfg->queues->len; i++) {
        tg_queue *q = g_ptr_array_index(cfg->queues, i);
        char *group = g_strdup_printf("queue %s", q->name);
        int rc = TG_OK;
        if (!(q->policy = tg_config_policy(cfg, q->sla)))
            rc = tg_keyfile_fail(kf, err, group, "sla", "no [sla %s] section", q->sla);
        for (guint j = 0; rc == TG_OK && j < i; j++)
            if (strcmp(((tg_queue *)g_ptr_array_index(cfg->queues, j))->prefix, q->prefix) == 0)
                rc =
                    tg_keyfile_fail(kf, err, group, "prefix", "prefix %s is used twice", q->prefix);
        g_free(group);
        if (rc != TG_OK)
            return rc;
    }
    if (!tg_config_default_queue(cfg))
        return tg_keyfile_fail(kf, err, "general", "default_queue", "no [queue %s] section",
                               cfg->default_queue);

    for (size_t i = 0; i < tg_rules_count(cfg->rules); i++) {
        const tg_rule_action *a = tg_rules_action(cfg->rules, i);
        const char *what = NULL, *value = NULL;
        if (a->queue && !tg_config_queue(cfg, a->queue))
            what = "queue", value = a->queue;
        else if (a->sla && !tg_config_policy(cfg, a->sla))
            what = "SLA policy", value = a->sla;
        else if (a->assignee && !tg_config_agent(cfg, a->assignee))
            what = "agent", value = a->assignee;
        if (what)
            return tg_err_set(err, TG_EINVAL, "%s:%d: [rule %s]: no %s \"%s\" in %s",
                              tg_rules_path(cfg->rules), a->line, a->rule, what, value, cfg->path);
    }
    warn_empty_groups(cfg, kf);
    char *store_dir = g_path_get_dirname(cfg->store_path);
    if (!g_file_test(store_dir, G_FILE_TEST_IS_DIR))
        g_ptr_array_add(cfg->warnings,
                        g_strdup_printf("%s: [store] path: the directory %s does not exist, so "
                                        "the daemons cannot make or open the store",
                                        cfg->path, store_dir));
    g_free(store_dir);
    return TG_OK;
}

typedef int (*section_loader)(tg_config *, tg_keyfile *, const char *, const char *, tg_err *);

static int load_sections(tg_config *cfg, tg_keyfile *kf, const char *kind, section_loader load,
                         tg_err *err)
{
    char **groups = g_key_file_get_groups(kf->kf, NULL);
    size_t n = strlen(kind);
    int rc = TG_OK;

    for (char **g = groups; *g && rc == TG_OK; g++) {
        if (strncmp(*g, kind, n) != 0 || (*g)[n] != ' ')
            continue;
        char *name = g_strstrip(g_strdup(*g + n));
        if (!*name)
            rc = tg_keyfile_fail(kf, err, *g, NULL, "needs a name: [%s NAME]", kind);
        else
            rc = load(cfg, kf, *g, name, err);
        g_free(name);
    }
    g_strfreev(groups);
    return rc;
}

/* The sections of the directive table that appear once, unnamed. */
static const char *const fixed_sections[] = {"general", "store",  "rules", "limits", "mail",
                                             "milter",  "mailer", "xmpp",  "report", NULL};

static int check_groups(tg_keyfile *kf, tg_err *err)
{
    static const char *const named[] = {"queue ", "agent ", "calendar ", "sla ", "template ", NULL};
    char **groups = g_key_file_get_groups(kf->kf, NULL);
    int rc = TG_OK;

    for (char **g = groups; *g && rc == TG_OK; g++) {
        int ok = g_strv_contains(fixed_sections, *g);
        for (const char *const *p = named; *p && !ok; p++)
            ok = g_str_has_prefix(*g, *p);
        if (!ok)
            rc = tg_keyfile_fail(kf, err, *g, NULL,
                                 "unknown section (general, store, rules, limits, mail, milter, "
                                 "mailer, xmpp, queue X, "
                                 "agent X, calendar X, sla X, template X)");
    }
    g_strfreev(groups);
    return rc;
}

tg_config *tg_config_load(const char *path, tg_err *err)
{
    tg_keyfile *kf = tg_keyfile_load(path, err);
    if (!kf)
        return NULL;

    tg_config *cfg = g_new0(tg_config, 1);
    int rc;
    cfg->refs = 1;
    cfg->path = g_strdup(path);
    cfg->queues = g_ptr_array_new_with_free_func(queue_free);
    cfg->agents = g_ptr_array_new_with_free_func(agent_free);
    cfg->calendars = g_ptr_array_new_with_free_func((GDestroyNotify)tg_calendar_free);
    cfg->policies = g_ptr_array_new_with_free_func((GDestroyNotify)tg_sla_policy_free);
    cfg->templates = g_ptr_array_new_with_free_func(template_free);
    cfg->warnings = g_ptr_array_new_with_free_func(g_free);

    if ((rc = check_groups(kf, err)) != TG_OK)
        goto out;
    for (const char *const *f = fixed_sections; *f; f++)
        if ((rc = read_section(kf, *f, *f, cfg, err)) != TG_OK)
            goto out;
    {
        tg_calendar *probe = tg_calendar_new("probe", cfg->timezone, 1, NULL);
        if (!probe) {
            rc = tg_keyfile_fail(kf, err, "general", "timezone", "unknown time zone \"%s\"",
                                 cfg->timezone);
            goto out;
        }
        tg_calendar_free(probe);
    }
    for (const char *const *name = tg_template_names; *name; name++)
        for (const char *const *lang = (const char *const[]){"en", "ru", NULL}; *lang; lang++) {
            const char *s, *b;
            if (tg_template_builtin(*name, *lang, &s, &b))
                add_template(cfg, *name, *lang, s, b);
        }
    if ((rc = load_sections(cfg, kf, "calendar", load_calendar, err)) != TG_OK)
        goto out;
    add_builtins(cfg);
    if ((rc = load_sections(cfg, kf, "sla", load_policy, err)) != TG_OK)
        goto out;
    add_standard_policy(cfg);
    if ((rc = load_sections(cfg, kf, "queue", load_queue, err)) != TG_OK ||
        (rc = load_sections(cfg, kf, "agent", load_agent, err)) != TG_OK ||
        (rc = load_sections(cfg, kf, "template", load_template, err)) != TG_OK)
        goto out;
    if (cfg->queues->len == 0) {
        tg_queue *q = g_new0(tg_queue, 1);
        *q = (tg_queue){g_strdup("support"),
                        g_new0(char *, 1),
                        g_new0(char *, 1),
                        g_strdup("SUP"),
                        NULL,
                        g_strdup("standard"),
                        NULL,
                        NULL};
        g_ptr_array_add(cfg->queues, q);
    }
    if (!cfg->default_queue)
        cfg->default_queue = g_strdup(((tg_queue *)g_ptr_array_index(cfg->queues, 0))->name);

    tg_rules_limits limits = {(unsigned long)cfg->regex_match_limit,
                              (unsigned long)cfg->regex_depth_limit};
    if (!(cfg->rules = tg_rules_load(cfg->rules_file, &limits, err))) {
        rc = err ? err->code : TG_EINVAL;
        if (!g_file_test(cfg->rules_file, G_FILE_TEST_EXISTS)) /* say where it was named */
            tg_keyfile_fail(kf, err, "rules", "file", "%s: no such file", cfg->rules_file);
        goto out;
    }
    rc = check_references(cfg, kf, err);
out:
    tg_keyfile_free(kf);
    if (rc != TG_OK) {
        tg_config_unref(cfg);
        return NULL;
    }
    return cfg;
}

void tg_config_log_warnings(const tg_config *cfg)
{
    for (guint i = 0; i < cfg->warnings->len; i++)
        tg_warn("%s", (const char *)g_ptr_array_index(cfg->warnings, i));
}

tg_config *tg_config_ref(tg_config *cfg)
{
    g_atomic_int_inc(&cfg->refs);
    return cfg;
}

void tg_config_unref(tg_config *cfg)
{
    if (!cfg || !g_atomic_int_dec_and_test(&cfg->refs))
        return;
    for (size_t i = 0; i < G_N_ELEMENTS(directives); i++) {
        if (strcmp(directives[i].section, "queue") == 0 ||
            strcmp(directives[i].section, "agent") == 0)
            continue;
        void *field = (char *)cfg + directives[i].offset;
        switch (directives[i].type) {
        case T_STRING:
        case T_TEXT:
        case T_PATH:
        case T_ENUM:
            g_free(*(char **)field);
            break;
        case T_LIST:
            g_strfreev(*(char ***)field);
            break;
        default:
            break;
        }
    }
    g_ptr_array_free(cfg->queues, TRUE);
    g_ptr_array_free(cfg->agents, TRUE);
    g_ptr_array_free(cfg->policies, TRUE); /* before the calendars they borrow */
    g_ptr_array_free(cfg->calendars, TRUE);
    g_ptr_array_free(cfg->templates, TRUE);
    g_ptr_array_free(cfg->warnings, TRUE);
    tg_rules_free(cfg->rules);
    g_free(cfg->path);
    g_free(cfg);
}

/* ---- lookups ---- */

static tg_store *open_store(const tg_config *cfg, int read_only, tg_err *err)
{
    tg_store_opts opts = {.busy_timeout_ms = cfg->busy_timeout * 1000,
                          .synchronous_full = strcmp(cfg->synchronous, "full") == 0,
                          .read_only = read_only};
    tg_store *st = NULL;
    return tg_store_open(cfg->store_path, &opts, &st, err) == TG_OK ? st : NULL;
}

tg_store *tg_config_open_store(const tg_config *cfg, tg_err *err)
{
    return open_store(cfg, 0, err);
}

tg_store *tg_config_open_store_read_only(const tg_config *cfg, tg_err *err)
{
    return open_store(cfg, 1, err);
}

const tg_queue *tg_config_queue(const tg_config *cfg, const char *name)
{
    for (guint i = 0; name && i < cfg->queues->len; i++) {
        const tg_queue *q = g_ptr_array_index(cfg->queues, i);
        if (strcmp(q->name, name) == 0)
            return q;
    }
    return NULL;
}

const tg_queue *tg_config_default_queue(const tg_config *cfg)
{
    return tg_config_queue(cfg, cfg->default_queue);
}

/* strip_detail - "user+detail@dom" -> "user@dom" (or "user+detail" -> "user"), lower case. */
static char *strip_detail(const char *address)
{
    char *lower = tg_address_lower(address);
    char *plus = strchr(lower, '+');
    char *at = strchr(lower, '@');
    if (plus && (!at || plus < at))
        memmove(plus, at ? at : plus + strlen(plus), strlen(at ? at : "") + 1);
    return lower;
}

const tg_queue *tg_config_queue_for(const tg_config *cfg, const char *channel, const char *address)
{
    if (!address)
        return NULL;
    int xmpp = channel && strcmp(channel, "xmpp") == 0;
    char *plain = strip_detail(address);
    char *at = strchr(plain, '@');
    if (xmpp && at) /* a JID: the local part names the queue */
        *at = '\0';
    else if (xmpp) /* the bare component domain: the default queue */
        *plain = '\0';
    const tg_queue *found = NULL;
    for (guint i = 0; !found && i < cfg->queues->len; i++) {
        const tg_queue *q = g_ptr_array_index(cfg->queues, i);
        char **names = xmpp ? q->xmpp : q->addresses;
        if (names && g_strv_contains((const char *const *)names, plain))
            found = q;
    }
    g_free(plain);
    return found;
}

const char *tg_config_queue_address(const tg_queue *q)
{
    return q && q->addresses && q->addresses[0] ? q->addresses[0] : NULL;
}

char *tg_config_queue_jid(const tg_config *cfg, const tg_queue *q)
{
    if (!cfg->xmpp_domain)
        return NULL;
    if (q && q->xmpp && q->xmpp[0])
        return g_strdup_printf("%s@%s", q->xmpp[0], cfg->xmpp_domain);
    return g_strdup(cfg->xmpp_domain);
}

int tg_config_is_support_address(const tg_config *cfg, const char *address)
{
    return tg_config_queue_for(cfg, "email", address) != NULL;
}

const tg_agent *tg_config_agent_for(const tg_config *cfg, const char *address)
{
    for (guint i = 0; address && *address && i < cfg->agents->len; i++) {
        const tg_agent *a = g_ptr_array_index(cfg->agents, i);
        if ((a->email && g_ascii_strcasecmp(a->email, address) == 0) ||
            (a->jid && g_ascii_strcasecmp(a->jid, address) == 0))
            return a;
    }
    return NULL;
}

int tg_config_agent_serves(const tg_config *cfg, const tg_agent *a, const tg_ticket *t)
{
    const tg_queue *q = tg_config_queue(cfg, t->queue);
    const char *group = t->agent_group ? t->agent_group : q ? q->group : NULL;
    return !group || (a->groups && g_strv_contains((const char *const *)a->groups, group));
}

const tg_agent *tg_config_agent(const tg_config *cfg, const char *id)
{
    for (guint i = 0; id && i < cfg->agents->len; i++) {
        const tg_agent *a = g_ptr_array_index(cfg->agents, i);
        if (strcmp(a->id, id) == 0)
            return a;
    }
    return NULL;
}

const tg_agent *tg_config_agent_by_login(const tg_config *cfg, const char *login)
{
    for (guint i = 0; login && *login && i < cfg->agents->len; i++) {
        const tg_agent *a = g_ptr_array_index(cfg->agents, i);
        if (g_ascii_strcasecmp(a->id, login) == 0 ||
            (a->email && g_ascii_strcasecmp(a->email, login) == 0))
            return a;
        for (char **l = a->logins; l && *l; l++)
            if (g_ascii_strcasecmp(*l, login) == 0)
                return a;
    }
    return NULL;
}

const tg_sla_policy *tg_config_policy(const tg_config *cfg, const char *name)
{
    for (guint i = 0; name && i < cfg->policies->len; i++)
        if (strcmp(tg_sla_policy_name(g_ptr_array_index(cfg->policies, i)), name) == 0)
            return g_ptr_array_index(cfg->policies, i);
    return NULL;
}

int tg_config_is_internal(const tg_config *cfg, const char *address)
{
    const char *domain = tg_address_domain(address);
    for (char **d = cfg->internal_domains; *domain && d && *d; d++)
        if (g_ascii_strcasecmp(*d, domain) == 0)
            return 1;
    return 0;
}

const char *tg_config_template(const tg_config *cfg, const char *name, const char *lang,
                               const char **subject, const char **body)
{
    const tg_template *best = NULL;
    for (guint i = 0; i < cfg->templates->len; i++) {
        const tg_template *t = g_ptr_array_index(cfg->templates, i);
        if (strcmp(t->name, name) != 0)
            continue;
        if (lang && strcmp(t->lang, lang) == 0) {
            best = t;
            break;
        }
        if (!best || strcmp(t->lang, "en") == 0)
            best = t;
    }
    *subject = best ? best->subject : "";
    *body = best ? best->body : "";
    return best ? best->lang : "en";
}
