/* stop_watchdog.c - ends the process when libmilter does not finish a stop.
 * Debian's libmilter (8.17, built with its pool of workers) can hang when it stops under load:
 * its pool controller destroys the mutex of the session list while other threads wait for it;
 * the thread that then takes it cannot unlock it, and every thread waits for ever, the
 * listener inside smfi_main among them. tests/milter_crash.sh caught it: all threads in
 * pthread_mutex_lock under mi_start_session and mi_worker, 30 s after SIGTERM.
 * Once libmilter is stopping, smfi_main gets STOP_GRACE seconds to return. After that the
 * process ends as a crash would end it, which loses nothing: the store holds whole tickets or
 * none, and the MTA retries the sessions that were cut (milter_default_action = tempfail). */
#include <glib.h>
#include <sysexits.h>
#include <unistd.h>

#include "milter.h"
#include "tg_log.h"

/* libmilter's view of a stop (MILTER_CONT 0: running): exported by libmilter.so since 8.12,
 * though not declared in mfapi.h. The stop signals are libmilter's, so this is how to know. */
extern int mi_stop(void);

#define STOP_GRACE 15     /* seconds; the normal stop takes up to libmilter's 5 s poll */
#define LOOK_EVERY 500000 /* µs between looks */

enum { RUNNING, MAIN_FINISHES, WATCHDOG_FINISHES };
static gint finisher = RUNNING;

struct leftovers {
    char *socket_path, *pid_path; /* removed on the way out (may be NULL) */
};

static void leftovers_free(struct leftovers *left)
{
    g_free(left->socket_path);
    g_free(left->pid_path);
    g_free(left);
}

/* finished_by_main - smfi_main returned in time (or first): nothing left to watch. */
static gpointer finished_by_main(struct leftovers *left)
{
    leftovers_free(left);
    return NULL;
}

static gpointer watch(gpointer data)
{
    struct leftovers *left = data;
    while (mi_stop() == 0)
        g_usleep(LOOK_EVERY);
    for (int waited = 0; waited < STOP_GRACE * G_USEC_PER_SEC; waited += LOOK_EVERY) {
        if (g_atomic_int_get(&finisher) != RUNNING)
            return finished_by_main(left);
        g_usleep(LOOK_EVERY);
    }
    if (!g_atomic_int_compare_and_exchange(&finisher, RUNNING, WATCHDOG_FINISHES))
        return finished_by_main(left);
    tg_error("libmilter has not stopped %d s after it was told to (a deadlock of its own at "
             "stop); exiting without it: the MTA retries the sessions in progress",
             STOP_GRACE);
    mailer_stop(); /* a reply being sent is recorded as sent, not sent again after a restart */
    if (left->socket_path)
        unlink(left->socket_path);
    if (left->pid_path)
        unlink(left->pid_path);
    _exit(EX_SOFTWARE);
}

void stop_watchdog_start(const char *socket_path, const char *pid_path)
{
    struct leftovers *left = g_new0(struct leftovers, 1);
    left->socket_path = g_strdup(socket_path);
    left->pid_path = g_strdup(pid_path);
    g_thread_unref(g_thread_new("stop-watchdog", watch, left));
}

int stop_watchdog_main_returned(void)
{
    return g_atomic_int_compare_and_exchange(&finisher, RUNNING, MAIN_FINISHES);
}
