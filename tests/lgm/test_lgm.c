/* test_lgm.c -- unit tests of models/lgm against independent truth:
 * the lecture's d x d form of the posterior (a direct LU solve), a direct d x d
 * Cholesky log-density (lz_mvn_logpdf / lz_mvn_avg_loglik), per-sample
 * sums of the lecture's EM formulas, recovery of a known model from its own
 * draws, and the monotonicity of EM.
 *
 * Dimension letters: n samples, d data, k latent.  Matrices row-major.
 */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lgm.h"
#include "lz_blas.h"
#include <gsl/gsl_randist.h>
#include "lz_cli.h"
#include "lz_data.h"
#include "lz_linalg.h"
#include "lz_prob.h"
#include "lz_time.h"
#include "lz_check.h"
#include "lz_check_data.h"
#include "lgm_check.h"

#define EPS DBL_EPSILON

/* A (d, k) ~ N(0, 1) entries; D (d) uniform in [dlo, dhi] */
static void random_params(gsl_rng *r, lgm_model *m, double dlo, double dhi)
{
    lz_rng_gauss(r, m->d * m->k, m->a);
    for (size_t i = 0; i < m->d; i++) m->dg[i] = dlo + (dhi - dlo) * gsl_rng_uniform(r);
}

/* aat (d, d) <- A A^T */
static void model_aat(const lgm_model *m, double *aat)
{
    size_t d = m->d, k = m->k;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)d, (int)d, (int)k, 1.0, m->a, (int)k,
                m->a, (int)k, 0.0, aat, (int)d);
}

/* C (d, d) <- A A^T + D */
static void model_cov(const lgm_model *m, double *c)
{
    model_aat(m, c);
    for (size_t i = 0; i < m->d; i++) c[i * m->d + i] += m->dg[i];
}

/* x (n, d) <- draws of x = mu + A z + D^1/2 e from the model m (sources
 * written here, not lgm_sample, so the test does not trust the library) */
static void draw_lgm(gsl_rng *r, const lgm_model *m, size_t n, double *x)
{
    size_t d = m->d, k = m->k;
    double *z = lz_test_dalloc(k);
    for (size_t t = 0; t < n; t++) {
        for (size_t c = 0; c < k; c++) z[c] = gsl_ran_gaussian(r, 1.0);
        for (size_t i = 0; i < d; i++) {
            double v = m->mu[i] + sqrt(m->dg[i]) * gsl_ran_gaussian(r, 1.0);
            for (size_t c = 0; c < k; c++) v += m->a[i * k + c] * z[c];
            x[t * d + i] = v;
        }
    }
    free(z);
}

/* 2-norm condition number of a symmetric positive definite c (d, d) */
static double spd_cond(size_t d, const double *c)
{
    double *t = lz_test_dalloc(d * d), *w = lz_test_dalloc(d);
    memcpy(t, c, d * d * sizeof *t);
    lz_error err;
    ck_assert_int_eq(lz_eigh(d, t, w, t, &err), LZ_OK);
    double kappa = w[0] / w[d - 1];
    free(t);
    free(w);
    return kappa;
}

static double max_abs(size_t n, const double *a)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs(a[i]));
    return m;
}

/* ------------------------------------------------------------------ */
/* the posterior: Woodbury form (k x k) against the lecture's d x d form */

START_TEST(posterior_woodbury_equals_lecture_form)
{
    static const size_t dims[][2] = {{5, 1}, {12, 3}, {40, 8}, {64, 2}};
    gsl_rng *r = lz_rng_alloc(11);
    lz_error err;
    for (size_t p = 0; p < sizeof dims / sizeof dims[0]; p++) {
        size_t d = dims[p][0], k = dims[p][1], q = 4; /* q test points */
        lgm_model *m = lgm_model_alloc(d, k);
        lgm_work *w = lgm_work_alloc(d, k, 0);
        random_params(r, m, 0.05, 2.0);
        double *c = lz_test_dalloc(d * d), *rhs = lz_test_dalloc(d * (k + q)),
               *x = lz_test_dalloc(q * d);
        lz_rng_gauss(r, q * d, x);
        model_cov(m, c);
        double kappa = spd_cond(d, c);
        /* the lecture: P(z|x) = N(A^T (AA^T+D)^-1 x, I - A^T (AA^T+D)^-1 A); one LU
         * solve of C Y = [A | x_1 .. x_q] */
        for (size_t i = 0; i < d; i++) {
            for (size_t c2 = 0; c2 < k; c2++) rhs[i * (k + q) + c2] = m->a[i * k + c2];
            for (size_t t = 0; t < q; t++) rhs[i * (k + q) + k + t] = x[t * d + i];
        }
        ck_assert_int_eq(lz_solve(d, c, k + q, rhs, &err), LZ_OK);
        ck_assert_int_eq(lgm_posterior(m, w, &err), LZ_OK);
        /* errors of both forms are ~ d kappa(C) eps relative to the entries'
         * scale (backward-stable solves; the k x k side is better
         * conditioned); 10x margin */
        double tol = 10.0 * (double)d * kappa * EPS;
        double sig_lec, mean_lec, worst_sig = 0, worst_mean = 0;
        for (size_t a = 0; a < k; a++)
            for (size_t b = 0; b < k; b++) {
                double atya = 0; /* (A^T C^-1 A)_ab */
                for (size_t i = 0; i < d; i++) atya += m->a[i * k + a] * rhs[i * (k + q) + b];
                sig_lec = (a == b) - atya;
                worst_sig = fmax(worst_sig, fabs(sig_lec - w->sigma[a * k + b]));
            }
        double *zx = lz_test_dalloc(q * k);
        ck_assert_int_eq(lgm_latent(m, w, q, x, zx, &err), LZ_OK);
        double scale = 0;
        for (size_t t = 0; t < q; t++)
            for (size_t a = 0; a < k; a++) {
                mean_lec = 0;
                for (size_t i = 0; i < d; i++)
                    mean_lec += m->a[i * k + a] * rhs[i * (k + q) + k + t];
                scale = fmax(scale, fabs(mean_lec));
                worst_mean = fmax(worst_mean, fabs(mean_lec - zx[t * k + a]));
            }
        ck_assert_msg(worst_sig <= tol, "d=%zu k=%zu: Sigma differs by %g > %g (kappa %g)", d, k,
                      worst_sig, tol, kappa);
        ck_assert_msg(worst_mean <= tol * fmax(scale, 1.0),
                      "d=%zu k=%zu: posterior mean differs by %g > %g", d, k, worst_mean,
                      tol * fmax(scale, 1.0));
        /* Sigma is symmetric positive definite with eigenvalues in (0, 1] */
        ck_assert(spd_cond(k, w->sigma) >= 1.0);
        free(c);
        free(rhs);
        free(x);
        free(zx);
        lgm_model_free(m);
        lgm_work_free(w);
    }
    gsl_rng_free(r);
}
END_TEST

/* ------------------------------------------------------------------ */
/* the O(d k^2) log-likelihood against a direct d x d Cholesky */

