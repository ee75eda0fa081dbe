/* Argument checks, made before anything is sent (docs/api.md,
 * Argument checks). Each is a
 * pure function of its input and names the argument it refuses. */
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "util.h"
#include "validate.h"

static int is_alpha(int c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static int has_control_byte(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7F)
            return 1;
    return 0;
}

lb_code check_utf8(const char *what, const char *value, lb_error *err)
{
    if (value && !utf8_valid(value, strlen(value)))
        return error_set(err, LB_ERR_INVALID, 0, "%s is not valid UTF-8", what);
    return LB_OK;
}

lb_code check_base_url(const char *url, lb_error *err)
{
    if (!url || !*url)
        return error_set(err, LB_ERR_INVALID, 0, "base URL is empty");
    if (has_control_byte(url) || strchr(url, ' '))
        return error_set(err, LB_ERR_INVALID, 0, "base URL holds spaces or control bytes");
    if (!utf8_valid(url, strlen(url)))
        return error_set(err, LB_ERR_INVALID, 0, "base URL is not valid UTF-8");
    if (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0)
        return error_set(err, LB_ERR_INVALID, 0, "base URL must start with http:// or https://");

    CURLU *u = curl_url();
    if (!u)
        return error_set(err, LB_ERR_NOMEM, 0, "out of memory");
    lb_code rc = LB_OK;
    char *part = NULL;
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK) {
        rc = error_set(err, LB_ERR_INVALID, 0, "base URL cannot be parsed");
    } else if (curl_url_get(u, CURLUPART_USER, &part, 0) == CURLUE_OK ||
               curl_url_get(u, CURLUPART_PASSWORD, &part, 0) == CURLUE_OK) {
        rc = error_set(err, LB_ERR_INVALID, 0,
                       "base URL must not hold user:password; pass the token instead");
    } else if (curl_url_get(u, CURLUPART_QUERY, &part, 0) == CURLUE_OK ||
               curl_url_get(u, CURLUPART_FRAGMENT, &part, 0) == CURLUE_OK) {
        rc = error_set(err, LB_ERR_INVALID, 0, "base URL must not hold a query or fragment");
    }
    curl_free(part);
    curl_url_cleanup(u);
    return rc;
}

lb_code check_header_value(const char *what, const char *value, int allow_empty, lb_error *err)
{
    if (!value || (!allow_empty && !*value))
        return error_set(err, LB_ERR_INVALID, 0, "%s is empty", what);
    if (has_control_byte(value))
        return error_set(err, LB_ERR_INVALID, 0, "%s holds CR, LF or another control byte",
                         what);
    return check_utf8(what, value, err);
}

lb_code check_token(const char *token, lb_error *err)
{
    lb_code rc = check_header_value("token", token, 0, err);
    if (rc == LB_OK && strchr(token, ' '))
        rc = error_set(err, LB_ERR_INVALID, 0, "token holds a space");
    return rc;
}

lb_code check_host_id(const char *what, const char *id, lb_error *err)
{
    if (!id || !*id)
        return error_set(err, LB_ERR_INVALID, 0, "%s is empty", what);
    for (const char *p = id; *p; p++)
        if (!is_alpha(*p) && !is_digit(*p) && *p != '-' && *p != '_')
            return error_set(err, LB_ERR_INVALID, 0,
                             "%s may hold only letters, digits, '-' and '_'", what);
    return LB_OK;
}

lb_code check_proxy_name(const char *name, lb_error *err)
{
    if (!name || !*name)
        return error_set(err, LB_ERR_INVALID, 0, "proxy name is empty");
    if (!is_alpha(name[0]) && !is_digit(name[0]))
        return error_set(err, LB_ERR_INVALID, 0, "proxy name must start with a letter or digit");
    for (const char *p = name; *p; p++)
        if (!is_alpha(*p) && !is_digit(*p) && !strchr("_.-", *p))
            return error_set(err, LB_ERR_INVALID, 0,
                             "proxy name may hold only letters, digits, '_', '.' and '-'");
    return LB_OK;
}

