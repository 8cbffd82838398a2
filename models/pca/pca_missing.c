/* pca_missing.c -- PCA of data with missing values: the lecture's iterative
 * projection restricted to the observed entries (alternating least
 * squares), the PPCA parameters of the completed data, and the PPCA density
 * of each row's observed entries (see pca.h; docs/pca.md, "Missing
 * values").
 *
 * Dimension letters: n samples, d data, k components, q missing columns of a
 * pattern, b rows of a block.  Row-major throughout.
 */
#include "pca.h"

#include <float.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "lz_blas.h"
#include "lz_linalg.h"
#include "lz_prob.h"
#include "lz_time.h"
#include "pca_impl.h"

/* A Gram matrix of the least-squares problems that is singular (a row
 * observing fewer than k coordinates, a column observed in fewer than k + 1
 * rows) gets this fraction of its mean diagonal added: nearly the
 * minimum-norm solution. */
#define PCA_ALS_RIDGE 1e-10

/* the Cholesky factor of the symmetric g (k, k) into l, or of g + ridge I
 * when g is singular; non-zero if neither is positive definite */
static int chol_ridge(size_t k, const double *g, double ridge, double *l)
{
    lz_error e;
    memcpy(l, g, k * k * sizeof *l);
    if (lz_chol(k, l, &e) == LZ_OK) return 0;
    memcpy(l, g, k * k * sizeof *l);
    for (size_t c = 0; c < k; c++) l[c * k + c] += ridge;
    return lz_chol(k, l, &e) != LZ_OK;
}
/* Rows of a block (the passes over the completed data). */
#define PCA_ALS_BLOCK 256

/* work of the alternating least squares */
typedef struct {
    size_t n, d, k, nthr;
    double *xw;    /* (n, d) x - mu0 where observed, 0 where missing        */
    double *w;     /* (d, k) W, orthonormal columns after each W step         */
    double *mup;   /* (d) mu' = mu - mu0                                      */
    double *z;     /* (n, k) Z, the rows' coefficients                       */
    double *b;     /* (n, k) X W                                              */
    double *rss;   /* (n) each row's residual sum of squares (Z step)          */
    double *r;     /* (d, k+1) X^T [Z 1]                                      */
    double *h;     /* (k+1, k+1) [Z 1]^T [Z 1]                                */
    double *g;     /* (k, k) W^T W                                            */
    double *wt;    /* (k, d) W^T (orthonormal rows, for the angles)            */
    double *wprev; /* (k, d) the previous iteration's                         */
    double *uref;  /* (k, d) --ref, orthonormal                                */
    double *aws;   /* LZ_ANGLE_WS(d, k)                                       */
    double *thr;   /* (nthr, ts) per-thread scratch                            */
    size_t ts;
    size_t *cmis;   /* the missing rows of column j: cmis[cstart[j] .. cstart[j+1]) */
    size_t *cstart; /* (d + 1) */
} als_work;

/* per-thread scratch: gathered rows (max(n, d), k+1), a Gram matrix and a
 * right-hand side */
static double *scratch(const als_work *a) { return a->thr + (size_t)omp_get_thread_num() * a->ts; }

/* Z step (docs/pca.md, "Missing values"): for each row, over its observed
 * coordinates o,
 *     z_n = (W_o^T W_o)^-1 W_o^T (x_n,o - mu'_o),
 * W_o^T W_o = W^T W - W_m^T W_m once a pattern (the downdate while fewer
 * coordinates are missing than observed), W_o^T x_n,o = (X W)_n (x is 0
 * where missing).  *sse <- the residual sum of squares over the observed
 * entries (sum_n |x_o - mu'_o|^2 - z_n . W_o^T (x_o - mu'_o)).  Non-zero
 * if a Gram matrix is not positive definite. */
