//===- LowerLaunchesPass.cpp - Kernels into one module; launches to calls -===//

#include "codegen/CUDA/Passes.h"
#include "codegen/Common/RuntimeCalls.h"

#include "mlir/IR/SymbolTable.h"

namespace mlir::tessera {
#define GEN_PASS_DEF_MERGEKERNELMODULESPASS
#define GEN_PASS_DEF_LOWERLAUNCHESPASS
#include "codegen/CUDA/Passes.h.inc"
} // namespace mlir::tessera

using namespace mlir;

namespace {
constexpr llvm::StringLiteral kKernelModule = "tessera_kernels";
constexpr llvm::StringLiteral kLaunch = "tessera_rt_launch";

struct MergeKernelModulesPass
    : mlir::tessera::impl::MergeKernelModulesPassBase<MergeKernelModulesPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<gpu::GPUModuleOp> modules(module.getOps<gpu::GPUModuleOp>());
    if (modules.empty())
      return;
    // Outlining names every kernel after its function, each in a module
    // of a unique name: the kernel takes its module's name.
    MLIRContext *ctx = &getContext();
    for (gpu::GPUModuleOp m : modules)
      for (gpu::GPUFuncOp f : m.getOps<gpu::GPUFuncOp>())
        if (f.isKernel())
          SymbolTable::setSymbolName(f, m.getSymName());
    module.walk([&](gpu::LaunchFuncOp launch) {
      launch.setKernelAttr(SymbolRefAttr::get(
          StringAttr::get(ctx, kKernelModule),
          {FlatSymbolRefAttr::get(launch.getKernelModuleName())}));
    });
    gpu::GPUModuleOp first = modules.front();
    first.setSymName(kKernelModule);
    for (gpu::GPUModuleOp other : llvm::drop_begin(modules)) {
      Block &from = other.getBodyRegion().front();
      Block &to = first.getBodyRegion().front();
      to.getOperations().splice(to.end(), from.getOperations());
      other.erase();
    }
  }
};

struct LowerLaunchesPass
    : mlir::tessera::impl::LowerLaunchesPassBase<LowerLaunchesPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    SmallVector<gpu::BinaryOp> binaries(module.getOps<gpu::BinaryOp>());
    if (binaries.size() > 1) {
      module.emitError("more than one GPU binary (merge the kernel modules)");
      return signalPassFailure();
    }
    if (!binaries.empty()) {
      auto objects = binaries.front().getObjects();
      auto object = objects.empty() ? gpu::ObjectAttr()
                                    : dyn_cast<gpu::ObjectAttr>(objects[0]);
      if (!object || object.getFormat() != gpu::CompilationTarget::Assembly) {
        binaries.front().emitError("expected the kernels as PTX (format=isa)");
        return signalPassFailure();
      }
      module->setAttr("tessera.ptx", object.getObject());
    }

    SmallVector<gpu::LaunchFuncOp> launches;
    module.walk([&](gpu::LaunchFuncOp l) { launches.push_back(l); });
    llvm::StringMap<int64_t> kernelIndex;
    SmallVector<Attribute> kernelNames;
    Type indexType = IndexType::get(ctx);
    func::FuncOp callee = mlir::tessera::lookupOrDeclareFunc(
        module, kLaunch, SmallVector<Type>(10, indexType), {});
    for (gpu::LaunchFuncOp launch : launches) {
      if (launch.getAsyncToken() || !launch.getAsyncDependencies().empty() ||
          launch.hasClusterSize()) {
        launch.emitError("an asynchronous or clustered launch");
        return signalPassFailure();
      }
      StringRef name = launch.getKernelName().getValue();
      auto [it, inserted] = kernelIndex.try_emplace(name, kernelNames.size());
      if (inserted)
        kernelNames.push_back(StringAttr::get(ctx, name));
      OpBuilder b(launch);
      Location loc = launch.getLoc();
      Type i64 = b.getI64Type();
      SmallVector<Value> params;
      auto asI64 = [&](Value v) -> Value {
        Type t = v.getType();
        if (t.isIndex())
          return arith::IndexCastOp::create(b, loc, i64, v);
        if (auto f = dyn_cast<FloatType>(t))
          v = arith::BitcastOp::create(b, loc, b.getIntegerType(f.getWidth()), v);
        if (v.getType().getIntOrFloatBitWidth() < 64)
          return arith::ExtUIOp::create(b, loc, i64, v);
        return v;
      };
      for (Value operand : launch.getKernelOperands()) {
        if (auto type = dyn_cast<MemRefType>(operand.getType())) {
          auto meta = memref::ExtractStridedMetadataOp::create(b, loc, operand);
          Value base = memref::ExtractAlignedPointerAsIndexOp::create(
              b, loc, meta.getBaseBuffer());
          params.push_back(asI64(base)); // allocated
          params.push_back(asI64(base)); // aligned
          params.push_back(asI64(meta.getOffset()));
          for (Value v : meta.getSizes())
            params.push_back(asI64(v));
          for (Value v : meta.getStrides())
            params.push_back(asI64(v));
        } else if (operand.getType().isIndex() ||
                   (operand.getType().isIntOrFloat() &&
                    operand.getType().getIntOrFloatBitWidth() <= 64)) {
          params.push_back(asI64(operand));
        } else {
          launch.emitError("a kernel operand of type ") << operand.getType();
          return signalPassFailure();
        }
      }
      auto slotsType = MemRefType::get({std::max<int64_t>(params.size(), 1)}, i64);
      Value slots = memref::AllocaOp::create(b, loc, slotsType);
      for (auto [i, p] : llvm::enumerate(params))
        memref::StoreOp::create(
            b, loc, p, slots,
            ValueRange{arith::ConstantIndexOp::create(b, loc, i).getResult()});
      auto index = [&](int64_t v) -> Value {
        return arith::ConstantIndexOp::create(b, loc, v);
      };
      gpu::KernelDim3 grid = launch.getGridSizeOperandValues();
      gpu::KernelDim3 block = launch.getBlockSizeOperandValues();
      Value shared = launch.getDynamicSharedMemorySize()
                         ? launch.getDynamicSharedMemorySize()
                         : index(0);
      if (shared.getType() != indexType)
        shared = arith::IndexCastOp::create(b, loc, indexType, shared);
      Value address = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, slots);
      func::CallOp::create(b, loc, callee,
                           ValueRange{index(it->second), grid.x, grid.y, grid.z,
                                      block.x, block.y, block.z, shared, address,
                                      index(params.size())});
      launch.erase();
    }
    module->setAttr("tessera.kernels", ArrayAttr::get(ctx, kernelNames));
    for (gpu::BinaryOp binary : binaries)
      binary.erase();
    for (gpu::GPUModuleOp m :
         llvm::make_early_inc_range(module.getOps<gpu::GPUModuleOp>()))
      m.erase();
    module->removeAttr(gpu::GPUDialect::getContainerModuleAttrName());

    // What is left runs on the host, which must not touch device memory.
    WalkResult result = module.walk([&](Operation *op) {
      // Stack arrays (the launches' parameters) are host memory.
      if (isa<memref::AllocOp, memref::GetGlobalOp>(op) ||
          (isa<memref::LoadOp, memref::StoreOp>(op) &&
           !op->getOperand(isa<memref::LoadOp>(op) ? 0 : 1)
                .getDefiningOp<memref::AllocaOp>())) {
        op->emitError("host code would access device memory (")
            << op->getName() << " outside a kernel)";
        return WalkResult::interrupt();
      }
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }
};
} // namespace
