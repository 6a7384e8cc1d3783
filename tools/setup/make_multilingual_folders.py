#!/usr/bin/env python3
"""Builds the random-weight multilingual model folders the tests load. numpy only.

    python3 tools/setup/make_multilingual_folders.py [ROOT]     (ROOT defaults to models/)

Reads the real multilingual-e5-small tokenizer.json from ROOT/multilingual-e5-small-tokenizer/
(placed by tools/setup/fetch_multilingual.sh) and writes three complete sentence-transformers folders
under ROOT, each in the layout a real hub folder of its kind uses. The weights are the
generated values of tools/goldens/generated_weights.py (F32), so the folders are small to describe but
real in size: a 250,037 x 384 or 250,002 x 384 word-embedding table.

* random-bert-xlmr: laid out like intfloat/multilingual-e5-small: a "bert" BertModel (vocab
  250,037 rows, 512 positions, 2 token types, pad_token_id 0) with the XLM-R tokenizer
  (tokenizer.json, tokenizer_config.json and special_tokens_map.json as that repository has
  them), mean pooling in the old pooling_mode_* keys, a Normalize module, max_seq_length 512, and
  the prompts "query: " and "passage: " without a default prompt. 2 layers.
* random-xlm-roberta: an "xlm-roberta" XLMRobertaModel as sentence-transformers 6.2 and
  transformers 5 save one (like paraphrase-multilingual-mpnet-base-v2 or multilingual-e5-base,
  but small): vocab 250,002, 514 positions (position ids start at pad_token_id + 1 = 2), 1 token
  type, layer_norm_eps 1e-5; sentence_bert_config.json without max_seq_length (the length then
  comes from model_max_length 512 and the positions), mean pooling with include_prompt false,
  the same prompts with default_prompt_name "query", no Normalize module. 3 layers.
* random-xlm-roberta-spm: the same model (model.safetensors is a hard link to the one above)
  with the older slow-tokenizer files instead of tokenizer.json: sentencepiece.bpe.model,
  tokenizer_config.json and special_tokens_map.json. The .model is a sentencepiece ModelProto
  written here in protobuf wire format from the tokenizer.json: <unk>, <s>, </s> (spm ids
  0-2), then the tokenizer.json pieces 4 .. 250,000 with their scores (spm id = HF id - 1, the
  fairseq offset), a Unigram trainer_spec and the nmt_nfkc normalizer with the tokenizer.json's
  precompiled charsmap.

Every run writes the same bytes; each model.safetensors is checked against the sha256 below, so
a test that starts failing cannot be a changed generator. Files already in place with the right
contents are left alone, so a second run writes nothing.
"""

import base64
import hashlib
import json
import os
import shutil
import struct
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "goldens"))
from generated_weights import bert_tensor_shapes, write_generated_safetensors  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
TOKENIZER_SHA256 = "0b44a9d7b51c3c62626640cda0e2c2f70fdacdc25bbbd68038369d14ebdf4c39"
MODEL_SHA256 = {
    "random-bert-xlmr": "7e6f17f53a97456dca12abbe9df7bb09154032fc385fd1d85729ad39cc16fd89",
    "random-xlm-roberta": "fb7f4f83e4ccbcca10eb5a51621295bfcb4ff8adf16fb319827d00f9d464d5f2",
}
PROMPTS = {"query": "query: ", "passage": "passage: "}


def as_json(value, indent=2) -> bytes:
    return (json.dumps(value, indent=indent, ensure_ascii=False) + "\n").encode()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 24), b""):
            digest.update(block)
    return digest.hexdigest()


# --- the sentencepiece model, in protobuf wire format (sentencepiece_model.proto) ---------------

def varint(n: int) -> bytes:
    if n < 0:  # int32 fields hold negative numbers as 64-bit two's complement
        n += 1 << 64
    out = bytearray()
    while True:
        low = n & 0x7F
        n >>= 7
        if n:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def field_varint(number: int, value: int) -> bytes:
    return varint(number << 3) + varint(value)


