/* manager.c - the sandbox table and the lifecycle of sandboxes: create,
 * look up, list, extend, destroy, expire.  Commands live in exec.c, files
 * in files.c, the I/O thread in pump.c. */
#include "box/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "box/pool.h"
#include "jail/jail.h"
#include "util/crypto.h"

#define MAX_SLOTS JAIL_BOX_IDS
#define MAX_KV 64
#define MAX_KEY_LEN 256
#define MAX_VALUE_LEN 4096

const double box_lat_bounds_ms[BOX_LAT_BUCKETS] = {
	0.5, 1, 2, 5, 10, 25, 50, 100, 250, 1000, 5000, 30000,
};

int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void box_config_defaults(struct box_config *c)
{
	memset(c, 0, sizeof(*c));
	c->state_dir = "./var";
	c->default_shape = (struct box_shape){
		.memory_bytes = 512ULL << 20, .cpu_millis = 1000, .pids = 256,
		.disk_bytes = 1ULL << 30, .disk_inodes = 65536,
	};
	c->max_shape = (struct box_shape){
		.memory_bytes = 8ULL << 30, .cpu_millis = 2000, .pids = 4096,
		.disk_bytes = 16ULL << 30, .disk_inodes = 1 << 20,
	};
	c->default_timeout_s = 300;
	c->max_timeout_s = 86400;
	c->max_sandboxes_per_tenant = 100;
	c->default_output_limit = 1 << 20;
	c->max_output_limit = 64 << 20;
	c->default_exec_timeout_ms = 60000;
	c->pool_size = 0;
	/* A kill -9 of the server loses nothing acknowledged (what the design
	 * asks); syncing every commit for power loss is the operator's
	 * choice (serve --durability power).  See docs/performance.md. */
	c->durability = STORE_DURABLE_PROCESS;
}

/* ---- small helpers ------------------------------------------------------ */

int box_require(const struct box_caller *c, enum role min, struct aj_err *e)
{
	if (c->role < min)
		return aj_err_set(e, AJ_EFORBIDDEN, 0,
				  "a %s key cannot do this (needs %s)",
				  role_name(c->role), role_name(min));
	return 0;
}

static bool may_see(const struct box_caller *c, const char *tenant)
{
	return c->role == ROLE_ADMIN || strcmp(c->tenant, tenant) == 0;
}

void box_audit(struct box_mgr *m, const struct box_caller *c,
	       const char *action, const char *sandbox_id,
	       const struct aj_err *e, json_t *detail)
{
	struct audit_rec r;
	memset(&r, 0, sizeof(r));
	r.ts_ms = now_ms();
	snprintf(r.key_id, sizeof(r.key_id), "%s", c ? c->key_id : "");
	snprintf(r.tenant, sizeof(r.tenant), "%s", c ? c->tenant : "");
	snprintf(r.action, sizeof(r.action), "%s", action);
	snprintf(r.sandbox_id, sizeof(r.sandbox_id), "%s", sandbox_id ? sandbox_id : "");
	snprintf(r.outcome, sizeof(r.outcome), "%s", e ? aj_code_name(e->code) : "ok");
	r.detail = detail ? json_dumps(detail, JSON_COMPACT) : NULL;
	json_decref(detail);
	struct aj_err ae;
	if (detail && !r.detail)
		fprintf(stderr, "agentjail: audit detail of %s lost: out of memory\n",
			action);
	if (store_audit_append(m->store, &r, NULL, &ae) < 0)
		fprintf(stderr, "agentjail: audit append failed: %s\n", ae.msg);
	free(r.detail);
}

static void hist_add(struct box_histogram *h, double ms)
{
	h->count++;
	h->sum_ms += ms;
	for (int i = 0; i < BOX_LAT_BUCKETS; i++)
		if (ms <= box_lat_bounds_ms[i])
			h->buckets[i]++;
}

void box_metrics_get(struct box_mgr *m, struct box_metrics *out)
{
	pthread_mutex_lock(&m->lock);
	*out = m->metrics;
	out->sandboxes_active = m->nboxes;
	pthread_mutex_unlock(&m->lock);
}

/* ---- key/value lists ------------------------------------------------------ */

static void kv_free(struct box_kv *kv, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(kv[i].key);
		free(kv[i].value);
	}
	free(kv);
}

static int kv_copy(const struct box_kv *src, size_t n, struct box_kv **out)
{
	*out = NULL;
	if (!n)
		return 0;
	struct box_kv *kv = calloc(n, sizeof(*kv));
	if (!kv)
		return -1;
	for (size_t i = 0; i < n; i++) {
		kv[i].key = strdup(src[i].key);
		kv[i].value = strdup(src[i].value);
		if (!kv[i].key || !kv[i].value) {
			kv_free(kv, n);
			return -1;
		}
	}
	*out = kv;
	return 0;
}

int box_kv_validate(const char *what, const struct box_kv *kv, size_t n,
		       bool env, struct aj_err *e)
{
	if (n > MAX_KV)
		return aj_err_set(e, AJ_EINVAL, 0, "%s: at most %d entries", what, MAX_KV);
	for (size_t i = 0; i < n; i++) {
		size_t kl = strlen(kv[i].key);
		if (kl == 0 || kl > MAX_KEY_LEN)
			return aj_err_set(e, AJ_EINVAL, 0, "%s: keys must be 1-%d bytes",
					  what, MAX_KEY_LEN);
		if (strlen(kv[i].value) > MAX_VALUE_LEN)
			return aj_err_set(e, AJ_EINVAL, 0, "%s: value of '%.64s' is over %d bytes",
					  what, kv[i].key, MAX_VALUE_LEN);
		if (env && strchr(kv[i].key, '='))
			return aj_err_set(e, AJ_EINVAL, 0, "%s: name '%.64s' contains '='",
					  what, kv[i].key);
	}
	return 0;
}

