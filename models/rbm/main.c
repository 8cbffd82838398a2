/* main.c -- rbm_cd: train a restricted Boltzmann machine by CD-k, PCD-k or
 * parallel tempering on binary (or binarised) data, or with Gaussian visible
 * units on standardised data, score it by its exact log-likelihood or by
 * its bracket (AIS above, reverse AIS below), and write gnuplot-ready files
 * (docs/rbm.md).
 *
 *     rbm_cd [options] DATA
 *
 * options -> the model (--load) -> data, binarised -> fit (unless loaded) ->
 * evaluate -> write every file through one lz_outset committed at the end ->
 * final report.  (The model comes before the data: a loaded model brings the
 * preprocessing the data must go through.)
 * Dimension letters: n samples, d visible units, h hidden units.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lz_cli.h"
#include "lz_data.h"
#include "lz_out.h"
#include "lz_time.h"
#include "rbm.h"

#define PROG "rbm_cd"

static const char *DETAILS =
    "DATA (CSV/TSV/whitespace or IDX, optionally .gz): with --visible bernoulli (the default)\n"
    "binary or grey levels in [0,1] (see --scale); --binarize threshold: v = 1 when x > T;\n"
    "sample: v ~ Bernoulli(x), drawn once with the seed; none: the data must be 0/1 already.\n"
    "With --visible gaussian any real values: each column is standardised by the training\n"
    "rows' mean and standard deviation, and log-likelihoods are densities in the data's units.\n"
    "Files written:\n"
    "  PREFIX.trace.dat     epoch recon_err pseudo_ll ll_train ll_test fe_gap seconds\n"
    "  PREFIX.filters.dat   x1..xd: the weights of each hidden unit, one a row\n"
    "  PREFIX.samples.dat   x1..xd: p(v|h) (Gaussian: E[v|h], data units) after --sample-steps\n"
    "                       Gibbs sweeps from random starts\n"
    "  PREFIX.latent.dat    h1..hH [label]: p(h=1|v) of the test set (else the training set)\n"
    "  PREFIX.summary.tsv   model, H, parameters, log-likelihoods, method, epochs, seconds,\n"
    "                       the bracket ll_test_lower (reverse AIS) .. ll_test_upper (AIS)\n"
    "The log-likelihood is exact (enumerating 2^min(d,H) states; Gaussian: 2^H) when that layer\n"
    "has at most --exact-max-h units, else estimated by annealed importance sampling (AIS), +- "
    "its\n"
    "standard error; with a test set AIS's estimate (a stochastic upper bound) then has reverse\n"
    "AIS's (a stochastic lower bound) beside it (--bracket: also when exact).\n"
    "\n"
    "Examples:\n"
    "  rbm_cd --hidden 16 --scale 16 --label-col last data/digits.csv   # CD-1, exact ll\n"
    "  rbm_cd --pcd --hidden 500 /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz\n"
    "  rbm_cd --visible gaussian --hidden 16 --label-col last data/digits.csv\n"
    "  gnuplot -c plots/images.gp out/rbm filters                       # the filters\n";

/* ------------------------------------------------------------------ trace */

/* the trace, one row an epoch, printed as it comes */
#define TRACE_COLS 7
static const char *trace_names[TRACE_COLS] = {"epoch",   "recon_err", "pseudo_ll", "ll_train",
                                              "ll_test", "fe_gap",    "seconds"};

typedef struct {
    int quiet;
    size_t rows;
    double *t;      /* (epochs + 1, TRACE_COLS) */
    rbm_epoch last; /* the last epoch's numbers */
    rbm_epoch best; /* the numbers of the epoch last.best_epoch */
} trace_ctx;

/* a number right-aligned in width, "-" when not computed */
static void put_col(int width, int prec, double x)
{
    if (isnan(x))
        printf(" %*s", width, "-");
    else
        printf(" %*.*f", width, prec, x);
}

static int on_epoch(const rbm_epoch *e, void *vctx)
{
    trace_ctx *c = vctx;
    double row[TRACE_COLS] = {e->epoch,   e->recon_err, e->pseudo_ll, e->ll_train,
                              e->ll_test, e->fe_gap,    e->seconds};
    memcpy(c->t + c->rows * TRACE_COLS, row, sizeof row);
    c->rows++;
    c->last = *e;
    if (e->best_epoch == e->epoch) c->best = *e;
    if (!c->quiet) {
        if (e->epoch == 0)
            printf("%5s %10s %11s %11s %11s %9s %9s\n", "epoch", "recon_err", "pseudo_ll",
                   "ll_train", "ll_test", "fe_gap", "seconds");
        printf("%5d", e->epoch);
        put_col(10, 4, e->recon_err);
        put_col(11, 4, e->pseudo_ll);
        put_col(11, 4, e->ll_train);
        put_col(11, 4, e->ll_test);
        put_col(9, 4, e->fe_gap);
        put_col(9, 2, e->seconds);
        putchar('\n');
        fflush(stdout);
    }
    return 0;
}

