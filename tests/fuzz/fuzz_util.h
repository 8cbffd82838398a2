/* fuzz_util.h -- what the harnesses share: a scratch directory of their own,
 * and writing an input there as a file (the readers take paths, and the data
 * reader tells IDX from text partly by the file name).
 *
 * Each harness defines LLVMFuzzerTestOneInput (docs/developers.md,
 * "Fuzzing").  Built with -DLZ_FUZZ=ON it is a libFuzzer binary; in the
 * normal build replay.c gives it a main() that feeds it every file of the
 * directories named on the command line (the seed corpus and the past crash
 * inputs), so `make test` replays them without clang.
 */
#ifndef LZ_FUZZ_UTIL_H
#define LZ_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The scratch directory, made on first use and removed at exit. */
static char g_fuzz_dir[512];

static inline void fuzz_rmdir(void)
{
    if (g_fuzz_dir[0]) rmdir(g_fuzz_dir); /* every file is unlinked after use */
}

/* buf (cap) <- "<scratch dir>/name" */
static inline const char *fuzz_path(const char *name, char *buf, size_t cap)
{
    if (!g_fuzz_dir[0]) {
        const char *t = getenv("TMPDIR");
        snprintf(g_fuzz_dir, sizeof g_fuzz_dir, "%s/lz_fuzz.XXXXXX", t && *t ? t : "/tmp");
        if (!mkdtemp(g_fuzz_dir)) {
            perror("fuzz: mkdtemp");
            abort();
        }
        atexit(fuzz_rmdir);
    }
    snprintf(buf, cap, "%s/%s", g_fuzz_dir, name);
    return buf;
}

/* Write n bytes to path; a failure here is the harness's, not the reader's. */
static inline void fuzz_write(const char *path, const uint8_t *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || (n && fwrite(data, 1, n, f) != n) || fclose(f) != 0) {
        perror(path);
        abort();
    }
}

/* With LZ_FUZZ_VERBOSE set in the environment, say what became of an input
 * (for looking at a corpus or a crash input by hand). */
static inline void fuzz_report(const char *what, int status, const char *msg)
{
    if (getenv("LZ_FUZZ_VERBOSE")) fprintf(stderr, "%s: %s\n", what, status ? msg : "read");
}

/* The message of a failed read is one line, never empty; and a reader does
 * not run out of memory on a small input (that would be an allocation of
 * what the file declares, not of what it holds: replay.c limits the address
 * space, libFuzzer single allocations). */
static inline void fuzz_check_failure(int status, int enomem, const char *msg)
{
    if (!msg[0] || strchr(msg, '\n')) {
        fprintf(stderr, "fuzz: bad error message '%s'\n", msg);
        abort();
    }
    if (status == enomem) {
        fprintf(stderr, "fuzz: out of memory on a small input: %s\n", msg);
        abort();
    }
}

#endif
