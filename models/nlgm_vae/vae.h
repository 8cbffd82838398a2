/* vae.h -- the non-linear Gaussian model (NLGM) trained as a variational
 * autoencoder (docs/vae.md; the lectures "Variational Autoencoders Part 2",
 * from "NLGMs" to "The Variational AutoEncoder", and the VAE notes of Rios
 * and of Shan).
 *
 * Generative model: z ~ N(0, I_k); x | z ~ N(f(z), sigma^2 I) (Gaussian) or
 * Bernoulli(sigm(f(z))) (Bernoulli), f an MLP decoder or f(z) = A z + b.
 * Approximate posterior Q(z, x) = N(mu(x), diag exp(lv(x))) from an MLP encoder
 * with two heads.  Loss per datum = -ELBO = -(1/L) sum_l log p(x | z_l) + KL.
 *
 * Dimension letters: n data rows, d data, k latent, m minibatch rows, L samples
 * of z per datum (decoder rows r = L m, row l m + i is sample l of datum i),
 * h hidden units.  Row-major, one sample a row.
 *
 * Units: the core works on "model space" data (docs/vae.md, "Units, scaling
 * and binarising").  Bernoulli: x / scale (scale = --scale V), binarised or
 * not, in [0, 1].  Gaussian: (x_j - shift_j) / scale_j with shift the
 * training mean and scale_j the column's standard deviation (--standardize
 * column, the default: the fit does not depend on the columns' units) or the
 * overall one (--standardize overall: one number, so the geometry of data in
 * one unit is kept); every density reported is converted back to the data's
 * units by log p(x) = log p(x~) - sum_j log scale_j (vae_ll_offset), and
 * sigma^2 likewise (vae_sigma2).
 *
 * The library, one job a file, each calling only the ones above it:
 *   vae_layers.c   the layers as forward/backward pairs (vae_layers.h)
 *   vae_model.c    configuration, parameter block, initialisation, model files
 *   vae_prepare.c  the map data <-> model space
 *   vae_est.c      the gradient estimators' own pieces: the score-function
 *                  gradient of the heads, the IWAE bound's weights, the
 *                  baselines (a running mean, NVIL's network)
 *   vae.c          workspace, forward, backward (ELBO or IWAE, reparameterised
 *                  or score function), Adam, the gradient variance, training
 *                  (vae_fit)
 *   vae_eval.c     evaluation: log-likelihood estimate, encoder and decoder
 *                  means, draws, the manifold
 *
 * The real type vae_real is float or double (vae_real.h): the same source is
 * built as lznlgm_vae (float) and lznlgm_vae_double.
 */
#ifndef VAE_H
#define VAE_H

#include <stddef.h>
#include <stdio.h>

#include <gsl/gsl_rng.h>

#include "lz_data.h"
#include "lz_error.h"
#include "lz_model.h"
#include "lz_out.h"
#include "lz_prob.h"
#include "vae_layers.h"
#include "vae_real.h"

#define VAE_MAX_LAYERS 8
#define VAE_MAX_TENSORS (4 * VAE_MAX_LAYERS + 8)

typedef enum { VAE_BERNOULLI = 0, VAE_GAUSSIAN = 1 } vae_lik;
typedef enum { VAE_DEC_MLP = 0, VAE_DEC_LINEAR = 1 } vae_dec;
typedef enum { VAE_BIN_NONE = 0, VAE_BIN_THRESHOLD = 1, VAE_BIN_DYNAMIC = 2 } vae_bin;
/* Gaussian: each column by its own standard deviation, or all by the overall
 * one (columns in one unit, such as pixels) */
typedef enum { VAE_STD_COLUMN = 0, VAE_STD_OVERALL = 1 } vae_std;
/* docs/vae.md, "Gradient estimators": the encoder's gradient of the
 * reconstruction term by the reparameterisation or by the score function */
typedef enum { VAE_EST_REPARAM = 0, VAE_EST_SCORE = 1 } vae_estimator;
/* the score function's control variate: none, a running mean, NVIL's network */
typedef enum { VAE_BASE_NONE = 0, VAE_BASE_MEAN = 1, VAE_BASE_NET = 2 } vae_baseline;
/* docs/vae.md, "Objectives": the ELBO (with a KL weight beta) or the IWAE bound */
typedef enum { VAE_OBJ_ELBO = 0, VAE_OBJ_IWAE = 1 } vae_objective;

/* Every random number of the VAE comes from one stream of the seed,
 * lz_rng_alloc_stream(seed, stream), so that each draw repeats on its own
 * whatever else a run does (docs/vae.md, "Random streams").  The training rows
 * on which ll_train is estimated are the one exception: they are drawn from
 * seed 0 (lz_rng_alloc(0)), the same rows for every seed. */
