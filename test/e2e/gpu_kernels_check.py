#!/usr/bin/env python3
"""The CUDA target's kernel shapes on the sizes that reach each of them,
compared with NumPy (float64 reference):

  * reductions a block of threads shares (tessera-cuda-form-kernels'
    cooperative kernels): sum, max, min, product, mean, L2, log-sum-exp,
    over one or several axes, contiguous or strided, reduction sizes that
    are not powers of two, f32, f16 (combined in f32), int32 and int64;
    softmax and layer normalization built from them;
  * reductions that stay a thread per output point (argmax; many outputs
    with a strided reduction);
  * elementwise kernels of 4 points per thread: broadcasts (vector, one
    load per thread), transposes and views at unaligned offsets (element by
    element), booleans, f16, int64, a last axis that is not a multiple of 4.

Each case also declares what its PTX must contain (tessera-compile
--target=cuda --emit=ptx, no GPU needed): `shfl.sync` for a block
reduction, vector loads and stores (`ld.global.v4.b32`, ...), so a
change that quietly drops a kernel shape fails here.

    gpu_kernels_check.py --compile tessera-compile --run tessera-run --work DIR
        --target cuda-emulated   (every run: kernels run as loops on the CPU)
        --target cuda            (a GPU machine)
        --bundle DIR             (compile for cuda here, run elsewhere with
                                  node_tests.py --from-bundle)
"""
import argparse
import os
import re
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from tessera_tools import compile_model, run_artifact, skip_without_cuda, write_bundle

RNG = np.random.default_rng(2026)
ONNX_TYPE = {np.float32: TensorProto.FLOAT, np.float16: TensorProto.FLOAT16,
             np.int32: TensorProto.INT32, np.int64: TensorProto.INT64,
             np.bool_: TensorProto.BOOL}


def rand(shape, dtype=np.float32, low=-2.0, high=2.0):
    if dtype in (np.int32, np.int64):
        return RNG.integers(-50, 50, size=shape).astype(dtype)
    if dtype == np.bool_:
        return RNG.random(shape) < 0.5
    return RNG.uniform(low, high, size=shape).astype(dtype)


def reduce_case(op, shape, axes, ref, dtype=np.float32, keepdims=0, low=-2.0, high=2.0,
                whole=False):
    """`whole`: integer values (exact sums; a large input that compresses,
    for the bundle that travels to a GPU machine)."""
    x = rand(shape, dtype, low, high)
    if whole:
        x = np.round(x)
    axes_t = numpy_helper.from_array(np.array(axes, np.int64), "axes")
    node = helper.make_node(op, ["x", "axes"], ["y"], keepdims=keepdims)
    wide = x.astype(np.float64) if dtype in (np.float32, np.float16) else x.astype(np.int64)
    y = ref(wide, tuple(axes))
    if keepdims:
        y = np.expand_dims(y, tuple(axes))
    return [node], {"x": x}, [axes_t], y, dtype


def graph_case(nodes, feeds, inits, ref, out_dtype=np.float32):
    return nodes, feeds, inits, ref, out_dtype


def softmax_case(shape):
    x = rand(shape, low=-8, high=8)
    w = x.astype(np.float64)
    e = np.exp(w - w.max(-1, keepdims=True))
    return graph_case([helper.make_node("Softmax", ["x"], ["y"], axis=-1)], {"x": x}, [],
                      e / e.sum(-1, keepdims=True))


def layernorm_case(rows, width):
    x = rand((rows, width))
    g = rand((width,))
    b = rand((width,))
    w = x.astype(np.float64)
    mean = w.mean(-1, keepdims=True)
    var = ((w - mean) ** 2).mean(-1, keepdims=True)
    ref = (w - mean) / np.sqrt(var + 1e-5) * g + b
    node = helper.make_node("LayerNormalization", ["x", "g", "b"], ["y"], axis=-1, epsilon=1e-5)
    return graph_case([node], {"x": x}, [numpy_helper.from_array(g, "g"),
                                         numpy_helper.from_array(b, "b")], ref)


def argmax_case(rows, width):
    x = rand((rows, width))
    node = helper.make_node("ArgMax", ["x"], ["y"], axis=1, keepdims=0)
    return graph_case([node], {"x": x}, [], np.argmax(x, 1), np.int64)


