/* test_pca.c -- unit tests of models/pca against independent truth:
 * LAPACK's symmetric eigensolver on S (lz_eigh), a constructed spectrum,
 * the direct d x d Cholesky evaluation of the Gaussian density
 * (lz_mvn_logpdf), closed-form principal angles, and invariants.
 *
 * Dimension letters: n samples, d data dimension, k components. */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lz_blas.h"
#include <gsl/gsl_randist.h>

#include "lz_data.h"
#include "lz_linalg.h"
#include "lz_out.h"
#include "lz_prob.h"
#include "pca.h"
#include "lz_check.h"

#define EPS DBL_EPSILON

/* ---- test data ---- */

/* Orthonormal columns: q (m, c) <- QR of a Gaussian (m, c) matrix, after
 * removing each column's mean when centre != 0 (columns then sum to 0). */
static void random_orthonormal(gsl_rng *r, size_t m, size_t c, int centre, double *q)
{
    lz_rng_gauss(r, m * c, q);
    if (centre)
        for (size_t j = 0; j < c; j++) {
            double s = 0;
            for (size_t i = 0; i < m; i++) s += q[i * c + j];
            for (size_t i = 0; i < m; i++) q[i * c + j] -= s / (double)m;
        }
    ck_assert_int_eq(lz_qr(m, c, q, NULL, NULL), LZ_OK);
}

/* Data with a known spectrum: x (n, d) = mu + A diag(sv) V^T with A (n, d)
 * orthonormal centred columns and V (d, d) orthogonal, so the centred data's
 * S = V diag(sv^2 / n) V^T exactly (up to rounding of x).  lambda (d) <-
 * sv^2/n; v (d, d) <- V (eigenvector j in column j). */
static void known_spectrum(gsl_rng *r, size_t n, size_t d, const double *lambda, double *x,
                           double *v)
{
    double *a = malloc(n * d * sizeof *a);
    random_orthonormal(r, n, d, 1, a);
    random_orthonormal(r, d, d, 0, v);
    /* B = diag(sv) V^T (d, d) */
    double *b = malloc(d * d * sizeof *b);
    for (size_t j = 0; j < d; j++)
        for (size_t i = 0; i < d; i++) b[j * d + i] = sqrt(lambda[j] * (double)n) * v[i * d + j];
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)d, (int)d, 1.0, a, (int)d,
                b, (int)d, 0.0, x, (int)d);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++) x[i * d + j] += 3.0 + 0.5 * (double)j; /* a mean */
    free(a);
    free(b);
}

/* LAPACK's truth: S of x (about its mean) and all its eigenpairs,
 * w (d) descending, v (d, d) eigenvectors in columns. */
static void lapack_truth(size_t n, size_t d, const double *x, double *s, double *w, double *v)
{
    double *mu = malloc(d * sizeof *mu);
    lz_mean(n, d, x, mu);
    ck_assert_int_eq(lz_covariance(n, d, x, mu, s, NULL), LZ_OK);
    memcpy(v, s, d * d * sizeof *v);
    ck_assert_int_eq(lz_eigh(d, v, w, v, NULL), LZ_OK);
    free(mu);
}

/* rows (k, d) <- the first k columns of v (d, d) */
static void top_rows(size_t d, size_t k, const double *v, double *rows)
{
    for (size_t j = 0; j < k; j++)
        for (size_t i = 0; i < d; i++) rows[j * d + i] = v[i * d + j];
}

static double angle_rows(size_t d, size_t k, const double *ut, const double *vt)
{
    double *ws = malloc((d * k + k * k + k) * sizeof *ws);
    double a = NAN;
    ck_assert_int_eq(lz_max_principal_angle(d, k, ut, vt, ws, &a, NULL), LZ_OK);
    free(ws);
    return a;
}

/* The spectrum used by several tests: lambda_j = 10 * 0.8^j for j < k, then a
 * gap (lambda_{k+1} = 0.5 lambda_k), then a slow decay: the subspace is well
 * defined (relative gap 0.5) and plain iteration needs ~40 iterations. */
static void spectrum(size_t d, size_t k, double *lambda)
{
    for (size_t j = 0; j < d; j++)
        lambda[j] = j < k ? 10.0 * pow(0.8, (double)j)
                          : 0.5 * 10.0 * pow(0.8, (double)(k - 1)) * pow(0.93, (double)(j - k));
}

typedef struct {
    double last_recon, last_explained;
    double recon[64], explained[64];
    int iters;
} trace_rec;

static int record(const pca_iter_info *it, void *ctx)
{
    trace_rec *t = ctx;
    if (it->iter <= 64) {
        t->recon[it->iter - 1] = it->recon_mse;
        t->explained[it->iter - 1] = it->explained_var;
    }
    t->last_recon = it->recon_mse;
    t->last_explained = it->explained_var;
    t->iters = it->iter;
    ck_assert(it->seconds >= 0);
    return 0;
}

/* ---- tests ---- */

/* The subspace and eigenvalues match LAPACK's on S, in both modes, with and
 * without oversampling; components are orthonormal, ordered, signed. */
