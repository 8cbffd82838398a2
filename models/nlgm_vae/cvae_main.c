/* cvae_main.c -- nlgm_cvae: the VAE with labels, the conditional VAE and
 * Kingma et al.'s semi-supervised M2 and M1 (docs/vae_labels.md).
 *
 *     nlgm_cvae [options] DATA
 *
 * options -> data -> the model (a new one, its classes and data map, or
 * --load) -> the data in model space, the classes, the rows that keep their
 * labels -> training (one line an epoch; M1: the VAE's vae_fit, then the
 * regressions) -> evaluation -> every file through one lz_outset committed
 * at the end -> final report.  Dimension letters: n samples, d data, k
 * latent, C classes.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_rng.h>

#include "cvae.h"
#include "lz_cli.h"
#include "lz_data.h"
#include "lz_linalg.h"
#include "lz_out.h"
#include "lz_prob.h"
#include "lz_time.h"

#define PROG "nlgm_cvae"

static const char *SUMMARY =
    "Train a VAE that uses the labels: the conditional VAE (default), Kingma et al.'s\n"
    "semi-supervised M2 (--semi-supervised) or M1 (--m1), with the importance-weighted\n"
    "log-likelihood and, for M1 and M2, the test accuracy beside a logistic regression on\n"
    "the inputs (the pixels, for images) of the same labelled rows.";

static const char *DETAILS =
    "Models (docs/vae_labels.md):\n"
    "  CVAE  encoder Q(z | x, y) and decoder p(x | z, y) take the one-hot label; every\n"
    "        training row needs its label; ll is log p(x | y).\n"
    "  M2    the CVAE's model with y a latent class: --n-labels rows keep their label\n"
    "        (balanced over the classes, chosen by --seed), the others are summed over\n"
    "        y under the classifier q(y | x), trained with weight --alpha; ll is log p(x).\n"
    "  M1    the plain VAE on every row, then a multinomial logistic regression on the\n"
    "        labelled rows' posterior means; ll is the VAE's log p(x).\n"
    "Files written (PREFIX from -o):\n"
    "  PREFIX.trace.dat     one row an epoch: loss_train recon_train kl_train (the bound,\n"
    "                       per sample; M2: of the unlabelled rows, nan when every row is\n"
    "                       labelled), loss_test ..., loss_labelled ce_train objective\n"
    "                       acc_test (M2), sigma2, seconds, samples_per_sec\n"
    "  PREFIX.latent.dat    encoder means z1..zk of the test set (else DATA), label\n"
    "  PREFIX.samples.dat   x1..xd label: --n-samples rows a class, the same z in every\n"
    "                       class (the class x style grid; M1: x1..xd of z ~ N(0, I))\n"
    "  PREFIX.summary.tsv   ll, ELBO, the accuracies of the model and of the baseline\n"
    "Bernoulli outputs are probabilities; Gaussian outputs and densities are in the\n"
    "data's units.\n"
    "\n"
    "Examples:\n"
    "  nlgm_cvae --scale 16 --hidden 64 -k 2 --label-col last data/digits.csv   # CVAE\n"
    "  nlgm_cvae --semi-supervised --n-labels 50 --scale 16 --label-col last --split 0.2 \\\n"
    "            data/digits.csv                                   # M2 with 50 labels\n"
    "  nlgm_cvae --m1 --n-labels 100 --binarize dynamic --test t10k-images-idx3-ubyte.gz \\\n"
    "            train-images-idx3-ubyte.gz                        # M1 on (Fashion-)MNIST\n"
    "  gnuplot -c plots/images.gp out/cvae samples                 # a row a class\n";

/* everything a run holds */
typedef struct {
    cvae_config cfg;
    lz_common_opts co;
    int epochs; /* --epochs, or LZ_UNSET_INT: vae_default_epochs(n, batch) */
    int k, batch, act, lik, decoder, binarize, standardize, condition, semi, m1, n_labels;
    char hidden_default[32];
    const char *hidden, *dec_hidden, *cls_hidden, *data_path;
    lz_data *train, *test;
    cvae_model *mod;
    vae_real *xtr, *xte;    /* (n, d), (nt, d) in model space (vae_prepare) */
    vae_real *xev;          /* the training rows as scored: xtr binarised once, or xtr */
    int *yall, *yfit, *yte; /* (n) classes; (n) those training sees (-1: hidden); (nt) */
    unsigned char *keep;    /* (n) M1, M2: 1 for a row that keeps its label */
    cvae_epoch_info *trace;
    int n_trace;
    double last_progress;
    cvae_eval ev;
    lz_error err;
} run;

