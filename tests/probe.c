/* probe.c - a static test program run INSIDE sandboxes by the isolation
 * tests.  Each subcommand tries one thing and prints what happened in a
 * form the tests compare exactly: "ok", an errno name ("EPERM"), or the
 * data asked for.  It is never sanitized and needs nothing from the
 * sandbox's filesystem.
 *
 *   cat FILE               print FILE, or its errno name (exit 1)
 *   write FILE [TEXT]      create/truncate FILE and write TEXT: ok | ERRNO
 *   ls DIR                 entry names, one per line, or ERRNO
 *   ls-fds                 open fd numbers, space-separated
 *   try-syscall NAME...    NAME=ok | NAME=ERRNO for each (see table)
 *   x32 | i386             a getpid through another ABI (should be killed)
 *   tiocsti                TIOCSTI on a pty: plain=.. highbits=..
 *   ptrace-parent          PTRACE_ATTACH to our parent (PID 1)
 *   ptrace-child           PTRACE_ATTACH to a child of ours
 *   vm-read-init           process_vm_readv from PID 1
 *   net-connect HOST PORT  TCP connect: ok | ERRNO
 *   abstract-connect NAME  connect to abstract unix socket @NAME
 *   forkbomb               fork until refused: "forked N ERRNO"
 *   memhog MB              touch MB megabytes (0: forever), print "done"
 *   diskfill FILE          write 1 MiB chunks: "wrote N ERRNO"
 *   openmany               open /dev/null until refused: "opened N ERRNO"
 *   flood BYTES            write BYTES to stdout, fast
 *   busy                   spin forever
 *   sleep SECONDS          sleep
 *   daemonize TOKEN [busy] double-fork a daemon that sleeps forever, then
 *                          exit (or spin, with "busy")
 *   exit N | kill-self SIG exit with N | die by signal SIG
 *   env                    the environment, one per line
 *   self                   uid gid pid ppid sid
 *
 * Used by the hostile battery (tests/hostile) as well:
 *   ids                    real/effective/saved uid and gid
 *   capset-raise           raise every capability: ok | ERRNO
 *   netlink-route-add      RTM_NEWROUTE 10.99.0.0/16 via lo: ok | ERRNO
 *   netlink-link-down      RTM_NEWLINK lo down: ok | ERRNO
 *   udp-send HOST PORT     one datagram: ok | ERRNO
 *   flood BYTES [2]        as above, on stderr with "2"
 *   bigargv KB | bigenv KB exec ourselves with KB KiB of extra arguments
 *                          or environment: "argc=N envc=M" | ERRNO
 *   argc                   print "argc=N envc=M"
 *   link SRC DST           hard link: ok | ERRNO
 *   kill PID SIG           kill(2): ok | ERRNO
 *   prlimit-init           lower PID 1's RLIMIT_NOFILE to 3: ok | ERRNO
 *   pidfd-getfd-init FD    steal descriptor FD of PID 1: ok | ERRNO
 *   msgget KEY [create]    SysV message queue: ok | ERRNO
 *   flock FILE [hold S]    LOCK_EX|LOCK_NB: ok | ERRNO; with hold, wait
 *                          for LOCK_EX and keep it S seconds
 *   abstract-listen NAME S listen on @NAME for S seconds ("listening")
 *   mkfiles DIR N          create up to N empty files: "created N ERRNO"
 *   mkdirs DIR N           the same with directories
 *   spin-children N        N processes that spin until killed
 *   stop-starts N          SIGSTOP each process that appears among the next
 *                          N pids before it execs (it still shows PID 1's
 *                          comm), SIGCONT the ones that exec'd; prints
 *                          "stopping", then "caught PID" for each stopped
 *                          before its exec; runs until killed
 *   counters MAX DIR [hold] take up to MAX (0: until refused) inotify
 *                          instances, then watches on DIR and its entries
 *                          (from every instance), then queued signals:
 *                          "inotify N ERRNO|ok", "watches ..",
 *                          "signals .."; with hold, then "holding" and
 *                          keep them until killed */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/msg.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static const char *ename(int err)
{
	const char *n = strerrorname_np(err);
	return n ? n : "E?";
}

static int result(const char *what, long rc)
{
	if (what)
		printf("%s=", what);
	printf("%s\n", rc < 0 ? ename(errno) : "ok");
	return rc < 0;
}

/* ---- syscall table ----------------------------------------------------- */

