/* main.c -- nlgm_vae: train a VAE, the non-linear Gaussian model (docs/vae.md).
 *
 *     nlgm_vae [options] DATA
 *
 * options -> data -> the model (a new one and its data map, or --load) ->
 * the data in model space -> training (one line an epoch) -> evaluation ->
 * every file through one lz_outset committed at the end -> final report.
 * Dimension letters: n samples, d data, k latent.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_rng.h>

#include "lz_cli.h"
#include "lz_data.h"
#include "lz_linalg.h"
#include "lz_out.h"
#include "lz_prob.h"
#include "lz_time.h"
#include "vae.h"

#define PROG "nlgm_vae"

static const char *SUMMARY =
    "Train a variational autoencoder (the non-linear Gaussian model, NLGM) on DATA and\n"
    "estimate its log-likelihood by importance sampling.";

static const char *DETAILS =
    "Files written (PREFIX from -o):\n"
    "  PREFIX.trace.dat     one row an epoch: loss_train recon_train kl_train (-ELBO per\n"
    "                       sample), loss_test, sigma2, seconds, samples_per_sec\n"
    "  PREFIX.latent.dat    encoder means z1..zk of the test set (else DATA), label\n"
    "  PREFIX.samples.dat   decoder means x1..xd of z drawn from N(0, I)\n"
    "  PREFIX.recon.dat     the first 64 inputs (source 0) and reconstructions (source 1)\n"
    "  PREFIX.manifold.dat  k = 2: decoder means over a G x G grid of z\n"
    "  PREFIX.gradvar.dat   --grad-var: epoch estimator baseline mean_var total_var snr\n"
    "  PREFIX.summary.tsv   ELBO and importance-weighted log-likelihood per sample,\n"
    "                       the active latent units (Cov_x E[z|x] > 0.01)\n"
    "Bernoulli outputs are probabilities; Gaussian outputs and densities are in the\n"
    "data's units (the model sees each column standardised; --standardize overall for\n"
    "columns in one unit, such as pixels).  See docs/vae.md.\n"
    "\n"
    "Examples:\n"
    "  nlgm_vae --scale 16 --label-col last data/digits.csv    # Bernoulli, k = 20\n"
    "  nlgm_vae --likelihood gaussian -k 2 --epochs 100 --label-col last data/digits.csv\n"
    "  nlgm_vae --binarize dynamic /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz\n"
    "  nlgm_vae --scale 16 --estimator score --baseline net --grad-var 20 data/digits.csv\n"
    "  nlgm_vae --scale 16 --objective iwae --samples 5 data/digits.csv   # the IWAE bound\n"
    "  gnuplot -c plots/gradvar.gp out/vae                     # variance per estimator\n"
    "  gnuplot -c plots/manifold.gp out/vae                    # decoder over a grid of z\n";

/* everything a run holds */
typedef struct {
    vae_config cfg;
    lz_common_opts co;
    int epochs; /* --epochs, or LZ_UNSET_INT: vae_default_epochs(n, batch) */
    int k, batch, act, lik, decoder, binarize,
        standardize; /* the option table's ints for cfg's fields */
    int objective, estimator, baseline;
    char hidden_default[32]; /* cfg's encoder widths as --hidden reads them */
    const char *hidden, *dec_hidden, *data_path;
    lz_data *train, *test;
    vae_model *mod;
    vae_real *xtr, *xte;   /* (n, d), (nt, d) the data in model space (vae_prepare) */
    vae_epoch_info *trace; /* (epochs) one line an epoch */
    int n_trace;
    vae_gradvar *gradvar; /* (epochs + 1, VAE_N_GRADVAR) --grad-var: epoch 0, 1, ... */
    int n_gradvar;        /* epochs measured */
    double last_progress;
    vae_eval ev;
    lz_error err;
} run;

/* ---------------------------------------------------------------- options */

