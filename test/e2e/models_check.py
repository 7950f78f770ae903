#!/usr/bin/env python3
"""Real exported-style models, compiled with tessera-compile and run with
tessera-run, compared with ONNX Runtime (rtol 1e-3, atol 1e-5). The models
are written at test time by examples/models/*.py with fixed seeds; inputs
are random with a fixed seed.

    models_check.py --compile tessera-compile --run tessera-run --work DIR
"""
import argparse
import os
import sys

import numpy as np

from tessera_tools import compile_and_run, sample_model

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
        d, model, feeds, flags, ref = sample_model(args.work, name, gen, inputs, rng)
        err, outs = compile_and_run(args.compile, args.run, model,
                                    os.path.join(d, name + ".tsr"), feeds, d, flags)
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
