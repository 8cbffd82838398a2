/* vae_model.c -- the VAE's configuration, its parameter block,
 * initialisation and model files (see vae.h; docs/vae.md, "Implementation").
 *
 * The parameters live in one block laid out by tensors(): a struct of
 * pointers (vae_params) points into it, and the gradients and Adam's moments
 * are blocks of the same layout.  This file calls no other file of the
 * library.
 */
#include "vae.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_rng.h>

#include "lz_cli.h"
#include "lz_model.h"
#include "lz_prob.h"
#include "vae_impl.h"

/* model files: kind and version (version 1 files are read as they were) */
#define VAE_MODEL_KIND "vae"
/* 2: a scale per column and the standardisation (1: one overall scale) */
#define VAE_MODEL_VERSION 2

static const char *const lik_names[] = {"bernoulli", "gaussian"};
static const char *const dec_names[] = {"mlp", "linear"};
static const char *const act_names[] = {"relu", "tanh"};
static const char *const bin_names[] = {"none", "threshold", "dynamic"};
static const char *const std_names[] = {"column", "overall"};

/* ------------------------------------------------------------------ */
/* configuration */

void vae_config_default(vae_config *c)
{
    memset(c, 0, sizeof *c);
    c->arch.k = VAE_K_DEFAULT;
    c->arch.n_enc = 1;
    c->arch.enc[0] = 400;
    c->arch.n_dec = 1;
    c->arch.dec[0] = 400;
    c->arch.act = VAE_RELU;
    c->arch.lik = VAE_BERNOULLI;
    c->arch.decoder = VAE_DEC_MLP;
    c->arch.learn_sigma2 = 1;
    c->epochs = VAE_EPOCHS_DEFAULT;
    c->batch = 128;
    c->lr = 1e-3;
    c->beta1 = 0.9;
    c->beta2 = 0.999;
    c->adam_eps = 1e-8;
    c->samples = 1;
    c->objective = VAE_OBJ_ELBO;
    c->beta = 1;
    c->kl_warmup = 0;
    c->estimator = VAE_EST_REPARAM;
    c->baseline = VAE_BASE_NONE;
    c->grad_var = 0;
    c->sigma2 = 0;
    c->scale = 1;
    c->binarize = VAE_BIN_NONE;
    c->standardize = VAE_STD_COLUMN;
    c->seed = 1;
    c->iw = 100;
    c->iw_train_rows = 10000;
    c->n_samples = 64;
    c->grid = 20;
}