START_TEST(loglik_woodbury_equals_direct_cholesky)
{
    static const size_t dims[][3] = {{6, 1, 30}, {20, 4, 200}, {50, 7, 120}};
    gsl_rng *r = lz_rng_alloc(12);
    lz_error err;
    for (size_t p = 0; p < sizeof dims / sizeof dims[0]; p++) {
        size_t d = dims[p][0], k = dims[p][1], n = dims[p][2];
        lgm_model *m = lgm_model_alloc(d, k);
        lgm_work *w = lgm_work_alloc(d, k, 0);
        random_params(r, m, 0.1, 3.0);
        for (size_t i = 0; i < d; i++) m->mu[i] = gsl_ran_gaussian(r, 1.0);
        /* data NOT from the model (uniform, shifted), so tr(C^-1 S) is general */
        double *x = lz_test_dalloc(n * d), *s = lz_test_dalloc(d * d), *c = lz_test_dalloc(d * d),
               *lp = lz_test_dalloc(n);
        for (size_t i = 0; i < n * d; i++) x[i] = 4 * gsl_rng_uniform(r) - 1.5;
        /* S about the MODEL mean, as lgm_loglik expects */
        ck_assert_int_eq(lz_covariance(n, d, x, m->mu, s, &err), LZ_OK);
        double ll;
        ck_assert_int_eq(lgm_loglik(m, s, w, &ll, &err), LZ_OK);
        model_cov(m, c);
        ck_assert_int_eq(lz_mvn_logpdf(n, d, x, m->mu, c, lp, &err), LZ_OK);
        double direct = 0;
        for (size_t t = 0; t < n; t++) direct += lp[t];
        direct /= (double)n;
        double avg;
        ck_assert_int_eq(lz_mvn_avg_loglik(d, c, s, &avg, &err), LZ_OK);
        /* both sides sum O(d) terms of size up to d kappa(C); relative error
         * ~ d kappa eps; 10x margin */
        double kappa = spd_cond(d, c);
        double tol = 10.0 * (double)d * kappa * EPS * fmax(fabs(direct), 1.0);
        ck_assert_msg(fabs(ll - direct) <= tol, "d=%zu k=%zu: ll %.17g, direct %.17g (tol %g)", d,
                      k, ll, direct, tol);
        ck_assert_msg(fabs(ll - avg) <= tol, "d=%zu: ll %.17g, avg %.17g", d, ll, avg);
        free(x);
        free(s);
        free(c);
        free(lp);
        lgm_model_free(m);
        lgm_work_free(w);
    }
    gsl_rng_free(r);
}
END_TEST

/* ------------------------------------------------------------------ */
/* the M-step from sufficient statistics against the lecture's per-sample sums */

START_TEST(mstep_equals_per_sample_lecture_formulas)
{
    size_t d = 9, k = 3, n = 150;
    gsl_rng *r = lz_rng_alloc(13);
    lz_error err;
    lgm_model *m = lgm_model_alloc(d, k), *truth = lgm_model_alloc(d, k);
    lgm_work *w = lgm_work_alloc(d, k, 0);
    random_params(r, truth, 0.2, 1.0);
    random_params(r, m, 0.5, 2.0); /* current parameters, far from truth */
    for (size_t i = 0; i < d; i++) m->floor[i] = 1e-9;
    double *x = lz_test_dalloc(n * d), *mu = lz_test_dalloc(d), *s = lz_test_dalloc(d * d);
    draw_lgm(r, truth, n, x);
    lz_mean(n, d, x, mu);
    lz_center(n, d, x, mu);
    ck_assert_int_eq(lz_covariance(n, d, x, NULL, s, &err), LZ_OK);
    /* the lecture, per sample: m_n = A^T C^-1 x_n, E[zz^T|x_n] = I - A^T C^-1 A + m_n m_n^T;
     * A <- (sum x m^T)(sum E[zz^T])^-1; D <- diag((1/N)(sum x x^T - A sum m x^T)) */
    double *c = lz_test_dalloc(d * d), *rhs = lz_test_dalloc(d * (k + n));
    model_cov(m, c);
    for (size_t i = 0; i < d; i++) {
        for (size_t a = 0; a < k; a++) rhs[i * (k + n) + a] = m->a[i * k + a];
        for (size_t t = 0; t < n; t++) rhs[i * (k + n) + k + t] = x[t * d + i];
    }
    ck_assert_int_eq(lz_solve(d, c, k + n, rhs, &err), LZ_OK);
    double *sig = lz_test_dalloc(k * k), *mm = lz_test_dalloc(n * k), *sxm = lz_test_dalloc(d * k),
           *szz = lz_test_dalloc(k * k);
    for (size_t a = 0; a < k; a++)
        for (size_t b = 0; b < k; b++) {
            double v = 0;
            for (size_t i = 0; i < d; i++) v += m->a[i * k + a] * rhs[i * (k + n) + b];
            sig[a * k + b] = (a == b) - v;
        }
    for (size_t t = 0; t < n; t++)
        for (size_t a = 0; a < k; a++) {
            double v = 0;
            for (size_t i = 0; i < d; i++) v += m->a[i * k + a] * rhs[i * (k + n) + k + t];
            mm[t * k + a] = v;
        }
    for (size_t t = 0; t < n; t++) {
        for (size_t i = 0; i < d; i++)
            for (size_t a = 0; a < k; a++) sxm[i * k + a] += x[t * d + i] * mm[t * k + a];
        for (size_t a = 0; a < k; a++)
            for (size_t b = 0; b < k; b++)
                szz[a * k + b] += sig[a * k + b] + mm[t * k + a] * mm[t * k + b];
    }
    /* A_lec^T = Szz^-1 Sxm^T (Szz symmetric): LU solve */
    double *at = lz_test_dalloc(k * d);
    for (size_t i = 0; i < d; i++)
        for (size_t a = 0; a < k; a++) at[a * d + i] = sxm[i * k + a];
    ck_assert_int_eq(lz_solve(k, szz, d, at, &err), LZ_OK);
    double *dlec = lz_test_dalloc(d);
    for (size_t i = 0; i < d; i++) {
        double xx = 0, amx = 0;
        for (size_t t = 0; t < n; t++) xx += x[t * d + i] * x[t * d + i];
        for (size_t a = 0; a < k; a++) amx += at[a * d + i] * sxm[i * k + a];
        dlec[i] = (xx - amx) / (double)n;
    }
    double ll;
    ck_assert_int_eq(lgm_em_step(m, w, s, &ll, &err), LZ_OK);
    /* the two differ by the rounding of O(n d) sums and of solves with
     * condition ~ kappa(C) ~ 1e2 here: relative 1e-10 is ~1e4 eps of margin */
    double sa = max_abs(d * k, m->a), worst = 0;
    for (size_t i = 0; i < d; i++)
        for (size_t a = 0; a < k; a++) worst = fmax(worst, fabs(m->a[i * k + a] - at[a * d + i]));
    ck_assert_msg(worst <= 1e-10 * sa, "A differs by %g (scale %g)", worst, sa);
    for (size_t i = 0; i < d; i++)
        ck_assert_msg(fabs(m->dg[i] - dlec[i]) <= 1e-10 * s[i * d + i], "D_%zu: %.17g vs %.17g", i,
                      m->dg[i], dlec[i]);
    free(x);
    free(mu);
    free(s);
    free(c);
    free(rhs);
    free(sig);
    free(mm);
    free(sxm);
    free(szz);
    free(at);
    free(dlec);
    lgm_model_free(m);
    lgm_model_free(truth);
    lgm_work_free(w);
    gsl_rng_free(r);
}
END_TEST

