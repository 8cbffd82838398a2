/* test_lgm_missing.c -- unit tests of the linear Gaussian model on data with
 * missing entries (models/lgm/lgm_missing.c; docs/lgm.md, "Missing
 * entries") against independent truth: a direct |o| x |o| Cholesky
 * log-density of every row's observed part, the conditional Gaussian of the
 * missing part by an LU solve, the monotonicity of exact EM, the complete-
 * data path, recovery of a known model, an oracle's imputation error,
 * scale equivariance and independence of the thread count.
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
#include "lz_data.h"
#include "lz_linalg.h"
#include "lz_prob.h"
#include "lz_time.h"
#include "lz_check.h"
#include "lz_check_data.h"
#include "lgm_check.h"

#define EPS DBL_EPSILON

/* x (n, d) <- draws of x = mu + A z + D^1/2 e (written here, not lgm_sample) */
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

static void random_params(gsl_rng *r, lgm_model *m, double dlo, double dhi, double mu_sd)
{
    lz_rng_gauss(r, m->d * m->k, m->a);
    for (size_t i = 0; i < m->d; i++) {
        m->dg[i] = dlo + (dhi - dlo) * gsl_rng_uniform(r);
        m->mu[i] = mu_sd * gsl_ran_gaussian(r, 1.0);
    }
}

/* C (d, d) <- A A^T + D */
static void model_cov(const lgm_model *m, double *c)
{
    size_t d = m->d, k = m->k;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)d, (int)d, (int)k, 1.0, m->a, (int)k,
                m->a, (int)k, 0.0, c, (int)d);
    for (size_t i = 0; i < d; i++) c[i * d + i] += m->dg[i];
}

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

/* The data set of raw rows x (n, d) with mask miss, prepared as lgm_em
 * prepares it (observed means into m->mu, centred, 0 where missing, s the
 * rescaled second moment), and its patterns. */
static lz_data *prepared(size_t n, size_t d, const double *x, const unsigned char *miss,
                         lgm_model *m, double *s, lgm_incomplete **in)
{
    lz_error err;
    lz_data *dt = lz_test_data(n, d, x, miss);
    ck_assert_int_eq(lgm_prepare(m, 1, dt, NULL, s, NULL, &err), LZ_OK);
    ck_assert_int_eq(lgm_incomplete_alloc(dt, m->mu, in, &err), LZ_OK);
    return dt;
}

/* ------------------------------------------------------------------ */
/* the observed-data log-likelihood, the posterior means and E[x_m | x_o]
 * against a direct evaluation row by row */

