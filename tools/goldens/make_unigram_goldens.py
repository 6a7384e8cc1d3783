#!/usr/bin/env python3
"""Golden token ids for the XLM-R Unigram tokenizer tests: tests/data/multilingual/.

  HF_HUB_OFFLINE=1 /root/venv/bin/python tools/goldens/make_unigram_goldens.py [MODELS_DIR]

MODELS_DIR (default models/) holds the folders tools/setup/fetch_multilingual.sh builds:
random-bert-xlmr, random-xlm-roberta (both with the multilingual-e5-small tokenizer.json) and
random-xlm-roberta-spm (sentencepiece.bpe.model instead). Needs transformers,
sentence-transformers and tokenizers; the committed files were made with tokenizers 0.23.3,
transformers 5.24.0, sentence-transformers 6.2.0, Python 3.11.

Writes:
  unigram_edge_cases.json   edge cases generated here (below): {"texts": [...], "invalid_utf8_hex": [...]}
  unigram_goldens.txt.gz    what sentence-transformers gives for these folders: transformers 5
                            loads them as XLMRobertaTokenizer, which rebuilds the pipeline from the
                            vocabulary and the charsmap (Precompiled, WhitespaceSplit, Metaspace).
  unigram_tokenizer_json_goldens.txt.gz
                            tokenizer.json as written (Precompiled, Replace " {2,}", Metaspace),
                            what tokenizers' Tokenizer.from_file gives and what
                            sentence-transformers gives when tokenizer_config.json names
                            PreTrainedTokenizerFast.
  unigram_variants.json, unigram_variant_goldens.txt.gz
                            tokenizer.json edited (VARIANTS below: Metaspace prepend_scheme
                            "first" / "never", split false, WhitespaceSplit, Replace with a
                            string, Strip, added tokens with lstrip / rstrip / normalized),
                            taken as written by tokenizers, over the first 3000 corpus lines, the
                            edge cases and the invalid UTF-8; one block of lines per variant.
One line per text: "<n_truncated> <id> <id> ...", ids with <s> and </s>, truncated at 512 tokens
(max_seq_length of the folders) like sentence-transformers; n_truncated counts the pieces
truncation dropped. The texts are every line of tests/data/tokenizer/corpus.txt.gz (split on
"\\n" only, passed as they are: sentence-transformers 6.2 does not strip them), then the edge
cases' texts, then the invalid_utf8_hex byte strings decoded with errors="replace" (the
tokenizer's invalid_utf8::replace).

Checks, each fatal on any disagreement:
  - every text through SentenceTransformer(random-bert-xlmr).tokenize() equals the goldens;
  - AutoTokenizer on random-xlm-roberta and on random-xlm-roberta-spm gives the same ids, so one
    golden file serves all three folders;
  - the tokenizer.json goldens equal SentenceTransformer().tokenize() on a copy of
    random-bert-xlmr whose tokenizer_config.json names PreTrainedTokenizerFast.
"""
import gzip
import json
import os
import random
import shutil
import sys
import tempfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..')
CORPUS = os.path.join(ROOT, 'tests', 'data', 'tokenizer', 'corpus.txt.gz')
OUT = os.path.join(ROOT, 'tests', 'data', 'multilingual')
MAX_LEN = 512

SPECIALS = ['<s>', '</s>', '<pad>', '<unk>', '<mask>']


