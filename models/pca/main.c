/* main.c -- pca_iter: PCA by iterative projection, scored by the PPCA density
 * (docs/pca.md).
 *
 *     pca_iter [options] DATA
 *
 * options -> data (and --ref) -> fit (or --load) -> centre and score every
 * data set -> write every file through one lz_outset committed at the end
 * -> final report.
 * Dimension letters: n samples, d data dimension, k components.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lz_cli.h"
#include "lz_data.h"
#include "lz_linalg.h"
#include "lz_out.h"
#include "pca.h"

#define PROG "pca_iter"

static const char *MODE_NAME[] = {"data", "cov", "auto"};

static const char *DETAILS =
    "Files written (PREFIX from -o):\n"
    "  PREFIX.trace.dat       iter recon_mse explained_var max_angle ref_angle seconds\n"
    "                         [ll_train: DATA with missing values; e_steps: and SQUAREM]\n"
    "  PREFIX.components.dat  eigenvalue x1..xd: one component a row, largest first\n"
    "  PREFIX.latent.dat      z1..zK [label]: projections of DATA (their posterior means\n"
    "                         E[z | x_o] with missing values)\n"
    "  PREFIX.latent_test.dat z1..zK [label]: projections of the test set\n"
    "  PREFIX.imputed.dat     x1..xd [label]: DATA with each missing value replaced by\n"
    "                         E[x_m | x_o] under the PPCA density (DATA with missing values)\n"
    "  PREFIX.summary.tsv     model, k, PPCA log-likelihood per sample, ...\n"
    "Missing values (an empty field, NA, NaN, ?, --missing TOKEN): EM for probabilistic\n"
    "PCA over the observed entries (the lecture's iteration with the prior's ridge, the\n"
    "mean fitted with W); ll is the PPCA density of each row's observed entries, which\n"
    "EM never lowers (docs/pca.md, \"Missing values\"). By default each line is one\n"
    "SQUAREM cycle of 3 or more EM steps, kept monotone (--accel none: one EM step a\n"
    "line); --tol and --max-iter then count cycles.\n"
    "With --load MODEL: no training; DATA (optional) and --test are scored and\n"
    "components, latent and summary are written (-k, --mode, --tol, ... are ignored).\n"
    "\n"
    "Examples:\n"
    "  pca_iter -k 2 --label-col last data/digits.csv    # out/pca.*\n"
    "  pca_iter -k 20 --mode data --split 0.2 data.csv   # iterate on X, hold out 20 %\n"
    "  pca_iter --load m.pca --test new.csv              # score new data\n"
    "  gnuplot -c plots/latent.gp out/pca                # the projections, by label\n";

/* everything a run holds */
typedef struct {
    pca_config cfg;
    lz_common_opts co;
    int k;     /* -k, or LZ_UNSET_INT: 2, or 1 for data of 2 columns */
    int accel; /* index into "squarem|none" */
    const char *ref_path, *data_path;
    lz_data *train, *test;
    double *ref;     /* (k, d) --ref rows, or NULL                         */
    pca_model *m;    /* fitted or loaded                                   */
    pca_fit_info fi; /* what the fit did (a loaded model: converged, NaNs) */
    double *z, *zt;  /* (n, k) projections of DATA and of the test set     */
    double *imputed; /* (n, d) DATA with E[x_m | x_o] where missing, or NULL */
    double ll_train, ll_test, recon_train, recon_test;
    lz_outset *os; /* every output file; the trace is opened by fit      */
    FILE *trace;   /* PREFIX.trace.dat, written as the iterations run    */
    lz_error err;
    lz_far_fill far; /* imputed values far outside the data (lz_far_fills) */
} run;

/* ---------------------------------------------------------------- options */

