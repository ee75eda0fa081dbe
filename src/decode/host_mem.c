/* Where decoded hosts live, and how they are freed.
 *
 * A single host is one malloc'd block. The hosts of a list are carved one
 * after another out of large slabs instead: 100,000 hosts are 60 MB, and on
 * the machines this project runs on, faulting those in 4 KiB at a time cost
 * more than decoding them (T2, docs/performance.md). A slab of a few
 * megabytes is offered to the kernel for transparent huge pages, so its
 * memory arrives in 2 MiB steps where the system allows it, and in pages as
 * before where it does not.
 *
 * Every host is still freed alone (lb_host_free works on any host, in any
 * thread, in any order): each is preceded by a header naming its slab, and
 * a slab is released with the last of its hosts. */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef __linux__
#include <sys/mman.h>
#endif

#include "decode.h"

#define FIRST_SLAB (16u * 1024)        /* a short list stays small */
#define LARGEST_SLAB (8u * 1024 * 1024) /* then doubling up to this */
#define HUGE_PAGE (2u * 1024 * 1024)

struct host_slab {
    atomic_size_t holds; /* hosts not yet freed, + 1 while a store fills it */
    unsigned char *next, *end;
};

/* In front of every host; 16 bytes, so the host stays 16-byte aligned. */
typedef struct host_head {
    struct host_slab *slab; /* NULL: the host is a malloc'd block of its own */
    unsigned char pad[16 - sizeof(struct host_slab *)];
} host_head;
_Static_assert(sizeof(host_head) == 16, "hosts start 16 bytes after their header");

static void slab_drop(struct host_slab *slab)
{
    if (atomic_fetch_sub_explicit(&slab->holds, 1, memory_order_acq_rel) == 1)
        free(slab);
}

/* A slab with at least `need` bytes free after its header. The data of a
 * large one starts on a 2 MiB boundary, so that whole huge pages fit; the
 * bytes skipped are never touched, so they cost address space, not memory. */
static struct host_slab *slab_new(size_t size, size_t need)
{
    if (size < need)
        size = need;
    int huge = size >= 2 * HUGE_PAGE;
    size_t pad = 64 + (huge ? HUGE_PAGE : 0); /* room to align the data */
    if (size > SIZE_MAX - sizeof(struct host_slab) - pad)
        return NULL;
    size_t bytes = sizeof(struct host_slab) + pad + size;
    struct host_slab *slab = malloc(bytes);
    if (!slab)
        return NULL;
    atomic_init(&slab->holds, 1);
    uintptr_t data = (uintptr_t)(slab + 1);
    data = (data + 63) & ~(uintptr_t)63;
    if (huge)
        data = (data + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1);
    slab->next = (unsigned char *)data;
    slab->end = (unsigned char *)slab + bytes;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (huge) /* advice only: without THP the pages come 4 KiB at a time */
        (void)madvise(slab->next, (size_t)(slab->end - slab->next) & ~(size_t)(HUGE_PAGE - 1),
                      MADV_HUGEPAGE);
#endif
    return slab;
}

lb_host *host_alloc(host_store *st, size_t size)
{
    if (size > SIZE_MAX / 2)
        return NULL;
    size_t total = (sizeof(host_head) + size + 15) & ~(size_t)15;
    host_head *head;
    if (!st) {
        head = malloc(total);
        if (!head)
            return NULL;
        head->slab = NULL;
        return (lb_host *)(head + 1);
    }
    struct host_slab *slab = st->slab;
    if (!slab || (size_t)(slab->end - slab->next) < total) {
        size_t size_next = st->next_size ? st->next_size : FIRST_SLAB;
        struct host_slab *fresh = slab_new(size_next, total);
        if (!fresh)
            return NULL;
        st->next_size = size_next >= LARGEST_SLAB / 2 ? LARGEST_SLAB : size_next * 2;
        if (slab)
            slab_drop(slab); /* the store's own hold */
        st->slab = slab = fresh;
    }
    head = (host_head *)(void *)slab->next;
    slab->next += total;
    head->slab = slab;
    atomic_fetch_add_explicit(&slab->holds, 1, memory_order_relaxed);
    return (lb_host *)(head + 1);
}

void host_store_expect(host_store *st, uint64_t bytes)
{
    /* The first slab as large as the body, within FIRST_SLAB..LARGEST_SLAB:
     * records take about 0.9x their JSON (README, T2), so one slab holds
     * a short list whole. */
    if (!st->slab)
        st->next_size = bytes >= LARGEST_SLAB ? LARGEST_SLAB
                        : bytes <= FIRST_SLAB ? FIRST_SLAB
                                              : (size_t)bytes;
}

void host_store_release(host_store *st)
{
    if (st->slab)
        slab_drop(st->slab);
    st->slab = NULL;
    st->next_size = 0;
}

void lb_host_free(lb_host *host)
{
    if (!host)
        return;
    if (host->private_key)
        secure_zero((char *)host->private_key, strlen(host->private_key));
    host_head *head = (host_head *)host - 1;
    if (head->slab)
        slab_drop(head->slab);
    else
        free(head);
}

void lb_host_list_free(lb_host_list *list)
{
    if (!list)
        return;
    for (size_t i = 0; i < list->count; i++)
        lb_host_free(list->hosts[i]);
    free(list->hosts);
    free(list);
}