def edge_cases():
    """The edge cases, deterministic: listed ones, then random mixes of the interesting characters."""
    t = []
    # Special tokens written in the text: alone, adjacent, inside words, with spaces around.
    t += SPECIALS
    t += ['<s></s>', '<mask><mask>', '<s><pad></s><unk><mask>', '<unk><unk>', '<unk> <unk>']
    t += ['hel<mask>lo', 'a<s>b', 'wo</s>rd', 'x<pad>y', '<unk>known']
    t += [' <mask> ', 'a <mask> b', 'a  <mask>  b', 'a\t<mask>\nb', '<s> hello </s>', 'hello <unk> world',
          'The capital of France is <mask>.', '<mask> is a word', 'a\u0085<mask>\u0085b', 'a\u3000<mask>\u3000b']
    # Near misses and forms that normalize into a special token.
    t += ['<s', 's>', '<<s>>', '</s >', '< s>', '<MASK>', '<mask', 'mask>', '＜s＞', '＜mask＞', 'x＜mask＞',
          '＜unk＞＜unk＞', 'a＜/s＞b', '﹤s﹥']
    # Runs of spaces, tabs and newlines; leading and trailing White_Space; Unicode spaces.
    t += ['a  b', 'a   b    c', 'a\tb', 'a\nb', 'a\r\nb', 'a\rb', '\t\tx', 'x\n\n', '  leading', 'trailing  ',
          ' ', '   ', '\t', '\n', '\r\n', 'a \t \n b', 'a\x0bb', 'a\x0cb', 'a\x1cb\x1fc']
    for cp in [0x85, 0xA0, 0x1680, 0x180E, 0x2000, 0x2003, 0x2007, 0x200A, 0x200B, 0x200C, 0x200D, 0x2028,
               0x2029, 0x202F, 0x205F, 0x2060, 0x3000, 0xFEFF]:
        c = chr(cp)
        t += ['a%sb' % c, '%sx%s' % (c, c), 'a %s b' % c, c]
    # Full-width and compatibility forms.
    t += ['ＡＢＣ１２３', 'ｈｅｌｌｏ　ｗｏｒｌｄ', 'ﬁﬂ ﬃ', '①②③', '㍿', '™', 'Ⅻ', 'ｶﾀｶﾅ ﾊﾟﾋﾟ', 'x² y₃', '½ ¼', 'Å Å',
          '℃ ℉', 'ﾟ', '…', '‥', '〜～', '！？', '＂quoted＂', '＿', '‐‑‒–—―']
    # Combining marks.
    t += ['e\u0301', 'cafe\u0301', 'a\u0308\u0304', '\u0301start', 'Z\u0351\u0352\u0353\u0354', 'n\u0303 ñ',
          'x' + '\u0300' * 20, 'क्षत्रिय', 'ক্ষ', '\u0e01\u0e33', 'ぱ か\u309a', '각 \u1100\u1161\u11a8']
    # Emoji sequences.
    t += ['👍', '👍🏽', '👨‍👩‍👧‍👦', '🇫🇷🇩🇪', '🇺', '❤️', '❤\ufe0e', 'emoji😀inside', '😀😀😀', '🏳️‍🌈', '#️⃣',
          '👩🏽‍💻 codes']
    # Scripts without spaces, and others.
    t += ['ภาษาไทยเป็นภาษาที่ไม่มีช่องว่างระหว่างคำ', '我爱北京天安门', '東京都に住んでいます', 'こんにちは世界',
          '한국어 텍스트', '中文English混合', 'مرحبا بالعالم', 'שלום עולם', 'नमस्ते दुनिया', 'Ελληνικά',
          'Привет, мир!', 'ગુજરાતી', 'ትግርኛ', 'ᏣᎳᎩ', '𠀋𠂢𠂤', '𝐀𝐁𝐂 𝒜', 'Ꙭ', 'ᚠᚢᚦ']
    # Long words (100+ characters), and the empty text.
    t += ['a' * 150, 'supercalifragilistic' * 8, '日本' * 60, 'x' * 1000, 'ab' * 300 + ' end', '']
    # Texts past 512 pieces.
    t += ['hello world ' * 400, '中' * 2000, ' '.join('word%d' % i for i in range(700)), '<mask> ' * 600,
          'Привет мир ' * 300, '🙂' * 700]
    # Control, format, private use, unassigned, noncharacters, the replacement character.
    t += ['\x00', 'a\x00b', '\x7f', 'a\x01\x02b', '\ue000', '\U0010fffd', '\U000e0001', '\U000e0041', '\uffff',
          '\ufffd', 'a\ufffdb', '\u0378', 'a\u00adb', 'a\u061cb', 'a\u2066b\u2069']
    # The metaspace character itself.
    t += ['▁', 'a ▁ b', '▁▁x', 'x▁', '▁<mask>▁']
    # Prompts as the folders define them.
    t += ['query: how much protein should a female eat', 'passage: 中文段落。', 'query:', 'query: <mask>']

    # Random mixes of the characters above, seeded.
    rng = random.Random(20240601)
    alphabet = (list('abcXYZ019.,!?-\'"()') + [' '] * 6 + ['  ', '\t', '\n', '\u00a0', '\u3000', '\u0085', '\u200b'] +
                SPECIALS + ['＜s＞', '▁', 'é', 'e\u0301', '\u0301', 'ß', 'İ', 'ﬁ', 'Ａ', '１', '中', '文', 'の', 'ภ', 'า',
                            'ษ', '\u0e33', 'क', '्', 'ष', '👍', '🏽', '\u200d', '🇫', '🇷', '\ufe0f', '\x00', '\ufffd',
                            '\ue000', 'ㄱ', '\u1100', '\u1161', '\u11a8', '각', 'ا', 'ل', '\u064b'])
    for n in range(400):
        length = rng.choice([1, 2, 3, 5, 8, 13, 30, 80])
        t.append(''.join(rng.choice(alphabet) for _ in range(length)))
    invalid = ['ff', '61ff62', 'c3', '61c3', 'e282', 'e282ac', 'e28261', 'f09f98', 'f09f9880', 'eda080', 'c0af',
               'f4908080', '80', 'bfbf61', '3c733eff3c2f733e', 'e6b7b7ff', 'ffe6b7b7', '20ff20', 'f0', 'fe ff'.replace(' ', '')]
    return t, invalid


