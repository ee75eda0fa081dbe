/* One OpenSSH sshd per host on 127.0.0.1.
 *
 * The sshd_config holds only paths, the port and user names: never an env
 * value (those travel in the session's bwrap.args file, read by bwrap
 * itself). Every session, subsystem included, goes through ForceCommand,
 * which execs bwrap; the client's command reaches the sandboxed shell as
 * one argv element ("$SSH_ORIGINAL_COMMAND" in double quotes). */
#include "local.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SFTP_SERVER "/usr/lib/openssh/sftp-server"
/* OpenSSH 9's key exchanges without the post-quantum hybrid
 * (sntrup761x25519), which costs about 70 ms of a login on this project's
 * machines and protects a connection against recording now and breaking
 * later. The sshd listens on 127.0.0.1 only: whoever can record that
 * traffic is root on the machine already. Clients still get curve25519
 * first, and older ones the rest. */
#define KEX_ALGORITHMS                                                                             \
    "curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,"        \
    "ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,"       \
    "diffie-hellman-group18-sha512,diffie-hellman-group14-sha256"
/* How long sshd may take to log that it listens before a connection is
 * tried instead (local_sshd_start). */
#define PROBE_AFTER_MS 1000

int local_free_port(char *why, size_t why_size)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(why, why_size, "socket: %s", strerror(errno));
        return 0;
    }
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        snprintf(why, why_size, "cannot find a free port on 127.0.0.1: %s", strerror(errno));
        close(fd);
        return 0;
    }
    close(fd);
    return ntohs(a.sin_port);
}

char *local_sshd_needle(const char *host_dir)
{
    size_t n = strlen(host_dir) + 32;
    char *s = malloc(n);
    if (s) snprintf(s, n, "-f %s/sshd_config", host_dir);
    return s;
}

int local_sshd_write_config(const local_sshd_conf *c, int port, char *why, size_t why_size)
{
    sbuf b = {0};
    sbuf_addf(&b,
              "# litterbox-server: the sshd of one local host. Written by the server;\n"
              "# holds no env value (see session/bwrap.args).\n"
              "Port %d\n"
              "ListenAddress 127.0.0.1\n"
              "AddressFamily inet\n"
              "KexAlgorithms " KEX_ALGORITHMS "\n"
              "HostKey %s/ssh_host_ed25519_key\n"
              "PidFile none\n"
              "AllowUsers %s\n"
              "AuthorizedKeysFile %s/authorized_keys\n"
              "AuthenticationMethods publickey\n"
              "PubkeyAuthentication yes\n"
              "PasswordAuthentication no\n"
              "KbdInteractiveAuthentication no\n"
              "HostbasedAuthentication no\n"
              "PermitEmptyPasswords no\n"
              "PermitRootLogin %s\n"
              "UsePAM no\n"
              "StrictModes %s\n"
              "PermitUserEnvironment no\n"
              "PermitUserRC no\n"
              "DisableForwarding yes\n"
              "AllowTcpForwarding no\n"
              "AllowStreamLocalForwarding no\n"
              "AllowAgentForwarding no\n"
              "X11Forwarding no\n"
              "PermitTunnel no\n"
              "PermitTTY yes\n"
              "PrintMotd no\n"
              "PrintLastLog no\n"
              "Banner none\n"
              "LoginGraceTime 10\n"
              "MaxStartups 4:50:10\n"
              "MaxAuthTries 3\n"
              "LogLevel INFO\n",
              port, c->host_dir, c->login_user, c->session_dir,
              c->force_command ? "prohibit-password" : "no", c->strict_modes ? "yes" : "no");
    if (access(SFTP_SERVER, X_OK) == 0) sbuf_adds(&b, "Subsystem sftp " SFTP_SERVER "\n");
    /* Run by the login user's shell as `SHELL -c LINE`. The bwrap options and
     * the env come from fd 3, a NUL-separated file that bwrap parses. */
    /* SHLVL=1: the login user's bash then counts as a nested shell and does
     * not read its ~/.bashrc, which Debian's bash otherwise does for every
     * command sshd starts (the machine's root rc is no business of a host's
     * session, and can take seconds). */
    if (c->force_command)
        sbuf_addf(&b, "SetEnv SHLVL=1\nForceCommand %s\n", c->force_command);
    else
        sbuf_addf(&b,
                  "ForceCommand exec " LOCAL_BWRAP " --args 3 -- %s -c "
                  "\"${SSH_ORIGINAL_COMMAND:-exec %s -l}\" 3<%s/bwrap.args\n",
                  c->inner_shell, c->inner_shell, c->session_dir);
    if (b.failed) {
        snprintf(why, why_size, "out of memory");
        sbuf_wipe(&b);
        return -1;
    }
    char *path = local_path(c->host_dir, "sshd_config");
    int rc = path ? local_write_file(path, b.data, b.len, 0600, why, why_size) : -1;
    if (!path) snprintf(why, why_size, "out of memory");
    free(path);
    sbuf_wipe(&b);
    return rc;
}

