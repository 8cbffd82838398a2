/* test_gmm.c -- unit tests of models/gmm against independent truth: a direct
 * per-row d x d Cholesky log-density (lz_mvn_logpdf) summed by log-sum-exp,
 * the Gaussian maximum-likelihood fit in closed form (K = 1), recovery of a
 * known mixture from its own draws, the monotonicity of EM, invariants
 * (rescaling, thread count), and the floor's optimality.
 *
 * Dimension letters: n samples, d data, k components.  Matrices row-major.
 */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gmm.h"
#include "lz_blas.h"
#include <gsl/gsl_randist.h>
#include "lz_data.h"
#include "lz_linalg.h"
#include "lz_out.h"
#include "lz_prob.h"
#include "lz_check.h"
#include "lz_check_data.h"

#define EPS DBL_EPSILON
static const int COVS[4] = {GMM_FULL, GMM_DIAG, GMM_SPHERICAL, GMM_TIED};

/* x (n, d) <- draws of a mixture with weights w (k), means mu (k, d) and
 * covariances c (k, d, d); lab (n) <- the component of each row.  Written
 * here (GSL's normal draws and a Cholesky factor), not with gmm_sample. */
static void draw_mixture(gsl_rng *r, size_t k, size_t d, size_t n, const double *w,
                         const double *mu, const double *c, double *x, size_t *lab)
{
    double *l = lz_test_dalloc(k * d * d), *e = lz_test_dalloc(d);
    lz_error err;
    memcpy(l, c, k * d * d * sizeof *l);
    for (size_t z = 0; z < k; z++) ck_assert_int_eq(lz_chol(d, l + z * d * d, &err), LZ_OK);
    for (size_t t = 0; t < n; t++) {
        double u = gsl_rng_uniform(r), cum = 0;
        size_t z = 0;
        for (; z + 1 < k; z++) {
            cum += w[z];
            if (u < cum) break;
        }
        if (lab) lab[t] = z;
        for (size_t j = 0; j < d; j++) e[j] = gsl_ran_gaussian(r, 1.0);
        for (size_t i = 0; i < d; i++) {
            double v = mu[z * d + i];
            for (size_t j = 0; j <= i; j++) v += l[z * d * d + i * d + j] * e[j];
            x[t * d + i] = v;
        }
    }
    free(l);
    free(e);
}

/* a random SPD matrix c (d, d) with eigenvalues in [lo, hi]: Q diag Q^T */
static void random_spd(gsl_rng *r, size_t d, double lo, double hi, double *c)
{
    double *q = lz_test_dalloc(d * d);
    lz_error err;
    lz_rng_gauss(r, d * d, q);
    ck_assert_int_eq(lz_qr(d, d, q, NULL, &err), LZ_OK);
    memset(c, 0, d * d * sizeof *c);
    for (size_t t = 0; t < d; t++) {
        double l = lo + (hi - lo) * gsl_rng_uniform(r);
        for (size_t i = 0; i < d; i++)
            for (size_t j = 0; j < d; j++) c[i * d + j] += l * q[i * d + t] * q[j * d + t];
    }
    free(q);
}

/* Sigma_z of m as a full matrix, from the model's compact arrays (written
 * here rather than through gmm_covariance) */
static void full_cov(const gmm_model *m, size_t z, double *s)
{
    size_t d = m->d;
    memset(s, 0, d * d * sizeof *s);
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j < d; j++) {
            if (m->cov == GMM_FULL) s[i * d + j] = m->covs[z * d * d + i * d + j];
            if (m->cov == GMM_TIED) s[i * d + j] = m->covs[i * d + j];
        }
    if (m->cov == GMM_DIAG)
        for (size_t i = 0; i < d; i++) s[i * d + i] = m->covs[z * d + i];
    if (m->cov == GMM_SPHERICAL)
        for (size_t i = 0; i < d; i++) s[i * d + i] = m->covs[z];
}

/* the direct evaluation: logp (n) <- log sum_z pi_z N(x_n; mu_z, Sigma_z)
 * from lz_mvn_logpdf (a d x d Cholesky per component, one row at a time);
 * r (n, k) <- the responsibilities when not NULL.  Returns the mean. */
static double direct_loglik(const gmm_model *m, size_t n, const double *x, double *logp, double *r)
{
    size_t d = m->d, k = m->k;
    double *s = lz_test_dalloc(d * d), *lz = lz_test_dalloc(n * k), *col = lz_test_dalloc(n),
           *row = lz_test_dalloc(k);
    lz_error err;
    for (size_t z = 0; z < k; z++) {
        full_cov(m, z, s);
        ck_assert_int_eq(lz_mvn_logpdf(n, d, x, m->means + z * d, s, col, &err), LZ_OK);
        for (size_t i = 0; i < n; i++) lz[i * k + z] = log(m->weights[z]) + col[i];
    }
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        double l = lz_logsumexp(k, lz + i * k);
        if (logp) logp[i] = l;
        if (r)
            for (size_t z = 0; z < k; z++) r[i * k + z] = exp(lz[i * k + z] - l);
        sum += l;
    }
    free(s);
    free(lz);
    free(col);
    free(row);
    return sum / (double)n;
}

/* every ll_train a fit reports */
typedef struct {
    double ll[2048];
    int iter[2048];
    int n;
} trace_rec;

static int record(const gmm_iter_info *it, void *ud)
{
    trace_rec *t = ud;
    if (t->n < 2048) {
        t->ll[t->n] = it->ll_train;
        t->iter[t->n] = it->iter;
        t->n++;
    }
    return 0;
}

/* a test problem: k0 overlapping components in d dimensions */
static double *mixture_data(gsl_rng *r, size_t k0, size_t d, size_t n, double sep)
{
    double *w = lz_test_dalloc(k0), *mu = lz_test_dalloc(k0 * d), *c = lz_test_dalloc(k0 * d * d),
           *x = lz_test_dalloc(n * d);
    for (size_t z = 0; z < k0; z++) {
        w[z] = 1.0 / (double)k0;
        for (size_t j = 0; j < d; j++) mu[z * d + j] = sep * gsl_ran_gaussian(r, 1.0);
        random_spd(r, d, 0.2, 2.0, c + z * d * d);
    }
    draw_mixture(r, k0, d, n, w, mu, c, x, NULL);
    free(w);
    free(mu);
    free(c);
    return x;
}

static gmm_model *fit(const gmm_config *c, size_t n, size_t d, const double *x, size_t nt,
                      const double *xt, trace_rec *tr, gmm_result *res)
{
    gmm_model *m = gmm_model_alloc(d, (size_t)c->k, c->cov);
    ck_assert_ptr_nonnull(m);
    lz_error err;
    gmm_result rr;
    lz_status st = gmm_fit(c, n, x, nt, xt, m, tr ? record : NULL, tr, res ? res : &rr, &err);
    ck_assert_msg(st == LZ_OK, "gmm_fit: %s", err.msg);
    return m;
}

