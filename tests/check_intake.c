/* check_intake.c - the intake pipeline on a real SQLite store. */
#include <check.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "testutil.h"
#include "tg_actions.h"
#include "tg_escalate.h"
#include "tg_intake.h"
#include "tg_mail.h"

#define NOW 1795503600 /* Tue 24 Nov 2026 10:00 MSK */

static tg_config *cfg;
static tg_store *st;
static int counter;

static void setup(void)
{
    char *db = g_strdup_printf("%s/t%d.db", tu_tmpdir(), counter++);
    tu_write("rules.conf", "[rule urgent]\nif = subject ~ 'срочно|urgent'\npriority = urgent\n"
                           "category = urgent\n[rule quiet]\nif = subject ~ 'noreply-rule'\n"
                           "auto_reply = false\n[rule vip]\nif = subject ~ 'vip-rule'\n"
                           "group = l2\n[rule forwarded]\nif = subject ~ '^fwd:'\n"
                           "category = forwarded\n[rule default]\n");
    char *text = g_strdup_printf(
        "[general]\ntimezone = Europe/Moscow\ninternal_domains = "
        "example.org\n[store]\npath = %s\nsynchronous = normal\n"
        "[limits]\nautoreply_limit = 3\n"
        "[queue support]\naddresses = support@example.org\ngroup = l1\n"
        "[agent ann]\nemail = ann@example.org\nlogin = ann@corp.realm\ngroups = l1\nmax_open = 2\n"
        "[agent bob]\nemail = bob@example.org\ngroups = l1\nmax_open = 2\n",
        db);
    char *path = tu_write("t.conf", text);
    tg_err err = {0};
    cfg = tg_config_load(path, &err);
    ck_assert_msg(cfg != NULL, "%s", err.msg);
    ck_assert_int_eq(tg_store_open(db, NULL, &st, &err), 0);
    g_free(db);
    g_free(text);
    g_free(path);
}

static void teardown(void)
{
    tg_store_close(st);
    tg_config_unref(cfg);
}

/* store_config - another configuration of the test's store: [store] path plus sections. */
static tg_config *store_config(const char *name, const char *sections)
{
    char *text = g_strdup_printf("[store]\npath = %s\n%s", cfg->store_path, sections);
    char *path = tu_write(name, text);
    tg_err err = {0};
    tg_config *other = tg_config_load(path, &err);
    ck_assert_msg(other != NULL, "%s", err.msg);
    g_free(path);
    g_free(text);
    return other;
}

/* process_mail - mail to support@example.org through the real parser and the pipeline, under
 * configuration c; as the first part of a mail of full_size bytes when that is not 0. */
static int process_mail(const tg_config *c, const char *mail, size_t full_size, tg_decision *d)
{
    tg_inbound *in = NULL;
    tg_mail_opts opts = {.recipient = "support@example.org", .full_size = full_size};
    ck_assert_int_eq(tg_mail_parse(mail, strlen(mail), &opts, &in, NULL), 0);
    tg_err err = {0};
    int rc = tg_intake_process(c, st, in, NOW, d, &err);
    tg_inbound_free(in);
    return rc;
}

/* ingest - a mail built from its parts through the real parser and pipeline. */
static int ingest(const char *from, const char *subject, const char *id, const char *extra,
                  tg_decision *d)
{
    char *mail = g_strdup_printf("From: %s\nTo: support@example.org, Colleague <col@customer.ru>\n"
                                 "Subject: %s\nMessage-ID: <%s>\n%sContent-Type: text/plain; "
                                 "charset=utf-8\n\nbody of %s\n",
                                 from, subject, id, extra ? extra : "", id);
    int rc = process_mail(cfg, mail, 0, d);
    g_free(mail);
    return rc;
}

/* parse_mail - a plain mail to support@example.org through the real parser. */
static tg_inbound *parse_mail(const char *from, const char *subject, const char *id)
{
    char *mail = g_strdup_printf("From: %s\nTo: support@example.org\nSubject: %s\n"
                                 "Message-ID: <%s>\n\nbody\n",
                                 from, subject, id);
    tg_inbound *in = NULL;
    tg_mail_opts opts = {.recipient = "support@example.org"};
    ck_assert_int_eq(tg_mail_parse(mail, strlen(mail), &opts, &in, NULL), 0);
    g_free(mail);
    return in;
}

static int64_t outbox_count(void)
{
    int64_t n = 0;
    tg_err err = {0};
    ck_assert_int_eq(tg_store_count_outbox(st, NULL, &n, &err), 0);
    return n;
}

static int64_t ticket_count(void)
{
    int64_t n = 0;
    tg_err err = {0};
    ck_assert_int_eq(tg_store_count_tickets(st, &n, &err), 0);
    return n;
}

/* chat - a chat message from a customer's bare JID to the default queue, through intake. */
static int chat(const char *from, const char *text, const char *id, tg_decision *d)
{
    tg_inbound *in = tg_inbound_new("xmpp");
    tg_inbound_take(&in->sender, g_strdup(from));
    tg_inbound_take(&in->subject, g_strdup(text));
    tg_inbound_take(&in->text, g_strdup(text));
    in->message_id = g_strdup(id);
    in->stanza_type = g_strdup("chat");
    in->recipients = g_new0(char *, 1);
    tg_err err = {0};
    int rc = tg_intake_process(cfg, st, in, NOW, d, &err);
    tg_inbound_free(in);
    return rc;
}

/* make_jobs - n batch jobs for ins, all received at NOW. */
static void make_jobs(tg_inbound **ins, tg_intake_job *jobs, tg_intake_job **ptrs, int n)
{
    for (int i = 0; i < n; i++) {
        jobs[i] = (tg_intake_job){.in = ins[i], .now = NOW};
        ptrs[i] = &jobs[i];
    }
}

/* sql_text - the text a query of the store returns (NULL for NULL), read on a connection of
 * its own; caller g_free()s. */
static char *sql_text(const char *query)
{
    sqlite3 *db;
    sqlite3_stmt *q;
    ck_assert_int_eq(sqlite3_open(cfg->store_path, &db), SQLITE_OK);
    ck_assert_int_eq(sqlite3_prepare_v2(db, query, -1, &q, NULL), SQLITE_OK);
    ck_assert_msg(sqlite3_step(q) == SQLITE_ROW, "no row for: %s", query);
    char *text = g_strdup((const char *)sqlite3_column_text(q, 0));
    sqlite3_finalize(q);
    sqlite3_close(db);
    return text;
}

/* sql_count - the integer a query of the store returns. */
static int64_t sql_count(const char *query)
{
    char *text = sql_text(query);
    int64_t n = text ? g_ascii_strtoll(text, NULL, 10) : 0;
    g_free(text);
    return n;
}

START_TEST(test_new_ticket_and_duplicate)
{
    tg_decision d;
    ck_assert_int_eq(ingest("Мария <maria@customer.ru>", "Срочно: не работает", "a1@c", NULL, &d),
                     0);
    ck_assert_int_eq(d.kind, TG_INTAKE_NEW);
    ck_assert_str_eq(d.ref, "SUP-1");
    ck_assert_str_eq(d.priority, "urgent");
    ck_assert_str_eq(d.rule, "urgent");
    ck_assert_int_eq(d.reply_queued, 1);
    ck_assert_ptr_nonnull(strstr(d.reply_text, "SUP-1"));
    ck_assert_ptr_nonnull(strstr(d.reply_text, "Мы ответим до вт, 24 ноября 2026, 11:00 MSK"));
    ck_assert_str_eq(d.reply_subject, "Re: [SUP-1] Срочно: не работает");
    ck_assert_str_eq(d.headers[0].name, "X-Ticket-ID");
    ck_assert_str_eq(d.headers[3].value, "Tue, 24 Nov 2026 11:00:00 +0300");
    ck_assert_ptr_nonnull(strstr(d.assign_note, "assigned to"));
    tg_decision_clear(&d);

    ck_assert_int_eq(ingest("Мария <maria@customer.ru>", "Срочно: не работает", "a1@c", NULL, &d),
                     0);
    ck_assert_int_eq(d.kind, TG_INTAKE_DUPLICATE);
    ck_assert_str_eq(d.ref, "SUP-1");
    tg_decision_clear(&d);
    ck_assert_int_eq(ticket_count(), 1);
    ck_assert_int_eq(outbox_count(), 1);
}
END_TEST

START_TEST(test_followups_and_entitlement)
{
    tg_decision d;
    ingest("maria@customer.ru", "Login broken", "b1@c", NULL, &d);
    char *ref = g_strdup(d.ref);
    tg_decision_clear(&d);

    char *subject = g_strdup_printf("Re: [%s] Login broken", ref);
    ck_assert_int_eq(ingest("MARIA@customer.ru", subject, "b2@c", NULL, &d), 0);
    ck_assert_int_eq(d.kind, TG_INTAKE_FOLLOWUP);
    ck_assert_str_eq(d.ref, ref);
    ck_assert_int_eq(d.reply_queued, 0);
    tg_decision_clear(&d);

    /* A colleague on Cc of the first mail is in the thread. */
    ck_assert_int_eq(ingest("col@customer.ru", subject, "b3@c", NULL, &d), 0);
    ck_assert_int_eq(d.kind, TG_INTAKE_FOLLOWUP);
    tg_decision_clear(&d);

    /* A stranger using the tag gets a ticket of their own; the original is untouched. */
    ck_assert_int_eq(ingest("mallory@evil.example", subject, "b4@c", NULL, &d), 0);
    ck_assert_int_eq(d.kind, TG_INTAKE_NEW);
    ck_assert_str_ne(d.ref, ref);
    ck_assert_ptr_nonnull(strstr(d.note, ref));
    tg_decision_clear(&d);

    /* In-Reply-To naming the first message threads without a tag. */
    ck_assert_int_eq(ingest("maria@customer.ru", "again", "b5@c", "In-Reply-To: <b1@c>\n", &d), 0);
    ck_assert_int_eq(d.kind, TG_INTAKE_FOLLOWUP);
    ck_assert_str_eq(d.ref, ref);
    tg_decision_clear(&d);
    ck_assert_int_eq(ticket_count(), 2);

    /* A resolved ticket reopens on the customer's follow-up. */
    tg_ticket t = {0};
    tg_err err = {0};
    ck_assert_int_eq(tg_store_ticket_by_ref(st, ref, &t, &err), 1);
    ck_assert_int_eq(tg_store_set_status(st, t.id, "resolved", NOW, &err), 0);
    tg_ticket_clear(&t);
    ck_assert_int_eq(ingest("maria@customer.ru", subject, "b6@c", NULL, &d), 0);
    ck_assert_str_eq(d.status, "open");
    tg_decision_clear(&d);
    g_free(subject);
    g_free(ref);
}
END_TEST

/* A closed ticket stays closed: its requester gets a new ticket without a note, a stranger a new
 * ticket with the refused reference recorded. */
/* A chat customer's messages join their latest ticket while it is new, open or pending. */
START_TEST(test_chat_joins_open_ticket)
{
    tg_decision d;
    ck_assert_int_eq(chat("kate@jabber.example", "printer broken", "k0", &d), 0);
    ck_assert_int_eq(d.kind, TG_INTAKE_NEW);
    int64_t first = d.ticket_id;
    tg_decision_clear(&d);
    const char *statuses[] = {"new", "open", "pending", "resolved"};
    for (size_t i = 0; i < G_N_ELEMENTS(statuses); i++) {
        tg_err err = {0};
        ck_assert_int_eq(tg_store_set_status(st, first, statuses[i], NOW, &err), 0);
        char *id = g_strdup_printf("k%zu", i + 1);
        ck_assert_int_eq(chat("kate@jabber.example", "still broken", id, &d), 0);
        if (i < 3)
            ck_assert_msg(d.kind == TG_INTAKE_FOLLOWUP && d.ticket_id == first,
                          "%s: kind %d ticket %lld", statuses[i], d.kind, (long long)d.ticket_id);
        else
            ck_assert_int_ne(d.ticket_id, first);
        tg_decision_clear(&d);
        g_free(id);
    }
}
END_TEST

