/* ctl.h - shared pieces of ticketgatectl's commands. */
#ifndef CTL_H
#define CTL_H

#include <sysexits.h>

#include "tg_config.h"
#include "tg_intake.h"
#include "tg_store.h"

/* ctl_exit_for - the exit status for a TG_E* code (EX_TEMPFAIL for TG_ETEMP, ...). */
int ctl_exit_for(int rc);
/* ctl_open_store - open cfg's store, or print the error; exit status via *status. */
tg_store *ctl_open_store(const tg_config *cfg, int *status);
/* ctl_open_view - the same, read-only: for commands that only look. */
tg_store *ctl_open_view(const tg_config *cfg, int *status);
/* ctl_time - "2026-11-24 16:00 MSK" in [general] timezone, or "-" for no time; caller
 * g_free()s. */
char *ctl_time(int64_t t);
/* ctl_parse_options - parse a command's options with GOption, leaving its operands in argv[1..].
 * On an error prints "ticketgatectl COMMAND: message" and returns 0. */
int ctl_parse_options(const char *command, const char *operands, GOptionEntry *entries, int *argc,
                      char ***argv);
/* ctl_usage_error - print "ticketgatectl COMMAND: message"; returns EX_USAGE. */
int ctl_usage_error(const char *command, const char *message);
/* ctl_decision_json - the decision as one JSON object. */
void ctl_decision_json(GString *out, const tg_decision *d);

int cmd_ingest(tg_config *cfg, int argc, char **argv);
int cmd_list(tg_config *cfg, int argc, char **argv);
int cmd_show(tg_config *cfg, int argc, char **argv);
int cmd_explain(tg_config *cfg, int argc, char **argv);
int cmd_reply(tg_config *cfg, int argc, char **argv);
int cmd_directives(tg_config *cfg, int argc, char **argv);
int cmd_take(tg_config *cfg, int argc, char **argv);
int cmd_resolve(tg_config *cfg, int argc, char **argv);
int cmd_close(tg_config *cfg, int argc, char **argv);
int cmd_reopen(tg_config *cfg, int argc, char **argv);
int cmd_release(tg_config *cfg, int argc, char **argv);
int cmd_assign(tg_config *cfg, int argc, char **argv);
int cmd_report(tg_config *cfg, int argc, char **argv);
int cmd_backup(tg_config *cfg, int argc, char **argv);
int cmd_restore(tg_config *cfg, int argc, char **argv);
int cmd_purge(tg_config *cfg, int argc, char **argv);
int cmd_status(tg_config *cfg, int argc, char **argv);

#endif
