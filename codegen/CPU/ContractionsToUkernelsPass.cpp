//===- ContractionsToUkernelsPass.cpp - f32 GEMMs to the microkernel ------===//
//
// Rewrites f32 contractions on buffers into calls of the blocked GEMM
// microkernel `tessera_uk_sgemm_f32` (codegen/CPU/ukernels/Sgemm.cpp):
//
//   void tessera_uk_sgemm_f32(b0, b1, b2, m, n, k,
//                             a, a_b0, a_b1, a_b2, a_m, a_k,
//                             b, b_b0, b_b1, b_b2, b_k, b_n,
//                             c, c_b0, c_b1, c_b2, c_m, c_n)
//
// with addresses and element strides as index values. With runtime-gemm,
// calls of the runtime's GEMM (`tessera_rt_gemm(dtype, ..., bias, flags)`,
// codegen/CPU/ukernels/Collectives.cpp), which also takes over the zero
// fill before the contraction and a bias add after it (GemmEpilogue).
//
// A weight (an argument of the function with `tessera.weight`) that is the
// B operand of such calls only, [K, N] (the last panel narrower when N is
// not a multiple of the panel width), is prepacked: the calls go to
// `tessera_uk_sgemm_f32_pb`, and the argument gets `tessera.prepack =
// array<i64: KC, panel>`, which tells the artifact writer to store it in
// the microkernel's panel layout (packing B on every call cost about as
// much memory traffic as a 128-row GEMM's arithmetic). Otherwise a weight
// that is the A operand of one call only, read through reshapes as one
// row-major [M, K] (a convolution's weight against its im2col patches), is
// prepacked in row panels: `tessera_uk_sgemm_f32_pa`, `tessera.prepack_rows
// = array<i64: KC, rows>` (packing A took 15% of ResNet-50's time).
//
//===----------------------------------------------------------------------===//

#include "codegen/CPU/Passes.h"
#include "codegen/CPU/KernelEpilogue.h"
#include "codegen/CPU/LinalgMatch.h"
#include "codegen/Common/BufferBytes.h"
#include "codegen/Common/RuntimeCalls.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/StringMap.h"

#define DEBUG_TYPE "tessera-cpu-contractions-to-ukernels"

namespace mlir::tessera {
#define GEN_PASS_DEF_CONTRACTIONSTOUKERNELSPASS
#include "codegen/CPU/Passes.h.inc"
} // namespace mlir::tessera

using namespace mlir;
using mlir::tessera::mayShareBytes;
using mlir::tessera::memoryNeighbour;
using mlir::tessera::availableAt;
using mlir::tessera::makeAvailableAt;

