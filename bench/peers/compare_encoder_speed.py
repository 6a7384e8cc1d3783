#!/usr/bin/env python3
"""Times sentence-transformers and `minilm embed` on the same texts, in the same run.

    HF_HUB_OFFLINE=1 /opt/refenv/bin/python bench/peers/compare_encoder_speed.py \
        [--minilm build/examples/minilm] [--texts tests/data/encoder/texts.txt] [--threads 2] [--batch-size 32]

Both embed every line of the texts file (split on "\\n" only) with all-MiniLM-L6-v2 on the
same number of threads and the same batch size; the model is loaded before the clock starts
for sentence-transformers, while minilm's time is the whole command (process start, model
load, reading stdin, writing a .npy). The script also reports how far apart the two results are.
"""

import argparse
import io
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from sentence_transformers import SentenceTransformer

ROOT = Path(__file__).resolve().parents[2]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--minilm", default=str(ROOT / "build" / "examples" / "minilm"))
    p.add_argument("--model", default=str(ROOT / "models" / "all-MiniLM-L6-v2"))
    p.add_argument("--texts", default=str(ROOT / "tests" / "data" / "encoder" / "texts.txt"))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()

    data = Path(args.texts).read_bytes()
    texts = data.decode("utf-8").split("\n")
    if texts and texts[-1] == "":
        texts.pop()

    torch.set_num_threads(args.threads)
    model = SentenceTransformer(args.model, device="cpu")
    model.encode(texts[:64], batch_size=args.batch_size)  # warm up
    st_times, mm_times = [], []
    for _ in range(args.repeat):
        start = time.perf_counter()
        ref = model.encode(texts, batch_size=args.batch_size, convert_to_numpy=True)
        st_times.append(time.perf_counter() - start)

        start = time.perf_counter()
        out = subprocess.run([args.minilm, "embed", "--model", args.model, "--format", "npy",
                              "--batch-size", str(args.batch_size), "--threads", str(args.threads)],
                             input=data, stdout=subprocess.PIPE, check=True).stdout
        mm_times.append(time.perf_counter() - start)
        got = np.load(io.BytesIO(out))

    assert got.shape == ref.shape, (got.shape, ref.shape)
    got, ref = got.astype(np.float64), ref.astype(np.float64)
    cos = np.sum(got * ref, axis=1) / (np.linalg.norm(got, axis=1) * np.linalg.norm(ref, axis=1))
    print(f"{len(texts)} texts, batch size {args.batch_size}, {args.threads} threads, best of {args.repeat}")
    print(f"sentence-transformers {min(st_times):8.2f} s  (runs: {', '.join(f'{t:.2f}' for t in st_times)})")
    print(f"minilm embed          {min(mm_times):8.2f} s  (runs: {', '.join(f'{t:.2f}' for t in mm_times)})")
    print(f"ratio minilm / sentence-transformers: {min(mm_times) / min(st_times):.2f}")
    print(f"max |difference| {np.max(np.abs(got - ref)):.3g}, min cosine {np.min(cos):.9f}")


if __name__ == "__main__":
    sys.exit(main())
