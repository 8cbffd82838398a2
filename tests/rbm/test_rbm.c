/* test_rbm.c -- the RBM against independent truth: brute-force sums over
 * every (v, h) of the energy E(v, h) = -h^T W v - c^T v - b^T h, exact
 * enumeration against AIS, naive loops against the GEMM kernels, and
 * training on bars-and-stripes against its exact log-likelihood.
 *
 * Dimension letters: n samples, d visible, h hidden.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lz_blas.h" /* before any GSL header */
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "lz_data.h"
#include "lz_error.h"
#include "lz_out.h"
#include "lz_prob.h"
#include "rbm.h"
#include "rbm_impl.h"
#include "lz_check.h"

/* ---------------------------------------------------------------------- */
/* helpers */

/* a model with W ~ N(0, sw^2), b, c ~ N(0, sb^2) */
static rbm_model *random_model(size_t d, size_t h, double sw, double sb, unsigned long seed)
{
    rbm_model *m = rbm_model_alloc(d, h);
    ck_assert_ptr_nonnull(m);
    gsl_rng *r = lz_rng_alloc(seed);
    for (size_t k = 0; k < h * d; k++) m->w[k] = (float)gsl_ran_gaussian(r, sw);
    for (size_t j = 0; j < h; j++) m->b[j] = (float)gsl_ran_gaussian(r, sb);
    for (size_t i = 0; i < d; i++) m->c[i] = (float)gsl_ran_gaussian(r, sb);
    gsl_rng_free(r);
    return m;
}

/* E(v, h) = -h^T W v - c^T v - b^T h, by plain loops; v, h as bit masks */
static double energy(const rbm_model *m, unsigned long v, unsigned long hh)
{
    size_t d = m->d, h = m->h;
    double e = 0;
    for (size_t j = 0; j < h; j++)
        for (size_t i = 0; i < d; i++)
            if ((hh >> j & 1) && (v >> i & 1)) e -= m->w[j * d + i];
    for (size_t i = 0; i < d; i++)
        if (v >> i & 1) e -= m->c[i];
    for (size_t j = 0; j < h; j++)
        if (hh >> j & 1) e -= m->b[j];
    return e;
}

/* log sum over every (v, h) of exp(-E(v, h)), around the largest term */
static double brute_log_z(const rbm_model *m)
{
    unsigned long nv = 1UL << m->d, nh = 1UL << m->h;
    double mx = -INFINITY, s = 0;
    for (unsigned long v = 0; v < nv; v++)
        for (unsigned long hh = 0; hh < nh; hh++)
            if (-energy(m, v, hh) > mx) mx = -energy(m, v, hh);
    for (unsigned long v = 0; v < nv; v++)
        for (unsigned long hh = 0; hh < nh; hh++) s += exp(-energy(m, v, hh) - mx);
    return mx + log(s);
}

static void bits_to_floats(size_t d, unsigned long v, float *x)
{
    for (size_t i = 0; i < d; i++) x[i] = (float)(v >> i & 1);
}

/* exact mean log-likelihood of rows x (n, d) */
static double exact_ll(const rbm_model *m, size_t n, const float *x)
{
    lz_error err;
    rbm_eval *ev = rbm_eval_alloc(m->d, m->h, 20, &err);
    ck_assert_ptr_nonnull(ev);
    rbm_eval_sync(ev, m);
    double log_z;
    ck_assert_int_eq(rbm_eval_log_z(ev, RBM_ENUM_AUTO, &log_z, &err), LZ_OK);
    double ll = -rbm_eval_free_energy(ev, n, x, NULL) - log_z;
    rbm_eval_free(ev);
    return ll;
}

/* Bars and stripes on a side x side grid (MacKay 2003): every image whose
 * rows are all constant or whose columns are all constant; 2^(side+1) - 2
 * distinct images.  x (n, side^2) <- n draws, uniform over them. */
static void bars_and_stripes(size_t side, size_t n, unsigned long seed, float *x)
{
    gsl_rng *r = lz_rng_alloc(seed);
    size_t d = side * side;
    unsigned long half = 1UL << side;
    for (size_t t = 0; t < n; t++) {
        /* u < 2^side: horizontal bars u; else vertical stripes 1 .. 2^side - 2
         * (all-off and all-on are already bars) */
        unsigned long u = gsl_rng_uniform_int(r, 2 * half - 2);
        int vertical = u >= half;
        unsigned long pat = vertical ? u - half + 1 : u;
        for (size_t a = 0; a < side; a++)
            for (size_t b = 0; b < side; b++)
                x[t * d + a * side + b] = (float)((vertical ? pat >> b : pat >> a) & 1);
    }
    gsl_rng_free(r);
}

/* ---------------------------------------------------------------------- */
/* conditionals and free energy against the energy, d = 5, H = 4 */

/* rbm_bracket_crossed: crossed only when reverse AIS's end is above AIS's
 * by more than 2 combined standard errors; a bracket not computed (NaN) is
 * never crossed */
START_TEST(test_bracket_crossed)
{
    rbm_ll ll;
    memset(&ll, 0, sizeof ll);
    double gap, z;
    struct {
        double lower, se_l, upper, se_u;
        int crossed;
    } c[] = {
        {-225.51, 1.08, -229.24, 0.14, 1}, /* 3.73 nats, 3.4 se */
        {-211.13, 4.67, -215.63, 1.00, 0}, /* 4.5 nats, 0.94 se: noise */
        {-19.63, 0.1, -19.05, 0.1, 0},     /* an ordinary bracket */
        {-10.0, 0.0, -10.5, 0.0, 1},       /* exact ends, crossed */
        {-10.0, 0.0, -10.0, 0.0, 0},       /* equal */
        {NAN, NAN, NAN, NAN, 0},           /* not computed */
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        ll.ll_test_lower = c[i].lower;
        ll.ll_test_lower_se = c[i].se_l;
        ll.ll_test_upper = c[i].upper;
        ll.log_z_ais_se = c[i].se_u;
        ck_assert_int_eq(rbm_bracket_crossed(&ll, &gap, &z), c[i].crossed);
        if (isnan(c[i].lower)) {
            ck_assert(isnan(gap) && z == 0);
            continue;
        }
        ck_assert_double_eq_tol(gap, c[i].lower - c[i].upper, 1e-12);
        double se = sqrt(c[i].se_l * c[i].se_l + c[i].se_u * c[i].se_u);
        if (se > 0) ck_assert_double_eq_tol(z, gap / se, 1e-12);
    }
}
END_TEST

