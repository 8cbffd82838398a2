/* rbm.h -- the restricted Boltzmann machine, trained by CD-k, PCD-k or
 * parallel tempering, with binary or Gaussian visible units.
 *
 * Binary hidden units h in {0,1}^h, and either binary visible units
 * v in {0,1}^d,
 *     E(v, h) = -h^T W v - c^T v - b^T h,
 * or Gaussian visible units v in R^d (the Gaussian-Bernoulli RBM in the form
 * of Cho, Ilin & Raiko 2011, sigma_i^2 = exp(z_i)),
 *     E(v, h) = sum_i (v_i - c_i)^2 / (2 sigma_i^2) - b^T h - sum_ij (v_i / sigma_i^2) W_ji h_j,
 * and p(v, h) = exp(-E(v, h)) / Z.  Trained by contrastive divergence (CD-k,
 * the pseudocode of the lecture "Modern Generative Models: Restricted
 * Boltzmann Machines"), with persistent chains (PCD, Tieleman 2008), or with
 * persistent chains helped by tempered replicas (parallel tempering,
 * Desjardins et al. 2010); scored by the exact log-likelihood (enumerating a
 * layer), or by annealed importance sampling (AIS, Salakhutdinov & Murray
 * 2008) from a base model, a stochastic upper bound on the test
 * log-likelihood, with reverse AIS (RAISE, Burda, Grosse & Salakhutdinov
 * 2015) beside it, a stochastic lower bound.  docs/rbm.md opens with a table
 * of every equation and the function of this header that computes it.
 *
 * The library's files, and which calls which (an arrow: "calls functions
 * of"; nothing calls upwards, so nothing calls in a circle; checked on the
 * library's objects by tests/rbm/test_rbm_layers.sh):
 *
 *            main.c (rbm_cd)
 *              |          \
 *              v           \
 *         rbm_train.c       \       CD-k / PCD-k / PT: rbm_fit, the reference
 *              |      \      \      step and the fast kernel, PT's swaps,
 *              |       v      v     the threads' barrier
 *              |      rbm_eval.c    double precision: free energy, pseudo-
 *              |        |           likelihood, exact log Z, AIS, reverse
 *              v        v           AIS, rbm_loglik, rbm_latent, rbm_sample
 *            rbm_model.c            the model, its configuration, threads,
 *                                   the float conditionals (tempered too),
 *                                   rbm_standardise, rbm_prepare, model files
 *
 * rbm_impl.h holds what the three files share and rbm.h does not promise
 * (inline helpers: the rows a thread owns, Bernoulli draws from random
 * bits, the float sigmoid; the chains' layout).
 *
 * Dimension letters: n samples, d visible units, h hidden units, m minibatch
 * rows (= chains), r AIS runs, s the enumerated layer, o the other layer,
 * R tempered replicas of a chain.  Matrices are row-major, one sample a
 * row; W is (h, d): row j holds the weights of hidden unit j (its "filter").
 *
 * Units (Gaussian visible units): the model works on standardised data,
 * v_i = (x_i - shift_i) / scale_i with the training columns' means and
 * standard deviations (rbm_standardise, rbm_prepare), so a column's units do
 * not matter; log-likelihoods are reported in the data's units,
 * log p(x) = log p(v) - sum_i log scale_i (rbm_ll_offset).
 *
 * Precision: the parameters are float; training runs its minibatch products
 * as single-precision GEMMs (cblas_sgemm).  Every log-likelihood quantity
 * (free energy, pseudo-likelihood, exact log Z, AIS and reverse AIS weights)
 * is computed in double from the float parameters.
 *
 * Random numbers: every Gibbs chain has its own GSL stream, numbered from the
 * RBM_STREAM_* bases below.  Threads (rbm_set_threads): each OpenMP thread
 * owns a fixed block of rows (chains) and calls single-threaded BLAS on it,
 * so results depend on the seed and the thread count only.
 *
 * Library code: functions that can fail return lz_status and fill an
 * lz_error; nothing is printed.  The program (main.c) prints.
 */
#ifndef RBM_H
#define RBM_H

#include <stddef.h>

#include "lz_data.h"
#include "lz_error.h"
#include "lz_prob.h"
#include "lz_out.h"
#include "lz_unset.h"

/* ======================================================= rbm_model.c === */

/* ---- the model ---- */

/* The visible units (--visible), and their variances (--sigma). */
typedef enum { RBM_VIS_BERNOULLI = 0, RBM_VIS_GAUSSIAN = 1 } rbm_visible;
typedef enum { RBM_SIGMA_FIXED = 0, RBM_SIGMA_LEARN = 1 } rbm_sigma;

