"""examples/ray_embed.py runs as its docstring says, and writes what it promises: a Parquet
folder with an id per line and each line's embedding, bitwise minilm.Encoder's."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from support import ENCODER_DATA, SOURCE_ROOT, read_texts


def test_ray_embed_example(model_path, encoder, tmp_path):
    try:
        import pyarrow.parquet as pq
    except ImportError as error:
        if os.environ.get("MINILM_REQUIRE_RAY") == "1":
            pytest.fail(f"MINILM_REQUIRE_RAY=1 but pyarrow is not importable ({error})", pytrace=False)
        pytest.skip(f"Ray Data is not importable ({error}); pip install minilm[ray]")
    texts = read_texts(ENCODER_DATA / "texts.txt")[:600]
    source = tmp_path / "texts.txt"
    source.write_bytes("".join(t + "\n" for t in texts).encode("utf-8"))
    output = tmp_path / "embeddings"

    run = subprocess.run(
        [sys.executable, str(SOURCE_ROOT / "examples" / "ray_embed.py"), "--model", str(model_path),
         "--input", str(source), "--output", str(output), "--num-cpus", "2", "--actors", "2",
         "--threads-per-actor", "1", "--batch-size", "64"],
        capture_output=True, text=True, timeout=300, env={**os.environ, "RAY_ADDRESS": ""})
    assert run.returncode == 0, f"ray_embed.py failed:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    assert f"{len(texts)} texts embedded" in run.stdout

    table = pq.read_table(output)
    ids = table.column("id").to_numpy()
    assert sorted(ids) == list(range(len(texts))), "ids missing or repeated"
    assert table.column("text").to_pylist() == [texts[i] for i in ids]
    got = table.column("embedding").combine_chunks().flatten().to_numpy().reshape(len(ids), -1)
    assert got.tobytes() == encoder.encode(texts)[ids].tobytes()
