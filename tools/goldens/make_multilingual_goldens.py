#!/usr/bin/env python3
"""Makes the multilingual encoder goldens in tests/data/multilingual/<folder>/ with sentence-transformers.

Run from the repository root with the reference environment, offline, after
tools/setup/fetch_multilingual.sh has built the folders in models/:

    HF_HUB_OFFLINE=1 /root/venv/bin/python tools/goldens/make_multilingual_goldens.py [--out DIR]

The committed goldens were made with sentence-transformers 6.2.0, transformers 5.24.0,
torch 2.15.0 (CPU, 2 threads), tokenizers 0.23.3, numpy 2.4.6. The script prints the versions it
runs with; rerunning it with the same ones gives the same files.

The models are the random-weight folders of tools/setup/make_multilingual_folders.py (their
model.safetensors sha256 are checked there): random-bert-xlmr (BertModel, mean pooling,
Normalize, prompts without a default), random-xlm-roberta (XLMRobertaModel, mean pooling with
include_prompt false, default prompt "query") and random-xlm-roberta-spm (the same model with
sentencepiece.bpe.model instead of tokenizer.json). Each is loaded with
SentenceTransformer(folder, device="cpu").

What it writes in each tests/data/multilingual/<folder>/:

* texts.txt: the texts, one per line (UTF-8, split on "\\n" only): edge cases, 300 lines of real
  multilingual text drawn with a fixed seed from tests/data/tokenizer/corpus.txt.gz, and 3 texts
  longer than 512 pieces (corpus lines joined), which sentence-transformers truncates to 512
  tokens. The same texts for every folder.
* golden: model.encode(texts, batch_size=32), no prompt argument. For random-bert-xlmr no prompt
  is applied; for random-xlm-roberta(-spm) the default prompt "query: " is.
* golden-query (random-bert-xlmr, random-xlm-roberta): model.encode(texts, prompt_name="query").
* golden-prompt (random-bert-xlmr, random-xlm-roberta): model.encode(texts, prompt="passage: ").

Each golden holds the token ids sentence-transformers fed the model for that call (prompt
included, truncated, padding removed: model.preprocess(texts, prompt=...), the non-deprecated
name of model.tokenize, checked against the rows a forward hook saw) and the float32 embeddings.
With include_prompt false, sentence-transformers 6.2 drops the first prompt_length tokens from
the mean, where prompt_length is the length of the tokenized prompt alone minus its trailing
special token, so <s> and the prompt's pieces: "query: " -> <s> ▁que ry : (4 tokens), "passage: "
-> <s> ▁passage : (3 tokens); the script prints the values it observed. With include_prompt
true (random-bert-xlmr) the prompt tokens are pooled like the others.

The ids are those of transformers' XLMRobertaTokenizer, which in transformers 5 rebuilds its
pipeline from the vocabulary and the precompiled charsmap (WhitespaceSplit + Metaspace, no
Replace) instead of using tokenizer.json's: it drops trailing whitespace (tokenizer.json keeps a
final "▁", also after a prompt: tokenizer.json gives "query: " alone as <s> ▁que ry : ▁ </s>),
drops the "▁" before "<mask>" and splits at U+0085. The script prints how many texts' ids differ
from the tokenizer.json's (tokenizers.Tokenizer.from_file); for the committed files: 15 of the
321 texts without a prompt, 18 with one.

Golden file layout (all little-endian, as tools/goldens/make_encoder_goldens.py): b"MLG1", u32 n_texts,
u32 dim, u32 n_tokens, u32 has_token_states (0 here), u32 offsets[n_texts + 1], i32 ids[n_tokens],
f32 embeddings[n_texts * dim].
"""

import gzip
import random
import sys
from pathlib import Path

import numpy as np
import sentence_transformers
import tokenizers
import torch
import transformers
from sentence_transformers import SentenceTransformer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_encoder_goldens import write_golden  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "models"
CORPUS = ROOT / "tests" / "data" / "tokenizer" / "corpus.txt.gz"
OUT = ROOT / "tests" / "data" / "multilingual"
MAX_TOKENS = 512

# folder -> the golden files and the encode() arguments that make them
CALLS = {
    "random-bert-xlmr": {"golden": {}, "golden-query": {"prompt_name": "query"},
                         "golden-prompt": {"prompt": "passage: "}},
    "random-xlm-roberta": {"golden": {}, "golden-query": {"prompt_name": "query"},
                           "golden-prompt": {"prompt": "passage: "}},
    "random-xlm-roberta-spm": {"golden": {}},
}


