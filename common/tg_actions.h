/* tg_actions.h - what an agent does to a ticket besides answering it: take, resolve, close,
 * reopen, release; and what a supervisor does: assign.
 * Each action is one store transaction with its event. The chat component and ticketgatectl
 * call these, so the rules ("not yours", "already closed") are said in one place. */
#ifndef TG_ACTIONS_H
#define TG_ACTIONS_H

#include <stdint.h>

#include "tg_config.h"
#include "tg_err.h"
#include "tg_intake.h"
#include "tg_store.h"

typedef enum {
    TG_ACT_TAKE,
    TG_ACT_RESOLVE,
    TG_ACT_CLOSE,
    TG_ACT_REOPEN,
    TG_ACT_RELEASE, /* give one's ticket back to nobody, for the group to take */
} tg_action;

/* tg_ref_typed - the ticket reference in what a person typed, upper case: "sup-42", and also
 * "[SUP-42]" as in a mail subject, "#SUP-42", "SUP-42:" or "SUP-42," as in a sentence. Every
 * function here that takes a ref reads it so. Caller g_free()s. */
char *tg_ref_typed(const char *typed);

/* What the functions taking a lang say to the agent (refusals in err, outcomes in *done) is in
 * that language: "ru" or English (NULL: English; the chat component passes the agent's). */

/* tg_agent_left - why the agent with that id no longer works on tickets, in lang: "not active",
 * "not in the configuration"; NULL when it is an active agent of cfg. */
const char *tg_agent_left(const tg_config *cfg, const char *id, const char *lang);

/* tg_ticket_for_agent - ticket ref for agent, who may act on it when it is theirs or nobody's,
 * and, when take_over (take, show), also when its agent left (is not active, or not in cfg any
 * more): 0 with *t, TG_ENOTFOUND, TG_EPERM (another agent's; for one who left err says to take
 * it first), or a store error; err says which. */
int tg_ticket_for_agent(const tg_config *cfg, tg_store *st, const char *ref, const tg_agent *agent,
                        const char *lang, int take_over, tg_ticket *t, tg_err *err);

/* tg_ticket_act - apply action to ticket ref for agent at now; *done describes the outcome
 * ("SUP-12 is now resolved"; caller g_free()s). Errors as tg_ticket_for_agent, and TG_EINVAL
 * for a closed ticket, which only TG_ACT_REOPEN takes: it makes a resolved or closed ticket
 * open again (a customer's next message joins it, as before it was resolved). TG_ACT_TAKE also
 * takes the ticket of an agent who left, so that colleagues need no supervisor for it. */
int tg_ticket_act(const tg_config *cfg, tg_store *st, const char *ref, const tg_agent *agent,
                  const char *lang, tg_action action, int64_t now, char **done, tg_err *err);

/* tg_ticket_assign - a supervisor gives ticket ref to agent, or to nobody (agent NULL), whoever
 * had it: the event says by whom (e.g. "ticketgatectl") and who had it, and the agent is told
 * by chat as for a new ticket. *done describes the outcome (caller g_free()s). TG_ENOTFOUND,
 * TG_EINVAL for a closed ticket or an inactive agent, or a store error. */
int tg_ticket_assign(const tg_config *cfg, tg_store *st, const char *ref, const tg_agent *agent,
                     const char *by, int64_t now, char **done, tg_err *err);

/* tg_agent_reply - agent answers ticket ref with text, entered through intake as the agent's
 * message (kept on the ticket, first response set once, status pending, relayed to the
 * customer on the ticket's channel). channel says where the answer came from ("xmpp", "ctl");
 * msg_id (unique for that channel, or NULL) makes a repeated command harmless. On success
 * *dec is filled (kind TG_INTAKE_AGENT_REPLY, or DUPLICATE); caller clears it. */
int tg_agent_reply(const tg_config *cfg, tg_store *st, const tg_agent *agent, const char *lang,
                   const char *channel, const char *ref, const char *text, const char *msg_id,
                   int64_t now, tg_decision *dec, tg_err *err);

/* tg_agent_open_tickets - the agent's unresolved tickets, overdue first, then by due time.
 * Caller frees with g_ptr_array_unref (elements are tg_ticket *, cleared and freed). */
GPtrArray *tg_agent_open_tickets(tg_store *st, const tg_agent *agent, int64_t now, tg_err *err);
/* tg_agent_unassigned_tickets - the unresolved tickets nobody has, or an agent who left has (see
 * tg_ticket_for_agent), of the groups agent is in (see tg_config_agent_serves), in the same
 * order: what the agent may take. */
GPtrArray *tg_agent_unassigned_tickets(const tg_config *cfg, tg_store *st, const tg_agent *agent,
                                       int64_t now, tg_err *err);

/* tg_agents_left_behind - for each agent who has tickets not resolved or closed but is not
 * active (active = false) or no longer in the configuration, a line added to said (g_free'd
 * strings) on what to do about them: "3 open tickets of bob, who is not active: ticketgatectl
 * assign --from bob AGENT (or -) gives them to others". Nobody works on such tickets and no
 * colleague may take them (another agent's). TG_OK or a store error. */
int tg_agents_left_behind(const tg_config *cfg, tg_store *st, GPtrArray *said, tg_err *err);
/* tg_agents_left_behind_log - the same as warnings in the log, for the daemons' start and
 * reload (where a sysadmin who just set active = false looks). */
void tg_agents_left_behind_log(const tg_config *cfg, tg_store *st);

#endif
