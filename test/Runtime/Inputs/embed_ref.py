#!/usr/bin/env python3
"""embed_ref.py make MODEL.onnx INPUT.bin SHAPE  -- writes a random f32 input
   embed_ref.py check MODEL.onnx INPUT.bin OUTPUT.bin SHAPE
Compares embed-c's raw output with ONNX Runtime's (rtol 1e-3, atol 1e-5)."""
import sys

import numpy as np
import onnxruntime as ort

mode, model, inp = sys.argv[1:4]
shape = tuple(int(d) for d in sys.argv[-1].split("x"))
if mode == "make":
    np.random.default_rng(5).standard_normal(shape).astype(np.float32).tofile(inp)
    sys.exit(0)
x = np.fromfile(inp, np.float32).reshape(shape)
sess = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
ref = sess.run(None, {sess.get_inputs()[0].name: x})[0]
got = np.fromfile(sys.argv[4], np.float32).reshape(ref.shape)
err = float(np.max(np.abs(got - ref)))
ok = np.allclose(got, ref, rtol=1e-3, atol=1e-5)
print("embed-c vs ONNX Runtime: %s (max abs error %.3g)" % ("match" if ok else "MISMATCH", err))
sys.exit(0 if ok else 1)
