/* The config file: settings a person would otherwise repeat on every run.
 *
 *   $XDG_CONFIG_HOME/litterbox/config   (else ~/.config/litterbox/config)
 *
 *   # comments and blank lines are skipped
 *   url = https://litterbox.example
 *   token_file = ~/.config/litterbox/token     (relative: to this folder)
 *   timeout = 600
 *   image = ubuntu-24.04                       (create's defaults)
 *   provider = hetzner
 *   instance_type = cx33
 *   expires_at = +2h
 *
 * Flags beat the environment, which beats the file: the file only fills
 * what neither gives. There is no `token` key, only `token_file`: a token
 * in a file meant to be shared between machines or pasted into issues is
 * one leak away. `litterbox config` shows each value and where it came
 * from. */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/** Where a setting's value came from. */
typedef enum source { FROM_NONE, FROM_FLAG, FROM_ENV, FROM_FILE, FROM_DEFAULT } source;

typedef struct config_key {
    const char *name;
    size_t global;   /* offsetof in cli_globals, or SIZE_MAX */
    size_t arg;      /* offsetof in cmd_args (a create default), or SIZE_MAX */
    const char *env; /* the variable after the prefix, or NULL */
} config_key;

static const config_key keys[] = {
    {"url", offsetof(cli_globals, url), SIZE_MAX, "SERVICE_URL"},
    {"token_file", offsetof(cli_globals, token_file), SIZE_MAX, "SERVICE_TOKEN"},
    {"timeout", offsetof(cli_globals, timeout), SIZE_MAX, "SERVICE_TIMEOUT"},
    {"image", SIZE_MAX, offsetof(cmd_args, image), NULL},
    {"provider", SIZE_MAX, offsetof(cmd_args, provider), NULL},
    {"instance_type", SIZE_MAX, offsetof(cmd_args, instance_type), NULL},
    {"expires_at", SIZE_MAX, offsetof(cmd_args, expires_at), NULL},
};
#define KEY_COUNT (sizeof keys / sizeof keys[0])

static char config_file[PATH_MAX];
static int config_found;
static char *file_values[KEY_COUNT]; /* owned */
static source sources[KEY_COUNT];

static const char **global_slot(cli_globals *g, const config_key *k)
{
    return (const char **)(void *)((char *)g + k->global);
}

static const char **arg_slot(cmd_args *a, const config_key *k)
{
    return (const char **)(void *)((char *)a + k->arg);
}

static int config_path(char *buf, size_t size)
{
    const char *xdg = getenv("XDG_CONFIG_HOME");
    const char *home = getenv("HOME");
    int n;
    if (xdg && xdg[0] == '/')
        n = snprintf(buf, size, "%s/litterbox/config", xdg);
    else if (home && home[0] == '/')
        n = snprintf(buf, size, "%s/.config/litterbox/config", home);
    else
        return -1;
    return n > 0 && (size_t)n < size ? 0 : -1;
}

/** token_file as written, made a path: ~/ is $HOME, relative is to the
 *  config file's folder. @return an allocated path, or NULL. */
static char *file_relative(const char *value)
{
    char buf[PATH_MAX * 2];
    const char *home = getenv("HOME");
    if (strncmp(value, "~/", 2) == 0 && home)
        snprintf(buf, sizeof buf, "%s/%s", home, value + 2);
    else if (value[0] == '/')
        snprintf(buf, sizeof buf, "%s", value);
    else
        snprintf(buf, sizeof buf, "%.*s/%s", (int)(strrchr(config_file, '/') - config_file),
                 config_file, value);
    return strdup(buf);
}

/** Trim blanks at both ends of [s, s + n) in place; @return the new start. */
static char *trim(char *s, size_t *n)
{
    while (*n && (*s == ' ' || *s == '\t')) {
        s++;
        (*n)--;
    }
    while (*n && (s[*n - 1] == ' ' || s[*n - 1] == '\t' || s[*n - 1] == '\r'))
        (*n)--;
    s[*n] = '\0';
    return s;
}

/** One `key = value` line. @return 0 or a usage status after printing why. */
static int config_line(char *line, size_t lineno)
{
    char *eq = strchr(line, '=');
    if (!eq) return usage_error("%s:%zu: expected key = value", config_file, lineno);
    size_t klen = (size_t)(eq - line), vlen = strlen(eq + 1);
    char *key = trim(line, &klen);
    char *value = trim(eq + 1, &vlen);
    for (size_t i = 0; i < KEY_COUNT; i++) {
        if (strcmp(keys[i].name, key) != 0) continue;
        free(file_values[i]);
        file_values[i] = strcmp(key, "token_file") == 0 ? file_relative(value) : strdup(value);
        if (!file_values[i]) return fail(CLI_EXIT_LOCAL, "nomem", "out of memory");
        return 0;
    }
    if (strcmp(key, "token") == 0)
        return usage_error("%s:%zu: no token here: use token_file = FILE (mode 0600)", config_file,
                           lineno);
    const char *names[KEY_COUNT];
    for (size_t i = 0; i < KEY_COUNT; i++)
        names[i] = keys[i].name;
    const char *near = closest_word(key, names, KEY_COUNT);
    if (near)
        return usage_error("%s:%zu: unknown key '%s'; did you mean '%s'?", config_file, lineno, key,
                           near);
    return usage_error("%s:%zu: unknown key '%s'", config_file, lineno, key);
}

