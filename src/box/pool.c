/* pool.c - see pool.h.
 *
 * A refill thread keeps cfg.pool_size sandboxes of the default shape built
 * and registered with the pump (and, with cfg.python_warm, their default
 * python context started), outside the sandbox table.  Create takes one
 * whole: its id and tokens were made fresh for it and never shown to
 * anyone, its workspace is untouched.
 *
 * Refilling is background work and must not slow the request it serves:
 * building a jail takes a few milliseconds of CPU in the launcher, and on
 * a small machine that lands on the very create that took the sandbox
 * (measured: a hand-over of 0.5 ms became 2.4 ms).  So while the pool is
 * at least half full, a refill waits until no sandbox has been taken for
 * QUIET_MS; below half it refills at once, since a burst is draining it.
 */
#include "box/pool.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define QUIET_MS 10

struct pool {
	struct box_mgr *m;
	pthread_mutex_t lock;
	pthread_cond_t cond;   /* CLOCK_MONOTONIC */
	struct sandbox **ready;
	int n, size;
	int64_t last_take;     /* mono_ms of the latest hand-over */
	bool stop;
	pthread_t th;
};

static bool same_shape(const struct box_shape *a, const struct box_shape *b)
{
	return a->memory_bytes == b->memory_bytes && a->cpu_millis == b->cpu_millis &&
	       a->pids == b->pids && a->disk_bytes == b->disk_bytes &&
	       a->disk_inodes == b->disk_inodes && a->net_host == b->net_host;
}

static struct sandbox *build(struct box_mgr *m)
{
	struct aj_err e;
	struct sandbox *sb = sb_alloc(m, "", &m->cfg.default_shape);
	if (!sb)
		return NULL;
	if (sb_spawn(m, sb, &e) < 0) {
		fprintf(stderr, "agentjail: pool: %s\n", e.msg);
		sb_unref(sb);
		return NULL;
	}
	if (m->cfg.python_warm && sb_warm_python(sb, &e) < 0)
		fprintf(stderr, "agentjail: pool: warm python: %s\n", e.msg);
	return sb;
}

static void wait_until(struct pool *p, int64_t mono)
{
	struct timespec ts = { .tv_sec = mono / 1000,
			       .tv_nsec = (mono % 1000) * 1000000 };
	pthread_cond_timedwait(&p->cond, &p->lock, &ts);
}

/* p->lock held: may a refill start now?  If not, *until says when to
 * look again (0: when woken). */
static bool refill_now(struct pool *p, int64_t *until)
{
	*until = 0;
	if (p->n >= p->size)
		return false;
	if (p->n * 2 < p->size)
		return true;
	int64_t quiet = p->last_take + QUIET_MS;
	if (mono_ms() >= quiet)
		return true;
	*until = quiet;
	return false;
}

static void *refill(void *arg)
{
	struct pool *p = arg;
	pthread_mutex_lock(&p->lock);
	while (!p->stop) {
		int64_t until;
		if (!refill_now(p, &until)) {
			if (until)
				wait_until(p, until);
			else
				pthread_cond_wait(&p->cond, &p->lock);
			continue;
		}
		pthread_mutex_unlock(&p->lock);
		struct sandbox *sb = build(p->m);
		pthread_mutex_lock(&p->lock);
		if (!sb) {
			/* back off: the host may be out of something */
			wait_until(p, mono_ms() + 1000);
			continue;
		}
		if (p->stop || p->n >= p->size) {
			pthread_mutex_unlock(&p->lock);
			sb_discard(p->m, sb);
			sb_unref(sb);
			pthread_mutex_lock(&p->lock);
			continue;
		}
		p->ready[p->n++] = sb;
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

int pool_start(struct box_mgr *m, struct pool **out, struct aj_err *e)
{
	struct pool *p = calloc(1, sizeof(*p));
	if (!p)
		return aj_err_set(e, AJ_EINTERNAL, ENOMEM, "out of memory");
	p->m = m;
	p->size = m->cfg.pool_size > 0 ? m->cfg.pool_size : 0;
	pthread_mutex_init(&p->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (p->size) {
		p->ready = calloc((size_t)p->size, sizeof(*p->ready));
		if (!p->ready || pthread_create(&p->th, NULL, refill, p) != 0) {
			free(p->ready);
			free(p);
			return aj_err_set(e, AJ_EINTERNAL, errno, "cannot start the pool");
		}
	}
	*out = p;
	return 0;
}

void pool_stop(struct pool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	if (p->size)
		pthread_join(p->th, NULL);
	for (int i = 0; i < p->n; i++) {
		sb_discard(p->m, p->ready[i]);
		sb_unref(p->ready[i]);
	}
	free(p->ready);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

struct sandbox *pool_take(struct pool *p, const struct box_shape *shape,
			  bool with_env)
{
	struct sandbox *sb = NULL;
	if (!p || !p->size || !same_shape(shape, &p->m->cfg.default_shape))
		return NULL;
	pthread_mutex_lock(&p->lock);
	while (p->n > 0 && !sb) {
		sb = p->ready[--p->n];
		pthread_mutex_lock(&sb->lock);
		bool dead = sb->dead;
		pthread_mutex_unlock(&sb->lock);
		if (dead) {
			pthread_mutex_unlock(&p->lock);
			sb_discard(p->m, sb);
			sb_unref(sb);
			sb = NULL;
			pthread_mutex_lock(&p->lock);
		}
	}
	p->last_take = mono_ms();
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
	if (sb && with_env)
		sb_drop_contexts(sb);
	return sb;
}

int box_pool_ready(struct box_mgr *m)
{
	struct pool *p = m->pool;
	if (!p)
		return 0;
	pthread_mutex_lock(&p->lock);
	int n = p->n;
	pthread_mutex_unlock(&p->lock);
	return n;
}
