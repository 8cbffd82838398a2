/* pca.h -- PCA by iterative projection (the lecture "Variational
 * Autoencoders Part 2", slide "PCA Iterative Estimator"; Roweis 1998), scored
 * by the PPCA density (Tipping & Bishop 1999).
 *
 * docs/pca.md puts every equation next to the function of this header that
 * computes it ("Equations and the functions that compute them").
 *
 * Dimension letters: n samples, d data dimension, k components, p columns of
 * the iterated block (p = min(k + oversample, d) >= k).
 *
 * The working form of the data is centred: every function that takes data
 * takes rows x_n - mu, mu the model's (training) mean.  pca_prepare maps a
 * data set to it, in place; pca_fit does so to the training data once it
 * has mu (docs/pca.md, "Centring").
 *
 * The lecture's iteration, on the centred data X (n, d) (a sample a row, so
 * the lecture's X is our X^T):
 *     Z <- W^+ X^T = (W^T W)^-1 W^T X^T          (p, n)  "best positions"
 *     W <- X^T Z^+ = X^T Z^T (Z Z^T)^-1          (d, p)  "best subspace"
 * or the same update on S = X^T X / n:
 *     W <- S W (W^T S W)^-1 W^T W                (d, p)
 * Both map span(W) to span(S W): the span is what iterates (docs/pca.md,
 * "Why both modes are the same iteration").  Here W may carry p >= k
 * columns (oversampling); the k components are read off span(W) by
 * Rayleigh-Ritz (diagonalising the projected covariance), which converges at
 * the rate lambda_{p+1} / lambda_k instead of lambda_{k+1} / lambda_k
 * (docs/pca.md, "Acceleration: oversampling with Rayleigh-Ritz").
 *
 * Library code: returns lz_status, fills an lz_error, never prints.
 */
#ifndef PCA_H
#define PCA_H

#include <stddef.h>

#include "lz_data.h"
#include "lz_error.h"
#include "lz_out.h"

typedef enum { PCA_MODE_DATA = 0, PCA_MODE_COV = 1, PCA_MODE_AUTO = 2 } pca_mode;

/* Hyperparameters (the options of pca_iter). */
typedef struct {
    int k;              /* components kept, 1 <= k < d                         */
    int mode;           /* pca_mode: iterate on X, on S, or pick by cost       */
    int oversample;     /* extra columns q: the block has p = min(k + q, d);
                           PCA_OVERSAMPLE_AUTO: q = max(10, k)                 */
    double tol;         /* stop when the largest principal angle between the
                           k-subspaces of successive iterations is <= tol (rad) */
    int max_iter;       /* iterations at most (SQUAREM: cycles)                */
    unsigned long seed; /* random initial W                                    */
    int accelerate;     /* missing values: SQUAREM extrapolation of EM, kept
                           monotone (1), or plain EM steps (0); complete data:
                           ignored                                             */
} pca_config;

#define PCA_OVERSAMPLE_AUTO (-1)

/* Defaults: k 2, mode auto, oversample auto (max(10, k)), tol 1e-9,
 * max_iter 1000, seed 1, accelerate 1.  pca_iter's options start from these. */
void pca_config_default(pca_config *c);

/* Validate c for data of dimension d (d = 0: the checks that need d are
 * skipped).  Returns LZ_EINVAL with a message naming the option, e.g.
 * "-k 64: expected 1 <= k < d = 64". */
lz_status pca_config_check(const pca_config *c, size_t d, lz_error *err);

/* Columns of the iterated block: p = min(k + q, d), q = oversample or, when
 * it is PCA_OVERSAMPLE_AUTO, max(10, k). */
size_t pca_block_size(const pca_config *c, size_t d);

/* The mode PCA_MODE_AUTO resolves to, by a flop count:
 *   data mode: T iterations of 4 n d p        (X W and X^T Z^T)
 *   cov mode:  n d^2 (S by dsyrk) + T iterations of 2 d^2 p   (S W)
 * with T = min(max_iter, PCA_AUTO_ITERS) iterations expected.  Ties go to the
 * data mode (no d x d matrix). */
#define PCA_AUTO_ITERS 30
pca_mode pca_choose_mode(size_t n, size_t d, size_t p, int max_iter);

/* A fitted model: mean, ordered orthonormal components, their eigenvalues and
 * the PPCA noise variance.  Arrays live in one block. */
typedef struct {
    size_t d, k;
    double *block;    /* the one allocation: mean, comp, eigval point into it   */
    double *mean;     /* (d)    mu, the training mean                           */
    double *comp;     /* (k, d) components u_j, rows orthonormal, largest first */
    double *eigval;   /* (k)    lambda_j = u_j^T S u_j, descending               */
    double sigma2;    /* PPCA noise: mean of the d - k discarded eigenvalues     */
    double total_var; /* tr S = sum of all d eigenvalues                         */
} pca_model;

/* A model of d dimensions and k components, 1 <= k < d, its arrays zeroed;
 * NULL for other sizes or when out of memory. */
