#!/usr/bin/env python3
"""Writes a BERT style encoder block as ONNX (fixed seed): bidirectional
self-attention with an additive attention mask built from a [batch, seq]
0/1 input, post-attention and post-MLP LayerNorm (BERT's post-norm), GELU as
Erf.

    bert_block.py OUT.onnx [--hidden 64 --heads 4 --seq 16]
"""
import numpy as np
from onnx import TensorProto, helper

from common import Builder, cli, finish


def build(hidden, heads, seq):
    b = Builder(11)
    head = hidden // heads
    const, node = b.const, b.node

    def weight(name, shape):
        return b.weight(name, shape, 0.05)

    heads_shape = const("heads_shape", np.array([0, 0, heads, head], np.int64))
    for t in ("query", "key", "value"):
        p = node("MatMul", ["x", weight(t + ".weight", (hidden, hidden))], [t + "_mm"])
        p = node("Add", [p, weight(t + ".bias", (hidden,))], [t])
        p = node("Reshape", [p, heads_shape], [t + "_h"])
        node("Transpose", [p], [t + "_t"], perm=[0, 2, 3, 1] if t == "key" else [0, 2, 1, 3])
    scores = node("MatMul", ["query_t", "key_t"], ["scores"])
    scores = node("Mul", [scores, const("scale", np.array(1 / np.sqrt(head), np.float32))],
                  ["scores_scaled"])
    # mask: [batch, seq] of 1 (keep) / 0 (pad) -> (1 - mask) * -10000 on [batch,1,1,seq]
    m = node("Unsqueeze", ["mask", const("mask_axes", np.array([1, 2], np.int64))], ["mask_4d"])
    m = node("Sub", [const("one", np.array(1.0, np.float32)), m], ["mask_inv"])
    m = node("Mul", [m, const("neg", np.array(-10000.0, np.float32))], ["mask_add"])
    scores = node("Add", [scores, m], ["scores_masked"])
    probs = node("Softmax", [scores], ["probs"], axis=-1)
    ctx = node("MatMul", [probs, "value_t"], ["context"])
    ctx = node("Transpose", [ctx], ["context_t"], perm=[0, 2, 1, 3])
    ctx = node("Reshape", [ctx, const("merged", np.array([0, 0, hidden], np.int64))], ["context_m"])
    attn = node("MatMul", [ctx, weight("attn.out.weight", (hidden, hidden))], ["attn_mm"])
    attn = node("Add", [attn, weight("attn.out.bias", (hidden,))], ["attn_out"])
    x1 = node("Add", ["x", attn], ["residual_1"])
    x1 = node("LayerNormalization", [x1, const("ln1.g", np.ones(hidden, np.float32)),
                                     const("ln1.b", np.zeros(hidden, np.float32))],
              ["ln_1"], axis=-1, epsilon=1e-12)
    h = node("MatMul", [x1, weight("ffn.in.weight", (hidden, 4 * hidden))], ["ffn_mm"])
    h = node("Add", [h, weight("ffn.in.bias", (4 * hidden,))], ["ffn"])
    g = node("Div", [h, const("sqrt2", np.array(np.sqrt(2.0), np.float32))], ["gelu_div"])
    g = node("Erf", [g], ["gelu_erf"])
    g = node("Add", [g, "one"], ["gelu_add"])
    g = node("Mul", [h, g], ["gelu_mul"])
    g = node("Mul", [g, const("half", np.array(0.5, np.float32))], ["gelu"])
    o = node("MatMul", [g, weight("ffn.out.weight", (4 * hidden, hidden))], ["out_mm"])
    o = node("Add", [o, weight("ffn.out.bias", (hidden,))], ["ffn_out"])
    x2 = node("Add", [x1, o], ["residual_2"])
    node("LayerNormalization", [x2, const("ln2.g", np.ones(hidden, np.float32)),
                                const("ln2.b", np.zeros(hidden, np.float32))],
         ["y"], axis=-1, epsilon=1e-12)

    graph = helper.make_graph(
        b.nodes, "bert_block",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", seq, hidden]),
         helper.make_tensor_value_info("mask", TensorProto.FLOAT, ["batch", seq])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", seq, hidden])],
        b.inits)
    return finish(graph)


if __name__ == "__main__":
    cli(__doc__, build, hidden=64, heads=4, seq=16)
