/* rbm_model.c -- the RBM's model and its configuration, the threads of
 * its loops, the conditionals in single precision, the preparation of the
 * data (binarisation) and model files: the bottom of the library (rbm.h
 * draws the graph of calls), calling no other file of it.  Formulas:
 * docs/rbm.md, "Equations and the functions that compute them".
 *
 * Dimension letters: n samples, d visible, h hidden.
 */
#include "rbm.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "lz_blas.h" /* before any GSL header */
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "lz_data.h"
#include "lz_linalg.h"
#include "lz_model.h"
#include "lz_out.h"
#include "lz_prob.h"
#include "rbm_impl.h"

/* ---------------------------------------------------------------------- */
/* the model */

rbm_model *rbm_model_alloc(size_t d, size_t h)
{
    rbm_model *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->d = d;
    m->h = h;
    m->visible = RBM_VIS_BERNOULLI;
    m->sigma = RBM_SIGMA_FIXED;
    m->mem = calloc(h * d + h + 2 * d, sizeof *m->mem);
    m->dmem = calloc(3 * d, sizeof *m->dmem);
    if (!m->mem || !m->dmem) {
        rbm_model_free(m);
        return NULL;
    }
    m->w = m->mem;       /* (h, d) */
    m->b = m->w + h * d; /* (h)    */
    m->c = m->b + h;     /* (d)    */
    m->z = m->c + d;     /* (d)    */
    m->base = m->dmem;   /* (d)    */
    m->shift = m->base + d;
    m->scale = m->shift + d;
    for (size_t i = 0; i < d; i++) m->scale[i] = 1.0;
    return m;
}

/* the two blocks rbm_model_alloc allocated (the parameters; base, shift and
 * scale) and the struct */
void rbm_model_free(rbm_model *m)
{
    if (!m) return;
    free(m->mem);
    free(m->dmem);
    free(m);
}

/* the sigmas are parameters only when Gaussian and learned */
static int learns_sigma(const rbm_model *m)
{
    return m->visible == RBM_VIS_GAUSSIAN && m->sigma == RBM_SIGMA_LEARN;
}

size_t rbm_n_params(const rbm_model *m)
{
    return m->h * m->d + m->h + m->d + (learns_sigma(m) ? m->d : 0);
}

void rbm_set_base_rate(rbm_model *m, size_t n, const float *v)
{
    size_t d = m->d;
    for (size_t i = 0; i < d; i++) m->base[i] = 0;
    for (size_t r = 0; r < n; r++)
        for (size_t i = 0; i < d; i++) m->base[i] += v[r * d + i];
    for (size_t i = 0; i < d; i++) {
        if (m->visible == RBM_VIS_GAUSSIAN) { /* base_i = mean_n v_ni */
            m->base[i] = n ? m->base[i] / (double)n : 0.0;
            continue;
        }
        /* p_i = (count_i + 1) / (n + 2);  base_i = log(p_i / (1 - p_i)) */
        double p = (m->base[i] + 1.0) / ((double)n + 2.0);
        m->base[i] = log(p) - log1p(-p);
    }
}

lz_status rbm_init(rbm_model *m, double sd, unsigned long seed, lz_error *err)
{
    gsl_rng *r = lz_rng_alloc_stream(seed, RBM_STREAM_INIT);
    if (!r) return lz_fail(err, LZ_ENOMEM, "initial weights: out of memory");
    size_t d = m->d, h = m->h;
    /* W_ji ~ N(0, sd^2); b = 0; c = base (Hinton 2010, section 8); z = 0 */
    for (size_t k = 0; k < h * d; k++) m->w[k] = (float)gsl_ran_gaussian_ziggurat(r, sd);
    for (size_t j = 0; j < h; j++) m->b[j] = 0;
    for (size_t i = 0; i < d; i++) m->c[i] = (float)m->base[i];
    for (size_t i = 0; i < d; i++) m->z[i] = 0;
    gsl_rng_free(r);
    return LZ_OK;
}

