/* pca.c -- PCA by iterative projection (see pca.h; docs/pca.md puts each
 * equation next to the function below that computes it).
 *
 * Dimension letters: n samples, d data dimension, k components, p columns of
 * the iterated block.  Every matrix is row-major; a sample is a row.
 */
#include "pca.h"
#include "pca_impl.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lz_blas.h"
#include <lapacke.h>

#include "lz_data.h"
#include "lz_linalg.h"
#include "lz_prob.h"
#include "lz_model.h"
#include "lz_time.h"

/* Re-orthonormalise W by Householder QR when the condition number of
 * G = W^T W exceeds this (so Q = W L^-T loses at most ~1e2 eps of
 * orthogonality: Cholesky-QR's error is eps kappa(G)). */
#define PCA_MAX_COND_G 1e2
/* Rows scored a block at a time by pca_loglik and pca_score. */
#define PCA_SCORE_BLOCK 1024

void pca_config_default(pca_config *c)
{
    c->k = 2;
    c->mode = PCA_MODE_AUTO;
    c->oversample = PCA_OVERSAMPLE_AUTO;
    c->tol = 1e-9;
    c->max_iter = 1000;
    c->seed = 1;
    c->accelerate = 1;
}

lz_status pca_config_check(const pca_config *c, size_t d, lz_error *err)
{
    if (d == 1)
        return lz_fail(err, LZ_EINVAL, "1 column: PCA needs at least 2 (k components, 1 <= k < d)");
    if (c->k < 1) {
        if (d) return lz_fail(err, LZ_EINVAL, "-k %d: expected 1 <= k < d = %zu", c->k, d);
        return lz_fail(err, LZ_EINVAL, "-k %d: expected k >= 1", c->k);
    }
    if (d && (size_t)c->k >= d)
        return lz_fail(err, LZ_EINVAL, "-k %d: expected 1 <= k < d = %zu", c->k, d);
    if (c->mode < PCA_MODE_DATA || c->mode > PCA_MODE_AUTO)
        return lz_fail(err, LZ_EINVAL, "--mode: expected data, cov or auto");
    if (c->oversample < PCA_OVERSAMPLE_AUTO)
        return lz_fail(err, LZ_EINVAL, "--oversample %d: expected >= 0, or -1 for max(10, k)",
                       c->oversample);
    if (!(c->tol > 0) || !isfinite(c->tol))
        return lz_fail(err, LZ_EINVAL, "--tol %.15g: expected a positive angle in radians", c->tol);
    if (c->max_iter < 1)
        return lz_fail(err, LZ_EINVAL, "--max-iter %d: expected >= 1", c->max_iter);
    return LZ_OK;
}

size_t pca_block_size(const pca_config *c, size_t d)
{
    size_t q = c->oversample >= 0 ? (size_t)c->oversample
                                  : (c->k > 10 ? (size_t)c->k : 10); /* auto: max(10, k) */
    size_t p = (size_t)c->k + q;
    return p < d ? p : d;
}

pca_mode pca_choose_mode(size_t n, size_t d, size_t p, int max_iter)
{
    double t = max_iter < PCA_AUTO_ITERS ? (double)max_iter : (double)PCA_AUTO_ITERS;
    double nd = (double)n, dd = (double)d, pp = (double)p;
    double cost_data = t * 4.0 * nd * dd * pp;               /* X W, X^T Z^T       */
    double cost_cov = nd * dd * dd + t * 2.0 * dd * dd * pp; /* S once, then S W */
    return cost_cov < cost_data ? PCA_MODE_COV : PCA_MODE_DATA;
}

/* ------------------------------------------------------------------ */
/* model */

pca_model *pca_model_alloc(size_t d, size_t k)
{
    if (d == 0 || k == 0 || k >= d) return NULL;
    pca_model *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    /* one block: mean (d), comp (k, d), eigval (k) */
    double *b = calloc(d + k * d + k, sizeof *b);
    if (!b) {
        free(m);
        return NULL;
    }
    m->d = d;
    m->k = k;
    m->block = b;
    m->mean = b;
    m->comp = b + d;
    m->eigval = b + d + k * d;
    return m;
}

void pca_model_free(pca_model *m)
{
    if (!m) return;
    free(m->block);
    free(m);
}

/* x_n <- x_n - mu (docs/pca.md, "Centring") */
void pca_prepare(const pca_model *m, size_t n, double *x) { lz_center(n, m->d, x, m->mean); }

