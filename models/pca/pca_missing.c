/* pca_missing.c -- PCA of data with missing values: EM for probabilistic
 * PCA over the observed entries (the lecture's iterative projection with
 * the prior's ridge), and the PPCA density of each row's observed entries,
 * its completion and posterior projections (see pca.h; docs/pca.md,
 * "Missing values").
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

/* An M-step Gram matrix that is singular (a column observed in no row:
 * degenerate data) gets this fraction of its mean diagonal added. */
#define PCA_EM_RIDGE 1e-10

/* sigma^2 is kept >= this fraction of the mean observed variance per
 * coordinate: noise-free data drive the maximum-likelihood sigma^2 to 0,
 * where the density is not defined (the fit then ends with "no variance
 * outside the k components").  Relative, so scale-aware. */
#define PCA_EM_S2_FLOOR 1e-12

/* Rows of a block (the residual pass of the log-likelihood). */
#define PCA_EM_BLOCK 256

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

/* work of the EM for probabilistic PCA with missing values */
typedef struct {
    size_t n, d, k, kp, nthr; /* nthr: the OpenMP threads (BLAS runs on one) */
    double s2;                /* sigma^2                                                */
    double s2_floor;          /* PCA_EM_S2_FLOOR times the mean observed variance       */
    double vbar;              /* the mean observed variance of a coordinate (SQUAREM's unit) */
    double nobs;              /* observed entries                                       */
    double *xw;               /* (n, d) x - mu0 where observed, 0 where missing         */
    double *w;                /* (d, k) W (the PPCA loadings, not orthonormal)          */
    double *mup;              /* (d) mu' = mu - mu0                                     */
    double *z;                /* (n, k) E[z_n | x_n,o], the posterior means             */
    double *b;                /* (n, k) X W                                             */
    double *cov;              /* (npat, kp) Cov[z | x_o] = sigma^2 M_o^-1, a pattern; its
                                 upper triangle packed by rows, kp = k (k + 1) / 2       */
    double *cmiss;            /* (d, kp) sum over the rows missing j of Cov_n (packed)  */
    double *ldm;              /* (npat) log|M_o|                                        */
    double *sx;               /* (d) sum over the rows observing j of (x_ij - mu0_j)^2  */
    double *ej;               /* (d) the expected residual^2 of coordinate j (M-step)   */
    double *wn;               /* (d) |w_j|^2 (E-step) */
    double *r;                /* (d, k+1) X^T [E z 1]                                   */
    double *h;                /* (k+1, k+1) sum_n [E zz^T  E z; E z^T  1]               */
    double *ctot;             /* (kp) sum_n Cov_n (packed)                              */
    double *g;                /* (k, k) W^T W                                           */
    double *wq;               /* (d, k) an orthonormal basis of span(W)                 */
    double *wt;               /* (k, d) its transpose (for the angles)                  */
    double *wprev;            /* (k, d) the previous iteration's                        */
    double *uref;             /* (k, d) --ref, orthonormal                              */
    double *aws;              /* LZ_ANGLE_WS(d, k)                                      */
    double *rb;               /* (nthr, PCA_EM_BLOCK, d) a block of Z W^T, a thread      */
    double *lrow;             /* (n) each row's log-likelihood of its observed entries   */
    double *rrow;             /* (n) each row's observed residual^2                      */
    double *thr;              /* (n, k+1) [E z 1], then (nthr, ts) per-thread scratch   */
    size_t ts;
    size_t *cmis;   /* the rows missing column j: cmis[cstart[j] .. cstart[j+1]) */
    size_t *cstart; /* (d + 1) */
} em_work;

/* per-thread scratch, after the shared [E z 1] (ts doubles): a Gram matrix
 * and its factor ((k+1)^2 each), a right-hand side, a k x k matrix, and
 * gathered rows (max(n, d), k+1) */
static double *scratch(const em_work *a)
{
    return a->thr + a->n * (a->k + 1) + (size_t)omp_get_thread_num() * a->ts;
}

/* Threads: the fit runs its own OpenMP threads over single-threaded BLAS
 * (two thread pools on the same cores, each spinning while the other works,
 * cost more than they gain).  A product too large for one thread is cut
 * into chunks of PCA_EM_CHUNK rows (or coordinates), shared out as the
 * threads come free (a thread held up by another job on its core does not
 * hold up the rest); the chunks do not depend on the thread count, and each
 * number is computed in one chunk. */
#define PCA_NTH(a) ((int)(a)->nthr)
#define PCA_EM_CHUNK 128

