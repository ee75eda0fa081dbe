/* Hosts, leases and idempotency keys; and the one place a host's status
 * changes.
 *
 * SQLite (WAL) is the record that survives a restart; a copy of every host
 * is kept in memory so that a GET never touches the database and reads
 * scale across the HTTP threads. One mutex guards both: every change is
 * written to SQLite and applied in memory under it, so the two never
 * disagree.
 *
 * The lifecycle is a small state machine, and every transition is one
 * function below that checks the current status and changes it under the
 * lock: provisioning -> active | error (store_host_activate, store_host_fail),
 * active | error -> deleting (store_host_claim: the only way to a provider's
 * destroy), deleting -> gone (store_host_gone) or -> error when teardown
 * failed (store_host_fail, with the lease at now so the reaper retries).
 * Whoever wins the claim tears the host down; delete, the reaper and a
 * renew that come after it see `deleting` and get their 409. Idempotency keys whose create is still
 * running exist only in memory (a waiter sleeps on the condition variable); finished ones are
 * persisted with their TTL and, until it passes, the create's private key
 * (secure_delete overwrites it in the file when it is wiped). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "server.h"

#define BUCKETS 1024

typedef struct idem_entry {
    char *key;            /* "<token scope>/<Idempotency-Key>" */
    char fingerprint[17]; /* of the create's request */
    int pending;
    char host_id[37];
    char *private_key;
    int64_t expires_ms;
    struct idem_entry *next;
} idem_entry;

static struct {
    pthread_mutex_t mu;
    pthread_cond_t idem_changed;
    sqlite3 *db;
    host_rec *buckets[BUCKETS];
    size_t count;
    int64_t next_seq;
    idem_entry *idem;
    unsigned char scope_salt[16];
} S = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, {0}, 0, 1, NULL, {0}};

static unsigned bucket_of(const char *id)
{
    unsigned h = 2166136261u;
    for (; *id; id++)
        h = (h ^ (unsigned char)*id) * 16777619u;
    return h % BUCKETS;
}

static host_rec *find_locked(const char *id)
{
    for (host_rec *h = S.buckets[bucket_of(id)]; h; h = h->next)
        if (strcmp(h->id, id) == 0) return h;
    return NULL;
}

void host_rec_clear(host_rec *h)
{
    free(h->image);
    free(h->ssh_host);
    free(h->ssh_username);
    free(h->known_hosts);
    free(h->instance_type);
    free(h->last_error);
    free(h->state);
    h->image = h->ssh_host = h->ssh_username = h->known_hosts = NULL;
    h->instance_type = h->last_error = h->state = NULL;
}

static const char *const status_names[] = {"provisioning", "active", "error", "deleting"};

const char *host_status_name(enum host_status st)
{
    return status_names[st];
}

/* The statuses of the database, including the service's names of the
 * steps of provisioning and bootstrapping that older records may hold. */
static enum host_status status_from_text(const char *s)
{
    if (strcmp(s, "active") == 0 || strcmp(s, "bootstrapping") == 0) return HOST_ACTIVE;
    if (strcmp(s, "error") == 0) return HOST_ERROR;
    if (strcmp(s, "deleting") == 0) return HOST_DELETING;
    return HOST_PROVISIONING;
}

void host_rec_copy(host_rec *dst, const host_rec *src)
{
    *dst = *src;
    dst->next = NULL;
    dst->image = xstrdup(src->image);
    dst->ssh_host = xstrdup(src->ssh_host);
    dst->ssh_username = xstrdup(src->ssh_username);
    dst->known_hosts = xstrdup(src->known_hosts);
    dst->instance_type = xstrdup(src->instance_type);
    dst->last_error = xstrdup(src->last_error);
    dst->state = xstrdup(src->state);
}

/* ---- SQLite ----------------------------------------------------------- */

