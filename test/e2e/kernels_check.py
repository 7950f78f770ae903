#!/usr/bin/env python3
"""The CPU kernels on the shapes that reach each of their code paths,
compiled with tessera-compile, run with tessera-run and compared with NumPy
(float64 reference):

  * contractions through the GEMM microkernel: edge tiles in M and N, K
    split in several KC slices, N over several column blocks, packed and
    in-place B, transposed A and B (input and weight), batch dimensions
    broadcast on either side and folded into M, Gemm alpha/beta/bias;
  * convolutions as im2col patches and one batched matmul: padding,
    strides, dilations, groups, 1x1 pointwise; depthwise ones through
    their own microkernel; the bias, residual and ReLU / ReLU6 that both
    microkernels take over from the op after them;
  * exp and erf through Tessera's vectorizable versions, and tanh through
    MLIR's polynomial one, over their whole range including overflow,
    underflow, infinities and NaN; Pow by constant 2 and 3.

    kernels_check.py --compile tessera-compile --run tessera-run --work DIR
                     [--only TEXT] [--jobs N]

The cases run --jobs at a time (default 2: each is a compile, then a run);
the report lists them in order.
"""
import argparse
import concurrent.futures
import math
import os
import platform
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from tessera_tools import compile_model, run_artifact


def matmul_case(a_shape, b_shape, b_weight=False):
    inputs = [helper.make_tensor_value_info("a", TensorProto.FLOAT, a_shape)]
    inits = []
    rng = np.random.default_rng(7)
    b = rng.standard_normal(b_shape).astype(np.float32)
    if b_weight:
        inits.append(numpy_helper.from_array(b, "b"))
    else:
        inputs.append(helper.make_tensor_value_info("b", TensorProto.FLOAT, b_shape))
    node = helper.make_node("MatMul", ["a", "b"], ["y"])
    feeds = {"a": rng.standard_normal(a_shape).astype(np.float32)}
    if not b_weight:
        feeds["b"] = b
    ref = np.matmul(feeds["a"].astype(np.float64), b.astype(np.float64))
    return [node], inputs, inits, feeds, ref


def gemm_case(m, n, k, trans_a, trans_b, alpha, beta, bias):
    rng = np.random.default_rng(11)
    a = rng.standard_normal((k, m) if trans_a else (m, k)).astype(np.float32)
    b = rng.standard_normal((n, k) if trans_b else (k, n)).astype(np.float32)
    c = rng.standard_normal((n,)).astype(np.float32)
    names = ["a", "b"] + (["c"] if bias else [])
    node = helper.make_node("Gemm", names, ["y"], alpha=alpha, beta=beta,
                            transA=int(trans_a), transB=int(trans_b))
    inits = [numpy_helper.from_array(b, "b")] + ([numpy_helper.from_array(c, "c")] if bias else [])
    inputs = [helper.make_tensor_value_info("a", TensorProto.FLOAT, list(a.shape))]
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    ref = alpha * ((a64.T if trans_a else a64) @ (b64.T if trans_b else b64))
    if bias:
        ref = ref + beta * c.astype(np.float64)
    return [node], inputs, inits, {"a": a}, ref


def conv_ref(x, w, group, stride, dilation, pads):
    """float64 NumPy 2-D convolution of x [n, c, h, w] by w [m, c/group,
    kh, kw] (ONNX's Conv attributes), without bias."""
    x, w = x.astype(np.float64), w.astype(np.float64)
    n, c = x.shape[:2]
    m, k = w.shape[0], w.shape[2:]
    xp = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])))
    oh = (xp.shape[2] - dilation[0] * (k[0] - 1) - 1) // stride[0] + 1
    ow = (xp.shape[3] - dilation[1] * (k[1] - 1) - 1) // stride[1] + 1
    ref = np.zeros((n, m, oh, ow))
    mg, cg = m // group, c // group
    for g in range(group):
        for i in range(k[0]):
            for j in range(k[1]):
                win = xp[:, g * cg:(g + 1) * cg,
                         i * dilation[0]:i * dilation[0] + stride[0] * (oh - 1) + 1:stride[0],
                         j * dilation[1]:j * dilation[1] + stride[1] * (ow - 1) + 1:stride[1]]
                ref[:, g * mg:(g + 1) * mg] += np.einsum("nchw,mc->nmhw", win,
                                                          w[g * mg:(g + 1) * mg, :, i, j])
    return ref


