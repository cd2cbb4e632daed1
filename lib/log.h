/* log.h - one line per event on stderr, with a timestamp, a level and the
 * program's name: "2026-11-22T10:55:17.123Z INFO rider-svc: listening on ...".
 * The threshold comes from LOG_LEVEL (debug, info, warn, error; default info).
 *
 * Rotation by size. When LOG_FILE names a file (scripts/supervise.sh sets it
 * to the file it redirected the service's output to), the process writes its
 * log there itself and rotates it: once the file reaches LOG_MAX_BYTES
 * (default 10 MiB; 0: never rotate) it renames file.log -> file.log.1 ->
 * ... -> file.log.LOG_KEEP (default 3; the oldest is dropped), opens a fresh
 * file.log (0600) and puts it on stderr (and on stdout when stdout was the
 * same file), so output of anything else writing to fd 2 follows. The cost on
 * the event loop is LOG_KEEP renames and one open, once per LOG_MAX_BYTES. */
#ifndef RS_LIB_LOG_H
#define RS_LIB_LOG_H

#include <stdint.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

#define LOG_DEFAULT_MAX_BYTES (10LL * 1024 * 1024)
#define LOG_DEFAULT_KEEP      3
#define LOG_MAX_KEEP          99

/* Sets the name printed on every line (not copied: pass a string literal or
 * argv[0]) and reads LOG_LEVEL, and LOG_FILE / LOG_MAX_BYTES / LOG_KEEP
 * (see above; a bad value is reported on stderr and the default used). */
void log_init(const char *program);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int log_enabled(enum log_level level);

/* Holding. log_hold(1) makes the calling thread's INFO and DEBUG lines wait in
 * a 64 KiB buffer instead of costing a write each; log_flush() writes them in
 * one write (a full buffer is flushed first; a WARN or ERROR line flushes the
 * held lines, then goes out itself), log_hold(0) flushes and stops holding.
 * Lines of other threads are written at once. lib/svc.c holds while a
 * service's loop runs and flushes before the loop may block (uv_prepare) and
 * after each poll (uv_check), so a line is late by at most one loop turn, and
 * lost only if the process dies in between (not on exit(): svc flushes). */
void log_hold(int on);
void log_flush(void);

/* Writes the log to `path` from now on (opened O_APPEND, created 0600, put on
 * fd 2, and on fd 1 when fd 1 is that same file), rotated at max_bytes with
 * `keep` old files (1..LOG_MAX_KEEP). The path is copied. Returns 0, or -1
 * with errno set when the file cannot be opened (the log stays on stderr). */
int log_open_file(const char *path, int64_t max_bytes, int keep);

/* Shifts path.(keep-1) -> path.keep, ..., path.1 -> path.2, path -> path.1
 * (missing ones are skipped; path.keep is replaced). Does not open anything.
 * Returns 0, or -1 with errno set when renaming `path` itself failed. */
int log_rotate_files(const char *path, int keep);

/* The size the log file has reached, as far as this process knows (bytes
 * written since it was opened plus its size then); -1 without a log file. */
int64_t log_file_size(void);

/* Parses a byte count: digits with an optional K, M or G suffix (powers of
 * 1024), e.g. "10M". Returns 0 and sets *out, or -1. */
int log_parse_bytes(const char *s, int64_t *out);

#define log_debug(...)                                                                             \
	do {                                                                                       \
		if (log_enabled(LOG_DEBUG))                                                        \
			log_msg(LOG_DEBUG, __VA_ARGS__);                                           \
	} while (0)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
