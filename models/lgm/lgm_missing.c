/* lgm_missing.c -- the linear Gaussian model on data with missing entries:
 * rows grouped by pattern, the E-step from the observed coordinates, the
 * M-step that completes x_m, sampled completion, scoring and imputation, and
 * the fit (see lgm.h; docs/lgm.md, "Missing entries").
 *
 * Dimension letters: n samples, d data, k latent, q missing coordinates of
 * a pattern, b rows of a block.  Row-major throughout.
 *
 * Working form: rows centred by a fixed centre c (the observed means when
 * fitting), 0 where missing; the model's mean enters as mu' = mu - c.
 */
#include "lgm.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "lgm_impl.h"
#include "lz_blas.h"
#include "lz_linalg.h"
#include "lz_prob.h"

/* Rows of a chunk: the unit the OpenMP threads share out (patterns are cut
 * into chunks of about this many rows): LGM_CHUNK_ENTRIES / d rows, within
 * [LGM_CHUNK_MIN, LGM_CHUNK_ROWS], so that wide rows (a row's pattern costs
 * O(d k^2)) still give the threads several chunks; enlarged so that the
 * chunks' sums take at most LGM_SLOTS_BYTES.  Depends on the data's shape
 * only. */
#define LGM_CHUNK_ROWS 1024
#define LGM_CHUNK_MIN 16
#define LGM_CHUNK_ENTRIES ((size_t)1 << 16)
#define LGM_SLOTS_BYTES ((size_t)64 << 20)
/* Rows of a block inside a chunk (the GEMMs of the row pass). */
#define LGM_BLOCK_ROWS 128
/* M_o is formed by a downdate of I + A^T D^-1 A over the missing
 * coordinates when they carry at most this fraction of tr(A^T D^-1 A): the
 * rounding of either form is ~eps times the trace of what it sums, so the
 * downdate's is then at most ~1 / (1 - LGM_DOWNDATE_FRAC) times the direct
 * form's (docs/lgm.md, "Missing entries"). */
#define LGM_DOWNDATE_FRAC 0.5

/* ------------------------------------------------------------------ */
/* the data by pattern */

void lgm_incomplete_free(lgm_incomplete *in)
{
    if (!in) return;
    free(in->centre);
    lz_patterns_free(in->pt);
    free(in->sxx);
    free(in);
}

lz_status lgm_incomplete_alloc(const lz_data *data, const double *centre, lgm_incomplete **out,
                               lz_error *err)
{
    *out = NULL;
    size_t n = data->n, d = data->d;
    lgm_incomplete *in = calloc(1, sizeof *in);
    if (!in) return lz_fail(err, LZ_ENOMEM, "out of memory");
    in->n = n;
    in->d = d;
    in->x = data->x;
    in->miss = data->miss;
    in->centre = malloc(d * sizeof *in->centre);
    in->sxx = calloc(d, sizeof *in->sxx);
    in->pt = lz_patterns_make(data);
    if (!in->centre || !in->sxx || !in->pt) {
        lgm_incomplete_free(in);
        return lz_fail(err, LZ_ENOMEM, "out of memory");
    }
    memcpy(in->centre, centre, d * sizeof *in->centre);
    const unsigned char *mk = data->miss;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++)
            if (!mk || !mk[i * d + j]) in->sxx[j] += data->x[i * d + j] * data->x[i * d + j];
    *out = in;
    return LZ_OK;
}

/* ------------------------------------------------------------------ */
/* workspace */

struct lgm_mwork {
    size_t d, k, n;
    size_t nthr, ts;     /* threads with scratch, doubles of scratch each      */
    size_t ch_rows;      /* rows of a chunk                                    */
    size_t n_pch, n_rch; /* chunks of patterns, of rows                        */
    size_t ps, rs;       /* doubles of a pattern chunk's sums, a row chunk's   */
    size_t *pch_start;   /* (n_pch + 1) first pattern of each pattern chunk    */
    /* the parameters' factors, once an E-step */
    double *mup;     /* (d) mu' = mu - c                                         */
    double *invd;    /* (d) 1 / D_i                                              */
    double *logd;    /* (d) log D_i                                              */
    double *ad;      /* (d, k) D^-1 A                                            */
    double *wd;      /* (d, k) D^-1/2 A                                          */
    double *mi;      /* (k, k) I + A^T D^-1 A                                    */
    double *ufull;   /* (k) A^T D^-1 mu'                                         */
    double *snr;     /* (d) |a_i|^2 / D_i: coordinate i's part of tr(A^T D^-1 A)  */
    double trp;      /* tr(A^T D^-1 A)                                           */
    double logd_sum; /* log|D|                                                  */
    /* rows */
    double *b;    /* (n, k) X D^-1 A, then the posterior means m_n            */
    double *rowc; /* (n) -1/2 (|o| log 2pi + log|D_o| + log|M_o|)              */
    double *zs;   /* (n, k) sampled completion: sum_j z_nj                    */
    /* chunks' sums and scratch */
    double *pslot; /* (n_pch, ps): Ss (d, k(k+1)/2) | Fs (k, k)                */
    double *rslot; /* (n_rch, rs): G (d, k+1) | E (d) | MM (k, k) | msum (k) | ll */
    double *thr;   /* (nthr, ts) */
    /* the M-step's sums (lgm.h, lgm_estep_incomplete) and its scratch */
    double *gx;  /* (d, k+1) G */
    double *f;   /* (k+1, k+1) F */
    double *exx; /* (d) E */
    double *fw;  /* (k+1, k+1) */
    double *wn;  /* (d, k+1) */
    double *block;
};

