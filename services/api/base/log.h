/* log.h -- leveled one-line logs to stderr. */
#ifndef GLANCE_LOG_H
#define GLANCE_LOG_H

enum log_level { LOG_INFO, LOG_WARN, LOG_ERROR };

/* Writes one line "<time> <level> <message>" to stderr. The message must not contain secrets. */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The wall clock the log stamps its lines with, in ms since the epoch (what the replica calls now). */
long long log_wall_ms(void);

#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
