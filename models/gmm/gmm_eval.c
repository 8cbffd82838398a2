/* gmm_eval.c -- the E-step of the Gaussian mixture and what is computed
 * from it: the log-likelihood, the responsibilities, draws (see gmm.h and
 * gmm_impl.h; docs/gmm.md, "The E-step").
 *
 * Dimension letters: n samples, d data, k components, b rows of a block,
 * w the width of a block row.  Row-major throughout.
 *
 * Rows with missing values take their E-step in gmm_missing.c (docs/gmm.md,
 * "Missing values").
 */
#include "gmm_impl.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "lz_blas.h" /* before any GSL header */
#include <gsl/gsl_rng.h>

#include "lz_linalg.h"
#include "lz_prob.h"
#include "lz_vmath.h"

/* ------------------------------------------------------------------ */
/* work */

#ifndef BLOCK_DOUBLES
#define BLOCK_DOUBLES 8192
#endif
/* rows of a block: about 64 KiB of doubles a block row buffer, 32..512 rows;
 * a chunk: about 4096 rows, or more when the chunks' sums would take more
 * than 64 MiB (a full model of large d).  Both depend on the data's shape
 * only, so the order of every sum does not depend on the threads. */
static size_t block_rows(size_t w)
{
    size_t b = BLOCK_DOUBLES / (w ? w : 1);
    return b < 32 ? 32 : b > 512 ? 512 : b;
}

gmm_work *gmm_work_alloc(size_t d, size_t k, int cov, size_t n)
{
    gmm_work *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->d = d;
    w->k = k;
    w->cov = cov;
    w->w = cov == GMM_DIAG ? 2 * d : cov == GMM_SPHERICAL ? d + 1 : d;
    w->b = block_rows(w->w);
    w->ns = k + k * w->w + (cov == GMM_FULL ? k * d * d : 0);
    size_t nblk = (n + w->b - 1) / w->b, max_ch = ((size_t)64 << 20) / (8 * (w->ns + 1));
    if (max_ch < 2) max_ch = 2;
    w->cb = 4096 / w->b;
    if (w->cb < 1) w->cb = 1;
    if ((nblk + w->cb - 1) / w->cb > max_ch) w->cb = (nblk + max_ch - 1) / max_ch;
    w->nch = (nblk + w->cb - 1) / w->cb;
    size_t nchol = cov == GMM_FULL ? k * d * d : cov == GMM_TIED ? d * d : 0;
    size_t ncoef = cov == GMM_TIED                             ? k * d
                   : (cov == GMM_DIAG || cov == GMM_SPHERICAL) ? w->w * k
                                                               : 0;
    w->nthr = omp_get_max_threads();
    if (w->nthr < 1) w->nthr = 1;
    size_t per = w->b * w->w + 3 * w->b * d + w->b * k + w->b + NEAREST_ROWS * k; /* a thread's */
    size_t tot = d + k + nchol + ncoef + k + w->ns + (w->nch ? w->nch : 1) * (w->ns + 1) +
                 (size_t)w->nthr * per;
    w->block = malloc(tot * sizeof *w->block);
    w->thr = calloc((size_t)w->nthr, sizeof *w->thr);
    if (!w->block || !w->thr) {
        gmm_work_free(w);
        return NULL;
    }
    double *p = w->block;
    /* clang-format off */
    w->shift = p;  p += d;
    w->lconst = p; p += k;
    w->chol = p;   p += nchol;
    w->coef = p;   p += ncoef;
    w->qc = p;     p += k;
    w->stats = p;  p += w->ns;
    w->part = p;   p += (w->nch ? w->nch : 1) * (w->ns + 1);
    for (int t = 0; t < w->nthr; t++) {
        gmm_thread *th = &w->thr[t];
        th->xb = p;  p += w->b * w->w;
        th->y = p;   p += w->b * d;
        th->ut = p;  p += w->b * d;
        th->zt = p;  p += w->b * d;
        th->q = p;   p += w->b;
        th->g = p;   p += NEAREST_ROWS * k;
        th->lp = p;  p += w->b * k;
    }
    /* clang-format on */
    memset(w->stats, 0, w->ns * sizeof *w->stats);
    return w;
}

void gmm_work_free(gmm_work *w)
{
    if (!w) return;
    free(w->block);
    free(w->thr);
    free(w);
}

/* ------------------------------------------------------------------ */
/* factors */

