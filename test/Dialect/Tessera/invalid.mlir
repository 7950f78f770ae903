// RUN: tessera-opt %s --split-input-file --verify-diagnostics

func.func @broadcast_shapes(%a: tensor<2x3xf32>, %b: tensor<4xf32>) {
  // expected-error @+2 {{operand shapes 2x3 and 4 do not broadcast}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessera.add %a, %b : (tensor<2x3xf32>, tensor<4xf32>) -> tensor<2x3xf32>
  return
}

// -----

func.func @broadcast_element_types(%a: tensor<3xf32>, %b: tensor<3xf16>) {
  // expected-error @+2 {{operand element types 'f32' and 'f16' differ}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessera.mul %a, %b : (tensor<3xf32>, tensor<3xf16>) -> tensor<3xf32>
  return
}

// -----

func.func @broadcast_result(%a: tensor<3xf32>) {
  // expected-error @+2 {{inferred type(s) 'tensor<3xf32>' are incompatible with return type(s) of operation 'tensor<4xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessera.sub %a, %a : (tensor<3xf32>, tensor<3xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @reduce_axis_range(%a: tensor<3x4xf32>) {
  // expected-error @+2 {{reduction axis 2 is out of range for rank 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessera.reduce_sum %a {axes = array<i64: 2>} : tensor<3x4xf32> -> tensor<3x4xf32>
  return
}

// -----

func.func @reduce_axis_order(%a: tensor<3x4xf32>) {
  // expected-error @+2 {{reduction axes must be strictly increasing}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessera.reduce_max %a {axes = array<i64: 1, 0>} : tensor<3x4xf32> -> tensor<1x1xf32>
  return
}

// -----

func.func @shape_range(%a: tensor<3x4xf32>) {
  // expected-error @+2 {{shape range [1, 3) is not within the operand's rank 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessera.shape %a {start = 1 : i64, end = 3 : i64} : tensor<3x4xf32> -> tensor<2xi64>
  return
}

// -----

func.func @clip_bounds(%a: tensor<3xf32>, %lo: tensor<1xf32>) {
  // expected-error @+1 {{bounds must be 0-d tensors of the input's element type, got 'tensor<1xf32>'}}
  %0 = tessera.clip %a min(%lo : tensor<1xf32>) : tensor<3xf32>
  return
}

// -----

func.func @cast_shape(%a: tensor<3xf32>) {
  // expected-error @+1 {{all non-scalar operands/results must have the same shape}}
  %0 = tessera.cast %a : tensor<3xf32> -> tensor<4xi64>
  return
}

// -----

func.func @matmul_types(%a: tensor<3x4xf32>, %b: tensor<4x5xf16>) {
  // expected-error @+2 {{operand element types differ}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessera.matmul %a, %b : (tensor<3x4xf32>, tensor<4x5xf16>) -> tensor<3x5xf32>
  return
}

// -----

func.func @matmul_rank(%a: tensor<f32>, %b: tensor<4x5xf32>) {
  // expected-error @+2 {{operands must have rank 1 or more}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessera.matmul %a, %b : (tensor<f32>, tensor<4x5xf32>) -> tensor<5xf32>
  return
}

// -----

func.func @matmul_contraction(%a: tensor<3x4xf32>, %b: tensor<5x6xf32>) {
  // expected-error @+2 {{contraction dimensions differ: 3x4 and 5x6}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessera.matmul %a, %b : (tensor<3x4xf32>, tensor<5x6xf32>) -> tensor<3x6xf32>
  return
}

// -----

func.func @matmul_batch(%a: tensor<2x3x4xf32>, %b: tensor<3x4x5xf32>) {
  // expected-error @+2 {{batch dimensions do not broadcast}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessera.matmul %a, %b : (tensor<2x3x4xf32>, tensor<3x4x5xf32>) -> tensor<2x3x5xf32>
  return
}

// -----

func.func @gemm_rank(%a: tensor<3xf32>, %b: tensor<3x4xf32>) {
  // expected-error @+2 {{A and B must be 2-D}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessera.gemm %a, %b : (tensor<3xf32>, tensor<3x4xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @gemm_types(%a: tensor<2x3xf32>, %b: tensor<3x4xf64>) {
  // expected-error @+2 {{operand element types differ}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessera.gemm %a, %b : (tensor<2x3xf32>, tensor<3x4xf64>) -> tensor<2x4xf32>
  return
}

