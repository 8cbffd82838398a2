/* lgm_check.h -- an assertion the LGM's unit tests share (test_lgm.c,
 * test_lgm_missing.c). */
#ifndef LGM_CHECK_H
#define LGM_CHECK_H

#include <check.h>
#include <math.h>

#include "lgm.h"

/* ms is m in new units, column i times c[i] (run q of a test): A A^T(i,j)
 * scaled by c_i c_j (to 1e-7 of max |A|^2; A itself only up to the signs
 * of its columns), D_i and the floor by c_i^2 (1e-7, 1e-12 relative). */
static inline void lgm_check_same_in_units(const lgm_model *m, const lgm_model *ms, const double *c,
                                           size_t q)
{
    size_t d = m->d, k = m->k;
    double amax = 0;
    for (size_t i = 0; i < d * k; i++) amax = fmax(amax, fabs(m->a[i]));
    for (size_t i = 0; i < d; i++) {
        for (size_t j = 0; j < d; j++) {
            double v = 0, vs = 0;
            for (size_t a = 0; a < k; a++) {
                v += m->a[i * k + a] * m->a[j * k + a];
                vs += ms->a[i * k + a] * ms->a[j * k + a];
            }
            ck_assert_msg(fabs(vs / (c[i] * c[j]) - v) <= 1e-7 * amax * amax,
                          "run %zu: AA^T(%zu,%zu) %.17g vs %.17g", q, i, j, vs / (c[i] * c[j]), v);
        }
        ck_assert_msg(fabs(ms->dg[i] / (c[i] * c[i]) - m->dg[i]) <= 1e-7 * m->dg[i],
                      "run %zu: D(%zu)", q, i);
        ck_assert_msg(fabs(ms->floor[i] / (c[i] * c[i]) - m->floor[i]) <= 1e-12 * m->floor[i],
                      "run %zu: floor(%zu)", q, i);
    }
}

#endif
