/* vae_layers.c -- forward/backward pairs of the VAE's layers (see vae_layers.h).
 *
 * Every product is one BLAS GEMM; the elementwise loops are written so that
 * the compiler vectorises them (`omp simd` reductions, built with
 * -fopenmp-simd; no -ffast-math: the order of every sum is fixed by the
 * binary, so runs are reproducible).
 */
#include "vae_layers.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lz_prob.h"
#include "lz_vmath.h"

/* ------------------------------------------------------------------ */
/* elementwise functions */

#ifdef VAE_DOUBLE
static inline vae_real exp_nonpos(vae_real x) { return exp(x); }
static inline vae_real log1p_unit(vae_real e) { return log1p(e); }
#else
/* vectorisable single-precision forms (common/lz_vmath.h) */
static inline float exp_nonpos(float x) { return lz_vexpf(x); }
static inline float log1p_unit(float e) { return lz_vlog1pf_unit(e); }
#endif

/* ------------------------------------------------------------------ */
/* dense layer */

void vae_dense_forward(vae_real *y, const vae_real *x, const vae_real *w, const vae_real *b,
                       size_t m, size_t c, size_t n)
{
    /* Y <- X W^T */
    VAE_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)n, (int)c, 1, x, (int)c, w,
             (int)c, 0, y, (int)n);
    /* Y <- Y + 1 b^T */
    for (size_t i = 0; i < m; i++) {
        vae_real *yi = y + i * n;
#pragma omp simd
        for (size_t j = 0; j < n; j++) yi[j] += b[j];
    }
}

void vae_dense_backward(vae_real *dx, vae_real *dw, vae_real *db, const vae_real *dy,
                        const vae_real *x, const vae_real *w, size_t m, size_t c, size_t n)
{
    /* G_x += G_y W */
    if (dx)
        VAE_GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)c, (int)n, 1, dy, (int)n,
                 w, (int)c, 1, dx, (int)c);
    /* G_W += G_y^T X */
    VAE_GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, (int)n, (int)c, (int)m, 1, dy, (int)n, x,
             (int)c, 1, dw, (int)c);
    /* G_b += G_y^T 1 */
    for (size_t i = 0; i < m; i++) {
        const vae_real *dyi = dy + i * n;
#pragma omp simd
        for (size_t j = 0; j < n; j++) db[j] += dyi[j];
    }
}

/* ------------------------------------------------------------------ */
/* activations */

void vae_act_forward(vae_real *h, size_t cnt, vae_act act)
{
    if (act == VAE_RELU) {
        /* relu(h) = max(h, 0) */
#pragma omp simd
        for (size_t i = 0; i < cnt; i++) h[i] = h[i] > 0 ? h[i] : 0;
    } else {
        for (size_t i = 0; i < cnt; i++) h[i] = VAE_RTANH(h[i]);
    }
}

void vae_act_backward(vae_real *dh, const vae_real *h, size_t cnt, vae_act act)
{
    if (act == VAE_RELU) {
        /* relu'(pre) = 1[pre > 0] = 1[h > 0] */
#pragma omp simd
        for (size_t i = 0; i < cnt; i++) dh[i] = h[i] > 0 ? dh[i] : 0;
    } else {
        /* tanh'(pre) = 1 - tanh(pre)^2 = 1 - h^2 */
#pragma omp simd
        for (size_t i = 0; i < cnt; i++) dh[i] *= 1 - h[i] * h[i];
    }
}

/* ------------------------------------------------------------------ */
/* reparameterisation and KL */

void vae_lv_bound(vae_real *head, size_t m, size_t k)
{
    const vae_real B = VAE_LV_BOUND;
    for (size_t i = 0; i < m; i++) {
        vae_real *lv = head + i * 2 * k + k;
        for (size_t j = 0; j < k; j++) lv[j] = lv[j] > B ? B : lv[j] < -B ? -B : lv[j];
    }
}

void vae_lv_bound_backward(vae_real *dhead, const vae_real *head, size_t m, size_t k)
{
    const vae_real B = VAE_LV_BOUND;
    for (size_t i = 0; i < m; i++) {
        const vae_real *lv = head + i * 2 * k + k;
        vae_real *dlv = dhead + i * 2 * k + k;
        for (size_t j = 0; j < k; j++)
            if (lv[j] >= B || lv[j] <= -B) dlv[j] = 0; /* d max(-B, min(B, a)) / da */
    }
}

