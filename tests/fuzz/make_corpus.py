#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets into tests/fuzz/corpus/<target>/.

Every seed is a small valid input (or one close to valid) built here, so that the corpus
can be reviewed and regenerated: `python3 tests/fuzz/make_corpus.py`. The tiny model has
the shapes of test_support::tiny_bert (tests/support.hpp), which the targets load.
"""
import json
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")

# test_support::tiny_bert's defaults.
TINY = dict(vocab=16, hidden=8, layers=2, heads=2, intermediate=12, positions=10, types=2)

DTYPE_BYTES = {"F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I8": 1, "U8": 1, "BOOL": 1, "F64": 8}


def tiny_bert_tensors(m, prefix=""):
    h = m["hidden"]
    t = [
        ("embeddings.word_embeddings.weight", [m["vocab"], h]),
        ("embeddings.position_embeddings.weight", [m["positions"], h]),
        ("embeddings.token_type_embeddings.weight", [m["types"], h]),
        ("embeddings.LayerNorm.weight", [h]),
        ("embeddings.LayerNorm.bias", [h]),
    ]
    for i in range(m["layers"]):
        l = f"encoder.layer.{i}."
        for n in ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"):
            t += [(l + n + ".weight", [h, h]), (l + n + ".bias", [h])]
        t += [
            (l + "attention.output.LayerNorm.weight", [h]),
            (l + "attention.output.LayerNorm.bias", [h]),
            (l + "intermediate.dense.weight", [m["intermediate"], h]),
            (l + "intermediate.dense.bias", [m["intermediate"]]),
            (l + "output.dense.weight", [h, m["intermediate"]]),
            (l + "output.dense.bias", [h]),
            (l + "output.LayerNorm.weight", [h]),
            (l + "output.LayerNorm.bias", [h]),
        ]
    return [(prefix + name, shape) for name, shape in t]


def tensor_bytes(dtype, shape, seed):
    n = 1
    for d in shape:
        n *= d
    if dtype == "F32":
        return struct.pack(f"<{n}f", *[seed + 0.001 * i for i in range(n)])
    if dtype == "BF16":
        return b"".join(struct.pack("<f", seed + 0.001 * i)[2:] for i in range(n))
    if dtype == "F16":
        return struct.pack(f"<{n}e", *[seed + 0.001 * i for i in range(n)])
    return bytes(n * DTYPE_BYTES[dtype])


def safetensors_parts(tensors, metadata=None):
    """(header JSON bytes padded to a multiple of 8, data bytes) for [(name, dtype, shape)]."""
    header, data = {}, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for i, (name, dtype, shape) in enumerate(tensors):
        b = tensor_bytes(dtype, shape, 0.01 * (i + 1))
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(b)]}
        data += b
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return h, data


def safetensors_file(tensors, metadata=None):
    h, data = safetensors_parts(tensors, metadata)
    return struct.pack("<Q", len(h)) + h + data


def tiny_model_tensors(dtype="F32", prefix="", m=TINY):
    return [("embeddings.position_ids", "I64", [1, m["positions"]])] + [
        (name, dtype, shape) for name, shape in tiny_bert_tensors(m, prefix)
    ]


def config_json(m=TINY, **extra):
    c = {
        "architectures": ["BertModel"], "model_type": "bert", "hidden_act": "gelu", "layer_norm_eps": 1e-12,
        "vocab_size": m["vocab"], "hidden_size": m["hidden"], "num_hidden_layers": m["layers"],
        "num_attention_heads": m["heads"], "intermediate_size": m["intermediate"],
        "max_position_embeddings": m["positions"], "type_vocab_size": m["types"], "pad_token_id": 0,
        "position_embedding_type": "absolute",
    }
    c.update(extra)
    return json.dumps(c, indent=2).encode()


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def safetensors_seeds():
    smaller = dict(TINY, vocab=6, hidden=4, layers=1, heads=1, intermediate=4, positions=3)
    files = {
        "tiny_bert_f32": safetensors_file(tiny_model_tensors(), {"format": "pt"}),
        "tiny_bert_bf16_prefixed": safetensors_file(tiny_model_tensors("BF16", "bert.", smaller)),
        "tiny_bert_f16": safetensors_file(tiny_model_tensors("F16", "", smaller)),
        "mixed_dtypes": safetensors_file(
            [("a", "F32", [2, 3]), ("b", "F16", [3]), ("c", "BF16", [1, 1, 2]), ("e", "F32", [0, 5]),
             ("ids", "I64", [2]), ("mask", "BOOL", [4]), ("d", "F64", [1])],
            {"format": "pt", "note": "seed"}),
        "empty": safetensors_file([]),
    }
    for name, data in files.items():
        write("safetensors", name, data)
    # safetensors_header: [u16 data size][header]; the target appends the data.
    for name, (tensors, metadata) in {
        "tiny_bert_f32": (tiny_model_tensors(), {"format": "pt"}),
        "tiny_bert_bf16_prefixed": (tiny_model_tensors("BF16", "bert."), None),
        "mixed_dtypes": ([("a", "F32", [2, 3]), ("b", "F16", [3]), ("ids", "I64", [2])], {"format": "pt"}),
        "empty": ([], None),
    }.items():
        h, data = safetensors_parts(tensors, metadata)
        assert len(data) < 65536
        write("safetensors_header", name, struct.pack("<H", len(data)) + h)


def int8_weights_seeds():
    """int8 tiny models (minilm quantize's format): every linear weight I8 with an F32 scale per
    output channel; with two outlier channels per layer, and with none."""
    for name, n_outliers in (("tiny_int8_outliers", 2), ("tiny_int8", 0)):
        header, data = {"__metadata__": {"format": "pt", "minilm.quantization": "int8-per-channel"}}, b""

        def add(tensor, dtype, shape, payload):
            nonlocal data
            header[tensor] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(payload)]}
            data += payload

        linears = []
        for i, (tensor, shape) in enumerate(tiny_bert_tensors(TINY)):
            if tensor.startswith("encoder.layer.") and "LayerNorm" not in tensor and tensor.endswith(".weight"):
                linears.append((tensor, shape))
            else:
                add(tensor, "F32", shape, tensor_bytes("F32", shape, 0.01 * (i + 1)))
        for tensor, (n_out, n_in) in linears:
            layer = tensor[: -len(".weight")]
            add(tensor + "_scale", "F32", [n_out], struct.pack(f"<{n_out}f", *[0.01] * n_out))
            if n_outliers:
                add(layer + ".outlier_index", "I32", [n_outliers], struct.pack(f"<{n_outliers}i", 1, n_in - 2))
                add(layer + ".outlier_weight", "F32", [n_out, n_outliers],
                    tensor_bytes("F32", [n_out, n_outliers], 0.5))
        for tensor, (n_out, n_in) in linears:
            add(tensor, "I8", [n_out, n_in], bytes((i * 37) % 255 for i in range(n_out * n_in)))
        h = json.dumps(header, separators=(",", ":")).encode()
        h += b" " * (-len(h) % 8)
        write("int8_weights", name, struct.pack("<Q", len(h)) + h + data)


def model_config_seeds():
    # The first byte picks the file: 0 config.json, 1 modules.json, 2 1_Pooling/config.json,
    # 3 sentence_bert_config.json.
    write("model_config", "config_tiny", b"\x00" + config_json())
    write("model_config", "config_minilm_l6",
          b"\x00" + config_json(dict(vocab=30522, hidden=384, layers=6, heads=12, intermediate=1536, positions=512,
                                     types=2), gradient_checkpointing=False, hidden_dropout_prob=0.1,
                                transformers_version="4.8.2", use_cache=True))
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ]
    write("model_config", "modules", b"\x01" + json.dumps(modules, indent=2).encode())
    write("model_config", "modules_without_normalize", b"\x01" + json.dumps(modules[:2]).encode())
    pooling = {"word_embedding_dimension": TINY["hidden"], "pooling_mode_cls_token": False,
               "pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": False,
               "pooling_mode_mean_sqrt_len_tokens": False}
    write("model_config", "pooling_mean", b"\x02" + json.dumps(pooling, indent=2).encode())
    write("model_config", "pooling_cls", b"\x02" + json.dumps(
        {"word_embedding_dimension": TINY["hidden"], "pooling_mode_cls_token": True}).encode())
    write("model_config", "sentence_bert", b"\x03" + json.dumps({"max_seq_length": 8, "do_lower_case": False}).encode())


TINY_VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "world", ",", "!", "the", "##s", "un",
              "##aff", "##able", "\u4e2d", "e"]


def tokenizer_json(vocab=TINY_VOCAB, **model_overrides):
    """A tokenizer.json in the layout Hugging Face's BertTokenizerFast saves."""
    special = [(t, vocab.index(t)) for t in ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]") if t in vocab]
    added = [{"id": i, "special": True, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False} for t, i in special]
    model = {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
             "max_input_chars_per_word": 100, "vocab": {t: i for i, t in enumerate(vocab)}}
    model.update(model_overrides)
    cls, sep = vocab.index("[CLS]"), vocab.index("[SEP]")
    t = {
        "version": "1.0", "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                       "strip_accents": None, "lowercase": True},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
            "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [cls], "tokens": ["[CLS]"]},
                               "[SEP]": {"id": "[SEP]", "ids": [sep], "tokens": ["[SEP]"]}},
        },
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": model,
    }
    return json.dumps(t, indent=1, ensure_ascii=False).encode()


