# The CUDA backend's build: finds nvcc, the CUDA toolkit (cudart, cuBLAS) and cuDNN, and defines the INTERFACE
# target fergen::cuda (fergen::fergen + FERGEN_WITH_CUDA=1 + the CUDA libraries). Included by the top-level
# CMakeLists.txt. The CPU library never needs any of this.
#
#   FERGEN_WITH_CUDA   AUTO (default at top level): on when a CUDA compiler is found (nvcc on PATH, CUDACXX,
#                      CMAKE_CUDA_COMPILER, or /usr/local/cuda/bin/nvcc); ON: required; OFF: never.
#   FERGEN_WITH_CUDNN  use cuDNN for convolutions when it is found (default ON); else im2col + cuBLAS.
#   FERGEN_CUDA_GPU_TARGETS  build the CUDA tests and benchmarks that need a GPU to run (default ON; OFF for a
#                      quicker build on a machine without a GPU).
# Sets FERGEN_CUDA_ENABLED and FERGEN_CUDA_GPU_TARGETS_ENABLED to ON or OFF for the rest of the build.

set(FERGEN_CUDA_ENABLED OFF)
string(TOUPPER "${FERGEN_WITH_CUDA}" _fergen_cuda_mode)
if(_fergen_cuda_mode MATCHES "^(ON|YES|TRUE|Y|1)$")
  set(_fergen_cuda_mode ON)
elseif(NOT _fergen_cuda_mode STREQUAL "AUTO")
  set(_fergen_cuda_mode OFF)
endif()

if(NOT _fergen_cuda_mode STREQUAL "OFF")
  # nvcc on PATH, else where the toolkit installs it (often not on PATH); check_language then tries that one.
  if(NOT CMAKE_CUDA_COMPILER AND NOT DEFINED ENV{CUDACXX})
    find_program(FERGEN_NVCC nvcc PATHS /usr/local/cuda/bin)
    if(FERGEN_NVCC)
      set(ENV{CUDACXX} "${FERGEN_NVCC}")
    endif()
  endif()
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    # nvcc's host compiler is the project's C++ compiler, so both halves of a translation unit agree.
    if(NOT DEFINED CMAKE_CUDA_HOST_COMPILER)
      set(CMAKE_CUDA_HOST_COMPILER "${CMAKE_CXX_COMPILER}" CACHE FILEPATH "Host compiler of nvcc")
    endif()
    # Hopper (H100/H200) machine code, plus its PTX, which the driver compiles for later GPUs.
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
      set(CMAKE_CUDA_ARCHITECTURES 90-real 90-virtual CACHE STRING "CUDA architectures of the CUDA targets")
    endif()
    enable_language(CUDA)
    find_package(CUDAToolkit)
    if(CUDAToolkit_FOUND AND TARGET CUDA::cublas)
      set(FERGEN_CUDA_ENABLED ON)
    endif()
  endif()
  if(_fergen_cuda_mode STREQUAL "ON" AND NOT FERGEN_CUDA_ENABLED)
    message(FATAL_ERROR "FERGEN_WITH_CUDA=ON: no working CUDA compiler and toolkit (nvcc, cudart, cuBLAS) found; "
                        "put nvcc on PATH or set CUDACXX / CMAKE_CUDA_COMPILER, or configure with FERGEN_WITH_CUDA=AUTO")
  endif()
endif()

if(FERGEN_CUDA_ENABLED)
  option(FERGEN_WITH_CUDNN "Use cuDNN for the CUDA backend's convolutions when it is found" ON)
  set(_fergen_cudnn OFF)
  if(FERGEN_WITH_CUDNN)
    find_path(FERGEN_CUDNN_INCLUDE_DIR cudnn.h HINTS ${CUDAToolkit_INCLUDE_DIRS} ENV CUDNN_ROOT PATH_SUFFIXES include)
    find_library(FERGEN_CUDNN_LIBRARY cudnn HINTS ${CUDAToolkit_LIBRARY_DIR} ENV CUDNN_ROOT PATH_SUFFIXES lib64 lib)
    if(FERGEN_CUDNN_INCLUDE_DIR AND FERGEN_CUDNN_LIBRARY)
      set(_fergen_cudnn ON)
    endif()
  endif()
  if(_fergen_cudnn)
    set(_fergen_conv "cuDNN (${FERGEN_CUDNN_LIBRARY})")
  else()
    set(_fergen_conv "im2col + cuBLAS (no cuDNN)")
  endif()
  message(STATUS "fergen: CUDA backend ON: nvcc ${CMAKE_CUDA_COMPILER_VERSION}, architectures "
                 "${CMAKE_CUDA_ARCHITECTURES}, convolutions by ${_fergen_conv}")

  add_library(fergen_cuda INTERFACE)
  add_library(fergen::cuda ALIAS fergen_cuda)
  target_link_libraries(fergen_cuda INTERFACE fergen CUDA::cudart CUDA::cublas)
  # C++20 in nvcc: CMake knows the cuda_std_20 feature from 3.26 on; 3.25 (Debian 12) gets the flag itself.
  if(CMAKE_VERSION VERSION_GREATER_EQUAL 3.26)
    target_compile_features(fergen_cuda INTERFACE cuda_std_20)
  else()
    target_compile_options(fergen_cuda INTERFACE $<$<COMPILE_LANGUAGE:CUDA>:-std=c++20>)
  endif()
  target_compile_definitions(fergen_cuda INTERFACE FERGEN_WITH_CUDA=1 FERGEN_WITH_CUDNN=$<BOOL:${_fergen_cudnn}>)
  # OpenMP's flags reach only the C++ compiler through OpenMP::OpenMP_CXX; nvcc passes them to its host compiler.
  target_compile_options(fergen_cuda INTERFACE $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-fopenmp>)
  if(_fergen_cudnn)
    target_include_directories(fergen_cuda INTERFACE ${FERGEN_CUDNN_INCLUDE_DIR})
    target_link_libraries(fergen_cuda INTERFACE ${FERGEN_CUDNN_LIBRARY})
  endif()
  set(FERGEN_CUDA_CUDNN ${_fergen_cudnn})

  # Warnings for the project's own CUDA targets: the host compiler's (without -Wpedantic, which rejects the
  # line directives of nvcc's generated host code) and nvcc's own, as errors where asked.
  set(FERGEN_CUDA_WARNINGS
      $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-Wall,-Wextra,-Wshadow,-Wconversion,-Wno-sign-conversion>)

  # The targets that can only run on a GPU (test_cuda, test_cuda_networks, bench_cuda, bench_cuda_networks) are
  # about a third of a cold build's compile time. CI builds them (every CUDA target goes through nvcc there); a
  # developer without a GPU who wants a quicker build can leave them out.
  option(FERGEN_CUDA_GPU_TARGETS "Build the CUDA tests and benchmarks that need a GPU to run" ON)
  set(FERGEN_CUDA_GPU_TARGETS_ENABLED ${FERGEN_CUDA_GPU_TARGETS})
  if(NOT FERGEN_CUDA_GPU_TARGETS_ENABLED)
    message(STATUS "fergen: FERGEN_CUDA_GPU_TARGETS=OFF: test_cuda, test_cuda_networks and the CUDA benchmarks are "
                   "not built")
  endif()
else()
  set(FERGEN_CUDA_GPU_TARGETS_ENABLED OFF)
  message(STATUS "fergen: CUDA backend OFF (FERGEN_WITH_CUDA=${FERGEN_WITH_CUDA})")
endif()
