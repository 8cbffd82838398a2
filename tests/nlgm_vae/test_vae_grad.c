/* test_vae_grad.c -- the VAE's loss and every gradient tensor, in double
 * precision (linked with lznlgm_vae_double).
 *
 * Truths:
 *  - the loss of vae_forward equals a naive reference written here from the
 *    formulas (plain loops, no BLAS, the log-likelihoods in their textbook
 *    form: x log p + (1-x) log(1-p), the Gaussian log-density, and PyTorch's
 *    -1/2 sum(1 + lv - mu^2 - e^lv) for the KL);
 *  - backprop's gradient of the minibatch loss, for EVERY element of every
 *    parameter tensor, equals the central finite difference of that loss with
 *    the noise eps held fixed (Gaussian learned/fixed sigma^2, Bernoulli; MLP
 *    and linear decoders; ReLU and tanh; one, two or no encoder layers);
 *  - the same for the IWAE bound (K = 3; its value against the reference's
 *    ELBO plus log mean w - mean log w written out) and for the ELBO with a
 *    KL weight beta = 0.3 and beta = 0;
 *  - the IWAE bound with K = 1 is the ELBO, value and gradient, to rounding;
 *  - beta = 0 turns the KL term's gradient off: with a decoder that ignores
 *    z, every encoder gradient is then exactly 0 (and not with beta = 1);
 *  - the bound on the log-variance head: past it, lv is held at the bound,
 *    the loss stays finite and equal to the reference's, and the held
 *    heads get zero gradient, as their finite differences;
 *  - one Adam step equals the update written out by hand.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lz_prob.h"
#include "vae.h"
#include "lz_check.h"

#ifndef VAE_DOUBLE
#error "this test needs the double-precision build (lznlgm_vae_double)"
#endif

/* ------------------------------------------------------------------ */
/* naive reference: the loss from the tensors, with plain loops */

typedef struct {
    double min_abs_pre; /* smallest |pre-activation| of a hidden unit (ReLU kinks) */
} ref_info;

/* out (n) <- act(w in + b), w (n, c) */
static void ref_dense(const double *w, const double *b, const double *in, size_t c, size_t n,
                      double *out, int act, int hidden, ref_info *info)
{
    for (size_t j = 0; j < n; j++) {
        double s = b[j];
        for (size_t q = 0; q < c; q++) s += w[j * c + q] * in[q];
        if (hidden) {
            if (fabs(s) < info->min_abs_pre) info->min_abs_pre = fabs(s);
            s = act == VAE_RELU ? (s > 0 ? s : 0) : tanh(s);
        }
        out[j] = s;
    }
}

/* -ELBO summed over the m rows of x with noise eps (L m, k) */
static double ref_loss(const vae_model *mod, const double *x, size_t m, size_t L, const double *eps,
                       ref_info *info)
{
    const vae_arch *a = &mod->a;
    size_t d = a->d, k = a->k;
    double buf1[256], buf2[256], head[64], z[32];
    double total = 0;
    info->min_abs_pre = INFINITY;
    for (size_t i = 0; i < m; i++) {
        /* encoder */
        const double *in = x + i * d;
        size_t c = d;
        for (size_t l = 0; l < a->n_enc; l++) {
            double *o = (l % 2) ? buf2 : buf1;
            ref_dense(mod->p.enc_w[l], mod->p.enc_b[l], in, c, a->enc[l], o, a->act, 1, info);
            in = o;
            c = a->enc[l];
        }
        ref_dense(mod->p.head_w, mod->p.head_b, in, c, 2 * k, head, a->act, 0, info);
        const double *mu = head, *lv = head + k;
        for (size_t j = k; j < 2 * k; j++) /* lv = max(-30, min(30, a)) */
            head[j] = fmax(-30.0, fmin(30.0, head[j]));
        /* KL = -1/2 sum (1 + lv - mu^2 - e^lv) (Kingma & Welling, appendix B) */
        double kl = 0;
        for (size_t j = 0; j < k; j++) kl += -0.5 * (1 + lv[j] - mu[j] * mu[j] - exp(lv[j]));
        double rec = 0;
        for (size_t l = 0; l < L; l++) {
            const double *e = eps + (l * m + i) * k;
            for (size_t j = 0; j < k; j++) z[j] = mu[j] + sqrt(exp(lv[j])) * e[j];
            in = z;
            c = k;
            for (size_t q = 0; q < a->n_dec; q++) {
                double *o = (q % 2) ? buf2 : buf1;
                ref_dense(mod->p.dec_w[q], mod->p.dec_b[q], in, c, a->dec[q], o, a->act, 1, info);
                in = o;
                c = a->dec[q];
            }
            double f[64];
            ref_dense(mod->p.out_w, mod->p.out_b, in, c, d, f, a->act, 0, info);
            double logp = 0;
            for (size_t j = 0; j < d; j++) {
                double xv = x[i * d + j];
                if (a->lik == VAE_BERNOULLI) {
                    double p = 1 / (1 + exp(-f[j]));
                    logp += xv * log(p) + (1 - xv) * log(1 - p);
                } else {
                    double s2 = exp(*mod->p.log_sigma2);
                    logp += -0.5 * log(2 * M_PI * s2) - 0.5 * (xv - f[j]) * (xv - f[j]) / s2;
                }
            }
            rec += -logp / (double)L;
        }
        total += rec + kl;
    }
    return total;
}

