/* test_vae_stats.c -- statistical truths of the VAE (double-precision core).
 *
 *  - the analytic KL(Q || N(0, I)) equals a Monte-Carlo estimate of
 *    E_q[log q(z) - log p(z)] within 4 standard errors;
 *  - importance weighting (Burda et al. 2015) on a model trained on the
 *    bundled digits (Gaussian and Bernoulli): with K = 1 it is an unbiased
 *    estimate of the ELBO; it is >= the ELBO; it does not fall as K rises;
 *    with many samples it rises clearly above the ELBO;
 *  - on data drawn from a known linear Gaussian model (x = mu + A z + e, e ~
 *    N(0, s2 I)), the linear-decoder Gaussian VAE's test ELBO is below, and
 *    within 0.5 nats of, the exact log-likelihood of the true parameters
 *    (lz_mvn_logpdf of A A^T + s2 I), and the importance-weighted estimate is
 *    closer; for the trained model itself, whose log-likelihood is exact
 *    (x ~ N(b, W W^T + sigma^2 I)), ELBO <= IW <= exact up to Monte-Carlo
 *    error, and the ELBO estimate matches the ELBO in closed form.
 *  - the IWAE training objective (Burda et al.; vae_forward_loss) on the
 *    trained Bernoulli model: its bound rises with K = 1, 2, 5, 20 and stays
 *    below the importance-weighted estimate of log p(x) with K = 2000.
 * Every comparison of estimates is made against its own standard error.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lz_data.h"
#include "lz_prob.h"
#include "vae.h"
#include "lz_check.h"

#ifndef VAE_DOUBLE
#error "this test needs the double-precision build (lznlgm_vae_double)"
#endif

/* mean and standard error of v (n) */
static void mean_se(size_t n, const double *v, double *mean, double *se)
{
    double s = 0, ss = 0;
    for (size_t i = 0; i < n; i++) s += v[i];
    double m = s / (double)n;
    for (size_t i = 0; i < n; i++) ss += (v[i] - m) * (v[i] - m);
    *mean = m;
    *se = sqrt(ss / ((double)n - 1) / (double)n);
}

/* ------------------------------------------------------------------ */

START_TEST(test_kl_matches_monte_carlo)
{
    enum { KD = 4, NS = 200000 };
    gsl_rng *r = lz_rng_alloc(5);
    double head[2 * KD], kl;
    double *v = malloc(NS * sizeof *v), z[KD], e[KD];
    for (int rep = 0; rep < 5; rep++) {
        for (int j = 0; j < KD; j++) {
            head[j] = 2 * gsl_rng_uniform(r) - 1;      /* mu in [-1, 1]   */
            head[KD + j] = 3 * gsl_rng_uniform(r) - 2; /* lv in [-2, 1]   */
        }
        vae_kl_forward(&kl, head, 1, KD);
        for (int s = 0; s < NS; s++) {
            lz_rng_gauss(r, KD, e);
            double lq = 0, lp = 0;
            for (int j = 0; j < KD; j++) {
                double sd = exp(0.5 * head[KD + j]);
                z[j] = head[j] + sd * e[j];
                /* log N(z; mu, sd^2) and log N(z; 0, 1), written out */
                lq += -0.5 * LZ_LOG_2PI - log(sd) -
                      0.5 * (z[j] - head[j]) * (z[j] - head[j]) / (sd * sd);
                lp += -0.5 * LZ_LOG_2PI - 0.5 * z[j] * z[j];
            }
            v[s] = lq - lp;
        }
        double m, se;
        mean_se(NS, v, &m, &se);
        ck_assert_msg(fabs(kl - m) < 4 * se, "KL %.6f vs Monte Carlo %.6f +- %.6f", kl, m, se);
        /* and the estimate is precise enough for the check to mean something */
        ck_assert(se < 0.01 * (kl + 0.1));
    }
    free(v);
    gsl_rng_free(r);
}
END_TEST

/* ------------------------------------------------------------------ */
/* importance weighting on the digits */

