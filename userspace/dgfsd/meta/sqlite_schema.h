/* SPDX-License-Identifier: GPL-2.0 */
/* The SQLite backend's schema and migrations (meta/sqlite_schema.c). */
#ifndef DGFSD_META_SQLITE_SCHEMA_H
#define DGFSD_META_SQLITE_SCHEMA_H

#include <sqlite3.h>

#include "backend.h"

#define META_SCHEMA_VERSION	4

/*
 * Creates the schema of a new database, upgrades an older one, or checks
 * an existing one's version: 0, -EPROTO (a newer dgfsd's database, left
 * untouched) or -errno.
 */
int meta_sqlite_setup(sqlite3 *db, const char *path);

#endif /* DGFSD_META_SQLITE_SCHEMA_H */
