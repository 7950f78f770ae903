//===- OnnxImporter.cpp - ONNX ModelProto to the tessera dialect ----------===//
//
// Reads the model, checks it (opset, graph structure, input shapes, declared
// output types) and walks its nodes in topological order, handing each to
// its converter (OnnxOps.cpp). The first failure stops the import; nothing
// half-imported is returned.
//
//===----------------------------------------------------------------------===//

#include "import/onnx/ImporterImpl.h"

#include <cmath>

#include "dialects/Tessera/IR/TesseraOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/APSInt.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <climits>

using namespace mlir;
using namespace mlir::tessera::onnx_import;

//===----------------------------------------------------------------------===//
// Options and registration
//===----------------------------------------------------------------------===//

llvm::Error tessera::onnx_import::parseInputShape(llvm::StringRef spec,
                                                  ImportOptions &options) {
  auto [name, dims] = spec.rsplit(':');
  if (name.empty() || name.size() == spec.size())
    return llvm::createStringError(
        "--input-shape expects NAME:DIMS such as x:2x128, got '" + spec + "'");
  llvm::SmallVector<int64_t> shape;
  if (!dims.empty()) {
    llvm::SmallVector<llvm::StringRef> parts;
    dims.split(parts, 'x');
    for (llvm::StringRef p : parts) {
      int64_t d;
      if (p.getAsInteger(10, d) || d < 0)
        return llvm::createStringError("--input-shape " + spec +
                                       ": dimension '" + p +
                                       "' is not a non-negative integer");
      shape.push_back(d);
    }
  }
  if (!checkedNumElements(shape, 8))
    return llvm::createStringError("--input-shape " + spec +
                                   ": the shape's size overflows");
  options.inputShapes[name] = shape;
  return llvm::Error::success();
}

llvm::Error tessera::onnx_import::parseBindInput(llvm::StringRef spec,
                                                 ImportOptions &options) {
  auto [name, file] = spec.split('=');
  if (name.empty() || file.empty())
    return llvm::createStringError(
        "--bind-input expects NAME=FILE.pb, got '" + spec + "'");
  options.boundInputs[name] = file.str();
  return llvm::Error::success();
}

void tessera::onnx_import::registerImportDialects(MLIRContext &context) {
  context.loadDialect<tessera::TesseraDialect, func::FuncDialect>();
}

//===----------------------------------------------------------------------===//
// GraphImporter helpers
//===----------------------------------------------------------------------===//

LogicalResult GraphImporter::fail(const llvm::Twine &msg) {
  if (!error) {
    std::string where = node->name().empty()
                            ? "node producing '" +
                                  (node->output_size() ? node->output(0) : "") +
                                  "'"
                            : "node '" + node->name() + "'";
    std::string text = msg.str();
    // MLIR diagnostics may span lines; keep the error to one.
    std::replace(text.begin(), text.end(), '\n', ' ');
    error.message = where + " (" + node->op_type() + ", opset " +
                    std::to_string(opset) + "): " + text;
  }
  return failure();
}

LogicalResult GraphImporter::unsupported(const llvm::Twine &what) {
  return fail("unsupported " + what);
}

Value GraphImporter::input(int i) const {
  if (i >= node->input_size() || node->input(i).empty())
    return {};
  return values.lookup(node->input(i));
}

FailureOr<Value> GraphImporter::requiredInput(int i) {
  if (Value v = input(i))
    return v;
  return fail("missing required input #" + llvm::Twine(i));
}

RankedTensorType GraphImporter::inputType(int i) const {
  Value v = input(i);
  return v ? cast<RankedTensorType>(v.getType()) : RankedTensorType();
}

const onnx::AttributeProto *GraphImporter::attr(llvm::StringRef name) const {
  for (const auto &a : node->attribute())
    if (a.name() == name)
      return &a;
  return nullptr;
}

int64_t GraphImporter::attrInt(llvm::StringRef name, int64_t dflt) const {
  const auto *a = attr(name);
  return a && a->has_i() ? a->i() : dflt;
}