double rbm_ll_offset(const rbm_model *m)
{
    if (m->visible != RBM_VIS_GAUSSIAN) return 0.0;
    /* x = shift + scale v: p(x) = p(v) / prod_i scale_i */
    double s = 0;
    for (size_t i = 0; i < m->d; i++) s += log(m->scale[i]);
    return -s;
}

/* ---------------------------------------------------------------------- */
/* configuration */

void rbm_config_default(rbm_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->h = 16;
    cfg->visible = RBM_VIS_BERNOULLI;
    cfg->sigma = RBM_SIGMA_FIXED;
    cfg->sigma_min = 0.1;
    cfg->cd_steps = 1;
    cfg->pcd = 0;
    cfg->pt = 0;
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
    cfg->bracket = 0;
    cfg->raise_rows = 100;
    cfg->raise_steps = LZ_UNSET_INT;
    cfg->seed = 1;
}

rbm_algo_defaults rbm_algo_default(int persistent, int visible, int sigma)
{
    /* docs/rbm.md, "Defaults": CD-1 as in Hinton's guide (2010); PCD as in
     * Tieleman (2008) and PyDeep: 100 chains, no momentum, the rate decaying
     * linearly to 0, and PyDeep's 0.01 on 60000 rows, spread so that an
     * epoch's rates add up to the same on any number of rows, up to 0.3
     * (above it PCD's chains fall behind on the digits).  Gaussian visible
     * units: a tenth of the rates (Hinton 2010, section 13.2: unbounded
     * visible units make learning unstable at the binary rates), and with
     * learned sigmas a third of that (docs/rbm.md, "Defaults": on the
     * digits the held-out likelihood falls by tens of nats at the fixed
     * sigmas' rates) */
    rbm_algo_defaults cd = {0.1, 0.0, 0.5, 20, RBM_DECAY_NONE};
    rbm_algo_defaults pcd_d = {0.3, 6.0, 0.0, 100, RBM_DECAY_LINEAR};
    rbm_algo_defaults a = persistent ? pcd_d : cd;
    if (visible == RBM_VIS_GAUSSIAN) {
        double f = sigma == RBM_SIGMA_LEARN ? 0.03 : 0.1;
        a.lr *= f;
        a.epoch_lr *= f;
    }
    return a;
}