lz_status vae_config_check(const vae_config *c, lz_error *err)
{
    const vae_arch *a = &c->arch;
    if (a->k < 1 || a->k > 100000)
        return lz_fail(err, LZ_EINVAL, "-k %zu: expected 1 <= k <= 100000", a->k);
    if (a->n_enc > VAE_MAX_LAYERS || a->n_dec > VAE_MAX_LAYERS)
        return lz_fail(err, LZ_EINVAL, "--hidden: at most %d hidden layers", VAE_MAX_LAYERS);
    for (size_t l = 0; l < a->n_enc; l++)
        if (a->enc[l] < 1 || a->enc[l] > 1000000)
            return lz_fail(err, LZ_EINVAL, "--hidden: width %zu: expected 1 .. 1000000", a->enc[l]);
    for (size_t l = 0; l < a->n_dec; l++)
        if (a->dec[l] < 1 || a->dec[l] > 1000000)
            return lz_fail(err, LZ_EINVAL, "--dec-hidden: width %zu: expected 1 .. 1000000",
                           a->dec[l]);
    if (a->decoder == VAE_DEC_MLP && a->n_dec == 0)
        return lz_fail(err, LZ_EINVAL,
                       "--dec-hidden 0: an MLP decoder needs a hidden layer "
                       "(for f(z) = A z + b use --decoder linear)");
    if (a->decoder == VAE_DEC_LINEAR && a->n_dec != 0)
        return lz_fail(err, LZ_EINVAL, "--decoder linear has no hidden layers");
    if (c->epochs < 1 || c->epochs > 1000000)
        return lz_fail(err, LZ_EINVAL, "--epochs %d: expected 1 .. 1000000", c->epochs);
    if (c->batch < 1 || c->batch > 1000000)
        return lz_fail(err, LZ_EINVAL, "--batch %zu: expected 1 .. 1000000", c->batch);
    if (!(c->lr > 0) || !isfinite(c->lr))
        return lz_fail(err, LZ_EINVAL, "--lr %.15g: expected a step size > 0", c->lr);
    if (!(c->beta1 >= 0 && c->beta1 < 1) || !(c->beta2 >= 0 && c->beta2 < 1) || !(c->adam_eps > 0))
        return lz_fail(err, LZ_EINVAL, "Adam: expected 0 <= beta1, beta2 < 1 and eps > 0");
    if (c->samples < 1 || c->samples > 10000)
        return lz_fail(err, LZ_EINVAL, "--samples %d: expected 1 .. 10000", c->samples);
    if ((size_t)c->samples * c->batch > 10000000)
        return lz_fail(err, LZ_EINVAL, "--samples %d x --batch %zu: at most 10^7 decoder rows",
                       c->samples, c->batch);
    if (c->objective != VAE_OBJ_ELBO && c->objective != VAE_OBJ_IWAE)
        return lz_fail(err, LZ_EINVAL, "--objective: expected elbo or iwae");
    if (c->estimator != VAE_EST_REPARAM && c->estimator != VAE_EST_SCORE)
        return lz_fail(err, LZ_EINVAL, "--estimator: expected reparam or score");
    if (c->baseline != VAE_BASE_NONE && c->baseline != VAE_BASE_MEAN && c->baseline != VAE_BASE_NET)
        return lz_fail(err, LZ_EINVAL, "--baseline: expected none, mean or net");
    if (!(c->beta >= 0 && c->beta <= 1e6))
        return lz_fail(err, LZ_EINVAL, "--beta %.15g: expected a KL weight in [0, 1e6]", c->beta);
    if (c->kl_warmup < 0 || c->kl_warmup > 1000000)
        return lz_fail(err, LZ_EINVAL, "--kl-warmup %d: expected 0 .. 1000000 epochs",
                       c->kl_warmup);
    if (c->grad_var != 0 && (c->grad_var < 2 || c->grad_var > 100000))
        return lz_fail(err, LZ_EINVAL, "--grad-var %d: expected 2 .. 100000 draws (0: none)",
                       c->grad_var);
    if (c->baseline != VAE_BASE_NONE && c->estimator != VAE_EST_SCORE)
        return lz_fail(err, LZ_EINVAL,
                       "--baseline %s applies to --estimator score (the reparameterised "
                       "gradient needs none)",
                       c->baseline == VAE_BASE_MEAN ? "mean" : "net");
    if (c->objective == VAE_OBJ_IWAE && c->estimator != VAE_EST_REPARAM)
        return lz_fail(err, LZ_EINVAL,
                       "--objective iwae: the bound's gradient is reparameterised only "
                       "(drop --estimator score)");
    if (c->objective == VAE_OBJ_IWAE && (c->beta != 1 || c->kl_warmup != 0))
        return lz_fail(err, LZ_EINVAL,
                       "--beta and --kl-warmup weight the ELBO's KL term: they apply to "
                       "--objective elbo");
    if (c->iw < 1 || c->iw > VAE_IW_MAX)
        return lz_fail(err, LZ_EINVAL, "--iw %d: expected 1 .. %d", c->iw, VAE_IW_MAX);
    if (!(c->sigma2 >= 0) || !isfinite(c->sigma2))
        return lz_fail(err, LZ_EINVAL, "--sigma2 %.15g: expected a variance > 0 (0: learned)",
                       c->sigma2);
    if (c->sigma2 > 0 && a->lik != VAE_GAUSSIAN)
        return lz_fail(err, LZ_EINVAL, "--sigma2 applies to --likelihood gaussian only");
    if (a->lik == VAE_GAUSSIAN && a->learn_sigma2 != (c->sigma2 == 0))
        return lz_fail(err, LZ_EINVAL, "sigma^2: learn_sigma2 must be set iff --sigma2 is 0");
    if (!(c->scale > 0) || !isfinite(c->scale))
        return lz_fail(err, LZ_EINVAL, "--scale %.15g: expected a number > 0", c->scale);
    if (c->binarize != VAE_BIN_NONE && a->lik != VAE_BERNOULLI)
        return lz_fail(err, LZ_EINVAL, "--binarize applies to --likelihood bernoulli only");
    if (c->standardize != VAE_STD_COLUMN && a->lik != VAE_GAUSSIAN)
        return lz_fail(err, LZ_EINVAL,
                       "--standardize applies to --likelihood gaussian only (Bernoulli: "
                       "--scale)");
    if (c->iw_train_rows < 0)
        return lz_fail(err, LZ_EINVAL, "--iw-train-rows %d: expected >= 0 (0: all)",
                       c->iw_train_rows);
    if (c->n_samples < 0 || c->n_samples > 1000000)
        return lz_fail(err, LZ_EINVAL, "--n-samples %d: expected 0 .. 1000000", c->n_samples);
    if (c->grid < 2 || c->grid > 1000)
        return lz_fail(err, LZ_EINVAL, "--grid %d: expected 2 .. 1000", c->grid);
    return LZ_OK;
}

