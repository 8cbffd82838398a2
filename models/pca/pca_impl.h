/* pca_impl.h -- what pca.c and pca_missing.c share; not part of the
 * library's interface. */
#ifndef PCA_IMPL_H
#define PCA_IMPL_H

#include <stddef.h>

/* A Ritz value below this fraction of the largest is taken as zero: the
 * centred data has no variance in that direction (rounding of S or X^T X is
 * ~d eps relative, far below). */
#define PCA_RANK_RTOL 1e-12

/* Make the largest-|entry| of each row of ut (k, d) positive (the first
 * such entry on ties): a deterministic sign for each component. */
void pca_fix_signs(size_t d, size_t k, double *ut);

/* The distance of the last subspace from the limit, from the last two
 * successive angles: they shrink by rho = delta / delta_prev an iteration,
 * so it is sum_{s>t} delta_s = delta rho / (1 - rho) (docs/pca.md, "The
 * tolerance, and what the default gives").  NaN when they do not contract,
 * or when delta_prev is below ~1e-13 rad (rounding, not contraction; quiet
 * comparisons: NaN after one iteration). */
double pca_angle_est(double delta, double delta_prev);

#endif