typedef enum {
    VAE_STREAM_INIT = 0,      /* the initial weights and biases (vae_init)             */
    VAE_STREAM_TRAIN = 1,     /* each epoch's minibatch order, then each step's eps    */
    VAE_STREAM_BIN_TRAIN = 2, /* dynamic binarisation: a new draw of every training
                                 value each time a minibatch uses it                   */
    VAE_STREAM_TEST_LOSS = 3, /* the one z per test row of the per-epoch test loss,
                                 the same draws every epoch                            */
    VAE_STREAM_BIN_TEST = 4,  /* dynamic binarisation: the one draw of the test set   */
    VAE_STREAM_BIN_EVAL = 5,  /* dynamic binarisation: the one draw of the training
                                 rows scored after training (ll_train, and latent and
                                 recon without a test set)                             */
    VAE_STREAM_IW_TEST = 6,   /* the importance samples of ll_test                     */
    VAE_STREAM_IW_TRAIN = 7,  /* the importance samples of ll_train                    */
    VAE_STREAM_PRIOR = 8,     /* z ~ N(0, I) of the samples file                       */
    VAE_STREAM_BASELINE = 9,  /* the initial weights of NVIL's baseline network        */
    VAE_STREAM_GRAD_VAR = 10  /* --grad-var: the fixed minibatch (its rows, then their
                                 dynamic binarisation), then every measurement's eps   */
} vae_stream;

/* Largest --iw K: the workspace holds K decoder rows (K x (d + widths)
 * reals: 0.5 GB for d = 784 and a 400-unit decoder). */
#define VAE_IW_MAX 100000

/* Rows of the reconstruction file: the first rows of the evaluation set. */
#define VAE_N_RECON 64

/* ------------------------------------------------------------------ */
/* configuration and parameters (vae_model.c) */

/* The architecture: everything that fixes the parameter block's layout. */
typedef struct {
    size_t d;                   /* data dimension                          */
    size_t k;                   /* latent dimension                        */
    size_t n_enc;               /* encoder hidden layers (0: linear heads) */
    size_t enc[VAE_MAX_LAYERS]; /* their widths                            */
    size_t n_dec;               /* decoder hidden layers (0 when linear)   */
    size_t dec[VAE_MAX_LAYERS]; /* their widths                            */
    vae_act act;                /* hidden activation                       */
    vae_lik lik;                /* likelihood of x given z                 */
    vae_dec decoder;            /* mlp, or linear f(z) = A z + b           */
    int learn_sigma2;           /* Gaussian: 1 learned, 0 fixed            */
} vae_arch;

/* Hyperparameters of a training run, and what its evaluation computes. */
typedef struct {
    vae_arch arch;
    int epochs;              /* passes over the training data                 */
    size_t batch;            /* minibatch rows m                              */
    double lr;               /* Adam step size                                */
    double beta1, beta2;     /* Adam moment decays (0.9, 0.999)               */
    double adam_eps;         /* Adam's epsilon (1e-8)                         */
    int samples;             /* L: samples of z per datum in training (the K
                                of the IWAE bound)                            */
    vae_objective objective; /* the ELBO or the IWAE bound                */
    double beta;             /* ELBO: the KL term's weight (1: the ELBO)      */
    int kl_warmup;           /* E: the weight rises from 0 to beta over E epochs */
    vae_estimator estimator; /* the encoder's gradient of the reconstruction */
    vae_baseline baseline;   /* score function: its control variate        */
    int grad_var;            /* N draws of each estimator's gradient variance
                                after every epoch (0: none)                   */
    double sigma2;           /* Gaussian: fixed sigma^2 (vae_sigma2's units); 0: learned */
    double scale;            /* Bernoulli: data are divided by this           */
    vae_std standardize;     /* Gaussian: per column or overall               */
    vae_bin binarize;        /* Bernoulli: none, threshold 1/2, dynamic       */
    unsigned long seed;      /* the streams of vae_stream                     */
    /* evaluation (vae_evaluate) */
    int iw;            /* K: importance samples of the final estimate   */
    int iw_train_rows; /* ll_train on at most this many training rows (0: all) */
    int n_samples;     /* draws from the model                          */
    int grid;          /* k = 2: the manifold's G x G grid              */
} vae_config;

/* Defaults: the PyTorch example's (784-400-20, ReLU, Bernoulli, Adam 1e-3,
 * batch 128, one sample, 10 epochs; the ELBO, beta 1, no warm-up, the
 * reparameterised gradient), k = 20, hidden 400, K = 100, ll_train on 10000
 * rows, 64 draws, a 20 x 20 grid, no gradient-variance measurement. */
void vae_config_default(vae_config *c);

/* Check a configuration; err names the option at fault ("-k 0: expected ..."). */
lz_status vae_config_check(const vae_config *c, lz_error *err);

/* The parameters: a struct of pointers into one block (llm.c).  The
 * gradients use the same struct over a second block of the same layout. */
