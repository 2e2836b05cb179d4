/* antares-overlayd: command line, then wiring of options, layers and the FUSE session. */
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "../common/log.h"
#include "devio.h"
#include "layer.h"
#include "lookup.h"
#include "ops.h"
#include "options.h"
#include "pending.h"
#include "uring.h"
#include "writefds.h"

#ifndef ANTARES_VERSION
#define ANTARES_VERSION "0"
#endif

static const char usage[] =
	"Usage: antares-overlayd [OPTIONS] [SOURCE] MOUNTPOINT\n"
	"       antares-overlayd [OPTIONS] --fd N\n"
	"\n"
	"Mount an overlay of directories with FUSE: LOWERDIRs stay read-only, changes go to\n"
	"UPPERDIR. Option names and meanings follow fuse-overlayfs.\n"
	"\n"
	"Options:\n"
	"  -o OPT[,OPT...]     mount options, see below; may be given more than once\n"
	"  -f                  stay in the foreground (default: detach once mounted)\n"
	"  -d                  debug: foreground, and print every FUSE request\n"
	"      --fd N          serve /dev/fuse fd N that the caller already mounted\n"
	"      --log FILE      append log lines to FILE (default: stderr; syslog once detached)\n"
	"      --log-level L   error, warning (default), info or debug\n"
	"  -h, --help          show this help and exit\n"
	"  -V, --version       show the version and exit\n"
	"\n"
	"Overlay options (-o):\n"
	"  lowerdir=DIR[:DIR...]  read-only layers, topmost first (required)\n"
	"  upperdir=DIR           writable layer; without it the mount is read-only\n"
	"  workdir=DIR            empty directory on the upper's filesystem (with upperdir)\n"
	"  timeout=SECONDS        kernel entry/attribute cache time (default 86400)\n"
	"  fsync=0|1              copied-up data reaches the disk before the copy can survive\n"
	"                         a crash (files under 1 MiB synced before they appear, bigger\n"
	"                         ones in the background, undone at mount if torn; default 1)\n"
	"  volatile               same as fsync=0\n"
	"  userxattr              write user.overlay.* xattrs even when trusted.* would work\n"
	"  noxattrs               refuse extended attribute calls on the mount\n"
	"  metacopy=on|off        metadata changes to lower files copy no data (default off)\n"
	"  noacl                  no POSIX ACLs on the mount (stored ACLs are still copied)\n"
	"  writeback=0|1          kernel writeback cache for file data (default 1)\n"
	"  io_uring=0|1           take requests through io_uring when the kernel offers it (the\n"
	"                         fuse module's enable_uring, set by root; default 1)\n"
	"  blksize=N              st_blksize every file reports, a power of two from 512 to\n"
	"                         1048576, 0 for the layer's own (default 131072)\n"
	"  squash_unmapped        show files of ids unmapped in our user namespace as ours\n"
	"  fast_ino, threaded, plugins, xattr_permissions\n"
	"                         accepted for fuse-overlayfs compatibility; no effect\n"
	"\n"
	"Generic mount options passed to FUSE: ro, rw, dev, nodev, suid, nosuid, exec, noexec,\n"
	"sync, async, dirsync, atime, noatime, allow_other, allow_root, default_permissions,\n"
	"auto_unmount, fsname=, subtype=, max_read= (default 524288), context=, fscontext=,\n"
	"defcontext=, rootcontext=. Ignored as fstab noise: defaults, auto, noauto, user, users, nouser,\n"
	"_netdev, nofail, relatime, strictatime, lazytime, x-*, comment=.\n"
	"\n"
	"Exit status: 0 after unmount or SIGTERM, 1 on bad options or layers, 2 when mounting fails.\n";

struct cmdline {
	struct ovl_options opts;
	const char *source;
	const char *mountpoint;
	int fd;
	bool foreground;
	bool debug;
};

static int fail(const char *fmt, const char *arg)
{
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	log_stderr(fmt, arg);
#pragma GCC diagnostic pop
	return 1;
}

