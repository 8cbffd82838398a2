/* gmm.c -- the Gaussian mixture by EM: configuration, parameters, the floor
 * on Sigma, the M-step, initialisation, the fit, model files (see gmm.h;
 * the E-step is in gmm_eval.c).
 *
 * Dimension letters: n samples, d data, k components.  Row-major.
 */
#include "gmm.h"

#include <float.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lapacke.h>

#include "gmm_impl.h"
#include "lz_blas.h" /* before any GSL header */
#include "lz_linalg.h"
#include "lz_prob.h"
#include "lz_model.h"

/* ------------------------------------------------------------------ */
/* configuration */

static const char *const COV_NAME[] = {"full", "diag", "spherical", "tied"};

const char *gmm_cov_name(int cov) { return cov >= 0 && cov <= GMM_TIED ? COV_NAME[cov] : "?"; }

int gmm_cov_parse(const char *s)
{
    for (int i = 0; i <= GMM_TIED; i++)
        if (!strcmp(s, COV_NAME[i])) return i;
    return -1;
}

void gmm_config_default(gmm_config *c)
{
    memset(c, 0, sizeof *c);
    c->k = 3;
    c->cov = GMM_FULL;
    c->init = GMM_INIT_KMEANSPP;
    c->n_init = 1;
    c->accelerate = 1;
    c->reg = 1e-6;
    c->tol = 1e-6;
    c->max_iter = 1000;
    c->seed = 1;
}

lz_status gmm_config_check(const gmm_config *c, size_t n, size_t d, lz_error *err)
{
    if (c->k < 1) return lz_fail(err, LZ_EINVAL, "-K %d: expected at least 1 component", c->k);
    if (n && (size_t)c->k > n)
        return lz_fail(err, LZ_EINVAL, "-K %d: expected 1 <= K <= n = %zu training rows", c->k, n);
    if (c->cov < GMM_FULL || c->cov > GMM_TIED)
        return lz_fail(err, LZ_EINVAL, "--cov: expected full, diag, spherical or tied");
    if (c->init < GMM_INIT_KMEANSPP || c->init > GMM_INIT_FILE)
        return lz_fail(err, LZ_EINVAL, "--init: expected kmeans++, random or file:PATH");
    if (c->n_init < 1 || c->n_init > 10000)
        return lz_fail(err, LZ_EINVAL, "--n-init %d: expected 1 <= R <= 10000", c->n_init);
    if (c->init == GMM_INIT_FILE && c->n_init != 1)
        return lz_fail(err, LZ_EINVAL, "--n-init %d: a start from a file is one start: expected 1",
                       c->n_init);
    if (!(c->reg >= GMM_REG_MIN) || !(c->reg < 1))
        return lz_fail(err, LZ_EINVAL,
                       "--reg %.15g: expected a fraction %g <= V < 1 of each coordinate's variance",
                       c->reg, GMM_REG_MIN);
    if (!(c->tol >= 0) || !isfinite(c->tol))
        return lz_fail(err, LZ_EINVAL, "--tol %.15g: expected a tolerance >= 0", c->tol);
    if (c->max_iter < 0)
        return lz_fail(err, LZ_EINVAL, "--max-iter %d: expected >= 0", c->max_iter);
    (void)d;
    return LZ_OK;
}

/* ------------------------------------------------------------------ */
/* parameters */

size_t gmm_cov_size(size_t d, size_t k, int cov)
{
    switch (cov) {
    case GMM_FULL: return k * d * d;
    case GMM_DIAG: return k * d;
    case GMM_SPHERICAL: return k;
    default: return d * d;
    }
}

/* doubles of a model: weights, means, covs, floor, count */
static size_t model_size(size_t d, size_t k, int cov)
{
    return k + k * d + gmm_cov_size(d, k, cov) + d + k;
}

gmm_model *gmm_model_alloc(size_t d, size_t k, int cov)
{
    gmm_model *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->d = d;
    m->k = k;
    m->cov = cov;
    m->block = calloc(model_size(d, k, cov), sizeof *m->block);
    m->state = calloc(k ? k : 1, sizeof *m->state);
    if (!m->block || !m->state) {
        gmm_model_free(m);
        return NULL;
    }
    m->weights = m->block;
    m->means = m->weights + k;
    m->covs = m->means + k * d;
    m->floor = m->covs + gmm_cov_size(d, k, cov);
    m->count = m->floor + d;
    return m;
}

void gmm_model_free(gmm_model *m)
{
    if (!m) return;
    free(m->block);
    free(m->state);
    free(m);
}

void gmm_model_copy(gmm_model *dst, const gmm_model *src)
{
    memcpy(dst->block, src->block, model_size(src->d, src->k, src->cov) * sizeof *dst->block);
    memcpy(dst->state, src->state, src->k * sizeof *dst->state);
}

void gmm_covariance(const gmm_model *m, size_t z, double *s)
{
    size_t d = m->d;
    switch (m->cov) {
    case GMM_FULL: memcpy(s, m->covs + z * d * d, d * d * sizeof *s); return;
    case GMM_TIED: memcpy(s, m->covs, d * d * sizeof *s); return;
    default:
        memset(s, 0, d * d * sizeof *s);
        for (size_t i = 0; i < d; i++)
            s[i * d + i] = m->cov == GMM_DIAG ? m->covs[z * d + i] : m->covs[z];
    }
}

size_t gmm_n_params(const gmm_model *m)
{
    size_t d = m->d, k = m->k, c;
    switch (m->cov) {
    case GMM_FULL: c = k * d * (d + 1) / 2; break;
    case GMM_DIAG: c = k * d; break;
    case GMM_SPHERICAL: c = k; break;
    default: c = d * (d + 1) / 2;
    }
    return (k - 1) + k * d + c;
}

double gmm_bic(const gmm_model *m, size_t n, double ll)
{
    /* BIC = -2 log L + p log n, log L = n ll  (docs/gmm.md, "BIC and AIC") */
    return -2.0 * (double)n * ll + (double)gmm_n_params(m) * log((double)n);
}

double gmm_aic(const gmm_model *m, size_t n, double ll)
{
    /* AIC = -2 log L + 2 p */
    return -2.0 * (double)n * ll + 2.0 * (double)gmm_n_params(m);
}

size_t gmm_n_collapsed(const gmm_model *m)
{
    size_t c = 0;
    for (size_t z = 0; z < m->k; z++) c += m->state[z] != GMM_LIVE;
    return c;
}