START_TEST(known_spectrum_matches_lapack_both_modes)
{
    const size_t n = 500, d = 40, k = 5;
    gsl_rng *r = lz_rng_alloc(11);
    double *lambda = malloc(d * sizeof *lambda), *x0 = malloc(n * d * sizeof *x0),
           *x = malloc(n * d * sizeof *x), *vtrue = malloc(d * d * sizeof *vtrue),
           *s = malloc(d * d * sizeof *s), *w = malloc(d * sizeof *w),
           *v = malloc(d * d * sizeof *v), *ref = malloc(k * d * sizeof *ref),
           *truth = malloc(k * d * sizeof *truth);
    spectrum(d, k, lambda);
    known_spectrum(r, n, d, lambda, x0, vtrue);
    lapack_truth(n, d, x0, s, w, v);
    top_rows(d, k, v, ref);
    top_rows(d, k, vtrue, truth);
    /* LAPACK agrees with the constructed spectrum: eigenvalues to ~d eps
     * relative to lambda_1 (backward stable eigensolver on a rounded S) */
    for (size_t j = 0; j < d; j++)
        ck_assert_double_eq_tol(w[j], lambda[j], 100 * d * EPS * lambda[0]);
    /* and the constructed eigenvectors: angle <= ~eps lambda_1 / gap */
    ck_assert_double_lt(angle_rows(d, k, truth, ref), 1e-12);

    for (int mode = PCA_MODE_DATA; mode <= PCA_MODE_COV; mode++)
        for (int q = 0; q <= 10; q += 10) {
            pca_config c;
            pca_config_default(&c);
            c.k = (int)k;
            c.mode = mode;
            c.oversample = q;
            c.tol = 1e-10;
            memcpy(x, x0, n * d * sizeof *x);
            pca_model *m = pca_model_alloc(d, k);
            pca_fit_info fi;
            lz_error e;
            trace_rec tr;
            memset(&tr, 0, sizeof tr);
            ck_assert_int_eq(pca_fit(&c, n, d, x, ref, m, &fi, record, &tr, &e), LZ_OK);
            ck_assert_int_eq(fi.mode, mode);
            ck_assert_int_eq(fi.converged, 1);
            ck_assert_int_eq(tr.iters, fi.iterations);
            /* the required accuracy: largest principal angle < 1e-8 rad */
            double ang = angle_rows(d, k, m->comp, ref);
            ck_assert_msg(ang < 1e-8, "mode %d q %d: angle %g", mode, q, ang);
            /* ref_angle of the last trace line is the same angle (signs aside) */
            ck_assert_double_eq_tol(fi.ref_angle, ang, 1e-14);
            /* eigenvalues to 1e-10 relative (Ritz values err by ~lambda angle^2) */
            for (size_t j = 0; j < k; j++)
                ck_assert_msg(fabs(m->eigval[j] - w[j]) <= 1e-10 * w[j],
                              "mode %d q %d: lambda_%zu %.17g vs %.17g", mode, q, j + 1,
                              m->eigval[j], w[j]);
            /* orthonormal rows: |U^T U - I| <= ~d eps */
            for (size_t a = 0; a < k; a++)
                for (size_t b = 0; b < k; b++) {
                    double dot = cblas_ddot((int)d, m->comp + a * d, 1, m->comp + b * d, 1);
                    ck_assert_double_eq_tol(dot, a == b ? 1.0 : 0.0, 10 * d * EPS);
                }
            /* descending, and the sign rule: largest |entry| of each row > 0 */
            for (size_t j = 0; j < k; j++) {
                if (j) ck_assert_double_ge(m->eigval[j - 1], m->eigval[j]);
                size_t best = 0;
                for (size_t i = 1; i < d; i++)
                    if (fabs(m->comp[j * d + i]) > fabs(m->comp[j * d + best])) best = i;
                ck_assert_double_gt(m->comp[j * d + best], 0);
            }
            /* the mean, and x centred in place by it */
            for (size_t i = 0; i < d; i++) {
                double mu = 0;
                for (size_t t = 0; t < n; t++) mu += x0[t * d + i];
                mu /= (double)n;
                ck_assert_double_eq_tol(m->mean[i], mu, 10 * EPS * fabs(mu));
                ck_assert_double_eq_tol(x[i], x0[i] - m->mean[i], 10 * EPS * fabs(x0[i]));
            }
            /* tr S and sigma^2 = mean of LAPACK's discarded eigenvalues */
            double trs = 0, disc = 0;
            for (size_t j = 0; j < d; j++) trs += w[j];
            for (size_t j = k; j < d; j++) disc += w[j];
            ck_assert_double_eq_tol(m->total_var, trs, 10 * d * EPS * w[0]);
            ck_assert_double_eq_tol(m->sigma2, disc / (double)(d - k), 10 * d * EPS * w[0]);
            /* the trace's last recon_mse / explained_var are the final ones */
            ck_assert_double_eq_tol(tr.last_recon, disc, 10 * d * EPS * w[0]);
            ck_assert_double_eq_tol(tr.last_explained, (trs - disc) / trs, 10 * d * EPS);
            pca_model_free(m);
        }
    free(lambda), free(x0), free(x), free(vtrue), free(s), free(w), free(v), free(ref), free(truth);
    gsl_rng_free(r);
}
END_TEST

