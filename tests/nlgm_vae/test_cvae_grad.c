/* test_cvae_grad.c -- the VAE with labels (nlgm_cvae's library) in double
 * precision (linked with lznlgm_cvae_double).
 *
 * Truths:
 *  - the CVAE's loss L(x, y) of cvae_labelled_loss equals a naive reference
 *    written here from the formulas with the label as one-hot INPUTS
 *    concatenated to x and to z (plain loops, no BLAS, the textbook
 *    log-likelihoods), where the library adds class rows;
 *  - M2's unlabelled loss U(x) of cvae_unlabelled_loss equals the explicit
 *    loop sum_y q(y | x) [L(x, y) + log C] - H(q(y | x)) over the library's
 *    own labelled passes with the same noise, and the naive reference;
 *  - the gradient of the CVAE's loss and of M2's whole objective
 *    wu sum U + wl sum L + wce sum -log q(y | x), for EVERY element of every
 *    tensor (the VAE's, the class rows, the classifier), equals central
 *    finite differences with the noise fixed;
 *  - one Adam step on the class rows' block equals the update written out;
 *  - the logistic regression ends where its gradient, written here in plain
 *    loops, vanishes.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cvae.h"
#include "lz_check.h"
#include "lz_prob.h"

#ifndef VAE_DOUBLE
#error "this test needs the double-precision build (lznlgm_cvae_double)"
#endif

enum { D = 6, K = 3, C = 3, MU = 4, ML = 3, L = 2 };

/* ------------------------------------------------------------------ */
/* naive reference: the label as one-hot inputs */

typedef struct {
    double min_abs_pre; /* smallest |pre-activation| of a hidden unit (ReLU kinks) */
} ref_info;

/* out (n) <- act(w in + b) with in = [x (c) | onehot(y) (C)] when rows != NULL
 * (rows (C, n): column y of the weights on the one-hot inputs), w (n, c) */
static void ref_dense(const double *w, const double *b, const double *rows, int y, const double *in,
                      size_t c, size_t n, double *out, vae_act act, int hidden, ref_info *info)
{
    for (size_t j = 0; j < n; j++) {
        double s = b[j];
        for (size_t q = 0; q < c; q++) s += w[j * c + q] * in[q];
        /* the one-hot inputs: sum_c W_y[j, c] [c = y] */
        if (rows)
            for (size_t cc = 0; cc < C; cc++) s += rows[cc * n + j] * (cc == (size_t)y ? 1.0 : 0.0);
        if (hidden) {
            if (fabs(s) < info->min_abs_pre) info->min_abs_pre = fabs(s);
            s = act == VAE_RELU ? (s > 0 ? s : 0) : tanh(s);
        }
        out[j] = s;
    }
}

/* L(x, y) with noise eps (L rows of K, row l at eps + l * stride) */
static double ref_L(const cvae_model *mod, const double *x, int y, const double *eps, size_t stride,
                    ref_info *info)
{
    const vae_arch *a = &mod->a.core;
    const vae_params *p = &mod->core->p;
    double buf1[64], buf2[64], head[2 * K], z[K], f[D];
    const double *in = x;
    size_t c = D;
    for (size_t l = 0; l < a->n_enc; l++) {
        double *o = l % 2 ? buf2 : buf1;
        ref_dense(p->enc_w[l], p->enc_b[l], l ? NULL : mod->p.enc_y, y, in, c, a->enc[l], o, a->act,
                  1, info);
        in = o;
        c = a->enc[l];
    }
    ref_dense(p->head_w, p->head_b, a->n_enc ? NULL : mod->p.enc_y, y, in, c, 2 * K, head, a->act,
              0, info);
    const double *mu = head, *lv = head + K;
    /* KL = -1/2 sum (1 + lv - mu^2 - e^lv) */
    double kl = 0;
    for (size_t j = 0; j < K; j++) kl += -0.5 * (1 + lv[j] - mu[j] * mu[j] - exp(lv[j]));
    double rec = 0;
    for (size_t l = 0; l < L; l++) {
        const double *e = eps + l * stride;
        for (size_t j = 0; j < K; j++) z[j] = mu[j] + sqrt(exp(lv[j])) * e[j];
        in = z;
        c = K;
        for (size_t q = 0; q < a->n_dec; q++) {
            double *o = q % 2 ? buf2 : buf1;
            ref_dense(p->dec_w[q], p->dec_b[q], q ? NULL : mod->p.dec_y, y, in, c, a->dec[q], o,
                      a->act, 1, info);
            in = o;
            c = a->dec[q];
        }
        ref_dense(p->out_w, p->out_b, a->n_dec ? NULL : mod->p.dec_y, y, in, c, D, f, a->act, 0,
                  info);
        double logp = 0;
        for (size_t j = 0; j < D; j++) {
            if (a->lik == VAE_BERNOULLI) {
                double pr = 1 / (1 + exp(-f[j]));
                logp += x[j] * log(pr) + (1 - x[j]) * log(1 - pr);
            } else {
                double s2 = exp(*p->log_sigma2);
                logp += -0.5 * log(2 * M_PI * s2) - 0.5 * (x[j] - f[j]) * (x[j] - f[j]) / s2;
            }
        }
        rec += -logp / (double)L;
    }
    return rec + kl;
}