// -----

func.func @gemm_contraction(%a: tensor<2x3xf32>, %b: tensor<3x4xf32>) {
  // expected-error @+2 {{contraction dimensions differ: 2 and 3}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessera.gemm %a, %b {trans_a = true} : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<3x4xf32>
  return
}

// -----

func.func @gemm_c(%a: tensor<2x3xf32>, %b: tensor<3x4xf32>, %c: tensor<3xf32>) {
  // expected-error @+2 {{C of type 'tensor<3xf32>' does not broadcast to the result 2x4}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessera.gemm %a, %b, %c : (tensor<2x3xf32>, tensor<3x4xf32>, tensor<3xf32>) -> tensor<2x4xf32>
  return
}

// -----

func.func @conv_window_sizes(%x: tensor<1x1x5x5xf32>, %w: tensor<1x1x3x3xf32>) {
  // expected-error @+2 {{expected 2 strides and dilations and 4 pads for 2 spatial dimensions}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessera.conv %x, %w {strides = array<i64: 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64} : (tensor<1x1x5x5xf32>, tensor<1x1x3x3xf32>) -> tensor<1x1x3x3xf32>
  return
}

// -----

func.func @conv_strides(%x: tensor<1x1x5x5xf32>, %w: tensor<1x1x3x3xf32>) {
  // expected-error @+2 {{strides and dilations must be positive}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessera.conv %x, %w {strides = array<i64: 0, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64} : (tensor<1x1x5x5xf32>, tensor<1x1x3x3xf32>) -> tensor<1x1x3x3xf32>
  return
}

// -----

func.func @conv_pads(%x: tensor<1x1x5x5xf32>, %w: tensor<1x1x3x3xf32>) {
  // expected-error @+2 {{pads must be non-negative}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessera.conv %x, %w {strides = array<i64: 1, 1>, pads = array<i64: -1, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64} : (tensor<1x1x5x5xf32>, tensor<1x1x3x3xf32>) -> tensor<1x1x3x3xf32>
  return
}

// -----

func.func @conv_rank(%x: tensor<1x1x5xf32>, %w: tensor<1x1x3x3xf32>) {
  // expected-error @+2 {{input and weight must have the same rank, at least 3, got 1x1x5 and 1x1x3x3}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessera.conv %x, %w {strides = array<i64: 1>, pads = array<i64: 0, 0>, dilations = array<i64: 1>, group = 1 : i64} : (tensor<1x1x5xf32>, tensor<1x1x3x3xf32>) -> tensor<1x1x3xf32>
  return
}

// -----

func.func @conv_types(%x: tensor<1x1x5x5xf32>, %w: tensor<1x1x3x3xf16>) {
  // expected-error @+2 {{operand element types differ}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessera.conv %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64} : (tensor<1x1x5x5xf32>, tensor<1x1x3x3xf16>) -> tensor<1x1x3x3xf32>
  return
}

// -----

func.func @conv_channels(%x: tensor<1x4x5x5xf32>, %w: tensor<2x3x3x3xf32>) {
  // expected-error @+2 {{channels do not match: input has 4, weight 2x3x3x3 with group 1}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessera.conv %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64} : (tensor<1x4x5x5xf32>, tensor<2x3x3x3xf32>) -> tensor<1x2x3x3xf32>
  return
}

// -----

func.func @conv_bias(%x: tensor<1x1x5x5xf32>, %w: tensor<2x1x3x3xf32>, %b: tensor<3xf32>) {
  // expected-error @+2 {{bias must be 1-D with 2 elements}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessera.conv %x, %w, %b {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64} : (tensor<1x1x5x5xf32>, tensor<2x1x3x3xf32>, tensor<3xf32>) -> tensor<1x2x3x3xf32>
  return
}

// -----

func.func @conv_fit(%x: tensor<1x1x2x2xf32>, %w: tensor<1x1x3x3xf32>) {
  // expected-error @+2 {{kernel does not fit spatial dimension 0 of the padded input}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessera.conv %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64} : (tensor<1x1x2x2xf32>, tensor<1x1x3x3xf32>) -> tensor<1x1x1x1xf32>
  return
}