lz_status gmm_prepare(gmm_work *w, const gmm_model *m, lz_error *err)
{
    size_t d = m->d, k = m->k;
    w->model = m;
    /* c = sum_z pi_z mu_z: near the data (the data mean after an M-step), so
     * that the expanded quadratic forms of diag and spherical components
     * add numbers of the size of the data's spread, not of its offset */
    for (size_t j = 0; j < d; j++) w->shift[j] = 0;
    for (size_t z = 0; z < k; z++)
        for (size_t j = 0; j < d; j++) w->shift[j] += m->weights[z] * m->means[z * d + j];
    double dl2pi = (double)d * LZ_LOG_2PI;
    lz_status st;
    switch (m->cov) {
    case GMM_FULL:
        for (size_t z = 0; z < k; z++) {
            double *l = w->chol + z * d * d;
            memcpy(l, m->covs + z * d * d, d * d * sizeof *l);
            if ((st = lz_chol(d, l, err)))
                return lz_fail(err, st, "component %zu: Sigma is not positive definite", z + 1);
            /* log pi_z - 1/2 (d log 2pi + log|Sigma_z|), log|Sigma| = 2 sum log L_ii */
            w->lconst[z] = log(m->weights[z]) - 0.5 * (dl2pi + lz_chol_logdet(d, l));
        }
        break;
    case GMM_TIED: {
        memcpy(w->chol, m->covs, d * d * sizeof *w->chol);
        if ((st = lz_chol(d, w->chol, err)))
            return lz_fail(err, st, "the tied Sigma is not positive definite");
        double ld = lz_chol_logdet(d, w->chol);
        for (size_t z = 0; z < k; z++) {
            /* row z of coef <- L^-1 (mu_z - c) */
            double *v = w->coef + z * d;
            for (size_t j = 0; j < d; j++) v[j] = m->means[z * d + j] - w->shift[j];
            cblas_dtrsv(CblasRowMajor, CblasLower, CblasNoTrans, CblasNonUnit, (int)d, w->chol,
                        (int)d, v, 1);
            w->lconst[z] = log(m->weights[z]) - 0.5 * (dl2pi + ld);
        }
        break;
    }
    case GMM_DIAG:
        /* (x - mu)^T Sigma^-1 (x - mu) with u = x - c, nu = mu - c, a = 1/s:
         *   sum_j a_j u_j^2 - 2 a_j nu_j u_j + a_j nu_j^2
         * coef rows j < d: -2 a_j nu_j; rows d + j: a_j; qc = sum_j a_j nu_j^2 */
        for (size_t z = 0; z < k; z++) {
            const double *s = m->covs + z * d;
            double ld = 0, q = 0;
            for (size_t j = 0; j < d; j++) {
                if (!(s[j] > 0) || !isfinite(s[j]))
                    return lz_fail(err, LZ_ENUMERIC, "component %zu: variance %zu is %g", z + 1,
                                   j + 1, s[j]);
                double a = 1.0 / s[j], nu = m->means[z * d + j] - w->shift[j];
                w->coef[j * k + z] = -2.0 * a * nu;
                w->coef[(d + j) * k + z] = a;
                q += a * nu * nu;
                ld += log(s[j]);
            }
            w->qc[z] = q;
            w->lconst[z] = log(m->weights[z]) - 0.5 * (dl2pi + ld);
        }
        break;
    case GMM_SPHERICAL:
        /* the same with Sigma = s I: coef rows j < d: -2 nu_j / s; row d: 1/s */
        for (size_t z = 0; z < k; z++) {
            double s = m->covs[z], q = 0;
            if (!(s > 0) || !isfinite(s))
                return lz_fail(err, LZ_ENUMERIC, "component %zu: variance %g", z + 1, s);
            for (size_t j = 0; j < d; j++) {
                double nu = m->means[z * d + j] - w->shift[j];
                w->coef[j * k + z] = -2.0 * nu / s;
                q += nu * nu;
            }
            w->coef[d * k + z] = 1.0 / s;
            w->qc[z] = q / s;
            w->lconst[z] = log(m->weights[z]) - 0.5 * (dl2pi + (double)d * log(s));
        }
        break;
    }
    return LZ_OK;
}

/* ------------------------------------------------------------------ */
/* one block */

/* xb (b, w) <- the rows x (b, d) centred at the shift, and their squares
 * (diag) or squared norms (spherical); full, tied: ut (d, b) <- the same
 * transposed, for the triangular solves */
