# Layered libraries. Each layer is one static library built from the sources of its folders,
# linking only the layers named as its DEPS (which must be defined before it). At configure time
# every source and header of a layer is checked: a quoted #include of a project file must name a
# file of the layer itself or of a layer below it (DEPS, transitively), or configuration stops.
# So the build itself refuses an include that goes the wrong way. A module's *_test.h (calls that
# only tests use, next to the module) may not be included by any layer or executable at all.
#
#   vmm_layer(NAME lib DIRS folder... [DEPS lib...] [EXCLUDE file...])
#
# Folders are relative to the source root; includes are written from the root ("base/log.h").

# The arch rule: a header in an architecture's folder (a folder named as one of VMM_ARCHES,
# e.g. host/kvm/x86/cpuid.h) is included only by files in a folder of that same architecture.
# Generic code reaches arch code through its layer's generic header (host/kvm/kvm_state.h is
# implemented in host/kvm/x86/kvm_state.c), so that a second architecture is a second folder of
# each layer and not an edit of generic files. The generic files that still break the rule are
# listed in VMM_ARCH_DEBT (cmake/arch_debt.cmake): that list may only shrink, and a listed file
# that no longer includes an arch header must leave it (vmm_arch_debt_check()).
#
# One exception, as Linux's <asm/...>: an include "arch/X" names base/${VMM_ARCH}/arch/X (on
# every layer's include path through vmm_base), which any file may include, base being below
# every layer; the generic header beside it says what each architecture's X provides
# (base/layout.h: arch/layout.h). The file must exist for the architecture built, or
# configuration stops. Naming base/x86/... directly stays under the arch rule.
function(vmm_arch_check name file inc)
  file(RELATIVE_PATH rel ${CMAKE_SOURCE_DIR} ${file})
  set_property(GLOBAL APPEND PROPERTY VMM_ARCH_SCANNED ${rel})
  foreach(arch IN LISTS VMM_ARCHES)
    if(NOT inc MATCHES "(^|/)${arch}/" OR rel MATCHES "(^|/)${arch}/")
      continue()
    endif()
    if(rel IN_LIST VMM_ARCH_DEBT)
      set_property(GLOBAL APPEND PROPERTY VMM_ARCH_DEBT_USED ${rel})
    else()
      message(SEND_ERROR "layer ${name}: ${rel} includes \"${inc}\", a header of the ${arch} "
        "architecture's folder, from generic code. Reach it through the layer's generic header "
        "(the arch interface), or put this code in a ${arch}/ folder too.")
    endif()
  endforeach()
endfunction()

# After every layer and executable: each VMM_ARCH_DEBT file that was checked must still break the
# rule (a file that stopped leaves the list, so the list only shrinks).
function(vmm_arch_debt_check)
  get_property(scanned GLOBAL PROPERTY VMM_ARCH_SCANNED)
  get_property(used GLOBAL PROPERTY VMM_ARCH_DEBT_USED)
  foreach(rel IN LISTS VMM_ARCH_DEBT)
    if(rel IN_LIST scanned AND NOT rel IN_LIST used)
      message(FATAL_ERROR "cmake/arch_debt.cmake lists ${rel}, which includes no arch header "
        "any more: take it off the list.")
    endif()
  endforeach()
endfunction()

