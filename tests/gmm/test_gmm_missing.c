/* test_gmm_missing.c -- unit tests of the Gaussian mixture on data with
 * missing entries (models/gmm/gmm_missing.c; docs/gmm.md, "Missing values")
 * against independent truth: a direct per-row log-density of the observed
 * part (lz_mvn_logpdf: an |o| x |o| Cholesky a row and component) summed by
 * log-sum-exp, the conditional means of the missing part by an LU solve, the
 * monotonicity of exact EM at 0, 10 and 60 % of the entries missing
 * completely at random, and the complete-data path when nothing is missing.
 *
 * Dimension letters: n samples, d data, k components.  Matrices row-major.
 */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gmm.h"
#include "lz_blas.h"
#include <lapacke.h>
#include <gsl/gsl_randist.h>
#include "lz_data.h"
#include "lz_linalg.h"
#include "lz_prob.h"
#include "lz_check.h"
#include "lz_check_data.h"

static const int COVS[4] = {GMM_FULL, GMM_DIAG, GMM_SPHERICAL, GMM_TIED};

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

/* Sigma_z of m as a full matrix, from the model's compact arrays */
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

/* a random model of the given type: weights in [0.5, 1.5] normalised,
 * means N(0, 4 I), covariances with eigenvalues in [0.2, 3] */
static gmm_model *random_model(gsl_rng *r, size_t d, size_t k, int cov)
{
    gmm_model *m = gmm_model_alloc(d, k, cov);
    ck_assert_ptr_nonnull(m);
    double s = 0;
    for (size_t z = 0; z < k; z++) s += m->weights[z] = 0.5 + gsl_rng_uniform(r);
    for (size_t z = 0; z < k; z++) m->weights[z] /= s;
    for (size_t i = 0; i < k * d; i++) m->means[i] = gsl_ran_gaussian(r, 2.0);
    if (cov == GMM_FULL)
        for (size_t z = 0; z < k; z++) random_spd(r, d, 0.2, 3.0, m->covs + z * d * d);
    if (cov == GMM_TIED) random_spd(r, d, 0.2, 3.0, m->covs);
    if (cov == GMM_DIAG)
        for (size_t i = 0; i < k * d; i++) m->covs[i] = 0.2 + 2.8 * gsl_rng_uniform(r);
    if (cov == GMM_SPHERICAL)
        for (size_t z = 0; z < k; z++) m->covs[z] = 0.2 + 2.8 * gsl_rng_uniform(r);
    for (size_t i = 0; i < d; i++) m->floor[i] = 1e-6;
    return m;
}

/* x (n, d) <- draws of m (GSL normals through a Cholesky factor, written
 * here rather than with gmm_sample) */
static void draw(gsl_rng *r, const gmm_model *m, size_t n, double *x)
{
    size_t d = m->d, k = m->k;
    double *l = lz_test_dalloc(d * d), *e = lz_test_dalloc(d);
    lz_error err;
    for (size_t t = 0; t < n; t++) {
        double u = gsl_rng_uniform(r), cum = 0;
        size_t z = 0;
        for (; z + 1 < k; z++) {
            cum += m->weights[z];
            if (u < cum) break;
        }
        full_cov(m, z, l);
        ck_assert_int_eq(lz_chol(d, l, &err), LZ_OK);
        for (size_t j = 0; j < d; j++) e[j] = gsl_ran_gaussian(r, 1.0);
        for (size_t i = 0; i < d; i++) {
            double v = m->means[z * d + i];
            for (size_t j = 0; j <= i; j++) v += l[i * d + j] * e[j];
            x[t * d + i] = v;
        }
    }
    free(l);
    free(e);
}

/* The direct evaluation, one row at a time: logp (n) <- log sum_z pi_z
 * N(x_o; mu_z,o, Sigma_z,oo) (lz_mvn_logpdf on the observed coordinates, a
 * Cholesky of Sigma_z,oo each row and component, then log-sum-exp), r (n, k)
 * the responsibilities, xf (n, d) <- x with sum_z r_z (mu_z,m + Sigma_z,mo
 * Sigma_z,oo^-1 (x_o - mu_z,o)) where missing (an LU solve).  Returns the
 * mean of logp. */