/* -------------------------------------------------------------------- run */

/* everything a run holds */
typedef struct {
    rbm_config cfg;
    lz_common_opts co;
    const char *data_path;
    int bin_mode, n_samples, sample_steps; /* options beside the config's */
    double threshold, scale;
    rbm_prep prep;      /* the options' preprocessing, or the loaded model's */
    rbm_method how;     /* how the model was trained: its name */
    int visible, sigma; /* the options' visible units and sigmas */
    rbm_model *m;
    lz_data *train, *test;
    float *vtr, *vte;   /* (n, d) the binary training and test data */
    trace_ctx tc;       /* the epochs' lines (none with --load) */
    rbm_ll ll;          /* log Z and the log-likelihoods */
    const lz_data *lat; /* the rows of the latent file: the test set, else the training set */
    double *latent;     /* (lat->n, h) p(h = 1 | v) */
    double *pv;         /* (n_samples, d) samples' p(v = 1 | h) */
    double eval_seconds;
    lz_error err;
} run;

/* "rbm-cd1", "rbm-pcd2", "rbm-pt1", "rbm-gauss-cd1", ...: the summary's model */
static void model_name(const run *r, char *buf, size_t cap)
{
    const rbm_method *h = &r->how;
    snprintf(buf, cap, "rbm-%s%s%d", r->m && r->m->visible == RBM_VIS_GAUSSIAN ? "gauss-" : "",
             h->pt > 0 ? "pt"
             : h->pcd  ? "pcd"
                       : "cd",
             h->cd_k);
}

/* ---------------------------------------------------------------- options */

/* the checks of what lz_cli_start cannot see; the preprocessing of the
 * options */
static lz_status check_options(run *r)
{
    lz_error *e = &r->err;
    r->cfg.seed = r->co.seed;
    rbm_config_resolve(&r->cfg, 0); /* the per-algorithm defaults of what was not given */
    if (r->co.load && r->cfg.keep_best)
        return lz_fail(e, LZ_EINVAL,
                       "--keep-best and --load: a loaded model is not trained, so "
                       "there is no epoch to keep; drop one of them");
    lz_status st = rbm_config_check(&r->cfg, 0, e);
    if (st) return st;
    if (r->n_samples < 0 || r->n_samples > 100000)
        return lz_fail(e, LZ_EINVAL, "--n-samples %d: expected 0 <= N <= 100000", r->n_samples);
    if (r->sample_steps < 1 || r->sample_steps > 100000000)
        return lz_fail(e, LZ_EINVAL, "--sample-steps %d: expected 1 <= S <= 100000000",
                       r->sample_steps);
    r->prep = (rbm_prep){(rbm_binarize)r->bin_mode, r->threshold, r->scale, NULL};
    if (!(r->prep.scale > 0))
        return lz_fail(e, LZ_EINVAL, "--scale %.15g: expected S > 0", r->prep.scale);
    if (!(r->prep.threshold >= 0 && r->prep.threshold < 1))
        return lz_fail(e, LZ_EINVAL, "--threshold %.15g: expected 0 <= T < 1", r->prep.threshold);
    r->how = (rbm_method){r->cfg.cd_steps, r->cfg.pcd, r->cfg.pt};
    return LZ_OK;
}

/* options -> lz_cli_start -> checks -> threads: -1 to go on, else the exit
 * status */
