/* vae_layers.h -- the VAE's layers as forward/backward pairs (llm.c style).
 *
 * Dimension letters: m rows of a minibatch (samples x), L samples of z per x,
 * r = L m decoder rows (row l*m + i is sample l of datum i), d data, k latent,
 * c inputs and n outputs of a dense layer.  Matrices are row-major, one
 * sample a row; a dense weight w (n, c) maps a row x (c) to x w^T (n), as
 * PyTorch's nn.Linear does.
 *
 * Conventions: a forward function writes its outputs (first arguments) and
 * the values its backward needs; the backward takes the same arguments in
 * the same order with a `d` prefix on gradients, and ACCUMULATES (+=) into
 * every gradient it produces.  The only exception is vae_act_backward, which
 * turns the gradient w.r.t. a layer's output into the gradient w.r.t. its
 * input in place.  Per-row losses are doubles; every sum over a row is formed
 * in vae_real lanes and added in double.
 */
#ifndef VAE_LAYERS_H
#define VAE_LAYERS_H

#include <stddef.h>

#include "lz_error.h"
#include "vae_real.h"

typedef enum { VAE_RELU = 0, VAE_TANH = 1 } vae_act;

/* ---- dense layer: y = x w^T + b ---- */

/* y (m, n) <- x (m, c) w^T + b;  w (n, c), b (n). */
void vae_dense_forward(vae_real *y, const vae_real *x, const vae_real *w, const vae_real *b,
                       size_t m, size_t c, size_t n);
/* dx (m, c) += dy w (skipped when dx is NULL);  dw (n, c) += dy^T x;
 * db (n) += sum over rows of dy.  dy (m, n). */
void vae_dense_backward(vae_real *dx, vae_real *dw, vae_real *db, const vae_real *dy,
                        const vae_real *x, const vae_real *w, size_t m, size_t c, size_t n);

/* ---- activations, in place ---- */

/* h (cnt) <- relu(h) = max(h, 0) or tanh(h). */
void vae_act_forward(vae_real *h, size_t cnt, vae_act act);
/* dh (cnt) <- dh * act'(pre), act' read from the output h:
 * relu' = 1[h > 0], tanh' = 1 - h^2. */
void vae_act_backward(vae_real *dh, const vae_real *h, size_t cnt, vae_act act);

/* ---- the encoder's two heads: head (m, 2k) = [mu | log sigma^2] ---- */

/* The bound on the log-variance head (docs/vae.md, "The bound on log
 * sigma^2"): lv = max(-B, min(B, a)) of the layer's output a, B =
 * VAE_LV_BOUND.  z lives in the prior's unit scale, where sigma = e^15 is
 * millions of prior deviations and e^-15 below single precision's step for a
 * unit-scale mean; without it a row far outside the training data can make
 * sigma overflow and its likelihood NaN. */
#define VAE_LV_BOUND 30
/* head (m, 2k): every lv into [-B, B] (NaN stays NaN) */
void vae_lv_bound(vae_real *head, size_t m, size_t k);
/* dhead (m, 2k): the gradient of each lv held at the bound is 0 */
void vae_lv_bound_backward(vae_real *dhead, const vae_real *head, size_t m, size_t k);

/* Reparameterisation (docs/vae.md, "The training loss, step by step", 2; the
 * lecture's slide "Sampling z", Rios's "Gaussian Transformation"):
 * z (L m, k), z[l m + i] = mu_i + exp(lv_i / 2) * eps[l m + i], eps (L m, k)
 * standard normal. */
void vae_reparam_forward(vae_real *z, const vae_real *head, const vae_real *eps, size_t m, size_t L,
                         size_t k);
/* dhead (m, 2k) += d/d(mu, lv) of sum dz . z:
 * dmu_i += sum_l dz[l m + i];  dlv_i += sum_l dz[l m + i] * eps[l m + i] * exp(lv_i / 2) / 2. */
void vae_reparam_backward(vae_real *dhead, const vae_real *dz, const vae_real *head,
                          const vae_real *eps, size_t m, size_t L, size_t k);

/* KL(Q || N(0, I)) per row (docs/vae.md, "The training loss, step by step", 3;
 * the lecture slide's "tr(S) + mu^T(mu - d - log|S|)" is a typo of this):
 * kl (m) <- 1/2 sum_j (exp(lv_j) + mu_j^2 - 1 - lv_j). */
void vae_kl_forward(double *kl, const vae_real *head, size_t m, size_t k);
/* dhead += dloss * d kl_i/d(mu, lv) = dloss * (mu, (exp(lv) - 1) / 2) for every row. */
void vae_kl_backward(vae_real *dhead, const vae_real *head, size_t m, size_t k, vae_real dloss);

/* ---- decoder likelihoods; decoder row l m + i is scored against x row i ---- */

/* Bernoulli with logits a (docs/vae.md, "The model"; the PyTorch example's BCE):
 * nll (L m) <- -log p(x|z) = sum_j softplus(a_j) - x_j a_j,  p (L m, d) <- sigm(a).
 * x (m, d) in [0, 1]. */
void vae_bernoulli_forward(double *nll, vae_real *p, const vae_real *a, const vae_real *x, size_t m,
                           size_t L, size_t d);
/* da (L m, d) += dloss * (p - x). */
void vae_bernoulli_backward(vae_real *da, const vae_real *p, const vae_real *x, size_t m, size_t L,
                            size_t d, vae_real dloss);

/* Gaussian N(a, sigma^2 I), lsig = log sigma^2 (docs/vae.md, "The training
 * loss, step by step", 1):
 * nll (L m) <- d/2 (log 2 pi + lsig) + |x - a|^2 / (2 sigma^2);  sq (L m) <- |x - a|^2. */
void vae_gaussian_forward(double *nll, double *sq, const vae_real *a, const vae_real *x,
                          vae_real lsig, size_t m, size_t L, size_t d);
/* da (L m, d) += dloss * (a - x) / sigma^2;
 * dlsig (1) += dloss * sum_r (d/2 - sq_r / (2 sigma^2))  (skipped when dlsig is NULL). */
void vae_gaussian_backward(vae_real *da, vae_real *dlsig, const double *sq, const vae_real *a,
                           const vae_real *x, vae_real lsig, size_t m, size_t L, size_t d,
                           vae_real dloss);

/* ---- shared by the VAE's programs: Adam on a block, the widths of a stack ---- */

/* One Adam step on n parameters (Kingma & Ba 2015, PyTorch's form), step
 * number t >= 1 (taken before the call is counted):
 * m <- b1 m + (1-b1) g;  v <- b2 v + (1-b2) g^2;
 * theta <- theta - lr/(1-b1^t) m / (sqrt(v)/sqrt(1-b2^t) + eps). */
void vae_adam_update(vae_real *theta, vae_real *m, vae_real *v, const vae_real *g, size_t n, long t,
                     double lr, double beta1, double beta2, double eps);

/* Hidden widths as the options spell them: "400" or "400,200" -> w (*n
 * entries, at most max); "0" -> no layer.  err names the option opt and
 * the value on a malformed list or a width outside 1..1000000. */
lz_status vae_parse_widths(const char *opt, const char *s, size_t *w, size_t *n, size_t max,
                           lz_error *err);
/* w (n) -> "400,200" ("0" when n = 0) into buf (cap), as vae_parse_widths reads it. */
void vae_format_widths(const size_t *w, size_t n, char *buf, size_t cap);

#endif
