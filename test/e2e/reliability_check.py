#!/usr/bin/env python3
"""The reliability tier (docs/testing.md): broken artifacts, input files and
flags against tessera-run, each of which must end in a clear one-line error
(or, where the change means nothing, the same outputs), never a crash, a
hang or a silent wrong answer.

Sweeps, seeded, over artifacts compiled here (a one-device MLP and the same
MLP for tp=2):
  truncate   the file cut at a random length (and every length up to 64)
  flip       one bit flipped anywhere, checksums left as they are
  manifest   the manifest edited as a buggy or hostile producer would
             (a line repeated, dropped or moved, two fields swapped, a
             number, element type or name changed, a bit flipped) and the
             section checksums recomputed
Then the input-file and flag cases (a directory, /proc/self/mem, a FIFO,
/dev/zero, a short or lying .npy, an --input given twice, the output
directory missing or a file, a write that fails, an output name with '/'),
external-data escapes and an oversized input at compile time.

tessera-run is the sanitized one (build/sanitize, AddressSanitizer and
UndefinedBehaviorSanitizer) when --sanitized-run names it. Each case is
classified clean / wrong / crash / hang; the tier fails on any but clean.
"""
import argparse
import concurrent.futures
import os
import random
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tessera_tools  # noqa: E402

M64 = (1 << 64) - 1
KIND_ALIGN = {1: 8, 2: 64, 3: 4096, 4: 64, 5: 64}
HANG_S = 30


def checksum(data):
    """artifact::checksum (runtime/src/artifact.cc), for re-checksumming."""
    h = 1469598103934665603
    n = len(data) // 8 * 8
    for (w,) in struct.iter_unpack("<Q", data[:n]):
        h = ((h ^ w) * 1099511628211) & M64
        h ^= h >> 29
    for b in data[n:]:
        h = ((h ^ b) * 1099511628211) & M64
    return h ^ len(data)


def sections(blob):
    """[(kind, bytes, checksum)] in table order."""
    count = struct.unpack_from("<I", blob, 8)[0]
    out = []
    for i in range(count):
        kind, _, off, size, s = struct.unpack_from("<IIQQQ", blob, 24 + 32 * i)
        out.append((kind, blob[off:off + size], s))
    return out


def pack(secs):
    """The container around `secs` ([(kind, bytes, checksum or None)]);
    None: computed."""
    offsets, off = [], 24 + 32 * len(secs)
    for kind, data, _ in secs:
        a = KIND_ALIGN[kind]
        off = (off + a - 1) // a * a
        offsets.append(off)
        off += len(data)
    out = bytearray(off)
    struct.pack_into("<4sIIIQ", out, 0, b"TSRA", 1, len(secs), 0, off)
    for i, (kind, data, s) in enumerate(secs):
        struct.pack_into("<IIQQQ", out, 24 + 32 * i, kind, 0, offsets[i], len(data),
                         checksum(data) if s is None else s)
        out[offsets[i]:offsets[i] + len(data)] = data
    return bytes(out)


def with_manifest(blob, text):
    """The artifact with another manifest text, re-checksummed."""
    return pack([(k, text if k == 1 else d, None if k == 1 else s)
                 for k, d, s in sections(blob)])


def mutate_manifest(text, rng):
    """One edit of the manifest text (bytes); returns (what, new text)."""
    lines = text.decode().splitlines()
    body = list(range(1, len(lines)))
    op = rng.choice(["dup", "drop", "move", "swap-fields", "number", "dtype",
                     "name", "bit"])
    if op == "bit":
        b = bytearray(text)
        i = rng.randrange(len(b))
        b[i] ^= 1 << rng.randrange(8)
        return "bit %d" % i, bytes(b)
    i = rng.choice(body)
    if op == "dup":
        lines.insert(rng.randrange(1, len(lines) + 1), lines[i])
    elif op == "drop":
        del lines[i]
    elif op == "move":
        line = lines.pop(i)
        lines.insert(rng.randrange(1, len(lines) + 1), line)
    else:
        f = lines[i].split(" ")
        if op == "swap-fields" and len(f) > 2:
            a, b = rng.sample(range(1, len(f)), 2)
            f[a], f[b] = f[b], f[a]
        elif op == "number":
            tokens = [(j, t) for j, t in enumerate(f) if any(c.isdigit() for c in t)]
            if tokens:
                j, t = rng.choice(tokens)
                nums = [p for p in t.replace("x", " ").replace("=", " ").replace(",", " ")
                        .replace("+", " ").split() if p.isdigit()]
                if nums:
                    old = rng.choice(nums)
                    v = int(old)
                    new = rng.choice([0, 1, v - 1, v + 1, 2 * v, v // 2, v + 64, v + 4096,
                                      2 ** 31, 2 ** 40, 2 ** 63])
                    f[j] = t.replace(old, str(max(new, 0)), 1)
        elif op == "dtype" and len(f) > 2:
            f[2] = rng.choice(["f32", "f16", "bf16", "f64", "i64", "i32", "i8", "bool"])
        elif op == "name" and len(f) > 1:
            others = [l.split(" ")[1] for l in lines[1:] if len(l.split(" ")) > 1]
            f[1] = rng.choice(others)
        lines[i] = " ".join(f)
    return "%s line %d" % (op, i), ("\n".join(lines) + "\n").encode()


