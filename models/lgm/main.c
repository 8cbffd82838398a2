/* main.c -- lgm_em: fit a linear Gaussian model (factor analysis) by EM.
 *
 *     lgm_em [options] DATA
 *
 * SPEC section 2.  Reads DATA (CSV/TSV/IDX, optionally gzipped), centres it,
 * forms S once, runs EM (exact completion on S, or sampled completion on the
 * data), prints one line an iteration, and writes gnuplot-ready files through
 * one lz_outset committed at the end (a failed run leaves nothing behind).
 * Dimension letters: n samples, d data, k latent.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lgm.h"
#include "lz_cli.h"
#include "lz_data.h"
#include "lz_linalg.h"
#include "lz_out.h"
#include "lz_prob.h"
#include "lz_time.h"

#define PROG "lgm_em"

static const char *DETAILS =
    "Model: z ~ N(0, I_k), x = mu + A z + e, e ~ N(0, D), D diagonal (SPEC section 2).\n"
    "Exact completion iterates on the sample covariance S (O(d^2 k) an iteration);\n"
    "sampled completion draws J values of z per datum from P(z|x) (O(n d k)).\n"
    "ll/N is the log-likelihood per sample in nats.  D_i never goes below the floor\n"
    "dmin x S_ii, a fraction of coordinate i's own variance, so a rescaled column\n"
    "gives the same fit in its new units (a column constant at mu_i: dmin x mu_i^2,\n"
    "or dmin when it is always 0); the run names the coordinates that sit on the\n"
    "floor and why.\n"
    "\n"
    "Files written (PREFIX from -o):\n"
    "  PREFIX.trace.dat        iter ll_train ll_test delta seconds n_floor e_steps\n"
    "                          ll_exact_em (sampled: exact EM from the same start)\n"
    "  PREFIX.A.dat            a1..ak, one row per data coordinate\n"
    "  PREFIX.D.dat            D floored, one row per data coordinate\n"
    "  PREFIX.mean.dat         x1..xd, the data mean\n"
    "  PREFIX.latent.dat       z1..zk [label]: E[z|x] of the training data\n"
    "  PREFIX.latent_test.dat  the same for --test / --split data\n"
    "  PREFIX.samples.dat      x1..xd: --n-samples draws from the fitted model\n"
    "  PREFIX.summary.tsv      model family k n_params ll_train ll_test ... seconds\n";

/* what the per-iteration callback needs */
typedef struct {
    FILE *trace; /* PREFIX.trace.dat (temporary until commit) */
    int quiet;
    int sampled; /* print the exact-EM path beside the sampled one */
} run_ctx;

static int on_iter(const lgm_iter_info *it, void *ud)
{
    run_ctx *rc = ud;
    double row[8] = {it->iter,    it->ll_train,        it->ll_test,         it->delta,
                     it->seconds, (double)it->n_floor, (double)it->e_steps, it->ll_exact_em};
    lz_dat_row(rc->trace, ' ', 8, row);
    if (!rc->quiet) {
        printf("%6d %15.8f %15.8f %12.4e %9.3f %6zu", it->iter, it->ll_train, it->ll_test,
               it->delta, it->seconds, it->n_floor);
        if (rc->sampled) printf(" %15.8f", it->ll_exact_em);
        printf("\n");
        fflush(stdout);
    }
    return 0;
}

/* ---- output files ---- */

static lz_status write_d(lz_outset *os, const char *path, const lgm_model *m, lz_error *err)
{
    FILE *f = lz_outset_open(os, path, err);
    if (!f) return err->status;
    fputs("# D floored\n", f);
    for (size_t i = 0; i < m->d; i++) {
        double row[2] = {m->dg[i], m->dg[i] <= m->floor[i] ? 1.0 : 0.0};
        lz_dat_row(f, ' ', 2, row);
    }
    return LZ_OK;
}

typedef struct {
    const char *model;
    size_t k, n_params;
    double ll_train, ll_test;
    int iterations;
    double seconds;
    /* own columns */
    int converged;
    long e_steps;
    size_t n_floor;
    double dmin;
    size_t d, n_train, n_test;
} summary;

