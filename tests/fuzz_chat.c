/* fuzz_chat.c - hostile chat through ticketgate-xmpp's own code. Random stanzas, each as a
 * server would pass it on (only what an XML parser takes, parsed back by libstrophe):
 * - messages from customers and agents (odd types, addresses, thread ids, language tags, ids,
 *   bodies with controls, noncharacters, broken UTF-8, agent commands with odd references and
 *   huge texts) go to the message handler, intake runs on a real store holding the mail
 *   corpus's tickets too, and the outbox is sent;
 * - iq and presence stanzas of every type, with odd payloads, go to their handlers, and each
 *   must get exactly the answers it is due (one per get or set iq, with its id; none to a result
 *   or an error).
 * The component is not connected to a server: what it would write is collected as it is in the
 * daemon, and it must be XML a server accepts (expat, through libstrophe's parser: one bad
 * character and Prosody closes the stream), every stanza from us and to someone, and every
 * ticket whole. FUZZ_ITERATIONS (default 2000) and FUZZ_SEED reproduce a run; a failure prints
 * them and keeps the stanza in fuzz-chat-failure-N.xml. Run natively and under valgrind by
 * fuzz_chat.sh. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "tg_intake.h"
#include "tg_log.h"
#include "tg_mail.h"
#include "xmpp.h"

#define DOMAIN  "support.localhost"
#define SUPPORT "support@" DOMAIN

static GRand *rng;
static unsigned long iteration;
static int failures;
static char *last_stanza; /* the stanza of this iteration, as text */

static const char *const phrases[] = {"Не печатает принтер",
                                      "The printer is jammed",
                                      "HP LaserJet 1020 не печатает",
                                      "help",
                                      "list",
                                      "Здравствуйте!\nПодскажите, пожалуйста",
                                      "=?utf-8?B?0J/RgNC40LLQtdGC?=",
                                      "<b>&amp;</b>",
                                      "\x0c\x01\x1b[31m",
                                      "\xef\xbf\xbe\xef\xbf\xbf",
                                      "\xff\xfe\xd0",
                                      "\xf0\x9f\x98\x80",
                                      "\r\n\r\n",
                                      "SUP-1",
                                      "[SUP-2]",
                                      "SUP-99999999999999999999",
                                      "sup-3",
                                      "  ",
                                      "\t",
                                      "]]>",
                                      "\"'"};
static const char *const commands[] = {"help",  "list",    "unassigned", "show",   "take",
                                       "reply", "resolve", "close",      "reopen", "release",
                                       "REPLY", " show ",  "reply  "};

static const char *const tos[] = {
    SUPPORT, SUPPORT, DOMAIN, "nosuch@" DOMAIN, "SUPPORT@Support.Localhost/res", ""};

static const char *pick(const char *const *list, size_t n)
{
    return list[g_rand_int_range(rng, 0, (gint32)n)];
}
#define PICK(list) pick(list, G_N_ELEMENTS(list))

/* random_text - a mix of phrases, random bytes, and now and then a very long run. */
static char *random_text(int max_parts)
{
    GString *s = g_string_new(NULL);
    for (int n = g_rand_int_range(rng, 0, max_parts + 1); n > 0; n--) {
        switch (g_rand_int_range(rng, 0, 6)) {
        case 0:
            for (int i = g_rand_int_range(rng, 1, 12); i > 0; i--)
                g_string_append_c(s, (char)g_rand_int_range(rng, 1, 256));
            break;
        case 1:
            if (g_rand_int_range(rng, 0, 20) == 0) { /* past max_body, sometimes far past */
                int len = g_rand_int_range(rng, 1, 300000);
                for (int i = 0; i < len; i++)
                    g_string_append_c(s, "ab д\n"[i % 5]);
            }
            break;
        default:
            g_string_append(s, PICK(phrases));
            g_string_append_c(s, ' ');
        }
    }
    return g_string_free(s, FALSE);
}

static char *random_ref(void)
{
    switch (g_rand_int_range(rng, 0, 6)) {
    case 0:
        return g_strdup(PICK(phrases));
    case 1:
        return g_strdup_printf("SUP-%d", g_rand_int_range(rng, -5, 1000000));
    default: /* mostly tickets that exist */
        return g_strdup_printf("%s-%d", g_rand_boolean(rng) ? "SUP" : "sup",
                               g_rand_int_range(rng, 1, 40));
    }
}

