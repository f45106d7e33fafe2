# SPDX-License-Identifier: MIT
# CommonMark 0.31.2 conformance (label spec): run-spec.mjs renders the 652 examples of the
# commonmark-spec npm package (`npm ci` at the top of the tree) with the fastmd binary and checks
# the failures against known-failures.txt.
find_program(FMD_NODE node)
if(FMD_NODE AND EXISTS ${CMAKE_SOURCE_DIR}/node_modules/commonmark-spec/index.js)
    add_test(NAME spec_commonmark
             COMMAND ${FMD_NODE} ${CMAKE_SOURCE_DIR}/tests/spec/run-spec.mjs
                     --binary $<TARGET_FILE:fastmd>)
    set_tests_properties(spec_commonmark PROPERTIES LABELS spec TIMEOUT 300)
else()
    # A conformance suite that silently disappears is a test that cannot fail: refuse instead.
    message(FATAL_ERROR "spec_commonmark needs node and the commonmark-spec package: run "
                        "scripts/install-deps (npm ci in ${CMAKE_SOURCE_DIR})")
endif()

# GFM 0.29.0.gfm.6 conformance (label spec): run-gfm-spec.mjs renders the examples of the
# committed gfm-spec-0.29.0.gfm.6.txt and checks the failures against gfm-expectations.txt.
add_test(NAME spec_gfm
         COMMAND ${FMD_NODE} ${CMAKE_SOURCE_DIR}/tests/spec/run-gfm-spec.mjs
                 --binary $<TARGET_FILE:fastmd> --jobs 2)
set_tests_properties(spec_gfm PROPERTIES LABELS spec TIMEOUT 300)
