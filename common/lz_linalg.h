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

/* The pair of Cholesky solves, A = L L^T from lz_chol (l (n, n) lower):
 *   lz_chol_solve:       b (n, nrhs) <- A^-1 b   (L^-1 b, then L^-T),
 *   lz_chol_solve_right: b (m, n)    <- b A^-1   (b L^-T, then L^-1),
 * two triangular solves (dtrsm each; dtrsv for one right-hand side). */
lz_status lz_chol_solve(size_t n, const double *l, size_t nrhs, double *b, lz_error *err);
lz_status lz_chol_solve_right(size_t m, size_t n, const double *l, double *b, lz_error *err);

/* log|A| = 2 sum_i log L_ii from the Cholesky factor l (n, n). */
double lz_chol_logdet(size_t n, const double *l);

/* In-place inverse of a symmetric positive definite a (n, n) (dpotrf +
 * dpotri; its LOWER triangle is read), both triangles filled on return; *logdet <- log|A| when
 * logdet != NULL. */
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

/* Largest principal angle (radians) between the row spaces of ut and vt
 * (k, n), each with orthonormal rows (a basis vector a row):
 *     sin theta_max = |(I - U U^T) V|_2 = lambda_max(R^T R)^1/2,
 *     R = V - U (U^T V),
 * with R^T R formed from R, whose entries are ~sin theta, so tiny angles keep
 * their relative accuracy (cosines would resolve no better than ~1e-8).
 * ws: LZ_ANGLE_WS(n, k) doubles of workspace, or NULL to allocate it. */
#define LZ_ANGLE_WS(n, k) ((n) * (k) + (k) * (k) + (k))
lz_status lz_max_principal_angle(size_t n, size_t k, const double *ut, const double *vt, double *ws,
                                 double *angle, lz_error *err);

/* a (n, n) <- (a + a^T) / 2. */
void lz_symmetrise(size_t n, double *a);

void lz_sym_from_upper(size_t n, double *a);
void lz_sym_from_lower(size_t n, double *a);

/* Number of threads OpenBLAS uses (n <= 0: one per core). */
void lz_set_threads(int n);
int lz_get_threads(void);

#endif
