/* SPDX-License-Identifier: GPL-2.0 */
/* The PostgreSQL backend's schema and migrations (meta/pg_schema.c). */
#ifndef DGFSD_META_PG_SCHEMA_H
#define DGFSD_META_PG_SCHEMA_H

#include <libpq-fe.h>

#include "backend.h"

#define PG_SCHEMA_VERSION	1

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

#endif /* DGFSD_META_PG_SCHEMA_H */