function(vmm_layer_check_includes name file allowed)
  file(STRINGS ${file} lines REGEX "^[ \t]*#[ \t]*include[ \t]+\"")
  foreach(line IN LISTS lines)
    string(REGEX REPLACE "^[ \t]*#[ \t]*include[ \t]+\"([^\"]+)\".*" "\\1" inc "${line}")
    get_filename_component(dir "${inc}" DIRECTORY)
    if(inc MATCHES "^arch/")
      if(NOT EXISTS ${CMAKE_SOURCE_DIR}/base/${VMM_ARCH}/${inc})
        file(RELATIVE_PATH rel ${CMAKE_SOURCE_DIR} ${file})
        message(FATAL_ERROR "layer ${name}: ${rel} includes \"${inc}\", an architecture "
          "header, but the ${VMM_ARCH} architecture has no base/${VMM_ARCH}/${inc}. Every "
          "architecture's base/<arch>/arch/ provides the same headers: add it there.")
      endif()
      continue() # base/${VMM_ARCH}/arch: below every layer
    endif()
    if(NOT EXISTS ${CMAKE_SOURCE_DIR}/${inc})
      continue() # a system or generated header
    endif()
    if(inc MATCHES "_test\\.h$")
      file(RELATIVE_PATH rel ${CMAKE_SOURCE_DIR} ${file})
      message(FATAL_ERROR "layer ${name}: ${rel} includes \"${inc}\", a header of test-only "
        "calls: only tests/ may include a *_test.h. Use the module's real API, or give the "
        "call a production header if the VMM needs it.")
    endif()
    vmm_arch_check(${name} ${file} ${inc})
    if(NOT dir IN_LIST allowed)
      file(RELATIVE_PATH rel ${CMAKE_SOURCE_DIR} ${file})
      message(FATAL_ERROR "layer ${name}: ${rel} includes \"${inc}\", which is not in this "
        "layer or below it (allowed folders: ${allowed}). Move the code, or name the layer "
        "in DEPS if it really sits below.")
    endif()
  endforeach()
endfunction()

# A layer or executable that cannot be built for this architecture yet: one named in
# VMM_ARCH_UNPORTED (the architecture's code it needs is not written), or one that links such a
# layer. It is not defined; vmm_unported(VAR NAME) sets VAR to why (empty when it is built), and
# vmm_unported_report() lists them all once, at the end of configuration.
function(vmm_unported out name)
  get_property(why GLOBAL PROPERTY VMM_UNPORTED_${name})
  set(${out} "${why}" PARENT_SCOPE)
endfunction()

function(vmm_unported_check out name deps)
  set(why "")
  if(name IN_LIST VMM_ARCH_UNPORTED)
    set(why "needs ${VMM_ARCH} code not written yet")
  endif()
  foreach(dep IN LISTS deps)
    get_property(dep_why GLOBAL PROPERTY VMM_UNPORTED_${dep})
    if(dep_why AND NOT why)
      set(why "links ${dep}")
    endif()
  endforeach()
  if(why)
    set_property(GLOBAL PROPERTY VMM_UNPORTED_${name} "${why}")
    set_property(GLOBAL APPEND PROPERTY VMM_UNPORTED "${name}: ${why}")
  endif()
  set(${out} "${why}" PARENT_SCOPE)
endfunction()

# Whether the unit test `src` (tests/unit/<folder>/test_<module>.c) can be built: not when its
# folder is another architecture's (x86/) or the folder of a layer that is not built; a test of a
# tool (tests/unit/tools/<tool>) is not built when the tool is in VMM_ARCH_UNPORTED_TOOLS; nor is a
# test with a reason in VMM_UNPORTED_TEST_<name>.
function(vmm_unit_test_unported out src)
  file(RELATIVE_PATH rel ${CMAKE_SOURCE_DIR}/tests/unit ${src})
  get_filename_component(dir ${rel} DIRECTORY)
  get_filename_component(name ${src} NAME_WE)
  set(why "${VMM_UNPORTED_TEST_${name}}") # CMakeLists.txt: a test not ported yet, and why
  foreach(arch IN LISTS VMM_ARCHES)
    if(NOT arch STREQUAL VMM_ARCH AND dir MATCHES "(^|/)${arch}(/|$)")
      set(why "a test of ${arch} code")
    endif()
  endforeach()
  get_property(layer GLOBAL PROPERTY VMM_DIR_LAYER_${dir})
  if(NOT why AND layer)
    get_property(layer_why GLOBAL PROPERTY VMM_UNPORTED_${layer})
    if(layer_why)
      set(why "tests ${layer}, not built")
    endif()
  endif()
  if(NOT why AND dir MATCHES "^tools/([^/]+)")
    if(CMAKE_MATCH_1 IN_LIST VMM_ARCH_UNPORTED_TOOLS)
      set(why "tests ${CMAKE_MATCH_1}, not built")
    endif()
  endif()
  set(${out} "${why}" PARENT_SCOPE)
