# SPDX-License-Identifier: MIT
# Unit tests of the renderer (kernel/render.c) and of heading slugs (kernel/slug.c).
# They call the fmd__kernel_* functions of kernel/internal.h directly.
fmd_add_test(test_slug SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_slug.c LIBS fmd_kernel LABELS unit PRIVATE_OF kernel)
fmd_add_test(test_render SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_render.c LIBS fmd_kernel
             LABELS unit PRIVATE_OF kernel)
