/* lz_out.c -- atomic output sets, data files, model files (see lz_out.h). */
#include "lz_out.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lz_size.h"

/* ------------------------------------------------------------------ */
/* atomic output sets */

#define LZ_MAX_OUT 64

typedef struct {
    FILE *f;
    char *tmp;   /* temporary path; NULL once renamed onto final */
    char *final; /* path after commit */
    char *old;   /* during a commit: the file final held before, kept under
                    this name until the commit is done (NULL: there was none) */
    int placed;  /* during a commit: tmp has been renamed onto final */
} out_file;

struct lz_outset {
    out_file files[LZ_MAX_OUT];
    size_t n;
    char *dirs[LZ_MAX_OUT]; /* directories this set created, in order */
    size_t n_dirs;
};

/* What the signal handler removes: every temporary file and every directory
 * made by any set (in the order made), until committed or aborted. */
#define LZ_REG_MAX (4 * LZ_MAX_OUT)
static char *volatile g_tmp[LZ_REG_MAX];
static char *volatile g_dirs[LZ_REG_MAX];
/* a commit in progress defers a signal to its end (g_pending) */
static volatile sig_atomic_t g_committing, g_pending;

static void reg_add(char *volatile *reg, char *p)
{
    for (size_t i = 0; i < LZ_REG_MAX; i++)
        if (!reg[i]) {
            reg[i] = p;
            return;
        }
}

static void reg_del(char *volatile *reg, const char *p)
{
    for (size_t i = 0; i < LZ_REG_MAX; i++)
        if (reg[i] == p) reg[i] = NULL;
}

/* unlink and rmdir only: async-signal-safe */
static void remove_registered(void)
{
    for (size_t i = 0; i < LZ_REG_MAX; i++)
        if (g_tmp[i]) unlink(g_tmp[i]);
    for (size_t i = LZ_REG_MAX; i-- > 0;)
        if (g_dirs[i]) rmdir(g_dirs[i]); /* only succeeds when empty */
}

static void on_signal(int sig)
{
    if (g_committing) {
        g_pending = sig; /* the commit finishes or undoes itself, then dies of it */
        return;
    }
    remove_registered();
    signal(sig, SIG_DFL);
    raise(sig);
}

void lz_outset_install_signal_cleanup(void)
{
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) sigaddset(&sa.sa_mask, sigs[i]);
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        /* a signal ignored by whoever started the program (nohup: SIGHUP)
         * stays ignored */
        struct sigaction old;
        if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN) continue;
        sigaction(sigs[i], &sa, NULL);
    }
}

lz_outset *lz_outset_alloc(void) { return calloc(1, sizeof(lz_outset)); }

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p) memcpy(p, s, n);
    return p;
}