/* ------------------------------------------------------------------ */
/* EM never decreases the likelihood */

typedef struct {
    double ll[4096];
    int n;
} trace_rec;

static int record(const lgm_iter_info *it, void *ud)
{
    trace_rec *t = ud;
    if (t->n < 4096) t->ll[t->n++] = it->ll_train;
    return 0;
}

/* data for a monotonicity problem: draws of a random LGM with k_true
 * factors; optionally a constant column and a near-constant one */
static void monotone_problem(gsl_rng *r, size_t d, size_t k_true, size_t n, int heywood, double *x,
                             double *s)
{
    lgm_model *truth = lgm_model_alloc(d, k_true);
    random_params(r, truth, 0.05, 1.0);
    draw_lgm(r, truth, n, x);
    if (heywood)
        for (size_t t = 0; t < n; t++) {
            x[t * d + 0] = 3.0;                      /* constant     */
            x[t * d + 1] = t % 97 == 0 ? 1e-3 : 0.0; /* near-constant */
        }
    double *mu = lz_test_dalloc(d);
    lz_mean(n, d, x, mu);
    lz_center(n, d, x, mu);
    lz_error err;
    ck_assert_int_eq(lz_covariance(n, d, x, NULL, s, &err), LZ_OK);
    free(mu);
    lgm_model_free(truth);
}

START_TEST(em_never_decreases_ll)
{
    /* d, k_true, k_fit, n, heywood columns */
    static const size_t probs[][5] = {{8, 2, 2, 300, 0},
                                      {15, 3, 5, 100, 0},
                                      {20, 4, 2, 1000, 1},
                                      {6, 1, 3, 50, 1},
                                      {30, 6, 6, 40, 0}};
    gsl_rng *r = lz_rng_alloc(14);
    lz_error err;
    for (size_t p = 0; p < sizeof probs / sizeof probs[0]; p++) {
        size_t d = probs[p][0], kt = probs[p][1], k = probs[p][2], n = probs[p][3];
        double *x = lz_test_dalloc(n * d), *s = lz_test_dalloc(d * d), *c = lz_test_dalloc(d * d);
        monotone_problem(r, d, kt, n, (int)probs[p][4], x, s);
        lgm_config cfg;
        lgm_config_default(&cfg);
        cfg.k = (int)k;
        cfg.init = LGM_INIT_RANDOM;
        cfg.seed = 100 + p;
        lgm_model *m = lgm_model_alloc(d, k);
        lgm_work *w = lgm_work_alloc(d, k, 0);
        gsl_rng *ri = lz_rng_alloc(cfg.seed);
        ck_assert_int_eq(lgm_init(&cfg, s, ri, m, w, &err), LZ_OK);
        /* plain EM steps; ll of every iterate by a direct d x d Cholesky
         * (lz_mvn_avg_loglik), independent of the Woodbury formula.
         * Slack: relative 1e-10 (rounding of ll is ~ d kappa eps ~ 1e-12 here). */
        double prev = -INFINITY;
        for (int t = 0; t < 300; t++) {
            double ll_w, ll_d;
            model_cov(m, c);
            ck_assert_int_eq(lz_mvn_avg_loglik(d, c, s, &ll_d, &err), LZ_OK);
            ck_assert_int_eq(lgm_em_step(m, w, s, &ll_w, &err), LZ_OK);
            ck_assert_msg(ll_d >= prev - 1e-10 * fabs(prev),
                          "problem %zu, plain EM step %d: ll fell from %.17g to %.17g", p, t, prev,
                          ll_d);
            ck_assert_msg(fabs(ll_w - ll_d) <= 1e-9 * fmax(1.0, fabs(ll_d)),
                          "problem %zu step %d: Woodbury ll %.17g vs direct %.17g", p, t, ll_w,
                          ll_d);
            prev = ll_d;
        }
        /* the fit loop with SQUAREM and without: every reported line rises */
        for (int acc = 0; acc <= 1; acc++) {
            trace_rec tr = {.n = 0};
            lgm_result res;
            cfg.accelerate = acc;
            cfg.tol = 0; /* run to max_iter (or until ll stops rising at all) */
            cfg.max_iter = 200;
            ck_assert_int_eq(lgm_fit(&cfg, n, x, s, NULL, m, lz_now(), record, &tr, &res, &err),
                             LZ_OK);
            ck_assert_int_ge(tr.n, 2);
            for (int t = 1; t < tr.n; t++)
                ck_assert_msg(tr.ll[t] >= tr.ll[t - 1] - 1e-10 * fabs(tr.ll[t - 1]),
                              "problem %zu accel %d, iteration %d: ll fell from %.17g to %.17g", p,
                              acc, t, tr.ll[t - 1], tr.ll[t]);
            /* the reported final ll is that of the returned parameters */
            double ll_d;
            model_cov(m, c);
            ck_assert_int_eq(lz_mvn_avg_loglik(d, c, s, &ll_d, &err), LZ_OK);
            ck_assert_msg(fabs(res.ll_train - ll_d) <= 1e-9 * fabs(ll_d), "final ll %.17g vs %.17g",
                          res.ll_train, ll_d);
            /* the floor holds */
            for (size_t i = 0; i < d; i++) ck_assert(m->dg[i] >= m->floor[i]);
        }
        free(x);
        free(s);
        free(c);
        lgm_model_free(m);
        lgm_work_free(w);
        gsl_rng_free(ri);
    }
    gsl_rng_free(r);
}
END_TEST

/* ------------------------------------------------------------------ */
/* a constant column: D on the floor, its row of A exactly 0, ll finite */

START_TEST(constant_column_hits_the_floor)
{
    size_t d = 6, k = 2, n = 400;
    gsl_rng *r = lz_rng_alloc(15);
    lz_error err;
    double *x = lz_test_dalloc(n * d), *s = lz_test_dalloc(d * d);
    monotone_problem(r, d, 2, n, 1, x, s); /* column 0 constant */
    lgm_config cfg;
    lgm_config_default(&cfg);
    cfg.k = (int)k;
    lgm_model *m = lgm_model_alloc(d, k);
    lgm_result res;
    ck_assert_int_eq(lgm_fit(&cfg, n, x, s, NULL, m, lz_now(), NULL, NULL, &res, &err), LZ_OK);
    /* the constant column's floor: dmin mu_0^2, or dmin when it is always 0
     * (m->mu is 0 here: lgm_fit leaves the mean to its caller); every other
     * coordinate's: dmin x its own variance */
    ck_assert_double_eq(s[0], 0.0);
    ck_assert_double_eq(m->floor[0], cfg.dmin);
    m->mu[0] = -3.0;
    lz_error e2;
    ck_assert_int_eq(lgm_set_floor(cfg.dmin, s, m, &e2), LZ_OK);
    ck_assert_double_eq(m->floor[0], cfg.dmin * 9.0);
    for (size_t i = 1; i < d; i++) ck_assert_double_eq(m->floor[i], cfg.dmin * s[i * d + i]);
    ck_assert_double_eq(m->dg[0], cfg.dmin);
    for (size_t a = 0; a < k; a++) ck_assert_double_eq(m->a[a], 0.0);
    ck_assert_uint_ge(lgm_n_floor(m), 1);
    ck_assert(isfinite(res.ll_train));
    free(x);
    free(s);
    lgm_model_free(m);
    gsl_rng_free(r);
}
END_TEST

