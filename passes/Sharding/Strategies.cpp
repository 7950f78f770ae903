//===- Strategies.cpp - Data and tensor parallel sharding strategies ------===//
//
// Each strategy writes `shard.shard` annotations on `@main`'s arguments;
// upstream `sharding-propagation` and `shard-partition` do the rest. The
// mesh is `shard.grid @mesh` with its axis names in `tessera.mesh_axes`.
//
//===----------------------------------------------------------------------===//

#include "passes/Sharding/Passes.h"
#include "passes/Sharding/TensorParallel.h"

#include "dialects/Tessera/IR/TesseraOps.h"

#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/IRMapping.h"

#include "llvm/ADT/BitVector.h"
#include "llvm/ADT/SetVector.h"

namespace mlir::tessera {
#define GEN_PASS_DEF_SHARDDATAPARALLELPASS
#define GEN_PASS_DEF_SHARDTENSORPARALLELPASS
#define GEN_PASS_DEF_RECORDSHARDINGSPASS
#include "passes/Sharding/Passes.h.inc"
} // namespace mlir::tessera

using namespace mlir;
using namespace mlir::tessera;

void mlir::tessera::addMesh(ModuleOp module, ArrayRef<std::string> names,
                            ArrayRef<int64_t> sizes) {
  OpBuilder b = OpBuilder::atBlockBegin(module.getBody());
  shard::GridOp::create(b, module.getLoc(), kMeshName, sizes);
  SmallVector<Attribute> axes;
  for (const std::string &n : names)
    axes.push_back(b.getStringAttr(n));
  module->setAttr(kMeshAxesAttrName, b.getArrayAttr(axes));
}

namespace {
/// The mesh axis `name` and its size; emits an error and fails if the
/// module has no mesh or no such axis.
FailureOr<std::pair<int16_t, int64_t>> meshAxis(ModuleOp module, StringRef name) {
  auto grid = module.lookupSymbol<shard::GridOp>(kMeshName);
  auto names = module->getAttrOfType<ArrayAttr>(kMeshAxesAttrName);
  if (!grid || !names)
    return module.emitError("no device mesh (give --mesh)"), failure();
  for (auto [i, n] : llvm::enumerate(names))
    if (cast<StringAttr>(n).getValue() == name)
      return std::make_pair(static_cast<int16_t>(i), grid.getShape()[i]);
  std::string known;
  for (Attribute n : names)
    known += (known.empty() ? "" : ", ") + cast<StringAttr>(n).getValue().str();
  return module.emitError("the mesh has no axis '")
             << name << "' (its axes: " << known << ")",
         failure();
}

func::FuncOp mainOf(ModuleOp module) {
  return module.lookupSymbol<func::FuncOp>("main");
}

/// The sharding op for `axes` (one list of mesh axes per dimension),
/// created at `b`.
Value createSharding(OpBuilder &b, Location loc,
                     ArrayRef<SmallVector<int16_t>> axes) {
  MLIRContext *ctx = b.getContext();
  SmallVector<shard::GridAxesAttr> split;
  for (auto &a : axes)
    split.push_back(DenseI16ArrayAttr::get(ctx, a));
  // Trailing unsplit dimensions may be left out.
  while (!split.empty() && split.back().empty())
    split.pop_back();
  return shard::ShardingOp::create(b, loc, FlatSymbolRefAttr::get(ctx, kMeshName),
                                   split);
}

/// The split axes per dimension of the sharding `annotation` reads.
SmallVector<SmallVector<int16_t>> axesOf(shard::ShardOp annotation, int64_t rank) {
  SmallVector<SmallVector<int16_t>> axes(rank);
  auto sharding = annotation.getSharding().getDefiningOp<shard::ShardingOp>();
  for (auto [d, a] : llvm::enumerate(sharding.getSplitAxes().getAxes()))
    axes[d].assign(a.asArrayRef().begin(), a.asArrayRef().end());
  return axes;
}

/// Splits dimension `dim` of argument `arg` over `axis`, merging with a
/// split the argument already has (dp and tp on one weight). With `users`,
/// only their operands read the split: a weight shared with other ops (a
/// tied embedding and LM head, or one zero bias that an exporter
/// deduplicated across layers) keeps its other uses as they were.
void splitArgument(func::FuncOp func, BlockArgument arg, int64_t dim,
                   int16_t axis, ArrayRef<Operation *> users = {}) {
  auto type = cast<RankedTensorType>(arg.getType());
  shard::ShardOp existing;
  for (Operation *user : arg.getUsers())
    if (auto s = dyn_cast<shard::ShardOp>(user); s && s.getAnnotateForUsers())
      existing = s;
  Value current = existing ? existing.getResult() : Value(arg);
  bool shared = !users.empty() && llvm::any_of(current.getUsers(), [&](Operation *u) {
    return !llvm::is_contained(users, u);
  });
  SmallVector<SmallVector<int16_t>> axes =
      existing ? axesOf(existing, type.getRank())
               : SmallVector<SmallVector<int16_t>>(type.getRank());
  if (!llvm::is_contained(axes[dim], axis))
    axes[dim].push_back(axis);
  if (shared) {
    // One annotation for the given users' operands.
    for (Operation *user : users) {
      OpBuilder b(user);
      Value sharding = createSharding(b, user->getLoc(), axes);
      auto shardOp = shard::ShardOp::create(b, user->getLoc(), arg, sharding,
                                            /*annotate_for_users=*/true);
      for (OpOperand &operand : user->getOpOperands())
        if (operand.get() == current)
          operand.set(shardOp.getResult());
    }
    return;
  }
  OpBuilder b = OpBuilder::atBlockBegin(&func.getBody().front());
  Value sharding = createSharding(b, func.getLoc(), axes);
  auto shardOp = shard::ShardOp::create(b, func.getLoc(), arg, sharding,
                                        /*annotate_for_users=*/true);
  if (existing) {
    existing.getResult().replaceAllUsesWith(shardOp.getResult());
    existing.erase();
  } else {
    arg.replaceAllUsesExcept(shardOp.getResult(), shardOp);
  }
}

/// The block argument behind `v` (through an existing annotation).
BlockArgument argumentOf(Value v) {
  if (!v)
    return {};
  if (auto s = v.getDefiningOp<shard::ShardOp>())
    v = s.getSrc();
  return dyn_cast<BlockArgument>(v);
}

bool isWeight(func::FuncOp func, BlockArgument arg) {
  return arg && func.getArgAttr(arg.getArgNumber(), kWeightAttrName);
}

struct ShardDataParallelPass
    : mlir::tessera::impl::ShardDataParallelPassBase<ShardDataParallelPass> {
  using Base::Base;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto axis = meshAxis(module, axisName);
    func::FuncOp func = mainOf(module);
    if (failed(axis) || !func)
      return signalPassFailure();
    for (BlockArgument arg : func.getArguments()) {
      if (!func.getArgAttr(arg.getArgNumber(), "tessera.name"))
        continue;
      auto type = cast<RankedTensorType>(arg.getType());
      if (type.getRank() == 0)
        continue;
      if (type.getDimSize(0) % axis->second != 0) {
        func.emitError("input '")
            << cast<StringAttr>(func.getArgAttr(arg.getArgNumber(), "tessera.name"))
                   .getValue()
            << "': batch dimension " << type.getDimSize(0)
            << " is not divisible by mesh axis '" << axisName << "' ("
            << axis->second << " devices)";
        return signalPassFailure();
      }
      splitArgument(func, arg, 0, axis->first);
      ++numInputs;
    }
  }
};