static const char schema[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=NORMAL;"
    "PRAGMA secure_delete=ON;"
    "PRAGMA busy_timeout=5000;"
    "CREATE TABLE IF NOT EXISTS hosts ("
    " id TEXT PRIMARY KEY, seq INTEGER NOT NULL, name TEXT NOT NULL, status TEXT NOT NULL,"
    " provider TEXT NOT NULL, image TEXT, ssh_host TEXT, ssh_port INTEGER NOT NULL,"
    " ssh_username TEXT, known_hosts TEXT, instance_type TEXT, disk_gb INTEGER,"
    " last_error TEXT, state TEXT, created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL,"
    " activated_ms INTEGER, expires_ms INTEGER);"
    "CREATE TABLE IF NOT EXISTS idempotency ("
    " key TEXT PRIMARY KEY, host_id TEXT NOT NULL, private_key TEXT,"
    " expires_ms INTEGER NOT NULL, fingerprint TEXT);"
    "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);";

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

static void bind_ms(sqlite3_stmt *st, int i, int64_t ms)
{
    if (ms)
        sqlite3_bind_int64(st, i, ms);
    else
        sqlite3_bind_null(st, i);
}

static int db_write_host(const host_rec *h)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(S.db,
                           "INSERT OR REPLACE INTO hosts VALUES "
                           "(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18)",
                           -1, &st, NULL) != SQLITE_OK)
        return -1;
    bind_text(st, 1, h->id);
    sqlite3_bind_int64(st, 2, h->seq);
    bind_text(st, 3, h->name);
    bind_text(st, 4, host_status_name(h->status));
    bind_text(st, 5, h->provider);
    bind_text(st, 6, h->image);
    bind_text(st, 7, h->ssh_host);
    sqlite3_bind_int(st, 8, h->ssh_port);
    bind_text(st, 9, h->ssh_username);
    bind_text(st, 10, h->known_hosts);
    bind_text(st, 11, h->instance_type);
    sqlite3_bind_int64(st, 12, h->disk_gb);
    bind_text(st, 13, h->last_error);
    bind_text(st, 14, h->state);
    sqlite3_bind_int64(st, 15, h->created_ms);
    sqlite3_bind_int64(st, 16, h->updated_ms);
    bind_ms(st, 17, h->activated_ms);
    bind_ms(st, 18, h->expires_ms);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        fprintf(stderr, "litterbox-server: database: %s\n", sqlite3_errmsg(S.db));
        return -1;
    }
    return 0;
}

static int db_exec(const char *sql, const char *arg)
{
    sqlite3_stmt *st;
    if (!S.db || sqlite3_prepare_v2(S.db, sql, -1, &st, NULL) != SQLITE_OK) return -1;
    if (arg) sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        fprintf(stderr, "litterbox-server: database: %s\n", sqlite3_errmsg(S.db));
        return -1;
    }
    return 0;
}

static char *col_text(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? xstrdup((const char *)t) : NULL;
}

static void copy_col(char *dst, size_t size, sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    snprintf(dst, size, "%s", t ? (const char *)t : "");
}

static void link_locked(host_rec *h)
{
    unsigned b = bucket_of(h->id);
    h->next = S.buckets[b];
    S.buckets[b] = h;
    S.count++;
    if (h->seq >= S.next_seq) S.next_seq = h->seq + 1;
}