size_t vae_default_k(size_t d) { return lz_default_k(d, VAE_K_DEFAULT); }

int vae_default_epochs(size_t n, size_t batch)
{
    size_t nb = batch ? (n + batch - 1) / batch : 0;
    if (!nb || nb * VAE_EPOCHS_DEFAULT >= VAE_FEW_STEPS) return VAE_EPOCHS_DEFAULT;
    return (int)((VAE_FEW_STEPS + nb - 1) / nb);
}

int vae_epoch_shown(int e, int E) { return E <= 100 || e <= 10 || e == E || e % (E / 50) == 0; }

int vae_steps_note(const vae_config *c, size_t n, char *buf, size_t cap)
{
    size_t nb = c->batch ? (n + c->batch - 1) / c->batch : 0, steps = nb * (size_t)c->epochs;
    buf[0] = 0;
    if (!n || steps >= VAE_FEW_STEPS) return 0;
    snprintf(buf, cap,
             "note: %d epochs of %zu minibatches make %zu Adam steps in all, far from a trained "
             "VAE (thousands are usual): raise --epochs, and watch loss_test (--test or --split) "
             "for overfitting on few rows",
             c->epochs, nb, steps);
    return 1;
}

double vae_kl_weight(const vae_config *c, long t, size_t nb)
{
    /* docs/vae.md, "beta and the KL warm-up": beta_t = beta min(1, t / (E nb)) */
    if (c->kl_warmup <= 0) return c->beta;
    double r = (double)t / ((double)c->kl_warmup * (double)nb);
    return c->beta * (r < 1 ? r : 1);
}

/* ------------------------------------------------------------------ */
/* parameter block */

void vae_add_tensor(vae_tensor *t, size_t *n, size_t *off, const char *name, size_t rows,
                    size_t cols)
{
    if (t) {
        snprintf(t[*n].name, sizeof t[*n].name, "%s", name);
        t[*n].rows = rows;
        t[*n].cols = cols;
        t[*n].offset = *off;
    }
    (*n)++;
    size_t sz = rows * cols;
    *off += (sz + VAE_ALIGN_REALS - 1) / VAE_ALIGN_REALS * VAE_ALIGN_REALS;
}

/* the tensors in block order; *total <- reals in the block (padding included) */
static size_t tensors(const vae_arch *a, vae_tensor *t, size_t *total)
{
    size_t n = 0, off = 0, c = a->d;
    char nm[32];
    for (size_t l = 0; l < a->n_enc; l++) {
        snprintf(nm, sizeof nm, "enc_w%zu", l + 1);
        vae_add_tensor(t, &n, &off, nm, a->enc[l], c);
        snprintf(nm, sizeof nm, "enc_b%zu", l + 1);
        vae_add_tensor(t, &n, &off, nm, 1, a->enc[l]);
        c = a->enc[l];
    }
    vae_add_tensor(t, &n, &off, "head_w", 2 * a->k, c);
    vae_add_tensor(t, &n, &off, "head_b", 1, 2 * a->k);
    c = a->k;
    for (size_t l = 0; l < a->n_dec; l++) {
        snprintf(nm, sizeof nm, "dec_w%zu", l + 1);
        vae_add_tensor(t, &n, &off, nm, a->dec[l], c);
        snprintf(nm, sizeof nm, "dec_b%zu", l + 1);
        vae_add_tensor(t, &n, &off, nm, 1, a->dec[l]);
        c = a->dec[l];
    }
    vae_add_tensor(t, &n, &off, "out_w", a->d, c);
    vae_add_tensor(t, &n, &off, "out_b", 1, a->d);
    if (a->lik == VAE_GAUSSIAN) vae_add_tensor(t, &n, &off, "log_sigma2", 1, 1);
    if (total) *total = off;
    return n;
}

