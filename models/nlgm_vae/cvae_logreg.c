/* cvae_logreg.c -- multinomial logistic regression with an L2 penalty, the
 * classifier of M1 (on the VAE's posterior means) and of the baseline every
 * semi-supervised table needs (on the pixels of the same labelled rows); see
 * cvae.h and docs/vae_labels.md, "M1 and the baseline".
 *
 * The objective is convex: BFGS (GSL's vector_bfgs2) from zero, on the
 * parameters theta = [W (C, p) | b (C)], the logits of every row by one GEMM.
 * This file calls no other file of the library.
 */
#include "cvae.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_multimin.h>
#include <gsl/gsl_vector.h>

#include "lz_blas.h"

typedef struct {
    size_t n, p, C;
    const double *x; /* (n, p) */
    const int *y;    /* (n) */
    double l2;
    double *g; /* (n, C) logits, then softmax - onehot */
} problem;

/* f = sum_i [lse(g_i) - g_i,y_i] + l2/2 |W|^2, g_i = W x_i + b; grad (may be
 * NULL) <- df/dtheta */
static double objective(const problem *pb, const double *theta, double *grad)
{
    size_t n = pb->n, p = pb->p, C = pb->C;
    const double *W = theta, *b = theta + C * p;
    /* G (n, C) <- X W^T + 1 b^T */
    for (size_t i = 0; i < n; i++) memcpy(pb->g + i * C, b, C * sizeof *b);
    if (n)
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)C, (int)p, 1, pb->x,
                    (int)p, W, (int)p, 1, pb->g, (int)C);
    double f = 0;
    for (size_t i = 0; i < n; i++) {
        double *gi = pb->g + i * C, mx = gi[0], s = 0;
        for (size_t c = 1; c < C; c++)
            if (gi[c] > mx) mx = gi[c];
        for (size_t c = 0; c < C; c++) s += exp(gi[c] - mx);
        double lse = mx + log(s);
        /* -log softmax(g)_y = lse - g_y */
        f += lse - gi[pb->y[i]];
        /* d/dg = softmax(g) - onehot(y) */
        for (size_t c = 0; c < C; c++) gi[c] = exp(gi[c] - lse) - (c == (size_t)pb->y[i]);
    }
    double ww = 0;
    for (size_t j = 0; j < C * p; j++) ww += W[j] * W[j];
    f += 0.5 * pb->l2 * ww;
    if (!grad) return f;
    /* dW = (P - Y)^T X + l2 W;  db = (P - Y)^T 1 */
    for (size_t j = 0; j < C * p; j++) grad[j] = pb->l2 * W[j];
    if (n)
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)C, (int)p, (int)n, 1, pb->g,
                    (int)C, pb->x, (int)p, 1, grad, (int)p);
    double *gb = grad + C * p;
    memset(gb, 0, C * sizeof *gb);
    for (size_t i = 0; i < n; i++)
        for (size_t c = 0; c < C; c++) gb[c] += pb->g[i * C + c];
    return f;
}

static double f_cb(const gsl_vector *v, void *ctx) { return objective(ctx, v->data, NULL); }
static void df_cb(const gsl_vector *v, void *ctx, gsl_vector *g)
{
    objective(ctx, v->data, g->data);
}
static void fdf_cb(const gsl_vector *v, void *ctx, double *f, gsl_vector *g)
{
    *f = objective(ctx, v->data, g->data);
}

lz_status cvae_logreg_fit(size_t n, size_t p, size_t C, const double *x, const int *y, double l2,
                          double *W, double *b, lz_error *err)
{
    size_t np = C * p + C;
    problem pb = {n, p, C, x, y, l2, malloc((n ? n : 1) * C * sizeof(double))};
    gsl_vector *theta = gsl_vector_calloc(np);
    gsl_multimin_fdfminimizer *s =
        gsl_multimin_fdfminimizer_alloc(gsl_multimin_fdfminimizer_vector_bfgs2, np);
    if (!pb.g || !theta || !s) {
        free(pb.g);
        gsl_vector_free(theta);
        if (s) gsl_multimin_fdfminimizer_free(s);
        return lz_fail(err, LZ_ENOMEM, "logistic regression: out of memory");
    }
    gsl_multimin_function_fdf fn = {f_cb, df_cb, fdf_cb, np, &pb};
    /* the first step: a move of 0.1 along the gradient; line search tol 0.1 */
    gsl_error_handler_t *old = gsl_set_error_handler_off();
    gsl_multimin_fdfminimizer_set(s, &fn, theta, 0.1, 0.1);
    /* the gradient is a sum over rows: its scale grows with n */
    double tol = 1e-6 * (double)(n + 1);
    for (int it = 0; it < 10000; it++) {
        if (gsl_multimin_fdfminimizer_iterate(s)) break; /* no progress: at the optimum */
        if (gsl_multimin_test_gradient(s->gradient, tol) == GSL_SUCCESS) break;
    }
    gsl_set_error_handler(old);
    memcpy(W, s->x->data, C * p * sizeof *W);
    memcpy(b, s->x->data + C * p, C * sizeof *b);
    free(pb.g);
    gsl_vector_free(theta);
    gsl_multimin_fdfminimizer_free(s);
    return LZ_OK;
}

void cvae_logreg_predict(size_t n, size_t p, size_t C, const double *x, const double *W,
                         const double *b, int *pred)
{
    for (size_t i = 0; i < n; i++) {
        const double *xi = x + i * p;
        size_t best = 0;
        double bv = -INFINITY;
        for (size_t c = 0; c < C; c++) {
            /* g_c = w_c . x + b_c */
            double g = b[c];
            const double *w = W + c * p;
            for (size_t j = 0; j < p; j++) g += w[j] * xi[j];
            if (g > bv) {
                bv = g;
                best = c;
            }
        }
        pred[i] = (int)best;
    }
}