static int all_finite(size_t n, const double *a)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(a[i])) return 0;
    return 1;
}

/* ------------------------------------------------------------------ */

/* EM never lowers ll/N, for each covariance type, on overlapping clusters
 * with more components than the truth, a constant column (the floor is
 * active there) and repeated rows; and the last ll/N equals the direct
 * evaluation of the returned parameters.  The same for SQUAREM cycles,
 * which end at least as high as plain EM's 150 steps (to 1e-6 relative:
 * both are near the same optimum) in no more E-steps. */
START_TEST(em_never_decreases_ll)
{
    gsl_rng *r = lz_rng_alloc(11);
    size_t n = 600, d = 4, k = 5;
    double *x = mixture_data(r, 3, d - 1, n, 1.5), *xx = lz_test_dalloc(n * d);
    for (size_t i = 0; i < n; i++) {
        /* the first 40 rows are copies of row 40 */
        const double *src = x + (i < 40 ? 40 : i) * (d - 1);
        memcpy(xx + i * d, src, (d - 1) * sizeof *xx);
        xx[i * d + d - 1] = 2.5; /* constant */
    }
    for (int ci = 0; ci < 4; ci++) {
        gmm_config c;
        gmm_config_default(&c);
        c.k = (int)k;
        c.cov = COVS[ci];
        c.tol = 0;
        c.max_iter = 150;
        c.reg = 1e-3;
        c.accelerate = 0; /* plain EM: every step; SQUAREM below */
        trace_rec tr = {{0}, {0}, 0};
        gmm_result res;
        gmm_model *m = fit(&c, n, d, xx, 0, NULL, &tr, &res);
        ck_assert_int_eq(tr.n, 151);
        /* rounding: ll/N is a mean of n terms of size |ll|, each known to a
         * few eps */
        for (int t = 1; t < tr.n; t++)
            ck_assert_msg(tr.ll[t] >= tr.ll[t - 1] - 1e-13 * fabs(tr.ll[t - 1]),
                          "%s, iteration %d: ll fell from %.17g to %.17g", gmm_cov_name(c.cov), t,
                          tr.ll[t - 1], tr.ll[t]);
        ck_assert_msg(tr.ll[tr.n - 1] > tr.ll[0] + 0.01, "%s: EM did not move",
                      gmm_cov_name(c.cov));
        double dl = direct_loglik(m, n, xx, NULL, NULL);
        ck_assert_msg(fabs(dl - res.ll_train) <= 1e-11 * fabs(dl), "%s: ll %.17g, direct %.17g",
                      gmm_cov_name(c.cov), res.ll_train, dl);
        /* SQUAREM from the same start: every line at least as high as the one
         * before, and it ends at least as high as plain EM after the same
         * number of E-steps */
        double ll_em = tr.ll[tr.n - 1];
        c.accelerate = 1;
        c.max_iter = 40;
        trace_rec ts = {{0}, {0}, 0};
        gmm_result ra;
        gmm_model *ma = fit(&c, n, d, xx, 0, NULL, &ts, &ra);
        for (int t = 1; t < ts.n; t++)
            ck_assert_msg(ts.ll[t] >= ts.ll[t - 1] - 1e-13 * fabs(ts.ll[t - 1]),
                          "%s SQUAREM, line %d: ll fell from %.17g to %.17g", gmm_cov_name(c.cov),
                          t, ts.ll[t - 1], ts.ll[t]);
        ck_assert_msg(ra.e_steps <= 151, "%s: %ld E-steps", gmm_cov_name(c.cov), ra.e_steps);
        ck_assert_msg(ra.ll_train >= ll_em - 1e-6 * fabs(ll_em), "%s: SQUAREM %.17g, EM %.17g",
                      gmm_cov_name(c.cov), ra.ll_train, ll_em);
        dl = direct_loglik(ma, n, xx, NULL, NULL);
        ck_assert(fabs(dl - ra.ll_train) <= 1e-11 * fabs(dl));
        gmm_model_free(ma);
        gmm_model_free(m);
    }
    free(x);
    free(xx);
    gsl_rng_free(r);
}
END_TEST

/* K = 1 is the Gaussian maximum-likelihood fit in closed form: the mean,
 * S = (1/n) sum (x - mean)(x - mean)^T (two-pass, lz_covariance), and
 * ll/N = -1/2 [d log 2pi + log|S| + d] (full, tied), its diagonal (diag),
 * tr(S)/d I (spherical) */
START_TEST(k1_is_the_gaussian_ml_fit)
{
    gsl_rng *r = lz_rng_alloc(3);
    size_t n = 500, d = 4;
    double *c = lz_test_dalloc(d * d), *mu0 = lz_test_dalloc(d), *x = lz_test_dalloc(n * d), w = 1;
    random_spd(r, d, 0.5, 3.0, c);
    for (size_t j = 0; j < d; j++) mu0[j] = 10.0 * (double)(j + 1);
    draw_mixture(r, 1, d, n, &w, mu0, c, x, NULL);
    double *mean = lz_test_dalloc(d), *s = lz_test_dalloc(d * d), *sg = lz_test_dalloc(d * d);
    lz_error err;
    lz_mean(n, d, x, mean);
    ck_assert_int_eq(lz_covariance(n, d, x, mean, s, &err), LZ_OK);
    for (int ci = 0; ci < 4; ci++) {
        gmm_config cf;
        gmm_config_default(&cf);
        cf.k = 1;
        cf.cov = COVS[ci];
        gmm_result res;
        gmm_model *m = fit(&cf, n, d, x, 0, NULL, NULL, &res);
        double tr = 0, ll;
        for (size_t j = 0; j < d; j++) tr += s[j * d + j];
        memset(sg, 0, d * d * sizeof *sg);
        for (size_t i = 0; i < d; i++)
            for (size_t j = 0; j < d; j++)
                sg[i * d + j] = cf.cov == GMM_FULL || cf.cov == GMM_TIED ? s[i * d + j]
                                : i != j                                 ? 0.0
                                : cf.cov == GMM_DIAG                     ? s[i * d + i]
                                                                         : tr / (double)d;
        ck_assert_int_eq(lz_mvn_avg_loglik(d, sg, s, &ll, &err), LZ_OK);
        double *got = lz_test_dalloc(d * d);
        full_cov(m, 0, got);
        ck_assert_double_eq(m->weights[0], 1.0);
        for (size_t j = 0; j < d; j++)
            ck_assert_msg(fabs(m->means[j] - mean[j]) <= 1e-13 * fabs(mean[j]), "mean %zu", j);
        for (size_t i = 0; i < d * d; i++)
            ck_assert_msg(fabs(got[i] - sg[i]) <=
                              1e-12 * sqrt(s[(i / d) * (d + 1)] * s[(i % d) * (d + 1)]),
                          "%s: Sigma entry %zu: %.17g, closed form %.17g", gmm_cov_name(cf.cov), i,
                          got[i], sg[i]);
        ck_assert_msg(fabs(res.ll_train - ll) <= 1e-12 * fabs(ll),
                      "%s: ll %.17g, closed form %.17g", gmm_cov_name(cf.cov), res.ll_train, ll);
        ck_assert_int_eq(gmm_n_params(m),
                         d + (cf.cov == GMM_FULL || cf.cov == GMM_TIED ? d * (d + 1) / 2
                              : cf.cov == GMM_DIAG                     ? d
                                                                       : 1));
        free(got);
        gmm_model_free(m);
    }
    free(c);
    free(mu0);
    free(x);
    free(mean);
    free(s);
    free(sg);
    gsl_rng_free(r);
}
END_TEST