/* One step of the lecture's update equals its formula evaluated the slow,
 * obvious way: pseudo-inverses by LU solves of the normal equations,
 *   data: Z = (W^T W)^-1 W^T X^T,  W' = X^T Z^T (Z Z^T)^-1,
 *   cov:  W' = S W (W^T S W)^-1 W^T W;
 * the two modes agree (S = X^T X / n), and W^T W' = W^T W (the update only
 * adds to W a part orthogonal to span(W)). */
START_TEST(seed_step_equals_its_formula)
{
    const size_t n = 60, d = 9, p = 3;
    gsl_rng *r = lz_rng_alloc(21);
    double *x = malloc(n * d * sizeof *x), *s = malloc(d * d * sizeof *s),
           *w = malloc(d * p * sizeof *w), *wt = malloc(p * d * sizeof *wt),
           *g = malloc(p * p * sizeof *g), *z = malloc(p * n * sizeof *z),
           *zz = malloc(p * p * sizeof *zz), *wn = malloc(d * p * sizeof *wn),
           *sw = malloc(d * p * sizeof *sw), *a = malloc(p * p * sizeof *a),
           *mu = malloc(d * sizeof *mu);
    lz_rng_gauss(r, n * d, x);
    for (size_t i = 0; i < n * d; i++) x[i] *= 1.0 + (double)(i % d); /* anisotropic */
    lz_mean(n, d, x, mu);
    lz_center(n, d, x, mu);
    ck_assert_int_eq(lz_covariance(n, d, x, NULL, s, NULL), LZ_OK);
    lz_rng_gauss(r, d * p, w); /* W (d, p) */

    /* data mode by the formula: G = W^T W; Z = G^-1 W^T X^T (p, n) */
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)p, (int)p, (int)d, 1.0, w, (int)p, w,
                (int)p, 0.0, g, (int)p);
    double *gc = malloc(p * p * sizeof *gc);
    memcpy(gc, g, p * p * sizeof *gc);
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasTrans, (int)p, (int)n, (int)d, 1.0, w, (int)p, x,
                (int)d, 0.0, z, (int)n);
    ck_assert_int_eq(lz_solve(p, gc, n, z, NULL), LZ_OK);
    /* W' = X^T Z^T (Z Z^T)^-1: solve (Z Z^T) W'^T = Z X */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)p, (int)p, (int)n, 1.0, z, (int)n, z,
                (int)n, 0.0, zz, (int)p);
    double *zx = malloc(p * d * sizeof *zx);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)p, (int)d, (int)n, 1.0, z, (int)n,
                x, (int)d, 0.0, zx, (int)d);
    ck_assert_int_eq(lz_solve(p, zz, d, zx, NULL), LZ_OK); /* zx <- W'^T (p, d) */

    /* cov mode by the formula: W' = S W (W^T S W)^-1 (W^T W) */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)d, (int)p, (int)d, 1.0, s, (int)d,
                w, (int)p, 0.0, sw, (int)p);
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)p, (int)p, (int)d, 1.0, w, (int)p, sw,
                (int)p, 0.0, a, (int)p);
    /* (W^T S W)^-1 G by a solve, then S W times it */
    memcpy(gc, g, p * p * sizeof *gc);
    ck_assert_int_eq(lz_solve(p, a, p, gc, NULL), LZ_OK);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)d, (int)p, (int)p, 1.0, sw, (int)p,
                gc, (int)p, 0.0, wn, (int)p); /* W' (d, p) */

    double scale = 0;
    for (size_t i = 0; i < d * p; i++) scale = fmax(scale, fabs(wn[i]));
    for (int mode = 0; mode < 2; mode++) {
        for (size_t j = 0; j < p; j++)
            for (size_t i = 0; i < d; i++) wt[j * d + i] = w[i * p + j];
        lz_error e;
        ck_assert_int_eq(pca_seed_step(mode, n, d, p, x, s, wt, &e), LZ_OK);
        /* both formulas, and both modes, agree to rounding: a few solves of
         * well-conditioned p x p systems (cond < 1e4 here) */
        for (size_t j = 0; j < p; j++)
            for (size_t i = 0; i < d; i++) {
                ck_assert_double_eq_tol(wt[j * d + i], zx[j * d + i], 1e-10 * scale);
                ck_assert_double_eq_tol(wt[j * d + i], wn[i * p + j], 1e-10 * scale);
            }
        /* W^T W' = W^T W */
        for (size_t a1 = 0; a1 < p; a1++)
            for (size_t b1 = 0; b1 < p; b1++) {
                double t = 0;
                for (size_t i = 0; i < d; i++) t += w[i * p + a1] * wt[b1 * d + i];
                ck_assert_double_eq_tol(t, g[a1 * p + b1], 1e-10 * fabs(g[a1 * p + a1]));
            }
    }
    free(x), free(s), free(w), free(wt), free(g), free(z), free(zz), free(wn), free(sw), free(a),
        free(mu), free(gc), free(zx);
    gsl_rng_free(r);
}
END_TEST

/* Both modes run the same map span(W) -> span(S W) from the same seed, so
 * their traces agree iteration by iteration. */
