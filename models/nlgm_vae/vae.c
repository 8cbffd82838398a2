/* vae.c -- the NLGM / VAE: parameters, forward/backward, Adam, training,
 * the importance-weighted likelihood estimate, model files (see vae.h).
 *
 * The derivation this code follows (seed 000, "Estimating phi"): complete the
 * data with Q(z, x) by drawing z = mu(x) + sigma(x) . eps (the
 * reparameterisation); the loss
 *   L_Q = sum_x KL(Q(z, x) || P(z)) - sum_(x, z) log P(x | z; theta)
 * takes the KL term over every value of z (closed form, vae_kl_forward) and
 * the reconstruction term over the drawn samples (vae_bernoulli_forward /
 * vae_gaussian_forward); theta, phi and sigma^2 follow its gradient, computed
 * by backpropagation through the reparameterised z (vae_backward).
 */
#include "vae.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_rng.h>

#include "lz_out.h"
#include "lz_prob.h"
#include "lz_model.h"
#include "lz_time.h"

#ifdef VAE_DOUBLE
#define VAE_GAUSS lz_rng_gauss
#define VAE_PUT_ARRAY lz_model_put_array
#define VAE_GET_ARRAY lz_model_get_array
#else
#define VAE_GAUSS lz_rng_gaussf
#define VAE_PUT_ARRAY lz_model_put_arrayf
#define VAE_GET_ARRAY lz_model_get_arrayf
#endif

/* every tensor starts on a 64-byte boundary */
#define VAE_ALIGN_REALS (64 / sizeof(vae_real))

static const char *const lik_names[] = {"bernoulli", "gaussian"};
static const char *const dec_names[] = {"mlp", "linear"};
static const char *const act_names[] = {"relu", "tanh"};
static const char *const bin_names[] = {"none", "threshold", "dynamic"};

/* ------------------------------------------------------------------ */
/* configuration */

void vae_config_defaults(vae_config *c)
{
    memset(c, 0, sizeof *c);
    c->arch.k = 20;
    c->arch.n_enc = 1;
    c->arch.enc[0] = 400;
    c->arch.n_dec = 1;
    c->arch.dec[0] = 400;
    c->arch.act = VAE_RELU;
    c->arch.lik = VAE_BERNOULLI;
    c->arch.decoder = VAE_DEC_MLP;
    c->arch.learn_sigma2 = 1;
    c->epochs = 10;
    c->batch = 128;
    c->lr = 1e-3;
    c->beta1 = 0.9;
    c->beta2 = 0.999;
    c->adam_eps = 1e-8;
    c->samples = 1;
    c->iw = 100;
    c->sigma2 = 0;
    c->scale = 1;
    c->binarize = VAE_BIN_NONE;
    c->seed = 1;
}

lz_status vae_check_config(const vae_config *c, lz_error *err)
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
        return lz_fail(err, LZ_EINVAL, "--lr %g: expected a step size > 0", c->lr);
    if (!(c->beta1 >= 0 && c->beta1 < 1) || !(c->beta2 >= 0 && c->beta2 < 1) ||
        !(c->adam_eps > 0))
        return lz_fail(err, LZ_EINVAL, "Adam: expected 0 <= beta1, beta2 < 1 and eps > 0");
    if (c->samples < 1 || c->samples > 10000)
        return lz_fail(err, LZ_EINVAL, "--samples %d: expected 1 .. 10000", c->samples);
    if ((size_t)c->samples * c->batch > 10000000)
        return lz_fail(err, LZ_EINVAL, "--samples %d x --batch %zu: at most 10^7 decoder rows",
                       c->samples, c->batch);
    if (c->iw < 1 || c->iw > VAE_IW_MAX)
        return lz_fail(err, LZ_EINVAL, "--iw %d: expected 1 .. %d", c->iw, VAE_IW_MAX);
    if (!(c->sigma2 >= 0) || !isfinite(c->sigma2))
        return lz_fail(err, LZ_EINVAL, "--sigma2 %g: expected a variance > 0 (0: learned)",
                       c->sigma2);
    if (c->sigma2 > 0 && a->lik != VAE_GAUSSIAN)
        return lz_fail(err, LZ_EINVAL, "--sigma2 applies to --likelihood gaussian only");
    if (a->lik == VAE_GAUSSIAN && a->learn_sigma2 != (c->sigma2 == 0))
        return lz_fail(err, LZ_EINVAL, "sigma^2: learn_sigma2 must be set iff --sigma2 is 0");
    if (!(c->scale > 0) || !isfinite(c->scale))
        return lz_fail(err, LZ_EINVAL, "--scale %g: expected a number > 0", c->scale);
    if (c->binarize != VAE_BIN_NONE && a->lik != VAE_BERNOULLI)
        return lz_fail(err, LZ_EINVAL, "--binarize applies to --likelihood bernoulli only");
    return LZ_OK;
}

