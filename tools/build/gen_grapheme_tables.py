#!/usr/bin/env python3
"""Generates the extended grapheme cluster table (src/grapheme.cpp includes the output).

  gen_grapheme_tables.py UNICODE_DATA_DIR OUTPUT.inc

Run by Meson at build time from the Unicode Character Database text files (Debian
package `unicode-data`, /usr/share/unicode); standard library only. For every code point
it records the three properties the rules of UAX #29 look at:
  - Grapheme_Cluster_Break (auxiliary/GraphemeBreakProperty.txt);
  - Extended_Pictographic (emoji/emoji-data.txt), for GB11;
  - Indic_Conjunct_Break, for GB9c.

The reference, Hugging Face tokenizers, segments with the unicode-segmentation crate,
which follows Unicode 17.0; Debian 12 ships the 15.0 files. Where later versions changed
these properties for code points that 15.0 already has, the change is reproduced from the
15.0 files by the rules below. They were found by probing the reference with every code
point in every role, and tools/goldens/make_normalizer_goldens.py keeps those probes in the
goldens, so the test checks them:
  - Grapheme_Cluster_Break=Extend for the spacing marks that have a nonzero canonical
    combining class or whose canonical decomposition is made of Extend characters only
    (U+0CC0, U+1B3B, U+1715, ...; SpacingMark in 15.0, Extend since Unicode 16.0).
  - Indic_Conjunct_Break (new in Unicode 15.1), derived as UAX #44 derives it from
    Indic_Syllabic_Category (IndicSyllabicCategory.txt), Script (Scripts.txt) and
    Grapheme_Cluster_Break, over the scripts the reference gives conjuncts: Linker is a
    virama of VIRAMA_SCRIPTS (the six of Unicode 15.1, Balinese, Javanese) or an
    invisible stacker of STACKER_SCRIPTS; Consonant is a consonant of those scripts or an
    independent vowel of the stacker scripts; Extend is every Extend or ZWJ character but
    the linkers and ZERO WIDTH NON-JOINER.
What the 15.0 files cannot tell -- code points assigned later, and three whose properties
changed otherwise (U+1171E became a spacing mark, U+1B0B and U+1B0C conjunct
consonants) -- follows the 15.0 data.

Layout: a two-stage table. stage1[cp >> BLOCK_BITS] picks a block of 2**BLOCK_BITS
entries in stage2; each entry is one byte: the break value in the low four bits (the
order of `gcb` in src/grapheme.hpp), bit 4 for Extended_Pictographic and bits 5-6 for
Indic_Conjunct_Break (INCB below). stage1 holds bytes while there are at most 256
distinct blocks.
"""
import os
import re
import sys

BLOCK_BITS = 7

# Must match enum class gcb in src/grapheme.hpp.
GCB = ['Other', 'CR', 'LF', 'Control', 'Extend', 'ZWJ', 'Regional_Indicator', 'Prepend',
       'SpacingMark', 'L', 'V', 'T', 'LV', 'LVT']
EXTENDED_PICTOGRAPHIC = 0x10
# Indic_Conjunct_Break in bits 5-6 (must match `incb` in src/grapheme.cpp).
INCB = {'Linker': 1 << 5, 'Consonant': 2 << 5, 'Extend': 3 << 5}
# The scripts with conjuncts (GB9c) in the reference's Unicode 17.0: those whose linker is
# a virama (the first six since Unicode 15.1) and those whose linker is an invisible stacker.
VIRAMA_SCRIPTS = {'Bengali', 'Devanagari', 'Gujarati', 'Malayalam', 'Oriya', 'Telugu', 'Balinese', 'Javanese'}
STACKER_SCRIPTS = {'Chakma', 'Dives_Akuru', 'Kawi', 'Kharoshthi', 'Khmer', 'Meetei_Mayek', 'Myanmar',
                   'Soyombo', 'Sundanese', 'Tai_Tham', 'Zanabazar_Square'}
ZWNJ = 0x200C


def ranges(path):
    """(first, last, value) for every data line of a UCD property file."""
    with open(path, encoding='utf-8') as f:
        for line in f:
            line = line.split('#')[0].strip()
            if not line:
                continue
            cps, value = [x.strip() for x in line.split(';')[:2]]
            a, _, b = cps.partition('..')
            yield int(a, 16), int(b or a, 16), value


def version(path, pattern):
    """The version a data file's header states, e.g. '15.0.0' from 'GraphemeBreakProperty-15.0.0.txt'."""
    with open(path, encoding='utf-8') as f:
        for line in f:
            m = re.search(pattern, line)
            if m:
                return m.group(1)
    return 'unknown'


