/* rbm_train.c -- training the RBM by CD-k / PCD-k / parallel tempering: the
 * learning-rate schedule, the negative chains and their tempered replicas,
 * one update as the lecture's pseudocode (rbm_cd_step_ref) and as the fast
 * kernel (rbm_cd_step, with PT's swaps and tempered sweeps), and the epochs
 * with their monitoring (rbm_fit); binary and Gaussian visible units.  It calls rbm_model.c and, to
 * monitor, rbm_eval.c (the graph of calls: rbm.h).  Formulas: docs/rbm.md, "Equations and the
 * functions that compute them" and "Training".
 *
 * Dimension letters: n samples, d visible, h hidden, mb minibatch rows, mc
 * chains.  Training runs in single precision: every product of a minibatch
 * with W is a cblas_sgemm.  Threads (rbm_set_threads): each OpenMP thread
 * owns fixed blocks of minibatch rows and chains, on which it calls
 * single-threaded sgemm, the sigmoids and the Bernoulli draws, then a block
 * of rows of W to update; each chain draws from its own GSL stream, so the
 * draws do not depend on the thread count.
 */
#include "rbm.h"

#include <math.h>
#include <omp.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lz_blas.h" /* before any GSL header */
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "lz_data.h"
#include "lz_prob.h"
#include "lz_time.h"
#include "rbm_impl.h"

/* ---------------------------------------------------------------------- */
/* the learning-rate schedule */

double rbm_lr_at(double lr, int decay, long t, long T)
{
    if (decay != RBM_DECAY_LINEAR || T <= 0) return lr;
    /* alpha_t = alpha (1 - t / T) */
    return lr * (1.0 - (double)t / (double)T);
}

long rbm_n_updates(size_t n, int batch, int epochs)
{
    size_t m = batch > 0 && (size_t)batch < n ? (size_t)batch : n;
    if (!m) return 0;
    return (long)epochs * (long)((n + m - 1) / m); /* epochs ceil(n / m) */
}

/* ---------------------------------------------------------------------- */
/* the negative chains */

void rbm_chains_free(rbm_chains *c)
{
    if (!c) return;
    size_t nt = c->R > 1 ? (size_t)(c->R - 1) * c->n : 0;
    if (c->rng)
        for (size_t i = 0; i < c->n; i++) gsl_rng_free(c->rng[i]);
    if (c->trng)
        for (size_t i = 0; i < nt; i++) gsl_rng_free(c->trng[i]);
    if (c->srng && c->R > 1)
        for (size_t i = 0; i < c->n; i++) gsl_rng_free(c->srng[i]);
    free(c->rng);
    free(c->bits);
    free(c->hs);
    free(c->beta);
    free(c->ht);
    free(c->trng);
    free(c->tbits);
    free(c->srng);
    free(c->swap_tried);
    free(c->swap_acc);
    free(c);
}

/* n chains of h units with R replicas, their arrays, the streams not yet
 * made; beta_r = 1 - r / (R - 1) */
static rbm_chains *chains_new(size_t n, size_t h, int R)
{
    if (R < 1) return NULL;
    rbm_chains *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    size_t nt = (size_t)(R - 1) * n, one = 1;
    c->n = n;
    c->h = h;
    c->R = R;
    c->hs = calloc(n * h > 0 ? n * h : 1, sizeof *c->hs);
    c->rng = calloc(n ? n : 1, sizeof *c->rng);
    c->bits = calloc(n ? n : 1, sizeof *c->bits);
    c->beta = calloc((size_t)R, sizeof *c->beta);
    c->ht = calloc(nt * h > 0 ? nt * h : 1, sizeof *c->ht);
    c->trng = calloc(nt ? nt : 1, sizeof *c->trng);
    c->tbits = calloc(nt ? nt : 1, sizeof *c->tbits);
    c->srng = calloc(R > 1 && n ? n : one, sizeof *c->srng);
    c->swap_tried = calloc(n ? n : 1, sizeof *c->swap_tried);
    c->swap_acc = calloc(n ? n : 1, sizeof *c->swap_acc);
    if (!c->hs || !c->rng || !c->bits || !c->beta || !c->ht || !c->trng || !c->tbits || !c->srng ||
        !c->swap_tried || !c->swap_acc) {
        rbm_chains_free(c); /* the streams are NULL */
        return NULL;
    }
    for (int r = 0; r < R; r++) c->beta[r] = R > 1 ? 1.0f - (float)r / (float)(R - 1) : 1.0f;
    return c;
}

rbm_chains *rbm_chains_alloc(size_t n, size_t h, int R, unsigned long seed)
{
    rbm_chains *c = chains_new(n, h, R);
    if (!c) return NULL;
    size_t nt = (size_t)(R - 1) * n;
    int ok = 1;
    for (size_t i = 0; ok && i < n; i++) {
        ok = (c->rng[i] = lz_rng_alloc_stream(seed, RBM_STREAM_CHAIN + i)) != NULL;
        if (ok) c->bits[i] = rbm_bits_of(c->rng[i]);
    }
    /* replica r of chain i at (r - 1) n + i */
    for (size_t t = 0; ok && t < nt; t++) {
        unsigned long r = (unsigned long)(t / n) + 1, i = (unsigned long)(t % n);
        ok = (c->trng[t] = lz_rng_alloc_stream(seed, RBM_STREAM_PT + (r - 1) * 1000000UL + i)) !=
             NULL;
        if (ok) c->tbits[t] = rbm_bits_of(c->trng[t]);
    }
    for (size_t i = 0; ok && R > 1 && i < n; i++)
        ok = (c->srng[i] = lz_rng_alloc_stream(seed, RBM_STREAM_SWAP + i)) != NULL;
    if (!ok) {
        rbm_chains_free(c);
        return NULL;
    }
    return c;
}

/* *dst <- a clone of src with the same unused bits; 0 if out of memory */
static int clone_stream(gsl_rng *src, const rbm_bits *bsrc, gsl_rng **dst, rbm_bits *bdst)
{
    if (!(*dst = gsl_rng_clone(src))) return 0;
    if (bsrc) {
        *bdst = *bsrc; /* the unused bits too */
        bdst->state = (*dst)->state;
    }
    return 1;
}