/* random_from - customers (many, some with odd JIDs) and the agent. */
static char *random_from(void)
{
    static const char *const odd[] = {"",
                                      "@",
                                      "a@b@c",
                                      "Ёлка@Пример.рф/телефон",
                                      "x/",
                                      "UPPER@LOCALHOST/Res",
                                      "ann@localhost",
                                      "ann@localhost/x/y"};
    switch (g_rand_int_range(rng, 0, 8)) {
    case 0:
        return g_strdup(PICK(odd));
    case 1:
    case 2:
        return g_strdup("ann@localhost/phone"); /* the agent */
    case 3:
        return random_text(2);
    default:
        return g_strdup_printf("c%d@localhost/res%d", g_rand_int_range(rng, 0, 30),
                               g_rand_int_range(rng, 0, 3));
    }
}

static char *random_body(int agent)
{
    if (!agent || g_rand_int_range(rng, 0, 4) == 0)
        return random_text(6);
    char *ref = random_ref(), *text = random_text(3);
    char *body = g_strdup_printf("%s %s %s", PICK(commands), ref, text);
    g_free(ref);
    g_free(text);
    return body;
}

/* random_message - one message stanza to the component. */
static xmpp_stanza_t *random_message(xmpp_ctx_t *ctx)
{
    static const char *const types[] = {"chat",  "chat",     "normal", "groupchat",
                                        "error", "headline", "CHAT",   ""};
    static const char *const langs[] = {"ru", "en-GB", "日本語", "", "x-klingon", "de_DE", "r"};
    char *from = random_from();
    int agent = g_str_has_prefix(from, "ann@localhost");
    xmpp_stanza_t *m = xmpp_message_new(ctx, g_rand_int_range(rng, 0, 8) ? PICK(types) : NULL,
                                        g_rand_int_range(rng, 0, 10) ? PICK(tos) : NULL, NULL);
    if (g_rand_int_range(rng, 0, 10))
        xmpp_stanza_set_from(m, from);
    if (g_rand_boolean(rng)) { /* repeated ids: resent messages */
        char *id = g_strdup_printf("id%d", g_rand_int_range(rng, 0, 50));
        xmpp_stanza_set_id(m, id);
        g_free(id);
    }
    if (g_rand_int_range(rng, 0, 3) == 0)
        xmpp_stanza_set_attribute(m, "xml:lang", PICK(langs));
    if (g_rand_int_range(rng, 0, 8)) {
        char *body = random_body(agent);
        xmpp_message_set_body(m, body);
        g_free(body);
    }
    if (g_rand_int_range(rng, 0, 3) == 0) {
        xmpp_stanza_t *thread = xmpp_stanza_new(ctx), *text = xmpp_stanza_new(ctx);
        xmpp_stanza_set_name(thread, "thread");
        char *t = random_text(2);
        xmpp_stanza_set_text(text, t);
        g_free(t);
        xmpp_stanza_add_child(thread, text);
        xmpp_stanza_add_child(m, thread);
        xmpp_stanza_release(text);
        xmpp_stanza_release(thread);
    }
    g_free(from);
    return m;
}

/* random_attributes - from (mostly), to (mostly) and an id (sometimes odd, sometimes repeated) */
static void random_attributes(xmpp_stanza_t *st)
{
    static const char *const ids[] = {"p1", "p1", "\"'<&>", "", "id with spaces", "ид"};
    if (g_rand_int_range(rng, 0, 10)) {
        char *from = random_from();
        xmpp_stanza_set_from(st, from);
        g_free(from);
    }
    if (g_rand_int_range(rng, 0, 10))
        xmpp_stanza_set_to(st, PICK(tos));
    if (g_rand_int_range(rng, 0, 4))
        xmpp_stanza_set_id(st, PICK(ids));
}

/* random_child - an element in ns (NULL: none) under parent, with random text now and then. */
static void random_child(xmpp_ctx_t *ctx, xmpp_stanza_t *parent, const char *name, const char *ns)
{
    xmpp_stanza_t *el = xmpp_stanza_new(ctx);
    xmpp_stanza_set_name(el, name);
    if (ns)
        xmpp_stanza_set_ns(el, ns);
    if (g_rand_int_range(rng, 0, 3) == 0) {
        xmpp_stanza_t *text = xmpp_stanza_new(ctx);
        char *t = random_text(2);
        xmpp_stanza_set_text(text, t);
        g_free(t);
        xmpp_stanza_add_child(el, text);
        xmpp_stanza_release(text);
    }
    xmpp_stanza_add_child(parent, el);
    xmpp_stanza_release(el);
}

