/* rbm.c -- the RBM's model, configuration, data preparation, training by
 * CD-k / PCD-k, and model files (SPEC section 4; seed 004, "CD-k:
 * pseudocode"; formulas in docs/rbm.md).
 *
 * Dimension letters: n samples, d visible, h hidden, m minibatch rows (and
 * chains).  Training runs in single precision: every product of a minibatch
 * with W is a cblas_sgemm.  Threads (rbm_set_threads): each OpenMP thread
 * owns fixed blocks of minibatch rows and chains, on which it calls
 * single-threaded sgemm, the sigmoids and the Bernoulli draws, then a block
 * of rows of W to update; each chain draws from its own GSL stream, so the
 * draws do not depend on the thread count.
 */
#include "rbm.h"

#include <math.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "lz_vmath.h"
#include "lz_blas.h" /* before any GSL header */
#include <gsl/gsl_rng.h>
#include <gsl/gsl_randist.h>

#include "lz_data.h"
#include "lz_out.h"
#include "lz_prob.h"
#include "rbm_impl.h"
#include "lz_model.h"
#include "lz_time.h"

/* ---------------------------------------------------------------------- */
/* the model */

rbm_model *rbm_alloc(size_t d, size_t h)
{
    rbm_model *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->d = d;
    m->h = h;
    m->mem = calloc(h * d + h + d, sizeof *m->mem);
    m->base = calloc(d, sizeof *m->base);
    if (!m->mem || !m->base) {
        rbm_free(m);
        return NULL;
    }
    m->w = m->mem;     /* (h, d) */
    m->b = m->w + h * d; /* (h)  */
    m->c = m->b + h;   /* (d)    */
    return m;
}

void rbm_free(rbm_model *m)
{
    if (!m) return;
    free(m->mem);
    free(m->base);
    free(m);
}

size_t rbm_n_params(const rbm_model *m) { return m->h * m->d + m->h + m->d; }

void rbm_set_base_rate(rbm_model *m, size_t n, const float *v)
{
    size_t d = m->d;
    for (size_t i = 0; i < d; i++) m->base[i] = 0;
    for (size_t r = 0; r < n; r++)
        for (size_t i = 0; i < d; i++) m->base[i] += v[r * d + i];
    for (size_t i = 0; i < d; i++) {
        /* p_i = (count_i + 1) / (n + 2);  base_i = log(p_i / (1 - p_i)) */
        double p = (m->base[i] + 1.0) / ((double)n + 2.0);
        m->base[i] = log(p) - log1p(-p);
    }
}

void rbm_init(rbm_model *m, double sd, unsigned long seed)
{
    gsl_rng *r = lz_rng_alloc_stream(seed, RBM_STREAM_INIT);
    size_t d = m->d, h = m->h;
    /* W_ji ~ N(0, sd^2); b = 0; c = base-rate log-odds (Hinton 2010, section 8) */
    for (size_t k = 0; k < h * d; k++)
        m->w[k] = r ? (float)gsl_ran_gaussian_ziggurat(r, sd) : 0.0f;
    for (size_t j = 0; j < h; j++) m->b[j] = 0;
    for (size_t i = 0; i < d; i++) m->c[i] = (float)m->base[i];
    gsl_rng_free(r);
}

/* ---------------------------------------------------------------------- */
/* configuration */

void rbm_config_defaults(rbm_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->h = 16;
    cfg->k = 1;
    cfg->pcd = 0;
    cfg->lr = LZ_UNSET_REAL; /* these four: per algorithm, rbm_config_resolve */
    cfg->momentum = LZ_UNSET_REAL;
    cfg->weight_decay = 0.0;
    cfg->batch = LZ_UNSET_INT;
    cfg->lr_decay = LZ_UNSET_INT;
    cfg->epochs = 30;
    cfg->keep_best = 0;
    cfg->init_sd = 0.01;
    cfg->monitor = 1000;
    cfg->exact_max_h = 20;
    cfg->ais_runs = 100;
    cfg->ais_steps = 10000;
    cfg->seed = 1;
}

rbm_algo_defaults rbm_algo_default(int pcd)
{
    /* docs/rbm.md, "Defaults": CD-1 as in Hinton's guide (2010); PCD as in
     * Tieleman (2008) and PyDeep: 100 chains, no momentum, the rate decaying
     * linearly to 0, and PyDeep's 0.01 on 60000 rows, spread so that an
     * epoch's rates add up to the same on any number of rows, up to 0.3
     * (above it PCD's chains fall behind on the digits) */
    rbm_algo_defaults cd = {0.1, 0.0, 0.5, 20, RBM_DECAY_NONE};
    rbm_algo_defaults pcd_d = {0.3, 6.0, 0.0, 100, RBM_DECAY_LINEAR};
    return pcd ? pcd_d : cd;
}

