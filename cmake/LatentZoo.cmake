# Dependencies and helpers shared by every directory of the build.
find_package(PkgConfig REQUIRED)
pkg_check_modules(OPENBLAS REQUIRED IMPORTED_TARGET openblas)
pkg_check_modules(LAPACKE REQUIRED IMPORTED_TARGET lapacke)
pkg_check_modules(ZLIB REQUIRED IMPORTED_TARGET zlib)
pkg_check_modules(CHECK REQUIRED IMPORTED_TARGET check)
find_package(OpenMP REQUIRED COMPONENTS C)
find_package(Threads REQUIRED)
# GSL's own CBLAS (gslcblas) is not linked: GSL's BLAS calls go to OpenBLAS.
find_library(GSL_LIBRARY gsl REQUIRED)
find_path(GSL_INCLUDE_DIR gsl/gsl_rng.h REQUIRED)
find_library(MATH_LIBRARY m REQUIRED)

# lz_add_check_test(NAME SOURCES... LIBS...): a Check unit test run by ctest.
function(lz_add_check_test name)
  cmake_parse_arguments(T "" "TIMEOUT" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS} lzcommon PkgConfig::CHECK)
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests)
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  add_test(NAME ${name} COMMAND ${name})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  # CK_DEFAULT_TIMEOUT: Check's per-test limit (its default of 4 s is too short
  # for the statistical tests); ctest's TIMEOUT bounds the whole program.
  set_tests_properties(${name} PROPERTIES TIMEOUT ${T_TIMEOUT}
    ENVIRONMENT "CK_DEFAULT_TIMEOUT=${T_TIMEOUT};OPENBLAS_NUM_THREADS=2")
endfunction()

# lz_add_script_test(NAME SCRIPT [ARGS...]): a bash end-to-end test.  The
# script gets BIN (the programs), SRC (the source tree) and TMP (a scratch
# directory of its own) in its environment.
function(lz_add_script_test name script)
  add_test(NAME ${name} COMMAND bash ${script} ${ARGN})
  set_tests_properties(${name} PROPERTIES TIMEOUT 300
    ENVIRONMENT "BIN=${CMAKE_BINARY_DIR}/bin;SRC=${PROJECT_SOURCE_DIR};TMP=${CMAKE_BINARY_DIR}/tests/tmp/${name};OPENBLAS_NUM_THREADS=2")
endfunction()