static char *kv_to_json(const struct box_kv *kv, size_t n)
{
	json_t *o = json_object();
	for (size_t i = 0; i < n; i++)
		json_object_set_new(o, kv[i].key, json_string(kv[i].value));
	char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	return s;
}

static int kv_from_json(const char *text, struct box_kv **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	json_t *o = text ? json_loads(text, 0, NULL) : NULL;
	if (!json_is_object(o)) {
		json_decref(o);
		return 0;
	}
	size_t cnt = json_object_size(o);
	struct box_kv *kv = calloc(cnt ? cnt : 1, sizeof(*kv));
	const char *k;
	json_t *v;
	size_t i = 0;
	json_object_foreach(o, k, v) {
		if (!kv || !json_is_string(v))
			continue;
		kv[i].key = strdup(k);
		kv[i].value = strdup(json_string_value(v));
		i++;
	}
	json_decref(o);
	*out = kv;
	*n = i;
	return 0;
}

/* ---- sandbox objects ------------------------------------------------------ */

void sb_ref(struct sandbox *sb)
{
	atomic_fetch_add(&sb->refs, 1);
}

static void sb_free(struct sandbox *sb)
{
	sb_free_contexts(sb);
	struct proc *p = sb->procs;
	while (p) {
		struct proc *next = p->next;
		p->next = NULL;
		proc_unref(p);
		p = next;
	}
	if (sb->jail.ctl_fd >= 0)
		close(sb->jail.ctl_fd);
	if (sb->root_fd >= 0)
		close(sb->root_fd);
	kv_free(sb->env, sb->nenv);
	kv_free(sb->metadata, sb->nmeta);
	free(sb->grants);
	sodium_memzero(sb->token_key, sizeof(sb->token_key));
	pthread_mutex_destroy(&sb->lock);
	free(sb);
}

void sb_unref(struct sandbox *sb)
{
	if (sb && atomic_fetch_sub(&sb->refs, 1) == 1)
		sb_free(sb);
}

int sb_lookup(struct box_mgr *m, const struct box_caller *c, const char *id,
	      struct sandbox **out, struct aj_err *e)
{
	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; i < m->nboxes; i++) {
		struct sandbox *sb = m->boxes[i];
		if (atomic_load(&sb->visible) && strcmp(sb->id, id) == 0 &&
		    may_see(c, sb->tenant)) {
			sb_ref(sb);
			pthread_mutex_unlock(&m->lock);
			*out = sb;
			return 0;
		}
	}
	pthread_mutex_unlock(&m->lock);
	return aj_err_set(e, AJ_ENOTFOUND, 0, "sandbox '%.40s' not found", id);
}

static void info_from_sandbox(struct sandbox *sb, struct box_info *out)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->id, sizeof(out->id), "%s", sb->id);
	snprintf(out->tenant, sizeof(out->tenant), "%s", sb->tenant);
	snprintf(out->template_id, sizeof(out->template_id), "%s", sb->template_id);
	strcpy(out->state, "running");
	out->created_ms = sb->created_ms;
	pthread_mutex_lock(&sb->lock);
	out->expires_ms = sb->expires_ms;
	pthread_mutex_unlock(&sb->lock);
	out->shape = sb->shape;
	kv_copy(sb->metadata, sb->nmeta, &out->metadata);
	out->nmeta = out->metadata ? sb->nmeta : 0;
	kv_copy(sb->env, sb->nenv, &out->env);
	out->nenv = out->env ? sb->nenv : 0;
}

static char *shape_to_json(const struct box_shape *s, const struct box_kv *env,
			   size_t nenv)
{
	json_t *o = json_pack("{s:I,s:I,s:I,s:I,s:I,s:b}",
			      "memory_bytes", (json_int_t)s->memory_bytes,
			      "cpu_millis", (json_int_t)s->cpu_millis,
			      "pids", (json_int_t)s->pids,
			      "disk_bytes", (json_int_t)s->disk_bytes,
			      "disk_inodes", (json_int_t)s->disk_inodes,
			      "net_host", s->net_host);
	json_t *ev = json_object();
	for (size_t i = 0; i < nenv; i++)
		json_object_set_new(ev, env[i].key, json_string(env[i].value));
	json_object_set_new(o, "env", ev);
	char *str = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	return str;
}

static void info_from_row(const struct sandbox_row *r, struct box_info *out)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->id, sizeof(out->id), "%s", r->id);
	snprintf(out->tenant, sizeof(out->tenant), "%s", r->tenant);
	snprintf(out->state, sizeof(out->state), "%s", r->state);
	snprintf(out->template_id, sizeof(out->template_id), "%s", r->template_id);
	snprintf(out->end_reason, sizeof(out->end_reason), "%s", r->end_reason);
	out->created_ms = r->created_ms;
	out->expires_ms = r->expires_ms;
	out->ended_ms = r->ended_ms;
	kv_from_json(r->metadata_json, &out->metadata, &out->nmeta);
	json_t *o = r->spec_json ? json_loads(r->spec_json, 0, NULL) : NULL;
	if (o) {
		out->shape.memory_bytes = (uint64_t)json_integer_value(json_object_get(o, "memory_bytes"));
		out->shape.cpu_millis = (uint32_t)json_integer_value(json_object_get(o, "cpu_millis"));
		out->shape.pids = (uint64_t)json_integer_value(json_object_get(o, "pids"));
		out->shape.disk_bytes = (uint64_t)json_integer_value(json_object_get(o, "disk_bytes"));
		out->shape.disk_inodes = (uint64_t)json_integer_value(json_object_get(o, "disk_inodes"));
		char *env = json_dumps(json_object_get(o, "env"), JSON_COMPACT);
		kv_from_json(env, &out->env, &out->nenv);
		free(env);
		json_decref(o);
	}
}