void rbm_config_resolve(rbm_config *cfg, size_t n)
{
    if (cfg->pt > 0) cfg->pcd = 1; /* the replica at beta = 1 is PCD's chain */
    rbm_algo_defaults a = rbm_algo_default(cfg->pcd, cfg->visible, cfg->sigma);
    if (lz_unset_real(cfg->momentum)) cfg->momentum = a.momentum;
    if (lz_unset_int(cfg->batch)) cfg->batch = a.batch;
    if (lz_unset_int(cfg->lr_decay)) cfg->lr_decay = a.lr_decay;
    if (lz_unset_int(cfg->raise_steps)) cfg->raise_steps = cfg->ais_steps;
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

lz_status rbm_config_check(const rbm_config *cfg, size_t d, lz_error *err)
{
    rbm_config cr = *cfg;
    rbm_config_resolve(&cr, 0);
    const rbm_config *c = &cr;
    if (c->h < 1 || c->h > 100000)
        return lz_fail(err, LZ_EINVAL, "--hidden %d: expected 1 <= H <= 100000", c->h);
    if (c->visible != RBM_VIS_BERNOULLI && c->visible != RBM_VIS_GAUSSIAN)
        return lz_fail(err, LZ_EINVAL, "--visible %d: expected bernoulli or gaussian", c->visible);
    if (c->sigma != RBM_SIGMA_FIXED && c->sigma != RBM_SIGMA_LEARN)
        return lz_fail(err, LZ_EINVAL, "--sigma %d: expected fixed or learn", c->sigma);
    if (c->sigma == RBM_SIGMA_LEARN && c->visible != RBM_VIS_GAUSSIAN)
        return lz_fail(err, LZ_EINVAL,
                       "--sigma learn: binary visible units have no sigma; "
                       "use it with --visible gaussian");
    if (!(c->sigma_min >= 1e-3 && c->sigma_min <= 1))
        return lz_fail(err, LZ_EINVAL,
                       "--sigma-min %.15g: expected 1e-3 <= S <= 1 (standard deviations of the "
                       "standardised data)",
                       c->sigma_min);
    if (c->cd_steps < 1 || c->cd_steps > 100000)
        return lz_fail(err, LZ_EINVAL, "--cd %d: expected 1 <= K <= 100000 Gibbs steps",
                       c->cd_steps);
    if (c->pt < 0 || c->pt > 100)
        return lz_fail(err, LZ_EINVAL,
                       "--pt %d: expected 1 <= R <= 100 tempered replicas (0: none)", c->pt);
    if (!lz_unset_real(c->lr) && (!(c->lr > 0) || c->lr > 100))
        return lz_fail(err, LZ_EINVAL, "--lr %.15g: expected a learning rate in (0, 100]", c->lr);
    if (c->momentum < 0 || c->momentum >= 1)
        return lz_fail(err, LZ_EINVAL, "--momentum %.15g: expected 0 <= mu < 1", c->momentum);
    if (c->weight_decay < 0 || c->weight_decay >= 1)
        return lz_fail(err, LZ_EINVAL, "--weight-decay %.15g: expected 0 <= lambda < 1",
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
    if (c->raise_rows < 0 || c->raise_rows > 100000000)
        return lz_fail(err, LZ_EINVAL,
                       "--raise-rows %d: expected 0 <= N <= 100000000 (0: no "
                       "reverse AIS)",
                       c->raise_rows);
    if (c->raise_steps < 10 || c->raise_steps > 100000000)
        return lz_fail(err, LZ_EINVAL, "--raise-steps %d: expected 10 <= K <= 100000000",
                       c->raise_steps);
    if (c->monitor < 0 || c->monitor > 1000000)
        return lz_fail(err, LZ_EINVAL, "--monitor %d: expected 0 <= N <= 1000000", c->monitor);
    if (c->lr_decay != RBM_DECAY_NONE && c->lr_decay != RBM_DECAY_LINEAR)
        return lz_fail(err, LZ_EINVAL, "--lr-decay %d: expected none or linear", c->lr_decay);
    if (c->keep_best && d > 0 &&
        !rbm_exact_every_epoch(d, (size_t)c->h, c->visible, c->exact_max_h)) {
        size_t s = rbm_enum_size(d, (size_t)c->h, c->visible);
        if (c->visible == RBM_VIS_GAUSSIAN)
            return lz_fail(
                err, LZ_EINVAL,
                "--keep-best needs the exact log-likelihood of every epoch, and d = %zu, "
                "H = %d gives it only when H <= --exact-max-h %d and 2^H max(d, H) <= "
                "2^27: take fewer hidden units, or drop --keep-best",
                d, c->h, c->exact_max_h);
        return lz_fail(
            err, LZ_EINVAL,
            "--keep-best needs the exact log-likelihood of every epoch, and d = %zu, "
            "H = %d gives it only when min(d, H) = %zu <= --exact-max-h %d and "
            "2^min(d, H) max(d, H) <= 2^27: take fewer hidden units, or drop --keep-best",
            d, c->h, s, c->exact_max_h);
    }
    return LZ_OK;
}

size_t rbm_enum_size(size_t d, size_t h, int visible)
{
    if (visible == RBM_VIS_GAUSSIAN) return h; /* v is integrated out, never enumerated */
    return d < h ? d : h;
}

int rbm_exact_applies(size_t d, size_t h, int visible, int exact_max_h)
{
    return rbm_enum_size(d, h, visible) <= (size_t)exact_max_h;
}

int rbm_exact_every_epoch(size_t d, size_t h, int visible, int exact_max_h)
{
    size_t s = rbm_enum_size(d, h, visible), o = d > h ? d : h;
    if (s > (size_t)exact_max_h || s >= 40) return 0;
    return ((size_t)1 << s) <= RBM_EXACT_EPOCH_COST / o;
}

/* ---------------------------------------------------------------------- */
/* threads */

void rbm_set_threads(int n)
{
    lz_set_threads(1);
    omp_set_num_threads(n > 0 ? n : omp_get_num_procs());
}

int rbm_threads(void) { return lz_get_threads() == 1 ? omp_get_max_threads() : 1; }

int rbm_threads_for(double work)
{
    /* a thread is worth its start and its barrier for about a millisecond of
     * work: ~4e6 multiply-adds */
    double cap = 1.0 + work / 4e6;
    int T = rbm_threads();
    return cap < (double)T ? (int)cap : T;
}

/* ---------------------------------------------------------------------- */
/* the conditionals in single precision (docs/rbm.md, "The model") */

void rbm_inv_sigma2_f(const rbm_model *m, float *is2)
{
    /* 1 / sigma_i^2 = exp(-z_i), rounded once to float (z = 0: exactly 1) */
    for (size_t i = 0; i < m->d; i++) is2[i] = (float)exp(-(double)m->z[i]);
}

const float *rbm_scale_visible_f(const rbm_model *m, size_t n, const float *v, const float *is2,
                                 float *u)
{
    size_t d = m->d;
    if (!learns_sigma(m)) return v; /* sigma = 1 (or binary): u = v */
    for (size_t r = 0; r < n; r++)
        for (size_t i = 0; i < d; i++) u[r * d + i] = v[r * d + i] * is2[i]; /* v_i / sigma_i^2 */
    return u;
}

void rbm_hidden_f(const rbm_model *m, size_t n, const float *u, float *ph)
{
    size_t d = m->d, h = m->h;
    /* A_h <- U W^T  (n x d)(d x h) */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)h, (int)d, 1.0f, u, (int)d,
                m->w, (int)d, 0.0f, ph, (int)h);
    /* p(h_j = 1 | v) = sigm(b_j + W_j. u) */
    for (size_t r = 0; r < n; r++) {
        float *row = ph + r * h;
        for (size_t j = 0; j < h; j++) row[j] = rbm_sigm_f(row[j] + m->b[j]);
    }
}

