/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dgfsctl: the generic netlink side. One socket, opened on first use and
 * kept for every later request (batch mode), and one request function that
 * sends a "do" (NLM_F_ACK) or a dump (NLM_F_DUMP), feeds every reply to a
 * parse callback, retries torn dumps and reports failures on stderr.
 */
#ifndef DGFSCTL_NL_H
#define DGFSCTL_NL_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/netlink.h>
#include <netlink/attr.h>
#include <netlink/msg.h>

/* Attempts at a dump that keeps coming back with NLM_F_DUMP_INTR. */
#define DGFS_DUMP_ATTEMPTS 5

/* What the kernel said besides the error number (NETLINK_EXT_ACK). */
struct dgfs_extack {
	bool has_msg;
	char msg[256];
	bool has_offs;
	uint32_t offs;
	bool has_miss_type;
	uint32_t miss_type;
};

/*
 * The error number carried by an NLMSG_ERROR or NLMSG_DONE message (0 or
 * a negative errno) and, in ext, its extended ack TLVs if it has any. The
 * message is trusted to be nlh->nlmsg_len bytes long; everything inside is
 * bounds-checked.
 */
int dgfs_nlmsg_status(const struct nlmsghdr *nlh, struct dgfs_extack *ext);

/* The family to resolve; only the tests change it. */
extern const char *dgfs_family_name;

struct dgfs_nl {
	struct nl_sock *sock;
	int family;
	bool verbose;
};

/* A kernel error the caller asked to see rather than have reported. */
struct dgfs_req_error {
	int error;		/* 0: none came (a socket failure was reported) */
	struct dgfs_extack ext;
};

struct dgfs_req {
	uint8_t cmd;
	bool dump;
	/* Room for the request, when it needs more than the default 16 KiB. */
	size_t msg_size;
	/* Set: a kernel error is stored here, not printed (the request still
	 * returns -1); the caller reports it.
	 */
	struct dgfs_req_error *error;
	/* Adds the request's attributes; returns 0 or a negative errno. */
	int (*fill)(struct nl_msg *msg, const void *arg);
	const void *fill_arg;
	/* Called for every reply message; returns 0 or a negative errno. */
	int (*parse)(struct nl_msg *msg, void *arg);
	/* Dumps: forget what parse() collected, before a retry. */
	void (*reset)(void *arg);
	void *arg;
	/* What is being done, for error messages: "adding store \"x\"". */
	const char *what;
};

/* 0, or -1 after printing one line that says what failed. */
int dgfs_nl_request(struct dgfs_nl *nl, const struct dgfs_req *req);
void dgfs_nl_close(struct dgfs_nl *nl);
/* The options dgfsctl's socket needs; done on connecting (and by tests). */
void dgfs_nl_setup_socket(struct nl_sock *sock);

/* Starts a nested attribute with NLA_F_NESTED, as strict policies want. */
struct nlattr *dgfs_nest_start(struct nl_msg *msg, int type);

/*
 * Parses a reply's top-level attribute type (DGFS_A_STORE, ...) into tb
 * with the policy of its nesting level. Attributes the policy does not
 * know are ignored, so newer kernels can add some. 0 or -EBADMSG.
 */
int dgfs_reply_nest(struct nl_msg *msg, int type, struct nlattr **tb,
		    int maxtype, const struct nla_policy *policy);

#endif /* DGFSCTL_NL_H */
