//===- Explain.cpp - tessera-compile --explain ----------------------------===//

#include "Explain.h"

#include "passes/Sharding/Passes.h"

#include "mlir/Dialect/Shard/IR/ShardOps.h"
#include "mlir/Dialect/Shard/Interfaces/ShardingInterface.h"
#include "mlir/Pass/Pass.h"

#include "llvm/Support/JSON.h"

#include <map>

using namespace mlir;

namespace tessera::explain {
namespace {

std::string shapeText(RankedTensorType t) {
  std::string s;
  llvm::raw_string_ostream os(s);
  for (int64_t d : t.getShape())
    os << d << "x";
  os << t.getElementType();
  return s;
}

int64_t bytesOf(RankedTensorType t) {
  return t.getNumElements() * std::max<int64_t>(1, t.getElementTypeBitWidth() / 8);
}

std::vector<std::string> axisNames(Operation *op) {
  std::vector<std::string> names;
  auto module = op->getParentOfType<ModuleOp>();
  if (!module && isa<ModuleOp>(op))
    module = cast<ModuleOp>(op);
  if (auto attr = module ? module->getAttrOfType<ArrayAttr>(
                               mlir::tessera::kMeshAxesAttrName)
                         : ArrayAttr())
    for (Attribute a : attr)
      names.push_back(cast<StringAttr>(a).getValue().str());
  return names;
}

std::string axesText(ArrayRef<int16_t> axes, const std::vector<std::string> &names) {
  std::string s;
  for (int16_t a : axes)
    s += (s.empty() ? "" : "+") +
         (a < static_cast<int16_t>(names.size()) ? names[a] : std::to_string(a));
  return s;
}

/// The split of `value` as propagation annotated it.
std::string splitOf(Value value, const std::vector<std::string> &names) {
  for (Operation *user : value.getUsers()) {
    auto s = dyn_cast<shard::ShardOp>(user);
    if (!s || s.getAnnotateForUsers())
      continue;
    auto sharding = s.getSharding().getDefiningOp<shard::ShardingOp>();
    if (!sharding)
      continue;
    std::string text;
    bool any = false;
    auto rank = cast<RankedTensorType>(value.getType()).getRank();
    auto axes = sharding.getSplitAxes().getAxes();
    for (int64_t d = 0; d < rank; ++d) {
      std::string a = d < static_cast<int64_t>(axes.size())
                          ? axesText(axes[d].asArrayRef(), names)
                          : "";
      any |= !a.empty();
      text += (d ? ", " : "") + (a.empty() ? std::string("-") : a);
    }
    return any ? "[" + text + "]" : "replicated";
  }
  return "replicated";
}

void collectShardings(func::FuncOp func, Report &report) {
  std::vector<std::string> names = axisNames(func);
  std::map<std::string, size_t> index;
  report.nodes.clear();
  func.walk([&](Operation *op) {
    if (isa<shard::ShardOp, shard::ShardingOp, tensor::EmptyOp>(op) ||
        op->hasTrait<OpTrait::ConstantLike>() || op->getNumResults() != 1 ||
        !isa<RankedTensorType>(op->getResult(0).getType()) ||
        op->getParentOp() != func)
      return;
    std::string node = nodeOf(op->getLoc());
    if (node.empty())
      return;
    NodeSharding n{node, op->getName().getStringRef().str(),
                   shapeText(cast<RankedTensorType>(op->getResult(0).getType())),
                   splitOf(op->getResult(0), names)};
    auto [it, inserted] = index.try_emplace(node, report.nodes.size());
    if (inserted)
      report.nodes.push_back(n);
    else
      report.nodes[it->second] = n;
  });
}

void collectCollectives(func::FuncOp func, Report &report) {
  std::vector<std::string> names = axisNames(func);
  auto module = func->getParentOfType<ModuleOp>();
  auto grid = module.lookupSymbol<shard::GridOp>(mlir::tessera::kMeshName);
  report.collectives.clear();
  func.walk([&](Operation *op) {
    if (!isa<shard::ShardDialect>(op->getDialect()) || op->getNumResults() != 1)
      return;
    auto type = dyn_cast<RankedTensorType>(op->getResult(0).getType());
    auto axes = op->getAttrOfType<DenseI16ArrayAttr>("grid_axes");
    if (!type || !axes)
      return;
    Collective c;
    c.node = nodeOf(op->getLoc());
    c.kind = op->getName().stripDialect().str();
    c.axes = axesText(axes.asArrayRef(), names);
    c.type = shapeText(type);
    c.bytes = bytesOf(type);
    for (int16_t a : axes.asArrayRef())
      c.devices *= grid ? grid.getShape()[a] : 1;
    int64_t n = c.devices;
    // Ring algorithms: an all-reduce sends 2(n-1)/n of the tensor, an
    // all-gather (n-1)/n of its result; a slice is local.
    if (c.kind == "all_reduce")
      c.sentBytes = 2 * (n - 1) * c.bytes / n;
    else if (c.kind == "all_gather" || c.kind == "reduce_scatter" ||
             c.kind == "all_to_all")
      c.sentBytes = (n - 1) * (c.kind == "all_gather" ? c.bytes / n : c.bytes);
    else if (c.kind == "broadcast")
      c.sentBytes = c.bytes;
    report.collectives.push_back(c);
  });
  report.inputBytesPerDevice = report.outputBytesPerDevice = 0;
  for (BlockArgument arg : func.getArguments())
    if (func.getArgAttr(arg.getArgNumber(), "tessera.name"))
      if (auto t = dyn_cast<RankedTensorType>(arg.getType()))
        report.inputBytesPerDevice += bytesOf(t);
  for (Type t : func.getResultTypes())
    if (auto r = dyn_cast<RankedTensorType>(t))
      report.outputBytesPerDevice += bytesOf(r);
}

std::string withCommas(int64_t v) {
  std::string s = std::to_string(v);
  for (int i = static_cast<int>(s.size()) - 3; i > (v < 0 ? 1 : 0); i -= 3)
    s.insert(static_cast<size_t>(i), ",");
  return s;
}

} // namespace

std::string nodeOf(Location loc) {
  if (auto name = dyn_cast<NameLoc>(loc))
    return name.getName().str();
  if (auto fused = dyn_cast<FusedLoc>(loc))
    for (Location l : fused.getLocations())
      if (std::string n = nodeOf(l); !n.empty())
        return n;
  return "";
}

void Instrumentation::runAfterPass(Pass *pass, Operation *op) {
  auto func = dyn_cast<func::FuncOp>(op);
  if (!func || func.getSymName() != "main")
    return;
  // The last propagation run overwrites the first's view.
  if (pass->getArgument() == "sharding-propagation")
    collectShardings(func, report);
  else if (pass->getArgument() == "shard-partition")
    collectCollectives(func, report);
}

void Report::printText(llvm::raw_ostream &os) const {
  os << "sharding plan for " << model << " on mesh " << mesh << " (" << devices
     << " devices)\n\n";
  os << "nodes (the split of each result dimension over mesh axes; - is whole):\n";
  size_t width = 4;
  for (const NodeSharding &n : nodes)
    width = std::max(width, n.node.size());
  for (const NodeSharding &n : nodes)
    os << "  " << llvm::left_justify(n.node, width) << "  "
       << llvm::left_justify(n.type, 16) << "  " << n.split << "\n";
  if (!padding.empty()) {
    os << "\npadding (zeros added so the axis divides them):\n";
    for (const std::string &p : padding)
      os << "  " << p << "\n";
  }
  os << "\ncollectives (per device, per run):\n";
  if (collectives.empty())
    os << "  none\n";
  int64_t sent = 0;
  for (const Collective &c : collectives) {
    os << "  " << llvm::left_justify(c.kind, 10) << " over "
       << llvm::left_justify(c.axes, 6) << " (" << c.devices << " devices)  "
       << llvm::left_justify(c.type, 14) << "  " << withCommas(c.bytes)
       << " bytes, sends " << withCommas(c.sentBytes) << "  at node '" << c.node
       << "'\n";
    sent += c.sentBytes;
  }
  os << "  total sent per device: " << withCommas(sent) << " bytes\n";
  os << "\nmemory per device:\n";
  os << "  weights      " << withCommas(weightBytesPerDevice) << " bytes (of "
     << withCommas(weightBytes) << ", "
     << (weightBytes ? (100 * weightBytesPerDevice + weightBytes / 2) / weightBytes : 100)
     << "%)\n";
  os << "  activations  " << withCommas(workspaceBytes) << " bytes of workspace, "
     << withCommas(inputBytesPerDevice) << " of inputs, "
     << withCommas(outputBytesPerDevice) << " of outputs\n";
}

void Report::printJson(llvm::raw_ostream &os) const {
  llvm::json::Array jn, jc, jp;
  for (const std::string &p : padding)
    jp.push_back(p);
  for (const NodeSharding &n : nodes)
    jn.push_back(llvm::json::Object{
        {"node", n.node}, {"op", n.op}, {"type", n.type}, {"split", n.split}});
  int64_t sent = 0;
  for (const Collective &c : collectives) {
    jc.push_back(llvm::json::Object{{"kind", c.kind},
                                    {"axes", c.axes},
                                    {"devices", c.devices},
                                    {"type", c.type},
                                    {"bytes", c.bytes},
                                    {"sent_bytes", c.sentBytes},
                                    {"node", c.node}});
    sent += c.sentBytes;
  }
  llvm::json::Object root{
      {"model", model},
      {"mesh", mesh},
      {"devices", devices},
      {"nodes", std::move(jn)},
      {"collectives", std::move(jc)},
      {"padding", std::move(jp)},
      {"sent_bytes_per_device", sent},
      {"memory_per_device",
       llvm::json::Object{{"weight_bytes", weightBytesPerDevice},
                          {"weight_bytes_total", weightBytes},
                          {"workspace_bytes", workspaceBytes},
                          {"input_bytes", inputBytesPerDevice},
                          {"output_bytes", outputBytesPerDevice}}}};
  os << llvm::formatv("{0:2}", llvm::json::Value(std::move(root))) << "\n";
}

} // namespace tessera::explain