void box_info_free(struct box_info *i)
{
	if (!i)
		return;
	kv_free(i->metadata, i->nmeta);
	kv_free(i->env, i->nenv);
	i->metadata = i->env = NULL;
	i->nmeta = i->nenv = 0;
}

void box_infos_free(struct box_info *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		box_info_free(&v[i]);
	free(v);
}

/* ---- table ---------------------------------------------------------------- */

static int table_add(struct box_mgr *m, struct sandbox *sb)
{
	if (m->nboxes == m->capboxes) {
		size_t cap = m->capboxes ? m->capboxes * 2 : 64;
		struct sandbox **b = realloc(m->boxes, cap * sizeof(*b));
		if (!b)
			return -1;
		m->boxes = b;
		m->capboxes = cap;
	}
	m->boxes[m->nboxes++] = sb;
	return 0;
}

/* Returns true if sb was in the table (and drops nothing: the caller owns
 * the table's reference from now on). */
static bool table_remove(struct box_mgr *m, struct sandbox *sb)
{
	for (size_t i = 0; i < m->nboxes; i++) {
		if (m->boxes[i] == sb) {
			m->boxes[i] = m->boxes[--m->nboxes];
			return true;
		}
	}
	return false;
}

static size_t tenant_count(struct box_mgr *m, const char *tenant)
{
	size_t n = 0;
	for (size_t i = 0; i < m->nboxes; i++)
		if (strcmp(m->boxes[i]->tenant, tenant) == 0)
			n++;
	return n;
}

static int take_slot(struct box_mgr *m, unsigned *slot)
{
	for (unsigned i = 0; i < MAX_SLOTS; i++) {
		if (!m->slots[i]) {
			m->slots[i] = 1;
			*slot = i;
			return 0;
		}
	}
	return -1;
}

/* ---- shapes --------------------------------------------------------------- */

static int shape_resolve(const struct box_config *cfg, const struct box_create *r,
			 struct box_shape *out, struct aj_err *e)
{
	*out = cfg->default_shape;
	const struct box_shape *mx = &cfg->max_shape;
	if (r->has_shape[BOX_SHAPE_MEMORY]) {
		if (r->shape.memory_bytes < (16ULL << 20) ||
		    r->shape.memory_bytes > mx->memory_bytes)
			return aj_err_set(e, AJ_EINVAL, 0,
					  "memory must be between 16 MiB and %llu MiB",
					  (unsigned long long)(mx->memory_bytes >> 20));
		out->memory_bytes = r->shape.memory_bytes;
	}
	if (r->has_shape[BOX_SHAPE_CPUS]) {
		if (r->shape.cpu_millis < 10 || r->shape.cpu_millis > mx->cpu_millis)
			return aj_err_set(e, AJ_EINVAL, 0, "cpus must be between 0.01 and %.2f",
					  mx->cpu_millis / 1000.0);
		out->cpu_millis = r->shape.cpu_millis;
	}
	if (r->has_shape[BOX_SHAPE_PIDS]) {
		if (r->shape.pids < 8 || r->shape.pids > mx->pids)
			return aj_err_set(e, AJ_EINVAL, 0, "pids must be between 8 and %llu",
					  (unsigned long long)mx->pids);
		out->pids = r->shape.pids;
	}
	if (r->has_shape[BOX_SHAPE_DISK]) {
		if (r->shape.disk_bytes < (1ULL << 20) || r->shape.disk_bytes > mx->disk_bytes)
			return aj_err_set(e, AJ_EINVAL, 0, "disk must be between 1 MiB and %llu MiB",
					  (unsigned long long)(mx->disk_bytes >> 20));
		out->disk_bytes = r->shape.disk_bytes;
	}
	if (r->has_shape[BOX_SHAPE_INODES]) {
		if (r->shape.disk_inodes < 64 || r->shape.disk_inodes > mx->disk_inodes)
			return aj_err_set(e, AJ_EINVAL, 0, "disk_inodes must be between 64 and %llu",
					  (unsigned long long)mx->disk_inodes);
		out->disk_inodes = r->shape.disk_inodes;
	}
	out->net_host = false;
	return 0;
}

void box_shape_limits(const struct box_shape *s, struct jail_limits *lim)
{
	memset(lim, 0, sizeof(*lim));
	lim->memory_bytes = s->memory_bytes;
	lim->pids = s->pids;
	lim->cpu_millis = s->cpu_millis;
	lim->disk_bytes = s->disk_bytes;
	lim->disk_inodes = s->disk_inodes;
	lim->fsize_bytes = s->disk_bytes;
	lim->nofile = 1024;
}

/* ---- create --------------------------------------------------------------- */

