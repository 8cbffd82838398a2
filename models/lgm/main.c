/* main.c -- lgm_em: fit a linear Gaussian model (factor analysis) by EM
 * (docs/lgm.md).
 *
 *     lgm_em [options] DATA
 *
 * options -> data -> checks -> fit (or --load) -> evaluate -> write every
 * file through one lz_outset committed at the end -> final report.
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
    "Model: z ~ N(0, I_k), x = mu + A z + e, e ~ N(0, D), D diagonal (docs/lgm.md).\n"
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
    "  PREFIX.imputed.dat      x1..xd [label]: DATA with each missing value replaced\n"
    "                          by E[x_m | x_o] (when DATA has missing values)\n"
    "  PREFIX.summary.tsv      model family k n_params ll_train ll_test ... seconds\n"
    "\n"
    "Missing values (an empty field, NA, NaN, ?, --missing TOKEN): EM completes them.\n"
    "ll/N is then the log-likelihood of the observed values of each row, and mu, A\n"
    "and D are fitted together (docs/lgm.md, \"Missing entries\").\n"
    "\n"
    "Examples:\n"
    "  lgm_em --label-col last data/digits.csv            # k = 2, exact EM, out/lgm.*\n"
    "  lgm_em -k 10 --split 0.2 data.csv                  # watch ll_test\n"
    "  lgm_em --completion sampled --samples 10 data.csv  # Monte-Carlo EM\n"
    "  gnuplot -c plots/trace.gp out/lgm                  # ll/N against the iteration\n";

/* random stream of --seed for the samples file (lgm_fit uses stream 0), so a
 * loaded model draws the same samples */
#define LGM_STREAM_SAMPLES 1

/* everything a run holds */
typedef struct {
    lgm_config cfg;
    lz_common_opts co;
    int n_samples, accel; /* accel: index into "squarem|none" */
    int k;                /* -k, or LZ_UNSET_INT: 2, or 1 for data of 2 columns */
    const char *data_path;
    lz_data *train, *test;
    lgm_model *m;
    lgm_work *w;
    double *s, *s_test;        /* (d, d) second moments of the centred train / test data */
    lgm_incomplete *itr, *ite; /* the data sets by pattern, when scored as incomplete */
    double *raw, *raw_test;    /* (n, d) DATA and the test set in their units (incomplete
                                  runs); raw gets E[x_m | x_o] for PREFIX.imputed.dat */
    lgm_result res;            /* the fit (zeros with --load) */
    double ll_train, ll_test;
    lz_outset *os;
    FILE *trace; /* PREFIX.trace.dat, written during the fit */
    lz_error err;
    lz_far_fill far; /* completed values far outside the data (lz_far_fills) */
} run;

/* ---------------------------------------------------------------- options */

