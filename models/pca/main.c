/* main.c -- pca_iter: PCA by iterative projection (SPEC section 1).
 *
 *     pca_iter [options] DATA
 *
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

static const char *PROG = "pca_iter";
static const char *MODE_NAME[] = {"data", "cov", "auto"};

/* The state the per-iteration callback needs. */
typedef struct {
    FILE *trace;  /* PREFIX.trace.dat (temporary until commit) */
    int quiet;
    int has_ref;
} run_ctx;

static int on_iter(const pca_iter_info *it, void *vctx)
{
    run_ctx *ctx = vctx;
    double row[6] = {(double)it->iter, it->recon_mse, it->explained_var, it->max_angle,
                     it->ref_angle, it->seconds};
    lz_dat_row(ctx->trace, ' ', 6, row);
    if (!ctx->quiet) {
        printf("iter %4d  recon_mse %-13.7g explained_var %.7f  max_angle %-10.3e", it->iter,
               it->recon_mse, it->explained_var, it->max_angle);
        if (ctx->has_ref) printf("  ref_angle %-10.3e", it->ref_angle);
        printf("  %8.3f s\n", it->seconds);
        fflush(stdout);
    }
    return 0;
}

/* Singular values of --ref below this fraction of the largest count as 0. */
#define PCA_REF_RTOL 1e-10

/* Read --ref FILE: at least k rows of d numbers, or of d + 1 with the
 * eigenvalue first (the layout of PREFIX.components.dat), whose first k rows
 * span k dimensions.  ref (k, d). */
