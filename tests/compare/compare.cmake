# SPDX-License-Identifier: MIT
# Footnotes and smart punctuation against cmark-gfm (label compare): compare.mjs renders
# tests/compare/docs/*.md with fastmd and with cmark-gfm and asserts that they differ exactly as
# differences.json (and docs/cmark-gfm-comparison.md) say. fmd_compare_render stands in for
# `fastmd render --footnotes --smart` and needs nothing but fmd_kernel.
add_executable(fmd_compare_render ${CMAKE_CURRENT_LIST_DIR}/render_driver.c)
fmd_target_defaults(fmd_compare_render)
target_link_libraries(fmd_compare_render PRIVATE fmd_kernel)
set_target_properties(fmd_compare_render PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
find_program(FMD_CMARK_GFM cmark-gfm)
find_program(FMD_NODE node)
if(FMD_CMARK_GFM AND FMD_NODE)
    add_test(NAME compare_cmark_gfm
             COMMAND ${FMD_NODE} ${CMAKE_CURRENT_LIST_DIR}/compare.mjs
                     --binary $<TARGET_FILE:fmd_compare_render> --cmark ${FMD_CMARK_GFM})
    set_tests_properties(compare_cmark_gfm PROPERTIES LABELS compare TIMEOUT 120)
else()
    message(STATUS "cmark-gfm or node not found: the compare test (label compare) is not registered")
endif()
