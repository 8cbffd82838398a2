/* vae_eval.c -- what is computed from a trained or loaded VAE (see vae.h;
 * docs/vae.md, "The likelihood estimate" and "Files and how to read the
 * plots"): the importance-weighted estimate of log p(x) with its standard
 * error, the encoder means of the latent file, reconstructions, draws from
 * the model and the decoder over a grid of the latent plane.
 *
 * Calls the network (vae.c), the units (vae_prepare.c) and the layers; no
 * other file of the library calls this one.
 */
#include "vae.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_rng.h>

#include "lz_data.h"
#include "lz_prob.h"
#include "vae_impl.h"

/* ------------------------------------------------------------------ */
/* the importance-weighted estimate */

lz_status vae_loglik_rows(const vae_model *mod, vae_workspace *ws, const vae_real *x, size_t n,
                          size_t K, gsl_rng *rng, double *ll, double *elbo, double *var,
                          lz_error *err)
{
    size_t d = mod->a.d, k = mod->a.k;
    if (K < 1 || K > ws->m_max)
        return lz_fail(err, LZ_EINVAL, "importance sampling: K = %zu: expected 1 .. %zu", K,
                       ws->m_max);
    size_t chunk = ws->m_max / K;
    double off = vae_ll_offset(mod), logK = log((double)K);
    ws->bad_row = SIZE_MAX;
    for (size_t i0 = 0; i0 < n; i0 += chunk) {
        size_t m = n - i0 < chunk ? n - i0 : chunk;
        const vae_real *xc = x + i0 * d;
        vae_encode(mod, ws, xc, m);
        vae_kl_forward(ws->kl, ws->head, m, k);
        /* z_ji ~ Q(z | x_i) at decoder row j m + i */
        VAE_GAUSS(rng, K * m * k, ws->eps);
        vae_reparam_forward(ws->z, ws->head, ws->eps, m, K, k);
        vae_decode(mod, ws, ws->z, K * m);
        vae_likelihood_forward(mod, ws, xc, m, K);
        for (size_t r = 0; r < K * m; r++) {
            const vae_real *z = ws->z + r * k, *e = ws->eps + r * k;
            const vae_real *lv = ws->head + (r % m) * 2 * k + k;
            /* log N(z; 0, I) - log Q(z | x) with (z - mu)^2 / sigma^2 = eps^2:
             * -1/2 sum_j (z_j^2 - eps_j^2 - lv_j) */
            double s = 0;
            for (size_t j = 0; j < k; j++) s += (double)z[j] * z[j] - (double)e[j] * e[j] - lv[j];
            ws->lw[r] = -ws->nll[r] - 0.5 * s;
        }
        for (size_t i = 0; i < m; i++) {
            double mx = -INFINITY, snll = 0;
            for (size_t j = 0; j < K; j++) {
                double w = ws->lw[j * m + i];
                if (w > mx) mx = w;
                snll += ws->nll[j * m + i];
            }
            double s1 = 0, s2 = 0;
            for (size_t j = 0; j < K; j++) {
                double w = exp(ws->lw[j * m + i] - mx);
                s1 += w;
                s2 += w * w;
            }
            if (!isfinite(mx)) {
                ws->bad_row = i0 + i;
                return lz_fail(err, LZ_ENUMERIC,
                               "importance sampling: row %zu: a non-finite log-weight", i0 + i + 1);
            }
            /* log (1/K) sum_j w_j, around the largest weight */
            if (ll) ll[i0 + i] = mx + log(s1) - logK + off;
            if (elbo) elbo[i0 + i] = -snll / (double)K - ws->kl[i] + off;
            /* Var[log mean w] ~ Var[w] / (K E[w]^2) = sum w^2/(sum w)^2 - 1/K */
            if (var) var[i0 + i] = s2 / (s1 * s1) - 1.0 / (double)K;
        }
    }
    return LZ_OK;
}

