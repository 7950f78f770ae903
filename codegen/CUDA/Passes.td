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
    first, and moved into a `gpu.launch` shaped by how it will run
    (`tessera-cuda-distribute-loops` writes the threads' code):

    - a reduction over at least 32 points whose outputs each combine with
      one associative op (`%out + x`, `max(%out, x)`, ...): a block per
      output point (`tessera.cooperative`), of the reduction's size rounded
      up to a power of two, 32 to 256 threads;
    - an op without reduction loops whose last loop's range is a multiple
      of `vector-width`, with some operand read or written contiguously
      along it: a thread per `vector-width` points of that loop
      (`tessera.vector_width`), blocks of up to 256 threads;
    - anything else: a thread per parallel point, blocks of up to 256.

    Around a reduction: the constant fills of its outputs just before it
    go, the kernel starting from the constants (`tessera.init_values`); an
    elementwise op right after it that reads only its output (through
    reshapes) into a buffer sharing no bytes with what the reduction reads
    moves into its launch (`tessera.epilogue`: LayerNorm's mean = sum / n).

    Top-level `scf.for` and `scf.if` on buffers (scatters) run in a launch
    of one thread; their buffer results must be their operands updated in
    place.

    ```mlir
    linalg.generic {iterator_types = ["parallel", "parallel"]}
        ins(%x : memref<64x128xf32>) outs(%y : memref<64x128xf32>) {...}
    // becomes
    gpu.launch blocks(%bx, %by, %bz) in (%gx = %c8, ...) threads(%tx, ...) in (%c256, ...) {
      linalg.generic ... // the same op
      gpu.terminator
    } {tessera.vector_width = 4 : i64}
    ```
  }];
  let options = [
    Option<"vectorWidth", "vector-width", "int64_t", /*default=*/"4",
           "Points of the last parallel loop per thread in kernels without "
           "reductions (a power of two; 1: one point per thread)">,
    Option<"cooperativeReductions", "cooperative-reductions", "bool",
           /*default=*/"true",
           "Run large reductions on a block of threads per output point">,
  ];
  let dependentDialects = ["::mlir::gpu::GPUDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::arith::ArithDialect"];
}

def DistributeLoopsPass : Pass<"tessera-cuda-distribute-loops", "func::FuncOp"> {
  let summary = "Write each launch's linalg.generic as its threads' code";
  let description = [{
    Inside every `gpu.launch` formed by `tessera-cuda-form-kernels`, the
    `linalg.generic` becomes straight-line code, as the launch's attributes
    say:

    - By default a thread per parallel point: the global thread index
      (`blockIdx.x * blockDim.x + threadIdx.x`) is delinearized into the
      parallel loops' values, last loop fastest (so neighbouring threads
      touch neighbouring elements); under `scf.if index < points` the
      thread loads its outputs' values once, runs the reduction loops as
      `scf.for` carrying them in registers, and stores them once.
    - `tessera.vector_width = N`: a thread per N consecutive points of the
      last loop. Operands read or written contiguously along it move as
      one `vector.load` / `vector.store` of N elements (aligned: device
      buffers start at 64-byte boundaries); operands that do not vary along
      it are loaded once; others element by element. The body runs once
      per point.
    - `tessera.cooperative`: a block per parallel point. Thread `t` folds
      reduction points `t, t + blockDim, ...` into a partial value per
      output, starting from the combining op's neutral element;
      `gpu.all_reduce` combines the block's partial values (narrow types
      widened to 32 bits); thread 0 combines the total with the output's
      value and stores it.
    - `tessera.init_values`: the outputs start from these constants
      instead of their loaded values.
    - `tessera.epilogue`: the launch's second op runs where each output
      value is stored, on that value, storing into its own output at the
      same linear position.

    A launch without a linalg op (sequential code) runs on thread 0.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect", "::mlir::scf::SCFDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::affine::AffineDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::vector::VectorDialect"];
}

def SinkConstantsPass : Pass<"tessera-cuda-sink-constants", "func::FuncOp"> {
  let summary = "Clone the constants a gpu.launch reads into it";
  let description = [{
    The canonicalizer hoists the constants it folds (a splat vector a
    vectorized fill stores, for instance) to the function's entry, out of
    the launches, which are not isolated from above; `gpu-kernel-outlining`
    would make those of other than scalar type kernel parameters. Each
    launch gets its own copy of every constant it reads instead.
  }];
}

def EmulateLaunchesPass : Pass<"tessera-cuda-emulate-launches", "func::FuncOp"> {
  let summary = "Run gpu.launch bodies as loops on the host (testing)";
  let description = [{
    For testing the kernel-forming passes without a GPU
    (`tessera-compile --emulate-cuda-kernels`): each `gpu.launch` becomes
    `scf.for` loops over its blocks and threads around its body. A
    `gpu.all_reduce` of the block's x threads becomes a loop that
    recomputes every thread's value (its code may read memory but not
    write it) and combines them in thread order. Launches whose threads
    communicate otherwise (barriers, shuffles, shared memory) are errors.
  }];
  let dependentDialects = ["::mlir::scf::SCFDialect", "::mlir::arith::ArithDialect"];
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
