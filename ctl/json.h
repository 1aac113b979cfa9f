/* json.h - just enough JSON output for ticketgatectl --json: strings are escaped here. */
#ifndef CTL_JSON_H
#define CTL_JSON_H

#include <glib.h>
#include <stdint.h>

void json_str(GString *out, const char *s); /* "..." or null */
/* json_key - "key": after a comma unless *first; the caller appends the value. */
void json_key(GString *out, int *first, const char *key);
void json_kv_str(GString *out, int *first, const char *key, const char *value);
void json_kv_int(GString *out, int *first, const char *key, int64_t value);
/* json_kv_strv - "key":[...] of the NULL-terminated values; NULL is []. */
void json_kv_strv(GString *out, int *first, const char *key, char *const *values);
void json_kv_time(GString *out, int *first, const char *key, int64_t t); /* ISO 8601 or null */

#endif
