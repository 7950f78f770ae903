//===- ShardingSpec.cpp - Manual sharding annotations from a file ---------===//
//
// tessera-apply-sharding-spec: see Passes.td for the format.
//
//===----------------------------------------------------------------------===//

#include "passes/Sharding/Passes.h"

#include "dialects/Tessera/IR/TesseraOps.h"

#include "mlir/IR/DialectResourceBlobManager.h"

#include "llvm/ADT/StringSet.h"
#include "llvm/Support/MemoryBuffer.h"

namespace mlir::tessera {
#define GEN_PASS_DEF_APPLYSHARDINGSPECPASS
#include "passes/Sharding/Passes.h.inc"
} // namespace mlir::tessera

using namespace mlir;
using namespace mlir::tessera;

namespace {

/// One line of the spec.
struct SpecLine {
  unsigned line;
  std::string name;
  SmallVector<SmallVector<std::string>> dims; // axis names per dimension
};

/// Parses `text`; on error, the message (without the file and line
/// prefix) and the line it is on.
LogicalResult parseSpec(StringRef text, SmallVector<SpecLine> &lines,
                        std::string &error, unsigned &errorLine) {
  SmallVector<StringRef> raw;
  text.split(raw, '\n');
  for (auto [i, r] : llvm::enumerate(raw)) {
    StringRef l = r.split('#').first.trim();
    if (l.empty())
      continue;
    errorLine = i + 1;
    size_t space = l.find_first_of(" \t");
    if (space == StringRef::npos) {
      error = "expected a tensor name and its split, e.g. 'x dp, -', got '" +
              l.str() + "'";
      return failure();
    }
    SpecLine s{static_cast<unsigned>(i + 1), l.take_front(space).str(), {}};
    SmallVector<StringRef> dims;
    l.drop_front(space).split(dims, ',');
    for (StringRef d : dims) {
      d = d.trim();
      if (d.empty()) {
        error = "'" + s.name + "': an empty dimension (write - for a whole one)";
        return failure();
      }
      SmallVector<std::string> axes;
      if (d != "-") {
        SmallVector<StringRef> parts;
        d.split(parts, '+');
        for (StringRef p : parts) {
          p = p.trim();
          if (p.empty() || !llvm::all_of(p, [](char c) {
                return llvm::isAlnum(c) || c == '_';
              })) {
            error = "'" + s.name + "': '" + d.str() +
                    "' is not a mesh axis name, - or AXIS+AXIS";
            return failure();
          }
          axes.push_back(p.str());
        }
      }
      s.dims.push_back(axes);
    }
    lines.push_back(std::move(s));
  }
  return success();
}

struct ApplyShardingSpecPass
    : mlir::tessera::impl::ApplyShardingSpecPassBase<ApplyShardingSpecPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto fail = [&](unsigned line, const Twine &msg) {
      module.emitError("--sharding-spec ")
          << path << (line ? ":" + std::to_string(line) : std::string()) << ": "
          << msg;
      signalPassFailure();
    };
    auto buffer = llvm::MemoryBuffer::getFile(path);
    if (!buffer)
      return fail(0, "cannot read: " + buffer.getError().message());
    SmallVector<SpecLine> lines;
    std::string error;
    unsigned errorLine = 0;
    if (failed(parseSpec((*buffer)->getBuffer(), lines, error, errorLine)))
      return fail(errorLine, error);
    auto grid = module.lookupSymbol<shard::GridOp>(kMeshName);
    auto names = module->getAttrOfType<ArrayAttr>(kMeshAxesAttrName);
    auto func = module.lookupSymbol<func::FuncOp>("main");
    if (!grid || !names || !func)
      return fail(0, "needs a device mesh (--mesh)");

