#!/usr/bin/env python3
"""The ONNX backend tests (Debian's libonnx-testdata: node, and with --data
the pytorch-converted, pytorch-operator and simple suites; with
--onnx-wheel-cases the node tests of the installed onnx package, opsets up
to 28, written to a cache by onnx_node_cases.py) through the real
path: tessera-compile to an artifact, tessera-run on input_N.pb (as .npy),
outputs compared with output_N.pb at rtol 1e-3, atol 1e-5 (f16 outputs at
4e-3, four of f16's ulps).

Integer graph inputs (shapes, axes, pads, indices), scalar (0-d) inputs
(OneHot's depth, Clip's bounds) and float ones that act as attributes
(Resize's roi and scales) are bound as constants with --bind-input, as
Tessera compiles static shapes. Prints a table of
pass / fail / unsupported by op type; fails on any wrong answer or any
failure that is not an unsupported feature.

With --target=cuda --compile-only (every run, no GPU needed): each test that
compiles for the CPU must also compile for every --gpu-arch, its PTX
assembled by ptxas (tessera-compile fails when ptxas rejects it). With
--target=cuda alone (a GPU machine): compiled for the first --gpu-arch and
run on the GPU, outputs compared as above. With --target=cuda-emulated (no
GPU needed): compiled with --emulate-cuda-kernels, so the CUDA target's
kernels (their thread mapping, vector accesses and block reductions) run
as loops on the CPU, outputs compared as above.
"""
import argparse
import collections
import concurrent.futures
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import numpy_helper

SUPPORTED = {np.dtype(t) for t in (np.float32, np.float16, np.float64, np.int64,
                                   np.int32, np.int16, np.int8, np.uint64, np.uint32,
                                   np.uint16, np.uint8, np.bool_)}

# Float8 and float4 formats (ml_dtypes arrays): .npy has no such types, so
# tessera-run reads and writes their bit patterns as uint8.
MINIFLOATS = {"float8_e4m3fn", "float8_e4m3fnuz", "float8_e5m2", "float8_e5m2fnuz",
              "float4_e2m1fn", "float8_e8m0fnu"}
# 4- and 2-bit integers (ml_dtypes): read and written as int8 / uint8 values.
NARROW_INTS = {"int4": np.int8, "int2": np.int8, "uint4": np.uint8, "uint2": np.uint8}

# Float operands that play the part of attributes (Resize's roi and scales,
# Upsample's scales): bound as constants like the integer ones.
PARAMETER_INPUTS = {"Resize": (1, 2, 3), "Upsample": (1,)}


def parameter_inputs(m):
    """Names of the graph values that feed a parameter operand."""
    return {n.input[i] for n in m.graph.node
            for i in PARAMETER_INPUTS.get(n.op_type, ()) if i < len(n.input)}


def load(pb):
    try:
        return numpy_helper.to_array(onnx.load_tensor(pb))
    except Exception:  # sequences, optionals, maps
        return None