static lz_status write_summary(lz_outset *os, const char *path, const summary *s, lz_error *err)
{
    static const char *const extra[] = {"converged", "e_steps", "n_floor", "dmin",
                                        "d",         "n_train", "n_test"};
    /* exact: no sampling error */
    lz_summary sh = {s->model,   "continuous", s->k,          s->n_params,
                     s->ll_train, s->ll_test,  isnan(s->ll_test) ? NAN : 0.0,
                     "exact",     s->iterations, s->seconds};
    FILE *f = lz_summary_begin(os, path, &sh, sizeof extra / sizeof extra[0], extra, err);
    if (!f) return err->status;
    fprintf(f, "\t%d\t%ld\t%zu\t", s->converged, s->e_steps, s->n_floor);
    lz_put_num(f, s->dmin);
    fprintf(f, "\t%zu\t%zu\t%zu\n", s->d, s->n_train, s->n_test);
    return LZ_OK;
}

/* latent means of centred rows x (n, d) -> PREFIX.<name>.dat */
static lz_status write_latent(lz_outset *os, const char *path, const lgm_model *m, lgm_work *w,
                              const lz_data *data, lz_error *err)
{
    double *z = malloc((data->n ? data->n : 1) * m->k * sizeof *z); /* (n, k) */
    if (!z) return lz_fail(err, LZ_ENOMEM, "%s: out of memory", path);
    lz_status st = lgm_latent(m, w, data->n, data->x, z, err);
    if (!st) st = lz_dat_write_matrix(os, path, "z", data->n, m->k, z, data->y, err);
    free(z);
    return st;
}

/* Say which coordinates sit on the floor (or near it) and why: the
 * likelihood has no maximum inside the model there, so ll/N depends on
 * --dmin.  s (d, d): the second moment of the data (NULL: counts only). */
static lz_status report_floor(const lgm_model *m, const double *s, const lz_data *data,
                              const char *prefix, lz_error *err)
{
    size_t d = m->d, nf = lgm_n_floor(m);
    if (nf)
        printf("D on the floor at %zu of %zu coordinates (ll/N depends on --dmin there)\n", nf, d);
    else
        printf("D on the floor: none\n");
    if (!s || !data) return LZ_OK;
    lgm_floor_note *notes = malloc(d * sizeof *notes);
    if (!notes) return lz_fail(err, LZ_ENOMEM, "out of memory");
    size_t nn = 0;
    lz_status st = lgm_floor_explain(m, s, notes, &nn, err);
    if (!st && nn)
        printf("the likelihood has no maximum inside the model: it rises without bound as D_i "
               "goes to 0 at\n");
    enum { SHOWN = 20 };
    for (size_t q = 0; !st && q < nn && q < SHOWN; q++) {
        const lgm_floor_note *no = &notes[q];
        char col[160], other[160];
        printf("  %s: ", lz_data_colname(data, no->i, col, sizeof col));
        switch (no->kind) {
        case LGM_FLOOR_CONSTANT: printf("constant in the training data"); break;
        case LGM_FLOOR_DEPENDENT:
            printf("a linear function of");
            for (size_t p = 0; p < no->n_partner; p++)
                printf("%s %s", p ? "," : "",
                       lz_data_colname(data, no->partner[p], other, sizeof other));
            printf(" (duplicated or collinear columns: drop one)");
            break;
        case LGM_FLOOR_HEYWOOD:
            printf("explained by the %zu factor%s alone, a Heywood case", m->k, m->k == 1 ? "" : "s");
            break;
        }
        if (no->on_floor)
            printf("; D_i on the floor\n");
        else
            printf("; D_i = %.3g S_ii and falling\n", m->dg[no->i] / s[no->i * d + no->i]);
    }
    if (!st && nn > SHOWN) printf("  ... (the floored ones in %s.D.dat)\n", prefix);
    free(notes);
    return st;
}

