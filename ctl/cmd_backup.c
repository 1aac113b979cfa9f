/* cmd_backup.c - ticketgatectl backup: a copy of the store taken while the daemons run (read
 * permission is enough), checked, synced, and only then given its name, so that a name never
 * holds half a backup. It never replaces a file: a mistyped name cannot overwrite the store.
 * And restore: a backup's tickets in place of the store's, which are kept in a backup first. */
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"

/* stamped_name - a file name not yet taken in dir, from the store's and the local time:
 * "tickets-20261124-030219.db" (then "...-030219-2.db"), or with a label
 * "tickets-before-restore-20261124-030219.db". Caller g_free()s. */
static char *stamped_name(const tg_config *cfg, const char *dir, const char *label)
{
    char *base = g_path_get_basename(cfg->store_path);
    char *dot = strrchr(base, '.');
    if (dot && dot != base)
        *dot = '\0';
    GDateTime *now = g_date_time_new_now_local();
    char *stamp = g_date_time_format(now, "%Y%m%d-%H%M%S");
    char *path = NULL;
    for (int n = 1; !path || g_file_test(path, G_FILE_TEST_EXISTS); n++) {
        g_free(path);
        char *name = n == 1 ? g_strdup_printf("%s%s-%s.db", base, label, stamp)
                            : g_strdup_printf("%s%s-%s-%d.db", base, label, stamp, n);
        path = g_build_filename(dir, name, NULL);
        g_free(name);
    }
    g_free(stamp);
    g_date_time_unref(now);
    g_free(base);
    return path;
}

/* sync_dir - make a new name in the directory durable; -1 with errno. */
static int sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

/* put_in_place - give the finished copy its name without ever replacing a file: link(2) refuses
 * an existing name; on a file system without hard links, a rename after a last look. */
static int put_in_place(const char *tmp, const char *target)
{
    if (link(tmp, target) == 0)
        return unlink(tmp);
    if (errno != EPERM && errno != ENOTSUP && errno != EOPNOTSUPP)
        return -1;
    struct stat sb;
    if (lstat(target, &sb) == 0) {
        errno = EEXIST;
        return -1;
    }
    return rename(tmp, target);
}

/* copy_and_check - the store's copy in tmp, read back whole by SQLite; its tickets counted. */
static int copy_and_check(tg_store *st, const char *tmp, int64_t *tickets, tg_err *err)
{
    tg_store_opts read_only = {.busy_timeout_ms = 1000, .read_only = 1};
    tg_store *copy = NULL;
    int rc;
    if ((rc = tg_store_copy_to(st, tmp, err)) == TG_OK &&
        (rc = tg_store_open(tmp, &read_only, &copy, err)) == TG_OK &&
        (rc = tg_store_quick_check(copy, err)) == TG_OK)
        rc = tg_store_count_tickets(copy, tickets, err);
    tg_store_close(copy);
    return rc;
}

/* taken - target exists: say so (a backup never replaces a file). */
static int taken(const char *command, const char *target)
{
    struct stat sb;
    if (lstat(target, &sb) != 0)
        return 0;
    fprintf(stderr, "ticketgatectl %s: %s exists; a backup never replaces a file\n", command,
            target);
    return 1;
}

/* backup_to - st copied to target, a name not yet taken, given only when the copy is complete;
 * the copy's tickets and size. Prints what went wrong; returns an exit status. */
static int backup_to(const char *command, tg_store *st, const char *target, int64_t *tickets,
                     struct stat *sb)
{
    char *dir = g_path_get_dirname(target);
    char *tmp = g_build_filename(dir, ".ticketgate-backup-XXXXXX", NULL);
    int fd, placed = 0, status;
    if (taken(command, target)) {
        status = EX_CANTCREAT;
    } else if ((fd = g_mkstemp_full(tmp, O_RDWR | O_CLOEXEC, 0600)) < 0) {
        /* 0600: the copy holds every customer's mail and chat */
        fprintf(stderr, "ticketgatectl %s: cannot create a file in %s: %s\n", command, dir,
                g_strerror(errno));
        status = EX_CANTCREAT;
    } else {
        tg_err err = {0};
        int rc = copy_and_check(st, tmp, tickets, &err);
        if (rc != TG_OK) {
            fprintf(stderr, "ticketgatectl %s: %s\n", command, err.msg);
            status = ctl_exit_for(rc);
        } else {
            if (fsync(fd) == 0 && fstat(fd, sb) == 0 && put_in_place(tmp, target) == 0)
                placed = 1;
            if (!placed || sync_dir(dir) != 0) {
                int error = errno;
                fprintf(stderr, "ticketgatectl %s: cannot write %s: %s\n", command, target,
                        g_strerror(error));
                status = error == EEXIST ? EX_CANTCREAT : EX_IOERR;
            } else {
                status = EX_OK;
            }
        }
        close(fd);
        if (!placed)
            g_unlink(tmp);
    }
    g_free(tmp);
    g_free(dir);
    return status;
}

