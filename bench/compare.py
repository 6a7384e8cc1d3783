#!/usr/bin/env python3
"""minilm's peers, side by side: the same texts, the same thread counts, in one run.

Engines (each with its usual best practice):
  st-torch   sentence-transformers on PyTorch: model.encode(texts, batch_size=32), which sorts
             texts by length before batching; torch.set_num_threads(T), inference mode.
  ort        ONNX Runtime on tools/export_onnx.py's model.onnx (the transformer + mean pooling +
             normalisation), graph optimisation level ORT_ENABLE_ALL, intra_op_num_threads=T,
             inter_op_num_threads=1, sequential execution; texts sorted by token count and cut
             into batches of 32, each padded to its longest text; tokenization (Hugging Face's
             fast tokenizer) is inside the timing, as it is for the other engines.
  ort-fused  the same on model_optimized.onnx (ONNX Runtime's transformer optimizer: fused
             Attention, SkipLayerNormalization, BiasGelu, EmbedLayerNormalization).
  minilm     only with --minilm-bin PATH (see MINILM INTERFACE below); skipped otherwise.

Cases (the texts are real: tests/data/encoder/texts.txt, the parity corpus):
  1x12       one query of 12 tokens ([CLS] + 10 word pieces + [SEP]): latency of one call.
  32x128     32 texts of exactly 128 tokens each (corpus words, then " a" to fill up), one batch.
  32x256     the same with 256 tokens.
  mixed      every text of the parity corpus (mixed lengths, truncated at 256 tokens like
             sentence-transformers), in batches of 32.
Each case runs at 1 thread and at every core (os.cpu_count()); every figure is the median of
--reps timed repetitions (after one untimed warm-up), and the 1x12 latency the median of
--latency-reps calls. "max |diff|" is the largest absolute difference of any embedding
component from sentence-transformers' (the 1-thread run), over all cases.

MINILM INTERFACE (the hook for the minilm engine): compare.py runs
    PATH --model DIR --threads T --batch-size 32 --repetitions R --texts FILE --embeddings OUT
where FILE holds the case's texts, UTF-8, one per line (split on "\\n" only). PATH must open the
model, run one untimed warm-up pass over all texts, then R timed passes, each embedding every
text of FILE in order, 32 at a time (how it batches inside is its own business), write the
last pass's embeddings to OUT as raw little-endian float32, n_texts x hidden, row i for line i,
and print one JSON object on stdout:
    {"times_ms": [t_1, ..., t_R], "open_ms": <optional>, "peak_rss_kb": <optional>}
with t_r the wall time of pass r from texts to embeddings (tokenization included).

Usage (from the repository root; tools/export_onnx.py first):
    HF_HUB_OFFLINE=1 /opt/refenv/bin/python bench/compare.py [--minilm-bin build-perf/bench/bench_embed]
OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE, set on some machines because old OpenBLAS builds
misbehave on their processors, are printed; none of the engines here calls OpenBLAS (PyTorch uses
its own bundled GEMMs), so they are left as they are.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
BATCH = 32
MAX_TOKENS = 256


def median_ms(fn, reps):
    fn()  # warm-up: allocations, lazy initialisation, caches
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def texts_of_tokens(tokenizer, words, n_tokens, count, start):
    """count texts of exactly n_tokens tokens (with [CLS] and [SEP]), from the corpus' words."""
    texts, w = [], start
    target = n_tokens - 2
    for _ in range(count):
        picked = []
        while True:
            candidate = picked + [words[w % len(words)]]
            if len(tokenizer(" ".join(candidate), add_special_tokens=False)["input_ids"]) > target:
                break
            picked = candidate
            w += 1
        text = " ".join(picked)
        while len(tokenizer(text, add_special_tokens=False)["input_ids"]) < target:
            text += " a"  # one word piece each
        assert len(tokenizer(text)["input_ids"]) == n_tokens
        texts.append(text)
    return texts


