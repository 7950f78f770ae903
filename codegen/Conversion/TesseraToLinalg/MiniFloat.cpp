//===- MiniFloat.cpp - 8- and 4-bit float formats in software -------------===//
//
// LLVM has no float8 (E4M3FN, E4M3FNUZ, E5M2, E5M2FNUZ, E8M0FNU) or float4
// (E2M1FN) types: their memrefs lower to integers of the same width, and
// conversions to and from them are built here from integer operations on
// f32 bit patterns, with the rounding and special values ml_dtypes and
// ONNX's reference give them:
//  * to the format: round to nearest even; with `saturate`, a value past
//    the largest finite one (infinities included) becomes that value;
//    without it, an infinity where the format has one (E5M2), else NaN.
//    NaN stays NaN. The FNUZ formats have no negative zero.
//  * E8M0 (an exponent only, a power-of-two scale): the f32 exponent,
//    rounded up when the mantissa is not zero (ONNX Cast's default
//    round_mode "up"), NaN and infinities 0xFF; the sign is dropped.
//
//===----------------------------------------------------------------------===//

#include "codegen/Conversion/TesseraToLinalg/LoweringUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"

#include <cmath>

using namespace mlir;

namespace {
/// One format's layout and special values.
struct Format {
  int width;       // bits
  int mantissa;    // bits
  int bias;
  bool signedFmt;  // has a sign bit
  bool fnuz;       // NaN is the sign bit alone; no negative zero
  bool hasInf;     // IEEE-style infinities (E5M2)
  uint32_t maxCode; // largest finite magnitude's code
  uint32_t nanCode; // magnitude code of NaN (FN, E5M2), or the full code (FNUZ)
  uint32_t infCode; // magnitude code of infinity (E5M2)
};

std::optional<Format> formatOf(Type t) {
  if (isa<Float8E4M3FNType>(t))
    return Format{8, 3, 7, true, false, false, 0x7E, 0x7F, 0};
  if (isa<Float8E4M3FNUZType>(t))
    return Format{8, 3, 8, true, true, false, 0x7F, 0x80, 0};
  if (isa<Float8E5M2Type>(t))
    return Format{8, 2, 15, true, false, true, 0x7B, 0x7F, 0x7C};
  if (isa<Float8E5M2FNUZType>(t))
    return Format{8, 2, 16, true, true, false, 0x7F, 0x80, 0};
  if (isa<Float4E2M1FNType>(t))
    return Format{4, 1, 1, true, false, false, 0x7, 0x8, 0};
  return std::nullopt;
}

struct Bits {
  OpBuilder &b;
  Location loc;
  Value i32(int64_t v) {
    return arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(static_cast<int32_t>(v)));
  }
  Value f32(double v) {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(static_cast<float>(v)));
  }
  Value cmp(arith::CmpIPredicate p, Value x, Value y) {
    return arith::CmpIOp::create(b, loc, p, x, y);
  }
  Value select(Value c, Value x, Value y) { return arith::SelectOp::create(b, loc, c, x, y); }
  Value add(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }
  Value sub(Value x, Value y) { return arith::SubIOp::create(b, loc, x, y); }
  Value band(Value x, Value y) { return arith::AndIOp::create(b, loc, x, y); }
  Value bor(Value x, Value y) { return arith::OrIOp::create(b, loc, x, y); }
  Value shl(Value x, int64_t n) { return arith::ShLIOp::create(b, loc, x, i32(n)); }
  Value shr(Value x, int64_t n) { return arith::ShRUIOp::create(b, loc, x, i32(n)); }
};

/// The format's code (in an i32) of the f32 `x`.
Value encode(Bits &B, const Format &f, Value x, bool saturate) {
  OpBuilder &b = B.b;
  Value u = arith::BitcastOp::create(b, B.loc, b.getI32Type(), x);
  Value sign = B.shr(u, 31);
  Value a = B.band(u, B.i32(0x7FFFFFFF));
  Value isNaN = B.cmp(arith::CmpIPredicate::ugt, a, B.i32(0x7F800000));
  Value isInf = B.cmp(arith::CmpIPredicate::eq, a, B.i32(0x7F800000));
  // Normal in the format: round the f32 mantissa to `mantissa` bits, half
  // to even (a carry moves into the exponent), then rebias.
  int shift = 23 - f.mantissa;
  Value lsb = B.band(B.shr(a, shift), B.i32(1));
  Value rounded = B.add(B.add(a, B.i32((1 << (shift - 1)) - 1)), lsb);
  Value exponent = B.add(B.shr(rounded, 23), B.i32(f.bias - 127));
  Value normal = B.bor(B.shl(exponent, f.mantissa),
                       B.band(B.shr(rounded, shift), B.i32((1 << f.mantissa) - 1)));
  // Subnormal in the format: |x| in units of its smallest subnormal,
  // rounded half to even (reaching 1 << mantissa is the smallest normal).
  Value af = arith::BitcastOp::create(b, B.loc, b.getF32Type(), a);
  Value scaled = arith::MulFOp::create(
      b, B.loc, af, B.f32(std::ldexp(1.0, f.mantissa + f.bias - 1)));
  Value subnormal = arith::FPToSIOp::create(
      b, B.loc, b.getI32Type(), math::RoundEvenOp::create(b, B.loc, scaled));
  Value code = B.select(B.cmp(arith::CmpIPredicate::sge, exponent, B.i32(1)), normal,
                        subnormal);
  // Past the largest finite value, and infinities.
  Value overflow = B.i32(saturate ? f.maxCode : f.hasInf ? f.infCode : f.nanCode);
  Value tooBig = B.bor(B.cmp(arith::CmpIPredicate::ugt, code, B.i32(f.maxCode)), isInf);
  code = B.select(tooBig, overflow, code);
  bool overflowIsNaN = !saturate && !f.hasInf;
  // The sign; the FNUZ formats have no negative zero, and their NaN is the
  // sign bit alone.
  Value signBit = B.shl(sign, f.width - 1);
  if (f.fnuz) {
    Value zero = B.cmp(arith::CmpIPredicate::eq, code, B.i32(0));
    Value withSign = B.select(zero, code, B.bor(code, signBit));
    Value nan = overflowIsNaN ? B.bor(isNaN, tooBig) : isNaN;
    code = B.select(nan, B.i32(f.nanCode), withSign);
  } else if (f.width == 4) {
    // E2M1 has no NaN: ml_dtypes (and so ONNX's reference) takes a NaN to
    // negative zero.
    code = B.select(isNaN, B.i32(0x8), B.bor(code, signBit));
  } else {
    code = B.bor(B.select(isNaN, B.i32(f.nanCode), code), signBit);
  }
  return code;
}

