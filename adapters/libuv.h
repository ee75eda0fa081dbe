/* liblitterbox on a libuv loop. Header-only:
 *
 *     lb_libuv *a = lb_libuv_attach(loop, client);   // before the first call
 *     lb_get_host_async(client, id, on_host, NULL, &err);
 *     uv_run(loop, UV_RUN_DEFAULT);
 *     lb_client_close(client);                       // fires what is pending
 *     lb_libuv_detach(a);                            // frees itself via the loop
 *     uv_run(loop, UV_RUN_DEFAULT);                  // lets the handles close
 *
 * The adapter watches libcurl's sockets with one uv_poll_t each and keeps
 * one uv_timer_t; the loop must outlive the client. */
#ifndef LB_ADAPTER_LIBUV_H
#define LB_ADAPTER_LIBUV_H

#include <stdlib.h>
#include <string.h>

#include <litterbox.h>
#include <uv.h>

typedef struct lb_libuv lb_libuv;

typedef struct lb_libuv_fd {
    uv_poll_t poll;
    lb_libuv *owner;
    int fd;
} lb_libuv_fd;

struct lb_libuv {
    uv_loop_t *loop;
    lb_client *client;
    uv_timer_t timer;
    lb_libuv_fd **fds; /* indexed by fd */
    int nfds;
};

static inline void lb_libuv__on_poll(uv_poll_t *handle, int status, int events)
{
    lb_libuv_fd *f = (lb_libuv_fd *)handle->data;
    int ev = 0;
    if (status < 0) /* an error on the socket: let libcurl read it */
        ev = LB_WATCH_READ | LB_WATCH_WRITE;
    if (events & UV_READABLE)
        ev |= LB_WATCH_READ;
    if (events & UV_WRITABLE)
        ev |= LB_WATCH_WRITE;
    lb_client_fd_ready(f->owner->client, f->fd, ev);
}

static inline void lb_libuv__free_handle(uv_handle_t *handle)
{
    free(handle->data);
}

static inline void lb_libuv__forget(lb_libuv *a, int fd)
{
    lb_libuv_fd *f = a->fds[fd];
    a->fds[fd] = NULL;
    uv_poll_stop(&f->poll);
    uv_close((uv_handle_t *)&f->poll, lb_libuv__free_handle);
}

static inline void lb_libuv__watch(void *data, int fd, int events)
{
    lb_libuv *a = (lb_libuv *)data;
    if (fd < 0)
        return;
    if (fd >= a->nfds) {
        if (events == 0)
            return;
        int n = a->nfds ? a->nfds : 64;
        while (n <= fd)
            n *= 2;
        lb_libuv_fd **p = (lb_libuv_fd **)realloc(a->fds, (size_t)n * sizeof *p);
        if (!p)
            return; /* unwatched: the call times out */
        memset(p + a->nfds, 0, (size_t)(n - a->nfds) * sizeof *p);
        a->fds = p;
        a->nfds = n;
    }
    if (events == 0) {
        if (a->fds[fd])
            lb_libuv__forget(a, fd);
        return;
    }
    lb_libuv_fd *f = a->fds[fd];
    if (!f) {
        f = (lb_libuv_fd *)calloc(1, sizeof *f);
        if (!f)
            return;
        if (uv_poll_init_socket(a->loop, &f->poll, fd) != 0) {
            free(f);
            return;
        }
        f->poll.data = f;
        f->owner = a;
        f->fd = fd;
        a->fds[fd] = f;
    }
    uv_poll_start(&f->poll,
                  ((events & LB_WATCH_READ) ? UV_READABLE : 0) |
                      ((events & LB_WATCH_WRITE) ? UV_WRITABLE : 0),
                  lb_libuv__on_poll);
}

static inline void lb_libuv__on_timer(uv_timer_t *timer)
{
    lb_libuv *a = (lb_libuv *)timer->data;
    lb_client_timer_fired(a->client);
}

static inline void lb_libuv__set_timer(void *data, long timeout_ms)
{
    lb_libuv *a = (lb_libuv *)data;
    if (timeout_ms < 0)
        uv_timer_stop(&a->timer);
    else
        uv_timer_start(&a->timer, lb_libuv__on_timer, (uint64_t)timeout_ms, 0);
}

static inline void lb_libuv__free_adapter(uv_handle_t *timer)
{
    free(timer->data);
}

/** Drive @p client from @p loop. @return the adapter, or NULL (no memory,
 *  or the client refused: calls already pending). */
static inline lb_libuv *lb_libuv_attach(uv_loop_t *loop, lb_client *client)
{
    lb_libuv *a = (lb_libuv *)calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->loop = loop;
    a->client = client;
    uv_timer_init(loop, &a->timer);
    a->timer.data = a;
    lb_loop_hooks hooks;
    memset(&hooks, 0, sizeof hooks);
    hooks.version = LB_LOOP_HOOKS_VERSION;
    hooks.watch_fd = lb_libuv__watch;
    hooks.set_timer = lb_libuv__set_timer;
    hooks.loop_data = a;
    if (lb_client_set_loop(client, &hooks, NULL) != LB_OK) {
        uv_close((uv_handle_t *)&a->timer, lb_libuv__free_adapter);
        return NULL;
    }
    return a;
}

/** Stop watching, after lb_client_close() (or once no call is pending and
 *  the client is handed back with lb_client_set_loop(client, NULL, ...)).
 *  The adapter frees itself as the loop closes its handles. */
static inline void lb_libuv_detach(lb_libuv *a)
{
    for (int fd = 0; fd < a->nfds; fd++)
        if (a->fds[fd])
            lb_libuv__forget(a, fd);
    free(a->fds);
    a->fds = NULL;
    a->nfds = 0;
    uv_timer_stop(&a->timer);
    uv_close((uv_handle_t *)&a->timer, lb_libuv__free_adapter);
}

#endif
