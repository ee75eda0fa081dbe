/* The `fake` provider: no processes. A create answers after --fake-delay
 * with 127.0.0.1:22, a well-formed known_hosts line for an ed25519-format
 * host key made of random bytes, and a private key in OpenSSH's format
 * (random bytes as well: nothing listens, so no key ever has to work).
 * Any image is accepted and sizing is echoed; the image FAIL_IMAGE makes
 * the create fail after the delay, so that clients can see a 502
 * PROVISIONING_FAILED, and a host of STUCK_IMAGE fails its first teardown
 * (so that the server's retry of a failed teardown can be seen). For load
 * tests and CI. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server.h"

#define DEFAULT_IMAGE "litterbox/fake:latest"
#define FAIL_IMAGE "litterbox/fake:fail"
#define STUCK_IMAGE "litterbox/fake:teardown-fails-once"

typedef struct fake_data {
    double delay_s;
    pthread_mutex_t mu;
    char (*failed_once)[37]; /* ids of stuck hosts whose teardown failed already */
    size_t nfailed;
} fake_data;

static void put_u32(sbuf *b, uint32_t v)
{
    unsigned char x[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 8), (unsigned char)v};
    sbuf_add(b, x, 4);
}

static void put_string(sbuf *b, const void *s, size_t len)
{
    put_u32(b, (uint32_t)len);
    sbuf_add(b, s, len);
}

/* The SSH wire form of an ed25519 public key. */
static void ed25519_blob(sbuf *b, const unsigned char pub[32])
{
    put_string(b, "ssh-ed25519", 11);
    put_string(b, pub, 32);
}

/* An unencrypted "openssh-key-v1" private key holding seed || pub. */
static char *openssh_private_key(const unsigned char seed[32], const unsigned char pub[32])
{
    sbuf blob = {0}, priv = {0}, out = {0};
    unsigned char check[4];
    if (random_bytes(check, sizeof check) != 0) return NULL;
    sbuf_add(&priv, check, 4);
    sbuf_add(&priv, check, 4);
    ed25519_blob(&priv, pub);
    unsigned char both[64];
    memcpy(both, seed, 32);
    memcpy(both + 32, pub, 32);
    put_string(&priv, both, 64);
    wipe(both, sizeof both);
    put_string(&priv, "litterbox-fake", 14);
    for (unsigned char pad = 1; priv.len % 8; pad++)
        sbuf_add(&priv, &pad, 1);

    sbuf_add(&blob, "openssh-key-v1", 15); /* with its NUL */
    put_string(&blob, "none", 4);
    put_string(&blob, "none", 4);
    put_string(&blob, "", 0);
    put_u32(&blob, 1);
    sbuf pubblob = {0};
    ed25519_blob(&pubblob, pub);
    put_string(&blob, pubblob.data, pubblob.len);
    sbuf_free(&pubblob);
    put_string(&blob, priv.data, priv.len);

    sbuf b64 = {0};
    base64_encode(&b64, (const unsigned char *)blob.data, blob.len);
    sbuf_adds(&out, "-----BEGIN OPENSSH PRIVATE KEY-----\n");
    for (size_t i = 0; i < b64.len; i += 70) {
        sbuf_add(&out, b64.data + i, b64.len - i < 70 ? b64.len - i : 70);
        sbuf_add(&out, "\n", 1);
    }
    sbuf_adds(&out, "-----END OPENSSH PRIVATE KEY-----\n");
    wipe(priv.data, priv.len);
    wipe(blob.data, blob.len);
    wipe(b64.data, b64.len);
    sbuf_free(&priv);
    sbuf_free(&blob);
    sbuf_free(&b64);
    return sbuf_take(&out);
}

static int fake_check(provider *p, const host_spec *spec, char *detail, size_t detail_size)
{
    return 0;
}

