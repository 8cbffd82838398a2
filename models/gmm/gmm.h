/* gmm.h -- the Gaussian mixture fitted by EM.
 *
 *     z ~ Categorical(pi_1 .. pi_K),   x | z ~ N(mu_z, Sigma_z),
 *     p(x) = sum_z pi_z N(x; mu_z, Sigma_z).
 *
 * docs/gmm.md puts every equation next to the function of this header that
 * computes it ("Equations and the functions that compute them").
 *
 * Dimension letters: n samples, d data dimension, k components (the K of
 * the command line), b rows of a block.  Matrices are row-major, a sample is
 * a row.
 *
 * Four covariance types (scikit-learn's): full (one d x d Sigma_z a
 * component), diag (Sigma_z diagonal), spherical (Sigma_z = s_z I), tied (one
 * d x d Sigma for every component).  Every Sigma_z is kept above a floor,
 * Sigma_z >= diag(floor) in the order of symmetric matrices (--reg;
 * gmm_set_floor): the constrained maximum of the likelihood exists, EM's
 * M-step under the constraint is exact (so EM never lowers the
 * likelihood), and the floor is relative to each coordinate's variance, so a
 * rescaled column gives the same fit in its new units (docs/gmm.md, "The
 * floor on Sigma").
 *
 * Threads: the E-step (gmm_estep) runs OpenMP threads over fixed chunks of
 * rows, each calling single-threaded BLAS on blocks of its rows, and adds
 * the chunks' sums in chunk order: the results do not depend on the number
 * of threads.  Call gmm_set_threads first (it makes OpenBLAS single-threaded).
 *
 * Library code: functions return lz_status and fill an lz_error; nothing is
 * printed.  The program (main.c) prints.
 */
#ifndef GMM_H
#define GMM_H

#include <stddef.h>

#include <gsl/gsl_rng.h>

#include "lz_data.h"
#include "lz_error.h"
#include "lz_out.h"

typedef enum { GMM_FULL = 0, GMM_DIAG = 1, GMM_SPHERICAL = 2, GMM_TIED = 3 } gmm_cov;
typedef enum { GMM_INIT_KMEANSPP = 0, GMM_INIT_RANDOM = 1, GMM_INIT_FILE = 2 } gmm_init_kind;

/* The smallest --reg: below it the rounding of a variance computed from the
 * data's sums (~1e-16 of the spread, times the rows) approaches the floor. */
#define GMM_REG_MIN 1e-10
/* Lloyd steps after k-means++ seeding (fewer when the partition settles). */
#define GMM_LLOYD_STEPS 10

/* ---- hyperparameters ---- */

typedef struct {
    int k;                    /* components, 1 <= k <= n */
    int cov;                  /* gmm_cov */
    int init;                 /* gmm_init_kind */
    const double *init_means; /* (k, d) GMM_INIT_FILE: the initial means (not owned) */
    int n_init;               /* starts; the fit with the highest ll_train is kept */
    int accelerate;           /* SQUAREM cycles kept monotone (1), or plain EM steps (0) */
    double reg;               /* floor: Sigma_z >= reg x each coordinate's variance */
    double tol;               /* stop when ll/N rises by less than tol (nats) */
    int max_iter;             /* at most this many iterations a start */
    unsigned long seed;       /* seeding of start s: lz_rng_alloc_stream(seed, s) */
} gmm_config;

/* Defaults: k 3, full, kmeans++, n_init 1, accelerate 1, reg 1e-6, tol 1e-6,
 * max_iter 1000, seed 1. */
void gmm_config_default(gmm_config *c);

/* Validate the hyperparameters for n training rows of d columns (n, d = 0:
 * not known yet, then k <= n is not checked).  The message names the option:
 * "-K 12: expected 1 <= K <= n = 10 training rows". */
lz_status gmm_config_check(const gmm_config *c, size_t n, size_t d, lz_error *err);

/* "full", "diag", "spherical", "tied"; gmm_cov_parse: the inverse (-1 if
 * none). */
const char *gmm_cov_name(int cov);
int gmm_cov_parse(const char *s);

/* ---- parameters ---- */

/* What the last M-step found out about a component (docs/gmm.md,
 * "Collapse"). */
typedef enum {
    GMM_LIVE = 0,    /* an ordinary component                                 */
    GMM_FADED = 1,   /* weight -> 0: it explains less than one data point     */
    GMM_ON_POINT = 2 /* Sigma_z on the floor in every direction: it sits on a
                        single point (or on points identical up to the floor) */
} gmm_state;