def field_bytes(number: int, value: bytes) -> bytes:
    return varint(number << 3 | 2) + varint(len(value)) + value


def field_float(number: int, value: float) -> bytes:
    return varint(number << 3 | 5) + struct.pack("<f", value)


NORMAL, UNKNOWN, CONTROL = 1, 2, 3  # SentencePiece.Type
UNIGRAM = 1  # TrainerSpec.ModelType


def sentencepiece_model(tokenizer: dict) -> bytes:
    """ModelProto{pieces = 1, trainer_spec = 2, normalizer_spec = 3} of the XLM-R tokenizer."""
    vocab = tokenizer["model"]["vocab"]
    assert [p for p, _ in vocab[:4]] == ["<s>", "<pad>", "</s>", "<unk>"] and vocab[-1][0] == "<mask>"
    pieces = [("<unk>", 0.0, UNKNOWN), ("<s>", 0.0, CONTROL), ("</s>", 0.0, CONTROL)]
    pieces += [(piece, score, NORMAL) for piece, score in vocab[4:-1]]
    out = bytearray()
    for piece, score, kind in pieces:
        out += field_bytes(1, field_bytes(1, piece.encode()) + field_float(2, score) + field_varint(3, kind))
    trainer = (field_varint(3, UNIGRAM) + field_varint(4, len(pieces)) + field_varint(40, 0) + field_varint(41, 1)
               + field_varint(42, 2) + field_varint(43, -1))
    out += field_bytes(2, trainer)
    charsmap = base64.b64decode(precompiled_charsmap(tokenizer))
    normalizer = (field_bytes(1, b"nmt_nfkc") + field_bytes(2, charsmap) + field_varint(3, 1) + field_varint(4, 1)
                  + field_varint(5, 1))
    out += field_bytes(3, normalizer)
    return bytes(out)


def precompiled_charsmap(tokenizer: dict) -> str:
    normalizer = tokenizer["normalizer"]
    for n in normalizer.get("normalizers", [normalizer]):
        if n["type"] == "Precompiled":
            return n["precompiled_charsmap"]
    raise SystemExit("tokenizer.json: no Precompiled normalizer")


# --- the folders ----------------------------------------------------------------------------

SPECIAL_TOKENS = {"bos_token": "<s>", "cls_token": "<s>", "eos_token": "</s>", "pad_token": "<pad>",
                  "sep_token": "</s>", "unk_token": "<unk>"}


def slow_tokenizer_files() -> dict:
    """tokenizer_config.json and special_tokens_map.json as XLM-R folders saved by transformers 4 have them."""
    config = dict(SPECIAL_TOKENS)
    config.update({
        "clean_up_tokenization_spaces": True,
        "mask_token": {"__type": "AddedToken", "content": "<mask>", "lstrip": True, "normalized": True,
                       "rstrip": False, "single_word": False},
        "model_max_length": 512,
        "sp_model_kwargs": {},
        "tokenizer_class": "XLMRobertaTokenizer",
    })
    special = dict(SPECIAL_TOKENS)
    special["mask_token"] = {"content": "<mask>", "lstrip": True, "normalized": False, "rstrip": False,
                             "single_word": False}
    return {"tokenizer_config.json": as_json(dict(sorted(config.items()))),
            "special_tokens_map.json": as_json(dict(sorted(special.items())))}


def legacy_modules(normalize: bool) -> bytes:
    modules = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
               {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]
    if normalize:
        modules.append({"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"})
    return as_json(modules)