float GraphImporter::attrFloat(llvm::StringRef name, float dflt) const {
  const auto *a = attr(name);
  return a && a->has_f() ? a->f() : dflt;
}

std::string GraphImporter::attrString(llvm::StringRef name,
                                      llvm::StringRef dflt) const {
  const auto *a = attr(name);
  return a && a->has_s() ? a->s() : dflt.str();
}

std::optional<llvm::SmallVector<int64_t>>
GraphImporter::attrInts(llvm::StringRef name) const {
  const auto *a = attr(name);
  if (!a)
    return std::nullopt;
  return llvm::SmallVector<int64_t>(a->ints().begin(), a->ints().end());
}

FailureOr<llvm::SmallVector<int64_t>> GraphImporter::constantInts(int i) {
  Value v = input(i);
  DenseElementsAttr attr;
  if (!v || !matchPattern(v, m_Constant(&attr)) ||
      !isa<IntegerType>(attr.getElementType()))
    return fail("input #" + llvm::Twine(i) + " ('" +
                (i < node->input_size() ? node->input(i) : "") +
                "') must be a constant integer tensor; unsupported "
                "data-dependent shape");
  llvm::SmallVector<int64_t> out;
  for (const APInt &x : attr.getValues<APInt>())
    out.push_back(x.getSExtValue());
  return out;
}

FailureOr<llvm::SmallVector<double>> GraphImporter::constantFloats(int i) {
  Value v = input(i);
  DenseElementsAttr attr;
  if (!v || !matchPattern(v, m_Constant(&attr)) ||
      !isa<FloatType>(attr.getElementType()))
    return fail("input #" + llvm::Twine(i) + " ('" +
                (i < node->input_size() ? node->input(i) : "") +
                "') must be a constant floating-point tensor; unsupported "
                "data-dependent value");
  llvm::SmallVector<double> out;
  for (const APFloat &x : attr.getValues<APFloat>())
    out.push_back(x.convertToDouble());
  return out;
}

FailureOr<double> GraphImporter::constantScalar(int i) {
  Value v = input(i);
  DenseElementsAttr attr;
  if (!v || !matchPattern(v, m_Constant(&attr)) || attr.getNumElements() != 1)
    return fail("input #" + llvm::Twine(i) +
                " must be a constant scalar; unsupported dynamic value");
  if (isa<FloatType>(attr.getElementType()))
    return (*attr.getValues<APFloat>().begin()).convertToDouble();
  return static_cast<double>((*attr.getValues<APInt>().begin()).getSExtValue());
}

FailureOr<std::optional<llvm::SmallVector<int64_t>>>
GraphImporter::axesInput(int i) {
  if (input(i)) {
    auto v = constantInts(i);
    if (failed(v))
      return failure();
    return std::optional(*v);
  }
  return attrInts("axes");
}

FailureOr<std::optional<llvm::SmallVector<int64_t>>>
GraphImporter::reductionAxes(int64_t rank) {
  auto given = axesInput(1);
  if (failed(given))
    return failure();
  llvm::SmallVector<int64_t> axes;
  for (int64_t a : given->value_or(llvm::SmallVector<int64_t>{})) {
    auto axis = normalizeAxis(a, rank);
    if (failed(axis))
      return failure();
    axes.push_back(*axis);
  }
  llvm::sort(axes);
  if (std::adjacent_find(axes.begin(), axes.end()) != axes.end())
    return fail("reduction axes are repeated");
  if (axes.empty()) {
    if (attrInt("noop_with_empty_axes", 0) != 0)
      return std::optional<llvm::SmallVector<int64_t>>();
    for (int64_t d = 0; d < rank; ++d)
      axes.push_back(d);
  }
  return std::optional(axes);
}

