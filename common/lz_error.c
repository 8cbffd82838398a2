/* lz_error.c -- the error record (see lz_error.h). */
#include "lz_error.h"

#include <stdlib.h>

#ifdef LZ_FPE
#include <execinfo.h>
#include <fenv.h>
#include <signal.h>
#include <unistd.h>

/* a trapped exception: say so, with the call stack, and die of the signal */
static void on_fpe(int sig)
{
    static const char msg[] = "floating-point exception (LZ_FPE build); call stack:\n";
    void *frames[32];
    int n = backtrace(frames, 32);
    if (write(2, msg, sizeof msg - 1) < 0) { /* nothing more to do */
    }
    backtrace_symbols_fd(frames, n, 2);
    signal(sig, SIG_DFL);
    raise(sig);
}
#endif

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Keep a message on one line and the terminal as it was: line breaks and
 * tabs (a file's text quoted in it) become spaces, other control characters
 * (an escape sequence, a vertical tab, a form feed) '?'. */
static void one_line(char *msg)
{
    for (unsigned char *p = (unsigned char *)msg; *p; p++)
        if (*p == '\n' || *p == '\r' || *p == '\t')
            *p = ' ';
        else if (*p < 0x20 || *p == 0x7f)
            *p = '?';
}

lz_status lz_fail(lz_error *err, lz_status status, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        one_line(err->msg);
        err->status = status;
    }
    return status;
}

void lz_error_prefix(lz_error *err, const char *fmt, ...)
{
    if (!err) return;
    char head[LZ_ERROR_MAX], old[LZ_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head, sizeof head, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    size_t h = strlen(head), o = strlen(old), cap = sizeof err->msg - 1;
    if (h > cap) h = cap;
    memcpy(err->msg, head, h);
    size_t n = h;
    for (const char *sep = ": "; *sep && n < cap; sep++) err->msg[n++] = *sep;
    if (o > cap - n) o = cap - n;
    memcpy(err->msg + n, old, o);
    err->msg[n + o] = '\0';
    one_line(err->msg);
}

void lz_error_clear(lz_error *err)
{
    if (!err) return;
    err->status = LZ_OK;
    err->msg[0] = '\0';
}

void lz_fpe_trap(void)
{
#ifdef LZ_FPE
    signal(SIGFPE, on_fpe);
    feenableexcept(FE_INVALID | FE_DIVBYZERO | FE_OVERFLOW);
#endif
}

double lz_strtod(const char *s, char **end)
{
#ifdef LZ_FPE
    fenv_t env;
    feholdexcept(&env);
    double v = strtod(s, end);
    fesetenv(&env);
    return v;
#else
    return strtod(s, end);
#endif
}
