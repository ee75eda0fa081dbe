/* The non-blocking driver: many calls on one client's shared multi handle,
 * driven by libcurl's socket interface from any event loop.
 *
 * A call waits in a FIFO queue until one of max_connections slots is free,
 * then its request is configured by engine_setup and added to the multi
 * handle (so timeout_s counts from there, not from the queue). libcurl says
 * which fds and which timer to watch; those go to the loop's hooks: an
 * outside loop's (lb_loop_hooks), or by default the built-in poll(2) set
 * that async_run polls. The loop reports back through async_fd_ready and
 * async_timer_fired, and every transfer that ends goes through
 * engine_complete and then its callback, exactly once.
 *
 * A keeper (lb_keep_host_async) is a call that runs again and again: after
 * each renew it sleeps until its next one is due, and its callback fires
 * only when it ends. The one timer the loop holds is therefore the earliest
 * of three: libcurl's, the first sleeper's, and "now" while calls that
 * failed before the wire wait for their callbacks. */
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../adapters/poll_set.h"
#include "async.h"
#include "engine.h"

/* QUEUED: waiting for a slot; RUNNING: on the wire; FAILED: ended before
 * reaching the wire, its callback due at the next dispatch; SLEEPING: a
 * keeper between two renews; FIRING: its callback is running. */
enum call_state { CALL_QUEUED, CALL_RUNNING, CALL_FAILED, CALL_SLEEPING, CALL_FIRING };

/* What makes a call a keeper: how to build its next request, and when. */
typedef struct keeper {
    request_maker make;
    void *ctx;
    void (*free_ctx)(void *ctx);
    double interval; /* seconds between two renews that succeed */
    double ttl;      /* the lease each renew sets */
    double backoff;  /* the wait after the next transient failure */
    double deadline; /* monotonic: the last lease set passes; retries stop */
    double built;    /* monotonic: when the renew in flight was built (its
                        expires_at counts from then, not from its answer) */
    double wake;     /* monotonic: the next renew, while sleeping */
} keeper;

struct lb_call {
    async_state *async;
    lb_request *req;
    CURL *easy;
    lb_callback cb;
    void *userdata;
    enum call_state state;
    keeper *keep; /* NULL for a call that runs once */
    struct lb_call *prev, *next; /* in the list its state names */
};

typedef struct call_list {
    lb_call *head, *tail;
    size_t count;
} call_list;

struct async_state {
    CURLM *multi;
    long max_connections;
    call_list queued, running, failed, sleeping;
    CURL **idle_easy; /* easy handles kept for reuse */
    size_t idle_count, idle_cap;
    CURL **orphans; /* handles libcurl would not let go of (see unwire) */
    size_t orphan_count;
    lb_loop_hooks hooks; /* always set: an outside loop's, or own's */
    int outside;         /* the hooks are an outside loop's */
    lb_poll_set own;     /* what async_run polls */
    int dispatching;     /* callbacks are running: async_run refuses */
    int closing;
    double curl_due;  /* monotonic: libcurl's timer; < 0 when none */
    double sleep_due; /* monotonic: the first sleeper's wake; < 0 when none */
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- lists ---- */

/* At the head: a keeper's renew goes before calls that wait for a slot,
 * for its lease runs out while it waits. */
static void list_push_head(call_list *l, lb_call *call)
{
    call->prev = NULL;
    call->next = l->head;
    if (l->head)
        l->head->prev = call;
    else
        l->tail = call;
    l->head = call;
    l->count++;
}

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

/* ---- libcurl's side: which fds and which timer to watch ---- */

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    async_state *a = userp;
    int events = what == CURL_POLL_IN      ? LB_WATCH_READ
                 : what == CURL_POLL_OUT   ? LB_WATCH_WRITE
                 : what == CURL_POLL_INOUT ? LB_WATCH_READ | LB_WATCH_WRITE
                                           : 0;
    a->hooks.watch_fd(a->hooks.loop_data, (int)fd, events);
    return 0;
}

