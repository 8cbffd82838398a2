/* lz_data.h -- data sets: reading, splitting, moments, minibatch gathering.
 *
 * Dimension letters (used in every shape comment of this project):
 *   n  samples (rows),  d  features (columns, labels excluded).
 *
 * Input formats, told apart by content, not by name:
 *   - text: CSV (comma), TSV (tab) or whitespace-separated numbers, one
 *     sample a line, or ';'-separated with decimal commas allowed ("1,5",
 *     as spreadsheets in decimal-comma locales write and R's read.csv2
 *     reads); an optional header line of names (a first line in which no
 *     field is a number); lines starting with '#' are comments, and a '#'
 *     line just before the first data line with one name per column is
 *     taken as the header (so this project's own .dat files read back); a
 *     UTF-8 byte-order mark at the start is skipped; a field in double
 *     quotes may hold the delimiter and "" for a quote (RFC 4180: a label
 *     "Washington, DC" is one field);
 *   - IDX (the MNIST / Fashion-MNIST container): unsigned bytes are scaled to
 *     [0,1] by 1/255; float and double IDX are read as they are.  Labels are
 *     read from the sibling "...-labels-idx1-ubyte[.gz]" file when it exists
 *     (so a label column, --label-col, is an error for IDX data); they must
 *     be finite.
 *   Either may be gzip-compressed (zlib reads plain files unchanged).
 * Sizes are overflow-checked and storage grows with the rows read, so what
 * is allocated is bounded by what the file holds, whatever it declares.
 */
#ifndef LZ_DATA_H
#define LZ_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "lz_error.h"

typedef struct {
    size_t n;            /* samples                                           */
    size_t d;            /* features                                          */
    double *x;           /* (n, d) row-major; 0 where a value is missing      */
    unsigned char *miss; /* (n, d) 1 where the value is missing, or NULL when
                           none is (text data: an empty field, NA, NaN, ?) */
    size_t n_miss;       /* missing values                                    */
    double *y;           /* (n) labels, or NULL when there are none: numbers,
                            or class codes 0..C-1 when label_names is set     */
    char **label_names;  /* (n_classes) the classes' names when the labels
                            were words, in order of first appearance; NULL
                            for numeric labels                               */
    size_t n_classes;    /* entries of label_names                            */
    char **names;        /* (d) column names, or NULL                         */
    char *path;          /* where the data came from, for messages            */
    size_t img_rows;     /* IDX image height (0 if not an image file)         */
    size_t img_cols;     /* IDX image width                                   */
    size_t *line;        /* (n) the file line of each row (text data), or
                            NULL; kept by subsets and splits, so a value
                            found bad later is still named by its line        */
    int label_field;     /* 0-based file column of the labels, -1: none       */
    size_t *field;       /* (d) 1-based file column of each feature (text
                            data), or NULL (then column j is field j + 1)     */
    size_t n_fields;     /* columns of the text file (features, label and
                            skipped columns); 0 for IDX data                 */
} lz_data;

#define LZ_LABEL_NONE 0
#define LZ_LABEL_LAST (-1)
#define LZ_LABEL_NAME (-2) /* the header's column named lz_read_opts.label_name */

/* Tokens that mark a missing value in text data, besides the empty field;
 * NaN in any case.  --missing TOKEN adds one. */
#define LZ_MISSING_TOKENS "NA NaN ?"

typedef struct {
    int label_col;                /* LZ_LABEL_NONE, LZ_LABEL_LAST, LZ_LABEL_NAME, or a
                                     1-based column                                    */
    const char *label_name;       /* LZ_LABEL_NAME: the header's name of the column;
                                     with a column number, the name DATA's header
                                     gave it (a --test file), for messages, or NULL */
    size_t min_rows;              /* fewer rows than this is an error (0: at least 1)  */
    const char *missing;          /* one more missing-value token, or NULL            */
    const int *skip;              /* 1-based file columns dropped before modelling    */
    size_t n_skip;                /* (--skip-col), and how many                       */
    const char *const *skip_name; /* (n_skip) NULL, or the header's name of the
                                     column to drop (its skip entry is 0); may be
                                     NULL when every entry is a number         */
} lz_read_opts;

