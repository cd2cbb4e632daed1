/* log.c - see log.h: formatting, the threshold, and rotation by size of the
 * file the process logs to. */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *log_program = "rs";
static enum log_level log_threshold = LOG_INFO;
static const char *const level_names[] = {"DEBUG", "INFO", "WARN", "ERROR"};

/* the file log_open_file() put on fd 2, if any */
static struct {
	char path[PATH_MAX];
	int active;
	int keep;
	int also_stdout;  /* fd 1 was the same file: follow it too */
	int64_t max;      /* 0: never rotate */
	int64_t size;     /* bytes in the current file, as far as we know */
	int64_t next_try; /* after a failed rotation, try again at this size */
} lf;

/* Lines held by log_hold(1), written by log_flush() (see log.h). Only the
 * thread that called log_hold(1) holds; others write at once. */
static struct {
	int on;
	pthread_t owner;
	size_t len;
	char buf[64 * 1024];
} lb;

/* the timestamp's seconds part, formatted once per second (per thread) */
static __thread struct {
	time_t sec;
	char text[24];
} stamp_cache = {(time_t)-1, ""};

int log_parse_bytes(const char *s, int64_t *out)
{
	char *end;
	long long v;

	if (!s || !*s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno)
		return -1;
	switch (*end) {
	case 'k':
	case 'K':
		v = v > LLONG_MAX >> 10 ? -1 : v << 10;
		end++;
		break;
	case 'm':
	case 'M':
		v = v > LLONG_MAX >> 20 ? -1 : v << 20;
		end++;
		break;
	case 'g':
	case 'G':
		v = v > LLONG_MAX >> 30 ? -1 : v << 30;
		end++;
		break;
	default: break;
	}
	if (*end || v < 0)
		return -1;
	*out = v;
	return 0;
}

int log_rotate_files(const char *path, int keep)
{
	char from[PATH_MAX + 8], to[PATH_MAX + 8];

	if (keep < 1 || keep > LOG_MAX_KEEP || strlen(path) >= PATH_MAX) {
		errno = EINVAL;
		return -1;
	}
	for (int i = keep - 1; i >= 1; i--) {
		snprintf(from, sizeof(from), "%s.%d", path, i);
		snprintf(to, sizeof(to), "%s.%d", path, i + 1);
		if (rename(from, to) < 0 && errno != ENOENT)
			fprintf(stderr, "log: cannot rename %s: %s\n", from, strerror(errno));
	}
	snprintf(to, sizeof(to), "%s.1", path);
	return rename(path, to);
}

/* Opens lf.path and puts it on fd 2 (and 1). */
static int reopen(void)
{
	struct stat st;
	int fd = open(lf.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || dup2(fd, STDERR_FILENO) < 0 ||
	    (lf.also_stdout && dup2(fd, STDOUT_FILENO) < 0)) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	close(fd);
	lf.size = st.st_size;
	lf.next_try = 0;
	return 0;
}

int log_open_file(const char *path, int64_t max_bytes, int keep)
{
	struct stat s1, s2;

	if (!path || !*path || strlen(path) >= sizeof(lf.path) || max_bytes < 0 || keep < 1 ||
	    keep > LOG_MAX_KEEP) {
		errno = EINVAL;
		return -1;
	}
	snprintf(lf.path, sizeof(lf.path), "%s", path);
	lf.max = max_bytes;
	lf.keep = keep;
	lf.also_stdout = fstat(STDOUT_FILENO, &s1) == 0 && fstat(STDERR_FILENO, &s2) == 0 &&
	                 s1.st_dev == s2.st_dev && s1.st_ino == s2.st_ino && S_ISREG(s1.st_mode);
	if (reopen() < 0) {
		lf.active = 0;
		return -1;
	}
	lf.active = 1;
	return 0;
}

int64_t log_file_size(void)
{
	return lf.active ? lf.size : -1;
}