/// The f32 value of the format's code `c` (in an i32).
Value decode(Bits &B, const Format &f, Value c) {
  OpBuilder &b = B.b;
  Value sign = B.band(B.shr(c, f.width - 1), B.i32(1));
  Value mag = B.band(c, B.i32((1 << (f.width - 1)) - 1));
  Value exponent = B.shr(mag, f.mantissa);
  Value mantissa = B.band(mag, B.i32((1 << f.mantissa) - 1));
  Value bits = B.bor(B.shl(B.add(exponent, B.i32(127 - f.bias)), 23),
                     B.shl(mantissa, 23 - f.mantissa));
  Value normal = arith::BitcastOp::create(b, B.loc, b.getF32Type(), bits);
  Value subnormal = arith::MulFOp::create(
      b, B.loc, arith::SIToFPOp::create(b, B.loc, b.getF32Type(), mantissa),
      B.f32(std::ldexp(1.0, 1 - f.bias - f.mantissa)));
  Value v = B.select(B.cmp(arith::CmpIPredicate::eq, exponent, B.i32(0)), subnormal, normal);
  Value nan = B.f32(std::nan(""));
  if (f.fnuz) {
    Value isNaN = B.cmp(arith::CmpIPredicate::eq, c, B.i32(f.nanCode));
    v = B.select(isNaN, nan, v);
  } else if (f.hasInf) {
    Value top = B.cmp(arith::CmpIPredicate::eq, exponent,
                      B.i32((1 << (f.width - 1 - f.mantissa)) - 1));
    Value special = B.select(B.cmp(arith::CmpIPredicate::eq, mantissa, B.i32(0)),
                             B.f32(INFINITY), nan);
    v = B.select(top, special, v);
  } else if (f.width == 8) {
    v = B.select(B.cmp(arith::CmpIPredicate::eq, mag, B.i32(f.nanCode)), nan, v);
  }
  Value negated = arith::NegFOp::create(b, B.loc, v);
  return B.select(B.cmp(arith::CmpIPredicate::ne, sign, B.i32(0)), negated, v);
}
} // namespace

bool mlir::tessera::lowering::isMiniFloat(Type t) {
  return formatOf(t).has_value() || isa<Float8E8M0FNUType>(t);
}

Value mlir::tessera::lowering::truncToMiniFloat(OpBuilder &b, Location loc, Value x,
                                                Type to, bool saturate) {
  Bits B{b, loc};
  unsigned width = to.getIntOrFloatBitWidth();
  Value code;
  if (isa<Float8E8M0FNUType>(to)) {
    Value u = arith::BitcastOp::create(b, loc, b.getI32Type(), x);
    Value exponent = B.band(B.shr(u, 23), B.i32(0xFF));
    Value fraction = B.cmp(arith::CmpIPredicate::ne, B.band(u, B.i32(0x7FFFFF)), B.i32(0));
    Value special = B.cmp(arith::CmpIPredicate::eq, exponent, B.i32(0xFF));
    // Rounded up when the mantissa is not zero (NaN and infinities aside).
    Value up = B.band(fraction, B.cmp(arith::CmpIPredicate::ne, exponent, B.i32(0xFF)));
    if (saturate)
      up = arith::AndIOp::create(b, loc, up,
                                 B.cmp(arith::CmpIPredicate::ne, exponent, B.i32(0xFE)));
    code = B.add(exponent, arith::ExtUIOp::create(b, loc, b.getI32Type(), up));
    code = B.select(special, B.i32(0xFF), code);
  } else {
    code = encode(B, *formatOf(to), x, saturate);
  }
  Value narrow = arith::TruncIOp::create(b, loc, b.getIntegerType(width), code);
  return arith::BitcastOp::create(b, loc, to, narrow);
}

Value mlir::tessera::lowering::extFromMiniFloat(OpBuilder &b, Location loc, Value x) {
  Bits B{b, loc};
  Type from = x.getType();
  unsigned width = from.getIntOrFloatBitWidth();
  Value bits = arith::BitcastOp::create(b, loc, b.getIntegerType(width), x);
  Value c = arith::ExtUIOp::create(b, loc, b.getI32Type(), bits);
  if (isa<Float8E8M0FNUType>(from)) {
    // 2^(c - 127); 0xFF is NaN; c = 0 is 2^-127, an f32 subnormal.
    Value normal = arith::BitcastOp::create(b, loc, b.getF32Type(), B.shl(c, 23));
    Value v = B.select(B.cmp(arith::CmpIPredicate::eq, c, B.i32(0)),
                       B.f32(std::ldexp(1.0, -127)), normal);
    return B.select(B.cmp(arith::CmpIPredicate::eq, c, B.i32(0xFF)), B.f32(std::nan("")), v);
  }
  return decode(B, *formatOf(from), c);
}