typedef struct {
    size_t d;      /* visible units                                             */
    size_t h;      /* hidden units                                              */
    int visible;   /* an rbm_visible                                            */
    int sigma;     /* an rbm_sigma: Gaussian sigma_i learned, or fixed at 1     */
    float *w;      /* (h, d) weights W                                          */
    float *b;      /* (h) hidden biases                                         */
    float *c;      /* (d) visible biases (Gaussian: the means of p(v | h = 0))  */
    float *z;      /* (d) Gaussian: z_i = log sigma_i^2 (0 when fixed); else 0  */
    double *base;  /* (d) the base model of AIS: binary, its log-odds (the
                      training marginals); Gaussian, its means: N(base, I)     */
    double *shift; /* (d) Gaussian: v = (x - shift) / scale; binary: 0          */
    double *scale; /* (d) Gaussian: the training columns' sd; binary: 1         */
    float *mem;    /* the block that w, b, c, z point into (the parameters, in
                      the order of rbm_n_params, then z when it is fixed)       */
    double *dmem;  /* the block that base, shift, scale point into             */
} rbm_model;

/* A model with binary visible units, W = 0, b = 0, c = 0, z = 0, base = 0,
 * shift 0, scale 1; NULL if out of memory.  (Set visible and sigma before
 * use for a Gaussian-Bernoulli RBM.) */
rbm_model *rbm_model_alloc(size_t d, size_t h);
void rbm_model_free(rbm_model *m); /* NULL is a no-op */

/* d h + d + h (+ d for learned Gaussian sigmas): the real numbers that
 * define the distribution, the first of m->mem. */
size_t rbm_n_params(const rbm_model *m);

/* The base model of AIS from the training data v (n, d) (in model units):
 * binary, base_i <- log(p_i / (1 - p_i)), p_i = (sum_n v_ni + 1) / (n + 2),
 * the visible log-odds smoothed so no pixel gets +-inf (the base-rate model
 * of Salakhutdinov & Murray 2008, section 4.1); Gaussian, base_i <- the
 * column means (0 for data standardised by the same rows). */
void rbm_set_base_rate(rbm_model *m, size_t n, const float *v);

/* Initialise for training (Hinton 2010, "A practical guide", section 8):
 * W_ji ~ N(0, sd^2) from stream RBM_STREAM_INIT of seed, b = 0, c = base
 * (call rbm_set_base_rate first), z = 0 (sigma = 1).  LZ_ENOMEM (m
 * unchanged) when the random stream cannot be made. */
lz_status rbm_init(rbm_model *m, double sd, unsigned long seed, lz_error *err);

/* log p(x) in the data's units = log p(v) in the model's + rbm_ll_offset:
 * Gaussian, -sum_i log scale_i (the Jacobian of the standardisation);
 * binary, 0. */
double rbm_ll_offset(const rbm_model *m);

/* ---- hyperparameters ---- */

/* The learning-rate schedule over the T updates of a run (rbm_lr_at). */
typedef enum { RBM_DECAY_NONE = 0, RBM_DECAY_LINEAR = 1 } rbm_lr_decay;

typedef struct {
    int h;               /* --hidden: hidden units                           */
    int visible;         /* --visible: an rbm_visible                        */
    int sigma;           /* --sigma: an rbm_sigma (Gaussian)                 */
    double sigma_min;    /* --sigma-min: learned sigma_i >= this (model units) */
    int cd_steps;        /* --cd: Gibbs steps per update, the k of CD-k      */
    int pcd;             /* --pcd: keep the chains between updates           */
    int pt;              /* --pt: R >= 1 tempered replicas of every persistent
                            chain (parallel tempering; implies pcd); 0: none */
    double lr;           /* --lr: learning rate alpha (of the first update)  */
    double momentum;     /* --momentum: mu in [0, 1)                         */
    double weight_decay; /* --weight-decay: lambda, L2 on W                  */
    int batch;           /* --batch: minibatch rows (and PCD chains)         */
    int lr_decay;        /* --lr-decay: an rbm_lr_decay                      */
    int epochs;          /* --epochs                                         */
    int keep_best;       /* --keep-best: end with the best epoch's model     */
    double init_sd;      /* standard deviation of the initial weights        */
    int monitor;         /* --monitor: rows of the fixed monitoring subsets  */
    int exact_max_h;     /* --exact-max-h: enumerate a layer of <= this size */
    int ais_runs;        /* --ais-runs                                       */
    int ais_steps;       /* --ais-steps: intermediate distributions          */
    int bracket;         /* --bracket: AIS and reverse AIS even when exact   */
    int raise_rows;      /* --raise-rows: test rows reverse AIS scores       */
    int raise_steps;     /* --raise-steps: its intermediate distributions;
                            LZ_UNSET_INT: ais_steps                          */
    unsigned long seed;  /* --seed                                           */
} rbm_config;