static lz_data *load_digits(void)
{
    lz_read_opts ro = {.label_col = LZ_LABEL_LAST, .min_rows = 1};
    lz_data *all = NULL;
    lz_error err;
    ck_assert_msg(lz_data_read(LZ_SRC_DIR "/data/digits.csv", &ro, &all, &err) == LZ_OK, "%s",
                  err.msg);
    return all;
}

static vae_model *train_on_digits(vae_lik lik, lz_data *train, double **xtr, lz_data *test,
                                  double **xte)
{
    vae_config c;
    vae_config_default(&c);
    c.arch.d = train->d;
    c.arch.k = 4;
    c.arch.enc[0] = 32;
    c.arch.dec[0] = 32;
    c.arch.lik = lik;
    c.epochs = 15;
    c.batch = 64;
    c.scale = lik == VAE_BERNOULLI ? 16 : 1;
    c.binarize = lik == VAE_BERNOULLI ? VAE_BIN_THRESHOLD : VAE_BIN_NONE;
    c.seed = 3;
    lz_error err;
    ck_assert_msg(vae_config_check(&c, &err) == LZ_OK, "%s", err.msg);
    vae_model *mod = vae_model_alloc(&c.arch, &err);
    ck_assert_ptr_nonnull(mod);
    ck_assert_msg(vae_set_data_map(mod, &c, train, NULL, &err) == LZ_OK, "%s", err.msg);
    ck_assert_msg(vae_prepare(mod, train, NULL, xtr, &err) == LZ_OK, "%s", err.msg);
    ck_assert_msg(vae_prepare(mod, test, NULL, xte, &err) == LZ_OK, "%s", err.msg);
    ck_assert_msg(vae_init(mod, c.seed, 0, &err) == LZ_OK, "%s", err.msg);
    ck_assert_msg(vae_fit(mod, &c, *xtr, train->n, NULL, 0, NULL, NULL, NULL, &err) == LZ_OK, "%s",
                  err.msg);
    return mod;
}

static void check_iw_properties(vae_lik lik)
{
    lz_data *all = load_digits(), *train, *test;
    lz_error err;
    ck_assert(lz_data_split(all, 0.2, 0, &train, &test, &err) == LZ_OK);
    double *xtr, *xte;
    vae_model *mod = train_on_digits(lik, train, &xtr, test, &xte);
    size_t n = test->n, Kref = 1000;
    static const size_t Ks[] = {1, 5, 50, 500};
    enum { NK = 4 };
    vae_workspace *ws = vae_workspace_alloc(mod, 2048, &err);
    ck_assert_ptr_nonnull(ws);
    double *elbo = malloc(n * sizeof *elbo), *iw[NK], *diff = malloc(n * sizeof *diff);
    gsl_rng *r = lz_rng_alloc_stream(9, 0);
    /* the reference ELBO: analytic KL and 1000 samples of the reconstruction term */
    ck_assert(vae_loglik_rows(mod, ws, xte, n, Kref, r, NULL, elbo, NULL, &err) == LZ_OK);
    for (int q = 0; q < NK; q++) {
        iw[q] = malloc(n * sizeof *iw[q]);
        gsl_rng *rq = lz_rng_alloc_stream(9, 1 + q);
        ck_assert(vae_loglik_rows(mod, ws, xte, n, Ks[q], rq, iw[q], NULL, NULL, &err) == LZ_OK);
        gsl_rng_free(rq);
    }
    double m, se;
    /* K = 1: log w = log p(x|z) + log p(z) - log q(z|x), whose mean is the ELBO */
    for (size_t i = 0; i < n; i++) diff[i] = iw[0][i] - elbo[i];
    mean_se(n, diff, &m, &se);
    printf("%s: IW(1) - ELBO = %.4f +- %.4f\n", lik == VAE_BERNOULLI ? "bernoulli" : "gaussian", m,
           se);
    ck_assert_msg(fabs(m) < 4 * se, "IW(K=1) - ELBO = %.4f +- %.4f: expected 0", m, se);
    for (int q = 0; q < NK; q++) {
        for (size_t i = 0; i < n; i++) diff[i] = iw[q][i] - elbo[i];
        mean_se(n, diff, &m, &se);
        printf("  IW(%zu) - ELBO = %.4f +- %.4f\n", Ks[q], m, se);
        ck_assert_msg(m > -3 * se, "IW(K=%zu) below the ELBO: %.4f +- %.4f", Ks[q], m, se);
        if (q + 1 < NK) {
            for (size_t i = 0; i < n; i++) diff[i] = iw[q + 1][i] - iw[q][i];
            mean_se(n, diff, &m, &se);
            ck_assert_msg(m > -3 * se, "IW(K=%zu) - IW(K=%zu) = %.4f +- %.4f: it fell", Ks[q + 1],
                          Ks[q], m, se);
        }
    }
    /* many samples tighten the bound by a clear margin */
    for (size_t i = 0; i < n; i++) diff[i] = iw[NK - 1][i] - elbo[i];
    mean_se(n, diff, &m, &se);
    ck_assert_msg(m > 5 * se && m > 0.05, "IW(K=500) - ELBO = %.4f +- %.4f: no gain", m, se);
    for (int q = 0; q < NK; q++) free(iw[q]);
    free(elbo);
    free(diff);
    free(xtr);
    free(xte);
    gsl_rng_free(r);
    vae_workspace_free(ws);
    vae_model_free(mod);
    lz_data_free(all);
    lz_data_free(train);
    lz_data_free(test);
}

