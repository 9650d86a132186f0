/* httpbody.c - the end of a request body (see httpbody.h): a byte-wise
 * state machine for the chunked framing, data skipped in bulk. */
#include "net/httpbody.h"

#define SIZE_LINE_MAX 4096
#define TRAILERS_MAX 8192

enum {
	ST_DATA,       /* Content-Length data: left bytes */
	ST_SIZE,       /* chunk size hex digits */
	ST_EXT,        /* after ';' up to CR */
	ST_SIZE_LF,    /* CR seen after a size line */
	ST_CHUNK,      /* chunk data: left bytes */
	ST_CHUNK_CR,   /* CRLF after the chunk data */
	ST_CHUNK_LF,
	ST_TRAILER,    /* start of a trailer line (or the final empty line) */
	ST_TRAILER_IN, /* inside a trailer line */
	ST_TRAILER_LF, /* CR seen after a trailer line */
	ST_END_LF,     /* CR of the final empty line seen */
	ST_DONE,
	ST_BAD,
};

void hh_body_init(struct hh_body *b, const struct hh_request *r)
{
	*b = (struct hh_body){ .state = ST_DONE };
	if (r->chunked)
		b->state = ST_SIZE;
	else if (r->has_length && r->content_length > 0) {
		b->state = ST_DATA;
		b->left = r->content_length;
	}
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool text_byte(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* One byte of a size line.  Returns the next state, ST_BAD on error. */
static int size_byte(struct hh_body *b, char c)
{
	if (++b->line > SIZE_LINE_MAX)
		return ST_BAD;
	if (b->state == ST_EXT)
		return c == '\r' ? ST_SIZE_LF : text_byte((unsigned char)c) ? ST_EXT : ST_BAD;
	int v = hexval(c);
	if (v >= 0) {
		if (++b->digits > 15)
			return ST_BAD;
		b->left = b->left << 4 | (uint64_t)v;
		return ST_SIZE;
	}
	if (b->digits == 0)
		return ST_BAD;
	return c == ';' ? ST_EXT : c == '\r' ? ST_SIZE_LF : ST_BAD;
}

static int after_size(struct hh_body *b, char c)
{
	if (c != '\n')
		return ST_BAD;
	b->line = 0;
	b->digits = 0;
	return b->left ? ST_CHUNK : ST_TRAILER;
}

static int trailer_byte(struct hh_body *b, char c)
{
	if (++b->trailer > TRAILERS_MAX)
		return ST_BAD;
	switch (b->state) {
	case ST_TRAILER:
		return c == '\r' ? ST_END_LF : c == ' ' || c == '\t' ? ST_BAD
			: text_byte((unsigned char)c) ? ST_TRAILER_IN : ST_BAD;
	case ST_TRAILER_IN:
		return c == '\r' ? ST_TRAILER_LF : text_byte((unsigned char)c) ? ST_TRAILER_IN : ST_BAD;
	case ST_TRAILER_LF:
		return c == '\n' ? ST_TRAILER : ST_BAD;
	default: /* ST_END_LF */
		return c == '\n' ? ST_DONE : ST_BAD;
	}
}

static int step(struct hh_body *b, char c)
{
	switch (b->state) {
	case ST_SIZE:
	case ST_EXT:
		return size_byte(b, c);
	case ST_SIZE_LF:
		return after_size(b, c);
	case ST_CHUNK_CR:
		return c == '\r' ? ST_CHUNK_LF : ST_BAD;
	case ST_CHUNK_LF:
		return c == '\n' ? ST_SIZE : ST_BAD;
	default:
		return trailer_byte(b, c);
	}
}

enum hb_result hh_body_feed(struct hh_body *b, const char *buf, size_t len,
			    size_t *used, struct aj_err *e)
{
	size_t i = 0;
	while (i < len && b->state != ST_DONE && b->state != ST_BAD) {
		if (b->state == ST_DATA || b->state == ST_CHUNK) {
			size_t n = len - i < b->left ? len - i : (size_t)b->left;
			i += n;
			b->left -= n;
			if (b->left == 0)
				b->state = b->state == ST_DATA ? ST_DONE : ST_CHUNK_CR;
			continue;
		}
		b->state = step(b, buf[i++]);
	}
	*used = i;
	if (b->state == ST_BAD) {
		aj_err_set(e, AJ_EINVAL, 0, "bad chunked body");
		return HB_MALFORMED;
	}
	return b->state == ST_DONE ? HB_DONE : HB_NEED_MORE;
}
