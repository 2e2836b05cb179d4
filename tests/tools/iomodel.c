/* iomodel: random file I/O, every result checked against an in-memory model of each file's
 * bytes. The optimisations of the daemon (page-cache reuse, long attribute timeouts,
 * write-behind, metadata-only copy-up, deferred copies, spliced reads) each change where a
 * byte can come from; this is the test that a byte never comes from the wrong place.
 *
 *   iomodel init SEED TOP BOTTOM    write the starting files into two lower layers
 *   iomodel run SEED OPS DIR [--expect OUTDIR] [--corrupt-at N] [--pause-at N]
 *
 * run works on DIR (a mount of those layers, or a plain copy of them): it keeps up to three
 * open files per object (one opened read-only before anything was written, so it must follow
 * the copy-up), and mixes pwrite, append, pread, mmap reads and shared writable mmap writes,
 * O_DIRECT reads, truncation, fallocate, copy_file_range, fsync, dropping the clean page
 * cache, chmod and utimes (metadata-only copy-ups), rename swaps with the files open,
 * reopening, and now and then a 9-12 MiB stream of sequential writes. Every read is compared
 * at once; at the end every file is read whole through a fresh open, and --expect writes the
 * model's bytes out for the test to compare after a remount. --corrupt-at changes one byte
 * behind the model's back, to show that a difference is caught; --pause-at sleeps 3 s before
 * op N. Exit 0 when all matched, 1 with the first difference (seed, op, offset,
 * expected and found byte, and the last ops that touched the file). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/falloc.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#define NOBJ 6
#define NSLOT 3
/* Files stay under 4 MiB, but object 1 may grow to 24 MiB: the daemon hands a sequential
 * run of writes to the disk in 8 MiB steps (write-behind), and only a stream reaches that. */
#define MAX_SIZE (4L << 20)
#define STREAM_OBJ 1
#define STREAM_MAX_SIZE (24L << 20)
#define PAGE 4096L

/* The starting files: which lower layer holds them and how (see init). */
static const char *const names[NOBJ] = { "f0", "f1", "f2", "f3", "f4", "f5" };

struct obj {
	unsigned char *data;
	long size;
};

struct slot {
	int fd; /* -1: closed */
	int flags;
	long opened_at; /* op number; -1 before the first op */
};

enum op_kind {
	OP_WRITE, OP_APPEND, OP_READ, OP_MAPREAD, OP_MAPWRITE, OP_DIRECT_READ, OP_TRUNCATE,
	OP_FALLOCATE, OP_COPY_RANGE, OP_FSYNC, OP_DROP_CACHE, OP_FRESH_READ, OP_STAT, OP_CHMOD,
	OP_UTIMES, OP_RENAME_SWAP, OP_REOPEN, OP_STREAM, OP_KINDS
};
static const char *const op_names[OP_KINDS] = {
	"write", "append", "read", "mmap-read", "mmap-write", "direct-read", "truncate",
	"fallocate", "copy_file_range", "fsync", "drop-cache", "fresh-read", "stat", "chmod",
	"utimes", "rename-swap", "reopen", "stream"
};
/* How often each op is picked, out of the sum (a stream writes 9-12 MiB: about 6 per 3,000
 * ops). */
static const int op_weight[OP_KINDS] = { 84, 24, 84, 30, 30, 18, 30, 24, 24, 18, 24, 18, 18,
					 12, 12, 12, 36, 1 };

struct logged_op {
	enum op_kind kind;
	int obj, obj2, slot;
	long off, len, arg;
};

static struct obj objs[NOBJ];
static int name_obj[NOBJ]; /* which object each name holds now (rename swaps move them) */
static struct slot slots[NOBJ][NSLOT];
static struct logged_op *oplog;
static long cur_op = -1;
static uint64_t seed_used;
static const char *dir;
static bool direct_ok = true;
static bool falloc_mode_ok[5] = { true, true, true, true, true };
static long op_count[OP_KINDS]; /* ops that ran */
static bool skipped; /* the current op did nothing (left out, or an empty file to map) */

