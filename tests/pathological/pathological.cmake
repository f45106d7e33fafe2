# SPDX-License-Identifier: MIT
# Pathological inputs (label pathological): run-linearity.mjs counts, with callgrind, the
# instructions fastmd render executes inside fmd_kernel_render_page for a page of each class of
# gen.mjs and for one twice as large, and checks the growth against known-superlinear.txt.
# Valgrind cannot run sanitizer builds, so the test is left out of them (with a message).
find_program(FMD_NODE node)
find_program(FMD_VALGRIND valgrind)
if(CMAKE_C_FLAGS MATCHES "-fsanitize")
    message(STATUS "pathological_linearity: not registered, valgrind cannot run a sanitizer build")
elseif(NOT FMD_VALGRIND OR NOT FMD_NODE)
    # A suite that silently disappears is a test that cannot fail: refuse instead.
    message(FATAL_ERROR "the pathological suite needs valgrind and node: run scripts/install-deps")
else()
    add_test(NAME pathological_linearity
             COMMAND ${FMD_NODE} ${CMAKE_CURRENT_LIST_DIR}/run-linearity.mjs
                     --binary $<TARGET_FILE:fastmd> --valgrind ${FMD_VALGRIND} --jobs 2)
    set_tests_properties(pathological_linearity PROPERTIES LABELS pathological TIMEOUT 400)
endif()