void rbm_config_resolve(rbm_config *cfg, size_t n)
{
    rbm_algo_defaults a = rbm_algo_default(cfg->pcd);
    if (lz_unset_real(cfg->momentum)) cfg->momentum = a.momentum;
    if (lz_unset_int(cfg->batch)) cfg->batch = a.batch;
    if (lz_unset_int(cfg->lr_decay)) cfg->lr_decay = a.lr_decay;
    if (lz_unset_real(cfg->lr) && a.epoch_lr > 0 && n > 0 && cfg->batch > 0) {
        /* alpha = epoch_lr M / n, at most lr: the rates of the n / M updates
         * of an epoch add up to epoch_lr */
        double m = (size_t)cfg->batch < n ? (double)cfg->batch : (double)n;
        double lr = a.epoch_lr * m / (double)n;
        cfg->lr = lr < a.lr ? lr : a.lr;
    } else if (lz_unset_real(cfg->lr) && !(a.epoch_lr > 0)) {
        cfg->lr = a.lr;
    }
}

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

lz_status rbm_check_config(const rbm_config *cfg, size_t d, lz_error *err)
{
    rbm_config cr = *cfg;
    rbm_config_resolve(&cr, 0);
    const rbm_config *c = &cr;
    if (c->h < 1 || c->h > 100000)
        return lz_fail(err, LZ_EINVAL, "--hidden %d: expected 1 <= H <= 100000", c->h);
    if (c->k < 1 || c->k > 100000)
        return lz_fail(err, LZ_EINVAL, "--cd %d: expected 1 <= K <= 100000 Gibbs steps", c->k);
    if (!lz_unset_real(c->lr) && (!(c->lr > 0) || c->lr > 100))
        return lz_fail(err, LZ_EINVAL, "--lr %g: expected a learning rate in (0, 100]", c->lr);
    if (c->momentum < 0 || c->momentum >= 1)
        return lz_fail(err, LZ_EINVAL, "--momentum %g: expected 0 <= mu < 1", c->momentum);
    if (c->weight_decay < 0 || c->weight_decay >= 1)
        return lz_fail(err, LZ_EINVAL, "--weight-decay %g: expected 0 <= lambda < 1",
                       c->weight_decay);
    if (c->batch < 1 || c->batch > 1000000)
        return lz_fail(err, LZ_EINVAL, "--batch %d: expected 1 <= M <= 1000000", c->batch);
    if (c->epochs < 0 || c->epochs > 1000000)
        return lz_fail(err, LZ_EINVAL, "--epochs %d: expected 0 <= E <= 1000000", c->epochs);
    if (!(c->init_sd >= 0) || c->init_sd > 10)
        return lz_fail(err, LZ_EINVAL, "initial weight sd %g: expected 0 <= sd <= 10", c->init_sd);
    if (c->exact_max_h < 0 || c->exact_max_h > 30)
        return lz_fail(err, LZ_EINVAL, "--exact-max-h %d: expected 0 <= N <= 30", c->exact_max_h);
    if (c->ais_runs < 2 || c->ais_runs > 1000000)
        return lz_fail(err, LZ_EINVAL, "--ais-runs %d: expected 2 <= R <= 1000000", c->ais_runs);
    if (c->ais_steps < 10 || c->ais_steps > 100000000)
        return lz_fail(err, LZ_EINVAL, "--ais-steps %d: expected 10 <= K <= 100000000",
                       c->ais_steps);
    if (c->monitor < 0 || c->monitor > 1000000)
        return lz_fail(err, LZ_EINVAL, "--monitor %d: expected 0 <= N <= 1000000", c->monitor);
    if (c->lr_decay != RBM_DECAY_NONE && c->lr_decay != RBM_DECAY_LINEAR)
        return lz_fail(err, LZ_EINVAL, "--lr-decay %d: expected none or linear", c->lr_decay);
    if (c->keep_best && d > 0 && !rbm_exact_every_epoch(d, (size_t)c->h, c->exact_max_h)) {
        size_t s = rbm_enum_size(d, (size_t)c->h);
        return lz_fail(err, LZ_EINVAL,
                       "--keep-best needs the exact log-likelihood of every epoch, and d = %zu, "
                       "H = %d gives it only when min(d, H) = %zu <= --exact-max-h %d and "
                       "2^min(d, H) max(d, H) <= 2^27: take fewer hidden units, or drop --keep-best",
                       d, c->h, s, c->exact_max_h);
    }
    return LZ_OK;
}

