//===- TesseraToLinalg.h - tessera to linalg patterns -----------*- C++ -*-===//
#ifndef TESSERA_CODEGEN_CONVERSION_TESSERATOLINALG_H
#define TESSERA_CODEGEN_CONVERSION_TESSERATOLINALG_H

#include "mlir/Transforms/DialectConversion.h"

namespace mlir::tessera {

/// Patterns lowering tessera ops to linalg/tensor/arith/math on tensors.
/// Types are unchanged (tensors stay tensors); `converter` is accepted so
/// other pipelines can combine these patterns with their own conversions.
void populateTesseraToLinalgPatterns(TypeConverter &converter,
                                     RewritePatternSet &patterns);

/// The elementwise ops' lowerings (ElementwiseLowering.cpp); part of
/// populateTesseraToLinalgPatterns.
void populateElementwisePatterns(TypeConverter &converter,
                                 RewritePatternSet &patterns);
/// Patterns lowering scatter_elements and scatter_nd to scf.for nests that
/// tensor.insert into a tensor carried through the loops (ScatterLowering.cpp);
/// populateTesseraToLinalgPatterns includes them.
void populateScatterLoweringPatterns(TypeConverter &converter,
                                     RewritePatternSet &patterns);
/// The lowering of `tessera.resize` (ResizeLowering.cpp); part of
/// populateTesseraToLinalgPatterns.
void populateResizeToLinalgPatterns(TypeConverter &converter,
                                    RewritePatternSet &patterns);

} // namespace mlir::tessera

#endif // TESSERA_CODEGEN_CONVERSION_TESSERATOLINALG_H
