/* lz_prob.c -- random numbers and probability helpers (see lz_prob.h). */
#include "lz_prob.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lz_blas.h"
#include <gsl/gsl_randist.h>

#include "lz_linalg.h"
#include "lz_error.h"

gsl_rng *lz_rng_alloc(unsigned long seed)
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    if (r) gsl_rng_set(r, seed);
    return r;
}

/* splitmix64 finaliser: a bijective mix of 64 bits */
static uint64_t mix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

gsl_rng *lz_rng_alloc_stream(unsigned long seed, unsigned long stream)
{
    uint64_t s = mix64(mix64((uint64_t)seed) ^ (uint64_t)stream * 0xd1b54a32d192ed03ULL);
    /* mt19937 takes 32 bits of seed; 0 means GSL's default seed, avoid it */
    unsigned long s32 = (unsigned long)(s & 0xffffffffUL);
    return lz_rng_alloc(s32 ? s32 : 1);
}

void lz_rng_gauss(gsl_rng *r, size_t n, double *out)
{
    for (size_t i = 0; i < n; i++) out[i] = gsl_ran_gaussian_ziggurat(r, 1.0);
}

void lz_rng_gaussf(gsl_rng *r, size_t n, float *out)
{
    for (size_t i = 0; i < n; i++) out[i] = (float)gsl_ran_gaussian_ziggurat(r, 1.0);
}

void lz_rng_perm(gsl_rng *r, size_t n, size_t *idx)
{
    for (size_t i = 0; i < n; i++) idx[i] = i;
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)gsl_rng_uniform_int(r, (unsigned long)i);
        size_t t = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = t;
    }
}

double lz_logsumexp(size_t n, const double *a)
{
    if (n == 0) return -INFINITY;
    double m = a[0];
    for (size_t i = 1; i < n; i++)
        if (a[i] > m) m = a[i];
    if (!isfinite(m)) return m; /* all -inf, or some +inf / nan */
    double s = 0;
    for (size_t i = 0; i < n; i++) s += exp(a[i] - m);
    return m + log(s);
}

/* sigm(x) = 1/(1+e^-x); for x < 0 written as e^x/(1+e^x) so e^.. never overflows */
double lz_sigmoid(double x)
{
    if (x >= 0) return 1.0 / (1.0 + exp(-x));
    double e = exp(x);
    return e / (1.0 + e);
}

/* softplus(x) = log(1+e^x) = max(x,0) + log1p(e^-|x|) */
double lz_softplus(double x) { return (x > 0 ? x : 0.0) + log1p(exp(-fabs(x))); }

lz_status lz_mvn_logpdf(size_t n, size_t d, const double *x, const double *mu, const double *c,
                        double *out, lz_error *err)
{
    double *l = malloc(d * d * sizeof *l);
    double *r = malloc(d * sizeof *r);
    if (!l || !r) {
        free(l);
        free(r);
        return lz_fail(err, LZ_ENOMEM, "Gaussian log-density: out of memory");
    }
    memcpy(l, c, d * d * sizeof *l);
    lz_status st = lz_chol(d, l, err);
    if (!st) {
        double logdet = lz_chol_logdet(d, l);
        for (size_t i = 0; i < n; i++) {
            for (size_t j = 0; j < d; j++) r[j] = x[i * d + j] - (mu ? mu[j] : 0.0);
            /* r <- L^-1 (x - mu), so (x-mu)^T C^-1 (x-mu) = |r|^2 */
            cblas_dtrsv(CblasRowMajor, CblasLower, CblasNoTrans, CblasNonUnit, (int)d, l, (int)d, r,
                        1);
            double q = cblas_ddot((int)d, r, 1, r, 1);
            out[i] = -0.5 * ((double)d * LZ_LOG_2PI + logdet + q);
        }
    }
    free(l);
    free(r);
    return st;
}

lz_status lz_mvn_avg_loglik(size_t d, const double *c, const double *s, double *ll, lz_error *err)
{
    double *l = malloc(d * d * sizeof *l);
    double *m = malloc(d * d * sizeof *m);
    if (!l || !m) {
        free(l);
        free(m);
        return lz_fail(err, LZ_ENOMEM, "Gaussian log-likelihood: out of memory");
    }
    memcpy(l, c, d * d * sizeof *l);
    memcpy(m, s, d * d * sizeof *m);
    lz_status st = lz_chol(d, l, err);
    if (!st) st = lz_chol_solve(d, l, d, m, err); /* M <- C^-1 S */
    if (!st) {
        double tr = 0;
        for (size_t i = 0; i < d; i++) tr += m[i * d + i];
        *ll = -0.5 * ((double)d * LZ_LOG_2PI + lz_chol_logdet(d, l) + tr);
    }
    free(l);
    free(m);
    return st;
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

char *lz_ll_tail_text(const lz_ll_tail *t, char *buf, size_t cap)
{
    snprintf(buf, cap,
             "the median row scores %.6g, and the lowest %zu row%s hold%s %.3g %% of the rows' "
             "shortfall below it; the lowest, %.6g",
             t->median, t->t, t->t == 1 ? "" : "s", t->t == 1 ? "s" : "", 100.0 * t->share,
             t->lowest);
    return buf;
}

lz_status lz_ll_tail_of(size_t n, const double *ll, lz_ll_tail *out, lz_error *err)
{
    memset(out, 0, sizeof *out);
    out->mean = out->median = out->share = NAN;
    if (!n) return LZ_OK;
    for (size_t i = 0; i < n; i++)
        if (isnan(ll[i])) return LZ_OK;
    double *v = malloc(n * sizeof *v);
    if (!v) return lz_fail(err, LZ_ENOMEM, "per-row log-likelihoods: out of memory");
    memcpy(v, ll, n * sizeof *v);
    qsort(v, n, sizeof *v, cmp_dbl);
    double s = 0;
    for (size_t i = 0; i < n; i++) s += ll[i];
    out->mean = s / (double)n;
    out->median = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
    out->t = n / 100 > 1 ? n / 100 : 1;
    for (size_t i = 1; i < n; i++)
        if (ll[i] < ll[out->worst]) out->worst = i;
    out->lowest = ll[out->worst];
    double low = 0, all = 0;
    for (size_t i = 0; i < n && v[i] < out->median; i++) {
        double g = out->median - v[i];
        all += g;
        if (i < out->t) low += g;
    }
    free(v);
    if (all > 0) out->share = low / all;
    out->few = n >= 100 && out->median - out->mean > 1.0 && all > 0 && low > 0.5 * all;
    return LZ_OK;
}
