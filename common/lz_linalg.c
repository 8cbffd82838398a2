/* lz_linalg.c -- LAPACKE wrappers (see lz_linalg.h). */
#include "lz_linalg.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lz_blas.h"
#include <lapacke.h>

/* OpenBLAS's thread control (declared in its cblas.h on some builds only). */
extern void openblas_set_num_threads(int num_threads);
extern int openblas_get_num_threads(void);
extern int openblas_get_num_procs(void);

#define CHECK_N(n)                                                                                 \
    if ((n) > (size_t)1 << 30) return lz_fail(err, LZ_EINVAL, "matrix too large for LAPACK")

/* A row-major matrix is the column-major storage of its transpose.  For a
 * symmetric matrix the two coincide, so the symmetric routines below call
 * LAPACK in column-major order with the other triangle's letter (column-major
 * 'U' is the row-major lower triangle): LAPACKE then works on the caller's
 * memory directly instead of transposing a copy on every call. */

lz_status lz_chol(size_t n, double *a, lz_error *err)
{
    CHECK_N(n);
    /* column-major upper U with A = U^T U is row-major lower L = U^T */
    LZ_FPE_HOLD(fe1);
    lapack_int info = LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'U', (lapack_int)n, a, (lapack_int)n);
    LZ_FPE_RELEASE(fe1);
    if (info > 0)
        return lz_fail(err, LZ_ENUMERIC,
                       "Cholesky: the leading minor of order %d is not positive definite",
                       (int)info);
    if (info < 0) return lz_fail(err, LZ_EINVAL, "Cholesky: bad argument %d", (int)-info);
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) a[i * n + j] = 0.0;
    return LZ_OK;
}

lz_status lz_chol_solve(size_t n, const double *l, size_t nrhs, double *b, lz_error *err)
{
    CHECK_N(n);
    if (nrhs == 0) return LZ_OK;
    /* L L^T X = B: B <- L^-1 B, then B <- L^-T B (two triangular solves;
     * one right-hand side by the level-2 solver, which packs nothing) */
    if (nrhs == 1) {
        cblas_dtrsv(CblasRowMajor, CblasLower, CblasNoTrans, CblasNonUnit, (int)n, l, (int)n, b, 1);
        cblas_dtrsv(CblasRowMajor, CblasLower, CblasTrans, CblasNonUnit, (int)n, l, (int)n, b, 1);
        return LZ_OK;
    }
    cblas_dtrsm(CblasRowMajor, CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit, (int)n, (int)nrhs,
                1.0, l, (int)n, b, (int)nrhs);
    cblas_dtrsm(CblasRowMajor, CblasLeft, CblasLower, CblasTrans, CblasNonUnit, (int)n, (int)nrhs,
                1.0, l, (int)n, b, (int)nrhs);
    return LZ_OK;
}

lz_status lz_chol_solve_right(size_t m, size_t n, const double *l, double *b, lz_error *err)
{
    CHECK_N(n);
    if (m == 0) return LZ_OK;
    /* X L L^T = B: B <- B L^-T, then B <- B L^-1 (two triangular solves) */
    cblas_dtrsm(CblasRowMajor, CblasRight, CblasLower, CblasTrans, CblasNonUnit, (int)m, (int)n,
                1.0, l, (int)n, b, (int)n);
    cblas_dtrsm(CblasRowMajor, CblasRight, CblasLower, CblasNoTrans, CblasNonUnit, (int)m, (int)n,
                1.0, l, (int)n, b, (int)n);
    return LZ_OK;
}

double lz_chol_logdet(size_t n, const double *l)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += log(l[i * n + i]);
    return 2 * s;
}

lz_status lz_spd_inv(size_t n, double *a, double *logdet, lz_error *err)
{
    lz_status st = lz_chol(n, a, err);
    if (st) return st;
    if (logdet) *logdet = lz_chol_logdet(n, a);
    LZ_FPE_HOLD(fe2);
    lapack_int info = LAPACKE_dpotri(LAPACK_COL_MAJOR, 'U', (lapack_int)n, a, (lapack_int)n);
    LZ_FPE_RELEASE(fe2);
    if (info) return lz_fail(err, LZ_ENUMERIC, "SPD inverse: singular factor (%d)", (int)info);
    lz_sym_from_lower(n, a);
    return LZ_OK;
}

