/* A host as people name it: its id, its name, or a unique prefix of its id
 * (4 characters or more, as docker takes container ids).
 *
 * A whole id (the service's ids are UUIDs) goes straight to the call, so
 * scripts that pass ids cost no extra request; anything else is looked up
 * in one list of all hosts, however many references a command has. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

#define PREFIX_MIN 4

/** 8-4-4-4-12 hex digits. */
static int looks_like_id(const char *s)
{
    static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
    if (strlen(s) != sizeof shape - 1) return 0;
    for (size_t i = 0; shape[i]; i++) {
        char c = s[i];
        int hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        if (shape[i] == '-' ? c != '-' : !hex) return 0;
    }
    return 1;
}

/** The id @p ref names in @p list, or NULL after printing why (*status). */
static const char *match(const lb_host_list *list, const char *ref, int *status)
{
    for (size_t i = 0; i < list->count; i++)
        if (strcmp(list->hosts[i]->id, ref) == 0) return list->hosts[i]->id;
    for (size_t i = 0; i < list->count; i++)
        if (strcmp(list->hosts[i]->name, ref) == 0) return list->hosts[i]->id;
    size_t n = strlen(ref), found = 0;
    const char *id = NULL;
    char matches[512] = "";
    for (size_t i = 0; n >= PREFIX_MIN && i < list->count; i++) {
        const lb_host *h = list->hosts[i];
        if (strncmp(h->id, ref, n) != 0) continue;
        id = h->id;
        size_t used = strlen(matches);
        if (used + 100 < sizeof matches)
            snprintf(matches + used, sizeof matches - used, "%s%s (%s)", found ? ", " : "", h->id,
                     h->name);
        found++;
    }
    if (found == 1) return id;
    if (found > 1) {
        *status = usage_error("'%s' matches %zu hosts: %s", ref, found, matches);
        return NULL;
    }
    *status = fail(exit_status_for(LB_ERR_NOT_FOUND), "not_found",
                   n < PREFIX_MIN ? "no host has the id or name '%s' (an id prefix needs 4 "
                                    "characters or more)"
                                  : "no host has the id, name or id prefix '%s'",
                   ref);
    return NULL;
}

int resolve_hosts(cli_ctx *ctx, const char *const *refs, size_t n, const char **ids)
{
    int need_list = 0;
    for (size_t i = 0; i < n; i++) {
        ids[i] = refs[i];
        /* What cannot be a name or an id is refused before anything is sent. */
        for (const char *p = refs[i]; *p; p++)
            if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                  (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.'))
                return usage_error("'%s' is not a host id, name or id prefix", refs[i]);
        if (!*refs[i]) return usage_error("an empty host reference");
        if (!looks_like_id(refs[i])) need_list = 1;
    }
    if (!need_list) return 0;
    int status = 0;
    lb_client *c = cli_client(ctx, &status);
    if (!c) return status;
    if (!ctx->hosts) {
        lb_error err;
        if (lb_list_hosts(c, &ctx->hosts, &err) != LB_OK)
            return report_error(&err, "finding hosts");
    }
    for (size_t i = 0; i < n; i++)
        if (!looks_like_id(refs[i]) && (ids[i] = match(ctx->hosts, refs[i], &status)) == NULL)
            return status;
    return 0;
}

lb_host *fetch_named_host(cli_ctx *ctx, int *status)
{
    const char *id;
    if ((*status = resolve_hosts(ctx, ctx->a.pos, 1, &id)) != 0) return NULL;
    lb_client *c = cli_client(ctx, status);
    if (!c) return NULL;
    lb_host *h;
    lb_error err;
    if (lb_get_host(c, id, &h, &err) != LB_OK) {
        *status = report_error(&err, NULL);
        return NULL;
    }
    return h;
}
