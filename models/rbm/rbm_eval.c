/* rbm_eval.c -- the RBM's probabilities in double precision: conditionals,
 * free energy, pseudo-likelihood, reconstruction error, exact log Z by
 * enumeration, log Z by annealed importance sampling and reverse annealing
 * (one annealing loop for both), the log-likelihood per sample and its
 * bracket (rbm_loglik), latent codes and Gibbs samples; binary and Gaussian
 * visible units.  It calls only
 * rbm_model.c (the graph of calls: rbm.h).  Formulas: docs/rbm.md, "Equations
 * and the functions that compute them".
 *
 * Dimension letters: n samples, d visible, h hidden, r AIS runs, s the
 * enumerated layer, o the other layer.  Threads (rbm_set_threads): each
 * OpenMP thread takes fixed blocks of rows (or of enumerated states, or of
 * AIS runs) and calls single-threaded BLAS on them; sums over blocks are
 * added in a fixed order, so results depend on the thread count only.
 */
#include "rbm.h"

#include <math.h>
#include <stdint.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "lz_vmath.h"
#include "lz_blas.h" /* before any GSL header */
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "lz_prob.h"
#include "rbm_impl.h"

#define EV_ROWS 256       /* rows of a block of samples                 */
#define EV_ENUM_ROWS 1024 /* states of a block of the enumerated layer */
#define LN2 0.69314718055994530941723212145817657
#define LOG_2PI 1.83787706640934548356065947281123527

/* one thread's scratch */
typedef struct {
    double *vb; /* (EV_ROWS, d) a block of visible rows                    */
    double *ub; /* (EV_ROWS, d) the block as the hidden units see it,
                   v / sigma^2 (Gaussian)                                 */
    double *ah; /* (EV_ROWS, h) hidden activations of the block            */
    double *av; /* (EV_ROWS, d) visible activations of the block           */
    double *p;  /* (h) sigm(a)                                             */
    double *q;  /* (h) sigm(-a)                                            */
    double *eu; /* (enum_rows, enum_max) states of the enumerated layer    */
    double *ea; /* (enum_rows, max(d, h)) activations of the other layer   */
    double *ev; /* (enum_rows) log unnormalised marginal of each state     */
} ev_thread;

struct rbm_eval {
    size_t d, h;
    int gauss;      /* Gaussian visible units                                 */
    double *is2;    /* (d) 1 / sigma_i^2 (1 for binary units)                 */
    double *ls2;    /* (d) log sigma_i^2 = z_i                                */
    double *w;      /* (h, d) W                                               */
    double *b;      /* (h) hidden biases                                      */
    double *c;      /* (d) visible biases                                     */
    double *ep;     /* (d, h) exp(+W_ji) at [i h + j]                         */
    double *em;     /* (d, h) exp(-W_ji)                                      */
    int pll_block;  /* groups of 8 factors a lane takes between rescalings;
                       0: |W| too large, take logs factor by factor          */
    int nthr;       /* threads the scratch is sized for                       */
    ev_thread *thr; /* (nthr) */
    int enum_max;   /* largest layer rbm_eval_log_z may enumerate (0: none)   */
    size_t enum_rows;
    double *lse; /* (2^enum_max / enum_rows) log-sum-exp of each block     */
    double *gm;  /* (enum_max, enum_max) Gaussian log Z: W D W^T, D = diag(1 / sigma^2) */
    double *gl;  /* (enum_max) its linear term b + W D c + diag(W D W^T) / 2 */
    double *mem; /* the block everything above points into                 */
};

/* the threads an rbm_eval call of this much work uses */
static int ev_threads(const rbm_eval *ev, double work)
{
    int T = rbm_threads_for(work);
    return T < ev->nthr ? T : ev->nthr;
}

/* e^x, vectorisable (common/lz_vmath.h) */
static inline double exp_d(double x) { return lz_vexp(x); }

#define SP_CHUNK 256

/* sum_j softplus(x_j), softplus(x) = log(1 + e^x) = max(x, 0) + log(1 + e^-|x|);
 * p_j <- sigm(x_j) from the same e^-|x_j| when p != NULL (p may be x).  The logs are taken
 * of products of SP_CHUNK factors (1 + e^-|x|) in (1, 2], below 2^256: one
 * exp a term (vectorised) and one log a chunk. */
static double softplus_sum_sigm(size_t n, const double *x, double *p)
{
    double lin[8] = {0, 0, 0, 0, 0, 0, 0, 0}, lg = 0, t[SP_CHUNK];
    for (size_t j0 = 0; j0 < n; j0 += SP_CHUNK) {
        size_t m = n - j0 < SP_CHUNK ? n - j0 : SP_CHUNK, mg = m & ~(size_t)7;
        const double *xs = x + j0;
        for (size_t j = 0; j < m; j++) t[j] = exp_d(-fabs(xs[j]));
        double prod[8] = {1, 1, 1, 1, 1, 1, 1, 1};
        for (size_t j = 0; j < mg; j += 8)
            for (int l = 0; l < 8; l++) {
                lin[l] += xs[j + l] > 0 ? xs[j + l] : 0.0;
                prod[l] *= 1.0 + t[j + l];
            }
        for (size_t j = mg; j < m; j++) {
            lin[0] += xs[j] > 0 ? xs[j] : 0.0;
            prod[0] *= 1.0 + t[j];
        }
        lg += log(((prod[0] * prod[1]) * (prod[2] * prod[3])) *
                  ((prod[4] * prod[5]) * (prod[6] * prod[7])));
        if (p) /* sigm(x) = 1 / (1 + e^-x) = e^x / (1 + e^x); last, as p may be x */
            for (size_t j = 0; j < m; j++) p[j0 + j] = (xs[j] >= 0 ? 1.0 : t[j]) / (1.0 + t[j]);
    }
    return (((lin[0] + lin[1]) + (lin[2] + lin[3])) + ((lin[4] + lin[5]) + (lin[6] + lin[7]))) + lg;
}

static double softplus_sum(size_t n, const double *x) { return softplus_sum_sigm(n, x, NULL); }

/* p (n) <- sigm(x) (p may be x) */
static void sigm_vec(size_t n, const double *x, double *p)
{
    for (size_t j = 0; j < n; j++) {
        double t = exp_d(-fabs(x[j]));
        p[j] = (x[j] >= 0 ? 1.0 : t) / (1.0 + t);
    }
}