/* ------------------------------------------------------------------ */
/* parameter block */

static void add_tensor(vae_tensor *t, size_t *n, size_t *off, const char *name, size_t rows,
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
        add_tensor(t, &n, &off, nm, a->enc[l], c);
        snprintf(nm, sizeof nm, "enc_b%zu", l + 1);
        add_tensor(t, &n, &off, nm, 1, a->enc[l]);
        c = a->enc[l];
    }
    add_tensor(t, &n, &off, "head_w", 2 * a->k, c);
    add_tensor(t, &n, &off, "head_b", 1, 2 * a->k);
    c = a->k;
    for (size_t l = 0; l < a->n_dec; l++) {
        snprintf(nm, sizeof nm, "dec_w%zu", l + 1);
        add_tensor(t, &n, &off, nm, a->dec[l], c);
        snprintf(nm, sizeof nm, "dec_b%zu", l + 1);
        add_tensor(t, &n, &off, nm, 1, a->dec[l]);
        c = a->dec[l];
    }
    add_tensor(t, &n, &off, "out_w", a->d, c);
    add_tensor(t, &n, &off, "out_b", 1, a->d);
    if (a->lik == VAE_GAUSSIAN) add_tensor(t, &n, &off, "log_sigma2", 1, 1);
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

static void *alloc_reals(size_t n)
{
    size_t bytes = (n * sizeof(vae_real) + 63) / 64 * 64;
    void *p = aligned_alloc(64, bytes ? bytes : 64);
    if (p) memset(p, 0, bytes ? bytes : 64);
    return p;
}

vae_model *vae_alloc(const vae_arch *a, lz_error *err)
{
    vae_model *mod = calloc(1, sizeof *mod);
    if (!mod) {
        lz_fail(err, LZ_ENOMEM, "VAE: out of memory");
        return NULL;
    }
    mod->a = *a;
    mod->n_tensors = tensors(a, mod->t, &mod->n_block);
    mod->block = alloc_reals(mod->n_block);
    mod->gblock = alloc_reals(mod->n_block);
    mod->adam_m = alloc_reals(mod->n_block);
    mod->adam_v = alloc_reals(mod->n_block);
    mod->shift = calloc(a->d ? a->d : 1, sizeof *mod->shift);
    if (!mod->block || !mod->gblock || !mod->adam_m || !mod->adam_v || !mod->shift) {
        size_t nb = mod->n_block;
        vae_free(mod);
        lz_fail(err, LZ_ENOMEM, "VAE: out of memory for %zu parameters", nb);
        return NULL;
    }
    set_views(a, mod->t, mod->block, &mod->p);
    set_views(a, mod->t, mod->gblock, &mod->g);
    mod->scale = 1;
    mod->binarize = VAE_BIN_NONE;
    return mod;
}

