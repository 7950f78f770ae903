#!/usr/bin/env python3
"""Writes a GPT-2-shaped decoder as ONNX with its weights as external data,
with the `onnx` helper and NumPy only (no torch): random weights written
chunk by chunk through a memory map, so a 6 GB model needs no 6 GB of RAM.

    synthetic_gpt2.py OUT_DIR [--preset small|medium|large|xl]
                      [--layers N --hidden N --heads N --vocab N --seq N]

OUT_DIR/model.onnx holds the graph; OUT_DIR/weights.bin the weights.
Graph (opset 17, as torch's TorchScript exporter writes GPT-2): token and
position embeddings (Gather), per block LayerNorm, one fused QKV projection
cut by Split, causal attention (Where on a constant mask, Softmax), output
projection, LayerNorm, MLP with tanh GELU; final LayerNorm and an LM head
tied to the token embedding (MatMul with its Transpose). Input `input_ids`
[batch, seq] int64 (batch dynamic), output `logits` [batch, seq, vocab].
"""
import argparse
import os

import numpy as np
import onnx
from onnx import TensorProto, helper

PRESETS = {  # layers, hidden, heads (GPT-2's published sizes)
    "small": (12, 768, 12),
    "medium": (24, 1024, 16),
    "large": (36, 1280, 20),
    "xl": (48, 1600, 25),
}


class ExternalWriter:
    """Initializers whose bytes go to one file, 64-byte aligned."""

    def __init__(self, path, rng):
        self.path, self.rng = path, rng
        self.f = open(path, "wb")
        self.inits = []

    def _tensor(self, name, shape, dtype, offset, length):
        t = TensorProto()
        t.name = name
        t.data_type = helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
        t.dims.extend(shape)
        t.data_location = TensorProto.EXTERNAL
        for k, v in (("location", os.path.basename(self.path)), ("offset", str(offset)),
                     ("length", str(length))):
            e = t.external_data.add()
            e.key, e.value = k, v
        self.inits.append(t)
        return name

    def _align(self):
        pad = (-self.f.tell()) % 64
        self.f.write(b"\0" * pad)

    def random(self, name, shape, scale):
        """A normal(0, scale) f32 tensor, generated in 16M-element chunks."""
        self._align()
        offset = self.f.tell()
        n = int(np.prod(shape))
        for start in range(0, n, 1 << 24):
            k = min(1 << 24, n - start)
            (self.rng.standard_normal(k, dtype=np.float32) * np.float32(scale)).tofile(self.f)
        return self._tensor(name, shape, np.float32, offset, n * 4)

    def array(self, name, a):
        self._align()
        offset = self.f.tell()
        a = np.ascontiguousarray(a)
        a.tofile(self.f)
        return self._tensor(name, list(a.shape), a.dtype, offset, a.nbytes)

    def close(self):
        self.f.close()


