/* Process 1 of a gvisor host: the sandbox lives as long as it does. A
 * process left running by an SSH session (the reason a host keeps its
 * processes between sessions) is re-parented here when its session ends,
 * so this reaps every child it inherits; sshd's own sessions are other
 * processes' children. SIGTERM (the server's delete) ends it.
 *
 * `init --hostname` is the warm pool's name setter instead (see
 * docs/gvisor.md): started in a warm sandbox with CAP_SYS_ADMIN, it waits
 * for one line on stdin, the name of the host that takes the sandbox, and
 * makes it the hostname. End of input before a whole line (the sandbox
 * was never taken) sets nothing. */
#define _GNU_SOURCE /* sethostname */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define NAME_MAX_LEN 64 /* HOST_NAME_MAX on Linux */

static int set_hostname_from_stdin(void)
{
    char name[NAME_MAX_LEN + 2];
    size_t n = 0;
    char *nl = NULL;
    while (!nl && n < sizeof name) {
        ssize_t r = read(0, name + n, sizeof name - n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        nl = memchr(name + n, '\n', (size_t)r);
        n += (size_t)r;
    }
    if (!nl || nl == name) return 1;
    return sethostname(name, (size_t)(nl - name)) == 0 ? 0 : 2;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--hostname") == 0) return set_hostname_from_stdin();
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, NULL);
    for (;;) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0) continue;
        if (sig != SIGCHLD) return 0;
        while (waitpid(-1, NULL, WNOHANG) > 0)
            ;
    }
}