/* The defaults of rbm_cd (its option variables start from them).  lr,
 * momentum and batch are left LZ_UNSET_REAL / LZ_UNSET_INT and lr_decay
 * LZ_UNSET_INT: rbm_config_resolve gives them the defaults of the algorithm
 * (cfg->pcd, cfg->pt) and of the visible units; raise_steps is unset too
 * (resolved to ais_steps). */
void rbm_config_default(rbm_config *cfg);

/* The defaults that differ between CD-k and PCD-k / PT, and between binary
 * and Gaussian visible units (docs/rbm.md, "Defaults", gives their sources
 * and the runs behind them). */
typedef struct {
    double lr;       /* alpha; with epoch_lr > 0 the largest alpha            */
    double epoch_lr; /* > 0: alpha = epoch_lr M / n (at most lr), so that the
                        rates of an epoch's n / M updates add up to epoch_lr  */
    double momentum; /* mu                                                   */
    int batch;       /* M: minibatch rows (and PCD chains)                   */
    int lr_decay;    /* an rbm_lr_decay                                      */
} rbm_algo_defaults;

/* persistent: 0 for CD-k, 1 for PCD-k and PT.  Binary, CD-k: alpha 0.1,
 * momentum 0.5, batch 20, no decay; PCD-k: alpha = 6 M / n, at most 0.3
 * (0.01 for n = 60000 rows in minibatches of M = 100), momentum 0, batch
 * 100, linear decay to 0.  Gaussian: the same with a tenth of the rates, a
 * thirtieth with learned sigmas (sigma an rbm_sigma). */
rbm_algo_defaults rbm_algo_default(int persistent, int visible, int sigma);

/* Every field of cfg still unset (LZ_UNSET_*) <- rbm_algo_default(...) for
 * training on n rows; with n = 0 (not known yet) a learning rate that
 * depends on n stays unset.  cfg->pt > 0 sets cfg->pcd. */
void rbm_config_resolve(rbm_config *cfg, size_t n);

/* LZ_OK, or LZ_EINVAL with a message naming the option ("--hidden 0:
 * expected 1 <= H <= 100000").  d: visible units (0 when not known yet);
 * with d known, --keep-best needs the exact log-likelihood every epoch
 * (rbm_exact_every_epoch).  Unset fields are checked as they resolve (a
 * learning rate that depends on n is not checked until resolved). */
lz_status rbm_config_check(const rbm_config *cfg, size_t d, lz_error *err);

/* The size of the layer that exact log Z enumerates: min(d, h) for binary
 * visible units, h for Gaussian ones (v is integrated out in closed form). */
size_t rbm_enum_size(size_t d, size_t h, int visible);

/* 1 when log Z is exact for a model of this shape: rbm_enum_size <=
 * exact_max_h (else rbm_loglik estimates it by AIS). */
int rbm_exact_applies(size_t d, size_t h, int visible, int exact_max_h);

/* 1 when the exact log-likelihood is cheap enough to compute every epoch:
 * s = rbm_enum_size <= exact_max_h and 2^s * max(d, h) <= RBM_EXACT_EPOCH_COST. */
int rbm_exact_every_epoch(size_t d, size_t h, int visible, int exact_max_h);
#define RBM_EXACT_EPOCH_COST ((size_t)1 << 27)

/* ---- threads ---- */

/* Run the RBM's loops on n OpenMP threads (n <= 0: one per core), each
 * calling BLAS single-threaded on its own rows: sets OpenBLAS to one thread.
 * (When BLAS is left multi-threaded, the RBM's functions run their loops on
 * one thread and let BLAS thread the products.) */
void rbm_set_threads(int n);

/* The threads the RBM's loops use now: OpenMP's when BLAS is single-
 * threaded, else 1. */
int rbm_threads(void);

/* rbm_threads(), fewer for small jobs: about one a 4e6 multiply-adds. */
int rbm_threads_for(double work);

/* ---- the conditionals in single precision (training and sampling) ---- */

/* is2 (d) <- 1 / sigma_i^2 = (float)exp(-z_i): 1 for binary units and fixed
 * sigmas (z = 0). */
void rbm_inv_sigma2_f(const rbm_model *m, float *is2);

/* The visible rows as the hidden units see them, u = v / sigma^2
 * (docs/rbm.md, "The model"), is2 from rbm_inv_sigma2_f: into u (n, d) and
 * returned when the model has learned Gaussian sigmas; else v itself is
 * returned (u = v) and u is not touched. */
const float *rbm_scale_visible_f(const rbm_model *m, size_t n, const float *v, const float *is2,
                                 float *u);

/* ph (n, h) <- p(h_j = 1 | v) = sigm(b_j + W_j. u), u = v / sigma^2 as
 * rbm_scale_visible_f returns it (u = v for binary units), one sgemm. */