static void sleep_s(double s)
{
    if (s <= 0) return;
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static int fake_create(provider *p, const host_spec *spec, host_info *out, char *why,
                       size_t why_size)
{
    fake_data *d = p->data;
    memset(out, 0, sizeof *out);
    sleep_s(d->delay_s);
    if (spec->image && strcmp(spec->image, FAIL_IMAGE) == 0) {
        snprintf(why, why_size, "the fake provider fails the image %s, as asked", FAIL_IMAGE);
        return -1;
    }

    unsigned char host_pub[32], seed[32], user_pub[32];
    if (random_bytes(host_pub, 32) || random_bytes(seed, 32) || random_bytes(user_pub, 32)) {
        snprintf(why, why_size, "no random bytes for the host's keys");
        return -1;
    }
    sbuf kh = {0}, blob = {0};
    ed25519_blob(&blob, host_pub);
    sbuf_adds(&kh, "127.0.0.1 ssh-ed25519 ");
    base64_encode(&kh, (const unsigned char *)blob.data, blob.len);
    sbuf_free(&blob);

    out->image = xstrdup(spec->image ? spec->image : DEFAULT_IMAGE);
    out->ssh_host = xstrdup("127.0.0.1");
    out->ssh_port = 22;
    out->ssh_username = xstrdup("sandbox");
    out->known_hosts = sbuf_take(&kh);
    out->private_key = openssh_private_key(seed, user_pub);
    wipe(seed, sizeof seed);
    out->instance_type = xstrdup(spec->instance_type);
    out->disk_gb = spec->disk_gb;
    /* The state says whether the host's first teardown is to fail. */
    out->state =
        xstrdup(spec->image && strcmp(spec->image, STUCK_IMAGE) == 0 ? "fake-stuck" : "fake");
    if (!out->known_hosts || !out->private_key) {
        host_info_free(out);
        snprintf(why, why_size, "out of memory");
        return -1;
    }
    return 0;
}

static int fake_destroy(provider *p, const char *id, const char *state, char *why, size_t why_size)
{
    if (!state || strcmp(state, "fake-stuck") != 0) return 0;
    fake_data *d = p->data;
    int fail = 1;
    pthread_mutex_lock(&d->mu);
    for (size_t i = 0; i < d->nfailed && fail; i++)
        fail = strcmp(d->failed_once[i], id) != 0;
    if (fail) {
        char(*grown)[37] = realloc(d->failed_once, (d->nfailed + 1) * sizeof *grown);
        if (grown) {
            d->failed_once = grown;
            snprintf(d->failed_once[d->nfailed++], 37, "%s", id);
        }
    }
    pthread_mutex_unlock(&d->mu);
    if (fail)
        snprintf(why, why_size, "the fake provider fails this host's first teardown, as asked");
    return fail ? -1 : 0;
}

static int fake_alive(provider *p, const char *id, const char *state, char *why, size_t why_size)
{
    return 1;
}

static void fake_doctor(provider *p, provider_check *out)
{
    fake_data *d = p->data;
    snprintf(out->status, sizeof out->status, "ok");
    snprintf(out->detail, sizeof out->detail,
             "no processes; creates answer after %g s; default image %s (%s fails, %s fails its "
             "first teardown)",
             d->delay_s, DEFAULT_IMAGE, FAIL_IMAGE, STUCK_IMAGE);
    out->hint[0] = '\0';
    out->latency_ms = 0;
}

static void fake_close(provider *p)
{
    fake_data *d = p->data;
    pthread_mutex_destroy(&d->mu);
    free(d->failed_once);
    free(d);
    free(p);
}

provider *provider_fake_new(const provider_config *cfg, char *why, size_t why_size)
{
    provider *p = calloc(1, sizeof *p);
    fake_data *d = calloc(1, sizeof *d);
    if (!p || !d) {
        free(p);
        free(d);
        snprintf(why, why_size, "out of memory");
        return NULL;
    }
    d->delay_s = cfg->fake_delay_s;
    pthread_mutex_init(&d->mu, NULL);
    p->name = "fake";
    p->check = fake_check;
    p->create = fake_create;
    p->destroy = fake_destroy;
    p->alive = fake_alive;
    p->doctor = fake_doctor;
    p->close = fake_close;
    p->data = d;
    return p;
}
