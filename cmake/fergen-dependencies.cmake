# The libraries fergen's headers need, found the same way by the source build and by the installed package
# (fergenConfig.cmake includes this file). All come from Debian packages:
#   libxtensor-dev, libxtensor-blas-dev, libopenblas-dev (pthread variant), libdnnl-dev (optional), zlib1g-dev, libstb-dev,
#   libpugixml-dev, nlohmann-json3-dev, an OpenMP compiler.
include(CMakeFindDependencyMacro)

find_dependency(xtensor)
find_dependency(OpenMP)
find_dependency(ZLIB)
find_dependency(Threads)
find_dependency(pugixml)
find_dependency(nlohmann_json)

# OpenBLAS ships a config file that sets variables but no target; wrap it in one.
if(NOT TARGET fergen::openblas)
  find_package(OpenBLAS CONFIG QUIET)
  if(OpenBLAS_FOUND AND OpenBLAS_LIBRARIES)
    set(_fergen_openblas_lib "${OpenBLAS_LIBRARIES}")
    set(_fergen_openblas_inc "${OpenBLAS_INCLUDE_DIRS}")
  else()
    find_library(_fergen_openblas_lib NAMES openblas)
    find_path(_fergen_openblas_inc NAMES cblas.h PATH_SUFFIXES openblas openblas-pthread)
  endif()
  if(NOT _fergen_openblas_lib OR NOT _fergen_openblas_inc)
    message(FATAL_ERROR "fergen: OpenBLAS not found (install libopenblas-dev, or run scripts/install-deps.sh)")
  endif()
  add_library(fergen::openblas INTERFACE IMPORTED)
  set_target_properties(fergen::openblas PROPERTIES
    INTERFACE_LINK_LIBRARIES "${_fergen_openblas_lib}"
    INTERFACE_INCLUDE_DIRECTORIES "${_fergen_openblas_inc}")
endif()

# Debian's libstb-dev ships the stb implementations compiled into libstb.so (headers under include/stb), so no
# library header defines STB_IMAGE_IMPLEMENTATION. It has no CMake config: wrap it.
if(NOT TARGET fergen::stb)
  find_library(_fergen_stb_lib NAMES stb)
  find_path(_fergen_stb_inc NAMES stb_image.h PATH_SUFFIXES stb)
  if(NOT _fergen_stb_lib OR NOT _fergen_stb_inc)
    message(FATAL_ERROR "fergen: stb not found (install libstb-dev, or run scripts/install-deps.sh)")
  endif()
  add_library(fergen::stb INTERFACE IMPORTED)
  set_target_properties(fergen::stb PROPERTIES
    INTERFACE_LINK_LIBRARIES "${_fergen_stb_lib}"
    INTERFACE_INCLUDE_DIRECTORIES "${_fergen_stb_inc}")
endif()

# oneDNN (Debian's libdnnl-dev), optional: with it the CPU backend runs its float convolutions and products on
# oneDNN's kernels, generated at run time for the processor (backend/cpu/kernels.hpp); without it, on OpenBLAS,
# im2col and Winograd. fergen::dnnl always exists, so that fergen's exported target can name it: it carries
# FERGEN_WITH_DNNL=1 and the library when found, nothing otherwise. Found by its header and library rather than
# its CMake package, which requires the OpenCL development files for a GPU runtime fergen does not use.
#   FERGEN_WITH_DNNL   AUTO (default): use oneDNN when found; ON: required; OFF: never.
if(NOT TARGET fergen::dnnl)
  set(FERGEN_WITH_DNNL AUTO CACHE STRING "CPU convolutions and products on oneDNN (libdnnl-dev): AUTO, ON or OFF")
  set_property(CACHE FERGEN_WITH_DNNL PROPERTY STRINGS AUTO ON OFF)
  string(TOUPPER "${FERGEN_WITH_DNNL}" _fergen_dnnl_mode)
  add_library(fergen::dnnl INTERFACE IMPORTED)
  set(FERGEN_DNNL_FOUND OFF)
  if(NOT _fergen_dnnl_mode MATCHES "^(OFF|NO|FALSE|N|0)$")
    find_path(FERGEN_DNNL_INCLUDE_DIR NAMES oneapi/dnnl/dnnl.hpp)
    find_library(FERGEN_DNNL_LIBRARY NAMES dnnl)
    if(FERGEN_DNNL_INCLUDE_DIR AND FERGEN_DNNL_LIBRARY)
      set(FERGEN_DNNL_FOUND ON)
      set_target_properties(fergen::dnnl PROPERTIES
        INTERFACE_LINK_LIBRARIES "${FERGEN_DNNL_LIBRARY}"
        INTERFACE_INCLUDE_DIRECTORIES "${FERGEN_DNNL_INCLUDE_DIR}"
        INTERFACE_COMPILE_DEFINITIONS "FERGEN_WITH_DNNL=1")
    elseif(_fergen_dnnl_mode MATCHES "^(ON|YES|TRUE|Y|1)$")
      message(FATAL_ERROR "fergen: FERGEN_WITH_DNNL=ON but oneDNN was not found (install libdnnl-dev, or run "
                          "scripts/install-deps.sh)")
    endif()
  endif()
  if(NOT fergen_FIND_QUIETLY)
    message(STATUS "fergen: oneDNN for CPU convolutions and products: ${FERGEN_DNNL_FOUND}")
  endif()
endif()
