/* log.h - one line per event on stderr, with a timestamp, a level and the
 * program's name: "2026-11-22T10:55:17.123Z INFO rider-svc: listening on ...".
 * The threshold comes from LOG_LEVEL (debug, info, warn, error; default info). */
#ifndef RS_LOG_H
#define RS_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Sets the name printed on every line (not copied: pass a string literal or
 * argv[0]) and reads LOG_LEVEL from the environment. */
void log_init(const char *program);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int log_enabled(enum log_level level);

#define log_debug(...) do { if (log_enabled(LOG_DEBUG)) log_msg(LOG_DEBUG, __VA_ARGS__); } while (0)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
