//===- KernelEpilogue.h - What a microkernel call takes over ----*- C++ -*-===//
//
// Before the memory plan, a microkernel call that computes an accumulator
// buffer (a GEMM's C, a depthwise convolution's output) can take over the
// ops around it on buffers:
//  - the zero fill of the accumulator just before it (the call overwrites);
//  - then the elementwise op just after it, when that op is the
//    accumulator's last reader and stores, at each element,
//      clamp(acc + bias[channel] + addend, lo, hi)
//    (bias, addend and either bound optional: a convolution's or a linear
//    layer's bias, a residual add, ReLU or ReLU6) into a buffer of the
//    accumulator's elements in the same order: the call writes that buffer.
// The accumulator is seen as [outer, channels, inner], contiguous; the
// bias is a contiguous [channels] vector read at the channel.
//
//===----------------------------------------------------------------------===//
#ifndef TESSERA_CODEGEN_CPU_KERNELEPILOGUE_H
#define TESSERA_CODEGEN_CPU_KERNELEPILOGUE_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

#include <limits>
#include <optional>

namespace mlir::tessera {

/// A contiguous, statically shaped f32 memref.
bool isContiguousF32(Value v);

/// The nearest op before or after `op` that may touch memory other than by
/// allocating it (before the memory plan each buffer is a `memref.alloc`
/// just before its first writer).
Operation *memoryNeighbourPastAllocs(Operation *op, bool before);

/// The zero fill of `acc` just before `op`, if there is one.
linalg::FillOp zeroFillBefore(Operation *op, Value acc);

/// The fill of `acc` with `value` just before `op`, if there is one.
linalg::FillOp fillBefore(Operation *op, Value acc, float value);

/// The padding of a window op's input that its call can take over: the
/// padded buffer is an allocation that a fill with the padding value
/// writes, then a copy of `source` into its interior (`top` rows and
/// `left` columns in), read by `consumer` only (directly or through one
/// view, `view`), right after the copy.
struct Padding {
  Value source;
  int64_t srcH, srcW, top, left;
  memref::AllocOp alloc;
  Operation *fill, *copy, *subview, *view;
};

/// The padding of `padded` [n, c, h, w] (with `padValue` around) that
/// `consumer` reads, through `view` when not null.
std::optional<Padding> matchPadding(Operation *consumer, Value padded,
                                    Operation *view, int64_t n, int64_t c,
                                    float padValue);

/// Erases the padding's ops and its buffer (the call reads the source).
void erasePadding(const Padding &padding);

/// The address (an index) of `buffer`'s first f32 element, as the
/// microkernels' entry points take it.
Value f32Address(OpBuilder &b, Location loc, Value buffer);

/// The accumulator [outer, channels, inner] as the bias sees it.
struct AccumulatorShape {
  int64_t outer, channels, inner;
};

struct KernelEpilogue {
  linalg::GenericOp op;
  Value output, bias, addend;
  float lo = -std::numeric_limits<float>::infinity();
  float hi = std::numeric_limits<float>::infinity();
  /// Which of `shapes` (matchKernelEpilogue's) the bias is read by.
  unsigned biasShape = 0;
};

/// The elementwise op after `kernel` (which writes `acc` and reads
/// `reads`) that it can take over, the bias read by one of `shapes` (two
/// views of a GEMM's C: by rows or by columns).
std::optional<KernelEpilogue>
matchKernelEpilogue(Operation *kernel, Value acc, ArrayRef<Value> reads,
                    ArrayRef<AccumulatorShape> shapes);

/// Moves what the call at `kernel` needs of `e` (its output, bias and
/// addend) before it.
void prepareKernelEpilogue(const KernelEpilogue &e, Operation *kernel);

/// Erases `e`'s op and then `acc`'s views and allocation if nothing else
/// uses them (the call wrote `e.output` instead).
void eraseKernelEpilogue(const KernelEpilogue &e, Value acc);

} // namespace mlir::tessera

#endif // TESSERA_CODEGEN_CPU_KERNELEPILOGUE_H
