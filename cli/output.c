/* Everything the program prints: results on stdout (for people, or one
 * JSON document), error lines on stderr.
 *
 * Stdout is buffered in memory and written once at the end, through the
 * token redactor: the SDK already keeps the token out of what it returns,
 * and this makes the CLI's own promise ("never the token") independent of
 * that. It also means a failed run under --json never leaves half a
 * document on stdout. */
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "json_out.h"

/* ---- exit statuses ---- */

int exit_status_for(lb_code code)
{
    switch (code) {
    case LB_OK:
        return 0;
    case LB_ERR_INVALID:
        return 2;
    case LB_ERR_NOMEM:
        return 1;
    case LB_ERR_AUTH:
        return 3;
    case LB_ERR_NOT_FOUND:
        return 4;
    case LB_ERR_CONFLICT:
        return 5;
    case LB_ERR_VALIDATION:
        return 9;
    case LB_ERR_PROVISIONING:
        return 6;
    case LB_ERR_UNAVAILABLE:
        return 7;
    case LB_ERR_RESPONSE:
        return 8;
    case LB_ERR_CANCELLED:
        return 130;
    }
    return 8; /* a code newer than this program: the service's answer was unusable */
}

/* ---- the secret and the stdout buffer ---- */

static char *secret;
static size_t secret_len;
static char *out_buf;
static size_t out_len;
static FILE *out;
static int colour;
/* A --json document that could not be written for want of memory: the run
 * ends with exit 1 and that reason (out_finish), not a crash. */
static int json_failed;

/* Shorter tokens would turn ordinary words into *** all over the output;
 * the SDK still masks them in everything it returns. */
#define SECRET_MIN 6

void out_set_secret(const char *s)
{
    out_forget_secret();
    if (s && strlen(s) >= SECRET_MIN) {
        secret = strdup(s);
        secret_len = secret ? strlen(secret) : 0;
    }
}

void out_forget_secret(void)
{
    if (secret) {
        volatile char *p = secret;
        while (*p)
            *p++ = '\0';
        free(secret);
    }
    secret = NULL;
    secret_len = 0;
}

/** Write @p len bytes of @p s to @p f with the secret replaced by ***. */
static void redact_to(FILE *f, const char *s, size_t len)
{
    size_t i = 0, from = 0;
    while (secret_len && i + secret_len <= len) {
        if (memcmp(s + i, secret, secret_len) == 0) {
            fwrite(s + from, 1, i - from, f);
            fputs("***", f);
            i += secret_len;
            from = i;
        } else {
            i++;
        }
    }
    fwrite(s + from, 1, len - from, f);
}

void redact(const char *s, char *buf, size_t size)
{
    FILE *f = fmemopen(buf, size, "w");
    if (!f) {
        snprintf(buf, size, "%s", secret_len ? "(message withheld)" : s);
        return;
    }
    setvbuf(f, NULL, _IONBF, 0);
    redact_to(f, s, strlen(s));
    fclose(f); /* fmemopen terminates the text, cutting it when it is too long */
    buf[size - 1] = '\0';
}

static char service_url[512];

void out_set_service_url(const char *url)
{
    snprintf(service_url, sizeof service_url, "%s", url ? url : "");
}

int out_init(void)
{
    out = open_memstream(&out_buf, &out_len);
    if (!out) return -1;
    const char *term = getenv("TERM");
    /* no-color.org: NO_COLOR counts when set to anything but "". */
    const char *no_colour = getenv("NO_COLOR");
    colour =
        isatty(STDOUT_FILENO) && !(no_colour && *no_colour) && !(term && strcmp(term, "dumb") == 0);
    return 0;
}

FILE *out_stream(void)
{
    return out;
}

int out_colour(void)
{
    return colour;
}

int out_finish(void)
{
    if (!out) return 0;
    int failed = fclose(out) != 0;
    out = NULL;
    if (!failed && out_len > 0) {
        redact_to(stdout, out_buf, out_len);
        failed = fflush(stdout) != 0 || ferror(stdout);
    }
    free(out_buf);
    out_buf = NULL;
    if (failed) return fail(CLI_EXIT_LOCAL, "local", "cannot write the output");
    if (json_failed) return fail(CLI_EXIT_LOCAL, "nomem", "out of memory while writing the output");
    return 0;
}