rbm_chains *rbm_chains_copy(const rbm_chains *src)
{
    rbm_chains *c = chains_new(src->n, src->h, src->R);
    if (!c) return NULL;
    size_t n = src->n, nt = (size_t)(src->R - 1) * n;
    memcpy(c->hs, src->hs, n * src->h * sizeof *c->hs);
    memcpy(c->ht, src->ht, nt * src->h * sizeof *c->ht);
    memcpy(c->swap_tried, src->swap_tried, n * sizeof *c->swap_tried);
    memcpy(c->swap_acc, src->swap_acc, n * sizeof *c->swap_acc);
    int ok = 1;
    for (size_t i = 0; ok && i < n; i++)
        ok = clone_stream(src->rng[i], &src->bits[i], &c->rng[i], &c->bits[i]);
    for (size_t t = 0; ok && t < nt; t++)
        ok = clone_stream(src->trng[t], &src->tbits[t], &c->trng[t], &c->tbits[t]);
    for (size_t i = 0; ok && src->R > 1 && i < n; i++)
        ok = clone_stream(src->srng[i], NULL, &c->srng[i], NULL);
    if (!ok) {
        rbm_chains_free(c);
        return NULL;
    }
    return c;
}

/* ---------------------------------------------------------------------- */
/* one update: the checks both versions make */

static lz_status check_step(const rbm_model *m, const rbm_config *cfg, size_t mb,
                            const rbm_chains *ch, int start, lz_error *err)
{
    if (mb < 1) return lz_fail(err, LZ_EINVAL, "CD step: an empty minibatch");
    if (cfg->cd_steps < 1)
        return lz_fail(err, LZ_EINVAL, "CD step: %d Gibbs steps: expected >= 1", cfg->cd_steps);
    if (ch->h != m->h)
        return lz_fail(err, LZ_EINVAL, "CD step: chains of %zu hidden units, the model has %zu",
                       ch->h, m->h);
    if (ch->R > 1 && !cfg->pcd)
        return lz_fail(err, LZ_EINVAL, "CD step: tempered replicas need persistent chains (PCD)");
    if (ch->n < mb || (cfg->pcd && start && ch->n != mb))
        return lz_fail(err, LZ_EINVAL,
                       "CD step: %zu chains for a minibatch of %zu rows: expected at least as "
                       "many (as many when PCD's chains start at the data)",
                       ch->n, mb);
    return LZ_OK;
}

/* ---------------------------------------------------------------------- */
/* the reference step: the lecture's pseudocode, one row at a time */

/* p (h) <- p(h_j = 1 | v) = sigm(b_j + W_j. u), u = v / sigma^2 (u = v for
 * binary units): the activation summed in double, rounded to float, then
 * the training step's float sigmoid */
static void ref_hidden(const rbm_model *m, const float *u, float *p)
{
    size_t d = m->d, h = m->h;
    for (size_t j = 0; j < h; j++) {
        double a = m->b[j];
        for (size_t i = 0; i < d; i++) a += (double)m->w[j * d + i] * u[i];
        p[j] = rbm_sigm_f((float)a);
    }
}

/* p (d) <- p(v_i = 1 | h) = sigm(c_i + W_.i^T h), likewise; Gaussian: the
 * mean c_i + W_.i^T h */
static void ref_visible(const rbm_model *m, const float *hs, float *p)
{
    size_t d = m->d, h = m->h;
    for (size_t i = 0; i < d; i++) {
        double a = m->c[i];
        for (size_t j = 0; j < h; j++) a += (double)m->w[j * d + i] * hs[j];
        p[i] = m->visible == RBM_VIS_GAUSSIAN ? (float)a : rbm_sigm_f((float)a);
    }
}

/* The standard deviations of the Gaussian visible units in float, sigma_i =
 * exp(z_i / 2): sd (d); with rbm_inv_sigma2_f's is2, what both versions of
 * the step sample and scale with. */
static void sigma_f(const rbm_model *m, size_t i0, size_t i1, float *sd)
{
    for (size_t i = i0; i < i1; i++) sd[i] = (float)exp(0.5 * (double)m->z[i]);
}

/* The bounds of a learned z_i = log sigma_i^2: sigma_min <= sigma_i <= 1e3
 * (model units: standard deviations of the training columns) */
static void z_bounds(const rbm_config *cfg, float *lo, float *hi)
{
    *lo = (float)(2.0 * log(cfg->sigma_min));
    *hi = (float)(2.0 * log(1e3));
}

/* G += sg [h(x) u^T; h(x); u; g(x)] / cnt for one visible row x (d), its
 * u = x / sigma^2 and h(x) = p(h | x) (h): the row's share of the update.
 * g_i(x) = (x_i - c_i)^2 / (2 sigma_i^2) - u_i W_.i^T h(x) (learned sigmas). */
static void ref_accumulate(const rbm_model *m, const float *x, const float *u, const float *hx,
                           const float *is2, int learn, double sg, double cnt, double *g)
{
    size_t d = m->d, h = m->h;
    double *gw = g, *gb = g + h * d, *gc = gb + h, *gz = gc + d; /* (h, d), (h), (d), (d) */
    for (size_t j = 0; j < h; j++) {
        for (size_t i = 0; i < d; i++) gw[j * d + i] += sg * (double)hx[j] * u[i] / cnt;
        gb[j] += sg * (double)hx[j] / cnt;
    }
    for (size_t i = 0; i < d; i++) gc[i] += sg * (double)u[i] / cnt;
    if (!learn) return;
    for (size_t i = 0; i < d; i++) {
        double wh = 0, e = (double)x[i] - m->c[i];
        for (size_t j = 0; j < h; j++) wh += (double)m->w[j * d + i] * hx[j];
        gz[i] += sg * (0.5 * e * e * is2[i] - (double)u[i] * wh) / cnt;
    }
}