lb_code check_idempotency_key(const char *key, lb_error *err)
{
    size_t n = key ? strlen(key) : 0;
    if (n < 1 || n > 255)
        return error_set(err, LB_ERR_INVALID, 0,
                         "idempotency key must be 1 to 255 characters long");
    for (const char *p = key; *p; p++)
        if (!is_alpha(*p) && !is_digit(*p) && !strchr("_-:.", *p))
            return error_set(err, LB_ERR_INVALID, 0,
                             "idempotency key may hold only A-Z a-z 0-9 _ - : .");
    return LB_OK;
}

lb_code check_optional_string(const char *what, const char *value, lb_error *err)
{
    if (!value)
        return LB_OK;
    if (!*value)
        return error_set(err, LB_ERR_INVALID, 0, "%s is empty (pass NULL to omit it)", what);
    return check_utf8(what, value, err);
}

/* Length of the key of "KEY=VALUE", or 0 when the entry has no '='. */
static size_t env_key_len(const char *entry)
{
    const char *eq = strchr(entry, '=');
    return eq ? (size_t)(eq - entry) : 0;
}

lb_code check_env(const char *const *env, lb_error *err)
{
    if (!env)
        return LB_OK;
    for (size_t i = 0; env[i]; i++) {
        const char *e = env[i];
        size_t klen = env_key_len(e);
        if (!strchr(e, '='))
            return error_set(err, LB_ERR_INVALID, 0, "env entry %zu has no '=' (want KEY=VALUE)",
                             i);
        if (klen == 0 || (!is_alpha(e[0]) && e[0] != '_'))
            return error_set(err, LB_ERR_INVALID, 0,
                             "env entry %zu: key must match [A-Za-z_][A-Za-z0-9_]*", i);
        for (size_t k = 1; k < klen; k++)
            if (!is_alpha(e[k]) && !is_digit(e[k]) && e[k] != '_')
                return error_set(err, LB_ERR_INVALID, 0,
                                 "env entry %zu: key must match [A-Za-z_][A-Za-z0-9_]*", i);
        for (size_t j = 0; j < i; j++)
            if (env_key_len(env[j]) == klen && memcmp(env[j], e, klen) == 0)
                return error_set(err, LB_ERR_INVALID, 0, "env key %.*s is given twice",
                                 (int)(klen > 64 ? 64 : klen), e);
        if (!utf8_valid(e, strlen(e)))
            return error_set(err, LB_ERR_INVALID, 0, "env entry %zu is not valid UTF-8", i);
    }
    return LB_OK;
}

static int is_token_char(int c)
{
    return is_alpha(c) || is_digit(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

lb_code check_proxy_headers(const char *const *headers, lb_error *err)
{
    if (!headers)
        return LB_OK;
    for (size_t i = 0; headers[i]; i++) {
        const char *h = headers[i];
        const char *colon = strchr(h, ':');
        if (!colon || colon == h)
            return error_set(err, LB_ERR_INVALID, 0,
                             "proxy header %zu must be 'Name: value'", i);
        for (const char *p = h; p < colon; p++)
            if (!is_token_char((unsigned char)*p))
                return error_set(err, LB_ERR_INVALID, 0,
                                 "proxy header %zu: name holds a character not allowed in a "
                                 "header name", i);
        for (const unsigned char *p = (const unsigned char *)colon + 1; *p; p++)
            if (*p < 0x20 || *p == 0x7F)
                return error_set(err, LB_ERR_INVALID, 0,
                                 "proxy header %zu: value holds CR, LF or another control byte", i);
        if (!utf8_valid(h, strlen(h)))
            return error_set(err, LB_ERR_INVALID, 0, "proxy header %zu is not valid UTF-8", i);
        size_t nlen = (size_t)(colon - h);
        for (size_t j = 0; j < i; j++)
            if (strncasecmp(headers[j], h, nlen) == 0 && headers[j][nlen] == ':')
                return error_set(err, LB_ERR_INVALID, 0, "proxy header %.*s is given twice",
                                 (int)(nlen > 64 ? 64 : nlen), h);
    }
    return LB_OK;
}
