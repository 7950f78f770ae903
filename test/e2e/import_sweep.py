#!/usr/bin/env python3
"""Import sweep over Debian's libonnx-testdata (node, pytorch-converted,
pytorch-operator, simple).

Runs `tessera-translate --import-onnx` on every model, one process per model
so a crash is seen as a crash, and reports counts by outcome:

  imported     exit 0, IR printed
  unsupported  exit 1, one line that says what is unsupported
  rejected     exit 1, one line naming what is wrong with the model
  crash        a signal, another exit code, a hang, or a multi-line error

Fails when any model crashes, when a failure is not exactly one line, or when
a model whose ops are all in the foundation list (and whose tensors use
supported element types) does not import.
"""
import argparse
import collections
import concurrent.futures
import json
import os
import subprocess
import sys

import onnx

SUITES = ["node", "pytorch-converted", "pytorch-operator", "simple"]

# The op list of the foundation issue (plus Flatten/Squeeze/... spelled as
# ONNX op types). A model using only these must import.
FOUNDATION_OPS = set("""
Add Sub Mul Div Pow Sqrt Exp Log Tanh Erf Sigmoid Relu LeakyRelu Elu Gelu Neg
Abs Reciprocal Max Min Clip Floor Ceil Equal Less Greater Not And Or Where Cast
MatMul Gemm Conv MaxPool AveragePool GlobalAveragePool BatchNormalization
LayerNormalization Softmax LogSoftmax ReduceSum ReduceMean ReduceMax ReduceMin
ReduceProd Reshape Transpose Concat Split Slice Gather Squeeze Unsqueeze
Flatten Expand Pad Trilu Identity Constant Shape
""".split())

SUPPORTED_TYPES = {
    onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16, onnx.TensorProto.BFLOAT16,
    onnx.TensorProto.DOUBLE, onnx.TensorProto.INT64, onnx.TensorProto.INT32,
    onnx.TensorProto.INT8, onnx.TensorProto.BOOL,
}


def model_facts(path):
    """(ops used, whether every tensor type is supported, opset)."""
    m = onnx.load(path, load_external_data=False)
    ops = {n.op_type if n.domain in ("", "ai.onnx") else n.domain + "." + n.op_type
           for n in m.graph.node}
    types = []
    for vi in list(m.graph.input) + list(m.graph.output):
        if vi.type.HasField("tensor_type"):
            types.append(vi.type.tensor_type.elem_type)
        else:
            types.append(-1)
    types += [t.data_type for t in m.graph.initializer]
    for n in m.graph.node:
        for a in n.attribute:
            if a.type == onnx.AttributeProto.TENSOR:
                types.append(a.t.data_type)
            if a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS):
                types.append(-1)
    opset = max([o.version for o in m.opset_import if o.domain in ("", "ai.onnx")],
                default=-1)
    return ops, all(t in SUPPORTED_TYPES for t in types), opset


# Float operands that play the part of attributes (Resize's roi and scales,
# Upsample's scales), bound like the integer ones.
PARAMETER_INPUTS = {"Resize": (1, 2, 3), "Upsample": (1,)}


def bindings(path):
    """--bind-input flags for the integer graph inputs (shapes, axes, pads)
    and the float parameter inputs whose values the test's input_N.pb files
    give."""
    m = onnx.load(path, load_external_data=False)
    inits = {t.name for t in m.graph.initializer}
    real = [vi for vi in m.graph.input if vi.name not in inits]
    parameters = {n.input[i] for n in m.graph.node
                  for i in PARAMETER_INPUTS.get(n.op_type, ()) if i < len(n.input)}
    data = os.path.join(os.path.dirname(path), "test_data_set_0")
    flags = []
    for i, vi in enumerate(real):
        pb = os.path.join(data, "input_%d.pb" % i)
        if ((vi.type.tensor_type.elem_type in (onnx.TensorProto.INT64,
                                               onnx.TensorProto.INT32)
             or vi.name in parameters)
                and os.path.exists(pb)):
            flags.append("--bind-input=%s=%s" % (vi.name, pb))
    return flags


def outside_list(path):
    """Why a model whose op types are all listed still uses a form outside
    the list, or None. Only inference forms are in the list."""
    m = onnx.load(path, load_external_data=False)
    for n in m.graph.node:
        attrs = {a.name: a for a in n.attribute}
        if n.op_type == "BatchNormalization" and attrs.get("training_mode") \
                and attrs["training_mode"].i:
            return "training-mode BatchNormalization"
        if n.op_type == "MaxPool" and len([o for o in n.output if o]) > 1:
            return "MaxPool with the Indices output"
    return None


def run_one(tool, path, timeout):
    try:
        p = subprocess.run([tool, "--import-onnx", path, "--no-ir"]
                           + bindings(path),
                           capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "crash", "hang: no answer in %ds" % timeout
    err = p.stderr.strip()
    if p.returncode == 0:
        return "imported", ""
    if p.returncode != 1 or not err or "\n" in err:
        return "crash", "exit %d: %s" % (p.returncode, err[-300:])
    return ("unsupported" if "unsupported" in err else "rejected"), err


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tool", required=True)
    ap.add_argument("--data", default="/usr/share/libonnx-testdata/data")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timeout", type=int, default=120)
    ap.add_argument("--json", help="write the figures here")
    args = ap.parse_args()

    models = []
    for suite in SUITES:
        root = os.path.join(args.data, suite)
        for name in sorted(os.listdir(root)):
            path = os.path.join(root, name, "model.onnx")
            if os.path.exists(path):
                models.append((suite, name, path))
    if not models:
        print("no models under %s (install libonnx-testdata)" % args.data)
        return 1

    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        outcomes = list(pool.map(lambda m: run_one(args.tool, m[2], args.timeout),
                                 models))

    counts = collections.Counter()
    by_suite = collections.defaultdict(collections.Counter)
    unsupported_ops = collections.Counter()
    problems = []
    for (suite, name, path), (outcome, msg) in zip(models, outcomes):
        counts[outcome] += 1
        by_suite[suite][outcome] += 1
        ops, types_ok, opset = model_facts(path)
        if outcome == "crash":
            problems.append("CRASH %s/%s: %s" % (suite, name, msg))
        elif (outcome != "imported" and ops <= FOUNDATION_OPS and types_ok
              and not outside_list(path)):
            problems.append("NOT IMPORTED %s/%s (ops %s, opset %d): %s"
                            % (suite, name, " ".join(sorted(ops)), opset, msg))
        if outcome == "unsupported":
            for op in ops - FOUNDATION_OPS:
                unsupported_ops[op] += 1

    print("import sweep over %d models of libonnx-testdata" % len(models))
    print("%-20s %9s %12s %9s %6s" % ("suite", "imported", "unsupported",
                                       "rejected", "crash"))
    for suite in SUITES:
        c = by_suite[suite]
        print("%-20s %9d %12d %9d %6d" % (suite, c["imported"], c["unsupported"],
                                           c["rejected"], c["crash"]))
    print("%-20s %9d %12d %9d %6d" % ("total", counts["imported"],
                                       counts["unsupported"], counts["rejected"],
                                       counts["crash"]))
    print("most common ops outside the list:",
          ", ".join("%s (%d)" % kv for kv in unsupported_ops.most_common(12)))
    for p in problems:
        print(p)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"models": len(models), "total": counts,
                       "by_suite": by_suite}, f, indent=1)
    ok = not problems
    print("%d passed, %d failed" % (len(models) - len(problems), len(problems)))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