/* -L_K summed over the m rows of x with noise eps (K m, k), as the IWAE
 * objective estimates it: -[ELBO_i + log (1/K) sum_l w_il - (1/K) sum_l log w_il]
 * with log w = log p(x|z) + log N(z; 0, I) - log N(z; mu, diag e^lv), every
 * density written out with its constants (they cancel in w) */
static double ref_iwae(const vae_model *mod, const double *x, size_t m, size_t K, const double *eps,
                       ref_info *info)
{
    const vae_arch *a = &mod->a;
    size_t d = a->d, k = a->k;
    double total = ref_loss(mod, x, m, K, eps, info); /* sum_i -ELBO_i with K samples */
    double buf1[256], buf2[256], head[64], z[32], lw[16];
    for (size_t i = 0; i < m; i++) {
        const double *in = x + i * d;
        size_t c = d;
        for (size_t l = 0; l < a->n_enc; l++) {
            double *o = (l % 2) ? buf2 : buf1;
            ref_dense(mod->p.enc_w[l], mod->p.enc_b[l], in, c, a->enc[l], o, a->act, 1, info);
            in = o;
            c = a->enc[l];
        }
        ref_dense(mod->p.head_w, mod->p.head_b, in, c, 2 * k, head, a->act, 0, info);
        const double *mu = head, *lv = head + k;
        double mean = 0, mx = -INFINITY;
        for (size_t l = 0; l < K; l++) {
            const double *e = eps + (l * m + i) * k;
            double lz = 0;
            for (size_t j = 0; j < k; j++) {
                z[j] = mu[j] + sqrt(exp(lv[j])) * e[j];
                /* log N(z_j; 0, 1) - log N(z_j; mu_j, e^lv_j) */
                lz += (-0.5 * log(2 * M_PI) - 0.5 * z[j] * z[j]) -
                      (-0.5 * log(2 * M_PI * exp(lv[j])) -
                       0.5 * (z[j] - mu[j]) * (z[j] - mu[j]) / exp(lv[j]));
            }
            in = z;
            c = k;
            for (size_t q = 0; q < a->n_dec; q++) {
                double *o = (q % 2) ? buf2 : buf1;
                ref_dense(mod->p.dec_w[q], mod->p.dec_b[q], in, c, a->dec[q], o, a->act, 1, info);
                in = o;
                c = a->dec[q];
            }
            double f[64], logp = 0;
            ref_dense(mod->p.out_w, mod->p.out_b, in, c, d, f, a->act, 0, info);
            for (size_t j = 0; j < d; j++) {
                double xv = x[i * d + j];
                if (a->lik == VAE_BERNOULLI) {
                    double p = 1 / (1 + exp(-f[j]));
                    logp += xv * log(p) + (1 - xv) * log(1 - p);
                } else {
                    double s2 = exp(*mod->p.log_sigma2);
                    logp += -0.5 * log(2 * M_PI * s2) - 0.5 * (xv - f[j]) * (xv - f[j]) / s2;
                }
            }
            lw[l] = logp + lz;
            mean += lw[l] / (double)K;
            if (lw[l] > mx) mx = lw[l];
        }
        double se = 0;
        for (size_t l = 0; l < K; l++) se += exp(lw[l] - mx);
        total -= mx + log(se / (double)K) - mean;
    }
    return total;
}