/* "On the floor": within this relative distance of it (floor_full raises
 * an eigenvalue to exactly 1, recomputed here to within rounding). */
#define GMM_ON_FLOOR_RTOL 1e-6

lz_status gmm_on_floor(const gmm_model *m, size_t z, size_t *n_dirs, unsigned char *col,
                       lz_error *err)
{
    size_t d = m->d, nd = 0;
    int eig = m->cov == GMM_FULL || m->cov == GMM_TIED;
    double *s = NULL; /* (d, d) Sigma_z; full and tied: then v (d, d) and ev (d) */
    if (eig || col) {
        if (!(s = malloc((eig ? 2 * d * d + d : d * d) * sizeof *s)))
            return lz_fail(err, LZ_ENOMEM, "out of memory");
        gmm_covariance(m, m->cov == GMM_TIED ? 0 : z, s);
    }
    if (eig) {
        /* F^-1/2 Sigma F^-1/2, its eigenvalues */
        double *v = s + d * d, *ev = v + d * d;
        for (size_t i = 0; i < d; i++)
            for (size_t j = 0; j < d; j++)
                v[i * d + j] = s[i * d + j] / (sqrt(m->floor[i]) * sqrt(m->floor[j]));
        lz_status st = lz_eigh(d, v, ev, v, err);
        if (st) {
            free(s);
            return st;
        }
        for (size_t t = 0; t < d; t++) nd += !(ev[t] > 1.0 + GMM_ON_FLOOR_RTOL);
    } else if (m->cov == GMM_DIAG) {
        for (size_t j = 0; j < d; j++)
            nd += !(m->covs[z * d + j] > m->floor[j] * (1.0 + GMM_ON_FLOOR_RTOL));
    } else {
        nd = m->covs[z] > m->floor[0] * (1.0 + GMM_ON_FLOOR_RTOL) ? 0 : d;
    }
    for (size_t j = 0; col && j < d; j++)
        col[j] = !(s[j * d + j] > m->floor[j] * (1.0 + GMM_ON_FLOOR_RTOL));
    free(s);
    *n_dirs = nd;
    return LZ_OK;
}

double gmm_min_weight(const gmm_model *m)
{
    double w = m->weights[0];
    for (size_t z = 1; z < m->k; z++) w = fmin(w, m->weights[z]);
    return w;
}

/* ------------------------------------------------------------------ */
/* the floor on Sigma */

lz_status gmm_set_floor(double reg, int cov, size_t d, const double *mu, const double *var,
                        double *floor, lz_error *err)
{
    size_t n_var = 0;
    double mean_var = 0;
    for (size_t i = 0; i < d; i++) {
        if (!isfinite(var[i]))
            return lz_fail(err, LZ_ENUMERIC, "the variance of column %zu is not finite", i + 1);
        n_var += var[i] > 0;
        mean_var += var[i] / (double)d;
    }
    if (!n_var)
        return lz_fail(err, LZ_EINVAL, "every column is constant: expected some variance to model");
    /* floor_i = reg var_i; a constant coordinate has no variance to measure
     * its unit by: reg mu_i^2, or reg when it is always 0; spherical: reg
     * times the mean variance (docs/gmm.md, "The floor on Sigma") */
    for (size_t i = 0; i < d; i++) {
        double u = mu[i] * mu[i];
        floor[i] = cov == GMM_SPHERICAL ? reg * mean_var
                                        : reg * (var[i] > 0 ? var[i]
                                                 : u > 0    ? u
                                                            : 1.0);
    }
    return LZ_OK;
}

/* What the M-step needs beside the E-step's sums: the data's moments, the
 * tied model's data covariance, and scratch for the floor.  Allocated once
 * a fit. */
typedef struct {
    size_t n, d;
    const double *mu;  /* (d) the data's column means (incomplete rows: the
                          E-step's shift, for the tied Sigma below) */
    const double *var; /* (d) and variances */
    double *sbar;      /* (d, d) tied: (1/n) sum_n (x_n - mu)(x_n - mu)^T (incomplete
                          rows: its expectation given the observed values,
                          set by each E-step) */
    double *a;         /* (d, d) scratch */
    double *v;         /* (d, d) eigenvectors */
    double *ev;        /* (d) eigenvalues */
    double *work;      /* dsyevd workspace */
    lapack_int *iwork;
    lapack_int lwork, liwork;
    double *mem;
} fitctx;

static void fitctx_free(fitctx *f)
{
    free(f->mem);
    free(f->iwork);
    memset(f, 0, sizeof *f);
}

static lz_status fitctx_init(fitctx *f, size_t n, size_t d, int cov, const double *x,
                             const double *mu, const double *var, lz_error *err)
{
    memset(f, 0, sizeof *f);
    f->n = n;
    f->d = d;
    f->mu = mu;
    f->var = var;
    f->lwork = (lapack_int)(1 + 6 * d + 2 * d * d);
    f->liwork = (lapack_int)(3 + 5 * d);
    f->mem = malloc((3 * d * d + d + (size_t)f->lwork) * sizeof *f->mem);
    f->iwork = malloc((size_t)f->liwork * sizeof *f->iwork);
    if (!f->mem || !f->iwork) {
        fitctx_free(f);
        return lz_fail(err, LZ_ENOMEM, "out of memory");
    }
    f->sbar = f->mem;
    f->a = f->sbar + d * d;
    f->v = f->a + d * d;
    f->ev = f->v + d * d;
    f->work = f->ev + d;
    if (cov == GMM_TIED) {
        lz_status st = lz_covariance(n, d, x, mu, f->sbar, err);
        if (st) {
            fitctx_free(f);
            return st;
        }
    }
    return LZ_OK;
}

/* The floor on a full Sigma (docs/gmm.md, "The floor on Sigma"): s (d, d)
 * symmetric <- argmax over Sigma >= F = diag(floor) of
 *     -1/2 [log|Sigma| + tr(Sigma^-1 S)],
 * which is S itself when S - F is positive definite, else
 *     Sigma = F^1/2 V max(Lambda, 1) V^T F^1/2,  F^-1/2 S F^-1/2 = V Lambda V^T:
 * the eigenvalues of S in F-whitened coordinates raised to 1.  Returns how
 * many directions were raised (d: on the floor in every direction). */
