# The libraries fergen's headers need, found the same way by the source build and by the installed package
# (fergenConfig.cmake includes this file). All come from Debian packages:
#   libxtensor-dev, libxtensor-blas-dev, libopenblas-dev (pthread variant), zlib1g-dev, libstb-dev,
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