/* q (C) <- softmax of the classifier's logits */
static void ref_q(const cvae_model *mod, const double *x, double *q, ref_info *info)
{
    double buf1[64], buf2[64], g[C];
    const double *in = x;
    size_t c = D;
    for (size_t l = 0; l < mod->a.n_cls; l++) {
        double *o = l % 2 ? buf2 : buf1;
        ref_dense(mod->p.cls_w[l], mod->p.cls_b[l], NULL, 0, in, c, mod->a.cls[l], o,
                  mod->a.core.act, 1, info);
        in = o;
        c = mod->a.cls[l];
    }
    ref_dense(mod->p.cls_out_w, mod->p.cls_out_b, NULL, 0, in, c, C, g, mod->a.core.act, 0, info);
    double s = 0;
    for (size_t j = 0; j < C; j++) s += exp(g[j]);
    for (size_t j = 0; j < C; j++) q[j] = exp(g[j]) / s;
}

/* ------------------------------------------------------------------ */
/* tiny models and data */

typedef struct {
    const char *name;
    vae_lik lik;
    vae_dec dec;
    vae_act act;
    size_t n_enc, enc[2], n_dec, dec_h[2], n_cls, cls[2];
    int learn_sigma2;
} case_t;

static const case_t cases[] = {
    {"bernoulli-mlp-tanh-2enc",
     VAE_BERNOULLI,
     VAE_DEC_MLP,
     VAE_TANH,
     2,
     {7, 5},
     1,
     {6, 0},
     1,
     {5, 0},
     1},
    {"bernoulli-linear-relu",
     VAE_BERNOULLI,
     VAE_DEC_LINEAR,
     VAE_RELU,
     1,
     {5, 0},
     0,
     {0, 0},
     0,
     {0, 0},
     1},
    {"gaussian-mlp-tanh-2dec",
     VAE_GAUSSIAN,
     VAE_DEC_MLP,
     VAE_TANH,
     1,
     {6, 0},
     2,
     {5, 4},
     2,
     {4, 3},
     1},
    {"gaussian-linear-linenc",
     VAE_GAUSSIAN,
     VAE_DEC_LINEAR,
     VAE_TANH,
     0,
     {0, 0},
     0,
     {0, 0},
     1,
     {4, 0},
     1},
    {"gaussian-mlp-relu-fixed",
     VAE_GAUSSIAN,
     VAE_DEC_MLP,
     VAE_RELU,
     1,
     {5, 0},
     1,
     {5, 0},
     1,
     {5, 0},
     0},
};
#define N_CASES (sizeof cases / sizeof cases[0])

typedef struct {
    double xu[MU * D], xl[ML * D];
    int yl[ML];
    double eps_u[L * C * MU * K], eps_l[L * ML * K];
} batch;

