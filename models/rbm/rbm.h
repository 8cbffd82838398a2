/* rbm.h -- the restricted Boltzmann machine, trained by CD-k or PCD-k.
 *
 * Binary visible units v in {0,1}^d, binary hidden units h in {0,1}^h:
 *     E(v, h) = -h^T W v - c^T v - b^T h,        p(v, h) = exp(-E(v, h)) / Z.
 * Trained by contrastive divergence (CD-k, the pseudocode of the lecture
 * "Modern Generative Models: Restricted Boltzmann Machines") or with
 * persistent chains (PCD, Tieleman 2008); scored by the exact log-likelihood
 * (enumerating the smaller layer) or by annealed importance sampling from the
 * base-rate model (Salakhutdinov & Murray 2008).  docs/rbm.md opens with a
 * table of every equation and the function of this header that computes it.
 *
 * The library's files, and which calls which (an arrow: "calls functions
 * of"; nothing calls upwards, so nothing calls in a circle; checked on the
 * library's objects by tests/rbm/test_rbm_layers.sh):
 *
 *            main.c (rbm_cd)
 *              |          \
 *              v           \
 *         rbm_train.c       \       CD-k / PCD-k: rbm_fit, the reference step
 *              |      \      \      and the fast kernel, the threads' barrier
 *              |       v      v
 *              |      rbm_eval.c    double precision: free energy, pseudo-
 *              |        |           likelihood, exact log Z, AIS, rbm_loglik,
 *              v        v           rbm_latent, rbm_sample
 *            rbm_model.c            the model, its configuration, threads,
 *                                   the float conditionals, rbm_prepare,
 *                                   model files
 *
 * rbm_impl.h holds what the three files share and rbm.h does not promise
 * (inline helpers: the rows a thread owns, Bernoulli draws from random
 * bits, the float sigmoid; the chains' layout).
 *
 * Dimension letters: n samples, d visible units, h hidden units, m minibatch
 * rows (= chains), r AIS runs, s the enumerated layer, o the other layer.
 * Matrices are row-major, one sample a row; W is (h, d): row j holds the
 * weights of hidden unit j (its "filter").
 *
 * Precision: the parameters are float; training runs its minibatch products
 * as single-precision GEMMs (cblas_sgemm).  Every log-likelihood quantity
 * (free energy, pseudo-likelihood, exact log Z, AIS weights) is computed in
 * double from the float parameters through an rbm_eval.
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
#include "lz_out.h"
#include "lz_unset.h"

/* ======================================================= rbm_model.c === */

/* ---- the model ---- */

typedef struct {
    size_t d;     /* visible units                                              */
    size_t h;     /* hidden units                                               */
    float *w;     /* (h, d) weights W                                           */
    float *b;     /* (h) hidden biases                                          */
    float *c;     /* (d) visible biases                                         */
    double *base; /* (d) log-odds of the base-rate model (training marginals)   */
    float *mem;   /* the block that w, b, c point into: rbm_n_params floats     */
} rbm_model;

/* A model with W = 0, b = 0, c = 0, base = 0; NULL if out of memory. */
rbm_model *rbm_model_alloc(size_t d, size_t h);
void rbm_model_free(rbm_model *m); /* NULL is a no-op */

/* d h + d + h: the real numbers that define the distribution. */
size_t rbm_n_params(const rbm_model *m);

/* base_i <- log(p_i / (1 - p_i)), p_i = (sum_n v_ni + 1) / (n + 2): the
 * visible log-odds of the training data, smoothed so no pixel gets +-inf
 * (the base-rate model of Salakhutdinov & Murray 2008, section 4.1).
 * v (n, d) binary. */
void rbm_set_base_rate(rbm_model *m, size_t n, const float *v);

/* Initialise for training (Hinton 2010, "A practical guide", section 8):
 * W_ji ~ N(0, sd^2) from stream RBM_STREAM_INIT of seed, b = 0,
 * c = base (the base-rate log-odds; call rbm_set_base_rate first).
 * LZ_ENOMEM (m unchanged) when the random stream cannot be made. */
