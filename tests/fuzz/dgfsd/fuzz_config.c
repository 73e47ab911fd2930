// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: dgfsd's config file parser (userspace/dgfsd/config.c,
 * dgfsd_config_read) on any text, through fmemopen: no file on disk.
 * Checked besides the sanitizers: a file accepted leaves every string
 * option NUL-terminated within its field and every number inside the
 * bounds the options promise, whatever lines came before a refused one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dgfsd/dgfsd.h"

#define CHECK(cond)							\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "fuzz_config: %s:%d: %s\n",	\
				__FILE__, __LINE__, #cond);		\
			abort();					\
		}							\
	} while (0)

#define CHECK_STR(field) CHECK(memchr(cfg.field, '\0', sizeof(cfg.field)))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dgfsd_config cfg;
	FILE *f;
	int ret;

	dgfsd_config_defaults(&cfg);
	if (!size)
		return 0;
	f = fmemopen((void *)data, size, "r");
	if (!f)
		return 0;
	ret = dgfsd_config_read(&cfg, f, "fuzz.conf");
	fclose(f);
	CHECK(ret == 0 || ret == -1);
	CHECK_STR(state_dir);
	CHECK_STR(listen);
	CHECK_STR(public_host);
	CHECK_STR(access_log);
	CHECK_STR(tls_cert);
	CHECK_STR(tls_key);
	CHECK_STR(user);
	CHECK_STR(host_id);
	CHECK_STR(zone);
	CHECK(!cfg.host_id[0] || dgfsd_cluster_name_ok(cfg.host_id));
	CHECK(dgfsd_cluster_name_ok(cfg.zone));
	CHECK(cfg.heartbeat >= 1 && cfg.heartbeat <= 60);
	CHECK(cfg.down_after >= 1 && cfg.down_after <= 3600);
	CHECK(cfg.http_port >= 1 && cfg.udp_port >= 1);
	CHECK(cfg.token_ttl >= 1 && cfg.token_ttl <= DGFS_TOKEN_MAX_LIFETIME);
	CHECK(cfg.max_read >= 1 && cfg.max_read <= DGFS_MAX_READ_LIMIT);
	CHECK(cfg.udp_threads >= 1 && cfg.max_uploads >= 1 && cfg.max_uploads <= 4096);
	CHECK(cfg.trusted.n <= PROXY_MAX_TRUSTED);
	CHECK(cfg.kmod == DGFSD_KMOD_AUTO || cfg.kmod == DGFSD_KMOD_OFF ||
	      cfg.kmod == DGFSD_KMOD_REQUIRE);
	return 0;
}