START_TEST(test_iw_gaussian) { check_iw_properties(VAE_GAUSSIAN); }
END_TEST

START_TEST(test_iw_bernoulli) { check_iw_properties(VAE_BERNOULLI); }
END_TEST

START_TEST(test_iwae_bound_rises_with_k)
{
    lz_data *all = load_digits(), *train, *test;
    lz_error err;
    ck_assert(lz_data_split(all, 0.2, 0, &train, &test, &err) == LZ_OK);
    double *xtr, *xte;
    vae_model *mod = train_on_digits(VAE_BERNOULLI, train, &xtr, test, &xte);
    size_t n = test->n, k = mod->a.k, d = mod->a.d;
    enum { NK = 4, R = 40 };
    static const size_t Ks[NK] = {1, 2, 5, 20};
    vae_workspace *ws = vae_workspace_alloc(mod, 2048, &err);
    ck_assert_ptr_nonnull(ws);
    const vae_loss lo = {VAE_OBJ_IWAE, 1.0, VAE_EST_REPARAM, NULL};
    gsl_rng *r = lz_rng_alloc_stream(9, 20);
    double bound[NK], se[NK];
    for (int q = 0; q < NK; q++) {
        size_t K = Ks[q], chunk = ws->m_max / K;
        double v[R];
        for (int rep = 0; rep < R; rep++) {
            /* L_K per datum over the test set: -objective / n */
            double s = 0;
            for (size_t i0 = 0; i0 < n; i0 += chunk) {
                size_t m = n - i0 < chunk ? n - i0 : chunk;
                lz_rng_gauss(r, K * m * k, ws->eps);
                double rec, kl, obj;
                vae_forward_loss(mod, ws, xte + i0 * d, m, K, &lo, &rec, &kl, &obj);
                s += obj;
            }
            v[rep] = -s / (double)n;
        }
        mean_se(R, v, &bound[q], &se[q]);
        printf("IWAE bound K = %2zu: %.4f +- %.4f\n", K, bound[q], se[q]);
        if (q > 0)
            ck_assert_msg(bound[q] - bound[q - 1] > 3 * hypot(se[q], se[q - 1]),
                          "L_%zu = %.4f +- %.4f not above L_%zu = %.4f +- %.4f", K, bound[q], se[q],
                          Ks[q - 1], bound[q - 1], se[q - 1]);
    }
    vae_loglik_result iw;
    vae_workspace *wl = vae_workspace_alloc(mod, 2000, &err);
    ck_assert(vae_loglik(mod, wl, xte, n, 2000, r, &iw, &err) == LZ_OK);
    printf("IW(K = 2000): %.4f +- %.4f\n", iw.ll, iw.ll_se);
    ck_assert_msg(iw.ll - bound[NK - 1] > 3 * hypot(iw.ll_se, se[NK - 1]),
                  "L_20 = %.4f +- %.4f not below IW(2000) = %.4f +- %.4f", bound[NK - 1],
                  se[NK - 1], iw.ll, iw.ll_se);
    gsl_rng_free(r);
    vae_workspace_free(ws);
    vae_workspace_free(wl);
    vae_model_free(mod);
    free(xtr);
    free(xte);
    lz_data_free(all);
    lz_data_free(train);
    lz_data_free(test);
}
END_TEST