lz_status rbm_cd_step_ref(rbm_model *m, float *vel, const rbm_config *cfg, double lr, size_t mb,
                          const float *x, rbm_chains *ch, int start, lz_error *err)
{
    lz_status st = check_step(m, cfg, mb, ch, start, err);
    if (st) return st;
    if (ch->R > 1)
        return lz_fail(err, LZ_EINVAL,
                       "CD step (reference): no tempered replicas (PT): the "
                       "reference is the lecture's CD-k / PCD-k");
    size_t d = m->d, h = m->h, np = rbm_n_params(m);
    size_t mc = cfg->pcd ? ch->n : mb; /* CD: one chain a row, from that row */
    int k = cfg->cd_steps, gauss = m->visible == RBM_VIS_GAUSSIAN;
    int learn = gauss && m->sigma == RBM_SIGMA_LEARN;
    double *g = calloc(h * d + h + 2 * d, sizeof *g); /* G in the layout of m->mem */
    float *hx = malloc(h * sizeof *hx);               /* (h) h(.) = p(h = 1 | .) */
    float *xt = malloc(d * sizeof *xt);               /* (d) x~ */
    float *ux = malloc(d * sizeof *ux);               /* (d) u = x / sigma^2 of a row */
    float *is2 = malloc(d * sizeof *is2);             /* (d) 1 / sigma^2 */
    float *sd = malloc(d * sizeof *sd);               /* (d) sigma */
    if (!g || !hx || !xt || !ux || !is2 || !sd) {
        free(g);
        free(hx);
        free(xt);
        free(ux);
        free(is2);
        free(sd);
        return lz_fail(err, LZ_ENOMEM, "CD step (d = %zu, H = %zu): out of memory", d, h);
    }
    rbm_inv_sigma2_f(m, is2);
    sigma_f(m, 0, d, sd);
    /* G += (1/mb) [h(x) u^T; h(x); u; g(x)] for every row x of the minibatch */
    for (size_t r = 0; r < mb; r++) {
        const float *xr = x + r * d;
        const float *ur = rbm_scale_visible_f(m, 1, xr, is2, ux);
        ref_hidden(m, ur, hx);
        ref_accumulate(m, xr, ur, hx, is2, learn, 1.0, (double)mb, g);
    }
    /* every chain: k Gibbs steps to x~, then G -= (1/mc) [h(x~) u~^T; h(x~); u~; g(x~)] */
    for (size_t c = 0; c < mc; c++) {
        float *hc = ch->hs + c * h; /* (h) the chain's hidden state */
        rbm_bits *bits = &ch->bits[c];
        if (!cfg->pcd || start) { /* from the data row c: h ~ p(h | x) */
            ref_hidden(m, rbm_scale_visible_f(m, 1, x + c * d, is2, ux), hx);
            for (size_t j = 0; j < h; j++) hc[j] = (float)rbm_bern(bits, hx[j]);
        }
        const float *ut = xt;
        for (int s = 1; s <= k; s++) {
            ref_visible(m, hc, xt); /* x~ ~ p(v | h): Bernoulli, or N(mean, sigma^2) */
            for (size_t i = 0; i < d; i++)
                xt[i] = gauss ? xt[i] + sd[i] * (float)gsl_ran_gaussian_ziggurat(ch->rng[c], 1.0)
                              : (float)rbm_bern(bits, xt[i]);
            ut = rbm_scale_visible_f(m, 1, xt, is2, ux);
            ref_hidden(m, ut, hx); /* h(x~) */
            if (s < k || cfg->pcd) /* the next step's h; PCD: the chain moves on */
                for (size_t j = 0; j < h; j++) hc[j] = (float)rbm_bern(bits, hx[j]);
        }
        ref_accumulate(m, xt, ut, hx, is2, learn, -1.0, (double)mc, g);
    }
    /* vel <- mu vel + alpha (G - lambda [W; 0; 0; 0]),  theta <- theta + vel;
     * mu = lambda = 0: theta <- theta + alpha G; then z within its bounds */
    double mu = cfg->momentum, lambda = cfg->weight_decay;
    int plain = mu == 0 && lambda == 0;
    for (size_t q = 0; q < np; q++) {
        double gq = g[q] - (q < h * d ? lambda * (double)m->mem[q] : 0.0);
        double u = plain ? lr * gq : mu * (double)vel[q] + lr * gq;
        if (!plain) vel[q] = (float)u;
        m->mem[q] = (float)((double)m->mem[q] + u);
    }
    if (learn) {
        float lo, hi;
        z_bounds(cfg, &lo, &hi);
        for (size_t i = 0; i < d; i++) m->z[i] = m->z[i] < lo ? lo : m->z[i] > hi ? hi : m->z[i];
    }
    free(g);
    free(hx);
    free(xt);
    free(ux);
    free(is2);
    free(sd);
    return LZ_OK;
}

/* ---------------------------------------------------------------------- */
/* the fast kernel */

/* The rows of one update live in one stack, a segment a thread: thread t's
 * segment holds its minibatch rows, then its chains' rows, so that (PCD)
 * one sgemm computes p(h | .) of both and the update is one sgemm over the
 * whole stack.  PT's tempered replicas sample in arrays of their own (they
 * do not enter the update), replica r's chain i at row (r - 1) mc + i. */
typedef struct {
    float *V;    /* (rows, d) visible rows: data, then the chains' x~     */
    float *U;    /* (rows, d) learned sigmas: V / sigma^2 (else unused)   */
    float *Q;    /* (rows, d) learned sigmas: P W, for G_z               */
    float *P;    /* (rows, h) p(h | row), the chains' times their sign    */
    float *s;    /* (rows) the rows' signs: 1, or -mb/mc for a chain      */
    double *acc; /* (h + 2d) column sums of the update                    */
    float *is2;  /* (d) 1 / sigma_i^2, kept current by the update         */
    float *sd;   /* (d) sigma_i                                           */
    /* parallel tempering (R > 1): */
    int R;      /* replicas                                              */
    size_t mc;  /* chains                                                */
    float *TV;  /* ((R - 1) mc, d) the replicas' visible states          */
    float *TU;  /* ((R - 1) mc, d) learned sigmas: TV / sigma^2          */
    float *TP;  /* ((R - 1) mc, h) their p_beta(h | v)                   */
    float *TA;  /* (R mc, d) every replica's W^T h, for the swaps        */
    float *tsd; /* (R - 1, d) Gaussian: the replicas' 1 / sqrt(lambda)   */
} cd_stack;

static void cd_stack_free(cd_stack *st)
{
    free(st->V);
    free(st->U);
    free(st->Q);
    free(st->P);
    free(st->s);
    free(st->acc);
    free(st->is2);
    free(st->sd);
    free(st->TV);
    free(st->TU);
    free(st->TP);
    free(st->TA);
    free(st->tsd);
    memset(st, 0, sizeof *st);
}

/* room for `rows` rows (a minibatch and its chains) and, R > 1, the mc
 * chains' tempered replicas; LZ_ENOMEM */
