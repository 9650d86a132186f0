/* fuzz_net_httphead.c - libFuzzer harness: the HTTP/1.x request head
 * parser, header splicing and body framing (src/net/httphead*.c,
 * httpbody.c) on bytes a sandboxed client sends through the egress
 * listener, read as the engine reads a kept-alive connection: head, body,
 * next head ... .  Besides "no crash, no sanitizer report": a head is
 * whole (ends in CRLF CRLF, spans inside it); a prefix of an accepted head
 * needs more, a prefix refused as malformed stays refused; a head
 * rewritten with an injected header parses again to the same host, port
 * and framing, with the header; and a body fed at once or byte by byte
 * ends at the same place. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/httpbody.h"
#include "net/httphead.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct hh_request r, r2;

static void check_spans(const struct hh_request *q)
{
	if (q->head_len < 4 || q->method.off + q->method.len > q->head_len ||
	    q->target.off + q->target.len > q->head_len || q->nheaders > HH_MAX_HEADERS)
		abort();
	for (size_t i = 0; i < q->nheaders; i++) {
		const struct hh_header *h = &q->headers[i];
		if (h->line.off + h->line.len > q->head_len - 2 ||
		    h->value.off + h->value.len > h->line.off + h->line.len - 2 ||
		    h->name.off != h->line.off)
			abort();
	}
}

static void rewritten(const char *buf)
{
	struct aj_buf out = { 0 };
	struct aj_err e = { 0 };
	struct hh_set set[] = { { "Authorization", "Bearer x" }, { "Cookie", NULL } };
	if (hh_rewrite(buf, &r, set, 2, &out, &e) < 0)
		abort();
	if (hh_parse(out.data, out.len, out.len, &r2, &e) != HH_OK ||
	    r2.head_len != out.len || strcmp(r2.host, r.host) != 0 || r2.port != r.port ||
	    r2.chunked != r.chunked || r2.content_length != r.content_length ||
	    hh_find(out.data, &r2, "authorization", 0) < 0 ||
	    hh_find(out.data, &r2, "authorization", 0) !=
		    (int)r2.nheaders - 1 || hh_find(out.data, &r2, "cookie", 0) >= 0)
		abort();
	aj_buf_free(&out);
}

/* The body after a head: its length, or (size_t)-1 if it does not end
 * (malformed or cut short).  Fed at once and byte by byte (bounded). */
static size_t body(const struct hh_request *q, const char *buf, size_t size)
{
	struct hh_body x, y;
	struct aj_err e = { 0 };
	size_t used, u, total = 0;
	hh_body_init(&x, q);
	hh_body_init(&y, q);
	enum hb_result all = hh_body_feed(&x, buf, size, &used, &e), one = HB_NEED_MORE;
	if (used > size || (all == HB_NEED_MORE && used != size))
		abort();
	for (size_t i = 0; i < size && i < 4096 && one == HB_NEED_MORE; i++) {
		one = hh_body_feed(&y, buf + i, 1, &u, &e);
		total += u;
	}
	if (one != HB_NEED_MORE && (one != all || (all == HB_DONE && total != used)))
		abort();
	return all == HB_DONE ? used : (size_t)-1;
}

/* One head at buf[0..size): checks, and its length in *used (0 if none). */
static enum hh_result head(const char *buf, size_t size, size_t *used)
{
	struct aj_err e = { 0 };
	enum hh_result res = hh_parse(buf, size, HH_MAX_HEAD, &r, &e);
	*used = 0;
	if (res == HH_OK) {
		check_spans(&r);
		if (memcmp(buf + r.head_len - 4, "\r\n\r\n", 4) != 0)
			abort();
		if (r.has_host && !r.host_is_addr) {
			char again[NET_NAME_MAX + 1];
			if (net_name_normalize(r.host, strlen(r.host), again, &e) < 0 ||
			    strcmp(again, r.host) != 0)
				abort();
		}
		*used = r.head_len;
	} else if (res != HH_NEED_MORE && !e.msg[0]) {
		abort();
	}
	size_t cuts[] = { size / 2, size > 3 ? size - 3 : 0 };
	for (size_t i = 0; i < 2; i++) {
		enum hh_result p = hh_parse(buf, cuts[i], HH_MAX_HEAD, &r2, &e);
		if (res == HH_OK && cuts[i] < r.head_len && p != HH_NEED_MORE)
			abort();
		if (p == HH_MALFORMED && res != HH_MALFORMED)
			abort();
	}
	if (res == HH_OK && r.nheaders < HH_MAX_HEADERS - 1)
		rewritten(buf); /* (reparses into r2, leaves r) */
	return res;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	for (int n = 0; n < 4 && size > 0; n++) {
		size_t h, b;
		if (head(buf, size, &h) != HH_OK)
			break;
		b = body(&r, buf + h, size - h);
		if (b == (size_t)-1)
			break;
		buf += h + b;
		size -= h + b;
	}
	return 0;
}
