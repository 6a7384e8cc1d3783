// src/tokenizer/unigram_files.cpp: a Unigram tokenizer from a model folder: tokenizer.json with
// model "Unigram", or sentencepiece.bpe.model + tokenizer_config.json; into a unigram_model.
//
// What a folder means is what AutoTokenizer in transformers 5 (which sentence-transformers
// calls) makes of it, and that depends on the tokenizer class the folder names
// (tokenizer_config.json's tokenizer_class, else config.json's, else the model_type):
//   - PreTrainedTokenizerFast / TokenizersBackend, or no class: tokenizer.json as written
//     (normalizer, pre_tokenizer, post_processor, added tokens), as tokenizers runs it.
//   - XLMRobertaTokenizer (the class of every XLM-R folder on the hub, and of model_type
//     "xlm-roberta"): transformers keeps only the vocabulary, the precompiled charsmap and the
//     added tokens of tokenizer.json (or of the .model, through its XLMRobertaConverter) and
//     builds the rest itself (tokenization_xlm_roberta.py): normalizer = the charsmap alone,
//     pre-tokenizer = WhitespaceSplit + Metaspace(prepend "always", or "never" when
//     add_prefix_space is false), unk_id 3, template <s> $A </s> from bos_token and eos_token.
//     The tokenizer.json's Replace(" {2,}") is then not applied, and White_Space next to an
//     added token or at the end of a text makes no "▁" piece.
// Every setting is checked here; anything else is errc::unsupported naming the file and field.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "json.hpp"
#include "mapped_file.hpp"
#include "sentencepiece_model.hpp"
#include "tokenizer_json.hpp"
#include "unicode.hpp"
#include "unigram.hpp"