namespace {
constexpr llvm::StringLiteral kSgemm = "tessera_uk_sgemm_f32";
constexpr llvm::StringLiteral kSgemmPacked = "tessera_uk_sgemm_f32_pb";
/// The microkernel's prepacked layout (kPackKC, kPackPanel in
/// ukernels/Sgemm.cpp).
constexpr int64_t kPackKC = 256, kPackPanel = 32;
/// The prepacked layout of an A weight (kPackRows in Sgemm.cpp): the same
/// K slices, rows in panels of kPackRows.
constexpr int64_t kPackRows = 12;
constexpr llvm::StringLiteral kSgemmPackedA = "tessera_uk_sgemm_f32_pa";
constexpr llvm::StringLiteral kSgemmWindows = "tessera_uk_sgemm_f32_win";
constexpr llvm::StringLiteral kRuntimeGemm = "tessera_rt_gemm";
constexpr int64_t kMaxBatch = 3;

/// The loops of a contraction: up to three batch loops, then m, n, k.
struct ContractionLoops {
  SmallVector<unsigned> batch;
  unsigned m, n, k;
};

/// The result position of loop `d` in `map`, if the map reads it.
std::optional<unsigned> positionOf(AffineMap map, unsigned d) {
  for (auto [i, e] : llvm::enumerate(map.getResults()))
    if (auto dim = dyn_cast<AffineDimExpr>(e); dim && dim.getPosition() == d)
      return i;
  return std::nullopt;
}

/// Classifies the loops of a buffer-semantics f32 contraction whose maps
/// read every operand dimension by a loop or at constant 0 (a broadcast
/// unit dimension). The output's last two dimensions are m and n.
std::optional<ContractionLoops> matchContraction(linalg::LinalgOp op,
                                                 bool lowPrecision) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInputs() != 2 ||
      op.getNumDpsInits() != 1 || !mlir::tessera::isMulAddBody(op))
    return std::nullopt;
  Type element;
  for (OpOperand &operand : op->getOpOperands()) {
    auto type = dyn_cast<MemRefType>(operand.get().getType());
    if (!type || !type.hasStaticShape())
      return std::nullopt;
    Type t = type.getElementType();
    if (!(t.isF32() || (lowPrecision && (t.isF16() || t.isBF16()))) ||
        (element && t != element))
      return std::nullopt;
    element = t;
  }
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  for (AffineMap map : maps)
    for (AffineExpr e : map.getResults()) {
      if (isa<AffineDimExpr>(e))
        continue;
      auto c = dyn_cast<AffineConstantExpr>(e);
      if (!c || c.getValue() != 0)
        return std::nullopt;
    }
  AffineMap out = maps[2];
  if (out.getNumResults() < 2)
    return std::nullopt;
  auto m = dyn_cast<AffineDimExpr>(out.getResult(out.getNumResults() - 2));
  auto n = dyn_cast<AffineDimExpr>(out.getResult(out.getNumResults() - 1));
  if (!m || !n)
    return std::nullopt;
  ContractionLoops loops;
  loops.m = m.getPosition();
  loops.n = n.getPosition();
  std::optional<unsigned> k;
  for (auto [d, kind] : llvm::enumerate(op.getIteratorTypesArray())) {
    if (kind == utils::IteratorType::reduction) {
      if (k)
        return std::nullopt;
      k = d;
    } else if (d != loops.m && d != loops.n) {
      if (!positionOf(out, d))
        return std::nullopt;
      loops.batch.push_back(d);
    }
  }
  if (!k || loops.batch.size() > kMaxBatch)
    return std::nullopt;
  loops.k = *k;
  // m is a row of lhs only, n a column of rhs only, k read by both.
  if (!positionOf(maps[0], loops.m) || positionOf(maps[1], loops.m) ||
      !positionOf(maps[1], loops.n) || positionOf(maps[0], loops.n) ||
      !positionOf(maps[0], loops.k) || !positionOf(maps[1], loops.k))
    return std::nullopt;
  return loops;
}

/// Whether every operand has a unit static stride along one of its two
/// matrix dimensions (what a BLAS call takes: row- or column-major).
bool blasLayout(linalg::LinalgOp op, const ContractionLoops &loops) {
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  std::pair<unsigned, unsigned> inner[3] = {
      {loops.m, loops.k}, {loops.k, loops.n}, {loops.m, loops.n}};
  for (unsigned i = 0; i < 3; ++i) {
    auto type = cast<MemRefType>(op->getOperand(i).getType());
    SmallVector<int64_t> strides;
    int64_t offset;
    if (failed(type.getStridesAndOffset(strides, offset)))
      return false;
    auto unit = [&](unsigned d) {
      std::optional<unsigned> pos = positionOf(maps[i], d);
      return pos && strides[*pos] == 1;
    };
    if (!unit(inner[i].first) && !unit(inner[i].second))
      return false;
  }
  return true;
}

/// `tessera_rt_gemm`'s flags (runtime/src/gemm_hook.h).
constexpr int64_t kGemmOverwrite = 1, kGemmBias = 2, kGemmRelu = 4;

/// Whether `v` is a memref with static strides whose dimension `pos` has
/// unit stride.
bool unitStride(Value v, unsigned pos) {
  auto type = cast<MemRefType>(v.getType());
  SmallVector<int64_t> strides;
  int64_t offset;
  return succeeded(type.getStridesAndOffset(strides, offset)) &&
         pos < strides.size() && strides[pos] == 1;
}

/// Whether `op` is the last to read `buffer` before it is filled again (the
/// memory plan gives buffers with the same bytes and type one view, reused
/// by later ops for another value).
bool readsLast(Operation *op, Value buffer) {
  for (Operation *next = op->getNextNode(); next; next = next->getNextNode()) {
    bool uses = llvm::any_of(buffer.getUsers(), [&](Operation *user) {
      return next->isAncestor(user);
    });
    if (!uses)
      continue;
    auto fill = dyn_cast<linalg::FillOp>(next);
    return fill && fill.getOutputs()[0] == buffer;
  }
  return true;
}

/// What the runtime's GEMM takes over from the ops around a contraction
/// into C:
///  - the zero fill of C just before it: the GEMM overwrites C instead;
///  - then, in the elementwise op just after it that reads C and is C's
///    last reader, `C + bias[n]` (bias a contiguous vector over C's
///    columns): cuBLASLt's bias epilogue adds it, and the op reads C;
///  - then, when the op is left a copy of C (or of its ReLU) to its output
///    D: the GEMM writes D (with cuBLASLt's ReLU epilogue) and the op goes.
struct GemmEpilogue {
  int64_t flags = 0;
  Value bias;
  linalg::FillOp fill;
  arith::AddFOp biasAdd;
  /// The consumer's block argument for C.
  Value cArg;
  linalg::GenericOp copy;
  Value output;
};

