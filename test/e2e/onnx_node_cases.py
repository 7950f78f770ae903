#!/usr/bin/env python3
"""Writes the node tests of the installed `onnx` package as test directories.

The newest `onnx` wheels no longer ship `onnx/backend/test/data/node`; they
ship the cases that produce it (`onnx.backend.test.case.node`: each model
with its inputs and the outputs of ONNX's reference implementation). This
writes them out in the layout of Debian's libonnx-testdata
(`NAME/model.onnx`, `NAME/test_data_set_N/{input,output}_K.pb`), once per
onnx version, into a cache outside the source tree:

    onnx_node_cases.py [--cache DIR]     prints the suite's directory

DIR defaults to $TESSERA_CACHE_DIR, else ~/.cache/tessera. The suite is
written to a temporary directory and renamed, so an interrupted run never
leaves half a suite behind; a complete one is reused.
"""
import argparse
import os
import shutil
import sys
import tempfile
import warnings


def write_value(path, value, vi):
    from onnx import TensorProto, numpy_helper
    t = vi.type
    if t.HasField("sequence_type"):
        proto = numpy_helper.from_list(value, vi.name)
    elif t.HasField("optional_type"):
        proto = numpy_helper.from_optional(value, vi.name)
    elif t.HasField("map_type"):
        proto = numpy_helper.from_dict(value, vi.name)
    elif isinstance(value, TensorProto):
        proto = value
    else:
        proto = numpy_helper.from_array(value, vi.name)
    with open(path, "wb") as f:
        f.write(proto.SerializeToString())


def generate(dest):
    import onnx.backend.test.case.node as node_cases
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cases = node_cases.collect_testcases()
    for case in cases:
        d = os.path.join(dest, case.name)
        os.makedirs(d)
        with open(os.path.join(d, "model.onnx"), "wb") as f:
            f.write(case.model.SerializeToString())
        for i, (inputs, outputs) in enumerate(case.data_sets):
            s = os.path.join(d, "test_data_set_%d" % i)
            os.makedirs(s)
            for j, v in enumerate(inputs):
                write_value(os.path.join(s, "input_%d.pb" % j), v, case.model.graph.input[j])
            for j, v in enumerate(outputs):
                write_value(os.path.join(s, "output_%d.pb" % j), v, case.model.graph.output[j])
    return len(cases)


def suite_dir(cache):
    import onnx
    cache = cache or os.environ.get("TESSERA_CACHE_DIR") or os.path.join(
        os.path.expanduser("~"), ".cache", "tessera")
    path = os.path.join(cache, "onnx-%s-node" % onnx.__version__)
    if os.path.exists(os.path.join(path, ".complete")):
        return path
    os.makedirs(cache, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".onnx-node-", dir=cache)
    try:
        n = generate(tmp)
        with open(os.path.join(tmp, ".complete"), "w") as f:
            f.write("%d node tests of onnx %s\n" % (n, onnx.__version__))
        shutil.rmtree(path, ignore_errors=True)
        os.rename(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    print("wrote %d node tests of onnx %s to %s" % (n, onnx.__version__, path), file=sys.stderr)
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cache", help="cache directory (default: $TESSERA_CACHE_DIR or ~/.cache/tessera)")
    print(suite_dir(ap.parse_args().cache))


if __name__ == "__main__":
    main()
