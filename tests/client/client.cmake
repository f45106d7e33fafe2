# SPDX-License-Identifier: MIT
# The Node.js client (client/) against the real binary: client_build compiles it with tsc (the
# package and its tests, into client/dist), client_tests runs its tests with node's test runner,
# FASTMD_BINARY pointing at the fastmd just built. Needs client/node_modules (scripts/install-deps
# runs `npm ci` there from the committed lockfile). client_lint runs ESLint over it.
find_program(NODE node)
find_program(NPM npm)
if(NOT NODE OR NOT NPM)
    message(STATUS "fastmd: node or npm not found, the client tests are not registered")
else()
    set(FMD_CLIENT_DIR ${CMAKE_SOURCE_DIR}/client)
    if(NOT EXISTS ${FMD_CLIENT_DIR}/node_modules/typescript)
        message(STATUS "fastmd: client/node_modules is missing: run scripts/install-deps (npm ci in client/)")
    endif()
    # ESLint (client/eslint.config.js): typescript-eslint's recommended rules, and the protocol's
    # codes and names spelt only in client/src/protocol.ts.
    add_test(NAME client_lint COMMAND ${NPM} run --silent lint WORKING_DIRECTORY ${FMD_CLIENT_DIR})
    set_tests_properties(client_lint PROPERTIES LABELS client TIMEOUT 300)
    add_test(NAME client_build COMMAND ${NPM} run --silent build:all WORKING_DIRECTORY ${FMD_CLIENT_DIR})
    set_tests_properties(client_build PROPERTIES FIXTURES_SETUP fmd_client LABELS client TIMEOUT 300)

    # The compiled test files: client/test/*.test.ts and tests/performance/*.test.ts.
    file(GLOB FMD_CLIENT_TESTS CONFIGURE_DEPENDS
         ${FMD_CLIENT_DIR}/test/*.test.ts ${CMAKE_SOURCE_DIR}/tests/performance/*.test.ts)
    set(FMD_CLIENT_TEST_JS "")
    foreach(ts IN LISTS FMD_CLIENT_TESTS)
        file(RELATIVE_PATH rel ${CMAKE_SOURCE_DIR} ${ts})
        string(REGEX REPLACE "\\.ts$" ".js" rel ${rel})
        list(APPEND FMD_CLIENT_TEST_JS ${FMD_CLIENT_DIR}/dist/test/${rel})
    endforeach()
    add_test(NAME client_tests COMMAND ${NODE} --test ${FMD_CLIENT_TEST_JS} WORKING_DIRECTORY ${FMD_CLIENT_DIR})
    set_tests_properties(client_tests PROPERTIES
        FIXTURES_REQUIRED fmd_client
        ENVIRONMENT "FASTMD_BINARY=$<TARGET_FILE:fastmd>"
        LABELS client TIMEOUT 600)
endif()
