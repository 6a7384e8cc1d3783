#!/usr/bin/env python3
"""Golden token ids for the tokenizer parity test: tests/data/tokenizer/goldens.txt.gz.

  HF_HUB_OFFLINE=1 python tools/goldens/make_tokenizer_goldens.py [MODEL_DIR]

Needs the Hugging Face `tokenizers` package (and sentence-transformers for the
cross-check); the committed goldens were made with tokenizers 0.23.3,
sentence-transformers 6.2.0, transformers 5.24.0, Python 3.11.7, from the
all-MiniLM-L6-v2 tokenizer.json.

For every line of tests/data/tokenizer/corpus.txt.gz (split on "\\n" only) the reference
tokenizer loads the model's tokenizer.json with truncation at max_seq_length (256, from
sentence_bert_config.json; tokenizer.json itself says 128) and no padding, and encodes the
text after Python's str.strip(), as earlier sentence-transformers releases did (6.2 passes
the text as it is; every character str.strip() removes is White_Space or a control character
that BertNormalizer drops anyway, and the cross-check below feeds the unstripped lines to
sentence-transformers, so both agree). Output, one line per
corpus line:  "<n_truncated> <id> <id> ..."  (ids with [CLS] and [SEP]; n_truncated is how
many word pieces truncation dropped, from an encoding without truncation).
A sample is cross-checked against SentenceTransformer(...).tokenize(); the script fails on
any disagreement.
"""
import gzip
import json
import os
import random
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..')
DATA = os.path.join(ROOT, 'tests', 'data', 'tokenizer')


def main():
    model_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, 'models', 'all-MiniLM-L6-v2')
    import tokenizers
    from tokenizers import Tokenizer

    max_len = json.load(open(os.path.join(model_dir, 'sentence_bert_config.json')))['max_seq_length']
    with gzip.open(os.path.join(DATA, 'corpus.txt.gz'), 'rb') as f:
        raw = f.read().decode('utf-8')
    assert raw.endswith('\n')
    lines = raw[:-1].split('\n')
    texts = [line.strip() for line in lines]

    tok = Tokenizer.from_file(os.path.join(model_dir, 'tokenizer.json'))
    tok.no_padding()
    full = Tokenizer.from_file(os.path.join(model_dir, 'tokenizer.json'))
    full.no_padding()
    full.no_truncation()
    tok.enable_truncation(max_length=max_len, strategy='longest_first')

    out = []
    n_truncated_lines = 0
    for text in texts:
        ids = tok.encode(text).ids
        n_pieces = len(full.encode(text, add_special_tokens=False).ids)
        n_trunc = max(0, n_pieces - (max_len - 2))
        n_truncated_lines += n_trunc > 0
        assert len(ids) == min(n_pieces, max_len - 2) + 2
        out.append('%d %s' % (n_trunc, ' '.join(map(str, ids))))

    # Cross-check a sample (and every overflowing line) against sentence-transformers.
    from sentence_transformers import SentenceTransformer
    import sentence_transformers
    model = SentenceTransformer(model_dir, device='cpu')
    rng = random.Random(7)
    sample = sorted(set(rng.sample(range(len(texts)), 3000)) |
                    {i for i, o in enumerate(out) if not o.startswith('0 ')})
    checked = 0
    for start in range(0, len(sample), 256):
        idx = sample[start:start + 256]
        feats = model.tokenize([lines[i] for i in idx])
        for row, i in enumerate(idx):
            st_ids = [int(x) for x, m in zip(feats['input_ids'][row], feats['attention_mask'][row]) if m]
            want = [int(x) for x in out[i].split()[1:]]
            if st_ids != want:
                sys.exit('sentence-transformers disagrees on line %d: %r\n st:  %s\n tok: %s' %
                         (i + 1, lines[i][:80], st_ids[:40], want[:40]))
            checked += 1

    data = ('\n'.join(out) + '\n').encode('ascii')
    path = os.path.join(DATA, 'goldens.txt.gz')
    with open(path, 'wb') as f:
        with gzip.GzipFile(filename='', mode='wb', fileobj=f, mtime=0, compresslevel=9) as g:
            g.write(data)
    print('tokenizers %s, sentence-transformers %s: %d lines (%d truncated), %d cross-checked -> %s (%d bytes)' %
          (tokenizers.__version__, sentence_transformers.__version__, len(out), n_truncated_lines, checked, path,
           os.path.getsize(path)))


if __name__ == '__main__':
    main()
