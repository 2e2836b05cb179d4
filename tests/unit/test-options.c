/* Unit tests of the -o option parser: each case asserts the exact result or message. */
#include <stdio.h>
#include <string.h>

#include "options.h"

static int n_test, n_fail;

static void ok(int cond, const char *what)
{
	n_test++;
	if (!cond)
		n_fail++;
	printf("%s %d - %s\n", cond ? "ok" : "not ok", n_test, what);
}

static int parse(struct ovl_options *o, const char *s, char *err)
{
	ovl_options_init(o);
	err[0] = '\0';
	int r = ovl_options_parse(o, s, err, 256);
	if (r == 0)
		r = ovl_options_check(o, err, 256);
	return r;
}

int main(void)
{
	struct ovl_options o;
	char err[256];

	ok(parse(&o, "lowerdir=/a:/b,upperdir=/u,workdir=/w", err) == 0 && o.n_lower == 2 &&
		   !strcmp(o.lowerdirs[0], "/a") && !strcmp(o.lowerdirs[1], "/b") &&
		   !strcmp(o.upperdir, "/u") && !strcmp(o.workdir, "/w"),
	   "three layers parse, topmost first");
	ovl_options_free(&o);

	ok(parse(&o, "lowerdir=/x\\:y:/z\\,w", err) == 0 && o.n_lower == 2 &&
		   !strcmp(o.lowerdirs[0], "/x:y") && !strcmp(o.lowerdirs[1], "/z,w"),
	   "backslash escapes ':' and ','");
	ovl_options_free(&o);

	ok(parse(&o, "lowerdir=/a", err) == 0 && !o.upperdir, "lowerdir alone is a read-only mount");
	ovl_options_free(&o);

	ok(parse(&o, "upperdir=/u,workdir=/w", err) < 0 &&
		   !strcmp(err, "missing lowerdir=: give at least one lower directory"),
	   "missing lowerdir is refused");
	ovl_options_free(&o);

	ok(parse(&o, "lowerdir=/a,upperdir=/u", err) < 0 && strstr(err, "upperdir= needs workdir="),
	   "upperdir without workdir is refused");
	ovl_options_free(&o);

	ok(parse(&o, "lowerdir=/a,workdir=/w", err) < 0 && strstr(err, "without upperdir="),
	   "workdir without upperdir is refused");
	ovl_options_free(&o);

	ok(parse(&o, "lowerdir=/a::/b", err) < 0 && strstr(err, "empty entry"),
	   "empty lowerdir entry is refused");
	ovl_options_free(&o);

	ok(parse(&o, "lowerdir=/a,frobnicate", err) < 0 &&
		   !strcmp(err, "unknown option 'frobnicate': see antares-overlayd --help"),
	   "unknown option named in the message");
	ovl_options_free(&o);

	ok(parse(&o, "lowerdir=/a,uidmapping=0:1000:1", err) < 0 && strstr(err, "uidmapping"),
	   "unsupported fuse-overlayfs mapping option is refused, not ignored");
	ovl_options_free(&o);

	ok(parse(&o, "lowerdir=/a,timeout=2.5,fsync=0,userxattr", err) == 0 && o.timeout == 2.5 &&
		   !o.fsync && o.userxattr,
	   "timeout, fsync and userxattr are read");
	ovl_options_free(&o);

	ok(parse(&o, "lowerdir=/a,timeout=abc", err) < 0 && strstr(err, "timeout="),
	   "bad timeout is refused");
	ovl_options_free(&o);

	ok(parse(&o, "lowerdir=/a,nodev,nosuid,defaults,_netdev,x-systemd.automount,fsname=ov", err) ==
			   0 &&
		   o.fuse_opts && !strcmp(o.fuse_opts, "nodev,nosuid,fsname=ov"),
	   "generic options pass to FUSE, fstab noise is dropped");
	ovl_options_free(&o);

	ok(parse(&o, "lowerdir=/a,fast_ino=1,threaded=1,writeback=1", err) == 0 && !o.fuse_opts,
	   "fuse-overlayfs tuning options are accepted");
	ovl_options_free(&o);

	ok(parse(&o, "lowerdir=/a", err) == 0 && o.max_read == 512 * 1024 && !o.fuse_opts,
	   "max_read defaults to 512 KiB (libfuse splices its READ replies only up to that)");
	ovl_options_free(&o);

	ok(parse(&o, "lowerdir=/a,max_read=131072,nodev", err) == 0 && o.max_read == 131072 &&
		   o.fuse_opts && !strcmp(o.fuse_opts, "nodev"),
	   "max_read= is kept in the options, not handed on with the other FUSE options");
	ovl_options_free(&o);

	ok(parse(&o, "lowerdir=/a,max_read=4294967296", err) < 0 && strstr(err, "max_read=") &&
		   strstr(err, "4294967295"),
	   "max_read= beyond 32 bits is refused, naming the limit");
	ovl_options_free(&o);

	ok(parse(&o, "lowerdir=/a", err) == 0 && o.blksize == 128 * 1024 && !o.fuse_opts,
	   "blksize defaults to 128 KiB");
	ovl_options_free(&o);

	ok(parse(&o, "lowerdir=/a,blksize=0", err) == 0 && o.blksize == 0 && !o.fuse_opts,
	   "blksize=0 keeps the layer's own, and is not handed on to FUSE");
	ovl_options_free(&o);

	ok(parse(&o, "lowerdir=/a,blksize=1048576", err) == 0 && o.blksize == 1048576,
	   "blksize= takes 1 MiB");
	ovl_options_free(&o);

	ok(parse(&o, "lowerdir=/a,blksize=6000", err) < 0 && strstr(err, "blksize=") &&
		   strstr(err, "power of two") && strstr(err, "6000"),
	   "blksize= that is not a power of two is refused, naming the value");
	ovl_options_free(&o);

	ok(parse(&o, "lowerdir=/a,blksize=2097152", err) < 0 && strstr(err, "1048576"),
	   "blksize= above 1 MiB is refused, naming the limit");
	ovl_options_free(&o);

	ok(parse(&o, "lowerdir=/a,blksize=256", err) < 0 && strstr(err, "512"),
	   "blksize= below 512 is refused");
	ovl_options_free(&o);

	ok(parse(&o, "lowerdir=/a", err) == 0 && o.io_uring, "io_uring is taken when offered by default");
	ovl_options_free(&o);

	ok(parse(&o, "lowerdir=/a,io_uring=0", err) == 0 && !o.io_uring, "io_uring=0 turns it off");
	ovl_options_free(&o);

	ok(parse(&o, "lowerdir=/a,io_uring=0,io_uring", err) == 0 && o.io_uring,
	   "plain io_uring means io_uring=1");
	ovl_options_free(&o);

	ok(parse(&o, "lowerdir=/a,io_uring=2", err) < 0 && strstr(err, "io_uring= takes 0 or 1"),
	   "a bad io_uring= value is refused, naming the option");
	ovl_options_free(&o);

	ok(parse(&o, "lowerdir", err) < 0 && strstr(err, "needs a value"),
	   "lowerdir without value is refused");
	ovl_options_free(&o);

	/* libfuse splits at every ',' and decodes '\X': a trailing backslash must not swallow
	 * the next option (-o fsname=x\ -o ro came up read-write), nor '\054' become ','. */
	ovl_options_init(&o);
	ok(ovl_options_parse(&o, "lowerdir=/a,fsname=x\\", err, sizeof(err)) == 0 &&
		   ovl_options_parse(&o, "ro", err, sizeof(err)) == 0 && o.fuse_opts &&
		   !strcmp(o.fuse_opts, "fsname=x\\\\,ro"),
	   "a trailing backslash in a FUSE option value cannot swallow the next option");
	ovl_options_free(&o);

	ok(parse(&o, "lowerdir=/a,fsname=a\\,b,subtype=c\\054d", err) == 0 && o.fuse_opts &&
		   !strcmp(o.fuse_opts, "fsname=a\\,b,subtype=c054d"),
	   "FUSE option values reach libfuse in its own escaping");
	ovl_options_free(&o);

	ok(parse(&o, "lowerdir=/a,frob\nnicate\x1b[2J", err) < 0 && !strchr(err, '\n') &&
		   !strchr(err, '\x1b') && strstr(err, "'frob\\nnicate\\x1b[2J'"),
	   "control characters in a refused option are shown escaped, on one line");
	ovl_options_free(&o);

	printf("1..%d\n", n_test);
	return n_fail ? 1 : 0;
}
