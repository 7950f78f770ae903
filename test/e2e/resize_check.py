#!/usr/bin/env python3
"""Resize against ONNX's reference implementation (onnx.reference), through
tessera-compile and tessera-run:

  * ONNX's own Resize backend cases from the installed `onnx` package, which
    include the opset 18/19 forms (axes, keep_aspect_ratio_policy,
    half_pixel_symmetric, antialias) that Debian's 1.12 test data lacks;
  * random cases over modes, coordinate modes, nearest modes, axes, scales or
    sizes, exclude_outside, cubic_coeff_a, roi and element types;
  * the forms before opset 11 (Resize-10, Upsample-7/9), compared with the
    opset-13 form they mean (asymmetric, nearest rounding down).

Every case must match (rtol 1e-3, atol 1e-5) or be reported unsupported in
one line. The reference places its interpolation window from x + pad_width,
which rounds when x lies an ulp above an integer; a mismatch is re-checked
against the same computation with the window placed from floor(x).

    resize_check.py --compile tessera-compile --run tessera-run --work DIR
"""
import argparse
import collections
import concurrent.futures
import os
import subprocess
import sys
import warnings

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator
from onnx.reference.ops import op_resize

warnings.filterwarnings("ignore")
ONNX_TYPES = {np.float32: TensorProto.FLOAT, np.float16: TensorProto.FLOAT16,
              np.float64: TensorProto.DOUBLE, np.int32: TensorProto.INT32,
              np.int64: TensorProto.INT64, np.int8: TensorProto.INT8}


def floor_window_1d(data, axis, scale_factor, output_width_int, get_coeffs, roi=None,
                    extrapolation_value=0.0, coordinate_transformation_mode="half_pixel",
                    exclude_outside=False):
    """op_resize._interpolate_1d_along_axis with the window placed from
    floor(x): lo = x - 1 when x is integral (ratio 1), else floor(x)."""
    width = data.shape[axis]
    y = np.arange(output_width_int, dtype=np.float64)
    x, outside = op_resize._compute_x_ori(coordinate_transformation_mode, y, scale_factor,
                                          width, scale_factor * width, output_width_int, roi)
    xi = np.floor(x).astype(np.int64)
    integral = x == xi
    coeffs = np.array([get_coeffs(float(r), scale_factor)
                       for r in np.where(integral, 1.0, x - xi)])
    n = coeffs.shape[1]
    idx = np.where(integral, xi - 1, xi)[:, None] + (0 if n == 2 else -1) + np.arange(n)
    if exclude_outside:
        coeffs = np.where((idx < 0) | (idx >= width), 0.0, coeffs)
        total = coeffs.sum(axis=-1, keepdims=True)
        coeffs = coeffs / np.where(total == 0, 1.0, total)
    shape = (1,) * axis + coeffs.shape + (1,) * (data.ndim - axis - 1)
    out = (np.take(data, np.clip(idx, 0, width - 1), axis=axis) * coeffs.reshape(shape)).sum(axis=axis + 1)
    if outside is not None:
        mask = outside.reshape((1,) * axis + (output_width_int,) + (1,) * (data.ndim - axis - 1))
        out = np.where(mask, extrapolation_value, out)
    return out


def reference(model, x, floor_window=False):
    saved = op_resize._interpolate_1d_along_axis
    if floor_window:
        op_resize._interpolate_1d_along_axis = floor_window_1d
    try:
        return ReferenceEvaluator(model).run(None, {"X": x})[0]
    finally:
        op_resize._interpolate_1d_along_axis = saved