GemmEpilogue matchEpilogue(linalg::LinalgOp op, const ContractionLoops &loops) {
  GemmEpilogue e;
  Value c = op->getOperand(2);
  auto fill = dyn_cast_or_null<linalg::FillOp>(memoryNeighbour(op, true));
  if (!fill || fill.getOutputs()[0] != c ||
      !matchPattern(fill.getInputs()[0], m_AnyZeroFloat()))
    return e;
  e.fill = fill;
  e.flags |= kGemmOverwrite;

  // C is an intermediate buffer read last by the next op.
  auto consumer = dyn_cast_or_null<linalg::GenericOp>(memoryNeighbour(op, false));
  unsigned nPos = op.getIndexingMapsArray()[2].getNumResults() - 1;
  if (!c.getDefiningOp() || !consumer || !consumer.hasPureBufferSemantics() ||
      consumer.getNumParallelLoops() != consumer.getNumLoops() ||
      !unitStride(c, nPos))
    return e;
  if (!readsLast(consumer, c))
    return e;
  OpOperand *cIn = nullptr;
  for (OpOperand *input : consumer.getDpsInputOperands()) {
    if (input->get() != c)
      continue;
    if (cIn)
      return e;
    cIn = input;
  }
  if (!cIn || llvm::is_contained(consumer.getDpsInits(), c))
    return e;
  BlockArgument cArg = consumer.getMatchingBlockArgument(cIn);
  AffineMap cMap = consumer.getMatchingIndexingMap(cIn);
  if (!cArg.hasOneUse() || !cMap.isProjectedPermutation())
    return e;
  e.cArg = cArg;
  // The value C's element becomes in the op: C, or C + bias.
  Value value = cArg;
  if (auto add = dyn_cast<arith::AddFOp>(*cArg.getUsers().begin())) {
    auto bArg = dyn_cast<BlockArgument>(add.getLhs() == cArg ? add.getRhs()
                                                             : add.getLhs());
    if (bArg && bArg.getOwner() == consumer.getBlock() &&
        bArg.getArgNumber() < consumer.getNumDpsInputs() && bArg != cArg) {
      OpOperand *bIn = consumer.getDpsInputOperand(bArg.getArgNumber());
      auto bType = dyn_cast<MemRefType>(bIn->get().getType());
      AffineMap bMap = consumer.getMatchingIndexingMap(bIn);
      if (bType && bType.getRank() == 1 && unitStride(bIn->get(), 0) &&
          bType.getElementType() ==
              cast<MemRefType>(c.getType()).getElementType() &&
          bMap.getNumResults() == 1 && bMap.getResult(0) == cMap.getResult(nPos)) {
        e.flags |= kGemmBias;
        e.bias = bIn->get();
        e.biasAdd = add;
        value = add.getResult();
      }
    }
  }

  // Left a copy of that value, or of its ReLU, to the op's output (the same
  // map, n contiguous too)? Then the GEMM writes the output.
  Block *body = consumer.getBlock();
  Value yielded = body->getTerminator()->getOperand(0);
  int64_t relu = 0;
  if (auto max = yielded.getDefiningOp<arith::MaximumFOp>();
      max && max->getBlock() == body && value.hasOneUse() &&
      ((max.getLhs() == value && matchPattern(max.getRhs(), m_AnyZeroFloat())) ||
       (max.getRhs() == value && matchPattern(max.getLhs(), m_AnyZeroFloat()))))
    relu = kGemmRelu, yielded = value;
  size_t bodyOps = 1 + (e.biasAdd ? 1 : 0) + (relu ? 1 : 0);
  if (yielded != value || body->getOperations().size() != bodyOps ||
      consumer.getNumDpsInits() != 1)
    return e;
  OpOperand *out = consumer.getDpsInitOperand(0);
  auto outType = cast<MemRefType>(out->get().getType());
  if (consumer.getMatchingIndexingMap(out) == cMap &&
      outType.getShape() == cast<MemRefType>(c.getType()).getShape() &&
      unitStride(out->get(), nPos) && availableAt(out->get(), op) &&
      // The memory plan gave the output bytes free only after the GEMM:
      // the GEMM may write them only if it does not read them.
      !mayShareBytes(out->get(), op->getOperand(0)) &&
      !mayShareBytes(out->get(), op->getOperand(1)) &&
      (!e.bias || !mayShareBytes(out->get(), e.bias))) {
    e.copy = consumer;
    e.output = out->get();
    e.flags |= relu;
  }
  return e;
}