int sb_spawn(struct box_mgr *m, struct sandbox *sb, struct aj_err *e)
{
	struct jail_limits lim;
	box_shape_limits(&sb->shape, &lim);
	/* Each live sandbox gets its own host uid: even outside its
	 * namespaces, nothing of one sandbox is another's to touch; and its
	 * user namespace an owner of its own, so that the kernel's per-user
	 * counters (inotify, queued signals...) are the sandbox's alone. */
	pthread_mutex_lock(&m->lock);
	int rc = take_slot(m, &sb->slot);
	pthread_mutex_unlock(&m->lock);
	if (rc < 0)
		return aj_err_set(e, AJ_EQUOTA, 0, "no free host id for another sandbox");
	sb->has_slot = true;
	if (launcher_spawn(m->launcher, sb->id, &lim, sb->shape.net_host,
			   JAIL_DEFAULT_HOST_ID + 1 + sb->slot,
			   JAIL_OWNER_BOX_BASE + sb->slot, &sb->jail, e) < 0) {
		sb_discard(m, sb);
		return -1;
	}
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/root", (int)sb->jail.pid);
	/* Pin the sandbox's root now, while the pid surely is our jail's
	 * supervisor: every file operation resolves beneath this fd. */
	sb->root_fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (sb->root_fd < 0) {
		aj_err_sys(e, AJ_EINTERNAL, "open sandbox root");
		sb_discard(m, sb);
		return -1;
	}
	if (pump_add_sandbox(m->pump, sb, e) < 0) {
		sb_discard(m, sb);
		return -1;
	}
	return 0;
}

void sb_discard(struct box_mgr *m, struct sandbox *sb)
{
	pthread_mutex_lock(&sb->lock);
	bool was_dead = sb->killed;
	sb->dead = sb->killed = true;
	for (struct proc *p = sb->procs; p; p = p->next)
		pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&sb->lock);
	if (was_dead)
		return;
	struct aj_err e;
	if (sb->jail.pid > 0 && launcher_destroy(m->launcher, sb->id, &e) < 0)
		fprintf(stderr, "agentjail: destroy %s: %s\n", sb->id, e.msg);
	pthread_mutex_lock(&m->lock);
	if (sb->has_slot)
		m->slots[sb->slot] = 0;
	sb->has_slot = false;
	pthread_mutex_unlock(&m->lock);
}

struct sandbox *sb_alloc(struct box_mgr *m, const char *tenant,
			 const struct box_shape *shape)
{
	struct sandbox *sb = calloc(1, sizeof(*sb));
	if (!sb)
		return NULL;
	sb->mgr = m;
	atomic_init(&sb->refs, 1);
	pthread_mutex_init(&sb->lock, NULL);
	sb->jail.ctl_fd = -1;
	sb->root_fd = -1;
	memcpy(sb->id, "sb", 2);
	aj_random_hex(sb->id + 2, 9);
	snprintf(sb->tenant, sizeof(sb->tenant), "%s", tenant);
	sb->shape = *shape;
	aj_random_bytes(sb->token_key, sizeof(sb->token_key));
	return sb;
}

static int create_locked_checks(struct box_mgr *m, const struct box_caller *c,
				struct sandbox *sb, struct aj_err *e)
{
	pthread_mutex_lock(&m->lock);
	if (m->stopping) {
		pthread_mutex_unlock(&m->lock);
		return aj_err_set(e, AJ_EUNAVAIL, 0, "server is stopping");
	}
	if ((int64_t)tenant_count(m, c->tenant) >= m->cfg.max_sandboxes_per_tenant) {
		pthread_mutex_unlock(&m->lock);
		return aj_err_set(e, AJ_EQUOTA, 0,
				  "tenant '%s' already has %lld live sandboxes (the quota)",
				  c->tenant, (long long)m->cfg.max_sandboxes_per_tenant);
	}
	if (table_add(m, sb) < 0) {
		pthread_mutex_unlock(&m->lock);
		return aj_err_set(e, AJ_EQUOTA, 0, "no room for another sandbox");
	}
	sb_ref(sb); /* the table's reference */
	pthread_mutex_unlock(&m->lock);
	return 0;
}

static int create_record(struct box_mgr *m, const struct box_caller *c,
			 struct sandbox *sb, struct aj_err *e)
{
	struct sandbox_row row;
	memset(&row, 0, sizeof(row));
	snprintf(row.id, sizeof(row.id), "%s", sb->id);
	snprintf(row.tenant, sizeof(row.tenant), "%s", sb->tenant);
	snprintf(row.key_id, sizeof(row.key_id), "%s", c->key_id);
	strcpy(row.state, "running");
	snprintf(row.template_id, sizeof(row.template_id), "%s", sb->template_id);
	row.created_ms = sb->created_ms;
	row.expires_ms = sb->expires_ms;
	row.spec_json = shape_to_json(&sb->shape, sb->env, sb->nenv);
	row.metadata_json = kv_to_json(sb->metadata, sb->nmeta);
	int rc = store_sandbox_insert(m->store, &row, e);
	free(row.spec_json);
	free(row.metadata_json);
	return rc;
}

static int64_t clamp_timeout(const struct box_config *cfg, int64_t t)
{
	if (t <= 0)
		t = cfg->default_timeout_s;
	if (t > cfg->max_timeout_s)
		t = cfg->max_timeout_s;
	return t;
}

/* A sandbox for this request: a warm one from the pool when the shape
 * fits, else a new jail.  It is not in the table yet. */
