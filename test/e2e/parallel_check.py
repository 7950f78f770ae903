#!/usr/bin/env python3
"""The parallel tier: models compiled for a device mesh (tessera-compile
--mesh/--parallel), run on the local communicator (ranks as threads,
tessera-run), compared with the same model on one device (rtol 1e-4) and
with ONNX Runtime (rtol 1e-3). Also prints each mesh's weight bytes per
device (tp splits the column/row pairs' weights).

The four sample models: the MLP, the GPT-2 and BERT style blocks (tp
splits attention by heads and the MLP by columns/rows) and the small
ResNet (dp; it has no column/row pair, so tp leaves it replicated).

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
    ("resnet_small", "resnet_small.py", {"x": ((4, 3, 32, 32), "normal")},
     ["dp=2", "dp=4", "dp=2,tp=2"]),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--compile", required=True)
    ap.add_argument("--run", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    rng = np.random.default_rng(7)
    passed = failed = 0
    for name, gen, shapes, meshes in CASES:
        d, model, feeds, flags, ref = sample_model(args.work, name, gen, shapes, rng)
        ref = ref[0]
        err, outs = compile_and_run(args.compile, args.run, model,
                                    os.path.join(d, "single.tsr"), feeds,
                                    os.path.join(d, "single"), flags)
        if err:
            print("FAIL %s on one device: %s" % (name, err))
            failed += 1
            continue
        one = outs["y"]
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
            got = outs["y"]
            ok = (got.shape == one.shape and np.allclose(got, one, rtol=1e-4, atol=1e-6)
                  and np.allclose(got, ref, rtol=1e-3, atol=1e-5))
            print("%s %s --mesh=%s: max abs difference from one device %.3g, from ONNX "
                  "Runtime %.3g; %s" % ("ok  " if ok else "FAIL", name, mesh,
                                        float(np.max(np.abs(got - one))),
                                        float(np.max(np.abs(got - ref))),
                                        per_device[0] if per_device else ""))
            passed += ok
            failed += not ok
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
