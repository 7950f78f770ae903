// RUN: tessera-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(tessera-drop-broadcast-unit-dims,tessera-unroll-windows),canonicalize,func.func(sharding-propagation{traversal=forward-backward},shard-partition),canonicalize)' | FileCheck %s

// Head reshapes: a split of 64 channels over 2 devices is a split of the
// 4 heads (the outer dimension of the group), and back; no collective.
// CHECK-LABEL: func.func @heads(
// CHECK-SAME: %{{.*}}: tensor<2x32xf32>, %{{.*}}: tensor<2x2x16xf32>) -> (tensor<2x2x16xf32>, tensor<2x32xf32>)
// CHECK: tensor.expand_shape %{{.*}} {{\[\[}}0], [1, 2]] output_shape [2, 2, 16] : tensor<2x32xf32> into tensor<2x2x16xf32>
// CHECK: tensor.collapse_shape %{{.*}} {{\[\[}}0], [1, 2]] : tensor<2x2x16xf32> into tensor<2x32xf32>
// CHECK-NOT: shard.all_
module {
  shard.grid @mesh(shape = 2)
  func.func @heads(%x: tensor<2x64xf32>, %y: tensor<2x4x16xf32>) -> (tensor<2x4x16xf32>, tensor<2x64xf32>) {
    %s = shard.sharding @mesh split_axes = [[], [0]] : !shard.sharding
    %a = shard.shard %x to %s annotate_for_users : tensor<2x64xf32>
    %b = shard.shard %y to %s annotate_for_users : tensor<2x4x16xf32>
    %e = tensor.expand_shape %a [[0], [1, 2]] output_shape [2, 4, 16] : tensor<2x64xf32> into tensor<2x4x16xf32>
    %c = tensor.collapse_shape %b [[0], [1, 2]] : tensor<2x4x16xf32> into tensor<2x64xf32>
    %re = shard.shard %e to %s : tensor<2x4x16xf32>
    %rc = shard.shard %c to %s : tensor<2x64xf32>
    return %re, %rc : tensor<2x4x16xf32>, tensor<2x64xf32>
  }
}

// -----

// A split of an inner dimension of a group is no block split of the
// collapsed dimension: the reshape gathers first.
// CHECK-LABEL: func.func @inner(
// CHECK: shard.all_gather %{{.*}} on @mesh grid_axes = [0] gather_axis = 2 : tensor<2x4x8xf32> -> tensor<2x4x16xf32>
// CHECK: tensor.collapse_shape %{{.*}} : tensor<2x4x16xf32> into tensor<2x64xf32>
module {
  shard.grid @mesh(shape = 2)
  func.func @inner(%x: tensor<2x4x16xf32>) -> tensor<2x64xf32> {
    %s = shard.sharding @mesh split_axes = [[], [], [0]] : !shard.sharding
    %a = shard.shard %x to %s annotate_for_users : tensor<2x4x16xf32>
    %c = tensor.collapse_shape %a [[0], [1, 2]] : tensor<2x4x16xf32> into tensor<2x64xf32>
    return %c : tensor<2x64xf32>
  }
}

// -----

// Batch-split padding, slicing and inserting (a convolution's im2col):
// each device pads and slices its own images.
// CHECK-LABEL: func.func @im2col(
// CHECK-SAME: %{{.*}}: tensor<2x3x8x8xf32>
// CHECK: tensor.pad %{{.*}} low[0, 0, 1, 1] high[0, 0, 1, 1]
// CHECK: } : tensor<2x3x8x8xf32> to tensor<2x3x10x10xf32>
// CHECK: tensor.extract_slice %{{.*}}[0, 0, 1, 0] [2, 3, 4, 8] [1, 1, 2, 1] : tensor<2x3x10x10xf32> to tensor<2x3x4x8xf32>
// CHECK: tensor.insert_slice %{{.*}} into %{{.*}}[0, 0, 0, 0] [2, 3, 4, 8] [1, 1, 1, 1] : tensor<2x3x4x8xf32> into tensor<2x3x4x16xf32>
// CHECK-NOT: shard.all_
module {
  shard.grid @mesh(shape = 2)
  func.func @im2col(%x: tensor<4x3x8x8xf32>) -> tensor<4x3x4x16xf32> {
    %s = shard.sharding @mesh split_axes = [[0]] : !shard.sharding
    %a = shard.shard %x to %s annotate_for_users : tensor<4x3x8x8xf32>
    %zero = arith.constant 0.0 : f32
    %p = tensor.pad %a low[0, 0, 1, 1] high[0, 0, 1, 1] {
    ^bb0(%i: index, %j: index, %k: index, %l: index):
      tensor.yield %zero : f32
    } : tensor<4x3x8x8xf32> to tensor<4x3x10x10xf32>
    %v = tensor.extract_slice %p[0, 0, 1, 0] [4, 3, 4, 8] [1, 1, 2, 1] : tensor<4x3x10x10xf32> to tensor<4x3x4x8xf32>
    %init = tensor.empty() : tensor<4x3x4x16xf32>
    %i = tensor.insert_slice %v into %init[0, 0, 0, 0] [4, 3, 4, 8] [1, 1, 1, 1] : tensor<4x3x4x8xf32> into tensor<4x3x4x16xf32>
    %r = shard.shard %i to %s : tensor<4x3x4x16xf32>
    return %r : tensor<4x3x4x16xf32>
  }
}

