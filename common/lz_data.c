/* lz_data.c -- reading data files, splitting, moments (see lz_data.h). */
#include "lz_data.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lz_blas.h"
#include "lz_size.h"
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <zlib.h>

/* ------------------------------------------------------------------ */
/* whole-file reading through zlib (plain files pass through unchanged) */

static int binary_text(const char *path, const unsigned char *b, size_t n);

static lz_status read_all(const char *path, unsigned char **buf, size_t *len, lz_error *err)
{
    *buf = NULL;
    *len = 0;
    struct stat sb;
    if (stat(path, &sb) != 0)
        return lz_fail(err, LZ_EIO, "%s: cannot open: %s", path, strerror(errno));
    if (S_ISDIR(sb.st_mode))
        return lz_fail(err, LZ_EIO, "%s: is a directory: expected a data file", path);
    FILE *probe = fopen(path, "rb");
    if (!probe) return lz_fail(err, LZ_EIO, "%s: cannot open: %s", path, strerror(errno));
    fclose(probe);
    gzFile gz = gzopen(path, "rb");
    if (!gz) return lz_fail(err, LZ_EIO, "%s: cannot open: %s", path, strerror(errno));
    gzbuffer(gz, 1 << 17);
    size_t cap = 1 << 16, n = 0;
    unsigned char *b = malloc(cap + 1);
    if (!b) {
        gzclose(gz);
        return lz_fail(err, LZ_ENOMEM, "%s: out of memory", path);
    }
    for (;;) {
        if (n == cap && cap == (size_t)1 << 16 && binary_text(path, b, n)) {
            /* a NUL in the first 64 KB of what is no IDX file: said now,
             * not after reading all of /dev/zero */
            free(b);
            gzclose(gz);
            return lz_fail(err, LZ_EFORMAT,
                           "%s: binary content (a NUL byte in the first 64 KB): expected text "
                           "rows of numbers or an IDX file",
                           path);
        }
        if (n == cap) {
            size_t ncap;
            unsigned char *nb =
                lz_mul_ok(cap, 2, &ncap) && ncap < SIZE_MAX ? realloc(b, ncap + 1) : NULL;
            if (!nb) {
                free(b);
                gzclose(gz);
                return lz_fail(err, LZ_ENOMEM, "%s: out of memory", path);
            }
            b = nb;
            cap = ncap;
        }
        size_t want = cap - n;
        if (want > (1u << 30)) want = 1u << 30;
        int got = gzread(gz, b + n, (unsigned)want);
        if (got < 0) {
            int zerr;
            const char *m = gzerror(gz, &zerr);
            size_t pl = strlen(path); /* zlib's message may begin with the path */
            if (!strncmp(m, path, pl) && !strncmp(m + pl, ": ", 2)) m += pl + 2;
            lz_fail(err, LZ_EFORMAT, "%s: cannot decompress: %s", path,
                    zerr == Z_ERRNO ? strerror(errno) : m);
            free(b);
            gzclose(gz);
            return LZ_EFORMAT;
        }
        if (got == 0) break;
        n += (size_t)got;
    }
    /* a gzip stream cut short reads as end of file with an error set */
    int zerr = Z_OK;
    const char *m = gzerror(gz, &zerr);
    if (zerr != Z_OK && zerr != Z_STREAM_END) {
        size_t pl = strlen(path);
        if (!strncmp(m, path, pl) && !strncmp(m + pl, ": ", 2)) m += pl + 2;
        lz_fail(err, LZ_EFORMAT, "%s: truncated or corrupt gzip data: %s", path, m);
        free(b);
        gzclose(gz);
        return LZ_EFORMAT;
    }
    gzclose(gz);
    b[n] = '\0';
    *buf = b;
    *len = n;
    return LZ_OK;
}

/* ------------------------------------------------------------------ */
/* small helpers */

void lz_data_free(lz_data *data)
{
    if (!data) return;
    free(data->x);
    free(data->miss);
    free(data->y);
    if (data->label_names) {
        for (size_t c = 0; c < data->n_classes; c++) free(data->label_names[c]);
        free(data->label_names);
    }
    free(data->field);
    if (data->names) {
        for (size_t j = 0; j < data->d; j++) free(data->names[j]);
        free(data->names);
    }
    free(data->path);
    free(data->line);
    free(data);
}

static lz_data *data_new(const char *path)
{
    lz_data *dt = calloc(1, sizeof *dt);
    if (!dt) return NULL;
    dt->path = strdup(path);
    if (!dt->path) {
        free(dt);
        return NULL;
    }
    dt->label_field = -1;
    return dt;
}

lz_status lz_parse_label_col(const char *s, int *label_col, lz_error *err)
{
    if (!s || !strcmp(s, "none")) {
        *label_col = LZ_LABEL_NONE;
        return LZ_OK;
    }
    if (!strcmp(s, "last")) {
        *label_col = LZ_LABEL_LAST;
        return LZ_OK;
    }
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end) { /* not a number: a column's name */
        if (!*s)
            return lz_fail(err, LZ_EINVAL,
                           "--label-col '': expected a column number >= 1, a column name, "
                           "'last' or 'none'");
        *label_col = LZ_LABEL_NAME;
        return LZ_OK;
    }
    if (errno || v < 1 || v > INT_MAX)
        return lz_fail(err, LZ_EINVAL,
                       "--label-col '%s': expected a column number >= 1, a column name, 'last' "
                       "or 'none'",
                       s);
    *label_col = (int)v;
    return LZ_OK;
}

lz_status lz_parse_skip_cols(char *s, int *cols, const char **names, size_t cap, size_t *n,
                             lz_error *err)
{
    for (char *p = s;;) {
        char *comma = strchr(p, ',');
        if (comma) *comma = '\0';
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        int number = end != p && !*end; /* the whole token is an integer */
        if (!*p || (number && (errno || v < 1 || v > INT_MAX)))
            return lz_fail(err, LZ_EINVAL,
                           "--skip-col '%.60s': expected column numbers >= 1 or names in the "
                           "header, separated by commas",
                           p);
        if (*n == cap) return lz_fail(err, LZ_EINVAL, "--skip-col: at most %zu columns", cap);
        cols[*n] = number ? (int)v : 0;
        names[(*n)++] = number ? NULL : p;
        if (!comma) return LZ_OK;
        p = comma + 1;
    }
}

/* ------------------------------------------------------------------ */
/* IDX */

static uint32_t be32(const unsigned char *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* "train-images-idx3-ubyte[.gz]", "x.idx", "x.idx.gz": names that promise IDX */
static int looks_like_idx_name(const char *path)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    size_t n = strlen(b);
    if (n > 3 && !strcmp(b + n - 3, ".gz")) n -= 3;
    if (n > 4 && !strncmp(b + n - 4, ".idx", 4)) return 1;
    for (const char *p = b; (p = strstr(p, "idx")) != NULL; p++)
        if (p[3] >= '1' && p[3] <= '9' && !strncmp(p + 4, "-ubyte", 6)) return 1;
    return 0;
}

static int idx_type_size(unsigned t);

/* 1 when b (n bytes) holds a NUL byte and is no IDX file (by its magic
 * number or its name) */
static int binary_text(const char *path, const unsigned char *b, size_t n)
{
    int idx = n >= 4 && b[0] == 0 && b[1] == 0 && idx_type_size(b[2]) && b[3] >= 1 && b[3] <= 8;
    return !idx && !looks_like_idx_name(path) && memchr(b, '\0', n) != NULL;
}

static int idx_type_size(unsigned t)
{
    switch (t) {
    case 0x08: return 1; /* unsigned byte */
    case 0x09: return 1; /* signed byte   */
    case 0x0B: return 2; /* short         */
    case 0x0C: return 4; /* int           */
    case 0x0D: return 4; /* float         */
    case 0x0E: return 8; /* double        */
    }
    return 0;
}

/* Parse an IDX header: type, dims.  Returns status; on success *off is the
 * offset of the payload and *count the number of values it must hold. */
