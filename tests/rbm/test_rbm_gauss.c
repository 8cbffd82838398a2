/* test_rbm_gauss.c -- Gaussian visible units, the likelihood bracket and
 * parallel tempering against independent truth:
 *   - the energy E(v, h) = sum_i (v_i - c_i)^2 / (2 sigma_i^2) - b^T h
 *     - sum_ij (v_i / sigma_i^2) W_ji h_j summed over h and integrated over v
 *     on a grid (d = 2, H = 3): free energy, log Z, the conditionals, and the
 *     tempered RBMs of AIS and PT (binary ones by sums over every v);
 *   - the update's data term against finite differences of the free energy;
 *   - Gibbs samples against the exact mean;
 *   - parallel tempering's replicas against the exact tempered marginals of
 *     h, on a two-mode RBM where PCD's chains stay in their mode; PT with one
 *     replica is PCD;
 *   - on the digits (H = 14), exact log-likelihood inside the bracket
 *     [reverse AIS, AIS], which narrows as the steps grow.
 * docs/rbm.md, "Tests".
 *
 * Dimension letters: n samples, d visible, h hidden, R replicas.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lz_blas.h" /* before any GSL header */
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "lz_check.h"
#include "lz_data.h"
#include "lz_error.h"
#include "lz_prob.h"
#include "rbm.h"
#include "rbm_impl.h"

/* ---------------------------------------------------------------------- */
/* helpers */

/* x rounded to float and back.  Through a volatile: Debian's gcc 12.2 at -O2
 * drops the conversions of `float x[2] = {(float)a, (float)b}; double v[2] =
 * {x[0], x[1]};` altogether (its SLP vectoriser forwards a and b), so that
 * the brute force would see other rows than the library. */
static double f32(double x)
{
    volatile float f = (float)x;
    return f;
}

/* A Gaussian-Bernoulli RBM: W ~ N(0, sw^2), b, c, base ~ N(0, sb^2), z =
 * log sigma^2 ~ U(-sz, sz) (sz = 0: sigma fixed at 1) */
static rbm_model *gauss_model(size_t d, size_t h, double sw, double sb, double sz,
                              unsigned long seed)
{
    rbm_model *m = rbm_model_alloc(d, h);
    ck_assert_ptr_nonnull(m);
    m->visible = RBM_VIS_GAUSSIAN;
    m->sigma = sz > 0 ? RBM_SIGMA_LEARN : RBM_SIGMA_FIXED;
    gsl_rng *r = lz_rng_alloc(seed);
    for (size_t k = 0; k < h * d; k++) m->w[k] = (float)gsl_ran_gaussian(r, sw);
    for (size_t j = 0; j < h; j++) m->b[j] = (float)gsl_ran_gaussian(r, sb);
    for (size_t i = 0; i < d; i++) {
        m->c[i] = (float)gsl_ran_gaussian(r, sb);
        m->z[i] = (float)(sz * (2 * gsl_rng_uniform(r) - 1));
        m->base[i] = gsl_ran_gaussian(r, sb);
    }
    gsl_rng_free(r);
    return m;
}

/* A binary RBM with the same draws (z unused) */
static rbm_model *binary_model(size_t d, size_t h, double sw, double sb, unsigned long seed)
{
    rbm_model *m = gauss_model(d, h, sw, sb, 0, seed);
    m->visible = RBM_VIS_BERNOULLI;
    return m;
}

/* E(v, h) by plain loops: Gaussian units as in the file's head; binary
 * -h^T W v - c^T v - b^T h; h a bit mask */
static double energy(const rbm_model *m, const double *v, unsigned long hh)
{
    size_t d = m->d, h = m->h;
    int gauss = m->visible == RBM_VIS_GAUSSIAN;
    double e = 0, u[16]; /* u = v / sigma^2 */
    for (size_t i = 0; i < d; i++) {
        double s2 = gauss ? exp((double)m->z[i]) : 1.0;
        e += gauss ? (v[i] - m->c[i]) * (v[i] - m->c[i]) / (2 * s2) : -(double)m->c[i] * v[i];
        u[i] = v[i] / s2;
    }
    for (size_t j = 0; j < h; j++) {
        if (!(hh >> j & 1)) continue;
        e -= m->b[j];
        for (size_t i = 0; i < d; i++) e -= u[i] * m->w[j * d + i];
    }
    return e;
}

/* The tempered energy of AIS and PT: (1 - beta) E_A(v) + beta E(v, h),
 * E_A = |v - base|^2 / 2 (Gaussian) or -base^T v (binary) */
static double energy_beta(const rbm_model *m, const double *v, unsigned long hh, double beta)
{
    double ea = 0;
    for (size_t i = 0; i < m->d; i++)
        ea += m->visible == RBM_VIS_GAUSSIAN ? 0.5 * (v[i] - m->base[i]) * (v[i] - m->base[i])
                                             : -m->base[i] * v[i];
    return (1 - beta) * ea + beta * energy(m, v, hh);
}