// -----

func.func @pool_rank(%x: tensor<4x4xf32>) {
  // expected-error @+2 {{input must have rank 3 or more}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessera.max_pool %x {kernel_shape = array<i64: 2>, strides = array<i64: 1>, pads = array<i64: 0, 0>, dilations = array<i64: 1>} : tensor<4x4xf32> -> tensor<4x3xf32>
  return
}

// -----

func.func @pool_kernel(%x: tensor<1x1x4x4xf32>) {
  // expected-error @+2 {{expected 2 positive kernel sizes}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessera.average_pool %x {kernel_shape = array<i64: 2, 0>, strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>} : tensor<1x1x4x4xf32> -> tensor<1x1x3x3xf32>
  return
}

// -----

func.func @pool_fit(%x: tensor<1x1x4x4xf32>) {
  // expected-error @+2 {{kernel does not fit spatial dimension 1 of the padded input}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessera.max_pool %x {kernel_shape = array<i64: 2, 5>, strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>} : tensor<1x1x4x4xf32> -> tensor<1x1x3x1xf32>
  return
}

// -----

func.func @global_pool_rank(%x: tensor<4x4xf32>) {
  // expected-error @+2 {{input must have rank 3 or more}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessera.global_average_pool %x : tensor<4x4xf32> -> tensor<4x1xf32>
  return
}

// -----

func.func @batch_norm_rank(%x: tensor<4xf32>, %p: tensor<4xf32>) {
  // expected-error @+1 {{input must have rank 2 or more}}
  %0 = tessera.batch_norm %x, %p, %p, %p, %p : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
  return
}

// -----

func.func @batch_norm_params(%x: tensor<1x4x2xf32>, %p: tensor<4xf32>, %q: tensor<3xf32>) {
  // expected-error @+1 {{parameters must be 1-D with 4 elements of 'f32', got 'tensor<3xf32>'}}
  %0 = tessera.batch_norm %x, %p, %p, %q, %p : tensor<1x4x2xf32>, tensor<4xf32>, tensor<4xf32>, tensor<3xf32>, tensor<4xf32>
  return
}

// -----

func.func @layer_norm_axis(%x: tensor<2x4xf32>, %g: tensor<4xf32>) {
  // expected-error @+1 {{axis 2 is out of range for rank 2}}
  %0 = tessera.layer_norm %x, %g {axis = 2 : i64} : tensor<2x4xf32>, tensor<4xf32>
  return
}

// -----

func.func @layer_norm_scale(%x: tensor<2x4xf32>, %g: tensor<3xf32>) {
  // expected-error @+1 {{scale and bias must broadcast to the normalized shape 4, got 'tensor<3xf32>'}}
  %0 = tessera.layer_norm %x, %g {axis = 1 : i64} : tensor<2x4xf32>, tensor<3xf32>
  return
}

// -----

func.func @softmax_axis(%x: tensor<2x4xf32>) {
  // expected-error @+1 {{axis -1 is out of range for rank 2}}
  %0 = tessera.softmax %x {axis = -1 : i64} : tensor<2x4xf32>
  return
}

// -----

func.func @log_softmax_axis(%x: tensor<2x4xf32>) {
  // expected-error @+1 {{axis 2 is out of range for rank 2}}
  %0 = tessera.log_softmax %x {axis = 2 : i64} : tensor<2x4xf32>
  return
}

// -----

func.func @reshape_types(%x: tensor<2x4xf32>) {
  // expected-error @+1 {{element types differ}}
  %0 = tessera.reshape %x : tensor<2x4xf32> -> tensor<8xf16>
  return
}

// -----

func.func @reshape_count(%x: tensor<2x4xf32>) {
  // expected-error @+1 {{cannot reshape 2x4 (8 elements) to 3x3 (9 elements)}}
  %0 = tessera.reshape %x : tensor<2x4xf32> -> tensor<3x3xf32>
  return
}

// -----

func.func @transpose_size(%x: tensor<2x4xf32>) {
  // expected-error @+2 {{perm has 3 entries for rank 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessera.transpose %x {perm = array<i64: 0, 1, 2>} : tensor<2x4xf32> -> tensor<2x4xf32>
  return
}

// -----