/* ------------------------------------------------------------------ */
/* pca init: A A^T = C^1/2 U_k (Lambda_k - sigma^2) U_k^T C^1/2 from a full
 * eigensolver on the correlation matrix R = C^-1/2 S C^-1/2, C = diag S */

START_TEST(pca_init_matches_full_eigendecomposition)
{
    size_t d = 12, k = 3, n = 500;
    gsl_rng *r = lz_rng_alloc(16);
    lz_error err;
    double *x = lz_test_dalloc(n * d), *s = lz_test_dalloc(d * d);
    monotone_problem(r, d, 3, n, 0, x, s);
    lgm_config cfg;
    lgm_config_default(&cfg);
    cfg.k = (int)k;
    lgm_model *m = lgm_model_alloc(d, k);
    lgm_work *w = lgm_work_alloc(d, k, 0);
    ck_assert_int_eq(lgm_init(&cfg, s, NULL, m, w, &err), LZ_OK);
    double *v = lz_test_dalloc(d * d), *lam = lz_test_dalloc(d), *aat = lz_test_dalloc(d * d);
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j < d; j++)
            v[i * d + j] = s[i * d + j] / sqrt(s[i * d + i] * s[j * d + j]);
    ck_assert_int_eq(lz_eigh(d, v, lam, v, &err), LZ_OK); /* dsyevd, all pairs */
    double sigma2 = 0;
    for (size_t j = k; j < d; j++) sigma2 += lam[j] / (double)(d - k);
    model_aat(m, aat);
    /* eigenvectors of distinct eigenvalues agree to ~ eps lambda_1 / gap */
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j < d; j++) {
            double ref = 0;
            for (size_t c = 0; c < k; c++) ref += v[i * d + c] * (lam[c] - sigma2) * v[j * d + c];
            double unit = sqrt(s[i * d + i] * s[j * d + j]);
            ref *= unit;
            ck_assert_msg(fabs(aat[i * d + j] - ref) <= 1e-10 * lam[0] * unit, "AA^T(%zu,%zu)", i,
                          j);
        }
    for (size_t i = 0; i < d; i++) ck_assert_double_eq(m->dg[i], s[i * d + i]);
    free(x);
    free(s);
    free(v);
    free(lam);
    free(aat);
    lgm_model_free(m);
    lgm_work_free(w);
    gsl_rng_free(r);
}
END_TEST

/* ------------------------------------------------------------------ */
/* recovery of a known LGM from N = 20000 of its draws */

START_TEST(recovers_known_model)
{
    size_t d = 10, k = 2, n = 20000;
    gsl_rng *r = lz_rng_alloc(17);
    lz_error err;
    lgm_model *truth = lgm_model_alloc(d, k), *m = lgm_model_alloc(d, k);
    random_params(r, truth, 0.2, 1.0);
    for (size_t i = 0; i < d; i++) truth->mu[i] = 5.0 * gsl_ran_gaussian(r, 1.0);
    double *x = lz_test_dalloc(n * d), *s = lz_test_dalloc(d * d), *c = lz_test_dalloc(d * d);
    draw_lgm(r, truth, n, x);
    lz_mean(n, d, x, m->mu);
    lz_center(n, d, x, m->mu);
    ck_assert_int_eq(lz_covariance(n, d, x, NULL, s, &err), LZ_OK);
    lgm_config cfg;
    lgm_config_default(&cfg);
    cfg.k = (int)k;
    cfg.tol = 1e-12;
    lgm_result res;
    ck_assert_int_eq(lgm_fit(&cfg, n, x, s, NULL, m, lz_now(), NULL, NULL, &res, &err), LZ_OK);
    ck_assert(res.converged);
    /* A is identified only up to a rotation: compare A A^T (and D), which
     * are rotation-invariant.  Tolerance from the sampling error: an entry
     * of the sample covariance has standard error
     *     se_ij = sqrt((C_ii C_jj + C_ij^2) / N)   (~ 1/sqrt(N) = 0.007 relative),
     * and the ML estimates of C_ij = (AA^T)_ij (i != j) and of D_i =
     * C_ii - (AA^T)_ii are smooth functions of S with errors of that order.
     * We allow 5 se (4 se for the off-diagonal entries would already be a
     * 1-in-16000 event per entry for a Gaussian error); a bias such as a
     * missing Sigma in the M-step is many se. */
    model_cov(truth, c);
    double *aat = lz_test_dalloc(d * d), *aat_true = lz_test_dalloc(d * d);
    model_aat(m, aat);
    model_aat(truth, aat_true);
    double worst = 0;
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j < d; j++) {
            double se =
                sqrt((c[i * d + i] * c[j * d + j] + c[i * d + j] * c[i * d + j]) / (double)n);
            double e = fabs(aat[i * d + j] - aat_true[i * d + j]) / se;
            worst = fmax(worst, e);
            ck_assert_msg(e <= 5.0, "(AA^T)_%zu%zu = %g, true %g: %.1f se", i, j, aat[i * d + j],
                          aat_true[i * d + j], e);
        }
    for (size_t i = 0; i < d; i++) {
        double se = sqrt(2.0 / (double)n) * c[i * d + i];
        double e = fabs(m->dg[i] - truth->dg[i]) / se;
        ck_assert_msg(e <= 5.0, "D_%zu = %g, true %g: %.1f se", i, m->dg[i], truth->dg[i], e);
    }
    /* and the mean, se sqrt(C_ii / N) */
    for (size_t i = 0; i < d; i++)
        ck_assert(fabs(m->mu[i] - truth->mu[i]) <= 5.0 * sqrt(c[i * d + i] / (double)n));
    free(x);
    free(s);
    free(c);
    free(aat);
    free(aat_true);
    lgm_model_free(truth);
    lgm_model_free(m);
    gsl_rng_free(r);
}
END_TEST

/* ------------------------------------------------------------------ */
/* sampled completion */

