#!/usr/bin/env python3
"""Writes a Llama-style decoder block as ONNX (fixed seed), the way torch's
TorchScript exporter writes one, built with the `onnx` helper so no PyTorch
is needed.

    llama_block.py OUT.onnx [--hidden 64 --heads 4 --kv_heads 2 --seq 16]

Graph: x[batch, seq, hidden] -> RMSNorm (Pow, ReduceMean, Add, Sqrt, Div,
Mul) -> Q, K, V projections (grouped-query attention: K and V have
`kv_heads` heads) -> rotary embeddings (cos/sin tables, rotate_half as
Slice, Neg, Concat) -> KV heads repeated (Unsqueeze, Expand, Reshape) ->
causal attention -> output projection -> residual -> RMSNorm -> SwiGLU MLP
(silu(x Wg) * x Wu, then Wd) -> residual. The batch dimension is dynamic.
"""
import numpy as np
from onnx import TensorProto, helper

from common import Builder, cli, finish


def build(hidden, heads, kv_heads, seq):
    b = Builder(2027)
    head = hidden // heads
    groups = heads // kv_heads
    inter = hidden * 2
    const, node = b.const, b.node

    def weight(name, shape):
        return b.weight(name, shape, 0.05)

    def rms_norm(x, name):
        p = node("Pow", [x, const(name + ".two", np.array(2.0, np.float32))], [name + "_pow"])
        m = node("ReduceMean", [p], [name + "_mean"], axes=[-1], keepdims=1)
        m = node("Add", [m, const(name + ".eps", np.array(1e-6, np.float32))], [name + "_eps"])
        s = node("Sqrt", [m], [name + "_sqrt"])
        r = node("Div", [const(name + ".one", np.array(1.0, np.float32)), s], [name + "_rsqrt"])
        n = node("Mul", [x, r], [name + "_normed"])
        g = const(name + ".weight", (1.0 + 0.1 * b.rng.standard_normal(hidden)).astype(np.float32))
        return node("Mul", [n, g], [name])

    # Rotary tables for positions 0..seq-1, [1, 1, seq, head].
    inv = 1.0 / (10000 ** (np.arange(0, head, 2) / head))
    ang = np.outer(np.arange(seq), inv)
    ang = np.concatenate([ang, ang], axis=-1)[None, None]
    cos = const("rope.cos", np.cos(ang).astype(np.float32))
    sin = const("rope.sin", np.sin(ang).astype(np.float32))

    def rotary(t, name):
        half = head // 2
        x1 = node("Slice", [t, const(name + ".s0", np.array([0], np.int64)),
                            const(name + ".e0", np.array([half], np.int64)),
                            const(name + ".ax", np.array([3], np.int64))], [name + "_x1"])
        x2 = node("Slice", [t, const(name + ".s1", np.array([half], np.int64)),
                            const(name + ".e1", np.array([head], np.int64)), name + ".ax"],
                  [name + "_x2"])
        rot = node("Concat", [node("Neg", [x2], [name + "_neg"]), x1], [name + "_rot"], axis=3)
        a = node("Mul", [t, cos], [name + "_cos"])
        c = node("Mul", [rot, sin], [name + "_sin"])
        return node("Add", [a, c], [name + "_rope"])

    def heads_of(t, n, name):
        shape = const(name + ".shape", np.array([0, 0, n, head], np.int64))
        t = node("Reshape", [t, shape], [name + "_h"])
        return node("Transpose", [t], [name + "_t"], perm=[0, 2, 1, 3])

    def repeat_kv(t, name):
        if groups == 1:
            return t
        u = node("Unsqueeze", [t, const(name + ".uaxes", np.array([2], np.int64))], [name + "_u"])
        e = node("Expand", [u, const(name + ".eshape",
                                     np.array([1, kv_heads, groups, seq, head], np.int64))],
                 [name + "_e"])
        return node("Reshape", [e, const(name + ".rshape",
                                         np.array([0, heads, seq, head], np.int64))],
                    [name + "_rep"])

    h = rms_norm("x", "input_layernorm")
    q = node("MatMul", [h, weight("q_proj.weight", (hidden, hidden))], ["q"])
    k = node("MatMul", [h, weight("k_proj.weight", (hidden, kv_heads * head))], ["k"])
    v = node("MatMul", [h, weight("v_proj.weight", (hidden, kv_heads * head))], ["v"])
    q = rotary(heads_of(q, heads, "q"), "q")
    k = repeat_kv(rotary(heads_of(k, kv_heads, "k"), "k"), "k")
    v = repeat_kv(heads_of(v, kv_heads, "v"), "v")
    kt = node("Transpose", [k], ["k_T"], perm=[0, 1, 3, 2])
    scores = node("MatMul", [q, kt], ["scores"])
    scores = node("Mul", [scores, const("scale", np.array(head ** -0.5, np.float32))],
                  ["scores_scaled"])
    causal = np.triu(np.full((seq, seq), -1e9, np.float32), 1)[None, None]
    scores = node("Add", [scores, const("causal_mask", causal)], ["masked"])
    probs = node("Softmax", [scores], ["probs"], axis=-1)
    ctx = node("MatMul", [probs, v], ["context"])
    ctx = node("Transpose", [ctx], ["context_t"], perm=[0, 2, 1, 3])
    ctx = node("Reshape", [ctx, const("merged_shape", np.array([0, 0, hidden], np.int64))],
               ["context_merged"])
    attn = node("MatMul", [ctx, weight("o_proj.weight", (hidden, hidden))], ["attn_out"])
    x1 = node("Add", ["x", attn], ["residual_1"])

    h = rms_norm(x1, "post_attention_layernorm")
    gate = node("MatMul", [h, weight("gate_proj.weight", (hidden, inter))], ["gate"])
    gate = node("Mul", [gate, node("Sigmoid", [gate], ["gate_sigmoid"])], ["gate_silu"])
    up = node("MatMul", [h, weight("up_proj.weight", (hidden, inter))], ["up"])
    m = node("Mul", [gate, up], ["gated"])
    down = node("MatMul", [m, weight("down_proj.weight", (inter, hidden))], ["down"])
    node("Add", [x1, down], ["y"])

    graph = helper.make_graph(
        b.nodes, "llama_block",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", seq, hidden])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", seq, hidden])],
        b.inits)
    return finish(graph)


if __name__ == "__main__":
    cli(__doc__, build, hidden=64, heads=4, kv_heads=2, seq=16)
