/* stdio.c - MCP over stdin/stdout: one JSON-RPC message per line each
 * way.  One thread reads; replies come from it and from tool-call
 * threads, serialized by the writer's lock so lines never interleave. */
#include "mcp/transport.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/buf.h"

#define LINE_MAX_BYTES (64u << 20) /* a message bigger than this is refused */

struct writer {
	pthread_mutex_t lock;
	int fd;
	bool broken; /* the reader went away: drop further output */
};

static void write_all(struct writer *w, const char *p, size_t n)
{
	while (n && !w->broken) {
		ssize_t k = write(w->fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && errno == EAGAIN) {
			struct pollfd pf = { .fd = w->fd, .events = POLLOUT };
			poll(&pf, 1, 1000);
			continue;
		}
		if (k <= 0) {
			w->broken = true;
			return;
		}
		p += k;
		n -= (size_t)k;
	}
}

static void writer_send(void *ctx, const char *json, bool final)
{
	struct writer *w = ctx;
	(void)final;
	if (!json)
		return; /* a cancelled request: no response is owed */
	pthread_mutex_lock(&w->lock);
	write_all(w, json, strlen(json));
	write_all(w, "\n", 1);
	pthread_mutex_unlock(&w->lock);
}

/* One line (without its newline); blank lines are ignored. */
static void handle_line(struct mcp_session *s, const struct mcp_out *out,
			char *line, size_t len)
{
	if (len && line[len - 1] == '\r')
		len--;
	size_t i = 0;
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (i == len)
		return;
	mcp_session_handle_text(s, line + i, len - i, out);
}

/* Split complete lines out of buf.  *skipping: we are discarding the rest
 * of an oversized line. */
static void drain_lines(struct mcp_session *s, const struct mcp_out *out,
			struct aj_buf *buf, bool *skipping)
{
	for (;;) {
		char *nl = buf->len ? memchr(buf->data, '\n', buf->len) : NULL;
		if (!nl)
			break;
		size_t len = (size_t)(nl - buf->data);
		if (!*skipping)
			handle_line(s, out, buf->data, len);
		*skipping = false;
		aj_buf_consume(buf, len + 1);
	}
	if (buf->len > LINE_MAX_BYTES && !*skipping) {
		out->send(out->ctx, "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":"
			  "{\"code\":-32700,\"message\":\"message too large\"}}", true);
		*skipping = true;
	}
	if (*skipping)
		aj_buf_consume(buf, buf->len);
}

/* Read until EOF or stop; 0, or -1 on a read error. */
static int read_loop(struct mcp_session *s, const struct mcp_out *out,
		     int in_fd, int stop_fd)
{
	struct aj_buf buf = { 0 };
	bool skipping = false;
	char chunk[65536];
	int rc = 0;
	for (;;) {
		struct pollfd pf[2] = { { .fd = in_fd, .events = POLLIN },
					{ .fd = stop_fd, .events = POLLIN } };
		if (poll(pf, stop_fd >= 0 ? 2 : 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			rc = -1;
			break;
		}
		if (stop_fd >= 0 && pf[1].revents)
			break;
		ssize_t n = read(in_fd, chunk, sizeof(chunk));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			rc = n < 0 ? -1 : 0;
			break;
		}
		if (aj_buf_append(&buf, chunk, (size_t)n) < 0) {
			rc = -1;
			break;
		}
		drain_lines(s, out, &buf, &skipping);
	}
	/* a last line without its newline still counts */
	if (rc == 0 && buf.len && !skipping)
		handle_line(s, out, buf.data, buf.len);
	aj_buf_free(&buf);
	return rc;
}

/* End of input: let running calls finish, so a piped script still gets
 * its answers - unless a signal says stop, or nobody reads stdout any
 * more (the client is gone: poll reports an error on our end of it). */
static void drain_calls(struct mcp_session *s, int out_fd, int stop_fd)
{
	do {
		struct pollfd pf[2] = { { .fd = out_fd, .events = 0 },
					{ .fd = stop_fd, .events = POLLIN } };
		if (poll(pf, stop_fd >= 0 ? 2 : 1, 0) > 0 &&
		    (pf[0].revents & (POLLERR | POLLHUP) || pf[1].revents))
			return;
	} while (!mcp_session_wait_idle(s, 200));
}

int mcp_stdio_run(struct mcp_server *srv, const struct box_caller *caller,
		  int in_fd, int out_fd, int stop_fd)
{
	struct writer w = { .fd = out_fd };
	pthread_mutex_init(&w.lock, NULL);
	struct mcp_out out = { writer_send, &w };
	struct mcp_session *s = mcp_session_new(srv, caller, &out);
	if (!s) {
		pthread_mutex_destroy(&w.lock);
		return -1;
	}
	int rc = read_loop(s, &out, in_fd, stop_fd);
	if (rc == 0)
		drain_calls(s, out_fd, stop_fd);
	mcp_session_close(s);
	pthread_mutex_destroy(&w.lock);
	return rc;
}
