#!/usr/bin/env python3
"""The MPI tier: `mpirun -np N tessera-run --comm=mpi`, one process per
device.

* The four sample models (parallel_check.py's cases; the MLP on dp=2,
  tp=2, tp=4 and dp=2,tp=2, the others on the meshes of MPI_MESHES): rank
  0's outputs against the same model on one device
  (rtol 1e-4) and ONNX Runtime (rtol 1e-3); the local communicator's
  output is shown beside them.
* A launch whose rank count is not the artifact's device count fails before
  any work, with one line, and writes nothing.
* The mpi communicator's collectives and splits on 2, 3 and 4 ranks
  (tessera-mpi-comm-check).
* Bounded waits: a rank whose peer skips a collective gets an error within
  the timeout (500 ms) and the next call fails at once; a peer that dies
  ends the job (mpirun), or under `mpirun --enable-recovery` leaves its
  peer a timeout error; a tessera-run rank whose peer failed before the run
  reports it within the bound.

Every mpirun runs under `timeout`, so a hang fails instead of blocking.
Without mpirun it prints "skipped: no MPI" and exits 77 (ctest: skipped).

    mpi_check.py --compile tessera-compile --run tessera-run
                 --comm-check tessera-mpi-comm-check --work DIR [--mpirun mpirun]
"""
import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import numpy as np

from parallel_check import CASES, F16_CASE, case_model, matches
from tessera_tools import compile_and_run, compile_model, run_artifact

# The meshes each model runs on under mpirun (the MLP on all; the others
# on the ones that exercise their collectives; parallel_check.py covers
# every mesh on the local communicator).
MPI_MESHES = {
    "mlp": ["dp=2", "tp=2", "tp=4", "dp=2,tp=2"],
    "gpt2_block": ["tp=2", "dp=2,tp=2"],
    "bert_block": ["tp=4", "dp=2,tp=2"],
    "resnet_small": ["dp=2"],
    "mlp_b3": ["dp=2"],  # a padded batch
}
GUARD_S = 120  # the outer bound of any mpirun here


def ranks_of(mesh):
    n = 1
    for axis in mesh.split(","):
        n *= int(axis.split("=")[1])
    return n


class Checker:
    def __init__(self, mpirun):
        self.mpirun = mpirun
        self.passed = self.failed = 0

    def launcher(self, np_, extra=()):
        """timeout + mpirun for `np_` ranks on this machine, as root too."""
        cmd = ["timeout", "-k", "5", str(GUARD_S), self.mpirun, "-np", str(np_),
               "--oversubscribe"] + list(extra)
        if os.geteuid() == 0:
            cmd.append("--allow-run-as-root")
        return cmd

    def mpirun_(self, np_, command, extra=()):
        """Runs `command` under mpirun; (returncode, stdout, stderr, seconds)."""
        start = time.monotonic()
        r = subprocess.run(self.launcher(np_, extra) + command, capture_output=True, text=True)
        return r.returncode, r.stdout, r.stderr, time.monotonic() - start

    def report(self, ok, text, detail=""):
        print("%s %s" % ("ok  " if ok else "FAIL", text))
        if not ok and detail:
            print("     " + detail.strip().replace("\n", "\n     "))
        self.passed += ok
        self.failed += not ok


def check_meshes(c, args, rng):
    """Every model of MPI_MESHES; the MLP's artifacts by mesh."""
    artifacts = {}
    for case in CASES:
        if case[0] in MPI_MESHES:
            got = check_model(c, args, rng, case, MPI_MESHES[case[0]])
            if case[0] == "mlp":
                artifacts = got
    # f16 partial sums all-reduced through MPI (staged as float).
    check_model(c, args, rng, F16_CASE, ["tp=2"])
    return artifacts


def check_model(c, args, rng, case, meshes):
    name = case[0]
    d, model, feeds, flags, ref, ref_name, tolerance = case_model(args.work, case, rng)
    err, outs = compile_and_run(args.compile, args.run, model,
                                os.path.join(d, "single.tsr"), feeds,
                                os.path.join(d, "single"), flags)
    if err:
        c.report(False, "%s on one device" % name, err)
        return {}
    one = outs["y"].astype(np.float64)
    artifacts = {}
    for mesh in meshes:
        artifact = os.path.join(d, "mesh-%s.tsr" % mesh.replace(",", "-"))
        err = compile_model(args.compile, model, artifact, flags + ["--mesh=" + mesh])
        if err:
            c.report(False, "%s --mesh=%s" % (name, mesh), err)
            continue
        artifacts[mesh] = artifact
        work = os.path.join(d, "mpi-" + mesh)
        shutil.rmtree(work, ignore_errors=True)
        np_ = ranks_of(mesh)
        start = time.monotonic()
        err, outs = run_artifact(args.run, artifact, feeds, work, ["--comm=mpi"],
                                 launcher=c.launcher(np_))
        seconds = time.monotonic() - start
        if err:
            c.report(False, "%s --mesh=%s under mpirun -np %d" % (name, mesh, np_), err)
            continue
        got = outs["y"].astype(np.float64)
        err, local = run_artifact(args.run, artifact, feeds, os.path.join(d, "local-" + mesh))
        local_diff = float(np.max(np.abs(got - local["y"]))) if not err else float("nan")
        ok = matches(got, one, ref, tolerance)
        c.report(ok, "%s --mesh=%s, mpirun -np %d (%.1f s): max abs difference from one "
                 "device %.3g, from %s %.3g, from the local communicator %.3g"
                 % (name, mesh, np_, seconds, float(np.max(np.abs(got - one))),
                    ref_name,
                    float(np.max(np.abs(got - ref))), local_diff))
    return artifacts


