/* lz_linalg.h -- thin wrappers over LAPACKE (OpenBLAS) that return status.
 *
 * Every matrix is row-major: element (i, j) of an (m, n) matrix a is
 * a[i*n + j].  "Columns" of an eigenvector matrix are its eigenvectors.
 * The wrappers validate, call LAPACK, and turn its info code into an
 * lz_status with a message.  They call LAPACK in column-major order on the
 * transpose where that is the same computation (symmetric matrices, QR as the
 * LQ of the transpose, singular values), so no matrix is copied and
 * transposed behind the caller's back.
 */
#ifndef LZ_LINALG_H
#define LZ_LINALG_H

#include <stddef.h>

#include "lz_error.h"

/* Cholesky factor A = L L^T (dpotrf).  a (n, n) symmetric positive definite
 * (only its LOWER triangle is read); on success its lower triangle is L and the strict
 * upper triangle is zeroed.  LZ_ENUMERIC if A is not positive definite. */
lz_status lz_chol(size_t n, double *a, lz_error *err);

/* Solve A X = B with A = L L^T from lz_chol (dpotrs); b (n, nrhs) <- X. */
lz_status lz_chol_solve(size_t n, const double *l, size_t nrhs, double *b, lz_error *err);

/* log|A| = 2 sum_i log L_ii from the Cholesky factor l (n, n). */
double lz_chol_logdet(size_t n, const double *l);

/* In-place inverse of a symmetric positive definite a (n, n) (dpotrf +
 * dpotri; its LOWER triangle is read), both triangles filled on return; *logdet <- log|A| when logdet != NULL. */
lz_status lz_spd_inv(size_t n, double *a, double *logdet, lz_error *err);

/* All eigenpairs of a symmetric a (n, n) (dsyevd): w (n) in DESCENDING order,
 * v (n, n) with eigenvector j in column j.  Only the UPPER triangle of a is
 * read.  a is destroyed; v may equal a. */
lz_status lz_eigh(size_t n, double *a, double *w, double *v, lz_error *err);

/* The m largest eigenpairs of a symmetric a (n, n) (dsyevr with an index
 * range): w (m) descending, v (n, m).  Only the UPPER triangle of a is read.
 * a is destroyed. */
lz_status lz_eigh_top(size_t n, double *a, size_t m, double *w, double *v, lz_error *err);

/* Thin QR of a (m, n), m >= n (dgeqrf + dorgqr): a <- Q with orthonormal
 * columns; r (n, n) <- R (upper triangular) when r != NULL. */
lz_status lz_qr(size_t m, size_t n, double *a, double *r, lz_error *err);

/* Solve A X = B by LU with partial pivoting (dgesv); a (n, n) destroyed,
 * b (n, nrhs) <- X. */
lz_status lz_solve(size_t n, double *a, size_t nrhs, double *b, lz_error *err);

/* Singular values s (min(m, n)), descending, of a (m, n) (dgesdd, no vectors).
 * a is destroyed. */
lz_status lz_svd_values(size_t m, size_t n, double *a, double *s, lz_error *err);

/* Largest principal angle (radians) between span(u) and span(v), u and v
 * (n, k) with orthonormal columns.  Computed from sines, sin(theta_max) =
 * ||(I - u u^T) v||_2, so it is accurate to ~1e-15 rad even for tiny angles
 * (cosines would resolve no better than ~1e-8). */
lz_status lz_max_principal_angle(size_t n, size_t k, const double *u, const double *v,
                                 double *angle, lz_error *err);

/* Copy the upper triangle of a (n, n) into the lower one, or the lower into
 * the upper. */
void lz_sym_from_upper(size_t n, double *a);
void lz_sym_from_lower(size_t n, double *a);

/* Number of threads OpenBLAS uses (n <= 0: one per core). */
void lz_set_threads(int n);
int lz_get_threads(void);

#endif