/* Parse the value of --skip-col, "C[,C...]", each C a 1-based column number or
 * a column's name in the header, appending to cols and names (cap entries
 * each) and *n: a number C gives cols = C and names = NULL, a name gives
 * cols = 0 and names pointing into s, whose commas become NULs. */
lz_status lz_parse_skip_cols(char *s, int *cols, const char **names, size_t cap, size_t *n,
                             lz_error *err);

/* Parse the value of --label-col: "none", "last", a 1-based column number,
 * or any other word: the name of a column in the file's header
 * (LZ_LABEL_NAME; the caller keeps the word as lz_read_opts.label_name). */
lz_status lz_parse_label_col(const char *s, int *label_col, lz_error *err);

/* Read a data file (text or IDX, optionally gzipped) into a new lz_data.
 * Every number must be finite.  In text data a missing value (an empty
 * field, NA, NaN in any case, ?, or opts->missing) is recorded in
 * data->miss; a row with no observed value, or a missing label, is an error.
 * A label column may hold numbers or words: words become class codes
 * 0..C-1 in order of first appearance (data->label_names).  On error *out is
 * NULL and err holds a line naming the file, the line (or byte offset for
 * IDX) and the field, with the likely fix when a column of words is not
 * declared the label column, or a first column that counts the rows (an
 * index column) is not skipped. */
lz_status lz_data_read(const char *path, const lz_read_opts *opts, lz_data **out, lz_error *err);

/* Free a data set; NULL is a no-op. */
void lz_data_free(lz_data *data);

/* A test set must have the training set's number of columns and, when both
 * files name their columns, the same names in the same order (labels iff the
 * training set has them is NOT required).  err names the test file. */
lz_status lz_data_check_compat(const lz_data *train, const lz_data *test, lz_error *err);

/* A data set scored by a loaded model must have the model's d columns:
 * "test.csv:1: 3 feature columns: expected 64 as in the model m.model"
 * (the line of the first data row, lz_data_width_where).  data may be NULL
 * (nothing to check). */
lz_status lz_data_check_width(const lz_data *data, size_t d, const char *model_path, lz_error *err);

/* Word labels of a test set in the training set's classes: test->y is
 * recoded to train's codes, a class that appears only in test gets the next
 * code, and both get the extended list of names; *n_new <- how many classes
 * were new.  Numeric labels in one and words in the other is an error;
 * nothing to do when either has no labels or both are numeric. */
lz_status lz_data_align_labels(lz_data *train, lz_data *test, size_t *n_new, lz_error *err);

/* Programs that cannot use incomplete rows: LZ_EINVAL naming the first
 * missing value ("data.csv:17: field 3 (x3): missing: prog needs every
 * value (lgm_em, pca_iter and gmm_em complete missing entries)"); LZ_OK when
 * data is NULL or complete. */
lz_status lz_data_require_complete(const lz_data *data, const char *prog, lz_error *err);

/* A file of parameters rather than data (pca_iter's --ref, gmm_em's --init
 * file:): LZ_EINVAL naming the first missing value ("ref.csv:2: field 1:
 * missing: --ref needs every value") or, through lz_data_check_magnitude,
 * the first value too large. */
lz_status lz_data_require_values(const lz_data *data, const char *what, lz_error *err);

/* The rows of a data set grouped by their pattern of missing values: a
 * model whose computation for a row depends on which values it observes
 * (a factorisation of the observed block of a covariance) does it once a
 * pattern.  Rows are sorted by their mask (then by row), so the grouping is
 * deterministic; complete data is one pattern with nothing missing. */
