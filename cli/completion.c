/* Shell completion: `litterbox completion bash|zsh|fish` prints a small
 * script for the shell, and each script asks the program itself what may
 * come next (`litterbox __complete WORD... CURRENT`), so that commands,
 * options and host names complete from one source: the command table, the
 * option table, and the service's list of hosts. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char bash_script[] =
    "# litterbox completion for bash: source <(litterbox completion bash)\n"
    "_litterbox() {\n"
    "    local IFS=$'\\n'\n"
    "    COMPREPLY=($(litterbox __complete \"${COMP_WORDS[@]:1:COMP_CWORD}\" 2>/dev/null))\n"
    "}\n"
    "complete -o default -F _litterbox litterbox\n";

static const char zsh_script[] =
    "#compdef litterbox\n"
    "# litterbox completion for zsh: source <(litterbox completion zsh)\n"
    "_litterbox() {\n"
    "    local -a candidates\n"
    "    candidates=(\"${(@f)$(litterbox __complete \"${(@)words[2,CURRENT]}\" 2>/dev/null)}\")\n"
    "    if [[ -n ${candidates[1]} ]]; then compadd -a candidates; else _files; fi\n"
    "}\n"
    "compdef _litterbox litterbox\n";

static const char fish_script[] =
    "# litterbox completion for fish: litterbox completion fish | source\n"
    "complete -c litterbox -f -a '(litterbox __complete (commandline -opc)[2..-1] "
    "(commandline -ct) 2>/dev/null)'\n"
    "# file names only where a file goes\n"
    "for option in token-file env-file key-file known-hosts identity-file header-file\n"
    "    complete -c litterbox -l $option -r -F\n"
    "end\n";

int cmd_completion(cli_ctx *ctx)
{
    const char *shell = ctx->a.pos[0];
    const char *script = strcmp(shell, "bash") == 0   ? bash_script
                         : strcmp(shell, "zsh") == 0  ? zsh_script
                         : strcmp(shell, "fish") == 0 ? fish_script
                                                      : NULL;
    if (!script) return usage_error("completion: '%s' is not bash, zsh or fish", shell);
    fputs(script, out_stream());
    return 0;
}

/* ---- __complete ---- */

static void offer(const char *candidate, const char *current)
{
    if (strncmp(candidate, current, strlen(current)) == 0) fprintf(out_stream(), "%s\n", candidate);
}

static const char *const global_words[] = {"--url",  "--token-file", "--timeout", "--env-prefix",
                                           "--json", "--verbose",    "--help",    "--version"};
#define GLOBAL_WORD_COUNT (sizeof global_words / sizeof global_words[0])

/** Whether @p word is a global option that takes the next word as its value. */
static int global_takes_value(const char *word)
{
    for (size_t i = 0; i < 4; i++)
        if (strcmp(word, global_words[i]) == 0) return 1;
    return 0;
}

/** Host names (and ids) from the service; silent when it cannot be asked. */
static void offer_hosts(cli_ctx *ctx, const char *current)
{
    int status = 0; /* errors go to stderr, which the scripts discard */
    lb_client *c = cli_client(ctx, &status);
    lb_host_list *list;
    if (!c || lb_list_hosts(c, &list, NULL) != LB_OK) return;
    for (size_t i = 0; i < list->count; i++)
        offer(list->hosts[i]->name, current);
    if (*current) /* ids only once typing one: they crowd out the names */
        for (size_t i = 0; i < list->count; i++)
            offer(list->hosts[i]->id, current);
    lb_host_list_free(list);
}

/** The command's host positions: which positional words name a host. */
static int positional_is_host(const cli_command *cmd, size_t index)
{
    static const char *const first[] = {"get",  "attach", "delete",    "renew",
                                        "wait", "ssh",    "ssh-config"};
    if (strcmp(cmd->name, "delete") == 0) return 1;
    if (strcmp(cmd->name, "proxy attach") == 0 || strcmp(cmd->name, "proxy detach") == 0)
        return index == 1;
    for (size_t i = 0; i < sizeof first / sizeof first[0]; i++)
        if (strcmp(cmd->name, first[i]) == 0) return index == 0;
    return 0;
}

/** What may follow @p words[0..n-1] inside command @p cmd, starting with
 *  @p current. */
static void complete_in_command(cli_ctx *ctx, const cli_command *cmd, char **words, int n,
                                const char *current)
{
    size_t npos = 0;
    for (int i = 0; i < n; i++) {
        if (strcmp(words[i], "--") == 0) return; /* ssh's remote command */
        if (words[i][0] == '-') {
            if (global_takes_value(words[i]) || option_takes_value(cmd, words[i])) i++;
            continue;
        }
        npos++;
    }
    const char *prev = n > 0 ? words[n - 1] : "";
    if (strcmp(prev, "--for") == 0) {
        offer("active", current);
        offer("gone", current);
        return;
    }
    if (prev[0] == '-' && (global_takes_value(prev) || option_takes_value(cmd, prev)))
        return; /* a value: files and the like are the shell's */
    if (current[0] == '-') {
        option_names(cmd, current);
        for (size_t i = 0; i < GLOBAL_WORD_COUNT; i++)
            offer(global_words[i], current);
        return;
    }
    if (positional_is_host(cmd, npos)) offer_hosts(ctx, current);
}

int complete_words(cli_ctx *ctx, int argc, char **argv)
{
    if (argc == 0) return 0;
    const char *current = argv[argc - 1];
    int n = argc - 1, i = 0;
    /* Global options before the command, with their values: --url and
     * the like also say which service to ask for host names. */
    for (; i < n && argv[i][0] == '-'; i++) {
        int status;
        if (global_option(n, argv, &i, &ctx->g, &status) < 0) return 0;
    }
    if (i >= n) {
        if (current[0] == '-') {
            for (size_t k = 0; k < GLOBAL_WORD_COUNT; k++)
                offer(global_words[k], current);
            return 0;
        }
        size_t count;
        const cli_command *cmds = cli_commands(&count);
        for (size_t k = 0; k < count; k++)
            if (strncmp(cmds[k].name, "proxy ", 6) != 0) offer(cmds[k].name, current);
        offer("proxy", current);
        return 0;
    }
    size_t count;
    const cli_command *cmds = cli_commands(&count);
    char name[64];
    const char *word = argv[i];
    if (strcmp(word, "proxy") == 0) {
        if (i + 1 >= n) {
            static const char *const subs[] = {"create", "delete", "attach", "detach"};
            for (size_t k = 0; k < 4; k++)
                offer(subs[k], current);
            return 0;
        }
        snprintf(name, sizeof name, "proxy %s", argv[i + 1]);
        i++;
    } else {
        snprintf(name, sizeof name, "%s", word);
    }
    i++;
    if (strcmp(name, "help") == 0) {
        for (size_t k = 0; k < count; k++)
            if (strncmp(cmds[k].name, "proxy ", 6) != 0) offer(cmds[k].name, current);
        offer("proxy", current);
        return 0;
    }
    for (size_t k = 0; k < count; k++)
        if (strcmp(cmds[k].name, name) == 0) {
            if (strcmp(name, "completion") == 0) {
                offer("bash", current);
                offer("fish", current);
                offer("zsh", current);
            } else {
                complete_in_command(ctx, &cmds[k], argv + i, n - i, current);
            }
        }
    return 0;
}