static lz_status idx_header(const char *path, const unsigned char *b, size_t len, unsigned *type,
                            unsigned *ndim, uint32_t dims[8], size_t *off, size_t *count,
                            lz_error *err)
{
    if (len < 4 || b[0] != 0 || b[1] != 0 || !idx_type_size(b[2]) || b[3] == 0 || b[3] > 8) {
        if (len < 4)
            lz_fail(err, LZ_EFORMAT,
                    "%s: truncated IDX header: %zu byte%s, expected at least 4 (the magic number)",
                    path, len, len == 1 ? "" : "s");
        else
            lz_fail(err, LZ_EFORMAT,
                    "%s: byte 0: bad IDX magic 0x%08x: expected 0x000008NN (0x00000803 for "
                    "images, 0x00000801 for labels)",
                    path, be32(b));
        return LZ_EFORMAT;
    }
    *type = b[2];
    *ndim = b[3];
    size_t hdr = 4 + 4 * (size_t)*ndim;
    if (len < hdr)
        return lz_fail(err, LZ_EFORMAT, "%s: truncated IDX header: %zu bytes, expected %zu", path,
                       len, hdr);
    size_t c = 1, need = 0;
    int fits = 1;
    for (unsigned i = 0; i < *ndim; i++) {
        dims[i] = be32(b + 4 + 4 * i);
        if (dims[i] == 0) return lz_fail(err, LZ_EFORMAT, "%s: IDX dimension %u is 0", path, i + 1);
        fits = fits && lz_mul_ok(c, dims[i], &c);
    }
    /* need = count x element size, every product checked: a header whose
     * count wraps around must not pass for a small file */
    fits = fits && lz_mul_ok(c, (size_t)idx_type_size(*type), &need);
    if (!fits) {
        char shape[128];
        size_t at = 0;
        for (unsigned i = 0; i < *ndim && at < sizeof shape; i++)
            at += (size_t)snprintf(shape + at, sizeof shape - at, "%s%lu", i ? " x " : "",
                                   (unsigned long)dims[i]);
        return lz_fail(err, LZ_EFORMAT,
                       "%s: IDX header: dimensions %s of %d-byte values overflow: expected a "
                       "shape the file can hold (it has %zu bytes)",
                       path, shape, idx_type_size(*type), len);
    }
    if (len - hdr < need)
        return lz_fail(err, LZ_EFORMAT,
                       "%s: truncated IDX file: the header promises %zu values "
                       "(%zu bytes) after byte %zu, the file has %zu",
                       path, c, need, hdr, len - hdr);
    if (len - hdr > need)
        return lz_fail(err, LZ_EFORMAT,
                       "%s: byte %zu: %zu bytes past the %zu values the IDX header promises", path,
                       hdr + need, len - hdr - need, c);
    *off = hdr;
    *count = c;
    return LZ_OK;
}

static double idx_value(unsigned type, const unsigned char *p)
{
    switch (type) {
    case 0x08: return p[0] / 255.0;
    case 0x09: return (double)(signed char)p[0];
    case 0x0B: return (double)(int16_t)(((unsigned)p[0] << 8) | p[1]);
    case 0x0C: return (double)(int32_t)be32(p);
    case 0x0D: {
        uint32_t u = be32(p);
        float f;
        memcpy(&f, &u, 4);
        return f;
    }
    case 0x0E: {
        uint64_t u = ((uint64_t)be32(p) << 32) | be32(p + 4);
        double v;
        memcpy(&v, &u, 8);
        return v;
    }
    }
    return NAN;
}

/* Path of the labels file next to an images file, if it exists. */
static char *idx_labels_sibling(const char *path)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    const char *hit = strstr(b, "images-idx3-ubyte");
    if (!hit) return NULL;
    size_t pre = (size_t)(hit - path);
    const char *rest = hit + strlen("images-idx3-ubyte");
    const char *alts[2] = {rest, NULL};
    char alt[16] = "";
    if (!strcmp(rest, ".gz"))
        alts[1] = "";
    else if (!*rest) {
        strcpy(alt, ".gz");
        alts[1] = alt;
    }
    for (int a = 0; a < 2 && alts[a]; a++) {
        size_t n = pre + strlen("labels-idx1-ubyte") + strlen(alts[a]) + 1;
        char *p = malloc(n);
        if (!p) return NULL;
        snprintf(p, n, "%.*slabels-idx1-ubyte%s", (int)pre, path, alts[a]);
        FILE *f = fopen(p, "rb");
        if (f) {
            fclose(f);
            return p;
        }
        free(p);
    }
    return NULL;
}

static lz_status read_idx(const char *path, const unsigned char *b, size_t len,
                          const lz_read_opts *o, lz_data *dt, lz_error *err)
{
    if (o->label_col != LZ_LABEL_NONE) {
        char lc[32];
        if (o->label_col == LZ_LABEL_LAST)
            snprintf(lc, sizeof lc, "last");
        else if (o->label_col == LZ_LABEL_NAME)
            snprintf(lc, sizeof lc, "%.30s", o->label_name ? o->label_name : "");
        else
            snprintf(lc, sizeof lc, "%d", o->label_col);
        return lz_fail(err, LZ_EINVAL,
                       "%s: --label-col %s: IDX data has no label column: its labels come "
                       "from the sibling ...-labels-idx1-ubyte file (drop --label-col)",
                       path, lc);
    }
    if (o->n_skip) {
        char sc[32];
        if (o->skip_name && o->skip_name[0])
            snprintf(sc, sizeof sc, "%.30s", o->skip_name[0]);
        else
            snprintf(sc, sizeof sc, "%d", o->skip[0]);
        return lz_fail(err, LZ_EINVAL,
                       "%s: --skip-col %s: IDX data has no columns to skip: its pixels are all "
                       "features (drop --skip-col)",
                       path, sc);
    }
    unsigned type, ndim;
    uint32_t dims[8];
    size_t off, count, bytes;
    lz_status st = idx_header(path, b, len, &type, &ndim, dims, &off, &count, err);
    if (st) return st;
    if (ndim == 1)
        return lz_fail(err, LZ_EFORMAT,
                       "%s: an IDX file of 1 dimension holds labels: expected "
                       "samples (2 or more dimensions)",
                       path);
    dt->n = dims[0];
    dt->d = count / dims[0];
    if (ndim == 3) {
        dt->img_rows = dims[1];
        dt->img_cols = dims[2];
    }
    dt->x = lz_mul_ok(count, sizeof *dt->x, &bytes) ? malloc(bytes) : NULL;
    if (!dt->x) return lz_fail(err, LZ_ENOMEM, "%s: out of memory", path);
    int sz = idx_type_size(type);
    for (size_t i = 0; i < count; i++) {
        double v = idx_value(type, b + off + i * (size_t)sz);
        if (!isfinite(v))
            return lz_fail(err, LZ_EFORMAT,
                           "%s: byte %zu: sample %zu, value %zu is not a finite number", path,
                           off + i * (size_t)sz, i / dt->d + 1, i % dt->d + 1);
        dt->x[i] = v;
    }
    char *lp = idx_labels_sibling(path);
    if (!lp) return LZ_OK;
    unsigned char *lb;
    size_t llen;
    st = read_all(lp, &lb, &llen, err);
    if (!st) {
        unsigned lt, lnd;
        uint32_t ld[8];
        size_t loff, lcount;
        st = idx_header(lp, lb, llen, &lt, &lnd, ld, &loff, &lcount, err);
        if (!st && lnd != 1)
            st = lz_fail(err, LZ_EFORMAT, "%s: labels file has %u dimensions: expected 1", lp, lnd);
        if (!st && lcount != dt->n)
            st = lz_fail(err, LZ_EFORMAT, "%s: %zu labels for the %zu samples of %s", lp, lcount,
                         dt->n, path);
        if (!st) {
            size_t ybytes;
            dt->y = lz_mul_ok(dt->n, sizeof *dt->y, &ybytes) ? malloc(ybytes) : NULL;
            if (!dt->y) st = lz_fail(err, LZ_ENOMEM, "%s: out of memory", lp);
            int lsz = idx_type_size(lt);
            for (size_t i = 0; !st && i < dt->n; i++) {
                /* labels are integers even in an unsigned-byte file */
                const unsigned char *p = lb + loff + i * (size_t)lsz;
                dt->y[i] = lt == 0x08 ? (double)p[0] : idx_value(lt, p);
                if (!isfinite(dt->y[i]))
                    st = lz_fail(err, LZ_EFORMAT, "%s: byte %zu: label %zu is not a finite number",
                                 lp, loff + i * (size_t)lsz, i + 1);
            }
        }
        free(lb);
    }
    free(lp);
    return st;
}

/* ------------------------------------------------------------------ */
/* text */

typedef struct {
    const char *path;
    char delim;  /* ';', ',' or '\t', or ' ' for runs of white space */
    size_t line; /* 1-based physical line number                */
} text_ctx;

static int parse_number(const char *s, double *v);

/* A field of a ';'-separated file with one decimal comma and no point, such
 * as "1,5" (a spreadsheet's CSV in a decimal-comma locale, R's read.csv2):
 * the comma becomes a point when the field is then a number. */
static void decimal_comma(char *p)
{
    char *c = strchr(p, ',');
    if (!c || strchr(c + 1, ',') || strchr(p, '.')) return;
    double v;
    *c = '.';
    if (!parse_number(p, &v)) *c = ',';
}

static size_t split_fields(char *s, char delim, char **f, size_t cap);

