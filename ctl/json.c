/* json.c - JSON string escaping and key/value helpers. */
#include "json.h"

void json_str(GString *out, const char *s)
{
    if (!s) {
        g_string_append(out, "null");
        return;
    }
    g_string_append_c(out, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"':
            g_string_append(out, "\\\"");
            break;
        case '\\':
            g_string_append(out, "\\\\");
            break;
        case '\n':
            g_string_append(out, "\\n");
            break;
        case '\r':
            g_string_append(out, "\\r");
            break;
        case '\t':
            g_string_append(out, "\\t");
            break;
        default:
            if (*p < 0x20)
                g_string_append_printf(out, "\\u%04x", *p);
            else
                g_string_append_c(out, (char)*p);
        }
    }
    g_string_append_c(out, '"');
}

void json_key(GString *out, int *first, const char *k)
{
    if (!*first)
        g_string_append_c(out, ',');
    *first = 0;
    json_str(out, k);
    g_string_append_c(out, ':');
}

void json_kv_str(GString *out, int *first, const char *k, const char *value)
{
    json_key(out, first, k);
    json_str(out, value);
}

void json_kv_strv(GString *out, int *first, const char *k, char *const *values)
{
    json_key(out, first, k);
    g_string_append_c(out, '[');
    for (char *const *v = values; v && *v; v++) {
        if (v != values)
            g_string_append_c(out, ',');
        json_str(out, *v);
    }
    g_string_append_c(out, ']');
}

void json_kv_int(GString *out, int *first, const char *k, int64_t value)
{
    json_key(out, first, k);
    g_string_append_printf(out, "%lld", (long long)value);
}

void json_kv_time(GString *out, int *first, const char *k, int64_t t)
{
    json_key(out, first, k);
    if (t <= 0) {
        g_string_append(out, "null");
        return;
    }
    GDateTime *dt = g_date_time_new_from_unix_utc(t);
    char *iso = g_date_time_format_iso8601(dt);
    json_str(out, iso);
    g_free(iso);
    g_date_time_unref(dt);
}