static lz_status cd_stack_alloc(cd_stack *st, size_t rows, size_t d, size_t h, int R, size_t mc)
{
    memset(st, 0, sizeof *st);
    size_t nt = R > 1 ? (size_t)(R - 1) * mc : 0;
    st->R = R;
    st->mc = mc;
    st->V = malloc(rows * d * sizeof *st->V);
    st->U = malloc(rows * d * sizeof *st->U);
    st->Q = malloc(rows * d * sizeof *st->Q);
    st->P = malloc(rows * h * sizeof *st->P);
    st->s = malloc(rows * sizeof *st->s);
    st->acc = malloc((h + 2 * d) * sizeof *st->acc);
    st->is2 = malloc(d * sizeof *st->is2);
    st->sd = malloc(d * sizeof *st->sd);
    st->TV = malloc((nt ? nt : 1) * d * sizeof *st->TV);
    st->TU = malloc((nt ? nt : 1) * d * sizeof *st->TU);
    st->TP = malloc((nt ? nt : 1) * h * sizeof *st->TP);
    st->TA = malloc((nt ? nt + mc : 1) * d * sizeof *st->TA);
    st->tsd = malloc((R > 1 ? (size_t)(R - 1) : 1) * d * sizeof *st->tsd);
    if (st->V && st->U && st->Q && st->P && st->s && st->acc && st->is2 && st->sd && st->TV &&
        st->TU && st->TP && st->TA && st->tsd)
        return LZ_OK;
    cd_stack_free(st);
    return LZ_ENOMEM;
}

/* the entries [i0, i1) of the stack's 1 / sigma^2, sigma and the replicas'
 * sds from z (after an update of z, by the thread that owns them) */
static void stack_sigma(const rbm_model *m, const rbm_chains *ch, cd_stack *st, size_t i0,
                        size_t i1)
{
    for (size_t i = i0; i < i1; i++) st->is2[i] = (float)exp(-(double)m->z[i]);
    sigma_f(m, i0, i1, st->sd);
    if (m->visible != RBM_VIS_GAUSSIAN || !ch) return;
    for (int r = 1; r < st->R; r++) /* 1 / sqrt(lambda_i), lambda_i = 1 - beta + beta / sigma_i^2 */
        for (size_t i = i0; i < i1; i++) {
            double beta = ch->beta[r];
            st->tsd[(size_t)(r - 1) * m->d + i] =
                (float)(1.0 / sqrt(1.0 - beta + beta * exp(-(double)m->z[i])));
        }
}

/* The parameter update from a stack of rows, restricted to the rows
 * [j0, j1) of W and b and the entries [i0, i1) of c (and z) so that threads
 * can share it out.  Row r of the stack has visible states V_r, the same as
 * the hidden units see them, X_r (U_r = V_r / sigma^2 with learned sigmas,
 * else V_r), and hidden probabilities P_r already multiplied by its sign
 * s_r (1 for the data, -mb/mc for the chains), so
 *   W (or vel_W) += a0 P^T X   (one sgemm, K = the stack's rows),
 *   b += a0 sum_r P_r,   c += a0 sum_r s_r X_r,   a0 = alpha / mb,
 *   learned sigmas: z += a0 sum_r [s_r (V_r - c)^2 / (2 sigma^2) - X_r Q_r]
 *   with Q = P W (computed before the update), then z within its bounds,
 * which is alpha ((1/mb) h(x)^T u - (1/mc) h(x~)^T u~) etc. of
 * rbm_cd_step_ref.  stk->acc (h + 2d) doubles of scratch, of which
 * [j0, j1), h + [i0, i1) and h + d + [i0, i1) are used. */
static void update_rows(rbm_model *m, const rbm_config *cfg, const rbm_chains *ch, float *vel,
                        double lr, double a0, size_t nr, cd_stack *stk, size_t j0, size_t j1,
                        size_t i0, size_t i1)
{
    size_t d = m->d, h = m->h;
    double momentum = cfg->momentum, weight_decay = cfg->weight_decay;
    int learn = m->visible == RBM_VIS_GAUSSIAN && m->sigma == RBM_SIGMA_LEARN;
    const float *V = stk->V, *X = learn ? stk->U : stk->V, *P = stk->P, *s = stk->s;
    int plain = momentum == 0 && weight_decay == 0;
    float mu = (float)momentum, dec = (float)(lr * weight_decay);
    float *vw = vel, *vb = vel + h * d, *vc = vb + h, *vz = vc + d; /* the layout of m->mem */
    float *gw = plain ? m->w : vw;                                  /* where the W gradient goes */
    if (!plain) /* vel_W <- mu vel_W - alpha lambda W */
        for (size_t k = j0 * d; k < j1 * d; k++) vw[k] = mu * vw[k] - dec * m->w[k];
    if (j1 > j0 && nr) /* W (or vel_W) += a0 P^T X   (the pseudocode's h(x) u^T - h(x~) u~^T) */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)(j1 - j0), (int)d, (int)nr,
                    (float)a0, P + j0, (int)h, X, (int)d, 1.0f, gw + j0 * d, (int)d);
    /* column sums in double, row by row: sb = sum_r P_r, sc = sum_r s_r X_r,
     * sz = sum_r [s_r (V_r - c)^2 / (2 sigma^2) - X_r Q_r] */
    double *sb = stk->acc, *sc = stk->acc + h, *sz = sc + d;
    for (size_t j = j0; j < j1; j++) sb[j] = 0;
    for (size_t i = i0; i < i1; i++) sc[i] = sz[i] = 0;
    for (size_t r = 0; r < nr; r++) {
        const float *pr = P + r * h, *xr = X + r * d;
        double sr = s[r];
        for (size_t j = j0; j < j1; j++) sb[j] += pr[j];
        for (size_t i = i0; i < i1; i++) sc[i] += sr * xr[i];
        if (!learn) continue;
        const float *vr = V + r * d, *qr = stk->Q + r * d;
        for (size_t i = i0; i < i1; i++) {
            double e = (double)vr[i] - m->c[i];
            sz[i] += sr * 0.5 * e * e * stk->is2[i] - (double)xr[i] * qr[i];
        }
    }
    /* b += alpha (mean h(x) - mean h(x~));  c += alpha (mean u - mean u~);
     * z += alpha (mean g(x) - mean g(x~))  (or into vel) */
    for (size_t j = j0; j < j1; j++) {
        float g = (float)(a0 * sb[j]);
        if (plain)
            m->b[j] += g;
        else
            vb[j] = mu * vb[j] + g;
    }
    for (size_t i = i0; i < i1; i++) {
        float g = (float)(a0 * sc[i]);
        if (plain)
            m->c[i] += g;
        else
            vc[i] = mu * vc[i] + g;
    }
    if (!plain) { /* theta <- theta + vel */
        for (size_t k = j0 * d; k < j1 * d; k++) m->w[k] += vw[k];
        for (size_t j = j0; j < j1; j++) m->b[j] += vb[j];
        for (size_t i = i0; i < i1; i++) m->c[i] += vc[i];
    }
    if (!learn) return;
    float lo, hi;
    z_bounds(cfg, &lo, &hi);
    for (size_t i = i0; i < i1; i++) {
        float g = (float)(a0 * sz[i]);
        if (plain) {
            m->z[i] += g;
        } else {
            vz[i] = mu * vz[i] + g;
            m->z[i] += vz[i];
        }
        m->z[i] = m->z[i] < lo ? lo : m->z[i] > hi ? hi : m->z[i]; /* sigma_min <= sigma <= 1e3 */
    }
    stack_sigma(m, ch, stk, i0, i1);
}

