/* protocol.h - what ticketgate-milter asks of the MTA at negotiation. Shared with the
 * do-nothing milter in bench/ so that the benchmark compares like with like. */
#ifndef TG_MILTER_PROTOCOL_H
#define TG_MILTER_PROTOCOL_H

#include <mfapi.h>

/* Actions: header changes only (the subject tag, X-Ticket-* headers). */
#define TG_MILTER_ACTIONS (SMFIF_ADDHDRS | SMFIF_CHGHDRS)

/* Steps we never want: connect, HELO, unknown commands and end-of-headers. */
#define TG_MILTER_SKIP_STEPS (SMFIP_NOCONNECT | SMFIP_NOHELO | SMFIP_NOUNKNOWN | SMFIP_NOEOH)

/* Steps we see but never answer early, so the MTA need not wait for a reply. DATA is answered:
 * that is where mail without a support recipient is accepted before its content is sent. */
#define TG_MILTER_NO_REPLY (SMFIP_NR_MAIL | SMFIP_NR_RCPT | SMFIP_NR_HDR | SMFIP_NR_BODY)

/* tg_milter_negotiate - the protocol flags to ask for out of those the MTA offers. */
static inline unsigned long tg_milter_negotiate(unsigned long offered)
{
    return offered & (TG_MILTER_SKIP_STEPS | TG_MILTER_NO_REPLY);
}

#endif
