#!/usr/bin/env python3
"""The machine's sgemm peak as a tuned BLAS reaches it: numpy's float32 matmul (OpenBLAS, as the
PyPI wheels of numpy bundle it) on the dense layers' shapes, beside which bench_gemm's figures
for minilm's kernel are read (bench/README.md, "Dense layers").

    python bench/peers/sgemm_openblas.py [--threads 1,2] [--reps 15]

Each shape is y = x @ W^T with x (m, k) and W (n, k) float32, as nn.Linear computes it; the
figure is 2 m n k over the best of --reps calls, in GFLOP/s. Each thread count runs in its own
process (OpenBLAS reads OPENBLAS_NUM_THREADS when it loads). OPENBLAS_CORETYPE and
OPENBLAS_L2_SIZE, which some machines set to work around old OpenBLAS builds, are printed and
passed on as they are: unset them for this command to let OpenBLAS pick its kernel itself.
"""
import argparse
import os
import subprocess
import sys

SHAPES = [(4096, 384, 384), (4096, 1536, 384), (4096, 384, 1536), (1024, 1024, 1024), (12, 1536, 384)]

CHILD = r"""
import sys, time
import numpy as np
reps = int(sys.argv[1])
rng = np.random.default_rng(0)
for m, n, k in %r:
    x = rng.standard_normal((m, k), dtype=np.float32)
    w = rng.standard_normal((n, k), dtype=np.float32)
    y = x @ w.T
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        y = x @ w.T
        best = min(best, time.perf_counter() - t0)
    print(f"{m:>5} x {n:>5} x {k:>5}  {2 * m * n * k / best * 1e-9:7.1f} GFLOP/s")
""" % (SHAPES,)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", default=f"1,{os.cpu_count()}")
    ap.add_argument("--reps", type=int, default=15)
    args = ap.parse_args()
    for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        print(f"{name}={os.environ.get(name, '(unset)')}")
    import numpy as np
    blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    print(f"numpy {np.__version__}, BLAS: {blas.get('name')} {blas.get('version')}")
    for threads in [int(t) for t in args.threads.split(",")]:
        print(f"-- {threads} thread(s): m x n x k")
        env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
        subprocess.run([sys.executable, "-c", CHILD, str(args.reps)], env=env, check=True)


if __name__ == "__main__":
    main()
