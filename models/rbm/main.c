/* main.c -- rbm_cd: train a restricted Boltzmann machine by CD-k or PCD-k on
 * binary (or binarised) data, score it by its exact or annealed
 * log-likelihood, and write gnuplot-ready files (SPEC section 4; seed 004).
 *
 * Flow (docs/developers.md): options -> config check -> threads -> data ->
 * binarisation -> train (or --load) -> log-likelihood -> every output through
 * one lz_outset, committed at the end -> final report.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lz_cli.h"
#include "lz_data.h"
#include "lz_linalg.h"
#include "lz_out.h"
#include "lz_prob.h"
#include "rbm.h"
#include "lz_time.h"

static const char *PROG = "rbm_cd";

/* ---- the trace, one row an epoch ---- */

#define TRACE_COLS 7
static const char *trace_names[TRACE_COLS] = {"epoch",   "recon_err", "pseudo_ll", "ll_train",
                                              "ll_test", "fe_gap",    "seconds"};

typedef struct {
    int quiet;
    size_t rows;
    double *t;        /* (epochs + 1, TRACE_COLS) */
    rbm_epoch last;   /* the last epoch's numbers */
    rbm_epoch best;   /* the numbers of the epoch last.best_epoch */
} trace_ctx;

/* a number right-aligned in width, "-" when not computed */
static void put_col(int width, int prec, double x)
{
    if (isnan(x)) printf(" %*s", width, "-");
    else printf(" %*.*f", width, prec, x);
}

