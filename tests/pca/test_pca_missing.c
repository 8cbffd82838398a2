/* test_pca_missing.c -- unit tests of PCA on data with missing values
 * (models/pca/pca_missing.c; docs/pca.md, "Missing values") against
 * independent truth: a direct Cholesky of each row's observed block of the
 * PPCA covariance (pca_ppca_cov, lz_mvn_logpdf), conditional means by LU
 * solves, the complete-data fit (pca_fit, whose answer is the maximum
 * likelihood PPCA), the recovery of a known PPCA and of its hidden entries,
 * and EM's invariant: the observed-data log-likelihood never decreases,
 * with plain EM steps and with SQUAREM (which must end at the same maximum,
 * in fewer E-steps).
 *
 * Dimension letters: n samples, d data dimension, k components. */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lz_blas.h"
#include <gsl/gsl_randist.h>

#include "lz_data.h"
#include "lz_linalg.h"
#include "lz_prob.h"
#include "pca.h"
#include "lz_check.h"
#include "lz_check_data.h"

#define EPS DBL_EPSILON

/* a data set as the reader makes it: 0 where missing */
static lz_data make_data(size_t n, size_t d, double *x, unsigned char *miss)
{
    lz_data dt = {.n = n, .d = d, .x = x, .miss = miss, .label_field = -1, .path = "mem"};
    for (size_t i = 0; miss && i < n * d; i++)
        if (miss[i]) {
            x[i] = 0.0;
            dt.n_miss++;
        }
    return dt;
}

/* x (n, d) <- mu + Z B + noise * e: rank-k data (B (k, d) random) plus noise */
static void low_rank(gsl_rng *r, size_t n, size_t d, size_t k, double noise, double *x)
{
    double *b = lz_test_dalloc(k * d), *z = lz_test_dalloc(n * k);
    lz_rng_gauss(r, k * d, b);
    lz_rng_gauss(r, n * k, z);
    for (size_t c = 0; c < k; c++)
        for (size_t j = 0; j < d; j++) b[c * d + j] *= 3.0 / (double)(c + 1);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)d, (int)k, 1.0, z, (int)k,
                b, (int)d, 0.0, x, (int)d);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++)
            x[i * d + j] += 2.0 + 0.1 * (double)j + noise * gsl_ran_gaussian(r, 1.0);
    free(b);
    free(z);
}

/* A model of PPCA form: orthonormal components, eigenvalues above sigma^2 */
static pca_model *random_model(gsl_rng *r, size_t d, size_t k)
{
    pca_model *m = pca_model_alloc(d, k);
    double *q = lz_test_dalloc(d * k);
    lz_rng_gauss(r, d * k, q);
    ck_assert_int_eq(lz_qr(d, k, q, NULL, NULL), LZ_OK);
    for (size_t c = 0; c < k; c++)
        for (size_t j = 0; j < d; j++) m->comp[c * d + j] = q[j * k + c];
    m->sigma2 = 0.3;
    for (size_t c = 0; c < k; c++) m->eigval[c] = 0.3 + 4.0 / (double)(c + 1);
    for (size_t j = 0; j < d; j++) m->mean[j] = gsl_ran_gaussian(r, 2.0);
    m->total_var = 100;
    free(q);
    return m;
}

/* The same with a first component along the first coordinate (e_1 plus
 * 1e-4 of noise) and lambda_1 = 1e10 sigma^2, as a column in units 1e5
 * times the others' makes it: where that coordinate is missing, U_o^T U_o
 * = I - U_m^T U_m has an entry 1 - u_11^2 ~ 1e-8, which a downdate from I
 * would leave with a relative error of about 1e-8. */
static pca_model *dominant_model(gsl_rng *r, size_t d, size_t k)
{
    pca_model *m = random_model(r, d, k);
    double *q = lz_test_dalloc(d * k);
    lz_rng_gauss(r, d * k, q);
    for (size_t j = 0; j < d; j++) q[j * k] = (j == 0) + 1e-4 * q[j * k];
    ck_assert_int_eq(lz_qr(d, k, q, NULL, NULL), LZ_OK);
    for (size_t c = 0; c < k; c++)
        for (size_t j = 0; j < d; j++) m->comp[c * d + j] = q[j * k + c];
    m->eigval[0] = 1e10 * m->sigma2;
    m->total_var = 2e10;
    free(q);
    return m;
}

/* ------------------------------------------------------------------ */

/* The density of each row's observed entries, its projection and E[x_m |
 * x_o], against a direct evaluation row by row; the last model has a
 * component along a coordinate in large units */