START_TEST(observed_ll_equals_direct_cholesky)
{
    /* d, k, missing fraction, D low, D high: the last has
     * tr(A^T D^-1 A) ~ 1e6, so M_o is formed directly, not by a downdate */
    static const double probs[][5] = {{6, 2, 0.3, 0.1, 1.0},
                                      {20, 4, 0.1, 0.05, 2.0},
                                      {12, 3, 0.7, 0.2, 0.5},
                                      {30, 2, 0.5, 1e-5, 1e-4},
                                      {25, 3, 0.05, 1e-5, 1e-4}};
    gsl_rng *r = lz_rng_alloc(31);
    lz_error err;
    for (size_t p = 0; p < sizeof probs / sizeof probs[0]; p++) {
        size_t d = (size_t)probs[p][0], k = (size_t)probs[p][1], n = 150;
        lgm_model *m = lgm_model_alloc(d, k);
        random_params(r, m, probs[p][3], probs[p][4], 3.0);
        /* data not drawn from the model; rows 0..9 share one pattern, rows
         * 10..14 are complete */
        double *x = lz_test_dalloc(n * d), *ctr = lz_test_dalloc(d), *xc = lz_test_dalloc(n * d);
        unsigned char *miss = calloc(n * d, 1);
        for (size_t i = 0; i < n * d; i++) x[i] = 1.0 + 2.0 * gsl_ran_gaussian(r, 1.0);
        lz_test_mcar(r, n, d, probs[p][2], miss);
        for (size_t t = 1; t < 10; t++) memcpy(miss + t * d, miss, d);
        memset(miss + 10 * d, 0, 5 * d);
        /* the working form: centred by an arbitrary centre, 0 where missing */
        for (size_t i = 0; i < d; i++) ctr[i] = gsl_ran_gaussian(r, 1.0);
        for (size_t t = 0; t < n; t++)
            for (size_t i = 0; i < d; i++)
                xc[t * d + i] = miss[t * d + i] ? 0.0 : x[t * d + i] - ctr[i];
        lz_data *dt = lz_test_data(n, d, xc, miss);
        lgm_incomplete *in = NULL;
        ck_assert_int_eq(lgm_incomplete_alloc(dt, ctr, &in, &err), LZ_OK);
        ck_assert_uint_le(in->pt->n_pat, n - 13); /* 10 rows one pattern, 5 complete ones another */
        double *logp = lz_test_dalloc(n), *z = lz_test_dalloc(n * k), *xf = lz_test_dalloc(n * d),
               ll;
        memcpy(xf, x, n * d * sizeof *xf);
        ck_assert_int_eq(lgm_score_incomplete(m, in, &ll, z, logp, xf, &err), LZ_OK);
        double *c = lz_test_dalloc(d * d), *co = lz_test_dalloc(d * d), *xo = lz_test_dalloc(d),
               *mo = lz_test_dalloc(d), *rhs = lz_test_dalloc(d * (k + 1)), sum = 0;
        model_cov(m, c);
        for (size_t t = 0; t < n; t++) {
            size_t o[64], no = 0;
            for (size_t i = 0; i < d; i++)
                if (!miss[t * d + i]) o[no++] = i;
            /* C_oo, x_o, mu_o; log N(x_o; mu_o, C_oo) by lz_mvn_logpdf (a
             * direct Cholesky) */
            for (size_t a = 0; a < no; a++) {
                xo[a] = x[t * d + o[a]];
                mo[a] = m->mu[o[a]];
                for (size_t b = 0; b < no; b++) co[a * no + b] = c[o[a] * d + o[b]];
            }
            double lref, kappa = spd_cond(no, co);
            ck_assert_int_eq(lz_mvn_logpdf(1, no, xo, mo, co, &lref, &err), LZ_OK);
            double tol = 10.0 * (double)d * kappa * EPS * fmax(1.0, fabs(lref));
            ck_assert_msg(fabs(logp[t] - lref) <= tol,
                          "problem %zu row %zu (%zu observed): log p %.17g, direct %.17g", p, t, no,
                          logp[t], lref);
            sum += logp[t];
            /* E[z | x_o] = A_o^T C_oo^-1 (x_o - mu_o) and E[x_m | x_o] =
             * mu_m + C_mo C_oo^-1 (x_o - mu_o): one LU solve */
            for (size_t a = 0; a < no; a++) {
                for (size_t q = 0; q < k; q++) rhs[a * (k + 1) + q] = m->a[o[a] * k + q];
                rhs[a * (k + 1) + k] = xo[a] - mo[a];
            }
            ck_assert_int_eq(lz_solve(no, co, k + 1, rhs, &err), LZ_OK); /* co destroyed */
            for (size_t q = 0; q < k; q++) {
                double e = 0, sc = 0;
                for (size_t a = 0; a < no; a++) {
                    e += m->a[o[a] * k + q] * rhs[a * (k + 1) + k];
                    sc += fabs(m->a[o[a] * k + q] * rhs[a * (k + 1) + k]);
                }
                ck_assert_msg(fabs(z[t * k + q] - e) <=
                                  10.0 * (double)d * kappa * EPS * fmax(sc, 1.0),
                              "problem %zu row %zu: E[z_%zu | x_o] %.17g, direct %.17g", p, t, q,
                              z[t * k + q], e);
            }
            for (size_t i = 0, b = 0; i < d; i++) {
                if (b < no && o[b] == i) {
                    b++;
                    ck_assert(xf[t * d + i] == x[t * d + i]); /* observed: untouched */
                    continue;
                }
                double e = m->mu[i], sc = fabs(m->mu[i]);
                for (size_t a = 0; a < no; a++) {
                    e += c[i * d + o[a]] * rhs[a * (k + 1) + k];
                    sc += fabs(c[i * d + o[a]] * rhs[a * (k + 1) + k]);
                }
                ck_assert_msg(fabs(xf[t * d + i] - e) <=
                                  10.0 * (double)d * kappa * EPS * fmax(sc, 1.0),
                              "problem %zu row %zu: E[x_%zu | x_o] %.17g, direct %.17g", p, t, i,
                              xf[t * d + i], e);
            }
        }
        /* the mean is the mean of the rows' (each checked above) */
        ck_assert_msg(fabs(ll - sum / (double)n) <= 1e-13 * fabs(ll), "mean ll %.17g vs %.17g", ll,
                      sum / (double)n);
        free(x);
        free(ctr);
        free(xc);
        free(miss);
        free(logp);
        free(z);
        free(xf);
        free(c);
        free(co);
        free(xo);
        free(mo);
        free(rhs);
        lgm_incomplete_free(in);
        lz_data_free(dt);
        lgm_model_free(m);
    }
    gsl_rng_free(r);
}
END_TEST

