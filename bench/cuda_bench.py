#!/usr/bin/env python3
"""Tessera's CUDA target against PyTorch eager on the same GPU, in one run.

Two steps, as the compiler and the GPU may be on different machines:

    bench/cuda_bench.py prepare DIR [--gpu-arch sm_90] [--build build]
        writes the models (examples/models, larger sizes)
        to DIR and compiles each with tessera-compile --target=cuda;
    bench/cuda_bench.py run DIR [--tessera-run PATH] [--repeat 100]
        on the GPU machine: times each artifact with tessera-run --repeat
        (median), and the same ONNX graph run node by node with PyTorch
        eager ops on the GPU (median, after warm-up), checks that the
        outputs agree, and prints the ratios. Also a device-to-device copy
        through PyTorch for the device's copy bandwidth. Cases with other
        kernel shapes (VARIANTS: NAME/scalar, the kernels without block
        reductions and vector accesses) are timed next to the default.

The PyTorch side is an eager interpreter of the ONNX graph (one torch op
per ONNX node, the way a PyTorch model of the same layers runs), so both
run exactly the same computation with the same weights.
"""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MODELS = os.path.join(ROOT, "examples", "models")

# name, generator, generator flags, inputs {name: shape}
CASES = [
    ("mlp", "mlp.py", ["--inputs", "512", "--hidden", "1024", "--classes", "512"],
     {"x": (256, 512)}),
    ("gpt2_block", "gpt2_block.py", ["--hidden", "768", "--heads", "12", "--seq", "128"],
     {"x": (8, 128, 768)}),
    ("matmul_4096", None, None, {"a": (4096, 4096), "b": (4096, 4096)}),
    ("elementwise", None, None, {"x": (64 * 1024 * 1024,)}),
]


# Other kernel shapes of a case (tessera-compile flags), each timed next to
# the default: "scalar" is a thread per point and per reduction row, no
# vector accesses (the kernels before block reductions and vector kernels).
SCALAR = ["--gpu-vector-width=1", "--gpu-cooperative-reductions=false"]
VARIANTS = {"gpt2_block": {"scalar": SCALAR}, "elementwise": {"scalar": SCALAR}}