static size_t floor_full(fitctx *f, const double *floor, double *s)
{
    size_t d = f->d;
    lz_error e;
    memcpy(f->a, s, d * d * sizeof *f->a);
    for (size_t i = 0; i < d; i++) f->a[i * d + i] -= floor[i];
    if (lz_chol(d, f->a, &e) == LZ_OK) return 0; /* S - F > 0: S is the maximiser */
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j < d; j++)
            f->v[i * d + j] = s[i * d + j] / (sqrt(floor[i]) * sqrt(floor[j]));
    /* symmetric: row-major and column-major are the same matrix; eigenvalues
     * ascending, eigenvector t in column t (f->v[i * d + t] in row-major) */
    LZ_FPE_HOLD(fe1);
    lapack_int info =
        LAPACKE_dsyevd_work(LAPACK_ROW_MAJOR, 'V', 'U', (lapack_int)d, f->v, (lapack_int)d, f->ev,
                            f->work, f->lwork, f->iwork, f->liwork);
    LZ_FPE_RELEASE(fe1);
    size_t raised = 0;
    if (info != 0) {
        /* no eigendecomposition (never seen): fall back to the floor itself,
         * still a feasible Sigma */
        memset(s, 0, d * d * sizeof *s);
        for (size_t i = 0; i < d; i++) s[i * d + i] = floor[i];
        return d;
    }
    for (size_t t = 0; t < d; t++) {
        double l = f->ev[t];
        if (!(l > 1.0)) raised++;
        double sc = sqrt(l > 1.0 ? l : 1.0);
        for (size_t i = 0; i < d; i++) f->v[i * d + t] *= sc;
    }
    /* A <- W W^T with W = V max(Lambda, 1)^1/2, then Sigma = F^1/2 A F^1/2 */
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, (int)d, (int)d, 1.0, f->v, (int)d, 0.0,
                f->a, (int)d);
    for (size_t i = 0; i < d; i++)
        for (size_t j = i; j < d; j++)
            s[i * d + j] = s[j * d + i] = sqrt(floor[i]) * f->a[i * d + j] * sqrt(floor[j]);
    return raised;
}

/* ------------------------------------------------------------------ */
/* the M-step */

/* Parameters from the sums of the E-step in w (docs/gmm.md, "The M-step"),
 * in the frame of w's shift c, with m_z = S1_z / N_z:
 *     pi_z = N_z / n,   mu_z = c + m_z,
 *     full:      Sigma_z = S2_z / N_z - m_z m_z^T,
 *     diag:      s_zj = S1_z,d+j / N_z - m_zj^2,
 *     spherical: s_z = (S1_z,d / N_z - |m_z|^2) / d,
 *     tied:      Sigma = Sbar - sum_z (N_z / n)(mu_z - mean)(mu_z - mean)^T,
 * each raised to the floor (floor_full: the exact constrained maximiser, so
 * EM stays monotone).  A component with N_z below n eps (its weight is
 * below the rounding of the weights' sum) keeps its mean, covariance and
 * weight, and the other weights share the rest: a generalised EM step, still
 * monotone (docs/gmm.md, "Collapse").
 * init: the sums are those of a hard partition (gmm_init): an empty part
 * counts as one row in the weights, a part of fewer than two rows takes the
 * data's variances, an empty part keeps the mean m holds. */
static void mstep(gmm_model *m, const gmm_work *w, fitctx *f, int init)
{
    size_t d = m->d, k = m->k, ww = w->w;
    const double *nz = w->stats, *s1 = nz + k, *s2 = s1 + k * ww, *c = w->shift;
    double n = (double)f->n, frozen = n * DBL_EPSILON;
    /* weights */
    double p_frozen = 0, n_live = 0, tot = 0;
    for (size_t z = 0; z < k; z++) {
        if (!init && nz[z] < frozen)
            p_frozen += m->weights[z];
        else
            n_live += nz[z];
        tot += fmax(nz[z], 1.0);
    }
    for (size_t z = 0; z < k; z++) {
        m->count[z] = nz[z];
        if (init)
            m->weights[z] = fmax(nz[z], 1.0) / tot;
        else if (nz[z] >= frozen)
            m->weights[z] = (1.0 - p_frozen) * nz[z] / n_live;
    }
    /* means and covariances */
    for (size_t z = 0; z < k; z++) {
        double nk = nz[z];
        if (!init && nk < frozen) {
            m->state[z] = GMM_FADED; /* kept as it was */
            continue;
        }
        double *mu = m->means + z * d;
        const double *sz = s1 + z * ww;
        if (nk > 0)
            for (size_t j = 0; j < d; j++) mu[j] = c[j] + sz[j] / nk;
        int small = init && nk < 2; /* no spread to measure: the data's variances */
        size_t raised = 0;
        switch (m->cov) {
        case GMM_FULL: {
            double *sg = m->covs + z * d * d;
            const double *q = s2 + z * d * d;
            for (size_t i = 0; i < d; i++)
                for (size_t j = i; j < d; j++) {
                    double v = small ? (i == j ? f->var[i] : 0.0)
                                     : q[i * d + j] / nk - (sz[i] / nk) * (sz[j] / nk);
                    sg[i * d + j] = sg[j * d + i] = v;
                }
            raised = floor_full(f, m->floor, sg);
            break;
        }
        case GMM_DIAG:
            for (size_t j = 0; j < d; j++) {
                double mj = sz[j] / nk;
                double v = small ? f->var[j] : sz[d + j] / nk - mj * mj;
                raised += !(v > m->floor[j]);
                m->covs[z * d + j] = fmax(v, m->floor[j]);
            }
            break;
        case GMM_SPHERICAL: {
            double v = 0;
            if (small)
                for (size_t j = 0; j < d; j++) v += f->var[j] / (double)d;
            else {
                double mm = 0;
                for (size_t j = 0; j < d; j++) mm += (sz[j] / nk) * (sz[j] / nk);
                v = (sz[d] / nk - mm) / (double)d;
            }
            raised = !(v > m->floor[0]) ? d : 0;
            m->covs[z] = fmax(v, m->floor[0]);
            break;
        }
        default: break; /* tied: below */
        }
        m->state[z] = raised == d ? GMM_ON_POINT : nk < 1 ? GMM_FADED : GMM_LIVE;
    }
    if (m->cov == GMM_TIED) {
        /* Sigma = (1/n) sum_n sum_z r_nz (x_n - mu_z)(x_n - mu_z)^T
         *       = Sbar - sum_z (N_z / n)(mu_z - mean)(mu_z - mean)^T
         * (sum_z r_nz = 1 and sum_n r_nz x_n = N_z mu_z) */
        double *sg = m->covs;
        memcpy(sg, f->sbar, d * d * sizeof *sg);
        for (size_t z = 0; z < k; z++) {
            double a = nz[z] / n;
            const double *mu = m->means + z * d;
            for (size_t i = 0; i < d; i++)
                for (size_t j = i; j < d; j++) {
                    double v = sg[i * d + j] - a * (mu[i] - f->mu[i]) * (mu[j] - f->mu[j]);
                    sg[i * d + j] = sg[j * d + i] = v;
                }
        }
        floor_full(f, m->floor, sg);
    }
}

