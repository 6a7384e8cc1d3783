// src/tokenizer/tokenizer_json.cpp: the readers every algorithm shares (tokenizer_json.hpp).
#include "tokenizer_json.hpp"

#include <algorithm>
#include <utility>

#include "json.hpp"
#include "unicode.hpp"

MINILM_BEGIN_NAMESPACE
namespace detail {

std::string where_of(const json_value& v) { return v.source() + ": field '" + v.path() + "'"; }

void check_keys(const json_value& obj, std::initializer_list<std::string_view> known) {
  for (const auto& [key, value] : obj.members()) {
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      value.fail(errc::unsupported, "unknown setting; minilm does not implement it");
    }
  }
}

void read_template(tokenizer_model& m, const json_value& pp) {
  constexpr std::int64_t max_vocab = 1 << 24;
  const auto type = pp.at("type").as_string();
  if (type == "BertProcessing") {
    check_keys(pp, {"type", "sep", "cls"});
    auto pair_id = [](const json_value& v) {
      auto items = v.items();
      if (items.size() != 2) v.fail(errc::invalid_tokenizer, "expected [token, id]");
      return static_cast<std::int32_t>(items[1].as_int(0, max_vocab));
    };
    m.prefix_ids = {pair_id(pp.at("cls"))};
    m.suffix_ids = {pair_id(pp.at("sep"))};
    m.prefix_type_ids = {0};
    m.suffix_type_ids = {0};
    return;
  }
  if (type != "TemplateProcessing") {
    pp.at("type").fail(errc::unsupported, "post_processor '" + std::string(type) + "' is not supported");
  }
  check_keys(pp, {"type", "single", "pair", "special_tokens"});
  const auto specials = pp.at("special_tokens");
  bool seen_sequence = false;
  for (const auto& item : pp.at("single").items()) {
    const auto members = item.members();
    if (members.size() != 1) item.fail(errc::invalid_tokenizer, "expected {\"SpecialToken\": ...} or {\"Sequence\": ...}");
    const auto& [kind, body] = members[0];
    const auto type_id = static_cast<std::int32_t>(body.at("type_id").as_int(0, 1 << 16));
    if (kind == "Sequence") {
      if (body.at("id").as_string() != "A") body.at("id").fail(errc::unsupported, "a single template must use sequence A");
      if (seen_sequence) item.fail(errc::unsupported, "the sequence appears twice");
      seen_sequence = true;
      m.sequence_type_id = type_id;
    } else if (kind == "SpecialToken") {
      const auto name = body.at("id").as_string();
      auto spec = specials.find(name);
      if (!spec) body.at("id").fail(errc::invalid_tokenizer, "not listed in post_processor.special_tokens");
      // As tokenizers' SpecialToken: one id per token string, or the file is refused.
      const auto ids = spec->at("ids").items();
      if (ids.size() != spec->at("tokens").items().size()) {
        spec->at("ids").fail(errc::invalid_tokenizer, "ids and tokens must be of the same length");
      }
      for (const auto& id : ids) {
        const auto v = static_cast<std::int32_t>(id.as_int(0, max_vocab));
        (seen_sequence ? m.suffix_ids : m.prefix_ids).push_back(v);
        (seen_sequence ? m.suffix_type_ids : m.prefix_type_ids).push_back(type_id);
      }
    } else {
      item.fail(errc::unsupported, "template piece '" + std::string(kind) + "' is not supported");
    }
  }
  if (!seen_sequence) pp.at("single").fail(errc::invalid_tokenizer, "the template has no $A sequence");
}