/* The threads of an update of mb rows: about one a 4e6 multiply-adds of
 * its 2k + 3 products, at most one a row. */
static int cd_threads(size_t mb, size_t d, size_t h, int k)
{
    int T = rbm_threads_for((double)mb * (double)d * (double)h * (2.0 * k + 3.0));
    return (size_t)T > mb ? (int)mb : T;
}

/* A barrier for the threads of an epoch that yields the processor while it
 * waits.  (OpenMP's barrier spins before it sleeps: on a machine busier than
 * its cores the spinning thread takes the core its partner needs, and an
 * update, which has two barriers, can cost a scheduler time slice.) */
typedef struct {
    atomic_uint count; /* threads arrived in this round  */
    atomic_uint gen;   /* rounds completed               */
    unsigned n;        /* threads                        */
} ybarrier;

static void ybarrier_init(ybarrier *b)
{
    atomic_init(&b->count, 0);
    atomic_init(&b->gen, 0);
    b->n = 0;
}

static void ybarrier_wait(ybarrier *b)
{
    unsigned g = atomic_load_explicit(&b->gen, memory_order_acquire);
    if (atomic_fetch_add_explicit(&b->count, 1, memory_order_acq_rel) + 1 == b->n) {
        atomic_store_explicit(&b->count, 0, memory_order_relaxed);
        atomic_fetch_add_explicit(&b->gen, 1, memory_order_release);
    } else {
        while (atomic_load_explicit(&b->gen, memory_order_acquire) == g) sched_yield();
    }
}

/* Inside a parallel region: the team's size into b->n (one thread writes
 * it, the others wait for it at the end of the single) and returned. */
static int ybarrier_team(ybarrier *b)
{
#pragma omp single
    b->n = (unsigned)omp_get_num_threads();
    return (int)b->n;
}

/* x (n, k) <- Bernoulli(p (n, k)), row i drawing from bits[i] (rbm_impl.h);
 * x may be p */
static void sample_chains(size_t n, size_t k, const float *p, float *x, rbm_bits *bits)
{
    for (size_t r = 0; r < n; r++) {
        rbm_bits g = bits[r];
        const float *pr = p + r * k;
        float *xr = x + r * k;
        for (size_t j = 0; j < k; j++) xr[j] = (float)rbm_bern(&g, pr[j]);
        bits[r] = g;
    }
}

/* x (n, d) <- draws from the visible conditional p (n, d): Bernoulli(p)
 * (binary units) or p + sd N(0, 1) (Gaussian: p the means, sd (d) the
 * standard deviations); row i draws from bits[i] or rng[i]; x may be p */
static void sample_visible(const rbm_model *m, size_t n, const float *p, const float *sd, float *x,
                           rbm_bits *bits, gsl_rng **rng)
{
    size_t d = m->d;
    if (m->visible != RBM_VIS_GAUSSIAN) {
        sample_chains(n, d, p, x, bits);
        return;
    }
    for (size_t r = 0; r < n; r++)
        for (size_t i = 0; i < d; i++)
            x[r * d + i] = p[r * d + i] + sd[i] * (float)gsl_ran_gaussian_ziggurat(rng[r], 1.0);
}

/* ---------------------------------------------------------------------- */
/* parallel tempering (docs/rbm.md, "Parallel tempering"): the replicas
 * r = 1 .. R - 1 of the chains [c0, c1), replica r of chain i at row
 * (r - 1) n + i of ch->ht and of the stack's T arrays */

/* The replicas' hidden states at the start: h ~ p_beta_r(h | x) of the
 * chains' data rows X (c1 - c0, d) (as the hidden units see them). */
static void pt_start(const rbm_model *m, rbm_chains *ch, cd_stack *stk, size_t c0, size_t c1,
                     const float *X)
{
    size_t n = ch->n, h = m->h, nc = c1 - c0;
    for (int r = 1; r < ch->R && nc; r++) {
        size_t o = (size_t)(r - 1) * n + c0;
        rbm_hidden_beta_f(m, nc, X, ch->beta[r], stk->TP + o * h);
        sample_chains(nc, h, stk->TP + o * h, ch->ht + o * h, ch->tbits + o);
    }
}

/* the hidden row (h) of replica r of chain i */
static float *pt_row(rbm_chains *ch, int r, size_t i)
{
    return r ? ch->ht + ((size_t)(r - 1) * ch->n + i) * ch->h : ch->hs + i * ch->h;
}

/* Swaps between neighbouring replicas of every chain of [c0, c1): for r =
 * R - 2 .. 0, the hidden states of replicas r and r + 1 trade places with
 * probability min(1, p_r(h_{r+1}) p_{r+1}(h_r) / (p_r(h_r) p_{r+1}(h_{r+1}))),
 * p_r the tempered marginal of h at beta_r; one uniform draw a proposal from
 * the chain's swap stream. */
static void pt_swaps(const rbm_model *m, rbm_chains *ch, cd_stack *stk, size_t c0, size_t c1)
{
    size_t n = ch->n, h = m->h, d = m->d, nc = c1 - c0;
    int R = ch->R;
    if (R < 2 || !nc) return;
    /* A_r <- H_r W  (nc x h)(h x d): every replica's W^T h */
    for (int r = 0; r < R; r++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)nc, (int)d, (int)h, 1.0f,
                    pt_row(ch, r, c0), (int)h, m->w, (int)d, 0.0f,
                    stk->TA + ((size_t)r * n + c0) * d, (int)d);
    for (size_t i = c0; i < c1; i++)
        for (int r = R - 2; r >= 0; r--) {
            float *ha = pt_row(ch, r, i), *hb = pt_row(ch, r + 1, i);
            float *aa = stk->TA + ((size_t)r * n + i) * d, *ab = aa + n * d;
            double g_aa, g_bb, g_ab, g_ba; /* g_xy: log p_x(h_y) + const(x) */
            rbm_tempered_log_marginal_h(m, ch->beta[r], 1, ha, aa, &g_aa);
            rbm_tempered_log_marginal_h(m, ch->beta[r + 1], 1, hb, ab, &g_bb);
            rbm_tempered_log_marginal_h(m, ch->beta[r], 1, hb, ab, &g_ab);
            rbm_tempered_log_marginal_h(m, ch->beta[r + 1], 1, ha, aa, &g_ba);
            double la = g_ab + g_ba - g_aa - g_bb; /* log of the acceptance ratio */
            double u = gsl_rng_uniform(ch->srng[i]);
            ch->swap_tried[i] += 1;
            if (!(la >= 0 || u < exp(la))) continue;
            ch->swap_acc[i] += 1;
            for (size_t j = 0; j < h; j++) {
                float t = ha[j];
                ha[j] = hb[j];
                hb[j] = t;
            }
            for (size_t q = 0; q < d; q++) {
                float t = aa[q];
                aa[q] = ab[q];
                ab[q] = t;
            }
        }
}