/* ------------------------------------------------------------------ */
/* initialisation */

/* 0-based row drawn with probability proportional to p (n) >= 0; uniform
 * when every p is 0 */
static size_t draw_weighted(gsl_rng *r, size_t n, const double *p)
{
    double tot = 0;
    for (size_t i = 0; i < n; i++) tot += p[i];
    if (!(tot > 0)) return (size_t)gsl_rng_uniform_int(r, n);
    double u = gsl_rng_uniform(r) * tot, cum = 0;
    size_t last = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] <= 0) continue;
        cum += p[i];
        last = i;
        if (u < cum) return i;
    }
    return last;
}

/* d2 (n) <- min(d2, |z_n - c|^2) for the rows of z (n, d) */
static void update_d2(size_t n, size_t d, const double *z, const double *c, double *d2, int first)
{
#pragma omp parallel for schedule(dynamic, 512) if (n > 4096)
    for (size_t i = 0; i < n; i++) {
        double s = 0;
#pragma omp simd reduction(+ : s)
        for (size_t j = 0; j < d; j++) {
            double e = z[i * d + j] - c[j];
            s += e * e;
        }
        d2[i] = first || s < d2[i] ? s : d2[i];
    }
}

/* One start's initial parameters into m (its floor set); f from fitctx_init,
 * w a work for m's shape. */
static lz_status init_start(const gmm_config *cf, size_t n, const double *x, fitctx *f, gsl_rng *r,
                            gmm_model *m, gmm_work *w, lz_error *err)
{
    size_t d = m->d, k = m->k;
    double *zs = calloc(n * d, sizeof *zs);     /* (n, d) standardised rows */
    double *cen = calloc(k * d, sizeof *cen);   /* (k, d) centres */
    double *sum = malloc(k * d * sizeof *sum);  /* (k, d) sums of the parts */
    double *d2 = malloc(n * sizeof *d2);        /* (n) */
    double *sd = malloc(d * sizeof *sd);        /* (d) */
    size_t *assign = calloc(n, sizeof *assign); /* (n) */
    size_t *idx = malloc(n * sizeof *idx);      /* (n) */
    lz_status st = LZ_OK;
    if (!zs || !cen || !sum || !d2 || !sd || !assign || !idx) {
        st = lz_fail(err, LZ_ENOMEM, "initialisation: out of memory");
        goto done;
    }
    /* standardised coordinates (x_i - mean_i) / sd_i (sd 1 for a constant
     * column): a rescaled column gives the same centres and partition */
    for (size_t j = 0; j < d; j++) sd[j] = f->var[j] > 0 ? sqrt(f->var[j]) : 1.0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++) zs[i * d + j] = (x[i * d + j] - f->mu[j]) / sd[j];
    int lloyd = 0;
    if (cf->init == GMM_INIT_FILE) {
        for (size_t z = 0; z < k; z++)
            for (size_t j = 0; j < d; j++)
                cen[z * d + j] = (cf->init_means[z * d + j] - f->mu[j]) / sd[j];
    } else if (cf->init == GMM_INIT_RANDOM) {
        /* k distinct rows, uniformly */
        lz_rng_perm(r, n, idx);
        for (size_t z = 0; z < k; z++) memcpy(cen + z * d, zs + idx[z] * d, d * sizeof *cen);
    } else {
        /* k-means++ (Arthur & Vassilvitskii 2007): the first centre uniform,
         * each next one a row drawn with probability ~ D(x)^2, its squared
         * distance to the nearest centre chosen so far */
        size_t i0 = (size_t)gsl_rng_uniform_int(r, n);
        memcpy(cen, zs + i0 * d, d * sizeof *cen);
        update_d2(n, d, zs, cen, d2, 1);
        for (size_t z = 1; z < k; z++) {
            size_t i = draw_weighted(r, n, d2);
            memcpy(cen + z * d, zs + i * d, d * sizeof *cen);
            update_d2(n, d, zs, cen + z * d, d2, 0);
        }
        lloyd = GMM_LLOYD_STEPS;
    }
    /* the partition by the nearest centre, then Lloyd steps: each centre
     * <- the mean of its part (an empty part keeps its centre) */
    size_t changed;
    for (size_t i = 0; i < n; i++) assign[i] = k; /* none yet */
    gmm_nearest(w, n, zs, cen, assign, &changed);
    for (int step = 0; step < lloyd && changed; step++) {
        memset(d2, 0, k * sizeof *d2); /* d2[z] <- rows in part z */
        memset(sum, 0, k * d * sizeof *sum);
        for (size_t i = 0; i < n; i++) {
            size_t z = assign[i];
            d2[z] += 1;
            for (size_t j = 0; j < d; j++) sum[z * d + j] += zs[i * d + j];
        }
        for (size_t z = 0; z < k; z++)
            if (d2[z] > 0) /* an empty part keeps its centre */
                for (size_t j = 0; j < d; j++) cen[z * d + j] = sum[z * d + j] / d2[z];
        gmm_nearest(w, n, zs, cen, assign, &changed);
    }
    /* the centres in the data's units (an empty part keeps its mean) */
    for (size_t z = 0; z < k; z++)
        for (size_t j = 0; j < d; j++) m->means[z * d + j] = f->mu[j] + sd[j] * cen[z * d + j];
    /* one M-step from the hard partition, summed about the data mean */
    memcpy(w->shift, f->mu, d * sizeof *w->shift);
    gmm_estep(w, n, x, assign, 1, NULL, NULL, NULL);
    mstep(m, w, f, 1);
    if (cf->init == GMM_INIT_FILE) memcpy(m->means, cf->init_means, k * d * sizeof *m->means);
done:
    free(zs);
    free(cen);
    free(sum);
    free(d2);
    free(sd);
    free(assign);
    free(idx);
    return st;
}