/// `value` as an attribute of `element`: a float as is; for an integer type
/// rounded toward zero and saturated to the type's range (infinities to its
/// ends, NaN to zero), so an identity or a -inf mask bias on an integer
/// tensor is the nearest representable value rather than undefined behaviour.
static Attribute numberAttr(OpBuilder &builder, Type element, double value) {
  if (isa<FloatType>(element))
    return builder.getFloatAttr(element, value);
  unsigned width = element.getIntOrFloatBitWidth();
  bool isUnsigned = element.isUnsignedInteger() || width == 1;
  llvm::APSInt v(width, isUnsigned);
  bool exact = false;
  llvm::APFloat f(value);
  if (f.isNaN())
    v = 0;
  else
    // Out-of-range values (and infinities) saturate to the type's ends.
    (void)f.convertToInteger(v, llvm::APFloat::rmTowardZero, &exact);
  return builder.getIntegerAttr(element, v);
}

Value GraphImporter::emptyReduction(Value x, llvm::ArrayRef<int64_t> axes,
                                    bool keepdims, double identity) {
  RankedTensorType t = typeOf(x);
  if (llvm::none_of(axes, [&](int64_t a) { return t.getDimSize(a) == 0; }))
    return {};
  SmallVector<int64_t> shape;
  for (int64_t d = 0; d < t.getRank(); ++d) {
    if (!llvm::is_contained(axes, d))
      shape.push_back(t.getDimSize(d));
    else if (keepdims)
      shape.push_back(1);
  }
  Type element = t.getElementType();
  return constant(DenseElementsAttr::get(RankedTensorType::get(shape, element),
                                         numberAttr(builder, element, identity)));
}

Value GraphImporter::scalar(Type element, double value) {
  auto type = RankedTensorType::get({}, element);
  return constant(
      DenseElementsAttr::get(type, numberAttr(builder, element, value)));
}

FailureOr<int64_t> GraphImporter::normalizeAxis(int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank || (rank == 0 && axis != 0))
    return fail("axis " + llvm::Twine(axis) + " is out of range for rank " +
                llvm::Twine(rank));
  return axis < 0 ? axis + rank : axis;
}

FailureOr<llvm::SmallVector<Value>>
GraphImporter::create(llvm::StringRef opName, ValueRange operands,
                      llvm::ArrayRef<NamedAttribute> attrs,
                      llvm::ArrayRef<Type> resultTypes, unsigned numResults) {
  OperationState state(loc, opName);
  state.addOperands(operands);
  state.addAttributes(attrs);
  bool infer = resultTypes.empty();
  if (infer)
    state.addTypes(llvm::SmallVector<Type>(numResults, builder.getNoneType()));
  else
    state.addTypes(resultTypes);
  Operation *op = builder.create(state);
  lastDiagnostic.clear();
  if (infer) {
    auto iface = dyn_cast<InferTypeOpInterface>(op);
    llvm::SmallVector<Type> inferred;
    if (!iface ||
        failed(iface.inferReturnTypes(ctx, loc, op->getOperands(),
                                      op->getRawDictionaryAttrs(),
                                      op->getPropertiesStorage(),
                                      op->getRegions(), inferred)) ||
        inferred.size() != op->getNumResults()) {
      op->erase();
      return fail(lastDiagnostic.empty() ? "cannot infer the result type"
                                         : lastDiagnostic);
    }
    for (auto [result, type] : llvm::zip(op->getResults(), inferred))
      result.setType(type);
  }
  if (failed(mlir::verify(op))) {
    op->erase();
    return fail(lastDiagnostic);
  }
  llvm::SmallVector<Value> results(op->getResults());
  llvm::SmallVector<OpFoldResult> folded;
  if (succeeded(op->fold(folded)) && !folded.empty()) {
    llvm::SmallVector<Value> replaced;
    for (auto [result, f] : llvm::zip(op->getResults(), folded)) {
      if (auto v = dyn_cast<Value>(f)) {
        replaced.push_back(v);
        continue;
      }
      Operation *c = op->getDialect()->materializeConstant(
          builder, cast<Attribute>(f), result.getType(), loc);
      if (!c)
        break;
      replaced.push_back(c->getResult(0));
    }
    if (replaced.size() == results.size()) {
      op->erase();
      results = replaced;
    }
  }
  return results;
}