def make_cases(tokenizer, corpus):
    words = " ".join(corpus).split()
    query = texts_of_tokens(tokenizer, words, 12, 1, 0)
    return {
        "1x12": query,
        "32x128": texts_of_tokens(tokenizer, words, 128, BATCH, 1000),
        "32x256": texts_of_tokens(tokenizer, words, 256, BATCH, 20000),
        "mixed": corpus,
    }


class StTorch:
    name = "st-torch"

    def __init__(self, model_dir):
        import torch
        from sentence_transformers import SentenceTransformer
        self.torch = torch
        self.model = SentenceTransformer(str(model_dir), device="cpu")
        self.model.max_seq_length = MAX_TOKENS

    def set_threads(self, threads):
        self.torch.set_num_threads(threads)

    def embed(self, texts):
        with self.torch.inference_mode():
            return self.model.encode(texts, batch_size=BATCH, convert_to_numpy=True, show_progress_bar=False)


class Ort:
    def __init__(self, name, path, tokenizer):
        self.name, self.path, self.tokenizer = name, path, tokenizer
        self.session = None

    def set_threads(self, threads):
        import onnxruntime as ort
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        self.session = ort.InferenceSession(str(self.path), opts, providers=["CPUExecutionProvider"])

    def embed(self, texts):
        lengths = [len(ids) for ids in self.tokenizer(texts, truncation=True, max_length=MAX_TOKENS)["input_ids"]]
        order = np.argsort([-n for n in lengths], kind="stable")
        out = np.empty((len(texts), 384), dtype=np.float32)
        for b in range(0, len(texts), BATCH):
            idx = order[b:b + BATCH]
            enc = self.tokenizer([texts[i] for i in idx], padding="longest", truncation=True,
                                 max_length=MAX_TOKENS, return_tensors="np")
            feeds = {k: enc[k].astype(np.int64) for k in ("input_ids", "attention_mask", "token_type_ids")}
            out[idx] = self.session.run(None, feeds)[0]
        return out