typedef struct {
    vae_real *enc_w[VAE_MAX_LAYERS]; /* layer l: (enc[l], c_l), c_0 = d, c_l = enc[l-1]      */
    vae_real *enc_b[VAE_MAX_LAYERS]; /* (enc[l])                                             */
    vae_real *head_w;                /* (2k, c_e): rows 0..k-1 -> mu, rows k..2k-1 -> log s2  */
    vae_real *head_b;                /* (2k)                                                 */
    vae_real *dec_w[VAE_MAX_LAYERS]; /* layer l: (dec[l], c_l), c_0 = k, c_l = dec[l-1]      */
    vae_real *dec_b[VAE_MAX_LAYERS]; /* (dec[l])                                             */
    vae_real *out_w;                 /* (d, c_o), c_o = dec[n_dec-1], or k when linear       */
    vae_real *out_b;                 /* (d)                                                  */
    vae_real *log_sigma2;            /* (1) Gaussian only: log sigma^2 in model space        */
} vae_params;

/* One named tensor of the block: for model files, the gradient check. */
typedef struct {
    char name[32];
    size_t rows, cols;
    size_t offset; /* into the block */
} vae_tensor;

typedef struct {
    vae_arch a;
    size_t n_block;   /* reals in the parameter block                     */
    vae_real *block;  /* (n_block) parameters                             */
    vae_real *gblock; /* (n_block) gradients                              */
    vae_real *adam_m; /* (n_block) Adam first moments                     */
    vae_real *adam_v; /* (n_block) Adam second moments                    */
    long adam_t;      /* Adam steps taken                                 */
    vae_params p, g;  /* views of block and gblock                        */
    size_t n_tensors;
    vae_tensor t[VAE_MAX_TENSORS];
    /* data <-> model space (see the top of this file) */
    double *shift;       /* (d) subtracted from the data (Gaussian: the mean) */
    double *scale;       /* (d) the data are divided by this after the shift  */
    vae_std standardize; /* Gaussian: how scale was set                    */
    vae_bin binarize;    /* Bernoulli: how the data were binarised            */
    char *map_file;      /* the model file the map was read from (vae_map_get),
                            or NULL: set from the training data and options */
} vae_model;

/* A new model with the given architecture (parameters zero, shift 0, scale 1);
 * NULL with err set on failure. */
vae_model *vae_model_alloc(const vae_arch *a, lz_error *err);
/* Free what vae_model_alloc allocated; NULL is a no-op. */
void vae_model_free(vae_model *mod);

/* The tensors of an architecture in block order (t may be NULL): the count. */
size_t vae_tensors(const vae_arch *a, vae_tensor *t);
/* Append tensor NAME (rows, cols) at offset *off of a block (t may be NULL:
 * count only): ++*n, and *off moves past it, rounded up to VAE_ALIGN_REALS. */
void vae_add_tensor(vae_tensor *t, size_t *n, size_t *off, const char *name, size_t rows,
                    size_t cols);

/* Free parameters in the sense of the summary: every weight and bias, plus
 * sigma^2 when it is learned. */
size_t vae_n_params(const vae_model *mod);

/* LZ_OK when every parameter, and the Gaussian sigma~^2 = exp(log sigma~^2),
 * is finite: checked after each epoch's last step, whose loss the minibatch
 * check never sees; else LZ_ENUMERIC, err naming epoch ep and advising a
 * smaller --lr (and `also`, e.g. " or --alpha", then vae_sigma2_hint). */
lz_status vae_check_params(const vae_model *mod, int ep, const char *also, lz_error *err);

/* The tail of a "not finite" message's advice after "try a smaller --lr":
 * ", or a larger --sigma2" for a Gaussian model with sigma~^2 fixed, else "". */
const char *vae_sigma2_hint(const vae_model *mod);

/* The model's short name: "vae-mlp-bernoulli", "vae-linear-gaussian", ... */
const char *vae_model_name(const vae_model *mod);

/* The name of a training run: the model's, then "-score" (and "-mean" or
 * "-net") for the score-function estimator, "-iwaeK" for the IWAE bound,
 * "-betaB" for a KL weight B != 1: "vae-mlp-bernoulli-iwae5".  buf (cap). */
void vae_run_name(const vae_model *mod, const vae_config *c, char *buf, size_t cap);

/* The latent dimension when -k is not given: VAE_K_DEFAULT, or d - 1 for data
 * of d <= VAE_K_DEFAULT columns (1 when d = 1): a latent space smaller than
 * the data's (lz_default_k, the rule pca_iter and lgm_em use with 2). */
#define VAE_K_DEFAULT 20
size_t vae_default_k(size_t d);

/* Fewer Adam steps than this in a whole run (epochs x minibatches an epoch)
 * leave a VAE far from trained: the program says so (vae_steps_note). */
#define VAE_FEW_STEPS 1000
/* The number of epochs when --epochs is not given: VAE_EPOCHS_DEFAULT (the
 * PyTorch example's, for MNIST's 469 minibatches an epoch), or as many as
 * make VAE_FEW_STEPS Adam steps when n rows make fewer minibatches of batch
 * (150 rows: 1000 epochs of 2 steps; docs/vae.md, "Options"). */
#define VAE_EPOCHS_DEFAULT 10
int vae_default_epochs(size_t n, size_t batch);
/* Whether a program prints epoch e of E as it trains: every epoch when
 * E <= 100, else the first 10, every (E / 50)-th and the last (the trace
 * file has them all). */
