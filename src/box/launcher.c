/* launcher.c - see launcher.h.  Two halves: the client the manager's
 * threads call (serialized by a mutex, one request in flight), and the
 * single-threaded loop of the launcher process. */
#include "box/launcher.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "box/proto.h"
#include "util/fdpass.h"

enum l_type { L_SPAWN = 1, L_DESTROY, L_STATS, L_KILL_OTHERS, L_REPLY };

#define L_NAME_MAX 64

struct l_req {
	uint32_t type;
	uint32_t net_host;
	uint32_t host_id;
	uint32_t owner_id;
	char name[L_NAME_MAX];
	struct jail_limits limits;
};

struct l_reply {
	uint32_t type;
	int32_t code; /* enum aj_code */
	int32_t sys_errno;
	int32_t pid;
	uint32_t host_uid;
	uint32_t host_gid;
	char msg[256];
	char warnings[256];
	struct jail_stats stats;
};

struct launcher {
	pthread_mutex_t lock;
	int sock;
	pid_t pid;
};

/* ---- the launcher process -------------------------------------------- */

struct held {
	char name[L_NAME_MAX];
	struct jail jail;
};

/* The filesystem plan is shared by the jails built within this long of
 * each other: looking it up costs the launcher ~0.25 ms per jail, and a
 * host's /etc rarely changes (a change reaches new sandboxes this late). */
#define PLAN_MAX_AGE_S 10

struct lstate {
	int sock;
	struct jail_policy *policy[2]; /* [net_host] */
	struct jail_fs_plan *plan;
	time_t plan_at;
	struct held *jails;
	size_t n, cap;
};

static struct held *find(struct lstate *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->jails[i].name, name) == 0)
			return &s->jails[i];
	return NULL;
}

static void fail_reply(struct l_reply *r, const struct aj_err *e)
{
	r->code = (int32_t)e->code;
	r->sys_errno = e->sys_errno;
	memcpy(r->msg, e->msg, sizeof(r->msg));
	r->msg[sizeof(r->msg) - 1] = '\0';
}

