#!/usr/bin/env python3
"""The same embedding web app served three ways, measured in the same run.

    HF_HUB_OFFLINE=1 /root/venv/bin/python bench/serving/compare_serving.py [--rounds 3] [--duration 15] \\
        [--minilm-python /root/pydev/bin/python] [--peer-python /root/venv/bin/python]

(any Python with numpy runs this script; the servers run under the two given).

bench/serving/serve_app.py (FastAPI) runs under gunicorn with --workers (4) uvicorn_worker.UvicornWorker
workers, one thread each, once per backend: minilm (from --minilm-python, where the minilm package
is installed), sentence-transformers on PyTorch (torch.set_num_threads(1) in each worker) and ONNX
Runtime on bench/peers/export_onnx.py's model.onnx (intra_op_num_threads=1), the last two from
--peer-python. Run bench/peers/export_onnx.py first.

The requests are real text: lines of --texts (tests/data/encoder/texts.txt, split on "\\n" only;
mixed lengths, a few longer than 256 tokens, which every backend truncates at 256), picked with
--seed: --single-bodies one-sentence requests and --batch-bodies requests of 32 sentences, each
load run cycling through its list in order.

1. Check: each backend is started once, gets every request body once, and is stopped. The
   embeddings of the peers are compared with minilm's, text by text: the smallest cosine must be
   at least --min-cosine (0.9999). This start also warms the page cache (Python packages, model
   files), so the timed starts below do not read the disk.
2. --rounds rounds; in each, every backend in turn (the order rotates from round to round):
   - start: gunicorn is started; the time until all --workers workers have answered GET /health
     (distinct pids, each a child of the gunicorn master), polled by 4 client threads, each
     opening a fresh connection every 50 ms. Each worker loads its model and embeds one text
     before it answers.
   - warm-up: wrk for --warmup seconds on each kind of request (not counted).
   - memory: the sum of the workers' Pss (/proc/<pid>/smaps_rollup): what the workers cost
     together, shared pages counted once; of it, the anonymous memory (Pss_Anon) and the Pss of
     the mappings of the weights file (model.safetensors or model.onnx; /proc/<pid>/smaps). The
     master process is not included (its Pss is shown apart). The total is read again after the
     load runs.
   - load: wrk -t1 -c8 (--connections) for --duration seconds with one-sentence requests, then
     for --batch-duration seconds with 32-sentence requests (bench/serving/serve_post.lua): requests/s
     (answered requests over wrk's duration) and wrk's p50 and p99 latency.
     wrk runs on the same 2 cores as the server. How requests reach the workers: by default
     gunicorn runs with --reuse-port (each worker listens on a socket of its own, SO_REUSEPORT,
     and the kernel hashes each new connection to one of them) and every request carries
     "Connection: close", so wrk opens a new connection for each and every request goes to a
     worker picked by the kernel, whatever is busy. The alternatives, both measured while
     writing this script, leave workers idle: with one shared socket (--shared-socket) an
     idle uvicorn worker accepts every connection that is waiting at once, so the 8 connections
     that wrk opens together at the start all land on one worker (with keep-alive, --keep-alive,
     for the whole run; with a connection per request, until the queued requests are answered,
     and again whenever several wait). The requests each worker answered (/health's
     embed_requests, before and after each run, once the workers are idle) are printed.
   - stop (SIGTERM to the master).
The table gives, per backend, the median over the rounds, the range in brackets, and the ratio
of each peer's median to minilm's, oriented so that > 1 means minilm is better (peer / minilm for
memory, start-up and latency; minilm / peer for requests/s).
"""
import argparse
import http.client
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
BACKENDS = ("minilm", "sentence-transformers", "onnxruntime")
SHORT = {"minilm": "minilm", "sentence-transformers": "ST", "onnxruntime": "ORT"}
VERSION_PROBE = """
import json, platform, importlib.metadata as m
names = ["minilm", "numpy", "torch", "sentence-transformers", "transformers", "tokenizers", "onnxruntime",
         "fastapi", "starlette", "pydantic", "uvicorn", "uvicorn-worker", "gunicorn"]
out = {"python": platform.python_version()}
for n in names:
    try:
        out[n] = m.version(n)
    except m.PackageNotFoundError:
        pass
print(json.dumps(out))
"""


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def http_json(port, method, path, body=None, timeout=120.0):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = {"Connection": "close"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        if resp.status != 200:
            raise RuntimeError(f"{method} {path}: HTTP {resp.status}: {data[:200]!r}")
        return json.loads(data)
    finally:
        conn.close()


def children(pid):
    out = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            out.update(int(c) for c in (task / "children").read_text().split())
        except OSError:
            pass
    return out


def rollup_kb(pid):
    """Pss and Pss_Anon of a process, kB (/proc/<pid>/smaps_rollup)."""
    out = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        key = line.split(":")[0]
        if key in ("Pss", "Pss_Anon"):
            out[key] = int(line.split()[1])
    return out


def file_pss_kb(pid, paths):
    """Pss of a process's mappings of the given files, kB (/proc/<pid>/smaps)."""
    total, inside = 0, False
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        first = line.split(maxsplit=5)
        if len(first) >= 5 and "-" in first[0] and ":" in first[3]:  # a mapping's header line
            inside = len(first) == 6 and first[5] in paths
        elif inside and line.startswith("Pss:"):
            total += int(line.split()[1])
    return total


class Server:
    """One gunicorn of serve_app.py; start() returns the seconds until every worker answered /health."""

    def __init__(self, args, backend, python, logdir):
        self.args, self.backend, self.python = args, backend, python
        self.log_path = logdir / f"gunicorn-{backend}.log"
        self.proc = None
        self.workers = []

    def start(self):
        a = self.args
        env = dict(os.environ, MINILM_BENCH_BACKEND=self.backend, MINILM_BENCH_MODEL=str(a.model),
                   MINILM_BENCH_ONNX=str(a.onnx), HF_HUB_OFFLINE="1", RAYON_NUM_THREADS="1", OMP_NUM_THREADS="1",
                   TOKENIZERS_PARALLELISM="false", PYTHONDONTWRITEBYTECODE="1")
        cmd = [self.python, "-m", "gunicorn", "serve_app:app", "--chdir", str(ROOT / "bench" / "serving"),
               "--workers", str(a.workers), "--worker-class", "uvicorn_worker.UvicornWorker",
               "--bind", f"127.0.0.1:{a.port}", "--timeout", "600", "--graceful-timeout", "10",
               "--log-level", "warning"] + ([] if a.shared_socket else ["--reuse-port"])
        self.logfile = open(self.log_path, "ab")
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(cmd, env=env, stdout=self.logfile, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        seen, lock, stop = {}, threading.Lock(), threading.Event()

        def poll():
            while not stop.is_set():
                try:
                    pid = http_json(a.port, "GET", "/health", timeout=2.0)["pid"]
                    with lock:
                        if pid not in seen:
                            seen[pid] = time.perf_counter() - t0
                            if len(seen) >= a.workers:
                                stop.set()
                except (OSError, http.client.HTTPException, ValueError):
                    pass
                stop.wait(0.05)

        threads = [threading.Thread(target=poll, daemon=True) for _ in range(4)]
        for t in threads:
            t.start()
        deadline = t0 + a.startup_timeout
        while not stop.is_set():
            if self.proc.poll() is not None:
                stop.set()
                raise RuntimeError(f"{self.backend}: gunicorn exited ({self.proc.returncode}); see {self.log_path}")
            if time.perf_counter() > deadline:
                stop.set()
                raise RuntimeError(f"{self.backend}: not ready after {a.startup_timeout} s; see {self.log_path}")
            stop.wait(0.01)
        ready_s = max(seen.values())
        for t in threads:
            t.join()
        self.workers = sorted(seen)
        kids = children(self.proc.pid)
        if set(self.workers) - kids:
            raise RuntimeError(f"{self.backend}: /health pids {self.workers} are not all children of the "
                               f"master {self.proc.pid} ({sorted(kids)})")
        return ready_s

    def sweep(self, deadline):
        """{pid: /embed requests answered} of every worker: /health on fresh connections until each answered."""
        seen = {}
        while time.perf_counter() < deadline:
            h = http_json(self.args.port, "GET", "/health", timeout=120.0)
            seen[h["pid"]] = h["embed_requests"]
            if set(seen) >= set(self.workers):
                return seen
            time.sleep(0.01)
        raise RuntimeError(f"{self.backend}: not every worker answered /health: {sorted(seen)} of {self.workers}")

    def counts(self):
        """The workers' request counts once they are idle: wrk leaves requests in flight when it stops (a
        worker may have accepted several at once), which the workers still embed; two sweeps in a row
        with the same counts mean they are done."""
        deadline = time.perf_counter() + 300
        last = self.sweep(deadline)
        while True:
            time.sleep(0.2)
            now = self.sweep(deadline)
            if now == last:
                return now
            last = now

    def same_workers(self):
        return children(self.proc.pid) == set(self.workers)

    def memory_mb(self):
        """The workers' total Pss, Pss_Anon and Pss of the weights files' mappings, and the master's Pss, MB."""
        a = self.args
        weights = {str(p.resolve()) for p in (a.model / "model.safetensors", a.model / "pytorch_model.bin", a.onnx)}
        mb = 1024 / 1e6
        rollups = [rollup_kb(p) for p in self.workers]
        return {"pss": sum(r["Pss"] for r in rollups) * mb, "pss_anon": sum(r["Pss_Anon"] for r in rollups) * mb,
                "pss_weights": sum(file_pss_kb(p, weights) for p in self.workers) * mb,
                "master_pss": rollup_kb(self.proc.pid)["Pss"] * mb}

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        # Workers left behind by a master that died: they are in its session, so in its process group.
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.logfile.close()
        self.proc = None


def run_wrk(args, bodies_file, seconds, server, count=False):
    """One wrk run; with count, also how many requests each worker answered (from /health)."""
    cmd = [args.wrk, "-t1", f"-c{args.connections}", f"-d{seconds}s", "--timeout", "120s",
           "-s", str(ROOT / "bench" / "serving" / "serve_post.lua"), f"http://127.0.0.1:{args.port}", "--",
           str(bodies_file)]
    if not args.keep_alive:
        cmd.append("close")
    before = server.counts() if count else None
    proc = subprocess.run(cmd, capture_output=True, text=True)
    m = re.search(r"^WRK_JSON (.*)$", proc.stdout, re.M)
    if proc.returncode != 0 or not m:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {proc.stdout}\n{proc.stderr}")
    r = json.loads(m.group(1))
    r["rps"] = r["requests"] / (r["duration_us"] / 1e6)
    if count:
        after = server.counts()
        r["per_worker"] = sorted((after[p] - before[p] for p in server.workers), reverse=True)
    return r


def pick_bodies(args):
    lines = args.texts.read_text(encoding="utf-8").split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the file's final newline
    rng = random.Random(args.seed)
    singles = [[lines[i]] for i in rng.sample(range(len(lines)), args.single_bodies)]
    batches = [[lines[i] for i in rng.sample(range(len(lines)), args.batch_size)] for _ in range(args.batch_bodies)]
    return singles, batches


def check_embeddings(server, singles, batches):
    out = []
    for texts in singles + batches:
        emb = np.asarray(http_json(server.args.port, "POST", "/embed", json.dumps({"texts": texts}))["embeddings"],
                         dtype=np.float64)
        if emb.shape != (len(texts), 384):
            raise RuntimeError(f"{server.backend}: embeddings of shape {emb.shape} for {len(texts)} texts")
        out.append(emb)
    return np.concatenate(out)


def fmt_range(values, digits):
    med = statistics.median(values)
    if len(values) == 1 or max(values) - min(values) < 10 ** -digits / 2:
        return f"{med:,.{digits}f}"
    return f"{med:,.{digits}f} ({min(values):,.{digits}f}-{max(values):,.{digits}f})"


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backends", default=",".join(BACKENDS))
    ap.add_argument("--minilm-python", default="/root/pydev/bin/python", help="a Python with minilm, fastapi, uvicorn, "
                    "uvicorn-worker, gunicorn")
    ap.add_argument("--peer-python", default="/root/venv/bin/python", help="a Python with torch, "
                    "sentence-transformers, onnxruntime, tokenizers and the web packages")
    ap.add_argument("--st-python", default=None, help="for sentence-transformers (default: --peer-python)")
    ap.add_argument("--ort-python", default=None, help="for onnxruntime (default: --peer-python)")
    ap.add_argument("--model", type=Path, default=ROOT / "models" / "all-MiniLM-L6-v2")
    ap.add_argument("--onnx", type=Path, default=None, help="default: <model>/../onnx/<model name>/model.onnx")
    ap.add_argument("--texts", type=Path, default=ROOT / "tests" / "data" / "encoder" / "texts.txt")
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--duration", type=int, default=20, help="seconds of each timed wrk run of one-sentence requests")
    ap.add_argument("--batch-duration", type=int, default=60, help="seconds of each timed wrk run of "
                    "32-sentence requests (long: wrk counts only the requests answered before it stops, and a "
                    "slow backend has 8 requests of several seconds in flight)")
    ap.add_argument("--warmup", type=int, default=3, help="seconds of wrk per kind of request before measuring")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--port", type=int, default=18731)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--single-bodies", type=int, default=256)
    ap.add_argument("--batch-bodies", type=int, default=16)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--min-cosine", type=float, default=0.9999)
    ap.add_argument("--startup-timeout", type=float, default=300)
    ap.add_argument("--wrk", default="wrk")
    ap.add_argument("--shared-socket", action="store_true", help="all workers accept from the master's socket "
                    "(default: gunicorn --reuse-port, a socket per worker; see above)")
    ap.add_argument("--keep-alive", action="store_true", help="let wrk keep its connections open (the default "
                    "sends Connection: close, so each request comes on a new connection; see above)")
    ap.add_argument("--json", type=Path, default=None, help="also write every measurement here")
    return ap.parse_args()


def print_environment(args, backends, pythons):
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "?")
    wrk_version = subprocess.run([args.wrk, "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    print(f"date: {time.strftime('%Y-%m-%d %H:%M %Z')}; machine: {cpu}, os.cpu_count() = {os.cpu_count()}; "
          f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for py in sorted(set(pythons[b] for b in backends)):
        versions = json.loads(subprocess.run([py, "-c", VERSION_PROBE], capture_output=True, text=True,
                                             check=True).stdout)
        print(f"{py}: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    print(f"load generator: {wrk_version}, -t1 -c{args.connections}, on the same cores as the server")


def check_backends(args, backends, pythons, tmp, singles, batches):
    """Starts each backend once, sends it every body, and compares the peers' embeddings with minilm's.
    Returns the smallest cosine of each peer and whether any is below --min-cosine."""
    embeddings, cosines, failed = {}, {}, False
    for b in backends:
        server = Server(args, b, pythons[b], tmp)
        try:
            log(f"check: starting {b}")
            server.start()
            embeddings[b] = check_embeddings(server, singles, batches)
        finally:
            server.stop()
    if "minilm" in embeddings:
        ref = embeddings["minilm"]
        ref_n = ref / np.linalg.norm(ref, axis=1, keepdims=True)
        for b in backends:
            if b == "minilm":
                continue
            e = embeddings[b]
            cos = np.sum(ref_n * (e / np.linalg.norm(e, axis=1, keepdims=True)), axis=1)
            cosines[b] = float(cos.min())
            ok = cosines[b] >= args.min_cosine
            failed |= not ok
            print(f"check {b} against minilm, {len(ref)} texts: min cosine {cos.min():.7f}, "
                  f"max |diff| {np.abs(e - ref).max():.2e}: {'ok' if ok else 'FAILED'} (>= {args.min_cosine})")
    else:
        print("check: minilm not among the backends, embeddings not compared")
    return cosines, failed


def run_backend(args, b, python, tmp, r, single_file, batch_file):
    """One backend in one round: start, warm up, memory, the timed wrk runs, memory again, stop."""
    server = Server(args, b, python, tmp)
    try:
        log(f"round {r + 1}: starting {b}")
        row = {"ready_s": server.start()}
        run_wrk(args, single_file, args.warmup, server)
        run_wrk(args, batch_file, args.warmup, server)
        server.counts()  # wait until the warm-up's requests are all answered
        mem = server.memory_mb()
        row["pss_mb"], row["master_pss_mb"] = mem["pss"], mem["master_pss"]
        row["pss_anon_mb"], row["pss_weights_mb"] = mem["pss_anon"], mem["pss_weights"]
        row["single"] = run_wrk(args, single_file, args.duration, server, count=True)
        row["batch"] = run_wrk(args, batch_file, args.batch_duration, server, count=True)
        row["pss_after_mb"] = server.memory_mb()["pss"]
        row["workers_unchanged"] = server.same_workers()
        if not row["workers_unchanged"]:
            print(f"WARNING: {b}, round {r + 1}: a worker was replaced during the run")
    finally:
        server.stop()
    errors = {k: sum(row[c]["errors"][k] for c in ("single", "batch")) for k in row["single"]["errors"]}
    if any(errors.values()):
        print(f"WARNING: {b}, round {r + 1}: wrk errors {errors}")
    return row


def log_row(b, row):
    log(f"  {b}: ready {row['ready_s']:.2f} s, Pss {row['pss_mb']:.0f} MB, "
        f"1 sentence {row['single']['rps']:.1f} req/s (p50 {row['single']['p50_us'] / 1e3:.1f} ms), "
        f"32 sentences {row['batch']['rps']:.2f} req/s (p50 {row['batch']['p50_us'] / 1e3:.0f} ms), "
        f"requests per worker {row['single']['per_worker']} / {row['batch']['per_worker']}")


def print_table(args, backends, results, cosines):
    rows = [
        ("total Pss of the workers after warm-up, MB", lambda x: x["pss_mb"], 0, "less"),
        ("of which anonymous memory (Pss_Anon), MB", lambda x: x["pss_anon_mb"], 0, "less"),
        ("of which the weights file's mappings, MB", lambda x: x["pss_weights_mb"], 1, None),
        ("total Pss of the workers after the load runs, MB", lambda x: x["pss_after_mb"], 0, "less"),
        ("gunicorn start to all workers ready, s", lambda x: x["ready_s"], 2, "less"),
        ("1 sentence: requests/s", lambda x: x["single"]["rps"], 1, "more"),
        ("1 sentence: p50 latency, ms", lambda x: x["single"]["p50_us"] / 1e3, 1, "less"),
        ("1 sentence: p99 latency, ms", lambda x: x["single"]["p99_us"] / 1e3, 1, "less"),
        (f"{args.batch_size} sentences: requests/s", lambda x: x["batch"]["rps"], 2, "more"),
        (f"{args.batch_size} sentences: sentences/s", lambda x: x["batch"]["rps"] * args.batch_size, 0, "more"),
        (f"{args.batch_size} sentences: p50 latency, ms", lambda x: x["batch"]["p50_us"] / 1e3, 0, "less"),
        (f"{args.batch_size} sentences: p99 latency, ms", lambda x: x["batch"]["p99_us"] / 1e3, 0, "less"),
    ]
    peers = [b for b in backends if b != "minilm"] if "minilm" in backends else []
    print()
    print(f"{args.workers} gunicorn workers (uvicorn_worker.UvicornWorker) per backend, 1 thread each; wrk -t1 "
          f"-c{args.connections} -d{args.duration}s / -d{args.batch_duration}s on the same cores. Median of {args.rounds} round(s), range in "
          "brackets; ratio > 1: minilm better (peer / minilm, for requests/s minilm / peer).")
    print()
    print("| | " + " | ".join(backends) + "".join(f" | {SHORT[p]} vs minilm" for p in peers) + " |")
    print("|---|" + "---|" * (len(backends) + len(peers)))
    for label, get, digits, better in rows:
        cells = [fmt_range([get(x) for x in results[b]], digits) for b in backends]
        ratios = []
        for p in peers:
            m = statistics.median(get(x) for x in results["minilm"])
            v = statistics.median(get(x) for x in results[p])
            ratios.append("" if better is None or not m or not v else f"{(v / m if better == 'less' else m / v):.2f}x")
        print(f"| {label} | " + " | ".join(cells + ratios) + " |")
    if cosines:
        cells = ["-" if b == "minilm" else f"{cosines[b]:.7f}" for b in backends]
        print("| min cosine vs minilm (check) | " + " | ".join(cells) + " |" + " |" * len(peers))
    print()
    for b in backends:
        master = statistics.median(x["master_pss_mb"] for x in results[b])
        spread = "; ".join(f"{x['single']['per_worker']} and {x['batch']['per_worker']}" for x in results[b])
        print(f"{b}: gunicorn master Pss {master:.0f} MB (not in the totals); requests answered by each worker "
              f"in the timed runs (1 sentence and {args.batch_size} sentences), round by round: {spread}")


def main():
    args = parse_args()
    args.onnx = args.onnx or args.model.parent / "onnx" / args.model.name / "model.onnx"
    backends = [b for b in args.backends.split(",") if b]
    for b in backends:
        if b not in BACKENDS:
            sys.exit(f"unknown backend {b!r}: {', '.join(BACKENDS)}")
    if "onnxruntime" in backends and not args.onnx.exists():
        sys.exit(f"{args.onnx} missing: run bench/peers/export_onnx.py --model {args.model}")
    pythons = {"minilm": args.minilm_python, "sentence-transformers": args.st_python or args.peer_python,
               "onnxruntime": args.ort_python or args.peer_python}

    started = time.time()
    print_environment(args, backends, pythons)
    singles, batches = pick_bodies(args)
    print(f"{args.workers} workers per backend, 1 thread each; {args.rounds} round(s) of {args.duration} s "
          f"(one sentence) and {args.batch_duration} s ({args.batch_size} sentences) of load after {args.warmup} s "
          f"of warm-up per kind; {len(singles)} one-sentence and {len(batches)} "
          f"{args.batch_size}-sentence request bodies from {args.texts.name} (seed {args.seed})")

    results = {b: [] for b in backends}
    with tempfile.TemporaryDirectory(prefix="minilm-serving-") as tmp:
        tmp = Path(tmp)
        single_file, batch_file = tmp / "single.jsonl", tmp / "batch.jsonl"
        single_file.write_text("".join(json.dumps({"texts": t}) + "\n" for t in singles), encoding="utf-8")
        batch_file.write_text("".join(json.dumps({"texts": t}) + "\n" for t in batches), encoding="utf-8")

        # 1. Check (and warm the page cache).
        cosines, failed = check_backends(args, backends, pythons, tmp, singles, batches)

        # 2. Rounds.
        for r in range(args.rounds):
            order = backends[r % len(backends):] + backends[:r % len(backends)]
            for b in order:
                row = run_backend(args, b, pythons[b], tmp, r, single_file, batch_file)
                results[b].append(row)
                log_row(b, row)

    print_table(args, backends, results, cosines)
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          f"the whole run took {time.time() - started:.0f} s")
    if args.json:
        args.json.write_text(json.dumps({"results": results, "cosines": cosines}, indent=1))
    if failed:
        sys.exit("the embeddings differ: see the check above")


if __name__ == "__main__":
    main()