/* ll/N of the fit, gmm_loglik and the responsibilities equal the direct
 * evaluation from the parameters (lz_mvn_logpdf per component), on the
 * training and on a test set */
START_TEST(loglik_equals_direct_evaluation)
{
    gsl_rng *r = lz_rng_alloc(5);
    size_t n = 700, nt = 300, d = 5, k = 3;
    double *x = mixture_data(r, 3, d, n + nt, 3.0), *xt = x + n * d;
    /* an offset far larger than the spread: the expanded quadratic forms of
     * diag and spherical components are taken about a point near the data */
    for (size_t i = 0; i < (n + nt) * d; i++) x[i] += 1e3;
    for (int ci = 0; ci < 4; ci++) {
        gmm_config c;
        gmm_config_default(&c);
        c.k = (int)k;
        c.cov = COVS[ci];
        gmm_result res;
        gmm_model *m = fit(&c, n, d, x, nt, xt, NULL, &res);
        double *lp = lz_test_dalloc(n), *lpd = lz_test_dalloc(n), *rr = lz_test_dalloc(n * k),
               *rd = lz_test_dalloc(n * k), ll;
        lz_error err;
        double dl = direct_loglik(m, n, x, lpd, rd), dlt = direct_loglik(m, nt, xt, NULL, NULL);
        ck_assert_int_eq(gmm_loglik(m, n, x, &ll, &err), LZ_OK);
        ck_assert_int_eq(gmm_responsibilities(m, n, x, rr, lp, &err), LZ_OK);
        /* the direct form and ours round differently: ~d kappa eps relative */
        ck_assert_msg(fabs(res.ll_train - dl) <= 1e-11 * fabs(dl), "%s: ll %.17g direct %.17g",
                      gmm_cov_name(c.cov), res.ll_train, dl);
        ck_assert_msg(fabs(res.ll_test - dlt) <= 1e-11 * fabs(dlt),
                      "%s: ll_test %.17g direct %.17g", gmm_cov_name(c.cov), res.ll_test, dlt);
        ck_assert(ll == res.ll_train); /* the same pass, the same rounding */
        for (size_t i = 0; i < n; i++) {
            ck_assert_msg(fabs(lp[i] - lpd[i]) <= 1e-10 * fabs(lpd[i]), "log p row %zu", i);
            double sr = 0;
            for (size_t z = 0; z < k; z++) {
                ck_assert_msg(fabs(rr[i * k + z] - rd[i * k + z]) <= 1e-9, "r row %zu", i);
                sr += rr[i * k + z];
            }
            ck_assert(fabs(sr - 1) <= 1e-14);
        }
        free(lp);
        free(lpd);
        free(rr);
        free(rd);
        gmm_model_free(m);
    }
    free(x);
    gsl_rng_free(r);
}
END_TEST

/* a known well-separated mixture is recovered from n = 6000 of its draws:
 * the components, matched by their nearest means, have weights, means and
 * covariance entries within 5 standard errors of the truth.  With the means
 * 15 standard deviations apart the responsibilities are 0 or 1 to ~1e-40,
 * so the ML estimates are each component's sample moments, whose standard
 * errors are sqrt(pi(1 - pi)/n) (weight), sqrt(Sigma_jj / n_z) (mean) and
 * sqrt((Sigma_ii Sigma_jj + Sigma_ij^2) / n_z) (covariance), n_z = pi_z n;
 * a 5-se miss has probability below 1e-6 per entry. */
START_TEST(recovers_known_mixture)
{
    gsl_rng *r = lz_rng_alloc(21);
    size_t n = 6000, d = 3, k = 3;
    double w[3] = {0.5, 0.3, 0.2};
    double mu[9] = {0, 0, 0, 15, 0, 0, 0, 15, 0};
    double *c = lz_test_dalloc(k * d * d), *x = lz_test_dalloc(n * d);
    for (int tied = 0; tied < 2; tied++) {
        for (size_t z = 0; z < k; z++)
            if (!tied || z == 0)
                random_spd(r, d, 0.3, 1.0, c + z * d * d);
            else
                memcpy(c + z * d * d, c, d * d * sizeof *c);
        draw_mixture(r, k, d, n, w, mu, c, x, NULL);
        gmm_config cf;
        gmm_config_default(&cf);
        cf.k = (int)k;
        cf.cov = tied ? GMM_TIED : GMM_FULL;
        gmm_model *m = fit(&cf, n, d, x, 0, NULL, NULL, NULL);
        double *s = lz_test_dalloc(d * d);
        for (size_t z = 0; z < k; z++) {
            size_t best = 0;
            double bd = INFINITY;
            for (size_t q = 0; q < k; q++) {
                double e = 0;
                for (size_t j = 0; j < d; j++) e += pow(m->means[q * d + j] - mu[z * d + j], 2);
                if (e < bd) bd = e, best = q;
            }
            double nz = w[z] * (double)n, se_w = sqrt(w[z] * (1 - w[z]) / (double)n);
            ck_assert_msg(fabs(m->weights[best] - w[z]) <= 5 * se_w, "weight %zu: %g vs %g", z,
                          m->weights[best], w[z]);
            const double *cz = c + z * d * d;
            for (size_t j = 0; j < d; j++)
                ck_assert_msg(fabs(m->means[best * d + j] - mu[z * d + j]) <=
                                  5 * sqrt(cz[j * d + j] / nz),
                              "mean %zu,%zu", z, j);
            full_cov(m, best, s);
            /* tied: one Sigma from all n rows */
            double nn = tied ? (double)n : nz;
            for (size_t i = 0; i < d; i++)
                for (size_t j = 0; j < d; j++) {
                    double se =
                        sqrt((cz[i * d + i] * cz[j * d + j] + cz[i * d + j] * cz[i * d + j]) / nn);
                    ck_assert_msg(fabs(s[i * d + j] - cz[i * d + j]) <= 5 * se,
                                  "%s Sigma_%zu (%zu,%zu): %g vs %g", tied ? "tied" : "full", z, i,
                                  j, s[i * d + j], cz[i * d + j]);
                }
        }
        free(s);
        gmm_model_free(m);
    }
    free(c);
    free(x);
    gsl_rng_free(r);
}
END_TEST

