/* Implementation of the shared logger: formatting, destinations and rate limiting. */
#include "log.h"

#include "oneline.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static const char *program = "antares";
static enum log_level current_level = LOG_LEVEL_WARNING;
static int log_fd = STDERR_FILENO;
static bool to_syslog;

static pthread_mutex_t rate_lock = PTHREAD_MUTEX_INITIALIZER;
static time_t rate_window;
static unsigned rate_count, rate_suppressed;
#define RATE_BURST 20

static const char *const level_names[] = { "error", "warning", "info", "debug" };

void log_set_program(const char *name)
{
	program = name;
}

void log_set_level(enum log_level level)
{
	current_level = level;
}

enum log_level log_get_level(void)
{
	return current_level;
}

int log_parse_level(const char *name, enum log_level *out)
{
	for (unsigned i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcasecmp(name, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	return -EINVAL;
}

int log_open_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (log_fd != STDERR_FILENO)
		close(log_fd);
	log_fd = fd;
	return 0;
}

void log_use_syslog(void)
{
	if (log_fd != STDERR_FILENO)
		return; /* an explicit --log file wins */
	openlog(program, LOG_PID, LOG_DAEMON);
	to_syslog = true;
}

static void log_emit(enum log_level level, const char *fmt, va_list ap)
{
	int saved = errno;
	char raw[4096], line[4096];
	int n = vsnprintf(raw, sizeof(raw), fmt, ap);
	if (n < 0)
		return;
	text_one_line(raw, line, sizeof(line));
	if (to_syslog) {
		static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
		syslog(prio[level], "%s", line);
	} else {
		char out[4200];
		int m = snprintf(out, sizeof(out), "%s: %s%s%s\n", program,
				 level == LOG_LEVEL_ERROR ? "" : level_names[level],
				 level == LOG_LEVEL_ERROR ? "" : ": ", line);
		if (m > (int)sizeof(out) - 1) {
			m = sizeof(out) - 1;
			out[m - 1] = '\n';
		}
		/* One write per line keeps lines whole when several threads log at once. */
		(void)!write(log_fd, out, (size_t)m);
	}
	errno = saved;
}

void log_stderr(const char *fmt, ...)
{
	char raw[4096], line[4096];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	text_one_line(raw, line, sizeof(line));
	dprintf(STDERR_FILENO, "%s: %s\n", program, line);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	if (level > current_level)
		return;
	va_list ap;
	va_start(ap, fmt);
	log_emit(level, fmt, ap);
	va_end(ap);
}

void log_msg_ratelimited(enum log_level level, const char *fmt, ...)
{
	if (level > current_level)
		return;
	unsigned suppressed = 0;
	bool emit;
	time_t now = time(NULL);

	pthread_mutex_lock(&rate_lock);
	if (now != rate_window) {
		suppressed = rate_suppressed;
		rate_window = now;
		rate_count = 0;
		rate_suppressed = 0;
	}
	emit = rate_count++ < RATE_BURST;
	if (!emit)
		rate_suppressed++;
	pthread_mutex_unlock(&rate_lock);

	if (suppressed)
		log_msg(LOG_LEVEL_WARNING, "%u similar messages suppressed", suppressed);
	if (!emit)
		return;
	va_list ap;
	va_start(ap, fmt);
	log_emit(level, fmt, ap);
	va_end(ap);
}