/* random_iq - disco, ping, version and unknown queries, of every type, with odd payloads. */
static xmpp_stanza_t *random_iq(xmpp_ctx_t *ctx)
{
    static const char *const types[] = {"get",   "get", "get", "set",  "result",
                                        "error", "GET", "",    "bogus"};
    static const char *const nss[] = {"http://jabber.org/protocol/disco#info",
                                      "http://jabber.org/protocol/disco#items",
                                      "urn:xmpp:ping",
                                      "jabber:iq:version",
                                      "jabber:iq:roster",
                                      "vcard-temp",
                                      "",
                                      NULL};
    xmpp_stanza_t *iq = xmpp_stanza_new(ctx);
    xmpp_stanza_set_name(iq, "iq");
    if (g_rand_int_range(rng, 0, 10))
        xmpp_stanza_set_type(iq, PICK(types));
    random_attributes(iq);
    for (int n = g_rand_int_range(rng, 0, 3); n > 0; n--)
        random_child(ctx, iq, g_rand_int_range(rng, 0, 5) ? "query" : "ping", PICK(nss));
    return iq;
}

/* random_presence - subscription requests, probes and the rest, with status and show. */
static xmpp_stanza_t *random_presence(xmpp_ctx_t *ctx)
{
    static const char *const types[] = {
        "subscribe",    "subscribe",   "probe", "unsubscribe", "subscribed",
        "unsubscribed", "unavailable", "error", "SUBSCRIBE",   ""};
    xmpp_stanza_t *p = xmpp_presence_new(ctx);
    if (g_rand_int_range(rng, 0, 6))
        xmpp_stanza_set_type(p, PICK(types));
    random_attributes(p);
    if (g_rand_boolean(rng))
        random_child(ctx, p, "status", NULL);
    if (g_rand_int_range(rng, 0, 4) == 0)
        random_child(ctx, p, "show", NULL);
    return p;
}

static void problem(const char *what, const char *detail)
{
    char *kept = g_strdup_printf("fuzz-chat-failure-%lu.xml", iteration);
    if (last_stanza)
        g_file_set_contents(kept, last_stanza, -1, NULL);
    fprintf(stderr, "FAIL: iteration %lu (FUZZ_SEED=%s): %s: %.300s (stanza kept in %s)\n",
            iteration, g_getenv("FUZZ_SEED") ? g_getenv("FUZZ_SEED") : "20261124", what,
            detail ? detail : "", kept);
    failures++;
    g_free(kept);
}

/* jid_domain - the domain of jid, lower case (servers route domains case-insensitively), or
 * NULL for NULL; caller g_free()s. */
static char *jid_domain(const char *jid)
{
    if (!jid)
        return NULL;
    char *bare = g_strndup(jid, strcspn(jid, "/")); /* a resource may hold '@' */
    const char *at = strchr(bare, '@');
    char *domain = g_ascii_strdown(at ? at + 1 : bare, -1);
    g_free(bare);
    return domain;
}

/* expected_answers - how many stanzas the component must write for st (an iq or a presence):
 * a get or set iq gets exactly one answer, a subscription request two (subscribed and our
 * presence), a probe or unsubscribe one; results, errors and the rest none (answering an error
 * with an error is how two entities loop). The server always sets from and to: without them
 * nothing is answered. */
static int expected_answers(xmpp_stanza_t *st)
{
    const char *name = xmpp_stanza_get_name(st), *type = xmpp_stanza_get_type(st);
    if (!type || !component_addressed(st))
        return 0;
    if (strcmp(name, "iq") == 0)
        return strcmp(type, "get") == 0 || strcmp(type, "set") == 0;
    if (strcmp(type, "subscribe") == 0)
        return 2;
    return strcmp(type, "probe") == 0 || strcmp(type, "unsubscribe") == 0;
}

/* check_answer - one answer s to the iq or presence st: an iq answer is a result or an error
 * with st's id, every answer goes back to st's sender. */