void vae_free(vae_model *mod)
{
    if (!mod) return;
    free(mod->block);
    free(mod->gblock);
    free(mod->adam_m);
    free(mod->adam_v);
    free(mod->shift);
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

/* W (n, c), b (n) ~ U(-1/sqrt(c), 1/sqrt(c)) (PyTorch's nn.Linear) */
static void init_dense(gsl_rng *r, vae_real *w, vae_real *b, size_t n, size_t c)
{
    double bound = 1.0 / sqrt((double)c);
    for (size_t i = 0; i < n * c; i++) w[i] = (vae_real)(bound * (2 * gsl_rng_uniform(r) - 1));
    for (size_t i = 0; i < n; i++) b[i] = (vae_real)(bound * (2 * gsl_rng_uniform(r) - 1));
}

void vae_init(vae_model *mod, unsigned long seed, double sigma2)
{
    const vae_arch *a = &mod->a;
    gsl_rng *r = lz_rng_alloc_stream(seed, 0);
    memset(mod->block, 0, mod->n_block * sizeof(vae_real));
    size_t c = a->d;
    if (r) {
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
    }
    if (a->lik == VAE_GAUSSIAN)
        *mod->p.log_sigma2 =
            (vae_real)(sigma2 > 0 ? log(sigma2) - 2 * log(mod->scale) : 0.0);
    memset(mod->gblock, 0, mod->n_block * sizeof(vae_real));
    memset(mod->adam_m, 0, mod->n_block * sizeof(vae_real));
    memset(mod->adam_v, 0, mod->n_block * sizeof(vae_real));
    mod->adam_t = 0;
}

/* ------------------------------------------------------------------ */
/* data <-> model space */

lz_status vae_check_data(const vae_model *mod, const lz_data *data, lz_error *err)
{
    if (data->d != mod->a.d)
        return lz_fail(err, LZ_EINVAL, "%s: %zu columns: expected d = %zu as the model", data->path,
                       data->d, mod->a.d);
    if (mod->a.lik != VAE_BERNOULLI) return LZ_OK;
    double lo, hi, s = mod->scale;
    lz_data_range(data, &lo, &hi);
    for (size_t i = 0; i < data->n; i++)
        for (size_t j = 0; j < data->d; j++) {
            double x = data->x[i * data->d + j], v = (x - mod->shift[j]) / s;
            if (v >= 0 && v <= 1) continue;
            char scl[64] = "", where[256], xs[32], his[32], los[32];
            if (s != 1) snprintf(scl, sizeof scl, " after --scale %g", s);
            lz_data_where(data, i, j, where, sizeof where);
            /* values printed so that they read back exactly: --scale MAX then
             * maps every value to x / MAX <= 1 */
            lz_num_str(x, xs, sizeof xs);
            lz_num_str(hi, his, sizeof his);
            lz_num_str(lo, los, sizeof los);
            if (lo >= 0)
                return lz_fail(err, LZ_EINVAL,
                               "%s: value %s%s is above 1: the Bernoulli likelihood "
                               "needs data in [0, 1] and the data's maximum is %s: use --scale %s "
                               "(and --binarize threshold|dynamic for binary data), or "
                               "--likelihood gaussian",
                               where, xs, scl, his, his);
            return lz_fail(err, LZ_EINVAL,
                           "%s: value %s%s is below 0: the Bernoulli likelihood needs "
                           "data in [0, 1] and the data range over [%s, %s]: rescale the file to "
                           "[0, 1], or use --likelihood gaussian",
                           where, xs, scl, los, his);
        }
    return LZ_OK;
}

lz_status vae_fit_data_map(vae_model *mod, const vae_config *c, const lz_data *train,
                           double *var, lz_error *err)
{
    size_t d = train->d;
    if (d != mod->a.d)
        return lz_fail(err, LZ_EINVAL, "%s: %zu columns: expected d = %zu", train->path, d,
                       mod->a.d);
    mod->binarize = c->binarize;
    if (mod->a.lik == VAE_BERNOULLI) {
        memset(mod->shift, 0, d * sizeof *mod->shift);
        mod->scale = c->scale;
        return vae_check_data(mod, train, err);
    }
    /* Gaussian: shift = mean, scale^2 = (1/d) sum_j var_j = (1/(n d)) sum_ij (x_ij - mu_j)^2 */
    double *v = var ? var : malloc(d * sizeof *v);
    if (!v) return lz_fail(err, LZ_ENOMEM, "%s: out of memory", train->path);
    lz_status st = lz_data_moments(train, mod->shift, v, NULL, err);
    double ss = 0;
    for (size_t j = 0; j < d; j++) ss += v[j];
    if (!var) free(v);
    if (st) return st;
    mod->scale = sqrt(ss / (double)d);
    if (!(mod->scale > 0) || !isfinite(mod->scale))
        return lz_fail(err, LZ_EINVAL,
                       "%s: every column is constant: a Gaussian VAE needs data that vary",
                       train->path);
    return LZ_OK;
}

void vae_to_model_space(const vae_model *mod, const lz_data *data, gsl_rng *rng, vae_real *out)
{
    size_t n = data->n, d = data->d;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++) {
            double v = (data->x[i * d + j] - mod->shift[j]) / mod->scale;
            if (mod->a.lik == VAE_BERNOULLI) {
                if (mod->binarize == VAE_BIN_THRESHOLD) v = v > 0.5 ? 1 : 0;
                else if (mod->binarize == VAE_BIN_DYNAMIC && rng)
                    v = gsl_rng_uniform(rng) < v ? 1 : 0;
            }
            out[i * d + j] = (vae_real)v;
        }
}

void vae_to_data_space(const vae_model *mod, size_t m, const vae_real *a, double *x)
{
    size_t d = mod->a.d;
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < d; j++) {
            double v = a[i * d + j];
            /* Bernoulli: E[x | z] = sigm(a);  Gaussian: E[x | z] = shift + scale a */
            x[i * d + j] = mod->a.lik == VAE_BERNOULLI ? lz_sigmoid(v)
                                                       : mod->shift[j] + mod->scale * v;
        }
}

