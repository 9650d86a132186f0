/* events.c - see events.h. */
#include "api/events.h"

#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/crypto.h"

int api_events_emit(struct api_events *ev, const char *type, json_t *body)
{
	json_t *o = json_pack("{s:s}", "type", type);
	if (o && body)
		json_object_update(o, body);
	json_decref(body);
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!s)
		return api_stream_cancelled(ev->s) ? -1 : 0;
	struct aj_buf b = { 0 };
	if (ev->sse)
		aj_buf_appendf(&b, "event: %s\ndata: %s\n\n", type, s);
	else
		aj_buf_appendf(&b, "%s\n", s);
	free(s);
	int rc = api_stream_write(ev->s, b.data, b.len);
	aj_buf_free(&b);
	return rc;
}

bool api_utf8_incomplete(const unsigned char *p, size_t n)
{
	size_t need = p[0] >= 0xC2 && p[0] <= 0xDF ? 2
		    : p[0] >= 0xE0 && p[0] <= 0xEF ? 3
		    : p[0] >= 0xF0 && p[0] <= 0xF4 ? 4 : 0;
	if (need <= n)
		return false;
	for (size_t i = 1; i < n; i++)
		if ((p[i] & 0xC0) != 0x80)
			return false;
	return true;
}

static int emit_chunk(struct api_events *ev, const char *type, const char *p,
		      size_t n, bool text)
{
	if (!n)
		return 0;
	json_t *o;
	if (text) {
		o = json_pack("{s:s%}", "data", p, n);
	} else {
		char *b = malloc(aj_base64_encoded_size(n));
		o = b ? json_pack("{s:s}", "data_b64", aj_base64_encode(p, n, b)) : NULL;
		free(b);
	}
	return o ? api_events_emit(ev, type, o) : 0;
}

int api_events_output(struct api_events *ev, int s, const char *data, size_t len,
		      bool final)
{
	const char *type = s == 0 ? "stdout" : "stderr";
	size_t n = ev->ntail[s] + len;
	char *buf = malloc(n ? n : 1);
	if (!buf)
		return 0;
	memcpy(buf, ev->tail[s], ev->ntail[s]);
	if (len)
		memcpy(buf + ev->ntail[s], data, len);
	ev->ntail[s] = 0;
	size_t valid = api_utf8_valid_len(buf, n);
	int rc;
	if (valid == n) {
		rc = emit_chunk(ev, type, buf, n, true);
	} else if (!final && n - valid < 4 &&
		   api_utf8_incomplete((unsigned char *)buf + valid, n - valid)) {
		rc = emit_chunk(ev, type, buf, valid, true);
		memcpy(ev->tail[s], buf + valid, n - valid);
		ev->ntail[s] = n - valid;
	} else {
		rc = emit_chunk(ev, type, buf, n, false);
	}
	free(buf);
	return rc;
}
