/* lz_error.h -- status codes and the error record every library call fills.
 *
 * Library code never prints and never exits: a function that can fail returns
 * an lz_status and, when it fails, writes one line into an lz_error that the
 * caller passed.  Only a program's main() prints that line and chooses the
 * exit code.  The line names what failed (file, line, field, option) and what
 * was expected, e.g. "data.csv:17: field 3: expected a number, got 'abc'".
 */
#ifndef LZ_ERROR_H
#define LZ_ERROR_H

#include <stddef.h>

typedef enum {
    LZ_OK = 0,
    LZ_EINVAL,   /* an argument or option outside its domain           */
    LZ_ENOMEM,   /* an allocation failed                               */
    LZ_EIO,      /* a file could not be opened, read or written        */
    LZ_EFORMAT,  /* a file's content is not what was expected          */
    LZ_ENUMERIC, /* a numerical method failed (not positive definite,
                    no convergence of a LAPACK routine, non-finite)    */
    LZ_ESTOP     /* a caller's callback asked to stop                  */
} lz_status;

#define LZ_ERROR_MAX 512

typedef struct {
    lz_status status;
    char msg[LZ_ERROR_MAX]; /* one line, no trailing newline */
} lz_error;

/* Record a failure: sets err->status and formats err->msg (printf-style).
 * err may be NULL.  Returns status, so a caller can write
 *     return lz_fail(err, LZ_EINVAL, "k = %d: expected 1 <= k < d", k);     */
lz_status lz_fail(lz_error *err, lz_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Prefix an existing message: "<prefix>: <old message>". */
void lz_error_prefix(lz_error *err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Clear err to LZ_OK and an empty message.  err may be NULL. */
void lz_error_clear(lz_error *err);

/* In a build with LZ_FPE defined (cmake -DLZ_FPE=ON), make the invalid,
 * divide-by-zero and overflow floating-point exceptions trap (SIGFPE), so
 * that a NaN or an infinity never passes silently; otherwise a no-op.  Every
 * program calls it at start-up (lz_cli_start), every test program too. */
void lz_fpe_trap(void);

/* strtod that never traps: text read from a file or the command line may
 * overflow ("1e999" is inf) or underflow, which the caller checks; in an
 * LZ_FPE build the exceptions strtod raises are held and discarded. */
double lz_strtod(const char *s, char **end);

/* LAPACK probes IEEE arithmetic with deliberate infinities and NaNs
 * (ieeeck) and expects exceptions not to trap: in an LZ_FPE build a LAPACK
 * call goes between these, which hold the exceptions and discard them (its
 * info code and the caller's checks still see a failure):
 *     LZ_FPE_HOLD(fe); info = LAPACKE_dsyevd(...); LZ_FPE_RELEASE(fe); */
#ifdef LZ_FPE
#include <fenv.h>
#define LZ_FPE_HOLD(fe)                                                                            \
    fenv_t fe;                                                                                     \
    feholdexcept(&fe)
#define LZ_FPE_RELEASE(fe) fesetenv(&fe)
#else
#define LZ_FPE_HOLD(fe) (void)0
#define LZ_FPE_RELEASE(fe) (void)0
#endif

#endif
