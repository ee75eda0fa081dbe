/* Hosts, leases and idempotency keys.
 *
 * SQLite (WAL) is the record that survives a restart; a copy of every host
 * is kept in memory so that a GET never touches the database and reads
 * scale across the HTTP threads. One mutex guards both: every change is
 * written to SQLite and applied in memory under it, so the two never
 * disagree. Idempotency keys whose create is still running exist only in
 * memory (a waiter sleeps on the condition variable); finished ones are
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
    char *key;
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
} S = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, {0}, 0, 1, NULL};

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

static void add_time(sbuf *out, const char *key, int64_t ms)
{
    char t[32];
    sbuf_adds(out, key);
    if (ms) {
        format_time(ms, t);
        sbuf_add(out, "\"", 1);
        sbuf_adds(out, t);
        sbuf_add(out, "\"", 1);
    } else {
        sbuf_adds(out, "null");
    }
}

static const char *or_empty(const char *s)
{
    return s ? s : "";
}

void host_json(sbuf *out, const host_rec *h, enum wire_gen wire, const char *private_key)
{
    sbuf_adds(out, "{\"id\":\"");
    sbuf_adds(out, h->id);
    sbuf_adds(out, "\",\"name\":\"");
    sbuf_adds(out, h->name);
    sbuf_adds(out, "\",\"status\":\"");
    sbuf_adds(out, h->status);
    sbuf_adds(out, "\",\"provider\":");
    sbuf_json_strz(out, h->provider);
    sbuf_adds(out, ",\"image\":");
    sbuf_json_strz(out, or_empty(h->image));
    if (wire == WIRE_V1) {
        sbuf_adds(out, ",\"ssh_host\":");
        sbuf_json_strz(out, or_empty(h->ssh_host));
        sbuf_addf(out, ",\"ssh_port\":%d", h->ssh_port);
    }
    sbuf_adds(out, ",\"external_ssh_host\":");
    sbuf_json_strz(out, or_empty(h->ssh_host));
    sbuf_addf(out, ",\"external_ssh_port\":%d,\"ssh_username\":", h->ssh_port);
    sbuf_json_strz(out, or_empty(h->ssh_username));
    sbuf_adds(out, ",\"internal_ssh_host\":null,\"known_hosts\":");
    sbuf_json_strz(out, or_empty(h->known_hosts));
    sbuf_adds(out, ",\"private_key\":");
    sbuf_json_strz(out, private_key);
    sbuf_adds(out, ",\"tailscale_device_id\":null,\"instance_type\":");
    sbuf_json_strz(out, h->instance_type);
    if (h->disk_gb)
        sbuf_addf(out, ",\"disk_gb\":%lld", h->disk_gb);
    else
        sbuf_adds(out, ",\"disk_gb\":null");
    sbuf_adds(out, ",\"last_error\":");
    sbuf_json_strz(out, or_empty(h->last_error));
    add_time(out, ",\"created_at\":", h->created_ms);
    add_time(out, ",\"updated_at\":", h->updated_ms);
    add_time(out, ",\"activated_at\":", h->activated_ms);
    add_time(out, ",\"expires_at\":", h->expires_ms);
    sbuf_add(out, "}", 1);
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
    " expires_ms INTEGER NOT NULL);";

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
    bind_text(st, 4, h->status);
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
    if (sqlite3_prepare_v2(S.db, sql, -1, &st, NULL) != SQLITE_OK) return -1;
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
        copy_col(h->status, sizeof h->status, st, 3);
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

    if (sqlite3_prepare_v2(S.db, "SELECT key,host_id,private_key,expires_ms FROM idempotency", -1,
                           &st, NULL) != SQLITE_OK) {
        snprintf(why, why_size, "%s", sqlite3_errmsg(S.db));
        return -1;
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
        idem_entry *e = xcalloc(1, sizeof *e);
        e->key = col_text(st, 0);
        copy_col(e->host_id, sizeof e->host_id, st, 1);
        e->private_key = col_text(st, 2);
        e->expires_ms = sqlite3_column_int64(st, 3);
        e->next = S.idem;
        S.idem = e;
    }
    sqlite3_finalize(st);
    return 0;
}

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
    if (load(why, why_size) != 0) {
        store_close();
        return -1;
    }
    return 0;
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

int store_host_json(const char *id, enum wire_gen wire, sbuf *out)
{
    pthread_mutex_lock(&S.mu);
    host_rec *h = find_locked(id);
    if (h) host_json(out, h, wire, NULL);
    pthread_mutex_unlock(&S.mu);
    return h ? 0 : -1;
}

static int newest_first(const void *a, const void *b)
{
    const host_rec *x = *(host_rec *const *)a, *y = *(host_rec *const *)b;
    return x->seq < y->seq ? 1 : x->seq > y->seq ? -1 : 0;
}

void store_list_json(enum wire_gen wire, sbuf *out)
{
    pthread_mutex_lock(&S.mu);
    host_rec **all = xcalloc(S.count, sizeof *all);
    size_t n = 0;
    for (int b = 0; b < BUCKETS; b++)
        for (host_rec *h = S.buckets[b]; h; h = h->next)
            all[n++] = h;
    qsort(all, n, sizeof *all, newest_first);
    sbuf_add(out, "[", 1);
    for (size_t i = 0; i < n; i++) {
        if (i) sbuf_add(out, ",", 1);
        host_json(out, all[i], wire, NULL);
    }
    sbuf_add(out, "]", 1);
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
            live += strcmp(x->status, "error") != 0;
    if (live >= max_live) {
        pthread_mutex_unlock(&S.mu);
        return -1;
    }
    h->seq = S.next_seq;
    if (db_write_host(h) != 0) {
        pthread_mutex_unlock(&S.mu);
        return -2;
    }
    host_rec *copy = xcalloc(1, sizeof *copy);
    host_rec_copy(copy, h);
    link_locked(copy);
    pthread_mutex_unlock(&S.mu);
    return 0;
}

int store_host_update(const host_rec *h)
{
    pthread_mutex_lock(&S.mu);
    host_rec *old = find_locked(h->id);
    if (!old) {
        pthread_mutex_unlock(&S.mu);
        return -1;
    }
    if (db_write_host(h) != 0) {
        pthread_mutex_unlock(&S.mu);
        return -2;
    }
    host_rec *next = old->next;
    int64_t seq = old->seq;
    host_rec_clear(old);
    host_rec_copy(old, h);
    old->next = next;
    old->seq = seq;
    pthread_mutex_unlock(&S.mu);
    return 0;
}

int store_host_delete(const char *id)
{
    pthread_mutex_lock(&S.mu);
    host_rec **pp = &S.buckets[bucket_of(id)];
    while (*pp && strcmp((*pp)->id, id) != 0)
        pp = &(*pp)->next;
    host_rec *h = *pp;
    if (!h) {
        pthread_mutex_unlock(&S.mu);
        return -1;
    }
    /* The record goes even if the database write fails: the host itself is
     * gone already. The next start would show it again; say so. */
    if (db_exec("DELETE FROM hosts WHERE id = ?1", id) != 0 ||
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

enum idem_result store_idem_claim(const char *key, char host_id[37], char **private_key)
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
        if (sqlite3_prepare_v2(S.db, "INSERT OR REPLACE INTO idempotency VALUES (?1,?2,?3,?4)", -1,
                               &st, NULL) == SQLITE_OK) {
            bind_text(st, 1, key);
            bind_text(st, 2, host_id);
            bind_text(st, 3, private_key);
            sqlite3_bind_int64(st, 4, e->expires_ms);
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
