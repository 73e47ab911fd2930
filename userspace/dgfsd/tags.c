// SPDX-License-Identifier: GPL-2.0
/*
 * The auto-tagging workers (tags.h). Each worker takes the oldest job no
 * other worker holds, so a file is never tagged twice at once; a job
 * whose file changed meanwhile finds its result refused (-ESTALE) and its
 * queue row bumped by the newer upload, which gets its own run.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>

#include "dgfsd.h"
#include "meta_tags.h"
#include "repl.h"
#include "sandbox.h"
#include "tags.h"
#include "tags_parse.h"

#define TAGGING_MAX_WORKERS	16
/* What dgfs-tagger sets itself (userspace/tagger/contain.h). */
#define TAGGER_OWN_CPU_SECONDS		60
#define TAGGER_OWN_ADDRESS_SPACE	(2ull << 30)
/* Files up to this size are copied into memory (memfd) for tagging. */
#define TAGGING_MEMFD_MAX	(32u << 20)
/* A worker looks at the queue this often even unkicked (jobs left from a restart). */
#define TAGGING_POLL_MS		5000
/* Files whose keyword tags are chosen again in one transaction. */
#define TAGGING_KEYWORDS_BATCH	32

static const double tagging_buckets[] = TAGGING_BUCKETS;
#define NBUCKETS (sizeof(tagging_buckets) / sizeof(tagging_buckets[0]))

struct tagging {
	struct dgfsd *d;
	pthread_t tids[TAGGING_MAX_WORKERS];
	unsigned int nthreads;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stopping;
	_Atomic bool cancel;		/* set with stopping: running helpers are killed */
	uint64_t kicks;
	int64_t busy[TAGGING_MAX_WORKERS];	/* file ids being tagged; 0: idle */
	/* stats */
	_Atomic uint64_t done, failed, tagger_failures, plugin_failures, keywords_refreshed;
	pthread_mutex_t stats_lock;
	uint64_t lat_count, lat_buckets[NBUCKETS];
	double lat_sum, lat_max;
};