/* ------------------------------------------------------------------ */
/* EM */

typedef struct {
    double ll[400];
    int n;
} trace_rec;

static int record(const lgm_iter_info *it, void *ud)
{
    trace_rec *tr = ud;
    if (tr->n < 400) tr->ll[tr->n++] = it->ll_train;
    return 0;
}

/* Exact EM never lowers the observed-data ll, with 0 %, 10 % and 60 % of
 * the entries missing completely at random; at 0 % the program's path is
 * lgm_fit's (the same bits), and the pattern path forced onto complete data
 * (a mask of zeros) gives the same numbers to rounding. */
START_TEST(em_never_decreases_with_missing)
{
    size_t d = 10, kt = 2, k = 3, n = 800;
    gsl_rng *r = lz_rng_alloc(32);
    lz_error err;
    lgm_model *truth = lgm_model_alloc(d, kt);
    random_params(r, truth, 0.2, 1.0, 2.0);
    double *x = lz_test_dalloc(n * d), *s = lz_test_dalloc(d * d), *s0 = lz_test_dalloc(d * d);
    draw_lgm(r, truth, n, x);
    unsigned char *miss = calloc(n * d, 1);
    lgm_config cfg;
    lgm_config_default(&cfg);
    cfg.k = (int)k;
    cfg.tol = 0;
    cfg.max_iter = 150;

    /* 0 %: lgm_fit_incomplete on complete data is lgm_fit, bit for bit */
    lgm_model *m0 = lgm_model_alloc(d, k), *m1 = lgm_model_alloc(d, k), *m2 = lgm_model_alloc(d, k);
    lgm_incomplete *in = NULL;
    lz_data *dt = prepared(n, d, x, NULL, m0, s0, &in);
    lgm_model_copy(m1, m0);
    trace_rec t0 = {.n = 0}, t1 = {.n = 0}, t2 = {.n = 0};
    lgm_result res;
    cfg.accelerate = 0;
    ck_assert_int_eq(lgm_fit(&cfg, n, dt->x, s0, NULL, m0, lz_now(), record, &t0, &res, &err),
                     LZ_OK);
    ck_assert_int_eq(lgm_fit_incomplete(&cfg, in, s0, NULL, m1, lz_now(), record, &t1, &res, &err),
                     LZ_OK);
    ck_assert_int_eq(t0.n, t1.n);
    for (int t = 0; t < t0.n; t++) ck_assert(t0.ll[t] == t1.ll[t]);
    ck_assert(!memcmp(m0->block, m1->block, (3 * d + d * k) * sizeof *m0->block));
    lgm_incomplete_free(in);
    lz_data_free(dt);
    /* ... and the pattern path on complete data gives today's numbers */
    lz_data *dz = prepared(n, d, x, miss, m2, s, &in);
    ck_assert_int_eq(lgm_fit_incomplete(&cfg, in, s, NULL, m2, lz_now(), record, &t2, &res, &err),
                     LZ_OK);
    ck_assert_int_eq(t0.n, t2.n);
    for (int t = 0; t < t0.n; t++)
        ck_assert_msg(fabs(t2.ll[t] - t0.ll[t]) <= 1e-12 * fabs(t0.ll[t]),
                      "iteration %d: pattern path %.17g, complete path %.17g", t, t2.ll[t],
                      t0.ll[t]);
    lgm_incomplete_free(in);
    lz_data_free(dz);

    /* 10 % and 60 %: every line rises, plain EM and SQUAREM; the final ll
     * is that of the returned parameters (a direct evaluation) */
    static const double frac[2] = {0.1, 0.6};
    for (int f = 0; f < 2; f++) {
        lz_test_mcar(r, n, d, frac[f], miss);
        for (int acc = 0; acc <= 1; acc++) {
            lgm_model *m = lgm_model_alloc(d, k);
            lz_data *dm = prepared(n, d, x, miss, m, s, &in);
            trace_rec tr = {.n = 0};
            cfg.accelerate = acc;
            ck_assert_int_eq(
                lgm_fit_incomplete(&cfg, in, s, NULL, m, lz_now(), record, &tr, &res, &err), LZ_OK);
            ck_assert_int_ge(tr.n, 2);
            for (int t = 1; t < tr.n; t++)
                ck_assert_msg(tr.ll[t] >= tr.ll[t - 1] - 1e-12 * fabs(tr.ll[t - 1]),
                              "%g %% missing, accel %d, iteration %d: ll fell from %.17g to %.17g",
                              100 * frac[f], acc, t, tr.ll[t - 1], tr.ll[t]);
            /* the trace rose by a visible amount: EM did something */
            ck_assert(tr.ll[tr.n - 1] > tr.ll[0] + 1e-3);
            double *c = lz_test_dalloc(d * d), *co = lz_test_dalloc(d * d), *xo = lz_test_dalloc(d),
                   *mo = lz_test_dalloc(d), sum = 0;
            model_cov(m, c);
            for (size_t t = 0; t < n; t++) {
                size_t no = 0, o[16];
                for (size_t i = 0; i < d; i++)
                    if (!miss[t * d + i]) o[no++] = i;
                for (size_t a = 0; a < no; a++) {
                    xo[a] = x[t * d + o[a]];
                    mo[a] = m->mu[o[a]];
                    for (size_t b = 0; b < no; b++) co[a * no + b] = c[o[a] * d + o[b]];
                }
                double l;
                ck_assert_int_eq(lz_mvn_logpdf(1, no, xo, mo, co, &l, &err), LZ_OK);
                sum += l;
            }
            ck_assert_msg(fabs(res.ll_train - sum / (double)n) <= 1e-10 * fabs(res.ll_train),
                          "final ll %.17g, direct %.17g", res.ll_train, sum / (double)n);
            for (size_t i = 0; i < d; i++) ck_assert(m->dg[i] >= m->floor[i]);
            free(c);
            free(co);
            free(xo);
            free(mo);
            lgm_incomplete_free(in);
            lz_data_free(dm);
            lgm_model_free(m);
        }
    }
    free(x);
    free(s);
    free(s0);
    free(miss);
    lgm_model_free(truth);
    lgm_model_free(m0);
    lgm_model_free(m1);
    lgm_model_free(m2);
    gsl_rng_free(r);
}
END_TEST

