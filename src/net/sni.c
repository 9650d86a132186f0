/* sni.c - find the server name in a TLS ClientHello (see sni.h).
 *
 * 1. records: gather the payload of consecutive handshake records
 *    (type 22, version 3.x, 1..16384 bytes each) until the handshake
 *    header says the ClientHello is whole;
 * 2. ClientHello: version, random, session id, cipher suites, compression
 *    methods, then the extensions, which must fill the rest exactly;
 * 3. server_name: exactly one host_name entry, a valid host name. */
#include "net/sni.h"

#include <stdlib.h>
#include <string.h>

#define REC_HDR 5
#define REC_MAX 16384
#define HS_HDR 4
#define EXT_SERVER_NAME 0x0000
#define EXT_ECH 0xfe0d

static enum sni_result fail(enum sni_result r, struct aj_err *e, const char *why)
{
	aj_err_set(e, r == SNI_TOO_LARGE ? AJ_ETOOBIG : AJ_EINVAL, 0, "%s", why);
	return r;
}

/* ---- 1. records ---- */

/* Check the (possibly partial) record header at p[0..n), n < 5 allowed. */
static enum sni_result record_header(const uint8_t *p, size_t n, bool first,
				     struct aj_err *e)
{
	enum sni_result bad = first ? SNI_NOT_TLS : SNI_INVALID;
	if (n >= 1 && p[0] != 22)
		return fail(bad, e, first ? "not a TLS handshake record"
					  : "a non-handshake record inside the ClientHello");
	if ((n >= 2 && p[1] != 3) || (n >= 3 && p[2] > 4))
		return fail(bad, e, "not a TLS record version");
	if (n < REC_HDR)
		return SNI_NEED_MORE;
	size_t rlen = (size_t)p[3] << 8 | p[4];
	if (rlen == 0 || rlen > REC_MAX)
		return fail(SNI_INVALID, e, "TLS record length out of range");
	return SNI_FOUND; /* here: "header complete and valid" */
}

struct gather {
	uint8_t *hs;    /* handshake bytes, SNI_MAX_HELLO + HS_HDR */
	size_t hs_len;  /* bytes in hs */
	size_t need;    /* whole handshake message, 0 until known */
	size_t end;     /* input consumed */
};

/* Append record payload; learn the message length once 4 bytes are in. */
static enum sni_result take(struct gather *g, const uint8_t *p, size_t n,
			    struct aj_err *e)
{
	size_t room = SNI_MAX_HELLO + HS_HDR - g->hs_len;
	memcpy(g->hs + g->hs_len, p, n < room ? n : room);
	g->hs_len += n < room ? n : room;
	if (g->hs[0] != 1)
		return fail(SNI_INVALID, e, "first handshake message is not a ClientHello");
	if (g->need == 0 && g->hs_len >= HS_HDR) {
		size_t body = (size_t)g->hs[1] << 16 | (size_t)g->hs[2] << 8 | g->hs[3];
		if (body > SNI_MAX_HELLO)
			return fail(SNI_TOO_LARGE, e, "ClientHello larger than 16 KiB");
		g->need = HS_HDR + body;
	}
	return SNI_NEED_MORE;
}

static enum sni_result gather(const uint8_t *buf, size_t len, struct gather *g,
			      struct aj_err *e)
{
	size_t off = 0;
	while (g->need == 0 || g->hs_len < g->need) {
		enum sni_result r = record_header(buf + off, len - off, off == 0, e);
		if (r != SNI_FOUND)
			return r;
		size_t rlen = (size_t)buf[off + 3] << 8 | buf[off + 4];
		if (len - off - REC_HDR < rlen)
			return SNI_NEED_MORE; /* a record is used only whole */
		r = take(g, buf + off + REC_HDR, rlen, e);
		if (r != SNI_NEED_MORE)
			return r;
		off += REC_HDR + rlen;
		if (off == len && (g->need == 0 || g->hs_len < g->need))
			return SNI_NEED_MORE;
	}
	g->end = off;
	return SNI_FOUND;
}

/* ---- 2./3. the ClientHello ---- */

struct cur {
	const uint8_t *p;
	size_t len, off;
};

static bool get(struct cur *c, size_t n, size_t *v)
{
	if (c->len - c->off < n)
		return false;
	*v = 0;
	for (size_t i = 0; i < n; i++)
		*v = *v << 8 | c->p[c->off++];
	return true;
}