double vae_ll_offset(const vae_model *mod)
{
    /* x = shift + scale x~: p(x) = p~(x~) / scale^d */
    return mod->a.lik == VAE_GAUSSIAN ? -(double)mod->a.d * log(mod->scale) : 0.0;
}

double vae_sigma2(const vae_model *mod)
{
    if (mod->a.lik != VAE_GAUSSIAN) return NAN;
    return exp((double)*mod->p.log_sigma2) * mod->scale * mod->scale;
}

/* ------------------------------------------------------------------ */
/* workspace */

vae_workspace *vae_workspace_alloc(const vae_model *mod, size_t m_max, lz_error *err)
{
    const vae_arch *a = &mod->a;
    vae_workspace *ws = calloc(1, sizeof *ws);
    if (!ws) goto oom;
    ws->m_max = m_max;
    int ok = 1;
#define WS_REALS(ptr, cols) ok &= ((ptr) = alloc_reals(m_max * (cols))) != NULL
#define WS_DOUBLES(ptr) ok &= ((ptr) = calloc(m_max, sizeof(double))) != NULL
    WS_REALS(ws->x, a->d);
    for (size_t l = 0; l < a->n_enc; l++) {
        WS_REALS(ws->enc_h[l], a->enc[l]);
        WS_REALS(ws->enc_dh[l], a->enc[l]);
    }
    WS_REALS(ws->head, 2 * a->k);
    WS_REALS(ws->dhead, 2 * a->k);
    WS_REALS(ws->eps, a->k);
    WS_REALS(ws->z, a->k);
    WS_REALS(ws->dz, a->k);
    for (size_t l = 0; l < a->n_dec; l++) {
        WS_REALS(ws->dec_h[l], a->dec[l]);
        WS_REALS(ws->dec_dh[l], a->dec[l]);
    }
    WS_REALS(ws->out, a->d);
    WS_REALS(ws->p, a->d);
    WS_REALS(ws->dout, a->d);
    WS_DOUBLES(ws->nll);
    WS_DOUBLES(ws->sq);
    WS_DOUBLES(ws->kl);
    WS_DOUBLES(ws->lw);
#undef WS_REALS
#undef WS_DOUBLES
    if (ok) return ws;
oom:
    vae_workspace_free(ws);
    lz_fail(err, LZ_ENOMEM, "VAE: out of memory for a workspace of %zu rows", m_max);
    return NULL;
}

void vae_workspace_free(vae_workspace *ws)
{
    if (!ws) return;
    free(ws->x);
    for (size_t l = 0; l < VAE_MAX_LAYERS; l++) {
        free(ws->enc_h[l]);
        free(ws->enc_dh[l]);
        free(ws->dec_h[l]);
        free(ws->dec_dh[l]);
    }
    free(ws->head);
    free(ws->dhead);
    free(ws->eps);
    free(ws->z);
    free(ws->dz);
    free(ws->out);
    free(ws->p);
    free(ws->dout);
    free(ws->nll);
    free(ws->sq);
    free(ws->kl);
    free(ws->lw);
    free(ws);
}

/* ------------------------------------------------------------------ */
/* forward and backward */

void vae_encode(const vae_model *mod, vae_workspace *ws, const vae_real *x, size_t m)
{
    const vae_arch *a = &mod->a;
    const vae_real *in = x;
    size_t c = a->d;
    for (size_t l = 0; l < a->n_enc; l++) {
        /* h_l = act(h_{l-1} W_l^T + b_l) */
        vae_dense_forward(ws->enc_h[l], in, mod->p.enc_w[l], mod->p.enc_b[l], m, c, a->enc[l]);
        vae_act_forward(ws->enc_h[l], m * a->enc[l], a->act);
        in = ws->enc_h[l];
        c = a->enc[l];
    }
    /* [mu | log sigma^2] = h W_head^T + b_head: the encoder's two heads */
    vae_dense_forward(ws->head, in, mod->p.head_w, mod->p.head_b, m, c, 2 * a->k);
}

void vae_decode(const vae_model *mod, vae_workspace *ws, const vae_real *z, size_t r)
{
    const vae_arch *a = &mod->a;
    const vae_real *in = z;
    size_t c = a->k;
    for (size_t l = 0; l < a->n_dec; l++) {
        vae_dense_forward(ws->dec_h[l], in, mod->p.dec_w[l], mod->p.dec_b[l], r, c, a->dec[l]);
        vae_act_forward(ws->dec_h[l], r * a->dec[l], a->act);
        in = ws->dec_h[l];
        c = a->dec[l];
    }
    /* f(z) = h W_out^T + b_out (linear decoder: f(z) = A z + b, A = W_out) */
    vae_dense_forward(ws->out, in, mod->p.out_w, mod->p.out_b, r, c, a->d);
}

