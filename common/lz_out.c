/* lz_out.c -- atomic output sets, data files, model files (see lz_out.h). */
#include "lz_out.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* atomic output sets */

#define LZ_MAX_OUT 64

typedef struct {
    FILE *f;
    char *tmp;   /* temporary path */
    char *final; /* path after commit */
} out_file;

struct lz_outset {
    out_file files[LZ_MAX_OUT];
    size_t n;
    char *dirs[LZ_MAX_OUT]; /* directories this set created, in order */
    size_t n_dirs;
};

/* every temporary path alive in any set, for the signal handler */
static char *volatile g_tmp[4 * LZ_MAX_OUT];

static void reg_add(char *p)
{
    for (size_t i = 0; i < sizeof g_tmp / sizeof g_tmp[0]; i++)
        if (!g_tmp[i]) {
            g_tmp[i] = p;
            return;
        }
}

static void reg_del(const char *p)
{
    for (size_t i = 0; i < sizeof g_tmp / sizeof g_tmp[0]; i++)
        if (g_tmp[i] == p) g_tmp[i] = NULL;
}

static void on_signal(int sig)
{
    for (size_t i = 0; i < sizeof g_tmp / sizeof g_tmp[0]; i++)
        if (g_tmp[i]) unlink(g_tmp[i]);
    signal(sig, SIG_DFL);
    raise(sig);
}

void lz_outset_install_signal_cleanup(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

lz_outset *lz_outset_alloc(void) { return calloc(1, sizeof(lz_outset)); }

/* mkdir -p of path's parents; each directory made is recorded in os (when
 * not NULL) so that an aborted set can remove it again */
static lz_status mkdir_parents(lz_outset *os, const char *path, lz_error *err)
{
    size_t n = strlen(path);
    char *p = malloc(n + 1);
    if (!p) return lz_fail(err, LZ_ENOMEM, "out of memory");
    memcpy(p, path, n + 1);
    for (size_t i = 1; i < n; i++) {
        if (p[i] != '/') continue;
        p[i] = '\0';
        if (mkdir(p, 0777) == 0) {
            if (os && os->n_dirs < LZ_MAX_OUT) {
                char *copy = malloc(i + 1);
                if (copy) {
                    memcpy(copy, p, i + 1);
                    os->dirs[os->n_dirs++] = copy;
                }
            }
        } else if (errno != EEXIST) {
            lz_status st = lz_fail(err, LZ_EIO, "%s: cannot create directory: %s", p,
                                   strerror(errno));
            free(p);
            return st;
        }
        p[i] = '/';
    }
    free(p);
    return LZ_OK;
}

lz_status lz_mkdir_parents(const char *path, lz_error *err)
{
    return mkdir_parents(NULL, path, err);
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p) memcpy(p, s, n);
    return p;
}

FILE *lz_outset_open(lz_outset *os, const char *path, lz_error *err)
{
    if (os->n == LZ_MAX_OUT) {
        lz_fail(err, LZ_EINVAL, "%s: too many output files in one run", path);
        return NULL;
    }
    if (mkdir_parents(os, path, err)) return NULL;
    size_t n = strlen(path);
    char *tmp = malloc(n + 12);
    char *fin = xstrdup(path);
    if (!tmp || !fin) {
        free(tmp);
        free(fin);
        lz_fail(err, LZ_ENOMEM, "%s: out of memory", path);
        return NULL;
    }
    snprintf(tmp, n + 12, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        lz_fail(err, LZ_EIO, "%s: cannot create: %s", path, strerror(errno));
        free(tmp);
        free(fin);
        return NULL;
    }
    /* mkstemp makes the file 0600; give it the mode a plain fopen would */
    mode_t um = umask(0);
    umask(um);
    fchmod(fd, 0666 & ~um);
    FILE *f = fdopen(fd, "w");
    if (!f) {
        lz_fail(err, LZ_EIO, "%s: cannot open: %s", path, strerror(errno));
        close(fd);
        unlink(tmp);
        free(tmp);
        free(fin);
        return NULL;
    }
    reg_add(tmp);
    os->files[os->n].f = f;
    os->files[os->n].tmp = tmp;
    os->files[os->n].final = fin;
    os->n++;
    return f;
}

static void drop(out_file *o)
{
    if (o->f) fclose(o->f);
    if (o->tmp) {
        unlink(o->tmp);
        reg_del(o->tmp);
    }
    free(o->tmp);
    free(o->final);
    memset(o, 0, sizeof *o);
}

static void forget_dirs(lz_outset *os, int remove)
{
    for (size_t i = os->n_dirs; i-- > 0;) {
        if (remove) rmdir(os->dirs[i]); /* only succeeds when empty */
        free(os->dirs[i]);
    }
    os->n_dirs = 0;
}

