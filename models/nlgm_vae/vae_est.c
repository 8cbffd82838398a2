/* vae_est.c -- the pieces of the VAE's gradient estimators and objectives
 * that are not the reparameterised network (see vae.h; docs/vae.md,
 * "Gradient estimators" and "Objectives"):
 *   - the score-function (REINFORCE) gradient of the encoder's heads,
 *     (nll - b) grad log Q(z | x) (Rios's "Score function estimator");
 *   - the IWAE bound's importance weights and their gradient (Burda, Grosse
 *     and Salakhutdinov 2015);
 *   - the baselines b of the score function: NVIL's running mean and its
 *     input-dependent network (Mnih and Gregor 2014).
 * Calls the layers (vae_layers.c) and the parameter allocation and Adam of
 * vae_model.c; vae.c calls this file.
 *
 * Dimension letters: m data rows, L (or K) samples of z per datum, decoder
 * row l m + i is sample l of datum i, k latent, d data, h hidden units of
 * the baseline network.
 */
#include "vae.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_rng.h>

#include "lz_prob.h"
#include "vae_impl.h"

/* ------------------------------------------------------------------ */
/* the score function (docs/vae.md, "Gradient estimators") */

void vae_score_backward(vae_real *dhead, const double *nll, const double *base,
                        const vae_real *head, const vae_real *eps, size_t m, size_t L, size_t k,
                        double dloss)
{
    for (size_t l = 0; l < L; l++)
        for (size_t i = 0; i < m; i++) {
            const vae_real *lv = head + i * 2 * k + k;
            const vae_real *e = eps + (l * m + i) * k;
            vae_real *dmu = dhead + i * 2 * k, *dlv = dmu + k;
            /* the centred learning signal, times the row's weight */
            double g = dloss * (nll[l * m + i] - (base ? base[i] : 0));
            for (size_t j = 0; j < k; j++) {
                /* log Q = -1/2 sum_j (log 2 pi + lv_j + (z_j - mu_j)^2 e^-lv_j),
                 * z = mu + sigma eps:
                 *   d/dmu_j = (z_j - mu_j) / sigma_j^2 = eps_j / sigma_j;
                 *   d/dlv_j = ((z_j - mu_j)^2 / sigma_j^2 - 1) / 2 = (eps_j^2 - 1) / 2 */
                double ej = e[j];
                dmu[j] += (vae_real)(g * ej * exp(-0.5 * (double)lv[j]));
                dlv[j] += (vae_real)(g * 0.5 * (ej * ej - 1));
            }
        }
}

/* ------------------------------------------------------------------ */
/* the IWAE bound (docs/vae.md, "The IWAE bound") */

void vae_iwae_forward(double *lw, double *wt, double *gap, const double *nll, const vae_real *z,
                      const vae_real *eps, const vae_real *head, size_t m, size_t K, size_t k)
{
    for (size_t r = 0; r < K * m; r++) {
        const vae_real *zr = z + r * k, *e = eps + r * k;
        const vae_real *lv = head + (r % m) * 2 * k + k;
        /* log w = log p(x | z) + log N(z; 0, I) - log Q(z | x), with
         * (z - mu)^2 / sigma^2 = eps^2: -nll - 1/2 sum_j (z_j^2 - eps_j^2 - lv_j) */
        double s = 0;
        for (size_t j = 0; j < k; j++) s += (double)zr[j] * zr[j] - (double)e[j] * e[j] - lv[j];
        lw[r] = -nll[r] - 0.5 * s;
    }
    for (size_t i = 0; i < m; i++) {
        double mx = -INFINITY, mean = 0, sum = 0;
        for (size_t l = 0; l < K; l++) {
            double w = lw[l * m + i];
            if (w > mx) mx = w;
            mean += w;
        }
        mean /= (double)K;
        for (size_t l = 0; l < K; l++) {
            /* w~_l = w_l / sum_l' w_l', around the largest weight */
            wt[l * m + i] = exp(lw[l * m + i] - mx);
            sum += wt[l * m + i];
        }
        for (size_t l = 0; l < K; l++) wt[l * m + i] /= sum;
        /* gap = log (1/K) sum_l w_l - (1/K) sum_l log w_l >= 0 (Jensen); 0 when K = 1 */
        gap[i] = mx + log(sum) - log((double)K) - mean;
    }
}

