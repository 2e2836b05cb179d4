/* mountwait PATH PID TIMEOUT_MS: return as soon as PATH is a mount point that answers, i.e.
 * stat(PATH) succeeds and reports another st_dev than PATH's parent. The caller takes the time
 * before exec'ing the daemon and after this returns, which gives "mount to ready". Polls every
 * 200 us so the measured time is not rounded up by the poll interval; exits early if daemon PID
 * has died (0 = don't check).
 * Exit status: 0 ready, 1 timeout, 2 daemon gone. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A daemon that exited is a zombie until the shell reaps it: kill(pid, 0) would still succeed,
 * so read its state from /proc. */
static int dead(long pid)
{
	char buf[512], path[64];
	snprintf(path, sizeof path, "/proc/%ld/stat", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 1;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	return !p || p[1] == 0 || p[2] == 'Z' || p[2] == 'X';
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: mountwait PATH PID TIMEOUT_MS\n");
		return 3;
	}
	char parent[4096];
	snprintf(parent, sizeof parent, "%s/..", argv[1]);
	struct stat pst, st;
	if (stat(parent, &pst) != 0) {
		perror("mountwait: parent");
		return 3;
	}
	long pid = atol(argv[2]);
	long timeout_us = atol(argv[3]) * 1000L;
	const struct timespec nap = { 0, 200 * 1000 };
	for (long waited = 0; waited < timeout_us; waited += 200) {
		if (stat(argv[1], &st) == 0 && st.st_dev != pst.st_dev)
			return 0;
		if (pid > 0 && dead(pid))
			return 2;
		nanosleep(&nap, NULL);
	}
	return 1;
}