class Runner:
    def __init__(self, run_tool, env):
        self.run_tool = run_tool
        self.env = env

    def run(self, args, preexec=None, timeout=HANG_S):
        start = time.monotonic()
        try:
            r = subprocess.run([self.run_tool] + args, capture_output=True,
                               encoding="utf-8", errors="replace",
                               timeout=timeout, env=self.env, preexec_fn=preexec)
        except subprocess.TimeoutExpired:
            return None, "", time.monotonic() - start
        return r.returncode, r.stderr, time.monotonic() - start


def classify(rc, err, outputs_ok):
    """clean / wrong / crash / hang for one run. Clean: exit 1 with one
    line 'tessera-run: error: ...', or exit 0 with the reference outputs."""
    if rc is None:
        return "hang"
    sanitizer = ("Sanitizer" in err or "runtime error:" in err)
    if rc == 0 and not sanitizer:
        return "clean" if outputs_ok() else "wrong"
    lines = err.strip().splitlines()
    if (rc == 1 and not sanitizer and len(lines) == 1
            and lines[0].startswith("tessera-run: error: ")):
        return "clean"
    return "crash"


class Tier:
    def __init__(self, runner, work):
        self.runner = runner
        self.work = work
        self.counts = {}
        self.failures = []

    def record(self, sweep, verdict, what, detail=""):
        c = self.counts.setdefault(sweep, {"tried": 0, "clean": 0, "wrong": 0,
                                           "crash": 0, "hang": 0})
        c["tried"] += 1
        c[verdict] += 1
        if verdict != "clean":
            self.failures.append("%s: %s: %s %s" % (sweep, verdict, what, detail.strip()[:2000]))


def artifact_case(tier, sweep, blob, what, base, slot):
    """Runs a mutated artifact `blob` with `base`'s inputs; compares with
    its reference outputs when it runs."""
    d = os.path.join(tier.work, "slot%d" % slot)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    path = os.path.join(d, "m.tsr")
    with open(path, "wb") as f:
        f.write(blob)
    out = os.path.join(d, "out")
    rc, err, _ = tier.runner.run([path, "--output-dir", out] + base["inputs"] + base["flags"])

    def outputs_ok():
        for name, want in base["ref"].items():
            p = os.path.join(out, name + ".npy")
            if not os.path.exists(p):
                return False
            got = np.load(p)
            if got.shape != want.shape or got.dtype != want.dtype or not np.array_equal(got, want):
                return False
        return True
    return sweep, classify(rc, err, outputs_ok), what, err