START_TEST(observed_density_equals_direct_cholesky)
{
    static const size_t dims[][2] = {{6, 2}, {15, 3}, {30, 5}, {8, 2}};
    static const double frac[4] = {0.2, 0.5, 0.1, 0.3};
    gsl_rng *r = lz_rng_alloc(41);
    lz_error err;
    for (size_t p = 0; p < 4; p++) {
        size_t d = dims[p][0], k = dims[p][1], n = 120;
        pca_model *m = p < 3 ? random_model(r, d, k) : dominant_model(r, d, k);
        double *x = lz_test_dalloc(n * d), *x0 = lz_test_dalloc(n * d), *z = lz_test_dalloc(n * k),
               *xf = lz_test_dalloc(n * d);
        unsigned char *miss = calloc(n * d, 1);
        for (size_t i = 0; i < n * d; i++) x0[i] = x[i] = gsl_ran_gaussian(r, 2.5);
        lz_test_mcar(r, n, d, frac[p], miss);
        memset(miss, 0, 3 * d); /* three complete rows */
        lz_data dt = make_data(n, d, x, miss);
        memcpy(xf, x, n * d * sizeof *xf);
        double ll, recon;
        ck_assert_int_eq(pca_score_incomplete(m, &dt, z, &recon, &ll, xf, &err), LZ_OK);
        double *c = lz_test_dalloc(d * d), *co = lz_test_dalloc(d * d), *xo = lz_test_dalloc(d),
               *mo = lz_test_dalloc(d), *rhs = lz_test_dalloc(d * (k + 1)),
               *uo = lz_test_dalloc(d * k), sum = 0, rsum = 0;
        ck_assert_int_eq(pca_ppca_cov(m, c, &err), LZ_OK);
        for (size_t t = 0; t < n; t++) {
            size_t o[32], no = 0;
            for (size_t i = 0; i < d; i++)
                if (!miss[t * d + i]) o[no++] = i;
            for (size_t a = 0; a < no; a++) {
                xo[a] = x0[t * d + o[a]];
                mo[a] = m->mean[o[a]];
                for (size_t b = 0; b < no; b++) co[a * no + b] = c[o[a] * d + o[b]];
            }
            double l;
            ck_assert_int_eq(lz_mvn_logpdf(1, no, xo, mo, co, &l, &err), LZ_OK);
            sum += l;
            /* E[x_m | x_o] = mu_m + C_mo C_oo^-1 (x_o - mu_o) */
            for (size_t a = 0; a < no; a++) rhs[a] = xo[a] - mo[a];
            ck_assert_int_eq(lz_solve(no, co, 1, rhs, &err), LZ_OK);
            for (size_t i = 0, b = 0; i < d; i++) {
                if (b < no && o[b] == i) {
                    b++;
                    ck_assert(xf[t * d + i] == x0[t * d + i]);
                    continue;
                }
                double e = m->mean[i];
                for (size_t a = 0; a < no; a++) e += c[i * d + o[a]] * rhs[a];
                ck_assert_msg(fabs(xf[t * d + i] - e) <= 1e-10 * (1 + fabs(e)),
                              "dims %zu row %zu: E[x_%zu | x_o] %.17g, direct %.17g", p, t, i,
                              xf[t * d + i], e);
            }
            /* the posterior mean of the projection: U^T (x^ - mu), x^ the row
             * completed by the direct E[x_m | x_o]; the recon_mse over the
             * observed entries of x_o - mu_o - U_o z */
            for (size_t q = 0; q < k; q++) {
                double e = 0;
                for (size_t i = 0; i < d; i++) {
                    int obs = !miss[t * d + i];
                    double xi = obs ? x0[t * d + i] : m->mean[i];
                    if (!obs)
                        for (size_t a = 0; a < no; a++) xi += c[i * d + o[a]] * rhs[a];
                    e += m->comp[q * d + i] * (xi - m->mean[i]);
                }
                uo[q] = e;
                ck_assert_msg(fabs(z[t * k + q] - e) <= 1e-10 * (1 + fabs(e)),
                              "dims %zu row %zu: z_%zu %.17g, direct %.17g", p, t, q, z[t * k + q],
                              e);
            }
            for (size_t a = 0; a < no; a++) {
                double e = xo[a] - mo[a];
                for (size_t q = 0; q < k; q++) e -= m->comp[q * d + o[a]] * uo[q];
                rsum += e * e;
            }
        }
        ck_assert_msg(fabs(ll - sum / (double)n) <= 1e-11 * fabs(ll), "ll %.17g, direct %.17g", ll,
                      sum / (double)n);
        ck_assert_msg(fabs(recon - rsum / (double)n) <= 1e-10 * recon, "recon %g vs %g", recon,
                      rsum / (double)n);
        free(x);
        free(x0);
        free(z);
        free(xf);
        free(miss);
        free(c);
        free(co);
        free(xo);
        free(mo);
        free(rhs);
        free(uo);
        pca_model_free(m);
    }
    gsl_rng_free(r);
}
END_TEST

/* the trace of a fit: the observed-data log-likelihood, the recon_mse and
 * the E-steps so far of every iteration */
typedef struct {
    double ll[5000], mse[5000];
    long es[5000];
    int n;
} rec;

static int record(const pca_iter_info *it, void *ud)
{
    rec *t = ud;
    if (t->n < 5000) {
        t->ll[t->n] = it->ll;
        t->es[t->n] = it->e_steps;
        t->mse[t->n++] = it->recon_mse;
    }
    return 0;
}

/* EM's invariant: ll never decreases (relative rounding 1e-12 allowed); and
 * the E-steps an iteration: exactly 1 for plain EM (1 before the first
 * iteration), 3 to 7 for a SQUAREM cycle (theta_1, at most four
 * extrapolations tried and then theta_2, the end) */
static void assert_monotone_es(const rec *tr, int accel, const char *what)
{
    ck_assert_msg(tr->n >= 1, "%s: no trace", what);
    for (int t = 0; t < tr->n; t++)
        ck_assert_msg(isfinite(tr->ll[t]), "%s: ll %g", what, tr->ll[t]);
    for (int t = 1; t < tr->n; t++)
        ck_assert_msg(tr->ll[t] >= tr->ll[t - 1] - 1e-12 * fabs(tr->ll[t - 1]),
                      "%s: iteration %d: ll %.17g after %.17g", what, t + 1, tr->ll[t],
                      tr->ll[t - 1]);
    for (int t = 0; t < tr->n && t < 5000; t++) {
        long de = tr->es[t] - (t ? tr->es[t - 1] : 1);
        ck_assert_msg(accel ? de >= 3 && de <= 7 : de == 1, "%s: iteration %d: %ld E-steps", what,
                      t + 1, de);
    }
}

