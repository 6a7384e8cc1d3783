"""The scenario minilm exists for: gunicorn starts four workers at the same instant, each opens the
same model from a place no worker may write, and they serve embeddings side by side
(examples/python/app.py).

Two places: a model folder on a read-only bind mount, and a read-only Hugging Face hub cache that
holds the model as sentence-transformers/all-MiniLM-L6-v2. Gunicorn runs in a private mount
namespace (unshare) where that bind mount is made; the test is skipped where this is refused.
Each start checks that
  - every worker comes up and answers /embed with the very bits minilm gives in this process;
  - the four workers hold model.safetensors in memory once between them, not once each: the sum
    of their Pss (their share of each page they map) over the file stays near its size;
  - no worker fails, and gunicorn stops cleanly;
and after all starts, nothing under the model folder or the cache was created, removed or touched.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import random
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import minilm
from support import add_hub_snapshot, assert_untouched, listing

WORKERS = 4
CONNECTIONS_PER_WORKER = 2  # keep-alive connections, one client thread each
REQUESTS = 200  # per start
STARTS = 10
PRELOAD_STARTS = 2
READY_TIMEOUT = 60.0  # seconds from starting gunicorn until every worker answers
REQUEST_TIMEOUT = 30.0
PSS_LIMIT = 1.25  # times the size of model.safetensors, for the four workers together
HUB_ID = "sentence-transformers/all-MiniLM-L6-v2"
BARRIER_CONFIG = Path(__file__).resolve().with_name("gunicorn_barrier.py")


@pytest.mark.parametrize("preload", [False, True], ids=["app-imported-by-each-worker", "preload"])
def test_workers_share_a_read_only_model_folder(preload, model_folder, read_only_mount, expected, tmp_path, capsys):
    mount_point = tmp_path / "model"
    mount_point.mkdir()
    before = listing(model_folder)

    stats = [
        start_and_check(
            mount=read_only_mount(model_folder, mount_point),
            env={"MINILM_MODEL": str(mount_point)},
            served_path=str(mount_point),
            weights=model_folder / "model.safetensors",
            preload=preload,
            expected=expected,
            log=tmp_path / f"gunicorn-{start}.log",
            seed=f"folder {preload} {start}",
        )
        for start in range(PRELOAD_STARTS if preload else STARTS)
    ]

    assert_untouched(model_folder, before)
    with capsys.disabled():
        print(summary("read-only model folder" + (", --preload" if preload else ""), stats))


@pytest.mark.parametrize("preload", [False, True], ids=["app-imported-by-each-worker", "preload"])
def test_workers_share_a_read_only_hub_cache(preload, hub_cache, read_only_mount, expected, tmp_path, capsys):
    cache, snapshot = hub_cache
    mount_point = tmp_path / "hub"
    mount_point.mkdir()
    before = listing(cache)

    stats = [
        start_and_check(
            mount=read_only_mount(cache, mount_point),
            env={"HF_HUB_CACHE": str(mount_point), "MINILM_MODEL": HUB_ID},
            served_path=str(mount_point / snapshot.relative_to(cache)),
            weights=(snapshot / "model.safetensors").resolve(),  # its blob
            preload=preload,
            expected=expected,
            log=tmp_path / f"gunicorn-{start}.log",
            seed=f"cache {preload} {start}",
        )
        for start in range(PRELOAD_STARTS if preload else STARTS)
    ]

    assert_untouched(cache, before)
    with capsys.disabled():
        print(summary("read-only hub cache" + (", --preload" if preload else ""), stats))


# --- One start ---------------------------------------------------------------------------------


@dataclass
class Stats:
    ready_s: float  # from the barrier's release until all four workers answered
    served_s: float  # the REQUESTS requests
    n_embeddings: int
    pss_kb: list[int]  # each worker's Pss of model.safetensors
    master_pss_kb: int
    worker_pss_kb: list[int]  # each worker's Pss of all its memory, model.safetensors included
    file_kb: float


def start_and_check(*, mount, env, served_path, weights, preload, expected, log, seed) -> Stats:
    """Starts gunicorn, releases its workers together, serves REQUESTS requests over
    WORKERS * CONNECTIONS_PER_WORKER concurrent connections, checks the answers and the memory,
    and stops it."""
    texts = list(expected)
    rng = random.Random(seed)
    requests = [rng.sample(texts, 1 if rng.random() < 0.5 else rng.randint(2, 4)) for _ in range(REQUESTS)]

    with Gunicorn(mount, env, preload, log) as service:
        workers = service.wait_until_forked()
        released = time.monotonic()
        service.release()
        connections = service.connect_to_every_worker(served_path)
        ready_s = time.monotonic() - released

        results = embed_concurrently(connections, requests)
        served_s = time.monotonic() - released - ready_s
        assert_bit_identical(results, expected)

        # While the workers are up and have each run the model.
        mapped = [mapped_memory(pid, weights) for pid in workers]
        pss_kb = [memory["Pss"] for memory in mapped]
        master_pss_kb = mapped_memory(service.process.pid, weights)["Pss"]
        worker_pss_kb = [whole_pss(pid) for pid in workers]
        file_kb = weights.stat().st_size / 1024
        assert all(memory["Rss"] > 0 for memory in mapped), f"a worker does not map {weights.name}: {mapped}"
        assert sum(pss_kb) <= PSS_LIMIT * file_kb, (
            f"the {WORKERS} workers hold {sum(pss_kb)} kB of model.safetensors ({file_kb:.0f} kB) between them, "
            f"each {pss_kb}: the weights are not shared"
        )
        assert service.live_workers() == sorted(workers), f"a worker died or was replaced:\n{service.log_text()}"

    assert service.returncode == 0, f"gunicorn exited with {service.returncode}:\n{service.log_text()}"
    assert not service.leftovers, "processes of gunicorn's group outlived it"
    log_text = service.log_text()
    failures = [line for line in log_text.splitlines() if re.search(r"\[(ERROR|CRITICAL)\]|Traceback|TIMEOUT", line)]
    assert not failures and log_text.count("Booting worker") == WORKERS, f"gunicorn's log:\n{log_text}"
    return Stats(ready_s, served_s, sum(len(r) for r in requests), pss_kb, master_pss_kb, worker_pss_kb, file_kb)


def embed_concurrently(connections, requests) -> list[tuple[list[str], list[list[float]]]]:
    """POSTs each request's texts to /embed, one client thread per connection, requests dealt out
    round-robin; returns (texts, embeddings) pairs."""

    def client(i: int):
        return [(texts, request_json(connections[i], "POST", "/embed", {"texts": texts})["embeddings"])
                for texts in requests[i :: len(connections)]]

    with ThreadPoolExecutor(len(connections)) as pool:
        return [result for results in pool.map(client, range(len(connections))) for result in results]


def assert_bit_identical(results, expected) -> None:
    different = []
    for texts, embeddings in results:
        got = np.array(embeddings, dtype=np.float32)
        want = np.stack([expected[text] for text in texts])
        if got.shape != want.shape or not np.array_equal(got.view(np.uint32), want.view(np.uint32)):
            different.append((texts, got, want))
    if different:
        texts, got, want = different[0]
        diff = np.abs(got - want).max() if got.shape == want.shape else f"shape {got.shape} for {want.shape}"
        pytest.fail(f"{len(different)} of {len(results)} answers differ from minilm in this process; "
                    f"first: texts {texts!r}, max |difference| {diff}")


class Gunicorn:
    """examples/python/app.py under gunicorn (four uvicorn workers, as its docstring says), run
    under `mount`, with gunicorn_barrier.py holding each worker between fork and loading the app.
    Stops gunicorn on leaving the with block, whatever happened."""

    def __init__(self, mount: list[str], env: dict[str, str], preload: bool, log: Path) -> None:
        self.log = log
        self.deadline = time.monotonic() + READY_TIMEOUT
        listener = socket.create_server(("127.0.0.1", 0))  # handed to gunicorn: no race for the port
        self.port = listener.getsockname()[1]
        self.forked, forked_w = os.pipe()
        go_r, self.go = os.pipe()
        command = [
            *mount, sys.executable, "-m", "gunicorn", "--config", str(BARRIER_CONFIG),
            "--workers", str(WORKERS), "--worker-class", "uvicorn_worker.UvicornWorker",
            "--bind", f"fd://{listener.fileno()}", "--chdir", str(Path(__file__).parents[2] / "examples" / "python"),
            *(["--preload"] if preload else []), "app:app",
        ]  # fmt: skip
        env = {
            **os.environ, **env, "MINILM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1",
            "MINILM_TEST_FORKED_FD": str(forked_w), "MINILM_TEST_GO_FD": str(go_r),
        }  # fmt: skip
        with open(log, "wb") as out:
            self.process = subprocess.Popen(
                command, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                pass_fds=(listener.fileno(), forked_w, go_r), start_new_session=True,
            )  # fmt: skip
        listener.close()
        os.close(forked_w)
        os.close(go_r)
        self.workers: list[int] = []
        self.returncode: int | None = None
        self.leftovers = False

    def __enter__(self) -> Gunicorn:
        return self

    def __exit__(self, *exc) -> None:
        os.close(self.go)  # a worker still at the barrier reads end of file and goes on
        os.close(self.forked)
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # gunicorn stops its workers, then itself
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)  # whatever is left of its process group
            self.leftovers = True
        except ProcessLookupError:
            pass
        self.returncode = self.process.wait()

    def wait_until_forked(self) -> list[int]:
        """The workers' pids, once all have reached the barrier."""
        buffer = b""
        while len(self.workers) < WORKERS:
            ready, _, _ = select.select([self.forked], [], [], max(0.0, self.deadline - time.monotonic()))
            chunk = os.read(self.forked, 4096) if ready else b""
            if not chunk:
                self.fail(f"{len(self.workers)} of {WORKERS} workers reached the barrier")
            *lines, buffer = (buffer + chunk).split(b"\n")
            self.workers += [int(line) for line in lines]
        return self.workers

    def release(self) -> None:
        os.write(self.go, b"." * WORKERS)

    def connect_to_every_worker(self, served_path: str) -> list[http.client.HTTPConnection]:
        """CONNECTIONS_PER_WORKER keep-alive connections to each worker. A connection stays with the
        worker that accepted it, and /health says which worker that is: connections to a worker
        that has enough are dropped, until every worker has answered."""
        connections: dict[int, list[http.client.HTTPConnection]] = {pid: [] for pid in self.workers}
        while any(len(c) < CONNECTIONS_PER_WORKER for c in connections.values()):
            remaining = self.deadline - time.monotonic()
            if remaining <= 0 or self.process.poll() is not None:
                answered = sorted(pid for pid, c in connections.items() if c)
                self.fail(f"workers {answered} of {self.workers} answered /health")
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=remaining)
            try:
                health = request_json(connection, "GET", "/health")
            except (OSError, http.client.HTTPException):
                connection.close()
                time.sleep(0.1)
                continue  # the checks above say why, if it lasts
            assert health["model"] == served_path, f"the workers opened {health['model']}, not {served_path}"
            assert health["pid"] in connections, f"/health from {health['pid']}, not a worker {self.workers}"
            if len(connections[health["pid"]]) < CONNECTIONS_PER_WORKER:
                connection.sock.settimeout(REQUEST_TIMEOUT)
                connections[health["pid"]].append(connection)
            else:
                connection.close()
                time.sleep(0.02)  # let the workers still loading have the CPU
        return [connection for pid in self.workers for connection in connections[pid]]

    def live_workers(self) -> list[int]:
        children = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # gone meanwhile
            if int(fields[1]) == self.process.pid and fields[0] != "Z":
                children.append(int(stat.parent.name))
        return sorted(children)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def fail(self, what: str) -> None:
        pytest.fail(f"{what} within {READY_TIMEOUT:.0f} s of starting gunicorn; its log:\n{self.log_text()}")