void rbm_visible_f(const rbm_model *m, size_t n, const float *hs, float *pv)
{
    size_t d = m->d, h = m->h;
    /* A_v <- H W  (n x h)(h x d) */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)d, (int)h, 1.0f, hs, (int)h,
                m->w, (int)d, 0.0f, pv, (int)d);
    if (m->visible == RBM_VIS_GAUSSIAN) { /* E[v_i | h] = c_i + W_.i^T h */
        for (size_t r = 0; r < n; r++)
            for (size_t i = 0; i < d; i++) pv[r * d + i] += m->c[i];
        return;
    }
    /* p(v_i = 1 | h) = sigm(c_i + W_.i^T h) */
    for (size_t r = 0; r < n; r++) {
        float *row = pv + r * d;
        for (size_t i = 0; i < d; i++) row[i] = rbm_sigm_f(row[i] + m->c[i]);
    }
}

void rbm_hidden_beta_f(const rbm_model *m, size_t n, const float *u, float beta, float *ph)
{
    size_t d = m->d, h = m->h;
    /* A_h <- U W^T */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)h, (int)d, 1.0f, u, (int)d,
                m->w, (int)d, 0.0f, ph, (int)h);
    /* p_beta(h_j = 1 | v) = sigm(beta (b_j + W_j. u)) */
    for (size_t r = 0; r < n; r++) {
        float *row = ph + r * h;
        for (size_t j = 0; j < h; j++) row[j] = rbm_sigm_f(beta * (row[j] + m->b[j]));
    }
}

