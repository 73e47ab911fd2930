// SPDX-License-Identifier: GPL-2.0
/*
 * sandbox.h: fork, contain, exec, and watch the pipes until the child's
 * output ends or a limit is hit. Between fork and exec the child calls
 * only async-signal-safe functions (dgfsd has many threads).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "sandbox.h"

static char *const sandbox_env[] = {
	"PATH=/usr/local/bin:/usr/bin:/bin",
	"LANG=C.UTF-8",
	"HOME=/nonexistent",
	NULL,
};

static uint64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void set_limit(int what, uint64_t v, uint64_t hard)
{
	struct rlimit rl = { .rlim_cur = v, .rlim_max = hard > v ? hard : v };

	setrlimit(what, &rl);
}

static void kill_group(pid_t pid)
{
	kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
}

/* The helper, in the runner's child: never returns. */
static void __attribute__((noreturn)) helper(char *const argv[])
{
	sigset_t none;

	/* Should the runner die after all, the helper goes with it. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execve(argv[0], argv, sandbox_env);
	_exit(127);
}

static volatile pid_t runner_helper;

/* dgfsd's "stop now" (a timeout, the output cap, a cancel): the helper goes first. */
static void runner_on_term(int sig)
{
	(void)sig;
	if (runner_helper > 0)
		kill(runner_helper, SIGKILL);
}

/*
 * SIGKILL to every child of the runner: the helper's descendants that lost
 * their parent are the runner's (it is their subreaper), whatever session
 * or process group they moved to. Returns how many it signalled.
 */
static int runner_kill_children(void)
{
	char buf[4096];
	int fd, killed = 0;
	ssize_t n;

	fd = open("/proc/thread-self/children", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	for (char *p = buf; *p;) {
		pid_t pid = 0;

		while (*p == ' ')
			p++;
		while (*p >= '0' && *p <= '9')
			pid = pid * 10 + (*p++ - '0');
		if (pid > 0 && !kill(pid, SIGKILL))
			killed++;
		if (*p && *p != ' ')
			break;
	}
	return killed;
}

/* Until the runner has no child left: each round kills and reaps what is there. */
static void runner_reap_all(void)
{
	for (;;) {
		int killed = runner_kill_children();

		/*
		 * Block only when a child was just killed (it will be reaped
		 * soon); else poll, since an orphan may reach us between the
		 * read of the list and the wait.
		 */
		if (waitpid(-1, NULL, killed ? __WALL : __WALL | WNOHANG) < 0 && errno == ECHILD)
			return;
		if (!killed) {
			struct timespec ms = { 0, 1000000 };

			nanosleep(&ms, NULL);
		}
	}
}

/*
 * In the child: never returns. It becomes the runner: a child subreaper
 * (PR_SET_CHILD_SUBREAPER) that forks the helper, waits for it, then kills
 * and reaps every process the helper left behind, even one that left the
 * process group with setsid(), and exits as the helper did. Why a
 * subreaper and not a PID namespace: dgfsd.service has
 * RestrictNamespaces=yes, and hosts may forbid unprivileged user
 * namespaces; a subreaper needs neither (docs/TAGS.md, "Containment").
 */
static void __attribute__((noreturn)) child(char *const argv[], int out, int err, int file,
					    const struct sandbox_limits *lim)
{
	struct sigaction sa = { .sa_handler = runner_on_term };
	sigset_t mask;
	int null, status;
	pid_t pid;

	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* Out of the way of 0..3 first, so no dup2 below clobbers another. */
	out = fcntl(out, F_DUPFD, 10);
	err = fcntl(err, F_DUPFD, 10);
	file = fcntl(file, F_DUPFD, 10);
	null = open("/dev/null", O_RDONLY);
	if (out < 0 || err < 0 || file < 0 || null < 0 || dup2(null, 0) < 0 || dup2(out, 1) < 0 ||
	    dup2(err, 2) < 0 || dup2(file, 3) < 0)
		_exit(126);
	syscall(SYS_close_range, 4U, ~0U, 0U);
	set_limit(RLIMIT_CPU, lim->cpu_seconds, lim->cpu_hard);
	set_limit(RLIMIT_AS, lim->address_space, lim->address_space_hard);
	set_limit(RLIMIT_FSIZE, lim->file_size, lim->file_size_hard);
	set_limit(RLIMIT_NOFILE, lim->open_files, 0);
	set_limit(RLIMIT_CORE, 0, 0);
	if (prctl(PR_SET_CHILD_SUBREAPER, 1))
		_exit(126);
	sigaction(SIGTERM, &sa, NULL);
	/* SIGTERM waits until the handler knows whom to kill. */
	sigfillset(&mask);
	sigdelset(&mask, SIGTERM);
	sigprocmask(SIG_SETMASK, &mask, NULL);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	pid = fork();
	if (pid < 0)
		_exit(126);
	if (!pid)
		helper(argv);
	runner_helper = pid;
	sigemptyset(&mask);
	sigprocmask(SIG_SETMASK, &mask, NULL);
	/* The pipes' ends belong to the helper and its descendants alone now. */
	syscall(SYS_close_range, 0U, ~0U, 0U);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			_exit(126);
	runner_helper = 0;
	runner_reap_all();
	if (WIFSIGNALED(status)) {
		/* Ended as the helper did (no core: RLIMIT_CORE is 0). */
		signal(WTERMSIG(status), SIG_DFL);
		kill(getpid(), WTERMSIG(status));
		_exit(128 + WTERMSIG(status));
	}
	_exit(WEXITSTATUS(status));
}

/*
 * Ends a run early: SIGTERM asks the runner to kill the helper and then
 * every descendant; SIGKILL to the group is the backstop should the
 * runner not be gone within a second.
 */
static void stop_run(pid_t pid)
{
	uint64_t until = ms_now() + 1000;

	kill(pid, SIGTERM);
	while (ms_now() < until) {
		siginfo_t info = { 0 };

		/* Not reaped here: sandbox_run waits for it. */
		if (waitid(P_PID, pid, &info, WEXITED | WNOHANG | WNOWAIT) < 0 ? errno != EINTR :
		    info.si_pid == pid)
			return;
		{
			struct timespec ms = { 0, 5000000 };

			nanosleep(&ms, NULL);
		}
	}
	kill_group(pid);
}

int sandbox_run(char *const argv[], int file_fd, const struct sandbox_limits *lim,
		struct sandbox_result *res)
{
	int out[2] = { -1, -1 }, err[2] = { -1, -1 }, status = 0, ret = 0;
	size_t cap = 0, elen = 0;
	uint64_t start = ms_now(), deadline = start + lim->timeout_ms;
	bool out_open = true, err_open = true;
	pid_t pid;

	memset(res, 0, sizeof(*res));
	res->exit_code = -1;
	if (pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) {
		ret = -errno;
		goto out_close;
	}
	pid = fork();
	if (pid < 0) {
		ret = -errno;
		goto out_close;
	}
	if (!pid)
		child(argv, out[1], err[1], file_fd, lim);
	setpgid(pid, pid);	/* either side may win the race; both ask the same */
	close(out[1]);
	close(err[1]);
	out[1] = err[1] = -1;

	while (out_open || err_open) {
		struct pollfd p[2] = { { out[0], POLLIN, 0 }, { err[0], POLLIN, 0 } };
		uint64_t now = ms_now();
		char buf[65536];
		ssize_t n;

		if (now >= deadline) {
			res->timed_out = true;
			stop_run(pid);
			break;
		}
		if (lim->cancel && atomic_load(lim->cancel)) {
			res->cancelled = true;
			stop_run(pid);
			break;
		}
		if (!out_open)
			p[0].fd = -1;
		if (!err_open)
			p[1].fd = -1;
		/* In slices, so that a cancel is seen soon. */
		if (poll(p, 2, deadline - now < 200 ? (int)(deadline - now) : 200) < 0) {
			if (errno == EINTR)
				continue;
			stop_run(pid);
			break;
		}
		if (out_open && p[0].revents) {
			n = read(out[0], buf, sizeof(buf));
			if (n <= 0) {
				out_open = false;
			} else if ((size_t)n > lim->output_max - res->out_len) {
				res->output_over = true;
				stop_run(pid);
				break;
			} else {
				if (res->out_len + (size_t)n + 1 > cap) {
					size_t nc = cap ? cap : 65536;
					char *nb;

					while (nc < res->out_len + (size_t)n + 1)
						nc *= 2;
					nb = realloc(res->out, nc);
					if (!nb) {
						stop_run(pid);
						ret = -ENOMEM;
						break;
					}
					res->out = nb;
					cap = nc;
				}
				memcpy(res->out + res->out_len, buf, n);
				res->out_len += n;
				res->out[res->out_len] = 0;
			}
		}
		if (err_open && p[1].revents) {
			n = read(err[0], buf, sizeof(buf));
			if (n <= 0) {
				err_open = false;
			} else if (elen < sizeof(res->err) - 1) {
				size_t take = (size_t)n < sizeof(res->err) - 1 - elen ?
					      (size_t)n : sizeof(res->err) - 1 - elen;

				memcpy(res->err + elen, buf, take);
				elen += take;
				res->err[elen] = 0;
			}
		}
	}
	/* Ended, or killed above: either way it is gone (or going) now. */
	if (out_open || err_open)
		stop_run(pid);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	/* A grandchild left behind in the group goes too. */
	kill(-pid, SIGKILL);
	if (WIFEXITED(status))
		res->exit_code = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		res->signal = WTERMSIG(status);
	res->took_ms = (unsigned int)(ms_now() - start);
out_close:
	if (out[0] >= 0)
		close(out[0]);
	if (out[1] >= 0)
		close(out[1]);
	if (err[0] >= 0)
		close(err[0]);
	if (err[1] >= 0)
		close(err[1]);
	return ret;
}

void sandbox_result_free(struct sandbox_result *res)
{
	if (!res)
		return;
	free(res->out);
	res->out = NULL;
	res->out_len = 0;
}

const char *sandbox_failure(const struct sandbox_result *res, const struct sandbox_limits *lim,
			    char *buf, size_t size)
{
	size_t i;
	char first[128];

	/* The first line of stderr, printable bytes only: it goes to dgfsd's log. */
	for (i = 0; i < sizeof(first) - 1 && res->err[i] && res->err[i] != '\n'; i++)
		first[i] = (unsigned char)res->err[i] >= 0x20 && res->err[i] != 0x7f ?
			   res->err[i] : '?';
	first[i] = 0;
	if (res->cancelled)
		snprintf(buf, size, "stopped (dgfsd is stopping)");
	else if (res->timed_out)
		snprintf(buf, size, "timed out after %u ms (killed)", lim->timeout_ms);
	else if (res->output_over)
		snprintf(buf, size, "printed more than %zu bytes (killed)", lim->output_max);
	else if (res->signal)
		snprintf(buf, size, "crashed: %s%s%s", strsignal(res->signal),
			 first[0] ? ": " : "", first);
	else if (res->exit_code == 127 || res->exit_code == 126)
		snprintf(buf, size, "could not be run (exit %d)%s%s", res->exit_code,
			 first[0] ? ": " : "", first);
	else
		snprintf(buf, size, "failed: exit %d%s%s", res->exit_code, first[0] ? ": " : "",
			 first);
	return buf;
}
