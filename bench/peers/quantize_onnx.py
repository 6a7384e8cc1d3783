#!/usr/bin/env python3
"""Writes model_int8.onnx, ONNX Runtime's int8 peer of minilm's int8 precision, for bench/peers/compare.py.

ONNX Runtime's dynamic quantization (onnxruntime.quantization.quantize_dynamic) of
bench/peers/export_onnx.py's export: the linear layers' weights become int8 per output channel
(per_channel=True, weight_type=QuantType.QInt8; symmetric, one F32 scale per column of the
(in, out) weight), and their inputs are quantized to uint8 at run time with one scale and zero
point per tensor (DynamicQuantizeLinear: dynamic quantization offers no finer grain) before
MatMulInteger. Attention's two products (Q K^T, softmax x V) have no constant operand and stay F32
(MatMulConstBOnly, the dynamic default).

Only the linear layers are quantized (op_types_to_quantize), as in minilm's int8 folder.
quantize_dynamic's default operator set would also store the embedding tables (Gather,
EmbedLayerNormalization) as uint8 with one scale per table. Over the parity corpus against
sentence-transformers (bench/peers/compare.py's accuracy table) that gave a lower median cosine
(0.98960 against 0.99061) and Spearman of pairwise cosines (0.98974 against 0.99105), a slightly
higher smallest cosine (0.9632 against 0.9587), and no measured speed-up.

Which export: --source model.onnx (the default) gives 36 MatMulInteger nodes (6 layers x Q, K, V,
attention output, FFN in, FFN out); model_optimized.onnx gives 6 QAttention (the fused Q, K, V
projection with attention) + 18 MatMulInteger, and needs extra_options DefaultTensorType=FLOAT
because ONNX shape inference knows no types for its com.microsoft operators. In 3 alternating
rounds on a busy 2-core AVX-512 VNNI Xeon neither was faster throughout: the winner changed from
case to case and round to round (medians, ms, plain / fused: one 12-token query 4.25 / 2.20 at 1
thread, best rounds 2.1 / 2.0, and 11.3 / 11.5 at 2; 32 x 128 tokens 879 / 1173 and 1636 / 1430;
a quarter of the parity corpus 5473 / 5238 and 6412 / 8341). Their accuracy is the same (median
cosine 0.99061 / 0.99058), so the plain export is kept: the same graph as ort.

Pre-processing (onnxruntime.quantization.shape_inference.quant_pre_process), which
quantize_dynamic's warning recommends, is not run: its symbolic shape inference fails on this
export ("Incomplete symbolic shape inference") unless auto_merge=True, and with auto_merge the
quantized graph had the same 36 MatMulInteger nodes, the same accuracy and no better speed.

The result is checked against the F32 model.onnx on a few sentences (smallest cosine printed).

Usage: python bench/peers/quantize_onnx.py [--model DIR] [--onnx-dir DIR] [--source model.onnx|model_optimized.onnx]
(bench/peers/export_onnx.py runs it after the export; torch is not needed here).
"""
import argparse
import collections
import sys
from pathlib import Path

import numpy as np

SOURCES = ("model.onnx", "model_optimized.onnx")


def write_int8(onnx_dir, source="model.onnx", tokenizer_dir=None):
    """onnx_dir/source -> onnx_dir/model_int8.onnx; returns its path."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    onnx_dir = Path(onnx_dir)
    out = onnx_dir / "model_int8.onnx"
    fused = source == "model_optimized.onnx"
    quantize_dynamic(onnx_dir / source, out, per_channel=True, weight_type=QuantType.QInt8,
                     op_types_to_quantize=["MatMul", "Attention"] if fused else ["MatMul"],
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT} if fused else None)
    ops = collections.Counter(n.op_type for n in onnx.load(str(out)).graph.node)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB) from {source}: "
          + ", ".join(f"{ops[k]} {k}" for k in ("MatMulInteger", "QAttention", "DynamicQuantizeLinear", "MatMul")))
    if tokenizer_dir is not None:
        check(onnx_dir / "model.onnx", out, tokenizer_dir)
    return out


def check(reference, quantized, tokenizer_dir):
    """Fails unless every sentence's int8 embedding is close to the F32 one (cosine > 0.9)."""
    import onnxruntime as ort
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    texts = ["a first example sentence", "one", "und ein vierter Satz auf Deutsch", "五つ目の文は日本語です。",
             "a third sentence, in English, longer than the others " * 3]
    enc = tok(texts, padding=True, return_tensors="np")
    feeds = {k: enc[k].astype(np.int64) if k in enc else np.zeros_like(enc["input_ids"], dtype=np.int64)
             for k in ("input_ids", "attention_mask", "token_type_ids")}
    got = [ort.InferenceSession(str(p), providers=["CPUExecutionProvider"]).run(None, feeds)[0]
           for p in (reference, quantized)]
    cos = np.sum(got[0] * got[1], axis=1) / (np.linalg.norm(got[0], axis=1) * np.linalg.norm(got[1], axis=1))
    print(f"  {quantized.name}: smallest cosine to {reference.name} over {len(texts)} sentences = {cos.min():.4f}")
    if cos.min() < 0.9:
        sys.exit(f"{quantized.name} is too far from {reference.name}")


def main():
    root = Path(__file__).resolve().parents[2]
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=root / "models" / "all-MiniLM-L6-v2",
                    help="the model folder (for its tokenizer, in the check)")
    ap.add_argument("--onnx-dir", type=Path, default=None, help="default: <model>/../onnx/<model name>")
    ap.add_argument("--source", choices=SOURCES, default="model.onnx")
    args = ap.parse_args()
    write_int8(args.onnx_dir or args.model.parent / "onnx" / args.model.name, args.source, args.model)


if __name__ == "__main__":
    main()