START_TEST(test_conditionals_brute_force)
{
    const size_t d = 5, h = 4;
    lz_error err;
    for (unsigned long seed = 1; seed <= 3; seed++) {
        rbm_model *m = random_model(d, h, 1.5, 1.0, seed);
        rbm_eval *ev = rbm_eval_alloc(d, h, 20, &err);
        ck_assert_ptr_nonnull(ev);
        rbm_eval_sync(ev, m);
        double log_z;
        ck_assert_int_eq(rbm_eval_log_z(ev, RBM_ENUM_AUTO, &log_z, &err), LZ_OK);
        /* the joint exp(-E)/Z normalises over all 2^9 (v, h) */
        double tot = 0;
        for (unsigned long v = 0; v < 1UL << d; v++)
            for (unsigned long hh = 0; hh < 1UL << h; hh++) tot += exp(-energy(m, v, hh) - log_z);
        /* 512 positive terms summed in double: a few hundred ulps at most */
        ck_assert_msg(fabs(tot - 1) < 1e-12, "sum of p(v,h) = %.17g", tot);
        double pv_tot = 0;
        for (unsigned long v = 0; v < 1UL << d; v++) {
            float x[5];
            bits_to_floats(d, v, x);
            /* F(v) = -log sum_h exp(-E(v, h)) */
            double s = 0, sj[4] = {0};
            for (unsigned long hh = 0; hh < 1UL << h; hh++) {
                double p = exp(-energy(m, v, hh));
                s += p;
                for (size_t j = 0; j < h; j++)
                    if (hh >> j & 1) sj[j] += p;
            }
            double f_brute = -log(s), f;
            rbm_eval_free_energy(ev, 1, x, &f);
            /* |F| < 30 here; double sums of 16 terms: 1e-12 leaves 1000 ulps */
            ck_assert_msg(fabs(f - f_brute) <= 1e-12 * (1 + fabs(f_brute)),
                          "F(v=%lu) = %.17g, brute force %.17g", v, f, f_brute);
            pv_tot += exp(-f - log_z);
            /* p(h_j = 1 | v) = sum_{h: h_j = 1} exp(-E) / sum_h exp(-E) */
            double ph[4];
            float phf[4];
            rbm_eval_hidden(ev, 1, x, ph);
            rbm_hidden_f(m, 1, x, phf);
            for (size_t j = 0; j < h; j++) {
                double want = sj[j] / s;
                ck_assert_msg(fabs(ph[j] - want) <= 1e-13, "p(h_%zu|v=%lu) = %.17g, want %.17g", j,
                              v, ph[j], want);
                /* single precision: activations |a| < 10 carry ~1e-6 absolute error */
                ck_assert_msg(fabs(phf[j] - want) <= 2e-6,
                              "float p(h_%zu|v=%lu) = %.9g, want %.17g", j, v, phf[j], want);
            }
        }
        ck_assert_msg(fabs(pv_tot - 1) < 1e-12, "sum_v p(v) = %.17g", pv_tot);
        /* p(v_i = 1 | h) = sum_{v: v_i = 1} exp(-E) / sum_v exp(-E) */
        for (unsigned long hh = 0; hh < 1UL << h; hh++) {
            double s = 0, si[5] = {0}, hd[4], pv[5];
            float hf[4], pvf[5];
            for (unsigned long v = 0; v < 1UL << d; v++) {
                double p = exp(-energy(m, v, hh));
                s += p;
                for (size_t i = 0; i < d; i++)
                    if (v >> i & 1) si[i] += p;
            }
            for (size_t j = 0; j < h; j++) hd[j] = hf[j] = (float)(hh >> j & 1);
            rbm_eval_visible(ev, 1, hd, pv);
            rbm_visible_f(m, 1, hf, pvf);
            for (size_t i = 0; i < d; i++) {
                double want = si[i] / s;
                ck_assert_msg(fabs(pv[i] - want) <= 1e-13, "p(v_%zu|h=%lu) = %.17g, want %.17g", i,
                              hh, pv[i], want);
                ck_assert_msg(fabs(pvf[i] - want) <= 2e-6, "float p(v_%zu|h=%lu) = %.9g", i, hh,
                              pvf[i]);
            }
        }
        rbm_eval_free(ev);
        rbm_model_free(m);
    }
}
END_TEST

/* ---------------------------------------------------------------------- */
/* log Z: enumerating h, enumerating v, enumerating (v, h), d = 8, H = 6 */

