/* The non-blocking driver: many requests on one shared multi handle,
 * driven through libcurl's socket interface by whichever loop watches the
 * fds and the timer it asks for. Never installed. */
#ifndef LB_ASYNC_H
#define LB_ASYNC_H

#include <stddef.h>

#include "request.h"

typedef struct async_state async_state;

/* At most max_connections requests on the wire at once; the rest queue in
 * order. Until async_set_hooks, fds and the timer are kept for async_run.
 * NULL when out of memory. */
async_state *async_new(long max_connections);
/* Fires LB_ERR_CANCELLED for every call still pending, then frees. */
void async_free(async_state *a);

/* Queues r (taken) and returns its handle; NULL with err when cb is NULL,
 * memory ran out or the state is closing (r is then freed). */
lb_call *async_start(async_state *a, lb_request *r, lb_callback cb, void *userdata,
                     lb_error *err);
/* A keeper's next request: a renew to now + its TTL. NULL with err when
 * it cannot be built. */
typedef lb_request *(*request_maker)(void *ctx, lb_error *err);
/* Starts a keeper (lb_keep_host_async): make(ctx)'s request now, then
 * again every third of ttl_s, until cancelled or refused. ctx is freed
 * with free_ctx when the call ends (or at once when it cannot start). */
lb_call *async_keep(async_state *a, request_maker make, void *ctx, void (*free_ctx)(void *ctx),
                    double ttl_s, lb_callback cb, void *userdata, lb_error *err);
size_t async_pending(const async_state *a);
/* 1 while completion callbacks run. */
int async_dispatching(const async_state *a);

/* An outside loop's hooks (copied), or NULL for the built-in poll(2) set.
 * LB_ERR_INVALID while calls are pending. */
lb_code async_set_hooks(async_state *a, const lb_loop_hooks *hooks, lb_error *err);
void async_fd_ready(async_state *a, int fd, int events);
void async_timer_fired(async_state *a);
/* The built-in loop: poll(2) over the set until nothing is pending or
 * timeout_s passes (< 0: no limit). */
lb_code async_run(async_state *a, double timeout_s, size_t *pending, lb_error *err);

#endif