int vae_epoch_shown(int e, int E);
/* buf <- a one-line note when c->epochs over n rows in minibatches of
 * c->batch make fewer than VAE_FEW_STEPS steps: 1; else 0 and buf "". */
int vae_steps_note(const vae_config *c, size_t n, char *buf, size_t cap);

/* The KL weight of minibatch step t = 0, 1, ... with nb minibatches an epoch
 * (docs/vae.md, "beta and the KL warm-up"): beta min(1, t / (E nb)) with
 * E = c->kl_warmup, or beta when E = 0. */
double vae_kl_weight(const vae_config *c, long t, size_t nb);

/* PyTorch's nn.Linear initialisation, W and b ~ U(-1/sqrt(c), 1/sqrt(c)) for a
 * layer of c inputs, drawn in block order from stream VAE_STREAM_INIT of seed;
 * log sigma^2 <- 0 (the standardised data have unit average variance), or the
 * fixed value sigma2 in vae_sigma2's units when sigma2 > 0.  Resets Adam.  Set the
 * data map (vae_set_data_map) first: the fixed value depends on the scale.
 * On failure (out of memory) the model is left as it was. */
lz_status vae_init(vae_model *mod, unsigned long seed, double sigma2, lz_error *err);

/* Write the model (kind "vae", version 2) as `path` of the output set;
 * vae_model_read reads versions 1 (one overall scale) and 2. */
lz_status vae_model_write(const vae_model *mod, lz_outset *os, const char *path, lz_error *err);
/* Read a model file; *out NULL with err naming the file and entry on failure. */
lz_status vae_model_read(const char *path, vae_model **out, lz_error *err);

/* ------------------------------------------------------------------ */
/* data <-> model space (vae_prepare.c; docs/vae.md, "Units, scaling and
 * binarising") */

/* Fix the map data -> model space from the training data: Gaussian, shift =
 * column means and scale_j = the column's standard deviation (a constant
 * column: |mean|, or 1 when it is 0) or, with c->standardize overall, the
 * overall standard deviation, from lz_data_moments (values too large for a
 * variance are an error, rounding noise is no variance; an error if every
 * column is constant); var (d) <- the column variances when var != NULL.
 * Bernoulli: shift = 0, scale = c->scale and the binarisation c->binarize;
 * var is not touched. */
lz_status vae_set_data_map(vae_model *mod, const vae_config *c, const lz_data *train, double *var,
                           lz_error *err);

/* *out <- a new array (n, d): the data in model space, (x - shift) / scale,
 * with the threshold binarisation applied.  With dynamic binarisation the
 * grey levels are kept when bin is NULL (training data: vae_fit draws anew at
 * every use) and drawn once from bin otherwise (data that are scored).  The
 * data are checked first: d columns as the model, and for the Bernoulli
 * likelihood every value in [0, 1] after the scale (err names the file, line
 * and field, and says how to rescale or binarise).  *out NULL on failure. */
lz_status vae_prepare(const vae_model *mod, const lz_data *data, gsl_rng *bin, vae_real **out,
                      lz_error *err);

/* x (m, d) <- E[x | z] from the decoder outputs a (m, d) = f(z): Bernoulli
 * sigm(a), probabilities; Gaussian shift + scale a, data units. */
void vae_to_data_space(const vae_model *mod, size_t m, const vae_real *a, double *x);

/* log p(x) in data units = log p(x~) in model space + vae_ll_offset
 * (Gaussian: -sum_j log scale_j; Bernoulli: 0). */
double vae_ll_offset(const vae_model *mod);

/* sigma^2 (NaN for the Bernoulli likelihood): --standardize overall, in data
 * units; column, as a fraction of each column's variance (column j's noise
 * variance is sigma^2 scale_j^2). */
double vae_sigma2(const vae_model *mod);
/* The units vae_sigma2 is in, for messages: "data units" or "of each column's
 * variance". */
const char *vae_sigma2_units(const vae_model *mod);

/* The data map in a model file (standardize, scale, shift), written and read
 * by vae_model.c and cvae_model.c alike; read checks every value. */
void vae_map_put(FILE *f, const vae_model *mod);
lz_status vae_map_get(const lz_model *m, const char *path, vae_model *mod, lz_error *err);

/* ------------------------------------------------------------------ */
/* the network and its training (vae.c; docs/vae.md, "The training loss,
 * step by step") */

/* Activations, gradients of activations and the noise of a batch, for up to
 * m_max decoder rows (and m_max encoder rows).  Allocated once. */
