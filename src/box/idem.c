/* idem.c - Idempotency-Key: a retried request gets the first answer and
 * does not run again.
 *
 * The store keeps the answers of finished requests.  This file keeps the
 * requests still in flight: a retry that arrives while the first is
 * still running (a client whose own timeout is shorter than the command)
 * waits for the first to finish and then gets its answer.  If the first
 * failed without an answer to keep, the retry runs. */
#include "box/sandbox.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct idem_flight {
	struct idem_flight *next;
	char *tenant;
	char *key;
};

static struct idem_flight **find(struct box_mgr *m, const char *tenant,
				 const char *key)
{
	struct idem_flight **pp = &m->flights;
	for (; *pp; pp = &(*pp)->next)
		if (strcmp((*pp)->tenant, tenant) == 0 && strcmp((*pp)->key, key) == 0)
			break;
	return pp;
}

/* Claim the key, or wait for whoever holds it.  true once claimed. */
static bool claim(struct box_mgr *m, const char *tenant, const char *key)
{
	pthread_mutex_lock(&m->lock);
	if (*find(m, tenant, key)) {
		while (*find(m, tenant, key))
			pthread_cond_wait(&m->idem_cond, &m->lock);
		pthread_mutex_unlock(&m->lock);
		return false; /* look in the store again */
	}
	struct idem_flight *f = calloc(1, sizeof(*f));
	if (f && (f->tenant = strdup(tenant)) && (f->key = strdup(key))) {
		f->next = m->flights;
		m->flights = f;
	} else if (f) {
		free(f->tenant);
		free(f);
	}
	pthread_mutex_unlock(&m->lock);
	return true;
}

int idem_begin(struct box_mgr *m, const char *tenant, const char *key,
	       const char *scope, char **body, bool *found, struct aj_err *e)
{
	*body = NULL;
	*found = false;
	for (;;) {
		int status;
		if (store_idem_get(m->store, tenant, key, scope, &status, body, found, e) < 0)
			return -1;
		if (*found || claim(m, tenant, key))
			return 0;
	}
}

void idem_end(struct box_mgr *m, const char *tenant, const char *key,
	      const char *scope, int status, const char *body)
{
	struct aj_err e;
	if (body)
		store_idem_put(m->store, tenant, key, scope, status, body, &e);
	pthread_mutex_lock(&m->lock);
	struct idem_flight **pp = find(m, tenant, key);
	struct idem_flight *f = *pp;
	if (f) {
		*pp = f->next;
		free(f->tenant);
		free(f->key);
		free(f);
	}
	pthread_cond_broadcast(&m->idem_cond);
	pthread_mutex_unlock(&m->lock);
}
