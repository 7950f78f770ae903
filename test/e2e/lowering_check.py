#!/usr/bin/env python3
"""Numerical check of the tessera -> linalg -> LLVM lowering on ONNX's own
test data, before Tessera has its runtime: each node test that imports is
lowered with `tessera-opt --tessera-cpu-pipeline`, run by MLIR's
`mlir-runner` with the test's input_N.pb baked in as constants, and its
printed outputs are compared with the test's output_N.pb (rtol 1e-3,
atol 1e-5).

Outcomes: pass, wrong (numbers differ), unsupported (an op without a
lowering yet, or an import the sweep already counts), error (the pipeline or
the run failed otherwise). Fails on any wrong answer or error.
"""
import argparse
import collections
import concurrent.futures
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import numpy_helper

PRINT = {"f32": "F32", "f64": "F64", "i64": "I64", "i32": "I32"}
CAST_FOR_PRINT = {"f16": "f32", "bf16": "f32", "i8": "i32", "i1": "i32"}
NUMBER = re.compile(r"[-+]?(?:nan|inf|\d+(?:\.\d*)?(?:e[-+]?\d+)?)", re.I)


def elem(dtype):
    return {np.dtype(np.float32): "f32", np.dtype(np.float64): "f64",
            np.dtype(np.float16): "f16", np.dtype(np.int64): "i64",
            np.dtype(np.int32): "i32", np.dtype(np.int8): "i8",
            np.dtype(np.bool_): "i1"}.get(np.dtype(dtype))


def tensor_type(shape, e):
    return "tensor<%s%s>" % ("".join("%dx" % d for d in shape), e)


def literal(a, e):
    if e == "i1":
        return "dense<%s>" % (str(a.astype(bool).tolist()).lower() if a.ndim else
                              str(bool(a)).lower())
    return 'dense<"0x%s">' % np.ascontiguousarray(a).tobytes().hex().upper()


def harness(inputs, results):
    """The @entry function calling @main and printing every result."""
    lines, decls = ["func.func @entry() {"], set()
    args = []
    for i, a in enumerate(inputs):
        e = elem(a.dtype)
        t = tensor_type(a.shape, e)
        lines.append("  %%in%d = arith.constant %s : %s" % (i, literal(a, e), t))
        args.append(("%%in%d" % i, t))
    res_types = [tensor_type(s, e) for s, e in results]
    call = "call @main(%s) : (%s) -> (%s)" % (
        ", ".join(a for a, _ in args), ", ".join(t for _, t in args), ", ".join(res_types))
    n = len(results)
    lines.append("  %%r%s = %s" % ((":%d" % n) if n > 1 else "", call))
    for j, (shape, e) in enumerate(results):
        v = "%%r#%d" % j if n > 1 else "%r"
        pe = CAST_FOR_PRINT.get(e, e)
        if pe != e:
            lines.append("  %%c%d = tessera.cast %s : %s -> %s"
                         % (j, v, tensor_type(shape, e), tensor_type(shape, pe)))
            v = "%%c%d" % j
        lines.append("  %%u%d = tensor.cast %s : %s to tensor<*x%s>"
                     % (j, v, tensor_type(shape, pe), pe))
        fn = "printMemref" + PRINT[pe]
        decls.add("func.func private @%s(tensor<*x%s>)" % (fn, pe))
        lines.append("  call @%s(%%u%d) : (tensor<*x%s>) -> ()" % (fn, j, pe))
    lines.append("  return\n}")
    return "\n".join(sorted(decls) + lines)


def load(pb):
    """A TensorProto file as an array; None for sequences, optionals and
    other containers the node tests also use."""
    try:
        return numpy_helper.to_array(onnx.load_tensor(pb))
    except Exception:  # not a TensorProto
        return None