void rbm_hidden_f(const rbm_model *m, size_t n, const float *u, float *ph);

/* pv (n, d) <- binary: p(v_i = 1 | h) = sigm(c_i + W_.i^T h); Gaussian: the
 * mean of p(v_i | h) = N(c_i + W_.i^T h, sigma_i^2); one sgemm. */
void rbm_visible_f(const rbm_model *m, size_t n, const float *hs, float *pv);

/* The tempered RBMs of AIS and parallel tempering, 0 <= beta <= 1 (docs/rbm.md,
 * "The path from the base model"): E_beta(v, h) = (1 - beta) E_A(v) +
 * beta E(v, h), E_A the base model's energy (binary: -base^T v; Gaussian:
 * |v - base|^2 / 2).  Their conditionals:
 *   ph (n, h) <- sigm(beta (b_j + W_j. u))   (u as for rbm_hidden_f);
 *   pv (n, d) <- binary: sigm((1 - beta) base_i + beta (c_i + W_.i^T h));
 *       Gaussian: the mean [(1 - beta) base_i + beta (c_i + W_.i^T h) / sigma_i^2] / lambda_i
 *       of a normal of precision lambda_i = 1 - beta + beta / sigma_i^2;
 *   sd (d) <- Gaussian: 1 / sqrt(lambda_i).
 * is2: rbm_inv_sigma2_f (not read for binary units). */
void rbm_hidden_beta_f(const rbm_model *m, size_t n, const float *u, float beta, float *ph);
void rbm_visible_beta_f(const rbm_model *m, size_t n, const float *hs, float beta, const float *is2,
                        float *pv);
void rbm_visible_sd_f(const rbm_model *m, float beta, float *sd);

/* g (n) <- log of the tempered marginal of h up to a constant of beta,
 * log sum_v exp(-E_beta(v, h)) + const (docs/rbm.md, "Parallel tempering"):
 *   binary:   beta b^T h + sum_i softplus((1 - beta) base_i + beta (c_i + a_i)),
 *   Gaussian: beta b^T h + sum_i eta_i^2 / (2 lambda_i),
 *             eta_i = (1 - beta) base_i + beta (c_i + a_i) / sigma_i^2,
 * for each row of hs (n, h) with a (n, d) = its W^T h (hs W). */
void rbm_tempered_log_marginal_h(const rbm_model *m, double beta, size_t n, const float *hs,
                                 const float *a, double *g);

/* ---- data preparation: what the visible units see ---- */

typedef enum { RBM_BIN_THRESHOLD = 0, RBM_BIN_SAMPLE = 1, RBM_BIN_NONE = 2 } rbm_binarize;

/* How binary visible units get binary data (ignored by Gaussian ones). */
typedef struct {
    rbm_binarize mode; /* --binarize                                        */
    double threshold;  /* --threshold: v = 1 when x / scale > threshold     */
    double scale;      /* --scale: x is divided by scale first              */
    const char *model; /* the model file these came from (rbm_model_read sets
                          its path, which must outlive p), or NULL: options */
} rbm_prep;

/* Gaussian visible units: m->shift <- the training columns' means, m->scale
 * <- their standard deviations (lz_data_moments; their variances into var
 * (d) unless it is NULL); a constant column (at mu_j, variance 0) gets scale
 * |mu_j|, or 1 when it is 0.  Binary units: shift 0, scale 1, var untouched.
 * LZ_ENUMERIC (naming the column) for values too large for a variance,
 * LZ_EINVAL when every column is constant.  docs/rbm.md, "Data". */
lz_status rbm_standardise(rbm_model *m, const lz_data *train, double *var, lz_error *err);

/* out (n, d) <- what m's visible units see of data->x (n, d).
 * Binary: y = x / scale must lie in [0, 1] (else LZ_EINVAL naming the first
 * bad value's file, line and field, lz_data_where, and how to fix it); then
 * y > threshold (threshold), y ~ Bernoulli (sample, from stream `stream` of
 * seed) or y itself, which must then be 0 or 1 (none).
 * Gaussian: v = (x - shift) / scale by the model's standardisation, which
 * must fit in a float (else LZ_EINVAL naming the value).
 * docs/rbm.md, "Data". */
lz_status rbm_prepare(const lz_data *data, const rbm_model *m, const rbm_prep *p,
                      unsigned long seed, unsigned long stream, float *out, lz_error *err);

/* ---- model files ---- */

/* How a model was trained: its name (rbm-cd1, rbm-gauss-pcd2, rbm-pt1). */
typedef struct {
    int cd_k; /* Gibbs steps an update                             */
    int pcd;  /* persistent chains                                  */
    int pt;   /* tempered replicas of each chain (0: no tempering)  */
} rbm_method;