/* E-step (docs/pca.md, "Missing values"): for each pattern, over its
 * observed coordinates o,
 *     M_o = W_o^T W_o + sigma^2 I,   Cov_o = sigma^2 M_o^-1,   log|M_o|,
 * W_o^T W_o = W^T W - W_m^T W_m (the downdate while fewer coordinates are
 * missing than observed and they hold at most half of tr W^T W: its
 * rounding, eps tr W^T W, then stays within twice the direct sum's; a
 * coordinate in units 1000 times the others' can hold nearly all of it);
 * for each of its rows
 *     E z_n = M_o^-1 W_o^T (x_n,o - mu'_o),   W_o^T x_n,o = (X W)_n
 * (x is 0 where missing).  Non-zero if an M_o is not positive definite. */
static int e_step(em_work *a, const lz_patterns *pt)
{
    size_t n = a->n, d = a->d, k = a->k;
    int nth = PCA_NTH(a), bad = 0;
    /* B (n, k) <- X W, a chunk of rows at a time; G = W^T W */
#pragma omp parallel for num_threads(nth) schedule(dynamic, 1) if (nth > 1)
    for (size_t r0 = 0; r0 < n; r0 += PCA_EM_CHUNK) {
        size_t nb = n - r0 < PCA_EM_CHUNK ? n - r0 : PCA_EM_CHUNK;
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)nb, (int)k, (int)d, 1.0,
                    a->xw + r0 * d, (int)d, a->w, (int)k, 0.0, a->b + r0 * k, (int)k);
    }
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)k, (int)d, 1.0, a->w, (int)k, 0.0, a->g,
                (int)k);
    lz_sym_from_upper(k, a->g);
    double tg = 0;
    for (size_t j = 0; j < d; j++) {
        double e = 0;
        for (size_t c = 0; c < k; c++) e += a->w[j * k + c] * a->w[j * k + c];
        a->wn[j] = e;
        tg += e;
    }
    double u0[64], *uf = k <= 64 ? u0 : malloc(k * sizeof *uf);
    if (!uf) return 1;
    /* u = W^T mu' */
    cblas_dgemv(CblasRowMajor, CblasTrans, (int)d, (int)k, 1.0, a->w, (int)k, a->mup, 1, 0.0, uf,
                1);
#pragma omp parallel for num_threads(nth) schedule(dynamic, 16) if (nth > 1)
    for (size_t p = 0; p < pt->n_pat; p++) {
        double *s = scratch(a), *gp = s, *u = gp + k * k, *rows = u + k;
        const size_t *mis = pt->mis + pt->mis_start[p];
        size_t q = pt->mis_start[p + 1] - pt->mis_start[p];
        memcpy(u, uf, k * sizeof *u);
        double tm = 0;
        for (size_t t = 0; t < q; t++) tm += a->wn[mis[t]];
        if (q <= d - q && tm <= 0.5 * tg) {
            memcpy(gp, a->g, k * k * sizeof *gp);
            for (size_t t = 0; t < q; t++) {
                size_t j = mis[t];
                memcpy(rows + t * k, a->w + j * k, k * sizeof *rows);
                for (size_t c = 0; c < k; c++) u[c] -= a->w[j * k + c] * a->mup[j];
            }
            if (q)
                cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)k, (int)q, -1.0, rows,
                            (int)k, 1.0, gp, (int)k);
        } else {
            size_t no = 0;
            for (size_t c = 0; c < k; c++) u[c] = 0;
            for (size_t j = 0, t = 0; j < d; j++) {
                if (t < q && mis[t] == j) {
                    t++;
                    continue;
                }
                memcpy(rows + no * k, a->w + j * k, k * sizeof *rows);
                for (size_t c = 0; c < k; c++) u[c] += a->w[j * k + c] * a->mup[j];
                no++;
            }
            cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)k, (int)no, 1.0, rows, (int)k,
                        0.0, gp, (int)k);
        }
        lz_sym_from_upper(k, gp); /* lz_chol reads the lower triangle */
        for (size_t c = 0; c < k; c++) gp[c * k + c] += a->s2;
        double *lp = rows; /* the gathered rows are no longer needed */
        lz_error e;
        memcpy(lp, gp, k * k * sizeof *lp);
        if (lz_chol(k, lp, &e)) {
            bad = 1;
            continue;
        }
        a->ldm[p] = lz_chol_logdet(k, lp);
        /* Cov_o = sigma^2 M_o^-1 (into gp, M_o no longer needed), symmetrised,
         * its upper triangle packed */
        memset(gp, 0, k * k * sizeof *gp);
        for (size_t c = 0; c < k; c++) gp[c * k + c] = a->s2;
        lz_chol_solve(k, lp, k, gp, NULL);
        lz_symmetrise(k, gp);
        double *cp = a->cov + p * a->kp;
        for (size_t c = 0; c < k; c++)
            for (size_t c2 = c; c2 < k; c2++) *cp++ = gp[c * k + c2];
        for (size_t t = pt->pat_start[p]; t < pt->pat_start[p + 1]; t++) {
            size_t row = pt->rows[t];
            const double *bn = a->b + row * k;
            double *zn = a->z + row * k;
            /* W_o^T (x_o - mu'_o), then E z = M_o^-1 of it */
            for (size_t c = 0; c < k; c++) zn[c] = bn[c] - u[c];
            lz_chol_solve(k, lp, 1, zn, NULL);
        }
    }
    if (uf != u0) free(uf);
    return bad;
}