pca_model *pca_model_alloc(size_t d, size_t k);
void pca_model_free(pca_model *m); /* NULL is a no-op */

/* The working form of a data set (docs/pca.md, "Centring"): x (n, d), d =
 * m->d, is centred in place by the model's mean, x_n <- x_n - mu.  Every
 * data set scored under m goes through it (the training data inside
 * pca_fit, which sets mu first): the test set is centred by the TRAINING
 * mean. */
void pca_prepare(const pca_model *m, size_t n, double *x);

/* One line of the trace, passed to the callback after every iteration. */
typedef struct {
    int iter;             /* 1, 2, ...                                            */
    double recon_mse;     /* (1/n) sum_n |x_n - U U^T x_n|^2 = tr S - sum_j theta_j
                             for the current Ritz values theta_1..theta_k          */
    double explained_var; /* sum_j theta_j / tr S                                 */
    double max_angle;     /* largest principal angle to the previous iteration's
                             k-subspace (rad); NaN at the first iteration         */
    double ref_angle;     /* largest principal angle to the reference subspace
                             (rad), NaN when no reference was given               */
    double seconds;       /* wall time since pca_fit began                        */
    double ll;            /* pca_fit_incomplete: the observed-data log-likelihood
                             per row of the iteration's parameters, (1/n) sum_n
                             log N(x_n,o; mu_o, W_o W_o^T + sigma^2 I), which
                             EM never lowers; NaN from pca_fit                  */
    long e_steps;         /* pca_fit_incomplete: E-steps so far (the first one,
                             before iteration 1, included; SQUAREM: 3 or more a
                             cycle); 0 from pca_fit                             */
} pca_iter_info;

/* Called after every iteration (SQUAREM: every cycle); a non-zero return stops the fit (LZ_ESTOP).
 */
typedef int (*pca_callback)(const pca_iter_info *info, void *ctx);

/* What a fit did. */
typedef struct {
    pca_mode mode;    /* the mode that ran (auto resolved)                  */
    size_t p;         /* columns iterated (after any reduction for rank)    */
    int iterations;   /* iterations run                                     */
    int converged;    /* 1 if the angle fell to tol within max_iter         */
    double max_angle; /* the last successive angle (rad)                    */
    double ref_angle; /* the last angle to the reference (NaN without one)  */
    double angle_est; /* estimated angle from the limit: max_angle rho/(1-rho)
                         with rho = the last ratio of successive angles (NaN
                         when rho >= 1 or the angles are at rounding level) */
    double seconds;   /* wall time of the fit: mean, centring, S, iterations */
    long e_steps;     /* pca_fit_incomplete: E-steps done; 0 from pca_fit   */
} pca_fit_info;

/* Fit PCA to x (n, d), n >= 2.  Sets m->mean to the mean mu of x, then
 * centres x IN PLACE by pca_prepare: on return row n holds x_n - mu, the
 * working form pca_loglik and pca_score take.  m must have been allocated
 * with (d, cfg->k).  ref (k, d), rows spanning a reference subspace (need not
 * be orthonormal), or NULL: when given, every trace line carries the angle
 * between the current k-subspace and span(ref) (used to time the approach to
 * LAPACK's answer).  cb may be NULL.
 * Errors: LZ_EINVAL for a bad config; LZ_ENUMERIC when the centred data spans
 * k dimensions or fewer (the PPCA noise variance would be 0) or a LAPACK call
 * fails; LZ_ENOMEM; LZ_ESTOP when cb asked to stop. */
lz_status pca_fit(const pca_config *cfg, size_t n, size_t d, double *x, const double *ref,
                  pca_model *m, pca_fit_info *info, pca_callback cb, void *ctx, lz_error *err);

/* One step of the lecture's iteration, exactly as written (no
 * Rayleigh-Ritz, no re-orthonormalisation): wt (p, d) holds W^T and is
 * replaced by the new W^T.  data mode: Z <- W^+ X^T, W <- X^T Z^+ on centred
 * x (n, d);  cov mode: W <- S W (W^T S W)^-1 W^T W with s (d, d) = X^T X / n.
 * pca_fit runs the same code on a preallocated workspace (with oversample 0,
 * on the lecture's p = k columns). */
lz_status pca_seed_step(pca_mode mode, size_t n, size_t d, size_t p, const double *x,
                        const double *s, double *wt, lz_error *err);

/* The log-likelihood per sample (nats) of centred data xc (n, d), n >= 1
 * (rows x_n - mu, pca_prepare), under the PPCA density (docs/pca.md,
 * "Density for scoring: PPCA"):
 *   *ll <- (1/n) sum_n log N(x_n; mu, C),  C = W_ml W_ml^T + sigma^2 I,
 * with U (d, k) the components, W_ml = U (Lambda - sigma^2 I)^(1/2),
 * z_n = U^T (x_n - mu):
 *   log|C| = sum_j log lambda_j + (d - k) log sigma^2,
 *   (x-mu)^T C^-1 (x-mu) = sum_j z_j^2 / lambda_j + |x - mu - U z|^2 / sigma^2,
 * O(d k) a sample.  LZ_ENOMEM. */
