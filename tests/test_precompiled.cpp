// The precompiled normalizer (sentencepiece's charsmap, applied per grapheme cluster as Hugging
// Face tokenizers applies it): grapheme boundaries against Unicode's own test file, the real
// multilingual-e5-small charsmap against goldens from tokenizers (tools/goldens/make_normalizer_goldens.py),
// the rules on a small hand-built trie, and malformed blobs.
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "grapheme.hpp"
#include "json.hpp"
#include "test_data.hpp"
#include "tokenizer/precompiled.hpp"
#include "unicode.hpp"

using minilm::errc;
using minilm::detail::decode_base64;
using minilm::detail::next_grapheme_end;
using minilm::detail::precompiled_charsmap;
namespace fs = std::filesystem;

namespace {

using test_data::gunzip;
using test_data::source_root;

std::string utf8(char32_t cp) {
  char buf[4];
  return std::string(buf, minilm::detail::unicode::encode(cp, buf));
}

// "a\u0301" -> "a U+0301": readable failure messages for strings of marks and controls.
std::string describe(std::string_view s) {
  std::string out;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    char32_t cp = 0;
    std::size_t len = minilm::detail::unicode::decode(p, end, cp);
    if (len == 0) {
      len = 1;
      cp = *p;
    }
    if (!out.empty()) out += ' ';
    if (cp > 0x20 && cp < 0x7F) {
      out += static_cast<char>(cp);
    } else {
      char hex[16];
      std::snprintf(hex, sizeof hex, "U+%04X", static_cast<unsigned>(cp));
      out += hex;
    }
    p += len;
  }
  return "[" + out + "]";
}

std::string normalize(const precompiled_charsmap& map, std::string_view text) {
  std::string out;
  map.normalize(text, out);
  return out;
}

// The precompiled_charsmap blob of the real multilingual-e5-small tokenizer.json
// (tools/setup/fetch_multilingual.sh places it), and the field it came from.
struct charsmap_source {
  std::string blob;
  std::string where;
};

const charsmap_source& real_blob() {
  static const charsmap_source source = [] {
    const fs::path file = test_data::multilingual_folder("multilingual-e5-small-tokenizer") / "tokenizer.json";
    const auto doc = minilm::detail::json_document::parse_file(file);
    const auto field = doc.root().at("normalizer").at("normalizers").items().at(0).at("precompiled_charsmap");
    const std::string where = "'" + file.string() + "': " + field.path();
    return charsmap_source{decode_base64(field.as_string(), where), where};
  }();
  return source;
}

const precompiled_charsmap& real_charsmap() {
  static const precompiled_charsmap map = precompiled_charsmap::parse(real_blob().blob, real_blob().where);
  return map;
}

// A darts-clone double array for a few keys, built the simple way: every node's children get a
// 256-unit block of their own, the child for byte c at (block ^ c), the node's value (if a key
// ends there) at the block's first unit. Enough for small tries; sentencepiece packs them tighter.
class trie_builder {
 public:
  // `replacement` goes into the strings section, NUL-terminated.
  trie_builder& add(const std::string& key, const std::string& replacement) {
    keys_[key] = static_cast<std::uint32_t>(strings_.size());
    strings_ += replacement;
    strings_ += '\0';
    return *this;
  }
  // Adds a key whose value is `value` as it is (possibly pointing anywhere).
  trie_builder& add_raw(const std::string& key, std::uint32_t value) {
    keys_[key] = value;
    return *this;
  }
  std::vector<std::uint32_t> units() const {
    std::vector<std::uint32_t> units(256, 0);
    build(units, 0, "");
    return units;
  }
  static std::string blob(const std::vector<std::uint32_t>& units, const std::string& strings) {
    std::string out = u32(static_cast<std::uint32_t>(4 * units.size()));
    for (std::uint32_t u : units) out += u32(u);
    return out + strings;
  }
  std::string blob() const { return blob(units(), strings_); }