void rbm_visible_beta_f(const rbm_model *m, size_t n, const float *hs, float beta, const float *is2,
                        float *pv)
{
    size_t d = m->d, h = m->h;
    int gauss = m->visible == RBM_VIS_GAUSSIAN;
    /* A_v <- H W */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)d, (int)h, 1.0f, hs, (int)h,
                m->w, (int)d, 0.0f, pv, (int)d);
    for (size_t r = 0; r < n; r++) {
        float *row = pv + r * d;
        for (size_t i = 0; i < d; i++) {
            float a = row[i] + m->c[i], b0 = (float)m->base[i];
            /* Gaussian: the mean [(1 - beta) base_i + beta a_i / sigma_i^2] / lambda_i,
             * lambda_i = 1 - beta + beta / sigma_i^2;
             * binary: sigm((1 - beta) base_i + beta a_i) */
            row[i] = gauss
                         ? ((1.0f - beta) * b0 + beta * a * is2[i]) / (1.0f - beta + beta * is2[i])
                         : rbm_sigm_f((1.0f - beta) * b0 + beta * a);
        }
    }
}

void rbm_visible_sd_f(const rbm_model *m, float beta, float *sd)
{
    /* 1 / sqrt(lambda_i), lambda_i = 1 - beta + beta / sigma_i^2 */
    for (size_t i = 0; i < m->d; i++)
        sd[i] = (float)(1.0 / sqrt(1.0 - (double)beta + (double)beta * exp(-(double)m->z[i])));
}

void rbm_tempered_log_marginal_h(const rbm_model *m, double beta, size_t n, const float *hs,
                                 const float *a, double *g)
{
    size_t d = m->d, h = m->h;
    int gauss = m->visible == RBM_VIS_GAUSSIAN;
    for (size_t r = 0; r < n; r++) {
        const float *hr = hs + r * h, *ar = a + r * d;
        double bh = 0, s = 0;
        for (size_t j = 0; j < h; j++) bh += (double)m->b[j] * hr[j];
        for (size_t i = 0; i < d; i++) {
            double ai = (double)m->c[i] + ar[i];
            if (gauss) {
                /* eta_i^2 / (2 lambda_i): the h-dependent part of
                 * log int exp(-lambda_i v^2 / 2 + eta_i v) dv */
                double is2 = exp(-(double)m->z[i]), lam = 1.0 - beta + beta * is2;
                double eta = (1.0 - beta) * m->base[i] + beta * ai * is2;
                s += eta * eta / (2.0 * lam);
            } else { /* softplus((1 - beta) base_i + beta a_i) */
                s += lz_softplus((1.0 - beta) * m->base[i] + beta * ai);
            }
        }
        /* g = beta b^T h + sum_i (...) */
        g[r] = beta * bh + s;
    }
}

/* ---------------------------------------------------------------------- */
/* data preparation (docs/rbm.md, "Data") */

static const char *bin_name[] = {"threshold", "sample", "none"};

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
    /* a loaded model keeps its preprocessing and its binary units: options
     * that would change them are not the way out */
    char fix[512], ss[32];
    if (p->model)
        snprintf(fix, sizeof fix,
                 "the model %s keeps its --scale %s, --binarize %s and binary visible units "
                 "under --load: give the file in the units of its training data, or train a "
                 "model on it",
                 p->model, lz_num_str(p->scale, ss, sizeof ss), bin_name[p->mode]);
    if (y < 0)
        return lz_fail(err, LZ_EINVAL,
                       "%s: value %s is negative: the binary RBM needs binary data or grey "
                       "levels in [0, 1]; %s",
                       where, xs, p->model ? fix : "real values: --visible gaussian");
    if (y > 1) {
        if (!p->model)
            snprintf(fix, sizeof fix,
                     "grey levels 0..%s: --scale %s; real values: --visible gaussian", ms, ms);
        return lz_fail(err, LZ_EINVAL,
                       "%s: value %s%s is above 1: the binary RBM needs binary data or grey "
                       "levels in [0, 1]; %s",
                       where, xs, p->scale != 1 ? " / --scale" : "", fix);
    }
    char scaled[64] = "";
    if (p->scale != 1) snprintf(scaled, sizeof scaled, " (/ --scale %g = %g)", p->scale, y);
    return lz_fail(err, LZ_EINVAL, "%s: value %s%s is not 0 or 1 (--binarize none): %s", where, xs,
                   scaled,
                   p->model ? fix
                            : "binarise grey levels with --binarize threshold or --binarize "
                              "sample");
}

