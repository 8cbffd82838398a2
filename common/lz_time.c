/* lz_time.c -- clock and progress line (see lz_time.h). */
#include "lz_time.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

double lz_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int g_progress_shown = 0;

void lz_progress(const char *fmt, ...)
{
    if (!isatty(2)) return;
    va_list ap;
    va_start(ap, fmt);
    fputs("\r\033[K", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fflush(stderr);
    g_progress_shown = 1;
}

void lz_progress_end(void)
{
    if (g_progress_shown && isatty(2)) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
    g_progress_shown = 0;
}
