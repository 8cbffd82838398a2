/* lgm.c -- the linear Gaussian model (factor analysis) by EM (see lgm.h).
 *
 * docs/lgm.md has every equation next to the function that computes it.
 * Dimension letters: n samples, d data, k latent, j draws.
 * Every array is row-major; shapes are given as (rows, cols).
 */
#include "lgm.h"
#include "lgm_impl.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lz_blas.h"
#include "lz_data.h"
#include "lz_linalg.h"
#include "lz_prob.h"
#include "lz_model.h"
#include "lz_time.h"

/* ------------------------------------------------------------------ */
/* configuration */

void lgm_config_default(lgm_config *c)
{
    c->k = 2;
    c->completion = LGM_EXACT;
    c->samples = 10;
    c->dmin = 1e-6;
    c->init = LGM_INIT_BEST;
    c->tol = 1e-9;
    c->max_iter = 10000;
    c->accelerate = 1;
    c->floor_step = 1;
    c->seed = 1;
}

lz_status lgm_config_check(const lgm_config *c, size_t d, lz_error *err)
{
    if (d == 1)
        return lz_fail(err, LZ_EINVAL,
                       "1 column: factor analysis needs at least 2 (k factors, 1 <= k < d)");
    if (c->k < 1)
        return d ? lz_fail(err, LZ_EINVAL, "-k %d: expected 1 <= k < d = %zu", c->k, d)
                 : lz_fail(err, LZ_EINVAL, "-k %d: expected k >= 1", c->k);
    if (d && (size_t)c->k >= d)
        return lz_fail(err, LZ_EINVAL, "-k %d: expected 1 <= k < d = %zu", c->k, d);
    if (c->completion != LGM_EXACT && c->completion != LGM_SAMPLED)
        return lz_fail(err, LZ_EINVAL, "--completion: expected exact or sampled");
    if (c->samples < 1 || c->samples > 10000)
        return lz_fail(err, LZ_EINVAL, "--samples %d: expected 1 <= J <= 10000", c->samples);
    /* below LGM_DMIN_MIN the rounding of the residual variance S_ii - ... at
     * the floor, ~eps S_ii, is no longer small next to D_i = dmin S_ii, and
     * ll/N is only known to ~eps/dmin nats a floored coordinate */
    if (!(c->dmin >= LGM_DMIN_MIN) || !(c->dmin < 1))
        return lz_fail(err, LZ_EINVAL,
                       "--dmin %.15g: expected a fraction %g <= V < 1 of each coordinate's "
                       "variance (below %g rounding swamps ll/N at the floor)",
                       c->dmin, LGM_DMIN_MIN, LGM_DMIN_MIN);
    if (c->init < LGM_INIT_PCA || c->init > LGM_INIT_BEST)
        return lz_fail(err, LZ_EINVAL, "--init: expected pca, random, smc or best");
    if (!(c->tol >= 0) || !isfinite(c->tol))
        return lz_fail(err, LZ_EINVAL, "--tol %.15g: expected a tolerance >= 0", c->tol);
    if (c->max_iter < 0)
        return lz_fail(err, LZ_EINVAL, "--max-iter %d: expected >= 0", c->max_iter);
    return LZ_OK;
}

/* ------------------------------------------------------------------ */
/* parameters */

lgm_model *lgm_model_alloc(size_t d, size_t k)
{
    lgm_model *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->d = d;
    m->k = k;
    /* one block: mu (d) | a (d, k) | dg (d) | floor (d) */
    m->block = calloc(3 * d + d * k, sizeof *m->block);
    if (!m->block) {
        free(m);
        return NULL;
    }
    m->mu = m->block;
    m->a = m->mu + d;
    m->dg = m->a + d * k;
    m->floor = m->dg + d;
    return m;
}

void lgm_model_free(lgm_model *m)
{
    if (!m) return;
    free(m->block);
    free(m);
}

void lgm_model_copy(lgm_model *dst, const lgm_model *src)
{
    memcpy(dst->block, src->block, (3 * src->d + src->d * src->k) * sizeof *dst->block);
    dst->completion = src->completion;
}

size_t lgm_n_floor(const lgm_model *m)
{
    size_t c = 0;
    for (size_t i = 0; i < m->d; i++) c += m->dg[i] <= m->floor[i];
    return c;
}

size_t lgm_n_params(const lgm_model *m) { return m->d + m->d * m->k + m->d; }

/* ------------------------------------------------------------------ */
/* workspace */

lgm_work *lgm_work_alloc(size_t d, size_t k, size_t n)
{
    lgm_work *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->d = d;
    w->k = k;
    w->n = n;
    size_t tot = 6 * d * k + 5 * k * k + d * d + k + 3 * n * k;
    w->block = malloc(tot * sizeof *w->block);
    if (!w->block) {
        lgm_work_free(w);
        return NULL;
    }
    double *p = w->block;
    /* clang-format off */
    w->bt = p;     p += d * k;
    w->g = p;      p += d * k;
    w->gt = p;     p += d * k;
    w->ah = p;     p += d * k;
    w->xz = p;     p += d * k;
    w->wd = p;     p += d * k;
    w->l = p;      p += k * k;
    w->sigma = p;  p += k * k;
    w->h = p;      p += k * k;
    w->ht = p;     p += k * k;
    w->f = p;      p += k * k;
    w->s_eig = p;  p += d * d;
    w->eigval = p; p += k;
    w->zm = p;     p += n * k;
    w->zj = p;     p += n * k;
    w->zsum = p;   p += n * k;
    /* clang-format on */
    return w;
}

void lgm_work_free(lgm_work *w)
{
    if (!w) return;
    free(w->block);
    free(w);
}

/* ------------------------------------------------------------------ */
/* data */

