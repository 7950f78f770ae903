#!/usr/bin/env python3
"""Writes a 3-layer MLP as ONNX (fixed seed): Gemm + Relu, Gemm + Relu, MatMul
+ Add, with a dynamic batch dimension.

    mlp.py OUT.onnx [--in 256 --hidden 512 --out 10]
"""
import argparse

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def build(n_in, hidden, n_out):
    rng = np.random.default_rng(7)
    def w(name, shape):
        return numpy_helper.from_array(
            (rng.standard_normal(shape) / np.sqrt(shape[0])).astype(np.float32), name)
    inits = [w("fc1.weight", (hidden, n_in)), w("fc1.bias", (hidden,)),
             w("fc2.weight", (hidden, hidden)), w("fc2.bias", (hidden,)),
             w("fc3.weight", (hidden, n_out)), w("fc3.bias", (n_out,))]
    nodes = [
        helper.make_node("Gemm", ["x", "fc1.weight", "fc1.bias"], ["h1"], name="fc1", transB=1),
        helper.make_node("Relu", ["h1"], ["a1"], name="act1"),
        helper.make_node("Gemm", ["a1", "fc2.weight", "fc2.bias"], ["h2"], name="fc2", transB=1),
        helper.make_node("Relu", ["h2"], ["a2"], name="act2"),
        helper.make_node("MatMul", ["a2", "fc3.weight"], ["h3"], name="fc3"),
        helper.make_node("Add", ["h3", "fc3.bias"], ["y"], name="fc3_bias"),
    ]
    graph = helper.make_graph(
        nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", n_in])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", n_out])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="tessera-examples")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--in", dest="n_in", type=int, default=256)
    ap.add_argument("--hidden", type=int, default=512)
    ap.add_argument("--out", dest="n_out", type=int, default=10)
    a = ap.parse_args()
    onnx.save(build(a.n_in, a.hidden, a.n_out), a.out)


if __name__ == "__main__":
    main()