/* k Gibbs sweeps of each replica r >= 1 of the chains [c0, c1) at its
 * beta_r: v ~ p_beta(v | h), h ~ p_beta(h | v). */
static void pt_sweeps(const rbm_model *m, int k, rbm_chains *ch, cd_stack *stk, size_t c0,
                      size_t c1)
{
    size_t n = ch->n, h = m->h, d = m->d, nc = c1 - c0;
    for (int r = 1; r < ch->R && nc; r++) {
        size_t o = (size_t)(r - 1) * n + c0;
        float beta = ch->beta[r], *H = ch->ht + o * h, *V = stk->TV + o * d, *P = stk->TP + o * h;
        for (int s = 1; s <= k; s++) {
            rbm_visible_beta_f(m, nc, H, beta, stk->is2, V);
            sample_visible(m, nc, V, stk->tsd + (size_t)(r - 1) * d, V, ch->tbits + o,
                           ch->trng + o);
            const float *X = rbm_scale_visible_f(m, nc, V, stk->is2, stk->TU + o * d);
            rbm_hidden_beta_f(m, nc, X, beta, P);
            sample_chains(nc, h, P, H, ch->tbits + o);
        }
    }
}

/* ---------------------------------------------------------------------- */

/* Thread id of T's part of one CD-k / PCD-k / PT update at rate lr on the
 * minibatch of rows idx[0 .. mb) of v (the pseudocode of rbm_cd_step_ref):
 * for the chains, h ~ p(h | x) (start: CD, PCD's first update) or the
 * persistent h (PCD); PT: the replicas' start and swaps; k times
 * x~ ~ p(v | h), then p(h | x~) (sampled into h except after the last step,
 * PCD: always); PT: the replicas' sweeps; then the update with
 * h(x) = p(h | x) and h(x~) = p(h | x~).  The thread owns fixed blocks of
 * minibatch rows and chains (phase A, its segment of the stack) and of the
 * rows of W (phase B); two barriers. */
static void cd_update_part(rbm_model *m, const rbm_config *cfg, double lr, float *vel,
                           const float *v, const size_t *idx, size_t mb, rbm_chains *ch, int start,
                           cd_stack *stk, int T, int id, ybarrier *bar)
{
    size_t d = m->d, h = m->h;
    int k = cfg->cd_steps;
    int learn = m->visible == RBM_VIS_GAUSSIAN && m->sigma == RBM_SIGMA_LEARN;
    size_t mc = cfg->pcd ? ch->n : mb; /* the chains */
    size_t r0, r1, c0, c1, j0, j1, i0, i1;
    rbm_part(mb, T, id, &r0, &r1); /* minibatch rows of this thread */
    rbm_part(mc, T, id, &c0, &c1); /* its chains (the same rows when they start at x) */
    rbm_part(h, T, id, &j0, &j1);  /* its rows of W and b in the update */
    rbm_part(d, T, id, &i0, &i1);  /* its entries of c (and z) */
    size_t nd = r1 - r0, nc = c1 - c0;
    size_t a = r0 + c0; /* its segment: data rows [a, a + nd), */
    size_t ac = a + nd; /* chain rows [ac, ac + nc)            */
    float *Va = stk->V + a * d, *Pa = stk->P + a * h;
    float *Vc = stk->V + ac * d, *Pc = stk->P + ac * h, *hc = ch->hs + c0 * h;
    /* phase A: this thread's segment */
    lz_gather_f(d, v, idx + r0, nd, Va);
    /* as the hidden units see the rows: u = v / sigma^2 (or v itself) */
    const float *Xa = rbm_scale_visible_f(m, nd, Va, stk->is2, stk->U + a * d);
    if (!cfg->pcd || start) {                /* the chains start at the data: h ~ p(h | x) */
        if (nd) rbm_hidden_f(m, nd, Xa, Pa); /* (chains c0.. are rows r0.., nc = nd) */
        sample_chains(nd, h, Pa, hc, ch->bits + c0);
        if (ch->R > 1) pt_start(m, ch, stk, c0, c1, Xa);
    }
    if (ch->R > 1) pt_swaps(m, ch, stk, c0, c1);
    for (int s = 1; s <= k && nc; s++) { /* k CD steps */
        rbm_visible_f(m, nc, hc, Vc);
        sample_visible(m, nc, Vc, stk->sd, Vc, ch->bits + c0, ch->rng + c0); /* x~ ~ p(v | h) */
        const float *Xc = rbm_scale_visible_f(m, nc, Vc, stk->is2, stk->U + ac * d);
        if (s == k && cfg->pcd) /* p(h | x) and p(h | x~) in one sgemm (Xa, Xc adjacent) */
            rbm_hidden_f(m, nd + nc, Xa, Pa);
        else
            rbm_hidden_f(m, nc, Xc, Pc);
        if (s < k || cfg->pcd) /* the next step's h; PCD: the chains move on */
            sample_chains(nc, h, Pc, hc, ch->bits + c0);
    }
    if (ch->R > 1) pt_sweeps(m, k, ch, stk, c0, c1);
    /* signs: data +1; chains -mb/mc, folded into their p(h | x~) */
    float sk = -(float)((double)mb / (double)mc);
    for (size_t r = a; r < ac; r++) stk->s[r] = 1.0f;
    for (size_t r = ac; r < ac + nc; r++) stk->s[r] = sk;
    for (size_t q = 0; q < nc * h; q++) Pc[q] *= sk;
    if (learn && nd + nc) /* Q <- P W  ((nd + nc) x h)(h x d), for G_z, before W changes */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)(nd + nc), (int)d, (int)h, 1.0f,
                    Pa, (int)h, m->w, (int)d, 0.0f, stk->Q + a * d, (int)d);
    ybarrier_wait(bar);
    /* phase B: this thread's rows of W and b, entries of c (and z), over the stack */
    update_rows(m, cfg, ch, vel, lr, lr / (double)mb, mb + mc, stk, j0, j1, i0, i1);
    ybarrier_wait(bar);
}

