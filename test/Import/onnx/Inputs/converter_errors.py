#!/usr/bin/env python3
"""Table-driven check of the importer's diagnostics for malformed nodes and
graphs: each case is a small model built with the `onnx` helper, and the
import must exit with status 1 and print exactly one line containing the
expected text.

    converter_errors.py TOOL WORKDIR
"""
import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

tool, work = sys.argv[1], sys.argv[2]
os.makedirs(work, exist_ok=True)
F = TensorProto.FLOAT


def vi(name, shape, dtype=F):
    return helper.make_tensor_value_info(name, dtype, shape)


def ints(name, values):
    return numpy_helper.from_array(np.array(values, np.int64), name)


def floats(name, values):
    return numpy_helper.from_array(np.array(values, np.float32), name)


def model(nodes, inputs, outputs, inits=(), opset=17, domain_opsets=()):
    g = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)]
                          + [helper.make_opsetid(d, v) for d, v in domain_opsets])
    m.ir_version = 8
    return m


def node(op, ins, outs, **attrs):
    return helper.make_node(op, ins, outs, name="n", **attrs)


def one(op, ins, in_shapes, out_shape=(1,), inits=(), opset=17, outs=("y",), **attrs):
    """One node `n` over float inputs x0, x1, ... plus initializers."""
    inputs = [vi("x%d" % i, list(s)) for i, s in enumerate(in_shapes)]
    return model([node(op, ins, list(outs), **attrs)], inputs,
                 [vi(o, list(out_shape)) for o in outs], inits, opset)


seq_input = helper.make_tensor_sequence_value_info("s", F, [2])
sparse = helper.make_sparse_tensor(
    helper.make_tensor("v", F, [1], [1.0]), helper.make_tensor("i", TensorProto.INT64, [1], [0]), [4])
f8 = helper.make_tensor("c", TensorProto.FLOAT8E4M3FN, [1], [1.0])
seg = helper.make_tensor("w", F, [2], [1.0, 2.0])
seg.segment.begin, seg.segment.end = 0, 2
short = helper.make_tensor("w", F, [3], [1.0, 2.0, 3.0])
short.float_data.pop()


def ext(location, entries):
    t = onnx.TensorProto(name="w", data_type=F, dims=[2], data_location=TensorProto.EXTERNAL)
    for k, v in [("location", location)] + entries:
        if k == "location" and v is None:
            continue
        e = t.external_data.add()
        e.key, e.value = k, v
    return t

open(os.path.join(work, "w.bin"), "wb").write(b"\0" * 8)
os.makedirs(os.path.join(work, "subdir"), exist_ok=True)