/* the column moments of x (n, d) with lz_data_moments' rules (rounding-level
 * variance is 0; values too large for a variance are an error) */
static lz_status moments(size_t n, size_t d, const double *x, double *mu, double *var,
                         lz_error *err)
{
    lz_data tmp;
    memset(&tmp, 0, sizeof tmp);
    tmp.n = n;
    tmp.d = d;
    tmp.x = (double *)x;
    tmp.path = (char *)"data";
    tmp.label_field = -1;
    return lz_data_moments(&tmp, mu, var, NULL, err);
}

lz_status gmm_init(const gmm_config *c, size_t n, const double *x, const double *mu,
                   const double *var, gsl_rng *r, gmm_model *m, lz_error *err)
{
    fitctx f;
    lz_status st = gmm_config_check(c, n, m->d, err);
    if (st) return st;
    if (c->init == GMM_INIT_FILE && !c->init_means)
        return lz_fail(err, LZ_EINVAL, "--init file: no means given");
    if ((st = fitctx_init(&f, n, m->d, m->cov, x, mu, var, err))) return st;
    gmm_work *w = gmm_work_alloc(m->d, m->k, m->cov, n);
    if (!w)
        st = lz_fail(err, LZ_ENOMEM, "out of memory");
    else
        st = init_start(c, n, x, &f, r, m, w, err);
    gmm_work_free(w);
    fitctx_free(&f);
    return st;
}

/* ------------------------------------------------------------------ */
/* the fit */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void gmm_set_threads(int n)
{
    lz_set_threads(1);
    omp_set_num_threads(n > 0 ? n : omp_get_num_procs());
}

int gmm_threads(void) { return omp_get_max_threads(); }

/* The parameters as one vector for SQUAREM: weights | means | covs are
 * contiguous in m->block.  sc (np) <- the scale of each entry, from the
 * floor (a fraction of each coordinate's variance): means 1/sqrt(floor_j),
 * covariances 1/(sqrt(floor_i) sqrt(floor_j)), weights 1; so the step
 * length does not depend on the units of the data.  Each entry is scaled
 * before it is squared: a covariance of a column in units of 1e100 squared
 * would leave the doubles.  Returns np. */
static size_t param_scale(const gmm_model *m, double *sc)
{
    size_t d = m->d, k = m->k, p = 0;
    const double *f = m->floor;
    for (size_t z = 0; z < k; z++) sc[p++] = 1.0;
    for (size_t z = 0; z < k; z++)
        for (size_t j = 0; j < d; j++) sc[p++] = 1.0 / sqrt(f[j]);
    switch (m->cov) {
    case GMM_FULL:
    case GMM_TIED:
        for (size_t z = 0; z < (m->cov == GMM_FULL ? k : 1); z++)
            for (size_t i = 0; i < d; i++)
                for (size_t j = 0; j < d; j++) sc[p++] = 1.0 / (sqrt(f[i]) * sqrt(f[j]));
        break;
    case GMM_DIAG:
        for (size_t z = 0; z < k; z++)
            for (size_t j = 0; j < d; j++) sc[p++] = 1.0 / f[j];
        break;
    default:
        for (size_t z = 0; z < k; z++) sc[p++] = 1.0 / f[0];
    }
    return p;
}

/* An extrapolated point made a valid one: weights at least DBL_MIN and
 * summing to 1, every Sigma_z symmetric and above the floor (floor_full
 * raises the eigenvalues below it, negative ones included). */
static void repair(gmm_model *m, fitctx *f)
{
    size_t d = m->d, k = m->k;
    double sum = 0;
    for (size_t z = 0; z < k; z++) sum += m->weights[z] = fmax(m->weights[z], DBL_MIN);
    for (size_t z = 0; z < k; z++) m->weights[z] /= sum;
    if (m->cov == GMM_FULL || m->cov == GMM_TIED)
        for (size_t z = 0; z < (m->cov == GMM_FULL ? k : 1); z++)
            floor_full(f, m->floor, m->covs + z * d * d);
    else
        for (size_t i = 0; i < gmm_cov_size(d, k, m->cov); i++)
            m->covs[i] = fmax(m->covs[i], m->floor[m->cov == GMM_DIAG ? i % d : 0]);
}

/* Scratch of a fit: the three models of a SQUAREM cycle and the scales. */
typedef struct {
    gmm_model *t0, *t1, *t2;
    double *sc;
} accel;

/* The E-step of m over rows (docs/gmm.md, "The E-step"; "Missing values"):
 * complete rows by gmm_prepare and gmm_estep, rows with missing values by
 * gmm_estep_incomplete; with stats, the M-step's sums into w (and for the
 * tied Sigma of incomplete rows, f->sbar and f->mu).  *ll <- sum_n log
 * p(x_n).  A failure (a Sigma_z not positive definite) leaves w as it
 * was. */
static lz_status estep_rows(gmm_work *w, const gmm_model *m, const gmm_rows *rw, int stats,
                            fitctx *f, double *ll, lz_error *err)
{
    if (!rw->miss) {
        lz_status st = gmm_prepare(w, m, err);
        if (!st) gmm_estep(w, rw->n, rw->x, NULL, stats, NULL, NULL, ll);
        return st;
    }
    double *s2 = stats && m->cov == GMM_TIED ? f->sbar : NULL;
    lz_status st = gmm_estep_incomplete(m, rw, stats ? w : NULL, s2, NULL, NULL, NULL, ll, err);
    if (!st && s2) {
        /* Sigma = Sbar - sum_z (N_z / n)(mu_z - c)(mu_z - c)^T with Sbar the
         * expected (1/n) sum (x - c)(x - c)^T, c the shift */
        size_t d = m->d;
        for (size_t i = 0; i < d * d; i++) s2[i] /= (double)f->n;
        f->mu = w->shift;
    }
    return st;
}

/* One SQUAREM cycle (Varadhan & Roland 2008, scheme S3; docs/gmm.md,
 * "SQUAREM") from theta0 = m, whose E-step sums are in w: theta1 = EM(theta0),
 * theta2 = EM(theta1),
 *     r = theta1 - theta0,  v = theta2 - 2 theta1 + theta0,  alpha = -|r|/|v|,
 *     theta' = theta0 - 2 alpha r + alpha^2 v   (made valid by repair),
 * then m <- EM(theta').  theta' is kept only if ll(theta') >= ll(theta1);
 * otherwise alpha is halved towards -1, where theta' = theta2, which EM
 * guarantees.  So ll(m) >= ll(theta') >= ll(theta1) >= ll(theta0).  *ne
 * counts E-steps over the data. */