static void fill_block(const gmm_work *w, gmm_thread *t, const double *x, size_t b)
{
    size_t d = w->d, ww = w->w;
    for (size_t i = 0; i < b; i++) {
        const double *xi = x + i * d;
        double *u = t->xb + i * ww;
        for (size_t j = 0; j < d; j++) u[j] = xi[j] - w->shift[j];
        if (w->cov == GMM_DIAG)
            for (size_t j = 0; j < d; j++) u[d + j] = u[j] * u[j];
        else if (w->cov == GMM_SPHERICAL) {
            double s = 0;
            for (size_t j = 0; j < d; j++) s += u[j] * u[j];
            u[d] = s;
        }
    }
    if (w->cov == GMM_FULL || w->cov == GMM_TIED)
        for (size_t i = 0; i < b; i++)
            for (size_t j = 0; j < d; j++) t->ut[j * b + i] = t->xb[i * ww + j];
}

/* q (b) <- |column n of z (d, b), minus v (d) when not NULL|^2; the loop
 * runs along the rows of z, so it vectorises and keeps each q_n's order */
static void col_norms(size_t d, size_t b, const double *z, const double *v, double *q)
{
    for (size_t i = 0; i < b; i++) q[i] = 0;
    for (size_t j = 0; j < d; j++) {
        const double *zj = z + j * b;
        double vj = v ? v[j] : 0.0;
        for (size_t i = 0; i < b; i++) {
            double e = zj[i] - vj;
            q[i] += e * e;
        }
    }
}

/* lp (b, k) <- log pi_z + log N(x_n; mu_z, Sigma_z) for the b rows x (b, d)
 * (docs/gmm.md, "The E-step"):
 *     log N = -1/2 [d log 2pi + log|Sigma_z| + q_nz],
 *     q_nz = (x_n - mu_z)^T Sigma_z^-1 (x_n - mu_z) = |L_z^-1 (x_n - mu_z)|^2
 * by a triangular solve on the block (its columns are the rows x_n - mu_z),
 * never an inverse. */
static void block_logdens(const gmm_work *w, gmm_thread *t, const gmm_model *m, const double *x,
                          size_t b)
{
    size_t d = w->d, k = w->k, ww = w->w;
    double *lp = t->lp, *zt = t->zt, *q = t->q;
    (void)x;
    switch (w->cov) {
    case GMM_FULL:
        for (size_t z = 0; z < k; z++) {
            /* Z (d, b) <- U^T - nu_z 1^T, nu_z = mu_z - c: column n is x_n - mu_z */
            for (size_t j = 0; j < d; j++) {
                double nu = m->means[z * d + j] - w->shift[j];
                const double *uj = t->ut + j * b;
                double *zj = zt + j * b;
                for (size_t i = 0; i < b; i++) zj[i] = uj[i] - nu;
            }
            /* Z <- L_z^-1 Z */
            cblas_dtrsm(CblasRowMajor, CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit, (int)d,
                        (int)b, 1.0, w->chol + z * d * d, (int)d, zt, (int)b);
            col_norms(d, b, zt, NULL, q);
            for (size_t i = 0; i < b; i++) lp[i * k + z] = w->lconst[z] - 0.5 * q[i];
        }
        break;
    case GMM_TIED:
        /* one solve for every component: L^-1 (x - mu_z) = L^-1 (x - c) - L^-1 (mu_z - c) */
        memcpy(zt, t->ut, d * b * sizeof *zt);
        cblas_dtrsm(CblasRowMajor, CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit, (int)d,
                    (int)b, 1.0, w->chol, (int)d, zt, (int)b);
        for (size_t z = 0; z < k; z++) {
            col_norms(d, b, zt, w->coef + z * d, q);
            for (size_t i = 0; i < b; i++) lp[i * k + z] = w->lconst[z] - 0.5 * q[i];
        }
        break;
    case GMM_DIAG:
    case GMM_SPHERICAL:
        /* Q (b, k) <- xb coef: every component's quadratic form in one GEMM */
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)b, (int)k, (int)ww, 1.0, t->xb,
                    (int)ww, w->coef, (int)k, 0.0, lp, (int)k);
        for (size_t i = 0; i < b; i++)
            for (size_t z = 0; z < k; z++) {
                double q2 = lp[i * k + z] + w->qc[z];
                lp[i * k + z] = w->lconst[z] - 0.5 * (q2 > 0 ? q2 : 0.0); /* a sum of squares */
            }
        break;
    }
}

/* lp (b, k) <- r_nz = exp(lp_nz - log p(x_n)), log p(x_n) = logsumexp_z lp_nz
 * taken around the largest term (docs/gmm.md, "log-sum-exp"); logp (b) <-
 * log p(x_n) when not NULL.  Returns sum_n log p(x_n). */