static int parse_options(run *r, int argc, char **argv)
{
    lgm_config_default(&r->cfg);
    lz_common_defaults(&r->co, "out/lgm");
    r->co.allow_missing = 1; /* EM completes them */
    r->n_samples = 64;
    r->k = LZ_UNSET_INT;
    lz_opt opts[] = {
        {"k", 'k', LZ_OPT_INT, &r->k, "K",
         "latent dimension, 1 <= K < d (default: 2, or 1 for data of 2 columns)"},
        {"completion", 0, LZ_OPT_CHOICE, &r->cfg.completion, "exact|sampled",
         "E-step: exact posterior moments (option 1) or J draws from P(z|x) (option 2)"},
        {"samples", 0, LZ_OPT_INT, &r->cfg.samples, "J",
         "draws of z per datum, sampled completion (1..10000)"},
        {"dmin", 0, LZ_OPT_REAL, &r->cfg.dmin, "V",
         "floor on D: D_i >= V x S_ii, a fraction of coordinate i's own variance (a "
         "coordinate constant at mu_i: V mu_i^2, or V when it is 0), so rescaling a column "
         "rescales its floor"},
        {"init", 0, LZ_OPT_CHOICE, &r->cfg.init, "pca|random|smc|best",
         "start: pca, PPCA loadings of the standardised data and D = diag S; random, A_ic ~ "
         "N(0, S_ii/k) and D = diag S; smc, D from the squared multiple correlations and "
         "the loadings that maximise the likelihood for it (R's factanal); best, "
         "10 EM iterations from pca and from smc, then on from the higher ll/N"},
        {"tol", 0, LZ_OPT_REAL, &r->cfg.tol, "T",
         "stop when ll/N rises by less than T nats an iteration (sampled: over 10-iteration "
         "means)"},
        {"max-iter", 0, LZ_OPT_INT, &r->cfg.max_iter, "N",
         "at most N iterations (printed lines; with SQUAREM a line is one cycle)"},
        {"accel", 0, LZ_OPT_CHOICE, &r->accel, "squarem|none",
         "exact EM: SQUAREM extrapolation kept monotone, or plain EM steps"},
        {"n-samples", 0, LZ_OPT_INT, &r->n_samples, "N",
         "draws from the fitted model in PREFIX.samples.dat (0..1000000)"},
        LZ_COMMON_OPTIONS(&r->co),
        {0},
    };
    lz_cli cli = {.prog = PROG,
                  .synopsis = "[options] DATA",
                  .summary = "Fit a linear Gaussian model (factor analysis) by EM, printing ll/N "
                             "an iteration.",
                  .details = DETAILS,
                  .opts = opts,
                  .min_pos = 0,
                  .max_pos = 1};
    int rc = lz_cli_start(&cli, &r->co, argc, argv, &r->data_path);
    if (rc >= 0) return rc;
    r->cfg.accelerate = r->accel == 0;
    r->cfg.seed = r->co.seed;
    if (r->k != LZ_UNSET_INT) r->cfg.k = r->k;
    if (!lgm_config_check(&r->cfg, 0, &r->err)) lz_check_n_samples(r->n_samples, &r->err);
    if (r->err.status) {
        lz_die_msg(PROG, &r->err);
        return 1;
    }
    lz_set_threads(r->co.threads);
    lz_outset_install_signal_cleanup();
    return -1;
}

/* ------------------------------------------------------------------- data */

/* the model's arrays and the workspace, once its shape is known */
static lz_status alloc_work(run *r)
{
    size_t d = r->m->d;
    double bytes = 3.0 * (double)d * (double)d * sizeof(double); /* S, S_test, the workspace's */
    if (!lz_fits_memory(bytes) || !(r->w = lgm_work_alloc(d, r->m->k, 0)) ||
        !(r->s = malloc(d * d * sizeof *r->s)) ||
        !(r->s_test = malloc(d * d * sizeof *r->s_test)) || !(r->os = lz_outset_alloc()))
        return lz_fail(&r->err, LZ_ENOMEM,
                       "d = %zu columns: out of memory for the d x d covariance matrices (%.3g GB "
                       "or more): expected fewer columns (pca_iter, nlgm_vae and rbm_cd keep no "
                       "d x d matrix)",
                       d, bytes / 1e9);
    return LZ_OK;
}

/* DATA, --test or --split; with --load the model and the data's width */
static lz_status load_inputs(run *r)
{
    lz_status st = lz_load_inputs(&r->co, r->data_path, 2, &r->train, &r->test, &r->err);
    if (st) return st;
    if (r->co.load) {
        if ((st = lgm_model_read(r->co.load, &r->m, &r->err)) ||
            (st = lz_data_check_width(r->train, r->m->d, r->co.load, &r->err)) ||
            (st = lz_data_check_width(r->test, r->m->d, r->co.load, &r->err)))
            return st;
    } else {
        if (r->k == LZ_UNSET_INT) r->cfg.k = (int)lz_default_k(r->train->d, (size_t)r->cfg.k);
        if ((st = lgm_config_check(&r->cfg, r->train->d, &r->err))) {
            lz_error_prefix(&r->err, "%s", r->train->path); /* "data.csv: -k 70: ..." */
            return st;
        }
        if (!(r->m = lgm_model_alloc(r->train->d, (size_t)r->cfg.k)))
            return lz_fail(&r->err, LZ_ENOMEM, "out of memory");
        r->m->completion = r->cfg.completion;
    }
    return alloc_work(r);
}

/* -------------------------------------------------------------------- fit */