/* d = 10, k = 2, N = 20000 draws of a known LGM with 20 % of the entries
 * missing completely at random */
START_TEST(recovers_known_model_with_missing)
{
    size_t d = 10, k = 2, n = 20000;
    double pm = 0.2;
    gsl_rng *r = lz_rng_alloc(33);
    lz_error err;
    lgm_model *truth = lgm_model_alloc(d, k), *m = lgm_model_alloc(d, k);
    random_params(r, truth, 0.2, 1.0, 5.0);
    double *x = lz_test_dalloc(n * d), *s = lz_test_dalloc(d * d), *c = lz_test_dalloc(d * d);
    unsigned char *miss = calloc(n * d, 1);
    draw_lgm(r, truth, n, x);
    lz_test_mcar(r, n, d, pm, miss);
    lgm_incomplete *in = NULL;
    lz_data *dt = prepared(n, d, x, miss, m, s, &in);
    /* mean imputation's centre: the observed means (lgm_prepare) */
    double *obs_mean = lz_test_dalloc(d);
    memcpy(obs_mean, m->mu, d * sizeof *obs_mean);
    lgm_config cfg;
    lgm_config_default(&cfg);
    cfg.k = (int)k;
    cfg.tol = 1e-12;
    lgm_result res;
    ck_assert_int_eq(lgm_fit_incomplete(&cfg, in, s, NULL, m, lz_now(), NULL, NULL, &res, &err),
                     LZ_OK);
    ck_assert(res.converged);
    /* A A^T and D: as on complete data (test_lgm, recovers_known_model), the
     * error of an entry is of the order of a sample covariance's standard
     * error, se_ij = sqrt((C_ii C_jj + C_ij^2) / N_ij), where N_ij is now
     * the number of rows observing both i and j: (1 - 0.2)^2 N = 0.64 N for
     * i != j, 0.8 N for i = j (the rows that miss i or j carry some
     * information through the other coordinates, so this is conservative).
     * 5 se, as there. */
    model_cov(truth, c);
    double worst = 0;
    for (size_t i = 0; i < d; i++) {
        for (size_t j = 0; j < d; j++) {
            double v = 0, vt = 0;
            for (size_t a = 0; a < k; a++) {
                v += m->a[i * k + a] * m->a[j * k + a];
                vt += truth->a[i * k + a] * truth->a[j * k + a];
            }
            double nij = (i == j ? 1 - pm : (1 - pm) * (1 - pm)) * (double)n;
            double se = sqrt((c[i * d + i] * c[j * d + j] + c[i * d + j] * c[i * d + j]) / nij);
            double e = fabs(v - vt) / se;
            worst = fmax(worst, e);
            ck_assert_msg(e <= 5.0, "(AA^T)_%zu%zu = %g, true %g: %.1f se", i, j, v, vt, e);
        }
        double se = sqrt(2.0 / ((1 - pm) * (double)n)) * c[i * d + i];
        double e = fabs(m->dg[i] - truth->dg[i]) / se;
        ck_assert_msg(e <= 5.0, "D_%zu = %g, true %g: %.1f se", i, m->dg[i], truth->dg[i], e);
        ck_assert(fabs(m->mu[i] - truth->mu[i]) <=
                  5.0 * sqrt(c[i * d + i] / ((1 - pm) * (double)n)));
    }
    /* Imputation of the hidden entries.  The oracle's error: under the true
     * model each hidden x_i has error variance Var(x_i | x_o) = (A Sigma_o
     * A^T + D)_ii, so the expected mean squared error of E[x_m | x_o] is
     * the mean of those over the hidden entries (~40000 of them: the
     * measured MSE has a relative standard error of sqrt(2/40000) = 0.7 %,
     * and the fitted parameters add O(d k / N) ~ 1e-3).  We require the
     * fitted model's MSE within 5 % of the oracle's, and below 0.5 times
     * the MSE of mean imputation (the observed column means), whose
     * expected value is C_ii; on this model the oracle's ratio is ~0.3. */
    double *xf = lz_test_dalloc(n * d);
    memcpy(xf, x, n * d * sizeof *xf);
    ck_assert_int_eq(lgm_score_incomplete(m, in, NULL, NULL, NULL, xf, &err), LZ_OK);
    lgm_incomplete *it = NULL;
    lz_data *dtrue = lz_test_data(n, d, x, miss); /* centred by the truth's mean */
    for (size_t t = 0; t < n; t++)
        for (size_t i = 0; i < d; i++)
            if (!miss[t * d + i]) dtrue->x[t * d + i] -= truth->mu[i];
    ck_assert_int_eq(lgm_incomplete_alloc(dtrue, truth->mu, &it, &err), LZ_OK);
    double *xo = lz_test_dalloc(n * d);
    memcpy(xo, x, n * d * sizeof *xo);
    ck_assert_int_eq(lgm_score_incomplete(truth, it, NULL, NULL, NULL, xo, &err), LZ_OK);
    /* the oracle's conditional variances: Var(x_m | x_o) = C_mm - C_mo C_oo^-1 C_om */
    double se_lgm = 0, se_mean = 0, se_oracle = 0, ev_oracle = 0;
    size_t nh = 0;
    double *co = lz_test_dalloc(d * d), *rhs = lz_test_dalloc(d * d);
    for (size_t t = 0; t < n; t++) {
        size_t o[10], mi[10], no = 0, nm = 0;
        for (size_t i = 0; i < d; i++)
            if (miss[t * d + i])
                mi[nm++] = i;
            else
                o[no++] = i;
        if (!nm) continue;
        for (size_t a = 0; a < no; a++) {
            for (size_t b = 0; b < no; b++) co[a * no + b] = c[o[a] * d + o[b]];
            for (size_t b = 0; b < nm; b++) rhs[a * nm + b] = c[o[a] * d + mi[b]];
        }
        ck_assert_int_eq(lz_solve(no, co, nm, rhs, &err), LZ_OK);
        for (size_t b = 0; b < nm; b++) {
            size_t i = mi[b];
            double v = c[i * d + i];
            for (size_t a = 0; a < no; a++) v -= c[i * d + o[a]] * rhs[a * nm + b];
            ev_oracle += v;
            double h = x[t * d + i];
            se_lgm += (xf[t * d + i] - h) * (xf[t * d + i] - h);
            se_oracle += (xo[t * d + i] - h) * (xo[t * d + i] - h);
            se_mean += (obs_mean[i] - h) * (obs_mean[i] - h);
            nh++;
        }
    }
    double mse = se_lgm / (double)nh, mse_mean = se_mean / (double)nh,
           mse_oracle = ev_oracle / (double)nh;
    printf("recovers_known_model_with_missing: worst AA^T entry %.2f se; imputation MSE %.4f "
           "(oracle's expected %.4f, oracle's measured %.4f), mean imputation %.4f (%zu hidden)\n",
           worst, mse, mse_oracle, se_oracle / (double)nh, mse_mean, nh);
    ck_assert_msg(fabs(mse / mse_oracle - 1.0) <= 0.05, "imputation MSE %g, oracle's %g", mse,
                  mse_oracle);
    ck_assert_msg(mse <= 0.5 * mse_mean, "imputation MSE %g, mean imputation's %g", mse, mse_mean);
    free(x);
    free(s);
    free(c);
    free(miss);
    free(obs_mean);
    free(xf);
    free(xo);
    free(co);
    free(rhs);
    lgm_incomplete_free(in);
    lgm_incomplete_free(it);
    lz_data_free(dt);
    lz_data_free(dtrue);
    lgm_model_free(truth);
    lgm_model_free(m);
    gsl_rng_free(r);
}
END_TEST