/// Applies `e` around `op`: erases what the GEMM takes over; returns the
/// GEMM's output buffer.
Value applyEpilogue(linalg::LinalgOp op, GemmEpilogue &e) {
  if (e.fill)
    e.fill->erase();
  if (e.copy) {
    makeAvailableAt(e.output, op);
    e.copy->erase();
    return e.output;
  }
  if (e.biasAdd) {
    // The consumer now reads C with the bias added.
    e.biasAdd.replaceAllUsesWith(e.cArg);
    e.biasAdd->erase();
  }
  return op->getOperand(2);
}

/// The weight argument `op`'s B operand is, when it can be prepacked: f32,
/// [K, N] row-major, read as (k, n) with no batch dimension.
BlockArgument packableWeight(linalg::LinalgOp op, const ContractionLoops &loops) {
  auto arg = dyn_cast<BlockArgument>(op->getOperand(1));
  if (!arg)
    return {};
  auto func = dyn_cast<func::FuncOp>(arg.getOwner()->getParentOp());
  auto type = dyn_cast<MemRefType>(arg.getType());
  if (!func || !func.getArgAttr(arg.getArgNumber(), "tessera.weight") || !type ||
      !type.getElementType().isF32() || type.getRank() != 2 ||
      !type.hasStaticShape() || !type.getLayout().isIdentity())
    return {};
  AffineMap map = op.getIndexingMapsArray()[1];
  if (positionOf(map, loops.k) != 0u || positionOf(map, loops.n) != 1u)
    return {};
  for (unsigned d : loops.batch)
    if (positionOf(map, d))
      return {};
  return arg;
}

/// The weight argument behind `op`'s A operand when it can be prepacked
/// (tessera_uk_sgemm_f32_pa): an unsplit f32 weight read, through reshapes
/// only, as one row-major [M, K] matrix (M its first dimension, K the rest:
/// a convolution's weight against its patches), every batch dimension of
/// size 1 there or not reading it. Each op on the way has one use.
BlockArgument packableWeightA(linalg::LinalgOp op, const ContractionLoops &loops) {
  Value v = op->getOperand(0);
  auto view = dyn_cast<MemRefType>(v.getType());
  if (!view || !view.hasStaticShape() || !view.getLayout().isIdentity() ||
      !view.getElementType().isF32() || view.getRank() < 2)
    return {};
  while (Operation *def = v.getDefiningOp()) {
    if (!isa<memref::ExpandShapeOp, memref::CollapseShapeOp>(def) || !def->hasOneUse())
      return {};
    v = def->getOperand(0);
  }
  auto arg = dyn_cast<BlockArgument>(v);
  auto func = arg ? dyn_cast<func::FuncOp>(arg.getOwner()->getParentOp()) : func::FuncOp();
  auto type = arg ? dyn_cast<MemRefType>(arg.getType()) : MemRefType();
  if (!func || !type || !arg.hasOneUse() ||
      !func.getArgAttr(arg.getArgNumber(), "tessera.weight") ||
      !type.hasStaticShape() || !type.getLayout().isIdentity())
    return {};
  if (auto split = func.getArgAttrOfType<ArrayAttr>(arg.getArgNumber(), "tessera.split"))
    for (Attribute dim : split)
      if (!cast<DenseI16ArrayAttr>(dim).empty())
        return {};
  int64_t rank = view.getRank();
  AffineMap map = op.getIndexingMapsArray()[0];
  if (positionOf(map, loops.m) != unsigned(rank - 2) ||
      positionOf(map, loops.k) != unsigned(rank - 1) ||
      view.getDimSize(rank - 2) != type.getDimSize(0))
    return {};
  for (int64_t d = 0; d < rank - 2; ++d)
    if (view.getDimSize(d) != 1)
      return {};
  return arg;
}

/// The microkernel's epilogue (its trailing arguments: bias, addend,
/// flags, lo, hi; flags as in ukernels/Sgemm.cpp).
constexpr int64_t kUkOverwrite = 1, kUkRowBias = 2, kUkColBias = 4, kUkAddend = 8,
                  kUkPackedA = 16, kUkSwapped = 32;
/// K x N above which the microkernel packs a plain B (Sgemm.cpp's
/// columnBlock: smaller ones are read in place).
constexpr int64_t kUkPackedBFloats = int64_t(1) << 17;

