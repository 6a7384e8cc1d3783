#!/usr/bin/env python3
"""The same Ray Data pipeline with minilm and with sentence-transformers, in one run.

  HF_HUB_OFFLINE=1 /root/pyray/bin/python bench/peers/compare_ray.py \\
      --minilm-python /root/pyray/bin/python --st-python /root/venv/bin/python \\
      [--model models/all-MiniLM-L6-v2] [--lines 20000] [--repeats 1] [--actors 1,2]

The pipeline, identical for both engines: ray.init(num_cpus=2) starts a local cluster; the first
--lines lines of tests/data/tokenizer/corpus.txt.gz (UTF-8, split on "\\n" only) with an id column
(the line number) become a dataset of --block-rows-row blocks (ray.data.from_arrow); map_batches
runs a stateful callable class on a pool of actors (compute=ActorPoolStrategy(size=actors),
num_cpus=1 per actor, batch_size=256, batch_format="pyarrow"), each actor opening the model once
in its constructor; the driver consumes the result with iter_batches.

  minilm                 minilm.ray.Embedder (threads=1, encode_batch_size=32, a fixed-size list
                         column of float32), what minilm.ray.embed runs.
  sentence-transformers  a class of this script: SentenceTransformer(model folder, device="cpu")
                         opened once per actor after torch.set_num_threads(1), encode(batch's
                         texts, batch_size=32), the same fixed-size list column.

Each engine runs in its own interpreter (--minilm-python, --st-python: each needs its engine and
ray[data]), one process per (engine, actors, repeat), engines alternating; every process starts
and stops its own local Ray. The driver, Ray's scheduler, its object store and the actors share
the machine's cores: with 2 CPUs and 2 actors, the actors compete with the driver for them.

Measured per run:
  rows/s       --lines over the consumption wall time: from the first call that pulls from
               iter_batches (the dataset's execution starts there: the actors are created then)
               to the last row received.
  total        wall time from just before ray.init to the last row (cluster start, dataset
               creation, actor start and model open included; imports not).
  first block  from the same start to the first batch iter_batches yields (actor start, model
               open and the first map_batches call included).
  actor ready  when the last actor's constructor returned, from the same start; and the
               constructor's duration in each actor (sentence-transformers: imports of torch and
               sentence_transformers, then the model open; minilm: the model open, minilm.ray
               being imported when the actor loads the class).
  Pss          the sum over the actor processes of /proc/<pid>/smaps_rollup's Pss, sampled by the
               driver every --sample-interval seconds while every actor is alive and has embedded
               at least one batch; the largest sum of the run is kept, with the Pss of the
               mappings of model.safetensors (from /proc/<pid>/smaps) at that sample. Each actor
               writes its pid to a file in its constructor, and a second file once it has
               embedded a batch.
Agreement: every --sample-every-th row's embedding from both engines (2-actor run, or the largest
--actors, of the first repeat); the minimum cosine must be at least 0.9999. Every id must come
back exactly once in every run.

With --repeats R > 1 the table gives medians, the range in brackets. MB are 10^6 bytes.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

SOURCE_ROOT = Path(__file__).resolve().parents[2]
CORPUS = SOURCE_ROOT / "tests" / "data" / "tokenizer" / "corpus.txt.gz"
ENGINES = ("minilm", "st")
ENGINE_NAMES = {"minilm": "minilm", "st": "sentence-transformers"}


# ---------------------------------------------------------------------------------------------
# Worker side: one engine, one pool size, in the engine's own interpreter.


def _note_actor(pid_dir: str, stage: str, started: float) -> None:
    """Writes <pid>.<stage> in pid_dir: the pid, when the constructor started and now (time.time())."""
    path = Path(pid_dir) / f"{os.getpid()}.{stage}"
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps({"pid": os.getpid(), "started": started, "at": time.time()}))
    tmp.rename(path)


def _actor_class(engine: str):
    """The map_batches callable class for the engine: the engine's embedding class, plus the pid
    files the driver's sampler reads."""
    if engine == "minilm":
        import minilm.ray

        class MinilmActor(minilm.ray.Embedder):
            def __init__(self, model: str, *, pid_dir: str) -> None:
                started = time.time()
                super().__init__(model, threads=1, encode_batch_size=32, output_format="list")
                self._pid_dir, self._started, self._calls = pid_dir, started, 0
                _note_actor(pid_dir, "init", started)

            def __call__(self, batch):
                out = super().__call__(batch)
                self._calls += 1
                if self._calls == 1:
                    _note_actor(self._pid_dir, "embedded", self._started)
                return out

        return MinilmActor

    class SentenceTransformersActor:
        def __init__(self, model: str, *, pid_dir: str) -> None:
            started = time.time()
            import pyarrow as pa
            import torch
            from sentence_transformers import SentenceTransformer

            torch.set_num_threads(1)
            self._pa = pa
            self.model = SentenceTransformer(model, device="cpu")
            self._pid_dir, self._started, self._calls = pid_dir, started, 0
            _note_actor(pid_dir, "init", started)

        def __call__(self, batch):
            pa = self._pa
            texts = batch.column("text").to_pylist()
            embeddings = self.model.encode(texts, batch_size=32, convert_to_numpy=True, show_progress_bar=False)
            embeddings = embeddings.astype("float32", copy=False)
            rows, dimension = embeddings.shape
            values = pa.array(embeddings.reshape(-1), pa.float32())
            out = batch.append_column("embedding", pa.FixedSizeListArray.from_arrays(values, dimension))
            self._calls += 1
            if self._calls == 1:
                _note_actor(self._pid_dir, "embedded", self._started)
            return out

    return SentenceTransformersActor