/* The integrals over v in R^2 on a grid: trapezoid sums of step GS over
 * [-GL, GL]^2, exact to rounding for the smooth, fast-decaying Gaussian
 * mixtures integrated here (the rule's error on a Gaussian of sd s falls
 * like exp(-2 pi^2 s^2 / GS^2), below e^-100 for the sds s >= 0.7 here,
 * and the integrands are below e^-40 of their peak at the edges: means
 * within 6 of 0, sds below 1.3). */
#define GL 16.0
#define GS 0.1

/* log of the integral of exp(-E_beta(v, h)) over v (hh: one h; -1: summed
 * over every h), and, when mom != NULL, mom[0..1] = E[v_i], mom[2..3] =
 * Var[v_i] under it */
static double grid_log_int(const rbm_model *m, long hh, double beta, double *mom)
{
    ck_assert_uint_eq(m->d, 2);
    int ng = (int)lround(2 * GL / GS) + 1;
    unsigned long nh = 1UL << m->h;
    double mx = -INFINITY;
    for (int pass = 0; pass < 2; pass++) {
        double s = 0, s1[2] = {0, 0}, s2[2] = {0, 0};
        for (int a = 0; a < ng; a++)
            for (int b = 0; b < ng; b++) {
                double v[2] = {-GL + a * GS, -GL + b * GS}, f = 0, fmaxh = -INFINITY;
                if (hh >= 0) {
                    f = -energy_beta(m, v, (unsigned long)hh, beta);
                } else { /* log sum_h exp(-E_beta) */
                    double lv[64];
                    for (unsigned long k = 0; k < nh; k++) {
                        lv[k] = -energy_beta(m, v, k, beta);
                        fmaxh = fmax(fmaxh, lv[k]);
                    }
                    double t = 0;
                    for (unsigned long k = 0; k < nh; k++) t += exp(lv[k] - fmaxh);
                    f = fmaxh + log(t);
                }
                if (pass == 0) {
                    mx = fmax(mx, f);
                    continue;
                }
                double w = exp(f - mx);
                s += w;
                for (int i = 0; i < 2; i++) {
                    s1[i] += w * v[i];
                    s2[i] += w * v[i] * v[i];
                }
            }
        if (pass == 0) continue;
        if (mom)
            for (int i = 0; i < 2; i++) {
                mom[i] = s1[i] / s;
                mom[2 + i] = s2[i] / s - mom[i] * mom[i];
            }
        return mx + log(s * GS * GS);
    }
    return NAN;
}

/* log of sum over v in {0,1}^d of exp(-E_beta(v, h)); pv1 (d) <- p(v_i = 1 | h)
 * under it when not NULL */
static double binary_log_sum_v(const rbm_model *m, unsigned long hh, double beta, double *pv1)
{
    size_t d = m->d;
    double mx = -INFINITY, s = 0, si[16] = {0};
    for (unsigned long vv = 0; vv < 1UL << d; vv++) {
        double v[16] = {0};
        for (size_t i = 0; i < d; i++) v[i] = (double)(vv >> i & 1);
        mx = fmax(mx, -energy_beta(m, v, hh, beta));
    }
    for (unsigned long vv = 0; vv < 1UL << d; vv++) {
        double v[16] = {0};
        for (size_t i = 0; i < d; i++) v[i] = (double)(vv >> i & 1);
        double w = exp(-energy_beta(m, v, hh, beta) - mx);
        s += w;
        for (size_t i = 0; i < d; i++) si[i] += w * v[i];
    }
    if (pv1)
        for (size_t i = 0; i < d; i++) pv1[i] = si[i] / s;
    return mx + log(s);
}

/* p (2^H) <- the exact tempered marginal p_beta(h) of every h, by the grid
 * (Gaussian, d = 2) or by sums over v (binary) */
static void exact_marginal_h(const rbm_model *m, double beta, double *p)
{
    unsigned long nh = 1UL << m->h;
    double lg[64], mx = -INFINITY, s = 0;
    for (unsigned long k = 0; k < nh; k++) {
        lg[k] = m->visible == RBM_VIS_GAUSSIAN ? grid_log_int(m, (long)k, beta, NULL)
                                               : binary_log_sum_v(m, k, beta, NULL);
        mx = fmax(mx, lg[k]);
    }
    for (unsigned long k = 0; k < nh; k++) s += p[k] = exp(lg[k] - mx);
    for (unsigned long k = 0; k < nh; k++) p[k] /= s;
}

/* a = W^T h (d) in float, h a bit mask, as the callers of
 * rbm_tempered_log_marginal_h compute it (hs W) */