void vae_iwae_backward(vae_real *dz, const double *wt, const vae_real *z, size_t m, size_t K,
                       size_t k)
{
    double inv_k = 1.0 / (double)K;
    for (size_t r = 0; r < K * m; r++) {
        /* d(-gap)/d log w_r = 1/K - w~_r, and d log w_r / dz_r = -z_r (the
         * prior's term; the nll's share is the weight w~_r of its row) */
        vae_real c = (vae_real)(wt[r] - inv_k);
        const vae_real *zr = z + r * k;
        vae_real *g = dz + r * k;
        for (size_t j = 0; j < k; j++) g[j] += c * zr[j];
    }
}

/* ------------------------------------------------------------------ */
/* baselines (docs/vae.md, "Baselines") */

#define BASE_HIDDEN 100 /* NVIL's one hidden layer of 100 tanh units */
#define BASE_DECAY 0.8  /* NVIL's alpha of the running mean and variance */

struct vae_baselines {
    size_t d, h, m_max;
    int have_c;  /* c and v are set (after the first update)         */
    double c, v; /* running mean of the signal and of (signal - c)^2 */
    int with_net;
    size_t n_block;
    vae_real *block;  /* (n_block) w1 (h, d), b1 (h), w2 (1, h), b2 (1)   */
    vae_real *gblock; /* (n_block) gradients, same layout                 */
    vae_real *adam_m, *adam_v;
    long adam_t;
    vae_real *w1, *b1, *w2, *b2;     /* views of block                                   */
    vae_real *gw1, *gb1, *gw2, *gb2; /* views of gblock                                  */
    vae_real *hid;                   /* (m_max, h) tanh(x w1^T + b1)                     */
    vae_real *dhid;                  /* (m_max, h)                                       */
    vae_real *out;                   /* (m_max) C(x)                                     */
    vae_real *dout;                  /* (m_max)                                          */
    double *sig;                     /* (m_max) each datum's signal in an update         */
};

static size_t aligned(size_t n)
{
    return (n + VAE_ALIGN_REALS - 1) / VAE_ALIGN_REALS * VAE_ALIGN_REALS;
}

vae_baselines *vae_baselines_alloc(size_t d, size_t m_max, int with_net, unsigned long seed,
                                   lz_error *err)
{
    vae_baselines *b = calloc(1, sizeof *b);
    if (!b) goto oom;
    b->d = d;
    b->h = BASE_HIDDEN;
    b->m_max = m_max;
    b->with_net = with_net;
    if (!(b->sig = malloc((m_max ? m_max : 1) * sizeof *b->sig))) goto oom;
    if (!with_net) return b;
    size_t h = b->h, o1 = aligned(h * d), o2 = o1 + aligned(h), o3 = o2 + aligned(h);
    b->n_block = o3 + aligned(1);
    b->block = vae_alloc_reals(b->n_block);
    b->gblock = vae_alloc_reals(b->n_block);
    b->adam_m = vae_alloc_reals(b->n_block);
    b->adam_v = vae_alloc_reals(b->n_block);
    b->hid = vae_alloc_reals(m_max * h);
    b->dhid = vae_alloc_reals(m_max * h);
    b->out = vae_alloc_reals(m_max);
    b->dout = vae_alloc_reals(m_max);
    gsl_rng *r = lz_rng_alloc_stream(seed, VAE_STREAM_BASELINE);
    if (!b->block || !b->gblock || !b->adam_m || !b->adam_v || !b->hid || !b->dhid || !b->out ||
        !b->dout || !r) {
        gsl_rng_free(r);
        goto oom;
    }
    b->w1 = b->block, b->b1 = b->block + o1, b->w2 = b->block + o2, b->b2 = b->block + o3;
    b->gw1 = b->gblock, b->gb1 = b->gblock + o1, b->gw2 = b->gblock + o2, b->gb2 = b->gblock + o3;
    /* nn.Linear's initialisation, U(-1/sqrt(c), 1/sqrt(c)) for c inputs */
    double u1 = 1 / sqrt((double)d), u2 = 1 / sqrt((double)h);
    for (size_t i = 0; i < h * d; i++) b->w1[i] = (vae_real)(u1 * (2 * gsl_rng_uniform(r) - 1));
    for (size_t i = 0; i < h; i++) b->b1[i] = (vae_real)(u1 * (2 * gsl_rng_uniform(r) - 1));
    for (size_t i = 0; i < h; i++) b->w2[i] = (vae_real)(u2 * (2 * gsl_rng_uniform(r) - 1));
    b->b2[0] = (vae_real)(u2 * (2 * gsl_rng_uniform(r) - 1));
    gsl_rng_free(r);
    return b;
oom:
    vae_baselines_free(b);
    lz_fail(err, LZ_ENOMEM, "VAE: out of memory for the baselines");
    return NULL;
}