/* Write the model to path in os (kind "rbm") with the preprocessing it was
 * trained with and how it was trained.  A binary model trained by CD-k or
 * PCD-k is written as version 1 (the entries of every earlier rbm_cd); a
 * Gaussian one or one trained by PT as version 2, which adds visible,
 * sigma, pt and the arrays z, data_mean and data_sd (the standardisation,
 * m->shift and m->scale).  err: the path cannot be opened. */
lz_status rbm_model_write(const rbm_model *m, const rbm_prep *p, const rbm_method *how,
                          lz_outset *os, const char *path, lz_error *err);

/* Read a model written by rbm_model_write (version 1 or 2); *p gets the
 * preprocessing, *how the training method.  Every entry and array shape is
 * checked before the model is allocated; err names the file and the entry
 * at fault. */
lz_status rbm_model_read(const char *path, rbm_model **out, rbm_prep *p, rbm_method *how,
                         lz_error *err);

/* ---- random streams (lz_rng_alloc_stream(seed, RBM_STREAM_* + i)) ---- */
#define RBM_STREAM_INIT 0UL
#define RBM_STREAM_ORDER 1UL
#define RBM_STREAM_MONITOR 2UL
#define RBM_STREAM_BIN_TRAIN 3UL
#define RBM_STREAM_BIN_TEST 4UL
#define RBM_STREAM_RAISE_ROWS 5UL     /* the test rows reverse AIS scores */
#define RBM_STREAM_CHAIN 1000000UL    /* + chain: training chains      */
#define RBM_STREAM_AIS 2000000UL      /* + run: AIS runs               */
#define RBM_STREAM_SAMPLE 3000000UL   /* + chain: rbm_sample's chains  */
#define RBM_STREAM_SWAP 4000000UL     /* + chain: PT's swap decisions  */
#define RBM_STREAM_PT 1000000000UL    /* + (r - 1) 1e6 + chain: replica r */
#define RBM_STREAM_RAISE 2000000000UL /* + row: reverse AIS            */

/* ======================================================== rbm_eval.c === */

/* ---- evaluation in double precision ---- */

typedef struct rbm_eval rbm_eval;

/* Workspace for the double-precision computations on a model of this shape:
 * a double copy of the parameters, exp(+-W) for the pseudo-likelihood, row
 * blocks, per-thread scratch, and room to enumerate a layer of up to
 * enum_max units (0: no exact log Z).  NULL with err set if out of memory. */
rbm_eval *rbm_eval_alloc(size_t d, size_t h, int enum_max, lz_error *err);
void rbm_eval_free(rbm_eval *ev); /* NULL is a no-op */

/* Copy the model's parameters (and its kind of visible units) into ev (call
 * after every change). */
void rbm_eval_sync(rbm_eval *ev, const rbm_model *m);

/* ph (n, h) <- p(h_j = 1 | v) = sigm(b_j + W_j. (v / sigma^2))  (docs/rbm.md,
 * "The model"; sigma = 1 for binary units). */
void rbm_eval_hidden(rbm_eval *ev, size_t n, const float *v, double *ph);

/* pv (n, d) <- binary: p(v_i = 1 | h) = sigm(c_i + W_.i^T h); Gaussian: the
 * mean c_i + W_.i^T h; hs (n, h) any reals. */
void rbm_eval_visible(rbm_eval *ev, size_t n, const double *hs, double *pv);

/* f (n) <- F(v), f may be NULL:
 *   binary:   F(v) = -c^T v - sum_j softplus(b_j + W_j. v),
 *   Gaussian: F(v) = sum_i (v_i - c_i)^2 / (2 sigma_i^2) - sum_j softplus(b_j + W_j. (v /
 * sigma^2)). Returns the mean of F over the n rows (nan when n = 0). */
double rbm_eval_free_energy(rbm_eval *ev, size_t n, const float *v, double *f);

/* pll (n) <- sum_i log p(v_i | v_-i) = sum_i log sigm(F(v^(i)) - F(v)), v^(i)
 * being v with bit i flipped: every bit, exactly; pll may be NULL.  Returns
 * the mean over the rows (nats per sample).  Binary units only: nan (and
 * pll untouched) for Gaussian ones. */
double rbm_eval_pseudo_ll(rbm_eval *ev, size_t n, const float *v, double *pll);

/* Mean over the rows of sum_i (v_i - E[v_i | h = p(h | v)])^2: the squared
 * error of a mean-field reconstruction, per sample (model units). */
double rbm_eval_recon_err(rbm_eval *ev, size_t n, const float *v);

/* Which layer rbm_eval_log_z enumerates. */
typedef enum { RBM_ENUM_AUTO = 0, RBM_ENUM_HIDDEN = 1, RBM_ENUM_VISIBLE = 2 } rbm_enum_side;