lz_status lgm_prepare(lgm_model *m, int fit_mean, lz_data *train, lz_data *test, double *s,
                      double *s_test, lz_error *err)
{
    size_t d = m->d;
    lz_status st = LZ_OK;
    if (fit_mean) {
        /* mu <- the column means, the variances checked (values too large are
         * an error; rounding noise is no variance) */
        double *var = malloc(d * sizeof *var); /* (d) */
        if (!var) return lz_fail(err, LZ_ENOMEM, "out of memory");
        st = lz_data_moments(train, m->mu, var, NULL, err);
        if (!st) {
            lz_center(train->n, d, train->x, m->mu);
            /* the centred values of a constant coordinate exactly 0, so its
             * rows and columns of S are */
            for (size_t i = 0; i < d; i++)
                if (!(var[i] > 0))
                    for (size_t r = 0; r < train->n; r++) train->x[r * d + i] = 0;
        }
        free(var);
    } else if (train)
        lz_center(train->n, d, train->x, m->mu);
    if (test) lz_center(test->n, d, test->x, m->mu);
    /* a missing entry is 0 in the working form (docs/lgm.md, "Missing
     * entries") */
    lz_data *set[2] = {train, test};
    for (int q = 0; q < 2; q++)
        if (set[q] && set[q]->miss)
            for (size_t i = 0; i < set[q]->n * d; i++)
                if (set[q]->miss[i]) set[q]->x[i] = 0.0;
    /* S <- (1/n) sum x x^T of the centred data, once (docs/lgm.md, The model) */
    if (!st && train) st = lz_covariance(train->n, d, train->x, NULL, s, err);
    if (!st && train && train->miss) {
        /* with missing entries: S_ij (n / (n_i n_j)^1/2), n_i the rows
         * observing i, so the diagonal holds the observed variances (the
         * sums run over observed entries only) */
        size_t n = train->n;
        double *sc = malloc(d * sizeof *sc); /* (d) (n / n_i)^1/2 */
        if (!sc) return lz_fail(err, LZ_ENOMEM, "out of memory");
        for (size_t i = 0; i < d; i++) {
            size_t no = n;
            for (size_t r = 0; r < n; r++) no -= train->miss[r * d + i];
            sc[i] = sqrt((double)n / (double)(no ? no : 1));
        }
        for (size_t i = 0; i < d; i++)
            for (size_t j = 0; j < d; j++) s[i * d + j] *= sc[i] * sc[j];
        free(sc);
    }
    /* S_test only for complete test data (incomplete data are scored by
     * pattern: lgm_score_incomplete) */
    if (!st && test && !test->miss) st = lz_covariance(test->n, d, test->x, NULL, s_test, err);
    return st;
}

/* ------------------------------------------------------------------ */
/* posterior and log-likelihood */

lz_status lgm_posterior(const lgm_model *m, lgm_work *w, lz_error *err)
{
    size_t d = m->d, k = m->k;
    /* Wd <- D^-1/2 A  (d, k) */
    for (size_t i = 0; i < d; i++) {
        double s = 1.0 / sqrt(m->dg[i]);
        for (size_t c = 0; c < k; c++) w->wd[i * k + c] = s * m->a[i * k + c];
    }
    /* M <- I + Wd^T Wd = I + A^T D^-1 A  (k, k), upper triangle by dsyrk */
    for (size_t i = 0; i < k * k; i++) w->l[i] = 0.0;
    for (size_t c = 0; c < k; c++) w->l[c * k + c] = 1.0;
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)k, (int)d, 1.0, w->wd, (int)k, 1.0,
                w->l, (int)k);
    lz_sym_from_upper(k, w->l);
    memcpy(w->sigma, w->l, k * k * sizeof *w->sigma);
    /* L L^T = M (lower), log|M| = 2 sum_c log L_cc */
    lz_status st = lz_chol(k, w->l, err);
    if (st) return lz_fail(err, st, "posterior: I + A^T D^-1 A is not positive definite");
    w->logdet_m = lz_chol_logdet(k, w->l);
    /* Sigma <- M^-1  (k, k) */
    if ((st = lz_spd_inv(k, w->sigma, NULL, err))) return st;
    /* B^T <- D^-1 A M^-1  (d, k), by Cholesky solves rather than through the
     * explicit Sigma: D^-1 A is large where D is small (Heywood cases), and
     * the solve keeps B accurate there */
    for (size_t i = 0; i < d; i++) {
        double s = 1.0 / m->dg[i];
        for (size_t c = 0; c < k; c++) w->bt[i * k + c] = s * m->a[i * k + c];
    }
    lz_chol_solve_right(d, k, w->l, w->bt, NULL);
    return LZ_OK;
}

void lgm_moments(const lgm_model *m, const double *bt, const double *s, double *g, double *h)
{
    size_t d = m->d, k = m->k;
    /* G (d, k) <- S B^T = (1/n) sum_n x_n m_n^T   (docs/lgm.md), O(d^2 k) */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)d, (int)k, (int)d, 1.0, s, (int)d,
                bt, (int)k, 0.0, g, (int)k);
    /* H (k, k) <- B G = B S B^T = (1/n) sum_n m_n m_n^T */
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)k, (int)k, (int)d, 1.0, bt, (int)k, g,
                (int)k, 0.0, h, (int)k);
    lz_symmetrise(k, h);
}

double lgm_loglik_post(const lgm_model *m, lgm_work *w, const double *s, const double *g,
                       const double *h)
{
    size_t d = m->d, k = m->k;
    /* x^T C^-1 x = (x - A m)^T D^-1 (x - A m) + m^T m with m = B x (Woodbury,
     * docs/lgm.md "Where the ll/N formula comes from"), so, averaged over the data,
     *     tr(C^-1 S) = sum_i rho_i / D_i + tr(H),
     *     rho_i = S_ii - 2 a_i.g_i + a_i^T H a_i   (residual variance of x_i).
     * Each term is >= 0, and the expression is stationary (a minimum) in B,
     * so rounding in B only enters at second order: accurate even when
     * D_i << (A A^T)_ii, where S_ii/D_i - (the correction) would cancel.
     * log|C| = log|D| + log|M|  (determinant lemma).  O(d k^2). */
    /* AH (d, k) <- A H */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)d, (int)k, (int)k, 1.0, m->a,
                (int)k, h, (int)k, 0.0, w->ah, (int)k);
    double logdet_d = 0, quad = 0, tr_h = 0;
    for (size_t i = 0; i < d; i++) {
        const double *ai = m->a + i * k, *gi = g + i * k, *hi = w->ah + i * k;
        double ag = 0, aha = 0;
        for (size_t c = 0; c < k; c++) {
            ag += ai[c] * gi[c];
            aha += ai[c] * hi[c];
        }
        double rho = s[i * d + i] - 2.0 * ag + aha;
        logdet_d += log(m->dg[i]);
        quad += rho / m->dg[i];
    }
    for (size_t c = 0; c < k; c++) tr_h += h[c * k + c];
    /* ll/N = -1/2 [d log 2pi + log|C| + tr(C^-1 S)] */
    return -0.5 * ((double)d * LZ_LOG_2PI + logdet_d + w->logdet_m + quad + tr_h);
}

lz_status lgm_loglik(const lgm_model *m, const double *s, lgm_work *w, double *ll, lz_error *err)
{
    lz_status st = lgm_posterior(m, w, err);
    if (st) return st;
    lgm_moments(m, w->bt, s, w->g, w->h);
    *ll = lgm_loglik_post(m, w, s, w->g, w->h);
    return LZ_OK;
}

