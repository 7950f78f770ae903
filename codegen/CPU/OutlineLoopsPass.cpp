//===- OutlineLoopsPass.cpp - One function per loop nest ------------------===//
//
// tessera-cpu-outline-loops: see Passes.td.
//
//===----------------------------------------------------------------------===//

#include "codegen/CPU/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Interfaces/CallInterfaces.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Transforms/RegionUtils.h"

#define DEBUG_TYPE "tessera-cpu-outline-loops"

namespace mlir::tessera {
#define GEN_PASS_DEF_OUTLINELOOPSPASS
#include "codegen/CPU/Passes.h.inc"
} // namespace mlir::tessera

using namespace mlir;

namespace {
/// Ops recomputed inside the outlined function instead of passed in: pure
/// constants, and views (whose strided layouts the bare-pointer calling
/// convention cannot pass).
bool isRecomputed(Operation *op) {
  return op && op->getNumRegions() == 0 &&
         (isa<arith::ConstantOp>(op) ||
          isa<memref::SubViewOp, memref::ExpandShapeOp, memref::CollapseShapeOp,
              memref::CastOp, memref::ReinterpretCastOp>(op));
}

/// Whether `v` can be a parameter: a scalar, or a memref with a static
/// shape and the identity layout.
bool isPassable(Value v) {
  if (v.getType().isIntOrIndexOrFloat())
    return true;
  auto m = dyn_cast<MemRefType>(v.getType());
  return m && m.hasStaticShape() && m.getLayout().isIdentity();
}

struct OutlineLoopsPass
    : mlir::tessera::impl::OutlineLoopsPassBase<OutlineLoopsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    SmallVector<func::FuncOp> funcs(module.getOps<func::FuncOp>());
    for (func::FuncOp func : funcs) {
      if (func.isExternal() || !func.getBody().hasOneBlock())
        continue;
      unsigned counter = 0;
      llvm::StringMap<func::FuncOp> kernels;
      Operation *last = func;
      outlineIn(func.getBody().front(), symbols, func, counter, kernels, last);
    }
  }

  /// Outlines the loop nests of `block` (a function's body, or the body of
  /// tessera-cpu-serialize-batch's batch loop, whose nests are a layer's
  /// each).
  void outlineIn(Block &block, SymbolTable &symbols, func::FuncOp func,
                 unsigned &counter, llvm::StringMap<func::FuncOp> &kernels,
                 Operation *&last) {
    for (Operation &op : llvm::make_early_inc_range(block)) {
      if (auto batch = dyn_cast<scf::ForOp>(op);
          batch && batch->hasAttr(tessera::kBatchSerialAttr)) {
        outlineIn(*batch.getBody(), symbols, func, counter, kernels, last);
        continue;
      }
      if (!isa<scf::ForOp, scf::ParallelOp>(op) || op.getNumResults() != 0)
        continue;
      // Operations as scf.for nests count them: a loop and its yield per
      // dimension of an scf.parallel.
      unsigned size = 0;
      op.walk([&](Operation *nested) {
        if (auto par = dyn_cast<scf::ParallelOp>(nested))
          size += 2 * par.getNumLoops() - 1;
        else
          ++size;
      });
      if (size < minOps)
        continue;
      if (auto par = dyn_cast<scf::ParallelOp>(op); par && parallel) {
        std::optional<int64_t> work = dynamicOps(par);
        if (work && *work >= minParallelWork && callsOnlyPureFunctions(par)) {
          if (std::optional<ChunkedLoop> chunked = chunk(par)) {
            // Where it cannot be outlined, the chunked loop stays and
            // runs serially.
            if (outline(symbols, func, chunked->loop, counter, kernels, last,
                        {chunked->begin, chunked->end})) {
              ++numOutlined;
              ++numParallel;
            }
            continue;
          }
        }
      }
      if (outline(symbols, func, &op, counter, kernels, last, {}))
        ++numOutlined;
    }
  }

  /// Operations the nest executes, each weighted by the static trip counts
  /// of the loops around it; none when a trip count is not static.
  static std::optional<int64_t> dynamicOps(Operation *nest) {
    auto saturatingMul = [](int64_t a, int64_t b) {
      return (a > 0 && b > (int64_t(1) << 40) / a) ? (int64_t(1) << 40)
                                                    : a * b;
    };
    auto trips = [](ValueRange lbs, ValueRange ubs,
                    ValueRange steps) -> std::optional<int64_t> {
      int64_t n = 1;
      for (auto [lb, ub, step] : llvm::zip(lbs, ubs, steps)) {
        std::optional<int64_t> l = getConstantIntValue(lb);
        std::optional<int64_t> u = getConstantIntValue(ub);
        std::optional<int64_t> s = getConstantIntValue(step);
        if (!l || !u || !s || *s <= 0)
          return std::nullopt;
        n *= std::max<int64_t>(0, (*u - *l + *s - 1) / *s);
      }
      return n;
    };
    std::function<std::optional<int64_t>(Operation *)> count =
        [&](Operation *op) -> std::optional<int64_t> {
      int64_t inner = 0;
      for (Region &region : op->getRegions())
        for (Operation &child : region.getOps()) {
          std::optional<int64_t> c = count(&child);
          if (!c)
            return std::nullopt;
          inner += *c;
        }
      std::optional<int64_t> n = 1;
      if (auto loop = dyn_cast<scf::ForOp>(op))
        n = trips(loop.getLowerBound(), loop.getUpperBound(), loop.getStep());
      else if (auto loop = dyn_cast<scf::ParallelOp>(op))
        n = trips(loop.getLowerBound(), loop.getUpperBound(), loop.getStep());
      if (!n)
        return std::nullopt;
      return 1 + saturatingMul(*n, inner);
    };
    return count(nest);
  }

  /// Whether the nest calls only functions that threads may run at once:
  /// the math microkernels. GEMM and collective microkernels, and calls
  /// the pass does not know, keep a nest serial.
  static bool callsOnlyPureFunctions(Operation *nest) {
    return !nest
                ->walk([](CallOpInterface call) {
                  auto callee = dyn_cast_if_present<SymbolRefAttr>(
                      call.getCallableForCallee());
                  StringRef name =
                      callee ? callee.getLeafReference().getValue() : "";
                  return name == "tessera_uk_expf" || name == "tessera_uk_erff"
                             ? WalkResult::advance()
                             : WalkResult::interrupt();
                })
                .wasInterrupted();
  }

  struct ChunkedLoop {
    scf::ForOp loop;
    Value begin, end;
  };

  /// Rewrites `par` (static bounds from 0, unit steps) as one `scf.for`
  /// over its outer iterations, linearized: all dimensions but the last,
  /// which stays an inner loop so the innermost body stays contiguous for
  /// LLVM's vectorizer (a one-dimensional nest is chunked itself). The
  /// loop's bounds are the new constants `begin` and `end`, which become
  /// the outlined function's first parameters: the runtime calls it with
  /// a sub-range per thread.
  static std::optional<ChunkedLoop> chunk(scf::ParallelOp par) {
    SmallVector<int64_t> trips;
    for (auto [lb, ub, step] : llvm::zip(par.getLowerBound(),
                                         par.getUpperBound(), par.getStep())) {
      std::optional<int64_t> u = getConstantIntValue(ub);
      if (!isConstantIntValue(lb, 0) || !isConstantIntValue(step, 1) || !u ||
          *u <= 0)
        return std::nullopt;
      trips.push_back(*u);
    }
    unsigned rank = trips.size();
    unsigned outer = rank >= 2 ? rank - 1 : 1;
    int64_t n = 1;
    for (unsigned d = 0; d < outer; ++d)
      n *= trips[d];
    if (n < 2)
      return std::nullopt;

    Location loc = par.getLoc();
    OpBuilder b(par);
    Value begin = arith::ConstantIndexOp::create(b, loc, 0);
    Value end = arith::ConstantIndexOp::create(b, loc, n);
    Value one = arith::ConstantIndexOp::create(b, loc, 1);
    auto loop = scf::ForOp::create(b, loc, begin, end, one);
    OpBuilder in(loop.getBody()->getTerminator());
    IRMapping mapping;
    SmallVector<Value> ivs(par.getInductionVars());
    Value rest = loop.getInductionVar();
    for (unsigned d = outer; d-- > 1;) {
      Value size = arith::ConstantIndexOp::create(in, loc, trips[d]);
      mapping.map(ivs[d], arith::RemUIOp::create(in, loc, rest, size));
      rest = arith::DivUIOp::create(in, loc, rest, size);
    }
    mapping.map(ivs[0], rest);
    if (rank >= 2) {
      Value zero = arith::ConstantIndexOp::create(in, loc, 0);
      Value size = arith::ConstantIndexOp::create(in, loc, trips[rank - 1]);
      auto inner = scf::ForOp::create(in, loc, zero, size, one);
      mapping.map(ivs[rank - 1], inner.getInductionVar());
      in.setInsertionPoint(inner.getBody()->getTerminator());
    }
    for (Operation &op : par.getBody()->without_terminator())
      in.clone(op, mapping);
    par.erase();
    return ChunkedLoop{loop, begin, end};
  }

  /// Moves `loop` into a new function; false (and no change) when a value
  /// it reads can be neither passed nor recomputed.
  /// `leading` values become its first parameters whatever they are (a
  /// chunked parallel loop's bounds), and mark the function
  /// `tessera.parallel`.
  bool outline(SymbolTable &symbols, func::FuncOp func, Operation *loop,
               unsigned &counter, llvm::StringMap<func::FuncOp> &kernels,
               Operation *&last, ArrayRef<Value> leading) {
    // What the nest reads from outside, with the recomputed ops' own
    // operands in their place, in an order that defines before use.
    llvm::SetVector<Value> reads;
    getUsedValuesDefinedAbove(loop->getRegions(), reads);
    for (Value v : loop->getOperands())
      reads.insert(v);
    SmallVector<Operation *> recomputed;
    llvm::SetVector<Value> params;
    params.insert(leading.begin(), leading.end());
    llvm::DenseSet<Operation *> seen;
    std::function<bool(Value)> visit = [&](Value v) {
      if (params.contains(v))
        return true;
      Operation *def = v.getDefiningOp();
      if (isRecomputed(def)) {
        if (!seen.insert(def).second)
          return true;
        for (Value operand : def->getOperands())
          if (!visit(operand))
            return false;
        recomputed.push_back(def);
        return true;
      }
      if (!isPassable(v))
        return false;
      params.insert(v);
      return true;
    };
    for (Value v : reads)
      if (!visit(v))
        return false;

    OpBuilder b(func.getContext());
    b.setInsertionPointAfter(last);
    SmallVector<Type> types;
    for (Value v : params)
      types.push_back(v.getType());
    std::string name;
    do {
      name = (func.getSymName() + "_loop" + Twine(counter++)).str();
    } while (symbols.lookup(name));
    auto kernel = func::FuncOp::create(b, loop->getLoc(), name,
                                       b.getFunctionType(types, {}));
    kernel.setPrivate();
    kernel->setAttr("no_inline", b.getUnitAttr());
    kernel->setAttr("llvm.linkage",
                    LLVM::LinkageAttr::get(b.getContext(), LLVM::Linkage::Internal));
    if (!leading.empty())
      kernel->setAttr("tessera.parallel", b.getUnitAttr());
    symbols.insert(kernel);
    Block *body = kernel.addEntryBlock();
    IRMapping mapping;
    for (auto [v, arg] : llvm::zip(params, body->getArguments()))
      mapping.map(v, arg);
    OpBuilder inside = OpBuilder::atBlockBegin(body);
    for (Operation *op : recomputed)
      inside.clone(*op, mapping);
    inside.clone(*loop, mapping);
    func::ReturnOp::create(inside, loop->getLoc());

    // The layers of a model repeat their loop nests exactly: one function
    // serves them all (its text, under a fixed name, is the key).
    std::string key;
    {
      llvm::raw_string_ostream os(key);
      kernel.setSymName("kernel");
      kernel.print(os, OpPrintingFlags().printGenericOpForm().useLocalScope());
      kernel.setSymName(name);
    }
    auto [it, inserted] = kernels.try_emplace(key, kernel);
    if (!inserted) {
      symbols.erase(kernel);
      kernel = it->second;
      ++numShared;
    } else {
      last = kernel;
    }

    OpBuilder at(loop);
    func::CallOp::create(at, loop->getLoc(), kernel, params.getArrayRef());
    loop->erase();
    for (Operation *op : llvm::reverse(recomputed))
      if (op->use_empty())
        op->erase();
    return true;
  }
};
} // namespace
