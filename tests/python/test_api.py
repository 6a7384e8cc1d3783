"""minilm.Encoder's API, as sentence-transformers' SentenceTransformer.encode() users expect it:
what encode() returns, its options, its errors, similarity(), the settings an Encoder is made
with, and finding a hub id in the local Hugging Face cache."""

from __future__ import annotations

import gc
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

import minilm
from support import (
    ENCODER_DATA,
    add_hub_snapshot,
    assert_untouched,
    build_shape_folder,
    compare,
    listing,
    memory_owner_is_kept,
    multilingual_folder,
    read_golden,
    read_texts,
    same_bits,
)

TEXTS = ["A man is eating food.", "A man is eating a piece of bread.", "The girl is carrying a baby.", ""]
LONG_TEXT = " ".join(["word"] * 400)  # 400 word pieces: longer than any max_seq_length


def check_array(a: np.ndarray, shape: tuple[int, ...]) -> None:
    assert isinstance(a, np.ndarray)
    assert a.shape == shape
    assert a.dtype == np.float32
    assert a.flags.c_contiguous
    assert a.flags.writeable
    assert memory_owner_is_kept(a)


# What encode() gives.


def test_a_str_gives_a_vector_a_list_gives_a_matrix(encoder):
    check_array(encoder.encode("A man is eating food."), (384,))
    check_array(encoder.encode(TEXTS), (4, 384))
    check_array(encoder.encode(tuple(TEXTS)), (4, 384))
    check_array(encoder.encode([]), (0, 384))
    assert encoder.get_sentence_embedding_dimension() == 384


def test_a_vector_outlives_the_matrix_it_came_from(encoder):
    row = encoder.encode(TEXTS)[1]
    want = row.copy()
    gc.collect()
    junk = [np.full((4, 384), 7.0, dtype=np.float32) for _ in range(100)]
    assert same_bits(row, want)
    del junk


def test_convert_to_numpy_false_gives_a_list_of_vectors(encoder):
    rows = encoder.encode(TEXTS, convert_to_numpy=False)
    assert isinstance(rows, list)
    assert len(rows) == len(TEXTS)
    for row, want in zip(rows, encoder.encode(TEXTS)):
        check_array(row, (384,))
        assert same_bits(row, want)
    assert encoder.encode([], convert_to_numpy=False) == []


def test_token_embeddings_give_one_matrix_per_text(encoder):
    states = encoder.encode(TEXTS, output_value="token_embeddings")
    assert isinstance(states, list)
    ids = encoder.tokenize(TEXTS)
    for s, text_ids in zip(states, ids):
        check_array(s, (len(text_ids), 384))  # [CLS] and [SEP] included
    assert [len(x) for x in ids][-1] == 2  # "": [CLS] [SEP]

    one = encoder.encode(TEXTS[1], output_value="token_embeddings")
    check_array(one, states[1].shape)
    assert same_bits(one, states[1])
    assert encoder.encode([], output_value="token_embeddings") == []


def test_token_embeddings_outlive_the_other_texts_of_their_call(encoder):
    row = encoder.encode(TEXTS, output_value="token_embeddings")[2]
    want = row.copy()
    gc.collect()
    junk = [np.full(row.shape, 7.0, dtype=np.float32) for _ in range(100)]
    assert same_bits(row, want)
    del junk


def test_token_embeddings_mean_is_the_sentence_embedding_before_normalize(model_path):
    raw = minilm.Encoder(model_path, threads=2, normalize_embeddings=False)
    states = raw.encode(TEXTS[:3], output_value="token_embeddings")
    means = np.stack([s.astype(np.float64).mean(axis=0) for s in states])
    assert compare(raw.encode(TEXTS[:3]), means).max_abs <= 1e-6


def test_normalize_embeddings_gives_unit_vectors(model_path):
    raw = minilm.Encoder(model_path, threads=2, normalize_embeddings=False)
    assert raw.normalize_embeddings is False
    x = raw.encode(TEXTS)
    norms = np.linalg.norm(x, axis=1)
    assert np.all(np.abs(norms - 1) > 0.1)  # the folder's Normalize is off: not unit vectors

    unit = raw.encode(TEXTS, normalize_embeddings=True)
    assert np.allclose(np.linalg.norm(unit, axis=1), 1, atol=1e-6)
    assert np.allclose(unit, x / norms[:, None], rtol=0, atol=1e-7)
    assert np.allclose(raw.encode(TEXTS[0], normalize_embeddings=True), unit[0], rtol=0, atol=1e-7)


