/* test_vae_est.c -- the gradient estimators (double-precision core).
 *
 * Truths:
 *  - for the linear Gaussian model (linear decoder f(z) = W z + b, Gaussian
 *    likelihood) the ELBO's gradient with respect to the encoder's outputs
 *    mu and log sigma^2 is known in closed form:
 *      E_Q[nll] = d/2 log(2 pi s2) + (|x - W mu - b|^2 + sum_q sigma_q^2 |W_q|^2) / (2 s2),
 *    plus the KL term's; the mean of M reparameterised estimates and of M
 *    score-function estimates (no baseline, and a constant baseline) each
 *    match it within 4 standard errors, with L = 1 and L = 3 samples per
 *    datum, and the reparameterised estimator has the smallest variance,
 *    the score function without a baseline the largest;
 *  - the running-mean baseline follows its recurrence exactly; NVIL's
 *    network learns a signal that depends on x;
 *  - vae_grad_var equals the variance computed here in two passes over the
 *    same draws, and changes neither the parameters, nor Adam's moments, nor
 *    the baselines;
 *  - the active-unit count of columns of known variance.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lz_check.h"
#include "lz_prob.h"
#include "vae.h"

#ifndef VAE_DOUBLE
#error "this test needs the double-precision build (lznlgm_vae_double)"
#endif

enum { D = 6, K = 3, M = 2 };

/* a linear-decoder Gaussian VAE with a tanh encoder layer, its parameters
 * moved off their initial law, and M rows of data x */
static vae_model *linear_model(double *x)
{
    vae_arch a;
    memset(&a, 0, sizeof a);
    a.d = D;
    a.k = K;
    a.n_enc = 1;
    a.enc[0] = 5;
    a.act = VAE_TANH;
    a.lik = VAE_GAUSSIAN;
    a.decoder = VAE_DEC_LINEAR;
    a.learn_sigma2 = 1;
    lz_error err;
    vae_model *mod = vae_model_alloc(&a, &err);
    ck_assert_msg(mod != NULL, "%s", err.msg);
    ck_assert_msg(vae_init(mod, 5, 0, &err) == LZ_OK, "%s", err.msg);
    gsl_rng *r = lz_rng_alloc(13);
    for (size_t t = 0; t < mod->n_tensors; t++) {
        vae_real *v = mod->block + mod->t[t].offset;
        for (size_t i = 0; i < mod->t[t].rows * mod->t[t].cols; i++)
            v[i] += 0.4 * (2 * gsl_rng_uniform(r) - 1);
    }
    *mod->p.log_sigma2 = -0.3;
    for (size_t i = 0; i < M * D; i++) x[i] = 2 * gsl_rng_uniform(r) - 1;
    gsl_rng_free(r);
    return mod;
}

/* g (M, 2k) <- d/d(mu, lv) of sum_i (E_Q[nll_i] + KL_i) in closed form;
 * enll (M) <- E_Q[nll_i] */
static void closed_form(const vae_model *mod, vae_workspace *ws, const double *x, double *g,
                        double *enll)
{
    vae_encode(mod, ws, x, M);
    const double *W = mod->p.out_w, *b = mod->p.out_b; /* W (d, k) */
    double s2 = exp(*mod->p.log_sigma2);
    for (size_t i = 0; i < M; i++) {
        const double *mu = ws->head + i * 2 * K, *lv = mu + K;
        double res[D], sq = 0, tr = 0;
        for (size_t j = 0; j < D; j++) {
            double f = b[j];
            for (size_t q = 0; q < K; q++) f += W[j * K + q] * mu[q];
            res[j] = x[i * D + j] - f;
            sq += res[j] * res[j];
        }
        for (size_t q = 0; q < K; q++) {
            double wq = 0, wr = 0;
            for (size_t j = 0; j < D; j++) {
                wq += W[j * K + q] * W[j * K + q];
                wr += W[j * K + q] * res[j];
            }
            tr += exp(lv[q]) * wq;
            /* d/dmu_q = -W_q . (x - W mu - b) / s2 + mu_q */
            g[i * 2 * K + q] = -wr / s2 + mu[q];
            /* d/dlv_q = e^lv_q |W_q|^2 / (2 s2) + (e^lv_q - 1) / 2 */
            g[i * 2 * K + K + q] = exp(lv[q]) * wq / (2 * s2) + 0.5 * (exp(lv[q]) - 1);
        }
        enll[i] = 0.5 * D * log(2 * M_PI * s2) + (sq + tr) / (2 * s2);
    }
}

