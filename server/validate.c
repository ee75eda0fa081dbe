/* Request bodies into requests, or the service's 422 list.
 *
 * The service is FastAPI with pydantic models, so its 422 entries are
 * pydantic's: {"type", "loc", "msg"}, with pydantic's wording for built-in
 * checks ("Input should be a valid string") and "Value error, ..." for the
 * service's own validators. Every problem in a body is reported, not only
 * the first. Entries never echo the input (env values may be secrets). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

void verrs_add(verrs *e, const char *type, const char *const *loc, const char *msg)
{
    if (e->count++) sbuf_add(&e->json, ",", 1);
    sbuf_adds(&e->json, "{\"type\":");
    sbuf_json_strz(&e->json, type);
    sbuf_adds(&e->json, ",\"loc\":[");
    for (size_t i = 0; loc[i]; i++) {
        if (i) sbuf_add(&e->json, ",", 1);
        if (loc[i][0] == '#')
            sbuf_adds(&e->json, loc[i] + 1);
        else
            sbuf_json_strz(&e->json, loc[i]);
    }
    sbuf_adds(&e->json, "],\"msg\":");
    sbuf_json_strz(&e->json, msg);
    sbuf_add(&e->json, "}", 1);
}

void verrs_free(verrs *e)
{
    sbuf_free(&e->json);
    e->count = 0;
}

static void field_error(verrs *e, const char *field, const char *type, const char *msg);

void verrs_json_invalid(verrs *e, const json_error *err)
{
    const char *loc[] = {"body", "#0", NULL};
    /* pydantic's message does not carry the parser's words; the refusals of
     * our own say what to change, and never quote the input. */
    if (err->fail == JSON_TOO_MANY && strcmp(err->where, "env") == 0) {
        char msg[160];
        snprintf(msg, sizeof msg, "Value error, env may hold at most %d entries", ENV_MAX_ENTRIES);
        field_error(e, "env", "value_error", msg);
    } else if (err->fail == JSON_TOO_MANY) {
        char msg[160];
        snprintf(msg, sizeof msg,
                 "Value error, an object or array in the body has more than %d members",
                 JSON_MAX_MEMBERS);
        verrs_add(e, "value_error", loc, msg);
    } else if (err->fail == JSON_BAD_UTF8) {
        verrs_add(e, "value_error", loc, "Value error, a string in the body is not valid UTF-8");
    } else {
        verrs_add(e, "json_invalid", loc, "JSON decode error");
    }
}

static void body_not_object(verrs *e)
{
    const char *loc[] = {"body", NULL};
    verrs_add(e, "model_attributes_type", loc,
              "Input should be a valid dictionary or object to extract fields from");
}

static void field_error(verrs *e, const char *field, const char *type, const char *msg)
{
    const char *loc[] = {"body", field, NULL};
    verrs_add(e, type, loc, msg);
}

static int is_blank(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!isspace((unsigned char)s[i])) return 0;
    return 1;
}

/* An optional non-blank string field; null reads as absent. */
static int optional_string(const jnode *body, const char *field, int not_blank, char **out,
                           verrs *e)
{
    const jnode *v = json_get(body, field);
    *out = NULL;
    if (!v || v->type == J_NULL) return 0;
    if (v->type != J_STRING) {
        field_error(e, field, "string_type", "Input should be a valid string");
        return -1;
    }
    if (memchr(v->s, '\0', v->len)) {
        char msg[128];
        snprintf(msg, sizeof msg, "Value error, %s must not contain NUL", field);
        field_error(e, field, "value_error", msg);
        return -1;
    }
    if (not_blank && is_blank(v->s, v->len)) {
        char msg[128];
        snprintf(msg, sizeof msg, "Value error, %s must not be blank", field);
        field_error(e, field, "value_error", msg);
        return -1;
    }
    *out = xstrdup(v->s);
    return 0;
}

static int env_key_ok(const char *k, size_t len)
{
    if (len == 0 || !(isalpha((unsigned char)k[0]) || k[0] == '_')) return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)k[i];
        if (!(c < 0x80 && (isalnum(c) || c == '_'))) return 0;
    }
    return 1;
}

/* The last of repeated keys wins (Python's dict), so an earlier copy of a
 * key is skipped: repeated[i] is 1 when key i comes again later. One pass
 * from the end through a hash set, so linear in the members. */
