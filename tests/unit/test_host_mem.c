/* Where decoded hosts live (src/decode/host_mem.c): the hosts of a list
 * share slabs, yet each is freed alone, in any order, from any thread, and a
 * slab goes with its last host. Run under ASan, valgrind (no leaks, no use
 * after free) and TSan (the threads case). */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "decode_support.h"

#define ID_FMT "00000000-0000-4000-8000-%012zu"

static char *xmalloc(size_t n)
{
    char *p = malloc(n);
    if (!p)
        abort();
    return p;
}

/* A list of n records; record `big_at` (if < n) has a known_hosts of
 * big_len bytes. */
static char *make_list(size_t n, size_t big_at, size_t big_len, size_t *len_out)
{
    size_t cap = n * 400 + big_len + 64, len = 0;
    char *b = xmalloc(cap);
    b[len++] = '[';
    for (size_t i = 0; i < n; i++) {
        len += (size_t)snprintf(b + len, cap - len,
                                "%s{\"id\":\"" ID_FMT "\",\"name\":\"sb-%zu\",\"status\":\"active\","
                                "\"external_ssh_host\":\"10.0.0.1\",\"external_ssh_port\":22,"
                                "\"known_hosts\":\"",
                                i ? "," : "", i, i);
        if (i == big_at) {
            memset(b + len, 'k', big_len);
            len += big_len;
        } else {
            len += (size_t)snprintf(b + len, cap - len, "10.0.0.1 ssh-ed25519 AAAA%zu\\n", i);
        }
        len += (size_t)snprintf(b + len, cap - len, "\",\"disk_gb\":%zu}", i);
    }
    b[len++] = ']';
    *len_out = len;
    return b;
}

/* Decodes in 64 KiB pieces, as the network would hand them over. */
static lb_host_list *decode(const char *body, size_t len, uint64_t hint)
{
    host_decoder *d = host_decoder_new(1);
    if (!CHECK(d != NULL))
        return NULL;
    if (hint)
        host_decoder_expect(d, hint);
    lb_error err;
    lb_code rc = LB_OK;
    for (size_t off = 0; rc == LB_OK && off < len; off += 65536)
        rc = host_decoder_feed(d, body + off, len - off < 65536 ? len - off : 65536, &err);
    lb_host_list *l = NULL;
    if (rc == LB_OK)
        rc = host_decoder_finish(d, NULL, &l, &err);
    if (rc != LB_OK)
        CHECK_FAIL("decode: %s", err.message);
    host_decoder_free(d);
    return l;
}

static int host_is(const lb_host *h, size_t i)
{
    char id[64], name[32];
    snprintf(id, sizeof id, ID_FMT, i);
    snprintf(name, sizeof name, "sb-%zu", i);
    return strcmp(h->id, id) == 0 && strcmp(h->name, name) == 0 && h->ssh_port == 22 &&
           h->disk_gb == (long long)i && strcmp(h->ssh_host, "10.0.0.1") == 0;
}

/* Hosts taken out of a list outlive it: lb_host_list_free frees the rest,
 * and the slabs they share stay until the last of them is freed. */
static void test_hosts_outlive_their_list(void)
{
    check_set_case("hosts kept after lb_host_list_free");
    size_t n = 6000, len;
    char *body = make_list(n, (size_t)-1, 0, &len);
    lb_host_list *l = decode(body, len, 0);
    free(body);
    if (!l || !CHECK_EQ_INT(l->count, n)) {
        lb_host_list_free(l);
        return;
    }
    size_t kept_n = 0;
    lb_host **kept = calloc(n, sizeof *kept);
    if (!kept)
        abort();
    for (size_t i = 0; i < n; i += 7) {
        kept[i] = l->hosts[i];
        l->hosts[i] = NULL; /* lb_host_list_free skips NULL */
        kept_n++;
    }
    lb_host_list_free(l);
    size_t good = 0;
    for (size_t i = 0; i < n; i++)
        if (kept[i])
            good += host_is(kept[i], i);
    CHECK_EQ_INT(good, kept_n);
    /* Free from the back, so that the first slab goes last. */
    for (size_t i = n; i-- > 0;)
        lb_host_free(kept[i]);
    free(kept);
}

struct freer {
    lb_host **hosts;
    size_t from, to, stride, bad;
};

static void *free_some(void *arg)
{
    struct freer *f = arg;
    for (size_t i = f->from; i < f->to; i += f->stride) {
        if (!host_is(f->hosts[i], i))
            f->bad++;
        lb_host_free(f->hosts[i]);
    }
    return NULL;
}

/* Four threads free interleaved hosts of one list at once: every slab's
 * count is dropped from several threads. */
static void test_freed_from_threads(void)
{
    check_set_case("hosts freed from four threads");
    size_t n = 20000, len;
    char *body = make_list(n, (size_t)-1, 0, &len);
    lb_host_list *l = decode(body, len, len);
    free(body);
    if (!l || !CHECK_EQ_INT(l->count, n)) {
        lb_host_list_free(l);
        return;
    }
    enum { THREADS = 4 };
    pthread_t t[THREADS];
    struct freer f[THREADS];
    int started[THREADS] = {0};
    for (size_t k = 0; k < THREADS; k++) {
        f[k] = (struct freer){l->hosts, k, n, THREADS, 0};
        started[k] = pthread_create(&t[k], NULL, free_some, &f[k]) == 0;
        if (!started[k])
            free_some(&f[k]);
    }
    size_t bad = 0;
    for (size_t k = 0; k < THREADS; k++) {
        if (started[k])
            pthread_join(t[k], NULL);
        bad += f[k].bad;
    }
    CHECK_EQ_INT(bad, 0);
    free(l->hosts);
    free(l);
}

