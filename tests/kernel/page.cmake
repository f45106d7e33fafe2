# SPDX-License-Identifier: MIT
# The page transform end to end (kernel/page.c) and the batch loop (kernel/batch.c).
fmd_add_test(test_page SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_page.c
             LIBS fmd_kernel PkgConfig::XXHASH LABELS unit)
