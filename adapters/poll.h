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
 * (lb_client_run() is this loop, for programs that have none.) */
#ifndef LB_ADAPTER_POLL_H
#define LB_ADAPTER_POLL_H

#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <litterbox.h>

#ifndef LB_POLL_MAX
#define LB_POLL_MAX 1024 /* a size for a caller's array; the adapter has no limit */
#endif

typedef struct lb_poll {
    lb_client *client;
    struct pollfd *fds;
    size_t count, cap;
    long long deadline_ms; /* CLOCK_MONOTONIC ms; -1: no timer */
} lb_poll;

static inline long long lb_poll__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void lb_poll__watch(void *data, int fd, int events)
{
    lb_poll *p = (lb_poll *)data;
    size_t i = 0;
    while (i < p->count && p->fds[i].fd != fd)
        i++;
    if (events == 0) {
        if (i < p->count)
            p->fds[i] = p->fds[--p->count];
        return;
    }
    if (i == p->count) {
        if (p->count == p->cap) {
            size_t cap = p->cap ? p->cap * 2 : 16;
            struct pollfd *n = (struct pollfd *)realloc(p->fds, cap * sizeof *n);
            if (!n)
                return; /* unwatched: the call times out */
            p->fds = n;
            p->cap = cap;
        }
        p->count++;
    }
    p->fds[i].fd = fd;
    p->fds[i].events = (short)(((events & LB_WATCH_READ) ? POLLIN : 0) |
                               ((events & LB_WATCH_WRITE) ? POLLOUT : 0));
    p->fds[i].revents = 0;
}

static inline void lb_poll__set_timer(void *data, long timeout_ms)
{
    lb_poll *p = (lb_poll *)data;
    p->deadline_ms = timeout_ms < 0 ? -1 : lb_poll__now_ms() + timeout_ms;
}

/** Drive @p client from your poll loop. @return the adapter, or NULL. */
static inline lb_poll *lb_poll_attach(lb_client *client)
{
    lb_poll *p = (lb_poll *)calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->client = client;
    p->deadline_ms = -1;
    lb_loop_hooks hooks;
    memset(&hooks, 0, sizeof hooks);
    hooks.version = LB_LOOP_HOOKS_VERSION;
    hooks.watch_fd = lb_poll__watch;
    hooks.set_timer = lb_poll__set_timer;
    hooks.loop_data = p;
    if (lb_client_set_loop(client, &hooks, NULL) != LB_OK) {
        free(p);
        return NULL;
    }
    return p;
}

/** Copy the fds to watch into @p dst (at most @p room). @return how many. */
static inline size_t lb_poll_fill(lb_poll *p, struct pollfd *dst, size_t room)
{
    size_t n = p->count < room ? p->count : room;
    if (n)
        memcpy(dst, p->fds, n * sizeof *dst);
    return n;
}

/** Milliseconds until the library's timer is due; -1 when none is armed
 *  (still pass a bound of your own if you like). */
static inline int lb_poll_timeout(const lb_poll *p)
{
    if (p->deadline_ms < 0)
        return -1;
    long long left = p->deadline_ms - lb_poll__now_ms();
    return left < 0 ? 0 : left > 60000 ? 60000 : (int)left;
}

/** After poll(2): report the library's fds that are ready, and the timer
 *  when it is due. Fds that are not the library's are skipped. */
static inline void lb_poll_dispatch(lb_poll *p, const struct pollfd *fds, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!fds[i].revents)
            continue;
        int ours = 0;
        for (size_t k = 0; k < p->count && !ours; k++)
            ours = p->fds[k].fd == fds[i].fd;
        if (!ours)
            continue;
        int ev = ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) ? LB_WATCH_READ : 0) |
                 ((fds[i].revents & (POLLOUT | POLLERR)) ? LB_WATCH_WRITE : 0);
        lb_client_fd_ready(p->client, fds[i].fd, ev);
    }
    if (p->deadline_ms >= 0 && lb_poll__now_ms() >= p->deadline_ms) {
        p->deadline_ms = -1;
        lb_client_timer_fired(p->client);
    }
}

/** Free the adapter, after lb_client_close() (or once no call is pending
 *  and the client is handed back with lb_client_set_loop(client, NULL, ...)). */
static inline void lb_poll_detach(lb_poll *p)
{
    free(p->fds);
    free(p);
}

#endif
