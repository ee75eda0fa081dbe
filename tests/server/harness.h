/* Running the built litterbox-server as a child process on a free port with
 * a temporary state folder and token, and talking to it: liblitterbox, a
 * raw HTTP/1.1 client (to see exact status lines and bodies), and the CLI.
 * Every helper polls with generous deadlines: the suite runs on loaded
 * 2-core machines and under sanitizers. */
#ifndef LBS_TEST_HARNESS_H
#define LBS_TEST_HARNESS_H

#include <stddef.h>
#include <sys/types.h>

#include <litterbox.h>

#define TEST_TOKEN "lbs-test-token-9f2c7e"

typedef struct server {
    pid_t pid;
    int port;
    char dir[256]; /* temporary folder: state, token file, logs */
    char state_dir[300];
    char url[64];
    char log_path[300]; /* the server's stderr */
    char token_file[300];
    /* Set before server_start: LITTERBOX_SERVER_TOKENS for the child, and
     * whether to leave out --token-file. */
    const char *tokens_env;
    int no_token_file;
} server;

/* Make the temporary folder (once per server struct). */
int server_init(server *s);
/* Start with the given extra arguments (NULL-terminated; the fake provider
 * is the default unless args name another). 0, or -1 with why printed. */
int server_start(server *s, const char *const *args);
/* SIGTERM and wait: the exit status (128 + signal when killed), -1 on a
 * harness failure. */
int server_stop(server *s);
/* SIGKILL and wait, as a crash would end it. */
void server_kill(server *s);
/* Stop (if running) and remove the folder. */
void server_cleanup(server *s);
/* The server's stderr so far; the caller frees it. */
char *server_log(const server *s);

/* A client on s with the test token (or another token). */
lb_client *server_client(const server *s, const char *token);

typedef struct raw_resp {
    int status; /* 0: no answer */
    char *head; /* status line and headers */
    char *body;
    size_t body_len;
} raw_resp;

/* One request on a fresh connection. token NULL: no Authorization header.
 * extra_headers: "Name: value\r\n" lines or NULL. body NULL: none. */
int raw_request(const server *s, const char *method, const char *path, const char *token,
                const char *extra_headers, const char *body, size_t body_len, raw_resp *out);
void raw_resp_free(raw_resp *r);

typedef struct cli_result {
    int status;
    char *out, *err;
} cli_result;

/* Run the CLI against s: `litterbox --url URL --token-file F args...`. */
int cli_run(const server *s, const char *const *args, cli_result *out);
void cli_result_free(cli_result *r);

/* Sleep this many milliseconds. */
void sleep_ms(int ms);

/* A folder for test files that a local host's session can see: not under
 * /tmp, /var/tmp, /home, /root, /run or /dev, which sessions get fresh or
 * empty. The working folder when it qualifies, else /var/lib or /srv when
 * writable. 0 with buf filled (absolute), or -1 when there is none. */
int visible_dir(char *buf, size_t size);

#endif
