/* liblitterbox in a plain poll(2) loop of your own. Header-only:
 *
 *     lb_poll *p = lb_poll_attach(client);            // before the first call
 *     lb_get_host_async(client, id, on_host, NULL, &err);
 *     while (lb_client_pending(client)) {
 *         struct pollfd fds[LB_POLL_MAX];              // plus your own fds
 *         size_t n = lb_poll_fill(p, fds, LB_POLL_MAX);
 *         poll(fds, n, lb_poll_timeout(p));
 *         lb_poll_dispatch(p, fds, n);
 *     }
 *     lb_client_close(client);
 *     lb_poll_detach(p);
 *
 * (lb_client_run() is this loop, for programs that have none: both keep
 * the client's fds in an lb_poll_set, adapters/poll_set.h.) */
#ifndef LB_ADAPTER_POLL_H
#define LB_ADAPTER_POLL_H

#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include <litterbox.h>

#include "poll_set.h"

#ifndef LB_POLL_MAX
#define LB_POLL_MAX 1024 /* a size for a caller's array; the adapter has no limit */
#endif

typedef struct lb_poll {
    lb_client *client;
    lb_poll_set set;
} lb_poll;

/** Drive @p client from your poll loop. @return the adapter, or NULL. */
static inline lb_poll *lb_poll_attach(lb_client *client)
{
    lb_poll *p = (lb_poll *)calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->client = client;
    p->set.deadline_ms = -1;
    lb_loop_hooks hooks;
    memset(&hooks, 0, sizeof hooks);
    hooks.version = LB_LOOP_HOOKS_VERSION;
    hooks.watch_fd = lb_poll_set_watch;
    hooks.set_timer = lb_poll_set_timer;
    hooks.loop_data = &p->set;
    if (lb_client_set_loop(client, &hooks, NULL) != LB_OK) {
        free(p);
        return NULL;
    }
    return p;
}

/** Copy the fds to watch into @p dst (at most @p room). @return how many. */
static inline size_t lb_poll_fill(lb_poll *p, struct pollfd *dst, size_t room)
{
    size_t n = p->set.count < room ? p->set.count : room;
    if (n)
        memcpy(dst, p->set.fds, n * sizeof *dst);
    return n;
}

/** Milliseconds until the library's timer is due; -1 when none is armed
 *  (still pass a bound of your own if you like). */
static inline int lb_poll_timeout(const lb_poll *p)
{
    return p->set.deadline_ms < 0 ? -1 : lb_poll_set_timeout(&p->set, 60000);
}

/** After poll(2): report the library's fds that are ready, and the timer
 *  when it is due. Fds that are not the library's are skipped. */
static inline void lb_poll_dispatch(lb_poll *p, const struct pollfd *fds, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (fds[i].revents && lb_poll_set_has(&p->set, fds[i].fd))
            lb_client_fd_ready(p->client, fds[i].fd, lb_poll_set_events(fds[i].revents));
    if (lb_poll_set_timer_due(&p->set))
        lb_client_timer_fired(p->client);
}

/** Free the adapter, after lb_client_close() (or once no call is pending
 *  and the client is handed back with lb_client_set_loop(client, NULL, ...)). */
static inline void lb_poll_detach(lb_poll *p)
{
    free(p->set.fds);
    free(p);
}

#endif
