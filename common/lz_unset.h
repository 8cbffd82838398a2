/* lz_unset.h -- a hyperparameter left to a rule that depends on others.
 *
 * An option whose default depends on other options (e.g. a rate
 * that differs between two algorithms) holds one of these until the program
 * resolves it after parsing.  The parser never stores them (LZ_OPT_REAL
 * takes finite numbers only, LZ_OPT_INT integers above INT_MIN), so an
 * option that still holds one after parsing was not given.  While an
 * option holds one, --help prints its help text as it is, so that text
 * states the default in words: "learning rate (default: 0.1 for CD, 0.01
 * for PCD)".  LZ_OPT_INT and LZ_OPT_CHOICE use LZ_UNSET_INT, LZ_OPT_REAL
 * LZ_UNSET_REAL (NaN). */

#ifndef LZ_UNSET_H
#define LZ_UNSET_H

#include <limits.h>
#include <math.h>

#define LZ_UNSET_INT INT_MIN
#define LZ_UNSET_REAL NAN
static inline int lz_unset_int(int x) { return x == LZ_UNSET_INT; }
static inline int lz_unset_real(double x) { return isnan(x); }

#endif
