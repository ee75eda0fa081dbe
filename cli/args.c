/* The command-option parser: one table names every option; a command's
 * mask says which it accepts. `--name value`, `--name=value` and `--` work
 * for all of them; options and positional arguments may be mixed, and the
 * global options (--json, --timeout...) are taken anywhere before `--`. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
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

/** Where an option's value goes: a single string, a list, or a flag. */
typedef struct option_def {
    const char *name;
    unsigned bit;
    size_t single;   /* offsetof a `const char *` in cmd_args, or SIZE_MAX */
    size_t list;     /* offsetof a str_list in cmd_args, or SIZE_MAX */
    size_t flag;     /* offsetof an int in cmd_args (takes no value), or SIZE_MAX */
    char short_name; /* -q for --quiet, or 0 */
} option_def;

#define SINGLE(field) offsetof(cmd_args, field), SIZE_MAX, SIZE_MAX, 0
#define LIST(field) SIZE_MAX, offsetof(cmd_args, field), SIZE_MAX, 0
#define FLAG(field, short_name) SIZE_MAX, SIZE_MAX, offsetof(cmd_args, field), short_name

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
    {"quiet", OPT_QUIET, FLAG(quiet, 'q')},
    {"status", OPT_STATUS, SINGLE(status)},
    {"older-than", OPT_OLDER_THAN, SINGLE(older_than)},
    {"all", OPT_ALL, FLAG(all, 0)},
    {"yes", OPT_YES, FLAG(yes, 'y')},
    {"for", OPT_FOR, SINGLE(for_state)},
    {"keep", OPT_KEEP, FLAG(keep, 0)},
    {"ttl", OPT_TTL, SINGLE(ttl)},
};
#define OPTION_COUNT (sizeof option_defs / sizeof option_defs[0])

/** The option a command accepts by this long name (@p len bytes) or, for
 *  @p len 0, by the short name @p c. */
static const option_def *option_find(const cli_command *cmd, const char *name, size_t len, char c)
{
    for (size_t i = 0; i < OPTION_COUNT; i++) {
        const option_def *d = &option_defs[i];
        if (!(cmd->options & d->bit)) continue;
        if (len ? strlen(d->name) == len && memcmp(d->name, name, len) == 0
                : c && d->short_name == c)
            return d;
    }
    return NULL;
}

int option_takes_value(const cli_command *cmd, const char *word)
{
    const option_def *d = word[1] == '-'        ? option_find(cmd, word + 2, strlen(word + 2), 0)
                          : word[1] && !word[2] ? option_find(cmd, NULL, 0, word[1])
                                                : NULL;
    return d && d->flag == SIZE_MAX && !strchr(word, '=');
}

void option_names(const cli_command *cmd, const char *prefix)
{
    for (size_t i = 0; i < OPTION_COUNT; i++) {
        char name[40];
        if (!(cmd->options & option_defs[i].bit)) continue;
        snprintf(name, sizeof name, "--%s", option_defs[i].name);
        if (strncmp(name, prefix, strlen(prefix)) == 0) fprintf(out_stream(), "%s\n", name);
    }
}