/// A contraction with a 2-D weight: its weight argument, which weight
/// dimension is N (the output columns) and which is K.
struct Contraction {
  Operation *op;
  BlockArgument weight;
  int64_t nDim, kDim;
  Value bias; // Gemm's C
  Value lhs;
};

std::optional<Contraction> asContraction(func::FuncOp func, Operation *op) {
  if (auto mm = dyn_cast<MatMulOp>(op)) {
    BlockArgument w = argumentOf(mm.getRhs());
    if (!isWeight(func, w) || cast<RankedTensorType>(w.getType()).getRank() != 2)
      return std::nullopt;
    return Contraction{op, w, 1, 0, Value(), mm.getLhs()};
  }
  if (auto g = dyn_cast<GemmOp>(op)) {
    BlockArgument w = argumentOf(g.getB());
    if (!isWeight(func, w) || g.getTransA())
      return std::nullopt;
    bool t = g.getTransB();
    return Contraction{op, w, t ? 0 : 1, t ? 1 : 0, g.getC(), g.getA()};
  }
  return std::nullopt;
}

/// Ops that act per element on their chain operand (other operands
/// broadcast to it): elementwise ones, the broadcasting binary ops
/// (arithmetic, comparisons, logic) and Where, and Clip.
bool isPointwise(Operation *op) {
  return op->getNumResults() == 1 &&
         (op->hasTrait<::mlir::OpTrait::Elementwise>() ||
          op->hasTrait<tessera::OpTrait::BroadcastPointwise>() || isa<ClipOp>(op));
}

/// Ops a column split passes through between the column- and the
/// row-parallel contractions: pointwise ops, head reshapes and transposes,
/// the attention products (contractions of two split values) and softmax
/// along the unsplit last axis.
bool carriesSplit(func::FuncOp func, Operation *op) {
  // Head reshapes and transposes; rotary embeddings' halves (Slice, Neg,
  // Concat along the head dimension); grouped-query attention's repeated
  // KV heads (Expand of a unit dimension, then a Reshape). Propagation
  // keeps the split where these leave the split dimension whole, and
  // gathers otherwise.
  if (isPointwise(op) || isa<ReshapeOp, TransposeOp, SliceOp, ConcatOp, ExpandOp>(op))
    return true;
  if (auto softmax = dyn_cast<SoftmaxOp>(op)) {
    int64_t rank = cast<RankedTensorType>(softmax.getType()).getRank();
    auto axis = static_cast<int64_t>(softmax.getAxis());
    return axis == -1 || axis == rank - 1;
  }
  return isa<MatMulOp>(op) && !asContraction(func, op);
}