/* xorshift64*: the same seed gives the same files and the same ops anywhere. */
static uint64_t rng_state;
static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}
static long rnd_below(long n)
{
	return n <= 0 ? 0 : (long)(rnd() % (uint64_t)n);
}
/* Lengths mostly small, sometimes large: most bugs live at page edges and in big copies. */
static long rnd_len(void)
{
	switch (rnd_below(8)) {
	case 0: return 1 + rnd_below(16);
	case 1: return PAGE - 2 + rnd_below(5);
	case 2: return 1 + rnd_below(256 << 10);
	case 3: return 1 + rnd_below(1 << 20);
	default: return 1 + rnd_below(16 << 10);
	}
}

static void describe(const struct logged_op *o, long n, char *buf, size_t len)
{
	snprintf(buf, len, "op %ld: %s on object %d", n, op_names[o->kind], o->obj);
	size_t used = strlen(buf);
	if (o->slot >= 0)
		used += snprintf(buf + used, len - used, " slot %d", o->slot);
	if (o->kind != OP_FSYNC && o->kind != OP_DROP_CACHE && o->kind != OP_STAT &&
	    o->kind != OP_FRESH_READ && o->kind != OP_CHMOD && o->kind != OP_UTIMES &&
	    o->kind != OP_RENAME_SWAP)
		used += snprintf(buf + used, len - used, " off %ld len %ld", o->off, o->len);
	if (o->kind == OP_COPY_RANGE || o->kind == OP_RENAME_SWAP)
		used += snprintf(buf + used, len - used, " with object %d", o->obj2);
	if (o->kind == OP_FALLOCATE || o->kind == OP_REOPEN || o->kind == OP_COPY_RANGE)
		snprintf(buf + used, len - used, " arg %#lx", o->arg);
}

/* The last ops that touched OBJ, most recent last. */
static void print_history(int obj)
{
	long found[12], n = 0;
	for (long i = cur_op; i >= 0 && n < 12; i--)
		if (oplog[i].obj == obj || oplog[i].obj2 == obj)
			found[n++] = i;
	fprintf(stderr, "iomodel: the last %ld ops on object %d:\n", n, obj);
	char buf[256];
	for (long i = n - 1; i >= 0; i--) {
		describe(&oplog[found[i]], found[i], buf, sizeof(buf));
		fprintf(stderr, "iomodel:   %s\n", buf);
	}
}

static _Noreturn void fail_obj(int obj, const char *fmt, ...)
{
	char buf[256] = "before the first op";
	if (cur_op >= 0)
		describe(&oplog[cur_op], cur_op, buf, sizeof(buf));
	fprintf(stderr, "iomodel: FAIL (seed %" PRIu64 ", %s): ", seed_used, buf);
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	/* Which handle read it matters most: one opened before the copy-up (op -1), or after. */
	if (obj >= 0 && cur_op >= 0 && oplog[cur_op].slot >= 0) {
		const struct slot *sl = &slots[obj][oplog[cur_op].slot];
		fprintf(stderr, "iomodel: slot %d: flags %#o, opened at op %ld\n", oplog[cur_op].slot,
			sl->flags, sl->opened_at);
	}
	if (obj >= 0)
		print_history(obj);
	exit(1);
}

static _Noreturn void fail_errno(int obj, const char *call)
{
	fail_obj(obj, "%s: %s", call, strerror(errno));
}

/* Where NAME is, relative to the working directory (run chdirs into DIR). */
static const char *name_of(int obj)
{
	for (int i = 0; i < NOBJ; i++)
		if (name_obj[i] == obj)
			return names[i];
	return "?";
}

static void model_resize(struct obj *o, long size)
{
	if (size > o->size)
		memset(o->data + o->size, 0, (size_t)(size - o->size));
	o->size = size;
}

static void model_write(struct obj *o, long off, const unsigned char *buf, long len)
{
	if (len == 0)
		return; /* a write of nothing (a copy from past the end) leaves the size alone */
	if (off > o->size)
		model_resize(o, off);
	memcpy(o->data + off, buf, (size_t)len);
	if (off + len > o->size)
		o->size = off + len;
}

/* Compare N bytes read at OFF with the model; on a difference report the first byte. */
static void check_bytes(int obj, const unsigned char *got, long off, long n, const char *how)
{
	if (n == 0)
		return;
	const unsigned char *want = objs[obj].data + off;
	if (memcmp(got, want, (size_t)n) == 0)
		return;
	long i = 0;
	while (got[i] == want[i])
		i++;
	long j = i;
	while (j < n && got[j] != want[j])
		j++;
	fail_obj(obj,
		 "%s of %s (object %d): byte %ld is 0x%02x, expected 0x%02x (%ld differing bytes from there)",
		 how, name_of(obj), obj, off + i, got[i], want[i], j - i);
}