START_TEST(test_closed_ticket)
{
    tg_decision d;
    ingest("maria@customer.ru", "Printer", "k1@c", NULL, &d);
    char *ref = g_strdup(d.ref);
    tg_decision_clear(&d);
    tg_ticket t = {0};
    tg_err err = {0};
    ck_assert_int_eq(tg_store_ticket_by_ref(st, ref, &t, &err), 1);
    ck_assert_int_eq(tg_store_set_status(st, t.id, "closed", NOW, &err), 0);
    tg_ticket_clear(&t);

    char *subject = g_strdup_printf("Re: [%s] Printer", ref);
    ck_assert_int_eq(ingest("maria@customer.ru", subject, "k2@c", NULL, &d), 0);
    ck_assert_int_eq(d.kind, TG_INTAKE_NEW);
    ck_assert_str_ne(d.ref, ref);
    ck_assert_ptr_null(d.note);
    tg_decision_clear(&d);

    ck_assert_int_eq(ingest("mallory@evil.example", subject, "k3@c", NULL, &d), 0);
    ck_assert_int_eq(d.kind, TG_INTAKE_NEW);
    ck_assert_msg(d.note && strstr(d.note, "(closed)"), "%s", d.note);
    tg_decision_clear(&d);

    ck_assert_int_eq(tg_store_ticket_by_ref(st, ref, &t, &err), 1);
    ck_assert_str_eq(t.status, "closed");
    tg_ticket_clear(&t);
    ck_assert_int_eq(ticket_count(), 3);
    g_free(subject);
    g_free(ref);
}
END_TEST

START_TEST(test_agent_answer)
{
    tg_decision d;
    ingest("maria@customer.ru", "Question", "c1@c", NULL, &d);
    char *subject = g_strdup_printf("Re: [%s] Question", d.ref);
    tg_decision_clear(&d);
    ck_assert_int_eq(ingest("Bob <bob@example.org>", subject, "c2@c", NULL, &d), 0);
    ck_assert_int_eq(d.kind, TG_INTAKE_AGENT_REPLY);
    ck_assert_str_eq(d.status, "pending");
    tg_ticket t = {0};
    tg_err err = {0};
    ck_assert_int_eq(tg_store_ticket_by_ref(st, d.ref, &t, &err), 1);
    ck_assert_int_eq(t.first_response_at > 0, 1);
    int64_t first = t.first_response_at;
    tg_ticket_clear(&t);
    tg_decision_clear(&d);
    ck_assert_int_eq(outbox_count(), 2); /* the auto-reply and the relayed answer */
    ck_assert_int_eq(ingest("bob@example.org", subject, "c3@c", NULL, &d), 0);
    tg_decision_clear(&d);
    ck_assert_int_eq(tg_store_ticket_by_ref(st, "SUP-1", &t, &err), 1);
    ck_assert_int_eq(t.first_response_at, first); /* set once */
    tg_ticket_clear(&t);
    g_free(subject);
}
END_TEST

/* claimed_recipient - the recipient of the next email row of the outbox (claimed). */
static char *claimed_recipient(void)
{
    tg_outbox row;
    tg_err err = {0};
    ck_assert_int_eq(tg_store_claim_outbox(st, "email", NOW, NOW + 90, &row, &err), 1);
    char *recipient = g_strdup(row.recipient);
    tg_outbox_clear(&row);
    return recipient;
}

/* A web form's mail: From the shop's noreply address, Reply-To the visitor. The visitor is the
 * requester and gets the auto-reply and the answers; an agent whose client sets Reply-To to the
 * support address is still known by From. */
START_TEST(test_reply_to_is_answered)
{
    tg_decision d;
    ck_assert_int_eq(ingest("Shop <noreply@shop.example>", "Order 1042", "f1@c",
                            "Reply-To: Ivan <Ivan@Customer.ru>\n", &d),
                     0);
    ck_assert_int_eq(d.kind, TG_INTAKE_NEW);
    ck_assert_int_eq(d.reply_queued, 1);
    char *ref = g_strdup(d.ref), *subject = g_strdup_printf("Re: [%s] Order 1042", d.ref);
    tg_decision_clear(&d);
    tg_ticket t = {0};
    tg_err err = {0};
    ck_assert_int_eq(tg_store_ticket_by_ref(st, ref, &t, &err), 1);
    ck_assert_str_eq(t.requester, "ivan@customer.ru");
    ck_assert_str_eq(t.requester_name, "Ivan");
    tg_ticket_clear(&t);
    char *to = claimed_recipient();
    ck_assert_str_eq(to, "ivan@customer.ru");
    g_free(to);

    ck_assert_int_eq(ingest("ivan@customer.ru", subject, "f2@c", NULL, &d), 0);
    ck_assert_int_eq(d.kind, TG_INTAKE_FOLLOWUP);
    tg_decision_clear(&d);
    ck_assert_int_eq(
        ingest("Bob <bob@example.org>", subject, "f3@c", "Reply-To: support@example.org\n", &d), 0);
    ck_assert_int_eq(d.kind, TG_INTAKE_AGENT_REPLY);
    tg_decision_clear(&d);
    to = claimed_recipient();
    ck_assert_str_eq(to, "ivan@customer.ru");
    g_free(to);
    g_free(ref);
    g_free(subject);
}
END_TEST

/* An agent answering a notice (which they are asked not to do) makes no ticket: the answer
 * names the notice's id, and a new ticket would be the agent's own request, auto-replied and
 * counted in the reports. The same from a customer is an ordinary new ticket. */
START_TEST(test_answer_to_notice)
{
    tg_decision d;
    char *id = tg_mail_new_notice_id("example.org");
    ck_assert(tg_mail_is_notice_id(id));
    ck_assert(!tg_mail_is_notice_id("1234.abcd@example.org"));
    char *in_reply_to = g_strdup_printf("In-Reply-To: <%s>\n", id);
    char *references = g_strdup_printf("References: <x@y> <%s>\n", id);

    ck_assert_int_eq(
        ingest("Ann <ann@example.org>", "Re: Overdue: SUP-7 Printer", "n1@c", in_reply_to, &d), 0);
    ck_assert_int_eq(d.kind, TG_INTAKE_IGNORED);
    ck_assert_ptr_null(d.ref);
    ck_assert_int_eq(d.n_headers, 0);
    char *note = g_strdup_printf("agent ann answered notice %s: not a ticket, not relayed", id);
    ck_assert_str_eq(d.note, note);
    tg_decision_clear(&d);
    ck_assert_int_eq(ingest("bob@example.org", "Re: Overdue: 2 tickets", "n2@c", references, &d),
                     0);
    ck_assert_int_eq(d.kind, TG_INTAKE_IGNORED);
    tg_decision_clear(&d);
    ck_assert_int_eq(ticket_count(), 0);
    ck_assert_int_eq(outbox_count(), 0);

    ck_assert_int_eq(ingest("maria@customer.ru", "Re: Overdue", "n3@c", in_reply_to, &d), 0);
    ck_assert_int_eq(d.kind, TG_INTAKE_NEW);
    tg_decision_clear(&d);
    ck_assert_int_eq(ticket_count(), 1);
    g_free(note);
    g_free(references);
    g_free(in_reply_to);
    g_free(id);
}
END_TEST

/* An agent writing from another address but logged in over SMTP (the milter's {auth_authen})
 * is still the agent; without the login the same mail is a stranger's new ticket. */
START_TEST(test_agent_by_smtp_login)
{
    tg_decision d;
    tg_err err = {0};
    ingest("maria@customer.ru", "Printer", "l1@c", NULL, &d);
    tg_decision_clear(&d);
    tg_inbound *in =
        parse_mail("Ann at home <ann.home@mail.example>", "Re: [SUP-1] Printer", "l2@c");
    /* the login is the agent's id, e-mail address or a listed login, in any case */
    const char *logins[] = {"ann", "ANN@example.org", "ann@corp.realm"};
    for (size_t i = 0; i < G_N_ELEMENTS(logins); i++) {
        tg_inbound_take(&in->auth_user, g_strdup(logins[i]));
        ck_assert_int_eq(tg_intake_explain(cfg, st, in, NOW, &d, &err), 0);
        ck_assert_msg(d.kind == TG_INTAKE_AGENT_REPLY, "login %s", logins[i]);
        ck_assert_str_eq(d.ref, "SUP-1");
        tg_decision_clear(&d);
    }
    /* another login, or none: a stranger using the tag gets a ticket of their own */
    tg_inbound_take(&in->auth_user, g_strdup("ann@other.realm"));
    ck_assert_int_eq(tg_intake_explain(cfg, st, in, NOW, &d, &err), 0);
    ck_assert_int_eq(d.kind, TG_INTAKE_NEW);
    tg_decision_clear(&d);
    tg_inbound_take(&in->auth_user, NULL);
    ck_assert_int_eq(tg_intake_explain(cfg, st, in, NOW, &d, &err), 0);
    ck_assert_int_eq(d.kind, TG_INTAKE_NEW);
    tg_decision_clear(&d);
    tg_inbound_free(in);
}
END_TEST

/* The auto-reply is stored with its Message-ID: an answer naming it joins the ticket, and the
 * auto-reply itself coming back through the MTA is ignored. */
START_TEST(test_own_reply_threads_and_never_makes_tickets)
{
    tg_decision d;
    tg_err err = {0};
    tg_outbox row;
    ck_assert_int_eq(ingest("Eve <eve@customer.ru>", "Question", "q1@customer.ru", NULL, &d), 0);
    tg_decision_clear(&d);
    ck_assert_int_eq(tg_store_claim_outbox(st, "email", NOW, NOW + 60, &row, &err), 1);
    ck_assert_str_eq(row.in_reply_to, "q1@customer.ru");
    ck_assert_ptr_nonnull(strstr(row.msg_id, "@example.org"));
    char *irt = g_strdup_printf("In-Reply-To: <%s>\n", row.msg_id);
    ck_assert_int_eq(ingest("eve@customer.ru", "Re: Question", "q2@customer.ru", irt, &d), 0);
    ck_assert_int_eq(d.kind, TG_INTAKE_FOLLOWUP);
    ck_assert_str_eq(d.ref, "SUP-1");
    tg_decision_clear(&d);
    ck_assert_int_eq(ingest("support@example.org", "Re: Question", row.msg_id, NULL, &d), 0);
    ck_assert_int_eq(d.kind, TG_INTAKE_DUPLICATE);
    ck_assert_ptr_nonnull(strstr(d.note, "our own message"));
    tg_decision_clear(&d);
    ck_assert_int_eq(ticket_count(), 1);
    g_free(irt);
    tg_outbox_clear(&row);
}
END_TEST

/* Claiming hides a row until it is marked; retries come back when due; give-up keeps the error. */
START_TEST(test_outbox_claim_and_retry)
{
    tg_decision d;
    tg_err err = {0};
    tg_outbox row, again;
    int64_t n;
    ck_assert_int_eq(ingest("a@customer.ru", "One", "o1@customer.ru", NULL, &d), 0);
    tg_decision_clear(&d);
    ck_assert_int_eq(ingest("b@customer.ru", "Two", "o2@customer.ru", NULL, &d), 0);
    tg_decision_clear(&d);
    ck_assert_int_eq(tg_store_claim_outbox(st, "xmpp", NOW, NOW + 60, &row, &err), 0);
    ck_assert_int_eq(tg_store_claim_outbox(st, "email", NOW, NOW + 60, &row, &err), 1);
    ck_assert_str_eq(row.recipient, "a@customer.ru");
    ck_assert_int_eq(tg_store_claim_outbox(st, "email", NOW, NOW + 60, &again, &err), 1);
    ck_assert_str_eq(again.recipient, "b@customer.ru");
    tg_outbox none;
    ck_assert_int_eq(tg_store_claim_outbox(st, "email", NOW, NOW + 60, &none, &err), 0);
    ck_assert_int_eq(tg_store_outbox_sent(st, row.id, NOW, &err), 0);
    ck_assert_int_eq(tg_store_outbox_retry(st, again.id, "sendmail exit 75", NOW + 30, 0, &err), 0);
    tg_outbox_clear(&again);
    /* a claimed row left unmarked (a crash) goes out once its lease ends */
    ck_assert_int_eq(tg_store_claim_outbox(st, "email", NOW + 29, NOW + 90, &again, &err), 0);
    ck_assert_int_eq(tg_store_claim_outbox(st, "email", NOW + 30, NOW + 90, &again, &err), 1);
    ck_assert_int_eq(again.attempts, 1);
    ck_assert_str_eq(again.last_error, "sendmail exit 75");
    tg_outbox_clear(&row);
    /* given up two days after it was queued: monitoring counts it by when it was given up */
    int64_t later = NOW + 2 * 86400;
    ck_assert_int_eq(tg_store_outbox_retry(st, again.id, "sendmail exit 1", later, 1, &err), 0);
    tg_outbox_clear(&again);
    ck_assert_int_eq(tg_store_count_outbox(st, "sent", &n, &err), 0);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(tg_store_count_outbox(st, "failed", &n, &err), 0);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(tg_store_claim_outbox(st, "email", NOW + 10000, NOW + 10060, &none, &err), 0);
    tg_outbox_health h;
    ck_assert_int_eq(tg_store_outbox_health(st, "email", later - 86400, &h, &err), 0);
    ck_assert_int_eq(h.failed, 1);
    ck_assert_str_eq(h.last_error, "sendmail exit 1");
    g_free(h.last_error);
    ck_assert_int_eq(tg_store_outbox_health(st, "email", later + 1, &h, &err), 0);
    ck_assert_int_eq(h.failed, 0);
    ck_assert_ptr_null(h.last_error);
}
END_TEST

