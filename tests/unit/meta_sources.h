/* SPDX-License-Identifier: GPL-2.0 */
/* dgfsd's metadata layer, front and both backends, for the unit tests that include it. */
#include "dgfsd/meta/meta.c"
#include "dgfsd/meta/file_cache.c"
#include "dgfsd/meta/sqlite_schema.c"
#include "dgfsd/meta/sqlite_rank.c"
#include "dgfsd/meta/sqlite.c"
#include "dgfsd/meta/pg_schema.c"
#include "dgfsd/pgq.c"
#include "dgfsd/meta/pg.c"