rbm_eval *rbm_eval_alloc(size_t d, size_t h, int enum_max, lz_error *err)
{
    rbm_eval *ev = calloc(1, sizeof *ev);
    int T = omp_get_max_threads();
    if (ev) ev->thr = calloc((size_t)T, sizeof *ev->thr);
    if (!ev || !ev->thr) {
        free(ev);
        lz_fail(err, LZ_ENOMEM, "RBM evaluation: out of memory");
        return NULL;
    }
    size_t big = d > h ? d : h;
    if (enum_max < 0) enum_max = 0;
    if ((size_t)enum_max > big) enum_max = (int)big;
    if (enum_max > 40) enum_max = 40;
    ev->d = d;
    ev->h = h;
    ev->nthr = T;
    ev->enum_max = enum_max;
    size_t nstates = enum_max ? (size_t)1 << enum_max : 0;
    ev->enum_rows = nstates < EV_ENUM_ROWS ? nstates : EV_ENUM_ROWS;
    size_t nblocks = enum_max ? nstates / ev->enum_rows : 0;
    size_t er = ev->enum_rows;
    size_t per_thr =
        2 * EV_ROWS * d + EV_ROWS * h + EV_ROWS * d + 2 * h + er * (size_t)enum_max + er * big + er;
    size_t em = (size_t)enum_max;
    size_t total = h * d + h + 3 * d + 2 * d * h + nblocks + em * em + em + (size_t)T * per_thr;
    ev->mem = malloc(total * sizeof *ev->mem);
    if (!ev->mem) {
        free(ev->thr);
        free(ev);
        lz_fail(err, LZ_ENOMEM, "RBM evaluation (d = %zu, H = %zu): out of memory", d, h);
        return NULL;
    }
    double *p = ev->mem;
    ev->w = p, p += h * d;
    ev->b = p, p += h;
    ev->c = p, p += d;
    ev->is2 = p, p += d;
    ev->ls2 = p, p += d;
    ev->ep = p, p += d * h;
    ev->em = p, p += d * h;
    ev->lse = p, p += nblocks;
    ev->gm = p, p += em * em;
    ev->gl = p, p += em;
    for (int t = 0; t < T; t++) {
        ev_thread *th = &ev->thr[t];
        th->vb = p, p += EV_ROWS * d;
        th->ub = p, p += EV_ROWS * d;
        th->ah = p, p += EV_ROWS * h;
        th->av = p, p += EV_ROWS * d;
        th->p = p, p += h;
        th->q = p, p += h;
        th->eu = p, p += er * (size_t)enum_max;
        th->ea = p, p += er * big;
        th->ev = p, p += er;
    }
    return ev;
}

void rbm_eval_free(rbm_eval *ev)
{
    if (!ev) return;
    free(ev->mem);
    free(ev->thr);
    free(ev);
}

void rbm_eval_sync(rbm_eval *ev, const rbm_model *m)
{
    size_t d = ev->d, h = ev->h;
    double wmax = 0;
    for (size_t j = 0; j < h; j++)
        for (size_t i = 0; i < d; i++) {
            double x = m->w[j * d + i];
            ev->w[j * d + i] = x;
            if (fabs(x) > wmax) wmax = fabs(x);
        }
    for (size_t j = 0; j < h; j++) ev->b[j] = m->b[j];
    for (size_t i = 0; i < d; i++) ev->c[i] = m->c[i];
    ev->gauss = m->visible == RBM_VIS_GAUSSIAN;
    for (size_t i = 0; i < d; i++) { /* sigma_i^2 = e^{z_i} */
        ev->ls2[i] = ev->gauss ? m->z[i] : 0.0;
        ev->is2[i] = exp(-ev->ls2[i]);
    }
    /* pseudo-likelihood tables: ep_ij = e^{W_ji}, em_ij = e^{-W_ji}, (d, h) */
    if (wmax <= 60) {
        for (size_t i = 0; i < d; i++)
            for (size_t j = 0; j < h; j++) {
                ev->ep[i * h + j] = exp(ev->w[j * d + i]);
                ev->em[i * h + j] = exp(-ev->w[j * d + i]);
            }
        /* each factor lies in [e^-wmax, e^wmax]: L of them keep a lane that
         * starts in [1/2, 1) within [e^-600 / 2, e^600], inside double range */
        double L = wmax > 0 ? floor(600.0 / wmax) : 1e6;
        ev->pll_block = L > 1e6 ? 1000000 : (int)L;
    } else {
        ev->pll_block = 0;
    }
}

/* th->vb (rows, d) <- v in double;  th->ah (rows, h) <- U W^T + b with
 * U = V / sigma^2 (th->ub, Gaussian) or V:  a_j = b_j + W_j. u */
static void hidden_act(const rbm_eval *ev, ev_thread *th, size_t rows, const float *v)
{
    size_t d = ev->d, h = ev->h;
    for (size_t k = 0; k < rows * d; k++) th->vb[k] = v[k];
    const double *u = th->vb;
    if (ev->gauss) { /* u_i = v_i / sigma_i^2 */
        for (size_t r = 0; r < rows; r++)
            for (size_t i = 0; i < d; i++) th->ub[r * d + i] = th->vb[r * d + i] * ev->is2[i];
        u = th->ub;
    }
    /* A_h <- U W^T  (rows x d) (d x h) */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)h, (int)d, 1.0, u, (int)d,
                ev->w, (int)d, 0.0, th->ah, (int)h);
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < h; j++) th->ah[r * h + j] += ev->b[j];
}

/* Runs body(ev, th, r0, rows, v, out, acc) on every block of EV_ROWS rows of
 * v (n, d), the blocks shared out statically among the threads; returns the
 * sum of the per-block accumulators, added in block order. */
typedef double (*block_fn)(const rbm_eval *ev, ev_thread *th, size_t r0, size_t rows,
                           const float *v, double *out);

static double for_blocks(rbm_eval *ev, size_t n, const float *v, double *out, block_fn body,
                         double work_per_row)
{
    size_t nb = (n + EV_ROWS - 1) / EV_ROWS;
    int T = ev_threads(ev, (double)n * work_per_row);
    if ((size_t)T > nb) T = nb ? (int)nb : 1;
    double part_sum[256] = {0}; /* per thread, added in thread order */
    if (T > 256) T = 256;
#pragma omp parallel num_threads(T)
    {
        int t = omp_get_thread_num();
        size_t b0, b1;
        rbm_part(nb, T, t, &b0, &b1);
        double s = 0;
        for (size_t blk = b0; blk < b1; blk++) {
            size_t r0 = blk * EV_ROWS, rows = n - r0 < EV_ROWS ? n - r0 : EV_ROWS;
            s += body(ev, &ev->thr[t], r0, rows, v + r0 * ev->d, out);
        }
        part_sum[t] = s;
    }
    double sum = 0;
    for (int t = 0; t < T; t++) sum += part_sum[t];
    return sum;
}

static double hidden_block(const rbm_eval *ev, ev_thread *th, size_t r0, size_t rows,
                           const float *v, double *ph)
{
    size_t h = ev->h;
    hidden_act(ev, th, rows, v);
    /* p(h_j = 1 | v) = sigm(b_j + W_j. v) */
    sigm_vec(rows * h, th->ah, ph + r0 * h);
    return 0;
}

void rbm_eval_hidden(rbm_eval *ev, size_t n, const float *v, double *ph)
{
    for_blocks(ev, n, v, ph, hidden_block, (double)ev->d * (double)ev->h);
}

void rbm_eval_visible(rbm_eval *ev, size_t n, const double *hs, double *pv)
{
    size_t d = ev->d, h = ev->h;
    int T = ev_threads(ev, (double)n * (double)d * (double)h);
#pragma omp parallel num_threads(T)
    {
        size_t r0, r1;
        rbm_part(n, T, omp_get_thread_num(), &r0, &r1);
        if (r1 > r0) /* A_v <- H W  (n x h) (h x d) */
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)(r1 - r0), (int)d, (int)h,
                        1.0, hs + r0 * h, (int)h, ev->w, (int)d, 0.0, pv + r0 * d, (int)d);
        /* p(v_i = 1 | h) = sigm(c_i + W_.i^T h); Gaussian: E[v_i | h] = c_i + W_.i^T h */
        for (size_t r = r0; r < r1; r++) {
            for (size_t i = 0; i < d; i++) pv[r * d + i] += ev->c[i];
            if (!ev->gauss) sigm_vec(d, pv + r * d, pv + r * d);
        }
    }
}