void lz_outset_abort(lz_outset *os)
{
    if (!os) return;
    for (size_t i = 0; i < os->n; i++) drop(&os->files[i]);
    os->n = 0;
    forget_dirs(os, 1);
}

lz_status lz_outset_commit(lz_outset *os, lz_error *err)
{
    lz_status st = LZ_OK;
    for (size_t i = 0; i < os->n && !st; i++) {
        out_file *o = &os->files[i];
        int bad = ferror(o->f) || fflush(o->f) != 0;
        int e = errno;
        bad |= fclose(o->f) != 0;
        if (!bad) e = errno;
        o->f = NULL;
        if (bad) st = lz_fail(err, LZ_EIO, "%s: write failed: %s", o->final, strerror(e));
    }
    for (size_t i = 0; i < os->n && !st; i++) {
        out_file *o = &os->files[i];
        if (rename(o->tmp, o->final) != 0)
            st = lz_fail(err, LZ_EIO, "%s: cannot rename into place: %s", o->final,
                         strerror(errno));
        else {
            reg_del(o->tmp);
            free(o->tmp);
            o->tmp = NULL;
        }
    }
    if (!st) forget_dirs(os, 0); /* committed files live in them now */
    lz_outset_abort(os);         /* frees committed entries, removes the rest */
    return st;
}

void lz_outset_free(lz_outset *os)
{
    lz_outset_abort(os);
    free(os);
}

/* ------------------------------------------------------------------ */
/* data files */

void lz_put_num(FILE *f, double x)
{
    if (isnan(x)) fputs("nan", f);
    else if (isinf(x)) fputs(x > 0 ? "inf" : "-inf", f);
    else fprintf(f, "%.17g", x);
}

void lz_dat_header(FILE *f, char sep, size_t n, const char *const *names)
{
    fputs("# ", f);
    for (size_t i = 0; i < n; i++) {
        if (i) fputc(sep, f);
        fputs(names[i], f);
    }
    fputc('\n', f);
}

void lz_dat_header_seq(FILE *f, const char *prefix, size_t m, const char *tail)
{
    fputs("# ", f);
    for (size_t i = 0; i < m; i++) fprintf(f, "%s%s%zu", i ? " " : "", prefix, i + 1);
    if (tail && *tail) fprintf(f, "%s%s", m ? " " : "", tail);
    fputc('\n', f);
}

void lz_dat_row(FILE *f, char sep, size_t n, const double *v)
{
    for (size_t i = 0; i < n; i++) {
        if (i) fputc(sep, f);
        lz_put_num(f, v[i]);
    }
    fputc('\n', f);
}

void lz_dat_rowf(FILE *f, char sep, size_t n, const float *v)
{
    for (size_t i = 0; i < n; i++) {
        if (i) fputc(sep, f);
        lz_put_num(f, (double)v[i]);
    }
    fputc('\n', f);
}

/* a matrix given in double (xd) or in float (xf) */
static lz_status write_matrix(lz_outset *os, const char *path, const char *prefix, size_t n,
                              size_t m, const double *xd, const float *xf, const double *labels,
                              lz_error *err)
{
    FILE *f = lz_outset_open(os, path, err);
    if (!f) return err ? err->status : LZ_EIO;
    lz_dat_header_seq(f, prefix, m, labels ? "label" : NULL);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < m; j++) {
            if (j) fputc(' ', f);
            lz_put_num(f, xd ? xd[i * m + j] : (double)xf[i * m + j]);
        }
        if (labels) {
            fputc(' ', f);
            lz_put_num(f, labels[i]);
        }
        fputc('\n', f);
    }
    return LZ_OK;
}

lz_status lz_dat_write_matrix(lz_outset *os, const char *path, const char *prefix, size_t n,
                              size_t m, const double *x, const double *labels, lz_error *err)
{
    return write_matrix(os, path, prefix, n, m, x, NULL, labels, err);
}

lz_status lz_dat_write_matrixf(lz_outset *os, const char *path, const char *prefix, size_t n,
                               size_t m, const float *x, const double *labels, lz_error *err)
{
    return write_matrix(os, path, prefix, n, m, NULL, x, labels, err);
}