static void assert_monotone(const rec *tr, const char *what)
{
    assert_monotone_es(tr, 1, what); /* the default: SQUAREM */
}

/* On complete data (a mask of zeros) forced through the missing-value
 * path, EM ends at the maximum-likelihood PPCA, which is pca_fit's answer
 * (Tipping & Bishop 1999: the top-k eigenvectors and eigenvalues of S,
 * sigma^2 the mean of the others): the same subspace, eigenvalues, sigma^2,
 * tr C = tr S and mean, and the density by pattern equals pca_loglik.  (EM
 * starts from the PPCA of the mean-filled data, here the data itself, to
 * 1e-6 rad: so this checks that the maximum is EM's fixed point, i.e. that
 * the E and M steps reproduce it, and that EM does not leave it.)
 * Tolerances from --tol: EM stops when successive subspaces are within
 * tol = 1e-10 rad; contracting linearly at a rate rho, it is then within
 * angle_est = tol rho / (1 - rho) of its limit (the fit's own estimate,
 * NaN after a single iteration, else checked under 1e-8 rad).  The
 * eigenvalues and sigma^2 move with the parameters, to first order in that
 * distance: relative 1e-7 covers 1e-8 with a factor 10 for the constants.
 * With plain EM steps and with SQUAREM (whose cycles contract by far more
 * than rho, so its angle_est is smaller still). */
START_TEST(em_on_complete_data_is_pca)
{
    size_t n = 400, d = 12, k = 3;
    gsl_rng *r = lz_rng_alloc(42);
    lz_error err;
    double *x = lz_test_dalloc(n * d), *xc = lz_test_dalloc(n * d);
    unsigned char *miss = calloc(n * d, 1);
    low_rank(r, n, d, k, 0.5, x);
    memcpy(xc, x, n * d * sizeof *xc);
    lz_data dt = make_data(n, d, x, miss);
    pca_config cfg;
    pca_config_default(&cfg);
    cfg.k = (int)k;
    cfg.tol = 1e-10;
    cfg.max_iter = 5000;
    pca_model *ma = pca_model_alloc(d, k), *mp = pca_model_alloc(d, k);
    pca_fit_info fa, fp;
    rec *tr = calloc(1, sizeof *tr);
    ck_assert_int_eq(pca_fit(&cfg, n, d, xc, NULL, mp, &fp, NULL, NULL, &err), LZ_OK);
    double lla, llp;
    ck_assert_int_eq(pca_score_incomplete(mp, &dt, NULL, NULL, &lla, NULL, &err), LZ_OK);
    ck_assert_int_eq(pca_loglik(mp, n, xc, &llp, &err), LZ_OK);
    ck_assert_msg(fabs(lla - llp) <= 1e-11 * fabs(llp), "ll by pattern %.17g, pca_loglik %.17g",
                  lla, llp);
    for (int acc = 0; acc < 2; acc++) {
        const char *what = acc ? "complete data, SQUAREM" : "complete data, EM";
        cfg.accelerate = acc;
        tr->n = 0;
        ck_assert_int_eq(pca_fit_incomplete(&cfg, &dt, NULL, ma, &fa, record, tr, &err), LZ_OK);
        ck_assert_msg(fa.converged, "%s: not converged", what);
        assert_monotone_es(tr, acc, what);
        ck_assert_msg(!isgreater(fa.angle_est, 1e-8), "%s: angle_est %g", what, fa.angle_est);
        double ang;
        ck_assert_int_eq(lz_max_principal_angle(d, k, ma->comp, mp->comp, NULL, &ang, &err), LZ_OK);
        ck_assert_msg(ang <= 1e-8, "%s: angle to pca_fit's subspace %g", what, ang);
        for (size_t c = 0; c < k; c++)
            ck_assert_msg(fabs(ma->eigval[c] - mp->eigval[c]) <= 1e-7 * mp->eigval[c],
                          "%s: lambda_%zu %.17g, pca_fit %.17g", what, c, ma->eigval[c],
                          mp->eigval[c]);
        ck_assert_msg(fabs(ma->sigma2 - mp->sigma2) <= 1e-7 * mp->sigma2,
                      "%s: sigma^2 %.17g, pca_fit %.17g", what, ma->sigma2, mp->sigma2);
        ck_assert_msg(fabs(ma->total_var - mp->total_var) <= 1e-7 * mp->total_var,
                      "%s: tr C %g, tr S %g", what, ma->total_var, mp->total_var);
        for (size_t j = 0; j < d; j++)
            ck_assert(fabs(ma->mean[j] - mp->mean[j]) <= 1e-9 * (1 + fabs(mp->mean[j])));
        /* the maximum: pca_fit's ll, reached by the trace's last (to the same
         * first-order 1e-7, relative) */
        ck_assert_msg(fabs(tr->ll[tr->n - 1] - llp) <= 1e-7 * fabs(llp),
                      "%s: EM's ll %.17g, ML %.17g", what, tr->ll[tr->n - 1], llp);
    }
    free(tr);
    free(x);
    free(xc);
    free(miss);
    pca_model_free(ma);
    pca_model_free(mp);
    gsl_rng_free(r);
}
END_TEST