static void squarem_cycle(gmm_model *m, gmm_work *w, fitctx *f, accel *a, const gmm_rows *rw,
                          long *ne)
{
    size_t np = param_scale(m, a->sc);
    gmm_model *t0 = a->t0, *t1 = a->t1, *t2 = a->t2;
    lz_error e;
    double ll1;
    gmm_model_copy(t0, m);
    gmm_model_copy(t1, m);
    mstep(t1, w, f, 0);
    if (estep_rows(w, t1, rw, 1, f, &ll1, &e)) { /* never seen: Sigma >= floor > 0 */
        gmm_model_copy(m, t1);
        return;
    }
    (*ne)++;
    gmm_model_copy(t2, t1);
    mstep(t2, w, f, 0);
    const double *p0 = t0->block, *p1 = t1->block, *p2 = t2->block;
    double rr = 0, vv = 0;
    for (size_t i = 0; i < np; i++) {
        double r = a->sc[i] * (p1[i] - p0[i]), v = a->sc[i] * (p2[i] - 2 * p1[i] + p0[i]);
        rr += r * r;
        vv += v * v;
    }
    double alpha = vv > 0 ? -sqrt(rr / vv) : -1.0;
    if (!(alpha < -1.0)) alpha = -1.0;
    for (int tries = 0;; tries++) {
        double llx = NAN;
        if (alpha == -1.0)
            gmm_model_copy(m, t2);
        else {
            gmm_model_copy(m, t0);
            for (size_t i = 0; i < np; i++) {
                double r = p1[i] - p0[i], v = p2[i] - 2 * p1[i] + p0[i];
                m->block[i] = p0[i] - 2 * alpha * r + alpha * alpha * v;
            }
            repair(m, f);
        }
        int ok = estep_rows(w, m, rw, 1, f, &llx, &e) == LZ_OK;
        if (ok) (*ne)++;
        if (alpha == -1.0) break;
        if (ok && isfinite(llx) && llx >= ll1) break;
        /* rejected: step back towards plain EM */
        alpha = tries < 3 ? 0.5 * (alpha - 1.0) : -1.0;
        if (alpha > -1.0) alpha = -1.0;
    }
    mstep(m, w, f, 0);
}

/* One start: initial parameters into m, then EM until converged or
 * max_iter; the per-start result in *res. */
static lz_status run_start(const gmm_config *c, int s, const gmm_rows *tr, const gmm_rows *te,
                           const double *x_init, fitctx *f, gmm_model *m, gmm_work *w, accel *a,
                           double t0, gmm_callback cb, void *ud, gmm_result *res, lz_error *err)
{
    size_t n = tr->n;
    gsl_rng *r = lz_rng_alloc_stream(c->seed, (unsigned long)s);
    if (!r) return lz_fail(err, LZ_ENOMEM, "out of memory");
    double ti = now();
    lz_status st = init_start(c, n, x_init, f, r, m, w, err);
    gsl_rng_free(r);
    res->init_seconds = now() - ti;
    double ll_prev = NAN;
    long ne = 0;
    for (int t = 0; !st; t++) {
        gmm_iter_info info;
        double sum = 0, sum_t = 0;
        /* E-step at m: ll(m), and the sums for the next M-step */
        if ((st = estep_rows(w, m, tr, 1, f, &sum, err))) break;
        ne++;
        info.start = s;
        info.iter = t;
        info.ll_train = sum / (double)n;
        info.ll_test = NAN;
        if (te && !te->miss && !tr->miss) {
            /* w holds m's factors */
            gmm_estep(w, te->n, te->x, NULL, 0, NULL, NULL, &sum_t);
            info.ll_test = sum_t / (double)te->n;
        } else if (te) {
            if (te->miss)
                st = gmm_estep_incomplete(m, te, NULL, NULL, NULL, NULL, NULL, &sum_t, err);
            else if (!(st = gmm_prepare(w, m, err)))
                gmm_estep(w, te->n, te->x, NULL, 0, NULL, NULL, &sum_t);
            if (st) break;
            info.ll_test = sum_t / (double)te->n;
        }
        if (!isfinite(info.ll_train)) {
            st = lz_fail(err, LZ_ENUMERIC, "EM iteration %d: ll/N is not finite", t);
            break;
        }
        info.delta = t ? info.ll_train - ll_prev : NAN;
        info.seconds = now() - t0;
        info.min_weight = gmm_min_weight(m);
        info.n_collapsed = gmm_n_collapsed(m);
        info.e_steps = ne;
        res->iterations = t;
        res->e_steps = ne;
        res->ll_train = info.ll_train;
        res->ll_test = info.ll_test;
        res->seconds = info.seconds;
        if (cb && cb(&info, ud)) {
            st = lz_fail(err, LZ_ESTOP, "stopped at iteration %d", t);
            break;
        }
        ll_prev = info.ll_train;
        /* EM never lowers ll/N; stop when it rises by less than tol */
        if (t > 0 && info.delta < c->tol) {
            res->converged = 1;
            break;
        }
        if (t >= c->max_iter) break;
        if (c->accelerate)
            squarem_cycle(m, w, f, a, tr, &ne);
        else
            mstep(m, w, f, 0);
    }
    return st;
}

/* gmm_fit on rows tr and te (NULL: none); data: the training data set when
 * it has missing values (its observed moments; the initialisation runs on
 * its rows with each missing value at its column's observed mean) */
