//===- DistributeLoopsPass.cpp - a launch's linalg op as threads' code ----===//
//
// tessera-cuda-form-kernels put each linalg.generic in a gpu.launch and
// said on it how the op runs (KernelPlan.h); this pass writes the code of
// one thread: a point, a few consecutive points with vector loads and
// stores, or a share of a reduction that the block then combines.
//
//===----------------------------------------------------------------------===//

#include "codegen/CUDA/KernelPlan.h"
#include "codegen/CUDA/Passes.h"

#include "mlir/IR/IRMapping.h"

namespace mlir::tessera {
#define GEN_PASS_DEF_DISTRIBUTELOOPSPASS
#define GEN_PASS_DEF_SINKCONSTANTSPASS
#include "codegen/CUDA/Passes.h.inc"
} // namespace mlir::tessera

using namespace mlir;
namespace tcuda = mlir::tessera::cuda;

namespace {

/// Values of the op's block arguments and loops at one point, from which
/// `emitBody` writes the body once.
struct Point {
  /// Every loop's value (parallel first).
  SmallVector<Value> loops;
  /// The inputs' values; null where the input is loaded at `loops`.
  SmallVector<Value> inputs;
  /// The outputs' current values (null where unused).
  SmallVector<Value> outputs;
};

class Distributor {
public:
  Distributor(gpu::LaunchOp launch, linalg::GenericOp op,
              linalg::GenericOp epilogue)
      : launch(launch), op(op), epilogue(epilogue), loc(launch.getLoc()),
        b(launch.getContext()),
        maps(op.getIndexingMapsArray()), ranges(op.getStaticLoopRanges()) {
    auto iterators = op.getIteratorTypesArray();
    while (numParallel < iterators.size() &&
           iterators[numParallel] == utils::IteratorType::parallel)
      ++numParallel;
  }

  LogicalResult perPoint(int64_t width);
  LogicalResult cooperative();

private:
  Value index(OpBuilder &nb, int64_t v) {
    return arith::ConstantIndexOp::create(nb, loc, v);
  }
  Value index(int64_t v) { return index(b, v); }

  /// The indices `map` gives for the loop values `ivs` (missing trailing
  /// loops, which `map` does not read, count as 0).
  SmallVector<Value> indices(OpBuilder &nb, AffineMap map, ValueRange ivs) {
    SmallVector<Value> all(ivs);
    while (all.size() < map.getNumDims())
      all.push_back(index(nb, 0));
    SmallVector<Value> out;
    for (unsigned r = 0; r < map.getNumResults(); ++r)
      out.push_back(affine::AffineApplyOp::create(nb, loc, map.getSubMap({r}), all));
    return out;
  }

  /// `linear` as values of loops with `extents`, the last fastest.
  SmallVector<Value> delinearize(OpBuilder &nb, Value linear,
                                 ArrayRef<int64_t> extents) {
    SmallVector<Value> ivs(extents.size());
    Value rest = linear;
    for (int64_t d = static_cast<int64_t>(extents.size()) - 1; d >= 0; --d) {
      ivs[d] = d == 0 ? rest
                      : arith::RemUIOp::create(nb, loc, rest, index(nb, extents[d]));
      if (d > 0)
        rest = arith::DivUIOp::create(nb, loc, rest, index(nb, extents[d]));
    }
    return ivs;
  }

  /// Output `init`'s value at `at`: the constant it was filled with
  /// (tessera.init_values), or loaded.
  Value initialValue(OpBuilder &nb, OpOperand &init, ValueRange at) {
    unsigned j = init.getOperandNumber() - op.getNumDpsInputs();
    if (auto values = launch->getAttrOfType<ArrayAttr>(tcuda::kInitValuesAttr))
      if (auto value = dyn_cast<TypedAttr>(values[j]))
        return arith::ConstantOp::create(nb, loc, value);
    return memref::LoadOp::create(nb, loc, init.get(), at);
  }

