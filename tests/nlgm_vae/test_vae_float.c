/* test_vae_float.c -- the single-precision build's fast elementwise kernels
 * (linked with lznlgm_vae) against libm in double precision: the slow,
 * obviously-right reference beside the fast one.
 *
 *  (the exp and log1p kernels themselves, common/lz_vmath.h, are checked
 *  against libm in tests/common)
 *  - the Bernoulli negative log-likelihood and sigm of whole rows (the
 *    vectorised loop) against softplus(a) - x a and 1/(1+e^-a) in double, for
 *    logits up to |a| = 200 (where exp underflows).
 */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "lz_prob.h"
#include "vae.h"
#include "lz_check.h"

#ifdef VAE_DOUBLE
#error "this test checks the single-precision build (lznlgm_vae)"
#endif

START_TEST(test_bernoulli_rows)
{
    enum { R = 7, DD = 333 };
    gsl_rng *r = lz_rng_alloc(2);
    float *a = malloc(R * DD * sizeof *a), *x = malloc(R * DD * sizeof *x),
          *p = malloc(R * DD * sizeof *p);
    double nll[R];
    for (int i = 0; i < R * DD; i++) {
        double span = (i / DD) == 0 ? 200 : 8; /* row 0: extreme logits */
        a[i] = (float)(span * (2 * gsl_rng_uniform(r) - 1));
        x[i] = (float)gsl_rng_uniform(r);
    }
    vae_bernoulli_forward(nll, p, a, x, R, 1, DD);
    for (int i = 0; i < R; i++) {
        double want = 0, mag = 0;
        for (int j = 0; j < DD; j++) {
            double av = a[i * DD + j], xv = x[i * DD + j];
            double t = lz_softplus(av) - xv * av;
            want += t;
            mag += fabs(t);
            double pw = 1 / (1 + exp(-av));
            ck_assert_msg(fabs(p[i * DD + j] - pw) <= 2 * FLT_EPSILON * pw + 1e-37,
                          "sigm(%g) = %g, expected %g", av, p[i * DD + j], pw);
        }
        /* a float sum of DD terms: error below DD * eps * sum |terms| */
        ck_assert_msg(fabs(nll[i] - want) <= DD * FLT_EPSILON * mag, "row %d: %.9g vs %.9g", i,
                      nll[i], want);
    }
    free(a);
    free(x);
    free(p);
    gsl_rng_free(r);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("vae_float");
    TCase *tc = tcase_create("kernels");
    tcase_add_test(tc, test_bernoulli_rows);
    suite_add_tcase(s, tc);
    return lz_check_main(s);
}
