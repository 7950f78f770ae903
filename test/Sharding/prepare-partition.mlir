// RUN: tessera-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(tessera-shard-prepare-partition))' | FileCheck %s
// RUN: tessera-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(tessera-shard-prepare-partition,shard-partition),canonicalize)' | FileCheck %s --check-prefix=PART

// An argument annotated twice with different shardings (a weight two ops
// read differently) keeps one annotation, replicated; each use reshards
// from it.
// CHECK-LABEL: func.func @two_annotations(
// CHECK: %[[R:.+]] = shard.sharding @mesh split_axes = {{\[\[}}]]
// CHECK: %[[SELF:.+]] = shard.shard %arg0 to %[[R]] : tensor<4x8xf32>
// CHECK: shard.shard %[[SELF]] to %{{.+}} annotate_for_users : tensor<4x8xf32>
// CHECK: shard.shard %[[SELF]] to %{{.+}} annotate_for_users : tensor<4x8xf32>
// PART-LABEL: func.func @two_annotations(
// PART-SAME: %{{.*}}: tensor<4x8xf32>) -> (tensor<2x8xf32>, tensor<4x8xf32>)
// PART: shard.all_slice
// PART-NOT: shard.all_gather
module {
  shard.grid @mesh(shape = 2)
  func.func @two_annotations(%w: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>) {
    %split = shard.sharding @mesh split_axes = [[0]] : !shard.sharding
    %repl = shard.sharding @mesh split_axes = [[]] : !shard.sharding
    %a = shard.shard %w to %split annotate_for_users : tensor<4x8xf32>
    %b = shard.shard %w to %repl annotate_for_users : tensor<4x8xf32>
    %e1 = tensor.empty() : tensor<4x8xf32>
    %ea = shard.shard %e1 to %split : tensor<4x8xf32>
    %eau = shard.shard %ea to %split annotate_for_users : tensor<4x8xf32>
    %x = linalg.copy ins(%a : tensor<4x8xf32>) outs(%eau : tensor<4x8xf32>) -> tensor<4x8xf32>
    %xa = shard.shard %x to %split : tensor<4x8xf32>
    %e2 = tensor.empty() : tensor<4x8xf32>
    %eb = shard.shard %e2 to %repl : tensor<4x8xf32>
    %ebu = shard.shard %eb to %repl annotate_for_users : tensor<4x8xf32>
    %y = linalg.copy ins(%b : tensor<4x8xf32>) outs(%ebu : tensor<4x8xf32>) -> tensor<4x8xf32>
    %ya = shard.shard %y to %repl : tensor<4x8xf32>
    return %xa, %ya : tensor<4x8xf32>, tensor<4x8xf32>
  }
}

// -----

// Annotations of one argument that agree become one.
// CHECK-LABEL: func.func @same_annotations(
// CHECK-COUNT-1: shard.shard %arg0
// CHECK-NOT: shard.shard %arg0
module {
  shard.grid @mesh(shape = 2)
  func.func @same_annotations(%w: tensor<4xf32>) -> tensor<4xf32> {
    %s1 = shard.sharding @mesh split_axes = [[0]] : !shard.sharding
    %a = shard.shard %w to %s1 annotate_for_users : tensor<4xf32>
    %s2 = shard.sharding @mesh split_axes = [[0]] : !shard.sharding
    %b = shard.shard %w to %s2 annotate_for_users : tensor<4xf32>
    %e = tensor.empty() : tensor<4xf32>
    %ea = shard.shard %e to %s1 : tensor<4xf32>
    %eau = shard.shard %ea to %s1 annotate_for_users : tensor<4xf32>
    %x = linalg.add ins(%a, %b : tensor<4xf32>, tensor<4xf32>) outs(%eau : tensor<4xf32>) -> tensor<4xf32>
    %xa = shard.shard %x to %s1 : tensor<4xf32>
    return %xa : tensor<4xf32>
  }
}

// -----

