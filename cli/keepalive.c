/* renew --keep's schedule. A lease is renewed when a third of it has
 * passed: two more chances remain before it ends, which rides out a
 * service that is down for a while. A transient failure is retried with
 * backoff, never later than a quarter of what is left of the lease. */
#include "keepalive.h"

long long keepalive_next(keepalive *k, lb_code code, long long now, long long expires_at)
{
    if (code == LB_OK) {
        k->failures = 0;
        if (expires_at <= 0) return -1; /* permanent: nothing to keep alive */
        k->lease_end = expires_at;
        long long lease = expires_at - now;
        return lease / 3 >= 1 ? lease / 3 : 1;
    }
    if (!lb_code_is_retryable(code)) return -1;
    long long backoff = 1;
    for (int i = 1; i < k->failures + 1 && backoff < KEEPALIVE_RETRY_MAX_S; i++)
        backoff *= 2;
    k->failures++;
    if (backoff > KEEPALIVE_RETRY_MAX_S) backoff = KEEPALIVE_RETRY_MAX_S;
    if (k->lease_end > now) {
        long long quarter = (k->lease_end - now) / 4;
        if (quarter < backoff) backoff = quarter;
    }
    return backoff >= 1 ? backoff : 1;
}