size_t vae_tensors(const vae_arch *a, vae_tensor *t) { return tensors(a, t, NULL); }

/* point the struct of pointers into a block laid out by tensors() */
static void set_views(const vae_arch *a, const vae_tensor *t, vae_real *block, vae_params *p)
{
    memset(p, 0, sizeof *p);
    size_t i = 0;
    for (size_t l = 0; l < a->n_enc; l++) {
        p->enc_w[l] = block + t[i++].offset;
        p->enc_b[l] = block + t[i++].offset;
    }
    p->head_w = block + t[i++].offset;
    p->head_b = block + t[i++].offset;
    for (size_t l = 0; l < a->n_dec; l++) {
        p->dec_w[l] = block + t[i++].offset;
        p->dec_b[l] = block + t[i++].offset;
    }
    p->out_w = block + t[i++].offset;
    p->out_b = block + t[i++].offset;
    if (a->lik == VAE_GAUSSIAN) p->log_sigma2 = block + t[i++].offset;
}

void *vae_alloc_reals(size_t n)
{
    size_t bytes = (n * sizeof(vae_real) + 63) / 64 * 64;
    void *p = aligned_alloc(64, bytes ? bytes : 64);
    if (p) memset(p, 0, bytes ? bytes : 64);
    return p;
}

vae_model *vae_model_alloc(const vae_arch *a, lz_error *err)
{
    vae_model *mod = calloc(1, sizeof *mod);
    if (!mod) {
        lz_fail(err, LZ_ENOMEM, "VAE: out of memory");
        return NULL;
    }
    mod->a = *a;
    mod->n_tensors = tensors(a, mod->t, &mod->n_block);
    mod->block = vae_alloc_reals(mod->n_block);
    mod->gblock = vae_alloc_reals(mod->n_block);
    mod->adam_m = vae_alloc_reals(mod->n_block);
    mod->adam_v = vae_alloc_reals(mod->n_block);
    mod->shift = calloc(a->d ? a->d : 1, sizeof *mod->shift);
    mod->scale = malloc((a->d ? a->d : 1) * sizeof *mod->scale);
    if (!mod->block || !mod->gblock || !mod->adam_m || !mod->adam_v || !mod->shift || !mod->scale) {
        size_t nb = mod->n_block;
        vae_model_free(mod);
        lz_fail(err, LZ_ENOMEM, "VAE: out of memory for %zu parameters", nb);
        return NULL;
    }
    set_views(a, mod->t, mod->block, &mod->p);
    set_views(a, mod->t, mod->gblock, &mod->g);
    for (size_t j = 0; j < a->d; j++) mod->scale[j] = 1;
    mod->standardize = VAE_STD_COLUMN;
    mod->binarize = VAE_BIN_NONE;
    return mod;
}

void vae_model_free(vae_model *mod)
{
    if (!mod) return;
    free(mod->block);
    free(mod->gblock);
    free(mod->adam_m);
    free(mod->adam_v);
    free(mod->shift);
    free(mod->scale);
    free(mod->map_file);
    free(mod);
}

size_t vae_n_params(const vae_model *mod)
{
    size_t n = 0;
    for (size_t i = 0; i < mod->n_tensors; i++) {
        if (!strcmp(mod->t[i].name, "log_sigma2") && !mod->a.learn_sigma2) continue;
        n += mod->t[i].rows * mod->t[i].cols;
    }
    return n;
}

const char *vae_model_name(const vae_model *mod)
{
    static const char *const names[2][2] = {{"vae-mlp-bernoulli", "vae-mlp-gaussian"},
                                            {"vae-linear-bernoulli", "vae-linear-gaussian"}};
    return names[mod->a.decoder][mod->a.lik];
}