/* EM's invariant, with 10 % and 60 % of the entries missing, with plain EM
 * steps and with SQUAREM: the observed-data log-likelihood of the trace
 * never decreases, and its last value is the fitted model's own
 * (pca_score_incomplete, through U and Lambda instead of W).  Then data of rank k plus noise 1e-3
 * with 30 % missing: the hidden entries completed within a few noise sd. */
START_TEST(em_loglik_never_decreases)
{
    size_t n = 500, d = 20, k = 3;
    static const double frac[2] = {0.1, 0.6};
    gsl_rng *r = lz_rng_alloc(43);
    lz_error err;
    double *x = lz_test_dalloc(n * d), *x0 = lz_test_dalloc(n * d), *xf = lz_test_dalloc(n * d);
    unsigned char *miss = calloc(n * d, 1);
    pca_config cfg;
    pca_config_default(&cfg);
    cfg.k = (int)k;
    cfg.max_iter = 3000;
    pca_model *m = pca_model_alloc(d, k);
    pca_fit_info fi;
    rec *tr = calloc(1, sizeof *tr);
    for (int f = 0; f < 2; f++) {
        low_rank(r, n, d, k, 0.5, x);
        lz_test_mcar(r, n, d, frac[f], miss);
        lz_data dt = make_data(n, d, x, miss);
        for (int acc = 0; acc < 2; acc++) {
            char what[32];
            snprintf(what, sizeof what, "%s, %s", f ? "60 %" : "10 %", acc ? "SQUAREM" : "EM");
            cfg.accelerate = acc;
            tr->n = 0;
            ck_assert_int_eq(pca_fit_incomplete(&cfg, &dt, NULL, m, &fi, record, tr, &err), LZ_OK);
            assert_monotone_es(tr, acc, what);
            /* (a SQUAREM line is 3 or more EM steps) */
            ck_assert_msg(tr->n >= (acc ? 3 : 5), "%s: only %d iterations: nothing tested", what,
                          tr->n);
            double ll;
            ck_assert_int_eq(pca_score_incomplete(m, &dt, NULL, NULL, &ll, NULL, &err), LZ_OK);
            ck_assert_msg(fabs(ll - tr->ll[tr->n - 1]) <= 1e-10 * fabs(ll),
                          "%s: model's ll %.17g, the trace's last %.17g", what, ll,
                          tr->ll[tr->n - 1]);
        }
    }
    cfg.accelerate = 1;
    /* rank k plus noise 1e-3, 30 % missing */
    low_rank(r, n, d, k, 0.0, x);
    memcpy(x0, x, n * d * sizeof *x0);
    for (size_t i = 0; i < n * d; i++) x[i] += 1e-3 * gsl_ran_gaussian(r, 1.0);
    lz_test_mcar(r, n, d, 0.3, miss);
    lz_data dt = make_data(n, d, x, miss);
    cfg.tol = 1e-11;
    tr->n = 0;
    ck_assert_int_eq(pca_fit_incomplete(&cfg, &dt, NULL, m, &fi, record, tr, &err), LZ_OK);
    assert_monotone(tr, "rank k + 1e-3");
    memcpy(xf, x, n * d * sizeof *xf);
    ck_assert_int_eq(pca_score_incomplete(m, &dt, NULL, NULL, NULL, xf, &err), LZ_OK);
    double worst = 0, scale = 0;
    for (size_t i = 0; i < n * d; i++) {
        scale = fmax(scale, fabs(x0[i]));
        if (miss[i]) worst = fmax(worst, fabs(xf[i] - x0[i]));
    }
    /* noise 1e-3 per entry; the completion's error a few times that */
    ck_assert_msg(worst <= 2e-2, "hidden entries completed to %g (values up to %g)", worst, scale);
    /* sigma^2 estimates the noise variance 1e-6 (from 0.7 n d entries: a
     * factor 5 either way is far outside its sampling error) */
    ck_assert_msg(m->sigma2 > 0.2e-6 && m->sigma2 < 5e-6, "sigma^2 %g", m->sigma2);
    free(tr);
    free(x);
    free(x0);
    free(xf);
    free(miss);
    pca_model_free(m);
    gsl_rng_free(r);
}
END_TEST

/* A coordinate in units 1000 times larger than the others, carrying nearly
 * all the variance, and a second one correlated 0.94 with it that carries
 * most of the rest (as "area" in mm^2 x 1000 and "worst area" of the breast
 * cancer data), each missing in 10 % of the rows.  Rows missing the first
 * see the leading component only through the second's small loading, nearly
 * parallel to the second component: least squares' coefficients of those
 * rows explode (on this very data the alternating least squares that EM
 * replaced ran its 1000 iterations without converging, lambda_1 inflated
 * 2-fold and lambda_2 8000-fold).  EM's prior bounds them: it converges at the default tolerance,
 * its ll is finite and never decreases, and the eigenvalues are the complete data's (pca_fit on the
 * data before the entries were hidden) to within the sampling error of a
 * variance from 0.9 n rows for lambda_1 (4 sd, sd = (2 / (0.9 n))^1/2),
 * and 50 % for lambda_2 (fitted mostly from the 0.9^2 n rows observing both
 * correlated coordinates, and a PPCA estimate where pca_fit's is PCA's:
 * here 13 % apart, where the failure was a factor 8000). */