def test_the_folder_decides_normalization_unless_told(encoder, model_path):
    assert encoder.normalize_embeddings is True  # all-MiniLM-L6-v2's modules.json has Normalize
    x = encoder.encode(TEXTS)
    assert np.allclose(np.linalg.norm(x, axis=1), 1, atol=1e-6)
    assert same_bits(encoder.encode(TEXTS, normalize_embeddings=False), x)  # as sentence-transformers: Normalize stays
    forced = minilm.Encoder(model_path, threads=2, normalize_embeddings=False)
    assert not np.allclose(np.linalg.norm(forced.encode(TEXTS), axis=1), 1, atol=1e-3)


def test_show_progress_bar_changes_nothing_but_stderr(encoder):
    assert same_bits(encoder.encode(TEXTS, batch_size=2, show_progress_bar=True), encoder.encode(TEXTS))


# Prompts.


def test_prompt_and_prompt_name(encoder):
    # all-MiniLM-L6-v2 has no prompts; "query" and "document" are sentence-transformers' empty defaults.
    assert encoder.prompts == {}
    assert encoder.default_prompt_name is None
    plain = encoder.encode(TEXTS)
    assert same_bits(encoder.encode(TEXTS, prompt_name="query"), plain)
    assert same_bits(encoder.encode(TEXTS, prompt="query: "), encoder.encode(["query: " + t for t in TEXTS]))
    assert encoder.tokenize("bread", prompt="query: ") == encoder.tokenize("query: bread")
    assert not np.array_equal(encoder.encode(TEXTS, prompt="query: "), plain)


def test_a_prompt_and_a_prompt_name_together_are_refused(encoder):
    with pytest.raises(minilm.InputError, match="give a prompt or a prompt name, not both") as e:
        encoder.encode(TEXTS, prompt_name="query", prompt="query: ")
    assert e.value.code == "invalid_argument"


def test_a_prompt_that_is_not_valid_unicode_is_an_input_error(encoder):
    # As a text with a lone surrogate: an InputError, here with no text at fault.
    for call in (lambda: encoder.encode(TEXTS, prompt="\ud800 "),
                 lambda: encoder.encode(TEXTS, prompt="\ud800 ", output_value="token_embeddings"),
                 lambda: encoder.tokenize(TEXTS, prompt="\ud800 ")):
        with pytest.raises(minilm.InputError) as e:
            call()
        assert e.value.code == "invalid_text"
        assert e.value.text_index is None


def test_an_unknown_prompt_name_is_refused_with_the_known_ones():
    model = minilm.Encoder(multilingual_folder("random-xlm-roberta"), threads=1)
    with pytest.raises(minilm.InputError, match="no prompt named 'qurey'") as e:
        model.encode(TEXTS, prompt_name="qurey")
    assert "'query'" in str(e.value) and "'passage'" in str(e.value)
    assert e.value.code == "invalid_argument"
    with pytest.raises(minilm.InputError, match="qurey"):
        model.tokenize(TEXTS, prompt_name="qurey")


# Argument errors.


def test_bad_arguments_are_input_errors(encoder, model_path):
    with pytest.raises(minilm.InputError, match="output_value 'sentence_embeddings'"):
        encoder.encode(TEXTS, output_value="sentence_embeddings")
    with pytest.raises(minilm.InputError, match="batch_size must be at least 1, not 0"):
        encoder.encode(TEXTS, batch_size=0)
    with pytest.raises(minilm.InputError, match="threads must be at least 1, not 0"):
        minilm.Encoder(model_path, threads=0)
    with pytest.raises(minilm.InputError, match='pooling "bogus"'):
        minilm.Encoder(model_path, pooling="bogus")
    with pytest.raises(minilm.InputError, match="device 'cuda': minilm runs on the CPU only"):
        minilm.Encoder(model_path, device="cuda")
    with pytest.raises(minilm.InputError, match="max_seq_length must be at least 1"):
        minilm.Encoder(model_path, max_seq_length=0)
    with pytest.raises(minilm.InputError, match="max_seq_length 513 is outside"):
        minilm.Encoder(model_path, max_seq_length=513)
    assert minilm.Encoder(model_path, device="cpu").get_sentence_embedding_dimension() == 384