START_TEST(test_unbiased_against_closed_form)
{
    enum { NS = 40000, NE = 3, C = M * 2 * K };
    static const char *const names[NE] = {"reparam", "score", "score, baseline E[nll]"};
    for (size_t L = 1; L <= 3; L += 2) {
        double x[M * D], cf[C], enll[M];
        vae_model *mod = linear_model(x);
        lz_error err;
        vae_workspace *ws = vae_workspace_alloc(mod, L * M, &err);
        ck_assert_ptr_nonnull(ws);
        closed_form(mod, ws, x, cf, enll);
        const vae_loss lo[NE] = {VAE_LOSS_ELBO,
                                 {VAE_OBJ_ELBO, 1.0, VAE_EST_SCORE, NULL},
                                 {VAE_OBJ_ELBO, 1.0, VAE_EST_SCORE, enll}};
        double s1[NE][C], s2[NE][C];
        memset(s1, 0, sizeof s1);
        memset(s2, 0, sizeof s2);
        gsl_rng *r = lz_rng_alloc(17);
        for (int s = 0; s < NS; s++) {
            lz_rng_gauss(r, L * M * K, ws->eps);
            for (int e = 0; e < NE; e++) {
                double rec, kl;
                vae_forward_loss(mod, ws, x, M, L, &lo[e], &rec, &kl, NULL);
                vae_zero_grad(mod);
                vae_backward_loss(mod, ws, x, M, L, &lo[e]);
                for (int c = 0; c < C; c++) {
                    s1[e][c] += ws->dhead[c];
                    s2[e][c] += ws->dhead[c] * ws->dhead[c];
                }
            }
        }
        double tv[NE];
        for (int e = 0; e < NE; e++) {
            tv[e] = 0;
            double worst = 0;
            for (int c = 0; c < C; c++) {
                double mean = s1[e][c] / NS, var = (s2[e][c] - NS * mean * mean) / (NS - 1);
                double se = sqrt(var / NS), z = fabs(mean - cf[c]) / se;
                tv[e] += var;
                if (z > worst) worst = z;
                ck_assert_msg(z < 4,
                              "L = %zu, %s: component %d: mean %.6f +- %.6f, closed form %.6f", L,
                              names[e], c, mean, se, cf[c]);
                /* precise enough to see a bias of a few tenths (the signal is
                 * ~ 10 nats: dropping the score's -1, or the 1/L, is far more) */
                ck_assert_msg(4 * se < 0.3, "L = %zu, %s: SE %.4f too large", L, names[e], se);
            }
            printf("L = %zu, %-24s total variance %10.4g, worst |mean - truth| %.2f SE, "
                   "SE of the whole %.4f\n",
                   L, names[e], tv[e], worst, sqrt(tv[e] / NS));
        }
        ck_assert_msg(tv[0] < tv[2] && tv[2] < tv[1],
                      "L = %zu: variances reparam %g, score with baseline %g, score %g: expected "
                      "increasing",
                      L, tv[0], tv[2], tv[1]);
        gsl_rng_free(r);
        vae_workspace_free(ws);
        vae_model_free(mod);
    }
}
END_TEST

/* ------------------------------------------------------------------ */
/* baselines */

START_TEST(test_mean_baseline_recurrence)
{
    enum { BD = 4, BM = 3 };
    vae_config c;
    vae_config_default(&c);
    lz_error err;
    vae_baselines *b = vae_baselines_alloc(BD, BM, 0, 1, &err);
    ck_assert_ptr_nonnull(b);
    vae_real x[BM * BD] = {0};
    double base[BM], want = 0;
    vae_baselines_predict(b, VAE_BASE_MEAN, x, BM, base);
    ck_assert(base[0] == 0 && base[2] == 0); /* nothing seen yet: 0 */
    /* L = 2 samples of 3 data: the signal of datum i is its mean nll */
    const double nll[3][2 * BM] = {
        {10, 11, 12, 14, 13, 12}, {20, 20, 20, 20, 20, 20}, {5, 6, 7, 7, 6, 5}};
    for (int t = 0; t < 3; t++) {
        double mean = 0;
        for (int r = 0; r < 2 * BM; r++) mean += nll[t][r] / (2 * BM);
        /* the first minibatch sets c; then c <- 0.8 c + 0.2 mean */
        want = t == 0 ? mean : 0.8 * want + 0.2 * mean;
        vae_baselines_update(b, &c, x, BM, 2, nll[t]);
        vae_baselines_predict(b, VAE_BASE_MEAN, x, BM, base);
        for (int i = 0; i < BM; i++)
            ck_assert_msg(fabs(base[i] - want) < 1e-12, "step %d: c %.15g, expected %.15g", t,
                          base[i], want);
        vae_baselines_predict(b, VAE_BASE_NONE, x, BM, base);
        ck_assert(base[1] == 0);
    }
    vae_baselines_free(b);
    vae_baselines_free(NULL);
}
END_TEST