/* Returns -1 to go on, else the exit status. */
static int parse_cmdline(int argc, char **argv, struct cmdline *c)
{
	enum { OPT_FD = 256, OPT_LOG, OPT_LOG_LEVEL };
	static const struct option longopts[] = {
		{ "fd", required_argument, NULL, OPT_FD },
		{ "log", required_argument, NULL, OPT_LOG },
		{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	char err[512];
	int ch;
	c->fd = -1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":o:fdhV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'o':
			if (ovl_options_parse(&c->opts, optarg, err, sizeof(err)) < 0)
				return fail("%s", err);
			break;
		case 'f':
			c->foreground = true;
			break;
		case 'd':
			c->debug = c->foreground = true;
			break;
		case OPT_FD: {
			char *end;
			long v = strtol(optarg, &end, 10);
			struct stat st;
			if (!*optarg || *end || v < 0 || v > 1 << 20)
				return fail("--fd needs a file descriptor number, got '%s'", optarg);
			if (fstat((int)v, &st) < 0)
				return fail("--fd %s: no such open file descriptor: open /dev/fuse, "
					    "mount it, and pass that fd",
					    optarg);
			/* /dev/fuse is character device 10,229 */
			if (!S_ISCHR(st.st_mode) || major(st.st_rdev) != 10 || minor(st.st_rdev) != 229)
				return fail("--fd %s is not an open /dev/fuse: pass the fd the FUSE "
					    "mount was made with",
					    optarg);
			c->fd = (int)v;
			break;
		}
		case OPT_LOG: {
			int r = log_open_file(optarg);
			if (r < 0) {
				log_stderr("--log %s: %s: give a file in an existing, writable directory",
					   optarg, strerror(-r));
				return 1;
			}
			break;
		}
		case OPT_LOG_LEVEL: {
			enum log_level lv;
			if (log_parse_level(optarg, &lv) < 0)
				return fail("--log-level '%s' is unknown: use error, warning, info "
					    "or debug",
					    optarg);
			log_set_level(lv);
			break;
		}
		case 'h':
			fputs(usage, stdout);
			return 0;
		case 'V':
			printf("antares-overlayd %s\n", ANTARES_VERSION);
			return 0;
		case ':':
			return fail("option %s needs a value: see antares-overlayd --help",
				    argv[optind - 1]);
		default:
			return fail("unknown option '%s': see antares-overlayd --help",
				    argv[optind - 1]);
		}
	}
	int npos = argc - optind;
	if (npos > 2)
		return fail("too many arguments starting at '%s': give [SOURCE] MOUNTPOINT",
			    argv[optind + 2]);
	if (npos == 2)
		c->source = argv[optind++];
	if (npos >= 1)
		c->mountpoint = argv[optind];
	if (!c->mountpoint && c->fd < 0)
		return fail("%s", "missing MOUNTPOINT: see antares-overlayd --help");
	if (c->mountpoint && c->fd >= 0)
		return fail("--fd serves a mount that already exists: drop MOUNTPOINT '%s'",
			    c->mountpoint);
	if (ovl_options_check(&c->opts, err, sizeof(err)) < 0)
		return fail("%s", err);
	if (c->fd < 0) {
		struct stat st;
		if (stat(c->mountpoint, &st) < 0)
			return fail("mountpoint %s: does not exist: create the directory first",
				    c->mountpoint);
		if (!S_ISDIR(st.st_mode))
			return fail("mountpoint %s: not a directory: give a directory to mount on",
				    c->mountpoint);
	}
	return -1;
}

/* Every directory inode holds an fd per layer: allow as many as the hard limit permits. */
static void raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* At unmount libfuse ends its worker threads with pthread_cancel(), and glibc loads libgcc_s
 * for the unwinding at the first cancel. A daemon out of fds then (every directory the kernel
 * caches holds one) could not open it, and glibc aborted: "libgcc_s.so.1 must be installed
 * for pthread_cancel to work", exit status 134 instead of 0. Loaded now, glibc finds it in
 * memory later. */
static void preload_unwinder(void)
{
	if (!dlopen("libgcc_s.so.1", RTLD_NOW | RTLD_NODELETE))
		log_warning("libgcc_s.so.1 not loaded (%s): the daemon may abort at unmount if it "
			    "is out of fds then",
			    dlerror());
}

/* libfuse reports problems through its log function; during setup we keep its last message
 * to put into our own one-line error, afterwards its messages join our log. */
static char fuse_last_msg[512];
static bool fuse_msgs_to_log;

static void fuse_log_capture(enum fuse_log_level level, const char *fmt, va_list ap)
{
	char buf[512];
	vsnprintf(buf, sizeof(buf), fmt, ap);
	buf[strcspn(buf, "\n")] = '\0';
	const char *msg = strncmp(buf, "fuse: ", 6) ? buf : buf + 6;
	if (fuse_msgs_to_log)
		log_msg(level <= FUSE_LOG_ERR ? LOG_LEVEL_ERROR : LOG_LEVEL_DEBUG, "fuse: %s", msg);
	else if (level <= FUSE_LOG_NOTICE)
		snprintf(fuse_last_msg, sizeof(fuse_last_msg), "%s", msg);
}

/* fsname is one -o item: escape what libfuse would split on. */
static void escape_opt(const char *in, char *out, size_t len)
{
	size_t w = 0;
	for (; *in && w + 2 < len; in++) {
		if (*in == ',' || *in == '\\')
			out[w++] = '\\';
		out[w++] = *in;
	}
	out[w] = '\0';
}

static int build_fuse_args(const struct cmdline *c, const struct ovl *ovl, struct fuse_args *args)
{
	char opts[8192], fsname[2048];
	escape_opt(c->source ? c->source : "antares-overlayd", fsname, sizeof(fsname));
	snprintf(opts, sizeof(opts),
		 "default_permissions,fsname=%s,subtype=antares-overlayd,max_read=%u%s%s%s%s", fsname,
		 ovl->max_read,
		 geteuid() == 0 ? ",allow_other" : "", ovl->read_only ? ",ro" : "",
		 c->opts.fuse_opts ? "," : "", c->opts.fuse_opts ? c->opts.fuse_opts : "");
	if (fuse_opt_add_arg(args, "antares-overlayd") < 0 || fuse_opt_add_arg(args, "-o") < 0 ||
	    fuse_opt_add_arg(args, opts) < 0)
		return -ENOMEM;
	if (c->debug && fuse_opt_add_arg(args, "-d") < 0)
		return -ENOMEM;
	return 0;
}

