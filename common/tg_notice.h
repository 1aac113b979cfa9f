/* tg_notice.h - notices to agents: a ticket assigned to them, an overdue ticket, several
 * overdue tickets at once. An agent is told by chat when they have a JID and the site runs the
 * XMPP component, else (for overdue tickets) by mail from a queue's address, sent by
 * ticketgate-milter's mailer; always in the agent's language. The notice is queued in the
 * outbox inside the caller's transaction. */
#ifndef TG_NOTICE_H
#define TG_NOTICE_H

#include <stddef.h>
#include <stdint.h>

#include "tg_config.h"
#include "tg_err.h"
#include "tg_store.h"

/* tg_notice_reachable - how a notice about t reaches agent a: "chat" when a is active, has a
 * JID and the site runs the XMPP component (else the row could never be sent); else "mail"
 * when by_mail, a has an e-mail address and a queue has one to send from; else NULL. */
const char *tg_notice_reachable(const tg_config *cfg, const tg_ticket *t, const tg_agent *a,
                                int by_mail);

/* tg_notice_overdue - tell agent a that the n tickets (n >= 1, bounded by the caller) missed
 * target: about one ticket, from template escalation (first response) or
 * resolution_escalation (resolution), by mail from NAME_mail; about several, ONE notice
 * listing them (one line each: reference, due time, priority, subject) from NAME_digest or
 * NAME_digest_mail, which belongs to no ticket. By chat or mail as tg_notice_reachable says for
 * the first ticket; *told_by is "chat", "mail", or NULL when a cannot be told. */
int tg_notice_overdue(const tg_config *cfg, tg_store *st, const tg_agent *a, tg_sla_target target,
                      const tg_ticket *const *tickets, size_t n, int64_t now, const char **told_by,
                      tg_err *err);

/* tg_notice_assignee - a notice about t from the "notify" template (reference, priority, first
 * response due time, subject, the first lines of text, the names of what was attached, a
 * NULL-terminated list or NULL)
 * to the ticket's assignee, if any, by chat only (a mail per new ticket would double the mail
 * an agent gets). */
int tg_notice_assignee(const tg_config *cfg, tg_store *st, const tg_ticket *t, const char *text,
                       char *const *attachments, int64_t now, tg_err *err);

/* tg_notice_followup - a notice from the "followup" template to t's assignee, if any, by chat
 * only, that the thread wrote again: who (the requester, or whoever wrote), the first lines of
 * text and the names of what was attached (a NULL-terminated list, or NULL). */
int tg_notice_followup(const tg_config *cfg, tg_store *st, const tg_ticket *t, const char *who,
                       const char *text, char *const *attachments, int64_t now, tg_err *err);

/* tg_notice_taken_off - tell agent a, by chat only (template taken_off), that t is no longer
 * theirs: given to t->assignee, or to nobody when that is NULL. */
int tg_notice_taken_off(const tg_config *cfg, tg_store *st, const tg_ticket *t, const tg_agent *a,
                        int64_t now, tg_err *err);

/* tg_notice_closed_answer - tell agent a, by chat or else by mail (templates closed_answer and
 * closed_answer_mail), that their mail on the closed ticket t was kept on it but not sent to
 * the customer. *told_by as for tg_notice_overdue. */
int tg_notice_closed_answer(const tg_config *cfg, tg_store *st, const tg_ticket *t,
                            const tg_agent *a, int64_t now, const char **told_by, tg_err *err);

/* Why the files of an agent's answer by mail did not go to the customer with it. */
typedef enum {
    TG_FILES_BY_CHAT, /* the ticket is a chat */
    TG_FILES_CUT,     /* only the first part of the mail was read ([milter] read_limit) */
} tg_files_kept_back;

/* tg_notice_files_not_sent - tell agent a, by chat or else by mail (templates files_not_sent
 * and files_not_sent_mail), that their answer on t was relayed without its attachments (their
 * names) and why. *told_by as for tg_notice_overdue. */
int tg_notice_files_not_sent(const tg_config *cfg, tg_store *st, const tg_ticket *t,
                             const tg_agent *a, char *const *attachments, tg_files_kept_back why,
                             int64_t now, const char **told_by, tg_err *err);

#endif