static double direct(const gmm_model *m, const lz_data *dt, double *logp, double *r, double *xf)
{
    size_t d = m->d, k = m->k, n = dt->n;
    double *s = lz_test_dalloc(d * d), *so = lz_test_dalloc(d * d), *mo = lz_test_dalloc(d),
           *xo = lz_test_dalloc(d), *lz = lz_test_dalloc(k), *b = lz_test_dalloc(d),
           *cm = lz_test_dalloc(k * d);
    size_t *o = malloc(d * sizeof *o), *mi = malloc(d * sizeof *mi);
    lapack_int *piv = malloc(d * sizeof *piv);
    ck_assert(o && mi && piv);
    lz_error err;
    double sum = 0;
    for (size_t t = 0; t < n; t++) {
        size_t no = 0, nm = 0;
        for (size_t i = 0; i < d; i++) {
            if (dt->miss[t * d + i])
                mi[nm++] = i;
            else
                o[no++] = i;
        }
        for (size_t a = 0; a < no; a++) xo[a] = dt->x[t * d + o[a]];
        for (size_t z = 0; z < k; z++) {
            full_cov(m, z, s);
            for (size_t a = 0; a < no; a++) {
                mo[a] = m->means[z * d + o[a]];
                for (size_t c = 0; c < no; c++) so[a * no + c] = s[o[a] * d + o[c]];
            }
            double lp;
            ck_assert_int_eq(lz_mvn_logpdf(1, no, xo, mo, so, &lp, &err), LZ_OK);
            lz[z] = log(m->weights[z]) + lp;
            /* E[x_m | x_o, z]: solve Sigma_oo b = x_o - mu_o by LU */
            for (size_t a = 0; a < no; a++) {
                b[a] = xo[a] - mo[a];
                for (size_t c = 0; c < no; c++) so[a * no + c] = s[o[a] * d + o[c]];
            }
            ck_assert_int_eq(
                LAPACKE_dgesv(LAPACK_ROW_MAJOR, (lapack_int)no, 1, so, (lapack_int)no, piv, b, 1),
                0);
            for (size_t u = 0; u < nm; u++) {
                double e = m->means[z * d + mi[u]];
                for (size_t a = 0; a < no; a++) e += s[mi[u] * d + o[a]] * b[a];
                cm[z * d + mi[u]] = e;
            }
        }
        double l = lz_logsumexp(k, lz);
        logp[t] = l;
        sum += l;
        memcpy(xf + t * d, dt->x + t * d, d * sizeof *xf);
        for (size_t u = 0; u < nm; u++) xf[t * d + mi[u]] = 0;
        for (size_t z = 0; z < k; z++) {
            r[t * k + z] = exp(lz[z] - l);
            for (size_t u = 0; u < nm; u++) xf[t * d + mi[u]] += r[t * k + z] * cm[z * d + mi[u]];
        }
    }
    free(s);
    free(so);
    free(mo);
    free(xo);
    free(lz);
    free(b);
    free(cm);
    free(o);
    free(mi);
    free(piv);
    return sum / (double)n;
}

/* every ll_train a fit reports */
typedef struct {
    double ll[2048], llt[2048];
    int n;
} trace_rec;

static int record(const gmm_iter_info *it, void *ud)
{
    trace_rec *t = ud;
    if (t->n < 2048) {
        t->llt[t->n] = it->ll_test;
        t->ll[t->n++] = it->ll_train;
    }
    return 0;
}

/* ------------------------------------------------------------------ */

/* log p(x_o), the responsibilities and E[x_m | x_o] of gmm_score_incomplete
 * equal the direct per-row evaluation, for each covariance type, on rows
 * with 40 % of their entries missing, ten rows sharing one pattern, five
 * complete rows and one row with a single observed entry */