/// Whether `op`, with a prepacked A, computes Cᵀ = Bᵀ Aᵀ (kSwapped: Aᵀ
/// prepacked in B's column panels, vectors along M), M whole vectors (a
/// multiple of 16):
/// - when N fills the register tiles' vector lanes (32-wide tiles, a
///   16-wide tail) 3% or more worse. A convolution with a 7x7 output fills
///   64 lanes with its 49 positions, a 14x14 one 208 with 196, where its
///   256-2048 output channels fill them all;
/// - when B is a plain matrix (not a convolution's windows) the
///   microkernel packs (K x N over kUkPackedBFloats), for at most 64 rows
///   over K of 96 or more: each packed panel of B then serves at most 6
///   row tiles, and the packing cost more than computing transposed (Bᵀ
///   packed in row panels, the result transposed back). 1x1 convolutions
///   alone, one thread: MobileNetV2's 144->32 at 56x56 0.20 -> 0.16 ms,
///   96->32 0.142 -> 0.12, 192->32 at 28x28 0.064 -> 0.052; ResNet-50's
///   256->64 at 56x56 0.56 -> 0.49. With K of 64 or less, or a
///   convolution's windows to gather, it was slower.
bool computesTransposed(linalg::LinalgOp op, const ContractionLoops &loops,
                        bool windows) {
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  int64_t m = ranges[loops.m], n = ranges[loops.n], k = ranges[loops.k];
  auto lanes = [](int64_t x) {
    int64_t r = x % 32;
    return x - r + (r == 0 ? 0 : r <= 16 ? 16 : 32);
  };
  if (m % 16 != 0)
    return false;
  if (100 * n < 97 * lanes(n))
    return true;
  return !windows && m <= 64 && k >= 96 && k * n > kUkPackedBFloats;
}
struct UkEpilogue {
  int64_t flags = 0;
  std::optional<mlir::tessera::KernelEpilogue> ops;
};

/// What the microkernel takes over around `op` (before the memory plan):
/// the zero fill of C, then the bias, addend and clamp of the op after it.
UkEpilogue matchUkEpilogue(linalg::LinalgOp op, const ContractionLoops &loops) {
  UkEpilogue e;
  Value c = op->getOperand(2);
  linalg::FillOp fill = mlir::tessera::zeroFillBefore(op, c);
  if (!fill)
    return e;
  fill->erase();
  e.flags |= kUkOverwrite;
  if (!mlir::tessera::isContiguousF32(c))
    return e;
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  int64_t batch = 1, m = ranges[loops.m], n = ranges[loops.n];
  for (unsigned d : loops.batch)
    batch *= ranges[d];
  // C is [batch, M, N] in memory: a bias per row or per column.
  mlir::tessera::AccumulatorShape shapes[] = {{batch, m, n}, {batch * m, n, 1}};
  e.ops = mlir::tessera::matchKernelEpilogue(
      op, c, {op->getOperand(0), op->getOperand(1)}, shapes);
  if (!e.ops)
    return e;
  mlir::tessera::prepareKernelEpilogue(*e.ops, op);
  if (e.ops->bias)
    e.flags |= e.ops->biasShape == 0 ? kUkRowBias : kUkColBias;
  if (e.ops->addend)
    e.flags |= kUkAddend;
  return e;
}

/// A B operand that is a 2-D convolution's patches built by one
/// `linalg.generic` reading the windows of its (padded) input (what
/// tessera-cpu-conv-to-gemm builds with window-patches): the microkernel
/// gathers B's panels from the input instead (tessera_uk_sgemm_f32_win).
struct WindowsB {
  linalg::GenericOp copy;
  Value input;
  int64_t h, w, kh, kw, sh, sw, dh, dw, ow;
  /// B's batch strides, in input floats.
  SmallVector<int64_t> batchStrides;
};