/* ------------------------------------------------------------------ */
/* a tiny model and batch */

typedef struct {
    const char *name;
    vae_lik lik;
    vae_dec dec;
    vae_act act;
    size_t n_enc, enc[2], n_dec, dec_h[2];
    int learn_sigma2;
} case_t;

static const case_t cases[] = {
    {"bernoulli-mlp-relu-2enc", VAE_BERNOULLI, VAE_DEC_MLP, VAE_RELU, 2, {7, 5}, 1, {6, 0}, 1},
    {"bernoulli-linear-tanh", VAE_BERNOULLI, VAE_DEC_LINEAR, VAE_TANH, 1, {5, 0}, 0, {0, 0}, 1},
    {"gaussian-mlp-tanh-2dec", VAE_GAUSSIAN, VAE_DEC_MLP, VAE_TANH, 1, {6, 0}, 2, {5, 4}, 1},
    {"gaussian-mlp-relu", VAE_GAUSSIAN, VAE_DEC_MLP, VAE_RELU, 1, {6, 0}, 1, {7, 0}, 1},
    {"gaussian-linear-linenc", VAE_GAUSSIAN, VAE_DEC_LINEAR, VAE_RELU, 0, {0, 0}, 0, {0, 0}, 1},
    {"gaussian-linear-relu", VAE_GAUSSIAN, VAE_DEC_LINEAR, VAE_RELU, 1, {5, 0}, 0, {0, 0}, 1},
    {"gaussian-mlp-fixed-sigma2", VAE_GAUSSIAN, VAE_DEC_MLP, VAE_TANH, 1, {5, 0}, 1, {5, 0}, 0},
};

enum { D = 6, K = 3, M = 4, L = 3 };

static vae_model *make_model(const case_t *tc, double *x, double *eps)
{
    vae_arch a;
    memset(&a, 0, sizeof a);
    a.d = D;
    a.k = K;
    a.n_enc = tc->n_enc;
    memcpy(a.enc, tc->enc, sizeof tc->enc);
    a.n_dec = tc->n_dec;
    memcpy(a.dec, tc->dec_h, sizeof tc->dec_h);
    a.act = tc->act;
    a.lik = tc->lik;
    a.decoder = tc->dec;
    a.learn_sigma2 = tc->learn_sigma2;
    lz_error err;
    vae_model *mod = vae_model_alloc(&a, &err);
    ck_assert_msg(mod != NULL, "%s", err.msg);
    ck_assert_msg(vae_init(mod, 7, 0, &err) == LZ_OK, "%s", err.msg);
    gsl_rng *r = lz_rng_alloc(11);
    /* move every parameter away from its initial law so that no gradient is
     * accidentally symmetric; biases of size ~0.3, log sigma^2 = 0.4 */
    for (size_t t = 0; t < mod->n_tensors; t++) {
        vae_real *v = mod->block + mod->t[t].offset;
        for (size_t i = 0; i < mod->t[t].rows * mod->t[t].cols; i++)
            v[i] += 0.3 * (2 * gsl_rng_uniform(r) - 1);
    }
    if (a.lik == VAE_GAUSSIAN) *mod->p.log_sigma2 = 0.4;
    for (size_t i = 0; i < M * D; i++)
        x[i] = a.lik == VAE_BERNOULLI ? gsl_rng_uniform(r) : 2 * gsl_rng_uniform(r) - 1;
    lz_rng_gauss(r, L * M * K, eps);
    gsl_rng_free(r);
    return mod;
}

static double loss_of(const vae_model *mod, vae_workspace *ws, const double *x)
{
    double rec, kl;
    vae_forward(mod, ws, x, M, L, &rec, &kl);
    return rec + kl;
}

