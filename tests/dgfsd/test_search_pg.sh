#!/usr/bin/env bash
# tests/dgfsd/test_search.sh with dgfsd's metadata in PostgreSQL
# (tests/dgfsd/meta_backend.sh): the same checks, one more for the server.
#   tests/dgfsd/test_search_pg.sh BUILD_DIR      (as root)
# expect-checks: 39
DGFS_TEST_META=pg exec "$(dirname "$0")/test_search.sh" "$@"