def write_special(name, path):
    """The models made here: a square f32 MatMul of two inputs and a fused
    elementwise chain over 256 MiB (no large weights: the artifacts travel
    to the GPU machine)."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper
    if name == "matmul_4096":
        g = helper.make_graph(
            [helper.make_node("MatMul", ["a", "b"], ["y"])], name,
            [helper.make_tensor_value_info("a", TensorProto.FLOAT, [4096, 4096]),
             helper.make_tensor_value_info("b", TensorProto.FLOAT, [4096, 4096])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4096, 4096])])
    else:
        n = 64 * 1024 * 1024
        g = helper.make_graph(
            [helper.make_node("Mul", ["x", "s"], ["t"]),
             helper.make_node("Add", ["t", "b"], ["u"]),
             helper.make_node("Relu", ["u"], ["y"])], name,
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [n])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [n])],
            [numpy_helper.from_array(np.array([1.5], np.float32), "s"),
             numpy_helper.from_array(np.array([-0.25], np.float32), "b")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    import onnx
    onnx.save(m, path)


def write_model(name, gen, flags, model):
    """Writes the case's ONNX model (fixed seeds: the same bytes on every
    machine, so `run` rewrites it there instead of carrying it)."""
    if gen:
        subprocess.run([sys.executable, os.path.join(MODELS, gen), model] + flags, check=True)
    else:
        write_special(name, model)


def prepare(args):
    os.makedirs(args.dir, exist_ok=True)
    compiler = os.path.join(args.build, "bin", "tessera-compile")
    manifest = []
    for name, gen, flags, inputs in CASES:
        model = os.path.join(args.dir, name + ".onnx")
        write_model(name, gen, flags, model)
        shapes = []
        for n, shape in inputs.items():
            shapes.append("--input-shape=%s:%s" % (n, "x".join(map(str, shape))))
        t = time.time()
        subprocess.run([compiler, model, "-o", os.path.join(args.dir, name + ".tsr"),
                        "--target=cuda", "--gpu-arch=" + args.gpu_arch, "--quiet"] + shapes,
                       check=True)
        print("compiled %s for %s in %.1f s" % (name, args.gpu_arch, time.time() - t))
        manifest.append({"name": name, "inputs": {n: list(s) for n, s in inputs.items()}})
        # The same model with other kernel shapes, measured in the same run.
        for variant, flags in VARIANTS.get(name, {}).items():
            subprocess.run([compiler, model, "-o",
                            os.path.join(args.dir, "%s.%s.tsr" % (name, variant)),
                            "--target=cuda", "--gpu-arch=" + args.gpu_arch, "--quiet"] +
                           shapes + flags, check=True)
            manifest.append({"name": name, "variant": variant,
                             "inputs": {n: list(s) for n, s in inputs.items()}})
        os.remove(model)
    with open(os.path.join(args.dir, "cases.json"), "w") as f:
        json.dump(manifest, f)


def torch_graph(model_path, device):
    """A function running the ONNX graph with eager PyTorch ops."""
    import numpy as np
    import onnx
    import torch
    from onnx import numpy_helper
    m = onnx.load(model_path)
    consts = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()).to(device)
              for t in m.graph.initializer}
    nodes = list(m.graph.node)

    def attr(n, key, default=None):
        for a in n.attribute:
            if a.name == key:
                return onnx.helper.get_attribute_value(a)
        return default

    def run(feeds):
        env = dict(consts)
        env.update(feeds)
        for n in nodes:
            x = [env[i] if i else None for i in n.input]
            op = n.op_type
            if op == "MatMul":
                y = [torch.matmul(x[0], x[1])]
            elif op == "Gemm":
                a = x[0].t() if attr(n, "transA", 0) else x[0]
                b = x[1].t() if attr(n, "transB", 0) else x[1]
                y = [torch.addmm(x[2], a, b) if len(x) > 2 else a @ b]
            elif op in ("Add", "Sub", "Mul", "Div"):
                f = {"Add": torch.add, "Sub": torch.sub, "Mul": torch.mul, "Div": torch.div}[op]
                y = [f(x[0], x[1])]
            elif op == "Relu":
                y = [torch.relu(x[0])]
            elif op == "Erf":
                y = [torch.erf(x[0])]
            elif op == "LayerNormalization":
                y = [torch.nn.functional.layer_norm(x[0], x[0].shape[-1:], x[1], x[2],
                                                    attr(n, "epsilon", 1e-5))]
            elif op == "Softmax":
                y = [torch.softmax(x[0], attr(n, "axis", -1))]
            elif op == "Split":
                sizes = [int(s) for s in x[1].tolist()]
                y = list(torch.split(x[0], sizes, attr(n, "axis", 0)))
            elif op == "Reshape":
                shape = [int(s) for s in x[1].tolist()]
                shape = [x[0].shape[i] if s == 0 else s for i, s in enumerate(shape)]
                y = [x[0].reshape(shape)]
            elif op == "Transpose":
                y = [x[0].permute(*attr(n, "perm"))]
            elif op == "Trilu":
                y = [torch.triu(x[0]) if attr(n, "upper", 1) else torch.tril(x[0])]
            elif op == "Where":
                y = [torch.where(x[0], x[1], x[2])]
            else:
                raise SystemExit("cuda_bench: no PyTorch form for ONNX op " + op)
            for name, v in zip(n.output, y):
                env[name] = v
        return [env[o.name] for o in m.graph.output]
    return run


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]


def run(args):
    import numpy as np
    import torch
    dev = torch.device("cuda")
    torch.backends.cuda.matmul.allow_tf32 = False  # f32 as Tessera computes it
    print("device: %s, PyTorch %s" % (torch.cuda.get_device_name(0), torch.__version__))
    # Copy bandwidth: bytes read plus written by a device-to-device copy.
    src = torch.empty(256 * 1024 * 1024, dtype=torch.float32, device=dev)
    dst = torch.empty_like(src)
    for _ in range(3):
        dst.copy_(src)
    torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(20):
        dst.copy_(src)
    torch.cuda.synchronize()
    copy_gbs = 2 * src.numel() * 4 * 20 / (time.perf_counter() - t) / 1e9
    print("copy bandwidth (PyTorch device-to-device, read+write): %.0f GB/s" % copy_gbs)
    del src, dst
    with open(os.path.join(args.dir, "cases.json")) as f:
        cases = json.load(f)
    print("end to end: inputs from the host, outputs back (tessera-run's latency);")
    print("device: the GPU time of the computation alone (CUDA events on the stream)")
    print("%-18s %10s %10s %7s   %10s %10s %7s %11s" % (
        "model", "Tessera", "PyTorch", "ratio", "Tessera", "PyTorch", "ratio", "max |diff|"))
    print("%-18s %29s   %29s" % ("", "end to end, ms", "device, ms"))
    for case in cases:
        name = case["name"]
        variant = case.get("variant")
        label = name + ("/" + variant if variant else "")
        artifact = name + ("." + variant if variant else "") + ".tsr"
        if not os.path.exists(os.path.join(args.dir, artifact)):
            # A device run carries at most 64 MiB: the GPT-2 artifacts
            # (28 MB each) may come in separate runs.
            print("%-18s not here (%s was not carried)" % (label, artifact))
            continue
        for n, gen, flags, _ in CASES:
            if n == name:
                write_model(n, gen, flags, os.path.join(args.dir, name + ".onnx"))
        # Inputs are drawn here (they are large; only artifacts travel).
        rng = np.random.default_rng(2026)
        feeds_np = {n: rng.standard_normal(shape, dtype=np.float32)
                    for n, shape in case["inputs"].items()}
        for n, a in feeds_np.items():
            np.save(os.path.join(args.dir, "%s.%s.npy" % (name, n)), a)
        out = os.path.join(args.dir, "out-" + name)
        os.makedirs(out, exist_ok=True)
        cmd = [args.tessera_run, os.path.join(args.dir, artifact), "--output-dir", out,
               "--repeat", str(args.repeat)] + \
              ["--input=%s=%s" % (n, os.path.join(args.dir, "%s.%s.npy" % (name, n)))
               for n in case["inputs"]]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            print("%-18s tessera-run failed: %s" % (label, r.stderr.strip()))
            continue
        line = [l for l in r.stdout.splitlines() if l.startswith("latency")][0]
        tessera_ms = float(line.split("median ")[1].split(" ms")[0])
        line = [l for l in r.stdout.splitlines() if l.startswith("device time")][0]
        tessera_dev = float(line.split("median ")[1].split(" ms")[0])
        f = torch_graph(os.path.join(args.dir, name + ".onnx"), dev)
        # As tessera-run times a run: inputs from the host, outputs back.
        def step():
            feeds = {n: torch.from_numpy(a).to(dev) for n, a in feeds_np.items()}
            return [o.cpu() for o in f(feeds)]
        with torch.no_grad():
            for _ in range(3):
                want = step()
            times = []
            for _ in range(args.repeat):
                torch.cuda.synchronize()
                t = time.perf_counter()
                step()
                times.append((time.perf_counter() - t) * 1e3)
            # Device time: inputs already on the GPU, CUDA events around.
            feeds = {n: torch.from_numpy(a).to(dev) for n, a in feeds_np.items()}
            start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            dev_times = []
            for _ in range(args.repeat):
                start.record()
                f(feeds)
                stop.record()
                stop.synchronize()
                dev_times.append(start.elapsed_time(stop))
        got = np.load(os.path.join(out, "y.npy"))
        diff = float(np.max(np.abs(got - want[0].numpy())))
        torch_ms, torch_dev = median(times), median(dev_times)
        print("%-18s %10.3f %10.3f %7.2f   %10.3f %10.3f %7.2f %11.3g" % (
            label, tessera_ms, torch_ms, tessera_ms / torch_ms,
            tessera_dev, torch_dev, tessera_dev / torch_dev, diff))
        if name == "elementwise":
            n = feeds_np["x"].size
            print("  %s: Tessera %.0f GB/s (read+write), %.0f%% of the copy bandwidth"
                  % (label, 2 * n * 4 / tessera_dev / 1e6,
                     100 * 2 * n * 4 / tessera_dev / 1e6 / copy_gbs))
        if name == "matmul_4096":
            flops = 2 * 4096 ** 3
            print("  matmul f32: Tessera %.1f TFLOP/s, PyTorch (cuBLAS) %.1f TFLOP/s"
                  % (flops / tessera_dev / 1e9, flops / torch_dev / 1e9))
        sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="step", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("dir")
    p.add_argument("--gpu-arch", default="sm_90")
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    r = sub.add_parser("run")
    r.add_argument("dir")
    r.add_argument("--tessera-run", default=os.path.join(ROOT, "build", "bin", "tessera-run"))
    r.add_argument("--repeat", type=int, default=50)
    args = ap.parse_args()
    prepare(args) if args.step == "prepare" else run(args)


if __name__ == "__main__":
    main()