/* Data of op N: recognisable in a hex dump, different for every op and offset. */
static void fill(unsigned char *buf, long len, long off)
{
	for (long i = 0; i < len; i++)
		buf[i] = (unsigned char)((cur_op * 13 + (off + i) / 7) ^ ((off + i) >> 9));
	if (len > 0)
		buf[0] = (unsigned char)(cur_op | 1);
}

static bool readable(int flags)
{
	return (flags & O_ACCMODE) != O_WRONLY;
}
static bool writable(int flags)
{
	return (flags & O_ACCMODE) != O_RDONLY;
}

static void slot_open(int obj, int s, int flags)
{
	if (slots[obj][s].fd >= 0)
		close(slots[obj][s].fd);
	int fd = open(name_of(obj), flags | O_CLOEXEC, 0644);
	if (fd < 0)
		fail_errno(obj, "open");
	if (flags & O_TRUNC)
		objs[obj].size = 0;
	slots[obj][s] = (struct slot){ fd, flags, cur_op };
}

/* A slot of OBJ that can read (WANT_WRITE false) or write; opened if there is none. Write
 * slots never have O_APPEND here: appends have their own op. */
static int slot_for(int obj, bool want_write)
{
	int start = (int)rnd_below(NSLOT);
	for (int k = 0; k < NSLOT; k++) {
		int s = (start + k) % NSLOT;
		struct slot *sl = &slots[obj][s];
		if (sl->fd < 0 || (sl->flags & O_APPEND))
			continue;
		if (want_write ? writable(sl->flags) : readable(sl->flags))
			return s;
	}
	/* Never the last slot: it holds the read-only handle opened before the first op, which
	 * must live on through the copy-up. */
	int s = (int)rnd_below(NSLOT - 1);
	slot_open(obj, s, want_write ? O_RDWR : O_RDONLY);
	return s;
}

static void pread_all(int obj, int fd, unsigned char *buf, long off, long len, long *got)
{
	long done = 0;
	while (done < len) {
		ssize_t n = pread(fd, buf + done, (size_t)(len - done), off + done);
		if (n < 0)
			fail_errno(obj, "pread");
		if (n == 0)
			break;
		done += n;
	}
	*got = done;
}

static long expect_len(int obj, long off, long len)
{
	long avail = objs[obj].size - off;
	return avail <= 0 ? 0 : (avail < len ? avail : len);
}

static void check_read(int obj, int fd, long off, long len, const char *how)
{
	unsigned char *buf = malloc((size_t)len + 1);
	long got;
	pread_all(obj, fd, buf, off, len, &got);
	long want = expect_len(obj, off, len);
	if (got != want)
		fail_obj(obj, "%s of %s at %ld: %ld bytes, expected %ld (model size %ld)", how,
			 name_of(obj), off, got, want, objs[obj].size);
	check_bytes(obj, buf, off, got, how);
	free(buf);
}

static void check_size(int obj, int fd, const char *how)
{
	struct stat st;
	if ((fd >= 0 ? fstat(fd, &st) : stat(name_of(obj), &st)) < 0)
		fail_errno(obj, how);
	if (st.st_size != objs[obj].size)
		fail_obj(obj, "%s of %s: size %lld, expected %ld", how, name_of(obj),
			 (long long)st.st_size, objs[obj].size);
}

static long pick_off(int obj)
{
	long size = objs[obj].size;
	switch (rnd_below(4)) {
	case 0: return rnd_below(size + 1) & ~(PAGE - 1);
	case 1: return size > 0 ? size - 1 - rnd_below(size < PAGE ? size : PAGE) : 0;
	default: return rnd_below(size + (64 << 10));
	}
}

static long cap_of(int obj)
{
	return obj == STREAM_OBJ ? STREAM_MAX_SIZE : MAX_SIZE;
}

static long clamp_len(int obj, long off, long len)
{
	return off + len > cap_of(obj) ? cap_of(obj) - off : len;
}