void vae_baselines_free(vae_baselines *b)
{
    if (!b) return;
    free(b->block);
    free(b->gblock);
    free(b->adam_m);
    free(b->adam_v);
    free(b->hid);
    free(b->dhid);
    free(b->out);
    free(b->dout);
    free(b->sig);
    free(b);
}

/* the scale of the network's target: s = max(1, sqrt v) (NVIL) */
static double base_scale(const vae_baselines *b) { return b->v > 1 ? sqrt(b->v) : 1; }

/* b->out (m) <- C(x) for x (m, d) */
static void net_forward(vae_baselines *b, const vae_real *x, size_t m)
{
    /* hid = tanh(x w1^T + b1);  C(x) = hid w2^T + b2 */
    vae_dense_forward(b->hid, x, b->w1, b->b1, m, b->d, b->h);
    vae_act_forward(b->hid, m * b->h, VAE_TANH);
    vae_dense_forward(b->out, b->hid, b->w2, b->b2, m, b->h, 1);
}

void vae_baselines_predict(vae_baselines *b, vae_baseline kind, const vae_real *x, size_t m,
                           double *base)
{
    double c = b && b->have_c ? b->c : 0;
    if (kind == VAE_BASE_NONE || !b) {
        for (size_t i = 0; i < m; i++) base[i] = kind == VAE_BASE_MEAN ? c : 0;
        return;
    }
    if (kind == VAE_BASE_MEAN || !b->with_net) {
        for (size_t i = 0; i < m; i++) base[i] = c;
        return;
    }
    /* b(x) = c + s C(x) */
    double s = base_scale(b);
    net_forward(b, x, m);
    for (size_t i = 0; i < m; i++) base[i] = c + s * (double)b->out[i];
}

void vae_baselines_update(vae_baselines *b, const vae_config *c, const vae_real *x, size_t m,
                          size_t L, const double *nll)
{
    if (!b || m == 0) return;
    /* the signal of datum i: its mean nll over the L samples */
    double *sig = b->sig, mean = 0;
    for (size_t i = 0; i < m; i++) {
        double t = 0;
        for (size_t l = 0; l < L; l++) t += nll[l * m + i];
        sig[i] = t / (double)L;
        mean += sig[i];
    }
    mean /= (double)m;
    if (!b->have_c) {
        /* the first minibatch sets c and v */
        double v = 0;
        for (size_t i = 0; i < m; i++) v += (sig[i] - mean) * (sig[i] - mean);
        b->c = mean;
        b->v = v / (double)m;
        b->have_c = 1;
    }
    double c0 = b->c, s0 = base_scale(b), v = 0;
    /* c <- a c + (1 - a) mean;  v <- a v + (1 - a) mean_i (signal_i - c)^2 */
    b->c = BASE_DECAY * b->c + (1 - BASE_DECAY) * mean;
    for (size_t i = 0; i < m; i++) v += (sig[i] - b->c) * (sig[i] - b->c);
    b->v = BASE_DECAY * b->v + (1 - BASE_DECAY) * v / (double)m;
    if (!b->with_net) return;
    /* one Adam step on 1/2 sum_i (C(x_i) - (signal_i - c) / s)^2, c and s
     * as the prediction used them */
    net_forward(b, x, m);
    for (size_t i = 0; i < m; i++) b->dout[i] = (vae_real)((double)b->out[i] - (sig[i] - c0) / s0);
    memset(b->gblock, 0, b->n_block * sizeof(vae_real));
    memset(b->dhid, 0, m * b->h * sizeof(vae_real));
    vae_dense_backward(b->dhid, b->gw2, b->gb2, b->dout, b->hid, b->w2, m, b->h, 1);
    vae_act_backward(b->dhid, b->hid, m * b->h, VAE_TANH);
    vae_dense_backward(NULL, b->gw1, b->gb1, b->dhid, x, b->w1, m, b->d, b->h);
    b->adam_t++;
    vae_adam_update(b->block, b->adam_m, b->adam_v, b->gblock, b->n_block, b->adam_t, c->lr,
                    c->beta1, c->beta2, c->adam_eps);
}
