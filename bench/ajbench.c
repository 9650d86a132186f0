/* ajbench - the load generator behind `make bench`.
 *
 * Drives a running `agentjail serve` over keep-alive HTTP (libcurl) and
 * measures the same operation many times.  Every API figure is measured
 * interleaved with its local baseline (A B A B ...), so that a noisy
 * neighbour or a frequency change hits both alike:
 *
 *   ajbench spawn N PROG [ARGS...]        fork+exec+wait, N times
 *   ajbench create URL KEY N              POST /v1/sandboxes (+ DELETE):
 *                                         default shape (pool hit) and
 *                                         another shape (pool miss)
 *   ajbench exec URL KEY N                exec /bin/true in one sandbox,
 *                                         beside fork+exec of /bin/true
 *   ajbench cell URL KEY N                python cell 1+1 in a warm context,
 *                                         beside fork+exec of python3 -c 1
 *   ajbench throughput URL KEY C TOTAL S  TOTAL execs by C clients over S
 *                                         sandboxes, beside TOTAL fork+execs
 *                                         by C threads
 *   ajbench density URL KEY N MARKER      create N sandboxes, create MARKER,
 *                                         wait until it is removed, delete
 *   ajbench files URL KEY MB DIR          upload and download MB of data,
 *                                         beside cp of the same file in DIR
 *
 * Each result is one line: "<what> n=<N> p50=<ms> p99=<ms> [more=value ...]"
 * (baselines as "<what>_base ...").
 */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double p)
{
	qsort(v, (size_t)n, sizeof(double), cmp_double);
	int i = (int)(p * n);
	return v[i >= n ? n - 1 : i];
}

static void report(const char *what, double *v, int n, const char *extra)
{
	double p50 = pct(v, n, 0.5), p99 = pct(v, n, 0.99);
	printf("%s n=%d p50=%.3f p99=%.3f%s%s\n", what, n, p50, p99,
	       extra ? " " : "", extra ? extra : "");
	fflush(stdout);
}

/* fork+exec+wait of argv; returns the wall time in ms, or -1 if it did
 * not exit 0. */
static double spawn_once(char *const *argv)
{
	double t = now_ms();
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		if (null >= 0)
			dup2(null, 1);
		execv(argv[0], argv);
		_exit(127);
	}
	int st = 0;
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return -1;
	double ms = now_ms() - t;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? ms : -1;
}

/* ---- HTTP ------------------------------------------------------------------ */

struct client {
	CURL *h;
	const char *url;
	char auth[128];
	char *resp;
	size_t len, cap;
	const char *check; /* non-NULL: compare the answer with these
			      checklen bytes as it arrives (len counts it,
			      nothing is kept) */
	size_t checklen;
	bool mismatch;
};

/* The answer, in a buffer that grows by doubling (a 100 MB download
 * must not cost a realloc per 16 KiB). */
static size_t collect(char *p, size_t sz, size_t n, void *ud)
{
	struct client *c = ud;
	size_t add = sz * n;
	if (c->check) {
		if (c->len + add > c->checklen ||
		    memcmp(c->check + c->len, p, add) != 0)
			c->mismatch = true;
		else
			c->len += add;
		return add;
	}
	if (!c->resp || c->len + add + 1 > c->cap) {
		size_t cap = c->cap ? c->cap : 4096;
		while (cap < c->len + add + 1)
			cap *= 2;
		char *r = realloc(c->resp, cap);
		if (!r)
			return 0;
		c->resp = r;
		c->cap = cap;
	}
	memcpy(c->resp + c->len, p, add);
	c->len += add;
	c->resp[c->len] = '\0';
	return add;
}

static void client_init(struct client *c, const char *url, const char *key)
{
	memset(c, 0, sizeof(*c));
	c->h = curl_easy_init();
	c->url = url;
	snprintf(c->auth, sizeof(c->auth), "Authorization: Bearer %s", key);
	/* big transfers in big pieces, as any bulk client would */
	curl_easy_setopt(c->h, CURLOPT_BUFFERSIZE, 512L << 10);
	curl_easy_setopt(c->h, CURLOPT_UPLOAD_BUFFERSIZE, 2L << 20);
}

