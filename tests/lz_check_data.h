/* lz_check_data.h -- data for the Check unit tests of the models that
 * complete missing values: an allocation that cannot fail silently, a data
 * set in memory as the reader makes it, and an MCAR mask.
 */
#ifndef LZ_CHECK_DATA_H
#define LZ_CHECK_DATA_H

#include <check.h>
#include <gsl/gsl_rng.h>
#include <stdlib.h>
#include <string.h>

#include "lz_data.h"

/* n zeroed doubles (at least one) */
static inline double *lz_test_dalloc(size_t n)
{
    double *p = calloc(n ? n : 1, sizeof *p);
    ck_assert_ptr_nonnull(p);
    return p;
}

/* a data set in memory, as the reader makes it (lz_data_free frees it): a
 * copy of x (n, d) with 0 where miss (may be NULL) says a value is missing;
 * a mask given is kept even when it marks nothing */
static inline lz_data *lz_test_data(size_t n, size_t d, const double *x, const unsigned char *miss)
{
    lz_data *dt = calloc(1, sizeof *dt);
    ck_assert_ptr_nonnull(dt);
    dt->n = n;
    dt->d = d;
    dt->x = lz_test_dalloc(n * d);
    memcpy(dt->x, x, n * d * sizeof *dt->x);
    dt->label_field = -1;
    dt->path = strdup("mem");
    if (miss) {
        dt->miss = malloc(n * d);
        ck_assert_ptr_nonnull(dt->miss);
        memcpy(dt->miss, miss, n * d);
        for (size_t i = 0; i < n * d; i++)
            if (miss[i]) {
                dt->x[i] = 0.0;
                dt->n_miss++;
            }
    }
    return dt;
}

/* miss (n, d) <- MCAR with probability p, every row keeping one observed
 * value (a row with none is refused by the reader) */
static inline void lz_test_mcar(gsl_rng *r, size_t n, size_t d, double p, unsigned char *miss)
{
    for (size_t t = 0; t < n; t++) {
        size_t no = 0;
        for (size_t i = 0; i < d; i++) no += !(miss[t * d + i] = gsl_rng_uniform(r) < p);
        if (!no) miss[t * d + gsl_rng_uniform_int(r, d)] = 0;
    }
}

#endif