static int z_step(als_work *a, const lz_patterns *pt, const unsigned char *miss, double *sse)
{
    size_t n = a->n, d = a->d, k = a->k;
    /* B (n, k) <- X W; G = W^T W */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)k, (int)d, 1.0, a->xw,
                (int)d, a->w, (int)k, 0.0, a->b, (int)k);
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)k, (int)d, 1.0, a->w, (int)k, 0.0, a->g,
                (int)k);
    lz_sym_from_upper(k, a->g);
    double gtr = 0, mm = 0, u0[64], *uf = k <= 64 ? u0 : malloc(k * sizeof *uf);
    if (!uf) return 1;
    for (size_t c = 0; c < k; c++) gtr += a->g[c * k + c];
    double ridge = PCA_ALS_RIDGE * gtr / (double)k;
    /* u = W^T mu', and |mu'|^2 */
    cblas_dgemv(CblasRowMajor, CblasTrans, (int)d, (int)k, 1.0, a->w, (int)k, a->mup, 1, 0.0, uf,
                1);
    for (size_t j = 0; j < d; j++) mm += a->mup[j] * a->mup[j];
    int nb = lz_get_threads(), nth = nb < 1 ? 1 : (size_t)nb > a->nthr ? (int)a->nthr : nb, bad = 0;
    lz_set_threads(1);
#pragma omp parallel for num_threads(nth) schedule(dynamic, 16) if (nth > 1)
    for (size_t p = 0; p < pt->n_pat; p++) {
        double *s = scratch(a), *gp = s, *u = gp + k * k, *rows = u + k;
        const size_t *mis = pt->mis + pt->mis_start[p];
        size_t q = pt->mis_start[p + 1] - pt->mis_start[p];
        int down = q <= d - q;
        memcpy(u, uf, k * sizeof *u);
        double mmo = mm;
        if (down) {
            memcpy(gp, a->g, k * k * sizeof *gp);
            for (size_t t = 0; t < q; t++) {
                size_t j = mis[t];
                memcpy(rows + t * k, a->w + j * k, k * sizeof *rows);
                for (size_t c = 0; c < k; c++) u[c] -= a->w[j * k + c] * a->mup[j];
                mmo -= a->mup[j] * a->mup[j];
            }
            if (q)
                cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)k, (int)q, -1.0, rows,
                            (int)k, 1.0, gp, (int)k);
        } else {
            size_t no = 0;
            for (size_t c = 0; c < k; c++) u[c] = 0;
            mmo = 0;
            for (size_t j = 0, t = 0; j < d; j++) {
                if (t < q && mis[t] == j) {
                    t++;
                    continue;
                }
                memcpy(rows + no * k, a->w + j * k, k * sizeof *rows);
                for (size_t c = 0; c < k; c++) u[c] += a->w[j * k + c] * a->mup[j];
                mmo += a->mup[j] * a->mup[j];
                no++;
            }
            cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)k, (int)no, 1.0, rows, (int)k,
                        0.0, gp, (int)k);
        }
        lz_sym_from_upper(k, gp); /* lz_chol reads the lower triangle */
        double *lp = rows;        /* the gathered rows are no longer needed */
        if (chol_ridge(k, gp, ridge, lp)) {
            bad = 1;
            continue;
        }
        for (size_t t = pt->pat_start[p]; t < pt->pat_start[p + 1]; t++) {
            size_t row = pt->rows[t];
            const double *x = a->xw + row * d;
            const unsigned char *mk = miss ? miss + row * d : NULL;
            double *bn = a->b + row * k, *zn = a->z + row * k, xx = 0, xm = 0;
            for (size_t j = 0; j < d; j++)
                if (!mk || !mk[j]) {
                    xx += x[j] * x[j];
                    xm += x[j] * a->mup[j];
                }
            /* b = W_o^T (x_o - mu'_o), z = G_o^-1 b */
            for (size_t c = 0; c < k; c++) zn[c] = bn[c] - u[c];
            memcpy(bn, zn, k * sizeof *bn);
            lz_chol_solve(k, lp, 1, zn, NULL);
            double zb = 0;
            for (size_t c = 0; c < k; c++) zb += zn[c] * bn[c];
            double r2 = xx - 2.0 * xm + mmo - zb;
            a->rss[row] = r2 > 0 ? r2 : 0.0;
        }
    }
    lz_set_threads(nb);
    if (uf != u0) free(uf);
    double total = 0; /* in row order, whatever the threads did */
    for (size_t i = 0; i < n; i++) total += a->rss[i];
    *sse = total;
    return bad;
}