static void check_answer(xmpp_stanza_t *st, xmpp_stanza_t *s)
{
    if (strcmp(xmpp_stanza_get_name(st), "iq") == 0) {
        const char *type = xmpp_stanza_get_type(s);
        if (strcmp(xmpp_stanza_get_name(s), "iq") != 0 || !type ||
            (strcmp(type, "result") != 0 && strcmp(type, "error") != 0))
            problem("an iq answered with other than an iq result or error", type);
        if (g_strcmp0(xmpp_stanza_get_id(s), xmpp_stanza_get_id(st)) != 0)
            problem("an iq answered with another id", xmpp_stanza_get_id(s));
    }
    if (g_strcmp0(xmpp_stanza_get_to(s), xmpp_stanza_get_from(st)) != 0)
        problem("answered to someone else", xmpp_stanza_get_to(s));
}

/* check_written - what the component would have written: XML a server accepts, each stanza
 * from us and to someone; for an iq or presence (st, else NULL), the answers it must get. Then
 * it counts as written, as after a real write. */
static void check_written(component *c, xmpp_stanza_t *st)
{
    int expected = st ? expected_answers(st) : 0, written = 0;
    char *doc = g_strdup_printf("<r xmlns='jabber:component:accept'>%s</r>", c->unsent->str);
    xmpp_stanza_t *all = xmpp_stanza_new_from_string(c->ctx, doc);
    if (!all) {
        char *kept = g_strdup_printf("fuzz-chat-failure-%lu.out", iteration);
        g_file_set_contents(kept, doc, -1, NULL);
        problem("not well-formed XML written (kept in the .out file)", kept);
        g_free(kept);
        written = expected;
    } else {
        for (xmpp_stanza_t *s = xmpp_stanza_get_children(all); s; s = xmpp_stanza_get_next(s)) {
            const char *from = xmpp_stanza_get_from(s), *to = xmpp_stanza_get_to(s);
            char *domain = jid_domain(from);
            if (g_strcmp0(domain, DOMAIN) != 0 || !to || !*to)
                problem("stanza not from us or to nobody", xmpp_stanza_get_name(s));
            g_free(domain);
            if (st)
                check_answer(st, s);
            written++;
        }
        xmpp_stanza_release(all);
    }
    if (st && written != expected) {
        char *counts = g_strdup_printf("%d stanzas written for %d expected", written, expected);
        problem(xmpp_stanza_get_name(st), counts);
        g_free(counts);
    }
    g_free(doc);
    g_string_truncate(c->unsent, 0);
    sender_note_written(c);
}

