/* Building the sandbox's root view. Every source (host /, device nodes, the policy's ro/rw
 * paths, --bind sources, rootfs layers) is cloned first, while this new mount namespace still
 * looks exactly like the host; then the view is attached on a staging directory and filled in
 * through fds resolved with RESOLVE_IN_ROOT, so no symlink or ".." in a destination can point
 * outside it. Order: /proc, /dev, /tmp; the policy's mounts (parents first) around the project
 * overlay; the state directory hidden; --bind last, so the command line wins. */
#include "view.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "mounts.h"
#include "util.h"

/* In this (throwaway) namespace the view is attached here before pivot_root; all sources are
 * cloned by then, so covering the host's /tmp hides nothing we still need. */
#define STAGING "/tmp"

static const char *const dev_nodes[] = { "null", "zero", "full", "random", "urandom", "tty" };
#define N_DEV (sizeof(dev_nodes) / sizeof(dev_nodes[0]))

struct view {
	const struct sandbox_config *cfg;
	const struct policy_plan *plan;
	int root_mnt;      /* detached: host / clone, or the rootfs overlay */
	int dev_mnts[N_DEV];
	int *bind_mnts;
	bool *bind_is_dir;
	int *plan_mnts;    /* clones of the plan's ro/rw sources; -1: another kind, or skipped */
	bool *plan_is_dir;
	bool *plan_skip;   /* optional, and not on the host */
	int empty_file;    /* O_PATH: an empty read-only file, bound over hidden files */
	int *sealed;       /* hiding tmpfs mounts, made read-only once the view is complete */
	size_t n_sealed;
	int rootfd;        /* the attached view */
};

/* What hides a path: nothing to run, nothing to open as a device, nothing setuid. */
#define HIDE_ATTRS (MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC)

static const char *kind_name(enum policy_mount_kind k)
{
	static const char *const names[] = {
		[POLICY_MOUNT_RO] = "ro",
		[POLICY_MOUNT_RW] = "rw",
		[POLICY_MOUNT_TMPFS] = "tmpfs",
		[POLICY_MOUNT_HIDE] = "hide",
	};
	return names[k];
}

/* A bind of a host path: cloned with its submounts, nosuid and nodev, read-only if asked.
 * Returns the detached mount fd or -errno. */
static int clone_bind_source(const char *src, bool readonly)
{
	_cleanup_close_ int fd = mount_clone(AT_FDCWD, src, true);
	if (fd < 0)
		return fd;
	unsigned set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | (readonly ? MOUNT_ATTR_RDONLY : 0);
	int r = mount_set_attrs(fd, set, 0, true);
	return r < 0 ? r : TAKE_FD(fd);
}

/* Whether the plan's optional paths exist is decided on the host, as the policy format says,
 * so before anything covers it; ro and rw entries bind host paths: clone them now too. */
static int clone_plan_sources(struct view *v)
{
	for (size_t i = 0; i < v->plan->n_mounts; i++) {
		const struct policy_mount *m = &v->plan->mounts[i];
		bool bind = m->kind == POLICY_MOUNT_RO || m->kind == POLICY_MOUNT_RW;
		struct stat st;
		if (!bind && !m->optional)
			continue;
		if (stat(m->path, &st) < 0) {
			if (errno == ENOENT && m->optional) {
				log_info("policy: %s %s: not on the host, skipped", kind_name(m->kind),
					 m->path);
				v->plan_skip[i] = true;
				continue;
			}
			if (bind)
				return step_fail(negerrno(), "create it, or mark it optional in the policy ('?PATH')",
						 "policy %s: %s %s", v->cfg->policy->name,
						 kind_name(m->kind), m->path);
			continue;
		}
		if (!bind)
			continue;
		v->plan_is_dir[i] = S_ISDIR(st.st_mode);
		v->plan_mnts[i] = clone_bind_source(m->path, m->kind == POLICY_MOUNT_RO);
		if (v->plan_mnts[i] < 0)
			return step_fail(v->plan_mnts[i], NULL, "policy %s: %s %s: clone",
					 v->cfg->policy->name, kind_name(m->kind), m->path);
	}
	return 0;
}

/* Hidden files are covered by clones of one empty read-only file. It lives on a tmpfs
 * attached at the staging directory, under the view attached there next, because a clone
 * needs its source in our namespace (the kernel's check_mnt), not in a detached tree. */