/* 1 when a tab-separated field of line holds two or more numbers separated
 * by spaces and nothing else ("1 2  3\t0": a file aligned with spaces that
 * has a tab in it, not a TSV) */
static int numbers_between_tabs(const char *line)
{
    for (const char *p = line;;) {
        const char *e = strchr(p, '\t');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        char buf[512], *tok[256];
        if (n < sizeof buf) {
            memcpy(buf, p, n);
            buf[n] = '\0';
            size_t nt = split_fields(buf, ' ', tok, 256), nums = 0; /* its blank-separated tokens */
            double v;
            for (size_t t = 0; t < nt && t < 256; t++) nums += (size_t)parse_number(tok[t], &v);
            if (nt >= 2 && nums == nt) return 1;
        }
        if (!e) return 0;
        p = e + 1;
    }
}

/* The delimiter of a file from its first content line, looking only outside
 * double quotes (a header's "b;c" names one column): ';' first, as its files
 * write decimal commas, then ',', tab (unless a tab-separated field holds
 * numbers separated by spaces), else runs of white space. */
static char guess_delim(const char *line)
{
    int semi = 0, comma = 0, tab = 0, quoted = 0;
    for (const char *q = line; *q; q++) {
        if (*q == '"')
            quoted = !quoted;
        else if (!quoted) {
            semi |= *q == ';';
            comma |= *q == ',';
            tab |= *q == '\t';
        }
    }
    return semi ? ';' : comma ? ',' : tab && !numbers_between_tabs(line) ? '\t' : ' ';
}

/* A blank around a field: a space, or a tab unless tabs delimit the fields
 * (then "1\t\t3" holds an empty field, a missing value, and a line may
 * begin with one). */
static int blank(char c, char delim) { return c == ' ' || (c == '\t' && delim != '\t'); }

/* The closing quote of the quoted field starting at p (p[0] == '"'): the
 * first '"' not doubled, when only blanks follow it before the delimiter or
 * the end of the line; else NULL (not a quoted field: read as written). */
static char *quoted_end(char *p, char delim)
{
    for (char *r = p + 1; *r; r++) {
        if (*r != '"') continue;
        if (r[1] == '"') {
            r++;
            continue;
        }
        char *t = r + 1;
        while (blank(*t, delim)) t++;
        return *t == delim || !*t ? r : NULL;
    }
    return NULL;
}

/* Split one line (NUL-terminated, no newline) into fields in place: a field
 * in double quotes may hold the delimiter (and "" for a quote), as R's
 * read.csv and Python's csv module read it.  Returns the number of fields;
 * fills at most cap pointers. */
static size_t split_fields(char *s, char delim, char **f, size_t cap)
{
    size_t n = 0;
    if (delim == ' ') {
        char *p = s;
        for (;;) {
            while (*p == ' ' || *p == '\t') p++;
            if (!*p) break;
            if (n < cap) f[n] = p;
            n++;
            while (*p && *p != ' ' && *p != '\t') p++;
            if (!*p) break;
            *p++ = '\0';
        }
        return n;
    }
    char *p = s;
    for (;;) {
        while (blank(*p, delim)) p++;
        char *q = NULL; /* the delimiter after the field, or NULL at the end */
        char *close = p[0] == '"' ? quoted_end(p, delim) : NULL;
        if (close) {
            /* "a, b" or "say ""hi""": the text between the quotes, each ""
             * one quote (RFC 4180) */
            char *w = p, *r = p + 1;
            for (; r < close; r++) {
                *w++ = *r;
                if (*r == '"') r++;
            }
            *w = '\0';
            for (r = close + 1; blank(*r, delim); r++)
                ;
            q = *r ? r : NULL;
        } else {
            q = strchr(p, delim);
            if (q) *q = '\0';
            /* trim blanks and one pair of double quotes */
            char *e = p + strlen(p);
            while (e > p && blank(e[-1], delim)) *--e = '\0';
            if (e - p >= 2 && p[0] == '"' && e[-1] == '"') {
                e[-1] = '\0';
                p++;
            }
        }
        if (delim == ';') decimal_comma(p);
        if (n < cap) f[n] = p;
        n++;
        if (!q) break;
        p = q + 1;
    }
    return n;
}

/* strtod in the C locale on a whole field; 1 if it is a number (any). */
static int parse_number(const char *s, double *v)
{
    if (!*s) return 0;
    char *end;
    errno = 0;
    *v = lz_strtod(s, &end);
    return end != s && *end == '\0';
}

/* A missing value: the empty field, NA, NaN (any case), ?, or the
 * user's --missing token. */
static int is_missing(const char *s, const char *extra)
{
    return !*s || !strcmp(s, "NA") || !strcasecmp(s, "nan") || !strcmp(s, "?") ||
           (extra && *extra && !strcmp(s, extra));
}

/* The text of field col (0-based) of one line, into buf (cap); 0 when the
 * line has fewer fields. */
static int nth_field(const char *line, char delim, size_t col, size_t ncols, char *buf, size_t cap,
                     char **f)
{
    size_t n = strlen(line);
    if (n >= cap) return 0;
    memcpy(buf, line, n + 1);
    size_t nf = split_fields(buf, delim, f, ncols + 1);
    return nf == ncols && col < nf;
}

/* 1 when field col of every data line from p to end (a column whose first
 * value was a word) holds a word: no number, no missing value */
static int column_of_words(const char *p, const char *end, char delim, size_t col, size_t ncols,
                           const char *missing)
{
    enum { CAP = 4096 };
    char *buf = malloc(CAP), **f = malloc((ncols + 1) * sizeof *f);
    int words = buf && f;
    while (words && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = (size_t)((nl ? nl : end) - p);
        char line[CAP];
        if (len < CAP) {
            memcpy(line, p, len);
            line[len] = '\0';
            if (len && line[len - 1] == '\r') line[len - 1] = '\0';
            const char *q = line;
            while (blank(*q, delim)) q++;
            double v;
            if (*q && *q != '#' && nth_field(q, delim, col, ncols, buf, CAP, f) &&
                (is_missing(f[col], missing) || parse_number(f[col], &v)))
                words = 0;
        }
        p = nl ? nl + 1 : end;
    }
    free(buf);
    free(f);
    return words;
}

typedef struct {
    const text_ctx *c;
    const char *rest, *end; /* the lines after this one */
    size_t ncols;
    int label_idx;
    const char *missing;
    size_t rows; /* data rows read before this one */
} field_ctx;

/* field col (1-based) of the current line as a number into *v; errors name
 * the file, line and field, and say when the column looks like labels */
static lz_status field_value(const field_ctx *fc, const char *s, size_t col, char **names,
                             double *v, lz_error *err)
{
    const text_ctx *c = fc->c;
    char nm[96] = "";
    if (names && names[col - 1]) snprintf(nm, sizeof nm, " (%s)", names[col - 1]);
    if (!parse_number(s, v)) {
        char hint[256] = ""; /* " (column N (NAME) holds words: ...)", NAME up to 93 chars */
        /* a column of words from its first row on: labels, not a feature */
        if (fc->rows == 0 && fc->label_idx < 0 &&
            column_of_words(fc->rest, fc->end, c->delim, col - 1, fc->ncols, fc->missing)) {
            if (col == fc->ncols)
                snprintf(hint, sizeof hint,
                         " (column %zu%s holds words: class labels? --label-col last)", col, nm);
            else
                snprintf(hint, sizeof hint,
                         " (column %zu%s holds words: class labels? --label-col %zu)", col, nm,
                         col);
        }
        return lz_fail(err, LZ_EFORMAT, "%s:%zu: field %zu%s: expected a number, got '%.40s'%s",
                       c->path, c->line, col, nm, s, hint);
    }
    if (!isfinite(*v))
        return lz_fail(err, LZ_EFORMAT,
                       "%s:%zu: field %zu%s: '%.40s' is not finite: expected a finite number "
                       "(a missing value is an empty field, NA, NaN or ?)",
                       c->path, c->line, col, nm, s);
    return LZ_OK;
}

/* Make room for row `rows` of d values: x (cap, d), line (cap), the label
 * strings (cap) when there are labels, and miss (cap, d) once a value was
 * missing, grow together, doubling, so the memory held is at most twice what
 * the rows read so far need (never lines x columns up front: a file of blank
 * lines reserves nothing).  0 when out of memory. */