/* per decoder row nll (L m) <- -log p(x | z) in model space */
static void likelihood_forward(const vae_model *mod, vae_workspace *ws, const vae_real *x,
                               size_t m, size_t L)
{
    if (mod->a.lik == VAE_BERNOULLI)
        vae_bernoulli_forward(ws->nll, ws->p, ws->out, x, m, L, mod->a.d);
    else
        vae_gaussian_forward(ws->nll, ws->sq, ws->out, x, *mod->p.log_sigma2, m, L, mod->a.d);
}

void vae_forward(const vae_model *mod, vae_workspace *ws, const vae_real *x, size_t m, size_t L,
                 double *recon, double *kl)
{
    size_t k = mod->a.k;
    vae_encode(mod, ws, x, m);
    vae_kl_forward(ws->kl, ws->head, m, k);
    /* complete the data: z_li = mu(x_i) + sigma(x_i) . eps_li */
    vae_reparam_forward(ws->z, ws->head, ws->eps, m, L, k);
    vae_decode(mod, ws, ws->z, L * m);
    likelihood_forward(mod, ws, x, m, L);
    double sr = 0, sk = 0;
    for (size_t r = 0; r < L * m; r++) sr += ws->nll[r];
    for (size_t i = 0; i < m; i++) sk += ws->kl[i];
    *recon = sr / (double)L;
    *kl = sk;
}

void vae_zero_grad(vae_model *mod) { memset(mod->gblock, 0, mod->n_block * sizeof(vae_real)); }

void vae_backward(vae_model *mod, vae_workspace *ws, const vae_real *x, size_t m, size_t L)
{
    const vae_arch *a = &mod->a;
    size_t r = L * m, k = a->k, d = a->d;
    /* the activation gradients accumulate too: start them at zero */
    memset(ws->dout, 0, r * d * sizeof(vae_real));
    memset(ws->dz, 0, r * k * sizeof(vae_real));
    memset(ws->dhead, 0, m * 2 * k * sizeof(vae_real));
    for (size_t l = 0; l < a->n_dec; l++) memset(ws->dec_dh[l], 0, r * a->dec[l] * sizeof(vae_real));
    for (size_t l = 0; l < a->n_enc; l++) memset(ws->enc_dh[l], 0, m * a->enc[l] * sizeof(vae_real));

    /* loss = sum_i [(1/L) sum_l nll_li + KL_i]: every nll row has weight 1/L */
    vae_real dl = (vae_real)(1.0 / (double)L);
    if (a->lik == VAE_BERNOULLI)
        vae_bernoulli_backward(ws->dout, ws->p, x, m, L, d, dl);
    else
        vae_gaussian_backward(ws->dout, a->learn_sigma2 ? mod->g.log_sigma2 : NULL, ws->sq,
                              ws->out, x, *mod->p.log_sigma2, m, L, d, dl);

    /* decoder, output layer first */
    size_t nd = a->n_dec;
    const vae_real *in = nd ? ws->dec_h[nd - 1] : ws->z;
    vae_real *din = nd ? ws->dec_dh[nd - 1] : ws->dz;
    size_t c = nd ? a->dec[nd - 1] : k;
    vae_dense_backward(din, mod->g.out_w, mod->g.out_b, ws->dout, in, mod->p.out_w, r, c, d);
    for (size_t l = nd; l-- > 0;) {
        vae_act_backward(ws->dec_dh[l], ws->dec_h[l], r * a->dec[l], a->act);
        in = l ? ws->dec_h[l - 1] : ws->z;
        din = l ? ws->dec_dh[l - 1] : ws->dz;
        c = l ? a->dec[l - 1] : k;
        vae_dense_backward(din, mod->g.dec_w[l], mod->g.dec_b[l], ws->dec_dh[l], in,
                           mod->p.dec_w[l], r, c, a->dec[l]);
    }

    /* through z = mu + sigma . eps to the heads, plus the KL term's own gradient
     * (seed 000: grad_phi z = grad_phi mu + diag(eps) grad_phi Sigma^0.5) */
    vae_reparam_backward(ws->dhead, ws->dz, ws->head, ws->eps, m, L, k);
    vae_kl_backward(ws->dhead, ws->head, m, k, 1);

    /* encoder, heads first; the data need no gradient */
    size_t ne = a->n_enc;
    in = ne ? ws->enc_h[ne - 1] : x;
    din = ne ? ws->enc_dh[ne - 1] : NULL;
    c = ne ? a->enc[ne - 1] : d;
    vae_dense_backward(din, mod->g.head_w, mod->g.head_b, ws->dhead, in, mod->p.head_w, m, c,
                       2 * k);
    for (size_t l = ne; l-- > 0;) {
        vae_act_backward(ws->enc_dh[l], ws->enc_h[l], m * a->enc[l], a->act);
        in = l ? ws->enc_h[l - 1] : x;
        din = l ? ws->enc_dh[l - 1] : NULL;
        c = l ? a->enc[l - 1] : d;
        vae_dense_backward(din, mod->g.enc_w[l], mod->g.enc_b[l], ws->enc_dh[l], in,
                           mod->p.enc_w[l], m, c, a->enc[l]);
    }
}