/* multiplying column i by c_i gives the same fit in the new units: A's row
 * and mu_i times c_i, D_i and the floor times c_i^2, and each row's ll
 * shifted by -sum over its observed i of log c_i */
START_TEST(fit_with_missing_is_scale_equivariant)
{
    size_t d = 8, k = 2, n = 1500;
    gsl_rng *r = lz_rng_alloc(34);
    lz_error err;
    lgm_model *truth = lgm_model_alloc(d, k);
    random_params(r, truth, 0.1, 1.0, 3.0);
    double *x = lz_test_dalloc(n * d), *xs = lz_test_dalloc(n * d), *s = lz_test_dalloc(d * d),
           *ss = lz_test_dalloc(d * d), *c = lz_test_dalloc(d);
    unsigned char *miss = calloc(n * d, 1);
    draw_lgm(r, truth, n, x);
    lz_test_mcar(r, n, d, 0.25, miss);
    double shift = 0;
    for (size_t i = 0; i < d; i++) c[i] = pow(10.0, -4.0 + 8.0 * gsl_rng_uniform(r));
    for (size_t t = 0; t < n; t++)
        for (size_t i = 0; i < d; i++) {
            xs[t * d + i] = c[i] * x[t * d + i];
            if (!miss[t * d + i]) shift -= log(c[i]) / (double)n;
        }
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
        cfg.samples = 2;
        cfg.max_iter = 40;
        cfg.tol = 0;
        lgm_model *m = lgm_model_alloc(d, k), *ms = lgm_model_alloc(d, k);
        lgm_incomplete *in = NULL, *ins = NULL;
        lz_data *dt = prepared(n, d, x, miss, m, s, &in),
                *dts = prepared(n, d, xs, miss, ms, ss, &ins);
        lgm_result res, ress;
        ck_assert_int_eq(lgm_fit_incomplete(&cfg, in, s, NULL, m, lz_now(), NULL, NULL, &res, &err),
                         LZ_OK);
        ck_assert_int_eq(
            lgm_fit_incomplete(&cfg, ins, ss, NULL, ms, lz_now(), NULL, NULL, &ress, &err), LZ_OK);
        lgm_check_same_in_units(m, ms, c, q);
        for (size_t i = 0; i < d; i++) {
            ck_assert_msg(fabs(ms->mu[i] / c[i] - m->mu[i]) <=
                              1e-7 * (fabs(m->mu[i]) + sqrt(m->dg[i])),
                          "run %zu: mu(%zu)", q, i);
        }
        ck_assert_msg(fabs(ress.ll_train - (res.ll_train + shift)) <= 1e-9 * fabs(res.ll_train),
                      "run %zu: ll %.17g, expected %.17g", q, ress.ll_train, res.ll_train + shift);
        lgm_incomplete_free(in);
        lgm_incomplete_free(ins);
        lz_data_free(dt);
        lz_data_free(dts);
        lgm_model_free(m);
        lgm_model_free(ms);
    }
    free(x);
    free(xs);
    free(s);
    free(ss);
    free(c);
    free(miss);
    lgm_model_free(truth);
    gsl_rng_free(r);
}
END_TEST

