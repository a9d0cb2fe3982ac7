/* evalroom-archive-bench: drives the archive library for bench/archive.sh.
 *   ingest DIR MIB SEGMENT_MIB  -> durable segment ingest into one archive (group commit);
 *                                  prints MB/s, ack latency p50 and max (ms), commits, the
 *                                  time spent waiting in the commits and the whole run (ms)
 *   streams DIR N MBIT SECONDS SEGMENT_S -> N real-time streams into N archives; prints CPU %
 *   sealed DIR MIB SEGMENT_MIB [KEY2] -> a sealed archive DIR/sealed.evarc of MIB MiB, a
 *                                  checkpoint every 30 segments, signed by KEY2 (SM2) too
 */
#include <errno.h>
#include <glib.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "archive.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static struct archive *open_one(const char *dir, const char *name, struct archive_signer *s)
{
	struct archive_tender t = {name, "bench", "bench", 0, NULL};
	char *path = g_strdup_printf("%s/%s.evarc", dir, name);
	struct archive *a = NULL;
	int rc = archive_create(path, &t, s, &a);

	if (rc) {
		fprintf(stderr, "bench: create %s: %s\n", path, g_strerror(-rc));
		exit(1);
	}
	g_free(path);
	return a;
}

/* The declared SHA-256 is the agent's work, computed once outside the timing; the writer's own
 * check of it (a full SHA-256 pass) is part of the measured controller work. */
static int put_segment(struct archive *a, const char *stream, int64_t seq, const uint8_t *data,
                       size_t len, const uint8_t sha[32])
{
	struct archive_segment_info s = {stream,       seq, seq * 2000000, seq * 2000000 + 2000000,
	                                 (int64_t)len, {0}, "mpegts"};
	int rc;

	memcpy(s.sha256, sha, 32);
	rc = archive_append_segment(a, &s, data);
	if (rc)
		fprintf(stderr, "bench: %s\n", archive_errmsg(a));
	return rc;
}

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return (a > b) - (a < b);
}

/* Segments arrive faster than the disk takes them, so the controller's loop is never idle:
 * it commits a batch when it holds ARCHIVE_BATCH_MAX_BYTES or is ARCHIVE_BATCH_MAX_MS old,
 * and acknowledges its segments then. Prints MB/s, then the median and largest time from a
 * segment's arrival to its acknowledgement (ms), then the number of commits, the time spent
 * in them (ms: the caller's loop does nothing else meanwhile) and the whole run's (ms). */
static int ingest(const char *dir, long mib, long seg_mib, struct archive_signer *s)
{
	size_t len = (size_t)seg_mib << 20, staged = 0;
	uint8_t *data = g_malloc(len);
	struct archive *a = open_one(dir, "ingest", s);
	long i, j, first = 0, n = mib / seg_mib, commits = 0;
	double *arrived = g_new(double, (gsize)n), *ack = g_new(double, (gsize)n);
	uint8_t sha[32];
	double t0, t, tc, in_commit = 0;

	RAND_bytes(data, (int)len);
	SHA256(data, len, sha);
	t0 = now_s();
	for (i = 0; i < n; i++) {
		arrived[i] = now_s();
		if (archive_batch_begin(a) || put_segment(a, "bench.cam", i, data, len, sha))
			return 1;
		staged += len;
		if (staged < ARCHIVE_BATCH_MAX_BYTES && i + 1 < n &&
		    now_s() - arrived[first] < ARCHIVE_BATCH_MAX_MS / 1e3)
			continue;
		tc = now_s();
		if (archive_batch_commit(a)) {
			fprintf(stderr, "bench: %s\n", archive_errmsg(a));
			return 1;
		}
		t = now_s();
		in_commit += t - tc;
		for (j = first; j <= i; j++)
			ack[j] = (t - arrived[j]) * 1e3;
		first = i + 1;
		staged = 0;
		commits++;
	}
	t = now_s() - t0;
	qsort(ack, (size_t)n, sizeof(*ack), cmp_double);
	printf("%.1f %.0f %.0f %ld %.0f %.0f\n", (double)(n * (long)len) / 1e6 / t, ack[n / 2],
	       ack[n - 1], commits, in_commit * 1e3, t * 1e3);
	archive_free(a);
	g_free(arrived);
	g_free(ack);
	g_free(data);
	return 0;
}

/* A sealed archive for the verify benchmark: as a tender's, a checkpoint every 30 segments
 * (one a minute at 2 s segments), each also signed by the second key when given. */
