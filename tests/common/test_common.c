/* test_common.c -- unit tests of common/ against independent truth:
 * naive sums for moments, reconstruction for factorizations, hand-made files
 * for the readers, enumeration for the RNG helpers. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "lz_blas.h"
#include "lz_cli.h"
#include "lz_data.h"
#include "lz_linalg.h"
#include "lz_out.h"
#include "lz_prob.h"
#include "lz_vmath.h"
#include <gsl/gsl_randist.h>
#include "lz_model.h"
#include "lz_check.h"

static char g_dir[256];

/* rename() as lz_out.c sees it in this program: the C library's (through
 * renameat), except that the call numbered g_rename_fail_at (counting from
 * g_rename_calls = 0) fails with EIO: a rename failing midway through a
 * commit, which no file system can be asked to do on cue. */
static int g_rename_calls = 0, g_rename_fail_at = -1;
int rename(const char *from, const char *to)
{
    if (g_rename_calls++ == g_rename_fail_at) {
        errno = EIO;
        return -1;
    }
    return renameat(AT_FDCWD, from, AT_FDCWD, to);
}

static const char *tmp_path(const char *name)
{
    static char buf[8][512];
    static int i = 0;
    i = (i + 1) % 8;
    snprintf(buf[i], sizeof buf[i], "%s/%s", g_dir, name);
    return buf[i];
}

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, n, f), n);
    fclose(f);
}

static void write_text(const char *path, const char *s) { write_file(path, s, strlen(s)); }

static void setup(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/lz_test_common.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(g_dir));
}

static void teardown(void)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    ck_assert_int_eq(system(cmd), 0);
}

/* random matrix with entries in [-1, 1) */
static void fill_random(gsl_rng *r, size_t n, double *a)
{
    for (size_t i = 0; i < n; i++) a[i] = 2 * gsl_rng_uniform(r) - 1;
}

/* a (n, n) <- B B^T + n I for random B: symmetric positive definite */
static void random_spd(gsl_rng *r, size_t n, double *a)
{
    double *b = malloc(n * n * sizeof *b);
    fill_random(r, n * n, b);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            double s = 0;
            for (size_t t = 0; t < n; t++) s += b[i * n + t] * b[j * n + t];
            a[i * n + j] = s + (i == j ? (double)n : 0.0);
        }
    free(b);
}

/* ------------------------------------------------------------------ */
/* text reading */

START_TEST(csv_with_header_and_label)
{
    write_text(tmp_path("a.csv"), "x1,x2,class\n1,2,0\n3.5,-4e1,1\n\n# comment\n5,6,2\r\n");
    lz_read_opts o = {.label_col = LZ_LABEL_LAST, .min_rows = 2};
    lz_data *d;
    lz_error e;
    ck_assert_int_eq(lz_data_read(tmp_path("a.csv"), &o, &d, &e), LZ_OK);
    ck_assert_uint_eq(d->n, 3);
    ck_assert_uint_eq(d->d, 2);
    ck_assert_ptr_nonnull(d->y);
    double want[] = {1, 2, 3.5, -40, 5, 6}, wy[] = {0, 1, 2};
    for (int i = 0; i < 6; i++) ck_assert_double_eq(d->x[i], want[i]);
    for (int i = 0; i < 3; i++) ck_assert_double_eq(d->y[i], wy[i]);
    ck_assert_str_eq(d->names[0], "x1");
    ck_assert_str_eq(d->names[1], "x2");
    lz_data_free(d);
}
END_TEST

START_TEST(label_column_in_the_middle_and_whitespace)
{
    write_text(tmp_path("w.txt"), "  1 9  2\n3\t8 4\n");
    lz_read_opts o = {.label_col = 2, .min_rows = 1};
    lz_data *d;
    lz_error e;
    ck_assert_int_eq(lz_data_read(tmp_path("w.txt"), &o, &d, &e), LZ_OK);
    ck_assert_uint_eq(d->n, 2);
    ck_assert_uint_eq(d->d, 2);
    ck_assert_double_eq(d->x[0], 1);
    ck_assert_double_eq(d->x[1], 2);
    ck_assert_double_eq(d->x[3], 4);
    ck_assert_double_eq(d->y[0], 9);
    ck_assert_double_eq(d->y[1], 8);
    ck_assert_ptr_null(d->names);
    lz_data_free(d);
}
END_TEST

START_TEST(tsv_and_own_dat_header_read_back)
{
    write_text(tmp_path("t.dat"), "# z1 z2 label\n0.5 1 3\n-2 0.25 4\n");
    lz_read_opts o = {.label_col = LZ_LABEL_LAST, .min_rows = 1};
    lz_data *d;
    lz_error e;
    ck_assert_int_eq(lz_data_read(tmp_path("t.dat"), &o, &d, &e), LZ_OK);
    ck_assert_uint_eq(d->d, 2);
    ck_assert_str_eq(d->names[1], "z2");
    ck_assert_double_eq(d->y[1], 4);
    lz_data_free(d);
    write_text(tmp_path("t.tsv"), "a\tb\n1\t2\n");
    o.label_col = LZ_LABEL_NONE;
    ck_assert_int_eq(lz_data_read(tmp_path("t.tsv"), &o, &d, &e), LZ_OK);
    ck_assert_uint_eq(d->d, 2);
    ck_assert_double_eq(d->x[1], 2);
    lz_data_free(d);
    /* between tabs, an empty field is a missing value: first, inner and
     * last (and a quoted field, spaces around it trimmed) */
    write_text(tmp_path("e.tsv"), "\t2\t3\n4\t\t6\n7\t8\t\n \"1\" \t5 \t9\n");
    ck_assert_msg(lz_data_read(tmp_path("e.tsv"), &o, &d, &e) == LZ_OK, "%s", e.msg);
    ck_assert_uint_eq(d->n, 4);
    ck_assert_uint_eq(d->d, 3);
    ck_assert_uint_eq(d->n_miss, 3);
    static const unsigned char miss[12] = {1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0};
    static const double x[12] = {0, 2, 3, 4, 0, 6, 7, 8, 0, 1, 5, 9};
    for (size_t i = 0; i < 12; i++) {
        ck_assert_uint_eq(d->miss[i], miss[i]);
        ck_assert_double_eq(d->x[i], x[i]);
    }
    lz_data_free(d);
}
END_TEST

/* a message keeps to one line and leaves the terminal alone: line breaks
 * and tabs become spaces, other control characters '?', in lz_fail and in
 * lz_error_prefix's head */
START_TEST(error_message_one_line)
{
    lz_error e;
    lz_fail(&e, LZ_EINVAL, "a\nb\r\tc\x1b[31md\ve\ff\x7fg");
    ck_assert_str_eq(e.msg, "a b  c?[31md?e?f?g");
    ck_assert_int_eq(e.status, LZ_EINVAL);
    lz_error_prefix(&e, "x\x1by\nz");
    ck_assert_str_eq(e.msg, "x?y z: a b  c?[31md?e?f?g");
}
END_TEST

/* every malformed input gives one line naming the file, line and field */
static lz_status expect_read_error(const char *name, const char *content, int label_col,
                                   size_t min_rows, const char *needle)
{
    if (content) write_text(tmp_path(name), content);
    lz_read_opts o = {.label_col = label_col, .min_rows = min_rows};
    lz_data *d = (lz_data *)1;
    lz_error e;
    lz_error_clear(&e);
    lz_status st = lz_data_read(tmp_path(name), &o, &d, &e);
    ck_assert_int_ne(st, LZ_OK);
    ck_assert_ptr_null(d);
    ck_assert_msg(strstr(e.msg, name) != NULL, "'%s' does not name the file", e.msg);
    ck_assert_msg(strstr(e.msg, needle) != NULL, "'%s' lacks '%s'", e.msg, needle);
    ck_assert_ptr_null(strchr(e.msg, '\n'));
    return st;
}

START_TEST(text_errors)
{
    expect_read_error("missing.csv", NULL, 0, 1, "cannot open");
    ck_assert_int_eq(mkdir(tmp_path("adir"), 0777), 0);
    expect_read_error("adir", NULL, 0, 1, "is a directory");
    expect_read_error("empty.csv", "", 0, 1, "empty file");
    expect_read_error("blank.csv", "\n  \n# only comments\n", 0, 1, "no data rows");
    expect_read_error("ragged.csv", "1,2,3\n4,5\n", 0, 1, "ragged.csv:2: 2 fields: expected 3");
    expect_read_error("word.csv", "1,2\n3,abc\n", 0, 1,
                      "word.csv:2: field 2: expected a number, got 'abc'");
    expect_read_error("named.csv", "u,v\n1,2\n3,x\n", 0, 1, "named.csv:3: field 2 (v)");
    expect_read_error("nomiss.csv", "1,2\nNA,\n", 0, 1,
                      "nomiss.csv:2: every value of the row is missing");
    /* aligned with spaces, a tab among them: white space delimits, not tabs */
    expect_read_error("ws.txt", "1 2  3\t0\n4  5 6 1\n7 8\t9 q\n", 0, 1,
                      "ws.txt:3: field 4: expected a number, got 'q'");
    /* a byte-order mark inside (two files that began with one, joined) */
    expect_read_error("bom2.csv",
                      "\xef\xbb\xbf"
                      "1,2\n3,4\n\xef\xbb\xbf"
                      "5,6\n7,y\n",
                      0, 1, "bom2.csv:4: field 2: expected a number, got 'y'");
    /* lone carriage returns end lines (classic Mac), mixed with \r\n and \n */
    write_text(tmp_path("cr.csv"), "a,b\r1,2\r3,4\r\n5,x\n");
    expect_read_error("cr.csv", NULL, 0, 1, "cr.csv:4: field 2 (b): expected a number, got 'x'");
    /* a first row of missing values is such a row, not a header of names */
    expect_read_error("nafirst.csv", "NA,?\n1,2\n3,4\n", 0, 1,
                      "nafirst.csv:1: every value of the row is missing");
    expect_read_error("inf.csv", "1,2\n1,-inf\n", 0, 1, "inf.csv:2: field 2: '-inf' is not finite");
    expect_read_error("huge.csv", "1,1e999\n", 0, 1, "huge.csv:1: field 2");
    expect_read_error("nolabel.csv", "1,2,a\n3,4,\n", LZ_LABEL_LAST, 1,
                      "nolabel.csv:2: field 3: the label is missing");
    expect_read_error("words.csv", "sl,sw,variety\n5.1,3.5,\"Setosa\"\n4.9,3,Setosa\n", 0, 1,
                      "words.csv:2: field 3 (variety): expected a number, got 'Setosa' (column 3 "
                      "(variety) holds words: class labels? --label-col last)");
    expect_read_error("words2.csv", "Setosa,5.1\nVirginica,4.9\n", 0, 1,
                      "(column 1 holds words: class labels? --label-col 1)");
    expect_read_error("index.csv", ",a,b\n0,1,2\n1,3,5\n2,4,4\n", 0, 1,
                      "index.csv: field 1 ('') counts the rows 0, 1, ...: an index column? drop it "
                      "with --skip-col 1");
    expect_read_error("one.csv", "1,2\n", 0, 2, "1 row of data: expected at least 2");
    expect_read_error("lab.csv", "1,2\n", 5, 1, "--label-col 5: the file has 2 columns");
    expect_read_error("onlylabel.csv", "1\n2\n", LZ_LABEL_LAST, 1, "no feature columns");
}
END_TEST

/* lz_patterns_make: rows sorted by mask, equal masks one pattern, the
 * missing columns of each and the counts; complete data one pattern */
START_TEST(patterns_group_rows)
{
    size_t n = 7, d = 3;
    static const unsigned char miss[7 * 3] = {0, 1, 0, 0, 0, 0, 1, 1, 0, 0, 1,
                                              0, 0, 0, 0, 1, 1, 0, 0, 0, 1};
    double x[7 * 3] = {0};
    lz_data dt = {.n = n, .d = d, .x = x, .miss = (unsigned char *)miss, .label_field = -1};
    lz_patterns *pt = lz_patterns_make(&dt);
    ck_assert_ptr_nonnull(pt);
    /* masks: 000 (rows 1, 4), 001 (6), 010 (0, 3), 110 (2, 5) */
    ck_assert_uint_eq(pt->n_pat, 4);
    static const size_t rows[7] = {1, 4, 6, 0, 3, 2, 5}, start[5] = {0, 2, 3, 5, 7};
    static const size_t mis[4] = {2, 1, 0, 1}, mstart[5] = {0, 0, 1, 2, 4};
    static const size_t pat[7] = {2, 0, 3, 2, 0, 3, 1};
    for (size_t t = 0; t < n; t++) {
        ck_assert_uint_eq(pt->rows[t], rows[t]);
        ck_assert_uint_eq(pt->pat[t], pat[t]);
    }
    for (size_t p = 0; p <= 4; p++) {
        ck_assert_uint_eq(pt->pat_start[p], start[p]);
        ck_assert_uint_eq(pt->mis_start[p], mstart[p]);
    }
    for (size_t q = 0; q < 4; q++) ck_assert_uint_eq(pt->mis[q], mis[q]);
    ck_assert_uint_eq(pt->n_missing, 7);
    ck_assert_uint_eq(pt->n_mis[0], 2);
    ck_assert_uint_eq(pt->n_mis[1], 4);
    ck_assert_uint_eq(pt->n_mis[2], 1);
    lz_patterns_free(pt);
    dt.miss = NULL;
    pt = lz_patterns_make(&dt);
    ck_assert_ptr_nonnull(pt);
    ck_assert_uint_eq(pt->n_pat, 1);
    ck_assert_uint_eq(pt->pat_start[1], n);
    ck_assert_uint_eq(pt->mis_start[1], 0);
    ck_assert_uint_eq(pt->n_missing, 0);
    lz_patterns_free(pt);
}
END_TEST

