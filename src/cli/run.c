/* run.c - `agentjail run`: placeholder until the isolation core lands. */
#include <stdio.h>

#include "cli/cli.h"

int cmd_run(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "agentjail run: not built yet\n");
	return 1;
}