static void logf_(struct tagging *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(struct tagging *t, const char *fmt, ...)
{
	va_list ap;

	(void)t;
	fprintf(stderr, "dgfsd: tagging: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/*
 * Chunk @id (@size bytes), which this host does not hold, from a replica
 * (repl_fetch checks its SHA-256) appended to @fd; @buf is
 * DGFSD_MAX_CHUNK bytes, made at the first call.
 */
static int append_fetched(struct tagging *t, const uint8_t *id, uint32_t size, uint8_t **buf,
			  int fd)
{
	uint32_t done = 0;
	long n;

	if (!*buf && !(*buf = malloc(DGFSD_MAX_CHUNK)))
		return -ENOMEM;
	n = repl_fetch(t->d, id, *buf, DGFSD_MAX_CHUNK);
	if (n < 0)
		return (int)n;
	if ((uint64_t)n != size)
		return -EIO;
	while (done < size) {
		ssize_t w = write(fd, *buf + done, size - done);

		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		done += (uint32_t)w;
	}
	return 0;
}

/*
 * The file's bytes in an unnamed file (a memfd, or O_TMPFILE in the state
 * directory: nothing to clean up after a crash either way), from its
 * chunks, each pinned while copied; with replication, a chunk this host
 * does not hold comes from a replica (any host tags any file). -ESTALE if
 * the file is not the job's version any more.
 */
static int reassemble(struct tagging *t, const struct meta_tag_job *j, int *out)
{
	struct dgfsd *d = t->d;
	struct meta_file *f;
	uint8_t *fetched = NULL;
	uint32_t i;
	int fd, err;

	f = malloc(sizeof(*f));
	if (!f)
		return -ENOMEM;
	err = meta_file_get(d->meta, j->path, f, true);
	if (err) {
		free(f);
		return err == -ENOENT ? -ESTALE : err;
	}
	if (strcmp(f->etag, j->etag)) {
		err = -ESTALE;
		goto out;
	}
	/*
	 * Small files in memory: a copy in the state directory would take
	 * room uploads need when the disk is nearly full. Larger ones there.
	 */
	if (f->size <= TAGGING_MEMFD_MAX)
		fd = memfd_create("dgfsd-tag", MFD_CLOEXEC);
	else
		fd = open(d->cfg.state_dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	for (i = 0; !err && i < f->nchunks; i++) {
		const uint8_t *id = f->chunks[i].id;
		uint32_t size;
		off_t off = 0;
		int cfd;

		if (chunkstore_pin_existing(d->cs, id, &size)) {
			err = -ESTALE;		/* freed by a replace or delete since */
			break;
		}
		cfd = chunkstore_open_chunk(d->cs, id);
		if (cfd == -ENOENT && repl_on(d)) {
			err = append_fetched(t, id, f->chunks[i].size, &fetched, fd);
			if (err)
				logf_(t, "%s: no replica gave chunk %u: %s", j->path, i,
				      strerror(-err));
		} else if (cfd < 0) {
			err = cfd;
		} else {
			while (off < (off_t)size) {
				/* sendfile, not copy_file_range: that one is EXDEV into a memfd. */
				ssize_t n = sendfile(fd, cfd, &off, size - off);

				if (n <= 0) {
					err = n < 0 ? -errno : -EIO;
					break;
				}
			}
			close(cfd);
		}
		chunkstore_unpin(d->cs, id, false);
	}
	if (err)
		close(fd);
	else
		*out = fd;
out:
	free(fetched);
	meta_file_release(f);
	free(f);
	return err;
}

static void limits_for(struct tagging *t, bool plugin, struct sandbox_limits *l)
{
	struct dgfsd *d = t->d;
	unsigned int secs = plugin ? d->cfg.tag_plugin_timeout : d->cfg.tag_timeout;

	l->cancel = &t->cancel;

	l->timeout_ms = secs * 1000;
	l->cpu_seconds = secs + 1;
	l->address_space = d->cfg.tag_memory;
	/* dgfs-tagger writes nothing; a plugin may need scratch files. */
	l->file_size = plugin ? 16u << 20 : 0;
	l->open_files = 64;
	l->output_max = plugin ? 64u << 10 : d->cfg.tag_output_max;
	l->cpu_hard = 0;
	l->address_space_hard = 0;
	l->file_size_hard = 0;
	if (!plugin) {
		/*
		 * dgfs-tagger sets its own limits (soft = hard: CPU 60 s, 2 GiB,
		 * a file size for its JSON) once its libraries are loaded, and
		 * fails if it may not: the hard limits leave it that room. The
		 * wall clock and the output cap hold from outside either way.
		 */
		l->cpu_hard = TAGGER_OWN_CPU_SECONDS;
		l->address_space_hard = TAGGER_OWN_ADDRESS_SPACE;
		l->file_size_hard = d->cfg.tag_output_max;
	}
}

/* dgfsd is stopping: a job cut short is left queued for the next start. */
static bool cancelled(struct tagging *t)
{
	return atomic_load(&t->cancel);
}

/*
 * dgfs-tagger on the file: what it found into @o (empty if it failed).
 * @cheap: without OCR and speech. Returns whether it ran out of time (its
 * wall clock, or its CPU limit: SIGXCPU or the kill past the hard limit).
 */
static bool run_tagger_once(struct tagging *t, const struct meta_tag_job *j, int fd,
			    struct tagger_output *o, bool cheap)
{
	struct dgfsd *d = t->d;
	char *argv[] = { d->cfg.tagger, "/proc/self/fd/3", (char *)j->path, NULL, NULL, NULL };
	struct sandbox_limits lim;
	struct sandbox_result res;
	bool out_of_time = false;
	const char *why;
	char buf[256];
	int err;

	if (cheap) {
		argv[1] = "--no-ocr";
		argv[2] = "--no-speech";
		argv[3] = "/proc/self/fd/3";
		argv[4] = (char *)j->path;
	}
	memset(o, 0, sizeof(*o));
	limits_for(t, false, &lim);
	err = sandbox_run(argv, fd, &lim, &res);
	if (err) {
		logf_(t, "%s: cannot run %s: %s", j->path, d->cfg.tagger, strerror(-err));
		atomic_fetch_add(&t->tagger_failures, 1);
	} else if (res.exit_code || res.timed_out || res.output_over) {
		logf_(t, "%s: dgfs-tagger%s %s", j->path, cheap ? " (without OCR and speech)" : "",
		      sandbox_failure(&res, &lim, buf, sizeof(buf)));
		atomic_fetch_add(&t->tagger_failures, 1);
		out_of_time = !res.cancelled &&
			      (res.timed_out || res.signal == SIGXCPU || res.signal == SIGKILL);
	} else if (tagger_output_parse(res.out ? res.out : "", res.out_len, o, &why)) {
		logf_(t, "%s: dgfs-tagger's output refused: %s", j->path, why ? why : "no memory");
		atomic_fetch_add(&t->tagger_failures, 1);
	} else if (o->skipped) {
		logf_(t, "%s: dgfs-tagger: %u malformed entries skipped", j->path, o->skipped);
	}
	sandbox_result_free(&res);
	return out_of_time;
}

/*
 * OCR and speech are what can take long (a long recording, a slow
 * machine): a file whose tagging ran out of time is tagged again without
 * them, so it still gets its type, its text and its media tags.
 */
static void run_tagger(struct tagging *t, const struct meta_tag_job *j, int fd,
		       struct tagger_output *o)
{
	if (run_tagger_once(t, j, fd, o, false) && !cancelled(t)) {
		logf_(t, "%s: tagging it again without OCR and speech", j->path);
		run_tagger_once(t, j, fd, o, true);
	}
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every plugin, in name order, each on its own: their tags appended to @tags. */
static void run_plugins(struct tagging *t, const struct meta_tag_job *j, int fd,
			struct tag **tags, size_t *n)
{
	struct dgfsd *d = t->d;
	char *names[256], path[PATH_MAX], buf[256];
	struct sandbox_limits lim;
	size_t nn = 0, i;
	struct dirent *e;
	DIR *dir;

	if (!d->cfg.tag_plugins[0])
		return;
	dir = opendir(d->cfg.tag_plugins);
	if (!dir) {
		logf_(t, "cannot read --tag-plugins %s: %s", d->cfg.tag_plugins, strerror(errno));
		return;
	}
	while ((e = readdir(dir)) && nn < sizeof(names) / sizeof(names[0])) {
		if (e->d_name[0] == '.')
			continue;
		names[nn] = strdup(e->d_name);
		if (names[nn])
			nn++;
	}
	closedir(dir);
	qsort(names, nn, sizeof(names[0]), name_cmp);
	limits_for(t, true, &lim);
	for (i = 0; i < nn; i++) {
		char *argv[] = { path, "/proc/self/fd/3", (char *)j->path, NULL };
		struct sandbox_result res;
		unsigned int skipped = 0;
		struct stat st;
		int err;

		if (cancelled(t)) {
			free(names[i]);
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s", d->cfg.tag_plugins, names[i]);
		free(names[i]);
		if (stat(path, &st) || !S_ISREG(st.st_mode) || access(path, X_OK))
			continue;
		err = sandbox_run(argv, fd, &lim, &res);
		if (err) {
			logf_(t, "%s: cannot run plugin %s: %s", j->path, path, strerror(-err));
			atomic_fetch_add(&t->plugin_failures, 1);
		} else if (res.exit_code || res.timed_out || res.output_over) {
			logf_(t, "%s: plugin %s %s", j->path, path,
			      sandbox_failure(&res, &lim, buf, sizeof(buf)));
			atomic_fetch_add(&t->plugin_failures, 1);
		} else if (plugin_output_parse(res.out ? res.out : "", res.out_len, tags, n,
					       &skipped)) {
			logf_(t, "%s: plugin %s: out of memory", j->path, path);
		} else if (skipped) {
			logf_(t, "%s: plugin %s: %u lines that are not tags skipped", j->path, path,
			      skipped);
		}
		sandbox_result_free(&res);
	}
}

static void record_latency(struct tagging *t, const struct meta_tag_job *j)
{
	double s = (double)(meta_now_ms() - j->queued) / 1000.0;
	size_t b;

	if (s < 0)
		s = 0;
	pthread_mutex_lock(&t->stats_lock);
	t->lat_count++;
	t->lat_sum += s;
	if (s > t->lat_max)
		t->lat_max = s;
	for (b = 0; b < NBUCKETS; b++)
		if (s <= tagging_buckets[b])
			t->lat_buckets[b]++;
	pthread_mutex_unlock(&t->stats_lock);
}

static void tag_one(struct tagging *t, const struct meta_tag_job *j)
{
	struct dgfsd *d = t->d;
	struct tagger_output o = { 0 };
	struct tag *tags = NULL;
	size_t ntags = 0, i;
	int fd = -1, err;

	if (j->attempts)
		logf_(t, "%s: tagging again (attempt %d: dgfsd stopped during the last)", j->path,
		      j->attempts + 1);
	if (j->size > d->cfg.tag_max_size) {
		logf_(t, "%s: not tagged: %" PRIu64 " bytes, more than --tag-max-size", j->path,
		      j->size);
		err = 0;
		goto done;
	}
	/* Nothing would look at the bytes: not worth copying them. */
	if (!d->cfg.tagger[0] && !d->cfg.tag_plugins[0]) {
		meta_tag_job_done(d->meta, j);
		return;
	}
	err = reassemble(t, j, &fd);
	if (err)
		goto done;
	if (d->cfg.tagger[0])
		run_tagger(t, j, fd, &o);
	/* The tagger's tags first, then each plugin's, in one list. */
	for (i = 0; i < o.ntags; i++) {
		if (ntags >= 16 && (ntags & (ntags - 1)) == 0) {
			void *p = reallocarray(tags, 2 * ntags, sizeof(*tags));

			if (!p)
				break;
			tags = p;
		} else if (!ntags) {
			tags = calloc(16, sizeof(*tags));
			if (!tags)
				break;
		}
		tags[ntags++] = o.tags[i];
	}
	run_plugins(t, j, fd, &tags, &ntags);
	if (cancelled(t)) {
		close(fd);
		free(tags);
		tagger_output_free(&o);
		return;		/* not done: its queue row stays */
	}
	err = meta_tags_auto_set(d->meta, j->file_id, j->etag, &(struct meta_auto_tags){
		.tags = tags, .ntags = ntags, .terms = o.terms, .nterms = o.nterms,
		.text = o.text, .text_len = o.text_len, .keywords = META_KEYWORDS }, NULL);
	if (!err && d->cfg.verbose)
		logf_(t, "%s: %zu tags, %zu terms", j->path, ntags, o.nterms);
done:
	if (fd >= 0)
		close(fd);
	free(tags);
	tagger_output_free(&o);
	if (err == -ESTALE) {
		/* A newer version has its own job (or the file is gone): no latency to count. */
	} else if (err) {
		logf_(t, "%s: not tagged: %s", j->path, strerror(-err));
		atomic_fetch_add(&t->failed, 1);
	} else {
		atomic_fetch_add(&t->done, 1);
		record_latency(t, j);
	}
	/* Done either way: a failure here would fail again; the next upload retries. */
	meta_tag_job_done(d->meta, j);
}

/* One batch of keyword refreshes, called with t->lock held: whether there may be more. */
static bool refresh_keywords(struct tagging *t)
{
	unsigned int done = 0;
	int err;

	pthread_mutex_unlock(&t->lock);
	err = meta_keywords_refresh(t->d->meta, TAGGING_KEYWORDS_BATCH, &done);
	pthread_mutex_lock(&t->lock);
	if (err) {
		logf_(t, "cannot refresh keyword tags: %s", strerror(-err));
		return false;
	}
	if (done) {
		atomic_fetch_add(&t->keywords_refreshed, done);
		if (t->d->cfg.verbose)
			logf_(t, "keyword tags of %u files chosen again (the corpus changed)", done);
	}
	return done == TAGGING_KEYWORDS_BATCH && !t->stopping;
}

struct worker_arg {
	struct tagging *t;
	unsigned int idx;
};

static void *worker_run(void *arg)
{
	struct worker_arg *wa = arg;
	struct tagging *t = wa->t;
	unsigned int idx = wa->idx;
	struct meta_tag_job *j;
	uint64_t seen = 0;
	int64_t busy[TAGGING_MAX_WORKERS];
	size_t nbusy, i;
	int err;

	free(wa);
	j = malloc(sizeof(*j));
	if (!j)
		return NULL;
	pthread_mutex_lock(&t->lock);
	while (!t->stopping) {
		nbusy = 0;
		for (i = 0; i < t->nthreads; i++)
			if (t->busy[i])
				busy[nbusy++] = t->busy[i];
		seen = t->kicks;
		err = meta_tag_job_next(t->d->meta, busy, nbusy, j);
		if (!err) {
			t->busy[idx] = j->file_id;
			pthread_mutex_unlock(&t->lock);
			tag_one(t, j);
			meta_tag_job_release(t->d->meta, j);	/* other hosts' to take again */
			pthread_mutex_lock(&t->lock);
			t->busy[idx] = 0;
			/* Another worker may have skipped this file's newer job meanwhile. */
			pthread_cond_broadcast(&t->cond);
			continue;
		}
		if (err != -ENOENT)
			logf_(t, "cannot read the queue: %s", strerror(-err));
		/*
		 * Nothing to tag: the first worker brings keyword tags up to
		 * date with the corpus, a batch at a time (one transaction
		 * each), looking at the queue again between batches.
		 */
		if (err == -ENOENT && !idx && refresh_keywords(t))
			continue;
		if (t->kicks == seen) {
			struct timespec until;

			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += TAGGING_POLL_MS / 1000;
			pthread_cond_timedwait(&t->cond, &t->lock, &until);
		}
	}
	pthread_mutex_unlock(&t->lock);
	free(j);
	return NULL;
}

int tagging_start(struct dgfsd *d, struct tagging **out)
{
	struct tagging *t;
	unsigned int i;

	*out = NULL;
	/*
	 * The hosts share one queue (PostgreSQL): whichever claims a job
	 * (meta_tags_pg.c) tags the file, fetching the chunks it lacks from
	 * their replicas.
	 */
	if (!d->cfg.tag_workers || !meta_has_tags(d->meta))
		return 0;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->d = d;
	pthread_mutex_init(&t->lock, NULL);
	pthread_mutex_init(&t->stats_lock, NULL);
	pthread_cond_init(&t->cond, NULL);
	if (d->cfg.tagger[0] && access(d->cfg.tagger, X_OK))
		logf_(t, "%s cannot be run (%s): files get plugin tags only until it can",
		      d->cfg.tagger, strerror(errno));
	pthread_mutex_lock(&t->lock);
	for (i = 0; i < d->cfg.tag_workers && i < TAGGING_MAX_WORKERS; i++) {
		struct worker_arg *wa = malloc(sizeof(*wa));

		if (!wa)
			break;
		wa->t = t;
		wa->idx = i;
		if (pthread_create(&t->tids[i], NULL, worker_run, wa)) {
			free(wa);
			break;
		}
		t->nthreads++;
	}
	pthread_mutex_unlock(&t->lock);
	if (!t->nthreads) {
		tagging_stop(t);
		return -EAGAIN;
	}
	*out = t;
	return 0;
}

void tagging_stop(struct tagging *t)
{
	unsigned int i;

	if (!t)
		return;
	pthread_mutex_lock(&t->lock);
	t->stopping = true;
	atomic_store(&t->cancel, true);
	pthread_cond_broadcast(&t->cond);
	pthread_mutex_unlock(&t->lock);
	for (i = 0; i < t->nthreads; i++)
		pthread_join(t->tids[i], NULL);
	pthread_cond_destroy(&t->cond);
	pthread_mutex_destroy(&t->lock);
	pthread_mutex_destroy(&t->stats_lock);
	free(t);
}

void tagging_kick(struct tagging *t)
{
	if (!t)
		return;
	pthread_mutex_lock(&t->lock);
	t->kicks++;
	pthread_cond_signal(&t->cond);
	pthread_mutex_unlock(&t->lock);
}

void tagging_stats(struct tagging *t, struct dgfsd *d, struct tagging_stats *s)
{
	int64_t oldest = 0;
	size_t b;

	memset(s, 0, sizeof(*s));
	if (!meta_has_tags(d->meta))
		return;
	if (!meta_tag_job_stats(d->meta, &s->pending, &oldest) && oldest)
		s->oldest_pending_age = (double)(meta_now_ms() - oldest) / 1000.0;
	if (!t)
		return;
	s->jobs_done = atomic_load(&t->done);
	s->jobs_failed = atomic_load(&t->failed);
	s->tagger_failures = atomic_load(&t->tagger_failures);
	s->plugin_failures = atomic_load(&t->plugin_failures);
	s->keywords_refreshed = atomic_load(&t->keywords_refreshed);
	pthread_mutex_lock(&t->stats_lock);
	s->latency_count = t->lat_count;
	s->latency_sum = t->lat_sum;
	s->latency_max = t->lat_max;
	for (b = 0; b < NBUCKETS; b++)
		s->latency_buckets[b] = t->lat_buckets[b];
	pthread_mutex_unlock(&t->stats_lock);
}