FILE *lz_summary_begin(lz_outset *os, const char *path, const lz_summary *s, size_t n_extra,
                       const char *const *extra, lz_error *err)
{
    static const char *const shared[] = {"model",      "family", "k",          "n_params",
                                         "ll_train",   "ll_test", "ll_test_se", "method",
                                         "iterations", "seconds"};
    FILE *f = lz_outset_open(os, path, err);
    if (!f) return NULL;
    fputs("# ", f);
    for (size_t i = 0; i < sizeof shared / sizeof shared[0]; i++)
        fprintf(f, "%s%s", i ? "\t" : "", shared[i]);
    for (size_t i = 0; i < n_extra; i++) fprintf(f, "\t%s", extra[i]);
    fputc('\n', f);
    fprintf(f, "%s\t%s\t%zu\t%zu\t", s->model, s->family, s->k, s->n_params);
    lz_put_num(f, s->ll_train);
    fputc('\t', f);
    lz_put_num(f, s->ll_test);
    fputc('\t', f);
    lz_put_num(f, s->ll_test_se);
    fprintf(f, "\t%s\t%d\t", s->method, s->iterations);
    lz_put_num(f, s->seconds);
    return f;
}

lz_status lz_path(char *buf, size_t cap, const char *prefix, const char *suffix, lz_error *err)
{
    int n = snprintf(buf, cap, "%s.%s", prefix, suffix);
    if (n < 0 || (size_t)n >= cap)
        return lz_fail(err, LZ_EINVAL, "-o %s: the output path is too long", prefix);
    return LZ_OK;
}

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
    double *a;
    size_t line;
} entry;