void vae_run_name(const vae_model *mod, const vae_config *c, char *buf, size_t cap)
{
    static const char *const base_names[] = {"", "-mean", "-net"};
    size_t len = (size_t)snprintf(buf, cap, "%s", vae_model_name(mod));
    if (len < cap && c->estimator == VAE_EST_SCORE)
        len += (size_t)snprintf(buf + len, cap - len, "-score%s", base_names[c->baseline]);
    if (len < cap && c->objective == VAE_OBJ_IWAE)
        len += (size_t)snprintf(buf + len, cap - len, "-iwae%d", c->samples);
    if (len < cap && c->objective == VAE_OBJ_ELBO && c->beta != 1)
        snprintf(buf + len, cap - len, "-beta%g", c->beta);
}

/* ------------------------------------------------------------------ */
/* initialisation (docs/vae.md, "Units, scaling and binarising") */

/* W (n, c), b (n) ~ U(-1/sqrt(c), 1/sqrt(c)) (PyTorch's nn.Linear) */
static void init_dense(gsl_rng *r, vae_real *w, vae_real *b, size_t n, size_t c)
{
    double bound = 1.0 / sqrt((double)c);
    for (size_t i = 0; i < n * c; i++) w[i] = (vae_real)(bound * (2 * gsl_rng_uniform(r) - 1));
    for (size_t i = 0; i < n; i++) b[i] = (vae_real)(bound * (2 * gsl_rng_uniform(r) - 1));
}

lz_status vae_init(vae_model *mod, unsigned long seed, double sigma2, lz_error *err)
{
    const vae_arch *a = &mod->a;
    gsl_rng *r = lz_rng_alloc_stream(seed, VAE_STREAM_INIT);
    if (!r) return lz_fail(err, LZ_ENOMEM, "VAE initialisation: out of memory");
    /* the padding between tensors stays zero */
    memset(mod->block, 0, mod->n_block * sizeof(vae_real));
    size_t c = a->d;
    for (size_t l = 0; l < a->n_enc; l++) {
        init_dense(r, mod->p.enc_w[l], mod->p.enc_b[l], a->enc[l], c);
        c = a->enc[l];
    }
    init_dense(r, mod->p.head_w, mod->p.head_b, 2 * a->k, c);
    c = a->k;
    for (size_t l = 0; l < a->n_dec; l++) {
        init_dense(r, mod->p.dec_w[l], mod->p.dec_b[l], a->dec[l], c);
        c = a->dec[l];
    }
    init_dense(r, mod->p.out_w, mod->p.out_b, a->d, c);
    gsl_rng_free(r);
    if (a->lik == VAE_GAUSSIAN)
        /* sigma~^2 = sigma2 / scale^2 (overall, data units), or sigma2 (column) */
        *mod->p.log_sigma2 =
            (vae_real)(sigma2 <= 0                           ? 0.0
                       : mod->standardize == VAE_STD_OVERALL ? log(sigma2) - 2 * log(mod->scale[0])
                                                             : log(sigma2));
    memset(mod->gblock, 0, mod->n_block * sizeof(vae_real));
    memset(mod->adam_m, 0, mod->n_block * sizeof(vae_real));
    memset(mod->adam_v, 0, mod->n_block * sizeof(vae_real));
    mod->adam_t = 0;
    return LZ_OK;
}

lz_status vae_check_params(const vae_model *mod, int ep, const char *also, lz_error *err)
{
    int ok = 1;
    for (size_t i = 0; ok && i < mod->n_block; i++) ok = isfinite((double)mod->block[i]);
    if (ok && mod->a.lik == VAE_GAUSSIAN) {
        /* log of vae_sigma2, compared with log DBL_MAX: exp itself would
         * overflow (a floating-point exception in the LZ_FPE build) */
        double l = (double)*mod->p.log_sigma2;
        if (mod->standardize == VAE_STD_OVERALL) l += 2.0 * log(mod->scale[0]);
        ok = l < log(DBL_MAX);
    }
    if (ok) return LZ_OK;
    return lz_fail(err, LZ_ENUMERIC,
                   "epoch %d: a parameter (or sigma^2) is not finite after the last step (try a "
                   "smaller --lr%s%s)",
                   ep, also, vae_sigma2_hint(mod));
}

const char *vae_sigma2_hint(const vae_model *mod)
{
    return mod->a.lik == VAE_GAUSSIAN && !mod->a.learn_sigma2 ? ", or a larger --sigma2" : "";
}

double vae_sigma2(const vae_model *mod)
{
    if (mod->a.lik != VAE_GAUSSIAN) return NAN;
    double s2 = exp((double)*mod->p.log_sigma2); /* sigma~^2, model space */
    return mod->standardize == VAE_STD_OVERALL ? s2 * mod->scale[0] * mod->scale[0] : s2;
}