  /// Where `value` is stored into the reduction's output at `at`: the
  /// epilogue at the same element of its destination (the same linear
  /// index: the epilogue reads the output through reshapes only).
  void emitEpilogue(OpBuilder &nb, Value value, ValueRange at) {
    if (!epilogue)
      return;
    auto outType = cast<MemRefType>(op.getDpsInits()[0].getType());
    Value linear = index(nb, 0);
    for (auto [d, i] : llvm::enumerate(at))
      linear = arith::AddIOp::create(
          nb, loc, arith::MulIOp::create(nb, loc, linear, index(nb, outType.getDimSize(d))),
          i);
    Value dest = epilogue.getDpsInits()[0];
    SmallVector<Value> destAt =
        delinearize(nb, linear, cast<MemRefType>(dest.getType()).getShape());
    IRMapping map;
    Block *body = epilogue.getBlock();
    for (OpOperand *in : epilogue.getDpsInputOperands())
      map.map(epilogue.getMatchingBlockArgument(in),
              isa<MemRefType>(in->get().getType()) ? value : in->get());
    for (Operation &inner : body->without_terminator()) {
      if (auto idx = dyn_cast<linalg::IndexOp>(inner)) {
        map.map(idx.getResult(), destAt[idx.getDim()]);
        continue;
      }
      nb.clone(inner, map);
    }
    Value result = map.lookupOrDefault(body->getTerminator()->getOperand(0));
    memref::StoreOp::create(nb, loc, result, dest, destAt);
  }

  /// The op's body at `point`; returns the yielded values.
  SmallVector<Value> emitBody(OpBuilder &nb, const Point &point);

  /// A thread per point, reduction loops sequential (width 1).
  LogicalResult perPointWithLoops(Value linear);

  gpu::LaunchOp launch;
  linalg::GenericOp op;
  /// The reduction's epilogue (tessera.epilogue), or null.
  linalg::GenericOp epilogue;
  Location loc;
  OpBuilder b;
  SmallVector<AffineMap> maps;
  SmallVector<int64_t> ranges;
  unsigned numParallel = 0;
};

SmallVector<Value> Distributor::emitBody(OpBuilder &nb, const Point &point) {
  IRMapping map;
  Block *block = op.getBlock();
  unsigned numInputs = op.getNumDpsInputs();
  for (unsigned i = 0; i < numInputs; ++i) {
    Value v = point.inputs.empty() ? Value() : point.inputs[i];
    if (!v) {
      Value in = op.getDpsInputOperand(i)->get();
      v = isa<MemRefType>(in.getType())
              ? memref::LoadOp::create(nb, loc, in, indices(nb, maps[i], point.loops))
                    .getResult()
              : in;
    }
    map.map(block->getArgument(i), v);
  }
  for (auto [j, v] : llvm::enumerate(point.outputs))
    if (v)
      map.map(block->getArgument(numInputs + j), v);
  for (Operation &inner : block->without_terminator()) {
    if (auto idx = dyn_cast<linalg::IndexOp>(inner)) {
      map.map(idx.getResult(), point.loops[idx.getDim()]);
      continue;
    }
    nb.clone(inner, map);
  }
  SmallVector<Value> results;
  for (Value y : block->getTerminator()->getOperands())
    results.push_back(map.lookupOrDefault(y));
  return results;
}

LogicalResult Distributor::perPointWithLoops(Value linear) {
  unsigned numLoops = ranges.size();
  SmallVector<Value> ivs =
      delinearize(b, linear, ArrayRef(ranges).take_front(numParallel));
  SmallVector<SmallVector<Value>> outIndices;
  SmallVector<Value> accs;
  for (OpOperand &init : op.getDpsInitsMutable()) {
    // Output maps read only parallel loops (the thread's point).
    outIndices.push_back(indices(b, maps[init.getOperandNumber()], ivs));
    accs.push_back(initialValue(b, init, outIndices.back()));
  }
  // Reduction loops, innermost last, carrying the outputs' values.
  std::function<SmallVector<Value>(OpBuilder &, unsigned, SmallVector<Value>,
                                   ValueRange)>
      loopNest = [&](OpBuilder &nb, unsigned d, SmallVector<Value> all,
                     ValueRange current) -> SmallVector<Value> {
    if (d == numLoops)
      return emitBody(nb, Point{all, {}, SmallVector<Value>(current)});
    auto loop = scf::ForOp::create(
        nb, loc, index(nb, 0), index(nb, ranges[d]), index(nb, 1), current,
        [&](OpBuilder &lb, Location, Value iv, ValueRange carried) {
          SmallVector<Value> inner(all);
          inner.push_back(iv);
          scf::YieldOp::create(lb, loc, loopNest(lb, d + 1, inner, carried));
        });
    return SmallVector<Value>(loop.getResults());
  };
  SmallVector<Value> results = loopNest(b, numParallel, ivs, accs);
  for (auto [j, init] : llvm::enumerate(op.getDpsInits()))
    memref::StoreOp::create(b, loc, results[j], init, outIndices[j]);
  if (!results.empty())
    emitEpilogue(b, results[0], outIndices[0]);
  return success();
}

LogicalResult Distributor::perPoint(int64_t width) {
  Block &body = launch.getBody().front();
  b.setInsertionPointToStart(&body);
  Value linear = arith::AddIOp::create(
      b, loc, arith::MulIOp::create(b, loc, launch.getBlockIds().x, launch.getBlockSize().x),
      launch.getThreadIds().x);
  int64_t points = 1;
  for (unsigned d = 0; d < numParallel; ++d)
    points *= ranges[d];
  bool hasReduction = numParallel < ranges.size();
  if (width > 1 && (hasReduction || numParallel == 0 ||
                    ranges[numParallel - 1] % width != 0))
    return launch.emitError("a vector width that does not divide the last "
                            "parallel loop of a kernel without reductions");
  b.setInsertionPoint(op);
  Value inRange = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, linear,
                                        index(points / width));
  auto guard = scf::IfOp::create(b, loc, inRange, /*withElseRegion=*/false);
  b.setInsertionPoint(guard.thenBlock()->getTerminator());
  if (width == 1)
    return perPointWithLoops(linear);