static double free_energy_block(const rbm_eval *ev, ev_thread *th, size_t r0, size_t rows,
                                const float *v, double *f)
{
    size_t d = ev->d, h = ev->h;
    hidden_act(ev, th, rows, v);
    double s = 0;
    for (size_t r = 0; r < rows; r++) {
        /* F(v) = -c^T v - sum_j softplus(b_j + W_j. v)   (docs/rbm.md, "The model");
         * Gaussian: -c^T v becomes sum_i (v_i - c_i)^2 / (2 sigma_i^2) */
        double cv = 0;
        if (ev->gauss)
            for (size_t i = 0; i < d; i++) {
                double e = th->vb[r * d + i] - ev->c[i];
                cv -= 0.5 * e * e * ev->is2[i];
            }
        else
            for (size_t i = 0; i < d; i++) cv += ev->c[i] * th->vb[r * d + i];
        double fr = -cv - softplus_sum(h, th->ah + r * h);
        if (f) f[r0 + r] = fr;
        s += fr;
    }
    return s;
}

double rbm_eval_free_energy(rbm_eval *ev, size_t n, const float *v, double *f)
{
    if (!n) return NAN;
    return for_blocks(ev, n, v, f, free_energy_block, (double)ev->d * (double)ev->h) / (double)n;
}

/* log prod_j (q_j + p_j e_j) for factors within [e^-M, e^M], L M <= 600:
 * eight lanes multiply L groups of factors, then each lane is rescaled to
 * [1/2, 1) by frexp and its exponent kept apart. */
static double log_prod_affine(size_t h, const double *q, const double *p, const double *e, int L)
{
    double acc[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    long ex = 0;
    size_t j = 0, hg = h & ~(size_t)7;
    while (j < hg) {
        size_t end = hg - j > (size_t)L * 8 ? j + (size_t)L * 8 : hg;
        for (; j < end; j += 8)
            for (int l = 0; l < 8; l++) acc[l] *= q[j + l] + p[j + l] * e[j + l];
        for (int l = 0; l < 8; l++) {
            int k;
            acc[l] = frexp(acc[l], &k);
            ex += k;
        }
    }
    for (; j < h; j++) acc[0] *= q[j] + p[j] * e[j]; /* at most 7 factors: 7 M <= 420 */
    double prod = 1;
    for (int l = 0; l < 8; l++) {
        int k;
        prod *= frexp(acc[l], &k); /* 8 factors in [1/2, 1): >= 2^-8 */
        ex += k;
    }
    return log(prod) + (double)ex * LN2;
}

/* log sigm(x) = -softplus(-x) */
static double log_sigm(double x) { return -lz_softplus(-x); }

/* log(e^a + e^b) */
static double logaddexp(double a, double b)
{
    double m = a > b ? a : b;
    return m + log1p(exp(-fabs(a - b)));
}

static double pseudo_ll_block(const rbm_eval *ev, ev_thread *th, size_t r0, size_t rows,
                              const float *v, double *pll)
{
    size_t d = ev->d, h = ev->h;
    double *p = th->p, *q = th->q, s_blk = 0;
    hidden_act(ev, th, rows, v);
    for (size_t r = 0; r < rows; r++) {
        const double *a = th->ah + r * h;
        const double *x = th->vb + r * d;
        for (size_t j = 0; j < h; j++) { /* p_j = sigm(a_j), q_j = sigm(-a_j) */
            double t = exp_d(-fabs(a[j]));
            p[j] = (a[j] >= 0 ? 1.0 : t) / (1.0 + t);
            q[j] = (a[j] >= 0 ? t : 1.0) / (1.0 + t);
        }
        double s_row = 0;
        for (size_t i = 0; i < d; i++) {
            /* flip bit i: v' = v + s e_i, s = 1 - 2 v_i, a' = a + s W_.i;
             * softplus(a + sW) - softplus(a) = log(sigm(-a) + sigm(a) e^{sW}), so
             * F(v') - F(v) = -s c_i - sum_j log(q_j + p_j e^{s W_ji}) */
            int on = x[i] > 0.5;
            double s = on ? -1.0 : 1.0, lp;
            if (ev->pll_block) {
                lp = log_prod_affine(h, q, p, (on ? ev->em : ev->ep) + i * h, ev->pll_block);
            } else {
                lp = 0;
                for (size_t j = 0; j < h; j++)
                    lp += logaddexp(-lz_softplus(a[j]), -lz_softplus(-a[j]) + s * ev->w[j * d + i]);
            }
            /* log p(v_i | v_-i) = log sigm(F(v') - F(v)) */
            s_row += log_sigm(-s * ev->c[i] - lp);
        }
        if (pll) pll[r0 + r] = s_row;
        s_blk += s_row;
    }
    return s_blk;
}

double rbm_eval_pseudo_ll(rbm_eval *ev, size_t n, const float *v, double *pll)
{
    if (!n || ev->gauss) return NAN; /* a bit flip means nothing to a real value */
    return for_blocks(ev, n, v, pll, pseudo_ll_block, 3.0 * (double)ev->d * (double)ev->h) /
           (double)n;
}

static double recon_block(const rbm_eval *ev, ev_thread *th, size_t r0, size_t rows, const float *v,
                          double *unused)
{
    size_t d = ev->d, h = ev->h;
    (void)r0;
    (void)unused;
    hidden_act(ev, th, rows, v);
    sigm_vec(rows * h, th->ah, th->ah); /* p(h|v) */
    /* A_v <- P_h W  (rows x h) (h x d) */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, (int)d, (int)h, 1.0, th->ah,
                (int)h, ev->w, (int)d, 0.0, th->av, (int)d);
    double s = 0;
    for (size_t r = 0; r < rows; r++) {
        double *pv = th->av + r * d, e = 0;
        for (size_t i = 0; i < d; i++) pv[i] += ev->c[i];
        if (!ev->gauss) sigm_vec(d, pv, pv); /* p(v_i | h = p(h|v)); Gaussian: its mean */
        for (size_t i = 0; i < d; i++) {
            double dv = th->vb[r * d + i] - pv[i];
            e += dv * dv;
        }
        s += e;
    }
    return s;
}

double rbm_eval_recon_err(rbm_eval *ev, size_t n, const float *v)
{
    if (!n) return NAN;
    return for_blocks(ev, n, v, NULL, recon_block, 2.0 * (double)ev->d * (double)ev->h) / (double)n;
}

/* log Z of Gaussian visible units, enumerating h: with a = W^T h and
 * D = diag(1 / sigma^2), sum_i ((c_i + a_i)^2 - c_i^2) / (2 sigma_i^2)
 * = (W D c)^T h + h^T (W D W^T) h / 2, so each state costs O(|h|^2) instead
 * of O(d): exponent = sum_{j in h} l_j + sum_{j < k in h} M_jk with M = W D W^T,
 * l = b + W D c + diag(M) / 2.  Blocks of enum_rows states in the order of
 * their numbers, a log-sum-exp a block, combined in block order. */
