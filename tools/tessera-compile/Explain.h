//===- Explain.h - tessera-compile --explain --------------------*- C++ -*-===//
//
// What partitioning did to a model: per ONNX node the split of its result,
// every collective the partitioned program runs with its size, and the
// memory per device. Gathered by a pass instrumentation on the linalg
// phase (after sharding propagation and after shard-partition), completed
// by the driver with the weights and the workspace, printed as text or
// JSON.
//
//===----------------------------------------------------------------------===//
#ifndef TESSERA_TOOLS_TESSERA_COMPILE_EXPLAIN_H
#define TESSERA_TOOLS_TESSERA_COMPILE_EXPLAIN_H

#include "mlir/IR/Location.h"
#include "mlir/Pass/PassInstrumentation.h"

#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <string>
#include <vector>

namespace tessera::explain {

struct NodeSharding {
  std::string node;  // the ONNX node (location name)
  std::string op;    // the last op computing it, e.g. linalg.generic
  std::string type;  // its global result type, e.g. 8x512xf32
  std::string split; // per dimension: [dp, tp], [-, tp]; "replicated"
};

struct Collective {
  std::string node;      // the node whose value it moves
  std::string kind;      // all_reduce, all_gather, all_slice, ...
  std::string axes;      // mesh axes, by name
  std::string type;      // the local tensor it produces
  int64_t devices = 1;   // devices taking part
  int64_t bytes = 0;     // the tensor's bytes per device
  int64_t sentBytes = 0; // bytes each device sends (ring algorithms)
};

struct Report {
  std::string model, mesh;
  int64_t devices = 1;
  std::vector<NodeSharding> nodes;
  std::vector<Collective> collectives;
  /// What the strategies padded to split evenly ("'node': 25 heads padded
  /// to 28", "batch 3 padded to 4 ...").
  std::vector<std::string> padding;
  int64_t weightBytes = 0, weightBytesPerDevice = 0;
  int64_t inputBytesPerDevice = 0, outputBytesPerDevice = 0;
  int64_t workspaceBytes = 0;

  void printText(llvm::raw_ostream &os) const;
  void printJson(llvm::raw_ostream &os) const;
};

/// The ONNX node a location names (the first NameLoc in it), or "".
std::string nodeOf(mlir::Location loc);

/// Fills `report` from the linalg phase: node shardings after the last
/// `sharding-propagation`, collectives and local boundary sizes after
/// `shard-partition`.
class Instrumentation : public mlir::PassInstrumentation {
public:
  explicit Instrumentation(Report &report) : report(report) {}
  void runAfterPass(mlir::Pass *pass, mlir::Operation *op) override;

private:
  Report &report;
};

} // namespace tessera::explain

#endif // TESSERA_TOOLS_TESSERA_COMPILE_EXPLAIN_H