START_TEST(sampled_mstep_tends_to_exact_mstep)
{
    /* With many draws per datum the Monte-Carlo sums converge to the exact
     * expectations, so one sampled M-step -> the exact M-step from the same
     * parameters.  Relative Monte-Carlo error ~ 1/sqrt(n J) = 0.0022 here;
     * we allow 0.02.  (Using the old A in the D-update, the lecture's slide,
     * moves D by the size of an EM step, ~0.1-1 relative from this start.) */
    size_t d = 8, k = 2, n = 500;
    int J = 400;
    gsl_rng *r = lz_rng_alloc(18);
    lz_error err;
    lgm_model *truth = lgm_model_alloc(d, k);
    random_params(r, truth, 0.2, 1.0);
    double *x = lz_test_dalloc(n * d), *mu = lz_test_dalloc(d), *s = lz_test_dalloc(d * d);
    draw_lgm(r, truth, n, x);
    lz_mean(n, d, x, mu);
    lz_center(n, d, x, mu);
    ck_assert_int_eq(lz_covariance(n, d, x, NULL, s, &err), LZ_OK);
    lgm_model *me = lgm_model_alloc(d, k), *ms = lgm_model_alloc(d, k);
    random_params(r, me, 0.5, 2.0);
    for (size_t i = 0; i < d; i++) me->floor[i] = 1e-9;
    lgm_model_copy(ms, me);
    lgm_work *w = lgm_work_alloc(d, k, n);
    ck_assert_int_eq(lgm_em_step(me, w, s, NULL, &err), LZ_OK);
    ck_assert_int_eq(lgm_posterior(ms, w, &err), LZ_OK);
    ck_assert_int_eq(lgm_mstep_sampled(ms, w, n, x, s, J, r, &err), LZ_OK);
    double sa = max_abs(d * k, me->a);
    for (size_t i = 0; i < d * k; i++)
        ck_assert_msg(fabs(ms->a[i] - me->a[i]) <= 0.02 * sa, "A[%zu]: %g vs %g", i, ms->a[i],
                      me->a[i]);
    for (size_t i = 0; i < d; i++)
        ck_assert_msg(fabs(ms->dg[i] - me->dg[i]) <= 0.02 * s[i * d + i], "D[%zu]: %g vs %g", i,
                      ms->dg[i], me->dg[i]);
    free(x);
    free(mu);
    free(s);
    lgm_model_free(truth);
    lgm_model_free(me);
    lgm_model_free(ms);
    lgm_work_free(w);
    gsl_rng_free(r);
}
END_TEST

START_TEST(sampled_completion_ends_within_1pct_of_exact)
{
    size_t d = 10, k = 2, n = 2000;
    gsl_rng *r = lz_rng_alloc(19);
    lz_error err;
    lgm_model *truth = lgm_model_alloc(d, k);
    random_params(r, truth, 0.2, 1.0);
    double *x = lz_test_dalloc(n * d), *mu = lz_test_dalloc(d), *s = lz_test_dalloc(d * d);
    draw_lgm(r, truth, n, x);
    lz_mean(n, d, x, mu);
    lz_center(n, d, x, mu);
    ck_assert_int_eq(lz_covariance(n, d, x, NULL, s, &err), LZ_OK);
    lgm_config cfg;
    lgm_config_default(&cfg);
    cfg.k = (int)k;
    cfg.tol = 1e-12;
    lgm_model *me = lgm_model_alloc(d, k), *ms = lgm_model_alloc(d, k);
    lgm_result re, rs;
    ck_assert_int_eq(lgm_fit(&cfg, n, x, s, NULL, me, lz_now(), NULL, NULL, &re, &err), LZ_OK);
    cfg.completion = LGM_SAMPLED;
    cfg.tol = 1e-6;
    cfg.max_iter = 300;
    ck_assert_int_eq(lgm_fit(&cfg, n, x, s, NULL, ms, lz_now(), NULL, NULL, &rs, &err), LZ_OK);
    ck_assert_msg(fabs(rs.ll_train - re.ll_train) <= 0.01 * fabs(re.ll_train),
                  "sampled ll/N %.8f, exact %.8f", rs.ll_train, re.ll_train);
    /* exact EM converged to (a local) maximum: the sampled path does not beat it
     * by more than the exact run's remaining rise (tol 1e-12 / step) */
    ck_assert_msg(rs.ll_train <= re.ll_train + 1e-6, "sampled %.10f above exact %.10f", rs.ll_train,
                  re.ll_train);
    free(x);
    free(mu);
    free(s);
    lgm_model_free(truth);
    lgm_model_free(me);
    lgm_model_free(ms);
    gsl_rng_free(r);
}
END_TEST

/* draws of lgm_sample have covariance A A^T + D and mean mu */
START_TEST(samples_have_the_model_covariance)
{
    size_t d = 5, k = 2, n = 40000;
    gsl_rng *r = lz_rng_alloc(20);
    lgm_model *m = lgm_model_alloc(d, k);
    random_params(r, m, 0.2, 1.0);
    for (size_t i = 0; i < d; i++) m->mu[i] = (double)i;
    double *x = lz_test_dalloc(n * d), *tmp = lz_test_dalloc(k), *s = lz_test_dalloc(d * d),
           *c = lz_test_dalloc(d * d), *mu = lz_test_dalloc(d);
    lgm_sample(m, r, n, x, tmp);
    lz_mean(n, d, x, mu);
    lz_error err;
    ck_assert_int_eq(lz_covariance(n, d, x, mu, s, &err), LZ_OK);
    model_cov(m, c);
    /* 5 standard errors of a sample covariance / mean entry */
    for (size_t i = 0; i < d; i++) {
        ck_assert(fabs(mu[i] - m->mu[i]) <= 5 * sqrt(c[i * d + i] / (double)n));
        for (size_t j = 0; j < d; j++) {
            double se =
                sqrt((c[i * d + i] * c[j * d + j] + c[i * d + j] * c[i * d + j]) / (double)n);
            ck_assert_msg(fabs(s[i * d + j] - c[i * d + j]) <= 5 * se, "S_%zu%zu", i, j);
        }
    }
    free(x);
    free(tmp);
    free(s);
    free(c);
    free(mu);
    lgm_model_free(m);
    gsl_rng_free(r);
}
END_TEST

/* ------------------------------------------------------------------ */
/* factor analysis is scale-equivariant, and so is the fit: multiplying
 * column i by c_i > 0 (here from 1e-4 to 1e4) gives A's row i
 * times c_i, D_i times c_i^2, and ll/N shifted by -sum_i log|c_i|, for each
 * initialisation, with and without SQUAREM, and for sampled completion */