/* ---- stderr ---- */

void err_line(const char *line)
{
    /* One line, whatever the service put in its message: control bytes
     * (a newline, an escape sequence) are shown as \xNN. */
    char buf[2048], safe[2048 * 4];
    redact(line, buf, sizeof buf);
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)buf; *p && n + 5 < sizeof safe; p++) {
        if (*p < 0x20 || *p == 0x7f)
            n += (size_t)snprintf(safe + n, sizeof safe - n, "\\x%02x", *p);
        else
            safe[n++] = (char)*p;
    }
    safe[n] = '\0';
    progress_write_line(safe);
}

/** Format and print `litterbox: <code>: <message>`. */
__attribute__((format(printf, 2, 0))) static void err_vline(const char *code_name, const char *fmt,
                                                            va_list ap)
{
    char msg[1024], line[1200];
    vsnprintf(msg, sizeof msg, fmt, ap);
    snprintf(line, sizeof line, "litterbox: %s: %s", code_name, msg);
    err_line(line);
}

int fail(int status, const char *code_name, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err_vline(code_name, fmt, ap);
    va_end(ap);
    return status;
}

int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err_vline("invalid", fmt, ap);
    va_end(ap);
    err_line("Try 'litterbox --help'.");
    return CLI_EXIT_USAGE;
}

/** Replace the first @p from in @p s (a buffer of @p size) with @p to. */
static void replace_once(char *s, size_t size, const char *from, const char *to)
{
    char *at = strstr(s, from);
    if (!at) return;
    char rest[1024];
    snprintf(rest, sizeof rest, "%s", at + strlen(from));
    snprintf(at, size - (size_t)(at - s), "%s%s", to, rest);
}

/** The library's message, in the program's words: its option names are
 *  the CLI's flags, and a service never reached is named. */
static void message_for_people(const lb_error *err, char *buf, size_t size)
{
    snprintf(buf, size, "%s", err->message[0] ? err->message : "failed");
    replace_once(buf, size, "(timeout_s)", "(--timeout)");
    replace_once(buf, size, "(connect_timeout_s)", "(connecting)");
    if (err->code == LB_ERR_UNAVAILABLE && err->http_status == 0 && service_url[0]) {
        size_t n = strlen(buf);
        snprintf(buf + n, size - n, " (URL %s)", service_url);
    }
}

int report_error(const lb_error *err, const char *what)
{
    char status[32] = "";
    if (err->http_status != 0) snprintf(status, sizeof status, " (HTTP %d)", err->http_status);
    char message[1024];
    message_for_people(err, message, sizeof message);
    if (what)
        fail(0, lb_code_name(err->code), "%s: %s%s", what, message, status);
    else
        fail(0, lb_code_name(err->code), "%s%s", message, status);
    /* 400 is the service refusing the input (an unknown provider or image),
     * as 422 is: the same exit status. */
    if (err->code == LB_ERR_RESPONSE && err->http_status == 400) return 9;
    return exit_status_for(err->code);
}

/* ---- text for people ---- */

#define SGR_BOLD "\033[1m"
#define SGR_RED "\033[31m"
#define SGR_GREEN "\033[32m"
#define SGR_YELLOW "\033[33m"
#define SGR_RESET "\033[0m"

void out_text(FILE *f, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            fprintf(f, "\\x%02x", *p);
        else
            fputc(*p, f);
    }
}

/** The colour that says how a status word is doing. */
static const char *status_colour(const char *status)
{
    if (!colour || !status) return NULL;
    if (strcmp(status, "active") == 0 || strcmp(status, "ok") == 0) return SGR_GREEN;
    if (strcmp(status, "error") == 0) return SGR_RED;
    return SGR_YELLOW;
}

/** Write @p s padded to @p width columns, in @p sgr when not NULL. */
static void out_cell(FILE *f, const char *s, int width, const char *sgr)
{
    if (sgr) fputs(sgr, f);
    out_text(f, s);
    if (sgr) fputs(SGR_RESET, f);
    for (int n = (int)strlen(s); n < width; n++)
        fputc(' ', f);
}

