/* common.c - what every E2B route shares: the credentials (the API key of
 * the control plane, the per-sandbox tokens of envd and the interpreter)
 * and E2B's REST error body {"code": <status>, "message": "..."}. */
#include <ctype.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2b/internal.h"

#define HDR_API_KEY "X-API-KEY"
#define HDR_SANDBOX "E2b-Sandbox-Id"
#define HDR_ENVD_TOKEN "X-Access-Token"
#define HDR_TRAFFIC_TOKEN "E2B-Traffic-Access-Token"

/* ---- credentials ----------------------------------------------------------- */

/* Under --no-auth any key (the SDK insists on sending one) is the
 * no-auth caller, as on the native routes. */
int e2b_auth_key(struct api_req *r, struct box_caller *c, struct aj_err *e)
{
	const char *k = api_header(r, HDR_API_KEY);
	if (api_auth_key(r, k && *k ? k : NULL, e) < 0)
		return k && *k ? -1 : aj_err_set(e, AJ_EAUTH, 0, "missing X-API-KEY header");
	*c = *api_caller(r);
	return 0;
}

int e2b_auth_sandbox(struct api_req *r, bool interp, struct e2b_who *w,
		     struct aj_err *e)
{
	const char *id = api_header(r, HDR_SANDBOX);
	const char *traffic = interp ? api_header(r, HDR_TRAFFIC_TOKEN) : NULL;
	const char *envd = api_header(r, HDR_ENVD_TOKEN);
	memset(w, 0, sizeof(*w));
	if (!id || !*id)
		return aj_err_set(e, AJ_EINVAL, 0, "missing E2b-Sandbox-Id header");
	if (strlen(id) >= sizeof(w->id))
		return aj_err_set(e, AJ_ENOTFOUND, 0, "sandbox '%.40s' not found", id);
	snprintf(w->id, sizeof(w->id), "%s", id);
	int rc = traffic ? box_auth_sandbox(api_mgr(r), id, BOX_TOKEN_TRAFFIC, traffic,
					    &w->caller, e)
			 : box_auth_sandbox(api_mgr(r), id, BOX_TOKEN_ENVD, envd,
					    &w->caller, e);
	/* No such running sandbox: what E2B's proxy reports as unreachable. */
	if (rc < 0 && e->code == AJ_ENOTFOUND)
		e->code = AJ_EUNAVAIL;
	if (rc == 0)
		api_authenticated(r);
	return rc;
}

unsigned e2b_sandbox_status(const struct aj_err *e)
{
	if (e->code == AJ_EUNAVAIL)
		return MHD_HTTP_BAD_GATEWAY;
	return api_http_status(e->code);
}

/* ---- errors ---------------------------------------------------------------- */

enum MHD_Result e2b_reply_error(struct api_req *r, unsigned status,
				const char *msg)
{
	json_t *b = json_pack("{s:i,s:o}", "code", (int)status, "message",
			      api_json_str(msg));
	return api_reply_json(r, status, b);
}

enum MHD_Result e2b_reply_errorf(struct api_req *r, unsigned status,
				 const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return e2b_reply_error(r, status, msg);
}

enum MHD_Result e2b_reply_aj(struct api_req *r, const struct aj_err *e)
{
	return e2b_reply_error(r, api_http_status(e->code), e->msg);
}

/* ---- small helpers ------------------------------------------------------------ */

void e2b_kv_free(struct box_kv *kv, size_t n)
{
	for (size_t i = 0; kv && i < n; i++) {
		free(kv[i].key);
		free(kv[i].value);
	}
	free(kv);
}

void e2b_signal_name(int sig, char *out, size_t len)
{
	const char *d = sigdescr_np(sig);
	if (d)
		snprintf(out, len, "%s", d);
	else
		snprintf(out, len, "signal %d", sig);
	if (len && out[0])
		out[0] = (char)tolower((unsigned char)out[0]);
}
