#!/usr/bin/env python3
"""CPU latency at real sizes: the model zoo's models (test/e2e/zoo_models.py:
Hugging Face and torchvision models with random weights, exported by
torch's TorchScript exporter) at inference shapes, Tessera against ONNX
Runtime (and OpenVINO's CPU plugin and IREE's llvm-cpu backend when their
wheels are installed), side by side in one run, at the same thread
count.

    zoo_bench.py --compile tessera-compile --run tessera-run
                 [--threads 1,2] [--repeat 10] [--rounds 3] [--only NAME,...]
                 [--cache DIR] [--markdown FILE]

Each model is exported once per shape to CACHE (default
~/.cache/tessera/bench/zoo), compiled by tessera-compile, run by
tessera-run --repeat (median latency) and by ONNX Runtime
(intra_op_num_threads = threads, median of the same number of runs); the
outputs are compared too. The peers take turns for --rounds rounds (the
machines these run on change speed within minutes: a ratio is only
meaningful between runs close in time): each latency reported is the
median of its rounds' medians, each ratio the median of the rounds'
ratios. Prints a table of those and the ratios' geometric mean per thread
count (Tessera / ORT: below 1 is faster).
"""
import argparse
import math
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "test", "e2e"))

# label: (zoo model, {input: (shape, kind)})
CASES = [
    ("BERT-base b1 s128", "bert", {"input_ids": ((1, 128), "ids:30522"),
                                   "attention_mask": ((1, 128), "mask")}),
    ("BERT-base b8 s128", "bert", {"input_ids": ((8, 128), "ids:30522"),
                                   "attention_mask": ((8, 128), "mask")}),
    ("GPT-2 small 1x128", "gpt2", {"input_ids": ((1, 128), "ids:50257")}),
    ("Llama-style 1x128", "llama", {"input_ids": ((1, 128), "ids:32000")}),
    ("ViT-B/16 b1", "vit_b16", {"pixel_values": ((1, 3, 224, 224), "normal")}),
    ("ResNet-50 b1", "resnet50", {"x": ((1, 3, 224, 224), "normal")}),
    ("ResNet-50 b8", "resnet50", {"x": ((8, 3, 224, 224), "normal")}),
    ("MobileNetV2 b1", "mobilenet_v2", {"x": ((1, 3, 224, 224), "normal")}),
]


def export(cache, label, name, shapes):
    import zoo_models
    tag = label.replace(" ", "_").replace("/", "")
    d = os.path.join(cache, zoo_models.cache_key(), tag)
    if not os.path.exists(os.path.join(d, "meta.json")):
        os.makedirs(d, exist_ok=True)
        print("exporting %s ..." % label, flush=True)
        zoo_models._export(name, "ts", d, shapes)
    import json
    with open(os.path.join(d, "meta.json")) as f:
        meta = json.load(f)
    feeds = {k: np.load(os.path.join(d, "in.%s.npy" % k)) for k in meta["inputs"]}
    return os.path.join(d, "model.onnx"), feeds


def compile_model(args, model, work):
    artifact = os.path.join(work, "m.tsr")
    start = time.time()
    subprocess.run([args.compile, model, "-o", artifact, "--quiet"], check=True)
    return artifact, time.time() - start