/* One request; returns the HTTP status (0 on transport failure). */
static long req(struct client *c, const char *method, const char *path,
		const char *body, size_t blen)
{
	char url[512];
	struct curl_slist *hd = NULL;
	snprintf(url, sizeof(url), "%s%s", c->url, path);
	hd = curl_slist_append(hd, c->auth);
	hd = curl_slist_append(hd, "Content-Type: application/json");
	hd = curl_slist_append(hd, "Expect:");
	free(c->resp);
	c->resp = NULL;
	c->len = c->cap = 0;
	c->mismatch = false;
	curl_easy_setopt(c->h, CURLOPT_URL, url);
	curl_easy_setopt(c->h, CURLOPT_HTTPHEADER, hd);
	curl_easy_setopt(c->h, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c->h, CURLOPT_WRITEDATA, c);
	if (body) {
		curl_easy_setopt(c->h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)blen);
	} else {
		/* back to a body-less GET (a POST's size would linger), then
		 * rename the method */
		curl_easy_setopt(c->h, CURLOPT_HTTPGET, 1L);
	}
	curl_easy_setopt(c->h, CURLOPT_CUSTOMREQUEST,
			 strcmp(method, body ? "POST" : "GET") ? method : NULL);
	long status = 0;
	if (curl_easy_perform(c->h) == CURLE_OK)
		curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(hd);
	return status;
}

static long post(struct client *c, const char *path, const char *body)
{
	return req(c, "POST", path, body, strlen(body));
}

static void die(const char *what, struct client *c, long status)
{
	fprintf(stderr, "ajbench: %s: HTTP %ld %s\n", what, status, c->resp ? c->resp : "");
	exit(1);
}

/* Create a sandbox, return its id (malloc'd). */
static char *create(struct client *c, const char *body)
{
	long st = post(c, "/v1/sandboxes", body ? body : "{}");
	if (st != 201)
		die("create", c, st);
	json_t *o = json_loads(c->resp, 0, NULL);
	char *id = strdup(json_string_value(json_object_get(o, "id")));
	json_decref(o);
	return id;
}

static void destroy(struct client *c, const char *id)
{
	char path[128];
	snprintf(path, sizeof(path), "/v1/sandboxes/%s", id);
	long st = req(c, "DELETE", path, NULL, 0);
	if (st != 204)
		die("delete", c, st);
}


/* ---- modes -------------------------------------------------------------------- */

static char *bin_true[] = { "/bin/true", NULL };

static int mode_spawn(int n, char **argv)
{
	double *v = calloc((size_t)n, sizeof(double));
	for (int i = 0; i < n; i++) {
		if ((v[i] = spawn_once(argv)) < 0) {
			fprintf(stderr, "ajbench: %s failed\n", argv[0]);
			return 1;
		}
	}
	report("spawn", v, n, NULL);
	free(v);
	return 0;
}

/* Pool hit (the default shape) and pool miss (a shape the pool does not
 * keep), alternately; the sleep lets the pool refill, as between users. */
static int mode_create(struct client *c, int n)
{
	double *hit = calloc((size_t)n, sizeof(double));
	double *miss = calloc((size_t)n, sizeof(double));
	for (int i = -3; i < n; i++) {
		double t = now_ms();
		char *a = create(c, "{}");
		double th = now_ms() - t;
		t = now_ms();
		char *b = create(c, "{\"memory_mb\":256}");
		double tm = now_ms() - t;
		if (i >= 0) {
			hit[i] = th;
			miss[i] = tm;
		}
		destroy(c, a);
		destroy(c, b);
		free(a);
		free(b);
		usleep(20000);
	}
	report("create_hit", hit, n, NULL);
	report("create_miss", miss, n, NULL);
	free(hit);
	free(miss);
	return 0;
}

/* An API call (POST path body, expecting status and, if given, a
 * substring of the answer) interleaved with a local fork+exec of base. */
static int interleaved(struct client *c, const char *what, int n,
		       const char *path, const char *body, const char *want,
		       char *const *base)
{
	double *v = calloc((size_t)n, sizeof(double));
	double *b = calloc((size_t)n, sizeof(double));
	for (int i = -5; i < n; i++) {
		double t = now_ms();
		long st = post(c, path, body);
		double ms = now_ms() - t;
		if (st != 200 || (want && !strstr(c->resp, want)))
			die(what, c, st);
		double bs = spawn_once(base);
		if (bs < 0) {
			fprintf(stderr, "ajbench: %s failed\n", base[0]);
			exit(1);
		}
		if (i >= 0) {
			v[i] = ms;
			b[i] = bs;
		}
	}
	char name[64];
	snprintf(name, sizeof(name), "%s_base", what);
	report(what, v, n, NULL);
	report(name, b, n, NULL);
	free(v);
	free(b);
	return 0;
}