static struct sandbox *obtain(struct box_mgr *m, const struct box_caller *c,
			      const struct box_shape *shape, size_t nenv,
			      struct aj_err *e)
{
	struct sandbox *sb = pool_take(m->pool, shape, nenv > 0);
	pthread_mutex_lock(&m->lock);
	if (sb)
		m->metrics.pool_hits++;
	else
		m->metrics.pool_misses++;
	pthread_mutex_unlock(&m->lock);
	if (!sb && !(sb = sb_alloc(m, c->tenant, shape)))
		aj_err_set(e, AJ_EINTERNAL, ENOMEM, "out of memory");
	return sb;
}

static int create_new(struct box_mgr *m, const struct box_caller *c,
		      const struct box_create *req, struct box_info *out,
		      struct aj_err *e)
{
	struct box_shape shape;
	struct timespec ts0;
	clock_gettime(CLOCK_MONOTONIC, &ts0);

	if (shape_resolve(&m->cfg, req, &shape, e) < 0 ||
	    box_kv_validate("env", req->env, req->nenv, true, e) < 0 ||
	    box_kv_validate("metadata", req->metadata, req->nmeta, false, e) < 0)
		return -1;
	if (req->timeout_s < 0)
		return aj_err_set(e, AJ_EINVAL, 0, "timeout must not be negative");
	struct sandbox *sb = obtain(m, c, &shape, req->nenv, e);
	if (!sb)
		return -1;
	snprintf(sb->tenant, sizeof(sb->tenant), "%s", c->tenant);
	snprintf(sb->key_id, sizeof(sb->key_id), "%s", c->key_id);
	snprintf(sb->template_id, sizeof(sb->template_id), "%s",
		 req->template_id ? req->template_id : "base");
	if (kv_copy(req->env, req->nenv, &sb->env) < 0 ||
	    kv_copy(req->metadata, req->nmeta, &sb->metadata) < 0) {
		aj_err_set(e, AJ_EINTERNAL, ENOMEM, "out of memory");
		goto fail;
	}
	sb->nenv = req->nenv;
	sb->nmeta = req->nmeta;
	if (create_locked_checks(m, c, sb, e) < 0)
		goto fail;
	if (sb->root_fd < 0 && sb_spawn(m, sb, e) < 0) {
		sb_destroy(m, sb, "create failed");
		sb_unref(sb);
		return -1;
	}
	sb->created_ms = now_ms();
	pthread_mutex_lock(&sb->lock);
	sb->expires_ms = sb->created_ms + clamp_timeout(&m->cfg, req->timeout_s) * 1000;
	/* the creator may have its access tokens (box_token_issue) without
	 * a record of its own: "sandbox.create" names it */
	int granted = sb_grant_add(sb, c);
	pthread_mutex_unlock(&sb->lock);
	if (granted < 0) {
		aj_err_set(e, AJ_EINTERNAL, ENOMEM, "out of memory");
		sb_destroy(m, sb, "create failed");
		sb_unref(sb);
		return -1;
	}
	if (create_record(m, c, sb, e) < 0) {
		sb_destroy(m, sb, "create failed");
		sb_unref(sb);
		return -1;
	}
	atomic_store(&sb->visible, true);
	info_from_sandbox(sb, out);
	pthread_mutex_lock(&m->lock);
	m->metrics.sandboxes_created++;
	struct timespec ts1;
	clock_gettime(CLOCK_MONOTONIC, &ts1);
	hist_add(&m->metrics.create_latency,
		 (ts1.tv_sec - ts0.tv_sec) * 1e3 + (ts1.tv_nsec - ts0.tv_nsec) / 1e6);
	pthread_cond_signal(&m->cond);
	pthread_mutex_unlock(&m->lock);
	sb_unref(sb);
	return 0;
fail:
	sb_discard(m, sb);
	sb_unref(sb);
	return -1;
}

int box_create(struct box_mgr *m, const struct box_caller *c,
	       const struct box_create *req, struct box_info *out,
	       struct aj_err *e)
{
	if (box_require(c, ROLE_USER, e) < 0)
		return -1;
	const char *key = req->idempotency_key && *req->idempotency_key
				  ? req->idempotency_key : NULL;
	if (key) {
		char *body;
		bool found;
		if (idem_begin(m, c->tenant, key, "create", &body, &found, e) < 0)
			return -1;
		if (found) {
			int rc = box_get(m, c, body, out, e);
			free(body);
			return rc;
		}
	}
	int rc = create_new(m, c, req, out, e);
	json_t *detail = NULL;
	if (rc == 0)
		detail = json_pack("{s:o,s:I}", "template", aj_json_text(out->template_id),
				   "expires_ms", (json_int_t)out->expires_ms);
	box_audit(m, c, "sandbox.create", rc == 0 ? out->id : NULL,
		  rc == 0 ? NULL : e, detail);
	if (key)
		idem_end(m, c->tenant, key, "create", 201, rc == 0 ? out->id : NULL);
	return rc;
}

/* ---- get / list --------------------------------------------------------- */

int box_get(struct box_mgr *m, const struct box_caller *c, const char *id,
	    struct box_info *out, struct aj_err *e)
{
	struct sandbox *sb;
	if (sb_lookup(m, c, id, &sb, NULL) == 0) {
		info_from_sandbox(sb, out);
		sb_unref(sb);
		return 0;
	}
	struct sandbox_row row;
	if (store_sandbox_get(m->store, id, &row, NULL) < 0)
		return aj_err_set(e, AJ_ENOTFOUND, 0, "sandbox '%.40s' not found", id);
	if (!may_see(c, row.tenant)) {
		sandbox_row_free(&row);
		return aj_err_set(e, AJ_ENOTFOUND, 0, "sandbox '%.40s' not found", id);
	}
	info_from_row(&row, out);
	sandbox_row_free(&row);
	return 0;
}

