// SPDX-License-Identifier: GPL-2.0
/* The Prometheus text format into a growing buffer (prom.h). */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "dgfsd/prom.h"

void prom_out(struct prom_page *p, const char *fmt, ...)
{
	va_list ap;
	char *nbuf;
	int n;

	if (p->failed)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(p->buf + p->len, p->cap - p->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			p->failed = true;
			return;
		}
		if ((size_t)n < p->cap - p->len) {
			p->len += (size_t)n;
			return;
		}
		p->cap = 2 * p->cap + (size_t)n;
		nbuf = realloc(p->buf, p->cap);
		if (!nbuf) {
			p->failed = true;
			return;
		}
		p->buf = nbuf;
	}
}

void prom_gauge(struct prom_page *p, const char *name, const char *help, double v)
{
	prom_out(p, "# HELP %s %s\n# TYPE %s gauge\n%s %.17g\n", name, help, name, name, v);
}

void prom_counter(struct prom_page *p, const char *name, const char *help, uint64_t v)
{
	prom_out(p, "# HELP %s %s\n# TYPE %s counter\n%s %" PRIu64 "\n", name, help, name, name,
		 v);
}

void prom_histogram(struct prom_page *p, const char *name, const char *help,
		    const double *le, const uint64_t *cum, size_t n, uint64_t count, double sum)
{
	prom_out(p, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
	/* %.12g: 2^-20 s and 2^34 ns exactly, 0.0005 still as 0.0005. */
	for (size_t b = 0; b < n; b++)
		prom_out(p, "%s_bucket{le=\"%.12g\"} %" PRIu64 "\n", name, le[b], cum[b]);
	prom_out(p, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n", name, count);
	prom_out(p, "%s_sum %.9f\n", name, sum);
	prom_out(p, "%s_count %" PRIu64 "\n", name, count);
}

void prom_lat_hist(struct prom_page *p, const char *name, const char *help,
		   const struct lat_hist *h)
{
	double le[DGFS_HIST_BUCKETS - 1];
	uint64_t cum[DGFS_HIST_BUCKETS - 1], n = 0;
	unsigned int b;

	for (b = 0; b < DGFS_HIST_BUCKETS - 1; b++) {
		n += h->b[b];
		cum[b] = n;
		le[b] = lat_hist_le_seconds(b);
	}
	n += h->b[b];
	prom_histogram(p, name, help, le, cum, DGFS_HIST_BUCKETS - 1, n, (double)h->sum_ns / 1e9);
}
