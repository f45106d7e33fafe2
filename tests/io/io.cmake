# SPDX-License-Identifier: MIT
# io/ unit tests: one executable per unit. System calls are mocked with -Wl,--wrap= where a test
# needs a failure the file system will not give on demand (these tests run as root in CI).
set(FMD_IO_TEST_DIR ${CMAKE_CURRENT_LIST_DIR})

fmd_add_test(test_io_walk
    SOURCES ${FMD_IO_TEST_DIR}/test_walk.c
    LIBS fmd_io
    LINK_OPTIONS -Wl,--wrap=openat
    LABELS unit TIMEOUT 60)

fmd_add_test(test_io_load
    SOURCES ${FMD_IO_TEST_DIR}/test_load.c
    LIBS fmd_io
    LABELS unit TIMEOUT 60)

fmd_add_test(test_io_write
    SOURCES ${FMD_IO_TEST_DIR}/test_write.c
    LIBS fmd_io OpenMP::OpenMP_C
    LINK_OPTIONS -Wl,--wrap=write -Wl,--wrap=renameat -Wl,--wrap=linkat
    LABELS unit TIMEOUT 60)

fmd_add_test(test_io_manifest
    SOURCES ${FMD_IO_TEST_DIR}/test_manifest.c
    LIBS fmd_io PkgConfig::JANSSON
    LABELS unit TIMEOUT 60)