  // `width` consecutive points of the last loop: lane l is ivs + l there.
  unsigned last = numParallel - 1;
  SmallVector<int64_t> extents(ArrayRef(ranges).take_front(numParallel));
  extents[last] /= width;
  SmallVector<Value> ivs = delinearize(b, linear, extents);
  ivs[last] = arith::MulIOp::create(b, loc, ivs[last], index(width));
  SmallVector<Point> lanes(width);
  for (int64_t l = 0; l < width; ++l) {
    lanes[l].loops = ivs;
    if (l > 0)
      lanes[l].loops[last] = arith::AddIOp::create(b, loc, ivs[last], index(l));
  }
  // Loads an operand's values for every lane, as vector loads where the
  // operand is contiguous along the last loop.
  auto loadLanes = [&](OpOperand &operand) -> SmallVector<Value> {
    Value source = operand.get();
    AffineMap map = maps[operand.getOperandNumber()];
    if (!isa<MemRefType>(source.getType()))
      return SmallVector<Value>(width, source);
    if (!map.isFunctionOfDim(last))
      return SmallVector<Value>(
          width, memref::LoadOp::create(b, loc, source, indices(b, map, ivs)));
    SmallVector<Value> values;
    if (tcuda::isContiguousInLastLoop(op, operand, numParallel, width)) {
      Type element = getElementTypeOrSelf(source.getType());
      auto type = VectorType::get({width}, element);
      Value vec = vector::LoadOp::create(
          b, loc, type, source, indices(b, map, ivs), /*nontemporal=*/false,
          llvm::MaybeAlign(width * element.getIntOrFloatBitWidth() / 8));
      for (int64_t l = 0; l < width; ++l)
        values.push_back(vector::ExtractOp::create(b, loc, vec, l));
      return values;
    }
    for (int64_t l = 0; l < width; ++l)
      values.push_back(memref::LoadOp::create(b, loc, source,
                                              indices(b, map, lanes[l].loops)));
    return values;
  };
  for (OpOperand *in : op.getDpsInputOperands()) {
    SmallVector<Value> values = loadLanes(*in);
    for (int64_t l = 0; l < width; ++l)
      lanes[l].inputs.push_back(values[l]);
  }
  for (OpOperand &init : op.getDpsInitsMutable()) {
    bool used = !op.getMatchingBlockArgument(&init).use_empty();
    SmallVector<Value> values =
        used ? loadLanes(init) : SmallVector<Value>(width, Value());
    for (int64_t l = 0; l < width; ++l)
      lanes[l].outputs.push_back(values[l]);
  }
  SmallVector<SmallVector<Value>> results;
  for (const Point &lane : lanes)
    results.push_back(emitBody(b, lane));
  for (OpOperand &init : op.getDpsInitsMutable()) {
    unsigned j = init.getOperandNumber() - op.getNumDpsInputs();
    AffineMap map = maps[init.getOperandNumber()];
    if (tcuda::isContiguousInLastLoop(op, init, numParallel, width)) {
      SmallVector<Value> elements;
      for (int64_t l = 0; l < width; ++l)
        elements.push_back(results[l][j]);
      Type element = getElementTypeOrSelf(init.get().getType());
      Value vec = vector::FromElementsOp::create(
          b, loc, VectorType::get({width}, element), elements);
      vector::StoreOp::create(b, loc, vec, init.get(), indices(b, map, ivs),
                              /*nontemporal=*/false,
                              llvm::MaybeAlign(width * element.getIntOrFloatBitWidth() / 8));
      continue;
    }
    for (int64_t l = 0; l < width; ++l)
      memref::StoreOp::create(b, loc, results[l][j], init.get(),
                              indices(b, map, lanes[l].loops));
  }
  return success();
}

