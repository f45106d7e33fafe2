# SPDX-License-Identifier: MIT
# corpus-diff.sh's self-test (label compare): no difference between a binary and itself, and the
# pages a --html5 wrapper changes, found and grouped.
add_test(NAME compare_corpus_diff
         COMMAND ${CMAKE_CURRENT_LIST_DIR}/corpus-diff-test.sh $<TARGET_FILE:fastmd>)
set_tests_properties(compare_corpus_diff PROPERTIES LABELS compare TIMEOUT 120)