lz_status rbm_cd_step(rbm_model *m, float *vel, const rbm_config *cfg, double lr, size_t mb,
                      const float *x, rbm_chains *ch, int start, int threads, lz_error *err)
{
    lz_status st = check_step(m, cfg, mb, ch, start, err);
    if (st) return st;
    size_t d = m->d, h = m->h, mc = cfg->pcd ? ch->n : mb;
    cd_stack stk;
    size_t *idx = malloc(mb * sizeof *idx); /* (mb) the rows of x, in order */
    if (cd_stack_alloc(&stk, mb + mc, d, h, ch->R, ch->n) || !idx) {
        free(idx);
        return lz_fail(err, LZ_ENOMEM, "CD step (%zu rows, H = %zu): out of memory", mb, h);
    }
    for (size_t r = 0; r < mb; r++) idx[r] = r;
    stack_sigma(m, ch, &stk, 0, d);
    int T = threads > 0 ? threads : cd_threads(mb, d, h, cfg->cd_steps * ch->R);
    if ((size_t)T > mb) T = (int)mb;
    ybarrier bar;
    ybarrier_init(&bar);
#pragma omp parallel num_threads(T)
    {
        int team = ybarrier_team(&bar);
        cd_update_part(m, cfg, lr, vel, x, idx, mb, ch, start, &stk, team, omp_get_thread_num(),
                       &bar);
    }
    cd_stack_free(&stk);
    free(idx);
    return LZ_OK;
}

/* ---------------------------------------------------------------------- */
/* training */

typedef struct {
    size_t mb;         /* rows of a full minibatch                              */
    cd_stack stk;      /* (2 mb) rows: a minibatch and its chains               */
    rbm_chains *ch;    /* mb chains (PCD: persistent; CD: one a minibatch row)  */
    float *vel;        /* (n_params) momentum, the layout of rbm_model.mem       */
    float *best;       /* (n_params) the best epoch's parameters (--keep-best)   */
    size_t *order;     /* (n) this epoch's order of the rows                     */
    size_t nm, nmt;    /* rows of the monitoring subsets                         */
    float *mon;        /* (nm, d) fixed subset of the training data              */
    float *mont;       /* (nmt, d) fixed subset of the test data                 */
    gsl_rng *ord;      /* the epochs' permutations                               */
    rbm_eval *ev;      /* double-precision workspace for the monitor             */
    int exact;         /* exact log-likelihood every epoch                       */
    int nthr;          /* threads of an update                                   */
    double tried, acc; /* PT: swaps proposed and accepted before this epoch   */
} trainer;

static void trainer_free(trainer *t)
{
    cd_stack_free(&t->stk);
    rbm_chains_free(t->ch);
    free(t->vel);
    free(t->best);
    free(t->order);
    free(t->mon);
    free(t->mont);
    gsl_rng_free(t->ord);
    rbm_eval_free(t->ev);
}

/* a fixed random subset of min(n, want) rows of x, drawn from g */
static float *monitor_subset(size_t n, size_t d, const float *x, size_t want, gsl_rng *g,
                             size_t *got)
{
    size_t k = n < want ? n : want;
    *got = k;
    size_t *idx = malloc((n ? n : 1) * sizeof *idx);
    float *out = malloc((k ? k : 1) * d * sizeof *out);
    if (!idx || !out) {
        free(idx);
        free(out);
        return NULL;
    }
    lz_rng_perm(g, n, idx);
    lz_gather_f(d, x, idx, k, out);
    free(idx);
    return out;
}

static lz_status trainer_alloc(trainer *t, const rbm_model *m, const rbm_config *cfg, size_t n,
                               const float *v, size_t nt, const float *vt, lz_error *err)
{
    size_t d = m->d, h = m->h;
    int R = cfg->pt > 0 ? cfg->pt : 1;
    memset(t, 0, sizeof *t);
    t->mb = (size_t)cfg->batch < n ? (size_t)cfg->batch : n;
    t->exact = rbm_exact_every_epoch(d, h, m->visible, cfg->exact_max_h);
    t->nthr = cd_threads(t->mb, d, h, cfg->cd_steps * R);
    int ok = !cd_stack_alloc(&t->stk, 2 * t->mb, d, h, R, t->mb);
    t->ch = rbm_chains_alloc(t->mb, h, R, cfg->seed);
    t->vel = calloc(rbm_n_params(m), sizeof *t->vel);
    t->order = malloc(n * sizeof *t->order);
    t->ord = lz_rng_alloc_stream(cfg->seed, RBM_STREAM_ORDER);
    if (cfg->keep_best) t->best = malloc(rbm_n_params(m) * sizeof *t->best);
    ok = ok && t->ch && t->vel && t->order && t->ord && (t->best || !cfg->keep_best);
    if (ok) {
        gsl_rng *g = lz_rng_alloc_stream(cfg->seed, RBM_STREAM_MONITOR);
        ok = g != NULL;
        if (ok && cfg->monitor) {
            ok = (t->mon = monitor_subset(n, d, v, (size_t)cfg->monitor, g, &t->nm)) != NULL;
            if (ok && vt && nt)
                ok =
                    (t->mont = monitor_subset(nt, d, vt, (size_t)cfg->monitor, g, &t->nmt)) != NULL;
        }
        gsl_rng_free(g);
    }
    if (!ok) {
        trainer_free(t);
        return lz_fail(err, LZ_ENOMEM, "training (H = %zu, batch %zu): out of memory", h, t->mb);
    }
    t->ev = rbm_eval_alloc(d, h, t->exact ? cfg->exact_max_h : 0, err);
    if (!t->ev) {
        trainer_free(t);
        return err ? err->status : LZ_ENOMEM;
    }
    return LZ_OK;
}

/* One epoch of CD-k / PCD-k / PT updates over the rows of v in t->order, the
 * minibatch starting at row q0 of the order being update u0 + q0 / mb of
 * the run's n_upd (its rate rbm_lr_at); the chains start at the data in
 * every update (CD) or in the first of the run (PCD, PT).  The threads stay
 * in one parallel region for the epoch, two barriers an update. */