/* the moments of data with missing values are those of each column's
 * observed values; a column with none observed is an error naming it */
START_TEST(moments_of_observed_values)
{
    size_t n = 5, d = 3;
    double x[5 * 3] = {1, 0, 7, 0, 2, 7, 3, 0, 7, 0, 4, 0, 5, 0, 7};
    unsigned char miss[5 * 3] = {0, 1, 0, 1, 0, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0};
    lz_data dt = {.n = n, .d = d, .x = x, .miss = miss, .label_field = -1, .path = "m.csv"};
    double mu[3], var[3];
    size_t nc = 9;
    lz_error e;
    ck_assert_int_eq(lz_data_moments(&dt, mu, var, &nc, &e), LZ_OK);
    /* column 1: 1 3 5; column 2: 2 4; column 3: 7 7 7 7 (constant) */
    ck_assert(mu[0] == 3.0 && var[0] == 8.0 / 3.0);
    ck_assert(mu[1] == 3.0 && var[1] == 1.0);
    ck_assert(mu[2] == 7.0 && var[2] == 0.0);
    ck_assert_uint_eq(nc, 1);
    for (size_t i = 1; i < n * d; i += d) miss[i] = 1; /* column 2: none observed */
    ck_assert_int_eq(lz_data_moments(&dt, mu, var, NULL, &e), LZ_EINVAL);
    ck_assert_msg(strstr(e.msg, "m.csv: column 2: every value is missing"), "%s", e.msg);
}
END_TEST

/* completed values far outside the observed ones: beyond [lo, hi] by more
 * than hi - lo, column by column (the observed values of xfill, whatever
 * data->x holds); a column of one observed value is not judged, a NaN fill
 * is far; the farthest in spans of its column is named */
START_TEST(far_fills_counted_and_named)
{
    size_t n = 5, d = 3;
    /* observed: column 1 in [0, 4] (span 4), column 2 in [10, 12] (span 2),
     * column 3 always 7 */
    double xf[5 * 3] = {0, 10, 7, 9.5, 11, 7, 4, 16.5, 7, 2, 12, -100, -4.5, 7.9, 7};
    unsigned char miss[5 * 3] = {0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 0};
    double x[5 * 3] = {0}; /* data->x: centred or zeroed, not read */
    lz_data dt = {.n = n, .d = d, .x = x, .miss = miss, .label_field = -1, .path = "f.csv"};
    dt.n_miss = 5;
    lz_far_fill f;
    lz_error e;
    ck_assert_int_eq(lz_far_fills(&dt, xf, &f, &e), LZ_OK);
    /* row 2: 9.5 > 4 + 4 (1.375 spans out); row 3: 16.5 > 12 + 2 (2.25);
     * row 4: -100 in the constant column (not judged); row 5: -4.5 < 0 - 4
     * (1.125) and 7.9 < 10 - 2 (1.05) */
    ck_assert_uint_eq(f.n_far, 4);
    ck_assert_uint_eq(f.n_rows, 3);
    ck_assert_uint_eq(f.row, 2);
    ck_assert_uint_eq(f.col, 1);
    ck_assert(f.value == 16.5 && f.lo == 10 && f.hi == 12);
    char buf[512];
    lz_far_fill_text(&dt, &f, buf, sizeof buf);
    ck_assert_msg(strstr(buf, "3 rows hold 4 completed values") &&
                      strstr(buf, "16.5 at f.csv: row 3, column 2, observed in [10, 12]"),
                  "%s", buf);
    /* just inside: 8 = lo - span is not far; a NaN is, and is the farthest */
    xf[4 * 3 + 1] = 8;
    xf[1 * 3 + 0] = NAN;
    ck_assert_int_eq(lz_far_fills(&dt, xf, &f, &e), LZ_OK);
    ck_assert_uint_eq(f.n_far, 3);
    ck_assert(f.row == 1 && f.col == 0 && isnan(f.value));
    /* complete data: nothing to judge */
    dt.miss = NULL;
    dt.n_miss = 0;
    ck_assert_int_eq(lz_far_fills(&dt, xf, &f, &e), LZ_OK);
    ck_assert_uint_eq(f.n_far, 0);
}
END_TEST

/* missing values, labels that are words, skipped columns: the data set
 * records each, subsets and splits keep them, a test set's words are coded
 * in the training set's classes */
START_TEST(missing_words_and_skipped_columns)
{
    write_text(tmp_path("iris.csv"), "\xef\xbb\xbf\"id\",\"sl\",\"sw\",\"variety\"\n"
                                     "7,5.1,NA,\"Setosa\"\n"
                                     "3,,3.0,Versicolor\n"
                                     "9,4.7,3.2,\"Setosa\"\n"
                                     "4,6.3,?,Virginica\n"
                                     "5,5.8,nan,Versicolor\n");
    int skip[1] = {1};
    lz_read_opts o = {.label_col = LZ_LABEL_LAST, .min_rows = 1, .skip = skip, .n_skip = 1};
    lz_data *dt = NULL;
    lz_error e;
    ck_assert_msg(lz_data_read(tmp_path("iris.csv"), &o, &dt, &e) == LZ_OK, "%s", e.msg);
    ck_assert_uint_eq(dt->n, 5);
    ck_assert_uint_eq(dt->d, 2);
    ck_assert_uint_eq(dt->n_miss, 4);
    static const unsigned char miss[10] = {0, 1, 1, 0, 0, 0, 0, 1, 0, 1};
    for (size_t i = 0; i < 10; i++) {
        ck_assert_uint_eq(dt->miss[i], miss[i]);
        if (miss[i]) ck_assert(dt->x[i] == 0.0);
    }
    ck_assert(dt->x[0] == 5.1 && dt->x[4] == 4.7 && dt->x[5] == 3.2);
    /* classes in order of first appearance */
    ck_assert_uint_eq(dt->n_classes, 3);
    ck_assert_str_eq(dt->label_names[0], "Setosa");
    ck_assert_str_eq(dt->label_names[1], "Versicolor");
    ck_assert_str_eq(dt->label_names[2], "Virginica");
    static const double y[5] = {0, 1, 0, 2, 1};
    for (size_t i = 0; i < 5; i++) ck_assert(dt->y[i] == y[i]);
    /* names and fields skip the id column and the label */
    char where[128];
    lz_data_where(dt, 3, 1, where, sizeof where);
    ck_assert_msg(strstr(where, "iris.csv:5: field 3 (sw)"), "%s", where);
    ck_assert_int_eq(lz_data_require_complete(dt, "prog", &e), LZ_EINVAL);
    ck_assert_msg(strstr(e.msg, "iris.csv:2: field 3 (sw): missing: prog needs every value"), "%s",
                  e.msg);
    /* a subset keeps the missing values and the classes */
    size_t idx[2] = {3, 1};
    lz_data *sub = lz_data_subset(dt, idx, 2);
    ck_assert_ptr_nonnull(sub);
    ck_assert_uint_eq(sub->n_miss, 2);
    ck_assert(sub->miss[1] == 1 && sub->miss[2] == 1 && sub->miss[0] == 0 && sub->miss[3] == 0);
    ck_assert(sub->y[0] == 2 && sub->y[1] == 1);
    ck_assert_str_eq(sub->label_names[2], "Virginica");
    lz_data_free(sub);
    /* a test set: Virginica known, Nova new (the next code), Setosa known */
    write_text(tmp_path("iris_test.csv"), "id,sl,sw,variety\n1,6,3,Virginica\n2,5,3,Nova\n"
                                          "8,5,2,Setosa\n");
    lz_data *te = NULL;
    ck_assert_msg(lz_data_read(tmp_path("iris_test.csv"), &o, &te, &e) == LZ_OK, "%s", e.msg);
    size_t n_new = 0;
    ck_assert_int_eq(lz_data_align_labels(dt, te, &n_new, &e), LZ_OK);
    ck_assert_uint_eq(n_new, 1);
    ck_assert(te->y[0] == 2 && te->y[1] == 3 && te->y[2] == 0);
    ck_assert_uint_eq(dt->n_classes, 4);
    ck_assert_uint_eq(te->n_classes, 4);
    ck_assert_str_eq(dt->label_names[3], "Nova");
    ck_assert_str_eq(te->label_names[3], "Nova");
    lz_data_free(te);
    /* numbers in the test file against words: an error */
    write_text(tmp_path("iris_num.csv"), "id,sl,sw,variety\n1,6,3,2\n");
    ck_assert_int_eq(lz_data_read(tmp_path("iris_num.csv"), &o, &te, &e), LZ_OK);
    ck_assert_int_eq(lz_data_align_labels(dt, te, &n_new, &e), LZ_EFORMAT);
    ck_assert_msg(strstr(e.msg, "the labels are numbers"), "%s", e.msg);
    lz_data_free(te);
    lz_data_free(dt);
    /* one more missing-value token; --skip-col past the last column */
    write_text(tmp_path("dash.csv"), "1,-\n2,3\n");
    lz_read_opts od = {.label_col = LZ_LABEL_NONE, .missing = "-"};
    ck_assert_int_eq(lz_data_read(tmp_path("dash.csv"), &od, &dt, &e), LZ_OK);
    ck_assert_uint_eq(dt->n_miss, 1);
    lz_data_free(dt);
    int far[1] = {3};
    lz_read_opts of = {.label_col = LZ_LABEL_NONE, .skip = far, .n_skip = 1};
    ck_assert_int_eq(lz_data_read(tmp_path("dash.csv"), &of, &dt, &e), LZ_EINVAL);
    ck_assert_msg(strstr(e.msg, "--skip-col 3: the file has 2 columns"), "%s", e.msg);
    size_t ns = 0;
    int cols[4];
    const char *names[4];
    char spec[] = "2,b c,5", zero[] = "0", empty[] = "2,,3";
    ck_assert_int_eq(lz_parse_skip_cols(spec, cols, names, 4, &ns, &e), LZ_OK);
    ck_assert(ns == 3 && cols[0] == 2 && !names[0] && cols[1] == 0 && !strcmp(names[1], "b c") &&
              cols[2] == 5 && !names[2]);
    ns = 0;
    ck_assert_int_eq(lz_parse_skip_cols(zero, cols, names, 4, &ns, &e), LZ_EINVAL);
    ns = 0;
    ck_assert_int_eq(lz_parse_skip_cols(empty, cols, names, 4, &ns, &e), LZ_EINVAL);
    /* --skip-col by name: looked up in the header, as --label-col is */
    write_text(tmp_path("named.csv"), "a,b,c,cls\n1,2,3,0\n4,5,6,1\n");
    int zc[1] = {0};
    const char *bn[1] = {"b"};
    lz_read_opts on = {.label_col = LZ_LABEL_NONE, .skip = zc, .n_skip = 1, .skip_name = bn};
    ck_assert_int_eq(lz_data_read(tmp_path("named.csv"), &on, &dt, &e), LZ_OK);
    ck_assert(dt->d == 3 && dt->field[0] == 1 && dt->field[1] == 3 && dt->field[2] == 4);
    ck_assert(dt->x[0] == 1 && dt->x[1] == 3 && dt->x[3] == 4 && dt->x[4] == 6);
    lz_data_free(dt);
    const char *nope[1] = {"e"}, *cls[1] = {"cls"};
    on.skip_name = nope;
    ck_assert_int_eq(lz_data_read(tmp_path("named.csv"), &on, &dt, &e), LZ_EINVAL);
    ck_assert_msg(strstr(e.msg, "--skip-col 'e': no column of that name"), "%s", e.msg);
    on.skip_name = cls;
    on.label_col = LZ_LABEL_NAME;
    on.label_name = "cls";
    ck_assert_int_eq(lz_data_read(tmp_path("named.csv"), &on, &dt, &e), LZ_EINVAL);
    ck_assert_msg(strstr(e.msg, "--skip-col cls, field 4 is the --label-col"), "%s", e.msg);
    on.skip_name = bn;
    on.label_col = LZ_LABEL_NONE;
    ck_assert_int_eq(lz_data_read(tmp_path("dash.csv"), &on, &dt, &e), LZ_EINVAL);
    ck_assert_msg(strstr(e.msg, "--skip-col 'b': the file has no header line"), "%s", e.msg);
}
END_TEST

START_TEST(label_col_parsing)
{
    int v;
    lz_error e;
    ck_assert_int_eq(lz_parse_label_col("last", &v, &e), LZ_OK);
    ck_assert_int_eq(v, LZ_LABEL_LAST);
    ck_assert_int_eq(lz_parse_label_col("none", &v, &e), LZ_OK);
    ck_assert_int_eq(v, LZ_LABEL_NONE);
    ck_assert_int_eq(lz_parse_label_col("3", &v, &e), LZ_OK);
    ck_assert_int_eq(v, 3);
    ck_assert_int_ne(lz_parse_label_col("0", &v, &e), LZ_OK);
    ck_assert_int_ne(lz_parse_label_col("", &v, &e), LZ_OK);
    ck_assert_ptr_nonnull(strstr(e.msg, "--label-col"));
    /* a word that is no number: a column's name, looked up in the header */
    ck_assert_int_eq(lz_parse_label_col("2x", &v, &e), LZ_OK);
    ck_assert_int_eq(v, LZ_LABEL_NAME);
}
END_TEST

/* ------------------------------------------------------------------ */
/* IDX */

