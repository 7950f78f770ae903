//===- tessera-compile.cpp - ONNX model to a Tessera artifact -------------===//
//
//   tessera-compile MODEL.onnx -o OUT.tsr [--target=cpu] [--cpu=native]
//       [--input-shape=NAME:2x128 ...] [--bind-input=NAME=FILE.pb ...]
//       [--compile-to=import|linalg|llvm] [--emit=mlir|llvm]
//       [--load-pass-plugin=LIB.so] [--pass-plugin-pipeline=PHASE:PIPELINE]
//       plus MLIR's flags (--mlir-print-ir-after-all, --mlir-timing, ...)
//
// Phases: `import` (the tessera dialect after canonicalization), `linalg`
// (weights outlined, lowered to linalg on tensors), `llvm` (the LLVM
// dialect with the artifact ABI). Plugin pipelines run at the end of the
// import or linalg phase. Every failure is one line on stderr and
// exit status 1.
//
//===----------------------------------------------------------------------===//

#include "Explain.h"
#include "codegen/CPU/CpuPipeline.h"
#include "codegen/CPU/CpuTarget.h"
#include "codegen/CUDA/CudaPipeline.h"
#include "codegen/CUDA/CudaTarget.h"
#include "codegen/CUDA/Passes.h"
#include "codegen/Collectives/Passes.h"
#include "codegen/Conversion/Passes.h"
#include "passes/Sharding/Passes.h"
#include "sharding.h"
#include "codegen/CPU/Passes.h"
#include "dialects/Tessera/IR/TesseraOps.h"
#include "import/onnx/OnnxImporter.h"

#include "artifact.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Support/Timing.h"
#include "mlir/Tools/Plugins/PassPlugin.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/IR/Constants.h"
#include "llvm/IR/GlobalVariable.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/WithColor.h"

using namespace mlir;
namespace ts = mlir::tessera;
namespace art = ::tessera::artifact;