static cvae_model *make_model(const case_t *tc, cvae_mode mode, batch *b, unsigned long seed)
{
    cvae_arch a;
    memset(&a, 0, sizeof a);
    a.core.d = D;
    a.core.k = K;
    a.core.n_enc = tc->n_enc;
    memcpy(a.core.enc, tc->enc, sizeof tc->enc);
    a.core.n_dec = tc->n_dec;
    memcpy(a.core.dec, tc->dec_h, sizeof tc->dec_h);
    a.core.act = tc->act;
    a.core.lik = tc->lik;
    a.core.decoder = tc->dec;
    a.core.learn_sigma2 = tc->learn_sigma2;
    a.mode = mode;
    a.C = C;
    a.n_cls = tc->n_cls;
    memcpy(a.cls, tc->cls, sizeof tc->cls);
    lz_error err;
    cvae_model *mod = cvae_model_alloc(&a, &err);
    ck_assert_msg(mod != NULL, "%s", err.msg);
    ck_assert_msg(cvae_init(mod, 7, 0, &err) == LZ_OK, "%s", err.msg);
    gsl_rng *r = lz_rng_alloc(seed);
    /* move every parameter away from its initial law, so that no gradient is
     * accidentally symmetric */
    for (size_t t = 0; t < mod->core->n_tensors; t++) {
        vae_real *v = mod->core->block + mod->core->t[t].offset;
        for (size_t i = 0; i < mod->core->t[t].rows * mod->core->t[t].cols; i++)
            v[i] += 0.3 * (2 * gsl_rng_uniform(r) - 1);
    }
    for (size_t t = 0; t < mod->n_tensors; t++) {
        vae_real *v = mod->block + mod->t[t].offset;
        for (size_t i = 0; i < mod->t[t].rows * mod->t[t].cols; i++)
            v[i] += 0.5 * (2 * gsl_rng_uniform(r) - 1);
    }
    if (a.core.lik == VAE_GAUSSIAN) *mod->core->p.log_sigma2 = 0.4;
    for (size_t i = 0; i < MU * D; i++)
        b->xu[i] = a.core.lik == VAE_BERNOULLI ? gsl_rng_uniform(r) : 2 * gsl_rng_uniform(r) - 1;
    for (size_t i = 0; i < ML * D; i++)
        b->xl[i] = a.core.lik == VAE_BERNOULLI ? gsl_rng_uniform(r) : 2 * gsl_rng_uniform(r) - 1;
    for (size_t i = 0; i < ML; i++) b->yl[i] = (int)((i + seed) % C);
    lz_rng_gauss(r, sizeof b->eps_u / sizeof(double), b->eps_u);
    lz_rng_gauss(r, sizeof b->eps_l / sizeof(double), b->eps_l);
    gsl_rng_free(r);
    return mod;
}

/* the objective: wu sum U + wl sum L + wce sum CE (M2), or wl sum L (CVAE) */
static const double WU = 1.0, WL = 0.7, WCE = 1.9;

static double objective(cvae_model *mod, cvae_workspace *ws, const batch *b, int grad)
{
    double f = 0, ce = 0;
    if (mod->a.mode == CVAE_MODE_M2) {
        memcpy(ws->eps, b->eps_u, sizeof b->eps_u);
        f += WU * cvae_unlabelled_loss(mod, ws, b->xu, MU, L, WU, grad, NULL, NULL);
    }
    memcpy(ws->eps, b->eps_l, sizeof b->eps_l);
    double wce = mod->a.mode == CVAE_MODE_M2 ? WCE : 0;
    f += WL * cvae_labelled_loss(mod, ws, b->xl, b->yl, ML, L, WL, wce, grad, &ce);
    return f + wce * ce;
}

/* the same from the reference; *info <- the smallest pre-activation */
static double ref_objective(const cvae_model *mod, const batch *b, ref_info *info)
{
    info->min_abs_pre = INFINITY;
    double f = 0;
    if (mod->a.mode == CVAE_MODE_M2)
        for (size_t i = 0; i < MU; i++) {
            double q[C], u = 0;
            ref_q(mod, b->xu + i * D, q, info);
            /* noise of class c, sample l: row l C MU + c MU + i */
            for (size_t c = 0; c < C; c++)
                u += q[c] * (ref_L(mod, b->xu + i * D, (int)c, b->eps_u + (c * MU + i) * K,
                                   C * MU * K, info) +
                             log((double)C) + log(q[c]));
            f += WU * u;
        }
    for (size_t i = 0; i < ML; i++) {
        f += WL * ref_L(mod, b->xl + i * D, b->yl[i], b->eps_l + i * K, ML * K, info);
        if (mod->a.mode == CVAE_MODE_M2) {
            double q[C];
            ref_q(mod, b->xl + i * D, q, info);
            f += WCE * -log(q[b->yl[i]]);
        }
    }
    return f;
}

