# SPDX-License-Identifier: MIT
# numa/ tests. They never depend on the host: hwloc synthetic topologies, an XML file exported
# from one, and the binding calls replaced with -Wl,--wrap mocks. test_numa_system only checks
# invariants on the real machine (it passes with binding allowed or refused).
set(FMD_NUMA_TESTS ${CMAKE_CURRENT_LIST_DIR})

fmd_add_test(test_numa_split SOURCES ${FMD_NUMA_TESTS}/test_split.c
             LIBS fmd_numa LABELS numa)

if(FMD_WITH_HWLOC)
    fmd_add_test(test_numa_plan SOURCES ${FMD_NUMA_TESTS}/test_plan.c
                 LIBS fmd_numa PkgConfig::HWLOC LABELS numa)
    fmd_add_test(test_numa_bind SOURCES ${FMD_NUMA_TESTS}/test_bind.c
                 LIBS fmd_numa PkgConfig::HWLOC OpenMP::OpenMP_C LABELS numa
                 LINK_OPTIONS -Wl,--wrap=hwloc_set_cpubind -Wl,--wrap=hwloc_get_cpubind
                              -Wl,--wrap=hwloc_get_last_cpu_location
                              -Wl,--wrap=hwloc_set_area_membind)
    fmd_add_test(test_numa_system SOURCES ${FMD_NUMA_TESTS}/test_system.c
                 LIBS fmd_numa OpenMP::OpenMP_C LABELS numa)
else()
    fmd_add_test(test_numa_stub SOURCES ${FMD_NUMA_TESTS}/test_stub.c
                 LIBS fmd_numa OpenMP::OpenMP_C LABELS numa)
endif()
