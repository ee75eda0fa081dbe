/* liblitterbox on a libevent base. Header-only:
 *
 *     lb_libevent *a = lb_libevent_attach(base, client);  // before the first call
 *     lb_get_host_async(client, id, on_host, NULL, &err);
 *     event_base_dispatch(base);
 *     lb_client_close(client);                             // fires what is pending
 *     lb_libevent_detach(a);
 *
 * One event per libcurl socket and one timer event; the base must outlive
 * the client. */
#ifndef LB_ADAPTER_LIBEVENT_H
#define LB_ADAPTER_LIBEVENT_H

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <litterbox.h>

typedef struct lb_libevent {
    struct event_base *base;
    lb_client *client;
    struct event *timer;
    struct event **fds; /* indexed by fd */
    int nfds;
} lb_libevent;

static inline void lb_libevent__on_fd(evutil_socket_t fd, short what, void *data)
{
    lb_libevent *a = (lb_libevent *)data;
    int ev = ((what & EV_READ) ? LB_WATCH_READ : 0) | ((what & EV_WRITE) ? LB_WATCH_WRITE : 0);
    lb_client_fd_ready(a->client, (int)fd, ev);
}

static inline void lb_libevent__watch(void *data, int fd, int events)
{
    lb_libevent *a = (lb_libevent *)data;
    if (fd < 0)
        return;
    if (fd >= a->nfds) {
        if (events == 0)
            return;
        int n = a->nfds ? a->nfds : 64;
        while (n <= fd)
            n *= 2;
        struct event **p = (struct event **)realloc(a->fds, (size_t)n * sizeof *p);
        if (!p)
            return; /* unwatched: the call times out */
        memset(p + a->nfds, 0, (size_t)(n - a->nfds) * sizeof *p);
        a->fds = p;
        a->nfds = n;
    }
    if (a->fds[fd]) {
        event_free(a->fds[fd]); /* deletes it too */
        a->fds[fd] = NULL;
    }
    if (events == 0)
        return;
    short what = (short)(EV_PERSIST | ((events & LB_WATCH_READ) ? EV_READ : 0) |
                         ((events & LB_WATCH_WRITE) ? EV_WRITE : 0));
    a->fds[fd] = event_new(a->base, fd, what, lb_libevent__on_fd, a);
    if (a->fds[fd])
        event_add(a->fds[fd], NULL);
}

static inline void lb_libevent__on_timer(evutil_socket_t fd, short what, void *data)
{
    (void)fd;
    (void)what;
    lb_client_timer_fired(((lb_libevent *)data)->client);
}

static inline void lb_libevent__set_timer(void *data, long timeout_ms)
{
    lb_libevent *a = (lb_libevent *)data;
    if (timeout_ms < 0) {
        evtimer_del(a->timer);
        return;
    }
    struct timeval tv;
    tv.tv_sec = timeout_ms / 1000;
    tv.tv_usec = (timeout_ms % 1000) * 1000;
    evtimer_add(a->timer, &tv);
}

/** Drive @p client from @p base. @return the adapter, or NULL (no memory,
 *  or the client refused: calls already pending). */
static inline lb_libevent *lb_libevent_attach(struct event_base *base, lb_client *client)
{
    lb_libevent *a = (lb_libevent *)calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->base = base;
    a->client = client;
    a->timer = evtimer_new(base, lb_libevent__on_timer, a);
    lb_loop_hooks hooks;
    memset(&hooks, 0, sizeof hooks);
    hooks.version = LB_LOOP_HOOKS_VERSION;
    hooks.watch_fd = lb_libevent__watch;
    hooks.set_timer = lb_libevent__set_timer;
    hooks.loop_data = a;
    if (!a->timer || lb_client_set_loop(client, &hooks, NULL) != LB_OK) {
        if (a->timer)
            event_free(a->timer);
        free(a);
        return NULL;
    }
    return a;
}

/** Free the adapter and its events, after lb_client_close() (or once no
 *  call is pending and the client is handed back with
 *  lb_client_set_loop(client, NULL, ...)). */
static inline void lb_libevent_detach(lb_libevent *a)
{
    for (int fd = 0; fd < a->nfds; fd++)
        if (a->fds[fd])
            event_free(a->fds[fd]);
    free(a->fds);
    event_free(a->timer);
    free(a);
}

#endif