int main(int argc, char **argv)
{
	struct cmdline c = { 0 };
	struct ovl ovl = { 0 };
	char err[1024], fdpath[64];
	int status = 1;
	bool stopped = true; /* no thread of ours may still use the session or the inodes */

	log_set_program("antares-overlayd");
	ovl_options_init(&c.opts);
	int r = parse_cmdline(argc, argv, &c);
	if (r >= 0) {
		ovl_options_free(&c.opts);
		return r;
	}
	raise_nofile();
	preload_unwinder();
	/* Modes arrive from the kernel already final (or with the caller's umask to apply, see
	 * ops_create_mode); our own umask must not strip anything more. */
	umask(0);
	fuse_set_log_func(fuse_log_capture);
	if (c.debug) /* libfuse's request trace arrives as debug messages */
		log_set_level(LOG_LEVEL_DEBUG);
	/* Validate everything before writing anything: layers, then FUSE's own options; only
	 * then prepare the work directory, and mount last. */
	err[0] = '\0';
	if (inode_table_init(&ovl.table) < 0 || layers_open(&ovl, &c.opts, err, sizeof(err)) < 0) {
		log_stderr("%s", err[0] ? err : strerror(errno));
		goto out;
	}
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	if (build_fuse_args(&c, &ovl, &args) < 0)
		goto out;
	struct fuse_session *se = fuse_session_new(&args, &ovl_ops, sizeof(ovl_ops), &ovl);
	fuse_opt_free_args(&args);
	ovl.se = se;
	if (!se) {
		log_stderr("mount options refused: %s",
			   fuse_last_msg[0] ? fuse_last_msg : "see antares-overlayd --help");
		goto out;
	}
	if (layers_prepare_work(&ovl, &c.opts, err, sizeof(err)) < 0 || ovl_root_init(&ovl) < 0) {
		log_stderr("%s", err[0] ? err : strerror(errno));
		goto destroy;
	}
	status = 2;
	if (fuse_set_signal_handlers(se) < 0)
		goto destroy;
	const char *target = c.mountpoint;
	if (c.fd >= 0) {
		snprintf(fdpath, sizeof(fdpath), "/dev/fd/%d", c.fd);
		target = fdpath;
	}
	if (fuse_session_mount(se, target) < 0) {
		log_stderr("cannot mount on %s: %s", target,
			   fuse_last_msg[0] ? fuse_last_msg : "the kernel refused the FUSE mount");
		goto signals;
	}
	if (devio_attach(se) < 0) {
		log_stderr("cannot set up the FUSE device I/O: %s",
			   fuse_last_msg[0] ? fuse_last_msg : "libfuse refused it");
		goto unmount;
	}
	fuse_msgs_to_log = true;
	if (!c.foreground) {
		fuse_daemonize(0);
		log_use_syslog();
	}
	struct fuse_loop_config *cfg = fuse_loop_cfg_create();
	if (!cfg)
		goto unmount;
	fuse_loop_cfg_set_clone_fd(cfg, 1);
	/* Keep workers alive between bursts: a thread per request (open /dev/fuse, clone the
	 * session fd, pipes for splice) cost more than the request itself. */
	fuse_loop_cfg_set_max_threads(cfg, 64);
	fuse_loop_cfg_set_idle_threads(cfg, 64);
	uring_setup_signal();
	r = fuse_session_loop_mt(se, cfg);
	fuse_loop_cfg_destroy(cfg);
	/* The io_uring queues' threads (uring.c) serve apart from libfuse's loop: stop them
	 * before anything they use goes. */
	stopped = uring_stop();
	/* Unmounted, or asked to stop by SIGTERM/SIGINT/SIGHUP: both are a clean end (libfuse's
	 * handlers make the loop return the signal's number, and reset the exited flag). */
	status = r == 0 || r == SIGTERM || r == SIGINT || r == SIGHUP || fuse_session_exited(se) ? 0 : 2;
unmount:
	fuse_session_unmount(se);
signals:
	fuse_remove_signal_handlers(se);
destroy:
	if (stopped)
		fuse_session_destroy(se);
out:
	/* A request still being served (a layer that does not answer) keeps all it may use:
	 * the exit ends it. Copies it left unsynced are undone at the next mount if torn. */
	if (!stopped)
		return status;
	/* Copies still waiting for their fsync get it now: a clean exit leaves none pending. */
	ops_file_shutdown();
	pending_shutdown(&ovl);
	writefds_shutdown();
	/* Free what the session used, so that leak checkers (the ASan build, valgrind) see a
	 * clean exit and report only real leaks. */
	inode_table_destroy(&ovl);
	layers_close(&ovl);
	ovl_options_free(&c.opts);
	return status;
}
