# SPDX-License-Identifier: MIT
# Footnotes and smart punctuation against cmark-gfm (label compare): compare.mjs renders
# tests/compare/docs/*.md with `fastmd render --footnotes --smart --unsafe --no-heading-ids` and
# with cmark-gfm, and asserts that they differ exactly as differences.json (and
# docs/cmark-gfm-comparison.md) say. scripts/install-deps installs cmark-gfm.
find_program(FMD_CMARK_GFM cmark-gfm)
find_program(FMD_NODE node)
if(NOT FMD_CMARK_GFM OR NOT FMD_NODE)
    message(FATAL_ERROR "the cmark-gfm comparison needs cmark-gfm and node: run scripts/install-deps")
endif()
add_test(NAME compare_cmark_gfm
         COMMAND ${FMD_NODE} ${CMAKE_CURRENT_LIST_DIR}/compare.mjs
                 --binary $<TARGET_FILE:fastmd> --cmark ${FMD_CMARK_GFM})
set_tests_properties(compare_cmark_gfm PROPERTIES LABELS compare TIMEOUT 120)
