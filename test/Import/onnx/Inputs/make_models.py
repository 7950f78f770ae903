#!/usr/bin/env python3
"""Writes the small ONNX models the importer's lit tests read.

    make_models.py OUTDIR

Models are built with the `onnx` helper with fixed contents; bad models are
built by corrupting good ones. Nothing here comes from Tessera.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out = sys.argv[1]
os.makedirs(out, exist_ok=True)


def save(name, graph, opset=17, **kw):
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="tessera-tests", **kw)
    model.ir_version = 8
    path = os.path.join(out, name + ".onnx")
    onnx.save(model, path)
    return path


def vi(name, shape, dtype=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, dtype, shape)


rng = np.random.default_rng(0)

# --- An MLP: MatMul + Add + Relu + MatMul, weights as initializers. -------
w1 = numpy_helper.from_array(rng.standard_normal((16, 32)).astype(np.float32), "fc1.weight")
b1 = numpy_helper.from_array(rng.standard_normal((32,)).astype(np.float32), "fc1.bias")
w2 = numpy_helper.from_array(rng.standard_normal((32, 4)).astype(np.float32), "fc2.weight")
save("mlp", helper.make_graph(
    [helper.make_node("MatMul", ["x", "fc1.weight"], ["h0"], name="fc1"),
     helper.make_node("Add", ["h0", "fc1.bias"], ["h1"], name="fc1_bias"),
     helper.make_node("Relu", ["h1"], ["h2"], name="act"),
     helper.make_node("MatMul", ["h2", "fc2.weight"], ["y"], name="fc2")],
    "mlp", [vi("x", ["batch", 16])], [vi("y", ["batch", 4])], [w1, b1, w2]))

# --- x.view(x.size(0), -1) as exporters write it. ---------------------------
save("view", helper.make_graph(
    [helper.make_node("Shape", ["x"], ["s"]),
     helper.make_node("Constant", [], ["zero"], value=numpy_helper.from_array(np.array(0, np.int64))),
     helper.make_node("Gather", ["s", "zero"], ["n"], axis=0),
     helper.make_node("Unsqueeze", ["n", "axes0"], ["n1"]),
     helper.make_node("Constant", [], ["minus1"], value=numpy_helper.from_array(np.array([-1], np.int64))),
     helper.make_node("Concat", ["n1", "minus1"], ["shape"], axis=0),
     helper.make_node("Reshape", ["x", "shape"], ["y"], name="flatten")],
    "view", [vi("x", [2, 3, 4])], [vi("y", [2, 12])],
    [numpy_helper.from_array(np.array([0], np.int64), "axes0")]))

# --- Opset-dependent forms: attribute (old) and input (new). ---------------
def forms(opset, attr_form):
    nodes, inits = [], []
    def ints(name, vals):
        inits.append(numpy_helper.from_array(np.array(vals, np.int64), name))
    if attr_form:
        nodes += [helper.make_node("Split", ["x"], ["s0", "s1"], axis=1, split=[1, 3]),
                  helper.make_node("Unsqueeze", ["s0"], ["u"], axes=[0]),
                  helper.make_node("Squeeze", ["u"], ["q"], axes=[0]),
                  helper.make_node("ReduceMean", ["s1"], ["r"], axes=[1], keepdims=0),
                  helper.make_node("Slice", ["x"], ["sl"], starts=[1], ends=[100], axes=[1]) if opset < 10 else
                  helper.make_node("Slice", ["x", "st", "en", "ax"], ["sl"]),
                  helper.make_node("Pad", ["x"], ["p"], pads=[0, 1, 0, 1], mode="constant") if opset < 11 else
                  helper.make_node("Pad", ["x", "pads"], ["p"], mode="constant"),
                  helper.make_node("Clip", ["x"], ["c"], min=-1.0, max=1.0) if opset < 11 else
                  helper.make_node("Clip", ["x", "lo", "hi"], ["c"])]
    else:
        ints("split", [1, 3]); ints("axes0", [0]); ints("axes1", [1])
        nodes += [helper.make_node("Split", ["x", "split"], ["s0", "s1"], axis=1),
                  helper.make_node("Unsqueeze", ["s0", "axes0"], ["u"]),
                  helper.make_node("Squeeze", ["u", "axes0"], ["q"]),
                  helper.make_node("ReduceMean", ["s1", "axes1"], ["r"], keepdims=0),
                  helper.make_node("Slice", ["x", "st", "en", "ax"], ["sl"]),
                  helper.make_node("Pad", ["x", "pads"], ["p"], mode="constant"),
                  helper.make_node("Clip", ["x", "lo", "hi"], ["c"])]
    ints("st", [1]); ints("en", [100]); ints("ax", [1]); ints("pads", [0, 1, 0, 1])
    inits += [numpy_helper.from_array(np.array(-1.0, np.float32), "lo"),
              numpy_helper.from_array(np.array(1.0, np.float32), "hi")]
    return helper.make_graph(nodes, "forms", [vi("x", [2, 4])],
                             [vi("q", [2, 1]), vi("r", [2]), vi("sl", [2, 3]),
                              vi("p", [2, 6]), vi("c", [2, 4])], inits)

save("forms_opset9", forms(9, True), opset=9)
save("forms_opset11", forms(11, True), opset=11)
save("forms_opset18", forms(18, False), opset=18)

# --- Resize forms: scales before opset 11 (an attribute in Upsample-7),
# sizes over some axes with a kept aspect ratio in opset 18. -----------------
def resize_graph(node, inits=()):
    return helper.make_graph([node], "resize", [vi("x", [1, 1, 2, 3])], [vi("y", [1, 1, 4, 6])],
                             list(inits))

f32 = lambda name, v: numpy_helper.from_array(np.array(v, np.float32), name)
save("resize_opset10", resize_graph(helper.make_node("Resize", ["x", "s"], ["y"]),
                                    [f32("s", [1, 1, 2, 2])]), opset=10)
save("upsample_opset7", resize_graph(helper.make_node("Upsample", ["x"], ["y"],
                                                      scales=[1.0, 1.0, 2.0, 2.0])), opset=7)
save("resize_opset18", resize_graph(
    helper.make_node("Resize", ["x", "", "", "z"], ["y"], mode="linear", axes=[-1, 2],
                     keep_aspect_ratio_policy="not_larger"),
    [numpy_helper.from_array(np.array([9, 4], np.int64), "z")]), opset=18)

# --- Bad inputs. -------------------------------------------------------------
def relu_graph(inp_shape=(2, 3), **kw):
    return helper.make_graph([helper.make_node("Relu", ["x"], ["y"], name="relu0")],
                             "g", [vi("x", list(inp_shape))], [vi("y", list(inp_shape))], **kw)

good = save("relu", relu_graph())
open(os.path.join(out, "empty.onnx"), "wb").close()
with open(os.path.join(out, "random.onnx"), "wb") as f:
    f.write(np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes())
data = open(os.path.join(out, "mlp.onnx"), "rb").read()
with open(os.path.join(out, "truncated.onnx"), "wb") as f:
    f.write(data[: len(data) // 2])

save("unsupported", helper.make_graph(
    [helper.make_node("Relu", ["x"], ["h"], name="relu0"),
     helper.make_node("Unique", ["h"], ["y"], name="unique1")],
    "g", [vi("x", [2, 3])], [vi("y", [2, 3])]), opset=13)
save("cycle", helper.make_graph(
    [helper.make_node("Add", ["x", "b"], ["a"], name="n1"),
     helper.make_node("Relu", ["a"], ["b"], name="n2")],
    "g", [vi("x", [2])], [vi("b", [2])]))
save("undefined", helper.make_graph(
    [helper.make_node("Add", ["x", "ghost"], ["y"], name="adder")],
    "g", [vi("x", [2])], [vi("y", [2])]))
save("negative_dim", relu_graph((2, -3)))
save("overflow_dim", relu_graph((4611686018427387904, 4611686018427387904)))
save("dynamic", relu_graph(("batch", 3)))
bad_w = onnx.TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[2, 3],
                         raw_data=b"\0" * 20)  # 2x3 f32 needs 24 bytes
save("size_mismatch", helper.make_graph(
    [helper.make_node("Add", ["x", "w"], ["y"], name="add")],
    "g", [vi("x", [2, 3])], [vi("y", [2, 3])], [bad_w]))
save("wrong_output", helper.make_graph(
    [helper.make_node("Transpose", ["x"], ["y"], name="t")],
    "g", [vi("x", [2, 3])], [vi("y", [2, 3])]))

# --- External data. ------------------------------------------------------------
ext = os.path.join(out, "ext")
os.makedirs(ext, exist_ok=True)
weights = np.arange(128, dtype=np.float32).reshape(2, 64)
weights.tofile(os.path.join(ext, "weights.bin"))


def external(name, location, offset=0, length=None, directory=ext, shape=(2, 64)):
    t = onnx.TensorProto()
    t.name = "w"
    t.data_type = TensorProto.FLOAT
    t.dims.extend(shape)
    t.data_location = TensorProto.EXTERNAL
    entries = [("location", location), ("offset", str(offset))]
    if length is not None:
        entries.append(("length", str(length)))
    for k, v in entries:
        e = t.external_data.add()
        e.key, e.value = k, v
    g = helper.make_graph([helper.make_node("Add", ["x", "w"], ["y"], name="add")],
                          "g", [vi("x", list(shape))], [vi("y", list(shape))], [t])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, os.path.join(directory, name + ".onnx"))

external("ext_ok", "weights.bin", 0, 512)
external("ext_dotdot", "../relu.onnx")
external("ext_absolute", "/etc/passwd")
if not os.path.lexists(os.path.join(ext, "link.bin")):
    os.symlink(os.path.join(out, "relu.onnx"), os.path.join(ext, "link.bin"))
external("ext_symlink", "link.bin")
external("ext_beyond", "weights.bin", 256, 512)
external("ext_missing", "nothere.bin")
# Over 2 GB: a sparse file whose tensor sits past the 2^31 offset, and a
# 2.5 GB tensor mapped from it (the model's weights exceed 2 GB).
big = os.path.join(ext, "big.bin")
with open(big, "wb") as f:
    f.truncate(5 * 2**29 + 4096)
external("ext_over_2gb_offset", "big.bin", 2**31 + 4096, 512)
external("ext_over_2gb_tensor", "big.bin", 0, 5 * 2**29, shape=(5 * 2**27,))

# --- A TensorProto file for --bind-input (an i64 vector). ---------------------
with open(os.path.join(out, "ints.pb"), "wb") as f:
    f.write(numpy_helper.from_array(np.array([1, 2, 3], np.int64)).SerializeToString())

# --- Initializers in typed fields (not raw_data). ------------------------------
typed = [
    helper.make_tensor("f32", TensorProto.FLOAT, [2], [1.5, -2.0]),
    helper.make_tensor("i64", TensorProto.INT64, [3], [7, -8, 9]),
    helper.make_tensor("i32", TensorProto.INT32, [2], [3, -4]),
    helper.make_tensor("b", TensorProto.BOOL, [2], [True, False]),
    helper.make_tensor("f16", TensorProto.FLOAT16, [2],
                       np.array([0.5, -1.0], np.float16).view(np.uint16).tolist(), raw=False),
    helper.make_tensor("f64", TensorProto.DOUBLE, [1], [0.25]),
]
typed[4].ClearField("int32_data")
typed[4].int32_data.extend(np.array([0.5, -1.0], np.float16).view(np.uint16).tolist())
save("typed", helper.make_graph(
    [helper.make_node("Identity", [t.name], [t.name + "_out"]) for t in typed],
    "typed", [], [vi(t.name + "_out", list(t.dims), t.data_type) for t in typed], typed))
bad_dims = onnx.TensorProto(name="w", data_type=TensorProto.FLOAT,
                            dims=[2**40, 2**40], raw_data=b"")
save("init_overflow", helper.make_graph(
    [helper.make_node("Identity", ["w"], ["y"])], "g", [], [vi("y", [1])], [bad_dims]))
