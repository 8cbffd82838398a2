/* cvae.h -- the VAE with labels (docs/vae_labels.md; the lecture "Variational
 * Autoencoder" by Hongming Shan, from "Conditional VAE" to "Semi-supervised
 * learning with deep generative models"): the conditional VAE, and Kingma,
 * Rezende, Mohamed and Welling's (2014) semi-supervised models M2 and M1.
 *
 *   CVAE  z ~ N(0, I), x | z, y ~ p(x | z, y), encoder Q(z | x, y); every row
 *         labelled; the bound of log p(x | y).
 *   M2    the CVAE's model with y ~ Cat(1/C) a latent variable observed on
 *         some rows: the classifier q(y | x) trained inside the bound.
 *   M1    the plain VAE (vae.h) trained without labels, then a multinomial
 *         logistic regression on the labelled rows' posterior means.
 * M1 and M2 also fit the same regression on the labelled rows' pixels, the
 * baseline every table of semi-supervised accuracies needs.
 *
 * The network is nlgm_vae's (vae.h: its layers, its parameter block, its
 * data map and, for M1, its training) plus the label: one-hot y enters the
 * first dense layer of the encoder and of the decoder.  A dense layer on
 * [x | onehot(y)] is W_x x + W_y onehot(y) + b = W_x x + b + (column y of
 * W_y): the label adds a per-class bias row ("class row") to the layer's
 * pre-activation.  So the encoder's first product W_x x is made once per x
 * and shared by all C classes of M2's unlabelled sum.
 *
 * Dimension letters as vae.h; C classes; m_x distinct data rows of a pass,
 * E = expanded encoder rows (E = m_x labelled, E = C m_x unlabelled: row
 * e = c m_x + i is datum i with class c), L samples of z per encoder row
 * (decoder row l E + e).  Every expanded row e reads data row e % m_x.
 *
 * The library, one job a file, each calling only the ones above it (and the
 * VAE's library, vae.h):
 *   cvae_model.c   configuration, classes and labels, parameter blocks,
 *                  initialisation, model files
 *   cvae.c         workspace, the conditional passes, the classifier, M2's
 *                  bounds, Adam, training (cvae_fit)
 *   cvae_logreg.c  multinomial logistic regression (M1 and the baseline)
 *   cvae_eval.c    evaluation: importance-weighted log p(x | y) and log p(x),
 *                  accuracies, posterior means, the class x style grid, M1
 */
#ifndef CVAE_H
#define CVAE_H

#include <stddef.h>

#include <gsl/gsl_rng.h>

#include "lz_data.h"
#include "lz_error.h"
#include "lz_out.h"
#include "vae.h"
#include "vae_layers.h"
#include "vae_real.h"

typedef enum { CVAE_MODE_CVAE = 0, CVAE_MODE_M2 = 1, CVAE_MODE_M1 = 2 } cvae_mode;

/* At most this many classes (M2 sums over every class for every row). */
#define CVAE_MAX_CLASSES 1000

/* Every random number comes from one stream of the seed (docs/vae_labels.md,
 * "Random streams").  The jobs the VAE also has keep the VAE's stream
 * numbers (vae_stream): M1 trains and scores with the VAE's own functions. */
typedef enum {
    CVAE_STREAM_INIT = VAE_STREAM_INIT,           /* the network's weights (vae_init) */
    CVAE_STREAM_TRAIN = VAE_STREAM_TRAIN,         /* minibatch order, then each pass's eps */
    CVAE_STREAM_BIN_TRAIN = VAE_STREAM_BIN_TRAIN, /* dynamic binarisation in training */
    CVAE_STREAM_TEST_LOSS = VAE_STREAM_TEST_LOSS, /* the test bound's z, the same each epoch */
    CVAE_STREAM_BIN_TEST = VAE_STREAM_BIN_TEST,   /* dynamic binarisation of the test set */
    CVAE_STREAM_BIN_EVAL = VAE_STREAM_BIN_EVAL,   /* ... of the training rows scored after */
    CVAE_STREAM_IW_TEST = VAE_STREAM_IW_TEST,     /* importance samples of ll_test */
    CVAE_STREAM_IW_TRAIN = VAE_STREAM_IW_TRAIN,   /* importance samples of ll_train */
    CVAE_STREAM_PRIOR = VAE_STREAM_PRIOR,         /* z ~ N(0, I) of the samples file */
    CVAE_STREAM_LABELS = 16,     /* which training rows keep their labels (M1, M2) */
    CVAE_STREAM_INIT_LABEL = 17, /* the class rows and the classifier's weights */
    CVAE_STREAM_LABELLED = 18    /* M2: the order of the labelled minibatches */
} cvae_stream;

