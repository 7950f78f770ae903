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
      for (Operation &op : llvm::make_early_inc_range(func.getBody().front())) {
        auto loop = dyn_cast<scf::ForOp>(op);
        if (!loop || loop.getNumResults() != 0)
          continue;
        unsigned size = 0;
        loop->walk([&](Operation *) { ++size; });
        if (size < minOps)
          continue;
        if (outline(symbols, func, loop, counter, kernels, last))
          ++numOutlined;
      }
    }
  }

  /// Moves `loop` into a new function; false (and no change) when a value
  /// it reads can be neither passed nor recomputed.
  bool outline(SymbolTable &symbols, func::FuncOp func, scf::ForOp loop,
               unsigned &counter, llvm::StringMap<func::FuncOp> &kernels,
               Operation *&last) {
    // What the nest reads from outside, with the recomputed ops' own
    // operands in their place, in an order that defines before use.
    llvm::SetVector<Value> reads;
    getUsedValuesDefinedAbove(loop->getRegions(), reads);
    for (Value v : loop->getOperands())
      reads.insert(v);
    SmallVector<Operation *> recomputed;
    llvm::SetVector<Value> params;
    llvm::DenseSet<Operation *> seen;
    std::function<bool(Value)> visit = [&](Value v) {
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
    auto kernel = func::FuncOp::create(b, loop.getLoc(), name,
                                       b.getFunctionType(types, {}));
    kernel.setPrivate();
    kernel->setAttr("no_inline", b.getUnitAttr());
    kernel->setAttr("llvm.linkage",
                    LLVM::LinkageAttr::get(b.getContext(), LLVM::Linkage::Internal));
    symbols.insert(kernel);
    Block *body = kernel.addEntryBlock();
    IRMapping mapping;
    for (auto [v, arg] : llvm::zip(params, body->getArguments()))
      mapping.map(v, arg);
    OpBuilder inside = OpBuilder::atBlockBegin(body);
    for (Operation *op : recomputed)
      inside.clone(*op, mapping);
    inside.clone(*loop, mapping);
    func::ReturnOp::create(inside, loop.getLoc());

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
    func::CallOp::create(at, loop.getLoc(), kernel, params.getArrayRef());
    loop.erase();
    for (Operation *op : llvm::reverse(recomputed))
      if (op->use_empty())
        op->erase();
    return true;
  }
};
} // namespace