static int parse_options(run *r, int argc, char **argv)
{
    rbm_config *c = &r->cfg;
    rbm_config_default(c);
    lz_common_defaults(&r->co, "out/rbm");
    r->bin_mode = RBM_BIN_THRESHOLD;
    r->n_samples = 100;
    r->sample_steps = 1000;
    r->threshold = 0.5;
    r->scale = 1.0;
    /* the defaults that depend on --pcd and --visible, in words for --help
     * (rbm_algo_default) */
    rbm_algo_defaults dc = rbm_algo_default(0, RBM_VIS_BERNOULLI, RBM_SIGMA_FIXED),
                      dp = rbm_algo_default(1, RBM_VIS_BERNOULLI, RBM_SIGMA_FIXED),
                      gc = rbm_algo_default(0, RBM_VIS_GAUSSIAN, RBM_SIGMA_FIXED),
                      gp = rbm_algo_default(1, RBM_VIS_GAUSSIAN, RBM_SIGMA_FIXED);
    static const char *decay_name[] = {"none", "linear"};
    char h_lr[400], h_mom[160], h_batch[160], h_decay[400];
    snprintf(h_lr, sizeof h_lr,
             "learning rate of the first update (updates average the minibatch) (default: %g for "
             "CD; for PCD and PT %g M/n, at most %g, so that the rates of an epoch's n/M updates "
             "add up to %g: %g for n = 60000 rows, M = %d; with --visible gaussian %g for CD, and "
             "%g M/n, at most %g; with --sigma learn a third of these)",
             dc.lr, dp.epoch_lr, dp.lr, dp.epoch_lr, dp.epoch_lr * dp.batch / 60000.0, dp.batch,
             gc.lr, gp.epoch_lr, gp.lr);
    snprintf(h_mom, sizeof h_mom,
             "momentum of the updates, 0 <= MU < 1 (default: %g for CD, %g for PCD and PT)",
             dc.momentum, dp.momentum);
    snprintf(h_batch, sizeof h_batch,
             "minibatch rows (and PCD chains) (default: %d for CD, %d for PCD and PT)", dc.batch,
             dp.batch);
    snprintf(
        h_decay, sizeof h_decay,
        "learning rate of update t = 0..T-1 of the run's T = E ceil(n/M) updates: none: ALPHA; "
        "linear: ALPHA (1 - t/T), falling to ALPHA/T at the last update (0 after it) "
        "(default: %s for CD, %s for PCD and PT)",
        decay_name[dc.lr_decay], decay_name[dp.lr_decay]);
    lz_opt opts[] = {
        {"hidden", 0, LZ_OPT_INT, &c->h, "H", "hidden units"},
        {"visible", 0, LZ_OPT_CHOICE, &c->visible, "bernoulli|gaussian",
         "visible units: binary, or Gaussian on the standardised columns (continuous data)"},
        {"sigma", 0, LZ_OPT_CHOICE, &c->sigma, "fixed|learn",
         "Gaussian units: sigma_i = 1 (one standard deviation of the column), or learned by its "
         "gradient in log sigma^2"},
        {"sigma-min", 0, LZ_OPT_REAL, &c->sigma_min, "S",
         "--sigma learn: sigma_i >= S standard deviations of the column"},
        {"cd", 0, LZ_OPT_INT, &c->cd_steps, "K",
         "Gibbs steps per update (CD-K, or PCD-K with --pcd)"},
        {"pcd", 0, LZ_OPT_FLAG, &c->pcd, NULL,
         "persistent contrastive divergence: --batch chains kept between updates"},
        {"pt", 0, LZ_OPT_INT, &c->pt, "R",
         "parallel tempering: PCD's chains with R - 1 tempered replicas each at beta = 1 - "
         "r/(R-1), "
         "swapping states (R = 1: PCD; 0: none)"},
        {"lr", 0, LZ_OPT_REAL, &c->lr, "ALPHA", h_lr},
        {"lr-decay", 0, LZ_OPT_CHOICE, &c->lr_decay, "none|linear", h_decay},
        {"momentum", 0, LZ_OPT_REAL, &c->momentum, "MU", h_mom},
        {"weight-decay", 0, LZ_OPT_REAL, &c->weight_decay, "LAMBDA", "L2 penalty on W"},
        {"batch", 0, LZ_OPT_INT, &c->batch, "M", h_batch},
        {"epochs", 0, LZ_OPT_INT, &c->epochs, "E", "passes over the training data"},
        {"keep-best", 0, LZ_OPT_FLAG, &c->keep_best, NULL,
         "end with the parameters of the epoch with the best exact log-likelihood (held-out, "
         "else training): every output and --save describe that epoch's model; needs the exact "
         "log-likelihood every epoch (min(d,H) <= --exact-max-h and 2^min(d,H) max(d,H) <= 2^27)"},
        {"binarize", 0, LZ_OPT_CHOICE, &r->bin_mode, "threshold|sample|none", "grey levels to 0/1"},
        {"threshold", 0, LZ_OPT_REAL, &r->threshold, "T", "threshold of --binarize threshold"},
        {"scale", 0, LZ_OPT_REAL, &r->scale, "S",
         "divide every value by S first (digits' grey levels 0..16: --scale 16)"},
        {"monitor", 0, LZ_OPT_INT, &c->monitor, "N",
         "rows of the fixed train/test subsets scored every epoch (0: none)"},
        {"exact-max-h", 0, LZ_OPT_INT, &c->exact_max_h, "N",
         "exact log-likelihood when min(d, H) <= N (enumeration), else AIS"},
        {"ais-runs", 0, LZ_OPT_INT, &c->ais_runs, "R", "AIS: independent runs"},
        {"ais-steps", 0, LZ_OPT_INT, &c->ais_steps, "K", "AIS: intermediate distributions"},
        {"bracket", 0, LZ_OPT_FLAG, &c->bracket, NULL,
         "with a test set, AIS and reverse AIS also when the log-likelihood is exact"},
        {"raise-rows", 0, LZ_OPT_INT, &c->raise_rows, "N",
         "reverse AIS from N test rows (a random subset when there are more; 0: none)"},
        {"raise-steps", 0, LZ_OPT_INT, &c->raise_steps, "K",
         "reverse AIS: intermediate distributions (default: --ais-steps)"},
        {"n-samples", 0, LZ_OPT_INT, &r->n_samples, "N",
         "Gibbs chains written to PREFIX.samples.dat"},
        {"sample-steps", 0, LZ_OPT_INT, &r->sample_steps, "S", "Gibbs sweeps of each sample chain"},
        LZ_COMMON_OPTIONS(&r->co),
        {0}};
    lz_cli cli = {
        PROG,
        "[options] DATA",
        "Train a restricted Boltzmann machine (binary or Gaussian visible units) with CD-k, "
        "PCD-k or parallel tempering; score it by its exact log-likelihood or bracket it "
        "between reverse AIS and AIS.",
        DETAILS,
        opts,
        0,
        1,
        1,
        0};
    int rc = lz_cli_start(&cli, &r->co, argc, argv, &r->data_path);
    if (rc >= 0) return rc;
    if (check_options(r)) {
        lz_die_msg(PROG, &r->err);
        return 1;
    }
    /* the RBM runs its own threads, each calling single-threaded BLAS on its
     * rows (OpenMP and OpenBLAS threads would otherwise spin against each other) */
    rbm_set_threads(r->co.threads);
    lz_outset_install_signal_cleanup();
    return -1;
}

