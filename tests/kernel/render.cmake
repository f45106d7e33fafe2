# SPDX-License-Identifier: MIT
# Unit tests of the renderer (kernel/render.c) and of heading slugs (kernel/slug.c).
# They call the fmd__kernel_* functions of kernel/internal.h directly.
fmd_add_test(test_slug SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_slug.c LIBS fmd_kernel LABELS unit)
fmd_add_test(test_render SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_render.c LIBS fmd_kernel
             LABELS unit)

# The kernel on fastmd's own parser (fmd_kernel_own), held to the CommonMark spec whatever
# FMD_OWN_PARSER selects for fastmd itself: fmd-own-render is `fastmd render` for one page.
add_executable(fmd-own-render ${CMAKE_CURRENT_LIST_DIR}/own_render.c)
fmd_target_defaults(fmd-own-render)
target_link_libraries(fmd-own-render PRIVATE fmd_kernel_own)
set_target_properties(fmd-own-render PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
find_program(FMD_NODE node)
add_test(NAME spec_commonmark_own_parser
         COMMAND ${FMD_NODE} ${CMAKE_SOURCE_DIR}/tests/spec/run-spec.mjs
                 --binary $<TARGET_FILE:fmd-own-render>
                 --known-failures ${CMAKE_CURRENT_LIST_DIR}/own-parser-known-failures.txt)
set_tests_properties(spec_commonmark_own_parser PROPERTIES LABELS spec TIMEOUT 300)
