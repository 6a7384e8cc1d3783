"""Embeds a text file (one text per line) or a Parquet file's text column on a Ray cluster with
minilm.ray, and writes Parquet: an id column, every column of a Parquet input, and the
embeddings (a fixed-size list of float32 per row).

In a venv with minilm and Ray Data (`pip install .[ray]` from the source root), on a local
Ray of 2 CPUs, from the source root:

    python examples/ray_embed.py --model models/all-MiniLM-L6-v2 --input texts.txt \
        --output embeddings/ --num-cpus 2 --actors 2 --threads-per-actor 1

On a cluster, leave out --num-cpus and set RAY_ADDRESS (or run it with `ray job submit`), and
give --actors x --threads-per-actor = the cluster's cores. The model folder must be at the same
path on every node (a copy on each disk, or a read-only NFS mount), and --output a folder every
node can write to (a shared filesystem, or s3://...): Ray's workers write the Parquet files,
one per block. The input is read by this script, the driver: texts are small next to their
embeddings (1,536 bytes per row for a 384-dimension model); for inputs larger than one machine,
use minilm.ray.embed on ray.data.read_parquet(...) directly.

A text file is UTF-8, split on "\\n" only (a trailing "\\r" or tab stays in the text); ids are
line numbers from 0. A Parquet input keeps its "id" column if it has one, else gets row numbers.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time

import pyarrow as pa
import pyarrow.parquet as pq
import ray

import minilm.ray


def read_input(path: str, text_column: str) -> pa.Table:
    if path.endswith(".parquet") or os.path.isdir(path):
        table = pq.read_table(path)
        if text_column not in table.column_names:
            sys.exit(f"{path} has no column {text_column!r} (its columns: {', '.join(table.column_names)})")
    else:
        with open(path, "rb") as f:
            lines = f.read().decode("utf-8").split("\n")
        if lines and lines[-1] == "":
            lines.pop()  # what follows the last "\n" is not a text
        table = pa.table({text_column: pa.array(lines, pa.string())})
    if "id" not in table.column_names:
        table = table.add_column(0, "id", pa.array(range(table.num_rows), pa.int64()))
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="sentence-transformers/all-MiniLM-L6-v2",
                        help="model folder, or hub id in the local Hugging Face cache, on every node")
    parser.add_argument("--input", required=True, help="a text file (one text per line) or a Parquet file")
    parser.add_argument("--output", required=True, help="the Parquet folder to write")
    parser.add_argument("--text-column", default="text", help="the Parquet input's text column (default: text)")
    parser.add_argument("--actors", type=int, default=2, help="actors, each opening the model once (default: 2)")
    parser.add_argument("--threads-per-actor", type=int, default=1,
                        help="CPUs per actor and threads per encode call (default: 1)")
    parser.add_argument("--batch-size", type=int, default=256,
                        help="rows an actor embeds per call, the unit of retry (default: 256)")
    parser.add_argument("--prompt-name", default=None, help="one of the model folder's prompts")
    parser.add_argument("--num-cpus", type=int, default=None,
                        help="start a local Ray with this many CPUs (default: connect to RAY_ADDRESS, or start one)")
    args = parser.parse_args()

    table = read_input(args.input, args.text_column)
    # Blocks of a few batches each, four blocks per actor at least: the actors share the work,
    # and the output has one file per block.
    rows_per_block = max(args.batch_size, min(100_000, math.ceil(table.num_rows / (4 * args.actors))))
    blocks = [table.slice(start, rows_per_block) for start in range(0, table.num_rows, rows_per_block)] or [table]

    if args.num_cpus:
        ray.init(num_cpus=args.num_cpus)
    else:
        ray.init()  # RAY_ADDRESS's cluster, or a local one
    start = time.perf_counter()
    ds = minilm.ray.embed(
        ray.data.from_arrow(blocks),
        args.model,
        concurrency=args.actors,
        threads_per_actor=args.threads_per_actor,
        batch_size=args.batch_size,
        text_column=args.text_column,
        prompt_name=args.prompt_name,
    )
    ds.write_parquet(args.output)
    seconds = time.perf_counter() - start
    print(f"{table.num_rows} texts embedded in {seconds:.1f} s ({table.num_rows / seconds:.0f}/s) "
          f"by {args.actors} actor(s) x {args.threads_per_actor} thread(s): {args.output}")


if __name__ == "__main__":
    main()
