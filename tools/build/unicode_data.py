"""Reads the Unicode Character Database text files (Debian package `unicode-data`,
/usr/share/unicode) into the per-code-point facts the BERT tokenizer needs.

Shared by gen_unicode_tables.py (build time) and check_unicode_reference.py (the
comparison against the reference tokenizer). Standard library only.
"""
import os

# The reference (Hugging Face `tokenizers`, Rust) takes its Unicode facts from crates that
# carry their own, older, Unicode versions. A code point assigned after that version is
# treated as unassigned by the crate, so we restrict each property by DerivedAge.txt:
#  - general categories (control/format/private-use removal, Mn stripping, punctuation):
#    the `unicode_categories` crate, Unicode 8.0;
#  - canonical decompositions (NFD): the `unicode-normalization-alignments` crate;
#  - White_Space and lowercase mappings: Rust's std (`char::is_whitespace`,
#    `char::to_lowercase`), a recent Unicode.
# The versions below were found by comparing every code point against the reference
# (tools/goldens/check_unicode_reference.py); see src/unicode.cpp.
CATEGORY_VERSION = (8, 0)
DECOMPOSITION_VERSION = (9, 0)
LOWERCASE_VERSION = (99, 0)   # everything the installed data knows

CHINESE_RANGES = [(0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
                  (0x2B740, 0x2B81F), (0x2B920, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F)]

PUNCT_CATEGORIES = {'Pc', 'Pd', 'Ps', 'Pe', 'Pi', 'Pf', 'Po'}


def _ranges(path, field=1):
    with open(path, encoding='utf-8') as f:
        for line in f:
            line = line.split('#')[0].strip()
            if not line:
                continue
            parts = [x.strip() for x in line.split(';')]
            a, _, b = parts[0].partition('..')
            yield int(a, 16), int(b or a, 16), parts[field]


class ucd:
    def __init__(self, root='/usr/share/unicode'):
        self.root = root
        self.version = None
        readme = os.path.join(root, 'ReadMe.txt')
        if os.path.exists(readme):
            for line in open(readme, encoding='utf-8'):
                if 'for Version' in line:
                    self.version = line.split('Version')[1].split('of')[0].strip()
                    break
        self.age = {}
        for a, b, v in _ranges(os.path.join(root, 'DerivedAge.txt')):
            t = tuple(int(x) for x in v.split('.'))
            for c in range(a, b + 1):
                self.age[c] = t
        self.category = {}
        self.bidi = {}
        self.ccc = {}
        self.decomposition = {}
        self.lower_simple = {}
        first = None
        with open(os.path.join(root, 'UnicodeData.txt'), encoding='utf-8') as f:
            for line in f:
                fld = line.rstrip('\n').split(';')
                cp = int(fld[0], 16)
                if fld[1].endswith(', First>'):
                    first = cp
                    continue
                span = range(first, cp + 1) if fld[1].endswith(', Last>') else (cp,)
                for c in span:
                    self.category[c] = fld[2]
                    self.bidi[c] = fld[4]
                    self.ccc[c] = int(fld[3])
                if fld[5] and not fld[5].startswith('<'):
                    self.decomposition[cp] = [int(x, 16) for x in fld[5].split()]
                if fld[13]:
                    self.lower_simple[cp] = int(fld[13], 16)
        # Unconditional full lowercase mappings (Rust's to_lowercase uses them, e.g. U+0130).
        self.lower_full = {}
        with open(os.path.join(root, 'SpecialCasing.txt'), encoding='utf-8') as f:
            for line in f:
                line = line.split('#')[0].strip()
                if not line:
                    continue
                parts = [x.strip() for x in line.split(';')]
                if len(parts) > 4 and parts[4]:
                    continue  # conditional (language or context): Rust ignores these
                self.lower_full[int(parts[0], 16)] = [int(x, 16) for x in parts[1].split()]
        self.white_space = set()
        for a, b, p in _ranges(os.path.join(root, 'PropList.txt')):
            if p == 'White_Space':
                self.white_space.update(range(a, b + 1))

    def assigned_by(self, cp, version):
        return self.age.get(cp, (99, 0)) <= version if cp in self.age else False

    def category_at(self, cp, version=CATEGORY_VERSION):
        """General category as a crate built on Unicode `version` sees it."""
        if not self.assigned_by(cp, version):
            return 'Cn'
        return self.category.get(cp, 'Cn')

    def nfd(self, cp):
        """Full canonical decomposition (with Hangul), as of DECOMPOSITION_VERSION."""
        if 0xAC00 <= cp <= 0xD7A3:
            s = cp - 0xAC00
            out = [0x1100 + s // 588, 0x1161 + (s % 588) // 28]
            if s % 28:
                out.append(0x11A7 + s % 28)
            return out
        d = self.decomposition.get(cp)
        if d is None or not self.assigned_by(cp, DECOMPOSITION_VERSION):
            return [cp]
        out = []
        for x in d:
            out.extend(self.nfd(x))
        return out

    def lowercase(self, cp):
        if not self.assigned_by(cp, LOWERCASE_VERSION):
            return [cp]
        if cp in self.lower_full:
            return self.lower_full[cp]
        return [self.lower_simple.get(cp, cp)]

    def is_control(self, cp):
        """tokenizers' BertNormalizer is_control: \\t \\n \\r are not; else Cc Cf Co (and Cs)."""
        if cp in (0x09, 0x0A, 0x0D):
            return False
        return self.category_at(cp) in ('Cc', 'Cf', 'Co', 'Cs')

    def is_punctuation(self, cp):
        if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
            return True
        return self.category_at(cp) in PUNCT_CATEGORIES

    def is_chinese(self, cp):
        return any(a <= cp <= b for a, b in CHINESE_RANGES)

    def is_python_space(self, cp):
        """Python's str.isspace()/str.strip(): bidi class WS, B or S, or category Zs."""
        return self.bidi.get(cp) in ('WS', 'B', 'S') or self.category.get(cp) == 'Zs'

    def normalize_char(self, cp):
        """BertNormalizer(clean_text, handle_chinese_chars, strip_accents=lowercase=True) of one
        code point, ignoring canonical reordering between neighbours: a list of code points,
        [0x20] for a space, [] when removed."""
        if cp == 0 or cp == 0xFFFD or self.is_control(cp):
            return []
        if cp in self.white_space:
            return [0x20]
        out = []
        for d in self.nfd(cp):
            if self.category_at(d) == 'Mn':
                continue
            out.extend(self.lowercase(d))
        return out