/** One `key: value` line, the key padded so that values line up. A value
 *  with newlines continues on lines indented to the value column. */
static void kv_line(FILE *f, int width, const char *key, const char *value, const char *sgr)
{
    if (colour) fputs(SGR_BOLD, f);
    fprintf(f, "%s:", key);
    if (colour) fputs(SGR_RESET, f);
    fprintf(f, "%*s", width - (int)strlen(key), "");
    const char *line = value;
    for (int first = 1;; first = 0) {
        const char *nl = strchr(line, '\n');
        if (!first) fprintf(f, "%*s", width + 1, "");
        char *piece = strndup(line, nl ? (size_t)(nl - line) : strlen(line));
        out_cell(f, piece ? piece : "", 0, sgr);
        free(piece);
        fputc('\n', f);
        if (!nl || nl[1] == '\0') break;
        line = nl + 1;
    }
}

/* ---- JSON ---- */

static void json_finish(json_out *j)
{
    if (json_end(j, out) != 0) json_failed = 1;
}

/* ---- hosts ---- */

/** How a host field is shown; see host_fields. */
typedef enum field_kind {
    FIELD_STR,     /* never NULL; "" shown as "-" to people */
    FIELD_NSTR,    /* NULL is JSON null */
    FIELD_PORT,    /* int */
    FIELD_DISK,    /* long long, 0 is null */
    FIELD_KEY,     /* the private key: JSON only */
    FIELD_EXPIRES, /* nullable; null means a permanent host */
    FIELD_TIME,    /* an RFC 3339 time; people see when.c's form */
} field_kind;

typedef struct host_field {
    const char *key;
    field_kind kind;
    size_t offset;
} host_field;

/* docs/cli.md's keys, in its order: the JSON object and the human form
 * both follow this table. */
static const host_field host_fields[] = {
    {"id", FIELD_STR, offsetof(lb_host, id)},
    {"name", FIELD_STR, offsetof(lb_host, name)},
    {"status", FIELD_STR, offsetof(lb_host, status)},
    {"provider", FIELD_STR, offsetof(lb_host, provider)},
    {"image", FIELD_STR, offsetof(lb_host, image)},
    {"ssh_host", FIELD_STR, offsetof(lb_host, ssh_host)},
    {"ssh_port", FIELD_PORT, offsetof(lb_host, ssh_port)},
    {"ssh_username", FIELD_STR, offsetof(lb_host, ssh_username)},
    {"internal_ssh_host", FIELD_NSTR, offsetof(lb_host, internal_ssh_host)},
    {"known_hosts", FIELD_STR, offsetof(lb_host, known_hosts)},
    {"private_key", FIELD_KEY, offsetof(lb_host, private_key)},
    {"tailscale_device_id", FIELD_NSTR, offsetof(lb_host, tailscale_device_id)},
    {"instance_type", FIELD_NSTR, offsetof(lb_host, instance_type)},
    {"disk_gb", FIELD_DISK, offsetof(lb_host, disk_gb)},
    {"last_error", FIELD_STR, offsetof(lb_host, last_error)},
    {"created_at", FIELD_TIME, offsetof(lb_host, created_at)},
    {"updated_at", FIELD_TIME, offsetof(lb_host, updated_at)},
    {"activated_at", FIELD_TIME, offsetof(lb_host, activated_at)},
    {"expires_at", FIELD_EXPIRES, offsetof(lb_host, expires_at)},
};
#define HOST_FIELD_COUNT (sizeof host_fields / sizeof host_fields[0])

static const char *field_string(const lb_host *h, const host_field *f)
{
    return *(const char *const *)(const void *)((const char *)h + f->offset);
}

static void json_host(json_out *g, const lb_host *h)
{
    json_object_open(g);
    for (size_t i = 0; i < HOST_FIELD_COUNT; i++) {
        const host_field *f = &host_fields[i];
        json_key(g, f->key);
        switch (f->kind) {
        case FIELD_PORT:
            json_integer(g, h->ssh_port);
            break;
        case FIELD_DISK:
            if (h->disk_gb == 0)
                json_null(g);
            else
                json_integer(g, h->disk_gb);
            break;
        default:
            json_string_or_null(g, field_string(h, f));
            break;
        }
    }
    json_object_close(g);
}