static lz_status log_z_gauss(rbm_eval *ev, double *log_z, lz_error *err)
{
    size_t d = ev->d, h = ev->h;
    double *M = ev->gm, *l = ev->gl;
    for (size_t j = 0; j < h; j++) {
        double wc = 0;
        for (size_t i = 0; i < d; i++) wc += ev->w[j * d + i] * ev->is2[i] * ev->c[i];
        for (size_t k = 0; k <= j; k++) { /* M_jk = sum_i W_ji W_ki / sigma_i^2 */
            double m = 0;
            for (size_t i = 0; i < d; i++) m += ev->w[j * d + i] * ev->is2[i] * ev->w[k * d + i];
            M[j * h + k] = M[k * h + j] = m;
        }
        l[j] = ev->b[j] + wc + 0.5 * M[j * h + j];
    }
    size_t total = (size_t)1 << h, B = ev->enum_rows < total ? ev->enum_rows : total;
    size_t nb = total / B;
    int T = ev_threads(ev, (double)total * (double)h * (double)h);
    if ((size_t)T > nb) T = (int)nb;
#pragma omp parallel num_threads(T)
    {
        int t = omp_get_thread_num();
        ev_thread *th = &ev->thr[t];
        size_t b0, b1, on[64];
        rbm_part(nb, T, t, &b0, &b1);
        for (size_t blk = b0; blk < b1; blk++) {
            for (size_t r = 0; r < B; r++) {
                size_t u = blk * B + r, n = 0; /* state u: h_k = (u >> k) & 1 */
                for (size_t k = 0; k < h; k++)
                    if (u >> k & 1) on[n++] = k;
                double e = 0;
                for (size_t a = 0; a < n; a++) {
                    e += l[on[a]];
                    for (size_t b = 0; b < a; b++) e += M[on[a] * h + on[b]];
                }
                th->ev[r] = e;
            }
            ev->lse[blk] = lz_logsumexp(B, th->ev);
        }
    }
    /* + sum_i log(sqrt(2 pi) sigma_i) = sum_i (log(2 pi) + z_i) / 2 */
    double g = 0;
    for (size_t i = 0; i < d; i++) g += 0.5 * (LOG_2PI + ev->ls2[i]);
    *log_z = lz_logsumexp(nb, ev->lse) + g;
    if (!isfinite(*log_z))
        return lz_fail(err, LZ_ENUMERIC, "exact log Z is not finite: the weights have diverged");
    return LZ_OK;
}

lz_status rbm_eval_log_z(rbm_eval *ev, rbm_enum_side side, double *log_z, lz_error *err)
{
    size_t d = ev->d, h = ev->h;
    if (side == RBM_ENUM_AUTO) side = h <= d || ev->gauss ? RBM_ENUM_HIDDEN : RBM_ENUM_VISIBLE;
    if (ev->gauss && side != RBM_ENUM_HIDDEN)
        return lz_fail(err, LZ_EINVAL, "exact log Z: Gaussian visible units cannot be enumerated");
    int hid = side == RBM_ENUM_HIDDEN;
    size_t s = hid ? h : d;                /* enumerated layer */
    size_t o = hid ? d : h;                /* the other layer, summed out in closed form */
    const double *e = hid ? ev->b : ev->c; /* (s) biases of the enumerated layer */
    const double *f = hid ? ev->c : ev->b; /* (o) biases of the other layer      */
    if (s > (size_t)ev->enum_max)
        return lz_fail(err, LZ_EINVAL,
                       "exact log Z: enumerating %zu %s units exceeds the limit of %d "
                       "(--exact-max-h)",
                       s, hid ? "hidden" : "visible", ev->enum_max);
    if (ev->gauss) return log_z_gauss(ev, log_z, err);
    size_t total = (size_t)1 << s, B = ev->enum_rows < total ? ev->enum_rows : total;
    size_t nb = total / B;
    int T = ev_threads(ev, (double)total * (double)o * (double)(s + 10));
    if ((size_t)T > nb) T = (int)nb;
#pragma omp parallel num_threads(T)
    {
        int t = omp_get_thread_num();
        ev_thread *th = &ev->thr[t];
        size_t b0, b1;
        rbm_part(nb, T, t, &b0, &b1);
        for (size_t blk = b0; blk < b1; blk++) {
            /* U (B, s): state u = blk B + r has bit k = (u >> k) & 1 */
            for (size_t r = 0; r < B; r++) {
                size_t u = blk * B + r;
                for (size_t k = 0; k < s; k++) th->eu[r * s + k] = (double)((u >> k) & 1);
            }
            if (hid) /* A <- U W: W_.i^T h for every h of the block, (B x h)(h x d) */
                cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)B, (int)d, (int)h, 1.0,
                            th->eu, (int)h, ev->w, (int)d, 0.0, th->ea, (int)o);
            else /* A <- U W^T: W_j. v for every v of the block, (B x d)(d x h) */
                cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)B, (int)h, (int)d, 1.0,
                            th->eu, (int)d, ev->w, (int)d, 0.0, th->ea, (int)o);
            /* hidden: log sum_v exp(-E(v,h)) = b^T h + sum_i softplus(c_i + W_.i^T h);
             * visible: -F(v) = c^T v + sum_j softplus(b_j + W_j. v)
             * (docs/rbm.md, "The log-likelihood") */
            for (size_t r = 0; r < B; r++) {
                double *a = th->ea + r * o;
                double eu = 0;
                for (size_t k = 0; k < s; k++) eu += e[k] * th->eu[r * s + k];
                for (size_t k = 0; k < o; k++) a[k] += f[k];
                th->ev[r] = eu + softplus_sum(o, a);
            }
            ev->lse[blk] = lz_logsumexp(B, th->ev);
        }
    }
    *log_z = lz_logsumexp(nb, ev->lse);
    if (!isfinite(*log_z))
        return lz_fail(err, LZ_ENUMERIC, "exact log Z is not finite: the weights have diverged");
    return LZ_OK;
}

/* ---------------------------------------------------------------------- */
/* annealed importance sampling, forward (AIS) and reverse (RAISE) */

/* The path of tempered RBMs between the base model and the RBM, in double
 * where it enters the weights (docs/rbm.md, "AIS"):
 *   log p*_beta(v) = -(1 - beta) E_A(v) + beta (-E_v(v)) + sum_j softplus(beta a_j),
 *   a = b + W u, u = v / sigma^2 (u = v for binary units),
 *   binary:   E_A(v) = -base^T v,            -E_v(v) = c^T v;
 *   Gaussian: E_A(v) = |v - base|^2 / 2,     -E_v(v) = -sum_i (v_i - c_i)^2 / (2 sigma_i^2),
 * log Z_A = H log 2 + sum_i softplus(base_i) (binary), H log 2 + (d/2) log 2 pi
 * (Gaussian). */
typedef struct {
    const rbm_model *m;
    size_t d, h;
    int gauss;
    double *wd;  /* (h, d) W in double                                  */
    double *dc;  /* (d) binary: c - base                                */
    double *is2; /* (d) 1 / sigma_i^2                                   */
    float *is2f; /* (d) the same in float, for the sampling conditional */
    double log_za;
} ais_path;

