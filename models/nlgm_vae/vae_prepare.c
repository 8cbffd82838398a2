/* vae_prepare.c -- the map between the data and the VAE's model space (see
 * vae.h; docs/vae.md, "Units, scaling and binarising"): fixed from the
 * training data, applied to every data set before the network sees it, and
 * undone on everything reported.  This file calls no other file of the
 * library.
 */
#include "vae.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_rng.h>

#include "lz_out.h"
#include "lz_prob.h"

/* A Gaussian VAE's standardised value x~ beyond this many units is refused:
 * the network is single precision (floats end at 3.4e38), its activations
 * grow about linearly in x~ through each layer and the loss squares them,
 * so 1e8 keeps a margin of many orders; a training row of n rows lies at
 * most sqrt(n) units out.  Beyond it the loss overflowed to inf or NaN. */
#define VAE_FAR_MAX 1e8

/* data has the model's d columns; Bernoulli: every value in [0, 1] after the
 * scale; Gaussian: |x~| <= VAE_FAR_MAX; or an error naming where it is and
 * what to do */
static lz_status check_data(const vae_model *mod, const lz_data *data, lz_error *err)
{
    if (data->d != mod->a.d)
        return lz_fail(err, LZ_EINVAL, "%s: %zu columns: expected d = %zu as the model", data->path,
                       data->d, mod->a.d);
    if (mod->a.lik != VAE_BERNOULLI) {
        /* Gaussian: |x~| <= VAE_FAR_MAX, what the float network carries */
        for (size_t k = 0; k < data->n * data->d; k++) {
            size_t j = k % data->d;
            double v = (data->x[k] - mod->shift[j]) / mod->scale[j];
            if (fabs(v) <= VAE_FAR_MAX) continue;
            char where[256], xs[32];
            lz_data_where(data, k / data->d, j, where, sizeof where);
            return lz_fail(err, LZ_EINVAL,
                           "%s: value %s is %.3g standardised units (--standardize) from the "
                           "column's training mean: the single-precision network holds at most "
                           "%g (rescale the column, or leave the row out)",
                           where, lz_num_str(data->x[k], xs, sizeof xs), v, VAE_FAR_MAX);
        }
        return LZ_OK;
    }
    double lo, hi, s = mod->scale[0]; /* Bernoulli: one scale, --scale */
    lz_data_range(data, &lo, &hi);
    /* the first value below 0 when there is one (--scale cannot mend it),
     * else the first above 1 */
    for (int pass = lo >= 0; pass < 2; pass++)
        for (size_t k = 0; k < data->n * data->d; k++) {
            size_t i = k / data->d, j = k % data->d;
            double x = data->x[k], v = (x - mod->shift[j]) / s;
            if (pass ? v >= 0 && v <= 1 : !(v < 0)) continue;
            char scl[64] = "", where[256], xs[32], his[32], los[32], scs[32];
            if (s != 1)
                snprintf(scl, sizeof scl, " after %s--scale %g",
                         mod->map_file ? "the model's " : "", s);
            lz_data_where(data, i, j, where, sizeof where);
            /* values printed so that they read back exactly: --scale MAX then
             * maps every value to x / MAX <= 1 */
            lz_num_str(x, xs, sizeof xs);
            lz_num_str(hi, his, sizeof his);
            lz_num_str(lo, los, sizeof los);
            /* a loaded model keeps its --scale and likelihood: options
             * that would change them are not the way out */
            char fix[512];
            if (mod->map_file)
                snprintf(fix, sizeof fix,
                         "the model %s divides by its --scale %s and keeps its Bernoulli "
                         "likelihood under --load: give the file in the units of its training "
                         "data, or train a model on it",
                         mod->map_file, lz_num_str(s, scs, sizeof scs));
            else if (pass)
                snprintf(fix, sizeof fix,
                         "use --scale %s (and --binarize threshold|dynamic for binary data), or "
                         "--likelihood gaussian",
                         his);
            else
                snprintf(fix, sizeof fix,
                         "rescale the file to [0, 1], or use --likelihood gaussian");
            if (pass)
                return lz_fail(err, LZ_EINVAL,
                               "%s: value %s%s is above 1: the Bernoulli likelihood "
                               "needs data in [0, 1] and the data's maximum is %s: %s",
                               where, xs, scl, his, fix);
            return lz_fail(err, LZ_EINVAL,
                           "%s: value %s%s is below 0: the Bernoulli likelihood needs "
                           "data in [0, 1] and the data range over [%s, %s]: %s",
                           where, xs, scl, los, his, fix);
        }
    return LZ_OK;
}