def test_a_text_that_is_not_a_str_is_a_type_error_naming_its_index(encoder):
    with pytest.raises(TypeError, match="text 2 is int, not str"):
        encoder.encode(["a", "b", 3])
    with pytest.raises(TypeError, match="text 0 is bytes, not str"):
        encoder.encode([b"bytes"])
    with pytest.raises(TypeError, match="text 1 is NoneType, not str"):
        encoder.tokenize(["a", None])
    with pytest.raises(TypeError, match="text 1 is int"):
        encoder.encode(["a", 1], output_value="token_embeddings")


def test_a_lone_surrogate_is_an_input_error_naming_its_text(encoder):
    with pytest.raises(minilm.InputError, match="lone surrogate at character 1") as e:
        encoder.encode(["fine", "a\ud800b", "fine"])
    assert e.value.code == "invalid_text"
    assert e.value.text_index == 1
    assert isinstance(e.value, ValueError)
    with pytest.raises(minilm.InputError) as e:
        encoder.encode("\ud800")
    assert (e.value.code, e.value.text_index) == ("invalid_text", 0)
    with pytest.raises(minilm.InputError) as e:
        encoder.encode(["a", "b", "\udfff"], output_value="token_embeddings")
    assert (e.value.code, e.value.text_index) == ("invalid_text", 2)


def test_the_error_classes():
    assert issubclass(minilm.ModelError, minilm.Error)
    assert issubclass(minilm.ModelError, OSError)
    assert not issubclass(minilm.ModelError, ValueError)
    assert issubclass(minilm.InputError, minilm.Error)
    assert issubclass(minilm.InputError, ValueError)
    assert not issubclass(minilm.InputError, OSError)
    assert issubclass(minilm.Error, Exception)


# Model folders that cannot be used.


def copy_of_model(model_path: Path, dest: Path) -> Path:
    """The real model folder in dest, model.safetensors linked, the rest copied."""
    shutil.copytree(model_path, dest, ignore=shutil.ignore_patterns("model.safetensors"))
    os.symlink(model_path.resolve() / "model.safetensors", dest / "model.safetensors")
    return dest


def test_a_missing_folder_is_a_model_error_naming_it(tmp_path):
    missing = tmp_path / "no-such-folder"
    with pytest.raises(minilm.ModelError, match="not a folder") as e:
        minilm.Encoder(missing)
    assert str(missing) in str(e.value)
    assert e.value.code == "io"
    assert isinstance(e.value, OSError)


def test_a_truncated_config_json_is_a_model_error_naming_it(tmp_path, model_path):
    folder = copy_of_model(model_path, tmp_path / "model")
    config = folder / "config.json"
    config.write_text(config.read_text()[:40])
    with pytest.raises(minilm.ModelError, match="not valid JSON") as e:
        minilm.Encoder(folder)
    assert str(config) in str(e.value)
    assert e.value.code == "invalid_json"
    assert e.value.text_index is None


def test_a_broken_model_safetensors_is_a_model_error_naming_it(tmp_path, model_path):
    folder = copy_of_model(model_path, tmp_path / "model")
    weights = folder / "model.safetensors"
    head = weights.read_bytes()[:1000]
    weights.unlink()
    weights.write_bytes(head)
    with pytest.raises(minilm.ModelError, match="runs past the end of the 1000-byte file") as e:
        minilm.Encoder(folder)
    assert str(weights) in str(e.value)
    assert e.value.code == "invalid_safetensors"


# similarity().


def test_similarity_is_the_cosine_of_every_pair(encoder):
    a = encoder.encode(TEXTS[:3])
    b = encoder.encode(TEXTS[1:])
    s = encoder.similarity(a, b)
    assert s.shape == (3, 3)
    assert s.dtype == np.float32
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    want = (a64 @ b64.T) / np.outer(np.linalg.norm(a64, axis=1), np.linalg.norm(b64, axis=1))
    assert np.allclose(s, want, rtol=0, atol=1e-6)
    assert abs(s[1, 0] - 1) < 1e-6  # TEXTS[1] with itself
    assert 0.5 < s[0, 0] < 0.95  # eating food, eating bread

    assert encoder.similarity(a[0], b[0]).shape == (1, 1)
    assert encoder.similarity(a[0], b).shape == (1, 3)
    assert np.allclose(encoder.similarity([[3, 4]], [[6, 8], [-4, 3]]), [[1.0, 0.0]], rtol=0, atol=1e-7)
    with pytest.raises(minilm.InputError, match="vectors of one length"):
        encoder.similarity(a, b[:, :100])
    assert minilm.Encoder.similarity_fn_name == "cosine"