START_TEST(fit_is_scale_equivariant)
{
    size_t d = 10, k = 2, n = 3000;
    gsl_rng *r = lz_rng_alloc(21);
    lz_error err;
    lgm_model *truth = lgm_model_alloc(d, k);
    random_params(r, truth, 0.1, 1.0);
    double *x = lz_test_dalloc(n * d), *xs = lz_test_dalloc(n * d), *mu = lz_test_dalloc(d),
           *s = lz_test_dalloc(d * d), *ss = lz_test_dalloc(d * d), *c = lz_test_dalloc(d);
    draw_lgm(r, truth, n, x);
    double shift = 0;
    for (size_t i = 0; i < d; i++) {
        c[i] = pow(10.0, -4.0 + 8.0 * gsl_rng_uniform(r));
        shift -= log(fabs(c[i]));
    }
    for (size_t t = 0; t < n; t++)
        for (size_t i = 0; i < d; i++) xs[t * d + i] = c[i] * x[t * d + i];
    lz_mean(n, d, x, mu);
    lz_center(n, d, x, mu);
    ck_assert_int_eq(lz_covariance(n, d, x, NULL, s, &err), LZ_OK);
    lz_mean(n, d, xs, mu);
    lz_center(n, d, xs, mu);
    ck_assert_int_eq(lz_covariance(n, d, xs, NULL, ss, &err), LZ_OK);
    static const int runs[][3] = {/* completion, init, accelerate */
                                  {LGM_EXACT, LGM_INIT_PCA, 1},
                                  {LGM_EXACT, LGM_INIT_RANDOM, 0},
                                  {LGM_SAMPLED, LGM_INIT_PCA, 0}};
    for (size_t q = 0; q < sizeof runs / sizeof runs[0]; q++) {
        lgm_config cfg;
        lgm_config_default(&cfg);
        cfg.k = (int)k;
        cfg.completion = runs[q][0];
        cfg.init = runs[q][1];
        cfg.accelerate = runs[q][2];
        cfg.samples = 3;
        cfg.max_iter = 60; /* the same number of steps in both units */
        cfg.tol = 0;
        lgm_model *m = lgm_model_alloc(d, k), *ms = lgm_model_alloc(d, k);
        lgm_result res, ress;
        ck_assert_int_eq(lgm_fit(&cfg, n, x, s, NULL, m, lz_now(), NULL, NULL, &res, &err), LZ_OK);
        ck_assert_int_eq(lgm_fit(&cfg, n, xs, ss, NULL, ms, lz_now(), NULL, NULL, &ress, &err),
                         LZ_OK);
        /* A A^T (the model; A itself only up to the signs of its columns), D, the floor */
        lgm_check_same_in_units(m, ms, c, q);
        ck_assert_msg(fabs(ress.ll_train - (res.ll_train + shift)) <= 1e-9 * fabs(res.ll_train),
                      "run %zu: ll %.17g, expected %.17g", q, ress.ll_train, res.ll_train + shift);
        lgm_model_free(m);
        lgm_model_free(ms);
    }
    free(x);
    free(xs);
    free(mu);
    free(s);
    free(ss);
    free(c);
    lgm_model_free(truth);
    gsl_rng_free(r);
}
END_TEST

/* the reasons for the floor: a constant coordinate, a duplicated one (named
 * with its twin) and a Heywood case (a coordinate the factor explains) */
START_TEST(floor_explained)
{
    size_t d = 6, k = 1, n = 2000;
    gsl_rng *r = lz_rng_alloc(22);
    lz_error err;
    double *x = lz_test_dalloc(n * d), *mu = lz_test_dalloc(d), *s = lz_test_dalloc(d * d);
    for (size_t t = 0; t < n; t++) {
        double z = gsl_ran_gaussian(r, 1.0);
        double *row = x + t * d;
        row[0] = z; /* the factor itself: Heywood */
        row[1] = 0.8 * z + 0.6 * gsl_ran_gaussian(r, 1.0);
        row[2] = -0.5 * z + 0.9 * gsl_ran_gaussian(r, 1.0);
        row[3] = 7.0; /* constant */
        row[4] = 0.3 * z + gsl_ran_gaussian(r, 1.0);
        row[5] = 0.7 * z + 0.7 * gsl_ran_gaussian(r, 1.0);
    }
    lz_mean(n, d, x, mu);
    lz_center(n, d, x, mu);
    ck_assert_int_eq(lz_covariance(n, d, x, NULL, s, &err), LZ_OK);
    lgm_config cfg;
    lgm_config_default(&cfg);
    cfg.k = (int)k;
    lgm_model *m = lgm_model_alloc(d, k);
    lgm_result res;
    ck_assert_int_eq(lgm_fit(&cfg, n, x, s, NULL, m, lz_now(), NULL, NULL, &res, &err), LZ_OK);
    lgm_floor_note notes[6];
    size_t nn = 0;
    ck_assert_int_eq(lgm_floor_explain(m, s, notes, &nn, &err), LZ_OK);
    ck_assert_uint_eq(nn, 2);
    ck_assert_uint_eq(notes[0].i, 0);
    ck_assert_int_eq(notes[0].kind, LGM_FLOOR_HEYWOOD);
    ck_assert_uint_eq(notes[1].i, 3);
    ck_assert_int_eq(notes[1].kind, LGM_FLOOR_CONSTANT);
    ck_assert_int_eq(notes[1].on_floor, 1);
    /* now column 5 a copy of column 2 (k = 2: the factors can explain both) */
    for (size_t t = 0; t < n; t++) x[t * d + 5] = x[t * d + 2];
    for (size_t t = 0; t < n; t++) x[t * d + 0] += gsl_ran_gaussian(r, 0.5);
    ck_assert_int_eq(lz_covariance(n, d, x, NULL, s, &err), LZ_OK);
    cfg.k = 2;
    lgm_model *m2 = lgm_model_alloc(d, 2);
    ck_assert_int_eq(lgm_fit(&cfg, n, x, s, NULL, m2, lz_now(), NULL, NULL, &res, &err), LZ_OK);
    ck_assert_int_eq(lgm_floor_explain(m2, s, notes, &nn, &err), LZ_OK);
    int seen2 = 0, seen5 = 0;
    for (size_t q = 0; q < nn; q++) {
        if (notes[q].i == 2) {
            seen2 = 1;
            ck_assert_int_eq(notes[q].kind, LGM_FLOOR_DEPENDENT);
            ck_assert_uint_eq(notes[q].n_partner, 1);
            ck_assert_uint_eq(notes[q].partner[0], 5);
        }
        if (notes[q].i == 5) {
            seen5 = 1;
            ck_assert_int_eq(notes[q].kind, LGM_FLOOR_DEPENDENT);
            ck_assert_uint_eq(notes[q].partner[0], 2);
        }
        if (notes[q].i == 3) ck_assert_int_eq(notes[q].kind, LGM_FLOOR_CONSTANT);
    }
    ck_assert(seen2 && seen5);
    /* a Heywood case with a floor at rounding level: SQUAREM's extrapolation
     * lands on the floor, where the posterior is ill-conditioned; ll/N still
     * never falls, and the fit ends where plain EM goes */
    for (size_t t = 0; t < n; t++) x[t * d + 0] = x[t * d + 1] + x[t * d + 4];
    ck_assert_int_eq(lz_covariance(n, d, x, NULL, s, &err), LZ_OK);
    cfg.dmin = LGM_DMIN_MIN;
    trace_rec tr = {{0}, 0};
    lgm_result res2;
    ck_assert_int_eq(lgm_fit(&cfg, n, x, s, NULL, m2, lz_now(), record, &tr, &res2, &err), LZ_OK);
    /* ll/N at the floor is known to ~eps/dmin a floored coordinate */
    double tol = (double)d * 4 * EPS / cfg.dmin;
    for (int t = 1; t < tr.n; t++)
        ck_assert_msg(tr.ll[t] >= tr.ll[t - 1] - tol, "iteration %d: ll fell from %.17g to %.17g",
                      t, tr.ll[t - 1], tr.ll[t]);
    free(x);
    free(mu);
    free(s);
    lgm_model_free(m);
    lgm_model_free(m2);
    gsl_rng_free(r);
}
END_TEST