/* W step: for each coordinate j, over the rows observing it,
 *     [w_j; mu'_j] = ([Z 1]_o^T [Z 1]_o)^-1 [Z 1]_o^T x_o,j,
 * the Gram matrix by a downdate of [Z 1]^T [Z 1] over the rows missing j
 * (or directly over the observing rows when they are fewer).  Non-zero if a
 * Gram matrix is not positive definite. */
static int w_step(als_work *a, const unsigned char *miss)
{
    size_t n = a->n, d = a->d, k = a->k, k1 = k + 1;
    /* H = [Z 1]^T [Z 1], R = X^T [Z 1] */
    double *zt = a->thr; /* (n, k+1) [Z 1], before the threads use their scratch */
    for (size_t i = 0; i < n; i++) {
        memcpy(zt + i * k1, a->z + i * k, k * sizeof *zt);
        zt[i * k1 + k] = 1.0;
    }
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)k1, (int)n, 1.0, zt, (int)k1, 0.0, a->h,
                (int)k1);
    lz_sym_from_upper(k1, a->h);
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)d, (int)k1, (int)n, 1.0, a->xw,
                (int)d, zt, (int)k1, 0.0, a->r, (int)k1);
    double htr = 0;
    for (size_t c = 0; c < k1; c++) htr += a->h[c * k1 + c];
    double ridge = PCA_ALS_RIDGE * htr / (double)k1;
    int nb = lz_get_threads(), nth = nb < 1 ? 1 : (size_t)nb > a->nthr ? (int)a->nthr : nb, bad = 0;
    lz_set_threads(1);
#pragma omp parallel for num_threads(nth) schedule(dynamic, 8) if (nth > 1)
    for (size_t j = 0; j < d; j++) {
        /* scratch after the shared [Z 1] of the first thread's block */
        double *s = a->thr + a->n * k1 + (size_t)omp_get_thread_num() * a->ts, *hj = s,
               *rows = hj + k1 * k1;
        const size_t *mr = a->cmis + a->cstart[j];
        size_t q = a->cstart[j + 1] - a->cstart[j];
        if (q <= n - q) {
            memcpy(hj, a->h, k1 * k1 * sizeof *hj);
            for (size_t t = 0; t < q; t++)
                memcpy(rows + t * k1, zt + mr[t] * k1, k1 * sizeof *rows);
            if (q)
                cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)k1, (int)q, -1.0, rows,
                            (int)k1, 1.0, hj, (int)k1);
        } else {
            size_t no = 0;
            for (size_t i = 0, t = 0; i < n; i++) {
                if (t < q && mr[t] == i) {
                    t++;
                    continue;
                }
                memcpy(rows + no * k1, zt + i * k1, k1 * sizeof *rows);
                no++;
            }
            cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)k1, (int)no, 1.0, rows, (int)k1,
                        0.0, hj, (int)k1);
        }
        lz_sym_from_upper(k1, hj);               /* lz_chol reads the lower triangle */
        double *lh = rows, *vv = rows + k1 * k1; /* the gathered rows are no longer needed */
        if (chol_ridge(k1, hj, ridge, lh)) {
            bad = 1;
            continue;
        }
        memcpy(vv, a->r + j * k1, k1 * sizeof *vv);
        lz_chol_solve(k1, lh, 1, vv, NULL);
        memcpy(a->w + j * k, vv, k * sizeof *a->w);
        a->mup[j] = vv[k];
    }
    lz_set_threads(nb);
    (void)miss;
    return bad;
}

