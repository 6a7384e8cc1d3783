"""Weights of the generated (random-weight) test models, and a safetensors writer. numpy only.

Every value comes from a pseudo-random generator seeded by the tensor's name, so a model is
defined by its tensor names and shapes alone: tests/test_encoder_shapes.cpp reproduces the same
values bit for bit, and the big tables (a 250,002 x 384 embedding table) are generated in
vectorised chunks in seconds and streamed to disk, never held whole in memory.

Used by tools/goldens/make_encoder_goldens.py (with sentence-transformers installed) and by
tools/setup/make_multilingual_folders.py (numpy alone, as in CI).
"""

import hashlib
import json
import struct

import numpy as np

CHUNK = 1 << 22  # values generated at a time when streaming a tensor to disk


def fnv1a64(data: bytes) -> int:
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def uniform(name: str, n: int, start: int = 0) -> np.ndarray:
    """Values start .. start + n - 1 of the stream named name: k / 2^15, k in [-2^15, 2^15).

    Value i is the top 16 bits of splitmix64 step i + 1 seeded with FNV-1a of the name, so any
    slice can be made alone. Mirrored by tests/test_encoder_shapes.cpp; every value is exact in
    float32."""
    with np.errstate(over="ignore"):
        z = np.arange(start + 1, start + n + 1, dtype=np.uint64)
        z *= np.uint64(0x9E3779B97F4A7C15)
        z += np.uint64(fnv1a64(name.encode()))
        z ^= z >> np.uint64(30)
        z *= np.uint64(0xBF58476D1CE4E5B9)
        z ^= z >> np.uint64(27)
        z *= np.uint64(0x94D049BB133111EB)
        z ^= z >> np.uint64(31)
    k = (z >> np.uint64(48)).astype(np.int64) - 32768
    return (k.astype(np.float32) / np.float32(32768.0)).astype(np.float32)


def generated_values(name: str, shape, start: int, stop: int) -> np.ndarray:
    """Flat values start .. stop - 1 (row-major) of generated_tensor(name, shape)."""
    x = uniform(name, stop - start, start)
    if name.endswith("LayerNorm.weight"):
        v = np.float32(1.0) + np.float32(0.25) * x
    elif name.endswith("LayerNorm.bias") or name.endswith(".bias"):
        v = np.float32(0.125) * x
    elif "embeddings" in name:
        v = np.float32(0.5) * x
    else:  # a linear weight [out, in]: scale 2 / 2^ceil(log2(sqrt(in))), a power of two
        n_in = shape[1]
        v = np.float32(2.0 / 2 ** int(np.ceil(np.log2(np.sqrt(n_in))))) * x
    return v.astype(np.float32)


def generated_tensor(name: str, shape) -> np.ndarray:
    """The value of one weight of a generated model (same rules in the C++ test)."""
    return generated_values(name, shape, 0, int(np.prod(shape))).reshape(shape)


def bert_tensor_shapes(vocab, hidden, layers, intermediate, positions=512, types=2):
    shapes = {
        "embeddings.word_embeddings.weight": (vocab, hidden),
        "embeddings.position_embeddings.weight": (positions, hidden),
        "embeddings.token_type_embeddings.weight": (types, hidden),
        "embeddings.LayerNorm.weight": (hidden,),
        "embeddings.LayerNorm.bias": (hidden,),
    }
    for i in range(layers):
        p = f"encoder.layer.{i}."
        for name, out_in in [("attention.self.query", (hidden, hidden)), ("attention.self.key", (hidden, hidden)),
                             ("attention.self.value", (hidden, hidden)), ("attention.output.dense", (hidden, hidden)),
                             ("intermediate.dense", (intermediate, hidden)), ("output.dense", (hidden, intermediate))]:
            shapes[p + name + ".weight"] = out_in
            shapes[p + name + ".bias"] = (out_in[0],)
        for name in ["attention.output.LayerNorm", "output.LayerNorm"]:
            shapes[p + name + ".weight"] = (hidden,)
            shapes[p + name + ".bias"] = (hidden,)
    return shapes


def write_generated_safetensors(path, shapes) -> str:
    """Writes the generated model with these tensor shapes as F32 safetensors; returns its sha256.

    The layout is what the safetensors package writes: u64 (LE) header size, a compact JSON
    header ("__metadata__" {"format": "pt"} first, then the tensors in name order with their data
    offsets) padded with spaces to a multiple of 8 bytes, then the raw little-endian data in the
    same order."""
    names = sorted(shapes)
    header = {"__metadata__": {"format": "pt"}}
    offset = 0
    for name in names:
        size = 4 * int(np.prod(shapes[name]))
        header[name] = {"dtype": "F32", "shape": list(shapes[name]), "data_offsets": [offset, offset + size]}
        offset += size
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    digest = hashlib.sha256()
    with open(path, "wb") as f:
        def put(data: bytes):
            f.write(data)
            digest.update(data)

        put(struct.pack("<Q", len(text)) + text)
        for name in names:
            n = int(np.prod(shapes[name]))
            for start in range(0, n, CHUNK):
                put(generated_values(name, shapes[name], start, min(n, start + CHUNK)).astype("<f4").tobytes())
    return digest.hexdigest()