lz_status lgm_latent(const lgm_model *m, lgm_work *w, size_t n, const double *x, double *z,
                     lz_error *err)
{
    lz_status st = lgm_posterior(m, w, err);
    if (st) return st;
    /* Z (n, k) <- X B^T: E[z | x_n] = B x_n */
    if (n)
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)m->k, (int)m->d, 1.0, x,
                    (int)m->d, w->bt, (int)m->k, 0.0, z, (int)m->k);
    return LZ_OK;
}

void lgm_sample(const lgm_model *m, gsl_rng *r, size_t n, double *x, double *tmp)
{
    size_t d = m->d, k = m->k;
    for (size_t t = 0; t < n; t++) {
        double *xt = x + t * d; /* (d) one draw */
        /* z ~ N(0, I_k), e ~ N(0, I_d); x = mu + A z + D^1/2 e  (docs/lgm.md, The model) */
        lz_rng_gauss(r, k, tmp);
        lz_rng_gauss(r, d, xt);
        for (size_t i = 0; i < d; i++) {
            const double *ai = m->a + i * k;
            double az = 0;
            for (size_t c = 0; c < k; c++) az += ai[c] * tmp[c];
            xt[i] = m->mu[i] + az + sqrt(m->dg[i]) * xt[i];
        }
    }
}

/* ------------------------------------------------------------------ */
/* initialisation */

lz_status lgm_set_floor(double dmin, const double *s, lgm_model *m, lz_error *err)
{
    size_t d = m->d, n_var = 0;
    for (size_t i = 0; i < d; i++) {
        double v = s[i * d + i];
        if (!isfinite(v))
            return lz_fail(err, LZ_ENUMERIC,
                           "the covariance of the data is not finite "
                           "(values too large): expected moderate magnitudes");
        n_var += v > 0;
    }
    if (!n_var)
        return lz_fail(err, LZ_EINVAL, "every column is constant: expected some variance to model");
    /* floor_i = dmin S_ii; a constant coordinate has no variance to measure
     * its unit by: dmin mu_i^2, and dmin for a coordinate that is always 0
     * (which no rescaling changes); docs/lgm.md, "The floor on D" */
    for (size_t i = 0; i < d; i++) {
        double v = s[i * d + i], u = m->mu[i] * m->mu[i];
        m->floor[i] = dmin * (v > 0 ? v : u > 0 ? u : 1.0);
    }
    return LZ_OK;
}

/* a coordinate with no variance (S_ii = 0: constant, or constant where
 * observed) keeps its row of A exactly 0 */
static void zero_constant_rows(const double *s, lgm_model *m)
{
    size_t d = m->d, k = m->k;
    for (size_t i = 0; i < d; i++)
        if (!(s[i * d + i] > 0))
            for (size_t q = 0; q < k; q++) m->a[i * k + q] = 0.0;
}

/* the smc start of lgm_init (see lgm.h), the floors set */
static lz_status init_smc(const double *s, lgm_model *m, lgm_work *w, lz_error *err)
{
    size_t d = m->d, k = m->k, p = 0;
    size_t *v = malloc(d * sizeof *v); /* (p) the varying coordinates */
    if (!v) return lz_fail(err, LZ_ENOMEM, "init: out of memory");
    for (size_t i = 0; i < d; i++)
        if (s[i * d + i] > 0) v[p++] = i;
    double *rv = p > k ? malloc(p * p * sizeof *rv) : NULL; /* (p, p) */
    if (p <= k || !rv) {
        free(v);
        free(rv);
        return p <= k ? lz_fail(err, LZ_ENUMERIC, "init smc: %zu varying coordinates for k = %zu",
                                p, k)
                      : lz_fail(err, LZ_ENOMEM, "init: out of memory");
    }
    /* R (d, d) into w->s_eig, R_ij = S_ij / (S_ii S_jj)^1/2, a constant
     * coordinate's row and column 0 */
    double *r = w->s_eig;
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j < d; j++) {
            double sii = s[i * d + i], sjj = s[j * d + j];
            r[i * d + j] = sii > 0 && sjj > 0 ? s[i * d + j] / (sqrt(sii) * sqrt(sjj)) : 0.0;
        }
    /* (R + eps I)^-1 over the varying coordinates */
    static const double eps[] = {0, 1e-10, 1e-8, 1e-6, 1e-4, 1e-2};
    lz_status st = LZ_ENUMERIC;
    for (size_t e = 0; st && e < sizeof eps / sizeof eps[0]; e++) {
        for (size_t a = 0; a < p; a++)
            for (size_t b = 0; b < p; b++) rv[a * p + b] = r[v[a] * d + v[b]];
        for (size_t a = 0; a < p; a++) rv[a * p + a] = 1.0 + eps[e];
        lz_error e2;
        st = lz_spd_inv(p, rv, NULL, &e2);
        for (size_t a = 0; !st && a < p; a++)
            if (!(rv[a * p + a] > 0 && isfinite(rv[a * p + a]))) st = LZ_ENUMERIC;
    }
    if (st) {
        free(v);
        free(rv);
        return lz_fail(err, LZ_ENUMERIC, "init smc: the correlation matrix does not factor");
    }
    /* psi_i = min(1, (1 - k / 2p) / (R^-1)_ii); constant coordinates 1;
     * D_i = max(psi_i S_ii, floor_i) */
    double *psi = m->dg; /* (d) psi first, D at the end */
    for (size_t i = 0; i < d; i++) psi[i] = 1.0;
    for (size_t a = 0; a < p; a++)
        psi[v[a]] = fmin(1.0, (1.0 - 0.5 * (double)k / (double)p) / rv[a * p + a]);
    for (size_t i = 0; i < d; i++)
        if (s[i * d + i] > 0) psi[i] = fmax(psi[i], m->floor[i] / s[i * d + i]);
    free(v);
    free(rv);
    /* Psi^-1/2 R Psi^-1/2 (d, d), in place */
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j < d; j++) r[i * d + j] /= sqrt(psi[i]) * sqrt(psi[j]);
    st = lz_eigh_top(d, r, k, w->eigval, m->a, err);
    if (st) return st;
    /* A = C^1/2 Psi^1/2 U_k (Theta_k - I)^1/2 */
    for (size_t i = 0; i < d; i++) {
        double ci = s[i * d + i] > 0 ? sqrt(s[i * d + i]) : 1.0;
        for (size_t c2 = 0; c2 < k; c2++)
            m->a[i * k + c2] *= ci * sqrt(psi[i]) * sqrt(fmax(w->eigval[c2] - 1.0, 1e-3));
    }
    for (size_t i = 0; i < d; i++)
        m->dg[i] = s[i * d + i] > 0 ? fmax(psi[i] * s[i * d + i], m->floor[i]) : m->floor[i];
    return LZ_OK;
}

