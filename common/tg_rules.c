/* tg_rules.c - the rule file: GKeyFile groups "[rule NAME]" in order; each `if` expression is
 * tokenized by GScanner and parsed here into a tree of PCRE2 tests, JIT-compiled once.
 *
 *   if = subject ~ 'срочно|urgent' or (header "X-Priority" ~ '^1' and not from ~ 'noreply')
 *
 * Fields: subject body text from to channel lang header "Name". Operators: ~ !~ (PCRE2, always
 * caseless with UTF and Unicode properties) and = != (caseless equality). */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <glib.h>
#include <pcre2.h>
#include <stdio.h>
#include <string.h>

#include "tg_keyfile.h"
#include "tg_log.h"
#include "tg_rules.h"

typedef enum { N_AND, N_OR, N_NOT, N_TEST } node_kind;
typedef enum { F_SUBJECT, F_BODY, F_TEXT, F_FROM, F_TO, F_CHANNEL, F_LANG, F_HEADER } field;

typedef struct node {
    node_kind kind;
    struct node *a, *b;
    field field;
    char *header;   /* F_HEADER: its name */
    int negate;     /* !~ or != */
    pcre2_code *re; /* ~ */
    char *equals;   /* =: casefolded literal */
    char *source;   /* the test as written, for explanations */
} node;

typedef struct rule {
    tg_rule_action action;
    node *cond; /* NULL: always matches */
    char *strings[8];
    char **tags;
} rule;

struct tg_rules {
    char *path;
    GPtrArray *rules; /* rule*, in file order */
    pcre2_match_context *mctx;
};

static const struct {
    const char *name;
    field field;
} field_names[] = {
    {"subject", F_SUBJECT}, {"body", F_BODY},       {"text", F_TEXT}, {"from", F_FROM},
    {"to", F_TO},           {"channel", F_CHANNEL}, {"lang", F_LANG}, {"header", F_HEADER},
};

static void node_free(node *n)
{
    if (!n)
        return;
    node_free(n->a);
    node_free(n->b);
    pcre2_code_free(n->re);
    g_free(n->header);
    g_free(n->equals);
    g_free(n->source);
    g_free(n);
}

/* ---- parsing an `if` expression ---- */

typedef struct parser {
    GScanner *sc;
    char error[300];
} parser;

static node *parse_or(parser *p);

static int parse_fail(parser *p, const char *what)
{
    if (!p->error[0])
        snprintf(p->error, sizeof p->error, "column %u: %s", g_scanner_cur_position(p->sc), what);
    return 0;
}

static int peek_word(parser *p, const char *word)
{
    GTokenType t = g_scanner_peek_next_token(p->sc);
    return t == G_TOKEN_IDENTIFIER && g_ascii_strcasecmp(p->sc->next_value.v_identifier, word) == 0;
}

static char *expect_string(parser *p)
{
    if (g_scanner_get_next_token(p->sc) != G_TOKEN_STRING) {
        parse_fail(p, "expected a quoted string ('...' for patterns)");
        return NULL;
    }
    return g_strdup(p->sc->value.v_string);
}

static node *parse_test(parser *p)
{
    node *n = g_new0(node, 1);
    char *operand = NULL;
    size_t i;

    n->kind = N_TEST;
    if (g_scanner_get_next_token(p->sc) != G_TOKEN_IDENTIFIER) {
        parse_fail(p, "expected a field: subject, body, text, from, to, channel, lang, header");
        goto fail;
    }
    for (i = 0; i < G_N_ELEMENTS(field_names); i++)
        if (g_ascii_strcasecmp(p->sc->value.v_identifier, field_names[i].name) == 0)
            break;
    if (i == G_N_ELEMENTS(field_names)) {
        char msg[160];
        snprintf(msg, sizeof msg, "unknown field \"%s\"", p->sc->value.v_identifier);
        parse_fail(p, msg);
        goto fail;
    }
    n->field = field_names[i].field;
    if (n->field == F_HEADER && !(n->header = expect_string(p)))
        goto fail;

    GTokenType op = g_scanner_get_next_token(p->sc);
    if (op == '!') {
        n->negate = 1;
        op = g_scanner_get_next_token(p->sc);
    }
    if (op != '~' && op != '=') {
        parse_fail(p, "expected an operator: ~ !~ = !=");
        goto fail;
    }
    if (!(operand = expect_string(p)))
        goto fail;
    if (op == '=') {
        n->equals = g_utf8_casefold(operand, -1);
    } else {
        int code;
        PCRE2_SIZE offset;
        n->re = pcre2_compile((PCRE2_SPTR)operand, PCRE2_ZERO_TERMINATED,
                              PCRE2_UTF | PCRE2_UCP | PCRE2_CASELESS | PCRE2_MATCH_INVALID_UTF,
                              &code, &offset, NULL);
        if (!n->re) {
            PCRE2_UCHAR msg[200];
            char text[280];
            pcre2_get_error_message(code, msg, sizeof msg);
            snprintf(text, sizeof text, "pattern '%s' at offset %zu: %s", operand, (size_t)offset,
                     (char *)msg);
            parse_fail(p, text);
            goto fail;
        }
        /* JIT is an optimization; the interpreter still honours the limits if it fails. */
        pcre2_jit_compile(n->re, PCRE2_JIT_COMPLETE);
    }
    n->source = g_strdup_printf("%s%s%s%s %s%c '%s'", field_names[i].name, n->header ? " \"" : "",
                                n->header ? n->header : "", n->header ? "\"" : "",
                                n->negate ? "!" : "", op, operand);
    g_free(operand);
    return n;
fail:
    g_free(operand);
    node_free(n);
    return NULL;
}