static lz_status fit_rows(const gmm_config *c, const gmm_rows *tr, const gmm_rows *te,
                          const lz_data *data, gmm_model *m, gmm_callback cb, void *ud,
                          gmm_result *res, lz_error *err)
{
    size_t d = m->d, k = m->k, n = tr->n, nt = te ? te->n : 0;
    const double *x = tr->x;
    memset(res, 0, sizeof *res);
    res->ll_train = res->ll_test = NAN;
    lz_status st = gmm_config_check(c, n, d, err);
    if (st) return st;
    if ((size_t)c->k != k || c->cov != m->cov)
        return lz_fail(err, LZ_EINVAL, "-K %d --cov %s: the model has K = %zu, %s", c->k,
                       gmm_cov_name(c->cov), k, gmm_cov_name(m->cov));
    if (c->init == GMM_INIT_FILE && !c->init_means)
        return lz_fail(err, LZ_EINVAL, "--init file: no means given");
    if (te && nt == 0) te = NULL;
    double t0 = now();
    double *mu = malloc(d * sizeof *mu), *var = malloc(d * sizeof *var), *ximp = NULL;
    gmm_model *cur = gmm_model_alloc(d, k, m->cov);
    gmm_work *w = gmm_work_alloc(d, k, m->cov, te && nt > n ? nt : n);
    accel a = {gmm_model_alloc(d, k, m->cov), gmm_model_alloc(d, k, m->cov),
               gmm_model_alloc(d, k, m->cov), malloc(model_size(d, k, m->cov) * sizeof(double))};
    fitctx f;
    memset(&f, 0, sizeof f);
    if (!mu || !var || !cur || !w || !a.t0 || !a.t1 || !a.t2 || !a.sc)
        st = lz_fail(err, LZ_ENOMEM, "EM: out of memory");
    if (!st)
        st = tr->miss ? lz_data_moments(data, mu, var, NULL, err) : moments(n, d, x, mu, var, err);
    if (!st && tr->miss) {
        /* the initialisation's rows: each missing value at its column's mean */
        if (!(ximp = malloc(n * d * sizeof *ximp)))
            st = lz_fail(err, LZ_ENOMEM, "EM: out of memory");
        for (size_t i = 0; !st && i < n * d; i++) ximp[i] = tr->miss[i] ? mu[i % d] : x[i];
    }
    const double *xi = ximp ? ximp : x;
    if (!st) st = gmm_set_floor(c->reg, m->cov, d, mu, var, m->floor, err);
    if (!st) st = fitctx_init(&f, n, d, m->cov, xi, mu, var, err);
    for (int s = 0; !st && s < c->n_init; s++) {
        gmm_result rs;
        memset(&rs, 0, sizeof rs);
        memcpy(cur->floor, m->floor, d * sizeof *cur->floor);
        f.mu = mu; /* the data's means again (an incomplete E-step moves it) */
        if (m->cov == GMM_TIED && tr->miss && !st) st = lz_covariance(n, d, xi, mu, f.sbar, err);
        if (!st) st = run_start(c, s, tr, te, xi, &f, cur, w, &a, t0, cb, ud, &rs, err);
        if (!st && (s == 0 || rs.ll_train > res->ll_train)) {
            gmm_model_copy(m, cur);
            *res = rs;
            res->best_start = s;
        }
    }
    res->seconds = now() - t0;
    fitctx_free(&f);
    gmm_work_free(w);
    gmm_model_free(cur);
    gmm_model_free(a.t0);
    gmm_model_free(a.t1);
    gmm_model_free(a.t2);
    free(a.sc);
    free(mu);
    free(var);
    free(ximp);
    return st;
}

lz_status gmm_fit(const gmm_config *c, size_t n, const double *x, size_t nt, const double *xt,
                  gmm_model *m, gmm_callback cb, void *ud, gmm_result *res, lz_error *err)
{
    gmm_rows tr = {n, x, NULL, NULL}, te = {nt, xt, NULL, NULL};
    return fit_rows(c, &tr, xt ? &te : NULL, NULL, m, cb, ud, res, err);
}

lz_status gmm_fit_incomplete(const gmm_config *c, const lz_data *train, const lz_data *test,
                             gmm_model *m, gmm_callback cb, void *ud, gmm_result *res,
                             lz_error *err)
{
    lz_patterns *ptr = train->miss ? lz_patterns_make(train) : NULL;
    lz_patterns *pte = test && test->miss ? lz_patterns_make(test) : NULL;
    lz_status st = LZ_OK;
    if ((train->miss && !ptr) || (test && test->miss && !pte))
        st = lz_fail(err, LZ_ENOMEM, "EM: out of memory");
    gmm_rows tr = {train->n, train->x, train->miss, ptr};
    gmm_rows te = {test ? test->n : 0, test ? test->x : NULL, test ? test->miss : NULL, pte};
    if (!st) st = fit_rows(c, &tr, test ? &te : NULL, train, m, cb, ud, res, err);
    lz_patterns_free(ptr);
    lz_patterns_free(pte);
    return st;
}

/* ------------------------------------------------------------------ */
/* files */

#define GMM_MODEL_KIND "gmm"
#define GMM_MODEL_VERSION 1

/* rows and columns of the covariances array in a model file */
static void cov_shape(size_t d, size_t k, int cov, size_t *rows, size_t *cols)
{
    switch (cov) {
    case GMM_FULL: *rows = k * d, *cols = d; break;
    case GMM_DIAG: *rows = k, *cols = d; break;
    case GMM_SPHERICAL: *rows = k, *cols = 1; break;
    default: *rows = d, *cols = d;
    }
}

lz_status gmm_model_write(const gmm_model *m, lz_outset *os, const char *path, lz_error *err)
{
    FILE *f = lz_outset_open(os, path, err);
    if (!f) return err ? err->status : LZ_EIO;
    size_t rows, cols;
    cov_shape(m->d, m->k, m->cov, &rows, &cols);
    lz_model_begin(f, GMM_MODEL_KIND, GMM_MODEL_VERSION);
    lz_model_put_int(f, "d", (long)m->d);
    lz_model_put_int(f, "k", (long)m->k);
    lz_model_put_str(f, "cov", gmm_cov_name(m->cov));
    lz_model_put_array(f, "weights", m->k, 1, m->weights);
    lz_model_put_array(f, "means", m->k, m->d, m->means);
    lz_model_put_array(f, "covariances", rows, cols, m->covs);
    lz_model_put_array(f, "floor", m->d, 1, m->floor);
    lz_model_end(f);
    return LZ_OK;
}

/* the declared shape of array name (rows, cols) against the file's */
static lz_status check_shape(const lz_model *mf, const char *path, const char *name, size_t rows,
                             size_t cols, const char *what, lz_error *err)
{
    size_t r, c;
    lz_status st = lz_model_get_shape(mf, name, &r, &c, err);
    if (st) return st;
    if (r != rows || c != cols)
        return lz_fail(err, LZ_EFORMAT, "%s: array %s is %zu x %zu: expected %s = %zu x %zu", path,
                       name, r, c, what, rows, cols);
    return LZ_OK;
}