int cmd_backup(tg_config *cfg, int argc, char **argv)
{
    GOptionEntry entries[] = {{NULL}};
    if (!ctl_parse_options("backup", "FILE|DIRECTORY", entries, &argc, &argv))
        return EX_USAGE;
    if (argc != 2)
        return ctl_usage_error("backup", "usage: backup FILE|DIRECTORY");
    /* a directory gets a new name in it: a cron job needs no date(1) and no escaped % */
    char *target = g_file_test(argv[1], G_FILE_TEST_IS_DIR) ? stamped_name(cfg, argv[1], "")
                                                            : g_strdup(argv[1]);
    struct stat sb;
    int64_t tickets = 0;
    int status;
    tg_store *st = NULL;
    if ((st = ctl_open_view(cfg, &status)) &&
        (status = backup_to("backup", st, target, &tickets, &sb)) == EX_OK)
        printf("%s: %lld tickets, %.1f MB, checked\n", target, (long long)tickets,
               (double)sb.st_size / 1e6);
    tg_store_close(st);
    g_free(target);
    return status;
}

int cmd_restore(tg_config *cfg, int argc, char **argv)
{
    GOptionEntry entries[] = {{NULL}};
    if (!ctl_parse_options("restore", "FILE", entries, &argc, &argv))
        return EX_USAGE;
    if (argc != 2)
        return ctl_usage_error("restore", "usage: restore FILE");
    const char *from = argv[1];
    if (!g_file_test(from, G_FILE_TEST_IS_REGULAR)) {
        fprintf(stderr, "ticketgatectl restore: %s: no such file\n", from);
        return EX_NOINPUT;
    }
    int status;
    tg_store *st = ctl_open_store(cfg, &status);
    if (!st)
        return status;
    tg_err err = {0};
    int64_t before = 0, after = 0, kept_tickets = 0;
    struct stat sb;
    char *kept = NULL;
    /* a copy that cannot be restored is refused before anything is done */
    int rc = tg_store_check_copy(from, &err);
    if (rc == TG_OK)
        rc = tg_store_count_tickets(st, &before, &err);
    if (rc == TG_OK && before > 0) {
        /* what is replaced stays at hand: a restore of the wrong copy can be undone */
        char *dir = g_path_get_dirname(cfg->store_path);
        kept = stamped_name(cfg, dir, "-before-restore");
        g_free(dir);
        if ((status = backup_to("restore", st, kept, &kept_tickets, &sb)) != EX_OK) {
            fprintf(stderr,
                    "ticketgatectl restore: nothing restored: the %lld tickets it would "
                    "replace could not be kept (to restore all the same, stop the daemons and move "
                    "the store's files aside first)\n",
                    (long long)before);
            goto out;
        }
    }
    if (rc == TG_OK && (rc = tg_store_restore_from(st, from, &err)) == TG_OK)
        rc = tg_store_count_tickets(st, &after, &err);
    if (rc != TG_OK) {
        fprintf(stderr, "ticketgatectl restore: %s\n", err.msg);
        status = ctl_exit_for(rc);
        goto out;
    }
    printf("%s: %lld tickets from %s", cfg->store_path, (long long)after, from);
    if (kept)
        printf("; the %lld it held are in %s", (long long)kept_tickets, kept);
    printf("\n");
    status = EX_OK;
out:
    g_free(kept);
    tg_store_close(st);
    return status;
}
