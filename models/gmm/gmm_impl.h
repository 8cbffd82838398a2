/* gmm_impl.h -- the E-step machinery shared by gmm.c (fitting) and
 * gmm_eval.c (which implements it); not part of the library's interface.
 *
 * gmm_eval.c calls nothing in gmm.c: the dependency goes one way, fitting
 * -> E-step.
 *
 * The E-step runs over blocks of b rows.  A block is copied once, centred at
 * the shift c (a point near the data: sum_z pi_z mu_z, or the data mean when
 * a hard partition is summed), into xb (b, w):
 *     full, tied:  u = x - c                        (w = d)
 *     diag:        u, u o u                         (w = 2d)
 *     spherical:   u, |u|^2                         (w = d + 1)
 * so that one GEMM gives the quadratic forms of diag and spherical
 * components, and one GEMM R^T xb gives the weighted sums the M-step needs.
 * Blocks are grouped in chunks whose size depends on the data's shape only;
 * OpenMP threads take chunks as they come free, each chunk's sums go to a
 * slot of their own, and the slots are added in chunk order afterwards, so
 * the results depend on neither the number of threads nor the schedule.
 */
#ifndef GMM_IMPL_H
#define GMM_IMPL_H

#include "gmm.h"

typedef struct {
    double *xb; /* (b, w) the block centred at the shift (and its squares)   */
    double *y;  /* (b, d) scratch: the rows sqrt(r_nz) u_n (full M-step)      */
    double *ut; /* (d, b) the block's u transposed (full, tied)               */
    double *zt; /* (d, b) scratch: whitened columns L^-1 (x_n - mu_z)         */
    double *q;  /* (b) scratch: squared norms                                 */
    double *g;  /* (NEAREST_ROWS, k) scratch: inner products with centres     */
    double *lp; /* (b, k) log pi_z + log N(x_n; mu_z, Sigma_z), then r_nz   */
} gmm_thread;

typedef struct {
    size_t d, k;
    int cov;
    size_t w;   /* width of a block row (see above)                              */
    size_t b;   /* rows of a block (depends on w only)                          */
    size_t cb;  /* blocks of a chunk (depends on w, ns and the rows n)          */
    size_t nch; /* chunks of the largest pass (n rows)                         */
    /* factors of the parameters the E-step evaluates (gmm_prepare) */
    const gmm_model *model; /* the parameters themselves (means)               */
    double *shift;          /* (d) c                                                   */
    double *lconst;         /* (k) log pi_z - 1/2 (d log 2pi + log|Sigma_z|)           */
    double *chol;           /* full (k, d, d), tied (d, d): L, Sigma = L L^T (lower)  */
    double *coef;           /* diag, spherical (w, k): the quadratic form is xb coef + qc;
                               tied (k, d): L^-1 (mu_z - c) as rows                   */
    double *qc;             /* (k) diag, spherical: the quadratic form's constant     */
    /* the sums of the last E-step run with stats (the M-step's input) */
    size_t ns;     /* k + k w (+ k d^2 full)                                  */
    double *stats; /* (ns): N (k) | S1 (k, w) | S2 (full: k, d, d, upper)
                      N_z = sum_n r_nz,  S1_z = sum_n r_nz xb_n,
                      S2_z = sum_n r_nz u_n u_n^T                             */
    double *part;  /* (nch, ns + 1) each chunk's sums, then its sum of log p */
    int nthr;
    gmm_thread *thr;
    double *block;
} gmm_work;

/* Work for (d, k, cov), passes over at most n rows and up to
 * omp_get_max_threads() threads; NULL if out of memory. */
gmm_work *gmm_work_alloc(size_t d, size_t k, int cov, size_t n);
void gmm_work_free(gmm_work *w);

/* The factors of m into w (Cholesky factors, log-determinants, the shift and
 * the quadratic forms' coefficients).  LZ_ENUMERIC naming the component when
 * a Sigma_z is not positive definite. */
lz_status gmm_prepare(gmm_work *w, const gmm_model *m, lz_error *err);

/* One pass over x (n, d).  assign == NULL: the E-step of the prepared
 * parameters, *ll <- sum_n log p(x_n), resp (n, k) <- r_nz and logp (n) <-
 * log p(x_n) where not NULL.  assign (n) != NULL: the responsibilities are
 * the hard partition r_nz = [assign_n = z] (nothing is evaluated; only the
 * shift of w is used).  stats: fill w->stats (else they are left as they
 * were). */
void gmm_estep(gmm_work *w, size_t n, const double *x, const size_t *assign, int stats,
               double *resp, double *logp, double *ll);

/* A set of rows: complete (miss NULL), or with missing values grouped by
 * pattern. */
typedef struct {
    size_t n;
    const double *x;           /* (n, d), 0 where missing */
    const unsigned char *miss; /* (n, d) or NULL */
    const lz_patterns *pt;     /* the rows by pattern when miss */
} gmm_rows;

/* The E-step on rows with missing values (gmm_missing.c; docs/gmm.md,
 * "Missing values"): for each pattern and component the Cholesky factor of
 * Sigma_z,oo, and for each row
 *     log pi_z + log N(x_o; mu_z,o, Sigma_z,oo),  r_nz,  log p(x_o),
 * *ll <- sum_n log p(x_o).  w (may be NULL: no sums): its shift <- sum_z
 * pi_z mu_z and its stats <- the M-step's sums of the completed rows,
 *     N_z = sum_n r_nz,  S1_z = sum_n r_nz E[u | x_o, z],
 *     full: S2_z = sum_n r_nz E[u u^T | x_o, z],  diag / spherical: S1's
 *     squares part the expectations of u o u / |u|^2,
 * u = x - c, with x_m | x_o, z ~ N(mu_m + Sigma_mo Sigma_oo^-1 (x_o - mu_o),
 * Sigma_mm - Sigma_mo Sigma_oo^-1 Sigma_om); s2 (d, d) (tied, may be NULL)
 * <- sum_n sum_z r_nz E[u u^T | x_o, z] (upper triangle and lower).  resp
 * (n, k), logp (n): as gmm_estep's; xfill (n, d) <- sum_z r_nz E[x_m | x_o,
 * z] in each missing entry (each may be NULL). */
lz_status gmm_estep_incomplete(const gmm_model *m, const gmm_rows *rw, gmm_work *w, double *s2,
                               double *resp, double *logp, double *xfill, double *ll,
                               lz_error *err);

/* Rows a thread takes at a time in gmm_nearest. */
#define NEAREST_ROWS 256

/* assign (n) <- the nearest of the k centres c (k, d) to each row of z (n, d)
 * (squared Euclidean distance |c_j|^2 - 2 z.c_j + |z|^2, the products by one
 * GEMM on blocks of rows; ties to the lower index); *changed <- the rows
 * whose assignment differs from before (assign is read first). */
void gmm_nearest(gmm_work *w, size_t n, const double *z, const double *c, size_t *assign,
                 size_t *changed);

#endif