static size_t make_idx(unsigned char *b, unsigned type, unsigned ndim, const unsigned *dims,
                       const unsigned char *payload, size_t plen)
{
    size_t n = 0;
    b[n++] = 0;
    b[n++] = 0;
    b[n++] = (unsigned char)type;
    b[n++] = (unsigned char)ndim;
    for (unsigned i = 0; i < ndim; i++) {
        b[n++] = (unsigned char)(dims[i] >> 24);
        b[n++] = (unsigned char)(dims[i] >> 16);
        b[n++] = (unsigned char)(dims[i] >> 8);
        b[n++] = (unsigned char)dims[i];
    }
    memcpy(b + n, payload, plen);
    return n + plen;
}

START_TEST(idx_images_with_sibling_labels_plain_and_gzip)
{
    unsigned char pix[3 * 2 * 2], lab[3] = {7, 0, 9}, b[256];
    for (int i = 0; i < 12; i++) pix[i] = (unsigned char)(i * 20);
    unsigned dims[3] = {3, 2, 2}, ld[1] = {3};
    size_t n = make_idx(b, 0x08, 3, dims, pix, sizeof pix);
    /* images plain, labels gzipped: the reader finds either */
    write_file(tmp_path("set-images-idx3-ubyte"), b, n);
    size_t ln = make_idx(b, 0x08, 1, ld, lab, sizeof lab);
    gzFile gz = gzopen(tmp_path("set-labels-idx1-ubyte.gz"), "wb");
    ck_assert_ptr_nonnull(gz);
    ck_assert_int_eq(gzwrite(gz, b, (unsigned)ln), (int)ln);
    gzclose(gz);
    lz_data *d;
    lz_error e;
    ck_assert_int_eq(lz_data_read(tmp_path("set-images-idx3-ubyte"), NULL, &d, &e), LZ_OK);
    ck_assert_uint_eq(d->n, 3);
    ck_assert_uint_eq(d->d, 4);
    ck_assert_uint_eq(d->img_rows, 2);
    ck_assert_uint_eq(d->img_cols, 2);
    for (int i = 0; i < 12; i++) ck_assert_double_eq(d->x[i], pix[i] / 255.0);
    ck_assert_ptr_nonnull(d->y);
    for (int i = 0; i < 3; i++) ck_assert_double_eq(d->y[i], lab[i]);
    lz_data_free(d);
}
END_TEST

START_TEST(idx_errors)
{
    unsigned char pix[8] = {0}, b[64];
    unsigned dims[3] = {2, 2, 2};
    size_t n = make_idx(b, 0x08, 3, dims, pix, sizeof pix);
    write_file(tmp_path("short-images-idx3-ubyte"), b, n - 3);
    expect_read_error("short-images-idx3-ubyte", NULL, 0, 1, "truncated IDX");
    write_file(tmp_path("long-images-idx3-ubyte"), b, n);
    FILE *f = fopen(tmp_path("long-images-idx3-ubyte"), "ab");
    fputc(1, f);
    fclose(f);
    expect_read_error("long-images-idx3-ubyte", NULL, 0, 1, "past the");
    b[2] = 0x07; /* no such type */
    write_file(tmp_path("magic-images-idx3-ubyte"), b, n);
    expect_read_error("magic-images-idx3-ubyte", NULL, 0, 1, "bad IDX magic");
    unsigned char text[] = "PK\3\4 not an idx";
    write_file(tmp_path("zip.idx"), text, sizeof text - 1);
    expect_read_error("zip.idx", NULL, 0, 1, "bad IDX magic");
    unsigned ld[1] = {3};
    n = make_idx(b, 0x08, 1, ld, pix, 3);
    write_file(tmp_path("only-labels-idx1-ubyte"), b, n);
    expect_read_error("only-labels-idx1-ubyte", NULL, 0, 1, "holds labels");
    /* a gzip stream cut short */
    n = make_idx(b, 0x08, 3, dims, pix, sizeof pix);
    gzFile gz = gzopen(tmp_path("cut-images-idx3-ubyte.gz"), "wb");
    gzwrite(gz, b, (unsigned)n);
    gzclose(gz);
    FILE *g = fopen(tmp_path("cut-images-idx3-ubyte.gz"), "rb");
    unsigned char zb[256];
    size_t zn = fread(zb, 1, sizeof zb, g);
    fclose(g);
    write_file(tmp_path("cut-images-idx3-ubyte.gz"), zb, zn - 6);
    expect_read_error("cut-images-idx3-ubyte.gz", NULL, 0, 1, "gzip");
    /* a corrupt check sum: zlib's message without the path said twice */
    zb[zn - 5] ^= 0xff;
    write_file(tmp_path("crc-images-idx3-ubyte.gz"), zb, zn);
    expect_read_error("crc-images-idx3-ubyte.gz", NULL, 0, 1, "cannot decompress: incorrect");
    /* three bytes: too short for a magic number, not "magic 0x00000000" */
    write_file(tmp_path("tiny-images-idx3-ubyte"), b, 3);
    expect_read_error("tiny-images-idx3-ubyte", NULL, 0, 1,
                      "truncated IDX header: 3 bytes, expected at least 4");
    /* --skip-col: IDX data has no column to skip (it was ignored) */
    n = make_idx(b, 0x08, 3, dims, pix, sizeof pix);
    write_file(tmp_path("skip-images-idx3-ubyte"), b, n);
    int skip[1] = {2};
    lz_read_opts o = {.label_col = LZ_LABEL_NONE, .min_rows = 1, .skip = skip, .n_skip = 1};
    lz_data *d = NULL;
    lz_error e;
    ck_assert_int_eq(lz_data_read(tmp_path("skip-images-idx3-ubyte"), &o, &d, &e), LZ_EINVAL);
    ck_assert_ptr_null(d);
    ck_assert_msg(strstr(e.msg, "--skip-col 2: IDX data has no columns to skip"), "%s", e.msg);
}
END_TEST

/* A header whose element count x element size wraps around 2^64 (here
 * 2^31 x 2^30 x 1 doubles = 2^64 bytes, "0 bytes") is an error, not a
 * zero-byte allocation written past; under either file name. */
