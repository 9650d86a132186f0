/* ajbench - the load generator behind `make bench`.
 *
 * Drives a running `agentjail serve` over keep-alive HTTP (libcurl) and
 * measures the same operation many times; also measures the local
 * baselines (fork+exec of a program) in the same way, so that run.sh can
 * print every figure beside its baseline from the same run.
 *
 *   ajbench spawn N PROG [ARGS...]        fork+exec+wait, N times
 *   ajbench create URL KEY N              POST /v1/sandboxes (+ DELETE)
 *   ajbench exec URL KEY N                exec /bin/true in one sandbox
 *   ajbench cell URL KEY N                python cell 1+1 in a warm context
 *   ajbench throughput URL KEY C TOTAL S  TOTAL execs by C clients over S sandboxes
 *   ajbench density URL KEY N             create N sandboxes, wait, delete
 *   ajbench files URL KEY MB              upload and download MB of data
 *
 * Each prints one line: "<what> n=<N> p50=<ms> p99=<ms> [more=value ...]".
 */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
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
}

/* ---- HTTP ------------------------------------------------------------------ */

struct client {
	CURL *h;
	const char *url;
	char auth[128];
	char *resp;
	size_t len;
};

static size_t collect(char *p, size_t sz, size_t n, void *ud)
{
	struct client *c = ud;
	char *r = realloc(c->resp, c->len + sz * n + 1);
	if (!r)
		return 0;
	memcpy(r + c->len, p, sz * n);
	c->resp = r;
	c->len += sz * n;
	r[c->len] = '\0';
	return sz * n;
}

static void client_init(struct client *c, const char *url, const char *key)
{
	memset(c, 0, sizeof(*c));
	c->h = curl_easy_init();
	c->url = url;
	snprintf(c->auth, sizeof(c->auth), "Authorization: Bearer %s", key);
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
	c->len = 0;
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

static int mode_spawn(int n, char **argv)
{
	double *v = calloc((size_t)n, sizeof(double));
	for (int i = 0; i < n; i++) {
		double t = now_ms();
		pid_t pid = fork();
		if (pid == 0) {
			execv(argv[0], argv);
			_exit(127);
		}
		int st;
		waitpid(pid, &st, 0);
		v[i] = now_ms() - t;
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			fprintf(stderr, "ajbench: %s failed\n", argv[0]);
			return 1;
		}
	}
	report("spawn", v, n, NULL);
	free(v);
	return 0;
}

static int mode_create(struct client *c, int n)
{
	double *v = calloc((size_t)n, sizeof(double));
	for (int i = 0; i < n; i++) {
		double t = now_ms();
		char *id = create(c, NULL);
		v[i] = now_ms() - t;
		destroy(c, id);
		free(id);
		usleep(20000); /* let a pool refill, as between real users */
	}
	report("create", v, n, NULL);
	free(v);
	return 0;
}

static int mode_exec(struct client *c, int n)
{
	char *id = create(c, NULL);
	char path[128];
	snprintf(path, sizeof(path), "/v1/sandboxes/%s/exec", id);
	double *v = calloc((size_t)n, sizeof(double));
	for (int i = -5; i < n; i++) {
		double t = now_ms();
		long st = post(c, path, "{\"cmd\":[\"/bin/true\"]}");
		if (st != 200)
			die("exec", c, st);
		if (i >= 0)
			v[i] = now_ms() - t;
	}
	report("exec", v, n, NULL);
	destroy(c, id);
	free(id);
	free(v);
	return 0;
}

static int mode_cell(struct client *c, int n)
{
	char *id = create(c, NULL);
	char path[128];
	snprintf(path, sizeof(path), "/v1/sandboxes/%s/code", id);
	double *v = calloc((size_t)n, sizeof(double));
	for (int i = -3; i < n; i++) {
		double t = now_ms();
		long st = post(c, path, "{\"code\":\"1+1\",\"language\":\"python\"}");
		if (st != 200 || !strstr(c->resp, "\"2\""))
			die("cell", c, st);
		if (i >= 0)
			v[i] = now_ms() - t;
	}
	report("cell", v, n, NULL);
	destroy(c, id);
	free(id);
	free(v);
	return 0;
}

struct worker {
	const char *url, *key;
	char **ids;
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
		snprintf(path, sizeof(path), "/v1/sandboxes/%s/exec",
			 w->ids[(w->idx + i) % w->nids]);
		double t = now_ms();
		if (post(&c, path, "{\"cmd\":[\"/bin/true\"]}") != 200)
			w->failures++;
		w->lat[i] = now_ms() - t;
	}
	free(c.resp);
	curl_easy_cleanup(c.h);
	return NULL;
}

static int mode_throughput(struct client *c, const char *url, const char *key,
			   int clients, int total, int nsb)
{
	char **ids = calloc((size_t)nsb, sizeof(char *));
	for (int i = 0; i < nsb; i++)
		ids[i] = create(c, NULL);
	struct worker *w = calloc((size_t)clients, sizeof(*w));
	pthread_t *th = calloc((size_t)clients, sizeof(*th));
	double *all = calloc((size_t)total, sizeof(double));
	int per = total / clients;
	double t = now_ms();
	for (int i = 0; i < clients; i++) {
		w[i] = (struct worker){ url, key, ids, nsb, per, i, 0, all + i * per };
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
	char what[64];
	snprintf(what, sizeof(what), "throughput_c%d", clients);
	report(what, all, per * clients, extra);
	for (int i = 0; i < nsb; i++) {
		destroy(c, ids[i]);
		free(ids[i]);
	}
	free(ids);
	free(w);
	free(th);
	free(all);
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
	/* tell the script all are up, and wait for it to measure */
	FILE *f = fopen(marker, "w");
	if (f)
		fclose(f);
	while (access(marker, F_OK) == 0)
		usleep(100000);
	for (int i = 0; i < n; i++) {
		destroy(c, ids[i]);
		free(ids[i]);
	}
	char extra[64];
	snprintf(extra, sizeof(extra), "total_s=%.2f", total);
	report("density_create", v, n, extra);
	free(ids);
	free(v);
	return 0;
}

static int mode_files(struct client *c, int mb)
{
	size_t len = (size_t)mb << 20;
	char *data = malloc(len);
	for (size_t i = 0; i < len; i++)
		data[i] = (char)(i * 2654435761u >> 13);
	char *id = create(c, "{\"disk_mb\":1024,\"memory_mb\":2048}");
	char path[160];
	snprintf(path, sizeof(path), "/v1/sandboxes/%s/files?path=/workspace/big.bin", id);
	double t = now_ms();
	long st = req(c, "PUT", path, data, len);
	double up = now_ms() - t;
	if (st != 201 && st != 200)
		die("upload", c, st);
	t = now_ms();
	st = req(c, "GET", path, NULL, 0);
	double down = now_ms() - t;
	if (st != 200 || c->len != len || memcmp(c->resp, data, len) != 0)
		die("download", c, st);
	printf("files n=1 upload_mb_s=%.1f download_mb_s=%.1f\n", mb / (up / 1000),
	       mb / (down / 1000));
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
	else if (!strcmp(mode, "files"))
		rc = mode_files(&c, a);
	free(c.resp);
	curl_easy_cleanup(c.h);
	curl_global_cleanup();
	return rc;
}