static void ais_path_free(ais_path *p)
{
    free(p->wd);
    free(p->dc);
    free(p->is2);
    free(p->is2f);
}

static lz_status ais_path_alloc(ais_path *p, const rbm_model *m, lz_error *err)
{
    size_t d = m->d, h = m->h;
    memset(p, 0, sizeof *p);
    p->m = m;
    p->d = d;
    p->h = h;
    p->gauss = m->visible == RBM_VIS_GAUSSIAN;
    p->wd = malloc(h * d * sizeof *p->wd);
    p->dc = malloc(d * sizeof *p->dc);
    p->is2 = malloc(d * sizeof *p->is2);
    p->is2f = malloc(d * sizeof *p->is2f);
    if (!p->wd || !p->dc || !p->is2 || !p->is2f) {
        ais_path_free(p);
        return lz_fail(err, LZ_ENOMEM, "AIS (d = %zu, H = %zu): out of memory", d, h);
    }
    for (size_t k = 0; k < h * d; k++) p->wd[k] = m->w[k];
    rbm_inv_sigma2_f(m, p->is2f);
    p->log_za = (double)h * LN2;
    for (size_t i = 0; i < d; i++) {
        p->dc[i] = (double)m->c[i] - m->base[i];
        p->is2[i] = exp(-(double)m->z[i]);
        p->log_za += p->gauss ? 0.5 * LOG_2PI : lz_softplus(m->base[i]);
    }
    return LZ_OK;
}

/* beta (K + 1): 0 = beta_0 < ... < beta_K = 1, linear pieces holding the
 * shares 500 : 4000 : 10000 of the steps on [0, .5], [.5, .9], [.9, 1]
 * (Salakhutdinov & Murray 2008, section 4.2). K >= 3. */
static void ais_betas(int K, double *beta)
{
    int k1 = (int)lround(K * 500.0 / 14500.0), k2 = (int)lround(K * 4000.0 / 14500.0);
    if (k1 < 1) k1 = 1;
    if (k2 < 1) k2 = 1;
    int k3 = K - k1 - k2;
    beta[0] = 0;
    for (int i = 1; i <= k1; i++) beta[i] = 0.5 * i / k1;
    for (int i = 1; i <= k2; i++) beta[k1 + i] = 0.5 + 0.4 * i / k2;
    for (int i = 1; i <= k3; i++) beta[k1 + k2 + i] = 0.9 + 0.1 * i / k3;
    beta[K] = 1.0;
}

static void free_rngs(size_t n, gsl_rng **r)
{
    if (!r) return;
    for (size_t i = 0; i < n; i++) gsl_rng_free(r[i]);
    free(r);
}

/* n streams: stream base + (idx ? idx[i] : i) of seed for i = 0 .. n - 1 */
static gsl_rng **alloc_rngs(size_t n, unsigned long seed, unsigned long base, const size_t *idx)
{
    gsl_rng **r = calloc(n ? n : 1, sizeof *r);
    if (!r) return NULL;
    for (size_t i = 0; i < n; i++)
        if (!(r[i] = lz_rng_alloc_stream(seed, base + (unsigned long)(idx ? idx[i] : i)))) {
            free_rngs(i, r);
            return NULL;
        }
    return r;
}

/* The chains of one annealing: R rows of states and their streams. */
typedef struct {
    size_t R;
    double *vv;     /* (R, d) the chains' visible states                 */
    double *uu;     /* (R, d) Gaussian: vv / sigma^2                     */
    double *ah;     /* (R, h) their hidden activations a = b + W u       */
    float *hs;      /* (R, h) hidden samples                             */
    float *av;      /* (R, d) visible activations / conditionals          */
    double *lw;     /* (R) the sums of log p*_k - log p*_{k-1}           */
    gsl_rng **rng;  /* (R) one stream a chain                            */
    rbm_bits *bits; /* (R) bit sources over rng                          */
    double *scr;    /* (T, 2h + 2d) per-thread scratch                   */
} ais_chains;

static void ais_chains_free(ais_chains *c)
{
    free(c->vv);
    free(c->uu);
    free(c->ah);
    free(c->hs);
    free(c->av);
    free(c->lw);
    free(c->bits);
    free(c->scr);
    free_rngs(c->R, c->rng);
}

static lz_status ais_chains_alloc(ais_chains *c, const ais_path *p, size_t R, int T,
                                  unsigned long seed, unsigned long stream, const size_t *idx,
                                  lz_error *err)
{
    size_t d = p->d, h = p->h;
    memset(c, 0, sizeof *c);
    c->R = R;
    c->vv = malloc(R * d * sizeof *c->vv);
    c->uu = malloc(R * d * sizeof *c->uu);
    c->ah = malloc(R * h * sizeof *c->ah);
    c->hs = malloc(R * h * sizeof *c->hs);
    c->av = malloc(R * d * sizeof *c->av);
    c->lw = calloc(R, sizeof *c->lw);
    c->bits = malloc(R * sizeof *c->bits);
    c->scr = malloc((size_t)T * (2 * h + 2 * d) * sizeof *c->scr);
    c->rng = alloc_rngs(R, seed, stream, idx);
    if (!c->vv || !c->uu || !c->ah || !c->hs || !c->av || !c->lw || !c->bits || !c->scr ||
        !c->rng) {
        if (!c->rng) c->R = 0;
        ais_chains_free(c);
        return lz_fail(err, LZ_ENOMEM, "annealing %zu chains (d = %zu, H = %zu): out of memory", R,
                       d, h);
    }
    for (size_t r = 0; r < R; r++) c->bits[r] = rbm_bits_of(c->rng[r]);
    return LZ_OK;
}

/* ah (rows r0..r1) <- U W^T (+ b later): the hidden activations of the
 * chains' states, in double: they enter the weights */
static void anneal_act(const ais_path *p, ais_chains *c, size_t r0, size_t r1)
{
    size_t d = p->d, h = p->h, nr = r1 - r0;
    const double *u = c->vv;
    if (p->gauss) { /* u = v / sigma^2 */
        for (size_t r = r0; r < r1; r++)
            for (size_t i = 0; i < d; i++) c->uu[r * d + i] = c->vv[r * d + i] * p->is2[i];
        u = c->uu;
    }
    /* A_h <- U W^T  (r x d)(d x h) */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nr, (int)h, (int)d, 1.0, u + r0 * d,
                (int)d, p->wd, (int)d, 0.0, c->ah + r0 * h, (int)h);
}

/* One chain's log p*_k(v) - log p*_{k-1}(v) at its state (row r), beta_k =
 * bk, beta_{k-1} = bk1; x1, x0 (h) scratch.  With want_p, x1 <- sigm(bk a)
 * on return (the hidden conditional at beta_k). */