lz_status lgm_init(const lgm_config *c, const double *s, gsl_rng *r, lgm_model *m, lgm_work *w,
                   lz_error *err)
{
    size_t d = m->d, k = m->k;
    lz_status st = lgm_set_floor(c->dmin, s, m, err);
    if (st) return st;
    if (c->init == LGM_INIT_SMC) return init_smc(s, m, w, err);
    /* D <- max(diag S, floor) */
    for (size_t i = 0; i < d; i++) m->dg[i] = fmax(s[i * d + i], m->floor[i]);
    if (c->init == LGM_INIT_RANDOM) {
        /* A_ic ~ N(0, S_ii / k): E[(A A^T)_ii] = S_ii */
        lz_rng_gauss(r, d * k, m->a);
        for (size_t i = 0; i < d; i++) {
            double sc = sqrt(s[i * d + i] / (double)k);
            for (size_t c2 = 0; c2 < k; c2++) m->a[i * k + c2] *= sc;
        }
        return LZ_OK;
    }
    /* R = C^-1/2 S C^-1/2 (d, d), the correlation matrix; C_i = S_ii, or 1
     * for a constant coordinate (its row of S is 0) */
    for (size_t i = 0; i < d; i++) {
        double ci = s[i * d + i] > 0 ? 1.0 / sqrt(s[i * d + i]) : 1.0;
        for (size_t j = 0; j < d; j++) {
            double cj = s[j * d + j] > 0 ? 1.0 / sqrt(s[j * d + j]) : 1.0;
            w->s_eig[i * d + j] = ci * s[i * d + j] * cj;
        }
    }
    double tr = 0;
    for (size_t i = 0; i < d; i++) tr += w->s_eig[i * d + i];
    /* top-k eigenpairs of R: U (d, k) into A, Lambda_k descending */
    st = lz_eigh_top(d, w->s_eig, k, w->eigval, m->a, err);
    if (st) return st;
    /* sigma^2 = mean of the d - k other eigenvalues = (tr R - sum_c lambda_c)/(d - k);
     * A = C^1/2 U_k (Lambda_k - sigma^2 I)^1/2, the PPCA loadings (Tipping &
     * Bishop 1999) of the standardised data.  Each column's variance
     * lambda_c - sigma^2 is taken at least 1e-3 (of a unit variance): a zero
     * column of A is a fixed point of EM (its row of B, hence its column of
     * G, stays 0). */
    double top = 0;
    for (size_t c2 = 0; c2 < k; c2++) top += w->eigval[c2];
    double sigma2 = fmax((tr - top) / (double)(d - k), 0.0);
    for (size_t c2 = 0; c2 < k; c2++) {
        double sc = sqrt(fmax(w->eigval[c2] - sigma2, 1e-3));
        for (size_t i = 0; i < d; i++) m->a[i * k + c2] *= sc;
    }
    for (size_t i = 0; i < d; i++) {
        double ci = s[i * d + i] > 0 ? sqrt(s[i * d + i]) : 1.0;
        for (size_t c2 = 0; c2 < k; c2++) m->a[i * k + c2] *= ci;
    }
    return LZ_OK;
}

/* ------------------------------------------------------------------ */
/* M-steps */

/* A (d, k) <- G F^-1 for SPD f (k, k), destroyed (its Cholesky factor):
 * F = L L^T, so A L L^T = G. */
static lz_status solve_right_spd(size_t d, size_t k, double *f, const double *g, double *a,
                                 lz_error *err)
{
    lz_status st = lz_chol(k, f, err);
    if (st) return st;
    memcpy(a, g, d * k * sizeof *a);
    return lz_chol_solve_right(d, k, f, a, err);
}

lz_status lgm_mstep_exact(lgm_model *m, lgm_work *w, const double *s, lz_error *err)
{
    size_t d = m->d, k = m->k;
    /* F <- Sigma + H = (1/n) sum_n (Sigma + m_n m_n^T) = (1/n) sum_n E[z z^T | x_n]  (k, k) */
    for (size_t i = 0; i < k * k; i++) w->f[i] = w->sigma[i] + w->h[i];
    /* A <- (sum_n x_n m_n^T)(sum_n E[z z^T|x_n])^-1 = G F^-1  (the lecture's
     * slide "LGM with incomplete information", option 1) */
    lz_status st = solve_right_spd(d, k, w->f, w->g, m->a, err);
    if (st) return lz_fail(err, st, "M-step: sum of E[z z^T | x] is not positive definite");
    /* D <- diag((1/n)(sum x x^T - A sum m x^T)) = diag(S) - rowsum(A o G), floored */
    for (size_t i = 0; i < d; i++) {
        const double *ai = m->a + i * k, *gi = w->g + i * k;
        double ag = 0;
        for (size_t c = 0; c < k; c++) ag += ai[c] * gi[c];
        m->dg[i] = fmax(s[i * d + i] - ag, m->floor[i]);
    }
    return LZ_OK;
}

lz_status lgm_em_step(lgm_model *m, lgm_work *w, const double *s, double *ll, lz_error *err)
{
    lz_status st = lgm_posterior(m, w, err);
    if (st) return st;
    lgm_moments(m, w->bt, s, w->g, w->h);
    if (ll) *ll = lgm_loglik_post(m, w, s, w->g, w->h);
    return lgm_mstep_exact(m, w, s, err);
}

lz_status lgm_mstep_sampled(lgm_model *m, lgm_work *w, size_t n, const double *x, const double *s,
                            int samples, gsl_rng *r, lz_error *err)
{
    size_t d = m->d, k = m->k;
    if (w->n < n)
        return lz_fail(err, LZ_EINVAL, "sampled M-step: workspace for %zu rows, not %zu", w->n, n);
    /* Zm (n, k) <- X B^T: posterior means m_n = B x_n */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)k, (int)d, 1.0, x, (int)d,
                w->bt, (int)k, 0.0, w->zm, (int)k);
    memset(w->zsum, 0, n * k * sizeof *w->zsum);
    memset(w->f, 0, k * k * sizeof *w->f);
    for (int j = 0; j < samples; j++) {
        /* Zj (n, k): z_nj = m_n + L^-T e, e ~ N(0, I_k), so Cov = L^-T L^-1 = Sigma;
         * as rows: z^T = m^T + e^T L^-1, i.e. Zj <- E L^-1 + Zm (dtrsm) */
        lz_rng_gauss(r, n * k, w->zj);
        cblas_dtrsm(CblasRowMajor, CblasRight, CblasLower, CblasNoTrans, CblasNonUnit, (int)n,
                    (int)k, 1.0, w->l, (int)k, w->zj, (int)k);
        for (size_t i = 0; i < n * k; i++) {
            w->zj[i] += w->zm[i];
            w->zsum[i] += w->zj[i];
        }
        /* F += Zj^T Zj = sum_n z_nj z_nj^T  (upper triangle) */
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)k, (int)n, 1.0, w->zj, (int)k, 1.0,
                    w->f, (int)k);
    }
    lz_sym_from_upper(k, w->f);
    /* XZ (d, k) <- X^T Zsum = sum_{n,j} x_n z_nj^T */
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)d, (int)k, (int)n, 1.0, x, (int)d,
                w->zsum, (int)k, 0.0, w->xz, (int)k);
    /* A <- (sum x z^T)(sum z z^T)^-1  (the lecture's slide "LGM from drawn samples") */
    lz_status st = solve_right_spd(d, k, w->f, w->xz, m->a, err);
    if (st) return lz_fail(err, st, "sampled M-step: sum of z z^T is not positive definite");
    /* D <- diag((1/(nJ))(sum x x^T - A sum z x^T)) with the new A (the lecture's
     * slide "LGM from drawn samples" labels this update A^{k+1}: a typo, see
     * docs/lgm.md);
     * (1/(nJ)) sum_{n,j} x_n x_n^T = S. */
    double inv = 1.0 / ((double)n * (double)samples);
    for (size_t i = 0; i < d; i++) {
        const double *ai = m->a + i * k, *xi = w->xz + i * k;
        double ax = 0;
        for (size_t c = 0; c < k; c++) ax += ai[c] * xi[c];
        m->dg[i] = fmax(s[i * d + i] - inv * ax, m->floor[i]);
    }
    return LZ_OK;
}

