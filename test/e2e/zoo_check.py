#!/usr/bin/env python3
"""The model-zoo tier: each zoo_models.py export compiled by tessera-compile,
run by tessera-run on one device and compared with ONNX Runtime (rtol 1e-3,
atol 1e-4); then, for the meshes a model lists, compiled with --mesh and
compared with one device (rtol 1e-4) and ONNX Runtime.

    zoo_check.py --compile tessera-compile --run tessera-run --work DIR
                 [--only NAME[,NAME]] [--cache DIR] [--no-mesh]
                 [--mesh-models NAME[,NAME]]

Prints one line per model and mesh: compile seconds, run seconds, the
largest differences; exits 1 when any fails. Exports are cached
(zoo_models.py), so a second run only compiles and runs. An artifact and
its outputs are deleted once they pass (the zoo's artifacts hold a model's
weights, 16 GB in all); a failing one stays in WORK to be rerun by hand.
"""
import argparse
import os
import shutil
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zoo_models  # noqa: E402
from tessera_tools import run_artifact  # noqa: E402

RTOL, ATOL = 1e-3, 1e-4
TIMEOUT = 900


def compile_timed(tool, model, artifact, flags=()):
    start = time.time()
    try:
        c = subprocess.run([tool, model, "-o", artifact, "--quiet"] + list(flags),
                           capture_output=True, text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return "tessera-compile: did not finish in %d s" % TIMEOUT, time.time() - start
    err = "" if c.returncode == 0 else "tessera-compile: " + c.stderr.strip()
    return err, time.time() - start


def discard(ok, *paths):
    """Deletes PATHS (an artifact and its output folder) once their check
    passed; a failure keeps them and says where."""
    if ok:
        for p in paths:
            if os.path.isdir(p):
                shutil.rmtree(p, ignore_errors=True)
            elif os.path.exists(p):
                os.remove(p)
    elif os.path.exists(paths[0]):
        print("     kept for a rerun: %s" % paths[0])


def load(d):
    import json
    with open(os.path.join(d, "meta.json")) as f:
        meta = json.load(f)
    feeds = {k: np.load(os.path.join(d, "in.%s.npy" % k)) for k in meta["inputs"]}
    return meta, feeds, np.load(os.path.join(d, "ort.y.npy"))


def shape_flags(feeds):
    """--input-shape per input: the exported shapes (a dynamic batch
    dimension needs them; a static one agrees)."""
    return ["--input-shape=%s:%s" % (k, "x".join(str(n) for n in a.shape))
            for k, a in feeds.items()]


def check_mesh(args, label, d, feeds, one, ref, mesh, work):
    """LABEL's model compiled for MESH, run on the local communicator,
    against one device (rtol 1e-4, atol 1e-5) and ONNX Runtime."""
    artifact = os.path.join(work, "mesh-%s.tsr" % mesh.replace(",", "-"))
    outdir = os.path.join(work, "out-" + mesh.replace(",", "-"))
    err, csec = compile_timed(args.compile, os.path.join(d, "model.onnx"), artifact,
                              ["--mesh=" + mesh] + shape_flags(feeds))
    if not err:
        info = subprocess.run([args.run, artifact, "--info"], capture_output=True,
                              text=True).stdout
        per_device = [l.strip() for l in info.splitlines() if "per device" in l]
        start = time.time()
        err, outs = run_artifact(args.run, artifact, feeds, outdir)
        rsec = time.time() - start
    if err:
        print("FAIL %s --mesh=%s: %s" % (label, mesh, err.splitlines()[0]))
        discard(False, artifact, outdir)
        sys.stdout.flush()
        return False
    got = outs["y"].astype(np.float64)
    ok = (got.shape == one.shape and np.allclose(got, one, rtol=1e-4, atol=1e-5)
          and np.allclose(got, ref, rtol=RTOL, atol=ATOL))
    print("%s %s --mesh=%s: compile %.1f s, run %.2f s, max abs difference from one "
          "device %.3g, from ONNX Runtime %.3g; %s" %
          ("ok  " if ok else "FAIL", label, mesh, csec, rsec,
           float(np.max(np.abs(got - one))), float(np.max(np.abs(got - ref))),
           per_device[0] if per_device else ""))
    discard(ok, artifact, outdir)
    sys.stdout.flush()
    return ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--compile", required=True)
    ap.add_argument("--run", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--cache")
    ap.add_argument("--only")
    ap.add_argument("--no-mesh", action="store_true", help="one device only")
    ap.add_argument("--mesh-models", help="the models (comma-separated) whose meshes "
                    "run; default all")
    args = ap.parse_args()
    only = set(args.only.split(",")) if args.only else None
    mesh_models = set(args.mesh_models.split(",")) if args.mesh_models else None
    passed = failed = 0
    for name, exporter, meshes in zoo_models.entries(only):
        label = "%s.%s" % (name, exporter)
        try:
            d = zoo_models.ensure(name, exporter, args.cache)
        except Exception as e:  # an exporter failure is the zoo's, say so
            print("FAIL %s: export failed: %s" % (label, str(e).splitlines()[0]))
            failed += 1
            continue
        meta, feeds, ref = load(d)
        work = os.path.join(args.work, label)
        shutil.rmtree(work, ignore_errors=True)  # an earlier run's failures
        os.makedirs(work)
        artifact = os.path.join(work, "single.tsr")
        outdir = os.path.join(work, "single")
        err, csec = compile_timed(args.compile, os.path.join(d, "model.onnx"), artifact,
                                  shape_flags(feeds))
        if err:
            print("FAIL %s (opset %d): %s" % (label, meta["opset"], err.splitlines()[0]))
            discard(False, artifact)
            failed += 1
            sys.stdout.flush()
            continue
        start = time.time()
        err, outs = run_artifact(args.run, artifact, feeds, outdir)
        rsec = time.time() - start
        if err:
            print("FAIL %s (opset %d): %s" % (label, meta["opset"], err.splitlines()[0]))
            discard(False, artifact, outdir)
            failed += 1
            sys.stdout.flush()
            continue
        got = outs["y"]
        ok = got.shape == ref.shape and np.allclose(got, ref, rtol=RTOL, atol=ATOL)
        if np.max(np.abs(ref)) < 1e-2:  # a tolerance would check nothing
            print("FAIL %s: ONNX Runtime's output is degenerate (max |y| %.3g)" %
                  (label, float(np.max(np.abs(ref)))))
            ok = False
        diff = float(np.max(np.abs(got.astype(np.float64) - ref))) if got.shape == ref.shape \
            else float("nan")
        print("%s %s (opset %d, %.1fM parameters): compile %.1f s, run %.2f s, "
              "max abs difference from ONNX Runtime %.3g%s" %
              ("ok  " if ok else "FAIL", label, meta["opset"], meta["parameters"] / 1e6,
               csec, rsec, diff, "" if got.shape == ref.shape else
               " (shape %s, want %s)" % (got.shape, ref.shape)))
        discard(ok, artifact, outdir)
        sys.stdout.flush()
        passed += ok
        failed += not ok
        if not ok or args.no_mesh or (mesh_models is not None and name not in mesh_models):
            continue
        one = got.astype(np.float64)
        for mesh in meshes:
            ok = check_mesh(args, label, d, feeds, one, ref, mesh, work)
            passed += ok
            failed += not ok
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