size_t pca_n_params(const pca_model *m) { return m->d + m->d * m->k + 1; }

/* ------------------------------------------------------------------ */
/* fitting
 *
 * Blocks of vectors are stored as rows: Wt (p, d) holds the columns of the
 * lecture's W as its rows.  Then S W is Wt S (S symmetric) and X W is Wt X^T,
 * products OpenBLAS runs 2-4x faster than with W (d, p) on the right. */

typedef struct {
    double *wt;    /* (p, d) W^T: the iterate                                  */
    double *qt;    /* (p, d) Q^T = L^-1 W^T: orthonormal rows spanning span(W) */
    double *yt;    /* (p, d) cov: (S W)^T;  data: (X^T Z^T)^T = Z X;  scratch  */
    double *s;     /* (d, d) S (cov mode only)                                 */
    double *pz;    /* (p, n) P^T = W^T X^T, then Z = G^-1 P^T (data mode only) */
    double *g;     /* (p, p) G = W^T W, then its Cholesky factor L            */
    double *a;     /* (p, p) A = W^T S W                                       */
    double *h;     /* (p, p) Cholesky factor of A (cov) or of Z Z^T (data)     */
    double *mv;    /* (p, p) M = L^-1 A L^-T, then its eigenvectors V          */
    double *theta; /* (p) Ritz values, descending                              */
    double *ut;    /* (k, d) U^T: Ritz vectors of this iteration               */
    double *uprev; /* (k, d) U^T of the previous iteration                     */
    double *uref;  /* (k, d) orthonormal rows spanning the reference (if any)  */
    double *aws;   /* (d k + k^2 + k) workspace of lz_max_principal_angle               */
} pca_work;

/* 1-norm (largest column sum of |entries|) of a symmetric a (p, p) */
static double norm1_sym(size_t p, const double *a)
{
    double best = 0;
    for (size_t j = 0; j < p; j++) {
        double s = 0;
        for (size_t i = 0; i < p; i++) s += fabs(a[i * p + j]);
        if (s > best) best = s;
    }
    return best;
}

/* G <- W^T W = Wt Wt^T (p, p) and its Cholesky factor L (in g, lower
 * triangle).  *rcond <- reciprocal condition number of G (LAPACK dpocon). */
static lz_status gram_chol(size_t d, size_t p, const double *wt, double *g, double *rcond,
                           lz_error *err)
{
    cblas_dsyrk(CblasRowMajor, CblasLower, CblasNoTrans, (int)p, (int)d, 1.0, wt, (int)d, 0.0, g,
                (int)p);
    lz_sym_from_lower(p, g);
    double anorm = norm1_sym(p, g);
    lz_status st = lz_chol(p, g, err);
    if (st) {
        lz_error_prefix(err, "W^T W");
        return st;
    }
    LZ_FPE_HOLD(fe1);
    lapack_int info =
        LAPACKE_dpocon(LAPACK_ROW_MAJOR, 'L', (lapack_int)p, g, (lapack_int)p, anorm, rcond);
    LZ_FPE_RELEASE(fe1);
    if (info) return lz_fail(err, LZ_EINVAL, "condition estimate: bad argument %d", (int)-info);
    return LZ_OK;
}

/* Orthonormalise the rows of at (m, d), m <= d, by Householder QR of its
 * transpose; tmp holds d m doubles. */
static lz_status orth_rows(size_t m, size_t d, double *at, double *tmp, lz_error *err)
{
    for (size_t j = 0; j < m; j++)
        for (size_t i = 0; i < d; i++) tmp[i * m + j] = at[j * d + i];
    lz_status st = lz_qr(d, m, tmp, NULL, err);
    if (st) return st;
    for (size_t j = 0; j < m; j++)
        for (size_t i = 0; i < d; i++) at[j * d + i] = tmp[i * m + j];
    return LZ_OK;
}

/* delta rho / (1 - rho), rho = delta / delta_prev (pca_impl.h) */
double pca_angle_est(double delta, double delta_prev)
{
    int contracting = isgreater(delta_prev, 1e-13) && isless(delta, delta_prev);
    double rho = contracting ? delta / delta_prev : NAN;
    return contracting ? delta * rho / (1 - rho) : NAN;
}

/* Make the largest-|entry| of each row of ut (k, d) positive (the first
 * such entry on ties): a deterministic sign for each component. */