/* a duplicated point, a component forced onto one point, more components
 * than distinct rows: no NaN anywhere, the collapsed components reported
 * (GMM_ON_POINT with Sigma on the floor, GMM_FADED), ll/N finite */
START_TEST(collapse_gives_no_nan)
{
    gsl_rng *r = lz_rng_alloc(7);
    size_t n0 = 200, d = 2, n = n0 + 10 + 1;
    double *x = lz_test_dalloc(n * d);
    for (size_t i = 0; i < n0 * d; i++) x[i] = gsl_ran_gaussian(r, 1.0);
    for (size_t i = n0; i < n0 + 10; i++) x[i * d] = 8, x[i * d + 1] = 8; /* 10 copies */
    x[(n - 1) * d] = 9, x[(n - 1) * d + 1] = -9;                          /* one outlier */
    /* one start on the copies, one on the outlier */
    double init[8] = {0, 0, 1, 1, 8, 8, 9, -9};
    for (int ci = 0; ci < 4; ci++) {
        gmm_config c;
        gmm_config_default(&c);
        c.k = 4;
        c.cov = COVS[ci];
        c.init = GMM_INIT_FILE;
        c.init_means = init;
        trace_rec tr = {{0}, {0}, 0};
        gmm_model *m = fit(&c, n, d, x, 0, NULL, &tr, NULL);
        ck_assert(all_finite(m->k, m->weights) && all_finite(m->k * d, m->means));
        ck_assert(all_finite(gmm_cov_size(d, m->k, m->cov), m->covs));
        ck_assert(all_finite((size_t)tr.n, tr.ll));
        double *rr = lz_test_dalloc(n * m->k), ll;
        lz_error err;
        ck_assert_int_eq(gmm_responsibilities(m, n, x, rr, NULL, &err), LZ_OK);
        ck_assert(all_finite(n * m->k, rr));
        ck_assert_int_eq(gmm_loglik(m, n, x, &ll, &err), LZ_OK);
        ck_assert(isfinite(ll));
        if (c.cov != GMM_TIED) {
            /* components 3 and 4 sit on their points, Sigma = the floor */
            ck_assert_int_eq(m->state[2], GMM_ON_POINT);
            ck_assert_int_eq(m->state[3], GMM_ON_POINT);
            ck_assert_uint_eq(gmm_n_collapsed(m), 2);
            ck_assert(fabs(m->weights[2] - 10.0 / (double)n) < 1e-6);
            ck_assert(fabs(m->count[3] - 1.0) < 1e-6);
            double *s = lz_test_dalloc(d * d);
            full_cov(m, 3, s);
            for (size_t i = 0; i < d; i++)
                for (size_t j = 0; j < d; j++)
                    ck_assert(fabs(s[i * d + j] - (i == j ? m->floor[i] : 0)) <=
                              1e-12 * m->floor[i]);
            free(s);
        }
        free(rr);
        gmm_model_free(m);
    }
    /* 3 distinct rows, K = 5: two parts of the initial partition are empty */
    size_t n3 = 30;
    double *x3 = lz_test_dalloc(n3 * d);
    for (size_t i = 0; i < n3; i++)
        x3[i * d] = (double)(i % 3), x3[i * d + 1] = (double)(i % 3) * 2;
    for (int ci = 0; ci < 4; ci++) {
        gmm_config c;
        gmm_config_default(&c);
        c.k = 5;
        c.cov = COVS[ci];
        trace_rec tr = {{0}, {0}, 0};
        gmm_model *m = fit(&c, n3, d, x3, 0, NULL, &tr, NULL);
        ck_assert(all_finite(m->k, m->weights) && all_finite(m->k * d, m->means));
        ck_assert(all_finite(gmm_cov_size(d, m->k, m->cov), m->covs));
        ck_assert(all_finite((size_t)tr.n, tr.ll));
        ck_assert_msg(gmm_n_collapsed(m) >= 2, "%s: %zu collapsed", gmm_cov_name(c.cov),
                      gmm_n_collapsed(m));
        for (size_t z = 0; z < m->k; z++) ck_assert(m->weights[z] > 0);
        gmm_model_free(m);
    }
    free(x3);
    free(x);
    gsl_rng_free(r);
}
END_TEST

/* a column times 1e4 (full, diag, tied), every column times 1e4 (spherical,
 * equivariant under one common rescaling only): the same seed gives the same
 * responsibilities (to 1e-8) and, at every iteration, ll/N shifted by
 * -log 1e4 for each rescaled column */
START_TEST(fit_is_scale_equivariant)
{
    gsl_rng *r = lz_rng_alloc(9);
    size_t n = 400, d = 3, k = 3;
    double *x = mixture_data(r, 3, d, n, 2.0), *xs = lz_test_dalloc(n * d);
    for (int ci = 0; ci < 4; ci++) {
        int cov = COVS[ci], all = cov == GMM_SPHERICAL;
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < d; j++) xs[i * d + j] = x[i * d + j] * (all || j == 1 ? 1e4 : 1);
        double shift = -(all ? (double)d : 1.0) * log(1e4);
        gmm_config c;
        gmm_config_default(&c);
        c.k = (int)k;
        c.cov = cov;
        c.tol = 1e-10;
        trace_rec t1 = {{0}, {0}, 0}, t2 = {{0}, {0}, 0};
        gmm_model *m1 = fit(&c, n, d, x, 0, NULL, &t1, NULL);
        gmm_model *m2 = fit(&c, n, d, xs, 0, NULL, &t2, NULL);
        ck_assert_int_eq(t1.n, t2.n);
        for (int t = 0; t < t1.n; t++)
            ck_assert_msg(fabs(t2.ll[t] - (t1.ll[t] + shift)) <= 1e-10 * fabs(t1.ll[t]),
                          "%s iteration %d: ll %.17g, rescaled %.17g, shift %.17g",
                          gmm_cov_name(cov), t, t1.ll[t], t2.ll[t], t2.ll[t] - t1.ll[t]);
        double *r1 = lz_test_dalloc(n * k), *r2 = lz_test_dalloc(n * k);
        lz_error err;
        ck_assert_int_eq(gmm_responsibilities(m1, n, x, r1, NULL, &err), LZ_OK);
        ck_assert_int_eq(gmm_responsibilities(m2, n, xs, r2, NULL, &err), LZ_OK);
        for (size_t i = 0; i < n * k; i++)
            ck_assert_msg(fabs(r1[i] - r2[i]) <= 1e-8, "%s: r %zu: %.17g vs %.17g",
                          gmm_cov_name(cov), i, r1[i], r2[i]);
        free(r1);
        free(r2);
        gmm_model_free(m1);
        gmm_model_free(m2);
    }
    free(x);
    free(xs);
    gsl_rng_free(r);
}
END_TEST