lz_status rbm_init(rbm_model *m, double sd, unsigned long seed, lz_error *err);

/* ---- hyperparameters ---- */

/* The learning-rate schedule over the T updates of a run (rbm_lr_at). */
typedef enum { RBM_DECAY_NONE = 0, RBM_DECAY_LINEAR = 1 } rbm_lr_decay;

typedef struct {
    int h;               /* --hidden: hidden units                           */
    int cd_steps;        /* --cd: Gibbs steps per update, the k of CD-k      */
    int pcd;             /* --pcd: keep the chains between updates           */
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
    unsigned long seed;  /* --seed                                           */
} rbm_config;

/* The defaults of rbm_cd (its option variables start from them).  lr,
 * momentum and batch are left LZ_UNSET_REAL / LZ_UNSET_INT and lr_decay
 * LZ_UNSET_INT: rbm_config_resolve gives them the defaults of the algorithm
 * (cfg->pcd). */
void rbm_config_default(rbm_config *cfg);

/* The defaults that differ between CD-k and PCD-k (docs/rbm.md, "Defaults",
 * gives their sources and the runs behind them). */
typedef struct {
    double lr;       /* alpha; with epoch_lr > 0 the largest alpha            */
    double epoch_lr; /* > 0: alpha = epoch_lr M / n (at most lr), so that the
                        rates of an epoch's n / M updates add up to epoch_lr  */
    double momentum; /* mu                                                   */
    int batch;       /* M: minibatch rows (and PCD chains)                   */
    int lr_decay;    /* an rbm_lr_decay                                      */
} rbm_algo_defaults;

/* CD-k (pcd = 0): alpha 0.1, momentum 0.5, batch 20, no decay.  PCD-k
 * (pcd = 1): alpha = 6 M / n, at most 0.3 (0.01 for n = 60000 rows in
 * minibatches of M = 100), momentum 0, batch 100, linear decay to 0. */
rbm_algo_defaults rbm_algo_default(int pcd);

/* Every field of cfg still unset (LZ_UNSET_*) <- rbm_algo_default(cfg->pcd)
 * for training on n rows; with n = 0 (not known yet) a learning rate that
 * depends on n stays unset. */
void rbm_config_resolve(rbm_config *cfg, size_t n);

/* LZ_OK, or LZ_EINVAL with a message naming the option ("--hidden 0:
 * expected 1 <= H <= 100000").  d: visible units (0 when not known yet);
 * with d known, --keep-best needs the exact log-likelihood every epoch
 * (rbm_exact_every_epoch).  Unset fields are checked as they resolve (a
 * learning rate that depends on n is not checked until resolved). */
lz_status rbm_config_check(const rbm_config *cfg, size_t d, lz_error *err);

/* The size of the layer that exact log Z enumerates, min(d, h). */
size_t rbm_enum_size(size_t d, size_t h);

/* 1 when log Z is exact for a model of this shape: min(d, h) <= exact_max_h
 * (else rbm_loglik estimates it by AIS). */
int rbm_exact_applies(size_t d, size_t h, int exact_max_h);

/* 1 when the exact log-likelihood is cheap enough to compute every epoch:
 * min(d, h) <= exact_max_h and 2^min(d,h) * max(d,h) <= RBM_EXACT_EPOCH_COST. */
int rbm_exact_every_epoch(size_t d, size_t h, int exact_max_h);
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

/* ph (n, h) <- p(h_j = 1 | v) = sigm(b_j + W_j. v), one sgemm (docs/rbm.md,
 * "The model"). */
void rbm_hidden_f(const rbm_model *m, size_t n, const float *v, float *ph);

/* pv (n, d) <- p(v_i = 1 | h) = sigm(c_i + W_.i^T h), one sgemm. */
void rbm_visible_f(const rbm_model *m, size_t n, const float *hs, float *pv);

