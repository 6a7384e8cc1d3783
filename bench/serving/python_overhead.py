#!/usr/bin/env python3
"""What the Python API costs on top of the C++ call: minilm.Encoder.encode against bench_embed.

    /root/pydev/bin/python bench/serving/python_overhead.py --bench-embed build-perf/bench/micro/bench_embed \\
        [--model models/all-MiniLM-L6-v2] [--rounds 15] [--single-reps 200] [--batch-reps 20]

Run it with the Python where the minilm package is installed. Two cases, on the same texts (lines
of tests/data/encoder/texts.txt, split on "\\n" only, picked with --seed):
  1 sentence    encode([text]): one text per call
  32 sentences  encode(texts) with 32 texts (batch_size=32: one call into the library)
Both sides run 1 thread (minilm.Encoder(model, threads=1); bench_embed --threads 1) and one
library call per timed call (bench_embed --batch-size equal to the number of texts, so a pass is
one encoder::encode of every text). Python: the median of --single-reps (--batch-reps) calls of
Encoder.encode, timed with time.perf_counter after 20 untimed calls; everything the call does is
in: the list, the numpy output array, the binding, the GIL release. C++: bench_embed --texts FILE
--repetitions R, the median of its "times_ms" (one pass = one encode() call plus copying the
embeddings out, after an untimed pass). Each of --rounds rounds measures both sides back to back
(which side goes first alternates). The times are the medians of the rounds' medians; the
overhead is the median over the rounds of (Python - C++) within a round, in µs and in % of that
round's C++ time; the range over the rounds in brackets. The embeddings of both
sides are compared (they should be identical: same library, same code path).
"""
import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]


def python_median_us(encoder, texts, reps):
    for _ in range(20):
        encoder.encode(texts)
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        encoder.encode(texts)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e6


def cpp_median_us(binary, model, texts_file, n_texts, reps, out_file):
    res = subprocess.run([str(binary), "--model", str(model), "--threads", "1", "--batch-size", str(n_texts),
                          "--repetitions", str(reps), "--texts", str(texts_file), "--embeddings", str(out_file)],
                         capture_output=True, text=True, check=True)
    return statistics.median(json.loads(res.stdout)["times_ms"]) * 1e3


def fmt(values):
    med = statistics.median(values)
    return f"{med:,.1f}" if len(values) == 1 else f"{med:,.1f} ({min(values):,.1f} to {max(values):,.1f})"


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench-embed", type=Path, default=None,
                    help="bench_embed of a build of the same code as the installed package "
                         "(default: build/bench/micro/bench_embed or build-perf/bench/micro/bench_embed)")
    ap.add_argument("--model", type=Path, default=ROOT / "models" / "all-MiniLM-L6-v2")
    ap.add_argument("--texts", type=Path, default=ROOT / "tests" / "data" / "encoder" / "texts.txt")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--single-reps", type=int, default=200)
    ap.add_argument("--batch-reps", type=int, default=20)
    return ap.parse_args()


def run_case(args, encoder, binary, tmp, name, texts, reps):
    """Both sides on one case, --rounds times, alternating which goes first; then their embeddings compared."""
    texts_file, out_file = Path(tmp) / "texts.txt", Path(tmp) / "out.f32"
    texts_file.write_text("\n".join(texts), encoding="utf-8")  # no final newline: n lines, n texts
    py, cpp = [], []
    for r in range(args.rounds):
        if r % 2 == 0:
            py.append(python_median_us(encoder, texts, reps))
        cpp.append(cpp_median_us(binary, args.model, texts_file, len(texts), reps, out_file))
        if r % 2 == 1:
            py.append(python_median_us(encoder, texts, reps))
        print(f"  {name}, round {r + 1}: Python {py[-1]:.1f} us, C++ {cpp[-1]:.1f} us", file=sys.stderr)
    ours = encoder.encode(texts)
    theirs = np.fromfile(out_file, dtype="<f4").reshape(len(texts), -1)
    diff = float(np.abs(ours - theirs).max())
    over = [p - c for p, c in zip(py, cpp)]
    return (name, reps, py, cpp, over, diff)


def print_table(rows):
    print()
    print("| case | calls per round and side | minilm.Encoder.encode, µs | C++ encoder::encode (bench_embed), µs | "
          "overhead, µs | overhead, % | max abs diff |")
    print("|---|---|---|---|---|---|---|")
    for name, reps, py, cpp, over, diff in rows:
        pct = [100 * o / c for o, c in zip(over, cpp)]
        print(f"| {name} | {reps} | {fmt(py)} | {fmt(cpp)} | {fmt(over)} | {statistics.median(pct):.1f}% "
              f"({min(pct):.1f}% to {max(pct):.1f}%) | {diff:.1e} |")


def main():
    args = parse_args()
    binary = args.bench_embed
    if binary is None:
        binary = next((p for p in (ROOT / "build" / "bench" / "micro" / "bench_embed",
                                   ROOT / "build-perf" / "bench" / "micro" / "bench_embed")
                       if p.exists()), None)
    if binary is None or not binary.exists():
        sys.exit("bench_embed not found: build with -Dbenchmarks=enabled and pass --bench-embed")

    import minilm

    lines = args.texts.read_text(encoding="utf-8").split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the file's final newline
    rng = random.Random(args.seed)
    sentence = rng.choice([line for line in lines if len(line.split()) >= 5])
    batch = [lines[i] for i in rng.sample(range(len(lines)), args.batch)]
    encoder = minilm.Encoder(str(args.model), threads=1)
    print(f"minilm {minilm.__version__} ({Path(minilm.__file__).parent}), numpy {np.__version__}, "
          f"Python {sys.version.split()[0]}; bench_embed: {binary}")
    n_tok = [len(ids) for ids in encoder.tokenize([sentence])]
    b_tok = [len(ids) for ids in encoder.tokenize(batch)]
    print(f"1 sentence: {sentence!r}, {n_tok[0]} tokens; {args.batch} sentences: {sum(b_tok)} tokens "
          f"(min {min(b_tok)}, max {max(b_tok)}); 1 thread, {args.rounds} rounds")

    cases = [("1 sentence", [sentence], args.single_reps), (f"{args.batch} sentences", batch, args.batch_reps)]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, texts, reps in cases:
            rows.append(run_case(args, encoder, binary, tmp, name, texts, reps))

    print_table(rows)


if __name__ == "__main__":
    main()