/* ---------------------------------------------------------------------- */
/* data preparation */

static lz_status bad_value(const lz_data *data, size_t row, size_t j, const rbm_prep *p,
                           double xmax, lz_error *err)
{
    char where[256], xs[32], ms[32];
    lz_data_where(data, row, j, where, sizeof where);
    double x = data->x[row * data->d + j], y = x / p->scale;
    /* values printed so that they read back exactly: --scale MAX then maps
     * every value to x / MAX <= 1 */
    lz_num_str(x, xs, sizeof xs);
    lz_num_str(xmax, ms, sizeof ms);
    if (y < 0)
        return lz_fail(err, LZ_EINVAL,
                       "%s: value %s is negative: the RBM needs binary data or grey levels "
                       "in [0, 1]; shift and rescale the data, e.g. (x - min) / (max - min)",
                       where, xs);
    if (y > 1)
        return lz_fail(err, LZ_EINVAL,
                       "%s: value %s%s is above 1: the RBM needs binary data or grey levels "
                       "in [0, 1]; divide by the data's maximum with --scale %s",
                       where, xs, p->scale != 1 ? " / --scale" : "", ms);
    char scaled[64] = "";
    if (p->scale != 1) snprintf(scaled, sizeof scaled, " (/ --scale %g = %g)", p->scale, y);
    return lz_fail(err, LZ_EINVAL,
                   "%s: value %s%s is not 0 or 1 (--binarize none): binarise grey levels "
                   "with --binarize threshold or --binarize sample",
                   where, xs, scaled);
}

lz_status rbm_prepare(const lz_data *data, const rbm_prep *p, unsigned long seed,
                      unsigned long stream, float *out, lz_error *err)
{
    size_t n = data->n, d = data->d;
    const double *x = data->x;
    if (!(p->scale > 0))
        return lz_fail(err, LZ_EINVAL, "--scale %g: expected a positive number", p->scale);
    if (!(p->threshold >= 0 && p->threshold < 1))
        return lz_fail(err, LZ_EINVAL, "--threshold %g: expected 0 <= T < 1", p->threshold);
    double xmax = 0;
    for (size_t k = 0; k < n * d; k++)
        if (x[k] > xmax) xmax = x[k];
    for (size_t k = 0; k < n * d; k++) {
        double y = x[k] / p->scale;
        if (!(y >= 0 && y <= 1) || (p->mode == RBM_BIN_NONE && y != 0 && y != 1))
            return bad_value(data, k / d, k % d, p, xmax, err);
    }
    gsl_rng *r = NULL;
    if (p->mode == RBM_BIN_SAMPLE && !(r = lz_rng_alloc_stream(seed, stream)))
        return lz_fail(err, LZ_ENOMEM, "%s: out of memory", data->path);
    for (size_t k = 0; k < n * d; k++) {
        double y = x[k] / p->scale;
        switch (p->mode) {
        case RBM_BIN_THRESHOLD: out[k] = y > p->threshold ? 1.0f : 0.0f; break;
        case RBM_BIN_SAMPLE: out[k] = gsl_rng_uniform(r) < y ? 1.0f : 0.0f; break;
        case RBM_BIN_NONE: out[k] = (float)y; break;
        }
    }
    gsl_rng_free(r);
    return LZ_OK;
}

/* ---------------------------------------------------------------------- */
/* single-precision building blocks of a training step */

/* e^x, vectorisable (common/lz_vmath.h) */
static inline float exp_f(float x) { return lz_vexpf(x); }

/* sigm(x) = 1 / (1 + e^-x) */
static inline float sigm_f(float x) { return 1.0f / (1.0f + exp_f(-x)); }

void rbm_hidden_f(const rbm_model *m, size_t n, const float *v, float *ph)
{
    size_t d = m->d, h = m->h;
    /* A_h <- V W^T  (n x d)(d x h) */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)h, (int)d, 1.0f, v, (int)d,
                m->w, (int)d, 0.0f, ph, (int)h);
    /* p(h_j = 1 | v) = sigm(b_j + W_j. v) */
    for (size_t r = 0; r < n; r++) {
        float *row = ph + r * h;
        for (size_t j = 0; j < h; j++) row[j] = sigm_f(row[j] + m->b[j]);
    }
}

