"""Shared by the sample model generators: the model wrapper and the command
line (an output path plus integer size options)."""
import argparse

import numpy as np
import onnx
from onnx import helper, numpy_helper


class Builder:
    """Collects nodes and initializers; each node is named after its first
    output, as exporters do."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.inits, self.nodes = [], []

    def const(self, name, value):
        self.inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def weight(self, name, shape, scale):
        """A normal(0, scale) f32 initializer."""
        return self.const(name, (self.rng.standard_normal(shape) * scale).astype(np.float32))

    def node(self, op, inputs, outputs, **attrs):
        self.nodes.append(helper.make_node(op, inputs, outputs, name=outputs[0], **attrs))
        return outputs[0]


def finish(graph):
    """A checked opset-17, IR-version-8 model around `graph`."""
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="tessera-examples")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def cli(doc, build, **sizes):
    """Parses OUT.onnx and --NAME=int options (defaults in `sizes`), calls
    build(**sizes) and saves the model."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("out")
    for name, default in sizes.items():
        ap.add_argument("--" + name, type=int, default=default)
    args = vars(ap.parse_args())
    out = args.pop("out")
    onnx.save(build(**args), out)