def max_diff(got, ref):
    """The largest absolute difference, NaN where the shapes differ."""
    if got.shape != ref.shape:
        return float("nan")
    return float(np.max(np.abs(got.astype(np.float64) - ref)))


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2] if len(xs) % 2 else (xs[len(xs) // 2 - 1] + xs[len(xs) // 2]) / 2


def tessera(args, artifact, feeds, threads, work):
    inputs = []
    for k, a in feeds.items():
        p = os.path.join(work, "in.%s.npy" % k)
        np.save(p, a)
        inputs.append("--input=%s=%s" % (k, p))
    out = os.path.join(work, "out")
    r = subprocess.run([args.run, artifact, "--output-dir", out, "--repeat=%d" % args.repeat,
                        "--threads=%d" % threads] + inputs, check=True, capture_output=True,
                       text=True).stdout
    ms = float(r.split("median ")[1].split(" ms")[0])
    y = np.load(os.path.join(out, sorted(os.listdir(out))[0]))
    return ms, y


# ONNX Runtime's intra-op threads spin for a while after each run (its
# default, kept), and the session lives across the rounds: Tessera's turn
# right after ORT's shared the two cores with them. On 2 threads ResNet-50's
# stem (20 runs) took a median 3.2 ms right after ORT's turn against 1.6 ms
# after a 1 s pause (0.1 s: 1.7). Each peer's turn starts after this pause.
PAUSE_S = 0.5


def timed(run, repeat):
    """The median of `repeat` timed calls of run(), in ms."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        run()
        times.append((time.perf_counter() - t) * 1e3)
    return median(times)


def onnxruntime(model, feeds, threads):
    """ONNX Runtime's session: (its output, a function timing `repeat`
    runs)."""
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
    y = sess.run(None, feeds)[0]
    return y, lambda repeat: timed(lambda: sess.run(None, feeds), repeat)


def openvino(model, feeds, threads):
    """OpenVINO's CPU plugin, when the `openvino` wheel is installed (not
    by install-deps.sh: `build/venv/bin/pip install openvino`): a function
    timing `repeat` runs; None otherwise."""
    try:
        import openvino as ov
    except ImportError:
        return None
    core = ov.Core()
    compiled = core.compile_model(model, "CPU", {"INFERENCE_NUM_THREADS": threads,
                                                "PERFORMANCE_HINT": "LATENCY",
                                                # f32 like the others (it picks bf16
                                                # on CPUs with AVX512-BF16).
                                                "INFERENCE_PRECISION_HINT": "f32"})
    request = compiled.create_infer_request()
    request.infer(feeds)
    return lambda repeat: timed(lambda: request.infer(feeds), repeat)


def iree(model, feeds, work):
    """IREE's llvm-cpu backend, when the `iree-base-compiler` and
    `iree-base-runtime` wheels are installed (not by install-deps.sh:
    `build/venv/bin/pip install iree-base-compiler iree-base-runtime`): the
    model imported by iree-import-onnx and compiled for this CPU
    (`--iree-llvmcpu-target-cpu=host`, IREE's defaults otherwise; cached
    beside the model per IREE version), then a function timing `repeat`
    runs at a thread count, each in a process of its own (the runtime
    reads its thread count, `--task_topology_max_group_count`, from flags
    when its device is made). None when not installed or when the model
    does not import or compile (printed)."""
    try:
        import importlib.metadata
        import iree.compiler as ireec
        import iree.runtime  # noqa: F401
    except ImportError:
        return None
    version = importlib.metadata.version("iree-base-compiler")
    vmfb = os.path.join(os.path.dirname(model), "iree-%s.vmfb" % version)
    if not os.path.exists(vmfb):
        mlir = os.path.join(work, "iree.mlir")
        try:
            subprocess.run([sys.executable, "-m", "iree.compiler.tools.import_onnx", model,
                            "-o", mlir], check=True, capture_output=True, text=True)
            ireec.compile_file(mlir, target_backends=["llvm-cpu"], output_file=vmfb + ".tmp",
                               extra_args=["--iree-llvmcpu-target-cpu=host"])
        except (subprocess.CalledProcessError, ireec.CompilerToolError) as e:
            err = getattr(e, "stderr", None) or str(e)
            print("IREE: %s does not compile: %s" % (model, err.strip().splitlines()[-1][:200]))
            return None
        finally:
            if os.path.exists(mlir):
                os.remove(mlir)
        os.replace(vmfb + ".tmp", vmfb)
    inputs = os.path.join(work, "iree-inputs.npz")
    np.savez(inputs, *feeds.values())

    output = os.path.join(work, "iree-y.npy")

    def run(threads, repeat):
        """(median ms, its first output)."""
        r = subprocess.run([sys.executable, os.path.abspath(__file__), "--iree-worker", vmfb,
                            inputs, str(threads), str(repeat), output],
                           check=True, capture_output=True, text=True)
        return float(r.stdout.split()[-1]), np.load(output)
    return run


def iree_worker(vmfb, inputs, threads, repeat, output):
    """Runs in its own process: saves the first output to `output`, prints
    the median of `repeat` runs in ms."""
    import iree.runtime as rt
    rt.flags.parse_flags("--task_topology_max_group_count=%d" % threads)
    ctx = rt.SystemContext(config=rt.Config(device=rt.get_device("local-task", cache=False)))
    with open(vmfb, "rb") as f:
        module = rt.VmModule.copy_buffer(ctx.instance, f.read())
    ctx.add_vm_module(module)
    name = next(n for n in module.function_names if not n.endswith("$async") and n != "__init")
    fn = ctx.modules[module.name][name]
    with np.load(inputs) as z:
        xs = [z["arr_%d" % i] for i in range(len(z.files))]
    y = fn(*xs)
    np.save(output, np.asarray((y[0] if isinstance(y, (list, tuple)) else y).to_host()))
    print(timed(lambda: fn(*xs), repeat))


def main():
    if len(sys.argv) == 7 and sys.argv[1] == "--iree-worker":
        return iree_worker(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]),
                           sys.argv[6])
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--compile", required=True)
    ap.add_argument("--run", required=True)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3,
                    help="turns each peer takes (medians and ratios over them)")
    ap.add_argument("--only", help="comma-separated labels' first words or zoo names")
    ap.add_argument("--cache", default=os.path.join(os.path.expanduser("~"), ".cache", "tessera",
                                                    "bench", "zoo"))
    ap.add_argument("--markdown", help="also write the table here, as Markdown")
    args = ap.parse_args()
    only = set(args.only.split(",")) if args.only else None
    rows = []
    work = tempfile.mkdtemp(prefix="tessera-zoo-bench-")
    for label, name, shapes in CASES:
        if only and name not in only and label.split()[0] not in only:
            continue
        model, feeds = export(args.cache, label, name, shapes)
        artifact, compile_s = compile_model(args, model, work)
        iree_time = iree(model, feeds, work)
        for t in [int(x) for x in args.threads.split(",")]:
            ref, ort_time = onnxruntime(model, feeds, t)
            ov_time = openvino(model, feeds, t)
            mine, theirs, ovs, irees = [], [], [], []
            for _ in range(max(1, args.rounds)):
                time.sleep(PAUSE_S)
                ms, got = tessera(args, artifact, feeds, t, work)
                mine.append(ms)
                time.sleep(PAUSE_S)
                theirs.append(ort_time(args.repeat))
                if ov_time:
                    time.sleep(PAUSE_S)
                    ovs.append(ov_time(args.repeat))
                if iree_time:
                    time.sleep(PAUSE_S)
                    ms, iree_y = iree_time(t, args.repeat)
                    irees.append(ms)
            diff = max_diff(got, ref)
            ratio = median([a / b for a, b in zip(mine, theirs)])
            # Per peer: its median latency and the median of the rounds'
            # Tessera / peer ratios (None where it did not run).
            peers = [(median(xs), median([a / b for a, b in zip(mine, xs)])) if xs else
                     (None, None) for xs in (ovs, irees)]
            rows.append((label, t, median(mine), median(theirs), ratio, compile_s, diff, peers))
            print("%-20s %d thread(s): Tessera %9.2f ms  ORT %9.2f ms  ratio %5.2f  "
                  "(compile %.1f s, max abs diff %.2g)" % rows[-1][:7] +
                  "".join("  %s %9.2f ms" % (peer, ms) for peer, (ms, _) in
                          zip(("OpenVINO", "IREE"), peers) if ms) +
                  ("  (IREE's max abs diff from ORT %.2g)" % max_diff(iree_y, ref)
                   if irees else ""), flush=True)
    print()
    # A column per peer that ran at all; "-" where it did not (a model
    # IREE does not compile), its geometric mean over the rows it ran.
    shown = [(i, peer) for i, peer in enumerate(("OpenVINO", "IREE"))
             if any(r[7][i][0] for r in rows)]
    cells = lambda pair: " %.2f | %.2f |" % pair if pair[0] else " - | - |"
    lines = ["| model | threads | Tessera ms | ONNX Runtime ms | ratio |" +
             "".join(" %s ms | Tessera / %s |" % (peer, peer) for _, peer in shown),
             "| --- | ---: | ---: | ---: | ---: |" + " ---: | ---: |" * len(shown)]
    for label, t, ms, ort_ms, ratio, _, _, peers in rows:
        lines.append("| %s | %d | %.2f | %.2f | %.2f |" % (label, t, ms, ort_ms, ratio) +
                     "".join(cells(peers[i]) for i, _ in shown))
    for t in sorted({r[1] for r in rows}):
        geo = lambda xs: math.exp(sum(math.log(x) for x in xs) / len(xs))
        line = "| geometric mean | %d | | | %.2f |" % (t, geo([r[4] for r in rows if r[1] == t]))
        for i, _ in shown:
            line += " | %.2f |" % geo([r[7][i][1] for r in rows if r[1] == t and r[7][i][1]])
        lines.append(line)
    print("\n".join(lines))
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