static lz_status read_ref(const char *path, size_t k, size_t d, double **ref, lz_error *err)
{
    lz_data *r = NULL;
    lz_read_opts ro = {LZ_LABEL_NONE, k};
    lz_status st = lz_data_read(path, &ro, &r, err);
    if (st) {
        lz_error_prefix(err, "--ref");
        return st;
    }
    if (r->d != d && r->d != d + 1) {
        st = lz_fail(err, LZ_EFORMAT, "--ref %s:1: %zu columns: expected %zu (or %zu with the "
                     "eigenvalue first)", path, r->d, d, d + 1);
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

/* What goes into the summary row. */
typedef struct {
    double ll_train, ll_test, recon_train, recon_test;
    int iterations, converged;
    double seconds, max_angle, ref_angle, angle_est;
    const char *mode;
    size_t p;
} summary_row;

static lz_status write_summary(lz_outset *os, const char *path, const pca_model *m,
                               const summary_row *s, lz_error *err)
{
    static const char *const extra[] = {"mode",      "p",         "converged", "max_angle",
                                        "angle_est", "ref_angle", "recon_mse", "recon_mse_test",
                                        "explained_var", "sigma2"};
    /* exact: no standard error */
    lz_summary sh = {"pca",       "continuous", m->k,          pca_n_params(m),
                     s->ll_train, s->ll_test,   isnan(s->ll_test) ? NAN : 0.0,
                     "exact",     s->iterations, s->seconds};
    FILE *f = lz_summary_begin(os, path, &sh, sizeof extra / sizeof extra[0], extra, err);
    if (!f) return err->status;
    fprintf(f, "\t%s\t%zu\t%d\t", s->mode, s->p, s->converged);
    double tail[6] = {s->max_angle, s->angle_est, s->ref_angle, s->recon_train, s->recon_test, NAN};
    double top = 0;
    for (size_t j = 0; j < m->k; j++) top += m->eigval[j];
    tail[5] = top / m->total_var;
    for (int i = 0; i < 6; i++) {
        lz_put_num(f, tail[i]);
        fputc('\t', f);
    }
    lz_put_num(f, m->sigma2);
    fputc('\n', f);
    return LZ_OK;
}

/* A data set given with --load must have the model's columns. */
static lz_status check_against_model(const lz_data *dt, const pca_model *m, const char *model,
                                     lz_error *err)
{
    if (dt && dt->d != m->d)
        return lz_fail(err, LZ_EFORMAT, "%s:1: %zu feature columns: expected %zu as in the model %s",
                       dt->path, dt->d, m->d, model);
    return LZ_OK;
}

int main(int argc, char **argv)
{
    pca_config cfg;
    pca_config_default(&cfg);
    lz_common_opts c;
    lz_common_defaults(&c, "out/pca");
    const char *ref_path = NULL;

    const lz_opt opts[] = {
        {"k", 'k', LZ_OPT_INT, &cfg.k, "K", "principal components kept, 1 <= K < d"},
        {"mode", 0, LZ_OPT_CHOICE, &cfg.mode, "data|cov|auto",
         "data: iterate on X, O(n d p) an iteration; cov: on S, O(n d^2) once, then "
         "O(d^2 p); auto: the cheaper"},
        {"oversample", 0, LZ_OPT_INT, &cfg.oversample, "Q",
         "iterate p = K + Q columns, keep the top K (0: the seed's plain iteration; "
         "-1: Q = max(10, K))"},
        {"tol", 0, LZ_OPT_REAL, &cfg.tol, "RAD",
         "stop when the largest principal angle between successive K-subspaces is <= RAD"},
        {"max-iter", 0, LZ_OPT_INT, &cfg.max_iter, "N", "iterations at most"},
        {"ref", 0, LZ_OPT_STR, &ref_path, "FILE",
         "reference components (K rows; e.g. LAPACK's): trace column ref_angle"},
        LZ_COMMON_OPTIONS(&c),
        {0},
    };
    const lz_cli cli = {
        PROG, "[options] DATA",
        "Principal component analysis by the seed's iterative projection\n"
        "(Z <- W+ X, W <- X Z+), scored by the probabilistic PCA density.",
        "Files written (PREFIX from -o):\n"
        "  PREFIX.trace.dat       iter recon_mse explained_var max_angle ref_angle seconds\n"
        "  PREFIX.components.dat  eigenvalue x1..xd: one component a row, largest first\n"
        "  PREFIX.latent.dat      z1..zK [label]: projections of DATA\n"
        "  PREFIX.latent_test.dat z1..zK [label]: projections of the test set\n"
        "  PREFIX.summary.tsv     model, k, PPCA log-likelihood per sample, ...\n"
        "With --load MODEL: no training; DATA (optional) and --test are scored and\n"
        "components, latent and summary are written (-k, --mode, --tol, ... are ignored).\n",
        opts, 0, 1, 0};

    const char *data_path;
    int rc = lz_cli_start(&cli, &c, argc, argv, &data_path);
    if (rc >= 0) return rc;
    lz_error err;
    lz_error_clear(&err);
    if (!c.load && pca_config_check(&cfg, 0, &err)) {
        lz_die_msg(PROG, &err);
        return 1;
    }
    lz_set_threads(c.threads);
    lz_outset_install_signal_cleanup();

    lz_data *train = NULL, *test = NULL;
    pca_model *m = NULL;
    double *ref = NULL, *z = NULL, *zt = NULL;
    lz_outset *os = NULL;
    int status = 1;
    char path[4096];
    summary_row sr = {NAN, NAN, NAN, NAN, 0, 0, 0.0, NAN, NAN, NAN, "none", 0};

    if (lz_load_inputs(&c, data_path, c.load ? 1 : 2, &train, &test, &err)) goto out;
    os = lz_outset_alloc();
    if (!os) {
        lz_fail(&err, LZ_ENOMEM, "out of memory");
        goto out;
    }

    if (c.load) {
        /* ---- score with a saved model ---- */
        if (pca_model_read(c.load, &m, &err)) goto out;
        if (check_against_model(train, m, c.load, &err) ||
            check_against_model(test, m, c.load, &err))
            goto out;
        sr.mode = "loaded";
        sr.converged = 1;
        if (!c.quiet)
            printf("%s: model %s: k = %zu of d = %zu\n", PROG, c.load, m->k, m->d);
    } else {
        /* ---- train ---- */
        const size_t n = train->n, d = train->d;
        if (pca_config_check(&cfg, d, &err)) goto out;
        /* values too large for a variance are an error; a warning when the
         * columns' scales differ by orders of magnitude (PCA depends on units) */
        double *mv = malloc(2 * d * sizeof *mv); /* (2, d) mean, variance */
        if (!mv) {
            lz_fail(&err, LZ_ENOMEM, "out of memory");
            goto out;
        }
        int bad = lz_data_moments(train, mv, mv + d, NULL, &err) != LZ_OK;
        if (!bad && !c.quiet) lz_note_spread(train, mv + d, "PCA");
        free(mv);
        if (bad) goto out;
        if (ref_path && read_ref(ref_path, (size_t)cfg.k, d, &ref, &err)) goto out;
        m = pca_model_alloc(d, (size_t)cfg.k);
        if (!m) {
            lz_fail(&err, LZ_ENOMEM, "out of memory");
            goto out;
        }
        size_t p = pca_block_size(&cfg, d);
        if (cfg.mode == PCA_MODE_AUTO) cfg.mode = pca_choose_mode(n, d, p, cfg.max_iter);
        if (lz_path(path, sizeof path, c.output, "trace.dat", &err)) goto out;
        run_ctx ctx = {NULL, c.quiet, ref != NULL};
        if (!(ctx.trace = lz_outset_open(os, path, &err))) goto out;
        static const char *trace_cols[] = {"iter", "recon_mse", "explained_var", "max_angle",
                                           "ref_angle", "seconds"};
        lz_dat_header(ctx.trace, ' ', 6, trace_cols);
        if (!c.quiet) {
            printf("%s: %zu x %zu from %s, k = %d, mode %s on %zu columns, tol %g rad\n", PROG, n,
                   d, train->path, cfg.k, MODE_NAME[cfg.mode], p, cfg.tol);
            lz_print_blas(stdout, lz_get_threads(), 0);
        }
        pca_fit_info fi;
        if (pca_fit(&cfg, n, d, train->x, ref, m, &fi, on_iter, &ctx, &err)) {
            if (err.status == LZ_ENUMERIC) lz_error_prefix(&err, "%s", train->path);
            goto out;
        }
        sr.iterations = fi.iterations;
        sr.converged = fi.converged;
        sr.seconds = fi.seconds;
        sr.max_angle = fi.max_angle;
        sr.ref_angle = fi.ref_angle;
        sr.angle_est = fi.angle_est;
        sr.mode = MODE_NAME[fi.mode];
        sr.p = fi.p;
    }

    /* ---- score: DATA (centred by pca_fit, or here with the loaded mean)
     * and the test set, both centred by the TRAINING mean ---- */
    if (train) {
        if (c.load) pca_prepare(m, train->n, train->x);
        z = malloc(train->n * m->k * sizeof *z);
        if (!z) {
            lz_fail(&err, LZ_ENOMEM, "out of memory");
            goto out;
        }
        if (pca_score(m, train->n, train->x, z, &sr.recon_train, &sr.ll_train, &err))
            goto out;
    }
    if (test) {
        pca_prepare(m, test->n, test->x);
        zt = malloc(test->n * m->k * sizeof *zt);
        if (!zt) {
            lz_fail(&err, LZ_ENOMEM, "out of memory");
            goto out;
        }
        if (pca_score(m, test->n, test->x, zt, &sr.recon_test, &sr.ll_test, &err))
            goto out;
    }

    /* ---- every output through one set, committed at the end ---- */
    if (lz_path(path, sizeof path, c.output, "components.dat", &err) ||
        write_components(os, path, m, &err))
        goto out;
    if (train && (lz_path(path, sizeof path, c.output, "latent.dat", &err) ||
                  lz_dat_write_matrix(os, path, "z", train->n, m->k, z, train->y, &err)))
        goto out;
    if (test && (lz_path(path, sizeof path, c.output, "latent_test.dat", &err) ||
                 lz_dat_write_matrix(os, path, "z", test->n, m->k, zt, test->y, &err)))
        goto out;
    if (lz_path(path, sizeof path, c.output, "summary.tsv", &err) ||
        write_summary(os, path, m, &sr, &err))
        goto out;
    if (c.save && pca_model_write(m, os, c.save, &err)) {
        lz_error_prefix(&err, "--save");
        goto out;
    }
    if (lz_outset_commit(os, &err)) goto out;

    /* ---- final report ---- */
    if (!c.load)
        printf("%s: %s after %d iteration%s (max_angle %.3g rad, tol %g), mode %s on %zu "
               "columns, %.3f s\n"
               "  estimated angle from the limit subspace: %.2g rad\n",
               PROG, sr.converged ? "converged" : "NOT converged (--max-iter reached)",
               sr.iterations, sr.iterations == 1 ? "" : "s", sr.max_angle, cfg.tol, sr.mode,
               sr.p, sr.seconds, sr.angle_est);
    printf("  eigenvalues:");
    for (size_t j = 0; j < m->k && j < 10; j++) printf(" %.6g", m->eigval[j]);
    printf("%s\n", m->k > 10 ? " ..." : "");
    {
        double top = 0;
        for (size_t j = 0; j < m->k; j++) top += m->eigval[j];
        printf("  explained variance %.6f, sigma^2 %.6g", top / m->total_var, m->sigma2);
    }
    if (train) printf(", recon_mse %.6g", sr.recon_train);
    if (test) printf(" (test %.6g)", sr.recon_test);
    printf("\n  PPCA log-likelihood per sample (nats):");
    if (train) printf(" train %.6f", sr.ll_train);
    if (test) printf(" test %.6f", sr.ll_test);
    if (!train && !test) printf(" (no data scored)");
    if (!isnan(sr.ref_angle)) printf("\n  angle to --ref: %.3g rad", sr.ref_angle);
    printf("\n  wrote %s.{%scomponents.dat,%s%ssummary.tsv}%s%s\n", c.output,
           c.load ? "" : "trace.dat,", train ? "latent.dat," : "", test ? "latent_test.dat," : "",
           c.save ? " and " : "", c.save ? c.save : "");
    status = 0;

out:
    if (status) lz_die_msg(PROG, &err);
    lz_outset_free(os);
    lz_data_free(train);
    lz_data_free(test);
    pca_model_free(m);
    free(ref);
    free(z);
    free(zt);
    return status;
}