START_TEST(em_column_in_large_units)
{
    size_t n = 600, d = 12, k = 2;
    gsl_rng *r = lz_rng_alloc(44);
    lz_error err;
    double *x = lz_test_dalloc(n * d), *xc = lz_test_dalloc(n * d);
    unsigned char *miss = calloc(n * d, 1);
    low_rank(r, n, d, 3, 0.5, x);
    /* x_4 <- 0.94 standardised x_3 + 0.34 noise; x_3 *= 1000; x_4 scaled to
     * 30 sd(x_3 before) */
    double m3 = 0, v3 = 0;
    for (size_t i = 0; i < n; i++) m3 += x[i * d + 3] / (double)n;
    for (size_t i = 0; i < n; i++) v3 += (x[i * d + 3] - m3) * (x[i * d + 3] - m3) / (double)n;
    for (size_t i = 0; i < n; i++) {
        double s3 = (x[i * d + 3] - m3) / sqrt(v3);
        x[i * d + 4] =
            30.0 * sqrt(v3) * (0.94 * s3 + sqrt(1 - 0.94 * 0.94) * gsl_ran_gaussian(r, 1.0));
        x[i * d + 3] *= 1000.0;
    }
    memcpy(xc, x, n * d * sizeof *xc);
    lz_test_mcar(r, n, d, 0.1, miss);
    lz_data dt = make_data(n, d, x, miss);
    pca_config cfg;
    pca_config_default(&cfg);
    cfg.k = (int)k;
    pca_model *m = pca_model_alloc(d, k), *mp = pca_model_alloc(d, k);
    pca_fit_info fi;
    rec *tr = calloc(1, sizeof *tr);
    ck_assert_int_eq(pca_fit_incomplete(&cfg, &dt, NULL, m, &fi, record, tr, &err), LZ_OK);
    ck_assert_msg(fi.converged, "not converged in %d iterations (angle %g)", fi.iterations,
                  fi.max_angle);
    assert_monotone(tr, "x1000");
    ck_assert(isfinite(m->sigma2) && m->sigma2 > 0);
    ck_assert_int_eq(pca_fit(&cfg, n, d, xc, NULL, mp, NULL, NULL, NULL, &err), LZ_OK);
    ck_assert_msg(fabs(m->comp[3]) > 0.99, "u_1 = %g at the large coordinate", m->comp[3]);
    double rel1 = fabs(m->eigval[0] / mp->eigval[0] - 1),
           rel2 = fabs(m->eigval[1] / mp->eigval[1] - 1);
    ck_assert_msg(rel1 <= 4 * sqrt(2.0 / (0.9 * (double)n)), "lambda_1 %g, complete data %g",
                  m->eigval[0], mp->eigval[0]);
    ck_assert_msg(rel2 <= 0.5, "lambda_2 %g, complete data %g", m->eigval[1], mp->eigval[1]);
    free(tr);
    free(x);
    free(xc);
    free(miss);
    pca_model_free(m);
    pca_model_free(mp);
    gsl_rng_free(r);
}
END_TEST

/* the observed-data log-likelihood per row of dt under m (pca_score_incomplete) */
static double ll_of(const pca_model *m, const lz_data *dt)
{
    lz_error err;
    double ll;
    ck_assert_int_eq(pca_score_incomplete(m, dt, NULL, NULL, &ll, NULL, &err), LZ_OK);
    return ll;
}

/* m1 <- m0 (same d, k) */
static void model_copy(pca_model *m1, const pca_model *m0)
{
    size_t d = m0->d, k = m0->k;
    memcpy(m1->mean, m0->mean, d * sizeof *m1->mean);
    memcpy(m1->comp, m0->comp, k * d * sizeof *m1->comp);
    memcpy(m1->eigval, m0->eigval, k * sizeof *m1->eigval);
    m1->sigma2 = m0->sigma2;
    m1->total_var = m0->total_var;
}

/* The fitted model is a maximum of the observed-data likelihood, checked by
 * central differences of ll (pca_score_incomplete, tested against a direct
 * Cholesky above) along directions t of the PPCA's parameters: sigma^2 and
 * each lambda_j scaled by (1 + t), each mu_i moved by t C_ii^1/2, each u_j
 * turned by t rad towards a random unit vector orthogonal to span U, and
 * u_1, u_2 turned into each other.  With e = 1e-3,
 *     D1 = ll(e) - ll(-e) = 2 e g,   D2 = ll(e) + ll(-e) - 2 ll(0) = e^2 h,
 * and h < 0 at a maximum.  A fit delta away from the maximum along t has
 * g = -h delta, so |D1| / |D2| = 2 delta / e: |D1| <= 0.1 |D2| bounds delta
 * by 5e-5 (EM stops at 1e-9 rad; the cubic term of D1 is ~e |D2|, 1e-3 of
 * it; D2 is ~1e-6 nats or more, rounding ~1e-13). */
