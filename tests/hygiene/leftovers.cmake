# SPDX-License-Identifier: MIT
# cmake -DMODE=snapshot|check -DSNAPSHOT=FILE -DPRIVATE_TMP=DIR -DPRIVATE_SHM=DIR -P leftovers.cmake
# snapshot: make PRIVATE_TMP and PRIVATE_SHM empty folders; write the fastmd-* and fmd-* entries
#   of /dev/shm and /tmp to FILE.
# check: fail, naming them, on entries left in PRIVATE_TMP or PRIVATE_SHM, then remove both.
#   Entries of /dev/shm and /tmp not in FILE, and still there a few seconds later (an entry that
#   disappears belonged to a run still going on), fail it when the environment has CI or
#   FASTMD_HYGIENE_STRICT set, and are printed as a warning otherwise: on a shared machine they
#   may be another user's.
cmake_minimum_required(VERSION 3.25)

function(list_entries out)
    set(found "")
    foreach(dir /dev/shm /tmp)
        if(IS_DIRECTORY ${dir})
            file(GLOB here LIST_DIRECTORIES true ${dir}/fastmd-* ${dir}/fmd-*)
            list(APPEND found ${here})
        endif()
    endforeach()
    list(REMOVE_ITEM found ${PRIVATE_TMP} ${PRIVATE_SHM})
    list(SORT found)
    set(${out} "${found}" PARENT_SCOPE)
endfunction()

foreach(v SNAPSHOT PRIVATE_TMP PRIVATE_SHM)
    if(NOT ${v})
        message(FATAL_ERROR "leftovers.cmake: -D${v}=... is required")
    endif()
endforeach()

if(MODE STREQUAL "snapshot")
    file(REMOVE_RECURSE ${PRIVATE_TMP} ${PRIVATE_SHM})
    file(MAKE_DIRECTORY ${PRIVATE_TMP} ${PRIVATE_SHM})
    list_entries(now)
    string(REPLACE ";" "\n" text "${now}")
    file(WRITE ${SNAPSHOT} "${text}\n")
    list(LENGTH now n)
    message(STATUS "hygiene: ${n} fastmd-* and fmd-* entries in /dev/shm and /tmp before the tests; "
                   "TMPDIR=${PRIVATE_TMP} FASTMD_TEST_SHM=${PRIVATE_SHM}")
elseif(MODE STREQUAL "check")
    if(NOT EXISTS ${SNAPSHOT})
        message(FATAL_ERROR "hygiene: no snapshot at ${SNAPSHOT}: hygiene_snapshot did not run")
    endif()
    set(failures "")
    # This run's own folders: anything in them was made by one of its tests.
    foreach(dir ${PRIVATE_TMP} ${PRIVATE_SHM})
        file(GLOB mine LIST_DIRECTORIES true ${dir}/* ${dir}/.*)
        list(REMOVE_ITEM mine ${PRIVATE_SHM})
        list(APPEND failures ${mine})
    endforeach()
    file(REMOVE_RECURSE ${PRIVATE_TMP} ${PRIVATE_SHM})

    # /dev/shm and /tmp themselves.
    file(STRINGS ${SNAPSHOT} before)
    list_entries(new)
    if(before)
        list(REMOVE_ITEM new ${before})
    endif()
    set(left "")
    if(new)
        execute_process(COMMAND ${CMAKE_COMMAND} -E sleep 5)
        list_entries(later)
        foreach(e IN LISTS new)
            if(e IN_LIST later)
                list(APPEND left ${e})
            endif()
        endforeach()
    endif()
    if(left)
        if(DEFINED ENV{CI} OR DEFINED ENV{FASTMD_HYGIENE_STRICT})
            list(APPEND failures ${left})
        else()
            string(REPLACE ";" "\n  " text "${left}")
            message(WARNING "hygiene: new in /dev/shm or /tmp since the tests began (this run's, "
                            "or another user's on a shared machine; FASTMD_HYGIENE_STRICT=1 "
                            "makes them fail the test):\n  ${text}")
        endif()
    endif()
    file(REMOVE ${SNAPSHOT})
    if(failures)
        list(LENGTH failures n)
        string(REPLACE ";" "\n  " text "${failures}")
        message(FATAL_ERROR "hygiene: the tests left ${n} entries behind:\n  ${text}")
    endif()
    message(STATUS "hygiene: the tests left nothing in /dev/shm or /tmp")
else()
    message(FATAL_ERROR "leftovers.cmake: MODE must be snapshot or check, not '${MODE}'")
endif()