/* ---- data preparation: binary data from what the user gives ---- */

typedef enum { RBM_BIN_THRESHOLD = 0, RBM_BIN_SAMPLE = 1, RBM_BIN_NONE = 2 } rbm_binarize;

typedef struct {
    rbm_binarize mode; /* --binarize                                        */
    double threshold;  /* --threshold: v = 1 when x / scale > threshold     */
    double scale;      /* --scale: x is divided by scale first              */
} rbm_prep;

/* out (n, d) <- binary version of data->x (n, d): y = x / scale must lie in
 * [0, 1] (else LZ_EINVAL naming the first bad value's file, line and field,
 * lz_data_where, and how to fix it); then y > threshold (threshold),
 * y ~ Bernoulli (sample, from stream `stream` of seed) or y itself, which
 * must then be 0 or 1 (none).  docs/rbm.md, "Data: binary, or made binary". */
lz_status rbm_prepare(const lz_data *data, const rbm_prep *p, unsigned long seed,
                      unsigned long stream, float *out, lz_error *err);

/* ---- model files ---- */

/* Write the model to path in os (kind "rbm", version 1) with the
 * preprocessing it was trained with and how it was trained (CD steps, as
 * the entry cd_k, and pcd).  err: the path cannot be opened. */
lz_status rbm_model_write(const rbm_model *m, const rbm_prep *p, int cd_steps, int pcd,
                          lz_outset *os, const char *path, lz_error *err);

/* Read a model written by rbm_model_write; *p gets the preprocessing,
 * *cd_steps and *pcd the training method.  Every entry and array shape is
 * checked before the model is allocated; err names the file and the entry
 * at fault. */
lz_status rbm_model_read(const char *path, rbm_model **out, rbm_prep *p, int *cd_steps, int *pcd,
                         lz_error *err);

/* ---- random streams (lz_rng_alloc_stream(seed, RBM_STREAM_* + i)) ---- */
#define RBM_STREAM_INIT 0UL
#define RBM_STREAM_ORDER 1UL
#define RBM_STREAM_MONITOR 2UL
#define RBM_STREAM_BIN_TRAIN 3UL
#define RBM_STREAM_BIN_TEST 4UL
#define RBM_STREAM_CHAIN 1000000UL  /* + chain: training chains      */
#define RBM_STREAM_AIS 2000000UL    /* + run: AIS runs               */
#define RBM_STREAM_SAMPLE 3000000UL /* + chain: rbm_sample's chains  */

/* ======================================================== rbm_eval.c === */

/* ---- evaluation in double precision ---- */

typedef struct rbm_eval rbm_eval;

/* Workspace for the double-precision computations on a model of this shape:
 * a double copy of the parameters, exp(+-W) for the pseudo-likelihood, row
 * blocks, per-thread scratch, and room to enumerate a layer of up to
 * enum_max units (0: no exact log Z).  NULL with err set if out of memory. */
rbm_eval *rbm_eval_alloc(size_t d, size_t h, int enum_max, lz_error *err);
void rbm_eval_free(rbm_eval *ev); /* NULL is a no-op */

/* Copy the model's parameters into ev (call after every change). */
void rbm_eval_sync(rbm_eval *ev, const rbm_model *m);

/* ph (n, h) <- p(h_j = 1 | v) = sigm(b_j + W_j. v)  (docs/rbm.md, "The model"). */
void rbm_eval_hidden(rbm_eval *ev, size_t n, const float *v, double *ph);

/* pv (n, d) <- p(v_i = 1 | h) = sigm(c_i + W_.i^T h); hs (n, h) any reals. */
void rbm_eval_visible(rbm_eval *ev, size_t n, const double *hs, double *pv);

/* f (n) <- F(v) = -c^T v - sum_j softplus(b_j + W_j. v); f may be NULL.
 * Returns the mean of F over the n rows (nan when n = 0). */