/* Arms the loop's one timer for the earliest of what is due. */
static void arm(async_state *a)
{
    double due = a->failed.head ? 0 : -1; /* 0: at once */
    if (a->curl_due >= 0 && (due < 0 || a->curl_due < due))
        due = a->curl_due;
    if (a->sleep_due >= 0 && (due < 0 || a->sleep_due < due))
        due = a->sleep_due;
    long ms = -1;
    if (due == 0) {
        ms = 0;
    } else if (due > 0) {
        double left = (due - now_s()) * 1000.0;
        ms = left <= 0 ? 0 : left > 86400000.0 ? 86400000L : (long)(left + 0.999);
    }
    a->hooks.set_timer(a->hooks.loop_data, ms);
}

static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
    async_state *a = userp;
    a->curl_due = timeout_ms < 0 ? -1.0 : now_s() + (double)timeout_ms / 1000.0;
    arm(a);
    return 0;
}

static void use_own_loop(async_state *a)
{
    memset(&a->hooks, 0, sizeof a->hooks);
    a->hooks.version = LB_LOOP_HOOKS_VERSION;
    a->hooks.watch_fd = lb_poll_set_watch;
    a->hooks.set_timer = lb_poll_set_timer;
    a->hooks.loop_data = &a->own;
    a->outside = 0;
}