START_TEST(observed_ll_equals_direct_evaluation)
{
    size_t n = 80, d = 7, k = 3;
    gsl_rng *r = lz_rng_alloc(21);
    lz_error err;
    for (int ci = 0; ci < 4; ci++) {
        gmm_model *m = random_model(r, d, k, COVS[ci]);
        double *x = lz_test_dalloc(n * d), *logp = lz_test_dalloc(n), *rs = lz_test_dalloc(n * k),
               *xf = lz_test_dalloc(n * d);
        double *dlogp = lz_test_dalloc(n), *drs = lz_test_dalloc(n * k),
               *dxf = lz_test_dalloc(n * d);
        unsigned char *miss = calloc(n * d, 1);
        draw(r, m, n, x);
        lz_test_mcar(r, n, d, 0.4, miss);
        for (size_t t = 1; t < 10; t++) memcpy(miss + t * d, miss, d);
        memset(miss + 10 * d, 0, 5 * d);
        memset(miss + 15 * d, 1, d);
        miss[15 * d + 3] = 0;
        lz_data *dt = lz_test_data(n, d, x, miss);
        double ll;
        memcpy(xf, dt->x, n * d * sizeof *xf);
        ck_assert_int_eq(gmm_score_incomplete(m, dt, &ll, rs, logp, xf, &err), LZ_OK);
        double dll = direct(m, dt, dlogp, drs, dxf);
        const char *cn = gmm_cov_name(COVS[ci]);
        ck_assert_msg(fabs(ll - dll) <= 1e-12 * fabs(dll), "%s: ll %.17g, direct %.17g", cn, ll,
                      dll);
        for (size_t t = 0; t < n; t++) {
            ck_assert_msg(fabs(logp[t] - dlogp[t]) <= 1e-12 * (1 + fabs(dlogp[t])),
                          "%s row %zu: log p %.17g, direct %.17g", cn, t, logp[t], dlogp[t]);
            for (size_t z = 0; z < k; z++)
                ck_assert_msg(fabs(rs[t * k + z] - drs[t * k + z]) <= 1e-10, "%s: r(%zu,%zu)", cn,
                              t, z);
            for (size_t i = 0; i < d; i++)
                ck_assert_msg(fabs(xf[t * d + i] - dxf[t * d + i]) <=
                                  1e-10 * (1 + fabs(dxf[t * d + i])),
                              "%s: E[x|x_o](%zu,%zu) %.17g, direct %.17g", cn, t, i, xf[t * d + i],
                              dxf[t * d + i]);
        }
        lz_data_free(dt);
        gmm_model_free(m);
        free(x);
        free(logp);
        free(rs);
        free(xf);
        free(dlogp);
        free(drs);
        free(dxf);
        free(miss);
    }
    gsl_rng_free(r);
}
END_TEST

/* Exact EM never lowers the observed-data ll/N, for each covariance type,
 * with 0, 10 and 60 % of the entries missing completely at random, in plain
 * EM steps and in SQUAREM cycles; the last line's ll/N is the direct
 * evaluation of the returned parameters, and EM moves */