/* ------------------------------------------------------------------ model */

/* --load: the model, the preprocessing it was trained with and how */
static lz_status load_model(run *r)
{
    return rbm_model_read(r->co.load, &r->m, &r->prep, &r->how, &r->err);
}

/* ------------------------------------------------------------------- data */

/* The (n, d) float version of a data set the visible units see, binary or
 * standardised (rbm_prepare); frees the doubles. */
static lz_status prepare(lz_data *data, const rbm_model *m, const rbm_prep *p, unsigned long seed,
                         unsigned long stream, float **out, lz_error *err)
{
    size_t nd = data->n * data->d;
    *out = malloc((nd > 0 ? nd : 1) * sizeof **out);
    if (!*out) return lz_fail(err, LZ_ENOMEM, "%s: out of memory", data->path);
    lz_status st = rbm_prepare(data, m, p, seed, stream, *out, err);
    if (st) {
        free(*out);
        *out = NULL;
        return st;
    }
    free(data->x); /* only the binary copy is used from here on */
    data->x = NULL;
    return LZ_OK;
}

/* DATA, --test or --split; a loaded model's width; for training, a new
 * model of the data's width with its standardisation (Gaussian units); both
 * sets binarised or standardised; for training, the defaults that depend on
 * the rows and the checks that need d */
static lz_status load_inputs(run *r)
{
    lz_error *e = &r->err;
    int loaded = r->m != NULL;
    lz_status st = lz_load_inputs(&r->co, r->data_path, 2, &r->train, &r->test, e);
    if (!st && loaded && !(st = lz_data_check_width(r->train, r->m->d, r->co.load, e)))
        st = lz_data_check_width(r->test, r->m->d, r->co.load, e);
    if (!st && !loaded) {
        if (!(r->m = rbm_model_alloc(r->train->d, (size_t)r->cfg.h)))
            return lz_fail(e, LZ_ENOMEM, "d = %zu, H = %d: out of memory", r->train->d, r->cfg.h);
        r->m->visible = r->cfg.visible;
        r->m->sigma = r->cfg.sigma;
        double *var = malloc(r->train->d * sizeof *var); /* (d) the columns' variances */
        if (!var) return lz_fail(e, LZ_ENOMEM, "out of memory");
        st = rbm_standardise(r->m, r->train, var, e); /* Gaussian: the training columns' moments */
        if (!st && r->m->visible == RBM_VIS_GAUSSIAN && !r->co.quiet)
            lz_note_constant(r->train, var);
        free(var);
    }
    if (!st && r->train)
        st = prepare(r->train, r->m, &r->prep, r->co.seed, RBM_STREAM_BIN_TRAIN, &r->vtr, e);
    if (!st && r->test)
        st = prepare(r->test, r->m, &r->prep, r->co.seed, RBM_STREAM_BIN_TEST, &r->vte, e);
    if (st || loaded) return st;
    rbm_config_resolve(&r->cfg, r->train->n);         /* a rate that depends on the training rows */
    return rbm_config_check(&r->cfg, r->train->d, e); /* --keep-best against d */
}

