/* echo-component.c - the baseline for bench/xmpp.sh: an XEP-0114 component (libstrophe, as
 * ticketgate-xmpp) that answers every chat message at once with its own body, and does nothing
 * else. Usage: echo-component HOST PORT DOMAIN SECRET
 * With ECHO_BURN_US=N in the environment it first spends N microseconds of CPU on each message:
 * a component that costs what ticketgate costs, but does no I/O, to tell what rate a given CPU
 * cost per message allows (the calibration in bench/xmpp.sh). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strophe.h>
#include <time.h>

static long burn_us;

static long cpu_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec * 1000000L + t.tv_nsec / 1000;
}

static void burn(void)
{
    long until = cpu_us() + burn_us;
    while (burn_us > 0 && cpu_us() < until)
        ;
}

static int on_message(xmpp_conn_t *conn, xmpp_stanza_t *st, void *ud)
{
    xmpp_ctx_t *ctx = ud;
    char *body = xmpp_message_get_body(st);
    const char *type = xmpp_stanza_get_type(st);
    burn();
    if (body && (!type || strcmp(type, "error") != 0)) {
        xmpp_stanza_t *reply =
            xmpp_message_new(ctx, type ? type : "chat", xmpp_stanza_get_from(st), NULL);
        xmpp_stanza_set_from(reply, xmpp_stanza_get_to(st));
        xmpp_message_set_body(reply, body);
        xmpp_send(conn, reply);
        xmpp_stanza_release(reply);
    }
    if (body)
        xmpp_free(ctx, body);
    return 1;
}

static void on_connection(xmpp_conn_t *conn, xmpp_conn_event_t event, int error,
                          xmpp_stream_error_t *stream_error, void *ud)
{
    if (event == XMPP_CONN_CONNECT) {
        fprintf(stderr, "echo-component: connected\n");
        return;
    }
    fprintf(stderr, "echo-component: disconnected\n");
    xmpp_stop(xmpp_conn_get_context(conn));
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: echo-component HOST PORT DOMAIN SECRET\n");
        return 64;
    }
    const char *burn_env = getenv("ECHO_BURN_US");
    burn_us = burn_env ? atol(burn_env) : 0;
    xmpp_initialize();
    xmpp_ctx_t *ctx = xmpp_ctx_new(NULL, NULL);
    xmpp_conn_t *conn = xmpp_conn_new(ctx);
    xmpp_conn_set_jid(conn, argv[3]);
    xmpp_conn_set_pass(conn, argv[4]);
    xmpp_handler_add(conn, on_message, NULL, "message", NULL, ctx);
    unsigned short port = (unsigned short)atoi(argv[2]);
    if (xmpp_connect_component(conn, argv[1], port, on_connection, ctx) != XMPP_EOK)
        return 69;
    /* the same libstrophe 0.12.2 workaround as xmpp/component.c */
    xmpp_connect_client(conn, argv[1], port, on_connection, ctx);
    xmpp_run(ctx);
    xmpp_conn_release(conn);
    xmpp_ctx_free(ctx);
    xmpp_shutdown();
    return 0;
}