std::optional<WindowsB> matchWindows(linalg::LinalgOp op, const ContractionLoops &loops) {
  Value b = op->getOperand(1);
  Value root = b;
  while (Operation *def = root.getDefiningOp()) {
    if (!isa<memref::ExpandShapeOp, memref::CollapseShapeOp>(def) || !def->hasOneUse())
      break;
    root = def->getOperand(0);
  }
  auto alloc = root.getDefiningOp<memref::AllocOp>();
  if (!alloc || !mlir::tessera::isContiguousF32(b) || !mlir::tessera::isContiguousF32(root) ||
      !llvm::hasNItems(root.getUses(), 2))
    return std::nullopt;
  // The window copy writes the patches right before the contraction (or
  // before the zero fill of its output), so its input is unchanged there.
  Operation *before = mlir::tessera::memoryNeighbourPastAllocs(op, true);
  if (before && mlir::tessera::zeroFillBefore(op, op->getOperand(2)) == before)
    before = mlir::tessera::memoryNeighbourPastAllocs(before, true);
  auto copy = dyn_cast_or_null<linalg::GenericOp>(before);
  if (!copy || !copy.hasPureBufferSemantics() || copy.getNumDpsInputs() != 1 ||
      copy.getNumDpsInits() != 1 || copy.getDpsInits()[0] != root ||
      copy.getNumParallelLoops() != 6 || copy.getNumLoops() != 6)
    return std::nullopt;
  Block *body = copy.getBlock();
  if (body->getOperations().size() != 1 ||
      body->getTerminator()->getOperand(0) != body->getArgument(0))
    return std::nullopt;
  Value input = copy.getDpsInputs()[0];
  auto inType = dyn_cast<MemRefType>(input.getType());
  auto patchType = cast<MemRefType>(root.getType());
  if (!mlir::tessera::isContiguousF32(input) || inType.getRank() != 4 ||
      patchType.getRank() != 6)
    return std::nullopt;
  SmallVector<AffineMap> maps = copy.getIndexingMapsArray();
  if (!maps[1].isIdentity())
    return std::nullopt;
  auto coefficient = [&](unsigned result, unsigned loop) {
    return mlir::tessera::mapCoefficient(maps[0], result, loop);
  };
  ArrayRef<int64_t> six = patchType.getShape(), x = inType.getShape();
  WindowsB win{copy, input, x[2], x[3], six[2], six[3], coefficient(2, 4),
               coefficient(3, 5), coefficient(2, 2), coefficient(3, 3), six[5], {}};
  MLIRContext *ctx = op->getContext();
  auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
  AffineMap expected = AffineMap::get(
      6, 0, {d(0), d(1), d(4) * win.sh + d(2) * win.dh, d(5) * win.sw + d(3) * win.dw}, ctx);
  if (maps[0] != expected || x[0] != six[0] || x[1] != six[1] || win.sh < 1 ||
      win.sw < 1 || win.dh < 1 || win.dw < 1 ||
      (six[4] - 1) * win.sh + (six[2] - 1) * win.dh >= win.h ||
      (six[5] - 1) * win.sw + (six[3] - 1) * win.dw >= win.w)
    return std::nullopt;
  // The contraction reads B as (k, n) = (c * KH * KW + ky * KW + kx,
  // oy * OW + ox) of one item: rows P apart, columns contiguous; a batch
  // index steps over whole channels.
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  int64_t positions = six[4] * six[5], taps = six[2] * six[3];
  SmallVector<int64_t> strides;
  int64_t offset;
  if (failed(cast<MemRefType>(b.getType()).getStridesAndOffset(strides, offset)) ||
      offset != 0)
    return std::nullopt;
  AffineMap map = op.getIndexingMapsArray()[1];
  std::optional<unsigned> kPos = positionOf(map, loops.k), nPos = positionOf(map, loops.n);
  if (!kPos || !nPos || strides[*kPos] != positions || strides[*nPos] != 1 ||
      ranges[loops.n] != positions || ranges[loops.k] % taps != 0)
    return std::nullopt;
  for (unsigned dim : loops.batch) {
    std::optional<unsigned> pos = positionOf(map, dim);
    int64_t stride = pos ? strides[*pos] : 0;
    if (stride % (taps * positions) != 0)
      return std::nullopt;
    win.batchStrides.push_back(stride / (taps * positions) * win.h * win.w);
  }
  return win;
}

/// Erases `win`'s window copy, the patches buffer and its views (the
/// contraction that read them is gone).
void eraseWindows(WindowsB &win, Value b) {
  SmallVector<Operation *> chain;
  for (Operation *def = b.getDefiningOp(); def && !isa<memref::AllocOp>(def);
       def = def->getOperand(0).getDefiningOp())
    chain.push_back(def);
  Value root = win.copy.getDpsInits()[0];
  win.copy->erase();
  for (Operation *view : chain)
    view->erase();
  root.getDefiningOp()->erase();
}