static long try_one(const char *name)
{
	char buf[64] = { 0 };
	if (!strcmp(name, "mount"))
		return mount("none", "/tmp", "tmpfs", 0, NULL);
	if (!strcmp(name, "remount-usr-rw"))
		return mount(NULL, "/usr", NULL, MS_REMOUNT | MS_BIND, NULL);
	if (!strcmp(name, "umount2"))
		return umount2("/proc", MNT_DETACH);
	if (!strcmp(name, "pivot_root"))
		return syscall(SYS_pivot_root, "/tmp", "/tmp");
	if (!strcmp(name, "chroot"))
		return chroot("/tmp");
	if (!strcmp(name, "move_mount"))
		return syscall(SYS_move_mount, -1, "", -1, "/tmp", 0);
	if (!strcmp(name, "open_tree"))
		return syscall(SYS_open_tree, AT_FDCWD, "/tmp", 1 /* CLONE */);
	if (!strcmp(name, "fsopen"))
		return syscall(SYS_fsopen, "tmpfs", 0);
	if (!strcmp(name, "mount_setattr"))
		return syscall(SYS_mount_setattr, AT_FDCWD, "/tmp", 0, buf, 32);
	if (!strcmp(name, "unshare-user"))
		return unshare(CLONE_NEWUSER);
	if (!strcmp(name, "unshare-fs"))
		return unshare(CLONE_FS);
	if (!strcmp(name, "setns"))
		return setns(0, 0);
	if (!strcmp(name, "clone-newuser") || !strcmp(name, "clone-newnet") ||
	    !strcmp(name, "clone-plain")) {
		unsigned long fl = SIGCHLD;
		if (!strcmp(name, "clone-newuser"))
			fl |= CLONE_NEWUSER;
		if (!strcmp(name, "clone-newnet"))
			fl |= CLONE_NEWNET;
		long pid = syscall(SYS_clone, fl, NULL, NULL, NULL, NULL);
		if (pid == 0)
			_exit(0);
		if (pid > 0)
			waitpid((pid_t)pid, NULL, 0);
		return pid;
	}
	if (!strcmp(name, "clone3"))
		return syscall(SYS_clone3, buf, 64);
	if (!strcmp(name, "keyctl"))
		return syscall(SYS_keyctl, 0 /* GET_KEYRING_ID */, -3, 0);
	if (!strcmp(name, "add_key"))
		return syscall(SYS_add_key, "user", "x", "y", 1, -3);
	if (!strcmp(name, "request_key"))
		return syscall(SYS_request_key, "user", "x", NULL, -3);
	if (!strcmp(name, "bpf"))
		return syscall(SYS_bpf, 0, buf, 64);
	if (!strcmp(name, "perf_event_open"))
		return syscall(SYS_perf_event_open, buf, 0, -1, -1, 0);
	if (!strcmp(name, "userfaultfd"))
		return syscall(SYS_userfaultfd, 0);
	if (!strcmp(name, "io_uring_setup"))
		return syscall(SYS_io_uring_setup, 1, buf);
	if (!strcmp(name, "kexec_load"))
		return syscall(SYS_kexec_load, 0, 0, NULL, 0);
	if (!strcmp(name, "init_module"))
		return syscall(SYS_init_module, buf, 0, "");
	if (!strcmp(name, "finit_module"))
		return syscall(SYS_finit_module, 0, "", 0);
	if (!strcmp(name, "delete_module"))
		return syscall(SYS_delete_module, "nothing", 0);
	if (!strcmp(name, "reboot"))
		return syscall(SYS_reboot, 0, 0, 0, NULL);
	if (!strcmp(name, "swapon"))
		return syscall(SYS_swapon, "/tmp/x", 0);
	if (!strcmp(name, "acct"))
		return syscall(SYS_acct, NULL);
	if (!strcmp(name, "quotactl"))
		return syscall(SYS_quotactl, 0, "/", 0, NULL);
	if (!strcmp(name, "open_by_handle_at"))
		return syscall(SYS_open_by_handle_at, AT_FDCWD, buf, 0);
	if (!strcmp(name, "name_to_handle_at"))
		return syscall(SYS_name_to_handle_at, AT_FDCWD, "/", buf, buf + 32, 0);
	if (!strcmp(name, "sethostname"))
		return sethostname("x", 1);
	if (!strcmp(name, "personality-query"))
		return syscall(SYS_personality, 0xffffffffUL);
	if (!strcmp(name, "personality-default"))
		return syscall(SYS_personality, 0UL);
	if (!strcmp(name, "personality-linux32"))
		return syscall(SYS_personality, (unsigned long)PER_LINUX32);
	if (!strcmp(name, "personality-noaslr"))
		return syscall(SYS_personality, (unsigned long)ADDR_NO_RANDOMIZE);
	if (!strcmp(name, "personality-highbits"))
		return syscall(SYS_personality, 1UL << 32);
	if (!strcmp(name, "socket-unix"))
		return socket(AF_UNIX, SOCK_STREAM, 0);
	if (!strcmp(name, "socket-inet"))
		return socket(AF_INET, SOCK_STREAM, 0);
	if (!strcmp(name, "socket-inet6"))
		return socket(AF_INET6, SOCK_DGRAM, 0);
	if (!strcmp(name, "socket-netlink-route"))
		return socket(AF_NETLINK, SOCK_RAW, 0);
	if (!strcmp(name, "socket-netlink-audit"))
		return socket(AF_NETLINK, SOCK_RAW, 9 /* NETLINK_AUDIT */);
	if (!strcmp(name, "socket-packet"))
		return socket(AF_PACKET, SOCK_RAW, 0);
	if (!strcmp(name, "socket-vsock"))
		return socket(AF_VSOCK, SOCK_STREAM, 0);
	if (!strcmp(name, "socket-inet-highbits"))
		return syscall(SYS_socket, (1UL << 32) | AF_INET, SOCK_STREAM, 0);
	if (!strcmp(name, "socketpair-inet")) {
		int sv[2];
		return socketpair(AF_INET, SOCK_STREAM, 0, sv);
	}
	if (!strcmp(name, "socketpair-unix")) {
		int sv[2];
		return socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	}
	if (!strcmp(name, "lsm_list_modules")) /* newer than our allowlist */
		return syscall(461, buf, buf + 8, 0);
	if (!strcmp(name, "mount-cgroup"))
		return mount("cgroup", "/tmp", "cgroup", 0, "memory");
	if (!strcmp(name, "mount-proc"))
		return mount("proc", "/tmp", "proc", 0, NULL);
	if (!strcmp(name, "mknod-char"))
		return mknod("/tmp/mem", S_IFCHR | 0600, makedev(1, 1));
	if (!strcmp(name, "setuid0"))
		return setuid(0);
	if (!strcmp(name, "iopl"))
		return syscall(SYS_iopl, 3);
	if (!strcmp(name, "syslog"))
		return syscall(SYS_syslog, 3 /* READ_ALL */, buf, (int)sizeof(buf));
	if (!strcmp(name, "settimeofday")) {
		struct timeval tv = { 0, 0 };
		return settimeofday(&tv, NULL);
	}
	if (!strcmp(name, "sched-fifo")) {
		struct sched_param sp = { .sched_priority = 1 };
		return sched_setscheduler(0, SCHED_FIFO, &sp);
	}
	if (!strcmp(name, "nice-neg"))
		return setpriority(PRIO_PROCESS, 0, -10);
	if (!strcmp(name, "raise-nofile")) {
		struct rlimit rl;
		getrlimit(RLIMIT_NOFILE, &rl);
		rl.rlim_max = RLIM_INFINITY;
		return setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (!strcmp(name, "fanotify_init"))
		return syscall(SYS_fanotify_init, 0, 0);
	if (!strcmp(name, "kcmp-init"))
		return syscall(SYS_kcmp, getpid(), 1, 0 /* KCMP_FILE */, 0, 0);
	if (!strcmp(name, "open-init-mem"))
		return open("/proc/1/mem", O_RDONLY | O_CLOEXEC);
	if (!strcmp(name, "open-init-fd3"))
		return open("/proc/1/fd/3", O_RDWR | O_CLOEXEC);
	if (!strcmp(name, "getpid"))
		return getpid();
	errno = EINVAL;
	printf("unknown syscall test %s\n", name);
	return -1;
}

/* ---- other probes ------------------------------------------------------ */

static int cmd_cat(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return result(NULL, -1);
	char buf[65536];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)n, stdout);
	if (n < 0)
		return result(NULL, -1);
	close(fd);
	return 0;
}