static double anneal_delta(const ais_path *p, const ais_chains *c, size_t r, double bk, double bk1,
                           double *x1, double *x0, int want_p)
{
    size_t d = p->d, h = p->h;
    const rbm_model *m = p->m;
    const double *x = c->vv + r * d;
    double lin = 0;
    if (p->gauss) /* E_A(v) - E_v(v) = |v - base|^2 / 2 - sum_i (v_i - c_i)^2 / (2 sigma_i^2) */
        for (size_t i = 0; i < d; i++) {
            double ea = x[i] - m->base[i], ev = x[i] - (double)m->c[i];
            lin += 0.5 * (ea * ea - ev * ev * p->is2[i]);
        }
    else /* (c - base)^T v */
        for (size_t i = 0; i < d; i++) lin += p->dc[i] * x[i];
    /* log p*_k(v) - log p*_{k-1}(v) = (beta_k - beta_{k-1}) lin
     *   + sum_j [softplus(beta_k a_j) - softplus(beta_{k-1} a_j)],  a = b + W u */
    for (size_t j = 0; j < h; j++) {
        double a = c->ah[r * h + j] + m->b[j];
        x1[j] = bk * a;
        x0[j] = bk1 * a;
    }
    double sp1 = softplus_sum_sigm(h, x1, want_p ? x1 : NULL);
    double sp0 = softplus_sum(h, x0);
    return (bk - bk1) * lin + (sp1 - sp0);
}

/* The second half of a Gibbs sweep of the tempered RBM at beta for rows
 * r0..r1, whose hidden states c->hs are drawn: v ~ p_beta(v | h); then the
 * new states' activations.  xv (d) scratch. */
static void anneal_sweep(const ais_path *p, ais_chains *c, size_t r0, size_t r1, double beta,
                         double *xv)
{
    size_t d = p->d, h = p->h, nr = r1 - r0;
    const rbm_model *m = p->m;
    /* A_v <- H W  (r x h)(h x d), single precision: it only drives sampling */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)nr, (int)d, (int)h, 1.0f,
                c->hs + r0 * h, (int)h, m->w, (int)d, 0.0f, c->av + r0 * d, (int)d);
    for (size_t r = r0; r < r1; r++) {
        if (p->gauss) {
            /* v_i ~ N(mean_i, 1 / lambda_i): lambda_i = 1 - beta + beta / sigma_i^2,
             * mean_i = [(1 - beta) base_i + beta (c_i + W_.i^T h) / sigma_i^2] / lambda_i */
            for (size_t i = 0; i < d; i++) {
                double lam = 1.0 - beta + beta * p->is2[i];
                double mean = ((1.0 - beta) * m->base[i] +
                               beta * ((double)m->c[i] + (double)c->av[r * d + i]) * p->is2[i]) /
                              lam;
                c->vv[r * d + i] = mean + gsl_ran_gaussian_ziggurat(c->rng[r], 1.0) / sqrt(lam);
            }
            continue;
        }
        /* v_i ~ sigm((1 - beta) base_i + beta (c_i + W_.i^T h)) */
        for (size_t i = 0; i < d; i++)
            xv[i] = (1.0 - beta) * m->base[i] + beta * ((double)m->c[i] + (double)c->av[r * d + i]);
        sigm_vec(d, xv, xv);
        for (size_t i = 0; i < d; i++) c->vv[r * d + i] = rbm_bern(&c->bits[r], xv[i]);
    }
    anneal_act(p, c, r0, r1);
}

/* Anneal every chain of c through the K steps of beta (K + 1), each thread
 * its block of chains:
 *   forward (AIS): from the states in c->vv (drawn from the base model), for
 *     k = 1 .. K: lw += log p*_k(v) - log p*_{k-1}(v), then (k < K) one
 *     Gibbs sweep T_k that leaves p_k invariant;
 *   reverse (RAISE): from the states in c->vv (the test rows), for
 *     k = K .. 1: one sweep T_k, then lw += log p*_k(v) - log p*_{k-1}(v).
 * Each sweep draws h_j ~ sigm(beta_k a_j) (H bits), then v (d draws), from
 * the chain's own stream. */
static void anneal(const ais_path *p, ais_chains *c, const double *beta, int K, int reverse, int T)
{
    size_t R = c->R, d = p->d, h = p->h;
#pragma omp parallel num_threads(T)
    {
        size_t r0, r1;
        int tid = omp_get_thread_num();
        rbm_part(R, T, tid, &r0, &r1);
        double *x1 = c->scr + (size_t)tid * (2 * h + 2 * d); /* (h) beta_k a, then sigm of it */
        double *x0 = x1 + h;                                 /* (h) beta_{k-1} a              */
        double *xv = x0 + h;                                 /* (d) visible conditionals      */
        if (r1 > r0) anneal_act(p, c, r0, r1);
        for (int t = 1; t <= K && r1 > r0; t++) {
            int k = reverse ? K + 1 - t : t;
            double bk = beta[k], bk1 = beta[k - 1];
            if (!reverse) {
                int last = k == K;
                for (size_t r = r0; r < r1; r++) {
                    c->lw[r] += anneal_delta(p, c, r, bk, bk1, x1, x0, !last);
                    if (!last) /* T_k: h_j ~ sigm(beta_k a_j) (x1 now holds it) */
                        for (size_t j = 0; j < h; j++)
                            c->hs[r * h + j] = (float)rbm_bern(&c->bits[r], x1[j]);
                }
                if (!last) anneal_sweep(p, c, r0, r1, bk, xv);
                continue;
            }
            /* T_k first: h_j ~ sigm(beta_k a_j) of the state, then v */
            for (size_t r = r0; r < r1; r++) {
                for (size_t j = 0; j < h; j++) x1[j] = bk * (c->ah[r * h + j] + p->m->b[j]);
                sigm_vec(h, x1, x1);
                for (size_t j = 0; j < h; j++)
                    c->hs[r * h + j] = (float)rbm_bern(&c->bits[r], x1[j]);
            }
            anneal_sweep(p, c, r0, r1, bk, xv);
            for (size_t r = r0; r < r1; r++) c->lw[r] += anneal_delta(p, c, r, bk, bk1, x1, x0, 0);
        }
    }
}

lz_status rbm_log_z_ais(const rbm_model *m, int runs, int steps, unsigned long seed, double *log_z,
                        double *se, double *lw_out, lz_error *err)
{
    size_t d = m->d, h = m->h, R = (size_t)runs;
    int K = steps;
    if (runs < 2 || steps < 10)
        return lz_fail(err, LZ_EINVAL,
                       "AIS: %d runs of %d steps: expected >= 2 runs of >= 10 steps", runs, steps);
    ais_path p;
    ais_chains c;
    lz_status st = ais_path_alloc(&p, m, err);
    if (st) return st;
    double *beta = malloc(((size_t)K + 1) * sizeof *beta); /* (K + 1) schedule */
    /* each thread runs its own block of runs through all K steps */
    int T =
        rbm_threads_for((double)R * (double)K * (2.0 * (double)d * (double)h + 20.0 * (double)h));
    if ((size_t)T > R) T = (int)R;
    if (!beta) st = lz_fail(err, LZ_ENOMEM, "AIS: out of memory");
    if (!st) st = ais_chains_alloc(&c, &p, R, T, seed, RBM_STREAM_AIS, NULL, err);
    if (st) {
        free(beta);
        ais_path_free(&p);
        return st;
    }
    ais_betas(K, beta);
    /* v ~ p_A(v): binary, prod_i sigm(base_i)^v_i (1 - sigm(base_i))^(1 - v_i);
     * Gaussian, N(base, I) */
    for (size_t r = 0; r < R; r++)
        for (size_t i = 0; i < d; i++)
            c.vv[r * d + i] = p.gauss ? m->base[i] + gsl_ran_gaussian_ziggurat(c.rng[r], 1.0)
                                      : rbm_bern(&c.bits[r], lz_sigmoid(m->base[i]));
    anneal(&p, &c, beta, K, 0, T);
    {
        /* log Z ~ log Z_A + log (1/R) sum_r w_r;  se = sd(w) / (sqrt(R) mean(w)) */
        const double *lw = c.lw;
        double mx = lw[0];
        for (size_t r = 1; r < R; r++)
            if (lw[r] > mx) mx = lw[r];
        double mean = 0, var = 0;
        for (size_t r = 0; r < R; r++) mean += exp(lw[r] - mx);
        mean /= (double)R;
        for (size_t r = 0; r < R; r++) {
            double dw = exp(lw[r] - mx) - mean;
            var += dw * dw;
        }
        var /= (double)(R - 1);
        *log_z = p.log_za + mx + log(mean);
        *se = sqrt(var / (double)R) / mean;
        if (lw_out) memcpy(lw_out, lw, R * sizeof *lw);
        if (!isfinite(*log_z) || !isfinite(*se))
            st = lz_fail(err, LZ_ENUMERIC, "AIS: log Z is not finite: the weights have diverged");
    }
    free(beta);
    ais_chains_free(&c);
    ais_path_free(&p);
    return st;
}