void lgm_mwork_free(lgm_mwork *w)
{
    if (!w) return;
    free(w->pch_start);
    free(w->block);
    free(w);
}

lgm_mwork *lgm_mwork_alloc(const lgm_incomplete *in, size_t k)
{
    size_t d = in->d, n = in->n, k1 = k + 1;
    lgm_mwork *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->d = d;
    w->k = k;
    w->n = n;
    int nt = lz_get_threads();
    w->nthr = nt > 0 ? (size_t)nt : 1;
    w->ts = 3 * d * k + 3 * k * k + k * (k + 1) / 2 + k + LGM_BLOCK_ROWS * (k + d);
    w->ps = d * (k * (k + 1) / 2) + k * k;
    w->rs = d * k1 + d + k * k + k + 1;
    /* chunks of LGM_CHUNK_ROWS rows, more when their sums would take more
     * than LGM_SLOTS_BYTES */
    size_t slot = w->ps > w->rs ? w->ps : w->rs;
    size_t ch = (LGM_CHUNK_ENTRIES + d - 1) / (d ? d : 1);
    ch = ch < LGM_CHUNK_MIN ? LGM_CHUNK_MIN : ch > LGM_CHUNK_ROWS ? LGM_CHUNK_ROWS : ch;
    size_t cap = LGM_SLOTS_BYTES / (2 * sizeof(double) * slot);
    if (cap < 1) cap = 1;
    if (n / ch + 1 > cap) ch = n / cap + 1;
    w->ch_rows = ch;
    w->n_rch = n ? (n + ch - 1) / ch : 0;
    /* pattern chunks: consecutive patterns until they hold ch rows */
    w->pch_start = malloc((in->pt->n_pat + 1) * sizeof *w->pch_start);
    if (!w->pch_start) {
        lgm_mwork_free(w);
        return NULL;
    }
    size_t np = 0, acc = 0;
    for (size_t p = 0; p < in->pt->n_pat; p++) {
        if (acc == 0) w->pch_start[np++] = p;
        acc += in->pt->pat_start[p + 1] - in->pt->pat_start[p];
        if (acc >= ch) acc = 0;
    }
    w->pch_start[np] = in->pt->n_pat;
    w->n_pch = np;
    size_t tot = 4 * d + 2 * d * k + k * k + k + 2 * n * k + n + w->n_pch * w->ps +
                 w->n_rch * w->rs + w->nthr * w->ts + 2 * d * k1 + 2 * k1 * k1 + d;
    w->block = malloc(tot * sizeof *w->block);
    if (!w->block) {
        lgm_mwork_free(w);
        return NULL;
    }
    double *p = w->block;
    /* clang-format off */
    w->mup = p;   p += d;
    w->invd = p;  p += d;
    w->logd = p;  p += d;
    w->ad = p;    p += d * k;
    w->wd = p;    p += d * k;
    w->mi = p;    p += k * k;
    w->ufull = p; p += k;
    w->snr = p;   p += d;
    w->b = p;     p += n * k;
    w->zs = p;    p += n * k;
    w->rowc = p;  p += n;
    w->pslot = p; p += w->n_pch * w->ps;
    w->rslot = p; p += w->n_rch * w->rs;
    w->thr = p;   p += w->nthr * w->ts;
    w->gx = p;    p += d * k1;
    w->wn = p;    p += d * k1;
    w->f = p;     p += k1 * k1;
    w->fw = p;    p += k1 * k1;
    w->exx = p;
    /* clang-format on */
    return w;
}

/* per-thread scratch */
typedef struct {
    double *g;   /* (d, k) gathered rows of D^-1/2 A                          */
    double *am;  /* (d, k) gathered rows of A (the missing coordinates)       */
    double *t;   /* (d, k) A_m Sigma_o; sampled: the draws' normals          */
    double *mm;  /* (k, k) M_o                                                 */
    double *l;   /* (k, k) its Cholesky factor                                */
    double *sig; /* (k, k) Sigma_o                                            */
    double *u;   /* (k) A_o^T D_o^-1 mu'_o; then (k(k+1)/2) packed c_p Sigma_o */
    double *e;   /* (k) a draw                                                */
    double *bb;  /* (LGM_BLOCK_ROWS, k) rows' right-hand sides                */
    double *y;   /* (LGM_BLOCK_ROWS, d) a block of the completed rows         */
} scratch;

