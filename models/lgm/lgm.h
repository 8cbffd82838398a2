/* lgm.h -- the linear Gaussian model (factor analysis) fitted by EM.
 *
 * docs/lgm.md; the lecture "Variational Autoencoders Part 2", slides "The
 * Linear Gaussian Model" to "Summarizing LGMs".
 *
 *     z ~ N(0, I_k),   e ~ N(0, D) with D diagonal,   x = mu + A z + e,
 *     so  x ~ N(mu, C),  C = A A^T + D.
 *
 * Dimension letters: n samples, d data dimension, k latent dimension,
 * j draws per datum (sampled completion).  Matrices are row-major, a sample
 * is a row; data passed to this module is already centred (x - mu).
 *
 * The posterior is kept in its Woodbury form (k x k, never d x d):
 *     M = I + A^T D^-1 A = L L^T,   Sigma = M^-1,   B = Sigma A^T D^-1,
 *     z | x ~ N(B x, Sigma).
 * Every quantity of exact EM is a function of the sample covariance
 *     S = (1/n) sum_n x_n x_n^T   (d, d)
 * and of G = S B^T (d, k), so an iteration costs O(d^2 k) whatever n is.
 *
 * Library code: functions return lz_status and fill an lz_error; nothing is
 * printed.  The program (main.c) prints.
 */
#ifndef LGM_H
#define LGM_H

#include <stddef.h>

#include <gsl/gsl_rng.h>

#include "lz_data.h"
#include "lz_error.h"
#include "lz_out.h"

typedef enum { LGM_EXACT = 0, LGM_SAMPLED = 1 } lgm_completion;
typedef enum {
    LGM_INIT_PCA = 0,
    LGM_INIT_RANDOM = 1,
    LGM_INIT_SMC = 2,
    LGM_INIT_BEST = 3
} lgm_init_kind;

/* --init best: plain EM iterations from each of the pca and smc starts;
 * the fit continues from the one with the higher ll/N (docs/lgm.md,
 * "Starting points") */
#define LGM_BEST_ITERS 10

/* Sampled completion stops on the averages of ll/N over two windows of this
 * many iterations (its ll fluctuates, so one difference says nothing). */
#define LGM_SAMPLED_WINDOW 10

/* ---- hyperparameters ---- */

typedef struct {
    int k;              /* latent dimension, 1 <= k < d */
    int completion;     /* LGM_EXACT (option 1) or LGM_SAMPLED (option 2) */
    int samples;        /* J: draws z ~ P(z|x_n) per datum (sampled) */
    double dmin;        /* floor on D: D_i >= dmin S_ii, a fraction of each
                           coordinate's own variance (> 0); see lgm_init */
    int init;           /* LGM_INIT_PCA, _RANDOM, _SMC or _BEST */
    double tol;         /* stop when ll/N rises by less than tol (nats) */
    int max_iter;       /* at most this many iterations */
    int accelerate;     /* exact: SQUAREM extrapolation, kept monotone (1/0) */
    int floor_step;     /* exact: at convergence, try D_i on its floor where EM
                           drives it down (lgm_fit_loop; 1, the default, or 0) */
    unsigned long seed; /* random init and sampled completion */
} lgm_config;

/* The smallest --dmin: at D_i = dmin S_ii the likelihood is known to about
 * eps / dmin nats (the residual variance is a difference of terms ~S_ii). */
#define LGM_DMIN_MIN 1e-10

/* Defaults: k 2, exact, J 10, dmin 1e-6, init best, tol 1e-9, max_iter 10000,
 * accelerate 1, floor_step 1, seed 1. */
void lgm_config_default(lgm_config *c);

/* Validate the hyperparameters.  d is the data dimension, or 0 when it is not
 * known yet (then k < d is not checked).  The message names the option:
 * "-k 70: expected 1 <= k < d = 64". */
lz_status lgm_config_check(const lgm_config *c, size_t d, lz_error *err);

/* ---- parameters ---- */