void rbm_visible_f(const rbm_model *m, size_t n, const float *hs, float *pv)
{
    size_t d = m->d, h = m->h;
    /* A_v <- H W  (n x h)(h x d) */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)d, (int)h, 1.0f, hs,
                (int)h, m->w, (int)d, 0.0f, pv, (int)d);
    /* p(v_i = 1 | h) = sigm(c_i + W_.i^T h) */
    for (size_t r = 0; r < n; r++) {
        float *row = pv + r * d;
        for (size_t i = 0; i < d; i++) row[i] = sigm_f(row[i] + m->c[i]);
    }
}

/* The parameter update from a stack of rows (the kernel of rbm_apply_update
 * and of training), restricted to the rows [j0, j1) of W and b and the
 * entries [i0, i1) of c so that threads can share it out.  Row r of the
 * stack has visible states V_r and hidden probabilities P_r already
 * multiplied by its sign s_r (1 for the data, -n0/nk for the chains), so
 *   W (or vel_W) += a0 P^T V   (one sgemm, K = the stack's rows),
 *   b += a0 sum_r P_r,   c += a0 sum_r s_r V_r,   a0 = alpha / n0,
 * which is alpha ((1/n0) ph0^T v0 - (1/nk) phk^T vk) etc. of rbm_apply_update.
 * acc (h + d) doubles of scratch, of which [j0, j1) and h + [i0, i1) are used. */
static void update_rows(rbm_model *m, float *vel, double lr, double momentum, double weight_decay,
                        double a0, size_t nr, const float *V, const float *P, const float *s,
                        size_t j0, size_t j1, size_t i0, size_t i1, double *acc)
{
    size_t d = m->d, h = m->h;
    int plain = momentum == 0 && weight_decay == 0;
    float mu = (float)momentum, dec = (float)(lr * weight_decay);
    float *vw = vel, *vb = vel + h * d, *vc = vb + h; /* the layout of m->mem */
    float *gw = plain ? m->w : vw;                   /* where the W gradient goes */
    if (!plain) /* vel_W <- mu vel_W - alpha lambda W */
        for (size_t k = j0 * d; k < j1 * d; k++) vw[k] = mu * vw[k] - dec * m->w[k];
    if (j1 > j0 && nr) /* W (or vel_W) += a0 P^T V   (seed, CD-k pseudocode) */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)(j1 - j0), (int)d, (int)nr,
                    (float)a0, P + j0, (int)h, V, (int)d, 1.0f, gw + j0 * d, (int)d);
    /* column sums in double, row by row: sb = sum_r P_r, sc = sum_r s_r V_r */
    double *sb = acc, *sc = acc + h;
    for (size_t j = j0; j < j1; j++) sb[j] = 0;
    for (size_t i = i0; i < i1; i++) sc[i] = 0;
    for (size_t r = 0; r < nr; r++) {
        const float *pr = P + r * h, *vr = V + r * d;
        double sr = s[r];
        for (size_t j = j0; j < j1; j++) sb[j] += pr[j];
        for (size_t i = i0; i < i1; i++) sc[i] += sr * vr[i];
    }
    /* b += alpha (mean ph0 - mean phk);  c += alpha (mean v0 - mean vk)  (or into vel) */
    for (size_t j = j0; j < j1; j++) {
        float g = (float)(a0 * sb[j]);
        if (plain) m->b[j] += g;
        else vb[j] = mu * vb[j] + g;
    }
    for (size_t i = i0; i < i1; i++) {
        float g = (float)(a0 * sc[i]);
        if (plain) m->c[i] += g;
        else vc[i] = mu * vc[i] + g;
    }
    if (!plain) { /* theta <- theta + vel */
        for (size_t k = j0 * d; k < j1 * d; k++) m->w[k] += vw[k];
        for (size_t j = j0; j < j1; j++) m->b[j] += vb[j];
        for (size_t i = i0; i < i1; i++) m->c[i] += vc[i];
    }
}

void rbm_apply_update(rbm_model *m, float *vel, double lr, double momentum, double weight_decay,
                      size_t n0, const float *v0, const float *ph0, size_t nk, const float *vk,
                      const float *phk)
{
    size_t d = m->d, h = m->h, nr = n0 + nk;
    float *V = malloc(nr * d * sizeof *V), *P = malloc(nr * h * sizeof *P);
    float *s = malloc(nr * sizeof *s);
    double *acc = malloc((h + d) * sizeof *acc);
    if (V && P && s && acc) {
        float sk = -(float)((double)n0 / (double)nk);
        memcpy(V, v0, n0 * d * sizeof *V);
        memcpy(V + n0 * d, vk, nk * d * sizeof *V);
        memcpy(P, ph0, n0 * h * sizeof *P);
        for (size_t k = 0; k < nk * h; k++) P[n0 * h + k] = sk * phk[k];
        for (size_t r = 0; r < nr; r++) s[r] = r < n0 ? 1.0f : sk;
        update_rows(m, vel, lr, momentum, weight_decay, lr / (double)n0, nr, V, P, s, 0, h, 0, d,
                    acc);
    }
    free(V);
    free(P);
    free(s);
    free(acc);
}