/* ------------------------------------------------------------------ */
/* why D sits on (or near) the floor */

lz_status lgm_floor_explain(const lgm_model *m, const double *s, lgm_floor_note *notes,
                            size_t *n_notes, lz_error *err)
{
    size_t d = m->d, nn = 0, dv = 0, n_heavy = 0;
    *n_notes = 0;
    for (size_t i = 0; i < d; i++) {
        int on = m->dg[i] <= m->floor[i];
        if (!on && !(m->dg[i] < LGM_NEAR_FLOOR * s[i * d + i])) continue;
        notes[nn].i = i;
        notes[nn].on_floor = on;
        notes[nn].n_partner = 0;
        notes[nn].kind = s[i * d + i] > 0 ? LGM_FLOOR_HEYWOOD : LGM_FLOOR_CONSTANT;
        n_heavy += notes[nn].kind == LGM_FLOOR_HEYWOOD;
        nn++;
    }
    *n_notes = nn;
    if (!n_heavy) return LZ_OK;
    /* R (dv, dv): the correlation matrix of the non-constant coordinates
     * idx[0..dv); its eigenvectors v (dv, dv), eigenvalues w descending */
    size_t *idx = malloc(d * sizeof *idx), *pos = malloc(d * sizeof *pos);
    for (size_t i = 0; idx && pos && i < d; i++) {
        pos[i] = dv;
        if (s[i * d + i] > 0) idx[dv++] = i;
    }
    double *r = malloc(dv * dv * sizeof *r), *v = malloc(dv * dv * sizeof *v),
           *w = malloc(dv * sizeof *w);
    lz_status st = LZ_OK;
    if (!idx || !pos || !r || !v || !w) st = lz_fail(err, LZ_ENOMEM, "out of memory");
    for (size_t a = 0; !st && a < dv; a++)
        for (size_t b = 0; b < dv; b++) {
            size_t i = idx[a], j = idx[b];
            r[a * dv + b] = s[i * d + j] / (sqrt(s[i * d + i]) * sqrt(s[j * d + j]));
        }
    if (!st) st = lz_eigh(dv, r, w, v, err);
    /* the null space: eigenvalues at rounding level of tr R = dv */
    size_t t0 = dv;
    while (!st && t0 > 0 && w[t0 - 1] <= LGM_DEPENDENT_RTOL * (double)dv) t0--;
    for (size_t q = 0; !st && q < nn; q++) {
        lgm_floor_note *no = &notes[q];
        if (no->kind != LGM_FLOOR_HEYWOOD) continue;
        size_t p = pos[no->i], best = dv;
        double wt = 0, vmax = 0;
        for (size_t t = t0; t < dv; t++) {
            double e = v[p * dv + t];
            wt += e * e;
            if (fabs(e) > vmax) {
                vmax = fabs(e);
                best = t;
            }
        }
        /* a coordinate with weight in the null space is a combination of
         * the others with weight in the same null vector */
        if (best == dv || wt < 1e-3) continue;
        no->kind = LGM_FLOOR_DEPENDENT;
        for (size_t b = 0; b < dv; b++) {
            double e = fabs(v[b * dv + best]);
            if (b == p || e < 0.1 * vmax) continue;
            /* insert idx[b] by decreasing weight, keeping the strongest */
            size_t np = no->n_partner, at = np;
            while (at > 0 && fabs(v[pos[no->partner[at - 1]] * dv + best]) < e) at--;
            if (at >= LGM_FLOOR_MAX_PARTNERS) continue;
            if (np == LGM_FLOOR_MAX_PARTNERS) np--;
            memmove(no->partner + at + 1, no->partner + at, (np - at) * sizeof *no->partner);
            no->partner[at] = idx[b];
            no->n_partner = np + 1;
        }
    }
    free(idx);
    free(pos);
    free(r);
    free(v);
    free(w);
    return st;
}

/* ------------------------------------------------------------------ */
/* model files */

#define LGM_MODEL_KIND "lgm"
#define LGM_MODEL_VERSION 2

lz_status lgm_model_write(const lgm_model *m, lz_outset *os, const char *path, lz_error *err)
{
    FILE *f = lz_outset_open(os, path, err);
    if (!f) return err ? err->status : LZ_EIO;
    lz_model_begin(f, LGM_MODEL_KIND, LGM_MODEL_VERSION);
    lz_model_put_int(f, "d", (long)m->d);
    lz_model_put_int(f, "k", (long)m->k);
    lz_model_put_str(f, "completion", m->completion == LGM_SAMPLED ? "sampled" : "exact");
    lz_model_put_array(f, "mean", 1, m->d, m->mu);
    lz_model_put_array(f, "A", m->d, m->k, m->a);
    lz_model_put_array(f, "D", m->d, 1, m->dg);
    lz_model_put_array(f, "floor", m->d, 1, m->floor);
    lz_model_end(f);
    return LZ_OK;
}