def conv_case(n, c, hw, m, k, group, stride, dilation, pads, bias):
    """A 2-D Conv (weight constant) against a float64 NumPy convolution."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((n, c) + hw).astype(np.float32)
    w = rng.standard_normal((m, c // group) + k).astype(np.float32)
    b = rng.standard_normal((m,)).astype(np.float32)
    inits = [numpy_helper.from_array(w, "w")] + ([numpy_helper.from_array(b, "b")] if bias else [])
    node = helper.make_node("Conv", ["a", "w"] + (["b"] if bias else []), ["y"], group=group,
                            strides=list(stride), dilations=list(dilation), pads=list(pads))
    ref = conv_ref(x, w, group, stride, dilation, pads)
    if bias:
        ref += b.reshape(1, m, 1, 1)
    inputs = [helper.make_tensor_value_info("a", TensorProto.FLOAT, list(x.shape))]
    return [node], inputs, inits, {"a": x}, ref


def dw_chain_case():
    """Two depthwise convolutions on one thread's scratch: the first
    (unpadded 10x10) fills all of its input's positions there, the second
    (8x8 padded to 10x10) must zero the border the first left values in."""
    rng = np.random.default_rng(7)
    c = 16
    x = rng.standard_normal((1, c, 10, 10)).astype(np.float32)
    w1, w2 = (rng.standard_normal((c, 1, 3, 3)).astype(np.float32) for _ in range(2))
    inits = [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(w2, "w2")]
    nodes = [helper.make_node("Conv", ["a", "w1"], ["t"], group=c, pads=[0, 0, 0, 0]),
             helper.make_node("Conv", ["t", "w2"], ["y"], group=c, pads=[1, 1, 1, 1])]
    t = conv_ref(x, w1, c, (1, 1), (1, 1), (0, 0, 0, 0))
    ref = conv_ref(t, w2, c, (1, 1), (1, 1), (1, 1, 1, 1))
    inputs = [helper.make_tensor_value_info("a", TensorProto.FLOAT, list(x.shape))]
    return nodes, inputs, inits, {"a": x}, ref


def maxpool_case(n, c, hw, k, stride, dilation, pads, ceil=0, nan=False, relu=False):
    """A 2-D MaxPool (optionally after a Relu) against NumPy: the input
    padded with -inf, the maximum over each window (NaN if any is NaN)."""
    rng = np.random.default_rng(11)
    x = rng.standard_normal((n, c) + hw).astype(np.float32)
    if nan:
        x.flat[rng.choice(x.size, 7, replace=False)] = np.nan
    src = np.maximum(x, 0) if relu else x
    xp = np.pad(src.astype(np.float64), ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])),
                constant_values=-np.inf)
    out = []
    for i in range(2):
        span = xp.shape[2 + i] - dilation[i] * (k[i] - 1) - 1
        out.append((span + (stride[i] - 1 if ceil else 0)) // stride[i] + 1)
    # ceil_mode: windows reaching past the padded input see -inf there.
    xp = np.pad(xp, ((0, 0), (0, 0), (0, k[0] * dilation[0] + stride[0]),
                     (0, k[1] * dilation[1] + stride[1])), constant_values=-np.inf)
    ref = np.full((n, c) + tuple(out), -np.inf)
    for i in range(k[0]):
        for j in range(k[1]):
            win = xp[:, :, i * dilation[0]:i * dilation[0] + stride[0] * (out[0] - 1) + 1:stride[0],
                     j * dilation[1]:j * dilation[1] + stride[1] * (out[1] - 1) + 1:stride[1]]
            ref = np.where(np.isnan(win) | (win > ref), win, ref)
    nodes = ([helper.make_node("Relu", ["a"], ["r"])] if relu else []) + [
        helper.make_node("MaxPool", ["r" if relu else "a"], ["y"], kernel_shape=list(k),
                         strides=list(stride), dilations=list(dilation), pads=list(pads),
                         ceil_mode=ceil)]
    inputs = [helper.make_tensor_value_info("a", TensorProto.FLOAT, list(x.shape))]
    return nodes, inputs, [], {"a": x}, ref


def unary_case(op, fn):
    # Every 2^-6 step over [-120, 120], plus the special values.
    x = np.concatenate([np.arange(-120, 120, 1 / 64.0),
                        [0.0, -0.0, 1e-30, -1e-30, 88.72, 88.73, -103.9, -104.0,
                         np.inf, -np.inf, np.nan]]).astype(np.float32)
    node = helper.make_node(op, ["a"], ["y"])
    inputs = [helper.make_tensor_value_info("a", TensorProto.FLOAT, [x.size])]
    with np.errstate(over="ignore", under="ignore"):
        # Rounded to float32's range: overflow to inf, underflow to 0.
        ref = np.array([fn(float(v)) for v in x]).astype(np.float32).astype(np.float64)
    return [node], inputs, [], {"a": x}, ref


def max_rows_case():
    """Softmax and ReduceMax / ReduceMin along rows of 197 (a ViT's
    attention rows; the reductions vectorize): a NaN anywhere in a row
    makes its maximum, minimum and softmax NaN, as in NumPy."""
    rng = np.random.default_rng(11)
    x = (rng.standard_normal((6, 197)) * 8).astype(np.float32)
    x[1, 150] = np.nan
    x[3, 0] = np.nan
    x[4, :] = -0.0
    x[4, 77] = 0.0
    x[5, 196] = 1e30
    nodes = [helper.make_node("Softmax", ["a"], ["s"], axis=-1),
             helper.make_node("ReduceMax", ["a"], ["mx"], keepdims=1, axes=[1]),
             helper.make_node("ReduceMin", ["a"], ["mn"], keepdims=1, axes=[1]),
             helper.make_node("Concat", ["s", "mx", "mn"], ["y"], axis=1)]
    inputs = [helper.make_tensor_value_info("a", TensorProto.FLOAT, list(x.shape))]
    x64 = x.astype(np.float64)
    with np.errstate(invalid="ignore"):
        e = np.exp(x64 - x64.max(axis=1, keepdims=True))
        ref = np.concatenate([e / e.sum(axis=1, keepdims=True), x64.max(axis=1, keepdims=True),
                              x64.min(axis=1, keepdims=True)], axis=1)
    return nodes, inputs, [], {"a": x}, ref


def pow_case():
    """x^2 + x^3 with constant exponents (RMSNorm's square, GELU's cube),
    which the CPU code computes as products."""
    x = np.linspace(-40, 40, 801).astype(np.float32)
    nodes = [helper.make_node("Pow", ["a", "two"], ["sq"]),
             helper.make_node("Pow", ["a", "three"], ["cube"]),
             helper.make_node("Add", ["sq", "cube"], ["y"])]
    inits = [numpy_helper.from_array(np.array(2.0, np.float32), "two"),
             numpy_helper.from_array(np.array(3.0, np.float32), "three")]
    inputs = [helper.make_tensor_value_info("a", TensorProto.FLOAT, [x.size])]
    xd = x.astype(np.float64)
    return nodes, inputs, inits, {"a": x}, xd * xd + xd ** 3


def gather_clamp_case(op):
    """Indices outside [-n, n) (undefined in ONNX) read in bounds: clamped,
    as NumPy's take(mode="clip") after negatives wrap."""
    data = np.arange(20, dtype=np.float32).reshape(4, 5)
    idx = np.array([[0, -1, 7, -9, 3]] * 2, np.int64) if op == "GatherElements" \
        else np.array([0, -1, 7, -9], np.int64)
    node = helper.make_node(op, ["a", "i"], ["y"], axis=0)
    inits = [numpy_helper.from_array(idx, "i")]
    inputs = [helper.make_tensor_value_info("a", TensorProto.FLOAT, [4, 5])]
    wrapped = np.where(idx < 0, idx + 4, idx).clip(0, 3)
    if op == "GatherElements":
        ref = np.take_along_axis(data, wrapped, axis=0)
    else:
        ref = data[wrapped]
    return [node], inputs, inits, {"a": data}, ref.astype(np.float64)


