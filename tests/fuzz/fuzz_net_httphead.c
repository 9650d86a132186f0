/* fuzz_net_httphead.c - libFuzzer harness: the HTTP/1.x request head
 * parser and header splicing (src/net/httphead*.c) on bytes a sandboxed
 * client sends through the egress listener.  Besides "no crash, no
 * sanitizer report": a head is whole (ends in CRLF CRLF, spans inside
 * it); a prefix of an accepted head needs more, a prefix refused as
 * malformed stays refused; and a head rewritten with an injected header
 * parses again to the same host, port and framing, with the header. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct aj_err e = { 0 };
	enum hh_result res = hh_parse(buf, size, HH_MAX_HEAD, &r, &e);
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
		if (r.nheaders < HH_MAX_HEADERS - 1)
			rewritten(buf);
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
	return 0;
}