static void wt_h(const rbm_model *m, unsigned long hh, float *hs, float *a)
{
    for (size_t j = 0; j < m->h; j++) hs[j] = (float)(hh >> j & 1);
    for (size_t i = 0; i < m->d; i++) {
        double s = 0;
        for (size_t j = 0; j < m->h; j++) s += (double)m->w[j * m->d + i] * hs[j];
        a[i] = (float)s;
    }
}

/* ---------------------------------------------------------------------- */
/* Gaussian units against the energy, d = 2, H = 3 */

START_TEST(test_gaussian_brute_force)
{
    const size_t d = 2, h = 3;
    lz_error err;
    for (unsigned long seed = 1; seed <= 3; seed++) {
        rbm_model *m = gauss_model(d, h, 1.0, 1.0, seed == 3 ? 0.0 : 0.5, seed);
        rbm_eval *ev = rbm_eval_alloc(d, h, 20, &err);
        ck_assert_ptr_nonnull(ev);
        rbm_eval_sync(ev, m);
        /* log Z = log int sum_h exp(-E(v, h)) dv on the grid */
        double lz, lz_grid = grid_log_int(m, -1, 1.0, NULL);
        ck_assert_int_eq(rbm_eval_log_z(ev, RBM_ENUM_AUTO, &lz, &err), LZ_OK);
        ck_assert_msg(fabs(lz - lz_grid) <= 1e-9 * (1 + fabs(lz)),
                      "seed %lu: log Z %.15g, grid %.15g", seed, lz, lz_grid);
        /* v is integrated, never enumerated */
        ck_assert_int_eq(rbm_eval_log_z(ev, RBM_ENUM_VISIBLE, &lz, &err), LZ_EINVAL);
        gsl_rng *r = lz_rng_alloc(10 + seed);
        float is2[2], hs[3], u[2];
        rbm_inv_sigma2_f(m, is2);
        for (int t = 0; t < 6; t++) {
            double v[2]; /* the float row the library sees, x, in double */
            float x[2];
            for (size_t i = 0; i < d; i++) x[i] = (float)(v[i] = f32(gsl_ran_gaussian(r, 2.0)));
            /* F(v) = -log sum_h exp(-E(v, h)) */
            double s = 0, sj[3] = {0, 0, 0}, f;
            for (unsigned long hh = 0; hh < 1UL << h; hh++) {
                double p = exp(-energy(m, v, hh));
                s += p;
                for (size_t j = 0; j < h; j++)
                    if (hh >> j & 1) sj[j] += p;
            }
            rbm_eval_free_energy(ev, 1, x, &f);
            ck_assert_msg(fabs(f + log(s)) <= 1e-12 * (1 + fabs(f)),
                          "seed %lu, v = (%.9g, %.9g): F = %.17g, brute force %.17g", seed, v[0],
                          v[1], f, -log(s));
            /* p(h_j = 1 | v) = sum_{h: h_j = 1} exp(-E) / sum_h exp(-E) */
            double ph[3];
            float phf[3];
            rbm_eval_hidden(ev, 1, x, ph);
            rbm_hidden_f(m, 1, rbm_scale_visible_f(m, 1, x, is2, u), phf);
            for (size_t j = 0; j < h; j++) {
                ck_assert_msg(fabs(ph[j] - sj[j] / s) <= 1e-13, "p(h_%zu | v) = %.17g, want %.17g",
                              j, ph[j], sj[j] / s);
                ck_assert_msg(fabs(phf[j] - sj[j] / s) <= 2e-6, "float p(h_%zu | v) = %.9g", j,
                              phf[j]);
            }
        }
        /* p(v | h): the mean and variance of exp(-E(v, h)) over v, on the grid */
        for (unsigned long hh = 0; hh < 1UL << h; hh++) {
            double mom[4], hd[3], pv[2];
            float pvf[2];
            grid_log_int(m, (long)hh, 1.0, mom);
            for (size_t j = 0; j < h; j++) hd[j] = hs[j] = (float)(hh >> j & 1);
            rbm_eval_visible(ev, 1, hd, pv);
            rbm_visible_f(m, 1, hs, pvf);
            for (size_t i = 0; i < d; i++) {
                ck_assert_msg(fabs(pv[i] - mom[i]) <= 1e-9,
                              "E[v_%zu | h = %lu] = %.15g, grid %.15g", i, hh, pv[i], mom[i]);
                ck_assert_msg(fabs(pvf[i] - mom[i]) <= 1e-5, "float E[v_%zu | h] = %.9g", i,
                              pvf[i]);
                double s2 = exp((double)m->z[i]);
                ck_assert_msg(fabs(mom[2 + i] - s2) <= 1e-9,
                              "Var[v_%zu | h = %lu]: grid %.15g, "
                              "sigma^2 %.15g",
                              i, hh, mom[2 + i], s2);
            }
        }
        gsl_rng_free(r);
        rbm_eval_free(ev);
        rbm_model_free(m);
    }
}
END_TEST