/* ------------------------------------------------------------------ */
/* a known linear Gaussian model */

enum { LD = 8, LK = 2 };

/* n rows x = mu + A z + s e */
static lz_data *draw_lgm(gsl_rng *r, size_t n, const double *mu, const double *A, double s2)
{
    lz_data *dt = calloc(1, sizeof *dt);
    dt->n = n;
    dt->d = LD;
    dt->x = malloc(n * LD * sizeof *dt->x);
    dt->path = strdup("lgm");
    double z[LK], e[LD];
    for (size_t i = 0; i < n; i++) {
        lz_rng_gauss(r, LK, z);
        lz_rng_gauss(r, LD, e);
        for (size_t j = 0; j < LD; j++) {
            double v = mu[j] + sqrt(s2) * e[j];
            for (size_t q = 0; q < LK; q++) v += A[j * LK + q] * z[q];
            dt->x[i * LD + j] = v;
        }
    }
    return dt;
}

static double mean_mvn(const lz_data *x, const double *mu, const double *C)
{
    double *lp = malloc(x->n * sizeof *lp), s = 0;
    lz_error err;
    ck_assert_msg(lz_mvn_logpdf(x->n, x->d, x->x, mu, C, lp, &err) == LZ_OK, "%s", err.msg);
    for (size_t i = 0; i < x->n; i++) s += lp[i];
    free(lp);
    return s / (double)x->n;
}

