/* main.c - ticketgatectl: dispatch to the commands; common options and exit statuses. */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "ctl.h"
#include "tg_log.h"

#define DEFAULT_CONFIG SYSCONFDIR "/ticketgate/ticketgate.conf"

static void usage(FILE *to)
{
    fprintf(to,
            "usage: ticketgatectl [-c FILE] COMMAND [ARGS]\n"
            "\n"
            "commands:\n"
            "  ingest [--channel email] [--rcpt ADDR] [--sender ADDR] [--jobs N] [--json] "
            "FILE...|-\n"
            "                 run the full intake on each mail and print the decision\n"
            "  list [--status S[,S...]] [--queue Q] [--assignee A] [--overdue] [--limit N] "
            "[--json]\n"
            "                 tickets, oldest first; --limit N: the newest N\n"
            "  show [--json] REF     a ticket with its messages, events and replies\n"
            "  explain [--rcpt ADDR] [--sender ADDR] [--json] FILE\n"
            "                 what intake would do with a mail, writing nothing\n"
            "  reply --agent ID REF TEXT...|-\n"
            "                 answer the customer (relayed by e-mail or chat, as they wrote)\n"
            "  take|resolve|close|reopen|release --agent ID REF\n"
            "                 assign a ticket to yourself, resolve, close, reopen it or give it\n"
            "                 back to nobody\n"
            "  assign REF AGENT|-, or assign --from ID AGENT|-\n"
            "                 give a ticket, or every open ticket of agent ID, to an agent (who\n"
            "                 is told by chat), or to nobody\n"
            "  report [--from DATE] [--to DATE] [--queue Q] [--resolution] [--json]\n"
            "                 service levels: first responses (or resolutions) due in the period,\n"
            "                 in time or late\n"
            "  status [--max-wait DURATION] [--json]\n"
            "                 store, tickets and replies to send; exit 1 when something needs a\n"
            "                 person (a reply given up, or waiting longer than 10 minutes, open\n"
            "                 tickets of an agent who left)\n"
            "  backup FILE|DIRECTORY\n"
            "                 a checked copy of the store, taken while the daemons run\n"
            "  restore FILE   replace the store's tickets with a backup's (the daemons stopped)\n"
            "  purge --older-than DAYS [--dry-run]\n"
            "                 delete resolved and closed tickets unchanged for DAYS days\n"
            "  check-config   validate the configuration and the rules\n"
            "  directives     every configuration directive with its default and bounds\n"
            "\n"
            "-c FILE defaults to %s\n",
            DEFAULT_CONFIG);
}

int ctl_exit_for(int rc)
{
    switch (rc) {
    case TG_OK:
        return EX_OK;
    case TG_ETEMP:
        return EX_TEMPFAIL;
    case TG_EINVAL:
        return EX_DATAERR;
    case TG_ENOTFOUND:
        return EX_NOINPUT;
    case TG_EPERM:
        return EX_NOPERM;
    default:
        return EX_SOFTWARE;
    }
}

static tg_store *opened(tg_store *st, const tg_err *err, int *status)
{
    if (!st) {
        fprintf(stderr, "ticketgatectl: %s\n", err->msg);
        *status = ctl_exit_for(err->code);
    }
    return st;
}

tg_store *ctl_open_store(const tg_config *cfg, int *status)
{
    tg_err err = {0};
    return opened(tg_config_open_store(cfg, &err), &err, status);
}

tg_store *ctl_open_view(const tg_config *cfg, int *status)
{
    tg_err err = {0};
    return opened(tg_config_open_store_read_only(cfg, &err), &err, status);
}

int ctl_parse_options(const char *command, const char *operands, GOptionEntry *entries, int *argc,
                      char ***argv)
{
    GOptionContext *ctx = g_option_context_new(operands);
    GError *gerr = NULL;
    g_option_context_add_main_entries(ctx, entries, NULL);
    int ok = g_option_context_parse(ctx, argc, argv, &gerr);
    if (!ok) {
        ctl_usage_error(command, gerr->message);
        g_error_free(gerr);
    }
    g_option_context_free(ctx);
    return ok;
}

