/* tg_sla.c - SLA target lookup and due-time computation. */
#include <glib.h>
#include <string.h>

#include "tg_sla.h"

typedef struct target {
    int64_t days, seconds; /* working days of the calendar plus working seconds; days < 0: unset */
} target;

typedef struct sla_line {
    char *channel, *category, *priority; /* NULL: any */
    target first_response, resolution;
} sla_line;

struct tg_sla_policy {
    char *name;
    const tg_calendar *cal;
    GArray *lines; /* sla_line */
};

tg_sla_policy *tg_sla_policy_new(const char *name, const tg_calendar *cal)
{
    tg_sla_policy *pol = g_new0(tg_sla_policy, 1);
    pol->name = g_strdup(name);
    pol->cal = cal;
    pol->lines = g_array_new(FALSE, TRUE, sizeof(sla_line));
    return pol;
}

void tg_sla_policy_free(tg_sla_policy *pol)
{
    if (!pol)
        return;
    for (guint i = 0; i < pol->lines->len; i++) {
        sla_line *l = &g_array_index(pol->lines, sla_line, i);
        g_free(l->channel);
        g_free(l->category);
        g_free(l->priority);
    }
    g_array_free(pol->lines, TRUE);
    g_free(pol->name);
    g_free(pol);
}

int tg_parse_duration(const char *s, int64_t *seconds)
{
    int64_t total = 0;
    const char *p = s;

    if (!s || !*s)
        return TG_EINVAL;
    while (*p) {
        if (!g_ascii_isdigit(*p))
            return TG_EINVAL;
        int64_t n = 0;
        while (g_ascii_isdigit(*p)) {
            n = n * 10 + (*p++ - '0');
            if (n > 100000000)
                return TG_EINVAL;
        }
        switch (*p) {
        case '\0':
            if (p != s + strspn(s, "0123456789"))
                return TG_EINVAL; /* "1h30" is ambiguous */
            total += n;
            continue;
        case 's':
            total += n;
            break;
        case 'm':
            total += n * 60;
            break;
        case 'h':
            total += n * 3600;
            break;
        case 'd':
            total += n * 86400;
            break;
        default:
            return TG_EINVAL;
        }
        p++;
    }
    *seconds = total;
    return TG_OK;
}

/* parse_target - "-", or a duration whose whole days are kept apart as working days. */
static int parse_target(const char *word, target *out)
{
    int64_t total;
    const char *d = strchr(word, 'd');
    if (strcmp(word, "-") == 0) {
        out->days = -1;
        return TG_OK;
    }
    if (tg_parse_duration(word, &total) != TG_OK)
        return TG_EINVAL;
    out->days = 0;
    if (d) {
        out->days = g_ascii_strtoll(word, NULL, 10);
        total -= out->days * 86400;
        if (d != word + strspn(word, "0123456789"))
            return TG_EINVAL; /* days come first: "1d4h" */
    }
    out->seconds = total;
    return TG_OK;
}

int tg_sla_policy_set(tg_sla_policy *pol, const char *selector, const char *targets, tg_err *err)
{
    sla_line line = {NULL, NULL, NULL, {-1, 0}, {-1, 0}};
    char **terms = NULL, **words = NULL;
    int rc = TG_OK;

    if (strcmp(selector, "default") != 0) {
        terms = g_strsplit(selector, "+", -1);
        for (char **t = terms; *t; t++) {
            char *colon = strchr(*t, ':');
            char **slot = NULL;
            if (colon && strncmp(*t, "priority:", 9) == 0)
                slot = &line.priority;
            else if (colon && strncmp(*t, "category:", 9) == 0)
                slot = &line.category;
            else if (colon && strncmp(*t, "channel:", 8) == 0)
                slot = &line.channel;
            if (!slot || !colon[1] || *slot) {
                rc = tg_err_set(err, TG_EINVAL,
                                "\"%s\": expected default or priority:/category:/channel: terms "
                                "joined by +",
                                selector);
                goto out;
            }
            *slot = g_strdup(colon + 1);
        }
    }
    words = g_strsplit_set(targets, " \t", -1);
    int n = 0;
    for (char **w = words; *w; w++) {
        if (!**w)
            continue;
        target *slot = n == 0 ? &line.first_response : &line.resolution;
        if (n > 1 || parse_target(*w, slot) != TG_OK) {
            rc = tg_err_set(err, TG_EINVAL,
                            "\"%s\": expected FIRST-RESPONSE [RESOLUTION] durations such as "
                            "4h 1d, 90s, 1h30m, 3d or -",
                            targets);
            goto out;
        }
        n++;
    }
    if (n == 0) {
        rc = tg_err_set(err, TG_EINVAL, "no target given");
        goto out;
    }
    g_array_append_val(pol->lines, line);
    memset(&line, 0, sizeof line);
out:
    g_free(line.channel);
    g_free(line.category);
    g_free(line.priority);
    g_strfreev(terms);
    g_strfreev(words);
    return rc;
}

static int field_matches(const char *want, const char *have)
{
    return !want || (have && g_ascii_strcasecmp(want, have) == 0);
}

/* specificity - rank of a line: terms first, then priority > category > channel. */
static int specificity(const sla_line *l)
{
    int terms = !!l->priority + !!l->category + !!l->channel;
    return terms * 8 + !!l->priority * 4 + !!l->category * 2 + !!l->channel;
}

void tg_sla_compute(const tg_sla_policy *pol, const char *channel, const char *category,
                    const char *priority, int64_t created, tg_sla_due *out)
{
    target fr = {-1, 0}, res = {-1, 0};
    int fr_rank = -1, res_rank = -1;

    for (guint i = 0; i < pol->lines->len; i++) {
        const sla_line *l = &g_array_index(pol->lines, sla_line, i);
        if (!field_matches(l->channel, channel) || !field_matches(l->category, category) ||
            !field_matches(l->priority, priority))
            continue;
        int rank = specificity(l);
        if (l->first_response.days >= 0 && rank > fr_rank) {
            fr = l->first_response;
            fr_rank = rank;
        }
        if (l->resolution.days >= 0 && rank > res_rank) {
            res = l->resolution;
            res_rank = rank;
        }
    }
    int64_t day = tg_calendar_day_length(pol->cal);
    out->first_response =
        fr.days < 0 ? -1 : tg_calendar_add(pol->cal, created, fr.days * day + fr.seconds);
    out->resolution =
        res.days < 0 ? -1 : tg_calendar_add(pol->cal, created, res.days * day + res.seconds);
}

const char *tg_sla_policy_name(const tg_sla_policy *pol)
{
    return pol->name;
}

const tg_calendar *tg_sla_policy_calendar(const tg_sla_policy *pol)
{
    return pol->cal;
}