void rewrite(linalg::LinalgOp op, const ContractionLoops &loops,
             func::FuncOp callee, bool runtimeGemm, WindowsB *win = nullptr,
             bool aPacked = false, bool swapped = false) {
  GemmEpilogue epilogue;
  UkEpilogue uk;
  Value output = op->getOperand(2);
  if (runtimeGemm) {
    epilogue = matchEpilogue(op, loops);
    output = applyEpilogue(op, epilogue);
  } else {
    uk = matchUkEpilogue(op, loops);
    if (uk.ops)
      output = uk.ops->output;
  }
  OpBuilder b(op);
  Location loc = op.getLoc();
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  auto index = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  SmallVector<Value> args;
  Type element = cast<MemRefType>(op->getOperand(0).getType()).getElementType();
  if (runtimeGemm) // a tsr_dtype_t
    args.push_back(index(element.isF32() ? 1 : element.isF16() ? 2 : 3));
  int64_t elementBytes = element.getIntOrFloatBitWidth() / 8;
  for (int64_t i = 0; i < kMaxBatch; ++i)
    args.push_back(index(i < int64_t(loops.batch.size())
                             ? ranges[loops.batch[i]]
                             : 1));
  args.push_back(index(ranges[loops.m]));
  args.push_back(index(ranges[loops.n]));
  args.push_back(index(ranges[loops.k]));
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  // The element address of `buffer`'s first element.
  auto address = [&](Value buffer,
                     memref::ExtractStridedMetadataOp meta) -> Value {
    Value base =
        memref::ExtractAlignedPointerAsIndexOp::create(b, loc, buffer);
    Value byteOffset = arith::MulIOp::create(b, loc, meta.getOffset(),
                                             index(elementBytes));
    return arith::AddIOp::create(b, loc, base, byteOffset);
  };
  auto addOperand = [&](unsigned i, ArrayRef<unsigned> inner) {
    Value buffer = i == 2 ? output : op->getOperand(i);
    auto meta = memref::ExtractStridedMetadataOp::create(b, loc, buffer);
    args.push_back(address(buffer, meta));
    // The microkernel's epilogue writes its output with C's strides (the
    // same elements in the same order, maybe another shape); C is
    // contiguous, its strides static.
    SmallVector<int64_t> cStrides;
    int64_t cOffset;
    bool staticC = uk.ops && i == 2;
    if (staticC)
      (void)cast<MemRefType>(op->getOperand(2).getType())
          .getStridesAndOffset(cStrides, cOffset);
    auto strideOf = [&](unsigned d) -> Value {
      std::optional<unsigned> pos = positionOf(maps[i], d);
      if (!pos)
        return index(0);
      return staticC ? index(cStrides[*pos]) : meta.getStrides()[*pos];
    };
    for (int64_t j = 0; j < kMaxBatch; ++j)
      args.push_back(j < int64_t(loops.batch.size()) ? strideOf(loops.batch[j])
                                                     : index(0));
    for (unsigned d : inner)
      args.push_back(strideOf(d));
  };
  addOperand(0, {loops.m, loops.k});
  if (win) {
    args.push_back(address(win->input,
                           memref::ExtractStridedMetadataOp::create(b, loc, win->input)));
    for (int64_t j = 0; j < kMaxBatch; ++j)
      args.push_back(index(j < int64_t(win->batchStrides.size()) ? win->batchStrides[j] : 0));
    for (int64_t v : {win->h, win->w, win->kh, win->kw, win->sh, win->sw, win->dh,
                      win->dw, win->ow})
      args.push_back(index(v));
  } else {
    addOperand(1, {loops.k, loops.n});
  }
  addOperand(2, {loops.m, loops.n});
  if (runtimeGemm) {
    Value bias = index(0);
    if (epilogue.bias)
      bias = address(epilogue.bias, memref::ExtractStridedMetadataOp::create(
                                        b, loc, epilogue.bias));
    args.push_back(bias);
    args.push_back(index(epilogue.flags));
  } else {
    auto addressOf = [&](Value v) -> Value {
      return v ? address(v, memref::ExtractStridedMetadataOp::create(b, loc, v))
               : index(0);
    };
    args.push_back(addressOf(uk.ops ? uk.ops->bias : Value()));
    args.push_back(addressOf(uk.ops ? uk.ops->addend : Value()));
    args.push_back(index(uk.flags | (win && aPacked ? kUkPackedA : 0) |
                         (swapped ? kUkSwapped : 0)));
    float lo = uk.ops ? uk.ops->lo : -std::numeric_limits<float>::infinity();
    float hi = uk.ops ? uk.ops->hi : std::numeric_limits<float>::infinity();
    for (float bound : {lo, hi})
      args.push_back(arith::ConstantFloatOp::create(b, loc, b.getF32Type(), APFloat(bound)));
  }
  func::CallOp::create(b, loc, callee, args);
  Value c = op->getOperand(2), bOperand = op->getOperand(1);
  op->erase();
  if (uk.ops)
    mlir::tessera::eraseKernelEpilogue(*uk.ops, c);
  if (win)
    eraseWindows(*win, bOperand);
}

