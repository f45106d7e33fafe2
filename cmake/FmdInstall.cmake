# SPDX-License-Identifier: MIT
# Install rules and the Debian package. `cmake --install build/release --prefix P` puts:
#   P/bin/fastmd                        the executable (the fmd_* libraries are static)
#   P/share/man/man1/fastmd.1           the manual page (every command, one section each)
#   P/share/man/man1/fastmd-CMD.1       one page per command (docs/man/split.mjs makes them)
#   P/share/doc/fastmd/                 README.md, LICENSE and docs/ (guides, protocol, ADRs)
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