def tokenizer_seeds():
    write("tokenizer_json", "tiny", tokenizer_json())
    write("tokenizer_json", "tiny_padding", tokenizer_json().replace(
        b'"padding": null', b'"padding": {"strategy": {"Fixed": 8}, "direction": "Right", "pad_to_multiple_of": null, '
                            b'"pad_id": 0, "pad_type_id": 0, "pad_token": "[PAD]"}'))
    write("tokenizer_json", "tiny_reordered_vocab", tokenizer_json(TINY_VOCAB[5:] + TINY_VOCAB[:5]))
    write("vocab_txt", "tiny", "\n".join(TINY_VOCAB).encode() + b"\n")
    write("vocab_txt", "tiny_crlf_no_final_newline", "\r\n".join(TINY_VOCAB).encode())
    write("vocab_txt", "tiny_bert_folder", b"[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n" +
          b"".join(f"{chr(ord('a') + (i - 5) % 26)}{i}\n".encode() for i in range(5, 16)))
    # tokenize: [options byte][text]; bit 0: replace invalid UTF-8, bit 1: max_length 8.
    texts = {
        "plain": b"\x00Hello, world! How are you today?",
        "batch": b"\x02first line\nsecond, longer line with more words than eight\n\n   \nlast",
        "accents_cjk": "\x00Caf\u00e9 na\u00efve \u00c5ngstr\u00f6m \u4e2d\u6587\u5b57 \u0645\u0631\u062d\u0628\u0627".encode(),
        "combining": "\x01e\u0301 a\u0308 \u1e9b\u0323 \ufb01 \u2160".encode(),
        "special_tokens": b"\x00[CLS] hello [SEP] [MASK] [unused0] [UNK]",
        "invalid_utf8": b"\x01a\xffb \xc3( \xed\xa0\x80 \xf4\x90\x80\x80 \xc0\x80 end",
        "control_nul": b"\x03tab\there\x00nul\x01soh\r\ncrlf\x7f\xc2\x85nel",
        "emoji_long_word": ("\x00\U0001f600\U0001f44d\U0001f3fd " + "supercalifragilistic" * 6).encode(),
        "whitespace": "\x00 \t\u00a0\u3000\u2028\u200b ".encode(),
    }
    for name, data in texts.items():
        write("tokenize", name, data)
    for name, data in texts.items():
        write("encode", name, data[1:])


