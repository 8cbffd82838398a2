/* lz_prob.h -- seeded random numbers and probability helpers.
 *
 * Random numbers come from GSL's mt19937, seeded explicitly: the same seed
 * gives the same stream on every machine.  A program that draws in several
 * threads gives each its own stream, lz_rng_alloc_stream(seed, t), so the
 * draws depend on the seed and the thread count only.
 */
#ifndef LZ_PROB_H
#define LZ_PROB_H

#include <stddef.h>

#include <gsl/gsl_rng.h>

#include "lz_error.h"

#define LZ_LOG_2PI 1.83787706640934548356065947281123527

/* A new mt19937 generator seeded with seed, or NULL if out of memory. */
gsl_rng *lz_rng_alloc(unsigned long seed);

/* Generator number `stream` derived from seed (splitmix64 of both), so that
 * streams 0, 1, 2, ... are seeded independently. */
gsl_rng *lz_rng_alloc_stream(unsigned long seed, unsigned long stream);

/* out (n) <- independent N(0, 1) draws (GSL's ziggurat). */
void lz_rng_gauss(gsl_rng *r, size_t n, double *out);
void lz_rng_gaussf(gsl_rng *r, size_t n, float *out);

/* idx (n) <- a uniformly random permutation of 0..n-1 (Fisher-Yates). */
void lz_rng_perm(gsl_rng *r, size_t n, size_t *idx);

/* log sum_i exp(a_i), computed around the maximum; -inf for n = 0. */
double lz_logsumexp(size_t n, const double *a);

/* sigm(x) = 1/(1+exp(-x)) and softplus(x) = log(1+exp(x)), without overflow. */
double lz_sigmoid(double x);
double lz_softplus(double x);

/* out (n) <- log N(x_i; mu, C) for the rows x_i of x (n, d): a direct d x d
 * Cholesky of C, log N = -1/2 [d log 2pi + log|C| + (x-mu)^T C^-1 (x-mu)].
 * mu may be NULL (zero mean).  The slow, obviously-right reference. */
lz_status lz_mvn_logpdf(size_t n, size_t d, const double *x, const double *mu, const double *c,
                        double *out, lz_error *err);

/* Mean log-density of a data set with sample covariance s (d, d) about the
 * model mean, under N(mean, C): -1/2 [d log 2pi + log|C| + tr(C^-1 S)],
 * through a d x d Cholesky of C. */
lz_status lz_mvn_avg_loglik(size_t d, const double *c, const double *s, double *ll, lz_error *err);

/* A mean log-likelihood made by a few rows.  ll (n): each row's
 * log-likelihood, med their median, row i's shortfall max(0, med - ll_i).
 * out gets the mean, the median, t = max(1, n / 100), the share of the
 * total shortfall that the t lowest rows hold, and the lowest row (the
 * first of equals).  out->few is set when the mean lies more than 1 nat
 * below the median and the t lowest rows hold more than half of the
 * shortfall: then the mean reports those rows, not the model's fit of the
 * rest (a test row off a coordinate the model takes as almost noise-free
 * can cost millions of nats).  Never set with a NaN in ll, or for fewer
 * than 100 rows, whose mean any one row may move by its nature.
 * LZ_ENOMEM. */
typedef struct {
    double mean, median;
    size_t t;      /* the lowest rows counted: max(1, n / 100) */
    double share;  /* their share of the shortfall below the median */
    size_t worst;  /* the lowest row */
    double lowest; /* its log-likelihood */
    int few;       /* the mean is made by those t rows */
} lz_ll_tail;
lz_status lz_ll_tail_of(size_t n, const double *ll, lz_ll_tail *out, lz_error *err);

/* The part of the programs' note that t says, into buf (cap): "the median
 * row scores 566.058, and the lowest 10 rows hold 99.1 % of the rows'
 * shortfall below it; the lowest, -1.1969e+07".  Returns buf. */
char *lz_ll_tail_text(const lz_ll_tail *t, char *buf, size_t cap);

#endif