typedef struct {
    size_t d, k;
    double *mu;     /* (d)    data mean */
    double *a;      /* (d, k) factor loadings A */
    double *dg;     /* (d)    diagonal of D */
    double *floor;  /* (d)    floor on each D_i used when fitting (0: none) */
    int completion; /* LGM_EXACT or LGM_SAMPLED: how it was fitted */
    double *block;  /* one allocation holding mu, a, dg, floor */
} lgm_model;

/* A model of the given shape, zeroed; NULL if out of memory. */
lgm_model *lgm_model_alloc(size_t d, size_t k);
void lgm_model_free(lgm_model *m); /* NULL is a no-op */

/* Copy parameters between models of the same shape. */
void lgm_model_copy(lgm_model *dst, const lgm_model *src);

/* Number of coordinates whose D sits on the floor (D_i <= floor_i). */
size_t lgm_n_floor(const lgm_model *m);

/* Free real numbers of the model: mean, A, D (d + dk + d). */
size_t lgm_n_params(const lgm_model *m);

/* ---- workspace ---- */

typedef struct {
    size_t d, k, n; /* n: rows of the sampled-completion buffers (0: none) */
    /* posterior, Woodbury form */
    double *wd;      /* (d, k) D^-1/2 A */
    double *l;       /* (k, k) Cholesky factor L of M = I + A^T D^-1 A */
    double *sigma;   /* (k, k) Sigma = M^-1 */
    double *bt;      /* (d, k) B^T = D^-1 A M^-1, B = Sigma A^T D^-1 */
    double logdet_m; /* log|M| */
    /* E-step moments */
    double *g;      /* (d, k) G = S B^T = (1/n) sum_n x_n m_n^T */
    double *h;      /* (k, k) H = B S B^T = (1/n) sum_n m_n m_n^T */
    double *gt;     /* (d, k) S_test B^T */
    double *ht;     /* (k, k) B S_test B^T */
    double *ah;     /* (d, k) A H (log-likelihood scratch) */
    double *f;      /* (k, k) Sigma + H = (1/n) sum_n E[z z^T | x_n] */
    double *s_eig;  /* (d, d) copy of S for the eigensolver (init) */
    double *eigval; /* (k) */
    /* sampled completion */
    double *zm;   /* (n, k) posterior means M = X B^T */
    double *zj;   /* (n, k) one draw z_nj for every n */
    double *zsum; /* (n, k) sum_j z_nj */
    double *xz;   /* (d, k) sum_nj x_n z_nj^T */
    double *block;
} lgm_work;

/* Workspace for (d, k); n > 0 also sizes the sampled-completion buffers.
 * NULL if out of memory. */
lgm_work *lgm_work_alloc(size_t d, size_t k, size_t n);
void lgm_work_free(lgm_work *w); /* NULL is a no-op */

/* ---- data ---- */

/* Data for the model, in place (docs/lgm.md, The model): with fit_mean,
 * m->mu <- the column means of train (lz_data_moments: values too large for
 * a variance are an error, rounding noise is no variance) and the centred
 * values of its constant columns exactly 0; otherwise m->mu is the model's.
 * train and test (either may be NULL) are centred by m->mu IN PLACE, and
 * s, s_test (d, d) <- their second moments (1/n) sum_n x_n x_n^T.
 * Missing entries (docs/lgm.md, "Missing entries"): the means are those of
 * the observed values, a missing entry is 0 in the centred data, and s is
 * rescaled to S_ij (n / (n_i n_j))^1/2 (n_i the rows observing i: the
 * observed variances on its diagonal); s_test is not computed for a test
 * set with missing entries. */
lz_status lgm_prepare(lgm_model *m, int fit_mean, lz_data *train, lz_data *test, double *s,
                      double *s_test, lz_error *err);

/* ---- the model's computations ---- */

/* Posterior in Woodbury form (docs/lgm.md):
 *     M = I + A^T D^-1 A,  L L^T = M,  log|M|,  Sigma = M^-1,
 *     B^T = D^-1 A M^-1 (by Cholesky solves),  z | x ~ N(B x, Sigma).
 * Fills w->l, w->logdet_m, w->sigma, w->bt.  O(d k^2). */
lz_status lgm_posterior(const lgm_model *m, lgm_work *w, lz_error *err);