def check(args, test_dir):
    model_path = os.path.join(test_dir, "model.onnx")
    data = os.path.join(test_dir, "test_data_set_0")
    m = onnx.load(model_path, load_external_data=False)
    ops = sorted({n.op_type for n in m.graph.node}) or ["(none)"]
    inits = {t.name for t in m.graph.initializer}
    real = [vi for vi in m.graph.input if vi.name not in inits]
    tmp = tempfile.mkdtemp(prefix="tessera-node-")
    try:
        binds, feeds = [], []
        parameters = parameter_inputs(m)
        for i, vi in enumerate(real):
            pb = os.path.join(data, "input_%d.pb" % i)
            a = load(pb) if os.path.exists(pb) else None
            declared = [d.dim_value if d.HasField("dim_value") else None
                        for d in vi.type.tensor_type.shape.dim]
            if (a is not None and None not in declared
                    and list(a.shape) != declared):
                # Old test data whose tensor contradicts the model's static
                # shape (Debian's castlike tests give 'like' as [1]).
                return ops, "unsupported", "input data does not match the declared shape"
            bf16 = vi.type.tensor_type.elem_type == onnx.TensorProto.BFLOAT16
            if a is None or not (a.dtype in SUPPORTED or (bf16 and a.dtype.name == "bfloat16")
                                 or a.dtype.name in MINIFLOATS or a.dtype.name in NARROW_INTS):
                return ops, "unsupported", "input data"
            if bf16:
                # .npy has no bfloat16: tessera-run reads its bit patterns.
                a = a.view(np.uint16)
            elif a.dtype.name in MINIFLOATS:
                a = a.view(np.uint8)
            elif a.dtype.name in NARROW_INTS:
                a = a.astype(NARROW_INTS[a.dtype.name])
            if (vi.type.tensor_type.elem_type in (onnx.TensorProto.INT64, onnx.TensorProto.INT32)
                    or a.ndim == 0 or vi.name in parameters):
                binds.append("--bind-input=%s=%s" % (vi.name, pb))
            else:
                path = os.path.join(tmp, "in%d.npy" % i)
                np.save(path, a)
                feeds.append("--input=%s=%s" % (vi.name, path))
                # Dynamic dimensions take the test data's shape.
                binds.append("--input-shape=%s:%s" % (vi.name, "x".join(map(str, a.shape))))
        expected = []
        for j, out in enumerate(m.graph.output):
            a = load(os.path.join(data, "output_%d.pb" % j))
            if a is None or not (a.dtype in SUPPORTED or a.dtype.name == "bfloat16"
                                 or a.dtype.name in MINIFLOATS or a.dtype.name in NARROW_INTS):
                return ops, "unsupported", "output data"
            if (out.type.tensor_type.elem_type == onnx.TensorProto.BFLOAT16
                    and a.dtype == np.uint16):
                # Older test data reads back as the bit patterns.
                import ml_dtypes
                a = a.view(ml_dtypes.bfloat16)
            expected.append((out.name, a))
        artifact = os.path.join(tmp, "m.tsr")
        cuda = args.target == "cuda"
        archs = args.gpu_arch.split(",")
        target = ["--target=cuda", "--gpu-arch=" + archs[0]] if cuda and not args.compile_only else []
        if args.target == "cuda-emulated":
            target = ["--emulate-cuda-kernels"]
        c = subprocess.run([args.compile, model_path, "-o", artifact, "--quiet"] + binds + target,
                           capture_output=True, text=True)
        if c.returncode != 0:
            msg = c.stderr.strip()
            return ops, ("unsupported" if "unsupported" in msg else "fail"), msg
        if args.bundle:
            # Compiled here, run on a GPU machine (--from-bundle).
            from tessera_tools import write_bundle
            inputs = dict(f[len("--input="):].split("=", 1) for f in feeds)
            write_bundle(os.path.join(args.bundle, os.path.basename(os.path.dirname(test_dir)) +
                                      "." + os.path.basename(test_dir)),
                         artifact, {n: np.load(p) for n, p in inputs.items()},
                         dict(expected), " ".join(ops))
            return ops, "pass", ""
        if cuda and args.compile_only:
            # Compiles for the CPU: must compile (and assemble) for each arch.
            for arch in archs:
                c = subprocess.run([args.compile, model_path, "-o", artifact, "--quiet",
                                    "--target=cuda", "--gpu-arch=" + arch] + binds,
                                   capture_output=True, text=True)
                if c.returncode != 0:
                    return ops, "fail", "%s: %s" % (arch, c.stderr.strip())
            return ops, "pass", ""
        return ops, *run_and_compare(args, artifact, feeds, expected, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run_and_compare(args, artifact, feeds, expected, tmp, rtol=1e-3, atol=1e-5):
    """Runs the artifact; ("pass", "") or ("fail", why)."""
    outdir = os.path.join(tmp, "out")
    os.makedirs(outdir, exist_ok=True)
    r = subprocess.run([args.run, artifact, "--output-dir", outdir] + feeds,
                       capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        return "fail", "tessera-run: " + r.stderr.strip()
    for name, want in expected:
        path = os.path.join(outdir, name + ".npy")
        if not os.path.exists(path):
            return "fail", "no output %s" % name
        got = np.load(path)
        if want.dtype.name == "bfloat16":
            # tessera-run writes bf16 as its uint16 bit patterns.
            if got.dtype != np.uint16:
                return "fail", "output %s is %s, expected bf16 bit patterns" % (name, got.dtype)
            got = got.view(want.dtype)
        if want.dtype.name in NARROW_INTS:
            want = want.astype(NARROW_INTS[want.dtype.name])
        if want.dtype.name in MINIFLOATS:
            if got.dtype != np.uint8:
                return "fail", "output %s is %s, expected %s bit patterns" % (
                    name, got.dtype, want.dtype.name)
            got = got.view(want.dtype)
        if got.shape != want.shape:
            return "fail", "output %s has shape %s, expected %s" % (name, got.shape, want.shape)
        if want.dtype.name in MINIFLOATS:
            # Conversions to these formats round exactly: every value equal.
            ok = np.array_equal(got.astype(np.float64), want.astype(np.float64),
                                equal_nan=True)
        elif want.dtype == np.bool_ or got.dtype == np.bool_:
            ok = np.array_equal(got.astype(np.bool_), want.astype(np.bool_))
        elif want.dtype.kind in "iu":
            # Integers: the same type, every value exact.
            if got.dtype != want.dtype:
                return "fail", "output %s is %s, expected %s" % (name, got.dtype, want.dtype)
            ok = np.array_equal(got, want)
        else:
            # An f16 result is good to its own precision (ONNX's reference
            # rounds every f16 intermediate; Tessera computes f16 products
            # in f32): a few of f16's ulps (9.8e-4 at 1.0).
            r, a = (max(rtol, 4e-3), max(atol, 4e-3)) if want.dtype == np.float16 else (rtol, atol)
            if want.dtype.name == "bfloat16":
                # bf16 keeps 8 bits of mantissa (an ulp is 7.8e-3 at 1.0).
                r, a = max(rtol, 2e-2), max(atol, 2e-2)
            ok = np.allclose(got.astype(np.float64), want.astype(np.float64),
                             rtol=r, atol=a, equal_nan=True)
        if not ok:
            err = np.max(np.abs(got.astype(np.float64) - want.astype(np.float64)))
            return "fail", "output %s differs (max abs error %.3g)" % (name, err)
    return "pass", ""


def check_bundled(args, d):
    """A test compiled with --bundle: run it, compare with its outputs."""
    with open(os.path.join(d, "ops")) as f:
        ops = f.read().split()
    feeds = ["--input=%s=%s" % (f[3:-4], os.path.join(d, f))
             for f in sorted(os.listdir(d)) if f.startswith("in.")]
    expected = [(f[5:-4], np.load(os.path.join(d, f)))
                for f in sorted(os.listdir(d)) if f.startswith("want.")]
    tolerance = {}
    if os.path.exists(os.path.join(d, "tolerance")):
        with open(os.path.join(d, "tolerance")) as f:
            rtol, atol = map(float, f.read().split())
        tolerance = {"rtol": rtol, "atol": atol}
    tmp = tempfile.mkdtemp(prefix="tessera-node-")
    try:
        return ops, *run_and_compare(args, os.path.join(d, "m.tsr"), feeds, expected, tmp,
                                     **tolerance)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--compile")
    ap.add_argument("--run")
    ap.add_argument("--data", action="append",
                    help="a suite directory (repeatable); default: the node suite")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--onnx-wheel-cases", action="store_true",
                    help="also the node tests of the installed onnx package, written "
                    "once to a cache by onnx_node_cases.py")
    ap.add_argument("--filter", default="")
    ap.add_argument("--table", action="store_true", help="print the table by op")
    ap.add_argument("--unsupported-list", metavar="FILE",
                    help="write each unsupported test and its one-line reason to FILE")
    ap.add_argument("--target", default="cpu", choices=["cpu", "cuda", "cuda-emulated"])
    ap.add_argument("--gpu-arch", default="sm_90",
                    help="comma-separated; with --compile-only every one is compiled")
    ap.add_argument("--compile-only", action="store_true",
                    help="with --target=cuda: compile, do not run")
    ap.add_argument("--bundle", help="compile each test into this directory "
                    "(artifact, inputs, expected outputs) instead of running it")
    ap.add_argument("--from-bundle", help="run the tests compiled into this "
                    "directory by --bundle (no tessera-compile needed)")
    args = ap.parse_args()
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    if not args.compile and not args.from_bundle:
        ap.error("--compile is required (except with --from-bundle)")
    if not args.run and not args.bundle:
        ap.error("--run is required (except with --bundle)")
    if args.target == "cuda" and not args.compile_only and not args.bundle:
        from tessera_tools import skip_without_cuda
        skip_without_cuda()
    if args.from_bundle:
        suites = [args.from_bundle]
        tests = [os.path.join(args.from_bundle, d) for d in sorted(os.listdir(args.from_bundle))
                 if args.filter in d]
        with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
            results = list(pool.map(lambda t: check_bundled(args, t), tests))
    else:
        suites = list(args.data or [])
        if args.onnx_wheel_cases:
            from onnx_node_cases import suite_dir
            suites.append(suite_dir(None))
        suites = suites or ["/usr/share/libonnx-testdata/data/node"]
        tests = [os.path.join(s, d) for s in suites for d in sorted(os.listdir(s))
                 if args.filter in d and os.path.isfile(os.path.join(s, d, "model.onnx"))]
        with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
            results = list(pool.map(lambda t: check(args, t), tests))
    counts = collections.Counter(o for _, o, _ in results)
    for suite in suites:
        c = collections.Counter(o for t, (_, o, _) in zip(tests, results)
                                if os.path.dirname(t) == suite)
        print("%-20s pass %4d, fail %3d, unsupported %4d" % (
            os.path.basename(suite), c["pass"], c["fail"], c["unsupported"]))
    by_op = collections.defaultdict(collections.Counter)
    for ops, outcome, _ in results:
        for op in ops:
            by_op[op][outcome] += 1
    if args.from_bundle:
        how = "tessera-run of the artifacts bundled in %s" % args.from_bundle
    elif args.bundle:
        how = "tessera-compile --target=%s into the bundle %s (not run)" % (args.target, args.bundle)
    elif args.target == "cuda" and args.compile_only:
        how = "tessera-compile --target=cuda --gpu-arch=%s (compile only)" % args.gpu_arch
    elif args.target == "cuda-emulated":
        how = "tessera-compile --emulate-cuda-kernels + tessera-run"
    else:
        how = "tessera-compile --target=%s + tessera-run" % args.target
    print("total: %d tests through %s: pass %d, fail %d, "
          "unsupported %d" % (len(tests), how, counts["pass"], counts["fail"], counts["unsupported"]))
    if args.table:
        print("%-28s %5s %5s %12s" % ("op", "pass", "fail", "unsupported"))
        for op in sorted(by_op):
            c = by_op[op]
            print("%-28s %5d %5d %12d" % (op, c["pass"], c["fail"], c["unsupported"]))
    if args.unsupported_list:
        with open(args.unsupported_list, "w") as f:
            for t, (_, outcome, msg) in zip(tests, results):
                if outcome == "unsupported":
                    f.write("%s: %s\n" % (os.path.basename(t), (msg or "").splitlines()[0]
                                           if msg else ""))
    for t, (_, outcome, msg) in zip(tests, results):
        if outcome == "fail":
            print("FAIL %s: %s" % (os.path.relpath(t, os.path.dirname(os.path.dirname(t))), msg[:300]))
    print("%d passed, %d failed" % (counts["pass"], counts["fail"]))
    return 1 if counts["fail"] else 0


if __name__ == "__main__":
    sys.exit(main())
