#!/usr/bin/env python3
"""Makes the encoder goldens in tests/data/encoder/ with sentence-transformers.

Run from the repository root with the reference environment, offline:

    HF_HUB_OFFLINE=1 /opt/refenv/bin/python tools/goldens/make_encoder_goldens.py [--out DIR]

The committed goldens were made with sentence-transformers 6.2.0, transformers 5.24.0,
torch 2.15.0 (CPU, 2 threads), tokenizers 0.23.3, numpy 2.4.6, from the real
all-MiniLM-L6-v2 in models/all-MiniLM-L6-v2 (tools/setup/fetch_model.sh). The script prints the
versions it runs with; rerunning it with the same ones gives the same files.

What it writes:

* texts.txt: the texts, one per line (UTF-8, split on "\\n" only): edge cases (empty, one
  character, one word, whitespace only), 2,000 lines of real multilingual text drawn with a
  fixed seed from tests/data/tokenizer/corpus.txt.gz (Debian fortunes and gettext catalogs),
  and texts longer than 256 word pieces made by joining corpus lines.
* minilm-l6.golden: the real model on every text: the token ids sentence-transformers fed the
  model, and its embeddings (float32).
* minilm-l6-tokens.golden: the real model's per-token hidden states for a few texts.
* <shape>/: small BERT models with other shapes (12 layers, 3 layers, CLS / max /
  mean_sqrt_len pooling, no normalization, hidden 768) whose weights come from a fixed
  pseudo-random generator that tests/test_encoder_shapes.cpp reproduces exactly, so only their
  JSON files and goldens are committed. The model folder is written here in the same layout as
  all-MiniLM-L6-v2 (its tokenizer files are copied in) and loaded by sentence-transformers,
  which builds a transformers BertModel from it.

Golden file layout (all little-endian): b"MLG1", u32 n_texts, u32 dim, u32 n_tokens,
u32 has_token_states, u32 offsets[n_texts + 1], i32 ids[n_tokens], f32 embeddings[n_texts * dim],
then, when has_token_states, f32 token_states[n_tokens * dim].
"""

import gzip
import json
import random
import shutil
import struct
import sys
import tempfile
from pathlib import Path

import numpy as np
import safetensors.numpy
import sentence_transformers
import tokenizers
import torch
import transformers
from sentence_transformers import SentenceTransformer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generated_weights import bert_tensor_shapes, generated_tensor  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "models" / "all-MiniLM-L6-v2"
CORPUS = ROOT / "tests" / "data" / "tokenizer" / "corpus.txt.gz"
OUT = ROOT / "tests" / "data" / "encoder"
TOKENIZER_FILES = ["tokenizer.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json"]

# The shapes checked on generated weights. Every one uses the real vocabulary (so the real
# tokenizer) and 512 positions.
SHAPES = {
    "l12-mean": dict(layers=12, hidden=32, heads=4, intermediate=64, pooling="mean", normalize=True, max_seq=128),
    "l3-cls": dict(layers=3, hidden=48, heads=6, intermediate=96, pooling="cls", normalize=True, max_seq=256),
    "l2-max-raw": dict(layers=2, hidden=40, heads=5, intermediate=80, pooling="max", normalize=False, max_seq=64),
    "l1-h768-sqrt-raw": dict(layers=1, hidden=768, heads=12, intermediate=3072, pooling="mean_sqrt_len",
                             normalize=False, max_seq=200),
}
N_SHAPE_TEXTS = 120


def write_golden(path: Path, ids_per_text, embeddings: np.ndarray, token_states=None):
    n = len(ids_per_text)
    dim = embeddings.shape[1]
    offsets = np.zeros(n + 1, dtype="<u4")
    offsets[1:] = np.cumsum([len(x) for x in ids_per_text])
    ids = np.concatenate([np.asarray(x, dtype="<i4") for x in ids_per_text])
    with open(path, "wb") as f:
        f.write(b"MLG1")
        f.write(struct.pack("<IIII", n, dim, int(offsets[-1]), 1 if token_states is not None else 0))
        f.write(offsets.tobytes())
        f.write(ids.tobytes())
        f.write(np.ascontiguousarray(embeddings, dtype="<f4").tobytes())
        if token_states is not None:
            states = np.concatenate(token_states).astype("<f4")
            assert states.shape == (int(offsets[-1]), dim)
            f.write(states.tobytes())


def reference_ids(model: SentenceTransformer, texts):
    """The ids sentence-transformers gives the model, padding removed."""
    out = []
    for i in range(0, len(texts), 64):
        features = model.tokenize(texts[i:i + 64])
        for row, mask in zip(features["input_ids"].tolist(), features["attention_mask"].tolist()):
            out.append([t for t, m in zip(row, mask) if m])
    return out