lz_status rbm_raise(const rbm_model *m, size_t n, const float *v, const size_t *idx, int steps,
                    unsigned long seed, double *rz, lz_error *err)
{
    size_t d = m->d, h = m->h;
    int K = steps;
    if (steps < 10) return lz_fail(err, LZ_EINVAL, "reverse AIS: %d steps: expected >= 10", steps);
    if (n == 0) return LZ_OK;
    ais_path p;
    ais_chains c;
    lz_status st = ais_path_alloc(&p, m, err);
    if (st) return st;
    double *beta = malloc(((size_t)K + 1) * sizeof *beta); /* (K + 1) schedule */
    int T =
        rbm_threads_for((double)n * (double)K * (2.0 * (double)d * (double)h + 20.0 * (double)h));
    if ((size_t)T > n) T = (int)n;
    if (!beta) st = lz_fail(err, LZ_ENOMEM, "reverse AIS: out of memory");
    if (!st) st = ais_chains_alloc(&c, &p, n, T, seed, RBM_STREAM_RAISE, idx, err);
    if (st) {
        free(beta);
        ais_path_free(&p);
        return st;
    }
    ais_betas(K, beta);
    for (size_t k = 0; k < n * d; k++) c.vv[k] = v[k]; /* the chains start at the rows */
    anneal(&p, &c, beta, K, 1, T);
    /* rz = log Z_A + sum_k (log p*_k - log p*_{k-1}) along the reverse path */
    for (size_t r = 0; r < n; r++) {
        rz[r] = p.log_za + c.lw[r];
        if (!isfinite(rz[r])) {
            st = lz_fail(err, LZ_ENUMERIC,
                         "reverse AIS: a weight is not finite: the weights "
                         "have diverged");
            break;
        }
    }
    free(beta);
    ais_chains_free(&c);
    ais_path_free(&p);
    return st;
}

/* ---------------------------------------------------------------------- */
/* the log-likelihood per sample, and the latent codes */

/* ESS = (sum_r w_r)^2 / sum_r w_r^2 of the AIS weights w_r = exp(lw_r):
 * how many runs effectively carry the estimate (Kong 1992). */
static double effective_sample_size(size_t n, const double *lw)
{
    double mx = lw[0], s = 0, s2 = 0;
    for (size_t r = 1; r < n; r++)
        if (lw[r] > mx) mx = lw[r];
    for (size_t r = 0; r < n; r++) {
        double w = exp(lw[r] - mx);
        s += w;
        s2 += w * w;
    }
    return s * s / s2;
}

/* The lower end of the bracket (rbm_loglik): reverse AIS from
 * min(nt, cfg->raise_rows) rows of vt (all, or a random subset), their mean
 * rz and its standard error. */
static lz_status raise_mean(const rbm_model *m, const rbm_config *cfg, size_t nt, const float *vt,
                            double *mean, double *se, size_t *rows, lz_error *err)
{
    size_t d = m->d, k = (size_t)cfg->raise_rows < nt ? (size_t)cfg->raise_rows : nt;
    *rows = k;
    *mean = *se = NAN;
    if (!k) return LZ_OK;
    size_t *idx = malloc(nt * sizeof *idx); /* (nt) the rows, a subset first */
    float *x = malloc(k * d * sizeof *x);   /* (k, d) the subset           */
    double *rz = malloc(k * sizeof *rz);    /* (k) its reverse log Z's     */
    gsl_rng *g = lz_rng_alloc_stream(cfg->seed, RBM_STREAM_RAISE_ROWS);
    lz_status st = LZ_OK;
    if (!idx || !x || !rz || !g) {
        st = lz_fail(err, LZ_ENOMEM, "reverse AIS (%zu rows): out of memory", k);
        goto done;
    }
    if (k < nt) { /* a random subset, in the order of the rows */
        lz_rng_perm(g, nt, idx);
        for (size_t a = 1; a < k; a++) /* insertion sort of the first k */
            for (size_t b = a; b > 0 && idx[b - 1] > idx[b]; b--) {
                size_t t = idx[b];
                idx[b] = idx[b - 1];
                idx[b - 1] = t;
            }
    } else {
        for (size_t r = 0; r < nt; r++) idx[r] = r;
    }
    lz_gather_f(d, vt, idx, k, x);
    if ((st = rbm_raise(m, k, x, idx, cfg->raise_steps, cfg->seed, rz, err))) goto done;
    /* mean and standard error of the mean of rz over the rows */
    double s = 0, s2 = 0;
    for (size_t r = 0; r < k; r++) s += rz[r];
    *mean = s / (double)k;
    for (size_t r = 0; r < k; r++) s2 += (rz[r] - *mean) * (rz[r] - *mean);
    *se = k > 1 ? sqrt(s2 / (double)(k - 1) / (double)k) : NAN;
done:
    free(idx);
    free(x);
    free(rz);
    gsl_rng_free(g);
    return st;
}