MINILM_BEGIN_NAMESPACE
namespace detail {
namespace {

namespace fs = std::filesystem;
namespace uc = detail::unicode;

constexpr std::size_t max_pieces = std::size_t{1} << 24;

// ---- What the folder says about the tokenizer ------------------------------------------------

struct folder_settings {
  std::optional<json_document> config_doc;  // tokenizer_config.json
  std::optional<json_document> model_doc;   // config.json, when it names the class
  std::optional<json_value> config;         // config_doc's root
  std::optional<json_value> class_field;    // the field that names the tokenizer class
  bool xlm_roberta = false;                 // transformers rebuilds it as XLMRobertaTokenizer
};

folder_settings read_folder_settings(const model_folder& folder) {
  folder_settings f;
  if (!folder.tokenizer_config_json.empty()) {
    f.config_doc.emplace(json_document::parse_file(folder.tokenizer_config_json));
    f.config = f.config_doc->root();
    if (!f.config->is_object()) f.config->fail(errc::invalid_config, "expected an object");
    if (auto c = f.config->find("tokenizer_class"); c && !c->is_null()) f.class_field = c;
  }
  if (!f.class_field && !folder.path.empty() && fs::is_regular_file(folder.path / "config.json")) {
    f.model_doc.emplace(json_document::parse_file(folder.path / "config.json"));
    if (auto c = f.model_doc->root().find("tokenizer_class"); c && !c->is_null()) f.class_field = c;
  }
  if (!f.class_field) {
    f.xlm_roberta = folder.config.model_type == "xlm-roberta";
    return f;
  }
  const std::string name(f.class_field->as_string());
  if (name == "XLMRobertaTokenizer" || name == "XLMRobertaTokenizerFast") {
    f.xlm_roberta = true;
  } else if (name != "PreTrainedTokenizerFast" && name != "TokenizersBackend") {
    f.class_field->fail(errc::unsupported, "tokenizer class '" + name +
                                               "' with a Unigram model is not supported (XLMRobertaTokenizer and "
                                               "PreTrainedTokenizerFast are)");
  }
  return f;
}

// A special token of tokenizer_config.json (a string or an AddedToken object): `fallback` when
// the file does not name it (transformers' default), nullopt when it is null.
struct config_token {
  std::string content;
  bool lstrip = false, rstrip = false;
};
std::optional<config_token> special_token(const folder_settings& f, std::string_view key, std::string_view fallback) {
  std::optional<json_value> v;
  if (f.config) v = f.config->find(key);
  if (!v) return config_token{std::string(fallback)};
  if (v->is_null()) return std::nullopt;
  if (v->is_string()) return config_token{std::string(v->as_string())};
  if (v->bool_or("single_word", false)) v->at("single_word").fail(errc::unsupported, "single_word tokens are not supported");
  return config_token{std::string(v->at("content").as_string()), v->bool_or("lstrip", false), v->bool_or("rstrip", false)};
}

// ---- Vocabulary -----------------------------------------------------------------------------

// Checks that pieces are unique, then builds the lookup tables.
void finish_vocabulary(unigram_model& u, const std::function<void(std::size_t, std::size_t)>& duplicate,
                       const std::string& source) {
  std::vector<std::pair<std::size_t, std::size_t>> duplicates;
  if (!u.build(duplicates)) throw error(errc::invalid_tokenizer, source + ": the vocabulary is too large (more than 2^23 bytes)");
  if (!duplicates.empty()) {
    // The one a reader meets first: the duplicate with the lowest index.
    const auto first = *std::min_element(duplicates.begin(), duplicates.end());
    duplicate(first.first, first.second);
  }
}

// model.vocab: [[piece, score], ...]. Read from simdjson directly: 250,000 entries.
void read_vocab(unigram_model& u, const json_value& vocab) {
  simdjson::dom::array entries;
  if (vocab.raw().get_array().get(entries) != simdjson::SUCCESS) {
    vocab.fail(std::string("expected an array of [piece, score] pairs, found ") + vocab.type_name());
  }
  const std::size_t n = entries.size();
  if (n == 0 || n > max_pieces) vocab.fail("the vocabulary must have between 1 and 2^24 entries");
  auto bad = [&](std::size_t i, const std::string& what) { vocab.items()[i].fail(what); };
  u.offsets.reserve(n + 1);
  u.scores.reserve(n);
  std::size_t i = 0;
  for (simdjson::dom::element item : entries) {
    simdjson::dom::array pair;
    std::string_view piece;
    double score = 0;
    if (item.get_array().get(pair) != simdjson::SUCCESS || pair.size() != 2 ||
        pair.at(0).get_string().get(piece) != simdjson::SUCCESS) {
      bad(i, "expected [piece, score]");
    }
    if (pair.at(1).get_double().get(score) != simdjson::SUCCESS || !std::isfinite(score)) {
      bad(i, "the score of '" + std::string(piece) + "' is not a finite number");
    }
    u.add_piece(piece, score);
    ++i;
  }
  finish_vocabulary(
      u,
      [&](std::size_t at, std::size_t first) {
        bad(at, "piece '" + std::string(u.piece(at)) + "' appears twice (first at index " + std::to_string(first) + ")");
      },
      vocab.source());
}

// ---- Normalizer and pre-tokenizer (tokenizer.json as written) --------------------------------

void read_metaspace(unigram_model& u, const json_value& p) {
  check_keys(p, {"type", "replacement", "add_prefix_space", "prepend_scheme", "split", "str_rep"});
  const auto rep = p.at("replacement");
  if (uc::one_character(rep.as_string()) == 0) rep.fail(errc::invalid_tokenizer, "expected exactly one character");
  u.replacement = std::string(rep.as_string());
  u.split = p.bool_or("split", true);
  u.prepend = prepend_scheme::always;
  if (auto s = p.find("prepend_scheme"); s && !s->is_null()) {
    const auto scheme = s->as_string();
    if (scheme == "first") u.prepend = prepend_scheme::first;
    else if (scheme == "never") u.prepend = prepend_scheme::never;
    else if (scheme != "always") s->fail(errc::unsupported, "prepend_scheme '" + std::string(scheme) + "' is not supported");
  }
  // The older add_prefix_space: true says nothing more; false must agree with "never", as
  // tokenizers requires when it reads the file.
  if (auto a = p.find("add_prefix_space"); a && !a->is_null() && !a->as_bool() && u.prepend != prepend_scheme::never) {
    a->fail(errc::invalid_tokenizer, "add_prefix_space false does not match prepend_scheme");
  }
}

void read_pre_tokenizer(unigram_model& u, const json_value& p) {
  if (p.is_null()) p.fail(errc::unsupported, "a Unigram tokenizer without the Metaspace pre-tokenizer is not supported");
  const auto type = p.at("type").as_string();
  if (type == "Metaspace") {
    read_metaspace(u, p);
    return;
  }
  // [WhitespaceSplit, Metaspace], as transformers 5 saves an XLM-R tokenizer.
  const auto steps = type == "Sequence" ? p.at("pretokenizers").items() : std::vector<json_value>{};
  if (type == "Sequence") check_keys(p, {"type", "pretokenizers"});
  if (steps.size() != 2 || steps[0].at("type").as_string() != "WhitespaceSplit" ||
      steps[1].at("type").as_string() != "Metaspace") {
    p.fail(errc::unsupported, "only Metaspace, or Sequence [WhitespaceSplit, Metaspace], is supported with a Unigram model");
  }
  check_keys(steps[0], {"type"});
  read_metaspace(u, steps[1]);
  u.whitespace_split = true;
  if (u.prepend == prepend_scheme::first) {
    steps[1].at("prepend_scheme").fail(errc::unsupported, "prepend_scheme 'first' after WhitespaceSplit is not supported");
  }
}

// ---- Added tokens ----------------------------------------------------------------------------

// tokenizer.json's added_tokens. A token whose text is a piece takes the piece's id, as
// tokenizers does when it reads the file; any other must carry the next id after the
// vocabulary and the tokens before it.
std::vector<added_token> read_unigram_added_tokens(const unigram_model& u, const json_value& list) {
  std::vector<added_token> tokens =
      read_added_tokens(list, {.strip = true, .normalized = true, .max_id = std::int64_t{1} << 30});
  std::int32_t next_id = static_cast<std::int32_t>(u.size());
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    added_token& a = tokens[i];
    const std::int32_t piece_id = u.by_piece.find(a.content.data(), a.content.size());
    if (piece_id >= 0) {
      a.id = piece_id;
    } else if (a.id == next_id) {
      ++next_id;
    } else {
      list.items()[i].at("id").fail(errc::invalid_tokenizer,
                                    "'" + a.content + "' is not a piece, so its id must be " + std::to_string(next_id));
    }
  }
  return tokens;
}

// The tokens into the model's two sets; those matched in normalized text are normalized first.
void install_added_tokens(unigram_model& u, std::vector<added_token> tokens, const std::string& source) {
  std::string out, tmp;
  for (added_token& t : tokens) {
    u.added_by_text.emplace_back(t.content, t.id);
    if (t.normalized) {
      u.normalize(t.content, out, tmp);
      if (out.empty()) {
        throw error(errc::unsupported, source + ": added token '" + t.content + "' is empty once normalized");
      }
      t.content = out;
      u.normalized_added.tokens.push_back(std::move(t));
    } else {
      u.added.tokens.push_back(std::move(t));
    }
  }
  u.added.finish();
  u.normalized_added.finish();
}

// ---- transformers' XLMRobertaTokenizer --------------------------------------------------------

// The pipeline XLMRobertaTokenizer builds around a vocabulary and a charsmap (see the top of
// this file). `tokens` are the added tokens the files declare; the special tokens of
// tokenizer_config.json that are not among them are added, and its added_tokens_decoder sets
// the flags of the tokens it lists.
void build_xlm_roberta(unigram_model& u, const folder_settings& f,
                       std::vector<added_token> tokens, const std::string& source) {
  if (u.size() <= 3) throw error(errc::invalid_tokenizer, source + ": XLMRobertaTokenizer needs <unk> at id 3");
  u.unk_id = 3;
  u.normalizers.clear();
  if (!u.charsmap.empty()) u.normalizers.push_back(normalizer_step{});
  u.whitespace_split = true;
  u.replacement = "\xE2\x96\x81";
  u.split = true;
  u.prepend = f.config && !f.config->bool_or("add_prefix_space", true) ? prepend_scheme::never : prepend_scheme::always;

  auto piece_id = [&](const std::string& content, const std::string& what) {
    for (const auto& t : tokens) {
      if (t.content == content) return t.id;
    }
    const std::int32_t id = u.by_piece.find(content.data(), content.size());
    if (id < 0) {
      throw error(errc::unsupported, (f.config ? f.config->source() : source) + ": " + what + " '" + content +
                                         "' is not in the vocabulary");
    }
    return id;
  };
  static constexpr std::pair<const char*, const char*> specials[] = {
      {"bos_token", "<s>"}, {"eos_token", "</s>"}, {"unk_token", "<unk>"}, {"sep_token", "</s>"},
      {"pad_token", "<pad>"}, {"cls_token", "<s>"}, {"mask_token", "<mask>"}};
  for (const auto& [key, fallback] : specials) {
    const auto t = special_token(f, key, fallback);
    if (!t) continue;
    if (std::any_of(tokens.begin(), tokens.end(), [&](const added_token& a) { return a.content == t->content; })) continue;
    tokens.push_back({t->content, piece_id(t->content, key), t->lstrip, t->rstrip, false});
  }
  if (auto decoder = f.config ? f.config->find("added_tokens_decoder") : std::nullopt; decoder && !decoder->is_null()) {
    for (const auto& [key, t] : decoder->members()) {
      check_keys(t, {"content", "single_word", "lstrip", "rstrip", "normalized", "special", "__type"});
      const std::string content(t.at("content").as_string());
      if (t.bool_or("single_word", false)) t.at("single_word").fail(errc::unsupported, "single_word tokens are not supported");
      std::int32_t id = -1;
      if (std::from_chars(key.data(), key.data() + key.size(), id).ec != std::errc{} || id < 0) {
        t.fail(errc::invalid_config, "expected a token id as the key");
      }
      auto it = std::find_if(tokens.begin(), tokens.end(), [&](const added_token& a) { return a.id == id; });
      if (it == tokens.end()) {
        if (piece_id(content, "added token") != id) t.fail(errc::unsupported, "'" + content + "' is not piece " + std::string(key));
        tokens.push_back({content, id});
        it = tokens.end() - 1;
      } else if (it->content != content) {
        t.at("content").fail(errc::unsupported, "the tokenizer has '" + it->content + "' at id " + std::string(key));
      }
      it->lstrip = t.bool_or("lstrip", false);
      it->rstrip = t.bool_or("rstrip", false);
      it->normalized = t.bool_or("normalized", false);
    }
  }
  const auto bos = special_token(f, "bos_token", "<s>"), eos = special_token(f, "eos_token", "</s>");
  if (!bos || !eos) throw error(errc::unsupported, f.config->source() + ": XLMRobertaTokenizer needs bos_token and eos_token");
  u.prefix_ids = {piece_id(bos->content, "bos_token")};
  u.suffix_ids = {piece_id(eos->content, "eos_token")};
  u.prefix_type_ids = {0};
  u.suffix_type_ids = {0};
  u.sequence_type_id = 0;
  const auto pad = special_token(f, "pad_token", "<pad>");
  u.pad_id = pad ? piece_id(pad->content, "pad_token") : 0;
  install_added_tokens(u, std::move(tokens), source);
}

// The last checks of both readers.
void finish_model(unigram_model& u, const model_folder& folder) {
  if (folder.do_lower_case) {
    throw error(errc::unsupported, (folder.path / "sentence_bert_config.json").string() +
                                       ": field 'do_lower_case': lowercasing before a Unigram tokenizer is not supported");
  }
  u.vocab_size = u.size();
}

}  // namespace

