# SPDX-License-Identifier: MIT
# Normalisation (BOM, line ends, NUL, invalid UTF-8) and YAML front matter -> JSON.
fmd_add_test(test_normalize
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_normalize.c
    LIBS fmd_kernel
    LABELS unit
    TIMEOUT 30 PRIVATE_OF kernel)
fmd_add_test(test_frontmatter
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_frontmatter.c
    LIBS fmd_kernel
    LABELS unit
    TIMEOUT 30 PRIVATE_OF kernel)