static int on_epoch(const rbm_epoch *e, void *vctx)
{
    trace_ctx *c = vctx;
    double row[TRACE_COLS] = {e->epoch,  e->recon_err, e->pseudo_ll, e->ll_train,
                              e->ll_test, e->fe_gap,   e->seconds};
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

/* ---- summary.tsv ---- */

typedef struct {
    char model[32];
    size_t h, n_params;
    double ll_train, ll_test, ll_se, log_z, log_z_se;
    const char *method;
    int iterations, kept_epoch; /* epochs run; the epoch whose model is written */
    double seconds, update_seconds, eval_seconds;
    double pseudo_ll, recon_err, fe_gap;
    double ais_ess; /* effective sample size of the AIS weights (nan: exact) */
} summary;

static lz_status write_summary(lz_outset *os, const char *path, const summary *s, lz_error *err)
{
    static const char *const extra[] = {"ll_train_se", "log_z",   "log_z_se",       "pseudo_ll",
                                        "recon_err",   "fe_gap",  "ais_ess",        "update_seconds",
                                        "eval_seconds", "kept_epoch"};
    lz_summary sh = {s->model,   "binary",  s->h,      s->n_params,   s->ll_train,
                     s->ll_test, s->ll_se, s->method, s->iterations, s->seconds};
    FILE *f = lz_summary_begin(os, path, &sh, sizeof extra / sizeof extra[0], extra, err);
    if (!f) return err->status;
    double b[] = {s->ll_se,     s->log_z,  s->log_z_se, s->pseudo_ll,      s->recon_err,
                  s->fe_gap,    s->ais_ess, s->update_seconds, s->eval_seconds,
                  s->kept_epoch >= 0 ? s->kept_epoch : NAN};
    for (size_t i = 0; i < sizeof b / sizeof b[0]; i++) {
        fputc('\t', f);
        lz_put_num(f, b[i]);
    }
    fputc('\n', f);
    return LZ_OK;
}

/* ESS = (sum_r w_r)^2 / sum_r w_r^2 of the AIS weights w_r = exp(lw_r):
 * how many runs effectively carry the estimate (Kong 1992). */
static double effective_sample_size(size_t n, const double *lw)
{
    double mx = lw[0], s = 0, s2 = 0;
    for (size_t r = 1; r < n; r++)
        if (lw[r] > mx) mx = lw[r];
    for (size_t r = 0; r < n; r++) {
        double w = exp(lw[r] - mx);
        s += w;
        s2 += w * w;
    }
    return s * s / s2;
}

/* ---- the end-of-run note on falls of the exact log-likelihood ---- */

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
    int col = have_test ? 4 : 3; /* ll_test or ll_train in trace_names */
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
    if (nfall <= 2) snprintf(times, sizeof times, "%s", nfall == 1 ? "once" : "twice");
    else snprintf(times, sizeof times, "%zu times", nfall);
    printf("note: the exact %s log-likelihood fell by more than %g nats between consecutive "
           "epochs %s (", have_test ? "held-out" : "training", LL_FALL_NOTE, times);
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

/* ---- data ---- */

/* The binary (n, d) float version of a data set; frees the doubles. */
static lz_status prepare(lz_data *data, const rbm_prep *p, unsigned long seed,
                         unsigned long stream, float **out, lz_error *err)
{
    size_t nd = data->n * data->d;
    *out = malloc((nd > 0 ? nd : 1) * sizeof **out);
    if (!*out) return lz_fail(err, LZ_ENOMEM, "%s: out of memory", data->path);
    lz_status st = rbm_prepare(data, p, seed, stream, *out, err);
    if (st) {
        free(*out);
        *out = NULL;
        return st;
    }
    free(data->x); /* only the binary copy is used from here on */
    data->x = NULL;
    return LZ_OK;
}

/* ---- every output file, into one set ---- */

typedef struct {
    const char *prefix;
    size_t trace_rows;
    const double *trace; /* (trace_rows, TRACE_COLS) */
    const rbm_model *m;
    size_t n_samples;
    const double *pv;    /* (n_samples, d) */
    size_t n_latent;
    const double *latent; /* (n_latent, h) */
    const lz_data *labels; /* the latent rows' data set (its labels), or NULL */
    const summary *s;
    const char *save;
    const rbm_prep *prep;
    int k, pcd;
} outputs;

static lz_status write_outputs(lz_outset *os, const outputs *o, lz_error *err)
{
    char p[4096];
    const rbm_model *m = o->m;
    lz_status st;
    if (o->trace_rows) {
        FILE *f = lz_path(p, sizeof p, o->prefix, "trace.dat", err) ? NULL
                                                                     : lz_outset_open(os, p, err);
        if (!f) return err->status;
        lz_dat_header(f, ' ', TRACE_COLS, trace_names);
        for (size_t r = 0; r < o->trace_rows; r++)
            lz_dat_row(f, ' ', TRACE_COLS, o->trace + r * TRACE_COLS);
    }
    if (lz_path(p, sizeof p, o->prefix, "filters.dat", err)) return err->status;
    if ((st = lz_dat_write_matrixf(os, p, "x", m->h, m->d, m->w, NULL, err))) return st;
    if (o->pv) {
        if (lz_path(p, sizeof p, o->prefix, "samples.dat", err)) return err->status;
        if ((st = lz_dat_write_matrix(os, p, "x", o->n_samples, m->d, o->pv, NULL, err))) return st;
    }
    if (o->latent) {
        if (lz_path(p, sizeof p, o->prefix, "latent.dat", err)) return err->status;
        if ((st = lz_dat_write_matrix(os, p, "h", o->n_latent, m->h, o->latent, o->labels, err)))
            return st;
    }
    if (lz_path(p, sizeof p, o->prefix, "summary.tsv", err)) return err->status;
    if ((st = write_summary(os, p, o->s, err))) return st;
    if (o->save) {
        FILE *f = lz_outset_open(os, o->save, err);
        if (!f) {
            lz_error_prefix(err, "--save");
            return err->status;
        }
        rbm_save(f, m, o->prep, o->k, o->pcd);
    }
    return LZ_OK;
}

int main(int argc, char **argv)
{
    rbm_config cfg;
    rbm_config_defaults(&cfg);
    lz_common_opts co;
    lz_common_defaults(&co, "out/rbm");
    int bin_mode = RBM_BIN_THRESHOLD, n_samples = 100, sample_steps = 1000;
    double threshold = 0.5, scale = 1.0;
    /* the defaults that depend on --pcd, in words for --help (rbm_algo_default) */
    rbm_algo_defaults dc = rbm_algo_default(0), dp = rbm_algo_default(1);
    static const char *decay_name[] = {"none", "linear"};
    char h_lr[256], h_mom[160], h_batch[160], h_decay[400];
    snprintf(h_lr, sizeof h_lr,
             "learning rate of the first update (updates average the minibatch) (default: %g for "
             "CD; for PCD %g M/n, at most %g, so that the rates of an epoch's n/M updates add up "
             "to %g: %g for n = 60000 rows, M = %d)",
             dc.lr, dp.epoch_lr, dp.lr, dp.epoch_lr, dp.epoch_lr * dp.batch / 60000.0, dp.batch);
    snprintf(h_mom, sizeof h_mom, "momentum of the updates, 0 <= MU < 1 (default: %g for CD, %g for PCD)",
             dc.momentum, dp.momentum);
    snprintf(h_batch, sizeof h_batch,
             "minibatch rows (and PCD chains) (default: %d for CD, %d for PCD)", dc.batch, dp.batch);
    snprintf(h_decay, sizeof h_decay,
             "learning rate of update t = 0..T-1 of the run's T = E ceil(n/M) updates: none: ALPHA; "
             "linear: ALPHA (1 - t/T), falling to ALPHA/T at the last update (0 after it) "
             "(default: %s for CD, %s for PCD)", decay_name[dc.lr_decay], decay_name[dp.lr_decay]);
    lz_opt opts[] = {
        {"hidden", 0, LZ_OPT_INT, &cfg.h, "H", "hidden units"},
        {"cd", 0, LZ_OPT_INT, &cfg.k, "K", "Gibbs steps per update (CD-K, or PCD-K with --pcd)"},
        {"pcd", 0, LZ_OPT_FLAG, &cfg.pcd, NULL,
         "persistent contrastive divergence: --batch chains kept between updates"},
        {"lr", 0, LZ_OPT_REAL, &cfg.lr, "ALPHA", h_lr},
        {"lr-decay", 0, LZ_OPT_CHOICE, &cfg.lr_decay, "none|linear", h_decay},
        {"momentum", 0, LZ_OPT_REAL, &cfg.momentum, "MU", h_mom},
        {"weight-decay", 0, LZ_OPT_REAL, &cfg.weight_decay, "LAMBDA", "L2 penalty on W"},
        {"batch", 0, LZ_OPT_INT, &cfg.batch, "M", h_batch},
        {"epochs", 0, LZ_OPT_INT, &cfg.epochs, "E", "passes over the training data"},
        {"keep-best", 0, LZ_OPT_FLAG, &cfg.keep_best, NULL,
         "end with the parameters of the epoch with the best exact log-likelihood (held-out, "
         "else training): every output and --save describe that epoch's model; needs the exact "
         "log-likelihood every epoch (min(d,H) <= --exact-max-h and 2^min(d,H) max(d,H) <= 2^27)"},
        {"binarize", 0, LZ_OPT_CHOICE, &bin_mode, "threshold|sample|none",
         "grey levels to 0/1"},
        {"threshold", 0, LZ_OPT_REAL, &threshold, "T", "threshold of --binarize threshold"},
        {"scale", 0, LZ_OPT_REAL, &scale, "S",
         "divide every value by S first (digits' grey levels 0..16: --scale 16)"},
        {"monitor", 0, LZ_OPT_INT, &cfg.monitor, "N",
         "rows of the fixed train/test subsets scored every epoch (0: none)"},
        {"exact-max-h", 0, LZ_OPT_INT, &cfg.exact_max_h, "N",
         "exact log-likelihood when min(d, H) <= N (enumeration), else AIS"},
        {"ais-runs", 0, LZ_OPT_INT, &cfg.ais_runs, "R", "AIS: independent runs"},
        {"ais-steps", 0, LZ_OPT_INT, &cfg.ais_steps, "K", "AIS: intermediate distributions"},
        {"n-samples", 0, LZ_OPT_INT, &n_samples, "N", "Gibbs chains written to PREFIX.samples.dat"},
        {"sample-steps", 0, LZ_OPT_INT, &sample_steps, "S", "Gibbs sweeps of each sample chain"},
        LZ_COMMON_OPTIONS(&co),
        {0}};
    lz_cli cli = {
        PROG, "[options] DATA",
        "Train a restricted Boltzmann machine with CD-k or PCD-k; score it by its exact or "
        "annealed (AIS) log-likelihood.",
        "DATA (CSV/TSV/whitespace or IDX, optionally .gz) must be binary or grey levels in [0,1]\n"
        "(see --scale).  --binarize threshold: v = 1 when x > T; sample: v ~ Bernoulli(x), drawn\n"
        "once with the seed; none: the data must be 0/1 already.  Files written:\n"
        "  PREFIX.trace.dat     epoch recon_err pseudo_ll ll_train ll_test fe_gap seconds\n"
        "  PREFIX.filters.dat   x1..xd: the weights of each hidden unit, one a row\n"
        "  PREFIX.samples.dat   x1..xd: p(v|h) after --sample-steps Gibbs sweeps from random starts\n"
        "  PREFIX.latent.dat    h1..hH [label]: p(h=1|v) of the test set (else the training set)\n"
        "  PREFIX.summary.tsv   model, H, parameters, log-likelihoods, method, epochs, seconds\n"
        "The log-likelihood is exact (enumerating 2^min(d,H) states) when min(d,H) <= --exact-max-h,\n"
        "else estimated by annealed importance sampling, +- its standard error.\n",
        opts, 0, 1, 1};
    const char *path;
    int rc = lz_cli_start(&cli, &co, argc, argv, &path);
    if (rc >= 0) return rc;
    lz_error err;
    lz_error_clear(&err);
    cfg.seed = co.seed;
    rbm_config_resolve(&cfg, 0); /* the per-algorithm defaults of what was not given */
    if (co.load && cfg.keep_best)
        lz_fail(&err, LZ_EINVAL, "--keep-best and --load: a loaded model is not trained, so "
                                 "there is no epoch to keep; drop one of them");
    if (err.status || rbm_check_config(&cfg, 0, &err)) {
        lz_die_msg(PROG, &err);
        return 1;
    }
    if (n_samples < 0 || n_samples > 100000 || sample_steps < 1 || sample_steps > 100000000) {
        if (n_samples < 0 || n_samples > 100000)
            lz_fail(&err, LZ_EINVAL, "--n-samples %d: expected 0 <= N <= 100000", n_samples);
        else
            lz_fail(&err, LZ_EINVAL, "--sample-steps %d: expected 1 <= S <= 100000000",
                    sample_steps);
        lz_die_msg(PROG, &err);
        return 1;
    }
    rbm_prep prep = {(rbm_binarize)bin_mode, threshold, scale};
    if (!(prep.scale > 0) || !(prep.threshold >= 0 && prep.threshold < 1)) {
        if (!(prep.scale > 0)) lz_fail(&err, LZ_EINVAL, "--scale %g: expected S > 0", prep.scale);
        else lz_fail(&err, LZ_EINVAL, "--threshold %g: expected 0 <= T < 1", prep.threshold);
        lz_die_msg(PROG, &err);
        return 1;
    }
    /* the RBM runs its own threads, each calling single-threaded BLAS on its
     * rows (OpenMP and OpenBLAS threads would otherwise spin against each other) */
    rbm_set_threads(co.threads);
    lz_outset_install_signal_cleanup();

    lz_status st = LZ_OK;
    rbm_model *m = NULL;
    lz_data *train = NULL, *test = NULL;
    float *vtr = NULL, *vte = NULL;
    double *latent = NULL, *pv = NULL;
    lz_outset *os = NULL;
    trace_ctx tc = {co.quiet, 0, NULL, {0}, {0}};
    int k = cfg.k, pcd = cfg.pcd;
    if (co.load) {
        st = rbm_load(co.load, &m, &prep, &k, &pcd, &err);
    }
    if (!st) st = lz_load_inputs(&co, path, 2, &train, &test, &err);
    if (!st && m) {
        const lz_data *x = train ? train : test;
        if (x && x->d != m->d)
            st = lz_fail(&err, LZ_EINVAL,
                         "%s: %zu columns (labels excluded): the model %s has d = %zu visible units",
                         x->path, x->d, co.load, m->d);
    }
    if (!st && train) st = prepare(train, &prep, co.seed, RBM_STREAM_BIN_TRAIN, &vtr, &err);
    if (!st && test) st = prepare(test, &prep, co.seed, RBM_STREAM_BIN_TEST, &vte, &err);
    if (st) goto fail;
    size_t d = m ? m->d : train->d;
    if (!m) { /* a rate that depends on the training rows; --keep-best against d */
        rbm_config_resolve(&cfg, train->n);
        if ((st = rbm_check_config(&cfg, d, &err))) goto fail;
    }

    /* ---- train ---- */
    if (!m) {
        if (!(m = rbm_alloc(d, (size_t)cfg.h)) ||
            !(tc.t = malloc(((size_t)cfg.epochs + 1) * TRACE_COLS * sizeof *tc.t))) {
            st = lz_fail(&err, LZ_ENOMEM, "d = %zu, H = %d: out of memory", d, cfg.h);
            goto fail;
        }
        rbm_set_base_rate(m, train->n, vtr);
        rbm_init(m, cfg.init_sd, cfg.seed);
        if (!co.quiet) {
            printf("%s: %s-%d on %s: n = %zu, d = %zu, H = %d, batch %d, lr %g%s, momentum %g%s\n",
                   PROG, cfg.pcd ? "PCD" : "CD", cfg.k, train->path, train->n, d, cfg.h,
                   cfg.batch, cfg.lr, cfg.lr_decay == RBM_DECAY_LINEAR ? " decaying linearly to 0" : "",
                   cfg.momentum,
                   rbm_exact_every_epoch(d, (size_t)cfg.h, cfg.exact_max_h)
                       ? "; exact log-likelihood every epoch" : "");
            lz_print_blas(stdout, 1, rbm_threads());
        }
        st = rbm_train(m, &cfg, train->n, vtr, test ? test->n : 0, vte, on_epoch, &tc, &err);
        if (st) goto fail;
    }

    /* ---- log-likelihood ---- */
    double t_eval = lz_now();
    summary s;
    memset(&s, 0, sizeof s);
    snprintf(s.model, sizeof s.model, "rbm-%s%d", pcd ? "pcd" : "cd", k);
    s.h = m->h;
    s.n_params = rbm_n_params(m);
    s.iterations = tc.rows ? tc.last.epoch : 0;
    s.seconds = tc.rows ? tc.last.seconds : 0;
    s.update_seconds = tc.rows ? tc.last.update_seconds : 0;
    /* the monitored numbers of the epoch whose model this is */
    const rbm_epoch *ke = cfg.keep_best ? &tc.best : &tc.last;
    s.kept_epoch = tc.rows ? ke->epoch : -1;
    s.pseudo_ll = tc.rows ? ke->pseudo_ll : NAN;
    s.recon_err = tc.rows ? ke->recon_err : NAN;
    s.fe_gap = tc.rows ? ke->fe_gap : NAN;
    s.ais_ess = NAN;
    size_t nsz = rbm_enum_size(m->d, m->h);
    int exact = nsz <= (size_t)cfg.exact_max_h;
    rbm_eval *ev = rbm_eval_alloc(m->d, m->h, exact ? cfg.exact_max_h : 0, &err);
    if (!ev) {
        st = err.status;
        goto fail;
    }
    rbm_eval_sync(ev, m);
    if (exact) {
        s.method = "exact-enum";
        s.log_z_se = 0;
        if (!co.quiet) {
            printf("log Z: enumerating 2^%zu %s states ...\n", nsz, m->h <= m->d ? "hidden" : "visible");
            fflush(stdout);
        }
        st = rbm_eval_log_z(ev, RBM_ENUM_AUTO, &s.log_z, &err);
    } else {
        s.method = "ais";
        if (!co.quiet) {
            printf("log Z: annealed importance sampling, %d runs x %d steps ...\n", cfg.ais_runs,
                   cfg.ais_steps);
            fflush(stdout);
        }
        double *lw = malloc((size_t)cfg.ais_runs * sizeof *lw); /* (runs) log weights */
        if (!lw) st = lz_fail(&err, LZ_ENOMEM, "AIS: out of memory");
        else st = rbm_log_z_ais(m, cfg.ais_runs, cfg.ais_steps, co.seed, &s.log_z, &s.log_z_se, lw,
                                &err);
        if (!st) s.ais_ess = effective_sample_size((size_t)cfg.ais_runs, lw);
        free(lw);
    }
    s.ll_se = s.log_z_se;
    s.ll_train = train && !st ? -rbm_eval_free_energy(ev, train->n, vtr, NULL) - s.log_z : NAN;
    s.ll_test = test && !st ? -rbm_eval_free_energy(ev, test->n, vte, NULL) - s.log_z : NAN;
    const lz_data *lat = test ? test : train;
    const float *vlat = test ? vte : vtr;
    if (!st && lat) {
        if (!(latent = malloc(lat->n * m->h * sizeof *latent)))
            st = lz_fail(&err, LZ_ENOMEM, "latent file: out of memory");
        else
            rbm_eval_hidden(ev, lat->n, vlat, latent);
    }
    rbm_eval_free(ev);
    if (!st && n_samples > 0) {
        if (!(pv = malloc((size_t)n_samples * m->d * sizeof *pv)))
            st = lz_fail(&err, LZ_ENOMEM, "samples: out of memory");
        else
            st = rbm_sample(m, (size_t)n_samples, sample_steps, co.seed, pv, &err);
    }
    s.eval_seconds = lz_now() - t_eval;
    if (st) goto fail;

    /* ---- outputs ---- */
    const char *pre = co.output;
    if (!(os = lz_outset_alloc())) {
        st = lz_fail(&err, LZ_ENOMEM, "out of memory");
        goto fail;
    }
    outputs out = {pre, tc.rows, tc.t, m, (size_t)n_samples, pv, lat ? lat->n : 0, latent,
                   lat, &s, co.save, &prep, k, pcd};
    if ((st = write_outputs(os, &out, &err))) goto fail;
    if ((st = lz_outset_commit(os, &err))) goto fail;

    /* ---- report ---- */
    if (tc.rows)
        printf("%s: d = %zu, H = %zu, %zu parameters, %d epochs in %.2f s (updates %.2f s)\n",
               s.model, m->d, m->h, s.n_params, s.iterations, s.seconds, s.update_seconds);
    else
        printf("%s (loaded from %s): d = %zu, H = %zu, %zu parameters\n", s.model, co.load, m->d,
               m->h, s.n_params);
    if (exact)
        printf("log Z = %.6f (exact, 2^%zu states enumerated)\n", s.log_z, nsz);
    else
        printf("log Z = %.4f +- %.4f (AIS, %d runs x %d steps; effective sample size of the "
               "weights %.1f%s)\n", s.log_z, s.log_z_se, cfg.ais_runs, cfg.ais_steps, s.ais_ess,
               s.ais_ess < 0.1 * cfg.ais_runs ? ": few runs carry the estimate, raise --ais-steps"
                                              : "");
    printf("log-likelihood per sample (nats):");
    if (train) printf(" train %.4f", s.ll_train);
    if (test) printf("%s test %.4f", train ? "," : "", s.ll_test);
    if (!train && !test) printf(" no data given");
    if (exact) printf(" (exact)\n");
    else printf(" (+- %.4f, AIS)\n", s.ll_se);
    if (tc.rows && cfg.keep_best)
        printf("--keep-best: the model of epoch %d of %d, the best exact %s log-likelihood\n",
               s.kept_epoch, s.iterations, test ? "held-out" : "training");
    if (tc.rows) note_falls(&tc, test != NULL, &cfg);
    if (!co.quiet) {
        printf("wrote");
        const char *sfx[] = {"trace.dat", "filters.dat", "samples.dat", "latent.dat", "summary.tsv"};
        int have[] = {tc.rows > 0, 1, pv != NULL, latent != NULL, 1};
        for (int i = 0; i < 5; i++)
            if (have[i]) printf(" %s.%s", pre, sfx[i]);
        if (co.save) printf(" %s", co.save);
        putchar('\n');
    }
    rc = 0;
    goto done;
fail:
    lz_die_msg(PROG, &err);
    rc = 1;
done:
    lz_outset_free(os); /* removes what a failed run began to write */
    rbm_free(m);
    lz_data_free(train);
    lz_data_free(test);
    free(vtr);
    free(vte);
    free(latent);
    free(pv);
    free(tc.t);
    return rc;
}