typedef struct {
    size_t d, k;
    int cov;         /* gmm_cov */
    double *weights; /* (k) pi_z > 0, summing to 1 */
    double *means;   /* (k, d) mu_z */
    double *covs;    /* full (k, d, d); diag (k, d); spherical (k); tied (d, d)
                        (gmm_cov_size numbers); symmetric matrices are stored
                        whole */
    double *floor;   /* (d) the floor: Sigma_z >= diag(floor) */
    double *count;   /* (k) N_z = sum_n r_nz of the E-step that gave these
                        parameters (0 for a loaded model) */
    int *state;      /* (k) gmm_state (GMM_LIVE for a loaded model) */
    double *block;   /* one allocation holding the arrays of doubles */
} gmm_model;

/* How many numbers Sigma takes: k d^2, k d, k, d^2. */
size_t gmm_cov_size(size_t d, size_t k, int cov);

/* A model of the given shape, zeroed; NULL if out of memory. */
gmm_model *gmm_model_alloc(size_t d, size_t k, int cov);
void gmm_model_free(gmm_model *m); /* NULL is a no-op */

/* Copy parameters between models of the same shape. */
void gmm_model_copy(gmm_model *dst, const gmm_model *src);

/* s (d, d) <- Sigma_z as a full matrix, whatever the covariance type. */
void gmm_covariance(const gmm_model *m, size_t z, double *s);

/* Free real numbers of the model: (k - 1) weights + k d means + the
 * covariances' (k d(d+1)/2 full, k d diag, k spherical, d(d+1)/2 tied). */
size_t gmm_n_params(const gmm_model *m);

/* BIC = -2 n ll + p log n and AIC = -2 n ll + 2 p for n rows with mean
 * log-likelihood ll (nats per sample), p = gmm_n_params. */
double gmm_bic(const gmm_model *m, size_t n, double ll);
double gmm_aic(const gmm_model *m, size_t n, double ll);

/* Where Sigma_z (tied: the one Sigma, z ignored) sits on the floor F:
 * *n_dirs <- how many directions, the eigenvalues of F^-1/2 Sigma_z F^-1/2
 * within 1e-6 of 1 (diag: coordinates; spherical: 0 or d), and col (d),
 * when not NULL, flags the coordinates j with Sigma_z,jj within 1e-6 of
 * floor_j (the component's rows do not vary in column j).  docs/gmm.md,
 * "The floor on Sigma". */
lz_status gmm_on_floor(const gmm_model *m, size_t z, size_t *n_dirs, unsigned char *col,
                       lz_error *err);

/* Components whose state is not GMM_LIVE; the smallest weight. */
size_t gmm_n_collapsed(const gmm_model *m);
double gmm_min_weight(const gmm_model *m);

/* The floor of every Sigma_z, in each coordinate's own units, from the
 * column means mu (d) and variances var (d) of the training data:
 *     full, diag, tied:  floor_i = reg var_i; for a coordinate constant in
 *                        the data, reg mu_i^2, or reg when it is always 0;
 *     spherical:         floor_i = reg (1/d) sum_j var_j for every i (a
 *                        spherical model is only equivariant under one
 *                        common rescaling of every column).
 * LZ_EINVAL when every coordinate is constant. */
lz_status gmm_set_floor(double reg, int cov, size_t d, const double *mu, const double *var,
                        double *floor, lz_error *err);

/* ---- the E-step and what is computed from it (gmm_eval.c) ---- */

/* Mean log-likelihood per sample of x (n, d): (1/n) sum_n log p(x_n), each
 * log p(x_n) = logsumexp_z [log pi_z + log N(x_n; mu_z, Sigma_z)]. */
lz_status gmm_loglik(const gmm_model *m, size_t n, const double *x, double *ll, lz_error *err);

/* r (n, k) <- the responsibilities r_nz = p(z | x_n); logp (n) <- log p(x_n)
 * when not NULL. */
lz_status gmm_responsibilities(const gmm_model *m, size_t n, const double *x, double *r,
                               double *logp, lz_error *err);

/* Draws from the mixture: comp (n) <- z ~ Categorical(pi) (0-based), x (n, d)
 * <- mu_z + L_z e, e ~ N(0, I), Sigma_z = L_z L_z^T. */
lz_status gmm_sample(const gmm_model *m, gsl_rng *r, size_t n, double *x, size_t *comp,
                     lz_error *err);

/* ---- fitting ---- */

typedef struct {
    int start;          /* the start (0-based, --n-init) */
    int iter;           /* iterations done in this start (0: the initial parameters) */
    double ll_train;    /* ll/N of the training data */
    double ll_test;     /* ll/N of the test data, NAN without one */
    double delta;       /* ll_train - previous ll_train (NAN at iteration 0) */
    double seconds;     /* since gmm_fit began */
    double min_weight;  /* the smallest pi_z */
    size_t n_collapsed; /* components faded or on a point (gmm_state) */
    long e_steps;       /* E-steps over the training data in this start so far:
                           more than iter with SQUAREM */
} gmm_iter_info;