static int make_empty_file(struct view *v)
{
	bool needed = false;
	for (size_t i = 0; i < v->plan->n_mounts; i++)
		needed |= v->plan->mounts[i].kind == POLICY_MOUNT_HIDE;
	if (!needed)
		return 0;
	const char *opts[] = { "mode=0755", NULL };
	_cleanup_close_ int tmp = mount_fs("tmpfs", "antares-hidden", opts, HIDE_ATTRS);
	if (tmp < 0 || mount_attach_path(tmp, STAGING) < 0)
		return step_fail(tmp < 0 ? tmp : negerrno(), NULL,
				 "create the empty file for hidden files");
	_cleanup_close_ int dir = open(STAGING, O_PATH | O_DIRECTORY | O_CLOEXEC);
	int f = dir < 0 ? -1 : openat(dir, "empty", O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0444);
	if (f < 0 || close(f) < 0 || (v->empty_file = openat(dir, "empty", O_PATH | O_CLOEXEC)) < 0)
		return step_fail(negerrno(), NULL, "create the empty file for hidden files");
	/* No file open for writing may remain, or the kernel refuses (EBUSY). */
	int r = mount_set_attrs(tmp, MOUNT_ATTR_RDONLY, 0, false);
	return r < 0 ? step_fail(r, NULL, "make the empty file read-only") : 0;
}

static int clone_sources(struct view *v)
{
	const struct sandbox_config *cfg = v->cfg;
	for (size_t i = 0; i < N_DEV; i++) {
		char path[64];
		snprintf(path, sizeof(path), "/dev/%s", dev_nodes[i]);
		v->dev_mnts[i] = mount_clone(AT_FDCWD, path, false);
		if (v->dev_mnts[i] < 0)
			log_info("no %s on the host (%s): left out", path, strerror(-v->dev_mnts[i]));
	}
	for (size_t i = 0; i < cfg->n_binds; i++) {
		const struct bind_mount *b = &cfg->binds[i];
		struct stat st;
		if (stat(b->src, &st) < 0)
			return step_fail(negerrno(), "check the path", "--%sbind %s",
					 b->readonly ? "ro-" : "", b->src);
		v->bind_is_dir[i] = S_ISDIR(st.st_mode);
		v->bind_mnts[i] = clone_bind_source(b->src, b->readonly);
		if (v->bind_mnts[i] < 0)
			return step_fail(v->bind_mnts[i], NULL, "--%sbind %s: clone",
					 b->readonly ? "ro-" : "", b->src);
	}
	return clone_plan_sources(v);
}

static int clone_host_root(struct view *v)
{
	log_info("root view: host / read-only");
	int fd = mount_clone(AT_FDCWD, "/", true);
	if (fd < 0)
		return step_fail(fd, "see 'antares-sandbox doctor'", "clone the host's / for the view");
	v->root_mnt = fd;
	int r = mount_set_attrs(fd, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, 0,
				true);
	if (r < 0)
		return step_fail(r, NULL, "make the host's / read-only in the view");
	return 0;
}

/* --rootfs: kernel overlayfs of the image layers, with a scratch tmpfs upper so missing mount
 * points can be created; the root is made read-only once the view is complete. The tmpfs is
 * attached on the staging directory first: overlayfs wants its layers in our namespace. */