/* one line an iteration: PREFIX.trace.dat, and stdout unless --quiet */
static int on_iter(const lgm_iter_info *it, void *ud)
{
    const run *r = ud;
    double row[8] = {it->iter,    it->ll_train,        it->ll_test,         it->delta,
                     it->seconds, (double)it->n_floor, (double)it->e_steps, it->ll_exact_em};
    lz_dat_row(r->trace, ' ', 8, row);
    if (!r->co.quiet && it->iter == 0 && r->cfg.init == LGM_INIT_BEST) {
        /* which start the fit goes on from (lgm_start) */
        const double *l = r->res.init_ll;
        if (isnan(l[1]))
            printf("start: pca (the smc start cannot be made for these data)\n");
        else
            printf("start: %s, ll/N %.8f after %d EM iterations from each start (%s: %.8f)\n",
                   r->res.init == LGM_INIT_SMC ? "smc" : "pca",
                   r->res.init == LGM_INIT_SMC ? l[1] : l[0], LGM_BEST_ITERS,
                   r->res.init == LGM_INIT_SMC ? "pca" : "smc",
                   r->res.init == LGM_INIT_SMC ? l[0] : l[1]);
    }
    if (!r->co.quiet) {
        printf("%6d %15.8f %15.8f %12.4e %9.3f %6zu", it->iter, it->ll_train, it->ll_test,
               it->delta, it->seconds, it->n_floor);
        if (r->cfg.completion == LGM_SAMPLED) printf(" %15.8f", it->ll_exact_em);
        printf("\n");
        fflush(stdout);
    }
    return 0;
}

static void print_start(const run *r)
{
    const lz_data *tr = r->train, *te = r->test;
    int sampled = r->cfg.completion == LGM_SAMPLED;
    printf("%s: %s: %zu samples x %zu features%s; k = %d, %s completion", PROG, tr->path, tr->n,
           tr->d, tr->y ? " (+ labels)" : "", r->cfg.k, sampled ? "sampled" : "exact");
    if (sampled)
        printf(" (J = %d)", r->cfg.samples);
    else
        printf("%s", r->cfg.accelerate ? " (SQUAREM)" : "");
    static const char *init_name[] = {"pca", "random", "smc", "best"};
    printf(", init %s", init_name[r->cfg.init]);
    if (te && r->co.split > 0)
        printf("; --split %g: %zu held-out samples", r->co.split, te->n);
    else if (te)
        printf("; test %s: %zu samples", te->path, te->n);
    printf("\n");
    lz_print_blas(stdout, lz_get_threads(), 0);
}

static void print_columns(const run *r)
{
    int sampled = r->cfg.completion == LGM_SAMPLED;
    printf("floor on D: D_i >= %g x S_ii, each coordinate's own variance (--dmin)\n", r->cfg.dmin);
    if (!sampled && r->cfg.accelerate)
        printf("SQUAREM: each line is one cycle of 3 or more EM steps (--accel none: one EM step "
               "a line)\n");
    printf("%6s %15s %15s %12s %9s %6s", "iter", "ll/N train", "ll/N test", "delta", "seconds",
           "floor");
    printf(sampled ? " %15s\n" : "\n", "exact EM path");
}

/* a data set with missing values (DATA or the test set): the run is then
 * incomplete (docs/lgm.md, "Missing entries") */
static int incomplete(const run *r)
{
    return (r->train && r->train->miss) || (r->test && r->test->miss);
}

/* the data sets in their units: EM works on them centred by the observed
 * means, the outputs score them centred by the fitted mean, as --load does */
static lz_status keep_copies(run *r)
{
    lz_data *set[2] = {r->train, r->test};
    double **copy[2] = {&r->raw, &r->raw_test};
    for (int q = 0; q < 2; q++) {
        if (!set[q]) continue;
        size_t sz = set[q]->n * set[q]->d;
        if (!(*copy[q] = malloc(sz * sizeof **copy[q])))
            return lz_fail(&r->err, LZ_ENOMEM, "out of memory");
        memcpy(*copy[q], set[q]->x, sz * sizeof **copy[q]);
    }
    return LZ_OK;
}

/* the data sets scored by pattern: those with missing values, or every one
 * (all: while fitting on incomplete DATA, when their centre is the observed
 * means, not the model's mean) */
