// RUN: tessera-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(tessera-shard-replicate-captures))' | FileCheck %s
// RUN: tessera-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(tessera-shard-replicate-captures,sharding-propagation{traversal=forward-backward},tessera-shard-prepare-partition,shard-partition),canonicalize)' | FileCheck %s --check-prefix=PART

// A gathered table computed from a batch-split value (BERT's attention mask
// flattened and gathered by global token position): the body reads a
// replicated annotation of it, so partitioning gathers the table whole.
// CHECK-LABEL: func.func @mask_gather(
// CHECK: %[[T:.+]] = tensor.expand_shape
// CHECK: %[[S:.+]] = shard.sharding @mesh split_axes = {{\[\[}}]] : !shard.sharding
// CHECK: %[[R:.+]] = shard.shard %[[T]] to %[[S]] annotate_for_users : tensor<8x1xf32>
// CHECK: linalg.generic
// CHECK: tensor.extract %[[R]]
// PART-LABEL: func.func @mask_gather(
// PART-SAME: %{{.*}}: tensor<1x4xf32>, %{{.*}}: tensor<1x4xindex>) -> tensor<1x4xf32>
// PART: shard.all_gather %{{.*}} on @mesh grid_axes = [0] gather_axis = 0 : tensor<4x1xf32> -> tensor<8x1xf32>
// PART: tensor.extract
#id = affine_map<(d0, d1) -> (d0, d1)>
module {
  shard.grid @mesh(shape = 2)
  func.func @mask_gather(%m: tensor<2x4xf32>, %idx: tensor<2x4xindex>) -> tensor<2x4xf32> {
    %s = shard.sharding @mesh split_axes = [[0]] : !shard.sharding
    %ma = shard.shard %m to %s annotate_for_users : tensor<2x4xf32>
    %ia = shard.shard %idx to %s annotate_for_users : tensor<2x4xindex>
    %c0 = arith.constant 0 : index
    %flat = tensor.collapse_shape %ma [[0, 1]] : tensor<2x4xf32> into tensor<8xf32>
    %t = tensor.expand_shape %flat [[0, 1]] output_shape [8, 1] : tensor<8xf32> into tensor<8x1xf32>
    %e = tensor.empty() : tensor<2x4xf32>
    %g = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
        ins(%ia : tensor<2x4xindex>) outs(%e : tensor<2x4xf32>) {
    ^bb0(%i: index, %o: f32):
      %v = tensor.extract %t[%i, %c0] : tensor<8x1xf32>
      linalg.yield %v : f32
    } -> tensor<2x4xf32>
    %r = shard.shard %g to %s : tensor<2x4xf32>
    return %r : tensor<2x4xf32>
  }
}

// -----

// Ops without regions and scalars read inside a body are left alone.
// CHECK-LABEL: func.func @scalars(
// CHECK-NOT: shard.sharding
// CHECK: return
module {
  shard.grid @mesh(shape = 2)
  func.func @scalars(%x: tensor<4xf32>, %k: f32) -> tensor<4xf32> {
    %e = tensor.empty() : tensor<4xf32>
    %g = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}
        ins(%x : tensor<4xf32>) outs(%e : tensor<4xf32>) {
    ^bb0(%a: f32, %o: f32):
      %v = arith.mulf %a, %k : f32
      linalg.yield %v : f32
    } -> tensor<4xf32>
    return %g : tensor<4xf32>
  }
}
