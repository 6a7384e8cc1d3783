#!/usr/bin/env python3
"""minilm's peers, side by side: the same texts, the same thread counts, in one run.

Engines (each with its usual best practice):
  st-torch   sentence-transformers on PyTorch: model.encode(texts, batch_size=32), which sorts
             texts by length before batching; torch.set_num_threads(T), inference mode.
  ort        ONNX Runtime on bench/peers/export_onnx.py's model.onnx (the transformer + mean pooling +
             normalisation), graph optimisation level ORT_ENABLE_ALL, intra_op_num_threads=T,
             inter_op_num_threads=1, sequential execution; texts sorted by token count and cut
             into batches of 32, each padded to its longest text; tokenization (Hugging Face's
             fast tokenizer) is inside the timing, as it is for the other engines.
  ort-fused  the same on model_optimized.onnx (ONNX Runtime's transformer optimizer: fused
             Attention, SkipLayerNormalization, BiasGelu, EmbedLayerNormalization).
  ort-int8   the same as ort on model_int8.onnx (bench/peers/quantize_onnx.py: ONNX Runtime's dynamic
             quantization, linear layers' weights int8 per output channel, their inputs uint8
             per tensor at run time).
  minilm     only with --minilm-bin PATH (see MINILM INTERFACE below); skipped otherwise.
  minilm-int8  the same binary on the int8 model folder --minilm-int8-model (default
             models/all-MiniLM-L6-v2-int8, written by `minilm quantize`); skipped if absent.

Cases (the texts are real: tests/data/encoder/texts.txt, the parity corpus):
  1x12       one query of 12 tokens ([CLS] + 10 word pieces + [SEP]): latency of one call.
  32x128     32 texts of exactly 128 tokens each (corpus words, then " a" to fill up), one batch.
  32x256     the same with 256 tokens.
  mixed      every text of the parity corpus (mixed lengths, truncated at 256 tokens like
             sentence-transformers), in batches of 32.
Each case runs at 1 thread and at every core (os.cpu_count()); every figure is the median of
--reps timed repetitions (after one untimed warm-up), and the 1x12 latency the median of
--latency-reps calls. "max |diff|" is the largest absolute difference of any embedding
component from sentence-transformers' (the 1-thread run), over all cases. When minilm-int8 ran,
the table gains a column of its speed-up over every other engine. When ort-int8 or minilm-int8
ran, a second table sets the int8 engines beside the F32 ones, case by case: ort-int8's speed-up
over ort, and minilm-int8's over minilm, ort and ort-int8.

Accuracy (unless --no-accuracy): every engine's embeddings of the parity corpus (its mixed case,
the run at the fewest threads; embedded once, untimed, if the mixed case was not run) against
sentence-transformers' F32 ones (st-torch's mixed case, or computed with 1 thread if st-torch was
not run): the median and the smallest cosine per text, and the Spearman correlation of the
cosine similarities of all pairs of the first 1,000 texts (499,500 pairs) with those of
sentence-transformers (Pearson's correlation of the ranks, ties given their average rank).

MINILM INTERFACE (the hook for the minilm engines): compare.py runs
    PATH --model DIR --threads T --batch-size 32 --repetitions R --texts FILE --embeddings OUT
with DIR --model for minilm and --minilm-int8-model for minilm-int8, where FILE holds the case's
texts, UTF-8, one per line (split on "\\n" only). PATH must open the model, run one untimed
warm-up pass over all texts, then R timed passes, each embedding every text of FILE in order, 32
at a time (how it batches inside is its own business), write the last pass's embeddings to OUT
as raw little-endian float32, n_texts x hidden, row i for line i, and print one JSON object on
stdout:
    {"times_ms": [t_1, ..., t_R], "open_ms": <optional>, "peak_rss_kb": <optional>}
with t_r the wall time of pass r from texts to embeddings (tokenization included).

Usage (from the repository root; bench/peers/export_onnx.py first):
    HF_HUB_OFFLINE=1 /opt/refenv/bin/python bench/peers/compare.py [--minilm-bin build-perf/bench/micro/bench_embed]
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

ROOT = Path(__file__).resolve().parents[2]
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

    def __init__(self, binary, model_dir, reps, name="minilm"):
        self.binary, self.model_dir, self.reps, self.name = binary, model_dir, reps, name
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

    def embed(self, texts):
        return self.run(texts, 1)[1]


def average_ranks(x):
    """Ranks 1..n of x's values, ties sharing the average of the ranks they span."""
    order = np.argsort(x, kind="stable")
    _, first, counts = np.unique(x[order], return_index=True, return_counts=True)
    ranks = np.empty(len(x))
    ranks[order] = np.repeat(first + (counts + 1) / 2, counts)
    return ranks


def spearman(a, b):
    ra, rb = average_ranks(a), average_ranks(b)
    ra -= ra.mean()
    rb -= rb.mean()
    return float(ra @ rb / np.sqrt((ra @ ra) * (rb @ rb)))


def unit_rows(emb):
    emb = np.asarray(emb, dtype=np.float64)
    return emb / np.linalg.norm(emb, axis=1, keepdims=True)