/* every Sigma_z of m symmetric positive definite; err names the component */
static lz_status check_covs(const gmm_model *m, const char *path, lz_error *err)
{
    size_t d = m->d, k = m->k, nmat = m->cov == GMM_FULL ? k : m->cov == GMM_TIED ? 1 : 0;
    if (!nmat) {
        size_t nc = gmm_cov_size(d, k, m->cov);
        for (size_t i = 0; i < nc; i++)
            if (!(m->covs[i] > 0))
                return lz_fail(err, LZ_EFORMAT,
                               "%s: covariances, component %zu: variance %g: expected > 0", path,
                               (m->cov == GMM_DIAG ? i / d : i) + 1, m->covs[i]);
        return LZ_OK;
    }
    double *l = malloc(d * d * sizeof *l);
    if (!l) return lz_fail(err, LZ_ENOMEM, "%s: out of memory", path);
    lz_status st = LZ_OK;
    for (size_t z = 0; !st && z < nmat; z++) {
        const double *s = m->covs + z * d * d;
        for (size_t i = 0; !st && i < d; i++)
            for (size_t j = 0; !st && j < i; j++)
                if (fabs(s[i * d + j] - s[j * d + i]) >
                    1e-12 * sqrt(fabs(s[i * d + i])) * sqrt(fabs(s[j * d + j])))
                    st = lz_fail(err, LZ_EFORMAT,
                                 "%s: covariances, component %zu: entries (%zu, %zu) and (%zu, "
                                 "%zu) differ: expected a symmetric matrix",
                                 path, z + 1, i + 1, j + 1, j + 1, i + 1);
        memcpy(l, s, d * d * sizeof *l);
        if (!st && lz_chol(d, l, err))
            st = lz_fail(err, LZ_EFORMAT,
                         "%s: covariances, component %zu: expected a positive definite matrix",
                         path, z + 1);
    }
    free(l);
    return st;
}

lz_status gmm_model_read(const char *path, gmm_model **out, lz_error *err)
{
    *out = NULL;
    lz_model *mf = NULL;
    lz_status st = lz_model_read(path, GMM_MODEL_KIND, GMM_MODEL_VERSION, &mf, err);
    if (st) return st;
    long d = 0, k = 0;
    const char *covs = NULL;
    int cov = -1;
    if (!st) st = lz_model_get_int(mf, "d", &d, err);
    if (!st) st = lz_model_get_int(mf, "k", &k, err);
    if (!st && (d < 1 || k < 1))
        st = lz_fail(err, LZ_EFORMAT, "%s: d = %ld, k = %ld: expected d >= 1 and k >= 1", path, d,
                     k);
    if (!st) st = lz_model_get_str(mf, "cov", &covs, err);
    if (!st && (cov = gmm_cov_parse(covs)) < 0)
        st = lz_fail(err, LZ_EFORMAT, "%s: cov '%s': expected full, diag, spherical or tied", path,
                     covs);
    /* the declared sizes against the arrays present, before allocating:
     * weights (k, 1) bounds k, means (k, d) bounds k d, so no product below
     * overflows */
    size_t ud = (size_t)d, uk = (size_t)k, rows = 0, cols = 0;
    if (!st) st = check_shape(mf, path, "weights", uk, 1, "k x 1", err);
    if (!st) st = check_shape(mf, path, "means", uk, ud, "k x d", err);
    if (!st) st = check_shape(mf, path, "floor", ud, 1, "d x 1", err);
    if (!st) {
        cov_shape(ud, uk, cov, &rows, &cols);
        const char *what = cov == GMM_FULL        ? "k d x d"
                           : cov == GMM_DIAG      ? "k x d"
                           : cov == GMM_SPHERICAL ? "k x 1"
                                                  : "d x d";
        st = check_shape(mf, path, "covariances", rows, cols, what, err);
    }
    gmm_model *m = NULL;
    if (!st && !(m = gmm_model_alloc(ud, uk, cov)))
        st = lz_fail(err, LZ_ENOMEM, "%s: out of memory", path);
    if (!st) st = lz_model_get_array(mf, "weights", uk, 1, m->weights, err);
    if (!st) st = lz_model_get_array(mf, "means", uk, ud, m->means, err);
    if (!st) st = lz_model_get_array(mf, "covariances", rows, cols, m->covs, err);
    if (!st) st = lz_model_get_array(mf, "floor", ud, 1, m->floor, err);
    for (size_t i = 0; !st && i < model_size(ud, uk, cov) - uk; i++)
        if (!isfinite(m->block[i]))
            st = lz_fail(err, LZ_EFORMAT, "%s: a number is not finite (%g)", path, m->block[i]);
    double sum = 0;
    for (size_t z = 0; !st && z < uk; z++) {
        if (!(m->weights[z] > 0))
            st = lz_fail(err, LZ_EFORMAT, "%s: weights, component %zu: %g: expected > 0", path,
                         z + 1, m->weights[z]);
        sum += m->weights[z];
    }
    if (!st && !(fabs(sum - 1.0) <= 1e-9))
        st = lz_fail(err, LZ_EFORMAT, "%s: the weights sum to %.10g: expected 1", path, sum);
    for (size_t i = 0; !st && i < ud; i++)
        if (!(m->floor[i] >= 0))
            st = lz_fail(err, LZ_EFORMAT, "%s: floor, row %zu: %g: expected >= 0", path, i + 1,
                         m->floor[i]);
    if (!st) st = check_covs(m, path, err);
    if (!st)
        *out = m;
    else
        gmm_model_free(m);
    lz_model_free(mf);
    return st;
}

lz_status gmm_means_read(const char *path, size_t d, size_t k, double *means, lz_error *err)
{
    lz_data *r = NULL;
    lz_read_opts ro = {.label_col = LZ_LABEL_NONE, .min_rows = 1};
    lz_status st = lz_data_read(path, &ro, &r, err);
    if (st) return st;
    size_t skip = r->d == d + 1 ? 1 : 0;
    if ((st = lz_data_require_values(r, "the means file", err)))
        ;
    else if (r->d != d && r->d != d + 1)
        st = lz_fail(err, LZ_EFORMAT,
                     "%s:1: %zu columns: expected %zu (x1..xd) or %zu (component x1..xd) as the "
                     "data has d = %zu",
                     path, r->d, d, d + 1, d);
    else if (r->n != k)
        st = lz_fail(err, LZ_EFORMAT, "%s: %zu means: expected K = %zu (-K)", path, r->n, k);
    for (size_t z = 0; !st && z < k; z++)
        memcpy(means + z * d, r->x + z * r->d + skip, d * sizeof *means);
    lz_data_free(r);
    return st;
}