/// `v` in the type a block's all-reduce combines (32-bit for narrower
/// types: shuffles move 32-bit words), or back.
Value widen(OpBuilder &b, Location loc, Value v, gpu::AllReduceOperation kind) {
  Type type = v.getType();
  if (type.getIntOrFloatBitWidth() >= 32)
    return v;
  if (isa<FloatType>(type))
    return arith::ExtFOp::create(b, loc, b.getF32Type(), v);
  bool isSigned = kind == gpu::AllReduceOperation::MAXSI ||
                  kind == gpu::AllReduceOperation::MINSI;
  if (isSigned)
    return arith::ExtSIOp::create(b, loc, b.getI32Type(), v);
  return arith::ExtUIOp::create(b, loc, b.getI32Type(), v);
}

Value narrow(OpBuilder &b, Location loc, Value v, Type type) {
  if (v.getType() == type)
    return v;
  if (isa<FloatType>(type))
    return arith::TruncFOp::create(b, loc, type, v);
  return arith::TruncIOp::create(b, loc, type, v);
}

LogicalResult Distributor::cooperative() {
  FailureOr<SmallVector<Operation *>> combiners = tcuda::reductionCombiners(op);
  if (failed(combiners))
    return launch.emitError("a cooperative kernel whose outputs are not each "
                            "combined with one associative op");
  b.setInsertionPoint(op);
  // The block's output point; its threads stride over the reduction.
  SmallVector<Value> ivs = delinearize(b, launch.getBlockIds().x,
                                       ArrayRef(ranges).take_front(numParallel));
  Value thread = launch.getThreadIds().x;
  SmallVector<Value> neutral;
  for (Operation *combiner : *combiners)
    neutral.push_back(arith::ConstantOp::create(
        b, loc, *arith::getNeutralElement(combiner)));
  int64_t reductionPoints = 1;
  for (int64_t range : ArrayRef(ranges).drop_front(numParallel))
    reductionPoints *= range;
  auto loop = scf::ForOp::create(
      b, loc, thread, index(reductionPoints), launch.getBlockSize().x, neutral,
      [&](OpBuilder &lb, Location, Value k, ValueRange partial) {
        SmallVector<Value> all(ivs);
        llvm::append_range(all, delinearize(lb, k, ArrayRef(ranges).drop_front(numParallel)));
        scf::YieldOp::create(lb, loc,
                             emitBody(lb, Point{all, {}, SmallVector<Value>(partial)}));
      });
  SmallVector<Value> totals;
  for (auto [j, combiner] : llvm::enumerate(*combiners)) {
    gpu::AllReduceOperation kind = *tcuda::allReduceOperation(combiner);
    Value partial = loop.getResult(j);
    Value total = gpu::AllReduceOp::create(
        b, loc, widen(b, loc, partial, kind),
        gpu::AllReduceOperationAttr::get(b.getContext(), kind), /*uniform=*/true);
    totals.push_back(narrow(b, loc, total, partial.getType()));
  }
  // Thread 0 folds the total into the output's value.
  Value first = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, thread,
                                      index(0));
  auto guard = scf::IfOp::create(b, loc, first, /*withElseRegion=*/false);
  b.setInsertionPoint(guard.thenBlock()->getTerminator());
  for (auto [j, combiner] : llvm::enumerate(*combiners)) {
    OpOperand *init = op.getDpsInitOperand(j);
    SmallVector<Value> at = indices(b, maps[init->getOperandNumber()], ivs);
    Value old = initialValue(b, *init, at);
    BlockArgument out = op.getMatchingBlockArgument(init);
    IRMapping map;
    for (Value operand : combiner->getOperands())
      map.map(operand, operand == out ? old : totals[j]);
    Value combined = b.clone(*combiner, map)->getResult(0);
    memref::StoreOp::create(b, loc, combined, init->get(), at);
    emitEpilogue(b, combined, at);
  }
  return success();
}