def build(out_dir, layers, hidden, heads, vocab, seq, seed=0):
    os.makedirs(out_dir, exist_ok=True)
    w = ExternalWriter(os.path.join(out_dir, "weights.bin"), np.random.default_rng(seed))
    nodes = []
    small = []  # inline initializers (shapes, scalars)

    def node(op, inputs, outputs, **attrs):
        nodes.append(helper.make_node(op, inputs, outputs, name=outputs[0], **attrs))
        return outputs[0]

    def const(name, value):
        small.append(onnx.numpy_helper.from_array(np.asarray(value), name))
        return name

    def layer_norm(x, name):
        g = w.array(name + ".weight", (1 + 0.05 * w.rng.standard_normal(hidden)).astype(np.float32))
        b = w.array(name + ".bias", (0.05 * w.rng.standard_normal(hidden)).astype(np.float32))
        return node("LayerNormalization", [x, g, b], [name], axis=-1, epsilon=1e-5)

    head = hidden // heads
    wte = w.random("wte.weight", [vocab, hidden], 0.02)
    wpe = w.random("wpe.weight", [1024, hidden], 0.01)
    tok = node("Gather", [wte, "input_ids"], ["tok_emb"], axis=0)
    pos = node("Gather", [wpe, const("positions", np.arange(seq, dtype=np.int64))], ["pos_emb"],
               axis=0)
    x = node("Add", [tok, pos], ["emb"])
    heads_shape = const("heads_shape", np.array([0, 0, heads, head], np.int64))
    merged_shape = const("merged_shape", np.array([0, 0, hidden], np.int64))
    split = const("qkv_split", np.array([hidden] * 3, np.int64))
    mask = const("causal_mask", np.tril(np.ones((seq, seq), np.bool_)))
    neg = const("neg_inf", np.array(-1e9, np.float32))
    scale = const("scale", np.array(1.0 / np.sqrt(head), np.float32))
    c0 = const("gelu_c0", np.array(np.sqrt(2.0 / np.pi), np.float32))
    c1 = const("gelu_c1", np.array(0.044715, np.float32))
    half = const("half", np.array(0.5, np.float32))
    one = const("one", np.array(1.0, np.float32))
    three = const("three", np.array(3.0, np.float32))
    for i in range(layers):
        p = "h.%d." % i
        h = layer_norm(x, p + "ln_1")
        qkv = node("MatMul", [h, w.random(p + "attn.c_attn.weight", [hidden, 3 * hidden], 0.02)],
                   [p + "qkv_mm"])
        qkv = node("Add", [qkv, w.random(p + "attn.c_attn.bias", [3 * hidden], 0.02)], [p + "qkv"])
        q, k, v = (p + "q", p + "k", p + "v")
        node("Split", [qkv, split], [q, k, v], axis=-1)
        for t, perm in ((q, [0, 2, 1, 3]), (k, [0, 2, 3, 1]), (v, [0, 2, 1, 3])):
            node("Reshape", [t, heads_shape], [t + "_h"])
            node("Transpose", [t + "_h"], [t + "_t"], perm=perm)
        s = node("MatMul", [q + "_t", k + "_t"], [p + "scores"])
        s = node("Mul", [s, scale], [p + "scores_scaled"])
        s = node("Where", [mask, s, neg], [p + "masked"])
        s = node("Softmax", [s], [p + "probs"], axis=-1)
        c = node("MatMul", [s, v + "_t"], [p + "context"])
        c = node("Transpose", [c], [p + "context_t"], perm=[0, 2, 1, 3])
        c = node("Reshape", [c, merged_shape], [p + "context_merged"])
        a = node("MatMul", [c, w.random(p + "attn.c_proj.weight", [hidden, hidden], 0.02)],
                 [p + "attn_mm"])
        a = node("Add", [a, w.random(p + "attn.c_proj.bias", [hidden], 0.02)], [p + "attn_out"])
        x = node("Add", [x, a], [p + "residual_1"])
        h = layer_norm(x, p + "ln_2")
        f = node("MatMul", [h, w.random(p + "mlp.c_fc.weight", [hidden, 4 * hidden], 0.02)],
                 [p + "fc_mm"])
        f = node("Add", [f, w.random(p + "mlp.c_fc.bias", [4 * hidden], 0.02)], [p + "fc"])
        # GELU, tanh form: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        g = node("Pow", [f, three], [p + "gelu_cube"])
        g = node("Mul", [g, c1], [p + "gelu_c1x3"])
        g = node("Add", [f, g], [p + "gelu_inner"])
        g = node("Mul", [g, c0], [p + "gelu_scaled"])
        g = node("Tanh", [g], [p + "gelu_tanh"])
        g = node("Add", [g, one], [p + "gelu_1p"])
        g = node("Mul", [f, g], [p + "gelu_x"])
        g = node("Mul", [g, half], [p + "gelu"])
        m = node("MatMul", [g, w.random(p + "mlp.c_proj.weight", [4 * hidden, hidden], 0.02)],
                 [p + "mlp_mm"])
        m = node("Add", [m, w.random(p + "mlp.c_proj.bias", [hidden], 0.02)], [p + "mlp_out"])
        x = node("Add", [x, m], [p + "residual_2"])
    x = layer_norm(x, "ln_f")
    wte_t = node("Transpose", [wte], ["wte_t"], perm=[1, 0])
    node("MatMul", [x, wte_t], ["logits"])
    w.close()
    graph = helper.make_graph(
        nodes, "synthetic_gpt2",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", seq])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", seq, vocab])],
        w.inits + small)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="tessera-bench")
    model.ir_version = 8
    path = os.path.join(out_dir, "model.onnx")
    onnx.save(model, path)
    onnx.checker.check_model(path)
    return path


def parameters(layers, hidden, vocab):
    per_layer = 12 * hidden * hidden + 13 * hidden
    return layers * per_layer + vocab * hidden + 1024 * hidden + 2 * hidden


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out_dir")
    ap.add_argument("--preset", choices=sorted(PRESETS), default="xl")
    ap.add_argument("--layers", type=int)
    ap.add_argument("--hidden", type=int)
    ap.add_argument("--heads", type=int)
    ap.add_argument("--vocab", type=int, default=50257)
    ap.add_argument("--seq", type=int, default=32)
    args = ap.parse_args()
    layers, hidden, heads = PRESETS[args.preset]
    layers = args.layers or layers
    hidden = args.hidden or hidden
    heads = args.heads or heads
    path = build(args.out_dir, layers, hidden, heads, args.vocab, args.seq)
    print("%s: %d layers, hidden %d, %d heads, vocab %d: %.2fB parameters" %
          (path, layers, hidden, heads, args.vocab,
           parameters(layers, hidden, args.vocab) / 1e9))


if __name__ == "__main__":
    main()
