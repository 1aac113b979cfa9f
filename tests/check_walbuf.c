/* check_walbuf.c - the VFS that writes a commit's WAL frames together: every commit is in the
 * file when it returns (another connection reads it at once, and a process that dies right after
 * loses nothing), with synchronous FULL and NORMAL, for commits of one page, of many pages, of
 * more than its buffer, and for transactions that spill pages and rewrite them; and a commit takes
 * a few write system calls instead of two per page. */
#include <check.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "tg_walbuf.h"

static const char *const synchronous[] = {"FULL", "NORMAL"};

static sqlite3 *open_db(const char *path, const char *vfs)
{
    sqlite3 *db = NULL;
    ck_assert_int_eq(tg_walbuf_register(), SQLITE_OK);
    ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs),
                     SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    return db;
}

static void exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    ck_assert_msg(rc == SQLITE_OK, "%s: %s", sql, msg ? msg : sqlite3_errmsg(db));
}

static sqlite3_int64 number(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *s = NULL;
    ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
    sqlite3_int64 n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return n;
}

/* writer - a connection through the VFS, in WAL mode with the given synchronous setting. */
static sqlite3 *writer(const char *path, const char *sync)
{
    sqlite3 *db = open_db(path, TG_WALBUF_VFS);
    /* no checkpoints: they sync the WAL, which would hide frames held back with NORMAL */
    char *sql = g_strdup_printf(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = %s; PRAGMA wal_autocheckpoint = 0", sync);
    exec(db, sql);
    g_free(sql);
    exec(db,
         "CREATE TABLE IF NOT EXISTS t (k TEXT, v BLOB); CREATE INDEX IF NOT EXISTS t_k ON t(k)");
    return db;
}

/* insert - n rows with random keys (each in a leaf page of its own) and size-byte values. */
static void insert(sqlite3 *db, int n, int size)
{
    char *sql = g_strdup_printf("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                                "WHERE i < %d) INSERT INTO t SELECT hex(randomblob(16)), "
                                "zeroblob(%d) FROM n",
                                n, size);
    exec(db, sql);
    g_free(sql);
}

/* check_committed - nothing held back, and a connection of the default VFS sees n rows. */
static void check_committed(const char *path, sqlite3_int64 n)
{
    ck_assert_uint_eq(tg_walbuf_pending(), 0);
    sqlite3 *reader = open_db(path, NULL);
    ck_assert_int_eq(number(reader, "SELECT count(*) FROM t"), n);
    sqlite3_close(reader);
}

START_TEST(test_commit_visible_at_once)
{
    char *path = g_build_filename(tu_tmpdir(), synchronous[_i], NULL);
    sqlite3 *db = writer(path, synchronous[_i]);
    sqlite3_int64 rows = 0;

    insert(db, 1, 10); /* a commit of a page or two */
    check_committed(path, rows += 1);
    insert(db, 300, 10); /* random keys: a frame per leaf, within the buffer */
    check_committed(path, rows += 300);
    insert(db, 2000, 1000); /* about 500 pages: many times the buffer */
    check_committed(path, rows += 2000);

    /* A small cache makes SQLite write pages to the WAL before the commit, write some of them
     * again in place and then rewrite the frames' checksums, with no page after the last one. */
    exec(db, "PRAGMA cache_size = 10; BEGIN");
    insert(db, 500, 200);
    exec(db, "UPDATE t SET v = zeroblob(300) WHERE rowid % 3 = 0");
    insert(db, 1, 10);
    exec(db, "COMMIT");
    check_committed(path, rows += 501);

    sqlite3_close(db);

    /* a process that dies right after its commit, without closing: the commit is in the file */
    pid_t child = fork();
    if (child == 0) {
        insert(writer(path, synchronous[_i]), 40, 10);
        _exit(0);
    }
    int status = -1;
    ck_assert_int_eq(waitpid(child, &status, 0), child);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    check_committed(path, rows += 40);

    sqlite3 *reader = open_db(path, NULL);
    sqlite3_stmt *s = NULL;
    ck_assert_int_eq(sqlite3_prepare_v2(reader, "PRAGMA integrity_check", -1, &s, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
    ck_assert_str_eq((const char *)sqlite3_column_text(s, 0), "ok");
    sqlite3_finalize(s);
    sqlite3_close(reader);
    g_free(path);
}
END_TEST

/* write_calls - the write system calls this process made so far (/proc/self/io, syscw). */
static long write_calls(void)
{
    char *text = NULL;
    ck_assert(g_file_get_contents("/proc/self/io", &text, NULL, NULL));
    const char *at = strstr(text, "syscw: ");
    ck_assert_ptr_nonnull(at);
    long n = atol(at + strlen("syscw: "));
    g_free(text);
    return n;
}

/* calls_per_commit - write system calls of a 100-row commit with random keys (about 50 pages). */
static long calls_per_commit(const char *name, const char *vfs)
{
    char *path = g_build_filename(tu_tmpdir(), name, NULL);
    sqlite3 *db = open_db(path, vfs);
    exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
             "CREATE TABLE t (k TEXT, v BLOB); CREATE INDEX t_k ON t(k)");
    insert(db, 20000, 10); /* an index of about 200 leaves */
    exec(db, "PRAGMA wal_checkpoint(TRUNCATE)");
    long before = write_calls();
    insert(db, 100, 10);
    long calls = write_calls() - before;
    sqlite3_close(db);
    g_free(path);
    return calls;
}

START_TEST(test_few_write_calls)
{
    long plain = calls_per_commit("plain", NULL);
    long collected = calls_per_commit("collected", TG_WALBUF_VFS);
    printf("write calls of a commit of ~100 pages: %ld by the default VFS, %ld collected\n", plain,
           collected);
    ck_assert_int_ge(plain, 150); /* the default VFS: a header and a page for each frame */
    ck_assert_int_le(collected * 10, plain);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("walbuf");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_commit_visible_at_once, 0, G_N_ELEMENTS(synchronous));
    tcase_add_test(tc, test_few_write_calls);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