static double normalise(size_t b, size_t k, double *lp, double *logp)
{
    double sum = 0;
    for (size_t i = 0; i < b; i++) {
        double *r = lp + i * k, mx = r[0];
        for (size_t z = 1; z < k; z++)
            if (r[z] > mx) mx = r[z];
        double lse;
        if (!isfinite(mx)) {
            /* every density underflows (a row infinitely far from every
             * component): log p = -inf, responsibilities uniform, never NaN */
            for (size_t z = 0; z < k; z++) r[z] = 1.0 / (double)k;
            lse = mx;
        } else {
            double s = 0;
            for (size_t z = 0; z < k; z++) {
                /* lz_vexp clamps at -708: a term that far below the
                 * largest is 0 to the sum's precision either way */
                r[z] = r[z] - mx < -708.0 ? 0.0 : lz_vexp(r[z] - mx);
                s += r[z];
            }
            for (size_t z = 0; z < k; z++) r[z] /= s;
            lse = mx + log(s);
        }
        if (logp) logp[i] = lse;
        sum += lse;
    }
    return sum;
}

/* acc (ns) += the block's sums (docs/gmm.md, "The M-step"):
 *     N_z += sum_n r_nz,  S1_z += sum_n r_nz xb_n  (one GEMM R^T xb),
 *     full: S2_z += sum_n r_nz u_n u_n^T  (dsyrk of the rows sqrt(r_nz) u_n) */
static void accumulate(const gmm_work *w, gmm_thread *t, size_t b, double *acc)
{
    size_t d = w->d, k = w->k, ww = w->w;
    const double *r = t->lp;
    double *nz = acc, *s1 = nz + k, *s2 = s1 + k * ww;
    for (size_t i = 0; i < b; i++)
        for (size_t z = 0; z < k; z++) nz[z] += r[i * k + z];
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)k, (int)ww, (int)b, 1.0, r, (int)k,
                t->xb, (int)ww, 1.0, s1, (int)ww);
    if (w->cov != GMM_FULL) return;
    for (size_t z = 0; z < k; z++) {
        /* the rows with r_nz > 0 (most are exactly 0 once the components
         * separate: their terms would add nothing) */
        double *y = t->y;
        size_t m = 0;
        for (size_t i = 0; i < b; i++) {
            double rz = r[i * k + z];
            if (rz == 0) continue;
            double s = sqrt(rz);
            const double *u = t->xb + i * ww;
            for (size_t j = 0; j < d; j++) y[m * d + j] = s * u[j];
            m++;
        }
        if (m)
            cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)d, (int)m, 1.0, y, (int)d, 1.0,
                        s2 + z * d * d, (int)d);
    }
}

/* ------------------------------------------------------------------ */
/* the pass */

void gmm_estep(gmm_work *w, size_t n, const double *x, const size_t *assign, int stats,
               double *resp, double *logp, double *ll)
{
    size_t d = w->d, k = w->k, b = w->b, cb = w->cb, ns = w->ns;
    size_t nblk = (n + b - 1) / b, nch = (nblk + cb - 1) / cb;
    /* n never exceeds the rows w was allocated for: nch <= w->nch */
#pragma omp parallel for num_threads(w->nthr) schedule(dynamic, 1) if (nch > 1)
    for (size_t ch = 0; ch < nch; ch++) {
        gmm_thread *t = &w->thr[omp_get_thread_num()];
        double *acc = w->part + ch * (ns + 1), part = 0; /* this chunk's slot */
        if (stats) memset(acc, 0, ns * sizeof *acc);
        for (size_t bk = ch * cb; bk < nblk && bk < (ch + 1) * cb; bk++) {
            size_t r0 = bk * b, nb = n - r0 < b ? n - r0 : b;
            const double *xr = x + r0 * d;
            fill_block(w, t, xr, nb);
            if (assign) {
                for (size_t i = 0; i < nb; i++)
                    for (size_t z = 0; z < k; z++) t->lp[i * k + z] = assign[r0 + i] == z;
            } else {
                block_logdens(w, t, w->model, xr, nb);
                part += normalise(nb, k, t->lp, logp ? logp + r0 : NULL);
            }
            if (resp) memcpy(resp + r0 * k, t->lp, nb * k * sizeof *resp);
            if (stats) accumulate(w, t, nb, acc);
        }
        acc[ns] = part;
    }
    /* the chunks' slots added in chunk order */
    double total = 0;
    if (stats) memset(w->stats, 0, ns * sizeof *w->stats);
    for (size_t ch = 0; ch < nch; ch++) {
        const double *acc = w->part + ch * (ns + 1);
        total += acc[ns];
        if (stats)
            for (size_t i = 0; i < ns; i++) w->stats[i] += acc[i];
    }
    if (ll) *ll = total;
}

