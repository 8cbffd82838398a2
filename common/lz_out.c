/* lz_out.c -- atomic output sets and data files (see lz_out.h). */
/* strfromd (ISO/IEC TS 18661-1, glibc 2.25): %.17g without printf's format
 * parser, the same digits, a fifth faster */
#define __STDC_WANT_IEC_60559_BFP_EXT__ 1
#include "lz_out.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lz_size.h"

/* room for one number as lz_put_num writes it: "-1.2345678901234567e-308" */
#define LZ_FMT_NUM 26

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
                char *copy = strdup(p);
                if (copy) {
                    os->dirs[os->n_dirs++] = copy;
                    reg_add(g_dirs, copy);
                }
            }
        } else if (errno != EEXIST) {
            lz_status st =
                lz_fail(err, LZ_EIO, "%s: cannot create directory: %s", p, strerror(errno));
            free(p);
            return st;
        }
        p[i] = '/';
    }
    free(p);
    return LZ_OK;
}

/* the directory part of path ("." for a bare name) into a new string */
static char *dir_of(const char *path)
{
    const char *s = strrchr(path, '/');
    if (!s) return strdup(".");
    if (s == path) return strdup("/");
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

/* 1 when a and b are the same file: the same place, or (both existing) the
 * same inode, a hard or symbolic link to it */
static int same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return same_place(a, b) || (stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
                                sa.st_ino == sb.st_ino);
}

/* The run's input files (lz_out_protect), which no output may replace. */
#define LZ_MAX_INPUTS 16
static const char *inputs[LZ_MAX_INPUTS];
static size_t n_inputs;

void lz_out_protect(const char *path)
{
    if (path && *path && n_inputs < LZ_MAX_INPUTS) inputs[n_inputs++] = path;
}

