/* cmd_agent.c - ticketgatectl reply/take/resolve/close/reopen/release: what an agent does from a
 * shell, with the same rules as from a chat client (common/tg_actions). --agent names the agent
 * (the section name of [agent ID]). And assign: a supervisor gives a ticket, or every open ticket
 * of an agent, to an agent or to nobody. */
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "tg_actions.h"

/* agent_option - the --agent ID, checked against the configuration; NULL after an error. */
static const tg_agent *agent_option(tg_config *cfg, const char *command, const char *id)
{
    const tg_agent *a = id ? tg_config_agent(cfg, id) : NULL;
    if (!id)
        ctl_usage_error(command, "--agent ID is required");
    else if (!a)
        fprintf(stderr, "ticketgatectl %s: no [agent %s] in the configuration\n", command, id);
    return a;
}

/* read_text - the reply text from the operands, or from stdin for "-". */
static char *read_text(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[2], "-") == 0) {
        GString *text = g_string_new(NULL);
        char buf[4096];
        size_t n;
        while ((n = fread(buf, 1, sizeof buf, stdin)) > 0)
            g_string_append_len(text, buf, (gssize)n);
        return g_string_free(text, FALSE);
    }
    return g_strjoinv(" ", argv + 2);
}

int cmd_reply(tg_config *cfg, int argc, char **argv)
{
    char *agent_id = NULL;
    GOptionEntry entries[] = {
        {"agent", 0, 0, G_OPTION_ARG_STRING, &agent_id, "the agent who answers", "ID"}, {NULL}};
    int status = EX_USAGE;
    if (!ctl_parse_options("reply", "REF TEXT...|-", entries, &argc, &argv))
        goto out;
    const tg_agent *agent = agent_option(cfg, "reply", agent_id);
    if (!agent)
        goto out;
    if (argc < 3) {
        ctl_usage_error("reply", "usage: reply --agent ID REF TEXT...|-");
        goto out;
    }
    tg_store *st = ctl_open_store(cfg, &status);
    if (!st)
        goto out;
    char *text = read_text(argc, argv);
    tg_decision d;
    tg_err err = {0};
    int rc = tg_agent_reply(cfg, st, agent, NULL, "ctl", argv[1], text, NULL,
                            g_get_real_time() / G_USEC_PER_SEC, &d, &err);
    if (rc == TG_OK) {
        printf("%s: reply queued to the customer; status %s\n", d.ref, d.status);
        tg_decision_clear(&d);
    } else {
        fprintf(stderr, "ticketgatectl reply: %s\n", err.msg);
    }
    status = ctl_exit_for(rc);
    g_free(text);
    tg_store_close(st);
out:
    g_free(agent_id);
    return status;
}

static int act(tg_config *cfg, const char *command, tg_action action, int argc, char **argv)
{
    char *agent_id = NULL;
    GOptionEntry entries[] = {
        {"agent", 0, 0, G_OPTION_ARG_STRING, &agent_id, "the agent who acts", "ID"}, {NULL}};
    int status = EX_USAGE;
    if (!ctl_parse_options(command, "REF", entries, &argc, &argv))
        goto out;
    const tg_agent *agent = agent_option(cfg, command, agent_id);
    if (!agent)
        goto out;
    if (argc != 2) {
        ctl_usage_error(command, "one ticket reference expected");
        goto out;
    }
    tg_store *st = ctl_open_store(cfg, &status);
    if (!st)
        goto out;
    char *done = NULL;
    tg_err err = {0};
    int rc = tg_ticket_act(cfg, st, argv[1], agent, NULL, action,
                           g_get_real_time() / G_USEC_PER_SEC, &done, &err);
    if (rc == TG_OK)
        printf("%s\n", done);
    else
        fprintf(stderr, "ticketgatectl %s: %s\n", command, err.msg);
    status = ctl_exit_for(rc);
    g_free(done);
    tg_store_close(st);
out:
    g_free(agent_id);
    return status;
}

