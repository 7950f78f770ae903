"""Shared by the sample model generators: the model wrapper and the command
line (an output path plus integer size options)."""
import argparse

import onnx
from onnx import helper


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