/* ---------------------------------------------------------------- options */

/* the model the options ask for, and the options that belong to another
 * (with --load the model file says which model it is) */
static lz_status choose_mode(run *r)
{
    cvae_config *c = &r->cfg;
    lz_error *err = &r->err;
    if (r->semi && r->m1)
        return lz_fail(err, LZ_EINVAL, "--semi-supervised and --m1: one model at a time");
    c->mode = r->semi ? CVAE_MODE_M2 : r->m1 ? CVAE_MODE_M1 : CVAE_MODE_CVAE;
    if (!lz_unset_int(r->n_labels)) c->n_labels = r->n_labels;
    if (r->co.load) return LZ_OK;
    if (r->condition == 0 && c->mode == CVAE_MODE_M1)
        return lz_fail(err, LZ_EINVAL,
                       "--m1 --condition label: M1's VAE does not see the label (--condition "
                       "none, the default with --m1)");
    if (r->condition == 1 && c->mode != CVAE_MODE_M1)
        return lz_fail(err, LZ_EINVAL,
                       "--condition none: the CVAE and M2 condition on the label (the plain VAE "
                       "is nlgm_vae, or --m1 with a classifier)");
    if (!lz_unset_int(r->n_labels) && c->mode == CVAE_MODE_CVAE)
        return lz_fail(err, LZ_EINVAL,
                       "--n-labels: the conditional VAE uses every label (a part of them: "
                       "--semi-supervised or --m1)");
    if (!lz_unset_real(c->alpha) && c->mode != CVAE_MODE_M2)
        return lz_fail(err, LZ_EINVAL, "--alpha applies to --semi-supervised (M2)");
    if (strcmp(r->cls_hidden, "same") && c->mode != CVAE_MODE_M2)
        return lz_fail(err, LZ_EINVAL, "--cls-hidden applies to --semi-supervised (M2)");
    return LZ_OK;
}

/* the options into the config, then cvae_config_check */
static lz_status build_config(run *r)
{
    cvae_config *c = &r->cfg;
    vae_arch *a = &c->vae.arch;
    lz_error *err = &r->err;
    lz_status st = choose_mode(r);
    if (st) return st;
    if (r->k != LZ_UNSET_INT && r->k < 1)
        return lz_fail(err, LZ_EINVAL, "-k %d: expected k >= 1", r->k);
    if (r->batch < 1) return lz_fail(err, LZ_EINVAL, "--batch %d: expected >= 1", r->batch);
    a->k = r->k == LZ_UNSET_INT ? VAE_K_DEFAULT : (size_t)r->k; /* unset: d known later */
    if (r->epochs != LZ_UNSET_INT) c->vae.epochs = r->epochs;   /* unset: n known later */
    st = vae_parse_widths("--hidden", r->hidden, a->enc, &a->n_enc, VAE_MAX_LAYERS, err);
    if (st) return st;
    a->decoder = (vae_dec)r->decoder;
    if (a->decoder == VAE_DEC_LINEAR)
        a->n_dec = 0;
    else if (!strcmp(r->dec_hidden, "same")) {
        /* the decoder mirrors the encoder */
        a->n_dec = a->n_enc;
        for (size_t l = 0; l < a->n_enc; l++) a->dec[l] = a->enc[a->n_enc - 1 - l];
        if (a->n_dec == 0)
            return lz_fail(err, LZ_EINVAL,
                           "--hidden 0 and an MLP decoder: give the decoder's layers with "
                           "--dec-hidden, or use --decoder linear");
    } else if ((st = vae_parse_widths("--dec-hidden", r->dec_hidden, a->dec, &a->n_dec,
                                      VAE_MAX_LAYERS, err)))
        return st;
    if (!strcmp(r->cls_hidden, "same")) {
        c->n_cls = a->n_enc;
        memcpy(c->cls, a->enc, sizeof c->cls);
    } else if ((st = vae_parse_widths("--cls-hidden", r->cls_hidden, c->cls, &c->n_cls,
                                      VAE_MAX_LAYERS, err)))
        return st;
    a->act = (vae_act)r->act;
    a->lik = (vae_lik)r->lik;
    a->learn_sigma2 = a->lik == VAE_GAUSSIAN && c->vae.sigma2 == 0;
    c->vae.batch = (size_t)r->batch;
    c->vae.binarize = (vae_bin)r->binarize;
    c->vae.standardize = (vae_std)r->standardize;
    c->vae.seed = r->co.seed;
    return cvae_config_check(c, err);
}

