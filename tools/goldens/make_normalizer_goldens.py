#!/usr/bin/env python3
"""Goldens for the precompiled normalizer test: tests/data/multilingual/normalizer_goldens.json.gz.

  /root/venv/bin/python tools/goldens/make_normalizer_goldens.py [TOKENIZER_JSON]

TOKENIZER_JSON defaults to models/multilingual-e5-small-tokenizer/tokenizer.json (placed by
tools/setup/fetch_multilingual.sh). Needs the Hugging Face `tokenizers` package; the committed
goldens were made with tokenizers 0.23.3 and Python 3.11 from the multilingual-e5-small
tokenizer.json (sha256 0b44a9d7...4c39).

The reference is the first normalizer of the file's Sequence, the "Precompiled" one, built
with tokenizers.normalizers.Precompiled from the base64-decoded precompiled_charsmap; each
text's expected output is its normalize_str() (checked, on every 50th text, against the
file's whole normalizer, which adds a Replace of " {2,}" by " "). The texts: every line of
tests/data/tokenizer/corpus.txt.gz (split on "\\n" only), then generated cases (see
edge_cases()): Unicode spaces, line breaks, full-width and compatibility characters,
combining marks, Hangul jamo, emoji sequences, Thai, Devanagari, Arabic prepended
concatenation marks, controls, every code point of the first two planes one by one (between
line feeds), each BMP code point after a mapped character (U+00A0), after "a" and before a
combining mark (U+0301) -- which shows where the reference draws grapheme cluster
boundaries --, Indic conjuncts ending in a consonant the charsmap maps (GB9c), with every
code point as the first consonant, as the virama and between virama and consonant, and
random code point sequences (seed 29). Probes are grouped several to a text.

The boundary probes and random sequences use only code points assigned in the Unicode
Character Database of this machine (/usr/share/unicode, 15.0 on Debian 12), the data the
library is built from, and leave out the three whose properties the reference's Unicode
17.0 changed in ways the 15.0 files cannot tell (CHANGED_AFTER_15): the reference's
segmentation knows marks assigned since (U+0897, U+1ACF..U+1AEB, ...), which minilm
cannot (src/grapheme.cpp, tools/build/gen_grapheme_tables.py).

Output: a gzip-compressed JSON list of [input, expected] pairs (written with mtime 0, so the
same inputs give the same bytes).
"""
import base64
import gzip
import json
import os
import random
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..')
CORPUS = os.path.join(ROOT, 'tests', 'data', 'tokenizer', 'corpus.txt.gz')
OUT = os.path.join(ROOT, 'tests', 'data', 'multilingual', 'normalizer_goldens.json.gz')
UNICODE = '/usr/share/unicode'
# U+1171E AHOM CONSONANT SIGN MEDIAL RA is a spacing mark in the reference, an Extend
# character in 15.0; U+1B0B and U+1B0C (BALINESE LETTER RA REPA, RA REPA TEDUNG) are
# conjunct consonants in the reference, independent vowels in 15.0.
CHANGED_AFTER_15 = {0x1171E, 0x1B0B, 0x1B0C}


def scalar_values(lo, hi):
    return [c for c in range(lo, hi + 1) if not 0xD800 <= c <= 0xDFFF]


def grouped(items, n, sep=' '):
    """Joins items into texts of n items each."""
    return [sep.join(items[i:i + n]) for i in range(0, len(items), n)]


def categories():
    """General category of every code point UnicodeData.txt lists (ranges expanded)."""
    cat = {}
    first = None
    with open(os.path.join(UNICODE, 'UnicodeData.txt'), encoding='utf-8') as f:
        for line in f:
            fld = line.split(';')
            cp = int(fld[0], 16)
            if fld[1].endswith(', First>'):
                first = cp
                continue
            for c in (range(first, cp + 1) if fld[1].endswith(', Last>') else (cp,)):
                cat[c] = fld[2]
    return cat