static node *parse_unary(parser *p)
{
    if (peek_word(p, "not")) {
        g_scanner_get_next_token(p->sc);
        node *inner = parse_unary(p);
        if (!inner)
            return NULL;
        node *n = g_new0(node, 1);
        n->kind = N_NOT;
        n->a = inner;
        return n;
    }
    if (g_scanner_peek_next_token(p->sc) == '(') {
        g_scanner_get_next_token(p->sc);
        node *n = parse_or(p);
        if (n && g_scanner_get_next_token(p->sc) != ')') {
            parse_fail(p, "expected )");
            node_free(n);
            return NULL;
        }
        return n;
    }
    return parse_test(p);
}

static node *parse_binary(parser *p, const char *word, node_kind kind, node *(*operand)(parser *))
{
    node *left = operand(p);
    while (left && peek_word(p, word)) {
        g_scanner_get_next_token(p->sc);
        node *right = operand(p);
        if (!right) {
            node_free(left);
            return NULL;
        }
        node *n = g_new0(node, 1);
        n->kind = kind;
        n->a = left;
        n->b = right;
        left = n;
    }
    return left;
}

static node *parse_and(parser *p)
{
    return parse_binary(p, "and", N_AND, parse_unary);
}

static node *parse_or(parser *p)
{
    return parse_binary(p, "or", N_OR, parse_and);
}

/* parse_condition - the tree for text, or NULL with p->error set. */
static node *parse_condition(const char *text, char *error, size_t error_size)
{
    parser p = {0};

    p.sc = g_scanner_new(NULL);
    GScannerConfig *cfg = p.sc->config; /* the scanner's own copy of the defaults */
    cfg->cset_identifier_first = (char *)G_CSET_a_2_z G_CSET_A_2_Z "_";
    cfg->cset_identifier_nth = (char *)G_CSET_a_2_z G_CSET_A_2_Z "_0123456789";
    cfg->scan_string_sq = TRUE;
    cfg->scan_string_dq = TRUE;
    cfg->scan_identifier_1char = TRUE;
    cfg->char_2_token = TRUE;
    cfg->scan_symbols = FALSE;
    cfg->skip_comment_single = FALSE; /* '#' is an ordinary character in a pattern */
    cfg->skip_comment_multi = FALSE;
    cfg->scan_comment_multi = FALSE;
    g_scanner_input_text(p.sc, text, strlen(text));
    node *n = parse_or(&p);
    if (n && g_scanner_peek_next_token(p.sc) != G_TOKEN_EOF) {
        parse_fail(&p, "expected and, or, or the end of the condition");
        node_free(n);
        n = NULL;
    }
    if (!n)
        snprintf(error, error_size, "%s", p.error[0] ? p.error : "bad condition");
    g_scanner_destroy(p.sc);
    return n;
}

/* ---- matching ---- */

typedef struct eval_ctx {
    const tg_rules *rules;
    const tg_inbound *in;
    pcre2_match_data *md;
    GString *why;
    int record; /* 0 inside `not`: a match there is not a reason */
    int cut_off;
} eval_ctx;

static int test_value(eval_ctx *cx, const node *n, const char *value)
{
    if (!value)
        return 0;
    if (n->equals) {
        char *folded = g_utf8_casefold(value, -1);
        int eq = strcmp(folded, n->equals) == 0;
        g_free(folded);
        return eq;
    }
    int rc = pcre2_match(n->re, (PCRE2_SPTR)value, strlen(value), 0, 0, cx->md, cx->rules->mctx);
    if (rc >= 0) {
        if (cx->record) {
            PCRE2_SIZE *ov = pcre2_get_ovector_pointer(cx->md);
            int len = (int)MIN(ov[1] - ov[0], 60);
            g_string_append_printf(cx->why, "%s%s matched \"%.*s\"", cx->why->len ? "; " : "",
                                   n->source, len, value + ov[0]);
        }
        return 1;
    }
    if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT ||
        rc == PCRE2_ERROR_HEAPLIMIT || rc == PCRE2_ERROR_JIT_STACKLIMIT) {
        cx->cut_off++;
        tg_warn("rules: %s: pattern %s abandoned at the match limit on a %zu-byte text",
                cx->rules->path, n->source, strlen(value));
    }
    return 0;
}