/* ------------------------------------------------------------------ */
/* smc init: psi_i = min(1, (1 - k/2p)(1 - R2_i)) with R2_i the squared
 * multiple correlation of coordinate i on the other varying ones, by least
 * squares on the correlation matrix (not by inverting it); A A^T = C^1/2
 * Psi^1/2 V (Theta - I) V^T Psi^1/2 C^1/2 from all eigenpairs of
 * Psi^-1/2 R Psi^-1/2; a constant coordinate: D on its floor, A's row 0 */

START_TEST(smc_init_matches_regression)
{
    size_t d = 12, k = 3, n = 500, p = d - 1; /* column 0 constant */
    gsl_rng *r = lz_rng_alloc(17);
    lz_error err;
    double *x = lz_test_dalloc(n * d), *s = lz_test_dalloc(d * d);
    monotone_problem(r, d, 3, n, 1, x, s);
    lgm_config cfg;
    lgm_config_default(&cfg);
    cfg.k = (int)k;
    cfg.init = LGM_INIT_SMC;
    lgm_model *m = lgm_model_alloc(d, k);
    lgm_work *w = lgm_work_alloc(d, k, 0);
    ck_assert_int_eq(lgm_init(&cfg, s, NULL, m, w, &err), LZ_OK);
    double *g = lz_test_dalloc(p * p), *b = lz_test_dalloc(p), *psi = lz_test_dalloc(d);
    psi[0] = 1.0;
    for (size_t i = 1; i < d; i++) {
        /* R_{-i,-i} beta = R_{-i,i}, R2 = R_{i,-i} beta, over the coordinates 1..d-1 but i */
        size_t q = 0;
        for (size_t a = 1; a < d; a++) {
            if (a == i) continue;
            size_t t = 0;
            for (size_t c = 1; c < d; c++) {
                if (c == i) continue;
                g[q * (p - 1) + t++] = s[a * d + c] / sqrt(s[a * d + a] * s[c * d + c]);
            }
            b[q++] = s[a * d + i] / sqrt(s[a * d + a] * s[i * d + i]);
        }
        double *b0 = lz_test_dalloc(p - 1);
        memcpy(b0, b, (p - 1) * sizeof *b0);
        ck_assert_int_eq(lz_solve(p - 1, g, 1, b, &err), LZ_OK);
        double r2 = 0;
        for (size_t q2 = 0; q2 < p - 1; q2++) r2 += b0[q2] * b[q2];
        free(b0);
        psi[i] = fmin(1.0, (1.0 - 0.5 * (double)k / (double)p) * (1.0 - r2));
        double want = fmax(psi[i] * s[i * d + i], m->floor[i]);
        ck_assert_msg(fabs(m->dg[i] - want) <= 1e-10 * want, "D_%zu = %.17g, expected %.17g", i,
                      m->dg[i], want);
    }
    ck_assert_double_eq(m->dg[0], m->floor[0]);
    for (size_t c = 0; c < k; c++) ck_assert_double_eq(m->a[c], 0.0);
    /* all eigenpairs of Psi^-1/2 R Psi^-1/2 (row and column 0 zero) */
    double *v = lz_test_dalloc(d * d), *lam = lz_test_dalloc(d), *aat = lz_test_dalloc(d * d);
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j < d; j++)
            v[i * d + j] =
                i && j ? s[i * d + j] / sqrt(s[i * d + i] * s[j * d + j]) / sqrt(psi[i] * psi[j])
                       : 0.0;
    ck_assert_int_eq(lz_eigh(d, v, lam, v, &err), LZ_OK);
    model_aat(m, aat);
    for (size_t i = 1; i < d; i++)
        for (size_t j = 1; j < d; j++) {
            double ref = 0;
            for (size_t c = 0; c < k; c++)
                ref += v[i * d + c] * fmax(lam[c] - 1.0, 1e-3) * v[j * d + c];
            double unit = sqrt(s[i * d + i] * s[j * d + j] * psi[i] * psi[j]);
            ck_assert_msg(fabs(aat[i * d + j] - ref * unit) <= 1e-10 * lam[0] * unit,
                          "AA^T(%zu,%zu) = %.17g, expected %.17g", i, j, aat[i * d + j],
                          ref * unit);
        }
    free(x);
    free(s);
    free(g);
    free(b);
    free(psi);
    free(v);
    free(lam);
    free(aat);
    lgm_model_free(m);
    lgm_work_free(w);
    gsl_rng_free(r);
}
END_TEST

/* ------------------------------------------------------------------ */
/* --init best: the fit goes on from the start whose 10 plain EM iterations
 * (lgm_em_step from lgm_init, run here) end higher, the ll/N it reports are
 * theirs, and the model it starts its loop from is that start after them;
 * over the problems both starts win somewhere */

START_TEST(best_start_takes_the_higher_short_run)
{
    /* d, k_true, k_fit, n, heywood columns, seed */
    static const size_t probs[][6] = {
        {8, 2, 2, 300, 0, 1},   {15, 3, 5, 100, 0, 2}, {20, 4, 2, 1000, 1, 3},
        {12, 3, 3, 40, 0, 4},   {30, 6, 6, 40, 0, 5},  {10, 2, 4, 60, 0, 6},
        {16, 1, 3, 30, 0, 7},   {9, 3, 2, 200, 1, 8},  {40, 3, 3, 25, 0, 9},
        {25, 2, 2, 15, 0, 10},  {60, 5, 4, 30, 0, 11}, {20, 3, 2, 300, 2, 12},
        {30, 2, 1, 500, 2, 13}, {16, 4, 4, 200, 2, 14}};
    int won[2] = {0, 0};
    lz_error err;
    for (size_t pr = 0; pr < sizeof probs / sizeof probs[0]; pr++) {
        size_t d = probs[pr][0], k = probs[pr][2], n = probs[pr][3];
        gsl_rng *r = lz_rng_alloc(100 + probs[pr][5]);
        double *x = lz_test_dalloc(n * d), *s = lz_test_dalloc(d * d);
        monotone_problem(r, d, probs[pr][1], n, (int)probs[pr][4] == 1, x, s);
        if (probs[pr][4] == 2) {
            /* the second half of the columns: sums of two of the first half,
             * to 1e-4 of noise; the squared multiple correlations are then
             * ~1 where the factors explain little */
            for (size_t t = 0; t < n; t++)
                for (size_t i = d / 2; i < d; i++)
                    x[t * d + i] = x[t * d + i - d / 2] + x[t * d + (i + 1 - d / 2) % (d / 2)] +
                                   1e-4 * gsl_ran_gaussian(r, 1.0);
            double *mu = lz_test_dalloc(d);
            lz_mean(n, d, x, mu);
            lz_center(n, d, x, mu);
            ck_assert_int_eq(lz_covariance(n, d, x, NULL, s, &err), LZ_OK);
            free(mu);
        }
        lgm_config cfg;
        lgm_config_default(&cfg);
        cfg.k = (int)k;
        ck_assert_int_eq(cfg.init, LGM_INIT_BEST);
        /* the two short runs, by hand */
        lgm_model *h[2] = {lgm_model_alloc(d, k), lgm_model_alloc(d, k)};
        lgm_work *w = lgm_work_alloc(d, k, 0);
        double llh[2];
        for (int q = 0; q < 2; q++) {
            lgm_config c1 = cfg;
            c1.init = q ? LGM_INIT_SMC : LGM_INIT_PCA;
            ck_assert_int_eq(lgm_init(&c1, s, NULL, h[q], w, &err), LZ_OK);
            for (int t = 0; t < LGM_BEST_ITERS; t++)
                ck_assert_int_eq(lgm_em_step(h[q], w, s, &llh[q], &err), LZ_OK);
        }
        /* max_iter 0: the loop stops at its first E-step, at the start */
        cfg.max_iter = 0;
        lgm_model *m = lgm_model_alloc(d, k);
        lgm_result res;
        ck_assert_int_eq(lgm_fit(&cfg, n, x, s, NULL, m, lz_now(), NULL, NULL, &res, &err), LZ_OK);
        int want = llh[1] > llh[0];
        for (int q = 0; q < 2; q++)
            ck_assert_msg(fabs(res.init_ll[q] - llh[q]) <= 1e-12 * fabs(llh[q]),
                          "problem %zu: short run %d: %.17g, by hand %.17g", pr, q, res.init_ll[q],
                          llh[q]);
        ck_assert_int_eq(res.init, want ? LGM_INIT_SMC : LGM_INIT_PCA);
        for (size_t i = 0; i < d * k; i++)
            ck_assert(fabs(m->a[i] - h[want]->a[i]) <= 1e-10 * (fabs(h[want]->a[i]) + 1e-3));
        for (size_t i = 0; i < d; i++)
            ck_assert(fabs(m->dg[i] - h[want]->dg[i]) <= 1e-10 * h[want]->dg[i]);
        ck_assert_int_eq(res.e_steps, 2 * LGM_BEST_ITERS + 1);
        won[want]++;
        free(x);
        free(s);
        lgm_model_free(h[0]);
        lgm_model_free(h[1]);
        lgm_model_free(m);
        lgm_work_free(w);
        gsl_rng_free(r);
    }
    printf("best start: pca won %d problems, smc %d\n", won[0], won[1]);
    ck_assert_msg(won[0] > 0 && won[1] > 0, "pca won %d, smc %d: expected both", won[0], won[1]);
}
END_TEST

