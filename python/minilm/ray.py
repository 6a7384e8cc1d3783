"""minilm on Ray Data: embed a text column of a dataset on every core of a cluster.

    import ray
    import minilm.ray

    ray.init()                                   # or RAY_ADDRESS=... for an existing cluster
    ds = ray.data.read_parquet("s3://bucket/texts/")
    ds = minilm.ray.embed(ds, "/models/all-MiniLM-L6-v2", concurrency=16, text_column="text")
    ds.write_parquet("s3://bucket/embeddings/")

`Embedder` is the callable class for `Dataset.map_batches`: each actor opens the model once, in
its constructor, and embeds batch after batch; `embed` calls `map_batches` with it and the
settings below. Every embedding is bitwise the one `minilm.Encoder(model).encode` gives for the
same text in one process, whatever the batches, actors, threads or retries.

Sizing. An actor reserves `threads_per_actor` CPUs (`num_cpus`) and encodes with that many
threads; make actors x threads_per_actor the cores you give the job (per node: the node's
cores). One-thread actors scale best: each batch is then one sequential pass with no
synchronisation, and the weights cost nothing extra per actor, since every process on a node
maps the same read-only model.safetensors (one copy in the page cache); an actor costs its
interpreter, Ray's and Arrow's libraries and the activations of one encode batch. Use more
threads per actor only to cut the number of processes on a node short of memory.

Fault tolerance. Ray Data restarts a dead actor of the pool and retries the batches it held
(the actor options max_restarts=-1 and max_task_retries=-1, its default for actor pools, which
`embed` keeps unless told otherwise): a batch lost with an actor is embedded again by its
replacement, and no row is lost or repeated. The model folder (or the Hugging Face cache holding
a hub id) must be readable at the same path on every node; nothing is written there, so a
read-only mount (NFS) works.

Needs Ray Data: `pip install minilm[ray]`. This module imports without it; Ray (and pyarrow) are
imported when an Embedder is made or `embed` is called.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from . import Encoder

if TYPE_CHECKING:
    import pyarrow
    import ray.data

__all__ = ["Embedder", "embed"]

_INSTALL_HINT = "minilm.ray needs Ray Data: pip install minilm[ray]  (or: pip install 'ray[data]>=2.9')"


def _import(name: str) -> Any:
    import importlib

    try:
        return importlib.import_module(name)
    except ImportError as error:
        raise ImportError(f"{_INSTALL_HINT}; import {name} failed: {error}") from error


class Embedder:
    """The `Dataset.map_batches` callable class: embeds `text_column` into `output_column`.

    model: a model folder, or a hub id in the local Hugging Face cache, at the same path on
        every node (read-only is fine).
    text_column: the column of texts (str; a null is an error).
    output_column: the new column; it replaces a column of that name. Every other column is kept.
    threads: threads per encode call. Give the actor as many CPUs (map_batches' num_cpus).
    prompt_name, prompt: as in Encoder.encode (a folder prompt's name, or the prompt's text).
    encode_batch_size: texts per forward pass inside one call (Encoder.encode's batch_size);
        speed only, the numbers do not depend on it.
    output_format: "list" (a FixedSizeListArray of float32, dimension values per row) or
        "tensor" (Ray's tensor column: numpy batches see a (rows, dimension) array).
    normalize_embeddings, pooling, max_seq_length, revision, cache_folder: as in Encoder.

    Batches may be pyarrow Tables (batch_format="pyarrow", what `embed` uses; the embeddings
    column is built on the encoder's output array without a copy) or dicts of numpy arrays
    (batch_format="numpy"; the column is then a (rows, dimension) float32 array). The model is
    opened once per actor, in the constructor, mapped read-only and shared with every other
    process on the node.
    """

    def __init__(
        self,
        model: str | os.PathLike[str],
        *,
        text_column: str = "text",
        output_column: str = "embedding",
        threads: int = 1,
        prompt_name: str | None = None,
        prompt: str | None = None,
        encode_batch_size: int = 32,
        output_format: Literal["list", "tensor"] = "list",
        normalize_embeddings: bool | None = None,
        pooling: str | None = None,
        max_seq_length: int | None = None,
        revision: str | None = None,
        cache_folder: str | os.PathLike[str] | None = None,
    ) -> None:
        if output_format not in ("list", "tensor"):
            raise ValueError(f'output_format {output_format!r}: "list" or "tensor"')
        if encode_batch_size < 1:
            raise ValueError(f"encode_batch_size must be at least 1, not {encode_batch_size}")
        self._pa = _import("pyarrow")
        self._tensor_array = _import("ray.data.extensions").ArrowTensorArray if output_format == "tensor" else None
        self.text_column = text_column
        self.output_column = output_column
        self.prompt_name = prompt_name
        self.prompt = prompt
        self.encode_batch_size = encode_batch_size
        self.output_format = output_format
        self.encoder = Encoder(
            model,
            threads=threads,
            normalize_embeddings=normalize_embeddings,
            pooling=pooling,
            max_seq_length=max_seq_length,
            revision=revision,
            cache_folder=cache_folder,
        )

    def _encode(self, texts: list[Any]) -> np.ndarray:
        out: np.ndarray = self.encoder.encode(
            texts, batch_size=self.encode_batch_size, prompt_name=self.prompt_name, prompt=self.prompt
        )
        return out

    def __call__(self, batch: pyarrow.Table | Mapping[str, np.ndarray]) -> pyarrow.Table | dict[str, np.ndarray]:
        pa = self._pa
        if isinstance(batch, pa.Table):
            column = batch.column(self.text_column)
            if column.null_count:
                raise ValueError(f"column {self.text_column!r} holds {column.null_count} null text(s)")
            embeddings = self._encode(column.to_pylist())
            return _set_column(batch, self.output_column, self._arrow_column(embeddings))
        if isinstance(batch, Mapping):
            out = dict(batch)
            out[self.output_column] = self._encode(list(batch[self.text_column]))
            return out
        raise TypeError(
            f"Embedder takes pyarrow.Table or dict batches (batch_format='pyarrow' or 'numpy'), not {type(batch).__name__}"
        )

    def _arrow_column(self, embeddings: np.ndarray) -> pyarrow.Array:
        """The (rows, dimension) float32 array as an Arrow column over the same memory."""
        if self._tensor_array is not None:
            return self._tensor_array.from_numpy(embeddings)
        pa = self._pa
        rows, dimension = embeddings.shape
        values = pa.Array.from_buffers(pa.float32(), rows * dimension, [None, pa.py_buffer(embeddings)])
        return pa.FixedSizeListArray.from_arrays(values, dimension)


def _set_column(table: pyarrow.Table, name: str, column: pyarrow.Array) -> pyarrow.Table:
    index = table.schema.get_field_index(name)
    if index >= 0:
        return table.set_column(index, name, column)
    return table.append_column(name, column)


def embed(
    ds: ray.data.Dataset,
    model: str | os.PathLike[str],
    *,
    concurrency: int | tuple[int, int] = 1,
    threads_per_actor: int = 1,
    batch_size: int = 256,
    text_column: str = "text",
    output_column: str = "embedding",
    prompt_name: str | None = None,
    prompt: str | None = None,
    encode_batch_size: int = 32,
    output_format: Literal["list", "tensor"] = "list",
    max_restarts: int | None = None,
    max_task_retries: int | None = None,
    embedder_class: type[Embedder] | None = None,
    **embedder_kwargs: Any,
) -> ray.data.Dataset:
    """`ds` with `output_column` added: the embedding of each row's `text_column` (lazy, as every
    Ray Data transform; write or iterate the result to run it).

    concurrency: the actors, each opening the model once: an int (a fixed pool) or (min, max)
        (a pool that Ray Data grows and shrinks with the load). Given to map_batches as
        compute=ActorPoolStrategy(...), which every Ray from 2.9 takes (map_batches' own
        concurrency= is deprecated from Ray 2.51).
    threads_per_actor: CPUs each actor reserves (num_cpus) and threads it encodes with. Make
        actors x threads_per_actor the cores given to the job, e.g. on 4 nodes of 16 cores,
        concurrency=64 with threads_per_actor=1 (the default, and what scales best: the weights
        are shared by the actors of a node, so more actors cost no more weights).
    batch_size: rows handed to an actor per call, and so the unit of retry after a failure;
        a few hundred rows keep every actor busy without long retries.
    encode_batch_size: texts per forward pass inside a call (speed only).
    max_restarts, max_task_retries: Ray's actor options, passed on when given. None keeps Ray
        Data's own for an actor pool: -1 and -1, which restart an actor that dies (killed, out
        of memory, its node lost) without limit and retry the batches it held on the
        replacement, so that the result has every row once. max_restarts=0 turns that off.
        (Ray 2.51 and later warn that such map_batches keywords are deprecated; they are
        passed only when set.)
    embedder_class: a subclass of Embedder to run instead of it (one that adds columns, say).
    embedder_kwargs: the rest of Embedder's arguments (normalize_embeddings, pooling,
        max_seq_length, revision, cache_folder).

    Runs ds.map_batches(Embedder, batch_format="pyarrow", compute=ActorPoolStrategy(...),
    num_cpus=threads_per_actor, fn_constructor_kwargs=...).
    """
    data = _import("ray.data")
    if threads_per_actor < 1:
        raise ValueError(f"threads_per_actor must be at least 1, not {threads_per_actor}")
    if isinstance(concurrency, tuple):
        low, high = concurrency
        compute = data.ActorPoolStrategy(min_size=low, max_size=high)
    else:
        compute = data.ActorPoolStrategy(size=concurrency)
    retries: dict[str, Any] = {}
    if max_restarts is not None:
        retries["max_restarts"] = max_restarts
    if max_task_retries is not None:
        retries["max_task_retries"] = max_task_retries
    return ds.map_batches(
        embedder_class or Embedder,
        fn_constructor_args=(os.fspath(model),),
        fn_constructor_kwargs=dict(
            text_column=text_column,
            output_column=output_column,
            threads=threads_per_actor,
            prompt_name=prompt_name,
            prompt=prompt,
            encode_batch_size=encode_batch_size,
            output_format=output_format,
            **embedder_kwargs,
        ),
        batch_size=batch_size,
        batch_format="pyarrow",
        compute=compute,
        num_cpus=threads_per_actor,
        **retries,
    )
