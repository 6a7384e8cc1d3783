#include "minilm/weights.hpp"

#include <cmath>
#include <cstring>

#include "int8_format.hpp"

MINILM_BEGIN_NAMESPACE
namespace {

using detail::int8_scheme;
using detail::max_outliers;
using detail::quantization_field;

// The longest row an int8 product takes: its int32 sums of products of values within
// [-128, 127] by ones within [-127, 127] cannot overflow below 2^31 / (128 * 127) terms.
constexpr std::int64_t max_int8_row = 131072;

// The precision the file's metadata names: "minilm.quantization" absent is F32.
weight_precision precision_of(const safetensors_file& file) {
  const auto& meta = file.metadata();
  const auto it = meta.find(quantization_field);
  if (it == meta.end()) return weight_precision::f32;
  if (it->second == int8_scheme) return weight_precision::int8;
  throw error(errc::unsupported, file.source() + ": metadata field '" + quantization_field + "' is '" + it->second +
                                     "', a scheme this version does not know (it reads '" + int8_scheme + "')");
}

class binder {
 public:
  // Tensor names carry no prefix (BertModel, XLMRobertaModel saved alone) or the model's
  // base_model_prefix (saved from a model with a head): "bert." for BERT, "roberta." for the
  // RoBERTa family (XLMRobertaModel, RobertaModel, CamembertModel). A file holding the other
  // family's names does not fit config.json's model_type: transformers would not load it.
  binder(const safetensors_file& file, bert_weights& out, const bert_config& config) : file_(file), out_(out) {
    out_.precision = precision_of(file);
    const bool roberta = config.roberta_family();
    const std::string own = roberta ? "roberta." : "bert.", other = roberta ? "bert." : "roberta.";
    const std::string probe = "embeddings.word_embeddings.weight";
    out_.prefix = file.find(own + probe) != nullptr ? own : "";
    if (out_.prefix.empty() && file.find(probe) == nullptr && file.find(other + probe) != nullptr) {
      const std::string family = roberta ? "BERT" : "RoBERTa-family";
      throw error(errc::invalid_tensor, file_.source() + ": holds tensor '" + other + probe + "', named for a " + family +
                                            " model, but config.json says model_type '" + config.model_type +
                                            "' (whose tensors are named '" + probe + "' or '" + own + probe + "')");
    }
  }

  // The tensor `name` (without prefix), checked against `shape`.
  const tensor_view& find(const std::string& name, std::initializer_list<std::int64_t> shape) {
    const std::string full = out_.prefix + name;
    const tensor_view* t = file_.find(full);
    if (t == nullptr) {
      throw error(errc::missing_tensor, file_.source() + ": the model needs tensor '" + full + "', which is missing");
    }
    if (!std::equal(t->shape().begin(), t->shape().end(), shape.begin(), shape.end())) {
      std::string want = "[";
      for (auto d : shape) want += (want.size() > 1 ? ", " : "") + std::to_string(d);
      throw error(errc::invalid_tensor, file_.source() + ": tensor " + t->describe() + " should have shape " + want +
                                            "] according to config.json");
    }
    return *t;
  }

  // A float pointer to the tensor `name` (without prefix), checked against `shape`.
  const float* get(const std::string& name, std::initializer_list<std::int64_t> shape) {
    const tensor_view* t = &find(name, shape);
    if (t->type() == dtype::i8) {
      throw error(errc::invalid_tensor, file_.source() + ": tensor " + t->describe() +
                                            (out_.precision == weight_precision::int8
                                                 ? " is I8, but only the linear layers' weights may be int8"
                                                 : " is I8, but the file's metadata has no '" + std::string(quantization_field) +
                                                       "' field saying how (int8 files come from minilm quantize)"));
    }
    switch (t->type()) {
      case dtype::f32:
        if (t->f32_in_place()) return t->f32();
        [[fallthrough]];  // unaligned in the file: copied, like a conversion
      case dtype::f16:
      case dtype::bf16: {
        std::vector<float> v = t->to_f32();
        auto owned = std::make_unique<float[]>(v.size());
        std::copy(v.begin(), v.end(), owned.get());
        out_.converted_bytes += v.size() * sizeof(float);
        out_.converted.push_back(std::move(owned));
        return out_.converted.back().get();
      }
      default:
        throw error(errc::invalid_tensor, file_.source() + ": tensor " + t->describe() +
                                              " has a dtype the forward pass cannot use (F32, F16 or BF16)");
    }
  }