lz_status lgm_model_read(const char *path, lgm_model **out, lz_error *err)
{
    *out = NULL;
    lz_model *mf = NULL;
    lz_status st = lz_model_read(path, LGM_MODEL_KIND, LGM_MODEL_VERSION, &mf, err);
    if (st) return st;
    long d = 0, k = 0;
    const char *comp = "exact";
    double floor1 = 0;
    int v1 = lz_model_version(mf) == 1;
    /* every entry, with its shape, before the model is allocated: the
     * allocation is then bounded by what the file holds */
    if (!st) st = lz_model_get_int_range(mf, "d", 2, LONG_MAX, &d, err);
    if (!st) st = lz_model_get_int_range(mf, "k", 1, d - 1, &k, err);
    if (!st) st = lz_model_get_str(mf, "completion", &comp, err);
    if (!st && strcmp(comp, "exact") && strcmp(comp, "sampled"))
        st = lz_fail(err, LZ_EFORMAT, "%s:%zu: completion '%s': expected exact or sampled", path,
                     lz_model_line(mf, "completion"), comp);
    if (!st && v1) st = lz_model_get_real(mf, "floor", &floor1, err);
    if (!st && v1 && !(floor1 >= 0))
        st = lz_fail(err, LZ_EFORMAT, "%s:%zu: real floor %g: expected a floor >= 0", path,
                     lz_model_line(mf, "floor"), floor1);
    if (!st) st = lz_model_check_array(mf, "mean", 1, (size_t)d, err);
    if (!st) st = lz_model_check_array(mf, "A", (size_t)d, (size_t)k, err);
    if (!st) st = lz_model_check_array(mf, "D", (size_t)d, 1, err);
    if (!st && !v1) st = lz_model_check_array(mf, "floor", (size_t)d, 1, err);
    lgm_model *m = NULL;
    if (!st && !(m = lgm_model_alloc((size_t)d, (size_t)k)))
        st = lz_fail(err, LZ_ENOMEM, "%s: out of memory", path);
    /* values: finite (lz_model_get_array), D_i > 0, floor_i >= 0 */
    if (!st) st = lz_model_get_array(mf, "mean", 1, (size_t)d, m->mu, err);
    if (!st) st = lz_model_get_array(mf, "A", (size_t)d, (size_t)k, m->a, err);
    if (!st) st = lz_model_get_array(mf, "D", (size_t)d, 1, m->dg, err);
    if (!st && !v1) st = lz_model_get_array(mf, "floor", (size_t)d, 1, m->floor, err);
    for (long i = 0; !st && v1 && i < d; i++) m->floor[i] = floor1;
    for (long i = 0; !st && i < d; i++)
        if (!(m->dg[i] > 0))
            st = lz_fail(err, LZ_EFORMAT,
                         "%s:%zu: array D, row %ld: %g: expected a positive variance", path,
                         lz_model_line(mf, "D") + 1 + (size_t)i, i + 1, m->dg[i]);
    for (long i = 0; !st && !v1 && i < d; i++)
        if (!(m->floor[i] >= 0))
            st = lz_fail(err, LZ_EFORMAT, "%s:%zu: array floor, row %ld: %g: expected a floor >= 0",
                         path, lz_model_line(mf, "floor") + 1 + (size_t)i, i + 1, m->floor[i]);
    if (!st) {
        m->completion = strcmp(comp, "sampled") ? LGM_EXACT : LGM_SAMPLED;
        *out = m;
    } else
        lgm_model_free(m);
    lz_model_free(mf);
    return st;
}

/* ------------------------------------------------------------------ */
/* fitting */

/* One SQUAREM cycle (Varadhan & Roland 2008, scheme S3) from theta0 = m, whose
 * E-step ops->estep has just run.  theta1 = EM(theta0), theta2 = EM(theta1),
 *     r = theta1 - theta0,  v = theta2 - 2 theta1 + theta0,  alpha = -|r|/|v|,
 *     theta' = theta0 - 2 alpha r + alpha^2 v   (D clamped at the floor),
 * then m <- EM(theta').  Kept monotone: theta' is accepted only if
 * ll(theta') >= ll(theta1); otherwise alpha is halved towards -1, and
 * alpha = -1 gives theta' = theta2, which EM guarantees.  So
 * ll(m) >= ll(theta') >= ll(theta1) >= ll(theta0) (to the rounding of ll/N,
 * ~eps/dmin nats a floored coordinate: see LGM_DMIN_MIN).  The parameters
 * are A and D, and mu too when ops->with_mean (incomplete data: mu is
 * estimated by EM).  t (3) scratch models; *n_e counts E-steps. */
static lz_status squarem_cycle(lgm_model *m, const lgm_fit_ops *o, lgm_model *const *t, long *n_e,
                               lz_error *err)
{
    size_t d = m->d, k = m->k;
    /* mu, A and D are contiguous in the block: entries [j0, j1) of it */
    size_t j0 = o->with_mean ? 0 : d, j1 = d + d * k + d;
    lgm_model *t0 = t[0], *t1 = t[1], *t2 = t[2];
    lgm_model_copy(t0, m);
    lgm_model_copy(t1, m);
    lz_status st = o->mstep(o->ctx, t1, err);
    if (st) return st;
    double ll1;
    if ((st = o->estep(o->ctx, t1, &ll1, err))) return st;
    (*n_e)++;
    lgm_model_copy(t2, t1);
    if ((st = o->mstep(o->ctx, t2, err))) return st;
    /* |r|^2, |v|^2 over the entries of mu, A and D, each in units of its
     * coordinate's scale (mu_i / floor_i^1/2, A_ic / floor_i^1/2, D_i /
     * floor_i; floor_i is dmin times the coordinate's variance), so that the
     * step length does not depend on the units of the data; each entry is
     * scaled before it is squared (a D_i of a column in units of 1e100,
     * squared, would leave the doubles) */
    const double *p0 = t0->block, *p1 = t1->block, *p2 = t2->block;
    double rr = 0, vv = 0;
    for (size_t j = j0; j < j1; j++) {
        /* entry j is mu_j for j < d, A_{(j-d)/k, (j-d)%k} for j < d + d k, else
         * D_{j - d - d k} */
        double si = j < d           ? 1.0 / sqrt(m->floor[j])
                    : j < d + d * k ? 1.0 / sqrt(m->floor[(j - d) / k])
                                    : 1.0 / m->floor[j - d - d * k];
        double r = si * (p1[j] - p0[j]), v = si * (p2[j] - 2 * p1[j] + p0[j]);
        rr += r * r;
        vv += v * v;
    }
    double alpha = vv > 0 ? -sqrt(rr / vv) : -1.0;
    if (!(alpha < -1.0)) alpha = -1.0;
    for (int tries = 0;; tries++) {
        if (alpha == -1.0)
            lgm_model_copy(m, t2);
        else {
            double *px = m->block;
            for (size_t j = j0; j < j1; j++) {
                double r = p1[j] - p0[j], v = p2[j] - 2 * p1[j] + p0[j];
                px[j] = p0[j] - 2 * alpha * r + alpha * alpha * v;
            }
            for (size_t i = 0; i < d; i++) m->dg[i] = fmax(m->dg[i], m->floor[i]);
        }
        double llx = NAN;
        st = o->estep(o->ctx, m, &llx, err);
        (*n_e)++;
        if (alpha == -1.0) {
            if (st) return st;
            break;
        }
        if (!st && isfinite(llx) && llx >= ll1) break;
        /* rejected: step back towards plain EM */
        alpha = tries < 3 ? 0.5 * (alpha - 1.0) : -1.0;
        if (alpha > -1.0) alpha = -1.0;
    }
    return o->mstep(o->ctx, m, err);
}