void pca_fix_signs(size_t d, size_t k, double *ut)
{
    for (size_t j = 0; j < k; j++) {
        double *r = ut + j * d;
        size_t best = 0;
        for (size_t i = 1; i < d; i++)
            if (fabs(r[i]) > fabs(r[best])) best = i;
        if (r[best] < 0)
            for (size_t i = 0; i < d; i++) r[i] = -r[i];
    }
}

/* The products of an iteration, for W^T in ws->wt (p, d):
 *   cov:  Y^T = W^T S (p, d) and A = W^T Y = W^T S W (p, p);
 *   data: P^T = W^T X^T (p, n) and A = P^T P / n = W^T (X^T X / n) W. */
static void project(pca_mode mode, size_t n, size_t d, size_t p, const double *x, pca_work *ws)
{
    if (mode == PCA_MODE_COV) {
        /* Y^T <- W^T S  (p, d), = (S W)^T: the O(d^2 p) product */
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)p, (int)d, (int)d, 1.0, ws->wt,
                    (int)d, ws->s, (int)d, 0.0, ws->yt, (int)d);
        /* A <- W^T Y */
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)p, (int)p, (int)d, 1.0, ws->wt,
                    (int)d, ws->yt, (int)d, 0.0, ws->a, (int)p);
    } else {
        /* P^T <- W^T X^T  (p, n), P = X W: the O(n d p) product of the Z step */
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)p, (int)n, (int)d, 1.0, ws->wt,
                    (int)d, x, (int)d, 0.0, ws->pz, (int)n);
        /* A <- P^T P / n */
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, (int)p, (int)n, 1.0 / (double)n,
                    ws->pz, (int)n, 0.0, ws->a, (int)p);
        lz_sym_from_upper(p, ws->a);
    }
}

/* The lecture's update of W (slide "PCA Iterative Estimator"; docs/pca.md,
 * "Why both modes are the same iteration"), given the Cholesky factor L of
 * G = W^T W in ws->g and the products of project():
 *   cov:  W <- S W (W^T S W)^-1 W^T W = Y A^-1 G;
 *   data: Z <- W^+ X^T = G^-1 W^T X^T,  W <- X^T Z^+ = X^T Z^T (Z Z^T)^-1.
 * Writes W^T into ws->wt; overwrites ws->yt, ws->h (and ws->pz). */
static lz_status seed_update(pca_mode mode, size_t n, size_t d, size_t p, const double *x,
                             pca_work *ws, lz_error *err)
{
    const double *l = ws->g;
    lz_status st;
    if (mode == PCA_MODE_COV) {
        /* W^T <- G A^-1 Y^T  (A and G symmetric) */
        memcpy(ws->h, ws->a, p * p * sizeof *ws->h);
        st = lz_chol(p, ws->h, err);
        if (st) {
            lz_error_prefix(err, "W^T S W");
            return st;
        }
        lz_chol_solve(p, ws->h, d, ws->yt, NULL); /* Y^T <- A^-1 Y^T */
        /* Y^T <- L L^T Y^T = G Y^T */
        cblas_dtrmm(CblasRowMajor, CblasLeft, CblasLower, CblasTrans, CblasNonUnit, (int)p, (int)d,
                    1.0, l, (int)p, ws->yt, (int)d);
        cblas_dtrmm(CblasRowMajor, CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit, (int)p,
                    (int)d, 1.0, l, (int)p, ws->yt, (int)d);
    } else {
        /* Z = W^+ X^T = (W^T W)^-1 W^T X^T = G^-1 P^T  (p, n) */
        lz_chol_solve(p, l, n, ws->pz, NULL);
        /* Z Z^T = G^-1 W^T X^T X W G^-1 = G^-1 (n A) G^-1  (p, p): the same
         * matrix as the sum over samples, in O(p^3) */
        for (size_t i = 0; i < p * p; i++) ws->h[i] = (double)n * ws->a[i];
        lz_chol_solve(p, l, p, ws->h, NULL);
        lz_chol_solve_right(p, p, l, ws->h, NULL);
        lz_symmetrise(p, ws->h); /* symmetric up to rounding */
        st = lz_chol(p, ws->h, err);
        if (st) {
            lz_error_prefix(err, "Z Z^T");
            return st;
        }
        /* W^T <- (Z Z^T)^-1 Z X, i.e. W <- X^T Z^T (Z Z^T)^-1 = X^T Z^+:
         * the O(n d p) product of the W step */
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)p, (int)d, (int)n, 1.0, ws->pz,
                    (int)n, x, (int)d, 0.0, ws->yt, (int)d);
        lz_chol_solve(p, ws->h, d, ws->yt, NULL);
    }
    memcpy(ws->wt, ws->yt, p * d * sizeof *ws->wt);
    return LZ_OK;
}

