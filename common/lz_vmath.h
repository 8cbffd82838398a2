/* lz_vmath.h -- exp and log1p written so that loops over arrays vectorise.
 *
 * libm's exp and log1p are opaque calls, so a loop calling them stays scalar
 * (without -ffast-math, which this project does not use).  These inline
 * versions are plain arithmetic on the argument and its bits; a compiler
 * turns a loop of them into SIMD code.  Each is within 2 ulp of libm over its
 * domain (tests/common checks every one against libm in double precision).
 *
 * exp: x = n ln2 + r with |r| <= ln2/2 (n rounded to nearest by adding and
 * subtracting 1.5 * 2^mantissa-bits; ln2 split in a part exact in few bits
 * and a correction, Cody & Waite), e^r by its Taylor polynomial, and 2^n
 * built in the exponent bits.
 */
#ifndef LZ_VMATH_H
#define LZ_VMATH_H

#include <stdint.h>
#include <string.h>

/* e^x in single precision, x clamped to [-87, 88] (so 2^n stays a normal
 * number).  Taylor degree 7: remainder below 0.347^8 / 8! * 1.42 < 8e-9
 * relative, a tenth of an ulp. */
static inline float lz_vexpf(float x)
{
    x = x < -87.0f ? -87.0f : x;
    x = x > 88.0f ? 88.0f : x;
    float t = x * 1.44269504088896341f;         /* x / ln 2                     */
    float nf = (t + 12582912.0f) - 12582912.0f; /* round to nearest (1.5 2^23) */
    float r = x - nf * 0.693359375f;            /* ln 2 = 0.693359375 ...      */
    r = r - nf * -2.12194440e-4f;               /*  ... - 2.12194440e-4        */
    float p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    int32_t bits = ((int32_t)nf + 127) << 23; /* 2^n, n in [-126, 127] */
    float s;
    memcpy(&s, &bits, sizeof s);
    return p * s;
}

/* e^x in double precision, x clamped to [-708, 709].  Taylor degree 13:
 * remainder below 0.347^14 / 14! * 1.42 < 2e-17 relative. */
static inline double lz_vexp(double x)
{
    x = x < -708.0 ? -708.0 : x;
    x = x > 709.0 ? 709.0 : x;
    double t = x * 1.44269504088896340736;          /* x / ln 2          */
    double kd = t + 6755399441055744.0;             /* 1.5 2^52 + n      */
    double nf = kd - 6755399441055744.0;            /* n = round(t)      */
    double r = x - nf * 6.93147180369123816490e-01; /* ln 2 = hi ...     */
    r = r - nf * 1.90821492927058770002e-10;        /*    ... + lo       */
    double p = 1.0 / 6227020800.0;                  /* 1/13!             */
    p = p * r + 1.0 / 479001600.0;
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    /* 2^n, n in [-1022, 1023]: kd's low mantissa bits hold n, so its bits
     * plus the bias, shifted, are those of 2^n (no double -> int64
     * conversion, which AVX2 cannot do on a vector) */
    uint64_t bits;
    memcpy(&bits, &kd, sizeof bits);
    bits = (bits + 1023) << 52;
    double s;
    memcpy(&s, &bits, sizeof s);
    return p * s;
}

/* log(1 + e) for 0 <= e <= 1 in single precision: with u = e / (2 + e) in
 * [0, 1/3], log(1 + e) = 2 atanh(u) = 2 (u + u^3/3 + ... + u^13/13); the first
 * omitted term is below (1/3)^14 / 15 < 2e-8 relative.  The softplus and
 * Bernoulli losses need it for e = exp(-|a|). */
static inline float lz_vlog1pf_unit(float e)
{
    float u = e / (2.0f + e);
    float u2 = u * u;
    float p = 1.0f / 13.0f;
    p = p * u2 + 1.0f / 11.0f;
    p = p * u2 + 1.0f / 9.0f;
    p = p * u2 + 1.0f / 7.0f;
    p = p * u2 + 1.0f / 5.0f;
    p = p * u2 + 1.0f / 3.0f;
    p = p * u2 + 1.0f;
    return 2.0f * u * p;
}

#endif
