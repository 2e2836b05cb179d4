/* pingpong [ROUNDS]: the machine's cost of one round trip between two processes.
 *
 * A parent and a child pass one byte back and forth through two pipes, ROUNDS times (default
 * 20000): once wherever the scheduler puts them, once with both held on CPU 0. Prints the two
 * means in microseconds, "FREE ONE_CPU".
 *
 * Every FUSE request is at least such a round trip (the caller sleeps, the daemon wakes, the
 * daemon sleeps, the caller wakes), so this is the floor under any row whose time is mostly
 * requests; the report prints it next to the machine's other facts. */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

/* Mean microseconds per round trip; both processes on CPU 0 when one_cpu. -1 on failure. */
static double measure(long rounds, int one_cpu)
{
	int there[2], back[2];
	char c = 0;
	cpu_set_t was;
	if (pipe(there) < 0 || pipe(back) < 0 || sched_getaffinity(0, sizeof(was), &was) < 0)
		return -1;
	if (one_cpu) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(0, &set);
		if (sched_setaffinity(0, sizeof(set), &set) < 0)
			return -1;
	}
	pid_t child = fork();
	if (child < 0)
		return -1;
	if (child == 0) {
		for (long i = 0; i < rounds; i++)
			if (read(there[0], &c, 1) != 1 || write(back[1], &c, 1) != 1)
				_exit(1);
		_exit(0);
	}
	double start = now_us();
	long done = 0;
	for (; done < rounds; done++)
		if (write(there[1], &c, 1) != 1 || read(back[0], &c, 1) != 1)
			break;
	double took = now_us() - start;
	int status = 0;
	waitpid(child, &status, 0);
	close(there[0]);
	close(there[1]);
	close(back[0]);
	close(back[1]);
	if (one_cpu)
		sched_setaffinity(0, sizeof(was), &was);
	if (done != rounds || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return -1;
	return took / (double)rounds;
}

int main(int argc, char **argv)
{
	long rounds = argc > 1 ? strtol(argv[1], NULL, 10) : 20000;
	if (rounds <= 0) {
		fprintf(stderr, "usage: pingpong [ROUNDS]\n");
		return 2;
	}
	double free_us = measure(rounds, 0), one_us = measure(rounds, 1);
	if (free_us < 0 || one_us < 0) {
		fprintf(stderr, "pingpong: could not pass a byte back and forth %ld times%s\n", rounds,
			one_us < 0 && free_us >= 0 ? " on CPU 0" : "");
		return 1;
	}
	printf("%.1f %.1f\n", free_us, one_us);
	return 0;
}
