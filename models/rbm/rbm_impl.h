/* rbm_impl.h -- the RBM library's internals: what rbm_model.c, rbm_eval.c
 * and rbm_train.c share (and the unit tests look into), but rbm.h does not
 * promise to the program.  Only inline functions and a layout, so it adds
 * no arrow to the graph of calls drawn in rbm.h:
 *   - rbm_part: the contiguous block of rows (chains, runs, states) a
 *     thread owns;
 *   - rbm_bits / rbm_bern: Bernoulli draws from a GSL stream, two random
 *     bits a draw on average;
 *   - rbm_sigm_f: the single-precision sigmoid of the training step, which
 *     the fast kernel (rbm_hidden_f, rbm_visible_f) and the reference step
 *     (rbm_cd_step_ref) both use, so that their probabilities agree bit for
 *     bit when their activations do;
 *   - struct rbm_chains: the negative chains of CD-k / PCD-k / PT.
 *
 * A draw of v ~ Bernoulli(p) is "u < p" for u uniform in [0, 1).  With
 * P = floor(p 2^32) and u = 0.b1 b2 b3 ... in binary, u < P / 2^32 is decided
 * by the first bit i where b_i differs from bit i of P: then v = P_i.  That
 * bit is at position i with probability 2^-i, so only i bits are used and
 * P(v = 1) = sum_i 2^-i P_i = P / 2^32 exactly: the same law as comparing a
 * whole 32-bit draw k with P (k < P), at ~1/16 of the generator calls.  The
 * unused bits stay for the next draws (each bit serves one draw only, so
 * the draws are independent).  p >= 1 gives 1.
 */
#ifndef RBM_IMPL_H
#define RBM_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include <gsl/gsl_rng.h>

#include "lz_vmath.h"

/* rows [*a, *b) of n that thread t of T owns: T contiguous blocks */
static inline void rbm_part(size_t n, int T, int t, size_t *a, size_t *b)
{
    *a = n * (size_t)t / (size_t)T;
    *b = n * (size_t)(t + 1) / (size_t)T;
}

typedef struct {
    unsigned long (*get)(void *); /* the generator's 32-bit output       */
    void *state;
    uint64_t buf; /* unused random bits, from the top    */
    int nb;       /* how many                            */
} rbm_bits;

/* A bit source over g (which must return 32 random bits a call: mt19937). */
static inline rbm_bits rbm_bits_of(gsl_rng *g)
{
    rbm_bits s = {g->type->get, g->state, 0, 0};
    return s;
}

/* 1 with probability floor(p 2^32) / 2^32 (1 when p >= 1), else 0; p >= 0. */
static inline int rbm_bern(rbm_bits *s, double p)
{
    uint64_t P = (uint64_t)(p * 4294967296.0); /* p 2^32, truncated; <= 2^32 */
    if (s->nb < 32) {                          /* refill under the bits left */
        s->buf |= (uint64_t)(s->get(s->state) & 0xffffffffUL) << (32 - s->nb);
        s->nb += 32;
    }
    uint32_t x = (uint32_t)(s->buf >> 32) ^ (uint32_t)P;    /* where u and P differ */
    int z = x ? __builtin_clz(x) : 31;                      /* first difference: bit z + 1 */
    int one = x ? (int)(((uint32_t)P >> (31 - z)) & 1) : 0; /* equal 32 bits: u >= P */
    s->buf <<= z + 1;
    s->nb -= z + 1;
    return one | (int)(P >> 32);
}

/* sigm(x) = 1 / (1 + e^-x) in single precision, e^x vectorisable
 * (common/lz_vmath.h) */
static inline float rbm_sigm_f(float x) { return 1.0f / (1.0f + lz_vexpf(-x)); }

/* The negative chains (rbm.h, rbm_chains_alloc). */
struct rbm_chains {
    size_t n;       /* chains                                            */
    size_t h;       /* hidden units                                      */
    float *hs;      /* (n, h) hidden states (PCD: kept between updates)  */
    gsl_rng **rng;  /* (n) chain i: stream RBM_STREAM_CHAIN + i          */
    rbm_bits *bits; /* (n) the chains' bit sources over rng              */
    /* parallel tempering: the replicas r = 1 .. R - 1 of every chain     */
    int R;              /* replicas, replica 0 (hs) included; 1: none    */
    float *beta;        /* (R) beta_r = 1 - r / (R - 1); beta_0 = 1      */
    float *ht;          /* (R - 1, n, h) hidden states of replicas 1..   */
    gsl_rng **trng;     /* ((R - 1) n) replica r of chain i at (r - 1) n + i:
                           stream RBM_STREAM_PT + (r - 1) 1e6 + i        */
    rbm_bits *tbits;    /* ((R - 1) n) their bit sources                 */
    gsl_rng **srng;     /* (n) chain i's swaps: RBM_STREAM_SWAP + i      */
    double *swap_tried; /* (n) swaps proposed, chain by chain            */
    double *swap_acc;   /* (n) swaps accepted                            */
};

#endif