int cmd_take(tg_config *cfg, int argc, char **argv)
{
    return act(cfg, "take", TG_ACT_TAKE, argc, argv);
}

int cmd_resolve(tg_config *cfg, int argc, char **argv)
{
    return act(cfg, "resolve", TG_ACT_RESOLVE, argc, argv);
}

int cmd_close(tg_config *cfg, int argc, char **argv)
{
    return act(cfg, "close", TG_ACT_CLOSE, argc, argv);
}

int cmd_reopen(tg_config *cfg, int argc, char **argv)
{
    return act(cfg, "reopen", TG_ACT_REOPEN, argc, argv);
}

int cmd_release(tg_config *cfg, int argc, char **argv)
{
    return act(cfg, "release", TG_ACT_RELEASE, argc, argv);
}

static int collect_ref(const tg_ticket *t, void *ud)
{
    g_ptr_array_add(ud, g_strdup(t->ref));
    return 0;
}

/* assign_all - every ticket not resolved or closed that `from` has ("-": nobody) goes to agent
 * (NULL: nobody), each as `assign REF` gives it (its event, the agents told); a line for each. */
static int assign_all(tg_config *cfg, tg_store *st, const char *from, const tg_agent *agent,
                      int64_t now, tg_err *err)
{
    int nobody = strcmp(from, "-") == 0;
    GPtrArray *refs = g_ptr_array_new_with_free_func(g_free);
    int rc = tg_store_list_open_tickets(st, nobody ? NULL : from, collect_ref, refs, err);
    if (rc == TG_OK && refs->len == 0 && nobody)
        printf("every open ticket has an agent\n");
    else if (rc == TG_OK && refs->len == 0)
        printf("%s has no open tickets\n", from);
    for (guint i = 0; rc == TG_OK && i < refs->len; i++) {
        char *done = NULL;
        rc = tg_ticket_assign(cfg, st, refs->pdata[i], agent, "ticketgatectl", now, &done, err);
        if (rc == TG_OK)
            printf("%s\n", done);
        g_free(done);
    }
    g_ptr_array_unref(refs);
    return rc;
}

int cmd_assign(tg_config *cfg, int argc, char **argv)
{
    char *from = NULL;
    GOptionEntry entries[] = {
        {"from", 0, 0, G_OPTION_ARG_STRING, &from,
         "every open ticket of this agent (one who left, say; -: nobody), not one REF", "ID"},
        {NULL}};
    int status = EX_USAGE;
    if (!ctl_parse_options("assign", "REF AGENT|-, or --from ID AGENT|-", entries, &argc, &argv))
        goto out;
    if (argc != (from ? 2 : 3)) {
        status = ctl_usage_error("assign", "usage: assign REF AGENT, or assign --from ID AGENT "
                                           "(AGENT - for nobody)");
        goto out;
    }
    const char *to = argv[argc - 1];
    const tg_agent *agent = NULL;
    if (strcmp(to, "-") != 0 && !(agent = tg_config_agent(cfg, to))) {
        fprintf(stderr, "ticketgatectl assign: no [agent %s] in the configuration\n", to);
        status = EX_DATAERR;
        goto out;
    }
    if (from && strcmp(from, agent ? agent->id : "-") == 0) {
        status = ctl_usage_error("assign", "--from and AGENT are the same agent");
        goto out;
    }
    tg_store *st = ctl_open_store(cfg, &status);
    if (!st)
        goto out;
    char *done = NULL;
    tg_err err = {0};
    int64_t now = g_get_real_time() / G_USEC_PER_SEC;
    int rc = from ? assign_all(cfg, st, from, agent, now, &err)
                  : tg_ticket_assign(cfg, st, argv[1], agent, "ticketgatectl", now, &done, &err);
    if (rc == TG_OK && done)
        printf("%s\n", done);
    else if (rc != TG_OK)
        fprintf(stderr, "ticketgatectl assign: %s\n", err.msg);
    g_free(done);
    tg_store_close(st);
    status = ctl_exit_for(rc);
out:
    g_free(from);
    return status;
}
