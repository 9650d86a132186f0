/* box_fixture.h - a manager in a temporary state dir, a caller, and
 * (optionally) one sandbox, for the cmocka suites that drive src/box
 * against real jails.  Header-only: each suite is one translation unit. */
#ifndef AJ_TEST_BOX_FIXTURE_H
#define AJ_TEST_BOX_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "box/box.h"

struct fixture {
	char dir[64];
	struct box_mgr *m;
	struct box_caller me;    /* a user of tenant "acme" */
	struct box_caller other; /* a user of tenant "other" */
	char id[40];             /* a sandbox of me, if asked for */
};

/* tweak may adjust the config (pool, shapes); with_sandbox creates one. */
static inline struct fixture *fixture_open(void (*tweak)(struct box_config *),
					   bool with_sandbox)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct box_config cfg;
	struct aj_err e;
	snprintf(f->dir, sizeof(f->dir), "/tmp/aj-test-box-XXXXXX");
	if (!mkdtemp(f->dir))
		return NULL;
	box_config_defaults(&cfg);
	cfg.state_dir = f->dir;
	if (tweak)
		tweak(&cfg);
	if (box_mgr_open(&cfg, &f->m, &e) < 0) {
		fprintf(stderr, "box_mgr_open: %s\n", e.msg);
		return NULL;
	}
	strcpy(f->me.tenant, "acme");
	strcpy(f->me.key_id, "key_test");
	f->me.role = ROLE_USER;
	strcpy(f->other.tenant, "other");
	strcpy(f->other.key_id, "key_other");
	f->other.role = ROLE_USER;
	if (with_sandbox) {
		struct box_create req = { 0 };
		struct box_info info;
		if (box_create(f->m, &f->me, &req, &info, &e) < 0) {
			fprintf(stderr, "box_create: %s\n", e.msg);
			return NULL;
		}
		strcpy(f->id, info.id);
		box_info_free(&info);
	}
	return f;
}

static inline int fixture_close(struct fixture *f)
{
	char cmd[128];
	box_mgr_close(f->m);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	int rc = system(cmd);
	free(f);
	return rc == 0 ? 0 : -1;
}

#endif