typedef struct {
    size_t n, d;
    size_t n_pat;      /* patterns                                          */
    size_t *rows;      /* (n) the rows, pattern by pattern, each in order    */
    size_t *pat_start; /* (n_pat + 1) pattern p has rows[pat_start[p] ..
                          pat_start[p + 1])                                  */
    size_t *pat;       /* (n) the pattern of each row                        */
    size_t *mis;       /* the columns pattern p misses, ascending:
                          mis[mis_start[p] .. mis_start[p + 1])              */
    size_t *mis_start; /* (n_pat + 1)                                        */
    size_t *n_mis;     /* (d) rows missing column j                          */
    size_t n_missing;  /* missing values                                     */
} lz_patterns;

/* The patterns of data (data->miss may be NULL: one pattern).  NULL when
 * out of memory. */
lz_patterns *lz_patterns_make(const lz_data *data);
void lz_patterns_free(lz_patterns *pt); /* NULL is a no-op */

/* New data set made of rows idx[0..m) of src (labels, missing values and
 * names follow). */
lz_data *lz_data_subset(const lz_data *src, const size_t *idx, size_t m);

/* Deterministic split: a permutation drawn from seed (GSL mt19937) puts the
 * last round(test_frac * n) rows into *test, the rest into *train, each in
 * their original order.  0 < test_frac < 1 and both parts non-empty. */
lz_status lz_data_split(const lz_data *all, double test_frac, unsigned long seed, lz_data **train,
                        lz_data **test, lz_error *err);

/* Where value (i, j) of x came from, for an error message, into buf (cap):
 * "data.csv:17: field 5 (x5)" for text (the file's line and column, the
 * label column counted), "train-images-idx3-ubyte: image 3, pixel 5" for IDX,
 * "data: row 3, column 5" for data made in memory.  Returns buf. */
char *lz_data_where(const lz_data *data, size_t i, size_t j, char *buf, size_t cap);

/* Where row i came from, for a message about the whole row, into buf (cap):
 * "data.csv:17" (the file's line) or "data: row 17".  Returns buf. */
char *lz_data_row_where(const lz_data *data, size_t i, char *buf, size_t cap);

/* Where a data set's width is seen, for a message about its number of
 * columns, into buf (cap): "data.csv:3" (the line of its first data row,
 * after any header, comment or blank lines) for text, the path alone for
 * IDX and data made in memory.  Returns buf. */
char *lz_data_width_where(const lz_data *data, char *buf, size_t cap);

/* Smallest and largest value of x. */
void lz_data_range(const lz_data *data, double *lo, double *hi);

/* Completed values far outside what was observed.  xfill (n, d) holds the
 * observed values of data (in any units: those of xfill) with every missing
 * value filled in (E[x_m | x_o] of a fitted model); data gives the mask.  A
 * filled-in value of column j is far when it lies beyond the column's
 * observed values [lo_j, hi_j] by more than their span hi_j - lo_j; columns
 * with fewer than two distinct observed values are not judged.  A
 * conditional mean lies between the observed values or near them, so a far
 * value marks a row the fit follows into a degenerate direction (docs/lgm.md,
 * "Completed values far outside the data").  out gets the count, the rows
 * holding them, and the farthest (in spans of its column).  LZ_ENOMEM. */
typedef struct {
    size_t n_far;  /* far filled-in values               */
    size_t n_rows; /* rows holding at least one          */
    size_t row;    /* the farthest value: its row, ...   */
    size_t col;    /* ... its column,                    */
    double value;  /* ... the value,                     */
    double lo, hi; /* its column's observed [lo, hi]     */
} lz_far_fill;
lz_status lz_far_fills(const lz_data *data, const double *xfill, lz_far_fill *out, lz_error *err);

/* The note for out (n_far > 0) into buf (cap): "2 rows hold 133 completed
 * values beyond their column's observed values by more than the span of
 * those values; the farthest, -70.9 at train.csv:737: field 666 (x666),
 * observed in [0, 1]".  Returns buf. */
char *lz_far_fill_text(const lz_data *data, const lz_far_fill *out, char *buf, size_t cap);

