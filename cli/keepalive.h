/* When `renew --keep` renews next: the schedule alone, apart from the loop
 * that sleeps and calls, so that it can be tested as a table and later
 * drive a timer on a client's event loop instead. */
#ifndef LB_CLI_KEEPALIVE_H
#define LB_CLI_KEEPALIVE_H

#include "litterbox.h"

/** One lease being kept alive. Zero it, set ttl_s, then feed it each
 *  renewal's outcome. */
typedef struct keepalive {
    long long ttl_s;     /* the lease each renewal asks for; 0: the service's default */
    long long lease_end; /* Unix seconds the lease is known to last until; 0: not yet known */
    int failures;        /* transient failures in a row */
} keepalive;

/* A failing service is retried at 1, 2, 4... seconds, at most this far apart. */
#define KEEPALIVE_RETRY_MAX_S 30

/**
 * The seconds until the next renewal, after one that ended with @p code.
 * @param now        Unix seconds when it ended.
 * @param expires_at the new lease end on success (0: the host never expires).
 * @return the delay (at least 1), or -1 to stop: a host that never expires,
 *         or an error that retrying will not fix (not found, auth...).
 */
long long keepalive_next(keepalive *k, lb_code code, long long now, long long expires_at);

#endif