START_TEST(test_net_baseline_learns)
{
    /* the signal 40 + 15 w.x (+ noise) of rows x ~ U(0, 1)^d: after training,
     * the network's residual variance is a small part of the signal's and
     * far below the running mean's */
    enum { BD = 10, BM = 64, STEPS = 3000 };
    vae_config c;
    vae_config_default(&c);
    lz_error err;
    vae_baselines *b = vae_baselines_alloc(BD, BM, 1, 3, &err);
    ck_assert_ptr_nonnull(b);
    gsl_rng *r = lz_rng_alloc(7);
    double w[BD], nll[BM], base[BM];
    vae_real x[BM * BD];
    for (int j = 0; j < BD; j++) w[j] = 2 * gsl_rng_uniform(r) - 1;
    double res_net = 0, res_mean = 0, var_sig = 0, sum_sig = 0;
    int n_eval = 0;
    for (int t = 0; t < STEPS + 20; t++) {
        for (int i = 0; i < BM; i++) {
            double s = 40;
            for (int j = 0; j < BD; j++) {
                x[i * BD + j] = gsl_rng_uniform(r);
                s += 15 * w[j] * x[i * BD + j];
            }
            nll[i] = s + 0.3 * (gsl_rng_uniform(r) - 0.5);
        }
        if (t >= STEPS) {
            /* held-out minibatches, predicted before the update */
            double bm[BM];
            vae_baselines_predict(b, VAE_BASE_NET, x, BM, base);
            vae_baselines_predict(b, VAE_BASE_MEAN, x, BM, bm);
            for (int i = 0; i < BM; i++) {
                res_net += (nll[i] - base[i]) * (nll[i] - base[i]);
                res_mean += (nll[i] - bm[i]) * (nll[i] - bm[i]);
                sum_sig += nll[i];
                var_sig += nll[i] * nll[i];
                n_eval++;
            }
        }
        vae_baselines_update(b, &c, x, BM, 1, nll);
    }
    var_sig = var_sig / n_eval - (sum_sig / n_eval) * (sum_sig / n_eval);
    res_net /= n_eval;
    res_mean /= n_eval;
    printf("baseline network: residual variance %.4f, running mean's %.4f, signal's %.4f\n",
           res_net, res_mean, var_sig);
    ck_assert_msg(res_net < 0.1 * var_sig && res_net < 0.1 * res_mean,
                  "network residual %.4f, mean's %.4f, signal variance %.4f", res_net, res_mean,
                  var_sig);
    gsl_rng_free(r);
    vae_baselines_free(b);
}
END_TEST

/* ------------------------------------------------------------------ */
/* the variance measurement */