def _smaps_pss(pid: int, model_file: str) -> tuple[int, int]:
    """(Pss of the process, Pss of its mappings of model_file), in bytes."""
    total = 0
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Pss:"):
                total = int(line.split()[1]) * 1024
                break
    model, in_model = 0, False
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            first = line.split(None, 1)[0]
            if not first.endswith(":"):  # a mapping's header: address range, perms, ..., path
                in_model = line.rstrip("\n").endswith(model_file)
            elif in_model and first == "Pss:":
                model += int(line.split()[1]) * 1024
    return total, model


class PssSampler(threading.Thread):
    """Samples the actors' Pss every interval; keeps the sample with the largest sum among those
    taken while `actors` actors are alive and every one has embedded."""

    def __init__(self, pid_dir: Path, actors: int, model_file: str, interval: float) -> None:
        super().__init__(daemon=True)
        self.pid_dir, self.actors, self.model_file, self.interval = pid_dir, actors, model_file, interval
        self.stop = threading.Event()
        self.best: dict | None = None
        self.samples = 0

    def sample(self) -> None:
        embedded = sorted(int(p.name.split(".")[0]) for p in self.pid_dir.glob("*.embedded"))
        alive = [pid for pid in embedded if Path(f"/proc/{pid}").exists()]
        if len(alive) < self.actors:
            return
        try:
            figures = {pid: _smaps_pss(pid, self.model_file) for pid in alive}
        except (FileNotFoundError, ProcessLookupError):
            return  # an actor ended during the sample
        self.samples += 1
        total = sum(t for t, _ in figures.values())
        if self.best is None or total > self.best["pss"]:
            self.best = {
                "pss": total,
                "model_pss": sum(m for _, m in figures.values()),
                "per_actor": [figures[pid][0] for pid in alive],
                "processes": len(alive),
            }

    def run(self) -> None:
        while not self.stop.wait(self.interval):
            self.sample()