# The settings an Encoder is made with.


def test_sentence_transformer_is_the_encoder():
    assert minilm.SentenceTransformer is minilm.Encoder


def test_max_seq_length_can_be_read_and_set(model_path):
    model = minilm.Encoder(model_path, threads=2)
    assert model.max_seq_length == 256
    assert len(model.tokenize(LONG_TEXT)[0]) == 256
    full = model.encode([LONG_TEXT, TEXTS[0]])

    model.max_seq_length = 16
    assert model.max_seq_length == 16
    assert len(model.tokenize(LONG_TEXT)[0]) == 16
    assert model.encode(LONG_TEXT, output_value="token_embeddings").shape == (16, 384)
    short = model.encode([LONG_TEXT, TEXTS[0]])
    assert not np.array_equal(short[0], full[0])
    assert same_bits(short[1], full[1])  # 8 tokens: not truncated
    assert same_bits(short, minilm.Encoder(model_path, threads=2, max_seq_length=16).encode([LONG_TEXT, TEXTS[0]]))

    with pytest.raises(minilm.InputError, match="max_seq_length must be at least 1"):
        model.max_seq_length = 0
    with pytest.raises(minilm.InputError, match="outside"):
        model.max_seq_length = 100_000
    assert model.max_seq_length == 16  # a refused value changes nothing


def test_setting_max_seq_length_keeps_the_other_settings(model_path):
    model = minilm.Encoder(model_path, threads=1, pooling="cls", normalize_embeddings=False)
    model.max_seq_length = 64
    assert (model.pooling, model.normalize_embeddings, model.threads) == ("cls", False, 1)
    want = minilm.Encoder(model_path, threads=1, pooling="cls", normalize_embeddings=False, max_seq_length=64)
    assert same_bits(model.encode(TEXTS), want.encode(TEXTS))


def test_pooling_cls_takes_the_first_token(model_path):
    mean = minilm.Encoder(model_path, threads=2, normalize_embeddings=False)
    cls = minilm.Encoder(model_path, threads=2, pooling="cls", normalize_embeddings=False)
    assert (mean.pooling, cls.pooling) == ("mean", "cls")
    x = cls.encode(TEXTS)
    assert not np.array_equal(x, mean.encode(TEXTS))
    states = cls.encode(TEXTS, output_value="token_embeddings")
    assert all(same_bits(x[i], states[i][0]) for i in range(len(TEXTS)))
    assert minilm.Encoder(model_path, pooling="mean_sqrt_len_tokens").pooling == "mean_sqrt_len"


def test_a_pooling_override_gives_sentence_transformers_numbers(tmp_path, model_path):
    # The l3-cls folder with its pooling config rewritten to mean: pooling="cls" restores the
    # pooling its golden was made with.
    folder = build_shape_folder("l3-cls", tmp_path, model_path)
    (folder / "1_Pooling" / "config.json").write_text(json.dumps({
        "word_embedding_dimension": 48, "pooling_mode_cls_token": False, "pooling_mode_mean_tokens": True,
        "pooling_mode_max_tokens": False, "pooling_mode_mean_sqrt_len_tokens": False}))
    g = read_golden(ENCODER_DATA / "l3-cls" / "golden")
    texts = read_texts(ENCODER_DATA / "l3-cls" / "texts.txt")
    assert minilm.Encoder(folder).pooling == "mean"
    assert not compare(minilm.Encoder(folder, threads=2).encode(texts), g.embeddings).within_parity()
    d = compare(minilm.Encoder(folder, threads=2, pooling="cls").encode(texts), g.embeddings)
    assert d.within_parity(), str(d)