static int cmd_write(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return result(NULL, -1);
	ssize_t n = write(fd, text, strlen(text));
	close(fd);
	return result(NULL, n < 0 ? -1 : 0);
}

static int cmd_ls(const char *path)
{
	DIR *d = opendir(path);
	if (!d)
		return result(NULL, -1);
	struct dirent *de;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			printf("%s\n", de->d_name);
	closedir(d);
	return 0;
}

static int cmd_ls_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return result(NULL, -1);
	int self = dirfd(d), first = 1;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || atoi(de->d_name) == self)
			continue;
		printf("%s%s", first ? "" : " ", de->d_name);
		first = 0;
	}
	printf("\n");
	closedir(d);
	return 0;
}

static int cmd_tiocsti(void)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY);
	if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0)
		return result("openpt", -1);
	int s = open(ptsname(m), O_RDWR | O_NOCTTY);
	if (s < 0)
		return result("open-pts", -1);
	char c = 'x';
	result("plain", ioctl(s, TIOCSTI, &c));
	result("highbits", syscall(SYS_ioctl, s, (1UL << 32) | TIOCSTI, &c));
	result("tioclinux", syscall(SYS_ioctl, s, TIOCLINUX, &c));
	/* an ordinary tty ioctl still works */
	struct winsize ws;
	result("tiocgwinsz", ioctl(s, TIOCGWINSZ, &ws));
	return 0;
}