static int config_read(void)
{
    if (config_path(config_file, sizeof config_file) != 0) return 0;
    size_t len;
    char *text = file_read_all(config_file, &len);
    if (!text) {
        if (errno == ENOENT) return 0;
        return fail(CLI_EXIT_LOCAL, "local", "cannot read %s: %s", config_file, strerror(errno));
    }
    config_found = 1;
    int rc = 0;
    size_t lineno = 0;
    for (char *line = text; line && *line && rc == 0;) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = '\0';
        lineno++;
        char *p = line + strspn(line, " \t\r");
        if (*p && *p != '#') rc = config_line(line, lineno);
        line = nl ? nl + 1 : NULL;
    }
    free(text);
    return rc;
}

int config_apply(cli_ctx *ctx)
{
    int rc = config_read();
    if (rc != 0) return rc;
    const char *prefix = ctx->g.env_prefix ? ctx->g.env_prefix : "SANDBOX_";
    for (size_t i = 0; i < KEY_COUNT; i++) {
        const config_key *k = &keys[i];
        const char **slot = k->global != SIZE_MAX ? global_slot(&ctx->g, k) : arg_slot(&ctx->a, k);
        char env[256];
        const char *from_env = NULL;
        if (k->env) {
            snprintf(env, sizeof env, "%s%s", prefix, k->env);
            from_env = getenv(env);
        }
        if (*slot)
            sources[i] = FROM_FLAG;
        else if (from_env)
            sources[i] = FROM_ENV;
        else if (file_values[i]) {
            sources[i] = FROM_FILE;
            *slot = file_values[i];
        } else
            sources[i] = strcmp(k->name, "timeout") == 0 ? FROM_DEFAULT : FROM_NONE;
    }
    return 0;
}

void config_free(void)
{
    for (size_t i = 0; i < KEY_COUNT; i++) {
        free(file_values[i]);
        file_values[i] = NULL;
    }
}

/* ---- litterbox config ---- */

/** A setting's value for show, and where it came from, in words. */
static void describe(const cli_ctx *ctx, size_t i, const char **value, char *from, size_t size)
{
    const config_key *k = &keys[i];
    const char *prefix = ctx->g.env_prefix ? ctx->g.env_prefix : "SANDBOX_";
    const char *const *slot =
        k->global != SIZE_MAX
            ? (const char *const *)(const void *)((const char *)&ctx->g + k->global)
            : (const char *const *)(const void *)((const char *)&ctx->a + k->arg);
    *value = *slot;
    switch (sources[i]) {
    case FROM_FLAG:
        snprintf(from, size, "--%s", k->name);
        for (char *p = from; *p; p++)
            if (*p == '_') *p = '-';
        break;
    case FROM_ENV:
        snprintf(from, size, "%s%s", prefix, k->env);
        *value = getenv(from);
        break;
    case FROM_FILE:
        snprintf(from, size, "%s", config_file);
        break;
    case FROM_DEFAULT:
        snprintf(from, size, "default");
        *value = "300";
        break;
    default:
        snprintf(from, size, "unset");
        *value = NULL;
        break;
    }
    /* The token itself never: from the environment it is the token. */
    if (strcmp(k->name, "token_file") == 0 && sources[i] == FROM_ENV) *value = "***";
}

int cmd_config(cli_ctx *ctx)
{
    FILE *out = out_stream();
    if (ctx->g.json) {
        json_config(ctx);
        return 0;
    }
    /* A token from the environment is shown as *** below: never its text. */
    fprintf(out, "config file:    %s (%s)\n", config_file[0] ? config_file : "-",
            config_found ? "read" : "not found");
    for (size_t i = 0; i < KEY_COUNT; i++) {
        const char *value;
        char from[sizeof((config_setting *)0)->from];
        describe(ctx, i, &value, from, sizeof from);
        const char *name = strcmp(keys[i].name, "token_file") == 0 && sources[i] == FROM_ENV
                               ? "token"
                               : keys[i].name;
        fprintf(out, "%-15s ", name);
        out_text(out, value ? value : "-");
        fprintf(out, " (");
        out_text(out, from);
        fprintf(out, ")\n");
    }
    return 0;
}

size_t config_settings(const cli_ctx *ctx, config_setting *settings, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < KEY_COUNT && n < max; i++, n++) {
        settings[n].name = strcmp(keys[i].name, "token_file") == 0 && sources[i] == FROM_ENV
                               ? "token"
                               : keys[i].name;
        describe(ctx, i, &settings[n].value, settings[n].from, sizeof settings[n].from);
    }
    return n;
}

const char *config_file_path(int *found)
{
    *found = config_found;
    return config_file[0] ? config_file : NULL;
}