START_TEST(test_linear_vae_on_lgm_data)
{
    gsl_rng *r = lz_rng_alloc(21);
    double mu[LD], A[LD * LK], C[LD * LD];
    const double s2 = 0.25;
    for (size_t j = 0; j < LD; j++) mu[j] = 4 * gsl_rng_uniform(r) - 2;
    lz_rng_gauss(r, LD * LK, A);
    for (size_t i = 0; i < LD; i++)
        for (size_t j = 0; j < LD; j++) {
            double v = i == j ? s2 : 0;
            for (size_t q = 0; q < LK; q++) v += A[i * LK + q] * A[j * LK + q];
            C[i * LD + j] = v;
        }
    lz_data *train = draw_lgm(r, 5000, mu, A, s2), *test = draw_lgm(r, 2000, mu, A, s2);

    vae_config c;
    vae_config_default(&c);
    c.arch.d = LD;
    c.arch.k = LK;
    c.arch.n_enc = 0; /* linear heads: the LGM's posterior is linear in x */
    c.arch.n_dec = 0;
    c.arch.decoder = VAE_DEC_LINEAR;
    c.arch.lik = VAE_GAUSSIAN;
    c.standardize = VAE_STD_OVERALL; /* the truth's noise is isotropic in the data's units */
    c.epochs = 60;
    c.batch = 100;
    c.lr = 3e-3;
    c.seed = 4;
    lz_error err;
    ck_assert_msg(vae_config_check(&c, &err) == LZ_OK, "%s", err.msg);
    vae_model *mod = vae_model_alloc(&c.arch, &err);
    ck_assert_ptr_nonnull(mod);
    ck_assert(vae_set_data_map(mod, &c, train, NULL, &err) == LZ_OK);
    double *xtr, *xte;
    ck_assert(vae_prepare(mod, train, NULL, &xtr, &err) == LZ_OK);
    ck_assert(vae_prepare(mod, test, NULL, &xte, &err) == LZ_OK);
    ck_assert(vae_init(mod, c.seed, 0, &err) == LZ_OK);
    ck_assert_msg(vae_fit(mod, &c, xtr, train->n, NULL, 0, NULL, NULL, NULL, &err) == LZ_OK, "%s",
                  err.msg);

    size_t n = test->n, K = 1000;
    vae_workspace *ws = vae_workspace_alloc(mod, 4096, &err);
    double *ll = malloc(n * sizeof *ll), *el = malloc(n * sizeof *el),
           *var = malloc(n * sizeof *var);
    gsl_rng *ri = lz_rng_alloc_stream(4, 10);
    ck_assert(vae_loglik_rows(mod, ws, xte, n, K, ri, ll, el, var, &err) == LZ_OK);
    double iw = 0, elbo = 0, v = 0;
    for (size_t i = 0; i < n; i++) {
        iw += ll[i] / (double)n;
        elbo += el[i] / (double)n;
        v += var[i];
    }
    double iw_se = sqrt(v) / (double)n;
    /* vae_loglik is that mean and standard error: the same draws give the
     * same numbers (up to the order of summation) */
    vae_loglik_result res;
    gsl_rng *ri2 = lz_rng_alloc_stream(4, 10);
    ck_assert(vae_loglik(mod, ws, xte, n, K, ri2, &res, &err) == LZ_OK);
    gsl_rng_free(ri2);
    ck_assert_msg(res.rows == n && fabs(res.ll - iw) < 1e-9 && fabs(res.elbo - elbo) < 1e-9 &&
                      fabs(res.ll_se - iw_se) < 1e-12,
                  "vae_loglik %.9f +- %.9f (ELBO %.9f): expected %.9f +- %.9f (ELBO %.9f)", res.ll,
                  res.ll_se, res.elbo, iw, iw_se, elbo);

    /* the truth's log-likelihood on the test set */
    double ll_true = mean_mvn(test, mu, C);
    /* the trained model's exact log-likelihood: x_i = shift_i + scale_i (W z + b + s~ e)_i */
    const double *sc = mod->scale, sg2 = exp((double)*mod->p.log_sigma2);
    double mu_m[LD], C_m[LD * LD];
    const double *W = mod->p.out_w, *b = mod->p.out_b;
    for (size_t i = 0; i < LD; i++) {
        mu_m[i] = mod->shift[i] + sc[i] * b[i];
        for (size_t j = 0; j < LD; j++) {
            double s = 0;
            for (size_t q = 0; q < LK; q++) s += W[i * LK + q] * W[j * LK + q];
            C_m[i * LD + j] = sc[i] * sc[j] * (s + (i == j ? sg2 : 0));
        }
    }
    double ll_model = mean_mvn(test, mu_m, C_m);
    /* the ELBO in closed form for a linear decoder:
     * E_q |x - W z - b|^2 = |x - W mu - b|^2 + sum_q sigma_q^2 |W_.q|^2 (model space) */
    double elbo_cf = 0, s2m = exp(*mod->p.log_sigma2);
    vae_encode(mod, ws, xte, n);
    for (size_t i = 0; i < n; i++) {
        const double *m = ws->head + i * 2 * LK, *lv = m + LK;
        double sq = 0, kl = 0;
        for (size_t j = 0; j < LD; j++) {
            double f = b[j];
            for (size_t q = 0; q < LK; q++) f += W[j * LK + q] * m[q];
            sq += (xte[i * LD + j] - f) * (xte[i * LD + j] - f);
        }
        for (size_t q = 0; q < LK; q++) {
            double cn = 0;
            for (size_t j = 0; j < LD; j++) cn += W[j * LK + q] * W[j * LK + q];
            sq += exp(lv[q]) * cn;
            kl += 0.5 * (exp(lv[q]) + m[q] * m[q] - 1 - lv[q]);
        }
        elbo_cf += (-0.5 * LD * log(2 * M_PI * s2m) - 0.5 * sq / s2m - kl) / (double)n;
    }
    for (size_t i = 0; i < LD; i++) elbo_cf -= log(sc[i]);
    printf("LGM: true ll %.4f, model ll %.4f, ELBO %.4f (closed form %.4f), IW %.4f +- %.4f\n",
           ll_true, ll_model, elbo, elbo_cf, iw, iw_se);

    /* the ELBO below the true log-likelihood, and the IW estimate closer */
    ck_assert_msg(elbo < ll_true, "ELBO %.4f above the true log-likelihood %.4f", elbo, ll_true);
    ck_assert_msg(ll_true - elbo < 0.5, "ELBO %.4f more than 0.5 nats below %.4f", elbo, ll_true);
    ck_assert_msg(fabs(iw - ll_true) < fabs(elbo - ll_true),
                  "IW %.4f no closer than the ELBO %.4f to %.4f", iw, elbo, ll_true);
    /* against the model's own exact likelihood.  The ELBO estimate uses 1000
     * samples per row: its Monte-Carlo error is far below 1e-3 here. */
    ck_assert_msg(fabs(elbo - elbo_cf) < 1e-3, "ELBO estimate %.5f, closed form %.5f", elbo,
                  elbo_cf);
    ck_assert_msg(elbo_cf <= ll_model, "closed-form ELBO %.5f above the exact %.5f", elbo_cf,
                  ll_model);
    ck_assert_msg(iw <= ll_model + 3 * iw_se, "IW %.5f +- %.5f above the exact %.5f", iw, iw_se,
                  ll_model);
    ck_assert_msg(ll_model - iw <= ll_model - elbo_cf, "IW %.5f below the ELBO %.5f", iw, elbo_cf);
    ck_assert_msg(ll_model - iw < 0.02, "IW %.5f: more than 0.02 below the exact %.5f", iw,
                  ll_model);

    free(ll);
    free(el);
    free(var);
    free(xtr);
    free(xte);
    gsl_rng_free(r);
    gsl_rng_free(ri);
    vae_workspace_free(ws);
    vae_model_free(mod);
    lz_data_free(train);
    lz_data_free(test);
}
END_TEST

