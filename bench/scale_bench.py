#!/usr/bin/env python3
"""Compile time and memory at real sizes (issue 12's scale targets).

    scale_bench.py --compile tessera-compile --run tessera-run
                   [--zoo DIR] [--cache DIR] [--skip-xl] [--check-xl]

Measures, one process at a time on one core (`taskset -c 0`):
  * tessera-compile of the model zoo's GPT-2 small and ViT-B/16 exports
    (test/e2e/zoo_models.py; exported first if not cached): seconds and
    peak RSS;
  * a synthetic GPT-2 XL-shaped model (bench/synthetic_gpt2.py: 48 layers,
    hidden 1600, 25 heads, 1.56B parameters, 6.2 GB of f32 as external
    data; written once to CACHE/gpt2-xl): tessera-compile for one device
    and for --mesh=tp=4, seconds and peak RSS against the weight bytes;
  * the tp=4 artifact run by 4 MPI ranks (`mpirun -np 4 tessera-run
    --comm=mpi --memory`): each rank's resident memory and the artifact's
    resident pages, against the whole weights; with --check-xl its logits
    against ONNX Runtime.

Prints a table; numbers are this machine's, in one run.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "test", "e2e"))


def timed(cmd, one_core=True):
    """Runs `cmd` under GNU time (on core 0 when asked): (seconds, peak RSS
    bytes, completed process)."""
    wrap = ["/usr/bin/time", "-f", "%e %M"]
    if one_core and shutil.which("taskset"):
        wrap = ["taskset", "-c", "0"] + wrap
    start = time.time()
    p = subprocess.run(wrap + cmd, capture_output=True, text=True)
    seconds = time.time() - start
    last = p.stderr.strip().splitlines()[-1] if p.stderr.strip() else ""
    m = re.match(r"([\d.]+) (\d+)$", last)
    rss = int(m.group(2)) * 1024 if m else -1
    if m:
        seconds = float(m.group(1))
    return seconds, rss, p


def gib(b):
    return "%.2f GiB" % (b / 2**30)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--compile", required=True)
    ap.add_argument("--run", required=True)
    ap.add_argument("--cache", default=os.path.join(os.path.expanduser("~"), ".cache",
                                                    "tessera", "bench"))
    ap.add_argument("--zoo", help="the model zoo cache (zoo_models.py's default)")
    ap.add_argument("--skip-xl", action="store_true")
    ap.add_argument("--check-xl", action="store_true",
                    help="compare the tp=4 run's logits with ONNX Runtime (needs ~8 GB)")
    args = ap.parse_args()
    rows = []
    work = tempfile.mkdtemp(prefix="tessera-scale-")
    try:
        import zoo_models
        for name in ("gpt2", "vit_b16"):
            d = zoo_models.ensure(name, "ts", args.zoo)
            s, rss, p = timed([args.compile, os.path.join(d, "model.onnx"), "-o",
                               os.path.join(work, name + ".tsr"), "--quiet"])
            weights = os.path.getsize(os.path.join(d, "model.onnx"))
            rows.append(("%s (zoo, TorchScript export)" % name, "one device",
                         "%.1f s" % s, gib(rss), "%.2fx" % (rss / weights),
                         "" if p.returncode == 0 else p.stderr.strip().splitlines()[-2]))
        if not args.skip_xl:
            xl = os.path.join(args.cache, "gpt2-xl")
            model = os.path.join(xl, "model.onnx")
            if not os.path.exists(model):
                print("writing the synthetic GPT-2 XL model to %s (6.2 GB) ..." % xl, flush=True)
                subprocess.run([sys.executable, os.path.join(HERE, "synthetic_gpt2.py"), xl,
                                "--preset", "xl"], check=True)
            weights = os.path.getsize(os.path.join(xl, "weights.bin"))
            for mesh in ("", "tp=4"):
                out = os.path.join(work, "xl-%s.tsr" % (mesh or "one"))
                flags = ["--input-shape=input_ids:1x32"] + (["--mesh=" + mesh] if mesh else [])
                s, rss, p = timed([args.compile, model, "-o", out, "--quiet"] + flags)
                if p.returncode:
                    print(p.stderr)
                rows.append(("GPT-2 XL-shaped, 1.56B, external data", mesh or "one device",
                             "%.1f s" % s, gib(rss), "%.2fx" % (rss / weights), ""))
                if mesh == "tp=4" and p.returncode == 0:
                    info = subprocess.run([args.run, out, "--info"], capture_output=True,
                                          text=True).stdout
                    m = re.search(r"(\d+) bytes of weights per device", info)
                    per = int(m.group(1)) if m else -1
                    rows.append(("  tp=4 manifest", "per device", "", gib(per),
                                 "%.1f%% of the weights" % (100.0 * per / weights), ""))
                    import numpy as np
                    ids = np.random.default_rng(0).integers(0, 50257, (1, 32)).astype(np.int64)
                    np.save(os.path.join(work, "ids.npy"), ids)
                    mpi = ["mpirun", "--oversubscribe", "-np", "4"]
                    if os.geteuid() == 0:
                        mpi.insert(1, "--allow-run-as-root")
                    r = subprocess.run(mpi + [args.run, out, "--comm=mpi", "--memory",
                                              "--input", "input_ids=" + os.path.join(work, "ids.npy"),
                                              "--output-dir", os.path.join(work, "out")],
                                       capture_output=True, text=True)
                    for line in r.stderr.splitlines():
                        m = re.search(r"process (\d+): resident ([\d.]+) (GiB|MiB), of which "
                                      r"weights ([\d.]+) (GiB|MiB)", line)
                        if m:
                            scale = {"GiB": 2**30, "MiB": 2**20}
                            res = float(m.group(2)) * scale[m.group(3)]
                            pages = float(m.group(4)) * scale[m.group(5)]
                            rows.append(("  tp=4 rank %s (MPI)" % m.group(1), "resident",
                                         "", gib(res), "weights resident %.1f%% of the model's"
                                         % (100.0 * pages / weights), ""))
                    if r.returncode:
                        rows.append(("  tp=4 run", "FAILED", "", "", "",
                                     r.stderr.strip().splitlines()[-1]))
                    elif args.check_xl:
                        import onnxruntime as ort
                        ref = ort.InferenceSession(model).run(None, {"input_ids": ids})[0]
                        got = np.load(os.path.join(work, "out", "logits.npy"))
                        diff = float(np.max(np.abs(got - ref)))
                        rows.append(("  tp=4 logits vs ONNX Runtime", "max abs diff", "",
                                     "%.3g" % diff, "max |logit| %.3g" % float(np.max(np.abs(ref))),
                                     "ok" if np.allclose(got, ref, rtol=1e-3, atol=1e-3) else "FAIL"))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("%-40s %-12s %9s %11s %s" % ("model", "what", "time", "memory", "ratio"))
    for r in rows:
        print("%-40s %-12s %9s %11s %s %s" % r)


if __name__ == "__main__":
    main()