def check_mismatch(c, args, artifacts):
    """tp=2 launched on 4 ranks, and --devices against the job's size."""
    if "tp=2" not in artifacts:
        return
    artifact = artifacts["tp=2"]
    work = os.path.join(args.work, "mismatch")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    x = os.path.join(args.work, "mlp", "single", "x.npy")
    cases = [
        (4, [], "tessera-run: error: the module was compiled for the mesh tp=2 (2 devices); "
                "this MPI job has 4 ranks"),
        (2, ["--devices=4"], "tessera-run: error: --devices=4, but this MPI job has 2 ranks"),
    ]
    for np_, extra, want in cases:
        rc, out, err, seconds = c.mpirun_(np_, [args.run, artifact, "--comm=mpi",
                                                "--input", "x=" + x, "--output-dir", work]
                                          + extra)
        ours = [l for l in err.splitlines() if l.startswith("tessera-run:")]
        ok = rc not in (0, 124, 137) and ours == [want] and not os.listdir(work)
        c.report(ok, "mpirun -np %d %s on a tp=2 artifact: exit %d, %r"
                 % (np_, " ".join(extra) or "(no --devices)", rc, ours[0] if ours else ""),
                 err)


def check_info(c, args, artifacts):
    if "tp=4" not in artifacts:
        return
    rc, out, err, _ = c.mpirun_(4, [args.run, artifacts["tp=4"], "--comm=mpi", "--info"])
    lines = [l.strip() for l in out.splitlines() if "per device" in l]
    ok = rc == 0 and len(lines) == 1 and "mpi: one process per device" in lines[0]
    c.report(ok, "--info under mpirun -np 4 (rank 0 prints): %s" % (lines[0] if lines else ""),
             out + err)


def check_comm(c, args):
    if not args.comm_check or not os.path.exists(args.comm_check):
        c.report(False, "tessera-mpi-comm-check is missing (the runtime was built without MPI)")
        return
    for np_ in (2, 3, 4):
        rc, out, err, seconds = c.mpirun_(np_, [args.comm_check, "collectives"])
        oks = [l for l in out.splitlines() if l.endswith("collectives ok")]
        c.report(rc == 0 and len(oks) == np_,
                 "mpi communicator collectives and split on %d ranks" % np_, out + err)

    # A peer that skips a collective: rank 0 errs within the bound.
    rc, out, err, seconds = c.mpirun_(2, [args.comm_check, "skip", "500"])
    m = re.search(r"rank 0: all-reduce returned after (\d+) ms: (.*)", out)
    n = re.search(r"rank 0: next collective returned after (\d+) ms: (.*)", out)
    ok = (m and n and rc not in (124, 137)
          and m.group(2) == "peer ranks did not reach MPI_Iallreduce within 500 ms"
          and 450 <= int(m.group(1)) < 2500 and int(n.group(1)) < 100
          and n.group(2) == "a peer rank failed or timed out in an earlier collective")
    c.report(bool(ok), "a peer skips an all-reduce (timeout 500 ms): rank 0 errs after %s ms, "
             "the next call after %s ms; the job ended in %.1f s"
             % (m.group(1) if m else "?", n.group(1) if n else "?", seconds), out + err)

    # A peer that dies: by default mpirun ends the job (the timeout, 60 s,
    # is not reached); with --enable-recovery rank 0 gets the timeout error.
    rc, out, err, seconds = c.mpirun_(2, [args.comm_check, "die", "60000"])
    c.report(rc != 0 and seconds < 30 and "exited on signal 9" in err,
             "a peer dies (timeout 60 s): mpirun ended the job in %.1f s, exit %d"
             % (seconds, rc), out + err)
    rc, out, err, seconds = c.mpirun_(2, [args.comm_check, "die", "500"],
                                      extra=["--enable-recovery"])
    m = re.search(r"rank 0: all-reduce returned after (\d+) ms: (.*)", out)
    ok = (m and rc not in (124, 137) and int(m.group(1)) < 2500
          and m.group(2) == "peer ranks did not reach MPI_Iallreduce within 500 ms")
    c.report(bool(ok), "a peer dies under --enable-recovery (timeout 500 ms): rank 0 errs "
             "after %s ms" % (m.group(1) if m else "?"), out + err)