/* the objectives checked by finite differences, besides the plain ELBO */
typedef struct {
    const char *name;
    vae_loss lo;
} objective_t;

static const objective_t objectives[] = {
    {"elbo", {VAE_OBJ_ELBO, 1.0, VAE_EST_REPARAM, NULL}},
    {"iwae-3", {VAE_OBJ_IWAE, 1.0, VAE_EST_REPARAM, NULL}},
    {"elbo-beta0.3", {VAE_OBJ_ELBO, 0.3, VAE_EST_REPARAM, NULL}},
    {"elbo-beta0", {VAE_OBJ_ELBO, 0.0, VAE_EST_REPARAM, NULL}},
};

static double objective_of(const vae_model *mod, vae_workspace *ws, const double *x,
                           const vae_loss *lo)
{
    double rec, kl, obj;
    vae_forward_loss(mod, ws, x, M, L, lo, &rec, &kl, &obj);
    return obj;
}

START_TEST(test_loss_matches_reference)
{
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        double x[M * D], eps[L * M * K];
        vae_model *mod = make_model(&cases[c], x, eps);
        lz_error err;
        vae_workspace *ws = vae_workspace_alloc(mod, L * M, &err);
        ck_assert_ptr_nonnull(ws);
        memcpy(ws->eps, eps, sizeof eps);
        double got = loss_of(mod, ws, x);
        ref_info info;
        double want = ref_loss(mod, x, M, L, eps, &info);
        /* two evaluations of the same sums in a different order: agreement to
         * a few hundred ulps of the loss */
        ck_assert_msg(fabs(got - want) <= 1e-12 * fabs(want), "%s: loss %.17g, reference %.17g",
                      cases[c].name, got, want);
        vae_workspace_free(ws);
        vae_model_free(mod);
    }
}
END_TEST

START_TEST(test_objectives_match_reference)
{
    /* the ELBO with beta and the IWAE bound against the reference written here */
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        double x[M * D], eps[L * M * K];
        vae_model *mod = make_model(&cases[c], x, eps);
        lz_error err;
        vae_workspace *ws = vae_workspace_alloc(mod, L * M, &err);
        ck_assert_ptr_nonnull(ws);
        memcpy(ws->eps, eps, sizeof eps);
        ref_info info;
        double elbo = ref_loss(mod, x, M, L, eps, &info), iwae = ref_iwae(mod, x, M, L, eps, &info);
        double rec, kl, obj;
        vae_loss lo = {VAE_OBJ_IWAE, 1.0, VAE_EST_REPARAM, NULL};
        vae_forward_loss(mod, ws, x, M, L, &lo, &rec, &kl, &obj);
        ck_assert_msg(fabs(obj - iwae) <= 1e-12 * fabs(iwae), "%s: IWAE %.17g, reference %.17g",
                      cases[c].name, obj, iwae);
        /* the bound lies above the ELBO (Jensen): -L_K <= -ELBO */
        ck_assert_msg(obj < elbo, "%s: -L_K %.6f not below -ELBO %.6f", cases[c].name, obj, elbo);
        lo = (vae_loss){VAE_OBJ_ELBO, 0.3, VAE_EST_REPARAM, NULL};
        vae_forward_loss(mod, ws, x, M, L, &lo, &rec, &kl, &obj);
        ck_assert_msg(fabs(obj - (rec + 0.3 * kl)) <= 1e-12 * fabs(obj) &&
                          fabs(rec + kl - elbo) <= 1e-12 * fabs(elbo),
                      "%s: beta 0.3: %.17g", cases[c].name, obj);
        vae_workspace_free(ws);
        vae_model_free(mod);
    }
}
END_TEST