static lz_status group_patterns(run *r, int all)
{
    lgm_incomplete_free(r->itr);
    lgm_incomplete_free(r->ite);
    r->itr = r->ite = NULL;
    lz_status st = LZ_OK;
    if (r->train && (all || r->train->miss))
        st = lgm_incomplete_alloc(r->train, r->m->mu, &r->itr, &r->err);
    if (!st && r->test && (all || r->test->miss))
        st = lgm_incomplete_alloc(r->test, r->m->mu, &r->ite, &r->err);
    return st;
}

/* DATA and the test set centred by the model's mean, and their ll/N: by
 * pattern (the observed values' likelihood) or from S */
static lz_status evaluate(run *r)
{
    lz_status st = lgm_prepare(r->m, 0, r->train, r->test, r->s, r->s_test, &r->err);
    if (!st) st = group_patterns(r, 0);
    if (!st && r->itr)
        st = lgm_score_incomplete(r->m, r->itr, &r->ll_train, NULL, NULL, NULL, &r->err);
    else if (!st && r->train)
        st = lgm_loglik(r->m, r->s, r->w, &r->ll_train, &r->err);
    if (!st && r->ite)
        st = lgm_score_incomplete(r->m, r->ite, &r->ll_test, NULL, NULL, NULL, &r->err);
    else if (!st && r->test)
        st = lgm_loglik(r->m, r->s_test, r->w, &r->ll_test, &r->err);
    return st;
}

static lz_status fit(run *r)
{
    if (!r->co.quiet) print_start(r);
    double t0 = lz_now();
    int inc = incomplete(r);
    lz_status st = inc ? keep_copies(r) : LZ_OK;
    if (!st) st = lgm_prepare(r->m, 1, r->train, r->test, r->s, r->s_test, &r->err);
    if (!st && inc) st = group_patterns(r, r->train->miss != NULL);
    if (st) return st;
    char path[4096];
    if ((st = lz_path(path, sizeof path, r->co.output, "trace.dat", &r->err))) return st;
    if (!(r->trace = lz_outset_open(r->os, path, &r->err))) return r->err.status;
    fputs("# iter ll_train ll_test delta seconds n_floor e_steps ll_exact_em\n", r->trace);
    if (!r->co.quiet) print_columns(r);
    if (inc) {
        /* missing values (complete DATA keeps lgm_fit's path inside) */
        lgm_incomplete *own = NULL;
        if (!r->itr && (st = lgm_incomplete_alloc(r->train, r->m->mu, &own, &r->err))) return st;
        st = lgm_fit_incomplete(&r->cfg, r->itr ? r->itr : own, r->s, r->ite, r->m, t0, on_iter, r,
                                &r->res, &r->err);
        lgm_incomplete_free(own);
    } else
        st = lgm_fit(&r->cfg, r->train->n, r->train->x, r->s, r->test ? r->s_test : NULL, r->m, t0,
                     on_iter, r, &r->res, &r->err);
    if (st) {
        lz_error_prefix(&r->err, "%s", r->train->path);
        return st;
    }
    r->ll_train = r->res.ll_train;
    r->ll_test = r->res.ll_test;
    if (r->res.converged)
        printf("converged: ll/N rose by less than %g after %d iterations (%ld E-steps), %.3f s\n",
               r->cfg.tol, r->res.iterations, r->res.e_steps, r->res.seconds);
    else
        printf("NOT converged: --max-iter %d reached before ll/N rose by less than --tol %g "
               "(%.3f s)\n",
               r->cfg.max_iter, r->cfg.tol, r->res.seconds);
    if (!inc) return LZ_OK;
    /* the outputs as --load gives them: the data back in their units, then
     * centred by the fitted mean and scored (ll/N equal to the trace's last
     * line to rounding) */
    memcpy(r->train->x, r->raw, r->train->n * r->train->d * sizeof *r->raw);
    if (r->test) memcpy(r->test->x, r->raw_test, r->test->n * r->test->d * sizeof *r->raw);
    return evaluate(r);
}