/* LGM_BEST_ITERS plain EM iterations from m; *ll <- ll/N of the last
 * E-step (at the parameters before the last M-step) */
static lz_status short_run(const lgm_fit_ops *o, lgm_model *m, long *n_e, double *ll, lz_error *err)
{
    lz_status st = LZ_OK;
    for (int t = 0; !st && t < LGM_BEST_ITERS; t++) {
        st = o->estep(o->ctx, m, ll, err);
        (*n_e)++;
        if (!st && !isfinite(*ll)) st = lz_fail(err, LZ_ENUMERIC, "EM: ll/N is not finite");
        if (!st) st = o->mstep(o->ctx, m, err);
    }
    return st;
}

lz_status lgm_start(const lgm_config *c, const lgm_fit_ops *o, const double *s, gsl_rng *r,
                    lgm_model *m, lgm_work *w, lgm_result *res, lz_error *err)
{
    size_t d = m->d, k = m->k;
    res->init = c->init;
    res->init_ll[0] = res->init_ll[1] = NAN;
    lz_status st = lgm_init(c, s, r, m, w, err);
    if (!st) zero_constant_rows(s, m);
    if (st || c->init != LGM_INIT_BEST) return st;
    res->init = LGM_INIT_PCA;
    /* the smc start beside the pca one in m (same mu); if it cannot be made,
     * the pca start alone, without a short run */
    lgm_model *alt = lgm_model_alloc(d, k);
    if (!alt) return lz_fail(err, LZ_ENOMEM, "EM: out of memory");
    lgm_model_copy(alt, m);
    lgm_config cs = *c;
    cs.init = LGM_INIT_SMC;
    lz_error es;
    if (lgm_init(&cs, s, r, alt, w, &es) == LZ_OK) {
        zero_constant_rows(s, alt);
        st = short_run(o, m, &res->e_steps, &res->init_ll[0], err);
        if (!st) st = short_run(o, alt, &res->e_steps, &res->init_ll[1], err);
        if (!st && res->init_ll[1] > res->init_ll[0]) {
            lgm_model_copy(m, alt);
            res->init = LGM_INIT_SMC;
        }
    }
    lgm_model_free(alt);
    return st;
}

/* A D_i that EM drives to 0 (a Heywood case) creeps down by a shrinking
 * step each iteration, and ll/N by less than tol, long before D_i reaches
 * its floor: the rule would stop short of the constrained maximum.  At m,
 * whose E-step has just run with ll/N ll: the candidates are the D_i above
 * their floor that one more M-step lowers and that lie below
 * LGM_FLOOR_STEP_BELOW of the coordinate's variance; D_i <- floor_i for all
 * of them at once, then up to LGM_BEST_ITERS EM iterations until ll/N
 * exceeds ll, is taken when it does (so the path stays monotone).  A fit
 * takes at most d steps (lgm_fit_loop), so they end even where EM lifts a
 * floored D_i off its floor again and again.
 * *moved <- 1 when m moved, 0 when not.  Either way the E-step state is the
 * trial's: the loop runs m's E-step next, or ends (the fit is converged and
 * nothing reads it).  t (2) scratch models.  docs/lgm.md, "The step to the
 * floor". */
#define LGM_FLOOR_STEP_BELOW 1e-2
static lz_status floor_step(const lgm_config *c, const lgm_fit_ops *o, lgm_model *m, double ll,
                            lgm_model *const *t, long *n_e, int *moved, lz_error *err)
{
    size_t d = m->d;
    *moved = 0;
    lgm_model *next = t[0], *jump = t[1];
    lgm_model_copy(next, m);
    lz_status st = o->mstep(o->ctx, next, err);
    if (st) return st;
    lgm_model_copy(jump, m);
    size_t n_cand = 0;
    for (size_t i = 0; i < d; i++) {
        double var = m->floor[i] / c->dmin; /* S_ii (lgm_set_floor) */
        if (m->dg[i] > m->floor[i] && next->dg[i] < m->dg[i] &&
            next->dg[i] < LGM_FLOOR_STEP_BELOW * var) {
            jump->dg[i] = jump->floor[i];
            n_cand++;
        }
    }
    if (!n_cand) return LZ_OK;
    double llj = NAN;
    st = o->estep(o->ctx, jump, &llj, err);
    (*n_e)++;
    /* A lags behind the new D: up to LGM_BEST_ITERS EM iterations to catch up */
    for (int it = 0; !st && !(llj > ll) && it < LGM_BEST_ITERS; it++) {
        st = o->mstep(o->ctx, jump, err);
        if (!st) st = o->estep(o->ctx, jump, &llj, err);
        (*n_e)++;
    }
    if (st) return st;
    if (llj > ll) {
        lgm_model_copy(m, jump);
        *moved = 1;
    }
    return LZ_OK;
}

