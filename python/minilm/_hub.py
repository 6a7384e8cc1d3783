"""Finding a model given as a Hugging Face hub id in the local hub cache, read-only.

The cache's layout (huggingface_hub's): <cache>/models--<org>--<name>/refs/<revision> holds a
commit hash, and <cache>/models--<org>--<name>/snapshots/<hash>/ holds that commit's files (links
into ../../blobs/). Nothing here touches the network, takes a lock or writes a file.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from ._errors import ModelError

_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")


def cache_dir() -> Path:
    """The hub cache huggingface_hub uses: HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "huggingface" / "hub"


def resolve(model: str | os.PathLike[str], revision: str | None = None, cache: str | None = None) -> str:
    """The folder to open for `model`: itself when it is a folder, else its snapshot in the hub cache.

    A bare name ("all-MiniLM-L6-v2") is also looked up as "sentence-transformers/<name>", as
    sentence-transformers does. `cache` replaces cache_dir(). Raises ModelError (an OSError) naming
    every path tried.
    """
    path = Path(model).expanduser()
    if path.is_dir():
        return str(path)
    text = os.fspath(model)
    if not _HUB_ID.match(text):
        raise _not_found(text, [path], "it is not a folder, nor a hub id of the form org/name")
    ids = [text] if "/" in text else [f"sentence-transformers/{text}", text]
    cache_root = Path(cache).expanduser() if cache else cache_dir()
    tried: list[Path] = [path]
    for hub_id in ids:
        repo = cache_root / ("models--" + hub_id.replace("/", "--"))
        wanted = revision or "main"
        if _COMMIT.match(wanted):
            commit = wanted
        else:
            ref = repo / "refs" / wanted
            tried.append(ref)
            try:
                commit = ref.read_text(encoding="utf-8").strip()
            except OSError:
                continue
        snapshot = repo / "snapshots" / commit
        tried.append(snapshot)
        if snapshot.is_dir():
            return str(snapshot)
    raise _not_found(text, tried, "not in the local Hugging Face cache (nothing is downloaded)")


def _not_found(model: str, tried: list[Path], why: str) -> ModelError:
    return ModelError(f"model {model!r}: {why}; looked for " + ", ".join(str(p) for p in tried), "io")
