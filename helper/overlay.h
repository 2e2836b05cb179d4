/* The project overlay as the sandbox sets it up: /dev/fuse opened inside the user namespace,
 * a detached FUSE mount on it, and antares-overlayd serving that fd from outside the
 * sandbox's pid namespace. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

struct overlay_layers {
	int lower_fds[64]; /* topmost first: --lower layers, then the project */
	size_t n_lower;
	int upper_fd, work_fd;
};

/* Locate antares-overlayd: $ANTARES_OVERLAYD, beside this program, the build tree's
 * ../daemon, the install directory, then $PATH. Returns a static path or NULL. */
const char *overlay_find_daemon(void);

/* open("/dev/fuse") with the likely fix logged on failure. Returns the fd or -errno. */
int overlay_open_fuse(void);

/* Create the detached FUSE mount for FUSE_FD, owned by UID/GID inside. Returns mount fd. */
int overlay_mount_fuse(int fuse_fd, uid_t uid, gid_t gid);

/* Start DAEMON on FUSE_FD with LAYERS (each passed as /proc/self/fd/N, so the daemon serves
 * exactly the directories opened here). The daemon gets SIGTERM if we die. */
int overlay_start_daemon(const char *daemon, int fuse_fd, const struct overlay_layers *layers,
			 bool verbose, pid_t *ret_pid);

/* Block until the daemon answers on mount MNT_FD (or fails: then -errno, logged). */
int overlay_wait_ready(int mnt_fd, pid_t daemon);
