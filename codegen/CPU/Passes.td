//===- Passes.td - CPU codegen passes ----------------------*- tablegen -*-===//

#ifndef TESSERA_CODEGEN_CPU_PASSES
#define TESSERA_CODEGEN_CPU_PASSES

include "mlir/Pass/PassBase.td"

def OutlineWeightsPass : Pass<"tessera-cpu-outline-weights", "func::FuncOp"> {
  let summary = "Turn weight constants into trailing function arguments";
  let description = [{
    Every `tessera.constant` holding a dense resource (a weight) becomes a new
    trailing argument of the function, annotated with
    `tessera.weight = <the resource attribute>`, so the weight bytes travel
    in the artifact's weights section (mapped per rank) instead of the code.
    Small `dense<...>` constants stay in the code.

    ```mlir
    %w = tessera.constant dense_resource<fc.weight> : tensor<16x4xf32>
    // becomes an argument:
    func.func @main(%x: ..., %w: tensor<16x4xf32> {tessera.weight = dense_resource<fc.weight> : tensor<16x4xf32>})
    ```
  }];
  let options = [
    Option<"allConstants", "all-constants", "bool", "false",
           "Also outline small dense constants (not splats), as a mesh's "
           "strategies may split them (a bias) and partitioning cannot "
           "slice a constant">
  ];
  let statistics = [
    Statistic<"numWeights", "weights", "Number of weights outlined">
  ];
}