endfunction()

function(vmm_unported_report)
  get_property(all GLOBAL PROPERTY VMM_UNPORTED)
  if(all)
    list(JOIN all "\n  " text)
    message(STATUS "Not built for ${VMM_ARCH} yet (docs/aarch64.md):\n  ${text}")
  endif()
endfunction()

function(vmm_layer)
  cmake_parse_arguments(L "" "NAME" "DIRS;DEPS;EXCLUDE" ${ARGN})
  foreach(dir IN LISTS L_DIRS)
    set_property(GLOBAL PROPERTY VMM_DIR_LAYER_${dir} ${L_NAME})
  endforeach()
  vmm_unported_check(why ${L_NAME} "${L_DEPS}")
  if(why)
    return()
  endif()
  set(sources "")
  set(files "")
  set(allowed ${L_DIRS})
  foreach(dep IN LISTS L_DEPS)
    get_property(dep_dirs GLOBAL PROPERTY VMM_LAYER_DIRS_${dep})
    if(NOT dep_dirs)
      message(FATAL_ERROR "layer ${L_NAME}: DEPS names ${dep}, which is not a layer defined before it")
    endif()
    list(APPEND allowed ${dep_dirs})
  endforeach()
  list(REMOVE_DUPLICATES allowed)
  foreach(dir IN LISTS L_DIRS)
    file(GLOB c CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/${dir}/*.c)
    file(GLOB h CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/${dir}/*.h)
    list(APPEND sources ${c})
    list(APPEND files ${c} ${h})
  endforeach()
  foreach(ex IN LISTS L_EXCLUDE)
    list(REMOVE_ITEM sources ${CMAKE_SOURCE_DIR}/${ex})
    list(REMOVE_ITEM files ${CMAKE_SOURCE_DIR}/${ex})
  endforeach()
  foreach(f IN LISTS files)
    vmm_layer_check_includes(${L_NAME} ${f} "${allowed}")
  endforeach()
  add_library(${L_NAME} STATIC ${sources})
  target_include_directories(${L_NAME} PUBLIC ${CMAKE_SOURCE_DIR})
  target_link_libraries(${L_NAME} PUBLIC ${L_DEPS} Threads::Threads)
  set_property(GLOBAL PROPERTY VMM_LAYER_DIRS_${L_NAME} "${allowed}")
  set_property(GLOBAL APPEND PROPERTY VMM_LAYERS ${L_NAME})
endfunction()

# An executable on top of the layers: its sources may include what its DEPS may.
#   vmm_executable(NAME exe SOURCES file... DEPS lib...)
function(vmm_executable)
  cmake_parse_arguments(E "" "NAME" "SOURCES;DEPS" ${ARGN})
  vmm_unported_check(why ${E_NAME} "${E_DEPS}")
  if(why)
    return()
  endif()
  set(allowed "")
  foreach(dep IN LISTS E_DEPS)
    get_property(dep_dirs GLOBAL PROPERTY VMM_LAYER_DIRS_${dep})
    list(APPEND allowed ${dep_dirs})
  endforeach()
  set(sources "")
  foreach(src IN LISTS E_SOURCES)
    vmm_layer_check_includes(${E_NAME} ${CMAKE_SOURCE_DIR}/${src} "${allowed}")
    list(APPEND sources ${CMAKE_SOURCE_DIR}/${src})
  endforeach()
  add_executable(${E_NAME} ${sources})
  target_link_libraries(${E_NAME} PRIVATE ${E_DEPS})
endfunction()