Value GraphImporter::constant(ElementsAttr value) {
  return tessera::ConstantOp::create(builder, loc, value);
}

FailureOr<Value> GraphImporter::reshape(Value v, llvm::ArrayRef<int64_t> shape) {
  auto type = cast<RankedTensorType>(v.getType());
  if (type.getShape() == shape)
    return v;
  return create1<tessera::ReshapeOp>(
      v, {}, RankedTensorType::get(shape, type.getElementType()));
}

FailureOr<Value> GraphImporter::castTo(Value v, Type element) {
  auto type = cast<RankedTensorType>(v.getType());
  if (type.getElementType() == element)
    return v;
  return create1<tessera::CastOp>(v, {}, type.clone(element));
}

LogicalResult GraphImporter::setOutputs(ValueRange results) {
  for (int i = 0; i < node->output_size(); ++i) {
    const std::string &name = node->output(i);
    if (name.empty())
      continue;
    if (i >= static_cast<int>(results.size()))
      return unsupported("output #" + llvm::Twine(i) + " ('" + name + "')");
    values[name] = results[i];
  }
  return success();
}

LogicalResult GraphImporter::convertNode(const onnx::NodeProto &n) {
  node = &n;
  std::string locName = !n.name().empty()        ? n.name()
                        : n.output_size() > 0 ? n.output(0)
                                              : n.op_type();
  loc = NameLoc::get(StringAttr::get(ctx, locName));
  if (!n.domain().empty() && n.domain() != "ai.onnx")
    return unsupported("op domain '" + n.domain() + "'");
  OpConverter convert = lookupConverter(n.op_type());
  if (!convert)
    return unsupported("op");
  // Float8 and float4 values, and 4- and 2-bit integers, are converted by
  // Cast and CastLike and moved by the data-movement ops; no other op
  // computes on them.
  static const llvm::StringSet<> miniFloatOps = {
      "Cast", "CastLike", "Identity", "Reshape", "Flatten", "Squeeze",
      "Unsqueeze", "Transpose", "Concat", "Slice", "Split", "Gather",
      "Shape", "Size", "Expand", "Tile"};
  auto typeName = [](Value v) {
    std::string text;
    llvm::raw_string_ostream os(text);
    os << getElementTypeOrSelf(v.getType());
    return llvm::StringRef(text).lower();
  };
  auto isMiniFloat = [](Type t) {
    Type e = getElementTypeOrSelf(t);
    return isa<Float8E4M3FNType, Float8E4M3FNUZType, Float8E5M2Type,
               Float8E5M2FNUZType, Float4E2M1FNType, Float8E8M0FNUType>(e) ||
           (e.isInteger() && (e.getIntOrFloatBitWidth() == 4 ||
                              e.getIntOrFloatBitWidth() == 2));
  };
  if (!miniFloatOps.contains(n.op_type()))
    for (const std::string &name : n.input())
      if (auto it = values.find(name); it != values.end() && it->second &&
                                        isMiniFloat(it->second.getType()))
        return unsupported(n.op_type() + " of " + typeName(it->second));
  if (failed(convert(*this)))
    return failure();
  if (!miniFloatOps.contains(n.op_type()))
    for (const std::string &name : n.output())
      if (auto it = values.find(name); it != values.end() && it->second &&
                                        isMiniFloat(it->second.getType()))
        return unsupported(n.op_type() + " to " + typeName(it->second));
  return success();
}

//===----------------------------------------------------------------------===//
// Graph
//===----------------------------------------------------------------------===//