/* the number of threads changes nothing: 1 and 2 threads give bit-identical
 * parameters and ll/N on data of several chunks */
START_TEST(threads_do_not_change_results)
{
    gsl_rng *r = lz_rng_alloc(13);
    size_t n = 20000, d = 3;
    double *x = mixture_data(r, 4, d, n, 2.0);
    for (int ci = 0; ci < 4; ci++) {
        gmm_config c;
        gmm_config_default(&c);
        c.k = 4;
        c.cov = COVS[ci];
        c.max_iter = 20;
        gmm_result r1, r2;
        gmm_set_threads(1);
        gmm_model *m1 = fit(&c, n, d, x, 0, NULL, NULL, &r1);
        gmm_set_threads(2);
        gmm_model *m2 = fit(&c, n, d, x, 0, NULL, NULL, &r2);
        ck_assert(r1.ll_train == r2.ll_train);
        ck_assert(!memcmp(m1->means, m2->means, 4 * d * sizeof *m1->means));
        ck_assert(!memcmp(m1->covs, m2->covs, gmm_cov_size(d, 4, c.cov) * sizeof *m1->covs));
        ck_assert(!memcmp(m1->weights, m2->weights, 4 * sizeof *m1->weights));
        gmm_model_free(m1);
        gmm_model_free(m2);
    }
    gmm_set_threads(1);
    free(x);
    gsl_rng_free(r);
}
END_TEST

/* the floor is the constrained maximiser: K = 1 on data near a line (two
 * directions of S below the floor) gives Sigma >= F (eigenvalues of
 * F^-1/2 Sigma F^-1/2 at least 1) with -1/2 [log|Sigma| + tr(Sigma^-1 S)]
 * at least as high as at 500 random feasible Sigma', and ll/N equals that
 * objective - d/2 log 2pi */
START_TEST(floor_is_the_constrained_maximum)
{
    gsl_rng *r = lz_rng_alloc(17);
    size_t n = 300, d = 3;
    double *x = lz_test_dalloc(n * d);
    for (size_t i = 0; i < n; i++) {
        double t = gsl_ran_gaussian(r, 1.0);
        for (size_t j = 0; j < d; j++)
            x[i * d + j] = t * (double)(j + 1) + 1e-3 * gsl_ran_gaussian(r, 1.0);
    }
    double *mean = lz_test_dalloc(d), *s = lz_test_dalloc(d * d), *sg = lz_test_dalloc(d * d),
           *a = lz_test_dalloc(d * d), *ev = lz_test_dalloc(d), *p = lz_test_dalloc(d * d);
    lz_error err;
    lz_mean(n, d, x, mean);
    ck_assert_int_eq(lz_covariance(n, d, x, mean, s, &err), LZ_OK);
    gmm_config c;
    gmm_config_default(&c);
    c.k = 1;
    c.reg = 1e-2;
    gmm_result res;
    gmm_model *m = fit(&c, n, d, x, 0, NULL, NULL, &res);
    const double *f = m->floor;
    for (size_t j = 0; j < d; j++) ck_assert(fabs(f[j] - c.reg * s[j * d + j]) <= 1e-14 * f[j]);
    full_cov(m, 0, sg);
    /* feasibility */
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j < d; j++) a[i * d + j] = sg[i * d + j] / sqrt(f[i] * f[j]);
    ck_assert_int_eq(lz_eigh(d, a, ev, a, &err), LZ_OK);
    ck_assert(ev[d - 1] >= 1 - 1e-12);
    ck_assert(ev[d - 2] <= 1 + 1e-12); /* the floor is active in two directions */
    /* Q(Sigma) = -1/2 [log|Sigma| + tr(Sigma^-1 S)] */
#define Q(SIG, OUT)                                                                                \
    do {                                                                                           \
        double ll_;                                                                                \
        ck_assert_int_eq(lz_mvn_avg_loglik(d, SIG, s, &ll_, &err), LZ_OK);                         \
        OUT = ll_ + 0.5 * (double)d * LZ_LOG_2PI;                                                  \
    } while (0)
    double q0, q1;
    Q(sg, q0);
    ck_assert_msg(fabs(res.ll_train - (q0 - 0.5 * (double)d * LZ_LOG_2PI)) <= 1e-12 * fabs(q0),
                  "ll %.17g vs %.17g", res.ll_train, q0 - 0.5 * (double)d * LZ_LOG_2PI);
    int tried = 0;
    for (int t = 0; t < 2000 && tried < 500; t++) {
        /* Sigma' = Sigma + eps P P^T - eps' Q: feasible if its F-whitened
         * eigenvalues stay >= 1 */
        double sc = pow(10.0, -4 + 4 * gsl_rng_uniform(r));
        lz_rng_gauss(r, d * d, p);
        for (size_t i = 0; i < d; i++)
            for (size_t j = 0; j <= i; j++) {
                double v = sc * 0.5 * (p[i * d + j] + p[j * d + i]) * sqrt(f[i] * f[j]);
                a[i * d + j] = a[j * d + i] = sg[i * d + j] + v;
            }
        double *w = lz_test_dalloc(d * d);
        for (size_t i = 0; i < d; i++)
            for (size_t j = 0; j < d; j++) w[i * d + j] = a[i * d + j] / sqrt(f[i] * f[j]);
        ck_assert_int_eq(lz_eigh(d, w, ev, w, &err), LZ_OK);
        free(w);
        if (ev[d - 1] < 1) continue;
        tried++;
        Q(a, q1);
        ck_assert_msg(q1 <= q0 + 1e-12 * fabs(q0), "a feasible Sigma' does better: %.17g > %.17g",
                      q1, q0);
    }
#undef Q
    ck_assert_int_ge(tried, 100);
    gmm_model_free(m);
    free(x);
    free(mean);
    free(s);
    free(sg);
    free(a);
    free(ev);
    free(p);
    gsl_rng_free(r);
}
END_TEST