  linear_weights linear(const std::string& name, std::int64_t n_out, std::int64_t n_in) {
    if (out_.precision == weight_precision::f32) {
      return {get(name + ".weight", {n_out, n_in}), get(name + ".bias", {n_out}), n_out, n_in};
    }
    const tensor_view& w = find(name + ".weight", {n_out, n_in});
    if (w.type() != dtype::i8) {
      throw error(errc::invalid_tensor, file_.source() + ": tensor " + w.describe() + " should be I8: the metadata says " +
                                            quantization_field + " '" + int8_scheme + "'");
    }
    if (n_in > max_int8_row) {
      throw error(errc::invalid_tensor, file_.source() + ": tensor " + w.describe() + " has rows of " + std::to_string(n_in) +
                                            " values; int8 rows are at most " + std::to_string(max_int8_row));
    }
    const float* scale = get(name + ".weight_scale", {n_out});
    for (std::int64_t j = 0; j < n_out; ++j) {
      if (!(std::isfinite(scale[j]) && scale[j] >= 0.0f)) {
        throw error(errc::invalid_tensor, file_.source() + ": tensor '" + out_.prefix + name + ".weight_scale' holds " +
                                              std::to_string(scale[j]) + " at " + std::to_string(j) +
                                              "; scales are finite and not negative");
      }
    }
    linear_weights l{nullptr, get(name + ".bias", {n_out}), n_out, n_in};
    l.weight_i8 = reinterpret_cast<const std::int8_t*>(w.bytes().data());
    l.weight_scale = scale;
    bind_outliers(name, l);
    return l;
  }

  // "<name>.outlier_index" and "<name>.outlier_weight": both or neither.
  void bind_outliers(const std::string& name, linear_weights& l) {
    const std::string index_name = out_.prefix + name + ".outlier_index";
    const tensor_view* index = file_.find(index_name);
    const tensor_view* weight = file_.find(out_.prefix + name + ".outlier_weight");
    if (index == nullptr && weight == nullptr) return;
    if (index == nullptr || weight == nullptr) {
      throw error(errc::missing_tensor, file_.source() + ": the model needs tensor '" +
                                            (index == nullptr ? index_name : out_.prefix + name + ".outlier_weight") +
                                            "', which is missing (a layer's outliers need both their index and their weights)");
    }
    if (index->type() != dtype::i32 || index->rank() != 1 || index->shape()[0] > max_outliers) {
      throw error(errc::invalid_tensor, file_.source() + ": tensor " + index->describe() + " should be I32 [n] with n at most " +
                                            std::to_string(max_outliers));
    }
    const std::int64_t n = index->shape()[0];
    auto owned = std::make_unique<std::int32_t[]>(static_cast<std::size_t>(n));
    std::memcpy(owned.get(), index->bytes().data(), index->bytes().size());
    for (std::int64_t o = 0; o < n; ++o) {
      const std::int32_t c = owned[o];
      if (c < 0 || c >= l.n_in || (o > 0 && c <= owned[o - 1])) {
        throw error(errc::invalid_tensor, file_.source() + ": tensor '" + index_name + "' holds " + std::to_string(c) + " at " +
                                              std::to_string(o) + "; input channels are increasing and below " +
                                              std::to_string(l.n_in));
      }
    }
    l.outlier_weight = get(name + ".outlier_weight", {l.n_out, n});
    l.outlier_index = owned.get();
    l.n_outliers = n;
    out_.outlier_indices.push_back(std::move(owned));
  }

  layer_norm_weights layer_norm(const std::string& name, std::int64_t n) {
    return {get(name + ".weight", {n}), get(name + ".bias", {n}), n};
  }

 private:
  const safetensors_file& file_;
  bert_weights& out_;
};

}  // namespace

const char* weight_precision_name(weight_precision p) noexcept {
  return p == weight_precision::int8 ? "int8" : "f32";
}

bert_weights bind_bert_weights(const safetensors_file& file, const bert_config& c) {
  bert_weights w;
  w.mapping = file.mapping();
  binder b(file, w, c);
  const std::int64_t h = c.hidden_size;
  w.word_embeddings = b.get("embeddings.word_embeddings.weight", {c.vocab_size, h});
  w.position_embeddings = b.get("embeddings.position_embeddings.weight", {c.max_position_embeddings, h});
  w.token_type_embeddings = b.get("embeddings.token_type_embeddings.weight", {c.type_vocab_size, h});
  w.embeddings_norm = b.layer_norm("embeddings.LayerNorm", h);
  for (std::int64_t i = 0; i < c.n_layers; ++i) {
    const std::string l = "encoder.layer." + std::to_string(i) + ".";
    bert_layer_weights layer;
    layer.query = b.linear(l + "attention.self.query", h, h);
    layer.key = b.linear(l + "attention.self.key", h, h);
    layer.value = b.linear(l + "attention.self.value", h, h);
    layer.attention_output = b.linear(l + "attention.output.dense", h, h);
    layer.attention_norm = b.layer_norm(l + "attention.output.LayerNorm", h);
    layer.intermediate = b.linear(l + "intermediate.dense", c.intermediate_size, h);
    layer.output = b.linear(l + "output.dense", h, c.intermediate_size);
    layer.output_norm = b.layer_norm(l + "output.LayerNorm", h);
    w.layers.push_back(layer);
  }
  // A file with more layers than config.json says is a mismatch worth reporting.
  const std::string extra = w.prefix + "encoder.layer." + std::to_string(c.n_layers) + ".output.dense.weight";
  if (file.find(extra) != nullptr) {
    throw error(errc::invalid_tensor, file.source() + ": holds tensor '" + extra + "' but config.json says num_hidden_layers is " +
                                          std::to_string(c.n_layers));
  }
  return w;
}

MINILM_END_NAMESPACE
