#!/usr/bin/env bash
# tests/dgfsd/test_tags.sh with dgfsd's metadata in PostgreSQL
# (tests/dgfsd/meta_backend.sh): the same checks, one more for the server.
#   tests/dgfsd/test_tags_pg.sh BUILD_DIR      (as root)
# expect-checks: 106
DGFS_TEST_META=pg exec "$(dirname "$0")/test_tags.sh" "$@"