/* draws have the mixture's moments: component frequencies pi_z, mean
 * sum pi mu, covariance sum pi (Sigma + mu mu^T) - mean mean^T, within 5
 * standard errors (40000 draws) */
/* gmm_on_floor counts the directions of Sigma_z on the floor in the floor's
 * whitened coordinates and flags the columns whose variance is the floor's:
 * Sigma = F^1/2 (I + 5 u u^T) F^1/2 has whitened eigenvalues 6, 1, 1, so two
 * directions on the floor, and with u = e_1 columns 2 and 3 at the floor;
 * rotating u off the axes leaves two directions but no column at the floor.
 * Diag and spherical count coordinates, and a Sigma 1e-3 above the floor
 * everywhere has none. */
START_TEST(on_floor_counts_directions_and_columns)
{
    size_t d = 3, nd = 0;
    unsigned char col[3];
    lz_error e;
    gmm_model *m = gmm_model_alloc(d, 1, GMM_FULL);
    ck_assert_ptr_nonnull(m);
    double fl[3] = {1, 2, 3}, us[2][3] = {{1, 0, 0}, {0.6, 0.8, 0}};
    for (int c = 0; c < 2; c++) {
        memcpy(m->floor, fl, sizeof fl);
        for (size_t i = 0; i < d; i++)
            for (size_t j = 0; j < d; j++)
                m->covs[i * d + j] = sqrt(fl[i] * fl[j]) * ((i == j) + 5.0 * us[c][i] * us[c][j]);
        ck_assert_int_eq(gmm_on_floor(m, 0, &nd, col, &e), LZ_OK);
        ck_assert_uint_eq(nd, 2);
        ck_assert_uint_eq(col[0], 0);
        ck_assert_uint_eq(col[1], c == 0);
        ck_assert_uint_eq(col[2], 1); /* u_3 = 0 in both */
        for (size_t i = 0; i < d; i++) m->covs[i * d + i] += 1e-3 * fl[i];
        ck_assert_int_eq(gmm_on_floor(m, 0, &nd, col, &e), LZ_OK);
        ck_assert_uint_eq(nd, 0);
        ck_assert_uint_eq(col[0] + col[1] + col[2], 0);
    }
    gmm_model_free(m);
    m = gmm_model_alloc(d, 2, GMM_DIAG);
    ck_assert_ptr_nonnull(m);
    memcpy(m->floor, fl, sizeof fl);
    double dv[6] = {1, 2.5, 3, 1.01, 2.02, 3.03};
    memcpy(m->covs, dv, sizeof dv);
    ck_assert_int_eq(gmm_on_floor(m, 0, &nd, col, &e), LZ_OK);
    ck_assert_uint_eq(nd, 2);
    ck_assert(col[0] && !col[1] && col[2]);
    ck_assert_int_eq(gmm_on_floor(m, 1, &nd, NULL, &e), LZ_OK);
    ck_assert_uint_eq(nd, 0);
    gmm_model_free(m);
    m = gmm_model_alloc(d, 1, GMM_SPHERICAL);
    ck_assert_ptr_nonnull(m);
    for (size_t j = 0; j < d; j++) m->floor[j] = 2;
    m->covs[0] = 2;
    ck_assert_int_eq(gmm_on_floor(m, 0, &nd, col, &e), LZ_OK);
    ck_assert_uint_eq(nd, d);
    m->covs[0] = 2.5;
    ck_assert_int_eq(gmm_on_floor(m, 0, &nd, col, &e), LZ_OK);
    ck_assert_uint_eq(nd, 0);
    gmm_model_free(m);
}
END_TEST

START_TEST(samples_have_the_mixture_moments)
{
    gsl_rng *r = lz_rng_alloc(19);
    size_t d = 2, k = 3, n = 40000;
    for (int ci = 0; ci < 4; ci++) {
        gmm_model *m = gmm_model_alloc(d, k, COVS[ci]);
        double w[3] = {0.2, 0.5, 0.3};
        for (size_t z = 0; z < k; z++) {
            m->weights[z] = w[z];
            for (size_t j = 0; j < d; j++) m->means[z * d + j] = 3.0 * gsl_ran_gaussian(r, 1.0);
        }
        for (size_t i = 0; i < gmm_cov_size(d, k, m->cov); i++)
            m->covs[i] = 0.5 + gsl_rng_uniform(r);
        if (m->cov == GMM_FULL || m->cov == GMM_TIED)
            for (size_t z = 0; z < (m->cov == GMM_FULL ? k : 1); z++)
                random_spd(r, d, 0.3, 2.0, m->covs + z * d * d);
        double *x = lz_test_dalloc(n * d), *s = lz_test_dalloc(d * d);
        size_t *comp = calloc(n, sizeof *comp);
        lz_error err;
        ck_assert_int_eq(gmm_sample(m, r, n, x, comp, &err), LZ_OK);
        double mean[2] = {0, 0}, cov[4] = {0, 0, 0, 0}, cnt[3] = {0, 0, 0};
        for (size_t z = 0; z < k; z++) {
            full_cov(m, z, s);
            for (size_t i = 0; i < d; i++) {
                mean[i] += w[z] * m->means[z * d + i];
                for (size_t j = 0; j < d; j++)
                    cov[i * d + j] +=
                        w[z] * (s[i * d + j] + m->means[z * d + i] * m->means[z * d + j]);
            }
        }
        for (size_t i = 0; i < d; i++)
            for (size_t j = 0; j < d; j++) cov[i * d + j] -= mean[i] * mean[j];
        double sm[2] = {0, 0}, sc[4] = {0, 0, 0, 0};
        for (size_t t = 0; t < n; t++) {
            cnt[comp[t]] += 1;
            for (size_t i = 0; i < d; i++) sm[i] += x[t * d + i] / (double)n;
        }
        for (size_t t = 0; t < n; t++)
            for (size_t i = 0; i < d; i++)
                for (size_t j = 0; j < d; j++)
                    sc[i * d + j] += (x[t * d + i] - sm[i]) * (x[t * d + j] - sm[j]) / (double)n;
        for (size_t z = 0; z < k; z++)
            ck_assert(fabs(cnt[z] / (double)n - w[z]) <= 5 * sqrt(w[z] * (1 - w[z]) / (double)n));
        for (size_t i = 0; i < d; i++) {
            ck_assert(fabs(sm[i] - mean[i]) <= 5 * sqrt(cov[i * d + i] / (double)n));
            for (size_t j = 0; j < d; j++) {
                /* the sd of a covariance estimate, bounded with the fourth
                 * moments of a mixture: at most ~3 times the Gaussian one */
                double se =
                    3 * sqrt((cov[i * d + i] * cov[j * d + j] + cov[i * d + j] * cov[i * d + j]) /
                             (double)n);
                ck_assert_msg(fabs(sc[i * d + j] - cov[i * d + j]) <= 5 * se, "%s cov (%zu,%zu)",
                              gmm_cov_name(m->cov), i, j);
            }
        }
        free(x);
        free(s);
        free(comp);
        gmm_model_free(m);
    }
    gsl_rng_free(r);
}
END_TEST

