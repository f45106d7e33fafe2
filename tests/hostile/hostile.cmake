# SPDX-License-Identifier: MIT
# Hostile pages, generated at run time (nothing large is committed): front matter of 1-8 MB in
# the shapes that once cost gigabytes, deep flow and block nesting, duplicate keys, and a ReDoS
# rule at 10 and 100 KB. Each case checks the error code (or success) through fastmd render and
# fastmd build. Time and peak memory per case are measured by bench/hostile.sh.
find_program(NODE node REQUIRED)
add_test(NAME hostile_inputs COMMAND ${NODE} --test ${CMAKE_CURRENT_LIST_DIR}/hostile.test.mjs)
set_tests_properties(hostile_inputs PROPERTIES
    ENVIRONMENT "FASTMD_BIN=$<TARGET_FILE:fastmd>" LABELS hostile TIMEOUT 300)
