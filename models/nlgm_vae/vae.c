/* vae.c -- the VAE's network and its training: workspace, forward,
 * backward, Adam, the per-epoch loss and the training loop vae_fit (see
 * vae.h).  Calls the layers (vae_layers.c), the parameter block
 * (vae_model.c) and the units (vae_prepare.c).
 *
 * The derivation this code follows (docs/vae.md, "The training loss, step
 * by step"; the lecture's slide "Estimating phi"): complete the data with
 * Q(z, x) by drawing z = mu(x) + sigma(x) . eps (the reparameterisation);
 * the loss
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

#include "lz_data.h"
#include "lz_prob.h"
#include "lz_time.h"
#include "vae_impl.h"

/* ------------------------------------------------------------------ */
/* workspace */

vae_workspace *vae_workspace_alloc(const vae_model *mod, size_t m_max, lz_error *err)
{
    const vae_arch *a = &mod->a;
    vae_workspace *ws = calloc(1, sizeof *ws);
    if (!ws) goto oom;
    ws->m_max = m_max;
    int ok = 1;
#define WS_REALS(ptr, cols) ok &= ((ptr) = vae_alloc_reals(m_max * (cols))) != NULL
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
    WS_DOUBLES(ws->wt);
    WS_DOUBLES(ws->gap);
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
    free(ws->wt);
    free(ws->gap);
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
    vae_lv_bound(ws->head, m, a->k);
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

void vae_likelihood_forward(const vae_model *mod, vae_workspace *ws, const vae_real *x, size_t m,
                            size_t L)
{
    if (mod->a.lik == VAE_BERNOULLI)
        vae_bernoulli_forward(ws->nll, ws->p, ws->out, x, m, L, mod->a.d);
    else
        vae_gaussian_forward(ws->nll, ws->sq, ws->out, x, *mod->p.log_sigma2, m, L, mod->a.d);
}

void vae_forward_loss(const vae_model *mod, vae_workspace *ws, const vae_real *x, size_t m,
                      size_t L, const vae_loss *lo, double *recon, double *kl, double *obj)
{
    size_t k = mod->a.k;
    vae_encode(mod, ws, x, m);
    vae_kl_forward(ws->kl, ws->head, m, k);
    /* complete the data: z_li = mu(x_i) + sigma(x_i) . eps_li */
    vae_reparam_forward(ws->z, ws->head, ws->eps, m, L, k);
    vae_decode(mod, ws, ws->z, L * m);
    vae_likelihood_forward(mod, ws, x, m, L);
    double sr = 0, sk = 0;
    for (size_t r = 0; r < L * m; r++) sr += ws->nll[r];
    for (size_t i = 0; i < m; i++) sk += ws->kl[i];
    *recon = sr / (double)L;
    *kl = sk;
    if (lo->objective == VAE_OBJ_IWAE) {
        /* -L_K = -[ELBO + gap] (docs/vae.md, "The IWAE bound") */
        vae_iwae_forward(ws->lw, ws->wt, ws->gap, ws->nll, ws->z, ws->eps, ws->head, m, L, k);
        double sg = 0;
        for (size_t i = 0; i < m; i++) sg += ws->gap[i];
        if (obj) *obj = *recon + *kl - sg;
    } else if (obj)
        /* -ELBO with the KL term weighted by beta */
        *obj = *recon + lo->beta * *kl;
}

void vae_forward(const vae_model *mod, vae_workspace *ws, const vae_real *x, size_t m, size_t L,
                 double *recon, double *kl)
{
    const vae_loss lo = VAE_LOSS_ELBO;
    vae_forward_loss(mod, ws, x, m, L, &lo, recon, kl, NULL);
}

void vae_zero_grad(vae_model *mod) { memset(mod->gblock, 0, mod->n_block * sizeof(vae_real)); }

/* the encoder's gradients from ws->dhead (m, 2k), heads first; the data
 * need no gradient.  ws->enc_dh start at zero. */
static void backward_encoder(vae_model *mod, vae_workspace *ws, const vae_real *x, size_t m)
{
    const vae_arch *a = &mod->a;
    size_t ne = a->n_enc, k = a->k;
    const vae_real *in = ne ? ws->enc_h[ne - 1] : x;
    vae_real *din = ne ? ws->enc_dh[ne - 1] : NULL;
    size_t c = ne ? a->enc[ne - 1] : a->d;
    vae_lv_bound_backward(ws->dhead, ws->head, m, k);
    vae_dense_backward(din, mod->g.head_w, mod->g.head_b, ws->dhead, in, mod->p.head_w, m, c,
                       2 * k);
    for (size_t l = ne; l-- > 0;) {
        vae_act_backward(ws->enc_dh[l], ws->enc_h[l], m * a->enc[l], a->act);
        in = l ? ws->enc_h[l - 1] : x;
        din = l ? ws->enc_dh[l - 1] : NULL;
        c = l ? a->enc[l - 1] : a->d;
        vae_dense_backward(din, mod->g.enc_w[l], mod->g.enc_b[l], ws->enc_dh[l], in,
                           mod->p.enc_w[l], m, c, a->enc[l]);
    }
}

/* the IWAE bound's likelihood gradient: row r of dout (L m, d) weighted by
 * w~_r, and sigma^2's likewise (docs/vae.md, "The IWAE bound") */
static void iwae_likelihood_backward(vae_model *mod, vae_workspace *ws, const vae_real *x, size_t m,
                                     size_t L)
{
    const vae_arch *a = &mod->a;
    size_t r = L * m, d = a->d;
    vae_real lsig = a->lik == VAE_GAUSSIAN ? *mod->p.log_sigma2 : 0;
    if (a->lik == VAE_BERNOULLI)
        vae_bernoulli_backward(ws->dout, ws->p, x, m, L, d, 1);
    else
        vae_gaussian_backward(ws->dout, NULL, ws->sq, ws->out, x, lsig, m, L, d, 1);
    for (size_t q = 0; q < r; q++) {
        vae_real w = (vae_real)ws->wt[q], *row = ws->dout + q * d;
#pragma omp simd
        for (size_t j = 0; j < d; j++) row[j] *= w;
    }
    if (a->lik == VAE_GAUSSIAN && a->learn_sigma2) {
        /* d nll_r / d log s2 = d/2 - |x - a|^2 / (2 s2), weighted by w~_r */
        double inv_s2 = exp(-(double)lsig), gs = 0;
        for (size_t q = 0; q < r; q++)
            gs += ws->wt[q] * (0.5 * (double)d - 0.5 * ws->sq[q] * inv_s2);
        *mod->g.log_sigma2 += (vae_real)gs;
    }
}

void vae_backward_loss(vae_model *mod, vae_workspace *ws, const vae_real *x, size_t m, size_t L,
                       const vae_loss *lo)
{
    const vae_arch *a = &mod->a;
    size_t r = L * m, k = a->k, d = a->d;
    int score = lo->estimator == VAE_EST_SCORE, iwae = lo->objective == VAE_OBJ_IWAE;
    /* the activation gradients accumulate too: start them at zero */
    memset(ws->dout, 0, r * d * sizeof(vae_real));
    memset(ws->dz, 0, r * k * sizeof(vae_real));
    memset(ws->dhead, 0, m * 2 * k * sizeof(vae_real));
    for (size_t l = 0; l < a->n_dec; l++)
        memset(ws->dec_dh[l], 0, r * a->dec[l] * sizeof(vae_real));
    for (size_t l = 0; l < a->n_enc; l++)
        memset(ws->enc_dh[l], 0, m * a->enc[l] * sizeof(vae_real));

    if (iwae)
        iwae_likelihood_backward(mod, ws, x, m, L);
    else {
        /* loss = sum_i [(1/L) sum_l nll_li + beta KL_i]: every nll row has weight 1/L */
        vae_real dl = (vae_real)(1.0 / (double)L);
        if (a->lik == VAE_BERNOULLI)
            vae_bernoulli_backward(ws->dout, ws->p, x, m, L, d, dl);
        else
            vae_gaussian_backward(ws->dout, a->learn_sigma2 ? mod->g.log_sigma2 : NULL, ws->sq,
                                  ws->out, x, *mod->p.log_sigma2, m, L, d, dl);
    }

    /* decoder, output layer first; the score function needs no dz */
    size_t nd = a->n_dec;
    const vae_real *in = nd ? ws->dec_h[nd - 1] : ws->z;
    vae_real *din = nd ? ws->dec_dh[nd - 1] : (score ? NULL : ws->dz);
    size_t c = nd ? a->dec[nd - 1] : k;
    vae_dense_backward(din, mod->g.out_w, mod->g.out_b, ws->dout, in, mod->p.out_w, r, c, d);
    for (size_t l = nd; l-- > 0;) {
        vae_act_backward(ws->dec_dh[l], ws->dec_h[l], r * a->dec[l], a->act);
        in = l ? ws->dec_h[l - 1] : ws->z;
        din = l ? ws->dec_dh[l - 1] : (score ? NULL : ws->dz);
        c = l ? a->dec[l - 1] : k;
        vae_dense_backward(din, mod->g.dec_w[l], mod->g.dec_b[l], ws->dec_dh[l], in,
                           mod->p.dec_w[l], r, c, a->dec[l]);
    }

    if (score)
        /* the score function: (1/L) sum_l (nll_li - b_i) grad log Q(z_li | x_i)
         * (docs/vae.md, "Gradient estimators") */
        vae_score_backward(ws->dhead, ws->nll, lo->base, ws->head, ws->eps, m, L, k,
                           1.0 / (double)L);
    else {
        /* IWAE: the prior's share of d log w / dz */
        if (iwae) vae_iwae_backward(ws->dz, ws->wt, ws->z, m, L, k);
        /* through z = mu + sigma . eps to the heads (the lecture's "remember
         * this one": grad_phi z = grad_phi mu + diag(eps) grad_phi Sigma^0.5) */
        vae_reparam_backward(ws->dhead, ws->dz, ws->head, ws->eps, m, L, k);
    }
    /* the KL term's own gradient, in closed form, weighted by beta (IWAE: 1) */
    vae_kl_backward(ws->dhead, ws->head, m, k, iwae ? 1 : (vae_real)lo->beta);
    backward_encoder(mod, ws, x, m);
}

void vae_backward(vae_model *mod, vae_workspace *ws, const vae_real *x, size_t m, size_t L)
{
    const vae_loss lo = VAE_LOSS_ELBO;
    vae_backward_loss(mod, ws, x, m, L, &lo);
}

void vae_adam_step(vae_model *mod, double lr, double beta1, double beta2, double eps)
{
    mod->adam_t++;
    vae_adam_update(mod->block, mod->adam_m, mod->adam_v, mod->gblock, mod->n_block, mod->adam_t,
                    lr, beta1, beta2, eps);
}

/* ------------------------------------------------------------------ */
/* the variance of the gradient estimators (docs/vae.md, "Measuring the
 * variance") */

size_t vae_encoder_size(const vae_model *mod)
{
    /* the encoder's tensors come first: 2 a tensor of each hidden layer, then
     * head_w and head_b; the next one is the decoder's first */
    return mod->t[2 * mod->a.n_enc + 2].offset;
}

/* Welford's running mean and sum of squared deviations of the encoder's
 * gradient g (P) / m, the s-th draw (s = 1, 2, ...) */
static void gv_accumulate(const vae_real *g, size_t P, double m, size_t s, double *mean, double *m2)
{
    for (size_t p = 0; p < P; p++) {
        double v = (double)g[p] / m, dv = v - mean[p];
        mean[p] += dv / (double)s;
        m2[p] += dv * (v - mean[p]);
    }
}

void vae_grad_var(vae_model *mod, vae_workspace *ws, vae_baselines *b, const vae_real *x, size_t m,
                  size_t N, gsl_rng *rng, double *acc, vae_gradvar *out)
{
    static const vae_baseline bases[VAE_N_GRADVAR] = {VAE_BASE_NONE, VAE_BASE_NONE, VAE_BASE_MEAN,
                                                      VAE_BASE_NET};
    const vae_arch *a = &mod->a;
    size_t k = a->k, P = vae_encoder_size(mod);
    double *mean = acc, *m2 = acc + VAE_N_GRADVAR * P;
    memset(acc, 0, 2 * VAE_N_GRADVAR * P * sizeof *acc);
    /* the baselines as they are, of the fixed rows: ws->lw (mean), ws->wt (net) */
    vae_baselines_predict(b, VAE_BASE_MEAN, x, m, ws->lw);
    vae_baselines_predict(b, VAE_BASE_NET, x, m, ws->wt);
    const double *base[VAE_N_GRADVAR] = {NULL, NULL, ws->lw, ws->wt};
    const vae_loss elbo = VAE_LOSS_ELBO;
    for (size_t s = 1; s <= N; s++) {
        /* one z per datum, the same for every estimator */
        VAE_GAUSS(rng, m * k, ws->eps);
        double rr, kk;
        vae_forward_loss(mod, ws, x, m, 1, &elbo, &rr, &kk, NULL);
        /* reparameterised: the whole backward */
        vae_zero_grad(mod);
        vae_backward_loss(mod, ws, x, m, 1, &elbo);
        gv_accumulate(mod->gblock, P, (double)m, s, mean, m2);
        /* score function: the heads' gradient, then the encoder's */
        for (int e = 1; e < VAE_N_GRADVAR; e++) {
            memset(mod->gblock, 0, P * sizeof(vae_real));
            memset(ws->dhead, 0, m * 2 * k * sizeof(vae_real));
            for (size_t l = 0; l < a->n_enc; l++)
                memset(ws->enc_dh[l], 0, m * a->enc[l] * sizeof(vae_real));
            vae_score_backward(ws->dhead, ws->nll, base[e], ws->head, ws->eps, m, 1, k, 1);
            vae_kl_backward(ws->dhead, ws->head, m, k, 1);
            backward_encoder(mod, ws, x, m);
            gv_accumulate(mod->gblock, P, (double)m, s, mean + e * P, m2 + e * P);
        }
    }
    /* the encoder's parameters without the padding between tensors */
    size_t n_real = 0;
    for (size_t t = 0; t < 2 * a->n_enc + 2; t++) n_real += mod->t[t].rows * mod->t[t].cols;
    for (int e = 0; e < VAE_N_GRADVAR; e++) {
        double tv = 0, g2 = 0;
        for (size_t p = 0; p < P; p++) {
            tv += m2[e * P + p] / (double)(N - 1);
            g2 += mean[e * P + p] * mean[e * P + p];
        }
        out[e].estimator = e ? VAE_EST_SCORE : VAE_EST_REPARAM;
        out[e].baseline = bases[e];
        out[e].total_var = tv;
        out[e].mean_var = tv / (double)n_real;
        /* |mean|^2 / total variance (NaN for a zero variance) */
        out[e].snr = tv > 0 ? g2 / tv : NAN;
    }
}

/* --grad-var: a fixed minibatch of the training rows, drawn (and binarised)
 * once from stream VAE_STREAM_GRAD_VAR, and the workspace of vae_grad_var */
typedef struct {
    size_t m;    /* rows                                   */
    vae_real *x; /* (m, d)                                 */
    double *acc; /* (2 VAE_N_GRADVAR vae_encoder_size)     */
    gsl_rng *rng;
} gradvar_batch;

static lz_status gradvar_begin(gradvar_batch *g, const vae_model *mod, const vae_config *c,
                               const vae_real *xtrain, size_t n, size_t m, size_t *idx,
                               lz_error *err)
{
    size_t d = mod->a.d;
    g->m = m;
    g->rng = lz_rng_alloc_stream(c->seed, VAE_STREAM_GRAD_VAR);
    g->x = vae_alloc_reals(m * d);
    g->acc = malloc(2 * VAE_N_GRADVAR * vae_encoder_size(mod) * sizeof *g->acc);
    if (!g->rng || !g->x || !g->acc)
        return lz_fail(err, LZ_ENOMEM, "VAE training: out of memory for --grad-var");
    lz_rng_perm(g->rng, n, idx);
    VAE_GATHER(d, xtrain, idx, m, g->x);
    if (mod->binarize == VAE_BIN_DYNAMIC)
        for (size_t j = 0; j < m * d; j++) g->x[j] = gsl_rng_uniform(g->rng) < g->x[j] ? 1 : 0;
    return LZ_OK;
}

static void gradvar_end(gradvar_batch *g)
{
    gsl_rng_free(g->rng);
    free(g->x);
    free(g->acc);
}

/* ------------------------------------------------------------------ */
/* training */

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

lz_status vae_fit(vae_model *mod, const vae_config *c, const vae_real *xtrain, size_t n,
                  const vae_real *xtest, size_t nt, vae_epoch_fn on_epoch, vae_batch_fn on_batch,
                  void *ctx, lz_error *err)
{
    const vae_arch *a = &mod->a;
    size_t d = a->d, k = a->k, L = (size_t)c->samples;
    size_t mb = c->batch < n ? c->batch : n;
    size_t n_batches = (n + mb - 1) / mb;
    /* the baselines: for the score function's control variate, and with
     * --grad-var trained on the side for the measurement */
    int gv = c->grad_var > 0;
    int use_base = c->estimator == VAE_EST_SCORE && c->baseline != VAE_BASE_NONE;
    lz_status st = LZ_OK;
    vae_workspace *ws = vae_workspace_alloc(mod, mb * L, err);
    size_t *idx = malloc(n * sizeof *idx);
    double *base = malloc(mb * sizeof *base); /* (mb) the baselines of a minibatch */
    gsl_rng *r_train = lz_rng_alloc_stream(c->seed, VAE_STREAM_TRAIN);
    gsl_rng *r_bin = lz_rng_alloc_stream(c->seed, VAE_STREAM_BIN_TRAIN);
    gsl_rng *r_test0 = lz_rng_alloc_stream(c->seed, VAE_STREAM_TEST_LOSS);
    gsl_rng *r_test = gsl_rng_alloc(gsl_rng_mt19937);
    vae_baselines *bl = NULL;
    gradvar_batch gb = {0};
    if (!ws || !idx || !base || !r_train || !r_bin || !r_test0 || !r_test) {
        st = lz_fail(err, LZ_ENOMEM, "VAE training: out of memory");
        goto done;
    }
    if ((use_base || gv) &&
        !(bl = vae_baselines_alloc(d, mb, c->baseline == VAE_BASE_NET || gv, c->seed, err))) {
        st = err->status;
        goto done;
    }
    double offset = vae_ll_offset(mod);
    double t0 = lz_now(), t_train = 0;
    vae_epoch_info info;
    if (gv) {
        /* the variances at the initial parameters: epoch 0 */
        if ((st = gradvar_begin(&gb, mod, c, xtrain, n, mb, idx, err))) goto done;
        memset(&info, 0, sizeof info);
        info.loss_train = info.recon_train = info.kl_train = info.beta = info.iwae_train = NAN;
        info.loss_test = info.recon_test = info.kl_test = info.samples_per_sec = NAN;
        info.sigma2 = vae_sigma2(mod);
        vae_grad_var(mod, ws, bl, gb.x, gb.m, (size_t)c->grad_var, gb.rng, gb.acc, info.gradvar);
        info.n_gradvar = VAE_N_GRADVAR;
        info.seconds = lz_now() - t0;
        if (on_epoch && on_epoch(&info, ctx)) {
            st = lz_fail(err, LZ_ESTOP, "training stopped before the first epoch");
            goto done;
        }
    }
    for (int ep = 1; ep <= c->epochs; ep++) {
        double te = lz_now();
        lz_rng_perm(r_train, n, idx);
        double sr = 0, sk = 0, sb = 0, so = 0;
        for (size_t b = 0; b < n_batches; b++) {
            size_t i0 = b * mb, m = n - i0 < mb ? n - i0 : mb;
            VAE_GATHER(d, xtrain, idx + i0, m, ws->x);
            if (mod->binarize == VAE_BIN_DYNAMIC)
                /* x ~ Bernoulli(grey level), a new draw every time (Burda et al.) */
                for (size_t j = 0; j < m * d; j++)
                    ws->x[j] = gsl_rng_uniform(r_bin) < ws->x[j] ? 1 : 0;
            VAE_GAUSS(r_train, L * m * k, ws->eps);
            /* this step's loss: the objective, its KL weight, its estimator */
            long t = (long)(ep - 1) * (long)n_batches + (long)b;
            vae_loss lo = {c->objective, vae_kl_weight(c, t, n_batches), c->estimator, NULL};
            if (use_base) {
                vae_baselines_predict(bl, c->baseline, ws->x, m, base);
                lo.base = base;
            }
            double rr, kk, oo;
            vae_forward_loss(mod, ws, ws->x, m, L, &lo, &rr, &kk, &oo);
            if (!isfinite(rr + kk) || !isfinite(oo)) {
                st = lz_fail(err, LZ_ENUMERIC,
                             "epoch %d, minibatch %zu: the loss is not finite "
                             "(try a smaller --lr%s)",
                             ep, b + 1, vae_sigma2_hint(mod));
                goto done;
            }
            vae_zero_grad(mod);
            vae_backward_loss(mod, ws, ws->x, m, L, &lo);
            vae_adam_step(mod, c->lr, c->beta1, c->beta2, c->adam_eps);
            /* the baselines learn from this step's signals after their use */
            if (bl) vae_baselines_update(bl, c, ws->x, m, L, ws->nll);
            sr += rr;
            sk += kk;
            sb += lo.beta;
            so += oo;
            if (on_batch) on_batch(ep, b + 1, n_batches, ctx);
        }
        double step_time = lz_now() - te;
        t_train += step_time;
        memset(&info, 0, sizeof info);
        info.epoch = ep;
        info.recon_train = sr / (double)n - offset;
        info.kl_train = sk / (double)n;
        info.loss_train = info.recon_train + info.kl_train;
        info.beta = sb / (double)n_batches;
        info.iwae_train = c->objective == VAE_OBJ_IWAE ? so / (double)n - offset : NAN;
        info.loss_test = info.recon_test = info.kl_test = NAN;
        if (xtest && nt) {
            /* the same noise every epoch: the curve shows the model's change */
            gsl_rng_memcpy(r_test, r_test0);
            vae_eval_loss(mod, ws, xtest, nt, r_test, &info.loss_test, &info.recon_test,
                          &info.kl_test);
        }
        if (gv) {
            vae_grad_var(mod, ws, bl, gb.x, gb.m, (size_t)c->grad_var, gb.rng, gb.acc,
                         info.gradvar);
            info.n_gradvar = VAE_N_GRADVAR;
        }
        if ((st = vae_check_params(mod, ep, "", err))) goto done;
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
    free(base);
    gsl_rng_free(r_train);
    gsl_rng_free(r_bin);
    gsl_rng_free(r_test0);
    gsl_rng_free(r_test);
    vae_baselines_free(bl);
    gradvar_end(&gb);
    return st;
}