def broadcast_case():
    """(x + bias[col]) * scale[row]: x and the output as vectors, the bias
    contiguous too, the scale one load per thread."""
    x, bias, scale = rand((64, 128)), rand((128,)), rand((64, 1))
    nodes = [helper.make_node("Add", ["x", "bias"], ["t"]),
             helper.make_node("Mul", ["t", "scale"], ["y"])]
    ref = (x.astype(np.float64) + bias) * scale
    return graph_case(nodes, {"x": x, "scale": scale}, [numpy_helper.from_array(bias, "bias")], ref)


def transpose_add_case():
    a, b = rand((128, 64)), rand((64, 128))
    nodes = [helper.make_node("Transpose", ["a"], ["t"], perm=[1, 0]),
             helper.make_node("Add", ["t", "b"], ["y"])]
    return graph_case(nodes, {"a": a, "b": b}, [], a.T.astype(np.float64) + b)


def slice_case():
    """Columns 2..13 of a 16-wide row: reads at an offset of 2 elements."""
    x = rand((8, 16))
    inits = [numpy_helper.from_array(np.array(v, np.int64), n)
             for n, v in (("starts", [2]), ("ends", [14]), ("axes", [1]))]
    nodes = [helper.make_node("Slice", ["x", "starts", "ends", "axes"], ["s"]),
             helper.make_node("Relu", ["s"], ["y"])]
    return graph_case(nodes, {"x": x}, inits, np.maximum(x[:, 2:14].astype(np.float64), 0))


def where_case():
    c, a, b = rand((32, 64), np.bool_), rand((32, 64)), rand((32, 64))
    node = helper.make_node("Where", ["c", "a", "b"], ["y"])
    return graph_case([node], {"c": c, "a": a, "b": b}, [], np.where(c, a, b).astype(np.float64))


def f16_case():
    a, b = rand((64, 128), np.float16), rand((64, 128), np.float16)
    node = helper.make_node("Mul", ["a", "b"], ["y"])
    return graph_case([node], {"a": a, "b": b}, [],
                      (a.astype(np.float64) * b.astype(np.float64)), np.float16)


def int64_case():
    a, b = rand((32, 64), np.int64), rand((32, 64), np.int64)
    node = helper.make_node("Sub", ["a", "b"], ["y"])
    return graph_case([node], {"a": a, "b": b}, [], a - b, np.int64)


def odd_width_case():
    a = rand((1002,))
    node = helper.make_node("Tanh", ["a"], ["y"])
    return graph_case([node], {"a": a}, [], np.tanh(a.astype(np.float64)))


def concat_case():
    """Widths 6 and 10: the second part is written at column offset 6."""
    a, b = rand((16, 6)), rand((16, 10))
    node = helper.make_node("Concat", ["a", "b"], ["y"], axis=1)
    return graph_case([node], {"a": a, "b": b}, [],
                      np.concatenate([a, b], 1).astype(np.float64))