const char *vae_sigma2_units(const vae_model *mod)
{
    return mod->standardize == VAE_STD_OVERALL ? "data units" : "of each column's variance";
}

/* ------------------------------------------------------------------ */
/* model files */

void vae_map_put(FILE *f, const vae_model *mod)
{
    lz_model_put_str(f, "standardize", std_names[mod->standardize]);
    lz_model_put_array(f, "scale", 1, mod->a.d, mod->scale);
    lz_model_put_array(f, "shift", 1, mod->a.d, mod->shift);
}

lz_status vae_map_get(const lz_model *m, const char *path, vae_model *mod, lz_error *err)
{
    size_t d = mod->a.d;
    lz_status st;
    if (lz_model_version(m) < 2) {
        /* version 1: one overall scale */
        double s = 0;
        if ((st = lz_model_get_real(m, "scale", &s, err))) return st;
        for (size_t j = 0; j < d; j++) mod->scale[j] = s;
        mod->standardize = VAE_STD_OVERALL;
    } else {
        int std = 0;
        if ((st = lz_model_get_choice(m, path, "standardize", std_names, 2, &std, err)) ||
            (st = lz_model_get_array(m, "scale", 1, d, mod->scale, err)))
            return st;
        mod->standardize = (vae_std)std;
    }
    for (size_t j = 0; j < d; j++)
        if (!(mod->scale[j] > 0))
            return lz_fail(err, LZ_EFORMAT, "%s:%zu: scale %g (column %zu): expected a number > 0",
                           path, lz_model_line(m, "scale") + (lz_model_version(m) >= 2),
                           mod->scale[j], j + 1);
    if ((st = lz_model_get_array(m, "shift", 1, d, mod->shift, err))) return st;
    free(mod->map_file);
    if (!(mod->map_file = strdup(path))) return lz_fail(err, LZ_ENOMEM, "%s: out of memory", path);
    return LZ_OK;
}

lz_status vae_model_write(const vae_model *mod, lz_outset *os, const char *path, lz_error *err)
{
    FILE *f = lz_outset_open(os, path, err);
    if (!f) return err->status;
    const vae_arch *a = &mod->a;
    lz_model_begin(f, VAE_MODEL_KIND, VAE_MODEL_VERSION);
    lz_model_put_str(f, "likelihood", lik_names[a->lik]);
    lz_model_put_str(f, "decoder", dec_names[a->decoder]);
    lz_model_put_str(f, "act", act_names[a->act]);
    lz_model_put_str(f, "binarize", bin_names[mod->binarize]);
    lz_model_put_int(f, "d", (long)a->d);
    lz_model_put_int(f, "k", (long)a->k);
    lz_model_put_int(f, "learn_sigma2", a->learn_sigma2);
    lz_model_put_int(f, "n_enc", (long)a->n_enc);
    lz_model_put_int(f, "n_dec", (long)a->n_dec);
    char nm[32];
    for (size_t l = 0; l < a->n_enc; l++) {
        snprintf(nm, sizeof nm, "enc_h%zu", l + 1);
        lz_model_put_int(f, nm, (long)a->enc[l]);
    }
    for (size_t l = 0; l < a->n_dec; l++) {
        snprintf(nm, sizeof nm, "dec_h%zu", l + 1);
        lz_model_put_int(f, nm, (long)a->dec[l]);
    }
    vae_map_put(f, mod);
    for (size_t i = 0; i < mod->n_tensors; i++)
        VAE_PUT_ARRAY(f, mod->t[i].name, mod->t[i].rows, mod->t[i].cols,
                      mod->block + mod->t[i].offset);
    lz_model_end(f);
    return LZ_OK;
}

static lz_status get_size(const lz_model *m, const char *path, const char *name, long lo, long hi,
                          size_t *out, lz_error *err)
{
    long v;
    (void)path;
    lz_status st = lz_model_get_int_range(m, name, lo, hi, &v, err);
    if (st) return st;
    *out = (size_t)v;
    return LZ_OK;
}

