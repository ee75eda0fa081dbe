/* Process 1 of a gvisor host: the sandbox lives as long as it does. A
 * process left running by an SSH session (the reason a host keeps its
 * processes between sessions) is re-parented here when its session ends,
 * so this reaps every child it inherits; sshd's own sessions are other
 * processes' children. SIGTERM (the server's delete) ends it. */
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
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