  static std::string u32(std::uint32_t v) {
    std::string s(4, '\0');
    for (int i = 0; i < 4; ++i) s[static_cast<std::size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xFF);
    return s;
  }

 private:
  // The node at `pos` is reached by `prefix`; gives it a block and fills its children.
  void build(std::vector<std::uint32_t>& units, std::size_t pos, const std::string& prefix) const {
    const std::size_t block = units.size();
    units.resize(block + 256, 0);
    const std::uint32_t off = static_cast<std::uint32_t>(pos ^ block);
    REQUIRE(off < (1u << 21));
    units[pos] |= off << 10;
    if (auto it = keys_.find(prefix); it != keys_.end() && !prefix.empty()) {
      units[pos] |= 1u << 8;                 // has a leaf
      units[block] = it->second | (1u << 31);  // the value unit (its label never matches a byte)
    }
    std::set<unsigned char> next;  // the bytes that continue `prefix` towards a key
    for (const auto& [key, value] : keys_) {
      if (key.size() > prefix.size() && key.compare(0, prefix.size(), prefix) == 0) {
        next.insert(static_cast<unsigned char>(key[prefix.size()]));
      }
    }
    for (const unsigned char c : next) {
      const std::size_t child = block ^ c;
      units[child] = c;
      build(units, child, prefix + static_cast<char>(c));
    }
  }

  std::map<std::string, std::uint32_t> keys_;
  std::string strings_;
};

// The message of the minilm::error (with errc::invalid_tokenizer) that `f` throws.
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const minilm::error& e) {
    CHECK(e.code() == errc::invalid_tokenizer);
    return e.what();
  }
  FAIL("no error thrown");
  return {};
}

}  // namespace

TEST_CASE("grapheme clusters: every line of Unicode's GraphemeBreakTest.txt") {
  const fs::path path = "/usr/share/unicode/auxiliary/GraphemeBreakTest.txt";
  std::ifstream in(path);
  REQUIRE_MESSAGE(in, "cannot read " << path << ": install the unicode-data package");
  std::size_t n_lines = 0, n_passed = 0;
  std::string line;
  while (std::getline(in, line)) {
    line = line.substr(0, line.find('#'));
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    // "÷ 0020 × 0308 ÷ 0020 ÷": the text, and the byte offsets where a ÷ stands.
    std::istringstream fields(line);
    std::string text, token;
    std::vector<std::size_t> expected;
    while (fields >> token) {
      if (token == "\xC3\xB7") {  // ÷
        if (!text.empty()) expected.push_back(text.size());
      } else if (token != "\xC3\x97") {  // ×
        text += utf8(static_cast<char32_t>(std::stoul(token, nullptr, 16)));
      }
    }
    std::vector<std::size_t> ends;
    for (std::size_t at = 0; at < text.size();) ends.push_back(at = next_grapheme_end(text, at));
    ++n_lines;
    if (ends == expected) {
      ++n_passed;
    } else {
      std::string e, g;
      for (auto x : expected) e += " " + std::to_string(x);
      for (auto x : ends) g += " " + std::to_string(x);
      FAIL_CHECK(describe(text) << ": cluster ends expected" << e << ", got" << g << "  (" << line << ")");
    }
  }
  MESSAGE(n_passed << " of " << n_lines << " lines of GraphemeBreakTest.txt pass");
  CHECK(n_lines >= 600);  // Unicode 15.0 has 602
  CHECK(n_passed == n_lines);
}