/* The observed-data log-likelihood per row at the E-step's parameters
 * (docs/pca.md, "Missing values"): with m_n = E z_n, e_n = x_n,o - mu_o,
 *     log N(x_n,o; mu_o, W_o W_o^T + sigma^2 I)
 *       = -1/2 [|o| log 2 pi + (|o| - k) log sigma^2 + log|M_o|
 *               + |e_n - W_o m_n|^2 / sigma^2 + |m_n|^2],
 * the residual formed explicitly (Z W^T block by block), not as the
 * difference |e_n|^2 - m_n . W_o^T e_n.  *sse <- the sum over rows of
 * |e_n - W_o m_n|^2.  Returns the mean over the rows (summed in row order). */
static double observed_ll(em_work *a, const lz_patterns *pt, const unsigned char *miss, double *sse)
{
    size_t n = a->n, d = a->d, k = a->k, bk = PCA_EM_BLOCK;
    double ls2 = log(a->s2);
    int nth = PCA_NTH(a);
#pragma omp parallel for num_threads(nth) schedule(dynamic, 1) if (nth > 1)
    for (size_t r0 = 0; r0 < n; r0 += bk) {
        size_t nb = n - r0 < bk ? n - r0 : bk;
        double *rb = a->rb + (size_t)omp_get_thread_num() * bk * d;
        /* the block's W m_n */
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nb, (int)d, (int)k, 1.0,
                    a->z + r0 * k, (int)k, a->w, (int)k, 0.0, rb, (int)d);
        for (size_t i = 0; i < nb; i++) {
            size_t row = r0 + i, p = pt->pat[row];
            const unsigned char *mk = miss ? miss + row * d : NULL;
            const double *x = a->xw + row * d, *wm = rb + i * d, *zn = a->z + row * k;
            double r2 = 0, zz = 0;
            for (size_t j = 0; j < d; j++) {
                if (mk && mk[j]) continue;
                double e = x[j] - a->mup[j] - wm[j];
                r2 += e * e;
            }
            for (size_t c = 0; c < k; c++) zz += zn[c] * zn[c];
            double no = (double)(d - (pt->mis_start[p + 1] - pt->mis_start[p]));
            a->lrow[row] =
                -0.5 * (no * LZ_LOG_2PI + (no - (double)k) * ls2 + a->ldm[p] + r2 / a->s2 + zz);
            a->rrow[row] = r2;
        }
    }
    double sll = 0, sr = 0; /* in row order, whatever the threads did */
    for (size_t i = 0; i < n; i++) {
        sll += a->lrow[i];
        sr += a->rrow[i];
    }
    *sse = sr;
    return sll / (double)n;
}

/* M-step (docs/pca.md, "Missing values"): for each coordinate j, over the
 * rows i observing it,
 *     [w_j; mu'_j] = H_j^-1 r_j,
 *     H_j = sum_i [E z_i E z_i^T + Cov_i   E z_i; E z_i^T   1]
 *         = [Z 1]_o^T [Z 1]_o + [C_j 0; 0 0],   C_j = sum_i Cov_i,
 *     r_j = sum_i (x_ij - mu0_j) [E z_i; 1]    (row j of X^T [Z 1]),
 * [Z 1]_o^T [Z 1]_o by a downdate of the sum over all rows by the rows
 * missing j (directly when those are the majority), C_j = sum_n Cov_n less
 * the sum over the rows missing j; then
 *     sigma^2 = (1/#observed) sum_j e_j,
 *     e_j = sum_i (x_ij - mu0_j)^2 - [w_j; mu'_j] . r_j,
 * which is sum_i (x_ij - mu_j - w_j^T E z_i)^2 + w_j^T Cov_i w_j at the new
 * w_j, mu_j (as H_j [w_j; mu'_j] = r_j), kept >= the floor.  Last, the
 * parameter expansion (below).  Non-zero if an H_j is not positive
 * definite. */