static void do_write(struct logged_op *o, bool append)
{
	int obj = o->obj;
	long off = pick_off(obj), len;
	int s, fd;
	if (append) {
		s = 0;
		if (slots[obj][0].fd < 0 || !(slots[obj][0].flags & O_APPEND))
			slot_open(obj, 0, (rnd_below(2) ? O_WRONLY : O_RDWR) | O_APPEND);
		off = objs[obj].size;
	} else {
		s = slot_for(obj, true);
	}
	fd = slots[obj][s].fd;
	if (append && off + (1 << 20) > cap_of(obj)) {
		/* The file is near its limit: make room first. */
		if (ftruncate(fd, 0) < 0)
			fail_errno(obj, "ftruncate");
		objs[obj].size = 0;
		off = 0;
	}
	if (off >= cap_of(obj))
		off = rnd_below(cap_of(obj) / 2);
	len = clamp_len(obj, off, rnd_len());
	o->slot = s, o->off = off, o->len = len;
	unsigned char *buf = malloc((size_t)len);
	fill(buf, len, off);
	ssize_t n = append ? write(fd, buf, (size_t)len) : pwrite(fd, buf, (size_t)len, off);
	if (n < 0)
		fail_errno(obj, append ? "write" : "pwrite");
	if (n != len)
		fail_obj(obj, "short write: %zd of %ld bytes", n, len);
	model_write(&objs[obj], off, buf, len);
	free(buf);
}

static void do_read(struct logged_op *o)
{
	int s = slot_for(o->obj, false);
	o->slot = s, o->off = pick_off(o->obj), o->len = rnd_len();
	check_read(o->obj, slots[o->obj][s].fd, o->off, o->len, "pread");
}

static void do_map(struct logged_op *o, bool write)
{
	int obj = o->obj;
	long size = objs[obj].size;
	if (size == 0) {
		skipped = true;
		return;
	}
	int s = write ? -1 : slot_for(obj, false);
	if (write) {
		/* A shared writable mapping needs a read-write fd. */
		for (int k = 1; k < NSLOT && s < 0; k++)
			if (slots[obj][k].fd >= 0 && (slots[obj][k].flags & O_ACCMODE) == O_RDWR &&
			    !(slots[obj][k].flags & O_APPEND))
				s = k;
		if (s < 0) {
			s = 1;
			slot_open(obj, s, O_RDWR);
			size = objs[obj].size;
		}
	}
	long off = rnd_below(size), len = 1 + rnd_below(size - off);
	if (len > (1 << 20))
		len = 1 + rnd_below(1 << 20);
	o->slot = s, o->off = off, o->len = len, o->arg = write ? rnd_below(2) : 0;
	long start = off & ~(PAGE - 1);
	size_t maplen = (size_t)(off + len - start);
	unsigned char *m = mmap(NULL, maplen, write ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED,
				slots[obj][s].fd, start);
	if (m == MAP_FAILED)
		fail_errno(obj, "mmap");
	if (write) {
		unsigned char *buf = malloc((size_t)len);
		fill(buf, len, off);
		memcpy(m + (off - start), buf, (size_t)len);
		model_write(&objs[obj], off, buf, len);
		free(buf);
		/* Half the time the pages are written out now, half the time at munmap/close. */
		if (o->arg && msync(m, maplen, MS_SYNC) < 0)
			fail_errno(obj, "msync");
	} else {
		check_bytes(obj, m + (off - start), off, len, "mmap read");
	}
	munmap(m, maplen);
}

