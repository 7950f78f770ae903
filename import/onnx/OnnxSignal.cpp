//===- OnnxSignal.cpp - Signal processing ops as tessera ops --------------===//
//
// DFT (opsets 17 and 20) as dense linear maps along the transformed axis:
// the real and imaginary parts of the output are matmuls of the input's
// parts with constant cosine and sine matrices (computed in f64, stored in
// the input's type), so a transform of length L costs an L x L product,
// which suits the short transforms models carry. The forms:
//
//   forward       X_k = sum_n x_n e^(-2 pi i k n / L), k < L (onesided:
//                 k <= L / 2)
//   inverse       x_n = 1/L sum_k X_k e^(2 pi i k n / L)
//   inverse and onesided (NumPy's irfft)  a real x_n from the coefficients
//                 k <= L / 2, each counted twice but the first (and, for an
//                 even L, the last), imaginary parts of those ignored
//
// The input is [..., signal..., 1] (real) or [..., 2] (complex); dft_length
// zero-pads or truncates the input along the axis.
//
//===----------------------------------------------------------------------===//

#include "import/onnx/ImporterImpl.h"

#include "dialects/Tessera/IR/TesseraOps.h"

#include "llvm/ADT/StringMap.h"

#include <cmath>

using namespace mlir;
using namespace mlir::tessera::onnx_import;
namespace ts = mlir::tessera;