static scratch thread_scratch(const lgm_mwork *w, size_t t)
{
    size_t d = w->d, k = w->k;
    double *p = w->thr + t * w->ts;
    scratch s;
    /* clang-format off */
    s.g = p;   p += d * k;
    s.am = p;  p += d * k;
    s.t = p;   p += d * k;
    s.mm = p;  p += k * k;
    s.l = p;   p += k * k;
    s.sig = p; p += k * k;
    s.u = p;   p += k * (k + 1) / 2;
    s.e = p;   p += k;
    s.bb = p;  p += LGM_BLOCK_ROWS * k;
    s.y = p;
    /* clang-format on */
    return s;
}

/* ------------------------------------------------------------------ */
/* the E-step */

/* The parameters' factors (docs/lgm.md, "Missing entries"): mu' = mu - c,
 * 1/D, log D, D^-1 A, D^-1/2 A, I + A^T D^-1 A, its trace, A^T D^-1 mu'. */
static void factor_params(const lgm_model *m, const lgm_incomplete *in, lgm_mwork *w)
{
    size_t d = w->d, k = w->k;
    for (size_t i = 0; i < d; i++) {
        double s = 1.0 / m->dg[i], r = sqrt(s);
        w->mup[i] = m->mu[i] - in->centre[i];
        w->invd[i] = s;
        w->logd[i] = log(m->dg[i]);
        double sn = 0;
        for (size_t c = 0; c < k; c++) {
            w->ad[i * k + c] = s * m->a[i * k + c];
            w->wd[i * k + c] = r * m->a[i * k + c];
            sn += w->wd[i * k + c] * w->wd[i * k + c];
        }
        w->snr[i] = sn;
    }
    /* I + Wd^T Wd (upper triangle by dsyrk, then both) */
    for (size_t i = 0; i < k * k; i++) w->mi[i] = 0.0;
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)k, (int)d, 1.0, w->wd, (int)k, 0.0,
                w->mi, (int)k);
    lz_sym_from_upper(k, w->mi);
    w->logd_sum = 0;
    for (size_t i = 0; i < d; i++) w->logd_sum += w->logd[i];
    w->trp = 0;
    for (size_t c = 0; c < k; c++) {
        w->trp += w->mi[c * k + c];
        w->mi[c * k + c] += 1.0;
    }
    /* u = (D^-1 A)^T mu' */
    cblas_dgemv(CblasRowMajor, CblasTrans, (int)d, (int)k, 1.0, w->ad, (int)k, w->mup, 1, 0.0,
                w->ufull, 1);
}

/* Pattern p's M_o into s->mm, its Cholesky factor into s->l, log|M_o|,
 * log|D_o| and u_o = A_o^T D_o^-1 mu'_o into s->u:
 *     downdate: M_o = I + A^T D^-1 A - A_m^T D_m^-1 A_m,  u_o = u - A_m^T D_m^-1 mu'_m
 *     direct:   M_o = I + A_o^T D_o^-1 A_o,              u_o = A_o^T D_o^-1 mu'_o
 * the downdate when fewer coordinates are missing than observed and they
 * carry at most LGM_DOWNDATE_FRAC of tr(A^T D^-1 A) (its rounding is then
 * of the order of the direct form's); directly otherwise, or when the
 * downdate fails to give a positive definite M_o.  Non-zero if M_o is not
 * positive definite. */
static int factor_pattern(const lgm_mwork *w, const lgm_incomplete *in, size_t p, scratch *s,
                          double *logdet_m, double *logd_o)
{
    size_t d = w->d, k = w->k;
    const size_t *mis = in->pt->mis + in->pt->mis_start[p];
    size_t q = in->pt->mis_start[p + 1] - in->pt->mis_start[p];
    double tr_m = 0;
    for (size_t t = 0; t < q; t++) tr_m += w->snr[mis[t]];
    int down = q == 0 || (q < d - q && tr_m <= LGM_DOWNDATE_FRAC * w->trp);
    lz_error e;
    for (;;) {
        if (down) {
            memcpy(s->mm, w->mi, k * k * sizeof *s->mm);
            memcpy(s->u, w->ufull, k * sizeof *s->u);
            for (size_t t = 0; t < q; t++) {
                size_t i = mis[t];
                memcpy(s->g + t * k, w->wd + i * k, k * sizeof *s->g);
                for (size_t c = 0; c < k; c++) s->u[c] -= w->ad[i * k + c] * w->mup[i];
            }
            if (q)
                cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)k, (int)q, -1.0, s->g,
                            (int)k, 1.0, s->mm, (int)k);
        } else {
            size_t no = 0, t = 0;
            for (size_t c = 0; c < k * k; c++) s->mm[c] = 0.0;
            for (size_t c = 0; c < k; c++) s->u[c] = 0.0;
            for (size_t i = 0; i < d; i++) {
                if (t < q && mis[t] == i) {
                    t++;
                    continue;
                }
                memcpy(s->g + no * k, w->wd + i * k, k * sizeof *s->g);
                for (size_t c = 0; c < k; c++) s->u[c] += w->ad[i * k + c] * w->mup[i];
                no++;
            }
            cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)k, (int)no, 1.0, s->g, (int)k,
                        0.0, s->mm, (int)k);
            for (size_t c = 0; c < k; c++) s->mm[c * k + c] += 1.0;
        }
        lz_sym_from_upper(k, s->mm);
        memcpy(s->l, s->mm, k * k * sizeof *s->l);
        if (lz_chol(k, s->l, &e) == LZ_OK) break;
        if (!down) return 1;
        down = 0; /* the downdate lost positive definiteness: directly */
    }
    *logdet_m = lz_chol_logdet(k, s->l);
    /* log|D_o| = log|D| - sum_m log D_i (the sum's rounding, ~eps sum_i
     * |log D_i|, is far below anything ll/N resolves) */
    double ld = w->logd_sum;
    for (size_t t = 0; t < q; t++) ld -= w->logd[mis[t]];
    *logd_o = ld;
    return 0;
}