static int mode_exec(struct client *c, int n)
{
	char *id = create(c, NULL);
	char path[128];
	snprintf(path, sizeof(path), "/v1/sandboxes/%s/exec", id);
	interleaved(c, "exec", n, path, "{\"cmd\":[\"/bin/true\"]}", NULL, bin_true);
	destroy(c, id);
	free(id);
	return 0;
}

static int mode_cell(struct client *c, int n)
{
	static char *py[] = { "/usr/bin/python3", "-c", "1", NULL };
	char *id = create(c, NULL);
	char path[128];
	snprintf(path, sizeof(path), "/v1/sandboxes/%s/code", id);
	interleaved(c, "cell", n, path, "{\"code\":\"1+1\",\"language\":\"python\"}",
		    "\"2\"", py);
	destroy(c, id);
	free(id);
	return 0;
}

struct worker {
	const char *url, *key;
	char **ids; /* NULL: local fork+exec instead of the API */
	int nids, count, idx;
	long failures;
	double *lat;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	struct client c;
	client_init(&c, w->url, w->key);
	for (int i = 0; i < w->count; i++) {
		char path[128];
		double t = now_ms();
		if (!w->ids) {
			if (spawn_once(bin_true) < 0)
				w->failures++;
			w->lat[i] = now_ms() - t;
			continue;
		}
		snprintf(path, sizeof(path), "/v1/sandboxes/%s/exec",
			 w->ids[(w->idx + i) % w->nids]);
		if (post(&c, path, "{\"cmd\":[\"/bin/true\"]}") != 200)
			w->failures++;
		w->lat[i] = now_ms() - t;
	}
	free(c.resp);
	curl_easy_cleanup(c.h);
	return NULL;
}

/* per clients each: ids NULL runs the local baseline.  Prints one line. */
static long run_clients(const char *what, const char *url, const char *key,
			char **ids, int nids, int clients, int per)
{
	struct worker *w = calloc((size_t)clients, sizeof(*w));
	pthread_t *th = calloc((size_t)clients, sizeof(*th));
	double *all = calloc((size_t)clients * per, sizeof(double));
	double t = now_ms();
	for (int i = 0; i < clients; i++) {
		w[i] = (struct worker){ url, key, ids, nids, per, i, 0, all + i * per };
		pthread_create(&th[i], NULL, work, &w[i]);
	}
	long fails = 0;
	for (int i = 0; i < clients; i++) {
		pthread_join(th[i], NULL);
		fails += w[i].failures;
	}
	double secs = (now_ms() - t) / 1000;
	char extra[128];
	snprintf(extra, sizeof(extra), "per_s=%.0f failed=%ld", per * clients / secs, fails);
	report(what, all, per * clients, extra);
	free(w);
	free(th);
	free(all);
	return fails;
}

static int mode_throughput(struct client *c, const char *url, const char *key,
			   int clients, int total, int nsb)
{
	char **ids = calloc((size_t)nsb, sizeof(char *));
	for (int i = 0; i < nsb; i++)
		ids[i] = create(c, NULL);
	char what[64], base[80];
	snprintf(what, sizeof(what), "throughput_c%d", clients);
	snprintf(base, sizeof(base), "%s_base", what);
	int per = total / clients;
	long fails = run_clients(what, url, key, ids, nsb, clients, per);
	fails += run_clients(base, url, key, NULL, 0, clients, per);
	for (int i = 0; i < nsb; i++) {
		destroy(c, ids[i]);
		free(ids[i]);
	}
	free(ids);
	return fails ? 1 : 0;
}

static int mode_density(struct client *c, int n, const char *marker)
{
	char **ids = calloc((size_t)n, sizeof(char *));
	double *v = calloc((size_t)n, sizeof(double));
	double t0 = now_ms();
	for (int i = 0; i < n; i++) {
		double t = now_ms();
		ids[i] = create(c, "{\"timeout_s\":3600}");
		v[i] = now_ms() - t;
	}
	double total = (now_ms() - t0) / 1000;
	char extra[64];
	snprintf(extra, sizeof(extra), "total_s=%.2f", total);
	report("density_create", v, n, extra);
	/* tell the script all are up, and wait for it to measure */
	FILE *f = fopen(marker, "w");
	if (f)
		fclose(f);
	while (access(marker, F_OK) == 0)
		usleep(100000);
	t0 = now_ms();
	for (int i = 0; i < n; i++) {
		double t = now_ms();
		destroy(c, ids[i]);
		v[i] = now_ms() - t;
		free(ids[i]);
	}
	snprintf(extra, sizeof(extra), "total_s=%.2f", (now_ms() - t0) / 1000);
	report("density_delete", v, n, extra);
	free(ids);
	free(v);
	return 0;
}