/* --iw has one limit, the library's (the program checks the same macro) */
START_TEST(test_iw_limit)
{
    vae_config c;
    vae_config_default(&c);
    c.arch.d = 64;
    c.arch.k = 2;
    c.arch.n_enc = c.arch.n_dec = 1;
    c.arch.enc[0] = c.arch.dec[0] = 8;
    lz_error err;
    c.iw = VAE_IW_MAX;
    ck_assert_msg(vae_config_check(&c, &err) == LZ_OK, "%s", err.msg);
    c.iw = VAE_IW_MAX + 1;
    ck_assert_int_eq(vae_config_check(&c, &err), LZ_EINVAL);
    char want[64];
    snprintf(want, sizeof want, "--iw %d: expected 1 .. %d", VAE_IW_MAX + 1, VAE_IW_MAX);
    ck_assert_str_eq(err.msg, want);
    c.iw = 0;
    ck_assert_int_eq(vae_config_check(&c, &err), LZ_EINVAL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("vae_stats");
    TCase *tc = tcase_create("stats");
    tcase_add_test(tc, test_kl_matches_monte_carlo);
    tcase_add_test(tc, test_iw_gaussian);
    tcase_add_test(tc, test_iw_bernoulli);
    tcase_add_test(tc, test_iwae_bound_rises_with_k);
    tcase_add_test(tc, test_linear_vae_on_lgm_data);
    tcase_add_test(tc, test_iw_limit);
    suite_add_tcase(s, tc);
    return lz_check_main(s);
}