START_TEST(test_loss_matches_reference)
{
    for (int mode = 0; mode < 2; mode++)
        for (size_t t = 0; t < N_CASES; t++) {
            batch b;
            cvae_model *mod =
                make_model(&cases[t], mode ? CVAE_MODE_M2 : CVAE_MODE_CVAE, &b, 11 + t);
            lz_error err;
            cvae_workspace *ws = cvae_workspace_alloc(mod, MU, L, 1, &err);
            ck_assert_ptr_nonnull(ws);
            double got = objective(mod, ws, &b, 0);
            ref_info info;
            double want = ref_objective(mod, &b, &info);
            /* the same sums in another order: a few hundred ulps of the loss */
            ck_assert_msg(fabs(got - want) <= 1e-12 * fabs(want),
                          "%s (%s): loss %.17g, reference %.17g", cases[t].name,
                          mode ? "M2" : "CVAE", got, want);
            cvae_workspace_free(ws);
            cvae_model_free(mod);
        }
}
END_TEST

START_TEST(test_unlabelled_is_the_weighted_sum)
{
    for (size_t t = 0; t < N_CASES; t++) {
        batch b;
        cvae_model *mod = make_model(&cases[t], CVAE_MODE_M2, &b, 5 + t);
        lz_error err;
        cvae_workspace *ws = cvae_workspace_alloc(mod, MU, L, 1, &err);
        ck_assert_ptr_nonnull(ws);
        memcpy(ws->eps, b.eps_u, sizeof b.eps_u);
        double recon, kl;
        double U = cvae_unlabelled_loss(mod, ws, b.xu, MU, L, 1, 0, &recon, &kl);
        double u[MU], q[MU * C];
        memcpy(u, ws->u, sizeof u);
        memcpy(q, ws->q, sizeof q);
        /* the explicit loop: for each class c, the labelled pass of every row
         * with label c and class c's noise */
        double Lc[C][MU];
        for (size_t c = 0; c < C; c++) {
            int y[MU];
            double eps[L * MU * K];
            for (size_t i = 0; i < MU; i++) y[i] = (int)c;
            for (size_t l = 0; l < L; l++)
                memcpy(eps + l * MU * K, b.eps_u + (l * C * MU + c * MU) * K,
                       MU * K * sizeof(double));
            memcpy(ws->eps, eps, sizeof eps);
            cvae_labelled_loss(mod, ws, b.xu, y, MU, L, 1, 0, 0, NULL);
            for (size_t i = 0; i < MU; i++) Lc[c][i] = ws->u[i];
        }
        double sum = 0;
        for (size_t i = 0; i < MU; i++) {
            /* -U = sum_y q(y|x) (-L(x, y) + log p(y)) + H(q(y|x)), p(y) = 1/C */
            double bound = 0, H = 0, qs = 0;
            for (size_t c = 0; c < C; c++) {
                double qc = q[i * C + c];
                bound += qc * (-Lc[c][i] - log((double)C));
                H -= qc * log(qc);
                qs += qc;
            }
            ck_assert_msg(fabs(qs - 1) < 1e-14, "q(y|x) sums to %.17g", qs);
            ck_assert_msg(H > 0 && H <= log((double)C) + 1e-14, "entropy %g", H);
            ck_assert_msg(fabs(-u[i] - (bound + H)) <= 1e-12 * fabs(u[i]),
                          "%s: row %zu: -U %.17g, the weighted sum plus the entropy %.17g",
                          cases[t].name, i, -u[i], bound + H);
            sum += u[i];
        }
        ck_assert_msg(fabs(U - sum) <= 1e-12 * fabs(U), "sum of U");
        /* the parts: the KL of q(y, z | x) from p(y) p(z) and the reconstruction */
        ck_assert_msg(fabs(recon + kl - U) <= 1e-12 * fabs(U), "recon + kl %.17g, U %.17g",
                      recon + kl, U);
        cvae_workspace_free(ws);
        cvae_model_free(mod);
    }
}
END_TEST

