#!/usr/bin/env python3
"""Writes conv_transpose.onnx: one ConvTranspose with a constant weight and
one with the weight as a graph input, over one 1x2x3x4 input."""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out = sys.argv[1]
attrs = dict(strides=[2, 1], pads=[1, 0, 0, 1])
nodes = [
    helper.make_node("ConvTranspose", ["x", "w"], ["y"], **attrs),
    helper.make_node("ConvTranspose", ["x", "v"], ["z"], **attrs),
]
w = numpy_helper.from_array(np.arange(12, dtype=np.float32).reshape(2, 3, 1, 2), "w")
vi = lambda n, s: helper.make_tensor_value_info(n, TensorProto.FLOAT, s)
g = helper.make_graph(nodes, "g", [vi("x", [1, 2, 3, 4]), vi("v", [2, 3, 1, 2])],
                      [vi("y", [1, 3, 4, 4]), vi("z", [1, 3, 4, 4])], [w])
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
m.ir_version = 8
onnx.save(m, os.path.join(out, "conv_transpose.onnx"))