class Minilm:
    """An external binary that follows the MINILM INTERFACE in this file's docstring."""
    name = "minilm"

    def __init__(self, binary, model_dir, reps):
        self.binary, self.model_dir, self.reps = binary, model_dir, reps
        self.threads = 1

    def set_threads(self, threads):
        self.threads = threads

    def run(self, texts, reps):
        with tempfile.TemporaryDirectory() as tmp:
            src, dst = Path(tmp) / "texts.txt", Path(tmp) / "embeddings.f32"
            src.write_text("\n".join(texts), encoding="utf-8")
            res = subprocess.run([str(self.binary), "--model", str(self.model_dir), "--threads", str(self.threads),
                                  "--batch-size", str(BATCH), "--repetitions", str(reps), "--texts", str(src),
                                  "--embeddings", str(dst)], capture_output=True, text=True, check=True)
            report = json.loads(res.stdout)
            emb = np.fromfile(dst, dtype="<f4").reshape(len(texts), -1)
        return statistics.median(report["times_ms"]), emb, report


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=ROOT / "models" / "all-MiniLM-L6-v2")
    ap.add_argument("--onnx-dir", type=Path, default=None, help="default: <model>/../onnx/<model name>")
    ap.add_argument("--texts", type=Path, default=ROOT / "tests" / "data" / "encoder" / "texts.txt")
    ap.add_argument("--minilm-bin", type=Path, default=None, help="the minilm engine (MINILM INTERFACE); skipped when absent")
    ap.add_argument("--threads", default=None, help="comma-separated thread counts (default: 1 and os.cpu_count())")
    ap.add_argument("--cases", default="1x12,32x128,32x256,mixed")
    ap.add_argument("--engines", default="st-torch,ort,ort-fused,minilm")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--latency-reps", type=int, default=50)
    ap.add_argument("--json", type=Path, default=None, help="also write the rows here")
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    n_cpu = os.cpu_count()
    threads = [int(t) for t in args.threads.split(",")] if args.threads else sorted({1, n_cpu})
    onnx_dir = args.onnx_dir or args.model.parent / "onnx" / args.model.name
    wanted = args.engines.split(",")

    import onnxruntime
    import sentence_transformers
    import torch
    from transformers import AutoTokenizer
    print(f"machine: {platform.processor() or platform.machine()}, os.cpu_count() = {n_cpu}; "
          f"threads measured: {threads}")
    print(f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')} "
          f"OPENBLAS_L2_SIZE={os.environ.get('OPENBLAS_L2_SIZE', '(unset)')} (no engine here uses OpenBLAS)")
    print(f"torch {torch.__version__}, sentence-transformers {sentence_transformers.__version__}, "
          f"onnxruntime {onnxruntime.__version__}, numpy {np.__version__}")
    print(f"median of {args.reps} repetitions ({args.latency_reps} calls for 1x12), after one warm-up")

    tokenizer = AutoTokenizer.from_pretrained(str(args.model))
    corpus = args.texts.read_text(encoding="utf-8").split("\n")
    if corpus and corpus[-1] == "":
        corpus.pop()
    cases = {k: v for k, v in make_cases(tokenizer, corpus).items() if k in args.cases.split(",")}
    for name, texts in cases.items():
        n_tok = [len(t) for t in tokenizer(texts, truncation=True, max_length=MAX_TOKENS)["input_ids"]]
        print(f"case {name}: {len(texts)} texts, {sum(n_tok)} tokens (min {min(n_tok)}, max {max(n_tok)})")

    engines = []
    if "st-torch" in wanted:
        engines.append(StTorch(args.model))
    for name, file in (("ort", "model.onnx"), ("ort-fused", "model_optimized.onnx")):
        if name in wanted:
            if (onnx_dir / file).exists():
                engines.append(Ort(name, onnx_dir / file, tokenizer))
            else:
                print(f"{name}: {onnx_dir / file} missing (run tools/export_onnx.py); skipped")
    if "minilm" in wanted:
        if args.minilm_bin and args.minilm_bin.exists():
            engines.append(Minilm(args.minilm_bin, args.model, args.reps))
        else:
            print("minilm: no --minilm-bin given (or not found); skipped")

    rows, reference, max_diff = [], {}, {}
    for t in threads:
        for engine in engines:
            engine.set_threads(t)
            for case, texts in cases.items():
                reps = args.latency_reps if case == "1x12" else args.reps
                if isinstance(engine, Minilm):
                    ms, emb, _ = engine.run(texts, reps)
                else:
                    holder = {}
                    ms = median_ms(lambda: holder.__setitem__("emb", engine.embed(texts)), reps)
                    emb = holder["emb"]
                if engine.name == "st-torch" and case not in reference:
                    reference[case] = emb
                if case in reference:
                    diff = float(np.abs(emb - reference[case]).max())
                    max_diff[engine.name] = max(max_diff.get(engine.name, 0.0), diff)
                rows.append({"engine": engine.name, "threads": t, "case": case, "ms": ms,
                             "sent_per_s": len(texts) / ms * 1e3})
                print(f"  {engine.name:9s} {t} thr {case:7s} {ms:10.2f} ms", file=sys.stderr, flush=True)

    print()
    print("| engine | threads | case | median ms | sentences/s | minilm speed-up | max abs diff vs st-torch |")
    print("|---|---|---|---|---|---|---|")
    by_key = {(r["engine"], r["threads"], r["case"]): r for r in rows}
    for r in rows:
        m = by_key.get(("minilm", r["threads"], r["case"]))
        ratio = f"{r['ms'] / m['ms']:.2f}x" if m and r["engine"] != "minilm" else ""
        diff = max_diff.get(r["engine"])
        print(f"| {r['engine']} | {r['threads']} | {r['case']} | {r['ms']:.2f} | {r['sent_per_s']:.1f} | {ratio} | "
              f"{'' if diff is None else f'{diff:.2e}'} |")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "max_abs_diff": max_diff, "threads": threads}, indent=1))


if __name__ == "__main__":
    main()
