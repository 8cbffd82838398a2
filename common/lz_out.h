/* lz_out.h -- output files: written atomically, gnuplot-ready, exact.
 *
 * An lz_outset collects every file a run writes.  Each is written to a
 * temporary file beside its final name ("NAME.tmp.XXXXXX") and renamed only
 * by lz_outset_commit, after all of them were written without error.  The
 * commit is all or nothing:
 *   1. every file is flushed and closed, and every final path checked (not
 *      an existing directory, in a writable directory; two outputs of one
 *      set with the same path were already refused by lz_outset_open);
 *   2. a final path that already holds a file gets a second name for it, a
 *      hard link "NAME.old.PID.N" (where the file system has no hard links,
 *      the file is moved there), so that it can be put back;
 *   3. each temporary file is renamed onto its final path; if one rename
 *      fails, the ones done are undone (the previous files renamed back,
 *      new files without one removed) and the commit fails;
 *   4. on success the ".old" names are removed.
 * A run that fails, or is interrupted by SIGINT, SIGTERM, SIGHUP or SIGPIPE
 * (see lz_outset_install_signal_cleanup), leaves nothing behind: no
 * temporary file, no directory the set created, no output replaced.
 * A signal that arrives during a commit waits for it to finish, then the
 * commit is undone and the process dies of the signal; a signal after the
 * commit leaves the complete outputs.
 *
 * Data files (.dat, .tsv): a first line "# " + column names, then one row of
 * numbers a line, every number as "%.17g" in the C locale (so a double reads
 * back exactly), "nan" for a missing value.  .dat separates by a space,
 * .tsv by a tab.
 */
#ifndef LZ_OUT_H
#define LZ_OUT_H

#include <stddef.h>
#include <stdio.h>

#include "lz_data.h"
#include "lz_error.h"

/* ---- atomic output sets ---- */

typedef struct lz_outset lz_outset;

lz_outset *lz_outset_alloc(void);

/* Open a temporary file that becomes `path` on commit; parent directories are
 * created (and removed again by an abort, when empty).  Returns NULL with err
 * set on failure: path empty or ending in '/', an existing directory, or the
 * same file as an output already in the set (the error names both). */
FILE *lz_outset_open(lz_outset *os, const char *path, lz_error *err);

/* An input file of the run (DATA, --test, --load, a start or reference
 * file): lz_outset_open refuses to open an output that is the same file
 * (the same name in the same directory, or a link to it), which the commit
 * would replace.  path must outlive the run (argv). */
void lz_out_protect(const char *path);

/* The protected input that path would replace, or NULL. */
const char *lz_out_input_at(const char *path);

/* Flush, check and close every file, then rename each onto its final name,
 * all or nothing (see the top of this file).  On any error every temporary
 * file is removed, every file replaced is back, and err says which failed. */
lz_status lz_outset_commit(lz_outset *os, lz_error *err);

/* Close and remove every temporary file not yet committed. */
void lz_outset_abort(lz_outset *os);

/* Abort what is uncommitted and free the set; NULL is a no-op. */
void lz_outset_free(lz_outset *os);

/* On SIGINT, SIGTERM, SIGHUP or SIGPIPE (a closed pipe on stdout), remove
 * every temporary file of every open output set and the directories the sets
 * created (when empty), then die of the signal.  A signal ignored when the
 * program started (nohup) stays ignored.  Call once from main. */
void lz_outset_install_signal_cleanup(void);

/* ---- data files ---- */

/* Write x as "%.17g" ("nan" for any NaN, "inf"/"-inf" for infinities). */
void lz_put_num(FILE *f, double x);

/* buf (cap) <- x in the fewest significant digits (15, 16 or 17) that read
 * back as x exactly: for messages, where "%g" would print 1.0000000001 as 1.
 * Returns buf. */
char *lz_num_str(double x, char *buf, size_t cap);

/* "# a b c\n" from n names; sep is ' ' for .dat, '\t' for .tsv. */
void lz_dat_header(FILE *f, char sep, size_t n, const char *const *names);

/* "# p1 p2 ... pm[ tail]\n": m names made of a prefix and 1..m, then the
 * space-separated words of tail (may be NULL). */
void lz_dat_header_seq(FILE *f, const char *prefix, size_t m, const char *tail);

/* One row of n numbers separated by sep, then a newline. */
void lz_dat_row(FILE *f, char sep, size_t n, const double *v);
void lz_dat_rowf(FILE *f, char sep, size_t n, const float *v);

/* The label columns of a data set's rows, the tail of a header: "label",
 * then "label_name" when the labels were words; NULL without labels. */
const char *lz_label_columns(const lz_data *lab);

/* After row i's numbers: sep + its label, then sep + its class name (a word:
 * blanks written as '_') when the labels were words; nothing without labels. */
void lz_put_label(FILE *f, char sep, const lz_data *lab, size_t i);

/* A matrix x (n, m) as a .dat file: header from prefix (x1..xm) and, when
 * lab has labels, the label columns of its rows (lz_label_columns). */
lz_status lz_dat_write_matrix(lz_outset *os, const char *path, const char *prefix, size_t n,
                              size_t m, const double *x, const lz_data *lab, lz_error *err);
lz_status lz_dat_write_matrixf(lz_outset *os, const char *path, const char *prefix, size_t n,
                               size_t m, const float *x, const lz_data *lab, lz_error *err);

/* Threads that format the numbers of a large matrix file (lz_dat_write_
 * matrix): n (0: one per core, at most 64).  The file's bytes do not depend
 * on it; %.17g of 30 million numbers (rbm_cd's latent file of 60000 rows and
 * 500 hidden units) takes 20 s on one thread.  lz_cli sets it from
 * --threads. */
void lz_out_set_threads(int n);

/* The columns every PREFIX.summary.tsv begins with (docs/developers.md), in
 * this order; the comparison table of the lab reads them by name. */
typedef struct {
    const char *model;  /* short id without spaces: "lgm-exact", "rbm-cd1", ... */
    const char *family; /* "continuous" or "binary"                          */
    size_t k;           /* latent size (hidden units for the RBM)            */
    size_t n_params;
    double ll_train, ll_test; /* per sample, nats; NAN where not computed    */
    double ll_test_se;        /* 0 exact, NAN unknown                               */
    const char *method;       /* "exact", "iw-K", "ais", "exact-enum"             */
    int iterations;
    double seconds;
} lz_summary;

/* Open PREFIX.summary.tsv in os, write its header (the shared columns, then
 * the n_extra names of the program's own columns) and the shared values of
 * its one row.  The caller writes each extra value preceded by a tab, then
 * the newline.  NULL with err set on failure. */
FILE *lz_summary_begin(lz_outset *os, const char *path, const lz_summary *s, size_t n_extra,
                       const char *const *extra, lz_error *err);

/* buf (cap) <- "PREFIX.SUFFIX", the path of one output file; when it does
 * not fit, LZ_EINVAL with err "-o PREFIX: the output path is too long". */
lz_status lz_path(char *buf, size_t cap, const char *prefix, const char *suffix, lz_error *err);

#endif
