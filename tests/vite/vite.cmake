# SPDX-License-Identifier: MIT
# The Vite plugin (client/src/vite.ts, built into client/dist by client_build) in a real Vite
# project: vite from tests/vite/package-lock.json (scripts/install-deps runs `npm ci` there),
# FASTMD_BINARY pointing at the fastmd just built.
find_program(NODE node)
if(NOT NODE)
    message(STATUS "fastmd: node not found, the Vite plugin tests are not registered")
else()
    if(NOT EXISTS ${CMAKE_SOURCE_DIR}/tests/vite/node_modules/vite)
        message(STATUS "fastmd: tests/vite/node_modules is missing: run scripts/install-deps (npm ci in tests/vite/)")
    endif()
    add_test(NAME client_vite COMMAND ${NODE} --test ${CMAKE_SOURCE_DIR}/tests/vite/vite.test.mjs
             WORKING_DIRECTORY ${CMAKE_SOURCE_DIR}/tests/vite)
    set_tests_properties(client_vite PROPERTIES
        FIXTURES_REQUIRED fmd_client
        ENVIRONMENT "FASTMD_BINARY=$<TARGET_FILE:fastmd>"
        LABELS client TIMEOUT 300)
endif()
