/* log.c - see log.h. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const char *log_program = "rs";
static enum log_level log_threshold = LOG_INFO;
static const char *const level_names[] = { "DEBUG", "INFO", "WARN", "ERROR" };

void log_init(const char *program)
{
	const char *slash = program ? strrchr(program, '/') : NULL;
	const char *lvl = getenv("LOG_LEVEL");

	if (program)
		log_program = slash ? slash + 1 : program;
	if (lvl) {
		for (int i = LOG_DEBUG; i <= LOG_ERROR; i++)
			if (!strcasecmp(lvl, level_names[i]))
				log_threshold = (enum log_level)i;
		if (!strcasecmp(lvl, "warning"))
			log_threshold = LOG_WARN;
	}
}

int log_enabled(enum log_level level)
{
	return level >= log_threshold;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	char line[2048], stamp[32];
	struct timespec ts;
	struct tm tm;
	va_list ap;
	int n;

	if (level < log_threshold)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(line, sizeof(line), "%s.%03ldZ %s %s: ", stamp,
		     ts.tv_nsec / 1000000, level_names[level], log_program);
	va_start(ap, fmt);
	if (n > 0 && (size_t)n < sizeof(line))
		vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	/* one write per line so lines from several processes never interleave */
	fprintf(stderr, "%s\n", line);
}
