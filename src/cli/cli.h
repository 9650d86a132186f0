/* cli.h - the subcommands of the agentjail binary.  Each takes the
 * arguments after its own name (argv[0] is the subcommand) and returns the
 * process exit status: 0 success, 1 failure, 2 bad usage. */
#ifndef AJ_CLI_H
#define AJ_CLI_H

int cmd_run(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_keys(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_mcp(int argc, char **argv);
int cmd_tools(int argc, char **argv);

/* Say once on stderr what the host lacks, one line per protection (a
 * server, at start; serve.c). */
struct jail_host;
void cli_host_warnings(const struct jail_host *h);

#endif
