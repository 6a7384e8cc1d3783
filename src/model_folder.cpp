#include "minilm/model_folder.hpp"

#include <algorithm>
#include <optional>
#include <system_error>

#include "json.hpp"

MINILM_BEGIN_NAMESPACE
namespace {

namespace fs = std::filesystem;

// Generous bounds: far beyond any BERT on the hub, small enough that every size product
// (vocab * hidden, tokens * intermediate, ...) fits comfortably in 64 bits.
constexpr std::int64_t max_dim = 1 << 20;
constexpr std::int64_t max_vocab = 1 << 24;
constexpr std::int64_t max_layers = 1024;
constexpr std::int64_t max_positions = 1 << 20;

bool is_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

// Two layouts exist: sentence-transformers before 5.x writes one boolean per mode
// ("pooling_mode_mean_tokens": true, ..., and "word_embedding_dimension"); later versions
// write "pooling_mode": "mean" (or a list, for concatenated poolings) and
// "embedding_dimension". As in sentence-transformers, no mode at all means mean pooling.
pooling_config read_pooling_config(const fs::path& file) {
  auto doc = detail::json_document::parse_file(file);
  const auto root = doc.root();
  pooling_config pooling;
  const auto dimension = root.find("embedding_dimension") ? root.at("embedding_dimension") : root.at("word_embedding_dimension");
  pooling.dimension = dimension.as_int(1, max_dim);

  struct mode_name {
    const char* name;         // the "pooling_mode" value
    const char* legacy_flag;  // the boolean key of the older layout
    bool supported;
    pooling_mode mode;
  };
  static constexpr mode_name modes[] = {
      {"cls", "pooling_mode_cls_token", true, pooling_mode::cls},
      {"max", "pooling_mode_max_tokens", true, pooling_mode::max},
      {"mean", "pooling_mode_mean_tokens", true, pooling_mode::mean},
      {"mean_sqrt_len_tokens", "pooling_mode_mean_sqrt_len_tokens", true, pooling_mode::mean_sqrt_len},
      {"weightedmean", "pooling_mode_weightedmean_tokens", false, pooling_mode::mean},
      {"lasttoken", "pooling_mode_lasttoken", false, pooling_mode::mean},
  };
  // (mode, the field that asked for it)
  std::vector<std::pair<const mode_name*, detail::json_value>> wanted;
  auto by_name = [&](const detail::json_value& v) {
    for (const auto& m : modes) {
      if (v.as_string() == m.name) {
        wanted.emplace_back(&m, v);
        return;
      }
    }
    v.fail(errc::unsupported, "unknown pooling mode '" + std::string(v.as_string()) + "'");
  };
  if (auto mode = root.find("pooling_mode")) {
    if (mode->is_array()) {
      for (const auto& item : mode->items()) by_name(item);
    } else {
      by_name(*mode);
    }
  } else {
    for (const auto& m : modes) {
      if (root.bool_or(m.legacy_flag, false)) wanted.emplace_back(&m, root.at(m.legacy_flag));
    }
  }
  if (wanted.size() > 1) {
    root.fail(errc::unsupported, "asks for " + std::to_string(wanted.size()) +
                                     " pooling modes at once; concatenated poolings are not supported");
  }
  if (!wanted.empty()) {
    const auto& [m, field] = wanted.front();
    if (!m->supported) field.fail(errc::unsupported, "pooling mode '" + std::string(m->name) + "' is not supported");
    pooling.mode = m->mode;
  }
  // Both layouts may carry it; sentence-transformers defaults to true.
  pooling.include_prompt = root.bool_or("include_prompt", true);
  return pooling;
}

// modules.json names classes by their Python path, which moved in sentence-transformers 5:
// "sentence_transformers.models.Pooling" became
// "sentence_transformers.sentence_transformer.modules.pooling.Pooling", and so on.
bool is_module(std::string_view type, std::string_view name) {
  static constexpr std::string_view known[][2] = {
      {"Transformer", "sentence_transformers.base.modules.transformer.Transformer"},
      {"Pooling", "sentence_transformers.sentence_transformer.modules.pooling.Pooling"},
      {"Normalize", "sentence_transformers.base.modules.normalize.Normalize"},
  };
  if (type.size() == 29 + name.size() && type.substr(0, 29) == "sentence_transformers.models." && type.substr(29) == name) {
    return true;
  }
  for (const auto& k : known) {
    if (k[0] == name && k[1] == type) return true;
  }
  return false;
}

// max_seq_length when sentence_bert_config.json does not give one, as sentence-transformers
// takes it (base/modules/transformer.py): the tokenizer's model_max_length (tokenizer_config.json)
// capped at max_position_embeddings. A model_max_length that is absent, or transformers' "no
// limit" (1e30), leaves the cap. Then, beyond sentence-transformers, capped at the tokens the
// position table takes: a RoBERTa-family model with 514 positions and no model_max_length gets
// 512, where sentence-transformers would say 514 and fail on texts longer than 512 tokens.
std::int64_t default_max_seq_length(const bert_config& config, const fs::path& tokenizer_config) {
  std::int64_t length = config.max_position_embeddings;
  if (!tokenizer_config.empty()) {
    auto doc = detail::json_document::parse_file(tokenizer_config);
    auto v = doc.root().find("model_max_length");
    if (v && !v->is_null()) {
      const double limit = v->as_double();  // may be far beyond int64
      if (!(limit >= 2)) v->fail(errc::invalid_config, "model_max_length " + std::to_string(limit) + " is below 2");
      if (limit < static_cast<double>(length)) length = static_cast<std::int64_t>(limit);
    }
  }
  return std::min(length, config.max_tokens());
}

// The RoBERTa family: BERT's encoder with positions counted from pad_token_id + 1, and
// transformers' base_model_prefix "roberta" for its tensors.
bool is_roberta_family(std::string_view model_type) {
  return model_type == "xlm-roberta" || model_type == "roberta" || model_type == "camembert";
}

// What bounds the tokens of a sequence, for messages: "max_position_embeddings is 512", or
// "positions 2 to 513 of the 514 (model_type 'xlm-roberta', pad_token_id 1)".
std::string positions_note(const bert_config& c) {
  if (c.position_offset == 0) return "max_position_embeddings in config.json is " + std::to_string(c.max_position_embeddings);
  return "config.json gives positions " + std::to_string(c.position_offset) + " to " +
         std::to_string(c.max_position_embeddings - 1) + " of the " + std::to_string(c.max_position_embeddings) +
         " (model_type '" + c.model_type + "', pad_token_id " + std::to_string(c.pad_token_id) + ")";
}

// config_sentence_transformers.json: "prompts" (name -> text) and "default_prompt_name".
void read_prompts(const fs::path& file, model_folder& m) {
  auto doc = detail::json_document::parse_file(file);
  const auto root = doc.root();
  if (auto prompts = root.find("prompts"); prompts && !prompts->is_null()) {
    for (const auto& [name, text] : prompts->members()) {
      m.prompts.push_back({std::string(name), text.is_null() ? std::string() : std::string(text.as_string())});
    }
  }
  if (auto name = root.find("default_prompt_name"); name && !name->is_null()) {
    const std::string wanted(name->as_string());
    const bool known = wanted == "query" || wanted == "document" ||
                       std::any_of(m.prompts.begin(), m.prompts.end(), [&](const prompt& p) { return p.name == wanted; });
    if (!known) {
      std::string names = "'query', 'document'";
      for (const prompt& p : m.prompts) {
        if (p.name != "query" && p.name != "document") names += ", '" + p.name + "'";
      }
      name->fail("default prompt '" + wanted + "' is not one of the prompts (" + names + ")");
    }
    m.default_prompt_name = wanted;
  }
}

}  // namespace