START_TEST(test_grad_var_two_pass)
{
    enum { NS = 40 };
    double x[M * D];
    vae_model *mod = linear_model(x);
    vae_config c;
    vae_config_default(&c);
    lz_error err;
    vae_workspace *ws = vae_workspace_alloc(mod, M, &err);
    vae_baselines *b = vae_baselines_alloc(D, M, 1, 2, &err);
    ck_assert_ptr_nonnull(b);
    /* baselines that have learned something */
    double sig[M] = {12.5, 9.25};
    for (int t = 0; t < 5; t++) vae_baselines_update(b, &c, x, M, 1, sig);
    size_t P = vae_encoder_size(mod);
    double *acc = malloc(2 * VAE_N_GRADVAR * P * sizeof *acc);
    /* parameters, Adam's moments and baselines before */
    for (size_t i = 0; i < mod->n_block; i++) mod->adam_m[i] = 0.5 * i, mod->adam_v[i] = i;
    double *blk = malloc(mod->n_block * sizeof *blk), *am = malloc(mod->n_block * sizeof *am);
    memcpy(blk, mod->block, mod->n_block * sizeof *blk);
    memcpy(am, mod->adam_m, mod->n_block * sizeof *am);
    double bm0[M], bn0[M], bm[M], bn[M];
    vae_baselines_predict(b, VAE_BASE_MEAN, x, M, bm0);
    vae_baselines_predict(b, VAE_BASE_NET, x, M, bn0);
    ck_assert(bn0[0] != bm0[0]);

    vae_gradvar gv[VAE_N_GRADVAR];
    gsl_rng *r = lz_rng_alloc(23);
    vae_grad_var(mod, ws, b, x, M, NS, r, acc, gv);
    gsl_rng_free(r);
    ck_assert(memcmp(blk, mod->block, mod->n_block * sizeof *blk) == 0);
    ck_assert(memcmp(am, mod->adam_m, mod->n_block * sizeof *am) == 0);
    vae_baselines_predict(b, VAE_BASE_MEAN, x, M, bm);
    vae_baselines_predict(b, VAE_BASE_NET, x, M, bn);
    ck_assert(memcmp(bm, bm0, sizeof bm) == 0 && memcmp(bn, bn0, sizeof bn) == 0);

    /* the same draws, each estimator's gradient through vae_backward_loss, the
     * variance in two passes */
    const vae_loss lo[VAE_N_GRADVAR] = {VAE_LOSS_ELBO,
                                        {VAE_OBJ_ELBO, 1.0, VAE_EST_SCORE, NULL},
                                        {VAE_OBJ_ELBO, 1.0, VAE_EST_SCORE, bm},
                                        {VAE_OBJ_ELBO, 1.0, VAE_EST_SCORE, bn}};
    double *g = malloc(VAE_N_GRADVAR * NS * P * sizeof *g); /* (4, NS, P) */
    r = lz_rng_alloc(23);
    for (int s = 0; s < NS; s++) {
        lz_rng_gauss(r, M * K, ws->eps);
        for (int e = 0; e < VAE_N_GRADVAR; e++) {
            double rec, kl;
            vae_forward_loss(mod, ws, x, M, 1, &lo[e], &rec, &kl, NULL);
            vae_zero_grad(mod);
            vae_backward_loss(mod, ws, x, M, 1, &lo[e]);
            for (size_t p = 0; p < P; p++) g[((size_t)e * NS + s) * P + p] = mod->gblock[p] / M;
        }
    }
    size_t n_real = 0;
    for (size_t t = 0; t < 2 * mod->a.n_enc + 2; t++) n_real += mod->t[t].rows * mod->t[t].cols;
    for (int e = 0; e < VAE_N_GRADVAR; e++) {
        double tv = 0, g2 = 0;
        for (size_t p = 0; p < P; p++) {
            double mean = 0, ss = 0;
            for (int s = 0; s < NS; s++) mean += g[((size_t)e * NS + s) * P + p] / NS;
            for (int s = 0; s < NS; s++) {
                double dv = g[((size_t)e * NS + s) * P + p] - mean;
                ss += dv * dv;
            }
            tv += ss / (NS - 1);
            g2 += mean * mean;
        }
        ck_assert_int_eq(gv[e].estimator, e ? VAE_EST_SCORE : VAE_EST_REPARAM);
        ck_assert_int_eq(gv[e].baseline, e < 2    ? VAE_BASE_NONE
                                         : e == 2 ? VAE_BASE_MEAN
                                                  : VAE_BASE_NET);
        ck_assert_msg(fabs(gv[e].total_var - tv) < 1e-10 * tv,
                      "estimator %d: total %.15g, two-pass %.15g", e, gv[e].total_var, tv);
        ck_assert(fabs(gv[e].mean_var - tv / n_real) < 1e-10 * tv / n_real);
        ck_assert(fabs(gv[e].snr - g2 / tv) < 1e-9 * g2 / tv);
    }
    ck_assert(gv[0].total_var < gv[1].total_var);
    free(g);
    free(acc);
    free(blk);
    free(am);
    gsl_rng_free(r);
    vae_baselines_free(b);
    vae_workspace_free(ws);
    vae_model_free(mod);
}
END_TEST

START_TEST(test_active_units)
{
    /* columns +-a_j alternating over 6 rows (plus an offset): variance a_j^2 */
    enum { N = 6, NK = 5 };
    const double a[NK] = {0.2, 0.05, 0.11, 0.09, 0};
    double mu[N * NK], var[NK];
    for (int i = 0; i < N; i++)
        for (int j = 0; j < NK; j++) mu[i * NK + j] = 3 * j + (i % 2 ? a[j] : -a[j]);
    ck_assert_uint_eq(vae_active_units(N, NK, mu, var), 2); /* 0.04 and 0.0121 */
    for (int j = 0; j < NK; j++) ck_assert(fabs(var[j] - a[j] * a[j]) < 1e-14);
    ck_assert_uint_eq(vae_active_units(1, NK, mu, var), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("vae_est");
    TCase *tc = tcase_create("estimators");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_unbiased_against_closed_form);
    tcase_add_test(tc, test_mean_baseline_recurrence);
    tcase_add_test(tc, test_net_baseline_learns);
    tcase_add_test(tc, test_grad_var_two_pass);
    tcase_add_test(tc, test_active_units);
    suite_add_tcase(s, tc);
    return lz_check_main(s);
}
