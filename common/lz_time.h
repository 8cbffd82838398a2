/* lz_time.h -- a monotonic clock, and the progress line of a long step.
 *
 * Apart from the command line (lz_cli.h) so that model libraries can time
 * their iterations without depending on the user interface.  lz_progress
 * prints (to stderr, only when it is a terminal); only a program's main()
 * and its callbacks call it.
 */
#ifndef LZ_TIME_H
#define LZ_TIME_H

/* Seconds on a monotonic clock. */
double lz_now(void);

/* Print a progress line to stderr when it is a terminal: "\r<text>" that the
 * next call overwrites; lz_progress_end() clears it. */
void lz_progress(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
void lz_progress_end(void);

#endif