def protobuf_field(number, wire, payload):
    """One protobuf field: key varint, then the payload (already a varint, bytes or fixed32)."""
    def varint(n):
        n &= (1 << 64) - 1
        out = bytearray()
        while True:
            out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
            n >>= 7
            if not n:
                return bytes(out)
    if wire == 0:
        return varint(number << 3) + varint(payload)
    if wire == 2:
        return varint(number << 3 | 2) + varint(len(payload)) + payload
    return varint(number << 3 | 5) + struct.pack("<f", payload)


def unigram_seeds():
    """fuzz_unigram: [mode][u16 file size][file][text]; mode 0 tokenizer.json as written, 1 the same
    as XLMRobertaTokenizer, 2 sentencepiece.bpe.model; bit 2 truncates at 8 tokens."""
    vocab = [["<s>", 0.0], ["<pad>", 0.0], ["</s>", 0.0], ["<unk>", 0.0], ["\u2581a", -1.0], ["a", -2.0], ["b", -2.5],
             ["\u2581", -3.0], ["ab", -1.5], ["\u2581\u4e2d", -4.0], ["\u4e2d", -5.0], ["<mask>", 0.0]]
    special = lambda i, c, lstrip=False: {"id": i, "content": c, "single_word": False, "lstrip": lstrip, "rstrip": False,
                                          "normalized": False, "special": True}
    t = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [special(0, "<s>"), special(2, "</s>"), special(3, "<unk>"), special(11, "<mask>", True)],
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Replace", "pattern": {"String": "``"}, "content": "\""},
            {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}]},
        "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True},
        "post_processor": {"type": "TemplateProcessing",
                           "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                                      {"SpecialToken": {"id": "</s>", "type_id": 0}}],
                           "pair": [], "special_tokens": {"<s>": {"id": "<s>", "ids": [0], "tokens": ["<s>"]},
                                                          "</s>": {"id": "</s>", "ids": [2], "tokens": ["</s>"]}}},
        "decoder": None,
        "model": {"type": "Unigram", "unk_id": 3, "vocab": vocab},
    }
    files = {"json": json.dumps(t, ensure_ascii=True).encode()}
    t["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
        {"type": "WhitespaceSplit"}, {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "never", "split": False}]}
    files["json_whitespace_split"] = json.dumps(t, ensure_ascii=True).encode()
    pieces = [("<unk>", 0.0, 2), ("<s>", 0.0, 3), ("</s>", 0.0, 3)] + [(p, s, 1) for p, s in vocab[4:-1]] + [("<x>", -9.0, 4)]
    model = b"".join(protobuf_field(1, 2, protobuf_field(1, 2, p.encode()) + protobuf_field(2, 5, s) + protobuf_field(3, 0, k))
                     for p, s, k in pieces)
    model += protobuf_field(2, 2, protobuf_field(3, 0, 1) + protobuf_field(40, 0, 0) + protobuf_field(43, 0, -1))
    model += protobuf_field(3, 2, protobuf_field(1, 2, b"identity") + protobuf_field(3, 0, 1))
    texts = [b"a b  ab", "a <mask>b \u4e2d\u4e2d c``d".encode(), b"\xffa\xc3 <s></s>\n\nab ab ab ab ab ab ab ab",
             "\u3000a\u00a0b\tc\u2581<x>".encode()]
    for name, mode, file in [("json", 0, files["json"]), ("json_whitespace_split", 0, files["json_whitespace_split"]),
                             ("json_xlm_roberta", 1, files["json"]), ("model", 2, model)]:
        for i, text in enumerate(texts):
            m = mode | (4 if i == 2 else 0)
            write("unigram", "%s_%d" % (name, i), bytes([m]) + struct.pack("<H", len(file)) + file + text)


def main():
    safetensors_seeds()
    int8_weights_seeds()
    model_config_seeds()
    tokenizer_seeds()
    unigram_seeds()
    return 0


if __name__ == "__main__":
    sys.exit(main())