# tokenizer.json variants, as (from, to) replacements in the file's text, each applied exactly
# once: the settings of the Metaspace pre-tokenizer, normalizers and added-token flags that the
# multilingual-e5-small file does not use, taken as written.
PRE = '"pre_tokenizer": {\n    "type": "Metaspace",\n    "replacement": "\u2581",\n    "add_prefix_space": true\n  }'
REPLACE = ('{\n        "type": "Replace",\n        "pattern": {\n          "Regex": " {2,}"\n        },\n'
           '        "content": " "\n      }')
MASK = ('"content": "<mask>",\n      "single_word": false,\n      "lstrip": false,\n      "rstrip": false,\n'
        '      "normalized": false,')
S = ('"content": "<s>",\n      "single_word": false,\n      "lstrip": false,\n      "rstrip": false,\n'
     '      "normalized": false,')


def metaspace(scheme, split):
    return ('"pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "%s", "split": %s}'
            % (scheme, 'true' if split else 'false'))


def added(content, lstrip, rstrip, normalized):
    b = lambda v: 'true' if v else 'false'
    return ('"content": "%s", "single_word": false, "lstrip": %s, "rstrip": %s, "normalized": %s,'
            % (content, b(lstrip), b(rstrip), b(normalized)))


VARIANTS = [
    ('prepend_first', [(PRE, metaspace('first', True))]),
    ('prepend_never_no_split', [(PRE, metaspace('never', False))]),
    ('whitespace_split', [(PRE, '"pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "WhitespaceSplit"}, '
                                '{"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": true}]}')]),
    ('replace_strip_normalized_mask', [
        (REPLACE, '{"type": "Replace", "pattern": {"String": "``"}, "content": "\\""}, '
                  '{"type": "Replace", "pattern": {"Regex": "a{3,}"}, "content": "A"}, '
                  '{"type": "Strip", "strip_left": true, "strip_right": true}, ' + REPLACE),
        (MASK, added('<mask>', True, True, True))]),
    ('stripping_tokens', [(MASK, added('<mask>', True, False, False)), (S, added('<s>', False, True, False))]),
]
VARIANT_CORPUS_LINES = 3000


def read_corpus():
    with gzip.open(CORPUS, 'rb') as f:
        raw = f.read().decode('utf-8')
    assert raw.endswith('\n')
    return raw[:-1].split('\n')


def goldens_of(tok, texts):
    """'<n_truncated> <ids...>' per text from a transformers tokenizer, as sentence-transformers calls it."""
    full = tok(texts, add_special_tokens=False, truncation=False)['input_ids']
    ids = tok(texts, truncation='longest_first', max_length=MAX_LEN)['input_ids']
    out = []
    for f, i in zip(full, ids):
        n_trunc = max(0, len(f) - (MAX_LEN - 2))
        assert len(i) == min(len(f), MAX_LEN - 2) + 2
        out.append('%d %s' % (n_trunc, ' '.join(map(str, i))))
    return out


def tokenizers_goldens(path, texts):
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(path)
    tok.no_padding()
    tok.no_truncation()
    full = [e.ids for e in tok.encode_batch(texts, add_special_tokens=False)]
    tok.enable_truncation(max_length=MAX_LEN, strategy='longest_first')
    ids = [e.ids for e in tok.encode_batch(texts)]
    return ['%d %s' % (max(0, len(f) - (MAX_LEN - 2)), ' '.join(map(str, i))) for f, i in zip(full, ids)]


def st_check(folder, texts, want, what):
    from sentence_transformers import SentenceTransformer
    model = SentenceTransformer(folder, device='cpu')
    assert model.max_seq_length == MAX_LEN, model.max_seq_length
    for start in range(0, len(texts), 512):
        batch = texts[start:start + 512]
        feats = model.tokenize(batch)
        for row, text in enumerate(batch):
            got = [int(x) for x, m in zip(feats['input_ids'][row], feats['attention_mask'][row]) if m]
            w = [int(x) for x in want[start + row].split()[1:]]
            if got != w:
                sys.exit('%s: sentence-transformers disagrees on text %d %r\n st:     %s\n golden: %s' %
                         (what, start + row, text[:80], got[:40], w[:40]))
    return len(texts)


def write_gz(name, lines):
    path = os.path.join(OUT, name)
    with open(path, 'wb') as f:
        with gzip.GzipFile(filename='', mode='wb', fileobj=f, mtime=0, compresslevel=9) as g:
            g.write(('\n'.join(lines) + '\n').encode('ascii'))
    return path


