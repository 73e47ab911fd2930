// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the latency histograms in dgfs.ko's log2 buckets
 * (include/dgfs_hist.h, shared with the module; userspace/proto/latency.c)
 * and of dgfsd's Prometheus writer (userspace/dgfsd/prom.c): which bucket
 * a latency lands in at every bound, quantiles, differences between two
 * reads, and the exposition text of a histogram, exactly.
 * One line per check, PASS or FAIL; non-zero exit if any failed.
 */
/* expect-checks: 32 (tests/run-all.sh: a run that prints fewer fails) */

#include "proto/latency.c"
#include "dgfsd/prom.c"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "check.h"

static void test_buckets(void)
{
	unsigned int b, bad = 0;

	CHECK("0 ns: bucket 0", dgfs_hist_bucket(0) == 0);
	CHECK("1024 ns (the first bound): bucket 0", dgfs_hist_bucket(1024) == 0);
	CHECK("1025 ns: bucket 1", dgfs_hist_bucket(1025) == 1);
	CHECK("2048 ns: bucket 1", dgfs_hist_bucket(2048) == 1);
	CHECK("2049 ns: bucket 2", dgfs_hist_bucket(2049) == 2);
	/* Every bound: at it, the bucket; one past it, the next. */
	for (b = 0; b < DGFS_HIST_BUCKETS - 1; b++) {
		uint64_t le = dgfs_hist_bound_ns(b);

		if (le != 1ULL << (DGFS_HIST_MIN_SHIFT + b) || dgfs_hist_bucket(le) != b ||
		    dgfs_hist_bucket(le + 1) != b + 1 || (b && dgfs_hist_bucket(le - 1) != b))
			bad++;
	}
	CHECK("every bound: at it in its bucket, one ns past it in the next", bad == 0);
	CHECK("the last bound is 2^34 ns (17.2 s)",
	      dgfs_hist_bound_ns(DGFS_HIST_BUCKETS - 2) == 1ULL << 34);
	CHECK("the last bucket has no bound", dgfs_hist_bound_ns(DGFS_HIST_BUCKETS - 1) == 0);
	CHECK("2^34 + 1 ns: the last bucket",
	      dgfs_hist_bucket((1ULL << 34) + 1) == DGFS_HIST_BUCKETS - 1);
	CHECK("UINT64_MAX ns: the last bucket", dgfs_hist_bucket(UINT64_MAX) == DGFS_HIST_BUCKETS - 1);
	CHECK("le in seconds: 1.024e-6 first, +Inf last",
	      lat_hist_le_seconds(0) == 1.024e-6 && isinf(lat_hist_le_seconds(DGFS_HIST_BUCKETS - 1)));
}

static void test_record_quantile(void)
{
	static struct lat_hist_shared sh;
	struct lat_hist h, a, d;
	unsigned int i;

	for (i = 0; i < 100; i++)
		lat_hist_record(&sh, 1500);		/* bucket 1: (1024, 2048] */
	lat_hist_record(&sh, 3 * 1000 * 1000);		/* 3 ms: bucket 12 */
	lat_hist_load(&sh, &h);
	CHECK("record: 100 in bucket 1, 1 in bucket 12", h.b[1] == 100 && h.b[12] == 1 &&
	      dgfs_hist_bucket(3000000) == 12);
	CHECK("count is the buckets' sum", lat_hist_count(&h) == 101);
	CHECK("sum_ns", h.sum_ns == 100 * 1500 + 3000000);
	/* Rank 50.5 of 100 in (1024, 2048]: 1024 + 1024 * 50.5 / 100. */
	CHECK("p50 interpolated in its bucket", fabs(lat_hist_quantile(&h, 0.5) - 1541.12) < 0.01);
	CHECK("p99 still in bucket 1 (rank 99.99 of 100)", lat_hist_quantile(&h, 0.99) <= 2048);
	CHECK("p100 in bucket 12 (2^21, 2^22] ns", lat_hist_quantile(&h, 1.0) == 4194304.0);
	CHECK("q out of range is clamped", lat_hist_quantile(&h, 7) == lat_hist_quantile(&h, 1));
	memset(&a, 0, sizeof(a));
	CHECK("empty: quantile 0", lat_hist_quantile(&a, 0.5) == 0);
	a.b[DGFS_HIST_BUCKETS - 1] = 3;
	CHECK("all in the last bucket: its lower bound",
	      lat_hist_quantile(&a, 0.5) == (double)(1ULL << 34));

	a = h;
	lat_hist_record(&sh, 1500);
	lat_hist_record(&sh, 1500);
	lat_hist_load(&sh, &h);
	lat_hist_sub(&d, &h, &a);
	CHECK("sub: the two recorded since", lat_hist_count(&d) == 2 && d.b[1] == 2 &&
	      d.sum_ns == 3000);
	lat_hist_sub(&d, &a, &h);	/* "now" older: a module reloaded */
	CHECK("sub: a count gone back (a reload): all of now", d.b[1] == 100 && d.b[12] == 1 &&
	      d.sum_ns == a.sum_ns);
}

