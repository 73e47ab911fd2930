/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dgfs_rank(), an FTS5 auxiliary function on every SQLite connection of
 * the metadata (meta/sqlite_rank.c): FTS5's bm25 score of a row, the same
 * double bit for bit, negated to be higher-is-better (search.c's "score"),
 * that also drops (returns NULL for) rows that surely score below a floor
 * its caller raises while it reads the rows. A search that wants the best
 * N of many matches then reads the length of only the rows that may still
 * be among them: reading it (xColumnSize, a statement of FTS5's own on
 * %_docsize) is most of bm25()'s cost a row.
 *
 *   SELECT ..., dgfs_rank(file_text, ?1) FROM file_text WHERE file_text MATCH ?2
 *
 * with ?1 bound by sqlite3_bind_pointer() to a struct rank_floor of type
 * RANK_FLOOR_TYPE (without it, or as NULL, nothing is dropped).
 */
#ifndef DGFSD_META_SQLITE_RANK_H
#define DGFSD_META_SQLITE_RANK_H

#include <stdbool.h>
#include <stdint.h>

#include <sqlite3.h>

#define RANK_FLOOR_TYPE	"dgfs_rank_floor"

struct rank_floor {
	/*
	 * Rows whose score is surely below it give NULL. The caller only
	 * raises it, to the lowest score it still keeps once it keeps enough
	 * rows; -INFINITY (or 0, as scores are positive) drops nothing.
	 */
	double floor;
	/*
	 * The MATCH's first @skip phrases are not scored: they only narrow
	 * the rows (a search's required words, "R AND (ranked OR)", whose
	 * ranked OR repeats them), so the score is the ranked OR's bm25.
	 */
	int skip;
	/* And only @nscore after them (0: all the rest): later ones only test. */
	int nscore;
	/* The row last asked about: a statement may ask twice (WHERE and a column). */
	int64_t rowid;
	double score;
	bool known, dropped, scored;
	/* How many rows were scored in full and how many dropped (for the bench). */
	uint64_t nscored, ndropped;
};

/* Registers dgfs_rank() on @db: SQLITE_OK or an SQLite error code. */
int meta_sqlite_rank_init(sqlite3 *db);

#endif /* DGFSD_META_SQLITE_RANK_H */