static unsigned char *repeated_later(const jnode *env)
{
    unsigned char *repeated = xcalloc(env->n, 1);
    size_t slots = 16;
    while (slots < env->n * 2)
        slots *= 2;
    size_t *set = xcalloc(slots, sizeof *set); /* member index + 1; 0 empty */
    for (size_t i = env->n; i-- > 0;) {
        unsigned h = 2166136261u;
        for (size_t k = 0; k < env->key_lens[i]; k++)
            h = (h ^ (unsigned char)env->keys[i][k]) * 16777619u;
        for (size_t at = h & (slots - 1);; at = (at + 1) & (slots - 1)) {
            size_t j = set[at];
            if (j == 0) {
                set[at] = i + 1;
                break;
            }
            j--;
            if (env->key_lens[j] == env->key_lens[i] &&
                memcmp(env->keys[j], env->keys[i], env->key_lens[i]) == 0) {
                repeated[i] = 1;
                break;
            }
        }
    }
    free(set);
    return repeated;
}

static int validate_env(const jnode *env, create_req *out, verrs *e)
{
    if (env->type == J_NULL) return 0;
    if (env->type != J_OBJECT) {
        field_error(e, "env", "dict_type", "Input should be a valid dictionary");
        return -1;
    }
    int bad = 0;
    size_t count = 0, total = 0;
    unsigned char *repeated = repeated_later(env);
    for (size_t i = 0; i < env->n; i++) {
        if (repeated[i]) continue;
        count++;
        const jnode *v = env->kids[i];
        if (v->type != J_STRING) {
            const char *loc[] = {"body", "env", env->keys[i], NULL};
            verrs_add(e, "string_type", loc, "Input should be a valid string");
            bad = 1;
            continue;
        }
        total += env->key_lens[i] + v->len;
    }
    if (bad) {
        free(repeated);
        return -1;
    }

    sbuf msg = {0};
    /* The service's own check comes first, then the limits it lacks. */
    for (size_t i = 0; i < env->n && !bad; i++) {
        if (repeated[i]) continue;
        if (env->key_lens[i] == strlen("TAILSCALE_AUTHKEY") &&
            memcmp(env->keys[i], "TAILSCALE_AUTHKEY", env->key_lens[i]) == 0) {
            field_error(e, "env", "value_error",
                        "Value error, reserved env keys are not allowed: TAILSCALE_AUTHKEY");
            bad = 1;
        }
    }
    for (size_t i = 0; i < env->n && !bad; i++) {
        if (repeated[i] || env_key_ok(env->keys[i], env->key_lens[i])) continue;
        sbuf_adds(&msg, "Value error, env keys must match [A-Za-z_][A-Za-z0-9_]*: ");
        /* A key with a NUL or newline is shown escaped, never raw. */
        sbuf_json_str(&msg, env->keys[i], env->key_lens[i]);
        field_error(e, "env", "value_error", msg.data ? msg.data : "");
        bad = 1;
    }
    if (!bad && count > ENV_MAX_ENTRIES) {
        sbuf_addf(&msg, "Value error, env may hold at most %d entries, not %zu", ENV_MAX_ENTRIES,
                  count);
        field_error(e, "env", "value_error", msg.data ? msg.data : "");
        bad = 1;
    }
    for (size_t i = 0; i < env->n && !bad; i++) {
        const jnode *v = env->kids[i];
        if (repeated[i]) continue;
        if (v->len > ENV_MAX_VALUE) {
            sbuf_addf(&msg, "Value error, env value of %s is longer than %d bytes", env->keys[i],
                      ENV_MAX_VALUE);
            bad = 1;
        } else if (memchr(v->s, '\0', v->len)) {
            sbuf_addf(&msg, "Value error, env value of %s contains a NUL character", env->keys[i]);
            bad = 1;
        }
        if (bad) field_error(e, "env", "value_error", msg.data ? msg.data : "");
    }
    if (!bad && total > ENV_MAX_TOTAL) {
        sbuf_addf(&msg, "Value error, env is larger than %d bytes in all (keys and values)",
                  ENV_MAX_TOTAL);
        field_error(e, "env", "value_error", msg.data ? msg.data : "");
        bad = 1;
    }
    sbuf_free(&msg);
    if (bad) {
        free(repeated);
        return -1;
    }

    out->env_keys = xcalloc(count, sizeof *out->env_keys);
    out->env_values = xcalloc(count, sizeof *out->env_values);
    for (size_t i = 0; i < env->n; i++) {
        if (repeated[i]) continue;
        out->env_keys[out->env_count] = xstrdup(env->keys[i]);
        out->env_values[out->env_count] = xstrdup(env->kids[i]->s);
        out->env_count++;
    }
    free(repeated);
    return 0;
}

