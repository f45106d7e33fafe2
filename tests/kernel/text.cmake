# SPDX-License-Identifier: MIT
# The renderer's per-byte loops (kernel/text.c) against byte-at-a-time references.
fmd_add_test(test_text SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_text.c LIBS fmd_kernel LABELS unit PRIVATE_OF kernel)