func.func @transpose_perm(%x: tensor<2x4xf32>) {
  // expected-error @+2 {{perm is not a permutation of [0, 2)}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessera.transpose %x {perm = array<i64: 1, 1>} : tensor<2x4xf32> -> tensor<4x4xf32>
  return
}

// -----

func.func @concat_empty() {
  // expected-error @+2 {{expected at least one input}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = "tessera.concat"() {axis = 0 : i64} : () -> tensor<0xf32>
  return
}

// -----

func.func @concat_axis(%x: tensor<2x4xf32>) {
  // expected-error @+2 {{axis 2 is out of range for rank 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessera.concat %x {axis = 2 : i64} : (tensor<2x4xf32>) -> tensor<2x4xf32>
  return
}

// -----

func.func @concat_rank(%x: tensor<2x4xf32>, %y: tensor<8xf32>) {
  // expected-error @+2 {{inputs must have one rank and element type}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessera.concat %x, %y {axis = 0 : i64} : (tensor<2x4xf32>, tensor<8xf32>) -> tensor<3x4xf32>
  return
}

// -----

func.func @concat_dims(%x: tensor<2x4xf32>, %y: tensor<2x5xf32>) {
  // expected-error @+2 {{inputs differ in dimension 1: 2x4 and 2x5}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessera.concat %x, %y {axis = 0 : i64} : (tensor<2x4xf32>, tensor<2x5xf32>) -> tensor<4x4xf32>
  return
}

// -----

func.func @concat_overflow(%x: tensor<4611686018427387904xi1>) {
  // expected-error @+2 {{concatenated dimension overflows}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessera.concat %x, %x, %x {axis = 0 : i64} : (tensor<4611686018427387904xi1>, tensor<4611686018427387904xi1>, tensor<4611686018427387904xi1>) -> tensor<1xi1>
  return
}

// -----

func.func @split_axis(%x: tensor<2x4xf32>) {
  // expected-error @+2 {{axis 3 is out of range for rank 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %0:2 = tessera.split %x {axis = 3 : i64, sizes = array<i64: 1, 1>} : tensor<2x4xf32> -> tensor<1x4xf32>, tensor<1x4xf32>
  return
}

// -----

func.func @split_negative(%x: tensor<2x4xf32>) {
  // expected-error @+2 {{split sizes must be non-negative}}
  // expected-error @+1 {{failed to infer returned types}}
  %0:2 = tessera.split %x {axis = 0 : i64, sizes = array<i64: 3, -1>} : tensor<2x4xf32> -> tensor<3x4xf32>, tensor<1x4xf32>
  return
}

// -----

func.func @split_sum(%x: tensor<2x4xf32>) {
  // expected-error @+2 {{split sizes add up to 3 but dimension 1 has 4}}
  // expected-error @+1 {{failed to infer returned types}}
  %0:2 = tessera.split %x {axis = 1 : i64, sizes = array<i64: 1, 2>} : tensor<2x4xf32> -> tensor<2x1xf32>, tensor<2x2xf32>
  return
}

// -----

func.func @slice_entries(%x: tensor<2x4xf32>) {
  // expected-error @+2 {{starts, sizes and steps need 2 entries each}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessera.slice %x {starts = array<i64: 0>, sizes = array<i64: 1>, steps = array<i64: 1>} : tensor<2x4xf32> -> tensor<1xf32>
  return
}

// -----

func.func @slice_step(%x: tensor<2x4xf32>) {
  // expected-error @+2 {{dimension 1: step must be non-zero and size non-negative}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessera.slice %x {starts = array<i64: 0, 0>, sizes = array<i64: 1, 2>, steps = array<i64: 1, 0>} : tensor<2x4xf32> -> tensor<1x2xf32>
  return
}

// -----

func.func @slice_bounds(%x: tensor<2x4xf32>) {
  // expected-error @+2 {{dimension 1: slice reads outside [0, 4)}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessera.slice %x {starts = array<i64: 0, 1>, sizes = array<i64: 1, 3>, steps = array<i64: 1, 2>} : tensor<2x4xf32> -> tensor<1x3xf32>
  return
}

// -----

func.func @gather_axis(%x: tensor<2x4xf32>, %i: tensor<3xi64>) {
  // expected-error @+2 {{axis 2 is out of range for rank 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessera.gather %x, %i {axis = 2 : i64} : (tensor<2x4xf32>, tensor<3xi64>) -> tensor<2x4xf32>
  return
}

