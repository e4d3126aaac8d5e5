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

function(vmm_layer_check_includes name file allowed)
  file(STRINGS ${file} lines REGEX "^[ \t]*#[ \t]*include[ \t]+\"")
  foreach(line IN LISTS lines)
    string(REGEX REPLACE "^[ \t]*#[ \t]*include[ \t]+\"([^\"]+)\".*" "\\1" inc "${line}")
    get_filename_component(dir "${inc}" DIRECTORY)
    if(NOT EXISTS ${CMAKE_SOURCE_DIR}/${inc})
      continue() # a system or generated header
    endif()
    if(inc MATCHES "_test\\.h$")
      file(RELATIVE_PATH rel ${CMAKE_SOURCE_DIR} ${file})
      message(FATAL_ERROR "layer ${name}: ${rel} includes \"${inc}\", a header of test-only "
        "calls: only tests/ may include a *_test.h. Use the module's real API, or give the "
        "call a production header if the VMM needs it.")
    endif()
    if(NOT dir IN_LIST allowed)
      file(RELATIVE_PATH rel ${CMAKE_SOURCE_DIR} ${file})
      message(FATAL_ERROR "layer ${name}: ${rel} includes \"${inc}\", which is not in this "
        "layer or below it (allowed folders: ${allowed}). Move the code, or name the layer "
        "in DEPS if it really sits below.")
    endif()
  endforeach()
endfunction()

function(vmm_layer)
  cmake_parse_arguments(L "" "NAME" "DIRS;DEPS;EXCLUDE" ${ARGN})
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