void vae_adam_step(vae_model *mod, double lr, double beta1, double beta2, double eps)
{
    mod->adam_t++;
    double bc1 = 1 - pow(beta1, (double)mod->adam_t), bc2 = 1 - pow(beta2, (double)mod->adam_t);
    const vae_real b1 = (vae_real)beta1, b2 = (vae_real)beta2;
    const vae_real step = (vae_real)(lr / bc1), rs = (vae_real)(1 / sqrt(bc2)), e = (vae_real)eps;
    vae_real *restrict th = mod->block, *restrict mm = mod->adam_m, *restrict vv = mod->adam_v;
    const vae_real *restrict g = mod->gblock;
    size_t n = mod->n_block;
#pragma omp simd
    for (size_t i = 0; i < n; i++) {
        /* m <- b1 m + (1-b1) g;  v <- b2 v + (1-b2) g^2 */
        mm[i] = b1 * mm[i] + (1 - b1) * g[i];
        vv[i] = b2 * vv[i] + (1 - b2) * g[i] * g[i];
        /* theta <- theta - lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps) */
        th[i] -= step * mm[i] / (VAE_RSQRT(vv[i]) * rs + e);
    }
}

/* ------------------------------------------------------------------ */
/* evaluation */

void vae_eval_loss(const vae_model *mod, vae_workspace *ws, const vae_real *x, size_t n,
                   gsl_rng *rng, double *loss, double *recon, double *kl)
{
    size_t d = mod->a.d, k = mod->a.k;
    double sr = 0, sk = 0;
    for (size_t i0 = 0; i0 < n; i0 += ws->m_max) {
        size_t m = n - i0 < ws->m_max ? n - i0 : ws->m_max;
        VAE_GAUSS(rng, m * k, ws->eps);
        double r, q;
        vae_forward(mod, ws, x + i0 * d, m, 1, &r, &q);
        sr += r;
        sk += q;
    }
    /* data units: -log p(x) = -log p~(x~) - offset */
    *recon = sr / (double)n - vae_ll_offset(mod);
    *kl = sk / (double)n;
    *loss = *recon + *kl;
}

lz_status vae_iw(const vae_model *mod, vae_workspace *ws, const vae_real *x, size_t n, size_t K,
                 gsl_rng *rng, double *ll, double *elbo, double *var, lz_error *err)
{
    size_t d = mod->a.d, k = mod->a.k;
    if (K < 1 || K > ws->m_max)
        return lz_fail(err, LZ_EINVAL, "importance sampling: K = %zu: expected 1 .. %zu", K,
                       ws->m_max);
    size_t chunk = ws->m_max / K;
    double off = vae_ll_offset(mod), logK = log((double)K);
    for (size_t i0 = 0; i0 < n; i0 += chunk) {
        size_t m = n - i0 < chunk ? n - i0 : chunk;
        const vae_real *xc = x + i0 * d;
        vae_encode(mod, ws, xc, m);
        vae_kl_forward(ws->kl, ws->head, m, k);
        /* z_ji ~ Q(z | x_i) at decoder row j m + i */
        VAE_GAUSS(rng, K * m * k, ws->eps);
        vae_reparam_forward(ws->z, ws->head, ws->eps, m, K, k);
        vae_decode(mod, ws, ws->z, K * m);
        likelihood_forward(mod, ws, xc, m, K);
        for (size_t r = 0; r < K * m; r++) {
            const vae_real *z = ws->z + r * k, *e = ws->eps + r * k;
            const vae_real *lv = ws->head + (r % m) * 2 * k + k;
            /* log N(z; 0, I) - log Q(z | x) with (z - mu)^2 / sigma^2 = eps^2:
             * -1/2 sum_j (z_j^2 - eps_j^2 - lv_j) */
            double s = 0;
            for (size_t j = 0; j < k; j++)
                s += (double)z[j] * z[j] - (double)e[j] * e[j] - lv[j];
            ws->lw[r] = -ws->nll[r] - 0.5 * s;
        }
        for (size_t i = 0; i < m; i++) {
            double mx = -INFINITY, snll = 0;
            for (size_t j = 0; j < K; j++) {
                double w = ws->lw[j * m + i];
                if (w > mx) mx = w;
                snll += ws->nll[j * m + i];
            }
            double s1 = 0, s2 = 0;
            for (size_t j = 0; j < K; j++) {
                double w = exp(ws->lw[j * m + i] - mx);
                s1 += w;
                s2 += w * w;
            }
            if (!isfinite(mx))
                return lz_fail(err, LZ_ENUMERIC,
                               "importance sampling: row %zu: a non-finite log-weight",
                               i0 + i + 1);
            /* log (1/K) sum_j w_j, around the largest weight */
            if (ll) ll[i0 + i] = mx + log(s1) - logK + off;
            if (elbo) elbo[i0 + i] = -snll / (double)K - ws->kl[i] + off;
            /* Var[log mean w] ~ Var[w] / (K E[w]^2) = sum w^2/(sum w)^2 - 1/K */
            if (var) var[i0 + i] = s2 / (s1 * s1) - 1.0 / (double)K;
        }
    }
    return LZ_OK;
}

