//===- Passes.td - CUDA codegen passes ---------------------*- tablegen -*-===//

#ifndef TESSERA_CODEGEN_CUDA_PASSES
#define TESSERA_CODEGEN_CUDA_PASSES

include "mlir/Pass/PassBase.td"

def OutlineConstantsPass : Pass<"tessera-cuda-outline-constants", "func::FuncOp"> {
  let summary = "Tensor constants left after lowering: fills or weights";
  let description = [{
    The CUDA target's host code holds no tensors, so the `arith.constant`
    tensors that lowering to linalg created (index tables, masks, shapes)
    must not become host globals: a splat becomes `linalg.fill` of
    `tensor.empty` (a kernel), any other becomes a weight argument (device
    memory), named `constant.lateN`, as `tessera-cpu-outline-weights` does
    for the model's own constants.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect"];
}

def FormKernelsPass : Pass<"tessera-cuda-form-kernels", "func::FuncOp"> {
  let summary = "Put every linalg op on buffers in its own gpu.launch";
  let description = [{
    Runs on the host function after bufferization, once the contractions
    that go to the runtime's GEMM are calls. Every remaining `linalg` op
    (elementwise chains already fused into one `linalg.generic` on tensors)
    is generalized, its loops interchanged so that the parallel ones come
    first, and moved into a `gpu.launch` of one thread per point of its
    parallel iteration space: blocks of up to 256 threads, as many blocks as
    needed. Reduction loops stay sequential inside a thread
    (`tessera-cuda-distribute-loops` writes the body). Top-level
    `scf.for` and `scf.if` on buffers (scatters) run in a launch of one
    thread; their buffer results must be their operands updated in place.

    ```mlir
    linalg.generic {iterator_types = ["parallel", "parallel"]}
        ins(%x : memref<64x128xf32>) outs(%y : memref<64x128xf32>) {...}
    // becomes
    gpu.launch blocks(%bx, %by, %bz) in (%gx = %c32, ...) threads(%tx, ...) in (%c256, ...) {
      linalg.generic ... // the same op
      gpu.terminator
    }
    ```
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::arith::ArithDialect"];
}

def DistributeLoopsPass : Pass<"tessera-cuda-distribute-loops", "func::FuncOp"> {
  let summary = "Write each launch's linalg.generic as one thread's work";
  let description = [{
    Inside every `gpu.launch` formed by `tessera-cuda-form-kernels`, the
    `linalg.generic` becomes straight-line code: the global thread index
    (`blockIdx.x * blockDim.x + threadIdx.x`) is delinearized into the
    parallel loops' values, last loop fastest (so neighbouring threads touch
    neighbouring elements); under `scf.if index < points` the thread loads
    its outputs' values once, runs the reduction loops as `scf.for` carrying
    them in registers, and stores them once. A launch without a linalg op
    (sequential code) runs on thread 0.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect", "::mlir::scf::SCFDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::affine::AffineDialect",
                           "::mlir::memref::MemRefDialect"];
}

def MergeKernelModulesPass
    : Pass<"tessera-cuda-merge-kernel-modules", "ModuleOp"> {
  let summary = "Move every outlined kernel into one gpu.module";
  let description = [{
    `gpu-kernel-outlining` gives each kernel its own `gpu.module`. An
    artifact carries one PTX module, so the kernels move into the first
    `gpu.module`, renamed `tessera_kernels`, and every `gpu.launch_func`
    is pointed at it.
  }];
}

def LowerLaunchesPass : Pass<"tessera-cuda-lower-launches", "ModuleOp"> {
  let summary = "gpu.launch_func to runtime calls; the PTX to a module attribute";
  let description = [{
    Runs after `gpu-module-to-binary{format=isa}`. The binary's PTX becomes
    the module attribute `tessera.ptx` and its kernels, numbered in the
    order they are first launched, `tessera.kernels`. Each
    `gpu.launch_func` becomes

        tessera_rt_launch(kernel, gridX, gridY, gridZ, blockX, blockY, blockZ,
                          dynamicSharedBytes, args, numArgs)

    where `args` is a stack array of 8-byte kernel parameters: every memref
    operand expanded as NVVM lowering expands it (allocated pointer,
    aligned pointer, offset, sizes, strides), scalars widened to 64 bits.
    The host code must not touch device memory itself: an allocation or a
    global left in a host function is an error.
  }];
  let dependentDialects = ["::mlir::func::FuncDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::arith::ArithDialect"];
}

#endif // TESSERA_CODEGEN_CUDA_PASSES