START_TEST(test_log_z_enumeration)
{
    const size_t d = 8, h = 6;
    lz_error err;
    const double scales[] = {0.1, 1.0, 4.0}; /* near-uniform to sharply peaked */
    for (size_t s = 0; s < 3; s++) {
        rbm_model *m = random_model(d, h, scales[s], 1.0, 10 + s);
        rbm_eval *ev = rbm_eval_alloc(d, h, 20, &err);
        ck_assert_ptr_nonnull(ev);
        rbm_eval_sync(ev, m);
        double lz_h, lz_v, lz_both = brute_log_z(m);
        ck_assert_int_eq(rbm_eval_log_z(ev, RBM_ENUM_HIDDEN, &lz_h, &err), LZ_OK);
        ck_assert_int_eq(rbm_eval_log_z(ev, RBM_ENUM_VISIBLE, &lz_v, &err), LZ_OK);
        /* sums of 2^14 positive terms around the maximum: relative error ~1e-15;
         * 1e-12 relative (log Z up to ~100 here) */
        double tol = 1e-12 * (1 + fabs(lz_both));
        ck_assert_msg(fabs(lz_h - lz_both) <= tol, "scale %g: log Z by h %.17g, by (v,h) %.17g",
                      scales[s], lz_h, lz_both);
        ck_assert_msg(fabs(lz_v - lz_both) <= tol, "scale %g: log Z by v %.17g, by (v,h) %.17g",
                      scales[s], lz_v, lz_both);
        rbm_eval_free(ev);
        rbm_model_free(m);
    }
    /* a layer over the limit is refused, not silently approximated */
    rbm_model *m = random_model(d, h, 1.0, 1.0, 3);
    rbm_eval *ev = rbm_eval_alloc(d, h, 5, &err);
    ck_assert_ptr_nonnull(ev);
    rbm_eval_sync(ev, m);
    double lz;
    ck_assert_int_eq(rbm_eval_log_z(ev, RBM_ENUM_AUTO, &lz, &err), LZ_EINVAL);
    rbm_eval_free(ev);
    rbm_model_free(m);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* pseudo-likelihood against F of every flipped vector */

/* F(v) by plain loops, softplus from lz_prob */
static double naive_free_energy(const rbm_model *m, const float *x)
{
    size_t d = m->d, h = m->h;
    double f = 0;
    for (size_t i = 0; i < d; i++) f -= (double)m->c[i] * x[i];
    for (size_t j = 0; j < h; j++) {
        double a = m->b[j];
        for (size_t i = 0; i < d; i++) a += (double)m->w[j * d + i] * x[i];
        f -= lz_softplus(a);
    }
    return f;
}

static void check_pll(rbm_model *m, size_t n, unsigned long seed, const char *what)
{
    size_t d = m->d;
    lz_error err;
    float *x = malloc(n * d * sizeof *x), *y = malloc(d * sizeof *y);
    double *pll = malloc(n * sizeof *pll);
    gsl_rng *r = lz_rng_alloc(seed);
    for (size_t k = 0; k < n * d; k++) x[k] = gsl_rng_uniform(r) < 0.4 ? 1.0f : 0.0f;
    rbm_eval *ev = rbm_eval_alloc(d, m->h, 0, &err);
    ck_assert_ptr_nonnull(ev);
    rbm_eval_sync(ev, m);
    double mean = rbm_eval_pseudo_ll(ev, n, x, pll), msum = 0;
    for (size_t t = 0; t < n; t++) {
        double f = naive_free_energy(m, x + t * d), want = 0;
        for (size_t i = 0; i < d; i++) {
            memcpy(y, x + t * d, d * sizeof *y);
            y[i] = 1 - y[i];
            /* log p(v_i | v_-i) = log sigm(F(v^(i)) - F(v)) */
            want += -lz_softplus(-(naive_free_energy(m, y) - f));
        }
        /* the reference subtracts two free energies of size ~|F|: its own
         * rounding is ~1e-16 |F| a bit, d bits */
        double tol = 1e-11 * (1 + fabs(f)) * (double)d;
        ck_assert_msg(fabs(pll[t] - want) <= tol, "%s: row %zu: pll %.17g, brute force %.17g", what,
                      t, pll[t], want);
        msum += pll[t];
    }
    ck_assert_msg(fabs(mean - msum / (double)n) <= 1e-12 * (1 + fabs(mean)), "%s: mean", what);
    rbm_eval_free(ev);
    gsl_rng_free(r);
    free(x);
    free(y);
    free(pll);
}

START_TEST(test_pseudo_ll_brute_force)
{
    /* small weights: one rescaling of the products at the end */
    rbm_model *m = random_model(12, 20, 0.5, 1.0, 21);
    check_pll(m, 7, 1, "small weights");
    rbm_model_free(m);
    /* H = 203 (not a multiple of 8) with one weight of 50: the products are
     * rescaled every 12 groups of 8 factors */
    m = random_model(10, 203, 1.0, 1.0, 22);
    m->w[5 * 10 + 3] = 50.0f;
    for (size_t j = 0; j < 203; j += 2)
        m->w[j * 10 + 7] = 45.0f; /* e^{45 * 102} overflows unscaled */
    check_pll(m, 9, 2, "large column");
    rbm_model_free(m);
    /* |W| > 60: logs term by term */
    m = random_model(9, 30, 20.0, 5.0, 23);
    m->w[0] = 90.0f;
    check_pll(m, 5, 3, "huge weights");
    rbm_model_free(m);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* one CD-k / PCD-k update: the fast kernel against the reference step */

/* a number on the grid 2^-8 Z within [-lim, lim] */
static float on_grid(gsl_rng *r, double lim)
{
    unsigned long steps = (unsigned long)(2 * lim * 256);
    return (float)(((double)gsl_rng_uniform_int(r, steps + 1) - lim * 256) / 256.0);
}

/* A model whose parameters lie on the grid 2^-8 Z: W in [-1, 1], b and c in
 * [-2, 2].  With binary v and h every activation b_j + W_j. v and
 * c_i + W_.i^T h is a sum of at most 1 + max(d, h) such numbers, below 2^7
 * in magnitude: 15 significant bits, exact in float whatever the order of
 * summation.  The kernel's sgemm and the reference's loop then give the same
 * activations, the same probabilities (one sigmoid, rbm_sigm_f) and, from the
 * same bits, the same Bernoulli draws. */
static rbm_model *grid_model(size_t d, size_t h, unsigned long seed)
{
    rbm_model *m = rbm_model_alloc(d, h);
    ck_assert_ptr_nonnull(m);
    gsl_rng *r = lz_rng_alloc(seed);
    for (size_t k = 0; k < h * d; k++) m->w[k] = on_grid(r, 1.0);
    for (size_t j = 0; j < h; j++) m->b[j] = on_grid(r, 2.0);
    for (size_t i = 0; i < d; i++) m->c[i] = on_grid(r, 2.0);
    gsl_rng_free(r);
    return m;
}

/* the two sets of chains hold the same states and stand at the same place
 * of the same streams: they drew the same bits */
static void same_chains(const rbm_chains *a, const rbm_chains *b, const char *what)
{
    ck_assert_msg(memcmp(a->hs, b->hs, a->n * a->h * sizeof *a->hs) == 0,
                  "%s: hidden states differ", what);
    for (size_t i = 0; i < a->n; i++) {
        ck_assert_msg(a->bits[i].nb == b->bits[i].nb && a->bits[i].buf == b->bits[i].buf,
                      "%s: chain %zu: unused bits differ (%d, %d)", what, i, a->bits[i].nb,
                      b->bits[i].nb);
        ck_assert_msg(gsl_rng_get(a->rng[i]) == gsl_rng_get(b->rng[i]),
                      "%s: chain %zu: the streams stand at different places", what, i);
    }
}

/* Gaussian visible units on the grid model: W scaled into [-1/4, 1/4] (the
 * means c + W^T h stay within a few units), z = log sigma^2 on the grid in
 * [-1/2, 1/2] when learned (else 0) */
static void grid_gaussian(rbm_model *m, int learn, unsigned long seed)
{
    gsl_rng *r = lz_rng_alloc(seed);
    m->visible = RBM_VIS_GAUSSIAN;
    m->sigma = learn ? RBM_SIGMA_LEARN : RBM_SIGMA_FIXED;
    for (size_t k = 0; k < m->h * m->d; k++) m->w[k] *= 0.25f;
    for (size_t i = 0; i < m->d; i++) m->z[i] = learn ? on_grid(r, 0.5) : 0.0f;
    gsl_rng_free(r);
}

START_TEST(test_cd_step_reference)
{
    /* d and H odd, minibatches not multiples of the threads; PCD's last
     * minibatch smaller than its chains; momentum and weight decay; binary
     * and Gaussian visible units (sigma fixed and learned) */
    const size_t d = 37, h = 23;
    struct {
        int pcd, k, start;
        size_t mb, mc; /* rows; chains (CD: the rows) */
        double mu, lambda;
        int threads; /* 0: as rbm_fit chooses */
        int gauss;   /* 0 binary, 1 Gaussian with sigma = 1, 2 Gaussian learning sigma */
    } cases[] = {
        {0, 1, 1, 20, 20, 0.0, 0.0, 1, 0},  {0, 1, 1, 20, 20, 0.0, 0.0, 2, 0},
        {0, 3, 1, 17, 17, 0.5, 0.01, 3, 0}, {0, 2, 1, 9, 9, 0.0, 0.0, 0, 0},
        {1, 1, 1, 16, 16, 0.0, 0.0, 2, 0},  {1, 2, 0, 16, 16, 0.5, 0.001, 2, 0},
        {1, 1, 0, 7, 16, 0.0, 0.0, 2, 0},   {1, 3, 0, 7, 16, 0.9, 0.0, 3, 0},
        {1, 1, 1, 5, 5, 0.0, 0.01, 1, 0},   {0, 1, 1, 20, 20, 0.0, 0.0, 2, 1},
        {0, 2, 1, 17, 17, 0.5, 0.01, 3, 2}, {0, 1, 1, 20, 20, 0.0, 0.0, 1, 2},
        {1, 1, 1, 16, 16, 0.0, 0.0, 2, 2},  {1, 2, 0, 7, 16, 0.5, 0.001, 2, 2},
        {1, 1, 0, 16, 16, 0.0, 0.0, 0, 1},
    };
    const double lr = 0.1, U = 0x1p-24; /* float's unit roundoff */
    lz_error err;
    double worst = 0; /* largest |fast - reference| / tolerance */
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        char what[160];
        snprintf(what, sizeof what, "case %zu (%s-%d, %zu rows, %zu chains, %d threads, %s)", t,
                 cases[t].pcd ? "PCD" : "CD", cases[t].k, cases[t].mb, cases[t].mc,
                 cases[t].threads,
                 cases[t].gauss == 0   ? "binary"
                 : cases[t].gauss == 1 ? "Gaussian"
                                       : "Gaussian, sigma learned");
        rbm_config c;
        rbm_config_default(&c);
        c.h = (int)h;
        c.visible = cases[t].gauss ? RBM_VIS_GAUSSIAN : RBM_VIS_BERNOULLI;
        c.sigma = cases[t].gauss == 2 ? RBM_SIGMA_LEARN : RBM_SIGMA_FIXED;
        c.pcd = cases[t].pcd;
        c.cd_steps = cases[t].k;
        c.momentum = cases[t].mu;
        c.weight_decay = cases[t].lambda;
        size_t mb = cases[t].mb, np;
        rbm_model *fast = grid_model(d, h, 100 + t), *ref = grid_model(d, h, 100 + t);
        if (cases[t].gauss) {
            grid_gaussian(fast, cases[t].gauss == 2, 400 + t);
            grid_gaussian(ref, cases[t].gauss == 2, 400 + t);
        }
        np = rbm_n_params(fast);
        gsl_rng *r = lz_rng_alloc(200 + t);
        float *x = malloc(mb * d * sizeof *x), *vf = malloc(np * sizeof *vf),
              *vr = malloc(np * sizeof *vr), *theta0 = malloc(np * sizeof *theta0);
        for (size_t q = 0; q < mb * d; q++)
            x[q] = cases[t].gauss             ? (float)gsl_ran_gaussian(r, 1.0)
                   : gsl_rng_uniform(r) < 0.4 ? 1.0f
                                              : 0.0f;
        for (size_t q = 0; q < np; q++) vf[q] = vr[q] = (float)(0.02 * gsl_rng_uniform(r) - 0.01);
        memcpy(theta0, fast->mem, np * sizeof *theta0);
        rbm_chains *cf = rbm_chains_alloc(cases[t].mc, h, 1, 300 + t);
        ck_assert_ptr_nonnull(cf);
        if (!cases[t].start) /* PCD's chains carry on from earlier updates */
            for (size_t q = 0; q < cases[t].mc * h; q++)
                cf->hs[q] = gsl_rng_uniform(r) < 0.5 ? 1.0f : 0.0f;
        rbm_chains *cr = rbm_chains_copy(cf);
        ck_assert_ptr_nonnull(cr);
        ck_assert_int_eq(
            rbm_cd_step(fast, vf, &c, lr, mb, x, cf, cases[t].start, cases[t].threads, &err),
            LZ_OK);
        ck_assert_int_eq(rbm_cd_step_ref(ref, vr, &c, lr, mb, x, cr, cases[t].start, &err), LZ_OK);
        /* the same random bits, the same chains: bit for bit */
        same_chains(cf, cr, what);
        /* the same parameters up to the order of float sums.  The kernel adds
         * the mb + mc = nr rows' terms of G in float (one sgemm, and sums in
         * double rounded once for b and c), each term at most lr/mb (data) or
         * lr/mc (chains) in size, 2 lr in all: at most (nr - 1) U 2 lr for any
         * order of the sum; the chains' probabilities scaled by -mb/mc and the
         * sum scaled by lr/mb add U 2 lr each; the momentum, the decay and the
         * additions to vel and theta a few U of |theta| and |vel|.  The
         * reference rounds its double result once.  A wrong term is ~lr/mb
         * P x: above 1e-4 where the tolerance is ~1e-6. */
        double mu = cases[t].mu, lam = cases[t].lambda;
        int plain = mu == 0 && lam == 0;
        size_t nr = mb + (c.pcd ? cases[t].mc : mb);
        /* Gaussian units: the rows are reals, not 0/1, and no longer exact in
         * float, so the terms of W and c are bounded by Tu = max |u| instead
         * of 1, and those of z by Tz = max (x - c)^2 / (2 sigma^2) + |u| |W^T h|,
         * over the data and over every x~ = c + W^T h + sigma g with |g| <= 6;
         * the activations, means and sigmas of the two versions differ in
         * their last bits, which moves each term by a few U T: a factor 4 */
        double Tu = 1, Tz = 1;
        if (cases[t].gauss) {
            double xmax = 0;
            for (size_t q = 0; q < mb * d; q++) xmax = fmax(xmax, fabs(x[q]));
            for (size_t i = 0; i < d; i++) {
                double wsum = 0, s2 = exp(ref->z[i]);
                for (size_t j = 0; j < h; j++) wsum += fabs(ref->w[j * d + i]);
                double xm = fmax(xmax, fabs(ref->c[i]) + wsum + 6 * sqrt(s2));
                double u = xm / s2, e = xm + fabs(ref->c[i]);
                Tu = fmax(Tu, 4 * u);
                Tz = fmax(Tz, 4 * (0.5 * e * e / s2 + u * wsum));
            }
        }
        for (size_t q = 0; q < np; q++) {
            double th0 = fabs(theta0[q]), v0 = plain ? 0 : fabs(vr[q]);
            /* W, b, c, z in the block's order */
            double T = q < h * d ? Tu : q < h * d + h ? 1.0 : q < h * d + h + d ? Tu : Tz;
            double tol = U * ((double)(nr + 4) * 2 * lr * T + 8 * (th0 + v0 + fabs(ref->mem[q])));
            double e = fabs((double)fast->mem[q] - ref->mem[q]);
            ck_assert_msg(e <= tol, "%s: parameter %zu: fast %.9g, reference %.9g (tolerance %.3g)",
                          what, q, fast->mem[q], ref->mem[q], tol);
            if (e / tol > worst) worst = e / tol;
            if (plain) { /* the velocity is not used */
                ck_assert(vf[q] == vr[q]);
                continue;
            }
            double ev = fabs((double)vf[q] - vr[q]);
            ck_assert_msg(ev <= tol, "%s: velocity %zu: fast %.9g, reference %.9g", what, q, vf[q],
                          vr[q]);
        }
        /* the update moved the parameters by more than the tolerance */
        double moved = 0;
        for (size_t q = 0; q < np; q++) moved += fabs((double)ref->mem[q] - theta0[q]);
        ck_assert_msg(moved / (double)np > 1e-4, "%s: the update moved the parameters by %g", what,
                      moved / (double)np);
        rbm_chains_free(cf);
        rbm_chains_free(cr);
        rbm_model_free(fast);
        rbm_model_free(ref);
        gsl_rng_free(r);
        free(x);
        free(vf);
        free(vr);
        free(theta0);
    }
    printf("CD step: fast kernel against the reference: largest difference %.2f of the tolerance\n",
           worst);
    /* chains that do not fit are refused, not overrun */
    rbm_model *m = grid_model(d, h, 1);
    rbm_config c;
    rbm_config_default(&c);
    c.h = (int)h;
    c.momentum = 0;
    float *x = calloc(10 * d, sizeof *x), *vel = calloc(rbm_n_params(m), sizeof *vel);
    rbm_chains *few = rbm_chains_alloc(5, h, 1, 1), *other = rbm_chains_alloc(10, h + 1, 1, 1);
    ck_assert_int_eq(rbm_cd_step(m, vel, &c, lr, 10, x, few, 1, 1, &err), LZ_EINVAL);
    ck_assert_int_eq(rbm_cd_step_ref(m, vel, &c, lr, 10, x, few, 1, &err), LZ_EINVAL);
    ck_assert_int_eq(rbm_cd_step_ref(m, vel, &c, lr, 10, x, other, 1, &err), LZ_EINVAL);
    /* tempered replicas: not with CD's chains, and never in the reference */
    rbm_chains *pt = rbm_chains_alloc(10, h, 3, 1);
    ck_assert_int_eq(rbm_cd_step(m, vel, &c, lr, 10, x, pt, 1, 1, &err), LZ_EINVAL);
    c.pcd = 1; /* PCD's chains start at the data: one a row */
    ck_assert_int_eq(rbm_cd_step_ref(m, vel, &c, lr, 10, x, pt, 1, &err), LZ_EINVAL);
    ck_assert_int_eq(rbm_cd_step(m, vel, &c, lr, 10, x, pt, 1, 1, &err), LZ_OK);
    rbm_chains_free(pt);
    ck_assert_int_eq(rbm_cd_step(m, vel, &c, lr, 4, x, few, 1, 1, &err), LZ_EINVAL);
    ck_assert_int_eq(rbm_cd_step(m, vel, &c, lr, 4, x, few, 0, 1, &err), LZ_OK);
    rbm_chains_free(few);
    rbm_chains_free(other);
    rbm_model_free(m);
    free(x);
    free(vel);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* Gibbs sampling: the chains' p(v|h) average to the exact p(v) */

START_TEST(test_gibbs_samples)
{
    const size_t d = 4, h = 3, n = 20000;
    lz_error err;
    rbm_model *m = random_model(d, h, 1.5, 1.0, 40);
    double *pv = malloc(n * d * sizeof *pv);
    ck_assert_int_eq(rbm_sample(m, n, 20, 7, pv, &err), LZ_OK);
    rbm_eval *ev = rbm_eval_alloc(d, h, 20, &err);
    rbm_eval_sync(ev, m);
    double log_z;
    ck_assert_int_eq(rbm_eval_log_z(ev, RBM_ENUM_AUTO, &log_z, &err), LZ_OK);
    for (unsigned long v = 0; v < 1UL << d; v++) {
        float x[4];
        bits_to_floats(d, v, x);
        double f;
        rbm_eval_free_energy(ev, 1, x, &f);
        double p_exact = exp(-f - log_z), s = 0, s2 = 0;
        /* q_c = p(v | h_c) of chain c; E[q_c] = p(v) once the chain has mixed */
        for (size_t c = 0; c < n; c++) {
            double q = 1;
            for (size_t i = 0; i < d; i++) q *= x[i] > 0 ? pv[c * d + i] : 1 - pv[c * d + i];
            s += q;
            s2 += q * q;
        }
        double mean = s / n, se = sqrt((s2 / n - mean * mean) / n);
        /* independent chains (one stream each): 5 standard errors */
        ck_assert_msg(fabs(mean - p_exact) <= 5 * se + 1e-6,
                      "p(v=%lu): chains %.6f +- %.6f, exact %.6f", v, mean, se, p_exact);
    }
    rbm_eval_free(ev);
    rbm_model_free(m);
    free(pv);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* training on bars and stripes: exact log-likelihood; AIS against exact */

static rbm_config bs_config(int h, int pcd, int epochs, unsigned long seed)
{
    rbm_config c;
    rbm_config_default(&c);
    c.h = h;
    c.cd_steps = 1;
    c.pcd = pcd;
    c.lr = 0.05;
    c.momentum = 0.5;
    c.batch = 10;
    c.lr_decay = RBM_DECAY_NONE;
    c.epochs = epochs;
    c.monitor = 0;
    c.seed = seed;
    return c;
}

static rbm_model *trained(size_t d, const rbm_config *c, size_t n, const float *x)
{
    lz_error err;
    rbm_model *m = rbm_model_alloc(d, (size_t)c->h);
    rbm_set_base_rate(m, n, x);
    ck_assert_int_eq(rbm_init(m, c->init_sd, c->seed, &err), LZ_OK);
    ck_assert_int_eq(rbm_fit(m, c, n, x, 0, NULL, NULL, NULL, &err), LZ_OK);
    return m;
}

START_TEST(test_cd_and_pcd_bars_and_stripes)
{
    /* 3x3 bars and stripes: 14 images, so the best possible mean
     * log-likelihood is -log 14 = -2.64; the base-rate start is near
     * -9 log 2 = -6.24.  H = 16, minibatches of 100 (PCD: 100 chains),
     * alpha = 0.1, no momentum: 150 epochs of 14 updates each. */
    const size_t side = 3, d = 9, n = 1400;
    float *x = malloc(n * d * sizeof *x);
    bars_and_stripes(side, n, 1, x);
    double sum_cd = 0, sum_pcd = 0;
    for (unsigned long seed = 1; seed <= 3; seed++) {
        rbm_config c = bs_config(16, 0, 150, seed);
        c.batch = 100;
        c.lr = 0.1;
        c.momentum = 0;
        rbm_model *m0 = rbm_model_alloc(d, 16);
        rbm_set_base_rate(m0, n, x);
        lz_error err;
        ck_assert_int_eq(rbm_init(m0, c.init_sd, seed, &err), LZ_OK);
        double ll0 = exact_ll(m0, n, x);
        rbm_model *mc = trained(d, &c, n, x);
        c.pcd = 1; /* the same updates, now with persistent chains */
        rbm_model *mp = trained(d, &c, n, x);
        double llc = exact_ll(mc, n, x), llp = exact_ll(mp, n, x);
        printf("bars and stripes, seed %lu: start %.4f, CD-1 %.4f, PCD-1 %.4f, best %.4f\n", seed,
               ll0, llc, llp, -log(14.0));
        /* "well above the start": CD-1 closes at least 60% of the 3.6-nat
         * gap between the start and the optimum (observed: ~75%) */
        ck_assert_msg(llc >= ll0 + 0.6 * (-log(14.0) - ll0),
                      "seed %lu: CD-1 %.4f from a start of %.4f", seed, llc, ll0);
        sum_cd += llc;
        sum_pcd += llp;
        rbm_model_free(m0);
        rbm_model_free(mc);
        rbm_model_free(mp);
    }
    /* PCD-1 at least as good as CD-1 over the same updates, on the mean of
     * three seeds, without slack (observed: PCD ahead by ~0.25 nats) */
    ck_assert_msg(sum_pcd >= sum_cd, "PCD-1 %.4f < CD-1 %.4f", sum_pcd / 3, sum_cd / 3);
    free(x);
}
END_TEST

START_TEST(test_ais_against_exact)
{
    /* an RBM with H = 12 trained on 4x4 bars and stripes (30 images): sharp
     * modes, the hard case for AIS */
    const size_t side = 4, d = 16, n = 300;
    lz_error err;
    float *x = malloc(n * d * sizeof *x);
    bars_and_stripes(side, n, 2, x);
    rbm_config c = bs_config(12, 1, 40, 3);
    rbm_model *m = trained(d, &c, n, x);
    rbm_eval *ev = rbm_eval_alloc(d, 12, 20, &err);
    rbm_eval_sync(ev, m);
    double exact, ais, se;
    ck_assert_int_eq(rbm_eval_log_z(ev, RBM_ENUM_AUTO, &exact, &err), LZ_OK);
    ck_assert_int_eq(rbm_log_z_ais(m, 100, 3000, 9, &ais, &se, NULL, &err), LZ_OK);
    printf("AIS: log Z = %.4f +- %.4f, exact %.4f\n", ais, se, exact);
    ck_assert_msg(se > 0 && se < 0.1, "AIS standard error %g", se);
    ck_assert_msg(fabs(ais - exact) <= 3 * se, "AIS %.4f +- %.4f, exact %.4f: beyond 3 se", ais, se,
                  exact);
    ck_assert_msg(fabs(ais - exact) <= 0.1, "AIS %.4f, exact %.4f: beyond 0.1 nats", ais, exact);
    rbm_eval_free(ev);
    rbm_model_free(m);
    free(x);
}
END_TEST

/* ---------------------------------------------------------------------- */

START_TEST(test_same_seed_same_model)
{
    const size_t d = 9, n = 100;
    float *x = malloc(n * d * sizeof *x);
    bars_and_stripes(3, n, 4, x);
    for (int pcd = 0; pcd <= 1; pcd++) {
        rbm_config c = bs_config(8, pcd, 5, 11);
        rbm_model *a = trained(d, &c, n, x), *b = trained(d, &c, n, x);
        ck_assert(memcmp(a->mem, b->mem, rbm_n_params(a) * sizeof *a->mem) == 0);
        c.seed = 12;
        rbm_model *e = trained(d, &c, n, x);
        ck_assert(memcmp(a->mem, e->mem, rbm_n_params(a) * sizeof *a->mem) != 0);
        rbm_model_free(a);
        rbm_model_free(b);
        rbm_model_free(e);
    }
    free(x);
}
END_TEST

START_TEST(test_save_load_round_trip)
{
    rbm_model *m = random_model(7, 5, 1.0, 1.0, 50);
    for (size_t i = 0; i < 7; i++) m->base[i] = 0.1 * (double)i - 0.3;
    rbm_prep p = {RBM_BIN_SAMPLE, 0.25, 16.0, NULL}, q;
    char dir[] = "/tmp/test_rbm_XXXXXX", path[64];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/m.model", dir);
    lz_error err;
    lz_outset *os = lz_outset_alloc();
    ck_assert_ptr_nonnull(os);
    rbm_method how = {3, 1, 0}, got = {0, 0, 0};
    ck_assert_int_eq(rbm_model_write(m, &p, &how, os, path, &err), LZ_OK);
    ck_assert_int_eq(lz_outset_commit(os, &err), LZ_OK);
    lz_outset_free(os);
    rbm_model *r = NULL;
    ck_assert_msg(rbm_model_read(path, &r, &q, &got, &err) == LZ_OK, "%s", err.msg);
    ck_assert(memcmp(m->mem, r->mem, rbm_n_params(m) * sizeof *m->mem) == 0);
    ck_assert(memcmp(m->base, r->base, 7 * sizeof *m->base) == 0);
    ck_assert_int_eq(got.cd_k, 3);
    ck_assert_int_eq(got.pcd, 1);
    ck_assert_int_eq(got.pt, 0);
    ck_assert_int_eq(q.mode, RBM_BIN_SAMPLE);
    ck_assert(q.threshold == 0.25 && q.scale == 16.0);
    ck_assert_str_eq(q.model, path);
    rbm_model_free(r);
    rbm_model_free(m);
    unlink(path);
    rmdir(dir);
}
END_TEST

START_TEST(test_prepare)
{
    lz_error err;
    rbm_model *bm = rbm_model_alloc(3, 2), *bm100 = rbm_model_alloc(100, 2); /* binary units */
    double x[] = {0, 4, 8, 12, 16, 10};
    size_t lines[] = {3, 5};
    lz_data data = {.n = 2, .d = 3, .x = x, .path = "x.csv", .line = lines, .label_field = -1};
    float out[6];
    rbm_prep p = {RBM_BIN_THRESHOLD, 0.5, 16.0, NULL};
    ck_assert_int_eq(rbm_prepare(&data, bm, &p, 1, 3, out, &err), LZ_OK);
    const float want[] = {0, 0, 0, 1, 1, 1}; /* x / 16 > 0.5 */
    ck_assert(memcmp(out, want, sizeof want) == 0);
    /* grey levels above 1: the message names the file's line, the field and the fix */
    p.scale = 1.0;
    ck_assert_int_eq(rbm_prepare(&data, bm, &p, 1, 3, out, &err), LZ_EINVAL);
    ck_assert_msg(strstr(err.msg, "x.csv:3: field 2") && strstr(err.msg, "--scale 16"), "%s",
                  err.msg);
    /* with a label in the file's column 1, feature 2 is the file's field 3 */
    data.label_field = 0;
    ck_assert_int_eq(rbm_prepare(&data, bm, &p, 1, 3, out, &err), LZ_EINVAL);
    ck_assert_msg(strstr(err.msg, "x.csv:3: field 3"), "%s", err.msg);
    /* images are named by image and pixel */
    data.line = NULL;
    data.img_rows = data.img_cols = 1;
    ck_assert_int_eq(rbm_prepare(&data, bm, &p, 1, 3, out, &err), LZ_EINVAL);
    ck_assert_msg(strstr(err.msg, "x.csv: image 1, pixel 2"), "%s", err.msg);
    /* none: already binary, else an error */
    p.mode = RBM_BIN_NONE;
    p.scale = 16.0;
    ck_assert_int_eq(rbm_prepare(&data, bm, &p, 1, 3, out, &err), LZ_EINVAL);
    ck_assert_msg(strstr(err.msg, "not 0 or 1"), "%s", err.msg);
    /* sample: x ~ Bernoulli(y), mean y; 100000 draws of y = 0.3: 5 se */
    static double g[100000];
    static float b[100000];
    for (size_t k = 0; k < 100000; k++) g[k] = 0.3;
    lz_data gd = {.n = 1000, .d = 100, .x = g, .path = "g", .label_field = -1};
    p.mode = RBM_BIN_SAMPLE;
    p.scale = 1.0;
    ck_assert_int_eq(rbm_prepare(&gd, bm100, &p, 1, 3, b, &err), LZ_OK);
    double s = 0;
    for (size_t k = 0; k < 100000; k++) s += b[k];
    ck_assert_msg(fabs(s / 1e5 - 0.3) < 5 * sqrt(0.21 / 1e5), "mean %g", s / 1e5);
    rbm_model_free(bm);
    rbm_model_free(bm100);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* the training step's Bernoulli draws */

START_TEST(test_bernoulli_bits)
{
    gsl_rng *g = lz_rng_alloc(77);
    rbm_bits b = rbm_bits_of(g);
    const size_t n = 1000000;
    const double ps[] = {0.0, 1e-3, 0.1, 0.5, 0.7371, 0.999, 1.0};
    for (size_t k = 0; k < sizeof ps / sizeof ps[0]; k++) {
        double p = ps[k];
        size_t ones = 0, pairs = 0;
        int prev = 0;
        for (size_t t = 0; t < n; t++) {
            int x = rbm_bern(&b, p);
            ones += (size_t)x;
            if (t % 2) pairs += (size_t)(x && prev); /* disjoint pairs (0,1), (2,3), ... */
            prev = x;
        }
        if (p == 0.0 || p == 1.0) {
            ck_assert_msg(ones == (p == 0.0 ? 0 : n), "p = %g: %zu ones in %zu", p, ones, n);
            continue;
        }
        /* the law is Bernoulli(floor(p 2^32) / 2^32): within 5 standard errors */
        double f = (double)ones / (double)n, se = sqrt(p * (1 - p) / (double)n);
        ck_assert_msg(fabs(f - p) <= 5 * se, "p = %g: frequency %.6f (se %.2g)", p, f, se);
        /* two draws in a row are independent: P(1, 1) = p^2 */
        double f2 = (double)pairs / (double)(n / 2),
               se2 = sqrt(p * p * (1 - p * p) / (double)(n / 2));
        ck_assert_msg(fabs(f2 - p * p) <= 5 * se2, "p = %g: pairs %.6f, want %.6f", p, f2, p * p);
    }
    gsl_rng_free(g);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* the learning-rate schedule and the per-algorithm defaults */

START_TEST(test_lr_schedule)
{
    /* the updates of a run, counted minibatch by minibatch as training visits them */
    const size_t ns[] = {1, 19, 20, 21, 1438, 60000};
    const int batches[] = {1, 7, 20, 100, 100000};
    for (size_t a = 0; a < sizeof ns / sizeof ns[0]; a++)
        for (size_t b = 0; b < sizeof batches / sizeof batches[0]; b++) {
            size_t m = (size_t)batches[b] < ns[a] ? (size_t)batches[b] : ns[a];
            long count = 0;
            for (size_t q0 = 0; q0 < ns[a]; q0 += m) count++;
            ck_assert_int_eq(rbm_n_updates(ns[a], batches[b], 3), 3 * count);
        }
    /* linear: alpha at the first update, alpha / T at the last, 0 at t = T,
     * equal steps of alpha / T in between */
    const long Ts[] = {1, 2, 7, 2160, 18000};
    for (size_t a = 0; a < sizeof Ts / sizeof Ts[0]; a++) {
        long T = Ts[a];
        double lr = 0.3;
        ck_assert(rbm_lr_at(lr, RBM_DECAY_LINEAR, 0, T) == lr);
        ck_assert(rbm_lr_at(lr, RBM_DECAY_LINEAR, T, T) == 0.0);
        ck_assert_double_eq_tol(rbm_lr_at(lr, RBM_DECAY_LINEAR, T - 1, T), lr / (double)T, 1e-15);
        for (long t = 1; t <= T; t++) {
            double step =
                rbm_lr_at(lr, RBM_DECAY_LINEAR, t - 1, T) - rbm_lr_at(lr, RBM_DECAY_LINEAR, t, T);
            ck_assert_msg(fabs(step - lr / (double)T) <= 1e-15, "T = %ld, t = %ld: step %g", T, t,
                          step);
            ck_assert(rbm_lr_at(lr, RBM_DECAY_NONE, t, T) == lr); /* none: constant */
        }
    }
    /* unset fields take their algorithm's defaults; what was given stays */
    for (int pcd = 0; pcd <= 1; pcd++) {
        rbm_config c;
        rbm_config_default(&c);
        ck_assert(lz_unset_real(c.lr) && lz_unset_real(c.momentum));
        ck_assert(lz_unset_int(c.batch) && lz_unset_int(c.lr_decay));
        c.pcd = pcd;
        c.batch = 33;
        rbm_config_resolve(&c, 0);
        rbm_algo_defaults a = rbm_algo_default(pcd, RBM_VIS_BERNOULLI, RBM_SIGMA_FIXED);
        ck_assert(c.momentum == a.momentum && c.lr_decay == a.lr_decay);
        ck_assert_int_eq(c.batch, 33);
        ck_assert(pcd ? lz_unset_real(c.lr) : c.lr == a.lr); /* PCD's rate needs n */
        rbm_config_resolve(&c, 1000);
        /* PCD: the rates of an epoch's ceil(1000 / 33) = 31 updates add up to
         * epoch_lr (the last minibatch being smaller: 1000 / 33 of them) */
        if (pcd)
            ck_assert_double_eq_tol(c.lr * 1000.0 / 33.0, a.epoch_lr, 1e-12);
        else
            ck_assert(c.lr == a.lr);
        rbm_config big = c;
        big.lr = LZ_UNSET_REAL;
        rbm_config_resolve(&big, 10); /* few rows: at most a.lr */
        ck_assert(big.lr == a.lr);
        lz_error err;
        ck_assert_int_eq(rbm_config_check(&c, 64, &err), LZ_OK);
    }
    /* training follows the schedule: one update (T = 1) is at alpha, linear or
     * not; of two updates (T = 2) the second is at alpha / 2 under linear */
    const size_t d = 9, n = 100;
    float *x = malloc(n * d * sizeof *x);
    bars_and_stripes(3, n, 4, x);
    for (int pcd = 0; pcd <= 1; pcd++) {
        rbm_config c = bs_config(8, pcd, 1, 5);
        c.batch = (int)n;
        c.momentum = 0;
        rbm_model *a = trained(d, &c, n, x);
        c.lr_decay = RBM_DECAY_LINEAR;
        rbm_model *b = trained(d, &c, n, x);
        ck_assert(memcmp(a->mem, b->mem, rbm_n_params(a) * sizeof *a->mem) == 0);
        c.epochs = 2;
        rbm_model *lin = trained(d, &c, n, x);
        c.lr_decay = RBM_DECAY_NONE;
        rbm_model *con = trained(d, &c, n, x);
        ck_assert(memcmp(lin->mem, con->mem, rbm_n_params(a) * sizeof *a->mem) != 0);
        /* after the same first update (model a), both runs draw the same
         * chains from the same model, so the second step theta_2 - theta_1 is
         * alpha_1 G with the same G: under linear exactly half the step under
         * none, up to float rounding (1e-5 of the numbers involved; a wrong
         * rate would be off by half the step) */
        for (size_t k = 0; k < rbm_n_params(a); k++) {
            double w1 = a->mem[k], sl = (double)lin->mem[k] - w1, sc = (double)con->mem[k] - w1;
            ck_assert_msg(fabs(sl - 0.5 * sc) <= 1e-5 * (fabs(w1) + fabs(sc)) + 1e-12,
                          "pcd %d, parameter %zu: step %g under linear, %g under none", pcd, k, sl,
                          sc);
        }
        rbm_model_free(a);
        rbm_model_free(b);
        rbm_model_free(lin);
        rbm_model_free(con);
    }
    free(x);
    /* PCD decays, CD does not; PCD spreads its rate over an epoch, without momentum */
    rbm_algo_defaults cd = rbm_algo_default(0, RBM_VIS_BERNOULLI, RBM_SIGMA_FIXED),
                      pcd = rbm_algo_default(1, RBM_VIS_BERNOULLI, RBM_SIGMA_FIXED);
    ck_assert_int_eq(pcd.lr_decay, RBM_DECAY_LINEAR);
    ck_assert_int_eq(cd.lr_decay, RBM_DECAY_NONE);
    ck_assert(pcd.epoch_lr > 0 && !(cd.epoch_lr > 0) && pcd.momentum == 0);
}
END_TEST

START_TEST(test_keep_best_refused)
{
    rbm_config c;
    rbm_config_default(&c);
    c.keep_best = 1;
    lz_error err;
    ck_assert_int_eq(rbm_config_check(&c, 64, &err), LZ_OK); /* H = 16: exact every epoch */
    c.h = 500;
    ck_assert_int_eq(rbm_config_check(&c, 784, &err), LZ_EINVAL);
    ck_assert_msg(strstr(err.msg, "--keep-best") != NULL, "%s", err.msg);
    ck_assert_int_eq(rbm_config_check(&c, 0, &err), LZ_OK); /* d not known yet */
    c.h = 16;
    c.exact_max_h = 10;
    ck_assert_int_eq(rbm_config_check(&c, 64, &err), LZ_EINVAL);
}
END_TEST

static Suite *rbm_suite(void)
{
    Suite *s = suite_create("rbm");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_bracket_crossed);
    tcase_add_test(tc, test_conditionals_brute_force);
    tcase_add_test(tc, test_log_z_enumeration);
    tcase_add_test(tc, test_pseudo_ll_brute_force);
    tcase_add_test(tc, test_cd_step_reference);
    tcase_add_test(tc, test_gibbs_samples);
    tcase_add_test(tc, test_cd_and_pcd_bars_and_stripes);
    tcase_add_test(tc, test_ais_against_exact);
    tcase_add_test(tc, test_same_seed_same_model);
    tcase_add_test(tc, test_save_load_round_trip);
    tcase_add_test(tc, test_prepare);
    tcase_add_test(tc, test_bernoulli_bits);
    tcase_add_test(tc, test_lr_schedule);
    tcase_add_test(tc, test_keep_best_refused);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    rbm_set_threads(2);
    return lz_check_main(rbm_suite());
}