static int grow_rows(lz_data *dt, char ***lab, size_t rows, size_t d, int labels, size_t *cap)
{
    if (rows < *cap) return 1;
    size_t nc, bx, bl;
    if (!lz_mul_ok(*cap ? *cap : 32, *cap ? 2 : 1, &nc) || !lz_mul3_ok(nc, d, sizeof *dt->x, &bx) ||
        !lz_mul_ok(nc, sizeof *dt->line, &bl))
        return 0;
    double *nx = realloc(dt->x, bx);
    if (!nx) return 0;
    dt->x = nx;
    size_t *nl = realloc(dt->line, bl);
    if (!nl) return 0;
    dt->line = nl;
    if (dt->miss) {
        unsigned char *nm = realloc(dt->miss, nc * d); /* nc d <= bx: fits */
        if (!nm) return 0;
        memset(nm + *cap * d, 0, (nc - *cap) * d);
        dt->miss = nm;
    }
    if (labels) {
        char **ny = realloc(*lab, nc * sizeof *ny); /* nc * 8 <= bx: fits */
        if (!ny) return 0;
        *lab = ny;
    }
    *cap = nc;
    return 1;
}

/* qsort_r order of row indices by their label string, then by row */
static int cmp_label(const void *a, const void *b, void *ctx)
{
    char **lab = ctx;
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    int c = strcmp(lab[i], lab[j]);
    return c ? c : (i > j) - (i < j);
}