START_TEST(data_and_cov_modes_iterate_alike)
{
    const size_t n = 300, d = 25, k = 3;
    gsl_rng *r = lz_rng_alloc(5);
    double *lambda = malloc(d * sizeof *lambda), *x0 = malloc(n * d * sizeof *x0),
           *x = malloc(n * d * sizeof *x), *v = malloc(d * d * sizeof *v);
    spectrum(d, k, lambda);
    known_spectrum(r, n, d, lambda, x0, v);
    trace_rec tr[2];
    memset(tr, 0, sizeof tr);
    pca_model *m[2];
    for (int mode = 0; mode < 2; mode++) {
        pca_config c;
        pca_config_default(&c);
        c.k = (int)k;
        c.mode = mode;
        c.oversample = 0;
        memcpy(x, x0, n * d * sizeof *x);
        m[mode] = pca_model_alloc(d, k);
        ck_assert_int_eq(pca_fit(&c, n, d, x, NULL, m[mode], NULL, record, &tr[mode], NULL), LZ_OK);
    }
    /* iteration counts may differ by one when an angle lands on tol */
    ck_assert_int_le(abs(tr[0].iters - tr[1].iters), 1);
    int common = tr[0].iters < tr[1].iters ? tr[0].iters : tr[1].iters;
    ck_assert_int_ge(common, 10);
    /* explained variance at every iteration: the two modes round
     * differently (X^T X vs S), ~d eps relative per step, and the errors
     * do not grow (the map contracts onto the subspace) */
    for (int t = 0; t < common && t < 64; t++)
        ck_assert_double_eq_tol(tr[0].explained[t], tr[1].explained[t], 1e-10);
    ck_assert_double_lt(angle_rows(d, k, m[0]->comp, m[1]->comp), 1e-9);
    pca_model_free(m[0]);
    pca_model_free(m[1]);
    free(lambda), free(x0), free(x), free(v);
    gsl_rng_free(r);
}
END_TEST

/* Reconstruction error of the fitted subspace, formed explicitly sample by
 * sample, equals the sum of LAPACK's discarded eigenvalues. */
START_TEST(reconstruction_error_is_discarded_variance)
{
    const size_t n = 400, d = 30, k = 4;
    gsl_rng *r = lz_rng_alloc(7);
    double *x = malloc(n * d * sizeof *x), *x0 = malloc(n * d * sizeof *x0),
           *s = malloc(d * d * sizeof *s), *w = malloc(d * sizeof *w),
           *v = malloc(d * d * sizeof *v);
    /* correlated non-Gaussian data: x = u B + noise, u uniform */
    double *bmat = malloc(6 * d * sizeof *bmat);
    lz_rng_gauss(r, 6 * d, bmat);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++) {
            double t = 0.3 * gsl_rng_uniform(r);
            for (size_t l = 0; l < 6; l++) t += (gsl_rng_uniform(r) - 0.5) * bmat[l * d + j];
            x0[i * d + j] = t + 1.0;
        }
    lapack_truth(n, d, x0, s, w, v);
    for (int mode = 0; mode < 2; mode++) {
        memcpy(x, x0, n * d * sizeof *x);
        pca_config c;
        pca_config_default(&c);
        c.k = (int)k;
        c.mode = mode;
        pca_model *m = pca_model_alloc(d, k);
        trace_rec tr;
        memset(&tr, 0, sizeof tr);
        ck_assert_int_eq(pca_fit(&c, n, d, x, NULL, m, NULL, record, &tr, NULL), LZ_OK);
        double recon = NAN;
        ck_assert_int_eq(pca_score(m, n, x, NULL, &recon, NULL, NULL), LZ_OK);
        double disc = 0;
        for (size_t j = k; j < d; j++) disc += w[j];
        /* tolerance: eigenvalues are backward stable to ~d eps |S|, the
         * explicit residuals sum n d squares (relative ~d eps), and the
         * converged subspace (tol 1e-9) adds ~lambda_1 angle^2 */
        double tol = 10 * d * EPS * w[0];
        ck_assert_msg(fabs(recon - disc) <= tol, "mode %d: recon %.17g, discarded %.17g", mode,
                      recon, disc);
        ck_assert_double_eq_tol(tr.last_recon, disc, tol);
        pca_model_free(m);
    }
    free(x), free(x0), free(s), free(w), free(v), free(bmat);
    gsl_rng_free(r);
}
END_TEST

/* The PPCA log-density (O(d k) a sample) equals lz_mvn_logpdf with the
 * d x d covariance W_ml W_ml^T + sigma^2 I formed here and factored by
 * Cholesky, on training and on held-out data. */
