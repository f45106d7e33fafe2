# SPDX-License-Identifier: MIT
# fmd_link_check(lib): the link graph is the module graph, checked by the linker. A program links
# every object of @lib (WHOLE_ARCHIVE, so that nothing is left out for being unused) and, as
# usual, only the libraries @lib declares with target_link_libraries(). A module that calls a
# function of a module it does not declare (kernel calling io, io calling the engine, ...) then
# fails the build with an undefined reference, even where the fastmd executable, which links
# everything, would have hidden it. The programs are built with `all` and never run.
function(fmd_link_check lib)
    add_executable(fmd_linkcheck_${lib} ${PROJECT_SOURCE_DIR}/cmake/linkcheck.c)
    set_target_properties(fmd_linkcheck_${lib} PROPERTIES
        RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/linkcheck)
    target_link_libraries(fmd_linkcheck_${lib} PRIVATE "$<LINK_LIBRARY:WHOLE_ARCHIVE,${lib}>")
endfunction()