const char* pooling_mode_name(pooling_mode mode) noexcept {
  switch (mode) {
    case pooling_mode::mean: return "mean";
    case pooling_mode::cls: return "cls";
    case pooling_mode::max: return "max";
    case pooling_mode::mean_sqrt_len: return "mean_sqrt_len";
  }
  return "?";
}

bert_config read_bert_config(const fs::path& config_json) {
  auto doc = detail::json_document::parse_file(config_json);
  const auto root = doc.root();
  bert_config c;
  c.model_type = root.string_or("model_type", "bert");
  if (c.model_type != "bert" && !is_roberta_family(c.model_type)) {
    root.at("model_type").fail(errc::unsupported, "model_type '" + c.model_type +
                                                      "' is not supported (bert, xlm-roberta, roberta, camembert)");
  }
  const bool roberta = is_roberta_family(c.model_type);
  c.vocab_size = root.at("vocab_size").as_int(1, max_vocab);
  c.hidden_size = root.at("hidden_size").as_int(1, max_dim);
  c.n_layers = root.at("num_hidden_layers").as_int(1, max_layers);
  c.n_heads = root.at("num_attention_heads").as_int(1, max_dim);
  c.intermediate_size = root.at("intermediate_size").as_int(1, max_dim);
  // At least 2: every sequence holds [CLS] and [SEP].
  c.max_position_embeddings = root.int_or("max_position_embeddings", 512, 2, max_positions);
  c.type_vocab_size = root.int_or("type_vocab_size", 2, 1, max_vocab);
  // BERT never reads it; the RoBERTa family numbers positions from it, so it must be given
  // (transformers' default is 1) and not null.
  if (roberta) {
    if (auto pad = root.find("pad_token_id"); pad && pad->is_null()) {
      pad->fail("model_type '" + c.model_type + "' numbers positions from pad_token_id + 1: it cannot be null");
    }
  }
  c.pad_token_id = root.int_or("pad_token_id", roberta ? 1 : 0, 0, c.vocab_size - 1);
  c.layer_norm_eps = root.double_or("layer_norm_eps", 1e-12);
  c.hidden_act = root.string_or("hidden_act", "gelu");
  c.position_embedding_type = root.string_or("position_embedding_type", "absolute");
  c.position_offset = roberta ? c.pad_token_id + 1 : 0;

  if (c.hidden_size % c.n_heads != 0) {
    root.at("num_attention_heads").fail("num_attention_heads (" + std::to_string(c.n_heads) +
                                        ") does not divide hidden_size (" + std::to_string(c.hidden_size) + ")");
  }
  if (!(c.layer_norm_eps > 0 && c.layer_norm_eps < 1)) root.at("layer_norm_eps").fail("must be in (0, 1)");
  if (c.max_tokens() < 2) {
    const auto field = root.find("pad_token_id") ? root.at("pad_token_id") : root.at("max_position_embeddings");
    field.fail("model_type '" + c.model_type + "' numbers positions from pad_token_id + 1 = " +
               std::to_string(c.position_offset) + ", which leaves " + std::to_string(c.max_tokens()) +
               " of the max_position_embeddings (" + std::to_string(c.max_position_embeddings) +
               ") positions; a sequence needs at least 2");
  }
  if (c.hidden_act != "gelu") {
    root.at("hidden_act").fail(errc::unsupported, "hidden_act '" + c.hidden_act + "' is not supported (only 'gelu')");
  }
  if (c.position_embedding_type != "absolute") {
    root.at("position_embedding_type")
        .fail(errc::unsupported, "position_embedding_type '" + c.position_embedding_type + "' is not supported");
  }
  return c;
}