namespace {

void read_step(const json_value& n, const normalizer_support& support, normalizer_spec& out) {
  const auto type = n.at("type").as_string();
  if (std::find(support.types.begin(), support.types.end(), type) == support.types.end()) {
    n.at("type").fail(errc::unsupported,
                      "normalizer '" + std::string(type) + "' is not supported" + std::string(support.unsupported_suffix));
  }
  normalizer_step step;
  if (type == "Sequence") {
    check_keys(n, {"type", "normalizers"});
    for (const auto& s : n.at("normalizers").items()) read_step(s, support, out);
    return;
  }
  if (type == "BertNormalizer") {
    check_keys(n, {"type", "clean_text", "handle_chinese_chars", "strip_accents", "lowercase"});
    // The generated tables implement exactly the uncased BERT normalizer.
    const bool lowercase = n.bool_or("lowercase", true);
    if (!lowercase) n.at("lowercase").fail(errc::unsupported, "only lowercase: true (uncased BERT) is supported");
    if (!n.bool_or("clean_text", true)) n.at("clean_text").fail(errc::unsupported, "only clean_text: true is supported");
    if (!n.bool_or("handle_chinese_chars", true)) {
      n.at("handle_chinese_chars").fail(errc::unsupported, "only handle_chinese_chars: true is supported");
    }
    if (auto s = n.find("strip_accents"); s && !s->is_null() && !s->as_bool()) {
      s->fail(errc::unsupported, "only strip_accents: null or true is supported");
    }
    step.kind = normalizer_step::bert;
  } else if (type == "Precompiled") {
    check_keys(n, {"type", "precompiled_charsmap"});
    if (!out.charsmap.empty()) n.fail(errc::unsupported, "a second Precompiled normalizer is not supported");
    const auto blob = n.at("precompiled_charsmap");
    std::string bytes = decode_base64(blob.as_string(), where_of(blob));
    if (bytes.empty()) blob.fail("the charsmap is empty (tokenizers cannot parse it either)");
    out.charsmap = precompiled_charsmap::parse(std::move(bytes), where_of(blob));
    step.kind = normalizer_step::precompiled;
  } else if (type == "Replace") {
    check_keys(n, {"type", "pattern", "content"});
    step.content = std::string(n.at("content").as_string());
    const auto pattern = n.at("pattern");
    if (auto s = pattern.find("String")) {
      step.kind = normalizer_step::replace_string;
      step.pattern = std::string(s->as_string());
      if (step.pattern.empty()) s->fail(errc::unsupported, "an empty pattern is not supported");
    } else if (auto r = pattern.find("Regex")) {
      // Only "c{n,}" (a literal character, n or more times), as " {2,}" of XLM-R's tokenizer.json.
      const std::string_view re = r->as_string();
      const std::size_t c = unicode::one_character(re.substr(0, re.find('{')));
      const std::string_view rest = re.substr(std::min(c, re.size()));
      std::size_t min_run = 0, k = 1;
      for (; k < rest.size() && rest[k] >= '0' && rest[k] <= '9' && min_run < 1000; ++k) min_run = min_run * 10 + (rest[k] - '0');
      const bool literal = c == 1 ? std::string_view("\\^$.|?*+()[]{}").find(re[0]) == std::string_view::npos : c > 1;
      if (c == 0 || !literal || rest.size() < 4 || rest[0] != '{' || k == 1 || rest.substr(k) != ",}" || min_run == 0) {
        r->fail(errc::unsupported, "regex '" + std::string(re) + "' is not supported (only a literal character with {n,}, like \" {2,}\")");
      }
      step.kind = normalizer_step::replace_run;
      step.pattern = std::string(re.substr(0, c));
      step.min_run = min_run;
    } else {
      pattern.fail(errc::unsupported, "expected {\"String\": ...} or {\"Regex\": ...}");
    }
  } else {  // "Strip" (models list only the types read here)
    check_keys(n, {"type", "strip_left", "strip_right"});
    step.kind = normalizer_step::strip;
    step.left = n.bool_or("strip_left", true);
    step.right = n.bool_or("strip_right", true);
  }
  out.steps.push_back(std::move(step));
}

}  // namespace

normalizer_spec read_normalizer(const json_value& n, const normalizer_support& support) {
  normalizer_spec out;
  read_step(n, support, out);
  return out;
}

std::vector<added_token> read_added_tokens(const json_value& list, const added_token_support& support) {
  std::vector<added_token> tokens;
  for (const auto& t : list.items()) {
    check_keys(t, {"id", "content", "single_word", "lstrip", "rstrip", "normalized", "special"});
    added_token a;
    a.content = std::string(t.at("content").as_string());
    if (a.content.empty()) t.at("content").fail(errc::invalid_tokenizer, "an added token cannot be empty");
    for (const auto& [flag, supported] : {std::pair{"single_word", false}, std::pair{"lstrip", support.strip},
                                          std::pair{"rstrip", support.strip}, std::pair{"normalized", support.normalized}}) {
      if (!supported && t.bool_or(flag, false)) t.at(flag).fail(errc::unsupported, "added tokens with this flag set are not supported");
    }
    a.lstrip = support.strip && t.bool_or("lstrip", false);
    a.rstrip = support.strip && t.bool_or("rstrip", false);
    a.normalized = support.normalized && t.bool_or("normalized", !t.bool_or("special", false));
    a.id = static_cast<std::int32_t>(t.at("id").as_int(0, support.max_id));
    tokens.push_back(std::move(a));
  }
  return tokens;
}

}  // namespace detail
MINILM_END_NAMESPACE
