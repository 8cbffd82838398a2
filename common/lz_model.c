/* lz_model.c -- model files: writing and strict reading (see lz_model.h). */
#include "lz_model.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lz_out.h"
#include "lz_size.h"

/* ------------------------------------------------------------------ */
/* model files: writing */

void lz_model_begin(FILE *f, const char *kind, int version)
{
    fprintf(f, "# latent-zoo model\nkind %s %d\n", kind, version);
}

void lz_model_put_int(FILE *f, const char *name, long v) { fprintf(f, "int %s %ld\n", name, v); }

void lz_model_put_real(FILE *f, const char *name, double v)
{
    fprintf(f, "real %s ", name);
    lz_put_num(f, v);
    fputc('\n', f);
}

void lz_model_put_str(FILE *f, const char *name, const char *s)
{
    fprintf(f, "str %s %s\n", name, s);
}

void lz_model_put_array(FILE *f, const char *name, size_t rows, size_t cols, const double *a)
{
    fprintf(f, "array %s %zu %zu\n", name, rows, cols);
    for (size_t i = 0; i < rows; i++) lz_dat_row(f, ' ', cols, a + i * cols);
}

void lz_model_put_arrayf(FILE *f, const char *name, size_t rows, size_t cols, const float *a)
{
    fprintf(f, "array %s %zu %zu\n", name, rows, cols);
    for (size_t i = 0; i < rows; i++) lz_dat_rowf(f, ' ', cols, a + i * cols);
}

void lz_model_end(FILE *f) { fputs("end\n", f); }

/* ------------------------------------------------------------------ */
/* model files: reading */

typedef enum { ENT_INT, ENT_REAL, ENT_STR, ENT_ARRAY } ent_type;

typedef struct {
    ent_type type;
    char *name;
    long i;
    double r;
    char *s;
    size_t rows, cols;
    double *a;   /* (rows, cols) */
    size_t line; /* the entry's line; row i of an array is on line + 1 + i */
} entry;

/* A model has a few dozen entries; the duplicate check is quadratic. */
#define LZ_MODEL_MAX_ENTRIES 4096

struct lz_model {
    char *path;
    size_t end_line; /* the line of 'end' */
    int version;
    entry *e;
    size_t n, cap;
};

void lz_model_free(lz_model *m)
{
    if (!m) return;
    for (size_t i = 0; i < m->n; i++) {
        free(m->e[i].name);
        free(m->e[i].s);
        free(m->e[i].a);
    }
    free(m->e);
    free(m->path);
    free(m);
}

int lz_model_version(const lz_model *m) { return m->version; }

/* next line of the file into *buf (grown as needed); 0 at end of file, -1
 * when out of memory */
static int next_line(FILE *f, char **buf, size_t *cap, size_t *line)
{
    size_t n = 0;
    int c;
    while ((c = getc(f)) != EOF && c != '\n') {
        if (n + 1 >= *cap) {
            size_t nc;
            char *nb = lz_mul_ok(*cap ? *cap : 128, 2, &nc) ? realloc(*buf, nc) : NULL;
            if (!nb) return -1;
            *buf = nb;
            *cap = nc;
        }
        (*buf)[n++] = (char)c;
    }
    if (c == EOF && n == 0) return 0;
    if (!*buf) {
        *buf = malloc(1);
        if (!*buf) return -1;
        *cap = 1;
    }
    (*buf)[n] = '\0';
    if (n && (*buf)[n - 1] == '\r') (*buf)[n - 1] = '\0';
    (*line)++;
    return 1;
}

static int is_blank(int c) { return c == ' ' || c == '\t'; }

/* The next blank-separated token of *p, NUL-terminated in place (so *p
 * moves past it); NULL at the end of the line. */
static char *next_tok(char **p)
{
    char *s = *p;
    while (is_blank(*s)) s++;
    if (!*s) {
        *p = s;
        return NULL;
    }
    char *e = s;
    while (*e && !is_blank(*e)) e++;
    if (*e) *e++ = '\0';
    *p = e;
    return s;
}

