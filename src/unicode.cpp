// src/unicode.cpp: the generated Unicode tables.
//
// Which Unicode data matches the reference. Hugging Face tokenizers (Rust) does not use one
// Unicode version: general categories come from the `unicode_categories` crate (Unicode
// 8.0), canonical decompositions from `unicode-normalization-alignments` (any version from
// 7.0 to 12.0 gives the same results), White_Space and lowercase mappings from Rust's std
// (Unicode 16 or later: it lowercases letters added in 16.0). Comparing all 1,112,064
// scalar values against tokenizers 0.23.3 (tools/goldens/check_unicode_reference.py):
//   - utf8proc 2.8 (Unicode 15.0 for every property) differs on 779: it strips, drops or
//     splits on marks, format characters and punctuation assigned after 8.0 that the
//     reference keeps, decomposes what the older normalization data does not, and has
//     only simple lowercase mappings (U+0130);
//   - the tables generated from the Unicode 15.0 data files (Debian unicode-data), with
//     categories restricted by DerivedAge.txt to code points assigned by Unicode 8.0 and
//     decompositions to 9.0, differ on 61: 55 code points that gained a lowercase mapping
//     after Unicode 15.0 (U+1C89, U+A7CB..U+A7DC, U+10D50..U+10D65, U+16EA0..U+16EB8) and 6
//     whose category changed after 8.0 (U+166D, U+1734, U+1885, U+1886, U+A9BD, U+111C9).
// So the tables are generated at build time by tools/build/gen_unicode_tables.py rather than
// taken from utf8proc. One more known difference: the reference's NFD reorders runs of
// combining characters by canonical combining class; we keep the input order, which only
// matters when two or more combining characters that survive accent stripping (that is,
// are not Mn) stand out of canonical order.
#include "unicode.hpp"

#include <string>

#include "minilm/error.hpp"

MINILM_BEGIN_NAMESPACE
namespace detail::unicode {
#include "unicode_tables.inc"

void throw_invalid_utf8(std::size_t offset) {
  throw error(errc::invalid_text, "text is not valid UTF-8 at byte offset " + std::to_string(offset));
}
}  // namespace detail::unicode
MINILM_END_NAMESPACE
