/* tg_rules.h - load the rule file and classify inbound messages.
 * The file is ordered; the first rule whose `if` matches wins; a rule without `if` always
 * matches (a built-in default is added when the file has none). A compiled rule set is
 * read-only after load; threads share it. */
#ifndef TG_RULES_H
#define TG_RULES_H

#include <stddef.h>

#include "tg_err.h"
#include "tg_inbound.h"

typedef struct tg_rules tg_rules;

typedef struct tg_rules_limits {
    unsigned long match_limit; /* PCRE2 match limit (backtracking steps) */
    unsigned long depth_limit; /* PCRE2 depth limit */
} tg_rules_limits;

/* What a rule sets; NULL fields are not set by the rule. Strings borrowed from the rule set. */
typedef struct tg_rule_action {
    const char *rule; /* rule name */
    int line;         /* where it starts in the file */
    const char *queue, *category, *priority, *sla, *group, *assignee;
    const char *const *tags; /* NULL-terminated or NULL */
    int no_auto_reply;
} tg_rule_action;

typedef struct tg_verdict {
    const tg_rule_action *action; /* the winning rule; borrowed from the rule set */
    char why[512];                /* which conditions matched, for explain and events */
    int cut_off;                  /* patterns abandoned at the match/depth limit */
} tg_verdict;

/* tg_rules_load - compile path; NULL with err naming file, line and problem. */
tg_rules *tg_rules_load(const char *path, const tg_rules_limits *limits, tg_err *err);
void tg_rules_free(tg_rules *rules); /* NULL-safe */

/* tg_rules_classify - the first matching rule for in. Never fails: the default matches. */
void tg_rules_classify(const tg_rules *rules, const tg_inbound *in, tg_verdict *out);

size_t tg_rules_count(const tg_rules *rules);
const tg_rule_action *tg_rules_action(const tg_rules *rules, size_t i);
const char *tg_rules_path(const tg_rules *rules);

/* tg_priority_valid - urgent, high, normal or low. */
int tg_priority_valid(const char *priority);

#endif