def ranges(name):
    """(first, last, value) for every data line of a UCD property file."""
    with open(os.path.join(UNICODE, name), encoding='utf-8') as f:
        for line in f:
            line = line.split('#')[0].strip()
            if line:
                fields = [x.strip() for x in line.split(';')]
                a, _, b = fields[0].partition('..')
                yield int(a, 16), int(b or a, 16), fields[1]


def assigned():
    """Code points DerivedAge.txt lists (assigned in the local Unicode version), but for
    CHANGED_AFTER_15."""
    out = set()
    for a, b, _ in ranges('DerivedAge.txt'):
        out.update(range(a, b + 1))
    return out - CHANGED_AFTER_15


def edge_cases():
    cat = categories()
    known = assigned()
    texts = []
    add = texts.append

    # Spaces: every Zs and White_Space character, and the invisible ones the charsmap maps.
    spaces = [c for c, g in cat.items() if g in ('Zs', 'Zl', 'Zp')]
    spaces += [0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x85, 0x180E, 0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF]
    for c in sorted(set(spaces)):
        s = chr(c)
        for t in (s, 'a' + s + 'b', s + s, ' ' + s + ' ', s + '\u0301', 'x' + s * 3 + 'y'):
            add(t)
    # Line breaks and tabs.
    for t in ('\r\n', '\n\r', '\r\r\n', 'a\r\nb', 'a\rb', 'a\nb', 'a\tb', '\t\t', 'line1\r\nline2\r\n',
              '\r\n\u0301', '\r\u0301', '\n\u0308', '\t\u0301', ' \u0301', '\u00a0\r\n', 'a\r\n\r\nb',
              '\r\n\r', 'x\x0b\x0cy', '\x85\u2028\u2029'):
        add(t)
    # Full-width and half-width forms, alone and in words.
    fw = [chr(c) for c in range(0xFF01, 0xFFEF) if cat.get(c)]
    texts += fw
    add(''.join(fw))
    add('ＡＢＣ ｄｅｆ １２３！？')
    add('ｶﾞｷﾞｸﾞ ﾊﾟﾋﾟ ｱｲｳ')
    # Compatibility characters.
    compat = ['ﬁ', 'ﬂ', 'ﬀ', 'ﬃ', 'ﬄ', 'ﬅ', 'ﬆ', '㎞', '㎏', '㏄', '①', '⑳', '㉑', '⒜', '⓪', '¼', '½', '¾', '⅓',
              '⅞', '¹', '²', '³', '⁴', '⁰', '₀', '₉', 'ⁿ', 'ª', 'º', 'µ', 'Ω', 'Å', 'K', 'ℌ', 'ℕ', '™', '℃',
              '℉', '№', '…', '‥', '′', '″', '‴', 'Ⅻ', 'ⅻ', '㍿', '㋿', '㈱', '㊙', '⼀', '豈', '𝐀', '𝔸', '𝟘',
              'ǆ', 'Ǳ', 'ĳ', 'ŉ', 'ſ', 'ẛ', '\u0344', '\u0340', '\u0374', ';', '·', 'Ά', '\u1fee']
    for s in compat:
        add(s)
        add('x' + s + 'y')
        add(s + '\u0301')
        add(s + '\u0301\u0302')
    add(' '.join(compat))
    # Combining marks after ASCII and other letters: 1, 2, 3 marks, precomposed + extra mark.
    bases = ['a', 'e', 'o', 'A', 'n', 'N', 'i', 'u', 'y', 'z', '1', ' ', '-', 'ü', 'é', 'ø', 'ß', 'ñ', 'Å',
             'Ж', 'й', 'α', 'ω', 'ά', 'ﬁ', 'Ａ', '①', '\u00a0', 'ก', 'क', '가', '日', '😀', '\u0600']
    marks = [['\u0301'], ['\u0308'], ['\u0300'], ['\u0327'], ['\u0303'], ['\u0323'], ['\u0338'],
             ['\u0301', '\u0308'], ['\u0308', '\u0301'], ['\u0323', '\u0302'], ['\u0302', '\u0323'],
             ['\u0301', '\u0301'], ['\u0301', '\u0301', '\u0301'], ['\u0327', '\u0301', '\u0308'],
             ['\u20dd'], ['\u0345'], ['\u0951'], ['\u093c'], ['\u3099'], ['\u302a'], ['\ufe0f'], ['\u200d'],
             ['\U0001d165'], ['\U000e0100'], ['\u034f']]
    for b in bases:
        for m in marks:
            add(b + ''.join(m))
        add('x' + b + '\u0301' + 'y')
    for t in ('e\u0301', 'é\u0301', 'ñ\u0303', 'Å\u030a', 'ǖ\u0301', 'ệ', 'e\u0323\u0302', 'e\u0302\u0323',
              'Ä\u0304', 'o\u031b\u0301', 'ő\u0301', 'Ω\u0345\u0301', 'ω\u0345\u0313\u0342', 'ϓ', 'ϒ\u0301'):
        add(t)
        add(t + t)
    # Hangul: jamo sequences, syllables, syllable + trailing jamo, compatibility jamo.
    L, V, T = '\u1100', '\u1161', '\u11a8'
    for t in (L + V, L + V + T, '가' + T, '각' + T, L + L + V, V + V, T + T, L + '가', '한국어', '\u1112\u1161\u11ab',
              '\u1100\u1161\u11a8\u1100', '\u115f\u1160', '\u3131\u314f', 'ㄱㄴㄷ', 'ﾡﾢ', '\ua960\u1161',
              '\ud7b0', L + V + '\u0301', '가\u0301', '\u1100\u0301', '\u3164', '\uffa0', '\u115f', '\u1160'):
        add(t)
    # Emoji: skin tones, ZWJ sequences, flags, keycaps, tags, variation selectors.
    for t in ('👍', '👍🏽', '👍🏿👍🏻', '👨‍👩‍👧‍👦', '👩🏽‍💻', '🧑‍🤝‍🧑', '🏳️‍🌈', '❤️', '❤︎', '❤\u200d🔥',
              '🇫🇷', '🇫🇷🇩🇪', '🇫🇷🇩', '🇺', '1\ufe0f\u20e3', '#\u20e3', '*\ufe0f\u20e3', '©', '©\ufe0f', '®\ufe0f',
              '™\ufe0f', '🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f', '😀\u200d', '\u200d😀',
              'a\u200d😀', '😀\u0301', '☺', '☺\ufe0f', '✌🏼', '🫠', '\U0001faf8\U0001f3fb', '🤌', '🦀' * 5,
              'I ❤️ 🇯🇵 and 👨🏾\u200d🚀!'):
        add(t)
    # Thai and Lao (SARA AM is a spacing mark with a compatibility decomposition), Devanagari
    # conjuncts (nukta forms are composition exclusions), Bengali, Tamil.
    for t in ('ภาษาไทย', 'น้ำ', 'ทำ', 'กำ', 'ก\u0e33', '\u0e33', '\u0e4d\u0e32', 'ເຂົ້າ', 'ນໍ້າ', '\u0eb3', 'ຄຳ',
              'क्ष', 'त्र', 'ज्ञ', 'श्र', 'क्\u200dष', 'क्\u200cष', 'क़', '\u0915\u093c', 'ड़', 'ढ़', 'य़',
              'क्\u0958', 'क्\u0958\u0301', '\u0958\u0301', '\u0958', 'हिन्दी', 'संस्कृत', 'द्ध्र्य', 'অক্ষর', 'য়',
              '\u09a1\u09bc', 'க்ஷ', 'ஸ்ரீ', 'ஔ', 'ொ', 'கொ', 'ਖ਼', 'ଡ଼', 'ಕ್ಷ', 'ക്ഷ', 'ൻ', '\u0d7b'):
        add(t)
    # Arabic: prepended concatenation marks (Grapheme_Cluster_Break=Prepend), presentation forms.
    for t in ('\u0600١٢٣', '\u0601١', '\u0602١', '\u0603١', '\u0604١', '\u0605١', '\u06dd١٢', '\u070f\u0710',
              '\u0890١', '\u08e2١', '\u0600', '\u0600 ', '\u0600\u0301', '\u0600a', '\u0600ﬁ', '\u0600\u00a0',
              'مرحبا بالعالم', 'ﷺ', 'ﷲ', 'ﻻ', 'ﺍﻟﻌﺮﺑﻴﺔ', 'لا', 'اللّٰه', '\u0644\u0627\u0653', 'ٱ', 'ٵ',
              '\u0d4e\u0d15', '\U000110bd\U00011083', '\U000111c2\U00011183'):
        add(t)
    # U+FFFD, controls, format characters, private use, noncharacters.
    ctrl = [chr(c) for c in list(range(0, 0x20)) + list(range(0x7f, 0xa0))]
    texts += ctrl
    add('a' + ''.join(ctrl) + 'b')
    for t in ('\ufffd', 'a\ufffdb', '\ufffd\u0301', '\ufffd\ufffd', '\ufeffhello', '\u200e\u200f', '\u202a\u202e',
              '\u2060\u2061\u2062\u2063\u2064', '\u00ad', 'soft\u00adhyphen', '\ue000', '\uf8ff', '\U000f0000',
              '\ufffe', '\uffff', '\U0001fffe', '\U0010ffff', '\x00', 'a\x00b', '\x00\u0301', '\u180b', '\ufe00',
              '\U000e0001', '\U000e0020', '\u034f', '\u061c', '\u115f\u200b'):
        add(t)

    # Indic conjuncts (GB9c): consonant, virama, perhaps a mark or joiner, then a consonant
    # that the charsmap maps (the nukta forms), with a mark after it. As one cluster of 6 bytes
    # or more, each character is mapped alone and the mark stays; split before the last
    # consonant, "consonant + mark" is under 6 bytes and the mark goes with the consonant.
    firsts = ['\u0915', '\u0995', '\u0a95', '\u0b15', '\u0c15', '\u0d15', '\u0905', '\u0b95', '\u0937']
    viramas = ['\u094d', '\u09cd', '\u0acd', '\u0b4d', '\u0c4d', '\u0d4d', '\u0bcd', '\u0a4d']
    middles = ['', '\u200d', '\u200c', '\u0301', '\u034f', '\u093c', '\u0951', '\u094d']
    lasts = ['\u0958', '\u0959', '\u095a', '\u095b', '\u095c', '\u095d', '\u095e', '\u095f', '\u09dc',
             '\u09dd', '\u09df', '\u0b5c', '\u0b5d', '\u0a59', '\u0929', '\u0915']
    conjuncts = [a + v + m + z + t for a in firsts for v in viramas for m in middles for z in lasts
                 for t in ('\u0301', '\u0483')]
    texts += grouped(conjuncts, 16)
    # Every code point in each place of a conjunct: between virama and consonant (Extend),
    # as the virama (Linker), as the first consonant (Consonant). The last consonant, U+0958,
    # keeps the mark after it only when GB9c holds the whole conjunct together.
    brk = {}
    for a, b, value in ranges('auxiliary/GraphemeBreakProperty.txt'):
        brk.update(dict.fromkeys(range(a, b + 1), value))
    syllabic = set()
    for a, b, _ in ranges('IndicSyllabicCategory.txt'):
        syllabic.update(range(a, b + 1))
    marks = [c for c in sorted(known) if brk.get(c) in ('Extend', 'ZWJ', 'SpacingMark')]
    last = '\u0958\u0301'
    texts += grouped(['\u0915\u094d' + chr(c) + last for c in marks], 16)
    texts += grouped(['\u0915' + chr(c) + last for c in marks], 16)
    texts += grouped([chr(c) + '\u094d' + last for c in sorted(known)
                      if (c in syllabic or c < 0x3000) and not 0xD800 <= c <= 0xDFFF], 16)

    # Every code point of the first two planes alone (64 to a text, between line feeds: a
    # control character is a cluster of its own).
    texts += grouped([chr(c) for c in scalar_values(0, 0x1FFFF)], 64, '\n')
    # Plane 2 (CJK extensions) and the planes beyond it, sampled.
    rng = random.Random(29)
    texts += grouped([chr(c) for c in sorted(rng.sample(scalar_values(0x20000, 0x10FFFF), 4096))], 64, '\n')
    # Every assigned BMP code point after U+00A0 (a 2-byte key: the cluster is replaced whole
    # when the code point joins it), after "a", and before U+0301 (a mark that joins unless
    # the code point ends its cluster: a control, or a key that then swallows the mark).
    bmp = [c for c in scalar_values(0, 0xFFFF) if c in known]
    texts += grouped(['\u00a0' + chr(c) for c in bmp if c >= 0x80], 32)
    texts += grouped([chr(c) + '\u0301' for c in bmp], 32)
    texts += grouped(['a' + chr(c) for c in bmp if c >= 0x80], 32)
    # Random sequences biased towards marks, joiners, Hangul jamo, emoji and mapped characters.
    pools = [
        scalar_values(0x20, 0x7E), scalar_values(0xA0, 0x24F), scalar_values(0x300, 0x36F),
        scalar_values(0x1100, 0x11FF), scalar_values(0xAC00, 0xAC40), scalar_values(0x0900, 0x097F),
        scalar_values(0x0E00, 0x0E7F), scalar_values(0x0600, 0x06FF), scalar_values(0xFF00, 0xFFEF),
        scalar_values(0x3300, 0x33FF), scalar_values(0x1F1E6, 0x1F1FF), scalar_values(0x1F300, 0x1F6FF),
        scalar_values(0x1F3FB, 0x1F3FF), [0x200D, 0x200C, 0xFE0F, 0x20E3, 0x0D, 0x0A, 0x09, 0xA0, 0x3000],
        scalar_values(0xFB00, 0xFB4F), scalar_values(0x2460, 0x24FF), scalar_values(0x0, 0x10FFFF)[::97],
    ]
    pools = [[c for c in pool if c in known] for pool in pools]
    for _ in range(12000):
        n = rng.randint(1, 10)
        add(''.join(chr(rng.choice(rng.choice(pools))) for _ in range(n)))
    return texts


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        ROOT, 'models', 'multilingual-e5-small-tokenizer', 'tokenizer.json')
    import tokenizers
    from tokenizers import Tokenizer
    from tokenizers.normalizers import Precompiled

    with open(path, encoding='utf-8') as f:
        spec = json.load(f)['normalizer']
    assert spec['type'] == 'Sequence' and spec['normalizers'][0]['type'] == 'Precompiled', spec['type']
    charsmap = base64.b64decode(spec['normalizers'][0]['precompiled_charsmap'], validate=True)
    norm = Precompiled(charsmap)

    with gzip.open(CORPUS, 'rb') as f:
        raw = f.read().decode('utf-8')
    assert raw.endswith('\n')
    texts = raw[:-1].split('\n') + edge_cases()

    pairs = [[t, norm.normalize_str(t)] for t in texts]
    # Cross-check: the tokenizer's whole normalizer is this one, then " {2,}" -> " ".
    whole = Tokenizer.from_file(path).normalizer
    for t, expected in pairs[::50]:
        assert whole.normalize_str(t) == re.sub(' {2,}', ' ', expected), t
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    data = json.dumps(pairs, ensure_ascii=False, separators=(',', ':')).encode('utf-8')
    with open(OUT, 'wb') as f:
        with gzip.GzipFile(fileobj=f, mode='wb', mtime=0, filename='') as gz:
            gz.write(data)
    n_changed = sum(a != b for a, b in pairs)
    print('%s: %d texts (%d changed by the normalizer), %d bytes compressed; tokenizers %s' % (
        os.path.relpath(OUT, ROOT), len(pairs), n_changed, os.path.getsize(OUT), tokenizers.__version__))


if __name__ == '__main__':
    main()