/* 1 when nothing but blanks is left of the line */
static int at_eol(const char *p)
{
    while (is_blank(*p)) p++;
    return !*p;
}

/* a whole token as a number: "%.17g" output, "nan", "inf", "-inf" */
static int parse_real_tok(const char *t, double *v)
{
    char *end;
    if (!strcmp(t, "nan") || !strcmp(t, "-nan")) {
        *v = NAN;
        return 1;
    }
    *v = lz_strtod(t, &end);
    return end != t && !*end;
}

/* a whole token as a long: digits with an optional sign, no overflow */
static int parse_long_tok(const char *t, long *v)
{
    char *end;
    errno = 0;
    *v = strtol(t, &end, 10);
    return end != t && !*end && errno == 0;
}

static lz_status corrupt(lz_error *err, const char *path, size_t line, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* "PATH:LINE: <message>: corrupt model" */
static lz_status corrupt(lz_error *err, const char *path, size_t line, const char *fmt, ...)
{
    char msg[LZ_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return lz_fail(err, LZ_EFORMAT, "%s:%zu: %s", path, line, msg);
}

/* The rows of an array entry: rows x cols numbers, cols a line.  Storage
 * grows with the rows actually read, and a shape the rest of the file cannot
 * hold (every value takes at least 2 bytes: a digit and a separator) is an
 * error before anything is allocated. */
static lz_status read_array_rows(FILE *f, const char *path, entry *e, char **buf, size_t *cap,
                                 size_t *line, lz_error *err)
{
    size_t values;
    if (!lz_mul_ok(e->rows, e->cols, &values))
        return corrupt(err, path, e->line, "array %s: %zu x %zu values: too many", e->name, e->rows,
                       e->cols);
    struct stat sb;
    off_t pos = ftello(f);
    if (fstat(fileno(f), &sb) == 0 && S_ISREG(sb.st_mode) && pos >= 0) {
        size_t left = sb.st_size > pos ? (size_t)(sb.st_size - pos) : 0;
        if (values > left / 2)
            return corrupt(err, path, e->line,
                           "array %s: %zu x %zu values declared, but only %zu bytes follow "
                           "(at least 2 a value): truncated or corrupt model",
                           e->name, e->rows, e->cols, left);
    }
    size_t cap_rows = 0;
    for (size_t i = 0; i < e->rows; i++) {
        if (i == cap_rows) {
            /* double the rows held, starting near 64 KiB of values */
            size_t nc = cap_rows ? cap_rows * 2 : (65536 / e->cols ? 65536 / e->cols : 1);
            if (nc > e->rows) nc = e->rows;
            size_t bytes;
            double *na = lz_mul3_ok(nc, e->cols, sizeof *na, &bytes) ? realloc(e->a, bytes) : NULL;
            if (!na) return lz_fail(err, LZ_ENOMEM, "%s: out of memory", path);
            e->a = na;
            cap_rows = nc;
        }
        int r = next_line(f, buf, cap, line);
        if (r < 0) return lz_fail(err, LZ_ENOMEM, "%s: out of memory", path);
        if (r == 0)
            return corrupt(err, path, *line, "array %s: the file ends after %zu of its %zu rows",
                           e->name, i, e->rows);
        char *q = *buf, *t;
        for (size_t j = 0; j < e->cols; j++) {
            if (!(t = next_tok(&q)))
                return corrupt(err, path, *line, "array %s, row %zu: %zu values: expected %zu",
                               e->name, i + 1, j, e->cols);
            if (!parse_real_tok(t, &e->a[i * e->cols + j]))
                return corrupt(err, path, *line,
                               "array %s, row %zu, column %zu: expected a number, got '%.20s'",
                               e->name, i + 1, j + 1, t);
        }
        if (!at_eol(q))
            return corrupt(err, path, *line, "array %s, row %zu: more than %zu values", e->name,
                           i + 1, e->cols);
    }
    return LZ_OK;
}

static const entry *lookup(const lz_model *m, const char *name);

lz_status lz_model_read(const char *path, const char *kind, int max_version, lz_model **out,
                        lz_error *err)
{
    *out = NULL;
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
        return lz_fail(err, LZ_EIO, "%s: is a directory: expected a model file", path);
    FILE *f = fopen(path, "r");
    if (!f) return lz_fail(err, LZ_EIO, "%s: cannot open: %s", path, strerror(errno));
    lz_model *m = calloc(1, sizeof *m);
    char *buf = NULL;
    size_t cap = 0, line = 0;
    lz_status st = LZ_OK;
    int have_kind = 0, ended = 0;
    if (!m || !(m->path = strdup(path))) {
        st = lz_fail(err, LZ_ENOMEM, "%s: out of memory", path);
        goto done;
    }
    int r;
    while (!st && !ended && (r = next_line(f, &buf, &cap, &line)) != 0) {
        if (r < 0) {
            st = lz_fail(err, LZ_ENOMEM, "%s: out of memory", path);
            break;
        }
        char *p = buf;
        /* a UTF-8 byte-order mark before the first line */
        if (line == 1 && !strncmp(p, "\xEF\xBB\xBF", 3)) p += 3;
        while (is_blank(*p)) p++;
        if (!*p || *p == '#') continue;
        char *word = next_tok(&p);
        if (!strcmp(word, "end")) {
            ended = 1;
            m->end_line = line;
            break;
        }
        if (!strcmp(word, "kind")) {
            char *k = next_tok(&p), *v = k ? next_tok(&p) : NULL;
            long ver = 0;
            if (!v || !parse_long_tok(v, &ver) || !at_eol(p)) {
                st = corrupt(err, path, line, "expected 'kind NAME VERSION'");
                break;
            }
            if (have_kind) {
                st = corrupt(err, path, line, "a second 'kind' line");
                break;
            }
            if (strcmp(k, kind)) {
                st = corrupt(err, path, line, "a model of kind '%.64s': expected '%s'", k, kind);
                break;
            }
            if (ver < 1 || ver > max_version) {
                st =
                    corrupt(err, path, line, "model version %ld: this program reads versions 1..%d",
                            ver, max_version);
                break;
            }
            m->version = (int)ver;
            have_kind = 1;
            continue;
        }
        if (!have_kind) {
            st = corrupt(err, path, line,
                         "not a latent-zoo model file: expected 'kind %s VERSION' first", kind);
            break;
        }
        int known = !strcmp(word, "int") || !strcmp(word, "real") || !strcmp(word, "str") ||
                    !strcmp(word, "array");
        if (!known) {
            st = corrupt(err, path, line,
                         "unknown entry type '%.32s': expected int, real, str, "
                         "array or end",
                         word);
            break;
        }
        char *name = next_tok(&p);
        if (!name) {
            st = corrupt(err, path, line, "'%s' without a name", word);
            break;
        }
        if (strlen(name) > 64) {
            st = corrupt(err, path, line,
                         "%s '%.32s...': a name of %zu characters: expected at "
                         "most 64",
                         word, name, strlen(name));
            break;
        }
        if (lookup(m, name)) {
            st = corrupt(err, path, line, "a second entry '%s'", name);
            break;
        }
        if (m->n == LZ_MODEL_MAX_ENTRIES) {
            st = corrupt(err, path, line, "more than %d entries: not a latent-zoo model",
                         LZ_MODEL_MAX_ENTRIES);
            break;
        }
        if (m->n == m->cap) {
            size_t nc = m->cap ? 2 * m->cap : 16;
            entry *ne = realloc(m->e, nc * sizeof *ne);
            if (!ne) {
                st = lz_fail(err, LZ_ENOMEM, "%s: out of memory", path);
                break;
            }
            m->e = ne;
            m->cap = nc;
        }
        entry *e = &m->e[m->n];
        memset(e, 0, sizeof *e);
        e->line = line;
        if (!(e->name = strdup(name))) {
            st = lz_fail(err, LZ_ENOMEM, "%s: out of memory", path);
            break;
        }
        m->n++;
        char *v = next_tok(&p);
        if (!strcmp(word, "int")) {
            e->type = ENT_INT;
            if (!v || !parse_long_tok(v, &e->i) || !at_eol(p))
                st = corrupt(err, path, line, "int %s: expected one integer, got '%.40s%s'", name,
                             v ? v : "", v && !at_eol(p) ? " ..." : "");
        } else if (!strcmp(word, "real")) {
            e->type = ENT_REAL;
            if (!v || !parse_real_tok(v, &e->r) || !at_eol(p))
                st = corrupt(err, path, line, "real %s: expected one number, got '%.40s%s'", name,
                             v ? v : "", v && !at_eol(p) ? " ..." : "");
        } else if (!strcmp(word, "str")) {
            e->type = ENT_STR;
            if (!v || !at_eol(p))
                st = corrupt(err, path, line, "str %s: expected one word", name);
            else if (!(e->s = strdup(v)))
                st = lz_fail(err, LZ_ENOMEM, "%s: out of memory", path);
        } else {
            e->type = ENT_ARRAY;
            char *c = v ? next_tok(&p) : NULL;
            long rows = 0, cols = 0;
            if (!c || !parse_long_tok(v, &rows) || !parse_long_tok(c, &cols) || !at_eol(p) ||
                rows < 1 || cols < 1) {
                st = corrupt(err, path, line, "array %s: expected 'ROWS COLS', two integers >= 1",
                             name);
                break;
            }
            e->rows = (size_t)rows;
            e->cols = (size_t)cols;
            st = read_array_rows(f, path, e, &buf, &cap, &line, err);
        }
    }
    if (!st && ferror(f)) st = lz_fail(err, LZ_EIO, "%s: read error: %s", path, strerror(errno));
    if (!st && !have_kind)
        st = lz_fail(err, LZ_EFORMAT, "%s: not a latent-zoo model file (no 'kind' line)", path);
    if (!st && !ended)
        st = corrupt(err, path, line, "the model file ends without 'end' (truncated?)");
done:
    free(buf);
    fclose(f);
    if (st) {
        lz_model_free(m);
        return st;
    }
    *out = m;
    return LZ_OK;
}

static const entry *lookup(const lz_model *m, const char *name)
{
    for (size_t i = 0; i < m->n; i++)
        if (!strcmp(m->e[i].name, name)) return &m->e[i];
    return NULL;
}

static const entry *find(const lz_model *m, const char *name, ent_type t, lz_error *err)
{
    static const char *tn[] = {"int", "real", "str", "array"};
    const entry *e = lookup(m, name);
    if (!e) {
        lz_fail(err, LZ_EFORMAT, "%s:%zu: no %s '%s' before 'end': corrupt or incomplete model",
                m->path, m->end_line, tn[t], name);
        return NULL;
    }
    if (e->type != t) {
        lz_fail(err, LZ_EFORMAT, "%s:%zu: %s is a %s: expected a %s", m->path, e->line, name,
                tn[e->type], tn[t]);
        return NULL;
    }
    return e;
}

size_t lz_model_line(const lz_model *m, const char *name)
{
    const entry *e = lookup(m, name);
    return e ? e->line : 0;
}

lz_status lz_model_get_int(const lz_model *m, const char *name, long *v, lz_error *err)
{
    const entry *e = find(m, name, ENT_INT, err);
    if (!e) return LZ_EFORMAT;
    *v = e->i;
    return LZ_OK;
}

lz_status lz_model_get_int_range(const lz_model *m, const char *name, long lo, long hi, long *v,
                                 lz_error *err)
{
    const entry *e = find(m, name, ENT_INT, err);
    if (!e) return LZ_EFORMAT;
    if (e->i < lo || e->i > hi)
        return lz_fail(err, LZ_EFORMAT, "%s:%zu: int %s %ld: expected %ld .. %ld", m->path, e->line,
                       name, e->i, lo, hi);
    *v = e->i;
    return LZ_OK;
}

lz_status lz_model_get_real(const lz_model *m, const char *name, double *v, lz_error *err)
{
    const entry *e = find(m, name, ENT_REAL, err);
    if (!e) return LZ_EFORMAT;
    if (!isfinite(e->r))
        return lz_fail(err, LZ_EFORMAT, "%s:%zu: real %s %g: expected a finite number", m->path,
                       e->line, name, e->r);
    *v = e->r;
    return LZ_OK;
}

lz_status lz_model_get_str(const lz_model *m, const char *name, const char **s, lz_error *err)
{
    const entry *e = find(m, name, ENT_STR, err);
    if (!e) return LZ_EFORMAT;
    *s = e->s;
    return LZ_OK;
}

lz_status lz_model_get_choice(const lz_model *m, const char *path, const char *name,
                              const char *const *names, int n, int *out, lz_error *err)
{
    const char *s;
    lz_status st = lz_model_get_str(m, name, &s, err);
    if (st) return st;
    for (int i = 0; i < n; i++)
        if (!strcmp(s, names[i])) {
            *out = i;
            return LZ_OK;
        }
    return lz_fail(err, LZ_EFORMAT, "%s:%zu: %s '%s': not a known value", path,
                   lz_model_line(m, name), name, s);
}

static const entry *find_array(const lz_model *m, const char *name, size_t rows, size_t cols,
                               lz_error *err)
{
    const entry *e = find(m, name, ENT_ARRAY, err);
    if (!e) return NULL;
    if (e->rows != rows || e->cols != cols) {
        lz_fail(err, LZ_EFORMAT, "%s:%zu: array %s is %zu x %zu: expected %zu x %zu", m->path,
                e->line, name, e->rows, e->cols, rows, cols);
        return NULL;
    }
    return e;
}

lz_status lz_model_check_array(const lz_model *m, const char *name, size_t rows, size_t cols,
                               lz_error *err)
{
    return find_array(m, name, rows, cols, err) ? LZ_OK : LZ_EFORMAT;
}

/* the first value of e outside [-lim, lim] (or not finite) as an error
 * naming its line, row and column */
static lz_status check_values(const lz_model *m, const entry *e, double lim, const char *what,
                              lz_error *err)
{
    for (size_t i = 0; i < e->rows; i++)
        for (size_t j = 0; j < e->cols; j++) {
            double v = e->a[i * e->cols + j];
            if (!islessequal(fabs(v), lim)) /* quiet: v may be NaN */
                return lz_fail(err, LZ_EFORMAT,
                               "%s:%zu: array %s, row %zu, column %zu: %g: expected a finite "
                               "number%s",
                               m->path, e->line + 1 + i, e->name, i + 1, j + 1, v, what);
        }
    return LZ_OK;
}

lz_status lz_model_get_shape(const lz_model *m, const char *name, size_t *rows, size_t *cols,
                             lz_error *err)
{
    const entry *e = find(m, name, ENT_ARRAY, err);
    if (!e) return LZ_EFORMAT;
    *rows = e->rows;
    *cols = e->cols;
    return LZ_OK;
}

lz_status lz_model_get_array(const lz_model *m, const char *name, size_t rows, size_t cols,
                             double *a, lz_error *err)
{
    const entry *e = find_array(m, name, rows, cols, err);
    if (!e) return LZ_EFORMAT;
    lz_status st = check_values(m, e, DBL_MAX, "", err);
    if (st) return st;
    memcpy(a, e->a, rows * cols * sizeof *a);
    return LZ_OK;
}

lz_status lz_model_get_arrayf(const lz_model *m, const char *name, size_t rows, size_t cols,
                              float *a, lz_error *err)
{
    const entry *e = find_array(m, name, rows, cols, err);
    if (!e) return LZ_EFORMAT;
    lz_status st = check_values(m, e, FLT_MAX, " within the range of a float", err);
    if (st) return st;
    for (size_t i = 0; i < rows * cols; i++) a[i] = (float)e->a[i];
    return LZ_OK;
}
