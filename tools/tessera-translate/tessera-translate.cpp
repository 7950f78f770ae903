//===- tessera-translate.cpp - Translate models into Tessera IR -----------===//
//
//   tessera-translate --import-onnx model.onnx [-o out.mlir]
//       [--input-shape=NAME:2x128 ...] [--bind-input=NAME=FILE.pb ...] [--summary] [--no-ir]
//
// Prints the imported tessera IR (MLIR's printer flags such as
// --mlir-elide-elementsattrs-if-larger apply). Any failure prints one line,
// `tessera-translate: error: <file>: <what>`, and exits with status 1.
//
//===----------------------------------------------------------------------===//

#include "dialects/Tessera/IR/TesseraOps.h"
#include "import/onnx/OnnxImporter.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Operation.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/WithColor.h"

using namespace mlir;

static llvm::cl::opt<std::string> inputFile(llvm::cl::Positional,
                                            llvm::cl::desc("<model.onnx>"),
                                            llvm::cl::Required);
static llvm::cl::opt<bool>
    importOnnx("import-onnx",
               llvm::cl::desc("Import an ONNX model into the tessera dialect"));
static llvm::cl::opt<std::string>
    outputFile("o", llvm::cl::desc("Output file (default: stdout)"),
               llvm::cl::init("-"));
static llvm::cl::list<std::string>
    inputShapes("input-shape",
                llvm::cl::desc("Fix an input's shape: NAME:2x128 (repeatable)"));
static llvm::cl::list<std::string> bindInputs(
    "bind-input",
    llvm::cl::desc("Make a graph input a constant read from an ONNX "
                   "TensorProto file: NAME=FILE.pb (repeatable)"));
static llvm::cl::opt<bool>
    noIR("no-ir", llvm::cl::desc("Import and verify only; print no IR (the "
                                 "summary and errors still print)"));
static llvm::cl::opt<bool>
    summary("summary",
            llvm::cl::desc("Print a summary (inputs, outputs, op counts, "
                           "weight bytes) to stderr"));

static int error(const llvm::Twine &msg) {
  llvm::WithColor::error(llvm::errs(), "tessera-translate") << msg << "\n";
  return 1;
}

static void printSummary(ModuleOp module, llvm::raw_ostream &os) {
  llvm::MapVector<StringRef, int64_t> counts;
  int64_t weightBytes = 0, ops = 0;
  module.walk([&](Operation *op) {
    if (!isa<tessera::TesseraDialect>(op->getDialect()))
      return;
    ++ops;
    ++counts[op->getName().stripDialect()];
    if (auto c = dyn_cast<tessera::ConstantOp>(op)) {
      auto type = cast<ShapedType>(c.getType());
      int64_t bits = type.getElementTypeBitWidth();
      weightBytes += type.getNumElements() * std::max<int64_t>(bits / 8, 1);
    }
  });
  auto func = *module.getOps<func::FuncOp>().begin();
  os << "model: " << func.getNumArguments() << " inputs, "
     << func.getNumResults() << " outputs, " << ops << " ops, " << weightBytes
     << " bytes of constants\n";
  for (unsigned i = 0; i < func.getNumArguments(); ++i)
    os << "  input  " << func.getArgAttr(i, "tessera.name") << " : "
       << func.getArgument(i).getType() << "\n";
  for (unsigned i = 0; i < func.getNumResults(); ++i)
    os << "  output " << func.getResultAttr(i, "tessera.name") << " : "
       << func.getResultTypes()[i] << "\n";
  auto sorted = counts.takeVector();
  llvm::sort(sorted, [](auto &a, auto &b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  os << "  ops:";
  for (auto &[name, n] : sorted)
    os << " " << name << "=" << n;
  os << "\n";
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  registerAsmPrinterCLOptions();
  registerMLIRContextCLOptions();
  llvm::cl::ParseCommandLineOptions(argc, argv,
                                    "Tessera model translator\n");
  if (!importOnnx)
    return error("choose a translation; only --import-onnx exists");

  mlir::tessera::onnx_import::ImportOptions options;
  for (const std::string &spec : inputShapes)
    if (llvm::Error e = mlir::tessera::onnx_import::parseInputShape(spec, options))
      return error(llvm::toString(std::move(e)));

  for (const std::string &spec : bindInputs)
    if (llvm::Error e = mlir::tessera::onnx_import::parseBindInput(spec, options))
      return error(llvm::toString(std::move(e)));

  MLIRContext context;
  auto module =
      mlir::tessera::onnx_import::importOnnxFile(context, inputFile, options);
  if (!module)
    return error(llvm::toString(module.takeError()));

  if (summary)
    printSummary(**module, llvm::errs());
  if (noIR)
    return 0;
  std::string err;
  auto out = openOutputFile(outputFile, &err);
  if (!out)
    return error(err);
  (*module)->print(out->os(), OpPrintingFlags());
  out->os() << "\n";
  out->keep();
  return 0;
}
