/* pool.c - see pool.h.
 *
 * A refill thread keeps cfg.pool_size sandboxes of the default shape built
 * and registered with the pump (and, with cfg.python_warm, their default
 * python context started), outside the sandbox table.  Create takes one
 * whole: its id and tokens were made fresh for it and never shown to
 * anyone, its workspace is untouched.
 */
#include "box/pool.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct pool {
	struct box_mgr *m;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct sandbox **ready;
	int n, size;
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

static void *refill(void *arg)
{
	struct pool *p = arg;
	pthread_mutex_lock(&p->lock);
	while (!p->stop) {
		if (p->n >= p->size) {
			pthread_cond_wait(&p->cond, &p->lock);
			continue;
		}
		pthread_mutex_unlock(&p->lock);
		struct sandbox *sb = build(p->m);
		pthread_mutex_lock(&p->lock);
		if (!sb) {
			/* back off: the host may be out of something */
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 1;
			pthread_cond_timedwait(&p->cond, &p->lock, &ts);
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
	pthread_cond_init(&p->cond, NULL);
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