def test_threads(model_path):
    one = minilm.Encoder(model_path, threads=1)
    three = minilm.Encoder(model_path, threads=3)
    assert (one.threads, three.threads) == (1, 3)
    texts = TEXTS * 5 + [LONG_TEXT]
    assert same_bits(one.encode(texts), three.encode(texts))
    assert minilm.Encoder(model_path).threads == len(os.sched_getaffinity(0))


def test_repr_names_the_folder_and_settings(encoder, model_path):
    text = repr(encoder)
    assert text.startswith("minilm.Encoder(")
    assert str(model_path) in text
    assert "dimension=384" in text and "max_seq_length=256" in text and "pooling='mean'" in text
    assert encoder.path == str(model_path)


# A hub id, looked up in the local Hugging Face cache.

HUB_ID = "sentence-transformers/all-MiniLM-L6-v2"
MAIN_COMMIT = "c9745ed1d9f207416be6d2e6f8de32d1f16199bf"
V2_COMMIT = "2b1d4e33e0cb8a29faa45d4a9c1f0e6d3b7a5c81"  # branch "v2": max_seq_length 128


@pytest.fixture(scope="module")
def hub_cache(tmp_path_factory, model_path):
    """A hub cache holding all-MiniLM-L6-v2 at two commits: main, and branch v2."""
    cache = tmp_path_factory.mktemp("hub")
    repo = cache / ("models--" + HUB_ID.replace("/", "--"))
    add_hub_snapshot(repo, MAIN_COMMIT, model_path)
    config = json.loads((model_path / "sentence_bert_config.json").read_bytes())
    add_hub_snapshot(repo, V2_COMMIT, model_path,
                     {"sentence_bert_config.json": json.dumps(config | {"max_seq_length": 128}).encode()})
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(MAIN_COMMIT)
    (repo / "refs" / "v2").write_text(V2_COMMIT)
    assert os.readlink(repo / "snapshots" / MAIN_COMMIT / "1_Pooling" / "config.json").startswith("../../../blobs/")
    return cache


