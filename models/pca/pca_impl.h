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

#endif