/// Whether `v` is a constant or derives from constants only (a causal
/// mask, a scale): replicated, and never split.
bool isConstantLike(Value v) {
  Operation *def = v.getDefiningOp();
  if (!def)
    return false;
  if (isa<ConstantOp>(def) || def->hasTrait<::mlir::OpTrait::ConstantLike>())
    return true;
  return def->getNumOperands() > 0 &&
         llvm::all_of(def->getOperands(), isConstantLike);
}

/// The one weight contraction `v` comes from through ops that carry a
/// split (reshapes, transposes, rotary slices and concats, a GQA expand,
/// pointwise ops with constant or weight operands besides), if exactly
/// one: every path back from `v` must end at it or at a constant.
std::optional<Contraction> contractionBehind(func::FuncOp func, Value v) {
  std::optional<Contraction> found;
  llvm::DenseSet<Value> seen;
  SmallVector<Value> work = {v};
  while (!work.empty()) {
    Value cur = work.pop_back_val();
    if (!seen.insert(cur).second)
      continue;
    Operation *def = cur.getDefiningOp();
    if (!def)
      return std::nullopt; // an input, not a projection
    if (std::optional<Contraction> c = asContraction(func, def)) {
      if (found && found->op != c->op)
        return std::nullopt;
      found = c;
      continue;
    }
    if (!isPointwise(def) &&
        !isa<ReshapeOp, TransposeOp, SliceOp, ConcatOp, ExpandOp>(def))
      return std::nullopt;
    for (Value operand : def->getOperands())
      if (!isWeight(func, argumentOf(operand)) && !isConstantLike(operand))
        work.push_back(operand);
  }
  return found;
}

/// A new weight argument holding columns [begin, begin + count) of weight
/// `arg` along `dim`, named `<name>.part<part>`.
BlockArgument sliceWeight(func::FuncOp func, BlockArgument arg, int64_t dim,
                          int64_t begin, int64_t count, int64_t part) {
  return copyWeight(func, arg, dim, begin, count, count,
                    (".part" + Twine(part)).str());
}

/// Fused projections (GPT-2's c_attn: one weight for Q, K and V, its
/// result cut by a Split into equal column blocks) become one contraction
/// per block, each with its own slice of the weight and bias. A column
/// split of the fused weight would give each device whole Q columns and no
/// V; split per block, each device gets the same heads of all three.
void splitFusedProjections(func::FuncOp func) {
  SmallVector<SplitOp> splits;
  func.walk([&](SplitOp s) { splits.push_back(s); });
  llvm::BitVector unused(func.getNumArguments());
  for (SplitOp split : splits) {
    auto type = cast<RankedTensorType>(split.getInput().getType());
    int64_t axis = split.getAxis() < 0 ? split.getAxis() + type.getRank()
                                       : split.getAxis();
    ArrayRef<int64_t> sizes = split.getSizes();
    if (axis != type.getRank() - 1 || sizes.size() < 2 ||
        llvm::any_of(sizes, [&](int64_t n) { return n != sizes.front(); }))
      continue;
    // Split(Add(contraction, bias)) or Split(contraction), maybe through a
    // Reshape that keeps the last dimension (GPT-2's Conv1D exports as a
    // Gemm on [B*S, H] and a Reshape to [B, S, 3H]).
    Value v = split.getInput();
    ReshapeOp reshape = v.getDefiningOp<ReshapeOp>();
    if (reshape) {
      auto in = cast<RankedTensorType>(reshape->getOperand(0).getType());
      if (in.getRank() < 1 || in.getShape().back() != type.getDimSize(axis) ||
          !reshape->hasOneUse())
        reshape = {};
      else
        v = reshape->getOperand(0);
    }
    AddOp add = v.getDefiningOp<AddOp>();
    BlockArgument bias;
    if (add) {
      for (unsigned i = 0; i < 2 && !bias; ++i)
        if (BlockArgument a = argumentOf(add->getOperand(i));
            isWeight(func, a) &&
            cast<RankedTensorType>(a.getType()).getShape() ==
                ArrayRef<int64_t>{type.getDimSize(axis)}) {
          bias = a;
          v = add->getOperand(1 - i);
        }
      if (!bias || !add->hasOneUse())
        continue;
    }
    Operation *mm = v.getDefiningOp();
    std::optional<Contraction> c = mm ? asContraction(func, mm) : std::nullopt;
    if (!c || !mm->hasOneUse() || argumentOf(c->weight) != c->weight ||
        (c->bias && !isa<BlockArgument>(c->bias)))
      continue;
    BlockArgument gemmBias = argumentOf(c->bias);
    if (c->bias && !(isWeight(func, gemmBias) &&
                     cast<RankedTensorType>(gemmBias.getType()).getRank() == 1 &&
                     cast<RankedTensorType>(gemmBias.getType()).getDimSize(0) ==
                         type.getDimSize(axis)))
      continue;
    OpBuilder b(split);
    int64_t n = sizes.front();
    auto fused = cast<RankedTensorType>(mm->getResult(0).getType());
    SmallVector<int64_t> partShape(fused.getShape());
    partShape.back() = n;
    auto partType = RankedTensorType::get(partShape, fused.getElementType());
    for (auto [i, result] : llvm::enumerate(split.getResults())) {
      int64_t begin = static_cast<int64_t>(i) * n;
      IRMapping mapping;
      mapping.map(c->weight, sliceWeight(func, c->weight, c->nDim, begin, n, i));
      if (gemmBias)
        mapping.map(gemmBias, sliceWeight(func, gemmBias, 0, begin, n, i));
      Operation *part = b.clone(*mm, mapping);
      part->getResult(0).setType(partType);
      if (add) {
        mapping.map(mm->getResult(0), part->getResult(0));
        mapping.map(bias, sliceWeight(func, bias, 0, begin, n, i));
        part = b.clone(*add, mapping);
        part->getResult(0).setType(partType);
      }
      if (reshape)
        part = ReshapeOp::create(b, reshape->getLoc(), result.getType(), part->getResult(0));
      result.replaceAllUsesWith(part->getResult(0));
    }
    split.erase();
    if (reshape)
      reshape->erase();
    if (add)
      add.erase();
    mm->erase();
    unused.resize(func.getNumArguments());
    for (BlockArgument a : {c->weight, gemmBias, bias})
      if (a && a.use_empty())
        unused.set(a.getArgNumber());
  }
  unused.resize(func.getNumArguments());
  // The fused weights' bytes are not needed any more: drop them (a mapped
  // one is unmapped), so a large model does not hold them beside their
  // slices.
  for (unsigned i : unused.set_bits())
    if (auto attr = func.getArgAttrOfType<DenseResourceElementsAttr>(i, kWeightAttrName))
      attr.getRawHandle().getResource()->setBlob(AsmResourceBlob());
  (void)func.eraseArguments(unused);
}

