/* lz_size.h -- overflow-checked size arithmetic.
 *
 * Every size computed from input (IDX dimensions and element sizes, text rows
 * x columns, model-file array shapes, a model's parameter count) goes
 * through these, so a hostile file cannot make a size wrap around and an
 * allocation come out smaller than the data written into it.
 */
#ifndef LZ_SIZE_H
#define LZ_SIZE_H

#include <stddef.h>
#include <stdint.h>

/* *r <- a * b: 1 when the product fits in size_t, else 0 with *r = SIZE_MAX. */
static inline int lz_mul_ok(size_t a, size_t b, size_t *r)
{
    if (__builtin_mul_overflow(a, b, r)) {
        *r = SIZE_MAX;
        return 0;
    }
    return 1;
}

/* *r <- a * b * c, the same way. */
static inline int lz_mul3_ok(size_t a, size_t b, size_t c, size_t *r)
{
    size_t t;
    return lz_mul_ok(a, b, &t) && lz_mul_ok(t, c, r) ? 1 : (*r = SIZE_MAX, 0);
}

/* *r <- a + b, the same way. */
static inline int lz_add_ok(size_t a, size_t b, size_t *r)
{
    if (__builtin_add_overflow(a, b, r)) {
        *r = SIZE_MAX;
        return 0;
    }
    return 1;
}

#endif