static bool valid_name(const char *n)
{
	if (!n[0])
		return false;
	for (const char *p = n; *p; p++)
		if (!(*p == '-' || *p == '_' || (*p >= '0' && *p <= '9') ||
		      (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
			return false;
	return true;
}

static int grow(struct lstate *s)
{
	if (s->n < s->cap)
		return 0;
	size_t cap = s->cap ? s->cap * 2 : 64;
	struct held *j = realloc(s->jails, cap * sizeof(*j));
	if (!j)
		return -1;
	s->jails = j;
	s->cap = cap;
	return 0;
}

/* Warnings of a jail, joined with "; " into one reply field. */
static void join_warnings(const struct jail_warnings *w, char *out, size_t cap)
{
	size_t off = 0;
	out[0] = '\0';
	for (int i = 0; i < w->n; i++) {
		size_t len = strnlen(w->msg[i], sizeof(w->msg[i]));
		if (off + len + 3 >= cap)
			break;
		if (off) {
			memcpy(out + off, "; ", 2);
			off += 2;
		}
		memcpy(out + off, w->msg[i], len);
		off += len;
		out[off] = '\0';
	}
}

static int do_spawn(struct lstate *s, const struct l_req *q, struct l_reply *r,
		    int *fd_out)
{
	struct aj_err e;
	int net = q->net_host ? 1 : 0;
	int sv[2];

	if (!valid_name(q->name) || find(s, q->name)) {
		aj_err_set(&e, AJ_EINVAL, 0, "bad or duplicate jail name");
		goto fail;
	}
	if (!s->policy[net] &&
	    jail_policy_build(net ? JAIL_NET_HOST : JAIL_NET_NONE,
			      &s->policy[net], &e) < 0)
		goto fail;
	time_t now = time(NULL);
	if (!s->plan || now - s->plan_at >= PLAN_MAX_AGE_S || now < s->plan_at) {
		struct jail_fs_plan *fresh;
		if (jail_fs_plan_new(&fresh, &e) < 0)
			goto fail;
		jail_fs_plan_delete(s->plan);
		s->plan = fresh;
		s->plan_at = now;
	}
	if (grow(s) < 0) {
		aj_err_set(&e, AJ_EINTERNAL, ENOMEM, "out of memory");
		goto fail;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		aj_err_sys(&e, AJ_EINTERNAL, "socketpair");
		goto fail;
	}

	struct jail_spec spec;
	jail_spec_init(&spec);
	spec.limits = q->limits;
	spec.net = net ? JAIL_NET_HOST : JAIL_NET_NONE;
	spec.policy = s->policy[net];
	spec.fs_plan = s->plan;
	spec.name = q->name;
	spec.host_id = q->host_id;
	spec.owner_id = q->owner_id;

	struct held *h = &s->jails[s->n];
	memset(h, 0, sizeof(*h));
	memcpy(h->name, q->name, sizeof(h->name));
	int rc = jail_start(&spec, supervisor_main, NULL, sv[1], &h->jail, &e);
	close(sv[1]);
	if (rc < 0) {
		close(sv[0]);
		goto fail;
	}
	s->n++;
	r->pid = h->jail.pid;
	r->host_uid = h->jail.host_uid;
	r->host_gid = h->jail.host_gid;
	join_warnings(&h->jail.warnings, r->warnings, sizeof(r->warnings));
	*fd_out = sv[0];
	return 0;
fail:
	fail_reply(r, &e);
	return -1;
}

static void do_destroy(struct lstate *s, const struct l_req *q, struct l_reply *r)
{
	struct held *h = find(s, q->name);
	if (!h) {
		struct aj_err e;
		aj_err_set(&e, AJ_ENOTFOUND, 0, "no jail '%.64s'", q->name);
		fail_reply(r, &e);
		return;
	}
	jail_destroy(&h->jail);
	*h = s->jails[--s->n];
}

static void do_stats(struct lstate *s, const struct l_req *q, struct l_reply *r)
{
	struct aj_err e;
	struct held *h = find(s, q->name);
	if (!h) {
		aj_err_set(&e, AJ_ENOTFOUND, 0, "no jail '%.64s'", q->name);
		fail_reply(r, &e);
		return;
	}
	if (jail_stats(&h->jail, &r->stats, &e) < 0)
		fail_reply(r, &e);
}

static void do_kill_others(struct lstate *s, const struct l_req *q,
			   struct l_reply *r)
{
	struct aj_err e;
	struct held *h = find(s, q->name);
	if (!h)
		aj_err_set(&e, AJ_ENOTFOUND, 0, "no jail '%.64s'", q->name);
	if (!h || jail_kill_others(&h->jail, &e) < 0)
		fail_reply(r, &e);
}

static void launcher_loop(int sock)
{
	struct lstate s = { .sock = sock };
	struct l_req q;

	for (;;) {
		int fd = -1;
		ssize_t n = aj_recv_msg(sock, &q, sizeof(q), NULL, NULL);
		if (n == 0 || (n < 0 && errno != EMSGSIZE))
			break; /* the server is gone */
		struct l_reply r = { .type = L_REPLY };
		if (n != (ssize_t)sizeof(q)) {
			r.code = AJ_EINVAL;
			strcpy(r.msg, "malformed launcher request");
		} else {
			q.name[L_NAME_MAX - 1] = '\0';
			switch (q.type) {
			case L_SPAWN: do_spawn(&s, &q, &r, &fd); break;
			case L_DESTROY: do_destroy(&s, &q, &r); break;
			case L_STATS: do_stats(&s, &q, &r); break;
			case L_KILL_OTHERS: do_kill_others(&s, &q, &r); break;
			default:
				r.code = AJ_EINVAL;
				strcpy(r.msg, "unknown launcher request");
			}
		}
		if (aj_send_msg(sock, &r, sizeof(r), fd >= 0 ? &fd : NULL,
				fd >= 0 ? 1 : 0) < 0 && errno == EPIPE)
			break;
		if (fd >= 0)
			close(fd);
	}
	for (size_t i = 0; i < s.n; i++)
		jail_destroy(&s.jails[i].jail);
	free(s.jails);
	jail_policy_free(s.policy[0]);
	jail_policy_free(s.policy[1]);
	jail_fs_plan_delete(s.plan);
}

/* ---- the client ------------------------------------------------------ */

/* Every supervisor is a fork of the launcher, so it carries the server's
 * command line, and /proc/1/cmdline (unlike environ) is readable by the
 * sandboxed code whatever PR_SET_DUMPABLE says: the state directory, the
 * listen address and any other option would show.  Overwrite the argument
 * area of this process (from /proc/self/stat: arg_start and arg_end,
 * fields 48 and 49) before any jail is forked from it. */
static void blank_cmdline(const char *title)
{
	char buf[2048];
	int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	char *p = strrchr(buf, ')'), *save = NULL;
	unsigned long start = 0, end = 0;
	int field = 3; /* the first after "pid (comm)" */
	for (char *t = p ? strtok_r(p + 1, " ", &save) : NULL; t && field <= 49;
	     t = strtok_r(NULL, " ", &save), field++) {
		if (field == 48)
			start = strtoul(t, NULL, 10);
		else if (field == 49)
			end = strtoul(t, NULL, 10);
	}
	if (!start || end <= start || end - start > (1u << 20))
		return;
	size_t len = end - start, tl = strlen(title);
	memset((void *)start, 0, len);
	if (tl < len)
		memcpy((void *)start, title, tl);
}

int launcher_start(struct launcher **out, struct aj_err *e)
{
	int sv[2];
	struct launcher *l = calloc(1, sizeof(*l));
	if (!l)
		return aj_err_set(e, AJ_EINTERNAL, ENOMEM, "out of memory");
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		free(l);
		return aj_err_sys(e, AJ_EINTERNAL, "launcher socketpair");
	}
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		free(l);
		return aj_err_sys(e, AJ_EINTERNAL, "fork launcher");
	}
	if (pid == 0) {
		/* Die with the server, and take every jail along. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		prctl(PR_SET_NAME, "aj-launcher");
		blank_cmdline("aj-launcher");
		signal(SIGPIPE, SIG_IGN);
		close(sv[0]);
		/* Only the socket survives: no server descriptor (listening
		 * socket, database) may reach a jail. */
		if (dup2(sv[1], 3) < 0)
			_exit(1);
		syscall(SYS_close_range, 4, ~0U, 0);
		launcher_loop(3);
		_exit(0);
	}
	close(sv[1]);
	pthread_mutex_init(&l->lock, NULL);
	l->sock = sv[0];
	l->pid = pid;
	*out = l;
	return 0;
}

void launcher_stop(struct launcher *l)
{
	if (!l)
		return;
	/* Closing the socket ends its loop; it destroys its jails first. */
	close(l->sock);
	waitpid(l->pid, NULL, 0);
	pthread_mutex_destroy(&l->lock);
	free(l);
}

static int call(struct launcher *l, struct l_req *q, struct l_reply *r,
		int *fd, struct aj_err *e)
{
	int nfd = fd ? 1 : 0;
	pthread_mutex_lock(&l->lock);
	if (aj_send_msg(l->sock, q, sizeof(*q), NULL, 0) < 0) {
		pthread_mutex_unlock(&l->lock);
		return aj_err_sys(e, AJ_EINTERNAL, "launcher is gone");
	}
	ssize_t n = aj_recv_msg(l->sock, r, sizeof(*r), fd, fd ? &nfd : NULL);
	pthread_mutex_unlock(&l->lock);
	if (n != (ssize_t)sizeof(*r) || r->type != L_REPLY)
		return aj_err_set(e, AJ_EINTERNAL, errno, "launcher did not answer");
	if (r->code != AJ_OK) {
		r->msg[sizeof(r->msg) - 1] = '\0';
		return aj_err_set(e, (enum aj_code)r->code, r->sys_errno, "%s", r->msg);
	}
	if (fd && nfd != 1)
		return aj_err_set(e, AJ_EINTERNAL, 0, "launcher sent no socket");
	return 0;
}

static int set_name(struct l_req *q, const char *name, struct aj_err *e)
{
	if (strlen(name) >= L_NAME_MAX)
		return aj_err_set(e, AJ_EINVAL, 0, "jail name too long");
	strcpy(q->name, name);
	return 0;
}

int launcher_spawn(struct launcher *l, const char *name,
		   const struct jail_limits *lim, bool net_host, uid_t host_id,
		   uid_t owner_id, struct launched *out, struct aj_err *e)
{
	struct l_req q = { .type = L_SPAWN, .net_host = net_host,
			   .host_id = host_id, .owner_id = owner_id, .limits = *lim };
	struct l_reply r;
	int fd = -1;
	if (set_name(&q, name, e) < 0 || call(l, &q, &r, &fd, e) < 0)
		return -1;
	out->pid = r.pid;
	out->ctl_fd = fd;
	out->host_uid = r.host_uid;
	out->host_gid = r.host_gid;
	r.warnings[sizeof(r.warnings) - 1] = '\0';
	memcpy(out->warnings, r.warnings, sizeof(out->warnings));
	return 0;
}

int launcher_destroy(struct launcher *l, const char *name, struct aj_err *e)
{
	struct l_req q = { .type = L_DESTROY };
	struct l_reply r;
	if (set_name(&q, name, e) < 0)
		return -1;
	return call(l, &q, &r, NULL, e);
}

int launcher_stats(struct launcher *l, const char *name, struct jail_stats *st,
		   struct aj_err *e)
{
	struct l_req q = { .type = L_STATS };
	struct l_reply r;
	if (set_name(&q, name, e) < 0 || call(l, &q, &r, NULL, e) < 0)
		return -1;
	*st = r.stats;
	return 0;
}

int launcher_kill_others(struct launcher *l, const char *name, struct aj_err *e)
{
	struct l_req q = { .type = L_KILL_OTHERS };
	struct l_reply r;
	if (set_name(&q, name, e) < 0)
		return -1;
	return call(l, &q, &r, NULL, e);
}
