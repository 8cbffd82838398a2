/* lz_model.h -- model files (--save / --load): text, exact, checked.
 *
 * Text, "%.17g", key-value lines and arrays:
 *     # latent-zoo model
 *     kind lgm 1
 *     int k 2
 *     real sigma2 0.0123
 *     str completion exact
 *     array A 64 2
 *     <64 lines of 2 numbers>
 *     end
 *
 * Written through an lz_outset (lz_out.h) like every output file; read
 * strictly, every size checked against the file before anything is
 * allocated from it, every value finite.
 */
#ifndef LZ_MODEL_H
#define LZ_MODEL_H

#include <stddef.h>
#include <stdio.h>

#include "lz_error.h"

void lz_model_begin(FILE *f, const char *kind, int version);
void lz_model_put_int(FILE *f, const char *name, long v);
void lz_model_put_real(FILE *f, const char *name, double v);
void lz_model_put_str(FILE *f, const char *name, const char *s); /* one word */
void lz_model_put_array(FILE *f, const char *name, size_t rows, size_t cols, const double *a);
void lz_model_put_arrayf(FILE *f, const char *name, size_t rows, size_t cols, const float *a);
void lz_model_end(FILE *f);

typedef struct lz_model lz_model;

/* Read a model file of the given kind; its version must be <= max_version.
 * err names the file and line of anything malformed ("m.model:7: ...").
 * Parsing is strict: an int or real entry is one whole token ("int d 5xyz"
 * is an error), an array's shape must fit in what is left of the file before
 * anything is allocated for it, and its rows must have exactly COLS numbers.
 * An entry name appears once. */
lz_status lz_model_read(const char *path, const char *kind, int max_version, lz_model **out,
                        lz_error *err);
void lz_model_free(lz_model *m);
int lz_model_version(const lz_model *m);

/* Look up an entry; a missing entry or one of the wrong type or shape is an
 * error naming the file and the entry.  Reals and array values must be
 * finite (float arrays: within the range of a float); the error names the
 * line, row and column of the first that is not. */
lz_status lz_model_get_int(const lz_model *m, const char *name, long *v, lz_error *err);
/* The same, with lo <= *v <= hi required. */
lz_status lz_model_get_int_range(const lz_model *m, const char *name, long lo, long hi, long *v,
                                 lz_error *err);
lz_status lz_model_get_real(const lz_model *m, const char *name, double *v, lz_error *err);
lz_status lz_model_get_str(const lz_model *m, const char *name, const char **s, lz_error *err);
/* A str entry that must be one of names[0..n-1]: *out <- its index; any other
 * value is an error naming path, the entry's line and the value. */
lz_status lz_model_get_choice(const lz_model *m, const char *path, const char *name,
                              const char *const *names, int n, int *out, lz_error *err);
lz_status lz_model_get_array(const lz_model *m, const char *name, size_t rows, size_t cols,
                             double *a, lz_error *err);
lz_status lz_model_get_arrayf(const lz_model *m, const char *name, size_t rows, size_t cols,
                              float *a, lz_error *err);
/* That an array entry exists with this shape, without copying it: a loader
 * checks every array it needs before it allocates the model. */
lz_status lz_model_check_array(const lz_model *m, const char *name, size_t rows, size_t cols,
                               lz_error *err);

/* The shape of array NAME as the file holds it, so that a reader can check
 * the sizes a file declares (its int entries) against the arrays present
 * before it allocates anything from them; no such array is an error naming
 * the file and the entry. */
lz_status lz_model_get_shape(const lz_model *m, const char *name, size_t *rows, size_t *cols,
                             lz_error *err);
/* The line of an entry (row i of an array is on line + 1 + i), 0 if absent;
 * for a loader's own errors: "m.model:12: ...". */
size_t lz_model_line(const lz_model *m, const char *name);

#endif