/* E-step moments of data with second moment s (d, d), from bt = B^T (d, k):
 *     g (d, k) <- S B^T = (1/n) sum_n x_n m_n^T,
 *     h (k, k) <- B S B^T = (1/n) sum_n m_n m_n^T.   O(d^2 k). */
void lgm_moments(const lgm_model *m, const double *bt, const double *s, double *g, double *h);

/* ll/N of data with second moment s (d, d) about the model mean, given the
 * posterior in w and the moments g, h of that data (lgm_moments):
 *     ll/N = -1/2 [ d log 2pi + log|D| + log|M| + tr(C^-1 S) ],
 *     tr(C^-1 S) = sum_i rho_i / D_i + tr(H),
 *     rho_i = S_ii - 2 a_i.g_i + a_i^T H a_i,
 * from x^T C^-1 x = (x - A B x)^T D^-1 (x - A B x) + (B x)^T (B x) (Woodbury)
 * and log|C| = log|D| + log|M| (determinant lemma).  O(d k^2); uses w->ah. */
double lgm_loglik_post(const lgm_model *m, lgm_work *w, const double *s, const double *g,
                       const double *h);

/* ll/N under the model of data whose second moment about the model mean is
 * s (d, d): posterior, moments, then lgm_loglik_post.  O(d^2 k). */
lz_status lgm_loglik(const lgm_model *m, const double *s, lgm_work *w, double *ll, lz_error *err);

/* Posterior means z (n, k) <- E[z | x_n] = B x_n for centred x (n, d). */
lz_status lgm_latent(const lgm_model *m, lgm_work *w, size_t n, const double *x, double *z,
                     lz_error *err);

/* Draws from the fitted model: x (n, d) <- mu + A z + D^1/2 e, z, e ~ N(0, I).
 * tmp (k) scratch. */
void lgm_sample(const lgm_model *m, gsl_rng *r, size_t n, double *x, double *tmp);

/* The floors on D, one a coordinate, in the coordinate's own units:
 *     floor_i = dmin S_ii,
 * and for a coordinate constant in the data (S_ii = 0), which has no
 * variance to measure its unit by, dmin mu_i^2 (m->mu must be set), or dmin
 * itself when the coordinate is always 0 (no rescaling changes such a
 * column).  Multiplying column i by c_i multiplies floor_i by c_i^2 and
 * leaves every other floor as it is: the floor is scale-equivariant, as
 * factor analysis is (docs/lgm.md, "The floor on D").  LZ_EINVAL when every
 * coordinate is constant. */
lz_status lgm_set_floor(double dmin, const double *s, lgm_model *m, lz_error *err);

/* Initial parameters, equivariant under a rescaling of the coordinates:
 * the floors (lgm_set_floor), and
 *   pca:    D = max(diag S, floor), A = C^1/2 U_k (Lambda_k - sigma^2 I)^1/2
 *           from the top-k eigenpairs of the correlation matrix
 *           R = C^-1/2 S C^-1/2, C = diag(S) (1 for a constant coordinate),
 *           sigma^2 the mean of the other d - k eigenvalues of R (the PPCA
 *           loadings of the standardised data, taken back to the data's
 *           units);
 *   smc:    D_i = max(psi_i S_ii, floor_i), psi_i = min(1, (1 - k / 2p) /
 *           (R^-1)_ii) over the p varying coordinates (1 - psi_i / (1 -
 *           k/2p) is the squared multiple correlation of coordinate i on
 *           the others), R + eps I when R is singular (eps the smallest of
 *           1e-10, 1e-8, .., 1e-2 that factors); then A = C^1/2 Psi^1/2 U_k
 *           (Theta_k - I)^1/2 from the top-k eigenpairs of Psi^-1/2 R
 *           Psi^-1/2, the loadings that maximise the likelihood for that D
 *           (the start of R's factanal); LZ_ENUMERIC when p <= k or no eps
 *           factors R;
 *   random: D = max(diag S, floor), A_ic ~ N(0, S_ii / k);
 *   best:   as pca (lgm_fit then runs the short runs of both starts).
 * Each column variance of A in the eigen-starts is at least 1e-3 of a unit
 * variance (a zero column of A is a fixed point of EM).  m->mu is left as
 * it is. */
