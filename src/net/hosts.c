/* hosts.c - parse and look up a hosts file (see hosts.h).  Entries are
 * (name, address) pairs, names in one string pool, sorted by name and
 * then file order so a lookup is a binary search. */
#include "net/hosts.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net/name.h"
#include "util/buf.h"

struct entry {
	size_t name;   /* offset in pool */
	size_t seq;    /* file order */
	struct net_addr addr;
};

struct net_hosts {
	char *pool;
	struct entry *v;
	size_t n, cap;
	bool dedup; /* while sorting: compare addresses too */
};

static int add(struct net_hosts *h, struct aj_buf *pool, const char *name,
	       const struct net_addr *a, struct aj_err *e)
{
	if (h->n == NET_HOSTS_MAX_ENTRIES)
		return aj_err_set(e, AJ_ETOOBIG, 0, "more than %d entries",
				  NET_HOSTS_MAX_ENTRIES);
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 64;
		struct entry *v = realloc(h->v, cap * sizeof(*v));
		if (!v)
			return aj_err_set(e, AJ_EINTERNAL, 0, "out of memory");
		h->v = v;
		h->cap = cap;
	}
	h->v[h->n] = (struct entry){ pool->len, h->n, *a };
	if (aj_buf_append(pool, name, strlen(name) + 1) < 0)
		return aj_err_set(e, AJ_EINTERNAL, 0, "out of memory");
	h->n++;
	return 0;
}

/* The next field of line[*i..n), or false at the end. */
static bool field(const char *line, size_t n, size_t *i, size_t *start, size_t *len)
{
	while (*i < n && (line[*i] == ' ' || line[*i] == '\t'))
		(*i)++;
	if (*i == n)
		return false;
	*start = *i;
	while (*i < n && line[*i] != ' ' && line[*i] != '\t')
		(*i)++;
	*len = *i - *start;
	return true;
}

static int parse_line(struct net_hosts *h, struct aj_buf *pool, const char *line,
		      size_t n, struct aj_err *e)
{
	const char *hash = memchr(line, '#', n);
	if (hash)
		n = (size_t)(hash - line);
	for (size_t k = 0; k < n; k++)
		if ((unsigned char)line[k] < 0x20 && line[k] != '\t')
			return aj_err_set(e, AJ_EINVAL, 0, "control byte 0x%02x",
					  (unsigned char)line[k]);
	size_t i = 0, s, l;
	if (!field(line, n, &i, &s, &l))
		return 0; /* blank or comment */
	struct net_addr a;
	if (net_addr_parse(line + s, l, &a) < 0)
		return aj_err_set(e, AJ_EINVAL, 0, "not an IP address");
	int names = 0;
	while (field(line, n, &i, &s, &l)) {
		char name[NET_NAME_MAX + 1];
		if (net_name_normalize(line + s, l, name, e) < 0 ||
		    add(h, pool, name, &a, e) < 0)
			return -1;
		names++;
	}
	return names ? 0 : aj_err_set(e, AJ_EINVAL, 0, "an address without a name");
}

/* Order by name, then (by_addr) address, then file order. */
static int cmp(const void *x, const void *y, void *arg)
{
	const struct entry *a = x, *b = y;
	const struct net_hosts *h = arg;
	int c = strcmp(h->pool + a->name, h->pool + b->name);
	if (c == 0 && h->dedup) {
		c = a->addr.family - b->addr.family;
		c = c ? c : memcmp(a->addr.b, b->addr.b, sizeof(a->addr.b));
	}
	return c ? c : (a->seq > b->seq) - (a->seq < b->seq);
}

/* Drop repeated (name, address) pairs, keeping the first in the file;
 * leave the entries sorted by name and then file order. */
