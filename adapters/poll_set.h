/* The fds and the one timer a liblitterbox client asks its loop to watch,
 * kept as a pollfd array and a deadline. Header-only bookkeeping, with no
 * call into the library: adapters/poll.h drives a client with it, and
 * lb_client_run() is the same set polled by the library itself. */
#ifndef LB_ADAPTER_POLL_SET_H
#define LB_ADAPTER_POLL_SET_H

#include <poll.h>
#include <stdlib.h>
#include <time.h>

#include <litterbox.h>

typedef struct lb_poll_set {
    struct pollfd *fds;
    size_t count, cap;
    long long deadline_ms; /* CLOCK_MONOTONIC ms; -1: no timer */
} lb_poll_set;

static inline long long lb_poll_set_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/** An lb_loop_hooks watch_fd: data is the lb_poll_set. */
static inline void lb_poll_set_watch(void *data, int fd, int events)
{
    lb_poll_set *s = (lb_poll_set *)data;
    size_t i = 0;
    while (i < s->count && s->fds[i].fd != fd)
        i++;
    if (events == 0) {
        if (i < s->count)
            s->fds[i] = s->fds[--s->count];
        return;
    }
    if (i == s->count) {
        if (s->count == s->cap) {
            size_t cap = s->cap ? s->cap * 2 : 16;
            struct pollfd *n = (struct pollfd *)realloc(s->fds, cap * sizeof *n);
            if (!n)
                return; /* unwatched: the call times out */
            s->fds = n;
            s->cap = cap;
        }
        s->count++;
    }
    s->fds[i].fd = fd;
    s->fds[i].events = (short)(((events & LB_WATCH_READ) ? POLLIN : 0) |
                               ((events & LB_WATCH_WRITE) ? POLLOUT : 0));
    s->fds[i].revents = 0;
}

/** An lb_loop_hooks set_timer: data is the lb_poll_set. */
static inline void lb_poll_set_timer(void *data, long timeout_ms)
{
    lb_poll_set *s = (lb_poll_set *)data;
    s->deadline_ms = timeout_ms < 0 ? -1 : lb_poll_set_now_ms() + timeout_ms;
}

/** Milliseconds until the timer is due, at most @p cap (and @p cap when
 *  none is armed); 0 when it is due. */
static inline int lb_poll_set_timeout(const lb_poll_set *s, int cap)
{
    if (s->deadline_ms < 0)
        return cap;
    long long left = s->deadline_ms - lb_poll_set_now_ms();
    return left < 0 ? 0 : left > cap ? cap : (int)left;
}

/** LB_WATCH_* events for what poll(2) said of one fd. */
static inline int lb_poll_set_events(short revents)
{
    return ((revents & (POLLIN | POLLHUP | POLLERR)) ? LB_WATCH_READ : 0) |
           ((revents & (POLLOUT | POLLERR)) ? LB_WATCH_WRITE : 0);
}

/** 1 when @p fd is in the set. */
static inline int lb_poll_set_has(const lb_poll_set *s, int fd)
{
    for (size_t k = 0; k < s->count; k++)
        if (s->fds[k].fd == fd)
            return 1;
    return 0;
}

/** 1 (and the timer disarmed) when the timer is due. */
static inline int lb_poll_set_timer_due(lb_poll_set *s)
{
    if (s->deadline_ms < 0 || lb_poll_set_now_ms() < s->deadline_ms)
        return 0;
    s->deadline_ms = -1;
    return 1;
}

#endif
