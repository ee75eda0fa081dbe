/* The providers this server knows, by name. Each is started once; one that
 * cannot start (e.g. sshd missing for `local`) stays listed with why, so
 * that doctor shows it and a create that names it gets a clear 503. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

static const struct {
    const char *name;
    provider *(*make)(const provider_config *cfg, char *why, size_t why_size);
} registry[] = {
    {"local", provider_local_new},
    {"gvisor", provider_gvisor_new},
    {"fake", provider_fake_new},
};

#define NPROVIDERS (sizeof registry / sizeof registry[0])

static provider *started[NPROVIDERS];
static char failures[NPROVIDERS][256];

void host_info_free(host_info *info)
{
    if (!info) return;
    free(info->image);
    free(info->ssh_host);
    free(info->ssh_username);
    free(info->known_hosts);
    free_secret(info->private_key);
    free(info->instance_type);
    free(info->state);
    memset(info, 0, sizeof *info);
}

void providers_start(const provider_config *cfg)
{
    for (size_t i = 0; i < NPROVIDERS; i++) {
        failures[i][0] = '\0';
        started[i] = registry[i].make(cfg, failures[i], sizeof failures[i]);
        if (!started[i]) {
            if (!failures[i][0]) snprintf(failures[i], sizeof failures[i], "it did not start");
            fprintf(stderr, "litterbox-server: provider %s is not available: %s\n",
                    registry[i].name, failures[i]);
        }
    }
}

void providers_hide_paths(const char *const *paths)
{
    for (size_t i = 0; i < NPROVIDERS; i++)
        if (started[i] && registry[i].make == provider_local_new &&
            provider_local_set_private_paths(started[i], paths) != 0)
            fprintf(stderr, "litterbox-server: out of memory hiding private paths\n");
}

void providers_set_gvisor_images(const char *dir)
{
    for (size_t i = 0; i < NPROVIDERS; i++)
        if (started[i] && registry[i].make == provider_gvisor_new &&
            provider_gvisor_set_images(started[i], dir) != 0)
            fprintf(stderr, "litterbox-server: out of memory keeping --gvisor-images\n");
}

void providers_set_gvisor_warm_pool(int size)
{
    for (size_t i = 0; i < NPROVIDERS; i++) {
        if (registry[i].make != provider_gvisor_new) continue;
        if (!started[i])
            fprintf(stderr, "litterbox-server: --warm-pool: provider gvisor is not available\n");
        else if (provider_gvisor_set_warm_pool(started[i], size) != 0)
            fprintf(stderr, "litterbox-server: --warm-pool: the pool cannot start\n");
    }
}

void providers_stop(void)
{
    for (size_t i = 0; i < NPROVIDERS; i++) {
        if (started[i]) started[i]->close(started[i]);
        started[i] = NULL;
    }
}

provider *providers_get(const char *name, int *unknown, char *why, size_t why_size)
{
    *unknown = 0;
    for (size_t i = 0; i < NPROVIDERS; i++) {
        if (strcmp(registry[i].name, name) != 0) continue;
        if (!started[i])
            snprintf(why, why_size, "provider %s is not available: %s", name, failures[i]);
        return started[i];
    }
    *unknown = 1;
    sbuf b = {0};
    sbuf_adds(&b, "unknown provider: ");
    sbuf_json_strz(&b, name); /* quoted, so that odd bytes show as escapes */
    sbuf_adds(&b, " (this server has");
    for (size_t i = 0; i < NPROVIDERS; i++)
        sbuf_addf(&b, "%s %s", i ? "," : "", registry[i].name);
    sbuf_add(&b, ")", 1);
    snprintf(why, why_size, "%s", b.data ? b.data : "unknown provider");
    sbuf_free(&b);
    return NULL;
}

size_t providers_count(void)
{
    return NPROVIDERS;
}

provider *providers_at(size_t i, const char **name, const char **why)
{
    *name = registry[i].name;
    *why = failures[i];
    return started[i];
}

int provider_known(const char *name)
{
    for (size_t i = 0; i < NPROVIDERS; i++)
        if (strcmp(registry[i].name, name) == 0) return 1;
    return 0;
}