int box_usage(struct box_mgr *m, const struct box_caller *c, const char *id,
	      struct jail_stats *out, struct aj_err *e)
{
	struct sandbox *sb;
	if (sb_lookup(m, c, id, &sb, e) < 0)
		return -1;
	int rc = launcher_stats(m->launcher, sb->id, out, e);
	sb_unref(sb);
	return rc;
}

static bool meta_matches(const struct box_info *i, const struct box_filter *f)
{
	for (size_t k = 0; k < f->nmeta; k++) {
		bool ok = false;
		for (size_t j = 0; j < i->nmeta; j++)
			if (strcmp(i->metadata[j].key, f->metadata[k].key) == 0 &&
			    strcmp(i->metadata[j].value, f->metadata[k].value) == 0)
				ok = true;
		if (!ok)
			return false;
	}
	return true;
}

int box_list(struct box_mgr *m, const struct box_caller *c,
	     const struct box_filter *f, struct box_info **out, size_t *n,
	     struct aj_err *e)
{
	struct sandbox_row *rows = NULL;
	size_t nrows = 0;
	const char *state = f->state ? f->state : "running";
	const char *tenant = c->role == ROLE_ADMIN ? NULL : c->tenant;

	*out = NULL;
	*n = 0;
	if (strcmp(state, "running") != 0 && strcmp(state, "terminated") != 0 &&
	    strcmp(state, "all") != 0)
		return aj_err_set(e, AJ_EINVAL, 0,
				  "state must be running, terminated or all");
	if (store_sandbox_list(m->store, tenant, strcmp(state, "all") ? state : NULL,
			       &rows, &nrows, e) < 0)
		return -1;
	struct box_info *v = calloc(nrows ? nrows : 1, sizeof(*v));
	size_t k = 0;
	for (size_t i = 0; v && i < nrows; i++) {
		struct sandbox *sb;
		if (strcmp(rows[i].state, "running") == 0 &&
		    sb_lookup(m, c, rows[i].id, &sb, NULL) == 0) {
			info_from_sandbox(sb, &v[k]);
			sb_unref(sb);
		} else {
			info_from_row(&rows[i], &v[k]);
		}
		if (meta_matches(&v[k], f))
			k++;
		else
			box_info_free(&v[k]);
	}
	for (size_t i = 0; i < nrows; i++)
		sandbox_row_free(&rows[i]);
	free(rows);
	if (!v)
		return aj_err_set(e, AJ_EINTERNAL, ENOMEM, "out of memory");
	*out = v;
	*n = k;
	return 0;
}

/* ---- destroy / timeout -------------------------------------------------- */

void sb_destroy(struct box_mgr *m, struct sandbox *sb, const char *reason)
{
	pthread_mutex_lock(&m->lock);
	bool was = table_remove(m, sb);
	if (was) {
		m->metrics.sandboxes_destroyed++;
		if (strcmp(reason, "expired") == 0)
			m->metrics.sandboxes_expired++;
	}
	pthread_mutex_unlock(&m->lock);
	if (!was)
		return; /* someone else is destroying it */

	sb_discard(m, sb);
	struct aj_err e;
	if (sb->created_ms &&
	    store_sandbox_end(m->store, sb->id, now_ms(), reason, &e) < 0)
		fprintf(stderr, "agentjail: record end of %s: %s\n", sb->id, e.msg);
	sb_unref(sb); /* the table's reference */
}

int box_destroy(struct box_mgr *m, const struct box_caller *c, const char *id,
		struct aj_err *e)
{
	struct sandbox *sb;
	int rc = box_require(c, ROLE_USER, e);
	if (rc == 0)
		rc = sb_lookup(m, c, id, &sb, e);
	if (rc == 0) {
		sb_destroy(m, sb, "destroyed");
		sb_unref(sb);
	}
	box_audit(m, c, "sandbox.destroy", id, rc == 0 ? NULL : e, NULL);
	return rc;
}

int box_set_timeout(struct box_mgr *m, const struct box_caller *c,
		    const char *id, int64_t timeout_s, struct box_info *out,
		    struct aj_err *e)
{
	struct sandbox *sb;
	int rc = box_require(c, ROLE_USER, e);
	if (rc == 0 && timeout_s <= 0)
		rc = aj_err_set(e, AJ_EINVAL, 0, "timeout_s must be a positive number of seconds");
	if (rc == 0)
		rc = sb_lookup(m, c, id, &sb, e);
	if (rc == 0) {
		int64_t exp = now_ms() + clamp_timeout(&m->cfg, timeout_s) * 1000;
		pthread_mutex_lock(&sb->lock);
		sb->expires_ms = exp;
		pthread_mutex_unlock(&sb->lock);
		rc = store_sandbox_set_expiry(m->store, id, exp, e);
		if (rc == 0 && out)
			info_from_sandbox(sb, out);
		pthread_mutex_lock(&m->lock);
		pthread_cond_signal(&m->cond);
		pthread_mutex_unlock(&m->lock);
		sb_unref(sb);
	}
	box_audit(m, c, "sandbox.timeout", id, rc == 0 ? NULL : e, NULL);
	return rc;
}

/* ---- the reaper ------------------------------------------------------------ */