lz_status pca_seed_step(pca_mode mode, size_t n, size_t d, size_t p, const double *x,
                        const double *s, double *wt, lz_error *err)
{
    if (mode != PCA_MODE_DATA && mode != PCA_MODE_COV)
        return lz_fail(err, LZ_EINVAL, "pca_seed_step: mode must be data or cov");
    if (p < 1 || p > d || (mode == PCA_MODE_COV && !s) || (mode == PCA_MODE_DATA && !x))
        return lz_fail(err, LZ_EINVAL, "pca_seed_step: bad arguments");
    size_t sz_pz = mode == PCA_MODE_DATA ? p * n : 0;
    double *block = malloc((p * d + sz_pz + 3 * p * p) * sizeof *block);
    if (!block) return lz_fail(err, LZ_ENOMEM, "pca_seed_step: out of memory");
    pca_work ws;
    memset(&ws, 0, sizeof ws);
    ws.wt = wt;
    ws.s = (double *)s; /* only read */
    ws.yt = block;
    ws.pz = block + p * d;
    ws.g = ws.pz + sz_pz;
    ws.a = ws.g + p * p;
    ws.h = ws.a + p * p;
    double rcond;
    lz_status st = gram_chol(d, p, wt, ws.g, &rcond, err);
    if (!st) {
        project(mode, n, d, p, x, &ws);
        st = seed_update(mode, n, d, p, x, &ws, err);
    }
    free(block);
    return st;
}