namespace {
/// Collects MLIR's error diagnostics (verifier, type inference) so the
/// importer can report them as its own one-line error.
struct DiagnosticCapture {
  DiagnosticCapture(MLIRContext *ctx, std::string &sink)
      : handler(ctx, [&sink](Diagnostic &diag) {
          if (diag.getSeverity() == DiagnosticSeverity::Error && sink.empty())
            sink = diag.str();
          return success();
        }) {}
  ScopedDiagnosticHandler handler;
};

std::string formatType(Type t) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << t;
  return s;
}
} // namespace

/// Shape of a graph input, from --input-shape or its declared type.
static LogicalResult inputShape(const onnx::ValueInfoProto &info,
                                const ImportOptions &options,
                                llvm::SmallVector<int64_t> &shape,
                                std::string &error) {
  const std::string &name = info.name();
  const auto &tt = info.type().tensor_type();
  auto given = options.inputShapes.find(name);
  bool hasShape = tt.has_shape();
  if (given != options.inputShapes.end()) {
    shape = given->second;
    if (hasShape) {
      if (tt.shape().dim_size() != static_cast<int>(shape.size())) {
        error = "--input-shape gives input '" + name + "' rank " +
                std::to_string(shape.size()) + ", the model declares rank " +
                std::to_string(tt.shape().dim_size());
        return failure();
      }
      for (int i = options.batch >= 0 ? 1 : 0; i < tt.shape().dim_size(); ++i) {
        const auto &dim = tt.shape().dim(i);
        if (dim.has_dim_value() && dim.dim_value() != shape[i]) {
          error = "--input-shape gives input '" + name + "' dimension " +
                  std::to_string(i) + " = " + std::to_string(shape[i]) +
                  ", the model fixes it to " + std::to_string(dim.dim_value());
          return failure();
        }
      }
    }
    if (options.batch >= 0 && !shape.empty())
      shape[0] = options.batch;
    return success();
  }
  if (!hasShape) {
    error = "input '" + name + "' has no declared shape; give one with "
            "--input-shape=" + name + ":DIMS";
    return failure();
  }
  for (int i = 0; i < tt.shape().dim_size(); ++i) {
    const auto &dim = tt.shape().dim(i);
    if (i == 0 && options.batch >= 0) {
      shape.push_back(options.batch);
      continue;
    }
    if (!dim.has_dim_value()) {
      std::string param =
          dim.has_dim_param() ? " ('" + dim.dim_param() + "')" : "";
      error = "input '" + name + "' dimension " + std::to_string(i) + param +
              " is dynamic; fix it with --input-shape=" + name + ":DIMS";
      return failure();
    }
    if (dim.dim_value() < 0) {
      error = "input '" + name + "' dimension " + std::to_string(i) +
              " is negative (" + std::to_string(dim.dim_value()) + ")";
      return failure();
    }
    shape.push_back(dim.dim_value());
  }
  return success();
}

/// Reads the TensorProto file bound to graph input `info` and checks it
/// against the input's declared type.
static FailureOr<ElementsAttr> readBoundInput(GraphImporter &gi,
                                              const onnx::ValueInfoProto &info,
                                              const std::string &file) {
  auto fail = [&](const std::string &msg) {
    gi.error.message = "--bind-input " + info.name() + ": " + msg;
    return failure();
  };
  auto buffer = llvm::MemoryBuffer::getFile(file, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer)
    return fail("cannot read '" + file + "'");
  onnx::TensorProto tensor;
  if ((*buffer)->getBufferSize() > static_cast<size_t>(INT_MAX) ||
      !tensor.ParseFromArray((*buffer)->getBufferStart(),
                             static_cast<int>((*buffer)->getBufferSize())))
    return fail("'" + file + "' is not an ONNX TensorProto");
  tensor.set_name(info.name());
  std::string error;
  auto value = convertTensor(gi.ctx, tensor, "", gi.options, error);
  if (failed(value))
    return fail(error);
  auto type = cast<ShapedType>(value->getType());
  const auto &tt = info.type().tensor_type();
  bool mismatch = convertDataType(gi.ctx, tt.elem_type()) != type.getElementType();
  if (tt.has_shape()) {
    mismatch |= tt.shape().dim_size() != type.getRank();
    for (int d = 0; !mismatch && d < tt.shape().dim_size(); ++d)
      mismatch |= tt.shape().dim(d).has_dim_value() &&
                  tt.shape().dim(d).dim_value() != type.getDimSize(d);
  }
  if (mismatch)
    return fail("the value in '" + file + "' does not match the input's "
                "declared type");
  return *value;
}