struct DistributeLoopsPass
    : mlir::tessera::impl::DistributeLoopsPassBase<DistributeLoopsPass> {
  void runOnOperation() override {
    SmallVector<gpu::LaunchOp> launches;
    getOperation().walk([&](gpu::LaunchOp l) { launches.push_back(l); });
    for (gpu::LaunchOp launch : launches)
      if (failed(distribute(launch)))
        return signalPassFailure();
  }

  LogicalResult distribute(gpu::LaunchOp launch) {
    Block &body = launch.getBody().front();
    SmallVector<linalg::GenericOp> generics;
    for (Operation &op : body)
      if (auto g = dyn_cast<linalg::GenericOp>(op))
        generics.push_back(g);
    if (generics.empty()) {
      // Sequential code (tessera-cuda-form-kernels): thread 0 runs it.
      Location loc = launch.getLoc();
      OpBuilder b = OpBuilder::atBlockBegin(&body);
      Value linear = arith::AddIOp::create(
          b, loc,
          arith::MulIOp::create(b, loc, launch.getBlockIds().x, launch.getBlockSize().x),
          launch.getThreadIds().x);
      Value first = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, linear,
                                          arith::ConstantIndexOp::create(b, loc, 0));
      auto guard = scf::IfOp::create(b, loc, first, /*withElseRegion=*/false);
      while (guard->getNextNode() != body.getTerminator())
        guard->getNextNode()->moveBefore(guard.thenBlock()->getTerminator());
      return success();
    }
    bool hasEpilogue = launch->hasAttr(tcuda::kEpilogueAttr);
    if (generics.size() != (hasEpilogue ? 2u : 1u))
      return launch.emitError(hasEpilogue ? "an epilogue kernel of other than a "
                                            "reduction and one elementwise op"
                                          : "a kernel of more than one linalg op");
    linalg::GenericOp op = generics.front();
    linalg::GenericOp epilogue = hasEpilogue ? generics.back() : nullptr;
    if (epilogue && (op.getNumReductionLoops() == 0 || op.getNumDpsInits() != 1 ||
                     epilogue.getNumDpsInits() != 1))
      return launch.emitError("an epilogue kernel of other than a "
                              "reduction and one elementwise op");
    Distributor distributor(launch, op, epilogue);
    LogicalResult result = success();
    if (launch->hasAttr(tcuda::kCooperativeAttr)) {
      result = distributor.cooperative();
    } else {
      int64_t width = 1;
      if (auto attr = launch->getAttrOfType<IntegerAttr>(tcuda::kVectorWidthAttr))
        width = attr.getInt();
      if (width < 1)
        return launch.emitError("a vector width below 1");
      result = distributor.perPoint(width);
    }
    if (failed(result))
      return failure();
    launch->removeAttr(tcuda::kCooperativeAttr);
    launch->removeAttr(tcuda::kVectorWidthAttr);
    launch->removeAttr(tcuda::kInitValuesAttr);
    launch->removeAttr(tcuda::kEpilogueAttr);
    op.erase();
    if (epilogue)
      epilogue.erase();
    return success();
  }
};

struct SinkConstantsPass
    : mlir::tessera::impl::SinkConstantsPassBase<SinkConstantsPass> {
  void runOnOperation() override {
    getOperation().walk([](gpu::LaunchOp launch) {
      OpBuilder b = OpBuilder::atBlockBegin(&launch.getBody().front());
      DenseMap<Operation *, Value> copies;
      launch.getBody().walk([&](Operation *op) {
        for (OpOperand &use : op->getOpOperands()) {
          Operation *def = use.get().getDefiningOp();
          if (!def || !isa<arith::ConstantOp>(def) || launch->isAncestor(def))
            continue;
          Value &copy = copies[def];
          if (!copy)
            copy = b.clone(*def)->getResult(0);
          use.set(copy);
        }
      });
    });
  }
};
} // namespace