def request_json(connection: http.client.HTTPConnection, method: str, path: str, body=None):
    headers = {"Content-Type": "application/json"} if body is not None else {}
    connection.request(method, path, json.dumps(body) if body is not None else None, headers)
    response = connection.getresponse()
    data = response.read()
    assert response.status == 200, f"{method} {path}: {response.status} {data[:1000]!r}"
    return json.loads(data)


# --- Memory ------------------------------------------------------------------------------------

SMAPS_MAPPING = re.compile(r"^[0-9a-f]+-[0-9a-f]+ \S+ [0-9a-f]+ [0-9a-f]+:[0-9a-f]+ (?P<inode>\d+)\s*(?P<path>.*)$")


def mapped_memory(pid: int, file: Path) -> dict[str, int]:
    """Rss and Pss (kB) of pid's mappings of `file`, from /proc/<pid>/smaps. A mapping is the file's
    if it names the file's inode or ends with its name: inside gunicorn's mount namespace the file
    has another path than it has here."""
    inode = file.stat().st_ino
    memory = {"Rss": 0, "Pss": 0}
    ours = False
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        mapping = SMAPS_MAPPING.match(line)
        if mapping:
            ours = int(mapping["inode"]) == inode or mapping["path"].endswith("/" + file.name)
        elif ours:
            key, _, value = line.partition(":")
            if key in memory:
                memory[key] += int(value.split()[0])
    return memory


