/* main.c - agentjail: dispatch to a subcommand. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "run", cmd_run, "run one command in a fresh sandbox and exit" },
	{ "serve", cmd_serve, "serve the sandbox API over HTTP" },
	{ "keys", cmd_keys, "create, list and revoke API keys" },
	{ "audit", cmd_audit, "verify the audit log's hash chain, list records" },
	{ "mcp", cmd_mcp, "serve MCP on stdin/stdout for a local client" },
	{ "tools", cmd_tools, "print the tool definitions (mcp, openai, anthropic)" },
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: agentjail <command> [options]\n"
		"\n"
		"Self-hosted sandboxes for code written by AI agents.\n"
		"\n"
		"commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n'agentjail <command> --help' describes each command's options.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "agentjail: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