/* -------------------------------------------------------------------- fit */

static void print_start(const run *r)
{
    const rbm_config *c = &r->cfg;
    const lz_data *tr = r->train;
    char alg[64], vis[64] = "";
    if (c->pt > 0)
        snprintf(alg, sizeof alg, "PT-%d (%d replicas)", c->cd_steps, c->pt);
    else
        snprintf(alg, sizeof alg, "%s-%d", c->pcd ? "PCD" : "CD", c->cd_steps);
    if (c->visible == RBM_VIS_GAUSSIAN)
        snprintf(vis, sizeof vis, ", Gaussian visible units (sigma %s)",
                 c->sigma == RBM_SIGMA_LEARN ? "learned" : "fixed at 1");
    printf("%s: %s on %s: n = %zu, d = %zu, H = %d%s, batch %d, lr %g%s, momentum %g%s\n", PROG,
           alg, tr->path, tr->n, tr->d, c->h, vis, c->batch, c->lr,
           c->lr_decay == RBM_DECAY_LINEAR ? " decaying linearly to 0" : "", c->momentum,
           rbm_exact_every_epoch(tr->d, (size_t)c->h, c->visible, c->exact_max_h)
               ? "; exact log-likelihood every epoch"
               : "");
    lz_print_blas(stdout, 1, rbm_threads());
}

/* a new model, initialised and trained, one line an epoch */
static lz_status fit(run *r)
{
    const lz_data *tr = r->train, *te = r->test;
    r->tc.quiet = r->co.quiet;
    if (!(r->tc.t = malloc(((size_t)r->cfg.epochs + 1) * TRACE_COLS * sizeof *r->tc.t)))
        return lz_fail(&r->err, LZ_ENOMEM, "d = %zu, H = %d: out of memory", tr->d, r->cfg.h);
    rbm_set_base_rate(r->m, tr->n, r->vtr);
    lz_status st = rbm_init(r->m, r->cfg.init_sd, r->cfg.seed, &r->err);
    if (st) return st;
    if (!r->co.quiet) print_start(r);
    return rbm_fit(r->m, &r->cfg, tr->n, r->vtr, te ? te->n : 0, r->vte, on_epoch, &r->tc, &r->err);
}

/* ------------------------------------------------------------- evaluation */

/* log Z and the log-likelihoods, the latent codes, the samples */
static lz_status evaluate(run *r)
{
    double t0 = lz_now();
    const rbm_model *m = r->m;
    const rbm_config *c = &r->cfg;
    int exact = rbm_exact_applies(m->d, m->h, m->visible, c->exact_max_h);
    if (!r->co.quiet && exact)
        printf("log Z: enumerating 2^%zu %s states ...\n", rbm_enum_size(m->d, m->h, m->visible),
               m->h <= m->d || m->visible == RBM_VIS_GAUSSIAN ? "hidden" : "visible");
    if (!r->co.quiet && (!exact || (c->bracket && r->test)))
        printf("log Z: annealed importance sampling, %d runs x %d steps ...\n", c->ais_runs,
               c->ais_steps);
    if (!r->co.quiet && r->test && (!exact || c->bracket) && c->raise_rows > 0)
        printf("reverse AIS from %zu test rows, %d steps ...\n",
               r->test->n < (size_t)c->raise_rows ? r->test->n : (size_t)c->raise_rows,
               lz_unset_int(c->raise_steps) ? c->ais_steps : c->raise_steps);
    fflush(stdout);
    lz_status st = rbm_loglik(m, c, r->train ? r->train->n : 0, r->vtr, r->test ? r->test->n : 0,
                              r->vte, &r->ll, &r->err);
    r->lat = r->test ? r->test : r->train;
    const float *vlat = r->test ? r->vte : r->vtr;
    if (!st && r->lat) {
        if (!(r->latent = malloc(r->lat->n * m->h * sizeof *r->latent)))
            st = lz_fail(&r->err, LZ_ENOMEM, "latent file: out of memory");
        else
            st = rbm_latent(m, r->lat->n, vlat, r->latent, &r->err);
    }
    if (!st && r->n_samples > 0) {
        if (!(r->pv = malloc((size_t)r->n_samples * m->d * sizeof *r->pv)))
            st = lz_fail(&r->err, LZ_ENOMEM, "samples: out of memory");
        else
            st = rbm_sample(m, (size_t)r->n_samples, r->sample_steps, r->co.seed, r->pv, &r->err);
    }
    r->eval_seconds = lz_now() - t0;
    return st;
}

