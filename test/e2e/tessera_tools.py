"""Running tessera-compile and tessera-run from the e2e checkers, and the
sample models they share.

The tool wrappers return an error text (empty on success): the tool's
one-line message.
"""
import os
import subprocess
import sys

import numpy as np

SKIP = 77  # ctest's SKIP_RETURN_CODE for the gpu tier


def cuda_device():
    """"" when this machine has a CUDA device the driver can open, else why
    not (the gpu tier's tests then print SKIPPED and exit SKIP)."""
    import ctypes
    try:
        cuda = ctypes.CDLL("libcuda.so.1")
    except OSError as e:
        return "libcuda.so.1 not found (%s)" % e
    if cuda.cuInit(0) != 0:
        return "cuInit failed (no usable GPU)"
    n = ctypes.c_int(0)
    if cuda.cuDeviceGetCount(ctypes.byref(n)) != 0 or n.value == 0:
        return "no CUDA device"
    return ""


def skip_without_cuda():
    """Exits with SKIP, saying why, when there is no CUDA device."""
    why = cuda_device()
    if why:
        print("SKIPPED: no CUDA device: %s" % why)
        sys.exit(SKIP)


def write_bundle(dest, artifact, inputs, expected, label, tolerance=None):
    """Stores a compiled test for another machine (node_tests.py
    --from-bundle runs it): DEST/m.tsr, in.NAME.npy per input, want.NAME.npy
    per expected output ({name: array} both), `label` (what the table
    counts it under) in DEST/ops, and `tolerance` ((rtol, atol); default
    node_tests.py's) in DEST/tolerance."""
    import shutil
    os.makedirs(dest, exist_ok=True)
    shutil.copy(artifact, os.path.join(dest, "m.tsr"))
    for name, a in inputs.items():
        np.save(os.path.join(dest, "in.%s.npy" % name), a)
    for name, a in expected.items():
        np.save(os.path.join(dest, "want.%s.npy" % name), a)
    with open(os.path.join(dest, "ops"), "w") as f:
        f.write(label)
    if tolerance is not None:
        with open(os.path.join(dest, "tolerance"), "w") as f:
            f.write("%r %r\n" % tuple(tolerance))


MODELS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                      "examples", "models")


def sample_model(work, name, gen, inputs, rng):
    """Writes examples/models/GEN as WORK/NAME/NAME.onnx and draws its
    inputs ({name: (shape, kind)}, kind "normal", "mask", "ids:N" (int64
    token ids below N) or "signed-ids:N" (in [-N, N): negative ones count
    from the end, as ONNX's Gather allows) from `rng`.
    Returns (directory, model path, feeds, --input-shape flags, ONNX
    Runtime's outputs for the feeds)."""
    import onnxruntime as ort
    d = os.path.join(work, name)
    os.makedirs(d, exist_ok=True)
    model = os.path.join(d, name + ".onnx")
    # GEN may carry the generator's size options ("gpt2_block.py --heads 5").
    script, *options = gen.split()
    subprocess.run([sys.executable, os.path.join(MODELS, script), model] + options, check=True)
    feeds, flags = {}, []
    for n, (shape, kind) in inputs.items():
        if kind.startswith("ids:"):
            feeds[n] = rng.integers(0, int(kind[4:]), shape).astype(np.int64)
        elif kind.startswith("signed-ids:"):
            size = int(kind[len("signed-ids:"):])
            feeds[n] = rng.integers(-size, size, shape).astype(np.int64)
        else:
            a = rng.standard_normal(shape) if kind == "normal" else rng.random(shape) > 0.25
            feeds[n] = a.astype(np.float32)
        flags.append("--input-shape=%s:%s" % (n, "x".join(map(str, shape))))
    ref = ort.InferenceSession(model, providers=["CPUExecutionProvider"]).run(None, feeds)
    return d, model, feeds, flags, ref


def compile_model(tool, model, artifact, flags=()):
    """tessera-compile MODEL -o ARTIFACT --quiet FLAGS."""
    c = subprocess.run([tool, model, "-o", artifact, "--quiet"] + list(flags),
                       capture_output=True, text=True)
    return "" if c.returncode == 0 else "tessera-compile: " + c.stderr.strip()


def run_artifact(tool, artifact, feeds, work, flags=(), launcher=()):
    """Saves `feeds` ({name: array}) as WORK/NAME.npy, runs the artifact
    with its outputs written to WORK; returns (error, {output: array}).
    `launcher` goes before the tool (mpirun -np N ...)."""
    os.makedirs(work, exist_ok=True)
    inputs = []
    for name, a in feeds.items():
        path = os.path.join(work, name + ".npy")
        np.save(path, a)
        inputs.append("--input=%s=%s" % (name, path))
    r = subprocess.run(list(launcher) + [tool, artifact, "--output-dir", work] + inputs +
                       list(flags), capture_output=True, text=True)
    if r.returncode != 0:
        return "tessera-run: " + r.stderr.strip(), {}
    info = subprocess.run([tool, artifact, "--info"], capture_output=True, text=True).stdout
    names = [l.split()[1] for l in info.splitlines() if l.strip().startswith("output ")]
    return "", {n: np.load(os.path.join(work, n + ".npy")) for n in names}


def compile_and_run(compile_tool, run_tool, model, artifact, feeds, work, flags=()):
    """compile_model, then run_artifact: (error, {output: array})."""
    err = compile_model(compile_tool, model, artifact, flags)
    if err:
        return err, {}
    return run_artifact(run_tool, artifact, feeds, work)