static void human_host(FILE *f, const lb_host *h, const key_note *note)
{
    const int width = (int)sizeof "tailscale_device_id";
    for (size_t i = 0; i < HOST_FIELD_COUNT; i++) {
        const host_field *fd = &host_fields[i];
        const char *s =
            fd->kind == FIELD_PORT || fd->kind == FIELD_DISK ? NULL : field_string(h, fd);
        char num[32], saved[PATH_MAX + 32], when[96];
        const char *value = s && *s ? s : "-";
        const char *sgr = NULL;
        switch (fd->kind) {
        case FIELD_PORT:
            snprintf(num, sizeof num, "%d", h->ssh_port);
            value = num;
            break;
        case FIELD_DISK:
            snprintf(num, sizeof num, "%lld", h->disk_gb);
            value = h->disk_gb ? num : "-";
            break;
        case FIELD_TIME:
            if (s && *s) {
                when_human(s, (long long)time(NULL), 0, when, sizeof when);
                value = when;
            }
            break;
        case FIELD_EXPIRES:
            /* "How long is left" is what people read this line for. */
            if (s) {
                when_human(s, (long long)time(NULL), 1, when, sizeof when);
                value = when;
            } else {
                value = "never";
            }
            break;
        case FIELD_KEY:
            /* A key on a screen ends up in scrollback, logs and recordings. */
            if (!s)
                value = "-";
            else if (note && note->save_failed)
                value = "returned but not kept (see the error); not shown";
            else if (note && note->saved_to) {
                snprintf(saved, sizeof saved, "saved to %s (mode 0600)", note->saved_to);
                value = saved;
            } else if (note && note->kept_at) {
                snprintf(saved, sizeof saved, "kept in %s (mode 0600) for litterbox ssh",
                         note->kept_at);
                value = saved;
            } else
                value = "returned but not shown";
            break;
        default:
            if (strcmp(fd->key, "status") == 0) sgr = status_colour(s);
            break;
        }
        kv_line(f, width, fd->key, value, sgr);
    }
}

void out_host(const cli_ctx *ctx, const lb_host *h, const key_note *note)
{
    if (ctx->g.json) {
        json_out g;
        json_begin(&g, NULL);
        json_host(&g, h);
        json_finish(&g);
    } else {
        human_host(out, h, note);
    }
}

void out_host_array(const cli_ctx *ctx, lb_host *const *hosts, size_t n, const key_note *notes)
{
    if (ctx->g.json) {
        json_out g;
        json_begin(&g, NULL);
        json_array_open(&g);
        for (size_t i = 0; i < n; i++)
            if (hosts[i]) json_host(&g, hosts[i]);
        json_array_close(&g);
        json_finish(&g);
        return;
    }
    int first = 1;
    for (size_t i = 0; i < n; i++) {
        if (!hosts[i]) continue;
        if (!first) fputc('\n', out);
        first = 0;
        human_host(out, hosts[i], notes ? &notes[i] : NULL);
    }
}

/** `host:port` as ssh would be told it; brackets around an IPv6 host. */
static void ssh_address(const lb_host *h, char *buf, size_t size)
{
    const char *host = h->ssh_host;
    int port = h->ssh_port;
    if (!host || !*host) {
        host = h->internal_ssh_host;
        port = 22;
    }
    if (!host || !*host)
        snprintf(buf, size, "-");
    else if (strchr(host, ':'))
        snprintf(buf, size, "[%s]:%d", host, port);
    else
        snprintf(buf, size, "%s:%d", host, port);
}

enum { COL_ID, COL_NAME, COL_STATUS, COL_SSH, COL_EXPIRES, COL_KEY, COL_COUNT };