// -----

// A reduced value broadcast back through a size-1 dimension (LayerNorm,
// softmax) is read without the constant index, so it shards; a 2x2 max
// pool becomes four strided slices folded pointwise, which shard over
// the batch.
// CHECK-LABEL: func.func @broadcast_and_pool(
// CHECK-SAME: %{{.*}}: tensor<1x4x8x8xf32>, %{{.*}}: tensor<1x4x8xf32>
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[REDUCED:map[0-9]*]], #{{.*}}]
// CHECK: tensor.extract_slice %{{.*}}[0, 0, 0, 0] [1, 4, 4, 4] [1, 1, 2, 2]
// CHECK: tensor.extract_slice %{{.*}}[0, 0, 0, 1] [1, 4, 4, 4] [1, 1, 2, 2]
// CHECK: tensor.extract_slice %{{.*}}[0, 0, 1, 0] [1, 4, 4, 4] [1, 1, 2, 2]
// CHECK: tensor.extract_slice %{{.*}}[0, 0, 1, 1] [1, 4, 4, 4] [1, 1, 2, 2]
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel"]
// CHECK-COUNT-4: arith.maximumf
// CHECK-NOT: shard.all_
#pool_in = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2 * 2 + d4, d3 * 2 + d5)>
#pool_win = affine_map<(d0, d1, d2, d3, d4, d5) -> (d4, d5)>
#pool_out = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3)>
#id = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#unit = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, 0)>
module {
  shard.grid @mesh(shape = 2)
  func.func @broadcast_and_pool(%x: tensor<2x4x8x8xf32>, %m: tensor<2x4x8xf32>) -> tensor<2x4x4x4xf32> {
    %s = shard.sharding @mesh split_axes = [[0]] : !shard.sharding
    %a = shard.shard %x to %s annotate_for_users : tensor<2x4x8x8xf32>
    %e = tensor.expand_shape %m [[0], [1], [2, 3]] output_shape [2, 4, 8, 1] : tensor<2x4x8xf32> into tensor<2x4x8x1xf32>
    %init = tensor.empty() : tensor<2x4x8x8xf32>
    %sub = linalg.generic {indexing_maps = [#id, #unit, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
        ins(%a, %e : tensor<2x4x8x8xf32>, tensor<2x4x8x1xf32>) outs(%init : tensor<2x4x8x8xf32>) {
    ^bb0(%in: f32, %b: f32, %out: f32):
      %d = arith.subf %in, %b : f32
      linalg.yield %d : f32
    } -> tensor<2x4x8x8xf32>
    %window = tensor.empty() : tensor<2x2xf32>
    %low = arith.constant 0xFF800000 : f32
    %pinit = tensor.empty() : tensor<2x4x4x4xf32>
    %fill = linalg.fill ins(%low : f32) outs(%pinit : tensor<2x4x4x4xf32>) -> tensor<2x4x4x4xf32>
    %pool = linalg.generic {indexing_maps = [#pool_in, #pool_win, #pool_out], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]}
        ins(%sub, %window : tensor<2x4x8x8xf32>, tensor<2x2xf32>) outs(%fill : tensor<2x4x4x4xf32>) {
    ^bb0(%in: f32, %w: f32, %out: f32):
      %mx = arith.maximumf %out, %in : f32
      linalg.yield %mx : f32
    } -> tensor<2x4x4x4xf32>
    %r = shard.shard %pool to %s : tensor<2x4x4x4xf32>
    return %r : tensor<2x4x4x4xf32>
  }
}
