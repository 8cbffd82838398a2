/* fuzz_data.c -- lz_data_read on arbitrary bytes: text (CSV, TSV, blanks),
 * IDX with or without a labels file, either gzipped.
 *
 * Input: a flags byte, then the file.
 *   bits 0-1  the file's name: d.csv, d-images-idx3-ubyte, d.idx,
 *             d-images-idx3-ubyte.gz (IDX is told apart by content and name)
 *   bits 2-3  --label-col: none, last, 1, 2
 *   bit 4     gzip the file (so the parser behind the decompressor is reached)
 *   bit 5     a labels file too: two bytes (little-endian) give the length L
 *             of the data file, the L bytes follow, the rest is written to
 *             d-labels-idx1-ubyte
 *   bit 6     at least 2 rows required
 *   bit 7     split the data read (lz_data_split, half held out)
 * A read either fails with a one-line message or gives data that keeps the
 * promises of lz_data.h: finite values, n >= min_rows, d >= 1, lines rising.
 */
#include <math.h>
#include <zlib.h>

#include "fuzz_util.h"
#include "lz_data.h"

static void write_gz(const char *path, const uint8_t *data, size_t n)
{
    gzFile gz = gzopen(path, "wb");
    if (!gz || (n && gzwrite(gz, data, (unsigned)n) != (int)n) || gzclose(gz) != Z_OK) {
        perror(path);
        abort();
    }
}

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_data: broken promise: %s\n", what);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > (1u << 20)) return 0;
    static const char *names[4] = {"d.csv", "d-images-idx3-ubyte", "d.idx",
                                   "d-images-idx3-ubyte.gz"};
    static const int label_cols[4] = {LZ_LABEL_NONE, LZ_LABEL_LAST, 1, 2};
    unsigned flags = data[0];
    const uint8_t *body = data + 1, *labels = NULL;
    size_t n_body = size - 1, n_labels = 0;
    if (flags & 0x20) {
        if (n_body < 2) return 0;
        size_t l = (size_t)body[0] | (size_t)body[1] << 8;
        body += 2;
        n_body -= 2;
        if (l > n_body) l = n_body;
        labels = body + l;
        n_labels = n_body - l;
        n_body = l;
    }
    char path[600], lpath[600];
    fuzz_path(names[flags & 3], path, sizeof path);
    fuzz_path("d-labels-idx1-ubyte", lpath, sizeof lpath);
    if (flags & 0x10)
        write_gz(path, body, n_body);
    else
        fuzz_write(path, body, n_body);
    if (labels) fuzz_write(lpath, labels, n_labels);

    lz_read_opts o = {.label_col = label_cols[(flags >> 2) & 3], .min_rows = flags & 0x40 ? 2 : 0};
    /* flag 0x80: columns by name, looked up in the header: the label "y" and
     * a skipped column "b" (--label-col y --skip-col b) */
    static const int skip_by_name[1] = {0};
    static const char *const skip_names[1] = {"b"};
    if (flags & 0x80) {
        o.label_col = LZ_LABEL_NAME;
        o.label_name = "y";
        o.skip = skip_by_name;
        o.skip_name = skip_names;
        o.n_skip = 1;
    }
    size_t min_rows = o.min_rows ? o.min_rows : 1;
    lz_data *d = NULL;
    lz_error err;
    lz_error_clear(&err);
    lz_status st = lz_data_read(path, &o, &d, &err);
    fuzz_report("data", st, err.msg);
    if (st) {
        check(d == NULL, "no data after a failure");
        fuzz_check_failure(st, LZ_ENOMEM, err.msg);
    } else {
        check(d && d->n >= min_rows && d->d >= 1 && d->x, "n >= min_rows, d >= 1");
        for (size_t i = 0; i < d->n * d->d; i++) check(isfinite(d->x[i]), "finite values");
        for (size_t i = 0; d->y && i < d->n; i++) check(isfinite(d->y[i]), "finite labels");
        for (size_t i = 1; d->line && i < d->n; i++)
            check(d->line[i] > d->line[i - 1], "lines rise");
        for (size_t j = 0; d->names && j < d->d; j++) check(d->names[j] != NULL, "every name");
        check(!d->n_fields || d->n_fields >= d->d + (d->y != NULL) + ((flags & 0x80) != 0),
              "the file's columns hold the features, the label and the skipped column");
        char where[300];
        lz_data_where(d, d->n - 1, d->d - 1, where, sizeof where);
        double *mu = malloc(d->d * sizeof *mu), *var = malloc(d->d * sizeof *var);
        check(mu && var, "memory for the moments");
        size_t n_const;
        lz_status sm = lz_data_moments(d, mu, var, &n_const, &err);
        if (sm == LZ_OK)
            for (size_t j = 0; j < d->d; j++) check(var[j] >= 0, "variances >= 0");
        else
            fuzz_check_failure(sm, LZ_ENOMEM, err.msg);
        free(mu);
        free(var);
        if ((flags & 0x80) && d->n >= 2) {
            lz_data *tr = NULL, *te = NULL;
            if (lz_data_split(d, 0.5, 1, &tr, &te, &err) == LZ_OK)
                check(tr->n + te->n == d->n && tr->d == d->d, "a split is a partition");
            lz_data_free(tr);
            lz_data_free(te);
        }
        lz_data_free(d);
    }
    unlink(path);
    if (labels) unlink(lpath);
    return 0;
}