// -----

func.func @expand_shape(%x: tensor<2x4xf32>) {
  // expected-error @+1 {{cannot broadcast 'tensor<2x4xf32>' to 'tensor<3x4xf32>'}}
  %0 = tessera.expand %x : tensor<2x4xf32> -> tensor<3x4xf32>
  return
}

// -----

func.func @pad_count(%x: tensor<2x4xf32>) {
  // expected-error @+2 {{expected 4 pads, got 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessera.pad %x {pads = array<i64: 1, 1>} : tensor<2x4xf32> -> tensor<2x6xf32>
  return
}

// -----

func.func @pad_mode(%x: tensor<2x4xf32>) {
  // expected-error @+2 {{unknown pad mode 'wrap'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessera.pad %x {mode = "wrap", pads = array<i64: 0, 0, 0, 0>} : tensor<2x4xf32> -> tensor<2x4xf32>
  return
}

// -----

func.func @pad_value(%x: tensor<2x4xf32>, %v: tensor<f16>) {
  // expected-error @+2 {{pad value must be a 0-d tensor of 'f32'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessera.pad %x value %v {pads = array<i64: 0, 0, 0, 0>} : tensor<2x4xf32>, tensor<f16> -> tensor<2x4xf32>
  return
}

// -----

func.func @pad_negative(%x: tensor<2x4xf32>) {
  // expected-error @+2 {{pads make dimension 0 negative}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessera.pad %x {pads = array<i64: -2, 0, -1, 0>} : tensor<2x4xf32> -> tensor<0x4xf32>
  return
}

// -----

func.func @pad_empty(%x: tensor<0x4xf32>) {
  // expected-error @+2 {{cannot pad an empty dimension in mode 'edge'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessera.pad %x {mode = "edge", pads = array<i64: 1, 0, 0, 0>} : tensor<0x4xf32> -> tensor<1x4xf32>
  return
}

// -----

func.func @trilu_rank(%x: tensor<4xf32>) {
  // expected-error @+1 {{input must have rank 2 or more}}
  %0 = tessera.trilu %x {upper = true, k = 0 : i64} : tensor<4xf32>
  return
}

// -----

func.func @arg_axis(%a: tensor<3x4xf32>) {
  // expected-error @+2 {{axis 2 is out of range for rank 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessera.arg_max %a {axis = 2 : i64} : tensor<3x4xf32> -> tensor<3x4xi64>
  return
}

// -----

func.func @gather_elements_rank(%a: tensor<3x4xf32>, %i: tensor<3xi64>) {
  // expected-error @+2 {{data and indices must have one rank, got 2 and 1}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessera.gather_elements %a, %i {axis = 0 : i64} : (tensor<3x4xf32>, tensor<3xi64>) -> tensor<3xf32>
  return
}

// -----

func.func @gather_elements_axis(%a: tensor<3x4xf32>, %i: tensor<3x4xi64>) {
  // expected-error @+2 {{axis 2 is out of range for rank 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessera.gather_elements %a, %i {axis = 2 : i64} : (tensor<3x4xf32>, tensor<3x4xi64>) -> tensor<3x4xf32>
  return
}

// -----

func.func @gather_elements_dim(%a: tensor<3x4xf32>, %i: tensor<3x5xi64>) {
  // expected-error @+2 {{indices dimension 1 (5) exceeds the data's (4)}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessera.gather_elements %a, %i {axis = 0 : i64} : (tensor<3x4xf32>, tensor<3x5xi64>) -> tensor<3x5xf32>
  return
}

// -----

func.func @scatter_elements_rank(%a: tensor<3x4xf32>, %i: tensor<3xi64>, %u: tensor<3xf32>) {
  // expected-error @+2 {{data, indices and updates must have one rank, got 2, 1 and 1}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessera.scatter_elements %a, %i, %u {axis = 0 : i64} : (tensor<3x4xf32>, tensor<3xi64>, tensor<3xf32>) -> tensor<3x4xf32>
  return
}

// -----

