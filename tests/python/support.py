"""Helpers for the Python package's tests: the goldens tools/goldens/make_encoder_goldens.py and
tools/goldens/make_multilingual_goldens.py wrote with sentence-transformers (the same reader as
tests/test_encoder_golden.hpp), the generated-weight folders of tests/test_encoder_shapes.cpp,
the multilingual folders tools/setup/fetch_multilingual.sh builds, a Hugging Face hub cache laid out
around a model folder, and the listing that shows whether anything wrote under a folder."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

import numpy as np
import pytest

SOURCE_ROOT = Path(__file__).resolve().parents[2]
ENCODER_DATA = SOURCE_ROOT / "tests" / "data" / "encoder"
MULTILINGUAL_DATA = SOURCE_ROOT / "tests" / "data" / "multilingual"

# Parity with sentence-transformers (float32 on both sides): the C++ tests' limits.
MAX_ABS_TOLERANCE = 1e-5
MIN_COSINE_TOLERANCE = 0.999999


def read_texts(path: Path) -> list[str]:
    """texts.txt: one text per line, split on "\\n" only (a text may hold "\\r" or tabs)."""
    lines = path.read_bytes().decode("utf-8").split("\n")
    lines.pop()  # what follows the last "\n" is not a text
    return lines


@dataclass
class Golden:
    """The reference's ids and outputs for a list of texts."""

    offsets: np.ndarray  # (n_texts + 1,) uint32
    ids: np.ndarray  # (n_tokens,) int32
    embeddings: np.ndarray  # (n_texts, dim) float32
    token_states: np.ndarray | None  # (n_tokens, dim) float32

    @property
    def n_texts(self) -> int:
        return len(self.offsets) - 1

    @property
    def dim(self) -> int:
        return self.embeddings.shape[1]

    def ids_of(self, i: int) -> list[int]:
        return self.ids[self.offsets[i] : self.offsets[i + 1]].tolist()

    def all_ids(self) -> list[list[int]]:
        return [self.ids_of(i) for i in range(self.n_texts)]


def read_golden(path: Path) -> Golden:
    """An MLG1 file: b"MLG1", u32 n_texts, dim, n_tokens, has_token_states, u32 offsets[n_texts + 1],
    i32 ids[n_tokens], f32 embeddings[n_texts * dim], then f32 token_states[n_tokens * dim] if
    has_token_states; little-endian."""
    data = path.read_bytes()
    if data[:4] != b"MLG1":
        raise ValueError(f"{path}: not a golden file")
    n_texts, dim, n_tokens, has_states = (int(v) for v in np.frombuffer(data, "<u4", 4, 4))
    at = 20

    def take(dtype: str, count: int) -> np.ndarray:
        nonlocal at
        if at + 4 * count > len(data):
            raise ValueError(f"{path}: truncated")
        values = np.frombuffer(data, dtype, count, at)
        at += 4 * count
        return values

    offsets = take("<u4", n_texts + 1)
    ids = take("<i4", n_tokens)
    embeddings = take("<f4", n_texts * dim).reshape(n_texts, dim)
    states = take("<f4", n_tokens * dim).reshape(n_tokens, dim) if has_states else None
    if at != len(data):
        raise ValueError(f"{path}: trailing bytes")
    return Golden(offsets, ids, embeddings, states)


@dataclass
class Difference:
    """How far rows are from the reference's: the largest |difference| of any component (and the
    row it is in), the largest |reference value|, and the smallest cosine of a row with its
    reference row."""

    max_abs: float
    worst_row: int
    max_ref: float
    min_cosine: float

    def __str__(self) -> str:
        return (f"max |difference| {self.max_abs:.3g} (row {self.worst_row}, largest |value| {self.max_ref:.3g}), "
                f"min cosine {self.min_cosine:.9f}")

    def within_parity(self) -> bool:
        return self.max_abs <= MAX_ABS_TOLERANCE and self.min_cosine >= MIN_COSINE_TOLERANCE


def compare(got, want) -> Difference:
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape, f"shape {got.shape}, the reference's {want.shape}"
    if got.size == 0:
        return Difference(0.0, 0, 0.0, 1.0)
    diff = np.abs(got - want)
    diff[np.isnan(diff)] = np.inf
    per_row = diff.max(axis=1)
    dot = (got * want).sum(axis=1)
    gg = (got * got).sum(axis=1)
    ww = (want * want).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cosine = np.where((gg == 0) & (ww == 0), 1.0, dot / np.sqrt(gg * ww))
    cosine[np.isnan(cosine)] = -np.inf
    return Difference(float(per_row.max()), int(per_row.argmax()), float(np.abs(want).max()), float(cosine.min()))


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


# The generated-weight shapes: folder name -> (layers, hidden size, pooling, normalize), as in
# tests/test_encoder_shapes.cpp.
SHAPES = {
    "l12-mean": (12, 32, "mean", True),
    "l3-cls": (3, 48, "cls", True),
    "l2-max-raw": (2, 40, "max", False),
    "l1-h768-sqrt-raw": (1, 768, "mean_sqrt_len", False),
}