/* ------------------------------------------------------------------ */
/* The step to the floor: x_0 is the factor itself (no noise), so the
 * maximum likelihood drives D_0 to 0, a Heywood case, and EM creeps.  The
 * default fit ends with D_0 on its floor, at an ll/N no lower than up to
 * 200000 plain EM iterations without the step reach, and above where the same
 * rule stops without it; its trace never falls. */

static void heywood_problem(gsl_rng *r, size_t d, size_t n, double *x, double *s)
{
    for (size_t t = 0; t < n; t++) {
        double z = gsl_ran_gaussian(r, 1.0);
        x[t * d] = 2.0 * z;
        for (size_t i = 1; i < d; i++)
            x[t * d + i] = (0.3 + 0.2 * (double)i) * z + gsl_ran_gaussian(r, 1.0);
    }
    double *mu = lz_test_dalloc(d);
    lz_mean(n, d, x, mu);
    lz_center(n, d, x, mu);
    lz_error err;
    ck_assert_int_eq(lz_covariance(n, d, x, NULL, s, &err), LZ_OK);
    free(mu);
}

typedef struct {
    double prev;
    int fell;
} fall_rec;

static int watch_fall(const lgm_iter_info *it, void *ud)
{
    fall_rec *f = ud;
    if (it->iter > 0 && it->ll_train < f->prev) f->fell = 1;
    f->prev = it->ll_train;
    return 0;
}

START_TEST(floor_step_reaches_the_constrained_maximum)
{
    size_t d = 5, k = 1, n = 400;
    gsl_rng *r = lz_rng_alloc(18);
    lz_error err;
    double *x = lz_test_dalloc(n * d), *s = lz_test_dalloc(d * d);
    heywood_problem(r, d, n, x, s);
    lgm_config cfg;
    lgm_config_default(&cfg);
    cfg.k = (int)k;
    lgm_model *m = lgm_model_alloc(d, k), *plain = lgm_model_alloc(d, k),
              *slow = lgm_model_alloc(d, k);
    lgm_result res, rp, rs;
    fall_rec f = {0, 0};
    ck_assert_int_eq(lgm_fit(&cfg, n, x, s, NULL, m, lz_now(), watch_fall, &f, &res, &err), LZ_OK);
    ck_assert(!f.fell);
    ck_assert_int_ge(res.floor_steps, 1);
    ck_assert_double_eq(m->dg[0], m->floor[0]);
    /* without the step: the same rule, and 200000 plain EM iterations */
    lgm_config c1 = cfg;
    c1.floor_step = 0;
    ck_assert_int_eq(lgm_fit(&c1, n, x, s, NULL, slow, lz_now(), NULL, NULL, &rs, &err), LZ_OK);
    c1.accelerate = 0;
    c1.tol = 0; /* stops only where rounding makes ll/N fall */
    c1.max_iter = 200000;
    ck_assert_int_eq(lgm_fit(&c1, n, x, s, NULL, plain, lz_now(), NULL, NULL, &rp, &err), LZ_OK);
    printf("Heywood case: ll/N %.12f with the step (%d iterations), %.12f without (%d), "
           "%.12f after %d plain EM iterations; D_0 / S_00 %.3g, %.3g, %.3g\n",
           res.ll_train, res.iterations, rs.ll_train, rs.iterations, rp.ll_train, rp.iterations,
           m->dg[0] / s[0], slow->dg[0] / s[0], plain->dg[0] / s[0]);
    ck_assert(res.ll_train >= rp.ll_train - 1e-10);
    ck_assert(res.ll_train > rs.ll_train + 1e-7);
    free(x);
    free(s);
    lgm_model_free(m);
    lgm_model_free(plain);
    lgm_model_free(slow);
    gsl_rng_free(r);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("lgm");
    TCase *t = tcase_create("all");
    tcase_add_test(t, posterior_woodbury_equals_lecture_form);
    tcase_add_test(t, loglik_woodbury_equals_direct_cholesky);
    tcase_add_test(t, mstep_equals_per_sample_lecture_formulas);
    tcase_add_test(t, em_never_decreases_ll);
    tcase_add_test(t, constant_column_hits_the_floor);
    tcase_add_test(t, pca_init_matches_full_eigendecomposition);
    tcase_add_test(t, smc_init_matches_regression);
    tcase_add_test(t, best_start_takes_the_higher_short_run);
    tcase_add_test(t, floor_step_reaches_the_constrained_maximum);
    tcase_add_test(t, recovers_known_model);
    tcase_add_test(t, sampled_mstep_tends_to_exact_mstep);
    tcase_add_test(t, sampled_completion_ends_within_1pct_of_exact);
    tcase_add_test(t, samples_have_the_model_covariance);
    tcase_add_test(t, fit_is_scale_equivariant);
    tcase_add_test(t, floor_explained);
    suite_add_tcase(s, t);
    return s;
}

int main(void) { return lz_check_main(suite()); }