/* ---------------------------------------------------------------------- */
/* training */

int rbm_exact_every_epoch(size_t d, size_t h, int exact_max_h)
{
    size_t s = rbm_enum_size(d, h), o = d > h ? d : h;
    if (s > (size_t)exact_max_h || s >= 40) return 0;
    return ((size_t)1 << s) <= RBM_EXACT_EPOCH_COST / o;
}

/* The rows of one minibatch update live in one stack, a segment a thread:
 * thread t's segment holds its minibatch rows, then its chains' rows, so
 * that (PCD) one sgemm computes p(h | .) of both and the update is one sgemm
 * over the whole stack.  seg (T + 1): segment t is rows [seg[t], seg[t+1]). */
typedef struct {
    size_t mb;      /* rows of a full minibatch                              */
    size_t mc;      /* chains (PCD: persistent; CD: one a minibatch row)      */
    size_t ns;      /* rows of the stack: mb + mc                             */
    float *V;       /* (ns, d) visible rows: data, then the chains' x~        */
    float *P;       /* (ns, h) p(h | row), the chains' times their sign       */
    float *s;       /* (ns) the rows' signs: 1, or -n0/nk for a chain         */
    float *hs;      /* (mc, h) the chains' hidden samples (PCD: persistent)   */
    float *vel;     /* (n_params) momentum, the layout of rbm_model.mem       */
    float *best;    /* (n_params) the best epoch's parameters (--keep-best)   */
    double *acc;    /* (h + d) column sums of the update                      */
    size_t *order;  /* (n) this epoch's order of the rows                     */
    size_t nm, nmt; /* rows of the monitoring subsets                         */
    float *mon;     /* (nm, d) fixed subset of the training data              */
    float *mont;    /* (nmt, d) fixed subset of the test data                 */
    gsl_rng **rng;  /* (mc) one stream a chain                                */
    rbm_bits *bits; /* (mc) the chains' bit sources over rng                  */
    gsl_rng *ord;   /* the epochs' permutations                               */
    rbm_eval *ev;   /* double-precision workspace for the monitor             */
    int exact;      /* exact log-likelihood every epoch                       */
    int nthr;       /* threads of an update                                   */
} trainer;

static void trainer_free(trainer *t)
{
    free(t->V);
    free(t->P);
    free(t->s);
    free(t->hs);
    free(t->vel);
    free(t->best);
    free(t->acc);
    free(t->order);
    free(t->mon);
    free(t->mont);
    if (t->rng)
        for (size_t i = 0; i < t->mc; i++) gsl_rng_free(t->rng[i]);
    free(t->rng);
    free(t->bits);
    gsl_rng_free(t->ord);
    rbm_eval_free(t->ev);
}

/* rows idx[0..k) of x (n, d) into out (k, d) */
static void gather_rows(size_t d, const float *x, const size_t *idx, size_t k, float *out)
{
    for (size_t r = 0; r < k; r++) memcpy(out + r * d, x + idx[r] * d, d * sizeof *out);
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
    gather_rows(d, x, idx, k, out);
    free(idx);
    return out;
}