static int cmd_ptrace_child(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		pause();
		_exit(0);
	}
	long rc = ptrace(PTRACE_ATTACH, pid, NULL, NULL);
	int err = errno;
	if (rc == 0) {
		waitpid(pid, NULL, 0);
		ptrace(PTRACE_DETACH, pid, NULL, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	errno = err;
	return result(NULL, rc);
}

static int cmd_vm_read_init(void)
{
	char buf[16];
	struct iovec local = { buf, sizeof(buf) };
	struct iovec remote = { (void *)0x400000, sizeof(buf) };
	return result(NULL, process_vm_readv(1, &local, 1, &remote, 1, 0));
}

/* An IPv4 socket of type and the address host:port (EINVAL if host is
 * not a dotted quad); -1 with errno set on failure. */
static int inet_socket(int type, const char *host, const char *port,
		       struct sockaddr_in *a)
{
	*a = (struct sockaddr_in){ .sin_family = AF_INET,
				   .sin_port = htons((uint16_t)atoi(port)) };
	if (inet_pton(AF_INET, host, &a->sin_addr) != 1) {
		errno = EINVAL;
		return -1;
	}
	return socket(AF_INET, type, 0);
}

static int cmd_net_connect(const char *host, const char *port)
{
	struct sockaddr_in a;
	int s = inet_socket(SOCK_STREAM, host, port, &a);
	if (s < 0)
		return result(NULL, -1);
	return result(NULL, connect(s, (struct sockaddr *)&a, sizeof(a)));
}

static int cmd_abstract_connect(const char *name)
{
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	if (s < 0)
		return result(NULL, -1);
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	size_t n = strlen(name);
	if (n > sizeof(a.sun_path) - 1)
		n = sizeof(a.sun_path) - 1;
	memcpy(a.sun_path + 1, name, n);
	return result(NULL, connect(s, (struct sockaddr *)&a,
				    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n)));
}

static int cmd_forkbomb(void)
{
	long n = 0;
	for (;;) {
		pid_t pid = fork();
		if (pid == 0) {
			pause();
			_exit(0);
		}
		if (pid < 0)
			break;
		n++;
	}
	printf("forked %ld %s\n", n, ename(errno));
	return 0;
}

static int cmd_memhog(long mb)
{
	for (long i = 0; mb == 0 || i < mb; i++) {
		char *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return result("mmap", -1);
		memset(p, 1, 1 << 20);
	}
	printf("done\n");
	return 0;
}

static int cmd_diskfill(const char *path)
{
	static char chunk[1 << 20];
	memset(chunk, 'x', sizeof(chunk));
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return result(NULL, -1);
	long long total = 0;
	for (;;) {
		ssize_t n = write(fd, chunk, sizeof(chunk));
		if (n <= 0)
			break;
		total += n;
	}
	printf("wrote %lld %s\n", total, ename(errno));
	close(fd);
	return 0;
}

static int cmd_manyfiles(const char *dir)
{
	long n = 0;
	char path[4096];
	for (;; n++) {
		snprintf(path, sizeof(path), "%s/f%ld", dir, n);
		int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0)
			break;
		close(fd);
	}
	printf("created %ld %s\n", n, ename(errno));
	return 0;
}

