"""minilm.ray on a local Ray cluster (2 CPUs): 6,000 lines of tests/data/tokenizer/corpus.txt.gz
embedded by a pool of actors, every row bitwise the single-process Encoder's, and the same with
one actor SIGKILLed mid-run (Ray restarts it and retries its batches; no row is lost or
repeated).

Without Ray the tests skip, unless MINILM_REQUIRE_RAY=1 (tools/ci/test_python.sh sets it), when
they fail."""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from support import SOURCE_ROOT

CORPUS = SOURCE_ROOT / "tests" / "data" / "tokenizer" / "corpus.txt.gz"
N_TEXTS = 6_000  # 30 output batches of 200: enough for a kill well inside the run
DIMENSION = 384


def _need_ray():
    """ray.data and pyarrow, or a skip (a failure with MINILM_REQUIRE_RAY=1)."""
    try:
        import pyarrow
        import ray
        import ray.data
    except ImportError as error:
        message = f"Ray Data is not importable ({error}); pip install minilm[ray]"
        if os.environ.get("MINILM_REQUIRE_RAY") == "1":
            pytest.fail(f"MINILM_REQUIRE_RAY=1 but {message}", pytrace=False)
        pytest.skip(message)
    return ray, pyarrow


@pytest.fixture(scope="module")
def ray_modules():
    return _need_ray()