/* reverse the order of eigenpairs: ascending (LAPACK) -> descending */
static void flip_pairs(size_t n, size_t m, double *w, double *v)
{
    for (size_t j = 0; j < m / 2; j++) {
        double t = w[j];
        w[j] = w[m - 1 - j];
        w[m - 1 - j] = t;
        for (size_t i = 0; i < n; i++) {
            double *r = v + i * m;
            t = r[j];
            r[j] = r[m - 1 - j];
            r[m - 1 - j] = t;
        }
    }
}

static void transpose_square(size_t n, double *a)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            double t = a[i * n + j];
            a[i * n + j] = a[j * n + i];
            a[j * n + i] = t;
        }
}

lz_status lz_eigh(size_t n, double *a, double *w, double *v, lz_error *err)
{
    CHECK_N(n);
    /* dsyevd overwrites a with the eigenvectors: columns in column-major
     * order, that is rows of the row-major matrix */
    LZ_FPE_HOLD(fe3);
    lapack_int info =
        LAPACKE_dsyevd(LAPACK_COL_MAJOR, 'V', 'L', (lapack_int)n, a, (lapack_int)n, w);
    LZ_FPE_RELEASE(fe3);
    if (info > 0) return lz_fail(err, LZ_ENUMERIC, "eigensolver did not converge (%d)", (int)info);
    if (info < 0) return lz_fail(err, LZ_EINVAL, "eigensolver: bad argument %d", (int)-info);
    if (v != a) memcpy(v, a, n * n * sizeof *v);
    transpose_square(n, v);
    flip_pairs(n, n, w, v);
    return LZ_OK;
}

lz_status lz_eigh_top(size_t n, double *a, size_t m, double *w, double *v, lz_error *err)
{
    CHECK_N(n);
    if (m < 1 || m > n) return lz_fail(err, LZ_EINVAL, "eigh_top: m = %zu of n = %zu", m, n);
    lapack_int found = 0;
    lapack_int *isuppz = malloc(2 * m * sizeof *isuppz);
    double *wall = malloc(n * sizeof *wall);
    double *z = malloc(n * m * sizeof *z); /* (m, n): eigenvector j in row j */
    if (!isuppz || !wall || !z) {
        free(isuppz);
        free(wall);
        free(z);
        return lz_fail(err, LZ_ENOMEM, "eigh_top: out of memory");
    }
    LZ_FPE_HOLD(fe4);
    lapack_int info = LAPACKE_dsyevr(LAPACK_COL_MAJOR, 'V', 'I', 'L', (lapack_int)n, a,
                                     (lapack_int)n, 0.0, 0.0, (lapack_int)(n - m + 1),
                                     (lapack_int)n, 0.0, &found, wall, z, (lapack_int)n, isuppz);
    LZ_FPE_RELEASE(fe4);
    if (info == 0 && (size_t)found == m) {
        memcpy(w, wall, m * sizeof *w);
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < m; j++) v[i * m + j] = z[j * n + i];
    }
    free(isuppz);
    free(wall);
    free(z);
    if (info > 0 || (info == 0 && (size_t)found != m))
        return lz_fail(err, LZ_ENUMERIC, "eigensolver did not converge (%d)", (int)info);
    if (info < 0) return lz_fail(err, LZ_EINVAL, "eigensolver: bad argument %d", (int)-info);
    flip_pairs(n, m, w, v);
    return LZ_OK;
}

lz_status lz_qr(size_t m, size_t n, double *a, double *r, lz_error *err)
{
    CHECK_N(m);
    if (n > m) return lz_fail(err, LZ_EINVAL, "QR: %zu columns > %zu rows", n, m);
    double *tau = malloc((n ? n : 1) * sizeof *tau);
    if (!tau) return lz_fail(err, LZ_ENOMEM, "QR: out of memory");
    /* The row-major (m, n) A is the column-major (n, m) A^T, and A = Q R is
     * A^T = R^T Q^T, an LQ factorisation: dgelqf + dorglq on the caller's
     * memory.  L = R^T sits in the column-major lower triangle, which is the
     * row-major upper triangle of the first n rows. */
    LZ_FPE_HOLD(fe5);
    lapack_int info =
        LAPACKE_dgelqf(LAPACK_COL_MAJOR, (lapack_int)n, (lapack_int)m, a, (lapack_int)n, tau);
    LZ_FPE_RELEASE(fe5);
    if (!info && r) {
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++) r[i * n + j] = j >= i ? a[i * n + j] : 0.0;
    }
    if (!info) {
        LZ_FPE_HOLD(fe6);
        info = LAPACKE_dorglq(LAPACK_COL_MAJOR, (lapack_int)n, (lapack_int)m, (lapack_int)n, a,
                              (lapack_int)n, tau);
        LZ_FPE_RELEASE(fe6);
    }
    free(tau);
    if (info) return lz_fail(err, LZ_EINVAL, "QR: bad argument %d", (int)-info);
    return LZ_OK;
}