/* "400" or "400,200" -> widths; "0" -> no layer */
static lz_status parse_widths(const char *opt, const char *s, size_t *w, size_t *n, lz_error *err)
{
    *n = 0;
    if (!strcmp(s, "0")) return LZ_OK;
    const char *p = s;
    for (;;) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno || v < 1 || v > 1000000 || (*end && *end != ','))
            return lz_fail(err, LZ_EINVAL,
                           "%s '%s': expected widths 1..1000000 separated by commas (0: none)", opt,
                           s);
        if (*n == VAE_MAX_LAYERS)
            return lz_fail(err, LZ_EINVAL, "%s '%s': at most %d hidden layers", opt, s,
                           VAE_MAX_LAYERS);
        w[(*n)++] = (size_t)v;
        if (!*end) return LZ_OK;
        p = end + 1;
    }
}

/* widths (n) -> "400,200" ("0" when n = 0), as parse_widths reads them */
static void format_widths(const size_t *w, size_t n, char *buf, size_t cap)
{
    size_t len = (size_t)snprintf(buf, cap, "%s", n ? "" : "0");
    for (size_t l = 0; l < n && len < cap; l++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%zu", l ? "," : "", w[l]);
}

/* the options into the config, then vae_config_check */
static lz_status build_config(run *r)
{
    vae_config *c = &r->cfg;
    vae_arch *a = &c->arch;
    lz_error *err = &r->err;
    if (r->k != LZ_UNSET_INT && r->k < 1)
        return lz_fail(err, LZ_EINVAL, "-k %d: expected k >= 1", r->k);
    if (r->batch < 1) return lz_fail(err, LZ_EINVAL, "--batch %d: expected >= 1", r->batch);
    a->k = r->k == LZ_UNSET_INT ? VAE_K_DEFAULT : (size_t)r->k; /* unset: d known later */
    if (r->epochs != LZ_UNSET_INT) c->epochs = r->epochs;       /* unset: n known later */
    lz_status st = parse_widths("--hidden", r->hidden, a->enc, &a->n_enc, err);
    if (st) return st;
    a->decoder = (vae_dec)r->decoder;
    if (a->decoder == VAE_DEC_LINEAR)
        a->n_dec = 0;
    else if (!strcmp(r->dec_hidden, "same")) {
        /* the decoder mirrors the encoder: d-400-200-k-200-400-d */
        a->n_dec = a->n_enc;
        for (size_t l = 0; l < a->n_enc; l++) a->dec[l] = a->enc[a->n_enc - 1 - l];
        if (a->n_dec == 0)
            return lz_fail(err, LZ_EINVAL,
                           "--hidden 0 and an MLP decoder: give the decoder's layers with "
                           "--dec-hidden, or use --decoder linear");
    } else if ((st = parse_widths("--dec-hidden", r->dec_hidden, a->dec, &a->n_dec, err)))
        return st;
    a->act = (vae_act)r->act;
    a->lik = (vae_lik)r->lik;
    a->learn_sigma2 = a->lik == VAE_GAUSSIAN && c->sigma2 == 0;
    c->batch = (size_t)r->batch;
    c->binarize = (vae_bin)r->binarize;
    c->standardize = (vae_std)r->standardize;
    c->objective = (vae_objective)r->objective;
    c->estimator = (vae_estimator)r->estimator;
    c->baseline = (vae_baseline)r->baseline;
    c->seed = r->co.seed;
    return vae_config_check(c, err);
}

/* options -> lz_cli_start -> config check: -1 to go on, else the exit status */
static int parse_options(run *r, int argc, char **argv)
{
    vae_config *c = &r->cfg;
    vae_config_default(c);
    lz_common_defaults(&r->co, "out/vae");
    r->k = LZ_UNSET_INT; /* vae_default_k(d) */
    r->epochs = LZ_UNSET_INT;
    r->batch = (int)c->batch;
    r->act = (int)c->arch.act;
    r->lik = (int)c->arch.lik;
    r->decoder = (int)c->arch.decoder;
    r->binarize = (int)c->binarize;
    r->standardize = (int)c->standardize;
    r->objective = (int)c->objective;
    r->estimator = (int)c->estimator;
    r->baseline = (int)c->baseline;
    format_widths(c->arch.enc, c->arch.n_enc, r->hidden_default, sizeof r->hidden_default);
    r->hidden = r->hidden_default;
    r->dec_hidden = "same";
    lz_opt opts[] = {
        {"k", 'k', LZ_OPT_INT, &r->k, "K",
         "latent dimension (default: 20, or d - 1 for data of d <= 20 columns: a latent "
         "space smaller than the data's)"},
        {"hidden", 0, LZ_OPT_STR, &r->hidden, "H[,H..]",
         "encoder hidden widths, x to z (the decoder mirrors them); 0: none"},
        {"dec-hidden", 0, LZ_OPT_STR, &r->dec_hidden, "H[,H..]",
         "decoder hidden widths, z to x ('same': --hidden reversed)"},
        {"act", 0, LZ_OPT_CHOICE, &r->act, "relu|tanh", "hidden activation"},
        {"likelihood", 0, LZ_OPT_CHOICE, &r->lik, "bernoulli|gaussian",
         "p(x|z): Bernoulli(sigm f(z)) on [0,1] data, or N(f(z), sigma^2 I)"},
        {"sigma2", 0, LZ_OPT_REAL, &c->sigma2, "V",
         "Gaussian: fix sigma^2 to V (--standardize overall: data units; column: a fraction "
         "of each column's variance); 0: learn it"},
        {"standardize", 0, LZ_OPT_CHOICE, &r->standardize, "column|overall",
         "Gaussian: divide each column by its own standard deviation (the fit does not "
         "depend on the columns' units), or all by the overall one (columns in one unit, "
         "such as pixels: sigma^2 I is then isotropic in the data's units)"},
        {"decoder", 0, LZ_OPT_CHOICE, &r->decoder, "mlp|linear",
         "f(z): an MLP, or f(z) = A z + b (the linear Gaussian model)"},
        {"epochs", 0, LZ_OPT_INT, &r->epochs, "N",
         "passes over the training data (default: 10, or as many as make 1000 Adam steps "
         "when an epoch has fewer than 100 minibatches)"},
        {"batch", 0, LZ_OPT_INT, &r->batch, "M", "minibatch size"},
        {"lr", 0, LZ_OPT_REAL, &c->lr, "RATE", "Adam step size"},
        {"samples", 0, LZ_OPT_INT, &c->samples, "L",
         "samples of z per datum in training (--objective iwae: the bound's K)"},
        {"objective", 0, LZ_OPT_CHOICE, &r->objective, "elbo|iwae",
         "the ELBO, or the importance-weighted bound of Burda et al. with K = --samples "
         "(K = 1: the ELBO)"},
        {"beta", 0, LZ_OPT_REAL, &c->beta, "B", "the ELBO's KL weight (1: the ELBO; beta-VAE)"},
        {"kl-warmup", 0, LZ_OPT_INT, &c->kl_warmup, "E",
         "the KL weight rises linearly from 0 to B over the first E epochs, step by step: "
         "B min(1, t / (E nb)) at minibatch t = 0, 1, ... of nb an epoch (0: B throughout)"},
        {"estimator", 0, LZ_OPT_CHOICE, &r->estimator, "reparam|score",
         "the encoder's gradient: reparameterised, or the score function (REINFORCE)"},
        {"baseline", 0, LZ_OPT_CHOICE, &r->baseline, "none|mean|net",
         "score: the control variate, a running mean or NVIL's input-dependent network"},
        {"grad-var", 0, LZ_OPT_INT, &c->grad_var, "N",
         "before training and after each epoch, N draws of every estimator's gradient on a "
         "fixed minibatch: PREFIX.gradvar.dat (0: none)"},
        {"iw", 0, LZ_OPT_INT, &c->iw, "K", "importance samples for the log-likelihood estimate"},
        {"iw-train-rows", 0, LZ_OPT_INT, &c->iw_train_rows, "N",
         "estimate ll_train on N random training rows, the same for every seed (0: all)"},
        {"binarize", 0, LZ_OPT_CHOICE, &r->binarize, "none|threshold|dynamic",
         "Bernoulli: binarise x (threshold 1/2, or a new draw x~Bernoulli(x) each use)"},
        {"scale", 0, LZ_OPT_REAL, &c->scale, "V",
         "Bernoulli: divide the data by V first (16 for grey levels 0..16)"},
        {"grid", 0, LZ_OPT_INT, &c->grid, "G", "k = 2: a G x G grid of z for the manifold file"},
        {"n-samples", 0, LZ_OPT_INT, &c->n_samples, "N", "rows of the samples file"},
        LZ_COMMON_OPTIONS(&r->co),
        {0}};
    lz_cli cli = {PROG, "[options] DATA", SUMMARY, DETAILS, opts, 0, 1, 0, 0};
    int rc = lz_cli_start(&cli, &r->co, argc, argv, &r->data_path);
    if (rc >= 0) return rc;
    if (build_config(r)) {
        lz_die_msg(PROG, &r->err);
        return 1;
    }
    lz_set_threads(r->co.threads);
    lz_outset_install_signal_cleanup();
    return -1;
}

/* ------------------------------------------------------------------- data */

/* DATA, --test or --split (the checks against the model come with it: prepare) */
static lz_status load_inputs(run *r)
{
    return lz_load_inputs(&r->co, r->data_path, r->co.load ? 1 : 2, &r->train, &r->test, &r->err);
}

/* --load: the model, its width against the data's */
static lz_status load_model(run *r)
{
    lz_status st = vae_model_read(r->co.load, &r->mod, &r->err);
    if (!st) st = lz_data_check_width(r->train, r->mod->a.d, r->co.load, &r->err);
    if (!st) st = lz_data_check_width(r->test, r->mod->a.d, r->co.load, &r->err);
    return st;
}

/* a new model of the options' architecture, its data map from DATA */
static lz_status make_model(run *r)
{
    const lz_data *tr = r->train;
    r->cfg.arch.d = tr->d;
    if (r->k == LZ_UNSET_INT) r->cfg.arch.k = vae_default_k(tr->d);
    if (r->epochs == LZ_UNSET_INT) r->cfg.epochs = vae_default_epochs(tr->n, r->cfg.batch);
    if (!(r->mod = vae_model_alloc(&r->cfg.arch, &r->err))) return r->err.status;
    double *var = malloc(tr->d * sizeof *var); /* (d) column variances */
    if (!var) return lz_fail(&r->err, LZ_ENOMEM, "out of memory");
    lz_status st = vae_set_data_map(r->mod, &r->cfg, tr, var, &r->err);
    /* Gaussian: --standardize overall, an isotropic sigma^2 I in the data's
     * units, says so when the columns' scales differ by orders of magnitude;
     * column, which divides a constant column by |its mean|, names those */
    if (!st && r->mod->a.lik == VAE_GAUSSIAN && !r->co.quiet) {
        if (r->mod->standardize == VAE_STD_OVERALL)
            lz_note_spread(tr, var, "the Gaussian likelihood's noise sigma^2 I");
        else
            lz_note_constant(tr, var);
    }
    free(var);
    return st;
}

/* the data in model space, checked against the model: the training rows as
 * vae_fit takes them (grey levels under dynamic binarisation), the test
 * rows binarised once */
static lz_status prepare(run *r)
{
    lz_status st = r->train ? vae_prepare(r->mod, r->train, NULL, &r->xtr, &r->err) : LZ_OK;
    if (st || !r->test) return st;
    gsl_rng *bin = lz_rng_alloc_stream(r->co.seed, VAE_STREAM_BIN_TEST);
    st = bin ? vae_prepare(r->mod, r->test, bin, &r->xte, &r->err)
             : lz_fail(&r->err, LZ_ENOMEM, "out of memory");
    gsl_rng_free(bin);
    return st;
}

/* -------------------------------------------------------------------- fit */

static void on_batch(int epoch, size_t b, size_t nb, void *ctx)
{
    run *r = ctx;
    if (r->co.quiet) return;
    double now = lz_now();
    if (now - r->last_progress < 0.25 && b < nb) return;
    r->last_progress = now;
    lz_progress("epoch %d: minibatch %zu/%zu", epoch, b, nb);
}

/* the KL weight is worth a column when it is not 1 throughout */
static int beta_varies(const vae_config *c) { return c->beta != 1 || c->kl_warmup > 0; }

/* "reparam", "score", "score-mean", "score-net" */
static const char *gradvar_name(const vae_gradvar *g)
{
    static const char *const names[] = {"score", "score-mean", "score-net"};
    return g->estimator == VAE_EST_REPARAM ? "reparam" : names[g->baseline];
}

/* one line an epoch, as it happens (and one of gradient variances) */
static int on_epoch(const vae_epoch_info *e, void *ctx)
{
    run *r = ctx;
    if (e->n_gradvar)
        memcpy(r->gradvar + (size_t)r->n_gradvar++ * VAE_N_GRADVAR, e->gradvar, sizeof e->gradvar);
    if (e->epoch > 0) r->trace[r->n_trace++] = *e;
    if (r->co.quiet) return 0;
    lz_progress_end();
    if (e->epoch > 0 && vae_epoch_shown(e->epoch, r->cfg.epochs)) {
        printf("epoch %3d  loss %.4f = recon %.4f + kl %.4f", e->epoch, e->loss_train,
               e->recon_train, e->kl_train);
        if (beta_varies(&r->cfg)) printf("  beta %.4g", e->beta);
        if (!isnan(e->iwae_train)) printf("  -L_%d %.4f", r->cfg.samples, e->iwae_train);
        if (!isnan(e->loss_test)) printf("  test %.4f", e->loss_test);
        if (r->mod->a.lik == VAE_GAUSSIAN) printf("  sigma2 %.6g", e->sigma2);
        printf("  %.2f s  %.0f samples/s\n", e->seconds, e->samples_per_sec);
    }
    if (e->n_gradvar) {
        printf("%s  gradient variance (total):", e->epoch ? "         " : "epoch   0");
        for (int i = 0; i < e->n_gradvar; i++)
            printf("  %s %.3g", gradvar_name(&e->gradvar[i]), e->gradvar[i].total_var);
        putchar('\n');
    }
    fflush(stdout);
    return 0;
}

static void print_start(const run *r)
{
    const vae_model *mod = r->mod;
    printf("%s: %s, d = %zu, k = %zu, %zu parameters, %zu training rows", PROG, vae_model_name(mod),
           mod->a.d, mod->a.k, vae_n_params(mod), r->train->n);
    if (r->test && r->test->n) printf(", %zu test rows", r->test->n);
    printf("\n");
    lz_print_blas(stdout, lz_get_threads(), 0);
    char note[320];
    if (vae_steps_note(&r->cfg, r->train->n, note, sizeof note)) printf("%s\n", note);
    fflush(stdout);
}

/* initialise, then train on DATA, scoring the test set after every epoch */
static lz_status fit(run *r)
{
    size_t nt = r->test ? r->test->n : 0;
    size_t ep = (size_t)r->cfg.epochs;
    if (!(r->trace = calloc(ep, sizeof *r->trace)) ||
        (r->cfg.grad_var && !(r->gradvar = calloc((ep + 1) * VAE_N_GRADVAR, sizeof *r->gradvar))))
        return lz_fail(&r->err, LZ_ENOMEM, "out of memory");
    lz_status st = vae_init(r->mod, r->cfg.seed, r->cfg.sigma2, &r->err);
    if (st) return st;
    if (!r->co.quiet) print_start(r);
    st = vae_fit(r->mod, &r->cfg, r->xtr, r->train->n, r->xte, nt, on_epoch, on_batch, r, &r->err);
    lz_progress_end();
    return st;
}

/* training wall time: the last epoch's clock */
static double train_seconds(const run *r)
{
    return r->n_trace ? r->trace[r->n_trace - 1].seconds : 0;
}

/* ------------------------------------------------------------- evaluation */

/* ll_train, ll_test and what the latent, recon, samples and manifold files show */
static lz_status evaluate(run *r)
{
    if (!r->co.quiet) lz_progress("estimating the log-likelihood (iw-%d) ...", r->cfg.iw);
    lz_status st =
        vae_evaluate(r->mod, &r->cfg, r->train, r->xtr, r->test, r->xte, &r->ev, &r->err);
    lz_progress_end();
    return st;
}

/* ----------------------------------------------------------------- output */

static lz_status write_trace(lz_outset *os, const char *path, const run *r, lz_error *err)
{
    FILE *f = lz_outset_open(os, path, err);
    if (!f) return err->status;
    /* the columns of every run, then the KL weight when it is not 1
     * throughout and the IWAE bound when it is trained */
    int with_beta = beta_varies(&r->cfg), with_iwae = r->cfg.objective == VAE_OBJ_IWAE;
    const char *names[13] = {"epoch",     "loss_train",    "recon_train",    "kl_train",
                             "loss_test", "recon_test",    "kl_test",        "sigma2",
                             "seconds",   "train_seconds", "samples_per_sec"};
    size_t nc = 11;
    if (with_beta) names[nc++] = "beta";
    if (with_iwae) names[nc++] = "loss_iwae_train";
    lz_dat_header(f, ' ', nc, names);
    for (int i = 0; i < r->n_trace; i++) {
        const vae_epoch_info *e = &r->trace[i];
        double v[13] = {e->epoch,     e->loss_train,    e->recon_train,    e->kl_train,
                        e->loss_test, e->recon_test,    e->kl_test,        e->sigma2,
                        e->seconds,   e->train_seconds, e->samples_per_sec};
        size_t q = 11;
        if (with_beta) v[q++] = e->beta;
        if (with_iwae) v[q++] = e->iwae_train;
        lz_dat_row(f, ' ', nc, v);
    }
    return LZ_OK;
}

/* epoch estimator baseline mean_var total_var snr: VAE_N_GRADVAR rows an
 * epoch measured, epoch 0 the initial parameters */
static lz_status write_gradvar(lz_outset *os, const char *path, const run *r, lz_error *err)
{
    static const char *const est[] = {"reparam", "score"}, *const base[] = {"none", "mean", "net"};
    FILE *f = lz_outset_open(os, path, err);
    if (!f) return err->status;
    fprintf(f, "# epoch estimator baseline mean_var total_var snr\n");
    for (int q = 0; q < r->n_gradvar; q++)
        for (int i = 0; i < VAE_N_GRADVAR; i++) {
            const vae_gradvar *g = &r->gradvar[q * VAE_N_GRADVAR + i];
            fprintf(f, "%d %s %s ", q, est[g->estimator], base[g->baseline]);
            lz_put_num(f, g->mean_var);
            fputc(' ', f);
            lz_put_num(f, g->total_var);
            fputc(' ', f);
            lz_put_num(f, g->snr);
            fputc('\n', f);
        }
    return LZ_OK;
}

/* "# LEAD x1 .. xd" */
static void header_x(FILE *f, const char *lead, size_t d)
{
    fprintf(f, "# %s", lead);
    for (size_t j = 0; j < d; j++) fprintf(f, " x%zu", j + 1);
    fputc('\n', f);
}

/* sample source x1..xd: the inputs (source 0), then their reconstructions */
static lz_status write_recon(lz_outset *os, const char *path, const vae_eval *ev, size_t d,
                             lz_error *err)
{
    FILE *f = lz_outset_open(os, path, err);
    if (!f) return err->status;
    size_t nr = ev->n_recon;
    header_x(f, "sample source", d);
    for (int src = 0; src < 2; src++)
        for (size_t i = 0; i < nr; i++) {
            fprintf(f, "%zu %d", i + 1, src);
            for (size_t j = 0; j < d; j++) {
                fputc(' ', f);
                lz_put_num(f, ev->recon[(src * nr + i) * d + j]);
            }
            fputc('\n', f);
        }
    return LZ_OK;
}

/* row col z1 z2 x1..xd: the decoder over the grid */
static lz_status write_manifold(lz_outset *os, const char *path, const vae_eval *ev, size_t d,
                                lz_error *err)
{
    FILE *f = lz_outset_open(os, path, err);
    if (!f) return err->status;
    size_t G = ev->grid;
    header_x(f, "row col z1 z2", d);
    for (size_t r = 0; r < G; r++)
        for (size_t c = 0; c < G; c++) {
            size_t i = r * G + c;
            fprintf(f, "%zu %zu ", r + 1, c + 1);
            lz_put_num(f, ev->grid_z[i * 2]);
            fputc(' ', f);
            lz_put_num(f, ev->grid_z[i * 2 + 1]);
            for (size_t j = 0; j < d; j++) {
                fputc(' ', f);
                lz_put_num(f, ev->grid_x[i * d + j]);
            }
            fputc('\n', f);
        }
    return LZ_OK;
}

static lz_status write_summary(lz_outset *os, const char *path, const run *r, lz_error *err)
{
    static const char *const extra[] = {"elbo_train",    "elbo_test", "iw_k",
                                        "ll_train_rows", "sigma2",    "active_units"};
    const vae_model *mod = r->mod;
    const vae_eval *ev = &r->ev;
    char method[32], name[96];
    snprintf(method, sizeof method, "iw-%d", r->cfg.iw);
    if (r->co.load)
        snprintf(name, sizeof name, "%s", vae_model_name(mod));
    else
        vae_run_name(mod, &r->cfg, name, sizeof name);
    lz_summary s = {.model = name,
                    .family = mod->a.lik == VAE_GAUSSIAN ? "continuous" : "binary",
                    .k = mod->a.k,
                    .n_params = vae_n_params(mod),
                    .ll_train = ev->train.ll,
                    .ll_test = ev->test.ll,
                    .ll_test_se = ev->test.ll_se,
                    .method = method,
                    .iterations = r->n_trace,
                    .seconds = train_seconds(r)};
    FILE *f = lz_summary_begin(os, path, &s, sizeof extra / sizeof extra[0], extra, err);
    if (!f) return err->status;
    fputc('\t', f);
    lz_put_num(f, ev->train.elbo);
    fputc('\t', f);
    lz_put_num(f, ev->test.elbo);
    fprintf(f, "\t%d\t%zu\t", r->cfg.iw, ev->train.rows);
    lz_put_num(f, vae_sigma2(mod));
    fputc('\t', f);
    /* Burda's active units of the latent file's rows (nan without any) */
    lz_put_num(f, ev->set ? (double)ev->active_units : NAN);
    fputc('\n', f);
    return LZ_OK;
}

/* every file through one output set, committed at the end */
static lz_status write_outputs(run *r)
{
    lz_outset *os = lz_outset_alloc();
    const char *pre = r->co.output;
    const vae_eval *ev = &r->ev;
    size_t d = r->mod->a.d, k = r->mod->a.k;
    char p[4096];
    lz_error *e = &r->err;
    lz_status st = os ? LZ_OK : lz_fail(e, LZ_ENOMEM, "out of memory");
    if (!st && !r->co.load && !(st = lz_path(p, sizeof p, pre, "trace.dat", e)))
        st = write_trace(os, p, r, e);
    if (!st && ev->set && !(st = lz_path(p, sizeof p, pre, "latent.dat", e)))
        st = lz_dat_write_matrix(os, p, "z", ev->set->n, k, ev->latent, ev->set, e);
    if (!st && ev->set && !(st = lz_path(p, sizeof p, pre, "recon.dat", e)))
        st = write_recon(os, p, ev, d, e);
    if (!st && !(st = lz_path(p, sizeof p, pre, "samples.dat", e)))
        st = lz_dat_write_matrix(os, p, "x", ev->n_samples, d, ev->samples, NULL, e);
    if (!st && ev->grid && !(st = lz_path(p, sizeof p, pre, "manifold.dat", e)))
        st = write_manifold(os, p, ev, d, e);
    if (!st && r->n_gradvar && !(st = lz_path(p, sizeof p, pre, "gradvar.dat", e)))
        st = write_gradvar(os, p, r, e);
    if (!st && !(st = lz_path(p, sizeof p, pre, "summary.tsv", e))) st = write_summary(os, p, r, e);
    if (!st && r->co.save && (st = vae_model_write(r->mod, os, r->co.save, e)))
        lz_error_prefix(e, "--save");
    if (!st) st = lz_outset_commit(os, e);
    lz_outset_free(os);
    return st;
}

/* ----------------------------------------------------------------- report */

static void report(const run *r)
{
    const vae_model *mod = r->mod;
    const vae_loglik_result *te = &r->ev.test, *tr = &r->ev.train;
    printf("%s: %s, k = %zu, %zu parameters", PROG, vae_model_name(mod), mod->a.k,
           vae_n_params(mod));
    if (!r->co.load) printf(", %d epochs in %.2f s", r->n_trace, train_seconds(r));
    putchar('\n');
    if (te->rows) { /* no error estimate from one importance sample a row */
        printf("  test:  ELBO %.4f, log-likelihood (iw-%d) %.4f", te->elbo, r->cfg.iw, te->ll);
        if (!isnan(te->ll_se)) printf(" +- %.4f", te->ll_se);
        printf(" nats per sample, %zu rows\n", te->rows);
        if (te->tail.few) {
            char where[512], says[256];
            lz_data_row_where(r->test, te->tail.worst, where, sizeof where);
            printf("  note: the test log-likelihood is made by a few rows: %s, is at %s "
                   "(docs/vae.md, \"A test ll/N made by a few rows\")\n",
                   lz_ll_tail_text(&te->tail, says, sizeof says), where);
        }
    }
    if (tr->rows) /* --load: DATA is scored, not trained on */
        printf("  %s ELBO %.4f, log-likelihood (iw-%d) %.4f nats per sample, %zu rows\n",
               r->co.load ? "data: " : "train:", tr->elbo, r->cfg.iw, tr->ll, tr->rows);
    if (mod->a.lik == VAE_GAUSSIAN)
        printf("  sigma2 %.6g (%s)\n", vae_sigma2(mod), vae_sigma2_units(mod));
    if (r->ev.set)
        printf("  active latent units: %zu of %zu (Cov_x E[z|x] > %g)\n", r->ev.active_units,
               mod->a.k, VAE_ACTIVE_VAR);
    printf("  wrote %s.*%s%s\n", r->co.output, r->co.save ? " and " : "",
           r->co.save ? r->co.save : "");
}

static void run_free(run *r)
{
    lz_data_free(r->train);
    lz_data_free(r->test);
    vae_model_free(r->mod);
    free(r->xtr);
    free(r->xte);
    free(r->trace);
    free(r->gradvar);
    vae_eval_free(&r->ev);
}

int main(int argc, char **argv)
{
    run r;
    memset(&r, 0, sizeof r);
    int rc = parse_options(&r, argc, argv);
    if (rc >= 0) return rc;
    lz_status st = load_inputs(&r);
    if (!st) st = r.co.load ? load_model(&r) : make_model(&r);
    if (!st) st = prepare(&r);
    if (!st && !r.co.load) st = fit(&r);
    if (!st) st = evaluate(&r);
    if (!st) st = write_outputs(&r);
    if (!st) report(&r);
    if (st) {
        lz_progress_end();
        lz_die_msg(PROG, &r.err);
    }
    run_free(&r);
    return st ? 1 : 0;
}