lz_status lgm_fit_loop(const lgm_config *c, const lgm_fit_ops *o, gsl_rng *r, lgm_model *m,
                       double t0, lgm_callback cb, void *ud, lgm_result *res, lz_error *err)
{
    size_t d = m->d, k = m->k;
    int sampled = c->completion == LGM_SAMPLED;
    int accel = !sampled && c->accelerate;
    /* sampled completion: plain exact EM from the same start, alongside, so
     * the trace shows the path the sampled one fluctuates around
     * (docs/lgm.md); SQUAREM: three scratch models */
    lgm_model *pe = sampled ? lgm_model_alloc(d, k) : NULL;
    lgm_model *t3[3] = {NULL, NULL, NULL};
    int fstep = !sampled && c->floor_step;
    for (int i = 0; (accel || fstep) && i < 3; i++) t3[i] = lgm_model_alloc(d, k);
    lz_status st = LZ_OK;
    if ((sampled && !pe) || ((accel || fstep) && (!t3[0] || !t3[1] || !t3[2])))
        st = lz_fail(err, LZ_ENOMEM, "EM: out of memory");
    if (!st && pe) lgm_model_copy(pe, m);
    /* hist: the last 2 W values of ll/N (sampled completion's stopping rule) */
    double hist[2 * LGM_SAMPLED_WINDOW];
    const int W = LGM_SAMPLED_WINDOW;
    double ll_prev = NAN;
    long n_e = res->e_steps; /* the short runs of --init best */
    for (int t = 0; !st; t++) {
        lgm_iter_info info;
        info.iter = t;
        info.ll_exact_em = NAN;
        if (pe) {
            if ((st = o->estep(o->ctx, pe, &info.ll_exact_em, err))) break;
            if ((st = o->mstep(o->ctx, pe, err))) break;
        }
        if ((st = o->estep(o->ctx, m, &info.ll_train, err))) break;
        n_e++;
        info.ll_test = NAN;
        /* test ll/N right after the training E-step at the same parameters */
        if (o->test_ll && (st = o->test_ll(o->test_ctx, m, &info.ll_test, err))) break;
        if (!isfinite(info.ll_train)) {
            st = lz_fail(err, LZ_ENUMERIC, "EM iteration %d: ll/N is not finite", t);
            break;
        }
        info.delta = t ? info.ll_train - ll_prev : NAN;
        info.seconds = lz_now() - t0;
        info.n_floor = lgm_n_floor(m);
        info.e_steps = n_e;
        res->iterations = t;
        res->ll_train = info.ll_train;
        res->ll_test = info.ll_test;
        res->seconds = info.seconds;
        res->e_steps = n_e;
        if (cb && cb(&info, ud)) {
            st = lz_fail(err, LZ_ESTOP, "stopped at iteration %d", t);
            break;
        }
        ll_prev = info.ll_train;
        hist[t % (2 * W)] = info.ll_train;
        if (!sampled) {
            /* exact EM: ll rises at every step; stop when it rises by < tol,
             * unless the step to the floor raises it */
            if (t > 0 && info.delta < c->tol) {
                int moved = 0;
                if (fstep && t < c->max_iter && (size_t)res->floor_steps < d &&
                    (st = floor_step(c, o, m, info.ll_train, t3, &n_e, &moved, err)))
                    break;
                if (moved) {
                    res->floor_steps++;
                    continue; /* the next iteration's E-step is at the new m */
                }
                res->converged = 1;
                break;
            }
        } else if (t + 1 >= 2 * W) {
            /* sampled: mean of the last W values vs the W before them */
            double a = 0, b = 0;
            for (int i = 0; i < W; i++) {
                a += hist[(t - i) % (2 * W)];
                b += hist[(t - W - i) % (2 * W)];
            }
            if ((a - b) / W < c->tol) {
                res->converged = 1;
                break;
            }
        }
        if (t >= c->max_iter) break;
        if (sampled)
            st = o->mstep_sampled(o->ctx, m, r, err);
        else if (accel)
            st = squarem_cycle(m, o, t3, &n_e, err);
        else
            st = o->mstep(o->ctx, m, err);
    }
    lgm_model_free(pe);
    for (int i = 0; i < 3; i++) lgm_model_free(t3[i]);
    return st;
}

/* the operations of EM on complete data: everything from S (docs/lgm.md,
 * The model); the test set's ll/N from S_test */
static lz_status c_estep(void *ctx, const lgm_model *m, double *ll, lz_error *err)
{
    lgm_complete_ctx *cc = ctx;
    return lgm_loglik(m, cc->s, cc->w, ll, err);
}

static lz_status c_mstep(void *ctx, lgm_model *m, lz_error *err)
{
    lgm_complete_ctx *cc = ctx;
    return lgm_mstep_exact(m, cc->w, cc->s, err);
}

static lz_status c_mstep_sampled(void *ctx, lgm_model *m, gsl_rng *r, lz_error *err)
{
    lgm_complete_ctx *cc = ctx;
    return lgm_mstep_sampled(m, cc->w, cc->n, cc->x, cc->s, cc->samples, r, err);
}

/* test ll/N from S_test (about the training mean), the same O(d k^2)
 * formula, with the posterior of the training E-step just run at m */
static lz_status c_test_ll(void *ctx, const lgm_model *m, double *ll, lz_error *err)
{
    lgm_complete_ctx *cc = ctx;
    (void)err;
    lgm_moments(m, cc->w->bt, cc->s_test, cc->w->gt, cc->w->ht);
    *ll = lgm_loglik_post(m, cc->w, cc->s_test, cc->w->gt, cc->w->ht);
    return LZ_OK;
}

void lgm_complete_ops(lgm_complete_ctx *cc, lgm_fit_ops *o)
{
    memset(o, 0, sizeof *o);
    o->estep = c_estep;
    o->mstep = c_mstep;
    o->mstep_sampled = c_mstep_sampled;
    o->ctx = cc;
    if (cc->s_test) {
        o->test_ll = c_test_ll;
        o->test_ctx = cc;
    }
}

lz_status lgm_fit_check(const lgm_config *c, size_t n, int have_rows, const lgm_model *m,
                        lgm_result *res, lz_error *err)
{
    size_t d = m->d, k = m->k;
    memset(res, 0, sizeof *res);
    res->ll_train = res->ll_test = NAN;
    lz_status st = lgm_config_check(c, d, err);
    if (st) return st;
    if ((size_t)c->k != k) return lz_fail(err, LZ_EINVAL, "-k %d: the model has k = %zu", c->k, k);
    int sampled = c->completion == LGM_SAMPLED;
    if (sampled && (!have_rows || n == 0))
        return lz_fail(err, LZ_EINVAL, "sampled completion needs the data rows");
    if (sampled && (double)n * c->samples < (double)(2 * k))
        return lz_fail(err, LZ_EINVAL,
                       "--samples %d: sampled completion needs n J >= 2 k draws (n = %zu, k = %zu)",
                       c->samples, n, k);
    return LZ_OK;
}

lz_status lgm_fit(const lgm_config *c, size_t n, const double *x, const double *s,
                  const double *s_test, lgm_model *m, double t0, lgm_callback cb, void *ud,
                  lgm_result *res, lz_error *err)
{
    size_t d = m->d, k = m->k;
    lz_status st = lgm_fit_check(c, n, x != NULL, m, res, err);
    if (st) return st;
    int sampled = c->completion == LGM_SAMPLED;
    gsl_rng *r = lz_rng_alloc_stream(c->seed, 0);
    lgm_work *w = lgm_work_alloc(d, k, sampled ? n : 0);
    if (!r || !w) {
        if (r) gsl_rng_free(r);
        lgm_work_free(w);
        return lz_fail(err, LZ_ENOMEM, "EM: out of memory");
    }
    lgm_complete_ctx cc = {w, s, s_test, n, x, c->samples};
    lgm_fit_ops o;
    lgm_complete_ops(&cc, &o);
    st = lgm_start(c, &o, s, r, m, w, res, err);
    if (!st) st = lgm_fit_loop(c, &o, r, m, t0, cb, ud, res, err);
    gsl_rng_free(r);
    lgm_work_free(w);
    return st;
}