/* ------------------------------------------------------------------ */
/* files and configuration */

static char g_dir[] = "/tmp/test_gmm.XXXXXX";

static const char *tmp_path(const char *name)
{
    static char buf[256];
    snprintf(buf, sizeof buf, "%s/%s", g_dir, name);
    return buf;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

/* expect gmm_model_read to fail on text, with msg in the error */
static void bad_model(const char *text, const char *msg)
{
    write_text(tmp_path("bad.model"), text);
    gmm_model *m = NULL;
    lz_error err;
    ck_assert_int_ne(gmm_model_read(tmp_path("bad.model"), &m, &err), LZ_OK);
    ck_assert_ptr_null(m);
    ck_assert_msg(strstr(err.msg, msg) != NULL, "'%s' lacks '%s'", err.msg, msg);
}

START_TEST(model_file_round_trip_and_checks)
{
    ck_assert_ptr_nonnull(mkdtemp(g_dir));
    gsl_rng *r = lz_rng_alloc(23);
    size_t n = 300, d = 3;
    double *x = mixture_data(r, 2, d, n, 3.0);
    for (int ci = 0; ci < 4; ci++) {
        gmm_config c;
        gmm_config_default(&c);
        c.k = 2;
        c.cov = COVS[ci];
        gmm_model *m = fit(&c, n, d, x, 0, NULL, NULL, NULL), *m2 = NULL;
        lz_outset *os = lz_outset_alloc();
        lz_error err;
        ck_assert_int_eq(gmm_model_write(m, os, tmp_path("m.model"), &err), LZ_OK);
        ck_assert_int_eq(lz_outset_commit(os, &err), LZ_OK);
        lz_outset_free(os);
        ck_assert_int_eq(gmm_model_read(tmp_path("m.model"), &m2, &err), LZ_OK);
        ck_assert_int_eq(m2->cov, m->cov);
        ck_assert(!memcmp(m->weights, m2->weights, 2 * sizeof *m->weights));
        ck_assert(!memcmp(m->means, m2->means, 2 * d * sizeof *m->means));
        ck_assert(!memcmp(m->covs, m2->covs, gmm_cov_size(d, 2, m->cov) * sizeof *m->covs));
        ck_assert(!memcmp(m->floor, m2->floor, d * sizeof *m->floor));
        double l1, l2;
        ck_assert_int_eq(gmm_loglik(m, n, x, &l1, &err), LZ_OK);
        ck_assert_int_eq(gmm_loglik(m2, n, x, &l2, &err), LZ_OK);
        ck_assert(l1 == l2);
        gmm_model_free(m);
        gmm_model_free(m2);
    }
    const char *head = "# latent-zoo model\nkind gmm 1\nint d 2\nint k 2\nstr cov full\n";
    char buf[2048];
#define BAD(BODY, MSG)                                                                             \
    do {                                                                                           \
        snprintf(buf, sizeof buf, "%s%s", head, BODY);                                             \
        bad_model(buf, MSG);                                                                       \
    } while (0)
    const char *good_tail =
        "array means 2 2\n0 0\n1 1\narray covariances 4 2\n1 0\n0 1\n2 0.5\n0.5 1\n"
        "array floor 2 1\n1e-6\n1e-6\nend\n";
    snprintf(buf, sizeof buf, "%sarray weights 2 1\n0.25\n0.75\n%s", head, good_tail);
    write_text(tmp_path("ok.model"), buf);
    gmm_model *m = NULL;
    lz_error err;
    ck_assert_int_eq(gmm_model_read(tmp_path("ok.model"), &m, &err), LZ_OK);
    gmm_model_free(m);
    snprintf(buf, sizeof buf, "%sarray weights 2 1\n0.25\n0.7\n%s", head, good_tail);
    bad_model(buf, "the weights sum to 0.95");
    snprintf(buf, sizeof buf, "%sarray weights 2 1\n-0.25\n1.25\n%s", head, good_tail);
    bad_model(buf, "weights, component 1");
    BAD("array weights 2 1\n0.5\n0.5\narray means 2 2\n0 0\n1 1\narray covariances 4 2\n1 0\n0.3 "
        "1\n2 0.5\n0.5 1\n"
        "array floor 2 1\n1e-6\n1e-6\nend\n",
        "expected a symmetric matrix");
    BAD("array weights 2 1\n0.5\n0.5\narray means 2 2\n0 0\n1 1\narray covariances 4 2\n1 0\n0 "
        "1\n1 2\n2 1\n"
        "array floor 2 1\n1e-6\n1e-6\nend\n",
        "component 2: expected a positive definite matrix");
    BAD("array weights 2 1\n0.5\n0.5\narray means 2 2\n0 nan\n1 1\narray covariances 4 2\n1 0\n0 "
        "1\n2 0.5\n0.5 1\n"
        "array floor 2 1\n1e-6\n1e-6\nend\n",
        "expected a finite number");
    /* declared sizes far beyond the arrays present: an error before anything
     * is allocated from them */
    bad_model("# latent-zoo model\nkind gmm 1\nint d 100000\nint k 100000\nstr cov full\n"
              "array weights 2 1\n0.5\n0.5\narray means 2 2\n0 0\n1 1\narray covariances 4 2\n1 "
              "0\n0 1\n1 0\n0 1\n"
              "array floor 2 1\n1\n1\nend\n",
              "array weights is 2 x 1: expected k x 1 = 100000 x 1");
    bad_model("# latent-zoo model\nkind gmm 1\nint d 2\nint k 2\nstr cov diag\n"
              "array weights 2 1\n0.5\n0.5\narray means 2 2\n0 0\n1 1\narray covariances 4 2\n1 "
              "0\n0 1\n1 0\n0 1\n"
              "array floor 2 1\n1\n1\nend\n",
              "array covariances is 4 x 2: expected k x d = 2 x 2");
    bad_model("# latent-zoo model\nkind gmm 1\nint d 2\nint k 2\nstr cov round\nend\n",
              "cov 'round'");
#undef BAD
    /* the means file of --init file: */
    write_text(tmp_path("means.dat"), "# component x1 x2\n1 0.5 1.5\n2 -1 3\n");
    double mu[4];
    ck_assert_int_eq(gmm_means_read(tmp_path("means.dat"), 2, 2, mu, &err), LZ_OK);
    ck_assert(mu[0] == 0.5 && mu[1] == 1.5 && mu[2] == -1 && mu[3] == 3);
    ck_assert_int_ne(gmm_means_read(tmp_path("means.dat"), 2, 3, mu, &err), LZ_OK);
    ck_assert_ptr_nonnull(strstr(err.msg, "2 means: expected K = 3"));
    ck_assert_int_ne(gmm_means_read(tmp_path("means.dat"), 4, 2, mu, &err), LZ_OK);
    ck_assert_ptr_nonnull(strstr(err.msg, "3 columns: expected 4"));
    unlink(tmp_path("means.dat"));
    unlink(tmp_path("ok.model"));
    unlink(tmp_path("bad.model"));
    unlink(tmp_path("m.model"));
    rmdir(g_dir);
    free(x);
    gsl_rng_free(r);
}
END_TEST

/* gmm_init: from a file, the means are the file's exactly, the weights the
 * parts' shares (each part's rows / n), the covariances the parts'
 * (here one part a cluster: its sample covariance about its own mean) */
START_TEST(init_from_file_keeps_the_means)
{
    gsl_rng *r = lz_rng_alloc(29);
    size_t d = 2, k = 2, n = 400;
    double w[2] = {0.25, 0.75}, mu[4] = {0, 0, 20, 0}, c[8] = {1, 0.3, 0.3, 2, 0.5, 0, 0, 0.5};
    double *x = lz_test_dalloc(n * d), *mean = lz_test_dalloc(d), *var = lz_test_dalloc(d),
           *sg = lz_test_dalloc(d * d);
    size_t *lab = calloc(n, sizeof *lab);
    draw_mixture(r, k, d, n, w, mu, c, x, lab);
    double init[4] = {0.5, -0.25, 19.0, 0.125};
    gmm_config cf;
    gmm_config_default(&cf);
    cf.k = 2;
    cf.init = GMM_INIT_FILE;
    cf.init_means = init;
    lz_error err;
    lz_mean(n, d, x, mean);
    for (size_t j = 0; j < d; j++) {
        for (size_t i = 0; i < n; i++) var[j] += pow(x[i * d + j] - mean[j], 2) / (double)n;
    }
    gmm_model *m = gmm_model_alloc(d, k, GMM_FULL);
    ck_assert_int_eq(gmm_set_floor(cf.reg, GMM_FULL, d, mean, var, m->floor, &err), LZ_OK);
    ck_assert_int_eq(gmm_init(&cf, n, x, mean, var, r, m, &err), LZ_OK);
    ck_assert(!memcmp(m->means, init, sizeof init));
    size_t n1 = 0;
    for (size_t i = 0; i < n; i++) n1 += lab[i] == 1;
    ck_assert(fabs(m->weights[1] - (double)n1 / (double)n) < 1e-15);
    ck_assert(fabs(m->weights[0] + m->weights[1] - 1) < 1e-15);
    /* part 2's covariance about its own mean */
    double m2[2] = {0, 0};
    for (size_t i = 0; i < n; i++)
        if (lab[i] == 1)
            for (size_t j = 0; j < d; j++) m2[j] += x[i * d + j] / (double)n1;
    memset(sg, 0, d * d * sizeof *sg);
    for (size_t i = 0; i < n; i++)
        if (lab[i] == 1)
            for (size_t a = 0; a < d; a++)
                for (size_t b = 0; b < d; b++)
                    sg[a * d + b] += (x[i * d + a] - m2[a]) * (x[i * d + b] - m2[b]) / (double)n1;
    for (size_t i = 0; i < d * d; i++) ck_assert(fabs(m->covs[d * d + i] - sg[i]) <= 1e-12);
    gmm_model_free(m);
    free(x);
    free(mean);
    free(var);
    free(sg);
    free(lab);
    gsl_rng_free(r);
}
END_TEST

START_TEST(config_is_checked)
{
    gmm_config c;
    lz_error err;
    gmm_config_default(&c);
    ck_assert_int_eq(gmm_config_check(&c, 0, 0, &err), LZ_OK);
    c.k = 11;
    ck_assert_int_ne(gmm_config_check(&c, 10, 2, &err), LZ_OK);
    ck_assert_ptr_nonnull(strstr(err.msg, "-K 11: expected 1 <= K <= n = 10"));
    /* and gmm_fit refuses K > n */
    double x[20] = {0};
    for (int i = 0; i < 20; i++) x[i] = i * i;
    gmm_model *m = gmm_model_alloc(2, 11, GMM_FULL);
    gmm_result res;
    ck_assert_int_ne(gmm_fit(&c, 10, x, 0, NULL, m, NULL, NULL, &res, &err), LZ_OK);
    gmm_model_free(m);
    gmm_config_default(&c);
    c.k = 0;
    ck_assert_int_ne(gmm_config_check(&c, 0, 0, &err), LZ_OK);
    gmm_config_default(&c);
    c.reg = 0;
    ck_assert_int_ne(gmm_config_check(&c, 0, 0, &err), LZ_OK);
    ck_assert_ptr_nonnull(strstr(err.msg, "--reg 0"));
    c.reg = 1;
    ck_assert_int_ne(gmm_config_check(&c, 0, 0, &err), LZ_OK);
    gmm_config_default(&c);
    c.n_init = 0;
    ck_assert_int_ne(gmm_config_check(&c, 0, 0, &err), LZ_OK);
    gmm_config_default(&c);
    c.tol = -1;
    ck_assert_int_ne(gmm_config_check(&c, 0, 0, &err), LZ_OK);
    ck_assert_int_eq(gmm_cov_parse("tied"), GMM_TIED);
    ck_assert_int_eq(gmm_cov_parse("round"), -1);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("gmm");
    TCase *t = tcase_create("all");
    tcase_add_test(t, em_never_decreases_ll);
    tcase_add_test(t, on_floor_counts_directions_and_columns);
    tcase_add_test(t, k1_is_the_gaussian_ml_fit);
    tcase_add_test(t, loglik_equals_direct_evaluation);
    tcase_add_test(t, recovers_known_mixture);
    tcase_add_test(t, collapse_gives_no_nan);
    tcase_add_test(t, fit_is_scale_equivariant);
    tcase_add_test(t, threads_do_not_change_results);
    tcase_add_test(t, floor_is_the_constrained_maximum);
    tcase_add_test(t, samples_have_the_mixture_moments);
    tcase_add_test(t, model_file_round_trip_and_checks);
    tcase_add_test(t, init_from_file_keeps_the_means);
    tcase_add_test(t, config_is_checked);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    gmm_set_threads(1);
    return lz_check_main(suite());
}