static int write_file(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	size_t off = 0;
	while (off < len) {
		ssize_t w = write(fd, data + off, len - off);
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	close(fd);
	return off == len ? 0 : -1;
}

/* Upload from memory; download, comparing the bytes with what was sent
 * as they arrive and keeping none (like curl -o /dev/null: what a client
 * then does with them is its own cost); and cp of the same bytes from one
 * file in dir to another.  ROUNDS times alternately; medians in MB/s. */
#define ROUNDS 3
static int mode_files(struct client *c, int mb, const char *dir)
{
	size_t len = (size_t)mb << 20;
	char *data = malloc(len);
	char src[4096], dst[4200];
	snprintf(src, sizeof(src), "%s/ajbench-%d.src", dir, (int)getpid());
	snprintf(dst, sizeof(dst), "%s/ajbench-%d.dst", dir, (int)getpid());
	for (size_t i = 0; i < len; i++)
		data[i] = (char)(i * 2654435761u >> 13);
	if (write_file(src, data, len) < 0) {
		fprintf(stderr, "ajbench: cannot write %s\n", src);
		return 1;
	}
	char *cp[] = { "/bin/cp", src, dst, NULL };
	char *id = create(c, "{\"disk_mb\":1024,\"memory_mb\":2048}");
	char path[160];
	double up[ROUNDS], down[ROUNDS], cpv[ROUNDS];
	for (int r = 0; r < ROUNDS; r++) {
		/* a new file each round, as cp's target is new each round
		 * (replacing one would free the old one's pages in-request) */
		snprintf(path, sizeof(path),
			 "/v1/sandboxes/%s/files?path=/workspace/big%d.bin", id, r);
		double t = now_ms();
		long st = req(c, "PUT", path, data, len);
		up[r] = mb / ((now_ms() - t) / 1000);
		if (st != 201 && st != 200)
			die("upload", c, st);
		c->check = data;
		c->checklen = len;
		t = now_ms();
		st = req(c, "GET", path, NULL, 0);
		down[r] = mb / ((now_ms() - t) / 1000);
		c->check = NULL;
		if (st != 200 || c->len != len || c->mismatch)
			die("download", c, st);
		double ms = spawn_once(cp);
		unlink(dst);
		if (ms < 0) {
			fprintf(stderr, "ajbench: cp failed\n");
			return 1;
		}
		cpv[r] = mb / (ms / 1000);
	}
	printf("files n=%d mb=%d upload_mb_s=%.0f download_mb_s=%.0f cp_mb_s=%.0f\n",
	       ROUNDS, mb, pct(up, ROUNDS, 0.5), pct(down, ROUNDS, 0.5),
	       pct(cpv, ROUNDS, 0.5));
	unlink(src);
	destroy(c, id);
	free(id);
	free(data);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 4 && strcmp(argv[1], "spawn") == 0)
		return mode_spawn(atoi(argv[2]), argv + 3);
	if (argc < 5) {
		fprintf(stderr, "usage: see the comment at the top of bench/ajbench.c\n");
		return 2;
	}
	curl_global_init(CURL_GLOBAL_ALL);
	struct client c;
	const char *mode = argv[1], *url = argv[2], *key = argv[3];
	client_init(&c, url, key);
	int a = atoi(argv[4]);
	int rc = 2;
	if (!strcmp(mode, "create"))
		rc = mode_create(&c, a);
	else if (!strcmp(mode, "exec"))
		rc = mode_exec(&c, a);
	else if (!strcmp(mode, "cell"))
		rc = mode_cell(&c, a);
	else if (!strcmp(mode, "throughput") && argc >= 7)
		rc = mode_throughput(&c, url, key, a, atoi(argv[5]), atoi(argv[6]));
	else if (!strcmp(mode, "density") && argc >= 6)
		rc = mode_density(&c, a, argv[5]);
	else if (!strcmp(mode, "files") && argc >= 6)
		rc = mode_files(&c, a, argv[5]);
	free(c.resp);
	curl_easy_cleanup(c.h);
	curl_global_cleanup();
	return rc;
}