/* Called once an iteration; a non-zero return stops the fit (LZ_ESTOP). */
typedef int (*gmm_callback)(const gmm_iter_info *info, void *ud);

typedef struct {
    int iterations;           /* iterations of the kept start (SQUAREM: cycles) */
    long e_steps;             /* its E-steps over the training data */
    int converged;            /* the kept start met the tolerance */
    int best_start;           /* the kept start (0-based) */
    double ll_train, ll_test; /* of the returned parameters */
    double seconds;           /* of the whole fit, every start */
    double init_seconds;      /* of the kept start's initialisation (seeding, Lloyd
                                 steps, the first M-step) */
} gmm_result;

/* Initial parameters of one start (docs/gmm.md, "Initialisation"): centres
 * in standardised coordinates (x_i - mean_i) / sd_i, so that a rescaled
 * column gives the same start in its new units --
 *   kmeans++: k-means++ seeding, then up to GMM_LLOYD_STEPS Lloyd steps;
 *   random:   k distinct rows drawn uniformly;
 *   file:     c->init_means --
 * then the hard partition of the rows by their nearest centre and one
 * M-step from it (a part of fewer than two rows takes the data's variances;
 * an empty part counts as one row in the weights, so every weight is
 * positive).  With file, the means are the file's exactly.  mu, var (d): the training data's column
 * moments; m->floor must be set (gmm_set_floor). */
lz_status gmm_init(const gmm_config *c, size_t n, const double *x, const double *mu,
                   const double *var, gsl_rng *r, gmm_model *m, lz_error *err);

/* Fit by EM: every start (c->n_init) from gmm_init, then E-step / M-step
 * (with c->accelerate, SQUAREM cycles of three or more, each kept only if it
 * does not lower ll/N: docs/gmm.md, "SQUAREM") until ll/N rises by less
 * than c->tol or c->max_iter iterations; the start
 * with the highest final ll_train is returned in m (allocated with c->k
 * components, c->cov and the data's d).  x (n, d) training rows, xt (nt, d)
 * test rows (xt NULL: none).  Each printed line's parameters are those whose
 * ll_train it reports; the returned ones are those of the last line of the
 * kept start. */
lz_status gmm_fit(const gmm_config *c, size_t n, const double *x, size_t nt, const double *xt,
                  gmm_model *m, gmm_callback cb, void *ud, gmm_result *res, lz_error *err);

/* gmm_fit on data sets with missing values (train->miss or test->miss; a
 * complete set takes gmm_fit's E-step): the E-step from each row's
 * observed values, the M-step with each component's conditional Gaussian
 * completing the missing ones (docs/gmm.md, "Missing values"); the starts
 * run on the training rows with each missing value at its column's
 * observed mean.  test may be NULL. */
lz_status gmm_fit_incomplete(const gmm_config *c, const lz_data *train, const lz_data *test,
                             gmm_model *m, gmm_callback cb, void *ud, gmm_result *res,
                             lz_error *err);

/* A data set with missing values (or not) under m: *ll <- the mean of log
 * p(x_o) over its rows, resp (n, k) <- the responsibilities, logp (n) <-
 * each row's log p(x_o), xfill (n, d) <- E[x_m | x_o] = sum_z r_nz E[x_m |
 * x_o, z] in each missing entry (each may be NULL). */
lz_status gmm_score_incomplete(const gmm_model *m, const lz_data *data, double *ll, double *resp,
                               double *logp, double *xfill, lz_error *err);

/* Threads for the E-step (0: one per core); OpenBLAS becomes
 * single-threaded, since each thread calls BLAS on its own rows. */
void gmm_set_threads(int n);

/* The threads the E-step runs on. */
int gmm_threads(void);

/* ---- files ---- */

/* Write m to path through os: kind "gmm", version 1: d, k, the covariance
 * type, weights, means, the covariances in their compact shape (full:
 * k d x d, diag: k x d, spherical: k x 1, tied: d x d) and the floor. */
lz_status gmm_model_write(const gmm_model *m, lz_outset *os, const char *path, lz_error *err);

/* Read a model written by gmm_model_write.  The sizes it declares (d, k) are
 * checked against the arrays present before anything is allocated from
 * them; every number must be finite, the weights positive and summing to 1,
 * the covariances symmetric positive definite (full, tied: a Cholesky
 * factor exists; diag, spherical: positive), the floor >= 0.  err names the
 * file and the entry otherwise. */
lz_status gmm_model_read(const char *path, gmm_model **out, lz_error *err);

/* means (k, d) <- k initial means from path, in the layout of
 * PREFIX.means.dat (`component x1 .. xd`; a file of d columns without the
 * component column is read too).  err says what is wrong with the file. */
lz_status gmm_means_read(const char *path, size_t d, size_t k, double *means, lz_error *err);

#endif
