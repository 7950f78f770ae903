#!/usr/bin/env python3
"""Real exported-style models, compiled with tessera-compile and run with
tessera-run, compared with ONNX Runtime (rtol 1e-3, atol 1e-5). The models
are written at test time by examples/models/*.py with fixed seeds; inputs
are random with a fixed seed.

    models_check.py --compile tessera-compile --run tessera-run --work DIR
        [--target=cuda [--gpu-arch=sm_80,sm_90] [--compile-only]]

With --target=cuda --compile-only (no GPU needed) every model compiles for
each --gpu-arch, on one device and on the meshes dp=2, tp=2 and dp=2,tp=2
(tessera-compile assembles the PTX with ptxas when it is installed). With
--target=cuda alone (a GPU machine) each model is compiled for the first
--gpu-arch, run on the GPU and compared with ONNX Runtime. With
--target=cuda-emulated (no GPU needed) each model is compiled with
--emulate-cuda-kernels (the CUDA target's kernels run as loops on the CPU),
on one device and on the meshes above, and compared with ONNX Runtime.
"""
import argparse
import os
import sys

import numpy as np

from tessera_tools import (compile_and_run, compile_model, sample_model, skip_without_cuda,
                           write_bundle)

MESHES = ([], ["--mesh=dp=2"], ["--mesh=tp=2"], ["--mesh=dp=2,tp=2"])

# name, generator, inputs {name: (shape, kind)}
CASES = [
    ("mlp", "mlp.py", {"x": ((4, 256), "normal")}),
    ("gpt2_block", "gpt2_block.py", {"x": ((2, 16, 64), "normal")}),
    ("llama_block", "llama_block.py", {"x": ((2, 16, 64), "normal")}),
    ("bert_block", "bert_block.py", {"x": ((2, 16, 64), "normal"), "mask": ((2, 16), "mask")}),
    ("resnet_small", "resnet_small.py", {"x": ((2, 3, 32, 32), "normal")}),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--compile", required=True)
    ap.add_argument("--run", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--target", default="cpu", choices=["cpu", "cuda", "cuda-emulated"])
    ap.add_argument("--gpu-arch", default="sm_90")
    ap.add_argument("--compile-only", action="store_true")
    ap.add_argument("--bundle", help="compile each model for --target into this "
                    "directory with its inputs and ONNX Runtime's outputs, to be "
                    "run elsewhere by node_tests.py --from-bundle")
    args = ap.parse_args()
    archs = args.gpu_arch.split(",")
    if args.target == "cuda" and not args.compile_only and not args.bundle:
        skip_without_cuda()
    os.makedirs(args.work, exist_ok=True)
    rng = np.random.default_rng(1234)
    passed = failed = 0
    for name, gen, inputs in CASES:
        d, model, feeds, flags, ref = sample_model(args.work, name, gen, inputs, rng)
        if args.target == "cuda" and args.compile_only:
            for arch in archs:
                for mesh in MESHES:
                    what = " ".join([name, arch] + mesh)
                    err = compile_model(args.compile, model, os.path.join(d, name + ".tsr"),
                                        flags + ["--target=cuda", "--gpu-arch=" + arch] + mesh)
                    print("%s %s: compiles for CUDA%s" % ("FAIL" if err else "ok  ", what,
                                                          "\n    " + err if err else ""))
                    passed += not err
                    failed += bool(err)
            continue
        if args.target == "cuda":
            flags = flags + ["--target=cuda", "--gpu-arch=" + archs[0]]
        if args.target == "cuda-emulated":
            flags = flags + ["--emulate-cuda-kernels"]
        if args.bundle:
            artifact = os.path.join(d, name + ".tsr")
            err = compile_model(args.compile, model, artifact, flags)
            if err:
                print("FAIL %s: %s" % (name, err))
                failed += 1
                continue
            write_bundle(os.path.join(args.bundle, "model." + name), artifact, feeds,
                         {"y": ref[0]}, name)
            passed += 1
            continue
        # Emulated, also partitioned: the CUDA pipeline's kernels and GEMM
        # epilogues around the collectives.
        meshes = MESHES if args.target == "cuda-emulated" else ([],)
        for mesh in meshes:
            what = " ".join([name] + mesh)
            err, outs = compile_and_run(args.compile, args.run, model,
                                        os.path.join(d, name + ".tsr"), feeds, d, flags + mesh)
            if err:
                print("FAIL %s: %s" % (what, err))
                failed += 1
                continue
            got = outs["y"]
            err = float(np.max(np.abs(got - ref[0])))
            ok = got.shape == ref[0].shape and np.allclose(got, ref[0], rtol=1e-3, atol=1e-5)
            print("%s %s: max abs error vs ONNX Runtime %.3g" % ("ok  " if ok else "FAIL", what,
                                                                  err))
            passed += ok
            failed += not ok
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