static void table_row_cells(const lb_host *h, const char *cells[COL_COUNT], char *addr,
                            size_t addr_size, char *expires, size_t expires_size)
{
    ssh_address(h, addr, addr_size);
    cells[COL_ID] = h->id;
    cells[COL_NAME] = h->name;
    cells[COL_STATUS] = h->status;
    cells[COL_SSH] = addr;
    long long t;
    char why[256];
    if (!h->expires_at)
        cells[COL_EXPIRES] = "never";
    else if (time_arg_parse(h->expires_at, 0, &t, why, sizeof why) == 0) {
        when_relative(t, (long long)time(NULL), expires, expires_size);
        cells[COL_EXPIRES] = expires;
    } else
        cells[COL_EXPIRES] = h->expires_at;
    char key[PATH_MAX];
    cells[COL_KEY] = state_key_path(h->id, key, sizeof key) ? "local" : "-";
}

void out_host_table(const cli_ctx *ctx, lb_host *const *hosts, size_t count)
{
    if (ctx->g.json) {
        out_host_array(ctx, hosts, count, NULL);
        return;
    }
    static const char *const heads[COL_COUNT] = {"ID", "NAME", "STATUS", "SSH", "EXPIRES", "KEY"};
    int width[COL_COUNT];
    for (int c = 0; c < COL_COUNT; c++)
        width[c] = (int)strlen(heads[c]);
    char addr[300], expires[64];
    const char *cells[COL_COUNT];
    for (size_t i = 0; i < count; i++) {
        table_row_cells(hosts[i], cells, addr, sizeof addr, expires, sizeof expires);
        for (int c = 0; c < COL_COUNT; c++)
            if ((int)strlen(cells[c]) > width[c]) width[c] = (int)strlen(cells[c]);
    }
    for (int c = 0; c < COL_COUNT; c++)
        out_cell(out, heads[c], c + 1 < COL_COUNT ? width[c] + 2 : 0, colour ? SGR_BOLD : NULL);
    fputc('\n', out);
    for (size_t i = 0; i < count; i++) {
        table_row_cells(hosts[i], cells, addr, sizeof addr, expires, sizeof expires);
        for (int c = 0; c < COL_COUNT; c++)
            out_cell(out, cells[c], c + 1 < COL_COUNT ? width[c] + 2 : 0,
                     c == COL_STATUS ? status_colour(cells[c]) : NULL);
        fputc('\n', out);
    }
}

/* ---- doctor, proxies, health ---- */

void out_doctor(const cli_ctx *ctx, const lb_doctor_report *r)
{
    if (ctx->g.json) {
        json_out g;
        json_begin(&g, NULL);
        json_object_open(&g);
        json_key(&g, "ok");
        json_bool(&g, r->ok);
        json_key(&g, "active_provider");
        json_string_or_null(&g, r->active_provider);
        json_key(&g, "tailscale_enabled");
        json_bool(&g, r->tailscale_enabled);
        json_key(&g, "checks");
        json_array_open(&g);
        for (size_t i = 0; i < r->check_count; i++) {
            const lb_doctor_check *c = r->checks[i];
            json_object_open(&g);
            json_key(&g, "name");
            json_string_or_null(&g, c->name);
            json_key(&g, "status");
            json_string_or_null(&g, c->status);
            json_key(&g, "detail");
            json_string_or_null(&g, c->detail);
            json_key(&g, "latency_ms");
            if (c->latency_ms < 0)
                json_null(&g);
            else
                json_integer(&g, c->latency_ms);
            json_key(&g, "hint");
            json_string_or_null(&g, c->hint);
            json_object_close(&g);
        }
        json_array_close(&g);
        json_object_close(&g);
        json_finish(&g);
        return;
    }
    const int width = (int)sizeof "tailscale_enabled";
    kv_line(out, width, "ok", r->ok ? "yes" : "no", status_colour(r->ok ? "ok" : "error"));
    kv_line(out, width, "active_provider", r->active_provider ? r->active_provider : "-", NULL);
    kv_line(out, width, "tailscale_enabled", r->tailscale_enabled ? "yes" : "no", NULL);
    int name_w = 0, status_w = 0;
    for (size_t i = 0; i < r->check_count; i++) {
        const lb_doctor_check *c = r->checks[i];
        if (c->name && (int)strlen(c->name) > name_w) name_w = (int)strlen(c->name);
        if (c->status && (int)strlen(c->status) > status_w) status_w = (int)strlen(c->status);
    }
    /* One line per check: status, name, latency, detail, hint. */
    for (size_t i = 0; i < r->check_count; i++) {
        const lb_doctor_check *c = r->checks[i];
        char latency[32] = "-";
        if (c->latency_ms >= 0) snprintf(latency, sizeof latency, "%lld ms", c->latency_ms);
        fputs("check ", out);
        out_cell(out, c->status ? c->status : "-", status_w + 2, status_colour(c->status));
        out_cell(out, c->name ? c->name : "-", name_w + 2, NULL);
        out_cell(out, latency, 9, NULL);
        out_text(out, c->detail ? c->detail : "-");
        if (c->hint) {
            fputs(" (hint: ", out);
            out_text(out, c->hint);
            fputc(')', out);
        }
        fputc('\n', out);
    }
}