START_TEST(test_gradients_finite_differences)
{
    /* central differences with h = 1e-5: truncation ~ h^2 f''' and rounding
     * ~ 1e-16 |f| / h, both near 1e-10, far below the 1e-6 relative error
     * allowed per tensor (norm of the difference over norm of the gradient) */
    const double h = 1e-5, tol = 1e-6;
    for (int mode = 0; mode < 2; mode++)
        for (size_t t = 0; t < N_CASES; t++) {
            batch b;
            cvae_model *mod = NULL;
            ref_info info;
            /* ReLU: the first seed whose pre-activations all lie farther than
             * 100 h from the kink (else a difference straddles it) */
            for (unsigned long seed = 23 + t; seed < 73 + t; seed++) {
                cvae_model_free(mod);
                mod = make_model(&cases[t], mode ? CVAE_MODE_M2 : CVAE_MODE_CVAE, &b, seed);
                ref_objective(mod, &b, &info);
                if (cases[t].act != VAE_RELU || info.min_abs_pre > 100 * h) break;
            }
            lz_error err;
            cvae_workspace *ws = cvae_workspace_alloc(mod, MU, L, 1, &err);
            ck_assert_ptr_nonnull(ws);
            ck_assert_msg(cases[t].act != VAE_RELU || info.min_abs_pre > 100 * h,
                          "%s: a pre-activation %.3g is too close to the ReLU kink", cases[t].name,
                          info.min_abs_pre);
            cvae_zero_grad(mod);
            objective(mod, ws, &b, 1);
            /* both blocks: the VAE's and the class rows' and classifier's */
            vae_real *blocks[2] = {mod->core->block, mod->block};
            vae_real *gblocks[2] = {mod->core->gblock, mod->gblock};
            const vae_tensor *ts[2] = {mod->core->t, mod->t};
            size_t nts[2] = {mod->core->n_tensors, mod->n_tensors},
                   nb[2] = {mod->core->n_block, mod->n_block};
            double worst = 0;
            for (int B = 0; B < 2; B++) {
                double *g1 = malloc(nb[B] * sizeof *g1);
                memcpy(g1, gblocks[B], nb[B] * sizeof *g1);
                for (size_t q = 0; q < nts[B]; q++) {
                    const vae_tensor *T = &ts[B][q];
                    size_t cnt = T->rows * T->cols;
                    int fixed = !strcmp(T->name, "log_sigma2") && !mod->a.core.learn_sigma2;
                    double num = 0, den = 0;
                    for (size_t i = 0; i < cnt; i++) {
                        vae_real *v = blocks[B] + T->offset + i;
                        double v0 = *v;
                        *v = v0 + h;
                        double fp = objective(mod, ws, &b, 0);
                        *v = v0 - h;
                        double fm = objective(mod, ws, &b, 0);
                        *v = v0;
                        double fd = (fp - fm) / (2 * h), bp = g1[T->offset + i];
                        if (fixed) {
                            ck_assert_msg(bp == 0, "%s: a fixed sigma^2 has a gradient",
                                          cases[t].name);
                            continue;
                        }
                        num += (fd - bp) * (fd - bp);
                        den += bp * bp;
                    }
                    if (fixed) continue;
                    ck_assert_msg(den > 0, "%s: tensor %s has a zero gradient", cases[t].name,
                                  T->name);
                    double rel = sqrt(num / den);
                    if (rel > worst) worst = rel;
                    ck_assert_msg(rel < tol,
                                  "%s (%s): tensor %s: relative error %.3g of backprop "
                                  "vs finite differences",
                                  cases[t].name, mode ? "M2" : "CVAE", T->name, rel);
                }
                free(g1);
            }
            printf("%-26s %-4s worst relative error %.2g\n", cases[t].name, mode ? "M2" : "CVAE",
                   worst);
            cvae_workspace_free(ws);
            cvae_model_free(mod);
        }
}
END_TEST