START_TEST(ppca_loglik_equals_direct_cholesky)
{
    const size_t n = 300, nt = 50, d = 12, k = 3;
    gsl_rng *r = lz_rng_alloc(9);
    double *x = malloc(n * d * sizeof *x), *xt = malloc(nt * d * sizeof *xt),
           *xt0 = malloc(nt * d * sizeof *xt0), *c = malloc(d * d * sizeof *c),
           *c2 = malloc(d * d * sizeof *c2), *s = malloc(d * d * sizeof *s),
           *w = malloc(d * sizeof *w), *v = malloc(d * d * sizeof *v),
           *x0 = malloc(n * d * sizeof *x0);
    double *amat = malloc(k * d * sizeof *amat);
    lz_rng_gauss(r, k * d, amat);
    /* x = A z + 0.3 e + offset: a PPCA-like cloud */
    for (size_t i = 0; i < n + nt; i++) {
        double z[3];
        lz_rng_gauss(r, k, z);
        double *row = i < n ? x0 + i * d : xt0 + (i - n) * d;
        for (size_t j = 0; j < d; j++) {
            double t = 2.0 + 0.3 * gsl_ran_gaussian_ziggurat(r, 1.0);
            for (size_t l = 0; l < k; l++) t += z[l] * amat[l * d + j];
            row[j] = t;
        }
    }
    memcpy(x, x0, n * d * sizeof *x);
    lapack_truth(n, d, x0, s, w, v);
    pca_config cfg;
    pca_config_default(&cfg);
    cfg.k = (int)k;
    pca_model *m = pca_model_alloc(d, k);
    ck_assert_int_eq(pca_fit(&cfg, n, d, x, NULL, m, NULL, NULL, NULL, NULL), LZ_OK);
    /* sigma^2 is the mean of LAPACK's discarded eigenvalues */
    double disc = 0;
    for (size_t j = k; j < d; j++) disc += w[j];
    ck_assert_double_eq_tol(m->sigma2, disc / (double)(d - k), 1e-12 * m->sigma2);

    /* C = W W^T + sigma^2 I with W = U (Lambda - sigma^2)^(1/2), by loops */
    for (size_t a = 0; a < d; a++)
        for (size_t b = 0; b < d; b++) {
            double t = a == b ? m->sigma2 : 0.0;
            for (size_t j = 0; j < k; j++)
                t += (m->eigval[j] - m->sigma2) * m->comp[j * d + a] * m->comp[j * d + b];
            c[a * d + b] = t;
        }
    ck_assert_int_eq(pca_ppca_cov(m, c2, NULL), LZ_OK);
    for (size_t i = 0; i < d * d; i++) ck_assert_double_eq_tol(c2[i], c[i], 10 * d * EPS * w[0]);

    for (int set = 0; set < 2; set++) {
        /* set 0: training rows (already centred by pca_fit); set 1: held-out
         * rows, centred by pca_prepare with the TRAINING mean */
        size_t m_rows = set ? nt : n;
        double *xc = set ? xt : x;
        double *raw = set ? xt0 : x0;
        if (set) {
            memcpy(xt, xt0, nt * d * sizeof *xt);
            pca_prepare(m, nt, xt);
            for (size_t i = 0; i < nt * d; i++) ck_assert(xt[i] == xt0[i] - m->mean[i % d]);
        }
        double *llr = malloc(m_rows * sizeof *llr);
        ck_assert_int_eq(lz_mvn_logpdf(m_rows, d, raw, m->mean, c, llr, NULL), LZ_OK);
        /* the direct solve's relative error is ~d eps cond(C) on the
         * quadratic form, cond(C) = lambda_1 / sigma^2 */
        double cond = m->eigval[0] / m->sigma2;
        double sum = 0;
        for (size_t i = 0; i < m_rows; i++) {
            /* one row at a time: the log-density of each sample */
            double lli = NAN;
            ck_assert_int_eq(pca_loglik(m, 1, xc + i * d, &lli, NULL), LZ_OK);
            double tol = 10 * d * EPS * cond * (fabs(llr[i]) + (double)d);
            ck_assert_msg(fabs(lli - llr[i]) <= tol, "set %d row %zu: %.17g vs %.17g", set, i, lli,
                          llr[i]);
            sum += llr[i];
        }
        /* all rows: the mean per sample */
        double mean_ll = NAN;
        ck_assert_int_eq(pca_loglik(m, m_rows, xc, &mean_ll, NULL), LZ_OK);
        ck_assert_double_eq_tol(mean_ll, sum / (double)m_rows,
                                10 * d * EPS * cond * (fabs(mean_ll) + (double)d));
        /* pca_score in the same pass: projections z_n = U^T (x_n - mu) and
         * residuals by loops, and the same log-likelihood as pca_loglik */
        double *z = malloc(m_rows * k * sizeof *z), recon = NAN, ll_score = NAN;
        ck_assert_int_eq(pca_score(m, m_rows, xc, z, &recon, &ll_score, NULL), LZ_OK);
        ck_assert(ll_score == mean_ll);
        double r2 = 0, scale = 0;
        for (size_t i = 0; i < m_rows; i++) {
            const double *xi = xc + i * d;
            double xn = sqrt(cblas_ddot((int)d, xi, 1, xi, 1)); /* |u_j| = 1: |z_j| <= |x| */
            for (size_t j = 0; j < k; j++) {
                double t = 0;
                for (size_t a = 0; a < d; a++) t += m->comp[j * d + a] * xi[a];
                ck_assert_double_eq_tol(z[i * k + j], t, 10 * d * EPS * xn);
            }
            for (size_t a = 0; a < d; a++) {
                double e = xi[a];
                for (size_t j = 0; j < k; j++) e -= z[i * k + j] * m->comp[j * d + a];
                r2 += e * e;
                scale += xi[a] * xi[a];
            }
        }
        ck_assert_double_eq_tol(recon, r2 / (double)m_rows, 10 * d * EPS * scale / (double)m_rows);
        free(z);
        free(llr);
    }
    pca_model_free(m);
    free(x), free(xt), free(xt0), free(c), free(c2), free(s), free(w), free(v), free(x0),
        free(amat);
    gsl_rng_free(r);
}
END_TEST

