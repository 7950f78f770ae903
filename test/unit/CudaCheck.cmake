#===- CudaCheck.cmake - The cuda test artifact and tessera-cuda-check ----===#
#
# Included by test/unit/CMakeLists.txt and by the runtime-only build
# (-DTESSERA_RUNTIME_ONLY=ON): it needs the runtime and a C/C++ compiler
# only.
#
#===----------------------------------------------------------------------===#
# The cuda backend without the compiler: a cuda artifact made from
# CudaTestHost.c (host code) and Inputs/cuda_test_kernels.ptx (device code;
# compiled to an sm_90 cubin too when ptxas is found).
add_library(tessera_cuda_test_host MODULE ${CMAKE_CURRENT_LIST_DIR}/CudaTestHost.c)
set_target_properties(tessera_cuda_test_host PROPERTIES PREFIX "" C_VISIBILITY_PRESET hidden)
find_program(TESSERA_PTXAS ptxas HINTS /usr/local/cuda/bin)
set(TESSERA_CUDA_TEST_PTX ${CMAKE_CURRENT_LIST_DIR}/Inputs/cuda_test_kernels.ptx)
set(TESSERA_CUDA_TEST_CUBIN "")
if(TESSERA_PTXAS)
  set(TESSERA_CUDA_TEST_CUBIN ${CMAKE_CURRENT_BINARY_DIR}/cuda_test_kernels.sm_90.cubin)
  add_custom_command(OUTPUT ${TESSERA_CUDA_TEST_CUBIN}
    COMMAND ${TESSERA_PTXAS} -arch=sm_90 ${TESSERA_CUDA_TEST_PTX} -o ${TESSERA_CUDA_TEST_CUBIN}
    DEPENDS ${TESSERA_CUDA_TEST_PTX}
    COMMENT "Compiling the cuda test kernels for sm_90")
  add_custom_target(tessera_cuda_test_cubin DEPENDS ${TESSERA_CUDA_TEST_CUBIN})
endif()
add_library(TesseraCudaTestArtifact STATIC ${CMAKE_CURRENT_LIST_DIR}/CudaTestArtifact.cpp)
target_link_libraries(TesseraCudaTestArtifact PUBLIC TesseraArtifact)
target_compile_definitions(TesseraCudaTestArtifact PUBLIC
  TESSERA_CUDA_TEST_HOST="$<TARGET_FILE:tessera_cuda_test_host>"
  TESSERA_CUDA_TEST_PTX="${TESSERA_CUDA_TEST_PTX}"
  TESSERA_CUDA_TEST_CUBIN="${TESSERA_CUDA_TEST_CUBIN}")
add_dependencies(TesseraCudaTestArtifact tessera_cuda_test_host)
if(TESSERA_PTXAS)
  add_dependencies(TesseraCudaTestArtifact tessera_cuda_test_cubin)
endif()

# The gpu tier: the runtime on a GPU (skipped, visibly, without one).
add_executable(tessera-cuda-check ${CMAKE_CURRENT_LIST_DIR}/CudaRuntimeCheck.cpp)
target_link_libraries(tessera-cuda-check PRIVATE TesseraCudaTestArtifact tessera_runtime_static)
target_include_directories(tessera-cuda-check PRIVATE ${PROJECT_SOURCE_DIR}/runtime/src
                                                    ${CMAKE_CURRENT_LIST_DIR})
add_test(NAME cuda-check COMMAND tessera-cuda-check)
set_tests_properties(cuda-check PROPERTIES LABELS gpu SKIP_RETURN_CODE 77)