lz_status rbm_standardise(rbm_model *m, const lz_data *train, double *var_out, lz_error *err)
{
    size_t d = m->d;
    if (train->d != d)
        return lz_fail(err, LZ_EINVAL, "%s: %zu columns: expected d = %zu", train->path, train->d,
                       d);
    for (size_t i = 0; i < d; i++) {
        m->shift[i] = 0;
        m->scale[i] = 1;
    }
    if (m->visible != RBM_VIS_GAUSSIAN) return LZ_OK;
    double *var = malloc((d ? d : 1) * sizeof *var); /* (d) column variances */
    if (!var) return lz_fail(err, LZ_ENOMEM, "%s: out of memory", train->path);
    size_t n_const = 0;
    lz_status st = lz_data_moments(train, m->shift, var, &n_const, err);
    for (size_t i = 0; !st && i < d; i++) {
        /* scale_i = sd_i; a constant column: |mu_i|, or 1 when it is 0 (its
         * values are then exactly 0 after the shift, whatever its units) */
        double mu = fabs(m->shift[i]);
        m->scale[i] = var[i] > 0 ? sqrt(var[i]) : mu > 0 ? mu : 1.0;
    }
    if (!st && var_out) memcpy(var_out, var, d * sizeof *var_out);
    free(var);
    if (!st && n_const == d)
        st = lz_fail(err, LZ_EINVAL,
                     "%s: every column is constant: Gaussian visible units need data that vary",
                     train->path);
    return st;
}

/* Gaussian units: out <- (x - shift) / scale, checked to fit in a float */
static lz_status standardised(const lz_data *data, const rbm_model *m, float *out, lz_error *err)
{
    size_t n = data->n, d = data->d;
    for (size_t k = 0; k < n * d; k++) {
        size_t i = k % d;
        double y = (data->x[k] - m->shift[i]) / m->scale[i];
        if (!(fabs(y) <= 1e30)) {
            char where[256], xs[32];
            lz_data_where(data, k / d, i, where, sizeof where);
            lz_num_str(data->x[k], xs, sizeof xs);
            return lz_fail(err, LZ_EINVAL,
                           "%s: value %s is %g standard deviations of the training column from "
                           "its mean: expected at most 1e30",
                           where, xs, y);
        }
        out[k] = (float)y;
    }
    return LZ_OK;
}