START_TEST(idx_size_overflow)
{
    const unsigned char hdr[16] = {0, 0, 0x0e, 3, 0x80, 0, 0, 0, 0x40, 0, 0, 0, 0, 0, 0, 1};
    write_file(tmp_path("x.idx"), hdr, sizeof hdr);
    expect_read_error("x.idx", NULL, 0, 1,
                      "x.idx: IDX header: dimensions 2147483648 x 1073741824 x 1");
    write_file(tmp_path("wrap-images-idx3-ubyte"), hdr, sizeof hdr);
    expect_read_error("wrap-images-idx3-ubyte", NULL, 0, 1, "overflow");
    /* the count alone wraps: 2^32 x 2^32 bytes */
    const unsigned char h2[12] = {0, 0, 0x08, 2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    write_file(tmp_path("count.idx"), h2, sizeof h2);
    expect_read_error("count.idx", NULL, 0, 1, "truncated IDX file");
}
END_TEST

/* IDX labels come from the sibling file: --label-col is refused, and a label
 * that is not finite is named by file and byte offset. */
START_TEST(idx_labels_label_col_and_nan)
{
    unsigned char pix[2 * 2 * 2] = {1, 2, 3, 4, 5, 6, 7, 8}, b[256];
    unsigned dims[3] = {2, 2, 2}, ld[1] = {2};
    size_t n = make_idx(b, 0x08, 3, dims, pix, sizeof pix);
    write_file(tmp_path("s-images-idx3-ubyte"), b, n);
    lz_data *d;
    lz_error e;
    lz_read_opts o = {.label_col = LZ_LABEL_LAST, .min_rows = 1};
    ck_assert_int_eq(lz_data_read(tmp_path("s-images-idx3-ubyte"), &o, &d, &e), LZ_EINVAL);
    ck_assert_ptr_null(d);
    ck_assert_ptr_nonnull(strstr(e.msg, "--label-col last: IDX data has no label column"));
    o.label_col = 2;
    ck_assert_int_eq(lz_data_read(tmp_path("s-images-idx3-ubyte"), &o, &d, &e), LZ_EINVAL);
    ck_assert_ptr_nonnull(strstr(e.msg, "--label-col 2"));
    /* float labels (big-endian): 3.0, then NaN at byte 8 + 4 = 12 */
    unsigned char lab[8] = {0x40, 0x40, 0, 0, 0x7f, 0xc0, 0, 0};
    size_t ln = make_idx(b, 0x0D, 1, ld, lab, sizeof lab);
    write_file(tmp_path("s-labels-idx1-ubyte"), b, ln);
    ck_assert_int_eq(lz_data_read(tmp_path("s-images-idx3-ubyte"), NULL, &d, &e), LZ_EFORMAT);
    ck_assert_ptr_null(d);
    ck_assert_msg(strstr(e.msg, "s-labels-idx1-ubyte: byte 12: label 2 is not a finite number"),
                  "%s", e.msg);
    lab[4] = 0x3f, lab[5] = 0x80; /* 1.0: read */
    ln = make_idx(b, 0x0D, 1, ld, lab, sizeof lab);
    write_file(tmp_path("s-labels-idx1-ubyte"), b, ln);
    ck_assert_int_eq(lz_data_read(tmp_path("s-images-idx3-ubyte"), NULL, &d, &e), LZ_OK);
    ck_assert_double_eq(d->y[0], 3.0);
    ck_assert_double_eq(d->y[1], 1.0);
    lz_data_free(d);
}
END_TEST

/* Blank lines reserve nothing: a first row of 300000 fields, then 700000
 * blank lines and a second row (2 MB).  Reserving lines x columns up front
 * would ask for 1.7 TB. */
START_TEST(text_blank_lines_reserve_nothing)
{
    const size_t d = 300000, blank = 700000;
    FILE *f = fopen(tmp_path("wide.txt"), "w");
    ck_assert_ptr_nonnull(f);
    for (size_t j = 0; j < d; j++) fputs(j ? " 1" : "1", f);
    fputc('\n', f);
    for (size_t i = 0; i < blank; i++) fputc('\n', f);
    for (size_t j = 0; j < d; j++) fprintf(f, j ? " %zu" : "%zu", j % 7);
    fputc('\n', f);
    fclose(f);
    lz_data *dt;
    lz_error e;
    ck_assert_msg(lz_data_read(tmp_path("wide.txt"), NULL, &dt, &e) == LZ_OK, "%s", e.msg);
    ck_assert_uint_eq(dt->n, 2);
    ck_assert_uint_eq(dt->d, d);
    for (size_t j = 0; j < d; j++) {
        ck_assert(dt->x[j] == 1.0);
        ck_assert(dt->x[d + j] == (double)(j % 7));
    }
    ck_assert_uint_eq(dt->line[1], blank + 2);
    lz_data_free(dt);
    /* many rows: the storage grows as rows come, the values stay in order */
    f = fopen(tmp_path("tall.csv"), "w");
    for (int i = 0; i < 5000; i++) fprintf(f, "%d,%d,%d\n", i, -i, 2 * i);
    fclose(f);
    lz_read_opts o = {.label_col = LZ_LABEL_LAST, .min_rows = 1};
    ck_assert_int_eq(lz_data_read(tmp_path("tall.csv"), &o, &dt, &e), LZ_OK);
    ck_assert_uint_eq(dt->n, 5000);
    for (int i = 0; i < 5000; i++) {
        ck_assert(dt->x[2 * i] == i && dt->x[2 * i + 1] == -i && dt->y[i] == 2 * i);
        ck_assert_uint_eq(dt->line[i], (size_t)i + 1);
    }
    lz_data_free(dt);
}
END_TEST

/* A UTF-8 byte-order mark is skipped: it is neither part of the first number
 * nor of the first column name. */
START_TEST(text_utf8_bom)
{
    write_text(tmp_path("bom.csv"), "\xEF\xBB\xBF"
                                    "1.288,2\n3,4\n");
    lz_data *d;
    lz_error e;
    ck_assert_msg(lz_data_read(tmp_path("bom.csv"), NULL, &d, &e) == LZ_OK, "%s", e.msg);
    ck_assert_uint_eq(d->n, 2);
    ck_assert_double_eq(d->x[0], 1.288);
    lz_data_free(d);
    write_text(tmp_path("bomh.csv"), "\xEF\xBB\xBF"
                                     "a,b\n1,2\n3,4\n");
    ck_assert_int_eq(lz_data_read(tmp_path("bomh.csv"), NULL, &d, &e), LZ_OK);
    ck_assert_uint_eq(d->n, 2);
    ck_assert_str_eq(d->names[0], "a");
    lz_data_free(d);
}
END_TEST

/* A field in double quotes may hold the delimiter and "" for a quote (RFC
 * 4180, as R's read.csv reads it): a label "Washington, DC" is one field;
 * a quoted number is a number; a quote left open or followed by text is read
 * as written (then not a number: an error naming the field) */
START_TEST(text_quoted_fields)
{
    write_text(tmp_path("q.csv"), "a,\"b, c\",city\n1,\"2\",\"Washington, DC\"\n"
                                  "3,4,Boston\n5, \"7\" ,\"say \"\"hi\"\", ok\"\n");
    lz_data *d;
    lz_error e;
    lz_read_opts o = {.label_col = LZ_LABEL_LAST, .min_rows = 1};
    ck_assert_msg(lz_data_read(tmp_path("q.csv"), &o, &d, &e) == LZ_OK, "%s", e.msg);
    ck_assert_uint_eq(d->n, 3);
    ck_assert_uint_eq(d->d, 2);
    ck_assert_str_eq(d->names[1], "b, c");
    double want[6] = {1, 2, 3, 4, 5, 7};
    for (size_t i = 0; i < 6; i++) ck_assert_double_eq(d->x[i], want[i]);
    ck_assert_str_eq(d->label_names[0], "Washington, DC");
    ck_assert_str_eq(d->label_names[1], "Boston");
    ck_assert_str_eq(d->label_names[2], "say \"hi\", ok");
    lz_data_free(d);
    /* the delimiter is told outside the quotes: a header's "b;c" is one
     * comma-separated column, not the sign of a ';'-separated file */
    write_text(tmp_path("qs.csv"), "a,\"b;c\",d\n1,2,3\n4,5,7\n");
    ck_assert_msg(lz_data_read(tmp_path("qs.csv"), NULL, &d, &e) == LZ_OK, "%s", e.msg);
    ck_assert_uint_eq(d->d, 3);
    ck_assert_str_eq(d->names[1], "b;c");
    ck_assert_double_eq(d->x[5], 7);
    lz_data_free(d);
    ck_assert_int_eq(expect_read_error("q2.csv", "a,b\n\"1,234\",2\n3,4\n", 0, 1,
                                       "q2.csv:2: field 1 (a): expected a number, got '1,234'"),
                     LZ_EFORMAT);
    ck_assert_int_eq(expect_read_error("q3.csv", "a,b\n\"1\"x,2\n3,4\n", 0, 1,
                                       "q3.csv:2: field 1 (a): expected a number, got '\"1\"x'"),
                     LZ_EFORMAT);
    ck_assert_int_eq(
        expect_read_error("q4.csv", "a,b\n\"1,2\n3,4\n", 0, 1, "q4.csv:2: field 1 (a)"),
        LZ_EFORMAT);
}
END_TEST

/* ';'-separated text, as spreadsheets write in decimal-comma locales: the
 * same numbers as the ','-separated file with decimal points; a word with a
 * comma stays a word */
START_TEST(text_semicolons_decimal_commas)
{
    write_text(tmp_path("pt.csv"), "a,b,c\n1.5,-2,3e-1\n4,0.25,7\n");
    write_text(tmp_path("sc.csv"), "a;b;c;lab\n1,5;-2;3e-1;\"x, y\"\n4;0,25;7;z\n");
    lz_data *p, *q;
    lz_error e;
    lz_read_opts o = {.label_col = LZ_LABEL_LAST, .min_rows = 1};
    ck_assert_msg(lz_data_read(tmp_path("pt.csv"), NULL, &p, &e) == LZ_OK, "%s", e.msg);
    ck_assert_msg(lz_data_read(tmp_path("sc.csv"), &o, &q, &e) == LZ_OK, "%s", e.msg);
    ck_assert_uint_eq(q->n, 2);
    ck_assert_uint_eq(q->d, 3);
    for (size_t i = 0; i < 6; i++) ck_assert_double_eq(p->x[i], q->x[i]);
    ck_assert_str_eq(q->names[2], "c");
    ck_assert_ptr_nonnull(q->label_names);
    ck_assert_str_eq(q->label_names[0], "x, y");
    lz_data_free(p);
    lz_data_free(q);
    /* two commas are not a number */
    ck_assert_int_eq(expect_read_error("sc2.csv", "a;b\n1,5,1;2\n", 0, 0, "sc2.csv:2: field 1 (a)"),
                     LZ_EFORMAT);
}
END_TEST

/* --label-col NAME: the header's column of that name, the same data as its
 * number; no such name, or no header, is an error naming the file and line */
START_TEST(text_label_by_name)
{
    write_text(tmp_path("ln.csv"), "a,\"kind\",b\n1,x,2\n3,y,4\n5,x,7\n");
    write_text(tmp_path("lnn.csv"), "1,x,2\n3,y,4\n");
    lz_data *p, *q;
    lz_error e;
    lz_read_opts o = {.label_col = 2, .min_rows = 1};
    ck_assert_msg(lz_data_read(tmp_path("ln.csv"), &o, &p, &e) == LZ_OK, "%s", e.msg);
    ck_assert_int_eq(lz_parse_label_col("kind", &o.label_col, &e), LZ_OK);
    ck_assert_int_eq(o.label_col, LZ_LABEL_NAME);
    o.label_name = "kind";
    ck_assert_msg(lz_data_read(tmp_path("ln.csv"), &o, &q, &e) == LZ_OK, "%s", e.msg);
    ck_assert_uint_eq(q->d, 2);
    ck_assert_int_eq(q->label_field, 1);
    for (size_t i = 0; i < 6; i++) ck_assert_double_eq(p->x[i], q->x[i]);
    for (size_t i = 0; i < 3; i++) ck_assert_double_eq(p->y[i], q->y[i]);
    lz_data_free(p);
    lz_data_free(q);
    o.label_name = "kinds";
    ck_assert_int_eq(lz_data_read(tmp_path("ln.csv"), &o, &q, &e), LZ_EINVAL);
    ck_assert_msg(strstr(e.msg, "ln.csv:1: --label-col 'kinds': no column of that name") != NULL,
                  "%s", e.msg);
    o.label_name = "kind";
    ck_assert_int_eq(lz_data_read(tmp_path("lnn.csv"), &o, &q, &e), LZ_EINVAL);
    ck_assert_msg(strstr(e.msg, "lnn.csv:1: --label-col 'kind': the file has no header") != NULL,
                  "%s", e.msg);
    /* a "# a kind b" line before the data names the columns too (this
     * project's .dat files) */
    write_text(tmp_path("lnc.dat"), "# a kind b\n1 0 2\n3 1 4\n5 0 7\n");
    ck_assert_msg(lz_data_read(tmp_path("lnc.dat"), &o, &q, &e) == LZ_OK, "%s", e.msg);
    ck_assert_int_eq(q->label_field, 1);
    ck_assert_uint_eq(q->d, 2);
    ck_assert_double_eq(q->x[2], 3);
    lz_data_free(q);
    o.label_name = "kinds";
    ck_assert_int_eq(lz_data_read(tmp_path("lnc.dat"), &o, &q, &e), LZ_EINVAL);
    ck_assert_msg(strstr(e.msg, "--label-col 'kinds': no column of that name") != NULL, "%s",
                  e.msg);
    /* a '#' line that does not name each column is no header, and said so */
    write_text(tmp_path("hash3.csv"), "# a b c\n1,2,3,4\n5,6,7,8\n");
    o.label_name = "c";
    ck_assert_int_eq(lz_data_read(tmp_path("hash3.csv"), &o, &q, &e), LZ_EINVAL);
    ck_assert_msg(strstr(e.msg, "no header line of names (its '#' line before the data does not "
                                "name each column)") != NULL,
                  "%s", e.msg);
    /* a name the header gives twice: which column is not guessed */
    write_text(tmp_path("dup.csv"), "kind,x,kind\n1,2,3\n4,5,6\n");
    o.label_name = "kind";
    ck_assert_int_eq(lz_data_read(tmp_path("dup.csv"), &o, &q, &e), LZ_EINVAL);
    ck_assert_msg(strstr(e.msg, "dup.csv:1: --label-col 'kind': the header names fields 1 and 3") !=
                      NULL,
                  "%s", e.msg);
    /* numbers that are no column stay errors */
    ck_assert_int_eq(lz_parse_label_col("0", &o.label_col, &e), LZ_EINVAL);
    ck_assert_int_eq(lz_parse_label_col("-2", &o.label_col, &e), LZ_EINVAL);
}
END_TEST

/* ------------------------------------------------------------------ */
/* split, subset, compat */

START_TEST(split_is_deterministic_and_a_partition)
{
    size_t n = 101, dd = 2;
    lz_data all = {0};
    all.n = n;
    all.d = dd;
    all.x = malloc(n * dd * sizeof *all.x);
    all.y = malloc(n * sizeof *all.y);
    all.path = "mem";
    for (size_t i = 0; i < n; i++) {
        all.x[2 * i] = (double)i;
        all.x[2 * i + 1] = -(double)i;
        all.y[i] = (double)(i % 10);
    }
    lz_data *tr, *te, *tr2, *te2;
    lz_error e;
    ck_assert_int_eq(lz_data_split(&all, 0.2, 0, &tr, &te, &e), LZ_OK);
    ck_assert_int_eq(lz_data_split(&all, 0.2, 0, &tr2, &te2, &e), LZ_OK);
    ck_assert_uint_eq(te->n, 20);
    ck_assert_uint_eq(tr->n + te->n, n);
    int *seen = calloc(n, sizeof *seen);
    for (size_t i = 0; i < tr->n; i++) seen[(size_t)tr->x[2 * i]]++;
    for (size_t i = 0; i < te->n; i++) seen[(size_t)te->x[2 * i]]++;
    for (size_t i = 0; i < n; i++) ck_assert_int_eq(seen[i], 1);
    for (size_t i = 0; i < te->n; i++) {
        ck_assert_double_eq(te->x[2 * i], te2->x[2 * i]);
        ck_assert_double_eq(te->y[i], (double)((size_t)te->x[2 * i] % 10));
        ck_assert_double_eq(te->x[2 * i + 1], -te->x[2 * i]);
        if (i) ck_assert(te->x[2 * i] > te->x[2 * i - 2]); /* original order kept */
    }
    lz_data_free(tr2);
    lz_data_free(te2);
    ck_assert_int_ne(lz_data_split(&all, 0.001, 0, &tr2, &te2, &e), LZ_OK);
    ck_assert_ptr_null(tr2);
    free(seen);
    lz_data_free(tr);
    lz_data_free(te);
    free(all.x);
    free(all.y);
}
END_TEST

START_TEST(where_names_line_and_field_after_a_split)
{
    /* the label is the file's 2nd column; blank and comment lines shift lines */
    write_text(tmp_path("w.csv"), "a,lab,b\n1,0,2\n\n# c\n3,1,4\n5,0,6\n7,1,8\n");
    lz_read_opts o = {.label_col = 2, .min_rows = 1};
    lz_data *d, *tr, *te;
    lz_error e;
    char buf[256];
    ck_assert_int_eq(lz_data_read(tmp_path("w.csv"), &o, &d, &e), LZ_OK);
    ck_assert_uint_eq(d->line[0], 2);
    ck_assert_uint_eq(d->line[1], 5);
    lz_data_where(d, 1, 1, buf, sizeof buf);
    ck_assert_ptr_nonnull(strstr(buf, "w.csv:5: field 3 (b)"));
    lz_data_where(d, 0, 0, buf, sizeof buf);
    ck_assert_ptr_nonnull(strstr(buf, "w.csv:2: field 1 (a)"));
    /* every row of both parts of a split keeps its own line */
    ck_assert_int_eq(lz_data_split(d, 0.5, 0, &tr, &te, &e), LZ_OK);
    for (size_t i = 0; i < te->n; i++) {
        size_t row = (size_t)(te->x[i * 2] - 1) / 2; /* x = 1, 3, 5, 7 in rows 0..3 */
        ck_assert_uint_eq(te->line[i], d->line[row]);
    }
    lz_data_free(tr);
    lz_data_free(te);
    lz_data_free(d);
}
END_TEST

/* ------------------------------------------------------------------ */
/* moments */

/* column moments: a constant column's mean is its value exactly and its
 * variance exactly 0 (also when the values are rounding-level apart), the
 * other variances match a long-double sum, values too large are named */
START_TEST(column_moments_exact_zero_and_overflow)
{
    size_t n = 53;
    char *text = malloc(n * 128), *p = text;
    for (size_t i = 0; i < n; i++)
        p += sprintf(p, "0.1,%.17g,%.17g,%zu\n", 3.3, i % 2 ? 1.0 : nextafter(1.0, 2.0),
                     (i * 7) % 11);
    write_text(tmp_path("mom.csv"), text);
    lz_data *dt = NULL;
    lz_error e;
    ck_assert_int_eq(lz_data_read(tmp_path("mom.csv"), NULL, &dt, &e), LZ_OK);
    double mu[4], var[4];
    size_t nc = 0;
    ck_assert_int_eq(lz_data_moments(dt, mu, var, &nc, &e), LZ_OK);
    ck_assert_double_eq(mu[0], 0.1); /* 53 copies of 0.1: no rounding left */
    ck_assert_double_eq(mu[1], 3.3);
    ck_assert_double_eq(var[0], 0.0);
    ck_assert_double_eq(var[1], 0.0);
    ck_assert_double_eq(var[2], 0.0); /* 1 and 1 + eps: rounding, not variance */
    ck_assert_uint_eq(nc, 3);
    long double m = 0, v = 0;
    for (size_t i = 0; i < n; i++) m += (long double)((i * 7) % 11);
    m /= n;
    for (size_t i = 0; i < n; i++) v += ((i * 7) % 11 - m) * ((i * 7) % 11 - m);
    ck_assert_double_eq_tol(var[3], (double)(v / n), 1e-14 * (double)(v / n));
    lz_data_free(dt);
    write_text(tmp_path("big.csv"), "1,2\n3,-2e200\n");
    ck_assert_int_eq(lz_data_read(tmp_path("big.csv"), NULL, &dt, &e), LZ_OK);
    ck_assert_int_eq(lz_data_moments(dt, mu, var, NULL, &e), LZ_ENUMERIC);
    ck_assert_msg(strstr(e.msg, "big.csv: field 2: values down to -2e+200 are too large"), "%s",
                  e.msg);
    lz_data_free(dt);
    /* values 1e-200 apart: their variance underflows, so they are refused,
     * not taken as constant; a column of 0s, and one up to 3e-140, are read */
    write_text(tmp_path("small.csv"), "0,1e-200,1e-140\n1,5e-200,0\n2,0,3e-140\n");
    ck_assert_int_eq(lz_data_read(tmp_path("small.csv"), NULL, &dt, &e), LZ_OK);
    ck_assert_int_eq(lz_data_moments(dt, mu, var, NULL, &e), LZ_ENUMERIC);
    ck_assert_msg(strstr(e.msg, "small.csv: field 2: values no larger than 5e-200 are too small"),
                  "%s", e.msg);
    dt->x[1 * 3 + 1] = 0; /* column 2: 1e-200 and 0 */
    dt->x[0 * 3 + 1] = 0; /* now all 0: constant, read */
    ck_assert_int_eq(lz_data_moments(dt, mu, var, NULL, &e), LZ_OK);
    ck_assert(var[1] == 0 && var[2] > 0);
    lz_data_free(dt);
    free(text);
}
END_TEST

START_TEST(covariance_matches_naive_sums)
{
    gsl_rng *r = lz_rng_alloc(3);
    size_t n = 5000, dd = 7; /* more than one dsyrk block */
    double *x = malloc(n * dd * sizeof *x), *mu = malloc(dd * sizeof *mu);
    double *s = malloc(dd * dd * sizeof *s);
    fill_random(r, n * dd, x);
    for (size_t i = 0; i < n * dd; i++) x[i] = 100 + 3 * x[i]; /* far from 0 */
    lz_mean(n, dd, x, mu);
    lz_error e;
    ck_assert_int_eq(lz_covariance(n, dd, x, mu, s, &e), LZ_OK);
    for (size_t a = 0; a < dd; a++) {
        long double m = 0;
        for (size_t i = 0; i < n; i++) m += x[i * dd + a];
        ck_assert_double_eq_tol(mu[a], (double)(m / n), 1e-12 * 100);
        for (size_t b = 0; b < dd; b++) {
            long double c = 0;
            for (size_t i = 0; i < n; i++)
                c += ((long double)x[i * dd + a] - mu[a]) * ((long double)x[i * dd + b] - mu[b]);
            c /= n;
            /* two-pass: error ~ n eps |x - mu|^2 */
            ck_assert_double_eq_tol(s[a * dd + b], (double)c, 1e-11);
            ck_assert_double_eq(s[a * dd + b], s[b * dd + a]);
        }
    }
    free(x);
    free(mu);
    free(s);
    gsl_rng_free(r);
}
END_TEST

/* ------------------------------------------------------------------ */
/* linear algebra */

START_TEST(cholesky_reconstructs_and_solves)
{
    gsl_rng *r = lz_rng_alloc(5);
    for (size_t n = 1; n <= 40; n += 13) {
        double *a = malloc(n * n * sizeof *a), *l = malloc(n * n * sizeof *l);
        double *x = malloc(n * 2 * sizeof *x), *b = malloc(n * 2 * sizeof *b);
        random_spd(r, n, a);
        memcpy(l, a, n * n * sizeof *l);
        for (size_t i = 0; i < n; i++) /* only the lower triangle is read */
            for (size_t j = i + 1; j < n; j++) l[i * n + j] = NAN;
        lz_error e;
        ck_assert_int_eq(lz_chol(n, l, &e), LZ_OK);
        double scale = 0;
        for (size_t i = 0; i < n * n; i++) scale = fmax(scale, fabs(a[i]));
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++) {
                double s = 0;
                for (size_t t = 0; t < n; t++) s += l[i * n + t] * l[j * n + t];
                ck_assert_double_eq_tol(s, a[i * n + j], 10 * n * 2.2e-16 * scale);
                if (j > i) ck_assert_double_eq(l[i * n + j], 0);
            }
        /* solve A X = B and check the residual */
        fill_random(r, n * 2, x);
        memcpy(b, x, n * 2 * sizeof *b);
        ck_assert_int_eq(lz_chol_solve(n, l, 2, b, &e), LZ_OK);
        for (size_t i = 0; i < n; i++)
            for (size_t c = 0; c < 2; c++) {
                double s = 0;
                for (size_t t = 0; t < n; t++) s += a[i * n + t] * b[t * 2 + c];
                ck_assert_double_eq_tol(s, x[i * 2 + c], 100 * n * 2.2e-16);
            }
        /* one right-hand side (its own code path): the same residual */
        double *b1 = malloc(n * sizeof *b1);
        for (size_t i = 0; i < n; i++) b1[i] = x[i * 2 + 1];
        ck_assert_int_eq(lz_chol_solve(n, l, 1, b1, &e), LZ_OK);
        for (size_t i = 0; i < n; i++) {
            double s = 0;
            for (size_t t = 0; t < n; t++) s += a[i * n + t] * b1[t];
            ck_assert_double_eq_tol(s, x[i * 2 + 1], 100 * n * 2.2e-16);
        }
        free(b1);
        /* log-determinant against the product of eigenvalues */
        double *w = malloc(n * sizeof *w), *v = malloc(n * n * sizeof *v),
               *c = malloc(n * n * sizeof *c);
        memcpy(c, a, n * n * sizeof *c);
        ck_assert_int_eq(lz_eigh(n, c, w, v, &e), LZ_OK);
        double ld = 0;
        for (size_t i = 0; i < n; i++) ld += log(w[i]);
        ck_assert_double_eq_tol(lz_chol_logdet(n, l), ld, 1e-12 * fmax(1, fabs(ld)));
        /* the inverse times A is I */
        memcpy(c, a, n * n * sizeof *c);
        double ld2;
        ck_assert_int_eq(lz_spd_inv(n, c, &ld2, &e), LZ_OK);
        ck_assert_double_eq_tol(ld2, ld, 1e-12 * fmax(1, fabs(ld)));
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++) {
                double s = 0;
                for (size_t t = 0; t < n; t++) s += c[i * n + t] * a[t * n + j];
                ck_assert_double_eq_tol(s, i == j ? 1.0 : 0.0, 100 * n * 2.2e-16);
            }
        free(w);
        free(v);
        free(c);
        free(a);
        free(l);
        free(x);
        free(b);
    }
    /* not positive definite */
    double bad[4] = {1, 2, 2, 1};
    lz_error e;
    ck_assert_int_eq(lz_chol(2, bad, &e), LZ_ENUMERIC);
    ck_assert_ptr_nonnull(strstr(e.msg, "not positive definite"));
    gsl_rng_free(r);
}
END_TEST