/* ------------------------------------------------------------------ */
/* configuration (cvae_model.c) */

typedef struct {
    vae_config vae; /* the network, training and evaluation: nlgm_vae's options */
    cvae_mode mode;
    size_t n_cls;               /* M2: hidden layers of the classifier q(y | x) */
    size_t cls[VAE_MAX_LAYERS]; /* their widths */
    long n_labels;              /* M1, M2: training rows whose labels are kept */
    double alpha;               /* M2: weight of each labelled row's -log q(y | x); NaN: 0.1 n */
    double l2;                  /* M1 and the baseline: the regression's L2 penalty */
} cvae_config;

/* nlgm_vae's defaults (vae_config_default) but 10 samples (a class), mode
 * CVAE, the classifier's hidden layers those of the encoder, 100 labels,
 * alpha 0.1 n, l2 1. */
void cvae_config_default(cvae_config *c);

/* Check a configuration (vae_config_check, then this program's options);
 * err names the option at fault. */
lz_status cvae_config_check(const cvae_config *c, lz_error *err);

/* M2's weight of the classifier's loss on each labelled row, for n training
 * rows: the config's alpha, or 0.1 n (Kingma et al. 2014; docs/vae_labels.md,
 * "Training M2", on the two readings of their weight). */
double cvae_alpha(const cvae_config *c, size_t n);

/* ------------------------------------------------------------------ */
/* the model (cvae_model.c) */

typedef struct {
    vae_arch core; /* the VAE's encoder on x, decoder on z, likelihood */
    cvae_mode mode;
    size_t C;     /* classes */
    size_t n_cls; /* M2: classifier hidden layers (0 otherwise) */
    size_t cls[VAE_MAX_LAYERS];
} cvae_arch;

/* The parameters beyond the VAE's, views into one block. */
typedef struct {
    vae_real *enc_y;                 /* (C, n1) class rows of the encoder's first layer */
    vae_real *dec_y;                 /* (C, n1') class rows of the decoder's first layer */
    vae_real *cls_w[VAE_MAX_LAYERS]; /* M2: classifier layer l: (cls[l], c_l), c_0 = d */
    vae_real *cls_b[VAE_MAX_LAYERS]; /* (cls[l]) */
    vae_real *cls_out_w;             /* (C, c) logits of q(y | x) */
    vae_real *cls_out_b;             /* (C) */
} cvae_params;

#define CVAE_MAX_TENSORS (2 * VAE_MAX_LAYERS + 8)

typedef struct {
    cvae_arch a;
    vae_model *core; /* the VAE: its parameters, Adam state and data map */
    size_t n_block;  /* reals in the block of the parameters beyond the VAE */
    vae_real *block, *gblock, *adam_m, *adam_v;
    long adam_t;
    cvae_params p, g; /* views of block and gblock */
    size_t n_tensors;
    vae_tensor t[CVAE_MAX_TENSORS];
    /* multinomial logistic regressions in double (M1 and M2): the baseline on
     * the labelled rows' model-space pixels, and M1's on their posterior means;
     * with the classes, views into one block dblock */
    double *dblock;
    double *raw_w; /* (C, d) */
    double *raw_b; /* (C) */
    double *m1_w;  /* (C, k) */
    double *m1_b;  /* (C) */
    /* the classes: numeric labels in increasing order, or words */
    double *class_value; /* (C) the label of each class (words: 0..C-1) */
    char **class_name;   /* (C) the words, or NULL for numeric labels */
} cvae_model;