/* ----------------------------------------------------------------- output */

static lz_status write_trace(lz_outset *os, const char *path, const trace_ctx *tc, lz_error *err)
{
    FILE *f = lz_outset_open(os, path, err);
    if (!f) return err->status;
    lz_dat_header(f, ' ', TRACE_COLS, trace_names);
    for (size_t r = 0; r < tc->rows; r++) lz_dat_row(f, ' ', TRACE_COLS, tc->t + r * TRACE_COLS);
    return LZ_OK;
}

/* the epoch whose model is written: the last, or the best with --keep-best;
 * NULL with --load */
static const rbm_epoch *kept_epoch(const run *r)
{
    if (!r->tc.rows) return NULL;
    return r->cfg.keep_best ? &r->tc.best : &r->tc.last;
}

/* the standard error of an estimate, nan where the estimate is (no test set, no bracket) */
static double se_of(double value, double se) { return isnan(value) ? NAN : se; }

static lz_status write_summary(lz_outset *os, const char *path, const run *r, lz_error *err)
{
    static const char *const extra[] = {"ll_train_se",   "log_z",
                                        "log_z_se",      "pseudo_ll",
                                        "recon_err",     "fe_gap",
                                        "ais_ess",       "update_seconds",
                                        "eval_seconds",  "kept_epoch",
                                        "ll_test_lower", "ll_test_lower_se",
                                        "ll_test_upper", "ll_test_upper_se",
                                        "raise_rows",    "pt_chains",
                                        "pt_swap_rate"};
    const rbm_ll *ll = &r->ll;
    const rbm_epoch *last = r->tc.rows ? &r->tc.last : NULL, *ke = kept_epoch(r);
    char model[32];
    model_name(r, model, sizeof model);
    lz_summary s = {.model = model,
                    .family = r->m->visible == RBM_VIS_GAUSSIAN ? "continuous" : "binary",
                    .k = r->m->h,
                    .n_params = rbm_n_params(r->m),
                    .ll_train = ll->ll_train,
                    .ll_test = ll->ll_test,
                    .ll_test_se = se_of(ll->ll_test, ll->se),
                    .method = ll->exact ? "exact-enum" : "ais",
                    .iterations = last ? last->epoch : 0,
                    .seconds = last ? last->seconds : 0};
    FILE *f = lz_summary_begin(os, path, &s, sizeof extra / sizeof extra[0], extra, err);
    if (!f) return err->status;
    /* the monitored numbers of the epoch whose model this is */
    double b[] = {se_of(ll->ll_train, ll->se),
                  ll->log_z,
                  ll->se,
                  ke ? ke->pseudo_ll : NAN,
                  ke ? ke->recon_err : NAN,
                  ke ? ke->fe_gap : NAN,
                  ll->ess,
                  last ? last->update_seconds : 0,
                  r->eval_seconds,
                  ke ? ke->epoch : NAN,
                  ll->ll_test_lower,
                  se_of(ll->ll_test_lower, ll->ll_test_lower_se),
                  ll->ll_test_upper,
                  se_of(ll->ll_test_upper, ll->log_z_ais_se),
                  (double)ll->raise_rows,
                  (double)r->how.pt,
                  last ? last->swap_rate : NAN};
    for (size_t i = 0; i < sizeof b / sizeof b[0]; i++) {
        fputc('\t', f);
        lz_put_num(f, b[i]);
    }
    fputc('\n', f);
    return LZ_OK;
}

