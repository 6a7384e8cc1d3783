"""minilm.Encoder against sentence-transformers: the goldens tools/goldens/make_encoder_goldens.py and
tools/goldens/make_multilingual_goldens.py made with it, for every model family minilm reads (BERT with
WordPiece, the real all-MiniLM-L6-v2 and generated-weight shapes; BERT and XLM-RoBERTa with the
XLM-R Unigram tokenizer, from tokenizer.json or sentencepiece.bpe.model), with and without
prompts. Then the promises encode() makes: a text's embedding does not depend on the batch it
is in."""

from __future__ import annotations

import numpy as np
import pytest

import minilm
from support import (
    ENCODER_DATA,
    MULTILINGUAL_DATA,
    SHAPES,
    build_shape_folder,
    compare,
    multilingual_folder,
    read_golden,
    read_texts,
    same_bits,
)


@pytest.fixture(scope="module")
def texts():
    return read_texts(ENCODER_DATA / "texts.txt")


@pytest.fixture(scope="module")
def golden():
    return read_golden(ENCODER_DATA / "minilm-l6.golden")


@pytest.fixture(scope="module")
def embeddings(encoder, texts):
    """The real model on all 2,028 texts, in one encode() call."""
    return encoder.encode(texts)


def test_all_minilm_l6_v2_matches_sentence_transformers(golden, texts, embeddings):
    assert golden.n_texts == len(texts) >= 2000
    d = compare(embeddings, golden.embeddings)
    print(f"all-MiniLM-L6-v2 on {len(texts)} texts: {d}")
    assert d.max_abs <= 1e-5, str(d)  # the gate CI holds the Python package to
    assert d.min_cosine >= 0.999999, str(d)


def test_tokenize_gives_the_reference_ids(encoder, golden, texts):
    ids = encoder.tokenize(texts)
    wrong = [i for i in range(golden.n_texts) if ids[i] != golden.ids_of(i)]
    assert not wrong, f"{len(wrong)} texts' ids differ, the first text {wrong[0]}: {texts[wrong[0]]!r}"


# make_encoder_goldens.py wrote the token states of these lines of texts.txt.
TOKEN_GOLDEN_TEXTS = (0, 3, 8, 20, 21, 40)


def test_token_embeddings_match_sentence_transformers(encoder, golden, texts):
    g = read_golden(ENCODER_DATA / "minilm-l6-tokens.golden")
    assert g.n_texts == len(TOKEN_GOLDEN_TEXTS)
    assert [g.ids_of(k) for k in range(g.n_texts)] == [golden.ids_of(i) for i in TOKEN_GOLDEN_TEXTS]
    few = [texts[i] for i in TOKEN_GOLDEN_TEXTS]

    states = encoder.encode(few, output_value="token_embeddings")
    assert [s.shape for s in states] == [(len(g.ids_of(k)), 384) for k in range(g.n_texts)]
    d = compare(np.concatenate(states), g.token_states)
    print(f"token embeddings of {len(few)} texts: {d}")
    assert d.within_parity(), str(d)  # the C++ test's limits for token states: 1e-5, cosine 0.999999
    assert compare(encoder.encode(few), g.embeddings).within_parity()


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_other_bert_shapes_match_sentence_transformers(name, tmp_path, model_path):
    layers, hidden, pooling, normalize = SHAPES[name]
    model = minilm.Encoder(build_shape_folder(name, tmp_path, model_path), threads=2)
    assert model.get_sentence_embedding_dimension() == hidden
    assert model.pooling == pooling
    assert model.normalize_embeddings is normalize

    g = read_golden(ENCODER_DATA / name / "golden")
    texts = read_texts(ENCODER_DATA / name / "texts.txt")
    assert model.tokenize(texts) == g.all_ids()
    d = compare(model.encode(texts), g.embeddings)
    print(f"{name} ({layers} layers) on {len(texts)} texts: {d}")
    assert d.within_parity(), str(d)