/* A new model: the VAE (vae_model_alloc) and the rest, zero; classes 0..C-1
 * without names.  NULL with err set on failure. */
cvae_model *cvae_model_alloc(const cvae_arch *a, lz_error *err);
/* Free what cvae_model_alloc (or cvae_set_classes) allocated; NULL is a no-op. */
void cvae_model_free(cvae_model *mod);

/* The tensors of the block beyond the VAE, in block order (t may be NULL). */
size_t cvae_tensors(const cvae_arch *a, vae_tensor *t);

/* Widths of the first encoder and decoder layers, which the class rows
 * feed: the first hidden layer, or the heads (2k) / the output (d). */
size_t cvae_enc_first(const vae_arch *a);
size_t cvae_dec_first(const vae_arch *a);

/* Free parameters of the fitted model: the VAE's, the class rows and M2's
 * classifier, or M1's regression on the posterior means (every row of the
 * weights counted, as stored); the baseline on the pixels is not counted. */
size_t cvae_n_params(const cvae_model *mod);

/* "cvae-mlp-bernoulli", "m2-mlp-gaussian", "m1-linear-bernoulli", ... */
const char *cvae_model_name(const cvae_model *mod);

/* The number of classes of the training labels: distinct values (numbers)
 * or names (words); an error without labels or with 1 or more than
 * CVAE_MAX_CLASSES classes. */
lz_status cvae_count_classes(const lz_data *train, size_t *C, lz_error *err);

/* The model's classes from the training labels (the count must be mod->a.C):
 * numbers in increasing order, or the words in their codes' order. */
lz_status cvae_set_classes(cvae_model *mod, const lz_data *train, lz_error *err);

/* codes (n) <- the class of each row of data, 0..C-1, by value or by name;
 * an error naming the row when data has no labels or a label that is not a
 * class of the model. */
lz_status cvae_label_codes(const cvae_model *mod, const lz_data *data, int *codes, lz_error *err);

/* The rows that keep their labels: n_labels of the n rows, spread evenly over
 * the classes (n_labels / C each, the remainder one more for classes in an
 * order drawn from the seed; a class with fewer rows gives its share to the
 * others), each class's rows drawn from stream CVAE_STREAM_LABELS of seed.
 * keep (n) <- 1 for a kept row.  An error when n_labels > n or < C. */
lz_status cvae_choose_labels(const int *codes, size_t n, size_t C, size_t n_labels,
                             unsigned long seed, unsigned char *keep, lz_error *err);

/* The VAE's initialisation (vae_init: PyTorch's nn.Linear) and the class rows
 * and classifier drawn likewise from stream CVAE_STREAM_INIT_LABEL: a class
 * row as the extra inputs of a layer on [x | onehot(y)], U(+-1/sqrt(c + C)).
 * Resets both Adams and the regressions. */
lz_status cvae_init(cvae_model *mod, unsigned long seed, double sigma2, lz_error *err);

/* Model files (kind "cvae", version 2; version 1 files are read too). */
lz_status cvae_model_write(const cvae_model *mod, lz_outset *os, const char *path, lz_error *err);
lz_status cvae_model_read(const char *path, cvae_model **out, lz_error *err);

/* ------------------------------------------------------------------ */
/* the network and its training (cvae.c; docs/vae_labels.md) */