/* options -> lz_cli_start -> config check: -1 to go on, else the exit status */
static int parse_options(run *r, int argc, char **argv)
{
    pca_config_default(&r->cfg);
    lz_common_defaults(&r->co, "out/pca");
    r->co.allow_missing = 1; /* the iteration runs over the observed entries */
    r->k = LZ_UNSET_INT;
    const lz_opt opts[] = {
        {"k", 'k', LZ_OPT_INT, &r->k, "K",
         "principal components kept, 1 <= K < d (default: 2, or 1 for data of 2 columns)"},
        {"mode", 0, LZ_OPT_CHOICE, &r->cfg.mode, "data|cov|auto",
         "data: iterate on X, O(n d p) an iteration; cov: on S, O(n d^2) once, then "
         "O(d^2 p); auto: the cheaper"},
        {"oversample", 0, LZ_OPT_INT, &r->cfg.oversample, "Q",
         "iterate p = K + Q columns, keep the top K (0: the seed's plain iteration; "
         "-1: Q = max(10, K))"},
        {"tol", 0, LZ_OPT_REAL, &r->cfg.tol, "RAD",
         "stop when the largest principal angle between successive K-subspaces is <= RAD"},
        {"max-iter", 0, LZ_OPT_INT, &r->cfg.max_iter, "N",
         "iterations at most (printed lines; with SQUAREM a line is one cycle)"},
        {"accel", 0, LZ_OPT_CHOICE, &r->accel, "squarem|none",
         "EM on missing values: SQUAREM extrapolation kept monotone, or plain EM steps "
         "(complete data: ignored)"},
        {"ref", 0, LZ_OPT_STR, &r->ref_path, "FILE",
         "reference components (K rows; e.g. LAPACK's): trace column ref_angle"},
        LZ_COMMON_OPTIONS(&r->co),
        {0},
    };
    const lz_cli cli = {PROG,
                        "[options] DATA",
                        "Principal component analysis by the seed's iterative projection\n"
                        "(Z <- W+ X, W <- X Z+), scored by the probabilistic PCA density.",
                        DETAILS,
                        opts,
                        0,
                        1,
                        0,
                        1}; /* omp_passive: the EM on missing values runs many short regions */
    int rc = lz_cli_start(&cli, &r->co, argc, argv, &r->data_path);
    if (rc >= 0) return rc;
    lz_out_protect(r->ref_path);
    r->cfg.seed = r->co.seed; /* the random initial W */
    r->cfg.accelerate = r->accel == 0;
    if (r->k != LZ_UNSET_INT) r->cfg.k = r->k;
    if (!r->co.load && pca_config_check(&r->cfg, 0, &r->err)) {
        lz_die_msg(PROG, &r->err);
        return 1;
    }
    lz_set_threads(r->co.threads);
    lz_outset_install_signal_cleanup();
    return -1;
}

/* ------------------------------------------------------------------- data */

/* Singular values of --ref below this fraction of the largest count as 0. */
#define PCA_REF_RTOL 1e-10

/* Read --ref FILE: at least k rows of d numbers, or of d + 1 with the
 * eigenvalue first (the layout of PREFIX.components.dat), whose first k rows
 * span k dimensions.  ref (k, d). */
static lz_status read_ref(const char *path, size_t k, size_t d, double **ref, lz_error *err)
{
    lz_data *r = NULL;
    lz_read_opts ro = {.label_col = LZ_LABEL_NONE, .min_rows = k};
    lz_status st = lz_data_read(path, &ro, &r, err);
    if (!st) st = lz_data_require_values(r, "--ref", err);
    if (st) {
        lz_data_free(r);
        lz_error_prefix(err, "--ref");
        return st;
    }
    if (r->d != d && r->d != d + 1) {
        st = lz_fail(err, LZ_EFORMAT,
                     "--ref %s:1: %zu columns: expected %zu (or %zu with the "
                     "eigenvalue first)",
                     path, r->d, d, d + 1);
        lz_data_free(r);
        return st;
    }
    *ref = malloc(k * d * sizeof **ref);
    if (!*ref) {
        lz_data_free(r);
        return lz_fail(err, LZ_ENOMEM, "--ref: out of memory");
    }
    size_t off = r->d - d;
    for (size_t j = 0; j < k; j++) memcpy(*ref + j * d, r->x + j * r->d + off, d * sizeof **ref);
    lz_data_free(r);
    /* the k rows must span k dimensions: singular values s_1 >= ... >= s_k
     * of ref (k, d), rank = #{s_j > 1e-10 s_1} (a smaller s_k leaves the
     * subspace, and so the angle to it, undetermined) */
    double *a = malloc(k * d * sizeof *a), *sv = malloc(k * sizeof *sv);
    if (!a || !sv) {
        free(a);
        free(sv);
        free(*ref);
        *ref = NULL;
        return lz_fail(err, LZ_ENOMEM, "--ref: out of memory");
    }
    memcpy(a, *ref, k * d * sizeof *a);
    lz_status st2 = lz_svd_values(k, d, a, sv, err);
    size_t rank = 0;
    for (size_t j = 0; !st2 && j < k; j++)
        if (sv[j] > PCA_REF_RTOL * sv[0]) rank++;
    free(a);
    free(sv);
    if (!st2 && rank < k)
        st2 = lz_fail(err, LZ_EINVAL,
                      "--ref %s: rows 1..%zu span %zu dimension%s: expected %zu linearly "
                      "independent rows (k = %zu)",
                      path, k, rank, rank == 1 ? "" : "s", k, k);
    if (st2) {
        free(*ref);
        *ref = NULL;
    }
    return st2;
}

