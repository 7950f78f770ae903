#!/usr/bin/env python3
"""The model zoo: Hugging Face `transformers` and `torchvision` models built
from their configurations with random weights (fixed seeds, no hub
downloads), exported to ONNX by torch's two exporters, with inputs and ONNX
Runtime's outputs, cached between runs.

    zoo_models.py [--cache DIR] [--only NAME[,NAME]] [--list]

Each entry is written to CACHE/KEY/NAME.EXPORTER/ (model.onnx, in.X.npy,
ort.Y.npy, meta.json), where KEY names the torch, transformers and
torchvision versions and this file's contents, so a change to either makes
a fresh export. CACHE defaults to $TESSERA_ZOO_CACHE or
~/.cache/tessera/zoo. zoo_check.py imports `ensure` from here.

Exporters: "ts" is torch.onnx.export(dynamo=False) at opset 17 (the
TorchScript exporter); "dynamo" is torch.onnx.export(dynamo=True) at its
default opset (18 in torch 2.9); "ts-batch" is the TorchScript exporter
with a dynamic batch dimension (dynamic_axes, as Hugging Face's exports
have it), compiled with --input-shape.
"""
import argparse
import hashlib
import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def _hf(kind, **config):
    """A transformers model from its configuration class and keyword
    overrides (random weights; the default attention implementation
    unless `attn_implementation` is given)."""
    import transformers
    cfg_cls, model_cls = {
        "gpt2": ("GPT2Config", "GPT2LMHeadModel"),
        "bert": ("BertConfig", "BertModel"),
        "distilbert": ("DistilBertConfig", "DistilBertModel"),
        "llama": ("LlamaConfig", "LlamaForCausalLM"),
        "t5": ("T5Config", "T5EncoderModel"),
        "whisper": ("WhisperConfig", "WhisperModel"),
        "vit": ("ViTConfig", "ViTModel"),
    }[kind]
    cfg = getattr(transformers, cfg_cls)(**config)
    model = getattr(transformers, model_cls)(cfg)
    if kind == "whisper":
        model = model.get_encoder()
    return model