void vae_reparam_forward(vae_real *z, const vae_real *head, const vae_real *eps, size_t m, size_t L,
                         size_t k)
{
    for (size_t l = 0; l < L; l++)
        for (size_t i = 0; i < m; i++) {
            const vae_real *mu = head + i * 2 * k, *lv = mu + k;
            const vae_real *e = eps + (l * m + i) * k;
            vae_real *zi = z + (l * m + i) * k;
            /* z = mu + sigma . eps, sigma = exp(lv / 2) */
            for (size_t j = 0; j < k; j++) zi[j] = mu[j] + (vae_real)exp(0.5 * lv[j]) * e[j];
        }
}

void vae_reparam_backward(vae_real *dhead, const vae_real *dz, const vae_real *head,
                          const vae_real *eps, size_t m, size_t L, size_t k)
{
    for (size_t l = 0; l < L; l++)
        for (size_t i = 0; i < m; i++) {
            const vae_real *lv = head + i * 2 * k + k;
            const vae_real *e = eps + (l * m + i) * k;
            const vae_real *g = dz + (l * m + i) * k;
            vae_real *dmu = dhead + i * 2 * k, *dlv = dmu + k;
            for (size_t j = 0; j < k; j++) {
                /* dz/dmu = 1;  dz/dlv = eps exp(lv/2) / 2 */
                dmu[j] += g[j];
                dlv[j] += g[j] * e[j] * (vae_real)(0.5 * exp(0.5 * lv[j]));
            }
        }
}

void vae_kl_forward(double *kl, const vae_real *head, size_t m, size_t k)
{
    for (size_t i = 0; i < m; i++) {
        const vae_real *mu = head + i * 2 * k, *lv = mu + k;
        double s = 0;
        /* KL(N(mu, diag e^lv) || N(0, I)) = 1/2 sum_j (e^lv + mu^2 - 1 - lv) */
        for (size_t j = 0; j < k; j++)
            s += exp((double)lv[j]) + (double)mu[j] * mu[j] - 1.0 - lv[j];
        kl[i] = 0.5 * s;
    }
}

void vae_kl_backward(vae_real *dhead, const vae_real *head, size_t m, size_t k, vae_real dloss)
{
    for (size_t i = 0; i < m; i++) {
        const vae_real *mu = head + i * 2 * k, *lv = mu + k;
        vae_real *dmu = dhead + i * 2 * k, *dlv = dmu + k;
        for (size_t j = 0; j < k; j++) {
            /* dKL/dmu = mu;  dKL/dlv = (e^lv - 1) / 2 */
            dmu[j] += dloss * mu[j];
            dlv[j] += dloss * (vae_real)(0.5 * (exp((double)lv[j]) - 1.0));
        }
    }
}

/* ------------------------------------------------------------------ */
/* likelihoods */

void vae_bernoulli_forward(double *nll, vae_real *p, const vae_real *a, const vae_real *x, size_t m,
                           size_t L, size_t d)
{
    size_t rows = L * m;
    for (size_t r = 0; r < rows; r++) {
        const vae_real *ar = a + r * d, *xr = x + (r % m) * d;
        vae_real *pr = p + r * d;
        vae_real s = 0;
#pragma omp simd reduction(+ : s)
        for (size_t j = 0; j < d; j++) {
            vae_real aj = ar[j];
            /* e = exp(-|a|) <= 1: sigm(a) = (a >= 0 ? 1 : e) / (1 + e),
             * softplus(a) = max(a, 0) + log(1 + e), both without overflow */
            vae_real e = exp_nonpos(aj > 0 ? -aj : aj);
            pr[j] = (aj >= 0 ? (vae_real)1 : e) / (1 + e);
            /* -log p(x_j | a_j) = softplus(a_j) - x_j a_j */
            s += (aj > 0 ? aj : 0) + log1p_unit(e) - xr[j] * aj;
        }
        nll[r] = (double)s;
    }
}

void vae_bernoulli_backward(vae_real *da, const vae_real *p, const vae_real *x, size_t m, size_t L,
                            size_t d, vae_real dloss)
{
    size_t rows = L * m;
    for (size_t r = 0; r < rows; r++) {
        const vae_real *pr = p + r * d, *xr = x + (r % m) * d;
        vae_real *dr = da + r * d;
        /* d/da [softplus(a) - x a] = sigm(a) - x */
#pragma omp simd
        for (size_t j = 0; j < d; j++) dr[j] += dloss * (pr[j] - xr[j]);
    }
}

