# SPDX-License-Identifier: MIT
# The libFuzzer seed corpus writer (label unit): make-seeds.mjs, checked with node's test runner.
# The harnesses themselves are built only with FMD_FUZZ=ON (clang), see the top-level CMakeLists.
find_program(FMD_NODE node)
add_test(NAME fuzz_seeds
         COMMAND ${FMD_NODE} --test ${CMAKE_CURRENT_LIST_DIR}/make-seeds.test.mjs)
set_tests_properties(fuzz_seeds PROPERTIES LABELS unit TIMEOUT 60)