START_TEST(em_never_decreases_with_missing)
{
    size_t n = 500, d = 5, k = 4;
    gsl_rng *r = lz_rng_alloc(22);
    lz_error err;
    gmm_model *truth = random_model(r, d, 3, GMM_FULL);
    double *x = lz_test_dalloc(n * d), *logp = lz_test_dalloc(n), *rs = lz_test_dalloc(n * k),
           *xf = lz_test_dalloc(n * d);
    draw(r, truth, n, x);
    static const double frac[3] = {0.0, 0.1, 0.6};
    unsigned char *miss = calloc(n * d, 1);
    for (int f = 0; f < 3; f++) {
        lz_test_mcar(r, n, d, frac[f], miss);
        lz_data *dt = lz_test_data(n, d, x, miss);
        for (int ci = 0; ci < 4; ci++)
            for (int acc = 0; acc < 2; acc++) {
                gmm_config c;
                gmm_config_default(&c);
                c.k = (int)k;
                c.cov = COVS[ci];
                c.tol = 0;
                c.reg = 1e-3;
                c.accelerate = acc;
                c.max_iter = acc ? 25 : 80;
                gmm_model *m = gmm_model_alloc(d, k, c.cov);
                trace_rec tr = {{0}, {0}, 0};
                gmm_result res;
                ck_assert_int_eq(gmm_fit_incomplete(&c, dt, NULL, m, record, &tr, &res, &err),
                                 LZ_OK);
                /* SQUAREM may stop early: ll/N no longer rises at all */
                ck_assert_msg(acc ? tr.n <= c.max_iter + 1 && tr.n >= 3 : tr.n == c.max_iter + 1,
                              "%s accel %d: %d lines", gmm_cov_name(c.cov), acc, tr.n);
                for (int t = 1; t < tr.n; t++)
                    ck_assert_msg(tr.ll[t] >= tr.ll[t - 1] - 1e-13 * fabs(tr.ll[t - 1]),
                                  "%g %% missing, %s, accel %d, line %d: ll fell from %.17g to "
                                  "%.17g",
                                  100 * frac[f], gmm_cov_name(c.cov), acc, t, tr.ll[t - 1],
                                  tr.ll[t]);
                ck_assert_msg(tr.ll[tr.n - 1] > tr.ll[0] + 0.01, "%s: EM did not move",
                              gmm_cov_name(c.cov));
                double dl = direct(m, dt, logp, rs, xf);
                ck_assert_msg(fabs(dl - res.ll_train) <= 1e-11 * fabs(dl),
                              "%g %%, %s: ll %.17g, direct %.17g", 100 * frac[f],
                              gmm_cov_name(c.cov), res.ll_train, dl);
                gmm_model_free(m);
            }
        lz_data_free(dt);
    }
    gmm_model_free(truth);
    free(x);
    free(logp);
    free(rs);
    free(xf);
    free(miss);
    gsl_rng_free(r);
}
END_TEST

/* With nothing missing the E-step by pattern gives the numbers of the
 * complete-data path (gmm_fit): every line's ll/N, with and without a test
 * set, and the parameters, to rounding (the two sum in different orders) */
