# SPDX-License-Identifier: MIT
# The writer pool and the ordered stream; renameat is wrapped to fail on demand.
fmd_add_test(test_io_writer
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_writer.c
    LIBS fmd_io PkgConfig::JANSSON OpenMP::OpenMP_C
    LINK_OPTIONS -Wl,--wrap=renameat -Wl,--wrap=linkat
    LABELS unit TIMEOUT 60)