static int eval_test(eval_ctx *cx, const node *n)
{
    const tg_inbound *in = cx->in;
    int hit = 0;

    switch (n->field) {
    case F_SUBJECT:
        hit = test_value(cx, n, in->subject);
        break;
    case F_BODY:
        hit = test_value(cx, n, in->text);
        break;
    case F_TEXT:
        hit = test_value(cx, n, in->subject) || test_value(cx, n, in->text);
        break;
    case F_CHANNEL:
        hit = test_value(cx, n, in->channel);
        break;
    case F_LANG:
        hit = test_value(cx, n, in->lang);
        break;
    case F_FROM: {
        hit = test_value(cx, n, in->sender) ||
              (in->sender_name && test_value(cx, n, in->sender_name)) ||
              (in->author && test_value(cx, n, in->author)); /* From, when Reply-To differs */
        break;
    }
    case F_TO:
        hit = test_value(cx, n, in->recipient);
        for (char **r = in->recipients; !hit && r && *r; r++)
            hit = test_value(cx, n, *r);
        break;
    case F_HEADER:
        for (size_t i = 0; !hit && i < in->n_headers; i++)
            if (g_ascii_strcasecmp(in->headers[i].name, n->header) == 0)
                hit = test_value(cx, n, in->headers[i].value);
        break;
    }
    return n->negate ? !hit : hit;
}

static int eval(eval_ctx *cx, const node *n)
{
    switch (n->kind) {
    case N_AND:
        return eval(cx, n->a) && eval(cx, n->b);
    case N_OR:
        return eval(cx, n->a) || eval(cx, n->b);
    case N_NOT: {
        int saved = cx->record;
        cx->record = 0;
        int v = !eval(cx, n->a);
        cx->record = saved;
        return v;
    }
    case N_TEST:
        return eval_test(cx, n);
    }
    return 0;
}

void tg_rules_classify(const tg_rules *rules, const tg_inbound *in, tg_verdict *out)
{
    eval_ctx cx = {rules, in, pcre2_match_data_create(1, NULL), g_string_new(NULL), 1, 0};

    memset(out, 0, sizeof *out);
    for (guint i = 0; i < rules->rules->len; i++) {
        const rule *r = g_ptr_array_index(rules->rules, i);
        g_string_truncate(cx.why, 0);
        if (r->cond && !eval(&cx, r->cond))
            continue;
        out->action = &r->action;
        snprintf(out->why, sizeof out->why, "%s", r->cond ? cx.why->str : "no condition");
        break;
    }
    out->cut_off = cx.cut_off;
    pcre2_match_data_free(cx.md);
    g_string_free(cx.why, TRUE);
}

/* ---- loading ---- */

int tg_priority_valid(const char *p)
{
    return p && (strcmp(p, "urgent") == 0 || strcmp(p, "high") == 0 || strcmp(p, "normal") == 0 ||
                 strcmp(p, "low") == 0);
}

static void rule_free(gpointer data)
{
    rule *r = data;
    node_free(r->cond);
    for (size_t i = 0; i < G_N_ELEMENTS(r->strings); i++)
        g_free(r->strings[i]);
    g_strfreev(r->tags);
    g_free(r);
}

static const char *const rule_keys[] = {"if",    "queue",    "category", "priority",  "sla",
                                        "group", "assignee", "tags",     "auto_reply"};

