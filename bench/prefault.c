/* prefault MIB: write to MIB MiB of fresh anonymous memory, one byte per page, then exit.
 * On a virtual machine whose free memory goes back to the host (free page reporting), the
 * first write to such a page after it was handed back costs a fault in the host: touching the
 * machine's free memory once, with reporting held off, makes the page cache of every stack
 * as cheap to fill as any other's (see bench/lib/util.sh, hold_host_memory). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: prefault MIB\n");
		return 2;
	}
	size_t len = strtoull(argv[1], NULL, 10) << 20;
	long page = sysconf(_SC_PAGESIZE);
	if (len == 0)
		return 0;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("prefault: mmap");
		return 1;
	}
	for (size_t off = 0; off < len; off += (size_t)page)
		p[off] = 1;
	munmap(p, len);
	return 0;
}