/* log Z exactly, enumerating the 2^s states of one layer:
 *   hidden:  log Z = logsumexp_h [b^T h + sum_i softplus(c_i + W_.i^T h)]
 *   visible: log Z = logsumexp_v [c^T v + sum_j softplus(b_j + W_j. v)]
 *   Gaussian (hidden only): log Z = logsumexp_h [b^T h + sum_i ((c_i + a_i)^2 - c_i^2) / (2
 * sigma_i^2)]
 *            + sum_i log(sqrt(2 pi) sigma_i),  a = W^T h.
 * AUTO takes the smaller layer (Gaussian: the hidden one).  LZ_EINVAL if that
 * layer is larger than the enum_max given to rbm_eval_alloc, or for the
 * visible layer of Gaussian units. */
lz_status rbm_eval_log_z(rbm_eval *ev, rbm_enum_side side, double *log_z, lz_error *err);

/* log Z by annealed importance sampling (Salakhutdinov & Murray 2008) from
 * the base model along the tempered RBMs E_beta = (1 - beta) E_A + beta E
 * (rbm_visible_beta_f; h summed out, docs/rbm.md, "AIS"): runs chains,
 * steps intermediate distributions (0 = beta_0 < ... < beta_steps = 1,
 * spaced as in the paper: 500/14500 of them in [0, 0.5], 4000/14500 in
 * [0.5, 0.9], the rest in [0.9, 1]).  Run r draws from stream
 * RBM_STREAM_AIS + r of seed.  *se <- standard error of log Z: the
 * delta-method error of the log of the mean importance weight,
 * sd(w) / (sqrt(runs) mean(w)).  lw (runs) <- the log weights, or NULL. */
lz_status rbm_log_z_ais(const rbm_model *m, int runs, int steps, unsigned long seed, double *log_z,
                        double *se, double *lw, lz_error *err);

/* Reverse AIS (RAISE, Burda, Grosse & Salakhutdinov 2015; docs/rbm.md,
 * "Reverse AIS"): for each row v_n of v (n, d), one chain starts at v_n and
 * anneals back along the same path (beta from 1 to 0, one Gibbs sweep of the
 * tempered RBM an intermediate distribution); rz (n) <- log Z_A plus the sum
 * of its log p*_k - log p*_{k-1} on the way, so that
 *     log p^(v_n) = -F(v_n) - rz_n
 * is a stochastic lower bound on the log-probability of v_n under the
 * annealing model (E[exp(-rz_n)] = p_ann(v_n) exp(F(v_n))), which tends to
 * the RBM as steps grows.  Row n draws from stream RBM_STREAM_RAISE +
 * idx[n] of seed (idx NULL: n). */
lz_status rbm_raise(const rbm_model *m, size_t n, const float *v, const size_t *idx, int steps,
                    unsigned long seed, double *rz, lz_error *err);

/* ---- the log-likelihood per sample ---- */

/* What rbm_loglik found (log-likelihoods in the data's units). */
typedef struct {
    int exact;        /* 1: log Z by enumerating 2^enum_size states; 0: by AIS */
    size_t enum_size; /* rbm_enum_size(d, h, visible)                           */
    double log_z;     /* log Z (model units)                                    */
    double se;        /* standard error of log Z, so of both ll: 0 when exact   */
    double ess;       /* AIS: effective sample size of the weights (Kong 1992),
                         (sum_r w_r)^2 / sum_r w_r^2; nan when not run          */
    double ll_train;  /* mean_n log p(x_n) of v, nats; nan when n = 0          */
    double ll_test;   /* the same of vt; nan when nt = 0                        */
    /* the bracket (with a test set, when log Z is not exact or cfg->bracket):  */
    double log_z_ais;        /* AIS's log Z                                        */
    double log_z_ais_se;     /* its standard error                                 */
    double ll_test_upper;    /* mean (-F(v)) - log Z_AIS + offset: AIS's estimate,
                                a stochastic upper bound; nan when not computed    */
    double ll_test_lower;    /* mean (-F(v)) - mean rz + offset: reverse AIS's, a
                                stochastic lower bound; nan when not computed      */
    double ll_test_lower_se; /* sd(rz) / sqrt(raise rows)                       */
    size_t raise_rows;       /* the test rows reverse AIS ran from                 */
    lz_ll_tail test_tail;    /* whether a few test rows make ll_test (lz_ll_tail_of
                                of each row's -F(v) - log Z + offset)             */
} rbm_ll;