lz_status pca_fit(const pca_config *cfg, size_t n, size_t d, double *x, const double *ref,
                  pca_model *m, pca_fit_info *info, pca_callback cb, void *ctx, lz_error *err)
{
    double t0 = lz_now();
    lz_status st = pca_config_check(cfg, d, err);
    if (st) return st;
    if (n < 2) return lz_fail(err, LZ_EINVAL, "PCA needs at least 2 samples, got %zu", n);
    if (!m || m->d != d || m->k != (size_t)cfg->k)
        return lz_fail(err, LZ_EINVAL, "PCA: model allocated for another d or k");

    const size_t k = (size_t)cfg->k;
    size_t p = pca_block_size(cfg, d);
    pca_mode mode =
        cfg->mode == PCA_MODE_AUTO ? pca_choose_mode(n, d, p, cfg->max_iter) : (pca_mode)cfg->mode;

    /* ---- workspace: one block, allocated once ---- */
    size_t sz_s = mode == PCA_MODE_COV ? d * d : 0;
    size_t sz_pz = mode == PCA_MODE_DATA ? p * n : 0;
    size_t total = 3 * p * d + sz_s + sz_pz + 4 * p * p + p + 3 * k * d + (d * k + k * k + k);
    double *block = malloc(total * sizeof *block);
    if (!block) return lz_fail(err, LZ_ENOMEM, "PCA: out of memory (%zu doubles)", total);
    pca_work ws;
    double *b = block;
    ws.wt = b, b += p * d;
    ws.qt = b, b += p * d;
    ws.yt = b, b += p * d;
    ws.s = sz_s ? b : NULL, b += sz_s;
    ws.pz = sz_pz ? b : NULL, b += sz_pz;
    ws.g = b, b += p * p;
    ws.a = b, b += p * p;
    ws.h = b, b += p * p;
    ws.mv = b, b += p * p;
    ws.theta = b, b += p;
    ws.ut = b, b += k * d;
    ws.uprev = b, b += k * d;
    ws.uref = b, b += k * d;
    ws.aws = b;

    gsl_rng *rng = lz_rng_alloc(cfg->seed);
    if (!rng) {
        free(block);
        return lz_fail(err, LZ_ENOMEM, "PCA: out of memory");
    }

    /* ---- reference subspace (for timing the approach to LAPACK's) ---- */
    if (ref) {
        memcpy(ws.uref, ref, k * d * sizeof *ws.uref);
        st = orth_rows(k, d, ws.uref, ws.qt, err);
        if (st) goto done;
    }

    /* ---- mu = (1/n) sum_n x_n, then the working form x_n <- x_n - mu ---- */
    lz_mean(n, d, x, m->mean);
    pca_prepare(m, n, x);

    /* ---- tr S, and S itself in cov mode ---- */
    double tr_s = 0;
    if (mode == PCA_MODE_COV) {
        /* S = (1/n) sum_n x_n x_n^T (x_n centred), one O(n d^2) pass */
        st = lz_covariance(n, d, x, NULL, ws.s, err);
        if (st) goto done;
        for (size_t i = 0; i < d; i++) tr_s += ws.s[i * d + i];
    } else {
        /* tr S = (1/n) sum_n |x_n|^2 */
        for (size_t i = 0; i < n * d; i++) tr_s += x[i] * x[i];
        tr_s /= (double)n;
    }
    /* every row the same: centring leaves only the rounding of the mean,
     * deviations of at most ~n eps |mu| */
    double mu2 = cblas_ddot((int)d, m->mean, 1, m->mean, 1);
    double floor_var = ((double)n * DBL_EPSILON) * ((double)n * DBL_EPSILON) * mu2;
    if (!(tr_s > floor_var)) {
        st = lz_fail(err, LZ_ENUMERIC, "the data has no variance (every row is the same)");
        goto done;
    }

    /* ---- W: random, N(0, 1) entries from the seed ---- */
    lz_rng_gauss(rng, p * d, ws.wt);

    int iter = 0, converged = 0;
    double delta = NAN, delta_prev = NAN, ref_angle = NAN;
    for (;;) {
        /* G = W^T W = L L^T; keep W well conditioned: the span is what
         * iterates, so a Householder QR of W changes nothing but the basis
         * (docs/pca.md, "Keeping W well conditioned") */
        double rcond;
        st = gram_chol(d, p, ws.wt, ws.g, &rcond, err);
        if (st) goto done;
        if (rcond < 1.0 / PCA_MAX_COND_G) {
            st = orth_rows(p, d, ws.wt, ws.qt, err);
            if (!st) st = gram_chol(d, p, ws.wt, ws.g, &rcond, err);
            if (st) goto done;
        }
        const double *l = ws.g; /* (p, p) lower: G = L L^T */

        /* Q^T = L^-1 W^T: orthonormal rows spanning span(W) (Q^T Q = I) */
        memcpy(ws.qt, ws.wt, p * d * sizeof *ws.qt);
        cblas_dtrsm(CblasRowMajor, CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit, (int)p,
                    (int)d, 1.0, l, (int)p, ws.qt, (int)d);

        /* A = W^T S W (p, p), the projected covariance in the basis W */
        project(mode, n, d, p, x, &ws);

        /* Rayleigh-Ritz: M = Q^T S Q = L^-1 A L^-T = V Theta V^T */
        memcpy(ws.mv, ws.a, p * p * sizeof *ws.mv);
        cblas_dtrsm(CblasRowMajor, CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit, (int)p,
                    (int)p, 1.0, l, (int)p, ws.mv, (int)p);
        cblas_dtrsm(CblasRowMajor, CblasRight, CblasLower, CblasTrans, CblasNonUnit, (int)p, (int)p,
                    1.0, l, (int)p, ws.mv, (int)p);
        lz_symmetrise(p, ws.mv); /* symmetric up to rounding: make it exact */
        st = lz_eigh(p, ws.mv, ws.theta, ws.mv, err);
        if (st) goto done;

        /* rank: Ritz values that are zero mean S has no variance there
         * (docs/pca.md, "Rank") */
        size_t r = 0;
        while (r < p && ws.theta[r] > PCA_RANK_RTOL * ws.theta[0]) r++;
        if (r < p && r <= k) {
            st = lz_fail(err, LZ_ENUMERIC,
                         "-k %zu: the centred data spans only %zu dimension%s: expected more "
                         "than k (the PPCA noise variance would be 0; a variance below %g of "
                         "the largest counts as none, so columns in units far smaller than "
                         "another's vanish beside it: standardise them)",
                         k, r, r == 1 ? "" : "s", PCA_RANK_RTOL);
            goto done;
        }
        if (r < p) {
            /* drop the null directions: W^T <- V[:, :r]^T Q^T (r, d), then
             * redo this iteration with the smaller block */
            cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)r, (int)d, (int)p, 1.0, ws.mv,
                        (int)p, ws.qt, (int)d, 0.0, ws.yt, (int)d);
            memcpy(ws.wt, ws.yt, r * d * sizeof *ws.wt);
            p = r;
            continue;
        }

        /* U^T = V[:, :k]^T Q^T: the top-k Ritz vectors, this iteration's answer */
        iter++;
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)k, (int)d, (int)p, 1.0, ws.mv,
                    (int)p, ws.qt, (int)d, 0.0, ws.ut, (int)d);
        double top = 0;
        for (size_t j = 0; j < k; j++) top += ws.theta[j];
        delta_prev = delta;
        delta = NAN;
        if (iter > 1) {
            st = lz_max_principal_angle(d, k, ws.uprev, ws.ut, ws.aws, &delta, err);
            if (st) goto done;
        }
        if (ref) {
            st = lz_max_principal_angle(d, k, ws.uref, ws.ut, ws.aws, &ref_angle, err);
            if (st) goto done;
        }
        if (cb) {
            /* recon_mse = (1/n) sum |x - U U^T x|^2 = tr S - sum_{j<=k} theta_j */
            pca_iter_info li = {iter,      tr_s - top,    top / tr_s, delta,
                                ref_angle, lz_now() - t0, NAN,        0};
            if (cb(&li, ctx)) {
                st = lz_fail(err, LZ_ESTOP, "stopped at iteration %d", iter);
                goto done;
            }
        }
        if (islessequal(delta, cfg->tol)) { /* quiet: NaN at the first iteration */
            converged = 1;
            break;
        }
        if (iter >= cfg->max_iter) break;
        memcpy(ws.uprev, ws.ut, k * d * sizeof *ws.ut);

        /* ---- the lecture's update ---- */
        st = seed_update(mode, n, d, p, x, &ws, err);
        if (st) goto done;
    }

    /* ---- the answer: the top-k Ritz pairs of the last W, i.e. W
     * orthonormalised and the projected covariance diagonalised; ordered by
     * eigenvalue, signs fixed ---- */
    pca_fix_signs(d, k, ws.ut);
    memcpy(m->comp, ws.ut, k * d * sizeof *m->comp);
    double top = 0;
    for (size_t j = 0; j < k; j++) {
        m->eigval[j] = ws.theta[j];
        top += ws.theta[j];
    }
    m->total_var = tr_s;
    /* sigma^2 = (1/(d-k)) sum_{j>k} lambda_j = (tr S - sum_{j<=k} lambda_j)/(d-k) */
    m->sigma2 = (tr_s - top) / (double)(d - k);
    /* the variance left outside the k components must be more than the
     * rounding of tr S (as in the rank test above) */
    if (!(m->sigma2 > PCA_RANK_RTOL * ws.theta[0]) || !isfinite(m->sigma2)) {
        st = lz_fail(err, LZ_ENUMERIC,
                     "-k %zu: no variance outside the %zu components (PPCA noise variance %g)", k,
                     k, m->sigma2);
        goto done;
    }
    if (info) {
        info->mode = mode;
        info->p = p;
        info->iterations = iter;
        info->converged = converged;
        info->max_angle = delta;
        info->ref_angle = ref_angle;
        info->angle_est = pca_angle_est(delta, delta_prev);
        info->seconds = lz_now() - t0;
        info->e_steps = 0; /* no E-step: the iteration is PCA's */
    }

