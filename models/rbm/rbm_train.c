/* rbm_train.c -- training the RBM by CD-k / PCD-k: the learning-rate
 * schedule, the negative chains, one update as the lecture's pseudocode
 * (rbm_cd_step_ref) and as the fast kernel (rbm_cd_step), and the epochs
 * with their monitoring (rbm_fit).  It calls rbm_model.c and, to monitor,
 * rbm_eval.c (the graph of calls: rbm.h).  Formulas: docs/rbm.md,
 * "Equations and the functions that compute them" and "Training".
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
    if (c->rng)
        for (size_t i = 0; i < c->n; i++) gsl_rng_free(c->rng[i]);
    free(c->rng);
    free(c->bits);
    free(c->hs);
    free(c);
}

/* n chains of h units with their arrays, the streams not yet made */
static rbm_chains *chains_new(size_t n, size_t h)
{
    rbm_chains *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->n = n;
    c->h = h;
    c->hs = calloc(n * h > 0 ? n * h : 1, sizeof *c->hs);
    c->rng = calloc(n ? n : 1, sizeof *c->rng);
    c->bits = calloc(n ? n : 1, sizeof *c->bits);
    if (!c->hs || !c->rng || !c->bits) {
        rbm_chains_free(c);
        return NULL;
    }
    return c;
}

rbm_chains *rbm_chains_alloc(size_t n, size_t h, unsigned long seed)
{
    rbm_chains *c = chains_new(n, h);
    for (size_t i = 0; c && i < n; i++) {
        if (!(c->rng[i] = lz_rng_alloc_stream(seed, RBM_STREAM_CHAIN + i))) {
            rbm_chains_free(c);
            return NULL;
        }
        c->bits[i] = rbm_bits_of(c->rng[i]);
    }
    return c;
}