/* W <- an orthonormal basis of span(W) (Householder QR), and W^T into wt */
static lz_status orthonormalise(als_work *a, lz_error *err)
{
    lz_status st = lz_qr(a->d, a->k, a->w, NULL, err);
    if (st) return st;
    for (size_t j = 0; j < a->d; j++)
        for (size_t c = 0; c < a->k; c++) a->wt[c * a->d + j] = a->w[j * a->k + c];
    return LZ_OK;
}

/* The PPCA parameters of the completed data (docs/pca.md, "Missing
 * values"): the completed rows xh (x observed, mu' + W z missing), centred
 * by mu = mu0 + mu'; the Ritz pairs of their covariance in span(W);
 *     sigma^2 = (sum of the observed residuals^2 / observed entries) d/(d-k),
 *     lambda_j = theta_j + sigma^2 sum_i p_i u_ji^2,   p_i = the share of
 *                rows missing i (the missing entries' residual variance,
 *                absent from the completed data, added back),
 *     total = tr S_h + sigma^2 sum_i p_i;
 * lambda_j is kept >= sigma^2. */
static lz_status final_model(als_work *a, const lz_patterns *pt, const unsigned char *miss,
                             const double *mu0, pca_model *m, lz_error *err)
{
    size_t n = a->n, d = a->d, k = a->k, bk = PCA_ALS_BLOCK;
    double *blk = malloc((bk * d + bk * k + 2 * k * k + k) * sizeof *blk);
    if (!blk) return lz_fail(err, LZ_ENOMEM, "PCA: out of memory");
    double *y = blk + bk * d, *pm = y + bk * k, *v = pm + k * k, *th = v + k * k;
    memset(pm, 0, k * k * sizeof *pm);
    double tr = 0, sse = 0;
    for (size_t r0 = 0; r0 < n; r0 += bk) {
        size_t nb = n - r0 < bk ? n - r0 : bk;
        /* the block's W z */
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nb, (int)d, (int)k, 1.0,
                    a->z + r0 * k, (int)k, a->w, (int)k, 0.0, blk, (int)d);
        for (size_t i = 0; i < nb; i++) {
            const unsigned char *mk = miss ? miss + (r0 + i) * d : NULL;
            const double *x = a->xw + (r0 + i) * d;
            double *row = blk + i * d;
            for (size_t j = 0; j < d; j++) {
                if (mk && mk[j]) continue; /* completed: W z */
                double c = x[j] - a->mup[j], e = c - row[j];
                sse += e * e;
                row[j] = c;
            }
            for (size_t j = 0; j < d; j++) tr += row[j] * row[j];
        }
        /* P += (Xh W)^T (Xh W) */
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)nb, (int)k, (int)d, 1.0, blk,
                    (int)d, a->w, (int)k, 0.0, y, (int)k);
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)k, (int)nb, 1.0, y, (int)k, 1.0, pm,
                    (int)k);
    }
    for (size_t c = 0; c < k * k; c++) pm[c] /= (double)n;
    tr /= (double)n;
    lz_status st = lz_eigh(k, pm, th, v, err); /* descending; v column j */
    if (!st) {
        /* U^T = V^T W^T (k, d) */
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)k, (int)d, (int)k, 1.0, v, (int)k,
                    a->wt, (int)d, 0.0, m->comp, (int)d);
        pca_fix_signs(d, k, m->comp);
        size_t nobs = n * d - pt->n_missing;
        double s2 = sse / (double)nobs * (double)d / (double)(d - k), add = 0;
        for (size_t j = 0; j < d; j++) add += (double)pt->n_mis[j] / (double)n;
        for (size_t c = 0; c < k; c++) {
            double e = 0;
            for (size_t j = 0; j < d; j++) {
                double u = m->comp[c * d + j];
                e += (double)pt->n_mis[j] / (double)n * u * u;
            }
            m->eigval[c] = fmax(th[c] + s2 * e, s2);
        }
        /* largest first: the corrections may reorder them */
        for (size_t c = 1; c < k; c++)
            for (size_t c2 = c; c2 > 0 && m->eigval[c2] > m->eigval[c2 - 1]; c2--) {
                double t = m->eigval[c2];
                m->eigval[c2] = m->eigval[c2 - 1];
                m->eigval[c2 - 1] = t;
                for (size_t j = 0; j < d; j++) {
                    double u = m->comp[c2 * d + j];
                    m->comp[c2 * d + j] = m->comp[(c2 - 1) * d + j];
                    m->comp[(c2 - 1) * d + j] = u;
                }
            }
        m->sigma2 = s2;
        double top = 0;
        for (size_t c = 0; c < k; c++) top += m->eigval[c];
        m->total_var = fmax(tr + s2 * add, top);
        for (size_t j = 0; j < d; j++) m->mean[j] = mu0[j] + a->mup[j];
        if (!(s2 > PCA_RANK_RTOL * m->eigval[0]) || !isfinite(s2))
            st = lz_fail(err, LZ_ENUMERIC,
                         "-k %zu: no variance outside the %zu components (PPCA noise variance %g)",
                         k, k, s2);
    }
    free(blk);
    return st;
}