/* DATA, --test or --split; to train: the config against d, values too
 * large for a variance (an error), a note when the columns' scales differ
 * by orders of magnitude (PCA depends on units), and --ref */
static lz_status load_inputs(run *r)
{
    lz_status st =
        lz_load_inputs(&r->co, r->data_path, r->co.load ? 1 : 2, &r->train, &r->test, &r->err);
    if (st || r->co.load) return st;
    const size_t d = r->train->d;
    if (r->k == LZ_UNSET_INT) r->cfg.k = (int)lz_default_k(d, (size_t)r->cfg.k);
    if ((st = pca_config_check(&r->cfg, d, &r->err))) {
        lz_error_prefix(&r->err, "%s", r->train->path); /* "data.csv: -k 70: ..." */
        return st;
    }
    double *mv = malloc(2 * d * sizeof *mv); /* (2, d) mean, variance */
    if (!mv) return lz_fail(&r->err, LZ_ENOMEM, "out of memory");
    st = lz_data_moments(r->train, mv, mv + d, NULL, &r->err);
    if (!st && !r->co.quiet) lz_note_spread(r->train, mv + d, "PCA");
    free(mv);
    if (!st && r->ref_path) st = read_ref(r->ref_path, (size_t)r->cfg.k, d, &r->ref, &r->err);
    return st;
}

/* --load: the model, its width against the data's */
static lz_status load_model(run *r)
{
    lz_status st = pca_model_read(r->co.load, &r->m, &r->err);
    if (!st) st = lz_data_check_width(r->train, r->m->d, r->co.load, &r->err);
    if (!st) st = lz_data_check_width(r->test, r->m->d, r->co.load, &r->err);
    if (st) return st;
    /* no fit: nothing run, no angles */
    r->fi = (pca_fit_info){.converged = 1, .max_angle = NAN, .ref_angle = NAN, .angle_est = NAN};
    if (!r->co.quiet)
        printf("%s: model %s: k = %zu of d = %zu\n", PROG, r->co.load, r->m->k, r->m->d);
    return LZ_OK;
}

/* -------------------------------------------------------------------- fit */

/* the fit is EM on missing values accelerated by SQUAREM: the trace and the
 * summary then count E-steps (e_steps) */
static int squarem(const run *r)
{
    return !r->co.load && r->train && r->train->miss && r->cfg.accelerate;
}

/* one trace row and one printed line an iteration, as it happens */
static int on_iter(const pca_iter_info *it, void *ud)
{
    run *r = ud;
    double row[8] = {(double)it->iter, it->recon_mse,      it->explained_var,
                     it->max_angle,    it->ref_angle,      it->seconds,
                     it->ll,           (double)it->e_steps};
    int inc = r->train->miss != NULL; /* ll_train: the EM on missing values */
    lz_dat_row(r->trace, ' ', 6 + inc + squarem(r), row);
    if (!r->co.quiet) {
        printf("iter %4d  recon_mse %-13.7g explained_var %.7f  max_angle %-10.3e", it->iter,
               it->recon_mse, it->explained_var, it->max_angle);
        if (inc) printf("  ll %-14.9g", it->ll);
        if (squarem(r)) printf("  e_steps %4ld", it->e_steps);
        if (r->ref) printf("  ref_angle %-10.3e", it->ref_angle);
        printf("  %8.3f s\n", it->seconds);
        fflush(stdout);
    }
    return 0;
}