def with_epilogue(case, act=None, residual=False, nan=False):
    """`case` (one node writing y) followed by what the microkernels take
    over from the op after them: a residual Add of an input r of y's
    shape, then Relu or Clip(0, 6). With `nan`, the input holds NaNs,
    which the bounds must let through as the reference does."""
    nodes, inputs, inits, feeds, ref = case
    nodes = [helper.make_node(n.op_type, list(n.input), ["t"] if n.output[0] == "y" else list(n.output),
                              **{a.name: helper.get_attribute_value(a) for a in n.attribute})
             for n in nodes]
    last = "t"
    if nan:
        x = feeds["a"].copy()
        x.flat[::17] = np.nan
        feeds = dict(feeds, a=x)
        ref = ref.copy()
        ref[np.isnan(_rerun(case, x))] = np.nan
    if residual:
        r = np.random.default_rng(3).standard_normal(ref.shape).astype(np.float32)
        inputs = inputs + [helper.make_tensor_value_info("r", TensorProto.FLOAT, list(ref.shape))]
        feeds = dict(feeds, r=r)
        nodes.append(helper.make_node("Add", [last, "r"], ["s"]))
        ref = ref + r.astype(np.float64)
        last = "s"
    if act == "relu":
        nodes.append(helper.make_node("Relu", [last], ["y"]))
        ref = np.where(np.isnan(ref), ref, np.maximum(ref, 0.0))
    elif act == "relu6":
        inits = inits + [numpy_helper.from_array(np.array(0, np.float32), "lo"),
                         numpy_helper.from_array(np.array(6, np.float32), "hi")]
        nodes.append(helper.make_node("Clip", [last, "lo", "hi"], ["y"]))
        ref = np.where(np.isnan(ref), ref, np.clip(ref, 0.0, 6.0))
    else:
        nodes.append(helper.make_node("Identity", [last], ["y"]))
    return nodes, inputs, inits, feeds, ref