lz_status vae_loglik(const vae_model *mod, vae_workspace *ws, const vae_real *x, size_t n, size_t K,
                     gsl_rng *rng, vae_loglik_result *res, lz_error *err)
{
    *res = (vae_loglik_result){.ll = NAN, .ll_se = NAN, .elbo = NAN, .rows = 0};
    if (n == 0) return LZ_OK;
    double *ll = malloc(n * sizeof *ll), *el = malloc(n * sizeof *el),
           *var = malloc(n * sizeof *var);
    lz_status st = ll && el && var ? LZ_OK : lz_fail(err, LZ_ENOMEM, "evaluation: out of memory");
    if (!st) st = vae_loglik_rows(mod, ws, x, n, K, rng, ll, el, var, err);
    if (!st) {
        double sl = 0, se = 0, sv = 0;
        for (size_t i = 0; i < n; i++) {
            sl += ll[i];
            se += el[i];
            sv += var[i] > 0 ? var[i] : 0;
        }
        res->ll = sl / (double)n;
        res->elbo = se / (double)n;
        /* Monte-Carlo standard error of the mean of n independent estimates */
        /* (one sample a row, K = 1, has no spread to measure it by: NaN, not 0) */
        res->ll_se = K > 1 ? sqrt(sv) / (double)n : NAN;
        res->rows = n;
        st = lz_ll_tail_of(n, ll, &res->tail, err);
    }
    free(ll);
    free(el);
    free(var);
    return st;
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

lz_status vae_ll_train_rows(size_t n, size_t max_rows, size_t *idx, size_t *rows, lz_error *err)
{
    gsl_rng *r = lz_rng_alloc(0);
    if (!r) return lz_fail(err, LZ_ENOMEM, "evaluation: out of memory");
    *rows = max_rows == 0 || max_rows >= n ? n : max_rows;
    lz_rng_perm(r, n, idx);
    gsl_rng_free(r);
    qsort(idx, *rows, sizeof *idx, cmp_size);
    return LZ_OK;
}

/* ------------------------------------------------------------------ */
/* encoder and decoder means */

void vae_encode_means(const vae_model *mod, vae_workspace *ws, const vae_real *x, size_t n,
                      double *mu)
{
    size_t d = mod->a.d, k = mod->a.k;
    for (size_t i0 = 0; i0 < n; i0 += ws->m_max) {
        size_t m = n - i0 < ws->m_max ? n - i0 : ws->m_max;
        vae_encode(mod, ws, x + i0 * d, m);
        for (size_t i = 0; i < m; i++)
            for (size_t j = 0; j < k; j++) mu[(i0 + i) * k + j] = ws->head[i * 2 * k + j];
    }
}

void vae_decode_means(const vae_model *mod, vae_workspace *ws, const vae_real *z, size_t n,
                      double *x)
{
    size_t d = mod->a.d, k = mod->a.k;
    for (size_t i0 = 0; i0 < n; i0 += ws->m_max) {
        size_t m = n - i0 < ws->m_max ? n - i0 : ws->m_max;
        vae_decode(mod, ws, z + i0 * k, m);
        vae_to_data_space(mod, m, ws->out, x + i0 * d);
    }
}

size_t vae_active_units(size_t n, size_t k, const double *mu, double *var)
{
    size_t active = 0;
    for (size_t j = 0; j < k; j++) {
        double s = 0, ss = 0;
        for (size_t i = 0; i < n; i++) s += mu[i * k + j];
        double mean = n ? s / (double)n : 0;
        for (size_t i = 0; i < n; i++) ss += (mu[i * k + j] - mean) * (mu[i * k + j] - mean);
        /* Cov_x(E_Q[z_j | x]) = (1/n) sum_i (mu_ij - mean_j)^2 */
        var[j] = n ? ss / (double)n : 0;
        if (var[j] > VAE_ACTIVE_VAR) active++;
    }
    return active;
}

/* ------------------------------------------------------------------ */
/* the evaluation of the program */

/* *r <- stream s of seed */
static lz_status new_stream(unsigned long seed, vae_stream s, gsl_rng **r, lz_error *err)
{
    *r = lz_rng_alloc_stream(seed, s);
    return *r ? LZ_OK : lz_fail(err, LZ_ENOMEM, "evaluation: out of memory");
}

lz_status vae_name_bad_row(lz_status st, size_t row, const lz_data *set, const size_t *idx,
                           lz_error *err)
{
    if (st != LZ_ENUMERIC || row >= set->n) return st;
    char where[256];
    lz_data_row_where(set, idx ? idx[row] : row, where, sizeof where);
    return lz_fail(err, LZ_ENUMERIC,
                   "%s: importance sampling: a non-finite log-weight (the row's density under "
                   "the fitted model leaves the doubles: a model trained with too large a --lr, "
                   "or a row far from the training data)",
                   where);
}

/* vae_loglik with the importance samples of stream s */
static lz_status loglik_stream(const vae_model *mod, vae_workspace *ws, const vae_real *x, size_t n,
                               size_t K, unsigned long seed, vae_stream s, vae_loglik_result *res,
                               lz_error *err)
{
    gsl_rng *r = NULL;
    lz_status st = new_stream(seed, s, &r, err);
    if (!st) st = vae_loglik(mod, ws, x, n, K, r, res, err);
    gsl_rng_free(r);
    return st;
}

/* ll_train: on the rows of vae_ll_train_rows, binarised once (dynamic
 * binarisation) from VAE_STREAM_BIN_EVAL */
static lz_status ll_train(const vae_model *mod, vae_workspace *ws, const vae_config *c,
                          const lz_data *train, vae_loglik_result *res, lz_error *err)
{
    size_t n = train->n, rows = 0;
    size_t *idx = malloc(n * sizeof *idx);
    lz_data *sub = NULL;
    gsl_rng *bin = NULL;
    vae_real *x = NULL;
    lz_status st = idx ? LZ_OK : lz_fail(err, LZ_ENOMEM, "evaluation: out of memory");
    if (!st) st = vae_ll_train_rows(n, (size_t)c->iw_train_rows, idx, &rows, err);
    if (!st && !(sub = lz_data_subset(train, idx, rows)))
        st = lz_fail(err, LZ_ENOMEM, "evaluation: out of memory");
    if (!st) st = new_stream(c->seed, VAE_STREAM_BIN_EVAL, &bin, err);
    if (!st) st = vae_prepare(mod, sub, bin, &x, err);
    if (!st) {
        st = loglik_stream(mod, ws, x, rows, (size_t)c->iw, c->seed, VAE_STREAM_IW_TRAIN, res, err);
        st = vae_name_bad_row(st, ws->bad_row, sub, NULL, err);
    }
    free(idx);
    lz_data_free(sub);
    gsl_rng_free(bin);
    free(x);
    return st;
}

/* latent: the encoder means of every row of the evaluation set x (n, d);
 * recon: the first rows as the likelihood sees them, then E[x | z = mu(x)] */
static lz_status latent_recon(const vae_model *mod, vae_workspace *ws, const lz_data *set,
                              const vae_real *x, vae_eval *ev, lz_error *err)
{
    size_t n = set->n, d = mod->a.d, k = mod->a.k, nr = n < VAE_N_RECON ? n : VAE_N_RECON;
    vae_real *z = malloc(nr * k * sizeof *z); /* (nr, k) */
    ev->latent = malloc(n * k * sizeof *ev->latent);
    ev->latent_var = malloc(k * sizeof *ev->latent_var);
    ev->recon = malloc(2 * nr * d * sizeof *ev->recon);
    if (!z || !ev->latent || !ev->latent_var || !ev->recon) {
        free(z);
        return lz_fail(err, LZ_ENOMEM, "evaluation: out of memory");
    }
    vae_encode_means(mod, ws, x, n, ev->latent);
    /* the active units (Burda et al.): which means vary with x */
    ev->active_units = vae_active_units(n, k, ev->latent, ev->latent_var);
    vae_encode(mod, ws, x, nr);
    for (size_t i = 0; i < nr; i++)
        for (size_t j = 0; j < k; j++) z[i * k + j] = ws->head[i * 2 * k + j];
    vae_decode_means(mod, ws, z, nr, ev->recon + nr * d);
    for (size_t i = 0; i < nr; i++)
        for (size_t j = 0; j < d; j++)
            /* inputs as the likelihood models them: Gaussian in data units,
             * Bernoulli after --scale and binarisation */
            ev->recon[i * d + j] =
                mod->a.lik == VAE_GAUSSIAN ? set->x[i * d + j] : (double)x[i * d + j];
    ev->n_recon = nr;
    free(z);
    return LZ_OK;
}

/* samples: E[x | z] for n draws z ~ N(0, I) of VAE_STREAM_PRIOR (drawn as
 * doubles, then rounded to the real type) */
static lz_status prior_draws(const vae_model *mod, vae_workspace *ws, size_t n, unsigned long seed,
                             vae_eval *ev, lz_error *err)
{
    size_t d = mod->a.d, k = mod->a.k;
    double *g = malloc((n ? n : 1) * k * sizeof *g); /* (n, k) */
    vae_real *z = malloc((n ? n : 1) * k * sizeof *z);
    gsl_rng *r = NULL;
    ev->samples = malloc((n ? n : 1) * d * sizeof *ev->samples);
    lz_status st =
        g && z && ev->samples ? LZ_OK : lz_fail(err, LZ_ENOMEM, "evaluation: out of memory");
    if (!st) st = new_stream(seed, VAE_STREAM_PRIOR, &r, err);
    if (!st) {
        lz_rng_gauss(r, n * k, g);
        for (size_t i = 0; i < n * k; i++) z[i] = (vae_real)g[i];
        vae_decode_means(mod, ws, z, n, ev->samples);
        ev->n_samples = n;
    }
    gsl_rng_free(r);
    free(g);
    free(z);
    return st;
}

/* manifold (k = 2): E[x | z] on a G x G grid of normal quantiles, each tile
 * of equal prior mass */
static lz_status manifold(const vae_model *mod, vae_workspace *ws, size_t G, vae_eval *ev,
                          lz_error *err)
{
    size_t d = mod->a.d;
    vae_real *z = malloc(G * G * 2 * sizeof *z); /* (G G, 2) */
    ev->grid_z = malloc(G * G * 2 * sizeof *ev->grid_z);
    ev->grid_x = malloc(G * G * d * sizeof *ev->grid_x);
    if (!z || !ev->grid_z || !ev->grid_x) {
        free(z);
        return lz_fail(err, LZ_ENOMEM, "evaluation: out of memory");
    }
    for (size_t r = 0; r < G; r++)
        for (size_t c = 0; c < G; c++) {
            /* row 1 at the top (largest z2), col 1 at the left (smallest z1) */
            z[(r * G + c) * 2] = (vae_real)gsl_cdf_ugaussian_Pinv((c + 0.5) / (double)G);
            z[(r * G + c) * 2 + 1] = (vae_real)gsl_cdf_ugaussian_Pinv((G - r - 0.5) / (double)G);
        }
    vae_decode_means(mod, ws, z, G * G, ev->grid_x);
    for (size_t i = 0; i < G * G * 2; i++) ev->grid_z[i] = z[i];
    ev->grid = G;
    free(z);
    return LZ_OK;
}

lz_status vae_evaluate(const vae_model *mod, const vae_config *c, const lz_data *train,
                       const vae_real *xtr, const lz_data *test, const vae_real *xte, vae_eval *ev,
                       lz_error *err)
{
    memset(ev, 0, sizeof *ev);
    ev->train = ev->test = (vae_loglik_result){.ll = NAN, .ll_se = NAN, .elbo = NAN, .rows = 0};
    /* K decoder rows at least; blocks of 2048 rows for the means */
    size_t K = (size_t)c->iw;
    vae_workspace *ws = vae_workspace_alloc(mod, K > 2048 ? K : 2048, err);
    if (!ws) return err->status;
    lz_status st = LZ_OK;
    if (test && test->n) {
        st = loglik_stream(mod, ws, xte, test->n, K, c->seed, VAE_STREAM_IW_TEST, &ev->test, err);
        st = vae_name_bad_row(st, ws->bad_row, test, NULL, err);
    }
    if (!st && train && train->n) st = ll_train(mod, ws, c, train, &ev->train, err);
    /* latent and recon: the test set, else the training set binarised once */
    const lz_data *set = test ? test : train;
    const vae_real *x = test ? xte : xtr;
    vae_real *xbin = NULL;
    gsl_rng *bin = NULL;
    if (!st && !test && train && mod->binarize == VAE_BIN_DYNAMIC) {
        st = new_stream(c->seed, VAE_STREAM_BIN_EVAL, &bin, err);
        if (!st) st = vae_prepare(mod, train, bin, &xbin, err);
        x = xbin;
    }
    if (!st && set && set->n) {
        ev->set = set;
        st = latent_recon(mod, ws, set, x, ev, err);
    }
    if (!st) st = prior_draws(mod, ws, (size_t)c->n_samples, c->seed, ev, err);
    if (!st && mod->a.k == 2) st = manifold(mod, ws, (size_t)c->grid, ev, err);
    gsl_rng_free(bin);
    free(xbin);
    vae_workspace_free(ws);
    return st;
}

void vae_eval_free(vae_eval *ev)
{
    free(ev->latent);
    free(ev->latent_var);
    free(ev->recon);
    free(ev->samples);
    free(ev->grid_z);
    free(ev->grid_x);
    ev->latent = ev->latent_var = ev->recon = ev->samples = ev->grid_z = ev->grid_x = NULL;
}
