/* tg_inbound.h - the normalized message both channels hand to intake.
 * Every string is valid UTF-8 (invalid input bytes became U+FFFD) and owned by the
 * tg_inbound; tg_inbound_free releases all of it. */
#ifndef TG_INBOUND_H
#define TG_INBOUND_H

#include <stddef.h>
#include <stdint.h>

typedef struct tg_header {
    char *name;
    char *value; /* decoded, unfolded */
} tg_header;

typedef struct tg_inbound {
    char *channel;          /* "email" or "xmpp" */
    char *recipient;        /* the address or JID that selects the queue; NULL: default queue */
    char **recipients;      /* every To/Cc address (NULL-terminated), for thread entitlement */
    char *sender;           /* whom we answer: the Reply-To (when it differs from From) or From
                             * address, or the bare JID; lower-cased domain; "" if unusable */
    char *author;           /* email with such a Reply-To: the From address ("" if unusable),
                             * by which agents and our own addresses are known; else NULL */
    char *reply_address;    /* where the auto-reply goes when not to sender: the full JID that
                             * wrote (RFC 6121 5.1: answer the resource in the conversation) */
    char *sender_name;      /* display name or NULL */
    char *envelope_sender;  /* SMTP MAIL FROM: NULL unknown, "" the null sender */
    char *subject;          /* never NULL */
    char *text;             /* plain text body, never NULL */
    int text_truncated;     /* text was cut at the configured limit */
    size_t original_size;   /* bytes of the message as received */
    int read_cut;           /* only the first part of the message was read (channel limit) */
    char **attachments;     /* "name (type, size)" of each attachment (NULL-terminated), or NULL */
    char *attachments_mime; /* the attached files as one MIME entity, or NULL: an agent's are
                             * relayed with the answer */
    char *message_id;       /* without <>; synthesized from the content when absent */
    int message_id_synthetic;
    char *in_reply_to;    /* without <> or NULL */
    char **references;    /* NULL-terminated, without <>, or NULL */
    char *subject_tag;    /* "SUP-1042" from "[SUP-1042]" in the subject, or NULL */
    char *thread_id;      /* XMPP <thread> or NULL */
    char *stanza_type;    /* XMPP message type ("chat", "normal") or NULL */
    char *lang;           /* "ru", "en", ... */
    int machine;          /* machine-generated: never auto-reply */
    char *machine_reason; /* why, or NULL */
    char *auth_user;      /* authenticated submitter (milter {auth_authen}) or NULL */
    tg_header *headers;   /* decoded header fields, in order, for rules */
    size_t n_headers;
} tg_inbound;

/* tg_inbound_new - an empty inbound for channel; caller frees with tg_inbound_free.
 * subject, text, sender and lang start as "", "", "" and "en": replace them with
 * tg_inbound_take, not by assignment. */
tg_inbound *tg_inbound_new(const char *channel);
/* tg_inbound_take - *field = value (taking ownership of value), freeing the old value. */
void tg_inbound_take(char **field, char *value);
void tg_inbound_free(tg_inbound *in); /* NULL-safe */

/* tg_inbound_header - first header called name (case-insensitive), or NULL. Borrowed. */
const char *tg_inbound_header(const tg_inbound *in, const char *name);

/* tg_guess_lang - "ru" when the text is mostly Cyrillic letters, else "en". Static string. */
const char *tg_guess_lang(const char *utf8);
/* tg_language_of_tag - the primary language subtag of an RFC 5646 tag such as XMPP's xml:lang,
 * in lower case ("ru-RU", "ru_RU" -> "ru"); NULL when tag starts otherwise (a server passes any
 * text on). Caller g_free()s. */
char *tg_language_of_tag(const char *tag);

/* tg_find_subject_tag - the first "[PREFIX-123]" in subject; caller g_free()s; NULL if none. */
char *tg_find_subject_tag(const char *subject);
/* tg_subject_without_reply_prefixes - subject after its leading reply and forward prefixes
 * ("Re:", "RE[2]:", "Fwd:", "AW:", "Отв:", "Пересл:", ...) and the blanks after them: a
 * ticket's subject, which our replies prefix again. Points into subject. */
const char *tg_subject_without_reply_prefixes(const char *subject);

/* tg_one_line - s in place as one line: controls (line breaks too) as spaces, no blanks at its
 * ends. Returns s. */
char *tg_one_line(char *s);

/* tg_address_domain - the part after the last '@', or "" (borrowed). */
const char *tg_address_domain(const char *address);

/* tg_address_lower - address (UTF-8) in lower case, as addresses and JIDs are compared; NULL
 * for NULL. Caller g_free()s. */
char *tg_address_lower(const char *address);

#endif
