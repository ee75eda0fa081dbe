/* Sending a call and deciding its outcome. One engine for every call: the
 * easy handle is configured here, the body is decoded here as it arrives,
 * and engine_complete turns what came back into a result or an lb_error.
 * Whoever drives the handle (blocking.c on a lane of its own, async.c on
 * the client's shared multi handle) calls these two and nothing else. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int is_2xx(long status)
{
    return status >= 200 && status < 300;
}

static int streams(const lb_request *r)
{
    return r->kind == RESULT_HOST || r->kind == RESULT_LIST;
}

static size_t stop_transfer(lb_request *r, lb_code code, const char *why)
{
    r->early = code;
    error_set(&r->early_err, code, (int)r->status, "%s", why);
    return 0; /* a short count makes libcurl abort with CURLE_WRITE_ERROR */
}

/* Bytes of an error body kept for the classifier: the message needs the
 * detail or a 200-byte quote, never megabytes. */
#define ERROR_BODY_MAX (64 * 1024)
#define LIST_RECV_BUFFER (256L * 1024) /* libcurl accepts up to 512 KiB since 7.53 */

/* Body bytes as they arrive: a host or a list is decoded on the spot when
 * the status says success; other successes are kept for their decoder
 * (within max_response_bytes); an error body is kept up to ERROR_BODY_MAX
 * for the classifier, which judges by the status whatever the body. */
static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
    lb_request *r = userdata;
    size_t n = size * nmemb;
    if (r->status == 0)
        curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->status);
    r->received += n;
    if (!is_2xx(r->status)) {
        if (r->response.len < ERROR_BODY_MAX) {
            size_t room = ERROR_BODY_MAX - r->response.len;
            if (buf_append(&r->response, data, n < room ? n : room) != 0)
                return stop_transfer(r, LB_ERR_NOMEM, "out of memory");
        }
        if (r->received > r->settings->max_response_bytes) {
            r->error_body_cut = 1; /* enough read: classify what we have */
            return 0;
        }
        return n;
    }
    if (r->received > r->settings->max_response_bytes) {
        char why[96];
        snprintf(why, sizeof why, "response body exceeds max_response_bytes (%zu)",
                 r->settings->max_response_bytes);
        return stop_transfer(r, LB_ERR_RESPONSE, why);
    }
    if (streams(r)) {
        if (!r->decoder) {
            if (!(r->decoder = host_decoder_new(r->kind == RESULT_LIST)))
                return stop_transfer(r, LB_ERR_NOMEM, "out of memory");
            curl_off_t length = -1; /* -1 when the server did not say */
            if (curl_easy_getinfo(r->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length) ==
                    CURLE_OK &&
                length > 0)
                host_decoder_expect(r->decoder, (uint64_t)length);
        }
        if (host_decoder_feed(r->decoder, data, n, &r->early_err) != LB_OK) {
            r->early = r->early_err.code;
            r->early_err.http_status = (int)r->status;
            return 0; /* nothing after this can make the body valid */
        }
        return n;
    }
    if (r->kind == RESULT_NONE)
        return n; /* a body nobody reads */
    if (buf_append(&r->response, data, n) != 0)
        return stop_transfer(r, LB_ERR_NOMEM, "out of memory");
    return n;
}

lb_code engine_setup(lb_request *r, CURL *easy)
{
    const lb_settings *c = r->settings;
    r->easy = easy;
    r->status = 0;
    r->received = 0;
    r->early = LB_OK;
    r->error_body_cut = 0;
    r->curl_error[0] = '\0';
    r->started = now_s();
    CURLcode rc = CURLE_OK;
#define SET(opt, val)                                                                             \
    do {                                                                                          \
        if (rc == CURLE_OK)                                                                       \
            rc = curl_easy_setopt(easy, opt, val);                                                \
    } while (0)
    SET(CURLOPT_URL, r->url);
    SET(CURLOPT_HTTPHEADER, r->headers);
    SET(CURLOPT_USERAGENT, c->user_agent);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_TIMEOUT_MS, r->timeout_ms ? r->timeout_ms : c->timeout_ms);
    SET(CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
    SET(CURLOPT_SSL_VERIFYPEER, 1L);
    SET(CURLOPT_SSL_VERIFYHOST, 2L);
    if (c->ca_file) {
        SET(CURLOPT_CAINFO, c->ca_file);
        SET(CURLOPT_PROXY_CAINFO, c->ca_file); /* an https:// proxy too */
    }
    if (c->proxy) {
        /* Given explicitly, it serves every request (no_proxy is the
         * environment's business, and "" means no proxy at all). */
        SET(CURLOPT_PROXY, c->proxy);
        SET(CURLOPT_NOPROXY, "");
    }
    SET(CURLOPT_ERRORBUFFER, r->curl_error);
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, r);
    /* A list may be tens of megabytes: read it in large pieces. With
     * libcurl's 16 KiB default, the kernel's receive work and the decode
     * take turns in small steps; 256 KiB cut lb_list_hosts of 100,000 hosts
     * by a fifth to a third on loopback (README, T2), and larger pieces no
     * longer helped once the records were cheap. Other calls keep the
     * default, so that thousands in flight stay small. */
    if (r->kind == RESULT_LIST)
        SET(CURLOPT_BUFFERSIZE, LIST_RECV_BUFFER);
    SET(CURLOPT_PRIVATE, r);
    if (strcmp(r->method, "GET") == 0) {
        SET(CURLOPT_HTTPGET, 1L);
    } else if (strcmp(r->method, "POST") == 0) {
        SET(CURLOPT_POST, 1L);
        SET(CURLOPT_POSTFIELDS, r->has_body ? r->body.data : "");
        SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(r->has_body ? r->body.len : 0));
    } else {
        SET(CURLOPT_HTTPGET, 1L);
        SET(CURLOPT_CUSTOMREQUEST, r->method);
    }
