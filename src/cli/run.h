/* run.h - option parsing of `agentjail run`, apart from the command so the
 * unit tests can drive it. */
#ifndef AJ_CLI_RUN_H
#define AJ_CLI_RUN_H

#include <stdbool.h>

#include "jail/jail.h"
#include "util/err.h"

struct run_opts {
	struct jail_spec spec;   /* binds/env point into the arrays below */
	struct jail_bind *binds; /* src/dst strings owned (malloc'd) */
	const char **env;        /* point into argv */
	bool json;
	bool help;
	unsigned require;        /* --require: protections (1u << JAIL_PROT_x) */
	char **cmd;              /* NULL-terminated, points into argv */
};

/* Parse argv (argv[0] = "run").  On error returns -1 with a message for
 * the user in e (the caller exits 2).  With --help, o->help is set and
 * nothing else is checked. */
int run_opts_parse(int argc, char **argv, struct run_opts *o, struct aj_err *e);
void run_opts_free(struct run_opts *o);

#endif