CASES = [
    # Graph structure
    ("defined_twice", model([node("Relu", ["x0"], ["y"]), node("Abs", ["x0"], ["y"])],
                            [vi("x0", [2])], [vi("y", [2])]), "value 'y' is defined twice"),
    ("init_twice", model([node("Relu", ["w"], ["y"])], [], [vi("y", [2])],
                         [ints("w", [1, 2]), ints("w", [1, 2])]), "initializer 'w' is defined twice"),
    ("input_twice", model([node("Relu", ["x0"], ["y"])], [vi("x0", [2]), vi("x0", [2])],
                          [vi("y", [2])]), "graph input 'x0' is declared twice"),
    ("never_computed", model([node("Relu", ["x0"], ["y"])], [vi("x0", [2])], [vi("z", [2])]),
     "graph output 'z' is never computed"),
    ("no_shape", model([node("Relu", ["x0"], ["y"])], [helper.make_tensor_value_info("x0", F, None)],
                       [vi("y", [2])]), "input 'x0' has no declared shape"),
    ("sequence_input", model([node("Identity", ["s"], ["y"])], [seq_input], [vi("y", [2])]),
     "input 's' is not a tensor; unsupported input kind"),
    # Float8 values: Cast converts them and data movement carries them; no
    # other op computes on them.
    ("float8_arith", model([node("Relu", ["x0"], ["y"])], [vi("x0", [2], TensorProto.FLOAT8E4M3FN)],
                           [vi("y", [2], TensorProto.FLOAT8E4M3FN)]),
     "unsupported Relu of f8e4m3fn"),
    ("float6_input", model([node("Identity", ["x0"], ["y"])], [vi("x0", [2], TensorProto.FLOAT6E2M3)],
                           [vi("y", [2], TensorProto.FLOAT6E2M3)]),
     "input 'x0' has unsupported element type float6e2m3"),
    ("sparse_init", (lambda m: (m.graph.sparse_initializer.append(sparse), m)[1])(
        model([node("Relu", ["x0"], ["y"])], [vi("x0", [2])], [vi("y", [2])])),
     "sparse initializers are unsupported"),
    ("domain", model([helper.make_node("Fancy", ["x0"], ["y"], name="n", domain="com.example")],
                     [vi("x0", [2])], [vi("y", [2])], domain_opsets=[("com.example", 1)]),
     "node 'n' (Fancy, opset 17): unsupported op domain 'com.example'"),
    ("missing_input", one("Add", ["x0"], [[2]]), "missing required input #1"),
    ("extra_output", one("MaxPool", ["x0"], [[1, 1, 4, 4]], [1, 1, 3, 3], outs=("y", "idx"),
                         kernel_shape=[2, 2]), "unsupported output #1 ('idx')"),
    ("axis_range", one("Concat", ["x0", "x0"], [[2]], axis=3), "axis 3 is out of range for rank 1"),
    # Tensors
    ("tensor_float8", one("Constant", [], [], value=f8),
     "unsupported Constant to f8e4m3fn"),
    ("tensor_segment", model([node("Relu", ["w"], ["y"])], [], [vi("y", [2])], [seg]),
     "tensor 'w' is segmented, which is unsupported"),
    ("tensor_count", model([node("Relu", ["w"], ["y"])], [], [vi("y", [3])], [short]),
     "tensor 'w' has 2 values, its shape needs 3"),
    ("ext_offset", model([node("Relu", ["w"], ["y"])], [], [vi("y", [2])],
                         [ext("w.bin", [("offset", "-4")])]), "invalid external data offset '-4'"),
    ("ext_length", model([node("Relu", ["w"], ["y"])], [], [vi("y", [2])],
                         [ext("w.bin", [("length", "eight")])]), "invalid external data length 'eight'"),
    ("ext_no_location", model([node("Relu", ["w"], ["y"])], [], [vi("y", [2])],
                              [ext(None, [("offset", "0")])]), "external data has no location"),
    ("ext_directory", model([node("Relu", ["w"], ["y"])], [], [vi("y", [2])],
                            [ext("subdir", [])]), "external data 'subdir' is not a regular file"),
    ("ext_length_mismatch", model([node("Relu", ["w"], ["y"])], [], [vi("y", [2])],
                                  [ext("w.bin", [("length", "4")])]),
     "external data has 4 bytes, its shape needs 8"),
    # Elementwise
    ("gelu_mode", one("Gelu", ["x0"], [[2]], opset=20, approximate="cubic"), "unknown approximate mode 'cubic'"),
    ("legacy_broadcast", one("Add", ["x0", "x1"], [[2, 3], [3, 4]], opset=6, broadcast=1, axis=1),
     "legacy broadcast axis does not fit"),
    ("mean_int", model([node("Mean", ["a", "a"], ["y"])], [vi("a", [2], TensorProto.INT64)],
                       [vi("y", [2], TensorProto.INT64)]), "unsupported Mean of 2 integer tensors"),
    ("legacy_clip", model([node("Clip", ["a"], ["y"], min=0.0)], [vi("a", [2], TensorProto.INT32)],
                          [vi("y", [2], TensorProto.INT32)], opset=6), "legacy Clip needs a float input"),
    ("clip_bounds", one("Clip", ["x0", "lo"], [[2]], inits=[numpy_helper.from_array(
        np.zeros(2, np.float32), "lo")]), "Clip bounds must be scalars"),
    ("cast_string", one("Cast", ["x0"], [[2]], opset=5, to=1), "unsupported Cast with a string 'to' (opset < 6)"),
    ("cast_float6", one("Cast", ["x0"], [[2]], to=TensorProto.FLOAT6E2M3),
     "unsupported cast to float6e2m3"),
    ("dropout_training", one("Dropout", ["x0", "", "t"], [[2]], inits=[numpy_helper.from_array(
        np.array(True), "t")]), "unsupported training-mode Dropout"),
    ("dropout_legacy", one("Dropout", ["x0"], [[2]], opset=6, is_test=0), "unsupported training-mode Dropout"),
    ("dropout_dynamic", model([node("Dropout", ["x0", "", "t"], ["y"])], [vi("x0", [2]),
                              vi("t", [], TensorProto.BOOL)], [vi("y", [2])]),
     "input #2 must be a constant scalar; unsupported dynamic value"),
    # Constants
    ("constant_sparse", one("Constant", [], [], sparse_value=sparse),
     "unsupported Constant form (sparse or string value)"),
    ("cos_negative", one("ConstantOfShape", ["s"], [], inits=[ints("s", [-1])]),
     "shape has a negative or overflowing dimension"),
    ("cos_value", one("ConstantOfShape", ["s"], [], inits=[ints("s", [2])],
                      value=helper.make_tensor("v", F, [2], [1.0, 2.0])), "value must hold one element"),
    ("cos_value_type", one("ConstantOfShape", ["s"], [], inits=[ints("s", [2])], value=f8),
     "unsupported ConstantOfShape to f8e4m3fn"),
    # Reshapes
    ("reshape_dynamic", one("Reshape", ["x0", "x1"], [[2], [1]]),
     "input #1 ('x1') must be a constant integer tensor; unsupported data-dependent shape"),
    ("reshape_copy", one("Reshape", ["x0", "s"], [[2]], inits=[ints("s", [1, 0])]),
     "shape entry 1 copies a dimension the input does not have"),
    ("reshape_two_infer", one("Reshape", ["x0", "s"], [[2, 2]], inits=[ints("s", [-1, -1])]),
     "shape has more than one -1"),
    ("reshape_invalid", one("Reshape", ["x0", "s"], [[2, 2]], inits=[ints("s", [-2, 2])]),
     "shape has an invalid dimension -2"),
    ("reshape_infer", one("Reshape", ["x0", "s"], [[2, 3]], inits=[ints("s", [4, -1])]),
     "cannot reshape 2x3 to 2-d shape with -1"),
    ("reshape_count", one("Reshape", ["x0", "s"], [[2, 3]], inits=[ints("s", [5])]),
     "cannot reshape 2x3 (6 elements) to 5"),
    ("flatten_axis", one("Flatten", ["x0"], [[2, 3]], axis=3), "axis 3 is out of range for rank 2"),
    ("squeeze_size", one("Squeeze", ["x0", "a"], [[2, 3]], inits=[ints("a", [1])]),
     "cannot squeeze dimension 1 of size 3"),
    ("unsqueeze_axes", one("Unsqueeze", ["x0"], [[2]]), "missing axes"),
    ("unsqueeze_repeat", one("Unsqueeze", ["x0", "a"], [[2]], inits=[ints("a", [0, 0])]),
     "axis 0 is repeated"),
    # Data movement
    ("concat_empty", one("Concat", [], [], axis=0), "Concat needs at least one input"),
    ("concat_axis", one("Concat", ["x0"], [[2]]), "missing attribute 'axis'"),
    ("split_none", model([node("Split", ["x0"], [], num_outputs=0)], [vi("x0", [4])], [], opset=18),
     "Split needs at least one output"),
    ("split_uneven", one("Split", ["x0"], [[5]], outs=("a", "b")),
     "dimension 5 does not split into 2 equal parts"),
    ("slice_lengths", one("Slice", ["x0", "s", "e"], [[4]], inits=[ints("s", [0]), ints("e", [1, 2])]),
     "starts, ends, axes and steps differ in length"),
    ("slice_repeat", one("Slice", ["x0", "s", "e", "a"], [[4, 4]],
                         inits=[ints("s", [0, 0]), ints("e", [1, 1]), ints("a", [1, 1])]),
     "axis 1 is repeated"),
    ("slice_step", one("Slice", ["x0", "s", "e", "a", "st"], [[4]],
                       inits=[ints("s", [0]), ints("e", [1]), ints("a", [0]), ints("st", [0])]),
     "slice step is zero"),
    ("expand_shape", one("Expand", ["x0", "s"], [[3]], inits=[ints("s", [4])]),
     "cannot expand 3 to 4"),
    ("pad_mode", one("Pad", ["x0", "p"], [[2]], inits=[ints("p", [1, 1])], opset=19, mode="wrap"),
     "unsupported pad mode 'wrap'"),
    ("pad_legacy_value", model([node("Pad", ["a"], ["y"], pads=[1, 1], value=1.0)],
                               [vi("a", [2], TensorProto.INT64)], [vi("y", [4], TensorProto.INT64)], opset=6),
     "legacy Pad value needs a float input"),
    ("pad_value", one("Pad", ["x0", "p", "v"], [[2]], inits=[ints("p", [1, 1]), numpy_helper.from_array(
        np.zeros(2, np.float32), "v")]), "constant_value must be a scalar"),
    ("pad_axes", one("Pad", ["x0", "p", "", "a"], [[2, 2]], opset=18,
                     inits=[ints("p", [1, 1, 1]), ints("a", [0])]), "pads must have two entries per axis"),
    ("trilu_k", one("Trilu", ["x0", "k"], [[2, 2]], inits=[ints("k", [1, 2])]), "k must be a scalar"),
    ("scatter_reduction", one("ScatterElements", ["x0", "i", "x0"], [[2, 2]], opset=18,
                              inits=[ints("i", [[0, 1], [1, 0]])], reduction="sum"),
     "node 'n' (ScatterElements, opset 18): unknown reduction 'sum'"),
    # Convolution and pooling
    ("conv_rank", one("Conv", ["x0", "x1"], [[2, 2], [2, 2]]), "input must have rank 3 or more"),
    ("conv_attrs", one("Conv", ["x0", "x1"], [[1, 1, 4, 4], [1, 1, 2, 2]], strides=[1]),
     "kernel_shape, strides, dilations and pads do not match 2 spatial dimensions"),
    ("conv_positive", one("Conv", ["x0", "x1"], [[1, 1, 4, 4], [1, 1, 2, 2]], dilations=[0, 1]),
     "kernel sizes, strides and dilations must be positive"),
    ("conv_auto_pad", one("Conv", ["x0", "x1"], [[1, 1, 4, 4], [1, 1, 2, 2]], auto_pad="SOME"),
     "unknown auto_pad 'SOME'"),
    ("conv_kernel", one("Conv", ["x0", "x1"], [[1, 1, 4, 4], [1, 1, 2, 2]], kernel_shape=[3, 3]),
     "kernel_shape does not match the weight's shape"),
    ("pool_kernel", one("MaxPool", ["x0"], [[1, 1, 4, 4]]), "missing attribute 'kernel_shape'"),
    ("convt_rank", one("ConvTranspose", ["x0", "x1"], [[2, 2], [2, 2]]),
     "node 'n' (ConvTranspose, opset 17): input must have rank 3 or more"),
    ("convt_weight", one("ConvTranspose", ["x0", "x1"], [[1, 4, 3, 3], [2, 1, 2, 2]], group=2),
     "weight 2x1x2x2 does not match input 1x4x3x3 with group 2"),
    ("convt_kernel", one("ConvTranspose", ["x0", "x1"], [[1, 1, 3, 3], [1, 1, 2, 2]], kernel_shape=[3, 3]),
     "kernel_shape does not match the weight's shape"),
    ("convt_attrs", one("ConvTranspose", ["x0", "x1"], [[1, 1, 3, 3], [1, 1, 2, 2]], strides=[1]),
     "strides has 1 entries for 2 spatial dimensions"),
    ("convt_positive", one("ConvTranspose", ["x0", "x1"], [[1, 1, 3, 3], [1, 1, 2, 2]],
                           output_padding=[0, -1]),
     "strides and dilations must be positive, pads and output_padding non-negative"),
    ("convt_auto_pad", one("ConvTranspose", ["x0", "x1"], [[1, 1, 3, 3], [1, 1, 2, 2]], auto_pad="SOME"),
     "unknown auto_pad 'SOME'"),
    ("convt_both_pads", one("ConvTranspose", ["x0", "x1"], [[1, 1, 3, 3], [1, 1, 2, 2]],
                            auto_pad="SAME_UPPER", pads=[1, 0, 0, 1]),
     "pads and auto_pad SAME_UPPER are both given"),
    ("convt_output_shape", one("ConvTranspose", ["x0", "x1"], [[1, 1, 3, 3], [1, 1, 2, 2]],
                               output_shape=[4, 4, 4]),
     "output_shape has 3 entries for 2 spatial dimensions"),
    ("convt_size", one("ConvTranspose", ["x0", "x1"], [[1, 1, 1], [1, 1, 1]], pads=[1, 0]),
     "output dimension 0 would have size 0"),
    ("convt_crop", one("ConvTranspose", ["x0", "x1"], [[1, 1, 1], [1, 1, 1]], pads=[2, 0],
                       output_padding=[5]),
     "unsupported pads that crop away the whole input"),
    ("convt_implied_pads", one("ConvTranspose", ["x0", "x1"], [[1, 1, 3], [1, 1, 3]], pads=[1, 1],
                               output_shape=[4]),
     "unsupported pads that differ from those output_shape implies"),
    ("convt_extra_output", one("ConvTranspose", ["x0", "x1"], [[1, 1, 3], [1, 1, 3]], output_shape=[7]),
     "unsupported output size 7 in dimension 0, beyond the computed 5 (ONNX implementations place "
     "the extra elements differently)"),
    ("reduce_repeat", one("ReduceSum", ["x0", "a"], [[2, 2]], inits=[ints("a", [0, -2])]),
     "reduction axes are repeated"),
    # Resize and Upsample
    ("resize_antialias", one("Resize", ["x0", "", "s"], [[1, 4]], opset=18, mode="linear", antialias=1,
                             inits=[floats("s", [1, 0.5])]), "unsupported antialias=1"),
    ("resize_exclude", one("Resize", ["x0", "", "s"], [[1, 4]], exclude_outside=1,
                           inits=[floats("s", [1, 2])]), "unsupported exclude_outside=1 with mode 'nearest'"),
    ("upsample_legacy", one("Upsample", ["x0"], [[1, 4]], opset=6, mode="nearest"),
     "unsupported Upsample before opset 7"),
    ("upsample_scales", one("Upsample", ["x0"], [[1, 4]], opset=7), "missing attribute 'scales'"),
    ("resize_axes", one("Resize", ["x0", "", "s"], [[1, 4]], opset=18, axes=[1, -1],
                        inits=[floats("s", [2, 2])]), "axis -1 is repeated"),
    ("resize_dynamic", one("Resize", ["x0", "", "x1"], [[1, 4], [2]]),
     "input #2 ('x1') must be a constant floating-point tensor; unsupported data-dependent value"),
    ("resize_both", one("Resize", ["x0", "", "s", "z"], [[1, 4]],
                        inits=[floats("s", [1, 2]), ints("z", [1, 8])]),
     "exactly one of scales and sizes must be given"),
    ("resize_count", one("Resize", ["x0", "", "s"], [[1, 4]], inits=[floats("s", [2])]),
     "expected 2 scales, got 1"),
    ("resize_sizes_count", one("Resize", ["x0", "", "", "z"], [[1, 4]], inits=[ints("z", [8])]),
     "expected 2 sizes, got 1"),
    ("resize_size", one("Resize", ["x0", "", "", "z"], [[1, 4]], inits=[ints("z", [1, 0])]),
     "cannot resize dimension 1 from 4 to 0"),
    ("resize_scale", one("Resize", ["x0", "", "s"], [[1, 4]], inits=[floats("s", [1, -2])]),
     "invalid scale -2 for dimension 1"),
    ("resize_aspect_scale", one("Resize", ["x0", "", "", "z"], [[1, 20]], opset=18,
                                keep_aspect_ratio_policy="not_smaller",
                                inits=[ints("z", [10**14, 20])]), "invalid scale 1e+14 for dimension 1"),
    ("resize_policy", one("Resize", ["x0", "", "", "z"], [[1, 4]], opset=18,
                          keep_aspect_ratio_policy="fit", inits=[ints("z", [2, 8])]),
     "unknown keep_aspect_ratio_policy 'fit'"),
    ("resize_overflow", one("Resize", ["x0", "", "", "z"], [[1, 4]],
                            inits=[ints("z", [2**40, 2**40])]),
     "result shape 1099511627776x1099511627776 overflows"),
    ("resize_roi", one("Resize", ["x0", "r", "", "z"], [[1, 4]], mode="linear",
                       coordinate_transformation_mode="tf_crop_and_resize",
                       inits=[floats("r", [0, 1]), ints("z", [1, 8])]),
     "tf_crop_and_resize needs a roi of 4 values, got 2"),
    ("resize_crop_scales", one("Resize", ["x0", "r", "s"], [[1, 4]], mode="linear",
                               coordinate_transformation_mode="tf_crop_and_resize",
                               inits=[floats("r", [0, 0, 1, 0.5]), floats("s", [1, 2])]),
     "unsupported tf_crop_and_resize with scales and a cropping roi"),
    ("resize_pytorch_one", one("Resize", ["x0", "", "", "z"], [[1, 4]], mode="cubic",
                               coordinate_transformation_mode="pytorch_half_pixel",
                               inits=[ints("z", [1, 1])]),
     "unsupported pytorch_half_pixel resize of dimension 1 to size 1"),
    ("resize_legacy_nearest", one("Resize", ["x0", "s"], [[1, 5]], opset=10,
                                  inits=[floats("s", [1, 0.6])]),
     "unsupported nearest downsampling by a non-integer factor before opset 11"),
    ("resize_mode", one("Resize", ["x0", "", "s"], [[1, 4]], mode="bicubic",
                        inits=[floats("s", [1, 2])]), "unknown mode 'bicubic'"),
    # Layout and indexing ops composed from tessera ops.
    ("d2s_rank", one("DepthToSpace", ["x0"], [[4, 2, 2]], blocksize=2), "the input must be 4-D [N, C, H, W], got rank 3"),
    ("d2s_block", one("DepthToSpace", ["x0"], [[1, 4, 2, 2]]), "blocksize must be positive, got 0"),
    ("d2s_channels", one("DepthToSpace", ["x0"], [[1, 6, 2, 2]], blocksize=2),
     "channels (6) are not divisible by blocksize^2 (4)"),
    ("d2s_mode", one("DepthToSpace", ["x0"], [[1, 4, 2, 2]], blocksize=2, mode="XYZ"),
     "mode must be DCR or CRD, got 'XYZ'"),
    ("s2d_size", one("SpaceToDepth", ["x0"], [[1, 1, 3, 4]], blocksize=2),
     "height and width (3, 4) are not divisible by blocksize 2"),
    ("tile_count", one("Tile", ["x0", "r"], [[2, 3]], inits=[ints("r", [2])]),
     "repeats has 1 values for an input of rank 2"),
    ("tile_overflow", one("Tile", ["x0", "r"], [[2, 3]], inits=[ints("r", [2**62, 4])]),
     "the tiled tensor is too large"),
    ("onehot_large", one("OneHot", ["x0", "d", "x1"], [[1 << 20], [2]], inits=[ints("d", [1 << 50])]),
     "the one-hot tensor (depth 1125899906842624) is too large"),
    ("cumsum_long", one("CumSum", ["x0", "a"], [[5000]], inits=[ints("a", [0])]),
     "unsupported CumSum over an axis of 5000 elements (at most 4096)"),
    ("tile_negative", one("Tile", ["x0", "r"], [[2, 3]], inits=[ints("r", [2, -1])]),
     "repeats must not be negative, got -1"),
    ("onehot_values", one("OneHot", ["x0", "d", "x1"], [[3], [3]], inits=[ints("d", [4])]),
     "values must be [off, on], a 1-D tensor of 2 elements"),
    ("onehot_depth", one("OneHot", ["x0", "d", "x1"], [[3], [2]], inits=[ints("d", [0])]),
     "depth must be positive, got 0"),
    ("onehot_axis", one("OneHot", ["x0", "d", "x1"], [[3], [2]], inits=[ints("d", [4])], axis=2),
     "axis 2 is out of range for rank 2 output"),
    ("onehot_dynamic", one("OneHot", ["x0", "x1", "x2"], [[3], [], [2]]),
     "input #1 must be a constant scalar; unsupported dynamic value"),
    ("cumsum_rank", one("CumSum", ["x0", "a"], [[]], inits=[ints("a", [0])]),
     "the input must have rank 1 or more"),
    ("cumsum_axis", one("CumSum", ["x0", "a"], [[2, 3]], inits=[ints("a", [2])]),
     "axis 2 is out of range for rank 2"),
    ("instnorm_rank", one("InstanceNormalization", ["x0", "x1", "x2"], [[2, 3], [3], [3]]),
     "the input must be [N, C, D1, ...], got rank 2"),
    ("instnorm_scale", one("InstanceNormalization", ["x0", "x1", "x2"], [[2, 3, 4], [4], [3]]),
     "scale and B must be 1-D with 3 elements (the channels)"),
    ("einsum_equation", one("Einsum", ["x0"], [[2]]), "the equation attribute is missing or empty"),
    ("einsum_terms", one("Einsum", ["x0"], [[2]], equation="i,i->"), "the equation has 2 terms for 1 inputs"),
    ("einsum_three", one("Einsum", ["x0", "x1", "x2"], [[2], [2], [2]], equation="i,i,i->"),
     "unsupported Einsum with more than two operands"),
    ("einsum_diagonal", one("Einsum", ["x0"], [[2, 2]], equation="ii->i"),
     "unsupported Einsum with a label repeated in one operand (a diagonal)"),
    ("einsum_label", one("Einsum", ["x0"], [[2]], equation="1->"), "equation label '1' is not a letter"),
    ("einsum_count", one("Einsum", ["x0"], [[2, 3]], equation="i->i"),
     "equation term 'i' has 1 labels for an operand of rank 2"),
    ("einsum_sizes", one("Einsum", ["x0", "x1"], [[2], [3]], equation="i,i->"), "label 'i' has sizes 2 and 3"),
    ("einsum_out_label", one("Einsum", ["x0"], [[2]], equation="i->j"), "output label 'j' is in no input"),
    ("einsum_out_repeat", one("Einsum", ["x0"], [[2]], equation="i->ii"), "output label 'i' is repeated"),
    ("einsum_out_dots", one("Einsum", ["x0"], [[2]], equation="i->...i"),
     "the output has an ellipsis the inputs do not"),
    ("einsum_dots_ranks", one("Einsum", ["x0", "x1"], [[2, 3], [2, 2, 3]], equation="...i,...i"),
     "the operands' ellipses cover different ranks; unsupported broadcast"),
    ("einsum_two_dots", one("Einsum", ["x0"], [[2, 3, 4]], equation="...i...->i"),
     "equation term '...i...' has more than one ellipsis"),
    ("einsum_dots_fit", one("Einsum", ["x0"], [[2]], equation="...ij->"),
     "equation term '...ij' does not fit an operand of rank 1"),
    ("einsum_drop_dots", one("Einsum", ["x0"], [[2, 3]], equation="...i->i"),
     "the output drops the inputs' ellipsis dimensions; unsupported"),
    # Integers, bits and quantization
    ("bitwise_float", one("BitwiseAnd", ["x0", "x1"], [[2], [2]], opset=18), "bitwise ops take integers"),
    ("bitwise_not_float", one("BitwiseNot", ["x0"], [[2]], opset=18), "BitwiseNot takes integers"),
    ("bitshift_direction", model([node("BitShift", ["a", "b"], ["y"], direction="UP")],
                                 [vi("a", [2], TensorProto.UINT8), vi("b", [2], TensorProto.UINT8)],
                                 [vi("y", [2], TensorProto.UINT8)], opset=11),
     "BitShift's direction must be LEFT or RIGHT, not 'UP'"),
    ("bitshift_types", model([node("BitShift", ["a", "b"], ["y"], direction="LEFT")],
                             [vi("a", [2], TensorProto.UINT8), vi("b", [2], TensorProto.UINT16)],
                             [vi("y", [2], TensorProto.UINT8)], opset=11),
     "BitShift takes two tensors of one integer type"),
    ("bitcast_float", one("BitCast", ["x0"], [[2]], opset=26, to=TensorProto.INT32),
     "unsupported bit cast of floats (to int32)"),
    ("bitcast_width", model([node("BitCast", ["a"], ["y"], to=TensorProto.INT16)],
                            [vi("a", [2], TensorProto.UINT8)], [vi("y", [2], TensorProto.INT16)], opset=26),
     "BitCast between types of different widths"),
    ("dequantize_scale", model([node("DequantizeLinear", ["a", "s"], ["y"])],
                               [vi("a", [2], TensorProto.UINT8)], [vi("y", [2])],
                               [ints("s", [1])], opset=19), "the scale must be a float tensor"),
    ("dequantize_axis", model([node("DequantizeLinear", ["a", "s"], ["y"], axis=1)],
                              [vi("a", [2, 3], TensorProto.UINT8)], [vi("y", [2, 3])],
                              [floats("s", [1, 2])], opset=19),
     "the scale has 2 elements, axis 1 has 3"),
    ("dequantize_block", model([node("DequantizeLinear", ["a", "s"], ["y"], axis=1, block_size=2)],
                               [vi("a", [2, 4], TensorProto.UINT8)], [vi("y", [2, 4])],
                               [floats("s", [[1, 2, 3], [1, 2, 3]])], opset=21),
     "the scale of a blocked quantization must have the input's shape"),
    ("quantize_float_input", model([node("QuantizeLinear", ["a", "s"], ["y"])],
                                   [vi("a", [2], TensorProto.INT32)], [vi("y", [2], TensorProto.UINT8)],
                                   [floats("s", [1])], opset=19), "QuantizeLinear takes a float input"),
    ("quantize_to_float8", model([node("QuantizeLinear", ["x0", "s"], ["y"], output_dtype=TensorProto.FLOAT8E4M3FN)],
                                 [vi("x0", [2])], [vi("y", [2], TensorProto.FLOAT8E4M3FN)],
                                 [floats("s", [1])], opset=21),
     "unsupported quantization to or from f8E4M3FN"),
    ("matmulinteger_16", model([node("MatMulInteger", ["a", "b"], ["y"])],
                               [vi("a", [2, 2], TensorProto.INT16), vi("b", [2, 2], TensorProto.INT16)],
                               [vi("y", [2, 2], TensorProto.INT32)], opset=10),
     "the operands must be 8-bit integers"),
    ("swiglu_shapes", one("SwiGLU", ["x0", "x1"], [[2], [3]], opset=28),
     "A and B must have the same type and shape"),
    # Pooling and normalization composites
    ("lppool_p", one("LpPool", ["x0"], [[1, 1, 4]], opset=18, kernel_shape=[2], p=0),
     "p must be positive, got 0"),
    ("lpnorm_p", one("LpNormalization", ["x0"], [[2, 2]], p=3), "p must be 1 or 2, got 3"),
    ("groupnorm_groups", one("GroupNormalization", ["x0", "x1", "x2"], [[1, 4, 2], [3], [3]], opset=21,
                             num_groups=3), "num_groups (3) must divide the 4 channels"),
    ("groupnorm_scale", one("GroupNormalization", ["x0", "x1", "x2"], [[1, 4, 2], [2], [2]], opset=21,
                            num_groups=2), "scale and bias must be 1-D with 4 elements"),
    ("global_max_rank", one("GlobalMaxPool", ["x0"], [[2, 2]]), "the input must have rank 3 or more"),
    ("hardmax_rank", one("Hardmax", ["x0"], [[]], opset=13), "the input must have rank 1 or more"),
    ("gathernd_batch", one("GatherND", ["x0", "i"], [[2, 2]], inits=[ints("i", [[0]])], batch_dims=2),
     "batch_dims must be below the ranks of data and indices"),
    ("gathernd_tuple", one("GatherND", ["x0", "i"], [[2, 2]], inits=[ints("i", [[0, 0, 0]])]),
     "the index tuples have 3 elements, at most 2 fit"),
    ("window_size", one("HannWindow", ["s"], [], inits=[ints("s", [2, 3])], opset=17),
     "size must be one non-negative value"),
    ("centercrop_shape", one("CenterCropPad", ["x0", "s"], [[2, 2]], inits=[ints("s", [1])], opset=18),
     "shape has 1 entries for 2 axes"),
    ("reverse_axes", one("ReverseSequence", ["x0", "l"], [[2, 2]], inits=[ints("l", [1, 1])],
                         batch_axis=0, time_axis=0), "batch_axis and time_axis must differ"),
    ("tensor_scatter_mode", one("TensorScatter", ["x0", "x1"], [[1, 4, 2], [1, 1, 2]], opset=24,
                                mode="random"), "mode must be linear or circular, not 'random'"),
    ("tensor_scatter_fit", one("TensorScatter", ["x0", "x1"], [[1, 2, 2], [1, 3, 2]], opset=24),
     "the update's shape does not fit the cache's"),
    ("dft_input", one("DFT", ["x0"], [[2, 3]], opset=20),
     "the input must be a float [..., 1] (real) or [..., 2] (complex) tensor"),
    ("dft_axis", one("DFT", ["x0", "", "a"], [[2, 3, 1]], opset=20, inits=[ints("a", [2])]),
     "axis must not be the real/imaginary dimension"),
    ("dft_length", one("DFT", ["x0", "l"], [[2, 3, 1]], opset=20, inits=[ints("l", [0])]),
     "dft_length must be positive, got 0"),
    ("isinf_bool", model([node("IsInf", ["x0"], ["y"])], [vi("x0", [6], TensorProto.BOOL)],
                         [vi("y", [6], TensorProto.BOOL)], opset=10), "IsInf expects a floating-point input"),
    ("eyelike_rank", one("EyeLike", ["x0"], [[2]]), "the input must be 2-D, got rank 1"),
    ("topk_k", one("TopK", ["x0", "k"], [[3]], inits=[ints("k", [4])], outs=("v", "i")),
     "K is 4, the axis has 3 elements"),
    ("topk_k_vector", one("TopK", ["x0", "k"], [[3]], inits=[ints("k", [1, 2])], outs=("v", "i")),
     "K must hold one value"),
    ("attention_nonpad_past", one("Attention", ["x0", "x1", "x2", "", "x3", "x4", "n"],
                                  [[1, 1, 2, 4], [1, 1, 2, 4], [1, 1, 2, 4], [1, 1, 1, 4], [1, 1, 1, 4]],
                                  opset=24, inits=[ints("n", [2])]),
     "nonpad_kv_seqlen cannot be used with past_key and past_value"),
    ("attention_nonpad_shape", one("Attention", ["x0", "x1", "x2", "", "", "", "n"],
                                   [[1, 1, 2, 4], [1, 1, 2, 4], [1, 1, 2, 4]],
                                   opset=24, inits=[ints("n", [2, 2])]),
     "nonpad_kv_seqlen must be a [batch] integer vector"),
    # Verifier messages reach the user as one line too.
    ("verifier", one("MatMul", ["x0", "x1"], [[2, 3], [4, 5]]), "contraction dimensions differ: 2x3 and 4x5"),
]

passed = failed = 0
for name, m, expected in CASES:
    path = os.path.join(work, name + ".onnx")
    onnx.save(m, path)
    p = subprocess.run([tool, "--import-onnx", path, "--no-ir"], capture_output=True, text=True)
    lines = p.stderr.strip().splitlines()
    if p.returncode == 1 and len(lines) == 1 and expected in lines[0]:
        passed += 1
    else:
        failed += 1
        print("FAIL %s: exit %d, expected one line containing %r, got:\n%s"
              % (name, p.returncode, expected, p.stderr))
print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