lz_status rbm_loglik(const rbm_model *m, const rbm_config *cfg_in, size_t n, const float *v,
                     size_t nt, const float *vt, rbm_ll *out, lz_error *err)
{
    rbm_config cr = *cfg_in; /* raise_steps resolved */
    rbm_config_resolve(&cr, 0);
    const rbm_config *cfg = &cr;
    size_t d = m->d, h = m->h;
    out->enum_size = rbm_enum_size(d, h, m->visible);
    out->exact = rbm_exact_applies(d, h, m->visible, cfg->exact_max_h);
    out->log_z = out->se = out->ess = out->ll_train = out->ll_test = NAN;
    out->log_z_ais = out->log_z_ais_se = NAN;
    out->ll_test_upper = out->ll_test_lower = out->ll_test_lower_se = NAN;
    out->raise_rows = 0;
    int bracket = nt > 0 && (!out->exact || cfg->bracket);
    rbm_eval *ev = rbm_eval_alloc(d, h, out->exact ? cfg->exact_max_h : 0, err);
    if (!ev) return err ? err->status : LZ_ENOMEM;
    rbm_eval_sync(ev, m);
    lz_status st = LZ_OK;
    if (out->exact) {
        out->se = 0;
        st = rbm_eval_log_z(ev, RBM_ENUM_AUTO, &out->log_z, err);
    }
    if (!st && (!out->exact || bracket)) {
        double *lw = malloc((size_t)cfg->ais_runs * sizeof *lw); /* (runs) log weights */
        if (!lw)
            st = lz_fail(err, LZ_ENOMEM, "AIS: out of memory");
        else
            st = rbm_log_z_ais(m, cfg->ais_runs, cfg->ais_steps, cfg->seed, &out->log_z_ais,
                               &out->log_z_ais_se, lw, err);
        if (!st) out->ess = effective_sample_size((size_t)cfg->ais_runs, lw);
        free(lw);
        if (!st && !out->exact) {
            out->log_z = out->log_z_ais;
            out->se = out->log_z_ais_se;
        }
    }
    /* log p(x) = -F(v) - log Z + rbm_ll_offset, averaged over the rows */
    double off = rbm_ll_offset(m), fe_test = NAN;
    if (!st && n) out->ll_train = -rbm_eval_free_energy(ev, n, v, NULL) - out->log_z + off;
    if (!st && nt) {
        double *f = malloc(nt * sizeof *f);
        if (!f) st = lz_fail(err, LZ_ENOMEM, "test log-likelihood: out of memory");
        if (!st) {
            fe_test = rbm_eval_free_energy(ev, nt, vt, f);
            out->ll_test = -fe_test - out->log_z + off;
            for (size_t i = 0; i < nt; i++) f[i] = -f[i] - out->log_z + off; /* log p(v_i) */
            st = lz_ll_tail_of(nt, f, &out->test_tail, err);
        }
        free(f);
    }
    if (!st && bracket) {
        /* upper: AIS's log Z;  lower: reverse AIS, mean (-F) over the test set
         * - mean rz over its rows (docs/rbm.md, "The bracket") */
        out->ll_test_upper = -fe_test - out->log_z_ais + off;
        double rz, rz_se;
        st = raise_mean(m, cfg, nt, vt, &rz, &rz_se, &out->raise_rows, err);
        if (!st && out->raise_rows) {
            out->ll_test_lower = -fe_test - rz + off;
            out->ll_test_lower_se = rz_se;
        }
    }
    rbm_eval_free(ev);
    return st;
}

lz_status rbm_latent(const rbm_model *m, size_t n, const float *v, double *ph, lz_error *err)
{
    rbm_eval *ev = rbm_eval_alloc(m->d, m->h, 0, err);
    if (!ev) return err ? err->status : LZ_ENOMEM;
    rbm_eval_sync(ev, m);
    rbm_eval_hidden(ev, n, v, ph);
    rbm_eval_free(ev);
    return LZ_OK;
}

/* ---------------------------------------------------------------------- */
/* Gibbs samples */

lz_status rbm_sample(const rbm_model *m, size_t n, int steps, unsigned long seed, double *pv,
                     lz_error *err)
{
    size_t d = m->d, h = m->h;
    int gauss = m->visible == RBM_VIS_GAUSSIAN;
    if (n == 0) return LZ_OK;
    if (steps < 1)
        return lz_fail(err, LZ_EINVAL, "sampling: %d Gibbs sweeps: expected >= 1", steps);
    float *v = malloc(n * d * sizeof *v);   /* (n, d) states, then p(v|h) or E[v|h] */
    float *u = malloc(n * d * sizeof *u);   /* (n, d) Gaussian: v / sigma^2 */
    float *hs = malloc(n * h * sizeof *hs); /* (n, h) p(h|v), then samples */
    float *is2 = malloc(d * sizeof *is2);   /* (d) 1 / sigma^2 */
    gsl_rng **rng = alloc_rngs(n, seed, RBM_STREAM_SAMPLE, NULL);
    rbm_bits *bits = malloc(n * sizeof *bits); /* (n) bit sources over rng */
    lz_status st = LZ_OK;
    if (!v || !u || !hs || !is2 || !rng || !bits) {
        st = lz_fail(err, LZ_ENOMEM, "sampling %zu chains: out of memory", n);
        goto done;
    }
    rbm_inv_sigma2_f(m, is2);
    for (size_t r = 0; r < n; r++) { /* random start: v_i ~ Bernoulli(1/2), or N(base_i, 1) */
        bits[r] = rbm_bits_of(rng[r]);
        for (size_t i = 0; i < d; i++)
            v[r * d + i] = gauss ? (float)(m->base[i] + gsl_ran_gaussian_ziggurat(rng[r], 1.0))
                                 : (float)rbm_bern(&bits[r], 0.5);
    }
    int T = rbm_threads_for((double)n * (double)steps * 2.0 * (double)d * (double)h);
    if ((size_t)T > n) T = (int)n;
#pragma omp parallel num_threads(T)
    {
        size_t r0, r1;
        rbm_part(n, T, omp_get_thread_num(), &r0, &r1);
        for (int t = 0; t < steps && r1 > r0; t++) {
            const float *ur = rbm_scale_visible_f(m, r1 - r0, v + r0 * d, is2, u + r0 * d);
            rbm_hidden_f(m, r1 - r0, ur, hs + r0 * h);
            for (size_t r = r0; r < r1; r++) /* h ~ p(h | v) */
                for (size_t j = 0; j < h; j++)
                    hs[r * h + j] = (float)rbm_bern(&bits[r], hs[r * h + j]);
            rbm_visible_f(m, r1 - r0, hs + r0 * h, v + r0 * d);
            if (t == steps - 1) break;       /* keep p(v | h) (E[v | h]) of the last sweep */
            for (size_t r = r0; r < r1; r++) /* v ~ p(v | h) */
                for (size_t i = 0; i < d; i++)
                    v[r * d + i] = gauss ? v[r * d + i] + (float)gsl_ran_gaussian_ziggurat(
                                                              rng[r], sqrt(1.0 / (double)is2[i]))
                                         : (float)rbm_bern(&bits[r], v[r * d + i]);
        }
    }
    /* Gaussian: in the data's units, x = shift + scale E[v | h] */
    for (size_t k = 0; k < n * d; k++)
        pv[k] = gauss ? m->shift[k % d] + m->scale[k % d] * (double)v[k] : v[k];
done:
    free(v);
    free(u);
    free(hs);
    free(is2);
    free(bits);
    free_rngs(n, rng);
    return st;
}

int rbm_bracket_crossed(const rbm_ll *ll, double *gap, double *z)
{
    *gap = NAN;
    *z = 0;
    /* no bracket: NaN ends (tested first: an ordered comparison of a NaN
     * raises the invalid-operation flag, which the LZ_FPE build traps) */
    if (isnan(ll->ll_test_lower) || isnan(ll->ll_test_upper) || isnan(ll->ll_test_lower_se) ||
        isnan(ll->log_z_ais_se))
        return 0;
    double g = ll->ll_test_lower - ll->ll_test_upper,
           se = sqrt(ll->ll_test_lower_se * ll->ll_test_lower_se +
                     ll->log_z_ais_se * ll->log_z_ais_se);
    *gap = g;
    *z = se > 0 ? g / se : g > 0 ? INFINITY : 0;
    return g > 2 * se;
}
