#!/usr/bin/env python3
"""The parallel tier: models compiled for a device mesh (tessera-compile
--mesh/--parallel), run on the local communicator (ranks as threads,
tessera-run), compared with the same model on one device (rtol 1e-4) and
with ONNX Runtime (rtol 1e-3). Also prints each mesh's weight bytes per
device (tp splits the column/row pairs' weights).

The four sample models: the MLP, the GPT-2 and BERT style blocks (tp
splits attention by heads and the MLP by columns/rows) and the small
ResNet (dp; it has no column/row pair, so tp leaves it replicated), a
token-embedding LM head (Gather on a weight, RMS norm, SiLU MLP). And an
f16 MLP, whose tp partial sums are all-reduced in f16 (against NumPy).

    parallel_check.py --compile tessera-compile --run tessera-run --work DIR
"""
import argparse
import os
import subprocess
import sys

import numpy as np

from tessera_tools import compile_and_run, compile_model, run_artifact, sample_model


MESHES = ["dp=1", "dp=2", "dp=4", "tp=2", "tp=4", "dp=2,tp=2"]
CASES = [
    ("mlp", "mlp.py", {"x": ((8, 256), "normal")}, MESHES),
    ("gpt2_block", "gpt2_block.py", {"x": ((4, 16, 64), "normal")}, MESHES),
    ("bert_block", "bert_block.py",
     {"x": ((4, 16, 64), "normal"), "mask": ((4, 16), "mask")}, MESHES),
    # 5 heads: tp=2 and tp=4 pad them to 6 and 8 (zero heads).
    ("gpt2_5heads", "gpt2_block.py --hidden 80 --heads 5", {"x": ((4, 16, 80), "normal")},
     ["tp=2", "tp=4", "dp=2,tp=2"]),
    # RMSNorm, rotary embeddings, grouped-query attention (4 query heads
    # over 2 KV heads: tp=4 keeps K and V whole), SwiGLU.
    ("llama_block", "llama_block.py", {"x": ((4, 16, 64), "normal")}, MESHES),
    # An embedding (Gather on a weight) and an LM head: dp used to crash
    # shard-partition (a table read only inside a linalg body).
    ("embedding_lm", "embedding_lm.py", {"ids": ((4, 16), "ids:128")}, MESHES),
    ("resnet_small", "resnet_small.py", {"x": ((4, 3, 32, 32), "normal")},
     ["dp=2", "dp=4", "dp=2,tp=2"]),
    # An LM head tied to the embedding: the table splits over the
    # vocabulary (masked lookups summed; 16386 rows padded to 16388 on tp=4).
    # Its logits (up to about 10) are 64-term sums that the split head
    # accumulates in another order: a few float ulps of the terms apart.
    ("embedding_tied", "embedding_lm.py --vocab 16386 --hidden 64 --tied 1",
     {"ids": ((4, 16), "ids:16386")}, ["tp=2", "tp=4", "dp=2,tp=2"], (1e-4, 2e-5)),
    # Negative ids count from the end of the table, not of its padded
    # copy (-1 is row 16385, not a zero row).
    ("embedding_tied_negative", "embedding_lm.py --vocab 16386 --hidden 64 --tied 1",
     {"ids": ((4, 16), "signed-ids:16386")}, ["tp=2", "tp=4"], (1e-4, 2e-5)),
    # An untied LM head of 16386 columns: column-parallel, padded to 16388
    # on tp=4.
    ("embedding_odd_head", "embedding_lm.py --vocab 16386 --hidden 64",
     {"ids": ((4, 16), "ids:16386")}, ["tp=2", "tp=4"], (1e-4, 2e-5)),
    # Batches the dp axis does not divide: padded with zero rows (3 -> 4,
    # 5 -> 6 or 8), the outputs cut back to the batch.
    ("mlp_b3", "mlp.py", {"x": ((3, 256), "normal")}, ["dp=2", "dp=2,tp=2"]),
    ("bert_block_b3", "bert_block.py",
     {"x": ((3, 16, 64), "normal"), "mask": ((3, 16), "mask")}, ["dp=2", "dp=2,tp=2"]),
    ("llama_block_b5", "llama_block.py", {"x": ((5, 16, 64), "normal")}, ["dp=2", "dp=4"]),
    ("resnet_small_b5", "resnet_small.py", {"x": ((5, 3, 32, 32), "normal")},
     ["dp=2", "dp=4"]),
]