START_TEST(nothing_missing_gives_the_complete_data_fit)
{
    size_t n = 400, nt = 100, d = 4, k = 3;
    gsl_rng *r = lz_rng_alloc(23);
    lz_error err;
    gmm_model *truth = random_model(r, d, 3, GMM_FULL);
    double *x = lz_test_dalloc(n * d), *xt = lz_test_dalloc(nt * d);
    draw(r, truth, n, x);
    draw(r, truth, nt, xt);
    unsigned char *none = calloc(n * d, 1);
    lz_data *dt = lz_test_data(n, d, x, none), *dte = lz_test_data(nt, d, xt, none);
    for (int ci = 0; ci < 4; ci++)
        for (int acc = 0; acc < 2; acc++) {
            gmm_config c;
            gmm_config_default(&c);
            c.k = (int)k;
            c.cov = COVS[ci];
            c.tol = 0;
            c.reg = 1e-3;
            c.accelerate = acc;
            c.max_iter = 8; /* still rising: both stop at max_iter */
            gmm_model *m = gmm_model_alloc(d, k, c.cov), *mi = gmm_model_alloc(d, k, c.cov);
            trace_rec tr = {{0}, {0}, 0}, ti = {{0}, {0}, 0};
            gmm_result res, resi;
            ck_assert_int_eq(gmm_fit(&c, n, x, nt, xt, m, record, &tr, &res, &err), LZ_OK);
            ck_assert_int_eq(gmm_fit_incomplete(&c, dt, dte, mi, record, &ti, &resi, &err), LZ_OK);
            ck_assert_msg(tr.n == 9 && ti.n == 9, "%s accel %d: %d and %d lines",
                          gmm_cov_name(c.cov), acc, tr.n, ti.n);
            for (int t = 0; t < tr.n; t++) {
                ck_assert_msg(fabs(tr.ll[t] - ti.ll[t]) <= 1e-10 * fabs(tr.ll[t]),
                              "%s accel %d line %d: %.17g vs %.17g", gmm_cov_name(c.cov), acc, t,
                              tr.ll[t], ti.ll[t]);
                ck_assert_msg(fabs(tr.llt[t] - ti.llt[t]) <= 1e-10 * fabs(tr.llt[t]),
                              "%s accel %d line %d: test %.17g vs %.17g", gmm_cov_name(c.cov), acc,
                              t, tr.llt[t], ti.llt[t]);
            }
            for (size_t i = 0; i < k * d; i++)
                ck_assert_msg(fabs(m->means[i] - mi->means[i]) <= 1e-8 * (1 + fabs(m->means[i])),
                              "%s: mean %zu", gmm_cov_name(c.cov), i);
            size_t nc = gmm_cov_size(d, k, c.cov);
            for (size_t i = 0; i < nc; i++)
                ck_assert_msg(fabs(m->covs[i] - mi->covs[i]) <= 1e-8 * (1 + fabs(m->covs[i])),
                              "%s: covariance entry %zu", gmm_cov_name(c.cov), i);
            gmm_model_free(m);
            gmm_model_free(mi);
        }
    lz_data_free(dt);
    lz_data_free(dte);
    gmm_model_free(truth);
    free(x);
    free(xt);
    free(none);
    gsl_rng_free(r);
}
END_TEST

/* Recovery of a known mixture: d = 5, three full-covariance components with
 * means 8 apart, n = 6000 rows, 20 % of the entries missing completely at
 * random, the defaults (k-means++ start, SQUAREM, reg 1e-6).  Components are
 * matched to the truth's by their nearest mean.  Tolerances from the sampling
 * error: a component has ~2000 rows of which 80 % observe a coordinate, so
 * a mean's standard error is at most sqrt(3 / 1600) = 0.043 (variances <= 3)
 * and a weight's sqrt(1/9 / 6000) = 0.004; the bounds are about 5 of them
 * (0.2 and 0.02), and 0.15 relative in Frobenius norm for Sigma (an entry's
 * standard error is at most ~0.11, sqrt(2) 3 / sqrt(0.64 x 2000), against
 * |Sigma|_F >= 1.3).  The imputation of the hidden entries by the fitted
 * model (E[x_m | x_o], checked by the direct evaluation) is within 3 % of the
 * truth's own conditional-mean imputation, and below 0.6 of the mean
 * imputation's squared error (the truth's ratio is printed). */
