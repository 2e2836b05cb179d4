/* Logging for Antares programs: one line per event, to stderr, a file or syslog.
 * Failures are logged where their context (layer, path, operation, errno) is known. */
#pragma once

#include <stdbool.h>

enum log_level { LOG_LEVEL_ERROR = 0, LOG_LEVEL_WARNING, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

void log_set_program(const char *name);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Returns 0, or -errno when the level name is unknown. */
int log_parse_level(const char *name, enum log_level *out);
/* Send log lines to FILE (appended); returns 0 or -errno. */
int log_open_file(const char *path);
/* Send log lines to syslog (used once a daemon has detached from its terminal). */
void log_use_syslog(void);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "PROGRAM: MESSAGE" on standard error whatever the level and log destination: for errors
 * about the command line and start-up, which the user must see where they typed. */
void log_stderr(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Rate-limited variant for per-request failures: at most a burst per second, then a count of
 * what was suppressed, so a failing build cannot flood the log. */
void log_msg_ratelimited(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_LEVEL_WARNING, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...)                                                                             \
	do {                                                                                       \
		if (log_get_level() >= LOG_LEVEL_DEBUG)                                            \
			log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__);                                     \
	} while (0)