typedef struct {
    size_t m_max;
    vae_real *x;                      /* (m_max, d) a gathered minibatch           */
    vae_real *enc_h[VAE_MAX_LAYERS];  /* (m_max, enc[l]) encoder activations       */
    vae_real *enc_dh[VAE_MAX_LAYERS]; /* (m_max, enc[l]) their gradients           */
    vae_real *head;                   /* (m_max, 2k) [mu | log s2]                 */
    vae_real *dhead;                  /* (m_max, 2k)                               */
    vae_real *eps;                    /* (m_max, k) N(0, I) noise, row l m + i     */
    vae_real *z;                      /* (m_max, k)                                */
    vae_real *dz;                     /* (m_max, k)                                */
    vae_real *dec_h[VAE_MAX_LAYERS];  /* (m_max, dec[l]) decoder activations       */
    vae_real *dec_dh[VAE_MAX_LAYERS]; /* (m_max, dec[l])                           */
    vae_real *out;                    /* (m_max, d) decoder output a (logits/means) */
    vae_real *p;                      /* (m_max, d) Bernoulli: sigm(a)             */
    vae_real *dout;                   /* (m_max, d)                                */
    double *nll;                      /* (m_max) -log p(x | z) per decoder row     */
    double *sq;                       /* (m_max) Gaussian: |x - a|^2 per row       */
    double *kl;                       /* (m_max) KL per encoder row                */
    double *lw;                       /* (m_max) importance log-weights            */
    double *wt;                       /* (m_max) IWAE: normalised weights w~       */
    double *gap;                      /* (m_max) IWAE: log mean w - mean log w     */
    size_t bad_row;                   /* vae_loglik_rows' LZ_ENUMERIC: the row (0-based) whose
                                         log-weights were not finite; SIZE_MAX otherwise */
} vae_workspace;

vae_workspace *vae_workspace_alloc(const vae_model *mod, size_t m_max, lz_error *err);
/* Free what vae_workspace_alloc allocated; NULL is a no-op. */
void vae_workspace_free(vae_workspace *ws);

/* The encoder on x (m, d): ws->head (m, 2k) <- [mu | log s2]. */
void vae_encode(const vae_model *mod, vae_workspace *ws, const vae_real *x, size_t m);

/* The decoder on z (r, k): ws->out (r, d) <- f(z) (Bernoulli logits, or
 * Gaussian means in model space). */
void vae_decode(const vae_model *mod, vae_workspace *ws, const vae_real *z, size_t r);

/* ws->nll (L m) <- -log p(x_i | z) in model space for every decoder row
 * l m + i of the last vae_decode, scored against row i of x (m, d). */
void vae_likelihood_forward(const vae_model *mod, vae_workspace *ws, const vae_real *x, size_t m,
                            size_t L);

/* The loss of a minibatch x (m, d) with the noise ws->eps (L m, k), in model
 * space: *recon <- sum_i (1/L) sum_l -log p(x_i | z_li), *kl <- sum_i KL_i.
 * The loss is *recon + *kl; every value backward needs stays in ws. */
void vae_forward(const vae_model *mod, vae_workspace *ws, const vae_real *x, size_t m, size_t L,
                 double *recon, double *kl);

/* What a minibatch's loss is and how its gradient is estimated (docs/vae.md,
 * "Gradient estimators" and "Objectives"). */
typedef struct {
    vae_objective objective; /* ELBO: sum_i [(1/L) sum_l nll_li + beta KL_i];
                                IWAE: sum_i -L_K(x_i) with K = L              */
    double beta;             /* ELBO: the KL weight                           */
    vae_estimator estimator; /* the encoder's gradient of the nll term (IWAE:
                                reparameterised only)                         */
    const double *base;      /* (m) score function: each row's baseline of its
                                nll (the learning signal); NULL: none (0)     */
} vae_loss;

/* The ELBO with the reparameterised gradient: what vae_forward and
 * vae_backward compute. */
#define VAE_LOSS_ELBO ((vae_loss){VAE_OBJ_ELBO, 1.0, VAE_EST_REPARAM, NULL})

/* vae_forward for the loss lo: *recon and *kl as vae_forward (the -ELBO's
 * two parts, beta aside); *obj (may be NULL) <- the value of lo, summed over
 * the rows: ELBO: *recon + beta *kl; IWAE: sum_i -L_K(x_i), estimated as
 * -[ELBO_i + log (1/K) sum_l w_li - (1/K) sum_l log w_li] (docs/vae.md, "The
 * IWAE bound"; ws->wt and ws->gap keep the weights for the backward).  ws
 * must hold L m rows. */
void vae_forward_loss(const vae_model *mod, vae_workspace *ws, const vae_real *x, size_t m,
                      size_t L, const vae_loss *lo, double *recon, double *kl, double *obj);

/* Zero the gradient block. */
void vae_zero_grad(vae_model *mod);

/* Accumulate into mod->g the gradient estimate of the loss lo of the last
 * vae_forward_loss (same x, m, L, lo): the decoder's by backpropagation; the
 * encoder's through z = mu + sigma eps (reparameterised) or by the score
 * function, (nll - base) grad log Q(z | x), the KL term's in closed form. */
void vae_backward_loss(vae_model *mod, vae_workspace *ws, const vae_real *x, size_t m, size_t L,
                       const vae_loss *lo);