static int cmp_size_t(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

/* y (n) and the class names from the label strings lab (n): numbers when
 * every label is a finite number, else class codes 0..C-1 in order of first
 * appearance, O(n log n).  The strings that become names move out of lab
 * (set to NULL there). */
static lz_status labels_from_strings(lz_data *dt, char **lab, size_t n, lz_error *err)
{
    int numeric = 1;
    for (size_t i = 0; i < n && numeric; i++) {
        double v;
        numeric = parse_number(lab[i], &v) && isfinite(v);
    }
    dt->y = malloc((n ? n : 1) * sizeof *dt->y);
    if (!dt->y) return lz_fail(err, LZ_ENOMEM, "%s: out of memory", dt->path);
    if (numeric) {
        for (size_t i = 0; i < n; i++) parse_number(lab[i], &dt->y[i]);
        return LZ_OK;
    }
    /* sort the rows by (label, row): each run of equal labels is a class, the
     * run's first row its first appearance; the classes numbered in the order
     * of their first rows */
    size_t *ord = malloc((n ? n : 1) * sizeof *ord);     /* rows by label      */
    size_t *run = malloc((n ? n : 1) * sizeof *run);     /* class run of ord[a] */
    size_t *first = malloc((n ? n : 1) * sizeof *first); /* first row of run  */
    size_t *code = malloc((n ? n : 1) * sizeof *code);   /* code of run        */
    lz_status st = LZ_OK;
    if (!ord || !run || !first || !code)
        st = lz_fail(err, LZ_ENOMEM, "%s: out of memory", dt->path);
    size_t nr = 0;
    if (!st) {
        for (size_t i = 0; i < n; i++) ord[i] = i;
        qsort_r(ord, n, sizeof *ord, cmp_label, lab);
        for (size_t a = 0; a < n; a++) {
            if (a == 0 || strcmp(lab[ord[a]], lab[ord[a - 1]])) first[nr++] = ord[a];
            run[a] = nr - 1;
        }
        /* code[r] = the rank of first[r] among the runs' first rows */
        size_t *byrow = malloc((nr ? nr : 1) * sizeof *byrow);
        if (!byrow) st = lz_fail(err, LZ_ENOMEM, "%s: out of memory", dt->path);
        for (size_t r = 0; !st && r < nr; r++) byrow[r] = first[r];
        if (!st) qsort(byrow, nr, sizeof *byrow, cmp_size_t);
        /* first[] is sorted by label; byrow by row: match them through a
         * search of each run's first row in byrow */
        for (size_t r = 0; !st && r < nr; r++) {
            size_t *hit = bsearch(&first[r], byrow, nr, sizeof *byrow, cmp_size_t);
            code[r] = (size_t)(hit - byrow);
        }
        free(byrow);
    }
    if (!st && !(dt->label_names = calloc(nr ? nr : 1, sizeof *dt->label_names)))
        st = lz_fail(err, LZ_ENOMEM, "%s: out of memory", dt->path);
    if (!st) {
        for (size_t a = 0; a < n; a++) dt->y[ord[a]] = (double)code[run[a]];
        for (size_t r = 0; r < nr; r++) {
            dt->label_names[code[r]] = lab[first[r]];
            lab[first[r]] = NULL;
        }
        dt->n_classes = nr;
    }
    free(ord);
    free(run);
    free(first);
    free(code);
    return st;
}
/* 1 when the header name h is what a data frame writes for its row index */
static int index_header(const char *h)
{
    return !h || !*h || !strncmp(h, "Unnamed", 7) || !strcasecmp(h, "index");
}

/* The 1-based column *col that the header (ncols names, NULL where unnamed)
 * gives the name nm, for option opt (--label-col, --skip-col) at line
 * `line`; an error when the file has no header (has_comment: only a '#' line
 * that does not name each column), no such name, or two columns of it. */
static lz_status header_column(const char *path, size_t line, const char *opt, const char *nm,
                               const char *const *header, size_t ncols, int has_comment,
                               size_t *col, lz_error *err)
{
    size_t j = 0;
    while (j < ncols && !(header[j] && !strcmp(header[j], nm))) j++;
    if (j == ncols)
        return !header[0] ? lz_fail(err, LZ_EINVAL,
                                    "%s:%zu: %s '%.60s': the file has no header line of names%s: "
                                    "give the column's number",
                                    path, line, opt, nm,
                                    has_comment ? " (its '#' line before the data does not name "
                                                  "each column)"
                                                : "")
                          : lz_fail(err, LZ_EINVAL,
                                    "%s:%zu: %s '%.60s': no column of that name in the header "
                                    "(%zu columns, the first '%.40s')",
                                    path, line, opt, nm, ncols, header[0]);
    for (size_t k = j + 1; k < ncols; k++)
        if (header[k] && !strcmp(header[k], nm))
            return lz_fail(err, LZ_EINVAL,
                           "%s:%zu: %s '%.60s': the header names fields %zu and %zu so: give the "
                           "column's number",
                           path, line, opt, nm, j + 1, k + 1);
    *col = j + 1;
    return LZ_OK;
}

static lz_status read_text(const char *path, char *b, size_t len, const lz_read_opts *o,
                           lz_data *dt, lz_error *err)
{
    text_ctx c = {path, 0, 0};
    size_t cap_rows = 0;
    const char *nul = memchr(b, '\0', len);
    if (nul) {
        size_t line = 1;
        for (const char *q = b; q < nul; q++) line += *q == '\n';
        return lz_fail(err, LZ_EFORMAT,
                       "%s:%zu: binary content (a NUL byte): expected text rows of numbers or an "
                       "IDX file",
                       path, line);
    }
    /* a carriage return not before a line feed ends a line too (classic Mac
     * files): it was read as a blank, the whole file one row */
    for (size_t i = 0; i < len; i++)
        if (b[i] == '\r' && (i + 1 == len || b[i + 1] != '\n')) b[i] = '\n';

    size_t ncols = 0, d = 0, rows = 0, cap_f = 0;
    int label_idx = -1; /* 0-based column of the label, -1 none */
    char **f = NULL;
    char **header = NULL;         /* (ncols) names from a header line */
    char *pending_comment = NULL; /* last '#' line before the data */
    char *kind = NULL;  /* (ncols) each file column: 'x' feature, 'y' label, 's' skipped */
    char **lab = NULL;  /* (rows) the label strings */
    int has_header = 0; /* the first content line named the columns */
    lz_status st = LZ_OK;
    char *p = b, *end = b + len;

    while (p < end && !st) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *eol = nl ? nl : end;
        *eol = '\0';
        if (eol > p && eol[-1] == '\r') eol[-1] = '\0';
        char *line = p, *t = p; /* t: past the line's blanks */
        p = nl ? nl + 1 : end;
        c.line++;
        /* a byte-order mark, where files that began with one were joined */
        if (!strncmp(line, "\xEF\xBB\xBF", 3)) line = t = line + 3;
        while (*t == ' ' || *t == '\t') t++;
        if (!*t) continue;
        if (*t == '#') {
            if (rows == 0 && !header) pending_comment = t + 1;
            continue;
        }
        if (!c.delim) c.delim = guess_delim(t);
        while (blank(*line, c.delim)) line++; /* tabs: a leading empty field stays */
        if (!f) {
            /* count fields once to size the pointer array */
            size_t nf = 1;
            for (const char *q = line; *q; q++)
                if (*q == c.delim || *q == '\t' || *q == ' ') nf++;
            cap_f = nf + 1;
            f = malloc(cap_f * sizeof *f);
            if (!f) {
                st = lz_fail(err, LZ_ENOMEM, "%s: out of memory", path);
                break;
            }
        }
        size_t nf = split_fields(line, c.delim, f, cap_f);
        if (ncols == 0) {
            /* first content line: a header when none of its fields is a
             * number and not all of them are missing values ("NA,NA,NA" is
             * a row with nothing observed, not the names "NA") */
            size_t used = nf < cap_f ? nf : cap_f;
            int any_num = 0, all_missing = 1;
            double v;
            for (size_t j = 0; j < used; j++) {
                if (parse_number(f[j], &v)) any_num = 1;
                if (!is_missing(f[j], o->missing)) all_missing = 0;
            }
            if (all_missing) any_num = 1; /* read as data */
            ncols = nf;
            header = calloc(ncols, sizeof *header);
            kind = malloc(ncols);
            if (!header || !kind) {
                st = lz_fail(err, LZ_ENOMEM, "%s: out of memory", path);
                break;
            }
            /* the columns' names: this line when it is a header, else a
             * "# a b c" line just before the data with one name a column
             * (this project's .dat files) */
            if (!any_num) {
                for (size_t j = 0; j < ncols && !st; j++)
                    if (!(header[j] = strdup(f[j])))
                        st = lz_fail(err, LZ_ENOMEM, "%s: out of memory", path);
            } else if (pending_comment) {
                char *copy = strdup(pending_comment);
                char **hf = malloc((ncols + 1) * sizeof *hf);
                if (copy && hf && split_fields(copy, ' ', hf, ncols + 1) == ncols)
                    for (size_t j = 0; j < ncols; j++) header[j] = strdup(hf[j]);
                free(hf);
                free(copy);
            }
            if (st) break;
            if (o->label_col == LZ_LABEL_LAST)
                label_idx = (int)ncols - 1;
            else if (o->label_col == LZ_LABEL_NAME) {
                size_t lc;
                if ((st = header_column(
                         path, c.line, "--label-col", o->label_name ? o->label_name : "",
                         (const char *const *)header, ncols, pending_comment != NULL, &lc, err)))
                    break;
                label_idx = (int)lc - 1;
            } else if (o->label_col > 0) {
                if ((size_t)o->label_col > ncols) {
                    /* label_name with a number: the name DATA's header gave
                     * that column (a --test file, lz_load_inputs) */
                    int named = o->label_name != NULL;
                    st = lz_fail(err, LZ_EINVAL,
                                 "%s:%zu: --label-col %s%.60s%s%d: the file has %zu columns", path,
                                 c.line, named ? "'" : "", named ? o->label_name : "",
                                 named ? "', DATA's field " : "", o->label_col, ncols);
                    break;
                }
                label_idx = o->label_col - 1;
            }
            memset(kind, 'x', ncols);
            for (size_t q = 0; !st && q < o->n_skip; q++) {
                const char *nm = o->skip_name ? o->skip_name[q] : NULL;
                size_t sc = (size_t)o->skip[q];
                if (nm &&
                    (st = header_column(path, c.line, "--skip-col", nm, (const char *const *)header,
                                        ncols, pending_comment != NULL, &sc, err)))
                    break;
                if (sc < 1)
                    st = lz_fail(err, LZ_EINVAL, "%s:%zu: --skip-col: a column number of 0", path,
                                 c.line);
                else if (sc > ncols)
                    st = lz_fail(err, LZ_EINVAL, "%s:%zu: --skip-col %zu: the file has %zu columns",
                                 path, c.line, sc, ncols);
                else if ((int)sc - 1 == label_idx)
                    st = lz_fail(
                        err, LZ_EINVAL,
                        "%s:%zu: --skip-col %.60s%s%zu is the --label-col: keep one of them", path,
                        c.line, nm ? nm : "", nm ? ", field " : "", sc);
                else
                    kind[sc - 1] = 's';
            }
            if (st) break;
            if (label_idx >= 0) kind[label_idx] = 'y';
            for (size_t j = 0; j < ncols; j++) d += kind[j] == 'x';
            dt->label_field = label_idx;
            dt->n_fields = ncols;
            if (d == 0) {
                st = lz_fail(err, LZ_EFORMAT,
                             "%s:%zu: no feature columns left after taking out the label and the "
                             "skipped columns",
                             path, c.line);
                break;
            }
            if (!(dt->field = malloc(d * sizeof *dt->field))) {
                st = lz_fail(err, LZ_ENOMEM, "%s: out of memory", path);
                break;
            }
            for (size_t j = 0, o2 = 0; j < ncols; j++)
                if (kind[j] == 'x') dt->field[o2++] = j + 1;
            if (!any_num) {
                has_header = 1;
                continue;
            }
        }
        if (nf != ncols) {
            st = lz_fail(err, LZ_EFORMAT, "%s:%zu: %zu fields: expected %zu as on the first row",
                         path, c.line, nf, ncols);
            break;
        }
        if (!grow_rows(dt, &lab, rows, d, label_idx >= 0, &cap_rows)) {
            st = lz_fail(err, LZ_ENOMEM, "%s:%zu: out of memory for %zu rows of %zu values", path,
                         c.line, rows + 1, d);
            break;
        }
        double *row = dt->x + rows * d;
        dt->line[rows] = c.line;
        if (lab) lab[rows] = NULL;
        field_ctx fc = {&c, p, end, ncols, label_idx, o->missing, rows};
        size_t observed = 0;
        for (size_t j = 0, o2 = 0; j < ncols && !st; j++) {
            if (kind[j] == 's') continue;
            if (kind[j] == 'y') {
                char nm[96] = "";
                if (header[j]) snprintf(nm, sizeof nm, " (%s)", header[j]);
                if (is_missing(f[j], o->missing))
                    st = lz_fail(err, LZ_EFORMAT,
                                 "%s:%zu: field %zu%s: the label is missing: expected a class for "
                                 "every row",
                                 path, c.line, j + 1, nm);
                else if (!(lab[rows] = strdup(f[j])))
                    st = lz_fail(err, LZ_ENOMEM, "%s: out of memory", path);
                continue;
            }
            if (is_missing(f[j], o->missing)) {
                if (!dt->miss && !(dt->miss = calloc(cap_rows * d, 1))) {
                    st = lz_fail(err, LZ_ENOMEM, "%s: out of memory", path);
                    break;
                }
                dt->miss[rows * d + o2] = 1;
                dt->n_miss++;
                row[o2++] = 0;
                continue;
            }
            double v = 0;
            st = field_value(&fc, f[j], j + 1, header, &v, err);
            row[o2++] = v;
            observed++;
        }
        if (!st && !observed)
            st = lz_fail(err, LZ_EFORMAT,
                         "%s:%zu: every value of the row is missing: expected at least one", path,
                         c.line);
        rows++; /* also on error: lab[rows - 1] is freed below */
    }
    free(f);
    if (!st && rows == 0)
        st = lz_fail(err, LZ_EFORMAT, "%s: %s: expected rows of numbers", path,
                     len == 0 ? "empty file" : "no data rows");
    if (!st) {
        dt->n = rows;
        dt->d = d;
        double *nx = realloc(dt->x, rows * d * sizeof *nx); /* shrinks: fits */
        if (nx) dt->x = nx;
        if (label_idx >= 0) st = labels_from_strings(dt, lab, rows, err);
    }
    if (!st && has_header && ncols > 1 && kind[0] == 'x' && index_header(header[0]) && !dt->miss &&
        rows > 1) {
        /* a first column that counts the rows, under a data frame's index
         * header, is not a feature */
        int count = 1;
        double base = dt->x[0];
        for (size_t i = 0; i < rows && count; i++) count = dt->x[i * d] == base + (double)i;
        if (count && (base == 0 || base == 1))
            st = lz_fail(err, LZ_EFORMAT,
                         "%s: field 1 ('%s') counts the rows %g, %g, ...: an index column? drop "
                         "it with --skip-col 1",
                         path, header[0] ? header[0] : "", base, base + 1);
    }
    if (!st) {
        int have_names = header != NULL;
        for (size_t j = 0; have_names && j < ncols; j++) have_names = header[j] != NULL;
        if (have_names) {
            dt->names = calloc(d, sizeof *dt->names);
            if (!dt->names) st = lz_fail(err, LZ_ENOMEM, "%s: out of memory", path);
            for (size_t j = 0, o2 = 0; !st && j < ncols; j++) {
                if (kind[j] != 'x') continue;
                dt->names[o2++] = header[j];
                header[j] = NULL;
            }
        }
    }
    if (lab) {
        for (size_t i = 0; i < rows; i++) free(lab[i]);
        free(lab);
    }
    if (header) {
        for (size_t j = 0; j < ncols; j++) free(header[j]);
        free(header);
    }
    free(kind);
    return st;
}

/* ------------------------------------------------------------------ */

