/* fuzz_model.c -- one model-file loader on arbitrary bytes, chosen at build
 * time: LZ_FUZZ_PCA (pca_model_read), LZ_FUZZ_LGM (lgm_model_read),
 * LZ_FUZZ_VAE (vae_model_read), LZ_FUZZ_RBM (rbm_model_read).
 *
 * A load either fails with a one-line message naming the file, or gives a
 * model.  Nothing is allocated beyond what the file holds (a shape is
 * checked against the file before allocating), which the fuzzer enforces
 * with -malloc_limit_mb (tests/fuzz/run.sh).
 */
#include <math.h>

#include "fuzz_util.h"
#include "lz_error.h"

#if defined(LZ_FUZZ_PCA)
#include "pca.h"
#elif defined(LZ_FUZZ_LGM)
#include "lgm.h"
#elif defined(LZ_FUZZ_VAE)
#include "vae.h"
#elif defined(LZ_FUZZ_RBM)
#include "rbm.h"
#else
#error "define one of LZ_FUZZ_PCA, LZ_FUZZ_LGM, LZ_FUZZ_VAE, LZ_FUZZ_RBM"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1u << 20)) return 0;
    char path[600];
    fuzz_path("m.model", path, sizeof path);
    fuzz_write(path, data, size);
    lz_error err;
    lz_error_clear(&err);
    lz_status st;
#if defined(LZ_FUZZ_PCA)
    pca_model *m = NULL;
    st = pca_model_read(path, &m, &err);
    if (!st && !(m->k >= 1 && m->k < m->d && m->sigma2 > 0)) abort();
    pca_model_free(m);
#elif defined(LZ_FUZZ_LGM)
    lgm_model *m = NULL;
    st = lgm_model_read(path, &m, &err);
    if (!st && !(m->k >= 1 && m->k < m->d)) abort();
    for (size_t i = 0; !st && i < m->d; i++)
        if (!(m->dg[i] > 0) || !(m->floor[i] >= 0)) abort();
    lgm_model_free(m);
#elif defined(LZ_FUZZ_VAE)
    vae_model *m = NULL;
    st = vae_model_read(path, &m, &err);
    for (size_t j = 0; !st && j < m->a.d; j++)
        if (!(m->scale[j] > 0)) abort();
    vae_model_free(m);
#else
    rbm_model *m = NULL;
    rbm_prep prep;
    rbm_method how = {0, 0, 0};
    st = rbm_model_read(path, &m, &prep, &how, &err);
    if (!st && !(how.cd_k >= 1 && (how.pcd == 0 || how.pcd == 1) && how.pt >= 0 && prep.scale > 0))
        abort();
    for (size_t i = 0; !st && i < m->d; i++) /* Gaussian: what the model divides by is positive */
        if (!(m->scale[i] > 0) || !isfinite(m->z[i])) abort();
    rbm_model_free(m);
#endif
    fuzz_report("model", st, err.msg);
    if (st) {
        fuzz_check_failure(st, LZ_ENOMEM, err.msg);
        if (!strstr(err.msg, "m.model")) {
            fprintf(stderr, "fuzz_model: the message does not name the file: %s\n", err.msg);
            abort();
        }
    }
    unlink(path);
    return 0;
}