/* Many threads record at once: nothing lost. */
static struct lat_hist_shared many;

static void *recorder(void *arg)
{
	for (unsigned int i = 0; i < 100000; i++)
		lat_hist_record(&many, (uint64_t)(uintptr_t)arg);
	return NULL;
}

static void test_threads(void)
{
	pthread_t t[4];
	struct lat_hist h;
	unsigned int i;

	for (i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, recorder, (void *)(uintptr_t)(1000 << i));
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	lat_hist_load(&many, &h);
	CHECK("4 threads x 100000: count and sum exact",
	      lat_hist_count(&h) == 400000 && h.sum_ns == 100000ULL * 15000 &&
	      h.b[0] == 100000 && h.b[1] == 100000 && h.b[2] == 100000 && h.b[3] == 100000);
}

static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	const char *p = text;

	while ((p = strstr(p, line))) {
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return true;
		p++;
	}
	return false;
}

static unsigned int lines(const char *text)
{
	unsigned int n = 0;

	for (; *text; text++)
		n += *text == '\n';
	return n;
}

static void test_prom(void)
{
	static const double le[] = { 0.0005, 0.001, 2.5 };
	static const uint64_t cum[] = { 1, 3, 3 };
	struct prom_page p = { .cap = 8 };	/* small: it must grow */
	struct lat_hist h;

	p.buf = malloc(p.cap);
	prom_histogram(&p, "x_seconds", "What x takes", le, cum, 3, 5, 1.25);
	CHECK("histogram: exact text",
	      !p.failed && !strcmp(p.buf, "# HELP x_seconds What x takes\n"
				      "# TYPE x_seconds histogram\n"
				      "x_seconds_bucket{le=\"0.0005\"} 1\n"
				      "x_seconds_bucket{le=\"0.001\"} 3\n"
				      "x_seconds_bucket{le=\"2.5\"} 3\n"
				      "x_seconds_bucket{le=\"+Inf\"} 5\n"
				      "x_seconds_sum 1.250000000\n"
				      "x_seconds_count 5\n"));
	free(p.buf);

	memset(&h, 0, sizeof(h));
	h.b[0] = 2;
	h.b[1] = 3;
	h.b[20] = 1;
	h.b[DGFS_HIST_BUCKETS - 1] = 4;
	h.sum_ns = 2500000000ULL;
	p = (struct prom_page){ .cap = 64 };
	p.buf = malloc(p.cap);
	prom_lat_hist(&p, "k_seconds", "K", &h);
	CHECK("log2 histogram: a line per bound, +Inf, sum, count and the two comments",
	      !p.failed && lines(p.buf) == 2 + DGFS_HIST_BUCKETS + 2);
	CHECK("log2 histogram: first bucket 1.024e-06 s holds 2",
	      has_line(p.buf, "k_seconds_bucket{le=\"1.024e-06\"} 2"));
	CHECK("log2 histogram: cumulative (bucket 1 holds 2 + 3)",
	      has_line(p.buf, "k_seconds_bucket{le=\"2.048e-06\"} 5"));
	CHECK("log2 histogram: 2^30 ns exactly (1.073741824 s) holds 6",
	      has_line(p.buf, "k_seconds_bucket{le=\"1.073741824\"} 6"));
	CHECK("log2 histogram: 2^34 ns exactly, the last bound, holds 6",
	      has_line(p.buf, "k_seconds_bucket{le=\"17.179869184\"} 6"));
	CHECK("log2 histogram: +Inf and count hold all 10",
	      has_line(p.buf, "k_seconds_bucket{le=\"+Inf\"} 10") &&
	      has_line(p.buf, "k_seconds_count 10"));
	CHECK("log2 histogram: the sum in seconds", has_line(p.buf, "k_seconds_sum 2.500000000"));
	free(p.buf);

	p = (struct prom_page){ .cap = 16 };
	p.buf = malloc(p.cap);
	prom_gauge(&p, "g", "G", 0.5);
	prom_counter(&p, "c", "C", UINT64_MAX);
	CHECK("gauge and counter: exact text",
	      !strcmp(p.buf, "# HELP g G\n# TYPE g gauge\ng 0.5\n"
			     "# HELP c C\n# TYPE c counter\nc 18446744073709551615\n"));
	free(p.buf);
}

int main(void)
{
	test_buckets();
	test_record_quantile();
	test_threads();
	test_prom();
	return failures ? 1 : 0;
}