lz_status lz_data_read(const char *path, const lz_read_opts *opts, lz_data **out, lz_error *err)
{
    static const lz_read_opts defaults = {.label_col = LZ_LABEL_NONE};
    const lz_read_opts *o = opts ? opts : &defaults;
    *out = NULL;
    unsigned char *b;
    size_t len;
    lz_status st = read_all(path, &b, &len, err);
    if (st) return st;
    lz_data *dt = data_new(path);
    if (!dt) {
        free(b);
        return lz_fail(err, LZ_ENOMEM, "%s: out of memory", path);
    }
    /* a UTF-8 byte-order mark at the start of a text file is no part of its
     * first field */
    size_t skip = len >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF ? 3 : 0;
    int idx = len >= 4 && b[0] == 0 && b[1] == 0 && idx_type_size(b[2]) && b[3] >= 1 && b[3] <= 8;
    if (len == 0)
        st = lz_fail(err, LZ_EFORMAT, "%s: empty file: expected %s", path,
                     looks_like_idx_name(path) ? "an IDX header" : "rows of numbers");
    else if (idx || looks_like_idx_name(path))
        st = read_idx(path, b, len, o, dt, err);
    else
        st = read_text(path, (char *)b + skip, len - skip, o, dt, err);
    free(b);
    size_t min_rows = o->min_rows ? o->min_rows : 1;
    if (!st && dt->n < min_rows)
        st = lz_fail(err, LZ_EFORMAT, "%s: %zu row%s of data: expected at least %zu", path, dt->n,
                     dt->n == 1 ? "" : "s", min_rows);
    if (st) {
        lz_data_free(dt);
        return st;
    }
    *out = dt;
    return LZ_OK;
}

lz_status lz_data_check_compat(const lz_data *train, const lz_data *test, lz_error *err)
{
    char where[256];
    if (train->d != test->d)
        return lz_fail(err, LZ_EFORMAT, "%s: %zu feature columns: expected %zu as in %s",
                       lz_data_width_where(test, where, sizeof where), test->d, train->d,
                       train->path);
    /* both files name their columns: the same names in the same order (the
     * columns are matched by position; a test file in another order was
     * scored with its columns swapped) */
    for (size_t j = 0; train->names && test->names && j < train->d; j++) {
        if (!train->names[j] || !test->names[j] || !strcmp(train->names[j], test->names[j]))
            continue;
        char a[160];
        return lz_fail(err, LZ_EFORMAT,
                       "%s: %s where %s has '%s': expected the training file's column names in "
                       "its order (columns are matched by position)",
                       test->path, lz_data_colname(test, j, a, sizeof a), train->path,
                       train->names[j]);
    }
    return LZ_OK;
}

lz_status lz_data_check_width(const lz_data *data, size_t d, const char *model_path, lz_error *err)
{
    if (!data || data->d == d) return LZ_OK;
    char where[256];
    return lz_fail(err, LZ_EFORMAT, "%s: %zu feature columns: expected %zu as in the model %s",
                   lz_data_width_where(data, where, sizeof where), data->d, d, model_path);
}

lz_status lz_data_align_labels(lz_data *train, lz_data *test, size_t *n_new, lz_error *err)
{
    *n_new = 0;
    if (!train->y || !test->y || (!train->label_names && !test->label_names)) return LZ_OK;
    if (!train->label_names || !test->label_names)
        return lz_fail(err, LZ_EFORMAT,
                       "%s: the labels are %s, in %s they are %s: expected the same kind of label "
                       "in both files",
                       test->path, test->label_names ? "words" : "numbers", train->path,
                       train->label_names ? "words" : "numbers");
    /* code[c] <- train's code of test's class c, new classes appended */
    size_t tc = test->n_classes, nc = train->n_classes;
    size_t *code = malloc((tc ? tc : 1) * sizeof *code);
    char **names = realloc(train->label_names, (nc + tc) * sizeof *names);
    if (!code || !names) {
        free(code);
        return lz_fail(err, LZ_ENOMEM, "%s: out of memory", test->path);
    }
    train->label_names = names;
    for (size_t c = 0; c < tc; c++) {
        size_t k = 0;
        while (k < nc && strcmp(names[k], test->label_names[c])) k++;
        if (k == nc) {
            names[nc++] = test->label_names[c];
            test->label_names[c] = NULL;
            (*n_new)++;
        }
        code[c] = k;
    }
    train->n_classes = nc;
    for (size_t i = 0; i < test->n; i++) test->y[i] = (double)code[(size_t)test->y[i]];
    free(code);
    /* test gets the whole list */
    for (size_t c = 0; c < tc; c++) free(test->label_names[c]);
    free(test->label_names);
    test->label_names = NULL;
    test->n_classes = 0;
    if (!(test->label_names = calloc(nc, sizeof *test->label_names)))
        return lz_fail(err, LZ_ENOMEM, "%s: out of memory", test->path);
    test->n_classes = nc;
    for (size_t c = 0; c < nc; c++)
        if (!(test->label_names[c] = strdup(names[c])))
            return lz_fail(err, LZ_ENOMEM, "%s: out of memory", test->path);
    return LZ_OK;
}

/* the first missing entry of data into where (cap); 0 when complete */
static int first_missing(const lz_data *data, char *where, size_t cap)
{
    for (size_t k = 0; data && data->miss && k < data->n * data->d; k++)
        if (data->miss[k]) {
            lz_data_where(data, k / data->d, k % data->d, where, cap);
            return 1;
        }
    return 0;
}

lz_status lz_data_require_complete(const lz_data *data, const char *prog, lz_error *err)
{
    char where[256];
    if (!first_missing(data, where, sizeof where)) return LZ_OK;
    return lz_fail(err, LZ_EINVAL,
                   "%s: missing: %s needs every value (lgm_em, pca_iter and gmm_em complete "
                   "missing entries)",
                   where, prog);
}

lz_status lz_data_require_values(const lz_data *data, const char *what, lz_error *err)
{
    char where[256];
    if (first_missing(data, where, sizeof where))
        return lz_fail(err, LZ_EINVAL, "%s: missing: %s needs every value", where, what);
    return lz_data_check_magnitude(data, err);
}

/* ---- patterns of missing values ---- */

typedef struct {
    const unsigned char *mask; /* (d) the row's mask */
    size_t d, i;
} row_key;

/* by mask, then by row: a total order */
static int cmp_key(const void *pa, const void *pb)
{
    const row_key *a = pa, *b = pb;
    int c = memcmp(a->mask, b->mask, a->d);
    if (c) return c;
    return a->i < b->i ? -1 : a->i > b->i;
}

void lz_patterns_free(lz_patterns *pt)
{
    if (!pt) return;
    free(pt->rows);
    free(pt->pat_start);
    free(pt->pat);
    free(pt->mis);
    free(pt->mis_start);
    free(pt->n_mis);
    free(pt);
}

lz_patterns *lz_patterns_make(const lz_data *data)
{
    size_t n = data->n, d = data->d;
    const unsigned char *mk = data->miss;
    lz_patterns *pt = calloc(1, sizeof *pt);
    if (!pt) return NULL;
    pt->n = n;
    pt->d = d;
    pt->rows = malloc((n ? n : 1) * sizeof *pt->rows);
    pt->pat = malloc((n ? n : 1) * sizeof *pt->pat);
    pt->n_mis = calloc(d ? d : 1, sizeof *pt->n_mis);
    row_key *key = mk ? malloc((n ? n : 1) * sizeof *key) : NULL;
    if (!pt->rows || !pt->pat || !pt->n_mis || (mk && !key)) goto oom;
    size_t np = 1, nm = 0;
    if (mk) {
        /* rows sorted by mask; equal masks are one pattern */
        for (size_t i = 0; i < n; i++) key[i] = (row_key){mk + i * d, d, i};
        qsort(key, n, sizeof *key, cmp_key);
        np = 0;
        for (size_t t = 0; t < n; t++)
            if (t == 0 || memcmp(key[t].mask, key[t - 1].mask, d)) {
                np++;
                for (size_t j = 0; j < d; j++) nm += key[t].mask[j];
            }
    }
    pt->n_pat = np;
    pt->pat_start = malloc((np + 1) * sizeof *pt->pat_start);
    pt->mis_start = malloc((np + 1) * sizeof *pt->mis_start);
    pt->mis = malloc((nm ? nm : 1) * sizeof *pt->mis);
    if (!pt->pat_start || !pt->mis_start || !pt->mis) goto oom;
    if (mk) {
        size_t p = 0, q = 0;
        for (size_t t = 0; t < n; t++) {
            pt->rows[t] = key[t].i;
            if (t == 0 || memcmp(key[t].mask, key[t - 1].mask, d)) {
                pt->pat_start[p] = t;
                pt->mis_start[p] = q;
                for (size_t j = 0; j < d; j++)
                    if (key[t].mask[j]) pt->mis[q++] = j;
                p++;
            }
            pt->pat[key[t].i] = p - 1;
        }
        pt->pat_start[np] = n;
        pt->mis_start[np] = q;
        for (size_t i = 0; i < n * d; i++)
            if (mk[i]) {
                pt->n_mis[i % d]++;
                pt->n_missing++;
            }
    } else {
        for (size_t i = 0; i < n; i++) {
            pt->rows[i] = i;
            pt->pat[i] = 0;
        }
        pt->pat_start[0] = 0;
        pt->pat_start[1] = n;
        pt->mis_start[0] = pt->mis_start[1] = 0;
    }
    free(key);
    return pt;
oom:
    free(key);
    lz_patterns_free(pt);
    return NULL;
}

