// SPDX-License-Identifier: GPL-2.0
/*
 * /metrics: Prometheus text exposition format 0.0.4. HTTP counts by
 * method and status and a latency histogram are kept here (atomics: every
 * connection thread records); the store's numbers come from the metadata,
 * the UDP tier's from its workers, and dgfs.ko's and the XDP program's
 * from netlink and the pinned counter map.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "own_copies.h"
#include "repair.h"
#include "repl.h"
#include "dgfsd.h"
#include "tags.h"
#include "dgfs_xdp_loader.h"
#include "http_filter_loader.h"
#include "server/userd.h"
#include "prom.h"

static const char *const methods[] = { "GET", "HEAD", "PUT", "POST", "DELETE", "other" };
#define NMETHODS (sizeof(methods) / sizeof(methods[0]))
/* Status 0 is a request cut off before its answer. */
#define NSTATUS 600

static _Atomic uint64_t requests[NMETHODS][NSTATUS];

/* Latency buckets, seconds (upper bounds); the last is +Inf. */
static const double buckets[] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};
#define NBUCKETS (sizeof(buckets) / sizeof(buckets[0]))
static _Atomic uint64_t hist[NBUCKETS + 1];
static _Atomic uint64_t hist_sum_ns;

void metrics_record(const char *method, unsigned int status, uint64_t duration_ns)
{
	double secs = (double)duration_ns / 1e9;
	unsigned int m, b;

	for (m = 0; m < NMETHODS - 1; m++)
		if (!strcmp(method, methods[m]))
			break;
	if (status >= NSTATUS)
		status = 0;
	atomic_fetch_add_explicit(&requests[m][status], 1, memory_order_relaxed);
	for (b = 0; b < NBUCKETS; b++)
		if (secs <= buckets[b])
			break;
	atomic_fetch_add_explicit(&hist[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&hist_sum_ns, duration_ns, memory_order_relaxed);
}

/* Of dgfs.ko's numbers, those that are a state now rather than a count. */
static bool kmod_stat_is_gauge(const char *name)
{
	static const char *const gauges[] = {
		"stores", "chunks", "chunk_bytes", "rings", "slow_reads", "queued", "queued_max",
	};

	for (size_t i = 0; i < sizeof(gauges) / sizeof(gauges[0]); i++)
		if (!strcmp(name, gauges[i]))
			return true;
	return false;
}

static void kmod_stat(const char *name, uint64_t value, void *arg)
{
	struct prom_page *p = arg;

	prom_out(p, "# TYPE dgfs_kmod_%s %s\ndgfs_kmod_%s %" PRIu64 "\n", name,
		 kmod_stat_is_gauge(name) ? "gauge" : "counter", name, value);
}

static void udp_tier(struct prom_page *p, struct dgfsd *d)
{
	struct userd_counter_sum sum;

	struct lat_hist lat;

	/* Sockets and AF_XDP workers (--af-xdp) together, as dgfs-userd counts. */
	userd_counters_sum(d->workers, d->nworkers, &sum);
	userd_xsk_tier_add_counters(d->xsk, &sum);
#define X(name, desc) prom_counter(p, "dgfsd_udp_" #name, desc, sum.name);
	USERD_COUNTER_TABLE(X)
#undef X
	userd_latency_sum(d->workers, d->nworkers, &lat);
	userd_xsk_tier_add_latency(d->xsk, &lat);
	prom_lat_hist(p, "dgfsd_udp_request_duration_seconds",
		      "UDP tier: from a request's recvmmsg() (or its AF_XDP batch's arrival) "
		      "to its reply sent", &lat);
	if (!d->xsk)
		return;
	/* Of which AF_XDP's, to tell how much bypassed the sockets. */
	memset(&sum, 0, sizeof(sum));
	userd_xsk_tier_add_counters(d->xsk, &sum);
	prom_gauge(p, "dgfsd_udp_af_xdp_queues", "AF_XDP sockets serving (--af-xdp), one a "
		   "receive queue", userd_xsk_tier_queues(d->xsk));
	prom_counter(p, "dgfsd_udp_af_xdp_requests", "... well-formed requests that came "
		     "through them", sum.requests);
	prom_counter(p, "dgfsd_udp_af_xdp_replies", "... requests they answered with data",
		     sum.replies);
}

/* dgfs.ko's latency histograms (nothing from a module without them). */
static void kmod_latency_metrics(struct prom_page *p, struct dgfsd *d)
{
	struct lat_hist request, disk;

	if (kmod_latency(d->kmod, &request, &disk))
		return;
	prom_lat_hist(p, "dgfs_kmod_request_duration_seconds",
		      "dgfs.ko: from a request queued by XDP (or its socket) to its reply's "
		      "last datagram sent", &request);
	prom_lat_hist(p, "dgfs_kmod_disk_read_duration_seconds",
		      "dgfs.ko: slow reads' waits for a page that was not in the page cache", &disk);
}

/* Automatic tagging: how long a stored file waits for its auto tags. */
static void tagging_metrics(struct prom_page *p, struct dgfsd *d)
{
	static const double le[] = TAGGING_BUCKETS;
	struct tagging_stats s;

	tagging_stats(d->tagging, d, &s);
	prom_gauge(p, "dgfsd_tag_jobs_pending", "Stored files waiting to be tagged", (double)s.pending);
	prom_gauge(p, "dgfsd_tag_oldest_pending_seconds", "How long the oldest of them has waited",
	      s.oldest_pending_age);
	prom_counter(p, "dgfsd_tag_jobs_total", "Files tagged", s.jobs_done);
	prom_counter(p, "dgfsd_tag_jobs_failed_total", "Files that could not be tagged",
		s.jobs_failed);
	prom_counter(p, "dgfsd_tagger_failures_total",
		"dgfs-tagger runs that failed, timed out or printed too much", s.tagger_failures);
	prom_counter(p, "dgfsd_tag_plugin_failures_total",
		"Plugin runs that failed, timed out or printed too much", s.plugin_failures);
	prom_counter(p, "dgfsd_tag_keywords_refreshed_total",
		"Files whose keyword tags were chosen again as the corpus changed",
		s.keywords_refreshed);
	prom_histogram(p, "dgfsd_tag_latency_seconds", "From a file's commit to its auto tags stored",
		       le, s.latency_buckets, sizeof(le) / sizeof(le[0]), s.latency_count,
		       s.latency_sum);
	prom_gauge(p, "dgfsd_tag_latency_max_seconds", "The longest of them so far", s.latency_max);
}

struct host_counts {
	unsigned int up, down, draining;
};

static int count_host(const struct cluster_host *h, void *arg)
{
	struct host_counts *n = arg;

	if (h->up)
		n->up++;
	else
		n->down++;
	n->draining += h->draining;
	return 0;
}

/* The cluster's members as the database sees them (nothing if it cannot be read). */
static void cluster_metrics(struct dgfsd *d, struct prom_page *p)
{
	struct host_counts n = { 0, 0, 0 };
	const struct repair_stats *rs = repair_stats();

	prom_out(p, "# HELP dgfsd_cluster_owner 1 while this host owns the cluster's background work\n"
	    "# TYPE dgfsd_cluster_owner gauge\ndgfsd_cluster_owner %d\n",
	    cluster_is_owner(d->cluster));
	if (repl_on(d)) {
		/* Repair (repair.c): the gauges are the owner's last whole pass. */
		prom_out(p, "# HELP dgfsd_repair_chunks Chunks at the owner's last repair pass: short of "
		    "R copies on live undrained hosts, with an owner lacking a copy, with no live "
		    "copy, with a copy on a live host that is no owner\n"
		    "# TYPE dgfsd_repair_chunks gauge\n"
		    "dgfsd_repair_chunks{state=\"short\"} %llu\n"
		    "dgfsd_repair_chunks{state=\"misplaced\"} %llu\n"
		    "dgfsd_repair_chunks{state=\"lost\"} %llu\n"
		    "dgfsd_repair_chunks{state=\"surplus\"} %llu\n",
		    (unsigned long long)atomic_load(&rs->short_chunks),
		    (unsigned long long)atomic_load(&rs->misplaced),
		    (unsigned long long)atomic_load(&rs->lost),
		    (unsigned long long)atomic_load(&rs->surplus));
		prom_out(p, "# HELP dgfsd_repair_copies_total Copies repair made, could not make, and "
		    "fetched bytes it refused (not their chunk's)\n"
		    "# TYPE dgfsd_repair_copies_total counter\n"
		    "dgfsd_repair_copies_total{result=\"copied\"} %llu\n"
		    "dgfsd_repair_copies_total{result=\"failed\"} %llu\n"
		    "dgfsd_repair_copies_total{result=\"refused\"} %llu\n",
		    (unsigned long long)atomic_load(&rs->copied),
		    (unsigned long long)atomic_load(&rs->failed),
		    (unsigned long long)atomic_load(&rs->refused));
		prom_out(p, "# HELP dgfsd_repair_bytes_total Bytes of the copies repair made\n"
		    "# TYPE dgfsd_repair_bytes_total counter\ndgfsd_repair_bytes_total %llu\n"
		    "# HELP dgfsd_repair_handed_off_total Copies this draining host removed once "
		    "their owners held them\n# TYPE dgfsd_repair_handed_off_total counter\n"
		    "dgfsd_repair_handed_off_total %llu\n"
		    "# HELP dgfsd_repair_trims_total Surplus copies the owner had their holders "
		    "drop, and trims a holder refused or did not answer\n"
		    "# TYPE dgfsd_repair_trims_total counter\n"
		    "dgfsd_repair_trims_total{result=\"trimmed\"} %llu\n"
		    "dgfsd_repair_trims_total{result=\"failed\"} %llu\n"
		    "# HELP dgfsd_repair_passes_total Whole repair passes as the owner\n"
		    "# TYPE dgfsd_repair_passes_total counter\ndgfsd_repair_passes_total %llu\n"
		    "# HELP dgfsd_repair_lost_copies_total This host's chunk_copies records whose "
		    "chunk file was gone or of the wrong size, removed\n"
		    "# TYPE dgfsd_repair_lost_copies_total counter\n"
		    "dgfsd_repair_lost_copies_total %llu\n",
		    (unsigned long long)atomic_load(&rs->bytes),
		    (unsigned long long)atomic_load(&rs->handed_off),
		    (unsigned long long)atomic_load(&rs->trimmed),
		    (unsigned long long)atomic_load(&rs->trim_failed),
		    (unsigned long long)atomic_load(&rs->passes), own_copies_removed_total());
	}
	if (cluster_hosts(d->cluster, count_host, &n))
		return;
	prom_out(p, "# HELP dgfsd_cluster_hosts Registered hosts, up or down (--down-after), and "
	    "draining\n"
	    "# TYPE dgfsd_cluster_hosts gauge\ndgfsd_cluster_hosts{state=\"up\"} %u\n"
	    "dgfsd_cluster_hosts{state=\"down\"} %u\n"
	    "dgfsd_cluster_hosts{state=\"draining\"} %u\n", n.up, n.down, n.draining);
}

/* The HTTP filter's pinned counters (docs/DGFSD.md, "The HTTP filter"). */
static void http_filter_metrics(struct prom_page *p)
{
	static const char *const help[HTTP_FILTER_NR_COUNTERS] = {
		[HTTP_FILTER_OTHER] = "Frames not TCP to the HTTP port, passed untouched",
		[HTTP_FILTER_UNPARSED] = "Frames whose headers the filter does not walk "
			"(truncated, later fragments, long IPv6 header chains), passed",
		[HTTP_FILTER_PACKETS] = "TCP segments to the HTTP port",
		[HTTP_FILTER_SYN] = "Of which new connections (SYN without ACK)",
		[HTTP_FILTER_SYN_DROPPED] = "Of which dropped past the client's --syn-rate and "
			"--syn-burst",
		[HTTP_FILTER_UNTRACKED] = "Segments of a client the LRU map could not hold, "
			"passed unlimited",
	};
	uint64_t c[HTTP_FILTER_NR_COUNTERS], clients;
	char err[256], name[64];

	if (http_filter_counters(c, &clients, err, sizeof(err)))
		return;
	for (unsigned int i = 0; i < HTTP_FILTER_NR_COUNTERS; i++) {
		snprintf(name, sizeof(name), "dgfsd_http_filter_%s_total",
			 http_filter_counter_name(i));
		prom_counter(p, name, help[i], c[i]);
	}
	prom_gauge(p, "dgfsd_http_filter_clients", "Client addresses the filter remembers (LRU, "
	      "at most 65536)", (double)clients);
}

char *metrics_render(struct dgfsd *d, size_t *len)
{
	struct chunkstore_stats *cs = chunkstore_stats(d->cs);
	uint64_t xdp[DGFS_XDP_NR_COUNTERS], cum = 0, hist_cum[NBUCKETS + 1];
	struct prom_page p = { .cap = 16384 };
	struct meta_stats ms;
	unsigned int m, s, b;
	char err[256];

	p.buf = malloc(p.cap);
	if (!p.buf)
		return NULL;
	prom_out(&p, "# HELP dgfsd_http_requests_total HTTP requests by method and status "
		"(code 0: cut off before an answer)\n# TYPE dgfsd_http_requests_total counter\n");
	for (m = 0; m < NMETHODS; m++)
		for (s = 0; s < NSTATUS; s++) {
			uint64_t v = atomic_load_explicit(&requests[m][s], memory_order_relaxed);

			if (v)
				prom_out(&p, "dgfsd_http_requests_total{method=\"%s\",code=\"%u\"} %"
				    PRIu64 "\n", methods[m], s, v);
		}
	for (b = 0; b <= NBUCKETS; b++) {
		cum += atomic_load_explicit(&hist[b], memory_order_relaxed);
		hist_cum[b] = cum;
	}
	/* The +Inf bucket is the count: the two cannot disagree. */
	prom_histogram(&p, "dgfsd_http_request_duration_seconds",
		       "Time from the request's headers to its end", buckets, hist_cum, NBUCKETS,
		       cum, (double)atomic_load(&hist_sum_ns) / 1e9);

	if (!meta_stats(d->meta, &ms)) {
		prom_gauge(&p, "dgfsd_files", "Files stored", (double)ms.files);
		prom_gauge(&p, "dgfsd_logical_bytes", "Sum of the files' sizes",
		      (double)ms.logical_bytes);
		prom_gauge(&p, "dgfsd_chunks", "Distinct chunks the files reference", (double)ms.chunks);
		prom_gauge(&p, "dgfsd_stored_bytes", "Sum of those chunks' sizes",
		      (double)ms.stored_bytes);
		prom_gauge(&p, "dgfsd_dedup_ratio", "Logical bytes per stored byte",
		      ms.stored_bytes ? (double)ms.logical_bytes / (double)ms.stored_bytes : 1.0);
	}
	prom_gauge(&p, "dgfsd_uploads_in_progress", "PUT /files uploads running",
	      (double)atomic_load(&d->uploads));
	prom_gauge(&p, "dgfsd_body_memory_bytes", "request bodies held now (--max-body-memory)",
	      (double)atomic_load(&d->body_memory));
	prom_counter(&p, "dgfsd_chunks_written_total", "Chunks written to the store",
		atomic_load(&cs->written));
	prom_counter(&p, "dgfsd_chunk_bytes_written_total", "Bytes of those chunks",
		atomic_load(&cs->written_bytes));
	prom_counter(&p, "dgfsd_chunks_deduplicated_total", "Chunks found already stored",
		atomic_load(&cs->deduped));
	prom_counter(&p, "dgfsd_chunks_removed_total", "Chunk files removed",
		atomic_load(&cs->removed));
	prom_counter(&p, "dgfsd_kmod_errors_total", "Failed dgfs.ko index changes",
		atomic_load(&cs->kmod_errors));
	tagging_metrics(&p, d);
	prom_gauge(&p, "dgfsd_fastpath_kernel", "1 if dgfs.ko serves the fast path, 0 if dgfsd does",
	      d->kmod ? 1 : 0);
	if (d->nworkers)
		udp_tier(&p, d);
	if (d->kmod) {
		kmod_stats_foreach(d->kmod, kmod_stat, &p);
		kmod_latency_metrics(&p, d);
	}
	if (!dgfs_xdp_counters(xdp, err, sizeof(err))) {
		unsigned int i;

		for (i = 0; i < DGFS_XDP_NR_COUNTERS; i++)
			prom_out(&p, "# TYPE dgfs_xdp_%s counter\ndgfs_xdp_%s %" PRIu64 "\n",
			    dgfs_xdp_counter_name(i), dgfs_xdp_counter_name(i), xdp[i]);
	}
	if (d->cfg.http_filter[0])
		http_filter_metrics(&p);
	if (d->cluster)
		cluster_metrics(d, &p);
	if (p.failed) {
		free(p.buf);
		return NULL;
	}
	*len = p.len;
	return p.buf;
}