static void sort_dedup(struct net_hosts *h)
{
	if (h->n < 2)
		return; /* (and qsort must not see the NULL of an empty file) */
	h->dedup = true;
	qsort_r(h->v, h->n, sizeof(*h->v), cmp, h);
	size_t k = 0;
	for (size_t i = 0; i < h->n; i++)
		if (k == 0 || strcmp(h->pool + h->v[i].name, h->pool + h->v[k - 1].name) != 0 ||
		    !net_addr_equal(&h->v[i].addr, &h->v[k - 1].addr))
			h->v[k++] = h->v[i];
	h->n = k;
	h->dedup = false;
	qsort_r(h->v, h->n, sizeof(*h->v), cmp, h);
}

static int parse_all(struct net_hosts *h, const char *text, size_t len,
		     struct aj_err *e)
{
	struct aj_buf pool = { 0 };
	size_t lineno = 1;
	for (size_t p = 0; p < len; lineno++) {
		const char *nl = memchr(text + p, '\n', len - p);
		size_t end = nl ? (size_t)(nl - text) : len, n = end - p;
		if (n > 0 && text[end - 1] == '\r')
			n--;
		if (parse_line(h, &pool, text + p, n, e) < 0) {
			aj_buf_free(&pool);
			return aj_err_wrap(e, "hosts line %zu", lineno);
		}
		p = end + 1;
	}
	h->pool = aj_buf_steal(&pool);
	return h->pool ? 0 : aj_err_set(e, AJ_EINTERNAL, 0, "out of memory");
}

int net_hosts_parse(const char *text, size_t len, struct net_hosts **out,
		    struct aj_err *e)
{
	*out = NULL;
	if (len > NET_HOSTS_MAX_BYTES)
		return aj_err_set(e, AJ_ETOOBIG, 0, "hosts file larger than %u bytes",
				  NET_HOSTS_MAX_BYTES);
	struct net_hosts *h = calloc(1, sizeof(*h));
	if (!h)
		return aj_err_set(e, AJ_EINTERNAL, 0, "out of memory");
	if (parse_all(h, text, len, e) < 0) {
		net_hosts_free(h);
		return -1;
	}
	sort_dedup(h);
	*out = h;
	return 0;
}

int net_hosts_load(const char *path, struct net_hosts **out, struct aj_err *e)
{
	*out = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return aj_err_sys(e, AJ_EINVAL, "open %s", path);
	struct stat st;
	char *text = NULL;
	ssize_t n = -1;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    st.st_size <= (off_t)NET_HOSTS_MAX_BYTES) {
		text = malloc((size_t)st.st_size + 1);
		n = text ? read(fd, text, (size_t)st.st_size + 1) : -1;
	}
	close(fd);
	int rc;
	if (n < 0 || n > st.st_size)
		rc = aj_err_set(e, AJ_EINVAL, 0, "%s: not a readable file of at most %u bytes",
				path, NET_HOSTS_MAX_BYTES);
	else
		rc = net_hosts_parse(text, (size_t)n, out, e) < 0 ? aj_err_wrap(e, "%s", path) : 0;
	free(text);
	return rc;
}

void net_hosts_free(struct net_hosts *h)
{
	if (!h)
		return;
	free(h->pool);
	free(h->v);
	free(h);
}

/* The first entry named `name`, or h->n. */
static size_t first(const struct net_hosts *h, const char *name)
{
	size_t lo = 0, hi = h->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(h->pool + h->v[mid].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

size_t net_hosts_lookup(const struct net_hosts *h, const char *name,
			struct net_addr *out, size_t max)
{
	char c[NET_NAME_MAX + 1];
	if (!h || net_name_normalize(name, strlen(name), c, NULL) < 0)
		return 0;
	size_t found = 0, from = first(h, c);
	for (size_t i = from; i < h->n && strcmp(h->pool + h->v[i].name, c) == 0; i++) {
		if (found < max)
			out[found] = h->v[i].addr;
		found++;
	}
	return found;
}

size_t net_hosts_count(const struct net_hosts *h)
{
	return h ? h->n : 0;
}