done:
    gsl_rng_free(rng);
    free(block);
    return st;
}

/* ------------------------------------------------------------------ */
/* scoring (docs/pca.md, "Density for scoring: PPCA") */

/* One pass over centred xc (n, d), a block of rows at a time: z (n, k) <- the
 * projections (may be NULL); *sum_ll <- sum_n log N(x_n; mu, C); *sum_r2 <-
 * sum_n |x_n - mu - U z_n|^2. */
static lz_status score_rows(const pca_model *m, size_t n, const double *xc, double *z,
                            double *sum_ll, double *sum_r2, lz_error *err)
{
    const size_t d = m->d, k = m->k;
    size_t blk = n < PCA_SCORE_BLOCK ? n : PCA_SCORE_BLOCK;
    if (blk == 0) blk = 1;
    double *zb_own = malloc(blk * k * sizeof *zb_own); /* (blk, k) */
    double *rb = malloc(blk * d * sizeof *rb);         /* (blk, d) residuals */
    if (!zb_own || !rb) {
        free(zb_own);
        free(rb);
        return lz_fail(err, LZ_ENOMEM, "PCA scoring: out of memory");
    }
    /* log|C| = sum_j log lambda_j + (d - k) log sigma^2  (Tipping & Bishop
     * 1999: C has eigenvalues lambda_j on span(U), sigma^2 elsewhere) */
    double logdet = (double)(d - k) * log(m->sigma2);
    for (size_t j = 0; j < k; j++) logdet += log(m->eigval[j]);
    double sll = 0, sr2 = 0;
    for (size_t i0 = 0; i0 < n; i0 += blk) {
        size_t mb = n - i0 < blk ? n - i0 : blk;
        const double *xb = xc + i0 * d;
        double *zb = z ? z + i0 * k : zb_own;
        /* Z_b <- X_b U  (mb, k), U = comp^T */
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)mb, (int)k, (int)d, 1.0, xb,
                    (int)d, m->comp, (int)d, 0.0, zb, (int)k);
        /* R_b <- X_b - Z_b U^T  (mb, d): the part of x outside span(U) */
        memcpy(rb, xb, mb * d * sizeof *rb);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)mb, (int)d, (int)k, -1.0, zb,
                    (int)k, m->comp, (int)d, 1.0, rb, (int)d);
        for (size_t i = 0; i < mb; i++) {
            double r2 = cblas_ddot((int)d, rb + i * d, 1, rb + i * d, 1);
            /* (x-mu)^T C^-1 (x-mu) = sum_j z_j^2/lambda_j + |r|^2/sigma^2 */
            double q = r2 / m->sigma2;
            for (size_t j = 0; j < k; j++) q += zb[i * k + j] * zb[i * k + j] / m->eigval[j];
            /* log N(x; mu, C) = -1/2 [d log 2pi + log|C| + q] */
            double l = -0.5 * ((double)d * LZ_LOG_2PI + logdet + q);
            sll += l;
            sr2 += r2;
        }
    }
    *sum_ll = sll;
    *sum_r2 = sr2;
    free(zb_own);
    free(rb);
    return LZ_OK;
}