    // Every tensor a line can name: inputs, weights (outlined or still
    // constants) and single-result node outputs.
    struct Target {
      Value value;
      bool transposed = false;
    };
    llvm::StringMap<Target> targets;
    for (BlockArgument arg : func.getArguments()) {
      if (auto n = func.getArgAttrOfType<StringAttr>(arg.getArgNumber(), "tessera.name"))
        targets[n.getValue()] = {arg};
      else if (auto w = func.getArgAttrOfType<DenseResourceElementsAttr>(
                   arg.getArgNumber(), kWeightAttrName))
        targets[w.getRawHandle().getKey()] = {arg};
    }
    func.walk([&](Operation *op) {
      if (auto c = dyn_cast<ConstantOp>(op))
        if (auto r = dyn_cast<DenseResourceElementsAttr>(c.getValue())) {
          targets[r.getRawHandle().getKey()] = {c.getResult()};
          return;
        }
      if (op->getNumResults() == 1 && isa<TesseraDialect>(op->getDialect()))
        if (auto loc = dyn_cast<NameLoc>(op->getLoc()))
          targets.try_emplace(loc.getName().getValue(), Target{op->getResult(0)});
    });
    // Gemm weights stored transposed answer to their ONNX name.
    for (auto &entry : llvm::make_early_inc_range(targets)) {
      StringRef key = entry.getKey();
      if (key.ends_with(".T") && !targets.count(key.drop_back(2)))
        targets[key.drop_back(2)] = {entry.getValue().value, true};
    }

    llvm::StringSet<> seen;
    for (const SpecLine &l : lines) {
      if (!seen.insert(l.name).second)
        return fail(l.line, "'" + l.name + "' is given twice");
      auto it = targets.find(l.name);
      if (it == targets.end())
        return fail(l.line, "no input, weight or node output named '" + l.name + "'");
      Value v = it->second.value;
      auto type = cast<RankedTensorType>(v.getType());
      if (static_cast<int64_t>(l.dims.size()) != type.getRank())
        return fail(l.line, "'" + l.name + "' has " + Twine(type.getRank()) +
                                " dimensions, the spec gives " +
                                Twine(l.dims.size()));
      SmallVector<SmallVector<std::string>> dims = l.dims;
      if (it->second.transposed)
        std::reverse(dims.begin(), dims.end());
      SmallVector<shard::GridAxesAttr> split;
      llvm::StringSet<> used;
      for (auto [d, axes] : llvm::enumerate(dims)) {
        SmallVector<int16_t> ids;
        int64_t devices = 1;
        for (const std::string &a : axes) {
          auto pos = llvm::find_if(names, [&](Attribute n) {
            return cast<StringAttr>(n).getValue() == a;
          });
          if (pos == names.end())
            return fail(l.line, "'" + l.name + "': the mesh has no axis '" + a + "'");
          if (!used.insert(a).second)
            return fail(l.line, "'" + l.name + "': axis '" + a + "' splits two dimensions");
          ids.push_back(static_cast<int16_t>(pos - names.begin()));
          devices *= grid.getShape()[ids.back()];
        }
        int64_t size = type.getDimSize(d);
        if (!ids.empty() && (ShapedType::isDynamic(size) || size % devices != 0))
          return fail(l.line, "'" + l.name + "': dimension " + Twine(d) + " (" +
                                  Twine(size) + ") is not divisible by " +
                                  Twine(devices) + " devices");
        split.push_back(DenseI16ArrayAttr::get(&getContext(), ids));
      }
      while (!split.empty() && split.back().empty())
        split.pop_back();
      OpBuilder b(&getContext());
      if (auto arg = dyn_cast<BlockArgument>(v))
        b.setInsertionPointToStart(arg.getOwner());
      else
        b.setInsertionPointAfterValue(v);
      auto sharding = shard::ShardingOp::create(
          b, v.getLoc(), FlatSymbolRefAttr::get(&getContext(), kMeshName), split);
      // A value the spec splits is split for its users too.
      auto shardOp = shard::ShardOp::create(b, v.getLoc(), v, sharding,
                                            /*annotate_for_users=*/isa<BlockArgument>(v));
      v.replaceAllUsesExcept(shardOp.getResult(), shardOp);
      ++numAnnotations;
    }
  }
};

} // namespace