START_TEST(test_adam_step)
{
    batch b;
    cvae_model *mod = make_model(&cases[0], CVAE_MODE_M2, &b, 3);
    gsl_rng *r = lz_rng_alloc(3);
    size_t n = mod->n_block, nc = mod->core->n_block;
    double *th = malloc(n * sizeof *th), *m1 = calloc(n, sizeof *m1), *v1 = calloc(n, sizeof *v1);
    memcpy(th, mod->block, n * sizeof *th);
    const double lr = 0.01, b1 = 0.9, b2 = 0.999, e = 1e-8;
    for (int t = 1; t <= 3; t++) {
        for (size_t i = 0; i < n; i++) mod->gblock[i] = 2 * gsl_rng_uniform(r) - 1;
        for (size_t i = 0; i < nc; i++) mod->core->gblock[i] = 0.5;
        for (size_t i = 0; i < n; i++) {
            double g = mod->gblock[i];
            m1[i] = b1 * m1[i] + (1 - b1) * g;
            v1[i] = b2 * v1[i] + (1 - b2) * g * g;
            double mh = m1[i] / (1 - pow(b1, t)), vh = v1[i] / (1 - pow(b2, t));
            th[i] -= lr * mh / (sqrt(vh) + e);
        }
        cvae_adam_step(mod, lr, b1, b2, e);
    }
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(fabs(mod->block[i] - th[i]) <= 1e-13 * (1 + fabs(th[i])),
                      "Adam: parameter %zu is %.17g, expected %.17g", i, mod->block[i], th[i]);
    ck_assert_int_eq(mod->adam_t, 3);
    /* the VAE's block took its own steps (vae_adam_step) */
    ck_assert_int_eq(mod->core->adam_t, 3);
    free(th);
    free(m1);
    free(v1);
    gsl_rng_free(r);
    cvae_model_free(mod);
}
END_TEST

START_TEST(test_logreg_optimum)
{
    /* 60 rows, 4 features, 3 overlapping classes */
    enum { N = 60, P = 4, CC = 3 };
    double x[N * P], W[CC * P], bb[CC];
    int y[N];
    gsl_rng *r = lz_rng_alloc(9);
    for (size_t i = 0; i < N; i++) {
        y[i] = (int)(i % CC);
        for (size_t j = 0; j < P; j++)
            x[i * P + j] = (j == (size_t)y[i]) + 0.8 * (gsl_rng_uniform(r) - 0.5) * 3;
    }
    gsl_rng_free(r);
    lz_error err;
    for (int pen = 0; pen < 2; pen++) {
        double l2 = pen ? 5.0 : 0.1;
        ck_assert_int_eq(cvae_logreg_fit(N, P, CC, x, y, l2, W, bb, &err), LZ_OK);
        /* the gradient of sum_i -log softmax(W x_i + b)_y + l2/2 |W|^2, in loops */
        double gW[CC * P], gb[CC], gn = 0;
        for (size_t j = 0; j < CC * P; j++) gW[j] = l2 * W[j];
        memset(gb, 0, sizeof gb);
        for (size_t i = 0; i < N; i++) {
            double g[CC], s = 0;
            for (size_t c = 0; c < CC; c++) {
                g[c] = bb[c];
                for (size_t j = 0; j < P; j++) g[c] += W[c * P + j] * x[i * P + j];
                s += exp(g[c]);
            }
            for (size_t c = 0; c < CC; c++) {
                double d = exp(g[c]) / s - (c == (size_t)y[i]);
                gb[c] += d;
                for (size_t j = 0; j < P; j++) gW[c * P + j] += d * x[i * P + j];
            }
        }
        for (size_t j = 0; j < CC * P; j++) gn += gW[j] * gW[j];
        for (size_t c = 0; c < CC; c++) gn += gb[c] * gb[c];
        ck_assert_msg(sqrt(gn) < 1e-4, "l2 %g: gradient norm %.3g at the end", l2, sqrt(gn));
        /* the bias is not penalised: sum_i (p_i - onehot_i) = 0 */
        ck_assert_msg(fabs(gb[0]) < 1e-4, "bias gradient %g", gb[0]);
        /* a larger penalty: smaller weights */
        double w2 = 0;
        for (size_t j = 0; j < CC * P; j++) w2 += W[j] * W[j];
        printf("logreg l2 %g: |W| %.4f, gradient norm %.2g\n", l2, sqrt(w2), sqrt(gn));
        int pred[N];
        cvae_logreg_predict(N, P, CC, x, W, bb, pred);
        int ok = 0;
        for (size_t i = 0; i < N; i++) ok += pred[i] == y[i];
        ck_assert_msg(ok > N / 2, "logreg: %d of %d right on its training rows", ok, N);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cvae_grad");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_loss_matches_reference);
    tcase_add_test(tc, test_unlabelled_is_the_weighted_sum);
    tcase_add_test(tc, test_gradients_finite_differences);
    tcase_add_test(tc, test_adam_step);
    tcase_add_test(tc, test_logreg_optimum);
    suite_add_tcase(s, tc);
    return lz_check_main(s);
}