/// Orders the nodes so every input is defined before use; reports undefined
/// values, values defined twice and cycles.
static LogicalResult topologicalOrder(GraphImporter &gi,
                                      const onnx::GraphProto &graph,
                                      const llvm::StringSet<> &graphValues,
                                      llvm::SmallVectorImpl<int> &order) {
  llvm::StringMap<int> producer;
  for (int i = 0; i < graph.node_size(); ++i)
    for (const std::string &out : graph.node(i).output()) {
      if (out.empty())
        continue;
      if (graphValues.contains(out) || !producer.try_emplace(out, i).second) {
        gi.node = &graph.node(i);
        return gi.fail("value '" + out + "' is defined twice");
      }
    }
  enum : char { Unvisited, Visiting, Done };
  std::vector<char> state(graph.node_size(), Unvisited);
  // Iterative DFS: (node, next input to look at).
  std::vector<std::pair<int, int>> stack;
  for (int root = 0; root < graph.node_size(); ++root) {
    if (state[root] != Unvisited)
      continue;
    stack.push_back({root, 0});
    state[root] = Visiting;
    while (!stack.empty()) {
      auto &[n, next] = stack.back();
      const onnx::NodeProto &nd = graph.node(n);
      if (next == nd.input_size()) {
        state[n] = Done;
        order.push_back(n);
        stack.pop_back();
        continue;
      }
      const std::string &in = nd.input(next++);
      if (in.empty() || graphValues.contains(in))
        continue;
      auto it = producer.find(in);
      if (it == producer.end()) {
        gi.node = &nd;
        return gi.fail("uses undefined value '" + in + "'");
      }
      int p = it->second;
      if (state[p] == Visiting) {
        gi.node = &nd;
        return gi.fail("graph has a cycle through value '" + in + "'");
      }
      if (state[p] == Unvisited) {
        state[p] = Visiting;
        stack.push_back({p, 0});
      }
    }
  }
  return success();
}