// Moving a split from one dimension to another is an all-to-all upstream,
// which the runtime has no collective for: it becomes an unsplit and a
// split.
// CHECK-LABEL: func.func @move(
// CHECK: %[[Y:.+]] = linalg.copy
// CHECK: %[[A:.+]] = shard.shard %[[Y]] to %{{.+}} : tensor<4x8xf32>
// CHECK: %[[R:.+]] = shard.sharding @mesh split_axes = {{\[\[}}]]
// CHECK: %[[M:.+]] = shard.shard %[[A]] to %[[R]] : tensor<4x8xf32>
// CHECK: shard.shard %[[M]] to %{{.+}} annotate_for_users : tensor<4x8xf32>
// PART-LABEL: func.func @move(
// PART: shard.all_gather %{{.*}} on @mesh grid_axes = [0] gather_axis = 0 : tensor<2x8xf32> -> tensor<4x8xf32>
// PART: shard.all_slice %{{.*}} on @mesh grid_axes = [0] slice_axis = 1 : tensor<4x8xf32> -> tensor<4x4xf32>
// PART-NOT: all_to_all
module {
  shard.grid @mesh(shape = 2)
  func.func @move(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
    %rows = shard.sharding @mesh split_axes = [[0]] : !shard.sharding
    %cols = shard.sharding @mesh split_axes = [[], [0]] : !shard.sharding
    %xa = shard.shard %x to %rows annotate_for_users : tensor<4x8xf32>
    %e = tensor.empty() : tensor<4x8xf32>
    %ea = shard.shard %e to %rows : tensor<4x8xf32>
    %eau = shard.shard %ea to %rows annotate_for_users : tensor<4x8xf32>
    %y = linalg.copy ins(%xa : tensor<4x8xf32>) outs(%eau : tensor<4x8xf32>) -> tensor<4x8xf32>
    %ya = shard.shard %y to %rows : tensor<4x8xf32>
    %yb = shard.shard %ya to %cols annotate_for_users : tensor<4x8xf32>
    %e2 = tensor.empty() : tensor<4x8xf32>
    %e2a = shard.shard %e2 to %cols : tensor<4x8xf32>
    %e2u = shard.shard %e2a to %cols annotate_for_users : tensor<4x8xf32>
    %z = linalg.copy ins(%yb : tensor<4x8xf32>) outs(%e2u : tensor<4x8xf32>) -> tensor<4x8xf32>
    %za = shard.shard %z to %cols : tensor<4x8xf32>
    %zr = shard.shard %za to %rows annotate_for_users : tensor<4x8xf32>
    return %zr : tensor<4x8xf32>
  }
}

// -----

// A non-splat tensor constant (upstream partitions only splats) becomes a
// weight argument; a bool one is stored a byte per element.
// CHECK-LABEL: func.func @mask(
// CHECK-SAME: %arg0: tensor<2x2xi1> {tessera.weight = dense_resource<partition.constant0> : tensor<2x2xi1>}
// CHECK-NOT: arith.constant dense<
// CHECK: partition.constant0: "0x0800000001000001"
// PART-LABEL: func.func @mask(
// PART-SAME: %arg0: tensor<1x2xi1>
module {
  shard.grid @mesh(shape = 2)
  func.func @mask() -> tensor<2x2xi1> {
    %s = shard.sharding @mesh split_axes = [[0]] : !shard.sharding
    %c = arith.constant dense<[[true, false], [false, true]]> : tensor<2x2xi1>
    %ca = shard.shard %c to %s : tensor<2x2xi1>
    %cu = shard.shard %ca to %s annotate_for_users : tensor<2x2xi1>
    %e = tensor.empty() : tensor<2x2xi1>
    %ea = shard.shard %e to %s : tensor<2x2xi1>
    %eau = shard.shard %ea to %s annotate_for_users : tensor<2x2xi1>
    %y = linalg.copy ins(%cu : tensor<2x2xi1>) outs(%eau : tensor<2x2xi1>) -> tensor<2x2xi1>
    %ya = shard.shard %y to %s : tensor<2x2xi1>
    return %ya : tensor<2x2xi1>
  }
}

// -----

// An op propagation left unannotated gets replicated annotations, and an
// op without a sharding rule reads its split operand whole.
// CHECK-LABEL: func.func @unannotated(
// CHECK: %[[A:.+]] = shard.shard %arg0 to %{{.+}} annotate_for_users
// CHECK: %[[W:.+]] = shard.shard %[[A]] to %{{.+}} annotate_for_users
// CHECK: %[[C:.+]] = bufferization.alloc_tensor() copy(%[[W]])
// CHECK: %[[R:.+]] = shard.sharding @mesh split_axes = {{\[\[}}]]
// CHECK: shard.shard %[[C]] to %[[R]] : tensor<4xf32>
// PART-LABEL: func.func @unannotated(
// PART: shard.all_gather
// PART: bufferization.alloc_tensor() copy(%{{.+}}) : tensor<4xf32>
module {
  shard.grid @mesh(shape = 2)
  func.func @unannotated(%x: tensor<4xf32>) -> tensor<4xf32> {
    %s = shard.sharding @mesh split_axes = [[0]] : !shard.sharding
    %xa = shard.shard %x to %s annotate_for_users : tensor<4xf32>
    %c = bufferization.alloc_tensor() copy(%xa) : tensor<4xf32>
    return %c : tensor<4xf32>
  }
}
