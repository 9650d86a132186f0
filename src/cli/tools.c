/* tools.c - `agentjail tools`: print the tool definitions the MCP server
 * offers, in the function-calling format of a framework, for agents that
 * call tools without MCP (and then call the REST API themselves). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"
#include "mcp/tools.h"

static const char usage_text[] =
	"usage: agentjail tools [--format mcp|openai|anthropic]\n"
	"\n"
	"Print the definitions of agentjail's tools (run_code, run_command,\n"
	"write_file, read_file, list_files, create_sandbox, destroy_sandbox) as\n"
	"JSON on stdout:\n"
	"  mcp        {\"tools\": [...]} as MCP tools/list returns it (default)\n"
	"  openai     the \"tools\" array of the OpenAI Chat Completions API\n"
	"  anthropic  the \"tools\" array of the Anthropic Messages API\n";

int cmd_tools(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *format = "mcp";
	int c;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hf:", longopts, NULL)) != -1) {
		if (c == 'f') {
			format = optarg;
		} else if (c == 'h') {
			fputs(usage_text, stdout);
			return 0;
		} else {
			fprintf(stderr, "agentjail tools: bad option '%s'\n%s",
				argv[optind - 1], usage_text);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "agentjail tools: unexpected argument '%s'\n%s",
			argv[optind], usage_text);
		return 2;
	}
	json_t *defs = mcp_tools_render(format);
	if (!defs) {
		fprintf(stderr, "agentjail tools: unknown format '%s' (mcp, openai "
			"or anthropic)\n", format);
		return 2;
	}
	int rc = json_dumpf(defs, stdout, JSON_INDENT(2)) == 0 ? 0 : 1;
	json_decref(defs);
	fputc('\n', stdout);
	return rc;
}