static void assert_maximum(const pca_model *m, const lz_data *dt, gsl_rng *r)
{
    size_t d = m->d, k = m->k;
    const double e = 1e-3;
    pca_model *mt = pca_model_alloc(d, k);
    double *c = lz_test_dalloc(d * d), *v = lz_test_dalloc(d);
    lz_error err;
    ck_assert_int_eq(pca_ppca_cov(m, c, &err), LZ_OK);
    double l0 = ll_of(m, dt);
    size_t nt = 1 + k + d + k + 1;
    for (size_t t = 0; t < nt; t++) {
        /* a random unit v orthogonal to span U, for the turns */
        lz_rng_gauss(r, d, v);
        for (size_t c2 = 0; c2 < k; c2++) {
            double p = 0;
            for (size_t j = 0; j < d; j++) p += v[j] * m->comp[c2 * d + j];
            for (size_t j = 0; j < d; j++) v[j] -= p * m->comp[c2 * d + j];
        }
        double vn = 0;
        for (size_t j = 0; j < d; j++) vn += v[j] * v[j];
        for (size_t j = 0; j < d; j++) v[j] /= sqrt(vn);
        double l[2];
        for (int sgn = 0; sgn < 2; sgn++) {
            double h = sgn ? -e : e;
            model_copy(mt, m);
            if (t == 0)
                mt->sigma2 *= 1 + h;
            else if (t < 1 + k)
                mt->eigval[t - 1] *= 1 + h;
            else if (t < 1 + k + d)
                mt->mean[t - 1 - k] += h * sqrt(c[(t - 1 - k) * d + (t - 1 - k)]);
            else if (t < 1 + k + d + k) {
                size_t j = t - 1 - k - d;
                for (size_t i = 0; i < d; i++)
                    mt->comp[j * d + i] = cos(h) * m->comp[j * d + i] + sin(h) * v[i];
            } else
                for (size_t i = 0; i < d; i++) {
                    mt->comp[i] = cos(h) * m->comp[i] + sin(h) * m->comp[d + i];
                    mt->comp[d + i] = -sin(h) * m->comp[i] + cos(h) * m->comp[d + i];
                }
            l[sgn] = ll_of(mt, dt);
        }
        double d1 = l[0] - l[1], d2 = l[0] + l[1] - 2 * l0;
        ck_assert_msg(d2 < 0 && fabs(d1) <= 0.1 * fabs(d2),
                      "direction %zu: ll %.17g, +e %.17g, -e %.17g (D1 %g, D2 %g)", t, l0, l[0],
                      l[1], d1, d2);
    }
    free(c);
    free(v);
    pca_model_free(mt);
}

/* Data drawn from a known PPCA (d = 10, k = 2, n = 5000), 20 % MCAR:
 * C = W W^T + sigma^2 I recovered entry by entry within 5 standard errors
 * of a covariance from the rows observing both coordinates,
 *     se(C_ij) = ((C_ii C_jj + C_ij^2) / (0.64 n))^1/2
 * (the Gaussian variance of a sample covariance; 0.8^2 n rows observe a
 * pair, and the PPCA's pooled estimate does no worse); the completion of
 * the hidden entries no worse than the true model's own by more than 5 %
 * (the fitted C is within a few per cent of the true one, and the MSE is
 * first-order in it), and below half of mean imputation's (the true model's
 * is ~0.04 of it here: 2 latent dimensions explain most of each coordinate);
 * the fit a maximum of the observed-data likelihood (assert_maximum). */
START_TEST(em_recovers_known_ppca)
{
    size_t n = 5000, d = 10, k = 2;
    gsl_rng *r = lz_rng_alloc(45);
    lz_error err;
    double *w = lz_test_dalloc(d * k), *mu = lz_test_dalloc(d), *x = lz_test_dalloc(n * d),
           *x0 = lz_test_dalloc(n * d), *xf = lz_test_dalloc(n * d), *xt = lz_test_dalloc(n * d),
           *ct = lz_test_dalloc(d * d), *cf = lz_test_dalloc(d * d), s2 = 0.25;
    unsigned char *miss = calloc(n * d, 1);
    lz_rng_gauss(r, d * k, w);
    for (size_t j = 0; j < d; j++) {
        w[j * k] *= 3.0;
        w[j * k + 1] *= 1.5;
        mu[j] = gsl_ran_gaussian(r, 2.0);
    }
    for (size_t i = 0; i < n; i++) {
        double z[2] = {gsl_ran_gaussian(r, 1.0), gsl_ran_gaussian(r, 1.0)};
        for (size_t j = 0; j < d; j++)
            x[i * d + j] =
                mu[j] + w[j * k] * z[0] + w[j * k + 1] * z[1] + gsl_ran_gaussian(r, sqrt(s2));
    }
    memcpy(x0, x, n * d * sizeof *x0);
    lz_test_mcar(r, n, d, 0.2, miss);
    lz_data dt = make_data(n, d, x, miss);
    pca_config cfg;
    pca_config_default(&cfg);
    cfg.k = (int)k;
    cfg.accelerate = 1; /* the default: the maximum check is of SQUAREM's fit */
    pca_model *m = pca_model_alloc(d, k), *mt = pca_model_alloc(d, k);
    pca_fit_info fi;
    ck_assert_int_eq(pca_fit_incomplete(&cfg, &dt, NULL, m, &fi, NULL, NULL, &err), LZ_OK);
    ck_assert(fi.converged);
    ck_assert_int_eq(pca_ppca_cov(m, cf, &err), LZ_OK);
    /* the true C, and the true model in pca_model form (W^T W = V Theta V^T,
     * u_j = W v_j / theta_j^1/2, lambda_j = theta_j + sigma^2) */
    for (size_t a = 0; a < d; a++)
        for (size_t b = 0; b < d; b++)
            ct[a * d + b] = w[a * k] * w[b * k] + w[a * k + 1] * w[b * k + 1] + (a == b ? s2 : 0);
    double g[4] = {0}, th[2], v[4];
    for (size_t j = 0; j < d; j++)
        for (size_t c = 0; c < k; c++)
            for (size_t c2 = 0; c2 < k; c2++) g[c * k + c2] += w[j * k + c] * w[j * k + c2];
    ck_assert_int_eq(lz_eigh(k, g, th, v, &err), LZ_OK);
    for (size_t c = 0; c < k; c++) {
        for (size_t j = 0; j < d; j++)
            mt->comp[c * d + j] = (w[j * k] * v[c] + w[j * k + 1] * v[k + c]) / sqrt(th[c]);
        mt->eigval[c] = th[c] + s2;
    }
    mt->sigma2 = s2;
    memcpy(mt->mean, mu, d * sizeof *mu);
    mt->total_var = mt->eigval[0] + mt->eigval[1] + (double)(d - k) * s2;
    double worst = 0;
    for (size_t a = 0; a < d; a++)
        for (size_t b = 0; b < d; b++) {
            double se = sqrt((ct[a * d + a] * ct[b * d + b] + ct[a * d + b] * ct[a * d + b]) /
                             (0.64 * (double)n));
            double z = fabs(cf[a * d + b] - ct[a * d + b]) / se;
            worst = fmax(worst, z);
            ck_assert_msg(z <= 5.0, "C_%zu%zu %g, true %g (se %g)", a, b, cf[a * d + b],
                          ct[a * d + b], se);
        }
    /* the completions: fitted, true model, column means of the observed */
    memcpy(xf, x, n * d * sizeof *xf);
    memcpy(xt, x, n * d * sizeof *xt);
    ck_assert_int_eq(pca_score_incomplete(m, &dt, NULL, NULL, NULL, xf, &err), LZ_OK);
    ck_assert_int_eq(pca_score_incomplete(mt, &dt, NULL, NULL, NULL, xt, &err), LZ_OK);
    double mf = 0, mtr = 0, mm = 0, cnt = 0;
    for (size_t j = 0; j < d; j++) {
        double s = 0, c = 0;
        for (size_t i = 0; i < n; i++)
            if (!miss[i * d + j]) {
                s += x[i * d + j];
                c++;
            }
        for (size_t i = 0; i < n; i++)
            if (miss[i * d + j]) {
                double t = x0[i * d + j];
                mf += (xf[i * d + j] - t) * (xf[i * d + j] - t);
                mtr += (xt[i * d + j] - t) * (xt[i * d + j] - t);
                mm += (s / c - t) * (s / c - t);
                cnt++;
            }
    }
    mf /= cnt;
    mtr /= cnt;
    mm /= cnt;
    ck_assert_msg(mf <= 1.05 * mtr, "imputation MSE %g, the true model's %g", mf, mtr);
    ck_assert_msg(mf <= 0.5 * mm, "imputation MSE %g, mean imputation's %g", mf, mm);
    /* and EM's end is a maximum of the likelihood of the observed entries */
    assert_maximum(m, &dt, r);
    free(w);
    free(mu);
    free(x);
    free(x0);
    free(xf);
    free(xt);
    free(ct);
    free(cf);
    free(miss);
    pca_model_free(m);
    pca_model_free(mt);
    gsl_rng_free(r);
}
END_TEST