/* the output set, with PREFIX.trace.dat open in it and its header written */
static lz_status open_trace(run *r)
{
    static const char *cols[] = {"iter",      "recon_mse", "explained_var", "max_angle",
                                 "ref_angle", "seconds",   "ll_train",      "e_steps"};
    char path[4096];
    if (!(r->os = lz_outset_alloc())) return lz_fail(&r->err, LZ_ENOMEM, "out of memory");
    if (lz_path(path, sizeof path, r->co.output, "trace.dat", &r->err)) return r->err.status;
    if (!(r->trace = lz_outset_open(r->os, path, &r->err))) return r->err.status;
    lz_dat_header(r->trace, ' ', 6 + (r->train->miss != NULL) + squarem(r), cols);
    return LZ_OK;
}

/* PCA of DATA; on return DATA is centred (pca_fit prepares it) */
static lz_status fit(run *r)
{
    const size_t n = r->train->n, d = r->train->d;
    if (!(r->m = pca_model_alloc(d, (size_t)r->cfg.k)))
        return lz_fail(&r->err, LZ_ENOMEM, "out of memory");
    size_t p = pca_block_size(&r->cfg, d);
    if (r->cfg.mode == PCA_MODE_AUTO && !r->train->miss)
        r->cfg.mode = pca_choose_mode(n, d, p, r->cfg.max_iter);
    lz_status st = open_trace(r);
    if (st) return st;
    const lz_data *tr = r->train;
    if (!r->co.quiet) {
        if (tr->miss)
            printf("%s: %zu x %zu from %s (%zu values missing), k = %d, EM for probabilistic PCA "
                   "over the observed entries%s, tol %g rad\n",
                   PROG, n, d, tr->path, tr->n_miss, r->cfg.k,
                   squarem(r) ? " (SQUAREM: a line is one cycle of 3 or more EM steps)" : "",
                   r->cfg.tol);
        else
            printf("%s: %zu x %zu from %s, k = %d, mode %s on %zu columns, tol %g rad\n", PROG, n,
                   d, tr->path, r->cfg.k, MODE_NAME[r->cfg.mode], p, r->cfg.tol);
        lz_print_blas(stdout, lz_get_threads(), 0);
    }
    /* missing values: DATA is left as it is (score() takes it so) */
    if (tr->miss)
        st = pca_fit_incomplete(&r->cfg, tr, r->ref, r->m, &r->fi, on_iter, r, &r->err);
    else
        st = pca_fit(&r->cfg, n, d, r->train->x, r->ref, r->m, &r->fi, on_iter, r, &r->err);
    if (st == LZ_ENUMERIC) lz_error_prefix(&r->err, "%s", r->train->path);
    return st;
}

/* ------------------------------------------------------------- evaluation */

/* DATA and the test set centred by the TRAINING mean (DATA already is after
 * a fit on complete data), then their projections, reconstruction errors
 * and PPCA log-likelihoods per sample; a set with missing values is scored
 * over its observed entries, in its units, and DATA's missing values are
 * completed into r->imputed */
static lz_status score(run *r)
{
    const lz_data *set[2] = {r->train, r->test};
    double **z[2] = {&r->z, &r->zt};
    double *ll[2] = {&r->ll_train, &r->ll_test}, *recon[2] = {&r->recon_train, &r->recon_test};
    for (int i = 0; i < 2; i++) {
        *ll[i] = *recon[i] = NAN;
        if (!set[i]) continue;
        if (!(*z[i] = malloc(set[i]->n * r->m->k * sizeof **z[i])))
            return lz_fail(&r->err, LZ_ENOMEM, "out of memory");
        lz_status st;
        if (set[i]->miss) {
            size_t sz = set[i]->n * set[i]->d;
            if (i == 0) {
                if (!(r->imputed = malloc(sz * sizeof *r->imputed)))
                    return lz_fail(&r->err, LZ_ENOMEM, "out of memory");
                memcpy(r->imputed, set[i]->x, sz * sizeof *r->imputed);
            }
            st = pca_score_incomplete(r->m, set[i], *z[i], recon[i], ll[i],
                                      i == 0 ? r->imputed : NULL, &r->err);
        } else {
            if (i == 1 || r->co.load) pca_prepare(r->m, set[i]->n, set[i]->x);
            st = pca_score(r->m, set[i]->n, set[i]->x, *z[i], recon[i], ll[i], &r->err);
        }
        if (st) return st;
    }
    return LZ_OK;
}