void gmm_nearest(gmm_work *w, size_t n, const double *z, const double *c, size_t *assign,
                 size_t *changed)
{
    size_t d = w->d, k = w->k, nchanged = 0, nb = (n + NEAREST_ROWS - 1) / NEAREST_ROWS;
    /* |c_j|^2 (|z|^2 is the same for every j and drops out of the argmin) */
    double *cc = w->qc;
    for (size_t j = 0; j < k; j++) {
        double s = 0;
        for (size_t t = 0; t < d; t++) s += c[j * d + t] * c[j * d + t];
        cc[j] = s;
    }
    /* each row on its own: the threads change nothing */
#pragma omp parallel for num_threads(w->nthr) schedule(dynamic, 1) reduction(+ : nchanged) if (nb > 1)
    for (size_t bk = 0; bk < nb; bk++) {
        double *g = w->thr[omp_get_thread_num()].g;
        size_t r0 = bk * NEAREST_ROWS, m = n - r0 < NEAREST_ROWS ? n - r0 : NEAREST_ROWS;
        /* G (m, k) <- Z_b C^T */
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)k, (int)d, 1.0,
                    z + r0 * d, (int)d, c, (int)d, 0.0, g, (int)k);
        for (size_t i = 0; i < m; i++) {
            size_t best = 0;
            double bv = cc[0] - 2.0 * g[i * k];
            for (size_t j = 1; j < k; j++) {
                double v = cc[j] - 2.0 * g[i * k + j];
                if (v < bv) {
                    bv = v;
                    best = j;
                }
            }
            nchanged += assign[r0 + i] != best;
            assign[r0 + i] = best;
        }
    }
    *changed = nchanged;
}

/* ------------------------------------------------------------------ */
/* evaluation */

/* a work for m with its factors; NULL with err set on failure */
static gmm_work *prepared(const gmm_model *m, size_t n, lz_error *err)
{
    gmm_work *w = gmm_work_alloc(m->d, m->k, m->cov, n);
    if (!w) {
        lz_fail(err, LZ_ENOMEM, "out of memory");
        return NULL;
    }
    if (gmm_prepare(w, m, err)) {
        gmm_work_free(w);
        return NULL;
    }
    return w;
}

lz_status gmm_loglik(const gmm_model *m, size_t n, const double *x, double *ll, lz_error *err)
{
    gmm_work *w = prepared(m, n, err);
    if (!w) return err->status;
    double sum = 0;
    gmm_estep(w, n, x, NULL, 0, NULL, NULL, &sum);
    *ll = n ? sum / (double)n : NAN;
    gmm_work_free(w);
    return LZ_OK;
}

lz_status gmm_responsibilities(const gmm_model *m, size_t n, const double *x, double *r,
                               double *logp, lz_error *err)
{
    gmm_work *w = prepared(m, n, err);
    if (!w) return err->status;
    gmm_estep(w, n, x, NULL, 0, r, logp, NULL);
    gmm_work_free(w);
    return LZ_OK;
}

lz_status gmm_sample(const gmm_model *m, gsl_rng *r, size_t n, double *x, size_t *comp,
                     lz_error *err)
{
    size_t d = m->d, k = m->k;
    gmm_work *w = prepared(m, 0, err);
    if (!w) return err->status;
    double *e = w->thr[0].y; /* (d) */
    for (size_t t = 0; t < n; t++) {
        /* z ~ Categorical(pi): the first z whose cumulative weight exceeds u */
        double u = gsl_rng_uniform(r), cum = 0;
        size_t z = 0;
        for (; z + 1 < k; z++) {
            cum += m->weights[z];
            if (u < cum) break;
        }
        comp[t] = z;
        /* x = mu_z + L_z e, e ~ N(0, I) */
        lz_rng_gauss(r, d, e);
        double *xt = x + t * d;
        const double *mu = m->means + z * d;
        if (m->cov == GMM_FULL || m->cov == GMM_TIED) {
            const double *l = w->chol + (m->cov == GMM_FULL ? z * d * d : 0);
            for (size_t i = 0; i < d; i++) {
                double v = 0;
                for (size_t j = 0; j <= i; j++) v += l[i * d + j] * e[j];
                xt[i] = mu[i] + v;
            }
        } else if (m->cov == GMM_DIAG) {
            for (size_t i = 0; i < d; i++) xt[i] = mu[i] + sqrt(m->covs[z * d + i]) * e[i];
        } else {
            double s = sqrt(m->covs[z]);
            for (size_t i = 0; i < d; i++) xt[i] = mu[i] + s * e[i];
        }
    }
    gmm_work_free(w);
    return LZ_OK;
}
