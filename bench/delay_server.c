#define _GNU_SOURCE /* memmem, accept4 */
/* A loopback HTTP/1.1 server for T3: it answers every request with one
 * canned host record after a fixed delay, holding thousands of connections
 * on one thread with epoll. Keep-alive; bodies by Content-Length.
 *
 *   delay_server DELAY_MS    prints "port N" on stdout once listening */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_HEAD 16384

static const char body[] =
    "{\"id\":\"0f6a4c1e-9b1d-4d2f-8a55-3c2b1a0e9d77\",\"name\":\"sb-0123456789ab\",\"status\":"
    "\"active\",\"provider\":\"fake\",\"image\":\"img\",\"external_ssh_host\":\"127.0.0.1\","
    "\"external_ssh_port\":22,\"ssh_username\":\"agent\",\"internal_ssh_host\":null,"
    "\"known_hosts\":\"127.0.0.1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample\",\"private_key\":"
    "null,\"tailscale_device_id\":null,\"instance_type\":null,\"disk_gb\":null,\"last_error\":\"\","
    "\"created_at\":\"2030-01-01T00:00:00Z\",\"updated_at\":\"2030-01-01T00:00:00Z\","
    "\"activated_at\":\"2030-01-01T00:00:00Z\",\"expires_at\":null}";

typedef struct conn {
    int fd;
    char buf[MAX_HEAD];
    size_t len;
    double due; /* > 0: a response is owed at this time */
    struct conn *next_due;
} conn;

static conn *due_head, *due_tail; /* FIFO: every delay is the same */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Length of one complete request at the front of c->buf, or 0. */
static size_t request_len(const conn *c)
{
    const char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
    if (!end)
        return 0;
    size_t head = (size_t)(end - c->buf) + 4;
    size_t clen = 0;
    for (const char *p = c->buf; p < end; p++) {
        if ((p == c->buf || p[-1] == '\n') && strncasecmp(p, "content-length:", 15) == 0)
            clen = strtoul(p + 15, NULL, 10);
    }
    return c->len >= head + clen ? head + clen : 0;
}

static void close_conn(int ep, conn *c)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
    if (!c->due)
        free(c); /* otherwise freed when its turn in the queue comes */
}

int main(int argc, char **argv)
{
    double delay = (argc > 1 ? atof(argv[1]) : 2000) / 1000.0;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
    if (bind(ls, (struct sockaddr *)&a, sizeof a) != 0 || listen(ls, 65535) != 0) {
        perror("delay_server: listen");
        return 1;
    }
    socklen_t alen = sizeof a;
    getsockname(ls, (struct sockaddr *)&a, &alen);
    printf("port %d\n", ntohs(a.sin_port));
    fflush(stdout);

    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
    char reply[2048];
    int reply_len = snprintf(reply, sizeof reply,
                             "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
                             "Content-Length: %zu\r\n\r\n%s",
                             sizeof body - 1, body);
    struct epoll_event events[512];
    for (;;) {
        int wait_ms = -1;
        if (due_head) {
            double left = due_head->due - now_s();
            wait_ms = left <= 0 ? 0 : (int)(left * 1000) + 1;
        }
        int n = epoll_wait(ep, events, 512, wait_ms);
        for (int i = 0; i < n; i++) {
            conn *c = events[i].data.ptr;
            if (!c) {
                int fd;
                while ((fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    conn *nc = calloc(1, sizeof *nc);
                    if (!nc) {
                        close(fd);
                        continue;
                    }
                    nc->fd = fd;
                    struct epoll_event cev = {.events = EPOLLIN, .data.ptr = nc};
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
                }
                continue;
            }
            ssize_t got = read(c->fd, c->buf + c->len, sizeof c->buf - c->len);
            if (got <= 0) {
                if (got < 0 && errno == EAGAIN)
                    continue;
                close_conn(ep, c);
                continue;
            }
            c->len += (size_t)got;
            size_t rl_ = request_len(c);
            if (rl_ && !c->due) {
                memmove(c->buf, c->buf + rl_, c->len - rl_);
                c->len -= rl_;
                c->due = now_s() + delay;
                c->next_due = NULL;
                if (due_tail)
                    due_tail->next_due = c;
                else
                    due_head = c;
                due_tail = c;
            } else if (c->len == sizeof c->buf) {
                close_conn(ep, c);
            }
        }
        double now = now_s();
        while (due_head && due_head->due <= now) {
            conn *c = due_head;
            due_head = c->next_due;
            if (!due_head)
                due_tail = NULL;
            c->due = 0;
            if (c->fd < 0) {
                free(c);
                continue;
            }
            if (write(c->fd, reply, (size_t)reply_len) != reply_len)
                close_conn(ep, c);
        }
    }
}