/* SQUAREM and plain EM end at the same maximum.  Data from a known PPCA
 * (d = 10, k = 3, n = 2000, loadings N(0, s_c^2) with s = 0.6, 0.4, 0.2,
 * sigma^2 = 1: a weak third component, so that plain EM takes ~90 steps),
 * 20 % MCAR, both fitted to tol = 1e-10 rad.  Plain EM stops within
 * angle_est = delta rho / (1 - rho) of its limit (its own estimate,
 * asserted under 1e-8 so that the comparison means something); SQUAREM's
 * cycles contract by far more (here the distance left after the last one
 * is below its angle, <= tol).  Both limits are the one
 * maximum, so the subspaces are within angle_est + tol: asserted under
 * twice that.  sigma^2 moves to first order in that distance (relative 1e-6
 * is 100 times 1e-8), ll to second order (relative 1e-8 is far above it and
 * far below any other stationary point's ll).  SQUAREM used fewer E-steps;
 * its fit passes the central-difference maximum check; and on the data
 * times 1000 (its step length is measured in the data's units) it ends at
 * the same fit in the new units: sigma^2 times 1e6 and ll shifted by
 * -(observed entries / n) log 1000, relative 1e-8, the subspaces within
 * 2 tol (each within its last angle of the limit).  (Not the same E-steps:
 * near the maximum ll(theta') and ll(theta_1) agree to rounding, and which
 * extrapolations are rejected then depends on it.) */