def bert_xlmr_folder():
    """Like intfloat/multilingual-e5-small (BertModel, transformers 4 / sentence-transformers 3 files)."""
    config = {
        "architectures": ["BertModel"], "attention_probs_dropout_prob": 0.1, "classifier_dropout": None,
        "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "hidden_size": 384, "initializer_range": 0.02,
        "intermediate_size": 1536, "layer_norm_eps": 1e-12, "max_position_embeddings": 512, "model_type": "bert",
        "num_attention_heads": 12, "num_hidden_layers": 2, "pad_token_id": 0, "position_embedding_type": "absolute",
        "tokenizer_class": "XLMRobertaTokenizer", "torch_dtype": "float32", "transformers_version": "4.41.2",
        "type_vocab_size": 2, "use_cache": True, "vocab_size": 250037,
    }
    files = {
        "config.json": as_json(config),
        "modules.json": legacy_modules(normalize=True),
        "sentence_bert_config.json": as_json({"max_seq_length": 512, "do_lower_case": False}),
        "1_Pooling/config.json": as_json({"word_embedding_dimension": 384, "pooling_mode_cls_token": False,
                                          "pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": False,
                                          "pooling_mode_mean_sqrt_len_tokens": False}),
        "config_sentence_transformers.json": as_json({
            "__version__": {"sentence_transformers": "3.0.1", "transformers": "4.41.2", "pytorch": "2.3.1+cu121"},
            "prompts": PROMPTS, "default_prompt_name": None, "similarity_fn_name": None}),
    }
    files.update(slow_tokenizer_files())
    shapes = bert_tensor_shapes(250037, 384, 2, 1536, positions=512, types=2)
    return files, shapes


def xlm_roberta_files():
    """The files of an XLMRobertaModel folder saved by sentence-transformers 6.2 / transformers 5."""
    config = {
        "add_cross_attention": False, "architectures": ["XLMRobertaModel"], "attention_probs_dropout_prob": 0.1,
        "bos_token_id": 0, "classifier_dropout": None, "dtype": "float32", "eos_token_id": 2, "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1, "hidden_size": 384, "initializer_range": 0.02, "intermediate_size": 1536,
        "is_decoder": False, "layer_norm_eps": 1e-05, "max_position_embeddings": 514, "model_type": "xlm-roberta",
        "num_attention_heads": 12, "num_hidden_layers": 3, "pad_token_id": 1, "tie_word_embeddings": True,
        "transformers_version": "5.24.0", "type_vocab_size": 1, "use_cache": False, "vocab_size": 250002,
    }
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.base.modules.transformer.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling",
         "type": "sentence_transformers.sentence_transformer.modules.pooling.Pooling"},
    ]
    files = {
        "config.json": as_json(config),
        "modules.json": as_json(modules),
        "sentence_bert_config.json": as_json({
            "transformer_task": "feature-extraction",
            "modality_config": {"text": {"method": "forward", "method_output_name": "last_hidden_state"}},
            "module_output_name": "token_embeddings"}, indent=4),
        "1_Pooling/config.json": as_json({"embedding_dimension": 384, "pooling_mode": "mean",
                                          "include_prompt": False}, indent=4),
        "config_sentence_transformers.json": as_json({
            "__version__": {"pytorch": "2.15.0", "sentence_transformers": "6.2.0", "transformers": "5.24.0"},
            "default_prompt_name": "query", "model_type": "SentenceTransformer", "prompts": PROMPTS,
            "similarity_fn_name": "cosine"}),
    }
    shapes = bert_tensor_shapes(250002, 384, 3, 1536, positions=514, types=1)
    return files, shapes


def xlm_roberta_folder():
    files, shapes = xlm_roberta_files()
    tokenizer_config = dict(SPECIAL_TOKENS)
    tokenizer_config.update({"add_prefix_space": True, "backend": "tokenizers", "mask_token": "<mask>",
                             "model_max_length": 512, "tokenizer_class": "XLMRobertaTokenizer"})
    files["tokenizer_config.json"] = as_json(dict(sorted(tokenizer_config.items())))
    return files, shapes


