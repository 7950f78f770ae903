"""Running tessera-compile and tessera-run from the e2e checkers.

Each returns an error text (empty on success): the tool's one-line message.
"""
import os
import subprocess

import numpy as np


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
