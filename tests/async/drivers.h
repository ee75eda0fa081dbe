/* The ways to run a call, for tests that run one table through all of
 * them: blocking, the library's own loop, and the poll, libuv and libevent
 * adapters. Header-only, one test program each. */
#ifndef LB_TEST_DRIVERS_H
#define LB_TEST_DRIVERS_H

#include <string.h>

#include "adapters/libevent.h"
#include "adapters/libuv.h"
#include "adapters/poll.h"
#include "litterbox.h"

typedef enum driver_id { D_BLOCKING, D_OWN_LOOP, D_POLL, D_LIBUV, D_LIBEVENT, D_COUNT } driver_id;

static const char *const driver_names[D_COUNT] = {"blocking", "own loop", "poll adapter",
                                                  "libuv adapter", "libevent adapter"};

/* One driver's loop state, set up around one client. */
typedef struct driver {
    driver_id id;
    lb_client *client;
    uv_loop_t uv;
    lb_libuv *uv_adapter;
    struct event_base *base;
    lb_libevent *ev_adapter;
    lb_poll *poll_adapter;
} driver;

/* Attach the loop to a fresh client; 0 on success. */
static inline int driver_attach(driver *d, driver_id id, lb_client *client)
{
    memset(d, 0, sizeof *d);
    d->id = id;
    d->client = client;
    switch (id) {
    case D_POLL:
        d->poll_adapter = lb_poll_attach(client);
        return d->poll_adapter ? 0 : -1;
    case D_LIBUV:
        if (uv_loop_init(&d->uv) != 0)
            return -1;
        d->uv_adapter = lb_libuv_attach(&d->uv, client);
        return d->uv_adapter ? 0 : -1;
    case D_LIBEVENT:
        d->base = event_base_new();
        d->ev_adapter = d->base ? lb_libevent_attach(d->base, client) : NULL;
        return d->ev_adapter ? 0 : -1;
    default:
        return 0;
    }
}

/* Run the loop until no call is pending or max_s passes; 0 when none is. */
static inline int driver_run(driver *d, double max_s)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (lb_client_pending(d->client)) {
        clock_gettime(CLOCK_MONOTONIC, &t);
        if ((double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9 > max_s)
            return -1;
        switch (d->id) {
        case D_OWN_LOOP:
            lb_client_run(d->client, 0.2, NULL, NULL);
            break;
        case D_POLL: {
            struct pollfd fds[LB_POLL_MAX];
            size_t n = lb_poll_fill(d->poll_adapter, fds, LB_POLL_MAX);
            int ms = lb_poll_timeout(d->poll_adapter);
            poll(fds, (nfds_t)n, ms < 0 || ms > 200 ? 200 : ms);
            lb_poll_dispatch(d->poll_adapter, fds, n);
            break;
        }
        case D_LIBUV:
            uv_run(&d->uv, UV_RUN_ONCE);
            break;
        case D_LIBEVENT:
            event_base_loop(d->base, EVLOOP_ONCE);
            break;
        default:
            return 0;
        }
    }
    return 0;
}

/* Close the client (firing what is pending), then take the loop down. */
static inline void driver_close(driver *d)
{
    lb_client_close(d->client);
    d->client = NULL;
    switch (d->id) {
    case D_POLL:
        lb_poll_detach(d->poll_adapter);
        break;
    case D_LIBUV:
        lb_libuv_detach(d->uv_adapter);
        uv_run(&d->uv, UV_RUN_DEFAULT);
        uv_loop_close(&d->uv);
        break;
    case D_LIBEVENT:
        lb_libevent_detach(d->ev_adapter);
        event_base_free(d->base);
        break;
    default:
        break;
    }
}

#endif