static int m_step(em_work *a, const lz_patterns *pt)
{
    size_t n = a->n, d = a->d, k = a->k, k1 = k + 1, kp = a->kp;
    int nth = PCA_NTH(a), bad = 0;
    /* sum_n Cov_n = sum_p n_p Cov_p, in pattern order; and for each j the
     * sum over the patterns missing it, a chunk of coordinates at a time
     * (each pattern's Cov read once a chunk, added to its missing
     * coordinates there) */
    memset(a->ctot, 0, kp * sizeof *a->ctot);
    for (size_t p = 0; p < pt->n_pat; p++) {
        double np = (double)(pt->pat_start[p + 1] - pt->pat_start[p]);
        const double *cp = a->cov + p * kp;
        for (size_t c = 0; c < kp; c++) a->ctot[c] += np * cp[c];
    }
#pragma omp parallel for num_threads(nth) schedule(dynamic, 1) if (nth > 1)
    for (size_t j0 = 0; j0 < d; j0 += PCA_EM_CHUNK) {
        size_t j1 = d - j0 < PCA_EM_CHUNK ? d : j0 + PCA_EM_CHUNK;
        memset(a->cmiss + j0 * kp, 0, (j1 - j0) * kp * sizeof *a->cmiss);
        for (size_t p = 0; p < pt->n_pat; p++) {
            double np = (double)(pt->pat_start[p + 1] - pt->pat_start[p]);
            const double *cp = a->cov + p * kp;
            for (size_t u = pt->mis_start[p]; u < pt->mis_start[p + 1]; u++) {
                size_t j = pt->mis[u];
                if (j < j0) continue;
                if (j >= j1) break;
                double *cj = a->cmiss + j * kp;
                for (size_t c = 0; c < kp; c++) cj[c] += np * cp[c];
            }
        }
    }
    /* [Z 1] (n, k+1); H = [Z 1]^T [Z 1]; R = X^T [Z 1] */
    double *zt = a->thr;
    for (size_t i = 0; i < n; i++) {
        memcpy(zt + i * k1, a->z + i * k, k * sizeof *zt);
        zt[i * k1 + k] = 1.0;
    }
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)k1, (int)n, 1.0, zt, (int)k1, 0.0, a->h,
                (int)k1);
    lz_sym_from_upper(k1, a->h);
    /* R, a chunk of coordinates at a time */
#pragma omp parallel for num_threads(nth) schedule(dynamic, 1) if (nth > 1)
    for (size_t j0 = 0; j0 < d; j0 += PCA_EM_CHUNK) {
        size_t nb = d - j0 < PCA_EM_CHUNK ? d - j0 : PCA_EM_CHUNK;
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)nb, (int)k1, (int)n, 1.0,
                    a->xw + j0, (int)d, zt, (int)k1, 0.0, a->r + j0 * k1, (int)k1);
    }
#pragma omp parallel for num_threads(nth) schedule(dynamic, 8) if (nth > 1)
    for (size_t j = 0; j < d; j++) {
        double *s = scratch(a), *hj = s, *lh = hj + k1 * k1, *vv = lh + k1 * k1, *rows = vv + k1;
        const size_t *mr = a->cmis + a->cstart[j];
        size_t q = a->cstart[j + 1] - a->cstart[j];
        /* [Z 1]_o^T [Z 1]_o: H minus the rows missing j, or directly */
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
        /* + C_j = sum_n Cov_n - the rows missing j (upper triangle) */
        const double *cm = a->cmiss + j * kp;
        for (size_t c = 0, u = 0; c < k; c++)
            for (size_t c2 = c; c2 < k; c2++, u++) hj[c * k1 + c2] += a->ctot[u] - cm[u];
        lz_sym_from_upper(k1, hj); /* lz_chol reads the lower triangle */
        double htr = 0;
        for (size_t c = 0; c < k1; c++) htr += hj[c * k1 + c];
        if (chol_ridge(k1, hj, PCA_EM_RIDGE * htr / (double)k1, lh)) {
            bad = 1;
            continue;
        }
        memcpy(vv, a->r + j * k1, k1 * sizeof *vv);
        lz_chol_solve(k1, lh, 1, vv, NULL);
        memcpy(a->w + j * k, vv, k * sizeof *a->w);
        a->mup[j] = vv[k];
        double vr = 0;
        for (size_t c = 0; c < k1; c++) vr += vv[c] * a->r[j * k1 + c];
        a->ej[j] = a->sx[j] - vr;
    }
    double e = 0; /* in column order, whatever the threads did */
    for (size_t j = 0; j < d; j++) e += a->ej[j];
    a->s2 = fmax(e / a->nobs, a->s2_floor);
    if (bad) return bad;
    /* the parameter expansion (PX-EM): the prior of z taken as N(zbar, S_z)
     * with its own M-step, zbar = (1/n) sum E z,
     * S_z = (1/n) sum (E zz^T + Cov) - zbar zbar^T = L L^T, then mapped back
     * to N(0, I): mu' <- mu' + W zbar, W <- W L (the same density, so the
     * log-likelihood still never decreases) */
    double *sz = a->g, zb[64], *zbar = k <= 64 ? zb : malloc(k * sizeof *zbar);
    if (!zbar) return 1;
    for (size_t c = 0; c < k; c++) zbar[c] = a->h[k * k1 + c] / (double)n;
    for (size_t c = 0, u = 0; c < k; c++) /* the lower triangle, which lz_chol reads */
        for (size_t c2 = c; c2 < k; c2++, u++)
            sz[c2 * k + c] = (a->h[c * k1 + c2] + a->ctot[u]) / (double)n - zbar[c] * zbar[c2];
    lz_error er;
    if (lz_chol(k, sz, &er) == LZ_OK) {
        cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)d, (int)k, 1.0, a->w, (int)k, zbar, 1, 1.0,
                    a->mup, 1);
        cblas_dtrmm(CblasRowMajor, CblasRight, CblasLower, CblasNoTrans, CblasNonUnit, (int)d,
                    (int)k, 1.0, sz, (int)k, a->w, (int)k);
    }
    if (zbar != zb) free(zbar);
    return 0;
}