/* Pattern p: M_o factored; each of its rows' posterior mean
 *     m_n = M_o^-1 (b_n - u_o),  b_n = A_o^T D_o^-1 x_n,o  (w->b, in place),
 * and its constant -1/2 (|o| log 2pi + log|D_o| + log|M_o|) (w->rowc).
 * slot (may be NULL): += the pattern's part of the M-step's sums, with c_p
 * its rows, Sigma_o = M_o^-1:
 *     Ss_i += c_p Sigma_o  (each missing i; upper triangle, packed),
 *     Fs   += c_p Sigma_o,
 * from which lgm_estep_incomplete forms sum_{n: i missing} Sigma_n a_i = Ss_i a_i
 * and sum_{n: i missing} a_i^T Sigma_n a_i = a_i^T Ss_i a_i once for all
 * patterns.
 * Non-zero if M_o is not positive definite. */
static int pattern_pass(const lgm_model *m, const lgm_incomplete *in, lgm_mwork *w, size_t p,
                        scratch *s, double *slot)
{
    size_t d = w->d, k = w->k;
    double ldm, ldo;
    if (factor_pattern(w, in, p, s, &ldm, &ldo)) return 1;
    const size_t *mis = in->pt->mis + in->pt->mis_start[p];
    size_t q = in->pt->mis_start[p + 1] - in->pt->mis_start[p];
    const size_t *rows = in->pt->rows + in->pt->pat_start[p];
    size_t cnt = in->pt->pat_start[p + 1] - in->pt->pat_start[p];
    double c0 = -0.5 * ((double)(d - q) * LZ_LOG_2PI + ldo + ldm);
    for (size_t r0 = 0; r0 < cnt; r0 += LGM_BLOCK_ROWS) {
        size_t nb = cnt - r0 < LGM_BLOCK_ROWS ? cnt - r0 : LGM_BLOCK_ROWS;
        for (size_t t = 0; t < nb; t++) {
            const double *bn = w->b + rows[r0 + t] * k;
            for (size_t c = 0; c < k; c++) s->bb[t * k + c] = bn[c] - s->u[c];
        }
        /* rows m_n^T = (b_n - u_o)^T M_o^-1: two triangular solves */
        lz_chol_solve_right(nb, k, s->l, s->bb, NULL);
        for (size_t t = 0; t < nb; t++) {
            size_t row = rows[r0 + t];
            memcpy(w->b + row * k, s->bb + t * k, k * sizeof *w->b);
            w->rowc[row] = c0;
        }
    }
    if (!slot) return 0;
    /* Sigma_o = M_o^-1 = L^-T L^-1: L^-1 by a triangular solve on I, then
     * its Gram matrix */
    for (size_t c = 0; c < k * k; c++) s->mm[c] = 0.0;
    for (size_t c = 0; c < k; c++) s->mm[c * k + c] = 1.0;
    cblas_dtrsm(CblasRowMajor, CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit, (int)k, (int)k,
                1.0, s->l, (int)k, s->mm, (int)k);
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)k, (int)k, 1.0, s->mm, (int)k, 0.0,
                s->sig, (int)k);
    lz_sym_from_upper(k, s->sig);
    size_t kp = k * (k + 1) / 2;
    double *ss = slot, *fs = ss + d * kp, cp = (double)cnt,
           *sp = s->u; /* (kp) packed c_p Sigma_o */
    for (size_t c = 0; c < k * k; c++) fs[c] += cp * s->sig[c];
    for (size_t a = 0, j = 0; a < k; a++)
        for (size_t b = a; b < k; b++) sp[j++] = cp * s->sig[a * k + b];
    for (size_t t = 0; t < q; t++) {
        double *si = ss + mis[t] * kp;
        for (size_t j = 0; j < kp; j++) si[j] += sp[j];
    }
    (void)m;
    return 0;
}

