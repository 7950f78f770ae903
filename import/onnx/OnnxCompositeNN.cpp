//===- OnnxCompositeNN.cpp - Transformer ops and losses as tessera ops ----===//
//
// The transformer building blocks that opset 23 added to ONNX, imported as
// the tessera ops of their ONNX function bodies (static shapes throughout):
//
//   RMSNormalization  x * rsqrt(mean(x^2 over axis..) + epsilon) * scale,
//                     the statistics in `stash_type` (f32 by default)
//   RotaryEmbedding   gather the cos/sin caches at position_ids, rotate the
//                     halves (or the interleaved pairs) of the first
//                     rotary_embedding_dim channels of each head
//   Attention         scaled dot-product attention (23 and 24): 3-D inputs
//                     split into heads, past key/value concatenated, a bool
//                     or additive mask (padded with -inf to the key length),
//                     bottom-right causal masking, sliding windows
//                     (left/right_window_size, opset 25), padding from
//                     nonpad_kv_seqlen, grouped-query heads
//                     repeated, softcap, softmax_precision, the four
//                     qk_matmul_output modes and ONNX's zero rows for fully
//                     masked queries
//   NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss
//                     -x[n, target, d...] through GatherElements, class
//                     weights through Gather, ignore_index masked, the
//                     none / sum / mean reductions (the latter on
//                     log_softmax over the classes)
//
//===----------------------------------------------------------------------===//

#include "import/onnx/ImporterImpl.h"

#include "dialects/Tessera/IR/TesseraOps.h"

#include "llvm/ADT/StringMap.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::tessera::onnx_import;
namespace ts = mlir::tessera;

