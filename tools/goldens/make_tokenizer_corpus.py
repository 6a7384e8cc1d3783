#!/usr/bin/env python3
"""Builds the tokenizer parity corpus: tests/data/tokenizer/corpus.txt.gz.

  python3 tools/goldens/make_tokenizer_corpus.py [OUTPUT]

One text per line (split on "\\n" only), UTF-8, gzip without a timestamp. Standard library
only; deterministic for a given set of installed files. Sources:
  - real text: fortune cookies from the Debian packages fortunes, fortunes-de, fortunes-es,
    fortunes-it, fortunes-ru, fortunes-zh, fortunes-pl, fortunes-cs, fortunes-bg
    (/usr/share/games/fortunes), and translated messages from the gettext catalogs (.mo)
    that Debian packages install under /usr/share/locale (Arabic, Hebrew, Hindi, Bengali,
    Tamil, Thai, Korean, Japanese, Chinese, Greek, Russian, Ukrainian, Georgian, Armenian,
    Amharic, Persian, Vietnamese, Turkish, Polish, Czech, German, French, Spanish);
  - generated lines: samples of every Unicode general category, control and format
    characters, combining sequences, unassigned and private-use code points, the CJK block
    boundaries BertNormalizer uses, every White_Space character, words of 100 and 101
    characters, special tokens written in the text, and lines longer than 256 word pieces.
The Unicode facts come from the Unicode Character Database (Debian unicode-data) through
tools/build/unicode_data.py. Code points where the reference is known to differ from the tables
(listed in src/unicode.cpp) are left out of the generated lines.
"""
import gettext
import glob
import gzip
import os
import random
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'build'))
import unicode_data  # noqa: E402

FORTUNE_DIR = '/usr/share/games/fortunes'
LOCALE_DIR = '/usr/share/locale'
LANGUAGES = ['ar', 'he', 'hi', 'bn', 'ta', 'th', 'ko', 'ja', 'zh_CN', 'zh_TW', 'el', 'ru', 'uk', 'ka', 'hy',
             'am', 'fa', 'vi', 'tr', 'pl', 'cs', 'de', 'fr', 'es']
FORTUNE_LINES = 9000
MO_LINES_PER_LANGUAGE = 700
MAX_LINE_BYTES = 2000

# Where tokenizers 0.23 differs from the generated tables (see src/unicode.cpp).
KNOWN_DIFFERENCES = {0x166D, 0x1734, 0x1885, 0x1886, 0xA9BD, 0x111C9}


def clean(line):
    line = line.rstrip('\r')
    return line if line.strip() and len(line.encode('utf-8')) <= MAX_LINE_BYTES else None


def fortune_lines():
    out = []
    for path in sorted(glob.glob(FORTUNE_DIR + '/**/*', recursive=True)):
        if os.path.isdir(path) or path.endswith('.dat') or os.path.islink(path):
            continue
        try:
            text = open(path, 'rb').read().decode('utf-8')
        except UnicodeDecodeError:
            continue
        for line in text.split('\n'):
            if line.strip() == '%':
                continue
            line = clean(line)
            if line:
                out.append(line)
    return out


def mo_lines(language):
    out = []
    for path in sorted(glob.glob('%s/%s/LC_MESSAGES/*.mo' % (LOCALE_DIR, language))):
        try:
            with open(path, 'rb') as f:
                catalog = gettext.GNUTranslations(f)._catalog
        except Exception:
            continue
        for key, value in sorted(catalog.items(), key=lambda kv: str(kv[0])):
            if key == '' or not isinstance(value, str):
                continue
            for line in value.split('\n'):
                line = clean(line)
                if line:
                    out.append(line)
    return out