static const struct no_reply_case {
    const char *from, *subject, *extra, *want;
} no_reply_cases[] = {
    {"kate@customer.ru", "Out of office", "Auto-Submitted: auto-replied\n", "Auto-Submitted"},
    {"list@customer.ru", "News", "List-Id: <news.customer.ru>\n", "List-Id"},
    {"x@customer.ru", "Bulk", "Precedence: bulk\n", "Precedence"},
    {"x@customer.ru", "OOF", "X-Auto-Response-Suppress: OOF, AutoReply\n", "Suppress"},
    {"noreply@customer.ru", "Notification", NULL, "robot"},
    {"support@example.org", "Loop", NULL, "our own support address"},
    {"x@customer.ru", "Answer us", "Reply-To: support@example.org\n",
     "sender support@example.org is our own support address"},
    {"support@example.org", "Loop", "Reply-To: x@customer.ru\n",
     "author support@example.org is our own support address"},
    {"x@customer.ru", "noreply-rule", NULL, "auto_reply = false"},
};

/* A job with a lease gets its auto-reply back, queued hidden from other senders until the lease
 * ends (the chat component sends it itself after the commit; after a crash it goes out then). */
START_TEST(test_leased_auto_reply)
{
    tg_inbound *in = parse_mail("a@customer.ru", "Leased", "l1@c");
    tg_intake_job job = {.in = in, .now = NOW, .lease_until = NOW + 30}, *ptr = &job;
    ck_assert_uint_eq(tg_intake_process_batch(cfg, st, &ptr, 1), 1);
    const tg_outbox *r = job.dec.leased_reply;
    ck_assert_ptr_nonnull(r);
    ck_assert_int_gt(r->id, 0);
    ck_assert_str_eq(r->recipient, "a@customer.ru");
    ck_assert_str_eq(r->kind, "autoreply");
    ck_assert_ptr_nonnull(r->msg_id);
    ck_assert_ptr_nonnull(strstr(r->body, job.dec.ref));
    tg_outbox row;
    tg_err err = {0};
    ck_assert_int_eq(tg_store_claim_outbox(st, "email", NOW + 29, NOW + 90, &row, &err), 0);
    ck_assert_int_eq(tg_store_claim_outbox(st, "email", NOW + 30, NOW + 90, &row, &err), 1);
    ck_assert_int_eq(row.id, r->id);
    ck_assert_str_eq(row.msg_id, r->msg_id);
    tg_outbox_clear(&row);
    tg_decision_clear(&job.dec);
    ck_assert_ptr_null(job.dec.leased_reply);
    /* without a lease: nothing handed back, claimable at once */
    tg_inbound *plain = parse_mail("b@customer.ru", "Plain", "l2@c");
    job = (tg_intake_job){.in = plain, .now = NOW};
    ck_assert_uint_eq(tg_intake_process_batch(cfg, st, &ptr, 1), 1);
    ck_assert_ptr_null(job.dec.leased_reply);
    ck_assert_int_eq(tg_store_claim_outbox(st, "email", NOW, NOW + 90, &row, &err), 1);
    ck_assert_str_eq(row.recipient, "b@customer.ru");
    tg_outbox_clear(&row);
    tg_decision_clear(&job.dec);
    tg_inbound_free(in);
    tg_inbound_free(plain);
}
END_TEST

START_TEST(test_no_auto_reply)
{
    const struct no_reply_case *c = &no_reply_cases[_i];
    tg_decision d;
    ck_assert_int_eq(ingest(c->from, c->subject, "d1@c", c->extra, &d), 0);
    ck_assert_int_eq(d.kind, TG_INTAKE_NEW); /* still a ticket */
    ck_assert_int_eq(d.reply_queued, 0);
    ck_assert_msg(strstr(d.no_reply_reason, c->want), "%s", d.no_reply_reason);
    tg_decision_clear(&d);
    ck_assert_int_eq(outbox_count(), 0);
}
END_TEST

/* A new ticket's subject leaves out the customer's reply and forward prefixes, which our
 * replies would put behind their own; rules still see the subject as it came. */
static const struct {
    const char *subject, *ticket_subject, *category;
} prefixed_subjects[] = {
    {"Fwd: Счёт 17", "Счёт 17", "forwarded"},
    {"RE: Re[2]:  FW:Printer", "Printer", "general"},
    {"Отв: ОТВЕТ: Пересл: Заказ 5", "Заказ 5", "general"},
    {"AW: WG: Re^3: Re(2) : Bestellung", "Bestellung", "general"},
    {"Re: [SUP-9999] Re: Old case", "[SUP-9999] Re: Old case", "general"},
    {"Reply needed: login", "Reply needed: login", "general"},
    {"Re:", "(no subject)", "general"},
};

START_TEST(test_reply_prefixes_left_out)
{
    tg_decision d;
    ck_assert_int_eq(ingest("maria@customer.ru", prefixed_subjects[_i].subject, "p1@c", NULL, &d),
                     0);
    ck_assert_int_eq(d.kind, TG_INTAKE_NEW);
    ck_assert_str_eq(d.category, prefixed_subjects[_i].category);
    char *want = g_strdup_printf("Re: [%s] %s", d.ref, prefixed_subjects[_i].ticket_subject);
    ck_assert_str_eq(d.reply_subject, want);
    char *stored = sql_text("SELECT subject FROM tickets");
    ck_assert_str_eq(stored, prefixed_subjects[_i].ticket_subject);
    g_free(stored);
    g_free(want);
    tg_decision_clear(&d);
}
END_TEST

START_TEST(test_rate_limit)
{
    for (int i = 0; i < 5; i++) {
        tg_decision d;
        char *id = g_strdup_printf("e%d@c", i);
        ck_assert_int_eq(ingest("flood@customer.ru", "help", id, NULL, &d), 0);
        ck_assert_int_eq(d.reply_queued, i < 3);
        tg_decision_clear(&d);
        g_free(id);
    }
    ck_assert_int_eq(ticket_count(), 5);
    ck_assert_int_eq(outbox_count(), 3);
}
END_TEST

/* The per-sender limit is for mail loops: a chat customer whose address has used it up still
 * gets the reference of a new chat ticket, and chat replies are not counted against mail. */
START_TEST(test_chat_replies_not_limited)
{
    const char *kate = "kate@customer.ru";
    tg_err err = {0};
    int64_t logged = 0;
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(tg_store_log_autoreply(st, kate, NOW - 60, &err), 0);
    tg_decision d;
    ck_assert_int_eq(chat(kate, "printer broken", "k0", &d), 0);
    ck_assert_int_eq(d.kind, TG_INTAKE_NEW);
    ck_assert_msg(d.reply_queued, "%s", d.no_reply_reason);
    tg_decision_clear(&d);
    ck_assert_int_eq(tg_store_count_autoreplies(st, kate, NOW - 3600, &logged, &err), 0);
    ck_assert_int_eq(logged, 3);
    ck_assert_int_eq(ingest(kate, "help", "k1@c", NULL, &d), 0); /* mail: still limited */
    ck_assert_int_eq(d.reply_queued, 0);
    ck_assert_msg(strstr(d.no_reply_reason, "already got 3 auto-replies"), "%s", d.no_reply_reason);
    tg_decision_clear(&d);
    /* a limit of 0 still turns auto-replies off on both channels */
    tg_config *limited = cfg;
    cfg = store_config("no-replies.conf", "[limits]\nautoreply_limit = 0\n"
                                          "[queue support]\naddresses = support@example.org\n");
    ck_assert_int_eq(chat("lena@customer.ru", "scanner broken", "l0", &d), 0);
    ck_assert_int_eq(d.kind, TG_INTAKE_NEW);
    ck_assert_int_eq(d.reply_queued, 0);
    ck_assert_msg(strstr(d.no_reply_reason, "autoreply_limit = 0"), "%s", d.no_reply_reason);
    tg_decision_clear(&d);
    tg_config_unref(cfg);
    cfg = limited;
}
END_TEST

static int64_t file_size(const char *path)
{
    struct stat sb;
    ck_assert_int_eq(stat(path, &sb), 0);
    return (int64_t)sb.st_size;
}

/* ticketgate-xmpp defers checkpoints: the commit that fills the WAL (10,000 pages) leaves the
 * database file as it was, and the checkpoint runs when asked for, once the WAL is that full. */
START_TEST(test_deferred_checkpoint)
{
    tg_decision d;
    tg_err err = {0};
    tg_store_defer_checkpoints(st);
    ck_assert_int_eq(chat("kate@customer.ru", "printer broken", "k0", &d), 0);
    tg_decision_clear(&d);
    ck_assert_int_eq(tg_store_checkpoint_if_due(st, &err), 0);
    int64_t before = file_size(cfg->store_path);
    char *big = g_strnfill(1 << 20, 'x');
    tg_message m = {
        .ticket_id = 1, .direction = "out", .channel = "xmpp", .body = big, .created_at = NOW};
    ck_assert_int_eq(tg_store_begin(st, &err), 0);
    for (int i = 0; i < 45; i++) /* 45 MB: more than 10,000 pages */
        ck_assert_int_eq(tg_store_add_message(st, &m, &err), 0);
    ck_assert_int_eq(tg_store_commit(st, &err), 0);
    g_free(big);
    ck_assert_int_eq(file_size(cfg->store_path), before);
    ck_assert_int_eq(tg_store_checkpoint_if_due(st, &err), 0);
    ck_assert_int_gt(file_size(cfg->store_path), before + 45 * (1 << 20));
}
END_TEST

START_TEST(test_assignment_balances_and_reports_full)
{
    const char *got[5];
    for (int i = 0; i < 5; i++) {
        tg_decision d;
        char *id = g_strdup_printf("f%d@c", i);
        char *from = g_strdup_printf("c%d@customer.ru", i);
        ck_assert_int_eq(ingest(from, "help", id, NULL, &d), 0);
        got[i] = d.assignee ? (strcmp(d.assignee, "ann") == 0 ? "ann" : "bob") : NULL;
        if (i == 4)
            ck_assert_msg(strstr(d.assign_note, "2 at their limit"), "%s", d.assign_note);
        tg_decision_clear(&d);
        g_free(id);
        g_free(from);
    }
    /* least loaded first, ties to whoever waited longest: ann, bob, ann, bob, nobody */
    ck_assert_ptr_nonnull(got[0]);
    ck_assert_str_ne(got[0], got[1]);
    ck_assert_str_eq(got[0], got[2]);
    ck_assert_str_eq(got[1], got[3]);
    ck_assert_ptr_null(got[4]);

    /* The load counts new, open and pending tickets; resolved and closed ones free a place. */
    int64_t load, last;
    tg_err err = {0};
    const char *statuses[] = {"new", "open", "pending", "resolved", "closed"};
    const int64_t expected[] = {2, 2, 2, 1, 1};
    int64_t ann_first = sql_count("SELECT min(id) FROM tickets WHERE assignee = 'ann'");
    for (size_t i = 0; i < G_N_ELEMENTS(statuses); i++) {
        ck_assert_int_eq(tg_store_set_status(st, ann_first, statuses[i], NOW, &err), 0);
        ck_assert_int_eq(tg_store_agent_load(st, "ann", &load, &last, &err), 0);
        ck_assert_msg(load == expected[i], "%s: load %lld", statuses[i], (long long)load);
    }
}
END_TEST