static void do_direct_read(struct logged_op *o)
{
	if (!direct_ok) {
		skipped = true;
		return;
	}
	int obj = o->obj;
	int fd = open(name_of(obj), O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (fd < 0 && errno == EINVAL) {
		fprintf(stderr, "iomodel: left out: direct reads (O_DIRECT refused with EINVAL)\n");
		direct_ok = false;
		skipped = true;
		return;
	}
	if (fd < 0)
		fail_errno(obj, "open(O_DIRECT)");
	o->off = rnd_below(objs[obj].size + PAGE) & ~(PAGE - 1);
	o->len = (1 + rnd_below(256)) * PAGE;
	void *buf;
	if (posix_memalign(&buf, PAGE, (size_t)o->len))
		fail_obj(obj, "out of memory");
	long got;
	pread_all(obj, fd, buf, o->off, o->len, &got);
	long want = expect_len(obj, o->off, o->len);
	if (got != want)
		fail_obj(obj, "O_DIRECT read of %s at %ld: %ld bytes, expected %ld", name_of(obj),
			 o->off, got, want);
	check_bytes(obj, buf, o->off, got, "O_DIRECT read");
	free(buf);
	close(fd);
}

static void do_truncate(struct logged_op *o)
{
	int obj = o->obj;
	long size = objs[obj].size;
	long to = rnd_below(2) ? rnd_below(size + 1) : size + rnd_below(256 << 10);
	if (to > cap_of(obj))
		to = cap_of(obj);
	o->off = to, o->len = 0;
	if (rnd_below(2)) {
		int s = slot_for(obj, true);
		o->slot = s;
		if (ftruncate(slots[obj][s].fd, to) < 0)
			fail_errno(obj, "ftruncate");
	} else if (truncate(name_of(obj), to) < 0) {
		fail_errno(obj, "truncate");
	}
	model_resize(&objs[obj], to);
}

static const int falloc_modes[5] = {
	0, FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, FALLOC_FL_ZERO_RANGE,
	FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE
};

static void do_fallocate(struct logged_op *o)
{
	int obj = o->obj, m = (int)rnd_below(5);
	if (!falloc_mode_ok[m]) {
		skipped = true;
		return;
	}
	int s = slot_for(obj, true);
	long off = pick_off(obj), len = rnd_len();
	if (off >= cap_of(obj))
		off = rnd_below(cap_of(obj) / 2);
	len = clamp_len(obj, off, len);
	o->slot = s, o->off = off, o->len = len, o->arg = falloc_modes[m];
	if (fallocate(slots[obj][s].fd, falloc_modes[m], off, len) < 0) {
		if (errno == EOPNOTSUPP) {
			fprintf(stderr, "iomodel: left out: fallocate mode %#x (EOPNOTSUPP)\n",
				falloc_modes[m]);
			falloc_mode_ok[m] = false;
			skipped = true;
			return;
		}
		fail_errno(obj, "fallocate");
	}
	struct obj *ob = &objs[obj];
	bool keep = falloc_modes[m] & FALLOC_FL_KEEP_SIZE;
	long end = off + len;
	if (falloc_modes[m] & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)) {
		long zend = keep && end > ob->size ? ob->size : end;
		if (!keep && end > ob->size)
			model_resize(ob, end);
		if (off < zend)
			memset(ob->data + off, 0, (size_t)(zend - off));
	} else if (!keep && end > ob->size) {
		model_resize(ob, end);
	}
}

static void do_copy_range(struct logged_op *o)
{
	int src = o->obj, dst = o->obj2;
	int ss = slot_for(src, false), ds = slot_for(dst, true);
	long in = pick_off(src), out = pick_off(dst), len = rnd_len();
	if (out >= cap_of(dst))
		out = rnd_below(cap_of(dst) / 2);
	len = clamp_len(dst, out, len);
	o->slot = ds, o->off = out, o->len = len, o->arg = in;
	long want = expect_len(src, in, len), done = 0;
	while (done < want) {
		loff_t i = in + done, u = out + done;
		ssize_t n = copy_file_range(slots[src][ss].fd, &i, slots[dst][ds].fd, &u,
					    (size_t)(want - done), 0);
		if (n < 0)
			fail_errno(dst, "copy_file_range");
		if (n == 0)
			fail_obj(dst, "copy_file_range stopped after %ld of %ld bytes", done, want);
		done += n;
	}
	if (want > 0)
		model_write(&objs[dst], out, objs[src].data + in, want);
}

static void do_fsync(struct logged_op *o)
{
	int obj = o->obj, s = slot_for(obj, rnd_below(2));
	o->slot = s, o->arg = rnd_below(2);
	if ((o->arg ? fdatasync(slots[obj][s].fd) : fsync(slots[obj][s].fd)) < 0)
		fail_errno(obj, o->arg ? "fdatasync" : "fsync");
}

/* Dropped clean pages must come back from the daemon as they were. */
static void do_drop_cache(struct logged_op *o)
{
	int obj = o->obj, s = slot_for(obj, false);
	o->slot = s;
	int e = posix_fadvise(slots[obj][s].fd, 0, 0, POSIX_FADV_DONTNEED);
	if (e)
		errno = e, fail_errno(obj, "posix_fadvise(DONTNEED)");
}

