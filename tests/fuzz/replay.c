/* replay.c -- a main() for a fuzz harness in the normal build: feeds
 * LLVMFuzzerTestOneInput every file of the directories (or the files) named
 * on the command line, in name order, so the seed corpus and every past
 * crash input are replayed by `make test` without clang (and under
 * AddressSanitizer and UndefinedBehaviorSanitizer by `make test-asan`).
 * A crash ends the program (the ctest test fails); a directory that does
 * not exist, or a corpus directory without inputs, is an error too.
 *
 *     replay [--may-be-empty] DIR|FILE...
 *
 * --may-be-empty applies to the arguments after it (crash directories: a
 * harness may never have crashed).  Names starting with '.' are skipped.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return -1;
    }
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap);
    for (;;) {
        if (!buf) {
            fclose(f);
            fprintf(stderr, "%s: out of memory\n", path);
            return -1;
        }
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap) break;
        uint8_t *nb = realloc(buf, cap * 2);
        if (!nb) free(buf);
        buf = nb;
        cap *= 2;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    return 0;
}

static int skip(const struct dirent *e) { return e->d_name[0] != '.'; }

/* The inputs are small: a reader that allocates what a file declares rather
 * than what it holds must fail here as it does under libFuzzer's
 * -malloc_limit_mb=512 (tests/fuzz/run.sh): the address space is limited to
 * what the program has mapped at the start (the libraries, OpenBLAS's
 * buffers) plus 512 MiB, and the harness aborts on "out of memory".
 * AddressSanitizer reserves terabytes of address space, so under it the
 * limit is on one allocation instead. */
#define REPLAY_HEADROOM ((rlim_t)512 << 20)
#if defined(__SANITIZE_ADDRESS__)
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "max_allocation_size_mb=512"; }
static void limit_memory(void) {}
#else
static void limit_memory(void)
{
    rlim_t mapped = (rlim_t)1 << 30; /* if /proc says nothing */
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    unsigned long kb;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmSize: %lu kB", &kb) == 1) mapped = (rlim_t)kb << 10;
    if (f) fclose(f);
    struct rlimit r = {mapped + REPLAY_HEADROOM, mapped + REPLAY_HEADROOM}, cur;
    if (getrlimit(RLIMIT_AS, &cur) == 0 && cur.rlim_cur != RLIM_INFINITY &&
        cur.rlim_cur < r.rlim_cur)
        return;
    r.rlim_max = cur.rlim_max;
    if (setrlimit(RLIMIT_AS, &r) != 0) perror("replay: setrlimit");
}
#endif

int main(int argc, char **argv)
{
    int may_be_empty = 0;
    size_t total = 0;
    limit_memory();
    for (int a = 1; a < argc; a++) {
        if (!strcmp(argv[a], "--may-be-empty")) {
            may_be_empty = 1;
            continue;
        }
        struct stat sb;
        if (stat(argv[a], &sb) != 0) {
            perror(argv[a]);
            return 1;
        }
        if (!S_ISDIR(sb.st_mode)) {
            if (run_file(argv[a])) return 1;
            total++;
            continue;
        }
        struct dirent **list;
        int n = scandir(argv[a], &list, skip, alphasort);
        if (n < 0) {
            perror(argv[a]);
            return 1;
        }
        size_t done = 0;
        for (int i = 0; i < n; i++) {
            char p[4096];
            snprintf(p, sizeof p, "%s/%s", argv[a], list[i]->d_name);
            if (stat(p, &sb) == 0 && S_ISREG(sb.st_mode)) {
                if (run_file(p)) return 1;
                done++;
            }
            free(list[i]);
        }
        free(list);
        if (!done && !may_be_empty) {
            fprintf(stderr, "%s: no inputs to replay\n", argv[a]);
            return 1;
        }
        printf("%s: %zu inputs replayed\n", argv[a], done);
        total += done;
    }
    printf("%zu inputs replayed, none crashed\n", total);
    return 0;
}