TEST_CASE("grapheme clusters: a few familiar ones") {
  auto clusters = [](std::string_view text) {
    std::vector<std::string> out;
    for (std::size_t at = 0; at < text.size();) {
      const std::size_t end = next_grapheme_end(text, at);
      out.emplace_back(text.substr(at, end - at));
      at = end;
    }
    return out;
  };
  using v = std::vector<std::string>;
  CHECK(clusters("ab\r\nc") == v{"a", "b", "\r\n", "c"});
  CHECK(clusters("e\xCC\x81x") == v{"e\xCC\x81", "x"});                                   // e + U+0301
  CHECK(clusters("\xF0\x9F\x87\xAB\xF0\x9F\x87\xB7\xF0\x9F\x87\xA9") ==                   // flags pair up
        v{"\xF0\x9F\x87\xAB\xF0\x9F\x87\xB7", "\xF0\x9F\x87\xA9"});
  CHECK(clusters("\xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9") ==                       // man ZWJ woman
        v{"\xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9"});
  CHECK(clusters("\xE1\x84\x80\xE1\x85\xA1\xE1\x86\xA8") == v{"\xE1\x84\x80\xE1\x85\xA1\xE1\x86\xA8"});  // L V T
  CHECK(clusters("\xD8\x80\xD9\xA1") == v{"\xD8\x80\xD9\xA1"});  // U+0600 (Prepend) joins what follows
  CHECK(clusters("") == v{});
  CHECK(next_grapheme_end("abc", 3) == 3);
}

TEST_CASE("decode_base64: RFC 4648 test vectors, and each kind of bad input") {
  CHECK(decode_base64("", "x") == "");
  CHECK(decode_base64("Zg==", "x") == "f");
  CHECK(decode_base64("Zm8=", "x") == "fo");
  CHECK(decode_base64("Zm9v", "x") == "foo");
  CHECK(decode_base64("Zm9vYg==", "x") == "foob");
  CHECK(decode_base64("Zm9vYmE=", "x") == "fooba");
  CHECK(decode_base64("Zm9vYmFy", "x") == "foobar");
  CHECK(decode_base64("+/+/", "x") == "\xFB\xFF\xBF");
  // Padding may be left out, or in part (tokenizers accepts both).
  CHECK(decode_base64("Zm9vYg", "x") == "foob");
  CHECK(decode_base64("Zm9vYg=", "x") == "foob");
  CHECK(decode_base64("Zm9vYmE", "x") == "fooba");

  const std::string where = "'tokenizer.json': field 'normalizer.precompiled_charsmap'";
  auto message = [&](std::string_view text) { return error_of([&] { decode_base64(text, where); }); };
  const std::string prefix = "minilm: " + where + ": invalid base64 at character ";
  CHECK(message("Zm9v!mFy") == prefix + "4 (not a base64 character)");
  CHECK(message("Zm9v-mFy") == prefix + "4 (not a base64 character)");  // the URL-safe alphabet
  CHECK(message("Zm9vY") == prefix + "4 (a lone character ends the data)");
  CHECK(message("Zm=vYmFy") == prefix + "2 (misplaced padding)");
  CHECK(message("Zg==Zg==") == prefix + "2 (misplaced padding)");
  CHECK(message("Zm9vY===") == prefix + "4 (a lone character ends the data)");
  CHECK(message("Zm9vYg===") == prefix + "6 (too much padding)");
  CHECK(message("Zm9v=") == prefix + "4 (too much padding)");
  CHECK(message("Zh==") == prefix + "1 (nonzero trailing bits)");
  CHECK(message("Zm9=") == prefix + "2 (nonzero trailing bits)");
}

