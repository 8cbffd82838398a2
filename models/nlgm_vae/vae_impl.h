/* vae_impl.h -- what the VAE's library files share and the library's users
 * do not see: the aligned allocation of real arrays, and the calls that
 * differ between the float and the double build (vae_real.h).
 */
#ifndef VAE_IMPL_H
#define VAE_IMPL_H

#include <stddef.h>

#include "lz_data.h"
#include "lz_model.h"
#include "lz_prob.h"
#include "vae_real.h"

#ifdef VAE_DOUBLE
#define VAE_GAUSS lz_rng_gauss
#define VAE_GATHER lz_gather
#define VAE_PUT_ARRAY lz_model_put_array
#define VAE_GET_ARRAY lz_model_get_array
#else
#define VAE_GAUSS lz_rng_gaussf
#define VAE_GATHER lz_gather_f
#define VAE_PUT_ARRAY lz_model_put_arrayf
#define VAE_GET_ARRAY lz_model_get_arrayf
#endif

/* every tensor starts on a 64-byte boundary */
#define VAE_ALIGN_REALS (64 / sizeof(vae_real))

/* n zeroed reals on a 64-byte boundary (vae_model.c); NULL when out of memory */
void *vae_alloc_reals(size_t n);

#endif
