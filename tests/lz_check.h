/* lz_check.h -- the main() of every Check unit test program.
 *
 *     int main(void) { return lz_check_main(suite()); }
 *
 * Runs the suite (each test in a child process, Check's default), with
 * floating-point exceptions trapping in an LZ_FPE build (lz_fpe_trap, which
 * the children inherit), and exits non-zero when any test failed.
 */
#ifndef LZ_CHECK_H
#define LZ_CHECK_H

#include <check.h>
#include <stdlib.h>

#include "lz_error.h"

static inline int lz_check_main(Suite *s)
{
    lz_fpe_trap();
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