/* Called after a write that took the file to lf.max or beyond. */
static void rotate(void)
{
	if (lf.next_try && lf.size < lf.next_try)
		return;
	/* another writer (an older instance, a hand) may have rotated already */
	struct stat cur, named;
	int gone = stat(lf.path, &named) < 0 && errno == ENOENT;
	if (gone || (fstat(STDERR_FILENO, &cur) == 0 && stat(lf.path, &named) == 0 &&
	             (cur.st_dev != named.st_dev || cur.st_ino != named.st_ino))) {
		if (reopen() == 0 && lf.size < lf.max)
			return;
	}
	if (log_rotate_files(lf.path, lf.keep) < 0 || reopen() < 0) {
		int e = errno;
		lf.next_try = lf.size + lf.max; /* not on every line */
		log_msg(LOG_ERROR, "log: cannot rotate %s: %s", lf.path, strerror(e));
	}
}

void log_init(const char *program)
{
	const char *slash = program ? strrchr(program, '/') : NULL;
	const char *lvl = getenv("LOG_LEVEL");
	const char *file = getenv("LOG_FILE");

	if (program)
		log_program = slash ? slash + 1 : program;
	if (lvl) {
		for (int i = LOG_DEBUG; i <= LOG_ERROR; i++)
			if (!strcasecmp(lvl, level_names[i]))
				log_threshold = (enum log_level)i;
		if (!strcasecmp(lvl, "warning"))
			log_threshold = LOG_WARN;
	}
	if (file && *file) {
		const char *ms = getenv("LOG_MAX_BYTES"), *ks = getenv("LOG_KEEP");
		int64_t max = LOG_DEFAULT_MAX_BYTES;
		int keep = LOG_DEFAULT_KEEP;
		char *end;

		if (ms && *ms && log_parse_bytes(ms, &max) < 0) {
			log_msg(LOG_WARN, "log: LOG_MAX_BYTES=%s is not a byte count; using %lld",
			        ms, (long long)LOG_DEFAULT_MAX_BYTES);
			max = LOG_DEFAULT_MAX_BYTES;
		}
		if (ks && *ks) {
			long k = strtol(ks, &end, 10);
			if (*end || k < 1 || k > LOG_MAX_KEEP)
				log_msg(LOG_WARN, "log: LOG_KEEP=%s is not 1..%d; using %d", ks,
				        LOG_MAX_KEEP, LOG_DEFAULT_KEEP);
			else
				keep = (int)k;
		}
		if (log_open_file(file, max, keep) < 0)
			log_msg(LOG_ERROR, "log: cannot open %s: %s; logging to stderr", file,
			        strerror(errno));
	}
}

int log_enabled(enum log_level level)
{
	return level >= log_threshold;
}

/* Writes len bytes to fd 2 (several lines at most, whole ones), counts them
 * against the file's cap and rotates when it is reached. */
static void out_write(const char *p, size_t len)
{
	for (size_t off = 0; off < len;) {
		ssize_t w = write(STDERR_FILENO, p + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
		if (lf.active)
			lf.size += w;
	}
	if (lf.active && lf.max > 0 && lf.size >= lf.max)
		rotate();
}

void log_flush(void)
{
	if (lb.len) {
		size_t n = lb.len;

		lb.len = 0;
		out_write(lb.buf, n);
	}
}

void log_hold(int on)
{
	if (!on)
		log_flush();
	lb.owner = pthread_self();
	lb.on = on;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	char line[2048];
	struct timespec ts;
	va_list ap;
	size_t len;
	int n, held;

	if (level < log_threshold)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	held = lb.on && pthread_equal(lb.owner, pthread_self());
	if (ts.tv_sec != stamp_cache.sec) {
		struct tm tm;

		gmtime_r(&ts.tv_sec, &tm);
		strftime(stamp_cache.text, sizeof(stamp_cache.text), "%Y-%m-%dT%H:%M:%S", &tm);
		stamp_cache.sec = ts.tv_sec;
	}
	n = snprintf(line, sizeof(line), "%s.%03ldZ %s %s: ", stamp_cache.text,
	             ts.tv_nsec / 1000000, level_names[level], log_program);
	va_start(ap, fmt);
	if (n > 0 && (size_t)n < sizeof(line))
		vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	len = strnlen(line, sizeof(line) - 1);
	line[len++] = '\n';
	if (held && level < LOG_WARN) {
		if (lb.len + len > sizeof(lb.buf))
			log_flush();
		memcpy(lb.buf + lb.len, line, len);
		lb.len += len;
		return;
	}
	/* a warning or an error goes out at once, after the lines held before it;
	 * one write per line (or per flush) so lines from several processes never
	 * interleave */
	if (held)
		log_flush();
	out_write(line, len);
}
