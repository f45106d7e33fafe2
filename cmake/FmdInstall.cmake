# SPDX-License-Identifier: MIT
# Install rules and the Debian package. `cmake --install build/release --prefix P` puts:
#   P/bin/fastmd                        the executable (the fmd_* libraries are static)
#   P/share/man/man1/fastmd.1           the manual page (every command, one section each)
#   P/share/man/man1/fastmd-CMD.1       one page per command (docs/man/split.mjs makes them)
#   P/share/doc/fastmd/                 README.md, LICENSE and docs/ (guides, protocol, ADRs)
#   P/share/fastmd/fastmd-client-V.tgz  the Node client package (`npm pack` of client/), for
#                                       `npm install P/share/fastmd/fastmd-client-V.tgz`; made
#                                       when npm and client/node_modules are there (FMD_CLIENT_PACK)
# `cpack --config build/release/CPackConfig.cmake` makes fastmd_VERSION_ARCH.deb, installing
# under /usr, with its Depends computed by dpkg-shlibdeps from the libraries the binary links.
# tests/install checks both.
include(GNUInstallDirs)

install(TARGETS fastmd RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
file(GLOB FMD_MAN_PAGES ${PROJECT_SOURCE_DIR}/docs/man/*.1)
install(FILES ${FMD_MAN_PAGES} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/LICENSE
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR}
        PATTERN man EXCLUDE)

# The client tarball: `npm pack` in client/ (its prepare script compiles client/dist with tsc, so
# it needs client/node_modules: scripts/install-deps) into the build folder, remade when a
# source of the package changes. Without npm or node_modules it is left out, with a message.
find_program(FMD_NPM npm)
if(FMD_NPM AND EXISTS ${PROJECT_SOURCE_DIR}/client/node_modules/typescript)
    set(FMD_CLIENT_PACK_DEFAULT ON)
else()
    set(FMD_CLIENT_PACK_DEFAULT OFF)
endif()
option(FMD_CLIENT_PACK "Pack the Node client (npm pack) and install the tarball"
       ${FMD_CLIENT_PACK_DEFAULT})
if(FMD_CLIENT_PACK)
    file(READ ${PROJECT_SOURCE_DIR}/client/package.json fmd_client_json)
    string(JSON fmd_client_version GET ${fmd_client_json} version)
    set(FMD_CLIENT_TARBALL ${CMAKE_BINARY_DIR}/client-pack/fastmd-client-${fmd_client_version}.tgz)
    file(GLOB fmd_client_sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/client/src/*.ts)
    add_custom_command(
        OUTPUT ${FMD_CLIENT_TARBALL}
        COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/client-pack
        COMMAND ${FMD_NPM} pack --silent --pack-destination ${CMAKE_BINARY_DIR}/client-pack
        WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}/client
        DEPENDS ${fmd_client_sources} ${PROJECT_SOURCE_DIR}/client/package.json
                ${PROJECT_SOURCE_DIR}/client/README.md ${PROJECT_SOURCE_DIR}/client/tsconfig.json
        COMMENT "npm pack of the Node client (client/)"
        VERBATIM)
    add_custom_target(fmd_client_pack ALL DEPENDS ${FMD_CLIENT_TARBALL})
    install(FILES ${FMD_CLIENT_TARBALL} DESTINATION ${CMAKE_INSTALL_DATADIR}/fastmd)
else()
    message(STATUS "fastmd: npm or client/node_modules missing: the client tarball is not packed "
                   "or installed (run scripts/install-deps)")
endif()

set(CPACK_PACKAGE_NAME fastmd)
set(CPACK_PACKAGE_VENDOR "the fastmd contributors")
set(CPACK_PACKAGE_CONTACT "the fastmd contributors <fastmd@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "Markdown pages (with YAML front matter) to HTML and metadata, on every core")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_RESOURCE_FILE_LICENSE ${PROJECT_SOURCE_DIR}/LICENSE)
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION text)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_PACKAGE_DIRECTORY ${CMAKE_BINARY_DIR}/package)
include(CPack)