/* Rows r0 .. r0 + nb: the completed rows xh (x observed; mu'_i + a_i.m_n
 * missing) into s->y, each row's log-likelihood (docs/lgm.md, "Missing
 * entries": the residual form, as lgm_loglik_post)
 *     log p(x_o) = rowc_n - 1/2 [sum_o (x_i - mu'_i - a_i.m_n)^2 / D_i + m_n.m_n]
 * into logp (may be NULL); returns their sum.  slot (may be NULL): +=
 *     G += xh [m; 1]^T,  E += xh_i^2 (missing i),  MM += m m^T (upper),  msum += m. */
static double row_block(const lgm_model *m, const lgm_incomplete *in, const lgm_mwork *w, size_t r0,
                        size_t nb, scratch *s, double *slot, double *logp)
{
    size_t d = w->d, k = w->k, k1 = k + 1;
    const double *zb = w->b + r0 * k;
    double *y = s->y;
    /* Y (nb, d) <- Z_b A^T: row n is A m_n */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nb, (int)d, (int)k, 1.0, zb, (int)k,
                m->a, (int)k, 0.0, y, (int)d);
    double *es = slot ? slot + d * k1 : NULL, sum = 0;
    for (size_t t = 0; t < nb; t++) {
        size_t row = r0 + t;
        const double *x = in->x + row * d;
        const unsigned char *mk = in->miss ? in->miss + row * d : NULL;
        double *yt = y + t * d, qf = 0;
        for (size_t j = 0; j < d; j++) {
            double v = yt[j] + w->mup[j];
            if (mk && mk[j]) {
                yt[j] = v;
                if (es) es[j] += v * v;
            } else {
                double r = x[j] - v;
                qf += r * r * w->invd[j];
                yt[j] = x[j];
            }
        }
        for (size_t c = 0; c < k; c++) qf += zb[t * k + c] * zb[t * k + c];
        double l = w->rowc[row] - 0.5 * qf;
        if (logp) logp[row] = l;
        sum += l;
    }
    if (slot) {
        double *g = slot, *mm = es + d, *ms = mm + k * k;
        /* G[:, :k] += Y^T Z_b, G[:, k] += the column sums of Y */
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)d, (int)k, (int)nb, 1.0, y,
                    (int)d, zb, (int)k, 1.0, g, (int)k1);
        for (size_t t = 0; t < nb; t++)
            for (size_t j = 0; j < d; j++) g[j * k1 + k] += y[t * d + j];
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)k, (int)nb, 1.0, zb, (int)k, 1.0,
                    mm, (int)k);
        for (size_t t = 0; t < nb; t++)
            for (size_t c = 0; c < k; c++) ms[c] += zb[t * k + c];
    }
    return sum;
}

lz_status lgm_estep_incomplete(const lgm_model *m, const lgm_incomplete *in, lgm_mwork *w,
                               int stats, double *z, double *logp, double *ll, lz_error *err)
{
    size_t d = m->d, k = m->k, n = in->n, k1 = k + 1;
    if (in->d != d || w->d != d || w->k != k || w->n != n)
        return lz_fail(err, LZ_EINVAL, "E-step: the workspace is not for this data and model");
    factor_params(m, in, w);
    /* OpenMP threads over chunks, each calling single-threaded BLAS (the
     * threads w was made for; BLAS may already run on one: lgm_fit_incomplete) */
    int nb = lz_get_threads(), nth = (int)w->nthr, bad = 0;
    if (nb != 1) lz_set_threads(1);
#pragma omp parallel for num_threads(nth) schedule(dynamic, 1) if (w->n_rch > 1 && nth > 1)
    for (size_t ch = 0; ch < w->n_rch; ch++) {
        /* B (n, k) <- X D^-1 A, a chunk of rows at a time: row n is
         * A_o^T D_o^-1 x_n,o (x is 0 where missing) */
        size_t r0 = ch * w->ch_rows, r1 = r0 + w->ch_rows < n ? r0 + w->ch_rows : n;
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)(r1 - r0), (int)k, (int)d, 1.0,
                    in->x + r0 * d, (int)d, w->ad, (int)k, 0.0, w->b + r0 * k, (int)k);
    }