static int load_rule(tg_rules *rules, tg_keyfile *kf, const char *group, tg_err *err)
{
    rule *r = g_new0(rule, 1);
    const char **slots[] = {&r->action.queue, &r->action.category, &r->action.priority,
                            &r->action.sla,   &r->action.group,    &r->action.assignee};
    char **keys = g_key_file_get_keys(kf->kf, group, NULL, NULL);
    int rc = TG_OK;

    r->strings[0] = g_strstrip(g_strdup(group + 5));
    r->action.rule = r->strings[0];
    r->action.line = tg_keyfile_line(kf, group, NULL);
    if (!*r->action.rule) {
        rc = tg_keyfile_fail(kf, err, group, NULL, "a rule needs a name: [rule NAME]");
        goto out;
    }
    for (char **k = keys; *k; k++) {
        size_t i;
        for (i = 0; i < G_N_ELEMENTS(rule_keys); i++)
            if (strcmp(*k, rule_keys[i]) == 0)
                break;
        if (i == G_N_ELEMENTS(rule_keys)) {
            rc = tg_keyfile_fail(kf, err, group, *k,
                                 "unknown key (if, queue, category, priority, sla, group, "
                                 "assignee, tags, auto_reply)");
            goto out;
        }
    }
    char *cond = g_key_file_get_string(kf->kf, group, "if", NULL);
    if (cond) {
        char error[300];
        r->cond = parse_condition(cond, error, sizeof error);
        g_free(cond);
        if (!r->cond) {
            rc = tg_keyfile_fail(kf, err, group, "if", "%s", error);
            goto out;
        }
    }
    for (size_t i = 0; i < G_N_ELEMENTS(slots); i++) {
        char *v = g_key_file_get_string(kf->kf, group, rule_keys[i + 1], NULL);
        if (v && !*g_strstrip(v)) {
            g_free(v);
            v = NULL;
        }
        r->strings[i + 1] = v;
        *slots[i] = v;
    }
    if (r->action.priority && !tg_priority_valid(r->action.priority)) {
        rc = tg_keyfile_fail(kf, err, group, "priority",
                             "\"%s\" is not urgent, high, normal or low", r->action.priority);
        goto out;
    }
    char *tags = g_key_file_get_string(kf->kf, group, "tags", NULL);
    r->tags = tags ? tg_split_list(tags) : NULL;
    g_free(tags);
    r->action.tags = (const char *const *)r->tags;
    if (g_key_file_has_key(kf->kf, group, "auto_reply", NULL)) {
        GError *gerr = NULL;
        gboolean on = g_key_file_get_boolean(kf->kf, group, "auto_reply", &gerr);
        if (gerr) {
            g_error_free(gerr);
            rc = tg_keyfile_fail(kf, err, group, "auto_reply", "expected true or false");
            goto out;
        }
        r->action.no_auto_reply = !on;
    }
    g_ptr_array_add(rules->rules, r);
    r = NULL;
out:
    if (r)
        rule_free(r);
    g_strfreev(keys);
    return rc;
}

tg_rules *tg_rules_load(const char *path, const tg_rules_limits *limits, tg_err *err)
{
    tg_keyfile *kf = tg_keyfile_load(path, err);
    if (!kf)
        return NULL;

    tg_rules *rules = g_new0(tg_rules, 1);
    const rule *unconditional = NULL;
    char **groups = g_key_file_get_groups(kf->kf, NULL);
    int rc = TG_OK;

    rules->path = g_strdup(path);
    rules->rules = g_ptr_array_new_with_free_func(rule_free);
    rules->mctx = pcre2_match_context_create(NULL);
    pcre2_set_match_limit(rules->mctx,
                          limits && limits->match_limit ? limits->match_limit : 1000000);
    pcre2_set_depth_limit(rules->mctx, limits && limits->depth_limit ? limits->depth_limit : 10000);

    for (char **g = groups; *g; g++) {
        if (strncmp(*g, "rule ", 5) != 0) {
            rc = tg_keyfile_fail(kf, err, *g, NULL, "expected a [rule NAME] section");
            goto out;
        }
        if (unconditional) {
            rc = tg_keyfile_fail(kf, err, *g, NULL,
                                 "can never match: rule \"%s\" before it has no `if` and "
                                 "matches everything",
                                 unconditional->action.rule);
            goto out;
        }
        if ((rc = load_rule(rules, kf, *g, err)) != TG_OK)
            goto out;
        const rule *r = g_ptr_array_index(rules->rules, rules->rules->len - 1);
        if (!r->cond)
            unconditional = r;
    }
    if (!unconditional) {
        rule *r = g_new0(rule, 1);
        r->strings[0] = g_strdup("default");
        r->strings[1] = g_strdup("general");
        r->strings[2] = g_strdup("normal");
        r->action.rule = r->strings[0];
        r->action.category = r->strings[1];
        r->action.priority = r->strings[2];
        g_ptr_array_add(rules->rules, r);
    }
out:
    g_strfreev(groups);
    tg_keyfile_free(kf);
    if (rc != TG_OK) {
        tg_rules_free(rules);
        return NULL;
    }
    return rules;
}

void tg_rules_free(tg_rules *rules)
{
    if (!rules)
        return;
    g_ptr_array_free(rules->rules, TRUE);
    pcre2_match_context_free(rules->mctx);
    g_free(rules->path);
    g_free(rules);
}

size_t tg_rules_count(const tg_rules *rules)
{
    return rules->rules->len;
}

const tg_rule_action *tg_rules_action(const tg_rules *rules, size_t i)
{
    return &((const rule *)g_ptr_array_index(rules->rules, i))->action;
}

const char *tg_rules_path(const tg_rules *rules)
{
    return rules->path;
}