static lz_status trainer_alloc(trainer *t, const rbm_model *m, const rbm_config *cfg, size_t n,
                               const float *v, size_t nt, const float *vt, lz_error *err)
{
    size_t d = m->d, h = m->h;
    memset(t, 0, sizeof *t);
    t->mb = (size_t)cfg->batch < n ? (size_t)cfg->batch : n;
    t->mc = t->mb;
    t->ns = t->mb + t->mc;
    t->exact = rbm_exact_every_epoch(d, h, cfg->exact_max_h);
    t->nthr = rbm_threads_for((double)t->mb * (double)d * (double)h * (2.0 * cfg->k + 3.0));
    if ((size_t)t->nthr > t->mb) t->nthr = (int)t->mb;
    t->V = malloc(t->ns * d * sizeof *t->V);
    t->P = malloc(t->ns * h * sizeof *t->P);
    t->s = malloc(t->ns * sizeof *t->s);
    t->hs = malloc(t->mc * h * sizeof *t->hs);
    t->vel = calloc(rbm_n_params(m), sizeof *t->vel);
    t->acc = malloc((h + d) * sizeof *t->acc);
    t->order = malloc(n * sizeof *t->order);
    t->rng = calloc(t->mc, sizeof *t->rng);
    t->bits = calloc(t->mc, sizeof *t->bits);
    t->ord = lz_rng_alloc_stream(cfg->seed, RBM_STREAM_ORDER);
    if (cfg->keep_best) t->best = malloc(rbm_n_params(m) * sizeof *t->best);
    int ok = t->V && t->P && t->s && t->hs && t->vel && t->acc && t->order && t->rng && t->bits &&
             t->ord && (t->best || !cfg->keep_best);
    for (size_t i = 0; ok && i < t->mc; i++)
        if ((ok = (t->rng[i] = lz_rng_alloc_stream(cfg->seed, RBM_STREAM_CHAIN + i)) != NULL))
            t->bits[i] = rbm_bits_of(t->rng[i]);
    if (ok) {
        gsl_rng *g = lz_rng_alloc_stream(cfg->seed, RBM_STREAM_MONITOR);
        ok = g != NULL;
        if (ok && cfg->monitor) {
            ok = (t->mon = monitor_subset(n, d, v, (size_t)cfg->monitor, g, &t->nm)) != NULL;
            if (ok && vt && nt)
                ok = (t->mont = monitor_subset(nt, d, vt, (size_t)cfg->monitor, g, &t->nmt)) != NULL;
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

/* A barrier for the threads of an epoch that yields the processor while it
 * waits.  (OpenMP's barrier spins before it sleeps: on a machine busier than
 * its cores the spinning thread takes the core its partner needs, and an
 * update, which has two barriers, can cost a scheduler time slice.) */
typedef struct {
    atomic_uint count; /* threads arrived in this round  */
    atomic_uint gen;   /* rounds completed               */
    unsigned n;        /* threads                        */
} ybarrier;

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

/* One epoch of CD-k / PCD-k updates over the rows of v in t->order (seed,
 * "CD-k: pseudocode"): for each minibatch x, h ~ p(h | x) (CD) or the
 * persistent h (PCD); k times x~ ~ p(v | h), then p(h | x~) (sampled into h
 * except after the last step); then the update with h(x) = p(h | x) and
 * h(x~) = p(h | x~), at the rate rbm_lr_at(t) of its number t = u0, u0 + 1,
 * ... among the n_upd updates of the run.  Each thread owns fixed blocks of
 * minibatch rows and chains (phase A, its segment of the stack) and of the
 * rows of W (phase B); two barriers an update. */
static void train_epoch(rbm_model *m, const rbm_config *cfg, trainer *t, size_t n,
                        const float *v, int first_epoch, long u0, long n_upd)
{
    size_t d = m->d, h = m->h;
    int T = t->nthr;
    ybarrier bar;
    atomic_init(&bar.count, 0);
    atomic_init(&bar.gen, 0);
    bar.n = (unsigned)T;
#pragma omp parallel num_threads(T)
    {
        int id = omp_get_thread_num();
        for (size_t q0 = 0; q0 < n; q0 += t->mb) {
            size_t mb = n - q0 < t->mb ? n - q0 : t->mb; /* this minibatch's rows */
            size_t mc = cfg->pcd ? t->mc : mb;            /* its chains          */
            int first = first_epoch && q0 == 0;
            size_t r0, r1, c0, c1, j0, j1, i0, i1;
            rbm_part(mb, T, id, &r0, &r1); /* minibatch rows of this thread */
            rbm_part(mc, T, id, &c0, &c1); /* its chains (the same rows when they start at x) */
            rbm_part(h, T, id, &j0, &j1);  /* its rows of W and b in the update */
            rbm_part(d, T, id, &i0, &i1);  /* its entries of c */
            size_t nd = r1 - r0, nc = c1 - c0;
            size_t a = r0 + c0;            /* its segment: data rows [a, a + nd), */
            size_t ac = a + nd;            /* chain rows [ac, ac + nc)            */
            float *Va = t->V + a * d, *Pa = t->P + a * h;
            float *Vc = t->V + ac * d, *Pc = t->P + ac * h, *hc = t->hs + c0 * h;
            /* phase A: this thread's segment */
            gather_rows(d, v, t->order + q0 + r0, nd, Va);
            if (!cfg->pcd || first) { /* the chains start at the data: h ~ p(h | x) */
                if (nd) rbm_hidden_f(m, nd, Va, Pa); /* (chains c0.. are rows r0.., nc = nd) */
                sample_chains(nd, h, Pa, hc, t->bits + c0);
            }
            for (int s = 1; s <= cfg->k && nc; s++) {
                rbm_visible_f(m, nc, hc, Vc);
                sample_chains(nc, d, Vc, Vc, t->bits + c0); /* x~ ~ p(v | h) */
                if (s == cfg->k && cfg->pcd) /* p(h | x) and p(h | x~) in one sgemm */
                    rbm_hidden_f(m, nd + nc, Va, Pa);
                else
                    rbm_hidden_f(m, nc, Vc, Pc);
                if (s < cfg->k || cfg->pcd) /* the next step's h; PCD: the chains move on */
                    sample_chains(nc, h, Pc, hc, t->bits + c0);
            }
            /* signs: data +1; chains -n0/nk, folded into their p(h | x~) */
            float sk = -(float)((double)mb / (double)mc);
            for (size_t r = a; r < ac; r++) t->s[r] = 1.0f;
            for (size_t r = ac; r < ac + nc; r++) t->s[r] = sk;
            for (size_t k = 0; k < nc * h; k++) Pc[k] *= sk;
            ybarrier_wait(&bar);
            /* phase B: this thread's rows of W and b, entries of c, over the stack,
             * at alpha_u of update u (rbm_lr_at) */
            double lr = rbm_lr_at(cfg->lr, cfg->lr_decay, u0 + (long)(q0 / t->mb), n_upd);
            update_rows(m, t->vel, lr, cfg->momentum, cfg->weight_decay, lr / (double)mb,
                        mb + mc, t->V, t->P, t->s, j0, j1, i0, i1, t->acc);
            ybarrier_wait(&bar);
        }
    }
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
        /* log p(v) = -F(v) - log Z, averaged */
        e->ll_train = -rbm_eval_free_energy(t->ev, n, v, NULL) - e->log_z;
        if (vt && nt) e->ll_test = -rbm_eval_free_energy(t->ev, nt, vt, NULL) - e->log_z;
    }
    return LZ_OK;
}

/* e->best_epoch after epoch e->epoch: the exact held-out ll (else training
 * ll) against the best so far, *best_ll; the parameters into t->best when
 * kept */
static void track_best(const rbm_model *m, trainer *t, int have_test, rbm_epoch *e,
                       double *best_ll)
{
    double ll = have_test ? e->ll_test : e->ll_train;
    if (isnan(ll)) return;
    if (e->best_epoch < 0 || ll > *best_ll) { /* strictly: the earliest of equals */
        *best_ll = ll;
        e->best_epoch = e->epoch;
        if (t->best) memcpy(t->best, m->mem, rbm_n_params(m) * sizeof *t->best);
    }
}

lz_status rbm_train(rbm_model *m, const rbm_config *cfg_in, size_t n, const float *v, size_t nt,
                    const float *vt, rbm_epoch_fn cb, void *ctx, lz_error *err)
{
    rbm_config c = *cfg_in; /* the unset fields resolved */
    rbm_config_resolve(&c, n);
    const rbm_config *cfg = &c;
    if ((size_t)cfg->h != m->h)
        return lz_fail(err, LZ_EINVAL, "--hidden %d: the model has %zu hidden units", cfg->h, m->h);
    if (n < 1) return lz_fail(err, LZ_EINVAL, "training: no rows");
    lz_status st = rbm_check_config(cfg, m->d, err);
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
    st = monitor(m, &t, n, v, nt, vt, &e, err);
    if (!st) track_best(m, &t, have_test, &e, &best_ll);
    e.seconds = lz_now() - t0;
    if (!st && cb && cb(&e, ctx)) st = lz_fail(err, LZ_ESTOP, "training stopped at epoch 0");
    for (int ep = 1; !st && ep <= cfg->epochs; ep++) {
        double tu = lz_now();
        lz_rng_perm(t.ord, n, t.order);
        train_epoch(m, cfg, &t, n, v, ep == 1, (long)(ep - 1) * per_epoch, T);
        t_upd += lz_now() - tu;
        if (!params_finite(m)) {
            st = lz_fail(err, LZ_ENUMERIC,
                         "training diverged in epoch %d: the weights are no longer finite "
                         "(lower --lr %g)", ep, cfg->lr);
            break;
        }
        e.epoch = ep;
        st = monitor(m, &t, n, v, nt, vt, &e, err);
        if (!st) track_best(m, &t, have_test, &e, &best_ll);
        e.seconds = lz_now() - t0;
        e.update_seconds = t_upd;
        if (!st && cb && cb(&e, ctx)) st = lz_fail(err, LZ_ESTOP, "training stopped at epoch %d", ep);
    }
    if (!st && t.best && e.best_epoch >= 0) /* --keep-best: the best epoch's model */
        memcpy(m->mem, t.best, rbm_n_params(m) * sizeof *m->mem);
    trainer_free(&t);
    return st;
}

/* ---------------------------------------------------------------------- */
/* model files */

static const char *bin_name[] = {"threshold", "sample", "none"};

void rbm_save(FILE *f, const rbm_model *m, const rbm_prep *p, int k, int pcd)
{
    lz_model_begin(f, "rbm", 1);
    lz_model_put_int(f, "d", (long)m->d);
    lz_model_put_int(f, "h", (long)m->h);
    lz_model_put_int(f, "cd_k", k);
    lz_model_put_int(f, "pcd", pcd);
    lz_model_put_str(f, "binarize", bin_name[p->mode]);
    lz_model_put_real(f, "threshold", p->threshold);
    lz_model_put_real(f, "scale", p->scale);
    lz_model_put_arrayf(f, "W", m->h, m->d, m->w);
    lz_model_put_arrayf(f, "b", 1, m->h, m->b);
    lz_model_put_arrayf(f, "c", 1, m->d, m->c);
    lz_model_put_array(f, "base", 1, m->d, m->base);
    lz_model_end(f);
}

lz_status rbm_load(const char *path, rbm_model **out, rbm_prep *p, int *k, int *pcd,
                   lz_error *err)
{
    *out = NULL;
    lz_model *f = NULL;
    lz_status st = lz_model_read(path, "rbm", 1, &f, err);
    if (st) return st;
    long d = 0, h = 0, kk = 0, pp = 0;
    const char *bin = NULL;
    rbm_model *m = NULL;
    /* every entry, with its shape, before the model is allocated: the
     * allocation is then bounded by what the file holds */
    if ((st = lz_model_get_int_range(f, "d", 1, 100000000, &d, err)) ||
        (st = lz_model_get_int_range(f, "h", 1, 100000, &h, err)) ||
        (st = lz_model_get_int_range(f, "cd_k", 1, 100000, &kk, err)) ||
        (st = lz_model_get_int_range(f, "pcd", 0, 1, &pp, err)) ||
        (st = lz_model_get_str(f, "binarize", &bin, err)) ||
        (st = lz_model_get_real(f, "threshold", &p->threshold, err)) ||
        (st = lz_model_get_real(f, "scale", &p->scale, err)))
        goto done;
    int mode = -1;
    for (int i = 0; i < 3; i++)
        if (!strcmp(bin, bin_name[i])) mode = i;
    if (mode < 0 || !(p->scale > 0) || !(p->threshold >= 0 && p->threshold < 1)) {
        st = lz_fail(err, LZ_EFORMAT,
                     "%s:%zu: binarize %s, threshold %g, scale %g: expected threshold|sample|none, "
                     "0 <= threshold < 1, scale > 0", path, lz_model_line(f, "binarize"), bin,
                     p->threshold, p->scale);
        goto done;
    }
    if ((st = lz_model_check_array(f, "W", (size_t)h, (size_t)d, err)) ||
        (st = lz_model_check_array(f, "b", 1, (size_t)h, err)) ||
        (st = lz_model_check_array(f, "c", 1, (size_t)d, err)) ||
        (st = lz_model_check_array(f, "base", 1, (size_t)d, err)))
        goto done;
    p->mode = (rbm_binarize)mode;
    *k = (int)kk;
    *pcd = (int)pp;
    if (!(m = rbm_alloc((size_t)d, (size_t)h))) {
        st = lz_fail(err, LZ_ENOMEM, "%s: out of memory", path);
        goto done;
    }
    /* values: finite, the weights within a float's range */
    if ((st = lz_model_get_arrayf(f, "W", m->h, m->d, m->w, err)) ||
        (st = lz_model_get_arrayf(f, "b", 1, m->h, m->b, err)) ||
        (st = lz_model_get_arrayf(f, "c", 1, m->d, m->c, err)) ||
        (st = lz_model_get_array(f, "base", 1, m->d, m->base, err)))
        goto done;
done:
    lz_model_free(f);
    if (st) rbm_free(m);
    else *out = m;
    return st;
}