/* wq (d, k) <- an orthonormal basis of span(W) (Householder QR of a copy),
 * and its transpose into wt */
static lz_status basis(em_work *a, lz_error *err)
{
    memcpy(a->wq, a->w, a->d * a->k * sizeof *a->wq);
    lz_status st = lz_qr(a->d, a->k, a->wq, NULL, err);
    if (st) return st;
    for (size_t j = 0; j < a->d; j++)
        for (size_t c = 0; c < a->k; c++) a->wt[c * a->d + j] = a->wq[j * a->k + c];
    return LZ_OK;
}

/* The model of the fitted parameters (docs/pca.md, "Missing values"):
 * C = W W^T + sigma^2 I.  With W = Q R (Householder QR, Q (d, k)
 * orthonormal) and R R^T = V Theta V^T,
 *     u_j = Q v_j,   lambda_j = theta_j + sigma^2,
 *     total_var = tr C = sum_j lambda_j + (d - k) sigma^2,   mu = mu0 + mu'
 * (the u_j are W v_j / theta_j^1/2, orthonormal by construction even when a
 * column of W has shrunk to 0). */
static lz_status final_model(em_work *a, const double *mu0, pca_model *m, lz_error *err)
{
    size_t d = a->d, k = a->k;
    double *buf = malloc((3 * k * k + k) * sizeof *buf);
    if (!buf) return lz_fail(err, LZ_ENOMEM, "PCA: out of memory");
    double *rr = buf, *p = rr + k * k, *v = p + k * k, *th = v + k * k;
    memcpy(a->wq, a->w, d * k * sizeof *a->wq);
    lz_status st = lz_qr(d, k, a->wq, rr, err);
    if (!st) {
        /* P = R R^T (upper triangle, which lz_eigh reads) */
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, (int)k, (int)k, 1.0, rr, (int)k, 0.0,
                    p, (int)k);
        st = lz_eigh(k, p, th, v, err); /* descending; v column j */
    }
    double s2 = a->s2;
    if (!st && !(s2 > PCA_RANK_RTOL * (th[0] + s2) && isfinite(s2) && isfinite(th[0])))
        st = lz_fail(err, LZ_ENUMERIC,
                     "-k %zu: no variance outside the %zu components (PPCA noise variance %g)", k,
                     k, s2);
    if (!st) {
        /* U^T = V^T Q^T (k, d) */
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasTrans, (int)k, (int)d, (int)k, 1.0, v, (int)k,
                    a->wq, (int)k, 0.0, m->comp, (int)d);
        for (size_t c = 0; c < k; c++) m->eigval[c] = fmax(th[c], 0.0) + s2;
        pca_fix_signs(d, k, m->comp);
        m->sigma2 = s2;
        double top = 0;
        for (size_t c = 0; c < k; c++) top += m->eigval[c];
        m->total_var = top + (double)(d - k) * s2;
        for (size_t j = 0; j < d; j++) m->mean[j] = mu0[j] + a->mup[j];
    }
    free(buf);
    return st;
}

/* the errors of a step, in one place (the plain loop and SQUAREM's cycle) */
static lz_status mstep_failed(const em_work *a, lz_error *err)
{
    return lz_fail(err, LZ_ENUMERIC,
                   "-k %zu: the M-step's second moments of a coordinate are singular", a->k);
}

static lz_status estep_failed(const em_work *a, lz_error *err)
{
    return lz_fail(err, LZ_ENUMERIC, "-k %zu: a posterior precision M_o is singular", a->k);
}

/* SQUAREM's copies of theta = (W, mu', sigma^2): W and mu' are contiguous in
 * the work block (a->w, then a->mup), sigma^2 apart */
typedef struct {
    double *th[3]; /* (d k + d) [W mu'] of theta_0, theta_1, theta_2 */
    double s2[3];  /* their sigma^2                                   */
} sq_work;

