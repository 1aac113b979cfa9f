/* fuzz_config.c - hostile configurations: the shipped ticketgate.conf and rules.conf, mutated at
 * random line by line (values emptied or replaced by odd ones, lines repeated, dropped or moved,
 * sections and rules spliced in, bytes flipped), are loaded as every program loads them. Nothing
 * may crash (an empty agent email did), and a file that is refused must be said to be so in one
 * line that names the file. FUZZ_ITERATIONS (default 2000) and FUZZ_SEED (default 20261124)
 * reproduce a run; a failure prints the seed and the iteration, and keeps both files. Run under
 * valgrind by fuzz_config.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "tg_config.h"

static GRand *rng;
static unsigned long iteration;
static int failures;

static const char *const odd_values[] = {
    "",
    "x",
    "-1",
    "0",
    "99999999999999999999",
    "\xd0",
    "\xff\xfe",
    "\xe2\x80\xae",
    "a@b/c",
    "@",
    "x@",
    "bob smith <bob@example.org>",
    "support@example.org, , help",
    "Nowhere/Zone",
    "4h30m",
    "1000000d",
    "09:00-18:00, 25:00-26:00",
    "18:00-09:00",
    "closed",
    "2026-13-45",
    "{{ref",
    "{{nope}}",
    ";,;",
    "subject ~ '(?<=a+)b'",
    "subject ~ '(unclosed'",
    "not (",
    "header \"X\" ~ 'a' or",
    "4h 1d",
    "- -",
    "\\",
};

static const char *const odd_lines[] = {
    "[queue x]",
    "[agent y]\nemail = y@example.org",
    "[agent z]\njid = ann@example.org",
    "[queue dup]\naddresses = support@example.org",
    "[calendar c]\nalways = true\nmon = 09:00-10:00",
    "[sla s]\ncalendar = nowhere",
    "[template autoreply]\nbody = {{ref}} {{unknown}}",
    "[rule z]\nif = subject ~ 'a'\npriority = urgent",
    "[rule last]",
    "[general]",
    "key = value",
    "= value",
    "[",
    "[]",
    "# comment",
};

/* key_line - a random line that sets a key, or lines->len when there is none. */
static guint key_line(GPtrArray *lines)
{
    GArray *keys = g_array_new(FALSE, FALSE, sizeof(guint));
    for (guint i = 0; i < lines->len; i++) {
        const char *l = g_ptr_array_index(lines, i);
        if (*l != '#' && *l != '[' && strchr(l, '='))
            g_array_append_val(keys, i);
    }
    guint pick = keys->len ? g_array_index(keys, guint, g_rand_int_range(rng, 0, (gint32)keys->len))
                           : lines->len;
    g_array_free(keys, TRUE);
    return pick;
}

/* mutate - one random change to the lines of a file. */
static void mutate(GPtrArray *lines)
{
    guint n = lines->len;
    guint at = n ? (guint)g_rand_int_range(rng, 0, (gint32)n) : 0;
    char *line = n ? g_ptr_array_index(lines, at) : NULL;
    switch (g_rand_int_range(rng, 0, 6)) {
    case 0: { /* a key's value emptied (a quarter of the time) or replaced */
        guint key = key_line(lines);
        char *kline = key < n ? g_ptr_array_index(lines, key) : NULL;
        if (kline) {
            const char *v = g_rand_int_range(rng, 0, 4) == 0
                                ? ""
                                : odd_values[g_rand_int_range(rng, 0, G_N_ELEMENTS(odd_values))];
            char *changed =
                g_strdup_printf("%.*s= %s", (int)(strchr(kline, '=') - kline), kline, v);
            g_free(kline);
            lines->pdata[key] = changed;
        }
        break;
    }
    case 1: /* a line repeated elsewhere */
        if (line)
            g_ptr_array_insert(lines, g_rand_int_range(rng, 0, (gint32)n + 1), g_strdup(line));
        break;
    case 2: /* a line dropped */
        if (line)
            g_ptr_array_remove_index(lines, at);
        break;
    case 3: /* a section, rule or odd line spliced in */
        g_ptr_array_insert(lines, (gint)at,
                           g_strdup(odd_lines[g_rand_int_range(rng, 0, G_N_ELEMENTS(odd_lines))]));
        break;
    case 4: /* a byte flipped */
        if (line && *line)
            line[g_rand_int_range(rng, 0, (gint32)strlen(line))] =
                (char)g_rand_int_range(rng, 1, 256);
        break;
    default: /* a line moved */
        if (line) {
            g_ptr_array_steal_index(lines, at);
            g_ptr_array_insert(lines, g_rand_int_range(rng, 0, (gint32)n), line);
        }
        break;
    }
}

