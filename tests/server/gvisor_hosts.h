/* What the gvisor provider's tests share: whether this machine can run
 * them at all, a host as the create returned it, ssh into it with nothing
 * else, and a look for anything a host left behind. */
#ifndef LBS_TEST_GVISOR_HOSTS_H
#define LBS_TEST_GVISOR_HOSTS_H

#include <stddef.h>

#include "harness.h"
#include "../cli/spawn.h"

typedef struct gv_host {
    char id[64], name[64], user[64];
    int port;
    char key_path[400], kh_path[400];
} gv_host;

/* NULL when runsc can run here (root, /usr/bin/runsc, the image built);
 * else why not, for a SKIP line. */
const char *gv_cannot_run(void);
/* The image cache the tests use (GVISOR_IMAGES from CMake). */
const char *gv_images_dir(void);

/* Keeps what ssh needs of h in files under s->dir. 0, or -1. */
int gv_host_from(const server *s, const lb_host *h, const char *label, gv_host *out);
/* ssh with only what the create returned and StrictHostKeyChecking=yes.
 * 0 with res filled, or -1 when ssh could not run. */
int gv_ssh(const server *s, const gv_host *h, const char *command, spawn_result *res);
/* The same with one more `-o option` (NULL: none). */
int gv_ssh_opt(const server *s, const gv_host *h, const char *option, const char *command,
               spawn_result *res);
/* The command's stdout (malloc'd, never NULL) and exit status. */
char *gv_ssh_out(const server *s, const gv_host *h, const char *command, int *status);
/* Runs /usr/bin/scp or /usr/bin/sftp (program) against h with args after
 * the connection options; the exit status, or -1. */
int gv_copy(const server *s, const gv_host *h, const char *program, const char *const *args,
            const char *stdin_text);

/* What is left of host `id` under state_dir: processes whose command line
 * or stderr names its folder, mounts in it, loop devices backed by its
 * files, its cgroups, the folder itself. 0 when nothing; else how many, each printed. */
int gv_leftovers(const char *state_dir, const char *id);
/* A gvisor create with these (NULL / 0: omitted); NULL after printing why
 * it failed. */
lb_host *gv_create(lb_client *c, const char *const *env, const char *instance_type,
                   long long disk_gb);

#endif