struct ContractionsToUkernelsPass
    : mlir::tessera::impl::ContractionsToUkernelsPassBase<
          ContractionsToUkernelsPass> {
  using Base::Base;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<std::pair<linalg::LinalgOp, ContractionLoops>> matches;
    module.walk([&](linalg::LinalgOp op) {
      std::optional<ContractionLoops> loops = matchContraction(op, runtimeGemm);
      if (loops && (!runtimeGemm || blasLayout(op, *loops)))
        matches.emplace_back(op, *loops);
    });
    if (matches.empty())
      return;
    SmallVector<Type> args(runtimeGemm ? 9 + 3 * (kMaxBatch + 3)
                                       : 9 + 3 * (kMaxBatch + 3),
                           IndexType::get(module.getContext()));
    if (!runtimeGemm) // the epilogue's bounds
      args.append(2, Float32Type::get(module.getContext()));
    func::FuncOp callee = mlir::tessera::lookupOrDeclareFunc(
        module, runtimeGemm ? kRuntimeGemm : kSgemm, args, {});
    // Weights every use of which is a packable B operand.
    llvm::DenseMap<Value, int> packableUses;
    if (!runtimeGemm)
      for (auto &[op, loops] : matches)
        if (BlockArgument w = packableWeight(op, loops))
          ++packableUses[w];
    auto packed = [&](linalg::LinalgOp op, const ContractionLoops &loops) {
      BlockArgument w = runtimeGemm ? BlockArgument() : packableWeight(op, loops);
      return w && std::distance(w.use_begin(), w.use_end()) == packableUses[w] ? w
                                                                               : BlockArgument();
    };
    // A prepacked weight: its layout attribute for the artifact writer.
    auto setPrepack = [&](BlockArgument w, StringRef attr, int64_t blockSize) {
      auto func = cast<func::FuncOp>(w.getOwner()->getParentOp());
      func.setArgAttr(w.getArgNumber(), attr,
                      DenseI64ArrayAttr::get(module.getContext(), {kPackKC, blockSize}));
      ++numPrepacked;
    };
    // A prepacked A: in row panels, or as Aᵀ in B's column panels when the
    // product is computed transposed (the result).
    auto prepackA = [&](linalg::LinalgOp op, const ContractionLoops &loops,
                        BlockArgument a, bool windows) {
      bool swapped = computesTransposed(op, loops, windows);
      setPrepack(a, "tessera.prepack_rows", swapped ? kPackPanel : kPackRows);
      numTransposed += swapped;
      return swapped;
    };
    llvm::StringMap<func::FuncOp> callees;
    auto calleeFor = [&](StringRef entry) {
      func::FuncOp &f = callees[entry];
      if (!f)
        f = mlir::tessera::lookupOrDeclareFunc(module, entry, args, {});
      return f;
    };
    // B gathered from a convolution's input: index arguments for the
    // batch, the sizes, A, B's input, batch strides and 9 geometry values,
    // C, bias, addend and flags; then the bounds.
    func::FuncOp windowsCallee;
    for (auto &[op, loops] : matches) {
      std::optional<WindowsB> win;
      if (!runtimeGemm)
        win = matchWindows(op, loops);
      if (win) {
        if (!windowsCallee) {
          SmallVector<Type> types(6 + 6 + 4 + 9 + 6 + 3, IndexType::get(module.getContext()));
          types.append(2, Float32Type::get(module.getContext()));
          windowsCallee = mlir::tessera::lookupOrDeclareFunc(module, kSgemmWindows, types, {});
        }
        BlockArgument a = packableWeightA(op, loops);
        bool swapped = a && prepackA(op, loops, a, /*windows=*/true);
        rewrite(op, loops, windowsCallee, runtimeGemm, &*win, bool(a), swapped);
        ++numWindows;
      } else if (BlockArgument w = packed(op, loops)) {
        setPrepack(w, "tessera.prepack", kPackPanel);
        rewrite(op, loops, calleeFor(kSgemmPacked), runtimeGemm);
      } else if (BlockArgument a = runtimeGemm ? BlockArgument() : packableWeightA(op, loops)) {
        bool swapped = prepackA(op, loops, a, /*windows=*/false);
        rewrite(op, loops, calleeFor(kSgemmPackedA), runtimeGemm, nullptr, false, swapped);
      } else {
        rewrite(op, loops, callee, runtimeGemm);
      }
    }
    numCalls += matches.size();
  }
};
} // namespace
