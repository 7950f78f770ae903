#!/usr/bin/env python3
"""Writes composites.onnx: ReduceL2, ReduceLogSumExp, HardSigmoid, PRelu and
Range over one 2x3 input."""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out = sys.argv[1]
ints = lambda name, v: numpy_helper.from_array(np.array(v, np.int64), name)
nodes = [
    helper.make_node("ReduceL2", ["x", "axes"], ["l2"], keepdims=0),
    helper.make_node("ReduceLogSumExp", ["x", "axes"], ["lse"], keepdims=0),
    helper.make_node("HardSigmoid", ["x"], ["hs"]),
    helper.make_node("PRelu", ["x", "slope"], ["pr"]),
    helper.make_node("Range", ["start", "limit", "delta"], ["r"]),
]
inits = [ints("axes", [1]), numpy_helper.from_array(np.full(3, 0.1, np.float32), "slope"),
         ints("start", 1), ints("limit", 6), ints("delta", 2)]
vi = lambda n, s, t=TensorProto.FLOAT: helper.make_tensor_value_info(n, t, s)
g = helper.make_graph(nodes, "g", [vi("x", [2, 3])],
                      [vi("l2", [2]), vi("lse", [2]), vi("hs", [2, 3]), vi("pr", [2, 3]),
                       vi("r", [3], TensorProto.INT64)], inits)
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 18)])
m.ir_version = 8
onnx.save(m, os.path.join(out, "composites.onnx"))
