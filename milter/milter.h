/* milter.h - what the parts of ticketgate-milter share: the current configuration snapshot,
 * the pool of store connections, the mailer thread and the libmilter callbacks. */
#ifndef TG_MILTER_H
#define TG_MILTER_H

#include <mfapi.h>

#include "tg_config.h"
#include "tg_intake.h"
#include "tg_store.h"

/* milter_config - a reference to the current snapshot; caller tg_config_unref()s it. */
tg_config *milter_config(void);

/* pool_take - a store connection for cfg's store, opened if none is idle; NULL with err.
 * pool_give - hand it back after use; a connection that failed (ok false) is closed. */
tg_store *pool_take(const tg_config *cfg, tg_err *err);
void pool_give(const tg_config *cfg, tg_store *st, int ok);
void pool_close_all(void);

/* committer_process - run job through intake together with the other connection threads'
 * messages (group commit); returns job->rc. Blocks until its batch is committed. */
int committer_process(const tg_config *cfg, tg_intake_job *job);

/* The mailer thread: sends the email rows of the outbox. mailer_kick wakes it at once (a
 * reply was queued); otherwise it looks every [mailer] poll_interval. */
int mailer_start(tg_err *err);
void mailer_kick(void);
void mailer_stop(void);

/* stop_watchdog_start - from now on, a stop that libmilter does not finish within its grace
 * time ends the process (the socket and pid file removed). stop_watchdog_main_returned -
 * smfi_main has returned: 1 if main goes on to stop cleanly, 0 if the watchdog already ends the
 * process (then main must do nothing more). */
void stop_watchdog_start(const char *socket_path, const char *pid_path);
int stop_watchdog_main_returned(void);

/* The libmilter callbacks, registered by main. */
extern struct smfiDesc milter_callbacks;

#endif