/* --load: DATA and --test scored under the model */
static lz_status score(run *r)
{
    lz_status st = incomplete(r) ? keep_copies(r) : LZ_OK;
    if (!st) st = evaluate(r);
    if (!st)
        printf("%s: model %s: d = %zu, k = %zu, %s completion\n", PROG, r->co.load, r->m->d,
               r->m->k, r->m->completion == LGM_SAMPLED ? "sampled" : "exact");
    return st;
}

/* ------------------------------------------------------------------ files */

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

/* E[z | x] of the centred rows of data -> path; by pattern (E[z | x_o]) when
 * in is given, and then xfill (n, d, the rows in their units, or NULL) gets
 * E[x_m | x_o] in its missing entries */
static lz_status write_latent(lz_outset *os, const char *path, const lgm_model *m, lgm_work *w,
                              const lz_data *data, const lgm_incomplete *in, double *xfill,
                              lz_error *err)
{
    double *z = malloc((data->n ? data->n : 1) * m->k * sizeof *z); /* (n, k) */
    if (!z) return lz_fail(err, LZ_ENOMEM, "%s: out of memory", path);
    lz_status st = in ? lgm_score_incomplete(m, in, NULL, z, NULL, xfill, err)
                      : lgm_latent(m, w, data->n, data->x, z, err);
    if (!st) st = lz_dat_write_matrix(os, path, "z", data->n, m->k, z, data, err);
    free(z);
    return st;
}

/* --n-samples draws x = mu + A z + D^1/2 e */
static lz_status write_samples(lz_outset *os, const char *path, const lgm_model *m, size_t n,
                               unsigned long seed, lz_error *err)
{
    gsl_rng *rs = lz_rng_alloc_stream(seed, LGM_STREAM_SAMPLES);
    double *tmp = malloc(m->k * sizeof *tmp);         /* (k) */
    double *draws = malloc(n * m->d * sizeof *draws); /* (n, d) */
    lz_status st = LZ_OK;
    if (!rs || !tmp || !draws) st = lz_fail(err, LZ_ENOMEM, "out of memory");
    if (!st) {
        lgm_sample(m, rs, n, draws, tmp);
        st = lz_dat_write_matrix(os, path, "x", n, m->d, draws, NULL, err);
    }
    if (rs) gsl_rng_free(rs);
    free(tmp);
    free(draws);
    return st;
}

static lz_status write_summary(lz_outset *os, const char *path, const run *r, lz_error *err)
{
    static const char *const extra[] = {"converged", "e_steps", "n_floor", "dmin",
                                        "d",         "n_train", "n_test",  "missing_frac"};
    const lgm_model *m = r->m;
    lz_summary s = {.model = m->completion == LGM_SAMPLED ? "lgm-sampled" : "lgm-exact",
                    .family = "continuous",
                    .k = m->k,
                    .n_params = lgm_n_params(m),
                    .ll_train = r->ll_train,
                    .ll_test = r->ll_test,
                    .ll_test_se = isnan(r->ll_test) ? NAN : 0.0, /* exact */
                    .method = "exact",
                    .iterations = r->res.iterations,
                    .seconds = r->res.seconds};
    /* missing_frac (DATA's missing values / its entries) only when a data set
     * misses values: complete data give the same summary as before */
    const lz_data *tr = r->train;
    int inc = (tr && tr->miss) || (r->test && r->test->miss);
    size_t n_extra = sizeof extra / sizeof extra[0] - !inc;
    FILE *f = lz_summary_begin(os, path, &s, n_extra, extra, err);
    if (!f) return err->status;
    fprintf(f, "\t%d\t%ld\t%zu\t", r->res.converged, r->res.e_steps, lgm_n_floor(m));
    lz_put_num(f, r->co.load ? NAN : r->cfg.dmin);
    fprintf(f, "\t%zu\t%zu\t%zu", m->d, tr ? tr->n : 0, r->test ? r->test->n : 0);
    if (inc) {
        fputc('\t', f);
        lz_put_num(f, tr ? (double)tr->n_miss / ((double)tr->n * (double)tr->d) : NAN);
    }
    fputc('\n', f);
    return LZ_OK;
}