START_TEST(eigh_descending_and_reconstructs)
{
    gsl_rng *r = lz_rng_alloc(7);
    size_t n = 30, m = 5;
    double *a = malloc(n * n * sizeof *a), *c = malloc(n * n * sizeof *c);
    double *w = malloc(n * sizeof *w), *v = malloc(n * n * sizeof *v);
    double *wt = malloc(m * sizeof *wt), *vt = malloc(n * m * sizeof *vt);
    random_spd(r, n, a);
    memcpy(c, a, n * n * sizeof *c);
    lz_error e;
    ck_assert_int_eq(lz_eigh(n, c, w, v, &e), LZ_OK);
    for (size_t j = 1; j < n; j++) ck_assert(w[j] <= w[j - 1]);
    /* only the upper triangle is read (the lower may hold anything) */
    double *g = malloc(n * n * sizeof *g), *wg = malloc(n * sizeof *wg);
    memcpy(g, a, n * n * sizeof *g);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < i; j++) g[i * n + j] = NAN;
    ck_assert_int_eq(lz_eigh(n, g, wg, g, &e), LZ_OK);
    for (size_t j = 0; j < n; j++) ck_assert_double_eq_tol(wg[j], w[j], 1e-12 * w[0]);
    free(g);
    free(wg);
    /* A v_j = w_j v_j */
    for (size_t j = 0; j < n; j++)
        for (size_t i = 0; i < n; i++) {
            double s = 0;
            for (size_t t = 0; t < n; t++) s += a[i * n + t] * v[t * n + j];
            ck_assert_double_eq_tol(s, w[j] * v[i * n + j], 1e-12 * w[0]);
        }
    memcpy(c, a, n * n * sizeof *c);
    ck_assert_int_eq(lz_eigh_top(n, c, m, wt, vt, &e), LZ_OK);
    for (size_t j = 0; j < m; j++) {
        ck_assert_double_eq_tol(wt[j], w[j], 1e-12 * w[0]);
        double dot = 0;
        for (size_t i = 0; i < n; i++) dot += vt[i * m + j] * v[i * n + j];
        ck_assert_double_eq_tol(fabs(dot), 1.0, 1e-10);
    }
    free(a);
    free(c);
    free(w);
    free(v);
    free(wt);
    free(vt);
    gsl_rng_free(r);
}
END_TEST

START_TEST(qr_orthonormal_and_reconstructs)
{
    gsl_rng *r = lz_rng_alloc(9);
    size_t m = 20, n = 4;
    double *a = malloc(m * n * sizeof *a), *q = malloc(m * n * sizeof *q), rr[16];
    fill_random(r, m * n, a);
    memcpy(q, a, m * n * sizeof *q);
    lz_error e;
    ck_assert_int_eq(lz_qr(m, n, q, rr, &e), LZ_OK);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            double s = 0;
            for (size_t t = 0; t < m; t++) s += q[t * n + i] * q[t * n + j];
            ck_assert_double_eq_tol(s, i == j ? 1.0 : 0.0, 1e-14);
        }
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            double s = 0;
            for (size_t t = 0; t < n; t++) s += q[i * n + t] * rr[t * n + j];
            ck_assert_double_eq_tol(s, a[i * n + j], 1e-14);
        }
    free(a);
    free(q);
    gsl_rng_free(r);
}
END_TEST

START_TEST(general_solve)
{
    double a[9] = {0, 2, 1, 1, 1, 0, 3, 0, 1}, x[3] = {1, -2, 0.5}, b[3];
    for (int i = 0; i < 3; i++) b[i] = a[3 * i] * x[0] + a[3 * i + 1] * x[1] + a[3 * i + 2] * x[2];
    lz_error e;
    ck_assert_int_eq(lz_solve(3, a, 1, b, &e), LZ_OK);
    for (int i = 0; i < 3; i++) ck_assert_double_eq_tol(b[i], x[i], 1e-14);
    double sing[4] = {1, 2, 2, 4}, sb[2] = {1, 1};
    ck_assert_int_eq(lz_solve(2, sing, 1, sb, &e), LZ_ENUMERIC);
}
END_TEST

/* two planes in R^4 at known angles: span(e1, e2) and
 * span(e1, cos t e2 + sin t e3); the largest principal angle is t, down to
 * angles far below what cosines can resolve */
START_TEST(principal_angle_tiny_and_large)
{
    double ts[] = {1e-12, 1e-9, 1e-6, 0.3, 1.5};
    for (size_t c = 0; c < sizeof ts / sizeof ts[0]; c++) {
        double t = ts[c];
        /* the bases as rows (2, 4) */
        double ut[8] = {1, 0, 0, 0, 0, 1, 0, 0};
        double vt[8] = {1, 0, 0, 0, 0, cos(t), sin(t), 0};
        double ang, ws[LZ_ANGLE_WS(4, 2)];
        lz_error e;
        ck_assert_int_eq(lz_max_principal_angle(4, 2, ut, vt, ws, &ang, &e), LZ_OK);
        ck_assert_double_eq_tol(ang, t, 1e-15 + 1e-12 * t);
        ck_assert_int_eq(lz_max_principal_angle(4, 2, vt, ut, NULL, &ang, &e), LZ_OK);
        ck_assert_double_eq_tol(ang, t, 1e-15 + 1e-12 * t);
    }
}
END_TEST

/* ------------------------------------------------------------------ */
/* probability */

START_TEST(logsumexp_and_stable_functions)
{
    double a[3] = {1000, 1000, 1000 + log(2.0)};
    ck_assert_double_eq_tol(lz_logsumexp(3, a), 1000 + log(4.0), 1e-12);
    double b[2] = {-INFINITY, -INFINITY};
    ck_assert(isinf(lz_logsumexp(2, b)) && lz_logsumexp(2, b) < 0);
    double c[3] = {0.1, -2, 3};
    ck_assert_double_eq_tol(lz_logsumexp(3, c), log(exp(0.1) + exp(-2) + exp(3)), 1e-14);
    for (double x = -50; x <= 50; x += 0.5) {
        ck_assert_double_eq_tol(lz_softplus(x), log1p(exp(x)), 1e-15 * fmax(1, fabs(x)));
        ck_assert_double_eq_tol(lz_sigmoid(x), 1 / (1 + exp(-x)), 1e-16);
        ck_assert_double_eq_tol(lz_sigmoid(x) + lz_sigmoid(-x), 1.0, 1e-15);
    }
    ck_assert_double_eq(lz_softplus(1000), 1000);
    ck_assert_double_eq(lz_sigmoid(-1000), 0);
}
END_TEST

/* the Gaussian log-density through Cholesky against a diagonal closed form
 * and against the average-log-likelihood formula with the sample covariance */