/* mkdir -p of path's parents; each directory made is recorded in os (when
 * not NULL) so that an aborted set, or a signal, can remove it again */
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
                char *copy = xstrdup(p);
                if (copy) {
                    os->dirs[os->n_dirs++] = copy;
                    reg_add(g_dirs, copy);
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

/* the directory part of path ("." for a bare name) into a new string */
static char *dir_of(const char *path)
{
    const char *s = strrchr(path, '/');
    if (!s) return xstrdup(".");
    if (s == path) return xstrdup("/");
    char *d = malloc((size_t)(s - path) + 1);
    if (d) {
        memcpy(d, path, (size_t)(s - path));
        d[s - path] = '\0';
    }
    return d;
}

/* 1 when a and b name the same file: the same name in the same directory
 * (however the directory is spelt) */
static int same_place(const char *a, const char *b)
{
    if (!strcmp(a, b)) return 1;
    const char *ba = strrchr(a, '/'), *bb = strrchr(b, '/');
    if (strcmp(ba ? ba + 1 : a, bb ? bb + 1 : b)) return 0;
    char *da = dir_of(a), *db = dir_of(b);
    struct stat sa, sb;
    int same = da && db && stat(da, &sa) == 0 && stat(db, &sb) == 0 && sa.st_dev == sb.st_dev &&
               sa.st_ino == sb.st_ino;
    free(da);
    free(db);
    return same;
}

/* A final path must be a file name, not an existing directory, in a
 * directory this process can write. */
static lz_status check_final(const char *path, lz_error *err)
{
    size_t n = strlen(path);
    if (n == 0 || path[n - 1] == '/')
        return lz_fail(err, LZ_EINVAL, "'%s': expected a file path, not a directory", path);
    struct stat sb;
    if (lstat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
        return lz_fail(err, LZ_EIO, "%s: is a directory: expected a file name for an output",
                       path);
    char *dir = dir_of(path);
    if (!dir) return lz_fail(err, LZ_ENOMEM, "%s: out of memory", path);
    lz_status st = LZ_OK;
    if (access(dir, W_OK | X_OK) != 0 && errno != ENOENT)
        st = lz_fail(err, LZ_EIO, "%s: cannot write in directory %s: %s", path, dir,
                     strerror(errno));
    free(dir);
    return st;
}

FILE *lz_outset_open(lz_outset *os, const char *path, lz_error *err)
{
    if (os->n == LZ_MAX_OUT) {
        lz_fail(err, LZ_EINVAL, "%s: too many output files in one run", path);
        return NULL;
    }
    size_t len = strlen(path);
    if (len == 0 || path[len - 1] == '/') {
        lz_fail(err, LZ_EINVAL, "'%s': expected a file path, not a directory", path);
        return NULL;
    }
    if (mkdir_parents(os, path, err) || check_final(path, err)) return NULL;
    for (size_t i = 0; i < os->n; i++)
        if (same_place(os->files[i].final, path)) {
            lz_fail(err, LZ_EINVAL,
                    "%s: the same file as %s, another output of this run: expected distinct "
                    "output paths",
                    path, os->files[i].final);
            return NULL;
        }
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
    reg_add(g_tmp, tmp);
    memset(&os->files[os->n], 0, sizeof os->files[os->n]);
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
        reg_del(g_tmp, o->tmp);
    }
    free(o->tmp);
    free(o->final);
    free(o->old);
    memset(o, 0, sizeof *o);
}

static void forget_dirs(lz_outset *os, int remove)
{
    for (size_t i = os->n_dirs; i-- > 0;) {
        if (remove) rmdir(os->dirs[i]); /* only succeeds when empty */
        reg_del(g_dirs, os->dirs[i]);
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

/* Keep the file at o->final (if any) under a second name, o->old, so that a
 * commit that fails after replacing it can put it back: a hard link, or where
 * the file system has none, the file itself moved aside. */
static lz_status keep_old(out_file *o, lz_error *err)
{
    struct stat sb;
    if (lstat(o->final, &sb) != 0) {
        if (errno == ENOENT) return LZ_OK;
        return lz_fail(err, LZ_EIO, "%s: cannot examine: %s", o->final, strerror(errno));
    }
    size_t n = strlen(o->final) + 16;
    char *old = malloc(n);
    if (!old) return lz_fail(err, LZ_ENOMEM, "%s: out of memory", o->final);
    int e = 0;
    for (unsigned t = 0; t < 1000; t++) {
        snprintf(old, n, "%s.old.%u.%u", o->final, (unsigned)getpid() % 100000u, t);
        if (link(o->final, old) == 0) {
            o->old = old;
            return LZ_OK;
        }
        e = errno;
        if (e == EEXIST) continue;
        if (lstat(old, &sb) != 0 && rename(o->final, old) == 0) {
            o->old = old;
            return LZ_OK;
        }
        e = errno;
        break;
    }
    free(old);
    return lz_fail(err, LZ_EIO, "%s: cannot keep the previous file while replacing it: %s",
                   o->final, strerror(e));
}

/* Undo a commit: every previous file back in place, every new one gone. */
static void roll_back(lz_outset *os)
{
    for (size_t i = os->n; i-- > 0;) {
        out_file *o = &os->files[i];
        if (o->old) {
            /* the previous file back over the new one; when old and final
             * still are two links to one file, rename leaves old: unlink it */
            if (rename(o->old, o->final) == 0) unlink(o->old);
        } else if (o->placed) {
            unlink(o->final);
        }
        free(o->old);
        o->old = NULL;
        o->placed = 0;
    }
}

lz_status lz_outset_commit(lz_outset *os, lz_error *err)
{
    lz_status st = LZ_OK;
    /* 1. every file written completely */
    for (size_t i = 0; i < os->n && !st; i++) {
        out_file *o = &os->files[i];
        int bad = ferror(o->f) || fflush(o->f) != 0;
        int e = errno;
        bad |= fclose(o->f) != 0;
        if (!bad) e = errno;
        o->f = NULL;
        if (bad) st = lz_fail(err, LZ_EIO, "%s: write failed: %s", o->final, strerror(e));
    }
    /* 2. every final path usable, checked before anything is replaced */
    for (size_t i = 0; i < os->n && !st; i++) st = check_final(os->files[i].final, err);
    /* 3. all or nothing: previous files kept aside, the new ones renamed into
     * place, and on any failure (or a signal meanwhile) everything put back */
    int sig = 0;
    if (!st) {
        g_committing = 1;
        for (size_t i = 0; i < os->n && !st; i++) st = keep_old(&os->files[i], err);
        for (size_t i = 0; i < os->n && !st; i++) {
            out_file *o = &os->files[i];
            if (rename(o->tmp, o->final) != 0) {
                st = lz_fail(err, LZ_EIO,
                             "%s: cannot rename into place: %s (the run's other outputs were "
                             "put back as they were)",
                             o->final, strerror(errno));
                break;
            }
            o->placed = 1;
            reg_del(g_tmp, o->tmp);
            free(o->tmp);
            o->tmp = NULL;
        }
        sig = g_pending;
        if (st || sig) {
            roll_back(os);
        } else {
            for (size_t i = 0; i < os->n; i++)
                if (os->files[i].old) unlink(os->files[i].old);
        }
        g_committing = 0;
    }
    if (!st && !sig) forget_dirs(os, 0); /* committed files live in them now */
    lz_outset_abort(os);                  /* frees committed entries, removes the rest */
    if (sig) {
        /* a signal came during the commit: undone above; now die of it */
        remove_registered();
        signal(sig, SIG_DFL);
        raise(sig);
    }
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

char *lz_num_str(double x, char *buf, size_t cap)
{
    for (int p = 15; p <= 17; p++) {
        snprintf(buf, cap, "%.*g", p, x);
        if (!isfinite(x) || strtod(buf, NULL) == x) break;
    }
    return buf;
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
    *v = strtod(t, &end);
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
        return corrupt(err, path, e->line, "array %s: %zu x %zu values: too many", e->name,
                       e->rows, e->cols);
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
    if (!m || !(m->path = xstrdup(path))) {
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
                st = corrupt(err, path, line, "model version %ld: this program reads versions 1..%d",
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
            st = corrupt(err, path, line, "unknown entry type '%.32s': expected int, real, str, "
                         "array or end", word);
            break;
        }
        char *name = next_tok(&p);
        if (!name) {
            st = corrupt(err, path, line, "'%s' without a name", word);
            break;
        }
        if (strlen(name) > 64) {
            st = corrupt(err, path, line, "%s '%.32s...': a name of %zu characters: expected at "
                         "most 64", word, name, strlen(name));
            break;
        }
        if (lz_model_has(m, name)) {
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
        if (!(e->name = xstrdup(name))) {
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
            else if (!(e->s = xstrdup(v)))
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
    if (!st && ferror(f))
        st = lz_fail(err, LZ_EIO, "%s: read error: %s", path, strerror(errno));
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

int lz_model_has(const lz_model *m, const char *name) { return lookup(m, name) != NULL; }

size_t lz_model_line(const lz_model *m, const char *name)
{
    const entry *e = lookup(m, name);
    return e ? e->line : 0;
}

const char *lz_model_path(const lz_model *m) { return m->path; }

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
            if (!(fabs(v) <= lim))
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