static FailureOr<OwningOpRef<ModuleOp>>
importGraph(GraphImporter &gi, const onnx::ModelProto &model) {
  const onnx::GraphProto &graph = model.graph();
  MLIRContext *ctx = gi.ctx;
  OpBuilder &b = gi.builder;
  Location fileLoc = FileLineColLoc::get(ctx, gi.modelName, 0, 0);
  OwningOpRef<ModuleOp> module = ModuleOp::create(fileLoc);
  b.setInsertionPointToEnd(module->getBody());
  auto fail = [&](const std::string &msg) -> FailureOr<OwningOpRef<ModuleOp>> {
    gi.error.message = msg;
    return failure();
  };

  // Initializers are constants; a graph input with the same name is the
  // initializer's declaration (IR version < 4), not a real input.
  llvm::StringMap<const onnx::TensorProto *> initializers;
  for (const auto &t : graph.initializer())
    if (!initializers.try_emplace(t.name(), &t).second)
      return fail("initializer '" + t.name() + "' is defined twice");
  if (graph.sparse_initializer_size() > 0)
    return fail("sparse initializers are unsupported");

  for (const auto &entry : gi.options.boundInputs)
    if (!llvm::any_of(graph.input(), [&](const onnx::ValueInfoProto &i) {
          return i.name() == entry.getKey();
        }))
      return fail("--bind-input names '" + entry.getKey().str() +
                  "', which is not a graph input");
  for (const auto &entry : gi.options.inputShapes)
    if (!llvm::any_of(graph.input(), [&](const onnx::ValueInfoProto &i) {
          return i.name() == entry.getKey();
        }))
      return fail("--input-shape names '" + entry.getKey().str() +
                  "', which is not a graph input");
  llvm::StringSet<> graphValues;
  llvm::SmallVector<const onnx::ValueInfoProto *> inputs;
  llvm::SmallVector<Type> inputTypes;
  llvm::SmallVector<std::pair<std::string, ElementsAttr>> bound;
  for (const auto &info : graph.input()) {
    if (!graphValues.insert(info.name()).second)
      return fail("graph input '" + info.name() + "' is declared twice");
    if (initializers.count(info.name()))
      continue;
    auto bind = gi.options.boundInputs.find(info.name());
    if (bind != gi.options.boundInputs.end()) {
      auto value = readBoundInput(gi, info, bind->second);
      if (failed(value))
        return failure();
      bound.push_back({info.name(), *value});
      continue;
    }
    if (!info.type().has_tensor_type())
      return fail("input '" + info.name() +
                  "' is not a tensor; unsupported input kind");
    int32_t dt = info.type().tensor_type().elem_type();
    Type element = convertDataType(ctx, dt);
    if (!element)
      return fail("input '" + info.name() + "' has unsupported element type " +
                  dataTypeName(dt));
    llvm::SmallVector<int64_t> shape;
    std::string error;
    if (failed(inputShape(info, gi.options, shape, error)))
      return fail(error);
    if (!checkedNumElements(shape, 8))
      return fail("input '" + info.name() + "' has an overflowing shape");
    inputs.push_back(&info);
    inputTypes.push_back(RankedTensorType::get(shape, element));
  }
  for (const auto &t : graph.initializer())
    graphValues.insert(t.name());

  auto func = func::FuncOp::create(b, fileLoc, "main",
                                   b.getFunctionType(inputTypes, {}));
  Block *body = func.addEntryBlock();
  b.setInsertionPointToStart(body);
  for (auto [i, info] : llvm::enumerate(inputs)) {
    gi.values[info->name()] = body->getArgument(i);
    func.setArgAttr(i, "tessera.name", b.getStringAttr(info->name()));
  }
  for (auto &[name, value] : bound)
    gi.values[name] = gi.constant(value);
  for (const auto &t : graph.initializer()) {
    std::string error;
    gi.loc = NameLoc::get(StringAttr::get(ctx, t.name()));
    auto value = convertTensor(ctx, t, gi.modelDir, gi.options, error);
    if (failed(value))
      return fail(error);
    gi.values[t.name()] = gi.constant(*value);
  }

  llvm::SmallVector<int> order;
  if (failed(topologicalOrder(gi, graph, graphValues, order)))
    return failure();
  for (int i : order)
    if (failed(gi.convertNode(graph.node(i))))
      return failure();

  llvm::SmallVector<Value> results;
  for (const auto &out : graph.output()) {
    Value v = gi.values.lookup(out.name());
    if (!v)
      return fail("graph output '" + out.name() + "' is never computed");
    auto type = cast<RankedTensorType>(v.getType());
    if (out.type().has_tensor_type()) {
      const auto &tt = out.type().tensor_type();
      bool mismatch = false;
      if (tt.elem_type() != 0 &&
          convertDataType(ctx, tt.elem_type()) != type.getElementType())
        mismatch = true;
      if (tt.has_shape()) {
        if (tt.shape().dim_size() != type.getRank())
          mismatch = true;
        else
          for (int d = 0; d < type.getRank(); ++d)
            if (tt.shape().dim(d).has_dim_value() &&
                tt.shape().dim(d).dim_value() != type.getDimSize(d))
              mismatch = true;
      }
      if (mismatch) {
        std::string declared = dataTypeName(tt.elem_type());
        if (tt.has_shape()) {
          declared += " [";
          for (int d = 0; d < tt.shape().dim_size(); ++d) {
            if (d)
              declared += ",";
            const auto &dim = tt.shape().dim(d);
            declared += dim.has_dim_value() ? std::to_string(dim.dim_value())
                                            : "?";
          }
          declared += "]";
        }
        return fail("graph output '" + out.name() + "' is declared as " +
                    declared + " but the graph computes " + formatType(type));
      }
    }
    results.push_back(v);
  }
  b.setInsertionPointToEnd(body);
  func::ReturnOp::create(b, fileLoc, results);
  func.setType(b.getFunctionType(inputTypes, ValueRange(results).getTypes()));
  for (auto [i, out] : llvm::enumerate(graph.output()))
    func.setResultAttr(i, "tessera.name", b.getStringAttr(out.name()));

  module->getOperation()->setAttr("tessera.opset",
                                  b.getI64IntegerAttr(gi.opset));
  if (!model.producer_name().empty())
    module->getOperation()->setAttr(
        "tessera.producer",
        b.getStringAttr(model.producer_name() +
                        (model.producer_version().empty()
                             ? ""
                             : " " + model.producer_version())));
  gi.lastDiagnostic.clear();
  if (failed(mlir::verify(*module)))
    return fail("internal error: the imported module does not verify: " +
                gi.lastDiagnostic);
  return std::move(module);
}