/// A Megatron group: column-parallel contractions whose results meet,
/// through ops that carry the split, at one row-parallel contraction.
struct TensorParallelGroup {
  SmallVector<Contraction> columns;
  std::optional<Contraction> row;
  /// Per-column vectors (a bias added separately) and the op adding each.
  SmallVector<std::pair<BlockArgument, Operation *>> columnVectors;
  /// The ops between the columns and the row contraction.
  SmallVector<Operation *> region;
};

/// The group that starts at `first`, if the graph has one.
std::optional<TensorParallelGroup> findGroup(func::FuncOp func,
                                             const Contraction &first) {
  TensorParallelGroup group;
  group.columns.push_back(first);
  llvm::SetVector<Operation *> region;
  llvm::DenseSet<Operation *> columnOps = {first.op};
  SmallVector<Value> work = {first.op->getResult(0)};
  auto isSplitValue = [&](Value v) {
    Operation *def = v.getDefiningOp();
    return def && (region.contains(def) || columnOps.contains(def));
  };
  while (!work.empty()) {
    Value v = work.pop_back_val();
    for (Operation *user : v.getUsers()) {
      if (std::optional<Contraction> c = asContraction(func, user);
          c && c->lhs == v) {
        if (group.row && group.row->op != user)
          return std::nullopt;
        group.row = c;
        continue;
      }
      if (isa<func::ReturnOp>(user) || !carriesSplit(func, user))
        return std::nullopt;
      if (!region.insert(user))
        continue;
      work.push_back(user->getResult(0));
      for (Value operand : user->getOperands()) {
        if (operand == v || isSplitValue(operand) || isConstantLike(operand))
          continue;
        if (BlockArgument a = argumentOf(operand); isWeight(func, a)) {
          // A per-column vector (a bias added separately) splits too.
          auto t = cast<RankedTensorType>(a.getType());
          bool column = t.getRank() == 1 &&
                        llvm::any_of(group.columns, [&](const Contraction &c) {
                          return cast<RankedTensorType>(c.weight.getType())
                                     .getDimSize(c.nDim) == t.getDimSize(0);
                        });
          // Any other (rotary cos/sin tables, a causal mask: constants the
          // mesh compile outlined) is read replicated, as constants are.
          if (column)
            group.columnVectors.push_back({a, user});
          continue;
        }
        // The other side of an attention product: another projection.
        if (isa<MatMulOp>(user)) {
          std::optional<Contraction> other = contractionBehind(func, operand);
          if (!other || columnOps.contains(other->op))
            return std::nullopt;
          group.columns.push_back(*other);
          columnOps.insert(other->op);
          work.push_back(other->op->getResult(0));
          continue;
        }
        // A gate (SwiGLU's silu(x·Wg) * x·Wu): a projection of as many
        // columns as one of the group's, multiplied in pointwise, joins
        // it.
        if (std::optional<Contraction> other = contractionBehind(func, operand);
            other && !columnOps.contains(other->op) &&
            llvm::any_of(group.columns, [&](const Contraction &c) {
              return cast<RankedTensorType>(c.weight.getType()).getDimSize(c.nDim) ==
                     cast<RankedTensorType>(other->weight.getType())
                         .getDimSize(other->nDim);
            })) {
          group.columns.push_back(*other);
          columnOps.insert(other->op);
          work.push_back(other->op->getResult(0));
        }
        // Anything else (a mask computed from an input) is replicated.
      }
    }
  }
  if (!group.row)
    return std::nullopt;
  group.region = region.takeVector();
  return group;
}