START_TEST(test_iwae_one_sample_is_the_elbo)
{
    /* K = 1: log mean w - mean log w = 0, the normalised weight is 1: the
     * same value and the same gradient as the ELBO's, to rounding */
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        double x[M * D], eps[L * M * K];
        vae_model *mod = make_model(&cases[c], x, eps);
        lz_error err;
        vae_workspace *ws = vae_workspace_alloc(mod, M, &err);
        ck_assert_ptr_nonnull(ws);
        memcpy(ws->eps, eps, M * K * sizeof *eps);
        const vae_loss elbo = VAE_LOSS_ELBO, iwae = {VAE_OBJ_IWAE, 1.0, VAE_EST_REPARAM, NULL};
        double r1, k1, o1, r2, k2, o2;
        vae_forward_loss(mod, ws, x, M, 1, &elbo, &r1, &k1, &o1);
        vae_zero_grad(mod);
        vae_backward_loss(mod, ws, x, M, 1, &elbo);
        double *g1 = malloc(mod->n_block * sizeof *g1);
        memcpy(g1, mod->gblock, mod->n_block * sizeof *g1);
        vae_forward_loss(mod, ws, x, M, 1, &iwae, &r2, &k2, &o2);
        vae_zero_grad(mod);
        vae_backward_loss(mod, ws, x, M, 1, &iwae);
        ck_assert_msg(fabs(o1 - o2) <= 1e-13 * fabs(o1), "%s: IWAE(K=1) %.17g, ELBO %.17g",
                      cases[c].name, o2, o1);
        double num = 0, den = 0;
        for (size_t i = 0; i < mod->n_block; i++) {
            num += (mod->gblock[i] - g1[i]) * (mod->gblock[i] - g1[i]);
            den += g1[i] * g1[i];
        }
        ck_assert_msg(den > 0 && sqrt(num / den) <= 1e-13,
                      "%s: IWAE(K=1) gradient differs from the ELBO's by %.3g", cases[c].name,
                      sqrt(num / den));
        free(g1);
        vae_workspace_free(ws);
        vae_model_free(mod);
    }
}
END_TEST

START_TEST(test_beta_zero_turns_kl_gradient_off)
{
    /* a decoder that ignores z (out_w = 0, and no hidden layer in between:
     * the linear case): the nll does not depend on the encoder, so its
     * gradient is the KL term's alone, weighted by beta */
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        double x[M * D], eps[L * M * K];
        vae_model *mod = make_model(&cases[c], x, eps);
        const vae_tensor *T = &mod->t[2 * mod->a.n_enc + 2];
        memset(mod->p.out_w, 0,
               mod->a.d * (mod->a.n_dec ? mod->a.dec[mod->a.n_dec - 1] : K) * sizeof(vae_real));
        lz_error err;
        vae_workspace *ws = vae_workspace_alloc(mod, L * M, &err);
        memcpy(ws->eps, eps, sizeof eps);
        size_t P = vae_encoder_size(mod);
        ck_assert_uint_eq(P, T->offset);
        for (int b = 0; b < 2; b++) {
            vae_loss lo = {VAE_OBJ_ELBO, b ? 1.0 : 0.0, VAE_EST_REPARAM, NULL};
            double rec, kl, obj;
            vae_forward_loss(mod, ws, x, M, L, &lo, &rec, &kl, &obj);
            vae_zero_grad(mod);
            vae_backward_loss(mod, ws, x, M, L, &lo);
            double g2 = 0;
            for (size_t i = 0; i < P; i++) g2 += mod->gblock[i] * mod->gblock[i];
            if (b == 0)
                ck_assert_msg(g2 == 0, "%s: beta 0: encoder gradient of norm %g", cases[c].name,
                              sqrt(g2));
            else
                ck_assert_msg(g2 > 1e-6, "%s: beta 1: no KL gradient", cases[c].name);
        }
        vae_workspace_free(ws);
        vae_model_free(mod);
    }
}
END_TEST