static int load(char *why, size_t why_size)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(S.db,
                           "SELECT id,seq,name,status,provider,image,ssh_host,ssh_port,"
                           "ssh_username,known_hosts,instance_type,disk_gb,last_error,state,"
                           "created_ms,updated_ms,activated_ms,expires_ms FROM hosts",
                           -1, &st, NULL) != SQLITE_OK) {
        snprintf(why, why_size, "%s", sqlite3_errmsg(S.db));
        return -1;
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
        host_rec *h = xcalloc(1, sizeof *h);
        copy_col(h->id, sizeof h->id, st, 0);
        h->seq = sqlite3_column_int64(st, 1);
        copy_col(h->name, sizeof h->name, st, 2);
        char status[24];
        copy_col(status, sizeof status, st, 3);
        h->status = status_from_text(status);
        copy_col(h->provider, sizeof h->provider, st, 4);
        h->image = col_text(st, 5);
        h->ssh_host = col_text(st, 6);
        h->ssh_port = sqlite3_column_int(st, 7);
        h->ssh_username = col_text(st, 8);
        h->known_hosts = col_text(st, 9);
        h->instance_type = col_text(st, 10);
        h->disk_gb = sqlite3_column_int64(st, 11);
        h->last_error = col_text(st, 12);
        h->state = col_text(st, 13);
        h->created_ms = sqlite3_column_int64(st, 14);
        h->updated_ms = sqlite3_column_int64(st, 15);
        h->activated_ms = sqlite3_column_int64(st, 16);
        h->expires_ms = sqlite3_column_int64(st, 17);
        link_locked(h);
    }
    sqlite3_finalize(st);

    if (sqlite3_prepare_v2(S.db,
                           "SELECT key,host_id,private_key,expires_ms,fingerprint FROM idempotency",
                           -1, &st, NULL) != SQLITE_OK) {
        snprintf(why, why_size, "%s", sqlite3_errmsg(S.db));
        return -1;
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
        idem_entry *e = xcalloc(1, sizeof *e);
        e->key = col_text(st, 0);
        copy_col(e->host_id, sizeof e->host_id, st, 1);
        e->private_key = col_text(st, 2);
        e->expires_ms = sqlite3_column_int64(st, 3);
        copy_col(e->fingerprint, sizeof e->fingerprint, st, 4);
        e->next = S.idem;
        S.idem = e;
    }
    sqlite3_finalize(st);
    return 0;
}

static int load_salt(char *why, size_t why_size);