/* ----------------------------------------------------------------- output */

/* PREFIX.components.dat: "eigenvalue x1 .. xd", one component a row */
static lz_status write_components(lz_outset *os, const char *path, const pca_model *m,
                                  lz_error *err)
{
    FILE *f = lz_outset_open(os, path, err);
    if (!f) return err->status;
    fputs("# eigenvalue", f);
    for (size_t i = 1; i <= m->d; i++) fprintf(f, " x%zu", i);
    fputc('\n', f);
    for (size_t j = 0; j < m->k; j++) {
        lz_put_num(f, m->eigval[j]);
        for (size_t i = 0; i < m->d; i++) {
            fputc(' ', f);
            lz_put_num(f, m->comp[j * m->d + i]);
        }
        fputc('\n', f);
    }
    return LZ_OK;
}

/* explained variance sum_j lambda_j / tr S */
static double explained_var(const pca_model *m)
{
    double top = 0;
    for (size_t j = 0; j < m->k; j++) top += m->eigval[j];
    return top / m->total_var;
}

static lz_status write_summary(lz_outset *os, const char *path, const run *r, lz_error *err)
{
    static const char *const extra[] = {
        "mode",          "p",         "converged",    "max_angle",
        "angle_est",     "ref_angle", "recon_mse",    "recon_mse_test",
        "explained_var", "sigma2",    "missing_frac", "e_steps"};
    const pca_model *m = r->m;
    const pca_fit_info *fi = &r->fi;
    lz_summary s = {.model = "pca",
                    .family = "continuous",
                    .k = m->k,
                    .n_params = pca_n_params(m),
                    .ll_train = r->ll_train,
                    .ll_test = r->ll_test,
                    .ll_test_se = isnan(r->ll_test) ? NAN : 0.0, /* exact: no standard error */
                    .method = "exact",
                    .iterations = fi->iterations,
                    .seconds = fi->seconds};
    /* missing_frac (DATA's missing values / its entries) only when a data set
     * misses values: complete data give the same summary as before */
    const lz_data *tr = r->train;
    int inc = (tr && tr->miss) || (r->test && r->test->miss);
    /* e_steps only after a SQUAREM fit (which has missing values) */
    int sq = squarem(r);
    FILE *f =
        lz_summary_begin(os, path, &s, sizeof extra / sizeof extra[0] - 1 - !inc + sq, extra, err);
    if (!f) return err->status;
    fprintf(f, "\t%s\t%zu\t%d\t",
            r->co.load       ? "loaded"
            : tr && tr->miss ? "em"
                             : MODE_NAME[fi->mode],
            fi->p, fi->converged);
    double tail[6] = {fi->max_angle,  fi->angle_est, fi->ref_angle,
                      r->recon_train, r->recon_test, explained_var(m)};
    for (int i = 0; i < 6; i++) {
        lz_put_num(f, tail[i]);
        fputc('\t', f);
    }
    lz_put_num(f, m->sigma2);
    if (inc) {
        fputc('\t', f);
        lz_put_num(f, tr ? (double)tr->n_miss / ((double)tr->n * (double)tr->d) : NAN);
    }
    if (sq) fprintf(f, "\t%ld", fi->e_steps);
    fputc('\n', f);
    return LZ_OK;
}

/* every file through one output set (the fit's, which holds the trace),
 * committed at the end */
static lz_status write_outputs(run *r)
{
    const char *pre = r->co.output;
    char p[4096];
    lz_error *e = &r->err;
    if (!r->os && !(r->os = lz_outset_alloc())) return lz_fail(e, LZ_ENOMEM, "out of memory");
    lz_status st = lz_path(p, sizeof p, pre, "components.dat", e);
    if (!st) st = write_components(r->os, p, r->m, e);
    if (!st && r->train && !(st = lz_path(p, sizeof p, pre, "latent.dat", e)))
        st = lz_dat_write_matrix(r->os, p, "z", r->train->n, r->m->k, r->z, r->train, e);
    if (!st && r->test && !(st = lz_path(p, sizeof p, pre, "latent_test.dat", e)))
        st = lz_dat_write_matrix(r->os, p, "z", r->test->n, r->m->k, r->zt, r->test, e);
    if (!st && r->imputed && !(st = lz_path(p, sizeof p, pre, "imputed.dat", e)))
        st = lz_dat_write_matrix(r->os, p, "x", r->train->n, r->m->d, r->imputed, r->train, e);
    if (!st && r->imputed) st = lz_far_fills(r->train, r->imputed, &r->far, e);
    if (!st && !(st = lz_path(p, sizeof p, pre, "summary.tsv", e)))
        st = write_summary(r->os, p, r, e);
    if (!st && r->co.save && (st = pca_model_write(r->m, r->os, r->co.save, e)))
        lz_error_prefix(e, "--save");
    if (!st) st = lz_outset_commit(r->os, e);
    return st;
}

