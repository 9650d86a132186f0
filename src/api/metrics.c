/* metrics.c - GET /healthz (no key) and GET /metrics (Prometheus text
 * exposition format, any valid key). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"

enum MHD_Result h_healthz(struct api_req *r)
{
	return api_reply_json(r, MHD_HTTP_OK, json_pack("{s:s}", "status", "ok"));
}

static void counter(struct aj_buf *b, const char *name, const char *help,
		    uint64_t v)
{
	aj_buf_appendf(b, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help,
		       name, name, (unsigned long long)v);
}

/* A latency histogram kept in ms, exposed in seconds. */
static void histogram(struct aj_buf *b, const char *name, const char *help,
		      const struct box_histogram *h)
{
	aj_buf_appendf(b, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
	for (int i = 0; i < BOX_LAT_BUCKETS; i++)
		aj_buf_appendf(b, "%s_bucket{le=\"%g\"} %llu\n", name,
			       box_lat_bounds_ms[i] / 1000.0,
			       (unsigned long long)h->buckets[i]);
	aj_buf_appendf(b, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n%s_count %llu\n",
		       name, (unsigned long long)h->count, name, h->sum_ms / 1000.0,
		       name, (unsigned long long)h->count);
}

static void execs(struct aj_buf *b, const struct box_metrics *m)
{
	static const char *const outcome[] = { "ok", "failed", "timeout", "oom", "error" };
	const uint64_t v[] = { m->execs_ok, m->execs_failed, m->execs_timed_out,
			       m->execs_oom, m->execs_error };
	aj_buf_appendf(b, "# HELP agentjail_execs_total Commands run, by outcome.\n"
			  "# TYPE agentjail_execs_total counter\n");
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		aj_buf_appendf(b, "agentjail_execs_total{outcome=\"%s\"} %llu\n",
			       outcome[i], (unsigned long long)v[i]);
}

/* What the connection guard did (guard.h). */
static void connections(struct aj_buf *b, struct api_guard *g)
{
	struct guard_stats st;
	guard_stats_get(g, &st);
	aj_buf_appendf(b, "# HELP agentjail_http_connections_ended_total Connections the "
			  "server ended: request head not in time, body too slow, or an "
			  "unauthenticated one ended to make room.\n"
			  "# TYPE agentjail_http_connections_ended_total counter\n"
			  "agentjail_http_connections_ended_total{reason=\"header_timeout\"} %llu\n"
			  "agentjail_http_connections_ended_total{reason=\"slow_body\"} %llu\n"
			  "agentjail_http_connections_ended_total{reason=\"shed\"} %llu\n",
		       (unsigned long long)st.head_timeouts, (unsigned long long)st.slow_bodies,
		       (unsigned long long)st.shed);
	aj_buf_appendf(b, "# HELP agentjail_http_connections Open connections, and those "
			  "of them not authenticated yet.\n"
			  "# TYPE agentjail_http_connections gauge\n"
			  "agentjail_http_connections{state=\"all\"} %u\n"
			  "agentjail_http_connections{state=\"unauthenticated\"} %u\n",
		       st.open, st.unauth);
	counter(b, "agentjail_http_connections_refused_total",
		"Connections refused: their address had --max-per-address "
		"unauthenticated ones.", st.refused);
}

/* What the host offers the sandboxes, looked at when the server started
 * (it also said on stderr what is missing). */
static void protections(struct aj_buf *b, const struct jail_host *h)
{
	aj_buf_appendf(b, "# HELP agentjail_protection 1 if this host offers the "
			  "protection to sandboxes, 0 if they run without it.\n"
			  "# TYPE agentjail_protection gauge\n");
	for (int i = 0; i < JAIL_PROT_N; i++)
		aj_buf_appendf(b, "agentjail_protection{name=\"%s\"} %d\n",
			       jail_prot_name(i), (h->have >> i) & 1);
	char kernel[sizeof(h->kernel)];
	size_t i = 0;
	for (; h->kernel[i]; i++)
		kernel[i] = strchr("._+-", h->kernel[i]) || isalnum((unsigned char)h->kernel[i])
				    ? h->kernel[i] : '_';
	kernel[i] = '\0';
	aj_buf_appendf(b, "# HELP agentjail_host_info The kernel, the cgroup version "
			  "of the memory controller (0: none) and the Landlock ABI (0: "
			  "none).\n# TYPE agentjail_host_info gauge\n"
			  "agentjail_host_info{kernel=\"%s\",cgroup=\"%d\",landlock_abi=\"%d\"} 1\n",
		       kernel, h->cgroup_version, h->landlock_abi);
}

enum MHD_Result h_metrics(struct api_req *r)
{
	struct box_metrics m;
	struct aj_buf b = { 0 };
	box_metrics_get(api_mgr(r), &m);
	aj_buf_appendf(&b, "# HELP agentjail_sandboxes_active Sandboxes running now.\n"
			   "# TYPE agentjail_sandboxes_active gauge\n"
			   "agentjail_sandboxes_active %llu\n",
		       (unsigned long long)m.sandboxes_active);
	counter(&b, "agentjail_sandboxes_created_total", "Sandboxes created.",
		m.sandboxes_created);
	counter(&b, "agentjail_sandboxes_destroyed_total",
		"Sandboxes ended (destroyed, expired or lost).", m.sandboxes_destroyed);
	counter(&b, "agentjail_sandboxes_expired_total",
		"Sandboxes ended by their timeout.", m.sandboxes_expired);
	execs(&b, &m);
	counter(&b, "agentjail_pool_hits_total", "Creates served from the warm pool.",
		m.pool_hits);
	counter(&b, "agentjail_pool_misses_total", "Creates that built a new jail.",
		m.pool_misses);
	aj_buf_appendf(&b, "# HELP agentjail_pool_ready Warm sandboxes ready now.\n"
			   "# TYPE agentjail_pool_ready gauge\n"
			   "agentjail_pool_ready %d\n", box_pool_ready(api_mgr(r)));
	histogram(&b, "agentjail_create_seconds", "Time to create a sandbox.",
		  &m.create_latency);
	histogram(&b, "agentjail_exec_seconds", "Wall time of foreground commands.",
		  &m.exec_latency);
	connections(&b, r->srv->guard);
	protections(&b, box_mgr_host(api_mgr(r)));
	if (!b.data)
		return api_reply_errf(r, AJ_EINTERNAL, "out of memory");
	size_t n = b.len;
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(n, aj_buf_steal(&b), MHD_RESPMEM_MUST_FREE);
	if (resp)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
					"text/plain; version=0.0.4");
	return api_reply(r, MHD_HTTP_OK, resp);
}