# The calls tools/goldens/make_multilingual_goldens.py made, by folder and golden file. "golden" passes
# no prompt: the folder's default prompt applies (random-xlm-roberta and -spm: "query").
MULTILINGUAL_CALLS = [
    ("random-bert-xlmr", "golden", {}),
    ("random-bert-xlmr", "golden-query", {"prompt_name": "query"}),
    ("random-bert-xlmr", "golden-prompt", {"prompt": "passage: "}),
    ("random-xlm-roberta", "golden", {}),
    ("random-xlm-roberta", "golden-query", {"prompt_name": "query"}),
    ("random-xlm-roberta", "golden-prompt", {"prompt": "passage: "}),
    ("random-xlm-roberta-spm", "golden", {}),
]


@pytest.fixture(scope="module")
def multilingual():
    opened: dict[str, minilm.Encoder] = {}

    def open_folder(name: str) -> minilm.Encoder:
        if name not in opened:
            opened[name] = minilm.Encoder(multilingual_folder(name), threads=2)
        return opened[name]

    return open_folder


@pytest.mark.parametrize(("name", "golden_file", "prompt"), MULTILINGUAL_CALLS,
                         ids=[f"{n}/{g}" for n, g, _ in MULTILINGUAL_CALLS])
def test_multilingual_folders_match_sentence_transformers(multilingual, name, golden_file, prompt):
    model = multilingual(name)
    assert model.max_seq_length == 512
    assert model.prompts == {"query": "query: ", "passage": "passage: "}
    g = read_golden(MULTILINGUAL_DATA / name / golden_file)
    texts = read_texts(MULTILINGUAL_DATA / name / "texts.txt")
    assert g.n_texts == len(texts)

    ids = model.tokenize(texts, **prompt)
    wrong = [i for i in range(g.n_texts) if ids[i] != g.ids_of(i)]
    assert not wrong, f"{len(wrong)} texts' ids differ, the first text {wrong[0]}: {texts[wrong[0]]!r}"
    d = compare(model.encode(texts, **prompt), g.embeddings)
    print(f"{name}/{golden_file} on {len(texts)} texts: {d}")
    assert d.within_parity(), str(d)


def test_the_default_prompt_applies_unless_a_call_names_another(multilingual):
    model = multilingual("random-xlm-roberta")
    assert model.default_prompt_name == "query"
    texts = read_texts(MULTILINGUAL_DATA / "random-xlm-roberta" / "texts.txt")[:20]
    default = model.encode(texts)
    assert same_bits(default, model.encode(texts, prompt_name="query"))
    assert same_bits(default, model.encode(texts, prompt="query: "))
    assert not np.array_equal(default, model.encode(texts, prompt=""))  # "": no prompt at all
    assert not np.array_equal(default, model.encode(texts, prompt_name="passage"))


def test_a_str_gives_the_row_a_list_gives(encoder, texts, embeddings):
    for i in (0, 1, 5, 13, 100, 1500, len(texts) - 1):
        one = encoder.encode(texts[i])
        assert one.shape == (384,)
        assert same_bits(one, embeddings[i]), f"text {i}: {texts[i][:60]!r}"


def test_every_batch_size_gives_the_same_bits(encoder, texts, embeddings):
    # The edge cases, texts of many lengths, and the longest (truncated to 256 tokens).
    picked = list(range(16)) + list(range(16, len(texts) - 12, 97)) + list(range(len(texts) - 4, len(texts)))
    sample = [texts[i] for i in picked]
    want = embeddings[picked]
    for batch_size in (1, 7, 32, 1000):
        got = encoder.encode(sample, batch_size=batch_size)
        differ = [picked[k] for k in range(len(picked)) if not same_bits(got[k], want[k])]
        assert not differ, f"batch_size {batch_size}: texts {differ} differ from the same texts in the 2,028-text call"