def whole_pss(pid: int) -> int:
    """pid's Pss (kB) over all its memory."""
    return next(int(line.split()[1]) for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
                if line.startswith("Pss:"))


def summary(what: str, stats: list[Stats]) -> str:
    ready = [s.ready_s for s in stats]
    pss = [sum(s.pss_kb) for s in stats]
    last = stats[-1]
    return (
        f"\n{what}: {len(stats)} starts of {WORKERS} workers, ready {min(ready):.2f}-{max(ready):.2f} s after the "
        f"barrier; {sum(s.n_embeddings for s in stats)} embeddings over {len(stats) * REQUESTS} requests, bit-identical, "
        f"{max(s.served_s for s in stats):.2f} s at most per start.\n"
        f"  Pss of model.safetensors ({last.file_kb:.0f} kB), the {WORKERS} workers together: "
        f"{min(pss)}-{max(pss)} kB = {min(pss) / last.file_kb:.2f}-{max(pss) / last.file_kb:.2f} x the file "
        f"(limit {PSS_LIMIT}); last start, each worker {last.pss_kb} kB, master {last.master_pss_kb} kB;\n"
        f"  each worker's Pss of all its memory {last.worker_pss_kb} kB"
    )


# --- The model, where the workers find it ------------------------------------------------------


@pytest.fixture(scope="module")
def expected(source_root, model_path) -> dict[str, np.ndarray]:
    """Each line of texts.txt and its embedding from minilm in this process: the answers expected
    from the service, bit for bit."""
    texts = (source_root / "tests" / "data" / "encoder" / "texts.txt").read_text(encoding="utf-8").split("\n")
    return dict(zip(texts, minilm.Encoder(model_path).encode(texts)))