def check(args, test_dir):
    model_path = os.path.join(test_dir, "model.onnx")
    data = os.path.join(test_dir, "test_data_set_0")
    m = onnx.load(model_path, load_external_data=False)
    inits = {t.name for t in m.graph.initializer}
    real = [vi for vi in m.graph.input if vi.name not in inits]
    inputs, binds = [], []
    for i, vi in enumerate(real):
        pb = os.path.join(data, "input_%d.pb" % i)
        if not os.path.exists(pb):
            return "unsupported", "no input data"
        if vi.type.tensor_type.elem_type in (onnx.TensorProto.INT64, onnx.TensorProto.INT32):
            binds.append("--bind-input=%s=%s" % (vi.name, pb))
        else:
            inputs.append(load(pb))
            if inputs[-1] is None:
                return "unsupported", "input data is not a tensor"
    expected = []
    for j in range(len(m.graph.output)):
        pb = os.path.join(data, "output_%d.pb" % j)
        if not os.path.exists(pb):
            return "unsupported", "no output data"
        expected.append(load(pb))
        if expected[-1] is None:
            return "unsupported", "output data is not a tensor"
    if any(elem(a.dtype) is None for a in inputs + expected):
        return "unsupported", "element type"
    with tempfile.TemporaryDirectory() as tmp:
        imp = subprocess.run([args.translate, "--import-onnx", model_path] + binds,
                             capture_output=True, text=True)
        if imp.returncode != 0:
            return "unsupported", "import: " + imp.stderr.strip()
        text = imp.stdout
        # Insert the harness before the module's closing brace.
        end = text.rfind("{-#")
        body, resources = (text[:end], text[end:]) if end >= 0 else (text, "")
        close = body.rstrip().rfind("}")
        results = [(e.shape, elem(e.dtype)) for e in expected]
        text = body[:close] + harness(inputs, results) + "\n}\n" + resources
        src = os.path.join(tmp, "m.mlir")
        open(src, "w").write(text)
        llvm = os.path.join(tmp, "m.llvm.mlir")
        low = subprocess.run([args.opt, src, "--tessera-cpu-pipeline", "-o", llvm],
                             capture_output=True, text=True)
        if low.returncode != 0:
            err = low.stderr.strip().splitlines()
            msg = next((l for l in err if "failed to legalize" in l), None)
            if msg:
                return "unsupported", "lowering: " + re.sub(r".*failed to legalize", "failed to legalize", msg)
            return "error", "pipeline: " + (err[0] if err else "exit %d" % low.returncode)
        try:
            run = subprocess.run([args.runner, llvm, "-e", "entry", "-entry-point-result=void",
                                  "-shared-libs=%s" % args.runner_libs],
                                 capture_output=True, text=True, timeout=120)
        except subprocess.TimeoutExpired:
            return "error", "run: timed out"
        if run.returncode != 0:
            return "error", "run: exit %d %s" % (run.returncode, run.stderr.strip()[:200])
    chunks = run.stdout.split("Unranked Memref")[1:]
    if len(chunks) != len(expected):
        return "error", "printed %d results, expected %d" % (len(chunks), len(expected))
    for j, (chunk, want) in enumerate(zip(chunks, expected)):
        header, values = chunk.split("data =", 1)
        sizes = re.search(r"sizes = \[([^\]]*)\]", header).group(1)
        shape = tuple(int(x) for x in sizes.split(",") if x.strip())
        if shape != want.shape:
            return "wrong", "output %d has shape %s, expected %s" % (j, shape, want.shape)
        if want.size == 0:
            continue  # the runner's printer shows no data for empty tensors
        got = np.array([float(x) for x in NUMBER.findall(values)])
        want = want.astype(np.float64).ravel()
        if got.size != want.size or not np.allclose(got, want, rtol=1e-3, atol=1e-5,
                                                    equal_nan=True):
            worst = np.max(np.abs(got - want)) if got.size == want.size else None
            return "wrong", "output %d differs (max abs error %s)" % (j, worst)
    return "pass", ""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--translate", required=True)
    ap.add_argument("--opt", required=True)
    ap.add_argument("--runner", default="/usr/lib/llvm-22/bin/mlir-runner")
    ap.add_argument("--runner-libs", default="/usr/lib/llvm-22/lib/libmlir_runner_utils.so,"
                    "/usr/lib/llvm-22/lib/libmlir_c_runner_utils.so")
    ap.add_argument("--data", default="/usr/share/libonnx-testdata/data/node")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--filter", default="")
    args = ap.parse_args()
    tests = sorted(d for d in os.listdir(args.data) if args.filter in d)
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        outcomes = list(pool.map(lambda t: check(args, os.path.join(args.data, t)), tests))
    counts = collections.Counter(o for o, _ in outcomes)
    lowering = collections.Counter(msg for o, msg in outcomes
                                   if o == "unsupported" and msg.startswith("lowering"))
    problems = [(t, o, msg) for t, (o, msg) in zip(tests, outcomes) if o in ("wrong", "error")]
    print("lowering check over %d ONNX node tests (tessera-cpu-pipeline + mlir-runner)"
          % len(tests))
    for k in ("pass", "wrong", "error", "unsupported"):
        print("  %-12s %d" % (k, counts[k]))
    print("ops without a lowering yet:",
          ", ".join("%s (%d)" % (m.split("'")[1] if "'" in m else m, n)
                    for m, n in lowering.most_common(10)))
    for t, o, msg in problems:
        print("%s %s: %s" % (o.upper(), t, msg))
    print("%d passed, %d failed" % (counts["pass"], len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