/** Store one option value; a single-valued option given twice is an error. */
static int option_store(const cli_command *cmd, const option_def *def, const char *value,
                        cmd_args *a)
{
    char *base = (char *)a;
    if (def->flag != SIZE_MAX) {
        *(int *)(void *)(base + def->flag) = 1;
        return 0;
    }
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

/* ---- global options: before or after the command ---- */

static const struct {
    const char *name;
    size_t offset;
} global_valued[] = {
    {"--url", offsetof(cli_globals, url)},
    {"--token-file", offsetof(cli_globals, token_file)},
    {"--timeout", offsetof(cli_globals, timeout)},
    {"--env-prefix", offsetof(cli_globals, env_prefix)},
};
#define GLOBAL_VALUED_COUNT (sizeof global_valued / sizeof global_valued[0])

int global_option(int argc, char **argv, int *i, cli_globals *g, int *status)
{
    const char *arg = argv[*i];
    *status = 0;
    if (strcmp(arg, "--json") == 0) {
        g->json = 1;
        return 1;
    }
    if (strcmp(arg, "-v") == 0 || strcmp(arg, "--verbose") == 0) {
        g->verbose = 1;
        return 1;
    }
    if (strcmp(arg, "--token") == 0 || strncmp(arg, "--token=", 8) == 0) {
        *status = usage_error("there is no --token (argv is visible to every user): use "
                              "--token-file FILE or the SERVICE_TOKEN variable");
        return -1;
    }
    for (size_t k = 0; k < GLOBAL_VALUED_COUNT; k++) {
        size_t len = strlen(global_valued[k].name);
        if (strncmp(arg, global_valued[k].name, len) != 0 || (arg[len] != '\0' && arg[len] != '='))
            continue;
        const char *value = arg[len] == '=' ? arg + len + 1 : *i + 1 < argc ? argv[++*i] : NULL;
        if (!value) {
            *status = usage_error("%s needs a value", global_valued[k].name);
            return -1;
        }
        *(const char **)(void *)((char *)g + global_valued[k].offset) = value;
        return 1;
    }
    return 0;
}

/* ---- "did you mean" ---- */

/** Edit distance between @p a and @p b (each at most 63 bytes considered). */
static size_t edit_distance(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);
    if (n > 63) n = 63;
    if (m > 63) m = 63;
    size_t row[64];
    for (size_t j = 0; j <= m; j++)
        row[j] = j;
    for (size_t i = 1; i <= n; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= m; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[m];
}

const char *closest_word(const char *word, const char *const *candidates, size_t n)
{
    const char *best = NULL;
    size_t best_d = (size_t)-1;
    for (size_t i = 0; i < n; i++) {
        size_t d = edit_distance(word, candidates[i]);
        if (d < best_d) {
            best_d = d;
            best = candidates[i];
        }
    }
    /* Close enough to be a typo, not a different word: two edits, or one
     * for short words. */
    size_t limit = strlen(word) <= 4 ? 1 : 2;
    return best_d <= limit ? best : NULL;
}

/** A usage error for an unknown option of @p cmd, with the nearest known one. */
static int unknown_option(const cli_command *cmd, const char *arg, size_t len)
{
    const char *names[OPTION_COUNT + GLOBAL_VALUED_COUNT + 3];
    char dashed[OPTION_COUNT][32];
    size_t n = 0;
    for (size_t i = 0; i < OPTION_COUNT; i++) {
        if (!(cmd->options & option_defs[i].bit)) continue;
        snprintf(dashed[n], sizeof dashed[n], "--%s", option_defs[i].name);
        names[n] = dashed[n];
        n++;
    }
    for (size_t i = 0; i < GLOBAL_VALUED_COUNT; i++)
        names[n++] = global_valued[i].name;
    names[n++] = "--json";
    names[n++] = "--verbose";
    names[n++] = "--help";
    char word[64];
    snprintf(word, sizeof word, "%.*s", (int)(len < 63 ? len : 63), arg);
    const char *near = arg[1] == '-' ? closest_word(word, names, n) : NULL;
    if (near)
        return usage_error("%s: unknown option '%s'; did you mean '%s'?", cmd->name, word, near);
    return usage_error("%s: unknown option '%s'", cmd->name, word);
}

/** One option word at argv[*i] (moving *i past its value). @return 0 or an
 *  exit status after printing why. */
static int parse_option(const cli_command *cmd, int argc, char **argv, int *i, cmd_args *a,
                        cli_globals *g)
{
    const char *arg = argv[*i];
    int status;
    if (global_option(argc, argv, i, g, &status) != 0) return status;
    const option_def *def;
    const char *eq = NULL;
    if (arg[1] != '-') {
        def = arg[2] == '\0' ? option_find(cmd, NULL, 0, arg[1]) : NULL;
        if (!def) return unknown_option(cmd, arg, strlen(arg));
    } else {
        const char *name = arg + 2;
        eq = strchr(name, '=');
        size_t name_len = eq ? (size_t)(eq - name) : strlen(name);
        def = option_find(cmd, name, name_len, 0);
        if (!def) return unknown_option(cmd, arg, name_len + 2);
    }
    const char *value = NULL;
    if (def->flag != SIZE_MAX) {
        if (eq) return usage_error("%s: --%s takes no value", cmd->name, def->name);
    } else if (eq) {
        value = eq + 1;
    } else if (*i + 1 < argc) {
        value = argv[++*i];
    } else {
        return usage_error("%s: --%s needs a value", cmd->name, def->name);
    }
    return option_store(cmd, def, value, a);
}

int args_parse(const cli_command *cmd, int argc, char **argv, cmd_args *a, cli_globals *g)
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
            a->dashdash = a->npos;
            continue;
        }
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            a->help = 1;
            continue;
        }
        int rc = parse_option(cmd, argc, argv, &i, a, g);
        if (rc != 0) return rc;
    }
    if (!only_positional) a->dashdash = a->npos;
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

long long parse_duration(const char *s)
{
    char plus[64];
    long long seconds;
    char why[256];
    if (!s || strlen(s) + 2 > sizeof plus) return -1;
    snprintf(plus, sizeof plus, "%s%s", s[0] == '+' ? "" : "+", s);
    /* time.c's relative TIME counted from the epoch is the span itself. */
    return time_arg_parse(plus, 0, &seconds, why, sizeof why) == 0 ? seconds : -1;
}