def with_pooler(shapes: dict, hidden: int) -> dict:
    """The hub folders keep the (unused) pooler that BertModel and XLMRobertaModel save."""
    shapes = dict(shapes)
    shapes["pooler.dense.weight"] = (hidden, hidden)
    shapes["pooler.dense.bias"] = (hidden,)
    return shapes


def put(path: Path, data: bytes) -> bool:
    """Writes the file unless it already holds these bytes; says whether it wrote."""
    if path.is_file() and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return True


def put_weights(folder: Path, name: str, shapes: dict) -> None:
    path = folder / "model.safetensors"
    expected = MODEL_SHA256[name]
    if path.is_file() and sha256_of(path) == expected:
        print(f"{name}/model.safetensors: in place, sha256 {expected}")
        return
    start = time.time()
    tmp = path.with_name("model.safetensors.tmp")
    digest = write_generated_safetensors(tmp, shapes)
    if digest != expected:
        os.remove(tmp)
        raise SystemExit(f"error: {name}/model.safetensors: generated sha256 {digest}, expected {expected}: "
                         "the generator (tools/goldens/generated_weights.py) changed")
    os.replace(tmp, path)
    print(f"{name}/model.safetensors: written in {time.time() - start:.1f} s, sha256 {digest}")


def link_weights(source: Path, folder: Path) -> None:
    path = folder / "model.safetensors"
    if path.is_file() and os.path.samefile(source, path):
        return
    if path.exists():
        path.unlink()
    try:
        os.link(source, path)
    except OSError:  # no hard links across file systems: copy
        shutil.copyfile(source, path)


def remove_others(folder: Path, keep) -> None:
    """Folders are this script's output: drop files an older layout left behind."""
    keep = {Path(k) for k in keep}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.relative_to(folder) not in keep:
            print(f"removing {path}")
            path.unlink()


def main():
    start = time.time()
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "models"
    source = root / "multilingual-e5-small-tokenizer"
    tokenizer_path = source / "tokenizer.json"
    if not tokenizer_path.is_file() or sha256_of(tokenizer_path) != TOKENIZER_SHA256:
        raise SystemExit(f"error: {tokenizer_path} missing or not sha256 {TOKENIZER_SHA256}: "
                         "run tools/setup/fetch_multilingual.sh")
    tokenizer_bytes = tokenizer_path.read_bytes()
    notice = (source / "NOTICE").read_bytes() if (source / "NOTICE").is_file() else None

    folders = {
        "random-bert-xlmr": bert_xlmr_folder(),
        "random-xlm-roberta": xlm_roberta_folder(),
    }
    for name, (files, shapes) in folders.items():
        folder = root / name
        files = dict(files, **{"tokenizer.json": tokenizer_bytes})
        if notice:
            files["NOTICE"] = notice
        wrote = [rel for rel, data in files.items() if put(folder / rel, data)]
        print(f"{name}: {len(wrote)} of {len(files)} small files written")
        put_weights(folder, name, with_pooler(shapes, 384))
        remove_others(folder, list(files) + ["model.safetensors"])

    # The same XLM-RoBERTa model with the sentencepiece files of older folders.
    name = "random-xlm-roberta-spm"
    folder = root / name
    files, _ = xlm_roberta_files()
    files.update(slow_tokenizer_files())
    files["sentencepiece.bpe.model"] = sentencepiece_model(json.loads(tokenizer_bytes))
    if notice:
        files["NOTICE"] = notice
    wrote = [rel for rel, data in files.items() if put(folder / rel, data)]
    print(f"{name}: {len(wrote)} of {len(files)} small files written, sentencepiece.bpe.model sha256 "
          f"{hashlib.sha256(files['sentencepiece.bpe.model']).hexdigest()}")
    link_weights(root / "random-xlm-roberta" / "model.safetensors", folder)
    remove_others(folder, list(files) + ["model.safetensors"])
    print(f"multilingual folders ready under {root} ({time.time() - start:.1f} s)")


if __name__ == "__main__":
    main()