/* Kill commands past their deadline; return the nearest future deadline. */
static int64_t sweep_procs(struct sandbox *sb, int64_t now, int64_t next)
{
	pthread_mutex_lock(&sb->lock);
	for (struct proc *p = sb->procs; p; p = p->next) {
		if (p->state != P_RUNNING || !p->deadline_mono)
			continue;
		if (p->deadline_mono <= now && !p->timed_out) {
			p->timed_out = true;
			sb_kill_group(sb, p->pid, SIGKILL);
		} else if (!p->timed_out && p->deadline_mono < next) {
			next = p->deadline_mono;
		}
	}
	pthread_mutex_unlock(&sb->lock);
	return next;
}

static void *reaper_main(void *arg)
{
	struct box_mgr *m = arg;
	pthread_mutex_lock(&m->lock);
	while (!m->stopping) {
		int64_t now = now_ms(), mono = mono_ms();
		int64_t next = mono + 1000;
		struct sandbox *victim = NULL;
		const char *why = NULL;
		for (size_t i = 0; i < m->nboxes && !victim; i++) {
			struct sandbox *sb = m->boxes[i];
			if (!atomic_load(&sb->visible))
				continue; /* still starting */
			pthread_mutex_lock(&sb->lock);
			int64_t exp = sb->expires_ms;
			bool dead = sb->dead;
			pthread_mutex_unlock(&sb->lock);
			if (dead || exp <= now) {
				victim = sb;
				why = dead ? "supervisor exited" : "expired";
				sb_ref(sb);
				break;
			}
			if (mono + (exp - now) < next)
				next = mono + (exp - now);
			next = sweep_procs(sb, mono, next);
		}
		if (victim) {
			pthread_mutex_unlock(&m->lock);
			sb_destroy(m, victim, why);
			box_audit(m, NULL, "sandbox.expire", victim->id, NULL, NULL);
			sb_unref(victim);
			pthread_mutex_lock(&m->lock);
			continue;
		}
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		int64_t wait = next - mono;
		if (wait < 1)
			wait = 1;
		ts.tv_sec += wait / 1000;
		ts.tv_nsec += (wait % 1000) * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&m->cond, &m->lock, &ts);
	}
	pthread_mutex_unlock(&m->lock);
	return NULL;
}

/* ---- open / close --------------------------------------------------------- */

/* Two servers on one state dir would each think they own its sandboxes
 * (and the second would end the first one's at start): hold an exclusive
 * lock on <state>/lock for the manager's life. */
static int lock_state_dir(struct box_mgr *m, struct aj_err *e)
{
	char path[4200];
	if (mkdir(m->state_dir, 0700) < 0 && errno != EEXIST)
		return aj_err_sys(e, AJ_EINTERNAL, "create %s", m->state_dir);
	snprintf(path, sizeof(path), "%s/lock", m->state_dir);
	m->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (m->lock_fd < 0)
		return aj_err_sys(e, AJ_EINTERNAL, "open %s", path);
	if (flock(m->lock_fd, LOCK_EX | LOCK_NB) < 0)
		return aj_err_set(e, AJ_ECONFLICT, errno,
				  "state directory %s is in use by another agentjail "
				  "(serve or mcp); give each its own --state",
				  m->state_dir);
	return 0;
}

/* Sandboxes of a previous run died with it (their supervisors die with the
 * launcher): record that, and sweep any cgroups they left. */
static void end_previous_run(struct box_mgr *m)
{
	struct sandbox_row *rows = NULL;
	size_t n = 0;
	struct aj_err e;
	if (store_sandbox_list(m->store, NULL, "running", &rows, &n, &e) == 0) {
		for (size_t i = 0; i < n; i++) {
			/* its supervisor died with the old launcher; if anything
			 * was left in its cgroups, it goes now */
			jail_remove_named(rows[i].id, NULL);
			store_sandbox_end(m->store, rows[i].id, now_ms(),
					  "server restarted", NULL);
			box_audit(m, NULL, "sandbox.terminate", rows[i].id, NULL,
				  json_pack("{s:s}", "reason", "server restarted"));
			sandbox_row_free(&rows[i]);
		}
		free(rows);
	}
	if (jail_sweep_stale(&e) < 0)
		fprintf(stderr, "agentjail: sweeping old cgroups: %s\n", e.msg);
}