def worker(args: argparse.Namespace) -> None:
    import numpy as np
    import pyarrow as pa
    import ray
    import ray.data

    lines = gzip.decompress(CORPUS.read_bytes()).decode("utf-8").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if args.lines > len(lines):
        sys.exit(f"--lines {args.lines}: the corpus has {len(lines)} lines")
    texts = lines[: args.lines]
    n = len(texts)
    blocks = [
        pa.table({"id": pa.array(range(start, min(n, start + args.block_rows)), pa.int64()),
                  "text": pa.array(texts[start:start + args.block_rows], pa.string())})
        for start in range(0, n, args.block_rows)
    ]
    actor_class = _actor_class(args.worker)
    pid_dir = Path(args.pid_dir)
    model = os.path.abspath(args.model)

    began = time.perf_counter()
    ray.init(address="local", num_cpus=args.num_cpus, include_dashboard=False,
             object_store_memory=args.object_store_mb * 1024**2, configure_logging=False, log_to_driver=False)
    init_s = time.perf_counter() - began
    ray.data.DataContext.get_current().enable_progress_bars = False
    try:
        ds = ray.data.from_arrow(blocks).map_batches(
            actor_class,
            fn_constructor_args=(model,),
            fn_constructor_kwargs={"pid_dir": str(pid_dir)},
            batch_size=args.batch_size,
            batch_format="pyarrow",
            compute=ray.data.ActorPoolStrategy(size=int(args.actors)),
            num_cpus=1,
        )
        sampler = PssSampler(pid_dir, int(args.actors), "/model.safetensors", args.sample_interval)
        sampler.start()
        seen = np.zeros(n, np.int64)
        sample_ids, sample_rows = [], []
        start_wall, start = time.time(), time.perf_counter()
        first = None
        for batch in ds.iter_batches(batch_size=None, batch_format="pyarrow"):
            if first is None:
                first = time.perf_counter()
            ids = batch.column("id").to_numpy()
            np.add.at(seen, ids, 1)
            keep = np.flatnonzero(ids % args.sample_every == 0)
            if len(keep):
                column = batch.column("embedding").combine_chunks()
                vectors = column.flatten().to_numpy().reshape(len(ids), -1)
                sample_ids.append(ids[keep])
                sample_rows.append(vectors[keep])
        last = time.perf_counter()
        sampler.stop.set()
        sampler.join()
    finally:
        ray.shutdown()
    if first is None:
        sys.exit("no output")
    if not (seen == 1).all():
        sys.exit(f"{int((seen == 0).sum())} row(s) missing, {int((seen > 1).sum())} repeated")
    order = np.argsort(np.concatenate(sample_ids))
    np.savez(args.sample_out, ids=np.concatenate(sample_ids)[order],
             embeddings=np.concatenate(sample_rows)[order].astype(np.float32))
    actors = []
    for path in sorted(pid_dir.glob("*.init")):
        note = json.loads(path.read_text())
        actors.append({"pid": note["pid"], "init_s": note["at"] - note["started"],
                       "ready_after_s": note["at"] - start_wall})
    result = {
        "rows": n, "init_s": init_s, "first_s": first - start, "consume_s": last - start,
        "total_s": last - began, "rows_per_s": n / (last - start), "actors": actors,
        "pss": sampler.best, "pss_samples": sampler.samples,
    }
    Path(args.result).write_text(json.dumps(result))


# ---------------------------------------------------------------------------------------------
# Driver side: runs the workers, checks agreement, prints the table.


def _median(values: list[float]) -> float:
    return statistics.median(values)


def _cell(values: list[float], fmt: str) -> str:
    text = format(_median(values), fmt)
    if len(values) > 1 and min(values) != max(values):
        text += f" ({format(min(values), fmt)}-{format(max(values), fmt)})"
    return text


def _versions(python: str, engine: str) -> str:
    modules = ["ray", "pyarrow", "numpy"] + (["minilm"] if engine == "minilm" else
                                            ["torch", "sentence_transformers", "transformers"])
    code = ("import importlib, importlib.metadata as m, sys\n"
            f"names = {modules!r}\n"
            "out = ['Python ' + sys.version.split()[0]]\n"
            "for name in names:\n"
            "    try:\n"
            "        out.append(name + ' ' + m.version(name.replace('_', '-')))\n"
            "    except m.PackageNotFoundError:\n"
            "        out.append(name + ' ' + getattr(importlib.import_module(name), '__version__', '?'))\n"
            "print(', '.join(out))\n")
    run = subprocess.run([python, "-c", code], capture_output=True, text=True)
    return run.stdout.strip() if run.returncode == 0 else f"(versions: {run.stderr.strip()[-200:]})"