typedef struct {
    size_t mx_max;                   /* data rows of a pass */
    size_t e_max;                    /* expanded encoder rows */
    size_t r_max;                    /* decoder rows */
    vae_real *x;                     /* (mx_max, d) a gathered minibatch */
    int *cls;                        /* (e_max) the class of each expanded row */
    vae_real *pre;                   /* (mx_max, n1) W_x x + b of the encoder's first layer */
    vae_real *dpre;                  /* (mx_max, n1) */
    vae_real *enc_h[VAE_MAX_LAYERS]; /* (e_max, enc[l]) */
    vae_real *enc_dh[VAE_MAX_LAYERS];
    vae_real *head; /* (e_max, 2k) [mu | log s2] */
    vae_real *dhead;
    vae_real *eps;                   /* (r_max, k) N(0, I) noise, row l E + e */
    vae_real *z, *dz;                /* (r_max, k) */
    vae_real *dec_h[VAE_MAX_LAYERS]; /* (r_max, dec[l]) */
    vae_real *dec_dh[VAE_MAX_LAYERS];
    vae_real *out, *p, *dout; /* (r_max, d) */
    double *nll, *sq;         /* (r_max) */
    double *lw;               /* (r_max) importance log-weights */
    double *kl, *rec, *w;     /* (e_max) KL, (1/L) sum_l nll, row weight */
    /* the classifier on mx_max rows */
    vae_real *cls_h[VAE_MAX_LAYERS], *cls_dh[VAE_MAX_LAYERS]; /* (mx_max, cls[l]) */
    vae_real *logits, *dlogits;                               /* (mx_max, C) */
    double *q, *logq;                                         /* (mx_max, C) q(y | x) and its log */
    double *u;      /* (mx_max) per-datum values of the last bound */
    size_t bad_row; /* cvae_loglik_rows' LZ_ENUMERIC: the row (0-based) whose
                       log-weights were not finite; SIZE_MAX otherwise */
} cvae_workspace;

/* A workspace for passes of up to mx_max data rows with up to L samples, each
 * expanded over every class when unlabelled is set. */
cvae_workspace *cvae_workspace_alloc(const cvae_model *mod, size_t mx_max, size_t L, int unlabelled,
                                     lz_error *err);
void cvae_workspace_free(cvae_workspace *ws);

/* The encoder of E expanded rows with classes ws->cls (E), reading data rows
 * e % m of x (m, d): ws->head (E, 2k) <- [mu | log s2] of Q(z | x, y). */
void cvae_encode(const cvae_model *mod, cvae_workspace *ws, const vae_real *x, size_t m, size_t E);
/* The decoder of z (R, k), row r with class ws->cls[r % E]: ws->out (R, d) <-
 * f(z, y) (Bernoulli logits, or Gaussian means in model space). */
void cvae_decode(const cvae_model *mod, cvae_workspace *ws, const vae_real *z, size_t R, size_t E);

/* The conditional pass (docs/vae_labels.md, "The conditional bound"): for E
 * expanded rows with classes ws->cls (E), reading data rows e % m of x (m, d),
 * and the noise ws->eps (L E, k): ws->rec[e] = (1/L) sum_l -log p(x | z_le, y_e),
 * ws->kl[e] = KL(Q(z | x, y_e) || N(0, I)), in model space. */
void cvae_cond_forward(const cvae_model *mod, cvae_workspace *ws, const vae_real *x, size_t m,
                       size_t E, size_t L);
/* Accumulate the gradient of sum_e ws->w[e] (rec_e + kl_e) of the last
 * cvae_cond_forward (same arguments) into the VAE's and the class rows'
 * gradients. */
void cvae_cond_backward(cvae_model *mod, cvae_workspace *ws, const vae_real *x, size_t m, size_t E,
                        size_t L);

/* The classifier on x (m, d): ws->logits, ws->q = softmax, ws->logq. */
void cvae_cls_forward(const cvae_model *mod, cvae_workspace *ws, const vae_real *x, size_t m);
/* Accumulate the classifier's gradient for the logits' gradient ws->dlogits (m, C). */
void cvae_cls_backward(cvae_model *mod, cvae_workspace *ws, const vae_real *x, size_t m);

/* The loss of labelled rows x (m, d) with classes y (m) and the noise ws->eps
 * (L m, k), model space: returns sum_i L(x_i, y_i), L = rec + KL (-log p(y)
 * excluded: the CVAE's bound of log p(x | y); M2 adds log C); ws->u (m) <- the
 * rows' values; *ce (may be NULL) <- sum_i -log q(y_i | x_i) with a classifier
 * (else 0).  With grad set, accumulates the gradient of
 * wl sum_i L(x_i, y_i) + wce sum_i -log q(y_i | x_i). */
double cvae_labelled_loss(cvae_model *mod, cvae_workspace *ws, const vae_real *x, const int *y,
                          size_t m, size_t L, double wl, double wce, int grad, double *ce);