TEST_CASE("the rules, on a hand-built trie") {
  const std::string fi = "\xEF\xAC\x81";      // U+FB01 LATIN SMALL LIGATURE FI
  const std::string acute = "\xCC\x81";       // U+0301 COMBINING ACUTE ACCENT
  const std::string e_acute = "\xC3\xA9";     // U+00E9
  const std::string nbsp = "\xC2\xA0";
  trie_builder t;
  t.add(fi, "fi").add("e" + acute, e_acute).add(nbsp, " ").add("\t", " ").add("\x01", "");
  t.add(fi + acute, "never used: a shorter key prefixes it");
  const auto map = precompiled_charsmap::parse(t.blob(), "test");

  std::size_t n = 0;
  const char* r = map.transform(fi + acute, &n);
  REQUIRE(r != nullptr);
  CHECK(std::string(r, n) == "fi");  // the shortest key wins
  CHECK(map.transform("e", &n) == nullptr);
  CHECK(map.transform("x", &n) == nullptr);

  CHECK(normalize(map, "plain ascii") == "plain ascii");
  CHECK(normalize(map, "a\tb\x01" "c") == "a bc");
  CHECK(normalize(map, fi + "x") == "fix");
  CHECK(normalize(map, "e" + acute) == e_acute);               // a key of two characters
  CHECK(normalize(map, "ce" + acute + "e") == "c" + e_acute + "e");
  // A cluster under 6 bytes that a key prefixes is replaced whole: the mark goes with it.
  CHECK(normalize(map, fi + acute) == "fi");                   // 5 bytes
  CHECK(normalize(map, nbsp + acute) == " ");                  // 4 bytes
  CHECK(normalize(map, "e" + acute + acute) == e_acute);       // 5 bytes: "e" + acute is the key
  // 6 bytes or more: character by character, and the marks stay.
  CHECK(normalize(map, nbsp + acute + acute) == " " + acute + acute);
  CHECK(normalize(map, fi + acute + acute) == "fi" + acute + acute);
  CHECK(normalize(map, "e" + acute + acute + acute) == "e" + acute + acute + acute);

  precompiled_charsmap identity = precompiled_charsmap::parse("", "test");
  CHECK(identity.empty());
  CHECK(normalize(identity, fi + "\t") == fi + "\t");
}

TEST_CASE("the real multilingual-e5-small charsmap gives tokenizers' normalized text") {
  const precompiled_charsmap& map = real_charsmap();
  const fs::path path = source_root() / "tests" / "data" / "multilingual" / "normalizer_goldens.json.gz";
  const auto doc = minilm::detail::json_document::parse(gunzip(path), path.string());
  std::size_t n_texts = 0, n_matched = 0, n_changed = 0;
  for (const auto& pair : doc.root().items()) {
    const auto items = pair.items();
    REQUIRE(items.size() == 2);
    const std::string_view input = items[0].as_string(), expected = items[1].as_string();
    const std::string got = normalize(map, input);
    ++n_texts;
    n_changed += expected != input;
    if (got == expected) {
      ++n_matched;
    } else if (n_texts - n_matched <= 20) {
      FAIL_CHECK("text " << n_texts - 1 << " " << describe(input) << ": expected " << describe(expected)
                         << ", got " << describe(got));
    }
  }
  MESSAGE(n_matched << " of " << n_texts << " texts match the reference (" << n_changed
                    << " of them changed by the normalizer)");
  CHECK(n_texts > 40000);
  CHECK(n_matched == n_texts);
}