/// The number of heads contraction `c`'s columns are cut into: the head
/// reshape its result reaches through pointwise ops (a bias) turns the
/// last dimension N into [H, N/H]. `chain` gets the ops on the way.
std::optional<int64_t> headsOf(func::FuncOp func, const Contraction &c,
                               SmallVectorImpl<Operation *> &chain) {
  int64_t columns = cast<RankedTensorType>(c.weight.getType()).getDimSize(c.nDim);
  Value v = c.op->getResult(0);
  while (v.hasOneUse()) {
    Operation *user = *v.user_begin();
    if (auto reshape = dyn_cast<ReshapeOp>(user)) {
      auto in = cast<RankedTensorType>(reshape->getOperand(0).getType());
      auto out = cast<RankedTensorType>(reshape.getType());
      if (in.getRank() < 1 || out.getRank() != in.getRank() + 1 ||
          in.getShape().drop_back() != out.getShape().drop_back(2) ||
          in.getShape().back() != columns)
        return std::nullopt;
      return out.getDimSize(out.getRank() - 2);
    }
    if (!isPointwise(user))
      return std::nullopt;
    chain.push_back(user);
    v = user->getResult(0);
  }
  return std::nullopt;
}

/// The smallest weight (elements) a lone contraction is split for: an LM
/// head or a classifier, not a pooler's square matrix.
constexpr int64_t kMinHeadElements = int64_t(1) << 20;