static int cmd_openmany(void)
{
	long n = 0;
	while (open("/dev/null", O_RDONLY) >= 0)
		n++;
	printf("opened %ld %s\n", n, ename(errno));
	return 0;
}

static int cmd_flood(long long bytes, int fd)
{
	static char chunk[65536];
	memset(chunk, 'y', sizeof(chunk));
	while (bytes > 0) {
		size_t n = bytes < (long long)sizeof(chunk) ? (size_t)bytes : sizeof(chunk);
		ssize_t w = write(fd, chunk, n);
		if (w <= 0)
			return 1;
		bytes -= w;
	}
	return 0;
}

static _Noreturn void spin(void)
{
	for (volatile unsigned long i = 0;; i++)
		;
}

static int cmd_daemonize(int busy)
{
	pid_t pid = fork();
	if (pid == 0) {
		setsid();
		if (fork() == 0) {
			/* the daemon: detached from everything, lives on */
			for (;;)
				pause();
		}
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	printf("daemonized\n");
	fflush(stdout);
	if (busy)
		spin();
	return 0;
}

/* ---- hostile battery ---------------------------------------------------------- */

static int cmd_ids(void)
{
	uid_t r, e, s;
	gid_t gr, ge, gs;
	getresuid(&r, &e, &s);
	getresgid(&gr, &ge, &gs);
	printf("uid=%d/%d/%d gid=%d/%d/%d\n", (int)r, (int)e, (int)s, (int)gr,
	       (int)ge, (int)gs);
	return 0;
}

static int cmd_capset_raise(void)
{
	/* _LINUX_CAPABILITY_VERSION_3 with two 32-bit words */
	struct { uint32_t version; int pid; } h = { 0x20080522, 0 };
	struct { uint32_t eff, perm, inh; } d[2];
	memset(d, 0xff, sizeof(d));
	return result(NULL, syscall(SYS_capset, &h, d));
}

/* Send one rtnetlink request; the kernel's ack carries the errno. */
static int nl_request(struct nlmsghdr *n)
{
	int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (s < 0)
		return result(NULL, -1);
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	n->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	n->nlmsg_seq = 1;
	if (sendto(s, n, n->nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return result(NULL, -1);
	char buf[4096];
	ssize_t got = recv(s, buf, sizeof(buf), 0);
	if (got < 0)
		return result(NULL, -1);
	struct nlmsghdr *r = (struct nlmsghdr *)buf;
	if (r->nlmsg_type != NLMSG_ERROR) {
		printf("unexpected reply %d\n", r->nlmsg_type);
		return 1;
	}
	struct nlmsgerr *err = NLMSG_DATA(r);
	errno = -err->error;
	return result(NULL, err->error ? -1 : 0);
}

static void nl_attr(struct nlmsghdr *n, unsigned short type, const void *data,
		    unsigned short len)
{
	struct rtattr *a = (struct rtattr *)((char *)n + NLMSG_ALIGN(n->nlmsg_len));
	a->rta_type = type;
	a->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(a), data, len);
	n->nlmsg_len = NLMSG_ALIGN(n->nlmsg_len) + RTA_ALIGN(a->rta_len);
}

static int cmd_netlink_route_add(void)
{
	union { struct nlmsghdr n; char buf[256]; } m;
	memset(&m, 0, sizeof(m));
	m.n.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
	m.n.nlmsg_type = RTM_NEWROUTE;
	m.n.nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	struct rtmsg *rt = NLMSG_DATA(&m.n);
	rt->rtm_family = AF_INET;
	rt->rtm_dst_len = 16;
	rt->rtm_table = RT_TABLE_MAIN;
	rt->rtm_protocol = RTPROT_BOOT;
	rt->rtm_scope = RT_SCOPE_LINK;
	rt->rtm_type = RTN_UNICAST;
	struct in_addr dst;
	inet_pton(AF_INET, "10.99.0.0", &dst);
	int lo = (int)if_nametoindex("lo");
	nl_attr(&m.n, RTA_DST, &dst, sizeof(dst));
	nl_attr(&m.n, RTA_OIF, &lo, sizeof(lo));
	return nl_request(&m.n);
}

static int cmd_netlink_link_down(void)
{
	union { struct nlmsghdr n; char buf[256]; } m;
	memset(&m, 0, sizeof(m));
	m.n.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
	m.n.nlmsg_type = RTM_NEWLINK;
	struct ifinfomsg *ifi = NLMSG_DATA(&m.n);
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = (int)if_nametoindex("lo");
	ifi->ifi_change = IFF_UP;
	ifi->ifi_flags = 0;
	return nl_request(&m.n);
}

static int cmd_udp_send(const char *host, const char *port)
{
	struct sockaddr_in a;
	int s = inet_socket(SOCK_DGRAM, host, port, &a);
	if (s < 0)
		return result(NULL, -1);
	return result(NULL, sendto(s, "x", 1, 0, (struct sockaddr *)&a, sizeof(a)));
}

/* Exec ourselves ("argc") with kb KiB of padding in argv or env. */
static int cmd_big(long kb, int in_env)
{
	size_t n = (size_t)kb;           /* one 1 KiB string each */
	char *pad = malloc(1024);
	char **argv = calloc(n + 3, sizeof(char *));
	char **envp = calloc(n + 1, sizeof(char *));
	if (!pad || !argv || !envp)
		return result(NULL, -1);
	memset(pad, 'a', 1023);
	pad[1023] = '\0';
	pad[0] = 'X';
	pad[1] = '=';
	argv[0] = "probe";
	argv[1] = "argc";
	for (size_t i = 0; i < n; i++) {
		if (in_env)
			envp[i] = pad;
		else
			argv[2 + i] = pad;
	}
	execve("/proc/self/exe", argv, envp);
	return result(NULL, -1);
}

static int cmd_link(const char *src, const char *dst)
{
	return result(NULL, link(src, dst));
}

static int cmd_prlimit_init(void)
{
	struct rlimit rl = { 3, 3 };
	return result(NULL, prlimit(1, RLIMIT_NOFILE, &rl, NULL));
}

static int cmd_pidfd_getfd_init(int fd)
{
	int pfd = (int)syscall(SYS_pidfd_open, 1, 0);
	if (pfd < 0)
		return result("pidfd_open", -1);
	return result(NULL, syscall(SYS_pidfd_getfd, pfd, fd, 0));
}

static int cmd_msgget(const char *key, int create)
{
	return result(NULL, msgget((key_t)atoi(key), create ? IPC_CREAT | 0600 : 0));
}

static int cmd_flock(const char *path, const char *hold)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return result("open", -1);
	/* holding: wait for the lock (someone may be testing it right now) */
	int rc = result(NULL, flock(fd, hold ? LOCK_EX : LOCK_EX | LOCK_NB));
	if (rc == 0 && hold) {
		fflush(stdout);
		sleep((unsigned)atoi(hold));
	}
	return rc;
}

static int cmd_abstract_listen(const char *name, const char *secs)
{
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	if (s < 0)
		return result(NULL, -1);
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	size_t n = strlen(name);
	if (n > sizeof(a.sun_path) - 1)
		n = sizeof(a.sun_path) - 1;
	memcpy(a.sun_path + 1, name, n);
	if (bind(s, (struct sockaddr *)&a,
		 (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n)) < 0 ||
	    listen(s, 8) < 0)
		return result(NULL, -1);
	printf("listening\n");
	fflush(stdout);
	sleep((unsigned)atoi(secs));
	return 0;
}

static int cmd_spin_children(int n)
{
	for (int i = 0; i < n; i++)
		if (fork() == 0)
			spin();
	printf("spinning %d\n", n);
	fflush(stdout);
	for (;;)
		pause();
}

/* comm of pid into buf (newline dropped); -1 if there is no such process */
static int read_comm(pid_t pid, char *buf, size_t size)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* The attack on a supervisor that waits for its child's exec: a command's
 * child runs as our user, with the next free pid, and until it execs it is
 * a copy of PID 1 (same comm).  Stop everything above us blindly (that is
 * fast enough to land before the exec now and then), then look: those that
 * still show PID 1's comm were caught before their exec and stay stopped;
 * the others are let go, so commands that did exec run on. */
static int cmd_stop_starts(int n)
{
	char init[64], comm[64];
	if (n <= 0 || read_comm(1, init, sizeof(init)) < 0)
		return result(NULL, -1);
	pid_t self = getpid();
	char *done = calloc((size_t)n + 1, 1), *hit = calloc((size_t)n + 1, 1);
	if (!done || !hit)
		return result(NULL, -1);
	printf("stopping\n");
	fflush(stdout);
	for (;;) {
		for (int i = 1; i <= n; i++)
			hit[i] = !done[i] && kill(self + i, SIGSTOP) == 0;
		for (int i = 1; i <= n; i++) {
			if (!hit[i] || read_comm(self + i, comm, sizeof(comm)) < 0)
				continue;
			done[i] = 1;
			if (strcmp(comm, init) == 0) {
				printf("caught %d\n", (int)(self + i));
				fflush(stdout);
			} else {
				kill(self + i, SIGCONT);
			}
		}
	}
}

/* The kernel's per-user counters (issue 11, item 3): how many of each
 * one sandbox gets, and whether it may keep them. */
static int cmd_counters(long max, const char *dir, int hold)
{
	static int fds[65536];
	long n = 0;
	errno = 0;
	while ((max == 0 || n < max) && n < 65536) {
		int fd = inotify_init1(IN_CLOEXEC);
		if (fd < 0)
			break;
		fds[n++] = fd;
	}
	printf("inotify %ld %s\n", n, n == max ? "ok" : ename(errno));
	long ninst = n;

	/* Watches: DIR and each of its entries, from every instance. */
	static char *paths[65536];
	size_t npaths = 0;
	DIR *d = opendir(dir);
	struct dirent *de;
	paths[npaths++] = strdup(dir);
	while (d && (de = readdir(d)) && npaths < sizeof(paths) / sizeof(*paths)) {
		if (de->d_name[0] == '.')
			continue;
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		paths[npaths++] = strdup(path);
	}
	if (d)
		closedir(d);
	n = 0;
	int err = 0;
	for (long i = 0; i < ninst && !err; i++)
		for (size_t p = 0; p < npaths && !err && (max == 0 || n < max); p++) {
			if (inotify_add_watch(fds[i], paths[p], IN_MODIFY) < 0)
				err = errno;
			else
				n++;
		}
	printf("watches %ld %s\n", n, n == max ? "ok" : err ? ename(err) : "E?");

	/* Signals queued to ourselves (blocked, so they stay queued). */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN);
	sigprocmask(SIG_BLOCK, &set, NULL);
	n = 0;
	errno = 0;
	while (max == 0 || n < max) {
		union sigval v = { .sival_int = (int)n };
		if (sigqueue(getpid(), SIGRTMIN, v) < 0)
			break;
		n++;
	}
	printf("signals %ld %s\n", n, n == max ? "ok" : ename(errno));
	if (!hold)
		return 0;
	printf("holding\n");
	fflush(stdout);
	for (;;)
		pause();
}