/* the E-step and M-step on 1 and 2 threads (each workspace made under its
 * count, which its E-steps use): chunks are fixed by the data and summed in
 * order, so only BLAS may round otherwise (to ~1e-15); a race or a sum in
 * the threads' order would differ by far more.  Two shapes: 6000 narrow
 * rows (chunks of 1024 rows) and 400 rows of 600 columns (chunks of 110
 * rows, whose pattern sums, over 8192 entries a chunk, are added in
 * parallel blocks); each makes several chunks of rows and of patterns. */
static const size_t thread_shapes[][3] = {{12, 3, 6000}, {600, 5, 400}}; /* d, k, n */

START_TEST(estep_independent_of_threads)
{
    size_t d = thread_shapes[_i][0], k = thread_shapes[_i][1], n = thread_shapes[_i][2];
    gsl_rng *r = lz_rng_alloc(35);
    lz_error err;
    lgm_model *truth = lgm_model_alloc(d, k);
    random_params(r, truth, 0.2, 1.0, 1.0);
    double *x = lz_test_dalloc(n * d), *s = lz_test_dalloc(d * d);
    unsigned char *miss = calloc(n * d, 1);
    draw_lgm(r, truth, n, x);
    lz_test_mcar(r, n, d, 0.3, miss);
    lgm_model *m = lgm_model_alloc(d, k), *m1 = lgm_model_alloc(d, k), *m2 = lgm_model_alloc(d, k);
    lgm_incomplete *in = NULL;
    lz_data *dt = prepared(n, d, x, miss, m, s, &in);
    lgm_config cfg;
    lgm_config_default(&cfg);
    cfg.k = (int)k;
    gsl_rng *ri = lz_rng_alloc(1);
    lgm_work *w = lgm_work_alloc(d, k, 0);
    ck_assert_int_eq(lgm_init(&cfg, s, ri, m, w, &err), LZ_OK);
    lgm_model_copy(m1, m);
    lgm_model_copy(m2, m);
    double *z1 = lz_test_dalloc(n * k), *z2 = lz_test_dalloc(n * k), *l1 = lz_test_dalloc(n),
           *l2 = lz_test_dalloc(n), ll1, ll2;
    int saved = lz_get_threads();
    lz_set_threads(1);
    lgm_mwork *mw1 = lgm_mwork_alloc(in, k);
    ck_assert_ptr_nonnull(mw1);
    ck_assert_int_eq(lgm_estep_incomplete(m1, in, mw1, 1, z1, l1, &ll1, &err), LZ_OK);
    ck_assert_int_eq(lgm_mstep_incomplete(m1, in, mw1, &err), LZ_OK);
    lz_set_threads(2);
    lgm_mwork *mw2 = lgm_mwork_alloc(in, k);
    ck_assert_ptr_nonnull(mw2);
    ck_assert_int_eq(lgm_estep_incomplete(m2, in, mw2, 1, z2, l2, &ll2, &err), LZ_OK);
    ck_assert_int_eq(lgm_mstep_incomplete(m2, in, mw2, &err), LZ_OK);
    lz_set_threads(saved);
    ck_assert_msg(fabs(ll1 - ll2) <= 1e-13 * fabs(ll1), "ll %.17g vs %.17g", ll1, ll2);
    for (size_t i = 0; i < n * k; i++) ck_assert(fabs(z1[i] - z2[i]) <= 1e-12 * (1 + fabs(z1[i])));
    for (size_t i = 0; i < n; i++) ck_assert(fabs(l1[i] - l2[i]) <= 1e-12 * fabs(l1[i]));
    for (size_t i = 0; i < 3 * d + d * k; i++)
        ck_assert(fabs(m1->block[i] - m2->block[i]) <= 1e-12 * (1 + fabs(m1->block[i])));
    /* and the step did move the parameters */
    ck_assert(memcmp(m->block, m1->block, (3 * d + d * k) * sizeof *m->block));
    free(x);
    free(s);
    free(miss);
    free(z1);
    free(z2);
    free(l1);
    free(l2);
    lgm_mwork_free(mw1);
    lgm_mwork_free(mw2);
    lgm_work_free(w);
    gsl_rng_free(ri);
    lgm_incomplete_free(in);
    lz_data_free(dt);
    lgm_model_free(truth);
    lgm_model_free(m);
    lgm_model_free(m1);
    lgm_model_free(m2);
    gsl_rng_free(r);
}
END_TEST