struct lz_model {
    char *path;
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

/* next line of the file into *buf (grown as needed); 0 at end of file */
static int next_line(FILE *f, char **buf, size_t *cap, size_t *line)
{
    size_t n = 0;
    int c;
    while ((c = fgetc(f)) != EOF && c != '\n') {
        if (n + 1 >= *cap) {
            size_t nc = *cap ? *cap * 2 : 256;
            char *nb = realloc(*buf, nc);
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

static lz_status parse_num(const char *path, size_t line, const char *what, char **p,
                           double *v, lz_error *err)
{
    char *end;
    while (**p == ' ' || **p == '\t') (*p)++;
    if (!strncmp(*p, "nan", 3) && (!(*p)[3] || (*p)[3] == ' ')) {
        *v = NAN;
        *p += 3;
        return LZ_OK;
    }
    *v = strtod(*p, &end);
    if (end == *p)
        return lz_fail(err, LZ_EFORMAT, "%s:%zu: %s: expected a number, got '%.20s'", path,
                       line, what, *p);
    *p = end;
    return LZ_OK;
}

lz_status lz_model_read(const char *path, const char *kind, int max_version, lz_model **out,
                        lz_error *err)
{
    *out = NULL;
    FILE *f = fopen(path, "r");
    if (!f) return lz_fail(err, LZ_EIO, "%s: cannot open: %s", path, strerror(errno));
    lz_model *m = calloc(1, sizeof *m);
    char *buf = NULL;
    size_t cap = 0, line = 0;
    lz_status st = LZ_OK;
    int have_kind = 0, ended = 0;
    if (!m || !(m->path = xstrdup(path))) {
        st = lz_fail(err, LZ_ENOMEM, "%s: out of memory", path);
        goto done;
    }
    int r;
    while (!st && !ended && (r = next_line(f, &buf, &cap, &line)) > 0) {
        char *p = buf;
        while (*p == ' ' || *p == '\t') p++;
        if (!*p || *p == '#') continue;
        char word[32], name[128];
        int used = 0;
        if (sscanf(p, "%31s%n", word, &used) != 1) continue;
        p += used;
        if (!strcmp(word, "end")) {
            ended = 1;
            break;
        }
        if (!strcmp(word, "kind")) {
            char k[64];
            int ver;
            if (sscanf(p, "%63s %d", k, &ver) != 2) {
                st = lz_fail(err, LZ_EFORMAT, "%s:%zu: expected 'kind NAME VERSION'", path, line);
                break;
            }
            if (strcmp(k, kind)) {
                st = lz_fail(err, LZ_EFORMAT, "%s:%zu: a model of kind '%s': expected '%s'",
                             path, line, k, kind);
                break;
            }
            if (ver < 1 || ver > max_version) {
                st = lz_fail(err, LZ_EFORMAT,
                             "%s:%zu: model version %d: this program reads versions 1..%d",
                             path, line, ver, max_version);
                break;
            }
            m->version = ver;
            have_kind = 1;
            continue;
        }
        if (!have_kind) {
            st = lz_fail(err, LZ_EFORMAT,
                         "%s:%zu: not a latent-zoo model file: expected 'kind %s VERSION' first",
                         path, line, kind);
            break;
        }
        if (sscanf(p, "%127s%n", name, &used) != 1) {
            st = lz_fail(err, LZ_EFORMAT, "%s:%zu: '%s' without a name", path, line, word);
            break;
        }
        p += used;
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
        if (!(e->name = xstrdup(name))) {
            st = lz_fail(err, LZ_ENOMEM, "%s: out of memory", path);
            break;
        }
        m->n++;
        if (!strcmp(word, "int")) {
            e->type = ENT_INT;
            char *end;
            e->i = strtol(p, &end, 10);
            if (end == p)
                st = lz_fail(err, LZ_EFORMAT, "%s:%zu: int %s: expected an integer", path, line,
                             name);
        } else if (!strcmp(word, "real")) {
            e->type = ENT_REAL;
            st = parse_num(path, line, name, &p, &e->r, err);
        } else if (!strcmp(word, "str")) {
            e->type = ENT_STR;
            char sv[256];
            if (sscanf(p, "%255s", sv) != 1)
                st = lz_fail(err, LZ_EFORMAT, "%s:%zu: str %s: expected a word", path, line, name);
            else if (!(e->s = xstrdup(sv)))
                st = lz_fail(err, LZ_ENOMEM, "%s: out of memory", path);
        } else if (!strcmp(word, "array")) {
            e->type = ENT_ARRAY;
            if (sscanf(p, "%zu %zu", &e->rows, &e->cols) != 2 || e->rows == 0 || e->cols == 0 ||
                e->rows > ((size_t)1 << 28) / e->cols) {
                st = lz_fail(err, LZ_EFORMAT, "%s:%zu: array %s: expected 'ROWS COLS'", path,
                             line, name);
                break;
            }
            e->a = malloc(e->rows * e->cols * sizeof *e->a);
            if (!e->a) {
                st = lz_fail(err, LZ_ENOMEM, "%s: out of memory", path);
                break;
            }
            for (size_t i = 0; i < e->rows && !st; i++) {
                if (next_line(f, &buf, &cap, &line) <= 0) {
                    st = lz_fail(err, LZ_EFORMAT,
                                 "%s:%zu: array %s: ends after %zu of its %zu rows", path, line,
                                 name, i, e->rows);
                    break;
                }
                char *q = buf;
                for (size_t j = 0; j < e->cols && !st; j++)
                    st = parse_num(path, line, name, &q, &e->a[i * e->cols + j], err);
                while (!st && (*q == ' ' || *q == '\t')) q++;
                if (!st && *q)
                    st = lz_fail(err, LZ_EFORMAT, "%s:%zu: array %s: more than %zu values",
                                 path, line, name, e->cols);
            }
        } else {
            st = lz_fail(err, LZ_EFORMAT, "%s:%zu: unknown entry type '%s'", path, line, word);
        }
    }
    if (!st && !have_kind)
        st = lz_fail(err, LZ_EFORMAT, "%s: not a latent-zoo model file (no 'kind' line)", path);
    if (!st && !ended)
        st = lz_fail(err, LZ_EFORMAT, "%s:%zu: the model file ends without 'end' (truncated?)",
                     path, line);
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

static const entry *find(const lz_model *m, const char *name, ent_type t, lz_error *err)
{
    static const char *tn[] = {"int", "real", "str", "array"};
    for (size_t i = 0; i < m->n; i++)
        if (!strcmp(m->e[i].name, name)) {
            if (m->e[i].type != t) {
                lz_fail(err, LZ_EFORMAT, "%s:%zu: %s is a %s: expected a %s", m->path,
                        m->e[i].line, name, tn[m->e[i].type], tn[t]);
                return NULL;
            }
            return &m->e[i];
        }
    lz_fail(err, LZ_EFORMAT, "%s: no entry '%s' (%s)", m->path, name, tn[t]);
    return NULL;
}

int lz_model_has(const lz_model *m, const char *name)
{
    for (size_t i = 0; i < m->n; i++)
        if (!strcmp(m->e[i].name, name)) return 1;
    return 0;
}

lz_status lz_model_get_int(const lz_model *m, const char *name, long *v, lz_error *err)
{
    const entry *e = find(m, name, ENT_INT, err);
    if (!e) return LZ_EFORMAT;
    *v = e->i;
    return LZ_OK;
}

lz_status lz_model_get_real(const lz_model *m, const char *name, double *v, lz_error *err)
{
    const entry *e = find(m, name, ENT_REAL, err);
    if (!e) return LZ_EFORMAT;
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
    memcpy(a, e->a, rows * cols * sizeof *a);
    return LZ_OK;
}

lz_status lz_model_get_arrayf(const lz_model *m, const char *name, size_t rows, size_t cols,
                              float *a, lz_error *err)
{
    const entry *e = find_array(m, name, rows, cols, err);
    if (!e) return LZ_EFORMAT;
    for (size_t i = 0; i < rows * cols; i++) a[i] = (float)e->a[i];
    return LZ_OK;
}
