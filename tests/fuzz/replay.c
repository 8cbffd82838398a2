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

int main(int argc, char **argv)
{
    int may_be_empty = 0;
    size_t total = 0;
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