lz_status lgm_init(const lgm_config *c, const double *s, gsl_rng *r, lgm_model *m, lgm_work *w,
                   lz_error *err);

/* One M-step of exact completion (option 1), from the posterior in w and
 * the moments w->g, w->h of S (lgm_posterior, lgm_moments):
 *     F = Sigma + H,   A <- G F^-1,
 *     D <- max(diag(S) - rowsum(A o G), floor).   O(d k^2). */
lz_status lgm_mstep_exact(lgm_model *m, lgm_work *w, const double *s, lz_error *err);

/* One iteration of exact EM from m: posterior, G = S B^T, then the M-step.
 * *ll <- ll/N of m before the step (NULL to skip). */
lz_status lgm_em_step(lgm_model *m, lgm_work *w, const double *s, double *ll, lz_error *err);

/* One M-step of sampled completion (option 2, Monte-Carlo EM), from the
 * posterior in w.  For each centred x_n (n, d) draw J samples
 * z_nj ~ N(B x_n, Sigma), then the complete-data solution
 *     A <- (sum x z^T)(sum z z^T)^-1,
 *     D <- max(diag(S) - (1/(nJ)) rowsum(A o sum x z^T), floor).
 * w must have been allocated with this n.  O(n d k + n J k^2). */
lz_status lgm_mstep_sampled(lgm_model *m, lgm_work *w, size_t n, const double *x, const double *s,
                            int samples, gsl_rng *r, lz_error *err);

/* ---- why D sits on (or near) the floor ---- */

typedef enum {
    LGM_FLOOR_CONSTANT,  /* the coordinate is constant in the data          */
    LGM_FLOOR_DEPENDENT, /* it is a linear function of other coordinates    */
    LGM_FLOOR_HEYWOOD    /* it is explained by the k factors: a Heywood case */
} lgm_floor_kind;

#define LGM_FLOOR_MAX_PARTNERS 4
/* D_i / S_ii below this: coordinate i is explained (almost) exactly, and EM
 * is on its way to D_i = 0, slowly; it is noted even off the floor. */
#define LGM_NEAR_FLOOR 1e-3

typedef struct {
    size_t i; /* the coordinate (0-based) */
    lgm_floor_kind kind;
    int on_floor;                           /* D_i sits on the floor (else only near it)       */
    size_t partner[LGM_FLOOR_MAX_PARTNERS]; /* DEPENDENT: the coordinates it is
                                               a linear function of, strongest
                                               first (0-based) */
    size_t n_partner;
} lgm_floor_note;

/* A note for every coordinate whose D sits on the floor at m, or below
 * LGM_NEAR_FLOOR S_ii, in order: notes (d) <- the notes, *n_notes <- their
 * number.  Linear dependence is
 * read off the eigenvectors of the correlation matrix of the non-constant
 * coordinates of s (d, d) whose eigenvalues are at rounding level
 * (LGM_DEPENDENT_RTOL relative to d): a coordinate with weight in that null
 * space is a linear function of the others with weight there.  The other
 * noted coordinates are Heywood cases.  O(d^3) when some coordinate is
 * noted and not constant, nothing otherwise. */
#define LGM_DEPENDENT_RTOL 1e-10
lz_status lgm_floor_explain(const lgm_model *m, const double *s, lgm_floor_note *notes,
                            size_t *n_notes, lz_error *err);

/* ---- model files ---- */

/* Write m to path through os: kind "lgm", version 2 (d, k, the completion,
 * mean, A, D and the floors, %.17g). */
lz_status lgm_model_write(const lgm_model *m, lz_outset *os, const char *path, lz_error *err);

/* Read a model written by lgm_model_write (version 1 files, with one floor
 * for every coordinate, read too).  Every array must have the declared
 * shape and finite entries, D and the floors positive; err names the file
 * and the entry otherwise. */
lz_status lgm_model_read(const char *path, lgm_model **out, lz_error *err);

/* ---- fitting ---- */