static void do_fresh_read(int obj, const char *how)
{
	int fd = open(name_of(obj), O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fail_errno(obj, "open");
	check_size(obj, fd, how);
	check_read(obj, fd, 0, objs[obj].size + PAGE, how);
	close(fd);
}

static void do_stat(struct logged_op *o)
{
	check_size(o->obj, -1, "stat");
	for (int s = 0; s < NSLOT; s++)
		if (slots[o->obj][s].fd >= 0)
			check_size(o->obj, slots[o->obj][s].fd, "fstat");
}

static void do_chmod(struct logged_op *o)
{
	static const mode_t modes[] = { 0644, 0664, 0600, 0640 };
	o->arg = modes[rnd_below(4)];
	if (chmod(name_of(o->obj), (mode_t)o->arg) < 0)
		fail_errno(o->obj, "chmod");
}

static void do_utimes(struct logged_op *o)
{
	/* Without the writeback cache, pages dirtied through a mapping and written out after the
	 * utimes would set the upper file's mtime to the time of that write: flush them first. */
	int fd = open(name_of(o->obj), O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0)
		fail_errno(o->obj, "fsync before utimes");
	close(fd);
	struct timespec ts[2] = { { 1000000000 + rnd_below(1000000), rnd_below(1000000000) },
				  { 1000000000 + rnd_below(1000000), rnd_below(1000000000) } };
	if (utimensat(AT_FDCWD, name_of(o->obj), ts, 0) < 0)
		fail_errno(o->obj, "utimensat");
	struct stat st;
	if (stat(name_of(o->obj), &st) < 0)
		fail_errno(o->obj, "stat");
	if (st.st_mtim.tv_sec != ts[1].tv_sec || st.st_mtim.tv_nsec != ts[1].tv_nsec)
		fail_obj(o->obj, "mtime of %s is %lld.%09ld after setting %lld.%09ld", name_of(o->obj),
			 (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec, (long long)ts[1].tv_sec,
			 ts[1].tv_nsec);
}

/* Swap the names of two objects while they stay open: open files follow their object. */
static void do_rename_swap(struct logged_op *o)
{
	int a = o->obj, b = o->obj2;
	char na[8], nb[8];
	snprintf(na, sizeof(na), "%s", name_of(a));
	snprintf(nb, sizeof(nb), "%s", name_of(b));
	if (rename(na, "swap.tmp") < 0 || rename(nb, na) < 0 || rename("swap.tmp", nb) < 0)
		fail_errno(a, "rename");
	for (int i = 0; i < NOBJ; i++)
		name_obj[i] = name_obj[i] == a ? b : name_obj[i] == b ? a : name_obj[i];
}

static void do_reopen(struct logged_op *o)
{
	static const int flags[] = { O_RDONLY, O_RDWR, O_WRONLY, O_RDWR | O_APPEND, O_RDWR | O_TRUNC };
	/* Truncating opens are rarer: they empty the file. */
	int f = (int)rnd_below(rnd_below(8) == 0 ? 5 : 4);
	int s = (int)rnd_below(NSLOT);
	o->slot = s, o->arg = flags[f];
	if (rnd_below(4) == 0 && slots[o->obj][s].fd >= 0) {
		close(slots[o->obj][s].fd);
		slots[o->obj][s].fd = -1;
		return;
	}
	slot_open(o->obj, s, flags[f]);
}

/* Sequential 1 MiB writes of 9-12 MiB to object 1, from its end or from the start: enough
 * for the daemon's write-behind to hand a run to the disk (8 MiB) while the file is open. */
static void do_stream(struct logged_op *o)
{
	int obj = o->obj = STREAM_OBJ, s = slot_for(obj, true);
	long off = rnd_below(2) ? objs[obj].size : 0, len = (9 + rnd_below(4)) << 20;
	if (off + len > cap_of(obj))
		off = 0;
	o->slot = s, o->off = off, o->len = len;
	unsigned char *buf = malloc(1 << 20);
	for (long done = 0; done < len; done += 1 << 20) {
		fill(buf, 1 << 20, off + done);
		ssize_t n = pwrite(slots[obj][s].fd, buf, 1 << 20, off + done);
		if (n < 0)
			fail_errno(obj, "pwrite (stream)");
		if (n != 1 << 20)
			fail_obj(obj, "short write in a stream: %zd of %d bytes", n, 1 << 20);
		model_write(&objs[obj], off + done, buf, 1 << 20);
	}
	free(buf);
}

static enum op_kind pick_kind(void)
{
	int total = 0;
	for (int k = 0; k < OP_KINDS; k++)
		total += op_weight[k];
	long r = rnd_below(total);
	for (int k = 0; k < OP_KINDS; k++)
		if ((r -= op_weight[k]) < 0)
			return (enum op_kind)k;
	return OP_READ;
}

/* The starting bytes of each object, from the seed (init writes them, run models them). */
static void starting_files(uint64_t seed, bool write_them, const char *top, const char *bottom)
{
	rng_state = seed * 0x9E3779B97F4A7C15ULL + 1;
	/* f0 small in top; f1 1.5 MiB in bottom (big enough for a deferred copy); f2 sparse in
	 * bottom; f3 empty in top; f4 not in any layer (run creates it); f5 in top, shadowing
	 * a different f5 in bottom. */
	static const long sizes[NOBJ] = { 3001, 3 << 19, 2 << 20, 0, 0, 64 << 10 };
	for (int i = 0; i < NOBJ; i++) {
		struct obj *o = &objs[i];
		o->data = calloc((size_t)cap_of(i), 1);
		if (!o->data) {
			fprintf(stderr, "iomodel: out of memory\n");
			exit(2);
		}
		o->size = sizes[i];
		for (long b = 0; b < o->size; b++)
			o->data[b] = (unsigned char)rnd();
		if (i == 2) { /* data at 0-4 KiB and 1 MiB-1 MiB+8 KiB only */
			memset(o->data + PAGE, 0, (size_t)((1 << 20) - PAGE));
			memset(o->data + (1 << 20) + 2 * PAGE, 0, (size_t)(o->size - (1 << 20) - 2 * PAGE));
		}
		if (!write_them || i == 4)
			continue;
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", i == 1 || i == 2 ? bottom : top, names[i]);
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0 || ftruncate(fd, o->size) < 0) {
			fprintf(stderr, "iomodel: %s: %s\n", path, strerror(errno));
			exit(2);
		}
		for (long b = 0; b < o->size; b += PAGE) {
			long n = o->size - b < PAGE ? o->size - b : PAGE;
			static const unsigned char zero[PAGE];
			if (i == 2 && !memcmp(o->data + b, zero, (size_t)n))
				continue; /* a hole */
			if (pwrite(fd, o->data + b, (size_t)n, b) != n) {
				fprintf(stderr, "iomodel: %s: %s\n", path, strerror(errno));
				exit(2);
			}
		}
		close(fd);
	}
	if (write_them) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/f5", bottom);
		FILE *f = fopen(path, "w");
		if (!f || fputs("the bottom layer's f5: must stay hidden\n", f) < 0 || fclose(f)) {
			fprintf(stderr, "iomodel: %s: %s\n", path, strerror(errno));
			exit(2);
		}
	}
}