/* M2's loss of unlabelled rows x (m, d) with the noise ws->eps (L C m, k):
 *   U(x) = sum_y q(y | x) [L(x, y) + log C] - H(q(y | x))
 * (docs/vae_labels.md, "M2"); returns sum_i U(x_i), ws->u (m) <- U(x_i),
 * *recon and *kl (may be NULL) <- sum_i sum_y q rec and sum_i [sum_y q KL +
 * log C - H] (the KL of q(y, z | x) from p(y) p(z)); ws->q (m, C) <- q(y | x).
 * With grad set, accumulates wu times its gradient. */
double cvae_unlabelled_loss(cvae_model *mod, cvae_workspace *ws, const vae_real *x, size_t m,
                            size_t L, double wu, int grad, double *recon, double *kl);

/* Zero both gradient blocks. */
void cvae_zero_grad(cvae_model *mod);
/* One Adam step on both blocks (vae_adam_step, vae_adam_update). */
void cvae_adam_step(cvae_model *mod, double lr, double beta1, double beta2, double eps);

/* What a training epoch reports (per datum, data units; NaN where the mode
 * has no such number). */
typedef struct {
    int epoch;
    double loss_train, recon_train, kl_train; /* CVAE: L(x, y); M2: U(x) of the unlabelled rows */
    double loss_test, recon_test, kl_test;    /* the same on the test set, one z per row */
    double loss_labelled;                     /* M2: L(x, y) + log C of the labelled rows */
    double ce_train;                          /* M2: -log q(y | x) of the labelled rows */
    double objective;                         /* M2: J^alpha / n, the loss minimised (data units) */
    double acc_test; /* M2: accuracy of q(y | x) on the labelled test rows */
    double sigma2;
    double seconds, train_seconds, samples_per_sec;
} cvae_epoch_info;

typedef int (*cvae_epoch_fn)(const cvae_epoch_info *info, void *ctx);
typedef void (*cvae_batch_fn)(int epoch, size_t batch, size_t n_batches, void *ctx);

/* Train an initialised CVAE or M2 on xtrain (n, d) in model space with the
 * classes ytr (n) (-1: a row without its label; CVAE: none), scoring xtest
 * (nt, d) with classes yte (nt, may be NULL; -1: unknown) after every epoch.
 * M2: an epoch is one pass over the unlabelled rows in minibatches of
 * c->vae.batch, each step with a minibatch of min(batch, n_l) labelled rows
 * cycling through them; the step's loss estimates J^alpha (docs/vae_labels.md,
 * "Training M2"). */
lz_status cvae_fit(cvae_model *mod, const cvae_config *c, const vae_real *xtrain, const int *ytr,
                   size_t n, const vae_real *xtest, const int *yte, size_t nt,
                   cvae_epoch_fn on_epoch, cvae_batch_fn on_batch, void *ctx, lz_error *err);

/* ------------------------------------------------------------------ */
/* multinomial logistic regression (cvae_logreg.c) */

/* Fit W (C, p), b (C) to minimise sum_i -log softmax(W x_i + b)_{y_i} +
 * l2/2 |W|^2 over the rows x (n, p) with classes y (n) in 0..C-1 (BFGS, from
 * zero, to a gradient norm below 1e-6 (n + 1)).  The problem is convex. */
lz_status cvae_logreg_fit(size_t n, size_t p, size_t C, const double *x, const int *y, double l2,
                          double *W, double *b, lz_error *err);
/* pred (n) <- argmax_c (W x_i + b)_c. */
void cvae_logreg_predict(size_t n, size_t p, size_t C, const double *x, const double *W,
                         const double *b, int *pred);

/* ------------------------------------------------------------------ */
/* evaluation (cvae_eval.c; docs/vae_labels.md, "Evaluation") */