/* A vector with an n-byte length prefix: its bytes as a sub-cursor. */
static bool vec(struct cur *c, size_t n, struct cur *sub)
{
	size_t l;
	if (!get(c, n, &l) || c->len - c->off < l)
		return false;
	*sub = (struct cur){ c->p + c->off, l, 0 };
	c->off += l;
	return true;
}

static enum sni_result server_name(struct cur *ext, struct sni_info *info,
				   struct aj_err *e)
{
	struct cur list, name;
	size_t type;
	if (!vec(ext, 2, &list) || ext->off != ext->len)
		return fail(SNI_INVALID, e, "server_name list length does not match");
	if (!get(&list, 1, &type) || !vec(&list, 2, &name) || list.off != list.len)
		return fail(SNI_INVALID, e, "server_name list is not one name");
	if (type != 0)
		return fail(SNI_INVALID, e, "server_name entry is not a host_name");
	struct aj_err ne = { 0 };
	if (net_name_normalize((const char *)name.p, name.len, info->name, &ne) < 0) {
		aj_err_set(e, AJ_EINVAL, 0, "not a valid SNI: %s", ne.msg);
		return SNI_INVALID;
	}
	return SNI_FOUND;
}

static enum sni_result extensions(struct cur *c, struct sni_info *info,
				  struct aj_err *e)
{
	struct cur all, ext;
	bool sni = false;
	if (!vec(c, 2, &all) || c->off != c->len)
		return fail(SNI_INVALID, e, "extensions do not end with the ClientHello");
	while (all.off < all.len) {
		size_t type;
		if (!get(&all, 2, &type) || !vec(&all, 2, &ext))
			return fail(SNI_INVALID, e, "extension runs past its list");
		if (type == EXT_ECH) {
			if (info->ech)
				return fail(SNI_INVALID, e, "two encrypted_client_hello extensions");
			info->ech = true;
		}
		if (type != EXT_SERVER_NAME)
			continue;
		if (sni)
			return fail(SNI_INVALID, e, "two server_name extensions");
		sni = true;
		if (server_name(&ext, info, e) != SNI_FOUND)
			return SNI_INVALID;
	}
	return sni ? SNI_FOUND : SNI_ABSENT;
}

static enum sni_result client_hello(const uint8_t *body, size_t len,
				    struct sni_info *info, struct aj_err *e)
{
	struct cur c = { body, len, 0 }, v;
	size_t version;
	if (!get(&c, 2, &version) || (version >> 8) != 3)
		return fail(SNI_INVALID, e, "ClientHello version is not 3.x");
	info->version = (uint16_t)version;
	if (c.len - c.off < 32)
		return fail(SNI_INVALID, e, "ClientHello cut short");
	c.off += 32; /* random */
	if (!vec(&c, 1, &v) || v.len > 32)
		return fail(SNI_INVALID, e, "bad session id");
	if (!vec(&c, 2, &v) || v.len < 2 || v.len % 2)
		return fail(SNI_INVALID, e, "bad cipher suite list");
	if (!vec(&c, 1, &v) || v.len < 1)
		return fail(SNI_INVALID, e, "bad compression method list");
	if (c.off == c.len)
		return SNI_ABSENT; /* no extensions at all */
	return extensions(&c, info, e);
}

enum sni_result sni_parse(const uint8_t *buf, size_t len, struct sni_info *info,
			  struct aj_err *e)
{
	memset(info, 0, sizeof(*info));
	bool capped = len > SNI_MAX_INPUT;
	if (capped)
		len = SNI_MAX_INPUT;
	struct gather g = { .hs = malloc(SNI_MAX_HELLO + HS_HDR) };
	if (!g.hs)
		return fail(SNI_TOO_LARGE, e, "out of memory");
	enum sni_result r = gather(buf, len, &g, e);
	if (r == SNI_FOUND) {
		info->hello_end = g.end;
		r = client_hello(g.hs + HS_HDR, g.need - HS_HDR, info, e);
	} else if (r == SNI_NEED_MORE && capped) {
		r = fail(SNI_TOO_LARGE, e, "no whole ClientHello in 32 KiB");
	}
	free(g.hs);
	if (r != SNI_FOUND)
		info->name[0] = '\0';
	return r;
}

const char *sni_result_name(enum sni_result r)
{
	static const char *const names[] = { "need_more", "found", "absent",
					     "not_tls", "invalid", "too_large" };
	return (unsigned)r <= SNI_TOO_LARGE ? names[r] : "?";
}