int ctl_usage_error(const char *command, const char *message)
{
    fprintf(stderr, "ticketgatectl %s: %s\n", command, message);
    return EX_USAGE;
}

/* The zone people read times in: [general] timezone, as the customers' due times and the
 * report are written (the JSON outputs stay in UTC). */
static GTimeZone *shown_zone;

static void show_times_in(const char *timezone)
{
    if (shown_zone)
        g_time_zone_unref(shown_zone);
    shown_zone = timezone ? g_time_zone_new_identifier(timezone) : NULL;
}

char *ctl_time(int64_t t)
{
    if (t <= 0)
        return g_strdup("-");
    GDateTime *utc = g_date_time_new_from_unix_utc(t);
    GDateTime *dt = shown_zone ? g_date_time_to_timezone(utc, shown_zone) : g_date_time_ref(utc);
    char *s = g_date_time_format(dt, "%Y-%m-%d %H:%M %Z");
    g_date_time_unref(dt);
    g_date_time_unref(utc);
    return s;
}

/* asks_help - a command's arguments (argv[0] the command) ask for its help (GOption's -h,
 * --help, -?), before any "--". */
static int asks_help(int argc, char **argv)
{
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0 ||
            strcmp(argv[i], "-?") == 0)
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    const char *config_path = DEFAULT_CONFIG;
    int i = 1;

    tg_log_open("ticketgatectl", 1, TG_LOG_WARN);
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
            config_path = argv[++i];
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return EX_OK;
        } else if (strcmp(argv[i], "-V") == 0 || strcmp(argv[i], "--version") == 0) {
            printf("ticketgatectl %s\n", PACKAGE_VERSION);
            return EX_OK;
        } else {
            usage(stderr);
            return EX_USAGE;
        }
    }
    if (i >= argc) {
        usage(stderr);
        return EX_USAGE;
    }
    const char *command = argv[i];
    static const struct {
        const char *name;
        int (*run)(tg_config *, int, char **);
    } commands[] = {
        {"ingest", cmd_ingest},
        {"list", cmd_list},
        {"show", cmd_show},
        {"explain", cmd_explain},
        {"reply", cmd_reply},
        {"take", cmd_take},
        {"resolve", cmd_resolve},
        {"close", cmd_close},
        {"reopen", cmd_reopen},
        {"release", cmd_release},
        {"assign", cmd_assign},
        {"report", cmd_report},
        {"backup", cmd_backup},
        {"restore", cmd_restore},
        {"purge", cmd_purge},
        {"status", cmd_status},
        {"directives", cmd_directives},
    };

    /* Help on a command and the list of directives need no configuration: they are what one
     * reads before writing it. */
    tg_config *cfg = NULL;
    if (!asks_help(argc - i, argv + i) && strcmp(command, "directives") != 0) {
        tg_err err = {0};
        if (!(cfg = tg_config_load(config_path, &err))) {
            fprintf(stderr, "ticketgatectl: %s\n", err.msg);
            return EX_CONFIG;
        }
        show_times_in(cfg->timezone);
    }
    int status = EX_USAGE;
    if (strcmp(command, "check-config") == 0 && !cfg) {
        printf("Usage:\n  check-config\n\nValidate the configuration and the rules.\n");
        status = EX_OK;
    } else if (strcmp(command, "check-config") == 0) {
        tg_config_log_warnings(cfg); /* on stderr: "ticketgatectl: warning: ..." */
        printf("%s: ok: %u queue(s), %u agent(s), %zu rule(s) from %s\n", config_path,
               cfg->queues->len, cfg->agents->len, tg_rules_count(cfg->rules),
               tg_rules_path(cfg->rules));
        status = EX_OK;
    } else {
        size_t k;
        for (k = 0; k < G_N_ELEMENTS(commands); k++)
            if (strcmp(command, commands[k].name) == 0)
                break;
        if (k < G_N_ELEMENTS(commands))
            status = commands[k].run(cfg, argc - i, argv + i);
        else {
            fprintf(stderr, "ticketgatectl: unknown command \"%s\"\n", command);
            usage(stderr);
        }
    }
    if (cfg)
        tg_config_unref(cfg);
    show_times_in(NULL);
    return status;
}