def _cosines(a, b):
    import numpy as np

    a = a.astype(np.float64)
    b = b.astype(np.float64)
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def run_case(args: argparse.Namespace, engine: str, actors: int, repeat: int, pythons: dict, env: dict,
             tmp: str):
    """One engine with one pool size, in a worker process of its interpreter: its result and sample file."""
    tag = f"{engine}-{actors}-{repeat}"
    pid_dir = Path(tmp) / f"pids-{tag}"
    pid_dir.mkdir()
    result, sample, log = (Path(tmp) / f"{tag}.{ext}" for ext in ("json", "npz", "log"))
    command = [pythons[engine], os.path.abspath(__file__), "--worker", engine,
               "--model", args.model, "--lines", str(args.lines), "--actors", str(actors),
               "--block-rows", str(args.block_rows), "--batch-size", str(args.batch_size),
               "--num-cpus", str(args.num_cpus), "--object-store-mb", str(args.object_store_mb),
               "--sample-every", str(args.sample_every), "--sample-interval", str(args.sample_interval),
               "--pid-dir", str(pid_dir), "--result", str(result), "--sample-out", str(sample)]
    t = time.perf_counter()
    with open(log, "w") as out:
        run = subprocess.run(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    if run.returncode != 0:
        sys.stdout.write(log.read_text()[-4000:])
        sys.exit(f"{ENGINE_NAMES[engine]} with {actors} actor(s) failed ({run.returncode})")
    r = json.loads(result.read_text())
    pss = r["pss"]
    pss_text = f"Pss {pss['pss'] / 1e6:.0f} MB" if pss else "Pss not sampled"
    print(f"  run {repeat + 1}: {ENGINE_NAMES[engine]:>21}, {actors} actor(s): "
          f"{r['rows_per_s']:.0f} rows/s, first block {r['first_s']:.2f} s, {pss_text} "
          f"({time.perf_counter() - t:.0f} s with start and stop)", flush=True)
    return r, sample


def print_table(args: argparse.Namespace, results: dict, actor_counts: list[int]) -> None:
    def figures(engine: str, actors: int, key) -> list[float]:
        return [key(r) for r in results[(engine, actors)]]

    def row(label: str, key, fmt: str, ratio: str | None, counts=actor_counts) -> None:
        for actors in counts:
            cells = [figures(engine, actors, key) for engine in ENGINES]
            if any(v is None for c in cells for v in c):
                continue
            text = f"| {label.format(actors=actors, s='s' if actors > 1 else '')} | " \
                   f"{_cell(cells[0], fmt)} | {_cell(cells[1], fmt)} |"
            if ratio == "higher":
                text += f" {_median(cells[0]) / _median(cells[1]):.2f}x |"
            elif ratio == "lower":
                text += f" {_median(cells[1]) / _median(cells[0]):.2f}x |"
            else:
                text += f" {ratio or ''} |"
            print(text)

    mb = 1e6
    print()
    print(f"| {args.lines:,} lines, blocks of {args.block_rows}, batch_size {args.batch_size}"
          f"{', medians of ' + str(args.repeats) + ' (range)' if args.repeats > 1 else ', one run'} | "
          "minilm | sentence-transformers | minilm's advantage |")
    print("|---|---|---|---|")
    row("rows/s, {actors} actor{s} (consumption)", lambda r: r["rows_per_s"], ".0f", "higher")
    row("consumption wall, {actors} actor{s}, s", lambda r: r["consume_s"], ".1f", "lower")
    row("total wall incl. ray.init and actor start, {actors} actor{s}, s", lambda r: r["total_s"], ".1f", "lower")
    row("time to the first output block, {actors} actor{s}, s", lambda r: r["first_s"], ".2f", "lower")
    row("last actor ready (constructor returned), {actors} actor{s}, s after the start",
        lambda r: max(a["ready_after_s"] for a in r["actors"]), ".2f", "lower")
    row("actor constructor (median of the actors), {actors} actor{s}, s *",
        lambda r: _median([a["init_s"] for a in r["actors"]]), ".2f", "lower")
    row("ray.init, {actors} actor{s} run, s", lambda r: r["init_s"], ".2f", None)
    row("actors' summed Pss, {actors} actor{s}, MB", lambda r: r["pss"]["pss"] / mb if r["pss"] else None,
        ".0f", "lower")
    row("of which model.safetensors mappings, {actors} actor{s}, MB",
        lambda r: r["pss"]["model_pss"] / mb if r["pss"] else None, ".1f", None)
    print("\nminilm's advantage: its rows/s over sentence-transformers'; for times and MB, "
          "sentence-transformers' over minilm's.")
    if len(actor_counts) > 1:
        a, b = min(actor_counts), max(actor_counts)
        for engine in ENGINES:
            pairs = [(x["pss"], y["pss"]) for x, y in zip(results[(engine, a)], results[(engine, b)])]
            if all(x and y for x, y in pairs):
                extra = [(y["pss"] - x["pss"]) / (b - a) / mb for x, y in pairs]
                print(f"{ENGINE_NAMES[engine]}: each actor beyond {a} adds {_cell(extra, '.0f')} MB of Pss; "
                      f"2-actor scaling of rows/s: "
                      f"{_median(figures(engine, b, lambda r: r['rows_per_s'])) / _median(figures(engine, a, lambda r: r['rows_per_s'])):.2f}x")


def driver(args: argparse.Namespace) -> None:
    import numpy as np

    pythons = {"minilm": args.minilm_python, "st": args.st_python}
    actor_counts = [int(a) for a in args.actors.split(",")]
    env = dict(os.environ, HF_HUB_OFFLINE="1", RAY_USAGE_STATS_ENABLED="0", TOKENIZERS_PARALLELISM="false")
    print(f"{args.lines} lines, blocks of {args.block_rows} rows, map_batches batch_size {args.batch_size}, "
          f"ray.init(num_cpus={args.num_cpus}), pools of {actor_counts} actor(s) of 1 CPU, {args.repeats} repeat(s)")
    print(f"machine: {os.cpu_count()} CPU(s), load average {os.getloadavg()[0]:.2f} at the start; the Ray driver, "
          "scheduler and object store share these cores with the actors")
    for engine in ENGINES:
        print(f"  {ENGINE_NAMES[engine]}: {pythons[engine]}: {_versions(pythons[engine], engine)}")

    # Warm the page cache: the model files, and each interpreter's imports.
    for path in Path(args.model).rglob("*"):
        if path.is_file():
            path.read_bytes()
    if not args.no_warmup:
        for engine in ENGINES:
            imports = "import ray.data, pyarrow, minilm.ray" if engine == "minilm" else \
                "import ray.data, pyarrow, torch, sentence_transformers"
            subprocess.run([pythons[engine], "-c", imports], env=env, check=True)

    started = time.perf_counter()
    results: dict[tuple[str, int], list[dict]] = {}
    samples: dict[tuple[str, int], str] = {}
    with tempfile.TemporaryDirectory(prefix="compare_ray.") as tmp:
        for repeat in range(args.repeats):
            for actors in actor_counts:
                for engine in ENGINES:
                    r, sample = run_case(args, engine, actors, repeat, pythons, env, tmp)
                    results.setdefault((engine, actors), []).append(r)
                    if repeat == 0:
                        samples[(engine, actors)] = str(sample)

        # Agreement: the largest pool's sample of the first repeat, both engines.
        top = max(actor_counts)
        got = {engine: np.load(samples[(engine, top)]) for engine in ENGINES}
        assert (got["minilm"]["ids"] == got["st"]["ids"]).all()
        cos = _cosines(got["minilm"]["embeddings"], got["st"]["embeddings"])
        diff = np.abs(got["minilm"]["embeddings"] - got["st"]["embeddings"]).max()
        same_pools = None
        if len(actor_counts) > 1:
            low = np.load(samples[("minilm", min(actor_counts))])["embeddings"]
            same_pools = low.tobytes() == got["minilm"]["embeddings"].tobytes()
    elapsed = time.perf_counter() - started

    print_table(args, results, actor_counts)
    print("\n* sentence-transformers' constructor imports torch and sentence_transformers, then opens the model;"
          "\n  minilm's opens the model only (minilm.ray is imported when the actor loads the class).")
    print(f"\nagreement ({len(cos)} rows, every {args.sample_every}th id, {top}-actor runs): "
          f"min cosine {cos.min():.9f}, max |diff| {diff:.3g}" + ("" if cos.min() >= 0.9999 else "  BELOW 0.9999"))
    if same_pools is not None:
        print(f"minilm's sample bitwise the same with {min(actor_counts)} and {top} actor(s): {same_pools}")
    print(f"every id once in every run; Pss sampled every {args.sample_interval} s "
          f"(samples kept per run: {', '.join(str(r['pss_samples']) for k in results for r in results[k])})")
    print(f"load average at the end {os.getloadavg()[0]:.2f}; the whole comparison took {elapsed:.0f} s")
    if cos.min() < 0.9999:
        sys.exit(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minilm-python", default=sys.executable, help="interpreter with minilm and ray[data]")
    parser.add_argument("--st-python", default=sys.executable,
                        help="interpreter with sentence-transformers, torch and ray[data]")
    parser.add_argument("--model", default=str(SOURCE_ROOT / "models" / "all-MiniLM-L6-v2"), help="model folder")
    parser.add_argument("--lines", type=int, default=20_000, help="corpus lines to embed (default: 20000)")
    parser.add_argument("--actors", default="1,2", help="pool sizes, comma-separated (default: 1,2)")
    parser.add_argument("--repeats", type=int, default=1, help="runs of each case; medians are reported (default: 1)")
    parser.add_argument("--block-rows", type=int, default=256, help="rows per input block (default: 256)")
    parser.add_argument("--batch-size", type=int, default=256, help="map_batches batch_size (default: 256)")
    parser.add_argument("--num-cpus", type=int, default=2, help="ray.init(num_cpus=...) (default: 2)")
    parser.add_argument("--object-store-mb", type=int, default=500, help="the local object store (default: 500)")
    parser.add_argument("--sample-every", type=int, default=10,
                        help="compare the embeddings of every Nth id (default: 10)")
    parser.add_argument("--sample-interval", type=float, default=0.5, help="Pss sampling period, s (default: 0.5)")
    parser.add_argument("--no-warmup", action="store_true", help="skip the untimed imports in each interpreter")
    parser.add_argument("--worker", choices=ENGINES, help=argparse.SUPPRESS)
    for name in ("--pid-dir", "--result", "--sample-out"):
        parser.add_argument(name, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
    else:
        driver(args)


if __name__ == "__main__":
    main()