static int x32_getpid(void)
{
	/* x86_64 kernel, x32 syscall number: bit 30 set. */
	return (int)syscall(0x40000000 | SYS_getpid);
}

static int i386_getpid(void)
{
#if defined(__x86_64__)
	long ret = 20; /* __NR_getpid on i386 */
	__asm__ volatile("int $0x80" : "+a"(ret) : : "memory");
	return (int)ret;
#else
	errno = ENOSYS;
	return -1;
#endif
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2) {
		fprintf(stderr, "usage: probe SUBCOMMAND [ARGS]\n");
		return 2;
	}
	const char *c = argv[1];
	const char *a1 = argc > 2 ? argv[2] : NULL;
	const char *a2 = argc > 3 ? argv[3] : NULL;

	if (!strcmp(c, "cat") && a1)
		return cmd_cat(a1);
	if (!strcmp(c, "write") && a1)
		return cmd_write(a1, a2 ? a2 : "probe\n");
	if (!strcmp(c, "ls") && a1)
		return cmd_ls(a1);
	if (!strcmp(c, "ls-fds"))
		return cmd_ls_fds();
	if (!strcmp(c, "try-syscall")) {
		int bad = 0;
		for (int i = 2; i < argc; i++)
			bad |= result(argv[i], try_one(argv[i]));
		return bad;
	}
	if (!strcmp(c, "x32"))
		return result(NULL, x32_getpid());
	if (!strcmp(c, "i386"))
		return result(NULL, i386_getpid());
	if (!strcmp(c, "tiocsti"))
		return cmd_tiocsti();
	if (!strcmp(c, "ptrace-parent"))
		return result(NULL, ptrace(PTRACE_ATTACH, getppid(), NULL, NULL));
	if (!strcmp(c, "ptrace-child"))
		return cmd_ptrace_child();
	if (!strcmp(c, "vm-read-init"))
		return cmd_vm_read_init();
	if (!strcmp(c, "net-connect") && a1 && a2)
		return cmd_net_connect(a1, a2);
	if (!strcmp(c, "abstract-connect") && a1)
		return cmd_abstract_connect(a1);
	if (!strcmp(c, "forkbomb"))
		return cmd_forkbomb();
	if (!strcmp(c, "memhog"))
		return cmd_memhog(a1 ? atol(a1) : 0);
	if (!strcmp(c, "diskfill") && a1)
		return cmd_diskfill(a1);
	if (!strcmp(c, "manyfiles") && a1)
		return cmd_manyfiles(a1);
	if (!strcmp(c, "openmany"))
		return cmd_openmany();
	if (!strcmp(c, "flood") && a1)
		return cmd_flood(atoll(a1), a2 && !strcmp(a2, "2") ? 2 : 1);
	if (!strcmp(c, "busy"))
		spin();
	if (!strcmp(c, "sleep") && a1)
		return sleep((unsigned)atoi(a1)) ? 1 : 0;
	if (!strcmp(c, "daemonize") && a1)
		return cmd_daemonize(a2 && !strcmp(a2, "busy"));
	if (!strcmp(c, "exit") && a1)
		return atoi(a1);
	if (!strcmp(c, "kill-self") && a1) {
		kill(getpid(), atoi(a1));
		pause();
		return 1;
	}
	if (!strcmp(c, "env")) {
		for (char **e = environ; *e; e++)
			printf("%s\n", *e);
		return 0;
	}
	if (!strcmp(c, "ids"))
		return cmd_ids();
	if (!strcmp(c, "capset-raise"))
		return cmd_capset_raise();
	if (!strcmp(c, "netlink-route-add"))
		return cmd_netlink_route_add();
	if (!strcmp(c, "netlink-link-down"))
		return cmd_netlink_link_down();
	if (!strcmp(c, "udp-send") && a1 && a2)
		return cmd_udp_send(a1, a2);
	if ((!strcmp(c, "bigargv") || !strcmp(c, "bigenv")) && a1)
		return cmd_big(atol(a1), !strcmp(c, "bigenv"));
	if (!strcmp(c, "argc")) {
		int envc = 0;
		for (char **e = environ; *e; e++)
			envc++;
		printf("argc=%d envc=%d\n", argc, envc);
		return 0;
	}
	if (!strcmp(c, "link") && a1 && a2)
		return cmd_link(a1, a2);
	if (!strcmp(c, "kill") && a1 && a2)
		return result(NULL, kill((pid_t)atoi(a1), atoi(a2)));
	if (!strcmp(c, "prlimit-init"))
		return cmd_prlimit_init();
	if (!strcmp(c, "pidfd-getfd-init") && a1)
		return cmd_pidfd_getfd_init(atoi(a1));
	if (!strcmp(c, "msgget") && a1)
		return cmd_msgget(a1, a2 && !strcmp(a2, "create"));
	if (!strcmp(c, "flock") && a1)
		return cmd_flock(a1, a2 && !strcmp(a2, "hold") && argc > 4 ? argv[4] : NULL);
	if (!strcmp(c, "abstract-listen") && a1 && a2)
		return cmd_abstract_listen(a1, a2);
	if ((!strcmp(c, "mkfiles") || !strcmp(c, "mkdirs")) && a1 && a2) {
		long n = 0, want = atol(a2);
		bool dirs = !strcmp(c, "mkdirs");
		char path[4096];
		errno = 0;
		for (; n < want; n++) {
			snprintf(path, sizeof(path), "%s/f%ld", a1, n);
			if (dirs) {
				if (mkdir(path, 0755) < 0)
					break;
				continue;
			}
			int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
			if (fd < 0)
				break;
			close(fd);
		}
		printf("created %ld %s\n", n, n == want ? "ok" : ename(errno));
		return 0;
	}
	if (!strcmp(c, "counters") && a1 && a2)
		return cmd_counters(atol(a1), a2, argc > 4 && !strcmp(argv[4], "hold"));
	if (!strcmp(c, "spin-children") && a1)
		return cmd_spin_children(atoi(a1));
	if (!strcmp(c, "stop-starts") && a1)
		return cmd_stop_starts(atoi(a1));
	if (!strcmp(c, "self")) {
		printf("uid=%d gid=%d pid=%d ppid=%d sid=%d\n", (int)getuid(),
		       (int)getgid(), (int)getpid(), (int)getppid(), (int)getsid(0));
		return 0;
	}
	fprintf(stderr, "probe: unknown subcommand %s\n", c);
	return 2;
}