static int mount_rootfs(struct view *v)
{
	const struct sandbox_config *cfg = v->cfg;
	char lower[8192];
	int n = 0;
	/* The layer fds stay open until this process execs or exits: overlayfs resolves them
	 * when mounting, later than this loop. */
	for (size_t i = 0; i < cfg->n_rootfs; i++) {
		int fd = open(cfg->rootfs[i], O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return step_fail(negerrno(), "give image layer directories", "--rootfs %s",
					 cfg->rootfs[i]);
		n += snprintf(lower + n, sizeof(lower) - (size_t)n, "%s/proc/self/fd/%d",
			      i ? ":" : "lowerdir=", fd);
	}
	const char *topts[] = { "mode=0755", NULL };
	_cleanup_close_ int tmp = mount_fs("tmpfs", "antares-rootfs", topts, MOUNT_ATTR_NOSUID);
	if (tmp < 0 || mount_attach_path(tmp, STAGING) < 0)
		return step_fail(tmp < 0 ? tmp : negerrno(), NULL, "--rootfs: scratch tmpfs");
	if (mkdir(STAGING "/upper", 0755) < 0 || mkdir(STAGING "/work", 0700) < 0)
		return step_fail(negerrno(), NULL, "--rootfs: scratch directories");
	const char *opts[] = { lower, "upperdir=" STAGING "/upper", "workdir=" STAGING "/work",
			       "userxattr", NULL };
	log_info("root view: overlay of --rootfs %s", lower);
	v->root_mnt = mount_fs("overlay", "antares-rootfs", opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
	if (v->root_mnt < 0)
		return step_fail(v->root_mnt,
				 "the kernel must allow overlayfs in user namespaces (Linux >= 5.11)",
				 "--rootfs: mount the layers");
	return 0;
}

static int attach_at(struct view *v, int mnt, const char *path, const char *what)
{
	_cleanup_close_ int fd = open_in_root(v->rootfd, path, O_PATH);
	if (fd < 0)
		return step_fail(fd, "the root view must have this directory", "mount %s on %s",
				 what, path);
	int r = mount_attach(mnt, fd);
	if (r < 0)
		return step_fail(r, NULL, "mount %s on %s", what, path);
	log_info("mounted %s on %s", what, path);
	return 0;
}

static int mount_new_at(struct view *v, const char *fstype, const char *const *opts,
			unsigned attrs, const char *path)
{
	_cleanup_close_ int mnt = mount_fs(fstype, fstype, opts, attrs);
	if (mnt < 0)
		return step_fail(mnt, NULL, "create %s for %s", fstype, path);
	return attach_at(v, mnt, path, fstype);
}

static int populate_dev(struct view *v, int devfd)
{
	for (size_t i = 0; i < N_DEV; i++) {
		if (v->dev_mnts[i] < 0)
			continue;
		_cleanup_close_ int f = openat(devfd, dev_nodes[i], O_CREAT | O_EXCL | O_WRONLY |
									O_NOFOLLOW | O_CLOEXEC, 0666);
		if (f < 0 || mount_attach(v->dev_mnts[i], f) < 0)
			return step_fail(negerrno(), NULL, "bind /dev/%s", dev_nodes[i]);
	}
	static const char *const links[][2] = {
		{ "pts/ptmx", "ptmx" }, { "/proc/self/fd", "fd" }, { "/proc/self/fd/0", "stdin" },
		{ "/proc/self/fd/1", "stdout" }, { "/proc/self/fd/2", "stderr" },
	};
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++)
		if (symlinkat(links[i][0], devfd, links[i][1]) < 0)
			return step_fail(negerrno(), NULL, "/dev/%s symlink", links[i][1]);
	if (mkdirat(devfd, "pts", 0755) < 0 || mkdirat(devfd, "shm", 01777) < 0)
		return step_fail(negerrno(), NULL, "/dev/pts and /dev/shm directories");
	const char *pts_opts[] = { "newinstance", "ptmxmode=0666", "mode=0620", NULL };
	int r = mount_new_at(v, "devpts", pts_opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, "/dev/pts");
	const char *shm_opts[] = { "mode=1777", NULL };
	return r < 0 ? r : mount_new_at(v, "tmpfs", shm_opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
				       "/dev/shm");
}

/* A tmpfs /dev with only the harmless nodes bound from the host, then made read-only. The
 * tmpfs itself is nodev too: each bound node is a mount of its own that keeps the host's
 * flags, so nothing but those nodes can ever be opened as a device there. */
static int mount_dev(struct view *v)
{
	const char *opts[] = { "mode=0755", NULL };
	_cleanup_close_ int mnt = mount_fs("tmpfs", "tmpfs", opts,
					   MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC | MOUNT_ATTR_NODEV);
	if (mnt < 0)
		return step_fail(mnt, NULL, "create tmpfs for /dev");
	int r = attach_at(v, mnt, "/dev", "tmpfs");
	if (r < 0)
		return r;
	_cleanup_close_ int devfd = open_in_root(v->rootfd, "/dev", O_PATH | O_DIRECTORY);
	if (devfd < 0)
		return step_fail(devfd, NULL, "open /dev in the view");
	if ((r = populate_dev(v, devfd)) < 0)
		return r;
	r = mount_set_attrs(mnt, MOUNT_ATTR_RDONLY, 0, false);
	return r < 0 ? step_fail(r, NULL, "make /dev read-only") : 0;
}

/* Kernel settings in /proc are guarded by the writer's uid, not by a capability: when
 * antares-sandbox runs as root, uid 0 in the sandbox is the host's root, and could write
 * /proc/sys/kernel/core_pattern (a program the kernel then runs as root on the host), IRQ
 * affinities or PCI configuration space. These are bound read-only over themselves, as
 * bubblewrap and the container runtimes do; /proc/sys goes entirely, the build's own
 * namespaces' settings (ipc, pid) with it. */
static const char *const proc_readonly[] = { "sys", "sysrq-trigger", "irq", "bus", "fs" };

static int protect_proc(struct view *v)
{
	_cleanup_close_ int procfd = open_in_root(v->rootfd, "/proc", O_PATH | O_DIRECTORY);
	if (procfd < 0)
		return step_fail(procfd, NULL, "open /proc in the view");
	for (size_t i = 0; i < sizeof(proc_readonly) / sizeof(proc_readonly[0]); i++) {
		const char *name = proc_readonly[i];
		_cleanup_close_ int target = openat(procfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (target < 0 && errno == ENOENT)
			continue; /* not built into this kernel */
		_cleanup_close_ int mnt = target < 0 ? negerrno() : mount_clone(procfd, name, true);
		int r = mnt < 0 ? mnt
				: mount_set_attrs(mnt, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID |
							       MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
						  0, true);
		if (r == 0)
			r = mount_attach(mnt, target);
		if (r < 0)
			return step_fail(r, NULL, "make /proc/%s read-only", name);
	}
	return 0;
}

/* Hide PATH: a directory behind an empty tmpfs (read-only once the view is complete, so mount
 * points for what goes below can still be made), a file behind the empty file. A missing path
 * is an error unless OPTIONAL. */
static int hide_path(struct view *v, const char *path, bool optional)
{
	_cleanup_close_ int fd = open_in_root(v->rootfd, path, O_PATH);
	struct stat st;
	if (fd == -ENOENT && optional)
		return 0;
	if (fd < 0 || fstat(fd, &st) < 0)
		return step_fail(fd < 0 ? fd : negerrno(), "mark it optional in the policy ('?PATH')",
				 "hide %s", path);
	if (!S_ISDIR(st.st_mode)) {
		_cleanup_close_ int mnt = mount_clone(v->empty_file, "", false);
		int r = mnt < 0 ? mnt : mount_set_attrs(mnt, MOUNT_ATTR_RDONLY | HIDE_ATTRS, 0, false);
		if (r < 0)
			return step_fail(r, NULL, "hide %s: clone the empty file", path);
		return attach_at(v, mnt, path, "an empty file");
	}
	const char *opts[] = { "mode=0755", NULL };
	int mnt = mount_fs("tmpfs", "tmpfs", opts, HIDE_ATTRS);
	if (mnt < 0)
		return step_fail(mnt, NULL, "create tmpfs for %s", path);
	v->sealed[v->n_sealed++] = mnt;
	return attach_at(v, mnt, path, "an empty directory");
}

/* A destination for a bind: PATH made in the view if missing (a directory or a file). */
static int make_mount_point(struct view *v, const char *path, bool dir)
{
	return dir ? mkdir_p_in_root(v->rootfd, path, 0755) : touch_in_root(v->rootfd, path);
}

static int mount_plan_entry(struct view *v, size_t i)
{
	const struct policy_mount *m = &v->plan->mounts[i];
	int r;
	if (v->plan_skip[i])
		return 0;
	switch (m->kind) {
	case POLICY_MOUNT_RO:
	case POLICY_MOUNT_RW:
		if ((r = make_mount_point(v, m->path, v->plan_is_dir[i])) < 0)
			return step_fail(r, "the parent must be a tmpfs or hidden directory",
					 "policy: %s %s: create the mount point", kind_name(m->kind), m->path);
		return attach_at(v, v->plan_mnts[i], m->path, m->path);
	case POLICY_MOUNT_TMPFS: {
		_cleanup_close_ int fd = open_in_root(v->rootfd, m->path, O_PATH | O_DIRECTORY);
		if (fd == -ENOENT && m->optional)
			return 0;
		if (fd == -ENOENT && (r = mkdir_p_in_root(v->rootfd, m->path, 0755)) < 0)
			return step_fail(r, "mark it optional in the policy ('?PATH')",
					 "policy: tmpfs %s: create the mount point", m->path);
		const char *opts[] = { "mode=1777", NULL };
		return mount_new_at(v, "tmpfs", opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, m->path);
	}
	case POLICY_MOUNT_HIDE:
		return hide_path(v, m->path, m->optional);
	}
	return -EINVAL;
}

/* PATH is strictly below DIR (both normalized). */
static bool path_below(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	if (n == 1)
		return path[1] != 0; /* DIR is "/" */
	return strncmp(path, dir, n) == 0 && path[n] == '/';
}

/* The plan's mounts, parents first: those below the project go on the overlay (BELOW), the
 * others under it, so neither the home directory's bind covers the project nor the overlay a
 * path the policy hides inside it. */
static int mount_plan(struct view *v, bool below)
{
	for (size_t i = 0; i < v->plan->n_mounts; i++) {
		if (path_below(v->plan->mounts[i].path, v->cfg->project) != below)
			continue;
		int r = mount_plan_entry(v, i);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The upper layers being served must not be reachable around the overlay (a policy may show
 * or even bind the home directory they live in read-write). */
static int hide_state(struct view *v)
{
	const char *state = v->cfg->state_hide;
	if (!state || !strcmp(state, v->cfg->project) || path_below(v->cfg->project, state))
		return 0;
	return hide_path(v, state, true);
}

static bool plan_has(const struct view *v, const char *path)
{
	for (size_t i = 0; i < v->plan->n_mounts; i++)
		if (!strcmp(v->plan->mounts[i].path, path))
			return true;
	return false;
}

/* With no network, the host's path sockets go too: a network namespace does not cover unix
 * sockets bound in the file system, and connect(2) works through a read-only mount, so the
 * daemons listening in /run (docker, dbus, systemd, databases) would still answer (finding F1
 * of doc/security.md). /run becomes an empty private tmpfs, as /tmp is, unless the policy says
 * what /run is; /var/run is a symbolic link to it on current systems and hidden the same way
 * where it is a directory. Sockets elsewhere on the host's / are the policy's to hide. */
static int hide_run_sockets(struct view *v)
{
	static const char *const dirs[] = { "/run", "/var/run" };
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		_cleanup_close_ int fd = open_in_root(v->rootfd, dirs[i], O_PATH | O_NOFOLLOW);
		struct stat st;
		if (plan_has(v, dirs[i]) || fd < 0 || fstat(fd, &st) < 0 || !S_ISDIR(st.st_mode))
			continue; /* absent, or the symbolic link to /run */
		const char *opts[] = { "mode=0755", NULL };
		int r = mount_new_at(v, "tmpfs", opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, dirs[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Make the hiding directories read-only now that every mount point below them exists. */
static int seal(struct view *v)
{
	for (size_t i = 0; i < v->n_sealed; i++) {
		int r = mount_set_attrs(v->sealed[i], MOUNT_ATTR_RDONLY, 0, false);
		if (r < 0)
			return step_fail(r, NULL, "make a hidden directory read-only");
	}
	return 0;
}

static int mount_project(struct view *v, int overlay_fd)
{
	const char *project = v->cfg->project;
	int r = mkdir_p_in_root(v->rootfd, project, 0755);
	if (r < 0)
		return step_fail(r, "the project's parent must exist in the root view (with --rootfs, "
				    "create it in the image)",
				 "create the mount point %s in the view", project);
	return attach_at(v, overlay_fd, project, "the overlay");
}

static int mount_binds(struct view *v)
{
	const struct sandbox_config *cfg = v->cfg;
	for (size_t i = 0; i < cfg->n_binds; i++) {
		const struct bind_mount *b = &cfg->binds[i];
		int r = make_mount_point(v, b->dst, v->bind_is_dir[i]);
		if (r < 0)
			return step_fail(r, "choose a destination that exists, or one under /tmp",
					 "--%sbind %s %s: create the destination", b->readonly ? "ro-" : "",
					 b->src, b->dst);
		if ((r = attach_at(v, v->bind_mnts[i], b->dst, b->src)) < 0)
			return r;
	}
	return 0;
}

static int enter(struct view *v)
{
	/* pivot_root(".", "."): the old root ends up stacked on the new one and is detached
	 * at once, so the (read-only) view needs no directory to park it in. */
	if (fchdir(v->rootfd) < 0 || syscall(SYS_pivot_root, ".", ".") < 0)
		return step_fail(negerrno(), NULL, "pivot_root into the view");
	if (umount2(".", MNT_DETACH) < 0)
		return step_fail(negerrno(), NULL, "detach the host's root");
	if (chdir("/") < 0)
		return step_fail(negerrno(), NULL, "chdir /");
	const char *cwd = v->cfg->cwd;
	if (!cwd || chdir(cwd) < 0) {
		log_info("%s is not in the sandbox: starting in %s", cwd ? cwd : "(none)",
			 v->cfg->project);
		if (chdir(v->cfg->project) < 0)
			return step_fail(negerrno(), NULL, "chdir %s", v->cfg->project);
	}
	return 0;
}

static int build(struct view *v, int overlay_fd)
{
	int r = clone_sources(v);
	if (r == 0)
		r = v->cfg->n_rootfs ? mount_rootfs(v) : clone_host_root(v);
	if (r == 0) /* after mount_rootfs, which opens the layers by path, under the staging dir */
		r = make_empty_file(v);
	if (r < 0)
		return r;
	if ((r = mount_attach_path(v->root_mnt, STAGING)) < 0)
		return step_fail(r, NULL, "attach the root view");
	v->rootfd = open(STAGING, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (v->rootfd < 0)
		return step_fail(negerrno(), NULL, "open the root view");
	/* An image may lack the directories we mount on: its scratch upper can take them. */
	for (size_t i = 0; v->cfg->n_rootfs && i < 3; i++)
		if ((r = mkdir_p_in_root(v->rootfd, (const char *[]){ "/proc", "/dev", "/tmp" }[i],
					 0755)) < 0)
			return step_fail(r, NULL, "--rootfs: create the mount points");
	const char *proc_opts[] = { NULL };
	const char *tmp_opts[] = { "mode=1777", NULL };
	if ((r = mount_new_at(v, "proc", proc_opts,
			      MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, "/proc")) < 0 ||
	    (r = protect_proc(v)) < 0 || (r = mount_dev(v)) < 0)
		return r;
	/* A fresh /tmp unless the policy says what /tmp is. */
	if (!plan_has(v, "/tmp") &&
	    (r = mount_new_at(v, "tmpfs", tmp_opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, "/tmp")) < 0)
		return r;
	if (v->cfg->net_none && (r = hide_run_sockets(v)) < 0)
		return r;
	if ((r = mount_plan(v, false)) < 0 || (r = mount_project(v, overlay_fd)) < 0 ||
	    (r = mount_plan(v, true)) < 0 || (r = hide_state(v)) < 0 || (r = mount_binds(v)) < 0 ||
	    (r = seal(v)) < 0)
		return r;
	if (v->cfg->n_rootfs && (r = mount_set_attrs(v->root_mnt, MOUNT_ATTR_RDONLY, 0, false)) < 0)
		return step_fail(r, NULL, "make the --rootfs root read-only");
	return enter(v);
}

int view_build_and_enter(const struct sandbox_config *cfg, int overlay_fd)
{
	const struct policy_plan *plan = cfg->policy->plan;
	struct view v = { .cfg = cfg, .plan = plan, .root_mnt = -1, .empty_file = -1, .rootfd = -1 };
	for (size_t i = 0; i < N_DEV; i++)
		v.dev_mnts[i] = -1;
	_cleanup_free_ int *binds = calloc(cfg->n_binds + 1, sizeof(int));
	_cleanup_free_ bool *is_dir = calloc(cfg->n_binds + 1, sizeof(bool));
	_cleanup_free_ int *plan_mnts = calloc(plan->n_mounts + 1, sizeof(int));
	_cleanup_free_ bool *plan_is_dir = calloc(plan->n_mounts + 1, sizeof(bool));
	_cleanup_free_ bool *plan_skip = calloc(plan->n_mounts + 1, sizeof(bool));
	_cleanup_free_ int *sealed = calloc(plan->n_mounts + 1, sizeof(int)); /* + the state */
	if (!binds || !is_dir || !plan_mnts || !plan_is_dir || !plan_skip || !sealed)
		return -ENOMEM;
	for (size_t i = 0; i < cfg->n_binds; i++)
		binds[i] = -1;
	for (size_t i = 0; i < plan->n_mounts; i++)
		plan_mnts[i] = -1;
	v.bind_mnts = binds;
	v.bind_is_dir = is_dir;
	v.plan_mnts = plan_mnts;
	v.plan_is_dir = plan_is_dir;
	v.plan_skip = plan_skip;
	v.sealed = sealed;
	int r = build(&v, overlay_fd);
	for (size_t i = 0; i < N_DEV; i++)
		closep(&v.dev_mnts[i]);
	for (size_t i = 0; i < cfg->n_binds; i++)
		closep(&binds[i]);
	for (size_t i = 0; i < plan->n_mounts; i++)
		closep(&plan_mnts[i]);
	for (size_t i = 0; i < v.n_sealed; i++)
		closep(&sealed[i]);
	closep(&v.empty_file);
	closep(&v.root_mnt);
	closep(&v.rootfd);
	return r;
}
