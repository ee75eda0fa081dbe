/* The client object: its settings, the blocking driver's lanes and the
 * non-blocking driver's state. Never installed. */
#ifndef LB_CLIENT_H
#define LB_CLIENT_H

#include "async.h"
#include "blocking.h"
#include "request.h"

struct lb_client {
    lb_settings settings;
    lane_pool lanes;
    long max_connections;
    async_state *async; /* made on the first non-blocking use */
};

/* The client's async state, made when first needed; NULL when out of
 * memory. */
async_state *client_async(lb_client *c);

#endif