#pragma omp parallel for num_threads(nth) schedule(dynamic, 1) if (w->n_pch > 1 && nth > 1)
    for (size_t ch = 0; ch < w->n_pch; ch++) {
        scratch s = thread_scratch(w, (size_t)omp_get_thread_num());
        double *slot = stats ? w->pslot + ch * w->ps : NULL;
        if (slot) memset(slot, 0, w->ps * sizeof *slot);
        for (size_t p = w->pch_start[ch]; p < w->pch_start[ch + 1]; p++)
            if (pattern_pass(m, in, w, p, &s, slot)) {
#pragma omp atomic write
                bad = 1;
            }
    }
    if (!bad) {
#pragma omp parallel for num_threads(nth) schedule(dynamic, 1) if (w->n_rch > 1 && nth > 1)
        for (size_t ch = 0; ch < w->n_rch; ch++) {
            scratch s = thread_scratch(w, (size_t)omp_get_thread_num());
            double *slot = w->rslot + ch * w->rs;
            if (stats) memset(slot, 0, w->rs * sizeof *slot);
            size_t r1 = (ch + 1) * w->ch_rows < n ? (ch + 1) * w->ch_rows : n;
            double sum = 0;
            for (size_t r0 = ch * w->ch_rows; r0 < r1; r0 += LGM_BLOCK_ROWS) {
                size_t rb = r1 - r0 < LGM_BLOCK_ROWS ? r1 - r0 : LGM_BLOCK_ROWS;
                sum += row_block(m, in, w, r0, rb, &s, stats ? slot : NULL, logp);
            }
            slot[w->rs - 1] = sum;
        }
    }
    if (nb != 1) lz_set_threads(nb);
    if (bad)
        return lz_fail(err, LZ_ENUMERIC,
                       "posterior: I + A_o^T D_o^-1 A_o is not positive definite");
    /* the chunks' sums in chunk order */
    double tot = 0;
    for (size_t ch = 0; ch < w->n_rch; ch++) tot += w->rslot[ch * w->rs + w->rs - 1];
    if (ll) *ll = tot / (double)n;
    if (z) memcpy(z, w->b, n * k * sizeof *z);
    if (!stats) return LZ_OK;
    memset(w->gx, 0, d * k1 * sizeof *w->gx);
    memset(w->f, 0, k1 * k1 * sizeof *w->f);
    memcpy(w->exx, in->sxx, d * sizeof *w->exx);
    /* the patterns' part: Ss_i (packed, summed over the chunks into the
     * first chunk's slot), then Gs_i = Ss_i a_i and a_i^T Ss_i a_i + n_i D_i,
     * n_i the rows missing i (docs/lgm.md, "Missing entries") */
    size_t kp = k * (k + 1) / 2, ps = w->ps;
    double *ss = w->pslot;
    if (w->n_pch > 1) /* each entry summed in chunk order, blocks of entries shared out */
#pragma omp parallel for num_threads(nth) schedule(static) if (nth > 1 && ps >= 8192)
        for (size_t j0 = 0; j0 < ps; j0 += 4096) {
            size_t j1 = ps - j0 < 4096 ? ps : j0 + 4096;
            for (size_t ch = 1; ch < w->n_pch; ch++) {
                const double *so = w->pslot + ch * ps;
                for (size_t j = j0; j < j1; j++) ss[j] += so[j];
            }
        }
    for (size_t i = 0; i < d && w->n_pch; i++) {
        const double *si = ss + i * kp, *ai = m->a + i * k;
        double *gi = w->gx + i * k1, asa = 0;
        for (size_t a = 0, j = 0; a < k; a++)
            for (size_t b = a; b < k; b++, j++) {
                gi[a] += si[j] * ai[b];
                if (b != a) gi[b] += si[j] * ai[a];
            }
        for (size_t a = 0; a < k; a++) asa += ai[a] * gi[a];
        w->exx[i] += asa + (double)in->pt->n_mis[i] * m->dg[i];
    }
    const double *fs = ss + d * kp;
    for (size_t a = 0; a < k && w->n_pch; a++)
        for (size_t c = a; c < k; c++) w->f[a * k1 + c] += fs[a * k + c];
    for (size_t ch = 0; ch < w->n_rch; ch++) {
        const double *g = w->rslot + ch * w->rs, *es = g + d * k1, *mm = es + d, *ms = mm + k * k;
        for (size_t i = 0; i < d * k1; i++) w->gx[i] += g[i];
        for (size_t i = 0; i < d; i++) w->exx[i] += es[i];
        for (size_t a = 0; a < k; a++) {
            for (size_t c = a; c < k; c++) w->f[a * k1 + c] += mm[a * k + c];
            w->f[a * k1 + k] += ms[a];
        }
    }
    w->f[k * k1 + k] = (double)n;
    lz_sym_from_upper(k1, w->f);
    return LZ_OK;
}

/* ------------------------------------------------------------------ */
/* the M-steps */

/* [A mu'] <- G F^-1 and D_i <- max((E_i - w_i.G_i) / cnt, floor_i) from
 * w->gx, w->f, w->exx; mu = c + mu' */
