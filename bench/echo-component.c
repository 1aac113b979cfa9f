/* echo-component.c - the baseline for bench/xmpp.sh: an XEP-0114 component (libstrophe, as
 * ticketgate-xmpp) that answers every chat message at once with its own body, and does nothing
 * else. Usage: echo-component HOST PORT DOMAIN SECRET
 * With ECHO_BURN_US=N in the environment it first spends N microseconds of CPU on each message:
 * a component that costs what ticketgate costs, but does no I/O, to tell what rate a given CPU
 * cost per message allows (the calibration in bench/xmpp.sh).
 * With ECHO_COMMIT_US=N it answers like a component that answers only once the ticket is on disk,
 * without doing the work: a reply waits for a simulated durable commit, a pause of N µs with no
 * I/O. ECHO_COMMIT=block pauses after each batch of messages read, then answers the batch (what
 * ticketgate-xmpp does: read, commit, answer); ECHO_COMMIT=overlap (the default) keeps reading
 * while a commit runs, and each commit covers every reply held when it began (group commit with
 * the fsync off the main loop and nothing else paid per commit: an upper bound for such a
 * component, not a prediction; a real one did no better than blocking: see issue #4).
 * With ECHO_FSYNC=FILE the commit is real instead (block mode): after each batch read, one 4 KB
 * page is written to FILE and fdatasync()ed before the batch is answered. FILE is written in full
 * first and then overwritten in turn, like a WAL that has grown to its size: the least that any
 * component which answers only tickets on disk must wait for, on this disk. ECHO_PAGES=N makes
 * each commit write N pages per message of the batch instead (rounded, 1 to 256, in one write,
 * as tg_walbuf writes a commit): with ECHO_BURN_US, a model of a component that spends a given
 * CPU and writes a given number of pages per ticket (ticketgate-xmpp: see bench/xmpp.sh MODELS).
 * With ECHO_REPLY=TEXT it answers with TEXT instead of the message's own body, with an id and
 * xml:lang="en" as ticketgate-xmpp's auto-reply has: the same bytes through the server as a reply
 * that carries a ticket's reference and due time, without making the ticket. */
#define _GNU_SOURCE /* ppoll */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strophe.h>
#include <time.h>
#include <unistd.h>

#define FSYNC_PAGE       4096
#define FSYNC_PAGES      1024 /* the file's size in pages, then overwritten from the start */
#define COMMIT_PAGES_MAX 256  /* pages one commit may write (ECHO_PAGES) */

static long burn_us, commit_us;
static const char *reply_text; /* ECHO_REPLY */
static unsigned long replies;  /* for the ids of ECHO_REPLY answers */
static int fsync_fd = -1;      /* ECHO_FSYNC */
static long fsync_page;        /* the next page to write */
static double pages_per_msg;   /* ECHO_PAGES; 0: one page per commit */
static int running = 1;
static int sock_fd = -1;  /* the component's socket, from libstrophe's sockopt callback */
static int messages_read; /* in the last xmpp_run_once */

/* Replies waiting for their simulated commit, oldest first; the first `covered` are in the
 * commit that is running (overlap mode). */
static struct {
    xmpp_stanza_t **st;
    size_t len, cap, covered;
} held;

static long now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000L + t.tv_nsec / 1000;
}

static void hold(xmpp_stanza_t *reply)
{
    if (held.len == held.cap) {
        held.cap = held.cap ? 2 * held.cap : 256;
        held.st = realloc(held.st, held.cap * sizeof *held.st);
        if (!held.st)
            abort();
    }
    held.st[held.len++] = reply;
}

/* send_held - send the n oldest held replies (libstrophe writes them in its next run). */
static void send_held(xmpp_conn_t *conn, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        xmpp_send(conn, held.st[i]);
        xmpp_stanza_release(held.st[i]);
    }
    memmove(held.st, held.st + n, (held.len - n) * sizeof *held.st);
    held.len -= n;
    held.covered = held.covered > n ? held.covered - n : 0;
}

static void pause_us(long us)
{
    struct timespec t = {us / 1000000, us % 1000000 * 1000};
    nanosleep(&t, NULL);
}

/* open_fsync_file - FILE written in full and flushed once, so that later commits overwrite. */
static int open_fsync_file(const char *path)
{
    static const char page[FSYNC_PAGE];
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    long i = 0;
    while (fd >= 0 && i < FSYNC_PAGES && write(fd, page, sizeof page) == (ssize_t)sizeof page)
        i++;
    if (fd >= 0 && (i < FSYNC_PAGES || fsync(fd) != 0)) {
        close(fd);
        return -1;
    }
    return fd;
}

