/* pump.c - the manager's I/O thread.
 *
 * One epoll loop reads every supervisor socket (process started / exited)
 * and every output pipe of every process, appends output to the process's
 * streams (up to its limit; the rest is counted and dropped, so a flood
 * never grows our memory or blocks the command) and wakes whoever waits on
 * the process.  One thread for all sandboxes keeps an idle sandbox at zero
 * threads.
 */
#include "box/sandbox.h"

#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "box/proto.h"
#include "util/fdpass.h"

/* Unconsumed driver output kept at most (the reader takes it promptly). */
#define CONSUME_CAP (8u << 20)

enum { REG_WAKE, REG_CTL, REG_PIPE };

struct reg {
	int kind;
	struct sandbox *sb; /* REG_CTL */
	struct proc *p;     /* REG_PIPE */
	int stream;
};

struct pump {
	struct box_mgr *m;
	int ep;
	int wake;
	pthread_t th;
	struct reg wake_reg;
	atomic_bool stop;
};

static struct proc *find_req(struct sandbox *sb, uint64_t req_id)
{
	for (struct proc *p = sb->procs; p; p = p->next)
		if (p->req_id == req_id)
			return p;
	return NULL;
}

/* Returns the pid of a command that started after we gave up on it (see
 * proc_start): nobody follows it, so it must not run. */
static pid_t on_started(struct sandbox *sb, const struct sup_started *m)
{
	struct proc *p = find_req(sb, m->h.req_id);
	if (!p || p->state == P_FAILED)
		return m->err == 0 && m->pid > 1 ? m->pid : 0;
	if (p->state != P_STARTING)
		return 0;
	if (m->err == 0 && m->pid > 1) {
		p->pid = m->pid;
		p->state = P_RUNNING;
	} else {
		p->start_err = m->err ? m->err : EINVAL;
		p->state = P_FAILED;
		p->ended_mono = mono_ms();
	}
	pthread_cond_broadcast(&p->cond);
	return 0;
}

static void on_exited(struct sandbox *sb, const struct sup_exited *m)
{
	struct proc *p = find_req(sb, m->h.req_id);
	if (!p || p->state != P_RUNNING || p->pid != m->pid)
		return;
	p->state = P_EXITED;
	p->status = m->status;
	p->cpu_ms = (m->utime_us + m->stime_us) / 1000;
	p->maxrss_kb = m->maxrss_kb;
	p->ended_mono = mono_ms();
	pthread_cond_broadcast(&p->cond);
}

/* The supervisor is gone: everything in the sandbox died with it. */
static void on_ctl_closed(struct pump *pu, struct reg *r)
{
	struct sandbox *sb = r->sb;
	epoll_ctl(pu->ep, EPOLL_CTL_DEL, sb->jail.ctl_fd, NULL);
	pthread_mutex_lock(&sb->lock);
	sb->dead = true;
	for (struct proc *p = sb->procs; p; p = p->next) {
		if (p->state == P_STARTING) {
			p->state = P_FAILED;
			p->start_err = ESRCH;
		} else if (p->state == P_RUNNING) {
			p->state = P_EXITED;
			p->status = 9; /* as killed by SIGKILL */
		}
		if (!p->ended_mono)
			p->ended_mono = mono_ms();
		pthread_cond_broadcast(&p->cond);
	}
	pthread_mutex_unlock(&sb->lock);
	/* let the reaper clean it up */
	pthread_mutex_lock(&pu->m->lock);
	pthread_cond_signal(&pu->m->cond);
	pthread_mutex_unlock(&pu->m->lock);
	sb_unref(sb);
	free(r);
}

static void read_ctl(struct pump *pu, struct reg *r)
{
	struct sandbox *sb = r->sb;
	union {
		struct sup_hdr h;
		struct sup_started st;
		struct sup_exited ex;
		struct sup_ack ack;
	} msg;
	for (int i = 0; i < 64; i++) {
		ssize_t n = aj_recv_msg(sb->jail.ctl_fd, &msg, sizeof(msg), NULL, NULL);
		if (n < 0 && (errno == EAGAIN || errno == EMSGSIZE))
			return;
		if (n <= 0) {
			on_ctl_closed(pu, r);
			return;
		}
		pid_t stray = 0;
		pthread_mutex_lock(&sb->lock);
		if (msg.h.type == SUP_STARTED && n == (ssize_t)sizeof(msg.st))
			stray = on_started(sb, &msg.st);
		else if (msg.h.type == SUP_EXITED && n == (ssize_t)sizeof(msg.ex))
			on_exited(sb, &msg.ex);
		pthread_mutex_unlock(&sb->lock);
		if (stray) {
			/* one try: this thread never waits on a supervisor */
			struct sup_signal k = { .h = { SUP_SIGNAL, sizeof(k), 0 },
						.pid = stray, .sig = SIGKILL, .group = SUP_SIG_GROUP };
			aj_send_msg(sb->jail.ctl_fd, &k, sizeof(k), NULL, 0);
		}
	}
}

/* Keep what fits under the process's limit and the sandbox's budget for
 * retained output (sb->lock held); count and drop the rest. */
static void keep(struct proc *p, struct pstream *s, const char *buf, size_t n)
{
	struct sandbox *sb = p->sb;
	s->total += n;
	size_t room;
	if (p->unlisted) {
		room = 0; /* a daemon child still writes; nobody will read it */
	} else if (p->consume) {
		room = s->data.len < CONSUME_CAP ? CONSUME_CAP - s->data.len : 0;
	} else {
		room = s->data.len < p->limit ? p->limit - s->data.len : 0;
		sb_evict_finished(sb, n < room ? n : room);
		size_t left = sb->retained < SB_RETAIN_MAX ? SB_RETAIN_MAX - sb->retained : 0;
		if (room > left)
			room = left;
	}
	size_t take = n < room ? n : room;
	if (take < n)
		s->truncated = true;
	if (take && aj_buf_append(&s->data, buf, take) < 0)
		s->truncated = true;
	else if (!p->consume)
		sb->retained += take;
}