lz_status pca_loglik(const pca_model *m, size_t n, const double *xc, double *ll, lz_error *err);

/* Everything pca_iter reports of a data set, in one pass over centred xc
 * (n, d), n >= 1 (the log-likelihood is formed from the projections and the
 * residuals, so the three come together):
 *   z (n, k)   <- projections z_n = U^T (x_n - mu)               (may be NULL)
 *   *recon_mse <- (1/n) sum_n |x_n - mu - U z_n|^2, the residual formed
 *                 explicitly                                       (may be NULL)
 *   *ll        <- the log-likelihood per sample, as pca_loglik     (may be NULL)
 * LZ_ENOMEM. */
lz_status pca_score(const pca_model *m, size_t n, const double *xc, double *z, double *recon_mse,
                    double *ll, lz_error *err);

/* The PPCA covariance C = W_ml W_ml^T + sigma^2 I into c (d, d), formed
 * explicitly (for tests and small d).  LZ_ENOMEM. */
lz_status pca_ppca_cov(const pca_model *m, double *c, lz_error *err);

/* Number of free parameters of the PPCA density: d + d k + 1. */
size_t pca_n_params(const pca_model *m);

/* ---- missing values (docs/pca.md, "Missing values") ---- */

/* PCA of data with missing values (data->miss; data is not changed): EM
 * for probabilistic PCA (Tipping & Bishop 1999) over the observed entries,
 * the lecture's iteration with the prior's ridge (its sigma^2 -> 0 limit is
 * Z <- W^+ X, W <- X Z^+ restricted to the observed entries; Roweis 1998):
 *     E-step, each row over its observed o, one factorisation a pattern:
 *         M_o = W_o^T W_o + sigma^2 I,  E z = M_o^-1 W_o^T (x_o - mu_o),
 *         Cov z = sigma^2 M_o^-1;
 *     M-step, each coordinate i over the rows observing it:
 *         [w_i; mu_i] = (sum E[[z; 1][z; 1]^T])^-1 sum x_i [E z; 1],
 *         sigma^2 = the mean over observed entries of
 *                   (x_i - mu_i - w_i^T E z)^2 + w_i^T Cov z w_i;
 *     then the parameter expansion (PX-EM; Liu, Rubin & Wu 1998): the
 *         moments of E z refitted as a prior N(zbar, L L^T) and mapped back,
 *         mu <- mu + W zbar, W <- W L (the same density, faster);
 * from the PPCA of the mean-imputed data (pca_fit from the seed), until the
 * largest principal angle between successive span(W) is <= tol (k columns:
 * no oversampling; --mode cov is refused).  With cfg->accelerate each
 * iteration is one SQUAREM cycle (Varadhan & Roland 2008, scheme S3, kept
 * monotone: two EM steps, an extrapolation accepted only if its ll is not
 * below the first step's, one more EM step; docs/pca.md, "Acceleration of
 * EM: SQUAREM"), and the angle is between the ends of successive cycles.
 * The observed-data log-likelihood (the trace's ll) never decreases.  The model is the
 * fitted PPCA: the eigenpairs of W W^T + sigma^2 I, sigma^2, mu
 * (docs/pca.md, "Missing values").  The trace's recon_mse is (1/n) sum of
 * the observed residuals^2 of W E z, explained_var 1 - recon_mse / the
 * observed variance.  Errors as pca_fit's, LZ_EINVAL for --mode cov. */
lz_status pca_fit_incomplete(const pca_config *cfg, const lz_data *data, const double *ref,
                             pca_model *m, pca_fit_info *info, pca_callback cb, void *ctx,
                             lz_error *err);

/* pca_score for data with missing values, in the data's units (data is not
 * changed), under the PPCA density: with K_o = sigma^2 (Lambda -
 * sigma^2)^-1 + U_o^T U_o and m = K_o^-1 U_o^T (x_o - mu_o),
 *   z (n, k)   <- the posterior means of the projections, E[U^T (x - mu) | x_o]
 *                 = Lambda (Lambda - sigma^2)^-1 m (U^T (x - mu) when nothing
 *                 is missing);
 *   *recon_mse <- (1/n) sum of the observed residuals^2 |x_o - mu_o - U_o z|^2;
 *   *ll        <- the mean of log N(x_o; mu_o, C_oo), the PPCA density of each
 *                 row's observed entries;
 *   xfill (n, d) <- E[x_m | x_o] = mu_m + U_m m in each missing entry.
 * Each output may be NULL.  Rows are grouped by pattern (lz_patterns). */
lz_status pca_score_incomplete(const pca_model *m, const lz_data *data, double *z,
                               double *recon_mse, double *ll, double *xfill, lz_error *err);

/* Model files (--save / --load): kind "pca", version 1. */
lz_status pca_model_write(const pca_model *m, lz_outset *os, const char *path, lz_error *err);
lz_status pca_model_read(const char *path, pca_model **out, lz_error *err);

#endif