int store_open(const char *path, char *why, size_t why_size)
{
    int rc = sqlite3_open_v2(
        path, &S.db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL);
    if (rc != SQLITE_OK) {
        snprintf(why, why_size, "%s: %s", path, S.db ? sqlite3_errmsg(S.db) : "cannot open");
        sqlite3_close(S.db);
        S.db = NULL;
        return -1;
    }
    char *msg = NULL;
    if (sqlite3_exec(S.db, schema, NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(why, why_size, "%s: %s", path, msg ? msg : sqlite3_errmsg(S.db));
        sqlite3_free(msg);
        sqlite3_close(S.db);
        S.db = NULL;
        return -1;
    }
    /* A database from before keys were scoped to tokens: the column is
     * added (its old keys never match a scoped one, and expire). */
    sqlite3_exec(S.db, "ALTER TABLE idempotency ADD COLUMN fingerprint TEXT", NULL, NULL, NULL);
    if (load(why, why_size) != 0 || load_salt(why, why_size) != 0) {
        store_close();
        return -1;
    }
    return 0;
}

/* The salt of token scopes, made once per database (so that a scope means
 * the same token after a restart). */
static int load_salt(char *why, size_t why_size)
{
    sqlite3_stmt *st;
    const char *sel = "SELECT value FROM meta WHERE name = 'scope_salt'";
    if (sqlite3_prepare_v2(S.db, sel, -1, &st, NULL) != SQLITE_OK) goto fail;
    int found = 0;
    if (sqlite3_step(st) == SQLITE_ROW) {
        const unsigned char *hex = sqlite3_column_text(st, 0);
        found = hex && strlen((const char *)hex) == 32;
        for (int i = 0; found && i < 16; i++) {
            unsigned v;
            found = sscanf((const char *)hex + 2 * i, "%2x", &v) == 1;
            S.scope_salt[i] = (unsigned char)v;
        }
    }
    sqlite3_finalize(st);
    if (found) return 0;
    char hex[33];
    if (random_bytes(S.scope_salt, sizeof S.scope_salt) != 0) goto fail;
    for (int i = 0; i < 16; i++)
        snprintf(hex + 2 * i, 3, "%02x", S.scope_salt[i]);
    if (sqlite3_prepare_v2(S.db, "INSERT OR REPLACE INTO meta VALUES ('scope_salt', ?1)", -1, &st,
                           NULL) != SQLITE_OK)
        goto fail;
    sqlite3_bind_text(st, 1, hex, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc == SQLITE_DONE) return 0;
fail:
    snprintf(why, why_size, "cannot keep the token-scope salt: %s", sqlite3_errmsg(S.db));
    return -1;
}

void fingerprint_start(uint64_t *h)
{
    *h = 14695981039346656037ULL;
}

void fingerprint_add(uint64_t *h, const void *bytes, size_t len)
{
    /* Length first, so that ("ab","c") and ("a","bc") differ. */
    uint64_t n = len;
    const unsigned char *p = bytes;
    for (int i = 0; i < 8; i++)
        *h = (*h ^ (unsigned char)(n >> (8 * i))) * 1099511628211ULL;
    for (size_t i = 0; i < len; i++)
        *h = (*h ^ p[i]) * 1099511628211ULL;
}

void fingerprint_hex(uint64_t h, char out[17])
{
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}

void store_token_scope(const char *token, char out[17])
{
    uint64_t h;
    fingerprint_start(&h);
    fingerprint_add(&h, S.scope_salt, sizeof S.scope_salt);
    fingerprint_add(&h, token, strlen(token));
    fingerprint_hex(h, out);
}

static void idem_entry_free(idem_entry *e)
{
    free(e->key);
    free_secret(e->private_key);
    free(e);
}

void store_close(void)
{
    pthread_mutex_lock(&S.mu);
    for (int b = 0; b < BUCKETS; b++) {
        while (S.buckets[b]) {
            host_rec *h = S.buckets[b];
            S.buckets[b] = h->next;
            host_rec_clear(h);
            free(h);
        }
    }
    S.count = 0;
    while (S.idem) {
        idem_entry *e = S.idem;
        S.idem = e->next;
        idem_entry_free(e);
    }
    if (S.db) {
        sqlite3_close(S.db);
        S.db = NULL;
    }
    pthread_mutex_unlock(&S.mu);
}

int store_ping(char *why, size_t why_size)
{
    pthread_mutex_lock(&S.mu);
    int rc = -1;
    char *msg = NULL;
    if (!S.db)
        snprintf(why, why_size, "the database is closed");
    else if (sqlite3_exec(S.db, "SELECT count(*) FROM hosts", NULL, NULL, &msg) != SQLITE_OK)
        snprintf(why, why_size, "%s", msg ? msg : sqlite3_errmsg(S.db));
    else
        rc = 0;
    sqlite3_free(msg);
    pthread_mutex_unlock(&S.mu);
    return rc;
}

/* ---- hosts ------------------------------------------------------------ */

int store_host_visit(const char *id, host_visit_fn fn, void *ctx)
{
    pthread_mutex_lock(&S.mu);
    host_rec *h = find_locked(id);
    if (h) fn(h, ctx);
    pthread_mutex_unlock(&S.mu);
    return h ? 0 : -1;
}

static int newest_first(const void *a, const void *b)
{
    const host_rec *x = *(host_rec *const *)a, *y = *(host_rec *const *)b;
    return x->seq < y->seq ? 1 : x->seq > y->seq ? -1 : 0;
}

void store_hosts_visit(host_visit_fn fn, void *ctx)
{
    pthread_mutex_lock(&S.mu);
    host_rec **all = xcalloc(S.count, sizeof *all);
    size_t n = 0;
    for (int b = 0; b < BUCKETS; b++)
        for (host_rec *h = S.buckets[b]; h; h = h->next)
            all[n++] = h;
    qsort(all, n, sizeof *all, newest_first);
    for (size_t i = 0; i < n; i++)
        fn(all[i], ctx);
    pthread_mutex_unlock(&S.mu);
    free(all);
}

int store_host_get(const char *id, host_rec *out)
{
    pthread_mutex_lock(&S.mu);
    host_rec *h = find_locked(id);
    if (h) host_rec_copy(out, h);
    pthread_mutex_unlock(&S.mu);
    return h ? 0 : -1;
}

int store_host_insert(host_rec *h, long max_live)
{
    pthread_mutex_lock(&S.mu);
    long live = 0;
    for (int b = 0; b < BUCKETS; b++)
        for (host_rec *x = S.buckets[b]; x; x = x->next)
            live += x->status != HOST_ERROR;
    if (live >= max_live) {
        pthread_mutex_unlock(&S.mu);
        return -1;
    }
    h->status = HOST_PROVISIONING;
    h->seq = S.next_seq;
    if (!S.db || db_write_host(h) != 0) {
        pthread_mutex_unlock(&S.mu);
        return -2;
    }
    host_rec *copy = xcalloc(1, sizeof *copy);
    host_rec_copy(copy, h);
    link_locked(copy);
    pthread_mutex_unlock(&S.mu);
    return 0;
}

/* Write the changed copy, then take it as the record: 0, or -2 when the
 * database refused (the record is then unchanged). */
static int commit_locked(host_rec *h, host_rec *changed)
{
    if (!S.db || db_write_host(changed) != 0) {
        host_rec_clear(changed);
        return -2;
    }
    host_rec *next = h->next;
    host_rec_clear(h);
    *h = *changed;
    h->next = next;
    return 0;
}

static void set_str(char **field, const char *value)
{
    free(*field);
    *field = xstrdup(value);
}

int store_host_activate(const char *id, const host_info *info, host_rec *out)
{
    pthread_mutex_lock(&S.mu);
    host_rec *h = find_locked(id);
    int rc = -1;
    if (h && h->status == HOST_PROVISIONING) {
        host_rec c;
        host_rec_copy(&c, h);
        c.status = HOST_ACTIVE;
        if (info->image) set_str(&c.image, info->image);
        set_str(&c.ssh_host, info->ssh_host ? info->ssh_host : "");
        c.ssh_port = info->ssh_port > 0 && info->ssh_port < 65536 ? info->ssh_port : 22;
        set_str(&c.ssh_username, info->ssh_username ? info->ssh_username : "");
        set_str(&c.known_hosts, info->known_hosts ? info->known_hosts : "");
        set_str(&c.instance_type, info->instance_type);
        c.disk_gb = info->disk_gb;
        set_str(&c.state, info->state);
        c.updated_ms = c.activated_ms = now_ms();
        rc = commit_locked(h, &c);
        if (rc == 0 && out) host_rec_copy(out, h);
    }
    pthread_mutex_unlock(&S.mu);
    return rc;
}

int store_host_fail(const char *id, unsigned from, const char *why, int lease_ends)
{
    pthread_mutex_lock(&S.mu);
    host_rec *h = find_locked(id);
    int rc = -1;
    if (h && (from & (1u << h->status))) {
        host_rec c;
        host_rec_copy(&c, h);
        c.status = HOST_ERROR;
        set_str(&c.last_error, why);
        c.updated_ms = now_ms();
        if (lease_ends) c.expires_ms = c.updated_ms;
        rc = commit_locked(h, &c);
    }
    pthread_mutex_unlock(&S.mu);
    return rc;
}

enum claim_result store_host_claim(const char *id, int64_t due_by, host_rec *out)
{
    pthread_mutex_lock(&S.mu);
    host_rec *h = find_locked(id);
    enum claim_result rc = CLAIM_UNKNOWN;
    if (!h) goto out;
    rc = CLAIM_BUSY;
    if (h->status != HOST_ACTIVE && h->status != HOST_ERROR) goto copy;
    rc = CLAIM_NOT_DUE;
    if (due_by && (!h->expires_ms || h->expires_ms > due_by)) goto copy;
    host_rec c;
    host_rec_copy(&c, h);
    c.status = HOST_DELETING;
    c.updated_ms = now_ms();
    /* Even if the database cannot say so, the claim holds in memory: the
     * host is about to go, and a restart retries what was left. */
    if (commit_locked(h, &c) != 0) {
        h->status = HOST_DELETING;
        fprintf(stderr, "litterbox-server: host %s: could not record its deletion\n", id);
    }
    rc = CLAIM_OK;
copy:
    if (out) host_rec_copy(out, h);
out:
    pthread_mutex_unlock(&S.mu);
    return rc;
}

int store_host_gone(const char *id)
{
    pthread_mutex_lock(&S.mu);
    host_rec **pp = &S.buckets[bucket_of(id)];
    while (*pp && strcmp((*pp)->id, id) != 0)
        pp = &(*pp)->next;
    host_rec *h = *pp;
    if (!h || h->status != HOST_DELETING) {
        pthread_mutex_unlock(&S.mu);
        return -1;
    }
    /* The record goes even if the database write fails: the host itself is
     * gone already. The next start would show it again; say so. */
    if (!S.db || db_exec("DELETE FROM hosts WHERE id = ?1", id) != 0 ||
        db_exec("DELETE FROM idempotency WHERE host_id = ?1", id) != 0)
        fprintf(stderr, "litterbox-server: host %s: could not remove it from the database\n", id);
    *pp = h->next;
    S.count--;
    host_rec_clear(h);
    free(h);
    /* A key that named this host no longer does: a repeat creates anew. */
    for (idem_entry **ep = &S.idem; *ep;) {
        idem_entry *e = *ep;
        if (!e->pending && strcmp(e->host_id, id) == 0) {
            *ep = e->next;
            idem_entry_free(e);
        } else {
            ep = &e->next;
        }
    }
    pthread_mutex_unlock(&S.mu);
    return 0;
}

int store_host_renew(const char *id, int64_t expires_ms, int64_t default_ttl_ms, host_rec *out)
{
    pthread_mutex_lock(&S.mu);
    host_rec *h = find_locked(id);
    int rc = -1;
    if (h && h->status != HOST_ACTIVE) {
        rc = -2;
    } else if (h) {
        host_rec c;
        host_rec_copy(&c, h);
        c.updated_ms = now_ms();
        c.expires_ms = expires_ms ? expires_ms : c.updated_ms + default_ttl_ms;
        rc = commit_locked(h, &c) == 0 ? 0 : -3;
    }
    if (h && out) host_rec_copy(out, h);
    pthread_mutex_unlock(&S.mu);
    return rc;
}

size_t store_fail_provisioning(const char *why)
{
    pthread_mutex_lock(&S.mu);
    size_t n = 0;
    for (int b = 0; b < BUCKETS; b++) {
        for (host_rec *h = S.buckets[b]; h; h = h->next) {
            if (h->status != HOST_PROVISIONING) continue;
            host_rec c;
            host_rec_copy(&c, h);
            c.status = HOST_ERROR;
            set_str(&c.last_error, why);
            c.updated_ms = c.expires_ms = now_ms();
            if (commit_locked(h, &c) != 0) h->status = HOST_ERROR;
            n++;
        }
    }
    pthread_mutex_unlock(&S.mu);
    return n;
}

host_rec *store_hosts_all(size_t *count)
{
    pthread_mutex_lock(&S.mu);
    host_rec *all = xcalloc(S.count, sizeof *all);
    size_t n = 0;
    for (int b = 0; b < BUCKETS; b++)
        for (host_rec *h = S.buckets[b]; h; h = h->next)
            host_rec_copy(&all[n++], h);
    pthread_mutex_unlock(&S.mu);
    *count = n;
    return all;
}

/* ---- idempotency ------------------------------------------------------ */

static idem_entry *idem_find_locked(const char *key)
{
    for (idem_entry *e = S.idem; e; e = e->next)
        if (strcmp(e->key, key) == 0) return e;
    return NULL;
}

static void idem_unlink_locked(idem_entry *target)
{
    for (idem_entry **ep = &S.idem; *ep; ep = &(*ep)->next) {
        if (*ep == target) {
            *ep = target->next;
            return;
        }
    }
}

enum idem_result store_idem_claim(const char *key, const char *fingerprint, char host_id[37],
                                  char **private_key)
{
    *private_key = NULL;
    pthread_mutex_lock(&S.mu);
    for (;;) {
        idem_entry *e = idem_find_locked(key);
        if (e && e->pending) {
            pthread_cond_wait(&S.idem_changed, &S.mu);
            continue;
        }
        if (e && e->expires_ms > now_ms() && find_locked(e->host_id)) {
            if (strcmp(e->fingerprint, fingerprint) != 0) {
                pthread_mutex_unlock(&S.mu);
                return IDEM_MISMATCH;
            }
            memcpy(host_id, e->host_id, 37);
            *private_key = xstrdup(e->private_key);
            pthread_mutex_unlock(&S.mu);
            return IDEM_REPLAY;
        }
        if (e) { /* expired, or its host is gone: the key is free again */
            db_exec("DELETE FROM idempotency WHERE key = ?1", key);
            idem_unlink_locked(e);
            idem_entry_free(e);
        }
        e = xcalloc(1, sizeof *e);
        e->key = xstrdup(key);
        snprintf(e->fingerprint, sizeof e->fingerprint, "%s", fingerprint);
        e->pending = 1;
        e->next = S.idem;
        S.idem = e;
        pthread_mutex_unlock(&S.mu);
        return IDEM_NEW;
    }
}

void store_idem_finish(const char *key, const char *host_id, const char *private_key,
                       int64_t ttl_ms)
{
    pthread_mutex_lock(&S.mu);
    idem_entry *e = idem_find_locked(key);
    if (e && host_id) {
        e->pending = 0;
        snprintf(e->host_id, sizeof e->host_id, "%s", host_id);
        e->private_key = xstrdup(private_key);
        e->expires_ms = now_ms() + ttl_ms;
        sqlite3_stmt *st;
        if (S.db && sqlite3_prepare_v2(S.db,
                                       "INSERT OR REPLACE INTO idempotency (key, host_id, "
                                       "private_key, expires_ms, fingerprint) VALUES "
                                       "(?1,?2,?3,?4,?5)",
                                       -1, &st, NULL) == SQLITE_OK) {
            bind_text(st, 1, key);
            bind_text(st, 2, host_id);
            bind_text(st, 3, private_key);
            sqlite3_bind_int64(st, 4, e->expires_ms);
            bind_text(st, 5, e->fingerprint);
            if (sqlite3_step(st) != SQLITE_DONE)
                fprintf(stderr, "litterbox-server: database: %s\n", sqlite3_errmsg(S.db));
            sqlite3_finalize(st);
        }
    } else if (e) {
        idem_unlink_locked(e);
        idem_entry_free(e);
    }
    pthread_cond_broadcast(&S.idem_changed);
    pthread_mutex_unlock(&S.mu);
}

void store_idem_expire(int64_t now)
{
    pthread_mutex_lock(&S.mu);
    for (idem_entry **ep = &S.idem; *ep;) {
        idem_entry *e = *ep;
        if (!e->pending && e->expires_ms <= now) {
            *ep = e->next;
            idem_entry_free(e);
        } else {
            ep = &e->next;
        }
    }
    sqlite3_stmt *st;
    if (S.db && sqlite3_prepare_v2(S.db, "DELETE FROM idempotency WHERE expires_ms <= ?1", -1, &st,
                                   NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, now);
        sqlite3_step(st);
        sqlite3_finalize(st);
    }
    pthread_mutex_unlock(&S.mu);
}