int main(int argc, char **argv)
{
    lgm_config cfg;
    lgm_config_default(&cfg);
    lz_common_opts co;
    lz_common_defaults(&co, "out/lgm");
    int n_samples = 64;
    int accel = 0; /* index into "squarem|none" */
    lz_opt opts[] = {
        {"k", 'k', LZ_OPT_INT, &cfg.k, "K", "latent dimension, 1 <= K < d"},
        {"completion", 0, LZ_OPT_CHOICE, &cfg.completion, "exact|sampled",
         "E-step: exact posterior moments (option 1) or J draws from P(z|x) (option 2)"},
        {"samples", 0, LZ_OPT_INT, &cfg.samples, "J", "draws of z per datum, sampled completion"},
        {"dmin", 0, LZ_OPT_REAL, &cfg.dmin, "V",
         "floor on D: D_i >= V x S_ii, a fraction of coordinate i's own variance (a "
         "coordinate constant at mu_i: V mu_i^2, or V when it is 0), so rescaling a column "
         "rescales its floor"},
        {"init", 0, LZ_OPT_CHOICE, &cfg.init, "pca|random",
         "initial A: PPCA loadings of the standardised data (top-k eigenvectors of the "
         "correlation matrix), or A_ic ~ N(0, S_ii/k); D = diag S"},
        {"tol", 0, LZ_OPT_REAL, &cfg.tol, "T",
         "stop when ll/N rises by less than T nats an iteration (sampled: over 10-iteration "
         "means)"},
        {"max-iter", 0, LZ_OPT_INT, &cfg.max_iter, "N",
         "at most N iterations (printed lines; with SQUAREM a line is one cycle)"},
        {"accel", 0, LZ_OPT_CHOICE, &accel, "squarem|none",
         "exact EM: SQUAREM extrapolation kept monotone, or plain EM steps"},
        {"n-samples", 0, LZ_OPT_INT, &n_samples, "N",
         "draws from the fitted model in PREFIX.samples.dat"},
        LZ_COMMON_OPTIONS(&co),
        {0},
    };
    lz_cli cli = {
        PROG,
        "[options] DATA",
        "Fit a linear Gaussian model (factor analysis) by EM, printing ll/N an iteration.",
        DETAILS,
        opts,
        0,
        1,
        0};
    const char *path;
    int rc = lz_cli_start(&cli, &co, argc, argv, &path);
    if (rc >= 0) return rc;
    lz_error err;
    lz_error_clear(&err);
    cfg.accelerate = accel == 0;
    cfg.seed = co.seed;
    if (lgm_check_config(&cfg, 0, &err)) {
        lz_die_msg(PROG, &err);
        return 1;
    }
    if (n_samples < 0) {
        lz_fail(&err, LZ_EINVAL, "--n-samples %d: expected >= 0", n_samples);
        lz_die_msg(PROG, &err);
        return 1;
    }
    lz_set_threads(co.threads);
    lz_outset_install_signal_cleanup();

    lz_data *train = NULL, *test = NULL;
    lgm_model *m = NULL;
    lgm_work *w = NULL;
    lz_outset *os = NULL;
    double *s = NULL, *s_test = NULL, *var = NULL, *tmp = NULL, *draws = NULL;
    gsl_rng *rs = NULL;
    int sampled = cfg.completion == LGM_SAMPLED;
    summary sum;
    memset(&sum, 0, sizeof sum);
    double ll_train = NAN, ll_test = NAN;
    char pbuf[4096];
    lz_status st = lz_load_inputs(&co, path, 2, &train, &test, &err);
    if (!st && co.load) {
        st = lgm_model_read(co.load, &m, &err);
        if (!st) sampled = m->completion == LGM_SAMPLED;
        if (!st && train && train->d != m->d)
            st = lz_fail(&err, LZ_EFORMAT, "%s:1: %zu feature columns: expected %zu as in model %s",
                         train->path, train->d, m->d, co.load);
        if (!st && test && test->d != m->d)
            st = lz_fail(&err, LZ_EFORMAT, "%s:1: %zu feature columns: expected %zu as in model %s",
                         test->path, test->d, m->d, co.load);
    } else if (!st) {
        st = lgm_check_config(&cfg, train->d, &err);
        if (st) lz_error_prefix(&err, "%s", train->path); /* "data.csv: -k 70: expected ..." */
        if (!st && !(m = lgm_model_alloc(train->d, (size_t)cfg.k)))
            st = lz_fail(&err, LZ_ENOMEM, "out of memory");
        if (!st) m->completion = cfg.completion;
    }
    size_t d = m ? m->d : 0, k = m ? m->k : 0;
    if (!st && !(os = lz_outset_alloc())) st = lz_fail(&err, LZ_ENOMEM, "out of memory");
    if (!st && !(w = lgm_work_alloc(d, k, 0))) st = lz_fail(&err, LZ_ENOMEM, "out of memory");
    if (!st && (!(s = malloc(d * d * sizeof *s)) || !(s_test = malloc(d * d * sizeof *s_test)) ||
                !(var = malloc(d * sizeof *var))))
        st = lz_fail(&err, LZ_ENOMEM, "out of memory");
    if (st) goto done;

    sum.k = k;
    sum.d = d;
    sum.ll_train = sum.ll_test = NAN;
    sum.n_train = train ? train->n : 0;
    sum.n_test = test ? test->n : 0;

    if (!co.load) {
        /* ---- train ---- */
        if (!co.quiet) {
            printf("%s: %s: %zu samples x %zu features%s; k = %d, %s completion", PROG, train->path,
                   train->n, train->d, train->y ? " (+ labels)" : "", cfg.k,
                   sampled ? "sampled" : "exact");
            if (sampled)
                printf(" (J = %d)", cfg.samples);
            else
                printf("%s", cfg.accelerate ? " (SQUAREM)" : "");
            printf(", init %s", cfg.init == LGM_INIT_PCA ? "pca" : "random");
            if (test && co.split > 0)
                printf("; --split %g: %zu held-out samples", co.split, test->n);
            else if (test)
                printf("; test %s: %zu samples", test->path, test->n);
            printf("\n");
            lz_print_blas(stdout, lz_get_threads(), 0);
        }
        double t0 = lz_now();
        /* mu <- mean of DATA, the variances checked (values too large;
         * rounding noise is no variance); centre DATA and the test set by mu */
        st = lz_data_moments(train, m->mu, var, NULL, &err);
        if (st) goto done;
        lz_center(train->n, d, train->x, m->mu);
        if (test) lz_center(test->n, d, test->x, m->mu);
        /* S <- (1/n) sum x x^T of the centred data, once (docs/lgm.md); the
         * rows and columns of constant coordinates exactly 0 */
        for (size_t i = 0; i < d; i++) {
            if (var[i] > 0) continue;
            for (size_t r = 0; r < train->n; r++) train->x[r * d + i] = 0;
        }
        st = lz_covariance(train->n, d, train->x, NULL, s, &err);
        if (!st && test) st = lz_covariance(test->n, d, test->x, NULL, s_test, &err);
        FILE *trace = NULL;
        if (!st) st = lz_path(pbuf, sizeof pbuf, co.output, "trace.dat", &err);
        if (!st && !(trace = lz_outset_open(os, pbuf, &err))) st = err.status;
        if (st) goto done;
        fputs("# iter ll_train ll_test delta seconds n_floor e_steps ll_exact_em\n", trace);
        if (!co.quiet) {
            printf("floor on D: D_i >= %g x S_ii, each coordinate's own variance (--dmin)\n",
                   cfg.dmin);
            if (!sampled && cfg.accelerate)
                printf("SQUAREM: each line is one cycle of 3 or more EM steps (--accel none: one "
                       "EM step a line)\n");
            printf("%6s %15s %15s %12s %9s %6s", "iter", "ll/N train", "ll/N test", "delta",
                   "seconds", "floor");
            printf(sampled ? " %15s\n" : "\n", "exact EM path");
        }
        run_ctx ctx = {trace, co.quiet, sampled};
        lgm_result res;
        st = lgm_fit(&cfg, train->n, train->x, s, test ? s_test : NULL, m, t0, on_iter, &ctx, &res,
                     &err);
        if (st) {
            lz_error_prefix(&err, "%s", train->path);
            goto done;
        }
        ll_train = res.ll_train;
        ll_test = res.ll_test;
        sum.iterations = res.iterations;
        sum.seconds = res.seconds;
        sum.converged = res.converged;
        sum.e_steps = res.e_steps;
        if (res.converged)
            printf("converged: ll/N rose by less than %g after %d iterations (%ld E-steps), "
                   "%.3f s\n",
                   cfg.tol, res.iterations, res.e_steps, res.seconds);
        else
            printf("NOT converged: --max-iter %d reached before ll/N rose by less than --tol %g "
                   "(%.3f s)\n",
                   cfg.max_iter, cfg.tol, res.seconds);
    } else {
        /* ---- load: score DATA / --test under the model ---- */
        if (train) {
            lz_center(train->n, d, train->x, m->mu);
            st = lz_covariance(train->n, d, train->x, NULL, s, &err);
            if (!st) st = lgm_loglik(m, s, w, &ll_train, &err);
        }
        if (!st && test) {
            lz_center(test->n, d, test->x, m->mu);
            st = lz_covariance(test->n, d, test->x, NULL, s_test, &err);
            if (!st) st = lgm_loglik(m, s_test, w, &ll_test, &err);
        }
        if (st) goto done;
        printf("%s: model %s: d = %zu, k = %zu, %s completion\n", PROG, co.load, d, k,
               sampled ? "sampled" : "exact");
    }
    sum.model = sampled ? "lgm-sampled" : "lgm-exact";
    sum.n_params = lgm_n_params(m);
    sum.ll_train = ll_train;
    sum.ll_test = ll_test;
    sum.n_floor = lgm_n_floor(m);
    sum.dmin = co.load ? NAN : cfg.dmin;

    /* ---- outputs, one set committed at the end ---- */
    st = lz_path(pbuf, sizeof pbuf, co.output, "A.dat", &err);
    if (!st) st = lz_dat_write_matrix(os, pbuf, "a", d, k, m->a, NULL, &err);
    if (!st) st = lz_path(pbuf, sizeof pbuf, co.output, "D.dat", &err);
    if (!st) st = write_d(os, pbuf, m, &err);
    if (!st) st = lz_path(pbuf, sizeof pbuf, co.output, "mean.dat", &err);
    if (!st) st = lz_dat_write_matrix(os, pbuf, "x", 1, d, m->mu, NULL, &err);
    if (!st && train) {
        st = lz_path(pbuf, sizeof pbuf, co.output, "latent.dat", &err);
        if (!st) st = write_latent(os, pbuf, m, w, train, &err);
    }
    if (!st && test) {
        st = lz_path(pbuf, sizeof pbuf, co.output, "latent_test.dat", &err);
        if (!st) st = write_latent(os, pbuf, m, w, test, &err);
    }
    if (!st && n_samples > 0) {
        /* draws from their own stream, so a loaded model draws the same samples */
        rs = lz_rng_alloc_stream(co.seed, 1);
        tmp = malloc(k * sizeof *tmp);
        draws = malloc((size_t)n_samples * d * sizeof *draws); /* (n_samples, d) */
        if (!rs || !tmp || !draws) st = lz_fail(&err, LZ_ENOMEM, "out of memory");
        if (!st) {
            lgm_sample(m, rs, (size_t)n_samples, draws, tmp);
            st = lz_path(pbuf, sizeof pbuf, co.output, "samples.dat", &err);
        }
        if (!st) st = lz_dat_write_matrix(os, pbuf, "x", (size_t)n_samples, d, draws, NULL, &err);
    }
    if (!st) st = lz_path(pbuf, sizeof pbuf, co.output, "summary.tsv", &err);
    if (!st) st = write_summary(os, pbuf, &sum, &err);
    if (!st && co.save && (st = lgm_model_write(m, os, co.save, &err)))
        lz_error_prefix(&err, "--save");
    if (!st) st = lz_outset_commit(os, &err);
    if (st) goto done;

    /* ---- final report ---- */
    if (train) printf("ll/N train %.8f  ", ll_train);
    if (test) printf("ll/N test %.8f  ", ll_test);
    printf("%s(k = %zu, %zu parameters)\n", train || test ? "nats per sample " : "", k,
           sum.n_params);
    if ((st = report_floor(m, train ? s : NULL, train, co.output, &err))) goto done;
    printf("wrote %s.{%sA,D,mean%s%s%s}.dat and %s.summary.tsv%s%s\n", co.output,
           co.load ? "" : "trace,", train ? ",latent" : "", test ? ",latent_test" : "",
           n_samples > 0 ? ",samples" : "", co.output, co.save ? "; model " : "",
           co.save ? co.save : "");

done:
    if (st) lz_die_msg(PROG, &err);
    lz_outset_free(os);
    lz_data_free(train);
    lz_data_free(test);
    lgm_model_free(m);
    lgm_work_free(w);
    free(s);
    free(s_test);
    free(var);
    free(tmp);
    free(draws);
    if (rs) gsl_rng_free(rs);
    return st ? 1 : 0;
}
