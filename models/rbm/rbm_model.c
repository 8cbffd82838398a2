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
    m->mem = calloc(h * d + h + d, sizeof *m->mem);
    m->base = calloc(d, sizeof *m->base);
    if (!m->mem || !m->base) {
        rbm_model_free(m);
        return NULL;
    }
    m->w = m->mem;     /* (h, d) */
    m->b = m->w + h * d; /* (h)  */
    m->c = m->b + h;   /* (d)    */
    return m;
}

/* the two blocks rbm_model_alloc allocated (the parameters, the base rates)
 * and the struct */
void rbm_model_free(rbm_model *m)
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

lz_status rbm_init(rbm_model *m, double sd, unsigned long seed, lz_error *err)
{
    gsl_rng *r = lz_rng_alloc_stream(seed, RBM_STREAM_INIT);
    if (!r) return lz_fail(err, LZ_ENOMEM, "initial weights: out of memory");
    size_t d = m->d, h = m->h;
    /* W_ji ~ N(0, sd^2); b = 0; c = base-rate log-odds (Hinton 2010, section 8) */
    for (size_t k = 0; k < h * d; k++) m->w[k] = (float)gsl_ran_gaussian_ziggurat(r, sd);
    for (size_t j = 0; j < h; j++) m->b[j] = 0;
    for (size_t i = 0; i < d; i++) m->c[i] = (float)m->base[i];
    gsl_rng_free(r);
    return LZ_OK;
}

/* ---------------------------------------------------------------------- */
/* configuration */

void rbm_config_default(rbm_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->h = 16;
    cfg->cd_steps = 1;
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

lz_status rbm_config_check(const rbm_config *cfg, size_t d, lz_error *err)
{
    rbm_config cr = *cfg;
    rbm_config_resolve(&cr, 0);
    const rbm_config *c = &cr;
    if (c->h < 1 || c->h > 100000)
        return lz_fail(err, LZ_EINVAL, "--hidden %d: expected 1 <= H <= 100000", c->h);
    if (c->cd_steps < 1 || c->cd_steps > 100000)
        return lz_fail(err, LZ_EINVAL, "--cd %d: expected 1 <= K <= 100000 Gibbs steps",
                       c->cd_steps);
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

size_t rbm_enum_size(size_t d, size_t h) { return d < h ? d : h; }

int rbm_exact_applies(size_t d, size_t h, int exact_max_h)
{
    return rbm_enum_size(d, h) <= (size_t)exact_max_h;
}

int rbm_exact_every_epoch(size_t d, size_t h, int exact_max_h)
{
    size_t s = rbm_enum_size(d, h), o = d > h ? d : h;
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

void rbm_hidden_f(const rbm_model *m, size_t n, const float *v, float *ph)
{
    size_t d = m->d, h = m->h;
    /* A_h <- V W^T  (n x d)(d x h) */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)h, (int)d, 1.0f, v, (int)d,
                m->w, (int)d, 0.0f, ph, (int)h);
    /* p(h_j = 1 | v) = sigm(b_j + W_j. v) */
    for (size_t r = 0; r < n; r++) {
        float *row = ph + r * h;
        for (size_t j = 0; j < h; j++) row[j] = rbm_sigm_f(row[j] + m->b[j]);
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
        for (size_t i = 0; i < d; i++) row[i] = rbm_sigm_f(row[i] + m->c[i]);
    }
}

/* ---------------------------------------------------------------------- */
/* data preparation (docs/rbm.md, "Data: binary, or made binary") */

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
/* model files */

static const char *bin_name[] = {"threshold", "sample", "none"};

lz_status rbm_model_write(const rbm_model *m, const rbm_prep *p, int cd_steps, int pcd,
                          lz_outset *os, const char *path, lz_error *err)
{
    FILE *f = lz_outset_open(os, path, err);
    if (!f) return err ? err->status : LZ_EIO;
    lz_model_begin(f, "rbm", 1);
    lz_model_put_int(f, "d", (long)m->d);
    lz_model_put_int(f, "h", (long)m->h);
    lz_model_put_int(f, "cd_k", cd_steps); /* the entry's name since version 1 */
    lz_model_put_int(f, "pcd", pcd);
    lz_model_put_str(f, "binarize", bin_name[p->mode]);
    lz_model_put_real(f, "threshold", p->threshold);
    lz_model_put_real(f, "scale", p->scale);
    lz_model_put_arrayf(f, "W", m->h, m->d, m->w);
    lz_model_put_arrayf(f, "b", 1, m->h, m->b);
    lz_model_put_arrayf(f, "c", 1, m->d, m->c);
    lz_model_put_array(f, "base", 1, m->d, m->base);
    lz_model_end(f);
    return LZ_OK;
}

lz_status rbm_model_read(const char *path, rbm_model **out, rbm_prep *p, int *cd_steps, int *pcd,
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
    *cd_steps = (int)kk;
    *pcd = (int)pp;
    if (!(m = rbm_model_alloc((size_t)d, (size_t)h))) {
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
    if (st) rbm_model_free(m);
    else *out = m;
    return st;
}