def generated_lines(u):
    lines = []
    by_category = {}
    for cp in sorted(u.category):
        if cp in KNOWN_DIFFERENCES or 0xD800 <= cp <= 0xDFFF:
            continue
        by_category.setdefault(u.category[cp], []).append(cp)
    rng = random.Random(1234)
    # Every general category: first, last and random members, alone and inside words.
    for cat in sorted(by_category):
        cps = by_category[cat]
        picks = sorted(set([cps[0], cps[-1]] + rng.sample(cps, min(30, len(cps)))))
        for i in range(0, len(picks), 10):
            chunk = picks[i:i + 10]
            lines.append('%s: ' % cat + ' '.join('x%sy' % chr(c) for c in chunk))
            lines.append(''.join(chr(c) for c in chunk) + ' abc' + ''.join(chr(c) for c in chunk))
    # Unassigned (Unicode 15) and private use, noncharacters.
    for cp in [0x0378, 0x0380, 0x2FFFF, 0x3FFFE, 0xE000, 0xF8FF, 0xF0000, 0xFFFFD, 0x100000, 0x10FFFD,
               0xFDD0, 0xFFFE, 0xFFFF, 0x1FFFE, 0x10FFFF, 0xE0001, 0xE007F]:
        lines.append('unassigned or private %s|%s|a%sb' % (chr(cp), chr(cp) * 3, chr(cp)))
    # Control characters (except \n, which ends a line) and format characters.
    controls = [c for c in range(0x20) if c != 0x0A] + list(range(0x7F, 0xA0))
    for i in range(0, len(controls), 8):
        lines.append('ctl' + ''.join('%sz' % chr(c) for c in controls[i:i + 8]) + ' end')
    for c in by_category.get('Cf', []):
        lines.append('format a%sb %s c%s' % (chr(c), chr(c), chr(c)))
    # Combining sequences, canonical equivalents, Hangul, case mappings that expand.
    lines += [
        'e\u0301 e\u0300\u0301 a\u0308\u0301 \u00e9\u0301 o\u0328\u0304 \u01ed Z\u0351\u0352\u0353',
        'Cafe\u0301 na\u00efve r\u00e9sum\u00e9 \u00c5ngstr\u00f6m \u212b \u2126 \u1e9b\u0323 \u0344',
        '\u0130stanbul \u0130 \u0049\u0307 \u00df \u1e9e \ufb01 \ufb00 \u0149 \u01f0 \u0390 \u1f80 \u1fb3 \u1fbc',
        '\u03a3\u039f\u03a6\u0399\u0391 \u039f\u0394\u03a5\u03a3\u03a3\u0395\u03a5\u03a3 \u1f08\u03b8\u1fc6\u03bd\u03b1\u03b9',
        '\ud55c\uad6d\uc5b4 \ud14c\uc2a4\ud2b8 \u1100\u1161\u11a8 \uac00\u11a8 \u3131\u314f',
        'Ti\u1ebfng Vi\u1ec7t c\u00f3 d\u1ea5u: \u0111\u01b0\u1eddng ph\u1ed1 H\u00e0 N\u1ed9i',
        '\u0915\u094d\u0937 \u0928\u092e\u0938\u094d\u0924\u0947 \u0939\u093f\u0928\u094d\u0926\u0940 \u0a95\u0acd\u0ab7',
        '\u0627\u064e\u0644\u0652\u0639\u064e\u0631\u064e\u0628\u0650\u064a\u064e\u0651\u0629 \u05e9\u05b8\u05c1\u05dc\u05d5\u05b9\u05dd',
        '\u0e20\u0e32\u0e29\u0e32\u0e44\u0e17\u0e22 \u0e01\u0e34\u0e4a\u0e01 \u0e19\u0e49\u0e33',
        'I \u2764\ufe0f \U0001f355 \U0001f44d\U0001f3fd \U0001f468\u200d\U0001f469\u200d\U0001f467 \U0001f1eb\U0001f1f7 #\ufe0f\u20e3',
        '\u00bd \u2155 \u2460 \u2474 \u2488 \uff21\uff22\uff23 \uff41 \u33a1 \u2122 \u00aa \u00b2 x\u00b2',
        'a\u200bb c\u200cd e\u200de f\u2060g h\ufeffi j\u00adk \u202ertl\u202c',
        'combining alone: \u0301 \u0300x \u20dd \u0489 \u1ab0 \u1dc0 \ufe20 \U0001d165\U0001d16d',
    ]
    # CJK ideograph blocks that handle_chinese_chars isolates: each boundary and its neighbours.
    for a, b in unicode_data.CHINESE_RANGES:
        for cp in (a - 1, a, a + 1, b - 1, b, b + 1):
            lines.append('cjk%sx %s%s %X' % (chr(cp), chr(cp), chr(cp), cp))
    lines.append('\u4e2d\u6587\u5b57\u7b26 \u3400\u3401 \U00020000\U0002a6df \uf900\uf901 \U0002f800 \u3005\u3007 \u3041\u30a2')
    # Every White_Space character (and Python's isspace ones) between, before and after words.
    spaces = sorted(u.white_space | {c for c in u.bidi if u.is_python_space(c)})
    for c in spaces:
        if c == 0x0A:
            continue
        lines.append('%sws%sbetween%s%X%s' % (chr(c), chr(c), chr(c) * 2, c, chr(c)))
    # Word length limit: max_input_chars_per_word is 100 (counted after normalization).
    for n in (99, 100, 101):
        lines.append('a' * n)
        lines.append('x ' + 'ab' * (n // 2) + 'c' * (n % 2) + ' y')
        lines.append('\u00e9' * n)          # NFD + Mn removal: n characters
        lines.append('\u4e00' * n)          # ideographs: n words of one character
        lines.append('\u0416' * n)
        lines.append('e\u0301' * n)
    lines.append('q' * 100 + '.' + 'q' * 101)
    # Special tokens written in the text (matched before normalization, case-sensitive).
    lines += [
        'hello [MASK] world', '[CLS] already [SEP] there', 'x[SEP]y', '[mask] [Mask] [ MASK ]', '[[SEP]]',
        '[PAD][PAD][UNK]', '[SEP', 'SEP]', 'caf\u00e9[MASK]na\u00efve', '[CLS]', '\u4e2d[SEP]\u6587',
    ]
    # Punctuation, digits, mixed scripts.
    lines.append(''.join(chr(c) for c in range(33, 127)))
    lines.append('https://example.org/a?b=c&d=e#f user@example.com 3.14159 1,000,000 \u00a312 $5 10% C++ C#')
    # Overflow: more than 254 word pieces (with and without [SEP] text inside).
    words = 'the quick brown fox jumps over the lazy dog while tokenization splits unbelievably long words'.split()
    for n in (253, 254, 255, 256, 300, 1000):
        lines.append(' '.join(words[i % len(words)] for i in range(n)))
    lines.append(' '.join(['\u4e2d\u6587'] * 200))
    lines.append('!' * 300)
    lines.append(('[MASK] ' * 260).strip())
    lines.append(' '.join('supercalifragilisticexpialidocious' for _ in range(40)))
    return [l for l in lines if '\n' not in l]


def main():
    out_path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), '..', '..', 'tests', 'data', 'tokenizer', 'corpus.txt.gz')
    u = unicode_data.ucd()
    rng = random.Random(20261128)
    fortunes = fortune_lines()
    rng.shuffle(fortunes)
    lines = fortunes[:FORTUNE_LINES]
    counts = {'fortunes': len(lines)}
    for lang in LANGUAGES:
        ls = sorted(set(mo_lines(lang)))
        rng.shuffle(ls)
        lines += ls[:MO_LINES_PER_LANGUAGE]
        counts[lang] = min(len(ls), MO_LINES_PER_LANGUAGE)
    gen = generated_lines(u)
    counts['generated'] = len(gen)
    lines += gen
    data = ('\n'.join(lines) + '\n').encode('utf-8')
    with open(out_path, 'wb') as f:
        with gzip.GzipFile(filename='', mode='wb', fileobj=f, mtime=0, compresslevel=9) as g:
            g.write(data)
    print('%d lines, %d bytes of text -> %s (%d bytes)' % (len(lines), len(data), out_path, os.path.getsize(out_path)))
    print(' '.join('%s=%d' % kv for kv in counts.items()))


if __name__ == '__main__':
    main()
