/* Unit tests (TAP) for the sandbox's pure logic: bind destination normalization and the
 * uid_map/gid_map lines for one id or a subordinate range. */
#include <stdio.h>
#include <string.h>

#include "userns.h"
#include "util.h"

static int n, failed;

static void ok(int cond, const char *what, const char *got)
{
	printf("%s %d - %s%s%s\n", cond ? "ok" : "not ok", ++n, what, cond ? "" : ": got ",
	       cond ? "" : got);
	failed += !cond;
}

static void norm(const char *in, const char *want)
{
	char buf[256], what[300];
	snprintf(buf, sizeof(buf), "%s", in);
	path_normalize(buf);
	snprintf(what, sizeof(what), "path_normalize(%s) = %s", in, want);
	ok(!strcmp(buf, want), what, buf);
}

static void map(unsigned long id, unsigned long out, unsigned long sub, unsigned long count,
		const char *want)
{
	char buf[256], what[300];
	userns_format_map(buf, sizeof(buf), id, out, sub, count);
	snprintf(what, sizeof(what), "map id %lu -> %lu, range %lu+%lu", id, out, sub, count);
	ok(!strcmp(buf, want), what, buf);
}

int main(void)
{
	norm("/tmp/a/../b", "/tmp/b");
	norm("//tmp///x/./y/", "/tmp/x/y");
	norm("/../../etc", "/etc");
	norm("/a/b/../../..", "/");
	norm("/", "/");
	norm("/home/u/.config", "/home/u/.config");
	norm("/x/..y/...", "/x/..y/...");
	map(0, 1000, 0, 0, "0 1000 1\n");
	map(1000, 1000, 0, 0, "1000 1000 1\n");
	map(0, 1000, 100000, 65536, "0 1000 1\n1 100000 65536\n");
	map(1000, 1000, 100000, 65536, "0 100000 1000\n1000 1000 1\n1001 101000 64536\n");
	map(0, 0, 1, 65535, "0 0 1\n1 1 65535\n");
	printf("1..%d\n", n);
	return failed ? 1 : 0;
}
