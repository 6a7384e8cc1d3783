#!/usr/bin/env python3
"""Exports a sentence-transformers BERT or XLM-RoBERTa model folder with mean pooling to ONNX,
for bench/peers/compare.py and bench/peers/compare_memory.py.

Writes into OUT (default: <model>/../onnx/<model name>/, which /models/ keeps out of git):
  model.onnx            the transformer plus mean pooling and, when modules.json lists Normalize,
                        L2 normalisation, exported with torch.onnx.export (TorchScript
                        exporter) from transformers' AutoModel (BertModel, XLMRobertaModel) with
                        eager attention; inputs input_ids, attention_mask, token_type_ids
                        (int64, [batch, seq]; all 0 where the tokenizer has none), output
                        sentence_embedding [batch, hidden].
  model_optimized.onnx  the same graph after ONNX Runtime's transformer optimizer
                        (onnxruntime.transformers.optimizer, model_type 'bert'), which fuses
                        attention, LayerNorm, GELU and bias adds. Written only if it fused
                        attention; the fused operator counts are printed either way.
  model_int8.onnx       model.onnx with its linear layers' weights int8 per output channel and
                        their inputs quantized at run time (ONNX Runtime's quantize_dynamic):
                        bench/peers/quantize_onnx.py, which says what is quantized and why; it can
                        also be run on its own, without torch, on an existing export.

Usage: HF_HUB_OFFLINE=1 python bench/peers/export_onnx.py [--model DIR] [--out DIR]
"""
import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np
import torch


class MeanPooledBert(torch.nn.Module):
    """Transformer -> mean over unmasked tokens -> [L2 normalise] (sentence-transformers' modules)."""

    def __init__(self, bert, normalize):
        super().__init__()
        self.bert = bert
        self.normalize = normalize

    def forward(self, input_ids, attention_mask, token_type_ids):
        hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                           token_type_ids=token_type_ids).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        summed = (hidden * mask).sum(dim=1)
        counts = torch.clamp(mask.sum(dim=1), min=1e-9)
        pooled = summed / counts
        return torch.nn.functional.normalize(pooled, p=2.0, dim=1) if self.normalize else pooled


def main():
    root = Path(__file__).resolve().parents[2]
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=root / "models" / "all-MiniLM-L6-v2")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--opset", type=int, default=17)
    args = ap.parse_args()
    out = args.out or args.model.parent / "onnx" / args.model.name
    out.mkdir(parents=True, exist_ok=True)

    from transformers import AutoModel, AutoTokenizer

    modules = json.loads((args.model / "modules.json").read_text())
    normalize = any(m["type"].endswith("Normalize") for m in modules)
    # Eager attention: the explicit MatMul/Softmax pattern that ORT's optimizer knows how to fuse.
    bert = AutoModel.from_pretrained(str(args.model), attn_implementation="eager", add_pooling_layer=False)
    bert.eval()
    model = MeanPooledBert(bert, normalize).eval()
    config = json.loads((args.model / "config.json").read_text())

    tok = AutoTokenizer.from_pretrained(str(args.model))
    enc = tok(["a first example sentence", "and a second, somewhat longer example sentence"],
              padding=True, return_tensors="pt")
    types = enc["token_type_ids"] if "token_type_ids" in enc else torch.zeros_like(enc["input_ids"])
    inputs = (enc["input_ids"], enc["attention_mask"], types)
    plain = out / "model.onnx"
    with torch.no_grad():
        expected = model(*inputs).numpy()
        torch.onnx.export(
            model, inputs, str(plain), dynamo=False, opset_version=args.opset,
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["sentence_embedding"],
            dynamic_axes={name: {0: "batch", 1: "sequence"} for name in
                          ("input_ids", "attention_mask", "token_type_ids")} | {"sentence_embedding": {0: "batch"}})
    print(f"wrote {plain} ({plain.stat().st_size / 1e6:.1f} MB)")

    import onnxruntime as ort
    names = ("input_ids", "attention_mask", "token_type_ids")
    # The traced inputs, and a batch of another size and length: the graph must not have kept the
    # traced shapes.
    other_texts = ["one", "a third sentence, in English, longer than both of the traced ones " * 3,
                   "und ein vierter Satz auf Deutsch", "五つ目の文は日本語です。"]
    other = tok(other_texts, padding=True, return_tensors="pt")
    other_types = other["token_type_ids"] if "token_type_ids" in other else torch.zeros_like(other["input_ids"])
    other_inputs = (other["input_ids"], other["attention_mask"], other_types)
    with torch.no_grad():
        other_expected = model(*other_inputs).numpy()
    cases = [(f"{len(inputs[0])} x {inputs[0].shape[1]} tokens (traced)", inputs, expected),
             (f"{len(other_inputs[0])} x {other_inputs[0].shape[1]} tokens", other_inputs, other_expected)]

    def check(path):
        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        for what, case_inputs, case_expected in cases:
            got = sess.run(None, {k: v.numpy() for k, v in zip(names, case_inputs)})[0]
            diff = float(np.abs(got - case_expected).max()) if got.shape == case_expected.shape else float("inf")
            print(f"  {path.name}: max |diff| from PyTorch on {what} = {diff:.2e}")
            if diff > 1e-4:
                sys.exit(f"{path.name} does not match PyTorch")

    check(plain)

    from onnxruntime.transformers import optimizer
    opt = optimizer.optimize_model(str(plain), model_type="bert", num_heads=config["num_attention_heads"],
                                   hidden_size=config["hidden_size"], opt_level=1)
    counts = opt.get_fused_operator_statistics()
    print("  transformer optimizer fused operators:", {k: v for k, v in counts.items() if v})
    if counts.get("Attention", 0) + counts.get("MultiHeadAttention", 0) == 0:
        print("  no attention fused: model_optimized.onnx not written")
    else:
        fused = out / "model_optimized.onnx"
        opt.save_model_to_file(str(fused))
        print(f"wrote {fused}")
        check(fused)

    from quantize_onnx import write_int8  # bench/peers/, this script's folder
    write_int8(out, tokenizer_dir=args.model)


if __name__ == "__main__":
    main()
