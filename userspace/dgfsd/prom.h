/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The Prometheus text exposition format (0.0.4), written into a growing
 * buffer: what /metrics (metrics.c) is made of.
 */
#ifndef DGFSD_PROM_H
#define DGFSD_PROM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/latency.h"

struct prom_page {
	char *buf;		/* malloc()ed; the caller frees it */
	size_t len, cap;
	bool failed;		/* out of memory: the page is not whole */
};

void prom_out(struct prom_page *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void prom_gauge(struct prom_page *p, const char *name, const char *help, double v);
void prom_counter(struct prom_page *p, const char *name, const char *help, uint64_t v);
/*
 * A histogram: @n finite upper bounds @le (seconds, rising), @cum[i] the
 * observations at or below le[i] (cumulative, as the format has them),
 * @count all of them (the +Inf bucket) and @sum their sum in seconds.
 */
void prom_histogram(struct prom_page *p, const char *name, const char *help,
		    const double *le, const uint64_t *cum, size_t n, uint64_t count, double sum);
/* The same of a histogram in dgfs.ko's log2 buckets. */
void prom_lat_hist(struct prom_page *p, const char *name, const char *help,
		   const struct lat_hist *h);

#endif /* DGFSD_PROM_H */
