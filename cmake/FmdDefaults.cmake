# SPDX-License-Identifier: MIT
# fmd_target_defaults(tgt): the warnings and flags every fastmd target gets, set per target.
function(fmd_target_defaults tgt)
    target_compile_options(${tgt} PRIVATE
        -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wvla)
    if(FMD_WERROR)
        target_compile_options(${tgt} PRIVATE -Werror)
    endif()
    if(FMD_NATIVE)
        target_compile_options(${tgt} PRIVATE -march=native)
    endif()
    # POSIX 2008 (openat, fdopendir, ...) without the GNU extensions.
    target_compile_definitions(${tgt} PRIVATE _POSIX_C_SOURCE=200809L
        FMD_VERSION="${PROJECT_VERSION}")
endfunction()