lz_status vae_set_data_map(vae_model *mod, const vae_config *c, const lz_data *train, double *var,
                           lz_error *err)
{
    size_t d = train->d;
    if (d != mod->a.d)
        return lz_fail(err, LZ_EINVAL, "%s: %zu columns: expected d = %zu", train->path, d,
                       mod->a.d);
    mod->binarize = c->binarize;
    mod->standardize = c->standardize;
    if (mod->a.lik == VAE_BERNOULLI) {
        memset(mod->shift, 0, d * sizeof *mod->shift);
        for (size_t j = 0; j < d; j++) mod->scale[j] = c->scale;
        return LZ_OK;
    }
    double *v = var ? var : malloc(d * sizeof *v);
    if (!v) return lz_fail(err, LZ_ENOMEM, "%s: out of memory", train->path);
    size_t n_const = 0;
    lz_status st = lz_data_moments(train, mod->shift, v, &n_const, err);
    double ss = 0;
    for (size_t j = 0; j < d; j++) ss += v[j];
    for (size_t j = 0; !st && j < d; j++) {
        /* column: scale_j = sd_j; a constant column |mu_j|, or 1 when it is 0
         * (its values are then exactly 0 after the shift, whatever its units).
         * overall: scale^2 = (1/d) sum_j var_j = (1/(n d)) sum_ij (x_ij - mu_j)^2 */
        double mu = fabs(mod->shift[j]);
        mod->scale[j] = c->standardize == VAE_STD_OVERALL ? sqrt(ss / (double)d)
                        : v[j] > 0                        ? sqrt(v[j])
                        : mu > 0                          ? mu
                                                          : 1.0;
    }
    if (!var) free(v);
    if (st) return st;
    if (n_const == d || !(ss > 0) || !isfinite(ss))
        return lz_fail(err, LZ_EINVAL,
                       "%s: every column is constant: a Gaussian VAE needs data that vary",
                       train->path);
    return LZ_OK;
}

lz_status vae_prepare(const vae_model *mod, const lz_data *data, gsl_rng *bin, vae_real **out,
                      lz_error *err)
{
    *out = NULL;
    lz_status st = check_data(mod, data, err);
    if (st) return st;
    size_t n = data->n, d = data->d;
    vae_real *x = malloc((n ? n : 1) * d * sizeof *x); /* (n, d) */
    if (!x) return lz_fail(err, LZ_ENOMEM, "%s: out of memory for the data", data->path);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++) {
            /* x~_j = (x_j - shift_j) / scale_j */
            double v = (data->x[i * d + j] - mod->shift[j]) / mod->scale[j];
            if (mod->a.lik == VAE_BERNOULLI) {
                /* threshold: x~ > 1/2;  dynamic, drawn once: x~ ~ Bernoulli(x~) */
                if (mod->binarize == VAE_BIN_THRESHOLD)
                    v = v > 0.5 ? 1 : 0;
                else if (mod->binarize == VAE_BIN_DYNAMIC && bin)
                    v = gsl_rng_uniform(bin) < v ? 1 : 0;
            }
            x[i * d + j] = (vae_real)v;
        }
    *out = x;
    return LZ_OK;
}

void vae_to_data_space(const vae_model *mod, size_t m, const vae_real *a, double *x)
{
    size_t d = mod->a.d;
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < d; j++) {
            double v = a[i * d + j];
            /* Bernoulli: E[x | z] = sigm(a);  Gaussian: E[x_j | z] = shift_j + scale_j a_j */
            x[i * d + j] =
                mod->a.lik == VAE_BERNOULLI ? lz_sigmoid(v) : mod->shift[j] + mod->scale[j] * v;
        }
}

double vae_ll_offset(const vae_model *mod)
{
    /* x_j = shift_j + scale_j x~_j: p(x) = p~(x~) / prod_j scale_j */
    if (mod->a.lik != VAE_GAUSSIAN) return 0.0;
    if (mod->standardize == VAE_STD_OVERALL) return -(double)mod->a.d * log(mod->scale[0]);
    double off = 0;
    for (size_t j = 0; j < mod->a.d; j++) off -= log(mod->scale[j]);
    return off;
}