def main():
    models = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, 'models')
    import sentence_transformers
    import tokenizers
    import transformers
    from transformers import AutoTokenizer

    bert_xlmr = os.path.join(models, 'random-bert-xlmr')
    cases, invalid = edge_cases()
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, 'unigram_edge_cases.json'), 'w', encoding='ascii') as f:
        json.dump({'texts': cases, 'invalid_utf8_hex': invalid}, f, ensure_ascii=True, indent=0)
        f.write('\n')
    corpus = read_corpus()
    texts = corpus + cases + [bytes.fromhex(h).decode('utf-8', errors='replace') for h in invalid]

    # The folders as transformers 5 loads them (XLMRobertaTokenizer).
    tok = AutoTokenizer.from_pretrained(bert_xlmr)
    assert type(tok).__name__ == 'XLMRobertaTokenizer', type(tok).__name__
    gold = goldens_of(tok, texts)
    for other in ['random-xlm-roberta', 'random-xlm-roberta-spm']:
        t = AutoTokenizer.from_pretrained(os.path.join(models, other))
        g = goldens_of(t, texts)
        diff = [i for i in range(len(texts)) if g[i] != gold[i]]
        if diff:
            sys.exit('%s differs from random-bert-xlmr on %d texts, first %d: %r' % (other, len(diff), diff[0],
                                                                                     texts[diff[0]][:80]))
    n_st = st_check(bert_xlmr, texts, gold, 'random-bert-xlmr')

    # tokenizer.json as written, and the same through sentence-transformers with PreTrainedTokenizerFast.
    as_written = tokenizers_goldens(os.path.join(bert_xlmr, 'tokenizer.json'), texts)
    with tempfile.TemporaryDirectory() as tmp:
        folder = os.path.join(tmp, 'fast')
        os.makedirs(folder)
        for name in os.listdir(bert_xlmr):
            src = os.path.join(bert_xlmr, name)
            if name != 'tokenizer_config.json':
                os.symlink(os.path.abspath(src), os.path.join(folder, name))
        config = json.load(open(os.path.join(bert_xlmr, 'tokenizer_config.json')))
        config['tokenizer_class'] = 'PreTrainedTokenizerFast'
        json.dump(config, open(os.path.join(folder, 'tokenizer_config.json'), 'w'))
        cfg = json.load(open(os.path.join(bert_xlmr, 'config.json')))
        cfg.pop('tokenizer_class', None)
        os.remove(os.path.join(folder, 'config.json'))
        json.dump(cfg, open(os.path.join(folder, 'config.json'), 'w'))
        n_st_json = st_check(folder, texts, as_written, 'PreTrainedTokenizerFast copy')

    # The variants, over the first corpus lines, the edge cases and the invalid UTF-8.
    variant_texts = corpus[:VARIANT_CORPUS_LINES] + texts[len(corpus):]
    source = open(os.path.join(bert_xlmr, 'tokenizer.json'), encoding='utf-8').read()
    variant_lines = []
    for name, replacements in VARIANTS:
        text = source
        for a, b in replacements:
            assert text.count(a) == 1, (name, a)
            text = text.replace(a, b)
        with tempfile.NamedTemporaryFile('w', suffix='.json', encoding='utf-8') as f:
            f.write(text)
            f.flush()
            variant_lines += tokenizers_goldens(f.name, variant_texts)
    with open(os.path.join(OUT, 'unigram_variants.json'), 'w', encoding='ascii') as f:
        json.dump({'corpus_lines': VARIANT_CORPUS_LINES,
                   'variants': [{'name': n, 'replacements': r} for n, r in VARIANTS]}, f, ensure_ascii=True, indent=1)
        f.write('\n')
    p3 = write_gz('unigram_variant_goldens.txt.gz', variant_lines)

    p1 = write_gz('unigram_goldens.txt.gz', gold)
    p2 = write_gz('unigram_tokenizer_json_goldens.txt.gz', as_written)
    n_diff = sum(a != b for a, b in zip(gold, as_written))
    print('tokenizers %s, transformers %s, sentence-transformers %s: %d texts (%d corpus lines, %d edge cases, '
          '%d invalid UTF-8), %d truncated' % (tokenizers.__version__, transformers.__version__,
                                              sentence_transformers.__version__, len(texts), len(corpus), len(cases),
                                              len(invalid), sum(not g.startswith('0 ') for g in gold)))
    print('XLMRobertaTokenizer goldens: the three folders agree; sentence-transformers checked on %d -> %s (%d bytes)'
          % (n_st, p1, os.path.getsize(p1)))
    print('tokenizer.json goldens: sentence-transformers checked on %d -> %s (%d bytes); %d texts differ between the two'
          % (n_st_json, p2, os.path.getsize(p2), n_diff))
    print('%d tokenizer.json variants (%s) over %d texts each -> %s (%d bytes)'
          % (len(VARIANTS), ', '.join(n for n, _ in VARIANTS), len(variant_texts), p3, os.path.getsize(p3)))


if __name__ == '__main__':
    main()
