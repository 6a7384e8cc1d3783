#!/usr/bin/env python3
"""Compares, for every Unicode scalar value, what Hugging Face tokenizers' BertNormalizer and
BertPreTokenizer do with it against two candidate sources of Unicode facts:
  - the tables tools/build/gen_unicode_tables.py generates (via tools/build/unicode_data.py);
  - utf8proc (libutf8proc.so.2 through ctypes): categories, NFD and simple lowercase of its
    own Unicode version, White_Space approximated as category Zs/Zl/Zp or bidi WS/B/S.

  HF_HUB_OFFLINE=1 python tools/goldens/check_unicode_reference.py [MODEL_DIR]

Needs the `tokenizers` package. Prints how many code points each candidate gets wrong and
lists the generated tables' differences (src/unicode.cpp quotes the result).
"""
import ctypes
import ctypes.util
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'build'))
import unicode_data  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..')


def reference(model_dir):
    from tokenizers import Tokenizer
    t = Tokenizer.from_file(os.path.join(model_dir, 'tokenizer.json'))
    n, p = t.normalizer, t.pre_tokenizer
    out = {}
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        c = chr(cp)
        pieces = [s for s, _ in p.pre_tokenize_str('a' + c + 'a')]
        kind = 'W' if pieces == ['a', 'a'] else 'P' if pieces == ['a', c, 'a'] else '-'
        out[cp] = (n.normalize_str(c), kind)
    return out


def generated_model(u):
    def f(cp):
        s = ''.join(map(chr, u.normalize_char(cp)))
        if u.is_chinese(cp) and s:
            s = ' ' + s + ' '
        kind = 'W' if cp in u.white_space else 'P' if u.is_punctuation(cp) else '-'
        return s, kind
    return f


def utf8proc_model():
    lib = ctypes.CDLL(ctypes.util.find_library('utf8proc') or 'libutf8proc.so.2')
    lib.utf8proc_category.restype = ctypes.c_int
    lib.utf8proc_tolower.restype = ctypes.c_int32
    lib.utf8proc_NFD.restype = ctypes.c_void_p
    lib.utf8proc_NFD.argtypes = [ctypes.c_char_p]
    lib.utf8proc_get_property.restype = ctypes.c_void_p
    libc = ctypes.CDLL(None)
    libc.free.argtypes = [ctypes.c_void_p]
    version = ctypes.c_char_p
    lib.utf8proc_unicode_version.restype = version
    names = ['Cn', 'Lu', 'Ll', 'Lt', 'Lm', 'Lo', 'Mn', 'Mc', 'Me', 'Nd', 'Nl', 'No', 'Pc', 'Pd', 'Ps', 'Pe', 'Pi',
             'Pf', 'Po', 'Sm', 'Sc', 'Sk', 'So', 'Zs', 'Zl', 'Zp', 'Cc', 'Cf', 'Cs', 'Co']

    class prop(ctypes.Structure):
        _fields_ = [('category', ctypes.c_int16), ('combining_class', ctypes.c_int16),
                    ('bidi_class', ctypes.c_int16)]

    def cat(cp):
        return names[lib.utf8proc_category(cp)]

    def white(cp):
        bidi = ctypes.cast(lib.utf8proc_get_property(cp), ctypes.POINTER(prop)).contents.bidi_class
        return cat(cp) in ('Zs', 'Zl', 'Zp') or bidi in (10, 11, 12)  # B, S, WS

    def nfd(s):
        ptr = lib.utf8proc_NFD(s.encode('utf-8'))
        r = ctypes.string_at(ptr).decode('utf-8')
        libc.free(ptr)
        return r

    def f(cp):
        c = chr(cp)
        if cp in (9, 10, 13):
            s = ' '
        elif cp == 0 or cp == 0xFFFD or cat(cp) in ('Cc', 'Cf', 'Co'):
            s = ''
        elif white(cp):
            s = ' '
        else:
            s = ''.join(chr(lib.utf8proc_tolower(ord(x))) for x in nfd(c) if cat(ord(x)) != 'Mn')
            if any(a <= cp <= b for a, b in unicode_data.CHINESE_RANGES):
                s = ' ' + s + ' '
        p = 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126 or cat(cp) in unicode_data.PUNCT_CATEGORIES
        kind = 'W' if white(cp) else 'P' if p else '-'
        return s, kind
    return f, lib.utf8proc_unicode_version().decode()


def main():
    model_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, 'models', 'all-MiniLM-L6-v2')
    import tokenizers
    ref = reference(model_dir)
    u = unicode_data.ucd()
    gen = generated_model(u)
    up, up_version = utf8proc_model()
    diffs = []
    n_up = 0
    for cp, want in ref.items():
        got = gen(cp)
        if got != want:
            diffs.append((cp, u.category.get(cp, 'Cn'), u.age.get(cp), got, want))
        n_up += up(cp) != want
    print('tokenizers %s, %d code points' % (tokenizers.__version__, len(ref)))
    print('generated tables (UCD %s, categories as of %s, decompositions as of %s): %d differ' %
          (u.version, unicode_data.CATEGORY_VERSION, unicode_data.DECOMPOSITION_VERSION, len(diffs)))
    print('utf8proc (Unicode %s): %d differ' % (up_version, n_up))
    for cp, cat, age, got, want in diffs:
        print('  U+%04X %s age %s: tables %r, reference %r' % (cp, cat, age, got, want))


if __name__ == '__main__':
    main()