double rbm_eval_free_energy(rbm_eval *ev, size_t n, const float *v, double *f);

/* pll (n) <- sum_i log p(v_i | v_-i) = sum_i log sigm(F(v^(i)) - F(v)), v^(i)
 * being v with bit i flipped: every bit, exactly; pll may be NULL.  Returns
 * the mean over the rows (nats per sample). */
double rbm_eval_pseudo_ll(rbm_eval *ev, size_t n, const float *v, double *pll);

/* Mean over the rows of sum_i (v_i - p(v_i = 1 | h = p(h | v)))^2: the
 * squared error of a mean-field reconstruction, per sample. */
double rbm_eval_recon_err(rbm_eval *ev, size_t n, const float *v);

/* Which layer rbm_eval_log_z enumerates. */
typedef enum { RBM_ENUM_AUTO = 0, RBM_ENUM_HIDDEN = 1, RBM_ENUM_VISIBLE = 2 } rbm_enum_side;

/* log Z exactly, enumerating the 2^s states of one layer:
 *   hidden:  log Z = logsumexp_h [b^T h + sum_i softplus(c_i + W_.i^T h)]
 *   visible: log Z = logsumexp_v [c^T v + sum_j softplus(b_j + W_j. v)]
 * AUTO takes the smaller layer.  LZ_EINVAL if that layer is larger than
 * the enum_max given to rbm_eval_alloc. */
lz_status rbm_eval_log_z(rbm_eval *ev, rbm_enum_side side, double *log_z, lz_error *err);

/* log Z by annealed importance sampling (Salakhutdinov & Murray 2008) from
 * the base-rate model p_A(v) prop. to exp(base^T v) along
 *   p*_k(v) = exp(((1 - beta_k) base + beta_k c)^T v) prod_j (1 + exp(beta_k (b_j + W_j. v))),
 * runs chains, steps intermediate distributions (0 = beta_0 < ... <
 * beta_steps = 1, spaced as in the paper: 500/14500 of them in [0, 0.5],
 * 4000/14500 in [0.5, 0.9], the rest in [0.9, 1]).  Run r draws from
 * stream RBM_STREAM_AIS + r of seed.  *se <- standard error of log Z: the
 * delta-method error of the log of the mean importance weight,
 * sd(w) / (sqrt(runs) mean(w)).  lw (runs) <- the log weights, or NULL. */
lz_status rbm_log_z_ais(const rbm_model *m, int runs, int steps, unsigned long seed,
                        double *log_z, double *se, double *lw, lz_error *err);

/* ---- the log-likelihood per sample ---- */

/* What rbm_loglik found. */
typedef struct {
    int exact;        /* 1: log Z by enumerating 2^enum_size states; 0: by AIS */
    size_t enum_size; /* rbm_enum_size(d, h)                                    */
    double log_z;     /* log Z                                                  */
    double se;        /* standard error of log Z, so of both ll: 0 when exact   */
    double ess;       /* AIS: effective sample size of the weights (Kong 1992),
                         (sum_r w_r)^2 / sum_r w_r^2; nan when exact            */
    double ll_train;  /* mean_n log p(v_n) of v, nats; nan when n = 0          */
    double ll_test;   /* the same of vt; nan when nt = 0                        */
} rbm_ll;

/* The log-likelihood per sample of v (n, d) and of vt (nt, d) (either may be
 * empty): mean_n (-F(v_n)) - log Z, log Z exact when rbm_exact_applies(d, h,
 * cfg->exact_max_h), else by AIS (cfg->ais_runs runs of cfg->ais_steps
 * steps from cfg->seed), computed once for both sets.  docs/rbm.md, "The
 * log-likelihood". */
lz_status rbm_loglik(const rbm_model *m, const rbm_config *cfg, size_t n, const float *v,
                     size_t nt, const float *vt, rbm_ll *out, lz_error *err);

