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

// A table split along the gathered axis (vocab-parallel): each device
// looks up the ids in its block of rows (ids made global first, negative
// ones from the end; the others read row 0 and are zeroed), and one
// all-reduce sums the blocks.
// CHECK-LABEL: func.func @vocab_split(
// CHECK-SAME: %[[T:.+]]: tensor<50x16xf32>, %[[IDS:.+]]: tensor<2x5xi64>)
// CHECK-DAG: %[[ZERO:.+]] = tessera.constant dense<0> : tensor<i64>
// CHECK-DAG: %[[ROWS:.+]] = tessera.constant dense<50> : tensor<i64>
// CHECK-DAG: %[[ALL:.+]] = tessera.constant dense<100> : tensor<i64>
// CHECK: %[[IDX:.+]] = shard.process_multi_index on @mesh axes = [0] : index
// CHECK: %[[FIRST:.+]] = arith.muli %[[IDX]], %c50 : index
// CHECK: %[[NEG:.+]] = tessera.less %[[IDS]], %[[ZERO]]
// CHECK: %[[WRAP:.+]] = tessera.add %[[IDS]], %[[ALL]]
// CHECK: %[[GLOBAL:.+]] = tessera.where %[[NEG]], %[[WRAP]], %[[IDS]]
// CHECK: %[[LOCAL:.+]] = tessera.sub %[[GLOBAL]], %{{.+}}
// CHECK: %[[GE:.+]] = tessera.greater_equal %[[LOCAL]], %[[ZERO]]
// CHECK: %[[LT:.+]] = tessera.less %[[LOCAL]], %[[ROWS]]
// CHECK: %[[MINE:.+]] = tessera.and %[[GE]], %[[LT]]
// CHECK: %[[SAFE:.+]] = tessera.where %[[MINE]], %[[LOCAL]], %[[ZERO]]
// CHECK: %[[G:.+]] = tessera.gather %[[T]], %[[SAFE]] {axis = 0 : i64} : (tensor<50x16xf32>, tensor<2x5xi64>) -> tensor<2x5x16xf32>
// CHECK: %[[M:.+]] = tessera.reshape %[[MINE]] : tensor<2x5xi1> -> tensor<2x5x1xi1>
// CHECK: %[[Z:.+]] = tessera.where %[[M]], %[[G]]
// CHECK: %[[SUM:.+]] = shard.all_reduce %[[Z]] on @mesh grid_axes = [0] : tensor<2x5x16xf32> -> tensor<2x5x16xf32>
// CHECK: return %[[SUM]]
module {
  shard.grid @mesh(shape = 2)
  func.func @vocab_split(%table: tensor<100x16xf32>, %ids: tensor<2x5xi64>) -> tensor<2x5x16xf32> {
    %ts = shard.sharding @mesh split_axes = [[0]] : !shard.sharding
    %t = shard.shard %table to %ts annotate_for_users : tensor<100x16xf32>
    %g = tessera.gather %t, %ids {axis = 0 : i64} : (tensor<100x16xf32>, tensor<2x5xi64>) -> tensor<2x5x16xf32>
    return %g : tensor<2x5x16xf32>
  }
}

// -----

// The rows split on tp with the ids split on dp: each device looks up its
// batch slice in its block; the all-reduce runs over tp only.
// CHECK-LABEL: func.func @vocab_split_dp(
// CHECK-SAME: %[[T:.+]]: tensor<50x16xf32>, %[[IDS:.+]]: tensor<1x5xi64>) -> tensor<1x5x16xf32>
// CHECK: shard.process_multi_index on @mesh axes = [1] : index
// CHECK: tessera.gather %[[T]], %{{.+}} {axis = 0 : i64} : (tensor<50x16xf32>, tensor<1x5xi64>) -> tensor<1x5x16xf32>
// CHECK: shard.all_reduce %{{.+}} on @mesh grid_axes = [1] : tensor<1x5x16xf32> -> tensor<1x5x16xf32>
// CHECK-NOT: shard.all_
module {
  shard.grid @mesh(shape = 2x2)
  func.func @vocab_split_dp(%table: tensor<100x16xf32>, %ids: tensor<2x5xi64>) -> tensor<2x5x16xf32> {
    %ts = shard.sharding @mesh split_axes = [[1]] : !shard.sharding
    %t = shard.shard %table to %ts annotate_for_users : tensor<100x16xf32>
    %is = shard.sharding @mesh split_axes = [[0]] : !shard.sharding
    %i = shard.shard %ids to %is annotate_for_users : tensor<2x5xi64>
    %g = tessera.gather %t, %i {axis = 0 : i64} : (tensor<100x16xf32>, tensor<2x5xi64>) -> tensor<2x5x16xf32>
    %rs = shard.sharding @mesh split_axes = [[0]] : !shard.sharding
    %r = shard.shard %g to %rs : tensor<2x5x16xf32>
    return %r : tensor<2x5x16xf32>
  }
}
