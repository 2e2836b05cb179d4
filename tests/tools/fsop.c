/* fsop: small filesystem probes the shell tests can't express: renameat2 flags, lock
 * conflicts across processes, shared writable mmap, O_TMPFILE, SEEK_DATA/SEEK_HOLE,
 * copy_file_range, fallocate and a file's page-cache state. Prints what failed with its
 * errno; exit 0 on success. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int die(const char *what)
{
	fprintf(stderr, "fsop: %s: %s\n", what, strerror(errno));
	return 1;
}

static int cmd_rename(int argc, char **argv)
{
	unsigned flags = 0;
	if (argc > 4 && !strcmp(argv[4], "noreplace"))
		flags = RENAME_NOREPLACE;
	else if (argc > 4 && !strcmp(argv[4], "exchange"))
		flags = RENAME_EXCHANGE;
	if (renameat2(AT_FDCWD, argv[2], AT_FDCWD, argv[3], flags) < 0) {
		printf("%s\n", strerrorname_np(errno));
		return 1;
	}
	printf("OK\n");
	return 0;
}

/* Child tries to take a conflicting lock of each kind; it must be refused. */
static int cmd_locks(char **argv)
{
	int fd = open(argv[2], O_RDWR | O_CREAT, 0644);
	if (fd < 0)
		return die("open");
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 100 };
	if (fcntl(fd, F_SETLK, &fl) < 0)
		return die("F_SETLK");
	int ofd = open(argv[2], O_RDWR);
	struct flock ofl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 200, .l_len = 10 };
	if (ofd < 0 || fcntl(ofd, F_OFD_SETLK, &ofl) < 0)
		return die("F_OFD_SETLK");
	int ffd = open(argv[2], O_RDONLY);
	if (ffd < 0 || flock(ffd, LOCK_EX | LOCK_NB) < 0)
		return die("flock");
	pid_t pid = fork();
	if (pid == 0) {
		int cfd = open(argv[2], O_RDWR);
		struct flock c = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 50, .l_len = 1 };
		if (fcntl(cfd, F_SETLK, &c) == 0) {
			fprintf(stderr, "fsop: POSIX lock not exclusive across processes\n");
			_exit(1);
		}
		struct flock g = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1 };
		if (fcntl(cfd, F_GETLK, &g) < 0 || g.l_type != F_WRLCK || g.l_pid != getppid()) {
			fprintf(stderr, "fsop: F_GETLK does not report the holder\n");
			_exit(1);
		}
		struct flock o = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 205, .l_len = 1 };
		if (fcntl(cfd, F_OFD_SETLK, &o) == 0) {
			fprintf(stderr, "fsop: OFD lock not exclusive\n");
			_exit(1);
		}
		int cf = open(argv[2], O_RDONLY);
		if (flock(cf, LOCK_EX | LOCK_NB) == 0 || errno != EWOULDBLOCK) {
			fprintf(stderr, "fsop: flock not exclusive\n");
			_exit(1);
		}
		_exit(0);
	}
	int status;
	waitpid(pid, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		return 1;
	printf("OK\n");
	return 0;
}

/* Writes through one shared mapping must be seen by read() and by a second process's
 * mapping, and must reach the file after munmap. */
static int cmd_mmap(char **argv)
{
	const size_t len = 1 << 16;
	int fd = open(argv[2], O_RDWR | O_CREAT, 0644);
	if (fd < 0 || ftruncate(fd, (off_t)len) < 0)
		return die("open/ftruncate");
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return die("mmap");
	for (size_t i = 0; i < len; i++)
		p[i] = (char)('a' + i % 26);
	if (msync(p, len, MS_SYNC) < 0)
		return die("msync");
	pid_t pid = fork();
	if (pid == 0) {
		int cfd = open(argv[2], O_RDWR);
		char *q = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, cfd, 0);
		if (q == MAP_FAILED || q[12345] != (char)('a' + 12345 % 26))
			_exit(1);
		q[0] = 'Z'; /* the parent's mapping must see this */
		msync(q, len, MS_SYNC);
		_exit(0);
	}
	int status;
	waitpid(pid, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "fsop: second mapping did not see the first one's data\n");
		return 1;
	}
	if (p[0] != 'Z') {
		fprintf(stderr, "fsop: first mapping did not see the second one's write\n");
		return 1;
	}
	munmap(p, len);
	char buf[4];
	if (pread(fd, buf, 4, 0) != 4 || memcmp(buf, "Zbcd", 4)) {
		fprintf(stderr, "fsop: read() after munmap does not show the mapped writes\n");
		return 1;
	}
	printf("OK\n");
	return 0;
}

