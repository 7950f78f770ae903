//===- UnrollWindows.cpp - Window reductions as strided slices ------------===//
//
// tessera-unroll-windows: see Passes.td.
//
//===----------------------------------------------------------------------===//

#include "passes/Sharding/Passes.h"

#include "mlir/IR/IRMapping.h"

namespace mlir::tessera {
#define GEN_PASS_DEF_UNROLLWINDOWSPASS
#include "passes/Sharding/Passes.h.inc"
} // namespace mlir::tessera

using namespace mlir;

namespace {

/// Windows larger than this stay as they are (unshardable but correct).
constexpr int64_t kMaxWindow = 64;

/// `expr` as sum of coefficient * dim, without a constant term.
std::optional<SmallVector<std::pair<unsigned, int64_t>>>
linearTerms(AffineExpr expr) {
  SmallVector<std::pair<unsigned, int64_t>> terms;
  std::function<bool(AffineExpr, int64_t)> walk = [&](AffineExpr e,
                                                      int64_t scale) {
    if (auto d = dyn_cast<AffineDimExpr>(e)) {
      terms.push_back({d.getPosition(), scale});
      return true;
    }
    auto bin = dyn_cast<AffineBinaryOpExpr>(e);
    if (!bin)
      return false;
    if (bin.getKind() == AffineExprKind::Add)
      return walk(bin.getLHS(), scale) && walk(bin.getRHS(), scale);
    if (bin.getKind() == AffineExprKind::Mul)
      if (auto c = dyn_cast<AffineConstantExpr>(bin.getRHS()))
        return walk(bin.getLHS(), scale * c.getValue());
    return false;
  };
  if (!walk(expr, 1))
    return std::nullopt;
  return terms;
}

/// One dimension of the windowed operand: it reads parallel loop `loop`
/// at `stride`, shifted by sum(reduction loop * coefficient).
struct WindowDim {
  unsigned loop;
  int64_t stride;
  SmallVector<std::pair<unsigned, int64_t>> shifts;
};

LogicalResult unroll(linalg::GenericOp generic) {
  if (generic.getNumDpsInits() != 1 || generic.hasIndexSemantics() ||
      !generic.hasPureTensorSemantics())
    return failure();
  SmallVector<utils::IteratorType> iterators = generic.getIteratorTypesArray();
  SmallVector<int64_t> ranges = generic.getStaticLoopRanges();
  SmallVector<AffineMap> maps = generic.getIndexingMapsArray();
  auto isReduction = [&](unsigned d) {
    return iterators[d] == utils::IteratorType::reduction;
  };
  // The windowed input: the one whose map is not a projected permutation.
  OpOperand *data = nullptr;
  for (OpOperand *in : generic.getDpsInputOperands())
    if (!maps[in->getOperandNumber()].isProjectedPermutation()) {
      if (data)
        return failure();
      data = in;
    }
  if (!data)
    return failure();
  SmallVector<WindowDim> dims;
  for (AffineExpr e : maps[data->getOperandNumber()].getResults()) {
    auto terms = linearTerms(e);
    if (!terms)
      return failure();
    WindowDim w{~0u, 0, {}};
    for (auto [d, c] : *terms) {
      if (isReduction(d)) {
        w.shifts.push_back({d, c});
      } else {
        if (w.loop != ~0u || c <= 0)
          return failure();
        w.loop = d;
        w.stride = c;
      }
    }
    if (w.loop == ~0u)
      return failure();
    dims.push_back(w);
  }
  // Other operands read parallel loops only; their block arguments may be
  // used (a shape-only window operand must not be).
  SmallVector<unsigned> parallel, reduction;
  for (unsigned d = 0; d < iterators.size(); ++d)
    (isReduction(d) ? reduction : parallel).push_back(d);
  int64_t windows = 1;
  for (unsigned d : reduction) {
    if (ShapedType::isDynamic(ranges[d]))
      return failure();
    windows *= ranges[d];
  }
  if (reduction.empty() || windows > kMaxWindow)
    return failure();
  SmallVector<OpOperand *> kept;
  for (OpOperand &operand : generic->getOpOperands()) {
    if (&operand == data)
      continue;
    AffineMap m = maps[operand.getOperandNumber()];
    bool readsReduction = llvm::any_of(reduction, [&](unsigned d) {
      return m.isFunctionOfDim(d);
    });
    if (!readsReduction) {
      kept.push_back(&operand);
      continue;
    }
    if (generic.isDpsInit(&operand) ||
        !generic.getMatchingBlockArgument(&operand).use_empty())
      return failure();
  }
  for (unsigned d : parallel)
    if (ShapedType::isDynamic(ranges[d]))
      return failure();

  // Renumber the parallel loops.
  MLIRContext *ctx = generic.getContext();
  DenseMap<unsigned, unsigned> newLoop;
  for (auto [i, d] : llvm::enumerate(parallel))
    newLoop[d] = i;
  auto remap = [&](AffineMap m) {
    SmallVector<AffineExpr> results;
    for (AffineExpr e : m.getResults())
      results.push_back(e.replaceDims(llvm::to_vector(llvm::map_range(
          llvm::seq<unsigned>(0, m.getNumDims()), [&](unsigned d) -> AffineExpr {
            auto it = newLoop.find(d);
            return it == newLoop.end() ? getAffineConstantExpr(0, ctx)
                                       : getAffineDimExpr(it->second, ctx);
          }))));
    return AffineMap::get(parallel.size(), 0, results, ctx);
  };

  OpBuilder b(generic);
  Location loc = generic.getLoc();
  Value source = data->get();
  auto sourceType = cast<RankedTensorType>(source.getType());
  SmallVector<Value> slices;
  SmallVector<AffineExpr> sliceResults;
  for (const WindowDim &w : dims)
    sliceResults.push_back(getAffineDimExpr(newLoop[w.loop], ctx));
  AffineMap sliceMap = AffineMap::get(parallel.size(), 0, sliceResults, ctx);
  for (int64_t k = 0; k < windows; ++k) {
    // The reduction indices of window k, last loop fastest.
    DenseMap<unsigned, int64_t> at;
    int64_t rest = k;
    for (unsigned d : llvm::reverse(reduction)) {
      at[d] = rest % ranges[d];
      rest /= ranges[d];
    }
    SmallVector<OpFoldResult> offsets, sizes, strides;
    SmallVector<int64_t> shape;
    for (const WindowDim &w : dims) {
      int64_t offset = 0;
      for (auto [d, c] : w.shifts)
        offset += at[d] * c;
      offsets.push_back(b.getIndexAttr(offset));
      sizes.push_back(b.getIndexAttr(ranges[w.loop]));
      strides.push_back(b.getIndexAttr(w.stride));
      shape.push_back(ranges[w.loop]);
    }
    slices.push_back(tensor::ExtractSliceOp::create(
        b, loc, RankedTensorType::get(shape, sourceType.getElementType()),
        source, offsets, sizes, strides));
  }

  SmallVector<Value> inputs, inits;
  SmallVector<AffineMap> newMaps;
  for (OpOperand *o : kept)
    if (!generic.isDpsInit(o)) {
      inputs.push_back(o->get());
      newMaps.push_back(remap(maps[o->getOperandNumber()]));
    }
  for (Value s : slices) {
    inputs.push_back(s);
    newMaps.push_back(sliceMap);
  }
  OpOperand *init = generic.getDpsInitOperand(0);
  inits.push_back(init->get());
  newMaps.push_back(remap(maps[init->getOperandNumber()]));
  SmallVector<utils::IteratorType> newIterators(parallel.size(),
                                                utils::IteratorType::parallel);
  Block &body = generic.getRegion().front();
  auto replacement = linalg::GenericOp::create(
      b, loc, generic.getResultTypes(), inputs, inits, newMaps, newIterators,
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        IRMapping mapping;
        unsigned next = 0;
        for (OpOperand *o : kept)
          if (!generic.isDpsInit(o))
            mapping.map(generic.getMatchingBlockArgument(o), args[next++]);
        Value acc = args.back();
        for (unsigned k = 0; k < slices.size(); ++k) {
          mapping.map(generic.getMatchingBlockArgument(data), args[next + k]);
          mapping.map(generic.getMatchingBlockArgument(init), acc);
          for (Operation &op : body.without_terminator())
            nb.clone(op, mapping);
          acc = mapping.lookupOrDefault(body.getTerminator()->getOperand(0));
        }
        linalg::YieldOp::create(nb, nloc, acc);
      });
  replacement->setAttrs(generic->getDiscardableAttrDictionary());
  generic->replaceAllUsesWith(replacement->getResults());
  generic->erase();
  return success();
}

struct UnrollWindowsPass
    : mlir::tessera::impl::UnrollWindowsPassBase<UnrollWindowsPass> {
  void runOnOperation() override {
    SmallVector<linalg::GenericOp> generics;
    getOperation().walk([&](linalg::GenericOp g) { generics.push_back(g); });
    for (linalg::GenericOp g : generics)
      (void)unroll(g);
  }
};

} // namespace
