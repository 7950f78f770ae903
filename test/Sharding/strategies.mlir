// RUN: tessera-opt %s --split-input-file --tessera-shard-tensor-parallel | FileCheck %s --check-prefix=TP
// RUN: tessera-opt %s --split-input-file --tessera-shard-data-parallel | FileCheck %s --check-prefix=DP
// RUN: tessera-opt %s --split-input-file --tessera-shard-data-parallel --tessera-shard-tensor-parallel | FileCheck %s --check-prefix=BOTH
// RUN: not tessera-opt %s --tessera-shard-data-parallel="axis=x" -o /dev/null 2>&1 | FileCheck %s --check-prefix=NOAXIS

// An MLP pair: gemm (column-parallel, with its bias) -> relu -> matmul
// (row-parallel). Found from the graph: a contraction whose result reaches
// the next contraction's lhs through pointwise ops only.
// TP-LABEL: func.func @main
// TP: %[[R:.*]] = shard.sharding @mesh split_axes = {{\[\[}}1]] : !shard.sharding
// TP: %[[W2:.*]] = shard.shard %arg3 to %[[R]] annotate_for_users : tensor<16x4xf32>
// TP: %[[B:.*]] = shard.sharding @mesh split_axes = {{\[\[}}1]] : !shard.sharding
// TP: %[[B1:.*]] = shard.shard %arg2 to %[[B]] annotate_for_users : tensor<16xf32>
// TP: %[[C:.*]] = shard.sharding @mesh split_axes = {{\[\[}}], [1]] : !shard.sharding
// TP: %[[W1:.*]] = shard.shard %arg1 to %[[C]] annotate_for_users : tensor<8x16xf32>
// TP: tessera.gemm %arg0, %[[W1]], %[[B1]] :
// TP: tessera.matmul %{{.*}}, %[[W2]]
// DP-LABEL: func.func @main
// DP: %[[S:.*]] = shard.sharding @mesh split_axes = {{\[\[}}0]] : !shard.sharding
// DP: shard.shard %arg0 to %[[S]] annotate_for_users : tensor<4x8xf32>
// DP-NOT: shard.shard %arg1
// BOTH: shard.sharding @mesh split_axes = {{\[\[}}], [1]] : !shard.sharding
// BOTH: %[[D:.*]] = shard.sharding @mesh split_axes = {{\[\[}}0]] : !shard.sharding
// BOTH: shard.shard %arg0 to %[[D]] annotate_for_users
// NOAXIS: error: the mesh has no axis 'x' (its axes: dp, tp)
module attributes {tessera.mesh_axes = ["dp", "tp"]} {
  shard.grid @mesh(shape = 2x2)
  func.func @main(%x: tensor<4x8xf32> {tessera.name = "x"},
                  %w1: tensor<8x16xf32> {tessera.weight = dense_resource<w1> : tensor<8x16xf32>},
                  %b1: tensor<16xf32> {tessera.weight = dense_resource<b1> : tensor<16xf32>},
                  %w2: tensor<16x4xf32> {tessera.weight = dense_resource<w2> : tensor<16x4xf32>}) -> tensor<4x4xf32> {
    %h = tessera.gemm %x, %w1, %b1 : (tensor<4x8xf32>, tensor<8x16xf32>, tensor<16xf32>) -> tensor<4x16xf32>
    %r = tessera.relu %h : tensor<4x16xf32>
    %y = tessera.matmul %r, %w2 : (tensor<4x16xf32>, tensor<16x4xf32>) -> tensor<4x4xf32>
    return %y : tensor<4x4xf32>
  }
}