@pytest.fixture(scope="module")
def ray_cluster(ray_modules):
    ray, _ = ray_modules
    ray.init(num_cpus=2, include_dashboard=False, object_store_memory=200 * 1024**2,
             configure_logging=False, log_to_driver=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    try:
        yield ray
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def texts() -> list[str]:
    """The corpus's first 6,000 lines: UTF-8 split on "\\n" only (lines hold "\\x1c", "\\x1b", tabs
    and other characters that str.splitlines would split on)."""
    lines = gzip.decompress(CORPUS.read_bytes()).decode("utf-8").split("\n")
    assert len(lines) > N_TEXTS
    return lines[:N_TEXTS]


@pytest.fixture(scope="module")
def reference(ray_modules, texts, encoder) -> np.ndarray:
    """The single-process Encoder's embeddings of the texts, in order (not computed when the tests
    that need them skip for want of Ray)."""
    out = encoder.encode(texts)
    assert out.shape == (N_TEXTS, DIMENSION) and out.dtype == np.float32
    return out


def _dataset(ray, pa, texts: list[str], seed: int):
    """The texts with an id column (their line number), in blocks of irregular sizes."""
    rng = np.random.default_rng(seed)
    tables, start = [], 0
    while start < len(texts):
        end = min(len(texts), start + int(rng.integers(60, 400)))
        tables.append(pa.table({"id": pa.array(range(start, end), pa.int64()), "text": texts[start:end],
                                "length": pa.array([len(t) for t in texts[start:end]], pa.int32())}))
        start = end
    return ray.data.from_arrow(tables)


def _check_complete(table, texts: list[str], reference: np.ndarray) -> None:
    """Every id once, the other columns kept, each embedding bitwise the reference's row."""
    import pyarrow as pa

    assert table.column_names == ["id", "text", "length", "embedding"]
    assert table.schema.field("embedding").type == pa.list_(pa.float32(), DIMENSION)
    ids = table.column("id").to_numpy()
    assert len(ids) == len(np.unique(ids)), f"{len(ids) - len(np.unique(ids))} row(s) repeated"
    missing = np.setdiff1d(np.arange(len(texts)), ids)
    assert len(ids) == len(texts) and not len(missing), f"{len(missing)} row(s) missing, e.g. {missing[:5]}"
    assert table.column("text").to_pylist() == [texts[i] for i in ids]
    assert table.column("length").to_pylist() == [len(texts[i]) for i in ids]
    column = table.column("embedding").combine_chunks()
    got = column.flatten().to_numpy().reshape(-1, DIMENSION)
    want = reference[ids]
    differ = np.flatnonzero((got.view(np.uint32) != want.view(np.uint32)).any(axis=1))
    assert not len(differ), f"{len(differ)} row(s) differ from Encoder.encode, e.g. ids {ids[differ[:5]]}"
    assert got.tobytes() == want.tobytes()


def _state(pid: int) -> str | None:
    """The process's state letter (R, S, Z, ...), or None once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None
    return stat.rsplit(")", 1)[1].split()[0]


def test_import_without_ray():
    """minilm.ray imports without Ray; using it says what to install."""
    code = textwrap.dedent("""
        import sys
        sys.modules["ray"] = sys.modules["pyarrow"] = None   # import ray / pyarrow now fail
        import minilm.ray
        for use in (lambda: minilm.ray.embed(None, "model"), lambda: minilm.ray.Embedder("model")):
            try:
                use()
            except ImportError as error:
                assert "pip install minilm[ray]" in str(error), error
            else:
                raise AssertionError("no ImportError")
        print("ok")
    """)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/")
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stdout + run.stderr


def test_embedder_in_process(ray_modules, model_path, texts, reference):
    """The map_batches class called directly: a pyarrow batch gets a float32 FixedSizeListArray
    over the encoder's own output (no copy), other columns kept, a same-named column replaced; a
    numpy batch gets a (rows, 384) array; tensor columns are Ray's tensor type."""
    _, pa = ray_modules
    import minilm.ray

    outputs = []

    class Recording(minilm.ray.Embedder):
        def _encode(self, batch_texts):
            outputs.append(super()._encode(batch_texts))
            return outputs[-1]

    embedder = Recording(model_path, text_column="t", output_column="e", encode_batch_size=7)
    batch = pa.table({"e": [1, 2, 3], "t": texts[10:13], "k": ["a", "b", "c"]})
    out = embedder(batch)
    assert out.column_names == ["e", "t", "k"] and out.column("k").to_pylist() == ["a", "b", "c"]
    column = out.column("e").chunk(0)
    assert column.type == pa.list_(pa.float32(), DIMENSION)
    assert column.values.buffers()[1].address == outputs[-1].ctypes.data
    assert column.flatten().to_numpy().tobytes() == reference[10:13].tobytes()

    numpy_out = embedder({"t": np.array(texts[20:25], dtype=object), "k": np.arange(5)})
    assert numpy_out["e"].shape == (5, DIMENSION) and numpy_out["e"].tobytes() == reference[20:25].tobytes()
    assert list(numpy_out["k"]) == [0, 1, 2, 3, 4]

    tensor = minilm.ray.Embedder(model_path, output_format="tensor")(pa.table({"text": texts[:4]}))
    assert np.asarray(tensor.column("embedding").chunk(0).to_numpy()).tobytes() == reference[:4].tobytes()

    with pytest.raises(ValueError, match="null"):
        embedder(pa.table({"t": ["a", None]}))


def test_tensor_column_to_parquet(ray_cluster, model_path, texts, reference, tmp_path):
    """embed(output_format="tensor") and write_parquet: the Parquet files hold every row, bitwise."""
    import minilm.ray
    import pyarrow.parquet as pq

    ray = ray_cluster
    n = 1500
    import pyarrow as pa

    ds = _dataset(ray, pa, texts[:n], seed=2)
    minilm.ray.embed(ds, model_path, concurrency=1, batch_size=100, output_format="tensor",
                     output_column="vector").write_parquet(str(tmp_path / "out"))
    table = pq.read_table(tmp_path / "out")
    ids = table.column("id").to_numpy()
    assert sorted(ids) == list(range(n))
    vectors = np.stack(ray.data.from_arrow(table).to_pandas()["vector"].to_numpy())
    assert vectors.dtype == np.float32 and vectors.tobytes() == reference[ids].tobytes()


def test_actor_killed_mid_run(ray_cluster, model_path, texts, reference, tmp_path):
    """6,000 lines through embed() with 2 one-thread actors; once output has come back, one actor
    gets SIGKILL. Ray restarts it (a new process opens the model again) and retries the batches it
    held: the result still has every id once, each row bitwise the single-process Encoder's."""
    import minilm.ray
    import pyarrow as pa

    ray = ray_cluster
    markers = tmp_path / "actors"
    markers.mkdir()

    # Defined here, so that Ray ships it by value: each actor writes a file named by its pid when
    # it opens the model, and appends a line per batch it embeds.
    class Marking(minilm.ray.Embedder):
        def __init__(self, model, *, marker_dir, **kwargs):
            super().__init__(model, **kwargs)
            self.marker = os.path.join(marker_dir, str(os.getpid()))
            with open(self.marker, "a"):
                pass

        def __call__(self, batch):
            out = super().__call__(batch)
            with open(self.marker, "a") as f:
                f.write(f"{batch.num_rows}\n")
            return out

    def batches_by_pid() -> dict[int, int]:
        return {int(p.name): len(p.read_text().splitlines()) for p in markers.iterdir()}

    ds = minilm.ray.embed(_dataset(ray, pa, texts, seed=1), model_path, concurrency=2, threads_per_actor=1,
                          batch_size=200, encode_batch_size=16, embedder_class=Marking, marker_dir=str(markers))
    tables, killed, at_kill, before, rows_after_kill = [], None, 0, {}, 0
    for table in ds.iter_batches(batch_format="pyarrow", batch_size=None):
        tables.append(table)
        if killed is None:
            before = batches_by_pid()
            working = [pid for pid, n in before.items() if n and _state(pid) not in (None, "Z")]
            if len(tables) >= 3 and working:
                killed, at_kill = working[0], len(tables)
                assert "ray::" in Path(f"/proc/{killed}/cmdline").read_text(errors="replace")
                os.kill(killed, signal.SIGKILL)
                deadline = time.monotonic() + 10
                while _state(killed) not in (None, "Z") and time.monotonic() < deadline:
                    time.sleep(0.05)
                assert _state(killed) in (None, "Z"), f"actor {killed} still alive after SIGKILL"
        else:
            rows_after_kill += table.num_rows

    after = batches_by_pid()
    print(f"SIGKILL to actor pid {killed} once {at_kill} output batches had come back; batches embedded "
          f"per actor pid before the kill {before}, at the end {after}; {rows_after_kill} rows came back after")
    assert killed is not None, "the run ended before an actor could be killed"
    assert rows_after_kill > 0, "the kill did not land mid-run"
    new = {pid: n for pid, n in after.items() if pid not in before}
    assert new, f"no actor started after {killed} was killed: {after}"
    assert sum(new.values()) > 0, f"the replacement actor(s) {new} embedded nothing"
    _check_complete(pa.concat_tables(tables), texts, reference)