/* durable_commit - pages for `messages` written in one piece and flushed to the disk. */
static void durable_commit(size_t messages)
{
    static char pages[COMMIT_PAGES_MAX * FSYNC_PAGE];
    long n = pages_per_msg > 0 ? (long)(pages_per_msg * (double)messages + 0.5) : 1;
    if (n < 1)
        n = 1;
    if (n > COMMIT_PAGES_MAX)
        n = COMMIT_PAGES_MAX;
    if (fsync_page + n > FSYNC_PAGES)
        fsync_page = 0;
    pages[0]++;
    size_t len = (size_t)n * FSYNC_PAGE;
    if (pwrite(fsync_fd, pages, len, fsync_page * FSYNC_PAGE) != (ssize_t)len ||
        fdatasync(fsync_fd) != 0) {
        perror("echo-component: ECHO_FSYNC");
        exit(74);
    }
    fsync_page = (fsync_page + n) % FSYNC_PAGES;
}

/* run_block - read a batch, commit it, answer it. */
static void run_block(xmpp_ctx_t *ctx, xmpp_conn_t *conn)
{
    while (running) {
        xmpp_run_once(ctx, 10); /* writes what was sent, then reads what arrives */
        if (held.len) {
            if (fsync_fd >= 0)
                durable_commit(held.len);
            else
                pause_us(commit_us);
            send_held(conn, held.len);
        }
    }
}

/* run_overlap - a commit runs while the loop reads on; when it ends, its replies go out and the
 * next one starts with all replies held meanwhile. */
static void run_overlap(xmpp_ctx_t *ctx, xmpp_conn_t *conn)
{
    long commit_end = 0; /* 0: no commit running */
    while (running) {
        long now = now_us();
        if (commit_end && now >= commit_end) {
            send_held(conn, held.covered);
            commit_end = 0;
        }
        if (!commit_end && held.len > held.covered) {
            held.covered = held.len;
            commit_end = now + commit_us;
        }
        messages_read = 0;
        xmpp_run_once(ctx, sock_fd < 0 ? 10 : 0);
        long wait = commit_end ? commit_end - now_us() : 10000;
        if (messages_read || sock_fd < 0 || wait <= 0)
            continue;
        /* until input or the end of the commit, to the microsecond (xmpp_run_once waits in ms) */
        struct pollfd in = {sock_fd, POLLIN, 0};
        struct timespec t = {wait / 1000000, wait % 1000000 * 1000};
        ppoll(&in, 1, &t, NULL);
    }
}

static int keep_socket(xmpp_conn_t *conn, void *sock)
{
    (void)conn;
    sock_fd = *(int *)sock;
    return 0;
}

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
    messages_read++;
    burn();
    if (body && (!type || strcmp(type, "error") != 0)) {
        char id[32]; /* as long as ticketgate's ids */
        snprintf(id, sizeof id, "%014lx-%08lx", (unsigned long)getpid(), replies++);
        xmpp_stanza_t *reply = xmpp_message_new(ctx, type ? type : "chat", xmpp_stanza_get_from(st),
                                                reply_text ? id : NULL);
        xmpp_stanza_set_from(reply, xmpp_stanza_get_to(st));
        if (reply_text)
            xmpp_stanza_set_attribute(reply, "xml:lang", "en");
        xmpp_message_set_body(reply, reply_text ? reply_text : body);
        if (commit_us || fsync_fd >= 0) {
            hold(reply);
        } else {
            xmpp_send(conn, reply);
            xmpp_stanza_release(reply);
        }
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
    running = 0;
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
    const char *commit_env = getenv("ECHO_COMMIT_US");
    commit_us = commit_env ? atol(commit_env) : 0;
    const char *mode = getenv("ECHO_COMMIT");
    int overlap = !mode || strcmp(mode, "block") != 0;
    reply_text = getenv("ECHO_REPLY");
    const char *pages_env = getenv("ECHO_PAGES");
    pages_per_msg = pages_env ? atof(pages_env) : 0;
    const char *fsync_path = getenv("ECHO_FSYNC");
    if (fsync_path && (fsync_fd = open_fsync_file(fsync_path)) < 0) {
        perror(fsync_path);
        return 74;
    }
    xmpp_initialize();
    xmpp_ctx_t *ctx = xmpp_ctx_new(NULL, NULL);
    xmpp_conn_t *conn = xmpp_conn_new(ctx);
    xmpp_conn_set_jid(conn, argv[3]);
    xmpp_conn_set_pass(conn, argv[4]);
    xmpp_conn_set_sockopt_callback(conn, keep_socket);
    xmpp_handler_add(conn, on_message, NULL, "message", NULL, ctx);
    unsigned short port = (unsigned short)atoi(argv[2]);
    if (xmpp_connect_component(conn, argv[1], port, on_connection, ctx) != XMPP_EOK)
        return 69;
    /* the same libstrophe 0.12.2 workaround as xmpp/component.c */
    xmpp_connect_client(conn, argv[1], port, on_connection, ctx);
    if (fsync_fd >= 0)
        run_block(ctx, conn);
    else if (!commit_us)
        xmpp_run(ctx);
    else if (overlap)
        run_overlap(ctx, conn);
    else
        run_block(ctx, conn);
    xmpp_conn_release(conn);
    xmpp_ctx_free(ctx);
    xmpp_shutdown();
    return 0;
}