func.func @scatter_elements_shape(%a: tensor<3x4xf32>, %i: tensor<3x2xi64>, %u: tensor<3x3xf32>) {
  // expected-error @+2 {{indices and updates must have one shape, got 3x2 and 3x3}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessera.scatter_elements %a, %i, %u {axis = 1 : i64} : (tensor<3x4xf32>, tensor<3x2xi64>, tensor<3x3xf32>) -> tensor<3x4xf32>
  return
}

// -----

func.func @scatter_elements_axis(%a: tensor<3x4xf32>, %i: tensor<3x2xi64>, %u: tensor<3x2xf32>) {
  // expected-error @+2 {{axis 2 is out of range for rank 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessera.scatter_elements %a, %i, %u {axis = 2 : i64} : (tensor<3x4xf32>, tensor<3x2xi64>, tensor<3x2xf32>) -> tensor<3x4xf32>
  return
}

// -----

func.func @scatter_elements_dim(%a: tensor<3x4xf32>, %i: tensor<3x5xi64>, %u: tensor<3x5xf32>) {
  // expected-error @+2 {{indices dimension 1 (5) exceeds the data's (4)}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessera.scatter_elements %a, %i, %u {axis = 0 : i64} : (tensor<3x4xf32>, tensor<3x5xi64>, tensor<3x5xf32>) -> tensor<3x4xf32>
  return
}

// -----

func.func @scatter_elements_type(%a: tensor<3x4xf32>, %i: tensor<3x2xi64>, %u: tensor<3x2xf16>) {
  // expected-error @+2 {{updates have element type 'f16', the data 'f32'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessera.scatter_elements %a, %i, %u {axis = 1 : i64} : (tensor<3x4xf32>, tensor<3x2xi64>, tensor<3x2xf16>) -> tensor<3x4xf32>
  return
}

// -----

func.func @scatter_elements_reduction(%a: tensor<3x4xf32>, %i: tensor<3x2xi64>, %u: tensor<3x2xf32>) {
  // expected-error @+2 {{unknown reduction 'sum'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessera.scatter_elements %a, %i, %u {axis = 1 : i64, reduction = "sum"} : (tensor<3x4xf32>, tensor<3x2xi64>, tensor<3x2xf32>) -> tensor<3x4xf32>
  return
}

// -----

func.func @scatter_elements_bool(%a: tensor<3x4xi1>, %i: tensor<3x2xi64>, %u: tensor<3x2xi1>) {
  // expected-error @+2 {{reduction 'add' needs a numeric element type}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessera.scatter_elements %a, %i, %u {axis = 1 : i64, reduction = "add"} : (tensor<3x4xi1>, tensor<3x2xi64>, tensor<3x2xi1>) -> tensor<3x4xi1>
  return
}

// -----

func.func @scatter_nd_rank(%a: tensor<4xf32>, %i: tensor<i64>, %u: tensor<f32>) {
  // expected-error @+2 {{indices must have rank 1 or more}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessera.scatter_nd %a, %i, %u : (tensor<4xf32>, tensor<i64>, tensor<f32>) -> tensor<4xf32>
  return
}

// -----

func.func @scatter_nd_tuple(%a: tensor<4x4xf32>, %i: tensor<2x3xi64>, %u: tensor<2xf32>) {
  // expected-error @+2 {{index tuples of 3 entries do not fit the data's rank 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessera.scatter_nd %a, %i, %u : (tensor<4x4xf32>, tensor<2x3xi64>, tensor<2xf32>) -> tensor<4x4xf32>
  return
}

// -----

func.func @scatter_nd_updates(%a: tensor<4x5xf32>, %i: tensor<2x1xi64>, %u: tensor<2x4xf32>) {
  // expected-error @+2 {{updates must have shape 2x5, got 2x4}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessera.scatter_nd %a, %i, %u : (tensor<4x5xf32>, tensor<2x1xi64>, tensor<2x4xf32>) -> tensor<4x5xf32>
  return
}

// -----

func.func @scatter_nd_type(%a: tensor<4x5xf32>, %i: tensor<2x1xi64>, %u: tensor<2x5xf64>) {
  // expected-error @+2 {{updates have element type 'f64', the data 'f32'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = tessera.scatter_nd %a, %i, %u {reduction = "mul"} : (tensor<4x5xf32>, tensor<2x1xi64>, tensor<2x5xf64>) -> tensor<4x5xf32>
  return
}