static void read_pipe(struct pump *pu, struct reg *r)
{
	struct proc *p = r->p;
	struct pstream *s = &p->s[r->stream];
	char buf[65536];
	for (int i = 0; i < 16; i++) {
		ssize_t n = read(s->fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		pthread_mutex_lock(&p->sb->lock);
		if (n > 0) {
			keep(p, s, buf, (size_t)n);
		} else {
			epoll_ctl(pu->ep, EPOLL_CTL_DEL, s->fd, NULL);
			close(s->fd);
			s->fd = -1;
		}
		pthread_cond_broadcast(&p->cond);
		pthread_mutex_unlock(&p->sb->lock);
		if (n <= 0) {
			struct sandbox *sb = p->sb;
			proc_unref(p);
			sb_unref(sb);
			free(r);
			return;
		}
	}
}

static void *pump_main(void *arg)
{
	struct pump *pu = arg;
	struct epoll_event ev[64];
	while (!atomic_load(&pu->stop)) {
		int n = epoll_wait(pu->ep, ev, 64, -1);
		if (n < 0 && errno != EINTR)
			break;
		for (int i = 0; i < n; i++) {
			struct reg *r = ev[i].data.ptr;
			if (r->kind == REG_CTL)
				read_ctl(pu, r);
			else if (r->kind == REG_PIPE)
				read_pipe(pu, r);
			else {
				uint64_t v;
				ssize_t k = read(pu->wake, &v, sizeof(v));
				(void)k;
			}
		}
	}
	return NULL;
}

int pump_start(struct box_mgr *m, struct pump **out, struct aj_err *e)
{
	struct pump *pu = calloc(1, sizeof(*pu));
	if (!pu)
		return aj_err_set(e, AJ_EINTERNAL, ENOMEM, "out of memory");
	pu->m = m;
	pu->ep = epoll_create1(EPOLL_CLOEXEC);
	pu->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	pu->wake_reg.kind = REG_WAKE;
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &pu->wake_reg };
	if (pu->ep < 0 || pu->wake < 0 ||
	    epoll_ctl(pu->ep, EPOLL_CTL_ADD, pu->wake, &ev) < 0) {
		aj_err_sys(e, AJ_EINTERNAL, "pump epoll");
		goto fail;
	}
	if (pthread_create(&pu->th, NULL, pump_main, pu) != 0) {
		aj_err_set(e, AJ_EINTERNAL, errno, "cannot start the I/O thread");
		goto fail;
	}
	*out = pu;
	return 0;
fail:
	if (pu->ep >= 0)
		close(pu->ep);
	if (pu->wake >= 0)
		close(pu->wake);
	free(pu);
	return -1;
}

void pump_stop(struct pump *pu)
{
	if (!pu)
		return;
	atomic_store(&pu->stop, true);
	uint64_t one = 1;
	ssize_t k = write(pu->wake, &one, sizeof(one));
	(void)k;
	pthread_join(pu->th, NULL);
	close(pu->ep);
	close(pu->wake);
	free(pu);
}

static int add(struct pump *pu, int fd, struct reg *r, struct aj_err *e)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return aj_err_sys(e, AJ_EINTERNAL, "fcntl");
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.ptr = r };
	if (epoll_ctl(pu->ep, EPOLL_CTL_ADD, fd, &ev) < 0)
		return aj_err_sys(e, AJ_EINTERNAL, "epoll_ctl");
	return 0;
}

int pump_add_sandbox(struct pump *pu, struct sandbox *sb, struct aj_err *e)
{
	struct reg *r = calloc(1, sizeof(*r));
	if (!r)
		return aj_err_set(e, AJ_EINTERNAL, ENOMEM, "out of memory");
	r->kind = REG_CTL;
	r->sb = sb;
	sb_ref(sb);
	if (add(pu, sb->jail.ctl_fd, r, e) < 0) {
		sb_unref(sb);
		free(r);
		return -1;
	}
	return 0; /* NOLINT(clang-analyzer-unix.Malloc): epoll holds r */
}

/* On failure the streams not registered are closed, so the process is
 * never waited for on a pipe nobody reads. */
int pump_add_proc(struct pump *pu, struct proc *p, struct aj_err *e)
{
	int i;
	/* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): epoll holds each r */
	for (i = 0; i < PS_N; i++) {
		if (p->s[i].fd < 0)
			continue;
		struct reg *r = calloc(1, sizeof(*r));
		if (!r) {
			aj_err_set(e, AJ_EINTERNAL, ENOMEM, "out of memory");
			goto fail;
		}
		r->kind = REG_PIPE;
		r->p = p;
		r->stream = i;
		/* the registration keeps the process and its sandbox alive
		 * until the pipe's end of file, whatever else lets go first */
		proc_ref(p);
		sb_ref(p->sb);
		if (add(pu, p->s[i].fd, r, e) < 0) {
			sb_unref(p->sb);
			proc_unref(p);
			free(r);
			goto fail;
		}
	}
	return 0;
fail:
	pthread_mutex_lock(&p->sb->lock);
	for (; i < PS_N; i++) {
		if (p->s[i].fd >= 0)
			close(p->s[i].fd);
		p->s[i].fd = -1;
	}
	pthread_mutex_unlock(&p->sb->lock);
	return -1;
}
