#!/usr/bin/env python3
"""Writes transformer_ops.onnx (opset 23, IR v11): RMSNormalization over an
f16 input, RotaryEmbedding with position ids, and grouped-query causal
Attention (8 query heads, 2 KV heads, 3-D inputs)."""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out = sys.argv[1]
f = lambda name, a: numpy_helper.from_array(np.asarray(a), name)
nodes = [
    helper.make_node("RMSNormalization", ["h", "scale"], ["n"], epsilon=1e-6),
    helper.make_node("RotaryEmbedding", ["x", "cos", "sin", "pos"], ["r"], num_heads=2),
    helper.make_node("Attention", ["q", "k", "v"], ["y"], q_num_heads=8, kv_num_heads=2,
                     is_causal=1),
]
inits = [f("scale", np.ones(16, np.float16)),
         f("cos", np.ones((8, 4), np.float32)), f("sin", np.zeros((8, 4), np.float32)),
         f("pos", np.array([[0, 1, 2]], np.int64))]
vi = lambda n, s, t=TensorProto.FLOAT: helper.make_tensor_value_info(n, t, s)
g = helper.make_graph(
    nodes, "g",
    [vi("h", [2, 3, 16], TensorProto.FLOAT16), vi("x", [1, 3, 16]), vi("q", [1, 3, 64]),
     vi("k", [1, 3, 16]), vi("v", [1, 3, 16])],
    [vi("n", [2, 3, 16], TensorProto.FLOAT16), vi("r", [1, 3, 16]), vi("y", [1, 3, 64])], inits)
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 23)])
m.ir_version = 11
onnx.save(m, os.path.join(out, "transformer_ops.onnx"))