/* Importance-weighted estimates (Burda et al. 2015) with K samples of z per
 * row and class from rng, data units:
 *   y given (CVAE): ll_i = log (1/K) sum_j p(x_i | z_j, y_i) p(z_j) / Q(z_j | x_i, y_i);
 *   y NULL (M2):    ll_i = log sum_c (1/C) [(1/K) sum_j p(x_i | z_j, c) p(z_j) / Q(z_j | x_i, c)];
 * elbo_i the matching bound (-L(x_i, y_i), or -U(x_i) with K samples), var_i
 * the delta-method variance of ll_i.  ll, elbo, var (n) may be NULL. */
lz_status cvae_loglik_rows(const cvae_model *mod, cvae_workspace *ws, const vae_real *x,
                           const int *y, size_t n, size_t K, gsl_rng *rng, double *ll, double *elbo,
                           double *var, lz_error *err);
lz_status cvae_loglik(const cvae_model *mod, cvae_workspace *ws, const vae_real *x, const int *y,
                      size_t n, size_t K, gsl_rng *rng, vae_loglik_result *res, lz_error *err);

/* pred (n) <- argmax_y q(y | x) of M2's classifier. */
void cvae_classify(const cvae_model *mod, cvae_workspace *ws, const vae_real *x, size_t n,
                   int *pred);

/* mu (n, k) <- the encoder means of x (n, d): given the classes y (n)
 * (CVAE, M2), or of the VAE (M1: y NULL). */
void cvae_encode_means(const cvae_model *mod, cvae_workspace *ws, const vae_real *x, const int *y,
                       size_t n, double *mu);

/* The fraction of rows whose pred equals the class; rows of class -1 are
 * skipped; NaN when none is left. */
double cvae_accuracy(const int *pred, const int *y, size_t n);

/* M1 and the baseline (cvae_config's l2): the regressions on the rows of
 * xtr (n, d) in model space with keep set, features the model-space pixels
 * (mod->raw_w, raw_b) and, for M1, the VAE's posterior means (m1_w, m1_b). */
lz_status cvae_fit_regressions(cvae_model *mod, const cvae_config *c, const vae_real *xtr,
                               const int *ytr, const unsigned char *keep, size_t n, lz_error *err);
/* pred_raw (n) and, for M1, pred_m1 (n) of rows x (n, d); either may be NULL. */
lz_status cvae_predict_regressions(const cvae_model *mod, const vae_real *x, size_t n,
                                   int *pred_raw, int *pred_m1, lz_error *err);

/* What a trained or loaded model is reported by. */
typedef struct {
    vae_loglik_result train, test; /* log p(x | y) (CVAE), log p(x) (M1, M2) */
    double acc_test;               /* M2: q(y | x), M1: the regression on mu(x); test rows */
    double acc_unlab;              /* the same on the training rows whose labels were hidden */
    double acc_raw_test;           /* the baseline on the pixels */
    double acc_raw_unlab;
    const lz_data *set;   /* the rows of latent: the test set, else the training set */
    double *latent;       /* (set->n, k) encoder means, given the label (CVAE), given
                             the classifier's class (M2), of the VAE (M1) */
    size_t n_samples;     /* per class (M1: in all) */
    size_t sample_rows;   /* C n_samples (CVAE, M2), n_samples (M1) */
    double *samples;      /* (sample_rows, d) E[x | z_j, y = c] at row c n_samples + j,
                             the same z_j ~ N(0, I) for every class; M1: E[x | z_j] */
    double *sample_label; /* (sample_rows) the class label of each row (M1: NULL) */
} cvae_eval;

/* Evaluate mod: train (may be NULL) with xtr (its vae_prepare without draws),
 * ytr (its classes; NULL without labels), keep (the rows whose labels were
 * kept in training, NULL: none hidden, e.g. --load); test (may be NULL) with
 * xte and yte likewise.  Uses c->vae's iw, iw_train_rows, n_samples and seed.
 * cvae_eval_free frees what it holds, also after a failure. */
lz_status cvae_evaluate(const cvae_model *mod, const cvae_config *c, const lz_data *train,
                        const vae_real *xtr, const int *ytr, const unsigned char *keep,
                        const lz_data *test, const vae_real *xte, const int *yte, cvae_eval *ev,
                        lz_error *err);
void cvae_eval_free(cvae_eval *ev);

#endif