lz_status lz_solve(size_t n, double *a, size_t nrhs, double *b, lz_error *err)
{
    CHECK_N(n);
    lapack_int *piv = malloc((n ? n : 1) * sizeof *piv);
    if (!piv) return lz_fail(err, LZ_ENOMEM, "solve: out of memory");
    LZ_FPE_HOLD(fe7);
    lapack_int info = LAPACKE_dgesv(LAPACK_ROW_MAJOR, (lapack_int)n, (lapack_int)nrhs, a,
                                    (lapack_int)n, piv, b, (lapack_int)nrhs);
    LZ_FPE_RELEASE(fe7);
    free(piv);
    if (info > 0) return lz_fail(err, LZ_ENUMERIC, "solve: the matrix is singular");
    if (info < 0) return lz_fail(err, LZ_EINVAL, "solve: bad argument %d", (int)-info);
    return LZ_OK;
}

lz_status lz_svd_values(size_t m, size_t n, double *a, double *s, lz_error *err)
{
    CHECK_N(m);
    CHECK_N(n);
    /* the singular values of A are those of A^T, the column-major view */
    LZ_FPE_HOLD(fe8);
    lapack_int info = LAPACKE_dgesdd(LAPACK_COL_MAJOR, 'N', (lapack_int)n, (lapack_int)m, a,
                                     (lapack_int)n, s, NULL, 1, NULL, 1);
    LZ_FPE_RELEASE(fe8);
    if (info > 0) return lz_fail(err, LZ_ENUMERIC, "SVD did not converge (%d)", (int)info);
    if (info < 0) return lz_fail(err, LZ_EINVAL, "SVD: bad argument %d", (int)-info);
    return LZ_OK;
}

lz_status lz_max_principal_angle(size_t n, size_t k, const double *ut, const double *vt, double *ws,
                                 double *angle, lz_error *err)
{
    double *own = NULL;
    if (!ws && !(ws = own = malloc(LZ_ANGLE_WS(n, k) * sizeof *ws)))
        return lz_fail(err, LZ_ENOMEM, "principal angle: out of memory");
    double *c = ws;          /* (k, k) U^T V, then R^T R */
    double *rt = ws + k * k; /* (k, n) R^T, R = V - U (U^T V) */
    double *w = rt + n * k;  /* (k) eigenvalues of R^T R */
    /* C <- U^T V = Ut Vt^T */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)k, (int)k, (int)n, 1.0, ut, (int)n,
                vt, (int)n, 0.0, c, (int)k);
    /* R^T <- V^T - C^T U^T: the part of span(V) outside span(U) */
    memcpy(rt, vt, n * k * sizeof *rt);
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)k, (int)n, (int)k, -1.0, c, (int)k,
                ut, (int)n, 1.0, rt, (int)n);
    /* sin^2 theta_max = lambda_max(R^T R) */
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, (int)k, (int)n, 1.0, rt, (int)n, 0.0, c,
                (int)k);
    lz_sym_from_upper(k, c);
    lz_status st = lz_eigh(k, c, w, c, err);
    if (!st) {
        double sn = w[0] > 0 ? sqrt(w[0]) : 0.0;
        *angle = asin(sn < 1.0 ? sn : 1.0);
    }
    free(own);
    return st;
}

void lz_symmetrise(size_t n, double *a)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < i; j++) {
            double v = 0.5 * (a[i * n + j] + a[j * n + i]);
            a[i * n + j] = a[j * n + i] = v;
        }
}

void lz_sym_from_upper(size_t n, double *a)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < i; j++) a[i * n + j] = a[j * n + i];
}

void lz_sym_from_lower(size_t n, double *a)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) a[i * n + j] = a[j * n + i];
}

void lz_set_threads(int n)
{
    if (n <= 0) n = openblas_get_num_procs();
    openblas_set_num_threads(n);
}

int lz_get_threads(void) { return openblas_get_num_threads(); }