START_TEST(mvn_logpdf_closed_forms)
{
    size_t d = 3, n = 4;
    double c[9] = {4, 0, 0, 0, 1, 0, 0, 0, 0.25}, mu[3] = {1, -1, 0};
    double x[12] = {0, 0, 0, 1, 2, 3, -1, 0.5, 0.25, 2, -2, 1};
    double out[4];
    lz_error e;
    ck_assert_int_eq(lz_mvn_logpdf(n, d, x, mu, c, out, &e), LZ_OK);
    double mean = 0;
    for (size_t i = 0; i < n; i++) {
        double q = 0, ld = 0;
        for (size_t j = 0; j < d; j++) {
            double r = x[i * d + j] - mu[j];
            q += r * r / c[j * d + j];
            ld += log(c[j * d + j]);
        }
        ck_assert_double_eq_tol(out[i], -0.5 * (d * log(2 * M_PI) + ld + q), 1e-13);
        mean += out[i] / n;
    }
    /* mean over samples = -1/2 [d log 2pi + log|C| + tr(C^-1 S)], S about mu */
    double s[9] = {0};
    for (size_t i = 0; i < n; i++)
        for (size_t a = 0; a < d; a++)
            for (size_t b = 0; b < d; b++)
                s[a * d + b] += (x[i * d + a] - mu[a]) * (x[i * d + b] - mu[b]) / n;
    double ll;
    ck_assert_int_eq(lz_mvn_avg_loglik(d, c, s, &ll, &e), LZ_OK);
    ck_assert_double_eq_tol(ll, mean, 1e-13);
}
END_TEST

START_TEST(rng_reproducible_and_permutations_uniform)
{
    gsl_rng *a = lz_rng_alloc(42), *b = lz_rng_alloc(42), *c = lz_rng_alloc_stream(42, 1);
    double x[5], y[5], z[5];
    lz_rng_gauss(a, 5, x);
    lz_rng_gauss(b, 5, y);
    lz_rng_gauss(c, 5, z);
    for (int i = 0; i < 5; i++) ck_assert_double_eq(x[i], y[i]);
    int same = 0;
    for (int i = 0; i < 5; i++) same += x[i] == z[i];
    ck_assert_int_lt(same, 5);
    /* all 6 permutations of 3 items, each about 1/6 of 60000 draws: the
     * count is binomial with sd ~ 91, so 5 sd is 456 */
    int count[6] = {0};
    size_t idx[3];
    for (int t = 0; t < 60000; t++) {
        lz_rng_perm(a, 3, idx);
        int code = (int)(idx[0] * 3 + idx[1]);
        int k = code == 1 ? 0 : code == 2 ? 1 : code == 3 ? 2 : code == 5 ? 3 : code == 6 ? 4 : 5;
        ck_assert(idx[0] != idx[1] && idx[1] != idx[2] && idx[0] != idx[2]);
        count[k]++;
    }
    for (int k = 0; k < 6; k++) ck_assert_int_lt(abs(count[k] - 10000), 456);
    gsl_rng_free(a);
    gsl_rng_free(b);
    gsl_rng_free(c);
}
END_TEST

/* ------------------------------------------------------------------ */
/* vectorisable exp and log1p (lz_vmath.h) against libm in double */

START_TEST(vexpf_within_2_ulp)
{
    /* x from -87 to 88 in steps of 2^-10 (~180000 points) and some odd ones:
     * within 2 ulp (2^-22 relative) of the double exp of the float x */
    double worst = 0;
    for (double x = -87.0; x <= 88.0; x += 1.0 / 1024) {
        double want = exp((double)(float)x), rel = fabs(lz_vexpf((float)x) - want) / want;
        if (rel > worst) worst = rel;
    }
    const float odd[] = {-86.99f, -1e-7f, 0.0f, 1e-7f, 0.34657f, -0.34657f, 0.693147f, 87.9f};
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
        double want = exp((double)odd[i]), rel = fabs(lz_vexpf(odd[i]) - want) / want;
        if (rel > worst) worst = rel;
    }
    ck_assert_msg(worst <= 2.0 * 0x1p-23, "lz_vexpf: worst relative error %.3g", worst);
    ck_assert(lz_vexpf(0.0f) == 1.0f);
    /* clamped outside [-87, 88]: never denormal, never infinite */
    ck_assert(lz_vexpf(-200.0f) == lz_vexpf(-87.0f) && lz_vexpf(200.0f) == lz_vexpf(88.0f));
    ck_assert(lz_vexpf(-1000.0f) > 0 && lz_vexpf(-1000.0f) < 2e-38f);
}
END_TEST

START_TEST(vexp_within_2_ulp)
{
    /* x from -708 to 709 in steps of 2^-8 (~360000 points), within 2 ulp
     * (2^-51 relative) of libm's exp */
    double worst = 0;
    for (double x = -708.0; x <= 709.0; x += 1.0 / 256) {
        double want = exp(x), rel = fabs(lz_vexp(x) - want) / want;
        if (rel > worst) worst = rel;
    }
    const double odd[] = {-1e-300,
                          -1e-17,
                          0.0,
                          1e-17,
                          0.34657359027997264,
                          -0.34657359027997264,
                          0.6931471805599453,
                          -745.0 + 37.5,
                          708.99};
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
        double want = exp(odd[i]), rel = fabs(lz_vexp(odd[i]) - want) / want;
        if (rel > worst) worst = rel;
    }
    ck_assert_msg(worst <= 2.0 * 0x1p-52, "lz_vexp: worst relative error %.3g", worst);
}
END_TEST

START_TEST(vlog1pf_within_2_ulp)
{
    /* e on a geometric grid from 1e-30 to 1 and on a uniform one: within 2
     * ulp of log1p in double */
    double worst = 0;
    for (long i = 1; i <= 400000; i++) {
        float e = (i % 2) ? (float)pow(10.0, -30.0 * (double)i / 400000.0)
                          : (float)((double)i / 400000.0);
        double want = log1p((double)e), rel = fabs(lz_vlog1pf_unit(e) - want) / want;
        if (rel > worst) worst = rel;
    }
    ck_assert_msg(worst <= 2.0 * 0x1p-23, "lz_vlog1pf_unit: worst relative error %.3g", worst);
    ck_assert(lz_vlog1pf_unit(0.0f) == 0.0f);
}
END_TEST

/* ------------------------------------------------------------------ */
/* output files */

/* a mean log-likelihood made by a few rows: the median, the share of the
 * shortfall below it held by the lowest max(1, n / 100) rows, the lowest
 * row; noted only for 100 rows or more, never with a NaN */
START_TEST(ll_tail_few_rows)
{
    size_t n = 1000;
    double *ll = malloc(n * sizeof *ll);
    gsl_rng *r = lz_rng_alloc(4);
    for (size_t i = 0; i < n; i++) ll[i] = -100.0 + gsl_ran_gaussian(r, 1.0);
    lz_ll_tail t;
    lz_error e;
    ck_assert_int_eq(lz_ll_tail_of(n, ll, &t, &e), LZ_OK);
    ck_assert(!t.few);
    ck_assert_uint_eq(t.t, 10);
    ck_assert(t.share > 0 && t.share < 0.2); /* a Gaussian's lowest 1 % */
    ll[17] = -1e6;
    ll[400] = -2e6;
    ll[901] = -5e5;
    ck_assert_int_eq(lz_ll_tail_of(n, ll, &t, &e), LZ_OK);
    ck_assert(t.few);
    ck_assert_uint_eq(t.worst, 400);
    ck_assert(t.lowest == -2e6);
    char says[256];
    lz_ll_tail_text(&t, says, sizeof says);
    ck_assert_msg(strstr(says, ", and the lowest 10 rows hold ") &&
                      strstr(says, " % of the rows' shortfall below it; the lowest, -2e+06"),
                  "%s", says);
    ck_assert(t.share > 0.99);
    double s = 0;
    for (size_t i = 0; i < n; i++) s += ll[i];
    ck_assert_double_eq_tol(t.mean, s / (double)n, 1e-9);
    ck_assert(t.median > -101 && t.median < -99);
    ck_assert_int_eq(lz_ll_tail_of(99, ll, &t, &e), LZ_OK); /* fewer than 100 rows */
    ck_assert(!t.few);
    ll[5] = NAN;
    ck_assert_int_eq(lz_ll_tail_of(n, ll, &t, &e), LZ_OK);
    ck_assert(!t.few);
    /* the median of an even count: the mean of the middle two */
    for (size_t i = 0; i < 100; i++) ll[i] = (double)(100 - i);
    ck_assert_int_eq(lz_ll_tail_of(100, ll, &t, &e), LZ_OK);
    ck_assert_double_eq(t.median, 50.5);
    ck_assert_uint_eq(t.worst, 99);
    free(ll);
    gsl_rng_free(r);
}
END_TEST

/* the whole content of a file, allocated (NUL-terminated) */
static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    ck_assert_uint_eq(fread(b, 1, (size_t)n, f), (size_t)n);
    b[n] = '\0';
    fclose(f);
    return b;
}

/* a large matrix is formatted by several threads, in blocks, and written
 * in row order: the bytes equal a reference written number by number with
 * fprintf("%.17g") (nan, inf, -0, subnormals, words with blanks), whatever
 * the thread count, and the row count crosses block boundaries unevenly */
START_TEST(matrix_file_same_bytes_on_any_threads)
{
    size_t n = 20011, m = 7; /* 140077 numbers: blocks of 9362, 9362 and 1287 rows */
    double *x = malloc(n * m * sizeof *x), *y = malloc(n * sizeof *y);
    gsl_rng *r = lz_rng_alloc(5);
    for (size_t i = 0; i < n * m; i++) {
        double u = gsl_rng_uniform(r);
        x[i] = i % 97 == 0   ? NAN
               : i % 89 == 0 ? -INFINITY
               : i % 83 == 0 ? -0.0
               : i % 79 == 0 ? 4.9e-324 * (double)(i % 7)
                             : (u - 0.5) * pow(10.0, (double)(i % 41) - 20.0);
    }
    char *cls[3] = {"Iris setosa", "virginica", "a\tb"};
    for (size_t i = 0; i < n; i++) y[i] = (double)(i % 3);
    lz_data named = {.n = n, .y = y, .label_names = cls, .n_classes = 3};
    /* the reference, by hand */
    const char *ref = tmp_path("mat.ref");
    FILE *f = fopen(ref, "w");
    fputs("# v1 v2 v3 v4 v5 v6 v7 label label_name\n", f);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < m; j++) {
            double v = x[i * m + j];
            if (j) fputc(' ', f);
            if (isnan(v))
                fputs("nan", f);
            else if (isinf(v))
                fputs(v > 0 ? "inf" : "-inf", f);
            else
                fprintf(f, "%.17g", v);
        }
        fprintf(f, " %.17g %s\n", y[i],
                i % 3 == 0   ? "Iris_setosa"
                : i % 3 == 1 ? "virginica"
                             : "a_b");
    }
    fclose(f);
    char *want = read_all(ref);
    int threads[4] = {1, 2, 3, 64};
    for (int t = 0; t < 4; t++) {
        lz_out_set_threads(threads[t]);
        lz_outset *os = lz_outset_alloc();
        lz_error e;
        const char *p = tmp_path("mat.dat");
        ck_assert_int_eq(lz_dat_write_matrix(os, p, "v", n, m, x, &named, &e), LZ_OK);
        ck_assert_int_eq(lz_outset_commit(os, &e), LZ_OK);
        lz_outset_free(os);
        char *got = read_all(p);
        ck_assert_msg(!strcmp(got, want), "%d threads: the matrix file differs from fprintf's",
                      threads[t]);
        free(got);
    }
    lz_out_set_threads(1);
    free(want);
    free(x);
    free(y);
    gsl_rng_free(r);
}
END_TEST

START_TEST(outset_commit_and_abort)
{
    lz_outset *os = lz_outset_alloc();
    lz_error e;
    const char *p1 = tmp_path("sub/dir/run.trace.dat"), *p2 = tmp_path("sub/dir/run.x.dat");
    FILE *f = lz_outset_open(os, p1, &e);
    ck_assert_ptr_nonnull(f);
    const char *names[] = {"iter", "ll_train"};
    lz_dat_header(f, ' ', 2, names);
    double row[2] = {1, 0.1};
    lz_dat_row(f, ' ', 2, row);
    double m[4] = {1.0 / 3, NAN, -INFINITY, 1e-300}, y[2] = {3, 4};
    lz_data lab = {.n = 2, .y = y};
    ck_assert_int_eq(lz_dat_write_matrix(os, p2, "z", 2, 2, m, &lab, &e), LZ_OK);
    /* labels that were words: a label_name column, blanks as '_' */
    char *cls[2] = {"Iris setosa", "virginica"};
    double yc[2] = {1, 0};
    lz_data named = {.n = 2, .y = yc, .label_names = cls, .n_classes = 2};
    const char *p3 = tmp_path("sub/dir/run.named.dat");
    ck_assert_int_eq(lz_dat_write_matrix(os, p3, "z", 2, 2, m, &named, &e), LZ_OK);
    ck_assert_int_ne(access(p1, F_OK), 0); /* nothing visible before commit */
    ck_assert_int_eq(lz_outset_commit(os, &e), LZ_OK);
    ck_assert_int_eq(access(p1, F_OK), 0);
    /* read back: exact values, header names */
    lz_read_opts o = {.label_col = LZ_LABEL_LAST, .min_rows = 1};
    lz_data *d;
    FILE *g = fopen(p2, "r");
    char line[256];
    ck_assert_ptr_nonnull(fgets(line, sizeof line, g));
    ck_assert_str_eq(line, "# z1 z2 label\n");
    ck_assert_ptr_nonnull(fgets(line, sizeof line, g));
    ck_assert_str_eq(line, "0.33333333333333331 nan 3\n");
    fclose(g);
    g = fopen(p3, "r");
    ck_assert_ptr_nonnull(fgets(line, sizeof line, g));
    ck_assert_str_eq(line, "# z1 z2 label label_name\n");
    ck_assert_ptr_nonnull(fgets(line, sizeof line, g));
    ck_assert_str_eq(line, "0.33333333333333331 nan 1 virginica\n");
    ck_assert_ptr_nonnull(fgets(line, sizeof line, g));
    ck_assert_str_eq(line, "-inf 1e-300 0 Iris_setosa\n");
    fclose(g);
    ck_assert_int_eq(lz_data_read(p1, &o, &d, &e), LZ_OK);
    ck_assert_double_eq(d->x[0], 1);
    ck_assert_double_eq(d->y[0], 0.1);
    lz_data_free(d);
    /* abort: the temporary file disappears and nothing is created, not even
     * the directories made for it */
    f = lz_outset_open(os, tmp_path("new/dirs/gone.dat"), &e);
    ck_assert_ptr_nonnull(f);
    fputs("half", f);
    lz_outset_abort(os);
    ck_assert_int_ne(access(tmp_path("new"), F_OK), 0);
    f = lz_outset_open(os, tmp_path("gone.dat"), &e);
    fputs("half", f);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "ls '%s' | grep -c tmp", g_dir);
    lz_outset_abort(os);
    ck_assert_int_ne(access(tmp_path("gone.dat"), F_OK), 0);
    FILE *ls = popen(cmd, "r");
    int left = -1;
    ck_assert_int_eq(fscanf(ls, "%d", &left), 1);
    pclose(ls);
    ck_assert_int_eq(left, 0);
    lz_outset_free(os);
    /* a directory that cannot be made */
    os = lz_outset_alloc();
    write_text(tmp_path("file"), "x");
    ck_assert_ptr_null(lz_outset_open(os, tmp_path("file/sub/x.dat"), &e));
    ck_assert_ptr_nonnull(strstr(e.msg, "cannot create directory"));
    lz_outset_free(os);
}
END_TEST