/* mutant - text, its lines changed 0 to 4 times (0: the file as shipped, beside a mutant). */
static char *mutant(const char *text)
{
    char **split = g_strsplit(text, "\n", -1);
    GPtrArray *lines = g_ptr_array_new_with_free_func(g_free);
    for (char **l = split; *l; l++)
        g_ptr_array_add(lines, g_strdup(*l));
    g_strfreev(split);
    for (int n = g_rand_int_range(rng, 0, 5); n > 0; n--)
        mutate(lines);
    g_ptr_array_add(lines, NULL);
    char *joined = g_strjoinv("\n", (char **)lines->pdata);
    g_ptr_array_unref(lines);
    return joined;
}

/* load_shipped - contrib/NAME, with its absolute paths moved into the temporary directory. */
static char *load_shipped(const char *name)
{
    char *relative = g_strconcat("../../contrib/", name, NULL);
    char *path = tu_data(relative);
    char *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL)) {
        fprintf(stderr, "fuzz_config: cannot read %s\n", path);
        exit(1);
    }
    GString *moved = g_string_new(text);
    g_string_replace(moved, "/var/lib/ticketgate", tu_tmpdir(), 0);
    g_string_replace(moved, "/etc/ticketgate", tu_tmpdir(), 0);
    g_free(text);
    g_free(path);
    g_free(relative);
    return g_string_free(moved, FALSE);
}

/* check - load the files as written; a refusal names the file, in one line. A failure keeps
 * both texts in the working directory. */
static void check(const char *conf_path, const char *conf_text, const char *rules_path,
                  const char *rules_text)
{
    tg_err err = {0};
    tg_config *cfg = tg_config_load(conf_path, &err);
    if (cfg) {
        tg_config_unref(cfg);
        return;
    }
    int named = g_str_has_prefix(err.msg, conf_path) || g_str_has_prefix(err.msg, rules_path);
    if (named && !strpbrk(err.msg, "\r\n"))
        return;
    char *kept_conf = g_strdup_printf("fuzz-failure-%lu.conf", iteration);
    char *kept_rules = g_strdup_printf("fuzz-failure-%lu.rules", iteration);
    g_file_set_contents(kept_conf, conf_text, -1, NULL);
    g_file_set_contents(kept_rules, rules_text, -1, NULL);
    fprintf(stderr, "FAIL: iteration %lu (FUZZ_SEED=%s): %s: \"%s\" (kept in %s and %s)\n",
            iteration, g_getenv("FUZZ_SEED") ? g_getenv("FUZZ_SEED") : "20261124",
            named ? "a message of several lines" : "the file is not named", err.msg, kept_conf,
            kept_rules);
    failures++;
    g_free(kept_conf);
    g_free(kept_rules);
}

int main(void)
{
    unsigned long iterations;
    rng = tu_fuzz_rng(&iterations);
    char *conf = load_shipped("ticketgate.conf");
    char *rules = load_shipped("rules.conf");
    char *secret = tu_write("xmpp.secret", "s3cret\n");
    for (iteration = 0; iteration < iterations && failures < 10; iteration++) {
        char *conf_text = mutant(conf), *rules_text = mutant(rules);
        char *conf_path = tu_write("ticketgate.conf", conf_text);
        char *rules_path = tu_write("rules.conf", rules_text);
        check(conf_path, conf_text, rules_path, rules_text);
        g_free(conf_path);
        g_free(rules_path);
        g_free(conf_text);
        g_free(rules_text);
    }
    printf("%lu mutants of ticketgate.conf and rules.conf loaded; %d failed\n", iteration,
           failures);
    g_free(secret);
    g_free(conf);
    g_free(rules);
    g_rand_free(rng);
    tu_cleanup();
    return failures ? 1 : 0;
}