static lz_status write_outputs(run *r)
{
    const char *pre = r->co.output;
    const lgm_model *m = r->m;
    lz_outset *os = r->os;
    lz_error *err = &r->err;
    char p[4096];
    lz_status st = lz_path(p, sizeof p, pre, "A.dat", err);
    if (!st) st = lz_dat_write_matrix(os, p, "a", m->d, m->k, m->a, NULL, err);
    if (!st) st = lz_path(p, sizeof p, pre, "D.dat", err);
    if (!st) st = write_d(os, p, m, err);
    if (!st) st = lz_path(p, sizeof p, pre, "mean.dat", err);
    if (!st) st = lz_dat_write_matrix(os, p, "x", 1, m->d, m->mu, NULL, err);
    if (!st && r->train && !(st = lz_path(p, sizeof p, pre, "latent.dat", err)))
        st = write_latent(os, p, m, r->w, r->train, r->itr, r->train->miss ? r->raw : NULL, err);
    if (!st && r->test && !(st = lz_path(p, sizeof p, pre, "latent_test.dat", err)))
        st = write_latent(os, p, m, r->w, r->test, r->ite, NULL, err);
    /* DATA completed by E[x_m | x_o] (filled in by write_latent) */
    if (!st && r->train && r->train->miss && !(st = lz_path(p, sizeof p, pre, "imputed.dat", err)))
        st = lz_dat_write_matrix(os, p, "x", r->train->n, m->d, r->raw, r->train, err);
    if (!st && r->train && r->train->miss) st = lz_far_fills(r->train, r->raw, &r->far, err);
    if (!st && r->n_samples > 0 && !(st = lz_path(p, sizeof p, pre, "samples.dat", err)))
        st = write_samples(os, p, m, (size_t)r->n_samples, r->co.seed, err);
    if (!st) st = lz_path(p, sizeof p, pre, "summary.tsv", err);
    if (!st) st = write_summary(os, p, r, err);
    if (!st && r->co.save && (st = lgm_model_write(m, os, r->co.save, err)))
        lz_error_prefix(err, "--save");
    if (!st) st = lz_outset_commit(os, err);
    return st;
}

/* ----------------------------------------------------------------- report */

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
        case LGM_FLOOR_CONSTANT: /* floor dmin mu_i^2, or dmin at 0: docs/lgm.md, "The floor on D"
                                  */
            if (m->mu[no->i] != 0)
                printf("constant in the training data (its floor is --dmin x its value squared, "
                       "so its share of ll/N moves with the column's origin too)");
            else
                printf("constant in the training data (always 0: its floor is --dmin itself)");
            break;
        case LGM_FLOOR_DEPENDENT:
            printf("a linear function of");
            for (size_t p = 0; p < no->n_partner; p++)
                printf("%s %s", p ? "," : "",
                       lz_data_colname(data, no->partner[p], other, sizeof other));
            printf(" (duplicated or collinear columns: drop one)");
            break;
        case LGM_FLOOR_HEYWOOD:
            printf("explained by the %zu factor%s alone, a Heywood case", m->k,
                   m->k == 1 ? "" : "s");
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

/* A note when the test set's ll/N is made by a few rows (lz_ll_tail_of):
 * each row's log p(x_o) under the model, the test set as evaluate() left it
 * (centred by the model's mean); for the lowest row, the coordinate with
 * the largest term (x_i - mu_i - a_i.m)^2 / (2 D_i) of its log-likelihood. */
