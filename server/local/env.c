/* How a host's env reaches its sessions: as `--setenv KEY VALUE` entries
 * in session/bwrap.args, a NUL-separated file that bwrap reads with
 * `--args 3` and turns into the environment of the sandboxed shell. A value
 * is one argv-like entry from the file to setenv(3): no shell parses it,
 * sshd never sees it, and it may hold any byte but NUL (quotes, `$`,
 * newlines, backslashes, UTF-8). The file is after the fixed options, so
 * a key such as HOME or SHELL given by the caller wins, as given. */
#include "local.h"

#include <stdio.h>
#include <string.h>

int local_env_key_ok(const char *key)
{
    if (!key || !*key) return 0;
    for (const char *p = key; *p; p++) {
        char c = *p;
        int alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
        if (!alpha && !(p != key && c >= '0' && c <= '9')) return 0;
    }
    return 1;
}

int local_env_args(sbuf *b, const char *const *keys, const char *const *values, size_t n, char *why,
                   size_t why_size)
{
    for (size_t i = 0; i < n; i++) {
        if (!local_env_key_ok(keys[i])) {
            /* The key is not secret; its value is never quoted anywhere. */
            snprintf(why, why_size, "env key %zu is not a plain name ([A-Za-z_][A-Za-z0-9_]*)", i);
            return -1;
        }
        sbuf_arg(b, "--setenv");
        sbuf_arg(b, keys[i]);
        sbuf_arg(b, values[i] ? values[i] : "");
    }
    return 0;
}