const char *lz_out_input_at(const char *path)
{
    for (size_t i = 0; i < n_inputs; i++)
        if (same_file(inputs[i], path)) return inputs[i];
    return NULL;
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
        return lz_fail(err, LZ_EIO, "%s: is a directory: expected a file name for an output", path);
    char *dir = dir_of(path);
    if (!dir) return lz_fail(err, LZ_ENOMEM, "%s: out of memory", path);
    lz_status st = LZ_OK;
    if (stat(dir, &sb) == 0 && !S_ISDIR(sb.st_mode))
        st = lz_fail(err, LZ_EIO,
                     "%s: %s is a file, not a directory: expected a directory for "
                     "the outputs",
                     path, dir);
    else if (access(dir, W_OK | X_OK) != 0 && errno != ENOENT)
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
    const char *in = lz_out_input_at(path);
    if (in) {
        lz_fail(err, LZ_EINVAL,
                "%s: the same file as the input %s: expected an output path that leaves the "
                "inputs alone",
                path, in);
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
    char *fin = strdup(path);
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
    lz_outset_abort(os);                 /* frees committed entries, removes the rest */
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

/* x as the data files hold it (nan, inf, -inf, or %.17g); returns the
 * bytes written (< LZ_FMT_NUM) */
static size_t fmt_num(char *p, double x)
{
    if (isnan(x)) return (size_t)snprintf(p, LZ_FMT_NUM, "nan");
    if (isinf(x)) return (size_t)snprintf(p, LZ_FMT_NUM, "%s", x > 0 ? "inf" : "-inf");
    return (size_t)strfromd(p, LZ_FMT_NUM, "%.17g", x);
}

void lz_put_num(FILE *f, double x)
{
    char b[LZ_FMT_NUM];
    fmt_num(b, x);
    fputs(b, f);
}

char *lz_num_str(double x, char *buf, size_t cap)
{
    for (int p = 15; p <= 17; p++) {
        snprintf(buf, cap, "%.*g", p, x);
        if (!isfinite(x) || lz_strtod(buf, NULL) == x) break;
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

const char *lz_label_columns(const lz_data *lab)
{
    if (!lab || !lab->y) return NULL;
    return lab->label_names ? "label label_name" : "label";
}

void lz_put_label(FILE *f, char sep, const lz_data *lab, size_t i)
{
    if (!lab || !lab->y) return;
    fputc(sep, f);
    lz_put_num(f, lab->y[i]);
    if (!lab->label_names) return;
    fputc(sep, f);
    size_t c = (size_t)lab->y[i];
    const char *s = c < lab->n_classes ? lab->label_names[c] : "?";
    for (; *s; s++) fputc(*s == ' ' || *s == '\t' ? '_' : *s, f);
}

/* ---- large matrices: the rows formatted by several threads, in blocks,
 * each block into its own buffer, the buffers written in row order: the
 * same bytes as one thread's fprintf ---- */

static int g_out_threads = 1;

void lz_out_set_threads(int n)
{
    if (n <= 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        n = c > 0 ? (int)c : 1;
    }
    g_out_threads = n < 64 ? n : 64;
}

#define LZ_FMT_MIN 4096 /* entries below which one thread writes */

typedef struct {
    const double *xd;
    const float *xf;
    const lz_data *lab;
    size_t m, r0, r1; /* rows [r0, r1) of the (n, m) matrix */
    char *buf;
    size_t len, cap;
    int fail; /* out of memory */
} fmt_block;

/* room for add more bytes */
static int fmt_room(fmt_block *b, size_t add)
{
    if (b->len + add <= b->cap) return 1;
    size_t cap = b->cap ? b->cap : 1 << 16;
    while (cap < b->len + add) cap *= 2;
    char *p = realloc(b->buf, cap);
    if (!p) return 0;
    b->buf = p;
    b->cap = cap;
    return 1;
}

static void *fmt_rows(void *arg)
{
    fmt_block *b = arg;
    const lz_data *lab = b->lab && b->lab->y ? b->lab : NULL;
    b->len = 0;
    for (size_t i = b->r0; i < b->r1; i++) {
        const char *name = NULL;
        if (lab && lab->label_names) {
            size_t c = (size_t)lab->y[i];
            name = c < lab->n_classes ? lab->label_names[c] : "?";
        }
        if (!fmt_room(b, (b->m + 2) * LZ_FMT_NUM + (name ? strlen(name) + 1 : 0) + 1)) {
            b->fail = 1;
            return NULL;
        }
        char *p = b->buf + b->len;
        for (size_t j = 0; j < b->m; j++) {
            if (j) *p++ = ' ';
            p += fmt_num(p, b->xd ? b->xd[i * b->m + j] : (double)b->xf[i * b->m + j]);
        }
        if (lab) { /* lz_put_label */
            *p++ = ' ';
            p += fmt_num(p, lab->y[i]);
            if (name) {
                *p++ = ' ';
                for (const char *s = name; *s; s++) *p++ = *s == ' ' || *s == '\t' ? '_' : *s;
            }
        }
        *p++ = '\n';
        b->len = (size_t)(p - b->buf);
    }
    return NULL;
}

/* a matrix given in double (xd) or in float (xf) */
static lz_status write_matrix(lz_outset *os, const char *path, const char *prefix, size_t n,
                              size_t m, const double *xd, const float *xf, const lz_data *lab,
                              lz_error *err)
{
    FILE *f = lz_outset_open(os, path, err);
    if (!f) return err ? err->status : LZ_EIO;
    lz_dat_header_seq(f, prefix, m, lz_label_columns(lab));
    int T = n * m < LZ_FMT_MIN ? 1 : g_out_threads; /* a small file: this thread alone */
    /* blocks of about 64k numbers; a round formats T of them at once (the
     * calling thread one, T - 1 new threads the others; a thread that cannot
     * be started leaves its block to the calling thread) */
    size_t rows = m >= 65536 ? 1 : 65536 / (m ? m : 1);
    fmt_block blk[64];
    pthread_t tid[64];
    memset(blk, 0, sizeof blk);
    lz_status st = LZ_OK;
    for (size_t r = 0; r < n && !st;) {
        int nb = 0;
        for (; nb < T && r < n; nb++, r += rows) {
            fmt_block *b = &blk[nb];
            b->xd = xd;
            b->xf = xf;
            b->lab = lab;
            b->m = m;
            b->r0 = r;
            b->r1 = n - r < rows ? n : r + rows;
        }
        int started[64] = {0};
        for (int t = 1; t < nb; t++) started[t] = !pthread_create(&tid[t], NULL, fmt_rows, &blk[t]);
        fmt_rows(&blk[0]);
        for (int t = 1; t < nb; t++) {
            if (started[t])
                pthread_join(tid[t], NULL);
            else
                fmt_rows(&blk[t]);
        }
        for (int t = 0; t < nb && !st; t++) {
            if (blk[t].fail)
                st = lz_fail(err, LZ_ENOMEM, "%s: out of memory", path);
            else if (fwrite(blk[t].buf, 1, blk[t].len, f) != blk[t].len)
                st = lz_fail(err, LZ_EIO, "%s: %s", path, strerror(errno));
        }
    }
    for (int t = 0; t < 64; t++) free(blk[t].buf);
    return st;
}

lz_status lz_dat_write_matrix(lz_outset *os, const char *path, const char *prefix, size_t n,
                              size_t m, const double *x, const lz_data *lab, lz_error *err)
{
    return write_matrix(os, path, prefix, n, m, x, NULL, lab, err);
}

lz_status lz_dat_write_matrixf(lz_outset *os, const char *path, const char *prefix, size_t n,
                               size_t m, const float *x, const lz_data *lab, lz_error *err)
{
    return write_matrix(os, path, prefix, n, m, NULL, x, lab, err);
}

FILE *lz_summary_begin(lz_outset *os, const char *path, const lz_summary *s, size_t n_extra,
                       const char *const *extra, lz_error *err)
{
    static const char *const shared[] = {"model",      "family",  "k",          "n_params",
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