def check_run_peer_failure(c, args, artifacts):
    """Two tessera-runs (MPMD): rank 1's input is wrong, so it never joins
    the run; rank 0 fails within the bound instead of waiting."""
    if "tp=2" not in artifacts:
        return
    artifact = artifacts["tp=2"]
    work = os.path.join(args.work, "peer-failure")
    os.makedirs(work, exist_ok=True)
    good = os.path.join(args.work, "mlp", "single", "x.npy")
    bad = os.path.join(work, "bad.npy")
    np.save(bad, np.zeros((3, 256), np.float32))
    common = ["--comm=mpi", "--collective-timeout-ms=500", "--output-dir", work]
    start = time.monotonic()
    cmd = (c.launcher(1) + [args.run, artifact, "--input", "x=" + good] + common
           + [":", "-np", "1", "--oversubscribe", args.run, artifact, "--input", "x=" + bad]
           + common)
    r = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.monotonic() - start
    ours = sorted(l for l in r.stderr.splitlines() if l.startswith("tessera-run:"))
    want = ["tessera-run: error: rank 0: all_reduce: splitting the world by mesh axes: peer "
            "ranks did not reach MPI_Iallgather within 500 ms",
            "tessera-run: error: rank 1: input 'x' must be f32[8,256], %s holds f32[3,256]" % bad]
    ok = r.returncode not in (0, 124, 137) and ours == want and seconds < 30
    c.report(ok, "tessera-run, rank 1 fails before the run (timeout 500 ms): rank 0 errs, the "
             "job ended in %.1f s" % seconds, r.stderr)


def rank_pid(artifact, rank, deadline):
    """The pid of the tessera-run process of `rank` running `artifact`."""
    while time.monotonic() < deadline:
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open("/proc/%s/cmdline" % pid, "rb") as f:
                    cmd = f.read().split(b"\0")
                if not cmd or not cmd[0].endswith(b"tessera-run") or artifact.encode() not in cmd:
                    continue
                with open("/proc/%s/environ" % pid, "rb") as f:
                    env = f.read().split(b"\0")
            except OSError:
                continue
            if ("OMPI_COMM_WORLD_RANK=%d" % rank).encode() in env:
                return int(pid)
        time.sleep(0.05)
    return None


def check_run_rank_killed(c, args, artifacts):
    """A rank killed (SIGKILL) while the job runs collectives: the survivor
    ends within the bound. By default mpirun ends the job; under
    --enable-recovery rank 0's collective fails after its timeout (1 s)."""
    if "tp=2" not in artifacts:
        return
    artifact = artifacts["tp=2"]
    good = os.path.join(args.work, "mlp", "single", "x.npy")
    for extra, bound, label in [([], 10.0, "mpirun ends the job"),
                                (["--enable-recovery"], 6.0,
                                 "--enable-recovery, timeout 1000 ms: rank 0 errs")]:
        work = os.path.join(args.work, "killed")
        os.makedirs(work, exist_ok=True)
        cmd = c.launcher(2, extra) + [args.run, artifact, "--input", "x=" + good, "--comm=mpi",
                                      "--collective-timeout-ms=1000", "--repeat=1000000",
                                      "--output-dir", work]
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        pid = rank_pid(artifact, 1, time.monotonic() + 20)
        time.sleep(1.0)  # well into the runs' collectives
        killed = time.monotonic()
        if pid:
            os.kill(pid, signal.SIGKILL)
        try:
            out, err = p.communicate(timeout=GUARD_S)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
        seconds = time.monotonic() - killed
        # mpirun's own exit status says little here (137 for the killed
        # rank by default, 0 under recovery); the time and rank 0's error
        # are what is asserted.
        ok = pid is not None and seconds < bound
        if extra:
            ok = ok and "tessera-run: error: rank 0:" in err and "within 1000 ms" in err
        else:
            ok = ok and p.returncode != 0
        c.report(ok, "a tessera-run rank killed mid-collective (%s): the survivor ended %.1f s "
                 "after the kill (bound %.0f s), exit %s" % (label, seconds, bound, p.returncode),
                 err)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--compile", required=True)
    ap.add_argument("--run", required=True)
    ap.add_argument("--comm-check", default="")
    ap.add_argument("--mpirun", default="mpirun")
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    mpirun = shutil.which(args.mpirun)
    if not mpirun:
        print("skipped: no MPI (%s not found)" % args.mpirun)
        return 77
    os.makedirs(args.work, exist_ok=True)
    c = Checker(mpirun)
    artifacts = check_meshes(c, args, np.random.default_rng(7))
    check_mismatch(c, args, artifacts)
    check_info(c, args, artifacts)
    check_comm(c, args)
    check_run_peer_failure(c, args, artifacts)
    check_run_rank_killed(c, args, artifacts)
    print("%d passed, %d failed" % (c.passed, c.failed))
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