// -----

func.func @resize_type(%a: tensor<2x4xf32>) {
  // expected-error @+1 {{result must have the input's rank and element type, got 'tensor<2x8xf16>'}}
  %0 = tessera.resize %a {scales = array<f64: 1.0, 2.0>} : tensor<2x4xf32> -> tensor<2x8xf16>
  return
}

// -----

func.func @resize_scales_count(%a: tensor<2x4xf32>) {
  // expected-error @+1 {{expected 2 scales, got 1}}
  %0 = tessera.resize %a {scales = array<f64: 2.0>} : tensor<2x4xf32> -> tensor<2x8xf32>
  return
}

// -----

func.func @resize_scales_positive(%a: tensor<2x4xf32>) {
  // expected-error @+1 {{scales must be positive and finite, got -2}}
  %0 = tessera.resize %a {scales = array<f64: 1.0, -2.0>} : tensor<2x4xf32> -> tensor<2x8xf32>
  return
}

// -----

func.func @resize_shape(%a: tensor<2x4xf32>) {
  // expected-error @+1 {{result dimension 1 has size 7, but scale 1.5 times input size 4 is 6}}
  %0 = tessera.resize %a {scales = array<f64: 1.0, 1.5>} : tensor<2x4xf32> -> tensor<2x7xf32>
  return
}

// -----

func.func @resize_mode(%a: tensor<2x4xf32>) {
  // expected-error @+1 {{unknown mode 'bicubic'}}
  %0 = tessera.resize %a {mode = "bicubic", scales = array<f64: 1.0, 2.0>} : tensor<2x4xf32> -> tensor<2x8xf32>
  return
}

// -----

func.func @resize_coordinates(%a: tensor<2x4xf32>) {
  // expected-error @+1 {{unknown coordinate_transformation_mode 'corners'}}
  %0 = tessera.resize %a {coordinate_transformation_mode = "corners", scales = array<f64: 1.0, 2.0>} : tensor<2x4xf32> -> tensor<2x8xf32>
  return
}

// -----

func.func @resize_nearest_mode(%a: tensor<2x4xf32>) {
  // expected-error @+1 {{unknown nearest_mode 'round'}}
  %0 = tessera.resize %a {nearest_mode = "round", scales = array<f64: 1.0, 2.0>} : tensor<2x4xf32> -> tensor<2x8xf32>
  return
}

// -----

func.func @resize_integer_linear(%a: tensor<2x4xi32>) {
  // expected-error @+1 {{mode 'linear' needs a floating-point element type, got 'i32'}}
  %0 = tessera.resize %a {mode = "linear", scales = array<f64: 1.0, 2.0>} : tensor<2x4xi32> -> tensor<2x8xi32>
  return
}

// -----

func.func @resize_exclude_outside(%a: tensor<2x4xf32>) {
  // expected-error @+1 {{exclude_outside needs mode 'linear' or 'cubic'}}
  %0 = tessera.resize %a {exclude_outside = true, scales = array<f64: 1.0, 2.0>} : tensor<2x4xf32> -> tensor<2x8xf32>
  return
}

// -----

func.func @resize_roi_missing(%a: tensor<2x4xf32>) {
  // expected-error @+1 {{tf_crop_and_resize needs a roi of 4 values}}
  %0 = tessera.resize %a {coordinate_transformation_mode = "tf_crop_and_resize", roi = array<f64: 0.0, 1.0>, scales = array<f64: 1.0, 2.0>} : tensor<2x4xf32> -> tensor<2x8xf32>
  return
}

// -----

func.func @resize_roi_unused(%a: tensor<2x4xf32>) {
  // expected-error @+1 {{roi is only used by tf_crop_and_resize}}
  %0 = tessera.resize %a {roi = array<f64: 0.0, 0.0, 1.0, 1.0>, scales = array<f64: 1.0, 2.0>} : tensor<2x4xf32> -> tensor<2x8xf32>
  return
}

// -----

// Float8 values are cast and moved, never computed on.
func.func @f8_arith(%a: tensor<4xf8E4M3FN>) {
  // expected-error @+1 {{operand #0 must be ranked tensor of}}
  %0 = tessera.relu %a : tensor<4xf8E4M3FN>
  return
}