int local_sshd_answers(int port, int timeout_ms)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return 0;
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((unsigned short)port);
    long long deadline = local_now_ms() + timeout_ms;
    int ok = 0;
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0 && errno != EINPROGRESS) goto out;
    char banner[8];
    size_t have = 0;
    while (have < 4) {
        long long left = deadline - local_now_ms();
        if (left <= 0) goto out;
        struct pollfd p = {fd, POLLIN, 0};
        int n = poll(&p, 1, (int)left);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) goto out;
        ssize_t r = read(fd, banner + have, 4 - have);
        if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (r <= 0) goto out;
        have += (size_t)r;
    }
    ok = memcmp(banner, "SSH-", 4) == 0;
out:
    close(fd);
    return ok;
}

static long long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : 0;
}

/* What sshd wrote to its log since offset `from`: the last two lines, for a
 * why (sshd's last words are often "Cannot bind any address." after the
 * reason), and whether its port was taken meanwhile. */
static void log_since(const char *log_path, long long from, char *out, size_t out_size,
                      int *port_busy)
{
    char err[64];
    size_t len = 0;
    out[0] = '\0';
    char *text = local_read_file(log_path, 1 << 20, &len, err, sizeof err);
    if (!text) return;
    char *start = text + (from >= 0 && (size_t)from <= len ? (size_t)from : 0);
    if (strstr(start, "Address already in use")) *port_busy = 1;
    while (len && (text[len - 1] == '\n' || text[len - 1] == '\r'))
        text[--len] = '\0';
    char *last = strrchr(start, '\n');
    char *prev = NULL;
    if (last) {
        *last = '\0';
        prev = strrchr(start, '\n');
        prev = prev ? prev + 1 : start;
        last++;
    } else {
        last = start;
    }
    if (prev && *prev)
        snprintf(out, out_size, "%s; %s", prev, last);
    else
        snprintf(out, out_size, "%s", last);
    free(text);
}

/* 1 when sshd's log says, after offset `from` (where its start began),
 * that it listens on port. */
static int log_says_listening(const char *log_path, long long from, int port)
{
    char text[4096], line[64];
    int fd = open(log_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t n = from >= 0 ? pread(fd, text, sizeof text - 1, (off_t)from) : -1;
    close(fd);
    if (n <= 0) return 0;
    text[n] = '\0';
    snprintf(line, sizeof line, "Server listening on 127.0.0.1 port %d.", port);
    return strstr(text, line) != NULL;
}

pid_t local_sshd_start(const char *host_dir, int port, const char *bind_src, int timeout_ms,
                       int *port_busy, char *why, size_t why_size)
{
    *port_busy = 0;
    char *config = local_path(host_dir, "sshd_config");
    char *log = local_path(host_dir, "sshd.log");
    char *needle = local_sshd_needle(host_dir);
    pid_t pid = -1;
    if (!config || !log || !needle) {
        snprintf(why, why_size, "out of memory");
        goto done;
    }
    /* -f first: sshd rewrites its command line ("sshd: ... [listener]"),
     * and the config path must survive that for alive() to recognise it. */
    const char *argv[] = {LOCAL_SSHD, "-f", config, "-D", "-e", NULL};
    long long log_start = file_size(log);
    pid = local_spawn_detached(argv, log, bind_src, bind_src ? LOCAL_SESSION_MOUNT : NULL, why,
                               why_size);
    if (pid < 0) goto done;
    long long deadline = local_now_ms() + timeout_ms;
    long long probe_after = local_now_ms() + PROBE_AFTER_MS;
    for (;;) {
        if (!local_proc_alive(pid)) {
            char tail[300];
            log_since(log, log_start, tail, sizeof tail, port_busy);
            snprintf(why, why_size, "sshd exited at start: %s",
                     tail[0] ? tail : "no message (see sshd.log)");
            break;
        }
        /* Until it has exec'd, the child is a copy of the server: wait for
         * the command line to be sshd's before trusting the port. sshd
         * logs that it listens right after listen(); a connection would
         * also do, but costs sshd a whole child (a re-exec and its keys,
         * about 40 ms of CPU), so it is only the fallback for an sshd
         * that logs otherwise. */
        if (local_proc_matches(pid, needle) &&
            (log_says_listening(log, log_start, port) ||
             (local_now_ms() > probe_after && local_sshd_answers(port, 500))) &&
            local_proc_matches(pid, needle))
            goto done; /* ready */
        if (local_now_ms() > deadline) {
            snprintf(why, why_size, "sshd did not answer on 127.0.0.1:%d within %d s", port,
                     timeout_ms / 1000);
            break;
        }
        local_sleep_ms(5);
    }
    char ignored[128];
    local_proc_kill_host(pid, needle, log, 1000, ignored, sizeof ignored);
    pid = -1;
done:
    free(config);
    free(log);
    free(needle);
    return pid;
}
