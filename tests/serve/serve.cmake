# SPDX-License-Identifier: MIT
# fastmd serve end to end: the real binary driven over pipes with node's test runner.
find_program(NODE node REQUIRED)
add_test(NAME serve_end_to_end
         COMMAND ${NODE} --test ${CMAKE_CURRENT_LIST_DIR}/serve.test.mjs)
set_tests_properties(serve_end_to_end PROPERTIES
    ENVIRONMENT "FASTMD_BIN=$<TARGET_FILE:fastmd>" LABELS "cli;serve" TIMEOUT 300)

# serve/rpc.c without the server: line reader, escaping, request parsing, the digest encoding.
fmd_add_test(test_serve_rpc
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_rpc.c
    LIBS fmd_serve PkgConfig::JANSSON
    PRIVATE_OF serve
    LABELS unit TIMEOUT 60)

# The shared corpus through serve, compared with build --ndjson (registered where it exists,
# as cli_corpus is).
get_filename_component(FMD_SERVE_CORPUS ${CMAKE_SOURCE_DIR}/../shared/corpus ABSOLUTE)
if(EXISTS ${FMD_SERVE_CORPUS}/SOURCES.txt)
    add_test(NAME serve_corpus COMMAND ${NODE} --test ${CMAKE_CURRENT_LIST_DIR}/corpus.test.mjs)
    set_tests_properties(serve_corpus PROPERTIES
        ENVIRONMENT "FASTMD_BIN=$<TARGET_FILE:fastmd>;FASTMD_CORPUS=${FMD_SERVE_CORPUS}"
        LABELS "cli;serve;corpus" TIMEOUT 300)
endif()