static lz_status solve_mstep(lgm_model *m, const lgm_incomplete *in, lgm_mwork *w, double cnt,
                             const char *what, lz_error *err)
{
    size_t d = m->d, k = m->k, k1 = k + 1;
    memcpy(w->fw, w->f, k1 * k1 * sizeof *w->fw);
    memcpy(w->wn, w->gx, d * k1 * sizeof *w->wn);
    lz_status st = lz_chol(k1, w->fw, err);
    if (st) return lz_fail(err, st, "%s: the sum of E[z~ z~^T] is not positive definite", what);
    if ((st = lz_chol_solve_right(d, k1, w->fw, w->wn, err))) return st;
    for (size_t i = 0; i < d; i++) {
        const double *wi = w->wn + i * k1, *gi = w->gx + i * k1;
        double wg = 0;
        for (size_t c = 0; c < k1; c++) wg += wi[c] * gi[c];
        memcpy(m->a + i * k, wi, k * sizeof *m->a);
        m->mu[i] = in->centre[i] + wi[k];
        m->dg[i] = fmax((w->exx[i] - wg) / cnt, m->floor[i]);
    }
    return LZ_OK;
}

lz_status lgm_mstep_incomplete(lgm_model *m, const lgm_incomplete *in, lgm_mwork *w, lz_error *err)
{
    return solve_mstep(m, in, w, (double)in->n, "M-step", err);
}

lz_status lgm_mstep_sampled_incomplete(lgm_model *m, const lgm_incomplete *in, lgm_mwork *w,
                                       int samples, gsl_rng *r, lz_error *err)
{
    size_t d = m->d, k = m->k, k1 = k + 1, n = in->n;
    if (in->d != d || w->d != d || w->k != k || w->n != n)
        return lz_fail(err, LZ_EINVAL,
                       "sampled M-step: the workspace is not for this data and model");
    scratch s = thread_scratch(w, 0);
    double *f = w->f, *gx = w->gx, *ex = w->exx;
    memset(f, 0, k1 * k1 * sizeof *f);
    memset(gx, 0, d * k1 * sizeof *gx);
    memset(ex, 0, d * sizeof *ex);
    memset(w->zs, 0, n * k * sizeof *w->zs);
    for (size_t p = 0; p < in->pt->n_pat; p++) {
        double ldm, ldo;
        if (factor_pattern(w, in, p, &s, &ldm, &ldo))
            return lz_fail(err, LZ_ENUMERIC,
                           "sampled M-step: I + A_o^T D_o^-1 A_o is not positive definite");
        const size_t *mis = in->pt->mis + in->pt->mis_start[p];
        size_t q = in->pt->mis_start[p + 1] - in->pt->mis_start[p];
        for (size_t t = in->pt->pat_start[p]; t < in->pt->pat_start[p + 1]; t++) {
            size_t row = in->pt->rows[t];
            const double *mn = w->b + row * k;
            double *zs = w->zs + row * k;
            for (int j = 0; j < samples; j++) {
                /* z = m_n + L^-T e, e ~ N(0, I_k): Cov = L^-T L^-1 = Sigma_o */
                lz_rng_gauss(r, k, s.e);
                cblas_dtrsv(CblasRowMajor, CblasLower, CblasTrans, CblasNonUnit, (int)k, s.l,
                            (int)k, s.e, 1);
                for (size_t c = 0; c < k; c++) {
                    s.e[c] += mn[c];
                    zs[c] += s.e[c];
                }
                /* F += z~ z~^T (upper triangle) */
                cblas_dsyr(CblasRowMajor, CblasUpper, (int)k, 1.0, s.e, 1, f, (int)k1);
                for (size_t c = 0; c < k; c++) f[c * k1 + k] += s.e[c];
                /* x_i = mu'_i + a_i.z + D_i^1/2 e_i for the missing i */
                if (!q) continue;
                lz_rng_gauss(r, q, s.t);
                for (size_t t2 = 0; t2 < q; t2++) {
                    size_t i = mis[t2];
                    double v = w->mup[i] + sqrt(m->dg[i]) * s.t[t2];
                    for (size_t c = 0; c < k; c++) v += m->a[i * k + c] * s.e[c];
                    for (size_t c = 0; c < k; c++) gx[i * k1 + c] += v * s.e[c];
                    gx[i * k1 + k] += v;
                    ex[i] += v * v;
                }
            }
        }
    }
    /* the observed entries: sum_j x_ni z~_nj^T = x_ni [sum_j z_nj; J] */
    double jj = (double)samples;
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)d, (int)k, (int)n, 1.0, in->x, (int)d,
                w->zs, (int)k, 1.0, gx, (int)k1);
    for (size_t t = 0; t < n; t++)
        for (size_t i = 0; i < d; i++) gx[i * k1 + k] += jj * in->x[t * d + i];
    for (size_t i = 0; i < d; i++) ex[i] += jj * in->sxx[i];
    f[k * k1 + k] = (double)n * jj;
    lz_sym_from_upper(k1, f);
    /* the complete-data solution over the n J completed rows */
    return solve_mstep(m, in, w, (double)n * jj, "sampled M-step", err);
}

/* ------------------------------------------------------------------ */
/* scoring and imputation */