int box_mgr_open(const struct box_config *cfg, struct box_mgr **out,
		 struct aj_err *e)
{
	struct box_mgr *m = calloc(1, sizeof(*m));
	if (!m)
		return aj_err_set(e, AJ_EINTERNAL, ENOMEM, "out of memory");
	m->cfg = *cfg;
	pthread_mutex_init(&m->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&m->cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&m->idem_cond, NULL);
	m->lock_fd = -1;
	m->slots = calloc(MAX_SLOTS, 1);
	m->state_dir = strdup(cfg->state_dir);
	m->cfg.state_dir = m->state_dir;
	if (!m->slots || !m->state_dir) {
		aj_err_set(e, AJ_EINTERNAL, ENOMEM, "out of memory");
		goto fail;
	}
	/* The state dir is ours alone, or nothing starts.  What the host
	 * offers, before the launcher (on cgroup v2 this may move us into a
	 * leaf of our cgroup, and the launcher must be born there).  Then the
	 * launcher: it must be forked while we have one thread. */
	if (lock_state_dir(m, e) < 0)
		goto fail;
	jail_host_check(&m->host);
	int lacking = jail_host_missing(&m->host, cfg->require);
	if (lacking >= 0) {
		aj_err_set(e, AJ_EUNSUPPORTED, 0, "required protection %s is missing: %s",
			   jail_prot_name(lacking), m->host.why[lacking]);
		goto fail;
	}
	if (launcher_start(&m->launcher, e) < 0 ||
	    store_open(cfg->state_dir, &m->store, e) < 0 ||
	    store_set_durability(m->store, cfg->durability, e) < 0)
		goto fail;
	end_previous_run(m);
	if (pump_start(m, &m->pump, e) < 0)
		goto fail;
	if (pthread_create(&m->reaper, NULL, reaper_main, m) != 0) {
		aj_err_set(e, AJ_EINTERNAL, errno, "cannot start the reaper");
		goto fail;
	}
	if (pool_start(m, &m->pool, e) < 0) {
		pthread_mutex_lock(&m->lock);
		m->stopping = true;
		pthread_cond_broadcast(&m->cond);
		pthread_mutex_unlock(&m->lock);
		pthread_join(m->reaper, NULL);
		goto fail;
	}
	*out = m;
	return 0;
fail:
	pump_stop(m->pump);
	store_close(m->store);
	launcher_stop(m->launcher);
	if (m->lock_fd >= 0)
		close(m->lock_fd);
	free(m->slots);
	free(m->state_dir);
	free(m);
	return -1;
}

void box_mgr_close(struct box_mgr *m)
{
	if (!m)
		return;
	pool_stop(m->pool);
	pthread_mutex_lock(&m->lock);
	m->stopping = true;
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->lock);
	pthread_join(m->reaper, NULL);
	for (;;) {
		pthread_mutex_lock(&m->lock);
		struct sandbox *sb = m->nboxes ? m->boxes[0] : NULL;
		if (sb)
			sb_ref(sb);
		pthread_mutex_unlock(&m->lock);
		if (!sb)
			break;
		sb_destroy(m, sb, "server stopped");
		/* ours, taken above: sb_destroy dropped only the table's */
		sb_unref(sb); /* NOLINT(clang-analyzer-unix.Malloc) */
	}
	pump_stop(m->pump);
	launcher_stop(m->launcher);
	store_close(m->store);
	close(m->lock_fd);
	free(m->boxes);
	free(m->slots);
	free(m->state_dir);
	pthread_cond_destroy(&m->cond);
	pthread_cond_destroy(&m->idem_cond);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

const struct jail_host *box_mgr_host(struct box_mgr *m)
{
	return &m->host;
}

struct store *box_mgr_store(struct box_mgr *m)
{
	return m->store;
}

int box_auth(struct box_mgr *m, const char *secret, struct box_caller *out,
	     struct aj_err *e)
{
	struct key_info k;
	if (store_key_auth(m->store, secret, &k, e) < 0)
		return -1;
	memset(out, 0, sizeof(*out));
	memcpy(out->key_id, k.id, sizeof(out->key_id));
	memcpy(out->tenant, k.tenant, sizeof(out->tenant));
	out->role = k.role;
	return 0;
}

bool box_caller_active(struct box_mgr *m, const struct box_caller *c)
{
	struct key_info k;
	struct aj_err e;
	if (c->keyless)
		return true;
	/* a store that cannot answer now is asked again next time: only a
	 * key known to be gone or revoked is inactive */
	if (store_key_get(m->store, c->key_id, &k, &e) < 0)
		return e.code != AJ_ENOTFOUND;
	return k.revoked_ms == 0;
}

int64_t box_key_revocations(struct box_mgr *m)
{
	int64_t n;
	return store_key_revoked_count(m->store, &n, NULL) == 0 ? n : -1;
}

/* ---- keys and audit -------------------------------------------------------- */

int box_key_create(struct box_mgr *m, const struct box_caller *c,
		   const char *tenant, enum role role, char secret_out[48],
		   struct key_info *out, struct aj_err *e)
{
	int rc = box_require(c, ROLE_ADMIN, e);
	if (rc == 0)
		rc = store_key_create(m->store, tenant, role, secret_out, out, e);
	json_t *detail = json_pack("{s:o,s:s}", "key_id", aj_json_text(rc == 0 ? out->id : ""),
				   "role", role_name(role));
	box_audit(m, c, "key.create", NULL, rc ? e : NULL, detail);
	return rc;
}

int box_key_list(struct box_mgr *m, const struct box_caller *c,
		 struct key_info **out, size_t *n, struct aj_err *e)
{
	*out = NULL;
	*n = 0;
	if (box_require(c, ROLE_ADMIN, e) < 0)
		return -1;
	return store_key_list(m->store, out, n, e);
}

int box_key_revoke(struct box_mgr *m, const struct box_caller *c,
		   const char *key_id, struct aj_err *e)
{
	int rc = box_require(c, ROLE_ADMIN, e);
	if (rc == 0)
		rc = store_key_revoke(m->store, key_id, e);
	box_audit(m, c, "key.revoke", NULL, rc ? e : NULL,
		  json_pack("{s:o}", "key_id", aj_json_text(key_id)));
	return rc;
}

int box_audit_list(struct box_mgr *m, const struct box_caller *c,
		   const struct audit_filter *f, struct audit_rec **out,
		   size_t *n, struct aj_err *e)
{
	struct audit_filter scoped = *f;
	if (c->role != ROLE_ADMIN)
		scoped.tenant = c->tenant;
	return store_audit_list(m->store, &scoped, out, n, e);
}