def make_texts():
    lines = gzip.decompress(CORPUS.read_bytes()).decode("utf-8").split("\n")
    lines = [l for l in lines if l.strip()]
    rng = random.Random(20261205)
    picked = rng.sample(lines, 300)
    edge = ["", " ", "a", "é", "你好", "😀", "Straße", "query: already prefixed", "ＦＵＬＬ ｗｉｄｔｈ",
            "ﬁne ﬂow", "e\u0301te\u0301", "zero\u200bwidth", "<s>", "</s> inside", "a <mask> b",
            "two  spaces", "\ttab first", "ends with a space "]
    long_texts = []
    pool = rng.sample(lines, 450)
    for i in range(3):
        long_texts.append(" ".join(l.strip() for l in pool[i * 150:(i + 1) * 150]))
    texts = edge + picked + long_texts
    for t in texts:
        assert "\n" not in t
    return texts


def fed_ids(model: SentenceTransformer, texts, prompt):
    """The ids sentence-transformers gives the model with this prompt, padding removed, and prompt_length."""
    out, prompt_length = [], None
    for i in range(0, len(texts), 64):
        features = model.preprocess(texts[i:i + 64], prompt=prompt)
        prompt_length = features.get("prompt_length")
        for row, mask in zip(features["input_ids"].tolist(), features["attention_mask"].tolist()):
            out.append([t for t, m in zip(row, mask) if m])
    return out, prompt_length


def encode(model: SentenceTransformer, texts, kwargs):
    """model.encode(texts, **kwargs), with the rows the transformer saw."""
    seen = []

    def hook(_module, args):  # the Transformer module's input: the features of one batch
        features = args[0]
        for row, m in zip(features["input_ids"].tolist(), features["attention_mask"].tolist()):
            seen.append(tuple(t for t, k in zip(row, m) if k))

    handle = model[0].register_forward_pre_hook(hook)
    try:
        emb = model.encode(texts, batch_size=32, convert_to_numpy=True, **kwargs)
    finally:
        handle.remove()
    return emb.astype(np.float32), seen


def main():
    global OUT
    if len(sys.argv) == 3 and sys.argv[1] == "--out":  # to check that a rerun gives the same files
        OUT = Path(sys.argv[2])
    print(f"sentence-transformers {sentence_transformers.__version__}, transformers {transformers.__version__}, "
          f"torch {torch.__version__}, tokenizers {tokenizers.__version__}, numpy {np.__version__}", file=sys.stderr)
    torch.set_num_threads(2)
    texts = make_texts()
    raw = tokenizers.Tokenizer.from_file(str(MODELS / "multilingual-e5-small-tokenizer" / "tokenizer.json"))

    def raw_ids(prompt):  # tokenizer.json's ids for the same inputs, truncated as sentence-transformers does
        ids = [e.ids for e in raw.encode_batch([(prompt or "") + t for t in texts])]
        return [x if len(x) <= MAX_TOKENS else x[:MAX_TOKENS - 1] + x[-1:] for x in ids]

    lengths = [len(e.ids) for e in raw.encode_batch(texts)]
    print(f"{len(texts)} texts; {sum(n > MAX_TOKENS for n in lengths)} longer than {MAX_TOKENS} tokens "
          f"(longest {max(lengths)})", file=sys.stderr)

    results = {}
    for folder, calls in CALLS.items():
        model = SentenceTransformer(str(MODELS / folder), device="cpu")
        assert model.max_seq_length == MAX_TOKENS, model.max_seq_length
        dest = OUT / folder
        dest.mkdir(parents=True, exist_ok=True)
        (dest / "texts.txt").write_text("\n".join(texts) + "\n", encoding="utf-8")
        for name, kwargs in calls.items():
            prompt = model._resolve_prompt(kwargs.get("prompt"), kwargs.get("prompt_name"))
            ids, prompt_length = fed_ids(model, texts, prompt)
            emb, seen = encode(model, texts, kwargs)
            assert sorted(seen) == sorted(map(tuple, ids)), f"{folder}/{name}: the model saw other ids"
            assert emb.shape == (len(texts), 384)
            write_golden(dest / name, ids, emb)
            results[folder, name] = (ids, emb)
            differ = sum(a != b for a, b in zip(ids, raw_ids(prompt)))
            print(f"{folder}/{name}: prompt {prompt!r}, prompt_length {prompt_length}, "
                  f"include_prompt {model[1].include_prompt}, {sum(map(len, ids))} tokens, "
                  f"{sum(len(x) == MAX_TOKENS for x in ids)} texts at {MAX_TOKENS} tokens, "
                  f"{differ} texts whose ids differ from tokenizer.json's", file=sys.stderr)

    # The sentencepiece folder is the same model: with the same ids it must give the same embeddings.
    json_ids, json_emb = results["random-xlm-roberta", "golden"]
    spm_ids, spm_emb = results["random-xlm-roberta-spm", "golden"]
    print(f"random-xlm-roberta-spm vs random-xlm-roberta: {sum(a != b for a, b in zip(spm_ids, json_ids))} texts "
          f"with other ids, max |embedding difference| {float(np.abs(spm_emb - json_emb).max()):.3g}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