lz_status vae_model_read(const char *path, vae_model **out, lz_error *err)
{
    *out = NULL;
    lz_model *m = NULL;
    vae_model *mod = NULL;
    lz_status st = lz_model_read(path, VAE_MODEL_KIND, VAE_MODEL_VERSION, &m, err);
    if (st) return st;
    vae_arch a;
    memset(&a, 0, sizeof a);
    int lik = 0, dec = 0, act = 0, bin = 0;
    size_t learn = 0;
    char nm[32];
    if ((st = lz_model_get_choice(m, path, "likelihood", lik_names, 2, &lik, err)) ||
        (st = lz_model_get_choice(m, path, "decoder", dec_names, 2, &dec, err)) ||
        (st = lz_model_get_choice(m, path, "act", act_names, 2, &act, err)) ||
        (st = lz_model_get_choice(m, path, "binarize", bin_names, 3, &bin, err)) ||
        (st = get_size(m, path, "d", 1, 100000000, &a.d, err)) ||
        (st = get_size(m, path, "k", 1, 100000, &a.k, err)) ||
        (st = get_size(m, path, "learn_sigma2", 0, 1, &learn, err)) ||
        (st = get_size(m, path, "n_enc", 0, VAE_MAX_LAYERS, &a.n_enc, err)) ||
        (st = get_size(m, path, "n_dec", 0, VAE_MAX_LAYERS, &a.n_dec, err)))
        goto done;
    for (size_t l = 0; l < a.n_enc && !st; l++) {
        snprintf(nm, sizeof nm, "enc_h%zu", l + 1);
        st = get_size(m, path, nm, 1, 1000000, &a.enc[l], err);
    }
    for (size_t l = 0; l < a.n_dec && !st; l++) {
        snprintf(nm, sizeof nm, "dec_h%zu", l + 1);
        st = get_size(m, path, nm, 1, 1000000, &a.dec[l], err);
    }
    if (st) goto done;
    a.lik = (vae_lik)lik;
    a.decoder = (vae_dec)dec;
    a.act = (vae_act)act;
    a.learn_sigma2 = (int)learn;
    if ((a.decoder == VAE_DEC_MLP) != (a.n_dec > 0)) {
        st = lz_fail(err, LZ_EFORMAT, "%s:%zu: decoder %s with n_dec = %zu", path,
                     lz_model_line(m, "n_dec"), dec_names[dec], a.n_dec);
        goto done;
    }
    if (bin != VAE_BIN_NONE && a.lik != VAE_BERNOULLI) {
        st = lz_fail(err, LZ_EFORMAT, "%s:%zu: binarize %s with a Gaussian likelihood", path,
                     lz_model_line(m, "binarize"), bin_names[bin]);
        goto done;
    }
    /* every array the architecture needs, with its shape, before the model
     * is allocated: the allocation is then bounded by what the file holds */
    vae_tensor ts[VAE_MAX_TENSORS];
    size_t nt = vae_tensors(&a, ts);
    if ((st = lz_model_check_array(m, "shift", 1, a.d, err))) goto done;
    if (lz_model_version(m) >= 2 && (st = lz_model_check_array(m, "scale", 1, a.d, err))) goto done;
    for (size_t i = 0; i < nt && !st; i++)
        st = lz_model_check_array(m, ts[i].name, ts[i].rows, ts[i].cols, err);
    if (st) goto done;
    if (!(mod = vae_model_alloc(&a, err))) {
        st = LZ_ENOMEM;
        goto done;
    }
    mod->binarize = (vae_bin)bin;
    /* values: finite (and within a float's range for float parameters) */
    if ((st = vae_map_get(m, path, mod, err))) goto done;
    for (size_t i = 0; i < mod->n_tensors && !st; i++) {
        const vae_tensor *t = &mod->t[i];
        st = VAE_GET_ARRAY(m, t->name, t->rows, t->cols, mod->block + t->offset, err);
    }
    /* sigma2 = exp(log_sigma2) and its inverse must be finite doubles */
    if (!st && a.lik == VAE_GAUSSIAN && !(fabs((double)*mod->p.log_sigma2) <= 700))
        st = lz_fail(err, LZ_EFORMAT,
                     "%s:%zu: array log_sigma2: %g: expected a log-variance in [-700, 700]", path,
                     lz_model_line(m, "log_sigma2") + 1, (double)*mod->p.log_sigma2);
done:
    lz_model_free(m);
    if (st) {
        vae_model_free(mod);
        return st;
    }
    *out = mod;
    return LZ_OK;
}