model_folder read_model_folder(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_directory(path, ec)) {
    throw error(errc::io, "model folder '" + path.string() + "' does not exist or is not a directory");
  }
  model_folder m;
  m.path = path;
  m.config = read_bert_config(path / "config.json");

  // modules.json: the sentence-transformers pipeline. Without it, sentence-transformers
  // builds Transformer + mean Pooling, and so do we.
  fs::path pooling_dir;
  const fs::path modules = path / "modules.json";
  if (is_file(modules)) {
    auto doc = detail::json_document::parse_file(modules);
    bool has_transformer = false;
    for (const auto& module : doc.root().items()) {
      const std::string type(module.at("type").as_string());
      const std::string module_path(module.string_or("path", ""));
      if (is_module(type, "Transformer")) {
        if (has_transformer || !module_path.empty()) {
          module.fail(errc::unsupported, "only one Transformer module, stored at the folder's root, is supported");
        }
        has_transformer = true;
      } else if (is_module(type, "Pooling")) {
        if (module_path.empty() || module_path.find("..") != std::string::npos || module_path.front() == '/') {
          module.at("path").fail("Pooling path must be a subfolder name");
        }
        pooling_dir = path / module_path;
      } else if (is_module(type, "Normalize")) {
        m.normalize = true;
      } else {
        module.at("type").fail(errc::unsupported, "module type '" + type + "' is not supported");
      }
    }
    if (!has_transformer) doc.root().fail(errc::unsupported, "no sentence_transformers.models.Transformer module");
  } else if (is_file(path / "1_Pooling" / "config.json")) {
    pooling_dir = path / "1_Pooling";
  }

  if (!pooling_dir.empty()) {
    m.pooling = read_pooling_config(pooling_dir / "config.json");
    if (m.pooling.dimension != m.config.hidden_size) {
      throw error(errc::invalid_config, "'" + (pooling_dir / "config.json").string() + "': word_embedding_dimension (" +
                                            std::to_string(m.pooling.dimension) + ") differs from hidden_size (" +
                                            std::to_string(m.config.hidden_size) + ") in config.json");
    }
  } else {
    m.pooling.dimension = m.config.hidden_size;
  }

  m.weights = path / "model.safetensors";
  if (!is_file(m.weights)) {
    throw error(errc::io, "model folder '" + path.string() + "' has no model.safetensors" +
                              (is_file(path / "pytorch_model.bin") ? " (pytorch_model.bin is not supported: convert it to safetensors)" : ""));
  }
  if (is_file(path / "tokenizer.json")) m.tokenizer_json = path / "tokenizer.json";
  if (is_file(path / "vocab.txt")) m.vocab_txt = path / "vocab.txt";
  if (is_file(path / "tokenizer_config.json")) m.tokenizer_config_json = path / "tokenizer_config.json";
  for (const char* name : {"sentencepiece.bpe.model", "sentencepiece.model"}) {
    if (m.sentencepiece_model.empty() && is_file(path / name)) m.sentencepiece_model = path / name;
  }
  if (m.tokenizer_json.empty() && m.vocab_txt.empty() && m.sentencepiece_model.empty()) {
    throw error(errc::io, "model folder '" + path.string() +
                              "' has no tokenizer: neither tokenizer.json, vocab.txt nor sentencepiece.bpe.model");
  }

  std::optional<std::int64_t> max_seq_length;
  const fs::path sbert = path / "sentence_bert_config.json";
  if (is_file(sbert)) {
    auto doc = detail::json_document::parse_file(sbert);
    if (auto v = doc.root().find("max_seq_length"); v && !v->is_null()) {
      max_seq_length = v->as_int();
      if (*max_seq_length < 2 || *max_seq_length > m.config.max_tokens()) {
        v->fail("value " + std::to_string(*max_seq_length) + " is outside the allowed range [2, " +
                std::to_string(m.config.max_tokens()) + "]: " + positions_note(m.config));
      }
    }
    m.do_lower_case = doc.root().bool_or("do_lower_case", false);
  }
  m.max_seq_length = max_seq_length ? *max_seq_length : default_max_seq_length(m.config, m.tokenizer_config_json);

  if (const fs::path st_config = path / "config_sentence_transformers.json"; is_file(st_config)) {
    read_prompts(st_config, m);
  }
  return m;
}

MINILM_END_NAMESPACE
