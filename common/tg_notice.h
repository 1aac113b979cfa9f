/* tg_notice.h - notices to agents: a ticket assigned to them, an overdue ticket, several
 * overdue tickets at once. An agent is told by chat when they have a JID and the site runs the
 * XMPP component, else (where the caller allows it) by mail from a queue's address, sent by
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

/* tg_notice_about - a notice about t (reference, priority, due time, subject, the first lines
 * of text) to agent a, the way tg_notice_reachable says: by chat from template KIND, by mail
 * from template KIND_mail. *told_by (if not NULL) is "chat", "mail", or NULL when a cannot be
 * told. */
int tg_notice_about(const tg_config *cfg, tg_store *st, const tg_ticket *t, const tg_agent *a,
                    const char *kind, const char *text, int by_mail, int64_t now,
                    const char **told_by, tg_err *err);

/* tg_notice_digest - ONE notice to agent a listing n overdue tickets (one line each: reference,
 * due time, priority, subject), from template escalation_digest (chat) or
 * escalation_digest_mail; chat or mail as tg_notice_reachable says for the first ticket. The
 * caller bounds n. The row belongs to no ticket. */
int tg_notice_digest(const tg_config *cfg, tg_store *st, const tg_agent *a,
                     const tg_ticket *const *tickets, size_t n, int64_t now, const char **told_by,
                     tg_err *err);

/* tg_notice_assignee - tg_notice_about with the "notify" template to the ticket's assignee, if
 * any, by chat only (a mail per new ticket would double the mail an agent gets). */
int tg_notice_assignee(const tg_config *cfg, tg_store *st, const tg_ticket *t, const char *text,
                       int64_t now, tg_err *err);

#endif