def pair_cosines(emb):
    """Cosine similarity of every pair i < j of emb's rows."""
    u = unit_rows(emb)
    return (u @ u.T)[np.triu_indices(len(u), k=1)]


def accuracy_rows(engines, corpus, embedded, reference, n_pairs_texts=1000):
    """Each engine's per-text cosine and pairwise-similarity Spearman against reference."""
    ref_unit = unit_rows(reference)
    ref_pairs = pair_cosines(reference[:n_pairs_texts])
    rows = []
    for engine in engines:
        emb = embedded.get(engine.name)
        if emb is None:
            engine.set_threads(1)
            emb = engine.embed(corpus)
        cos = np.sum(unit_rows(emb) * ref_unit, axis=1)
        rows.append({"engine": engine.name, "median_cos": float(np.median(cos)), "min_cos": float(cos.min()),
                     "argmin": int(cos.argmin()),
                     "spearman": spearman(pair_cosines(emb[:n_pairs_texts]), ref_pairs)})
        print(f"  accuracy {engine.name:11s} done", file=sys.stderr, flush=True)
    return rows


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=ROOT / "models" / "all-MiniLM-L6-v2")
    ap.add_argument("--onnx-dir", type=Path, default=None, help="default: <model>/../onnx/<model name>")
    ap.add_argument("--texts", type=Path, default=ROOT / "tests" / "data" / "encoder" / "texts.txt")
    ap.add_argument("--minilm-bin", type=Path, default=None, help="the minilm engine (MINILM INTERFACE); skipped when absent")
    ap.add_argument("--minilm-int8-model", type=Path, default=ROOT / "models" / "all-MiniLM-L6-v2-int8",
                    help="the int8 model folder for minilm-int8 (same --minilm-bin); skipped when absent")
    ap.add_argument("--threads", default=None, help="comma-separated thread counts (default: 1 and os.cpu_count())")
    ap.add_argument("--cases", default="1x12,32x128,32x256,mixed")
    ap.add_argument("--engines", default="st-torch,ort,ort-fused,ort-int8,minilm,minilm-int8")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--latency-reps", type=int, default=50)
    ap.add_argument("--no-accuracy", action="store_true", help="skip the accuracy table")
    ap.add_argument("--json", type=Path, default=None, help="also write the rows here")
    return ap.parse_args()


def print_environment(args, n_cpu, threads):
    import onnxruntime
    import sentence_transformers
    import torch
    print(f"machine: {platform.processor() or platform.machine()}, os.cpu_count() = {n_cpu}; "
          f"threads measured: {threads}")
    print(f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')} "
          f"OPENBLAS_L2_SIZE={os.environ.get('OPENBLAS_L2_SIZE', '(unset)')} (no engine here uses OpenBLAS)")
    print(f"torch {torch.__version__}, sentence-transformers {sentence_transformers.__version__}, "
          f"onnxruntime {onnxruntime.__version__}, numpy {np.__version__}")
    print(f"median of {args.reps} repetitions ({args.latency_reps} calls for 1x12), after one warm-up")


def st_torch_engines(args, wanted):
    return [StTorch(args.model)] if "st-torch" in wanted else []


def ort_engines(onnx_dir, tokenizer, wanted):
    engines = []
    for name, file, tool in (("ort", "model.onnx", "export_onnx.py"),
                             ("ort-fused", "model_optimized.onnx", "export_onnx.py"),
                             ("ort-int8", "model_int8.onnx", "quantize_onnx.py")):
        if name in wanted:
            if (onnx_dir / file).exists():
                engines.append(Ort(name, onnx_dir / file, tokenizer))
            else:
                print(f"{name}: {onnx_dir / file} missing (run bench/peers/{tool}); skipped")
    return engines


def minilm_engines(args, wanted):
    engines = []
    for name, model_dir in (("minilm", args.model), ("minilm-int8", args.minilm_int8_model)):
        if name not in wanted:
            continue
        if not (args.minilm_bin and args.minilm_bin.exists()):
            print(f"{name}: no --minilm-bin given (or not found); skipped")
        elif not model_dir.is_dir():
            print(f"{name}: {model_dir} missing (write it with `minilm quantize --model {args.model} "
                  f"--out {model_dir}`); skipped")
        else:
            engines.append(Minilm(args.minilm_bin, model_dir, args.reps, name))
    return engines


def run_engine(engine, t, cases, args, threads, rows, reference, max_diff, corpus_emb):
    """Times one engine on every case at t threads, appending to rows and the comparisons."""
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
        if case == "mixed" and t == min(threads):
            corpus_emb[engine.name] = emb
        if case in reference:
            diff = float(np.abs(emb - reference[case]).max())
            max_diff[engine.name] = max(max_diff.get(engine.name, 0.0), diff)
        rows.append({"engine": engine.name, "threads": t, "case": case, "ms": ms,
                     "sent_per_s": len(texts) / ms * 1e3})
        print(f"  {engine.name:9s} {t} thr {case:7s} {ms:10.2f} ms", file=sys.stderr, flush=True)