START_TEST(test_gradients_finite_differences)
{
    /* central differences with h = 1e-5: truncation error h^2 f'''/6 ~ 1e-10
     * and rounding error ~ 1e-16 |f| / h ~ 1e-10 for |f| ~ 10, both far
     * below the 1e-6 relative error allowed per tensor (norm of the
     * difference over norm of the gradient); for each objective. */
    const double h = 1e-5, tol = 1e-6;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        for (size_t o = 0; o < sizeof objectives / sizeof objectives[0]; o++) {
            const vae_loss *lo = &objectives[o].lo;
            double x[M * D], eps[L * M * K];
            vae_model *mod = make_model(&cases[c], x, eps);
            lz_error err;
            vae_workspace *ws = vae_workspace_alloc(mod, L * M, &err);
            ck_assert_ptr_nonnull(ws);
            memcpy(ws->eps, eps, sizeof eps);
            /* no hidden unit within 100 h of a ReLU kink, else the finite
             * difference straddles it (precondition of this fixed case) */
            ref_info info;
            ref_loss(mod, x, M, L, eps, &info);
            ck_assert_msg(cases[c].act != VAE_RELU || info.min_abs_pre > 100 * h,
                          "%s: a pre-activation %.3g is too close to the ReLU kink", cases[c].name,
                          info.min_abs_pre);
            objective_of(mod, ws, x, lo);
            vae_zero_grad(mod);
            vae_backward_loss(mod, ws, x, M, L, lo);
            /* backward accumulates: a second pass doubles the gradient */
            double *g1 = malloc(mod->n_block * sizeof *g1);
            memcpy(g1, mod->gblock, mod->n_block * sizeof *g1);
            objective_of(mod, ws, x, lo);
            vae_backward_loss(mod, ws, x, M, L, lo);
            for (size_t i = 0; i < mod->n_block; i++)
                ck_assert_msg(fabs(mod->gblock[i] - 2 * g1[i]) <= 1e-12 * (fabs(g1[i]) + 1e-300),
                              "%s: backward does not accumulate", cases[c].name);
            /* the plain entry points are the ELBO's */
            if (o == 0) {
                ck_assert(loss_of(mod, ws, x) == objective_of(mod, ws, x, lo));
                vae_zero_grad(mod);
                vae_backward(mod, ws, x, M, L);
                ck_assert(memcmp(mod->gblock, g1, mod->n_block * sizeof *g1) == 0);
            }
            double worst = 0;
            for (size_t t = 0; t < mod->n_tensors; t++) {
                const vae_tensor *T = &mod->t[t];
                size_t cnt = T->rows * T->cols;
                double num = 0, den = 0;
                int fixed = !strcmp(T->name, "log_sigma2") && !mod->a.learn_sigma2;
                for (size_t i = 0; i < cnt; i++) {
                    vae_real *v = mod->block + T->offset + i;
                    double v0 = *v;
                    *v = v0 + h;
                    double fp = objective_of(mod, ws, x, lo);
                    *v = v0 - h;
                    double fm = objective_of(mod, ws, x, lo);
                    *v = v0;
                    double fd = (fp - fm) / (2 * h), bp = g1[T->offset + i];
                    if (fixed) {
                        /* a fixed sigma^2 gets no gradient (Adam leaves it alone) */
                        ck_assert_msg(bp == 0, "%s: fixed log_sigma2 has gradient %g",
                                      cases[c].name, bp);
                        ck_assert(fabs(fd) > 1e-3); /* ... although the loss depends on it */
                        continue;
                    }
                    num += (fd - bp) * (fd - bp);
                    den += bp * bp;
                }
                if (fixed) continue;
                ck_assert_msg(den > 0, "%s, %s: tensor %s has a zero gradient", cases[c].name,
                              objectives[o].name, T->name);
                double rel = sqrt(num / den);
                if (rel > worst) worst = rel;
                ck_assert_msg(rel < tol,
                              "%s, %s: tensor %s: relative error %.3g of backprop vs finite "
                              "differences",
                              cases[c].name, objectives[o].name, T->name, rel);
            }
            printf("%-28s %-13s %zu tensors, worst relative error %.2g\n", cases[c].name,
                   objectives[o].name, mod->n_tensors, worst);
            free(g1);
            vae_workspace_free(ws);
            vae_model_free(mod);
        }
}
END_TEST