lz_status pca_fit_incomplete(const pca_config *cfg, const lz_data *data, const double *ref,
                             pca_model *m, pca_fit_info *info, pca_callback cb, void *ctx,
                             lz_error *err)
{
    double t0 = lz_now();
    size_t n = data->n, d = data->d;
    lz_status st = pca_config_check(cfg, d, err);
    if (st) return st;
    if (n < 2) return lz_fail(err, LZ_EINVAL, "PCA needs at least 2 samples, got %zu", n);
    if (!m || m->d != d || m->k != (size_t)cfg->k)
        return lz_fail(err, LZ_EINVAL, "PCA: model allocated for another d or k");
    if (cfg->mode == PCA_MODE_COV)
        return lz_fail(err, LZ_EINVAL,
                       "--mode cov: the covariance of data with missing values is not formed: "
                       "expected --mode data or auto (alternating least squares on the data)");
    size_t k = (size_t)cfg->k, k1 = k + 1;
    const unsigned char *miss = data->miss;
    als_work a;
    memset(&a, 0, sizeof a);
    a.n = n;
    a.d = d;
    a.k = k;
    int nt = lz_get_threads();
    a.nthr = nt > 0 ? (size_t)nt : 1;
    a.ts = 2 * k1 * k1 + k + k1 + (n > d ? n : d) * k1;
    lz_patterns *pt = lz_patterns_make(data);
    double *mu0 = malloc(d * sizeof *mu0), *var = malloc(d * sizeof *var);
    size_t tot = n * d + d * k + d + 2 * n * k + n + d * k1 + k1 * k1 + k * k + 3 * k * d +
                 LZ_ANGLE_WS(d, k) + n * k1 + a.nthr * a.ts;
    double *block = malloc(tot * sizeof *block);
    a.cstart = calloc(d + 1, sizeof *a.cstart);
    a.cmis = malloc((pt && pt->n_missing ? pt->n_missing : 1) * sizeof *a.cmis);
    if (!pt || !mu0 || !var || !block || !a.cstart || !a.cmis) {
        st = lz_fail(err, LZ_ENOMEM, "PCA: out of memory");
        goto done;
    }
    double *p = block;
    /* clang-format off */
    a.xw = p;    p += n * d;
    a.w = p;     p += d * k;
    a.mup = p;   p += d;
    a.z = p;     p += n * k;
    a.b = p;     p += n * k;
    a.rss = p;   p += n;
    a.r = p;     p += d * k1;
    a.h = p;     p += k1 * k1;
    a.g = p;     p += k * k;
    a.wt = p;    p += k * d;
    a.wprev = p; p += k * d;
    a.uref = p;  p += k * d;
    a.aws = p;   p += LZ_ANGLE_WS(d, k);
    a.thr = p;
    /* clang-format on */
    /* the working form: x - mu0 (the observed means), 0 where missing */
    if ((st = lz_data_moments(data, mu0, var, NULL, err))) goto done;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++) {
            int mk = miss && miss[i * d + j];
            a.xw[i * d + j] = mk ? 0.0 : data->x[i * d + j] - mu0[j];
        }
    /* the missing rows of each column */
    for (size_t i = 0; miss && i < n * d; i++) a.cstart[i % d + 1] += miss[i];
    for (size_t j = 0; j < d; j++) a.cstart[j + 1] += a.cstart[j];
    {
        size_t *fill = calloc(d ? d : 1, sizeof *fill);
        if (!fill) {
            st = lz_fail(err, LZ_ENOMEM, "PCA: out of memory");
            goto done;
        }
        for (size_t i = 0; miss && i < n; i++)
            for (size_t j = 0; j < d; j++)
                if (miss[i * d + j]) a.cmis[a.cstart[j] + fill[j]++] = i;
        free(fill);
    }
    double tot_var = 0; /* (1/n) sum of the observed (x - mu0)^2 */
    for (size_t j = 0; j < d; j++) tot_var += var[j] * (double)(n - pt->n_mis[j]) / (double)n;
    if (!(tot_var > 0)) {
        st = lz_fail(err, LZ_ENUMERIC, "the data has no variance (every row is the same)");
        goto done;
    }
    if (ref) {
        memcpy(a.uref, ref, k * d * sizeof *a.uref);
        double *tmp = malloc(k * d * sizeof *tmp);
        if (!tmp) {
            st = lz_fail(err, LZ_ENOMEM, "PCA: out of memory");
            goto done;
        }
        /* orthonormal rows: QR of the transpose */
        for (size_t c = 0; c < k; c++)
            for (size_t j = 0; j < d; j++) tmp[j * k + c] = a.uref[c * d + j];
        st = lz_qr(d, k, tmp, NULL, err);
        for (size_t c = 0; !st && c < k; c++)
            for (size_t j = 0; j < d; j++) a.uref[c * d + j] = tmp[j * k + c];
        free(tmp);
        if (st) goto done;
    }
    /* W: the principal subspace of the data with each missing value at its
     * column's observed mean (pca_fit on a copy, from the seed's random
     * start, to 1e-6 rad): least squares started far from it can stall on
     * a path along which rows' coefficients grow without bound (docs/pca.md,
     * "Missing values"); mu' = 0 */
    {
        pca_config c0 = *cfg;
        c0.mode = PCA_MODE_DATA;
        c0.tol = fmax(cfg->tol, 1e-6);
        c0.max_iter = 200;
        pca_model *m0 = pca_model_alloc(d, k);
        double *x0 = malloc(n * d * sizeof *x0);
        if (!m0 || !x0) {
            pca_model_free(m0);
            free(x0);
            st = lz_fail(err, LZ_ENOMEM, "PCA: out of memory");
            goto done;
        }
        memcpy(x0, a.xw, n * d * sizeof *x0);
        st = pca_fit(&c0, n, d, x0, NULL, m0, NULL, NULL, NULL, err);
        for (size_t c = 0; !st && c < k; c++)
            for (size_t j = 0; j < d; j++) a.w[j * k + c] = m0->comp[c * d + j];
        pca_model_free(m0);
        free(x0);
        if (st) goto done;
    }
    memset(a.mup, 0, d * sizeof *a.mup);
    if ((st = orthonormalise(&a, err))) goto done;
    int iter = 0, converged = 0;
    double delta = NAN, delta_prev = NAN, ref_angle = NAN, sse = 0;
    for (;;) {
        /* the lecture's Z <- W^+ X and W <- X Z^+, over the observed entries */
        if (z_step(&a, pt, miss, &sse) || w_step(&a, miss)) {
            st = lz_fail(err, LZ_ENUMERIC,
                         "-k %zu: a least-squares problem of the observed entries is singular", k);
            goto done;
        }
        memcpy(a.wprev, a.wt, k * d * sizeof *a.wt);
        if ((st = orthonormalise(&a, err))) goto done;
        iter++;
        delta_prev = delta;
        if ((st = lz_max_principal_angle(d, k, a.wprev, a.wt, a.aws, &delta, err))) goto done;
        if (ref && (st = lz_max_principal_angle(d, k, a.uref, a.wt, a.aws, &ref_angle, err)))
            goto done;
        if (cb) {
            /* recon_mse = (1/n) sum of the observed residuals^2 of the Z step */
            double rm = sse / (double)n;
            pca_iter_info li = {iter, rm, 1.0 - rm / tot_var, delta, ref_angle, lz_now() - t0};
            if (cb(&li, ctx)) {
                st = lz_fail(err, LZ_ESTOP, "stopped at iteration %d", iter);
                goto done;
            }
        }
        if (islessequal(delta, cfg->tol)) {
            converged = 1;
            break;
        }
        if (iter >= cfg->max_iter) break;
    }
    /* the coefficients of the last W, then the model */
    if (z_step(&a, pt, miss, &sse)) {
        st = lz_fail(err, LZ_ENUMERIC,
                     "-k %zu: a least-squares problem of the observed entries is singular", k);
        goto done;
    }
    if ((st = final_model(&a, pt, miss, mu0, m, err))) goto done;
    if (info) {
        info->mode = PCA_MODE_DATA;
        info->p = k;
        info->iterations = iter;
        info->converged = converged;
        info->max_angle = delta;
        info->ref_angle = ref_angle;
        int contracting = isgreater(delta_prev, 1e-13) && isless(delta, delta_prev);
        double rho = contracting ? delta / delta_prev : NAN;
        info->angle_est = contracting ? delta * rho / (1 - rho) : NAN;
        info->seconds = lz_now() - t0;
    }
