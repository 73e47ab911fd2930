// SPDX-License-Identifier: GPL-2.0
/*
 * A file body's response header leaves in the body's first TCP segment
 * (docs/BENCHMARKS.md, issue 13).
 *
 * libmicrohttpd (0.9.75 and its master of 2025) sends the header of a
 * response from a file with send() and pushes it at once (TCP_CORK off or
 * TCP_NODELAY on: MHD_send_hdr_and_body_() pushes a header whose body is
 * not in memory), then corks and sends the body with sendfile(). The
 * header goes in a segment of its own, and the client wakes for it alone.
 * nginx corks, writes the header, sends the file and uncorks: the header
 * rides in the body's first segment. With 4 and 16 clients on 1 MiB files
 * that was 0.6x nginx's req/s; with the header held back, about 1.0x.
 *
 * So, for a response dgfsd queued from a file (header_with_body_arm()),
 * until the body's first sendfile() on that socket:
 * - send() corks the socket first (TCP_CORK on), so the header waits in
 *   the kernel's queue: MSG_MORE alone would not hold it, any ACK that
 *   comes in meanwhile pushes what a TCP_NODELAY socket has queued;
 * - setsockopt() TCP_CORK off and TCP_NODELAY on, the pushes
 *   libmicrohttpd makes for the header, are skipped.
 * Why the socket still ends as libmicrohttpd believes it is:
 * - TCP_NODELAY is set when the connection starts, so skipping setting it
 *   again changes nothing but the push;
 * - libmicrohttpd pushes a body's last byte by TCP_CORK off or, on a
 *   socket it believes corked, TCP_NODELAY on; on one it believes
 *   uncorked with TCP_NODELAY on it makes no call at all, the send itself
 *   pushing. So what it believes of TCP_CORK is kept here, from its own
 *   calls (skipped ones too), and the cork this file added is taken off
 *   right after the body's first sendfile() (header_with_body_sent())
 *   unless libmicrohttpd believes the socket corked then: it corks before
 *   a sendfile() that is not the body's last. Without that, a body sent
 *   in one sendfile() (up to 128 KiB: the web UI's files) stayed corked,
 *   and every response after it on the connection waited for the
 *   kernel's 200 ms probe (tests/dgfsd/test_header_with_body.sh);
 * - the body's last byte is pushed by libmicrohttpd's own call, as ever;
 * - a header still held when its response ends (the client went away
 *   before the body) is pushed then, uncorked (header_with_body_done()).
 * Nothing is ever lost or reordered, only held in the kernel's queue.
 * Sockets are indexed by descriptor; each connection is served by one
 * thread of libmicrohttpd's, which also runs dgfsd's handlers for it, so
 * a socket's state is only touched by that thread, and reset when a
 * connection on the descriptor starts or closes.
 *
 * send() and setsockopt() defined here come first in the dynamic linker's
 * lookup, as sendfile64() does (sendfile_step.c); any other socket, or
 * any other call, goes to the kernel as it is.
 */
#include <stdint.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <microhttpd.h>

#include "header_with_body.h"

/* Sockets above this send as libmicrohttpd does. */
#define HWB_FDS	65536

enum hwb_state {
	HWB_NONE,	/* as libmicrohttpd sends */
	HWB_ARMED,	/* a file body queued: its header not sent yet */
	HWB_HELD,	/* its header (some of it) sent, corked */
};

static uint8_t states[HWB_FDS];
/* TCP_CORK as libmicrohttpd last set it (off when a connection starts). */
static bool mhd_corked[HWB_FDS];
/*
 * The file body last made for the connection on each socket: made on the
 * event thread or, for a suspended connection, on an offload thread
 * before the resume that orders it before the event thread's reading.
 */
static const struct MHD_Response *file_bodies[HWB_FDS];
static bool enabled;

void header_with_body_set(bool on)
{
	enabled = on;
}

static int conn_sock(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci;

	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (!ci || ci->connect_fd < 0 || ci->connect_fd >= HWB_FDS)
		return -1;
	return ci->connect_fd;
}

static int sys_setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	return (int)syscall(SYS_setsockopt, fd, level, name, val, len);
}

void header_with_body_connection(struct MHD_Connection *c, bool started)
{
	int one = 1, s = conn_sock(c);

	if (s < 0)
		return;
	states[s] = HWB_NONE;
	mhd_corked[s] = false;
	file_bodies[s] = NULL;
	if (started && enabled)
		sys_setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

void header_with_body_response(struct MHD_Connection *c, const struct MHD_Response *resp)
{
	int s = conn_sock(c);

	if (s >= 0)
		file_bodies[s] = resp;
}

void header_with_body_arm(struct MHD_Connection *c, const struct MHD_Response *resp)
{
	int s = conn_sock(c);

	if (s < 0)
		return;
	if (enabled && resp == file_bodies[s])
		states[s] = HWB_ARMED;
	file_bodies[s] = NULL;
}

static void uncork(int s)
{
	int zero = 0;

	sys_setsockopt(s, IPPROTO_TCP, TCP_CORK, &zero, sizeof(zero));	/* pushes */
}

void header_with_body_done(struct MHD_Connection *c)
{
	int s = conn_sock(c);

	if (s < 0)
		return;
	if (states[s] == HWB_HELD)
		uncork(s);
	states[s] = HWB_NONE;
}

bool header_with_body_sendfile(int sock)
{
	bool uncork_after;

	if (sock < 0 || sock >= HWB_FDS)
		return false;
	/* Our cork off unless libmicrohttpd wants it on for more of the body. */
	uncork_after = states[sock] == HWB_HELD && !mhd_corked[sock];
	states[sock] = HWB_NONE;
	return uncork_after;
}

void header_with_body_sent(int sock)
{
	uncork(sock);
}

ssize_t send(int fd, const void *buf, size_t len, int flags)
{
	int one = 1;

	if (fd >= 0 && fd < HWB_FDS && states[fd] == HWB_ARMED) {
		sys_setsockopt(fd, IPPROTO_TCP, TCP_CORK, &one, sizeof(one));
		states[fd] = HWB_HELD;
	}
	return syscall(SYS_sendto, fd, buf, len, flags, NULL, 0);
}

int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	if (fd >= 0 && fd < HWB_FDS && level == IPPROTO_TCP && val && len >= sizeof(int)) {
		int on = *(const int *)val;

		if (name == TCP_CORK)
			mhd_corked[fd] = on;
		/* The header's pushes: skipped while it waits for its body. */
		if (states[fd] == HWB_HELD && (name == TCP_NODELAY ? on : name == TCP_CORK && !on))
			return 0;
	}
	return sys_setsockopt(fd, level, name, val, len);
}