START_TEST(squarem_same_maximum_as_em)
{
    size_t n = 2000, d = 10, k = 3;
    gsl_rng *r = lz_rng_alloc(46);
    lz_error err;
    double *w = lz_test_dalloc(d * k), *x = lz_test_dalloc(n * d), *xs = lz_test_dalloc(n * d),
           s2 = 1.0;
    unsigned char *miss = calloc(n * d, 1);
    lz_rng_gauss(r, d * k, w);
    for (size_t j = 0; j < d; j++)
        for (size_t c = 0; c < k; c++) w[j * k + c] *= 0.6 - 0.2 * (double)c;
    for (size_t i = 0; i < n; i++) {
        double z[3];
        lz_rng_gauss(r, k, z);
        for (size_t j = 0; j < d; j++) {
            double v = 1.0 + 0.5 * (double)j + gsl_ran_gaussian(r, sqrt(s2));
            for (size_t c = 0; c < k; c++) v += w[j * k + c] * z[c];
            x[i * d + j] = v;
        }
    }
    lz_test_mcar(r, n, d, 0.2, miss);
    lz_data dt = make_data(n, d, x, miss);
    for (size_t i = 0; i < n * d; i++) xs[i] = 1000.0 * x[i];
    lz_data ds = make_data(n, d, xs, miss);
    pca_config cfg;
    pca_config_default(&cfg);
    cfg.k = (int)k;
    cfg.tol = 1e-10;
    cfg.max_iter = 20000;
    pca_model *me = pca_model_alloc(d, k), *ms = pca_model_alloc(d, k), *m3 = pca_model_alloc(d, k);
    pca_fit_info fe, fs, f3;
    rec *tr = calloc(1, sizeof *tr);
    cfg.accelerate = 0;
    ck_assert_int_eq(pca_fit_incomplete(&cfg, &dt, NULL, me, &fe, record, tr, &err), LZ_OK);
    assert_monotone_es(tr, 0, "EM");
    double lle = tr->ll[tr->n - 1];
    cfg.accelerate = 1;
    tr->n = 0;
    ck_assert_int_eq(pca_fit_incomplete(&cfg, &dt, NULL, ms, &fs, record, tr, &err), LZ_OK);
    assert_monotone_es(tr, 1, "SQUAREM");
    double lls = tr->ll[tr->n - 1];
    ck_assert_int_eq(pca_fit_incomplete(&cfg, &ds, NULL, m3, &f3, NULL, NULL, &err), LZ_OK);
    printf("squarem_same_maximum_as_em: plain EM %d iterations, %ld E-steps (angle_est %.3g); "
           "SQUAREM %d cycles, %ld E-steps (last angle %.3g)\n",
           fe.iterations, fe.e_steps, fe.angle_est, fs.iterations, fs.e_steps, fs.max_angle);
    ck_assert(fe.converged && fs.converged);
    ck_assert_msg(islessequal(fe.angle_est, 1e-8), "EM's angle_est %g", fe.angle_est);
    ck_assert_msg(fs.e_steps < fe.e_steps, "SQUAREM %ld E-steps, EM %ld", fs.e_steps, fe.e_steps);
    ck_assert_msg(fabs(lls - lle) <= 1e-8 * fabs(lle), "ll: SQUAREM %.17g, EM %.17g", lls, lle);
    double ang;
    ck_assert_int_eq(lz_max_principal_angle(d, k, me->comp, ms->comp, NULL, &ang, &err), LZ_OK);
    ck_assert_msg(ang <= 2 * (fe.angle_est + cfg.tol), "angle %g (EM's angle_est %g, tol %g)", ang,
                  fe.angle_est, cfg.tol);
    ck_assert_msg(fabs(ms->sigma2 - me->sigma2) <= 1e-6 * me->sigma2,
                  "sigma^2: SQUAREM %.17g, EM %.17g", ms->sigma2, me->sigma2);
    assert_maximum(ms, &dt, r);
    /* the data times 1000 */
    ck_assert(f3.converged);
    ck_assert_int_eq(lz_max_principal_angle(d, k, m3->comp, ms->comp, NULL, &ang, &err), LZ_OK);
    ck_assert_msg(ang <= 2 * cfg.tol, "x 1000: angle %g", ang);
    ck_assert_msg(fabs(m3->sigma2 / 1e6 - ms->sigma2) <= 1e-8 * ms->sigma2,
                  "x 1000: sigma^2 %.17g, %.17g", m3->sigma2, ms->sigma2);
    double ll3, lld;
    ck_assert_int_eq(pca_score_incomplete(m3, &ds, NULL, NULL, &ll3, NULL, &err), LZ_OK);
    ck_assert_int_eq(pca_score_incomplete(ms, &dt, NULL, NULL, &lld, NULL, &err), LZ_OK);
    double shift = -(double)(n * d - dt.n_miss) / (double)n * log(1000.0);
    ck_assert_msg(fabs(ll3 - (lld + shift)) <= 1e-9 * fabs(lld), "x 1000: ll %.17g, expected %.17g",
                  ll3, lld + shift);
    free(tr);
    free(w);
    free(x);
    free(xs);
    free(miss);
    pca_model_free(me);
    pca_model_free(ms);
    pca_model_free(m3);
    gsl_rng_free(r);
}
END_TEST

/* --mode cov is refused with missing values, naming the option */
START_TEST(cov_mode_refused)
{
    size_t n = 20, d = 4;
    double x[80];
    unsigned char miss[80] = {0};
    for (size_t i = 0; i < 80; i++) x[i] = (double)(i % 7);
    miss[5] = 1;
    lz_data dt = make_data(n, d, x, miss);
    pca_config cfg;
    pca_config_default(&cfg);
    cfg.k = 1;
    cfg.mode = PCA_MODE_COV;
    pca_model *m = pca_model_alloc(d, 1);
    lz_error err;
    ck_assert_int_eq(pca_fit_incomplete(&cfg, &dt, NULL, m, NULL, NULL, NULL, &err), LZ_EINVAL);
    ck_assert_msg(strstr(err.msg, "--mode cov"), "%s", err.msg);
    pca_model_free(m);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("pca_missing");
    TCase *t = tcase_create("core");
    tcase_add_test(t, observed_density_equals_direct_cholesky);
    tcase_add_test(t, em_on_complete_data_is_pca);
    tcase_add_test(t, em_loglik_never_decreases);
    tcase_add_test(t, em_column_in_large_units);
    tcase_add_test(t, em_recovers_known_ppca);
    tcase_add_test(t, squarem_same_maximum_as_em);
    tcase_add_test(t, cov_mode_refused);
    suite_add_tcase(s, t);
    return s;
}

int main(void) { return lz_check_main(suite()); }
