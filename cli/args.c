/* The command-option parser: one table names every option; a command's
 * mask says which it accepts. `--name value`, `--name=value` and `--` work
 * for all of them; options and positional arguments may be mixed. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int str_list_push(str_list *l, const char *s)
{
    if (l->count + 2 > l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        const char **items = realloc(l->items, cap * sizeof *items);
        if (!items) return -1;
        l->items = items;
        l->cap = cap;
    }
    l->items[l->count++] = s;
    l->items[l->count] = NULL;
    return 0;
}

int str_list_push_copy(str_list *l, const char *s, size_t len)
{
    if (l->owned_count == l->owned_cap) {
        size_t cap = l->owned_cap ? l->owned_cap * 2 : 8;
        char **owned = realloc(l->owned, cap * sizeof *owned);
        if (!owned) return -1;
        l->owned = owned;
        l->owned_cap = cap;
    }
    char *copy = malloc(len + 1);
    if (!copy) return -1;
    memcpy(copy, s, len);
    copy[len] = '\0';
    if (str_list_push(l, copy) != 0) {
        free(copy);
        return -1;
    }
    l->owned[l->owned_count++] = copy;
    return 0;
}

void str_list_free(str_list *l)
{
    for (size_t i = 0; i < l->owned_count; i++) {
        /* env values and header values may be secrets */
        volatile char *p = l->owned[i];
        while (*p)
            *p++ = '\0';
        free(l->owned[i]);
    }
    free(l->owned);
    free(l->items);
    memset(l, 0, sizeof *l);
}

/** Where an option's value goes: a single string or a list. */
typedef struct option_def {
    const char *name;
    unsigned bit;
    size_t single; /* offsetof a `const char *` in cmd_args, or SIZE_MAX */
    size_t list;   /* offsetof a str_list in cmd_args, or SIZE_MAX */
} option_def;

#define SINGLE(field) offsetof(cmd_args, field), SIZE_MAX
#define LIST(field) SIZE_MAX, offsetof(cmd_args, field)

static const option_def option_defs[] = {
    {"image", OPT_IMAGE, SINGLE(image)},
    {"env", OPT_ENV, LIST(env)},
    {"env-file", OPT_ENV_FILE, LIST(env_files)},
    {"expires-at", OPT_EXPIRES_AT, SINGLE(expires_at)},
    {"idempotency-key", OPT_IDEMPOTENCY_KEY, SINGLE(idempotency_key)},
    {"provider", OPT_PROVIDER, SINGLE(provider)},
    {"instance-type", OPT_INSTANCE_TYPE, SINGLE(instance_type)},
    {"disk-gb", OPT_DISK_GB, SINGLE(disk_gb)},
    {"key-file", OPT_KEY_FILE, SINGLE(key_file)},
    {"count", OPT_COUNT, SINGLE(count)},
    {"known-hosts", OPT_KNOWN_HOSTS, SINGLE(known_hosts)},
    {"identity-file", OPT_IDENTITY_FILE, SINGLE(identity_file)},
    {"target", OPT_TARGET, SINGLE(target)},
    {"header", OPT_HEADER, LIST(headers)},
    {"header-file", OPT_HEADER_FILE, LIST(header_files)},
};

static const option_def *option_find(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof option_defs / sizeof option_defs[0]; i++)
        if (strlen(option_defs[i].name) == len && memcmp(option_defs[i].name, name, len) == 0)
            return &option_defs[i];
    return NULL;
}

/** Store one option value; a single-valued option given twice is an error. */
static int option_store(const cli_command *cmd, const option_def *def, const char *value,
                        cmd_args *a)
{
    char *base = (char *)a;
    if (def->list != SIZE_MAX) {
        if (str_list_push((str_list *)(void *)(base + def->list), value) != 0)
            return fail(CLI_EXIT_LOCAL, "nomem", "out of memory");
        return 0;
    }
    const char **slot = (const char **)(void *)(base + def->single);
    if (*slot) return usage_error("%s: --%s given twice", cmd->name, def->name);
    *slot = value;
    return 0;
}

/** Whether @p arg is one of the options that go before the command, so
 *  that `litterbox get ID --json` can say where --json belongs. */
static int is_global_option(const char *arg)
{
    static const char *const globals[] = {"--url",  "--token-file", "--timeout", "--env-prefix",
                                          "--json", "-v",           "--verbose", "--version"};
    size_t len = strcspn(arg, "=");
    for (size_t i = 0; i < sizeof globals / sizeof globals[0]; i++)
        if (strlen(globals[i]) == len && strncmp(arg, globals[i], len) == 0) return 1;
    return 0;
}

int args_parse(const cli_command *cmd, int argc, char **argv, cmd_args *a)
{
    a->pos = calloc((size_t)argc + 1, sizeof *a->pos);
    if (!a->pos) return fail(CLI_EXIT_LOCAL, "nomem", "out of memory");
    int only_positional = 0;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (only_positional || arg[0] != '-' || arg[1] == '\0') {
            a->pos[a->npos++] = arg;
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            only_positional = 1;
            continue;
        }
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            a->help = 1;
            continue;
        }
        if (is_global_option(arg))
            return usage_error("%s: %s is a global option: put it before the command", cmd->name,
                               arg);
        if (arg[1] != '-') return usage_error("%s: unknown option '%s'", cmd->name, arg);
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t name_len = eq ? (size_t)(eq - name) : strlen(name);
        const option_def *def = option_find(name, name_len);
        if (!def || !(cmd->options & def->bit))
            return usage_error("%s: unknown option '--%.*s'", cmd->name, (int)name_len, name);
        const char *value;
        if (eq) {
            value = eq + 1;
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            return usage_error("%s: --%s needs a value", cmd->name, def->name);
        }
        int rc = option_store(cmd, def, value, a);
        if (rc != 0) return rc;
    }
    if (a->help) return 0;
    if (a->npos < cmd->min_pos)
        return usage_error("%s: missing argument (%s %s)", cmd->name, cmd->name, cmd->synopsis);
    if (a->npos > cmd->max_pos)
        return usage_error("%s: unexpected argument '%s'", cmd->name, a->pos[cmd->max_pos]);
    return 0;
}

void args_free(cmd_args *a)
{
    free(a->pos);
    str_list_free(&a->env);
    str_list_free(&a->env_files);
    str_list_free(&a->headers);
    str_list_free(&a->header_files);
}

long long parse_positive(const char *s, long long max)
{
    if (!s || *s < '0' || *s > '9') return -1;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < 1 || v > max) return -1;
    return v;
}

double parse_seconds(const char *s)
{
    if (!s || !((*s >= '0' && *s <= '9') || *s == '.')) return -1;
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (errno != 0 || *end != '\0' || !isfinite(v) || v <= 0) return -1;
    return v;
}