void vae_gaussian_forward(double *nll, double *sq, const vae_real *a, const vae_real *x,
                          vae_real lsig, size_t m, size_t L, size_t d)
{
    size_t rows = L * m;
    double c = 0.5 * (double)d * (LZ_LOG_2PI + lsig), inv2s2 = 0.5 * exp(-(double)lsig);
    for (size_t r = 0; r < rows; r++) {
        const vae_real *ar = a + r * d, *xr = x + (r % m) * d;
        vae_real s = 0;
#pragma omp simd reduction(+ : s)
        for (size_t j = 0; j < d; j++) s += (xr[j] - ar[j]) * (xr[j] - ar[j]);
        sq[r] = (double)s;
        /* -log N(x; a, s2 I) = d/2 log(2 pi s2) + |x - a|^2 / (2 s2) */
        nll[r] = c + inv2s2 * sq[r];
    }
}

void vae_gaussian_backward(vae_real *da, vae_real *dlsig, const double *sq, const vae_real *a,
                           const vae_real *x, vae_real lsig, size_t m, size_t L, size_t d,
                           vae_real dloss)
{
    size_t rows = L * m;
    double inv_s2 = exp(-(double)lsig);
    vae_real g = (vae_real)(dloss * inv_s2);
    double gs = 0;
    for (size_t r = 0; r < rows; r++) {
        const vae_real *ar = a + r * d, *xr = x + (r % m) * d;
        vae_real *dr = da + r * d;
        /* d nll / da = (a - x) / s2 */
#pragma omp simd
        for (size_t j = 0; j < d; j++) dr[j] += g * (ar[j] - xr[j]);
        /* d nll / d log s2 = d/2 - |x - a|^2 / (2 s2) */
        gs += 0.5 * (double)d - 0.5 * sq[r] * inv_s2;
    }
    if (dlsig) *dlsig += (vae_real)(dloss * gs);
}

/* ------------------------------------------------------------------ */
/* Adam on a block; the widths of a stack of layers */

void vae_adam_update(vae_real *theta, vae_real *m, vae_real *v, const vae_real *g, size_t n, long t,
                     double lr, double beta1, double beta2, double eps)
{
    double bc1 = 1 - pow(beta1, (double)t), bc2 = 1 - pow(beta2, (double)t);
    const vae_real b1 = (vae_real)beta1, b2 = (vae_real)beta2;
    const vae_real step = (vae_real)(lr / bc1), rs = (vae_real)(1 / sqrt(bc2)), e = (vae_real)eps;
    vae_real *restrict th = theta, *restrict mm = m, *restrict vv = v;
    const vae_real *restrict gg = g;
#pragma omp simd
    for (size_t i = 0; i < n; i++) {
        /* m <- b1 m + (1-b1) g;  v <- b2 v + (1-b2) g^2 */
        mm[i] = b1 * mm[i] + (1 - b1) * gg[i];
        vv[i] = b2 * vv[i] + (1 - b2) * gg[i] * gg[i];
        /* theta <- theta - lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps) */
        th[i] -= step * mm[i] / (VAE_RSQRT(vv[i]) * rs + e);
    }
}

lz_status vae_parse_widths(const char *opt, const char *s, size_t *w, size_t *n, size_t max,
                           lz_error *err)
{
    *n = 0;
    if (!strcmp(s, "0")) return LZ_OK;
    const char *p = s;
    for (;;) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno || v < 1 || v > 1000000 || (*end && *end != ','))
            return lz_fail(err, LZ_EINVAL,
                           "%s '%s': expected widths 1..1000000 separated by commas (0: none)", opt,
                           s);
        if (*n == max)
            return lz_fail(err, LZ_EINVAL, "%s '%s': at most %zu hidden layers", opt, s, max);
        w[(*n)++] = (size_t)v;
        if (!*end) return LZ_OK;
        p = end + 1;
    }
}

void vae_format_widths(const size_t *w, size_t n, char *buf, size_t cap)
{
    size_t len = (size_t)snprintf(buf, cap, "%s", n ? "" : "0");
    for (size_t l = 0; l < n && len < cap; l++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%zu", l ? "," : "", w[l]);
}