static char *query_text(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *s = NULL;
    char *out = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
        out = g_strdup((const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    return out;
}

/* check_store - integrity, and every ticket whole (its first message and created event). */
static void check_store(const char *path)
{
    sqlite3 *db = NULL;
    sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
    char *ok = query_text(db, "PRAGMA integrity_check");
    char *broken = query_text(
        db, "SELECT group_concat(ref) FROM tickets t WHERE"
            " NOT EXISTS (SELECT 1 FROM messages WHERE ticket_id = t.id AND direction = 'in')"
            " OR NOT EXISTS (SELECT 1 FROM events WHERE ticket_id = t.id AND kind = 'created')");
    char *bad_text = query_text(db, "SELECT group_concat(id) FROM messages WHERE"
                                    " CAST(body AS BLOB) != CAST(CAST(body AS TEXT) AS BLOB)"
                                    " OR typeof(body) NOT IN ('text', 'null')");
    if (g_strcmp0(ok, "ok") != 0)
        problem("integrity_check", ok);
    if (broken)
        problem("tickets not whole", broken);
    if (bad_text)
        problem("messages stored as other than text", bad_text);
    g_free(ok);
    g_free(broken);
    g_free(bad_text);
    sqlite3_close(db);
}

static void ingest_mail(const tg_config *cfg, tg_store *st, const char *data, size_t len)
{
    tg_inbound *in = NULL;
    tg_err err = {0};
    tg_mail_opts opts = {.recipient = "support@example.org", .max_text_size = 65536};
    if (tg_mail_parse(data, len, &opts, &in, &err) == TG_OK) {
        tg_decision d = {0};
        tg_intake_process(cfg, st, in, g_get_real_time() / G_USEC_PER_SEC, &d, &err);
        tg_decision_clear(&d);
    }
    tg_inbound_free(in);
}

/* ingest_corpus - the mail corpus's tickets, and one with what XML cannot carry (valid in mail),
 * for agents to be notified of, show and answer by chat. */
static void ingest_corpus(const tg_config *cfg, tg_store *st)
{
    char *dirpath = tu_data("mail");
    GDir *dir = g_dir_open(dirpath, 0, NULL);
    const char *name;
    while (dir && (name = g_dir_read_name(dir))) {
        char *path = g_build_filename(dirpath, name, NULL), *data;
        gsize len;
        if (g_str_has_suffix(name, ".eml") && g_file_get_contents(path, &data, &len, NULL)) {
            ingest_mail(cfg, st, data, len);
            g_free(data);
        }
        g_free(path);
    }
    if (dir)
        g_dir_close(dir);
    g_free(dirpath);
    static const char odd[] = "From: x@customer.example\nTo: support@example.org\n"
                              "Subject: Form \x0c feed \xef\xbf\xbe\nContent-Type: text/plain; "
                              "charset=utf-8\n\nPage\x0c\x01 two \xef\xbf\xbf end\n";
    ingest_mail(cfg, st, odd, sizeof odd - 1);
}

int main(void)
{
    unsigned long iterations;
    rng = tu_fuzz_rng(&iterations);
    tg_log_open("fuzz_chat", 1, TG_LOG_WARN); /* not a line per message */
    component c = {.secret = g_strdup("s3cret")};
    tg_err err = {0};
    c.cfg = tu_fuzz_config(
        "[xmpp]\ndomain = " DOMAIN "\nsecret = s3cret\nmax_body = 4096\nrate_limit = 8\n"
        "[queue support]\naddresses = support@example.org\nxmpp = support\ngroup = l1\n"
        "[agent ann]\nemail = ann@example.org\njid = ann@localhost\ngroups = l1\n");
    if (!c.cfg || !(c.st = tg_config_open_store(c.cfg, &err)) ||
        component_init(&c, &err) != TG_OK) {
        fprintf(stderr, "fuzz_chat: no configuration, store or component: %s\n", err.msg);
        return 1;
    }
    ingest_corpus(c.cfg, c.st);
    c.connected = 1; /* what it sends is collected in c.unsent, as between two writes */
    unsigned long delivered = 0;
    for (iteration = 0; iteration < iterations && failures < 10; iteration++) {
        int kind = g_rand_int_range(rng, 0, 10); /* mostly messages */
        xmpp_stanza_t *made = kind == 0   ? random_iq(c.ctx)
                              : kind == 1 ? random_presence(c.ctx)
                                          : random_message(c.ctx),
                      *st = NULL;
        size_t len;
        char *text = NULL;
        g_clear_pointer(&last_stanza, g_free);
        if (xmpp_stanza_to_text(made, &text, &len) == XMPP_EOK) {
            last_stanza = g_strdup(text);
            xmpp_free(c.ctx, text);
            st = xmpp_stanza_new_from_string(c.ctx, last_stanza); /* NULL: no server takes it */
        }
        xmpp_stanza_release(made);
        if (st && kind <= 1) { /* answered at once: exactly what it must get, nothing else */
            (kind == 0 ? component_on_iq : component_on_presence)(c.conn, st, &c);
            check_written(&c, st);
        } else if (st) {
            chat_on_message(c.conn, st, &c);
        }
        if (st) {
            xmpp_stanza_release(st);
            delivered++;
        }
        if (g_rand_int_range(rng, 0, 4) == 0 || c.pending->len >= 64) { /* a batch */
            chat_flush(&c);
            check_written(&c, NULL);
            sender_drain(&c); /* relays and notifications in the outbox */
        }
        check_written(&c, NULL);
    }
    chat_flush(&c);
    check_written(&c, NULL);
    sender_drain(&c);
    check_written(&c, NULL);
    char *path = g_strdup(c.cfg->store_path);
    component_free(&c);
    tg_store_close(c.st);
    check_store(path);
    g_free(path);
    tg_config_unref(c.cfg);
    g_free(c.secret);
    g_free(last_stanza);
    g_rand_free(rng);
    tu_cleanup();
    printf("fuzz_chat: %lu stanzas, %lu well-formed, %d failures\n", iteration, delivered,
           failures);
    return failures ? 1 : 0;
}
