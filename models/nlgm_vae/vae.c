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

void vae_likelihood_forward(const vae_model *mod, vae_workspace *ws, const vae_real *x, size_t m,
                            size_t L)
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
    vae_likelihood_forward(mod, ws, x, m, L);
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
     * (the lecture's "remember this one": grad_phi z = grad_phi mu +
     * diag(eps) grad_phi Sigma^0.5) */
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
    lz_status st = LZ_OK;
    vae_workspace *ws = vae_workspace_alloc(mod, mb * L, err);
    size_t *idx = malloc(n * sizeof *idx);
    gsl_rng *r_train = lz_rng_alloc_stream(c->seed, VAE_STREAM_TRAIN);
    gsl_rng *r_bin = lz_rng_alloc_stream(c->seed, VAE_STREAM_BIN_TRAIN);
    gsl_rng *r_test0 = lz_rng_alloc_stream(c->seed, VAE_STREAM_TEST_LOSS);
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
            VAE_GATHER(d, xtrain, idx + i0, m, ws->x);
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