/* Closed-form principal angles: U = [e1 e2], V = [cos a e1 + sin a e3,
 * cos b e2 + sin b e4] has principal angles a and b. */
START_TEST(principal_angle_closed_form)
{
    const size_t d = 6, k = 2;
    const double pairs[][2] = {{1e-12, 3e-10}, {0.7, 0.2}, {1.2, 1e-3}, {0.0, 0.0}};
    for (size_t t = 0; t < sizeof pairs / sizeof *pairs; t++) {
        double a = pairs[t][0], b = pairs[t][1];
        double ut[12] = {0}, vt[12] = {0};
        ut[0] = 1, ut[d + 1] = 1;
        vt[0] = cos(a), vt[2] = sin(a);
        vt[d + 1] = cos(b), vt[d + 3] = sin(b);
        double want = a > b ? a : b;
        double got = angle_rows(d, k, ut, vt);
        /* from sines: relative accuracy ~eps even for tiny angles */
        ck_assert_msg(fabs(got - want) <= 4 * EPS * want + 1e-300, "%g vs %g", got, want);
        /* and symmetric in its arguments */
        ck_assert_double_eq_tol(angle_rows(d, k, vt, ut), want, 4 * EPS * want + 1e-300);
    }
}
END_TEST

/* Rank-deficient data: when the block is wider than the rank it is cut
 * down and the answer still matches LAPACK; k >= rank is refused. */
START_TEST(rank_deficient_data)
{
    const size_t n = 200, d = 20, rank = 8;
    gsl_rng *r = lz_rng_alloc(3);
    double *a = malloc(n * rank * sizeof *a), *b = malloc(rank * d * sizeof *b),
           *x0 = malloc(n * d * sizeof *x0), *x = malloc(n * d * sizeof *x),
           *s = malloc(d * d * sizeof *s), *w = malloc(d * sizeof *w),
           *v = malloc(d * d * sizeof *v), *ref = malloc(d * d * sizeof *ref);
    lz_rng_gauss(r, n * rank, a);
    lz_rng_gauss(r, rank * d, b);
    for (size_t l = 0; l < rank; l++)
        for (size_t j = 0; j < d; j++) b[l * d + j] *= pow(0.7, (double)l);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)d, (int)rank, 1.0, a,
                (int)rank, b, (int)d, 0.0, x0, (int)d);
    lapack_truth(n, d, x0, s, w, v);
    for (int mode = 0; mode < 2; mode++) {
        /* k = 3 with 10 extra columns: p = 13 > rank 8, cut to 8 */
        pca_config c;
        pca_config_default(&c);
        c.k = 3;
        c.mode = mode;
        memcpy(x, x0, n * d * sizeof *x);
        pca_model *m = pca_model_alloc(d, 3);
        pca_fit_info fi;
        lz_error e;
        ck_assert_int_eq(pca_fit(&c, n, d, x, NULL, m, &fi, NULL, NULL, &e), LZ_OK);
        ck_assert_uint_eq(fi.p, rank);
        top_rows(d, 3, v, ref);
        ck_assert_double_lt(angle_rows(d, 3, m->comp, ref), 1e-8);
        for (size_t j = 0; j < 3; j++) ck_assert_double_eq_tol(m->eigval[j], w[j], 1e-10 * w[j]);
        pca_model_free(m);
        /* k = rank: the PPCA noise variance would be 0, with or without
         * extra columns (detected by the rank test, or by sigma^2) */
        for (int q = 0; q <= 10; q += 10) {
            c.k = (int)rank;
            c.oversample = q;
            memcpy(x, x0, n * d * sizeof *x);
            m = pca_model_alloc(d, rank);
            lz_error_clear(&e);
            ck_assert_int_eq(pca_fit(&c, n, d, x, NULL, m, NULL, NULL, NULL, &e), LZ_ENUMERIC);
            ck_assert_msg(strstr(e.msg, "-k 8") != NULL, "message: %s", e.msg);
            pca_model_free(m);
        }
    }
    /* constant data: no variance at all */
    for (size_t i = 0; i < n * d; i++) x[i] = 0.1 * (double)(1 + i % d); /* mean inexact */
    pca_config c;
    pca_config_default(&c);
    pca_model *m = pca_model_alloc(d, 2);
    lz_error e;
    ck_assert_int_eq(pca_fit(&c, n, d, x, NULL, m, NULL, NULL, NULL, &e), LZ_ENUMERIC);
    ck_assert_ptr_nonnull(strstr(e.msg, "no variance"));
    pca_model_free(m);
    free(a), free(b), free(x0), free(x), free(s), free(w), free(v), free(ref);
    gsl_rng_free(r);
}
END_TEST