/* ---------------------------------------------------------------------- */
/* the tempered RBMs of AIS and PT against their energy */

static void check_tempered(rbm_model *m, const char *what)
{
    size_t d = m->d, h = m->h;
    int gauss = m->visible == RBM_VIS_GAUSSIAN;
    const double betas[] = {0.0, 0.3, 0.8, 1.0};
    float is2[16], hs[16], a[16], pvf[16], sd[16], phf[16], u[16];
    rbm_inv_sigma2_f(m, is2);
    gsl_rng *r = lz_rng_alloc(77);
    for (size_t bi = 0; bi < 4; bi++) {
        double beta = betas[bi];
        /* p_beta(h_j = 1 | v): sum over h of exp(-E_beta(v, h)) */
        for (int t = 0; t < 4; t++) {
            double v[16];
            float x[16];
            for (size_t i = 0; i < d; i++)
                x[i] = (float)(v[i] = gauss ? f32(gsl_ran_gaussian(r, 2.0))
                                            : (double)(gsl_rng_uniform(r) < 0.5));
            double s = 0, sj[16] = {0};
            for (unsigned long hh = 0; hh < 1UL << h; hh++) {
                double p = exp(-energy_beta(m, v, hh, beta));
                s += p;
                for (size_t j = 0; j < h; j++)
                    if (hh >> j & 1) sj[j] += p;
            }
            rbm_hidden_beta_f(m, 1, rbm_scale_visible_f(m, 1, x, is2, u), (float)beta, phf);
            for (size_t j = 0; j < h; j++)
                ck_assert_msg(fabs(phf[j] - sj[j] / s) <= 2e-6,
                              "%s, beta %g: p(h_%zu | v) = %.9g, "
                              "want %.9g",
                              what, beta, j, phf[j], sj[j] / s);
        }
        /* p_beta(v | h) and the marginal of h, against the grid or the sum over v */
        double g0 = 0, lg0 = 0;
        rbm_visible_sd_f(m, (float)beta, sd);
        for (unsigned long hh = 0; hh < 1UL << h; hh++) {
            double mom[4], pv1[16], g;
            double lg =
                gauss ? grid_log_int(m, (long)hh, beta, mom) : binary_log_sum_v(m, hh, beta, pv1);
            wt_h(m, hh, hs, a);
            rbm_visible_beta_f(m, 1, hs, (float)beta, is2, pvf);
            rbm_tempered_log_marginal_h(m, beta, 1, hs, a, &g);
            for (size_t i = 0; i < d; i++) {
                double want = gauss ? mom[i] : pv1[i];
                ck_assert_msg(fabs(pvf[i] - want) <= 1e-5 * (1 + fabs(want)),
                              "%s, beta %g, h = %lu: visible conditional %zu = %.9g, want %.12g",
                              what, beta, hh, i, pvf[i], want);
                if (gauss)
                    ck_assert_msg(fabs((double)sd[i] * sd[i] - mom[2 + i]) <= 1e-5 * mom[2 + i],
                                  "%s, beta %g: Var[v_%zu | h] = %.9g, grid %.12g", what, beta, i,
                                  (double)sd[i] * sd[i], mom[2 + i]);
            }
            /* the marginal up to a constant of beta: differences between h */
            if (hh == 0) {
                g0 = g;
                lg0 = lg;
                continue;
            }
            ck_assert_msg(fabs((g - g0) - (lg - lg0)) <= 1e-5 * (1 + fabs(lg - lg0)),
                          "%s, beta %g, h = %lu: log p(h) - log p(0) = %.12g, want %.12g", what,
                          beta, hh, g - g0, lg - lg0);
        }
    }
    gsl_rng_free(r);
}

START_TEST(test_tempered_conditionals)
{
    for (unsigned long seed = 1; seed <= 2; seed++) {
        rbm_model *g = gauss_model(2, 3, 1.0, 1.0, 0.5, 20 + seed),
                  *b = binary_model(4, 3, 1.5, 1.0, 30 + seed);
        check_tempered(g, "Gaussian");
        check_tempered(b, "binary");
        rbm_model_free(g);
        rbm_model_free(b);
    }
}
END_TEST

/* ---------------------------------------------------------------------- */
/* the update's data term against finite differences of the free energy */

/* mean F over the rows x (n, d) under m */
static double mean_f(const rbm_model *m, size_t n, const float *x)
{
    lz_error err;
    rbm_eval *ev = rbm_eval_alloc(m->d, m->h, 0, &err);
    ck_assert_ptr_nonnull(ev);
    rbm_eval_sync(ev, m);
    double f = rbm_eval_free_energy(ev, n, x, NULL);
    rbm_eval_free(ev);
    return f;
}