/* expires_at: a future RFC 3339 time with an offset. */
static int expires_value(const jnode *v, int64_t *ms, verrs *e)
{
    if (v->type != J_STRING) {
        field_error(e, "expires_at", "datetime_type", "Input should be a valid datetime");
        return -1;
    }
    int rc = parse_time(v->s, v->len, ms);
    if (rc == -2) {
        field_error(e, "expires_at", "timezone_aware", "Input should have timezone info");
        return -1;
    }
    if (rc != 0) {
        field_error(e, "expires_at", "datetime_from_date_parsing",
                    "Input should be a valid datetime or date, invalid character in year");
        return -1;
    }
    if (*ms <= now_ms()) {
        field_error(e, "expires_at", "datetime_future", "Input should be in the future");
        return -1;
    }
    return 0;
}

void create_req_free(create_req *r)
{
    free(r->image);
    free(r->provider);
    free(r->instance_type);
    for (size_t i = 0; i < r->env_count; i++) {
        free(r->env_keys[i]);
        free_secret(r->env_values[i]);
    }
    free(r->env_keys);
    free(r->env_values);
    memset(r, 0, sizeof *r);
}

int validate_create(const jnode *body, create_req *out, verrs *e)
{
    memset(out, 0, sizeof *out);
    if (!body) return 0;
    if (body->type != J_OBJECT) {
        body_not_object(e);
        return -1;
    }
    int before = e->count;
    optional_string(body, "image", 1, &out->image, e);
    optional_string(body, "provider", 1, &out->provider, e);
    optional_string(body, "instance_type", 1, &out->instance_type, e);

    const jnode *v = json_get(body, "env");
    if (v) validate_env(v, out, e);

    v = json_get(body, "disk_gb");
    if (v && v->type != J_NULL) {
        long long gb = 0;
        int ok = 1;
        /* A double is converted only when it is whole and in range: casting
         * 9.3e18 to long long is undefined behaviour. */
        if (v->type == J_INT)
            gb = v->i;
        else if (v->type == J_DOUBLE && v->d > -9e18 && v->d < 9e18 &&
                 v->d == (double)(long long)v->d)
            gb = (long long)v->d;
        else
            ok = 0;
        if (!ok)
            field_error(e, "disk_gb", "int_type", "Input should be a valid integer");
        else if (gb < 1)
            field_error(e, "disk_gb", "greater_than_equal",
                        "Input should be greater than or equal to 1");
        else
            out->disk_gb = gb;
    }

    v = json_get(body, "expires_at");
    if (v && v->type == J_NULL) {
        out->expires_set = 2;
    } else if (v && expires_value(v, &out->expires_ms, e) == 0) {
        out->expires_set = 1;
    }
    if (e->count != before) {
        create_req_free(out);
        return -1;
    }
    return 0;
}

int validate_renew(const jnode *body, int64_t *expires_ms, verrs *e)
{
    *expires_ms = 0;
    if (!body) return 0;
    if (body->type != J_OBJECT) {
        body_not_object(e);
        return -1;
    }
    const jnode *v = json_get(body, "expires_at");
    if (!v || v->type == J_NULL) return 0;
    return expires_value(v, expires_ms, e);
}

static int proxy_name_ok(const char *s)
{
    if (!isalnum((unsigned char)s[0]) || (unsigned char)s[0] >= 0x80) return 0;
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (!(c < 0x80 && (isalnum(c) || c == '_' || c == '.' || c == '-'))) return 0;
    }
    return 1;
}

#define PROXY_NAME_PATTERN "String should match pattern '^[A-Za-z0-9][A-Za-z0-9_.-]*$'"

int validate_proxy_name(const char *name, verrs *e)
{
    if (proxy_name_ok(name)) return 0;
    const char *loc[] = {"path", "name", NULL};
    verrs_add(e, "string_pattern_mismatch", loc, PROXY_NAME_PATTERN);
    return -1;
}

