#!/usr/bin/env python3
"""Writes a small ResNet as ONNX (fixed seed): a Conv-BatchNorm-Relu stem,
MaxPool, two basic residual blocks (the second with stride 2 and a 1x1
projection), GlobalAveragePool, Flatten and a Gemm classifier. The batch
dimension is dynamic.

    resnet_small.py OUT.onnx [--width 16 --classes 10]
"""
import numpy as np
from onnx import TensorProto, helper

from common import Builder, cli, finish


def build(width, classes):
    gb = Builder(3)
    rng, node = gb.rng, gb.node

    def param(name, array):
        return gb.const(name, array.astype(np.float32))

    def conv_bn(x, name, cin, cout, k, stride, relu=True):
        w = param(name + ".weight", rng.standard_normal((cout, cin, k, k)) * np.sqrt(2.0 / (cin * k * k)))
        y = node("Conv", [x, w], [name], kernel_shape=[k, k], strides=[stride, stride],
                 pads=[k // 2] * 4)
        bn = [param(name + ".bn." + p, v) for p, v in (
            ("scale", rng.uniform(0.5, 1.5, cout)), ("bias", rng.standard_normal(cout) * 0.1),
            ("mean", rng.standard_normal(cout) * 0.1), ("var", rng.uniform(0.5, 1.5, cout)))]
        y = node("BatchNormalization", [y] + bn, [name + ".bn"], epsilon=1e-5)
        return node("Relu", [y], [name + ".relu"]) if relu else y

    def block(x, name, cin, cout, stride):
        y = conv_bn(x, name + ".conv1", cin, cout, 3, stride)
        y = conv_bn(y, name + ".conv2", cout, cout, 3, 1, relu=False)
        skip = x if stride == 1 and cin == cout else conv_bn(x, name + ".proj", cin, cout, 1, stride, relu=False)
        y = node("Add", [y, skip], [name + ".add"])
        return node("Relu", [y], [name + ".out"])

    x = conv_bn("x", "stem", 3, width, 3, 1)
    x = node("MaxPool", [x], ["pool"], kernel_shape=[2, 2], strides=[2, 2])
    x = block(x, "layer1", width, width, 1)
    x = block(x, "layer2", width, 2 * width, 2)
    x = node("GlobalAveragePool", [x], ["gap"])
    x = node("Flatten", [x], ["flat"], axis=1)
    w = param("fc.weight", rng.standard_normal((classes, 2 * width)) * 0.1)
    b = param("fc.bias", rng.standard_normal(classes) * 0.1)
    node("Gemm", [x, w, b], ["y"], transB=1)

    graph = helper.make_graph(
        gb.nodes, "resnet_small",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3, 32, 32])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", classes])], gb.inits)
    return finish(graph)


if __name__ == "__main__":
    cli(__doc__, build, width=16, classes=10)