/* mu (d) <- (1/n) sum_n x_n,  x (n, d), refined by one correction pass,
 * mu_j += (1/n) sum_n (x_nj - mu_j), so that the mean of a constant column
 * is its value exactly (and its centred values exactly 0). */
void lz_mean(size_t n, size_t d, const double *x, double *mu);

/* A column's standard deviation at or below LZ_VAR_RTOL times its largest
 * magnitude, max_n |x_nj|, is rounding noise: the column is constant. */
#define LZ_VAR_RTOL 1e-13
/* Magnitudes above this overflow a variance (its squares exceed 1e300). */
#define LZ_VALUE_MAX 1e150
/* A column whose largest magnitude is below this (and not 0) underflows
 * one: its squares fall below 1e-300, into the subnormals, then to 0, and
 * a column of values 1e-200 apart would be taken as constant. */
#define LZ_VALUE_MIN 1e-150

/* Every value of a set scored but not fitted (a test set, a file scored by
 * a loaded model) within LZ_VALUE_MAX in magnitude, as lz_data_moments
 * requires of the training columns: else LZ_ENUMERIC naming the first such
 * value ("test.csv:5: field 2 (x2): value 1e+308 is too large ...").  Such
 * a value makes a squared distance, and the row's log-likelihood, inf or NaN. */
lz_status lz_data_check_magnitude(const lz_data *data, lz_error *err);

/* Column moments, the checks every model makes before it fits:
 *   mu (d)  <- the column means (lz_mean),
 *   var (d) <- (1/n) sum_n (x_nj - mu_j)^2, set to exactly 0 when the
 *              standard deviation is at rounding level (LZ_VAR_RTOL).
 * *n_const (may be NULL) <- the number of constant columns.
 * A column with a value of magnitude above LZ_VALUE_MAX is LZ_ENUMERIC, err
 * naming the file, the column and the value ("data.csv: field 3 (x3):
 * values up to 1.7e+308 are too large ...", or "values down to -1.7e+308"
 * when the largest magnitude is a negative value); so is a column whose values,
 * not all 0, are all below LZ_VALUE_MIN in magnitude ("... values no larger
 * than 5e-200 are too small ...").
 * With missing values (data->miss) both are the moments of each column's
 * observed values (n_j of them; the constant test against their largest
 * magnitude), and a column with no observed value is LZ_EINVAL naming it. */
lz_status lz_data_moments(const lz_data *data, double *mu, double *var, size_t *n_const,
                          lz_error *err);

/* The spread of the columns' scales: max_j sd_j / min_j sd_j over the
 * non-constant columns of var (d) (1 when fewer than two vary); *jmax and
 * *jmin <- the columns of the largest and smallest.  A model that is not
 * equivariant under a rescaling of single columns (PCA, an isotropic noise
 * sigma^2 I) is dominated by the largest columns when this is large: the
 * programs say so above LZ_SPREAD_NOTE. */
#define LZ_SPREAD_NOTE 1e3
double lz_sd_spread(size_t d, const double *var, size_t *jmax, size_t *jmin);

/* "field 5 (x5)" for text data (the file's column, the label column
 * counted), "pixel 5" for IDX images, "column 5" otherwise. */
char *lz_data_colname(const lz_data *data, size_t j, char *buf, size_t cap);

/* S (d, d) <- (1/n) sum_n (x_n - mu)(x_n - mu)^T, both triangles filled.
 * Two-pass (mu given), accumulated by BLAS dsyrk over blocks of rows, so no
 * centred copy of x is made.  mu may be NULL for already-centred data. */
lz_status lz_covariance(size_t n, size_t d, const double *x, const double *mu, double *s,
                        lz_error *err);

/* x_n <- x_n - mu for every row, in place. */
void lz_center(size_t n, size_t d, double *x, const double *mu);

/* Minibatch gathering: out (m, d) <- rows idx[0..m) of x (n, d). */
void lz_gather(size_t d, const double *x, const size_t *idx, size_t m, double *out);
void lz_gather_f(size_t d, const float *x, const size_t *idx, size_t m, float *out);

#endif