/* ------------------------------------------------------------------ */
/* training */

lz_status vae_train(vae_model *mod, const vae_config *c, const vae_real *xtrain, size_t n,
                    const vae_real *xtest, size_t nt, vae_epoch_fn on_epoch,
                    vae_batch_fn on_batch, void *ctx, lz_error *err)
{
    const vae_arch *a = &mod->a;
    size_t d = a->d, k = a->k, L = (size_t)c->samples;
    size_t mb = c->batch < n ? c->batch : n;
    size_t n_batches = (n + mb - 1) / mb;
    lz_status st = LZ_OK;
    vae_workspace *ws = vae_workspace_alloc(mod, mb * L, err);
    size_t *idx = malloc(n * sizeof *idx);
    gsl_rng *r_train = lz_rng_alloc_stream(c->seed, 1);
    gsl_rng *r_bin = lz_rng_alloc_stream(c->seed, 2);
    gsl_rng *r_test0 = lz_rng_alloc_stream(c->seed, 3);
    gsl_rng *r_test = gsl_rng_alloc(gsl_rng_mt19937);
    if (!ws || !idx || !r_train || !r_bin || !r_test0 || !r_test) {
        st = lz_fail(err, LZ_ENOMEM, "VAE training: out of memory");
        goto done;
    }
    double offset = vae_ll_offset(mod);
    double t0 = lz_now(), t_train = 0;
    for (int ep = 1; ep <= c->epochs; ep++) {
        double te = lz_now();
        lz_rng_perm(r_train, n, idx);
        double sr = 0, sk = 0;
        for (size_t b = 0; b < n_batches; b++) {
            size_t i0 = b * mb, m = n - i0 < mb ? n - i0 : mb;
            for (size_t i = 0; i < m; i++)
                memcpy(ws->x + i * d, xtrain + idx[i0 + i] * d, d * sizeof(vae_real));
            if (mod->binarize == VAE_BIN_DYNAMIC)
                /* x ~ Bernoulli(grey level), a new draw every time (Burda et al.) */
                for (size_t j = 0; j < m * d; j++)
                    ws->x[j] = gsl_rng_uniform(r_bin) < ws->x[j] ? 1 : 0;
            VAE_GAUSS(r_train, L * m * k, ws->eps);
            double rr, kk;
            vae_forward(mod, ws, ws->x, m, L, &rr, &kk);
            if (!isfinite(rr + kk)) {
                st = lz_fail(err, LZ_ENUMERIC,
                             "epoch %d, minibatch %zu: the loss is not finite "
                             "(try a smaller --lr)", ep, b + 1);
                goto done;
            }
            vae_zero_grad(mod);
            vae_backward(mod, ws, ws->x, m, L);
            vae_adam_step(mod, c->lr, c->beta1, c->beta2, c->adam_eps);
            sr += rr;
            sk += kk;
            if (on_batch) on_batch(ep, b + 1, n_batches, ctx);
        }
        double step_time = lz_now() - te;
        t_train += step_time;
        vae_epoch_info info;
        info.epoch = ep;
        info.recon_train = sr / (double)n - offset;
        info.kl_train = sk / (double)n;
        info.loss_train = info.recon_train + info.kl_train;
        info.loss_test = info.recon_test = info.kl_test = NAN;
        if (xtest && nt) {
            /* the same noise every epoch: the curve shows the model's change */
            gsl_rng_memcpy(r_test, r_test0);
            vae_eval_loss(mod, ws, xtest, nt, r_test, &info.loss_test, &info.recon_test,
                          &info.kl_test);
        }
        info.sigma2 = vae_sigma2(mod);
        info.seconds = lz_now() - t0;
        info.train_seconds = t_train;
        info.samples_per_sec = step_time > 0 ? (double)n / step_time : NAN;
        if (on_epoch && on_epoch(&info, ctx)) {
            st = lz_fail(err, LZ_ESTOP, "training stopped at epoch %d", ep);
            goto done;
        }
    }
done:
    vae_workspace_free(ws);
    free(idx);
    gsl_rng_free(r_train);
    gsl_rng_free(r_bin);
    gsl_rng_free(r_test0);
    gsl_rng_free(r_test);
    return st;
}