def sweep_artifacts(tier, bases, cases, seed, jobs):
    rng = random.Random(seed)
    todo = []
    for base in bases:
        blob = base["blob"]
        # Truncation: every length up to 64 (header, table), then random.
        for n in list(range(0, 64, 3)) + [rng.randrange(len(blob)) for _ in range(cases // 8)]:
            todo.append(("truncate", blob[:n], "%s cut at %d" % (base["name"], n), base))
        # One bit flipped, checksums as they are.
        for _ in range(cases // 4):
            b = bytearray(blob)
            i = rng.randrange(len(b))
            b[i] ^= 1 << rng.randrange(8)
            todo.append(("flip", bytes(b), "%s bit at %d" % (base["name"], i), base))
        # The manifest edited, checksums recomputed.
        text = [d for k, d, _ in sections(blob) if k == 1][0]
        for _ in range(cases):
            what, new = mutate_manifest(text, rng)
            if new == text:
                continue
            todo.append(("manifest", with_manifest(blob, new),
                         "%s %s: %r" % (base["name"], what, new.decode(errors="replace")), base))
    with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
        slots = list(range(jobs))
        futures = []
        for k, (sweep, blob, what, base) in enumerate(todo):
            futures.append(pool.submit(artifact_case, tier, sweep, blob, what, base, k % (4 * jobs)))
        for fut in futures:
            tier.record(*fut.result())
        del slots


def npy_bytes(a):
    import io
    buf = io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()


def input_cases(tier, base, compile_tool, tmp):
    """The input-file, flag and output cases: (what, args, expected error
    fragment or None for success, check after the run)."""
    art = base["path"]
    x = base["feeds"]["x"]
    good = os.path.join(tmp, "x.npy")
    np.save(good, x)
    out = os.path.join(tmp, "out")
    fifo = os.path.join(tmp, "fifo")
    os.mkfifo(fifo)
    short = os.path.join(tmp, "short.npy")
    with open(short, "wb") as f:
        f.write(npy_bytes(x)[:-5])
    lying = os.path.join(tmp, "lying.npy")  # header claims 2^40 elements
    b = bytearray(npy_bytes(x))
    hdr = b[10:10 + (b[8] | b[9] << 8)].decode()
    shape_txt = hdr[hdr.index("(") : hdr.index(")") + 1]
    hdr2 = hdr.replace(shape_txt, "(1099511627776,)")
    hdr2 = hdr2[:len(hdr)] if len(hdr2) > len(hdr) else hdr2 + " " * (len(hdr) - len(hdr2))
    with open(lying, "wb") as f:
        f.write(bytes(b[:10]) + hdr2.encode() + bytes(b[10 + len(hdr):]))
    huge_header = os.path.join(tmp, "huge_header.npy")
    with open(huge_header, "wb") as f:
        f.write(b"\x93NUMPY\x02\x00" + struct.pack("<I", 0xFFFFFFF0) + b"{}")
    afile = os.path.join(tmp, "a_file")
    open(afile, "w").close()
    full_dir = os.path.join(tmp, "full")
    os.makedirs(full_dir)
    os.symlink("/dev/full", os.path.join(full_dir, "y.npy"))

    def outputs_in(d):
        def ok():
            for name, want in base["ref"].items():
                p = os.path.join(d, name + ".npy")
                if not os.path.isfile(p) or os.path.islink(p):
                    return False
                if not np.array_equal(np.load(p), want):
                    return False
            return True
        return ok

    cases = [
        ("a directory as input", ["--input", "x=" + tmp], "a directory, not a .npy file"),
        ("/proc/self/mem as input", ["--input", "x=/proc/self/mem"], "bad magic"),
        ("a FIFO as input", ["--input", "x=" + fifo], "a FIFO, not a .npy file"),
        ("/dev/zero as input", ["--input", "x=/dev/zero"], "a character device, not a .npy file"),
        ("/dev/null as input", ["--input", "x=/dev/null"], "a character device, not a .npy file"),
        ("a missing input file", ["--input", "x=" + tmp + "/nope.npy"], "No such file or directory"),
        ("a truncated .npy", ["--input", "x=" + short], "bytes of data, its shape needs"),
        ("a .npy whose header claims 2^40 elements", ["--input", "x=" + lying],
         "its shape needs 4398046511104"),
        ("a .npy with a 4 GiB header length", ["--input", "x=" + huge_header], "truncated header"),
        ("--input given twice", ["--input", "x=" + good, "--input", "x=" + good],
         "--input 'x' is given twice"),
        ("--output-dir that is a file", ["--input", "x=" + good, "--output-dir", afile],
         "exists and is not a directory"),
    ]
    verdicts = []
    for what, args, frag in cases:
        rc, err, _ = tier.runner.run([art] + args + (["--output-dir", out] if "--output-dir" not in args else []))
        v = classify(rc, err, lambda: False)
        if v == "clean" and frag not in err:
            v = "wrong"
        verdicts.append(("inputs", v, what, err))
    # The output directory is created, parents too.
    nested = os.path.join(tmp, "new", "deeper")
    rc, err, _ = tier.runner.run([art, "--input", "x=" + good, "--output-dir", nested])
    verdicts.append(("inputs", classify(rc, err, outputs_in(nested)),
                     "a missing --output-dir is created", err))
    # y.npy a symlink to /dev/full: the output replaces the link.
    rc, err, _ = tier.runner.run([art, "--input", "x=" + good, "--output-dir", full_dir])
    verdicts.append(("inputs", classify(rc, err, outputs_in(full_dir)),
                     "an output path that is a link to /dev/full", err))
    for r in verdicts:
        tier.record(*r)


def relu_model(path, n, output="y"):
    """Writes a one-node model y = Relu(x), x and y f32[n], at `path`."""
    import onnx
    from onnx import TensorProto, helper
    g = helper.make_graph([helper.make_node("Relu", ["x"], [output])], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [n])],
                          [helper.make_tensor_value_info(output, TensorProto.FLOAT, [n])])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), path)