lz_status pca_loglik(const pca_model *m, size_t n, const double *xc, double *ll, lz_error *err)
{
    double sum_ll = 0, sum_r2 = 0;
    lz_status st = score_rows(m, n, xc, NULL, &sum_ll, &sum_r2, err);
    if (!st) *ll = sum_ll / (double)n; /* (1/n) sum_n log N(x_n; mu, C) */
    return st;
}

lz_status pca_score(const pca_model *m, size_t n, const double *xc, double *z, double *recon_mse,
                    double *ll, lz_error *err)
{
    double sum_ll = 0, sum_r2 = 0;
    lz_status st = score_rows(m, n, xc, z, &sum_ll, &sum_r2, err);
    if (st) return st;
    if (ll) *ll = sum_ll / (double)n;
    if (recon_mse) *recon_mse = sum_r2 / (double)n; /* (1/n) sum_n |x_n - mu - U z_n|^2 */
    return LZ_OK;
}

lz_status pca_ppca_cov(const pca_model *m, double *c, lz_error *err)
{
    const size_t d = m->d, k = m->k;
    /* C = W_ml W_ml^T + sigma^2 I,  W_ml = U (Lambda - sigma^2 I)^(1/2);
     * T = W_ml^T (k, d), C = T^T T + sigma^2 I */
    double *t = malloc(k * d * sizeof *t);
    if (!t) return lz_fail(err, LZ_ENOMEM, "PPCA covariance: out of memory");
    for (size_t j = 0; j < k; j++) {
        double s = sqrt(m->eigval[j] - m->sigma2);
        for (size_t i = 0; i < d; i++) t[j * d + i] = s * m->comp[j * d + i];
    }
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)d, (int)k, 1.0, t, (int)d, 0.0, c,
                (int)d);
    lz_sym_from_upper(d, c);
    for (size_t i = 0; i < d; i++) c[i * d + i] += m->sigma2;
    free(t);
    return LZ_OK;
}

/* ------------------------------------------------------------------ */
/* model files */

lz_status pca_model_write(const pca_model *m, lz_outset *os, const char *path, lz_error *err)
{
    FILE *f = lz_outset_open(os, path, err);
    if (!f) return err ? err->status : LZ_EIO;
    lz_model_begin(f, "pca", 1);
    lz_model_put_int(f, "d", (long)m->d);
    lz_model_put_int(f, "k", (long)m->k);
    lz_model_put_real(f, "sigma2", m->sigma2);
    lz_model_put_real(f, "total_var", m->total_var);
    lz_model_put_array(f, "mean", 1, m->d, m->mean);
    lz_model_put_array(f, "eigval", 1, m->k, m->eigval);
    lz_model_put_array(f, "comp", m->k, m->d, m->comp);
    lz_model_end(f);
    return LZ_OK;
}

