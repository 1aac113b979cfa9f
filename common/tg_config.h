/* tg_config.h - the configuration snapshot: one INI file (GKeyFile) plus the rule file it names.
 * A snapshot is read-only once loaded and refcounted, so a reload can build a new one and swap
 * it in while work in progress keeps the one it started with. Threads share snapshots. */
#ifndef TG_CONFIG_H
#define TG_CONFIG_H

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

#include "tg_calendar.h"
#include "tg_err.h"
#include "tg_rules.h"
#include "tg_sla.h"
#include "tg_store.h"

typedef struct tg_queue {
    char *name;
    char **addresses; /* support e-mail addresses, lower case */
    char **xmpp;      /* local parts of the component's JIDs */
    char *prefix;     /* ticket reference prefix: SUP -> SUP-1042 */
    char *group;      /* agent group for assignment, or NULL */
    char *sla;        /* SLA policy name */
    char *from_name;  /* display name of replies */
    const tg_sla_policy *policy;
} tg_queue;

typedef struct tg_agent {
    char *id; /* the section name: [agent ID] */
    char *name, *email, *jid;
    char *lang;    /* of the notices the agent gets: en or ru */
    char **logins; /* SMTP AUTH logins besides the id and the e-mail address */
    char **groups;
    int64_t max_open;
    int active;
} tg_agent;

typedef struct tg_template {
    char *name, *lang, *subject, *body;
} tg_template;

typedef struct tg_config {
    gint refs;
    char *path;
    /* [general] */
    char *company;
    char **internal_domains;
    char *default_queue;
    char *timezone;
    int64_t escalate_every; /* seconds between looks for overdue tickets; 0: never */
    /* [store] */
    char *store_path;
    int64_t busy_timeout;
    char *synchronous;
    /* [rules] */
    char *rules_file;
    /* [limits] */
    int64_t max_message_size, max_text_size, max_headers;
    int64_t autoreply_limit, autoreply_window;
    int64_t regex_match_limit, regex_depth_limit;
    /* [mail] */
    char **fallback_charsets;
    /* [milter] */
    char *milter_socket, *milter_socket_group, *milter_user, *milter_pidfile;
    int64_t milter_socket_mode;
    char *on_store_error; /* "tempfail" or "accept" */
    char *subject_tag;    /* "start", "end" or "off" */
    int64_t read_limit;   /* bytes of a message kept for intake */
    /* [mailer] */
    char *mailer_command;
    int64_t mailer_timeout, mailer_max_attempts, mailer_retry_delay, mailer_retry_max_delay;
    int64_t mailer_poll_interval;
    /* [xmpp] */
    char *xmpp_server, *xmpp_domain, *xmpp_secret, *xmpp_secret_file, *xmpp_user, *xmpp_pidfile;
    int64_t xmpp_port, xmpp_reconnect_max, xmpp_max_body, xmpp_rate_limit, xmpp_rate_window;
    /* [report] */
    int64_t report_goal_email, report_goal_xmpp; /* percent of first responses in time */

    GPtrArray *queues, *agents, *calendars, *policies, *templates;
    tg_rules *rules;
    /* "file:line: ..." for what loads but is likely a mistake (a group nobody is in): shown by
     * check-config and logged by the daemons when they load the file, never refused */
    GPtrArray *warnings;
} tg_config;

/* tg_config_load - read path and the rule file it names; NULL with err ("file:line: ..."). */
tg_config *tg_config_load(const char *path, tg_err *err);

/* tg_config_log_warnings - each of cfg->warnings as a warning in the daemon's log. */
void tg_config_log_warnings(const tg_config *cfg);
tg_config *tg_config_ref(tg_config *cfg);
void tg_config_unref(tg_config *cfg); /* NULL-safe; frees on the last reference */

/* The directive table, for `ticketgatectl directives` and the man-page test. */
typedef struct tg_directive_info {
    const char *section, *key, *type, *def, *choices;
    int64_t min, max;
    int bounded;
} tg_directive_info;
size_t tg_config_directive_count(void);
void tg_config_directive_info(size_t i, tg_directive_info *out);

/* tg_config_open_store - a connection to the [store] of cfg, with its settings: the one way
 * every program opens the store. NULL with err (TG_ETEMP: try again later). */
tg_store *tg_config_open_store(const tg_config *cfg, tg_err *err);
/* tg_config_open_store_read_only - the same for looking only (ticketgatectl list, show,
 * report): needs read permission only, and never makes a store where none exists. */
tg_store *tg_config_open_store_read_only(const tg_config *cfg, tg_err *err);

const tg_queue *tg_config_queue(const tg_config *cfg, const char *name);
/* tg_config_queue_for - the queue whose address (email) or local part (xmpp) is address;
 * NULL when none. Case-insensitive; a +detail in the local part is ignored. */
const tg_queue *tg_config_queue_for(const tg_config *cfg, const char *channel, const char *address);
const tg_queue *tg_config_default_queue(const tg_config *cfg);
/* tg_config_queue_address - the address mail of the queue goes out from: its first; NULL when
 * it has none. */
const char *tg_config_queue_address(const tg_queue *q);
/* tg_config_queue_jid - the queue's chat address: first xmpp local part @ [xmpp] domain, or
 * the bare domain; NULL when [xmpp] domain is not set. Caller g_free()s. */
char *tg_config_queue_jid(const tg_config *cfg, const tg_queue *q);
/* tg_config_is_support_address - address is one of our own queue addresses. */
int tg_config_is_support_address(const tg_config *cfg, const char *address);
/* tg_config_agent_for - the agent with this e-mail address or (bare) JID, or NULL. */
const tg_agent *tg_config_agent_for(const tg_config *cfg, const char *address);
const tg_agent *tg_config_agent(const tg_config *cfg, const char *id);
/* tg_config_agent_serves - whether agent a is in the group ticket t was routed to (a rule's,
 * else its queue's; tickets older than schema 5 have none stored); every agent is, for a ticket
 * of no group. */
int tg_config_agent_serves(const tg_config *cfg, const tg_agent *a, const tg_ticket *t);
/* tg_config_agent_by_login - the agent an SMTP AUTH login ({auth_authen}) belongs to: its id, its
 * e-mail address or one of its logins, compared without regard to case; or NULL. */
const tg_agent *tg_config_agent_by_login(const tg_config *cfg, const char *login);
const tg_sla_policy *tg_config_policy(const tg_config *cfg, const char *name);
int tg_config_is_internal(const tg_config *cfg, const char *address);
/* tg_config_template - subject and body of template name in lang (falls back to en). Returns
 * the language of the text found, for the reply's own language tag. */
const char *tg_config_template(const tg_config *cfg, const char *name, const char *lang,
                               const char **subject, const char **body);

#endif