def _rerun(case, x):
    """Where a depthwise convolution of x (NaNs included) is NaN: a NaN
    spreads over the windows that read it."""
    nodes, _, inits, _, _ = case
    w = numpy_helper.to_array(inits[0])
    attrs = {a.name: helper.get_attribute_value(a) for a in nodes[0].attribute}
    pads, stride, dil = attrs["pads"], attrs["strides"], attrs["dilations"]
    bad = np.pad(np.isnan(x).astype(np.float64), ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])))
    kh, kw = w.shape[2:]
    oh = (bad.shape[2] - dil[0] * (kh - 1) - 1) // stride[0] + 1
    ow = (bad.shape[3] - dil[1] * (kw - 1) - 1) // stride[1] + 1
    out = np.zeros(x.shape[:2] + (oh, ow))
    for i in range(kh):
        for j in range(kw):
            out += bad[:, :, i * dil[0]:i * dil[0] + stride[0] * (oh - 1) + 1:stride[0],
                       j * dil[1]:j * dil[1] + stride[1] * (ow - 1) + 1:stride[1]]
    return np.where(out > 0, np.nan, 0.0)


def flushed(case):
    """`case` with its reference's subnormal values (below 2^-126 in
    magnitude) flushed to zero, as tessera-run computes by default."""
    nodes, inputs, inits, feeds, ref = case
    tiny = float(np.finfo(np.float32).tiny)
    return nodes, inputs, inits, feeds, np.where(np.abs(ref) < tiny, 0.0, ref)


def subnormal_matmul_case(m, k, n):
    """An m x k x n product whose results (and every partial sum) are
    subnormal: zero by default, kept with --denormals=keep. Split over the
    thread pool when large: 1024x256x1024 is two column blocks of about a
    millisecond, one of which a pool worker takes."""
    rng = np.random.default_rng(11)
    a = (rng.standard_normal((m, k)) * 1e-20).astype(np.float32)
    b = (rng.standard_normal((k, n)) * 1e-20).astype(np.float32)
    node = helper.make_node("MatMul", ["a", "b"], ["y"])
    inputs = [helper.make_tensor_value_info("a", TensorProto.FLOAT, [m, k]),
              helper.make_tensor_value_info("b", TensorProto.FLOAT, [k, n])]
    return [node], inputs, [], {"a": a, "b": b}, a.astype(np.float64) @ b.astype(np.float64)


def empty_case():
    """An empty input through the artifact boundary: the sum of [0, 4] over
    its empty axis is [4] zeros."""
    node = helper.make_node("ReduceSum", ["a", "axes"], ["y"], keepdims=0)
    inputs = [helper.make_tensor_value_info("a", TensorProto.FLOAT, [0, 4])]
    inits = [numpy_helper.from_array(np.array([0], np.int64), "axes")]
    return [node], inputs, inits, {"a": np.zeros((0, 4), np.float32)}, np.zeros((4,))