//===----------------------------------------------------------------------===//
// Entry points
//===----------------------------------------------------------------------===//

llvm::Expected<OwningOpRef<ModuleOp>> tessera::onnx_import::importOnnxBuffer(
    MLIRContext &context, llvm::StringRef bytes, llvm::StringRef modelDir,
    llvm::StringRef name, const ImportOptions &options) {
  auto error = [&](const llvm::Twine &msg) {
    return llvm::createStringError(name + ": " + msg);
  };
  if (bytes.empty())
    return error("the file is empty");
  if (bytes.size() > static_cast<size_t>(INT_MAX))
    return error("the model is over Protobuf's 2 GB limit; store its weights "
                 "as external data");
  onnx::ModelProto model;
  if (!model.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    return error("not an ONNX model (Protobuf parse failed: truncated or "
                 "corrupt)");
  if (!model.has_graph())
    return error("not an ONNX model (no graph)");
  int64_t opset = -1;
  for (const auto &o : model.opset_import())
    if (o.domain().empty() || o.domain() == "ai.onnx")
      opset = o.version();
  if (opset < 0)
    return error("the model imports no default-domain opset; unsupported");
  if (opset < kMinOpset || opset > kMaxOpset)
    return error("opset " + llvm::Twine(opset) +
                 " is unsupported (Tessera reads opsets " +
                 llvm::Twine(kMinOpset) + " to " + llvm::Twine(kMaxOpset) +
                 ")");

  registerImportDialects(context);
  GraphImporter gi(&context, options, modelDir.str(), name.str(), opset);
  DiagnosticCapture capture(&context, gi.lastDiagnostic);
  auto module = importGraph(gi, model);
  if (failed(module))
    return error(gi.error ? gi.error.message : "import failed");
  return std::move(*module);
}

llvm::Expected<OwningOpRef<ModuleOp>>
tessera::onnx_import::importOnnxFile(MLIRContext &context, llvm::StringRef path,
                                     const ImportOptions &options) {
  llvm::sys::fs::file_status status;
  if (llvm::sys::fs::status(path, status) ||
      !llvm::sys::fs::exists(status))
    return llvm::createStringError(path + ": no such file");
  if (!llvm::sys::fs::is_regular_file(status))
    return llvm::createStringError(path + ": not a regular file");
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer)
    return llvm::createStringError(path + ": cannot read: " +
                                   buffer.getError().message());
  llvm::SmallString<256> dir(path);
  llvm::sys::path::remove_filename(dir);
  if (dir.empty())
    dir = ".";
  return importOnnxBuffer(context, (*buffer)->getBuffer(), dir, path, options);
}
