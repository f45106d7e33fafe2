# SPDX-License-Identifier: MIT
# The transform features of the original sidecar: footnotes, smart punctuation (and the xhtml
# option) in the renderer, custom rules. They call the fmd__kernel_* functions of
# kernel/internal.h directly. test_rules runs an OpenMP region of its own.
fmd_add_test(test_footnotes SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_footnotes.c LIBS fmd_kernel
             LABELS unit TIMEOUT 30 PRIVATE_OF kernel)
fmd_add_test(test_smart SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_smart.c LIBS fmd_kernel
             LABELS unit TIMEOUT 30 PRIVATE_OF kernel)
fmd_add_test(test_rules SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_rules.c LIBS fmd_kernel
             LABELS unit TIMEOUT 60 PRIVATE_OF kernel)