START_TEST(recovers_a_known_mixture_with_missing_entries)
{
    size_t n = 6000, d = 5, k = 3;
    gsl_rng *r = lz_rng_alloc(31);
    lz_error err;
    gmm_model *truth = random_model(r, d, k, GMM_FULL);
    for (size_t z = 0; z < k; z++) {
        truth->weights[z] = 1.0 / 3;
        for (size_t i = 0; i < d; i++) truth->means[z * d + i] = i == z ? 8.0 : 0.0;
    }
    double *x = lz_test_dalloc(n * d), *logp = lz_test_dalloc(n), *rs = lz_test_dalloc(n * k),
           *xf = lz_test_dalloc(n * d), *xo = lz_test_dalloc(n * d);
    draw(r, truth, n, x);
    unsigned char *miss = calloc(n * d, 1);
    lz_test_mcar(r, n, d, 0.2, miss);
    lz_data *dt = lz_test_data(n, d, x, miss);
    gmm_config c;
    gmm_config_default(&c);
    c.k = (int)k;
    gmm_model *m = gmm_model_alloc(d, k, c.cov);
    gmm_result res;
    ck_assert_int_eq(gmm_fit_incomplete(&c, dt, NULL, m, NULL, NULL, &res, &err), LZ_OK);
    double *sm = lz_test_dalloc(d * d), *st = lz_test_dalloc(d * d), wmax = 0, mmax = 0, smax = 0;
    for (size_t z = 0; z < k; z++) {
        size_t best = 0;
        double bd = INFINITY;
        for (size_t q = 0; q < k; q++) {
            double dd = 0;
            for (size_t i = 0; i < d; i++)
                dd += pow(m->means[q * d + i] - truth->means[z * d + i], 2);
            if (dd < bd) bd = dd, best = q;
        }
        wmax = fmax(wmax, fabs(m->weights[best] - truth->weights[z]));
        for (size_t i = 0; i < d; i++)
            mmax = fmax(mmax, fabs(m->means[best * d + i] - truth->means[z * d + i]));
        full_cov(m, best, sm);
        full_cov(truth, z, st);
        double num = 0, den = 0;
        for (size_t i = 0; i < d * d; i++) num += pow(sm[i] - st[i], 2), den += st[i] * st[i];
        smax = fmax(smax, sqrt(num / den));
    }
    /* imputation: the fit's, the truth's, the observed column means' */
    direct(m, dt, logp, rs, xf);
    direct(truth, dt, logp, rs, xo);
    double mu[8] = {0}, cnt[8] = {0}, e_fit = 0, e_true = 0, e_mean = 0;
    for (size_t t = 0; t < n; t++)
        for (size_t i = 0; i < d; i++)
            if (!miss[t * d + i]) mu[i] += x[t * d + i], cnt[i]++;
    for (size_t i = 0; i < d; i++) mu[i] /= cnt[i];
    /* dt->x holds 0 where missing: the hidden values are in x */
    for (size_t t = 0; t < n; t++)
        for (size_t i = 0; i < d; i++)
            if (miss[t * d + i]) {
                double v = x[t * d + i];
                e_fit += pow(xf[t * d + i] - v, 2);
                e_true += pow(xo[t * d + i] - v, 2);
                e_mean += pow(mu[i] - v, 2);
            }
    printf("gmm recovery, 20 %% missing: |dw| %.4f, |dmu| %.4f, |dSigma|_F rel %.4f; imputation "
           "MSE fit %.4f, truth %.4f, column means %.4f\n",
           wmax, mmax, smax, e_fit / e_mean, e_true / e_mean, 1.0);
    ck_assert_msg(wmax < 0.02, "weights off by %g", wmax);
    ck_assert_msg(mmax < 0.2, "means off by %g", mmax);
    ck_assert_msg(smax < 0.15, "a covariance off by %g (relative Frobenius)", smax);
    ck_assert_msg(e_fit <= 1.03 * e_true, "imputation MSE %g, the truth's %g", e_fit, e_true);
    ck_assert_msg(e_fit < 0.6 * e_mean, "imputation MSE %g, mean imputation's %g", e_fit, e_mean);
    gmm_model_free(m);
    gmm_model_free(truth);
    lz_data_free(dt);
    free(x);
    free(logp);
    free(rs);
    free(xf);
    free(xo);
    free(sm);
    free(st);
    free(miss);
    gsl_rng_free(r);
}
END_TEST

/* A change of units: every column j times c_j = 10^u, u uniform in [-4, 4],
 * with 10 % of the entries missing.  The floor (reg x each coordinate's
 * variance), the k-means++ start in standardised coordinates and the
 * tolerance on ll/N make the fit the same model in the new units, for each
 * covariance type but spherical (one variance for all coordinates is not
 * equivariant per column): ll/N shifts by -(1/n) sum over observed entries
 * of log c_j, means by c_j, Sigma's entries by c_i c_j, to rounding. */
