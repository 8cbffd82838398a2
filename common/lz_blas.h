/* lz_blas.h -- include this instead of <cblas.h>.
 *
 * OpenBLAS's cblas.h and GSL's gsl_cblas.h (pulled in by gsl_vector.h,
 * gsl_matrix.h, gsl_randist.h, ...) declare the same enums and cannot both be
 * included.  This header includes OpenBLAS's and marks GSL's as already seen,
 * so a file may use GSL (RNG, distributions, matrix views) and CBLAS
 * together; the enum values are the standard ones in both.  The BLAS that
 * runs is always OpenBLAS: GSL's gslcblas library is not linked.
 */
#ifndef LZ_BLAS_H
#define LZ_BLAS_H

#include <cblas.h>
#ifndef __GSL_CBLAS_H__
#define __GSL_CBLAS_H__ 1
#endif

#endif