static rbm_model *model_copy(const rbm_model *m)
{
    rbm_model *c = rbm_model_alloc(m->d, m->h);
    ck_assert_ptr_nonnull(c);
    c->visible = m->visible;
    c->sigma = m->sigma;
    memcpy(c->mem, m->mem, (m->h * m->d + m->h + 2 * m->d) * sizeof *c->mem);
    memcpy(c->dmem, m->dmem, 3 * m->d * sizeof *c->dmem);
    return c;
}

START_TEST(test_gaussian_gradient_fd)
{
    /* PCD chains carrying on (start = 0) do not look at the minibatch: from
     * the same chains, two updates on minibatches x1 and x2 differ by the
     * data terms only, G(x1) - G(x2) = -(grad mean F(x1) - grad mean F(x2)),
     * for W, b, c and z (sigma learned) */
    const size_t d = 5, h = 4, mb = 6, np = d * h + h + 2 * d;
    lz_error err;
    for (int learn = 0; learn <= 1; learn++) {
        rbm_model *m = gauss_model(d, h, 0.5, 0.5, learn ? 0.5 : 0.0, 40 + learn);
        rbm_config c;
        rbm_config_default(&c);
        c.h = (int)h;
        c.visible = RBM_VIS_GAUSSIAN;
        c.sigma = learn ? RBM_SIGMA_LEARN : RBM_SIGMA_FIXED;
        c.sigma_min = 1e-3;
        c.pcd = 1;
        c.momentum = 0;
        gsl_rng *r = lz_rng_alloc(50);
        float x1[30], x2[30], vel[64] = {0};
        for (size_t k = 0; k < mb * d; k++) {
            x1[k] = (float)gsl_ran_gaussian(r, 1.5);
            x2[k] = (float)gsl_ran_gaussian(r, 1.5);
        }
        rbm_chains *c1 = rbm_chains_alloc(8, h, 1, 3);
        for (size_t k = 0; k < 8 * h; k++) c1->hs[k] = (float)(gsl_rng_uniform(r) < 0.5);
        rbm_chains *c2 = rbm_chains_copy(c1);
        rbm_model *m1 = model_copy(m), *m2 = model_copy(m);
        ck_assert_int_eq(rbm_cd_step_ref(m1, vel, &c, 1.0, mb, x1, c1, 0, &err), LZ_OK);
        ck_assert_int_eq(rbm_cd_step_ref(m2, vel, &c, 1.0, mb, x2, c2, 0, &err), LZ_OK);
        ck_assert(memcmp(c1->hs, c2->hs, 8 * h * sizeof *c1->hs) == 0); /* the same chains */
        size_t nq = rbm_n_params(m);
        ck_assert_uint_eq(nq, learn ? np : np - d);
        for (size_t q = 0; q < nq; q++) {
            /* central differences of D = mean F(x1) - mean F(x2), step 2^-10
             * (exact in float): truncation ~1e-7 */
            rbm_model *p = model_copy(m), *n = model_copy(m);
            p->mem[q] += 0x1p-10f;
            n->mem[q] -= 0x1p-10f;
            double dp = mean_f(p, mb, x1) - mean_f(p, mb, x2),
                   dn = mean_f(n, mb, x1) - mean_f(n, mb, x2);
            double want = -(dp - dn) / ((double)p->mem[q] - n->mem[q]);
            double got = (double)m1->mem[q] - m2->mem[q];
            /* the updates are rounded to float once each: a few U of |theta| + |G| */
            double tol =
                1e-5 * (1 + fabs(want)) + 4 * 0x1p-24 * (fabs(m1->mem[q]) + fabs(m2->mem[q]));
            ck_assert_msg(fabs(got - want) <= tol,
                          "sigma %s, parameter %zu: update difference %.9g, "
                          "finite differences %.9g",
                          learn ? "learned" : "fixed", q, got, want);
            rbm_model_free(p);
            rbm_model_free(n);
        }
        /* fixed sigmas stay at 1 */
        for (size_t i = 0; !learn && i < d; i++) ck_assert(m1->z[i] == 0.0f);
        rbm_chains_free(c1);
        rbm_chains_free(c2);
        rbm_model_free(m);
        rbm_model_free(m1);
        rbm_model_free(m2);
        gsl_rng_free(r);
    }
}
END_TEST

/* ---------------------------------------------------------------------- */
/* Gibbs samples of Gaussian units: the exact mean, in the data's units */