struct ShardTensorParallelPass
    : mlir::tessera::impl::ShardTensorParallelPassBase<ShardTensorParallelPass> {
  using Base::Base;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto axis = meshAxis(module, axisName);
    func::FuncOp func = mainOf(module);
    if (failed(axis) || !func)
      return signalPassFailure();
    splitFusedProjections(func);
    llvm::DenseSet<Operation *> used;
    SmallVector<Operation *> ops;
    func.walk([&](Operation *op) { ops.push_back(op); });
    for (Operation *op : ops) {
      std::optional<Contraction> first = asContraction(func, op);
      if (!first || used.contains(op))
        continue;
      std::optional<TensorParallelGroup> group = findGroup(func, *first);
      if (!group)
        continue;
      padUnevenHeads(func, *group, axis->second);
      const Contraction &row = *group->row;
      llvm::DenseSet<BlockArgument> weights = {row.weight};
      bool ok = !used.contains(row.op) &&
                cast<RankedTensorType>(row.weight.getType()).getDimSize(row.kDim) %
                        axis->second == 0;
      // A projection to fewer heads than devices (grouped-query
      // attention's K and V on tp=8 over 4 KV heads) stays whole: each
      // device computes all KV heads and takes the ones its query heads
      // read. The others split by columns.
      llvm::DenseSet<Operation *> replicated, biasChains;
      for (const Contraction &c : group->columns) {
        ok = ok && !used.contains(c.op) && weights.insert(c.weight).second;
        SmallVector<Operation *> chain;
        std::optional<int64_t> heads = headsOf(func, c, chain);
        int64_t columns = cast<RankedTensorType>(c.weight.getType()).getDimSize(c.nDim);
        if (heads ? *heads % axis->second != 0 : columns % axis->second != 0) {
          if (!heads || group->columns.size() < 2)
            ok = false;
          replicated.insert(c.op);
          biasChains.insert(chain.begin(), chain.end());
        }
      }
      ok = ok && replicated.size() < group->columns.size();
      if (!ok)
        continue;
      for (const Contraction &c : group->columns) {
        used.insert(c.op);
        if (replicated.contains(c.op))
          continue;
        splitArgument(func, c.weight, c.nDim, axis->first, {c.op});
        if (BlockArgument b = argumentOf(c.bias); isWeight(func, b) &&
            cast<RankedTensorType>(b.getType()).getRank() == 1)
          splitArgument(func, b, 0, axis->first, {c.op});
      }
      for (auto [a, user] : group->columnVectors)
        if (!biasChains.contains(user))
          splitArgument(func, a, 0, axis->first, {user});
      splitArgument(func, row.weight, row.kDim, axis->first, {row.op});
      used.insert(row.op);
      ++numGroups;
    }
    splitEmbeddings(func, ops, *axis);
    splitHeads(func, ops, used, *axis);
    // Weights padding replaced (and no other op reads) go, with their bytes.
    llvm::BitVector unused(func.getNumArguments());
    for (BlockArgument a : func.getArguments())
      if (a.use_empty() && isWeight(func, a)) {
        unused.set(a.getArgNumber());
        cast<DenseResourceElementsAttr>(func.getArgAttr(a.getArgNumber(), kWeightAttrName))
            .getRawHandle()
            .getResource()
            ->setBlob(AsmResourceBlob());
      }
    (void)func.eraseArguments(unused);
  }

  /// An attention group whose heads the axis does not divide, and whose
  /// columns all cut the same heads (not grouped-query attention, where K
  /// and V stay whole instead): pads the heads to the next multiple of the
  /// axis (PadHeads.cpp). Records what it did on the module
  /// (`tessera.padded`), for --explain.
  bool padUnevenHeads(func::FuncOp func, TensorParallelGroup &group,
                      int64_t devices) {
    HeadPadding p;
    for (const Contraction &c : group.columns) {
      SmallVector<Operation *> chain;
      std::optional<int64_t> heads = headsOf(func, c, chain);
      int64_t columns = cast<RankedTensorType>(c.weight.getType()).getDimSize(c.nDim);
      if (!heads || (p.heads && *heads != p.heads) || columns % *heads)
        return false;
      p.heads = *heads;
      p.headDim = columns / *heads;
      p.columnOps.push_back(c.op);
      for (OpOperand &o : c.op->getOpOperands()) {
        BlockArgument a = argumentOf(o.get());
        if (a == c.weight)
          p.columnWeights.push_back({&o, c.nDim});
        else if (c.bias && a == argumentOf(c.bias) && isWeight(func, a) &&
                 cast<RankedTensorType>(a.getType()).getRank() == 1)
          p.columnWeights.push_back({&o, 0});
      }
    }
    if (!p.heads || p.heads % devices == 0)
      return false;
    SmallVector<OpOperand *> vectors; // one per column vector
    for (auto [a, user] : group.columnVectors)
      for (OpOperand &o : user->getOpOperands())
        if (argumentOf(o.get()) == a) {
          p.columnWeights.push_back({&o, 0});
          vectors.push_back(&o);
          break;
        }
    if (vectors.size() != group.columnVectors.size())
      return false;
    const Contraction &row = *group.row;
    for (OpOperand &o : row.op->getOpOperands())
      if (argumentOf(o.get()) == row.weight)
        p.rowWeight = &o;
    if (!p.rowWeight)
      return false;
    p.rowDim = row.kDim;
    p.paddedHeads = (p.heads + devices - 1) / devices * devices;
    p.region = group.region;
    if (failed(padHeads(func, p)))
      return false;
    // The group's contractions now read the padded weights.
    for (Contraction &c : group.columns)
      c = *asContraction(func, c.op);
    group.row = *asContraction(func, group.row->op);
    for (auto [i, v] : llvm::enumerate(group.columnVectors))
      v.first = argumentOf(vectors[i]->get());
    std::string node;
    row.op->getLoc()->walk([&](Location l) {
      if (auto n = dyn_cast<NameLoc>(l); n && node.empty())
        node = n.getName().str();
      return WalkResult::advance();
    });
    notePadding(func, "'" + node + "': " + std::to_string(p.heads) +
                          " heads padded to " + std::to_string(p.paddedHeads));
    ++numPadded;
    return true;
  }

  /// Records `note` in the module attribute `tessera.padded` (--explain
  /// lists it).
  static void notePadding(func::FuncOp func, const std::string &note) {
    ModuleOp module = func->getParentOfType<ModuleOp>();
    SmallVector<Attribute> notes;
    if (auto old = module->getAttrOfType<ArrayAttr>("tessera.padded"))
      notes.assign(old.begin(), old.end());
    notes.push_back(StringAttr::get(func.getContext(), note));
    module->setAttr("tessera.padded", ArrayAttr::get(func.getContext(), notes));
  }

  /// A tied table whose rows the axis does not divide (GPT-2's 50257
  /// tokens) gets zero rows up to the next multiple of `devices`: no id
  /// reads them (negative ids are made positive against the real rows
  /// first), and each head product through a transpose computes the
  /// extra logits, which a slice drops. Null when a use is not a gather
  /// along axis 0 or a transpose feeding MatMuls' right operands.
  BlockArgument padVocabulary(func::FuncOp func, BlockArgument table, int64_t devices) {
    auto type = cast<RankedTensorType>(table.getType());
    int64_t rows = type.getDimSize(0);
    int64_t padded = (rows + devices - 1) / devices * devices;
    SmallVector<TransposeOp> transposes;
    for (Operation *u : table.getUsers()) {
      if (auto g = dyn_cast<GatherOp>(u); g && g.getAxis() == 0 && g.getData() == table)
        continue;
      auto t = dyn_cast<TransposeOp>(u);
      if (!t || t.getPerm() != ArrayRef<int64_t>{1, 0})
        return {};
      for (Operation *v : t->getUsers()) {
        auto mm = dyn_cast<MatMulOp>(v);
        if (!mm || mm.getRhs() != t.getResult() || mm.getLhs() == t.getResult())
          return {};
      }
      transposes.push_back(t);
    }
    BlockArgument wide = copyWeight(func, table, 0, 0, rows, padded, ".padded");
    // Negative ids count from the end of the table, not of its padded copy.
    for (Operation *u : table.getUsers())
      if (auto g = dyn_cast<GatherOp>(u)) {
        OpBuilder b(g);
        g.getIndicesMutable().assign(
            wrapNegativeIndices(b, g.getLoc(), g.getIndices(), rows));
      }
    table.replaceAllUsesWith(wide);
    for (TransposeOp t : transposes) {
      t.getResult().setType(RankedTensorType::get({type.getDimSize(1), padded},
                                                  type.getElementType()));
      for (Operation *v : llvm::make_early_inc_range(t->getUsers()))
        widenLastDim(v, padded);
    }
    notePadding(func, "'" + weightName(func, table) + "': " + std::to_string(rows) +
                          " rows padded to " + std::to_string(padded));
    return wide;
  }

  static std::string weightName(func::FuncOp func, BlockArgument arg) {
    return cast<DenseResourceElementsAttr>(func.getArgAttr(arg.getArgNumber(), kWeightAttrName))
        .getRawHandle()
        .getKey()
        .str();
  }

  /// `op`'s result computed `padded` wide in its last dimension (its
  /// operands widened already), then sliced back for its users.
  static void widenLastDim(Operation *op, int64_t padded) {
    auto type = cast<RankedTensorType>(op->getResult(0).getType());
    SmallVector<int64_t> shape(type.getShape());
    shape.back() = padded;
    op->getResult(0).setType(RankedTensorType::get(shape, type.getElementType()));
    OpBuilder b(op->getContext());
    b.setInsertionPointAfter(op);
    int64_t rank = type.getRank();
    auto slice = SliceOp::create(b, op->getLoc(), type, op->getResult(0),
                                 b.getDenseI64ArrayAttr(SmallVector<int64_t>(rank, 0)),
                                 b.getDenseI64ArrayAttr(type.getShape()),
                                 b.getDenseI64ArrayAttr(SmallVector<int64_t>(rank, 1)));
    op->getResult(0).replaceAllUsesExcept(slice.getResult(), slice);
  }

  /// Embeddings: a large weight table gathered along axis 0. A table tied
  /// to an LM head (its other uses transposes) splits over its rows, the
  /// vocabulary (Megatron's vocab-parallel embedding: each device looks up
  /// the ids in its block, one all-reduce sums the blocks; rows padded
  /// when the axis does not divide them), so the head is column-parallel
  /// and its logits are all-gathered rather than all-reduced (V is far
  /// larger than the hidden size). Other tables split over their hidden
  /// dimension, where one all-gather of the lookup (half an all-reduce's
  /// traffic) makes it whole again.
  void splitEmbeddings(func::FuncOp func, ArrayRef<Operation *> ops,
                       std::pair<int16_t, int64_t> axis) {
    MLIRContext *ctx = func.getContext();
    for (Operation *op : ops) {
      auto gather = dyn_cast<GatherOp>(op);
      if (!gather || gather.getAxis() != 0)
        continue;
      BlockArgument table = argumentOf(gather.getData());
      if (!isWeight(func, table))
        continue;
      auto type = cast<RankedTensorType>(table.getType());
      // Small tables (positions, token types) stay whole: splitting them
      // saves little and costs a collective each.
      if (type.getRank() != 2 || !isa<FloatType>(type.getElementType()) ||
          type.getNumElements() < kMinHeadElements)
        continue;
      Value current = table;
      for (Operation *u : table.getUsers())
        if (auto s = dyn_cast<shard::ShardOp>(u); s && s.getAnnotateForUsers())
          current = s.getResult();
      bool tiedOnly = true, transposed = false;
      for (Operation *u : current.getUsers()) {
        if (auto g = dyn_cast<GatherOp>(u); g && g.getAxis() == 0)
          continue;
        if (isa<TransposeOp>(u))
          transposed = true;
        else
          tiedOnly = false;
      }
      if (gather.getData() != current)
        continue; // done with an earlier gather of this table
      bool vocab = tiedOnly && transposed;
      if (vocab && type.getDimSize(0) % axis.second != 0) {
        BlockArgument wide =
            current == Value(table) ? padVocabulary(func, table, axis.second) : BlockArgument();
        vocab = static_cast<bool>(wide);
        if (wide) {
          table = wide;
          current = wide;
        }
      }
      if (!vocab && type.getDimSize(1) % axis.second != 0)
        continue;
      SmallVector<Operation *> gathers;
      for (Operation *u : current.getUsers())
        if (auto g = dyn_cast<GatherOp>(u); g && g.getAxis() == 0)
          gathers.push_back(u);
      splitArgument(func, table, vocab ? 0 : 1, axis.first,
                    tiedOnly ? ArrayRef<Operation *>{} : ArrayRef<Operation *>(gathers));
      // The lookup is whole on the axis right after: summed (vocab) or
      // gathered (hidden), so LayerNorm and the residual stream stay
      // whole; its index dimensions keep the split the indices have (dp's
      // batch split).
      for (Operation *g : gathers) {
        Value out = g->getResult(0);
        int64_t rank = cast<RankedTensorType>(out.getType()).getRank();
        SmallVector<SmallVector<int16_t>> whole(rank);
        Value ids = g->getOperand(1);
        if (auto s = ids.getDefiningOp<shard::ShardOp>()) {
          auto idsRank = cast<RankedTensorType>(ids.getType()).getRank();
          SmallVector<SmallVector<int16_t>> idsAxes = axesOf(s, idsRank);
          for (int64_t d = 0; d < idsRank && d < rank; ++d)
            whole[d] = idsAxes[d];
        }
        SmallVector<SmallVector<int16_t>> split = whole;
        if (!vocab)
          split.back().push_back(axis.first);
        OpBuilder b(ctx);
        b.setInsertionPointAfter(g);
        auto self = shard::ShardOp::create(b, g->getLoc(), out,
                                           createSharding(b, g->getLoc(), split),
                                           /*annotate_for_users=*/false);
        Value users = llvm::all_of(whole, [](auto &a) { return a.empty(); })
                          ? shard::ShardingOp::create(
                                b, g->getLoc(), FlatSymbolRefAttr::get(ctx, kMeshName),
                                ArrayRef<shard::GridAxesAttr>{DenseI16ArrayAttr::get(ctx, {})})
                                .getResult()
                          : createSharding(b, g->getLoc(), whole);
        auto forUsers = shard::ShardOp::create(b, g->getLoc(), self.getResult(), users,
                                               /*annotate_for_users=*/true);
        out.replaceAllUsesExcept(forUsers.getResult(), self);
      }
      ++(vocab ? numVocabEmbeddings : numEmbeddings);
    }
  }

  /// A large weight contraction no group took (an LM head, a classifier)
  /// is column-parallel when the axis divides its columns: its weight (and
  /// bias) split over N, its result stays split (returned split, or
  /// all-gathered where a consumer needs it whole). Otherwise row-parallel:
  /// its weight splits over K, its input is sliced locally, and its result
  /// all-reduced (twice an all-gather's traffic).
  void splitHeads(func::FuncOp func, ArrayRef<Operation *> ops,
                  llvm::DenseSet<Operation *> &used,
                  std::pair<int16_t, int64_t> axis) {
    for (Operation *op : ops) {
      std::optional<Contraction> c = asContraction(func, op);
      if (!c || used.contains(op))
        continue;
      auto type = cast<RankedTensorType>(c->weight.getType());
      bool column = type.getDimSize(c->nDim) % axis.second == 0;
      // A MatMul head whose columns the axis does not divide (GPT-2's
      // 50257 in the TorchScript export) gets zero columns up to the next
      // multiple and its result a slice back: column-parallel still, an
      // all-gather of the logits rather than an all-reduce.
      if (!column && type.getNumElements() >= kMinHeadElements && isa<MatMulOp>(op) &&
          c->nDim == 1 && c->weight.hasOneUse() &&
          cast<RankedTensorType>(op->getResult(0).getType()).getRank() >= 2) {
        int64_t columns = type.getDimSize(1);
        int64_t padded = (columns + axis.second - 1) / axis.second * axis.second;
        BlockArgument wide = copyWeight(func, c->weight, 1, 0, columns, padded, ".padded");
        op->setOperand(1, wide);
        widenLastDim(op, padded);
        notePadding(func, "'" + weightName(func, c->weight) + "': " + std::to_string(columns) +
                              " columns padded to " + std::to_string(padded));
        c = asContraction(func, op);
        type = cast<RankedTensorType>(c->weight.getType());
        column = true;
      }
      if (type.getNumElements() < kMinHeadElements ||
          (!column && type.getDimSize(c->kDim) % axis.second != 0) ||
          (c->bias && !isConstantLike(c->bias) && !isWeight(func, argumentOf(c->bias))))
        continue;
      if (column) {
        splitArgument(func, c->weight, c->nDim, axis.first, {op});
        if (BlockArgument b = argumentOf(c->bias); isWeight(func, b) &&
            cast<RankedTensorType>(b.getType()).getRank() == 1)
          splitArgument(func, b, 0, axis.first, {op});
      } else {
        splitArgument(func, c->weight, c->kDim, axis.first, {op});
      }
      used.insert(op);
      ++numHeads;
    }
  }
};