/* What the server says of the length is a hint only: too large, too small,
 * or a record larger than any slab, the hosts come out the same. */
static void test_length_hints(void)
{
    static const struct {
        const char *name;
        uint64_t hint;
    } hints[] = {
        {"no hint", 0},
        {"one byte", 1},
        {"the real length", 0 /* filled below */},
        {"far more than the body", UINT64_MAX},
    };
    size_t n = 300, big = (size_t)5 << 20, len; /* one host over 4 MiB: a huge slab of its own */
    char *body = make_list(n, 150, big, &len);
    for (size_t k = 0; k < sizeof hints / sizeof hints[0]; k++) {
        check_set_case("length hint: %s", hints[k].name);
        uint64_t hint = k == 2 ? (uint64_t)len : hints[k].hint;
        lb_host_list *l = decode(body, len, hint);
        if (l && CHECK_EQ_INT(l->count, n)) {
            size_t good = 0;
            for (size_t i = 0; i < n; i++)
                good += host_is(l->hosts[i], i);
            CHECK_EQ_INT(good, n);
            CHECK_EQ_INT(strlen(l->hosts[150]->known_hosts), big);
            CHECK_EQ_STR(l->hosts[151]->known_hosts, "10.0.0.1 ssh-ed25519 AAAA151\n");
        }
        lb_host_list_free(l);
    }
    free(body);
}

/* A list larger than the largest slab (8 MiB): several slabs of huge-page
 * size, each with data starting on a 2 MiB boundary. ASan and valgrind see
 * any host written past its slab. */
static void test_larger_than_a_slab(void)
{
    /* Records with an 8 KiB known_hosts each: 12 MB in all. */
    size_t n = 1500, len = 0, cap = n * (8192 + 400) + 64;
    char *body = xmalloc(cap);
    body[len++] = '[';
    for (size_t i = 0; i < n; i++) {
        len += (size_t)snprintf(body + len, cap - len,
                                "%s{\"id\":\"" ID_FMT "\",\"name\":\"sb-%zu\",\"status\":\"active\","
                                "\"external_ssh_host\":\"10.0.0.1\",\"external_ssh_port\":22,"
                                "\"disk_gb\":%zu,\"known_hosts\":\"",
                                i ? "," : "", i, i, i);
        memset(body + len, 'a' + (int)(i % 26), 8192);
        len += 8192;
        len += (size_t)snprintf(body + len, cap - len, "\"}");
    }
    body[len++] = ']';
    for (int hinted = 0; hinted < 2; hinted++) {
        check_set_case("12 MB list, %s", hinted ? "length known" : "length unknown");
        lb_host_list *l = decode(body, len, hinted ? len : 0);
        if (l && CHECK_EQ_INT(l->count, n)) {
            size_t good = 0;
            for (size_t i = 0; i < n; i++)
                good += host_is(l->hosts[i], i) && strlen(l->hosts[i]->known_hosts) == 8192 &&
                        l->hosts[i]->known_hosts[8191] == 'a' + (int)(i % 26);
            CHECK_EQ_INT(good, n);
        }
        lb_host_list_free(l);
    }
    free(body);
}

/* lb_host_free wipes the private key of a host that lives in a slab. The
 * slab outlives the freed host here (its neighbour is kept), so its bytes
 * can be looked at: white-box, on purpose. */
static void test_private_key_wiped(void)
{
    check_set_case("private key of a list host wiped");
    const char body[] =
        "[{\"id\":\"h1\",\"status\":\"active\",\"ssh_host\":\"h\",\"ssh_port\":22,"
        "\"private_key\":\"-----BEGIN KEY-----\\nsecret-one\\n\"},"
        "{\"id\":\"h2\",\"status\":\"active\",\"ssh_host\":\"h\",\"ssh_port\":22}]";
    lb_host_list *l = decode(body, sizeof body - 1, 0);
    if (!l || !CHECK_EQ_INT(l->count, 2)) {
        lb_host_list_free(l);
        return;
    }
    const char *key = l->hosts[0]->private_key;
    size_t key_len = strlen(key);
    CHECK_EQ_STR(key, "-----BEGIN KEY-----\nsecret-one\n");
    lb_host *kept = l->hosts[1];
    l->hosts[1] = NULL;
    lb_host_list_free(l); /* frees h1; the slab lives on for h2 */
    size_t nonzero = 0;
    for (size_t i = 0; i < key_len; i++)
        nonzero += key[i] != 0;
    CHECK_EQ_INT(nonzero, 0);
    lb_host_free(kept);
}

/* A host that is not from a list is a block of its own. */
static void test_single_host(void)
{
    check_set_case("a single host");
    const char body[] = "{\"id\":\"h1\",\"status\":\"active\",\"ssh_host\":\"h\",\"ssh_port\":22,"
                        "\"private_key\":\"-----BEGIN KEY-----\\nabc\\n\"}";
    lb_host *h = NULL;
    lb_error err;
    if (CHECK_EQ_INT(host_decode(body, sizeof body - 1, &h, &err), LB_OK))
        CHECK_EQ_STR(h->private_key, "-----BEGIN KEY-----\nabc\n");
    lb_host_free(h);
    lb_host_free(NULL);
    lb_host_list_free(NULL);
}

int main(void)
{
    test_hosts_outlive_their_list();
    test_freed_from_threads();
    test_length_hints();
    test_larger_than_a_slab();
    test_private_key_wiped();
    test_single_host();
    check_set_case("%s", "");
    return check_summary();
}