def name_case(tier, compile_tool, tmp):
    """An output named '../../escaped' stays inside the output directory;
    an output write that fails leaves nothing behind."""
    model = os.path.join(tmp, "names.onnx")
    relu_model(model, 4, "../../escaped")
    art = os.path.join(tmp, "names.tsr")
    err = tessera_tools.compile_model(compile_tool, model, art)
    if err:
        tier.record("inputs", "crash", "output named ../../escaped: compile", err)
        return
    x = np.array([-1, 2, -3, 4], np.float32)
    np.save(os.path.join(tmp, "nx.npy"), x)
    out = os.path.join(tmp, "names", "a", "b")
    rc, err, _ = tier.runner.run([art, "--input", "x=" + os.path.join(tmp, "nx.npy"),
                                  "--output-dir", out])
    inside = os.path.join(out, ".._.._escaped.npy")
    ok = lambda: (os.path.isfile(inside) and np.array_equal(np.load(inside), np.maximum(x, 0))
                  and not os.path.exists(os.path.join(tmp, "names", "escaped.npy")))
    tier.record("inputs", classify(rc, err, ok), "an output named '../../escaped'", err)

    # A write that fails: a 1 MiB file-size limit (ulimit -f) against a
    # 4 MiB output: an error, exit 1, and no output or temporary file left.
    big = np.linspace(-1, 1, 1 << 20).astype(np.float32)
    model = os.path.join(tmp, "big_out.onnx")
    relu_model(model, 1 << 20)
    art = os.path.join(tmp, "big_out.tsr")
    err = tessera_tools.compile_model(compile_tool, model, art)
    if err:
        tier.record("inputs", "crash", "a 4 MiB output: compile", err)
        return
    np.save(os.path.join(tmp, "bigx.npy"), big)
    limited = os.path.join(tmp, "limited")

    def fsize_limit():
        import resource
        resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))
    rc, err, _ = tier.runner.run([art, "--input", "x=" + os.path.join(tmp, "bigx.npy"),
                                  "--output-dir", limited], preexec=fsize_limit)
    v = classify(rc, err, lambda: False)
    left = os.listdir(limited) if os.path.isdir(limited) else []
    if v == "clean" and not ("File too large" in err and not left):
        v = "wrong"
    tier.record("inputs", v, "an output write that fails (EFBIG)", err + " left: %r" % left)