def f16_mlp(work, rng):
    """An f16 MLP (64 -> 128 -> 32, ReLU between): tp splits the first
    layer's columns and the second's rows, whose partial sums the ranks
    all-reduce in f16. Reference: NumPy in float64 on the same f16 values.
    Returns what sample_model does."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    d = os.path.join(work, "mlp_f16")
    os.makedirs(d, exist_ok=True)
    w1 = (rng.standard_normal((64, 128)) / 8).astype(np.float16)
    b1 = (rng.standard_normal(128) / 8).astype(np.float16)
    w2 = (rng.standard_normal((128, 32)) / 8).astype(np.float16)
    b2 = (rng.standard_normal(32) / 8).astype(np.float16)
    x = rng.standard_normal((8, 64)).astype(np.float16)
    nodes = [helper.make_node("MatMul", ["x", "w1"], ["h0"]),
             helper.make_node("Add", ["h0", "b1"], ["h1"]),
             helper.make_node("Relu", ["h1"], ["h"]),
             helper.make_node("MatMul", ["h", "w2"], ["y0"]),
             helper.make_node("Add", ["y0", "b2"], ["y"])]
    g = helper.make_graph(nodes, "mlp_f16",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT16, [8, 64])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT16, [8, 32])],
                          [numpy_helper.from_array(a, n)
                           for a, n in ((w1, "w1"), (b1, "b1"), (w2, "w2"), (b2, "b2"))])
    model = os.path.join(d, "mlp_f16.onnx")
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, model)
    f = lambda a: a.astype(np.float64)
    h = np.maximum(f(x) @ f(w1) + f(b1), 0).astype(np.float16)
    ref = f(h) @ f(w2) + f(b2)
    return d, model, {"x": x}, [], [ref]


# The f16 MLP (f16_mlp) on the meshes that all-reduce its partial sums.
F16_CASE = ("mlp_f16", None, None, ["tp=2", "dp=2,tp=2"])


def case_model(work, case, rng):
    """A case's model (a CASES entry, or F16_CASE): its directory, model,
    feeds, --input-shape flags, reference output, the reference's name, and
    the (rtol, atol) a mesh's output must keep to one device's."""
    name, gen, shapes = case[:3]
    if gen:
        d, model, feeds, flags, ref = sample_model(work, name, gen, shapes, rng)
        tolerance = case[4] if len(case) > 4 else (1e-4, 1e-6)
        return d, model, feeds, flags, ref[0], "ONNX Runtime", tolerance
    d, model, feeds, flags, ref = f16_mlp(work, rng)
    # f16 results: a few of its ulps apart (partial sums rounded).
    return d, model, feeds, flags, ref[0], "NumPy", (1e-2, 1e-2)


def matches(got, one, ref, tolerance):
    """A mesh's output against one device's (within `tolerance`) and the
    reference (rtol 1e-3, or looser with the tolerance)."""
    rtol, atol = tolerance
    return (got.shape == one.shape and np.allclose(got, one, rtol=rtol, atol=atol)
            and np.allclose(got, ref, rtol=max(rtol, 1e-3), atol=max(atol, 1e-5)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--compile", required=True)
    ap.add_argument("--run", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    rng = np.random.default_rng(7)
    passed = failed = 0
    for case in CASES + [F16_CASE]:
        name, meshes = case[0], case[3]
        d, model, feeds, flags, ref, ref_name, tolerance = case_model(args.work, case, rng)
        err, outs = compile_and_run(args.compile, args.run, model,
                                    os.path.join(d, "single.tsr"), feeds,
                                    os.path.join(d, "single"), flags)
        if err:
            print("FAIL %s on one device: %s" % (name, err))
            failed += 1
            continue
        one = outs["y"].astype(np.float64)
        for mesh in meshes:
            artifact = os.path.join(d, "mesh-%s.tsr" % mesh.replace(",", "-"))
            err = compile_model(args.compile, model, artifact, flags + ["--mesh=" + mesh])
            if err:
                print("FAIL %s --mesh=%s: %s" % (name, mesh, err))
                failed += 1
                continue
            info = subprocess.run([args.run, artifact, "--info"], capture_output=True,
                                  text=True).stdout
            per_device = [l.strip() for l in info.splitlines() if "per device" in l]
            err, outs = run_artifact(args.run, artifact, feeds, os.path.join(d, "out-" + mesh))
            if err:
                print("FAIL %s --mesh=%s: %s" % (name, mesh, err))
                failed += 1
                continue
            got = outs["y"].astype(np.float64)
            ok = matches(got, one, ref, tolerance)
            print("%s %s --mesh=%s: max abs difference from one device %.3g, from %s "
                  "%.3g; %s" % ("ok  " if ok else "FAIL", name, mesh,
                                float(np.max(np.abs(got - one))), ref_name,
                                float(np.max(np.abs(got - ref))),
                                per_device[0] if per_device else ""))
            passed += ok
            failed += not ok
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
