/* lgm_impl.h -- what lgm.c (complete data) and lgm_missing.c (incomplete
 * data) share to run one EM loop; not part of the library's interface.
 *
 * The loop of lgm_fit (iterations, the trace, stopping rules, SQUAREM,
 * sampled completion with the exact path alongside) is written once, over
 * the operations of EM on one kind of data: lgm_fit_loop calls them through
 * lgm_fit_ops.  lgm.c gives the operations on complete data (everything from
 * the sample covariance S); lgm_missing.c those on data with missing entries
 * (rows grouped by pattern).
 */
#ifndef LGM_IMPL_H
#define LGM_IMPL_H

#include "lgm.h"

typedef struct {
    /* E-step at m: *ll <- ll/N of the training data; what the M-steps need
     * is kept in ctx */
    lz_status (*estep)(void *ctx, const lgm_model *m, double *ll, lz_error *err);
    /* exact M-step (option 1) from the last estep */
    lz_status (*mstep)(void *ctx, lgm_model *m, lz_error *err);
    /* sampled M-step (option 2) from the last estep */
    lz_status (*mstep_sampled)(void *ctx, lgm_model *m, gsl_rng *r, lz_error *err);
    /* ll/N of the test data at m, called right after estep(m); NULL: none */
    lz_status (*test_ll)(void *ctx, const lgm_model *m, double *ll, lz_error *err);
    void *ctx, *test_ctx;
    int with_mean; /* mu is a parameter of EM (SQUAREM extrapolates it too) */
} lgm_fit_ops;

/* The loop of lgm_fit from the initial parameters in m (docs/lgm.md, "Exact
 * vs sampled completion"); r: the random stream of sampled completion. */
lz_status lgm_fit_loop(const lgm_config *c, const lgm_fit_ops *o, gsl_rng *r, lgm_model *m,
                       double t0, lgm_callback cb, void *ud, lgm_result *res, lz_error *err);

/* The start of a fit into m (m->mu as the data's centre): lgm_init of
 * c->init, a coordinate with S_ii = 0 given a zero row of A; --init best:
 * LGM_BEST_ITERS plain EM iterations of o from the pca start and from the
 * smc one (when lgm_init can make it), m <- the one with the higher ll/N
 * (the pca one on a tie).  res->init, init_ll and e_steps are set. */
lz_status lgm_start(const lgm_config *c, const lgm_fit_ops *o, const double *s, gsl_rng *r,
                    lgm_model *m, lgm_work *w, lgm_result *res, lz_error *err);

/* The checks lgm_fit makes before it fits (res zeroed, its ll NAN). */
lz_status lgm_fit_check(const lgm_config *c, size_t n, int have_rows, const lgm_model *m,
                        lgm_result *res, lz_error *err);

/* Complete data: S (d, d), S_test or NULL, and the centred rows x (n, d)
 * for sampled completion. */
typedef struct {
    lgm_work *w;
    const double *s, *s_test;
    size_t n;
    const double *x;
    int samples;
} lgm_complete_ctx;

/* o <- the operations on complete data cc (test_ll set when cc->s_test). */
void lgm_complete_ops(lgm_complete_ctx *cc, lgm_fit_ops *o);

#endif