lz_status pca_model_read(const char *path, pca_model **out, lz_error *err)
{
    *out = NULL;
    lz_model *mf = NULL;
    pca_model *m = NULL;
    lz_status st = lz_model_read(path, "pca", 1, &mf, err);
    if (st) return st;
    long d = 0, k = 0;
    double sigma2 = 0, total_var = 0;
    /* every entry, with its shape, before the model is allocated: the
     * allocation is then bounded by what the file holds */
    if ((st = lz_model_get_int_range(mf, "d", 2, LONG_MAX, &d, err)) ||
        (st = lz_model_get_int_range(mf, "k", 1, d - 1, &k, err)) ||
        (st = lz_model_get_real(mf, "sigma2", &sigma2, err)) ||
        (st = lz_model_get_real(mf, "total_var", &total_var, err)) ||
        (st = lz_model_check_array(mf, "mean", 1, (size_t)d, err)) ||
        (st = lz_model_check_array(mf, "eigval", 1, (size_t)k, err)) ||
        (st = lz_model_check_array(mf, "comp", (size_t)k, (size_t)d, err)))
        goto fail;
    if (!(m = pca_model_alloc((size_t)d, (size_t)k))) {
        st = lz_fail(err, LZ_ENOMEM, "%s: out of memory", path);
        goto fail;
    }
    m->sigma2 = sigma2;
    m->total_var = total_var;
    if ((st = lz_model_get_array(mf, "mean", 1, (size_t)d, m->mean, err)) ||
        (st = lz_model_get_array(mf, "eigval", 1, (size_t)k, m->eigval, err)) ||
        (st = lz_model_get_array(mf, "comp", (size_t)k, (size_t)d, m->comp, err)))
        goto fail;
    /* the PPCA density needs lambda_1, ..., lambda_k >= sigma^2 > 0 and
     * orthonormal directions; the explained variance sum_j lambda_j / total
     * needs total >= sum_j lambda_j */
    if (!(sigma2 > 0)) {
        st = lz_fail(err, LZ_EFORMAT, "%s:%zu: real sigma2 %g: expected a noise variance > 0", path,
                     lz_model_line(mf, "sigma2"), sigma2);
        goto fail;
    }
    double top = 0;
    for (long j = 0; j < k; j++) {
        if (!(m->eigval[j] >= sigma2)) {
            st = lz_fail(err, LZ_EFORMAT,
                         "%s:%zu: array eigval, column %ld: %g: expected eigenvalues >= sigma2 "
                         "= %g",
                         path, lz_model_line(mf, "eigval") + 1, j + 1, m->eigval[j], sigma2);
            goto fail;
        }
        top += m->eigval[j];
    }
    if (!(total_var >= top * (1 - 1e-9))) {
        st = lz_fail(err, LZ_EFORMAT,
                     "%s:%zu: real total_var %g: expected the total variance, at least the sum "
                     "%g of the eigenvalues",
                     path, lz_model_line(mf, "total_var"), total_var, top);
        goto fail;
    }
    /* C C^T = I (k, k): rows of comp orthonormal, to well above rounding */
    double *g = malloc((size_t)(k * k) * sizeof *g);
    if (!g) {
        st = lz_fail(err, LZ_ENOMEM, "%s: out of memory", path);
        goto fail;
    }
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, (int)k, (int)d, 1.0, m->comp, (int)d, 0.0,
                g, (int)k);
    double worst = 0;
    for (long i = 0; i < k; i++)
        for (long j = i; j < k; j++) worst = fmax(worst, fabs(g[i * k + j] - (i == j)));
    free(g);
    if (!(worst <= 1e-6)) {
        st = lz_fail(err, LZ_EFORMAT,
                     "%s:%zu: array comp: rows off orthonormal by %.3g: expected orthonormal "
                     "principal directions",
                     path, lz_model_line(mf, "comp"), worst);
        goto fail;
    }
    lz_model_free(mf);
    *out = m;
    return LZ_OK;
fail:
    pca_model_free(m);
    lz_model_free(mf);
    return st;
}
