// SPDX-License-Identifier: GPL-2.0
/* The fast-path reader's statistics as the client words them (client.h). */
#include <stdio.h>

#include "client.h"
#include "proto/reader.h"

void reader_stats_text(const struct dgfs_reader_stats *st, char *buf, size_t len)
{
	snprintf(buf, len, "%llu re-requests, RTO up to %llu ms; %llu datagrams, %llu bytes "
		 "twice, %llu misfits; the client paused up to %llu ms",
		 (unsigned long long)st->rerequests,
		 (unsigned long long)(st->rto_max_ns / 1000000),
		 (unsigned long long)st->datagrams,
		 (unsigned long long)st->dup_bytes,
		 (unsigned long long)st->misfit,
		 (unsigned long long)(st->pause_max_ns / 1000000));
}