START_TEST(test_gaussian_samples)
{
    const size_t d = 2, h = 3, n = 20000;
    lz_error err;
    rbm_model *m = gauss_model(d, h, 1.0, 0.7, 0.4, 60);
    m->shift[0] = 3.0;
    m->shift[1] = -100.0;
    m->scale[0] = 0.5;
    m->scale[1] = 1000.0;
    double ph[8], *pv = malloc(n * d * sizeof *pv);
    exact_marginal_h(m, 1.0, ph);
    ck_assert_int_eq(rbm_sample(m, n, 20, 5, pv, &err), LZ_OK);
    for (size_t i = 0; i < d; i++) {
        /* E[x_i] = shift_i + scale_i sum_h p(h) (c_i + W_.i^T h) */
        double want = 0;
        for (unsigned long hh = 0; hh < 1UL << h; hh++) {
            double mean = m->c[i];
            for (size_t j = 0; j < h; j++) mean += (hh >> j & 1) ? m->w[j * d + i] : 0.0f;
            want += ph[hh] * mean;
        }
        want = m->shift[i] + m->scale[i] * want;
        double s = 0, s2 = 0;
        for (size_t t = 0; t < n; t++) {
            s += pv[t * d + i];
            s2 += pv[t * d + i] * pv[t * d + i];
        }
        double mean = s / n, se = sqrt((s2 / n - mean * mean) / n);
        ck_assert_msg(fabs(mean - want) <= 5 * se, "E[x_%zu]: chains %.6g +- %.3g, exact %.6g", i,
                      mean, se, want);
    }
    free(pv);
    rbm_model_free(m);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* parallel tempering */

/* the frequencies of the 2^H hidden states in rows hs (n, h) */
static void histogram(size_t n, size_t h, const float *hs, double *f)
{
    for (unsigned long k = 0; k < 1UL << h; k++) f[k] = 0;
    for (size_t t = 0; t < n; t++) {
        unsigned long k = 0;
        for (size_t j = 0; j < h; j++) k |= (unsigned long)(hs[t * h + j] > 0.5f) << j;
        f[k] += 1.0 / (double)n;
    }
}

/* the largest |f - p| / se over the states, se = sqrt(p (1 - p) / n) */
static double worst_z(size_t n, unsigned long ns, const double *f, const double *p)
{
    double z = 0;
    for (unsigned long k = 0; k < ns; k++) {
        double se = sqrt(p[k] * (1 - p[k]) / (double)n) + 1e-9;
        z = fmax(z, fabs(f[k] - p[k]) / se);
    }
    return z;
}

/* n chains of R replicas moved by `updates` updates of rate 0 (the model
 * does not change) from the rows x (n, d); the chains returned */
static rbm_chains *run_chains(rbm_model *m, int R, size_t n, const float *x, int updates)
{
    rbm_config c;
    lz_error err;
    rbm_config_default(&c);
    c.h = (int)m->h;
    c.visible = m->visible;
    c.sigma = m->sigma;
    c.pcd = 1;
    c.momentum = 0;
    float *vel = calloc(rbm_n_params(m), sizeof *vel);
    rbm_chains *ch = rbm_chains_alloc(n, m->h, R, 9);
    ck_assert_ptr_nonnull(ch);
    size_t np = rbm_n_params(m);
    float *theta = malloc(np * sizeof *theta);
    memcpy(theta, m->mem, np * sizeof *theta);
    for (int t = 0; t < updates; t++)
        ck_assert_int_eq(rbm_cd_step(m, vel, &c, 0.0, n, x, ch, t == 0, 2, &err), LZ_OK);
    ck_assert(memcmp(theta, m->mem, np * sizeof *theta) == 0); /* rate 0: the model stays */
    free(theta);
    free(vel);
    return ch;
}

START_TEST(test_pt_two_modes)
{
    /* W_ji = 4, b_j = -8, c_i = -6 on d = 4, H = 3: (v, h) = (0, 0) and (1, 1)
     * have energy 0 and share the mass; between them every state lies at
     * least 6 above.  Chains that start at v = 0 stay there under Gibbs
     * sweeps (PCD), and reach the other mode through the replicas (PT). */
    const size_t d = 4, h = 3, n = 2000;
    const int R = 8, updates = 60;
    rbm_model *m = rbm_model_alloc(d, h);
    for (size_t k = 0; k < h * d; k++) m->w[k] = 4.0f;
    for (size_t j = 0; j < h; j++) m->b[j] = -8.0f;
    for (size_t i = 0; i < d; i++) m->c[i] = -6.0f;
    float *x = calloc(n * d, sizeof *x);
    double p[8], f[8];
    exact_marginal_h(m, 1.0, p);
    ck_assert_msg(p[7] > 0.4 && p[0] > 0.4, "the two modes: p(h = 0) = %g, p(h = 1) = %g", p[0],
                  p[7]);
    rbm_chains *pcd = run_chains(m, 1, n, x, updates);
    histogram(n, h, pcd->hs, f);
    printf("two modes, PCD: p(h = 111) = %.4f (exact %.4f)\n", f[7], p[7]);
    ck_assert_msg(f[7] < 0.05, "PCD's chains left their mode: p(h = 111) = %g", f[7]);
    rbm_chains *pt = run_chains(m, R, n, x, updates);
    double tried = 0, acc = 0;
    for (size_t i = 0; i < n; i++) {
        tried += pt->swap_tried[i];
        acc += pt->swap_acc[i];
    }
    ck_assert(tried == (double)n * (R - 1) * updates);
    for (int r = 0; r < R; r++) { /* every replica has its own tempered marginal */
        double pb[8];
        exact_marginal_h(m, pt->beta[r], pb);
        histogram(n, h, r ? pt->ht + (size_t)(r - 1) * n * h : pt->hs, f);
        double z = worst_z(n, 8, f, pb);
        if (r == 0)
            printf(
                "two modes, PT (%d replicas, swap rate %.3f): p(h = 111) = %.4f, worst %.2f se\n",
                R, acc / tried, f[7], z);
        ck_assert_msg(z <= 5, "PT replica %d (beta %g): a state's frequency %.2f se from exact", r,
                      pt->beta[r], z);
    }
    rbm_chains_free(pcd);
    rbm_chains_free(pt);
    rbm_model_free(m);
    free(x);
}
END_TEST

START_TEST(test_pt_gaussian_replicas)
{
    /* Gaussian units: every replica of PT's chains samples its tempered
     * marginal of h (the grid's) */
    const size_t d = 2, h = 3, n = 2000;
    const int R = 4;
    rbm_model *m = gauss_model(d, h, 1.5, 1.0, 0.5, 70);
    float *x = malloc(n * d * sizeof *x);
    gsl_rng *r = lz_rng_alloc(71);
    for (size_t k = 0; k < n * d; k++) x[k] = (float)gsl_ran_gaussian(r, 1.0);
    rbm_chains *pt = run_chains(m, R, n, x, 25);
    for (int q = 0; q < R; q++) {
        double pb[8], f[8];
        exact_marginal_h(m, pt->beta[q], pb);
        histogram(n, h, q ? pt->ht + (size_t)(q - 1) * n * h : pt->hs, f);
        double z = worst_z(n, 8, f, pb);
        ck_assert_msg(z <= 5, "Gaussian PT replica %d (beta %g): %.2f se from exact", q,
                      pt->beta[q], z);
    }
    rbm_chains_free(pt);
    gsl_rng_free(r);
    free(x);
    rbm_model_free(m);
}
END_TEST

/* train on x (n, d) with c; the model */
static rbm_model *train(const rbm_config *c, size_t n, size_t d, const float *x)
{
    lz_error err;
    rbm_model *m = rbm_model_alloc(d, (size_t)c->h);
    m->visible = c->visible;
    m->sigma = c->sigma;
    rbm_set_base_rate(m, n, x);
    ck_assert_int_eq(rbm_init(m, c->init_sd, c->seed, &err), LZ_OK);
    ck_assert_msg(rbm_fit(m, c, n, x, 0, NULL, NULL, NULL, &err) == LZ_OK, "%s", err.msg);
    return m;
}

START_TEST(test_pt_one_is_pcd)
{
    /* --pt 1 is PCD: the same parameters, bit for bit (binary and Gaussian,
     * learned sigmas); --pt 3 is not */
    const size_t n = 300, d = 6;
    float *xb = malloc(n * d * sizeof *xb), *xg = malloc(n * d * sizeof *xg);
    gsl_rng *r = lz_rng_alloc(80);
    for (size_t k = 0; k < n * d; k++) {
        xb[k] = (float)(gsl_rng_uniform(r) < (k % d + 1) / 8.0);
        xg[k] = (float)gsl_ran_gaussian(r, 1.0) + (float)(k % d) - 2.5f;
    }
    for (int gauss = 0; gauss <= 1; gauss++) {
        rbm_config c;
        rbm_config_default(&c);
        c.h = 5;
        c.visible = gauss ? RBM_VIS_GAUSSIAN : RBM_VIS_BERNOULLI;
        c.sigma = gauss ? RBM_SIGMA_LEARN : RBM_SIGMA_FIXED;
        c.epochs = 4;
        c.batch = 20;
        c.monitor = 0;
        c.seed = 7;
        const float *x = gauss ? xg : xb;
        c.pcd = 1;
        rbm_model *a = train(&c, n, d, x);
        c.pcd = 0;
        c.pt = 1;
        rbm_model *b = train(&c, n, d, x);
        c.pt = 3;
        rbm_model *e = train(&c, n, d, x);
        size_t np = rbm_n_params(a);
        ck_assert_msg(memcmp(a->mem, b->mem, np * sizeof *a->mem) == 0,
                      "%s: PT with one replica is "
                      "not PCD",
                      gauss ? "Gaussian" : "binary");
        ck_assert(memcmp(a->mem, e->mem, np * sizeof *a->mem) != 0);
        rbm_model_free(a);
        rbm_model_free(b);
        rbm_model_free(e);
    }
    gsl_rng_free(r);
    free(xb);
    free(xg);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* the bracket on the digits: H = 14, exact against [reverse AIS, AIS] */

START_TEST(test_bracket_digits)
{
    lz_read_opts ro = {.label_col = LZ_LABEL_LAST, .min_rows = 1};
    lz_data *all = NULL, *tr = NULL, *te = NULL;
    lz_error err;
    ck_assert_msg(lz_data_read(LZ_SRC_DIR "/data/digits.csv", &ro, &all, &err) == LZ_OK, "%s",
                  err.msg);
    ck_assert_int_eq(lz_data_split(all, 0.2, 0, &tr, &te, &err), LZ_OK);
    size_t d = all->d;
    float *x = malloc(tr->n * d * sizeof *x), *xt = malloc(te->n * d * sizeof *xt);
    for (int gauss = 0; gauss <= 1; gauss++) {
        const char *what = gauss ? "Gaussian" : "binary";
        rbm_config c;
        rbm_config_default(&c);
        c.h = 14;
        c.visible = gauss ? RBM_VIS_GAUSSIAN : RBM_VIS_BERNOULLI;
        c.epochs = 20;
        c.monitor = 0;
        c.seed = 3;
        rbm_model *m = rbm_model_alloc(d, 14);
        m->visible = c.visible;
        rbm_prep p = {RBM_BIN_THRESHOLD, 0.5, 16.0, NULL};
        ck_assert_int_eq(rbm_standardise(m, tr, NULL, &err), LZ_OK);
        ck_assert_int_eq(rbm_prepare(tr, m, &p, 1, RBM_STREAM_BIN_TRAIN, x, &err), LZ_OK);
        ck_assert_int_eq(rbm_prepare(te, m, &p, 1, RBM_STREAM_BIN_TEST, xt, &err), LZ_OK);
        rbm_set_base_rate(m, tr->n, x);
        ck_assert_int_eq(rbm_init(m, c.init_sd, c.seed, &err), LZ_OK);
        ck_assert_msg(rbm_fit(m, &c, tr->n, x, 0, NULL, NULL, NULL, &err) == LZ_OK, "%s", err.msg);
        double width[2];
        const int steps[2] = {100, 1000};
        for (int s = 0; s < 2; s++) {
            rbm_ll ll;
            c.bracket = 1;
            c.ais_steps = c.raise_steps = steps[s];
            c.raise_rows = (int)te->n; /* every test row */
            ck_assert_msg(rbm_loglik(m, &c, 0, NULL, te->n, xt, &ll, &err) == LZ_OK, "%s", err.msg);
            ck_assert(ll.exact && ll.raise_rows == te->n);
            printf("%s, H = 14, %4d steps: reverse AIS %.4f +- %.4f <= exact %.4f <= AIS %.4f +- "
                   "%.4f\n",
                   what, steps[s], ll.ll_test_lower, ll.ll_test_lower_se, ll.ll_test,
                   ll.ll_test_upper, ll.log_z_ais_se);
            /* the exact value inside the bracket, within 3 standard errors of each end */
            ck_assert_msg(ll.ll_test_lower - 3 * ll.ll_test_lower_se <= ll.ll_test,
                          "%s, %d steps: reverse AIS %.4f +- %.4f above the exact %.4f", what,
                          steps[s], ll.ll_test_lower, ll.ll_test_lower_se, ll.ll_test);
            ck_assert_msg(ll.ll_test <= ll.ll_test_upper + 3 * ll.log_z_ais_se,
                          "%s, %d steps: AIS %.4f +- %.4f below the exact %.4f", what, steps[s],
                          ll.ll_test_upper, ll.log_z_ais_se, ll.ll_test);
            width[s] = ll.ll_test_upper - ll.ll_test_lower;
        }
        ck_assert_msg(width[1] < width[0],
                      "%s: the bracket did not narrow: %.4f at 100 steps, "
                      "%.4f at 1000",
                      what, width[0], width[1]);
        rbm_model_free(m);
    }
    free(x);
    free(xt);
    lz_data_free(all);
    lz_data_free(tr);
    lz_data_free(te);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("rbm_gauss");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_gaussian_brute_force);
    tcase_add_test(tc, test_tempered_conditionals);
    tcase_add_test(tc, test_gaussian_gradient_fd);
    tcase_add_test(tc, test_gaussian_samples);
    tcase_add_test(tc, test_pt_two_modes);
    tcase_add_test(tc, test_pt_gaussian_replicas);
    tcase_add_test(tc, test_pt_one_is_pcd);
    tcase_add_test(tc, test_bracket_digits);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    rbm_set_threads(2);
    return lz_check_main(suite());
}