def print_speed_table(rows, by_key, max_diff, int8):
    def speed_up(r, over):
        """over's speed-up on r's cell: r's time / over's time, as text ("" when not measured)."""
        m = by_key.get((over, r["threads"], r["case"]))
        return f"{r['ms'] / m['ms']:.2f}x" if m and r["engine"] != over else ""

    print("| engine | threads | case | median ms | sentences/s | minilm speed-up |"
          + (" minilm-int8 speed-up |" if int8 else "") + " max abs diff vs st-torch |")
    print("|---|---|---|---|---|---|---|" + ("---|" if int8 else ""))
    for r in rows:
        diff = max_diff.get(r["engine"])
        print(f"| {r['engine']} | {r['threads']} | {r['case']} | {r['ms']:.2f} | {r['sent_per_s']:.1f} | "
              f"{speed_up(r, 'minilm')} |" + (f" {speed_up(r, 'minilm-int8')} |" if int8 else "")
              + f" {'' if diff is None else f'{diff:.2e}'} |")


def print_int8_table(by_key, threads, cases):
    # The int8 engines beside the F32 ones: each ratio is the F32 (or other) engine's time over
    # the int8 engine's, so above 1x means int8 is faster.
    print()
    print("| threads | case | ort ms | ort-int8 ms | ort-int8 vs ort | minilm ms | minilm-int8 ms | "
          "minilm-int8 vs minilm | minilm-int8 vs ort | minilm-int8 vs ort-int8 |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for t in threads:
        for case in cases:
            ms = {e: by_key[(e, t, case)]["ms"] for e in ("ort", "ort-int8", "minilm", "minilm-int8")
                  if (e, t, case) in by_key}

            def fmt(e):
                return f"{ms[e]:.2f}" if e in ms else ""

            def ratio(num, den):
                return f"{ms[num] / ms[den]:.2f}x" if num in ms and den in ms else ""

            print(f"| {t} | {case} | {fmt('ort')} | {fmt('ort-int8')} | {ratio('ort', 'ort-int8')} | "
                  f"{fmt('minilm')} | {fmt('minilm-int8')} | {ratio('minilm', 'minilm-int8')} | "
                  f"{ratio('ort', 'minilm-int8')} | {ratio('ort-int8', 'minilm-int8')} |")


def print_accuracy(args, engines, corpus, corpus_emb):
    ref = corpus_emb.get("st-torch")
    if ref is None:
        st = StTorch(args.model)
        st.set_threads(1)
        ref = st.embed(corpus)
    accuracy = accuracy_rows(engines, corpus, corpus_emb, ref)
    n_pairs = min(len(corpus), 1000)
    print()
    print(f"Accuracy against sentence-transformers F32 (st-torch), {len(corpus)} texts of {args.texts.name} "
          f"(truncated at {MAX_TOKENS} tokens); Spearman over the {n_pairs * (n_pairs - 1) // 2} pairs of "
          f"the first {n_pairs} texts")
    print()
    print("| engine | median cosine | min cosine (text) | Spearman of pairwise cosines |")
    print("|---|---|---|---|")
    for a in accuracy:
        print(f"| {a['engine']} | {a['median_cos']:.6f} | {a['min_cos']:.6f} (line {a['argmin'] + 1}) | "
              f"{a['spearman']:.6f} |")
    return accuracy


def main():
    args = parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    n_cpu = os.cpu_count()
    threads = [int(t) for t in args.threads.split(",")] if args.threads else sorted({1, n_cpu})
    onnx_dir = args.onnx_dir or args.model.parent / "onnx" / args.model.name
    wanted = args.engines.split(",")

    print_environment(args, n_cpu, threads)
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(args.model))
    corpus = args.texts.read_text(encoding="utf-8").split("\n")
    if corpus and corpus[-1] == "":
        corpus.pop()
    cases = {k: v for k, v in make_cases(tokenizer, corpus).items() if k in args.cases.split(",")}
    for name, texts in cases.items():
        n_tok = [len(t) for t in tokenizer(texts, truncation=True, max_length=MAX_TOKENS)["input_ids"]]
        print(f"case {name}: {len(texts)} texts, {sum(n_tok)} tokens (min {min(n_tok)}, max {max(n_tok)})")

    engines = (st_torch_engines(args, wanted) + ort_engines(onnx_dir, tokenizer, wanted)
               + minilm_engines(args, wanted))

    rows, reference, max_diff, corpus_emb = [], {}, {}, {}
    for t in threads:
        for engine in engines:
            run_engine(engine, t, cases, args, threads, rows, reference, max_diff, corpus_emb)

    print()
    by_key = {(r["engine"], r["threads"], r["case"]): r for r in rows}
    int8 = any(r["engine"] == "minilm-int8" for r in rows)
    print_speed_table(rows, by_key, max_diff, int8)
    if int8 or any(r["engine"] == "ort-int8" for r in rows):
        print_int8_table(by_key, threads, cases)

    accuracy = []
    if not args.no_accuracy:
        accuracy = print_accuracy(args, engines, corpus, corpus_emb)
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "max_abs_diff": max_diff, "threads": threads,
                                         "accuracy": accuracy}, indent=1))


if __name__ == "__main__":
    main()
