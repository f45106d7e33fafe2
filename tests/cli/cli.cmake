# SPDX-License-Identifier: MIT
# End-to-end tests of the fastmd binary, with node's test runner.
find_program(NODE node REQUIRED)
add_test(NAME cli_end_to_end
         COMMAND ${NODE} --test ${CMAKE_CURRENT_LIST_DIR}/cli.test.mjs)
set_tests_properties(cli_end_to_end PROPERTIES
    ENVIRONMENT "FASTMD_BIN=$<TARGET_FILE:fastmd>" LABELS cli TIMEOUT 120)

add_test(NAME cli_engine COMMAND ${NODE} --test ${CMAKE_CURRENT_LIST_DIR}/engine.test.mjs)
# Sanitizers multiply memory (shadow, quarantine): the test then checks that windows bound memory
# relative to an unwindowed run rather than against the absolute budget.
if(CMAKE_C_FLAGS MATCHES "sanitize")
    set(FMD_SANITIZED 1)
else()
    set(FMD_SANITIZED 0)
endif()
set_tests_properties(cli_engine PROPERTIES
    ENVIRONMENT "FASTMD_BIN=$<TARGET_FILE:fastmd>;FMD_SANITIZED=${FMD_SANITIZED}"
    LABELS "cli;engine" TIMEOUT 600)

# The shared corpus lives beside the clone (../shared/corpus) on developer machines and in CI,
# not on a fresh machine: the test is registered only where the corpus is present.
get_filename_component(FMD_CORPUS ${CMAKE_SOURCE_DIR}/../shared/corpus ABSOLUTE)
if(EXISTS ${FMD_CORPUS}/SOURCES.txt)
    add_test(NAME cli_corpus COMMAND ${NODE} --test ${CMAKE_CURRENT_LIST_DIR}/corpus.test.mjs)
    set_tests_properties(cli_corpus PROPERTIES
        ENVIRONMENT "FASTMD_BIN=$<TARGET_FILE:fastmd>;FASTMD_CORPUS=${FMD_CORPUS}"
        LABELS "cli;corpus" TIMEOUT 300)
else()
    message(STATUS "fastmd: ../shared/corpus not found, the corpus test is not registered")
endif()

add_test(NAME cli_outputs COMMAND ${NODE} --test ${CMAKE_CURRENT_LIST_DIR}/outputs.test.mjs)
set_tests_properties(cli_outputs PROPERTIES
    ENVIRONMENT "FASTMD_BIN=$<TARGET_FILE:fastmd>" LABELS cli TIMEOUT 120)