class _First:
    """Wraps a model so that it returns one tensor: the first of its
    outputs (logits or last_hidden_state)."""

    def __new__(cls, model, keys):
        import torch

        class Wrapper(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.model = model

            def forward(self, *args):
                out = self.model(**dict(zip(keys, args)))
                if isinstance(out, torch.Tensor):
                    return out
                if isinstance(out, (tuple, list)):
                    return out[0]
                return out[0] if not hasattr(out, "logits") else out.logits

        return Wrapper()


# name: (builder, inputs {name: (shape, kind)}, exporters, meshes)
# kind: "ids:N" (int64 token ids below N), "mask" (int64 ones with the last
# quarter of each row zero), "normal" (float32). Batch 2, so that dp=2
# splits it; exporters fix the shapes. zoo_check.py compiles the first
# exporter's model for each mesh.
SEQ = 32
B = 2
LM_MESHES = ["dp=2", "tp=2", "tp=4", "dp=2,tp=2"]
CNN_MESHES = ["dp=2"]
MODELS = {
    "gpt2": (lambda: _hf("gpt2"), {"input_ids": ((B, SEQ), "ids:50257")},
             ["ts", "dynamo"], LM_MESHES),
    "bert": (lambda: _hf("bert"),
             {"input_ids": ((B, SEQ), "ids:30522"), "attention_mask": ((B, SEQ), "mask")},
             ["ts"], LM_MESHES),
    "distilbert": (lambda: _hf("distilbert"),
                   {"input_ids": ((B, SEQ), "ids:30522"),
                    "attention_mask": ((B, SEQ), "mask")}, ["ts"],
                   LM_MESHES),
    # Llama-style: RMSNorm, rotary embeddings, grouped-query attention (12
    # query heads over 4 KV heads), SiLU-gated MLP.
    "llama": (lambda: _hf("llama", vocab_size=32000, hidden_size=768,
                          intermediate_size=2048, num_hidden_layers=12,
                          num_attention_heads=12, num_key_value_heads=4,
                          max_position_embeddings=512, tie_word_embeddings=False,
                          # The TorchScript exporter cannot export SDPA with
                          # enable_gqa: eager attention, as users export it.
                          attn_implementation="eager"),
              {"input_ids": ((B, SEQ), "ids:32000")}, ["ts", "dynamo"], LM_MESHES),
    "t5_encoder": (lambda: _hf("t5", d_model=512, d_ff=2048, num_layers=6, num_heads=8),
                   {"input_ids": ((B, SEQ), "ids:32128")}, ["ts"], LM_MESHES),
    # whisper-base's encoder: 80 mel bins x 3000 frames.
    "whisper_encoder": (lambda: _hf("whisper", d_model=512, encoder_layers=6,
                                    encoder_attention_heads=8, decoder_layers=6,
                                    decoder_attention_heads=8, encoder_ffn_dim=2048,
                                    decoder_ffn_dim=2048),
                        {"input_features": ((B, 80, 3000), "normal")}, ["ts"], LM_MESHES),
    "vit_b16": (lambda: _hf("vit"), {"pixel_values": ((B, 3, 224, 224), "normal")}, ["ts"],
                LM_MESHES),
    "resnet50": (lambda: _torchvision("resnet50"),
                 {"x": ((B, 3, 224, 224), "normal")}, ["ts", "dynamo"], CNN_MESHES),
    "mobilenet_v2": (lambda: _torchvision("mobilenet_v2"),
                     {"x": ((B, 3, 224, 224), "normal")}, ["ts"], CNN_MESHES),
    # Batch 3, which dp=2 does not divide: padded to 4 (exported with a
    # dynamic batch dimension, which padding needs).
    "bert_b3": (lambda: _hf("bert"),
                {"input_ids": ((3, SEQ), "ids:30522"), "attention_mask": ((3, SEQ), "mask")},
                ["ts-batch"], ["dp=2", "dp=2,tp=2"]),
    "resnet50_b3": (lambda: _torchvision("resnet50"),
                    {"x": ((3, 3, 224, 224), "normal")}, ["ts-batch"], CNN_MESHES),
}


def cache_key():
    import torch
    import torchvision
    import transformers
    h = hashlib.sha256()
    with open(os.path.abspath(__file__), "rb") as f:
        h.update(f.read())
    h.update(("%s %s %s" % (torch.__version__, transformers.__version__,
                            torchvision.__version__)).encode())
    return "torch-%s-%s" % (torch.__version__.split("+")[0], h.hexdigest()[:10])


def cache_root(cache=None):
    return cache or os.environ.get("TESSERA_ZOO_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "tessera", "zoo")


def _torchvision(name):
    """A torchvision model whose BatchNorm statistics come from a few
    batches of random images (as trained ones would): with the initial
    mean 0 and variance 1, MobileNetV2's logits are about 1e-9, which no
    tolerance can check."""
    import torch
    import torchvision
    model = getattr(torchvision.models, name)()
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.momentum = None  # a cumulative average
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(torch.randn(4, 3, 224, 224))
    return model.eval()


def _inputs(shapes, rng):
    feeds = {}
    for n, (shape, kind) in shapes.items():
        if kind.startswith("ids:"):
            feeds[n] = rng.integers(0, int(kind[4:]), shape).astype(np.int64)
        elif kind == "mask":
            m = np.ones(shape, np.int64)
            m[..., shape[-1] * 3 // 4:] = 0
            feeds[n] = m
        else:
            feeds[n] = rng.standard_normal(shape).astype(np.float32)
    return feeds


def _export(name, exporter, d, shapes=None):
    """Exports NAME with EXPORTER into D (its inputs: SHAPES, default the
    zoo's)."""
    import onnxruntime as ort
    import torch
    build, default_shapes, _, _ = MODELS[name]
    shapes = shapes or default_shapes
    torch.manual_seed(0)
    model = build().eval()
    keys = list(shapes)
    rng = np.random.default_rng(0)
    feeds = _inputs(shapes, rng)
    wrapped = _First(model, keys).eval()
    args = tuple(torch.from_numpy(feeds[k]) for k in keys)
    path = os.path.join(d, "model.onnx")
    start = time.time()
    with torch.no_grad():
        if exporter in ("ts", "ts-batch"):
            dynamic = ({k: {0: "batch"} for k in keys + ["y"]}
                       if exporter == "ts-batch" else None)
            torch.onnx.export(wrapped, args, path, input_names=keys, output_names=["y"],
                              opset_version=17, dynamo=False, dynamic_axes=dynamic)
        else:
            torch.onnx.export(wrapped, args, path, input_names=keys, output_names=["y"],
                              dynamo=True, external_data=False)
        want = wrapped(*args).numpy()
    seconds = time.time() - start
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    got = sess.run(None, feeds)[0]
    for k, a in feeds.items():
        np.save(os.path.join(d, "in.%s.npy" % k), a)
    np.save(os.path.join(d, "ort.y.npy"), got)
    import onnx
    m = onnx.load(path, load_external_data=False)
    opset = max(o.version for o in m.opset_import if o.domain in ("", "ai.onnx"))
    meta = {"name": name, "exporter": exporter, "opset": opset,
            "parameters": int(sum(p.numel() for p in model.parameters())),
            "export_seconds": round(seconds, 1), "inputs": keys,
            "torch_vs_ort_max_abs": float(np.max(np.abs(want - got)))}
    with open(os.path.join(d, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
    return meta


def ensure(name, exporter, cache=None, log=print):
    """The cached export of NAME by EXPORTER (exporting it first when it
    is not cached): its directory."""
    d = os.path.join(cache_root(cache), cache_key(), "%s.%s" % (name, exporter))
    if os.path.exists(os.path.join(d, "meta.json")):
        return d
    tmp = d + ".partial"
    import shutil
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    log("zoo: exporting %s with the %s exporter ..." % (name, exporter))
    meta = _export(name, exporter, tmp)
    log("zoo: %s.%s: opset %d, %.1fM parameters, exported in %.1f s" %
        (name, exporter, meta["opset"], meta["parameters"] / 1e6, meta["export_seconds"]))
    shutil.rmtree(d, ignore_errors=True)
    os.rename(tmp, d)
    return d


# Models whose every export runs on the meshes: GPT-2's dynamo export keeps
# the LM head tied to the embedding (a Transpose of one table), which tp
# splits over the vocabulary; the TorchScript export stores the head as a
# second, transposed copy.
ALL_EXPORTS_ON_MESHES = {"gpt2"}


def entries(only=None):
    """(name, exporter, meshes) per export; meshes only on a model's first
    exporter (all of them for ALL_EXPORTS_ON_MESHES)."""
    for name, (_, _, exporters, meshes) in MODELS.items():
        if only and name not in only:
            continue
        for i, e in enumerate(exporters):
            yield name, e, meshes if i == 0 or name in ALL_EXPORTS_ON_MESHES else []


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache")
    ap.add_argument("--only", help="comma-separated model names")
    ap.add_argument("--list", action="store_true")
    args = ap.parse_args()
    only = set(args.only.split(",")) if args.only else None
    failed = False
    for name, e, _ in entries(only):
        if args.list:
            print("%s.%s" % (name, e))
            continue
        try:
            print(ensure(name, e, args.cache))
        except Exception as ex:
            print("zoo: %s.%s: export failed: %s" % (name, e, str(ex).splitlines()[0]))
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
