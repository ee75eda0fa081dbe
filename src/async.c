/* The non-blocking API: many calls on one client's shared multi handle,
 * driven by libcurl's socket interface from any event loop.
 *
 * A call waits in a FIFO queue until one of max_connections slots is free,
 * then its request is configured by engine_setup and added to the multi
 * handle (so timeout_s counts from there, not from the queue). libcurl says
 * which fds and which timer to watch; the loop (an outside one through
 * lb_loop_hooks, or lb_client_run's poll) reports back through
 * lb_client_fd_ready / lb_client_timer_fired, and every transfer that ends
 * goes through engine_complete and then its callback, exactly once. */
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine.h"

/* QUEUED: waiting for a slot; RUNNING: on the wire; FAILED: ended before
 * reaching the wire, its callback due at the next dispatch; FIRING: its
 * callback is running. */
enum call_state { CALL_QUEUED, CALL_RUNNING, CALL_FAILED, CALL_FIRING };

struct lb_call {
    lb_client *client;
    lb_request *req;
    CURL *easy;
    lb_callback cb;
    void *userdata;
    enum call_state state;
    struct lb_call *prev, *next; /* in the queue or the running list */
};

typedef struct call_list {
    lb_call *head, *tail;
    size_t count;
} call_list;

/* The fds and the timer lb_client_run polls when no outside loop is set. */
typedef struct own_loop {
    struct pollfd *fds;
    size_t count, cap;
    double deadline; /* monotonic seconds; < 0 when no timer is armed */
} own_loop;

struct async_state {
    CURLM *multi;
    call_list queued, running, failed;
    CURL **idle_easy; /* easy handles kept for reuse */
    size_t idle_count, idle_cap;
    CURL **orphans; /* handles libcurl would not let go of (see unwire) */
    size_t orphan_count;
    lb_loop_hooks hooks;
    int has_hooks;
    int dispatching; /* callbacks are running: lb_client_run refuses */
    int closing;
    own_loop own;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- lists ---- */

static void list_push(call_list *l, lb_call *call)
{
    call->next = NULL;
    call->prev = l->tail;
    if (l->tail)
        l->tail->next = call;
    else
        l->head = call;
    l->tail = call;
    l->count++;
}

static void list_remove(call_list *l, lb_call *call)
{
    if (call->prev)
        call->prev->next = call->next;
    else
        l->head = call->next;
    if (call->next)
        call->next->prev = call->prev;
    else
        l->tail = call->prev;
    call->prev = call->next = NULL;
    l->count--;
}

/* ---- the own loop's bookkeeping, used when no hooks are set ---- */

static void own_watch(own_loop *o, int fd, int events)
{
    size_t i = 0;
    while (i < o->count && o->fds[i].fd != fd)
        i++;
    if (events == 0) {
        if (i < o->count)
            o->fds[i] = o->fds[--o->count];
        return;
    }
    if (i == o->count) {
        if (o->count == o->cap) {
            size_t cap = o->cap ? o->cap * 2 : 16;
            struct pollfd *p = realloc(o->fds, cap * sizeof *p);
            if (!p)
                return; /* the transfer will time out; nothing better to do */
            o->fds = p;
            o->cap = cap;
        }
        o->count++;
    }
    o->fds[i].fd = fd;
    o->fds[i].events = (short)(((events & LB_WATCH_READ) ? POLLIN : 0) |
                               ((events & LB_WATCH_WRITE) ? POLLOUT : 0));
    o->fds[i].revents = 0;
}

/* ---- libcurl's side: which fds and which timer to watch ---- */

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    lb_client *c = userp;
    struct async_state *a = c->async;
    int events = what == CURL_POLL_IN      ? LB_WATCH_READ
                 : what == CURL_POLL_OUT   ? LB_WATCH_WRITE
                 : what == CURL_POLL_INOUT ? LB_WATCH_READ | LB_WATCH_WRITE
                                           : 0;
    if (a->has_hooks)
        a->hooks.watch_fd(a->hooks.loop_data, (int)fd, events);
    else
        own_watch(&a->own, (int)fd, events);
    return 0;
}

static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
    lb_client *c = userp;
    struct async_state *a = c->async;
    if (a->has_hooks)
        a->hooks.set_timer(a->hooks.loop_data, timeout_ms);
    else
        a->own.deadline = timeout_ms < 0 ? -1.0 : now_s() + (double)timeout_ms / 1000.0;
    return 0;
}