done:
    lz_patterns_free(pt);
    free(mu0);
    free(var);
    free(block);
    free(a.cstart);
    free(a.cmis);
    return st;
}

/* ------------------------------------------------------------------ */
/* scoring */

lz_status pca_score_incomplete(const pca_model *m, const lz_data *data, double *z,
                               double *recon_mse, double *ll, double *xfill, lz_error *err)
{
    size_t n = data->n, d = m->d, k = m->k;
    const unsigned char *miss = data->miss;
    if (data->d != d)
        return lz_fail(err, LZ_EINVAL, "PCA: data of %zu columns, model of %zu", data->d, d);
    lz_patterns *pt = lz_patterns_make(data);
    /* per pattern: G_o = U_o^T U_o = I - U_m^T U_m (k, k) and
     * K_o = G_o + diag(sigma^2 / (lambda_j - sigma^2)); per row the centred
     * x_o, b = U_o^T x_o */
    double *buf = malloc((d + 5 * k * k + 3 * k + d * k) * sizeof *buf);
    if (!pt || !buf) {
        lz_patterns_free(pt);
        free(buf);
        return lz_fail(err, LZ_ENOMEM, "PCA scoring: out of memory");
    }
    double *xc = buf, *g = xc + d, *kk = g + k * k, *lg = kk + k * k, *lk = lg + k * k,
           *ut = lk + k * k, *b = ut + d * k, *zn = b + k, *mn = zn + k;
    /* U (d, k) <- comp^T */
    for (size_t c = 0; c < k; c++)
        for (size_t j = 0; j < d; j++) ut[j * k + c] = m->comp[c * d + j];
    double s2 = m->sigma2, ldl = 0;
    /* log|C_oo| = |o| log sigma^2 + sum_j log((lambda_j - sigma^2) / sigma^2) + log|K_o|:
     * the second term, with lambda_j - sigma^2 kept >= 1e-12 sigma^2 */
    double lp[64], *lpr = k <= 64 ? lp : malloc(k * sizeof *lpr); /* lambda_j - sigma^2 */
    if (!lpr) {
        lz_patterns_free(pt);
        free(buf);
        return lz_fail(err, LZ_ENOMEM, "PCA scoring: out of memory");
    }
    for (size_t c = 0; c < k; c++) {
        lpr[c] = fmax(m->eigval[c] - s2, 1e-12 * s2);
        ldl += log(lpr[c] / s2);
    }
    double sll = 0, sr2 = 0;
    lz_status st = LZ_OK;
    for (size_t p = 0; !st && p < pt->n_pat; p++) {
        const size_t *mis = pt->mis + pt->mis_start[p];
        size_t q = pt->mis_start[p + 1] - pt->mis_start[p], no = d - q;
        /* G_o = I - U_m^T U_m (with the fit's ridge if it is singular) */
        memset(g, 0, k * k * sizeof *g);
        for (size_t c = 0; c < k; c++) g[c * k + c] = 1.0;
        for (size_t t = 0; t < q; t++) {
            const double *u = ut + mis[t] * k;
            for (size_t c = 0; c < k; c++)
                for (size_t c2 = 0; c2 < k; c2++) g[c * k + c2] -= u[c] * u[c2];
        }
        memcpy(kk, g, k * k * sizeof *kk);
        for (size_t c = 0; c < k; c++) kk[c * k + c] += s2 / lpr[c];
        memcpy(lk, kk, k * k * sizeof *lk);
        if (chol_ridge(k, g, PCA_ALS_RIDGE, lg)) {
            st = lz_fail(err, LZ_ENUMERIC, "PCA scoring: U_o^T U_o is not positive definite");
            break;
        }
        if ((st = lz_chol(k, lk, err))) break;
        double logk = lz_chol_logdet(k, lk);
        for (size_t t = pt->pat_start[p]; t < pt->pat_start[p + 1]; t++) {
            size_t row = pt->rows[t];
            const unsigned char *mk = miss ? miss + row * d : NULL;
            for (size_t j = 0; j < d; j++)
                xc[j] = (mk && mk[j]) ? 0.0 : data->x[row * d + j] - m->mean[j];
            /* b = U_o^T x_o (x_c is 0 where missing) */
            cblas_dgemv(CblasRowMajor, CblasTrans, (int)d, (int)k, 1.0, ut, (int)k, xc, 1, 0.0, b,
                        1);
            /* the projection z = G_o^-1 b, the PPCA posterior part m = K_o^-1 b */
            memcpy(zn, b, k * sizeof *zn);
            memcpy(mn, b, k * sizeof *mn);
            lz_chol_solve(k, lg, 1, zn, NULL);
            lz_chol_solve(k, lk, 1, mn, NULL);
            if (z) memcpy(z + row * k, zn, k * sizeof *z);
            /* residuals over the observed entries: of the projection (recon)
             * and of U_o m (the density's residual form) */
            double r2 = 0, e2 = 0, q2 = 0;
            for (size_t j = 0; j < d; j++) {
                if (mk && mk[j]) continue;
                const double *u = ut + j * k;
                double pz = 0, pm = 0;
                for (size_t c = 0; c < k; c++) {
                    pz += u[c] * zn[c];
                    pm += u[c] * mn[c];
                }
                r2 += (xc[j] - pz) * (xc[j] - pz);
                e2 += (xc[j] - pm) * (xc[j] - pm);
            }
            for (size_t c = 0; c < k; c++) q2 += mn[c] * mn[c] / lpr[c];
            /* log N(x_o; mu_o, C_oo), C = U (Lambda - sigma^2) U^T + sigma^2 I:
             *   x^T C_oo^-1 x = |x_o - U_o m|^2 / sigma^2 + m^T (Lambda - sigma^2)^-1 m */
            double l = -0.5 * ((double)no * (LZ_LOG_2PI + log(s2)) + ldl + logk + e2 / s2 + q2);
            sll += l;
            sr2 += r2;
            /* E[x_m | x_o] = mu_m + U_m m */
            if (xfill)
                for (size_t t2 = 0; t2 < q; t2++) {
                    size_t j = mis[t2];
                    double v = m->mean[j];
                    for (size_t c = 0; c < k; c++) v += ut[j * k + c] * mn[c];
                    xfill[row * d + j] = v;
                }
        }
    }
    if (!st) {
        if (ll) *ll = sll / (double)n;
        if (recon_mse) *recon_mse = sr2 / (double)n;
    }
    if (lpr != lp) free(lpr);
    lz_patterns_free(pt);
    free(buf);
    return st;
}
