/* cmd_purge.c - ticketgatectl purge: keeping customers' data no longer than needed. Finished
 * tickets (resolved or closed) unchanged for more than N days are deleted with everything
 * stored for them, a few hundred per transaction, so that the daemons, which wait for the
 * store's lock meanwhile, are held up for moments only. */
#include <stdio.h>

#include "ctl.h"

#define PURGE_CHUNK 500

int cmd_purge(tg_config *cfg, int argc, char **argv)
{
    gint days = 0;
    gboolean dry_run = FALSE;
    GOptionEntry entries[] = {
        {"older-than", 0, 0, G_OPTION_ARG_INT, &days,
         "tickets finished and unchanged for more than DAYS days", "DAYS"},
        {"dry-run", 0, 0, G_OPTION_ARG_NONE, &dry_run, "only count them", NULL},
        {NULL}};
    if (!ctl_parse_options("purge", "", entries, &argc, &argv))
        return EX_USAGE;
    if (argc != 1 || days < 1 || days > 36500)
        return ctl_usage_error("purge", "usage: purge --older-than DAYS [--dry-run] "
                                        "(DAYS from 1 to 36500)");
    int status;
    tg_store *st = dry_run ? ctl_open_view(cfg, &status) : ctl_open_store(cfg, &status);
    if (!st)
        return status;
    int64_t before = g_get_real_time() / G_USEC_PER_SEC - (int64_t)days * 86400;
    int64_t total = 0, n = 0;
    tg_err err = {0};
    int rc;
    do {
        rc = tg_store_purge_finished(st, before, dry_run ? 0 : PURGE_CHUNK, &n, &err);
        total += rc == TG_OK ? n : 0;
    } while (rc == TG_OK && !dry_run && n > 0);
    char *since = ctl_time(before);
    if (rc == TG_OK)
        printf("%s %lld resolved or closed tickets unchanged since %s\n",
               dry_run ? "would purge" : "purged", (long long)total, since);
    else
        fprintf(stderr, "ticketgatectl purge: %s (%lld purged before it)\n", err.msg,
                (long long)total);
    g_free(since);
    tg_store_close(st);
    return ctl_exit_for(rc);
}