START_TEST(test_store_failure_leaves_nothing)
{
    tg_decision d;
    ingest("maria@customer.ru", "first", "g1@c", NULL, &d);
    tg_decision_clear(&d);
    /* Another connection holds the write lock: intake must fail as temporary, write nothing. */
    sqlite3 *other;
    char *db = g_strdup(cfg->store_path);
    ck_assert_int_eq(sqlite3_open(db, &other), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    tg_store_opts opts = {.busy_timeout_ms = 50};
    tg_store *impatient;
    tg_err err = {0};
    ck_assert_int_eq(tg_store_open(db, &opts, &impatient, &err), 0);
    tg_store *saved = st;
    st = impatient;
    ck_assert_int_eq(ingest("maria@customer.ru", "second", "g2@c", NULL, &d), TG_ETEMP);
    st = saved;
    sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(other);
    tg_store_close(impatient);
    ck_assert_int_eq(ticket_count(), 1);
    ck_assert_int_eq(outbox_count(), 1);
    /* The retry succeeds once. */
    ck_assert_int_eq(ingest("maria@customer.ru", "second", "g2@c", NULL, &d), 0);
    ck_assert_int_eq(d.kind, TG_INTAKE_NEW);
    tg_decision_clear(&d);
    ck_assert_int_eq(ticket_count(), 2);
    g_free(db);
}
END_TEST

/* A message that fails half-way through its intake (here: the store refuses its auto-reply) is
 * undone alone: the others of its batch commit, and nothing of it remains. */
START_TEST(test_batch_failure_is_undone_alone)
{
    sqlite3 *db;
    ck_assert_int_eq(sqlite3_open(cfg->store_path, &db), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(db,
                                  "CREATE TRIGGER poison BEFORE INSERT ON outbox"
                                  " WHEN NEW.subject LIKE '%poison%'"
                                  " BEGIN SELECT RAISE(ABORT, 'poisoned reply'); END",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    tg_inbound *ins[3] = {parse_mail("a@customer.ru", "one", "p1@c"),
                          parse_mail("b@customer.ru", "poison", "p2@c"),
                          parse_mail("c@customer.ru", "three", "p3@c")};
    tg_intake_job jobs[3], *ptrs[3];
    make_jobs(ins, jobs, ptrs, 3);
    ck_assert_uint_eq(tg_intake_process_batch(cfg, st, ptrs, 3), 2);
    ck_assert_int_eq(jobs[0].rc, TG_OK);
    ck_assert_int_eq(jobs[2].rc, TG_OK);
    ck_assert_int_ne(jobs[1].rc, TG_OK);
    ck_assert_ptr_nonnull(strstr(jobs[1].err.msg, "poisoned reply"));
    ck_assert_int_eq(jobs[0].dec.kind, TG_INTAKE_NEW);
    ck_assert_int_eq(jobs[2].dec.kind, TG_INTAKE_NEW);
    ck_assert_ptr_null(jobs[1].dec.ref);
    for (int i = 0; i < 3; i++) {
        tg_decision_clear(&jobs[i].dec);
        tg_inbound_free(ins[i]);
    }
    ck_assert_int_eq(ticket_count(), 2);
    ck_assert_int_eq(outbox_count(), 2);
    ck_assert_int_eq(sql_count("SELECT count(*) FROM messages WHERE sender = 'b@customer.ru'"), 0);
    ck_assert_int_eq(sql_count("SELECT count(*) FROM events WHERE detail LIKE '%b@customer.ru%'"),
                     0);
    ck_assert_int_eq(sql_count("SELECT count(*) FROM autoreply_log"), 2);
}
END_TEST

/* A batch is one transaction: a message twice in it is one ticket; a failed commit (here: the
 * write lock never comes) fails every job and writes nothing. */
START_TEST(test_batch_group_commit)
{
    tg_inbound *ins[3] = {parse_mail("a@customer.ru", "one", "b1@c"),
                          parse_mail("b@customer.ru", "two", "b2@c"),
                          parse_mail("a@customer.ru", "one", "b1@c")};
    tg_intake_job jobs[3], *ptrs[3];
    make_jobs(ins, jobs, ptrs, 3);
    ck_assert_uint_eq(tg_intake_process_batch(cfg, st, ptrs, 3), 3);
    ck_assert_int_eq(jobs[0].dec.kind, TG_INTAKE_NEW);
    ck_assert_int_eq(jobs[1].dec.kind, TG_INTAKE_NEW);
    ck_assert_int_eq(jobs[2].dec.kind, TG_INTAKE_DUPLICATE);
    ck_assert_str_eq(jobs[2].dec.ref, jobs[0].dec.ref);
    for (int i = 0; i < 3; i++)
        tg_decision_clear(&jobs[i].dec);
    ck_assert_int_eq(ticket_count(), 2);

    sqlite3 *other;
    ck_assert_int_eq(sqlite3_open(cfg->store_path, &other), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    tg_store_opts opts = {.busy_timeout_ms = 50};
    tg_store *impatient;
    tg_err err = {0};
    ck_assert_int_eq(tg_store_open(cfg->store_path, &opts, &impatient, &err), 0);
    tg_inbound *more[2] = {parse_mail("c@customer.ru", "three", "b3@c"),
                           parse_mail("d@customer.ru", "four", "b4@c")};
    make_jobs(more, jobs, ptrs, 2);
    ck_assert_uint_eq(tg_intake_process_batch(cfg, impatient, ptrs, 2), 0);
    ck_assert_int_eq(jobs[0].rc, TG_ETEMP);
    ck_assert_int_eq(jobs[1].rc, TG_ETEMP);
    ck_assert_ptr_nonnull(strstr(jobs[1].err.msg, "locked"));
    sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(other);
    tg_store_close(impatient);
    ck_assert_int_eq(ticket_count(), 2);
    for (int i = 0; i < 3; i++)
        tg_inbound_free(ins[i]);
    for (int i = 0; i < 2; i++)
        tg_inbound_free(more[i]);
}
END_TEST

/* An agent's mail on a closed ticket is kept on it but not relayed, and the agent is told (here
 * by mail: no chat); no ticket of the agent's, whose auto-reply would be all that came of the
 * answer. The same mail again changes nothing. */
START_TEST(test_agent_answer_on_closed_ticket)
{
    tg_decision d;
    tg_err err = {0};
    ingest("maria@customer.ru", "Question", "q1@c", NULL, &d);
    tg_decision_clear(&d);
    ck_assert_int_eq(tg_store_set_status(st, 1, "closed", NOW, &err), 0);
    int64_t outbox = outbox_count();
    for (int again = 0; again < 2; again++) {
        ck_assert_int_eq(
            ingest("bob@example.org", "Re: [SUP-1] Question", "late@example.org", NULL, &d), 0);
        ck_assert_int_eq(d.kind, again ? TG_INTAKE_DUPLICATE : TG_INTAKE_IGNORED);
        ck_assert_str_eq(d.ref, "SUP-1");
        tg_decision_clear(&d);
    }
    ck_assert_int_eq(ticket_count(), 1);
    ck_assert_int_eq(outbox_count(), outbox + 1);
    char *notice = sql_text("SELECT kind || ' ' || channel || ' ' || recipient || ' ' || subject "
                            "FROM outbox ORDER BY id DESC LIMIT 1");
    ck_assert_str_eq(notice, "notice email bob@example.org Not sent: SUP-1 Question");
    g_free(notice);
    char *event = sql_text("SELECT detail FROM events WHERE kind = 'answer-refused'");
    ck_assert_str_eq(event, "agent bob by email, message late@example.org: closed, not relayed; "
                            "told by mail");
    g_free(event);
    ck_assert_int_eq(sql_count("SELECT count(*) FROM messages WHERE direction = 'agent'"), 1);
    ck_assert_int_eq(sql_count("SELECT first_response_at IS NULL FROM tickets"), 1);
}
END_TEST

/* tg_intake_answer commits an agent's answer, and nothing else: a customer's message, or an
 * agent's mail on a closed ticket (a new ticket otherwise), is rolled back with the reason. */
START_TEST(test_answer_only_commits_answers)
{
    tg_decision d;
    tg_err err = {0};
    ingest("maria@customer.ru", "Question", "a1@c", NULL, &d);
    char *subject = g_strdup_printf("Re: [%s] Question", d.ref);
    tg_decision_clear(&d);
    int64_t outbox = outbox_count();
    tg_inbound *customer = parse_mail("maria@customer.ru", subject, "a2@c");
    ck_assert_int_eq(tg_intake_answer(cfg, st, customer, NOW, &d, &err), TG_EINVAL);
    ck_assert_str_eq(err.msg, "SUP-1: not taken as an answer (follow-up); nothing was sent");
    ck_assert_ptr_null(d.ref);
    ck_assert_int_eq(sql_count("SELECT count(*) FROM messages"), 2); /* in, and the auto-reply */

    ck_assert_int_eq(tg_store_set_status(st, 1, "closed", NOW, &err), 0);
    tg_inbound *agent = parse_mail("bob@example.org", subject, "a3@c");
    ck_assert_int_eq(tg_intake_answer(cfg, st, agent, NOW, &d, &err), TG_EINVAL);
    ck_assert_str_eq(err.msg, "SUP-1: not taken as an answer (ignored); nothing was sent");
    ck_assert_int_eq(ticket_count(), 1);
    ck_assert_int_eq(outbox_count(), outbox);

    ck_assert_int_eq(tg_store_set_status(st, 1, "open", NOW, &err), 0);
    ck_assert_int_eq(tg_intake_answer(cfg, st, agent, NOW, &d, &err), 0);
    ck_assert_int_eq(d.kind, TG_INTAKE_AGENT_REPLY);
    ck_assert_int_eq(outbox_count(), outbox + 1); /* relayed */
    tg_decision_clear(&d);
    tg_inbound_free(agent);
    tg_inbound_free(customer);
    g_free(subject);
}
END_TEST

START_TEST(test_explain_writes_nothing)
{
    tg_inbound *in = NULL;
    const char *mail = "From: x@customer.ru\nSubject: urgent\nMessage-ID: <h1@c>\n\nhi\n";
    ck_assert_int_eq(tg_mail_parse(mail, strlen(mail), NULL, &in, NULL), 0);
    tg_decision d;
    tg_err err = {0};
    ck_assert_int_eq(tg_intake_explain(cfg, st, in, NOW, &d, &err), 0);
    ck_assert_str_eq(d.rule, "urgent");
    ck_assert_int_eq(d.reply_queued, 1);
    tg_decision_clear(&d);
    tg_inbound_free(in);
    ck_assert_int_eq(ticket_count(), 0);
    ck_assert_int_eq(outbox_count(), 0);
}
END_TEST

START_TEST(test_newer_schema_refused)
{
    char *db = g_strdup_printf("%s/future.db", tu_tmpdir());
    sqlite3 *raw;
    ck_assert_int_eq(sqlite3_open(db, &raw), SQLITE_OK);
    sqlite3_exec(raw, "PRAGMA user_version = 99", NULL, NULL, NULL);
    sqlite3_close(raw);
    tg_store *future = NULL;
    tg_err err = {0};
    ck_assert_int_eq(tg_store_open(db, NULL, &future, &err), TG_ESTORE);
    ck_assert_msg(strstr(err.msg, "newer than this ticketgate"), "%s", err.msg);
    ck_assert_ptr_null(future);
    g_free(db);
}
END_TEST

/* A store whose directory is missing is said to be so (SQLite says only "unable to open database
 * file"), and the configuration that names it warns of it first. */
START_TEST(test_store_directory_missing)
{
    char *db = g_strdup_printf("%s/no-such-dir/t.db", tu_tmpdir());
    tg_store *none = NULL;
    tg_err err = {0};
    ck_assert_int_eq(tg_store_open(db, NULL, &none, &err), TG_ETEMP);
    char *want =
        g_strdup_printf("store %s: its directory %s/no-such-dir does not exist", db, tu_tmpdir());
    ck_assert_str_eq(err.msg, want);
    ck_assert_ptr_null(none);
    char *rules = tu_write("dirless-rules.conf", "[rule default]\n");
    char *text = g_strdup_printf("[store]\npath = %s\n[rules]\nfile = %s\n", db, rules);
    char *path = tu_write("dirless.conf", text);
    tg_config *c = tg_config_load(path, &err);
    ck_assert_msg(c != NULL, "%s", err.msg);
    ck_assert_uint_eq(c->warnings->len, 1);
    ck_assert_msg(strstr(g_ptr_array_index(c->warnings, 0), "[store] path: the directory ") &&
                      strstr(g_ptr_array_index(c->warnings, 0), "no-such-dir does not exist"),
                  "%s", (char *)g_ptr_array_index(c->warnings, 0));
    tg_config_unref(c);
    g_free(path);
    g_free(text);
    g_free(rules);
    g_free(want);
    g_free(db);
}
END_TEST

/* A store written by the first release (schema 1: no outbox.stanza_type, outbox_pending over
 * every row, no tickets.agent_group, no attachments) is upgraded in place and keeps its
 * tickets and pending replies. */
START_TEST(test_schema_1_upgraded)
{
    tg_decision d;
    ingest("maria@customer.ru", "Before the upgrade", "u1@c", NULL, &d);
    tg_decision_clear(&d);
    tg_store_close(st);
    sqlite3 *raw;
    ck_assert_int_eq(sqlite3_open(cfg->store_path, &raw), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(raw, /* back to schema 1 */
                                  "DROP INDEX messages_sent;"
                                  "CREATE INDEX messages_msgid ON messages(msg_id);"
                                  "DROP INDEX tickets_chat;"
                                  "CREATE INDEX tickets_conversation"
                                  " ON tickets(requester, channel, queue, status);"
                                  "ALTER TABLE outbox DROP COLUMN stanza_type;"
                                  "ALTER TABLE tickets DROP COLUMN agent_group;"
                                  "DROP INDEX outbox_pending;"
                                  "CREATE INDEX outbox_pending"
                                  " ON outbox(channel, status, next_attempt_at);"
                                  "DROP TABLE ticket_id_floor;"
                                  "ALTER TABLE messages DROP COLUMN attachments;"
                                  "ALTER TABLE outbox DROP COLUMN attachments_mime;"
                                  "PRAGMA user_version = 1;",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(raw);
    tg_err err = {0};
    ck_assert_int_eq(tg_store_open(cfg->store_path, NULL, &st, &err), 0);
    ck_assert_int_eq(ticket_count(), 1);
    tg_outbox row;
    ck_assert_int_eq(tg_store_claim_outbox(st, "email", NOW, NOW + 60, &row, &err), 1);
    ck_assert_ptr_null(row.stanza_type);
    tg_outbox_clear(&row);
    ck_assert_int_eq(ingest("maria@customer.ru", "After", "u2@c", NULL, &d), 0);
    ck_assert_int_eq(d.kind, TG_INTAKE_NEW);
    tg_decision_clear(&d);
    ck_assert_int_eq(sql_count("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name"
                               " IN ('messages_sent', 'tickets_chat')"),
                     2);
    ck_assert_int_eq(sql_count("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name"
                               " IN ('messages_msgid', 'tickets_conversation')"),
                     0);
    ck_assert_int_eq(sql_count("SELECT count(*) FROM sqlite_master WHERE name = 'outbox_pending'"
                               " AND sql LIKE '%WHERE status = ''pending''%'"),
                     1);
    ck_assert_int_eq(sql_count("PRAGMA user_version"), tg_store_schema_version());
    ck_assert_int_eq(sql_count("SELECT id FROM ticket_id_floor"), 1); /* the ticket there was */
    ck_assert_int_eq(sql_count("SELECT count(*) FROM tickets WHERE agent_group IS NULL AND id = 1"
                               " OR agent_group = 'l1' AND id = 2"),
                     2);
    ck_assert_int_eq(sql_count("SELECT count(*) FROM messages WHERE direction = 'in'"
                               " AND attachments IS NULL"),
                     2);
}
END_TEST

/* ticket_due - a ticket of channel/queue whose first response is due at due (-1: no target),
 * answered at answered (0: not yet); its id. */
/* ticket_about - a ticket with this subject whose first response and resolution are due then. */
static int64_t ticket_about(const char *channel, const char *queue, const char *subject,
                            int64_t due, int64_t resolution_due)
{
    tg_ticket t = {.channel = (char *)channel,
                   .source = "test",
                   .queue = (char *)queue,
                   .priority = "normal",
                   .requester = "c@customer.ru",
                   .subject = (char *)subject,
                   .status = "new",
                   .created_at = NOW - 3600,
                   .first_response_due = due,
                   .resolution_due = resolution_due};
    tg_err err = {0};
    ck_assert_int_eq(tg_store_insert_ticket(st, &t, "SUP", &err), 0);
    g_free(t.ref);
    return t.id;
}

static int64_t ticket_due_both(const char *channel, const char *queue, int64_t due,
                               int64_t resolution_due)
{
    return ticket_about(channel, queue, "s", due, resolution_due);
}

static int64_t ticket_due(const char *channel, const char *queue, int64_t due, int64_t answered)
{
    int64_t id = ticket_due_both(channel, queue, due, -1);
    tg_err err = {0};
    if (answered)
        ck_assert_int_eq(tg_store_set_first_response(st, id, answered, &err), 0);
    return id;
}

typedef struct levels {
    GString *rows;
} levels;

static int level_row(const tg_service_level *r, void *ud)
{
    g_string_append_printf(((levels *)ud)->rows, "%s/%s due %lld in %lld late %lld waiting %lld;",
                           r->channel, r->queue, (long long)r->due, (long long)r->in_time,
                           (long long)r->late, (long long)r->waiting);
    return 0;
}

/* Service levels count the first responses due in [from, to): in time when answered (or
 * resolved without an answer) by the due time, late after it or unanswered once it passed,
 * waiting while it is ahead. */
START_TEST(test_service_levels)
{
    tg_err err = {0};
    ticket_due("email", "support", NOW + 100, NOW + 50);  /* in time */
    ticket_due("email", "support", NOW + 100, NOW + 100); /* in time, just */
    ticket_due("email", "support", NOW + 100, NOW + 150); /* late */
    ticket_due("email", "support", NOW + 100, 0);         /* late: unanswered, due passed */
    ticket_due("email", "support", NOW + 300, 0);         /* waiting */
    int64_t spam = ticket_due("email", "support", NOW + 100, 0);
    ck_assert_int_eq(tg_store_set_status(st, spam, "closed", NOW + 60, &err), 0); /* in time */
    int64_t slow = ticket_due("email", "support", NOW + 100, 0);
    ck_assert_int_eq(tg_store_set_status(st, slow, "resolved", NOW + 160, &err), 0); /* late */
    ticket_due("email", "billing", NOW + 100, NOW + 10);                             /* in time */
    ticket_due("xmpp", "support", NOW + 90, 0);                                      /* late */
    ticket_due("email", "support", NOW - 1, NOW);  /* before the period */
    ticket_due("email", "support", NOW + 1000, 0); /* at its end: not in it */
    ticket_due("email", "support", -1, 0);         /* no target */

    levels l = {g_string_new(NULL)};
    ck_assert_int_eq(tg_store_service_levels(st, TG_TARGET_FIRST_RESPONSE, NOW, NOW + 1000,
                                             NOW + 200, level_row, &l, &err),
                     0);
    ck_assert_str_eq(l.rows->str, "email/billing due 1 in 1 late 0 waiting 0;"
                                  "email/support due 7 in 3 late 3 waiting 1;"
                                  "xmpp/support due 1 in 0 late 1 waiting 0;");
    g_string_free(l.rows, TRUE);
}
END_TEST

/* Resolution levels: in time when resolved or closed by the resolution due time; a reopened
 * ticket is not resolved; late or waiting like first responses. */
START_TEST(test_resolution_levels)
{
    tg_err err = {0};
    struct {
        const char *channel;
        int64_t due;
        const char *status; /* at NOW + at, or NULL */
        int64_t at;
    } tickets[] = {
        {"email", NOW + 100, "resolved", 50},  /* in time */
        {"email", NOW + 100, "closed", 100},   /* in time, just */
        {"email", NOW + 100, "resolved", 150}, /* late */
        {"email", NOW + 100, NULL, 0},         /* late: open, due passed */
        {"email", NOW + 300, NULL, 0},         /* waiting */
        {"email", NOW + 100, "reopened", 50},  /* late: resolved, then reopened */
        {"xmpp", NOW + 90, "resolved", 10},    /* in time */
        {"email", NOW - 1, "resolved", 10},    /* before the period */
        {"email", NOW + 1000, NULL, 0},        /* at its end: not in it */
        {"email", -1, NULL, 0},                /* no target */
    };
    for (size_t i = 0; i < G_N_ELEMENTS(tickets); i++) {
        int64_t id = ticket_due_both(tickets[i].channel, "support", NOW + 10, tickets[i].due);
        const char *status = tickets[i].status;
        int reopened = status && strcmp(status, "reopened") == 0;
        if (status)
            ck_assert_int_eq(tg_store_set_status(st, id, reopened ? "resolved" : status,
                                                 NOW + tickets[i].at, &err),
                             0);
        if (reopened)
            ck_assert_int_eq(tg_store_set_status(st, id, "open", NOW + 60, &err), 0);
    }
    levels l = {g_string_new(NULL)};
    ck_assert_int_eq(tg_store_service_levels(st, TG_TARGET_RESOLUTION, NOW, NOW + 1000, NOW + 200,
                                             level_row, &l, &err),
                     0);
    ck_assert_str_eq(l.rows->str, "email/support due 6 in 2 late 3 waiting 1;"
                                  "xmpp/support due 1 in 1 late 0 waiting 0;");
    g_string_free(l.rows, TRUE);
}
END_TEST

/* expect_escalated - escalation at `at` with c logs exactly want (its lines joined by "\n",
 * "" for none). */
static void expect_escalated(tg_config *c, int64_t at, const char *want)
{
    GPtrArray *done = NULL;
    int more = 1;
    tg_err err = {0};
    ck_assert_int_eq(tg_escalate_overdue(c, st, at, &done, &more, &err), 0);
    ck_assert_int_eq(more, 0);
    g_ptr_array_add(done, NULL);
    char *got = g_strjoinv("\n", (char **)done->pdata);
    ck_assert_str_eq(got, want);
    g_free(got);
    g_ptr_array_unref(done);
}

/* Tickets whose first answer became overdue are escalated once each: to the agent who has the
 * ticket, or, when nobody can be told that way, to the active agents of the queue's group (all
 * active agents when the queue has none); never answered, closed, future or long-past ones.
 * An agent is told by chat (in their language), or by mail when they have no JID. */
START_TEST(test_escalation)
{
    tg_config *chat_cfg = store_config(
        "escalate.conf", "[general]\ntimezone = Europe/Moscow\n"
                         "[xmpp]\ndomain = support.example.org\nsecret = x\n"
                         "[queue support]\naddresses = support@example.org\ngroup = l1\n"
                         "[queue billing]\naddresses = billing@example.org\n"
                         "[agent ann]\njid = ann@example.org\ngroups = l1\n"
                         "[agent bob]\njid = bob@example.org\ngroups = l1\nactive = false\n"
                         "[agent carol]\njid = carol@example.org\ngroups = l2\nlang = ru\n"
                         "[agent dave]\nemail = dave@example.org\ngroups = l1\n");
    tg_err err = {0};

    int64_t anns = ticket_due("email", "support", NOW - 60, 0);
    ck_assert_int_eq(tg_store_set_assignee(st, anns, "ann", NOW - 600, &err), 0);
    ticket_due("email", "support", NOW - 30, 0); /* nobody's: the group l1 */
    ticket_due("xmpp", "billing", NOW - 10, 0);  /* no group: every active agent */
    int64_t bobs = ticket_due("email", "support", NOW - 20, 0);
    ck_assert_int_eq(tg_store_set_assignee(st, bobs, "bob", NOW - 600, &err), 0);
    ticket_due("email", "support", NOW - 60, NOW - 90); /* answered */
    ticket_due("email", "support", NOW + 60, 0);        /* not due yet */
    ticket_due("email", "support", NOW - 2 * 86400, 0); /* overdue for days: left alone */
    int64_t done_id = ticket_due("email", "support", NOW - 60, 0);
    ck_assert_int_eq(tg_store_set_status(st, done_id, "resolved", NOW - 30, &err), 0);
    /* no group; a subject too long for a line of the list */
    ticket_about("xmpp", "billing",
                 "Принтер не печатает. Принтер не печатает. Принтер не печатает. "
                 "Принтер не печатает. Принтер не печатает.",
                 NOW - 5, -1);

    expect_escalated(chat_cfg, NOW,
                     "SUP-1: first answer was due Tue 24 Nov 2026 09:59 MSK; told ann (chat)\n"
                     "SUP-2: first answer was due Tue 24 Nov 2026 09:59 MSK; "
                     "told ann (chat), dave (mail)\n"
                     "SUP-4: first answer was due Tue 24 Nov 2026 09:59 MSK; "
                     "told ann (chat), dave (mail)\n"
                     "SUP-3: first answer was due Tue 24 Nov 2026 09:59 MSK; "
                     "told ann (chat), carol (chat), dave (mail)\n"
                     "SUP-9: first answer was due Tue 24 Nov 2026 09:59 MSK; "
                     "told ann (chat), carol (chat), dave (mail)");
    ck_assert_int_eq(sql_count("SELECT count(*) FROM events WHERE kind = 'escalated'"), 5);

    /* One notice per agent: a list for several tickets (it belongs to none of them), the
     * single notice for one. */
    ck_assert_int_eq(sql_count("SELECT count(*) FROM outbox WHERE kind = 'escalation'"), 3);
    char *ann = sql_text("SELECT body FROM outbox WHERE recipient = 'ann@example.org'"
                         " AND channel = 'xmpp' AND sender = 'support.example.org'"
                         " AND ticket_id IS NULL");
    ck_assert_str_eq(ann, "Overdue: 5 tickets have no answer yet (reference, first response due, "
                          "priority, subject):\n"
                          "SUP-1 | Tue 24 Nov 2026 09:59 MSK | normal | s\n"
                          "SUP-2 | Tue 24 Nov 2026 09:59 MSK | normal | s\n"
                          "SUP-4 | Tue 24 Nov 2026 09:59 MSK | normal | s\n"
                          "SUP-3 | Tue 24 Nov 2026 09:59 MSK | normal | s\n"
                          "SUP-9 | Tue 24 Nov 2026 09:59 MSK | normal | Принтер не печатает. "
                          "Принтер не печатает. Принтер не печатает. Принтер не печат…");
    g_free(ann);
    char *carol = sql_text("SELECT body FROM outbox WHERE recipient = 'carol@example.org'"
                           " AND ticket_id IS NULL");
    ck_assert_str_eq(carol,
                     "Просрочено: обращений без ответа — 2 (номер, срок первого ответа, приоритет, "
                     "тема):\n"
                     "SUP-3 | вт, 24 ноября 2026, 09:59 MSK | normal | s\n"
                     "SUP-9 | вт, 24 ноября 2026, 09:59 MSK | normal | Принтер не печатает. "
                     "Принтер не печатает. Принтер не печатает. Принтер не печат…");
    g_free(carol);
    /* by mail from the first ticket's queue, no tag in the subject, how to answer */
    ck_assert_int_eq(
        sql_count("SELECT count(*) FROM outbox WHERE kind = 'escalation' AND channel = 'email'"
                  " AND recipient = 'dave@example.org' AND ticket_id IS NULL"
                  " AND status = 'pending' AND sender = 'support@example.org'"
                  " AND subject = 'Overdue: 4 tickets'"
                  " AND body LIKE 'Hello dave,%SUP-2 | %SUP-4 | %SUP-3 | %SUP-9 | %"
                  "ticketgatectl reply --agent dave REF%'"),
        1);

    /* once only; the next one when its time comes, alone: the single notice */
    expect_escalated(chat_cfg, NOW + 30, "");
    expect_escalated(chat_cfg, NOW + 60,
                     "SUP-6: first answer was due Tue 24 Nov 2026 10:01 MSK; "
                     "told ann (chat), dave (mail)");
    ck_assert_int_eq(sql_count("SELECT count(*) FROM outbox WHERE kind = 'escalation'"), 5);
    ck_assert_int_eq(sql_count("SELECT count(*) FROM outbox WHERE recipient = 'ann@example.org'"
                               " AND ticket_id = 6 AND body LIKE 'Overdue: SUP-6 has no answer%'"),
                     1);
    ck_assert_int_eq(
        sql_count("SELECT count(*) FROM outbox WHERE recipient = 'dave@example.org'"
                  " AND ticket_id = 6 AND sender = 'support@example.org'"
                  " AND subject LIKE 'Overdue: SUP-6 %' AND subject NOT LIKE '%[%'"
                  " AND body LIKE 'Hello dave,%ticketgatectl reply --agent dave SUP-6%'"),
        1);
    tg_config_unref(chat_cfg);

    /* A site without the chat component: agents with an e-mail address are told by mail;
     * nobody can be told, and the event says so, when none has one. */
    tg_config *mail_cfg =
        store_config("escalate-mail.conf", "[queue support]\naddresses = support@example.org\n"
                                           "[agent ann]\njid = ann@example.org\n"
                                           "email = a@example.org\n"
                                           "[agent bob]\njid = bob@example.org\n");
    int64_t bobs_too = ticket_due("email", "support", NOW + 100, 0);
    ck_assert_int_eq(tg_store_set_assignee(st, bobs_too, "bob", NOW, &err), 0);
    expect_escalated(mail_cfg, NOW + 120,
                     "SUP-10: first answer was due Tue 24 Nov 2026 07:01 UTC; told ann (mail)");
    tg_config *none_cfg =
        store_config("escalate-none.conf", "[queue support]\nxmpp = support\n"
                                           "[agent bob]\nemail = bob@example.org\n");
    ticket_due("email", "support", NOW + 150, 0);
    expect_escalated(none_cfg, NOW + 160,
                     "SUP-11: first answer was due Tue 24 Nov 2026 07:02 UTC; "
                     "no agent to tell by chat or mail");
    tg_config_unref(none_cfg);
    tg_config_unref(mail_cfg);
}
END_TEST

/* A ticket that then misses its resolution target is escalated once more, whether it was
 * answered or not, also while it waits for the customer; the notices name the resolution due
 * time, and several tickets in one round make one list per agent, one per target. */
START_TEST(test_resolution_escalation)
{
    tg_config *chat_cfg = store_config(
        "resolution.conf", "[general]\ntimezone = Europe/Moscow\n"
                           "[xmpp]\ndomain = support.example.org\nsecret = x\n"
                           "[queue support]\naddresses = support@example.org\ngroup = l1\n"
                           "[agent ann]\njid = ann@example.org\ngroups = l1\n"
                           "[agent dave]\nemail = dave@example.org\ngroups = l1\n");
    tg_err err = {0};
    int64_t answered = ticket_due_both("email", "support", NOW - 7200, NOW - 60);
    ck_assert_int_eq(tg_store_set_first_response(st, answered, NOW - 7300, &err), 0);
    ck_assert_int_eq(tg_store_set_status(st, answered, "open", NOW - 7300, &err), 0);
    int64_t pending = ticket_due_both("email", "support", NOW - 7200, NOW - 30);
    ck_assert_int_eq(tg_store_set_first_response(st, pending, NOW - 7300, &err), 0);
    ck_assert_int_eq(tg_store_set_status(st, pending, "pending", NOW - 7300, &err), 0);
    int64_t resolved = ticket_due_both("email", "support", NOW - 7200, NOW - 30);
    ck_assert_int_eq(tg_store_set_first_response(st, resolved, NOW - 7300, &err), 0);
    ck_assert_int_eq(tg_store_set_status(st, resolved, "resolved", NOW - 100, &err), 0);
    int64_t later = ticket_due_both("email", "support", NOW - 7200, NOW + 60);
    ck_assert_int_eq(tg_store_set_first_response(st, later, NOW - 7300, &err), 0);
    ticket_due_both("email", "support", NOW - 10, NOW + 3600); /* the first answer only */
    ticket_due_both("email", "support", NOW - 100, NOW - 20);  /* both */

#define TOLD "; told ann (chat), dave (mail)"
    expect_escalated(chat_cfg, NOW,
                     "SUP-6: first answer was due Tue 24 Nov 2026 09:58 MSK" TOLD "\n"
                     "SUP-5: first answer was due Tue 24 Nov 2026 09:59 MSK" TOLD "\n"
                     "SUP-1: resolution was due Tue 24 Nov 2026 09:59 MSK" TOLD "\n"
                     "SUP-2: resolution was due Tue 24 Nov 2026 09:59 MSK" TOLD "\n"
                     "SUP-6: resolution was due Tue 24 Nov 2026 09:59 MSK" TOLD);
    ck_assert_int_eq(sql_count("SELECT count(*) FROM events WHERE kind = 'escalated-resolution'"),
                     3);
    ck_assert_int_eq(sql_count("SELECT count(*) FROM outbox"), 4); /* a list per agent and target */
    char *ann = sql_text("SELECT body FROM outbox WHERE recipient = 'ann@example.org'"
                         " AND body LIKE '%not resolved%'");
    ck_assert_str_eq(ann, "Overdue: 3 tickets are not resolved yet (reference, resolution due, "
                          "priority, subject):\n"
                          "SUP-1 | Tue 24 Nov 2026 09:59 MSK | normal | s\n"
                          "SUP-2 | Tue 24 Nov 2026 09:59 MSK | normal | s\n"
                          "SUP-6 | Tue 24 Nov 2026 09:59 MSK | normal | s");
    g_free(ann);
    ck_assert_int_eq(sql_count("SELECT count(*) FROM outbox WHERE recipient = 'dave@example.org'"
                               " AND subject = 'Not resolved in time: 3 tickets'"
                               " AND body LIKE 'Hello dave,%SUP-1 | %SUP-2 | %SUP-6 | %'"),
                     1);

    /* once only; the next one alone: the single notice */
    expect_escalated(chat_cfg, NOW + 30, "");
    expect_escalated(chat_cfg, NOW + 60,
                     "SUP-4: resolution was due Tue 24 Nov 2026 10:01 MSK" TOLD);
#undef TOLD
    ck_assert_int_eq(sql_count("SELECT count(*) FROM outbox WHERE recipient = 'ann@example.org'"
                               " AND ticket_id = 4 AND body LIKE 'Overdue: SUP-4 is not resolved"
                               " yet; the resolution was due Tue 24 Nov 2026 10:01 MSK.%'"),
                     1);
    ck_assert_int_eq(sql_count("SELECT count(*) FROM outbox WHERE recipient = 'dave@example.org'"
                               " AND ticket_id = 4 AND subject = 'Not resolved in time: SUP-4 s'"),
                     1);
    tg_config_unref(chat_cfg);
}
END_TEST

/* The group a rule routes a ticket to is kept on it: an unassigned ticket of that rule is
 * escalated to that group, not to its queue's. */
START_TEST(test_rule_group_kept)
{
    tg_decision d;
    ck_assert_int_eq(ingest("vip@customer.ru", "vip-rule: help", "vip-1@customer.ru", NULL, &d), 0);
    tg_decision_clear(&d);
    ck_assert_int_eq(ingest("c@customer.ru", "plain", "plain-1@customer.ru", NULL, &d), 0);
    tg_decision_clear(&d);
    tg_ticket vip = {0}, plain = {0};
    tg_err err = {0};
    ck_assert_int_eq(tg_store_ticket_by_ref(st, "SUP-1", &vip, &err), 1);
    ck_assert_int_eq(tg_store_ticket_by_ref(st, "SUP-2", &plain, &err), 1);
    ck_assert_str_eq(vip.agent_group, "l2");
    ck_assert_ptr_null(vip.assignee); /* nobody in l2 here */
    ck_assert_str_eq(plain.agent_group, "l1");
    ck_assert_str_eq(plain.assignee, "ann");

    tg_config *chat_cfg =
        store_config("group.conf", "[xmpp]\ndomain = support.example.org\nsecret = x\n"
                                   "[queue support]\naddresses = support@example.org\ngroup = l1\n"
                                   "[agent ann]\njid = ann@example.org\ngroups = l1\n"
                                   "[agent carol]\njid = carol@example.org\ngroups = l2\n");
    GPtrArray *done = NULL;
    ck_assert_int_eq(
        tg_escalate_overdue(chat_cfg, st, vip.first_response_due + 60, &done, NULL, &err), 0);
    ck_assert_int_eq(done->len, 2);
    ck_assert(g_str_has_prefix(done->pdata[0], "SUP-1: ") &&
              g_str_has_suffix(done->pdata[0], "; told carol (chat)"));
    ck_assert(g_str_has_prefix(done->pdata[1], "SUP-2: ") &&
              g_str_has_suffix(done->pdata[1], "; told ann (chat)"));
    g_ptr_array_unref(done);
    tg_config_unref(chat_cfg);
    tg_ticket_clear(&vip);
    tg_ticket_clear(&plain);
}
END_TEST

/* refs - the references of a list of tickets, joined by spaces; caller g_free()s. */
static char *refs(GPtrArray *list)
{
    ck_assert_ptr_nonnull(list); /* NULL: the store failed */
    GString *out = g_string_new(NULL);
    for (guint i = 0; i < list->len; i++)
        g_string_append_printf(out, "%s%s", i ? " " : "", ((tg_ticket *)list->pdata[i])->ref);
    g_ptr_array_unref(list);
    return g_string_free(out, FALSE);
}

/* An agent is offered the unresolved tickets nobody has of the groups they are in (the rule's
 * group, else the queue's) and of no group, most urgent first; their own list is theirs only. */
START_TEST(test_unassigned_for_agent)
{
    tg_config *c = store_config("unassigned.conf",
                                "[queue support]\naddresses = support@example.org\ngroup = l1\n"
                                "[queue billing]\naddresses = billing@example.org\n"
                                "[agent ann]\nemail = ann@example.org\ngroups = l1\n"
                                "[agent carol]\nemail = carol@example.org\ngroups = l2\n");
    tg_err err = {0};
    int64_t later = ticket_due("email", "support", NOW + 600, 0);
    ck_assert_int_eq(tg_store_set_status(st, later, "pending", NOW - 60, &err), 0);
    ticket_due("email", "support", NOW - 30, 0); /* overdue: first */
    ticket_due("xmpp", "billing", NOW + 60, 0);  /* no group: anyone's */
    int64_t anns = ticket_due("email", "support", NOW + 10, 0);
    ck_assert_int_eq(tg_store_set_assignee(st, anns, "ann", NOW - 600, &err), 0);
    int64_t done = ticket_due("email", "support", NOW + 10, 0);
    ck_assert_int_eq(tg_store_set_status(st, done, "resolved", NOW - 30, &err), 0);
    int64_t routed = ticket_due("email", "support", NOW + 30, 0); /* by a rule, to l2 */
    char *update = g_strdup_printf(
        "UPDATE tickets SET agent_group = 'l2' WHERE id = %lld RETURNING id", (long long)routed);
    g_free(sql_text(update));
    g_free(update);

    const tg_agent *ann = tg_config_agent(c, "ann"), *carol = tg_config_agent(c, "carol");
    char *got = refs(tg_agent_unassigned_tickets(c, st, ann, NOW, &err));
    ck_assert_str_eq(got, "SUP-2 SUP-3 SUP-1");
    g_free(got);
    got = refs(tg_agent_unassigned_tickets(c, st, carol, NOW, &err));
    ck_assert_str_eq(got, "SUP-6 SUP-3");
    g_free(got);
    got = refs(tg_agent_open_tickets(st, ann, NOW, &err));
    ck_assert_str_eq(got, "SUP-4");
    g_free(got);
    char *done_text = NULL;
    ck_assert_int_eq(tg_ticket_act(c, st, "SUP-3", carol, "en", TG_ACT_TAKE, NOW, &done_text, &err),
                     0);
    g_free(done_text);
    got = refs(tg_agent_unassigned_tickets(c, st, ann, NOW, &err));
    ck_assert_str_eq(got, "SUP-2 SUP-1");
    g_free(got);

    /* released, ann's ticket is nobody's again; only one's own ticket can be released */
    ck_assert_int_eq(
        tg_ticket_act(c, st, "SUP-3", ann, "en", TG_ACT_RELEASE, NOW, &done_text, &err), TG_EPERM);
    ck_assert_str_eq(err.msg, "SUP-3 is assigned to carol, not to you");
    ck_assert_int_eq(
        tg_ticket_act(c, st, "SUP-4", ann, "en", TG_ACT_RELEASE, NOW, &done_text, &err), 0);
    ck_assert_str_eq(done_text, "SUP-4 is no longer yours, and nobody has it now");
    g_free(done_text);
    ck_assert_int_eq(sql_count("SELECT count(*) FROM events WHERE ticket_id = 4"
                               " AND kind = 'unassigned' AND detail = 'by ann (was ann)'"),
                     1);
    got = refs(tg_agent_unassigned_tickets(c, st, ann, NOW, &err));
    ck_assert_str_eq(got, "SUP-2 SUP-4 SUP-1");
    g_free(got);
    ck_assert_int_eq(
        tg_ticket_act(c, st, "SUP-4", ann, "ru", TG_ACT_RELEASE, NOW, &done_text, &err), 0);
    ck_assert_str_eq(done_text, "обращение SUP-4 и так ни за кем не закреплено");
    g_free(done_text);
    tg_config_unref(c);
}
END_TEST

/* The open tickets of an agent who left (not active, or gone from the configuration) are offered
 * to their group as if nobody had them, and a colleague may take them; nothing else is done on
 * them before that, and an active agent's tickets stay theirs. */
START_TEST(test_left_agents_tickets_taken)
{
    tg_config *c =
        store_config("left.conf", "[queue support]\naddresses = support@example.org\ngroup = l1\n"
                                  "[agent ann]\nemail = ann@example.org\ngroups = l1\n"
                                  "[agent bob]\nemail = bob@example.org\ngroups = l1\n"
                                  "active = false\n"
                                  "[agent eve]\nemail = eve@example.org\ngroups = l1\n");
    tg_err err = {0};
    const char *had[] = {"bob", "dave", "eve"}; /* SUP-1 .. SUP-3; dave is not configured */
    for (int i = 0; i < 3; i++) {
        int64_t id = ticket_due("email", "support", NOW + 60 * (3 - i), 0);
        ck_assert_int_eq(tg_store_set_assignee(st, id, had[i], NOW - 600, &err), 0);
    }
    const tg_agent *ann = tg_config_agent(c, "ann");
    char *got = refs(tg_agent_unassigned_tickets(c, st, ann, NOW, &err));
    ck_assert_str_eq(got, "SUP-2 SUP-1");
    g_free(got);

    char *done_text = NULL;
    ck_assert_int_eq(
        tg_ticket_act(c, st, "SUP-1", ann, "en", TG_ACT_RESOLVE, NOW, &done_text, &err), TG_EPERM);
    ck_assert_str_eq(err.msg, "SUP-1 is assigned to bob, who is not active: take SUP-1 first");
    ck_assert_int_eq(tg_ticket_act(c, st, "SUP-3", ann, "en", TG_ACT_TAKE, NOW, &done_text, &err),
                     TG_EPERM);
    ck_assert_str_eq(err.msg, "SUP-3 is assigned to eve, not to you");
    ck_assert_int_eq(tg_ticket_act(c, st, "SUP-1", ann, "en", TG_ACT_TAKE, NOW, &done_text, &err),
                     0);
    ck_assert_str_eq(done_text, "SUP-1 is now yours (it was bob's, not active)");
    g_free(done_text);
    ck_assert_int_eq(tg_ticket_act(c, st, "SUP-2", ann, "ru", TG_ACT_TAKE, NOW, &done_text, &err),
                     0);
    ck_assert_str_eq(done_text,
                     "обращение SUP-2 теперь ваше (оно было у dave: агента нет в конфигурации)");
    g_free(done_text);
    ck_assert_int_eq(sql_count("SELECT count(*) FROM events WHERE kind = 'assigned' AND"
                               " detail IN ('ann (was bob, not active)',"
                               " 'ann (was dave, not in the configuration)')"),
                     2);
    got = refs(tg_agent_open_tickets(st, ann, NOW, &err));
    ck_assert_str_eq(got, "SUP-2 SUP-1");
    g_free(got);
    got = refs(tg_agent_unassigned_tickets(c, st, ann, NOW, &err));
    ck_assert_str_eq(got, "");
    g_free(got);
    tg_config_unref(c);
}
END_TEST

/* first_attachments - the attachments of a ticket's first message (callback). */
static int first_attachments(const tg_message *m, void *ud)
{
    *(char **)ud = g_strdup(m->attachments);
    return 1;
}

/* What a mail had attached is kept with its message and named in the assignee's notice, when
 * the ticket is new and when a supervisor gives it to another agent. */
START_TEST(test_attachments_kept_and_told)
{
    tg_config *chat_cfg =
        store_config("attach.conf", "[xmpp]\ndomain = support.example.org\nsecret = x\n"
                                    "[queue support]\naddresses = support@example.org\ngroup = l1\n"
                                    "[agent ann]\njid = ann@example.org\ngroups = l1\n"
                                    "[agent carol]\njid = carol@example.org\nlang = ru\n");
    const char *mail =
        "From: maria@customer.ru\nTo: support@example.org\nSubject: Invoice\n"
        "Message-ID: <att@c>\nContent-Type: multipart/mixed; boundary=m\n\n"
        "--m\nContent-Type: text/plain; charset=utf-8\n\nThe invoice is wrong.\n"
        "--m\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n"
        "Content-Disposition: attachment; filename*=utf-8''%D0%A1%D1%87%D0%B5%D1%82.pdf"
        "\n\nQUFB\n--m--\n";
    tg_decision d;
    tg_err err = {0};
    ck_assert_int_eq(process_mail(chat_cfg, mail, 0, &d), 0);
    ck_assert_int_eq(d.kind, TG_INTAKE_NEW);
    ck_assert_str_eq(d.assignee, "ann");
    char *kept = NULL;
    ck_assert_int_eq(tg_store_list_messages(st, d.ticket_id, first_attachments, &kept, &err), 0);
    ck_assert_str_eq(kept, "Счет.pdf (application/pdf, 3 bytes)");
    char *notice = sql_text("SELECT body FROM outbox WHERE kind = 'notify'");
    ck_assert_msg(strstr(notice, "The invoice is wrong.\n[attached: Счет.pdf (application/pdf, 3 "
                                 "bytes)]\n\nAnswer with:"),
                  "%s", notice);
    g_free(notice);

    char *done = NULL;
    ck_assert_int_eq(tg_ticket_assign(chat_cfg, st, d.ref, tg_config_agent(chat_cfg, "carol"),
                                      "ticketgatectl", NOW + 60, &done, &err),
                     0);
    notice = sql_text("SELECT body FROM outbox WHERE kind = 'notify' AND recipient LIKE 'carol%'");
    ck_assert_msg(strstr(notice, "[вложение: Счет.pdf (application/pdf, 3 bytes)]"), "%s", notice);
    g_free(notice);
    /* and ann, who had it, is told so, by chat */
    notice = sql_text("SELECT channel || '|' || body FROM outbox WHERE kind = 'notice'"
                      " AND recipient = 'ann@example.org'");
    ck_assert_str_eq(notice, "xmpp|SUP-1 is no longer yours (Invoice): it was given to carol.");
    g_free(notice);
    g_free(done);
    ck_assert_int_eq(tg_ticket_assign(chat_cfg, st, d.ref, tg_config_agent(chat_cfg, "ann"),
                                      "ticketgatectl", NOW + 120, &done, &err),
                     0);
    notice = sql_text("SELECT body FROM outbox WHERE kind = 'notice' AND recipient LIKE 'carol%'");
    ck_assert_str_eq(notice, "Обращение SUP-1 больше не ваше (Invoice): его передали агенту ann.");
    g_free(notice);
    g_free(done);
    g_free(kept);
    tg_decision_clear(&d);
    tg_config_unref(chat_cfg);
}
END_TEST

/* The assignee hears of every message that joins their ticket, by chat, with who wrote; an
 * unassigned ticket's follow-up tells nobody. */
START_TEST(test_followup_told_to_assignee)
{
    tg_config *chat_cfg = store_config(
        "followup.conf", "[xmpp]\ndomain = support.example.org\nsecret = x\n"
                         "[queue support]\naddresses = support@example.org\nxmpp = support\n"
                         "group = l1\n[agent ann]\njid = ann@example.org\ngroups = l1\n");
    const char *first = "From: maria@customer.ru\nTo: support@example.org, col@customer.ru\n"
                        "Subject: Printer\nMessage-ID: <p1@c>\n\nIt prints blank pages.\n";
    const char *again = "From: Colleague <col@customer.ru>\nTo: support@example.org\n"
                        "Subject: Re: [SUP-1] Printer\nMessage-ID: <p2@c>\n\nAlso on floor 2.\n";
    tg_decision d;
    ck_assert_int_eq(process_mail(chat_cfg, first, 0, &d), 0);
    ck_assert_str_eq(d.assignee, "ann");
    tg_decision_clear(&d);
    ck_assert_int_eq(process_mail(chat_cfg, again, 0, &d), 0);
    ck_assert_int_eq(d.kind, TG_INTAKE_FOLLOWUP);
    tg_decision_clear(&d);
    char *notice = sql_text("SELECT recipient || '|' || body FROM outbox WHERE kind = 'notify'"
                            " ORDER BY id DESC LIMIT 1");
    ck_assert_str_eq(notice, "ann@example.org|SUP-1: col@customer.ru wrote again (Printer):\n"
                             "Also on floor 2.\n\nAnswer with: reply SUP-1 <text>");
    g_free(notice);

    /* nobody's ticket: nobody to tell */
    char *done = NULL;
    tg_err err = {0};
    ck_assert_int_eq(tg_ticket_assign(chat_cfg, st, "SUP-1", NULL, "test", NOW, &done, &err), 0);
    g_free(done);
    char *off = sql_text("SELECT body FROM outbox WHERE kind = 'notice'");
    ck_assert_str_eq(off, "SUP-1 is no longer yours (Printer): it was taken off you, and nobody "
                          "has it now.");
    g_free(off);
    int64_t before = sql_count("SELECT count(*) FROM outbox WHERE kind = 'notify'");
    const char *third = "From: maria@customer.ru\nTo: support@example.org\n"
                        "Subject: Re: [SUP-1] Printer\nMessage-ID: <p3@c>\n\nAnyone?\n";
    ck_assert_int_eq(process_mail(chat_cfg, third, 0, &d), 0);
    ck_assert_int_eq(d.kind, TG_INTAKE_FOLLOWUP);
    tg_decision_clear(&d);
    ck_assert_int_eq(sql_count("SELECT count(*) FROM outbox WHERE kind = 'notify'"), before);
    tg_config_unref(chat_cfg);
}
END_TEST

/* agent_mail - ann's answer with a file attached, through the real parser; read only in part
 * when cut. */
static int agent_mail(const char *subject, const char *id, int cut, tg_decision *d)
{
    char *mail = g_strdup_printf(
        "From: ann@example.org\nTo: support@example.org\nSubject: %s\nMessage-ID: <%s>\n"
        "Content-Type: multipart/mixed; boundary=m\n\n"
        "--m\nContent-Type: text/plain; charset=utf-8\n\nThe manual is attached.\n"
        "--m\nContent-Type: application/pdf; name=manual.pdf\nContent-Transfer-Encoding: base64\n"
        "Content-Disposition: attachment; filename=manual.pdf\n\nJVBERi0xLjQK\n--m--\n",
        subject, id);
    int rc = process_mail(cfg, mail, cut ? 10 << 20 : 0, d);
    g_free(mail);
    return rc;
}

/* An agent's answer by mail takes its files to the customer. When it cannot (a chat ticket, a
 * mail read only in part), the answer goes without them and the agent is told so. */
START_TEST(test_agent_files_relayed)
{
    tg_decision d;
    ck_assert_int_eq(ingest("maria@customer.ru", "Manual", "f1@c", NULL, &d), 0);
    tg_decision_clear(&d);
    ck_assert_int_eq(agent_mail("Re: [SUP-1] Manual", "f2@example.org", 0, &d), 0);
    ck_assert_int_eq(d.kind, TG_INTAKE_AGENT_REPLY);
    tg_decision_clear(&d);
    char *files = sql_text("SELECT attachments_mime FROM outbox WHERE kind = 'relay'");
    ck_assert_msg(strstr(files, "filename=manual.pdf") && strstr(files, "JVBERi0xLjQK"), "%s",
                  files);
    g_free(files);
    ck_assert_int_eq(sql_count("SELECT count(*) FROM outbox WHERE kind = 'notice'"), 0);
    /* the ticket shows what went: the agent's message and our copy of the relay name the file */
    ck_assert_int_eq(sql_count("SELECT count(*) FROM messages WHERE direction IN ('agent', 'out')"
                               " AND attachments = 'manual.pdf (application/pdf, 9 bytes)'"),
                     2);
    /* sent: the files are not kept */
    tg_err err = {0};
    int64_t relay = sql_count("SELECT id FROM outbox WHERE kind = 'relay'");
    ck_assert_int_eq(tg_store_outbox_sent(st, relay, NOW, &err), 0);
    ck_assert_int_eq(sql_count("SELECT count(*) FROM outbox WHERE attachments_mime IS NOT NULL"),
                     0);

    /* read only in part: the last file may be cut, so none goes */
    ck_assert_int_eq(agent_mail("Re: [SUP-1] Manual", "f3@example.org", 1, &d), 0);
    ck_assert_int_eq(d.kind, TG_INTAKE_AGENT_REPLY);
    ck_assert_str_eq(d.note,
                     "agent ann's files not relayed on SUP-1: the mail was read only in part");
    tg_decision_clear(&d);
    ck_assert_int_eq(sql_count("SELECT count(*) FROM outbox WHERE attachments_mime IS NOT NULL"),
                     0);
    char *notice = sql_text("SELECT subject || '|' || body FROM outbox WHERE kind = 'notice'");
    ck_assert_msg(g_str_has_prefix(notice, "Files not sent: SUP-1 Manual|Hello ann,") &&
                      strstr(notice, "went to maria@customer.ru without the files attached to it "
                                     "(the mail is bigger than [milter] read_limit: only its "
                                     "beginning was read):\n[attached: manual.pdf "
                                     "(application/pdf, cut at 9 bytes)]\n"),
                  "%s", notice);
    g_free(notice);
    char *event = sql_text("SELECT detail FROM events WHERE kind = 'files-not-relayed'");
    ck_assert_str_eq(event, "agent ann, message f3@example.org: the mail was read only in part; "
                            "told by mail");
    g_free(event);

    /* a chat ticket: the answer's text goes by chat */
    ck_assert_int_eq(chat("carol@example.org", "Where is the manual?", "c1", &d), 0);
    char *ref = g_strdup(d.ref);
    tg_decision_clear(&d);
    char *subject = g_strdup_printf("Re: [%s] Manual", ref);
    ck_assert_int_eq(agent_mail(subject, "f4@example.org", 0, &d), 0);
    ck_assert_int_eq(d.kind, TG_INTAKE_AGENT_REPLY);
    tg_decision_clear(&d);
    ck_assert_int_eq(sql_count("SELECT count(*) FROM outbox WHERE channel = 'xmpp'"
                               " AND kind = 'relay' AND attachments_mime IS NULL"),
                     1);
    notice = sql_text("SELECT body FROM outbox WHERE kind = 'notice' ORDER BY id DESC LIMIT 1");
    ck_assert_msg(strstr(notice, "(the customer wrote by chat, which takes no files)"), "%s",
                  notice);
    g_free(notice);
    g_free(subject);
    g_free(ref);
}
END_TEST

/* The records of auto-replies older than [limits] autoreply_window are forgotten, in chunks; the
 * ones the limit still counts stay. */
START_TEST(test_forget_autoreplies)
{
    tg_err err = {0};
    ck_assert_int_eq(tg_store_begin(st, &err), 0);
    for (int i = 0; i < 2500; i++)
        ck_assert_int_eq(tg_store_log_autoreply(st, i % 2 ? "a@customer.ru" : "b@customer.ru",
                                                NOW - 7200 + i, &err),
                         0);
    ck_assert_int_eq(tg_store_log_autoreply(st, "a@customer.ru", NOW - 3600, &err), 0);
    ck_assert_int_eq(tg_store_log_autoreply(st, "a@customer.ru", NOW - 10, &err), 0);
    ck_assert_int_eq(tg_store_commit(st, &err), 0);

    int64_t forgotten = 0, left = 0;
    ck_assert_int_eq(tg_intake_forget_autoreplies(cfg, st, NOW, &forgotten, &err), 0);
    ck_assert_int_eq(forgotten, 2500);
    ck_assert_int_eq(sql_count("SELECT count(*) FROM autoreply_log"), 2);
    ck_assert_int_eq(tg_store_count_autoreplies(st, "a@customer.ru", NOW - 3600, &left, &err), 0);
    ck_assert_int_eq(left, 2);
    ck_assert_int_eq(tg_intake_forget_autoreplies(cfg, st, NOW, &forgotten, &err), 0);
    ck_assert_int_eq(forgotten, 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("intake");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_new_ticket_and_duplicate);
    tcase_add_test(tc, test_followups_and_entitlement);
    tcase_add_test(tc, test_closed_ticket);
    tcase_add_test(tc, test_agent_answer);
    tcase_add_test(tc, test_reply_to_is_answered);
    tcase_add_test(tc, test_agent_by_smtp_login);
    tcase_add_test(tc, test_own_reply_threads_and_never_makes_tickets);
    tcase_add_test(tc, test_outbox_claim_and_retry);
    tcase_add_loop_test(tc, test_no_auto_reply, 0, G_N_ELEMENTS(no_reply_cases));
    tcase_add_loop_test(tc, test_reply_prefixes_left_out, 0, G_N_ELEMENTS(prefixed_subjects));
    tcase_add_test(tc, test_rate_limit);
    tcase_add_test(tc, test_chat_replies_not_limited);
    tcase_add_test(tc, test_deferred_checkpoint);
    tcase_add_test(tc, test_assignment_balances_and_reports_full);
    tcase_add_test(tc, test_store_failure_leaves_nothing);
    tcase_add_test(tc, test_store_directory_missing);
    tcase_add_test(tc, test_batch_group_commit);
    tcase_add_test(tc, test_chat_joins_open_ticket);
    tcase_add_test(tc, test_leased_auto_reply);
    tcase_add_test(tc, test_batch_failure_is_undone_alone);
    tcase_add_test(tc, test_explain_writes_nothing);
    tcase_add_test(tc, test_answer_only_commits_answers);
    tcase_add_test(tc, test_agent_answer_on_closed_ticket);
    tcase_add_test(tc, test_newer_schema_refused);
    tcase_add_test(tc, test_schema_1_upgraded);
    tcase_add_test(tc, test_service_levels);
    tcase_add_test(tc, test_resolution_levels);
    tcase_add_test(tc, test_escalation);
    tcase_add_test(tc, test_resolution_escalation);
    tcase_add_test(tc, test_answer_to_notice);
    tcase_add_test(tc, test_rule_group_kept);
    tcase_add_test(tc, test_forget_autoreplies);
    tcase_add_test(tc, test_attachments_kept_and_told);
    tcase_add_test(tc, test_agent_files_relayed);
    tcase_add_test(tc, test_followup_told_to_assignee);
    tcase_add_test(tc, test_unassigned_for_agent);
    tcase_add_test(tc, test_left_agents_tickets_taken);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