/* ph (n, h) <- p(h_j = 1 | v) of every row of v (n, d), in double: the
 * latent codes. */
lz_status rbm_latent(const rbm_model *m, size_t n, const float *v, double *ph, lz_error *err);

/* ---- sampling ---- */

/* pv (n, d) <- p(v = 1 | h) after `steps` Gibbs sweeps (h ~ p(h | v), then
 * v ~ p(v | h)) of n chains started at v ~ Bernoulli(1/2); chain i draws
 * from stream RBM_STREAM_SAMPLE + i of seed. */
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
    double seconds;        /* wall time since training began                */
    double update_seconds; /* of which in parameter updates                 */
} rbm_epoch;

/* Called after every epoch (and once before the first); a non-zero return
 * stops training (rbm_fit then returns LZ_ESTOP). */
typedef int (*rbm_epoch_fn)(const rbm_epoch *e, void *ctx);

/* Train m (initialised by the caller) on v (n, d) binary with cfg (cfg->h
 * must equal m->h; unset fields resolve as rbm_config_resolve(cfg, n)): epochs
 * of minibatch CD-k or PCD-k updates (the fast kernel of rbm_cd_step) in a
 * new random order each epoch, update t at the rate rbm_lr_at.  vt (nt, d)
 * is an optional test set (NULL, 0) for the free-energy gap and the test
 * log-likelihood.  With cfg->keep_best, m ends as the parameters of the
 * epoch the last callback names as best_epoch (epoch 0: the initial model).
 * Everything is allocated before the first epoch. */
lz_status rbm_fit(rbm_model *m, const rbm_config *cfg, size_t n, const float *v, size_t nt,
                  const float *vt, rbm_epoch_fn cb, void *ctx, lz_error *err);

/* ---- one CD-k / PCD-k update: the reference and the fast kernel ---- */

/* The negative chains of CD-k / PCD-k: chain i draws its Bernoulli states
 * from GSL stream RBM_STREAM_CHAIN + i of the seed, and keeps its hidden
 * state between updates (PCD).  (Layout in rbm_impl.h.) */
typedef struct rbm_chains rbm_chains;

/* n chains of h hidden units, hidden states 0; NULL if out of memory. */
rbm_chains *rbm_chains_alloc(size_t n, size_t h, unsigned long seed);
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
 *   G_W = (1/mb) sum_x h(x) x^T - (1/mc) sum_x~ h(x~) x~^T,
 *   G_b = mean h(x) - mean h(x~),   G_c = mean x - mean x~;
 *   vel <- mu vel + lr (G - lambda [W; 0; 0]),   theta <- theta + vel,
 * with mu = cfg->momentum, lambda = cfg->weight_decay; when both are 0,
 * theta <- theta + lr G and vel is not touched.  CD's chains are the mb
 * rows (chains 0 .. mb-1 of ch); PCD's are all of ch (mc = its count; with
 * start, mc = mb).  vel: rbm_n_params floats in the layout of m->mem.
 * LZ_EINVAL when ch does not fit (too few chains, another h), LZ_ENOMEM. */
lz_status rbm_cd_step_ref(rbm_model *m, float *vel, const rbm_config *cfg, double lr, size_t mb,
                          const float *x, rbm_chains *ch, int start, lz_error *err);

/* The same update by the fast kernel rbm_fit runs: the minibatch's rows and
 * the chains' rows in one stack, each of `threads` OpenMP threads (<= 0:
 * as rbm_fit chooses) sampling its block of rows with single-precision
 * GEMMs and updating its block of rows of W (one sgemm over the stack).
 * It draws the same random bits as rbm_cd_step_ref, in the same order
 * chain by chain, so from the same model and chains both give the same
 * states and the same parameters up to the order of float sums. */
lz_status rbm_cd_step(rbm_model *m, float *vel, const rbm_config *cfg, double lr, size_t mb,
                      const float *x, rbm_chains *ch, int start, int threads, lz_error *err);

#endif