/* Accumulate the gradient of the loss of the last vae_forward (same x, m, L)
 * into mod->g; sigma^2's only when it is learned. */
void vae_backward(vae_model *mod, vae_workspace *ws, const vae_real *x, size_t m, size_t L);

/* One Adam step over the whole block (Kingma & Ba 2015, PyTorch's form):
 * m <- b1 m + (1-b1) g;  v <- b2 v + (1-b2) g^2;
 * theta <- theta - lr/(1-b1^t) m / (sqrt(v)/sqrt(1-b2^t) + eps). */
void vae_adam_step(vae_model *mod, double lr, double beta1, double beta2, double eps);

/* ------------------------------------------------------------------ */
/* the estimators' own pieces (vae_est.c), in the layers' conventions
 * (vae_layers.h: outputs first, backward accumulates) */

/* The score-function gradient of the heads (docs/vae.md, "Gradient
 * estimators"; Rios's "Score function estimator"): for decoder row
 * r = l m + i, with g = dloss (nll_r - base_i) (base NULL: 0),
 * dmu_ij += g eps_rj / sigma_ij;  dlv_ij += g (eps_rj^2 - 1) / 2,
 * the gradient of g log Q(z_r | x_i) at z_r = mu_i + sigma_i eps_r held fixed.
 * dhead, head (m, 2k); nll (L m); eps (L m, k); base (m). */
void vae_score_backward(vae_real *dhead, const double *nll, const double *base,
                        const vae_real *head, const vae_real *eps, size_t m, size_t L, size_t k,
                        double dloss);

/* The importance weights of the IWAE bound (docs/vae.md, "The IWAE bound"):
 * lw (K m) <- log w_r = -nll_r - 1/2 sum_j (z_rj^2 - eps_rj^2 - lv_ij);
 * wt (K m) <- w~_r = w_r / sum_l w_(l m + i);
 * gap (m) <- log (1/K) sum_l w_(l m + i) - (1/K) sum_l log w_(l m + i).
 * nll (K m); z, eps (K m, k); head (m, 2k). */
void vae_iwae_forward(double *lw, double *wt, double *gap, const double *nll, const vae_real *z,
                      const vae_real *eps, const vae_real *head, size_t m, size_t K, size_t k);
/* dz (K m, k) += d(-gap)/dz through the prior's term of log w:
 * (w~_r - 1/K) z_r.  (The nll of row r gets the weight w~_r: the caller's;
 * the lv terms sum to 0 over the K rows of a datum.) */
void vae_iwae_backward(vae_real *dz, const double *wt, const vae_real *z, size_t m, size_t K,
                       size_t k);

/* ------------------------------------------------------------------ */
/* the baselines of the score-function estimator (vae_est.c; docs/vae.md,
 * "Baselines") */

/* NVIL's (Mnih & Gregor 2014) control variates of the learning signal, here
 * each row's nll = -log p(x | z): a running mean c of the minibatches' mean
 * nll (c <- a c + (1 - a) mean, a = 0.8) with a running variance v of the
 * deviations, and a network C(x) (d -> 100 tanh -> 1) trained by Adam to
 * predict (nll - c) / s, s = max(1, sqrt v).  Baseline "mean": c; "net":
 * c + s C(x).  Not part of the model: training state only. */
typedef struct vae_baselines vae_baselines;

/* Baselines for rows of width d, up to m_max rows at a time; with_net: also
 * the network, its weights drawn from stream VAE_STREAM_BASELINE of seed.
 * NULL with err set on failure. */
vae_baselines *vae_baselines_alloc(size_t d, size_t m_max, int with_net, unsigned long seed,
                                   lz_error *err);
/* Free what vae_baselines_alloc allocated; NULL is a no-op. */
void vae_baselines_free(vae_baselines *b);

/* base (m) <- the baseline of kind of each row of x (m, d): none 0, mean c
 * (0 before the first update), net c + s C(x). */
void vae_baselines_predict(vae_baselines *b, vae_baseline kind, const vae_real *x, size_t m,
                           double *base);

/* Learn from one minibatch x (m, d) whose rows drew L samples each with the
 * signals nll (L m), row l m + i for sample l of datum i: the targets (the
 * mean nll of each datum) against the c and s before the update, then c and
 * v, then one Adam step of the network (with lr, beta1, beta2, adam_eps of c). */
void vae_baselines_update(vae_baselines *b, const vae_config *c, const vae_real *x, size_t m,
                          size_t L, const double *nll);

/* ------------------------------------------------------------------ */
/* the variance of the gradient estimators (vae.c; docs/vae.md, "Measuring
 * the variance") */

/* The estimators measured, in this order: reparam; score with none, mean,
 * net. */
#define VAE_N_GRADVAR 4

typedef struct {
    vae_estimator estimator;
    vae_baseline baseline;
    double mean_var;  /* per-parameter variance of the estimate, averaged   */
    double total_var; /* its sum over the encoder's parameters              */
    double snr;       /* |mean|^2 / total_var, mean over the N draws        */
} vae_gradvar;

