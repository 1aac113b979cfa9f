/* null-milter.c - a milter that does nothing, for bench/milter.sh: it negotiates the same
 * actions and protocol steps as ticketgate-milter (milter/protocol.h), reads every message
 * and changes none, so the benchmark measures what ticketgate's own work costs on top of the
 * milter protocol. Usage: null-milter SOCKET (unix:/path or inet:port@host). */
#include <stdio.h>
#include <stdlib.h>

#include "../milter/nodelay.h"
#include "../milter/protocol.h"

static unsigned long steps;

static sfsistat nr(unsigned long flag)
{
    return steps & flag ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static sfsistat on_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2,
                             unsigned long f3, unsigned long *p0, unsigned long *p1,
                             unsigned long *p2, unsigned long *p3)
{
    steps = tg_milter_negotiate(f1); /* the same for every connection from one MTA */
    *p0 = TG_MILTER_ACTIONS;
    *p1 = steps;
    *p2 = *p3 = 0;
    return SMFIS_CONTINUE;
}

static sfsistat on_envfrom(SMFICTX *ctx, char **argv)
{
    return nr(SMFIP_NR_MAIL);
}

static sfsistat on_envrcpt(SMFICTX *ctx, char **argv)
{
    return nr(SMFIP_NR_RCPT);
}

static sfsistat on_data(SMFICTX *ctx)
{
    return SMFIS_CONTINUE;
}

static sfsistat on_header(SMFICTX *ctx, char *name, char *value)
{
    return nr(SMFIP_NR_HDR);
}

static sfsistat on_body(SMFICTX *ctx, unsigned char *data, size_t len)
{
    return nr(SMFIP_NR_BODY);
}

/* With NULL_MILTER_HEADERS=1 it makes the header changes ticketgate makes for a new ticket
 * (four X-Ticket headers and a tagged subject), to tell their cost from ticketgate's own work. */
static int add_headers;

static sfsistat on_eom(SMFICTX *ctx)
{
    if (add_headers) {
        smfi_addheader(ctx, "X-Ticket-ID", "SUP-1");
        smfi_addheader(ctx, "X-Ticket-Queue", "support");
        smfi_addheader(ctx, "X-Ticket-Priority", "normal");
        smfi_addheader(ctx, "X-Ticket-Due", "Mon, 23 Nov 2026 13:00:00 +0300");
        smfi_chgheader(ctx, "Subject", 1, "[SUP-1] test");
    }
    return SMFIS_CONTINUE;
}

static sfsistat on_abort(SMFICTX *ctx)
{
    return SMFIS_CONTINUE;
}

static sfsistat on_close(SMFICTX *ctx)
{
    return SMFIS_CONTINUE;
}

static struct smfiDesc desc = {
    .xxfi_name = "null",
    .xxfi_version = SMFI_VERSION,
    .xxfi_flags = TG_MILTER_ACTIONS,
    .xxfi_envfrom = on_envfrom,
    .xxfi_envrcpt = on_envrcpt,
    .xxfi_header = on_header,
    .xxfi_body = on_body,
    .xxfi_eom = on_eom,
    .xxfi_abort = on_abort,
    .xxfi_close = on_close,
    .xxfi_data = on_data,
    .xxfi_negotiate = on_negotiate,
};

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: null-milter unix:/path|inet:port@host\n");
        return 64;
    }
    add_headers = getenv("NULL_MILTER_HEADERS") != NULL;
    if (smfi_register(desc) == MI_FAILURE || smfi_setconn(argv[1]) == MI_FAILURE ||
        smfi_opensocket(1) == MI_FAILURE) {
        fprintf(stderr, "null-milter: cannot listen on %s\n", argv[1]);
        return 69;
    }
    tg_milter_nodelay_listeners();
    fprintf(stderr, "null-milter: listening on %s\n", argv[1]);
    return smfi_main() == MI_SUCCESS ? 0 : 70;
}