def gemm_case(batch, m, k, n, then, dtype=np.float32):
    """x @ W + bias (W, bias weights), then `then` (Relu, a scale, or
    nothing): the runtime's GEMM takes over the bias (and the ReLU, or the
    copy to the output) as its epilogue."""
    x = rand(tuple(batch) + (m, k), dtype, -1, 1)
    w, b = rand((k, n), dtype, -1, 1), rand((n,), dtype, -1, 1)
    nodes = [helper.make_node("MatMul", ["x", "w"], ["mm"]),
             helper.make_node("Add", ["mm", "b"], ["t" if then else "y"])]
    ref = x.astype(np.float64) @ w.astype(np.float64) + b.astype(np.float64)
    inits = [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")]
    if then == "Relu":
        nodes.append(helper.make_node("Relu", ["t"], ["y"]))
        ref = np.maximum(ref, 0)
    elif then == "scale":
        inits.append(numpy_helper.from_array(np.array(0.5, dtype), "half"))
        nodes.append(helper.make_node("Mul", ["t", "half"], ["y"]))
        ref = ref * 0.5
    return graph_case(nodes, {"x": x}, inits, ref, dtype)


def logsumexp(w, axes):
    m = w.max(axes, keepdims=True)
    return np.log(np.exp(w - m).sum(axes)) + m.squeeze(axes)


# Vectors of 4 elements become one 16-byte access of f32 (v4.b32), one
# 8-byte access of f16 (v2.b32), two of int64 (v2.b64).
SHFL, VLOAD, VSTORE = r"shfl\.sync", r"ld\.global\.v[24]\.", r"st\.global\.v[24]\."

CASES = [
    # name, case, rtol, atol, what the PTX must contain
    ("ReduceSum rows of 768", reduce_case("ReduceSum", (8, 768), [1], np.sum), 1e-5, 1e-4, [SHFL]),
    ("ReduceMax rows of 1000", reduce_case("ReduceMax", (5, 1000), [1], np.max), 0, 0, [SHFL]),
    ("ReduceMin over two axes (33x7)", reduce_case("ReduceMin", (4, 33, 7), [1, 2], np.min),
     0, 0, [SHFL]),
    ("ReduceProd rows of 40", reduce_case("ReduceProd", (3, 40), [1], np.prod, low=0.9, high=1.1),
     1e-5, 1e-6, [SHFL]),
    ("ReduceMean down columns (strided)", reduce_case("ReduceMean", (300, 6), [0], np.mean,
                                                      keepdims=1), 1e-5, 1e-5, [SHFL]),
    ("ReduceL2 rows of 100", reduce_case("ReduceL2", (12, 100), [1],
                                         lambda w, a: np.sqrt((w * w).sum(a))), 1e-5, 1e-5, [SHFL]),
    ("ReduceLogSumExp rows of 100", reduce_case("ReduceLogSumExp", (12, 100), [1], logsumexp),
     1e-5, 1e-5, [SHFL]),
    ("ReduceSum int32 rows of 500", reduce_case("ReduceSum", (6, 500), [1], np.sum, np.int32),
     0, 0, [SHFL]),
    ("ReduceMax int64 rows of 100", reduce_case("ReduceMax", (4, 100), [1], np.max, np.int64),
     0, 0, [SHFL]),
    ("ReduceSum f16 rows of 256 (in f32)", reduce_case("ReduceSum", (8, 256), [1], np.sum,
                                                       np.float16, low=-1, high=1),
     1e-2, 1e-1, [SHFL]),
    ("ReduceSum of 40 over 70000 columns (a thread each)",
     reduce_case("ReduceSum", (40, 70000), [0], np.sum, whole=True), 0, 0, []),
    ("Softmax rows of 128", softmax_case((4, 3, 128)), 1e-5, 1e-7, [SHFL]),
    ("LayerNormalization rows of 768", layernorm_case(16, 768), 1e-4, 1e-4, [SHFL, VLOAD]),
    ("ArgMax rows of 512 (a thread each)", argmax_case(8, 512), 0, 0, []),
    ("Add bias, Mul row scale", broadcast_case(), 1e-6, 1e-6, [VLOAD, VSTORE]),
    ("Transpose then Add", transpose_add_case(), 1e-6, 1e-6, [VSTORE]),
    ("Slice at column 2, Relu", slice_case(), 0, 0, [VSTORE]),
    ("Where on booleans", where_case(), 0, 0, [VLOAD, VSTORE]),
    ("Mul f16", f16_case(), 1e-3, 1e-3, [VSTORE]),
    ("Sub int64", int64_case(), 0, 0, [VLOAD, VSTORE]),
    ("Tanh over 1002 (not a multiple of 4)", odd_width_case(), 1e-5, 1e-6, []),
    ("Concat widths 6 and 10", concat_case(), 0, 0, []),
    # The runtime's GEMM with its epilogues (no kernel left, or one).
    ("MatMul + bias + Relu (bias and ReLU epilogue)", gemm_case([], 16, 32, 48, "Relu"),
     1e-5, 1e-5, []),
    ("MatMul + bias, then a scale (bias epilogue)", gemm_case([], 16, 32, 48, "scale"),
     1e-5, 1e-5, [VLOAD, VSTORE]),
    ("batched MatMul + bias (bias over the batch)", gemm_case([3], 8, 24, 40, None),
     1e-5, 1e-5, []),
    ("MatMul f16 + bias", gemm_case([], 32, 64, 32, None, np.float16), 1e-2, 1e-2, []),
]


def build_model(path, nodes, feeds, inits, ref, out_dtype):
    inputs = [helper.make_tensor_value_info(n, ONNX_TYPE[a.dtype.type], list(a.shape))
              for n, a in feeds.items()]
    out = helper.make_tensor_value_info("y", ONNX_TYPE[out_dtype], list(np.shape(ref)))
    model = helper.make_model(helper.make_graph(nodes, "k", inputs, [out], inits),
                              opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    onnx.save(model, path)


def ptx_lacks(tool, model, features):
    """What of `features` the model's PTX does not contain."""
    c = subprocess.run([tool, model, "--target=cuda", "--emit=ptx", "--quiet"],
                       capture_output=True, text=True)
    if c.returncode != 0:
        return ["(tessera-compile --emit=ptx: %s)" % c.stderr.strip()]
    return [f for f in features if not re.search(f, c.stdout)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--compile", required=True)
    ap.add_argument("--run")
    ap.add_argument("--work", required=True)
    ap.add_argument("--target", default="cuda-emulated", choices=["cuda", "cuda-emulated"])
    ap.add_argument("--gpu-arch", default="sm_90")
    ap.add_argument("--bundle", help="compile for --target=cuda into this directory "
                    "(node_tests.py --from-bundle runs it)")
    ap.add_argument("--kernel-flags", default="",
                    help="other kernel shapes (tessera-compile flags, e.g. "
                    "--gpu-vector-width=16): the cases' PTX is not checked then")
    args = ap.parse_args()
    if args.target == "cuda" and not args.bundle:
        skip_without_cuda()
    if not args.run and not args.bundle:
        ap.error("--run is required (except with --bundle)")
    os.makedirs(args.work, exist_ok=True)
    flags = (["--target=cuda", "--gpu-arch=" + args.gpu_arch] if args.target == "cuda"
             or args.bundle else ["--emulate-cuda-kernels"]) + args.kernel_flags.split()
    passed = failed = 0
    for i, (name, (nodes, feeds, inits, ref, out_dtype), rtol, atol, features) in enumerate(CASES):
        d = os.path.join(args.work, "case%d" % i)
        os.makedirs(d, exist_ok=True)
        path = os.path.join(d, "model.onnx")
        build_model(path, nodes, feeds, inits, ref, out_dtype)
        lacks = [] if args.kernel_flags else ptx_lacks(args.compile, path, features)
        if lacks:
            print("FAIL %s: the PTX lacks %s" % (name, ", ".join(lacks)))
            failed += 1
            continue
        artifact = os.path.join(d, "model.tsr")
        err = compile_model(args.compile, path, artifact, flags)
        if not err and args.bundle:
            write_bundle(os.path.join(args.bundle, "kernel.%02d" % i), artifact, feeds,
                         {"y": np.asarray(ref).astype(out_dtype)},
                         "kernel:" + name.replace(" ", "_"), (rtol, atol))
            print("ok   %s: bundled" % name)
            passed += 1
            continue
        if not err:
            err, outs = run_artifact(args.run, artifact, feeds, d)
        if err:
            print("FAIL %s: %s" % (name, err))
            failed += 1
            continue
        got = outs["y"]
        want = np.asarray(ref)
        ok = got.shape == want.shape and np.allclose(got.astype(np.float64), want, rtol=rtol,
                                                     atol=atol)
        diff = (float(np.max(np.abs(got.astype(np.float64) - want), initial=0.0))
                if got.shape == want.shape else float("inf"))
        print("%s %s: max abs error vs NumPy %.3g" % ("ok  " if ok else "FAIL", name, diff))
        passed += ok
        failed += not ok
    how = ("compiled for CUDA into " + args.bundle if args.bundle else
           "on the GPU" if args.target == "cuda" else "emulated on the CPU")
    if args.kernel_flags:
        how += ", " + args.kernel_flags
    print("%d passed, %d failed (%s)" % (passed, failed, how))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
