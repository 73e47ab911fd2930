/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Automatic tagging (docs/TAGS.md, "Automatic tagging"): a small pool of
 * threads works through meta's persisted queue (tag_jobs), each job one
 * stored version of a file. A job reassembles the file from its chunks
 * into an unnamed temp file in the state directory, runs dgfs-tagger and
 * then every tag plugin on it (sandbox.h), and stores what they found
 * (meta_tags.h). Uploads never wait for it: a commit queues the job in
 * its own transaction and kicks the pool.
 */
#ifndef DGFSD_TAGS_H
#define DGFSD_TAGS_H

#include <stdint.h>

struct dgfsd;
struct tagging;

struct tagging_stats {
	uint64_t jobs_done, jobs_failed;	/* failed: could not even be run */
	uint64_t tagger_failures, plugin_failures;
	uint64_t keywords_refreshed;		/* files whose keywords were chosen again */
	uint64_t latency_count;
	double latency_sum;			/* seconds, queued to stored */
	double latency_max;
	uint64_t latency_buckets[8];		/* cumulative, TAGGING_BUCKETS */
	uint64_t pending;
	double oldest_pending_age;		/* seconds */
};

#define TAGGING_BUCKETS { 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30 }

/* Starts the workers (none with --tag-workers 0): 0 or -errno. */
int tagging_start(struct dgfsd *d, struct tagging **out);
void tagging_stop(struct tagging *t);		/* NULL is fine */
/* A file was stored: a worker looks at the queue now. */
void tagging_kick(struct tagging *t);
void tagging_stats(struct tagging *t, struct dgfsd *d, struct tagging_stats *s);

#endif /* DGFSD_TAGS_H */