/* options -> lz_cli_start -> config check: -1 to go on, else the exit status */
static int parse_options(run *r, int argc, char **argv)
{
    cvae_config *c = &r->cfg;
    cvae_config_default(c);
    lz_common_defaults(&r->co, "out/cvae");
    r->k = LZ_UNSET_INT; /* vae_default_k(d) */
    r->epochs = LZ_UNSET_INT;
    r->batch = (int)c->vae.batch;
    r->act = (int)c->vae.arch.act;
    r->lik = (int)c->vae.arch.lik;
    r->decoder = (int)c->vae.arch.decoder;
    r->binarize = (int)c->vae.binarize;
    r->standardize = (int)c->vae.standardize;
    r->condition = LZ_UNSET_INT;
    r->n_labels = LZ_UNSET_INT;
    vae_format_widths(c->vae.arch.enc, c->vae.arch.n_enc, r->hidden_default,
                      sizeof r->hidden_default);
    r->hidden = r->hidden_default;
    r->dec_hidden = "same";
    r->cls_hidden = "same";
    char h_labels[128];
    snprintf(h_labels, sizeof h_labels,
             "M1, M2: training rows that keep their label, balanced over the classes "
             "(default: %ld)",
             c->n_labels);
    lz_opt opts[] = {
        {"condition", 0, LZ_OPT_CHOICE, &r->condition, "label|none",
         "what encoder and decoder are given besides x and z (default: label; none with --m1)"},
        {"semi-supervised", 0, LZ_OPT_FLAG, &r->semi, NULL,
         "M2: keep --n-labels labels, treat y as latent on the other rows"},
        {"m1", 0, LZ_OPT_FLAG, &r->m1, NULL,
         "M1: the plain VAE, then a logistic regression on the labelled rows' means"},
        {"n-labels", 0, LZ_OPT_INT, &r->n_labels, "N", h_labels},
        {"alpha", 0, LZ_OPT_REAL, &c->alpha, "A",
         "M2: weight of the classifier's -log q(y|x) on each labelled row "
         "(default: 0.1 x training rows, Kingma et al.)"},
        {"cls-hidden", 0, LZ_OPT_STR, &r->cls_hidden, "H[,H..]",
         "M2: hidden widths of the classifier q(y|x) ('same': --hidden)"},
        {"l2", 0, LZ_OPT_REAL, &c->l2, "V",
         "M1 and the pixel baseline: L2 penalty V/2 |W|^2 of the logistic regressions"},
        {"k", 'k', LZ_OPT_INT, &r->k, "K",
         "latent dimension (default: 20, or d - 1 for data of d <= 20 columns: a latent "
         "space smaller than the data's)"},
        {"hidden", 0, LZ_OPT_STR, &r->hidden, "H[,H..]",
         "encoder hidden widths, x to z (the decoder mirrors them); 0: none"},
        {"dec-hidden", 0, LZ_OPT_STR, &r->dec_hidden, "H[,H..]",
         "decoder hidden widths, z to x ('same': --hidden reversed)"},
        {"act", 0, LZ_OPT_CHOICE, &r->act, "relu|tanh", "hidden activation"},
        {"likelihood", 0, LZ_OPT_CHOICE, &r->lik, "bernoulli|gaussian",
         "p(x|z,y): Bernoulli(sigm f) on [0,1] data, or N(f, sigma^2 I)"},
        {"sigma2", 0, LZ_OPT_REAL, &c->vae.sigma2, "V",
         "Gaussian: fix sigma^2 to V (--standardize overall: data units; column: a fraction "
         "of each column's variance); 0: learn it"},
        {"standardize", 0, LZ_OPT_CHOICE, &r->standardize, "column|overall",
         "Gaussian: divide each column by its own standard deviation (the fit does not "
         "depend on the columns' units), or all by the overall one (columns in one unit, "
         "such as pixels: sigma^2 I is then isotropic in the data's units)"},
        {"decoder", 0, LZ_OPT_CHOICE, &r->decoder, "mlp|linear",
         "f(z, y): an MLP, or f = A z + B y + b"},
        {"epochs", 0, LZ_OPT_INT, &r->epochs, "N",
         "passes over the training data (M2: over the unlabelled rows) (default: 10, or as "
         "many as make 1000 Adam steps when an epoch has fewer than 100 minibatches)"},
        {"batch", 0, LZ_OPT_INT, &r->batch, "M", "minibatch size (M2: of each kind of row)"},
        {"lr", 0, LZ_OPT_REAL, &c->vae.lr, "RATE", "Adam step size"},
        {"samples", 0, LZ_OPT_INT, &c->vae.samples, "L", "samples of z per datum in training"},
        {"iw", 0, LZ_OPT_INT, &c->vae.iw, "K",
         "importance samples for the log-likelihood estimate (M2: per class)"},
        {"iw-train-rows", 0, LZ_OPT_INT, &c->vae.iw_train_rows, "N",
         "estimate ll_train on N random training rows, the same for every seed (0: all)"},
        {"binarize", 0, LZ_OPT_CHOICE, &r->binarize, "none|threshold|dynamic",
         "Bernoulli: binarise x (threshold 1/2, or a new draw x~Bernoulli(x) each use)"},
        {"scale", 0, LZ_OPT_REAL, &c->vae.scale, "V",
         "Bernoulli: divide the data by V first (16 for grey levels 0..16)"},
        {"n-samples", 0, LZ_OPT_INT, &c->vae.n_samples, "N",
         "rows of the samples file per class (M1: in all)"},
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

/* DATA (with its labels), --test or --split */
static lz_status load_inputs(run *r)
{
    lz_status st =
        lz_load_inputs(&r->co, r->data_path, r->co.load ? 1 : 2, &r->train, &r->test, &r->err);
    if (!st && r->train && !r->co.load && !r->train->y)
        st = lz_fail(&r->err, LZ_EINVAL,
                     "%s: no labels: %s needs the class of each training row (--label-col "
                     "N|last for text data; IDX images: the ...-labels-idx1-ubyte file beside "
                     "them)%s",
                     r->train->path, PROG,
                     r->cfg.mode == CVAE_MODE_CVAE ? "" : "; M1 and M2 hide all but --n-labels");
    return st;
}

/* --load: the model, its width against the data's */
static lz_status load_model(run *r)
{
    lz_status st = cvae_model_read(r->co.load, &r->mod, &r->err);
    if (!st) st = lz_data_check_width(r->train, r->mod->a.core.d, r->co.load, &r->err);
    if (!st) st = lz_data_check_width(r->test, r->mod->a.core.d, r->co.load, &r->err);
    if (!st) r->cfg.mode = r->mod->a.mode;
    return st;
}

/* a new model of the options' architecture, its classes and data map from DATA */
static lz_status make_model(run *r)
{
    const lz_data *tr = r->train;
    cvae_arch a = {.core = r->cfg.vae.arch, .mode = r->cfg.mode, .n_cls = r->cfg.n_cls};
    memcpy(a.cls, r->cfg.cls, sizeof a.cls);
    a.core.d = tr->d;
    if (r->k == LZ_UNSET_INT) a.core.k = vae_default_k(tr->d);
    if (r->epochs == LZ_UNSET_INT) r->cfg.vae.epochs = vae_default_epochs(tr->n, r->cfg.vae.batch);
    lz_status st = cvae_count_classes(tr, &a.C, &r->err);
    if (st) return st;
    if (!(r->mod = cvae_model_alloc(&a, &r->err))) return r->err.status;
    if ((st = cvae_set_classes(r->mod, tr, &r->err))) return st;
    double *var = malloc(tr->d * sizeof *var); /* (d) column variances */
    if (!var) return lz_fail(&r->err, LZ_ENOMEM, "out of memory");
    st = vae_set_data_map(r->mod->core, &r->cfg.vae, tr, var, &r->err);
    if (!st && a.core.lik == VAE_GAUSSIAN && !r->co.quiet) { /* as nlgm_vae's make_model */
        if (r->mod->core->standardize == VAE_STD_OVERALL)
            lz_note_spread(tr, var, "the Gaussian likelihood's noise sigma^2 I");
        else
            lz_note_constant(tr, var);
    }
    free(var);
    return st;
}

/* x (n, d) <- data in model space, binarised once from stream s when the
 * model binarises dynamically (s < 0: never) */
static lz_status to_model_space(run *r, const lz_data *data, int s, vae_real **x)
{
    gsl_rng *bin = NULL;
    if (s >= 0 && r->mod->core->binarize == VAE_BIN_DYNAMIC &&
        !(bin = lz_rng_alloc_stream(r->co.seed, (unsigned long)s)))
        return lz_fail(&r->err, LZ_ENOMEM, "out of memory");
    lz_status st = vae_prepare(r->mod->core, data, bin, x, &r->err);
    gsl_rng_free(bin);
    return st;
}

/* the data in model space (training rows as training takes them, and as
 * they are scored), their classes, the rows that keep their labels */
static lz_status prepare(run *r)
{
    const lz_data *tr = r->train, *te = r->test;
    int dyn = r->mod->core->binarize == VAE_BIN_DYNAMIC;
    lz_status st = LZ_OK;
    if (tr) {
        size_t n = tr->n;
        if ((st = to_model_space(r, tr, -1, &r->xtr))) return st;
        if (!dyn)
            r->xev = r->xtr;
        else if ((st = to_model_space(r, tr, CVAE_STREAM_BIN_EVAL, &r->xev)))
            return st;
        if (tr->y) {
            if (!(r->yall = malloc(n * sizeof *r->yall)) ||
                !(r->yfit = malloc(n * sizeof *r->yfit)))
                return lz_fail(&r->err, LZ_ENOMEM, "out of memory");
            if ((st = cvae_label_codes(r->mod, tr, r->yall, &r->err))) return st;
            memcpy(r->yfit, r->yall, n * sizeof *r->yfit);
        }
        if (!r->co.load && r->cfg.mode != CVAE_MODE_CVAE) {
            if (!(r->keep = malloc(n))) return lz_fail(&r->err, LZ_ENOMEM, "out of memory");
            if ((st = cvae_choose_labels(r->yall, n, r->mod->a.C, (size_t)r->cfg.n_labels,
                                         r->co.seed, r->keep, &r->err))) {
                lz_error_prefix(&r->err, "%s", tr->path);
                return st;
            }
            for (size_t i = 0; i < n; i++)
                if (!r->keep[i]) r->yfit[i] = -1;
        }
    }
    if (!te) return LZ_OK;
    if ((st = to_model_space(r, te, CVAE_STREAM_BIN_TEST, &r->xte))) return st;
    /* the CVAE's test bound needs the labels; M1 and M2 score accuracy when
     * the test set has them */
    if (te->y || r->cfg.mode == CVAE_MODE_CVAE) {
        if (!(r->yte = malloc((te->n ? te->n : 1) * sizeof *r->yte)))
            return lz_fail(&r->err, LZ_ENOMEM, "out of memory");
        st = cvae_label_codes(r->mod, te, r->yte, &r->err);
    }
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

/* one line an epoch, as it happens */
static int on_epoch(const cvae_epoch_info *e, void *ctx)
{
    run *r = ctx;
    r->trace[r->n_trace++] = *e;
    if (r->co.quiet || !vae_epoch_shown(e->epoch, r->cfg.vae.epochs)) return 0;
    lz_progress_end();
    printf("epoch %3d  loss %.4f = recon %.4f + kl %.4f", e->epoch, e->loss_train, e->recon_train,
           e->kl_train);
    if (!isnan(e->loss_test)) printf("  test %.4f", e->loss_test);
    if (!isnan(e->ce_train)) printf("  ce %.4f", e->ce_train);
    if (!isnan(e->acc_test)) printf("  acc %.2f%%", 100 * e->acc_test);
    if (r->mod->a.core.lik == VAE_GAUSSIAN) printf("  sigma2 %.6g", e->sigma2);
    printf("  %.2f s  %.0f samples/s\n", e->seconds, e->samples_per_sec);
    fflush(stdout);
    return 0;
}

/* M1: the VAE's epochs, in the trace's layout */
static int on_vae_epoch(const vae_epoch_info *v, void *ctx)
{
    cvae_epoch_info e = {.epoch = v->epoch,
                         .loss_train = v->loss_train,
                         .recon_train = v->recon_train,
                         .kl_train = v->kl_train,
                         .loss_test = v->loss_test,
                         .recon_test = v->recon_test,
                         .kl_test = v->kl_test,
                         .loss_labelled = NAN,
                         .ce_train = NAN,
                         .objective = NAN,
                         .acc_test = NAN,
                         .sigma2 = v->sigma2,
                         .seconds = v->seconds,
                         .train_seconds = v->train_seconds,
                         .samples_per_sec = v->samples_per_sec};
    return on_epoch(&e, ctx);
}

static void print_start(const run *r)
{
    const cvae_model *mod = r->mod;
    size_t nl = 0;
    for (size_t i = 0; r->keep && i < r->train->n; i++) nl += r->keep[i];
    printf("%s: %s, d = %zu, k = %zu, %zu classes, %zu parameters, %zu training rows", PROG,
           cvae_model_name(mod), mod->a.core.d, mod->a.core.k, mod->a.C, cvae_n_params(mod),
           r->train->n);
    if (r->keep) printf(" (%zu labelled)", nl);
    if (r->test && r->test->n) printf(", %zu test rows", r->test->n);
    printf("\n");
    if (mod->a.mode == CVAE_MODE_M2)
        printf("alpha %g (the classifier's weight on the labelled rows)\n",
               cvae_alpha(&r->cfg, r->train->n));
    lz_print_blas(stdout, lz_get_threads(), 0);
    char note[320];
    if (vae_steps_note(&r->cfg.vae, r->train->n, note, sizeof note)) printf("%s\n", note);
    fflush(stdout);
}

/* initialise, then train on DATA, scoring the test set after every epoch;
 * M1 and M2: the regressions on the labelled rows after */
static lz_status fit(run *r)
{
    size_t n = r->train->n, nt = r->test ? r->test->n : 0;
    cvae_config *c = &r->cfg;
    if (!(r->trace = calloc((size_t)c->vae.epochs, sizeof *r->trace)))
        return lz_fail(&r->err, LZ_ENOMEM, "out of memory");
    lz_status st = cvae_init(r->mod, c->vae.seed, c->vae.sigma2, &r->err);
    if (st) return st;
    if (!r->co.quiet) print_start(r);
    if (c->mode == CVAE_MODE_M1)
        st = vae_fit(r->mod->core, &c->vae, r->xtr, n, r->xte, nt, on_vae_epoch, on_batch, r,
                     &r->err);
    else
        st = cvae_fit(r->mod, c, r->xtr, r->yfit, n, r->xte, r->yte, nt, on_epoch, on_batch, r,
                      &r->err);
    lz_progress_end();
    if (!st) st = cvae_fit_regressions(r->mod, c, r->xev, r->yall, r->keep, n, &r->err);
    return st;
}

static double train_seconds(const run *r)
{
    return r->n_trace ? r->trace[r->n_trace - 1].seconds : 0;
}

/* ------------------------------------------------------------- evaluation */

static lz_status evaluate(run *r)
{
    if (!r->co.quiet) lz_progress("estimating the log-likelihood (iw-%d) ...", r->cfg.vae.iw);
    lz_status st = cvae_evaluate(r->mod, &r->cfg, r->train, r->xev, r->yall, r->keep, r->test,
                                 r->xte, r->yte, &r->ev, &r->err);
    lz_progress_end();
    return st;
}

/* ----------------------------------------------------------------- output */

static lz_status write_trace(lz_outset *os, const char *path, const run *r, lz_error *err)
{
    FILE *f = lz_outset_open(os, path, err);
    if (!f) return err->status;
    static const char *const names[] = {
        "epoch",      "loss_train", "recon_train",   "kl_train",      "loss_test",
        "recon_test", "kl_test",    "loss_labelled", "ce_train",      "objective",
        "acc_test",   "sigma2",     "seconds",       "train_seconds", "samples_per_sec"};
    lz_dat_header(f, ' ', sizeof names / sizeof names[0], names);
    for (int i = 0; i < r->n_trace; i++) {
        const cvae_epoch_info *e = &r->trace[i];
        double v[] = {e->epoch,     e->loss_train,    e->recon_train,    e->kl_train,
                      e->loss_test, e->recon_test,    e->kl_test,        e->loss_labelled,
                      e->ce_train,  e->objective,     e->acc_test,       e->sigma2,
                      e->seconds,   e->train_seconds, e->samples_per_sec};
        lz_dat_row(f, ' ', sizeof v / sizeof v[0], v);
    }
    return LZ_OK;
}

/* x1..xd label [label_name]: the class x style grid (M1: x1..xd) */
static lz_status write_samples(lz_outset *os, const char *path, const run *r, lz_error *err)
{
    const cvae_model *mod = r->mod;
    const cvae_eval *ev = &r->ev;
    lz_data lab = {.n = ev->sample_rows,
                   .y = ev->sample_label,
                   .label_names = mod->class_name,
                   .n_classes = mod->class_name ? mod->a.C : 0};
    return lz_dat_write_matrix(os, path, "x", ev->sample_rows, mod->a.core.d, ev->samples,
                               ev->sample_label ? &lab : NULL, err);
}

static lz_status write_summary(lz_outset *os, const char *path, const run *r, lz_error *err)
{
    static const char *const extra[] = {
        "ll_of",          "elbo_train",   "elbo_test",         "iw_k",  "ll_train_rows",
        "sigma2",         "classes",      "n_labels",          "alpha", "acc_test",
        "acc_unlabelled", "acc_raw_test", "acc_raw_unlabelled"};
    const cvae_model *mod = r->mod;
    const cvae_eval *ev = &r->ev;
    char method[32];
    snprintf(method, sizeof method, "iw-%d", r->cfg.vae.iw);
    size_t nl = 0;
    for (size_t i = 0; r->keep && i < r->train->n; i++) nl += r->keep[i];
    lz_summary s = {.model = cvae_model_name(mod),
                    .family = mod->a.core.lik == VAE_GAUSSIAN ? "continuous" : "binary",
                    .k = mod->a.core.k,
                    .n_params = cvae_n_params(mod),
                    .ll_train = ev->train.ll,
                    .ll_test = ev->test.ll,
                    .ll_test_se = ev->test.ll_se,
                    .method = method,
                    .iterations = r->n_trace,
                    .seconds = train_seconds(r)};
    FILE *f = lz_summary_begin(os, path, &s, sizeof extra / sizeof extra[0], extra, err);
    if (!f) return err->status;
    fprintf(f, "\t%s\t", mod->a.mode == CVAE_MODE_CVAE ? "p(x|y)" : "p(x)");
    lz_put_num(f, ev->train.elbo);
    fputc('\t', f);
    lz_put_num(f, ev->test.elbo);
    fprintf(f, "\t%d\t%zu\t", r->cfg.vae.iw, ev->train.rows);
    lz_put_num(f, vae_sigma2(mod->core));
    fprintf(f, "\t%zu\t", mod->a.C);
    lz_put_num(f, r->keep ? (double)nl : NAN);
    fputc('\t', f);
    lz_put_num(f, mod->a.mode == CVAE_MODE_M2 && r->train && !r->co.load
                      ? cvae_alpha(&r->cfg, r->train->n)
                      : NAN);
    double acc[] = {ev->acc_test, ev->acc_unlab, ev->acc_raw_test, ev->acc_raw_unlab};
    for (size_t i = 0; i < 4; i++) {
        fputc('\t', f);
        lz_put_num(f, acc[i]);
    }
    fputc('\n', f);
    return LZ_OK;
}

/* every file through one output set, committed at the end */
static lz_status write_outputs(run *r)
{
    lz_outset *os = lz_outset_alloc();
    const char *pre = r->co.output;
    const cvae_eval *ev = &r->ev;
    size_t k = r->mod->a.core.k;
    char p[4096];
    lz_error *e = &r->err;
    lz_status st = os ? LZ_OK : lz_fail(e, LZ_ENOMEM, "out of memory");
    if (!st && !r->co.load && !(st = lz_path(p, sizeof p, pre, "trace.dat", e)))
        st = write_trace(os, p, r, e);
    if (!st && ev->set && !(st = lz_path(p, sizeof p, pre, "latent.dat", e)))
        st = lz_dat_write_matrix(os, p, "z", ev->set->n, k, ev->latent, ev->set, e);
    if (!st && !(st = lz_path(p, sizeof p, pre, "samples.dat", e))) st = write_samples(os, p, r, e);
    if (!st && !(st = lz_path(p, sizeof p, pre, "summary.tsv", e))) st = write_summary(os, p, r, e);
    if (!st && r->co.save && (st = cvae_model_write(r->mod, os, r->co.save, e)))
        lz_error_prefix(e, "--save");
    if (!st) st = lz_outset_commit(os, e);
    lz_outset_free(os);
    return st;
}

/* ----------------------------------------------------------------- report */

static void report(const run *r)
{
    const cvae_model *mod = r->mod;
    const cvae_eval *ev = &r->ev;
    const char *of = mod->a.mode == CVAE_MODE_CVAE ? "log p(x|y)" : "log p(x)";
    printf("%s: %s, k = %zu, %zu classes, %zu parameters", PROG, cvae_model_name(mod),
           mod->a.core.k, mod->a.C, cvae_n_params(mod));
    if (!r->co.load) printf(", %d epochs in %.2f s", r->n_trace, train_seconds(r));
    putchar('\n');
    if (ev->test.rows) { /* no error estimate from one importance sample a row */
        printf("  test:  ELBO %.4f, %s (iw-%d) %.4f", ev->test.elbo, of, r->cfg.vae.iw,
               ev->test.ll);
        if (!isnan(ev->test.ll_se)) printf(" +- %.4f", ev->test.ll_se);
        printf(" nats per sample, %zu rows\n", ev->test.rows);
    }
    if (ev->train.rows) /* --load: DATA is scored, not trained on */
        printf("  %s ELBO %.4f, %s (iw-%d) %.4f nats per sample, %zu rows\n",
               r->co.load ? "data: " : "train:", ev->train.elbo, of, r->cfg.vae.iw, ev->train.ll,
               ev->train.rows);
    if (mod->a.mode != CVAE_MODE_CVAE) {
        const char *who = mod->a.mode == CVAE_MODE_M2 ? "M2's q(y|x)" : "M1 (regression on mu(x))";
        if (!isnan(ev->acc_test))
            printf("  test accuracy: %s %.2f%%, the inputs' regression %.2f%%\n", who,
                   100 * ev->acc_test, 100 * ev->acc_raw_test);
        if (!isnan(ev->acc_unlab))
            printf("  accuracy on the training rows without their label: %s %.2f%%, the "
                   "inputs' regression %.2f%%\n",
                   who, 100 * ev->acc_unlab, 100 * ev->acc_raw_unlab);
    }
    if (mod->a.core.lik == VAE_GAUSSIAN)
        printf("  sigma2 %.6g (%s)\n", vae_sigma2(mod->core), vae_sigma2_units(mod->core));
    printf("  wrote %s.*%s%s\n", r->co.output, r->co.save ? " and " : "",
           r->co.save ? r->co.save : "");
}

static void run_free(run *r)
{
    lz_data_free(r->train);
    lz_data_free(r->test);
    cvae_model_free(r->mod);
    if (r->xev != r->xtr) free(r->xev);
    free(r->xtr);
    free(r->xte);
    free(r->yall);
    free(r->yfit);
    free(r->yte);
    free(r->keep);
    free(r->trace);
    cvae_eval_free(&r->ev);
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
