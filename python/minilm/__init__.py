"""minilm: sentence embeddings on the CPU, the numbers sentence-transformers gives, from a model
folder mapped read-only and shared by every process that opens it.

    import minilm

    model = minilm.Encoder("sentence-transformers/all-MiniLM-L6-v2")  # or the folder's path
    embeddings = model.encode(["A man is eating food.", "A man is eating a piece of bread."])
    embeddings.shape                                  # (2, 384), float32
    model.similarity(embeddings[0], embeddings[1])    # [[0.75...]]

A hub id is looked up in the local Hugging Face cache only (HF_HUB_CACHE, HF_HOME/hub or
~/.cache/huggingface/hub): nothing is downloaded, locked or written. `minilm.SentenceTransformer`
is the same class, for code written for sentence-transformers.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from typing import Literal, overload

import numpy as np
import numpy.typing as npt

from . import _hub, _minilm
from ._errors import Error, InputError, ModelError
from ._minilm import Model as _Model

__version__: str = _minilm.version
_minilm.register_errors(ModelError, InputError)

__all__ = ["Encoder", "SentenceTransformer", "quantize", "Error", "ModelError", "InputError", "__version__"]


def _input_error(message: str) -> InputError:
    return InputError(message, "invalid_argument")


def _default_threads() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


class Encoder:
    """A sentence-transformers model folder, opened for encoding.

    model: a folder path, or a hub id ("sentence-transformers/all-MiniLM-L6-v2") already in the
        local Hugging Face cache (`revision` picks a branch, tag or commit there; `cache_folder`
        replaces the cache's location).
    threads: threads per encode call, the caller's included. None: one per core this process may
        use. A service with one process per core wants 1.
    normalize_embeddings: None follows the folder (modules.json's Normalize); True or False
        overrides it.
    pooling: None follows the folder (1_Pooling/config.json); else "mean", "cls", "max" or
        "mean_sqrt_len".

    The instance is thread-safe, and works in a process forked after it was made (gunicorn
    --preload) as in the process that made it. Errors are minilm.ModelError (an OSError) or
    minilm.InputError (a ValueError), with .code and .text_index.
    """

    def __init__(
        self,
        model: str | os.PathLike[str],
        threads: int | None = None,
        normalize_embeddings: bool | None = None,
        pooling: str | None = None,
        *,
        max_seq_length: int | None = None,
        revision: str | None = None,
        cache_folder: str | os.PathLike[str] | None = None,
        device: str | None = None,
    ) -> None:
        if device not in (None, "cpu"):
            raise _input_error(f"device {device!r}: minilm runs on the CPU only")
        if threads is not None and threads < 1:
            raise _input_error(f"threads must be at least 1, not {threads}")
        if max_seq_length is not None and max_seq_length < 1:
            raise _input_error(f"max_seq_length must be at least 1, not {max_seq_length}")
        folder = _hub.resolve(model, revision, os.fspath(cache_folder) if cache_folder is not None else None)
        self._model = _Model(
            folder,
            threads=threads if threads is not None else _default_threads(),
            normalize=normalize_embeddings,
            pooling=pooling,
            max_seq_length=max_seq_length or 0,
        )

    @overload
    def encode(  # type: ignore[overload-overlap]  # a str is a Sequence[str] too; this one comes first
        self,
        sentences: str,
        batch_size: int = ...,
        normalize_embeddings: bool | None = ...,
        prompt_name: str | None = ...,
        prompt: str | None = ...,
        output_value: Literal["sentence_embedding", "token_embeddings"] = ...,
        convert_to_numpy: bool = ...,
        show_progress_bar: bool = ...,
    ) -> npt.NDArray[np.float32]: ...

    @overload
    def encode(
        self,
        sentences: Sequence[str],
        batch_size: int = ...,
        normalize_embeddings: bool | None = ...,
        prompt_name: str | None = ...,
        prompt: str | None = ...,
        output_value: Literal["sentence_embedding"] = ...,
        convert_to_numpy: Literal[True] = ...,
        show_progress_bar: bool = ...,
    ) -> npt.NDArray[np.float32]: ...

    @overload
    def encode(
        self,
        sentences: Sequence[str],
        batch_size: int = ...,
        normalize_embeddings: bool | None = ...,
        prompt_name: str | None = ...,
        prompt: str | None = ...,
        *,
        output_value: Literal["token_embeddings"],
        convert_to_numpy: bool = ...,
        show_progress_bar: bool = ...,
    ) -> list[npt.NDArray[np.float32]]: ...

    @overload
    def encode(
        self,
        sentences: Sequence[str],
        batch_size: int = ...,
        normalize_embeddings: bool | None = ...,
        prompt_name: str | None = ...,
        prompt: str | None = ...,
        output_value: Literal["sentence_embedding", "token_embeddings"] = ...,
        convert_to_numpy: bool = ...,
        show_progress_bar: bool = ...,
    ) -> npt.NDArray[np.float32] | list[npt.NDArray[np.float32]]: ...

    def encode(
        self,
        sentences: str | Sequence[str],
        batch_size: int = 32,
        normalize_embeddings: bool | None = None,
        prompt_name: str | None = None,
        prompt: str | None = None,
        output_value: Literal["sentence_embedding", "token_embeddings"] = "sentence_embedding",
        convert_to_numpy: bool = True,
        show_progress_bar: bool = False,
    ) -> npt.NDArray[np.float32] | list[npt.NDArray[np.float32]]:
        """Embeds one text or a list of texts, as SentenceTransformer.encode does.

        A str gives an array of shape (dimension,), a list one of shape (len, dimension),
        float32 (convert_to_numpy=False: a list of (dimension,) arrays instead).
        output_value="token_embeddings" gives each text's last hidden states instead, an array
        of shape (n_tokens, dimension) per text, special tokens included.
        normalize_embeddings=True scales each sentence embedding to unit length (on top of the
        folder's own Normalize, if any). prompt_name picks one of the folder's prompts, prompt
        gives the prompt's text; with neither, the folder's default prompt applies.

        Texts are embedded batch_size at a time, with the GIL released; a KeyboardInterrupt
        stops the call between two batches. Each text's embedding is the same whatever the
        batch it falls in.
        """
        single = isinstance(sentences, str)
        texts: list[str] = [sentences] if single else list(sentences)  # type: ignore[list-item]
        if batch_size < 1:
            raise _input_error(f"batch_size must be at least 1, not {batch_size}")
        model = self._model
        if output_value == "sentence_embedding":
            out = np.empty((len(texts), model.dimension), dtype=np.float32)
            for start in _batches(len(texts), batch_size, show_progress_bar):
                end = min(start + batch_size, len(texts))
                model.encode_into(texts[start:end], out[start:end], prompt_name, prompt)
            if normalize_embeddings:
                norms = np.linalg.norm(out, axis=1, keepdims=True)
                np.divide(out, np.maximum(norms, np.float32(1e-12)), out=out)
            if single:
                vector: npt.NDArray[np.float32] = out[0]
                return vector
            return out if convert_to_numpy else list(out)
        if output_value == "token_embeddings":
            rows: list[npt.NDArray[np.float32]] = []
            for start in _batches(len(texts), batch_size, show_progress_bar):
                states, offsets = model.encode_tokens(texts[start : start + batch_size], prompt_name, prompt)
                rows.extend(states[offsets[i] : offsets[i + 1]] for i in range(len(offsets) - 1))
            return rows[0] if single else rows
        raise _input_error(f'output_value {output_value!r}: minilm gives "sentence_embedding" or "token_embeddings"')

    def tokenize(
        self, texts: str | Sequence[str], prompt_name: str | None = None, prompt: str | None = None
    ) -> list[list[int]]:
        """The token ids the model is fed for each text: special tokens and prompt included, truncated
        to max_seq_length."""
        return self._model.tokenize([texts] if isinstance(texts, str) else list(texts), prompt_name, prompt)

    def similarity(self, a: npt.ArrayLike, b: npt.ArrayLike) -> npt.NDArray[np.float32]:
        """Cosine similarity of every row of a with every row of b: shape (len(a), len(b)); a single
        vector counts as one row."""
        a2 = np.atleast_2d(np.asarray(a, dtype=np.float32))
        b2 = np.atleast_2d(np.asarray(b, dtype=np.float32))
        if a2.ndim != 2 or b2.ndim != 2 or a2.shape[1] != b2.shape[1]:
            raise _input_error(f"similarity needs vectors of one length, not shapes {a2.shape} and {b2.shape}")
        a2 = a2 / np.maximum(np.linalg.norm(a2, axis=1, keepdims=True), np.float32(1e-12))
        b2 = b2 / np.maximum(np.linalg.norm(b2, axis=1, keepdims=True), np.float32(1e-12))
        cosines: npt.NDArray[np.float32] = a2 @ b2.T
        return cosines

    def get_sentence_embedding_dimension(self) -> int:
        """The length of one embedding: 384 for all-MiniLM-L6-v2."""
        return self._model.dimension

    @property
    def max_seq_length(self) -> int:
        """Tokens per text, special tokens included; longer texts are truncated. Settable."""
        return self._model.max_seq_length

    @max_seq_length.setter
    def max_seq_length(self, n: int) -> None:
        self._model.set_max_seq_length(n)

    @property
    def prompts(self) -> dict[str, str]:
        """The folder's named prompts (config_sentence_transformers.json)."""
        return self._model.prompts

    @property
    def default_prompt_name(self) -> str | None:
        return self._model.default_prompt_name

    @property
    def pooling(self) -> str:
        return self._model.pooling

    @property
    def normalize_embeddings(self) -> bool:
        """Whether encode() returns unit vectors without being asked."""
        return self._model.normalize

    @property
    def threads(self) -> int:
        return self._model.threads

    @property
    def precision(self) -> str:
        """How the folder stores its linear layers' weights: "f32", or "int8" (minilm.quantize)."""
        return self._model.precision

    @property
    def path(self) -> str:
        """The model folder opened (for a hub id, its snapshot in the cache)."""
        return self._model.path

    similarity_fn_name = "cosine"

    def __repr__(self) -> str:
        return (
            f"minilm.Encoder({self.path!r}, dimension={self._model.dimension}, max_seq_length={self.max_seq_length}, "
            f"pooling={self.pooling!r}, normalize={self.normalize_embeddings}, threads={self.threads}, "
            f"precision={self.precision!r})"
        )


SentenceTransformer = Encoder


def quantize(model: str | os.PathLike[str], out: str | os.PathLike[str], outliers: int = 8) -> str:
    """Writes the int8 copy of the model folder `model` into `out`, a folder that does not exist
    yet (or is empty): the linear layers' weights as int8 per output channel, `outliers` input
    channels per layer kept in F32; every other file copied. Returns the new weights file.
    Encoder(out) then runs the int8 model (about twice as fast, embeddings within a cosine of
    about 0.999 of the F32 ones). Nothing in `model` is written."""
    return _minilm.quantize(os.fspath(model), os.fspath(out), outliers)


def _batches(n: int, batch_size: int, show_progress_bar: bool) -> Iterator[int]:
    starts = range(0, n, batch_size)
    if not show_progress_bar:
        yield from starts
        return
    try:
        from tqdm.auto import tqdm  # type: ignore[import-untyped]
    except ImportError:
        tqdm = None
    if tqdm is not None:
        yield from tqdm(starts, desc="Batches")
        return
    total = len(starts)
    for done, start in enumerate(starts):
        yield start
        print(f"\rBatches: {done + 1}/{total}", end="" if done + 1 < total else "\n", file=sys.stderr, flush=True)
