/* The elapsed-time line a person sees while create waits. A create blocks
 * the main thread inside the SDK for up to minutes, so a small thread
 * redraws the line once a second; a condition variable wakes it at once
 * when the call ends. Nothing of this runs when stderr is not a terminal. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

/* \r, then "erase to end of line": the line is gone, the cursor at column 0. */
#define CLEAR_LINE "\r\033[K"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake;
static pthread_t thread;
static int running;        /* the thread exists; guarded by lock */
static int stopping;       /* guarded by lock */
static volatile int shown; /* a line is on screen (read by the SIGINT handler) */
static char label[64];
static struct timespec started; /* CLOCK_MONOTONIC at progress_start() */

static void write_stderr(const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(STDERR_FILENO, s, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return;
        s += w;
        n -= (size_t)w;
    }
}

/** Redraw `<label>… Ns`; called with the lock held. */
static void draw(long seconds)
{
    char line[128];
    int n = snprintf(line, sizeof line, CLEAR_LINE "%s\xe2\x80\xa6 %lds", label, seconds);
    if (n > 0) write_stderr(line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
    shown = 1;
}

static void *progress_main(void *unused)
{
    (void)unused;
    struct timespec deadline = started;
    pthread_mutex_lock(&lock);
    for (long seconds = 1; !stopping; seconds++) {
        deadline.tv_sec++;
        while (!stopping && pthread_cond_timedwait(&wake, &lock, &deadline) != ETIMEDOUT)
            ;
        if (!stopping) draw(seconds);
    }
    pthread_mutex_unlock(&lock);
    return NULL;
}

void progress_start(const char *what)
{
    if (!isatty(STDERR_FILENO)) return;
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    /* The monotonic clock: a wall-clock jump must not stall the display. */
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&wake, &attr);
    pthread_condattr_destroy(&attr);
    snprintf(label, sizeof label, "%s", what);
    stopping = 0;
    clock_gettime(CLOCK_MONOTONIC, &started);
    /* The first frame now, not when the thread gets to run: even a quick
     * call shows what it was doing. */
    pthread_mutex_lock(&lock);
    draw(0);
    pthread_mutex_unlock(&lock);
    if (pthread_create(&thread, NULL, progress_main, NULL) == 0)
        running = 1;
    else
        pthread_cond_destroy(&wake); /* no display is better than no create */
}

void progress_stop(void)
{
    if (running) {
        pthread_mutex_lock(&lock);
        stopping = 1;
        pthread_cond_signal(&wake);
        pthread_mutex_unlock(&lock);
        pthread_join(thread, NULL);
        pthread_cond_destroy(&wake);
        running = 0;
    }
    if (shown) write_stderr(CLEAR_LINE, sizeof CLEAR_LINE - 1);
    shown = 0;
}

void progress_write_line(const char *line)
{
    pthread_mutex_lock(&lock);
    if (shown) write_stderr(CLEAR_LINE, sizeof CLEAR_LINE - 1);
    shown = 0; /* the next tick redraws it below the line */
    write_stderr(line, strlen(line));
    write_stderr("\n", 1);
    pthread_mutex_unlock(&lock);
}

void progress_clear_from_signal(void)
{
    if (shown) write_stderr(CLEAR_LINE, sizeof CLEAR_LINE - 1);
}