static struct async_state *async_get(lb_client *c)
{
    if (c->async)
        return c->async;
    struct async_state *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->own.deadline = -1.0;
    a->multi = curl_multi_init();
    if (!a->multi) {
        free(a);
        return NULL;
    }
    curl_multi_setopt(a->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(a->multi, CURLMOPT_SOCKETDATA, c);
    curl_multi_setopt(a->multi, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(a->multi, CURLMOPT_TIMERDATA, c);
    /* Keep as many idle connections as calls may run at once. */
    curl_multi_setopt(a->multi, CURLMOPT_MAXCONNECTS, c->max_connections);
    c->async = a;
    return a;
}

/* ---- easy handles, reused across calls ---- */

static CURL *easy_take(struct async_state *a)
{
    if (a->idle_count)
        return a->idle_easy[--a->idle_count];
    return curl_easy_init();
}

static void easy_give(lb_client *c, CURL *easy)
{
    struct async_state *a = c->async;
    if (a->idle_count == a->idle_cap && a->idle_cap < (size_t)c->max_connections) {
        size_t cap = a->idle_cap ? a->idle_cap * 2 : 8;
        if (cap > (size_t)c->max_connections)
            cap = (size_t)c->max_connections;
        CURL **p = realloc(a->idle_easy, cap * sizeof *p);
        if (p) {
            a->idle_easy = p;
            a->idle_cap = cap;
        }
    }
    if (a->idle_count < a->idle_cap)
        a->idle_easy[a->idle_count++] = easy;
    else
        curl_easy_cleanup(easy);
}

/* ---- the end of a call ---- */

/* Runs the callback with the request's outcome, then frees the call. */
static void fire(lb_call *call)
{
    lb_request *r = call->req;
    lb_result res;
    memset(&res, 0, sizeof res);
    res.code = r->code;
    res.error = r->code == LB_OK ? NULL : &r->error;
    if (r->code == LB_OK) {
        switch (r->kind) {
        case RESULT_HOST:
            res.host = r->result;
            break;
        case RESULT_LIST:
            res.list = r->result;
            break;
        case RESULT_DOCTOR:
            res.doctor = r->result;
            break;
        case RESULT_PROXY:
        case RESULT_PROXY_HOST:
            res.proxy = r->result;
            break;
        default:
            break;
        }
        r->result = NULL; /* the callback owns it now */
    }
    call->state = CALL_FIRING;
    struct async_state *a = call->client->async;
    a->dispatching++;
    call->cb(call, &res, call->userdata);
    a->dispatching--;
    request_free(r);
    free(call);
}

static void fire_cancelled(lb_call *call, const char *why)
{
    call->req->code = error_set(&call->req->error, LB_ERR_CANCELLED, 0, "%s", why);
    fire(call);
}

/* A call that ended before reaching the wire: its callback must not fire
 * inside the lb_*_async that started it, so it waits for the next
 * dispatch, which the loop is asked to run at once. */
static void fail_later(lb_client *c, lb_call *call, lb_code code, const char *why)
{
    struct async_state *a = c->async;
    call->req->code = error_set(&call->req->error, code, 0, "%s", why);
    call->state = CALL_FAILED;
    list_push(&a->failed, call);
    if (a->has_hooks)
        a->hooks.set_timer(a->hooks.loop_data, 0);
    else
        a->own.deadline = now_s();
}

/* Moves queued calls onto the wire while slots are free. */
static void pump(lb_client *c)
{
    struct async_state *a = c->async;
    while (!a->closing && a->queued.head && a->running.count < (size_t)c->max_connections) {
        lb_call *call = a->queued.head;
        list_remove(&a->queued, call);
        CURL *easy = easy_take(a);
        if (!easy) {
            fail_later(c, call, LB_ERR_NOMEM, "out of memory");
            continue;
        }
        curl_easy_reset(easy);
        if (engine_setup(call->req, easy) != LB_OK) {
            easy_give(c, easy);
            fail_later(c, call, call->req->error.code, call->req->error.message);
            continue;
        }
        if (curl_multi_add_handle(a->multi, easy) != CURLM_OK) {
            easy_give(c, easy);
            fail_later(c, call, LB_ERR_NOMEM, "libcurl refused the transfer");
            continue;
        }
        call->easy = easy;
        call->state = CALL_RUNNING;
        list_push(&a->running, call);
    }
}

/* Takes a running call off the wire. */
static void unwire(lb_call *call)
{
    lb_client *c = call->client;
    struct async_state *a = c->async;
    list_remove(&a->running, call);
    if (curl_multi_remove_handle(a->multi, call->easy) == CURLM_OK) {
        easy_give(c, call->easy);
    } else {
        /* A loop hook called back into the library, against the rules:
         * never reuse the handle; free it at close. */
        CURL **p = realloc(a->orphans, (a->orphan_count + 1) * sizeof *p);
        if (p) {
            a->orphans = p;
            a->orphans[a->orphan_count++] = call->easy;
        }
    }
    call->easy = NULL;
}

/* Finishes every transfer libcurl reports done, then refills the slots. */
static void dispatch(lb_client *c)
{
    struct async_state *a = c->async;
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(a->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        lb_request *r = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
        CURLcode result = msg->data.result;
        lb_call *call = r ? r->call : NULL;
        if (!call)
            continue;
        engine_complete(r, call->easy, result);
        unwire(call);
        fire(call);
    }
    pump(c);
    while (a->failed.head) {
        lb_call *call = a->failed.head;
        list_remove(&a->failed, call);
        fire(call);
    }
}

lb_call *call_start(lb_client *c, lb_request *r, const lb_error *local, lb_callback cb,
                    void *userdata, lb_error *err)
{
    if (!r) {
        if (err)
            *err = *local;
        return NULL;
    }
    struct async_state *a = NULL;
    lb_call *call = NULL;
    if (!cb)
        error_set(err, LB_ERR_INVALID, 0, "callback is NULL");
    else if (!(a = async_get(c)) || !(call = calloc(1, sizeof *call)))
        error_set(err, LB_ERR_NOMEM, 0, "out of memory");
    else if (a->closing)
        error_set(err, LB_ERR_INVALID, 0, "the client is closing");
    if (!call || a->closing) {
        free(call);
        request_free(r);
        return NULL;
    }
    call->client = c;
    call->req = r;
    call->cb = cb;
    call->userdata = userdata;
    call->state = CALL_QUEUED;
    r->call = call;
    list_push(&a->queued, call);
    /* A free slot is taken now, but transfers only move when the loop
     * runs: the callback never fires before this returns. */
    pump(c);
    return call;
}

lb_code lb_call_cancel(lb_call *call)
{
    if (!call || call->state == CALL_FIRING)
        return LB_ERR_INVALID;
    lb_client *c = call->client;
    struct async_state *a = c->async;
    if (call->state == CALL_QUEUED)
        list_remove(&a->queued, call);
    else if (call->state == CALL_FAILED)
        list_remove(&a->failed, call);
    else
        unwire(call);
    fire_cancelled(call, "cancelled");
    pump(c);
    return LB_OK;
}

int async_dispatching(const lb_client *c)
{
    return c->async && c->async->dispatching > 0;
}

size_t lb_client_pending(const lb_client *c)
{
    if (!c || !c->async)
        return 0;
    return c->async->queued.count + c->async->running.count + c->async->failed.count;
}

void lb_client_fd_ready(lb_client *c, int fd, int events)
{
    if (!c || !c->async)
        return;
    int mask = ((events & LB_WATCH_READ) ? CURL_CSELECT_IN : 0) |
               ((events & LB_WATCH_WRITE) ? CURL_CSELECT_OUT : 0);
    int running;
    curl_multi_socket_action(c->async->multi, (curl_socket_t)fd, mask, &running);
    dispatch(c);
}

void lb_client_timer_fired(lb_client *c)
{
    if (!c || !c->async)
        return;
    int running;
    curl_multi_socket_action(c->async->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    dispatch(c);
}

lb_code lb_client_set_loop(lb_client *c, const lb_loop_hooks *hooks, lb_error *err)
{
    if (!c)
        return error_set(err, LB_ERR_INVALID, 0, "client is NULL");
    if (hooks && hooks->version != LB_LOOP_HOOKS_VERSION)
        return error_set(err, LB_ERR_INVALID, 0, "loop hooks version %u is unknown",
                         hooks->version);
    if (hooks && (!hooks->watch_fd || !hooks->set_timer))
        return error_set(err, LB_ERR_INVALID, 0, "a loop hook is NULL");
    if (lb_client_pending(c))
        return error_set(err, LB_ERR_INVALID, 0, "calls are pending; set the loop before them");
    struct async_state *a = async_get(c);
    if (!a)
        return error_set(err, LB_ERR_NOMEM, 0, "out of memory");
    a->has_hooks = hooks != NULL;
    if (hooks)
        a->hooks = *hooks;
    return LB_OK;
}

lb_code lb_client_run(lb_client *c, double timeout_s, lb_error *err)
{
    if (!c)
        return error_set(err, LB_ERR_INVALID, 0, "client is NULL");
    if (timeout_s != timeout_s) /* NaN */
        return error_set(err, LB_ERR_INVALID, 0, "timeout_s is not a number");
    struct async_state *a = c->async;
    if (a && a->dispatching)
        return error_set(err, LB_ERR_INVALID, 0, "lb_client_run called from a callback");
    if (!a || lb_client_pending(c) == 0)
        return LB_OK;
    if (a->has_hooks)
        return error_set(err, LB_ERR_INVALID, 0, "an outside loop drives this client");
    double end = timeout_s < 0 ? -1.0 : now_s() + timeout_s;
    int passes = 0;
    struct pollfd *ready = NULL;
    size_t ready_cap = 0;
    lb_code rc = LB_OK;
    while (lb_client_pending(c)) {
        double now = now_s();
        if (end >= 0 && now >= end && passes++ > 0) { /* at least one pass, even for 0 */
            rc = error_set(err, LB_ERR_UNAVAILABLE, 0,
                           "%zu calls still pending after %g s", lb_client_pending(c), timeout_s);
            break;
        }
        double wake = a->own.deadline;
        if (end >= 0 && (wake < 0 || end < wake))
            wake = end;
        int wait_ms = wake < 0 ? 1000 : (int)((wake - now) * 1000.0 + 0.999);
        if (wait_ms < 0)
            wait_ms = 0;
        if (wait_ms > 1000)
            wait_ms = 1000; /* a bound, so that no lost wakeup can hang us */

        /* Poll a copy: callbacks change the set while we walk the results. */
        if (ready_cap < a->own.count) {
            struct pollfd *p = realloc(ready, a->own.count * sizeof *p);
            if (!p) {
                rc = error_set(err, LB_ERR_NOMEM, 0, "out of memory");
                break;
            }
            ready = p;
            ready_cap = a->own.count;
        }
        size_t n = a->own.count;
        if (n)
            memcpy(ready, a->own.fds, n * sizeof *ready);
        int got = poll(ready, (nfds_t)n, wait_ms);
        for (size_t i = 0; got > 0 && i < n; i++) {
            if (!ready[i].revents)
                continue;
            int ev = ((ready[i].revents & (POLLIN | POLLHUP | POLLERR)) ? LB_WATCH_READ : 0) |
                     ((ready[i].revents & (POLLOUT | POLLERR)) ? LB_WATCH_WRITE : 0);
            lb_client_fd_ready(c, ready[i].fd, ev);
        }
        if (a->own.deadline >= 0 && now_s() >= a->own.deadline) {
            a->own.deadline = -1.0;
            lb_client_timer_fired(c);
        }
    }
    free(ready);
    return rc;
}

void async_close(lb_client *c)
{
    struct async_state *a = c->async;
    if (!a)
        return;
    a->closing = 1;
    while (a->running.head) {
        lb_call *call = a->running.head;
        unwire(call);
        fire_cancelled(call, "the client was closed");
    }
    call_list *waiting[] = {&a->queued, &a->failed};
    for (size_t i = 0; i < 2; i++) {
        while (waiting[i]->head) {
            lb_call *call = waiting[i]->head;
            list_remove(waiting[i], call);
            fire_cancelled(call, "the client was closed");
        }
    }
    if (a->has_hooks)
        a->hooks.set_timer(a->hooks.loop_data, -1);
    for (size_t i = 0; i < a->orphan_count; i++) {
        curl_multi_remove_handle(a->multi, a->orphans[i]);
        curl_easy_cleanup(a->orphans[i]);
    }
    free(a->orphans);
    curl_multi_cleanup(a->multi);
    for (size_t i = 0; i < a->idle_count; i++)
        curl_easy_cleanup(a->idle_easy[i]);
    free(a->idle_easy);
    free(a->own.fds);
    free(a);
    c->async = NULL;
}
