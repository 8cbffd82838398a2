/* test_pca_missing.c -- unit tests of PCA on data with missing values
 * (models/pca/pca_missing.c; docs/pca.md, "Missing values") against
 * independent truth: a direct Cholesky of each row's observed block of the
 * PPCA covariance (pca_ppca_cov, lz_mvn_logpdf), least-squares projections
 * and conditional means by LU solves, the complete-data fit (pca_fit), exact
 * recovery of data of rank k, and the decrease of the least-squares
 * objective.
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

/* ------------------------------------------------------------------ */

/* The density of each row's observed entries, its projection and E[x_m |
 * x_o], against a direct evaluation row by row */
START_TEST(observed_density_equals_direct_cholesky)
{
    static const size_t dims[][2] = {{6, 2}, {15, 3}, {30, 5}};
    static const double frac[3] = {0.2, 0.5, 0.1};
    gsl_rng *r = lz_rng_alloc(41);
    lz_error err;
    for (size_t p = 0; p < 3; p++) {
        size_t d = dims[p][0], k = dims[p][1], n = 120;
        pca_model *m = random_model(r, d, k);
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
            /* the projection: least squares of x_o - mu_o on U_o (U_o^T U_o
             * by an LU solve of the normal equations) */
            if (no >= k) {
                double *g = lz_test_dalloc(k * k), *bz = lz_test_dalloc(k);
                for (size_t a = 0; a < no; a++)
                    for (size_t q = 0; q < k; q++) uo[a * k + q] = m->comp[q * d + o[a]];
                for (size_t q = 0; q < k; q++) {
                    for (size_t q2 = 0; q2 < k; q2++)
                        for (size_t a = 0; a < no; a++)
                            g[q * k + q2] += uo[a * k + q] * uo[a * k + q2];
                    for (size_t a = 0; a < no; a++) bz[q] += uo[a * k + q] * (xo[a] - mo[a]);
                }
                ck_assert_int_eq(lz_solve(k, g, 1, bz, &err), LZ_OK);
                double r2 = 0;
                for (size_t a = 0; a < no; a++) {
                    double e = xo[a] - mo[a];
                    for (size_t q = 0; q < k; q++) e -= uo[a * k + q] * bz[q];
                    r2 += e * e;
                }
                rsum += r2;
                for (size_t q = 0; q < k; q++)
                    ck_assert_msg(fabs(z[t * k + q] - bz[q]) <= 1e-7 * (1 + fabs(bz[q])),
                                  "dims %zu row %zu: z_%zu %.17g, direct %.17g", p, t, q,
                                  z[t * k + q], bz[q]);
                free(g);
                free(bz);
            }
        }
        ck_assert_msg(fabs(ll - sum / (double)n) <= 1e-11 * fabs(ll), "ll %.17g, direct %.17g", ll,
                      sum / (double)n);
        if (p < 2) /* (every row observes k coordinates there) */
            ck_assert_msg(fabs(recon - rsum / (double)n) <= 1e-8 * recon, "recon %g vs %g", recon,
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

/* On complete data (a mask of zeros), the alternating least squares find
 * pca_fit's subspace and eigenvalues, and score the same */
START_TEST(als_on_complete_data_is_pca)
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
    cfg.max_iter = 2000;
    pca_model *ma = pca_model_alloc(d, k), *mp = pca_model_alloc(d, k);
    pca_fit_info fa, fp;
    ck_assert_int_eq(pca_fit_incomplete(&cfg, &dt, NULL, ma, &fa, NULL, NULL, &err), LZ_OK);
    ck_assert(fa.converged);
    ck_assert_int_eq(pca_fit(&cfg, n, d, xc, NULL, mp, &fp, NULL, NULL, &err), LZ_OK);
    double ang;
    ck_assert_int_eq(lz_max_principal_angle(d, k, ma->comp, mp->comp, NULL, &ang, &err), LZ_OK);
    ck_assert_msg(ang <= 1e-7, "angle to pca_fit's subspace %g", ang);
    for (size_t c = 0; c < k; c++)
        ck_assert_msg(fabs(ma->eigval[c] - mp->eigval[c]) <= 1e-8 * mp->eigval[0], "lambda_%zu", c);
    ck_assert(fabs(ma->sigma2 - mp->sigma2) <= 1e-8 * mp->sigma2);
    for (size_t j = 0; j < d; j++)
        ck_assert(fabs(ma->mean[j] - mp->mean[j]) <= 1e-9 * (1 + fabs(mp->mean[j])));
    double lla, llp;
    ck_assert_int_eq(pca_score_incomplete(mp, &dt, NULL, NULL, &lla, NULL, &err), LZ_OK);
    ck_assert_int_eq(pca_loglik(mp, n, xc, &llp, &err), LZ_OK);
    ck_assert_msg(fabs(lla - llp) <= 1e-11 * fabs(llp), "ll by pattern %.17g, pca_loglik %.17g",
                  lla, llp);
    free(x);
    free(xc);
    free(miss);
    pca_model_free(ma);
    pca_model_free(mp);
    gsl_rng_free(r);
}
END_TEST

/* Data of rank k (plus a mean) with 30 % of the entries missing: the
 * observed entries determine it, the least squares reach it exactly (angle
 * at rounding level) and complete the hidden entries exactly; with noise
 * the recon_mse of the trace never rises (each half-step is a least-squares
 * minimum) */
typedef struct {
    double mse[3000];
    int n;
} rec;

static int record(const pca_iter_info *it, void *ud)
{
    rec *t = ud;
    if (t->n < 3000) t->mse[t->n++] = it->recon_mse;
    return 0;
}

START_TEST(als_recovers_low_rank_data)
{
    size_t n = 500, d = 20, k = 3;
    gsl_rng *r = lz_rng_alloc(43);
    lz_error err;
    double *x = lz_test_dalloc(n * d), *x0 = lz_test_dalloc(n * d), *xf = lz_test_dalloc(n * d);
    unsigned char *miss = calloc(n * d, 1);
    low_rank(r, n, d, k, 0.0, x);
    memcpy(x0, x, n * d * sizeof *x0);
    lz_test_mcar(r, n, d, 0.3, miss);
    lz_data dt = make_data(n, d, x, miss);
    pca_config cfg;
    pca_config_default(&cfg);
    cfg.k = (int)k;
    cfg.tol = 1e-11;
    cfg.max_iter = 3000;
    pca_model *m = pca_model_alloc(d, k);
    pca_fit_info fi;
    rec tr = {.n = 0};
    lz_status st = pca_fit_incomplete(&cfg, &dt, NULL, m, &fi, record, &tr, &err);
    /* noise-free: the residual is rounding, sigma^2 ~ 0 is refused */
    ck_assert_int_eq(st, LZ_ENUMERIC);
    for (int t = 1; t < tr.n; t++)
        /* (the recon_mse is |x_o|^2 - z.b, rounding ~1e-13 of the first) */
        ck_assert_msg(tr.mse[t] <= tr.mse[t - 1] * (1 + 1e-9) + 1e-12 * tr.mse[0],
                      "iteration %d: %g after %g", t + 1, tr.mse[t], tr.mse[t - 1]);
    /* rounding of the sums of x^2 the recon_mse is formed from: ~1e-14 */
    ck_assert_msg(tr.mse[tr.n - 1] <= 1e-13 * tr.mse[0], "noise-free: recon_mse %g of %g",
                  tr.mse[tr.n - 1], tr.mse[0]);
    /* with a little noise: a model; the completion of the hidden entries
     * within a few noise sd */
    low_rank(r, n, d, k, 0.0, x);
    memcpy(x0, x, n * d * sizeof *x0);
    for (size_t i = 0; i < n * d; i++) x[i] += 1e-3 * gsl_ran_gaussian(r, 1.0);
    dt = make_data(n, d, x, miss);
    tr.n = 0;
    ck_assert_int_eq(pca_fit_incomplete(&cfg, &dt, NULL, m, &fi, record, &tr, &err), LZ_OK);
    for (int t = 1; t < tr.n; t++)
        ck_assert_msg(tr.mse[t] <= tr.mse[t - 1] * (1 + 1e-9) + 1e-12 * tr.mse[0],
                      "iteration %d: %g after %g", t + 1, tr.mse[t], tr.mse[t - 1]);
    memcpy(xf, x, n * d * sizeof *xf);
    ck_assert_int_eq(pca_score_incomplete(m, &dt, NULL, NULL, NULL, xf, &err), LZ_OK);
    double worst = 0, scale = 0;
    for (size_t i = 0; i < n * d; i++) {
        scale = fmax(scale, fabs(x0[i]));
        if (miss[i]) worst = fmax(worst, fabs(xf[i] - x0[i]));
    }
    /* noise 1e-3 per entry; the completion's error a few times that */
    ck_assert_msg(worst <= 2e-2, "hidden entries completed to %g (values up to %g)", worst, scale);
    ck_assert(m->sigma2 > 0.2e-6 && m->sigma2 < 5e-6);
    free(x);
    free(x0);
    free(xf);
    free(miss);
    pca_model_free(m);
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
    tcase_add_test(t, als_on_complete_data_is_pca);
    tcase_add_test(t, als_recovers_low_rank_data);
    tcase_add_test(t, cov_mode_refused);
    suite_add_tcase(s, t);
    return s;
}

int main(void) { return lz_check_main(suite()); }