static int sealed(const char *dir, long mib, long seg_mib, struct archive_signer *s,
                  const char *key2)
{
	size_t len = (size_t)seg_mib << 20;
	uint8_t *data = g_malloc(len), sha[32];
	struct archive_signer *s2 = NULL;
	struct archive *a;
	struct archive_tender t = {"sealed", "bench", "bench", 0, NULL};
	char *path = g_strdup_printf("%s/sealed.evarc", dir);
	long i, n = mib / seg_mib;
	int rc = 1;

	if (key2 && archive_signer_load_any(key2, &s2)) {
		fprintf(stderr, "bench: %s: not an SM2 or Ed25519 key\n", key2);
		goto out;
	}
	if (archive_create_signed(path, &t, s, s2, &a)) {
		fprintf(stderr, "bench: cannot create %s\n", path);
		goto out;
	}
	for (i = 0; i < n; i++) {
		data[0] = (uint8_t)i; /* every segment different */
		RAND_bytes(data + 1, 63);
		SHA256(data, len, sha);
		if (archive_batch_begin(a) || put_segment(a, "bench.cam", i, data, len, sha) ||
		    archive_batch_commit(a) ||
		    ((i + 1) % 30 == 0 && archive_checkpoint(a, (int64_t)i * 2000000))) {
			fprintf(stderr, "bench: %s\n", archive_errmsg(a));
			archive_free(a);
			goto out;
		}
	}
	rc = archive_seal(a, n * 2000000) ? 1 : 0;
	archive_free(a);
out:
	archive_signer_free(s2);
	g_free(path);
	g_free(data);
	return rc;
}

static int streams(const char *dir, int n, double mbit, double seconds, double seg_s,
                   struct archive_signer *s)
{
	size_t len = (size_t)(mbit * 1e6 / 8 * seg_s);
	uint8_t *data = g_malloc(len);
	struct archive **a = g_new0(struct archive *, (gsize)n);
	double t0, c0, start, next;
	int64_t seq = 0;
	long written = 0;
	uint8_t sha[32];
	int i;

	RAND_bytes(data, (int)len);
	SHA256(data, len, sha);
	for (i = 0; i < n; i++) {
		char name[32];

		snprintf(name, sizeof(name), "stream%02d", i);
		a[i] = open_one(dir, name, s);
	}
	t0 = now_s();
	c0 = cpu_s();
	/* Segments of the N streams close staggered over each segment period, as cameras do. */
	for (start = t0; now_s() - t0 < seconds; seq++, start += seg_s) {
		for (i = 0; i < n; i++) {
			next = start + seg_s * i / n;
			while (now_s() < next)
				g_usleep((gulong)((next - now_s()) * 1e6) + 1);
			if (put_segment(a[i], "bench.cam", seq, data, len, sha))
				return 1;
			written += (long)len;
		}
	}
	printf("%.1f %% of one core for %d streams at %.1f Mbit/s (%.1f MB/s into %d archives)\n",
	       100.0 * (cpu_s() - c0) / (now_s() - t0), n, mbit,
	       (double)written / 1e6 / (now_s() - t0), n);
	for (i = 0; i < n; i++)
		archive_free(a[i]);
	g_free(a);
	g_free(data);
	return 0;
}

int main(int argc, char **argv)
{
	struct archive_signer *s = NULL;
	char *key, *pub;
	int rc;

	if (argc < 3) {
		fprintf(stderr,
		        "usage: evalroom-archive-bench ingest DIR MIB SEGMENT_MIB\n"
		        "       evalroom-archive-bench streams DIR N MBIT SECONDS SEGMENT_S\n"
		        "       evalroom-archive-bench sealed DIR MIB SEGMENT_MIB [KEY2]\n");
		return 2;
	}
	key = g_strdup_printf("%s/bench.key", argv[2]);
	pub = g_strdup_printf("%s/bench.pub", argv[2]);
	if (archive_signer_load(key, &s) &&
	    (archive_keygen(key, pub) || archive_signer_load(key, &s))) {
		fprintf(stderr, "bench: cannot make a signing key in %s\n", argv[2]);
		return 1;
	}
	if (g_str_equal(argv[1], "ingest") && argc == 5)
		rc = ingest(argv[2], atol(argv[3]), atol(argv[4]), s);
	else if (g_str_equal(argv[1], "sealed") && (argc == 5 || argc == 6))
		rc = sealed(argv[2], atol(argv[3]), atol(argv[4]), s, argc == 6 ? argv[5] : NULL);
	else if (g_str_equal(argv[1], "streams") && argc == 7)
		rc =
		    streams(argv[2], atoi(argv[3]), atof(argv[4]), atof(argv[5]), atof(argv[6]), s);
	else
		rc = 2;
	archive_signer_free(s);
	g_free(key);
	g_free(pub);
	return rc;
}
