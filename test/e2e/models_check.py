#!/usr/bin/env python3
"""Real exported-style models, compiled with tessera-compile and run with
tessera-run, compared with ONNX Runtime (rtol 1e-3, atol 1e-5). The models
are written at test time by examples/models/*.py with fixed seeds; inputs
are random with a fixed seed.

    models_check.py --compile tessera-compile --run tessera-run --work DIR
"""
import argparse
import os
import subprocess
import sys

import numpy as np
import onnxruntime as ort

from tessera_tools import compile_model, run_artifact

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.join(HERE, "..", "..", "examples", "models")

# name, generator, inputs {name: (shape, kind)}
CASES = [
    ("mlp", "mlp.py", {"x": ((4, 256), "normal")}),
    ("gpt2_block", "gpt2_block.py", {"x": ((2, 16, 64), "normal")}),
    ("bert_block", "bert_block.py", {"x": ((2, 16, 64), "normal"), "mask": ((2, 16), "mask")}),
    ("resnet_small", "resnet_small.py", {"x": ((2, 3, 32, 32), "normal")}),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--compile", required=True)
    ap.add_argument("--run", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    rng = np.random.default_rng(1234)
    passed = failed = 0
    for name, gen, inputs in CASES:
        d = os.path.join(args.work, name)
        os.makedirs(d, exist_ok=True)
        model = os.path.join(d, name + ".onnx")
        subprocess.run([sys.executable, os.path.join(MODELS, gen), model], check=True)
        feeds, flags = {}, []
        for n, (shape, kind) in inputs.items():
            a = (rng.standard_normal(shape) if kind == "normal"
                 else (rng.random(shape) > 0.25)).astype(np.float32)
            feeds[n] = a
            flags += ["--input-shape=%s:%s" % (n, "x".join(map(str, shape)))]
        ref = ort.InferenceSession(model, providers=["CPUExecutionProvider"]).run(None, feeds)
        artifact = os.path.join(d, name + ".tsr")
        err = compile_model(args.compile, model, artifact, flags)
        if not err:
            err, outs = run_artifact(args.run, artifact, feeds, d)
        if err:
            print("FAIL %s: %s" % (name, err))
            failed += 1
            continue
        got = outs["y"]
        err = float(np.max(np.abs(got - ref[0])))
        ok = got.shape == ref[0].shape and np.allclose(got, ref[0], rtol=1e-3, atol=1e-5)
        print("%s %s: max abs error vs ONNX Runtime %.3g" % ("ok  " if ok else "FAIL", name, err))
        passed += ok
        failed += not ok
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