/* every file through one output set, committed at the end */
static lz_status write_outputs(run *r)
{
    lz_outset *os = lz_outset_alloc();
    const char *pre = r->co.output;
    const rbm_model *m = r->m;
    char p[4096];
    lz_error *e = &r->err;
    lz_status st = os ? LZ_OK : lz_fail(e, LZ_ENOMEM, "out of memory");
    if (!st && r->tc.rows && !(st = lz_path(p, sizeof p, pre, "trace.dat", e)))
        st = write_trace(os, p, &r->tc, e);
    if (!st && !(st = lz_path(p, sizeof p, pre, "filters.dat", e)))
        st = lz_dat_write_matrixf(os, p, "x", m->h, m->d, m->w, NULL, e);
    if (!st && r->pv && !(st = lz_path(p, sizeof p, pre, "samples.dat", e)))
        st = lz_dat_write_matrix(os, p, "x", (size_t)r->n_samples, m->d, r->pv, NULL, e);
    if (!st && r->latent && !(st = lz_path(p, sizeof p, pre, "latent.dat", e)))
        st = lz_dat_write_matrix(os, p, "h", r->lat->n, m->h, r->latent, r->lat, e);
    if (!st && !(st = lz_path(p, sizeof p, pre, "summary.tsv", e))) st = write_summary(os, p, r, e);
    if (!st && r->co.save && (st = rbm_model_write(m, &r->prep, &r->how, os, r->co.save, e)))
        lz_error_prefix(e, "--save");
    if (!st) st = lz_outset_commit(os, e);
    lz_outset_free(os); /* removes what a failed run began to write */
    return st;
}

/* ----------------------------------------------------------------- report */

/* A fall of the exact log-likelihood from one epoch to the next by more than
 * this many nats is named at the end of the run: more than the epoch-to-epoch
 * noise of a well-set run (a few tenths of a nat on the digits and on
 * Fashion-MNIST with H = 16; docs/rbm.md, "Defaults"). */
#define LL_FALL_NOTE 2.0

/* One line when the trace's exact held-out ll (column ll_test, else
 * ll_train) fell by more than LL_FALL_NOTE between two epochs: how often,
 * the largest falls, where the run ends against its best epoch, and what to
 * try.  cfg: the resolved configuration. */
static void note_falls(const trace_ctx *tc, int have_test, const rbm_config *cfg)
{
    int col = have_test ? 4 : 3;          /* ll_test or ll_train in trace_names */
    size_t nfall = 0, big[3] = {0, 0, 0}; /* rows r whose fall from r - 1 is among the 3 largest */
    double fall[3] = {0, 0, 0};
    size_t ibest = 0;
    for (size_t r = 0; r < tc->rows; r++) {
        double x = tc->t[r * TRACE_COLS + col];
        if (isnan(x)) return; /* not exact every epoch */
        if (x > tc->t[ibest * TRACE_COLS + col]) ibest = r;
        if (r == 0) continue;
        double f = tc->t[(r - 1) * TRACE_COLS + col] - x;
        if (!(f > LL_FALL_NOTE)) continue;
        nfall++;
        for (int k = 0; k < 3; k++)
            if (f > fall[k]) { /* insert at k */
                for (int j = 2; j > k; j--) {
                    fall[j] = fall[j - 1];
                    big[j] = big[j - 1];
                }
                fall[k] = f;
                big[k] = r;
                break;
            }
    }
    if (!nfall) return;
    const double *t = tc->t;
    char times[32];
    if (nfall <= 2)
        snprintf(times, sizeof times, "%s", nfall == 1 ? "once" : "twice");
    else
        snprintf(times, sizeof times, "%zu times", nfall);
    printf("note: the exact %s log-likelihood fell by more than %g nats between consecutive "
           "epochs %s (",
           have_test ? "held-out" : "training", LL_FALL_NOTE, times);
    for (int k = 0; k < 3 && k < (int)nfall; k++)
        printf("%sepoch %.0f -> %.0f: -%.2f", k ? ", " : "", t[(big[k] - 1) * TRACE_COLS],
               t[big[k] * TRACE_COLS], fall[k]);
    if (nfall > 3) printf(", ...");
    double end = t[(tc->rows - 1) * TRACE_COLS + col], top = t[ibest * TRACE_COLS + col];
    if (top - end < 0.005) /* the last epoch is the best, to the digits printed */
        printf("); the last epoch is the best%s", ibest == tc->rows - 1 ? "" : " to 0.01 nats");
    else
        printf("); the last epoch is %.2f nats below the best, epoch %.0f%s", top - end,
               t[ibest * TRACE_COLS], cfg->keep_best ? ", whose model --keep-best kept" : "");
    printf(": try a smaller --lr than %g%s, a larger --batch than %d%s\n", cfg->lr,
           cfg->lr_decay == RBM_DECAY_LINEAR ? "" : ", --lr-decay linear", cfg->batch,
           cfg->keep_best ? "" : ", or --keep-best");
}