START_TEST(config_checks_name_the_option)
{
    struct {
        int k, mode, q, max_iter;
        double tol;
        size_t d;
        const char *want;
    } bad[] = {
        {0, 2, 10, 100, 1e-9, 64, "-k 0: expected 1 <= k < d = 64"},
        {0, 2, 10, 100, 1e-9, 0, "-k 0: expected k >= 1"},
        {64, 2, 10, 100, 1e-9, 64, "-k 64: expected 1 <= k < d = 64"},
        {2, 2, -2, 100, 1e-9, 64, "--oversample -2"},
        {2, 2, 10, 0, 1e-9, 64, "--max-iter 0"},
        {2, 2, 10, 100, 0.0, 64, "--tol 0"},
        {2, 2, 10, 100, -1.0, 64, "--tol -1"},
        {2, 7, 10, 100, 1e-9, 64, "--mode"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        pca_config c;
        pca_config_default(&c);
        c.k = bad[i].k, c.mode = bad[i].mode, c.oversample = bad[i].q;
        c.max_iter = bad[i].max_iter, c.tol = bad[i].tol;
        lz_error e;
        lz_error_clear(&e);
        ck_assert_int_eq(pca_config_check(&c, bad[i].d, &e), LZ_EINVAL);
        ck_assert_msg(strstr(e.msg, bad[i].want) != NULL, "case %zu: '%s' lacks '%s'", i, e.msg,
                      bad[i].want);
    }
    pca_config c;
    pca_config_default(&c);
    ck_assert_int_eq(pca_config_check(&c, 64, NULL), LZ_OK);
    c.k = 63;
    ck_assert_int_eq(pca_config_check(&c, 64, NULL), LZ_OK);
    ck_assert_uint_eq(pca_block_size(&c, 64), 64); /* capped at d */
    c.k = 2;
    ck_assert_uint_eq(pca_block_size(&c, 64), 12); /* auto: q = max(10, k) */
    c.k = 20;
    ck_assert_uint_eq(pca_block_size(&c, 64), 40);
    c.oversample = 0;
    ck_assert_uint_eq(pca_block_size(&c, 64), 20);
    c.oversample = 3;
    ck_assert_uint_eq(pca_block_size(&c, 64), 23);
}
END_TEST

/* auto mode follows its flop count: many samples and moderate d favour S,
 * a huge d with a small block favours the data */
START_TEST(auto_mode_cost_model)
{
    ck_assert_int_eq(pca_choose_mode(60000, 784, 30, 1000), PCA_MODE_COV);
    ck_assert_int_eq(pca_choose_mode(1797, 64, 12, 1000), PCA_MODE_COV);
    ck_assert_int_eq(pca_choose_mode(500, 50000, 12, 1000), PCA_MODE_DATA);
    /* one iteration only: S (n d^2) costs more than 4 n d p when d > 4 p */
    ck_assert_int_eq(pca_choose_mode(10000, 1000, 12, 1), PCA_MODE_DATA);
    /* the boundary moves with the flop counts: cov iff n d^2 + 2 T d^2 p < 4 T n d p */
    for (size_t d = 100; d <= 4000; d += 300) {
        size_t n = 5000, p = 12;
        double t = PCA_AUTO_ITERS;
        int cov = (double)n * d * d + t * 2.0 * d * d * p < t * 4.0 * n * d * p;
        ck_assert_int_eq(pca_choose_mode(n, d, p, 1000), cov ? PCA_MODE_COV : PCA_MODE_DATA);
    }
}
END_TEST

/* max_iter stops the fit without convergence; the callback can stop it */
static int stop_at_3(const pca_iter_info *it, void *ctx)
{
    (void)ctx;
    return it->iter >= 3;
}

START_TEST(iteration_limits_and_callback_stop)
{
    const size_t n = 200, d = 30, k = 4;
    gsl_rng *r = lz_rng_alloc(2);
    double *lambda = malloc(d * sizeof *lambda), *x0 = malloc(n * d * sizeof *x0),
           *x = malloc(n * d * sizeof *x), *v = malloc(d * d * sizeof *v);
    spectrum(d, k, lambda);
    known_spectrum(r, n, d, lambda, x0, v);
    pca_config c;
    pca_config_default(&c);
    c.k = (int)k;
    c.oversample = 0;
    c.max_iter = 2;
    memcpy(x, x0, n * d * sizeof *x);
    pca_model *m = pca_model_alloc(d, k);
    pca_fit_info fi;
    ck_assert_int_eq(pca_fit(&c, n, d, x, NULL, m, &fi, NULL, NULL, NULL), LZ_OK);
    ck_assert_int_eq(fi.iterations, 2);
    ck_assert_int_eq(fi.converged, 0);
    c.max_iter = 100;
    memcpy(x, x0, n * d * sizeof *x);
    lz_error e;
    ck_assert_int_eq(pca_fit(&c, n, d, x, NULL, m, &fi, stop_at_3, NULL, &e), LZ_ESTOP);
    pca_model_free(m);
    free(lambda), free(x0), free(x), free(v);
    gsl_rng_free(r);
}
END_TEST

/* A model written and read back is the same, bit for bit; a model file
 * that breaks the PPCA constraints is refused with its name. */
START_TEST(model_file_round_trip)
{
    char dir[] = "/tmp/lz_test_pca.XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/m.model", dir);
    const size_t d = 7, k = 2;
    pca_model *m = pca_model_alloc(d, k);
    gsl_rng *r = lz_rng_alloc(4);
    lz_rng_gauss(r, d, m->mean);
    /* orthonormal directions: Q of a random (d, k), transposed into comp */
    double q[7 * 2];
    lz_rng_gauss(r, d * k, q);
    ck_assert_int_eq(lz_qr(d, k, q, NULL, NULL), LZ_OK);
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j < k; j++) m->comp[j * d + i] = q[i * k + j];
    m->eigval[0] = 3.0 / 7.0, m->eigval[1] = 0.1 + 1e-17;
    m->sigma2 = 1.0 / 3.0 * 0.1, m->total_var = M_PI;
    lz_outset *os = lz_outset_alloc();
    lz_error e;
    ck_assert_int_eq(pca_model_write(m, os, path, &e), LZ_OK);
    ck_assert_int_eq(lz_outset_commit(os, &e), LZ_OK);
    lz_outset_free(os);
    pca_model *m2 = NULL;
    ck_assert_int_eq(pca_model_read(path, &m2, &e), LZ_OK);
    ck_assert_uint_eq(m2->d, d);
    ck_assert_uint_eq(m2->k, k);
    ck_assert_int_eq(memcmp(m->mean, m2->mean, (d + k * d + k) * sizeof(double)), 0);
    ck_assert(m2->sigma2 == m->sigma2 && m2->total_var == m->total_var);
    pca_model_free(m2);
    /* sigma^2 above an eigenvalue: not a PPCA model */
    m->sigma2 = 1.0;
    os = lz_outset_alloc();
    ck_assert_int_eq(pca_model_write(m, os, path, &e), LZ_OK);
    ck_assert_int_eq(lz_outset_commit(os, &e), LZ_OK);
    lz_outset_free(os);
    ck_assert_int_eq(pca_model_read(path, &m2, &e), LZ_EFORMAT);
    ck_assert_ptr_nonnull(strstr(e.msg, path));
    ck_assert_ptr_nonnull(strstr(e.msg, "expected eigenvalues >= sigma2"));
    ck_assert_ptr_null(m2);
    /* directions that are not orthonormal: no PPCA density */
    m->sigma2 = 1.0 / 3.0 * 0.1;
    m->comp[3] *= 1.001;
    os = lz_outset_alloc();
    ck_assert_int_eq(pca_model_write(m, os, path, &e), LZ_OK);
    ck_assert_int_eq(lz_outset_commit(os, &e), LZ_OK);
    lz_outset_free(os);
    ck_assert_int_eq(pca_model_read(path, &m2, &e), LZ_EFORMAT);
    ck_assert_ptr_nonnull(strstr(e.msg, "array comp: rows off orthonormal"));
    ck_assert_ptr_null(m2);
    pca_model_free(m);
    gsl_rng_free(r);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* Same seed and input: identical components; another seed: the same
 * subspace (to the tolerance) from another start. */