/* the whole content of a file ("" if absent) */
static const char *slurp(const char *path)
{
    static char buf[256];
    buf[0] = '\0';
    FILE *f = fopen(path, "r");
    if (!f) return buf;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* the names in directory dir, sorted, space-separated */
static const char *listing(const char *dir)
{
    static char out[1024];
    char cmd[600];
    snprintf(cmd, sizeof cmd, "ls -A '%s' | tr '\\n' ' '", dir);
    FILE *p = popen(cmd, "r");
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    pclose(p);
    return out;
}

/* open a.dat, b.dat, c.dat in dir with the contents "new a", ... */
static lz_outset *three_outputs(const char *dir)
{
    lz_outset *os = lz_outset_alloc();
    lz_error e;
    const char *names[3] = {"a.dat", "b.dat", "c.dat"};
    for (int i = 0; i < 3; i++) {
        char p[512];
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        FILE *f = lz_outset_open(os, p, &e);
        ck_assert_msg(f != NULL, "%s", e.msg);
        fprintf(f, "new %c", 'a' + i);
    }
    return os;
}

/* The commit is all or nothing: a rename failing midway puts back the
 * files replaced and removes the new ones; a final path that is a directory
 * is found before anything is replaced; two outputs with one path are
 * refused when the second is opened. */
START_TEST(outset_commit_all_or_nothing)
{
    const char *dir = tmp_path("run");
    char a[512], b[512], c[512];
    snprintf(a, sizeof a, "%s/a.dat", dir);
    snprintf(b, sizeof b, "%s/b.dat", dir);
    snprintf(c, sizeof c, "%s/c.dat", dir);
    ck_assert_int_eq(mkdir(dir, 0777), 0);
    lz_error e;
    for (int fail_at = 0; fail_at < 3; fail_at++) {
        /* a and b exist from an earlier run, c does not */
        write_text(a, "old a");
        write_text(b, "old b");
        unlink(c);
        lz_outset *os = three_outputs(dir);
        g_rename_calls = 0;
        g_rename_fail_at = fail_at;
        ck_assert_int_eq(lz_outset_commit(os, &e), LZ_EIO);
        g_rename_fail_at = -1;
        ck_assert_ptr_nonnull(strstr(e.msg, "cannot rename into place"));
        ck_assert_ptr_nonnull(strstr(e.msg, fail_at == 0   ? "a.dat"
                                            : fail_at == 1 ? "b.dat"
                                                           : "c.dat"));
        ck_assert_str_eq(slurp(a), "old a");
        ck_assert_str_eq(slurp(b), "old b");
        ck_assert_int_ne(access(c, F_OK), 0);
        ck_assert_str_eq(listing(dir), "a.dat b.dat "); /* no .tmp, no .old */
        lz_outset_free(os);
    }
    /* success: every file new, the kept copies gone */
    lz_outset *os = three_outputs(dir);
    ck_assert_int_eq(lz_outset_commit(os, &e), LZ_OK);
    ck_assert_str_eq(slurp(a), "new a");
    ck_assert_str_eq(slurp(c), "new c");
    ck_assert_str_eq(listing(dir), "a.dat b.dat c.dat ");
    lz_outset_free(os);
    /* a final path that became a directory: found before any rename */
    write_text(a, "old a");
    os = three_outputs(dir);
    unlink(c);
    ck_assert_int_eq(mkdir(c, 0777), 0);
    write_text(tmp_path("run/c.dat/inside"), "x");
    g_rename_calls = 0;
    ck_assert_int_eq(lz_outset_commit(os, &e), LZ_EIO);
    ck_assert_int_eq(g_rename_calls, 0);
    ck_assert_ptr_nonnull(strstr(e.msg, "c.dat: is a directory"));
    ck_assert_str_eq(slurp(a), "old a");
    ck_assert_str_eq(listing(dir), "a.dat b.dat c.dat ");
    lz_outset_free(os);
    /* ... and when it is one already, the open fails */
    os = lz_outset_alloc();
    ck_assert_ptr_null(lz_outset_open(os, c, &e));
    ck_assert_ptr_nonnull(strstr(e.msg, "c.dat: is a directory"));
    /* two outputs with one path, however spelt: the second is refused,
     * naming both */
    ck_assert_ptr_nonnull(lz_outset_open(os, a, &e));
    char a2[600];
    snprintf(a2, sizeof a2, "%s/c.dat/../a.dat", dir);
    ck_assert_ptr_null(lz_outset_open(os, a2, &e));
    ck_assert_ptr_nonnull(strstr(e.msg, a2));
    ck_assert_ptr_nonnull(strstr(e.msg, "the same file as"));
    ck_assert_ptr_nonnull(strstr(e.msg + strlen(a2), a));
    ck_assert_ptr_null(lz_outset_open(os, a, &e));
    /* not a file path */
    ck_assert_ptr_null(lz_outset_open(os, "", &e));
    ck_assert_ptr_null(lz_outset_open(os, tmp_path("run/"), &e));
    ck_assert_ptr_nonnull(strstr(e.msg, "expected a file path"));
    lz_outset_free(os);
    ck_assert_str_eq(slurp(a), "old a");
    ck_assert_str_eq(listing(dir), "a.dat b.dat c.dat ");
}
END_TEST

START_TEST(model_file_round_trip_exact)
{
    gsl_rng *r = lz_rng_alloc(11);
    double a[6], b[6];
    float af[4] = {0.1f, -3.5e-20f, 7.f, 1e30f}, bf[4];
    fill_random(r, 6, a);
    a[2] = 1.0 / 3;
    lz_outset *os = lz_outset_alloc();
    lz_error e;
    FILE *f = lz_outset_open(os, tmp_path("m.model"), &e);
    lz_model_begin(f, "lgm", 1);
    lz_model_put_int(f, "k", 2);
    lz_model_put_real(f, "tol", 1e-7);
    lz_model_put_str(f, "completion", "exact");
    lz_model_put_array(f, "A", 3, 2, a);
    lz_model_put_arrayf(f, "W", 2, 2, af);
    lz_model_end(f);
    ck_assert_int_eq(lz_outset_commit(os, &e), LZ_OK);
    lz_outset_free(os);
    lz_model *m;
    ck_assert_int_eq(lz_model_read(tmp_path("m.model"), "lgm", 1, &m, &e), LZ_OK);
    long k;
    double tol;
    const char *s;
    ck_assert_int_eq(lz_model_get_int(m, "k", &k, &e), LZ_OK);
    ck_assert_int_eq(k, 2);
    ck_assert_int_eq(lz_model_get_real(m, "tol", &tol, &e), LZ_OK);
    ck_assert_double_eq(tol, 1e-7);
    ck_assert_int_eq(lz_model_get_str(m, "completion", &s, &e), LZ_OK);
    ck_assert_str_eq(s, "exact");
    ck_assert_int_eq(lz_model_get_array(m, "A", 3, 2, b, &e), LZ_OK);
    for (int i = 0; i < 6; i++) ck_assert_double_eq(a[i], b[i]); /* bit-exact */
    ck_assert_int_eq(lz_model_get_arrayf(m, "W", 2, 2, bf, &e), LZ_OK);
    for (int i = 0; i < 4; i++) ck_assert_float_eq(af[i], bf[i]);
    ck_assert_int_ne(lz_model_get_array(m, "A", 2, 3, b, &e), LZ_OK);
    ck_assert_ptr_nonnull(strstr(e.msg, "expected 2 x 3"));
    ck_assert_int_ne(lz_model_get_int(m, "nothere", &k, &e), LZ_OK);
    size_t rows = 0, cols = 0;
    ck_assert_int_eq(lz_model_get_shape(m, "A", &rows, &cols, &e), LZ_OK);
    ck_assert(rows == 3 && cols == 2);
    ck_assert_int_ne(lz_model_get_shape(m, "k", &rows, &cols, &e), LZ_OK); /* not an array */
    ck_assert_int_ne(lz_model_get_shape(m, "B", &rows, &cols, &e), LZ_OK);
    ck_assert_ptr_nonnull(strstr(e.msg, "no array 'B'"));
    lz_model_free(m);
    /* wrong kind, truncated file */
    ck_assert_int_ne(lz_model_read(tmp_path("m.model"), "rbm", 1, &m, &e), LZ_OK);
    ck_assert_ptr_nonnull(strstr(e.msg, "expected 'rbm'"));
    write_text(tmp_path("t.model"), "# latent-zoo model\nkind lgm 1\narray A 3 2\n1 2\n");
    ck_assert_int_ne(lz_model_read(tmp_path("t.model"), "lgm", 1, &m, &e), LZ_OK);
    ck_assert_ptr_nonnull(strstr(e.msg, "t.model:"));
    gsl_rng_free(r);
}
END_TEST

/* ------------------------------------------------------------------ */
/* command line */

/* lz_model_read(path of a file with this content) fails with status st and
 * a message that names path:line and contains needle */
static void expect_model_error(const char *content, lz_status st, size_t line, const char *needle)
{
    write_text(tmp_path("bad.model"), content);
    lz_model *m = (lz_model *)1;
    lz_error e;
    lz_error_clear(&e);
    ck_assert_int_eq(lz_model_read(tmp_path("bad.model"), "lgm", 1, &m, &e), st);
    ck_assert_ptr_null(m);
    char at[600];
    snprintf(at, sizeof at, "%s:%zu: ", tmp_path("bad.model"), line);
    ck_assert_msg(strstr(e.msg, at) == e.msg, "'%s' does not begin with '%s'", e.msg, at);
    ck_assert_msg(strstr(e.msg, needle) != NULL, "'%s' lacks '%s'", e.msg, needle);
}

#define HEAD "# latent-zoo model\nkind lgm 1\n"

/* Strict parsing: an entry is whole tokens; a shape is checked against what
 * is left of the file before anything is allocated for it. */
START_TEST(model_file_strict_and_bounded)
{
    expect_model_error(HEAD "int d 5xyz\nend\n", LZ_EFORMAT, 3,
                       "int d: expected one integer, got '5xyz'");
    expect_model_error(HEAD "int d 5 6\nend\n", LZ_EFORMAT, 3, "int d: expected one integer");
    expect_model_error(HEAD "int d 99999999999999999999\nend\n", LZ_EFORMAT, 3, "int d");
    expect_model_error(HEAD "int d\nend\n", LZ_EFORMAT, 3, "int d");
    expect_model_error(HEAD "real s 0.5abc\nend\n", LZ_EFORMAT, 3,
                       "real s: expected one number, got '0.5abc'");
    expect_model_error(HEAD "str c exact more\nend\n", LZ_EFORMAT, 3, "str c: expected one word");
    expect_model_error("kind lgm 1x\nend\n", LZ_EFORMAT, 1, "expected 'kind NAME VERSION'");
    expect_model_error(HEAD "kind lgm 1\nend\n", LZ_EFORMAT, 3, "a second 'kind' line");
    expect_model_error(HEAD "int d 3\nint d 4\nend\n", LZ_EFORMAT, 4, "a second entry 'd'");
    expect_model_error(HEAD "float d 3\nend\n", LZ_EFORMAT, 3, "unknown entry type 'float'");
    /* 2^28 values declared in a 40-byte file: refused before allocating */
    expect_model_error(HEAD "array X 1 268435456\n", LZ_EFORMAT, 3,
                       "array X: 1 x 268435456 values declared, but only 0 bytes follow");
    expect_model_error(HEAD "array X 4294967296 4294967296\n1\nend\n", LZ_EFORMAT, 3,
                       "array X: 4294967296 x 4294967296 values: too many");
    expect_model_error(HEAD "array X 2 0\nend\n", LZ_EFORMAT, 3, "array X: expected 'ROWS COLS'");
    expect_model_error(HEAD "array X 2 2\n1 2\n3 4 5\nend\n", LZ_EFORMAT, 5,
                       "array X, row 2: more than 2 values");
    expect_model_error(HEAD "array X 2 2\n1 2\n3\nend\n", LZ_EFORMAT, 5,
                       "array X, row 2: 1 values: expected 2");
    expect_model_error(HEAD "array X 2 2\n1 2\n3 4x\nend\n", LZ_EFORMAT, 5,
                       "array X, row 2, column 2: expected a number, got '4x'");
    expect_model_error(HEAD "array X 3 1\n1.5\n2.5\n", LZ_EFORMAT, 5,
                       "array X: the file ends after 2 of its 3 rows");
    expect_model_error(HEAD "array X 3 1\n1\n2\n", LZ_EFORMAT, 3,
                       "3 x 1 values declared, but only 4 bytes follow");
    expect_model_error(HEAD "int d 3\n", LZ_EFORMAT, 3, "ends without 'end'");
    /* a few dozen entries make a model; 100000 distinct ones, each checked
     * against all before it, would take minutes */
    FILE *f = fopen(tmp_path("bad.model"), "w");
    fputs(HEAD, f);
    for (int i = 0; i < 100000; i++) fprintf(f, "int e%d 1\n", i);
    fputs("end\n", f);
    fclose(f);
    lz_model *many;
    lz_error me;
    ck_assert_int_eq(lz_model_read(tmp_path("bad.model"), "lgm", 1, &many, &me), LZ_EFORMAT);
    ck_assert_ptr_nonnull(strstr(me.msg, "bad.model:4099: more than 4096 entries"));

    /* values: finite, named by line, row and column; floats within range */
    write_text(tmp_path("v.model"), HEAD "real s nan\nreal t inf\narray A 2 2\n1 2\n3 nan\n"
                                         "array W 1 2\n1e39 0\nend\n");
    lz_model *m;
    lz_error e;
    ck_assert_int_eq(lz_model_read(tmp_path("v.model"), "lgm", 1, &m, &e), LZ_OK);
    double v, a[4];
    float w[2];
    ck_assert_int_eq(lz_model_get_real(m, "s", &v, &e), LZ_EFORMAT);
    ck_assert_ptr_nonnull(strstr(e.msg, "v.model:3: real s nan: expected a finite number"));
    ck_assert_int_eq(lz_model_get_real(m, "t", &v, &e), LZ_EFORMAT);
    ck_assert_ptr_nonnull(strstr(e.msg, "v.model:4: real t inf"));
    ck_assert_int_eq(lz_model_get_array(m, "A", 2, 2, a, &e), LZ_EFORMAT);
    ck_assert_ptr_nonnull(
        strstr(e.msg, "v.model:7: array A, row 2, column 2: nan: expected a finite number"));
    ck_assert_int_eq(lz_model_get_arrayf(m, "W", 1, 2, w, &e), LZ_EFORMAT);
    ck_assert_ptr_nonnull(strstr(e.msg, "v.model:9: array W, row 1, column 1: 1e+39"));
    ck_assert_ptr_nonnull(strstr(e.msg, "range of a float"));
    ck_assert_int_eq(lz_model_get_array(m, "W", 1, 2, a, &e), LZ_OK); /* fine as doubles */
    ck_assert_double_eq(a[0], 1e39);
    /* shapes and lines without copying */
    ck_assert_int_eq(lz_model_check_array(m, "A", 2, 2, &e), LZ_OK);
    ck_assert_int_eq(lz_model_check_array(m, "A", 4, 1, &e), LZ_EFORMAT);
    ck_assert_ptr_nonnull(strstr(e.msg, "v.model:5: array A is 2 x 2: expected 4 x 1"));
    ck_assert_int_eq(lz_model_check_array(m, "B", 1, 1, &e), LZ_EFORMAT);
    ck_assert_ptr_nonnull(strstr(e.msg, "v.model:10: no array 'B' before 'end'"));
    ck_assert_uint_eq(lz_model_line(m, "W"), 8);
    ck_assert_uint_eq(lz_model_line(m, "B"), 0);
    long k;
    ck_assert_int_eq(lz_model_get_int_range(m, "s", 1, 2, &k, &e), LZ_EFORMAT); /* a real */
    lz_model_free(m);
    write_text(tmp_path("r.model"), "\xEF\xBB\xBF" HEAD "int d 70\nend\n");
    ck_assert_int_eq(lz_model_read(tmp_path("r.model"), "lgm", 1, &m, &e), LZ_OK);
    ck_assert_int_eq(lz_model_get_int_range(m, "d", 2, 64, &k, &e), LZ_EFORMAT);
    ck_assert_ptr_nonnull(strstr(e.msg, "r.model:3: int d 70: expected 2 .. 64"));
    ck_assert_int_eq(lz_model_get_int_range(m, "d", 2, 70, &k, &e), LZ_OK);
    ck_assert_int_eq(k, 70);
    lz_model_free(m);
}
END_TEST

START_TEST(cli_parses_and_reports)
{
    int k = 2, flag = 0, choice = 0;
    double tol = 1e-6;
    lz_common_opts c;
    lz_common_defaults(&c, "out/x");
    lz_opt opts[] = {{"k", 'k', LZ_OPT_INT, &k, "K", "latent size"},
                     {"tol", 0, LZ_OPT_REAL, &tol, "T", "tolerance"},
                     {"completion", 0, LZ_OPT_CHOICE, &choice, "exact|sampled", "completion"},
                     {"flag", 0, LZ_OPT_FLAG, &flag, NULL, "a flag"},
                     LZ_COMMON_OPTIONS(&c),
                     {0}};
    lz_cli cli = {"prog", "[options] DATA", "summary", NULL, opts, 1, 1, 0, 0};
    char *argv1[] = {"prog",   "-k", "5",        "--tol=1e-3", "--completion", "sampled", "--flag",
                     "--seed", "9",  "data.csv", NULL};
    int pos;
    lz_error e;
    ck_assert_int_eq(lz_cli_parse(&cli, 10, argv1, &pos, &e), LZ_CLI_RUN);
    ck_assert_int_eq(k, 5);
    ck_assert_double_eq(tol, 1e-3);
    ck_assert_int_eq(choice, 1);
    ck_assert_int_eq(flag, 1);
    ck_assert_uint_eq(c.seed, 9);
    ck_assert_str_eq(argv1[pos], "data.csv");
    char *argv2[] = {"prog", "-k", "x", "d", NULL};
    ck_assert_int_eq(lz_cli_parse(&cli, 4, argv2, &pos, &e), -1);
    ck_assert_str_eq(e.msg, "option -k: expected an integer, got 'x'");
    char *argv3[] = {"prog", "--completion", "maybe", "d", NULL};
    ck_assert_int_eq(lz_cli_parse(&cli, 4, argv3, &pos, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, "expected one of exact|sampled"));
    char *argv4[] = {"prog", "--nope", "d", NULL};
    ck_assert_int_eq(lz_cli_parse(&cli, 3, argv4, &pos, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, "unknown option '--nope'"));
    char *argv5[] = {"prog", NULL};
    ck_assert_int_eq(lz_cli_parse(&cli, 1, argv5, &pos, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, "missing argument"));
    char *argv6[] = {"prog", "--seed", "-1", "d", NULL};
    ck_assert_int_eq(lz_cli_parse(&cli, 4, argv6, &pos, &e), -1);
    char *argv7[] = {"prog", "-k", "7", "--help", NULL};
    ck_assert_int_eq(lz_cli_parse(&cli, 4, argv7, &pos, &e), LZ_CLI_HELP);
    ck_assert_int_eq(k, 5); /* --help parses nothing, so the help shows the defaults */
    /* the help lists every option with its current value as default */
    char *buf = NULL;
    size_t len = 0;
    FILE *h = open_memstream(&buf, &len);
    lz_cli_help(&cli, h);
    fclose(h);
    for (const lz_opt *o = opts; o->name; o++) {
        char want[64];
        snprintf(want, sizeof want, "--%s", o->name);
        ck_assert_msg(strstr(buf, want) != NULL, "help lacks %s", want);
    }
    ck_assert_ptr_nonnull(strstr(buf, "(default: 5)"));
    ck_assert_ptr_nonnull(strstr(buf, "(default: sampled)"));
    ck_assert_ptr_nonnull(strstr(buf, "(default: out/x)"));
    free(buf);
}
END_TEST

START_TEST(cli_unset_defaults)
{
    /* options whose default depends on others hold LZ_UNSET_*: the help
     * prints their own words for the default, and the parser never stores
     * the markers, so "still unset" means "not given" */
    int n = LZ_UNSET_INT, ch = LZ_UNSET_INT;
    double r = LZ_UNSET_REAL;
    lz_common_opts c;
    lz_common_defaults(&c, "out/x");
    lz_opt opts[] = {{"n", 0, LZ_OPT_INT, &n, "N", "rows (default: 5 for A, 7 for B)"},
                     {"r", 0, LZ_OPT_REAL, &r, "R", "rate (default: 0.1 for A, 0.01 for B)"},
                     {"ch", 0, LZ_OPT_CHOICE, &ch, "none|linear",
                      "schedule (default: none for A, linear for B)"},
                     LZ_COMMON_OPTIONS(&c),
                     {0}};
    lz_cli cli = {"prog", "[options] DATA", "summary", NULL, opts, 1, 1, 0, 0};
    char *buf = NULL;
    size_t len = 0;
    FILE *h = open_memstream(&buf, &len);
    lz_cli_help(&cli, h);
    fclose(h);
    ck_assert_ptr_nonnull(strstr(buf, "(default: 5 for A, 7 for B)"));
    ck_assert_ptr_nonnull(strstr(buf, "(default: 0.1 for A, 0.01"));
    ck_assert_ptr_nonnull(strstr(buf, "linear for B)"));
    ck_assert_ptr_null(strstr(buf, "nan"));
    ck_assert_ptr_null(strstr(buf, "-2147483648"));
    ck_assert_ptr_null(strstr(buf, "?"));
    free(buf);
    int pos;
    lz_error e;
    char *argv1[] = {"prog", "--n", "-2147483648", "d", NULL};
    ck_assert_int_eq(lz_cli_parse(&cli, 4, argv1, &pos, &e), -1);
    ck_assert_int_eq(n, LZ_UNSET_INT);
    char *argv2[] = {"prog", "--r", "nan", "d", NULL};
    ck_assert_int_eq(lz_cli_parse(&cli, 4, argv2, &pos, &e), -1);
    char *argv3[] = {"prog", "--n", "-2147483647", "--r", "0.5", "--ch", "none", "d", NULL};
    ck_assert_int_eq(lz_cli_parse(&cli, 8, argv3, &pos, &e), LZ_CLI_RUN);
    ck_assert(!lz_unset_int(n) && n == -2147483647 && !lz_unset_real(r) && r == 0.5);
    ck_assert(!lz_unset_int(ch) && ch == 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("common");
    TCase *t = tcase_create("all");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, csv_with_header_and_label);
    tcase_add_test(t, label_column_in_the_middle_and_whitespace);
    tcase_add_test(t, tsv_and_own_dat_header_read_back);
    tcase_add_test(t, text_errors);
    tcase_add_test(t, error_message_one_line);
    tcase_add_test(t, label_col_parsing);
    tcase_add_test(t, missing_words_and_skipped_columns);
    tcase_add_test(t, patterns_group_rows);
    tcase_add_test(t, moments_of_observed_values);
    tcase_add_test(t, far_fills_counted_and_named);
    tcase_add_test(t, matrix_file_same_bytes_on_any_threads);
    tcase_add_test(t, ll_tail_few_rows);
    tcase_add_test(t, idx_images_with_sibling_labels_plain_and_gzip);
    tcase_add_test(t, idx_errors);
    tcase_add_test(t, idx_size_overflow);
    tcase_add_test(t, idx_labels_label_col_and_nan);
    tcase_add_test(t, text_blank_lines_reserve_nothing);
    tcase_add_test(t, text_utf8_bom);
    tcase_add_test(t, text_quoted_fields);
    tcase_add_test(t, text_semicolons_decimal_commas);
    tcase_add_test(t, text_label_by_name);
    tcase_add_test(t, split_is_deterministic_and_a_partition);
    tcase_add_test(t, where_names_line_and_field_after_a_split);
    tcase_add_test(t, column_moments_exact_zero_and_overflow);
    tcase_add_test(t, covariance_matches_naive_sums);
    tcase_add_test(t, cholesky_reconstructs_and_solves);
    tcase_add_test(t, eigh_descending_and_reconstructs);
    tcase_add_test(t, qr_orthonormal_and_reconstructs);
    tcase_add_test(t, general_solve);
    tcase_add_test(t, principal_angle_tiny_and_large);
    tcase_add_test(t, logsumexp_and_stable_functions);
    tcase_add_test(t, mvn_logpdf_closed_forms);
    tcase_add_test(t, rng_reproducible_and_permutations_uniform);
    tcase_add_test(t, vexpf_within_2_ulp);
    tcase_add_test(t, vexp_within_2_ulp);
    tcase_add_test(t, vlog1pf_within_2_ulp);
    tcase_add_test(t, outset_commit_and_abort);
    tcase_add_test(t, outset_commit_all_or_nothing);
    tcase_add_test(t, model_file_round_trip_exact);
    tcase_add_test(t, model_file_strict_and_bounded);
    tcase_add_test(t, cli_parses_and_reports);
    tcase_add_test(t, cli_unset_defaults);
    suite_add_tcase(s, t);
    return s;
}

int main(void) { return lz_check_main(suite()); }
