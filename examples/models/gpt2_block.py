#!/usr/bin/env python3
"""Writes a GPT-2 style transformer block as ONNX (fixed seed), built with
the `onnx` helper so no PyTorch is needed.

    gpt2_block.py OUT.onnx [--hidden 64 --heads 4 --seq 16]

Graph: x[batch, seq, hidden] -> LayerNorm -> QKV projection -> split heads ->
causal attention (Trilu mask + Where, Softmax) -> output projection ->
residual -> LayerNorm -> MLP (Gelu as Erf) -> residual. The batch dimension
is dynamic (`batch`), as exporters write it.
"""
import numpy as np
from onnx import TensorProto, helper

from common import Builder, cli, finish


def build(hidden, heads, seq):
    b = Builder(2026)
    head = hidden // heads
    const, node = b.const, b.node

    def weight(name, shape):
        return b.weight(name, shape, 0.02)

    ln1_g = const("ln_1.weight", np.ones(hidden, np.float32))
    ln1_b = const("ln_1.bias", np.zeros(hidden, np.float32))
    h = node("LayerNormalization", ["x", ln1_g, ln1_b], ["ln_1"], axis=-1, epsilon=1e-5)
    qkv = node("MatMul", [h, weight("attn.c_attn.weight", (hidden, 3 * hidden))], ["qkv_mm"])
    qkv = node("Add", [qkv, weight("attn.c_attn.bias", (3 * hidden,))], ["qkv"])
    split = const("split_sizes", np.array([hidden] * 3, np.int64))
    node("Split", [qkv, split], ["q", "k", "v"], axis=-1)
    heads_shape = const("heads_shape", np.array([0, 0, heads, head], np.int64))
    for t in ("q", "k", "v"):
        node("Reshape", [t, heads_shape], [t + "_h"])
        perm = [0, 2, 3, 1] if t == "k" else [0, 2, 1, 3]
        node("Transpose", [t + "_h"], [t + "_t"], perm=perm)
    scores = node("MatMul", ["q_t", "k_t"], ["scores"])
    scores = node("Div", [scores, const("scale", np.array(np.sqrt(head), np.float32))],
                  ["scores_scaled"])
    ones = const("ones", np.ones((seq, seq), np.bool_))
    mask = node("Trilu", [ones], ["causal"], upper=0)
    neg = const("neg_inf", np.array(-1e9, np.float32))
    scores = node("Where", [mask, scores, neg], ["masked"])
    probs = node("Softmax", [scores], ["probs"], axis=-1)
    ctx = node("MatMul", [probs, "v_t"], ["context"])
    ctx = node("Transpose", [ctx], ["context_t"], perm=[0, 2, 1, 3])
    merged_shape = const("merged_shape", np.array([0, 0, hidden], np.int64))
    ctx = node("Reshape", [ctx, merged_shape], ["context_merged"])
    attn = node("MatMul", [ctx, weight("attn.c_proj.weight", (hidden, hidden))], ["attn_mm"])
    attn = node("Add", [attn, weight("attn.c_proj.bias", (hidden,))], ["attn_out"])
    x1 = node("Add", ["x", attn], ["residual_1"])

    ln2_g = const("ln_2.weight", np.ones(hidden, np.float32))
    ln2_b = const("ln_2.bias", np.zeros(hidden, np.float32))
    h = node("LayerNormalization", [x1, ln2_g, ln2_b], ["ln_2"], axis=-1, epsilon=1e-5)
    fc = node("MatMul", [h, weight("mlp.c_fc.weight", (hidden, 4 * hidden))], ["fc_mm"])
    fc = node("Add", [fc, weight("mlp.c_fc.bias", (4 * hidden,))], ["fc"])
    # GELU as exporters write it: 0.5 * x * (1 + erf(x / sqrt(2)))
    g = node("Div", [fc, const("sqrt2", np.array(np.sqrt(2.0), np.float32))], ["gelu_div"])
    g = node("Erf", [g], ["gelu_erf"])
    g = node("Add", [g, const("one", np.array(1.0, np.float32))], ["gelu_add"])
    g = node("Mul", [fc, g], ["gelu_mul"])
    g = node("Mul", [g, const("half", np.array(0.5, np.float32))], ["gelu"])
    proj = node("MatMul", [g, weight("mlp.c_proj.weight", (4 * hidden, hidden))], ["proj_mm"])
    proj = node("Add", [proj, weight("mlp.c_proj.bias", (hidden,))], ["mlp_out"])
    node("Add", [x1, proj], ["y"])

    graph = helper.make_graph(
        b.nodes, "gpt2_block",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", seq, hidden])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", seq, hidden])],
        b.inits)
    return finish(graph)


if __name__ == "__main__":
    cli(__doc__, build, hidden=64, heads=4, seq=16)