std::shared_ptr<tokenizer_model> read_unigram_json(const tokenizer_json& json) {
  const json_value& root = json.root;
  const std::string& source = json.source;
  const model_folder& folder = json.folder;
  const folder_settings f = read_folder_settings(folder);
  auto u = std::make_shared<unigram_model>();
  const auto model = root.at("model");
  check_keys(model, {"type", "unk_id", "vocab", "byte_fallback"});
  if (model.bool_or("byte_fallback", false)) model.at("byte_fallback").fail(errc::unsupported, "byte_fallback is not supported");
  const auto normalizer = root.at("normalizer");
  if (f.xlm_roberta) {
    // Only the charsmap counts: the one Precompiled normalizer, alone or in the top Sequence.
    std::vector<json_value> steps;
    if (!normalizer.is_null()) {
      steps = normalizer.at("type").as_string() == "Sequence" ? normalizer.at("normalizers").items()
                                                                : std::vector<json_value>{normalizer};
    }
    for (const auto& step : steps) {
      if (step.at("type").as_string() != "Precompiled") continue;
      const auto blob = step.at("precompiled_charsmap");
      u->charsmap = precompiled_charsmap::parse(decode_base64(blob.as_string(), where_of(blob)), where_of(blob));
      break;
    }
  } else if (!normalizer.is_null()) {
    normalizer_spec spec =
        read_normalizer(normalizer, {{"Sequence", "Precompiled", "Replace", "Strip"}, " with a Unigram model"});
    u->normalizers = std::move(spec.steps);
    u->charsmap = std::move(spec.charsmap);
  }
  read_vocab(*u, model.at("vocab"));
  u->unk_id = static_cast<std::int32_t>(model.at("unk_id").as_int(0, static_cast<std::int64_t>(u->size()) - 1));
  std::vector<added_token> tokens;
  if (auto added = root.find("added_tokens"); added && !added->is_null()) tokens = read_unigram_added_tokens(*u, *added);

  if (f.xlm_roberta) {
    build_xlm_roberta(*u, f, std::move(tokens), source);
    finish_model(*u, folder);
    return u;
  }
  read_pre_tokenizer(*u, root.at("pre_tokenizer"));
  const auto pp = root.at("post_processor");
  if (pp.is_null()) pp.fail(errc::unsupported, "a tokenizer without a post-processor (<s> ... </s>) is not supported");
  read_template(*u, pp);
  const auto known = [&](std::int32_t id) {
    return static_cast<std::size_t>(id) < u->size() ||
           std::any_of(tokens.begin(), tokens.end(), [&](const added_token& t) { return t.id == id; });
  };
  for (const auto* ids : {&u->prefix_ids, &u->suffix_ids}) {
    for (std::int32_t id : *ids) {
      if (!known(id)) pp.fail(errc::invalid_tokenizer, "special token id " + std::to_string(id) + " is outside the vocabulary");
    }
  }
  // The pad id: the padding block's, else tokenizer_config.json's pad_token, else "<pad>".
  u->pad_id = 0;
  const auto padding = root.find("padding");
  if (padding && !padding->is_null() && padding->find("pad_id")) {
    u->pad_id = static_cast<std::int32_t>(padding->at("pad_id").as_int(0, std::int64_t{1} << 30));
  } else if (const auto pad = special_token(f, "pad_token", "<pad>")) {
    const std::int32_t id = u->by_piece.find(pad->content.data(), pad->content.size());
    if (id >= 0) u->pad_id = id;
  }
  install_added_tokens(*u, std::move(tokens), source);
  finish_model(*u, folder);
  return u;
}