def make_model(node, x, opset, inits=(), out_type=None):
    g = helper.make_graph([node], "g",
                          [helper.make_tensor_value_info("X", ONNX_TYPES[x.dtype.type], list(x.shape))],
                          [helper.make_tensor_value_info("Y", ONNX_TYPES[x.dtype.type], None)],
                          list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def random_case(seed):
    """A random Resize model, its input, and the model the reference runs
    (axes normalised: the reference does not take negative axes)."""
    rng = np.random.default_rng(seed)
    rank = int(rng.integers(1, 5))
    shape = [int(rng.integers(1, 7)) for _ in range(rank)]
    opset = int(rng.choice([11, 13, 18, 19]))
    mode = str(rng.choice(["nearest", "linear", "cubic"]))
    coord_modes = ["half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric",
                   "tf_crop_and_resize"] + (["half_pixel_symmetric"] if opset >= 19 else [])
    coords = str(rng.choice(coord_modes))
    attrs = dict(mode=mode, coordinate_transformation_mode=coords)
    if rng.random() < 0.7:
        attrs["nearest_mode"] = str(rng.choice(["round_prefer_floor", "round_prefer_ceil",
                                                "floor", "ceil"]))
    if mode != "nearest" and rng.random() < 0.3:
        attrs["exclude_outside"] = 1
    if mode == "cubic" and rng.random() < 0.5:
        attrs["cubic_coeff_a"] = float(rng.choice([-0.5, -0.6, -0.75]))
    if coords == "tf_crop_and_resize":
        attrs["extrapolation_value"] = float(rng.choice([0.0, 10.0, -1.5]))
    axes = list(range(rank))
    if opset >= 18 and rng.random() < 0.5:
        axes = [int(a) for a in rng.permutation(rank)[:int(rng.integers(1, rank + 1))]]
        attrs["axes"] = [a - rank if rng.random() < 0.3 else a for a in axes]
    n = len(axes)
    inputs, inits = ["X"], []
    if coords == "tf_crop_and_resize":
        roi = np.concatenate([rng.choice([0.0, 0.1, 0.25, -0.2, 0.4], size=n),
                              rng.choice([1.0, 0.9, 0.75, 1.2, 0.6], size=n)])
        inits.append(numpy_helper.from_array(roi.astype(np.float32), "roi"))
        inputs.append("roi")
    else:
        inputs.append("")
    # Cropping needs sizes (with scales the spec and the reference differ).
    if rng.random() < (0.9 if coords == "tf_crop_and_resize" else 0.5):
        sizes = rng.integers(1, 10, size=n).astype(np.int64)
        inits.append(numpy_helper.from_array(sizes, "sizes"))
        inputs += ["", "sizes"]
        if opset >= 18 and rng.random() < 0.4:
            attrs["keep_aspect_ratio_policy"] = str(rng.choice(["not_larger", "not_smaller"]))
    else:
        scales = rng.choice([0.5, 0.6, 0.75, 1.0, 1.5, 2.0, 2.5, 3.0, 0.34, 1.7], size=n)
        scales = np.maximum(scales, [1.0 / shape[a] for a in axes]).astype(np.float32)
        inits.append(numpy_helper.from_array(scales, "scales"))
        inputs.append("scales")
    if mode == "nearest":
        dtype = [np.float32, np.float16, np.float64, np.int32, np.int64, np.int8][int(rng.integers(0, 6))]
    else:
        dtype = [np.float32, np.float32, np.float16, np.float64][int(rng.integers(0, 4))]
    if np.issubdtype(dtype, np.integer):
        x = rng.integers(-100, 100, size=shape).astype(dtype)
    else:
        x = rng.standard_normal(shape).astype(dtype)
    model = make_model(helper.make_node("Resize", inputs, ["Y"], **attrs), x, opset, inits)
    ref_attrs = dict(attrs, **({"axes": axes} if "axes" in attrs else {}))
    ref_model = make_model(helper.make_node("Resize", inputs, ["Y"], **ref_attrs), x, opset, inits)
    return "random_%d" % seed, model, x, ref_model


def legacy_cases():
    """Resize-10 and Upsample-7/9 against the opset-13 form they mean."""
    x = np.random.default_rng(1).standard_normal((1, 2, 4, 5)).astype(np.float32)
    for mode in ("nearest", "linear"):
        for scales in ([1, 1, 2, 3], [1, 1, 1.5, 2.5], [1, 1, 0.5, 1], [1, 2, 3, 1], [1, 1, 0.6, 2]):
            s = numpy_helper.from_array(np.array(scales, np.float32), "s")
            ref = make_model(helper.make_node("Resize", ["X", "", "s"], ["Y"], mode=mode,
                                              coordinate_transformation_mode="asymmetric",
                                              nearest_mode="floor"), x, 13, [s])
            tag = "%s_%s" % (mode, "_".join(str(v) for v in scales))
            yield ("resize10_" + tag, make_model(helper.make_node("Resize", ["X", "s"], ["Y"], mode=mode),
                                                 x, 10, [s]), x, ref)
            yield ("upsample7_" + tag, make_model(helper.make_node("Upsample", ["X"], ["Y"], mode=mode,
                                                                   scales=[float(v) for v in scales]),
                                                  x, 7), x, ref)
            yield ("upsample9_" + tag, make_model(helper.make_node("Upsample", ["X", "s"], ["Y"], mode=mode),
                                                  x, 9, [s]), x, ref)


def backend_cases():
    """ONNX's Resize backend cases, with roi/scales/sizes made initializers."""
    from onnx.backend.test.case import node
    for case in node.collect_testcases("Resize"):
        inputs, _ = case.data_sets[0]
        m = onnx.ModelProto()
        m.CopyFrom(case.model)
        names = [vi.name for vi in m.graph.input]
        for vi, value in list(zip(m.graph.input, inputs))[1:]:
            m.graph.initializer.append(numpy_helper.from_array(value, vi.name))
        del m.graph.input[1:]
        assert names[0] == "X"
        yield case.name, m, inputs[0], m


def check(args, case):
    name, model, x, ref_model = case
    work = os.path.join(args.work, name)
    os.makedirs(work, exist_ok=True)
    onnx.save(model, os.path.join(work, "m.onnx"))
    np.save(os.path.join(work, "x.npy"), x)
    try:
        want = reference(ref_model, x)
    except Exception as e:  # a form the reference does not run
        return name, "skip", str(e)[:100]
    c = subprocess.run([args.compile, os.path.join(work, "m.onnx"), "-o",
                        os.path.join(work, "m.tsr"), "--quiet"], capture_output=True, text=True)
    msg = c.stderr.strip()
    if c.returncode:
        ok = c.returncode == 1 and "\n" not in msg and "unsupported" in msg
        return name, "unsupported" if ok else "fail", msg
    r = subprocess.run([args.run, os.path.join(work, "m.tsr"), "--output-dir", work,
                        "--input=X=" + os.path.join(work, "x.npy")], capture_output=True, text=True)
    if r.returncode:
        return name, "fail", "tessera-run: " + r.stderr.strip()
    got = np.load(os.path.join(work, "Y.npy")).astype(np.float64)
    for floor_window in (False, True):
        want = reference(ref_model, x, floor_window) if floor_window else want
        if got.shape == want.shape and np.allclose(got, want.astype(np.float64),
                                                   rtol=1e-3, atol=1e-5):
            return name, "pass", "reference window re-placed" if floor_window else ""
    if got.shape != want.shape:
        return name, "fail", "shape %s, expected %s" % (got.shape, want.shape)
    return name, "fail", "max abs error %.3g" % np.max(np.abs(got - want))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--compile", required=True)
    ap.add_argument("--run", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--random", type=int, default=400, help="random cases")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    cases = list(backend_cases()) + list(legacy_cases()) + \
        [random_case(seed) for seed in range(args.random)]
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(lambda c: check(args, c), cases))
    counts = collections.Counter(outcome for _, outcome, _ in results)
    reasons = collections.Counter(msg.split("unsupported ", 1)[-1][:70]
                                  for _, outcome, msg in results if outcome == "unsupported")
    for name, outcome, msg in results:
        if outcome == "fail":
            print("FAIL %s: %s" % (name, msg[:300]))
    for reason, count in reasons.most_common():
        print("unsupported (%d): %s" % (count, reason))
    print("%d cases: pass %d (%d with the reference window re-placed), unsupported %d, "
          "skipped by the reference %d" % (len(results), counts["pass"],
                                           sum(1 for _, o, m in results if o == "pass" and m),
                                           counts["unsupported"], counts["skip"]))
    print("%d passed, %d failed" % (counts["pass"], counts["fail"]))
    return 1 if counts["fail"] else 0


if __name__ == "__main__":
    sys.exit(main())