/* One SQUAREM cycle (Varadhan & Roland 2008, scheme S3; docs/pca.md,
 * "Acceleration of EM: SQUAREM") from theta_0 = a's parameters, whose
 * E-step has just run.  With F one EM step (M-step, with its parameter
 * expansion, then the E-step of its result):
 *     theta_1 = F(theta_0),  theta_2 = F(theta_1),
 *     r = theta_1 - theta_0,  v = theta_2 - 2 theta_1 + theta_0,  alpha = -|r|/|v|,
 *     theta' = theta_0 - 2 alpha r + alpha^2 v,
 * then a <- the M-step from theta' (the caller runs its E-step).  Kept
 * monotone as lgm_em's cycle: theta' is accepted only if its sigma^2 is at
 * least the floor and ll(theta') >= ll(theta_1); otherwise alpha is halved
 * towards -1 (three times, then -1), and alpha = -1 gives theta' = theta_2,
 * which EM guarantees.  So ll(end) >= ll(theta') >= ll(theta_1) >=
 * ll(theta_0).  |r|, |v| are taken with W and mu' in units of vbar^1/2 and
 * sigma^2 in units of vbar, vbar the mean observed variance of a
 * coordinate, so that alpha does not depend on the units of the data.
 * *n_e counts the E-steps. */