rbm_chains *rbm_chains_copy(const rbm_chains *src)
{
    rbm_chains *c = chains_new(src->n, src->h);
    if (!c) return NULL;
    memcpy(c->hs, src->hs, src->n * src->h * sizeof *c->hs);
    for (size_t i = 0; i < src->n; i++) {
        if (!(c->rng[i] = gsl_rng_clone(src->rng[i]))) {
            rbm_chains_free(c);
            return NULL;
        }
        c->bits[i] = src->bits[i]; /* the unused bits too */
        c->bits[i].state = c->rng[i]->state;
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
    if (ch->n < mb || (cfg->pcd && start && ch->n != mb))
        return lz_fail(err, LZ_EINVAL,
                       "CD step: %zu chains for a minibatch of %zu rows: expected at least as "
                       "many (as many when PCD's chains start at the data)", ch->n, mb);
    return LZ_OK;
}

/* ---------------------------------------------------------------------- */
/* the reference step: the lecture's pseudocode, one row at a time */

/* p (h) <- p(h_j = 1 | v) = sigm(b_j + W_j. v): the activation summed in
 * double, rounded to float, then the training step's float sigmoid */
static void ref_hidden(const rbm_model *m, const float *v, float *p)
{
    size_t d = m->d, h = m->h;
    for (size_t j = 0; j < h; j++) {
        double a = m->b[j];
        for (size_t i = 0; i < d; i++) a += (double)m->w[j * d + i] * v[i];
        p[j] = rbm_sigm_f((float)a);
    }
}

/* p (d) <- p(v_i = 1 | h) = sigm(c_i + W_.i^T h), likewise */
static void ref_visible(const rbm_model *m, const float *hs, float *p)
{
    size_t d = m->d, h = m->h;
    for (size_t i = 0; i < d; i++) {
        double a = m->c[i];
        for (size_t j = 0; j < h; j++) a += (double)m->w[j * d + i] * hs[j];
        p[i] = rbm_sigm_f((float)a);
    }
}

lz_status rbm_cd_step_ref(rbm_model *m, float *vel, const rbm_config *cfg, double lr, size_t mb,
                          const float *x, rbm_chains *ch, int start, lz_error *err)
{
    lz_status st = check_step(m, cfg, mb, ch, start, err);
    if (st) return st;
    size_t d = m->d, h = m->h, np = rbm_n_params(m);
    size_t mc = cfg->pcd ? ch->n : mb; /* CD: one chain a row, from that row */
    int k = cfg->cd_steps;
    double *g = calloc(np, sizeof *g); /* (np) G in the layout of m->mem */
    float *hx = malloc(h * sizeof *hx); /* (h) h(.) = p(h = 1 | .) */
    float *xt = malloc(d * sizeof *xt); /* (d) x~ */
    if (!g || !hx || !xt) {
        free(g);
        free(hx);
        free(xt);
        return lz_fail(err, LZ_ENOMEM, "CD step (d = %zu, H = %zu): out of memory", d, h);
    }
    double *gw = g, *gb = g + h * d, *gc = gb + h; /* (h, d), (h), (d) */
    /* G += (1/mb) [h(x) x^T; h(x); x] for every row x of the minibatch */
    for (size_t r = 0; r < mb; r++) {
        const float *xr = x + r * d;
        ref_hidden(m, xr, hx);
        for (size_t j = 0; j < h; j++) {
            for (size_t i = 0; i < d; i++) gw[j * d + i] += (double)hx[j] * xr[i] / (double)mb;
            gb[j] += (double)hx[j] / (double)mb;
        }
        for (size_t i = 0; i < d; i++) gc[i] += (double)xr[i] / (double)mb;
    }
    /* every chain: k Gibbs steps to x~, then G -= (1/mc) [h(x~) x~^T; h(x~); x~] */
    for (size_t c = 0; c < mc; c++) {
        float *hc = ch->hs + c * h; /* (h) the chain's hidden state */
        rbm_bits *bits = &ch->bits[c];
        if (!cfg->pcd || start) { /* from the data row c: h ~ p(h | x) */
            ref_hidden(m, x + c * d, hx);
            for (size_t j = 0; j < h; j++) hc[j] = (float)rbm_bern(bits, hx[j]);
        }
        for (int s = 1; s <= k; s++) {
            ref_visible(m, hc, xt); /* x~ ~ p(v | h) */
            for (size_t i = 0; i < d; i++) xt[i] = (float)rbm_bern(bits, xt[i]);
            ref_hidden(m, xt, hx); /* h(x~) */
            if (s < k || cfg->pcd) /* the next step's h; PCD: the chain moves on */
                for (size_t j = 0; j < h; j++) hc[j] = (float)rbm_bern(bits, hx[j]);
        }
        for (size_t j = 0; j < h; j++) {
            for (size_t i = 0; i < d; i++) gw[j * d + i] -= (double)hx[j] * xt[i] / (double)mc;
            gb[j] -= (double)hx[j] / (double)mc;
        }
        for (size_t i = 0; i < d; i++) gc[i] -= (double)xt[i] / (double)mc;
    }
    /* vel <- mu vel + alpha (G - lambda [W; 0; 0]),  theta <- theta + vel;
     * mu = lambda = 0: theta <- theta + alpha G */
    double mu = cfg->momentum, lambda = cfg->weight_decay;
    int plain = mu == 0 && lambda == 0;
    for (size_t q = 0; q < np; q++) {
        double gq = g[q] - (q < h * d ? lambda * (double)m->mem[q] : 0.0);
        double u = plain ? lr * gq : mu * (double)vel[q] + lr * gq;
        if (!plain) vel[q] = (float)u;
        m->mem[q] = (float)((double)m->mem[q] + u);
    }
    free(g);
    free(hx);
    free(xt);
    return LZ_OK;
}

/* ---------------------------------------------------------------------- */
/* the fast kernel */

/* The parameter update from a stack of rows, restricted to the rows
 * [j0, j1) of W and b and the entries [i0, i1) of c so that threads can
 * share it out.  Row r of the stack has visible states V_r and hidden
 * probabilities P_r already multiplied by its sign s_r (1 for the data,
 * -mb/mc for the chains), so
 *   W (or vel_W) += a0 P^T V   (one sgemm, K = the stack's rows),
 *   b += a0 sum_r P_r,   c += a0 sum_r s_r V_r,   a0 = alpha / mb,
 * which is alpha ((1/mb) h(x)^T x - (1/mc) h(x~)^T x~) etc. of
 * rbm_cd_step_ref.  acc (h + d) doubles of scratch, of which [j0, j1) and
 * h + [i0, i1) are used. */
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
    if (j1 > j0 && nr) /* W (or vel_W) += a0 P^T V   (the pseudocode's h(x) x^T - h(x~) x~^T) */
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
    /* b += alpha (mean h(x) - mean h(x~));  c += alpha (mean x - mean x~)  (or into vel) */
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

/* The rows of one update live in one stack, a segment a thread: thread t's
 * segment holds its minibatch rows, then its chains' rows, so that (PCD)
 * one sgemm computes p(h | .) of both and the update is one sgemm over the
 * whole stack. */
typedef struct {
    float *V;    /* (rows, d) visible rows: data, then the chains' x~     */
    float *P;    /* (rows, h) p(h | row), the chains' times their sign    */
    float *s;    /* (rows) the rows' signs: 1, or -mb/mc for a chain      */
    double *acc; /* (h + d) column sums of the update                     */
} cd_stack;

static void cd_stack_free(cd_stack *st)
{
    free(st->V);
    free(st->P);
    free(st->s);
    free(st->acc);
}

/* room for `rows` rows (a minibatch and its chains); LZ_ENOMEM */
static lz_status cd_stack_alloc(cd_stack *st, size_t rows, size_t d, size_t h)
{
    st->V = malloc(rows * d * sizeof *st->V);
    st->P = malloc(rows * h * sizeof *st->P);
    st->s = malloc(rows * sizeof *st->s);
    st->acc = malloc((h + d) * sizeof *st->acc);
    if (st->V && st->P && st->s && st->acc) return LZ_OK;
    cd_stack_free(st);
    memset(st, 0, sizeof *st);
    return LZ_ENOMEM;
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

/* Thread id of T's part of one CD-k / PCD-k update at rate lr on the
 * minibatch of rows idx[0 .. mb) of v (the pseudocode of rbm_cd_step_ref):
 * for the chains, h ~ p(h | x) (start: CD, PCD's first update) or the
 * persistent h (PCD); k times x~ ~ p(v | h), then p(h | x~) (sampled into h
 * except after the last step, PCD: always); then the update with
 * h(x) = p(h | x) and h(x~) = p(h | x~).  The thread owns fixed blocks of
 * minibatch rows and chains (phase A, its segment of the stack) and of the
 * rows of W (phase B); two barriers. */
static void cd_update_part(rbm_model *m, const rbm_config *cfg, double lr, float *vel,
                           const float *v, const size_t *idx, size_t mb, rbm_chains *ch,
                           int start, cd_stack *stk, int T, int id, ybarrier *bar)
{
    size_t d = m->d, h = m->h;
    int k = cfg->cd_steps;
    size_t mc = cfg->pcd ? ch->n : mb; /* the chains */
    size_t r0, r1, c0, c1, j0, j1, i0, i1;
    rbm_part(mb, T, id, &r0, &r1); /* minibatch rows of this thread */
    rbm_part(mc, T, id, &c0, &c1); /* its chains (the same rows when they start at x) */
    rbm_part(h, T, id, &j0, &j1);  /* its rows of W and b in the update */
    rbm_part(d, T, id, &i0, &i1);  /* its entries of c */
    size_t nd = r1 - r0, nc = c1 - c0;
    size_t a = r0 + c0;            /* its segment: data rows [a, a + nd), */
    size_t ac = a + nd;            /* chain rows [ac, ac + nc)            */
    float *Va = stk->V + a * d, *Pa = stk->P + a * h;
    float *Vc = stk->V + ac * d, *Pc = stk->P + ac * h, *hc = ch->hs + c0 * h;
    /* phase A: this thread's segment */
    lz_gather_f(d, v, idx + r0, nd, Va);
    if (!cfg->pcd || start) { /* the chains start at the data: h ~ p(h | x) */
        if (nd) rbm_hidden_f(m, nd, Va, Pa); /* (chains c0.. are rows r0.., nc = nd) */
        sample_chains(nd, h, Pa, hc, ch->bits + c0);
    }
    for (int s = 1; s <= k && nc; s++) { /* k CD steps */
        rbm_visible_f(m, nc, hc, Vc);
        sample_chains(nc, d, Vc, Vc, ch->bits + c0); /* x~ ~ p(v | h) */
        if (s == k && cfg->pcd) /* p(h | x) and p(h | x~) in one sgemm */
            rbm_hidden_f(m, nd + nc, Va, Pa);
        else
            rbm_hidden_f(m, nc, Vc, Pc);
        if (s < k || cfg->pcd) /* the next step's h; PCD: the chains move on */
            sample_chains(nc, h, Pc, hc, ch->bits + c0);
    }
    /* signs: data +1; chains -mb/mc, folded into their p(h | x~) */
    float sk = -(float)((double)mb / (double)mc);
    for (size_t r = a; r < ac; r++) stk->s[r] = 1.0f;
    for (size_t r = ac; r < ac + nc; r++) stk->s[r] = sk;
    for (size_t q = 0; q < nc * h; q++) Pc[q] *= sk;
    ybarrier_wait(bar);
    /* phase B: this thread's rows of W and b, entries of c, over the stack */
    update_rows(m, vel, lr, cfg->momentum, cfg->weight_decay, lr / (double)mb, mb + mc, stk->V,
                stk->P, stk->s, j0, j1, i0, i1, stk->acc);
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
    if (cd_stack_alloc(&stk, mb + mc, d, h) || !idx) {
        free(idx);
        return lz_fail(err, LZ_ENOMEM, "CD step (%zu rows, H = %zu): out of memory", mb, h);
    }
    for (size_t r = 0; r < mb; r++) idx[r] = r;
    int T = threads > 0 ? threads : cd_threads(mb, d, h, cfg->cd_steps);
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
    size_t mb;      /* rows of a full minibatch                              */
    cd_stack stk;   /* (2 mb) rows: a minibatch and its chains               */
    rbm_chains *ch; /* mb chains (PCD: persistent; CD: one a minibatch row)  */
    float *vel;     /* (n_params) momentum, the layout of rbm_model.mem       */
    float *best;    /* (n_params) the best epoch's parameters (--keep-best)   */
    size_t *order;  /* (n) this epoch's order of the rows                     */
    size_t nm, nmt; /* rows of the monitoring subsets                         */
    float *mon;     /* (nm, d) fixed subset of the training data              */
    float *mont;    /* (nmt, d) fixed subset of the test data                 */
    gsl_rng *ord;   /* the epochs' permutations                               */
    rbm_eval *ev;   /* double-precision workspace for the monitor             */
    int exact;      /* exact log-likelihood every epoch                       */
    int nthr;       /* threads of an update                                   */
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
    memset(t, 0, sizeof *t);
    t->mb = (size_t)cfg->batch < n ? (size_t)cfg->batch : n;
    t->exact = rbm_exact_every_epoch(d, h, cfg->exact_max_h);
    t->nthr = cd_threads(t->mb, d, h, cfg->cd_steps);
    int ok = !cd_stack_alloc(&t->stk, 2 * t->mb, d, h);
    t->ch = rbm_chains_alloc(t->mb, h, cfg->seed);
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

/* One epoch of CD-k / PCD-k updates over the rows of v in t->order, the
 * minibatch starting at row q0 of the order being update u0 + q0 / mb of
 * the run's n_upd (its rate rbm_lr_at); the chains start at the data in
 * every update (CD) or in the first of the run (PCD).  The threads stay in
 * one parallel region for the epoch, two barriers an update. */
static void train_epoch(rbm_model *m, const rbm_config *cfg, trainer *t, size_t n,
                        const float *v, int first_epoch, long u0, long n_upd)
{
    ybarrier bar;
    ybarrier_init(&bar);
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

lz_status rbm_fit(rbm_model *m, const rbm_config *cfg_in, size_t n, const float *v, size_t nt,
                  const float *vt, rbm_epoch_fn cb, void *ctx, lz_error *err)
{
    rbm_config c = *cfg_in; /* the unset fields resolved */
    rbm_config_resolve(&c, n);
    const rbm_config *cfg = &c;
    if ((size_t)cfg->h != m->h)
        return lz_fail(err, LZ_EINVAL, "--hidden %d: the model has %zu hidden units", cfg->h, m->h);
    if (n < 1) return lz_fail(err, LZ_EINVAL, "training: no rows");
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