def make_texts():
    lines = gzip.decompress(CORPUS.read_bytes()).decode("utf-8").split("\n")
    lines = [l for l in lines if l.strip()]
    rng = random.Random(20261128)
    picked = rng.sample(lines, 2000)
    edge = ["", " ", "\t", "a", "A", "é", "你", "!", "word", "Hello", "ß", "😀", "[CLS]", "a b", "Straße",
            "  padded on both sides  "]
    # Longer than 256 word pieces: corpus lines joined until well past the limit.
    long_texts = []
    pool = rng.sample(lines, 720)
    for i in range(12):
        chunk = pool[i * 60:(i + 1) * 60]
        long_texts.append(" ".join(l.strip() for l in chunk))
    texts = edge + picked + long_texts
    for t in texts:
        assert "\n" not in t
    return texts


def pooling_config(dim, mode):
    return {"word_embedding_dimension": dim, "pooling_mode_cls_token": mode == "cls",
            "pooling_mode_mean_tokens": mode == "mean", "pooling_mode_max_tokens": mode == "max",
            "pooling_mode_mean_sqrt_len_tokens": mode == "mean_sqrt_len"}


def write_shape_folder(folder: Path, s):
    """A model folder with all-MiniLM-L6-v2's layout and generated weights."""
    (folder / "1_Pooling").mkdir(parents=True)
    config = json.loads((MODEL / "config.json").read_text())
    config.update({"hidden_size": s["hidden"], "num_hidden_layers": s["layers"], "num_attention_heads": s["heads"],
                   "intermediate_size": s["intermediate"]})
    config.pop("_name_or_path", None)
    (folder / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    modules = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
               {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]
    if s["normalize"]:
        modules.append({"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"})
    (folder / "modules.json").write_text(json.dumps(modules, indent=2) + "\n")
    (folder / "sentence_bert_config.json").write_text(
        json.dumps({"max_seq_length": s["max_seq"], "do_lower_case": False}, indent=2) + "\n")
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(pooling_config(s["hidden"], s["pooling"]), indent=2) + "\n")
    shapes = bert_tensor_shapes(config["vocab_size"], s["hidden"], s["layers"], s["intermediate"],
                                config["max_position_embeddings"], config["type_vocab_size"])
    tensors = {name: generated_tensor(name, shape) for name, shape in shapes.items()}
    safetensors.numpy.save_file(tensors, str(folder / "model.safetensors"), metadata={"format": "pt"})


def main():
    global OUT
    if len(sys.argv) == 3 and sys.argv[1] == "--out":  # to check that a rerun gives the same files
        OUT = Path(sys.argv[2])
    print(f"sentence-transformers {sentence_transformers.__version__}, transformers {transformers.__version__}, "
          f"torch {torch.__version__}, tokenizers {tokenizers.__version__}, numpy {np.__version__}", file=sys.stderr)
    torch.set_num_threads(2)
    OUT.mkdir(parents=True, exist_ok=True)
    texts = make_texts()
    (OUT / "texts.txt").write_text("\n".join(texts) + "\n", encoding="utf-8")

    model = SentenceTransformer(str(MODEL), device="cpu")
    ids = reference_ids(model, texts)
    emb = model.encode(texts, batch_size=32, convert_to_numpy=True)
    write_golden(OUT / "minilm-l6.golden", ids, emb)
    pieces = [len(model.tokenizer(t, add_special_tokens=False)["input_ids"]) for t in texts]
    print(f"minilm-l6: {len(texts)} texts, {sum(map(len, ids))} tokens, {sum(p > 254 for p in pieces)} texts "
          f"truncated to 256 (longest: {max(pieces)} word pieces)", file=sys.stderr)

    few = [texts[i] for i in (0, 3, 8, 20, 21, 40)]
    few_ids = reference_ids(model, few)
    few_emb = model.encode(few, batch_size=32, convert_to_numpy=True)
    states = model.encode(few, batch_size=32, output_value="token_embeddings")
    states = [s.float().numpy() for s in states]
    for s, i in zip(states, few_ids):
        assert s.shape[0] == len(i)
    write_golden(OUT / "minilm-l6-tokens.golden", few_ids, few_emb, states)

    shape_texts = texts[:16] + texts[16:16 + N_SHAPE_TEXTS - 18] + texts[-2:]
    for name, s in SHAPES.items():
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / name
            write_shape_folder(folder, s)
            for f in TOKENIZER_FILES:
                shutil.copy(MODEL / f, folder / f)
            m = SentenceTransformer(str(folder), device="cpu")
            assert m.max_seq_length == s["max_seq"]
            dest = OUT / name
            if dest.exists():
                shutil.rmtree(dest)
            (dest / "1_Pooling").mkdir(parents=True)
            for f in ["config.json", "modules.json", "sentence_bert_config.json", "1_Pooling/config.json"]:
                shutil.copy(folder / f, dest / f)
            sids = reference_ids(m, shape_texts)
            semb = m.encode(shape_texts, batch_size=32, convert_to_numpy=True)
            (dest / "texts.txt").write_text("\n".join(shape_texts) + "\n", encoding="utf-8")
            write_golden(dest / "golden", sids, semb)
            print(f"{name}: {len(shape_texts)} texts, dim {semb.shape[1]}", file=sys.stderr)


if __name__ == "__main__":
    main()