typedef struct {
    int iter;           /* iterations done (0: the initial parameters); with
                           SQUAREM an iteration is one cycle */
    double ll_train;    /* ll/N of the training data */
    double ll_test;     /* ll/N of the test data, NAN without one */
    double delta;       /* ll_train - previous ll_train (NAN at iteration 0) */
    double seconds;     /* since lgm_fit began */
    size_t n_floor;     /* D entries on the floor */
    long e_steps;       /* E-steps (O(d^2 k) passes over S) so far: more than
                           iter when SQUAREM is on */
    double ll_exact_em; /* sampled completion: ll/N of plain exact EM run from
                           the same start for as many iterations (NAN: exact) */
} lgm_iter_info;

/* Called once an iteration; a non-zero return stops the fit (LZ_ESTOP). */
typedef int (*lgm_callback)(const lgm_iter_info *info, void *ud);

typedef struct {
    int iterations;           /* iterations done (as lgm_iter_info.iter) */
    int converged;            /* the tolerance was met (else max_iter was reached) */
    double ll_train, ll_test; /* of the returned parameters */
    double seconds;
    long e_steps;      /* E-steps done (with --init best, the short runs' too) */
    int floor_steps;   /* steps of D to its floor taken (lgm_fit_loop) */
    int init;          /* the start the fit continued from (best: pca or smc) */
    double init_ll[2]; /* best: ll/N of the pca and smc starts after their
                          LGM_BEST_ITERS plain EM iterations (NAN: smc failed
                          or another init) */
} lgm_result;

/* Fit by EM.  s (d, d): second moment of the centred training data;
 * s_test (d, d): of the test data about the training mean, or NULL;
 * x (n, d): the centred training data (needed by sampled completion only,
 * may be NULL for exact).  m (d, k) receives the parameters (m->mu is not
 * touched).  t0: lz_now() when fitting began (seconds are counted from it).
 * The returned parameters are those whose ll_train is reported last. */
lz_status lgm_fit(const lgm_config *c, size_t n, const double *x, const double *s,
                  const double *s_test, lgm_model *m, double t0, lgm_callback cb, void *ud,
                  lgm_result *res, lz_error *err);

/* ---- incomplete data (docs/lgm.md, "Missing entries") ----
 *
 * A row observes the coordinates o and misses m.  Its posterior comes from
 * the observed part alone,
 *     M_o = I + A_o^T D_o^-1 A_o = L L^T,  Sigma_o = M_o^-1,
 *     z | x_o ~ N(m, Sigma_o),  m = Sigma_o A_o^T D_o^-1 (x_o - mu_o),
 * which depends on the row only through its pattern o: rows are grouped by
 * pattern, and a pattern costs one k x k factorisation.  The missing part
 * is completed by x_m | x_o ~ N(mu_m + A_m m, A_m Sigma_o A_m^T + D_m). */

/* A data set with missing entries in the model's working form, its rows
 * grouped by their pattern of missingness. */
typedef struct {
    size_t n, d;
    const double *x;           /* (n, d) rows centred by centre, 0 where missing */
    const unsigned char *miss; /* (n, d) 1 where missing, or NULL (complete) */
    double *centre;            /* (d) what x was centred by */
    lz_patterns *pt;           /* the rows by pattern (lz_patterns_make) */
    double *sxx;               /* (d) sum of x_ni^2 over the rows observing i */
} lgm_incomplete;

/* data (its rows x centred by centre (d), 0 where missing: lgm_prepare) by
 * pattern; data may be complete (one pattern).  *out points into data->x
 * and data->miss: data must outlive it. */
lz_status lgm_incomplete_alloc(const lz_data *data, const double *centre, lgm_incomplete **out,
                               lz_error *err);
void lgm_incomplete_free(lgm_incomplete *in); /* NULL is a no-op */

/* Workspace of the E-step on one incomplete data set (posterior means, the
 * sums of the M-step, per-thread scratch), for latent size k. */
typedef struct lgm_mwork lgm_mwork;
lgm_mwork *lgm_mwork_alloc(const lgm_incomplete *in, size_t k);
void lgm_mwork_free(lgm_mwork *w); /* NULL is a no-op */