std::shared_ptr<unigram_model> read_sentencepiece_folder(const model_folder& folder) {
  const std::string source = "'" + folder.sentencepiece_model.string() + "'";
  const folder_settings f = read_folder_settings(folder);
  if (!f.xlm_roberta) {
    throw error(errc::unsupported, source + ": a sentencepiece model is read as XLMRobertaTokenizer reads it; the folder "
                                            "must name that tokenizer_class or have model_type \"xlm-roberta\"");
  }
  // transformers reads the pieces, the charsmap and the trainer's model type; the rest of the
  // normalizer spec (dummy prefix, whitespace handling) gives way to XLMRobertaTokenizer's own
  // pipeline, and byte_fallback to its Unigram(byte_fallback=False).
  const sentencepiece_proto proto = sentencepiece_proto::parse(read_file(folder.sentencepiece_model, 256u << 20), source);
  if (proto.model_type != 1) {
    throw error(errc::unsupported, source + ": trainer_spec.model_type is " + std::to_string(proto.model_type) +
                                       "; only UNIGRAM (1) is supported");
  }
  if (proto.pieces.size() < 3) throw error(errc::invalid_tokenizer, source + ": fewer than 3 pieces");
  // XLMRobertaConverter's table: <s> <pad> </s> <unk> (fairseq's ids 0-3), the pieces from spm
  // id 3 on (so HF id = spm id + 1), then <mask>. The names come from tokenizer_config.json.
  auto u = std::make_shared<unigram_model>();
  u->charsmap = precompiled_charsmap::parse(proto.precompiled_charsmap, source + ": normalizer_spec.precompiled_charsmap");
  auto name = [&](const char* key, const char* fallback) {
    const auto t = special_token(f, key, fallback);
    return t ? t->content : std::string(fallback);
  };
  u->add_piece(name("bos_token", "<s>"), 0.0);
  u->add_piece(name("pad_token", "<pad>"), 0.0);
  u->add_piece(name("eos_token", "</s>"), 0.0);
  u->add_piece(name("unk_token", "<unk>"), 0.0);
  for (std::size_t i = 3; i < proto.pieces.size(); ++i) u->add_piece(proto.pieces[i].text, proto.pieces[i].score);
  u->add_piece(name("mask_token", "<mask>"), 0.0);
  finish_vocabulary(
      *u,
      [&](std::size_t at, std::size_t first) {
        throw error(errc::invalid_tokenizer, source + ": piece '" + std::string(u->piece(at)) + "' (id " + std::to_string(at) +
                                                 ") appears twice (first at id " + std::to_string(first) + ")");
      },
      source);
  // Control and user-defined pieces are added tokens matched in the raw text (SentencePieceExtractor).
  std::vector<added_token> tokens;
  for (const auto& p : proto.pieces) {
    if (p.type != sentencepiece_proto::control && p.type != sentencepiece_proto::user_defined) continue;
    const std::int32_t id = u->by_piece.find(p.text.data(), p.text.size());
    if (id >= 0 && !p.text.empty()) tokens.push_back({p.text, id});
  }
  build_xlm_roberta(*u, f, std::move(tokens), source);
  finish_model(*u, folder);
  return u;
}

}  // namespace detail
MINILM_END_NAMESPACE
