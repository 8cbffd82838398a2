/* vae_real.h -- the real type of the VAE core, fixed at compile time.
 *
 * The library's sources (every .c file here but main.c) are compiled twice: in single
 * precision for the program (library lznlgm_vae, SGEMM, the fast vectorised
 * exp/log1p of vae_layers.c) and with -DVAE_DOUBLE in double precision for the
 * gradient checks (library lznlgm_vae_double, DGEMM, libm).  The two libraries
 * export the same names and are never linked into the same executable.
 */
#ifndef VAE_REAL_H
#define VAE_REAL_H

#include <math.h>

#include "lz_blas.h"

#ifdef VAE_DOUBLE
typedef double vae_real;
#define VAE_GEMM cblas_dgemm
#define VAE_RSQRT sqrt
#define VAE_RTANH tanh
#define VAE_REAL_NAME "double"
#else
typedef float vae_real;
#define VAE_GEMM cblas_sgemm
#define VAE_RSQRT sqrtf
#define VAE_RTANH tanhf
#define VAE_REAL_NAME "float"
#endif

#endif
