# SPDX-License-Identifier: MIT
# fmd_add_test(name SOURCES ... LIBS ... LABELS ... TIMEOUT n [ARGS ...] [PRIVATE_OF module]
#              [LINK_OPTIONS ...])
# One executable per unit test, registered with ctest. PRIVATE_OF kernel puts kernel/ (its
# module-private header) on the test's include path: white-box tests of one module only.
function(fmd_add_test name)
    cmake_parse_arguments(T "" "TIMEOUT;PRIVATE_OF" "SOURCES;LIBS;LABELS;ARGS;LINK_OPTIONS" ${ARGN})
    add_executable(${name} ${T_SOURCES})
    fmd_target_defaults(${name})
    target_link_libraries(${name} PRIVATE PkgConfig::CMOCKA ${T_LIBS})
    # tests/support: helpers shared by tests of several modules (fault_alloc.h).
    target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests/support)
    if(T_PRIVATE_OF)
        target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/${T_PRIVATE_OF})
    endif()
    if(T_LINK_OPTIONS)
        target_link_options(${name} PRIVATE ${T_LINK_OPTIONS})
    endif()
    set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
    add_test(NAME ${name} COMMAND ${name} ${T_ARGS})
    if(NOT T_TIMEOUT)
        set(T_TIMEOUT 60)
    endif()
    # Instrumented builds (the asan-ubsan, tsan and coverage presets) run the same work several
    # times slower: FMD_TEST_TIMEOUT_SCALE multiplies every unit test's TIMEOUT (default 1).
    if(FMD_TEST_TIMEOUT_SCALE GREATER 1)
        math(EXPR T_TIMEOUT "${T_TIMEOUT} * ${FMD_TEST_TIMEOUT_SCALE}")
    endif()
    set_tests_properties(${name} PROPERTIES TIMEOUT ${T_TIMEOUT} LABELS "${T_LABELS}")
endfunction()

# fmd_add_fuzzer(name SOURCES ... LIBS ... [PRIVATE_OF module] [CORPUS dir ...])
# One libFuzzer harness (FMD_FUZZ=ON, clang), built with -fsanitize=fuzzer,address,undefined
# into build/<preset>/tests/. Each CORPUS folder (relative to the calling CMakeLists.txt) is
# replayed once as the ctest test <name>_corpus (label fuzz): every seed must run clean under the
# sanitizers. Fuzzing itself (-max_total_time=...) is run by hand, see docs/development.md.
function(fmd_add_fuzzer name)
    cmake_parse_arguments(F "" "PRIVATE_OF" "SOURCES;LIBS;CORPUS" ${ARGN})
    if(NOT CMAKE_C_COMPILER_ID STREQUAL "Clang")
        message(FATAL_ERROR "fmd_add_fuzzer(${name}): libFuzzer needs clang (-DCMAKE_C_COMPILER=clang)")
    endif()
    add_executable(${name} ${F_SOURCES})
    fmd_target_defaults(${name})
    target_compile_options(${name} PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_options(${name} PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_libraries(${name} PRIVATE ${F_LIBS})
    if(F_PRIVATE_OF)
        target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/${F_PRIVATE_OF})
    endif()
    set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
    set(dirs "")
    foreach(d IN LISTS F_CORPUS)
        list(APPEND dirs ${CMAKE_CURRENT_SOURCE_DIR}/${d})
    endforeach()
    if(dirs)
        # -runs=0: run every seed once and stop; nothing is added to the (committed) folders.
        add_test(NAME ${name}_corpus COMMAND ${name} -runs=0 ${dirs})
        set_tests_properties(${name}_corpus PROPERTIES LABELS fuzz TIMEOUT 300)
    endif()
endfunction()