CASES = [
    # name, (nodes, inputs, initializers, feeds, reference), rtol, atol
    ("matmul 1x1x1", matmul_case([1, 1], [1, 1]), 1e-5, 1e-6),
    ("matmul edges 37x53x71", matmul_case([37, 71], [71, 53]), 1e-5, 1e-5),
    ("matmul K slices 20x40x700", matmul_case([20, 700], [700, 40]), 1e-5, 1e-4),
    ("matmul packed B 300x520x300", matmul_case([300, 300], [300, 520]), 1e-5, 1e-4),
    ("matmul column blocks 13x2100x40", matmul_case([13, 40], [40, 2100]), 1e-5, 1e-5),
    ("matmul row blocks 650x49x512", matmul_case([650, 512], [512, 49]), 1e-5, 1e-4),
    ("matmul batch folded into M", matmul_case([3, 5, 17, 24], [24, 33], b_weight=True), 1e-5, 1e-5),
    ("matmul batch broadcast lhs", matmul_case([1, 17, 24], [4, 24, 19]), 1e-5, 1e-5),
    ("matmul batch broadcast 4-D", matmul_case([2, 1, 9, 16], [1, 3, 16, 40]), 1e-5, 1e-5),
    # Weights prepacked at compile time whose last panel is narrower (N not
    # a multiple of 32: GPT-2's LM head has 50257 columns), over two K
    # slices, and over the threads' column blocks.
    ("matmul prepacked narrow panel 37x83x300", matmul_case([37, 300], [300, 83], b_weight=True), 1e-5, 1e-4),
    ("matmul prepacked narrow panel 130x1000x768", matmul_case([130, 768], [768, 1000], b_weight=True), 1e-5, 1e-4),
    # Per-head products, each too small to split: the batch over threads.
    ("matmul batch over threads 12x128x64x128", matmul_case([12, 128, 64], [12, 64, 128]), 1e-5, 1e-4),
    ("matmul vector-matrix", matmul_case([64], [64, 48]), 1e-5, 1e-5),
    ("matmul matrix-vector", matmul_case([48, 64], [64]), 1e-5, 1e-5),
    ("gemm transB weight 8x512x256", gemm_case(8, 512, 256, False, True, 1.0, 1.0, True), 1e-5, 1e-4),
    ("gemm transA 33x29x70", gemm_case(33, 29, 70, True, False, 0.5, 2.0, True), 1e-5, 1e-5),
    ("gemm transA transB 150x300x90", gemm_case(150, 300, 90, True, True, 1.0, 1.0, False), 1e-5, 1e-4),
    # Convolutions through im2col patches and the GEMM microkernel.
    ("conv 3x3 pads", conv_case(2, 3, (9, 11), 8, (3, 3), 1, (1, 1), (1, 1), (1, 1, 1, 1), True), 1e-5, 1e-5),
    ("conv groups strides dilations", conv_case(1, 6, (13, 12), 9, (3, 2), 3, (2, 3), (2, 1), (0, 1, 2, 0), True),
     1e-5, 1e-5),
    ("conv 1x1 pointwise", conv_case(2, 16, (5, 7), 24, (1, 1), 1, (1, 1), (1, 1), (0, 0, 0, 0), False), 1e-5, 1e-5),
    # Short K into few channels over many positions: B (the input) read in
    # place, not packed (40x80 positions, two row tiles and an edge).
    ("conv 1x1 short K read in place",
     with_epilogue(conv_case(1, 48, (40, 80), 20, (1, 1), 1, (1, 1), (1, 1), (0, 0, 0, 0), True), "relu"),
     1e-5, 1e-5),
    # B read in place with the row tiles outermost: a last panel of 29
    # columns (packed once) and of 16 (one vector, read in place), with
    # the bias and ReLU6.
    ("conv 1x1 in place rows outer edge panel",
     with_epilogue(conv_case(1, 40, (13, 17), 24, (1, 1), 1, (1, 1), (1, 1), (0, 0, 0, 0), True), "relu6"),
     1e-5, 1e-5),
    ("conv 1x1 in place rows outer vector panel",
     with_epilogue(conv_case(2, 16, (13, 16), 40, (1, 1), 1, (1, 1), (1, 1), (0, 0, 0, 0), True), "relu"),
     1e-5, 1e-5),
    ("conv depthwise", conv_case(1, 8, (10, 10), 8, (3, 3), 8, (1, 1), (1, 1), (1, 1, 1, 1), True), 1e-5, 1e-5),
    # Many channels, few positions: the batch joins the GEMM's columns.
    # Weights prepacked as the A operand (row panels of 12): a last,
    # shorter panel (100 rows) over two K slices (360), and a split by
    # rows over the threads (300 rows against 49 positions: on 6-row
    # tiles the second thread starts mid-panel).
    ("conv prepacked rows tail", conv_case(1, 40, (6, 6), 100, (3, 3), 1, (1, 1), (1, 1), (1, 1, 1, 1), True), 1e-5, 1e-4),
    ("conv prepacked row split", conv_case(1, 64, (7, 7), 300, (3, 3), 1, (1, 1), (1, 1), (1, 1, 1, 1), False), 1e-5, 1e-4),
    ("conv batch folded", conv_case(4, 64, (4, 4), 96, (3, 3), 1, (1, 1), (1, 1), (1, 1, 1, 1), True), 1e-5, 1e-4),
    ("conv batch folded groups", conv_case(3, 32, (3, 3), 64, (3, 3), 2, (1, 1), (1, 1), (1, 1, 1, 1), False), 1e-5, 1e-4),
    # Depthwise convolutions through tessera_uk_dwconv2d_f32. Planes of up
    # to 4096 padded positions run 16 at a time across vector lanes: widths
    # below, at and above a vector (7, 16, 40), a last block of fewer
    # planes (24 channels), blocks spanning batch items (8 and 24
    # channels), stride 2 (odd sizes, asymmetric pads), dilation 2, a 5x5
    # kernel (weights not one vector), no padding, enough planes for the
    # threads; with the bias, ReLU6 (NaNs kept) and ReLU taken over.
    ("conv depthwise 7-wide relu6",
     with_epilogue(conv_case(1, 24, (7, 7), 24, (3, 3), 24, (1, 1), (1, 1), (1, 1, 1, 1), True), "relu6"),
     1e-5, 1e-5),
    ("conv depthwise 16-wide batch 2",
     with_epilogue(conv_case(2, 8, (16, 16), 8, (3, 3), 8, (1, 1), (1, 1), (1, 1, 1, 1), True), "relu"),
     1e-5, 1e-5),
    ("conv depthwise 40-wide threads",
     with_epilogue(conv_case(1, 64, (21, 40), 64, (3, 3), 64, (1, 1), (1, 1), (1, 1, 1, 1), True), "relu6"),
     1e-5, 1e-5),
    ("conv depthwise stride 2 odd pads",
     with_epilogue(conv_case(1, 16, (23, 37), 16, (3, 3), 16, (2, 2), (1, 1), (0, 1, 1, 0), True), "relu6"),
     1e-5, 1e-5),
    ("conv depthwise dilation 2 5x5",
     conv_case(1, 12, (19, 20), 12, (5, 5), 12, (1, 1), (2, 2), (4, 4, 4, 4), False), 1e-5, 1e-5),
    ("conv depthwise unpadded stride 2x1",
     conv_case(1, 10, (12, 33), 10, (3, 3), 10, (2, 1), (1, 1), (0, 0, 0, 0), True), 1e-5, 1e-5),
    ("conv depthwise batch 3 stride 2 5x5",
     with_epilogue(conv_case(3, 24, (9, 11), 24, (5, 5), 24, (2, 2), (1, 1), (2, 1, 2, 3), True), "relu6"),
     1e-5, 1e-5),
    ("conv depthwise chain scratch border", dw_chain_case(), 1e-5, 1e-5),
    # Larger planes one at a time: unit strides over the flattened plane,
    # the row-by-row form (stride 2x1); stride 2 both ways reads four
    # deinterleaved phase planes: padded in the kernel with an odd left
    # pad, and unpadded, each row ending on an odd number of inputs past
    # the whole vectors (the masked tail); a 5x5 kernel (not unrolled).
    ("conv depthwise large plane",
     with_epilogue(conv_case(1, 5, (66, 70), 5, (3, 3), 5, (1, 1), (1, 1), (1, 1, 1, 1), True), "relu6"),
     1e-5, 1e-5),
    ("conv depthwise large unpadded stride 2x1",
     conv_case(1, 4, (70, 66), 4, (3, 3), 4, (2, 1), (1, 1), (0, 0, 0, 0), True), 1e-5, 1e-5),
    ("conv depthwise stride 2 phases odd left pad",
     with_epilogue(conv_case(1, 12, (61, 70), 12, (3, 3), 12, (2, 2), (1, 1), (1, 1, 0, 2), True), "relu6"),
     1e-5, 1e-5),
    ("conv depthwise stride 2 phases unpadded",
     conv_case(2, 6, (65, 71), 6, (3, 3), 6, (2, 2), (1, 1), (0, 0, 0, 0), True), 1e-5, 1e-5),
    ("conv depthwise stride 2 phases 5x5",
     conv_case(1, 8, (59, 70), 8, (5, 5), 8, (2, 2), (1, 1), (2, 2, 2, 2), False), 1e-5, 1e-5),
    ("conv depthwise NaN relu6",
     with_epilogue(conv_case(1, 8, (14, 14), 8, (3, 3), 8, (1, 1), (1, 1), (1, 1, 1, 1), True), "relu6",
                   nan=True), 1e-5, 1e-5),
    # The GEMM's epilogue: a convolution's bias per row and ReLU, its bias
    # and a residual then ReLU (ResNet's block end), a linear layer's bias
    # per column and a residual, over K slices and the threads' blocks.
    ("conv 1x1 bias relu epilogue",
     with_epilogue(conv_case(1, 32, (14, 14), 48, (1, 1), 1, (1, 1), (1, 1), (0, 0, 0, 0), True), "relu"),
     1e-5, 1e-5),
    ("conv 3x3 bias residual relu epilogue",
     with_epilogue(conv_case(2, 40, (9, 9), 36, (3, 3), 1, (1, 1), (1, 1), (1, 1, 1, 1), True), "relu",
                   residual=True), 1e-5, 1e-4),
    # Stride-1 windows read in place on the padded input's grid (each K
    # row a shifted view, the columns past each output row dropped): two
    # K slices, 4 edge rows, a partial last panel, two batch items, the
    # bias, a residual and ReLU; dilation 2; a 3x5 kernel.
    ("conv grid 3x3 K slices residual relu",
     with_epilogue(conv_case(2, 40, (30, 36), 28, (3, 3), 1, (1, 1), (1, 1), (1, 1, 1, 1), True), "relu",
                   residual=True), 1e-5, 1e-4),
    ("conv grid 3x3 dilation 2",
     conv_case(1, 16, (34, 40), 20, (3, 3), 1, (1, 1), (2, 2), (2, 2, 2, 2), False), 1e-5, 1e-4),
    # K past gridBlockTilesOuter's 8 slices (240 channels x 9 = 2160):
    # the slices outermost, C accumulated between them.
    ("conv grid 3x3 K 2160 slices outermost",
     with_epilogue(conv_case(1, 240, (20, 34), 24, (3, 3), 1, (1, 1), (1, 1), (1, 1, 1, 1), True), "relu"),
     1e-5, 1e-4),
    ("conv grid 3x5 kernel",
     conv_case(1, 6, (33, 41), 13, (3, 5), 1, (1, 1), (1, 1), (1, 2, 1, 2), True), 1e-5, 1e-4),
    # Few output positions for many channels (7x7, 14x14): the product is
    # computed transposed (vectors along the channels) and transposed into
    # the output by the epilogue: several K slices with a residual, a
    # strided 1x1 split over the threads with a 16-channel last block.
    ("conv transposed 7x7 3x3 residual relu",
     with_epilogue(conv_case(2, 64, (7, 7), 64, (3, 3), 1, (1, 1), (1, 1), (1, 1, 1, 1), True), "relu",
                   residual=True), 1e-5, 1e-4),
    # A 14-position output row is a 14-row tile on AVX-512: the windows
    # are read in place, not gathered (two K slices and a residual;
    # dilation 2 over an unpadded input).
    ("conv transposed 14x14 3x3 in place residual relu",
     with_epilogue(conv_case(1, 40, (14, 14), 64, (3, 3), 1, (1, 1), (1, 1), (1, 1, 1, 1), True), "relu",
                   residual=True), 1e-5, 1e-4),
    ("conv transposed 14x14 3x3 in place dilation 2",
     conv_case(1, 16, (18, 18), 32, (3, 3), 1, (1, 1), (2, 2), (0, 0, 0, 0), False), 1e-5, 1e-4),
    ("conv transposed 1x1 stride 2 14x14 threads",
     conv_case(1, 128, (27, 27), 80, (1, 1), 1, (2, 2), (1, 1), (0, 0, 0, 0), True), 1e-5, 1e-4),
    # Few channels (32) over many positions from a 1x1 convolution's plain
    # input (K 96, 40x40): computed transposed rather than packing B for 3
    # row tiles, over two batch items, with the bias, a residual and ReLU.
    ("conv transposed 1x1 few channels residual relu",
     with_epilogue(conv_case(2, 96, (40, 40), 32, (1, 1), 1, (1, 1), (1, 1), (0, 0, 0, 0), True), "relu",
                   residual=True), 1e-5, 1e-4),
    # Computed transposed and split by rows over the threads: more
    # positions than channels (14x14 against 48, each thread gathering its
    # positions' windows, the residual and bias shifted with them), and 5
    # column panels against 4 row tiles (a 7x7 output's 160 channels).
    ("conv transposed row split 14x14 3x3 residual relu",
     with_epilogue(conv_case(1, 64, (14, 14), 48, (3, 3), 1, (1, 1), (1, 1), (1, 1, 1, 1), True),
                   "relu", residual=True), 1e-5, 1e-4),
    ("conv transposed row split 7x7 1x1 160 channels",
     conv_case(1, 960, (7, 7), 160, (1, 1), 1, (1, 1), (1, 1), (0, 0, 0, 0), True), 1e-5, 1e-4),
    # Max pools through tessera_uk_maxpool2d_f32, which pads its input with
    # -inf itself: ResNet's stem pool (3x3, stride 2, pad 1) after a Relu
    # over enough planes for the threads, rows shorter and longer than a
    # vector, stride 1 with asymmetric pads, stride 3 with dilation 2 (the
    # scalar columns), ceil_mode's windows past the padded input, an
    # unpadded 2x2, NaNs propagated.
    ("maxpool 3x3 stride 2 pad 1 after relu threads",
     maxpool_case(1, 64, (56, 56), (3, 3), (2, 2), (1, 1), (1, 1, 1, 1), relu=True), 0.0, 0.0),
    ("maxpool 3x3 stride 2 narrow rows batch 2",
     maxpool_case(2, 5, (9, 13), (3, 3), (2, 2), (1, 1), (1, 1, 1, 1)), 0.0, 0.0),
    ("maxpool 3x2 stride 1 asymmetric pads",
     maxpool_case(1, 3, (20, 41), (3, 2), (1, 1), (1, 1), (2, 0, 0, 1)), 0.0, 0.0),
    ("maxpool stride 3 dilation 2",
     maxpool_case(1, 4, (25, 31), (3, 3), (3, 3), (2, 2), (1, 2, 2, 1)), 0.0, 0.0),
    ("maxpool ceil mode",
     maxpool_case(1, 6, (17, 18), (3, 3), (2, 2), (1, 1), (0, 0, 0, 0), ceil=1), 0.0, 0.0),
    ("maxpool 2x2 unpadded",
     maxpool_case(2, 3, (16, 34), (2, 2), (2, 2), (1, 1), (0, 0, 0, 0)), 0.0, 0.0),
    ("maxpool NaN",
     maxpool_case(1, 8, (14, 14), (3, 3), (2, 2), (1, 1), (1, 1, 1, 1), nan=True), 0.0, 0.0),
    ("gemm bias residual epilogue 70x600x300",
     with_epilogue(gemm_case(70, 600, 300, False, False, 1.0, 1.0, True), residual=True), 1e-5, 1e-4),
    ("empty input at the boundary", empty_case(), 0.0, 0.0),
    ("gather out-of-range indices", gather_clamp_case("Gather"), 0.0, 0.0),
    ("gather_elements out-of-range indices", gather_clamp_case("GatherElements"), 0.0, 0.0),
    # 2 ulp on normal results, a few subnormal steps below them.
    # Subnormal results: flushed to zero by default (runtime.h's
    # keep_denormals), each step of IEEE gradual underflow kept with
    # --denormals=keep (a fifth element: tessera-run's flags).
    ("exp subnormals kept", unary_case("Exp", lambda v: math.inf if v >= 709 else math.exp(v)),
     2.4e-7, 1e-44, ["--denormals=keep"]),
    ("exp subnormals flushed",
     flushed(unary_case("Exp", lambda v: math.inf if v >= 709 else math.exp(v))), 2.4e-7, 0.0),
    ("matmul subnormal products flushed", flushed(subnormal_matmul_case(1024, 256, 1024)), 0.0, 0.0,
     ["--threads=2"]),
    ("matmul subnormal products kept", subnormal_matmul_case(128, 128, 128), 1e-4, 1e-43,
     ["--denormals=keep"]),
    ("erf", unary_case("Erf", math.erf), 0.0, 1.5e-7),
    # MLIR's polynomial tanh (GELU's tanh form); Pow by 2 and 3 as products.
    ("tanh", unary_case("Tanh", math.tanh), 1e-6, 1e-7),
    ("pow 2 and 3", pow_case(), 1e-6, 0.0),
    ("softmax reducemax reducemin rows NaN", max_rows_case(), 1e-6, 1e-7),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--compile", required=True)
    ap.add_argument("--run", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--only", default="",
                    help="run only the cases whose name contains this text")
    ap.add_argument("--jobs", type=int, default=2,
                    help="cases compiled and run at a time")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    # The microkernels' register tiles differ by vector width: every case
    # for the host, and the contractions also for AVX2 and for plain x86-64
    # (SSE2), which this x86 machine runs too.
    cases = [c for c in CASES if args.only in c[0]]
    runs = [(c, "native") for c in cases]
    if platform.machine() in ("x86_64", "AMD64"):
        runs += [(c, cpu) for cpu in ("x86-64-v3", "x86-64")
                 for c in cases if c[0].startswith(("matmul", "gemm", "conv", "maxpool"))]

    def check(i, case, cpu):
        """Compiles and runs one case: (ok, its report line)."""
        name, (nodes, inputs, inits, feeds, ref), rtol, atol = case[:4]
        flags = case[4] if len(case) > 4 else []
        name = name if cpu == "native" else "%s [--cpu=%s]" % (name, cpu)
        d = os.path.join(args.work, "case%d" % i)
        os.makedirs(d, exist_ok=True)
        out = helper.make_tensor_value_info("y", TensorProto.FLOAT, list(ref.shape))
        model = helper.make_model(helper.make_graph(nodes, "k", inputs, [out], inits),
                                  opset_imports=[helper.make_opsetid("", 17)])
        model.ir_version = 8
        path = os.path.join(d, "model.onnx")
        onnx.save(model, path)
        artifact = os.path.join(d, "model.tsr")
        err = compile_model(args.compile, path, artifact, ["--cpu=" + cpu])
        if not err:
            err, outs = run_artifact(args.run, artifact, feeds, d, flags)
        if err:
            return False, "FAIL %s: %s" % (name, err)
        got = outs["y"].astype(np.float64)
        ok = got.shape == ref.shape and np.allclose(got, ref, rtol=rtol, atol=atol, equal_nan=True)
        finite = np.isfinite(ref)
        if got.shape == ref.shape:
            diff = np.abs(got[finite] - ref[finite])
            err = float(np.max(diff, initial=0.0))
            rel = float(np.max(diff / np.maximum(np.abs(ref[finite]), np.finfo(np.float32).tiny),
                               initial=0.0))
        else:
            err = rel = math.inf
        return ok, ("%s %s: max abs error vs NumPy %.3g, max relative %.3g"
                    % ("ok  " if ok else "FAIL", name, err, rel))

    passed = failed = 0
    with concurrent.futures.ThreadPoolExecutor(max(1, args.jobs)) as pool:
        results = [pool.submit(check, i, case, cpu) for i, (case, cpu) in enumerate(runs)]
        for r in results:
            ok, line = r.result()
            print(line, flush=True)
            passed += ok
            failed += not ok
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
