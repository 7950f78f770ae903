// RUN: tessera-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(sharding-propagation{traversal=forward-backward},tessera-shard-prepare-partition,shard-partition),canonicalize)' | FileCheck %s

// An embedding table split over its hidden dimension: each device gathers
// its columns of the rows the (batch-split) ids pick; no collective.
// CHECK-LABEL: func.func @embedding(
// CHECK-SAME: %[[T:.+]]: tensor<100x8xf32>, %[[IDS:.+]]: tensor<1x5xi64>) -> tensor<1x5x8xf32>
// CHECK: tessera.gather %[[T]], %[[IDS]] {axis = 0 : i64} : (tensor<100x8xf32>, tensor<1x5xi64>) -> tensor<1x5x8xf32>
// CHECK-NOT: shard.all_
module {
  shard.grid @mesh(shape = 2x2)
  func.func @embedding(%table: tensor<100x16xf32>, %ids: tensor<2x5xi64>) -> tensor<2x5x16xf32> {
    %ts = shard.sharding @mesh split_axes = [[], [1]] : !shard.sharding
    %t = shard.shard %table to %ts annotate_for_users : tensor<100x16xf32>
    %is = shard.sharding @mesh split_axes = [[0]] : !shard.sharding
    %i = shard.shard %ids to %is annotate_for_users : tensor<2x5xi64>
    %g = tessera.gather %t, %i {axis = 0 : i64} : (tensor<100x16xf32>, tensor<2x5xi64>) -> tensor<2x5x16xf32>
    %rs = shard.sharding @mesh split_axes = [[0], [], [1]] : !shard.sharding
    %r = shard.shard %g to %rs : tensor<2x5x16xf32>
    return %r : tensor<2x5x16xf32>
  }
}

// -----

// A table split along the gathered axis has no local gather: it is
// gathered whole first.
// CHECK-LABEL: func.func @vocab_split(
// CHECK: shard.all_gather %{{.+}} on @mesh grid_axes = [0] gather_axis = 0 : tensor<50x16xf32> -> tensor<100x16xf32>
// CHECK: tessera.gather
module {
  shard.grid @mesh(shape = 2)
  func.func @vocab_split(%table: tensor<100x16xf32>, %ids: tensor<2x5xi64>) -> tensor<2x5x16xf32> {
    %ts = shard.sharding @mesh split_axes = [[0]] : !shard.sharding
    %t = shard.shard %table to %ts annotate_for_users : tensor<100x16xf32>
    %g = tessera.gather %t, %ids {axis = 0 : i64} : (tensor<100x16xf32>, tensor<2x5xi64>) -> tensor<2x5x16xf32>
    return %g : tensor<2x5x16xf32>
  }
}