/* An origin: http(s)://host[:port], nothing after it but an optional "/". */
static int origin_ok(const char *s, size_t len)
{
    if (memchr(s, '\0', len)) return 0;
    size_t skip;
    if (len > 7 && strncmp(s, "http://", 7) == 0)
        skip = 7;
    else if (len > 8 && strncmp(s, "https://", 8) == 0)
        skip = 8;
    else
        return 0;
    const char *host = s + skip;
    size_t rest = len - skip;
    if (rest && host[rest - 1] == '/') rest--;
    if (rest == 0) return 0;
    for (size_t i = 0; i < rest; i++) {
        unsigned char c = (unsigned char)host[i];
        if (c <= 0x20 || c == '/' || c == '?' || c == '#' || c == '@' || c == '\\' || c >= 0x7f)
            return 0;
    }
    return 1;
}

int validate_proxy_create(const jnode *body, verrs *e)
{
    if (!body || body->type != J_OBJECT) {
        if (!body) {
            const char *loc[] = {"body", NULL};
            verrs_add(e, "missing", loc, "Field required");
        } else {
            body_not_object(e);
        }
        return -1;
    }
    int before = e->count;
    const jnode *name = json_get(body, "name");
    if (!name)
        field_error(e, "name", "missing", "Field required");
    else if (name->type != J_STRING)
        field_error(e, "name", "string_type", "Input should be a valid string");
    else if (memchr(name->s, '\0', name->len) || !proxy_name_ok(name->s))
        field_error(e, "name", "string_pattern_mismatch", PROXY_NAME_PATTERN);

    const jnode *target = json_get(body, "target");
    if (!target)
        field_error(e, "target", "missing", "Field required");
    else if (target->type != J_STRING)
        field_error(e, "target", "string_type", "Input should be a valid string");
    else if (!origin_ok(target->s, target->len))
        field_error(e, "target", "value_error",
                    "Value error, target must be an origin URL (scheme and host, no path, "
                    "query, fragment or credentials)");

    const jnode *headers = json_get(body, "headers");
    if (!headers) {
        field_error(e, "headers", "missing", "Field required");
    } else if (headers->type != J_OBJECT) {
        field_error(e, "headers", "dict_type", "Input should be a valid dictionary");
    } else if (headers->n == 0) {
        field_error(e, "headers", "too_short",
                    "Dictionary should have at least 1 item after validation, not 0");
    } else {
        for (size_t i = 0; i < headers->n; i++) {
            if (headers->kids[i]->type != J_STRING) {
                const char *loc[] = {"body", "headers", headers->keys[i], NULL};
                verrs_add(e, "string_type", loc, "Input should be a valid string");
            }
        }
    }
    return e->count != before ? -1 : 0;
}

void validate_host_id(const char *id, verrs *e)
{
    if (is_uuid(id)) return;
    const char *loc[] = {"path", "host_id", NULL};
    char msg[160];
    size_t len = strlen(id);
    size_t bad = 0;
    while (bad < len && (isxdigit((unsigned char)id[bad]) || id[bad] == '-'))
        bad++;
    if (bad < len)
        snprintf(msg, sizeof msg,
                 "Input should be a valid UUID, invalid character: expected an optional prefix "
                 "of `urn:uuid:` followed by [0-9a-fA-F-], found `%c` at %zu",
                 isprint((unsigned char)id[bad]) ? id[bad] : '?', bad + 1);
    else
        snprintf(msg, sizeof msg,
                 "Input should be a valid UUID, invalid group count: expected 5 groups of "
                 "hexadecimal digits, found %zu characters",
                 len);
    verrs_add(e, "uuid_parsing", loc, msg);
}

void validate_idempotency_key(const char *key, verrs *e)
{
    if (!key) return;
    size_t len = strlen(key);
    int ok = len >= 1 && len <= 255;
    for (size_t i = 0; ok && i < len; i++) {
        unsigned char c = (unsigned char)key[i];
        ok = c < 0x80 && (isalnum(c) || c == '_' || c == '-' || c == ':' || c == '.');
    }
    if (ok) return;
    const char *loc[] = {"header", "idempotency-key", NULL};
    verrs_add(e, "string_pattern_mismatch", loc,
              "String should match pattern '^[A-Za-z0-9_\\-:.]{1,255}$'");
}