lz_data *lz_data_subset(const lz_data *src, const size_t *idx, size_t m)
{
    lz_data *dt = data_new(src->path);
    if (!dt) return NULL;
    dt->n = m;
    dt->d = src->d;
    dt->img_rows = src->img_rows;
    dt->img_cols = src->img_cols;
    dt->label_field = src->label_field;
    dt->n_fields = src->n_fields;
    if (src->field) {
        if (!(dt->field = malloc(src->d * sizeof *dt->field))) goto fail;
        memcpy(dt->field, src->field, src->d * sizeof *dt->field);
    }
    if (src->miss) {
        if (!(dt->miss = calloc((m ? m : 1) * src->d, 1))) goto fail;
        for (size_t i = 0; i < m; i++) {
            memcpy(dt->miss + i * src->d, src->miss + idx[i] * src->d, src->d);
            for (size_t j = 0; j < src->d; j++) dt->n_miss += dt->miss[i * src->d + j];
        }
    }
    if (src->label_names) {
        if (!(dt->label_names = calloc(src->n_classes, sizeof *dt->label_names))) goto fail;
        dt->n_classes = src->n_classes;
        for (size_t c = 0; c < src->n_classes; c++)
            if (!(dt->label_names[c] = strdup(src->label_names[c]))) goto fail;
    }
    if (src->line) {
        dt->line = malloc((m ? m : 1) * sizeof *dt->line);
        if (!dt->line) goto fail;
        for (size_t i = 0; i < m; i++) dt->line[i] = src->line[idx[i]];
    }
    dt->x = malloc((m ? m : 1) * src->d * sizeof *dt->x);
    if (!dt->x) goto fail;
    lz_gather(src->d, src->x, idx, m, dt->x);
    if (src->y) {
        dt->y = malloc((m ? m : 1) * sizeof *dt->y);
        if (!dt->y) goto fail;
        for (size_t i = 0; i < m; i++) dt->y[i] = src->y[idx[i]];
    }
    if (src->names) {
        dt->names = calloc(src->d, sizeof *dt->names);
        if (!dt->names) goto fail;
        for (size_t j = 0; j < src->d; j++)
            if (!(dt->names[j] = strdup(src->names[j]))) goto fail;
    }
    return dt;
fail:
    lz_data_free(dt);
    return NULL;
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

lz_status lz_data_split(const lz_data *all, double test_frac, unsigned long seed, lz_data **train,
                        lz_data **test, lz_error *err)
{
    *train = *test = NULL;
    if (!(test_frac > 0 && test_frac < 1))
        return lz_fail(err, LZ_EINVAL, "--split %.15g: expected a fraction in (0, 1)", test_frac);
    size_t n_test = (size_t)llround(test_frac * (double)all->n);
    if (n_test < 1 || n_test >= all->n)
        return lz_fail(
            err, LZ_EINVAL,
            "--split %.15g of %zu rows leaves an empty part: expected both parts non-empty",
            test_frac, all->n);
    size_t *perm = malloc(all->n * sizeof *perm);
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    if (!perm || !r) {
        free(perm);
        if (r) gsl_rng_free(r);
        return lz_fail(err, LZ_ENOMEM, "split: out of memory");
    }
    gsl_rng_set(r, seed);
    for (size_t i = 0; i < all->n; i++) perm[i] = i;
    gsl_ran_shuffle(r, perm, all->n, sizeof *perm);
    gsl_rng_free(r);
    size_t n_train = all->n - n_test;
    qsort(perm, n_train, sizeof *perm, cmp_size);
    qsort(perm + n_train, n_test, sizeof *perm, cmp_size);
    *train = lz_data_subset(all, perm, n_train);
    *test = lz_data_subset(all, perm + n_train, n_test);
    free(perm);
    if (!*train || !*test) {
        lz_data_free(*train);
        lz_data_free(*test);
        *train = *test = NULL;
        return lz_fail(err, LZ_ENOMEM, "split: out of memory");
    }
    return LZ_OK;
}

char *lz_data_where(const lz_data *data, size_t i, size_t j, char *buf, size_t cap)
{
    char col[160];
    lz_data_colname(data, j, col, sizeof col);
    if (data->line)
        snprintf(buf, cap, "%s:%zu: %s", data->path, data->line[i], col);
    else if (data->img_rows)
        snprintf(buf, cap, "%s: image %zu, %s", data->path, i + 1, col);
    else
        snprintf(buf, cap, "%s: row %zu, %s", data->path, i + 1, col);
    return buf;
}

char *lz_data_row_where(const lz_data *data, size_t i, char *buf, size_t cap)
{
    if (data->line)
        snprintf(buf, cap, "%s:%zu", data->path, data->line[i]);
    else
        snprintf(buf, cap, "%s: row %zu", data->path, i + 1);
    return buf;
}

char *lz_data_width_where(const lz_data *data, char *buf, size_t cap)
{
    if (data->line && data->n)
        snprintf(buf, cap, "%s:%zu", data->path, data->line[0]);
    else
        snprintf(buf, cap, "%s", data->path);
    return buf;
}

void lz_data_range(const lz_data *data, double *lo, double *hi)
{
    double a = INFINITY, b = -INFINITY;
    size_t m = data->n * data->d;
    for (size_t i = 0; i < m; i++) {
        double v = data->x[i];
        if (v < a) a = v;
        if (v > b) b = v;
    }
    *lo = a;
    *hi = b;
}

lz_status lz_far_fills(const lz_data *data, const double *xfill, lz_far_fill *out, lz_error *err)
{
    size_t n = data->n, d = data->d;
    memset(out, 0, sizeof *out);
    if (!data->miss || !data->n_miss) return LZ_OK;
    double *lo = malloc(2 * (d ? d : 1) * sizeof *lo), *hi = lo + d;
    if (!lo) return lz_fail(err, LZ_ENOMEM, "completed values: out of memory");
    for (size_t j = 0; j < d; j++) {
        lo[j] = INFINITY;
        hi[j] = -INFINITY;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++) {
            if (data->miss[i * d + j]) continue;
            double v = xfill[i * d + j];
            if (v < lo[j]) lo[j] = v;
            if (v > hi[j]) hi[j] = v;
        }
    double worst = 0; /* spans beyond the observed values */
    for (size_t i = 0; i < n; i++) {
        int hit = 0;
        for (size_t j = 0; j < d; j++) {
            if (!data->miss[i * d + j] || !(hi[j] > lo[j])) continue;
            double w = hi[j] - lo[j], v = xfill[i * d + j], out_by = INFINITY; /* NaN: far */
            if (!isnan(v)) out_by = v < lo[j] ? (lo[j] - v) / w : v > hi[j] ? (v - hi[j]) / w : 0;
            if (!(out_by > 1)) continue;
            out->n_far++;
            hit = 1;
            if (out->n_far == 1 || out_by > worst) {
                worst = out_by;
                out->row = i;
                out->col = j;
                out->value = v;
                out->lo = lo[j];
                out->hi = hi[j];
            }
        }
        out->n_rows += (size_t)hit;
    }
    free(lo);
    return LZ_OK;
}

char *lz_far_fill_text(const lz_data *data, const lz_far_fill *out, char *buf, size_t cap)
{
    char where[512];
    lz_data_where(data, out->row, out->col, where, sizeof where);
    snprintf(buf, cap,
             "%zu row%s hold%s %zu completed value%s beyond %s column's observed values by more "
             "than the span of those values; the farthest, %.6g at %s, observed in [%.6g, %.6g]",
             out->n_rows, out->n_rows == 1 ? "" : "s", out->n_rows == 1 ? "s" : "", out->n_far,
             out->n_far == 1 ? "" : "s", out->n_far == 1 ? "its" : "their", out->value, where,
             out->lo, out->hi);
    return buf;
}

/* ------------------------------------------------------------------ */
/* moments */

void lz_mean(size_t n, size_t d, const double *x, double *mu)
{
    for (size_t j = 0; j < d; j++) mu[j] = 0;
    for (size_t i = 0; i < n; i++) {
        const double *r = x + i * d;
        for (size_t j = 0; j < d; j++) mu[j] += r[j];
    }
    for (size_t j = 0; j < d; j++) mu[j] /= (double)n;
    /* mu_j += (1/n) sum_n (x_nj - mu_j): the rounding of the first pass,
     * measured and removed (for a constant column exactly) */
    double *c = calloc(d ? d : 1, sizeof *c);
    if (!c) return; /* the first pass stands */
    for (size_t i = 0; i < n; i++) {
        const double *r = x + i * d;
        for (size_t j = 0; j < d; j++) c[j] += r[j] - mu[j];
    }
    for (size_t j = 0; j < d; j++) mu[j] += c[j] / (double)n;
    free(c);
}

double lz_sd_spread(size_t d, const double *var, size_t *jmax, size_t *jmin)
{
    size_t hi = d, lo = d;
    for (size_t j = 0; j < d; j++) {
        if (!(var[j] > 0)) continue;
        if (hi == d || var[j] > var[hi]) hi = j;
        if (lo == d || var[j] < var[lo]) lo = j;
    }
    *jmax = hi < d ? hi : 0;
    *jmin = lo < d ? lo : 0;
    return hi < d && lo != hi ? sqrt(var[hi] / var[lo]) : 1.0;
}

char *lz_data_colname(const lz_data *data, size_t j, char *buf, size_t cap)
{
    if (data->line) {
        size_t f = data->field
                       ? data->field[j]
                       : j + 1 + (data->label_field >= 0 && (size_t)data->label_field <= j ? 1 : 0);
        if (data->names && data->names[j])
            snprintf(buf, cap, "field %zu (%s)", f, data->names[j]);
        else
            snprintf(buf, cap, "field %zu", f);
    } else if (data->img_rows) {
        snprintf(buf, cap, "pixel %zu", j + 1);
    } else {
        snprintf(buf, cap, "column %zu", j + 1);
    }
    return buf;
}

/* The moments of the observed values of each column (data->miss set):
 * mu_j <- the mean of the n_j observed x_nj, refined by one correction pass
 * as lz_mean does; var_j <- (1/n_j) sum (x_nj - mu_j)^2 over them.  A column
 * with no observed value is an error naming it. */
static lz_status observed_moments(const lz_data *data, double *mu, double *var, lz_error *err)
{
    size_t n = data->n, d = data->d;
    for (size_t j = 0; j < d; j++) {
        size_t nj = 0;
        double s = 0;
        for (size_t i = 0; i < n; i++)
            if (!data->miss[i * d + j]) {
                s += data->x[i * d + j];
                nj++;
            }
        if (!nj) {
            char col[160];
            lz_data_colname(data, j, col, sizeof col);
            return lz_fail(err, LZ_EINVAL,
                           "%s: %s: every value is missing: expected at least one observed value "
                           "(drop the column with --skip-col)",
                           data->path, col);
        }
        double m = s / (double)nj, c = 0, v = 0;
        for (size_t i = 0; i < n; i++)
            if (!data->miss[i * d + j]) c += data->x[i * d + j] - m;
        m += c / (double)nj; /* the first pass's rounding, removed */
        for (size_t i = 0; i < n; i++)
            if (!data->miss[i * d + j]) {
                double e = data->x[i * d + j] - m;
                v += e * e;
            }
        mu[j] = m;
        var[j] = v / (double)nj;
    }
    return LZ_OK;
}

lz_status lz_data_check_magnitude(const lz_data *data, lz_error *err)
{
    for (size_t k = 0; k < data->n * data->d; k++)
        if (fabs(data->x[k]) > LZ_VALUE_MAX) { /* false for a missing value (NaN) */
            char where[256];
            lz_data_where(data, k / data->d, k % data->d, where, sizeof where);
            return lz_fail(
                err, LZ_ENUMERIC,
                "%s: value %g is too large: its squared distance overflows; expected "
                "magnitudes below %g, as in training (rescale this column in every file)",
                where, data->x[k], LZ_VALUE_MAX);
        }
    return LZ_OK;
}

lz_status lz_data_moments(const lz_data *data, double *mu, double *var, size_t *n_const,
                          lz_error *err)
{
    size_t n = data->n, d = data->d;
    if (n_const) *n_const = 0;
    double *amax = calloc(d ? d : 1, sizeof *amax); /* (d) max_n |x_nj| */
    if (!amax) return lz_fail(err, LZ_ENOMEM, "%s: out of memory", data->path);
    for (size_t i = 0; i < n; i++) {
        const double *r = data->x + i * d;
        for (size_t j = 0; j < d; j++) amax[j] = fmax(amax[j], fabs(r[j]));
    }
    for (size_t j = 0; j < d; j++)
        if (!(amax[j] <= LZ_VALUE_MAX)) {
            char col[160];
            lz_data_colname(data, j, col, sizeof col);
            /* the largest magnitude may be a negative value: "down to" it */
            int neg = 0;
            for (size_t i = 0; i < n && !neg; i++) neg = data->x[i * d + j] == -amax[j];
            lz_status st = lz_fail(err, LZ_ENUMERIC,
                                   "%s: %s: values %s %g are too large: their variance "
                                   "overflows; expected magnitudes below %g (rescale this column)",
                                   data->path, col, neg ? "down to" : "up to",
                                   neg ? -amax[j] : amax[j], LZ_VALUE_MAX);
            free(amax);
            return st;
        } else if (amax[j] > 0 && amax[j] < LZ_VALUE_MIN) {
            char col[160];
            lz_data_colname(data, j, col, sizeof col);
            lz_status st = lz_fail(err, LZ_ENUMERIC,
                                   "%s: %s: values no larger than %g are too small: their "
                                   "variance underflows; expected a largest magnitude above %g "
                                   "(rescale this column)",
                                   data->path, col, amax[j], LZ_VALUE_MIN);
            free(amax);
            return st;
        }
    if (data->miss) {
        lz_status st = observed_moments(data, mu, var, err);
        free(amax);
        if (st) return st;
        for (size_t j = 0; j < d; j++) {
            double a = 0; /* max |x_nj| over the observed values */
            for (size_t i = 0; i < n; i++)
                if (!data->miss[i * d + j]) a = fmax(a, fabs(data->x[i * d + j]));
            double tol = LZ_VAR_RTOL * a;
            if (var[j] <= tol * tol) var[j] = 0;
            if (var[j] == 0 && n_const) (*n_const)++;
        }
        return LZ_OK;
    }
    lz_mean(n, d, data->x, mu);
    for (size_t j = 0; j < d; j++) var[j] = 0;
    for (size_t i = 0; i < n; i++) {
        const double *r = data->x + i * d;
        for (size_t j = 0; j < d; j++) {
            double c = r[j] - mu[j];
            var[j] += c * c;
        }
    }
    for (size_t j = 0; j < d; j++) {
        var[j] /= (double)n;
        /* sd <= LZ_VAR_RTOL max|x_j|: rounding noise, not variance */
        double tol = LZ_VAR_RTOL * amax[j];
        if (var[j] <= tol * tol) var[j] = 0;
        if (var[j] == 0 && n_const) (*n_const)++;
    }
    free(amax);
    return LZ_OK;
}

void lz_center(size_t n, size_t d, double *x, const double *mu)
{
    for (size_t i = 0; i < n; i++) {
        double *r = x + i * d;
        for (size_t j = 0; j < d; j++) r[j] -= mu[j];
    }
}

lz_status lz_covariance(size_t n, size_t d, const double *x, const double *mu, double *s,
                        lz_error *err)
{
    if (n == 0 || d == 0) return lz_fail(err, LZ_EINVAL, "covariance of an empty data set");
    size_t blk = 2048;
    if (blk > n) blk = n;
    double *c = NULL;
    if (mu) {
        c = malloc(blk * d * sizeof *c);
        if (!c) return lz_fail(err, LZ_ENOMEM, "covariance: out of memory");
    }
    /* S <- (1/n) sum over blocks B of B^T B  (dsyrk on the upper triangle) */
    for (size_t i0 = 0; i0 < n; i0 += blk) {
        size_t m = n - i0 < blk ? n - i0 : blk;
        const double *b = x + i0 * d;
        if (mu) {
            memcpy(c, b, m * d * sizeof *c);
            lz_center(m, d, c, mu);
            b = c;
        }
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)d, (int)m, 1.0 / (double)n, b,
                    (int)d, i0 == 0 ? 0.0 : 1.0, s, (int)d);
    }
    free(c);
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j < i; j++) s[i * d + j] = s[j * d + i];
    return LZ_OK;
}

void lz_gather(size_t d, const double *x, const size_t *idx, size_t m, double *out)
{
    for (size_t i = 0; i < m; i++) memcpy(out + i * d, x + idx[i] * d, d * sizeof *out);
}

void lz_gather_f(size_t d, const float *x, const size_t *idx, size_t m, float *out)
{
    for (size_t i = 0; i < m; i++) memcpy(out + i * d, x + idx[i] * d, d * sizeof *out);
}
