/* statall DIR: lstat every entry below DIR (the "stat storm" workload) and print how many
 * entries were seen, so the benchmark can check that every stack shows the same tree.
 * nftw with FTW_PHYS lstat()s each entry exactly once and never follows symlinks, which is
 * what `ls -lR`, `make`'s dependency checks and `git status` do to a tree, without the
 * formatting cost of `find -ls` drowning the filesystem cost. */
#define _GNU_SOURCE
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>

static unsigned long entries;

static int visit(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)path; (void)st; (void)ftw;
	if (type == FTW_NS || type == FTW_DNR) {
		fprintf(stderr, "statall: cannot stat or read %s\n", path);
		return 1;
	}
	entries++;
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: statall DIR\n");
		return 2;
	}
	/* 64 fds is plenty for the kernel tree's depth and stays far from any fd limit. */
	if (nftw(argv[1], visit, 64, FTW_PHYS) != 0) {
		perror("statall: nftw");
		return 1;
	}
	printf("%lu\n", entries);
	return 0;
}