static lz_status report_test_tail(run *r)
{
    const lz_data *te = r->test;
    const lgm_model *m = r->m;
    size_t n = te->n, d = m->d, k = m->k;
    lgm_incomplete *own = NULL;
    lz_status st = r->ite ? LZ_OK : lgm_incomplete_alloc(te, m->mu, &own, &r->err);
    const lgm_incomplete *in = r->ite ? r->ite : own;
    double *lp = st ? NULL : malloc((n ? n : 1) * sizeof *lp);
    double *z = st ? NULL : malloc((n ? n : 1) * k * sizeof *z);
    if (!st && (!lp || !z)) st = lz_fail(&r->err, LZ_ENOMEM, "out of memory");
    if (!st) st = lgm_score_incomplete(m, in, NULL, z, lp, NULL, &r->err);
    lz_ll_tail t;
    if (!st) st = lz_ll_tail_of(n, lp, &t, &r->err);
    if (!st && t.few) {
        size_t w = t.worst, jb = 0;
        double qb = -1;
        for (size_t j = 0; j < d; j++) {
            if (in->miss && in->miss[w * d + j]) continue;
            double e = in->x[w * d + j] - (m->mu[j] - in->centre[j]);
            for (size_t c = 0; c < k; c++) e -= m->a[j * k + c] * z[w * k + c];
            double q = 0.5 * e * e / m->dg[j];
            if (q > qb) {
                qb = q;
                jb = j;
            }
        }
        double vb = m->dg[jb]; /* the model's variance of coordinate jb: a a^T + D */
        for (size_t c = 0; c < k; c++) vb += m->a[jb * k + c] * m->a[jb * k + c];
        char where[512], says[256];
        lz_data_where(te, w, jb, where, sizeof where);
        printf("note: ll/N test is made by a few rows: %s, owes %.3g nats to %s: %.6g, where the "
               "model's mean is %.6g and its variance %.3g",
               lz_ll_tail_text(&t, says, sizeof says), qb, where,
               in->x[w * d + jb] + in->centre[jb], m->mu[jb], vb);
        if (r->train && r->s) printf(" (the training values' variance %.3g)", r->s[jb * d + jb]);
        printf(" (docs/lgm.md, \"A test ll/N made by a few rows\")\n");
    }
    free(lp);
    free(z);
    lgm_incomplete_free(own);
    return st;
}

static lz_status report(run *r)
{
    const lgm_model *m = r->m;
    const char *pre = r->co.output;
    if (r->train) printf("ll/N train %.8f  ", r->ll_train);
    if (r->test) printf("ll/N test %.8f  ", r->ll_test);
    printf("%s(k = %zu, %zu parameters)\n", r->train || r->test ? "nats per sample " : "", m->k,
           lgm_n_params(m));
    lz_status st = r->test ? report_test_tail(r) : LZ_OK;
    if (st) return st;
    st = report_floor(m, r->train ? r->s : NULL, r->train, pre, &r->err);
    if (st) return st;
    int imputed = r->train && r->train->miss;
    if (imputed)
        printf("missing values: %zu of %zu in %s (%.3g %%), completed by E[x_m | x_o] in "
               "%s.imputed.dat\n",
               r->train->n_miss, r->train->n * r->train->d, r->train->path,
               100.0 * (double)r->train->n_miss / ((double)r->train->n * (double)r->train->d), pre);
    if (imputed && r->far.n_far) {
        char buf[1024];
        printf("note: %s: the fit completes those rows from coordinates it takes as almost "
               "noise-free (docs/lgm.md, \"Completed values far outside the data\"); a smaller -k, "
               "or pca_iter (one noise variance for every coordinate), keeps them near the data\n",
               lz_far_fill_text(r->train, &r->far, buf, sizeof buf));
    }
    printf("wrote %s.{%sA,D,mean%s%s%s%s}.dat and %s.summary.tsv%s%s\n", pre,
           r->co.load ? "" : "trace,", r->train ? ",latent" : "", r->test ? ",latent_test" : "",
           r->n_samples > 0 ? ",samples" : "", imputed ? ",imputed" : "", pre,
           r->co.save ? "; model " : "", r->co.save ? r->co.save : "");
    return LZ_OK;
}

static void run_free(run *r)
{
    lz_outset_free(r->os); /* removes what a failed run began to write */
    lz_data_free(r->train);
    lz_data_free(r->test);
    lgm_model_free(r->m);
    lgm_work_free(r->w);
    lgm_incomplete_free(r->itr);
    lgm_incomplete_free(r->ite);
    free(r->raw);
    free(r->raw_test);
    free(r->s);
    free(r->s_test);
}

int main(int argc, char **argv)
{
    run r;
    memset(&r, 0, sizeof r);
    r.ll_train = r.ll_test = NAN;
    int rc = parse_options(&r, argc, argv);
    if (rc >= 0) return rc;
    lz_status st = load_inputs(&r);
    if (!st) st = r.co.load ? score(&r) : fit(&r);
    if (!st) st = write_outputs(&r);
    if (!st) st = report(&r);
    if (st) lz_die_msg(PROG, &r.err);
    run_free(&r);
    return st ? 1 : 0;
}