/* N >= 2 independent single-sample estimates of the gradient of the mean
 * -ELBO per datum of x (m, d) with respect to the encoder's parameters (its
 * hidden layers and heads), by each estimator with the same draws eps ~
 * N(0, I) from rng, the baselines of b (may be NULL when untrained: then
 * mean and net are 0) as they are: out[VAE_N_GRADVAR] <- their variances.
 * Updates nothing but the gradient block (mod->gblock, scratch between
 * steps) and ws; acc (2 VAE_N_GRADVAR n_enc) doubles of workspace, n_enc
 * = vae_encoder_size(mod).  ws must hold m rows. */
void vae_grad_var(vae_model *mod, vae_workspace *ws, vae_baselines *b, const vae_real *x, size_t m,
                  size_t N, gsl_rng *rng, double *acc, vae_gradvar *out);

/* Parameters of the encoder: the reals of the block before the decoder's
 * first tensor (padding included). */
size_t vae_encoder_size(const vae_model *mod);

/* Mean -ELBO per datum of x (n, d) with one z per datum (noise from rng),
 * split in reconstruction and KL, data units. */
void vae_eval_loss(const vae_model *mod, vae_workspace *ws, const vae_real *x, size_t n,
                   gsl_rng *rng, double *loss, double *recon, double *kl);

typedef struct {
    int epoch;                                /* 1, 2, ...; 0: the measurement before training */
    double loss_train, recon_train, kl_train; /* per datum, data units, this epoch's batches */
    double beta;                              /* the KL weight, mean over this epoch's steps  */
    double iwae_train;                        /* IWAE: -L_K per datum, data units (NaN: ELBO)  */
    double loss_test, recon_test, kl_test;    /* per datum on the test set (NaN: none)       */
    double sigma2;                            /* data units (NaN: Bernoulli)                 */
    double seconds;                           /* since training began, evaluation included */
    double train_seconds;                     /* the same, minibatch steps only            */
    double samples_per_sec;                   /* training data per second of this epoch's steps */
    int n_gradvar;                            /* VAE_N_GRADVAR with c->grad_var, else 0     */
    vae_gradvar gradvar[VAE_N_GRADVAR];       /* measured after this epoch      */
} vae_epoch_info;

/* Called after every epoch, and with c->grad_var once before the first step
 * with epoch 0 (the gradient variances at the initial parameters; the
 * losses NaN); a non-zero return stops training (LZ_ESTOP). */
typedef int (*vae_epoch_fn)(const vae_epoch_info *info, void *ctx);
/* Called after every minibatch (may be NULL): for a progress display. */
typedef void (*vae_batch_fn)(int epoch, size_t batch, size_t n_batches, void *ctx);

/* Train an initialised model (vae_init) on xtrain (n, d) in model space
 * (vae_prepare: grey levels when binarising dynamically), scoring xtest
 * (nt, d) (may be NULL) after every epoch with one z per datum drawn from the
 * same noise every epoch.  The loss of each step: c->objective, with the KL
 * weight vae_kl_weight, the gradient of c->estimator (and c->baseline).
 * With c->grad_var = N, vae_grad_var on a fixed minibatch before training
 * and after every epoch, the baselines being trained on the side for it
 * (which changes nothing else).  Streams of c->seed: VAE_STREAM_TRAIN,
 * VAE_STREAM_BIN_TRAIN, VAE_STREAM_TEST_LOSS, VAE_STREAM_BASELINE,
 * VAE_STREAM_GRAD_VAR. */
lz_status vae_fit(vae_model *mod, const vae_config *c, const vae_real *xtrain, size_t n,
                  const vae_real *xtest, size_t nt, vae_epoch_fn on_epoch, vae_batch_fn on_batch,
                  void *ctx, lz_error *err);

/* ------------------------------------------------------------------ */
/* evaluation (vae_eval.c; docs/vae.md, "The likelihood estimate") */

/* ELBO and importance-weighted estimate of log p(x) (Burda et al. 2015) for
 * every row of x (n, d) in model space, K samples z_j ~ Q(z | x) drawn from rng:
 *   lw_j = log p(x | z_j) + log N(z_j; 0, I) - log Q(z_j | x),
 *   ll_i = log (1/K) sum_j exp(lw_j)                (logsumexp),
 *   elbo_i = (1/K) sum_j log p(x | z_j) - KL_i      (analytic KL),
 *   var_i = (sum_j w_j^2 / (sum_j w_j)^2 - 1/K): the delta-method variance
 *           of ll_i over the draws (= 1/ESS - 1/K).
 * Values in data units.  ll, elbo, var (n) may be NULL.  ws must hold at
 * least K rows. */
lz_status vae_loglik_rows(const vae_model *mod, vae_workspace *ws, const vae_real *x, size_t n,
                          size_t K, gsl_rng *rng, double *ll, double *elbo, double *var,
                          lz_error *err);