/* ------------------------------------------------------------------ */
/* model files */

void vae_write(const vae_model *mod, FILE *f)
{
    const vae_arch *a = &mod->a;
    lz_model_begin(f, "vae", 1);
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
    lz_model_put_real(f, "scale", mod->scale);
    lz_model_put_array(f, "shift", 1, a->d, mod->shift);
    for (size_t i = 0; i < mod->n_tensors; i++)
        VAE_PUT_ARRAY(f, mod->t[i].name, mod->t[i].rows, mod->t[i].cols,
                      mod->block + mod->t[i].offset);
    lz_model_end(f);
}

static lz_status get_choice(const lz_model *m, const char *path, const char *name,
                            const char *const *names, int n, int *out, lz_error *err)
{
    const char *s;
    lz_status st = lz_model_get_str(m, name, &s, err);
    if (st) return st;
    for (int i = 0; i < n; i++)
        if (!strcmp(s, names[i])) {
            *out = i;
            return LZ_OK;
        }
    return lz_fail(err, LZ_EFORMAT, "%s:%zu: %s '%s': not a known value", path,
                   lz_model_line(m, name), name, s);
}

static lz_status get_size(const lz_model *m, const char *path, const char *name, long lo,
                          long hi, size_t *out, lz_error *err)
{
    long v;
    (void)path;
    lz_status st = lz_model_get_int_range(m, name, lo, hi, &v, err);
    if (st) return st;
    *out = (size_t)v;
    return LZ_OK;
}

lz_status vae_read(const char *path, vae_model **out, lz_error *err)
{
    *out = NULL;
    lz_model *m = NULL;
    vae_model *mod = NULL;
    lz_status st = lz_model_read(path, "vae", 1, &m, err);
    if (st) return st;
    vae_arch a;
    memset(&a, 0, sizeof a);
    int lik = 0, dec = 0, act = 0, bin = 0;
    size_t learn = 0;
    char nm[32];
    if ((st = get_choice(m, path, "likelihood", lik_names, 2, &lik, err)) ||
        (st = get_choice(m, path, "decoder", dec_names, 2, &dec, err)) ||
        (st = get_choice(m, path, "act", act_names, 2, &act, err)) ||
        (st = get_choice(m, path, "binarize", bin_names, 3, &bin, err)) ||
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
    double scale = 0;
    if ((st = lz_model_get_real(m, "scale", &scale, err))) goto done;
    if (!(scale > 0)) {
        st = lz_fail(err, LZ_EFORMAT, "%s:%zu: real scale %g: expected a number > 0", path,
                     lz_model_line(m, "scale"), scale);
        goto done;
    }
    /* every array the architecture needs, with its shape, before the model
     * is allocated: the allocation is then bounded by what the file holds */
    vae_tensor ts[VAE_MAX_TENSORS];
    size_t nt = vae_tensors(&a, ts);
    if ((st = lz_model_check_array(m, "shift", 1, a.d, err))) goto done;
    for (size_t i = 0; i < nt && !st; i++)
        st = lz_model_check_array(m, ts[i].name, ts[i].rows, ts[i].cols, err);
    if (st) goto done;
    if (!(mod = vae_alloc(&a, err))) {
        st = LZ_ENOMEM;
        goto done;
    }
    mod->binarize = (vae_bin)bin;
    mod->scale = scale;
    /* values: finite (and within a float's range for float parameters) */
    if ((st = lz_model_get_array(m, "shift", 1, a.d, mod->shift, err))) goto done;
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
        vae_free(mod);
        return st;
    }
    *out = mod;
    return LZ_OK;
}
