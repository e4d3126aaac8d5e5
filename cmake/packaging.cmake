# Installing and packaging: `cmake --install BUILD --prefix DIR` and `cpack -G DEB` in the build
# directory. Installs bin/vmm, bin/vmmctl and bin/vmm-jail, their man pages (generated from --help and
# --version with help2man at build time), the README and docs/.

include(GNUInstallDirs)

install(TARGETS vmm vmmctl vmm-jail RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${CMAKE_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
# The README links into docs/: installed beside it, so the links work in the package too.
file(GLOB VMM_DOCS ${CMAKE_SOURCE_DIR}/docs/*.md)
install(FILES ${VMM_DOCS} DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs)

# Man pages. help2man runs the freshly built binary; --no-info because there is no Texinfo
# manual, --no-discard-stderr so a --help that went to stderr would still be seen.
find_program(HELP2MAN help2man)
if(HELP2MAN)
  set(man_pages "")
  foreach(prog IN ITEMS vmm vmmctl vmm-jail)
    if(prog STREQUAL "vmm")
      set(desc "${CMAKE_SYSTEM_PROCESSOR} virtual machine monitor on KVM")
    elseif(prog STREQUAL "vmm-jail")
      set(desc "run vmm in a jail: namespaces, pivot_root, cgroups, an unprivileged uid")
    else()
      set(desc "control a running vmm through its HTTP API socket")
    endif()
    set(page ${CMAKE_BINARY_DIR}/man/${prog}.1)
    add_custom_command(OUTPUT ${page}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/man
      COMMAND ${HELP2MAN} --no-info --no-discard-stderr --section=1
              --name=${desc} --output=${page} $<TARGET_FILE:${prog}>
      DEPENDS ${prog}
      COMMENT "Generating man page ${prog}.1 with help2man"
      VERBATIM)
    list(APPEND man_pages ${page})
  endforeach()
  add_custom_target(man_pages ALL DEPENDS ${man_pages})
  install(FILES ${man_pages} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
else()
  message(WARNING "help2man not found: no man pages (tools/setup.sh installs it)")
endif()

# Debian package: cpack -G DEB in the build directory. dpkg-shlibdeps (dpkg-dev) works out
# Depends from the libraries the binaries really link.
set(CPACK_PACKAGE_NAME vmm)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "vmm project")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "small KVM virtual machine monitor with an HTTP control API")
set(CPACK_PACKAGE_DESCRIPTION
  "vmm boots x86_64 Linux kernels and PVH ELF guests on KVM with virtio devices (block, net,\n"
  "console, rng, gpu, input) over virtio-mmio or virtio-pci. vmmctl controls a running vmm\n"
  "through its Firecracker-compatible HTTP API on a Unix socket.")
string(REPLACE ";" "" CPACK_PACKAGE_DESCRIPTION "${CPACK_PACKAGE_DESCRIPTION}")
set(CPACK_PACKAGE_CONTACT "vmm maintainers <vmm@example.org>")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${CPACK_PACKAGE_CONTACT}")
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# dlopen()ed at run time, so dpkg-shlibdeps cannot see them: --net user and --display sdl.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "libslirp0, libsdl2-2.0-0")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT) # vmm_0.1.0_amd64.deb
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_GENERATOR DEB)
include(CPack)