static int cmd_tmpfile(char **argv)
{
	int fd = open(argv[2], O_TMPFILE | O_RDWR, 0600);
	if (fd < 0) {
		printf("%s\n", strerrorname_np(errno));
		return errno == EOPNOTSUPP ? 0 : 1;
	}
	if (write(fd, "tmp\n", 4) != 4)
		return die("write");
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	char dst[4096];
	snprintf(dst, sizeof(dst), "%s/linked-tmpfile", argv[2]);
	if (linkat(AT_FDCWD, path, AT_FDCWD, dst, AT_SYMLINK_FOLLOW) < 0)
		return die("linkat");
	printf("OK\n");
	return 0;
}

/* Print the data/hole map of a file: "data A-B" lines. */
static int cmd_holes(char **argv)
{
	int fd = open(argv[2], O_RDONLY);
	if (fd < 0)
		return die("open");
	off_t size = lseek(fd, 0, SEEK_END), off = 0;
	while (off < size) {
		off_t d = lseek(fd, off, SEEK_DATA);
		if (d < 0) {
			if (errno == ENXIO)
				break;
			return die("SEEK_DATA");
		}
		off_t h = lseek(fd, d, SEEK_HOLE);
		if (h < 0)
			return die("SEEK_HOLE");
		printf("data %lld-%lld\n", (long long)d, (long long)h);
		off = h;
	}
	return 0;
}

static int cmd_cfr(char **argv)
{
	int in = open(argv[2], O_RDONLY), out = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (in < 0 || out < 0)
		return die("open");
	struct stat st;
	fstat(in, &st);
	for (off_t done = 0; done < st.st_size;) {
		ssize_t n = copy_file_range(in, NULL, out, NULL, (size_t)(st.st_size - done), 0);
		if (n <= 0)
			return die("copy_file_range");
		done += n;
	}
	printf("OK\n");
	return 0;
}

static int cmd_fallocate(char **argv)
{
	int fd = open(argv[2], O_RDWR | O_CREAT, 0644);
	if (fd < 0)
		return die("open");
	if (fallocate(fd, 0, 0, 1 << 20) < 0)
		return die("fallocate");
	struct stat st;
	fstat(fd, &st);
	if (st.st_size != 1 << 20 || st.st_blocks < 2048) {
		fprintf(stderr, "fsop: after fallocate size %lld blocks %lld\n", (long long)st.st_size,
			(long long)st.st_blocks);
		return 1;
	}
	if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 1 << 19) < 0)
		return die("fallocate(PUNCH_HOLE)");
	printf("OK\n");
	return 0;
}

#ifndef SYS_cachestat
#define SYS_cachestat 451 /* the same on every architecture; glibc 2.36 does not know it */
#endif

/* Page-cache state of file F: "CACHED DIRTY WRITEBACK" in pages (cachestat, Linux 6.5). */
static int cmd_cachestat(char **argv)
{
	struct {
		uint64_t off, len;
	} range = { 0, 0 }; /* len 0: to the end of the file */
	struct {
		uint64_t cache, dirty, writeback, evicted, recently_evicted;
	} cs;
	int fd = open(argv[2], O_RDONLY);
	if (fd < 0)
		return die("open");
	if (syscall(SYS_cachestat, fd, &range, &cs, 0) < 0)
		return die("cachestat");
	printf("%llu %llu %llu\n", (unsigned long long)cs.cache, (unsigned long long)cs.dirty,
	       (unsigned long long)cs.writeback);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 4 && !strcmp(argv[1], "rename"))
		return cmd_rename(argc, argv);
	if (argc == 3 && !strcmp(argv[1], "locks"))
		return cmd_locks(argv);
	if (argc == 3 && !strcmp(argv[1], "mmap"))
		return cmd_mmap(argv);
	if (argc == 3 && !strcmp(argv[1], "tmpfile"))
		return cmd_tmpfile(argv);
	if (argc == 3 && !strcmp(argv[1], "holes"))
		return cmd_holes(argv);
	if (argc == 4 && !strcmp(argv[1], "cfr"))
		return cmd_cfr(argv);
	if (argc == 3 && !strcmp(argv[1], "fallocate"))
		return cmd_fallocate(argv);
	if (argc == 3 && !strcmp(argv[1], "cachestat"))
		return cmd_cachestat(argv);
	fprintf(stderr, "usage: fsop rename OLD NEW [noreplace|exchange] | locks F | mmap F | "
			"tmpfile DIR | holes F | cfr SRC DST | fallocate F | cachestat F\n");
	return 2;
}