static void train_epoch(rbm_model *m, const rbm_config *cfg, trainer *t, size_t n, const float *v,
                        int first_epoch, long u0, long n_upd)
{
    ybarrier bar;
    ybarrier_init(&bar);
    stack_sigma(m, t->ch, &t->stk, 0, m->d);
#pragma omp parallel num_threads(t->nthr)
    {
        int T = ybarrier_team(&bar), id = omp_get_thread_num();
        for (size_t q0 = 0; q0 < n; q0 += t->mb) {
            size_t mb = n - q0 < t->mb ? n - q0 : t->mb; /* this minibatch's rows */
            double lr = rbm_lr_at(cfg->lr, cfg->lr_decay, u0 + (long)(q0 / t->mb), n_upd);
            cd_update_part(m, cfg, lr, t->vel, v, t->order + q0, mb, t->ch,
                           !cfg->pcd || (first_epoch && q0 == 0), &t->stk, T, id, &bar);
        }
    }
}

/* PT: the share of swaps accepted since the last call (nan without PT) */
static double swap_rate(trainer *t)
{
    const rbm_chains *ch = t->ch;
    if (ch->R < 2) return NAN;
    double tried = 0, acc = 0;
    for (size_t i = 0; i < ch->n; i++) {
        tried += ch->swap_tried[i];
        acc += ch->swap_acc[i];
    }
    double r = tried > t->tried ? (acc - t->acc) / (tried - t->tried) : NAN;
    t->tried = tried;
    t->acc = acc;
    return r;
}

static int params_finite(const rbm_model *m)
{
    size_t np = rbm_n_params(m);
    for (size_t k = 0; k < np; k++)
        if (!isfinite(m->mem[k])) return 0;
    return 1;
}

static lz_status monitor(const rbm_model *m, trainer *t, size_t n, const float *v, size_t nt,
                         const float *vt, rbm_epoch *e, lz_error *err)
{
    rbm_eval_sync(t->ev, m);
    e->recon_err = e->pseudo_ll = e->ll_train = e->ll_test = e->fe_gap = e->log_z = NAN;
    if (t->nm) {
        e->recon_err = rbm_eval_recon_err(t->ev, t->nm, t->mon);
        e->pseudo_ll = rbm_eval_pseudo_ll(t->ev, t->nm, t->mon, NULL);
        if (t->nmt) /* mean F(test subset) - mean F(train subset) */
            e->fe_gap = rbm_eval_free_energy(t->ev, t->nmt, t->mont, NULL) -
                        rbm_eval_free_energy(t->ev, t->nm, t->mon, NULL);
    }
    if (t->exact) {
        lz_status st = rbm_eval_log_z(t->ev, RBM_ENUM_AUTO, &e->log_z, err);
        if (st) return st;
        /* log p(x) = -F(v) - log Z + rbm_ll_offset, averaged */
        double off = rbm_ll_offset(m);
        e->ll_train = -rbm_eval_free_energy(t->ev, n, v, NULL) - e->log_z + off;
        if (vt && nt) e->ll_test = -rbm_eval_free_energy(t->ev, nt, vt, NULL) - e->log_z + off;
    }
    return LZ_OK;
}

/* e->best_epoch after epoch e->epoch: the exact held-out ll (else training
 * ll) against the best so far, *best_ll; the parameters into t->best when
 * kept */
static void track_best(const rbm_model *m, trainer *t, int have_test, rbm_epoch *e, double *best_ll)
{
    double ll = have_test ? e->ll_test : e->ll_train;
    if (isnan(ll)) return;
    if (e->best_epoch < 0 || ll > *best_ll) { /* strictly: the earliest of equals */
        *best_ll = ll;
        e->best_epoch = e->epoch;
        if (t->best) memcpy(t->best, m->mem, rbm_n_params(m) * sizeof *t->best);
    }
}

lz_status rbm_fit(rbm_model *m, const rbm_config *cfg_in, size_t n, const float *v, size_t nt,
                  const float *vt, rbm_epoch_fn cb, void *ctx, lz_error *err)
{
    rbm_config c = *cfg_in; /* the unset fields resolved */
    rbm_config_resolve(&c, n);
    const rbm_config *cfg = &c;
    if ((size_t)cfg->h != m->h)
        return lz_fail(err, LZ_EINVAL, "--hidden %d: the model has %zu hidden units", cfg->h, m->h);
    if (n < 1) return lz_fail(err, LZ_EINVAL, "training: no rows");
    if (cfg->visible != m->visible || (m->visible == RBM_VIS_GAUSSIAN && cfg->sigma != m->sigma))
        return lz_fail(err, LZ_EINVAL,
                       "training: the configuration's visible units (or sigmas) "
                       "are not the model's");
    lz_status st = rbm_config_check(cfg, m->d, err);
    if (st) return st;
    trainer t;
    if ((st = trainer_alloc(&t, m, cfg, n, v, nt, vt, err))) return st;
    double t0 = lz_now(), t_upd = 0, best_ll = NAN;
    long T = rbm_n_updates(n, cfg->batch, cfg->epochs), per_epoch = rbm_n_updates(n, cfg->batch, 1);
    int have_test = vt && nt;
    rbm_epoch e;
    memset(&e, 0, sizeof e);
    e.epoch = 0;
    e.best_epoch = -1;
    e.swap_rate = NAN;
    st = monitor(m, &t, n, v, nt, vt, &e, err);
    if (!st) track_best(m, &t, have_test, &e, &best_ll);
    e.seconds = lz_now() - t0;
    if (!st && cb && cb(&e, ctx)) st = lz_fail(err, LZ_ESTOP, "training stopped at epoch 0");
    for (int ep = 1; !st && ep <= cfg->epochs; ep++) {
        double tu = lz_now();
        lz_rng_perm(t.ord, n, t.order);
        train_epoch(m, cfg, &t, n, v, ep == 1, (long)(ep - 1) * per_epoch, T);
        t_upd += lz_now() - tu;
        e.swap_rate = swap_rate(&t);
        if (!params_finite(m)) {
            st = lz_fail(err, LZ_ENUMERIC,
                         "training diverged in epoch %d: the weights are no longer finite "
                         "(lower --lr %g)",
                         ep, cfg->lr);
            break;
        }
        e.epoch = ep;
        st = monitor(m, &t, n, v, nt, vt, &e, err);
        if (!st) track_best(m, &t, have_test, &e, &best_ll);
        e.seconds = lz_now() - t0;
        e.update_seconds = t_upd;
        if (!st && cb && cb(&e, ctx))
            st = lz_fail(err, LZ_ESTOP, "training stopped at epoch %d", ep);
    }
    if (!st && t.best && e.best_epoch >= 0) /* --keep-best: the best epoch's model */
        memcpy(m->mem, t.best, rbm_n_params(m) * sizeof *m->mem);
    trainer_free(&t);
    return st;
}
