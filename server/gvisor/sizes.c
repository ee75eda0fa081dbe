/* What a gvisor host may use. One table: the README and docs/gvisor.md
 * show the same rows. */
#include "gvisor.h"

#include <string.h>

static const gv_size sizes[] = {
    {"gv-small", 1, 512, 256}, /* the default */
    {"gv-medium", 2, 1024, 512},
    {"gv-large", 2, 4096, 1024},
};

const gv_size *gv_size_find(const char *instance_type)
{
    if (!instance_type) return &sizes[0];
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        if (strcmp(sizes[i].name, instance_type) == 0) return &sizes[i];
    return NULL;
}

const char *gv_size_names(void)
{
    return "gv-small (the default), gv-medium, gv-large";
}

int gv_image_known(const char *image)
{
    return !image || strcmp(image, GV_IMAGE) == 0;
}