TEST_CASE("malformed blobs are refused with the offset of the fault") {
  const std::string where = "'tokenizer.json': field 'normalizer.normalizers[0].precompiled_charsmap'";
  auto message = [&](const std::string& blob) { return error_of([&] { precompiled_charsmap::parse(blob, where); }); };
  const std::string prefix = "minilm: " + where + ": precompiled charsmap: ";
  trie_builder good;
  good.add("a", "b");
  const std::vector<std::uint32_t> units = good.units();
  const std::size_t strings_at = 4 + 4 * units.size();

  SUBCASE("truncated: no room for the trie size") {
    CHECK(message(std::string("\x10\x00", 2)) == prefix + "the blob of 2 bytes has no 4-byte trie size (byte offset 0)");
  }
  SUBCASE("the trie size exceeds the blob") {
    std::string blob = good.blob();
    blob.resize(blob.size() - 12);
    CHECK(message(blob) == prefix + "the trie size " + std::to_string(4 * units.size()) + " exceeds the " +
                               std::to_string(blob.size() - 4) + " bytes after it (byte offset 0)");
  }
  SUBCASE("the trie size is not a multiple of 4") {
    std::string blob = good.blob();
    blob[0] = static_cast<char>(blob[0] + 2);
    CHECK(message(blob) == prefix + "the trie size " + std::to_string(4 * units.size() + 2) +
                               " is not a multiple of 4 (byte offset 0)");
  }
  SUBCASE("a value points outside the strings") {
    trie_builder t;
    t.add("a", "b").add_raw("c", 1000);
    const auto u = t.units();
    // The value unit of "c": the first unit of the block that unit 'c' of the root's block points to.
    const std::size_t c_unit = 256 ^ 'c', value_unit = c_unit ^ ((u[c_unit] >> 10));
    CHECK(message(t.blob()) == prefix + "value 1000 points outside the 2 bytes of replacement strings (byte offset " +
                                   std::to_string(4 + 4 * value_unit) + ")");
  }
  SUBCASE("a replacement without its NUL terminator") {
    std::string blob = good.blob();
    blob.pop_back();
    CHECK(message(blob) == prefix + "the replacement string has no NUL terminator (byte offset " +
                               std::to_string(strings_at) + ")");
  }
  SUBCASE("a replacement that is not UTF-8") {
    trie_builder t;
    t.add("a", "ok\xC3(");
    CHECK(message(t.blob()) == prefix + "the replacement string is not valid UTF-8 (byte offset " +
                                   std::to_string(strings_at + 2) + ")");
  }
  SUBCASE("a trie offset that leads past the trie") {
    std::vector<std::uint32_t> u = units;
    u[256 ^ 'a'] = 'a' | (1u << 8) | (0x7FFFu << 10);  // the children of "a" far away
    CHECK(message(trie_builder::blob(u, "b")) ==
          prefix + "a trie offset leads to unit " + std::to_string((256 ^ 'a') ^ 0x7FFF) + ", past the trie's " +
              std::to_string(u.size()) + " units (byte offset " + std::to_string(4 + 4 * (256 ^ 'a')) + ")");
  }
  SUBCASE("a node whose block of children reaches past the trie") {
    std::vector<std::uint32_t> u = units;
    u.resize(u.size() - 8);  // the last block, that of "a"'s children, is cut short
    std::string blob = trie_builder::blob(u, std::string("b\0", 2));
    CHECK(message(blob) == prefix + "the block of unit 512 reaches past the trie's " + std::to_string(u.size()) +
                               " units (byte offset " + std::to_string(4 + 4 * 512) + ")");
  }
  SUBCASE("an empty trie") {
    CHECK(message(trie_builder::u32(0) + "x") == prefix + "the trie is empty (byte offset 0)");
  }
}

TEST_CASE("a damaged real charsmap is refused or stays inside its blob") {
  // Run under AddressSanitizer (tools/ci/sanitize.sh), any read outside the blob fails this test.
  const std::string& blob = real_blob().blob;
  std::mt19937 rng(29);
  const std::string text = "Ａｂｃ ﬁ\xCC\x81 ①\t\r\n 가\xE1\x86\xA8 \xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD caf\xC3\xA9 \xEF\xBF\xBD";
  int n_refused = 0, n_accepted = 0;
  for (int round = 0; round < 100; ++round) {
    // One byte replaced, or one bit flipped, in the trie or the strings.
    std::string damaged = blob;
    const std::size_t at = 4 + rng() % (damaged.size() - 4);
    if (round % 2 == 0) {
      damaged[at] = static_cast<char>(rng());
    } else {
      damaged[at] = static_cast<char>(damaged[at] ^ (1 << (rng() % 8)));
    }
    try {
      const auto map = precompiled_charsmap::parse(damaged, "damaged");
      (void)normalize(map, text);
      ++n_accepted;
    } catch (const minilm::error& e) {
      CHECK(e.code() == errc::invalid_tokenizer);
      ++n_refused;
    }
  }
  MESSAGE(n_refused << " damaged blobs refused, " << n_accepted << " accepted and applied");
}