START_TEST(deterministic_and_seed_independent)
{
    const size_t n = 300, d = 20, k = 3;
    gsl_rng *r = lz_rng_alloc(8);
    double *lambda = malloc(d * sizeof *lambda), *x0 = malloc(n * d * sizeof *x0),
           *x = malloc(n * d * sizeof *x), *v = malloc(d * d * sizeof *v);
    spectrum(d, k, lambda);
    known_spectrum(r, n, d, lambda, x0, v);
    pca_model *m[3];
    unsigned long seeds[3] = {1, 1, 99};
    for (int i = 0; i < 3; i++) {
        pca_config c;
        pca_config_default(&c);
        c.k = (int)k;
        c.seed = seeds[i];
        memcpy(x, x0, n * d * sizeof *x);
        m[i] = pca_model_alloc(d, k);
        ck_assert_int_eq(pca_fit(&c, n, d, x, NULL, m[i], NULL, NULL, NULL, NULL), LZ_OK);
    }
    ck_assert_int_eq(memcmp(m[0]->comp, m[1]->comp, k * d * sizeof(double)), 0);
    ck_assert_double_lt(angle_rows(d, k, m[0]->comp, m[2]->comp), 1e-8);
    /* the sign rule makes the two starts give the same vectors, not only
     * the same span */
    for (size_t i = 0; i < k * d; i++) ck_assert_double_eq_tol(m[0]->comp[i], m[2]->comp[i], 1e-8);
    for (int i = 0; i < 3; i++) pca_model_free(m[i]);
    free(lambda), free(x0), free(x), free(v);
    gsl_rng_free(r);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("pca");
    TCase *t = tcase_create("all");
    tcase_add_test(t, known_spectrum_matches_lapack_both_modes);
    tcase_add_test(t, seed_step_equals_its_formula);
    tcase_add_test(t, data_and_cov_modes_iterate_alike);
    tcase_add_test(t, reconstruction_error_is_discarded_variance);
    tcase_add_test(t, ppca_loglik_equals_direct_cholesky);
    tcase_add_test(t, principal_angle_closed_form);
    tcase_add_test(t, rank_deficient_data);
    tcase_add_test(t, config_checks_name_the_option);
    tcase_add_test(t, auto_mode_cost_model);
    tcase_add_test(t, iteration_limits_and_callback_stop);
    tcase_add_test(t, model_file_round_trip);
    tcase_add_test(t, deterministic_and_seed_independent);
    suite_add_tcase(s, t);
    return s;
}

int main(void) { return lz_check_main(suite()); }