async_state *async_new(long max_connections)
{
    async_state *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->max_connections = max_connections;
    a->own.deadline_ms = -1;
    a->curl_due = a->sleep_due = -1.0;
    use_own_loop(a);
    a->multi = curl_multi_init();
    if (!a->multi) {
        free(a);
        return NULL;
    }
    curl_multi_setopt(a->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(a->multi, CURLMOPT_SOCKETDATA, a);
    curl_multi_setopt(a->multi, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(a->multi, CURLMOPT_TIMERDATA, a);
    /* Keep as many idle connections as calls may run at once. */
    curl_multi_setopt(a->multi, CURLMOPT_MAXCONNECTS, max_connections);
    return a;
}

/* ---- easy handles, reused across calls ---- */

static CURL *easy_take(async_state *a)
{
    if (a->idle_count)
        return a->idle_easy[--a->idle_count];
    return curl_easy_init();
}

static void easy_give(async_state *a, CURL *easy)
{
    size_t max = (size_t)a->max_connections;
    if (a->idle_count == a->idle_cap && a->idle_cap < max) {
        size_t cap = a->idle_cap ? a->idle_cap * 2 : 8;
        if (cap > max)
            cap = max;
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
        void *result = request_take_result(r); /* the callback owns it now */
        switch (r->kind) {
        case RESULT_HOST:
            res.host = result;
            break;
        case RESULT_LIST:
            res.list = result;
            break;
        case RESULT_DOCTOR:
            res.doctor = result;
            break;
        case RESULT_PROXY:
        case RESULT_PROXY_HOST:
            res.proxy = result;
            break;
        case RESULT_NONE:
        case RESULT_HEALTH:
            break;
        }
    }
    call->state = CALL_FIRING;
    async_state *a = call->async;
    a->dispatching++;
    call->cb(call, &res, call->userdata);
    a->dispatching--;
    request_free(r);
    if (call->keep) {
        call->keep->free_ctx(call->keep->ctx);
        free(call->keep);
    }
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
static void fail_later(async_state *a, lb_call *call, lb_code code, const char *why)
{
    call->req->code = error_set(&call->req->error, code, 0, "%s", why);
    call->state = CALL_FAILED;
    list_push(&a->failed, call);
    arm(a);
}

/* ---- keepers ---- */

static void sleep_due_update(async_state *a)
{
    a->sleep_due = -1.0;
    for (lb_call *c = a->sleeping.head; c; c = c->next)
        if (a->sleep_due < 0 || c->keep->wake < a->sleep_due)
            a->sleep_due = c->keep->wake;
}

/* Puts a keeper to sleep until wake, dropping its last result. */
static void keeper_sleep(async_state *a, lb_call *call, double wake)
{
    void *result = request_take_result(call->req);
    if (result && call->req->kind == RESULT_HOST)
        lb_host_free(result);
    call->keep->wake = wake;
    call->state = CALL_SLEEPING;
    list_push(&a->sleeping, call);
    if (a->sleep_due < 0 || wake < a->sleep_due)
        a->sleep_due = wake;
}

/* A keeper's renew ended: sleep until the next one, retry a transient
 * failure while its lease lasts, or end with the refusal. */
static void keeper_after(async_state *a, lb_call *call)
{
    keeper *k = call->keep;
    lb_code code = call->req->code;
    double now = now_s();
    if (code == LB_OK) {
        /* The lease counts from when the renew was built: time spent
         * queued or on the wire comes off the next interval. */
        k->deadline = k->built + k->ttl;
        k->backoff = k->ttl / 12 < 5.0 ? k->ttl / 12 : 5.0;
        double wake = k->built + k->interval;
        keeper_sleep(a, call, wake > now ? wake : now);
    } else if (lb_code_is_retryable(code) && now < k->deadline) {
        double wake = now + k->backoff;
        k->backoff = k->backoff * 2 < k->interval ? k->backoff * 2 : k->interval;
        keeper_sleep(a, call, wake < k->deadline ? wake : k->deadline);
    } else {
        fire(call);
    }
}

static void keeper_build_time(keeper *k, double now)
{
    k->built = now;
}

/* A renew that is still on the wire when the lease passes is too late to
 * matter: it may take until then, and no longer than the client allows. */
static void keeper_limit_time(const keeper *k, lb_request *r, double now)
{
    double left_ms = (k->deadline - now) * 1000.0;
    long limit = r->settings->timeout_ms;
    if (left_ms < (double)limit)
        r->timeout_ms = left_ms < 1000.0 ? 1000 : (long)left_ms;
}

/* Sleepers whose time came get their next request and go to the head of
 * the queue. */
static void keepers_wake(async_state *a, double now)
{
    if (a->sleep_due < 0 || now < a->sleep_due)
        return;
    lb_call *call = a->sleeping.head;
    while (call) {
        lb_call *next = call->next;
        if (call->keep->wake <= now) {
            list_remove(&a->sleeping, call);
            lb_error err;
            keeper_build_time(call->keep, now);
            lb_request *r = call->keep->make(call->keep->ctx, &err);
            if (!r) {
                call->req->code = err.code;
                call->req->error = err;
                call->state = CALL_FAILED;
                list_push(&a->failed, call);
            } else {
                request_free(call->req);
                call->req = r;
                r->driver = call;
                keeper_limit_time(call->keep, r, now);
                call->state = CALL_QUEUED;
                list_push_head(&a->queued, call);
            }
        }
        call = next;
    }
    sleep_due_update(a);
}

/* Moves queued calls onto the wire while slots are free. */
static void pump(async_state *a)
{
    while (!a->closing && a->queued.head && a->running.count < (size_t)a->max_connections) {
        lb_call *call = a->queued.head;
        list_remove(&a->queued, call);
        CURL *easy = easy_take(a);
        if (!easy) {
            fail_later(a, call, LB_ERR_NOMEM, "out of memory");
            continue;
        }
        curl_easy_reset(easy);
        if (engine_setup(call->req, easy) != LB_OK) {
            easy_give(a, easy);
            fail_later(a, call, call->req->error.code, call->req->error.message);
            continue;
        }
        if (curl_multi_add_handle(a->multi, easy) != CURLM_OK) {
            easy_give(a, easy);
            fail_later(a, call, LB_ERR_NOMEM, "libcurl refused the transfer");
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
    async_state *a = call->async;
    list_remove(&a->running, call);
    if (curl_multi_remove_handle(a->multi, call->easy) == CURLM_OK) {
        easy_give(a, call->easy);
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
static void dispatch(async_state *a)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(a->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        lb_request *r = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
        CURLcode result = msg->data.result;
        lb_call *call = r ? r->driver : NULL;
        if (!call)
            continue;
        engine_complete(r, call->easy, result);
        unwire(call);
        if (call->keep)
            keeper_after(a, call);
        else
            fire(call);
    }
    pump(a);
    while (a->failed.head) {
        lb_call *call = a->failed.head;
        list_remove(&a->failed, call);
        fire(call);
    }
    arm(a);
}

lb_call *async_start(async_state *a, lb_request *r, lb_callback cb, void *userdata,
                     lb_error *err)
{
    lb_call *call = NULL;
    if (!cb)
        error_set(err, LB_ERR_INVALID, 0, "callback is NULL");
    else if (a->closing)
        error_set(err, LB_ERR_INVALID, 0, "the client is closing");
    else if (!(call = calloc(1, sizeof *call)))
        error_set(err, LB_ERR_NOMEM, 0, "out of memory");
    if (!call) {
        request_free(r);
        return NULL;
    }
    call->async = a;
    call->req = r;
    call->cb = cb;
    call->userdata = userdata;
    call->state = CALL_QUEUED;
    r->driver = call;
    list_push(&a->queued, call);
    /* A free slot is taken now, but transfers only move when the loop
     * runs: the callback never fires before this returns. */
    pump(a);
    return call;
}

lb_code lb_call_cancel(lb_call *call)
{
    if (!call)
        return LB_ERR_INVALID;
    async_state *a = call->async;
    switch (call->state) {
    case CALL_FIRING: /* its callback is running: too late */
        return LB_ERR_INVALID;
    case CALL_QUEUED:
        list_remove(&a->queued, call);
        break;
    case CALL_FAILED:
        list_remove(&a->failed, call);
        break;
    case CALL_SLEEPING:
        list_remove(&a->sleeping, call);
        sleep_due_update(a);
        break;
    case CALL_RUNNING:
        unwire(call);
        break;
    }
    fire_cancelled(call, "cancelled");
    pump(a);
    arm(a);
    return LB_OK;
}

lb_call *async_keep(async_state *a, request_maker make, void *ctx, void (*free_ctx)(void *ctx),
                    double ttl_s, lb_callback cb, void *userdata, lb_error *err)
{
    keeper *k = calloc(1, sizeof *k);
    lb_request *r = k ? make(ctx, err) : NULL;
    lb_call *call = r ? async_start(a, r, cb, userdata, err) : NULL;
    if (!call) {
        if (!k)
            error_set(err, LB_ERR_NOMEM, 0, "out of memory");
        free(k);
        free_ctx(ctx);
        return NULL;
    }
    k->make = make;
    k->ctx = ctx;
    k->free_ctx = free_ctx;
    k->ttl = ttl_s;
    k->interval = ttl_s / 3;
    k->backoff = ttl_s / 12 < 5.0 ? ttl_s / 12 : 5.0;
    k->built = now_s();
    k->deadline = k->built + ttl_s;
    call->keep = k;
    if (call->state == CALL_QUEUED) { /* renews go first, this one too */
        list_remove(&a->queued, call);
        list_push_head(&a->queued, call);
    }
    return call;
}

int async_dispatching(const async_state *a)
{
    return a->dispatching > 0;
}

size_t async_pending(const async_state *a)
{
    return a->queued.count + a->running.count + a->failed.count + a->sleeping.count;
}

void async_fd_ready(async_state *a, int fd, int events)
{
    int mask = ((events & LB_WATCH_READ) ? CURL_CSELECT_IN : 0) |
               ((events & LB_WATCH_WRITE) ? CURL_CSELECT_OUT : 0);
    int running;
    curl_multi_socket_action(a->multi, (curl_socket_t)fd, mask, &running);
    dispatch(a);
}

void async_timer_fired(async_state *a)
{
    double now = now_s();
    /* The timer is shared: libcurl hears of it only when its own time has
     * come (with a millisecond of slack for loops that round), so that a
     * sleeper's wakeup never consumes libcurl's timer. */
    if (a->curl_due >= 0 && now + 0.001 >= a->curl_due) {
        a->curl_due = -1.0;
        int running;
        curl_multi_socket_action(a->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    }
    keepers_wake(a, now);
    dispatch(a);
}

lb_code async_set_hooks(async_state *a, const lb_loop_hooks *hooks, lb_error *err)
{
    /* Inside a callback the call that fires is in no list, so the count
     * alone would let the loop change under the one that runs it. */
    if (a->dispatching)
        return error_set(err, LB_ERR_INVALID, 0, "the loop cannot change inside a callback");
    if (async_pending(a))
        return error_set(err, LB_ERR_INVALID, 0, "calls are pending; set the loop before them");
    if (hooks) {
        a->hooks = *hooks;
        a->outside = 1;
    } else {
        use_own_loop(a);
    }
    return LB_OK;
}

/* How long the built-in loop may sleep in poll(2): until the timer, the
 * caller's end, or a second, whichever comes first (the bound makes a lost
 * wakeup cost a second, never a hang). */
static int own_wait_ms(const async_state *a, double now, double end)
{
    int wait_ms = lb_poll_set_timeout(&a->own, 1000);
    if (end >= 0) {
        double left = (end - now) * 1000.0 + 0.999;
        if (left < wait_ms)
            wait_ms = left < 0 ? 0 : (int)left;
    }
    return wait_ms;
}

lb_code async_run(async_state *a, double timeout_s, size_t *pending, lb_error *err)
{
    if (a->dispatching)
        return error_set(err, LB_ERR_INVALID, 0, "lb_client_run called from a callback");
    if (a->outside && async_pending(a))
        return error_set(err, LB_ERR_INVALID, 0, "an outside loop drives this client");
    double end = timeout_s < 0 ? -1.0 : now_s() + timeout_s;
    int passes = 0;
    struct pollfd *ready = NULL;
    size_t ready_cap = 0;
    lb_code rc = LB_OK;
    while (async_pending(a)) {
        double now = now_s();
        if (end >= 0 && now >= end && passes++ > 0) /* at least one pass, even for 0 */
            break;
        /* Poll a copy: callbacks change the set while we walk the results. */
        size_t n = a->own.count;
        if (ready_cap < n) {
            struct pollfd *p = realloc(ready, n * sizeof *p);
            if (!p) {
                rc = error_set(err, LB_ERR_NOMEM, 0, "out of memory");
                break;
            }
            ready = p;
            ready_cap = n;
        }
        if (n)
            memcpy(ready, a->own.fds, n * sizeof *ready);
        int got = poll(ready, (nfds_t)n, own_wait_ms(a, now, end));
        for (size_t i = 0; got > 0 && i < n; i++)
            if (ready[i].revents)
                async_fd_ready(a, ready[i].fd, lb_poll_set_events(ready[i].revents));
        if (lb_poll_set_timer_due(&a->own))
            async_timer_fired(a);
    }
    free(ready);
    if (pending)
        *pending = async_pending(a);
    return rc;
}

void async_free(async_state *a)
{
    if (!a)
        return;
    a->closing = 1;
    while (a->running.head) {
        lb_call *call = a->running.head;
        unwire(call);
        fire_cancelled(call, "the client was closed");
    }
    call_list *waiting[] = {&a->queued, &a->failed, &a->sleeping};
    for (size_t i = 0; i < 3; i++) {
        while (waiting[i]->head) {
            lb_call *call = waiting[i]->head;
            list_remove(waiting[i], call);
            fire_cancelled(call, "the client was closed");
        }
    }
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
}
