/* SPDX-License-Identifier: GPL-2.0 */
/* The PostgreSQL backend's schema and migrations (meta/pg_schema.c). */
#ifndef DGFSD_META_PG_SCHEMA_H
#define DGFSD_META_PG_SCHEMA_H

#include <libpq-fe.h>

#include "backend.h"

#define PG_SCHEMA_VERSION	6

/*
 * Creates the schema of a new database, upgrades an older one, or checks
 * an existing one's version (@where names the database in messages): 0,
 * -EPROTO (a newer dgfsd's database, left untouched) or -errno.
 */
int meta_pg_setup(PGconn *conn, const char *where);

/*
 * Logs a failed statement's message (@res's, else the connection's) with
 * @what and maps its SQLSTATE to -errno: -ENOSPC (disk full), -ENOMEM
 * (out of memory), -EIO for the rest. Does not clear @res.
 */
int meta_pg_err(PGconn *conn, const PGresult *res, const char *what);

/*
 * The advisory locks dgfsd takes, "dgfs" in the high half (pg_locks shows
 * it as classid, the low half as objid):
 *   1  the schema's check and upgrade (transaction-level);
 *   2  the owner of the cluster's background work (session-level, held by
 *      the owner's membership connection; cluster.c);
 *   3  a host's registration (transaction-level).
 */
#define PG_LOCK_CLASS_SQL	"1684498035"
#define PG_SCHEMA_LOCK		"x'6467667300000001'::bigint"
#define PG_OWNER_LOCK		"x'6467667300000002'::bigint"
#define PG_OWNER_LOCK_OBJID_SQL	"2"
#define PG_HOSTS_LOCK		"x'6467667300000003'::bigint"

#endif /* DGFSD_META_PG_SCHEMA_H */