static void report(const run *r)
{
    const rbm_model *m = r->m;
    const rbm_config *c = &r->cfg;
    const rbm_ll *ll = &r->ll;
    const trace_ctx *tc = &r->tc;
    char model[32];
    model_name(r, model, sizeof model);
    if (tc->rows)
        printf("%s: d = %zu, H = %zu, %zu parameters, %d epochs in %.2f s (updates %.2f s)\n",
               model, m->d, m->h, rbm_n_params(m), tc->last.epoch, tc->last.seconds,
               tc->last.update_seconds);
    else
        printf("%s (loaded from %s): d = %zu, H = %zu, %zu parameters\n", model, r->co.load, m->d,
               m->h, rbm_n_params(m));
    if (ll->exact)
        printf("log Z = %.6f (exact, 2^%zu states enumerated)\n", ll->log_z, ll->enum_size);
    else
        printf("log Z = %.4f +- %.4f (AIS, %d runs x %d steps; effective sample size of the "
               "weights %.1f%s)\n",
               ll->log_z, ll->se, c->ais_runs, c->ais_steps, ll->ess,
               ll->ess < 0.1 * c->ais_runs ? ": few runs carry the estimate, raise --ais-steps"
                                           : "");
    printf("log-likelihood per sample (nats):");
    if (r->train) printf(" train %.4f", ll->ll_train);
    if (r->test) printf("%s test %.4f", r->train ? "," : "", ll->ll_test);
    if (!r->train && !r->test) printf(" no data given");
    if (ll->exact)
        printf(" (exact)\n");
    else
        printf(" (+- %.4f, AIS)\n", ll->se);
    if (!isnan(ll->ll_test_upper))
        printf("test log-likelihood bracket: %.4f +- %.4f (reverse AIS, %zu rows x %d steps) .. "
               "%.4f +- %.4f (AIS)\n",
               ll->ll_test_lower, ll->ll_test_lower_se, ll->raise_rows,
               lz_unset_int(c->raise_steps) ? c->ais_steps : c->raise_steps, ll->ll_test_upper,
               ll->log_z_ais_se);
    double gap, z;
    if (rbm_bracket_crossed(ll, &gap, &z))
        printf("note: the bracket is crossed: reverse AIS's end lies %.2f nats (%.1f standard "
               "errors) above AIS's, so at %d steps at least one of them is far from its limit "
               "and neither end is a bound here: raise --ais-steps and --raise-steps\n",
               gap, z, lz_unset_int(c->raise_steps) ? c->ais_steps : c->raise_steps);
    if (r->test && ll->test_tail.few) {
        const lz_ll_tail *t = &ll->test_tail;
        char where[512], says[256];
        lz_data_row_where(r->test, t->worst, where, sizeof where);
        printf("note: the test log-likelihood is made by a few rows: %s, is at %s (docs/rbm.md, "
               "\"A test ll/N made by a few rows\")\n",
               lz_ll_tail_text(t, says, sizeof says), where);
    }
    if (tc->rows && c->keep_best)
        printf("--keep-best: the model of epoch %d of %d, the best exact %s log-likelihood\n",
               kept_epoch(r)->epoch, tc->last.epoch, r->test ? "held-out" : "training");
    if (tc->rows) note_falls(tc, r->test != NULL, c);
    if (!r->co.quiet) {
        printf("wrote");
        const char *sfx[] = {"trace.dat", "filters.dat", "samples.dat", "latent.dat",
                             "summary.tsv"};
        int have[] = {tc->rows > 0, 1, r->pv != NULL, r->latent != NULL, 1};
        for (int i = 0; i < 5; i++)
            if (have[i]) printf(" %s.%s", r->co.output, sfx[i]);
        if (r->co.save) printf(" %s", r->co.save);
        putchar('\n');
    }
}

static void run_free(run *r)
{
    rbm_model_free(r->m);
    lz_data_free(r->train);
    lz_data_free(r->test);
    free(r->vtr);
    free(r->vte);
    free(r->latent);
    free(r->pv);
    free(r->tc.t);
}

int main(int argc, char **argv)
{
    run r;
    memset(&r, 0, sizeof r);
    int rc = parse_options(&r, argc, argv);
    if (rc >= 0) return rc;
    lz_status st = r.co.load ? load_model(&r) : LZ_OK;
    if (!st) st = load_inputs(&r);
    if (!st && !r.co.load) st = fit(&r);
    if (!st) st = evaluate(&r);
    if (!st) st = write_outputs(&r);
    if (!st) report(&r);
    if (st) lz_die_msg(PROG, &r.err);
    run_free(&r);
    return st ? 1 : 0;
}