namespace {
using GI = GraphImporter;

/// Elements [start, start + size * step) of `axis`, every `step`-th.
FailureOr<Value> sliceAxis(GI &g, Value v, int64_t axis, int64_t start,
                           int64_t size, int64_t step = 1) {
  RankedTensorType t = typeOf(v);
  SmallVector<int64_t> starts(t.getRank(), 0), sizes(t.getShape()),
      steps(t.getRank(), 1);
  starts[axis] = start;
  sizes[axis] = size;
  steps[axis] = step;
  Builder &b = g.builder;
  return g.create1<ts::SliceOp>(v, {g.named("starts", b.getDenseI64ArrayAttr(starts)),
                                    g.named("sizes", b.getDenseI64ArrayAttr(sizes)),
                                    g.named("steps", b.getDenseI64ArrayAttr(steps))});
}

FailureOr<Value> concat(GI &g, ValueRange vs, int64_t axis) {
  return g.create1<ts::ConcatOp>(vs, {g.named("axis", g.builder.getI64IntegerAttr(axis))});
}

/// A constant of `shape` and `element` type, every element `value`.
Value filled(GI &g, ArrayRef<int64_t> shape, Type element, double value) {
  auto type = RankedTensorType::get(shape, element);
  Attribute attr = isa<FloatType>(element)
                       ? Attribute(g.builder.getFloatAttr(element, value))
                       : Attribute(g.builder.getIntegerAttr(element, static_cast<int64_t>(value)));
  return g.constant(DenseElementsAttr::get(type, attr));
}

/// The element type an ONNX `stash_type` / `softmax_precision` names.
FailureOr<Type> precisionType(GI &g, llvm::StringRef attrName, int64_t dflt) {
  int64_t code = g.attrInt(attrName, dflt);
  Type t = convertDataType(g.ctx, static_cast<int32_t>(code));
  if (!t || !isa<FloatType>(t)) {
    (void)g.unsupported(attrName + " " + dataTypeName(static_cast<int32_t>(code)));
    return failure();
  }
  return t;
}

//===----------------------------------------------------------------------===//
// RMSNormalization
//===----------------------------------------------------------------------===//

LogicalResult convertRMSNormalization(GI &g) {
  TRY(x, g.requiredInput(0));
  TRY(scale, g.requiredInput(1));
  RankedTensorType type = typeOf(*x);
  TRY(axis, g.normalizeAxis(g.attrInt("axis", -1), type.getRank()));
  TRY(stash, precisionType(g, "stash_type", 1));
  SmallVector<int64_t> axes;
  for (int64_t d = *axis; d < type.getRank(); ++d)
    axes.push_back(d);
  TRY(xs, g.castTo(*x, *stash));
  TRY(sq, g.create1<ts::MulOp>({*xs, *xs}));
  TRY(mean, g.reduce<ts::ReduceMeanOp>(*sq, axes, /*keepdims=*/true));
  TRY(shifted, g.create1<ts::AddOp>({*mean, g.scalar(*stash, g.attrFloat("epsilon", 1e-5f))}));
  TRY(root, g.create1<ts::SqrtOp>(*shifted, {}, shifted->getType()));
  TRY(inv, g.create1<ts::ReciprocalOp>(*root, {}, root->getType()));
  TRY(normalized, g.create1<ts::MulOp>({*xs, *inv}));
  TRY(back, g.castTo(*normalized, type.getElementType()));
  TRY(y, g.create1<ts::MulOp>({*back, *scale}));
  if (typeOf(*y).getShape() != type.getShape())
    return g.fail("scale must broadcast to the input's shape");
  return g.setOutputs(*y);
}

//===----------------------------------------------------------------------===//
// RotaryEmbedding
//===----------------------------------------------------------------------===//

LogicalResult convertRotaryEmbedding(GI &g) {
  TRY(x, g.requiredInput(0));
  TRY(cosCache, g.requiredInput(1));
  TRY(sinCache, g.requiredInput(2));
  RankedTensorType type = typeOf(*x);
  int64_t rank = type.getRank();
  if (rank != 3 && rank != 4)
    return g.fail("input must be 3-D or 4-D");
  // To [batch, sequence, heads, head_size].
  Value in = *x;
  if (rank == 4) {
    TRY(t, transpose(g, in, {0, 2, 1, 3}));
    in = *t;
  } else {
    int64_t heads = g.attrInt("num_heads", 0);
    if (heads <= 0 || type.getDimSize(2) % heads != 0)
      return g.fail("a 3-D input needs num_heads dividing its hidden size");
    TRY(r, g.reshape(in, {type.getDimSize(0), type.getDimSize(1), heads,
                          type.getDimSize(2) / heads}));
    in = *r;
  }
  RankedTensorType t4 = typeOf(in);
  int64_t batch = t4.getDimSize(0), seq = t4.getDimSize(1), headSize = t4.getDimSize(3);
  int64_t dim = g.attrInt("rotary_embedding_dim", 0);
  if (dim == 0)
    dim = headSize;
  if (dim < 0 || dim > headSize || dim % 2 != 0)
    return g.fail("rotary_embedding_dim " + llvm::Twine(dim) +
                  " must be even and at most the head size " + llvm::Twine(headSize));
  int64_t half = dim / 2;
  Value cosv = *cosCache, sinv = *sinCache;
  if (Value ids = g.input(3)) {
    TRY(c, g.create1<ts::GatherOp>({cosv, ids}, {g.named("axis", g.builder.getI64IntegerAttr(0))}));
    TRY(s, g.create1<ts::GatherOp>({sinv, ids}, {g.named("axis", g.builder.getI64IntegerAttr(0))}));
    cosv = *c;
    sinv = *s;
  }
  for (Value cache : {cosv, sinv}) {
    RankedTensorType ct = typeOf(cache);
    if (ct.getRank() != 3 || ct.getDimSize(2) != half || ct.getDimSize(1) != seq ||
        (ct.getDimSize(0) != batch && ct.getDimSize(0) != 1))
      return g.fail("the cos and sin caches must be [batch, sequence, " + llvm::Twine(half) +
                    "] after position_ids");
  }
  // [batch, sequence, 1, half] to broadcast over the heads.
  TRY(c4, g.reshape(cosv, {typeOf(cosv).getDimSize(0), seq, 1, half}));
  TRY(s4, g.reshape(sinv, {typeOf(sinv).getDimSize(0), seq, 1, half}));
  bool interleaved = g.attrInt("interleaved", 0) != 0;
  TRY(rot, sliceAxis(g, in, 3, 0, dim));
  TRY(x1, interleaved ? sliceAxis(g, *rot, 3, 0, half, 2) : sliceAxis(g, *rot, 3, 0, half));
  TRY(x2, interleaved ? sliceAxis(g, *rot, 3, 1, half, 2) : sliceAxis(g, *rot, 3, half, half));
  TRY(cx1, g.create1<ts::MulOp>({*c4, *x1}));
  TRY(sx2, g.create1<ts::MulOp>({*s4, *x2}));
  TRY(sx1, g.create1<ts::MulOp>({*s4, *x1}));
  TRY(cx2, g.create1<ts::MulOp>({*c4, *x2}));
  TRY(real, g.create1<ts::SubOp>({*cx1, *sx2}));
  TRY(imag, g.create1<ts::AddOp>({*sx1, *cx2}));
  Value rotated;
  if (interleaved) {
    SmallVector<int64_t> pairShape(typeOf(*real).getShape());
    pairShape.push_back(1);
    TRY(re, g.reshape(*real, pairShape));
    TRY(im, g.reshape(*imag, pairShape));
    TRY(pairs, concat(g, {*re, *im}, 4));
    TRY(flat, g.reshape(*pairs, typeOf(*rot).getShape()));
    rotated = *flat;
  } else {
    TRY(joined, concat(g, {*real, *imag}, 3));
    rotated = *joined;
  }
  Value out = rotated;
  if (dim < headSize) {
    TRY(rest, sliceAxis(g, in, 3, dim, headSize - dim));
    TRY(joined, concat(g, {rotated, *rest}, 3));
    out = *joined;
  }
  if (rank == 4) {
    TRY(y, transpose(g, out, {0, 2, 1, 3}));
    return g.setOutputs(*y);
  }
  TRY(y, g.reshape(out, type.getShape()));
  return g.setOutputs(*y);
}

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

/// A 3-D [batch, sequence, heads * size] input as [batch, heads, sequence, size].
FailureOr<Value> splitHeads(GI &g, Value v, int64_t heads, llvm::StringRef what) {
  RankedTensorType t = typeOf(v);
  if (heads <= 0 || t.getDimSize(2) % heads != 0) {
    (void)g.fail("3-D " + what + " needs " + what + " heads dividing its hidden size");
    return failure();
  }
  TRY(r, g.reshape(v, {t.getDimSize(0), t.getDimSize(1), heads, t.getDimSize(2) / heads}));
  return transpose(g, *r, {0, 2, 1, 3});
}

/// Repeats each of the heads (dimension 1) `reps` times: h0, h0, h1, h1, ...
FailureOr<Value> repeatHeads(GI &g, Value v, int64_t reps) {
  RankedTensorType t = typeOf(v);
  int64_t b = t.getDimSize(0), h = t.getDimSize(1), s = t.getDimSize(2), d = t.getDimSize(3);
  TRY(r, g.reshape(v, {b, h, 1, s, d}));
  TRY(e, g.create1<ts::ExpandOp>(*r, {}, RankedTensorType::get({b, h, reps, s, d},
                                                               t.getElementType())));
  return g.reshape(*e, {b, h * reps, s, d});
}

LogicalResult convertAttention(GI &g) {
  TRY(q0, g.requiredInput(0));
  TRY(k0, g.requiredInput(1));
  TRY(v0, g.requiredInput(2));
  RankedTensorType qt = typeOf(*q0);
  int64_t rank = qt.getRank();
  if (rank != 3 && rank != 4)
    return g.fail("Q must be 3-D or 4-D");
  if (typeOf(*k0).getRank() != rank || typeOf(*v0).getRank() != rank)
    return g.fail("Q, K and V must have the same rank");
  if (!!g.input(4) != !!g.input(5))
    return g.fail("past_key and past_value must be given together");
  Value nonpad = g.input(6);
  if (nonpad && g.input(4))
    return g.fail("nonpad_kv_seqlen cannot be used with past_key and past_value");
  int64_t leftWindow = g.attrInt("left_window_size", -1);
  int64_t rightWindow = g.attrInt("right_window_size", -1);
  Type element = qt.getElementType();
  Value q = *q0, k = *k0, v = *v0;
  if (rank == 3) {
    TRY(qh, splitHeads(g, q, g.attrInt("q_num_heads", 0), "Q"));
    TRY(kh, splitHeads(g, k, g.attrInt("kv_num_heads", 0), "K"));
    TRY(vh, splitHeads(g, v, g.attrInt("kv_num_heads", 0), "V"));
    q = *qh, k = *kh, v = *vh;
  }
  int64_t batch = typeOf(q).getDimSize(0), qHeads = typeOf(q).getDimSize(1);
  int64_t qLen = typeOf(q).getDimSize(2), headSize = typeOf(q).getDimSize(3);
  if (Value pastKey = g.input(4)) {
    TRY(pk, concat(g, {pastKey, k}, 2));
    TRY(pv, concat(g, {g.input(5), v}, 2));
    k = *pk, v = *pv;
  }
  Value presentKey = k, presentValue = v;
  int64_t pastLen = g.input(4) ? typeOf(g.input(4)).getDimSize(2) : 0;
  int64_t kvLen = typeOf(k).getDimSize(2), kvHeads = typeOf(k).getDimSize(1);
  if (typeOf(v).getDimSize(1) != kvHeads || typeOf(v).getDimSize(2) != kvLen)
    return g.fail("K and V must have the same heads and sequence length");

  // The additive bias: the mask (bool: 0 where true, -inf where false),
  // padded with -inf to the key length, plus the causal mask.
  double inf = std::numeric_limits<double>::infinity();
  Value bias;
  bool biasMayMask = false;
  if (Value mask = g.input(3)) {
    RankedTensorType mt = typeOf(mask);
    if (mt.getRank() < 1 || mt.getDimSize(mt.getRank() - 1) > kvLen)
      return g.fail("attn_mask's last dimension exceeds the key length");
    if (mt.getElementType().isInteger(1)) {
      TRY(b, g.create1<ts::WhereOp>({mask, g.scalar(element, 0), g.scalar(element, -inf)}));
      mask = *b;
    } else if (mt.getElementType() != element) {
      return g.fail("attn_mask must be bool or Q's element type");
    }
    int64_t pad = kvLen - mt.getDimSize(mt.getRank() - 1);
    if (pad > 0) {
      SmallVector<int64_t> padShape(typeOf(mask).getShape());
      padShape.back() = pad;
      TRY(padded, concat(g, {mask, filled(g, padShape, element, -inf)}, mt.getRank() - 1));
      mask = *padded;
    }
    bias = mask;
    biasMayMask = true;
  }
  // Which keys each query sees. Query i sits at absolute position
  // p = i + offset, offset the keys before the query block (the past's
  // length, or nonpad_kv_seqlen - qLen per batch); key j is kept when
  // j <= p (is_causal), p - left <= j (left_window_size >= 0),
  // j <= p + right (right_window_size >= 0) and j < nonpad_kv_seqlen.
  bool causal = g.attrInt("is_causal", 0) != 0;
  bool structural = causal || leftWindow >= 0 || rightWindow >= 0 || nonpad;
  if (structural && !nonpad) {
    // A constant [qLen, kvLen] bias.
    auto type = RankedTensorType::get({qLen, kvLen}, element);
    SmallVector<Attribute> values;
    for (int64_t i = 0; i < qLen; ++i)
      for (int64_t j = 0; j < kvLen; ++j) {
        int64_t p = i + pastLen;
        bool keep = (!causal || j <= p) && (leftWindow < 0 || j >= p - leftWindow) &&
                    (rightWindow < 0 || j <= p + rightWindow);
        values.push_back(g.builder.getFloatAttr(element, keep ? 0.0 : -inf));
      }
    Value structuralBias = g.constant(DenseElementsAttr::get(type, values));
    if (bias) {
      TRY(sum, g.create1<ts::AddOp>({bias, structuralBias}));
      bias = *sum;
    } else {
      bias = structuralBias;
    }
    // A causal row keeps its own key; a window alone may keep none.
    biasMayMask = biasMayMask || leftWindow >= 0 || rightWindow >= 0;
  } else if (structural) {
    // Per batch, from nonpad_kv_seqlen ([batch] integers): [batch, 1, qLen, kvLen].
    RankedTensorType nt = typeOf(nonpad);
    if (nt.getRank() != 1 || nt.getDimSize(0) != batch ||
        !isa<IntegerType>(nt.getElementType()))
      return g.fail("nonpad_kv_seqlen must be a [batch] integer vector");
    Type i64 = g.builder.getI64Type();
    TRY(n64, g.castTo(nonpad, i64));
    TRY(n, g.reshape(*n64, {batch, 1, 1, 1}));
    SmallVector<int64_t> js, is;
    for (int64_t j = 0; j < kvLen; ++j)
      js.push_back(j);
    for (int64_t i = 0; i < qLen; ++i)
      is.push_back(i - qLen);
    Value j = g.constant(DenseElementsAttr::get(RankedTensorType::get({1, 1, 1, kvLen}, i64),
                                                ArrayRef<int64_t>(js)));
    Value iShift = g.constant(DenseElementsAttr::get(
        RankedTensorType::get({1, 1, qLen, 1}, i64), ArrayRef<int64_t>(is)));
    TRY(p, g.create1<ts::AddOp>({iShift, *n})); // i + nonpad - qLen
    TRY(keep, g.create1<ts::LessOp>({j, *n}));
    Value allowed = *keep;
    auto both = [&](FailureOr<Value> c) -> LogicalResult {
      if (failed(c))
        return failure();
      auto a = g.create1<ts::AndOp>({allowed, *c});
      if (failed(a))
        return failure();
      allowed = *a;
      return success();
    };
    if (causal && failed(both(g.create1<ts::LessEqualOp>({j, *p}))))
      return failure();
    if (leftWindow >= 0) {
      TRY(lo, g.create1<ts::SubOp>({*p, g.scalar(i64, static_cast<double>(leftWindow))}));
      if (failed(both(g.create1<ts::GreaterEqualOp>({j, *lo}))))
        return failure();
    }
    if (rightWindow >= 0) {
      TRY(hi, g.create1<ts::AddOp>({*p, g.scalar(i64, static_cast<double>(rightWindow))}));
      if (failed(both(g.create1<ts::LessEqualOp>({j, *hi}))))
        return failure();
    }
    TRY(structuralBias,
        g.create1<ts::WhereOp>({allowed, g.scalar(element, 0), g.scalar(element, -inf)}));
    if (bias) {
      TRY(sum, g.create1<ts::AddOp>({bias, *structuralBias}));
      bias = *sum;
    } else {
      bias = *structuralBias;
    }
    biasMayMask = true; // a batch with no valid keys masks whole rows
  }

  // Grouped-query attention: each KV head serves qHeads / kvHeads queries.
  if (qHeads != kvHeads) {
    if (qHeads % kvHeads != 0)
      return g.fail("Q's heads (" + llvm::Twine(qHeads) + ") are not a multiple of K's (" +
                    llvm::Twine(kvHeads) + ")");
    TRY(kr, repeatHeads(g, k, qHeads / kvHeads));
    TRY(vr, repeatHeads(g, v, qHeads / kvHeads));
    k = *kr, v = *vr;
  }

  double scale = g.attr("scale") ? g.attrFloat("scale", 1.0f)
                                 : 1.0 / std::sqrt(static_cast<double>(headSize));
  Value rootScale = g.scalar(element, static_cast<float>(std::sqrt(scale)));
  TRY(qs, g.create1<ts::MulOp>({q, rootScale}));
  TRY(ks, g.create1<ts::MulOp>({k, rootScale}));
  TRY(kT, transpose(g, *ks, {0, 1, 3, 2}));
  TRY(scores, g.create1<ts::MatMulOp>({*qs, *kT}));
  Value qk = *scores;
  float softcap = g.attrFloat("softcap", 0.0f);
  if (softcap > 0) {
    TRY(d, g.create1<ts::DivOp>({qk, g.scalar(element, softcap)}));
    TRY(th, g.create1<ts::TanhOp>(*d, {}, d->getType()));
    TRY(m, g.create1<ts::MulOp>({*th, g.scalar(element, softcap)}));
    qk = *m;
  }
  Value withBias = qk;
  if (bias) {
    TRY(sum, g.create1<ts::AddOp>({qk, bias}));
    withBias = *sum;
  }
  int64_t mode = g.attrInt("qk_matmul_output_mode", 0);
  if (mode < 0 || mode > 3)
    return g.fail("qk_matmul_output_mode " + llvm::Twine(mode) + " is not 0 to 3");
  Value qkOut = mode == 2 ? withBias : qk;

  Type precision = element;
  if (g.attr("softmax_precision")) {
    TRY(p, precisionType(g, "softmax_precision", 1));
    precision = *p;
  }
  TRY(logits, g.castTo(withBias, precision));
  TRY(probs, g.create1<ts::SoftmaxOp>(
                 *logits, {g.named("axis", g.builder.getI64IntegerAttr(3))}, logits->getType()));
  Value p = *probs;
  if (biasMayMask) {
    // A query whose every key is masked attends to nothing: zeros, not NaN.
    TRY(rowMax, g.reduce<ts::ReduceMaxOp>(bias, {typeOf(bias).getRank() - 1}, true));
    TRY(masked, g.create1<ts::EqualOp>({*rowMax, g.scalar(element, -inf)}));
    TRY(z, g.create1<ts::WhereOp>({*masked, g.scalar(precision, 0), p}));
    p = *z;
  }
  TRY(pq, g.castTo(p, element));
  if (mode == 3)
    qkOut = *pq;
  TRY(y4, g.create1<ts::MatMulOp>({*pq, v}));
  Value y = *y4;
  if (rank == 3) {
    TRY(t, transpose(g, y, {0, 2, 1, 3}));
    RankedTensorType tt = typeOf(*t);
    TRY(r, g.reshape(*t, {batch, qLen, tt.getDimSize(2) * tt.getDimSize(3)}));
    y = *r;
  }
  SmallVector<Value> results = {y, presentKey, presentValue, qkOut};
  results.resize(std::min<int64_t>(g.node->output_size(), 4));
  return g.setOutputs(results);
}

//===----------------------------------------------------------------------===//
// NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss
//===----------------------------------------------------------------------===//

/// -x[n, target[n, d...], d...] (times weight[target]) with ONNX's
/// reductions. `ignoredCountsInMean`: without weights, does an ignored
/// target still count in the mean's denominator? NLL's reference does so
/// when ignore_index is -1; SoftmaxCrossEntropyLoss's never.
FailureOr<Value> nllLoss(GI &g, Value x, Value target, Value weight,
                         bool ignoredCountsInMean) {
  RankedTensorType xt = typeOf(x), tt = typeOf(target);
  if (xt.getRank() < 2 || tt.getRank() != xt.getRank() - 1 ||
      tt.getDimSize(0) != xt.getDimSize(0)) {
    (void)g.fail("input must be [N, C, d...] and target [N, d...]");
    return failure();
  }
  std::string reduction = g.attrString("reduction", "mean");
  if (reduction != "none" && reduction != "sum" && reduction != "mean") {
    (void)g.fail("unknown reduction '" + reduction + "'");
    return failure();
  }
  Type element = xt.getElementType(), index = tt.getElementType();
  std::optional<int64_t> ignore;
  if (g.attr("ignore_index"))
    ignore = g.attrInt("ignore_index", 0);
  Value ignored, safe = target;
  if (ignore) {
    // Ignored targets (possibly out of range) read class 0, then count 0.
    TRY(eq, g.create1<ts::EqualOp>({target, g.scalar(index, *ignore)}));
    TRY(s, g.create1<ts::WhereOp>({*eq, g.scalar(index, 0), target}));
    ignored = *eq, safe = *s;
  }
  SmallVector<int64_t> oneClass(tt.getShape());
  oneClass.insert(oneClass.begin() + 1, 1);
  TRY(idx, g.reshape(safe, oneClass));
  TRY(picked, g.create1<ts::GatherElementsOp>(
                  {x, *idx}, {g.named("axis", g.builder.getI64IntegerAttr(1))}));
  TRY(flat, g.reshape(*picked, tt.getShape()));
  TRY(neg, g.create1<ts::NegOp>(*flat, {}, flat->getType()));
  Value loss = *neg;
  if (ignored) {
    TRY(z, g.create1<ts::WhereOp>({ignored, g.scalar(element, 0), loss}));
    loss = *z;
  }
  Value w;
  if (weight) {
    TRY(wt, g.create1<ts::GatherOp>({weight, safe},
                                    {g.named("axis", g.builder.getI64IntegerAttr(0))}));
    w = *wt;
  } else if (ignored && !(ignoredCountsInMean && *ignore == -1)) {
    w = filled(g, tt.getShape(), element, 1);
  }
  if (w && ignored) {
    TRY(z, g.create1<ts::WhereOp>({ignored, g.scalar(element, 0), w}));
    w = *z;
  }
  if (weight) {
    TRY(m, g.create1<ts::MulOp>({loss, w}));
    loss = *m;
  }
  if (reduction == "none")
    return loss;
  SmallVector<int64_t> all;
  for (int64_t d = 0; d < tt.getRank(); ++d)
    all.push_back(d);
  TRY(sum, g.reduce<ts::ReduceSumOp>(loss, all, /*keepdims=*/false));
  if (reduction == "sum")
    return *sum;
  if (!w)
    return g.reduce<ts::ReduceMeanOp>(loss, all, /*keepdims=*/false);
  TRY(wsum, g.reduce<ts::ReduceSumOp>(w, all, /*keepdims=*/false));
  return g.create1<ts::DivOp>({*sum, *wsum});
}

LogicalResult convertNegativeLogLikelihoodLoss(GI &g) {
  TRY(x, g.requiredInput(0));
  TRY(target, g.requiredInput(1));
  TRY(loss, nllLoss(g, *x, *target, g.input(2), /*ignoredCountsInMean=*/true));
  return g.setOutputs(*loss);
}

LogicalResult convertSoftmaxCrossEntropyLoss(GI &g) {
  TRY(x, g.requiredInput(0));
  TRY(target, g.requiredInput(1));
  if (typeOf(*x).getRank() < 2)
    return g.fail("scores must be [N, C, d...]");
  TRY(logProb, g.create1<ts::LogSoftmaxOp>(
                   *x, {g.named("axis", g.builder.getI64IntegerAttr(1))}, x->getType()));
  TRY(loss, nllLoss(g, *logProb, *target, g.input(2), /*ignoredCountsInMean=*/false));
  SmallVector<Value> results = {*loss, *logProb};
  results.resize(std::min<int64_t>(g.node->output_size(), 2));
  return g.setOutputs(results);
}

} // namespace

OpConverter mlir::tessera::onnx_import::lookupNNCompositeConverter(llvm::StringRef opType) {
  static const llvm::StringMap<OpConverter> table = {
      {"RMSNormalization", convertRMSNormalization},
      {"RotaryEmbedding", convertRotaryEmbedding},
      {"Attention", convertAttention},
      {"NegativeLogLikelihoodLoss", convertNegativeLogLikelihoodLoss},
      {"SoftmaxCrossEntropyLoss", convertSoftmaxCrossEntropyLoss},
  };
  return table.lookup(opType);
}