_FOLDER_JSON = ["config.json", "modules.json", "sentence_bert_config.json", "1_Pooling/config.json"]
_TOKENIZER_FILES = ["tokenizer.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json"]


def generated_weights():
    """tools/goldens/generated_weights.py: the pseudo-random weights the shapes' goldens were made with."""
    path = SOURCE_ROOT / "tools" / "goldens" / "generated_weights.py"
    spec = importlib.util.spec_from_file_location("generated_weights", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build_shape_folder(name: str, out: Path, real_model: Path) -> Path:
    """The generated-weight folder `name` at out/name: its committed JSON files, the real model's
    tokenizer files, and model.safetensors rebuilt from the fixed pseudo-random rule."""
    data = ENCODER_DATA / name
    folder = out / name
    (folder / "1_Pooling").mkdir(parents=True)
    for f in _FOLDER_JSON:
        shutil.copyfile(data / f, folder / f)
    for f in _TOKENIZER_FILES:
        shutil.copyfile(real_model / f, folder / f)
    c = json.loads((folder / "config.json").read_text())
    gw = generated_weights()
    shapes = gw.bert_tensor_shapes(c["vocab_size"], c["hidden_size"], c["num_hidden_layers"], c["intermediate_size"],
                                   c["max_position_embeddings"], c["type_vocab_size"])
    gw.write_generated_safetensors(folder / "model.safetensors", shapes)
    return folder


def multilingual_folder(name: str) -> Path:
    """A folder tools/setup/fetch_multilingual.sh builds, under $MINILM_MULTILINGUAL_DIR (default models/).
    A missing folder fails the test: these tests never skip."""
    root = Path(os.environ.get("MINILM_MULTILINGUAL_DIR") or SOURCE_ROOT / "models")
    folder = root / name
    if not (folder / "model.safetensors").is_file():
        pytest.fail(f"the multilingual model folder {folder} is missing: run tools/setup/fetch_multilingual.sh "
                    "(or set MINILM_MULTILINGUAL_DIR)")
    return folder


def memory_owner_is_kept(a: np.ndarray) -> bool:
    """Whether the array owns its memory, or its chain of .base ends in an object that does (an
    array that owns its data, or the buffer's exporter)."""
    while not a.flags.owndata:
        if a.base is None:
            return False
        if not isinstance(a.base, np.ndarray):
            return True  # the exporter (a memoryview of the extension's buffer) keeps it alive
        a = a.base
    return True


def add_hub_snapshot(repo: Path, commit: str, folder: Path, replace: dict[str, bytes] | None = None) -> Path:
    """`folder` as commit `commit` of a hub cache's repository folder `repo`
    (<cache>/models--org--name), laid out as huggingface_hub lays it out:

        blobs/<etag>                  each file once, named by its etag
        snapshots/<commit>/<file>     a relative link to ../../blobs/<etag>, one more ../ per folder

    A file stored in git LFS (folder's .gitattributes) has its sha256 as its etag, any other file
    its git blob sha1. Files are hard-linked into blobs/ (copied across file systems); `replace`
    gives other contents for some of them (relative paths). refs/ is the caller's. Returns the
    snapshot folder."""
    attributes = (folder / ".gitattributes").read_text().splitlines()
    lfs_patterns = [line.split()[0] for line in attributes if "filter=lfs" in line]
    replace = replace or {}
    snapshot = repo / "snapshots" / commit
    for file in sorted(path.relative_to(folder) for path in folder.rglob("*") if path.is_file()):
        content = replace.get(file.as_posix())
        if any(fnmatch(file.name, pattern) for pattern in lfs_patterns):
            if content is None:
                with open(folder / file, "rb") as f:
                    etag = hashlib.file_digest(f, "sha256").hexdigest()
            else:
                etag = hashlib.sha256(content).hexdigest()
        else:
            data = (folder / file).read_bytes() if content is None else content
            etag = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
        blob = repo / "blobs" / etag
        blob.parent.mkdir(parents=True, exist_ok=True)
        if blob.exists():
            pass
        elif content is not None:
            blob.write_bytes(content)
        else:
            try:
                os.link(folder / file, blob)
            except OSError:  # another file system
                shutil.copyfile(folder / file, blob)
        link = snapshot / file
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(blob, link.parent))
    return snapshot


def listing(root: Path) -> dict[str, tuple[int, int, int, str | None]]:
    """Everything under root (links not followed): path -> (size, mtime_ns, inode, link target)."""
    return {
        str(path.relative_to(root)): (stat.st_size, stat.st_mtime_ns, stat.st_ino,
                                      os.readlink(path) if path.is_symlink() else None)
        for path in [root, *root.rglob("*")]
        for stat in [path.lstat()]
    }


def assert_untouched(root: Path, before: dict[str, tuple[int, int, int, str | None]]) -> None:
    """Nothing created, removed or changed under root since `before` (listing(root)), and no lock."""
    after = listing(root)
    changed = sorted(path for path in before.keys() | after.keys() if before.get(path) != after.get(path))
    assert not changed, f"created, removed or changed under {root}: {changed}"
    assert not list(root.rglob("*.lock"))
