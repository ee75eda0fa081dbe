/* Keys of a local host, made by ssh-keygen (run with an argv array). Each
 * host gets a fresh ed25519 host key and a fresh ed25519 user key pair;
 * ssh-keygen writes private keys 0600 itself. */
#include "local.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int local_keygen(const char *path, const char *comment, char *why, size_t why_size)
{
    const char *argv[] = {LOCAL_SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-C",
                          comment,          "-f", path, NULL};
    char out[512];
    char err[256] = "";
    int rc = local_run(argv, NULL, out, sizeof out, err, sizeof err);
    if (rc != 0) {
        /* ssh-keygen's own words, on one line. */
        for (char *p = out; *p; p++)
            if (*p == '\n' || *p == '\r') *p = ' ';
        snprintf(why, why_size, "ssh-keygen failed (%s): %s", rc < 0 ? err : "exit status",
                 out[0] ? out : "no output");
        return -1;
    }
    return 0;
}

char *local_public_key(const char *pub_path, char *why, size_t why_size)
{
    char *text = local_read_file(pub_path, 16384, NULL, why, why_size);
    if (!text) return NULL;
    /* "ssh-ed25519 AAAA... comment\n": keep the first two fields. */
    char *type = text + strspn(text, " \t");
    size_t tlen = strcspn(type, " \t\r\n");
    char *blob = type + tlen;
    blob += strspn(blob, " \t");
    size_t blen = strcspn(blob, " \t\r\n");
    if (tlen == 0 || blen == 0) {
        snprintf(why, why_size, "%s is not an OpenSSH public key", pub_path);
        free(text);
        return NULL;
    }
    char *key = malloc(tlen + 1 + blen + 1);
    if (key) {
        memcpy(key, type, tlen);
        key[tlen] = ' ';
        memcpy(key + tlen + 1, blob, blen);
        key[tlen + 1 + blen] = '\0';
    } else {
        snprintf(why, why_size, "out of memory");
    }
    free(text);
    return key;
}