/* The log-likelihood per sample of v (n, d) and of vt (nt, d) (either may be
 * empty), in the data's units: mean_n (-F(v_n)) - log Z + rbm_ll_offset,
 * log Z exact when rbm_exact_applies(d, h, visible, cfg->exact_max_h), else
 * by AIS (cfg->ais_runs runs of cfg->ais_steps steps from cfg->seed),
 * computed once for both sets.  With a test set, when log Z is not exact or
 * cfg->bracket is set, the bracket: AIS's estimate (the upper end) and
 * reverse AIS's (the lower end) from min(nt, cfg->raise_rows) test rows
 * (all of them, or a random subset from stream RBM_STREAM_RAISE_ROWS) of
 * cfg->raise_steps steps.  docs/rbm.md, "The log-likelihood". */
lz_status rbm_loglik(const rbm_model *m, const rbm_config *cfg, size_t n, const float *v, size_t nt,
                     const float *vt, rbm_ll *out, lz_error *err);

/* Whether ll's bracket is crossed beyond its noise: reverse AIS's end above
 * AIS's by more than 2 combined standard errors (sqrt(se_lower^2 +
 * se_upper^2)).  Each end bounds the truth only in expectation and as its
 * chains approach their limit (docs/rbm.md, "The bracket"), so such a
 * crossing says more steps are needed.  *gap <- lower - upper (nats), *z <-
 * gap over the combined error (inf when that is 0); 0 when the bracket was
 * not computed. */
int rbm_bracket_crossed(const rbm_ll *ll, double *gap, double *z);

/* ph (n, h) <- p(h_j = 1 | v) of every row of v (n, d), in double: the
 * latent codes. */
lz_status rbm_latent(const rbm_model *m, size_t n, const float *v, double *ph, lz_error *err);

/* ---- sampling ---- */

/* pv (n, d) <- after `steps` Gibbs sweeps (h ~ p(h | v), then v ~ p(v | h))
 * of n chains started at v ~ Bernoulli(1/2) (binary) or v ~ N(base, I)
 * (Gaussian), the last sweep's p(v = 1 | h) (binary) or E[v | h] in the
 * data's units, shift + scale (c + W^T h) (Gaussian); chain i draws from
 * stream RBM_STREAM_SAMPLE + i of seed. */
lz_status rbm_sample(const rbm_model *m, size_t n, int steps, unsigned long seed, double *pv,
                     lz_error *err);

/* ======================================================= rbm_train.c === */

/* ---- the learning-rate schedule ---- */

/* The learning rate of update t of T (t = 0 .. T - 1, counted over the
 * whole run, every minibatch one update):
 *   none:    alpha_t = alpha
 *   linear:  alpha_t = alpha (1 - t / T)
 * so the linear rate falls by alpha / T an update, from alpha at the first
 * update to alpha / T at the last; alpha_T = 0 is where it would be after
 * the last epoch.  T = rbm_n_updates(...). */
double rbm_lr_at(double lr, int decay, long t, long T);

/* The updates of a run: epochs ceil(n / m), m = min(batch, n). */
long rbm_n_updates(size_t n, int batch, int epochs);

/* ---- training ---- */

/* The numbers of one epoch's line (nan where not computed). */
typedef struct {
    int epoch;             /* 0: before the first update                    */
    int best_epoch;        /* the epoch of the best exact ll so far (held-out
                              ll with a test set, else training ll; the
                              earliest of equals), -1 when not known        */
    double recon_err;      /* rbm_eval_recon_err on the training subset     */
    double pseudo_ll;      /* rbm_eval_pseudo_ll on the training subset     */
    double ll_train;       /* exact log-likelihood per sample, when cheap    */
    double ll_test;        /* the same on the test set                      */
    double fe_gap;         /* mean F(test subset) - mean F(train subset)    */
    double log_z;          /* exact log Z when computed                     */
    double swap_rate;      /* PT: accepted / proposed swaps in the epoch    */
    double seconds;        /* wall time since training began                */
    double update_seconds; /* of which in parameter updates                 */
} rbm_epoch;

/* Called after every epoch (and once before the first); a non-zero return
 * stops training (rbm_fit then returns LZ_ESTOP). */
typedef int (*rbm_epoch_fn)(const rbm_epoch *e, void *ctx);

/* Train m (initialised by the caller) on v (n, d) (binary, or standardised
 * for Gaussian units) with cfg (cfg->h must equal m->h, cfg->visible and
 * cfg->sigma m's; unset fields resolve as rbm_config_resolve(cfg, n)):
 * epochs of minibatch CD-k, PCD-k or PT updates (the fast kernel of
 * rbm_cd_step) in a new random order each epoch, update t at the rate
 * rbm_lr_at.  vt (nt, d) is an optional test set (NULL, 0) for the
 * free-energy gap and the test log-likelihood.  With cfg->keep_best, m ends
 * as the parameters of the epoch the last callback names as best_epoch
 * (epoch 0: the initial model).  Everything is allocated before the first
 * epoch. */