def compile_cases(tier, compile_tool, tmp):
    """External data outside the model's directory, an input of 2^40
    elements: tessera-compile errs in one line."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    cases = []
    d = os.path.join(tmp, "ext")
    os.makedirs(d)
    secret = os.path.join(tmp, "secret.bin")
    with open(secret, "wb") as f:
        f.write(b"\0" * 64)
    os.symlink(secret, os.path.join(d, "link.bin"))
    os.makedirs(os.path.join(d, "sub"))
    for what, location, frag in [
            ("external data '../secret.bin'", "../secret.bin", "is outside the model's directory"),
            ("external data at an absolute path", secret, "is outside the model's directory"),
            ("external data through a link out of the directory", "link.bin",
             "resolves outside the model's directory"),
            ("external data that is a directory", "sub", "is not a regular file")]:
        w = numpy_helper.from_array(np.zeros((4, 4), np.float32), "w")
        w.ClearField("raw_data")
        w.data_location = TensorProto.EXTERNAL
        e = w.external_data.add()
        e.key, e.value = "location", location
        g = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 4])], [w])
        model = os.path.join(d, "m%d.onnx" % len(cases))
        onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), model)
        cases.append((what, model, [], frag))
    big = os.path.join(tmp, "big.onnx")
    relu_model(big, 1 << 40)
    cases.append(("an input of 2^40 f32 elements", big, [],
                  "is larger than the largest tensor Tessera compiles"))
    for what, model, flags, frag in cases:
        art = os.path.join(tmp, "c.tsr")
        if os.path.exists(art):
            os.remove(art)
        try:
            c = subprocess.run([compile_tool, model, "-o", art, "--quiet"] + flags,
                               capture_output=True, text=True, timeout=120)
            rc, err = c.returncode, c.stderr
        except subprocess.TimeoutExpired:
            rc, err = None, ""
        lines = err.strip().splitlines()
        if rc is None:
            v = "hang"
        elif rc == 1 and len(lines) == 1 and frag in err and not os.path.exists(art):
            v = "clean"
        elif rc in (0, 1):
            v = "wrong"
        else:
            v = "crash"
        tier.record("compile", v, what, err)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--compile", required=True)
    ap.add_argument("--run", required=True, help="tessera-run (the main build's)")
    ap.add_argument("--sanitized-run", default="",
                    help="tessera-run built with ASan+UBSan (build/sanitize/bin)")
    ap.add_argument("--work", required=True)
    ap.add_argument("--cases", type=int, default=1000,
                    help="manifest edits per artifact (flips: a quarter, cuts: an eighth)")
    ap.add_argument("--seed", type=int, default=14)
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()

    run_tool = args.sanitized_run or args.run
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = "detect_leaks=1:exitcode=99"
    env["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1:exitcode=98"
    print("tessera-run: %s%s" % (run_tool, " (ASan+UBSan)" if args.sanitized_run else
                                  " (not sanitized: no sanitized build given)"))
    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work)
    runner = Runner(run_tool, env)
    tier = Tier(runner, args.work)

    rng = np.random.default_rng(args.seed)
    bases = []
    d, model, feeds, flags, ref = tessera_tools.sample_model(
        args.work, "mlp", "mlp.py", {"x": ((4, 256), "normal")}, rng)
    for name, extra in [("mlp", []), ("mlp-tp2", ["--mesh=tp=2"])]:
        path = os.path.join(d, name + ".tsr")
        err = tessera_tools.compile_model(args.compile, model, path, flags + extra)
        if err:
            print("FAIL: %s: %s" % (name, err))
            return 1
        inputs = []
        for n, a in feeds.items():
            p = os.path.join(d, "in.%s.npy" % n)
            np.save(p, a)
            inputs += ["--input", "%s=%s" % (n, p)]
        # The reference outputs: this artifact's own, checked against ONNX
        # Runtime first.
        ref_dir = os.path.join(d, "ref-" + name)
        rc, err, _ = runner.run([path, "--output-dir", ref_dir] + inputs)
        if rc != 0:
            print("FAIL: %s does not run: %s" % (name, err))
            return 1
        outs = {}
        for i, n in enumerate(sorted(f[:-4] for f in os.listdir(ref_dir))):
            outs[n] = np.load(os.path.join(ref_dir, n + ".npy"))
        worst = max(float(np.max(np.abs(outs[n] - r))) for n, r in zip(sorted(outs), ref))
        if worst > 1e-4:
            print("FAIL: %s differs from ONNX Runtime by %g" % (name, worst))
            return 1
        with open(path, "rb") as f:
            blob = f.read()
        bases.append({"name": name, "path": path, "blob": blob, "inputs": inputs,
                      "flags": [], "ref": outs, "feeds": feeds})

    start = time.monotonic()
    # The C API's own checks (test/Runtime/capi_test.c: statuses, container
    # checks, 100 concurrent runs) under the sanitizers.
    capi = os.path.join(os.path.dirname(args.sanitized_run), "capi_test") if args.sanitized_run else ""
    if capi and os.path.exists(capi):
        r = subprocess.run([capi, bases[0]["path"]], capture_output=True, encoding="utf-8",
                           errors="replace", env=env, timeout=300)
        bad = r.returncode != 0 or "Sanitizer" in r.stderr or "runtime error:" in r.stderr
        tier.record("capi", "crash" if bad else "clean", "capi_test (ASan+UBSan)", r.stderr)
    sweep_artifacts(tier, bases, args.cases, args.seed, args.jobs)
    tmp = tempfile.mkdtemp(dir=args.work, prefix="inputs-")
    input_cases(tier, bases[0], args.compile, tmp)
    name_case(tier, args.compile, tmp)
    compile_cases(tier, args.compile, tmp)
    seconds = time.monotonic() - start

    print("%-9s %6s %6s %6s %6s %6s" % ("sweep", "tried", "clean", "wrong", "crash", "hang"))
    total = {"tried": 0, "clean": 0, "wrong": 0, "crash": 0, "hang": 0}
    for sweep, c in tier.counts.items():
        print("%-9s %6d %6d %6d %6d %6d" % (sweep, c["tried"], c["clean"], c["wrong"],
                                           c["crash"], c["hang"]))
        for k in total:
            total[k] += c[k]
    print("%-9s %6d %6d %6d %6d %6d  (%.0f s)" % ("all", total["tried"], total["clean"],
                                                  total["wrong"], total["crash"],
                                                  total["hang"], seconds))
    for f in tier.failures[:40]:
        print("FAIL: " + f)
    return 1 if tier.failures else 0


if __name__ == "__main__":
    sys.exit(main())
