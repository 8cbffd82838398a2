/* gmm_missing.c -- the E-step of the Gaussian mixture on rows with missing
 * values, and scoring and completing such rows (see gmm.h, gmm_impl.h;
 * docs/gmm.md, "Missing values").
 *
 * Each row observes the coordinates o and misses m.  Under component z,
 *     x_o ~ N(mu_o, Sigma_oo),
 *     x_m | x_o ~ N(mu_m + Sigma_mo Sigma_oo^-1 (x_o - mu_o),
 *                   Sigma_mm - Sigma_mo Sigma_oo^-1 Sigma_om)
 * (diag, spherical: mu_m and Sigma_mm).  The responsibilities come from the
 * first, the M-step's sums take the completed rows' expectations from the
 * second.  Rows are grouped by pattern (lz_patterns): a pattern costs one
 * Cholesky factor of Sigma_z,oo a component.  One thread, patterns in
 * order: the sums do not depend on the number of threads.
 *
 * Dimension letters: n samples, d data, k components, q missing columns of
 * a pattern, o = d - q observed ones.  Row-major throughout.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gmm_impl.h"
#include "lz_blas.h" /* before any GSL header */
#include "lz_linalg.h"
#include "lz_prob.h"

lz_status gmm_estep_incomplete(const gmm_model *m, const gmm_rows *rw, gmm_work *w, double *s2,
                               double *resp, double *logp, double *xfill, double *ll, lz_error *err)
{
    size_t d = m->d, k = m->k;
    int full = m->cov == GMM_FULL || m->cov == GMM_TIED, stats = w != NULL;
    size_t ww = m->cov == GMM_DIAG ? 2 * d : m->cov == GMM_SPHERICAL ? d + 1 : d;
    const lz_patterns *pt = rw->pt;
    double *buf =
        malloc((k * d * d + k * d * d + d + d + d + 2 * d + k + 2 * k + 2 * d * d) * sizeof *buf);
    if (!buf) return lz_fail(err, LZ_ENOMEM, "E-step: out of memory");
    double *sig = buf;            /* (k, d, d) Sigma_z as full matrices (full, tied) */
    double *lo = sig + k * d * d; /* (k, o, o) the factors of Sigma_z,oo, a pattern */
    double *c = lo + k * d * d;   /* (d) the shift */
    double *v = c + d;            /* (d) x_o - mu_z,o, then L^-1 of it */
    double *xh = v + d;           /* (d) a completed row */
    double *t = xh + d;           /* (2d) scratch */
    double *lp = t + 2 * d;       /* (k) the row's log pi_z + log N */
    double *ldet = lp + k;        /* (k) log|Sigma_z,oo| */
    double *rsum = ldet + k;      /* (k) sum over the pattern's rows of r_nz */
    double *cc = rsum + k;        /* (d, d) the conditional covariance, q x q */
    double *vm = cc + d * d;      /* (d, d) L^-1 Sigma_om, o x q */
    /* the shift c = sum_z pi_z mu_z (as gmm_prepare's) */
    for (size_t j = 0; j < d; j++) {
        c[j] = 0;
        for (size_t z = 0; z < k; z++) c[j] += m->weights[z] * m->means[z * d + j];
    }
    if (full)
        for (size_t z = 0; z < k; z++) gmm_covariance(m, z, sig + z * d * d);
    double *nz = NULL, *s1 = NULL, *s2f = NULL;
    if (stats) {
        memcpy(w->shift, c, d * sizeof *c);
        memset(w->stats, 0, w->ns * sizeof *w->stats);
        nz = w->stats;
        s1 = nz + k;
        s2f = m->cov == GMM_FULL ? s1 + k * ww : NULL;
    }
    if (s2) memset(s2, 0, d * d * sizeof *s2);
    lz_status st = LZ_OK;
    double total = 0;
    size_t *obs = malloc((d ? d : 1) * sizeof *obs);
    if (!obs) {
        free(buf);
        return lz_fail(err, LZ_ENOMEM, "E-step: out of memory");
    }
    for (size_t p = 0; !st && p < pt->n_pat; p++) {
        const size_t *mis = pt->mis + pt->mis_start[p];
        size_t q = pt->mis_start[p + 1] - pt->mis_start[p], no = 0;
        for (size_t j = 0, u = 0; j < d; j++) {
            if (u < q && mis[u] == j) {
                u++;
                continue;
            }
            obs[no++] = j;
        }
        /* each component's Sigma_oo = L L^T and log|Sigma_oo| */
        for (size_t z = 0; z < k; z++) {
            if (full) {
                const double *sz = sig + z * d * d;
                double *l = lo + z * no * no;
                for (size_t a = 0; a < no; a++)
                    for (size_t b = 0; b < no; b++) l[a * no + b] = sz[obs[a] * d + obs[b]];
                if ((st = lz_chol(no, l, err))) {
                    lz_fail(err, st, "component %zu: Sigma_oo is not positive definite", z + 1);
                    break;
                }
                ldet[z] = lz_chol_logdet(no, l);
            } else {
                double s = 0;
                for (size_t a = 0; a < no; a++)
                    s += log(m->cov == GMM_DIAG ? m->covs[z * d + obs[a]] : m->covs[z]);
                ldet[z] = s;
            }
            rsum[z] = 0;
        }
        if (st) break;
        for (size_t tt = pt->pat_start[p]; tt < pt->pat_start[p + 1]; tt++) {
            size_t row = pt->rows[tt];
            const double *x = rw->x + row * d;
            /* log pi_z + log N(x_o; mu_z,o, Sigma_z,oo) */
            for (size_t z = 0; z < k; z++) {
                const double *mu = m->means + z * d;
                double qf = 0;
                for (size_t a = 0; a < no; a++) v[a] = x[obs[a]] - mu[obs[a]];
                if (full) {
                    cblas_dtrsv(CblasRowMajor, CblasLower, CblasNoTrans, CblasNonUnit, (int)no,
                                lo + z * no * no, (int)no, v, 1);
                    for (size_t a = 0; a < no; a++) qf += v[a] * v[a];
                } else
                    for (size_t a = 0; a < no; a++)
                        qf += v[a] * v[a] /
                              (m->cov == GMM_DIAG ? m->covs[z * d + obs[a]] : m->covs[z]);
                lp[z] = log(m->weights[z]) - 0.5 * ((double)no * LZ_LOG_2PI + ldet[z] + qf);
            }
            /* r_nz and log p(x_o) around the largest term (as normalise) */
            double mx = lp[0], sum = 0;
            for (size_t z = 1; z < k; z++) mx = lp[z] > mx ? lp[z] : mx;
            double lse;
            if (!isfinite(mx)) {
                for (size_t z = 0; z < k; z++) lp[z] = 1.0 / (double)k;
                lse = mx;
            } else {
                for (size_t z = 0; z < k; z++) {
                    lp[z] = lp[z] - mx < -708.0 ? 0.0 : exp(lp[z] - mx);
                    sum += lp[z];
                }
                for (size_t z = 0; z < k; z++) lp[z] /= sum;
                lse = mx + log(sum);
            }
            total += lse;
            if (logp) logp[row] = lse;
            if (resp) memcpy(resp + row * k, lp, k * sizeof *resp);
            if (!stats && !s2 && !xfill) continue;
            if (xfill)
                for (size_t u = 0; u < q; u++) xfill[row * d + mis[u]] = 0.0;
            for (size_t z = 0; z < k; z++) {
                double r = lp[z];
                const double *mu = m->means + z * d;
                /* the completed row: x observed, mu_m + Sigma_mo Sigma_oo^-1 (x_o - mu_o) */
                for (size_t j = 0; j < d; j++) xh[j] = x[j];
                if (full && q) {
                    const double *sz = sig + z * d * d, *l = lo + z * no * no;
                    for (size_t a = 0; a < no; a++) v[a] = x[obs[a]] - mu[obs[a]];
                    /* t = Sigma_oo^-1 (x_o - mu_o), then Sigma_mo t */
                    cblas_dtrsv(CblasRowMajor, CblasLower, CblasNoTrans, CblasNonUnit, (int)no, l,
                                (int)no, v, 1);
                    cblas_dtrsv(CblasRowMajor, CblasLower, CblasTrans, CblasNonUnit, (int)no, l,
                                (int)no, v, 1);
                    for (size_t u = 0; u < q; u++) {
                        double e = mu[mis[u]];
                        for (size_t a = 0; a < no; a++) e += sz[mis[u] * d + obs[a]] * v[a];
                        xh[mis[u]] = e;
                    }
                } else
                    for (size_t u = 0; u < q; u++) xh[mis[u]] = mu[mis[u]];
                if (xfill)
                    for (size_t u = 0; u < q; u++) xfill[row * d + mis[u]] += r * xh[mis[u]];
                if (!stats && !s2) continue;
                rsum[z] += r;
                if (r == 0) continue;
                /* u = xh - c: N_z, S1_z, and the squares */
                for (size_t j = 0; j < d; j++) t[j] = xh[j] - c[j];
                if (stats) {
                    nz[z] += r;
                    double *sz1 = s1 + z * ww;
                    for (size_t j = 0; j < d; j++) sz1[j] += r * t[j];
                    if (m->cov == GMM_DIAG)
                        for (size_t j = 0; j < d; j++) sz1[d + j] += r * t[j] * t[j];
                    else if (m->cov == GMM_SPHERICAL) {
                        double s = 0;
                        for (size_t j = 0; j < d; j++) s += t[j] * t[j];
                        sz1[d] += r * s;
                    } else if (s2f)
                        cblas_dsyr(CblasRowMajor, CblasUpper, (int)d, r, t, 1, s2f + z * d * d,
                                   (int)d);
                }
                if (s2) cblas_dsyr(CblasRowMajor, CblasUpper, (int)d, r, t, 1, s2, (int)d);
            }
        }
        if ((!stats && !s2) || !q) continue;
        /* the conditional covariances, once a pattern and component, weighted
         * by sum_n r_nz over its rows: Sigma_mm - Sigma_mo Sigma_oo^-1 Sigma_om
         * (diag, spherical: Sigma_mm) */
        for (size_t z = 0; z < k; z++) {
            if (rsum[z] == 0) continue;
            if (!full) {
                double *sz1 = s1 + z * ww;
                for (size_t u = 0; u < q; u++) {
                    size_t j = mis[u];
                    if (m->cov == GMM_DIAG)
                        sz1[d + j] += rsum[z] * m->covs[z * d + j];
                    else
                        sz1[d] += rsum[z] * m->covs[z];
                }
                continue;
            }
            const double *sz = sig + z * d * d, *l = lo + z * no * no;
            /* vm (o, q) <- L^-1 Sigma_om;  C (q, q) = Sigma_mm - vm^T vm */
            double *vv = cc;
            for (size_t a = 0; a < no; a++)
                for (size_t u = 0; u < q; u++) vm[a * q + u] = sz[obs[a] * d + mis[u]];
            if (no)
                cblas_dtrsm(CblasRowMajor, CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit,
                            (int)no, (int)q, 1.0, l, (int)no, vm, (int)q);
            for (size_t u = 0; u < q; u++)
                for (size_t u2 = 0; u2 < q; u2++) vv[u * q + u2] = sz[mis[u] * d + mis[u2]];
            if (no)
                cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)q, (int)no, -1.0, vm,
                            (int)q, 1.0, vv, (int)q);
            double *dst[2] = {s2f ? s2f + z * d * d : NULL, s2};
            for (int e = 0; e < 2; e++) {
                if (!dst[e]) continue;
                for (size_t u = 0; u < q; u++)
                    for (size_t u2 = u; u2 < q; u2++) {
                        size_t i = mis[u], j = mis[u2]; /* i <= j: the upper triangle */
                        dst[e][i * d + j] += rsum[z] * vv[u * q + u2];
                    }
            }
        }
    }
    if (s2) lz_sym_from_upper(d, s2);
    if (!st && ll) *ll = total;
    free(obs);
    free(buf);
    return st;
}

lz_status gmm_score_incomplete(const gmm_model *m, const lz_data *data, double *ll, double *resp,
                               double *logp, double *xfill, lz_error *err)
{
    lz_patterns *pt = lz_patterns_make(data);
    if (!pt) return lz_fail(err, LZ_ENOMEM, "out of memory");
    gmm_rows rw = {data->n, data->x, data->miss, pt};
    double sum = 0;
    lz_status st = gmm_estep_incomplete(m, &rw, NULL, NULL, resp, logp, xfill, &sum, err);
    if (!st && ll) *ll = data->n ? sum / (double)data->n : NAN;
    lz_patterns_free(pt);
    return st;
}