@pytest.fixture(scope="module")
def model_folder(model_path, tmp_path_factory) -> Iterator[Path]:
    """A copy of the model folder that only the service maps, so that the Pss figures are its
    processes' alone."""
    folder = tmp_path_factory.mktemp("served") / model_path.name
    shutil.copytree(model_path, folder)
    yield folder
    shutil.rmtree(folder)  # 90 MB; pytest keeps the temporary folders of its last runs


@pytest.fixture(scope="module")
def hub_cache(model_folder, tmp_path_factory) -> Iterator[tuple[Path, Path]]:
    """A hub cache holding the model as HUB_ID at one commit, refs/main naming it, laid out as
    huggingface_hub lays it out (support.add_hub_snapshot). Returns the cache and the snapshot."""
    cache = tmp_path_factory.mktemp("cache") / "hub"
    repo = cache / ("models--" + HUB_ID.replace("/", "--"))
    files = sorted(path.relative_to(model_folder) for path in model_folder.rglob("*") if path.is_file())
    commit = hashlib.sha1("\n".join(map(str, files)).encode()).hexdigest()  # any 40 hex digits do
    snapshot = add_hub_snapshot(repo, commit, model_folder)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    yield cache, snapshot
    shutil.rmtree(cache)


@pytest.fixture(scope="module")
def read_only_mount(tmp_path_factory):
    """The command prefix that runs a command in a private mount namespace where `mount_point` is a
    read-only bind mount of `source`. Skips the test where unshare or mount is refused."""

    def prefix(source: Path, mount_point: Path) -> list[str]:
        script = 'mount --bind "$1" "$2" && mount -o remount,bind,ro "$2" || exit 77; shift 2; exec "$@"'
        return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", str(source), str(mount_point)]

    source, mount_point = tmp_path_factory.mktemp("probe"), tmp_path_factory.mktemp("probe_mount")
    try_to_write = ["sh", "-c", 'touch "$1/probe" 2>/dev/null && exit 3; exit 0', "sh", str(mount_point)]
    try:
        probe = subprocess.run(prefix(source, mount_point) + try_to_write, capture_output=True, text=True, timeout=30)
    except FileNotFoundError as error:
        probe = subprocess.CompletedProcess(error.filename, 127, "", str(error))
    assert probe.returncode != 3, "a file was written on the read-only bind mount"
    if probe.returncode != 0:
        reason = f"no read-only bind mount in a private mount namespace here: {probe.stderr.strip()} ({probe.returncode})"
        print(reason)
        pytest.skip(reason)
    return prefix
