#!/usr/bin/env python3
"""Writes a tiny language-model head as ONNX (fixed seed): token ids looked
up in an embedding table (Gather on a weight), RMS-normalised as Llama's
decoder does (Pow, ReduceMean, Sqrt, Div: the opset-17 export), a SiLU MLP,
and logits over the vocabulary. Dynamic batch and sequence dimensions.
With --tied 1 the logits read the embedding table through a Transpose (an
LM head tied to the embedding, as GPT-2's dynamo export has it) instead of
a weight of their own.

    embedding_lm.py OUT.onnx [--vocab 128 --hidden 64 --tied 0]
"""
import numpy as np
from onnx import TensorProto, helper

from common import Builder, cli, finish


def build(vocab, hidden, tied):
    b = Builder(7)
    emb = b.weight("embed.weight", (vocab, hidden), 0.5)
    e = b.node("Gather", [emb, "ids"], ["embed"], axis=0)
    sq = b.node("Mul", [e, e], ["sq"])
    ms = b.node("ReduceMean", [sq], ["ms"], axes=[-1], keepdims=1)
    eps = b.node("Add", [ms, b.const("eps", np.array([1e-6], np.float32))], ["ms_eps"])
    rms = b.node("Sqrt", [eps], ["rms"])
    n = b.node("Div", [e, rms], ["normed"])
    h = b.node("MatMul", [n, b.weight("up.weight", (hidden, 2 * hidden), hidden ** -0.5)], ["up"])
    s = b.node("Sigmoid", [h], ["gate"])
    a = b.node("Mul", [h, s], ["silu"])
    d = b.node("MatMul", [a, b.weight("down.weight", (2 * hidden, hidden), (2 * hidden) ** -0.5)],
               ["down"])
    r = b.node("Add", [e, d], ["residual"])
    head = (b.node("Transpose", [emb], ["embed_t"], perm=[1, 0]) if tied
            else b.weight("lm_head.weight", (hidden, vocab), hidden ** -0.5))
    b.node("MatMul", [r, head], ["y"])
    graph = helper.make_graph(
        b.nodes, "embedding_lm",
        [helper.make_tensor_value_info("ids", TensorProto.INT64, ["batch", "sequence"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", "sequence", vocab])],
        b.inits)
    return finish(graph)


if __name__ == "__main__":
    cli(__doc__, build, vocab=128, hidden=64, tied=0)