def main():
    root, out_path = sys.argv[1], sys.argv[2]
    gcb_path = os.path.join(root, 'auxiliary', 'GraphemeBreakProperty.txt')
    emoji_path = os.path.join(root, 'emoji', 'emoji-data.txt')

    props = bytearray(0x110000)  # Other, not pictographic
    for a, b, value in ranges(gcb_path):
        code = GCB.index(value)
        for cp in range(a, b + 1):
            assert props[cp] == 0, 'U+%04X listed twice' % cp
            props[cp] = code
    n_pictographic = 0
    for a, b, value in ranges(emoji_path):
        if value == 'Extended_Pictographic':
            for cp in range(a, b + 1):
                props[cp] |= EXTENDED_PICTOGRAPHIC
                n_pictographic += 1
    assert n_pictographic > 3000, 'no Extended_Pictographic data in ' + emoji_path

    script = {}
    for a, b, value in ranges(os.path.join(root, 'Scripts.txt')):
        for cp in range(a, b + 1):
            script[cp] = value
    syllabic = {}
    for a, b, value in ranges(os.path.join(root, 'IndicSyllabicCategory.txt')):
        for cp in range(a, b + 1):
            syllabic[cp] = value
    ccc = {}
    decomposition = {}
    with open(os.path.join(root, 'UnicodeData.txt'), encoding='utf-8') as f:
        for line in f:
            fields = line.split(';')
            cp = int(fields[0], 16)
            if fields[3] != '0':
                ccc[cp] = int(fields[3])
            if fields[5] and not fields[5].startswith('<'):
                decomposition[cp] = [int(x, 16) for x in fields[5].split()]

    def brk(cp):
        return GCB[props[cp] & 0x0F]

    def full_decomposition(cp):
        return [x for d in decomposition[cp] for x in full_decomposition(d)] if cp in decomposition else [cp]

    # Unicode 16.0's spacing marks that became Extend (in code point order, so that a mark
    # decomposing into an earlier one sees it changed).
    extend = GCB.index('Extend')
    n_to_extend = 0
    for cp in range(0x110000):
        if brk(cp) == 'SpacingMark' and (cp in ccc or (
                cp in decomposition and all(brk(x) == 'Extend' for x in full_decomposition(cp)))):
            props[cp] = (props[cp] & ~0x0F) | extend
            n_to_extend += 1
    assert 10 < n_to_extend < 100, n_to_extend

    n_incb = dict.fromkeys(INCB, 0)
    for cp in range(0x110000):
        isc, sc = syllabic.get(cp), script.get(cp)
        value = None
        if (isc == 'Virama' and sc in VIRAMA_SCRIPTS) or (isc == 'Invisible_Stacker' and sc in STACKER_SCRIPTS):
            value = 'Linker'
        elif (isc == 'Consonant' and sc in VIRAMA_SCRIPTS | STACKER_SCRIPTS) or (
                isc == 'Vowel_Independent' and sc in STACKER_SCRIPTS):
            value = 'Consonant'
        elif brk(cp) in ('Extend', 'ZWJ') and cp != ZWNJ:
            value = 'Extend'
        if value:
            props[cp] |= INCB[value]
            n_incb[value] += 1
    assert n_incb['Linker'] == 19 and n_incb['Consonant'] > 800 and n_incb['Extend'] > 2000, n_incb

    block = 1 << BLOCK_BITS
    stage1 = []
    stage2 = bytearray()
    blocks = {}
    for start in range(0, 0x110000, block):
        key = bytes(props[start:start + block])
        if key not in blocks:
            blocks[key] = len(stage2) >> BLOCK_BITS
            stage2 += key
        stage1.append(blocks[key])
    assert len(blocks) < 65536

    index_type = 'std::uint8_t' if len(blocks) <= 256 else 'std::uint16_t'

    def rows(values, per_line=32):
        vals = [str(v) for v in values]
        return ',\n'.join('  ' + ','.join(vals[i:i + per_line]) for i in range(0, len(vals), per_line))

    with open(out_path, 'w', encoding='utf-8') as f:
        f.write('// Generated by tools/build/gen_grapheme_tables.py from GraphemeBreakProperty.txt %s and\n'
                '// emoji-data.txt %s (%s); do not edit.\n' % (
                    version(gcb_path, r'GraphemeBreakProperty-([0-9.]+)\.txt'),
                    version(emoji_path, r'Emoji Version ([0-9.]+)'), root))
        f.write('// %d spacing marks made Extend; Indic_Conjunct_Break: %d Linker, %d Consonant, %d Extend.\n' % (
            n_to_extend, n_incb['Linker'], n_incb['Consonant'], n_incb['Extend']))
        f.write('constexpr unsigned block_bits = %d;\n' % BLOCK_BITS)
        f.write('constexpr %s stage1[%d] = {\n%s};\n' % (index_type, len(stage1), rows(stage1)))
        f.write('constexpr std::uint8_t stage2[%d] = {\n%s};\n' % (len(stage2), rows(stage2)))


if __name__ == '__main__':
    main()