START_TEST(change_of_units_with_missing_entries)
{
    size_t n = 600, d = 4, k = 3;
    gsl_rng *r = lz_rng_alloc(32);
    lz_error err;
    gmm_model *truth = random_model(r, d, k, GMM_FULL);
    double *x = lz_test_dalloc(n * d), *xs = lz_test_dalloc(n * d), cs[4];
    draw(r, truth, n, x);
    for (size_t i = 0; i < d; i++) cs[i] = pow(10.0, 8 * gsl_rng_uniform(r) - 4);
    unsigned char *miss = calloc(n * d, 1);
    lz_test_mcar(r, n, d, 0.1, miss);
    double shift = 0;
    for (size_t t = 0; t < n; t++)
        for (size_t i = 0; i < d; i++) {
            xs[t * d + i] = x[t * d + i] * cs[i];
            if (!miss[t * d + i]) shift -= log(cs[i]) / (double)n;
        }
    lz_data *dt = lz_test_data(n, d, x, miss), *ds = lz_test_data(n, d, xs, miss);
    static const int EQ[3] = {GMM_FULL, GMM_DIAG, GMM_TIED};
    for (int ci = 0; ci < 3; ci++) {
        gmm_config c;
        gmm_config_default(&c);
        c.k = (int)k;
        c.cov = EQ[ci];
        gmm_model *m = gmm_model_alloc(d, k, c.cov), *ms = gmm_model_alloc(d, k, c.cov);
        gmm_result res, rss;
        ck_assert_int_eq(gmm_fit_incomplete(&c, dt, NULL, m, NULL, NULL, &res, &err), LZ_OK);
        ck_assert_int_eq(gmm_fit_incomplete(&c, ds, NULL, ms, NULL, NULL, &rss, &err), LZ_OK);
        ck_assert_msg(fabs(rss.ll_train - res.ll_train - shift) <= 1e-8 * fabs(res.ll_train),
                      "%s: ll %.12g -> %.12g, expected a shift of %.12g", gmm_cov_name(c.cov),
                      res.ll_train, rss.ll_train, shift);
        for (size_t z = 0; z < k; z++) {
            ck_assert_msg(fabs(m->weights[z] - ms->weights[z]) <= 1e-8, "%s: weight %zu",
                          gmm_cov_name(c.cov), z);
            for (size_t i = 0; i < d; i++)
                ck_assert_msg(fabs(ms->means[z * d + i] / cs[i] - m->means[z * d + i]) <=
                                  1e-7 * (1 + fabs(m->means[z * d + i])),
                              "%s: mean %zu,%zu", gmm_cov_name(c.cov), z, i);
        }
        double *a = lz_test_dalloc(d * d), *b = lz_test_dalloc(d * d);
        for (size_t z = 0; z < (c.cov == GMM_TIED ? 1 : k); z++) {
            full_cov(m, z, a);
            full_cov(ms, z, b);
            for (size_t i = 0; i < d; i++)
                for (size_t j = 0; j < d; j++)
                    ck_assert_msg(fabs(b[i * d + j] / (cs[i] * cs[j]) - a[i * d + j]) <=
                                      1e-7 * sqrt(a[i * d + i] * a[j * d + j]),
                                  "%s: Sigma_%zu (%zu,%zu)", gmm_cov_name(c.cov), z, i, j);
        }
        free(a);
        free(b);
        gmm_model_free(m);
        gmm_model_free(ms);
    }
    lz_data_free(dt);
    lz_data_free(ds);
    gmm_model_free(truth);
    free(x);
    free(xs);
    free(miss);
    gsl_rng_free(r);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("gmm_missing");
    TCase *t = tcase_create("all");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, observed_ll_equals_direct_evaluation);
    tcase_add_test(t, em_never_decreases_with_missing);
    tcase_add_test(t, nothing_missing_gives_the_complete_data_fit);
    tcase_add_test(t, recovers_a_known_mixture_with_missing_entries);
    tcase_add_test(t, change_of_units_with_missing_entries);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    gmm_set_threads(1);
    return lz_check_main(suite());
}
