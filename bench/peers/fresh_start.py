#!/usr/bin/env python3
"""The first embedding in a fresh process: exec, load the model, embed one short text.

    bench/peers/fresh_start.py --bench-embed BUILD/bench/micro/bench_embed --model models/all-MiniLM-L6-v2 [--runs 20] [--threads 1]

Runs bench_embed --repetitions 0 on a one-line text file RUNS times, one new process each (the
page cache warm after the first), and prints the medians and ranges of its "open_ms" (encoder::load)
and "first_ms" (load + the first text's embedding, timed inside the process), "first_cpu_ms" (the
processor time the process had used by then, from exec: less sensitive to other load), and of the whole
process's wall time (exec, dynamic linking and exit included), with the load average before and
after: the figures mean little on a busy machine.
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench-embed", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1, help="0: one per hardware thread")
    ap.add_argument("--text", default="How do I share one model between worker processes?")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        texts = os.path.join(tmp, "texts.txt")
        with open(texts, "w", encoding="utf-8") as f:
            f.write(args.text)
        cmd = [args.bench_embed, "--model", args.model, "--threads", str(args.threads), "--batch-size", "1",
               "--repetitions", "0", "--texts", texts, "--embeddings", os.path.join(tmp, "out.f32")]
        subprocess.run(cmd, check=True, capture_output=True)  # warms the page cache
        load_before = os.getloadavg()[0]
        open_ms, first_ms, cpu_ms, wall_ms = [], [], [], []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
            wall_ms.append((time.perf_counter() - t0) * 1e3)
            r = json.loads(out)
            open_ms.append(r["open_ms"])
            first_ms.append(r["first_ms"])
            cpu_ms.append(r["first_cpu_ms"])
        load_after = os.getloadavg()[0]

    def show(name, v):
        print(f"{name:9} median {statistics.median(v):7.2f} ms  (min {min(v):.2f}, max {max(v):.2f})")

    print(f"{args.runs} fresh processes, threads {args.threads}, load average {load_before:.2f} before, "
          f"{load_after:.2f} after")
    show("open_ms", open_ms)
    show("first_ms", first_ms)
    show("cpu_ms", cpu_ms)
    show("process", wall_ms)


if __name__ == "__main__":
    main()