namespace {
using GI = GraphImporter;

/// `x` times the constant `m` ([out, in], row-major) along dimension `axis`.
FailureOr<Value> mapAlong(GI &g, Value x, int64_t axis, int64_t out, int64_t in,
                          ArrayRef<double> m) {
  RankedTensorType t = typeOf(x);
  int64_t rank = t.getRank();
  SmallVector<int64_t> perm, inverse(rank);
  for (int64_t d = 0; d < rank; ++d)
    if (d != axis)
      perm.push_back(d);
  perm.push_back(axis);
  for (int64_t d = 0; d < rank; ++d)
    inverse[perm[d]] = d;
  TRY(moved, transpose(g, x, perm));
  // [in, out]: the transpose of m.
  SmallVector<double> mt(in * out);
  for (int64_t o = 0; o < out; ++o)
    for (int64_t i = 0; i < in; ++i)
      mt[i * out + o] = m[o * in + i];
  Value f64 = g.constant(DenseElementsAttr::get(
      RankedTensorType::get({in, out}, g.builder.getF64Type()), ArrayRef<double>(mt)));
  TRY(matrix, g.castTo(f64, t.getElementType()));
  TRY(product, g.create1<ts::MatMulOp>({*moved, *matrix}));
  return transpose(g, *product, inverse);
}

/// a + b, either of which may be null (then the other).
FailureOr<Value> addMaybe(GI &g, Value a, Value b) {
  if (!a)
    return b;
  if (!b)
    return a;
  return g.create1<ts::AddOp>({a, b});
}

LogicalResult convertDFT(GI &g) {
  TRY(x, g.requiredInput(0));
  RankedTensorType t = typeOf(*x);
  int64_t rank = t.getRank();
  if (rank < 2 || (t.getDimSize(rank - 1) != 1 && t.getDimSize(rank - 1) != 2) ||
      !isa<FloatType>(t.getElementType()))
    return g.fail("the input must be a float [..., 1] (real) or [..., 2] (complex) tensor");
  bool complexIn = t.getDimSize(rank - 1) == 2;
  int64_t axisValue = g.opset < 20 ? g.attrInt("axis", 1) : -2;
  if (g.opset >= 20 && g.input(2)) {
    TRY(a, g.constantInts(2));
    if (a->size() != 1)
      return g.fail("axis must be one value");
    axisValue = (*a)[0];
  }
  // The axis counts the trailing real/imaginary dimension (ONNX's reference).
  TRY(axis, g.normalizeAxis(axisValue, rank));
  if (*axis == rank - 1)
    return g.fail("axis must not be the real/imaginary dimension");
  bool inverse = g.attrInt("inverse", 0) != 0, onesided = g.attrInt("onesided", 0) != 0;
  int64_t n = t.getDimSize(*axis);
  int64_t length = inverse && onesided ? 2 * (n - 1) : n;
  if (g.input(1)) {
    TRY(l, g.constantInts(1));
    if (l->size() != 1)
      return g.fail("dft_length must be one value");
    length = (*l)[0];
  }
  if (length < 1)
    return g.fail("dft_length must be positive, got " + llvm::Twine(length));
  constexpr int64_t kMaxLength = 8192;
  if (length > kMaxLength || n > kMaxLength)
    return g.unsupported("a DFT of length " + llvm::Twine(std::max(length, n)) +
                         " (dense up to " + llvm::Twine(kMaxLength) + ")");
  bool realOut = inverse && onesided;
  int64_t out = realOut ? length : (!inverse && onesided ? length / 2 + 1 : length);
  // Matrices [out, n] for out = re . rr + im . ri (real part) and
  // re . ir + im . ii (imaginary part).
  SmallVector<double> rr(out * n, 0), ri(out * n, 0), ir(out * n, 0), ii(out * n, 0);
  double twoPi = 2 * M_PI, scale = inverse ? 1.0 / static_cast<double>(length) : 1.0;
  int64_t used = realOut ? std::min(n, length / 2 + 1) : std::min(n, length);
  for (int64_t o = 0; o < out; ++o)
    for (int64_t i = 0; i < used; ++i) {
      double theta = twoPi * static_cast<double>(o) * static_cast<double>(i) /
                     static_cast<double>(length);
      double c = std::cos(theta), s = std::sin(theta);
      size_t at = o * n + i;
      if (!inverse) { // (re + i im)(cos - i sin)
        rr[at] = c, ri[at] = s, ir[at] = -s, ii[at] = c;
      } else if (!realOut) { // (re + i im)(cos + i sin) / L
        rr[at] = c * scale, ri[at] = -s * scale, ir[at] = s * scale, ii[at] = c * scale;
      } else { // Hermitian: twice each coefficient but DC and Nyquist
        double w = (i == 0 || (length % 2 == 0 && i == length / 2)) ? 1.0 : 2.0;
        rr[at] = w * c * scale, ri[at] = -w * s * scale;
      }
    }
  // The parts, without the trailing dimension.
  SmallVector<int64_t> partShape(t.getShape().drop_back());
  auto part = [&](int64_t k) -> FailureOr<Value> {
    Builder &b = g.builder;
    SmallVector<int64_t> starts(rank, 0), sizes(t.getShape()), steps(rank, 1);
    starts[rank - 1] = k;
    sizes[rank - 1] = 1;
    TRY(slice, g.create1<ts::SliceOp>(*x, {g.named("starts", b.getDenseI64ArrayAttr(starts)),
                                           g.named("sizes", b.getDenseI64ArrayAttr(sizes)),
                                           g.named("steps", b.getDenseI64ArrayAttr(steps))}));
    return g.reshape(*slice, partShape);
  };
  TRY(re, part(0));
  Value im;
  if (complexIn) {
    TRY(i, part(1));
    im = *i;
  }
  auto combine = [&](ArrayRef<double> fromRe, ArrayRef<double> fromIm) -> FailureOr<Value> {
    TRY(a, mapAlong(g, *re, *axis, out, n, fromRe));
    Value b;
    if (im) {
      TRY(m, mapAlong(g, im, *axis, out, n, fromIm));
      b = *m;
    }
    return addMaybe(g, *a, b);
  };
  SmallVector<int64_t> outPart(partShape);
  outPart[*axis] = out;
  SmallVector<int64_t> withUnit(outPart);
  withUnit.push_back(1);
  TRY(yr, combine(rr, ri));
  TRY(yrUnit, g.reshape(*yr, withUnit));
  if (realOut)
    return g.setOutputs(*yrUnit);
  TRY(yi, combine(ir, ii));
  TRY(yiUnit, g.reshape(*yi, withUnit));
  TRY(y, g.create1<ts::ConcatOp>({*yrUnit, *yiUnit},
                                 {g.named("axis", g.builder.getI64IntegerAttr(rank - 1))}));
  return g.setOutputs(*y);
}

} // namespace

OpConverter mlir::tessera::onnx_import::lookupSignalConverter(llvm::StringRef opType) {
  static const llvm::StringMap<OpConverter> table = {
      {"DFT", convertDFT},
  };
  return table.lookup(opType);
}
