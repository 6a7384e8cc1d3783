"""Fixtures for the Python package's tests (tools/ci/test_python.sh runs them against the installed
package). MINILM_MODEL_DIR names the real all-MiniLM-L6-v2 folder (default: models/ in the source
tree, where tools/setup/fetch_model.sh puts it)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SOURCE_ROOT = Path(__file__).resolve().parents[2]


def model_dir() -> Path:
    return Path(os.environ.get("MINILM_MODEL_DIR") or SOURCE_ROOT / "models" / "all-MiniLM-L6-v2")


@pytest.fixture(scope="session")
def source_root() -> Path:
    return SOURCE_ROOT


@pytest.fixture(scope="session")
def model_path() -> Path:
    path = model_dir()
    if not (path / "model.safetensors").is_file():
        pytest.fail(f"the real model is not at {path}: run tools/setup/fetch_model.sh")
    return path


@pytest.fixture(scope="session")
def encoder(model_path):
    import minilm

    return minilm.Encoder(model_path, threads=2)
