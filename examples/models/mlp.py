#!/usr/bin/env python3
"""Writes a 3-layer MLP as ONNX (fixed seed): Gemm + Relu, Gemm + Relu, MatMul
+ Add, with a dynamic batch dimension.

    mlp.py OUT.onnx [--inputs 256 --hidden 512 --classes 10]
"""
import numpy as np
from onnx import TensorProto, helper, numpy_helper

from common import cli, finish


def build(inputs, hidden, classes):
    rng = np.random.default_rng(7)
    def w(name, shape):
        return numpy_helper.from_array(
            (rng.standard_normal(shape) / np.sqrt(shape[0])).astype(np.float32), name)
    inits = [w("fc1.weight", (hidden, inputs)), w("fc1.bias", (hidden,)),
             w("fc2.weight", (hidden, hidden)), w("fc2.bias", (hidden,)),
             w("fc3.weight", (hidden, classes)), w("fc3.bias", (classes,))]
    nodes = [
        helper.make_node("Gemm", ["x", "fc1.weight", "fc1.bias"], ["h1"], name="fc1", transB=1),
        helper.make_node("Relu", ["h1"], ["a1"], name="act1"),
        helper.make_node("Gemm", ["a1", "fc2.weight", "fc2.bias"], ["h2"], name="fc2", transB=1),
        helper.make_node("Relu", ["h2"], ["a2"], name="act2"),
        helper.make_node("MatMul", ["a2", "fc3.weight"], ["h3"], name="fc3"),
        helper.make_node("Add", ["h3", "fc3.bias"], ["y"], name="fc3_bias"),
    ]
    graph = helper.make_graph(
        nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", inputs])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", classes])], inits)
    return finish(graph)


if __name__ == "__main__":
    cli(__doc__, build, inputs=256, hidden=512, classes=10)