/* st, the status of an estimate over rows of set, with its error naming
 * the file line of the row whose log-weights were not finite ("test.csv:17:
 * importance sampling: a non-finite log-weight") when st is LZ_ENUMERIC and
 * row (the workspace's bad_row, 0-based) is one: row idx[row] of set, or row
 * itself when idx is NULL.  (A Gaussian model's rows beyond VAE_FAR_MAX
 * standardised units, which would overflow the network, are refused
 * earlier, by vae_prepare.) */
lz_status vae_name_bad_row(lz_status st, size_t row, const lz_data *set, const size_t *idx,
                           lz_error *err);

/* The estimate of a data set, per sample. */
typedef struct {
    double ll;       /* mean of ll_i: the importance-weighted log-likelihood, nats */
    double ll_se;    /* its Monte-Carlo standard error, sqrt(sum_i max(var_i, 0)) / n;
                        NaN with one sample a row (K = 1: no spread to measure) */
    double elbo;     /* mean of elbo_i                                          */
    size_t rows;     /* n; 0 (and NaNs) when nothing was scored                 */
    lz_ll_tail tail; /* whether a few rows make ll (lz_ll_tail_of of the ll_i) */
} vae_loglik_result;

/* The mean of vae_loglik_rows over the n rows of x (n, d), with its standard
 * error (the n estimates are independent). */
lz_status vae_loglik(const vae_model *mod, vae_workspace *ws, const vae_real *x, size_t n, size_t K,
                     gsl_rng *rng, vae_loglik_result *res, lz_error *err);

/* The training rows ll_train is estimated on: all n when max_rows is 0 or at
 * least n, else max_rows rows drawn uniformly at random from a permutation of
 * seed 0 (the same rows for every seed; not evenly spaced rows, which are an
 * unfair sample of data stored in a periodic order).  idx (n) <- a
 * permutation whose first *rows entries are those rows, in increasing order. */
lz_status vae_ll_train_rows(size_t n, size_t max_rows, size_t *idx, size_t *rows, lz_error *err);

/* mu (n, k) <- the encoder means of x (n, d), in blocks of ws->m_max rows. */
void vae_encode_means(const vae_model *mod, vae_workspace *ws, const vae_real *x, size_t n,
                      double *mu);

/* x (n, d) <- E[x | z] in data units for z (n, k), in blocks of ws->m_max rows. */
void vae_decode_means(const vae_model *mod, vae_workspace *ws, const vae_real *z, size_t n,
                      double *x);

/* Burda et al.'s criterion of an active latent unit: Cov_x(E_Q[z_j | x]) >
 * VAE_ACTIVE_VAR (docs/vae.md, "Active units"). */
#define VAE_ACTIVE_VAR 0.01

/* The active units of the encoder means mu (n, k) of n data: var (k) <- the
 * variance over the rows of each column, (1/n) sum_i (mu_ij - mean_j)^2;
 * returns how many exceed VAE_ACTIVE_VAR. */
size_t vae_active_units(size_t n, size_t k, const double *mu, double *var);

/* What a trained or loaded model is reported by (docs/vae.md, "Files and how
 * to read the plots"). */
typedef struct {
    vae_loglik_result train; /* ll_train on the rows of vae_ll_train_rows      */
    vae_loglik_result test;  /* ll_test on every test row                      */
    const lz_data *set;      /* the rows of latent and recon: the test set, else the
                                training set (NULL: neither)                       */
    double *latent;          /* (set->n, k) encoder means mu(x)                    */
    double *latent_var;      /* (k) their variance over the set's rows             */
    size_t active_units;     /* columns of latent_var above VAE_ACTIVE_VAR         */
    size_t n_recon;          /* min(set->n, VAE_N_RECON)                           */
    double *recon;           /* (2 n_recon, d) the first n_recon inputs as the
                                likelihood sees them (Gaussian: data units;
                                Bernoulli: after the scale and binarisation), then
                                their reconstructions E[x | z = mu(x)]             */
    size_t n_samples;
    double *samples; /* (n_samples, d) E[x | z], z ~ N(0, I)               */
    size_t grid;     /* G when k = 2, else 0                               */
    double *grid_z;  /* (G G, 2) z at row r (1 at the top: largest z2), col
                        c (1 at the left: smallest z1), row-major;
                        z = Phi^-1 of (c - 1/2)/G and (G - r + 1/2)/G      */
    double *grid_x;  /* (G G, d) E[x | z] there                            */
} vae_eval;

/* Evaluate mod on its data: train (may be NULL) with xtr, its vae_prepare
 * without binarisation draws, and test (may be NULL) with xte, its
 * vae_prepare with the draws of VAE_STREAM_BIN_TEST.  Uses c->iw,
 * c->iw_train_rows, c->n_samples, c->grid and the streams of c->seed.
 * vae_eval_free frees what it holds, also after a failure. */
lz_status vae_evaluate(const vae_model *mod, const vae_config *c, const lz_data *train,
                       const vae_real *xtr, const lz_data *test, const vae_real *xte, vae_eval *ev,
                       lz_error *err);
void vae_eval_free(vae_eval *ev);

#endif