START_TEST(test_lv_bound)
{
    /* two log-variance heads pushed far past the bound (biases +-2000, where
     * e^lv / 2 overflows even in double): they are held at +-30, the loss is
     * finite and equals the reference's (which bounds lv as written in
     * docs/vae.md), and their biases get exactly zero gradient, as the finite
     * differences do; the third head is free and matches its finite
     * difference */
    const double h = 1e-5;
    double x[M * D], eps[L * M * K];
    vae_model *mod = make_model(&cases[3], x, eps);
    lz_error err;
    vae_workspace *ws = vae_workspace_alloc(mod, L * M, &err);
    ck_assert_ptr_nonnull(ws);
    memcpy(ws->eps, eps, sizeof eps);
    mod->p.head_b[K + 0] = 2000;
    mod->p.head_b[K + 1] = -2000;
    ref_info info;
    double ref = ref_loss(mod, x, M, L, eps, &info), f = loss_of(mod, ws, x);
    ck_assert_msg(isfinite(f) && fabs(f - ref) <= 1e-10 * fabs(ref), "loss %.17g, reference %.17g",
                  f, ref);
    for (size_t i = 0; i < M; i++) {
        ck_assert(ws->head[i * 2 * K + K + 0] == 30);
        ck_assert(ws->head[i * 2 * K + K + 1] == -30);
        ck_assert(fabs(ws->head[i * 2 * K + K + 2]) < 30);
    }
    printf("lv bound: loss %.6g\n", f);
    vae_zero_grad(mod);
    vae_backward(mod, ws, x, M, L);
    for (size_t j = 0; j < 2 * K; j++) {
        double *v = mod->p.head_b + j, v0 = *v;
        *v = v0 + h;
        double fp = loss_of(mod, ws, x);
        *v = v0 - h;
        double fm = loss_of(mod, ws, x);
        *v = v0;
        double fd = (fp - fm) / (2 * h), bp = mod->g.head_b[j];
        if (j == K || j == K + 1)
            ck_assert_msg(bp == 0 && fd == 0, "bound head %zu: gradient %g, difference %g", j, bp,
                          fd);
        else
            /* sigma = e^15 makes the loss large: the difference's rounding
             * error is ~ 1e-16 |f| / h */
            ck_assert_msg(fabs(fd - bp) <= 1e-6 * fabs(bp) + 1e-14 * fabs(f) / h,
                          "head %zu: gradient %.10g, difference %.10g", j, bp, fd);
    }
    vae_workspace_free(ws);
    vae_model_free(mod);
}
END_TEST

START_TEST(test_adam_step)
{
    double x[M * D], eps[L * M * K];
    vae_model *mod = make_model(&cases[3], x, eps);
    gsl_rng *r = lz_rng_alloc(3);
    size_t n = mod->n_block;
    double *th = malloc(n * sizeof *th), *m1 = calloc(n, sizeof *m1), *v1 = calloc(n, sizeof *v1);
    memcpy(th, mod->block, n * sizeof *th);
    const double lr = 0.01, b1 = 0.9, b2 = 0.999, e = 1e-8;
    for (int t = 1; t <= 3; t++) {
        for (size_t i = 0; i < n; i++) mod->gblock[i] = 2 * gsl_rng_uniform(r) - 1;
        for (size_t i = 0; i < n; i++) {
            double g = mod->gblock[i];
            m1[i] = b1 * m1[i] + (1 - b1) * g;
            v1[i] = b2 * v1[i] + (1 - b2) * g * g;
            double mh = m1[i] / (1 - pow(b1, t)), vh = v1[i] / (1 - pow(b2, t));
            th[i] -= lr * mh / (sqrt(vh) + e);
        }
        vae_adam_step(mod, lr, b1, b2, e);
    }
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(fabs(mod->block[i] - th[i]) <= 1e-13 * (1 + fabs(th[i])),
                      "Adam: parameter %zu is %.17g, expected %.17g", i, mod->block[i], th[i]);
    free(th);
    free(m1);
    free(v1);
    gsl_rng_free(r);
    vae_model_free(mod);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("vae_grad");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_loss_matches_reference);
    tcase_add_test(tc, test_objectives_match_reference);
    tcase_add_test(tc, test_iwae_one_sample_is_the_elbo);
    tcase_add_test(tc, test_beta_zero_turns_kl_gradient_off);
    tcase_add_test(tc, test_gradients_finite_differences);
    tcase_add_test(tc, test_lv_bound);
    tcase_add_test(tc, test_adam_step);
    suite_add_tcase(s, tc);
    return lz_check_main(s);
}