def ParallelCallsPass : Pass<"tessera-cpu-parallel-calls", "ModuleOp"> {
  let summary = "Run the calls of tessera.parallel functions on the thread pool";
  let description = [{
    Runs on the LLVM dialect. A function that `tessera-cpu-outline-loops`
    marked `tessera.parallel` takes a range of iterations `[begin, end)`
    first and then its other parameters. Each call of one becomes a call of
    the microkernel `tessera_uk_parallel_range(begin, end, task, args)`:
    the other arguments are stored into 8-byte slots on the caller's
    stack, and a new function `<kernel>_task(args, begin, end)` loads them
    and calls the kernel on a sub-range. The microkernel splits the range
    into chunks over the runtime's thread pool, or calls the task once
    when there is no pool. Calls with arguments wider than 8 bytes stay
    serial.
  }];
  let statistics = [
    Statistic<"numCalls", "calls", "Calls handed to the thread pool">
  ];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

def EmitEntryPointPass : Pass<"tessera-cpu-emit-entry-point", "ModuleOp"> {
  let summary = "Add the artifact ABI entry `tessera_entry(void **buffers)`";
  let description = [{
    Runs on the LLVM dialect after lowering with bare-pointer memrefs and
    results as out-parameters. Adds `llvm.func @tessera_entry(%buffers: !llvm.ptr)`,
    which loads one pointer per parameter of `@main` (inputs, weights,
    outputs) and calls it, and the constant `tessera_abi_version = 1`.
    `@main` becomes internal.
  }];
  let options = [
    Option<"entryName", "entry", "std::string", "\"main\"",
           "The function the entry point calls">
  ];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

def LowerStridedCopiesPass : Pass<"tessera-cpu-lower-strided-copies", "func::FuncOp"> {
  let summary = "Turn memref.copy between strided buffers into linalg.copy";
  let description = [{
    Bufferization copies into subviews (tensor.pad, insert_slice) with
    `memref.copy`, which LLVM lowering turns into a call to MLIR's C runner
    library when a side is not contiguous. Artifacts do not link that
    library, so such copies become `linalg.copy` and then loops. Copies
    between contiguous buffers stay `memref.copy` (an LLVM memcpy).
  }];
  let options = [
    Option<"allCopies", "all-copies", "bool", "false",
           "Turn every memref.copy into linalg.copy (for the CUDA target, "
           "whose copies run in kernels)">
  ];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def FuseElementwisePass : Pass<"tessera-cpu-fuse-elementwise", "func::FuncOp"> {
  let summary = "Fuse elementwise producers into consumers that read each element once";
  let description = [{
    linalg's elementwise fusion, restricted to consumers whose indexing map
    for the fused operand is a permutation of their loops. A producer is
    never fused into a contraction or a broadcast that would recompute it
    per output element (GELU fused into the next matmul would evaluate erf
    N times per element).
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def ContractionsToUkernelsPass
    : Pass<"tessera-cpu-contractions-to-ukernels", "ModuleOp"> {
  let summary = "Run f32 contractions on buffers through the GEMM microkernel";
  let description = [{
    Every `linalg` op on buffers that is an f32 contraction
    (`out += lhs * rhs` with one reduction loop, one M and one N loop and up
    to three batch loops; operands strided, transposed or broadcast)
    becomes a call to `tessera_uk_sgemm_f32`, passing each operand's address
    and its element stride along every loop (0 where it is broadcast).
    Weights are prepacked at compile time: a [K, N] weight every use of
    which is a B operand goes to `tessera_uk_sgemm_f32_pb` (argument
    attribute `tessera.prepack`, column panels), a weight read once as a
    row-major [M, K] A operand through reshapes (a convolution's) to
    `tessera_uk_sgemm_f32_pa` (`tessera.prepack_rows`, row panels); the
    artifact writer stores them in those layouts. A B operand that is the
    patches of a 2-D convolution, built by one window-copy `linalg.generic`
    of its padded input right before the contraction and read by it only,
    is never built: the call goes to `tessera_uk_sgemm_f32_win`, which
    gathers B's panels from the input (its address, batch strides in input
    floats and the window geometry), and the copy and the patches go.
    Before the memory plan (CPU), the call also takes over the zero fill
    of its output and the elementwise op after it when that op adds a bias
    per row or per column, an addend and clamps (trailing arguments: bias
    and addend addresses, flags 1 overwrite, 2 row bias, 4 column bias,
    8 addend, 16 A prepacked for the windows entry, 32 computed
    transposed, then the bounds), and writes that op's output.
    A prepacked A whose GEMM has few columns for its rows (N, a
    convolution's output positions, fills the 32-wide register tiles'
    lanes 3% or more worse than M: 7x7 and 14x14 outputs) is stored as Aᵀ
    in column panels (`tessera.prepack_rows = [256, 32]`), and the call
    (flag 32) computes Cᵀ = Bᵀ Aᵀ with vectors along M, transposing into C
    in its epilogue.
    The microkernel (codegen/CPU/ukernels) is packed, register-tiled for
    the target's vector width, and multithreaded through the runtime; the
    compiler links its bitcode into the artifact, so this pass is for
    `tessera-compile` and `--tessera-cpu-pipeline=ukernels=1`, not for
    modules run with mlir-runner.

    ```mlir
    linalg.generic {indexing_maps = [(m,k,n)->(m,k), (m,k,n)->(k,n), (m,k,n)->(m,n)], ...}
        ins(%a, %b : memref<8x16xf32>, memref<16x4xf32>) outs(%c : memref<8x4xf32>)
    // becomes
    func.call @tessera_uk_sgemm_f32(%c1, %c1, %c1, %c8, %c4, %c16, %addr_a, ..., %addr_c, ...)
    ```
  }];
  let options = [
    Option<"runtimeGemm", "runtime-gemm", "bool", "false",
           "Call the runtime's GEMM instead (`tessera_rt_gemm(dtype, ..., "
           "bias, flags)`, cuBLASLt for `target cuda`): f32, f16 and bf16 "
           "contractions whose operands each have a unit stride along one "
           "of their two matrix dimensions; the others stay loops. The GEMM "
           "takes over the zero fill of its output just before it (flag 1, "
           "overwrite), then a bias add over the output's columns in the "
           "elementwise op just after it, when that op is the output's last "
           "reader (flag 2, cuBLASLt's bias epilogue), and that op itself "
           "when only a copy is left (the GEMM writes the copy's "
           "destination, when it shares no bytes with the GEMM's operands)">
  ];
  let statistics = [
    Statistic<"numCalls", "contractions", "Contractions given to the microkernel">,
    Statistic<"numPrepacked", "prepacked", "Calls reading a weight prepacked at compile time">,
    Statistic<"numWindows", "windows", "Calls gathering B from a convolution's input">,
    Statistic<"numTransposed", "transposed", "Calls computing the transposed product (few columns)">
  ];
  let dependentDialects = ["::mlir::func::FuncDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::arith::ArithDialect"];
}

def DepthwiseToUkernelsPass
    : Pass<"tessera-cpu-depthwise-to-ukernels", "ModuleOp"> {
  let summary = "Run f32 depthwise 2-D convolutions through a microkernel";
  let description = [{
    The direct lowering of an f32 depthwise convolution on buffers (the
    `linalg.generic` TesseraToLinalg writes for `tessera.conv` with one
    input and one output channel per group: input [N, C, 1, H, W] padded,
    weight [C, 1, 1, KH, KW], output [N, C, 1, OH, OW], contiguous) becomes
    a call of `tessera_uk_dwconv2d_f32` (codegen/CPU/ukernels/Conv.cpp). The
    call takes over the zero fill of the output just before it, and then
    the elementwise op just after it when that op is the output's last
    reader and computes `clamp(out + bias[c], lo, hi)` (the bias, the
    lower and the upper bound each optional: a convolution's bias, ReLU,
    ReLU6) into a buffer of the output's shape: the call writes that buffer
    instead. When the padded input is a buffer that a zero fill and then a
    copy of another buffer into its interior write just before the
    convolution, the call reads that buffer and pads each plane itself
    (flag 2; trailing arguments: its height and width, the top and left
    padding).

    ```mlir
    linalg.fill ins(%zero) outs(%acc : memref<1x192x1x28x28xf32>)
    linalg.generic {...} ins(%x, %w : memref<1x192x1x30x30xf32>, memref<192x1x1x3x3xf32>)
                         outs(%acc : memref<1x192x1x28x28xf32>)
    linalg.generic {...} ins(%acc_view, %bias_view ...) outs(%y : memref<1x192x28x28xf32>)
      // max(min(acc + bias, 6), 0)
    // becomes
    func.call @tessera_uk_dwconv2d_f32(%c1, %c192, %c30, %c30, %x_addr, %w_addr,
        %c3, %c3, %c1, %c1, %c1, %c1, %y_addr, %c28, %c28, %bias_addr, %c1,
        %zero_f32, %six_f32, %c0, %c0, %c0, %c0)
    ```
  }];
  let statistics = [
    Statistic<"numCalls", "calls", "Depthwise convolutions given to the microkernel">,
    Statistic<"numEpilogues", "epilogues", "Calls that took over the bias and clamp after them">,
    Statistic<"numPaddings", "paddings", "Calls that pad their input themselves">
  ];
  let dependentDialects = ["::mlir::func::FuncDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::arith::ArithDialect"];
}

def MaxPoolToUkernelsPass
    : Pass<"tessera-cpu-maxpool-to-ukernels", "ModuleOp"> {
  let summary = "Run f32 2-D max pooling through a microkernel";
  let description = [{
    The lowering of an f32 2-D max pool on buffers (the `linalg.generic`
    TesseraToLinalg writes for `tessera.max_pool`: loops (n, c, oy, ox, ky,
    kx), the padded input read at (n, c, oy*sh + ky*dh, ox*sw + kx*dw), the
    output at (n, c, oy, ox), a `maximumf` body; contiguous buffers) becomes
    a call of `tessera_uk_maxpool2d_f32` (codegen/CPU/ukernels/Pool.cpp),
    which takes over the fill of the output with -inf just before it. When
    the padded input is a buffer that a fill with -inf and then a copy of
    another buffer into its interior write just before the pool, the call
    reads that buffer and treats the rows and columns around it as -inf
    itself (the padded copy and its fill go). The loop nest it replaces
    stored the output after every window element; ResNet-50's stem wrote
    and read a 3.3 MB padded copy.

    ```mlir
    linalg.map outs(%p : memref<1x64x114x114xf32>) { linalg.yield %neg_inf }
    %in = memref.subview %p[0, 0, 1, 1] [1, 64, 112, 112] [1, 1, 1, 1]
    memref.copy %x, %in
    linalg.fill ins(%neg_inf) outs(%y : memref<1x64x56x56xf32>)
    linalg.generic {...} ins(%p, %window) outs(%y) { arith.maximumf }
    // becomes
    func.call @tessera_uk_maxpool2d_f32(%c64, %c112, %c112, %x_addr, %c1, %c1,
        %c3, %c3, %c2, %c2, %c1, %c1, %y_addr, %c56, %c56)
    ```
  }];
  let statistics = [
    Statistic<"numCalls", "calls", "Max pools given to the microkernel">,
    Statistic<"numPaddings", "paddings", "Calls that pad their input themselves">
  ];
  let dependentDialects = ["::mlir::func::FuncDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::arith::ArithDialect"];
}

def PretransposeWeightsPass
    : Pass<"tessera-cpu-pretranspose-weights", "func::FuncOp"> {
  let summary = "Store Gemm weights read with trans_b transposed";
  let description = [{
    A `tessera.gemm` with `trans_b = true` whose B is a weight (a dense
    resource) gets B transposed at compile time, as a new resource named
    `<weight>.T`, and `trans_b = false`, so the code reads B row-wise and
    the GEMM microkernel needs no per-run repacking. The artifact's weight
    bytes stay the same size.
  }];
  let statistics = [
    Statistic<"numWeights", "weights", "Weights stored transposed">
  ];
}

def MathToUkernelsPass : Pass<"tessera-cpu-math-to-ukernels", "ModuleOp"> {
  let summary = "Call Tessera's inlinable f32 exp and erf instead of libm's";
  let description = [{
    `math.exp` and `math.erf` on f32 scalars become calls of
    `tessera_uk_expf` / `tessera_uk_erff` (codegen/CPU/ukernels/Math.cpp),
    branch-free functions that the compiler links as bitcode and inlines,
    so LLVM vectorizes the loops around them (libm's are opaque calls).
    expf is within 1 ulp of glibc's, erff within 1.2e-7 absolute.
  }];
  let statistics = [
    Statistic<"numCalls", "calls", "Math operations replaced">
  ];
  let dependentDialects = ["::mlir::func::FuncDialect"];
}

def HostArithExpandPass : Pass<"tessera-host-arith-expand"> {
  let summary = "arith-expand for host code, keeping maximumf and minimumf";
  let description = [{
    Upstream's `arith-expand` patterns for the integer ceil/floor
    divisions and bf16 extension and truncation, without its expansion of
    `arith.maximumf` / `minimumf` into compares and selects: those become
    `llvm.intr.maximum` / `minimum` (the same NaN and signed-zero
    semantics), which LLVM lowers for every host CPU and, unlike the
    select chain, vectorizes as a loop's reduction (softmax's row maximum).
  }];
  let dependentDialects = ["::mlir::vector::VectorDialect"];
}

def PlanMemoryPass : Pass<"tessera-cpu-plan-memory", "ModuleOp"> {
  let summary = "Place intermediate buffers in one reusable workspace";
  let description = [{
    Runs after bufferization (before deallocation) on the artifact's entry
    function. Each statically shaped `memref.alloc` in its body that does
    not escape gets an offset in one workspace, buffers whose lifetimes do
    not overlap sharing bytes (greedy by size, 64-byte aligned); the
    allocations become `memref.view`s of a new trailing argument
    `{tessera.workspace}`, which the runtime allocates once and reuses
    across runs. The module records `tessera.workspace_bytes`,
    `tessera.buffer_bytes` (the sum of the planned buffers) and
    `tessera.live_max_bytes` (the most bytes alive at one point, the lower
    bound for any plan).
  }];
  let options = [
    Option<"entryName", "entry", "std::string", "\"main\"",
           "The function whose buffers are planned">
  ];
  let statistics = [
    Statistic<"numBuffers", "buffers", "Buffers placed in the workspace">
  ];
  let dependentDialects = ["::mlir::memref::MemRefDialect",
                           "::mlir::arith::ArithDialect"];
}

def SerializeBatchPass : Pass<"tessera-cpu-serialize-batch", "func::FuncOp"> {
  let summary = "Run a CNN's early layers one batch item at a time";
  let description = [{
    A CNN's activations do not stay in cache between layers at batch
    sizes above 1: ResNet-50's first tensors are 3.2 MB per item, 26 MB
    at batch 8, so each layer reads its input from memory. This pass moves
    the ops that compute each batch item from that item alone
    (convolutions, pools, batch normalization, elementwise ops whose other
    operands do not span the batch, reshapes and GEMMs against a weight
    that keep the batch dimension), taken in program order from the start
    of the function, into an `scf.for` over the batch
    (`tessera.batch_serial`) whose body runs them on one item. The loop
    ends before the first op that is not item-wise, or that multiplies
    fewer than 64 rows per item (GEMM rows, output positions) by a weight
    larger than what the item reads and writes (a classifier on pooled
    features, a convolution on a 7x7 map): one op over the batch reads
    that weight once. Only when
    the loop holds a convolution and a batched tensor of at least
    `min-batch-bytes` (a small CNN's batch runs faster at once: fewer
    calls, wider GEMMs). The later passes plan memory and outline loop
    nests inside the loop as in the function's body.
  }];
  let options = [
    Option<"minBatchBytes", "min-batch-bytes", "int64_t", "int64_t(4) << 20",
           "Serialize only when a batched tensor in the loop has this many bytes">,
  ];
  let statistics = [
    Statistic<"numSerialized", "serialized-ops", "Ops run item by item">,
  ];
  let dependentDialects = ["::mlir::scf::SCFDialect", "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect"];
}

def ConvToGemmPass : Pass<"tessera-cpu-conv-to-gemm", "func::FuncOp"> {
  let summary = "Run f32 convolutions as im2col patches and one batched matmul";
  let description = [{
    Each f32 `tessera.conv` becomes tessera ops the GEMM microkernel runs:
    the input (padded with `tessera.pad` when the conv pads) is read by one
    strided `tessera.slice` per kernel offset, the windows are concatenated
    into patches `[N, G, C/G * K, P]` (K kernel offsets, P output
    positions), multiplied by the weight seen as `[G, M/G, C/G * K]` in one
    `tessera.matmul`, reshaped to the output and the bias added. A 1x1
    convolution with unit strides and no padding reads the input as its
    patches. When a batch's weight (`M/G * C/G * K` per group) outweighs
    what folding costs per item (`P * (C/G * K + M/G)`: a CNN's late
    layers, few positions and many channels), the batch joins the matmul's
    columns (`[G, C/G * K, N * P]`, a transpose before and
    after), so the weight is read once per batch. Convolutions whose
    patches would exceed `max-patch-bytes` keep the direct lowering, and so
    do depthwise ones (a group per channel, one output channel each) under
    `keep-depthwise`: the direct lowering reads the padded input in place,
    vectorized along output rows, where the patches would copy it once per
    window offset for a one-row matmul per channel.
  }];
  let options = [
    Option<"maxPatchBytes", "max-patch-bytes", "int64_t", "int64_t(256) << 20",
           "Largest patches tensor to build, in bytes">,
    Option<"keepDepthwise", "keep-depthwise", "bool", "true",
           "Leave depthwise convolutions to the direct lowering (whose "
           "window reads partitioning cannot split: off when partitioning)">,
    Option<"windowPatches", "window-patches", "bool", "false",
           "Build 2-D patches with one linalg.generic that reads the "
           "windows ([N, C, KH, KW, OH, OW]), which the GEMM microkernel "
           "then reads from the input itself instead of a patches buffer "
           "(the CPU pipeline's, with ukernels and without partitioning)">
  ];
  let statistics = [
    Statistic<"numConvs", "convolutions", "Convolutions rewritten">
  ];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect"];
}

def OutlineLoopsPass : Pass<"tessera-cpu-outline-loops", "ModuleOp"> {
  let summary = "Give each loop nest of a function a function of its own";
  let description = [{
    After bufferization and `convert-linalg-to-loops`, a whole model is one
    function of thousands of loop nests, and LLVM's optimisation and code
    generation grow faster than linearly in a function's size (a ViT-B/16
    took over two minutes in LLVM alone). This pass moves each top-level
    `scf.for` nest into a private function of its own (`@main_loop3`),
    called in its place and marked `no_inline`, so LLVM works on small
    functions. Identical nests (every layer of a transformer repeats its
    own) share one function, so LLVM compiles each kind of nest once and
    compile time grows with a model's layers only through the MLIR passes.

    Values the nest reads from outside become parameters: memrefs with the
    identity layout and scalars. Constants and views with other layouts
    (`memref.subview` and its kin) are recomputed inside from their
    sources, as the bare-pointer calling convention passes only identity
    layouts.

    ```mlir
    scf.for %i = %c0 to %c64 step %c1 { ... %buf ... }
    // becomes
    func.call @main_loop0(%buf) : (memref<64xf32>) -> ()
    func.func private @main_loop0(%arg0: memref<64xf32>) attributes {no_inline} {
      scf.for %i = %c0 to %c64 step %c1 { ... %arg0 ... }
      return
    }
    ```

    With `parallel`, a top-level `scf.parallel` nest (what
    `convert-linalg-to-parallel-loops` makes of a linalg op's parallel
    dimensions) that executes at least `min-parallel-work` operations and
    calls nothing but the math microkernels becomes one `scf.for` over its
    outer iterations, linearized (the last dimension stays an inner loop
    for the vectorizer), and is outlined with that loop's bounds as the
    first two parameters and the attribute `tessera.parallel`; the call
    passes the whole range. `tessera-cpu-parallel-calls` later splits the
    range over the runtime's thread pool.
  }];
  let options = [
    Option<"minOps", "min-ops", "unsigned", "8",
           "Nests with fewer operations stay inline">,
    Option<"parallel", "parallel", "bool", "false",
           "Outline large scf.parallel nests as functions over a range of "
           "their iterations, marked tessera.parallel (see "
           "tessera-cpu-parallel-calls)">,
    Option<"minParallelWork", "min-parallel-work", "int64_t", "262144",
           "Operations (weighted by trip counts) below which a parallel "
           "nest stays serial">
  ];
  let statistics = [
    Statistic<"numParallel", "parallel", "Parallel nests outlined for the thread pool">,
    Statistic<"numOutlined", "outlined", "Loop nests outlined">,
    Statistic<"numShared", "shared", "Loop nests that call a function an identical nest got">
  ];
  let dependentDialects = ["::mlir::func::FuncDialect", "::mlir::LLVM::LLVMDialect"];
}

#endif // TESSERA_CODEGEN_CPU_PASSES