#undef SET
    if (rc != CURLE_OK)
        return error_set(&r->error, rc == CURLE_OUT_OF_MEMORY ? LB_ERR_NOMEM : LB_ERR_INVALID, 0,
                         "libcurl refused an option: %s", curl_easy_strerror(rc));
    return LB_OK;
}

/* A transfer that ended without a usable response: LB_ERR_UNAVAILABLE with
 * libcurl's reason, and for a timeout the limit that passed. */
static void transport_failed(lb_request *r, CURLcode transport)
{
    const char *why = r->curl_error[0] ? r->curl_error : curl_easy_strerror(transport);
    lb_code code = transport == CURLE_OUT_OF_MEMORY ? LB_ERR_NOMEM : LB_ERR_UNAVAILABLE;
    if (transport == CURLE_OPERATION_TIMEDOUT) {
        /* Which limit passed is told by the time taken: the connect limit
         * only ends a call sooner than the whole-request limit would. */
        double elapsed_ms = (now_s() - r->started) * 1000.0;
        long limit = r->timeout_ms ? r->timeout_ms : r->settings->timeout_ms;
        int connect = r->settings->connect_timeout_ms < limit && elapsed_ms < (double)limit - 1.0;
        if (connect)
            error_set(&r->error, code, 0, "connecting timed out after %g s (connect_timeout_s): %s",
                      (double)r->settings->connect_timeout_ms / 1000.0, why);
        else
            error_set(&r->error, code, 0, "request timed out after %g s (%s): %s",
                      (double)limit / 1000.0,
                      r->timeout_ms ? "the rest of the lease it renews" : "timeout_s", why);
        return;
    }
    error_set(&r->error, code, 0, "could not reach the service: %s", why);
}

/* A 2xx answer: decode what the call expects. */
static void decode_success(lb_request *r)
{
    const char *body = r->response.data ? r->response.data : "";
    size_t len = r->response.len;
    lb_code rc = LB_OK;
    switch (r->kind) {
    case RESULT_NONE:
        break;
    case RESULT_HOST:
    case RESULT_LIST:
        if (!r->decoder && !(r->decoder = host_decoder_new(r->kind == RESULT_LIST))) {
            rc = error_set(&r->error, LB_ERR_NOMEM, 0, "out of memory");
            break;
        }
        rc = host_decoder_finish(r->decoder, (lb_host **)(r->kind == RESULT_HOST ? &r->result : NULL),
                                 (lb_host_list **)(r->kind == RESULT_LIST ? &r->result : NULL),
                                 &r->error);
        break;
    case RESULT_DOCTOR:
        rc = doctor_decode(body, len, (lb_doctor_report **)&r->result, &r->error);
        break;
    case RESULT_PROXY:
    case RESULT_PROXY_HOST:
        rc = proxy_decode(body, len, r->kind == RESULT_PROXY_HOST, (lb_proxy **)&r->result,
                          &r->error);
        break;
    case RESULT_HEALTH:
        rc = health_decode(body, len, &r->error);
        break;
    }
    if (rc != LB_OK)
        r->error.http_status = (int)r->status;
    r->code = rc;
}

/* The debug log line: method, URL, status, duration, header names; the
 * token only as ***, never a header value or a body. */
static void log_call(const lb_request *r)
{
    const lb_settings *c = r->settings;
    if (!c->log)
        return;
    lb_buf line = {0};
    char head[64];
    snprintf(head, sizeof head, " -> %ld in %.1f ms; headers:", r->status,
             (now_s() - r->started) * 1000.0);
    int bad = buf_append_str(&line, r->method) || buf_append_str(&line, " ") ||
              buf_append_str(&line, r->url) || buf_append_str(&line, head);
    for (const struct curl_slist *h = r->headers; h && !bad; h = h->next) {
        size_t name_len = strcspn(h->data, ":");
        if (h->data[name_len + 1] == '\0')
            continue; /* a header removed, not sent */
        bad = buf_append_str(&line, " ") || buf_append(&line, h->data, name_len);
        if (!bad && strncmp(h->data, "Authorization:", 14) == 0)
            bad = buf_append_str(&line, ": Bearer ***");
    }
    if (!bad)
        bad = buf_append_str(&line, " User-Agent");
    if (!bad && r->code != LB_OK)
        bad = buf_append_str(&line, "; error: ") || buf_append_str(&line, lb_code_name(r->code));
    if (!bad)
        c->log(c->log_data, line.data);
    buf_free(&line);
}

void engine_complete(lb_request *r, CURL *easy, CURLcode transport)
{
    if (r->status == 0)
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &r->status);
    if (r->early != LB_OK) {
        r->code = r->early;
        r->error = r->early_err;
    } else if (transport != CURLE_OK && !r->error_body_cut) {
        transport_failed(r, transport);
        r->code = r->error.code;
    } else if (is_2xx(r->status)) {
        decode_success(r);
    } else {
        const char *body = r->response.data ? r->response.data : "";
        r->code = error_from_response((int)r->status, body, r->response.len, r->settings->token,
                                      &r->error);
    }
    r->easy = NULL;
    log_call(r);
}