void out_proxy(const cli_ctx *ctx, const lb_proxy *p)
{
    if (ctx->g.json) {
        /* The wire's object: a create has no host_id key at all. */
        json_out g;
        json_begin(&g, NULL);
        json_object_open(&g);
        json_key(&g, "name");
        json_string_or_null(&g, p->name);
        if (p->host_id) {
            json_key(&g, "host_id");
            json_string(&g, p->host_id);
        }
        json_key(&g, "status");
        json_string_or_null(&g, p->status);
        json_object_close(&g);
        json_finish(&g);
        return;
    }
    const int width = (int)sizeof "host_id";
    kv_line(out, width, "name", p->name ? p->name : "-", NULL);
    if (p->host_id) kv_line(out, width, "host_id", p->host_id, NULL);
    kv_line(out, width, "status", p->status ? p->status : "-", NULL);
}

void out_ids(const cli_ctx *ctx, lb_host *const *hosts, size_t count)
{
    if (!ctx->g.json) {
        for (size_t i = 0; i < count; i++) {
            out_text(out, hosts[i]->id);
            fputc('\n', out);
        }
        return;
    }
    json_out g;
    json_begin(&g, NULL);
    json_array_open(&g);
    for (size_t i = 0; i < count; i++)
        json_string(&g, hosts[i]->id);
    json_array_close(&g);
    json_finish(&g);
}

void json_config(const cli_ctx *ctx)
{
    config_setting settings[16];
    size_t n = config_settings(ctx, settings, 16);
    int found;
    const char *path = config_file_path(&found);
    json_out g;
    json_begin(&g, NULL);
    json_object_open(&g);
    json_key(&g, "config_file");
    json_string_or_null(&g, path);
    json_key(&g, "config_file_read");
    json_bool(&g, found);
    json_key(&g, "settings");
    json_object_open(&g);
    for (size_t i = 0; i < n; i++) {
        json_key(&g, settings[i].name);
        json_object_open(&g);
        json_key(&g, "value");
        json_string_or_null(&g, settings[i].value);
        json_key(&g, "from");
        json_string(&g, settings[i].from);
        json_object_close(&g);
    }
    json_object_close(&g);
    json_object_close(&g);
    json_finish(&g);
}

void out_health(const cli_ctx *ctx)
{
    if (ctx->g.json) {
        json_out g;
        json_begin(&g, NULL);
        json_object_open(&g);
        json_key(&g, "status");
        json_string(&g, "ok");
        json_object_close(&g);
        json_finish(&g);
    } else {
        fputs("ok\n", out);
    }
}

void out_done(const cli_ctx *ctx, const char *fmt, ...)
{
    if (ctx->g.json) return;
    va_list ap;
    va_start(ap, fmt);
    char line[1024];
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    out_text(out, line);
    fputc('\n', out);
}

void out_ssh_config(const cli_ctx *ctx, const char *block, const char *known_hosts_file)
{
    if (ctx->g.json) {
        json_out g;
        json_begin(&g, NULL);
        json_object_open(&g);
        json_key(&g, "known_hosts_file");
        json_string(&g, known_hosts_file);
        json_key(&g, "ssh_config");
        json_string(&g, block);
        json_object_close(&g);
        json_finish(&g);
    } else {
        fputs(block, out);
    }
}