lz_status rbm_prepare(const lz_data *data, const rbm_model *m, const rbm_prep *p,
                      unsigned long seed, unsigned long stream, float *out, lz_error *err)
{
    size_t n = data->n, d = data->d;
    const double *x = data->x;
    if (d != m->d)
        return lz_fail(err, LZ_EINVAL, "%s: %zu columns: expected d = %zu", data->path, d, m->d);
    if (m->visible == RBM_VIS_GAUSSIAN) return standardised(data, m, out, err);
    if (!(p->scale > 0))
        return lz_fail(err, LZ_EINVAL, "--scale %.15g: expected a positive number", p->scale);
    if (!(p->threshold >= 0 && p->threshold < 1))
        return lz_fail(err, LZ_EINVAL, "--threshold %.15g: expected 0 <= T < 1", p->threshold);
    double xmax = 0;
    for (size_t k = 0; k < n * d; k++) {
        if (x[k] > xmax) xmax = x[k];
        if (x[k] / p->scale < 0) /* a negative value first: --scale cannot mend it */
            return bad_value(data, k / d, k % d, p, xmax, err);
    }
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
/* model files */

static const char *vis_name[] = {"bernoulli", "gaussian"};
static const char *sigma_name[] = {"fixed", "learn"};

lz_status rbm_model_write(const rbm_model *m, const rbm_prep *p, const rbm_method *how,
                          lz_outset *os, const char *path, lz_error *err)
{
    FILE *f = lz_outset_open(os, path, err);
    if (!f) return err ? err->status : LZ_EIO;
    int gauss = m->visible == RBM_VIS_GAUSSIAN;
    /* version 1: what every earlier rbm_cd wrote and reads; version 2 adds
     * the visible units, the sigmas, PT and the standardisation */
    int v2 = gauss || how->pt > 0;
    lz_model_begin(f, "rbm", v2 ? 2 : 1);
    lz_model_put_int(f, "d", (long)m->d);
    lz_model_put_int(f, "h", (long)m->h);
    lz_model_put_int(f, "cd_k", how->cd_k); /* the entry's name since version 1 */
    lz_model_put_int(f, "pcd", how->pcd);
    if (v2) {
        lz_model_put_int(f, "pt", how->pt);
        lz_model_put_str(f, "visible", vis_name[gauss]);
        lz_model_put_str(f, "sigma", sigma_name[m->sigma == RBM_SIGMA_LEARN]);
    }
    lz_model_put_str(f, "binarize", bin_name[p->mode]);
    lz_model_put_real(f, "threshold", p->threshold);
    lz_model_put_real(f, "scale", p->scale);
    lz_model_put_arrayf(f, "W", m->h, m->d, m->w);
    lz_model_put_arrayf(f, "b", 1, m->h, m->b);
    lz_model_put_arrayf(f, "c", 1, m->d, m->c);
    lz_model_put_array(f, "base", 1, m->d, m->base);
    if (gauss) {
        lz_model_put_arrayf(f, "z", 1, m->d, m->z);
        lz_model_put_array(f, "data_mean", 1, m->d, m->shift);
        lz_model_put_array(f, "data_sd", 1, m->d, m->scale);
    }
    lz_model_end(f);
    return LZ_OK;
}

/* the index of s in names (n of them), or -1 */
static int name_index(const char *s, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(s, names[i])) return i;
    return -1;
}