/* sampled completion (draws of z and of x_m) ends near exact EM's optimum:
 * with J = 20 draws its Monte-Carlo fluctuation of ll/N is ~1e-3 nats on
 * the digits; we allow 1 % of |ll| (a sampled step that ignored the
 * missing entries' variance, D_m, ends several % lower) */
START_TEST(sampled_completion_with_missing_ends_near_exact)
{
    size_t d = 10, k = 2, n = 2000;
    gsl_rng *r = lz_rng_alloc(36);
    lz_error err;
    lgm_model *truth = lgm_model_alloc(d, k);
    random_params(r, truth, 0.2, 1.0, 2.0);
    double *x = lz_test_dalloc(n * d), *s = lz_test_dalloc(d * d);
    unsigned char *miss = calloc(n * d, 1);
    draw_lgm(r, truth, n, x);
    lz_test_mcar(r, n, d, 0.3, miss);
    lgm_model *me = lgm_model_alloc(d, k), *ms = lgm_model_alloc(d, k);
    lgm_incomplete *in = NULL, *in2 = NULL;
    lz_data *dt = prepared(n, d, x, miss, me, s, &in), *dt2 = prepared(n, d, x, miss, ms, s, &in2);
    lgm_config cfg;
    lgm_config_default(&cfg);
    cfg.k = (int)k;
    lgm_result re, rs;
    ck_assert_int_eq(lgm_fit_incomplete(&cfg, in, s, NULL, me, lz_now(), NULL, NULL, &re, &err),
                     LZ_OK);
    cfg.completion = LGM_SAMPLED;
    cfg.samples = 20;
    cfg.max_iter = 200;
    ck_assert_int_eq(lgm_fit_incomplete(&cfg, in2, s, NULL, ms, lz_now(), NULL, NULL, &rs, &err),
                     LZ_OK);
    printf("sampled completion with missing entries: ll/N %.6f, exact %.6f\n", rs.ll_train,
           re.ll_train);
    ck_assert(rs.ll_train <= re.ll_train + 1e-9 * fabs(re.ll_train));
    ck_assert_msg(re.ll_train - rs.ll_train <= 0.01 * fabs(re.ll_train), "sampled %g, exact %g",
                  rs.ll_train, re.ll_train);
    free(x);
    free(s);
    free(miss);
    lgm_incomplete_free(in);
    lgm_incomplete_free(in2);
    lz_data_free(dt);
    lz_data_free(dt2);
    lgm_model_free(truth);
    lgm_model_free(me);
    lgm_model_free(ms);
    gsl_rng_free(r);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("lgm_missing");
    TCase *t = tcase_create("core");
    tcase_add_test(t, observed_ll_equals_direct_cholesky);
    tcase_add_test(t, em_never_decreases_with_missing);
    tcase_add_test(t, recovers_known_model_with_missing);
    tcase_add_test(t, fit_with_missing_is_scale_equivariant);
    tcase_add_loop_test(t, estep_independent_of_threads, 0,
                        (int)(sizeof thread_shapes / sizeof thread_shapes[0]));
    tcase_add_test(t, sampled_completion_with_missing_ends_near_exact);
    suite_add_tcase(s, t);
    return s;
}

int main(void) { return lz_check_main(suite()); }