static lz_status squarem_cycle(em_work *a, const lz_patterns *pt, const unsigned char *miss,
                               sq_work *q, long *n_e, lz_error *err)
{
    size_t np = a->d * a->k + a->d;
    double sse, *p0 = q->th[0], *p1 = q->th[1], *p2 = q->th[2];
    memcpy(p0, a->w, np * sizeof *p0);
    q->s2[0] = a->s2;
    if (m_step(a, pt)) return mstep_failed(a, err);
    memcpy(p1, a->w, np * sizeof *p1);
    q->s2[1] = a->s2;
    if (e_step(a, pt)) return estep_failed(a, err);
    (*n_e)++;
    double ll1 = observed_ll(a, pt, miss, &sse);
    if (m_step(a, pt)) return mstep_failed(a, err);
    memcpy(p2, a->w, np * sizeof *p2);
    q->s2[2] = a->s2;
    /* |r|^2, |v|^2 in units of vbar */
    double rr = 0, vv = 0;
    for (size_t j = 0; j < np; j++) {
        double r = p1[j] - p0[j], v = p2[j] - 2 * p1[j] + p0[j];
        rr += r * r;
        vv += v * v;
    }
    {
        double r = (q->s2[1] - q->s2[0]) / a->vbar,
               v = (q->s2[2] - 2 * q->s2[1] + q->s2[0]) / a->vbar;
        rr = rr / a->vbar + r * r;
        vv = vv / a->vbar + v * v;
    }
    /* |alpha| <= 1e10: a longer step would be rejected anyway, and rr / vv
     * cannot overflow */
    double alpha = vv > 1e-20 * rr ? -sqrt(rr / vv) : -1.0;
    if (!(alpha < -1.0)) alpha = -1.0; /* also NaN */
    for (int tries = 0;; tries++) {
        if (alpha == -1.0) {
            memcpy(a->w, p2, np * sizeof *p2);
            a->s2 = q->s2[2];
        } else {
            double *px = a->w;
            for (size_t j = 0; j < np; j++) {
                double r = p1[j] - p0[j], v = p2[j] - 2 * p1[j] + p0[j];
                px[j] = p0[j] - 2 * alpha * r + alpha * alpha * v;
            }
            double r = q->s2[1] - q->s2[0], v = q->s2[2] - 2 * q->s2[1] + q->s2[0];
            a->s2 = q->s2[0] - 2 * alpha * r + alpha * alpha * v;
        }
        /* sigma^2 below the floor (or not finite): rejected without an E-step */
        if (alpha == -1.0 || (isfinite(a->s2) && a->s2 >= a->s2_floor)) {
            int bad = e_step(a, pt);
            (*n_e)++;
            if (alpha == -1.0) {
                if (bad) return estep_failed(a, err);
                break;
            }
            if (!bad) {
                double llx = observed_ll(a, pt, miss, &sse);
                if (isfinite(llx) && llx >= ll1) break;
            }
        }
        /* rejected: step back towards plain EM */
        alpha = tries < 3 ? 0.5 * (alpha - 1.0) : -1.0;
    }
    if (m_step(a, pt)) return mstep_failed(a, err);
    return LZ_OK;
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
                       "expected --mode data or auto (EM on the observed entries)");
    size_t k = (size_t)cfg->k, k1 = k + 1, bk = PCA_EM_BLOCK, np = d * k + d;
    const unsigned char *miss = data->miss;
    int accel = cfg->accelerate != 0;
    sq_work sq;
    memset(&sq, 0, sizeof sq);
    em_work a;
    memset(&a, 0, sizeof a);
    a.n = n;
    a.d = d;
    a.k = k;
    int nt = lz_get_threads(), blas_single = 0;
    a.nthr = nt > 0 ? (size_t)nt : 1;
    a.ts = 2 * k1 * k1 + k1 + k * k + (n > d ? n : d) * k1;
    lz_patterns *pt = lz_patterns_make(data);
    double *mu0 = malloc(d * sizeof *mu0), *var = malloc(d * sizeof *var), *block = NULL;
    size_t npat = pt ? pt->n_pat : 0, kp = k * (k + 1) / 2;
    a.kp = kp;
    if (pt) {
        /* the layout below, in its order */
        size_t tot = n * d + d * k + d + 2 * n * k + npat * kp + d * kp + npat + 3 * d + d * k1 +
                     k1 * k1 + kp + k * k + 4 * d * k + LZ_ANGLE_WS(d, k) + a.nthr * bk * d +
                     2 * n + (accel ? 3 * np : 0) + n * k1 + a.nthr * a.ts;
        block = malloc(tot * sizeof *block);
    }
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
    a.cov = p;   p += npat * kp;
    a.cmiss = p; p += d * kp;
    a.ldm = p;   p += npat;
    a.sx = p;    p += d;
    a.ej = p;    p += d;
    a.wn = p; p += d;
    a.r = p;     p += d * k1;
    a.h = p;     p += k1 * k1;
    a.ctot = p;  p += kp;
    a.g = p;     p += k * k;
    a.wq = p;    p += d * k;
    a.wt = p;    p += k * d;
    a.wprev = p; p += k * d;
    a.uref = p;  p += k * d;
    a.aws = p;   p += LZ_ANGLE_WS(d, k);
    a.rb = p;    p += a.nthr * bk * d;
    a.lrow = p;  p += n;
    a.rrow = p;  p += n;
    for (int t = 0; accel && t < 3; t++) {
        sq.th[t] = p; p += np;
    }
    a.thr = p;
    /* clang-format on */
    /* the working form: x - mu0 (the observed means), 0 where missing */
    if ((st = lz_data_moments(data, mu0, var, NULL, err))) goto done;
    memset(a.sx, 0, d * sizeof *a.sx);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++) {
            int mk = miss && miss[i * d + j];
            double v = mk ? 0.0 : data->x[i * d + j] - mu0[j];
            a.xw[i * d + j] = v;
            a.sx[j] += v * v;
        }
    /* the missing rows of each column */
    for (size_t i = 0; miss && i < n * d; i++) a.cstart[i % d + 1] += miss[i];
    for (size_t j = 0; j < d; j++) a.cstart[j + 1] += a.cstart[j];
    {
        size_t *fill = calloc(d, sizeof *fill);
        if (!fill) {
            st = lz_fail(err, LZ_ENOMEM, "PCA: out of memory");
            goto done;
        }
        for (size_t i = 0; miss && i < n; i++)
            for (size_t j = 0; j < d; j++)
                if (miss[i * d + j]) a.cmis[a.cstart[j] + fill[j]++] = i;
        free(fill);
    }
    a.nobs = (double)(n * d - pt->n_missing);
    double tot_var = 0; /* (1/n) sum of the observed (x - mu0)^2 */
    for (size_t j = 0; j < d; j++) tot_var += var[j] * (double)(n - pt->n_mis[j]) / (double)n;
    if (!(tot_var > 0)) {
        st = lz_fail(err, LZ_ENUMERIC, "the data has no variance (every row is the same)");
        goto done;
    }
    a.vbar = tot_var / (double)d;
    a.s2_floor = PCA_EM_S2_FLOOR * a.vbar;
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
    /* the start: the PPCA of the data with each missing value at its
     * column's observed mean (pca_fit on a copy, from the seed's random
     * start, to 1e-6 rad), W = U (Lambda - sigma^2 I)^(1/2), its sigma^2;
     * mu' = 0 (docs/pca.md, "Missing values") */
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
        if (!st) {
            /* the mean-filled data's sigma^2, no smaller than the floor;
             * each column's scale kept above it so no column starts at 0 */
            a.s2 = fmax(m0->sigma2, a.s2_floor);
            for (size_t c = 0; c < k; c++) {
                double f = sqrt(fmax(m0->eigval[c] - a.s2, 1e-6 * a.s2));
                for (size_t j = 0; j < d; j++) a.w[j * k + c] = f * m0->comp[c * d + j];
            }
        }
        pca_model_free(m0);
        free(x0);
        if (st) goto done;
    }
    memset(a.mup, 0, d * sizeof *a.mup);
    lz_set_threads(1); /* the EM's threads are its own (PCA_NTH), restored at the end */
    blas_single = 1;
    if ((st = basis(&a, err))) goto done;
    if (e_step(&a, pt)) {
        st = estep_failed(&a, err);
        goto done;
    }
    long n_e = 1;
    int iter = 0, converged = 0;
    double delta = NAN, delta_prev = NAN, ref_angle = NAN, sse = 0;
    for (;;) {
        /* the M-step from the posterior moments (SQUAREM: a cycle ending in
         * one), then the E-step (and the observed-data log-likelihood) of
         * the new parameters */
        if (accel) {
            if ((st = squarem_cycle(&a, pt, miss, &sq, &n_e, err))) goto done;
        } else if (m_step(&a, pt)) {
            st = mstep_failed(&a, err);
            goto done;
        }
        memcpy(a.wprev, a.wt, k * d * sizeof *a.wt);
        if ((st = basis(&a, err))) goto done;
        if (e_step(&a, pt)) {
            st = estep_failed(&a, err);
            goto done;
        }
        n_e++;
        double ll = observed_ll(&a, pt, miss, &sse);
        iter++;
        delta_prev = delta;
        if ((st = lz_max_principal_angle(d, k, a.wprev, a.wt, a.aws, &delta, err))) goto done;
        if (ref && (st = lz_max_principal_angle(d, k, a.uref, a.wt, a.aws, &ref_angle, err)))
            goto done;
        if (!isfinite(ll)) {
            st = lz_fail(err, LZ_ENUMERIC,
                         "-k %zu: the observed-data log-likelihood is not finite at iteration %d",
                         k, iter);
            goto done;
        }
        if (cb) {
            /* recon_mse = (1/n) sum of the observed residuals^2 of W E z */
            double rm = sse / (double)n;
            pca_iter_info li = {iter, rm, 1.0 - rm / tot_var, delta, ref_angle, lz_now() - t0,
                                ll,   n_e};
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
    if ((st = final_model(&a, mu0, m, err))) goto done;
    if (info) {
        info->mode = PCA_MODE_DATA;
        info->p = k;
        info->iterations = iter;
        info->converged = converged;
        info->max_angle = delta;
        info->ref_angle = ref_angle;
        info->angle_est = pca_angle_est(delta, delta_prev);
        info->seconds = lz_now() - t0;
        info->e_steps = n_e;
    }
done:
    if (blas_single) lz_set_threads(nt);
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
    /* per pattern: K_o = U_o^T U_o + diag(sigma^2 / (lambda_j - sigma^2))
     * (k, k); per row the centred x_o, b = U_o^T x_o */
    double *buf = malloc((d + 2 * k * k + 3 * k + 2 * d * k) * sizeof *buf);
    if (!pt || !buf) {
        lz_patterns_free(pt);
        free(buf);
        return lz_fail(err, LZ_ENOMEM, "PCA scoring: out of memory");
    }
    double *xc = buf, *kk = xc + d, *lk = kk + k * k, *ut = lk + k * k, *b = ut + d * k,
           *zn = b + k, *mn = zn + k, *rows = mn + k; /* rows (d, k): gathered rows of U */
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
        /* K_o = U_o^T U_o + diag(sigma^2 / (lambda_j - sigma^2)), U_o^T U_o
         * = I - U_m^T U_m while the missing rows of U hold at most half of
         * its squared norm (then U_o^T U_o >= I / 2, so the downdate's
         * rounding, ~eps, is ~eps relative to it), else summed over the
         * observed rows (a column in large units can put a component almost
         * wholly in one coordinate, where I - U_m^T U_m cancels to ~0) */
        double tm = 0;
        for (size_t t = 0; t < q; t++)
            for (size_t c = 0; c < k; c++) tm += ut[mis[t] * k + c] * ut[mis[t] * k + c];
        int down = tm <= 0.5;
        size_t nr = 0;
        for (size_t j = 0, t = 0; j < d; j++) {
            int m_j = t < q && mis[t] == j;
            t += (size_t)m_j;
            if (m_j == down) memcpy(rows + nr++ * k, ut + j * k, k * sizeof *rows);
        }
        memset(kk, 0, k * k * sizeof *kk);
        for (size_t c = 0; c < k; c++) kk[c * k + c] = (down ? 1.0 : 0.0) + s2 / lpr[c];
        if (nr)
            cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)k, (int)nr, down ? -1.0 : 1.0,
                        rows, (int)k, 1.0, kk, (int)k);
        lz_sym_from_upper(k, kk);
        memcpy(lk, kk, k * k * sizeof *lk);
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
            /* the PPCA posterior part m = K_o^-1 b; the posterior mean of the
             * projection, z = E[U^T (x - mu) | x_o] = b + U_m^T U_m m
             * = diag(lambda_j / (lambda_j - sigma^2)) m (K_o m = b) */
            memcpy(mn, b, k * sizeof *mn);
            lz_chol_solve(k, lk, 1, mn, NULL);
            for (size_t c = 0; c < k; c++) zn[c] = mn[c] * (lpr[c] + s2) / lpr[c];
            if (z) memcpy(z + row * k, zn, k * sizeof *z);
            /* residuals over the observed entries: of U_o z (recon) and of
             * U_o m (the density's residual form) */
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