lz_status rbm_model_read(const char *path, rbm_model **out, rbm_prep *p, rbm_method *how,
                         lz_error *err)
{
    *out = NULL;
    lz_model *f = NULL;
    lz_status st = lz_model_read(path, "rbm", 2, &f, err);
    if (st) return st;
    long d = 0, h = 0, kk = 0, pp = 0, pt = 0;
    const char *bin = NULL, *vis = "bernoulli", *sig = "fixed";
    rbm_model *m = NULL;
    int v2 = lz_model_version(f) >= 2;
    /* every entry, with its shape, before the model is allocated: the
     * allocation is then bounded by what the file holds */
    if ((st = lz_model_get_int_range(f, "d", 1, 100000000, &d, err)) ||
        (st = lz_model_get_int_range(f, "h", 1, 100000, &h, err)) ||
        (st = lz_model_get_int_range(f, "cd_k", 1, 100000, &kk, err)) ||
        (st = lz_model_get_int_range(f, "pcd", 0, 1, &pp, err)) ||
        (v2 && (st = lz_model_get_int_range(f, "pt", 0, 100, &pt, err))) ||
        (v2 && (st = lz_model_get_str(f, "visible", &vis, err))) ||
        (v2 && (st = lz_model_get_str(f, "sigma", &sig, err))) ||
        (st = lz_model_get_str(f, "binarize", &bin, err)) ||
        (st = lz_model_get_real(f, "threshold", &p->threshold, err)) ||
        (st = lz_model_get_real(f, "scale", &p->scale, err)))
        goto done;
    int mode = name_index(bin, bin_name, 3);
    if (mode < 0 || !(p->scale > 0) || !(p->threshold >= 0 && p->threshold < 1)) {
        st = lz_fail(err, LZ_EFORMAT,
                     "%s:%zu: binarize %s, threshold %g, scale %g: expected threshold|sample|none, "
                     "0 <= threshold < 1, scale > 0",
                     path, lz_model_line(f, "binarize"), bin, p->threshold, p->scale);
        goto done;
    }
    int visible = name_index(vis, vis_name, 2), sigma = name_index(sig, sigma_name, 2);
    if (visible < 0 || sigma < 0 || (sigma == RBM_SIGMA_LEARN && visible != RBM_VIS_GAUSSIAN)) {
        st = lz_fail(err, LZ_EFORMAT,
                     "%s:%zu: visible %s, sigma %s: expected visible bernoulli|gaussian and sigma "
                     "fixed|learn (learn only for gaussian)",
                     path, lz_model_line(f, visible < 0 ? "visible" : "sigma"), vis, sig);
        goto done;
    }
    int gauss = visible == RBM_VIS_GAUSSIAN;
    if ((st = lz_model_check_array(f, "W", (size_t)h, (size_t)d, err)) ||
        (st = lz_model_check_array(f, "b", 1, (size_t)h, err)) ||
        (st = lz_model_check_array(f, "c", 1, (size_t)d, err)) ||
        (st = lz_model_check_array(f, "base", 1, (size_t)d, err)) ||
        (gauss && (st = lz_model_check_array(f, "z", 1, (size_t)d, err))) ||
        (gauss && (st = lz_model_check_array(f, "data_mean", 1, (size_t)d, err))) ||
        (gauss && (st = lz_model_check_array(f, "data_sd", 1, (size_t)d, err))))
        goto done;
    p->mode = (rbm_binarize)mode;
    p->model = path;
    how->cd_k = (int)kk;
    how->pcd = (int)pp;
    how->pt = (int)pt;
    if (!(m = rbm_model_alloc((size_t)d, (size_t)h))) {
        st = lz_fail(err, LZ_ENOMEM, "%s: out of memory", path);
        goto done;
    }
    m->visible = visible;
    m->sigma = sigma;
    /* values: finite, the weights within a float's range */
    if ((st = lz_model_get_arrayf(f, "W", m->h, m->d, m->w, err)) ||
        (st = lz_model_get_arrayf(f, "b", 1, m->h, m->b, err)) ||
        (st = lz_model_get_arrayf(f, "c", 1, m->d, m->c, err)) ||
        (st = lz_model_get_array(f, "base", 1, m->d, m->base, err)))
        goto done;
    if (gauss) {
        if ((st = lz_model_get_arrayf(f, "z", 1, m->d, m->z, err)) ||
            (st = lz_model_get_array(f, "data_mean", 1, m->d, m->shift, err)) ||
            (st = lz_model_get_array(f, "data_sd", 1, m->d, m->scale, err)))
            goto done;
        /* sigma_i^2 = e^z_i and its inverse in range; fixed sigmas are 1 */
        for (size_t i = 0; i < m->d; i++) {
            if (!(fabs(m->z[i]) <= 60) || (sigma == RBM_SIGMA_FIXED && m->z[i] != 0)) {
                st = lz_fail(err, LZ_EFORMAT,
                             "%s:%zu: array z, column %zu: %g: expected log sigma^2 in [-60, 60], "
                             "0 with sigma fixed",
                             path, lz_model_line(f, "z") + 1, i + 1, (double)m->z[i]);
                goto done;
            }
            if (!(m->scale[i] > 0)) {
                st = lz_fail(err, LZ_EFORMAT, "%s:%zu: array data_sd, column %zu: %g: expected > 0",
                             path, lz_model_line(f, "data_sd") + 1, i + 1, m->scale[i]);
                goto done;
            }
        }
    }
done:
    lz_model_free(f);
    if (st)
        rbm_model_free(m);
    else
        *out = m;
    return st;
}