lz_status rbm_fit(rbm_model *m, const rbm_config *cfg, size_t n, const float *v, size_t nt,
                  const float *vt, rbm_epoch_fn cb, void *ctx, lz_error *err);

/* ---- one CD-k / PCD-k / PT update: the reference and the fast kernel ---- */

/* The negative chains of CD-k / PCD-k / PT: chain i draws its random states
 * from GSL stream RBM_STREAM_CHAIN + i of the seed, and keeps its hidden
 * state between updates (PCD).  With R > 1 replicas (PT), chain i has R - 1
 * tempered companions at beta_r = 1 - r / (R - 1), r = 1 .. R - 1, replica
 * r drawing from stream RBM_STREAM_PT + (r - 1) 1e6 + i, and its swaps from
 * RBM_STREAM_SWAP + i.  (Layout in rbm_impl.h.) */
typedef struct rbm_chains rbm_chains;

/* n chains of h hidden units, each with R >= 1 replicas (1: no tempering),
 * hidden states 0; NULL if out of memory or R < 1. */
rbm_chains *rbm_chains_alloc(size_t n, size_t h, int R, unsigned long seed);
/* A copy: the same hidden states, each stream at the same position. */
rbm_chains *rbm_chains_copy(const rbm_chains *c);
void rbm_chains_free(rbm_chains *c); /* NULL is a no-op */

/* One update of the lecture's CD-k on the minibatch x (mb, d), as plain
 * loops, one row and one chain at a time (docs/rbm.md, "Training", "CD-k:
 * the reference step and the fast kernel"):
 *   every chain starts from its data row x, h ~ p(h | x) (CD; PCD with
 *     start = 1), or from its kept hidden state h (PCD); then k =
 *     cfg->cd_steps times x~ ~ p(v | h), then h(x~) = p(h = 1 | x~), sampled
 *     into h except after the last step (PCD: always, the chain moves on);
 *   with u = x / sigma^2 (u = x for binary units),
 *   G_W = (1/mb) sum_x h(x) u^T - (1/mc) sum_x~ h(x~) u~^T,
 *   G_b = mean h(x) - mean h(x~),   G_c = mean u - mean u~  (binary: x - x~),
 *   learned Gaussian sigmas: G_z = mean g(x) - mean g(x~),
 *     g_i(x) = (x_i - c_i)^2 / (2 sigma_i^2) - u_i W_.i^T h(x);
 *   vel <- mu vel + lr (G - lambda [W; 0; 0; 0]),   theta <- theta + vel,
 *   z_i >= log(cfg->sigma_min^2),
 * with mu = cfg->momentum, lambda = cfg->weight_decay; when both are 0,
 * theta <- theta + lr G and vel is not touched.  CD's chains are the mb
 * rows (chains 0 .. mb-1 of ch); PCD's are all of ch (mc = its count; with
 * start, mc = mb).  vel: rbm_n_params floats in the layout of m->mem.
 * LZ_EINVAL when ch does not fit (too few chains, another h, tempered
 * replicas: the reference has none), LZ_ENOMEM. */
lz_status rbm_cd_step_ref(rbm_model *m, float *vel, const rbm_config *cfg, double lr, size_t mb,
                          const float *x, rbm_chains *ch, int start, lz_error *err);

/* The same update by the fast kernel rbm_fit runs: the minibatch's rows and
 * the chains' rows in one stack, each of `threads` OpenMP threads (<= 0:
 * as rbm_fit chooses) sampling its block of rows with single-precision
 * GEMMs and updating its block of rows of W (one sgemm over the stack).
 * It draws the same random bits as rbm_cd_step_ref, in the same order
 * chain by chain, so from the same model and chains both give the same
 * states and the same parameters up to the order of float sums.  With
 * tempered replicas (PT, docs/rbm.md, "Parallel tempering"), before the
 * chains' k steps each chain proposes swaps of hidden states between
 * neighbouring replicas (r + 1, r) for r = R - 2 .. 0, each accepted with
 * probability min(1, p_r(h_{r+1}) p_{r+1}(h_r) / (p_r(h_r) p_{r+1}(h_{r+1}))),
 * p_r the tempered marginal of h at beta_r (rbm_tempered_log_marginal_h,
 * whose constants cancel in the ratio), and after them
 * every tempered replica takes k Gibbs sweeps of its tempered RBM; the
 * gradient uses replica 0 (beta = 1) only, so with R = 1 this is PCD. */
lz_status rbm_cd_step(rbm_model *m, float *vel, const rbm_config *cfg, double lr, size_t mb,
                      const float *x, rbm_chains *ch, int start, int threads, lz_error *err);

#endif