@pytest.fixture
def hub_env(monkeypatch, tmp_path):
    """No Hugging Face variables, HOME an empty folder, and a working directory without models/."""
    for name in ("HF_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME", "HUGGINGFACE_HUB_CACHE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    return monkeypatch


@pytest.fixture(scope="module")
def from_folder(model_path):
    return minilm.Encoder(model_path, threads=2).encode(TEXTS)


def check_hub_model(model: minilm.Encoder, cache: Path, commit: str, want: np.ndarray) -> None:
    assert Path(model.path) == cache / ("models--" + HUB_ID.replace("/", "--")) / "snapshots" / commit
    assert same_bits(model.encode(TEXTS), want)


def test_hub_id_from_hf_hub_cache_before_hf_home(hub_env, hub_cache, tmp_path, from_folder):
    before = listing(hub_cache)
    (tmp_path / "hf-home" / "hub").mkdir(parents=True)
    hub_env.setenv("HF_HOME", str(tmp_path / "hf-home"))
    hub_env.setenv("HF_HUB_CACHE", str(hub_cache))
    model = minilm.Encoder(HUB_ID, threads=2)
    check_hub_model(model, hub_cache, MAIN_COMMIT, from_folder)
    assert model.max_seq_length == 256
    assert_untouched(hub_cache, before)


def test_hub_id_from_hf_home(hub_env, hub_cache, tmp_path, from_folder):
    (tmp_path / "hf-home").mkdir()
    (tmp_path / "hf-home" / "hub").symlink_to(hub_cache)
    hub_env.setenv("HF_HOME", str(tmp_path / "hf-home"))
    check_hub_model(minilm.Encoder(HUB_ID, threads=2), tmp_path / "hf-home" / "hub", MAIN_COMMIT, from_folder)


def test_hub_id_from_the_home_folder(hub_env, hub_cache, tmp_path, from_folder):
    hub = tmp_path / "home" / ".cache" / "huggingface" / "hub"
    hub.parent.mkdir(parents=True)
    hub.symlink_to(hub_cache)
    check_hub_model(minilm.Encoder(HUB_ID, threads=2), hub, MAIN_COMMIT, from_folder)
    check_hub_model(minilm.Encoder("all-MiniLM-L6-v2", threads=2), hub, MAIN_COMMIT, from_folder)


def test_hub_id_at_a_revision(hub_env, hub_cache, from_folder):
    before = listing(hub_cache)
    by_branch = minilm.Encoder(HUB_ID, threads=2, revision="v2", cache_folder=hub_cache)
    by_commit = minilm.Encoder(HUB_ID, threads=2, revision=V2_COMMIT, cache_folder=hub_cache)
    main = minilm.Encoder(HUB_ID, threads=2, revision=MAIN_COMMIT, cache_folder=hub_cache)
    for model, commit in ((by_branch, V2_COMMIT), (by_commit, V2_COMMIT), (main, MAIN_COMMIT)):
        assert Path(model.path).name == commit
    assert (by_branch.max_seq_length, by_commit.max_seq_length, main.max_seq_length) == (128, 128, 256)
    assert same_bits(by_branch.encode(TEXTS), from_folder)  # short texts: the same numbers
    assert_untouched(hub_cache, before)


def test_cache_folder_replaces_the_environment(hub_env, hub_cache, tmp_path, from_folder):
    (tmp_path / "empty").mkdir()
    hub_env.setenv("HF_HUB_CACHE", str(tmp_path / "empty"))
    check_hub_model(minilm.Encoder(HUB_ID, threads=2, cache_folder=hub_cache), hub_cache, MAIN_COMMIT, from_folder)
    check_hub_model(minilm.Encoder("all-MiniLM-L6-v2", threads=2, cache_folder=str(hub_cache)), hub_cache, MAIN_COMMIT,
                    from_folder)
    with pytest.raises(minilm.ModelError):
        minilm.Encoder(HUB_ID)


def test_a_missing_hub_id_names_every_path_tried(hub_env, hub_cache):
    before = listing(hub_cache)
    org = hub_cache / "models--sentence-transformers--no-such-model"
    bare = hub_cache / "models--no-such-model"
    with pytest.raises(minilm.ModelError, match="not in the local Hugging Face cache") as e:
        minilm.Encoder("no-such-model", cache_folder=hub_cache)
    assert e.value.code == "io"
    for path in ("no-such-model", org / "refs" / "main", bare / "refs" / "main"):
        assert str(path) in str(e.value)

    with pytest.raises(minilm.ModelError) as e:
        minilm.Encoder(HUB_ID, revision="no-such-branch", cache_folder=hub_cache)
    assert str(hub_cache / ("models--" + HUB_ID.replace("/", "--")) / "refs" / "no-such-branch") in str(e.value)
    missing_commit = "0" * 40
    with pytest.raises(minilm.ModelError) as e:
        minilm.Encoder(HUB_ID, revision=missing_commit, cache_folder=hub_cache)
    assert str(hub_cache / ("models--" + HUB_ID.replace("/", "--")) / "snapshots" / missing_commit) in str(e.value)
    with pytest.raises(minilm.ModelError, match="nor a hub id"):
        minilm.Encoder("not a hub id!", cache_folder=hub_cache)
    assert_untouched(hub_cache, before)


# int8 folders.


def test_quantize_writes_an_int8_folder_that_loads_and_stays_close(tmp_path, model_path):
    before = listing(model_path)
    weights = minilm.quantize(model_path, tmp_path / "int8")
    assert_untouched(model_path, before)
    assert weights == str(tmp_path / "int8" / "model.safetensors")
    int8 = minilm.Encoder(tmp_path / "int8")
    assert int8.precision == "int8"
    assert minilm.Encoder(model_path).precision == "f32"
    assert "precision='int8'" in repr(int8)
    texts = read_texts(ENCODER_DATA / "texts.txt")[:300]
    want = read_golden(ENCODER_DATA / "minilm-l6.golden").embeddings[:300]
    got = int8.encode(texts)
    cosines = (got.astype(np.float64) * want).sum(axis=1) / np.linalg.norm(got, axis=1) / np.linalg.norm(want, axis=1)
    assert np.median(cosines) >= 0.999 and cosines.min() >= 0.99, (np.median(cosines), cosines.min())
    assert same_bits(int8.encode(texts[7]), got[7])

    with pytest.raises(minilm.InputError, match="already exists and is not an empty directory"):
        minilm.quantize(model_path, tmp_path)
    with pytest.raises(minilm.InputError, match="already int8"):
        minilm.quantize(tmp_path / "int8", tmp_path / "again")