/* The E-step on incomplete data (docs/lgm.md, "Missing entries"): for each
 * pattern, M_o by a downdate of A^T D^-1 A over the missing coordinates (or
 * directly over the observed ones when that is cheaper or the downdate
 * would lose accuracy), L, log|M_o|; for each row, m = M_o^-1 A_o^T D_o^-1
 * (x_o - mu_o) and
 *     log N(x_o; mu_o, C_oo) = -1/2 [|o| log 2pi + log|D_o| + log|M_o|
 *                                  + sum_o (x_i - mu_i - a_i.m)^2 / D_i + m.m].
 * *ll <- the mean over the rows; z (n, k) <- the posterior means and logp (n)
 * <- each row's log-likelihood, where not NULL.  stats: also the sums of
 * the M-step (lgm_mstep_incomplete) into w:
 *     F   = sum_n E[z~ z~^T],  z~ = [z; 1],
 *     G_i = sum_n E[x_ni z~^T] = sum_n xh_ni [m_n; 1] + sum_{n: i missing} [Sigma_n a_i; 0],
 *     E_i = sum_n E[x_ni^2] = sum_n xh_ni^2 + sum_{n: i missing} (a_i^T Sigma_n a_i + D_i),
 * xh the completed data (x observed, mu_i + a_i.m where missing).
 * Patterns and rows are shared out to OpenMP threads (as many as BLAS used
 * when w was allocated) in chunks fixed by the data's shape, summed in
 * chunk order: the sums do not depend on which thread took which chunk
 * (BLAS products may round otherwise with another number of threads). */
lz_status lgm_estep_incomplete(const lgm_model *m, const lgm_incomplete *in, lgm_mwork *w,
                               int stats, double *z, double *logp, double *ll, lz_error *err);

/* The exact M-step on incomplete data from the sums of the last E-step with
 * stats (mu moves: it is estimated with A, as the loadings of the constant
 * latent 1):
 *     [A mu] <- G F^-1,   D_i <- max((E_i - [a_i mu_i].G_i) / n, floor_i). */
lz_status lgm_mstep_incomplete(lgm_model *m, const lgm_incomplete *in, lgm_mwork *w, lz_error *err);

/* The sampled M-step on incomplete data (option 2), from the posterior of
 * the last E-step at m: for every row, J draws z_nj ~ N(m_n, Sigma_o) and
 * x_m,nj ~ N(mu_m + A_m z_nj, D_m), then the complete-data solution
 *     [A mu] <- (sum x z~^T)(sum z~ z~^T)^-1,
 *     D_i <- max((sum x_i^2 - [a_i mu_i].sum x_i z~) / (n J), floor_i).
 * Draws run pattern by pattern, in one stream (r). */
lz_status lgm_mstep_sampled_incomplete(lgm_model *m, const lgm_incomplete *in, lgm_mwork *w,
                                       int samples, gsl_rng *r, lz_error *err);

/* One E-step of a data set under m: *ll <- its observed-data ll/N (may be
 * NULL), z (n, k) <- E[z | x_o], logp (n) <- each row's log p(x_o), and
 * xfill (n, d), the rows in the data's units, gets E[x_m | x_o] = mu_m +
 * A_m E[z | x_o] in its missing entries (each may be NULL). */
lz_status lgm_score_incomplete(const lgm_model *m, const lgm_incomplete *in, double *ll, double *z,
                               double *logp, double *xfill, lz_error *err);

/* Fit by EM when the training or the test data miss entries (lgm_fit's
 * loop, rules and callback).  train: the training data; when it is
 * complete, the fit is lgm_fit's on s; else mu, A and D are fitted by the
 * E- and M-steps above, from lgm_init on s (lgm_prepare: observed
 * variances).  test: or NULL.  m->mu must hold the training data's centre. */
lz_status lgm_fit_incomplete(const lgm_config *c, const lgm_incomplete *train, const double *s,
                             const lgm_incomplete *test, lgm_model *m, double t0, lgm_callback cb,
                             void *ud, lgm_result *res, lz_error *err);

#endif
