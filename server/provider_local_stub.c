/* Stands in for provider_local.c until it exists (see CMakeLists.txt). */
#include <stdio.h>

#include "provider.h"

provider *provider_local_new(const provider_config *cfg, char *why, size_t why_size)
{
    (void)cfg;
    snprintf(why, why_size, "the local provider is not built");
    return NULL;
}