/// The split axes of a sharding op as an attribute.
ArrayAttr splitAttr(shard::ShardingOp sharding) {
  SmallVector<Attribute> dims;
  for (shard::GridAxesAttr a : sharding.getSplitAxes().getAxes())
    dims.push_back(a);
  return ArrayAttr::get(sharding.getContext(), dims);
}

struct RecordShardingsPass
    : mlir::tessera::impl::RecordShardingsPassBase<RecordShardingsPass> {
  void runOnOperation() override {
    func::FuncOp func = mainOf(getOperation());
    if (!func)
      return;
    // tessera-shard-prepare-partition left each argument one annotation.
    for (BlockArgument arg : func.getArguments())
      for (Operation *user : arg.getUsers())
        if (auto s = dyn_cast<shard::ShardOp>(user))
          if (auto sharding = s.getSharding().getDefiningOp<shard::ShardingOp>())
            func.setArgAttr(arg.getArgNumber(), kSplitAttrName, splitAttr(sharding));
    func.walk([&](func::ReturnOp ret) {
      for (auto [i, v] : llvm::enumerate(ret.getOperands())) {
        auto s = v.getDefiningOp<shard::ShardOp>();
        // The value's own sharding: the annotation on it, not for users.
        while (s && s.getAnnotateForUsers())
          s = s.getSrc().getDefiningOp<shard::ShardOp>();
        if (!s)
          continue;
        if (auto sharding = s.getSharding().getDefiningOp<shard::ShardingOp>())
          func.setResultAttr(i, kSplitAttrName, splitAttr(sharding));
      }
    });
  }
};
} // namespace