lz_status lgm_score_incomplete(const lgm_model *m, const lgm_incomplete *in, double *ll, double *z,
                               double *logp, double *xfill, lz_error *err)
{
    size_t d = m->d, k = m->k;
    lgm_mwork *w = lgm_mwork_alloc(in, k);
    if (!w) return lz_fail(err, LZ_ENOMEM, "out of memory");
    double l = NAN;
    lz_status st = lgm_estep_incomplete(m, in, w, 0, z, logp, &l, err);
    if (!st && ll) *ll = l;
    /* E[x_i | x_o] = mu_i + a_i.E[z | x_o] for each missing i */
    for (size_t p = 0; !st && xfill && p < in->pt->n_pat; p++)
        for (size_t t = in->pt->pat_start[p]; t < in->pt->pat_start[p + 1]; t++) {
            size_t row = in->pt->rows[t];
            const double *mn = w->b + row * k;
            for (size_t u = in->pt->mis_start[p]; u < in->pt->mis_start[p + 1]; u++) {
                size_t i = in->pt->mis[u];
                double v = m->mu[i];
                for (size_t c = 0; c < k; c++) v += m->a[i * k + c] * mn[c];
                xfill[row * d + i] = v;
            }
        }
    lgm_mwork_free(w);
    return st;
}

/* ------------------------------------------------------------------ */
/* the fit */

typedef struct {
    const lgm_incomplete *in;
    lgm_mwork *w;
    int samples;
} incomplete_ctx;

static lz_status i_estep(void *ctx, const lgm_model *m, double *ll, lz_error *err)
{
    incomplete_ctx *ic = ctx;
    return lgm_estep_incomplete(m, ic->in, ic->w, 1, NULL, NULL, ll, err);
}

static lz_status i_mstep(void *ctx, lgm_model *m, lz_error *err)
{
    incomplete_ctx *ic = ctx;
    return lgm_mstep_incomplete(m, ic->in, ic->w, err);
}

static lz_status i_mstep_sampled(void *ctx, lgm_model *m, gsl_rng *r, lz_error *err)
{
    incomplete_ctx *ic = ctx;
    return lgm_mstep_sampled_incomplete(m, ic->in, ic->w, ic->samples, r, err);
}

static lz_status i_test_ll(void *ctx, const lgm_model *m, double *ll, lz_error *err)
{
    incomplete_ctx *ic = ctx;
    return lgm_estep_incomplete(m, ic->in, ic->w, 0, NULL, NULL, ll, err);
}

lz_status lgm_fit_incomplete(const lgm_config *c, const lgm_incomplete *train, const double *s,
                             const lgm_incomplete *test, lgm_model *m, double t0, lgm_callback cb,
                             void *ud, lgm_result *res, lz_error *err)
{
    size_t d = m->d, k = m->k;
    lz_status st = lgm_fit_check(c, train->n, 1, m, res, err);
    if (st) return st;
    if (train->d != d || (test && test->d != d))
        return lz_fail(err, LZ_EINVAL, "EM: the data have %zu columns, the model %zu", train->d, d);
    int sampled = c->completion == LGM_SAMPLED, inc = train->miss != NULL;
    gsl_rng *r = lz_rng_alloc_stream(c->seed, 0);
    lgm_work *w = lgm_work_alloc(d, k, sampled && !inc ? train->n : 0);
    lgm_mwork *wtr = inc ? lgm_mwork_alloc(train, k) : NULL;
    lgm_mwork *wte = test ? lgm_mwork_alloc(test, k) : NULL;
    if (!r || !w || (inc && !wtr) || (test && !wte))
        st = lz_fail(err, LZ_ENOMEM, "EM: out of memory");
    lgm_fit_ops o;
    lgm_complete_ctx cc = {w, s, NULL, train->n, train->x, c->samples};
    incomplete_ctx ic = {train, wtr, c->samples}, tc = {test, wte, c->samples};
    if (inc) {
        memset(&o, 0, sizeof o);
        o.estep = i_estep;
        o.mstep = i_mstep;
        o.mstep_sampled = i_mstep_sampled;
        o.ctx = &ic;
        o.with_mean = 1;
    } else
        lgm_complete_ops(&cc, &o);
    if (test) {
        o.test_ll = i_test_ll;
        o.test_ctx = &tc;
    }
    /* Missing entries: the E-steps run their own OpenMP threads over
     * single-threaded BLAS, and the rest of an iteration is O(d k^2); BLAS
     * stays on one thread for the whole fit, so that its idle threads,
     * which spin a while after each threaded call, do not take the cores
     * from the E-steps' threads. */
    int nb = lz_get_threads();
    if (inc && nb != 1) lz_set_threads(1);
    /* a coordinate constant where observed keeps A's row exactly 0 (and mu'
     * 0), as on complete data, where its row of S is 0 (lgm_start) */
    if (!st) st = lgm_start(c, &o, s, r, m, w, res, err);
    if (!st) st = lgm_fit_loop(c, &o, r, m, t0, cb, ud, res, err);
    if (inc && nb != 1) lz_set_threads(nb);
    if (r) gsl_rng_free(r);
    lgm_work_free(w);
    lgm_mwork_free(wtr);
    lgm_mwork_free(wte);
    return st;
}