/* ----------------------------------------------------------------- report */

static void report(const run *r)
{
    const pca_model *m = r->m;
    const pca_fit_info *fi = &r->fi;
    if (!r->co.load) {
        printf("%s: %s after %d iteration%s (max_angle %.3g rad, tol %g), mode %s on %zu "
               "columns, %.3f s\n",
               PROG, fi->converged ? "converged" : "NOT converged (--max-iter reached)",
               fi->iterations, fi->iterations == 1 ? "" : "s", fi->max_angle, r->cfg.tol,
               MODE_NAME[fi->mode], fi->p, fi->seconds);
        if (isfinite(fi->angle_est))
            printf("  estimated angle from the limit subspace: %.2g rad\n", fi->angle_est);
        else /* pca_angle_est: no ratio of shrinking angles above rounding to extrapolate */
            printf("  estimated angle from the limit subspace: none (the last angles do not "
                   "shrink above rounding level)\n");
    }
    printf("  eigenvalues:");
    for (size_t j = 0; j < m->k && j < 10; j++) printf(" %.6g", m->eigval[j]);
    printf("%s\n", m->k > 10 ? " ..." : "");
    printf("  explained variance %.6f, sigma^2 %.6g", explained_var(m), m->sigma2);
    if (r->train) printf(", recon_mse %.6g", r->recon_train);
    if (r->test) printf(" (test %.6g)", r->recon_test);
    printf("\n  PPCA log-likelihood per sample (nats):");
    if (r->train) printf(" train %.6f", r->ll_train);
    if (r->test) printf(" test %.6f", r->ll_test);
    if (!r->train && !r->test) printf(" (no data scored)");
    if (!isnan(fi->ref_angle)) printf("\n  angle to --ref: %.3g rad", fi->ref_angle);
    if (squarem(r))
        printf("\n  SQUAREM: %d cycle%s, %ld E-steps (--accel none: one E-step an iteration)",
               fi->iterations, fi->iterations == 1 ? "" : "s", fi->e_steps);
    if (r->imputed)
        printf("\n  missing values: %zu of %zu in %s, completed by E[x_m | x_o] in %s.imputed.dat",
               r->train->n_miss, r->train->n * r->train->d, r->train->path, r->co.output);
    if (r->imputed && r->far.n_far) {
        char buf[1024];
        printf("\n  note: %s (docs/pca.md, \"Missing values\"); a smaller -k keeps them near the "
               "data",
               lz_far_fill_text(r->train, &r->far, buf, sizeof buf));
    }
    printf("\n  wrote %s.{%scomponents.dat,%s%s%ssummary.tsv}%s%s\n", r->co.output,
           r->co.load ? "" : "trace.dat,", r->train ? "latent.dat," : "",
           r->test ? "latent_test.dat," : "", r->imputed ? "imputed.dat," : "",
           r->co.save ? " and " : "", r->co.save ? r->co.save : "");
}

static void run_free(run *r)
{
    lz_outset_free(r->os);
    lz_data_free(r->train);
    lz_data_free(r->test);
    pca_model_free(r->m);
    free(r->ref);
    free(r->z);
    free(r->zt);
    free(r->imputed);
}

int main(int argc, char **argv)
{
    run r;
    memset(&r, 0, sizeof r);
    int rc = parse_options(&r, argc, argv);
    if (rc >= 0) return rc;
    lz_status st = load_inputs(&r);
    if (!st) st = r.co.load ? load_model(&r) : fit(&r);
    if (!st) st = score(&r);
    if (!st) st = write_outputs(&r);
    if (!st) report(&r);
    if (st) lz_die_msg(PROG, &r.err);
    run_free(&r);
    return st ? 1 : 0;
}