namespace {
enum class Phase { Import, Linalg, Llvm, Artifact };
enum class Emit { Artifact, Mlir, Llvm, Ptx };

/// tessera-compile's own options: --help lists these. The MLIR and LLVM
/// options registered beside them stay usable (--mlir-print-ir-after-all,
/// --mlir-timing, ...) but are not listed.
llvm::cl::OptionCategory category("tessera-compile options");

llvm::cl::opt<std::string> inputFile(llvm::cl::Positional,
                                     llvm::cl::cat(category), llvm::cl::desc("<model.onnx>"),
                                     llvm::cl::Required);
llvm::cl::opt<std::string> outputFile("o", llvm::cl::cat(category), llvm::cl::desc("Output file"),
                                      llvm::cl::value_desc("file"));
llvm::cl::opt<std::string> target("target", llvm::cl::cat(category), llvm::cl::desc("cpu (default) or cuda"),
                                  llvm::cl::init("cpu"));
llvm::cl::opt<std::string> gpuArch(
    "gpu-arch", llvm::cl::cat(category), llvm::cl::desc("With --target=cuda: the GPU to generate PTX for "
                               "(sm_80, sm_86, sm_89, sm_90, sm_90a)"),
    llvm::cl::init("sm_90"));
llvm::cl::opt<int64_t> gpuVectorWidth(
    "gpu-vector-width",
    llvm::cl::cat(category), llvm::cl::desc("With --target=cuda: elements per thread in elementwise "
                   "kernels, moved as one vector load or store (1, 2, 4, 8 or "
                   "16; default 4)"),
    llvm::cl::init(4));
llvm::cl::opt<bool> gpuCooperativeReductions(
    "gpu-cooperative-reductions",
    llvm::cl::cat(category), llvm::cl::desc("With --target=cuda: a block of threads per output point of "
                   "reductions over 32 or more points (default true)"),
    llvm::cl::init(true));
llvm::cl::opt<bool> emulateCudaKernels(
    "emulate-cuda-kernels",
    llvm::cl::cat(category), llvm::cl::desc("With --target=cpu: form the CUDA target's kernels and run "
                   "them as loops on the CPU (tests the kernels without a GPU)"),
    llvm::cl::Hidden);
llvm::cl::opt<std::string>
    cpu("cpu", llvm::cl::cat(category), llvm::cl::desc("LLVM CPU name to compile host code for, or native "
                              "(default: native for --target=cpu, x86-64-v2 for "
                              "--target=cuda, whose host code runs elsewhere)"),
        llvm::cl::init(""));
llvm::cl::list<std::string>
    inputShapes("input-shape",
                llvm::cl::cat(category), llvm::cl::desc("Fix an input's shape: NAME:2x128 (repeatable)"));
llvm::cl::list<std::string> bindInputs(
    "bind-input",
    llvm::cl::cat(category), llvm::cl::desc("Make an input a constant from an ONNX TensorProto file: "
                   "NAME=FILE.pb (repeatable)"));
llvm::cl::opt<Phase> compileTo(
    "compile-to", llvm::cl::cat(category), llvm::cl::desc("Stop after a phase and write its IR"),
    llvm::cl::values(clEnumValN(Phase::Import, "import", "the tessera dialect"),
                     clEnumValN(Phase::Linalg, "linalg", "linalg on tensors"),
                     clEnumValN(Phase::Llvm, "llvm", "the LLVM dialect")),
    llvm::cl::init(Phase::Artifact));
llvm::cl::opt<Emit> emit(
    "emit", llvm::cl::cat(category), llvm::cl::desc("Write this form instead of an artifact"),
    llvm::cl::values(clEnumValN(Emit::Mlir, "mlir", "MLIR after the last phase"),
                     clEnumValN(Emit::Llvm, "llvm", "optimised LLVM IR"),
                     clEnumValN(Emit::Ptx, "ptx", "the kernels' PTX (--target=cuda)")),
    llvm::cl::init(Emit::Artifact));
llvm::cl::opt<bool> quiet("quiet", llvm::cl::cat(category), llvm::cl::desc("No progress lines"));
llvm::cl::opt<std::string>
    meshSpec("mesh", llvm::cl::cat(category), llvm::cl::desc("Device mesh, named axes: dp=2, tp=4, dp=2,tp=2"),
             llvm::cl::value_desc("AXIS=N,..."));
llvm::cl::opt<std::string> parallel(
    "parallel",
    llvm::cl::cat(category), llvm::cl::desc("Sharding strategies: dp (batch split), tp (tensor "
                   "parallel), dp,tp (default: those named by the mesh axes)"));
llvm::cl::opt<std::string> shardingSpec(
    "sharding-spec", llvm::cl::value_desc("FILE"),
    llvm::cl::cat(category), llvm::cl::desc("Manual sharding annotations by ONNX tensor name (see "
                   "docs/parallelism.md); without --parallel, the only plan"));
llvm::cl::opt<std::string> explainFormat(
    "explain", llvm::cl::ValueOptional, llvm::cl::value_desc("text|json"),
    llvm::cl::cat(category), llvm::cl::desc("Print the sharding plan to stdout: each node's split, every "
                   "collective with its bytes, the memory per device (needs --mesh)"));
llvm::cl::list<std::string>
    passPlugins("load-pass-plugin",
                llvm::cl::cat(category), llvm::cl::desc("Load a pass plugin (a shared library) "
                               "(repeatable)"));
llvm::cl::list<std::string> pluginPipelines(
    "pass-plugin-pipeline",
    llvm::cl::cat(category), llvm::cl::desc("Run a textual pass pipeline after a phase: "
                   "PHASE:PIPELINE, PHASE being import or linalg, e.g. "
                   "import:func.func(my-pass) (repeatable)"));

int fail(const llvm::Twine &msg) {
  llvm::WithColor::error(llvm::errs(), "tessera-compile") << msg << "\n";
  return 1;
}

void progress(int step, int steps, const llvm::Twine &what) {
  if (!quiet)
    llvm::errs() << "tessera-compile: [" << step << "/" << steps << "] " << what
                 << "\n";
}

/// Describes where a diagnostic points: the ONNX node for imported ops.
std::string describe(Location loc) {
  std::string node = ::tessera::explain::nodeOf(loc);
  return node.empty() ? "" : "node '" + node + "': ";
}

art::DType dtypeOf(Type t) {
  if (t.isF32()) return art::DType::F32;
  if (t.isF16()) return art::DType::F16;
  if (t.isBF16()) return art::DType::BF16;
  if (t.isF64()) return art::DType::F64;
  if (t.isUnsignedInteger(64)) return art::DType::U64;
  if (t.isUnsignedInteger(32)) return art::DType::U32;
  if (t.isUnsignedInteger(16)) return art::DType::U16;
  if (t.isUnsignedInteger(8)) return art::DType::U8;
  if (t.isInteger(64)) return art::DType::I64;
  if (t.isInteger(32)) return art::DType::I32;
  if (t.isInteger(16)) return art::DType::I16;
  if (t.isInteger(8)) return art::DType::I8;
  if (t.isInteger(1)) return art::DType::Bool;
  if (isa<Float8E4M3FNType>(t)) return art::DType::F8E4M3FN;
  if (isa<Float8E4M3FNUZType>(t)) return art::DType::F8E4M3FNUZ;
  if (isa<Float8E5M2Type>(t)) return art::DType::F8E5M2;
  if (isa<Float8E5M2FNUZType>(t)) return art::DType::F8E5M2FNUZ;
  if (isa<Float4E2M1FNType>(t)) return art::DType::F4E2M1;
  if (isa<Float8E8M0FNUType>(t)) return art::DType::F8E8M0;
  if (t.isUnsignedInteger(4)) return art::DType::U4;
  if (t.isInteger(4)) return art::DType::I4;
  if (t.isUnsignedInteger(2)) return art::DType::U2;
  if (t.isInteger(2)) return art::DType::I2;
  return art::DType::Invalid;
}

/// See the caller: empty inputs become unused tensor<1xi8> arguments (their
/// uses an empty constant), empty results a tensor<1xi8> zero.
void placeholdEmptyBoundaries(func::FuncOp func) {
  auto isEmpty = [](Type t) { return cast<RankedTensorType>(t).getNumElements() == 0; };
  Block &body = func.getBody().front();
  OpBuilder b(func.getContext());
  auto placeholder = RankedTensorType::get({1}, b.getI8Type());
  b.setInsertionPointToStart(&body);
  for (BlockArgument arg : body.getArguments()) {
    if (!isEmpty(arg.getType()))
      continue;
    auto type = cast<RankedTensorType>(arg.getType());
    Value none = ts::ConstantOp::create(b, arg.getLoc(),
                                        DenseElementsAttr::getFromRawBuffer(type, {}));
    arg.replaceAllUsesWith(none);
    arg.setType(placeholder);
  }
  Operation *ret = body.getTerminator();
  b.setInsertionPoint(ret);
  // Distinct values, so that no two placeholders fold into one returned
  // value (the cuda pipeline's out-parameter promotion crashes on a value
  // returned twice; up to 256 empty outputs stay distinct).
  int64_t k = 0;
  for (OpOperand &o : ret->getOpOperands())
    if (isEmpty(o.get().getType()))
      o.set(ts::ConstantOp::create(
          b, ret->getLoc(),
          DenseElementsAttr::get(placeholder, b.getI8IntegerAttr(static_cast<int8_t>(k++)))));
  func.setFunctionType(FunctionType::get(func.getContext(), body.getArgumentTypes(),
                                         ret->getOperandTypes()));
}

art::TensorSpec specOf(StringRef name, Type type) {
  auto t = cast<RankedTensorType>(type);
  art::TensorSpec s;
  s.name = name.str();
  s.dtype = dtypeOf(t.getElementType());
  s.shape.assign(t.getShape().begin(), t.getShape().end());
  return s;
}

/// "f32 2x16" (the manifest's form).
std::string describeShape(const art::TensorSpec &s) {
  std::string out = art::dtypeName(s.dtype);
  for (size_t i = 0; i < s.shape.size(); ++i)
    out += (i ? "x" : " ") + std::to_string(s.shape[i]);
  return s.shape.empty() ? out + " scalar" : out;
}

std::string nameAttr(DictionaryAttr attrs) {
  if (attrs)
    if (auto s = attrs.getAs<StringAttr>("tessera.name"))
      return s.str();
  return "";
}
} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  // Registered so that --mlir-print-ir-before=PASS and its kin can name
  // any pass of the pipeline.
  registerAllPasses();
  ts::registerTesseraConversionPasses();
  ts::registerTesseraCpuPasses();
  ts::registerTesseraCudaPasses();
  ts::registerTesseraShardingPasses();
  ts::registerTesseraCollectivesPasses();
  registerAsmPrinterCLOptions();
  registerMLIRContextCLOptions();
  registerPassManagerCLOptions();
  registerDefaultTimingManagerCLOptions();
  llvm::cl::HideUnrelatedOptions(category);
  llvm::cl::ParseCommandLineOptions(argc, argv,
                                    "Tessera compiler: ONNX model to artifact\n");

  if (target != "cpu" && target != "cuda")
    return fail("--target=" + target + " is unknown (cpu or cuda)");
  bool cuda = target == "cuda";
  if (cuda && !ts::isSupportedGpuArch(gpuArch))
    return fail("--gpu-arch=" + gpuArch +
                " is not supported (sm_80, sm_86, sm_89, sm_90, sm_90a)");
  if (!cuda && gpuArch.getNumOccurrences())
    return fail("--gpu-arch needs --target=cuda");
  if (cuda && emulateCudaKernels)
    return fail("--emulate-cuda-kernels runs the kernels on the CPU: use it "
                "with --target=cpu");
  if (gpuVectorWidth < 1 || gpuVectorWidth > 16 ||
      !llvm::isPowerOf2_64(gpuVectorWidth))
    return fail("--gpu-vector-width=" + std::to_string(gpuVectorWidth) +
                " is not 1, 2, 4, 8 or 16");
  if (emit == Emit::Ptx && !cuda)
    return fail("--emit=ptx needs --target=cuda");
  if (emit == Emit::Ptx && compileTo != Phase::Artifact)
    return fail("--emit=ptx writes the PTX after all phases; drop --compile-to");
  std::string hostCpu = !cpu.empty() ? cpu.getValue() : cuda ? "x86-64-v2" : "native";
  bool writesIR = compileTo != Phase::Artifact || emit != Emit::Artifact;
  if (emit == Emit::Llvm && compileTo != Phase::Artifact)
    return fail("--emit=llvm writes LLVM IR after all phases; drop --compile-to");
  std::string output = outputFile;
  if (output.empty()) {
    if (writesIR) {
      output = "-";
    } else {
      llvm::SmallString<128> p(inputFile.getValue());
      llvm::sys::path::replace_extension(p, "tsr");
      output = std::string(llvm::sys::path::filename(p));
    }
  }
  if (!writesIR) { // before the work: the artifact replaces what is there
    std::string error;
    if (!art::canWriteAt(output, error))
      return fail(error);
  }

  // The mesh and strategies, checked before any work.
  ::tessera::sharding::Mesh mesh;
  std::vector<std::string> strategies;
  if (!meshSpec.empty()) {
    std::string error;
    if (!mesh.parse(meshSpec, error))
      return fail("--mesh=" + meshSpec + ": " + error);
    if (parallel.empty() && !shardingSpec.empty()) {
      // The spec is the whole plan.
    } else if (parallel.empty()) {
      for (const std::string &axis : mesh.names) {
        if (axis != "dp" && axis != "tp")
          return fail("--mesh=" + meshSpec + ": axis '" + axis +
                      "' has no strategy (name axes dp and tp, or give --parallel)");
        strategies.push_back(axis);
      }
    } else {
      llvm::SmallVector<llvm::StringRef> items;
      llvm::StringRef(parallel).split(items, ',');
      for (llvm::StringRef item : items) {
        if (item != "dp" && item != "tp")
          return fail("--parallel=" + parallel + ": unknown strategy '" + item +
                      "' (dp or tp)");
        if (mesh.axis(item.str()) < 0)
          return fail("--parallel=" + parallel + ": the mesh has no axis '" + item + "'");
        strategies.push_back(item.str());
      }
    }
  } else if (!parallel.empty()) {
    return fail("--parallel needs a device mesh (--mesh=dp=2, for example)");
  }
  if (!shardingSpec.empty() && meshSpec.empty())
    return fail("--sharding-spec needs a device mesh (--mesh=dp=2, for example)");
  if (!shardingSpec.empty() && !llvm::sys::fs::exists(shardingSpec))
    return fail("--sharding-spec " + shardingSpec + ": no such file");
  bool explain = explainFormat.getNumOccurrences() > 0;
  if (explain && meshSpec.empty())
    return fail("--explain needs a device mesh (--mesh=dp=2, for example)");
  if (explain && !explainFormat.empty() && explainFormat != "text" &&
      explainFormat != "json")
    return fail("--explain=" + explainFormat + ": expected text or json");
  if (explain && compileTo != Phase::Artifact)
    return fail("--explain describes a whole compilation; drop --compile-to");
  ::tessera::explain::Report report;

  ts::onnx_import::ImportOptions importOptions;
  for (const std::string &s : inputShapes)
    if (llvm::Error e = ts::onnx_import::parseInputShape(s, importOptions))
      return fail(llvm::toString(std::move(e)));
  for (const std::string &s : bindInputs)
    if (llvm::Error e = ts::onnx_import::parseBindInput(s, importOptions))
      return fail(llvm::toString(std::move(e)));

  for (const std::string &path : passPlugins) {
    auto plugin = PassPlugin::load(path);
    if (!plugin)
      return fail("--load-pass-plugin=" + path + ": " +
                  llvm::toString(plugin.takeError()));
    plugin->registerPassRegistryCallbacks();
  }
  // User pipelines by phase; checked before any work.
  llvm::StringMap<std::string> userPipelines;
  for (const std::string &spec : pluginPipelines) {
    auto [phase, pipeline] = llvm::StringRef(spec).split(':');
    if ((phase != "import" && phase != "linalg") || pipeline.empty())
      return fail("--pass-plugin-pipeline expects import:PIPELINE or "
                  "linalg:PIPELINE, got '" + spec + "'");
    std::string &slot = userPipelines[phase];
    slot += (slot.empty() ? "" : ",") + pipeline.str();
  }
  for (const auto &entry : userPipelines) {
    OpPassManager probe("builtin.module");
    std::string err;
    llvm::raw_string_ostream os(err);
    if (failed(parsePassPipeline(entry.getValue(), probe, os))) {
      // The parser's message spans lines (text, source, caret): keep the
      // first, without its "<parser>:1:1: error: " prefix.
      llvm::StringRef first = llvm::StringRef(err).split('\n').first;
      first = first.substr(first.find("error: ") == llvm::StringRef::npos
                               ? 0
                               : first.find("error: ") + 7);
      return fail("--pass-plugin-pipeline " + entry.getKey() + ": " + first);
    }
  }

  DialectRegistry registry;
  registerAllDialects(registry);
  registerAllExtensions(registry);
  mlir::tessera::registerShardingExternalModels(registry);
  registerAllToLLVMIRTranslations(registry);
  MLIRContext context(registry);
  context.loadAllAvailableDialects();

  // One line for the first error any pass reports.
  std::string firstError;
  ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
    if (diag.getSeverity() == DiagnosticSeverity::Error && firstError.empty())
      firstError = describe(diag.getLocation()) + llvm::StringRef(diag.str()).rtrim().str();
    return success();
  });

  int steps = compileTo == Phase::Import   ? 1
              : compileTo == Phase::Linalg ? 2
              : compileTo == Phase::Llvm   ? 3
                                           : 5;
  progress(1, steps, "importing " + inputFile);
  auto imported =
      ts::onnx_import::importOnnxFile(context, inputFile, importOptions);
  if (!imported)
    return fail(llvm::toString(imported.takeError()));
  OwningOpRef<ModuleOp> module = std::move(*imported);
  auto func = *module->getOps<func::FuncOp>().begin();

  // A batch the dp axis does not divide is padded, as GSPMD does: the model
  // is imported again at the next multiple, the runtime adds zero rows to
  // the inputs and drops the outputs' extra rows. Each device then computes
  // its rows alone, so the padding cannot reach a real row as long as no
  // collective moves data across dp (checked after partitioning).
  int64_t userBatch = -1, paddedBatch = -1, dpSize = 1;
  auto cannotPad = [&](const llvm::Twine &why) {
    return fail(inputFile + ": the batch (" + llvm::Twine(userBatch) +
                ") is not divisible by mesh axis 'dp' (" + llvm::Twine(dpSize) +
                " devices) and cannot be padded to " + llvm::Twine(paddedBatch) +
                ": " + why);
  };
  if (int dp = mesh.axis("dp"); dp >= 0 && llvm::is_contained(strategies, "dp")) {
    int64_t n = dpSize = mesh.sizes[dp];
    std::optional<int64_t> batch;
    bool same = true;
    for (unsigned i = 0; i < func.getNumArguments(); ++i) {
      auto type = dyn_cast<RankedTensorType>(func.getArgument(i).getType());
      if (!type || type.getRank() == 0)
        continue;
      same &= !batch || *batch == type.getDimSize(0);
      batch = type.getDimSize(0);
    }
    // Inputs of different first dimensions get the dp pass's error.
    if (same && batch && *batch > 0 && *batch % n != 0) {
      userBatch = *batch;
      paddedBatch = (*batch + n - 1) / n * n;
      SmallVector<Type> before(func.getResultTypes());
      importOptions.batch = paddedBatch;
      auto again = ts::onnx_import::importOnnxFile(context, inputFile, importOptions);
      if (!again)
        return cannotPad("the model does not import at batch " +
                         llvm::Twine(paddedBatch) +
                         " (export it with a dynamic batch dimension): " +
                         llvm::toString(again.takeError()));
      auto padded = *(*again)->getOps<func::FuncOp>().begin();
      for (unsigned i = 0; i < padded.getNumResults(); ++i) {
        auto b = dyn_cast<RankedTensorType>(before[i]);
        auto p = dyn_cast<RankedTensorType>(padded.getResultTypes()[i]);
        if (!b || !p || b.getRank() == 0 || b.getRank() != p.getRank() ||
            b.getDimSize(0) != userBatch || p.getDimSize(0) != paddedBatch ||
            b.getShape().drop_front() != p.getShape().drop_front()) {
          std::string bt, pt;
          llvm::raw_string_ostream(bt) << before[i];
          llvm::raw_string_ostream(pt) << padded.getResultTypes()[i];
          return cannotPad("output '" + nameAttr(padded.getResultAttrDict(i)) +
                        "' does not keep the batch as its first dimension (" + bt +
                        " at batch " + llvm::Twine(userBatch) + ", " + pt + " at " +
                        llvm::Twine(paddedBatch) + ")");
        }
      }
      module = std::move(*again);
      func = padded;
    }
  }

  // The signature, before weights become arguments.
  art::Manifest manifest;
  manifest.target = target;
  for (unsigned i = 0; i < func.getNumArguments(); ++i)
    manifest.inputs.push_back(
        specOf(nameAttr(func.getArgAttrDict(i)), func.getArgument(i).getType()));
  for (unsigned i = 0; i < func.getNumResults(); ++i)
    manifest.outputs.push_back(
        specOf(nameAttr(func.getResultAttrDict(i)), func.getResultTypes()[i]));
  if (userBatch >= 0) {
    for (art::TensorSpec &s : manifest.inputs)
      if (!s.shape.empty())
        s.batch = userBatch;
    for (art::TensorSpec &s : manifest.outputs)
      s.batch = userBatch;
  }
  // Every tensor, the graph's and the intermediate ones, within the largest
  // size the runtime loads (artifact::kMaxTensorBytes).
  for (const auto &specs : {manifest.inputs, manifest.outputs})
    for (const art::TensorSpec &s : specs) {
      if (llvm::any_of(s.shape, [](int64_t d) { return d < 0; }))
        continue; // not static (the importer gives every input static dims)
      if (s.byteSize() < 0 || s.byteSize() > art::kMaxTensorBytes)
        return fail(inputFile + ": '" + s.name + "' (" +
                    describeShape(s) + ") is larger than the largest tensor "
                    "Tessera compiles (2^38 bytes, 256 GiB)");
    }
  std::string tooLarge;
  module->walk([&](Operation *op) {
    for (Value v : op->getResults()) {
      auto type = dyn_cast<RankedTensorType>(v.getType());
      if (!type || !type.hasStaticShape() || !type.getElementType().isIntOrIndexOrFloat())
        continue;
      unsigned bits = type.getElementType().isIndex()
                          ? 64
                          : type.getElementType().getIntOrFloatBitWidth();
      int64_t bytes = std::max<int64_t>(1, bits / 8);
      bool overflow = false;
      for (int64_t d : type.getShape())
        overflow |= __builtin_mul_overflow(bytes, d, &bytes);
      if (overflow || bytes > art::kMaxTensorBytes) {
        std::string t;
        llvm::raw_string_ostream os(t);
        os << type;
        tooLarge = describe(op->getLoc()) + "a " + t +
                   " is larger than the largest tensor Tessera compiles (2^38 "
                   "bytes, 256 GiB)";
        return WalkResult::interrupt();
      }
    }
    return WalkResult::advance();
  });
  if (!tooLarge.empty())
    return fail(inputFile + ": " + tooLarge);
  // Zero-byte inputs and outputs hold no data, and the entry point's
  // bare-pointer convention cannot take them (a memref with a 0 past its
  // first dimension has no static strides; an empty constant or view is no
  // out-parameter). Each keeps its slot in tessera_entry's arguments as a
  // one-byte placeholder: an input's is never read, an output's gets one
  // ignored byte (the runtime passes at least one byte for every output).
  if (compileTo == Phase::Artifact)
    placeholdEmptyBoundaries(func);

  auto runPhase = [&](llvm::function_ref<void(OpPassManager &)> build,
                      StringRef what, bool instrument = false) -> bool {
    PassManager pm(&context);
    firstError.clear();
    if (failed(applyPassManagerCLOptions(pm))) {
      // e.g. --mlir-print-ir-module-scope without --mlir-disable-threading
      fail(firstError.empty() ? "invalid pass manager options" : firstError);
      return false;
    }
    applyDefaultTimingPassManagerCLOptions(pm);
    if (instrument)
      pm.addInstrumentation(
          std::make_unique<::tessera::explain::Instrumentation>(report));
    build(pm);
    firstError.clear();
    if (succeeded(pm.run(*module)))
      return true;
    fail(inputFile + ": " + what + " failed: " +
         (firstError.empty() ? "a pass failed" : firstError));
    return false;
  };
  auto writeIR = [&](llvm::function_ref<void(llvm::raw_ostream &)> print) {
    std::string err;
    auto out = openOutputFile(output, &err);
    if (!out)
      return fail(err);
    print(out->os());
    out->keep();
    return 0;
  };
  auto runUserPipeline = [&](StringRef phase) {
    auto it = userPipelines.find(phase);
    if (it == userPipelines.end())
      return true;
    return runPhase(
        [&](OpPassManager &pm) {
          (void)parsePassPipeline(it->getValue(), pm, llvm::errs());
        },
        "the " + phase.str() + " plugin pipeline");
  };
  auto printModule = [&]() {
    return writeIR([&](llvm::raw_ostream &os) { module->print(os); os << "\n"; });
  };

  if (!mesh.names.empty()) {
    ts::addMesh(*module, mesh.names, mesh.sizes);
    manifest.mesh = mesh.format();
  }
  if (!runPhase([](OpPassManager &pm) { pm.addPass(createCanonicalizerPass()); },
                "canonicalization") ||
      !runUserPipeline("import"))
    return 1;
  if (compileTo == Phase::Import)
    return printModule();

  progress(2, steps, "lowering to linalg");
  if (!runPhase(
          [&](OpPassManager &pm) {
            if (cuda || emulateCudaKernels) {
              ts::CudaPipelineOptions cudaOptions;
              cudaOptions.parallel = strategies;
              cudaOptions.shardingSpec = shardingSpec;
              ts::buildCudaLinalgPhase(pm, cudaOptions);
              return;
            }
            ts::CpuPipelineOptions linalgOptions;
            linalgOptions.artifactAbi = true;
            linalgOptions.ukernels = true; // as the LLVM phase below
            linalgOptions.parallel = strategies;
            linalgOptions.shardingSpec = shardingSpec;
            ts::buildCpuLinalgPhase(pm, linalgOptions);
          },
          "lowering to linalg", explain || userBatch >= 0) ||
      !runUserPipeline("linalg"))
    return 1;
  if (userBatch >= 0) {
    for (const ::tessera::explain::Collective &c : report.collectives)
      if (c.kind != "all_slice" &&
          llvm::is_contained(llvm::split(c.axes, '+'), llvm::StringRef("dp")))
        return cannotPad(
            (c.node.empty() ? std::string("a value") : "node '" + c.node + "'") +
            " needs an " + c.kind + " over dp, so the padded rows would reach "
            "the real ones");
  }
  if (compileTo == Phase::Linalg)
    return printModule();

  // Boundary shardings (tessera-record-shardings), then the outlined
  // weights (trailing arguments), each split one cut into its shards.
  auto splitText = [&](Attribute attr, size_t rank, std::string &out) -> bool {
    auto dims = dyn_cast_or_null<ArrayAttr>(attr);
    if (!dims)
      return true;
    ::tessera::sharding::Split split(rank);
    for (auto [d, a] : llvm::enumerate(dims))
      if (d < rank)
        for (int16_t axis : cast<DenseI16ArrayAttr>(a).asArrayRef())
          split[d].push_back(axis);
    out = ::tessera::sharding::formatSplit(split);
    return true;
  };
  for (size_t i = 0; i < manifest.inputs.size(); ++i)
    splitText(func.getArgAttr(i, ts::kSplitAttrName), manifest.inputs[i].shape.size(),
              manifest.inputs[i].split);
  for (size_t i = 0; i < manifest.outputs.size(); ++i)
    splitText(func.getResultAttr(i, ts::kSplitAttrName),
              manifest.outputs[i].shape.size(), manifest.outputs[i].split);
  // Each weight's bytes stay where the importer put them (mapped from
  // external data, or the model's own buffer) until the artifact is
  // written: the writer streams them, cutting split ones into shards.
  struct WeightSource {
    ArrayRef<char> whole;
    DenseResourceElementsAttr attr;
    ::tessera::sharding::Split split;
    std::vector<int64_t> local;
    // Stored in the GEMM microkernel's panel layout (tessera.prepack):
    // K-slices of packKC rows, panels of packPanel columns; or, as an A
    // operand (tessera.prepack_rows, [M, K] with K all but the first
    // dimension), panels of packRows rows.
    int64_t packKC = 0, packPanel = 0, packRows = 0;
  };
  std::vector<art::WeightSpec> weights;
  std::vector<WeightSource> sources;
  for (unsigned i = manifest.inputs.size(); i < func.getNumArguments(); ++i) {
    auto attr = func.getArgAttrOfType<DenseResourceElementsAttr>(
        i, ts::kWeightAttrName);
    if (!attr)
      return fail(inputFile + ": internal error: argument " + llvm::Twine(i) +
                  " is neither an input nor a weight");
    art::WeightSpec w;
    static_cast<art::TensorSpec &>(w) =
        specOf(attr.getRawHandle().getKey(), attr.getType());
    AsmResourceBlob *blob = attr.getRawHandle().getBlob();
    if (!blob || static_cast<int64_t>(blob->getData().size()) != w.byteSize())
      return fail(inputFile + ": weight '" + w.name + "' has no data");
    splitText(func.getArgAttr(i, ts::kSplitAttrName), w.shape.size(), w.split);
    WeightSource source{blob->getData(), attr, {}, {}};
    if (!w.split.empty()) {
      std::string error;
      if (!::tessera::sharding::parseSplit(w.split, w.shape.size(), mesh, source.split,
                                           error) ||
          !::tessera::sharding::localShape(w.shape, source.split, mesh, source.local,
                                           error))
        return fail(inputFile + ": weight '" + w.name + "': " + error);
      int64_t localBytes = static_cast<int64_t>(art::dtypeSize(w.dtype));
      for (int64_t d : source.local)
        localBytes *= d;
      w.size = static_cast<uint64_t>(localBytes);
      w.shards = static_cast<uint64_t>(::tessera::sharding::shardCount(source.split, mesh));
    }
    weights.push_back(w);
    sources.push_back(std::move(source));
  }

  progress(3, steps, cuda ? "lowering to kernels (" + gpuArch + " PTX) and host LLVM"
                          : llvm::Twine("lowering to LLVM"));
  ts::CpuPipelineOptions cpuOptions;
  cpuOptions.artifactAbi = true;
  cpuOptions.ukernels = true;
  ts::CudaPipelineOptions cudaOptions;
  cudaOptions.gpuArch = gpuArch;
  cudaOptions.vectorWidth = gpuVectorWidth;
  cudaOptions.cooperativeReductions = gpuCooperativeReductions;
  if (!runPhase(
          [&](OpPassManager &pm) {
            if (cuda)
              ts::buildCudaLlvmPhase(pm, cudaOptions);
            else if (emulateCudaKernels)
              ts::buildCudaEmulationLlvmPhase(pm, cudaOptions);
            else
              ts::buildCpuLlvmPhase(pm, cpuOptions);
          },
          "lowering to LLVM"))
    return 1;
  // The device code (tessera-cuda-lower-launches) leaves the module here.
  std::string ptx, cubin;
  if (cuda) {
    if (auto attr = (*module)->getAttrOfType<StringAttr>("tessera.ptx"))
      ptx = attr.str();
    if (auto names = (*module)->getAttrOfType<ArrayAttr>("tessera.kernels"))
      for (Attribute name : names)
        manifest.kernels.push_back(cast<StringAttr>(name).str());
    manifest.gpuArch = gpuArch;
    if (emit == Emit::Ptx)
      return writeIR([&](llvm::raw_ostream &os) { os << ptx; });
    if (compileTo != Phase::Llvm && emit != Emit::Mlir) {
      (*module)->removeAttr("tessera.ptx");
      (*module)->removeAttr("tessera.kernels");
    }
  }
  if (compileTo == Phase::Llvm || emit == Emit::Mlir)
    return printModule();

  // Weights the microkernel reads prepacked (tessera.prepack on the entry
  // function's argument, set by tessera-cpu-contractions-to-ukernels).
  for (auto llvmFunc : (*module)->getRegion(0).getOps<LLVM::LLVMFuncOp>()) {
    if (llvmFunc.getSymName() != "main")
      continue;
    for (size_t i = 0; i < sources.size(); ++i) {
      unsigned arg = manifest.inputs.size() + i;
      if (arg >= llvmFunc.getNumArguments())
        break;
      if (auto pack = llvmFunc.getArgAttrOfType<DenseI64ArrayAttr>(arg, "tessera.prepack");
          pack && pack.size() == 2) {
        sources[i].packKC = pack[0];
        sources[i].packPanel = pack[1];
      }
      if (auto pack = llvmFunc.getArgAttrOfType<DenseI64ArrayAttr>(arg, "tessera.prepack_rows");
          pack && pack.size() == 2) {
        sources[i].packKC = pack[0];
        sources[i].packRows = pack[1];
      }
    }
  }

  // The memory plan (tessera-cpu-plan-memory).
  auto moduleBytes = [&](llvm::StringRef name) -> int64_t {
    auto attr = (*module)->getAttrOfType<IntegerAttr>(name);
    return attr ? attr.getInt() : 0;
  };
  manifest.workspaceBytes = moduleBytes("tessera.workspace_bytes");
  if (manifest.workspaceBytes)
    progress(3, steps,
             "memory plan: " + llvm::Twine(moduleBytes("tessera.buffer_bytes")) +
                 " bytes of intermediate tensors in a workspace of " +
                 llvm::Twine(manifest.workspaceBytes) + " bytes (live maximum " +
                 llvm::Twine(moduleBytes("tessera.live_max_bytes")) + ")");

  if (cuda && !ptx.empty()) {
    std::string ptxas = ts::findPtxas();
    if (ptxas.empty()) {
      progress(4, steps, llvm::Twine(manifest.kernels.size()) +
                             (manifest.kernels.size() == 1 ? " kernel" : " kernels") +
                             " as PTX (no ptxas found: the driver compiles "
                             "them when the artifact loads)");
    } else {
      progress(4, steps, "assembling " + llvm::Twine(manifest.kernels.size()) +
                             (manifest.kernels.size() == 1 ? " kernel" : " kernels") +
                             " for " + gpuArch + " with " + ptxas);
      std::string error;
      FailureOr<std::string> binary = ts::assembleCubin(ptxas, ptx, gpuArch, error);
      if (failed(binary))
        return fail(inputFile + ": " + error);
      cubin = std::move(*binary);
    }
  }
  progress(4, steps, "generating host code for " + hostCpu);
  ts::CpuTargetOptions targetOptions;
  targetOptions.cpu = hostCpu;
  llvm::LLVMContext llvmContext;
  std::string error;
  auto llvmModule = ts::translateToLLVMIR(*module, llvmContext, targetOptions, error);
  if (failed(llvmModule))
    return fail(inputFile + ": " + error);
  // The host code carries the manifest it is compiled for: the runtime
  // refuses an artifact whose manifest was changed afterwards.
  uint64_t weightBytes = art::layoutWeights(weights);
  manifest.weights = weights;
  new llvm::GlobalVariable(
      **llvmModule, llvm::ArrayType::get(llvm::Type::getInt8Ty(llvmContext),
                                         manifest.codeText().size() + 1),
      /*isConstant=*/true, llvm::GlobalValue::ExternalLinkage,
      llvm::ConstantDataArray::getString(llvmContext, manifest.codeText()),
      "tessera_manifest");
  if (emit == Emit::Llvm)
    return writeIR([&](llvm::raw_ostream &os) { (*llvmModule)->print(os, nullptr); });
  auto so = ts::buildSharedObject(**llvmModule, targetOptions, error);
  if (failed(so))
    return fail(inputFile + ": " + error);

  progress(5, steps, "writing " + output);
  if (output == "-")
    return fail("an artifact is binary; give -o FILE.tsr");
  auto writeWeights = [&](const art::Emit &emit, std::string &) {
    static const char zeros[4096] = {};
    uint64_t pos = 0;
    auto padTo = [&](uint64_t offset) {
      while (pos < offset) {
        size_t k = static_cast<size_t>(std::min<uint64_t>(offset - pos, sizeof(zeros)));
        if (!emit(zeros, k))
          return false;
        pos += k;
      }
      return true;
    };
    std::vector<char> shard;
    // Each weight's bytes are dropped once written (a mapped one is
    // unmapped): peak memory stays near one weight, not the model.
    llvm::DenseMap<void *, int> readers; // weights left to write per blob
    for (const WeightSource &src : sources)
      ++readers[src.attr.getRawHandle().getResource()];
    auto release = [&](size_t i) {
      auto *entry = sources[i].attr.getRawHandle().getResource();
      if (--readers[entry] == 0)
        entry->setBlob(AsmResourceBlob());
    };
    std::vector<char> packed;
    // A weight block in the microkernel's panel layout (kPackKC in
    // codegen/CPU/ukernels/Sgemm.cpp): K in slices of packKC rows; in each
    // slice the other dimension in panels (B's N columns by packPanel, or
    // A's M rows by packRows: A's layout is Aᵀ's as a B), each panel
    // K-major, the last one narrower. A B is [K, N]; an A is [M, K] with M
    // its first dimension and K the rest.
    auto pack = [&](const WeightSource &src, const char *block,
                    const std::vector<int64_t> &shape) -> ArrayRef<char> {
      bool isA = src.packRows != 0;
      int64_t first = shape[0], rest = 1;
      for (size_t d = 1; d < shape.size(); ++d)
        rest *= shape[d];
      // Read as [K, N]: element (p, q) at in[p * kStride + q * nStride].
      int64_t k = isA ? rest : first, n = isA ? first : rest;
      int64_t kStride = isA ? 1 : n, nStride = isA ? k : 1;
      int64_t kcMax = src.packKC, panel = isA ? src.packRows : src.packPanel;
      packed.resize(static_cast<size_t>(k * n) * sizeof(float));
      auto *in = reinterpret_cast<const float *>(block);
      auto *out = reinterpret_cast<float *>(packed.data());
      for (int64_t p0 = 0; p0 < k; p0 += kcMax) {
        int64_t kc = std::min(kcMax, k - p0);
        for (int64_t j = 0; j < n; j += panel) {
          int64_t width = std::min(panel, n - j);
          float *dst = out + p0 * n + j * kc;
          for (int64_t p = 0; p < kc; ++p) {
            const float *row = in + (p0 + p) * kStride + j * nStride;
            if (nStride == 1)
              std::memcpy(dst + p * width, row, static_cast<size_t>(width) * sizeof(float));
            else
              for (int64_t q = 0; q < width; ++q)
                dst[p * width + q] = row[q * nStride];
          }
        }
      }
      return packed;
    };
    for (size_t i = 0; i < weights.size(); ++i) {
      const art::WeightSpec &w = weights[i];
      const WeightSource &src = sources[i];
      if (w.split.empty()) {
        ArrayRef<char> bytes =
            src.packKC ? pack(src, src.whole.data(), w.shape) : src.whole;
        if (!padTo(w.offset) || !emit(bytes.data(), bytes.size()))
          return false;
        pos += bytes.size();
        release(i);
        continue;
      }
      shard.assign(w.size, 0);
      for (uint64_t k = 0; k < w.shards; ++k) {
        auto coords = ::tessera::sharding::shardCoords(src.split, mesh, static_cast<int64_t>(k));
        auto offsets = ::tessera::sharding::shardOffsets(src.local, src.split, mesh, coords);
        ::tessera::sharding::copyBlock(const_cast<char *>(src.whole.data()), shard.data(),
                                       w.shape, src.local, offsets, art::dtypeSize(w.dtype),
                                       /*toLocal=*/true);
        ArrayRef<char> bytes = src.packKC ? pack(src, shard.data(), src.local)
                                          : ArrayRef<char>(shard);
        if (!padTo(w.offset + k * w.shardStride()) || !emit(bytes.data(), bytes.size()))
          return false;
        pos += bytes.size();
      }
      release(i);
    }
    return padTo(weightBytes);
  };
  if (!art::write(output, manifest, *so, weightBytes, writeWeights, error, ptx, cubin))
    return fail(error);
  if (explain) {
    report.model = llvm::sys::path::filename(inputFile).str();
    if (userBatch >= 0) {
      std::string names;
      for (const art::TensorSpec &s : manifest.inputs)
        if (s.batch >= 0)
          names += (names.empty() ? "'" : ", '") + s.name + "'";
      report.padding.push_back(
          "batch " + std::to_string(userBatch) + " padded to " +
          std::to_string(paddedBatch) + " (inputs " + names + "; " +
          std::to_string(paddedBatch - userBatch) +
          (paddedBatch - userBatch == 1 ? " zero row" : " zero rows") +
          " appended, dropped from every output)");
    }
    if (auto padded = (*module)->getAttrOfType<ArrayAttr>("tessera.padded"))
      for (Attribute a : padded)
        report.padding.push_back(cast<StringAttr>(a).str());
    report.mesh = mesh.format();
    report.devices = 1;
    for (int64_t n : mesh.sizes)
      report.devices *= n;
    for (const art::WeightSpec &w : weights) {
      report.weightBytes += w.byteSize();
      report.weightBytesPerDevice += static_cast<int64_t>(w.size);
    }
    report.workspaceBytes = static_cast<int64_t>(manifest.workspaceBytes);
    if (explainFormat == "json")
      report.printJson(llvm::outs());
    else
      report.printText(llvm::outs());
  }
  return 0;
}