static void write_expect(const char *out)
{
	for (int i = 0; i < NOBJ; i++) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", out, names[i]);
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		struct obj *o = &objs[name_obj[i]];
		if (fd < 0 || write(fd, o->data, (size_t)o->size) != o->size || close(fd) < 0) {
			fprintf(stderr, "iomodel: %s: %s\n", path, strerror(errno));
			exit(2);
		}
	}
}

static void corrupt_one_byte(void)
{
	int obj = -1;
	for (int i = 0; i < NOBJ && obj < 0; i++)
		if (objs[i].size > 0)
			obj = i;
	if (obj < 0)
		return;
	/* Chosen without the op stream's generator, so the ops after it are those of the clean run. */
	long off = (long)((seed_used * 2654435761ULL + 977) % (uint64_t)objs[obj].size);
	unsigned char c = (unsigned char)(objs[obj].data[off] ^ 0x5a);
	int fd = open(name_of(obj), O_WRONLY | O_CLOEXEC);
	if (fd < 0 || pwrite(fd, &c, 1, off) != 1)
		fail_errno(obj, "corrupting write");
	close(fd);
	fprintf(stderr, "iomodel: changed byte %ld of object %d behind the model's back\n", off, obj);
}

static int usage(void)
{
	fprintf(stderr, "usage: iomodel init SEED TOPDIR BOTTOMDIR\n"
			"       iomodel run SEED OPS DIR [--expect OUTDIR] [--corrupt-at N] [--pause-at N]\n");
	return 2;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "init")) {
		starting_files(strtoull(argv[2], NULL, 0), true, argv[3], argv[4]);
		return 0;
	}
	if (argc < 5 || strcmp(argv[1], "run"))
		return usage();
	seed_used = strtoull(argv[2], NULL, 0);
	long ops = strtol(argv[3], NULL, 0), corrupt_at = -1, pause_at = -1;
	const char *expect = NULL;
	dir = argv[4];
	for (int i = 5; i < argc; i++) {
		if (!strcmp(argv[i], "--expect") && i + 1 < argc)
			expect = argv[++i];
		else if (!strcmp(argv[i], "--corrupt-at") && i + 1 < argc)
			corrupt_at = strtol(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--pause-at") && i + 1 < argc)
			pause_at = strtol(argv[++i], NULL, 0);
		else
			return usage();
	}
	starting_files(seed_used, false, NULL, NULL);
	rng_state = seed_used ^ 0xD1B54A32D192ED03ULL;
	if (chdir(dir) < 0) {
		fprintf(stderr, "iomodel: %s: %s\n", dir, strerror(errno));
		return 2;
	}
	oplog = calloc((size_t)ops + 1, sizeof(*oplog));
	for (int i = 0; i < NOBJ; i++) {
		name_obj[i] = i;
		for (int s = 0; s < NSLOT; s++)
			slots[i][s].fd = -1;
	}
	/* f4 is new; every object gets a read-only open before anything is written. */
	int fd = open("f4", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		fail_errno(4, "create f4");
	close(fd);
	for (int i = 0; i < NOBJ; i++) {
		do_fresh_read(i, "first read");
		slot_open(i, NSLOT - 1, O_RDONLY);
	}
	for (cur_op = 0; cur_op < ops; cur_op++) {
		struct logged_op *o = &oplog[cur_op];
		*o = (struct logged_op){ pick_kind(), (int)rnd_below(NOBJ), -1, -1, 0, 0, 0 };
		o->obj2 = (o->obj + 1 + (int)rnd_below(NOBJ - 1)) % NOBJ;
		if (o->kind != OP_COPY_RANGE && o->kind != OP_RENAME_SWAP)
			o->obj2 = -1;
		if (cur_op == corrupt_at)
			corrupt_one_byte();
		/* Long enough for the daemon to close idle write fds (2 s, writefds.h) while the
		 * files stay open here. */
		if (cur_op == pause_at)
			sleep(3);
		switch (o->kind) {
		case OP_WRITE: do_write(o, false); break;
		case OP_APPEND: do_write(o, true); break;
		case OP_READ: do_read(o); break;
		case OP_MAPREAD: do_map(o, false); break;
		case OP_MAPWRITE: do_map(o, true); break;
		case OP_DIRECT_READ: do_direct_read(o); break;
		case OP_TRUNCATE: do_truncate(o); break;
		case OP_FALLOCATE: do_fallocate(o); break;
		case OP_COPY_RANGE: do_copy_range(o); break;
		case OP_FSYNC: do_fsync(o); break;
		case OP_DROP_CACHE: do_drop_cache(o); break;
		case OP_FRESH_READ: do_fresh_read(o->obj, "read through a fresh open"); break;
		case OP_STAT: do_stat(o); break;
		case OP_CHMOD: do_chmod(o); break;
		case OP_UTIMES: do_utimes(o); break;
		case OP_RENAME_SWAP: do_rename_swap(o); break;
		case OP_REOPEN: do_reopen(o); break;
		case OP_STREAM: do_stream(o); break;
		case OP_KINDS: break;
		}
		if (!skipped)
			op_count[o->kind]++;
		skipped = false;
	}
	cur_op = ops - 1;
	for (int i = 0; i < NOBJ; i++) {
		/* Every handle still open sees the final bytes, then a fresh open does. */
		for (int s = 0; s < NSLOT; s++)
			if (slots[i][s].fd >= 0 && readable(slots[i][s].flags))
				check_read(i, slots[i][s].fd, 0, objs[i].size + PAGE, "final read through a handle");
		do_fresh_read(i, "final read");
	}
	for (int i = 0; i < NOBJ; i++)
		for (int s = 0; s < NSLOT; s++)
			if (slots[i][s].fd >= 0 && close(slots[i][s].fd) < 0)
				fail_errno(i, "close");
	if (expect)
		write_expect(expect);
	fprintf(stderr, "iomodel: seed %" PRIu64 ", %ld ops in %s: all reads matched (", seed_used,
		ops, dir);
	for (int k = 0; k < OP_KINDS; k++)
		fprintf(stderr, "%s%s %ld", k ? ", " : "", op_names[k], op_count[k]);
	fprintf(stderr, ")\n");
	return 0;
}
